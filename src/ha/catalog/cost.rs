//! Fleet API cost and budget (diagnostics, filled by the cost governor, `vehicle::cost`).

use super::types::*;
use crate::vehicle::signal::Signal;

pub(super) static ROWS: &[Entity] = &[
    sensor(
        "fleet_api_requests_today",
        "Fleet API requests today",
        Read::Value(Signal::FleetRequestsToday),
    )
    .state_class(StateClass::TotalIncreasing)
    .decimals(0)
    .diagnostic()
    .icon("mdi:api")
    .row(),
    sensor(
        "fleet_api_cost_today",
        "Fleet API cost today",
        Read::Value(Signal::FleetUsdToday),
    )
    .of(Measure::Monetary)
    .state_class(StateClass::Total)
    .decimals(3)
    .precision(3)
    .diagnostic()
    .row(),
    sensor(
        "fleet_api_cost_month",
        "Fleet API cost this month",
        Read::Value(Signal::FleetUsdMonth),
    )
    .of(Measure::Monetary)
    .state_class(StateClass::Total)
    .decimals(3)
    .precision(2)
    .diagnostic()
    .row(),
    sensor(
        "fleet_api_cost_month_projected",
        "Fleet API cost projected this month",
        Read::Value(Signal::FleetUsdMonthProjected),
    )
    .of(Measure::Monetary)
    .decimals(3)
    .precision(2)
    .diagnostic()
    .row(),
    sensor(
        "fleet_api_data_left_today",
        "Data requests left today",
        Read::Value(Signal::FleetDataLeftToday),
    )
    .state_class(StateClass::Measurement)
    .decimals(0)
    .diagnostic()
    .icon("mdi:counter")
    .row(),
    sensor(
        "fleet_api_commands_left_today",
        "Commands left today",
        Read::Value(Signal::FleetCommandsLeftToday),
    )
    .state_class(StateClass::Measurement)
    .decimals(0)
    .diagnostic()
    .icon("mdi:counter")
    .row(),
    sensor(
        "fleet_api_wakes_left_today",
        "Wakes left today",
        Read::Value(Signal::FleetWakesLeftToday),
    )
    .state_class(StateClass::Measurement)
    .decimals(0)
    .diagnostic()
    .icon("mdi:counter")
    .row(),
    sensor(
        "fleet_api_charging_commands_left_today",
        "Charging commands left today",
        Read::Value(Signal::FleetChargingCommandsLeftToday),
    )
    .state_class(StateClass::Measurement)
    .decimals(0)
    .diagnostic()
    .disabled()
    .icon("mdi:counter")
    .row(),
    sensor(
        "fleet_api_rate_limited_until",
        "Rate limited until",
        Read::Value(Signal::FleetRateLimitedUntil),
    )
    .of(Measure::Timestamp)
    .diagnostic()
    .row(),
    sensor(
        "fleet_api_account_cost_month",
        "Fleet API cost this month (all cars)",
        Read::Value(Signal::FleetAccountUsdMonth),
    )
    .of(Measure::Monetary)
    .state_class(StateClass::Total)
    .decimals(3)
    .precision(2)
    .diagnostic()
    .row(),
    sensor(
        "fleet_api_account_cost_month_projected",
        "Fleet API cost projected this month (all cars)",
        Read::Value(Signal::FleetAccountUsdMonthProjected),
    )
    .of(Measure::Monetary)
    .decimals(3)
    .precision(2)
    .diagnostic()
    .row(),
    sensor(
        "fleet_api_budget_left",
        "Fleet API budget left this month",
        Read::Value(Signal::FleetBudgetLeftUsd),
    )
    .of(Measure::Monetary)
    .decimals(3)
    .precision(2)
    .diagnostic()
    .row(),
];
