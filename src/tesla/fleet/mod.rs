//! `tesla::fleet`: the Fleet API REST client.
//!
//! Owns the HTTP conversation with Tesla's regional Fleet API: bearer tokens (from `tesla::auth`, with
//! one refresh on a 401), Tesla's error envelopes turned into [`FleetError`], `Retry-After`, and a
//! running count of billable requests ([`Usage`]) — Tesla bills every request that answers below 500,
//! including 408s and 429s, so the count is part of correctness, not decoration.
//!
//! Knows nothing about MQTT, Home Assistant or signals.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;
use tracing::{debug, instrument};
use url::Url;

use crate::secret::Secret;
use crate::tesla::auth::{AuthError, Tokens};

mod signed;

/// Tesla's published prices per request, in US dollars.
pub const PRICE_DATA: f64 = 0.002;
pub const PRICE_COMMAND: f64 = 0.001;
pub const PRICE_WAKE: f64 = 0.02;

/// How Tesla bills a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Category {
    /// `vehicle_data` and other live reads.
    Data,
    Command,
    Wake,
    /// The vehicle list and single-vehicle reads, which do not reach the car.
    Free,
}

/// Billable requests made by this process, as Tesla would count them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Usage {
    pub data: u64,
    pub commands: u64,
    pub wakes: u64,
    pub free: u64,
}

impl Usage {
    pub fn usd(&self) -> f64 {
        self.data as f64 * PRICE_DATA
            + self.commands as f64 * PRICE_COMMAND
            + self.wakes as f64 * PRICE_WAKE
    }

    fn add(&mut self, category: Category) {
        match category {
            Category::Data => self.data += 1,
            Category::Command => self.commands += 1,
            Category::Wake => self.wakes += 1,
            Category::Free => self.free += 1,
        }
    }
}

/// What went wrong talking to the Fleet API.
#[derive(Debug, Clone, thiserror::Error)]
pub enum FleetError {
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error("the car is asleep or offline")]
    Unavailable,
    #[error("Tesla rate-limited the request; retry in {} s", retry_after.as_secs())]
    RateLimited { retry_after: Duration },
    #[error("vehicle {0} is not on this Tesla account")]
    UnknownVehicle(String),
    #[error("this car only accepts signed commands (Tesla Vehicle Command Protocol)")]
    SigningRequired,
    #[error("this car does not support signed commands; it takes plain REST commands (set commands.rest_vins if TeslaSync chose wrong)")]
    ProtocolUnsupported,
    #[error("Tesla refused the request (HTTP {status}): {message}")]
    Refused { status: u16, message: String },
    #[error("Tesla had a temporary problem (HTTP {status}): {message}")]
    Server { status: u16, message: String },
    #[error("could not reach the Fleet API: {0}")]
    Transport(String),
    #[error("unexpected answer from the Fleet API: {0}")]
    Decode(String),
}

impl FleetError {
    /// Worth retrying later without changing anything.
    pub fn is_temporary(&self) -> bool {
        matches!(
            self,
            FleetError::RateLimited { .. }
                | FleetError::Server { .. }
                | FleetError::Transport(_)
                | FleetError::Unavailable
        )
    }
}

/// One entry of the vehicle list (the fields TeslaSync uses; Tesla sends more).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct VehicleSummary {
    pub vin: String,
    #[serde(default)]
    pub display_name: Option<String>,
    /// `online`, `asleep` or `offline`.
    #[serde(default)]
    pub state: Option<String>,
    /// `off`, `allowed` or `required`.
    #[serde(default)]
    pub command_signing: Option<String>,
}

/// The car's answer to a REST command.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct CommandReply {
    pub result: bool,
    #[serde(default)]
    pub reason: String,
}

#[derive(Deserialize)]
struct Envelope<T> {
    response: T,
}

/// The Fleet API client for one account.
#[derive(Clone)]
pub struct FleetClient {
    http: reqwest::Client,
    base: Url,
    tokens: Arc<Tokens>,
    usage: Arc<Mutex<Usage>>,
}

impl FleetClient {
    pub fn new(http: reqwest::Client, base: Url, tokens: Arc<Tokens>) -> Self {
        FleetClient {
            http,
            base,
            tokens,
            usage: Arc::default(),
        }
    }

    /// Requests made so far, by billing category.
    pub fn usage(&self) -> Usage {
        self.usage.lock().expect("usage mutex").clone()
    }

    /// The token manager this client uses.
    pub fn tokens(&self) -> &Arc<Tokens> {
        &self.tokens
    }

    /// `GET /api/1/vehicles`: every car with its state, without waking any of them.
    pub async fn vehicles(&self) -> Result<Vec<VehicleSummary>, FleetError> {
        self.call(Method::GET, "api/1/vehicles", None, Category::Free)
            .await
    }

    /// `GET /api/1/vehicles/{vin}`: one car's live state, without waking it.
    pub async fn vehicle(&self, vin: &str) -> Result<VehicleSummary, FleetError> {
        self.call(
            Method::GET,
            &format!("api/1/vehicles/{vin}"),
            None,
            Category::Free,
        )
        .await
    }

    /// `GET /api/1/vehicles/{vin}/vehicle_data`: billed, and only answered by an awake car.
    pub async fn vehicle_data(&self, vin: &str, endpoints: &[&str]) -> Result<Json, FleetError> {
        let path = format!(
            "api/1/vehicles/{vin}/vehicle_data?endpoints={}",
            endpoints.join("%3B")
        );
        self.call(Method::GET, &path, None, Category::Data).await
    }

    /// `POST /api/1/vehicles/{vin}/wake_up`: the expensive one. Returns the state right after.
    pub async fn wake_up(&self, vin: &str) -> Result<VehicleSummary, FleetError> {
        self.call(
            Method::POST,
            &format!("api/1/vehicles/{vin}/wake_up"),
            Some(Json::Object(Default::default())),
            Category::Wake,
        )
        .await
    }

    /// `POST /api/1/vehicles/{vin}/command/{name}` with a JSON body.
    pub async fn command(
        &self,
        vin: &str,
        name: &str,
        body: Json,
    ) -> Result<CommandReply, FleetError> {
        self.call(
            Method::POST,
            &format!("api/1/vehicles/{vin}/command/{name}"),
            Some(body),
            Category::Command,
        )
        .await
    }

    #[instrument(skip(self, body), fields(%method))]
    async fn call<T: for<'de> Deserialize<'de>>(
        &self,
        method: Method,
        path: &str,
        body: Option<Json>,
        category: Category,
    ) -> Result<T, FleetError> {
        let url = self
            .base
            .join(path)
            .map_err(|e| FleetError::Transport(e.to_string()))?;
        let mut token = self.tokens.access_token().await?;
        let mut refreshed = false;
        loop {
            let (status, headers, bytes) = self.send(&method, &url, &token, body.as_ref()).await?;
            if status.as_u16() < 500 {
                self.usage.lock().expect("usage mutex").add(category);
            }
            debug!(status = status.as_u16(), "fleet api answered");
            if status == StatusCode::UNAUTHORIZED && !refreshed {
                let text = String::from_utf8_lossy(&bytes);
                // `mobile_access_disabled` and `unknown user` are not fixed by a new token.
                if !text.contains("mobile_access_disabled") && !text.contains("unknown user") {
                    token = self.tokens.refresh_after_unauthorized(&token).await?;
                    refreshed = true;
                    continue;
                }
            }
            if status.is_success() {
                return serde_json::from_slice::<Envelope<T>>(&bytes)
                    .map(|e| e.response)
                    .map_err(|e| FleetError::Decode(e.to_string()));
            }
            return Err(error_from(status, &headers, &bytes, path));
        }
    }

    async fn send(
        &self,
        method: &Method,
        url: &Url,
        token: &Secret,
        body: Option<&Json>,
    ) -> Result<(StatusCode, reqwest::header::HeaderMap, bytes::Bytes), FleetError> {
        let mut request = self
            .http
            .request(method.clone(), url.clone())
            .bearer_auth(token.expose());
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request
            .send()
            .await
            .map_err(|e| FleetError::Transport(e.without_url().to_string()))?;
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response
            .bytes()
            .await
            .map_err(|e| FleetError::Transport(e.without_url().to_string()))?;
        Ok((status, headers, bytes))
    }
}

/// Turns Tesla's error answer (JSON envelope or plain text) into a [`FleetError`].
fn error_from(
    status: StatusCode,
    headers: &reqwest::header::HeaderMap,
    body: &[u8],
    path: &str,
) -> FleetError {
    let message = serde_json::from_slice::<Json>(body)
        .ok()
        .and_then(|j| j.get("error").and_then(Json::as_str).map(str::to_string))
        .unwrap_or_else(|| {
            String::from_utf8_lossy(body)
                .trim()
                .chars()
                .take(200)
                .collect()
        });
    match status.as_u16() {
        408 => FleetError::Unavailable,
        429 => FleetError::RateLimited {
            retry_after: retry_after(headers, &message),
        },
        404 => FleetError::UnknownVehicle(path.split('/').nth(3).unwrap_or_default().to_string()),
        403 if message.contains("Vehicle Command Protocol required") => FleetError::SigningRequired,
        s if s >= 500 => FleetError::Server { status: s, message },
        s => FleetError::Refused { status: s, message },
    }
}

/// `Retry-After` in seconds, else the "Retry in N seconds" body Tesla has sent, else five minutes.
fn retry_after(headers: &reqwest::header::HeaderMap, body: &str) -> Duration {
    let from_header = headers
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let from_body = body
        .strip_prefix("Retry in ")
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse::<u64>().ok());
    Duration::from_secs(from_header.or(from_body).unwrap_or(300))
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::{HeaderMap, HeaderValue, RETRY_AFTER};

    #[test]
    fn retry_after_prefers_the_header_then_the_body() {
        let mut h = HeaderMap::new();
        assert_eq!(
            retry_after(&h, "Retry in 51 seconds"),
            Duration::from_secs(51)
        );
        assert_eq!(retry_after(&h, "nonsense"), Duration::from_secs(300));
        h.insert(RETRY_AFTER, HeaderValue::from_static("7"));
        assert_eq!(
            retry_after(&h, "Retry in 51 seconds"),
            Duration::from_secs(7)
        );
    }

    #[test]
    fn tesla_error_bodies_map_to_typed_errors() {
        let h = HeaderMap::new();
        let e = error_from(
            StatusCode::REQUEST_TIMEOUT,
            &h,
            br#"{"response":null,"error":"vehicle unavailable: vehicle is offline or asleep"}"#,
            "api/1/vehicles/X/vehicle_data",
        );
        assert!(matches!(e, FleetError::Unavailable));
        let e = error_from(
            StatusCode::FORBIDDEN,
            &h,
            br#"{"response":null,"error":"Tesla Vehicle Command Protocol required, please refer"}"#,
            "p",
        );
        assert!(matches!(e, FleetError::SigningRequired));
        let e = error_from(
            StatusCode::NOT_FOUND,
            &h,
            br#"{"error":"not_found"}"#,
            "api/1/vehicles/5YJ/vehicle_data",
        );
        assert_eq!(e.to_string(), "vehicle 5YJ is not on this Tesla account");
        let e = error_from(StatusCode::BAD_GATEWAY, &h, b"<html>oops</html>", "p");
        assert!(e.is_temporary(), "{e}");
    }

    #[test]
    fn usage_prices_match_tesla() {
        let u = Usage {
            data: 500,
            commands: 1000,
            wakes: 50,
            free: 9,
        };
        assert!((u.usd() - 3.0).abs() < 1e-9);
    }
}
