//! Battery and charging.

use super::types::*;
use crate::vehicle::command::Limits;
use crate::vehicle::signal::{Signal, Signals, Value};

/// The plug the car sees (`<invalid>` with none: unknown).
const CABLE_TYPES: &[&str] = &["iec", "sae", "gb_ac", "gb_dc"];
const SCHEDULED_CHARGING: &[&str] = &["off", "start_at", "depart_by"];

/// More than one phase in use.
fn multi_phase(s: &Signals) -> Option<Reading> {
    match s.get(&Signal::ChargerPhases)? {
        Value::Unknown => Some(Reading::Bool(false)),
        v => v.as_f64().map(|p| Reading::Bool(p > 1.0)),
    }
}

/// One charging power from the AC and DC signals, and only while a session runs: a finished
/// session reads 0 even if the car still reports its last power.
fn charger_power(s: &Signals) -> Option<Reading> {
    let state = s.get(&Signal::DetailedChargeState).and_then(Value::as_text);
    let power = |sig| s.get(&sig).and_then(Value::as_f64);
    let (ac, dc) = (
        power(Signal::ACChargingPower),
        power(Signal::DCChargingPower),
    );
    match state {
        Some("Starting" | "Charging") => match (ac, dc) {
            (None, None) => Some(Reading::Unknown),
            (a, d) => Some(Reading::Number(a.unwrap_or(0.0).max(d.unwrap_or(0.0)))),
        },
        Some(_) => Some(Reading::Number(0.0)),
        None => ac.or(dc).map(Reading::Number),
    }
}

const CHARGING: &[&str] = &[
    "starting",
    "charging",
    "stopped",
    "complete",
    "disconnected",
    "no_power",
];

pub(super) static ROWS: &[Entity] = &[
    sensor(
        "charge_state_battery_level",
        "Battery level",
        Read::Value(Signal::BatteryLevel),
    )
    .measurement(Measure::Battery)
    .decimals(0)
    .row(),
    sensor(
        "charge_state_usable_battery_level",
        "Usable battery level",
        Read::Value(Signal::Soc),
    )
    .measurement(Measure::Battery)
    .decimals(0)
    .disabled()
    .row(),
    sensor(
        "charge_state_charging_state",
        "Charging",
        Read::Value(Signal::DetailedChargeState),
    )
    .of(Measure::Enum(CHARGING))
    .icon("mdi:ev-station")
    .row(),
    sensor(
        "charge_state_battery_range",
        "Battery range",
        Read::Value(Signal::BatteryRange),
    )
    .measurement(Measure::Distance)
    .decimals(1)
    .precision(0)
    .row(),
    sensor(
        "charge_state_est_battery_range",
        "Estimate battery range",
        Read::Value(Signal::EstBatteryRange),
    )
    .measurement(Measure::Distance)
    .decimals(1)
    .precision(0)
    .disabled()
    .row(),
    sensor(
        "charge_state_charger_power",
        "Charger power",
        Read::Derived(Signal::ACChargingPower, charger_power),
    )
    .measurement(Measure::Power)
    .decimals(1)
    .row(),
    sensor(
        "charge_state_charger_voltage",
        "Charger voltage",
        Read::Value(Signal::ChargerVoltage),
    )
    .measurement(Measure::Voltage)
    .decimals(0)
    .diagnostic()
    .row(),
    sensor(
        "charge_state_charger_actual_current",
        "Charger current",
        Read::Value(Signal::ChargeAmps),
    )
    .measurement(Measure::Current)
    .decimals(0)
    .diagnostic()
    .row(),
    sensor(
        "charge_state_charge_energy_added",
        "Charge energy added",
        Read::Value(Signal::DCChargingEnergyIn),
    )
    .of(Measure::Energy)
    .state_class(StateClass::Total)
    .precision(1)
    .row(),
    binary(
        "charge_state_conn_charge_cable",
        "Charge cable",
        Read::IsNot(Signal::ChargingCableType, &["", "<invalid>"]),
    )
    .class(BinaryClass::Connectivity)
    .diagnostic()
    .row(),
    binary(
        "charge_state_battery_heater_on",
        "Battery heater",
        Read::Value(Signal::BatteryHeaterOn),
    )
    .class(BinaryClass::Heat)
    .diagnostic()
    .disabled()
    .row(),
    // Home Assistant's one exception: the Charge switch reads the charging state but keeps the
    // unique id of the field it once read.
    switch(
        "charge_state_charging_state",
        "Charge",
        Read::Is(Signal::DetailedChargeState, &["Starting", "Charging"]),
        Call::new("charge_start"),
        Call::new("charge_stop"),
    )
    .id("charge_state_user_charge_enable_request")
    .icon("mdi:ev-station")
    .row(),
    number(
        "charge_state_charge_limit_soc",
        "Charge limit",
        Read::Value(Signal::ChargeLimitSoc),
        Bounds {
            min: Bound::Signal(
                Signal::ChargeLimitSocMin,
                Limits::ANY_CAR.charge_limit_min as f64,
            ),
            max: Bound::Signal(
                Signal::ChargeLimitSocMax,
                Limits::ANY_CAR.charge_limit_max as f64,
            ),
            step: 1.0,
        },
        Call::value("set_charge_limit", &["percent"]),
    )
    .of(Measure::Battery)
    .icon("mdi:battery-charging-80")
    .row(),
    // Charging on solar surplus (a Powerwall site). The car never reports these settings, so the
    // states are what TeslaSync last set (Home Assistant's "assumed state").
    switch(
        "charge_on_solar",
        "Charge on solar",
        Read::Value(Signal::ChargeOnSolarEnabled),
        Call::with("update_charge_on_solar_feature", r#"{"enabled":true}"#)
            .keeping_solar_settings(),
        Call::with("update_charge_on_solar_feature", r#"{"enabled":false}"#)
            .keeping_solar_settings(),
    )
    .icon("mdi:solar-power-variant")
    .disabled()
    .row(),
    number(
        "charge_on_solar_lower_limit",
        "Charge on solar lower limit",
        Read::Value(Signal::ChargeOnSolarLowerLimit),
        Bounds {
            min: Bound::Fixed(0.0),
            max: Bound::Fixed(100.0),
            step: 1.0,
        },
        Call::value("update_charge_on_solar_feature", &["lower_charge_limit"])
            .keeping_solar_settings(),
    )
    .of(Measure::Battery)
    .icon("mdi:solar-power-variant")
    .disabled()
    .row(),
    number(
        "charge_state_charge_current_request",
        "Charge current",
        Read::Value(Signal::ChargeCurrentRequest),
        Bounds {
            min: Bound::Fixed(0.0),
            max: Bound::Signal(
                Signal::ChargeCurrentRequestMax,
                Limits::ANY_CAR.charge_current_max as f64,
            ),
            step: 1.0,
        },
        Call::value("set_charging_amps", &["charging_amps"]),
    )
    .of(Measure::Current)
    .icon("mdi:current-ac")
    .row(),
    cover(
        "charge_state_charge_port_door_open",
        "Charge port door",
        CoverClass::Door,
        Read::Value(Signal::ChargePortDoorOpen),
    )
    .open(Call::new("charge_port_door_open"))
    .close(Call::new("charge_port_door_close"))
    .row(),
    sensor(
        "charge_state_charge_rate",
        "Charge rate",
        Read::Value(Signal::ChargeRateMilePerHour),
    )
    .measurement(Measure::Speed)
    .diagnostic()
    .decimals(1)
    .row(),
    sensor(
        "charge_state_conn_charge_cable",
        "Charge cable",
        Read::Value(Signal::ChargingCableType),
    )
    .of(Measure::Enum(CABLE_TYPES))
    .diagnostic()
    .disabled()
    .id("sensor_charge_state_conn_charge_cable")
    .row(),
    sensor(
        "charge_state_fast_charger_type",
        "Fast charger type",
        Read::Value(Signal::FastChargerType),
    )
    .of(Measure::None)
    .diagnostic()
    .disabled()
    .row(),
    sensor(
        "charge_state_ideal_battery_range",
        "Ideal battery range",
        Read::Value(Signal::IdealBatteryRange),
    )
    .measurement(Measure::Distance)
    .disabled()
    .decimals(1)
    .precision(0)
    .row(),
    sensor(
        "charge_state_minutes_to_full_charge",
        "Time to full charge",
        Read::Value(Signal::FullChargeAt),
    )
    .of(Measure::Timestamp)
    .diagnostic()
    .row(),
    sensor(
        "dc_charging_energy_in",
        "DC charging energy in",
        Read::Value(Signal::DCChargingEnergyIn),
    )
    .of(Measure::Energy)
    .state_class(StateClass::TotalIncreasing)
    .diagnostic()
    .disabled()
    .row(),
    sensor(
        "dc_charging_power",
        "DC charging power",
        Read::Value(Signal::DCChargingPower),
    )
    .measurement(Measure::Power)
    .diagnostic()
    .disabled()
    .row(),
    sensor(
        "energy_remaining",
        "Energy remaining",
        Read::Value(Signal::EnergyRemaining),
    )
    .measurement(Measure::EnergyStorage)
    .diagnostic()
    .disabled()
    .row(),
    sensor(
        "estimated_hours_to_charge_termination",
        "Estimated hours to charge termination",
        Read::Value(Signal::EstimatedHoursToChargeTermination),
    )
    .measurement(Measure::Duration(DurationUnit::Hours))
    .diagnostic()
    .disabled()
    .row(),
    sensor(
        "rated_range",
        "Rated range",
        Read::Value(Signal::RatedRange),
    )
    .measurement(Measure::Distance)
    .diagnostic()
    .disabled()
    .row(),
    sensor(
        "charge_rate_mile_per_hour",
        "Charge rate",
        Read::Value(Signal::ChargeRateMilePerHour),
    )
    .measurement(Measure::Speed)
    .diagnostic()
    .disabled()
    .id("charge_rate_mile_per_hour")
    .row(),
    sensor(
        "scheduled_charging_mode",
        "Scheduled charging mode",
        Read::Value(Signal::ScheduledChargingMode),
    )
    .of(Measure::Enum(SCHEDULED_CHARGING))
    .diagnostic()
    .disabled()
    .row(),
    sensor(
        "scheduled_charging_start_time",
        "Scheduled charging start",
        Read::Value(Signal::ScheduledChargingStartTime),
    )
    .of(Measure::Timestamp)
    .diagnostic()
    .disabled()
    .row(),
    sensor(
        "scheduled_departure_time",
        "Scheduled departure",
        Read::Value(Signal::ScheduledDepartureTime),
    )
    .of(Measure::Timestamp)
    .diagnostic()
    .disabled()
    .row(),
    sensor(
        "lifetime_energy_used",
        "Lifetime energy used",
        Read::Value(Signal::LifetimeEnergyUsed),
    )
    .of(Measure::Energy)
    .state_class(StateClass::TotalIncreasing)
    .diagnostic()
    .disabled()
    .row(),
    sensor(
        "lifetime_energy_gained_regen",
        "Lifetime energy gained from regen",
        Read::Value(Signal::LifetimeEnergyGainedRegen),
    )
    .of(Measure::Energy)
    .state_class(StateClass::TotalIncreasing)
    .diagnostic()
    .disabled()
    .row(),
    sensor(
        "lifetime_energy_used_drive",
        "Lifetime energy used driving",
        Read::Value(Signal::LifetimeEnergyUsedDrive),
    )
    .of(Measure::Energy)
    .state_class(StateClass::TotalIncreasing)
    .diagnostic()
    .disabled()
    .row(),
    sensor(
        "lifetime_energy_charged",
        "Lifetime energy charged",
        Read::Value(Signal::LifetimeEnergyChargedKwh),
    )
    .of(Measure::Energy)
    .state_class(StateClass::TotalIncreasing)
    .diagnostic()
    .disabled()
    .row(),
    sensor(
        "nominal_full_pack_energy",
        "Nominal full pack energy",
        Read::Value(Signal::NominalFullPackEnergyKwh),
    )
    .measurement(Measure::EnergyStorage)
    .diagnostic()
    .disabled()
    .row(),
    sensor(
        "brick_soc_min",
        "Lowest brick state of charge",
        Read::Value(Signal::BrickSocMinPercent),
    )
    .measurement(Measure::Plain(Unit::Percent))
    .diagnostic()
    .disabled()
    .row(),
    sensor(
        "charge_port",
        "Charge port type",
        Read::Value(Signal::ChargePort),
    )
    .of(Measure::None)
    .diagnostic()
    .disabled()
    .row(),
    sensor(
        "charge_state",
        "Charge state",
        Read::Value(Signal::ChargeState),
    )
    .of(Measure::None)
    .diagnostic()
    .disabled()
    .row(),
    sensor(
        "charge_limit_soc",
        "Charge limit",
        Read::Value(Signal::ChargeLimitSoc),
    )
    .measurement(Measure::Battery)
    .diagnostic()
    .disabled()
    .decimals(0)
    .id("charge_limit_soc")
    .row(),
    binary(
        "charge_state_charger_phases",
        "Charger has multiple phases",
        Read::Derived(Signal::ChargerPhases, multi_phase),
    )
    .disabled()
    .row(),
    binary(
        "charge_state_preconditioning_enabled",
        "Preconditioning enabled",
        Read::Value(Signal::PreconditioningEnabled),
    )
    .diagnostic()
    .disabled()
    .row(),
    binary(
        "charge_state_scheduled_charging_pending",
        "Scheduled charging pending",
        Read::Value(Signal::ScheduledChargingPending),
    )
    .diagnostic()
    .disabled()
    .row(),
    binary(
        "charge_state_trip_charging",
        "Trip charging",
        Read::Value(Signal::TripCharging),
    )
    .diagnostic()
    .disabled()
    .row(),
    binary(
        "bms_full_charge_complete",
        "BMS full charge",
        Read::Value(Signal::BmsFullchargecomplete),
    )
    .disabled()
    .row(),
    binary(
        "charge_port_cold_weather_mode",
        "Charge port cold weather mode",
        Read::Value(Signal::ChargePortColdWeatherMode),
    )
    .disabled()
    .row(),
    binary(
        "fast_charger_present",
        "Fast charger present",
        Read::Value(Signal::FastChargerPresent),
    )
    .disabled()
    .row(),
    binary(
        "charge_enable_request",
        "Charge enable request",
        Read::Value(Signal::ChargeEnableRequest),
    )
    .disabled()
    .row(),
    binary(
        "supercharger_session_trip_planner",
        "Supercharger session trip planner",
        Read::Value(Signal::SuperchargerSessionTripPlanner),
    )
    .disabled()
    .row(),
    binary(
        "not_enough_power_to_heat",
        "Not enough power to heat",
        Read::Value(Signal::NotEnoughPowerToHeat),
    )
    .class(BinaryClass::Problem)
    .diagnostic()
    .disabled()
    .row(),
    time(
        "charge_state_scheduled_departure_time_minutes",
        "Scheduled departure time",
        Read::Value(Signal::ScheduledDepartureMinutes),
        Call::value("set_scheduled_departure", &["departure_time"]).and(r#"{"enable":true}"#),
    )
    .icon("mdi:clock-end")
    .row(),
    time(
        "charge_state_scheduled_charging_start_time_app",
        "Scheduled charging start time",
        Read::Value(Signal::ScheduledChargingMinutes),
        Call::value("set_scheduled_charging", &["time"]).and(r#"{"enable":true}"#),
    )
    .icon("mdi:clock-start")
    .row(),
    button(
        "charge_state_scheduled_charging_off",
        "Cancel scheduled charging",
        Call::with("set_scheduled_charging", r#"{"enable":false}"#),
    )
    .icon("mdi:clock-remove")
    .row(),
    button(
        "charge_state_scheduled_departure_off",
        "Cancel scheduled departure",
        Call::with("set_scheduled_departure", r#"{"enable":false}"#),
    )
    .icon("mdi:clock-remove")
    .row(),
];
