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
    // Energy into the battery this session (Home Assistant streams it from `DCChargingEnergyIn`,
    // the battery side, for AC and DC sessions alike).
    (
        Signal::DCChargingEnergyIn,
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
    (
        Signal::ChargeRateMilePerHour,
        "/charge_state/charge_rate",
        Kind::Number,
    ),
    (
        Signal::FastChargerType,
        "/charge_state/fast_charger_type",
        Kind::Text,
    ),
    (
        Signal::FastChargerPresent,
        "/charge_state/fast_charger_present",
        Kind::Bool,
    ),
    (
        Signal::ChargeEnableRequest,
        "/charge_state/charge_enable_request",
        Kind::Bool,
    ),
    (
        Signal::PreconditioningEnabled,
        "/charge_state/preconditioning_enabled",
        Kind::Bool,
    ),
    (
        Signal::ScheduledChargingPending,
        "/charge_state/scheduled_charging_pending",
        Kind::Bool,
    ),
    (
        Signal::ScheduledChargingMode,
        "/charge_state/scheduled_charging_mode",
        Kind::Text,
    ),
    (
        Signal::ScheduledChargingStartTime,
        "/charge_state/scheduled_charging_start_time",
        Kind::Number,
    ),
    (
        Signal::ScheduledChargingMinutes,
        "/charge_state/scheduled_charging_start_time_app",
        Kind::Number,
    ),
    (
        Signal::ScheduledDepartureMinutes,
        "/charge_state/scheduled_departure_time_minutes",
        Kind::Number,
    ),
    (
        Signal::TripCharging,
        "/charge_state/trip_charging",
        Kind::Bool,
    ),
    (
        Signal::ChargePortColdWeatherMode,
        "/charge_state/charge_port_cold_weather_mode",
        Kind::Bool,
    ),
    (
        Signal::NotEnoughPowerToHeat,
        "/charge_state/not_enough_power_to_heat",
        Kind::Bool,
    ),
    (
        Signal::SuperchargerSessionTripPlanner,
        "/charge_state/supercharger_session_trip_planner",
        Kind::Bool,
    ),
    (
        Signal::EnergyRemaining,
        "/charge_state/energy_remaining",
        Kind::Number,
    ),
    (
        Signal::IsPreconditioning,
        "/climate_state/is_preconditioning",
        Kind::Bool,
    ),
    (
        Signal::CopActivelyCooling,
        "/climate_state/cabin_overheat_protection_actively_cooling",
        Kind::Bool,
    ),
    (
        Signal::RearDefrostEnabled,
        "/climate_state/is_rear_defroster_on",
        Kind::Bool,
    ),
    (
        Signal::ClimateKeeperMode,
        "/climate_state/climate_keeper_mode",
        Kind::Text,
    ),
    (
        Signal::BioweaponMode,
        "/climate_state/bioweapon_mode",
        Kind::Bool,
    ),
    (
        Signal::CabinOverheatProtectionMode,
        "/climate_state/cabin_overheat_protection",
        Kind::Text,
    ),
    (
        Signal::CabinOverheatProtectionTemperatureLimit,
        "/climate_state/cop_activation_temperature",
        Kind::Text,
    ),
    (
        Signal::DefrostMode,
        "/climate_state/defrost_mode",
        Kind::Number,
    ),
    (
        Signal::SeatHeaterRearLeft,
        "/climate_state/seat_heater_rear_left",
        Kind::Number,
    ),
    (
        Signal::SeatHeaterRearCenter,
        "/climate_state/seat_heater_rear_center",
        Kind::Number,
    ),
    (
        Signal::SeatHeaterRearRight,
        "/climate_state/seat_heater_rear_right",
        Kind::Number,
    ),
    (
        Signal::SeatHeaterThirdRowLeft,
        "/climate_state/seat_heater_third_row_left",
        Kind::Number,
    ),
    (
        Signal::SeatHeaterThirdRowRight,
        "/climate_state/seat_heater_third_row_right",
        Kind::Number,
    ),
    (
        Signal::ClimateSeatCoolingFrontLeft,
        "/climate_state/seat_fan_front_left",
        Kind::Number,
    ),
    (
        Signal::ClimateSeatCoolingFrontRight,
        "/climate_state/seat_fan_front_right",
        Kind::Number,
    ),
    (
        Signal::HvacSteeringWheelHeatLevel,
        "/climate_state/steering_wheel_heat_level",
        Kind::Number,
    ),
    (
        Signal::HvacSteeringWheelHeatAuto,
        "/climate_state/auto_steering_wheel_heat",
        Kind::Bool,
    ),
    (
        Signal::AutoSeatClimateLeft,
        "/climate_state/auto_seat_climate_left",
        Kind::Bool,
    ),
    (
        Signal::AutoSeatClimateRight,
        "/climate_state/auto_seat_climate_right",
        Kind::Bool,
    ),
    (
        Signal::RouteTrafficMinutesDelay,
        "/drive_state/active_route_traffic_minutes_delay",
        Kind::Number,
    ),
    (
        Signal::ExpectedEnergyPercentAtTripArrival,
        "/drive_state/active_route_energy_at_arrival",
        Kind::Number,
    ),
    (
        Signal::MilesToArrival,
        "/drive_state/active_route_miles_to_arrival",
        Kind::Number,
    ),
    (
        Signal::DestinationName,
        "/drive_state/active_route_destination",
        Kind::Text,
    ),
    (
        Signal::DashcamState,
        "/vehicle_state/dashcam_state",
        Kind::Text,
    ),
    (
        Signal::TpmsSoftWarningFl,
        "/vehicle_state/tpms_soft_warning_fl",
        Kind::Bool,
    ),
    (
        Signal::TpmsSoftWarningFr,
        "/vehicle_state/tpms_soft_warning_fr",
        Kind::Bool,
    ),
    (
        Signal::TpmsSoftWarningRl,
        "/vehicle_state/tpms_soft_warning_rl",
        Kind::Bool,
    ),
    (
        Signal::TpmsSoftWarningRr,
        "/vehicle_state/tpms_soft_warning_rr",
        Kind::Bool,
    ),
    (
        Signal::TpmsLastSeenPressureTimeFl,
        "/vehicle_state/tpms_last_seen_pressure_time_fl",
        Kind::Number,
    ),
    (
        Signal::TpmsLastSeenPressureTimeFr,
        "/vehicle_state/tpms_last_seen_pressure_time_fr",
        Kind::Number,
    ),
    (
        Signal::TpmsLastSeenPressureTimeRl,
        "/vehicle_state/tpms_last_seen_pressure_time_rl",
        Kind::Number,
    ),
    (
        Signal::TpmsLastSeenPressureTimeRr,
        "/vehicle_state/tpms_last_seen_pressure_time_rr",
        Kind::Number,
    ),
    (
        Signal::SunRoofPercentOpen,
        "/vehicle_state/sun_roof_percent_open",
        Kind::Number,
    ),
    (
        Signal::SoftwareUpdateStatus,
        "/vehicle_state/software_update/status",
        Kind::Text,
    ),
    (
        Signal::SoftwareUpdateVersion,
        "/vehicle_state/software_update/version",
        Kind::Text,
    ),
    (
        Signal::SoftwareUpdateInstallationPercentComplete,
        "/vehicle_state/software_update/install_perc",
        Kind::Number,
    ),
    (
        Signal::SoftwareUpdateDownloadPercentComplete,
        "/vehicle_state/software_update/download_perc",
        Kind::Number,
    ),
    (
        Signal::HomelinkDeviceCount,
        "/vehicle_state/homelink_device_count",
        Kind::Number,
    ),
    (
        Signal::HomelinkNearby,
        "/vehicle_state/homelink_nearby",
        Kind::Bool,
    ),
    (
        Signal::ServiceMode,
        "/vehicle_state/service_mode",
        Kind::Bool,
    ),
    (
        Signal::RemoteStartEnabled,
        "/vehicle_state/remote_start_enabled",
        Kind::Bool,
    ),
    (
        Signal::RemoteStartActive,
        "/vehicle_state/remote_start",
        Kind::Bool,
    ),
    (
        Signal::SpeedLimitMode,
        "/vehicle_state/speed_limit_mode/active",
        Kind::Bool,
    ),
    (
        Signal::CurrentLimitMph,
        "/vehicle_state/speed_limit_mode/current_limit_mph",
        Kind::Number,
    ),
    (
        Signal::MediaPlaybackStatus,
        "/vehicle_state/media_info/media_playback_status",
        Kind::Text,
    ),
    (
        Signal::MediaAudioVolume,
        "/vehicle_state/media_info/audio_volume",
        Kind::Number,
    ),
    (
        Signal::MediaAudioVolumeMax,
        "/vehicle_state/media_info/audio_volume_max",
        Kind::Number,
    ),
    (
        Signal::MediaAudioVolumeIncrement,
        "/vehicle_state/media_info/audio_volume_increment",
        Kind::Number,
    ),
    (
        Signal::MediaNowPlayingTitle,
        "/vehicle_state/media_info/now_playing_title",
        Kind::Text,
    ),
    (
        Signal::MediaNowPlayingArtist,
        "/vehicle_state/media_info/now_playing_artist",
        Kind::Text,
    ),
    (
        Signal::MediaNowPlayingAlbum,
        "/vehicle_state/media_info/now_playing_album",
        Kind::Text,
    ),
    (
        Signal::MediaNowPlayingStation,
        "/vehicle_state/media_info/now_playing_station",
        Kind::Text,
    ),
    (
        Signal::MediaPlaybackSource,
        "/vehicle_state/media_info/now_playing_source",
        Kind::Text,
    ),
    (
        Signal::MediaNowPlayingDuration,
        "/vehicle_state/media_info/now_playing_duration",
        Kind::Number,
    ),
    (
        Signal::MediaNowPlayingElapsed,
        "/vehicle_state/media_info/now_playing_elapsed",
        Kind::Number,
    ),
    (Signal::CarType, "/vehicle_config/car_type", Kind::Text),
    (Signal::Trim, "/vehicle_config/trim_badging", Kind::Text),
    (
        Signal::ExteriorColor,
        "/vehicle_config/exterior_color",
        Kind::Text,
    ),
    (Signal::RoofColor, "/vehicle_config/roof_color", Kind::Text),
    (Signal::WheelType, "/vehicle_config/wheel_type", Kind::Text),
    (
        Signal::ChargePort,
        "/vehicle_config/charge_port_type",
        Kind::Text,
    ),
    (
        Signal::EfficiencyPackage,
        "/vehicle_config/efficiency_package",
        Kind::Text,
    ),
    (
        Signal::SunroofInstalled,
        "/vehicle_config/sun_roof_installed",
        Kind::Number,
    ),
    (
        Signal::RearSeatHeaters,
        "/vehicle_config/rear_seat_heaters",
        Kind::Number,
    ),
    (
        Signal::ThirdRowSeats,
        "/vehicle_config/third_row_seats",
        Kind::Text,
    ),
    (
        Signal::HasSeatCooling,
        "/vehicle_config/has_seat_cooling",
        Kind::Bool,
    ),
    (
        Signal::CopUserSetTempSupported,
        "/vehicle_config/cop_user_set_temp_supported",
        Kind::Bool,
    ),
    (Signal::RightHandDrive, "/vehicle_config/rhd", Kind::Bool),
    (
        Signal::EuropeVehicle,
        "/vehicle_config/eu_vehicle",
        Kind::Bool,
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
    out.extend(absolute_time(
        data,
        Signal::FullChargeAt,
        "/charge_state/minutes_to_full_charge",
        "/charge_state/timestamp",
    ));
    out.extend(absolute_time(
        data,
        Signal::ArrivalAt,
        "/drive_state/active_route_minutes_to_arrival",
        "/drive_state/timestamp",
    ));
    if let Some(drive) = data.get("drive_state") {
        // Without a route Tesla leaves the route fields out; the minutes to arrival going unknown
        // is what makes every route entity unknown.
        let minutes = drive
            .get("active_route_minutes_to_arrival")
            .and_then(number)
            .unwrap_or(Value::Unknown);
        out.push((Signal::MinutesToArrival, minutes));
        let dest = (
            drive.get("active_route_latitude").and_then(Json::as_f64),
            drive.get("active_route_longitude").and_then(Json::as_f64),
        );
        out.push((
            Signal::DestinationLocation,
            match dest {
                (Some(latitude), Some(longitude)) => Value::Location {
                    latitude,
                    longitude,
                    heading: None,
                },
                _ => Value::Unknown,
            },
        ));
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

/// "In N minutes" as a point in time: the block's own timestamp (ms) plus N minutes, to the
/// minute, so that repeated polls of the same estimate give the same value. 0 or null: unknown.
fn absolute_time(
    data: &Json,
    signal: Signal,
    minutes: &str,
    timestamp: &str,
) -> Option<(Signal, Value)> {
    let minutes = data.pointer(minutes)?;
    let at_ms = data.pointer(timestamp).and_then(Json::as_u64);
    let value = match (minutes.as_f64(), at_ms) {
        (Some(m), Some(ms)) if m > 0.0 => {
            let secs = ms / 1000 + (m * 60.0).round() as u64;
            Value::Int((secs / 60 * 60) as i64)
        }
        _ => Value::Unknown,
    };
    Some((signal, value))
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
                "vehicle_config",
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
