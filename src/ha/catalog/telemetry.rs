//! Fleet Telemetry: the car's alerts as an event entity, and the set-up diagnostics (filled by
//! `vehicle::telemetry_setup` and the receiver).

use super::types::*;
use crate::vehicle::signal::Signal;

/// The states of `TelemetryStatus`, in the order a user works through them.
const STATUS: &[&str] = &[
    "streaming",
    "synced",
    "pending",
    "silent",
    "limit_reached",
    "missing_key",
    "unsupported_firmware",
    "unsupported_hardware",
    "not_configured",
    "error",
];

pub(super) static ROWS: &[Entity] = &[
    // The network the car streams over (teslemetry's `cellular` and `wifi`): the receiver reads
    // it from the car's connection; both go off when the stream closes.
    binary("cellular", "Cellular", Read::Value(Signal::Cellular))
        .class(BinaryClass::Connectivity)
        .diagnostic()
        .icon("mdi:signal")
        .row(),
    binary("wifi", "Wi-Fi", Read::Value(Signal::Wifi))
        .class(BinaryClass::Connectivity)
        .diagnostic()
        .icon("mdi:wifi")
        .row(),
    // Alerts the car streams (`vehicle alert <name> active|ended (for …)`), for automations.
    event("vehicle_alert", "Vehicle alert", &["vehicle_alert"])
        .icon("mdi:car-info")
        .row(),
    sensor(
        "telemetry_status",
        "Telemetry status",
        Read::Value(Signal::TelemetryStatus),
    )
    .of(Measure::Enum(STATUS))
    .diagnostic()
    .icon("mdi:access-point-network")
    .row(),
    binary(
        "telemetry_config_synced",
        "Telemetry config synced",
        Read::Value(Signal::TelemetryConfigSynced),
    )
    .diagnostic()
    .icon("mdi:sync")
    .row(),
    binary(
        "telemetry_limit_reached",
        "Telemetry config limit reached",
        Read::Value(Signal::TelemetryLimitReached),
    )
    .class(BinaryClass::Problem)
    .diagnostic()
    .row(),
    sensor(
        "telemetry_errors",
        "Telemetry errors",
        Read::Value(Signal::TelemetryErrors),
    )
    .diagnostic()
    .icon("mdi:alert-circle-outline")
    .row(),
];
