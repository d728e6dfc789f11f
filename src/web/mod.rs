//! `web`: the HTTP server — status page and status JSON, sign-in to the web UI, and (in [`setup`])
//! Tesla sign-in, the public key, and the admin API under `/api/v1/devtools/`.
//!
//! Everything here reveals the user's cars or changes the set-up, so it is behind [`access`]: a
//! session from the sign-in form or one-time link, Home Assistant ingress, a trusted forward-auth
//! proxy, or the bearer token — never "it came from this machine". Public are only Tesla's public
//! key (`/.well-known/...`), the OAuth callback, `/healthz` and the sign-in form itself.
//!
//! Every link, form and redirect is relative, so the pages work under any path prefix (Home
//! Assistant ingress serves them under `/api/hassio_ingress/<token>/`). Never renders a token or
//! secret.

pub mod access;
pub mod page;
pub mod server;
pub mod setup;
pub mod wizard;

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::{to_bytes, Body};
use axum::extract::{ConnectInfo, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use serde::Deserialize;
use serde_json::json;
use tokio::net::TcpListener;
use tokio::sync::{watch, Notify};
use tokio_util::sync::CancellationToken;

pub use access::{Access, Principal};

use crate::account::Account;
use crate::ha::catalog::{self, BinaryClass, Entity};
use crate::tesla::fleet::FleetClient;
use crate::vehicle::hub::Hub;
use crate::vehicle::poller::PollStatus;
use crate::vehicle::signal::{Signal, Value as SignalValue};
use crate::vehicle::stream::StreamHealth;

/// What the pages read.
#[derive(Clone)]
pub struct WebState {
    pub hub: Arc<Hub>,
    pub fleet: FleetClient,
    pub poll: watch::Receiver<PollStatus>,
    pub access: Access,
    /// Sign-in, partner registration, pairing.
    pub account: Arc<Account>,
    /// Asks `vehicle::setup` to re-read the virtual-key status.
    pub recheck: Arc<Notify>,
    /// The set-up page's checks and results.
    pub wizard: Arc<wizard::Wizard>,
    /// Which cars stream Fleet Telemetry.
    pub streams: Arc<StreamHealth>,
    /// Today's spend per car, once the cost governor provides it; the page shows "—" without.
    pub cost: Option<Arc<dyn CostSource>>,
    /// The daemon's supervised tasks: `/healthz` fails while one is restarting or failed.
    pub tasks: crate::tasks::TaskHealth,
}

/// One car's Fleet API spend today and its budget.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CarCost {
    pub today_usd: f64,
    /// The car's share of the budget for today, if a budget is set.
    pub budget_usd: Option<f64>,
}

/// Where the status page reads costs from (the cost governor implements it).
pub trait CostSource: Send + Sync {
    fn today(&self, vin: &str) -> Option<CarCost>;
}

pub fn router(state: WebState) -> Router {
    let admin = Router::new()
        .route("/", get(status_page))
        .route("/api/v1/status", get(status_json))
        .route("/logout", post(logout))
        .merge(setup::admin_routes())
        .merge(wizard::routes())
        .route_layer(middleware::from_fn_with_state(state.clone(), guard));
    admin
        .merge(setup::public_routes())
        .route("/login", get(login_page).post(login_submit))
        .route("/healthz", get(healthz))
        .with_state(state)
}

/// Serves until `shutdown`, with the connection limits of [`server::Limits::default`].
pub async fn serve(listener: TcpListener, state: WebState, shutdown: CancellationToken) {
    server::serve(listener, router(state), server::Limits::default(), shutdown).await;
}

/// The relative path from `path` back to the root of the pages (`./`, `../../`): links built on it
/// work under whatever prefix a proxy adds.
pub fn root_of(path: &str) -> String {
    let depth = path.trim_start_matches('/').matches('/').count();
    if depth == 0 {
        "./".to_owned()
    } else {
        "../".repeat(depth)
    }
}

/// Forms are small; a larger body is not one of ours.
const FORM_LIMIT: usize = 64 * 1024;

async fn guard(
    State(state): State<WebState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
    next: Next,
) -> Response {
    let root = root_of(request.uri().path());
    let principal = match state.access.check(peer, request.headers()) {
        Ok(p) => p,
        Err(refusal) => return refused(&state, &refusal, request.headers(), &root),
    };
    let (parts, body) = request.into_parts();
    let mut request = Request::from_parts(parts, Body::empty());
    if request.method() != Method::GET && request.method() != Method::HEAD {
        let Ok(bytes) = to_bytes(body, FORM_LIMIT).await else {
            return (StatusCode::PAYLOAD_TOO_LARGE, "request body too large\n").into_response();
        };
        let csrf = is_form(request.headers())
            .then(|| form_field(&bytes, "csrf"))
            .flatten();
        if !state.access.may_change(
            &principal,
            request.method(),
            request.headers(),
            csrf.as_deref(),
        ) {
            return refused(&state, &access::Refusal::Csrf, request.headers(), &root);
        }
        *request.body_mut() = Body::from(bytes);
    } else {
        *request.body_mut() = body;
    }
    request.extensions_mut().insert(principal);
    next.run(request).await
}

fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"))
}

fn form_field(body: &[u8], name: &str) -> Option<String> {
    url::form_urlencoded::parse(body)
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

fn wants_html(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/html"))
}

fn refused(
    state: &WebState,
    refusal: &access::Refusal,
    headers: &HeaderMap,
    root: &str,
) -> Response {
    match refusal {
        access::Refusal::ForeignHost(host) => (
            StatusCode::FORBIDDEN,
            format!(
                "TeslaSync does not answer to the address {host:?}. If that is how you reach it, \
                 set http.public_url to it (this check stops other web sites from reading the \
                 admin pages through your browser).\n"
            ),
        )
            .into_response(),
        access::Refusal::Csrf => (
            StatusCode::FORBIDDEN,
            "This request did not come from TeslaSync's own page (missing or wrong form token, or \
             another site's Origin). Reload the page and try again.\n",
        )
            .into_response(),
        access::Refusal::NoCredential if wants_html(headers) => {
            login_form(state, StatusCode::UNAUTHORIZED, root, None)
        }
        access::Refusal::NoCredential => (
            StatusCode::UNAUTHORIZED,
            Json(json!({
                "ok": false,
                "error": "sign in first: open the web UI's sign-in page, or send Authorization: Bearer <http.admin_token>",
            })),
        )
            .into_response(),
    }
}

// ── Sign-in to the web UI ───────────────────────────────────────────────────────────────────

fn login_form(state: &WebState, status: StatusCode, root: &str, message: Option<&str>) -> Response {
    let mut body = String::new();
    if let Some(m) = message {
        let _ = write!(body, "<p class=\"bad\">{}</p>", escape(m));
    }
    if state.access.has_password() {
        let _ = write!(
            body,
            "<form method=\"post\" action=\"{root}login\" class=\"card\">\
             <label>Password (<code>http.admin_token</code>)<br>\
             <input type=\"password\" name=\"password\" autocomplete=\"current-password\" autofocus required></label>\
             <p><button type=\"submit\">Sign in</button></p></form>"
        );
    } else {
        body.push_str(
            "<p class=\"card\">Open the one-time sign-in link that TeslaSync printed when it \
             started (in its log), or set <code>http.admin_token</code> to sign in with a password.</p>",
        );
    }
    page::response(status, "Sign in", root, &body)
}

#[derive(Deserialize)]
struct LoginQuery {
    once: Option<String>,
}

/// `GET /login[?once=TOKEN]`: the sign-in form, or the one-time link.
async fn login_page(
    State(state): State<WebState>,
    headers: HeaderMap,
    Query(q): Query<LoginQuery>,
) -> Response {
    if !state.access.host_allowed(&headers) {
        let host = headers
            .get(header::HOST)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        return refused(&state, &access::Refusal::ForeignHost(host), &headers, "./");
    }
    match q.once {
        Some(token) if state.access.redeem_one_time_token(&token) => signed_in(&state, &headers),
        Some(_) => login_form(
            &state,
            StatusCode::UNAUTHORIZED,
            "./",
            Some("That sign-in link was already used or is from an earlier start."),
        ),
        None => login_form(&state, StatusCode::OK, "./", None),
    }
}

/// `POST /login` (form: `password`).
async fn login_submit(
    State(state): State<WebState>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    if !state.access.host_allowed(&headers) {
        return refused(
            &state,
            &access::Refusal::ForeignHost(String::new()),
            &headers,
            "./",
        );
    }
    let password = form_field(&body, "password").unwrap_or_default();
    match state.access.check_password(&password) {
        Ok(true) => signed_in(&state, &headers),
        Ok(false) => login_form(
            &state,
            StatusCode::UNAUTHORIZED,
            "./",
            Some("Wrong password."),
        ),
        Err(wait) => login_form(
            &state,
            StatusCode::TOO_MANY_REQUESTS,
            "./",
            Some(&format!(
                "Too many wrong passwords: try again in {} s.",
                wait.as_secs().max(1)
            )),
        ),
    }
}

/// A new session: cookie set, on to the status page.
fn signed_in(state: &WebState, headers: &HeaderMap) -> Response {
    let id = state.access.new_session();
    let cookie = state.access.session_cookie(headers, Some(&id));
    redirect(StatusCode::SEE_OTHER, "./", Some(&cookie))
}

/// A redirect to `location` (relative for our pages), optionally setting a cookie; never cached.
pub(crate) fn redirect(status: StatusCode, location: &str, cookie: Option<&str>) -> Response {
    let mut resp = status.into_response();
    let h = resp.headers_mut();
    if let Ok(loc) = HeaderValue::from_str(location) {
        h.insert(header::LOCATION, loc);
    }
    if let Some(c) = cookie.and_then(|c| HeaderValue::from_str(c).ok()) {
        h.insert(header::SET_COOKIE, c);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

/// `POST /logout`: ends this browser's session.
async fn logout(
    State(state): State<WebState>,
    Extension(principal): Extension<Principal>,
    headers: HeaderMap,
) -> Response {
    state.access.end_session(&principal);
    let cookie = state.access.session_cookie(&headers, None);
    redirect(StatusCode::SEE_OTHER, "login", Some(&cookie))
}

/// `GET /healthz`: public liveness for container health checks; says nothing about the cars. 503
/// while a background task is restarting or failed (`tasks`), naming it and why.
async fn healthz(State(state): State<WebState>) -> Response {
    let problems = state.tasks.problems();
    if problems.is_empty() {
        return Json(json!({ "status": "ok", "version": env!("CARGO_PKG_VERSION") }))
            .into_response();
    }
    let body =
        json!({ "status": "failing", "version": env!("CARGO_PKG_VERSION"), "tasks": problems });
    (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response()
}

fn status(state: &WebState) -> serde_json::Value {
    let poll = state.poll.borrow().clone();
    let usage = state.fleet.usage();
    let auth = state.fleet.tokens().status().borrow().clone();
    let vehicles: Vec<_> = state
        .hub
        .snapshot()
        .into_iter()
        .map(|rec| {
            let entities: serde_json::Map<String, serde_json::Value> =
                catalog::for_car(&rec.signals)
                    .filter_map(|e| {
                        e.state_of(&rec.signals)
                            .filter(|s| s != catalog::UNKNOWN)
                            .map(|s| (e.id().to_string(), json!(s)))
                    })
                    .collect();
            json!({
                "vin": rec.info.vin,
                "name": rec.info.display_name,
                "model": rec.info.model(),
                "signing_required": rec.info.signing_required,
                "entities": entities,
            })
        })
        .collect();
    json!({
        "version": env!("CARGO_PKG_VERSION"),
        "auth": auth,
        "polling": {
            "cycles": poll.cycles,
            "last_cycle_at": poll.last_cycle_at.map(|t| humantime::format_rfc3339_seconds(t).to_string()),
            "next_cycle_at": poll.next_cycle_at.map(|t| humantime::format_rfc3339_seconds(t).to_string()),
            "last_error": poll.last_error,
        },
        "fleet_api_usage": { "data": usage.data, "commands": usage.commands, "wakes": usage.wakes, "free": usage.free, "usd": usage.usd() },
        "vehicles": vehicles,
        "tasks": state.tasks.snapshot(),
    })
}

async fn status_json(State(state): State<WebState>) -> Json<serde_json::Value> {
    let mut s = status(&state);
    s["account"] = setup::account_json(&state).await;
    Json(s)
}

/// `GET /`: one card per car with what a user asks first, the entities folded away below.
async fn status_page(
    State(state): State<WebState>,
    Extension(principal): Extension<Principal>,
) -> Response {
    let s = status(&state);
    let mut body = String::new();
    let auth = s["auth"]["state"].as_str().unwrap_or("signed_out");
    if auth != "signed_in" {
        let _ = write!(
            body,
            "<p class=\"card bad\">{} <a class=\"button\" href=\"setup\">Open set-up</a></p>",
            if auth == "reauth_required" {
                "Tesla needs you to sign in again; polling is paused until you do."
            } else {
                "Not signed in to Tesla yet."
            }
        );
    }
    // A background task that is restarting or failed (`tasks`): the page must not look healthy.
    for (task, problem) in state.tasks.problems() {
        let _ = write!(
            body,
            "<p class=\"card bad\">Background task <b>{}</b> {}</p>",
            escape(&task),
            escape(&problem)
        );
    }
    let cars = state.hub.snapshot();
    if cars.is_empty() && auth == "signed_in" {
        body.push_str("<p class=\"card\">No vehicles yet: waiting for the first poll.</p>");
    }
    let now = std::time::SystemTime::now();
    for car in &cars {
        let vin = &car.info.vin;
        let text = |sig: Signal| {
            car.signals
                .get(&sig)
                .and_then(SignalValue::as_text)
                .map(str::to_owned)
        };
        let flag = |sig: Signal| car.signals.get(&sig).and_then(SignalValue::as_bool);
        let state_text = text(Signal::VehicleState).unwrap_or_else(|| "unknown".to_owned());
        let last_seen = (car.updated_at_ms > 0)
            .then(|| std::time::UNIX_EPOCH + std::time::Duration::from_millis(car.updated_at_ms))
            .map_or_else(|| "never".to_owned(), |t| ago(now, t));
        let key = match flag(Signal::KeyPaired) {
            Some(true) => ("ok", "paired"),
            Some(false) if car.info.signing_required => ("bad", "not paired"),
            Some(false) => ("muted", "not paired"),
            None => ("muted", "not checked yet"),
        };
        let stream = state.streams.get(vin);
        let telemetry = if state.streams.is_healthy(vin, now) {
            format!(
                "streaming ({} records)",
                stream.as_ref().map_or(0, |c| c.records)
            )
        } else if stream.is_some_and(|c| c.connected) {
            "connected, no data yet".to_owned()
        } else {
            "not streaming (polling)".to_owned()
        };
        let signed = match (car.info.signing_required, flag(Signal::KeyPaired)) {
            (true, Some(true)) => ("ok", "signed (works)"),
            (true, _) => ("bad", "required, key not paired"),
            (false, _) => ("muted", "not needed (REST)"),
        };
        let cost = match state.cost.as_ref().and_then(|c| c.today(vin)) {
            Some(CarCost {
                today_usd,
                budget_usd: Some(b),
            }) => format!("${today_usd:.2} of ${b:.2}"),
            Some(CarCost {
                today_usd,
                budget_usd: None,
            }) => format!("${today_usd:.2} (no budget)"),
            None => "—".to_owned(),
        };
        let _ = write!(
            body,
            "<section class=\"card\"><h2>{name} <span class=\"pill {sc}\">{st}</span></h2>\
             <p class=\"muted\">{model} · <code>{vin}</code></p><div class=\"grid\">\
             <span>Last seen</span><span>{last_seen}</span>\
             <span>Key</span><span class=\"{kc}\">{kt}</span>\
             <span>Telemetry</span><span>{telemetry}</span>\
             <span>Signed commands</span><span class=\"{gc}\">{gt}</span>\
             <span>Cost today</span><span>{cost}</span></div>",
            name = escape(&car.info.display_name),
            sc = if state_text == "online" { "ok" } else { "" },
            st = escape(&state_text),
            model = escape(car.info.model()),
            vin = escape(vin),
            kc = key.0,
            kt = key.1,
            gc = signed.0,
            gt = signed.1,
            telemetry = escape(&telemetry),
            cost = escape(&cost),
        );
        body.push_str("<details><summary>All values</summary><table>");
        for e in catalog::CATALOG.iter() {
            if let Some(value) = e.state_of(&car.signals) {
                let _ = write!(
                    body,
                    "<tr><td>{}</td><td>{} {}</td></tr>",
                    escape(e.name()),
                    escape(readable(e, &value)),
                    escape(e.unit().map_or("", |u| u.as_str()))
                );
            }
        }
        body.push_str("</table></details></section>");
    }
    let _ = write!(
        body,
        "<p class=\"muted\">Poll cycles {} · last error: {} · Fleet API this run: {} data, {} commands, {} wakes (≈ ${:.3}) · <a href=\"api/v1/status\">JSON</a></p>",
        s["polling"]["cycles"],
        escape(s["polling"]["last_error"].as_str().unwrap_or("none")),
        s["fleet_api_usage"]["data"],
        s["fleet_api_usage"]["commands"],
        s["fleet_api_usage"]["wakes"],
        s["fleet_api_usage"]["usd"].as_f64().unwrap_or(0.0),
    );
    let _ = write!(
        body,
        "<form method=\"post\" action=\"logout\"><input type=\"hidden\" name=\"csrf\" value=\"{}\">\
         <button class=\"plain\" type=\"submit\">Sign out of this page</button></form>",
        state.access.csrf_token(&principal)
    );
    page::response(StatusCode::OK, "Status", "./", &body)
}

/// "3 min ago".
fn ago(now: std::time::SystemTime, then: std::time::SystemTime) -> String {
    let secs = now.duration_since(then).unwrap_or_default().as_secs();
    match secs {
        0..=59 => "just now".to_owned(),
        60..=3599 => format!("{} min ago", secs / 60),
        3600..=86_399 => format!("{} h ago", secs / 3600),
        _ => format!("{} days ago", secs / 86_400),
    }
}

/// How a person would say an entity's state: binary sensors speak their device class (a door is
/// "open", not "ON"), as Home Assistant's own UI does. MQTT keeps the plain `ON`/`OFF`.
fn readable<'a>(e: &Entity, state: &'a str) -> &'a str {
    let Entity::BinarySensor(b) = e else {
        return state;
    };
    let on = state == "ON";
    match (b.class, on) {
        (Some(BinaryClass::Door | BinaryClass::Window), true) => "open",
        (Some(BinaryClass::Door | BinaryClass::Window), false) => "closed",
        (Some(BinaryClass::Connectivity), true) => "connected",
        (Some(BinaryClass::Connectivity), false) => "disconnected",
        (Some(BinaryClass::Presence), true) => "present",
        (Some(BinaryClass::Presence), false) => "away",
        (Some(BinaryClass::Problem), true) => "problem",
        (Some(BinaryClass::Problem), false) => "ok",
        (_, true) => "on",
        (_, false) => "off",
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_climb_back_to_the_root() {
        assert_eq!(root_of("/"), "./");
        assert_eq!(root_of("/setup"), "./");
        assert_eq!(root_of("/api/v1/status"), "../../");
    }

    #[test]
    fn binary_states_read_like_their_device_class() {
        let find = |key| crate::ha::catalog::find(key).unwrap();
        assert_eq!(readable(find("vehicle_state_df"), "ON"), "open");
        assert_eq!(readable(find("vehicle_state_fd_window"), "OFF"), "closed");
        assert_eq!(readable(find("state"), "ON"), "connected");
        assert_eq!(
            readable(find("charge_state_battery_heater_on"), "OFF"),
            "off"
        );
        assert_eq!(
            readable(find("vehicle_state_sentry_mode"), "ON"),
            "ON",
            "switches keep their state"
        );
    }

    #[test]
    fn html_is_escaped() {
        assert_eq!(
            escape("<b>\"x\" & y</b>"),
            "&lt;b&gt;&quot;x&quot; &amp; y&lt;/b&gt;"
        );
    }
}
