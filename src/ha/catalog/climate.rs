//! Cabin climate, seats and steering wheel.

use super::types::*;
use crate::vehicle::command::Limits;
use crate::vehicle::signal::{Signal, Signals, Value};

const HVAC_POWER: &[&str] = &["off", "on", "precondition", "overheat_protection"];
const STEERING_LEVELS: &[Choice] = &[choice("off", "0"), choice("low", "1"), choice("high", "3")];

/// A seat heater select; `seat` as Tesla numbers seats for `remote_seat_heater_request`.
const fn seat_heater(
    key: &'static str,
    name: &'static str,
    signal: Signal,
    params: &'static str,
) -> Select {
    select(
        key,
        name,
        Options {
            signal,
            choices: SEAT_LEVELS,
            send: Send::Value(Call::value("remote_seat_heater_request", &["level"]).and(params)),
        },
    )
    .icon("mdi:car-seat-heater")
}

/// A front seat cooler (ventilation) select.
const fn seat_cooler(
    key: &'static str,
    name: &'static str,
    signal: Signal,
    params: &'static str,
) -> Select {
    select(
        key,
        name,
        Options {
            signal,
            choices: SEAT_LEVELS,
            send: Send::Value(
                Call::value("remote_seat_cooler_request", &["seat_cooler_level"]).and(params),
            ),
        },
    )
    .icon("mdi:car-seat-cooler")
    .requires(Capability::SeatCooling)
}

/// Defrost: `vehicle_data` says 0/2, telemetry `Off`/`Normal`/`Max`.
fn defrost(s: &Signals) -> Option<Reading> {
    Some(match s.get(&Signal::DefrostMode)? {
        Value::Text(t) => Reading::Bool(!t.eq_ignore_ascii_case("off")),
        Value::Unknown => Reading::Unknown,
        v => Reading::Bool(v.as_f64()? != 0.0),
    })
}

/// The driver's set point: the left side, or the right one on a right-hand-drive car (the
/// `RightHandDrive` field, `vehicle_config.rhd` when polled).
fn driver_set_point(s: &Signals) -> Option<Reading> {
    let side = match s.get(&Signal::RightHandDrive) {
        Some(Value::Bool(true)) => Signal::HvacRightTemperatureRequest,
        _ => Signal::HvacLeftTemperatureRequest,
    };
    Some(match s.get(&side)? {
        Value::Unknown => Reading::Unknown,
        v => Reading::Number(v.as_f64()?),
    })
}

const CLIMATE_MODES: Options = Options {
    signal: Signal::HvacPower,
    choices: &[
        choice("off", r#""off""#),
        choice("heat_cool", r#""on""#).or(&[
            "on",
            "precondition",
            "overheat_protect",
            "overheat_protection",
        ]),
    ],
    send: Send::PerChoice(&[
        Call::new("auto_conditioning_stop"),
        Call::new("auto_conditioning_start"),
    ]),
};

const KEEPER: Options = Options {
    signal: Signal::ClimateKeeperMode,
    choices: &[
        choice("off", "0"),
        choice("keep", "1").or(&["on"]),
        choice("dog", "2"),
        choice("camp", "3").or(&["party"]),
    ],
    send: Send::Value(Call::value(
        "set_climate_keeper_mode",
        &["climate_keeper_mode"],
    )),
};

const BIOWEAPON: Options = Options {
    signal: Signal::BioweaponMode,
    choices: &[choice("off", "false"), choice("bioweapon", "true")],
    send: Send::Value(
        Call::value("set_bioweapon_mode", &["on"]).and(r#"{"manual_override":true}"#),
    ),
};

const COP_MODES: Options = Options {
    signal: Signal::CabinOverheatProtectionMode,
    choices: &[
        choice("off", r#""off""#),
        choice("cool", r#""on""#).or(&["on"]),
        choice("fan_only", r#""fan_only""#),
    ],
    send: Send::PerChoice(&[
        Call::with(
            "set_cabin_overheat_protection",
            r#"{"on":false,"fan_only":false}"#,
        ),
        Call::with(
            "set_cabin_overheat_protection",
            r#"{"on":true,"fan_only":false}"#,
        ),
        Call::with(
            "set_cabin_overheat_protection",
            r#"{"on":true,"fan_only":true}"#,
        ),
    ]),
};

const SEAT_LEVELS: &[Choice] = &[
    choice("off", "0"),
    choice("low", "1"),
    choice("medium", "2"),
    choice("high", "3"),
];

pub(super) static ROWS: &[Entity] = &[
    sensor(
        "climate_state_inside_temp",
        "Inside temperature",
        Read::Value(Signal::InsideTemp),
    )
    .measurement(Measure::Temperature)
    .decimals(1)
    .precision(1)
    .row(),
    sensor(
        "climate_state_outside_temp",
        "Outside temperature",
        Read::Value(Signal::OutsideTemp),
    )
    .measurement(Measure::Temperature)
    .decimals(1)
    .precision(1)
    .row(),
    switch(
        "climate_state_is_climate_on",
        "Climate",
        Read::IsNot(Signal::HvacPower, &["Off"]),
        Call::new("auto_conditioning_start"),
        Call::new("auto_conditioning_stop"),
    )
    .icon("mdi:fan")
    .row(),
    select(
        "climate_state_seat_heater_left",
        "Seat heater front left",
        Options {
            signal: Signal::SeatHeaterLeft,
            choices: SEAT_LEVELS,
            send: Send::Value(
                Call::value("remote_seat_heater_request", &["level"]).and(r#"{"seat_position":0}"#),
            ),
        },
    )
    .icon("mdi:car-seat-heater")
    .row(),
    select(
        "climate_state_seat_heater_right",
        "Seat heater front right",
        Options {
            signal: Signal::SeatHeaterRight,
            choices: SEAT_LEVELS,
            send: Send::Value(
                Call::value("remote_seat_heater_request", &["level"]).and(r#"{"seat_position":1}"#),
            ),
        },
    )
    .icon("mdi:car-seat-heater")
    .row(),
    sensor(
        "climate_state_driver_temp_setting",
        "Driver temperature setting",
        Read::Value(Signal::HvacLeftTemperatureRequest),
    )
    .measurement(Measure::Temperature)
    .diagnostic()
    .disabled()
    .decimals(1)
    .row(),
    sensor(
        "climate_state_passenger_temp_setting",
        "Passenger temperature setting",
        Read::Value(Signal::HvacRightTemperatureRequest),
    )
    .measurement(Measure::Temperature)
    .diagnostic()
    .disabled()
    .decimals(1)
    .row(),
    sensor(
        "hvac_left_temperature_request",
        "Left temperature request",
        Read::Value(Signal::HvacLeftTemperatureRequest),
    )
    .measurement(Measure::Temperature)
    .diagnostic()
    .disabled()
    .decimals(1)
    .row(),
    sensor(
        "hvac_right_temperature_request",
        "Right temperature request",
        Read::Value(Signal::HvacRightTemperatureRequest),
    )
    .measurement(Measure::Temperature)
    .diagnostic()
    .disabled()
    .decimals(1)
    .row(),
    sensor(
        "hvac_fan_speed",
        "HVAC fan speed setting",
        Read::Value(Signal::HvacFanSpeed),
    )
    .of(Measure::Plain(Unit::Percent))
    .diagnostic()
    .disabled()
    .row(),
    sensor(
        "hvac_fan_status",
        "HVAC fan speed",
        Read::Value(Signal::HvacFanStatus),
    )
    .of(Measure::Plain(Unit::Percent))
    .diagnostic()
    .disabled()
    .row(),
    sensor(
        "hvac_power_state",
        "HVAC power state",
        Read::Value(Signal::HvacPower),
    )
    .of(Measure::Enum(HVAC_POWER))
    .diagnostic()
    .disabled()
    .row(),
    binary(
        "climate_state_is_preconditioning",
        "Preconditioning",
        Read::Value(Signal::IsPreconditioning),
    )
    .diagnostic()
    .disabled()
    .row(),
    binary(
        "climate_state_cabin_overheat_protection_actively_cooling",
        "Cabin overheat protection active",
        Read::Value(Signal::CopActivelyCooling),
    )
    .class(BinaryClass::Heat)
    .diagnostic()
    .disabled()
    .row(),
    binary(
        "climate_state_is_rear_defroster_on",
        "Rear defroster",
        Read::Value(Signal::RearDefrostEnabled),
    )
    .class(BinaryClass::Heat)
    .diagnostic()
    .disabled()
    .row(),
    binary(
        "defrost_for_preconditioning",
        "Defrost for preconditioning",
        Read::Value(Signal::DefrostForPreconditioning),
    )
    .disabled()
    .row(),
    binary(
        "rear_display_hvac_enabled",
        "Rear display HVAC",
        Read::Value(Signal::RearDisplayHvacEnabled),
    )
    .disabled()
    .row(),
    binary(
        "wiper_heat_enabled",
        "Wiper heat",
        Read::Value(Signal::WiperHeatEnabled),
    )
    .disabled()
    .row(),
    binary(
        "seat_vent_enabled",
        "Seat vent enabled",
        Read::Value(Signal::SeatVentEnabled),
    )
    .disabled()
    .row(),
    binary(
        "hvac_auto_mode",
        "HVAC auto mode",
        Read::Is(Signal::HvacAutoMode, &["On"]),
    )
    .disabled()
    .row(),
    binary(
        "hvac_ac_enabled",
        "Air conditioning",
        Read::Value(Signal::HvacACEnabled),
    )
    .disabled()
    .row(),
    climate("driver_temp", "Climate", CLIMATE_MODES)
        .current(Signal::InsideTemp)
        .target(SetPoint {
            read: Read::Derived(Signal::HvacLeftTemperatureRequest, driver_set_point),
            bounds: Bounds {
                min: Bound::Signal(Signal::MinAvailTemp, Limits::ANY_CAR.temp_min_c),
                max: Bound::Signal(Signal::MaxAvailTemp, Limits::ANY_CAR.temp_max_c),
                step: 0.5,
            },
            set: Call::value("set_temps", &["driver_temp", "passenger_temp"]),
            levels: &[],
        })
        .presets(KEEPER)
        .fans(BIOWEAPON)
        .row(),
    climate(
        "climate_state_cabin_overheat_protection",
        "Cabin overheat protection",
        COP_MODES,
    )
    .current(Signal::InsideTemp)
    .target(SetPoint {
        read: Read::Value(Signal::CabinOverheatProtectionTemperatureLimit),
        bounds: Bounds {
            min: Bound::Fixed(30.0),
            max: Bound::Fixed(40.0),
            step: 5.0,
        },
        set: Call::value("set_cop_temp", &["cop_temp"]),
        levels: &[
            choice("30", "0").or(&["low"]),
            choice("35", "1").or(&["medium"]),
            choice("40", "2").or(&["high"]),
        ],
    })
    .target_requires(Capability::CopTemperature)
    .disabled()
    .row(),
    seat_heater(
        "climate_state_seat_heater_rear_left",
        "Seat heater rear left",
        Signal::SeatHeaterRearLeft,
        r#"{"seat_position":2}"#,
    )
    .requires(Capability::RearSeatHeaters)
    .disabled()
    .row(),
    seat_heater(
        "climate_state_seat_heater_rear_center",
        "Seat heater rear center",
        Signal::SeatHeaterRearCenter,
        r#"{"seat_position":4}"#,
    )
    .requires(Capability::RearSeatHeaters)
    .disabled()
    .row(),
    seat_heater(
        "climate_state_seat_heater_rear_right",
        "Seat heater rear right",
        Signal::SeatHeaterRearRight,
        r#"{"seat_position":5}"#,
    )
    .requires(Capability::RearSeatHeaters)
    .disabled()
    .row(),
    seat_heater(
        "climate_state_seat_heater_third_row_left",
        "Seat heater third row left",
        Signal::SeatHeaterThirdRowLeft,
        r#"{"seat_position":7}"#,
    )
    .requires(Capability::ThirdRowSeats)
    .disabled()
    .row(),
    seat_heater(
        "climate_state_seat_heater_third_row_right",
        "Seat heater third row right",
        Signal::SeatHeaterThirdRowRight,
        r#"{"seat_position":8}"#,
    )
    .requires(Capability::ThirdRowSeats)
    .disabled()
    .row(),
    seat_cooler(
        "climate_state_seat_fan_front_left",
        "Seat cooler front left",
        Signal::ClimateSeatCoolingFrontLeft,
        r#"{"seat_position":1}"#,
    )
    .row(),
    seat_cooler(
        "climate_state_seat_fan_front_right",
        "Seat cooler front right",
        Signal::ClimateSeatCoolingFrontRight,
        r#"{"seat_position":2}"#,
    )
    .row(),
    select(
        "climate_state_steering_wheel_heat_level",
        "Steering wheel heater",
        Options {
            signal: Signal::HvacSteeringWheelHeatLevel,
            choices: STEERING_LEVELS,
            send: Send::Value(Call::value(
                "remote_steering_wheel_heat_level_request",
                &["level"],
            )),
        },
    )
    .icon("mdi:steering")
    .row(),
    switch(
        "climate_state_auto_seat_climate_left",
        "Auto seat climate left",
        Read::Value(Signal::AutoSeatClimateLeft),
        Call::with(
            "remote_auto_seat_climate_request",
            r#"{"auto_seat_position":1,"auto_climate_on":true}"#,
        ),
        Call::with(
            "remote_auto_seat_climate_request",
            r#"{"auto_seat_position":1,"auto_climate_on":false}"#,
        ),
    )
    .row(),
    switch(
        "climate_state_auto_seat_climate_right",
        "Auto seat climate right",
        Read::Value(Signal::AutoSeatClimateRight),
        Call::with(
            "remote_auto_seat_climate_request",
            r#"{"auto_seat_position":2,"auto_climate_on":true}"#,
        ),
        Call::with(
            "remote_auto_seat_climate_request",
            r#"{"auto_seat_position":2,"auto_climate_on":false}"#,
        ),
    )
    .row(),
    switch(
        "climate_state_auto_steering_wheel_heat",
        "Auto steering wheel heater",
        Read::Value(Signal::HvacSteeringWheelHeatAuto),
        Call::with(
            "remote_auto_steering_wheel_heat_climate_request",
            r#"{"on":true}"#,
        ),
        Call::with(
            "remote_auto_steering_wheel_heat_climate_request",
            r#"{"on":false}"#,
        ),
    )
    .row(),
    switch(
        "climate_state_defrost_mode",
        "Defrost",
        Read::Derived(Signal::DefrostMode, defrost),
        Call::with(
            "set_preconditioning_max",
            r#"{"on":true,"manual_override":false}"#,
        ),
        Call::with(
            "set_preconditioning_max",
            r#"{"on":false,"manual_override":false}"#,
        ),
    )
    .icon("mdi:car-defrost-front")
    .row(),
];
