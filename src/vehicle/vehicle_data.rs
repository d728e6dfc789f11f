//! `vehicle::vehicle_data`: the Fleet API's `vehicle_data` JSON mapped to signals.
//!
//! One row per field (`FIELDS`: JSON pointer → signal, with how to read the value), plus the few
//! fields that need more than one row's logic (climate on/off, the firmware version, gear and speed
//! of a parked car, the location). Pure: the poller fetches, this module only reads.

use serde_json::Value as Json;

use crate::vehicle::signal::{Signal, Value};

/// How a `vehicle_data` field becomes a signal value.
#[derive(Clone, Copy)]
enum Kind {
    Number,
    Bool,
    Text,
    /// 0 = closed, anything else = open.
    OpenFlag,
    /// Tesla's window ints: 0 closed, otherwise open.
    Window,
}

/// `vehicle_data` JSON pointer → signal, one row per field.
const FIELDS: &[(Signal, &str, Kind)] = &[
    (Signal::VehicleName, "/display_name", Kind::Text),
    (
        Signal::BatteryLevel,
        "/charge_state/battery_level",
        Kind::Number,
    ),
    (
        Signal::Soc,
        "/charge_state/usable_battery_level",
        Kind::Number,
    ),
    (
        Signal::BatteryRange,
        "/charge_state/battery_range",
        Kind::Number,
    ),
    (
        Signal::EstBatteryRange,
        "/charge_state/est_battery_range",
        Kind::Number,
    ),
    (
        Signal::IdealBatteryRange,
        "/charge_state/ideal_battery_range",
        Kind::Number,
    ),
    (
        Signal::DetailedChargeState,
        "/charge_state/charging_state",
        Kind::Text,
    ),
    (
        Signal::ACChargingPower,
        "/charge_state/charger_power",
        Kind::Number,
    ),
    (
        Signal::ACChargingEnergyIn,
        "/charge_state/charge_energy_added",
        Kind::Number,
    ),
    (
        Signal::ChargerVoltage,
        "/charge_state/charger_voltage",
        Kind::Number,
    ),
    (
        Signal::ChargeAmps,
        "/charge_state/charger_actual_current",
        Kind::Number,
    ),
    (
        Signal::ChargerPhases,
        "/charge_state/charger_phases",
        Kind::Number,
    ),
    (
        Signal::ChargeLimitSoc,
        "/charge_state/charge_limit_soc",
        Kind::Number,
    ),
    (
        Signal::ChargeLimitSocMin,
        "/charge_state/charge_limit_soc_min",
        Kind::Number,
    ),
    (
        Signal::ChargeLimitSocMax,
        "/charge_state/charge_limit_soc_max",
        Kind::Number,
    ),
    (
        Signal::ChargeCurrentRequest,
        "/charge_state/charge_current_request",
        Kind::Number,
    ),
    (
        Signal::ChargeCurrentRequestMax,
        "/charge_state/charge_current_request_max",
        Kind::Number,
    ),
    (
        Signal::TimeToFullCharge,
        "/charge_state/time_to_full_charge",
        Kind::Number,
    ),
    (
        Signal::ChargePortDoorOpen,
        "/charge_state/charge_port_door_open",
        Kind::Bool,
    ),
    (
        Signal::ChargePortLatch,
        "/charge_state/charge_port_latch",
        Kind::Text,
    ),
    (
        Signal::ChargingCableType,
        "/charge_state/conn_charge_cable",
        Kind::Text,
    ),
    (
        Signal::BatteryHeaterOn,
        "/charge_state/battery_heater_on",
        Kind::Bool,
    ),
    (
        Signal::InsideTemp,
        "/climate_state/inside_temp",
        Kind::Number,
    ),
    (
        Signal::OutsideTemp,
        "/climate_state/outside_temp",
        Kind::Number,
    ),
    (
        Signal::HvacLeftTemperatureRequest,
        "/climate_state/driver_temp_setting",
        Kind::Number,
    ),
    (
        Signal::HvacRightTemperatureRequest,
        "/climate_state/passenger_temp_setting",
        Kind::Number,
    ),
    (
        Signal::MinAvailTemp,
        "/climate_state/min_avail_temp",
        Kind::Number,
    ),
    (
        Signal::MaxAvailTemp,
        "/climate_state/max_avail_temp",
        Kind::Number,
    ),
    (
        Signal::SeatHeaterLeft,
        "/climate_state/seat_heater_left",
        Kind::Number,
    ),
    (
        Signal::SeatHeaterRight,
        "/climate_state/seat_heater_right",
        Kind::Number,
    ),
    (Signal::Odometer, "/vehicle_state/odometer", Kind::Number),
    (Signal::DrivePower, "/drive_state/power", Kind::Number),
    (Signal::Locked, "/vehicle_state/locked", Kind::Bool),
    (Signal::SentryMode, "/vehicle_state/sentry_mode", Kind::Bool),
    (
        Signal::ValetModeEnabled,
        "/vehicle_state/valet_mode",
        Kind::Bool,
    ),
    (
        Signal::DriverSeatOccupied,
        "/vehicle_state/is_user_present",
        Kind::Bool,
    ),
    (Signal::DoorDriverFront, "/vehicle_state/df", Kind::OpenFlag),
    (Signal::DoorDriverRear, "/vehicle_state/dr", Kind::OpenFlag),
    (
        Signal::DoorPassengerFront,
        "/vehicle_state/pf",
        Kind::OpenFlag,
    ),
    (
        Signal::DoorPassengerRear,
        "/vehicle_state/pr",
        Kind::OpenFlag,
    ),
    (Signal::TrunkFront, "/vehicle_state/ft", Kind::OpenFlag),
    (Signal::TrunkRear, "/vehicle_state/rt", Kind::OpenFlag),
    (Signal::FdWindow, "/vehicle_state/fd_window", Kind::Window),
    (Signal::FpWindow, "/vehicle_state/fp_window", Kind::Window),
    (Signal::RdWindow, "/vehicle_state/rd_window", Kind::Window),
    (Signal::RpWindow, "/vehicle_state/rp_window", Kind::Window),
    (
        Signal::TpmsPressureFl,
        "/vehicle_state/tpms_pressure_fl",
        Kind::Number,
    ),
    (
        Signal::TpmsPressureFr,
        "/vehicle_state/tpms_pressure_fr",
        Kind::Number,
    ),
    (
        Signal::TpmsPressureRl,
        "/vehicle_state/tpms_pressure_rl",
        Kind::Number,
    ),
    (
        Signal::TpmsPressureRr,
        "/vehicle_state/tpms_pressure_rr",
        Kind::Number,
    ),
];

/// Blocks read outside [`FIELDS`]: the gear, speed and position (`drive_state`, whose coordinates
/// Tesla sends only when `location_data` is asked for too) and the climate flag.
const EXTRA_BLOCKS: &[&str] = &[
    "climate_state",
    "drive_state",
    "location_data",
    "vehicle_state",
];

/// The `endpoints=` blocks this mapping reads, and so the only ones worth asking Tesla for: every
/// block a row of [`FIELDS`] points into, plus [`EXTRA_BLOCKS`]. `vehicle_config` is among them only
/// while a row reads it.
pub fn endpoints() -> Vec<&'static str> {
    let mut blocks: Vec<&'static str> = FIELDS
        .iter()
        .filter_map(|(_, pointer, _)| {
            let block = pointer.trim_start_matches('/').split_once('/')?.0;
            Some(block)
        })
        .chain(EXTRA_BLOCKS.iter().copied())
        .collect();
    blocks.sort_unstable();
    blocks.dedup();
    blocks
}

/// Maps a `vehicle_data` response to signals. Missing fields are skipped (firmware differs, blocks
/// not asked for); a field Tesla sends as `null` is [`Value::Unknown`] (Home Assistant shows
/// `unknown`, not 0 and not a stale value), except where null itself means something (a parked car
/// has no gear and no speed).
pub fn signals_from_vehicle_data(data: &Json) -> Vec<(Signal, Value)> {
    let mut out = Vec::new();
    for (signal, pointer, kind) in FIELDS {
        let Some(v) = data.pointer(pointer) else {
            continue;
        };
        if v.is_null() {
            out.push((*signal, Value::Unknown));
            continue;
        }
        let value = match kind {
            Kind::Number => number(v),
            Kind::Bool => v.as_bool().map(Value::Bool),
            Kind::Text => v.as_str().map(|s| Value::Text(s.to_string())),
            Kind::OpenFlag => v.as_i64().map(|i| Value::Bool(i != 0)),
            Kind::Window => v
                .as_i64()
                .map(|i| Value::Text(if i == 0 { "Closed" } else { "Opened" }.into())),
        };
        if let Some(value) = value {
            out.push((*signal, value));
        }
    }
    if let Some(on) = data
        .pointer("/climate_state/is_climate_on")
        .and_then(Json::as_bool)
    {
        out.push((
            Signal::HvacPower,
            Value::Text(if on { "On" } else { "Off" }.into()),
        ));
    }
    if let Some(version) = data
        .pointer("/vehicle_state/car_version")
        .and_then(Json::as_str)
    {
        // "2024.44.25.1 abcdef012345" → "2024.44.25.1"
        let version = version.split_whitespace().next().unwrap_or_default();
        if !version.is_empty() {
            out.push((Signal::Version, Value::Text(version.to_string())));
        }
    }
    if let Some(drive) = data.get("drive_state") {
        let gear = drive
            .get("shift_state")
            .and_then(Json::as_str)
            .unwrap_or("P");
        out.push((Signal::Gear, Value::Text(gear.to_string())));
        out.push((
            Signal::VehicleSpeed,
            drive.get("speed").and_then(number).unwrap_or(Value::Int(0)),
        ));
        let lat = drive.get("latitude").and_then(Json::as_f64);
        let lon = drive.get("longitude").and_then(Json::as_f64);
        if let (Some(latitude), Some(longitude)) = (lat, lon) {
            out.push((
                Signal::Location,
                Value::Location {
                    latitude,
                    longitude,
                    heading: drive.get("heading").and_then(Json::as_f64),
                },
            ));
        }
    }
    out
}

fn number(v: &Json) -> Option<Value> {
    v.as_i64()
        .map(Value::Int)
        .or_else(|| v.as_f64().map(Value::Float))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_the_blocks_the_mapping_reads_are_requested() {
        assert_eq!(
            endpoints(),
            [
                "charge_state",
                "climate_state",
                "drive_state",
                "location_data",
                "vehicle_state"
            ]
        );
    }

    #[test]
    fn vehicle_data_maps_to_signals() {
        let data = json!({
            "display_name": "Red Rocket",
            "charge_state": {"battery_level": 64, "battery_range": 198.4, "charging_state": "Charging", "conn_charge_cable": "IEC", "charge_port_door_open": true, "charger_power": null},
            "climate_state": {"inside_temp": 17.4, "is_climate_on": false},
            "drive_state": {"shift_state": null, "speed": null, "latitude": 52.37, "longitude": 4.89, "heading": 271},
            "vehicle_state": {"locked": true, "df": 0, "rt": 1, "fd_window": 2, "car_version": "2024.44.25.1 abcdef012345", "odometer": 15234.56}
        });
        let s: std::collections::BTreeMap<_, _> =
            signals_from_vehicle_data(&data).into_iter().collect();
        assert_eq!(s[&Signal::BatteryLevel], Value::Int(64));
        assert_eq!(s[&Signal::BatteryRange], Value::Float(198.4));
        assert_eq!(
            s[&Signal::DetailedChargeState],
            Value::Text("Charging".into())
        );
        assert_eq!(s[&Signal::Locked], Value::Bool(true));
        assert_eq!(s[&Signal::DoorDriverFront], Value::Bool(false));
        assert_eq!(s[&Signal::TrunkRear], Value::Bool(true));
        assert_eq!(s[&Signal::FdWindow], Value::Text("Opened".into()));
        assert_eq!(s[&Signal::HvacPower], Value::Text("Off".into()));
        assert_eq!(s[&Signal::Version], Value::Text("2024.44.25.1".into()));
        assert_eq!(s[&Signal::Gear], Value::Text("P".into()));
        assert_eq!(s[&Signal::VehicleSpeed], Value::Int(0));
        assert_eq!(
            s[&Signal::Location],
            Value::Location {
                latitude: 52.37,
                longitude: 4.89,
                heading: Some(271.0)
            }
        );
        assert_eq!(
            s[&Signal::ACChargingPower],
            Value::Unknown,
            "null is unknown, not zero"
        );
        assert!(
            !s.contains_key(&Signal::ChargerVoltage),
            "a missing field says nothing"
        );
    }

    #[test]
    fn without_location_data_there_is_no_location_signal() {
        let data = json!({"drive_state": {"shift_state": "D", "speed": 31}});
        let s: std::collections::BTreeMap<_, _> =
            signals_from_vehicle_data(&data).into_iter().collect();
        assert!(!s.contains_key(&Signal::Location));
        assert_eq!(s[&Signal::VehicleSpeed], Value::Int(31));
    }
}
