//! `tesla::telemetry`: Tesla's Fleet Telemetry, the stream cars push to us.
//!
//! - [`proto`]: the protobuf schemas (generated from `proto/`).
//! - [`envelope`]: the FlatBuffers envelope around every WebSocket frame, and the replies (ack,
//!   error) byte-identical to Tesla's reference server.
//! - [`decode`]: frame → [`decode::Record`] (vehicle data, alerts, errors), tolerant of every
//!   unknown number and arm, counting what it could not understand.
//!
//! Knows nothing about signals, MQTT or Home Assistant: `vehicle::telemetry` maps records to
//! signals.

pub mod decode;
pub mod envelope;
pub mod proto;
