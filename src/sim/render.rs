//! `sim::render`: a simulated car as Tesla's JSON — the vehicle object (fleet-api.md §3.3), the
//! `vehicle_data` blocks (§3.5) — and as the control API's state view.
//!
//! Pure functions of a settled [`Car`]; units follow Tesla's (miles, mph, °C, bar, kW, ms timestamps in
//! blocks, seconds for `gps_as_of`), whatever the GUI settings say.

use std::time::SystemTime;

use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use super::car::{
    unix_secs, Car, ChargingState, Timing, CHARGER_PHASES, CHARGER_PILOT_AMPS, CHARGER_VOLTS,
    CHARGE_AMPS_MAX, CHARGE_LIMIT_MAX, CHARGE_LIMIT_MIN, CHARGE_LIMIT_STD, DRIVE_SPEED_MPH,
    MAX_TEMP_C, MIN_TEMP_C,
};
use super::SimState;

/// A `vehicle_data` `endpoints` value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    ChargeState,
    ClimateState,
    ClosuresState,
    DriveState,
    GuiSettings,
    LocationData,
    VehicleConfig,
    VehicleState,
    VehicleDataCombo,
    ChargeScheduleData,
    PreconditioningScheduleData,
}

const ENDPOINTS: [(&str, Endpoint); 11] = [
    ("charge_state", Endpoint::ChargeState),
    ("climate_state", Endpoint::ClimateState),
    ("closures_state", Endpoint::ClosuresState),
    ("drive_state", Endpoint::DriveState),
    ("gui_settings", Endpoint::GuiSettings),
    ("location_data", Endpoint::LocationData),
    ("vehicle_config", Endpoint::VehicleConfig),
    ("vehicle_state", Endpoint::VehicleState),
    ("vehicle_data_combo", Endpoint::VehicleDataCombo),
    ("charge_schedule_data", Endpoint::ChargeScheduleData),
    (
        "preconditioning_schedule_data",
        Endpoint::PreconditioningScheduleData,
    ),
];

/// What `vehicle_data` returns without `endpoints`: the classic blocks, location excluded since
/// firmware 2023.38.
pub const DEFAULT_ENDPOINTS: [Endpoint; 6] = [
    Endpoint::ChargeState,
    Endpoint::ClimateState,
    Endpoint::DriveState,
    Endpoint::GuiSettings,
    Endpoint::VehicleConfig,
    Endpoint::VehicleState,
];

impl Endpoint {
    pub fn parse(name: &str) -> Option<Endpoint> {
        ENDPOINTS.iter().find(|(n, _)| *n == name).map(|(_, e)| *e)
    }
}

impl SimState {
    pub fn as_str(self) -> &'static str {
        match self {
            SimState::Online => "online",
            SimState::Asleep => "asleep",
            SimState::Offline => "offline",
        }
    }
}

fn round(x: f64, decimals: i32) -> f64 {
    let f = 10f64.powi(decimals);
    (x * f).round() / f
}

fn millis(t: SystemTime) -> u64 {
    t.duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis() as u64
}

/// The vehicle object of the list, `GET vehicle` and `wake_up` responses.
pub fn vehicle_object(car: &Car) -> Value {
    // Stable per-car "tokens", derived from the VIN.
    let digest = hex::encode(Sha256::digest(car.vin.as_bytes()));
    json!({
        "id": car.id,
        "vehicle_id": car.vehicle_id,
        "vin": car.vin,
        "color": null,
        "access_type": "OWNER",
        "display_name": car.display_name,
        "option_codes": null,
        "cached_data": null,
        "granular_access": { "hide_private": false },
        "tokens": [&digest[..16], &digest[16..32]],
        "state": car.state().as_str(),
        "in_service": false,
        "id_s": car.id.to_string(),
        "calendar_enabled": true,
        "api_version": 81,
        "backseat_token": null,
        "backseat_token_updated_at": null,
        "ble_autopair_enrolled": false,
        "command_signing": car.spec.command_signing,
        "mobile_access_disabled": false,
        "release_notes_supported": true,
    })
}

/// The `vehicle_data` response: the vehicle object plus the requested blocks. `location_data` adds
/// the location fields to `drive_state` (and implies `drive_state`).
pub fn vehicle_data(car: &Car, endpoints: &[Endpoint], now: SystemTime) -> Value {
    let ts = millis(now);
    let has = |e: Endpoint| endpoints.contains(&e);
    let location = has(Endpoint::LocationData);
    let mut obj = match vehicle_object(car) {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    obj.insert("user_id".into(), json!(800_001));
    let mut put = |key: &str, wanted: bool, block: fn(&Car, u64) -> Value| {
        if wanted {
            obj.insert(key.into(), block(car, ts));
        }
    };
    put("charge_state", has(Endpoint::ChargeState), charge_state);
    put("climate_state", has(Endpoint::ClimateState), climate_state);
    put(
        "closures_state",
        has(Endpoint::ClosuresState),
        closures_state,
    );
    put("gui_settings", has(Endpoint::GuiSettings), gui_settings);
    put(
        "vehicle_config",
        has(Endpoint::VehicleConfig),
        vehicle_config,
    );
    put("vehicle_state", has(Endpoint::VehicleState), vehicle_state);
    put(
        "charge_schedule_data",
        has(Endpoint::ChargeScheduleData),
        |_, ts| json!({ "charge_schedules": [], "timestamp": ts }),
    );
    put(
        "preconditioning_schedule_data",
        has(Endpoint::PreconditioningScheduleData),
        |_, ts| json!({ "precondition_schedules": [], "timestamp": ts }),
    );
    if has(Endpoint::DriveState) || location {
        obj.insert("drive_state".into(), drive_state(car, ts, location));
    }
    Value::Object(obj)
}

/// Joins two JSON objects (`json!` hits the macro recursion limit on Tesla-sized blocks).
fn merge(mut a: Value, b: Value) -> Value {
    if let (Some(a), Value::Object(b)) = (a.as_object_mut(), b) {
        a.extend(b);
    }
    a
}

/// Miles of rated range per kWh of battery.
fn miles_per_kwh(car: &Car) -> f64 {
    car.spec.rated_range_mi / car.spec.capacity_kwh
}

fn charge_state(car: &Car, ts: u64) -> Value {
    let plugged = car.plugged_in();
    let charging = car.charging == ChargingState::Charging;
    let power_kw = car.charger_power_kw();
    let range = car.range_mi();
    let minutes_to_full = if charging && power_kw > 0.0 {
        let missing_kwh =
            (f64::from(car.charge_limit) - car.soc).max(0.0) / 100.0 * car.spec.capacity_kwh;
        (missing_kwh / power_kw * 60.0).ceil() as u64
    } else {
        0
    };
    let level = car.battery_level();
    let when_plugged = |v: Value| if plugged { v } else { Value::Null };
    let head = json!({
        "battery_heater_on": false,
        "battery_level": level,
        "usable_battery_level": level.saturating_sub(1),
        "battery_range": round(range, 2),
        "est_battery_range": round(range * 0.87, 2),
        "ideal_battery_range": round(range, 2),
        "charge_amps": car.charge_amps,
        "charge_current_request": car.charge_amps,
        "charge_current_request_max": CHARGE_AMPS_MAX,
        "charge_enable_request": car.charging != ChargingState::Stopped,
        "charge_energy_added": round(car.energy_added_kwh, 2),
        "charge_limit_soc": car.charge_limit,
        "charge_limit_soc_max": CHARGE_LIMIT_MAX,
        "charge_limit_soc_min": CHARGE_LIMIT_MIN,
        "charge_limit_soc_std": CHARGE_LIMIT_STD,
        "charge_miles_added_ideal": round(car.energy_added_kwh * miles_per_kwh(car), 1),
        "charge_miles_added_rated": round(car.energy_added_kwh * miles_per_kwh(car), 1),
        "charge_port_cold_weather_mode": false,
        "charge_port_color": if charging { "Green" } else { "<invalid>" },
        "charge_port_door_open": car.charge_port_door_open,
        "charge_port_latch": if plugged || !car.charge_port_door_open { "Engaged" } else { "Disengaged" },
        "charge_rate": round(power_kw * miles_per_kwh(car), 1),
        "charger_actual_current": car.charger_amps(),
        "charger_phases": when_plugged(json!(CHARGER_PHASES as u8)),
        "charger_pilot_current": when_plugged(json!(CHARGER_PILOT_AMPS)),
        "charger_power": power_kw.round() as u64,
        "charger_voltage": if charging { CHARGER_VOLTS as u64 } else { 0 },
        "charging_state": car.charging.as_str(),
        "conn_charge_cable": if plugged { "IEC" } else { "<invalid>" },
        "energy_remaining": round(car.soc / 100.0 * car.spec.capacity_kwh, 2),
        "fast_charger_brand": "<invalid>",
        "fast_charger_present": false,
        "fast_charger_type": if plugged { "ACSingleWireCAN" } else { "<invalid>" },
    });
    let rest = json!({
        "managed_charging_active": false,
        "managed_charging_start_time": null,
        "managed_charging_user_canceled": false,
        "max_range_charge_counter": 0,
        "minutes_to_full_charge": minutes_to_full,
        "not_enough_power_to_heat": null,
        "off_peak_charging_enabled": false,
        "off_peak_charging_times": "all_week",
        "off_peak_hours_end_time": 360,
        "preconditioning_enabled": car.scheduled_departure.0,
        "preconditioning_times": "all_week",
        "scheduled_charging_mode": scheduled_charging_mode(car),
        "scheduled_charging_pending": car.scheduled_charging.0 && plugged && !charging,
        "scheduled_charging_start_time": null,
        "scheduled_charging_start_time_app": car.scheduled_charging.1,
        "scheduled_departure_time_minutes": car.scheduled_departure.1,
        "supercharger_session_trip_planner": false,
        "time_to_full_charge": round(minutes_to_full as f64 / 60.0, 2),
        "trip_charging": false,
        "user_charge_enable_request": null,
        "timestamp": ts,
    });
    merge(head, rest)
}

/// `Off`, `StartAt` (scheduled charging) or `DepartBy` (scheduled departure), as Tesla reports it.
fn scheduled_charging_mode(car: &Car) -> &'static str {
    match (car.scheduled_charging.0, car.scheduled_departure.0) {
        (true, _) => "StartAt",
        (false, true) => "DepartBy",
        (false, false) => "Off",
    }
}

fn climate_state(car: &Car, ts: u64) -> Value {
    let [fl, fr, rl, rc, rr] = car.seat_heaters;
    let mut block = json!({
        "allow_cabin_overheat_protection": true,
        "auto_seat_climate_left": car.auto_seat_climate[0],
        "auto_seat_climate_right": car.auto_seat_climate[1],
        "auto_steering_wheel_heat": car.auto_steering_wheel_heat,
        "battery_heater": false,
        "battery_heater_no_power": null,
        "bioweapon_mode": car.bioweapon_mode,
        "cabin_overheat_protection": car.cabin_overheat_protection,
        "cabin_overheat_protection_actively_cooling": false,
        "climate_keeper_mode": car.climate_keeper,
        "cop_activation_temperature": car.cop_temperature,
        "defrost_mode": if car.defrost { 2 } else { 0 },
        "driver_temp_setting": car.driver_temp,
        "passenger_temp_setting": car.passenger_temp,
        "fan_status": if car.climate_on { 4 } else { 0 },
        "hvac_auto_request": "On",
        "inside_temp": round(car.inside_temp, 1),
        "outside_temp": round(car.outside_temp, 1),
        "is_auto_conditioning_on": car.climate_on,
        "is_climate_on": car.climate_on,
        "is_front_defroster_on": car.defrost,
        "is_preconditioning": car.climate_on && !car.driving,
        "is_rear_defroster_on": car.defrost,
        "left_temp_direction": 0,
        "right_temp_direction": 0,
        "max_avail_temp": MAX_TEMP_C,
        "min_avail_temp": MIN_TEMP_C,
        "remote_heater_control_enabled": car.climate_on,
        "seat_heater_left": fl,
        "seat_heater_right": fr,
        "seat_heater_rear_left": rl,
        "seat_heater_rear_center": rc,
        "seat_heater_rear_right": rr,
        "side_mirror_heaters": false,
        "steering_wheel_heat_level": car.steering_wheel_heat_level,
        "steering_wheel_heater": car.steering_wheel_heater,
        "supports_fan_only_cabin_overheat_protection": true,
        "wiper_blade_heater": false,
        "timestamp": ts,
    });
    // Equipment-dependent fields exist only on cars that have the equipment.
    if let Some(b) = block.as_object_mut() {
        if car.spec.has_seat_cooling {
            b.insert("seat_fan_front_left".into(), json!(car.seat_coolers[0]));
            b.insert("seat_fan_front_right".into(), json!(car.seat_coolers[1]));
        }
        if car.spec.third_row_seats != "None" {
            b.insert(
                "seat_heater_third_row_left".into(),
                json!(car.third_row_heaters[0]),
            );
            b.insert(
                "seat_heater_third_row_right".into(),
                json!(car.third_row_heaters[1]),
            );
        }
    }
    block
}

fn drive_state(car: &Car, ts: u64, location: bool) -> Value {
    let power = if car.driving {
        car.spec.drive_kw.round() as i64
    } else {
        -(car.charger_power_kw().round() as i64)
    };
    let mut block = json!({
        "active_route_traffic_minutes_delay": 0.0,
        "power": power,
        "shift_state": if car.driving { json!("D") } else { Value::Null },
        "speed": if car.driving { json!(DRIVE_SPEED_MPH as u64) } else { Value::Null },
        "timestamp": ts,
    });
    if location {
        let lat = round(car.latitude, 6);
        let lon = round(car.longitude, 6);
        let extra = json!({
            "gps_as_of": unix_secs(car.gps_as_of),
            "heading": car.heading.round() as u64 % 360,
            "latitude": lat,
            "longitude": lon,
            "native_latitude": lat,
            "native_longitude": lon,
            "native_location_supported": 1,
            "native_type": "wgs",
        });
        block = merge(block, extra);
    }
    block
}

fn gui_settings(_: &Car, ts: u64) -> Value {
    json!({
        "gui_24_hour_time": true,
        "gui_charge_rate_units": "kW",
        "gui_distance_units": "km/hr",
        "gui_range_display": "Rated",
        "gui_temperature_units": "C",
        "gui_tirepressure_units": "Bar",
        "show_range_units": false,
        "timestamp": ts,
    })
}

fn vehicle_config(car: &Car, ts: u64) -> Value {
    let modern = car.spec.year >= 2021;
    json!({
        "car_type": car.spec.car_type,
        "trim_badging": car.spec.trim_badging,
        "exterior_color": car.spec.exterior_color,
        "wheel_type": car.spec.wheel_type,
        "charge_port_type": car.spec.charge_port_type,
        "eu_vehicle": true,
        "rhd": false,
        "motorized_charge_port": true,
        "can_accept_navigation_requests": true,
        "can_actuate_trunks": true,
        "has_seat_cooling": car.spec.has_seat_cooling,
        "rear_seat_heaters": car.spec.rear_seat_heaters,
        "sun_roof_installed": if car.spec.has_sun_roof { json!(2) } else { Value::Null },
        "third_row_seats": car.spec.third_row_seats,
        "plg": true,
        "pws": modern,
        "driver_assist": car.spec.driver_assist,
        "key_version": 2,
        "utc_offset": 3600,
        "cop_user_set_temp_supported": car.spec.cop_user_set_temp,
        "webcam_supported": modern,
        "timestamp": ts,
    })
}

fn closures_state(car: &Car, ts: u64) -> Value {
    let [fd, fp, rd, rp] = car.windows;
    json!({
        "df": 0, "dr": 0, "pf": 0, "pr": 0,
        "ft": car.frunk, "rt": car.trunk,
        "fd_window": fd, "fp_window": fp, "rd_window": rd, "rp_window": rp,
        "locked": car.locked,
        "is_user_present": car.driving,
        "timestamp": ts,
    })
}

fn vehicle_state(car: &Car, ts: u64) -> Value {
    let [fd, fp, rd, rp] = car.windows;
    let [tfl, tfr, trl, trr] = car.spec.tpms_bar;
    let seen = unix_secs(car.seg_at);
    let head = json!({
        "api_version": 81,
        "car_version": car.spec.car_version,
        "locked": car.locked,
        "is_user_present": car.driving,
        "sentry_mode": car.sentry_mode,
        "sentry_mode_available": true,
        "valet_mode": car.valet_mode,
        "valet_pin_needed": false,
        "remote_start": car.remote_start,
        "remote_start_enabled": true,
        "remote_start_supported": true,
        "service_mode": false,
        "service_mode_plus": false,
        "df": 0, "dr": 0, "pf": 0, "pr": 0,
        "ft": car.frunk, "rt": car.trunk,
        "fd_window": fd, "fp_window": fp, "rd_window": rd, "rp_window": rp,
        "odometer": round(car.odometer, 6),
        "vehicle_name": car.display_name,
        "center_display_state": if car.driving { 2 } else { 0 },
        "dashcam_state": if car.driving || car.sentry_mode { "Recording" } else { "Unavailable" },
        "dashcam_clip_save_available": car.driving || car.sentry_mode,
        "homelink_device_count": 1,
        "homelink_nearby": false,
        "notifications_supported": true,
        "parsed_calendar_supported": true,
        "santa_mode": 0,
        "feature_bitmask": "fbdffbff,187f",
    });
    let rest = json!({
        "media_info": {
            "media_playback_status": car.media.status,
            "audio_volume": car.audio_volume,
            "audio_volume_increment": 0.333_333,
            "audio_volume_max": 10.333_333,
            "now_playing_source": car.media.source,
            "now_playing_title": car.media.title,
            "now_playing_artist": car.media.artist,
            "now_playing_album": car.media.album,
            "now_playing_station": "",
            "now_playing_duration": car.media.duration_ms,
            "now_playing_elapsed": car.media.elapsed_ms,
            "a2dp_source_name": "",
        },
        "media_state": { "remote_control_enabled": true },
        "software_update": {
            "status": car.software_update,
            "version": car.spec.available_update.unwrap_or(" "),
            "download_perc": if car.software_update.is_empty() { 0 } else { 100 },
            "install_perc": car.install_percent,
            "expected_duration_sec": 2700,
        },
        "speed_limit_mode": {
            "active": false,
            "current_limit_mph": 85,
            "max_limit_mph": 120,
            "min_limit_mph": 50,
            "pin_code_set": false,
        },
        "tpms_pressure_fl": tfl, "tpms_pressure_fr": tfr,
        "tpms_pressure_rl": trl, "tpms_pressure_rr": trr,
        "tpms_rcp_front_value": 2.9, "tpms_rcp_rear_value": 2.9,
        "tpms_hard_warning_fl": false, "tpms_hard_warning_fr": false,
        "tpms_hard_warning_rl": false, "tpms_hard_warning_rr": false,
        "tpms_soft_warning_fl": false, "tpms_soft_warning_fr": false,
        "tpms_soft_warning_rl": false, "tpms_soft_warning_rr": false,
        "tpms_last_seen_pressure_time_fl": seen, "tpms_last_seen_pressure_time_fr": seen,
        "tpms_last_seen_pressure_time_rl": seen, "tpms_last_seen_pressure_time_rr": seen,
        "timestamp": ts,
    });
    let mut block = merge(head, rest);
    if car.spec.has_sun_roof {
        if let Some(b) = block.as_object_mut() {
            let state = if car.sun_roof_percent == 0 {
                "closed"
            } else {
                "vent"
            };
            b.insert("sun_roof_percent_open".into(), json!(car.sun_roof_percent));
            b.insert("sun_roof_state".into(), json!(state));
        }
    }
    block
}

/// The control API's view (`GET /sim/vehicles/{vin}`): the facts tests assert on, flat, plus every
/// `vehicle_data` block with location under `vehicle_data`.
pub fn sim_view(car: &Car, now: SystemTime, timing: &Timing) -> Value {
    let waking_until = match car.power {
        super::car::Power::Waking { ready_at } => json!(unix_secs(ready_at)),
        _ => Value::Null,
    };
    let all: Vec<Endpoint> = ENDPOINTS.iter().map(|(_, e)| *e).collect();
    let view = json!({
        "vin": car.vin,
        "display_name": car.display_name,
        "model": car.spec.model,
        "year": car.spec.year,
        "command_signing": car.spec.command_signing,
        "state": car.state().as_str(),
        "waking_until": waking_until,
        "last_active": unix_secs(car.last_active),
        "sleeps_at": car.sleep_due(timing).map(unix_secs),
        "driving": car.driving,
        "locked": car.locked,
        "sentry_mode": car.sentry_mode,
        "battery_level": car.battery_level(),
        "battery_range": round(car.range_mi(), 2),
        "charging_state": car.charging.as_str(),
        "plugged_in": car.plugged_in(),
        "charge_limit_soc": car.charge_limit,
        "charge_current_request": car.charge_amps,
        "charger_power": car.charger_power_kw().round() as u64,
        "charge_energy_added": round(car.energy_added_kwh, 2),
        "charge_port_door_open": car.charge_port_door_open,
        "is_climate_on": car.climate_on,
        "inside_temp": round(car.inside_temp, 1),
        "outside_temp": round(car.outside_temp, 1),
        "driver_temp_setting": car.driver_temp,
        "passenger_temp_setting": car.passenger_temp,
        "odometer": round(car.odometer, 6),
        "latitude": round(car.latitude, 6),
        "longitude": round(car.longitude, 6),
        "heading": car.heading.round() as u64 % 360,
        "vehicle_data": vehicle_data(car, &all, now),
    });
    // Settings as commands set them (REST numbering; a disabled schedule is null).
    let enabled = |(on, minutes): (bool, u16)| on.then_some(minutes);
    let cop_temp = ["Low", "Medium", "High"]
        .iter()
        .position(|l| *l == car.cop_temperature);
    let settings = json!({
        "steering_wheel_heat_level": car.steering_wheel_heat_level,
        "auto_seat_climate": car.auto_seat_climate,
        "auto_steering_wheel_heat": car.auto_steering_wheel_heat,
        "cop_temp": cop_temp,
        "guest_mode": car.guest_mode,
        "keep_accessory_power": car.keep_accessory_power,
        "charge_on_solar": {
            "enabled": car.charge_on_solar.0,
            "lower_charge_limit": car.charge_on_solar.1,
            "upper_charge_limit": car.charge_on_solar.2,
        },
        "scheduled_charging_start": enabled(car.scheduled_charging),
        "scheduled_departure": enabled(car.scheduled_departure),
    });
    let equipment = json!({
        "seat_heaters": car.seat_heaters,
        "seat_coolers": car.seat_coolers,
        "steering_wheel_heater": car.steering_wheel_heater,
        "climate_keeper_mode": car.climate_keeper,
        "bioweapon_mode": car.bioweapon_mode,
        "cabin_overheat_protection": car.cabin_overheat_protection,
        "defrost": car.defrost,
        "valet_mode": car.valet_mode,
        "windows": car.windows,
        "sun_roof_percent_open": car.sun_roof_percent,
        "frunk": car.frunk,
        "trunk": car.trunk,
        "audio_volume": car.audio_volume,
        "software_update": car.software_update,
        "remote_start": car.remote_start,
    });
    merge(merge(view, equipment), settings)
}
