//! `ha`: the Home Assistant side. Never knows where a value came from.
//!
//! - [`catalog`]: every entity as a row of data (platform, classes, unit, source, command).
//! - [`topics`]: every MQTT topic string, built and parsed in one place.
//! - [`discovery`]: pure functions from catalog + vehicle to discovery payloads.
//! - [`bridge`]: the MQTT connection: publishes changes, receives commands.

pub mod bridge;
pub mod catalog;
pub mod discovery;
pub mod topics;
