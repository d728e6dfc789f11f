//! Driving, location and route.

use super::types::*;
use crate::vehicle::signal::{Signal, Signals, Value};

const GEARS: &[&str] = &["p", "d", "r", "n"];

/// A parked car reports no speed: that is 0, not unknown.
fn speed(s: &Signals) -> Option<Reading> {
    Some(Reading::Number(
        s.get(&Signal::VehicleSpeed)
            .and_then(Value::as_f64)
            .unwrap_or(0.0),
    ))
}

/// A parked car reports no gear: that is `p`.
fn gear(s: &Signals) -> Option<Reading> {
    let gear = s.get(&Signal::Gear).and_then(Value::as_text).unwrap_or("P");
    Some(Reading::Text(gear.to_ascii_lowercase()))
}

pub(super) static ROWS: &[Entity] = &[
    tracker("location", "Location", Signal::Location)
        .icon("mdi:car")
        .row(),
    sensor(
        "vehicle_state_odometer",
        "Odometer",
        Read::Value(Signal::Odometer),
    )
    .of(Measure::Distance)
    .state_class(StateClass::TotalIncreasing)
    .precision(0)
    .diagnostic()
    .row(),
    sensor(
        "drive_state_speed",
        "Speed",
        Read::Derived(Signal::VehicleSpeed, speed),
    )
    .measurement(Measure::Speed)
    .decimals(0)
    .disabled()
    .row(),
    sensor(
        "drive_state_shift_state",
        "Shift state",
        Read::Derived(Signal::Gear, gear),
    )
    .of(Measure::Enum(GEARS))
    .disabled()
    .row(),
    sensor(
        "drive_state_power",
        "Power",
        Read::Value(Signal::DrivePower),
    )
    .measurement(Measure::Power)
    .decimals(0)
    .diagnostic()
    .disabled()
    .row(),
];
