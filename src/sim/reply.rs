//! `sim::reply`: how the simulated Tesla answers — JSON with Tesla's content type and Tesla's error
//! envelopes. One place for these shapes, so the Fleet API handlers, the auth host, the fault injector and
//! the control API cannot drift apart.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

/// Tesla answers JSON as `application/json; charset=utf-8`.
const JSON_CONTENT_TYPE: &str = "application/json; charset=utf-8";

/// A JSON response with Tesla's content type.
pub fn json(status: StatusCode, body: &Value) -> Response {
    let mut resp = (status, body.to_string()).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(JSON_CONTENT_TYPE),
    );
    resp
}

/// A success envelope: `{"response": ...}`.
pub fn ok(response: Value) -> Response {
    json(StatusCode::OK, &json!({ "response": response }))
}

/// Tesla's Fleet API error envelope: `{"response":null,"error":...,"error_description":""}`.
pub fn fleet_error(status: StatusCode, error: &str) -> Response {
    json(
        status,
        &json!({ "response": null, "error": error, "error_description": "" }),
    )
}

/// The bearer-check failures, which Tesla answers without the envelope.
pub fn bare_error(status: StatusCode, error: &str) -> Response {
    json(status, &json!({ "error": error }))
}

/// An OAuth error from the token endpoint, shaped like Tesla's auth host.
pub fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    json(
        status,
        &json!({
            "error": error,
            "error_description": description,
            "error_uri": format!("https://auth.tesla.com/error/reference/{error}"),
        }),
    )
}

/// A command-level answer: always HTTP 200, success or not (fleet-api.md §4.1).
pub fn command_result(result: Result<(), String>) -> Response {
    let (ok, reason) = match result {
        Ok(()) => (true, String::new()),
        Err(reason) => (false, reason),
    };
    self::ok(json!({ "result": ok, "reason": reason }))
}

/// What Tesla says for a vehicle that is asleep, waking or offline.
pub const VEHICLE_UNAVAILABLE: &str = "vehicle unavailable: vehicle is offline or asleep";
