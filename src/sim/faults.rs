//! `sim::faults`: one-shot failures injected into the next N Tesla requests (`POST /sim/faults`).
//!
//! Owns the queue of pending faults and the responses they produce. Faults only ever apply to Tesla's
//! own endpoints (Fleet API and token endpoint), never to `/sim/*`, so a test can always inspect and
//! repair the simulator. A faulted request does not reach the car: no state changes, only billing
//! (a 429 is billed like Tesla bills it; a 5xx or a dropped request is not).

use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use super::reply;

/// A failure to inject, as posted to `/sim/faults`.
///
/// Fields combine: `latency_ms` delays the request, then `drop` kills the connection, or `status`
/// answers in Tesla's place; with neither, the delayed request is served normally.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Fault {
    /// HTTP status to answer with; 0 means "do not replace the answer" (latency only).
    pub status: u16,
    /// Seconds for the `Retry-After` header (a 429 always carries one; 60 s if not given).
    pub retry_after: Option<u64>,
    /// Real (not virtual) delay before answering: it models the network, which client timeouts measure
    /// in real time.
    pub latency_ms: Option<u64>,
    /// Close the connection without a usable answer.
    pub drop: bool,
    /// How many matching requests this fault applies to.
    pub count: u32,
    /// Only requests whose path contains this string match (e.g. `"vehicle_data"`).
    pub path_contains: Option<String>,
}

impl Default for Fault {
    fn default() -> Self {
        Fault {
            status: 0,
            retry_after: None,
            latency_ms: None,
            drop: false,
            count: 1,
            path_contains: None,
        }
    }
}

impl Fault {
    /// Why this fault cannot be injected, if it cannot.
    pub fn problem(&self) -> Option<String> {
        if self.status != 0 && !(100..=599).contains(&self.status) {
            return Some(format!(
                "status {} is not an HTTP status (use 100-599, or 0 for latency only)",
                self.status
            ));
        }
        if self.status == 0 && !self.drop && self.latency_ms.is_none() {
            return Some("a fault needs a status, latency_ms or drop".to_string());
        }
        None
    }
}

/// What happens to one request that matched a fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Injection {
    pub latency: Option<Duration>,
    pub drop: bool,
    pub status: Option<StatusCode>,
    pub retry_after: Option<u64>,
}

/// Pending faults, first injected first applied.
#[derive(Debug, Default)]
pub struct FaultQueue {
    pending: Vec<Fault>,
}

impl FaultQueue {
    /// Queues a fault; invalid or zero-count faults are ignored (the HTTP API reports them instead).
    pub fn push(&mut self, fault: Fault) {
        if fault.count > 0 && fault.problem().is_none() {
            self.pending.push(fault);
        }
    }

    /// Takes one use of the first pending fault that matches `path`.
    pub fn take(&mut self, path: &str) -> Option<Injection> {
        let idx = self.pending.iter().position(|f| {
            f.path_contains
                .as_deref()
                .is_none_or(|needle| path.contains(needle))
        })?;
        let fault = &mut self.pending[idx];
        let injection = Injection {
            latency: fault.latency_ms.map(Duration::from_millis),
            drop: fault.drop,
            status: StatusCode::from_u16(fault.status)
                .ok()
                .filter(|_| fault.status != 0),
            retry_after: fault.retry_after,
        };
        fault.count -= 1;
        if fault.count == 0 {
            self.pending.remove(idx);
        }
        Some(injection)
    }

    /// Uses left across all pending faults.
    pub fn remaining(&self) -> u64 {
        self.pending.iter().map(|f| u64::from(f.count)).sum()
    }
}

/// The answer Tesla would give with `status`, for a request to `path`.
pub fn response(status: StatusCode, retry_after: Option<u64>, path: &str) -> Response {
    let mut resp = if status == StatusCode::TOO_MANY_REQUESTS {
        let secs = retry_after.unwrap_or(60);
        let mut r = (status, format!("Retry in {secs} seconds\n")).into_response();
        let h = r.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        );
        h.insert("ratelimit-remaining", HeaderValue::from(0u32));
        h.insert("ratelimit-reset", HeaderValue::from(secs));
        h.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        return r;
    } else if path.starts_with("/oauth2/") {
        let (error, description) = match status.as_u16() {
            400 => ("invalid_request", "Invalid request"),
            401 => ("login_required", "Login required"),
            _ => ("server_error", "Server error"),
        };
        reply::oauth_error(status, error, description)
    } else {
        match status.as_u16() {
            401 => reply::bare_error(status, "token expired (401)"),
            403 => reply::bare_error(status, "account disabled: EXCEEDED_LIMIT"),
            _ => reply::fleet_error(status, fleet_error_text(status)),
        }
    };
    if status == StatusCode::MISDIRECTED_REQUEST {
        resp.headers_mut().insert(
            header::ALT_SVC,
            HeaderValue::from_static("h2=https://fleet-api.prd.eu.vn.cloud.tesla.com"),
        );
    }
    if let Some(secs) = retry_after {
        resp.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    resp
}

/// Tesla's `error` text for an injected status (fleet-api.md §4.1).
fn fleet_error_text(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "invalid_request",
        404 => "not_found",
        408 => reply::VEHICLE_UNAVAILABLE,
        412 => "Account must be registered in the current region, please see https://developer.tesla.com/docs/fleet-api/endpoints/partner-endpoints#register",
        421 => "user out of region, use base URL: https://fleet-api.prd.eu.vn.cloud.tesla.com, see https://developer.tesla.com/docs/fleet-api/getting-started/regions-countries",
        422 => "invalid_resource",
        423 => "account locked",
        500 | 502 => "upstream internal error",
        503 => "service unavailable",
        504 => "gateway timeout",
        540 => "device unexpected response",
        _ => status.canonical_reason().unwrap_or("error"),
    }
}

/// A response whose body fails at once: hyper aborts the connection before anything usable reaches
/// the client, which sees a transport error — what a dropped request looks like from outside.
pub fn dropped() -> Response {
    let failing = futures::stream::once(async {
        Err::<Bytes, std::io::Error>(std::io::Error::other("fault injection: connection dropped"))
    });
    Response::new(Body::from_stream(failing))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queue_applies_count_and_path_filter() {
        let mut q = FaultQueue::default();
        q.push(Fault {
            status: 503,
            count: 2,
            path_contains: Some("vehicle_data".into()),
            ..Fault::default()
        });
        assert_eq!(q.take("/api/1/vehicles"), None);
        assert_eq!(
            q.take("/api/1/vehicles/V/vehicle_data")
                .and_then(|i| i.status),
            Some(StatusCode::SERVICE_UNAVAILABLE)
        );
        assert_eq!(q.remaining(), 1);
        assert!(q.take("/api/1/vehicles/V/vehicle_data").is_some());
        assert_eq!(q.take("/api/1/vehicles/V/vehicle_data"), None);
    }

    #[test]
    fn invalid_faults_are_refused() {
        assert!(Fault::default().problem().is_some());
        assert!(Fault {
            status: 1000,
            ..Fault::default()
        }
        .problem()
        .is_some());
        let mut q = FaultQueue::default();
        q.push(Fault::default());
        assert_eq!(q.remaining(), 0);
    }
}
