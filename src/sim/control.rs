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

use super::{reply, signed, Fault, Sim, SimError, SimRegion};

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
        .route("/sim/tokens/revoke", post(revoke_tokens))
        .route("/sim/account", post(account))
        .route("/sim/domains", post(domain))
        .route("/sim/pairing/{vin}", post(pairing))
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

/// `POST /sim/tokens/revoke`: the user withdrew consent; every token dies.
async fn revoke_tokens(State(sim): State<Sim>) -> Response {
    sim.revoke_tokens();
    reply::json(StatusCode::OK, &json!({ "revoked": true }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AccountRequest {
    region: SimRegion,
    #[serde(default)]
    ou_code: Option<SimRegion>,
}

/// `POST /sim/account {"region": "eu", "ou_code": "na"}`: where the account lives and what its tokens
/// claim.
async fn account(State(sim): State<Sim>, body: Bytes) -> Response {
    let req: AccountRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            return bad_request(format!(
                "expected {{\"region\": \"na|eu|cn\", \"ou_code\": ...}}: {e}"
            ))
        }
    };
    sim.set_account_region(req.region, req.ou_code);
    reply::json(StatusCode::OK, &json!({ "region": req.region }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DomainRequest {
    domain: String,
    url: String,
}

/// `POST /sim/domains {"domain": "example.com", "url": "http://127.0.0.1:8080"}`: where the simulator
/// fetches that domain's `.well-known` public key from.
async fn domain(State(sim): State<Sim>, body: Bytes) -> Response {
    let req: DomainRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => return bad_request(format!("expected {{\"domain\": ..., \"url\": ...}}: {e}")),
    };
    sim.serve_domain(&req.domain, &req.url);
    reply::json(
        StatusCode::OK,
        &json!({ "domain": req.domain, "url": req.url }),
    )
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PairingRequest {
    paired: bool,
}

/// `POST /sim/pairing/{vin} {"paired": true}`: the owner adds (or removes) the application's key.
async fn pairing(State(sim): State<Sim>, Path(vin): Path<String>, body: Bytes) -> Response {
    let req: PairingRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => return bad_request(format!("expected {{\"paired\": true|false}}: {e}")),
    };
    let result = if req.paired {
        sim.pair_app_key(&vin)
    } else {
        sim.unpair_app_key(&vin)
    };
    match result {
        Ok(()) => reply::json(StatusCode::OK, &json!({ "vin": vin, "paired": req.paired })),
        Err(e) => e.into_response(),
    }
}
