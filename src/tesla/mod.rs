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

/// The HTTP client for everything TeslaSync sends to Tesla (auth host, Fleet API, partner calls):
/// one user agent and one timeout, whoever builds the stack (daemon or CLI).
pub fn http_client() -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(30))
        .user_agent(concat!("TeslaSync/", env!("CARGO_PKG_VERSION")))
        .build()
}
