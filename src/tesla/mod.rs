//! `tesla`: everything that speaks to Tesla. Nothing here knows about MQTT or Home Assistant.
//!
//! - [`auth`]: OAuth tokens (refresh, rotation, persistence).
//! - [`fleet`]: the Fleet API REST client (regions, errors, billing categories).
//! - [`command`]: the vehicle command protocol (protobuf, ECDH, HMAC); bytes in, bytes out.
//! - [`region`]: Tesla's hosts per region (one table) and the rules for following a 421.

pub mod auth;
pub mod command;
pub mod fleet;
pub mod region;
