//! `sim::api`: Tesla's endpoints as the simulator serves them — the token endpoint, the Fleet API
//! vehicle endpoints and the edge middleware every request passes (transaction id, injected faults,
//! billing).
//!
//! Handlers translate HTTP to calls on the world and back; what a car does lives in `sim::car` and
//! `sim::action`, token rules in `sim::auth`, JSON shapes in `sim::render` and `sim::reply`.

use std::collections::HashMap;
use std::time::SystemTime;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{from_fn_with_state, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use super::auth::{Bearer, Grant};
use super::billing::{self, Category};
use super::car::Car;
use super::commands::{self, Params};
use super::region::SimRegion;
use super::render::{self, Endpoint, DEFAULT_ENDPOINTS};
use super::{authorize, faults, partner, reply, signed, Sim, World};

/// Tesla's answer to a REST command for a car that only takes signed commands.
pub const PROTOCOL_REQUIRED: &str = "Tesla Vehicle Command Protocol required, please refer to the documentation here: https://developer.tesla.com/docs/fleet-api#2023-10-09-rest-api-vehicle-commands-endpoint-deprecation-warning";

/// A Fleet API refusal, answered with Tesla's error envelope.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FleetError {
    /// The vehicle tag is not on the account.
    #[error("not_found")]
    NotFound,
    /// Unknown command or `vehicle_data` endpoint.
    #[error("invalid_command")]
    InvalidCommand,
    /// A body that is not a JSON object.
    #[error("invalid_request")]
    InvalidRequest,
    /// A REST command to a car that only takes signed commands.
    #[error("{}", PROTOCOL_REQUIRED)]
    ProtocolRequired,
    /// The car is asleep, waking or offline.
    #[error("{}", reply::VEHICLE_UNAVAILABLE)]
    Unavailable,
    /// `signed_command` to a car that does not speak the protocol.
    #[error("vehicle does not support signed commands")]
    ProtocolUnsupported,
}

impl FleetError {
    fn status(self) -> StatusCode {
        match self {
            FleetError::NotFound => StatusCode::NOT_FOUND,
            FleetError::InvalidCommand | FleetError::InvalidRequest => StatusCode::BAD_REQUEST,
            FleetError::ProtocolRequired => StatusCode::FORBIDDEN,
            FleetError::Unavailable => StatusCode::REQUEST_TIMEOUT,
            FleetError::ProtocolUnsupported => StatusCode::UNPROCESSABLE_ENTITY,
        }
    }
}

impl IntoResponse for FleetError {
    fn into_response(self) -> Response {
        reply::fleet_error(self.status(), &self.to_string())
    }
}

type FleetResult = Result<Response, FleetError>;

/// `per_page` when the client does not say.
const DEFAULT_PER_PAGE: usize = 100;

/// The auth host (authorize page, token endpoint), the health check, the user's Fleet API and the
/// partner endpoints. `region` is the region this listener serves (`None`: whatever region the account
/// is in); user requests to the wrong region answer 421.
pub fn routes(sim: &Sim, region: Option<SimRegion>) -> Router<Sim> {
    let gate = Gate {
        sim: sim.clone(),
        region,
    };
    // Layers run outside-in: the bearer check (added last) comes before the region gate.
    let fleet = Router::new()
        .route("/api/1/vehicles", get(list_vehicles))
        .route("/api/1/vehicles/fleet_status", post(partner::fleet_status))
        .route(
            "/api/1/vehicles/fleet_telemetry_config_jws",
            post(super::telemetry_config::push_jws),
        )
        .route(
            "/api/1/vehicles/{vin}/fleet_telemetry_config",
            get(super::telemetry_config::get_config),
        )
        .route(
            "/api/1/vehicles/{vin}/fleet_telemetry_errors",
            get(super::telemetry_config::get_errors),
        )
        .route("/api/1/vehicles/{vin}", get(get_vehicle))
        .route("/api/1/vehicles/{vin}/vehicle_data", get(vehicle_data))
        .route("/api/1/vehicles/{vin}/wake_up", post(wake_up))
        .route("/api/1/vehicles/{vin}/command/{name}", post(command))
        .route("/api/1/vehicles/{vin}/signed_command", post(signed_command))
        .route("/api/1/users/region", get(partner::users_region))
        .route_layer(from_fn_with_state(gate, region_gate))
        .route_layer(from_fn_with_state(sim.clone(), require_user));
    let partners = Router::new()
        .route(
            "/api/1/partner_accounts",
            post(move |State(sim): State<Sim>, body: Bytes| partner::register(sim, region, body)),
        )
        .route(
            "/api/1/partner_accounts/public_key",
            get(move |State(sim): State<Sim>, RawQuery(q): RawQuery| {
                let query = query_pairs(q.as_deref()).into_iter().collect();
                partner::public_key(sim, region, query)
            }),
        )
        .route_layer(from_fn_with_state(sim.clone(), require_partner));
    Router::new()
        .route(
            "/oauth2/v3/authorize",
            get(authorize::page).post(authorize::decide),
        )
        .route("/oauth2/v3/token", post(token))
        .route("/status", get(|| async { "ok" }))
        .merge(fleet)
        .merge(partners)
}

/// What the region gate needs: the world and the region this listener serves.
#[derive(Clone)]
struct Gate {
    sim: Sim,
    region: Option<SimRegion>,
}

/// 421 when the account lives in another region; 412 when the application is not registered in this
/// one (only if the simulator was told to require registration).
async fn region_gate(State(gate): State<Gate>, req: Request, next: Next) -> Response {
    let refusal = {
        let mut world = gate.sim.world();
        match world.regions.misdirected_error(gate.region) {
            Some(text) => Some((StatusCode::MISDIRECTED_REQUEST, text)),
            None => {
                let here = world.regions.effective(gate.region);
                let base = world.regions.base_url(here);
                world
                    .partner
                    .unregistered_error(here, &base, world.tokens.client_id())
                    .map(|text| (StatusCode::PRECONDITION_FAILED, text))
            }
        }
    };
    match refusal {
        Some((status, text)) => reply::fleet_error(status, &text),
        None => next.run(req).await,
    }
}

/// Unknown paths, answered like Tesla answers them.
pub async fn not_found() -> FleetError {
    FleetError::NotFound
}

fn is_control_path(path: &str) -> bool {
    path == "/sim" || path.starts_with("/sim/")
}

/// Runs around every request: applies a pending fault (Tesla paths only), bills the answer by
/// Tesla's rules and stamps the `x-txid` header.
pub async fn edge(State(sim): State<Sim>, req: Request, next: Next) -> Response {
    let path = req.uri().path().to_string();
    let tesla = !is_control_path(&path);
    let (txid, injection) = {
        let mut world = sim.world();
        world.txid += 1;
        let injection = if tesla {
            world.faults.take(&path)
        } else {
            None
        };
        (world.txid, injection)
    };
    let mut replacement = None;
    if let Some(injection) = injection {
        if let Some(delay) = injection.latency {
            tokio::time::sleep(delay).await;
        }
        if injection.drop {
            // No answer, nothing billed.
            return faults::dropped();
        }
        replacement = injection
            .status
            .map(|status| faults::response(status, injection.retry_after, &path));
    }
    let mut resp = match replacement {
        Some(resp) => resp,
        None => next.run(req).await,
    };
    if tesla && resp.status().as_u16() < 500 {
        if let Some(billable) = billing::classify(&path) {
            let mut guard = sim.world();
            let world = &mut *guard;
            let vin = billable
                .vehicle_tag
                .as_deref()
                .and_then(|t| world.find(t))
                .map(|i| world.cars[i].vin.as_str());
            world.billing.record(billable.category, vin);
        }
    }
    let digest = Sha256::digest(txid.to_le_bytes());
    if let Ok(v) = HeaderValue::from_str(&hex::encode(&digest[..16])) {
        resp.headers_mut().insert("x-txid", v);
    }
    resp
}

/// Refuses Fleet API requests without a current, unexpired user access token.
async fn require_user(State(sim): State<Sim>, req: Request, next: Next) -> Response {
    require(sim, Bearer::User, req, next).await
}

/// Refuses partner requests without a current partner token (client_credentials).
async fn require_partner(State(sim): State<Sim>, req: Request, next: Next) -> Response {
    require(sim, Bearer::Partner, req, next).await
}

async fn require(sim: Sim, want: Bearer, req: Request, next: Next) -> Response {
    let authorization = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let now = sim.clock.now();
    let checked = sim.world().tokens.check_bearer(authorization, now);
    match checked {
        Ok(kind) if kind == want => next.run(req).await,
        // [?] Tesla's exact answer for the wrong kind of token is not documented.
        Ok(Bearer::User) => reply::bare_error(
            StatusCode::FORBIDDEN,
            "this endpoint needs a partner token (grant_type=client_credentials)",
        ),
        Ok(Bearer::Partner) => reply::bare_error(
            StatusCode::FORBIDDEN,
            "this endpoint needs a user token; a partner token cannot read vehicles",
        ),
        Err(e) => reply::bare_error(StatusCode::UNAUTHORIZED, &e.to_string()),
    }
}

/// `POST /oauth2/v3/token`: form-encoded only, like Tesla's auth host.
async fn token(State(sim): State<Sim>, headers: HeaderMap, body: Bytes) -> Response {
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return reply::oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "send the token request as application/x-www-form-urlencoded",
        );
    }
    let form: HashMap<String, String> = url::form_urlencoded::parse(&body).into_owned().collect();
    let now = sim.clock.now();
    let result = Grant::from_form(&form).and_then(|grant| sim.world().tokens.grant(grant, now));
    match result {
        Ok(tokens) => reply::json(StatusCode::OK, &json!(tokens)),
        Err(e) => reply::oauth_error(
            StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_REQUEST),
            e.error,
            &e.description,
        ),
    }
}

fn query_pairs(query: Option<&str>) -> Vec<(String, String)> {
    url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .into_owned()
        .collect()
}

/// `GET /api/1/vehicles`: free, and does not wake or keep awake any car.
async fn list_vehicles(State(sim): State<Sim>, RawQuery(query): RawQuery) -> Response {
    let pairs = query_pairs(query.as_deref());
    let number = |key: &str, default: usize| {
        pairs
            .iter()
            .find(|(k, _)| k == key)
            .and_then(|(_, v)| v.parse::<usize>().ok())
            .filter(|n| *n > 0)
            .unwrap_or(default)
    };
    let page = number("page", 1);
    let per_page = number("per_page", DEFAULT_PER_PAGE);
    let now = sim.clock.now();
    let mut world = sim.world();
    world.settle_all(now);
    let total = world.cars.len();
    let pages = total.div_ceil(per_page).max(1);
    let vehicles: Vec<Value> = world
        .cars
        .iter()
        .skip((page - 1).saturating_mul(per_page))
        .take(per_page)
        .map(render::vehicle_object)
        .collect();
    reply::json(
        StatusCode::OK,
        &json!({
            "response": vehicles,
            "pagination": {
                "previous": (page > 1).then(|| page - 1),
                "next": (page < pages).then(|| page + 1),
                "current": page,
                "per_page": per_page,
                "count": total,
                "pages": pages,
            },
            "count": total,
        }),
    )
}

/// The car addressed by `{vehicle_tag}`, settled to `now`, or Tesla's 404.
fn settled<'w>(
    world: &'w mut World,
    tag: &str,
    now: SystemTime,
) -> Result<&'w mut Car, FleetError> {
    world.car(tag, now).ok_or(FleetError::NotFound)
}

/// `GET /api/1/vehicles/{vin}`: free, and does not keep the car awake.
async fn get_vehicle(State(sim): State<Sim>, Path(tag): Path<String>) -> FleetResult {
    let now = sim.clock.now();
    let mut world = sim.world();
    let car = settled(&mut world, &tag, now)?;
    Ok(reply::ok(render::vehicle_object(car)))
}

/// Reads `endpoints=a;b` (`;` possibly sent as `%3B`).
fn parse_endpoints(query: Option<&str>) -> Result<Vec<Endpoint>, FleetError> {
    let names: Vec<String> = query_pairs(query)
        .into_iter()
        .filter(|(k, _)| k == "endpoints")
        .flat_map(|(_, v)| {
            v.split(';')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect::<Vec<_>>()
        })
        .collect();
    if names.is_empty() {
        return Ok(DEFAULT_ENDPOINTS.to_vec());
    }
    names
        .iter()
        .map(|n| Endpoint::parse(n))
        .collect::<Option<Vec<_>>>()
        .ok_or(FleetError::InvalidCommand)
}

/// `GET /api/1/vehicles/{vin}/vehicle_data`: needs the car online (else 408, billed anyway) and
/// keeps it awake.
async fn vehicle_data(
    State(sim): State<Sim>,
    Path(tag): Path<String>,
    RawQuery(query): RawQuery,
) -> FleetResult {
    let now = sim.clock.now();
    let mut guard = sim.world();
    let world = &mut *guard;
    let car = settled(world, &tag, now)?;
    let endpoints = parse_endpoints(query.as_deref())?;
    if !car.is_online() {
        let vin = car.vin.clone();
        world.billing.record_while_asleep(Category::Data, &vin);
        return Err(FleetError::Unavailable);
    }
    car.touch(now);
    Ok(reply::ok(render::vehicle_data(car, &endpoints, now)))
}

/// `POST /api/1/vehicles/{vin}/wake_up`: answers with the state *now*, so an asleep car still says
/// `asleep` until its wake delay has passed.
async fn wake_up(State(sim): State<Sim>, Path(tag): Path<String>) -> FleetResult {
    let now = sim.clock.now();
    let mut world = sim.world();
    let timing = world.timing;
    let car = settled(&mut world, &tag, now)?;
    car.wake_up(now, &timing);
    Ok(reply::ok(render::vehicle_object(car)))
}

/// A command's JSON body; an empty body means no parameters.
fn command_params(body: &[u8]) -> Result<Map<String, Value>, FleetError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(FleetError::InvalidRequest),
    }
}

/// `POST /api/1/vehicles/{vin}/command/{name}`: the REST command path. Checks run in the order the
/// answer would come back: unknown car, unknown command, signing required, car unreachable, then the
/// car itself validates and applies.
async fn command(
    State(sim): State<Sim>,
    Path((tag, name)): Path<(String, String)>,
    body: Bytes,
) -> FleetResult {
    let params = command_params(&body)?;
    let now = sim.clock.now();
    let mut guard = sim.world();
    let world = &mut *guard;
    let car = settled(world, &tag, now)?;
    let spec = commands::find(&name).ok_or(FleetError::InvalidCommand)?;
    if car.spec.command_signing == "required" {
        return Err(FleetError::ProtocolRequired);
    }
    if !car.is_online() {
        let vin = car.vin.clone();
        world.billing.record_while_asleep(Category::Command, &vin);
        return Err(FleetError::Unavailable);
    }
    let result = match spec.parse(&Params(&params)) {
        Ok(action) => car.apply(&action, now),
        Err(invalid) => Err(invalid.reason()),
    };
    Ok(reply::command_result(result))
}

/// `POST /api/1/vehicles/{vin}/signed_command` with `{"routable_message": "<base64>"}`: 200
/// `{"response": "<base64>"}` with the car's RoutableMessage (which may carry a protocol fault), 400
/// for a malformed body, 404, 422 for a car without the protocol, 408 for a car not online. What
/// the car does with the message is `sim::signed`'s.
async fn signed_command(
    State(sim): State<Sim>,
    Path(tag): Path<String>,
    body: Bytes,
) -> FleetResult {
    let now = sim.clock.now();
    let reply = signed::deliver(&mut sim.world(), &tag, &body, now)?;
    Ok(signed::response_body(&reply))
}
