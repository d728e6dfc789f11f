//! `sim::control`: the simulator's own API under `/sim/*` (DESIGN.md §5) — inspect cars, act on them,
//! inject faults, read billing, move the virtual clock.
//!
//! Every route is a thin wrapper over a public [`Sim`] method, so in-process tests and HTTP clients
//! (scripts, the `teslasync sim` user) see exactly the same behaviour. Never faulted, never billed.

use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::Router;
use serde::Deserialize;
use serde_json::{json, Value};

use super::{reply, signed, Fault, Sim, SimError};

pub fn routes() -> Router<Sim> {
    Router::new()
        .route("/sim/vehicles", get(list))
        .route("/sim/vehicles/{vin}", get(one))
        .route("/sim/vehicles/{vin}/{action}", post(act))
        .route("/sim/vehicles/{vin}/keys", post(signed::pair_key))
        .route("/sim/vehicles/{vin}/keys/{key}", delete(signed::unpair_key))
        .route("/sim/faults", post(inject_fault))
        .route("/sim/billing", get(billing))
        .route("/sim/clock/advance", post(advance))
        .route("/sim/tokens", post(issue_token))
}

impl IntoResponse for SimError {
    fn into_response(self) -> Response {
        let status = match &self {
            SimError::UnknownVin(_) => StatusCode::NOT_FOUND,
            SimError::UnknownAction { .. } | SimError::InvalidKey(_) => StatusCode::BAD_REQUEST,
            SimError::Refused(_) | SimError::ClockNotManual => StatusCode::CONFLICT,
        };
        reply::json(status, &json!({ "error": self.to_string() }))
    }
}

fn bad_request(message: String) -> Response {
    reply::json(StatusCode::BAD_REQUEST, &json!({ "error": message }))
}

/// `GET /sim/vehicles`: every car's control view, in VIN order of creation.
async fn list(State(sim): State<Sim>) -> Response {
    let cars: Vec<Value> = sim
        .vins()
        .iter()
        .filter_map(|vin| sim.vehicle_json(vin))
        .collect();
    reply::json(StatusCode::OK, &Value::Array(cars))
}

async fn one(State(sim): State<Sim>, Path(vin): Path<String>) -> Response {
    match sim.vehicle_json(&vin) {
        Some(view) => reply::json(StatusCode::OK, &view),
        None => SimError::UnknownVin(vin).into_response(),
    }
}

/// `POST /sim/vehicles/{vin}/{action}`: answers with the car's view after the action.
async fn act(State(sim): State<Sim>, Path((vin, action)): Path<(String, String)>) -> Response {
    match sim.act(&vin, &action) {
        Ok(()) => one(State(sim), Path(vin)).await,
        Err(e) => e.into_response(),
    }
}

async fn inject_fault(State(sim): State<Sim>, body: Bytes) -> Response {
    let fault: Fault = match serde_json::from_slice(&body) {
        Ok(f) => f,
        Err(e) => return bad_request(format!("fault body: {e}")),
    };
    if let Some(problem) = fault.problem() {
        return bad_request(problem);
    }
    sim.inject_fault(fault);
    let pending = sim.world().faults.remaining();
    reply::json(StatusCode::OK, &json!({ "pending": pending }))
}

async fn billing(State(sim): State<Sim>) -> Response {
    reply::json(StatusCode::OK, &json!(sim.billing()))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Advance {
    secs: u64,
}

/// `POST /sim/clock/advance {"secs": n}`: 409 on the system clock.
async fn advance(State(sim): State<Sim>, body: Bytes) -> Response {
    let req: Advance = match serde_json::from_slice(&body) {
        Ok(a) => a,
        Err(e) => return bad_request(format!("expected {{\"secs\": <n>}}: {e}")),
    };
    match sim.advance(Duration::from_secs(req.secs)) {
        Ok(()) => reply::json(StatusCode::OK, &json!({ "now": sim.clock().unix_secs() })),
        Err(e) => e.into_response(),
    }
}

/// `POST /sim/tokens`: a fresh refresh token to import, for users of `teslasync sim`.
async fn issue_token(State(sim): State<Sim>) -> Response {
    reply::json(
        StatusCode::OK,
        &json!({ "refresh_token": sim.issue_refresh_token() }),
    )
}
