//! Locks, doors, windows, closures, tyres and security.

use super::types::*;
use crate::vehicle::signal::Signal;

const CLOSED: &[&str] = &["Closed"];

pub(super) static ROWS: &[Entity] = &[
    lock(
        "vehicle_state_locked",
        "Lock",
        Read::Value(Signal::Locked),
        LockAction::Send(Call::new("door_lock")),
        LockAction::Send(Call::new("door_unlock")),
    )
    .row(),
    switch(
        "vehicle_state_sentry_mode",
        "Sentry mode",
        Read::Value(Signal::SentryMode),
        Call::with("set_sentry_mode", r#"{"on":true}"#),
        Call::with("set_sentry_mode", r#"{"on":false}"#),
    )
    .icon("mdi:cctv")
    .row(),
    binary(
        "vehicle_state_is_user_present",
        "User present",
        Read::Value(Signal::DriverSeatOccupied),
    )
    .class(BinaryClass::Presence)
    .row(),
    binary(
        "vehicle_state_df",
        "Front driver door",
        Read::Value(Signal::DoorDriverFront),
    )
    .class(BinaryClass::Door)
    .diagnostic()
    .row(),
    binary(
        "vehicle_state_dr",
        "Rear driver door",
        Read::Value(Signal::DoorDriverRear),
    )
    .class(BinaryClass::Door)
    .diagnostic()
    .row(),
    binary(
        "vehicle_state_pf",
        "Front passenger door",
        Read::Value(Signal::DoorPassengerFront),
    )
    .class(BinaryClass::Door)
    .diagnostic()
    .row(),
    binary(
        "vehicle_state_pr",
        "Rear passenger door",
        Read::Value(Signal::DoorPassengerRear),
    )
    .class(BinaryClass::Door)
    .diagnostic()
    .row(),
    binary(
        "vehicle_state_fd_window",
        "Front driver window",
        Read::IsNot(Signal::FdWindow, CLOSED),
    )
    .class(BinaryClass::Window)
    .diagnostic()
    .row(),
    binary(
        "vehicle_state_fp_window",
        "Front passenger window",
        Read::IsNot(Signal::FpWindow, CLOSED),
    )
    .class(BinaryClass::Window)
    .diagnostic()
    .row(),
    binary(
        "vehicle_state_rd_window",
        "Rear driver window",
        Read::IsNot(Signal::RdWindow, CLOSED),
    )
    .class(BinaryClass::Window)
    .diagnostic()
    .row(),
    binary(
        "vehicle_state_rp_window",
        "Rear passenger window",
        Read::IsNot(Signal::RpWindow, CLOSED),
    )
    .class(BinaryClass::Window)
    .diagnostic()
    .row(),
    // A frunk opens remotely but is closed by hand: no CLOSE.
    cover(
        "vehicle_state_ft",
        "Frunk",
        CoverClass::Door,
        Read::Value(Signal::TrunkFront),
    )
    .open(Call::with("actuate_trunk", r#"{"which_trunk":"front"}"#))
    .row(),
    cover(
        "vehicle_state_rt",
        "Trunk",
        CoverClass::Door,
        Read::Value(Signal::TrunkRear),
    )
    .open(Call::with("actuate_trunk", r#"{"which_trunk":"rear"}"#))
    .close(Call::with("actuate_trunk", r#"{"which_trunk":"rear"}"#))
    .toggles()
    .row(),
    sensor(
        "vehicle_state_tpms_pressure_fl",
        "Tire pressure front left",
        Read::Value(Signal::TpmsPressureFl),
    )
    .measurement(Measure::Pressure)
    .precision(1)
    .diagnostic()
    .disabled()
    .row(),
    sensor(
        "vehicle_state_tpms_pressure_fr",
        "Tire pressure front right",
        Read::Value(Signal::TpmsPressureFr),
    )
    .measurement(Measure::Pressure)
    .precision(1)
    .diagnostic()
    .disabled()
    .row(),
    sensor(
        "vehicle_state_tpms_pressure_rl",
        "Tire pressure rear left",
        Read::Value(Signal::TpmsPressureRl),
    )
    .measurement(Measure::Pressure)
    .precision(1)
    .diagnostic()
    .disabled()
    .row(),
    sensor(
        "vehicle_state_tpms_pressure_rr",
        "Tire pressure rear right",
        Read::Value(Signal::TpmsPressureRr),
    )
    .measurement(Measure::Pressure)
    .precision(1)
    .diagnostic()
    .disabled()
    .row(),
    binary(
        "state",
        "Status",
        Read::Is(Signal::VehicleState, &["online"]),
    )
    .class(BinaryClass::Connectivity)
    .row(),
];
