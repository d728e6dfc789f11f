//! Driving, location and route.

use super::types::*;
use crate::vehicle::signal::{Signal, Signals, Value};

const GEARS: &[&str] = &["p", "d", "r", "n"];
/// `ForwardCollisionWarning` streams the car's sensitivity setting.
const FORWARD_COLLISION: &[&str] = &["off", "late", "average", "early"];
const LANE_ASSIST: &[&str] = &["none", "warning", "assist"];
const SPEED_ASSIST: &[&str] = &["none", "display", "chime"];
const TURN_SIGNAL: &[&str] = &["off", "left", "right", "both"];

/// When navigation ends the car keeps the old destination, energy and delay but drops the
/// minutes to arrival: every route field is unknown once that is.
fn route(s: &Signals, signal: Signal) -> Option<Reading> {
    match s.get(&Signal::MinutesToArrival) {
        Some(Value::Unknown) => return Some(Reading::Unknown),
        None if s.get(&signal).is_none() => return None,
        _ => {}
    }
    Some(match s.get(&signal)? {
        Value::Unknown => Reading::Unknown,
        Value::Text(t) => Reading::Text(t.clone()),
        v => v.as_f64().map(Reading::Number)?,
    })
}

fn route_traffic(s: &Signals) -> Option<Reading> {
    route(s, Signal::RouteTrafficMinutesDelay)
}

fn route_energy(s: &Signals) -> Option<Reading> {
    route(s, Signal::ExpectedEnergyPercentAtTripArrival)
}

fn route_miles(s: &Signals) -> Option<Reading> {
    route(s, Signal::MilesToArrival)
}

fn route_destination(s: &Signals) -> Option<Reading> {
    route(s, Signal::DestinationName)
}

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
    tracker("route", "Route", Signal::DestinationLocation)
        .place(Signal::DestinationName)
        .icon("mdi:map-marker-path")
        .row(),
    tracker("origin", "Origin", Signal::OriginLocation)
        .icon("mdi:map-marker-outline")
        .disabled()
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
    .disabled()
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
    sensor(
        "drive_state_active_route_traffic_minutes_delay",
        "Traffic delay",
        Read::Derived(Signal::RouteTrafficMinutesDelay, route_traffic),
    )
    .measurement(Measure::Duration(DurationUnit::Minutes))
    .disabled()
    .row(),
    sensor(
        "drive_state_active_route_energy_at_arrival",
        "State of charge at arrival",
        Read::Derived(Signal::ExpectedEnergyPercentAtTripArrival, route_energy),
    )
    .measurement(Measure::Battery)
    .diagnostic()
    .disabled()
    .decimals(0)
    .row(),
    sensor(
        "drive_state_active_route_miles_to_arrival",
        "Distance to arrival",
        Read::Derived(Signal::MilesToArrival, route_miles),
    )
    .measurement(Measure::Distance)
    .decimals(1)
    .precision(0)
    .row(),
    sensor(
        "drive_state_active_route_minutes_to_arrival",
        "Time to arrival",
        Read::Value(Signal::ArrivalAt),
    )
    .of(Measure::Timestamp)
    .row(),
    sensor(
        "drive_state_active_route_destination",
        "Destination",
        Read::Derived(Signal::DestinationName, route_destination),
    )
    .of(Measure::None)
    .disabled()
    .row(),
    sensor(
        "cruise_follow_distance",
        "Cruise follow distance",
        Read::Value(Signal::CruiseFollowDistance),
    )
    .of(Measure::Duration(DurationUnit::Seconds))
    .diagnostic()
    .disabled()
    .row(),
    sensor(
        "cruise_set_speed",
        "Cruise set speed",
        Read::Value(Signal::CruiseSetSpeed),
    )
    .measurement(Measure::Speed)
    .diagnostic()
    .disabled()
    .decimals(0)
    .row(),
    sensor(
        "current_limit_mph",
        "Current speed limit",
        Read::Value(Signal::CurrentLimitMph),
    )
    .measurement(Measure::Speed)
    .diagnostic()
    .disabled()
    .decimals(0)
    .row(),
    sensor(
        "gps_heading",
        "GPS heading",
        Read::Value(Signal::GpsHeading),
    )
    .of(Measure::Plain(Unit::Degrees))
    .diagnostic()
    .disabled()
    .decimals(0)
    .row(),
    sensor(
        "gps_accuracy",
        "GPS accuracy",
        Read::Value(Signal::GpsAccuracyMeters),
    )
    .measurement(Measure::Plain(Unit::Metres))
    .diagnostic()
    .disabled()
    .row(),
    sensor(
        "lateral_acceleration",
        "Lateral acceleration",
        Read::Value(Signal::LateralAcceleration),
    )
    .measurement(Measure::Plain(Unit::StandardGravity))
    .diagnostic()
    .disabled()
    .hidden()
    .row(),
    sensor(
        "longitudinal_acceleration",
        "Longitudinal acceleration",
        Read::Value(Signal::LongitudinalAcceleration),
    )
    .measurement(Measure::Plain(Unit::StandardGravity))
    .diagnostic()
    .disabled()
    .hidden()
    .row(),
    sensor(
        "pedal_position",
        "Pedal position",
        Read::Value(Signal::PedalPosition),
    )
    .measurement(Measure::Plain(Unit::Percent))
    .diagnostic()
    .disabled()
    .hidden()
    .row(),
    sensor(
        "brake_pedal_position",
        "Brake pedal position",
        Read::Value(Signal::BrakePedalPos),
    )
    .measurement(Measure::Plain(Unit::Percent))
    .diagnostic()
    .disabled()
    .hidden()
    .row(),
    sensor(
        "grade_estimate",
        "Road grade",
        Read::Value(Signal::GradeEstimatePercent),
    )
    .measurement(Measure::Plain(Unit::Percent))
    .diagnostic()
    .disabled()
    .hidden()
    .row(),
    sensor(
        "max_speed_to_reach_destination",
        "Top speed to reach destination",
        Read::Value(Signal::MaxSpeedToReachDestinationMph),
    )
    .measurement(Measure::Speed)
    .diagnostic()
    .disabled()
    .row(),
    sensor(
        "miles_since_reset",
        "Distance since reset",
        Read::Value(Signal::MilesSinceReset),
    )
    .of(Measure::Distance)
    .state_class(StateClass::TotalIncreasing)
    .diagnostic()
    .disabled()
    .row(),
    sensor(
        "self_driving_miles_since_reset",
        "Self-driving distance since reset",
        Read::Value(Signal::SelfDrivingMilesSinceReset),
    )
    .of(Measure::Distance)
    .state_class(StateClass::TotalIncreasing)
    .diagnostic()
    .disabled()
    .row(),
    sensor(
        "forward_collision_warning",
        "Forward collision warning",
        Read::Value(Signal::ForwardCollisionWarning),
    )
    .of(Measure::Enum(FORWARD_COLLISION))
    .diagnostic()
    .disabled()
    .row(),
    sensor(
        "lane_departure_avoidance",
        "Lane departure avoidance",
        Read::Value(Signal::LaneDepartureAvoidance),
    )
    .of(Measure::Enum(LANE_ASSIST))
    .diagnostic()
    .disabled()
    .row(),
    sensor(
        "speed_limit_warning",
        "Speed limit warning",
        Read::Value(Signal::SpeedLimitWarning),
    )
    .of(Measure::Enum(SPEED_ASSIST))
    .diagnostic()
    .disabled()
    .row(),
    sensor(
        "lights_turn_signal",
        "Turn signal",
        Read::Value(Signal::LightsTurnSignal),
    )
    .of(Measure::Enum(TURN_SIGNAL))
    .diagnostic()
    .disabled()
    .row(),
    sensor(
        "route_last_updated",
        "Route last updated",
        Read::Value(Signal::RouteLastUpdated),
    )
    .of(Measure::None)
    .diagnostic()
    .disabled()
    .row(),
];
