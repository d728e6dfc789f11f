//! `web::setup`: the HTTP side of account set-up — sign-in (`/api/v1/auth/*`), the public key at
//! `/.well-known/appspecific/com.tesla.3p.public-key.pem`, the admin API under `/api/v1/devtools/`, and
//! the set-up section of the status page (sign-in state, scopes, key, partner registration, pairing link
//! with QR code, per-car checklist).
//!
//! Only two routes are public: the public key (Tesla and the car's owner must fetch it) and the OAuth
//! callback (Tesla's redirect lands there). The callback is protected by its `state` alone: 256
//! random bits, single use, 15 minutes, and issued only to an admin (`/api/v1/auth/login` is behind
//! the guard), so nobody else can hold one. It is deliberately *not* bound to the browser: the
//! redirect URI is the public address, a different origin than Home Assistant's ingress panel (and
//! often another device), where the browser has neither a session nor any cookie of ours. The
//! set-up page polls `/api/v1/auth/status` and shows the outcome when a sign-in completes.
//! Everything else is behind [`super::Access`]. POSTs require a JSON body, which a foreign web page
//! cannot send without CORS, so a logged-in admin's browser cannot be made to post.
//!
//! The logic lives in [`crate::account`]; handlers translate.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Query, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};
use tracing::{info, warn};

use super::{escape, WebState};
use crate::account::SetupError;
use crate::tesla::auth::oauth::{self, Callback};
use crate::tesla::auth::{AuthStatus, Claims};
use crate::tesla::fleet::partner::WELL_KNOWN_PATH;
use crate::tesla::region;
use crate::vehicle::setup;

/// Routes anyone may reach.
pub fn public_routes() -> Router<WebState> {
    Router::new()
        .route(WELL_KNOWN_PATH, get(public_key))
        .route("/api/v1/auth/callback", get(callback))
}

/// Routes behind the access guard.
pub fn admin_routes() -> Router<WebState> {
    Router::new()
        .route("/api/v1/auth/login", get(login))
        .route("/api/v1/auth/status", get(auth_status))
        .route("/api/v1/auth/callback-url", post(pasted_callback))
        .route("/api/v1/auth/logout", post(logout))
        .route("/api/v1/devtools/fleet-api-info", get(fleet_api_info))
        .route("/api/v1/devtools/register-partner", post(register_partner))
        .route(
            "/api/v1/devtools/partner-public-key",
            get(partner_public_key),
        )
        .route("/api/v1/devtools/test-connectivity", get(test_connectivity))
        .route("/api/v1/devtools/user/region", get(user_region))
        .route("/api/v1/devtools/fleet-status", get(fleet_status))
}

/// A JSON error with a plain-words message; the status says who must act.
fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (
        status,
        Json(json!({ "ok": false, "error": message.into() })),
    )
        .into_response()
}

fn setup_error(e: &SetupError) -> Response {
    let status = if e.exit_code() == 2 {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::BAD_GATEWAY
    };
    error(status, e.to_string())
}

/// POST bodies must be JSON (see the module docs); an empty body counts as `{}`.
fn json_body(headers: &HeaderMap, body: &Bytes) -> Result<Value, Box<Response>> {
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/json"));
    if !is_json {
        return Err(Box::new(error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "send the request as application/json",
        )));
    }
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(json!({}));
    }
    serde_json::from_slice(body).map_err(|e| {
        Box::new(error(
            StatusCode::BAD_REQUEST,
            format!("the body is not JSON: {e}"),
        ))
    })
}

/// A result page (sign-in) with a way back; `root` is the relative path to the pages' root.
fn page(status: StatusCode, title: &str, body_html: &str) -> Response {
    // Every page here is under /api/v1/auth/.
    let root = "../../../";
    super::page::response(
        status,
        title,
        root,
        &format!("{body_html}<p><a class=\"button\" href=\"{root}setup\">Continue set-up</a></p>"),
    )
}

// ── Public ──────────────────────────────────────────────────────────────────────────────────

/// The public half of the command key, for Tesla's partner registration and the car's pairing.
async fn public_key(State(state): State<WebState>) -> Response {
    match state.account.key() {
        Some(key) => {
            let mut resp = key.public_key_pem().into_response();
            let h = resp.headers_mut();
            h.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/x-pem-file"),
            );
            // Short, so a replaced key is picked up within minutes.
            h.insert(
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=300"),
            );
            resp
        }
        None => (StatusCode::NOT_FOUND, "no command key yet\n").into_response(),
    }
}

/// `GET /api/v1/auth/callback?code=…&state=…`: Tesla's redirect after sign-in, completed by its
/// `state` (see the module docs). The outcome also goes to the set-up page, which may be open in
/// another tab, origin or device (Home Assistant's ingress panel) and reloads when it sees it.
async fn callback(State(state): State<WebState>, RawQuery(q): RawQuery) -> Response {
    let pairs: Vec<(String, String)> =
        url::form_urlencoded::parse(q.unwrap_or_default().as_bytes())
            .into_owned()
            .collect();
    let result = match oauth::callback_from_pairs(&pairs) {
        Ok(cb) => state
            .account
            .finish_login(&cb)
            .await
            .map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    match &result {
        Ok(report) => state.wizard.sign_in_finished(true, report.summary()),
        Err(message) => {
            warn!("sign-in callback refused: {message}");
            state.wizard.sign_in_finished(false, message.clone());
        }
    }
    match result {
        Ok(report) => page(
            StatusCode::OK,
            "Signed in",
            &format!(
                "<p>{}</p><p class=\"muted\">Started in Home Assistant? Return to its TeslaSync \
                 panel: it has noticed, and you can close this tab.</p>",
                escape(&report.summary())
            ),
        ),
        Err(message) => page(
            StatusCode::BAD_REQUEST,
            "Sign-in failed",
            &format!("<p>{}</p>", escape(&message)),
        ),
    }
}

/// `GET /api/v1/auth/status`: the sign-in state and how many sign-ins have finished (either way)
/// since start; the set-up page polls it while Tesla's page is open elsewhere.
async fn auth_status(State(state): State<WebState>) -> Json<Value> {
    let status = state.account.tokens().status().borrow().clone();
    Json(json!({ "sign_in": status, "finished": state.wizard.sign_ins_finished() }))
}

// ── Sign-in (admin) ─────────────────────────────────────────────────────────────────────────

/// `GET /api/v1/auth/login`: redirect to Tesla with a fresh `state`.
async fn login(State(state): State<WebState>) -> Response {
    let (url, _state) = match state.account.start_login() {
        Ok(x) => x,
        Err(e) => {
            return page(
                StatusCode::BAD_REQUEST,
                "Cannot start the sign-in",
                &format!("<p>{}</p>", escape(&e.to_string())),
            )
        }
    };
    info!("starting a Tesla sign-in");
    super::redirect(StatusCode::FOUND, url.as_str(), None)
}

/// `POST /api/v1/auth/callback-url {"url": "<the address Tesla redirected to>"}`: for installs whose
/// redirect URI does not reach TeslaSync. Admin only, and the `state` must be pending, as for the
/// callback.
async fn pasted_callback(
    State(state): State<WebState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let body = match json_body(&headers, &body) {
        Ok(b) => b,
        Err(r) => return *r,
    };
    let pasted = body.get("url").and_then(Value::as_str).unwrap_or_default();
    let cb: Callback = match oauth::callback_from_pasted(pasted) {
        Ok(cb) => cb,
        Err(e) => return error(StatusCode::BAD_REQUEST, e.to_string()),
    };
    match state.account.finish_login(&cb).await {
        Ok(report) => Json(json!({ "ok": true, "summary": report.summary(), "sign_in": report }))
            .into_response(),
        Err(e) => setup_error(&e),
    }
}

/// `POST /api/v1/auth/logout`: forget the tokens.
async fn logout(State(state): State<WebState>, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(r) = json_body(&headers, &body) {
        return *r;
    }
    match state.account.tokens().sign_out().await {
        Ok(()) => Json(json!({ "ok": true })).into_response(),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

// ── Admin API ───────────────────────────────────────────────────────────────────────────────

/// Sign-in, region, key and pairing facts (never a token or secret).
pub async fn account_json(state: &WebState) -> Value {
    let account = &state.account;
    let cfg = account.config();
    let claims: Option<Claims> = account.tokens().claims().await;
    let status = account.tokens().status().borrow().clone();
    let missing: Vec<Value> = claims
        .as_ref()
        .map(|c| {
            c.missing_scopes()
                .into_iter()
                .map(|s| json!({ "scope": s.name, "without": s.without }))
                .collect()
        })
        .unwrap_or_default();
    let hosts: serde_json::Map<String, Value> = region::HOSTS
        .iter()
        .map(|h| (h.region.as_str().to_string(), json!(h.fleet_api)))
        .collect();
    json!({
        "sign_in": status,
        "reauth_required": matches!(status, AuthStatus::ReauthRequired { .. }),
        "account_region": claims.as_ref().and_then(|c| c.ou_code.clone()),
        "scopes": claims.as_ref().map(|c| c.scopes.clone()).unwrap_or_default(),
        "missing_scopes": missing,
        "client_id": cfg.client_id,
        "client_secret_configured": cfg.client_secret.is_some(),
        "redirect_uri": cfg.redirect_uri,
        "region": cfg.region.as_str(),
        "fleet_api_base_url": account.fleet().base_url().as_str(),
        "configured_base_url": account.fleet().configured_base().as_str(),
        "token_host": cfg.auth_base_url.as_str(),
        "authorize_host": cfg.authorize_base().as_str(),
        "regional_hosts": hosts,
        "domain": cfg.domain,
        "public_key_url": cfg.domain.as_deref().map(crate::tesla::fleet::partner::public_key_url),
        "public_key_fingerprint": account.key().map(|k| k.fingerprint()),
        "pairing_link": account.pairing().map(|p| p.link),
    })
}

/// `GET /api/v1/devtools/fleet-api-info`.
async fn fleet_api_info(State(state): State<WebState>) -> Json<Value> {
    Json(account_json(&state).await)
}

/// `POST /api/v1/devtools/register-partner {"domain"?}`: registers in every region the account needs.
async fn register_partner(
    State(state): State<WebState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let body = match json_body(&headers, &body) {
        Ok(b) => b,
        Err(r) => return *r,
    };
    let domain = match state
        .account
        .domain(body.get("domain").and_then(Value::as_str))
    {
        Ok(d) => d,
        Err(e) => return setup_error(&e),
    };
    let report = state.account.register_partner(&domain).await;
    let status = if report.ok {
        StatusCode::OK
    } else {
        StatusCode::BAD_GATEWAY
    };
    (status, Json(json!(report))).into_response()
}

/// `GET /api/v1/devtools/partner-public-key?domain=`: Tesla's recorded key vs ours (`verification`).
async fn partner_public_key(
    State(state): State<WebState>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let domain = match state.account.domain(q.get("domain").map(String::as_str)) {
        Ok(d) => d,
        Err(e) => return setup_error(&e),
    };
    let v = state.account.verify_partner(&domain).await;
    Json(json!({
        "domain": v.domain,
        "regions": v.regions,
        "verification": {
            "remote_key_found": v.remote_key_found,
            "matches_local": v.matches_local,
            "local_key_configured": v.local_key_configured,
            "local_public_key": v.local_public_key,
        },
    }))
    .into_response()
}

/// `GET /api/v1/devtools/test-connectivity`: the Fleet API host and the token host, with latency.
async fn test_connectivity(State(state): State<WebState>) -> Json<Value> {
    let fleet = state.account.fleet().reachability().await;
    let token_url = state
        .account
        .config()
        .auth_base_url
        .join("oauth2/v3/token")
        .expect("a base URL joins a relative path");
    let http = reqwest::Client::new();
    let auth = crate::tesla::fleet::probe(&http, token_url).await;
    Json(json!({ "fleet_api": fleet, "token_host": auth }))
}

/// `GET /api/v1/devtools/user/region`: Tesla's `users/region` for the signed-in account.
async fn user_region(State(state): State<WebState>) -> Response {
    match state.account.fleet().users_region().await {
        Ok(r) => Json(json!({
            "region": r.region,
            "fleet_api_base_url": r.fleet_api_base_url,
            "using": state.account.fleet().base_url().as_str(),
        }))
        .into_response(),
        Err(e) => error(StatusCode::BAD_GATEWAY, e.to_string()),
    }
}

#[derive(Deserialize)]
struct VinQuery {
    vin: Option<String>,
}

/// `GET /api/v1/devtools/fleet-status[?vin=]`: the virtual-key checklist, fresh from Tesla; also
/// updates the Home Assistant diagnostics.
async fn fleet_status(State(state): State<WebState>, Query(q): Query<VinQuery>) -> Response {
    let vins = match q.vin {
        Some(v) => vec![v.to_ascii_uppercase()],
        None => state.hub.vins(),
    };
    if vins.is_empty() {
        return error(
            StatusCode::CONFLICT,
            "no vehicles known yet: sign in and wait for the first poll",
        );
    }
    match state.account.fleet().fleet_status(&vins).await {
        Ok(status) => {
            let now = std::time::SystemTime::now();
            for update in setup::updates(&status, &state.hub, now) {
                state.hub.apply(update);
            }
            state.recheck.notify_one();
            Json(json!(status)).into_response()
        }
        Err(e) => error(StatusCode::BAD_GATEWAY, e.to_string()),
    }
}
