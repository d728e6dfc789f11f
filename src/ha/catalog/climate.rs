//! Cabin climate, seats and steering wheel.

use super::types::*;
use crate::vehicle::signal::Signal;

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
];
