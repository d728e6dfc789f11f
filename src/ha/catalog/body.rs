//! Locks, doors, windows, closures, tyres and security.

use super::types::*;
use crate::vehicle::signal::{Signal, Signals, Value};

const CLOSED: &[&str] = &["Closed"];
const GUEST_MOBILE_ACCESS: &[&str] = &[
    "init",
    "not_authenticated",
    "authenticated",
    "aborted_driving",
    "aborted_using_remote_start",
    "aborted_using_ble_keys",
    "aborted_valet_mode",
    "aborted_guest_mode_off",
    "aborted_drive_auth_time_exceeded",
    "aborted_no_data_received",
    "requesting_from_mothership",
    "requesting_from_auth_d",
    "aborted_fetch_failed",
    "aborted_bad_data_received",
    "showing_qr_code",
    "swiped_away",
    "dismissed_qr_code_expired",
    "succeeded_paired_new_ble_key",
];
const TONNEAU_TENT: &[&str] = &["inactive", "moving", "failed", "active"];
const WINDOWS: [Signal; 4] = [
    Signal::FdWindow,
    Signal::FpWindow,
    Signal::RdWindow,
    Signal::RpWindow,
];

/// Any window open → open; all closed → closed; otherwise unknown.
fn windows(s: &Signals) -> Option<Reading> {
    let states: Vec<Option<&Value>> = WINDOWS.iter().map(|w| s.get(w)).collect();
    if states.iter().all(Option::is_none) {
        return None;
    }
    let open = |v: &&Value| {
        v.as_text()
            .is_some_and(|t| !t.eq_ignore_ascii_case("closed"))
    };
    if states.iter().flatten().any(open) {
        return Some(Reading::Bool(true));
    }
    let all_closed = states.iter().all(|v| {
        v.and_then(Value::as_text)
            .is_some_and(|t| t.eq_ignore_ascii_case("closed"))
    });
    Some(if all_closed {
        Reading::Bool(false)
    } else {
        Reading::Unknown
    })
}

/// Open when any part of it is open.
fn percent_open(signal: Signal, s: &Signals) -> Option<Reading> {
    Some(match s.get(&signal)? {
        Value::Unknown => Reading::Unknown,
        v => Reading::Bool(v.as_f64()? > 0.0),
    })
}

fn sun_roof_open(s: &Signals) -> Option<Reading> {
    percent_open(Signal::SunRoofPercentOpen, s)
}

fn tonneau_open(s: &Signals) -> Option<Reading> {
    percent_open(Signal::TonneauOpenPercent, s)
}
const SENTRY: &[&str] = &["off", "idle", "armed", "aware", "panic", "quiet"];

/// `vehicle_data` says true/false, telemetry names the state (`Off`, `Idle`, `Armed`, ...).
fn sentry_state(s: &Signals) -> Option<Reading> {
    Some(match s.get(&Signal::SentryMode)? {
        Value::Bool(on) => Reading::Text(if *on { "armed" } else { "off" }.into()),
        Value::Text(t) => Reading::Text(t.clone()),
        _ => Reading::Unknown,
    })
}

fn sentry_on(s: &Signals) -> Option<Reading> {
    Some(match s.get(&Signal::SentryMode)? {
        Value::Bool(on) => Reading::Bool(*on),
        Value::Text(t) => Reading::Bool(!t.eq_ignore_ascii_case("off")),
        _ => Reading::Unknown,
    })
}

fn sunroof_installed(s: &Signals) -> Option<Reading> {
    s.get(&Signal::SunroofInstalled)?;
    Some(Reading::Bool(super::has(s, Capability::SunRoof)))
}

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
        Read::Derived(Signal::SentryMode, sentry_on),
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
    sensor(
        "sentry_mode",
        "Sentry mode",
        Read::Derived(Signal::SentryMode, sentry_state),
    )
    .of(Measure::Enum(SENTRY))
    .row(),
    sensor(
        "guest_mode_mobile_access_state",
        "Guest mode mobile access",
        Read::Value(Signal::GuestModeMobileAccessState),
    )
    .of(Measure::Enum(GUEST_MOBILE_ACCESS))
    .diagnostic()
    .disabled()
    .row(),
    sensor(
        "homelink_device_count",
        "Homelink devices",
        Read::Value(Signal::HomelinkDeviceCount),
    )
    .measurement(Measure::None)
    .diagnostic()
    .disabled()
    .decimals(0)
    .row(),
    sensor(
        "paired_phone_key_and_key_fob_qty",
        "Paired phone key and key fob quantity",
        Read::Value(Signal::PairedPhoneKeyAndKeyFobQty),
    )
    .measurement(Measure::None)
    .diagnostic()
    .disabled()
    .decimals(0)
    .row(),
    sensor(
        "tonneau_tent_mode",
        "Tonneau tent mode",
        Read::Value(Signal::TonneauTentMode),
    )
    .of(Measure::Enum(TONNEAU_TENT))
    .diagnostic()
    .disabled()
    .row(),
    sensor(
        "tpms_hard_warnings",
        "Tire pressure hard warnings",
        Read::Value(Signal::TpmsHardWarnings),
    )
    .of(Measure::None)
    .diagnostic()
    .disabled()
    .decimals(0)
    .row(),
    sensor(
        "tpms_soft_warnings",
        "Tire pressure soft warnings",
        Read::Value(Signal::TpmsSoftWarnings),
    )
    .of(Measure::None)
    .diagnostic()
    .disabled()
    .decimals(0)
    .row(),
    sensor(
        "tpms_last_seen_pressure_time_fl",
        "Tire pressure last seen front left",
        Read::Value(Signal::TpmsLastSeenPressureTimeFl),
    )
    .of(Measure::Timestamp)
    .diagnostic()
    .disabled()
    .row(),
    sensor(
        "tpms_last_seen_pressure_time_fr",
        "Tire pressure last seen front right",
        Read::Value(Signal::TpmsLastSeenPressureTimeFr),
    )
    .of(Measure::Timestamp)
    .diagnostic()
    .disabled()
    .row(),
    sensor(
        "tpms_last_seen_pressure_time_rl",
        "Tire pressure last seen rear left",
        Read::Value(Signal::TpmsLastSeenPressureTimeRl),
    )
    .of(Measure::Timestamp)
    .diagnostic()
    .disabled()
    .row(),
    sensor(
        "tpms_last_seen_pressure_time_rr",
        "Tire pressure last seen rear right",
        Read::Value(Signal::TpmsLastSeenPressureTimeRr),
    )
    .of(Measure::Timestamp)
    .diagnostic()
    .disabled()
    .row(),
    sensor("car_type", "Car type", Read::Value(Signal::CarType))
        .of(Measure::None)
        .diagnostic()
        .disabled()
        .row(),
    sensor("trim", "Trim", Read::Value(Signal::Trim))
        .of(Measure::None)
        .diagnostic()
        .disabled()
        .row(),
    sensor(
        "exterior_color",
        "Exterior color",
        Read::Value(Signal::ExteriorColor),
    )
    .of(Measure::None)
    .diagnostic()
    .disabled()
    .row(),
    sensor("roof_color", "Roof color", Read::Value(Signal::RoofColor))
        .of(Measure::None)
        .diagnostic()
        .disabled()
        .row(),
    sensor("wheel_type", "Wheel type", Read::Value(Signal::WheelType))
        .of(Measure::None)
        .diagnostic()
        .disabled()
        .row(),
    sensor(
        "efficiency_package",
        "Efficiency package",
        Read::Value(Signal::EfficiencyPackage),
    )
    .of(Measure::None)
    .diagnostic()
    .disabled()
    .row(),
    sensor(
        "vehicle_name",
        "Vehicle name",
        Read::Value(Signal::VehicleName),
    )
    .of(Measure::None)
    .diagnostic()
    .disabled()
    .row(),
    sensor(
        "setting_distance_unit",
        "Distance unit setting",
        Read::Value(Signal::SettingDistanceUnit),
    )
    .of(Measure::None)
    .diagnostic()
    .disabled()
    .row(),
    sensor(
        "setting_temperature_unit",
        "Temperature unit setting",
        Read::Value(Signal::SettingTemperatureUnit),
    )
    .of(Measure::None)
    .diagnostic()
    .disabled()
    .row(),
    sensor(
        "setting_tire_pressure_unit",
        "Tire pressure unit setting",
        Read::Value(Signal::SettingTirePressureUnit),
    )
    .of(Measure::None)
    .diagnostic()
    .disabled()
    .row(),
    sensor(
        "setting_charge_unit",
        "Charge unit setting",
        Read::Value(Signal::SettingChargeUnit),
    )
    .of(Measure::None)
    .diagnostic()
    .disabled()
    .row(),
    sensor(
        "tonneau_open_percent",
        "Tonneau open",
        Read::Value(Signal::TonneauOpenPercent),
    )
    .measurement(Measure::Plain(Unit::Percent))
    .diagnostic()
    .disabled()
    .decimals(0)
    .requires(Capability::Tonneau)
    .row(),
    sensor(
        "sun_roof_percent_open",
        "Sunroof open",
        Read::Value(Signal::SunRoofPercentOpen),
    )
    .measurement(Measure::Plain(Unit::Percent))
    .diagnostic()
    .disabled()
    .decimals(0)
    .requires(Capability::SunRoof)
    .row(),
    binary(
        "vehicle_state_dashcam_state",
        "Dashcam",
        Read::Is(Signal::DashcamState, &["Recording"]),
    )
    .class(BinaryClass::Running)
    .diagnostic()
    .disabled()
    .row(),
    binary(
        "vehicle_state_tpms_soft_warning_fl",
        "Tire pressure warning front left",
        Read::Value(Signal::TpmsSoftWarningFl),
    )
    .class(BinaryClass::Problem)
    .diagnostic()
    .disabled()
    .row(),
    binary(
        "vehicle_state_tpms_soft_warning_fr",
        "Tire pressure warning front right",
        Read::Value(Signal::TpmsSoftWarningFr),
    )
    .class(BinaryClass::Problem)
    .diagnostic()
    .disabled()
    .row(),
    binary(
        "vehicle_state_tpms_soft_warning_rl",
        "Tire pressure warning rear left",
        Read::Value(Signal::TpmsSoftWarningRl),
    )
    .class(BinaryClass::Problem)
    .diagnostic()
    .disabled()
    .row(),
    binary(
        "vehicle_state_tpms_soft_warning_rr",
        "Tire pressure warning rear right",
        Read::Value(Signal::TpmsSoftWarningRr),
    )
    .class(BinaryClass::Problem)
    .diagnostic()
    .disabled()
    .row(),
    binary(
        "automatic_blind_spot_camera",
        "Automatic blind spot camera",
        Read::Value(Signal::AutomaticBlindSpotCamera),
    )
    .disabled()
    .row(),
    binary(
        "automatic_emergency_braking_off",
        "Automatic emergency braking off",
        Read::Value(Signal::AutomaticEmergencyBrakingOff),
    )
    .disabled()
    .row(),
    binary(
        "blind_spot_collision_warning_chime",
        "Blind spot collision warning chime",
        Read::Value(Signal::BlindSpotCollisionWarningChime),
    )
    .disabled()
    .row(),
    binary(
        "emergency_lane_departure_avoidance",
        "Emergency lane departure avoidance",
        Read::Value(Signal::EmergencyLaneDepartureAvoidance),
    )
    .disabled()
    .row(),
    binary(
        "service_mode",
        "Service mode",
        Read::Value(Signal::ServiceMode),
    )
    .disabled()
    .row(),
    binary(
        "pin_to_drive_enabled",
        "PIN to Drive enabled",
        Read::Value(Signal::PinToDriveEnabled),
    )
    .disabled()
    .row(),
    // Debounced at the source: the telemetry profile streams the belt at most every 30 s.
    binary(
        "driver_seat_belt",
        "Driver seat belt",
        Read::Value(Signal::DriverSeatBelt),
    )
    .class(BinaryClass::Safety)
    .disabled()
    .row(),
    binary(
        "driver_seat_occupied",
        "Driver seat occupied",
        Read::Value(Signal::DriverSeatOccupied),
    )
    .disabled()
    .row(),
    binary(
        "guest_mode_enabled",
        "Guest mode enabled",
        Read::Value(Signal::GuestModeEnabled),
    )
    .disabled()
    .row(),
    binary(
        "offroad_lightbar_present",
        "Offroad lightbar",
        Read::Value(Signal::OffroadLightbarPresent),
    )
    .disabled()
    .row(),
    binary(
        "homelink_nearby",
        "Homelink nearby",
        Read::Value(Signal::HomelinkNearby),
    )
    .disabled()
    .row(),
    binary(
        "europe_vehicle",
        "European vehicle",
        Read::Value(Signal::EuropeVehicle),
    )
    .disabled()
    .row(),
    binary(
        "right_hand_drive",
        "Right-hand drive",
        Read::Value(Signal::RightHandDrive),
    )
    .disabled()
    .row(),
    binary(
        "located_at_home",
        "Located at home",
        Read::Value(Signal::LocatedAtHome),
    )
    .row(),
    binary(
        "located_at_work",
        "Located at work",
        Read::Value(Signal::LocatedAtWork),
    )
    .row(),
    binary(
        "located_at_favorite",
        "Located at favorite",
        Read::Value(Signal::LocatedAtFavorite),
    )
    .disabled()
    .row(),
    binary(
        "lights_hazards_active",
        "Hazard lights",
        Read::Value(Signal::LightsHazardsActive),
    )
    .disabled()
    .row(),
    binary(
        "lights_high_beams",
        "High beams",
        Read::Value(Signal::LightsHighBeams),
    )
    .disabled()
    .row(),
    binary(
        "speed_limit_mode",
        "Speed limited",
        Read::Value(Signal::SpeedLimitMode),
    )
    .disabled()
    .row(),
    binary(
        "remote_start_enabled",
        "Remote start",
        Read::Value(Signal::RemoteStartEnabled),
    )
    .disabled()
    .row(),
    binary(
        "remote_start_active",
        "Keyless driving active",
        Read::Value(Signal::RemoteStartActive),
    )
    .disabled()
    .row(),
    binary(
        "sunroof_installed",
        "Sunroof installed",
        Read::Derived(Signal::SunroofInstalled, sunroof_installed),
    )
    .diagnostic()
    .disabled()
    .row(),
    cover(
        "windows",
        "Windows",
        CoverClass::Window,
        Read::Derived(Signal::FdWindow, windows),
    )
    .open(Call::with("window_control", r#"{"command":"vent"}"#).at_car())
    .close(Call::with("window_control", r#"{"command":"close"}"#).at_car())
    .row(),
    // STOP goes over REST only (the command protocol has no such action); every car with a sunroof
    // is a pre-2021 Model S or X, which takes REST commands.
    cover(
        "vehicle_state_sun_roof_state",
        "Sunroof",
        CoverClass::Window,
        Read::Derived(Signal::SunRoofPercentOpen, sun_roof_open),
    )
    .open(Call::with("sun_roof_control", r#"{"state":"vent"}"#))
    .close(Call::with("sun_roof_control", r#"{"state":"close"}"#))
    .stop(Call::with("sun_roof_control", r#"{"state":"stop"}"#))
    .requires(Capability::SunRoof)
    .disabled()
    .row(),
    cover(
        "tonneau",
        "Tonneau",
        CoverClass::Door,
        Read::Derived(Signal::TonneauOpenPercent, tonneau_open),
    )
    .open(Call::new("open_tonneau"))
    .close(Call::new("close_tonneau"))
    .stop(Call::new("stop_tonneau"))
    .requires(Capability::Tonneau)
    .row(),
    lock(
        "charge_state_charge_port_latch",
        "Charge cable lock",
        Read::Is(Signal::ChargePortLatch, &["Engaged"]),
        LockAction::Refuse("the charge cable locks by itself when it is plugged in"),
        LockAction::Send(Call::new("charge_port_door_open")),
    )
    .icon("mdi:ev-plug-type2")
    .row(),
    switch(
        "vehicle_state_valet_mode",
        "Valet mode",
        Read::Value(Signal::ValetModeEnabled),
        Call::with("set_valet_mode", r#"{"on":true}"#),
        Call::with("set_valet_mode", r#"{"on":false}"#),
    )
    .row(),
    switch(
        "guest_mode_enabled",
        "Guest mode",
        Read::Value(Signal::GuestModeEnabled),
        Call::with("guest_mode", r#"{"enable":true}"#),
        Call::with("guest_mode", r#"{"enable":false}"#),
    )
    .id("switch_guest_mode_enabled")
    .row(),
    button(
        "enable_keyless_driving",
        "Keyless driving",
        Call::new("remote_start_drive"),
    )
    .icon("mdi:car-key")
    .row(),
    button(
        "boombox",
        "Play fart",
        Call::with("remote_boombox", r#"{"sound":0}"#),
    )
    .icon("mdi:volume-high")
    .row(),
    button(
        "homelink",
        "Homelink",
        Call::new("trigger_homelink").at_car(),
    )
    .icon("mdi:garage")
    .row(),
    button(
        "enable_keep_accessory_power_mode",
        "Keep accessory power on",
        Call::with("keep_accessory_power_mode", r#"{"enable":true}"#),
    )
    .disabled()
    .row(),
    button(
        "disable_keep_accessory_power_mode",
        "Keep accessory power off",
        Call::with("keep_accessory_power_mode", r#"{"enable":false}"#),
    )
    .disabled()
    .row(),
];
