//! Account set-up diagnostics and the basic actions.

use super::types::*;
use crate::vehicle::signal::Signal;

pub(super) static ROWS: &[Entity] = &[
    binary(
        "reauth_required",
        "Tesla sign-in required",
        Read::Value(Signal::ReauthRequired),
    )
    .class(BinaryClass::Problem)
    .diagnostic()
    .icon("mdi:account-key")
    .row(),
    binary(
        "key_paired",
        "Virtual key paired",
        Read::Value(Signal::KeyPaired),
    )
    .diagnostic()
    .icon("mdi:key-wireless")
    .row(),
    binary(
        "command_protocol_required",
        "Signed commands required",
        Read::Value(Signal::CommandProtocolRequired),
    )
    .diagnostic()
    .icon("mdi:shield-key")
    .row(),
    sensor(
        "vehicle_state_car_version",
        "Software version",
        Read::Value(Signal::Version),
    )
    .diagnostic()
    .icon("mdi:update")
    .row(),
    button("wake", "Wake", Call::new("wake_up"))
        .icon("mdi:sleep-off")
        .row(),
    button("flash_lights", "Flash lights", Call::new("flash_lights"))
        .icon("mdi:flashlight")
        .row(),
    button("honk", "Honk horn", Call::new("honk_horn"))
        .icon("mdi:bullhorn")
        .row(),
];
