//! `web::setup`: the HTTP side of account set-up — sign-in (`/api/v1/auth/*`), the public key at
//! `/.well-known/appspecific/com.tesla.3p.public-key.pem`, the admin API under `/api/v1/devtools/`, and
//! the set-up section of the status page (sign-in state, scopes, key, partner registration, pairing link
//! with QR code, per-car checklist).
//!
//! Only two routes are public: the public key (Tesla and the car's owner must fetch it) and the OAuth
//! callback (Tesla's redirect lands there, possibly from another device). The callback is protected by
//! the `state`: single use, issued by this process, and bound to the browser that started the sign-in
//! by an HttpOnly cookie. Everything else is behind [`super::Access`]. POSTs require a JSON body, which a
//! foreign web page cannot send without CORS, so a logged-in admin's browser cannot be made to post.
//!
//! The logic lives in [`crate::account`]; handlers translate.

use std::collections::HashMap;
use std::fmt::Write as _;

use axum::body::Bytes;
use axum::extract::{Query, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};
use tracing::{info, warn};

use super::{escape, WebState};
use crate::account::SetupError;
use crate::secret::Secret;
use crate::tesla::auth::oauth::{self, Callback, LOGIN_TTL};
use crate::tesla::auth::{AuthError, AuthStatus, Claims};
use crate::tesla::fleet::partner::WELL_KNOWN_PATH;
use crate::tesla::region;
use crate::vehicle::setup;
use crate::vehicle::signal::{Signal, Value as SignalValue};

/// The cookie that binds a sign-in's `state` to the browser that started it.
const LOGIN_COOKIE: &str = "teslasync_login";
/// Its path: sent to the callback and the paste endpoint only.
const COOKIE_PATH: &str = "/api/v1/auth";

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

fn page(status: StatusCode, title: &str, body_html: &str) -> Response {
    let html = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>TeslaSync — {t}</title>\
         <style>body{{font-family:system-ui,sans-serif;margin:2em;max-width:50em}}</style></head>\
         <body><h1>{t}</h1>{body_html}<p><a href=\"/\">Status page</a></p></body></html>",
        t = escape(title)
    );
    (status, Html(html)).into_response()
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

/// The browser's `teslasync_login` cookie, if any.
fn login_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(name, _)| *name == LOGIN_COOKIE)
        .map(|(_, value)| value.to_string())
}

/// Whether this browser started the sign-in whose `state` it presents.
fn bound_to_browser(headers: &HeaderMap, state: &str) -> bool {
    login_cookie(headers).is_some_and(|c| Secret::from(c) == Secret::from(state))
}

/// Clears the login cookie (after use, or on failure).
fn clear_cookie(resp: &mut Response) {
    let value = format!("{LOGIN_COOKIE}=; Path={COOKIE_PATH}; Max-Age=0; HttpOnly; SameSite=Lax");
    if let Ok(v) = HeaderValue::from_str(&value) {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
}

/// `GET /api/v1/auth/callback?code=…&state=…`: Tesla's redirect after sign-in.
async fn callback(
    State(state): State<WebState>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    let pairs: Vec<(String, String)> =
        url::form_urlencoded::parse(q.unwrap_or_default().as_bytes())
            .into_owned()
            .collect();
    let result = match oauth::callback_from_pairs(&pairs) {
        Ok(cb) if bound_to_browser(&headers, &cb.state) => state
            .account
            .finish_login(&cb)
            .await
            .map_err(|e| e.to_string()),
        Ok(_) => {
            warn!("sign-in callback without this browser's login cookie; refused");
            Err(format!(
                "{} If you started the sign-in at another address than this one, copy this page's \
                 address from the address bar and paste it into the status page's sign-in box.",
                AuthError::BadState
            ))
        }
        Err(e) => Err(e.to_string()),
    };
    let mut resp = match result {
        Ok(report) => page(
            StatusCode::OK,
            "Signed in",
            &format!("<p>{}</p>", escape(&report.summary())),
        ),
        Err(message) => page(
            StatusCode::BAD_REQUEST,
            "Sign-in failed",
            &format!("<p>{}</p>", escape(&message)),
        ),
    };
    clear_cookie(&mut resp);
    resp
}

// ── Sign-in (admin) ─────────────────────────────────────────────────────────────────────────

/// `GET /api/v1/auth/login`: redirect to Tesla with a fresh `state`, bound to this browser.
async fn login(State(state): State<WebState>) -> Response {
    let (url, login_state) = match state.account.start_login() {
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
    let secure = state
        .account
        .redirect_uri()
        .is_ok_and(|r| r.starts_with("https://"));
    let cookie = format!(
        "{LOGIN_COOKIE}={login_state}; Path={COOKIE_PATH}; Max-Age={}; HttpOnly; SameSite=Lax{}",
        LOGIN_TTL.as_secs(),
        if secure { "; Secure" } else { "" }
    );
    let mut resp = StatusCode::FOUND.into_response();
    if let (Ok(loc), Ok(c)) = (
        HeaderValue::from_str(url.as_str()),
        HeaderValue::from_str(&cookie),
    ) {
        resp.headers_mut().insert(header::LOCATION, loc);
        resp.headers_mut().insert(header::SET_COOKIE, c);
    }
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

/// `POST /api/v1/auth/callback-url {"url": "<the address Tesla redirected to>"}`: for installs whose
/// redirect URI does not reach TeslaSync. Still bound to the browser that started the sign-in.
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
    if !bound_to_browser(&headers, &cb.state) {
        return error(StatusCode::BAD_REQUEST, AuthError::BadState.to_string());
    }
    let mut resp = match state.account.finish_login(&cb).await {
        Ok(report) => Json(json!({ "ok": true, "summary": report.summary(), "sign_in": report }))
            .into_response(),
        Err(e) => setup_error(&e),
    };
    clear_cookie(&mut resp);
    resp
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

// ── Status page section ─────────────────────────────────────────────────────────────────────

/// The set-up section of the status page: what is done, what is next.
pub async fn section(state: &WebState) -> String {
    let info = account_json(state).await;
    let account = &state.account;
    let mut out = String::from("<h2>Tesla account</h2>");
    let sign_in = info["sign_in"]["state"].as_str().unwrap_or("signed_out");
    match sign_in {
        "signed_in" => {
            let _ = write!(
                out,
                "<p>✅ Signed in{}. Fleet API: <code>{}</code>. <button onclick=\"post('/api/v1/auth/logout',{{}})\">Sign out</button></p>",
                info["account_region"]
                    .as_str()
                    .map(|r| format!(" (account region {})", escape(r)))
                    .unwrap_or_default(),
                escape(info["fleet_api_base_url"].as_str().unwrap_or("")),
            );
        }
        "reauth_required" => {
            let _ = write!(
                out,
                "<p class=\"bad\">⚠️ Tesla needs you to sign in again ({}). Polling is paused until you do; no restart needed.</p>",
                escape(info["sign_in"]["reason"].as_str().unwrap_or("")),
            );
        }
        _ => out.push_str("<p>Not signed in to Tesla yet.</p>"),
    }
    if sign_in != "signed_in" {
        out.push_str(
            "<p><a class=\"button\" href=\"/api/v1/auth/login\">Sign in with Tesla</a></p>\
             <p class=\"muted\">If Tesla's redirect does not reach TeslaSync, paste the address of the page \
             you land on here (same browser):<br><input id=\"cb\" size=\"60\" placeholder=\"https://…/api/v1/auth/callback?code=…\"> \
             <button onclick=\"post('/api/v1/auth/callback-url',{url:document.getElementById('cb').value})\">Complete sign-in</button></p>",
        );
    }
    if let Some(missing) = info["missing_scopes"].as_array().filter(|m| !m.is_empty()) {
        out.push_str("<p class=\"bad\">Permissions not granted:</p><ul>");
        for m in missing {
            let _ = write!(
                out,
                "<li><b>{}</b>: without it, {}</li>",
                escape(m["scope"].as_str().unwrap_or("")),
                escape(m["without"].as_str().unwrap_or(""))
            );
        }
        out.push_str("</ul><p>Sign in again and tick them to fix this.</p>");
    }
    let _ = write!(
        out,
        "<h3>Command key and partner registration</h3><p>Key fingerprint <code>{}</code> (<a href=\"{}\">public key</a>).</p>",
        escape(info["public_key_fingerprint"].as_str().unwrap_or("none")),
        WELL_KNOWN_PATH
    );
    match account.pairing() {
        None => out.push_str(
            "<p>Set <code>[tesla] domain</code> to the host that serves this public key, then register the application with Tesla and pair your cars.</p>",
        ),
        Some(p) => {
            let _ = write!(
                out,
                "<p>Tesla fetches the key from <code>{url}</code>. <button onclick=\"post('/api/v1/devtools/register-partner',{{}})\">Register with Tesla</button></p>\
                 <h3>Pair the virtual key</h3><p>Open <a href=\"{link}\">{link}</a> on the phone with the Tesla app (or scan the code), select each car and approve. Owner accounts only; the car must be online.</p>{qr}",
                url = escape(&p.public_key_url),
                link = escape(&p.link),
                qr = p.qr_svg,
            );
        }
    }
    let cars = state.hub.snapshot();
    if !cars.is_empty() {
        out.push_str(
            "<table><tr><th>Car</th><th>Key paired</th><th>Signed commands required</th><th>Firmware</th></tr>",
        );
        let yes_no = |v: Option<&SignalValue>| match v.and_then(SignalValue::as_bool) {
            Some(true) => "yes",
            Some(false) => "no",
            None => "?",
        };
        for car in cars {
            let _ = write!(
                out,
                "<tr><td>{} <span class=\"muted\">{}</span></td><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(&car.info.display_name),
                escape(&car.info.vin),
                yes_no(car.signals.get(&Signal::KeyPaired)),
                yes_no(car.signals.get(&Signal::CommandProtocolRequired)),
                escape(car.signals.get(&Signal::Version).and_then(SignalValue::as_text).unwrap_or("?")),
            );
        }
        out.push_str(
            "</table><p><button onclick=\"fetch('/api/v1/devtools/fleet-status').then(()=>location.reload())\">Re-check</button></p>",
        );
    }
    out.push_str(
        "<pre id=\"out\" class=\"muted\"></pre><script>function post(u,b){fetch(u,{method:'POST',headers:{'Content-Type':'application/json'},body:JSON.stringify(b)})\
         .then(r=>r.json()).then(j=>{document.getElementById('out').textContent=j.summary||j.error||JSON.stringify(j,null,1);if(j.ok)setTimeout(()=>location.reload(),1500)})}</script>",
    );
    out
}
