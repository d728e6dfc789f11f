//! Battery and charging.

use super::types::*;
use crate::vehicle::signal::Signal;

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
        Read::Value(Signal::ACChargingPower),
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
        Read::Value(Signal::ACChargingEnergyIn),
    )
    .of(Measure::Energy)
    .state_class(StateClass::TotalIncreasing)
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
            min: Bound::Signal(Signal::ChargeLimitSocMin, 50.0),
            max: Bound::Signal(Signal::ChargeLimitSocMax, 100.0),
            step: 1.0,
        },
        Call::value("set_charge_limit", &["percent"]),
    )
    .of(Measure::Battery)
    .icon("mdi:battery-charging-80")
    .row(),
    number(
        "charge_state_charge_current_request",
        "Charge current",
        Read::Value(Signal::ChargeCurrentRequest),
        Bounds {
            min: Bound::Fixed(0.0),
            max: Bound::Signal(Signal::ChargeCurrentRequestMax, 48.0),
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
];
