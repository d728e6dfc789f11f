//! `tesla::commands::protobuf`: the protocol action a command becomes, and the small builders the
//! command table uses to write its rows (`rke(...)`, `closure(...)`, `info(...)`).
//!
//! A [`ProtocolAction`] is the unencoded message: a `VCSEC.UnsignedMessage` member for the body
//! controller, a `CarServer.VehicleAction` member for infotainment, or nothing (REST only).
//! [`ProtocolAction::encode`] gives the bytes a [`crate::tesla::command::Signer`] signs.

use prost::Message;

use super::Pin;
use crate::tesla::command::messages::car_server::hvac_seat_heater_actions::{
    hvac_seat_heater_action::{SeatHeaterLevel, SeatPosition},
    HvacSeatHeaterAction,
};
use crate::tesla::command::messages::car_server::{
    off_peak_charging_times, preconditioning_times, DrivingSpeedLimitAction, HvacSeatHeaterActions,
    OffPeakChargingTimes, Ping, PreconditioningTimes, ScheduledDepartureAction,
};
use crate::tesla::command::messages::{
    Action, ClosureMoveRequest, Domain, InformationRequest, InformationRequestType,
    UnsignedMessage, UnsignedSubMessage, VehicleActionMsg, Void,
};

/// What a command is on the wire when it is signed.
#[derive(Debug, Clone, PartialEq)]
pub enum ProtocolAction {
    /// Never signed: a plain Fleet API REST call (`wake_up`).
    Rest,
    /// For VCSEC, the body controller (locks, closures).
    Vcsec(UnsignedSubMessage),
    /// For infotainment (everything else).
    Infotainment(VehicleActionMsg),
}

impl ProtocolAction {
    pub fn domain(&self) -> Option<Domain> {
        match self {
            ProtocolAction::Rest => None,
            ProtocolAction::Vcsec(_) => Some(Domain::VehicleSecurity),
            ProtocolAction::Infotainment(_) => Some(Domain::Infotainment),
        }
    }

    /// The domain and the encoded payload (`VCSEC.UnsignedMessage` or `CarServer.Action`).
    pub fn encode(self) -> Option<(Domain, Vec<u8>)> {
        match self {
            ProtocolAction::Rest => None,
            ProtocolAction::Vcsec(m) => Some((
                Domain::VehicleSecurity,
                UnsignedMessage {
                    sub_message: Some(m),
                }
                .encode_to_vec(),
            )),
            ProtocolAction::Infotainment(m) => {
                Some((Domain::Infotainment, Action::vehicle(m).encode_to_vec()))
            }
        }
    }
}

/// Why a command has no payload.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ActionError {
    #[error(
        "{command} is a plain REST call and is never signed; send it through the Fleet API client"
    )]
    RestOnly { command: &'static str },
}

pub(super) fn void() -> Void {
    Void {}
}

pub(super) fn info(action: VehicleActionMsg) -> ProtocolAction {
    ProtocolAction::Infotainment(action)
}

pub(super) fn rke(action: crate::tesla::command::messages::RkeAction) -> ProtocolAction {
    ProtocolAction::Vcsec(UnsignedSubMessage::RkeAction(action as i32))
}

/// A `closureMoveRequest` with the closures `set` moves.
pub(super) fn closure(set: impl FnOnce(&mut ClosureMoveRequest)) -> ProtocolAction {
    let mut request = ClosureMoveRequest::default();
    set(&mut request);
    ProtocolAction::Vcsec(UnsignedSubMessage::ClosureMoveRequest(request))
}

/// `hvacSeatHeaterActions` for one seat, Tesla's REST numbering (seat 0–8, level 0–3).
pub(super) fn seat_heater(seat: u8, level: u8) -> ProtocolAction {
    let v = void();
    info(VehicleActionMsg::HvacSeatHeaterActions(
        HvacSeatHeaterActions {
            hvac_seat_heater_action: vec![HvacSeatHeaterAction {
                seat_heater_level: Some(match level {
                    0 => SeatHeaterLevel::SeatHeaterOff(v),
                    1 => SeatHeaterLevel::SeatHeaterLow(v),
                    2 => SeatHeaterLevel::SeatHeaterMed(v),
                    3 => SeatHeaterLevel::SeatHeaterHigh(v),
                    _ => SeatHeaterLevel::SeatHeaterUnknown(v),
                }),
                seat_position: Some(match seat {
                    0 => SeatPosition::CarSeatFrontLeft(v),
                    1 => SeatPosition::CarSeatFrontRight(v),
                    2 => SeatPosition::CarSeatRearLeft(v),
                    3 => SeatPosition::CarSeatRearLeftBack(v),
                    4 => SeatPosition::CarSeatRearCenter(v),
                    5 => SeatPosition::CarSeatRearRight(v),
                    6 => SeatPosition::CarSeatRearRightBack(v),
                    7 => SeatPosition::CarSeatThirdRowLeft(v),
                    8 => SeatPosition::CarSeatThirdRowRight(v),
                    _ => SeatPosition::CarSeatUnknown(v),
                }),
            }],
        },
    ))
}

/// `scheduledDepartureAction`, with the official proxy's rule for the week times: weekdays if
/// `weekdays_only`, else all week if `enabled`, else unset. Disabling sends `enabled: false` only.
pub(super) fn scheduled_departure(
    enable: bool,
    departure_time: u16,
    preconditioning: (bool, bool),
    off_peak: (bool, bool),
    end_off_peak_time: u16,
) -> ProtocolAction {
    // Weekdays if `weekdays_only`, else all week if `enabled`, else unset (the proxy's rule).
    let pick = |(enabled, weekdays_only): (bool, bool)| match (enabled, weekdays_only) {
        (_, true) => Some(true),
        (true, false) => Some(false),
        (false, false) => None,
    };
    let preconditioning_times = pick(preconditioning).map(|weekdays| PreconditioningTimes {
        times: Some(if weekdays {
            preconditioning_times::Times::Weekdays(void())
        } else {
            preconditioning_times::Times::AllWeek(void())
        }),
    });
    let off_peak_charging_times = pick(off_peak).map(|weekdays| OffPeakChargingTimes {
        times: Some(if weekdays {
            off_peak_charging_times::Times::Weekdays(void())
        } else {
            off_peak_charging_times::Times::AllWeek(void())
        }),
    });
    info(VehicleActionMsg::ScheduledDepartureAction(if enable {
        ScheduledDepartureAction {
            enabled: true,
            departure_time: i32::from(departure_time),
            preconditioning_times,
            off_peak_charging_times,
            off_peak_hours_end_time: i32::from(end_off_peak_time),
        }
    } else {
        ScheduledDepartureAction::default()
    }))
}

/// A PIN or password as the protobuf carries it (empty when absent).
pub(super) fn expose(pin: &Option<Pin>) -> String {
    pin.as_ref()
        .map(|p| p.expose().to_string())
        .unwrap_or_default()
}

pub(super) fn speed_limit(activate: bool, pin: &Pin) -> DrivingSpeedLimitAction {
    DrivingSpeedLimitAction {
        activate,
        pin: pin.expose().to_string(),
    }
}

/// `ping{ping_id}`: an authenticated no-op for infotainment, to check pairing and the session.
pub fn ping(ping_id: i32) -> (Domain, Vec<u8>) {
    let action = Action::vehicle(VehicleActionMsg::Ping(Ping { ping_id }));
    (Domain::Infotainment, action.encode_to_vec())
}

/// VCSEC `InformationRequest{GET_STATUS}`: lock and closure state, answered even while
/// infotainment sleeps.
pub fn vehicle_status_request() -> (Domain, Vec<u8>) {
    let msg = UnsignedMessage {
        sub_message: Some(UnsignedSubMessage::InformationRequest(InformationRequest {
            information_request_type: InformationRequestType::GetStatus as i32,
            key: None,
        })),
    };
    (Domain::VehicleSecurity, msg.encode_to_vec())
}
