//! `tesla`: everything that speaks to Tesla. Nothing here knows about MQTT or Home Assistant.
//!
//! - [`auth`]: OAuth tokens (refresh, rotation, persistence).
//! - [`fleet`]: the Fleet API REST client (regions, errors, billing categories).
//! - [`command`]: the vehicle command protocol (protobuf, ECDH, HMAC); bytes in, bytes out.
//! - [`commands`]: every command Tesla takes, one row each (parameters, REST body, protocol action,
//!   expected effect), and the one parser that builds them.
//! - [`region`]: Tesla's hosts per region (one table) and the rules for following a 421.

pub mod auth;
pub mod command;
pub mod commands;
pub mod fleet;
pub mod region;
pub mod telemetry;

/// A failed HTTP exchange in words that say what happened: a timeout names itself and its limit
/// (reqwest's own text is only "error sending request"), other errors carry their cause. Never the
/// URL (it may hold a query with a code).
pub fn transport_error(e: reqwest::Error) -> String {
    if e.is_timeout() {
        return format!(
            "no complete answer within {} s (TeslaSync's HTTP timeout); the host is slow or \
             unreachable",
            HTTP_TIMEOUT.as_secs()
        );
    }
    let e = e.without_url();
    let mut text = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// How long any request to Tesla may take, connection to last byte.
pub const HTTP_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// The HTTP client for everything TeslaSync sends to Tesla (auth host, Fleet API, partner calls):
/// one user agent and one timeout, whoever builds the stack (daemon or CLI).
pub fn http_client() -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .timeout(HTTP_TIMEOUT)
        .user_agent(concat!("TeslaSync/", env!("CARGO_PKG_VERSION")))
        .build()
}
