//! `sim::authorize`: Tesla's sign-in page as the simulator shows it — `GET /oauth2/v3/authorize` checks
//! the request like Tesla does and shows a consent form for the simulated user (every requested scope
//! ticked); submitting it (`POST`, same URL) redirects to the client's `redirect_uri` with a single-use
//! code and the `state`, or with `error=access_denied`.
//!
//! There is no password: the simulated user is always signed in. A test (or a person running the demo)
//! "signs in" by submitting the form, optionally un-ticking scopes to see what TeslaSync does with a
//! partial grant. Codes and their rules live in `sim::auth`.

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use url::Url;

use super::auth::SCOPES;
use super::Sim;

/// What a valid authorize request carries.
struct Request {
    client_id: String,
    /// As sent: the code is bound to this exact string.
    redirect_raw: String,
    redirect_uri: Url,
    state: String,
    scopes: Vec<String>,
}

/// Checks the query the way Tesla's authorize endpoint does; the error is shown as a page, because a
/// bad `client_id` or `redirect_uri` must never redirect anywhere.
fn parse(sim: &Sim, pairs: &[(String, String)]) -> Result<Request, String> {
    let get = |k: &str| {
        pairs
            .iter()
            .find(|(name, _)| name == k)
            .map(|(_, v)| v.clone())
            .filter(|v| !v.is_empty())
    };
    if get("response_type").as_deref() != Some("code") {
        return Err("response_type must be code".into());
    }
    let client_id = get("client_id").ok_or("client_id is required")?;
    let redirect = get("redirect_uri").ok_or("redirect_uri is required")?;
    let state = get("state").ok_or("state is required")?;
    let scope = get("scope").ok_or("scope is required")?;
    let world = sim.world();
    if !world.tokens.knows_client(&client_id) {
        return Err(format!("unknown client_id {client_id:?}"));
    }
    if !world.tokens.redirect_uri_allowed(&redirect) {
        return Err(format!(
            "redirect_uri {redirect:?} is not registered for this application"
        ));
    }
    let redirect_uri = Url::parse(&redirect).map_err(|_| "redirect_uri is not a URL")?;
    let scopes = scope
        .split_whitespace()
        .filter(|s| SCOPES.contains(s))
        .map(str::to_string)
        .collect();
    Ok(Request {
        client_id,
        redirect_raw: redirect,
        redirect_uri,
        state,
        scopes,
    })
}

fn pairs(query: Option<&str>) -> Vec<(String, String)> {
    url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .into_owned()
        .collect()
}

fn refused(why: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Html(format!(
            "<!doctype html><title>Tesla sign-in (simulated)</title><h1>Cannot sign in</h1><p>{}</p>",
            escape(why)
        )),
    )
        .into_response()
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// `GET /oauth2/v3/authorize`: the consent form.
pub async fn page(State(sim): State<Sim>, RawQuery(query): RawQuery) -> Response {
    let request = match parse(&sim, &pairs(query.as_deref())) {
        Ok(r) => r,
        Err(why) => return refused(&why),
    };
    let action = format!("?{}", query.unwrap_or_default());
    let mut boxes = String::new();
    for scope in &request.scopes {
        boxes.push_str(&format!(
            "<label><input type=\"checkbox\" name=\"granted\" value=\"{0}\" checked> {0}</label><br>",
            escape(scope)
        ));
    }
    Html(format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>Tesla sign-in (simulated)</title></head>\
         <body style=\"font-family:system-ui,sans-serif;margin:2em\"><h1>Simulated Tesla account</h1>\
         <p>Allow <b>{client}</b> to access your Tesla account?</p>\
         <form method=\"post\" action=\"{action}\">{boxes}\
         <p><button name=\"decision\" value=\"allow\">Allow</button> \
         <button name=\"decision\" value=\"deny\">Deny</button></p></form></body></html>",
        client = escape(&request.client_id),
        action = escape(&action),
    ))
    .into_response()
}

/// `POST /oauth2/v3/authorize`: the form's answer; redirects back to the client.
pub async fn decide(
    State(sim): State<Sim>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let request = match parse(&sim, &pairs(query.as_deref())) {
        Ok(r) => r,
        Err(why) => return refused(&why),
    };
    let form: Vec<(String, String)> = url::form_urlencoded::parse(&body).into_owned().collect();
    let decision = form
        .iter()
        .find(|(k, _)| k == "decision")
        .map(|(_, v)| v.as_str());
    let mut target = request.redirect_uri.clone();
    if decision != Some("allow") {
        target
            .query_pairs_mut()
            .append_pair("error", "access_denied")
            .append_pair("error_description", "The user denied the request")
            .append_pair("state", &request.state);
        return redirect(target.as_str());
    }
    let granted: Vec<String> = request
        .scopes
        .iter()
        .filter(|s| form.iter().any(|(k, v)| k == "granted" && v == *s))
        .cloned()
        .collect();
    let now = sim.clock.now();
    let code =
        sim.world()
            .tokens
            .issue_code(&request.client_id, &request.redirect_raw, granted, now);
    let code = match code {
        Ok(code) => code,
        Err(e) => return refused(&e.description),
    };
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("auth.tesla.com");
    target
        .query_pairs_mut()
        .append_pair("code", &code)
        .append_pair("state", &request.state)
        .append_pair("locale", "en-US")
        .append_pair("issuer", &format!("http://{host}/oauth2/v3"));
    redirect(target.as_str())
}

fn redirect(to: &str) -> Response {
    let mut resp = StatusCode::FOUND.into_response();
    if let Ok(v) = to.parse() {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    resp
}

/// Form fields of the consent page, for tests that submit it without a browser.
pub fn approve_form(scopes: &[&str]) -> Vec<(String, String)> {
    let mut form = vec![("decision".to_string(), "allow".to_string())];
    form.extend(
        scopes
            .iter()
            .map(|s| ("granted".to_string(), s.to_string())),
    );
    form
}
