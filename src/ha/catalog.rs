//! `ha::catalog`: every Home Assistant entity TeslaSync offers, as one row of data each.
//!
//! Discovery payloads, state topics and the parsing of `/set` payloads are all generated from this
//! table; adding an entity means adding a row. Keys follow Home Assistant's `tesla_fleet` integration
//! (`charge_state_battery_level`, ...) so users migrating from it keep their names. Values stay in
//! Tesla's native units (miles, °C, bar, kW) with the matching `unit_of_measurement`; Home Assistant
//! converts for display.

use serde_json::{json, Value as Json};

use crate::vehicle::command::{Command, Trunk};
use crate::vehicle::signal::{Signal, Signals, Value};

/// Home Assistant entity platforms TeslaSync publishes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Platform {
    Sensor,
    BinarySensor,
    DeviceTracker,
    Lock,
    Switch,
    Number,
    Button,
    Cover,
    Select,
}

impl Platform {
    pub fn as_str(self) -> &'static str {
        match self {
            Platform::Sensor => "sensor",
            Platform::BinarySensor => "binary_sensor",
            Platform::DeviceTracker => "device_tracker",
            Platform::Lock => "lock",
            Platform::Switch => "switch",
            Platform::Number => "number",
            Platform::Button => "button",
            Platform::Cover => "cover",
            Platform::Select => "select",
        }
    }
}

/// Home Assistant's entity categories.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Category {
    Diagnostic,
    Config,
}

/// Bounds of a number entity; they come from the car (e.g. the charger's maximum current).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Range {
    pub min: f64,
    pub max: f64,
    pub step: f64,
}

/// A `/set` payload Home Assistant (or a user) sent that this entity cannot act on.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct PayloadError(pub String);

/// Computes the state text from the car's signals; `None` = nothing to publish yet.
pub type StateFn = fn(&Signals) -> Option<String>;
/// Turns a `/set` payload into a command.
pub type CommandFn = fn(&str, &Signals) -> Result<Command, PayloadError>;

/// One entity.
#[derive(Debug, Clone, Copy)]
pub struct EntityDesc {
    /// Unique per vehicle; the MQTT topic segment and the `unique_id` suffix.
    pub key: &'static str,
    pub platform: Platform,
    /// Entity name without the car's name (Home Assistant prefixes the device name).
    pub name: &'static str,
    pub device_class: Option<&'static str>,
    pub state_class: Option<&'static str>,
    pub unit: Option<&'static str>,
    pub precision: Option<u8>,
    pub category: Option<Category>,
    /// Created enabled in Home Assistant; noisy or niche entities start disabled.
    pub enabled: bool,
    pub icon: Option<&'static str>,
    /// Allowed states for enum sensors and options for selects.
    pub options: &'static [&'static str],
    pub state: Option<StateFn>,
    /// JSON attributes (device tracker coordinates).
    pub attributes: Option<fn(&Signals) -> Option<Json>>,
    pub range: Option<fn(&Signals) -> Range>,
    pub command: Option<CommandFn>,
}

const BASE: EntityDesc = EntityDesc {
    key: "",
    platform: Platform::Sensor,
    name: "",
    device_class: None,
    state_class: None,
    unit: None,
    precision: None,
    category: None,
    enabled: true,
    icon: None,
    options: &[],
    state: None,
    attributes: None,
    range: None,
    command: None,
};

const DIAG: Option<Category> = Some(Category::Diagnostic);
const CHARGING_OPTIONS: &[&str] = &[
    "starting",
    "charging",
    "stopped",
    "complete",
    "disconnected",
    "no_power",
];
const GEAR_OPTIONS: &[&str] = &["p", "d", "r", "n"];
const SEAT_HEATER_OPTIONS: &[&str] = &["off", "low", "medium", "high"];

/// The catalog. Order is the order entities appear in discovery.
pub static CATALOG: &[EntityDesc] = &[
    // ── Battery and charging ────────────────────────────────────────────────────────────────
    EntityDesc {
        key: "charge_state_battery_level",
        name: "Battery level",
        device_class: Some("battery"),
        state_class: Some("measurement"),
        unit: Some("%"),
        state: Some(|s| number(s, Signal::BatteryLevel, 0)),
        ..BASE
    },
    EntityDesc {
        key: "charge_state_usable_battery_level",
        name: "Usable battery level",
        device_class: Some("battery"),
        state_class: Some("measurement"),
        unit: Some("%"),
        enabled: false,
        state: Some(|s| number(s, Signal::Soc, 0)),
        ..BASE
    },
    EntityDesc {
        key: "charge_state_charging_state",
        name: "Charging",
        device_class: Some("enum"),
        options: CHARGING_OPTIONS,
        icon: Some("mdi:ev-station"),
        state: Some(|s| text(s, Signal::DetailedChargeState).map(snake_case)),
        ..BASE
    },
    EntityDesc {
        key: "charge_state_battery_range",
        name: "Battery range",
        device_class: Some("distance"),
        state_class: Some("measurement"),
        unit: Some("mi"),
        precision: Some(0),
        state: Some(|s| number(s, Signal::BatteryRange, 1)),
        ..BASE
    },
    EntityDesc {
        key: "charge_state_est_battery_range",
        name: "Estimate battery range",
        device_class: Some("distance"),
        state_class: Some("measurement"),
        unit: Some("mi"),
        precision: Some(0),
        enabled: false,
        state: Some(|s| number(s, Signal::EstBatteryRange, 1)),
        ..BASE
    },
    EntityDesc {
        key: "charge_state_charger_power",
        name: "Charger power",
        device_class: Some("power"),
        state_class: Some("measurement"),
        unit: Some("kW"),
        state: Some(|s| number(s, Signal::ACChargingPower, 1)),
        ..BASE
    },
    EntityDesc {
        key: "charge_state_charger_voltage",
        name: "Charger voltage",
        device_class: Some("voltage"),
        state_class: Some("measurement"),
        unit: Some("V"),
        category: DIAG,
        state: Some(|s| number(s, Signal::ChargerVoltage, 0)),
        ..BASE
    },
    EntityDesc {
        key: "charge_state_charger_actual_current",
        name: "Charger current",
        device_class: Some("current"),
        state_class: Some("measurement"),
        unit: Some("A"),
        category: DIAG,
        state: Some(|s| number(s, Signal::ChargeAmps, 0)),
        ..BASE
    },
    EntityDesc {
        key: "charge_state_charge_energy_added",
        name: "Charge energy added",
        device_class: Some("energy"),
        state_class: Some("total_increasing"),
        unit: Some("kWh"),
        precision: Some(1),
        state: Some(|s| number(s, Signal::ACChargingEnergyIn, 2)),
        ..BASE
    },
    EntityDesc {
        key: "charge_state_conn_charge_cable",
        platform: Platform::BinarySensor,
        name: "Charge cable",
        device_class: Some("connectivity"),
        category: DIAG,
        state: Some(|s| {
            text(s, Signal::ChargingCableType).map(|c| on_off(!c.is_empty() && c != "<invalid>"))
        }),
        ..BASE
    },
    EntityDesc {
        key: "charge_state_battery_heater_on",
        platform: Platform::BinarySensor,
        name: "Battery heater",
        device_class: Some("heat"),
        category: DIAG,
        enabled: false,
        state: Some(|s| flag(s, Signal::BatteryHeaterOn)),
        ..BASE
    },
    EntityDesc {
        key: "charge_state_user_charge_enable_request",
        platform: Platform::Switch,
        name: "Charge",
        device_class: Some("switch"),
        icon: Some("mdi:ev-station"),
        state: Some(|s| {
            text(s, Signal::DetailedChargeState)
                .map(|c| on_off(matches!(c, "Starting" | "Charging")))
        }),
        command: Some(|p, _| {
            Ok(if switch(p)? {
                Command::ChargeStart
            } else {
                Command::ChargeStop
            })
        }),
        ..BASE
    },
    EntityDesc {
        key: "charge_state_charge_limit_soc",
        platform: Platform::Number,
        name: "Charge limit",
        device_class: Some("battery"),
        unit: Some("%"),
        icon: Some("mdi:battery-charging-80"),
        state: Some(|s| number(s, Signal::ChargeLimitSoc, 0)),
        range: Some(|s| Range {
            min: get_f64(s, Signal::ChargeLimitSocMin).unwrap_or(50.0),
            max: get_f64(s, Signal::ChargeLimitSocMax).unwrap_or(100.0),
            step: 1.0,
        }),
        command: Some(|p, _| {
            Ok(Command::SetChargeLimit {
                percent: whole_number(p, 50, 100)?,
            })
        }),
        ..BASE
    },
    EntityDesc {
        key: "charge_state_charge_current_request",
        platform: Platform::Number,
        name: "Charge current",
        device_class: Some("current"),
        unit: Some("A"),
        icon: Some("mdi:current-ac"),
        state: Some(|s| number(s, Signal::ChargeCurrentRequest, 0)),
        range: Some(|s| Range {
            min: 0.0,
            max: get_f64(s, Signal::ChargeCurrentRequestMax).unwrap_or(32.0),
            step: 1.0,
        }),
        command: Some(|p, s| {
            Ok(Command::SetChargingAmps {
                charging_amps: whole_number(
                    p,
                    0,
                    get_f64(s, Signal::ChargeCurrentRequestMax).unwrap_or(48.0) as u8,
                )?,
            })
        }),
        ..BASE
    },
    EntityDesc {
        key: "charge_state_charge_port_door_open",
        platform: Platform::Cover,
        name: "Charge port door",
        device_class: Some("door"),
        state: Some(|s| get_bool(s, Signal::ChargePortDoorOpen).map(open_closed)),
        command: Some(|p, _| match cover(p)? {
            CoverAction::Open => Ok(Command::ChargePortDoorOpen),
            CoverAction::Close => Ok(Command::ChargePortDoorClose),
        }),
        ..BASE
    },
    // ── Climate ─────────────────────────────────────────────────────────────────────────────
    EntityDesc {
        key: "climate_state_inside_temp",
        name: "Inside temperature",
        device_class: Some("temperature"),
        state_class: Some("measurement"),
        unit: Some("°C"),
        precision: Some(1),
        state: Some(|s| number(s, Signal::InsideTemp, 1)),
        ..BASE
    },
    EntityDesc {
        key: "climate_state_outside_temp",
        name: "Outside temperature",
        device_class: Some("temperature"),
        state_class: Some("measurement"),
        unit: Some("°C"),
        precision: Some(1),
        state: Some(|s| number(s, Signal::OutsideTemp, 1)),
        ..BASE
    },
    EntityDesc {
        key: "climate_state_is_climate_on",
        platform: Platform::Switch,
        name: "Climate",
        device_class: Some("switch"),
        icon: Some("mdi:fan"),
        state: Some(|s| text(s, Signal::HvacPower).map(|p| on_off(p != "Off"))),
        command: Some(|p, _| {
            Ok(if switch(p)? {
                Command::AutoConditioningStart
            } else {
                Command::AutoConditioningStop
            })
        }),
        ..BASE
    },
    EntityDesc {
        key: "climate_state_seat_heater_left",
        platform: Platform::Select,
        name: "Seat heater front left",
        options: SEAT_HEATER_OPTIONS,
        icon: Some("mdi:car-seat-heater"),
        state: Some(|s| seat_level(s, Signal::SeatHeaterLeft)),
        command: Some(|p, _| {
            Ok(Command::RemoteSeatHeaterRequest {
                seat_position: 0,
                level: option_index(p, SEAT_HEATER_OPTIONS)?,
            })
        }),
        ..BASE
    },
    EntityDesc {
        key: "climate_state_seat_heater_right",
        platform: Platform::Select,
        name: "Seat heater front right",
        options: SEAT_HEATER_OPTIONS,
        icon: Some("mdi:car-seat-heater"),
        state: Some(|s| seat_level(s, Signal::SeatHeaterRight)),
        command: Some(|p, _| {
            Ok(Command::RemoteSeatHeaterRequest {
                seat_position: 1,
                level: option_index(p, SEAT_HEATER_OPTIONS)?,
            })
        }),
        ..BASE
    },
    // ── Driving and location ────────────────────────────────────────────────────────────────
    EntityDesc {
        key: "location",
        platform: Platform::DeviceTracker,
        name: "Location",
        icon: Some("mdi:car"),
        attributes: Some(|s| match s.get(&Signal::Location)? {
            Value::Location {
                latitude,
                longitude,
                heading,
            } => Some(
                json!({"latitude": latitude, "longitude": longitude, "gps_accuracy": 0, "heading": heading, "speed": get_f64(s, Signal::VehicleSpeed).unwrap_or(0.0)}),
            ),
            _ => None,
        }),
        ..BASE
    },
    EntityDesc {
        key: "vehicle_state_odometer",
        name: "Odometer",
        device_class: Some("distance"),
        state_class: Some("total_increasing"),
        unit: Some("mi"),
        precision: Some(0),
        category: DIAG,
        state: Some(|s| number(s, Signal::Odometer, 2)),
        ..BASE
    },
    EntityDesc {
        key: "drive_state_speed",
        name: "Speed",
        device_class: Some("speed"),
        state_class: Some("measurement"),
        unit: Some("mph"),
        enabled: false,
        state: Some(|s| {
            Some(
                get_f64(s, Signal::VehicleSpeed)
                    .map(|v| fmt_number(v, 0))
                    .unwrap_or_else(|| "0".into()),
            )
        }),
        ..BASE
    },
    EntityDesc {
        key: "drive_state_shift_state",
        name: "Shift state",
        device_class: Some("enum"),
        options: GEAR_OPTIONS,
        enabled: false,
        state: Some(|s| {
            Some(
                text(s, Signal::Gear)
                    .map(|g| g.to_ascii_lowercase())
                    .unwrap_or_else(|| "p".into()),
            )
        }),
        ..BASE
    },
    EntityDesc {
        key: "drive_state_power",
        name: "Power",
        device_class: Some("power"),
        state_class: Some("measurement"),
        unit: Some("kW"),
        category: DIAG,
        enabled: false,
        state: Some(|s| number(s, Signal::DrivePower, 0)),
        ..BASE
    },
    // ── Security ────────────────────────────────────────────────────────────────────────────
    EntityDesc {
        key: "vehicle_state_locked",
        platform: Platform::Lock,
        name: "Lock",
        state: Some(|s| {
            get_bool(s, Signal::Locked).map(|l| if l { "locked" } else { "unlocked" }.to_string())
        }),
        command: Some(|p, _| match p.trim() {
            "LOCK" => Ok(Command::DoorLock),
            "UNLOCK" => Ok(Command::DoorUnlock),
            other => Err(expected("LOCK or UNLOCK", other)),
        }),
        ..BASE
    },
    EntityDesc {
        key: "vehicle_state_sentry_mode",
        platform: Platform::Switch,
        name: "Sentry mode",
        device_class: Some("switch"),
        icon: Some("mdi:cctv"),
        state: Some(|s| flag(s, Signal::SentryMode)),
        command: Some(|p, _| Ok(Command::SetSentryMode { on: switch(p)? })),
        ..BASE
    },
    EntityDesc {
        key: "vehicle_state_is_user_present",
        platform: Platform::BinarySensor,
        name: "User present",
        device_class: Some("presence"),
        state: Some(|s| flag(s, Signal::DriverSeatOccupied)),
        ..BASE
    },
    EntityDesc {
        key: "vehicle_state_df",
        platform: Platform::BinarySensor,
        name: "Front driver door",
        device_class: Some("door"),
        category: DIAG,
        state: Some(|s| flag(s, Signal::DoorDriverFront)),
        ..BASE
    },
    EntityDesc {
        key: "vehicle_state_dr",
        platform: Platform::BinarySensor,
        name: "Rear driver door",
        device_class: Some("door"),
        category: DIAG,
        state: Some(|s| flag(s, Signal::DoorDriverRear)),
        ..BASE
    },
    EntityDesc {
        key: "vehicle_state_pf",
        platform: Platform::BinarySensor,
        name: "Front passenger door",
        device_class: Some("door"),
        category: DIAG,
        state: Some(|s| flag(s, Signal::DoorPassengerFront)),
        ..BASE
    },
    EntityDesc {
        key: "vehicle_state_pr",
        platform: Platform::BinarySensor,
        name: "Rear passenger door",
        device_class: Some("door"),
        category: DIAG,
        state: Some(|s| flag(s, Signal::DoorPassengerRear)),
        ..BASE
    },
    EntityDesc {
        key: "vehicle_state_fd_window",
        platform: Platform::BinarySensor,
        name: "Front driver window",
        device_class: Some("window"),
        category: DIAG,
        state: Some(|s| window(s, Signal::FdWindow)),
        ..BASE
    },
    EntityDesc {
        key: "vehicle_state_fp_window",
        platform: Platform::BinarySensor,
        name: "Front passenger window",
        device_class: Some("window"),
        category: DIAG,
        state: Some(|s| window(s, Signal::FpWindow)),
        ..BASE
    },
    EntityDesc {
        key: "vehicle_state_rd_window",
        platform: Platform::BinarySensor,
        name: "Rear driver window",
        device_class: Some("window"),
        category: DIAG,
        state: Some(|s| window(s, Signal::RdWindow)),
        ..BASE
    },
    EntityDesc {
        key: "vehicle_state_rp_window",
        platform: Platform::BinarySensor,
        name: "Rear passenger window",
        device_class: Some("window"),
        category: DIAG,
        state: Some(|s| window(s, Signal::RpWindow)),
        ..BASE
    },
    EntityDesc {
        key: "vehicle_state_ft",
        platform: Platform::Cover,
        name: "Frunk",
        device_class: Some("door"),
        state: Some(|s| get_bool(s, Signal::TrunkFront).map(open_closed)),
        // A frunk cannot be closed remotely: only OPEN is offered (discovery sets payload_close null).
        command: Some(|p, _| match cover(p)? {
            CoverAction::Open => Ok(Command::ActuateTrunk {
                which: Trunk::Front,
            }),
            CoverAction::Close => Err(PayloadError("the frunk cannot be closed remotely".into())),
        }),
        ..BASE
    },
    EntityDesc {
        key: "vehicle_state_rt",
        platform: Platform::Cover,
        name: "Trunk",
        device_class: Some("door"),
        state: Some(|s| get_bool(s, Signal::TrunkRear).map(open_closed)),
        // `actuate_trunk` toggles; only send it when the trunk is not already where it was asked to be.
        command: Some(|p, s| {
            let want_open = matches!(cover(p)?, CoverAction::Open);
            match get_bool(s, Signal::TrunkRear) {
                Some(open) if open == want_open => Err(PayloadError(format!(
                    "the trunk is already {}",
                    if open { "open" } else { "closed" }
                ))),
                _ => Ok(Command::ActuateTrunk { which: Trunk::Rear }),
            }
        }),
        ..BASE
    },
    // ── Tyres ───────────────────────────────────────────────────────────────────────────────
    EntityDesc {
        key: "vehicle_state_tpms_pressure_fl",
        name: "Tire pressure front left",
        device_class: Some("pressure"),
        state_class: Some("measurement"),
        unit: Some("bar"),
        precision: Some(1),
        category: DIAG,
        enabled: false,
        state: Some(|s| number(s, Signal::TpmsPressureFl, 2)),
        ..BASE
    },
    EntityDesc {
        key: "vehicle_state_tpms_pressure_fr",
        name: "Tire pressure front right",
        device_class: Some("pressure"),
        state_class: Some("measurement"),
        unit: Some("bar"),
        precision: Some(1),
        category: DIAG,
        enabled: false,
        state: Some(|s| number(s, Signal::TpmsPressureFr, 2)),
        ..BASE
    },
    EntityDesc {
        key: "vehicle_state_tpms_pressure_rl",
        name: "Tire pressure rear left",
        device_class: Some("pressure"),
        state_class: Some("measurement"),
        unit: Some("bar"),
        precision: Some(1),
        category: DIAG,
        enabled: false,
        state: Some(|s| number(s, Signal::TpmsPressureRl, 2)),
        ..BASE
    },
    EntityDesc {
        key: "vehicle_state_tpms_pressure_rr",
        name: "Tire pressure rear right",
        device_class: Some("pressure"),
        state_class: Some("measurement"),
        unit: Some("bar"),
        precision: Some(1),
        category: DIAG,
        enabled: false,
        state: Some(|s| number(s, Signal::TpmsPressureRr, 2)),
        ..BASE
    },
    // ── Status and actions ──────────────────────────────────────────────────────────────────
    EntityDesc {
        key: "state",
        platform: Platform::BinarySensor,
        name: "Status",
        device_class: Some("connectivity"),
        state: Some(|s| text(s, Signal::VehicleState).map(|v| on_off(v == "online"))),
        ..BASE
    },
    // ── Account set-up (diagnostics) ────────────────────────────────────────────────────────
    EntityDesc {
        key: "reauth_required",
        platform: Platform::BinarySensor,
        name: "Tesla sign-in required",
        device_class: Some("problem"),
        category: DIAG,
        icon: Some("mdi:account-key"),
        state: Some(|s| flag(s, Signal::ReauthRequired)),
        ..BASE
    },
    EntityDesc {
        key: "key_paired",
        platform: Platform::BinarySensor,
        name: "Virtual key paired",
        category: DIAG,
        icon: Some("mdi:key-wireless"),
        state: Some(|s| flag(s, Signal::KeyPaired)),
        ..BASE
    },
    EntityDesc {
        key: "command_protocol_required",
        platform: Platform::BinarySensor,
        name: "Signed commands required",
        category: DIAG,
        icon: Some("mdi:shield-key"),
        state: Some(|s| flag(s, Signal::CommandProtocolRequired)),
        ..BASE
    },
    EntityDesc {
        key: "vehicle_state_car_version",
        name: "Software version",
        category: DIAG,
        icon: Some("mdi:update"),
        state: Some(|s| text(s, Signal::Version).map(str::to_string)),
        ..BASE
    },
    // ── Fleet API cost (diagnostics; published by the cost governor, `vehicle::cost`) ──────────
    EntityDesc {
        key: "fleet_api_requests_today",
        name: "Fleet API requests today",
        state_class: Some("total_increasing"),
        category: DIAG,
        icon: Some("mdi:api"),
        state: Some(|s| number(s, Signal::FleetRequestsToday, 0)),
        ..BASE
    },
    EntityDesc {
        key: "fleet_api_cost_today",
        name: "Fleet API cost today",
        device_class: Some("monetary"),
        state_class: Some("total"),
        unit: Some("USD"),
        precision: Some(3),
        category: DIAG,
        state: Some(|s| number(s, Signal::FleetUsdToday, 3)),
        ..BASE
    },
    EntityDesc {
        key: "fleet_api_cost_month",
        name: "Fleet API cost this month",
        device_class: Some("monetary"),
        state_class: Some("total"),
        unit: Some("USD"),
        precision: Some(2),
        category: DIAG,
        state: Some(|s| number(s, Signal::FleetUsdMonth, 3)),
        ..BASE
    },
    EntityDesc {
        key: "fleet_api_cost_month_projected",
        name: "Fleet API cost projected this month",
        device_class: Some("monetary"),
        unit: Some("USD"),
        precision: Some(2),
        category: DIAG,
        state: Some(|s| number(s, Signal::FleetUsdMonthProjected, 3)),
        ..BASE
    },
    EntityDesc {
        key: "fleet_api_data_left_today",
        name: "Data requests left today",
        state_class: Some("measurement"),
        category: DIAG,
        icon: Some("mdi:counter"),
        state: Some(|s| number(s, Signal::FleetDataLeftToday, 0)),
        ..BASE
    },
    EntityDesc {
        key: "fleet_api_commands_left_today",
        name: "Commands left today",
        state_class: Some("measurement"),
        category: DIAG,
        icon: Some("mdi:counter"),
        state: Some(|s| number(s, Signal::FleetCommandsLeftToday, 0)),
        ..BASE
    },
    EntityDesc {
        key: "fleet_api_wakes_left_today",
        name: "Wakes left today",
        state_class: Some("measurement"),
        category: DIAG,
        icon: Some("mdi:counter"),
        state: Some(|s| number(s, Signal::FleetWakesLeftToday, 0)),
        ..BASE
    },
    EntityDesc {
        key: "fleet_api_charging_commands_left_today",
        name: "Charging commands left today",
        state_class: Some("measurement"),
        category: DIAG,
        icon: Some("mdi:counter"),
        enabled: false,
        state: Some(|s| number(s, Signal::FleetChargingCommandsLeftToday, 0)),
        ..BASE
    },
    EntityDesc {
        key: "fleet_api_rate_limited_until",
        name: "Rate limited until",
        device_class: Some("timestamp"),
        category: DIAG,
        // Home Assistant's MQTT sensor reads `None` as "no value".
        state: Some(|s| {
            text(s, Signal::FleetRateLimitedUntil)
                .map(|t| if t.is_empty() { "None" } else { t }.to_string())
        }),
        ..BASE
    },
    EntityDesc {
        key: "fleet_api_account_cost_month",
        name: "Fleet API cost this month (all cars)",
        device_class: Some("monetary"),
        state_class: Some("total"),
        unit: Some("USD"),
        precision: Some(2),
        category: DIAG,
        state: Some(|s| number(s, Signal::FleetAccountUsdMonth, 3)),
        ..BASE
    },
    EntityDesc {
        key: "fleet_api_account_cost_month_projected",
        name: "Fleet API cost projected this month (all cars)",
        device_class: Some("monetary"),
        unit: Some("USD"),
        precision: Some(2),
        category: DIAG,
        state: Some(|s| number(s, Signal::FleetAccountUsdMonthProjected, 3)),
        ..BASE
    },
    EntityDesc {
        key: "fleet_api_budget_left",
        name: "Fleet API budget left this month",
        device_class: Some("monetary"),
        unit: Some("USD"),
        precision: Some(2),
        category: DIAG,
        state: Some(|s| number(s, Signal::FleetBudgetLeftUsd, 3)),
        ..BASE
    },
    EntityDesc {
        key: "wake",
        platform: Platform::Button,
        name: "Wake",
        icon: Some("mdi:sleep-off"),
        command: Some(|p, _| press(p).map(|_| Command::WakeUp)),
        ..BASE
    },
    EntityDesc {
        key: "flash_lights",
        platform: Platform::Button,
        name: "Flash lights",
        icon: Some("mdi:flashlight"),
        command: Some(|p, _| press(p).map(|_| Command::FlashLights)),
        ..BASE
    },
    EntityDesc {
        key: "honk",
        platform: Platform::Button,
        name: "Honk horn",
        icon: Some("mdi:bullhorn"),
        command: Some(|p, _| press(p).map(|_| Command::HonkHorn)),
        ..BASE
    },
];

impl EntityDesc {
    /// The state text for these signals; `None` for stateless entities (buttons) or unknown values.
    pub fn state_of(&self, signals: &Signals) -> Option<String> {
        self.state.and_then(|f| f(signals))
    }

    /// The JSON attributes for these signals, for platforms that have them (device tracker).
    pub fn attributes_of(&self, signals: &Signals) -> Option<Json> {
        self.attributes.and_then(|f| f(signals))
    }
}

/// Looks an entity up by key.
pub fn find(key: &str) -> Option<&'static EntityDesc> {
    CATALOG.iter().find(|e| e.key == key)
}

// ── State helpers ───────────────────────────────────────────────────────────────────────────

fn get_f64(s: &Signals, signal: Signal) -> Option<f64> {
    s.get(&signal).and_then(Value::as_f64)
}

fn get_bool(s: &Signals, signal: Signal) -> Option<bool> {
    s.get(&signal).and_then(Value::as_bool)
}

fn text(s: &Signals, signal: Signal) -> Option<&str> {
    s.get(&signal).and_then(Value::as_text)
}

/// A number with at most `decimals` decimals and no trailing zeros (`72`, `21.5`).
fn number(s: &Signals, signal: Signal, decimals: usize) -> Option<String> {
    get_f64(s, signal).map(|v| fmt_number(v, decimals))
}

pub(crate) fn fmt_number(v: f64, decimals: usize) -> String {
    let text = format!("{v:.decimals$}");
    let text = if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    };
    if text == "-0" {
        "0".into()
    } else {
        text
    }
}

fn on_off(on: bool) -> String {
    if on { "ON" } else { "OFF" }.to_string()
}

fn open_closed(open: bool) -> String {
    if open { "open" } else { "closed" }.to_string()
}

fn flag(s: &Signals, signal: Signal) -> Option<String> {
    get_bool(s, signal).map(on_off)
}

fn window(s: &Signals, signal: Signal) -> Option<String> {
    text(s, signal).map(|w| on_off(w != "Closed"))
}

fn seat_level(s: &Signals, signal: Signal) -> Option<String> {
    let level = get_f64(s, signal)? as usize;
    SEAT_HEATER_OPTIONS.get(level).map(|o| o.to_string())
}

/// `NoPower` → `no_power`: Home Assistant enum states are lower snake case.
fn snake_case(s: &str) -> String {
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

// ── Payload helpers ─────────────────────────────────────────────────────────────────────────

fn expected(what: &str, got: &str) -> PayloadError {
    PayloadError(format!("expected {what}, got {got:?}"))
}

fn switch(p: &str) -> Result<bool, PayloadError> {
    match p.trim() {
        "ON" => Ok(true),
        "OFF" => Ok(false),
        other => Err(expected("ON or OFF", other)),
    }
}

fn press(p: &str) -> Result<(), PayloadError> {
    match p.trim() {
        "PRESS" => Ok(()),
        other => Err(expected("PRESS", other)),
    }
}

enum CoverAction {
    Open,
    Close,
}

fn cover(p: &str) -> Result<CoverAction, PayloadError> {
    match p.trim() {
        "OPEN" => Ok(CoverAction::Open),
        "CLOSE" => Ok(CoverAction::Close),
        other => Err(expected("OPEN or CLOSE", other)),
    }
}

fn whole_number(p: &str, min: u8, max: u8) -> Result<u8, PayloadError> {
    let v: f64 = p
        .trim()
        .parse()
        .map_err(|_| expected(&format!("a number from {min} to {max}"), p))?;
    if v.fract() != 0.0 || v < f64::from(min) || v > f64::from(max) {
        return Err(expected(&format!("a whole number from {min} to {max}"), p));
    }
    Ok(v as u8)
}

fn option_index(p: &str, options: &[&str]) -> Result<u8, PayloadError> {
    options
        .iter()
        .position(|o| *o == p.trim())
        .map(|i| i as u8)
        .ok_or_else(|| expected(&format!("one of {}", options.join(", ")), p))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    fn signals(pairs: &[(Signal, Value)]) -> Signals {
        pairs.iter().cloned().collect()
    }

    #[test]
    fn keys_are_unique_and_valid_topic_segments() {
        let mut seen = HashSet::new();
        for e in CATALOG {
            assert!(seen.insert(e.key), "duplicate key {}", e.key);
            assert!(
                e.key
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
                "{}",
                e.key
            );
            assert!(!e.name.is_empty(), "{} has no name", e.key);
        }
    }

    #[test]
    fn every_platform_has_what_home_assistant_requires() {
        for e in CATALOG {
            let controllable = matches!(
                e.platform,
                Platform::Lock
                    | Platform::Switch
                    | Platform::Number
                    | Platform::Button
                    | Platform::Cover
                    | Platform::Select
            );
            assert_eq!(
                controllable,
                e.command.is_some(),
                "{}: controls need a command and only controls have one",
                e.key
            );
            match e.platform {
                Platform::Button => assert!(e.state.is_none(), "{}", e.key),
                Platform::DeviceTracker => assert!(e.attributes.is_some(), "{}", e.key),
                _ => assert!(e.state.is_some(), "{} needs a state", e.key),
            }
            if e.platform == Platform::Number {
                assert!(e.range.is_some(), "{} needs a range", e.key);
            }
            if e.platform == Platform::Select || e.device_class == Some("enum") {
                assert!(!e.options.is_empty(), "{} needs options", e.key);
            }
        }
        let platforms: HashSet<_> = CATALOG.iter().map(|e| e.platform).collect();
        assert!(platforms.len() >= 9, "every platform is represented");
        assert!(CATALOG.len() >= 15);
    }

    #[test]
    fn states_follow_home_assistant_conventions() {
        let s = signals(&[
            (Signal::BatteryLevel, Value::Int(72)),
            (Signal::InsideTemp, Value::Float(21.449)),
            (Signal::DetailedChargeState, Value::Text("NoPower".into())),
            (Signal::Locked, Value::Bool(true)),
            (Signal::ChargingCableType, Value::Text("<invalid>".into())),
            (Signal::SeatHeaterLeft, Value::Int(2)),
        ]);
        let state = |key: &str| (find(key).unwrap().state.unwrap())(&s);
        assert_eq!(state("charge_state_battery_level").as_deref(), Some("72"));
        assert_eq!(state("climate_state_inside_temp").as_deref(), Some("21.4"));
        assert_eq!(
            state("charge_state_charging_state").as_deref(),
            Some("no_power")
        );
        assert_eq!(state("vehicle_state_locked").as_deref(), Some("locked"));
        assert_eq!(
            state("charge_state_conn_charge_cable").as_deref(),
            Some("OFF")
        );
        assert_eq!(
            state("climate_state_seat_heater_left").as_deref(),
            Some("medium")
        );
        assert_eq!(
            state("charge_state_charger_power"),
            None,
            "unknown values are not invented"
        );
    }

    #[test]
    fn payloads_map_to_commands_or_say_what_was_expected() {
        let s = signals(&[
            (Signal::ChargeCurrentRequestMax, Value::Int(16)),
            (Signal::TrunkRear, Value::Bool(false)),
        ]);
        let cmd = |key: &str, p: &str| (find(key).unwrap().command.unwrap())(p, &s);
        assert_eq!(cmd("vehicle_state_locked", "LOCK"), Ok(Command::DoorLock));
        assert_eq!(
            cmd("charge_state_charge_limit_soc", "80"),
            Ok(Command::SetChargeLimit { percent: 80 })
        );
        assert_eq!(
            cmd("climate_state_seat_heater_right", "high"),
            Ok(Command::RemoteSeatHeaterRequest {
                seat_position: 1,
                level: 3
            })
        );
        assert_eq!(
            cmd("vehicle_state_rt", "OPEN"),
            Ok(Command::ActuateTrunk { which: Trunk::Rear })
        );
        assert!(cmd("vehicle_state_rt", "CLOSE")
            .unwrap_err()
            .0
            .contains("already closed"));
        assert_eq!(
            cmd("vehicle_state_locked", "lock").unwrap_err().0,
            "expected LOCK or UNLOCK, got \"lock\""
        );
        assert!(cmd("charge_state_charge_current_request", "20")
            .unwrap_err()
            .0
            .contains("0 to 16"));
        assert!(cmd("charge_state_charge_limit_soc", "80.5").is_err());
        assert!(cmd("wake", "PRESS").is_ok());
    }

    #[test]
    fn numbers_print_without_noise() {
        assert_eq!(fmt_number(72.0, 0), "72");
        assert_eq!(fmt_number(21.50, 1), "21.5");
        assert_eq!(fmt_number(-0.01, 1), "0");
        assert_eq!(fmt_number(15234.567, 2), "15234.57");
    }
}
