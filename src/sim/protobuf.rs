//! `sim::protobuf`: how a simulated car reads a verified signed payload — a `VCSEC.UnsignedMessage`
//! or a `CarServer.Action` — into its own [`Action`], with its own checks.
//!
//! This is the car's side, written independently of the daemon's command table: it shares only
//! the protobuf schemas (a wire format), so a daemon that encodes a field wrongly is caught here
//! instead of agreeing with itself. Values the car would not accept are refused the way the REST
//! path refuses them (`invalid <param> param`); actions the simulated cars do not model answer
//! `not_supported`; anything that is not an action at all is the `INVALID_COMMAND` fault.

use prost::Message;

use super::action::{Action, Opening, Trunk, MAX_RANGE_PERCENT, NOT_SUPPORTED, STANDARD_PERCENT};
use super::car::{CHARGE_AMPS_MAX, CHARGE_LIMIT_MAX, CHARGE_LIMIT_MIN, MAX_TEMP_C, MIN_TEMP_C};
use crate::tesla::command::messages::{
    Action as CarServerAction, ActionMsg, ChargingAction, ClosureMoveType, Domain, MediaVolume,
    RkeAction, SeatHeaterLevel, SeatPosition, SunroofAction, UnsignedMessage, UnsignedSubMessage,
    VehicleActionMsg as V, WindowActionKind,
};

/// What a verified payload asks the car for.
#[derive(Debug, Clone, PartialEq)]
pub enum Request {
    Act(Action),
    /// An authenticated no-op.
    Ping,
    /// A VCSEC information request (`GET_STATUS` = 0).
    Information(i32),
}

/// Why the car will not act on a payload.
#[derive(Debug, Clone, PartialEq)]
pub enum Refusal {
    /// Not an action the car can read at all (protocol fault `INVALID_COMMAND`).
    NotACommand,
    /// Understood, but refused with this `reason` (`invalid percent param`, `not_supported`).
    Refused(String),
}

fn invalid(param: &str) -> Refusal {
    Refusal::Refused(format!("invalid {param} param"))
}

fn unsupported() -> Refusal {
    Refusal::Refused(NOT_SUPPORTED.into())
}

/// Reads a payload addressed to `domain`.
pub fn read(domain: Domain, payload: &[u8]) -> Result<Request, Refusal> {
    match domain {
        Domain::VehicleSecurity => read_vcsec(payload),
        _ => read_infotainment(payload),
    }
}

fn read_vcsec(payload: &[u8]) -> Result<Request, Refusal> {
    let msg = UnsignedMessage::decode(payload).map_err(|_| Refusal::NotACommand)?;
    let action = match msg.sub_message.ok_or(Refusal::NotACommand)? {
        UnsignedSubMessage::RkeAction(a) => match RkeAction::try_from(a) {
            Ok(RkeAction::Lock) => Action::DoorLock,
            Ok(RkeAction::Unlock) => Action::DoorUnlock,
            Ok(RkeAction::RemoteDrive) => Action::RemoteStartDrive,
            _ => return Err(Refusal::NotACommand),
        },
        UnsignedSubMessage::ClosureMoveRequest(c) => {
            let moves = |x: i32| x == ClosureMoveType::Move as i32;
            if moves(c.rear_trunk) {
                Action::ActuateTrunk(Trunk::Rear)
            } else if moves(c.front_trunk) {
                Action::ActuateTrunk(Trunk::Front)
            } else if c.tonneau != ClosureMoveType::None as i32 {
                // No simulated car is a Cybertruck.
                return Err(unsupported());
            } else {
                return Err(invalid("closure"));
            }
        }
        UnsignedSubMessage::InformationRequest(r) => {
            return Ok(Request::Information(r.information_request_type))
        }
    };
    Ok(Request::Act(action))
}

/// An integer field in `range`, or the refusal naming it.
fn int(v: i32, range: std::ops::RangeInclusive<i32>, param: &str) -> Result<u8, Refusal> {
    if range.contains(&v) {
        u8::try_from(v).map_err(|_| invalid(param))
    } else {
        Err(invalid(param))
    }
}

/// A cabin set point: the protobuf carries an `f32`; the car rounds to its 0.5 °C grid.
fn temperature(celsius: f32, param: &str) -> Result<f64, Refusal> {
    let t = (f64::from(celsius) * 2.0).round() / 2.0;
    if (MIN_TEMP_C..=MAX_TEMP_C).contains(&t) {
        Ok(t)
    } else {
        Err(invalid(param))
    }
}

fn read_infotainment(payload: &[u8]) -> Result<Request, Refusal> {
    let action = CarServerAction::decode(payload).map_err(|_| Refusal::NotACommand)?;
    let Some(ActionMsg::VehicleAction(va)) = action.action_msg else {
        return Err(Refusal::NotACommand);
    };
    let msg = va.vehicle_action_msg.ok_or(Refusal::NotACommand)?;
    let action = match msg {
        V::Ping(_) => return Ok(Request::Ping),
        V::FlashLights(_) => Action::FlashLights,
        V::HonkHorn(_) => Action::HonkHorn,
        V::HvacAuto(a) if a.power_on => Action::ClimateOn,
        V::HvacAuto(_) => Action::ClimateOff,
        V::HvacTemperatureAdjustment(t) => Action::SetTemps {
            driver: temperature(t.driver_temp_celsius, "driver_temp")?,
            passenger: temperature(t.passenger_temp_celsius, "passenger_temp")?,
        },
        V::SetSentryMode(a) => Action::SetSentryMode(a.on),
        V::ChargingStartStop(a) => match a.charging_action {
            Some(ChargingAction::Start(_)) => Action::ChargeStart,
            Some(ChargingAction::Stop(_)) => Action::ChargeStop,
            Some(ChargingAction::StartStandard(_)) => Action::SetChargeLimit(STANDARD_PERCENT),
            Some(ChargingAction::StartMaxRange(_)) => Action::SetChargeLimit(MAX_RANGE_PERCENT),
            _ => return Err(invalid("charging_action")),
        },
        V::ChargingSetLimit(a) => Action::SetChargeLimit(int(
            a.percent,
            i32::from(CHARGE_LIMIT_MIN)..=i32::from(CHARGE_LIMIT_MAX),
            "percent",
        )?),
        V::SetChargingAmps(a) => Action::SetChargingAmps(int(
            a.charging_amps,
            1..=i32::from(CHARGE_AMPS_MAX),
            "charging_amps",
        )?),
        V::ChargePortDoorOpen(_) => Action::ChargePortDoorOpen,
        V::ChargePortDoorClose(_) => Action::ChargePortDoorClose,
        V::HvacSeatHeater(a) => {
            let [seat] = a.hvac_seat_heater_action.as_slice() else {
                return Err(invalid("seat_position"));
            };
            // The simulated cars heat front left/right, rear left/centre/right (slots 0-4).
            let slot = match seat.seat_position {
                Some(SeatPosition::FrontLeft(_)) => 0,
                Some(SeatPosition::FrontRight(_)) => 1,
                Some(SeatPosition::RearLeft(_)) => 2,
                Some(SeatPosition::RearCenter(_)) => 3,
                Some(SeatPosition::RearRight(_)) => 4,
                _ => return Err(invalid("seat_position")),
            };
            let level = match seat.seat_heater_level {
                Some(SeatHeaterLevel::Off(_)) => 0,
                Some(SeatHeaterLevel::Low(_)) => 1,
                Some(SeatHeaterLevel::Med(_)) => 2,
                Some(SeatHeaterLevel::High(_)) => 3,
                _ => return Err(invalid("level")),
            };
            Action::SeatHeater { seat: slot, level }
        }
        V::HvacClimateKeeper(a) => Action::ClimateKeeperMode(match a.climate_keeper_action {
            0 => "off",
            1 => "keep",
            2 => "dog",
            3 => "camp",
            _ => return Err(invalid("climate_keeper_mode")),
        }),
        V::SetValetMode(a) => {
            let pin_ok = a.password.is_empty()
                || (a.password.len() == 4 && a.password.bytes().all(|b| b.is_ascii_digit()));
            if !pin_ok {
                return Err(invalid("password"));
            }
            Action::SetValetMode(a.on)
        }
        V::Window(a) => Action::Windows(match a.action {
            Some(WindowActionKind::Vent(_)) => Opening::Vent,
            Some(WindowActionKind::Close(_)) => Opening::Close,
            _ => return Err(invalid("command")),
        }),
        V::SunroofOpenClose(a) => Action::SunRoof(match a.action {
            Some(SunroofAction::Vent(_)) => Opening::Vent,
            Some(SunroofAction::Close(_)) => Opening::Close,
            // Open and levels are not modelled (the simulated roof only vents).
            _ => return Err(invalid("state")),
        }),
        V::HvacSteeringWheelHeater(a) => Action::SteeringWheelHeater(a.power_on),
        V::HvacBioweaponMode(a) => Action::BioweaponMode(a.on),
        V::SetCabinOverheatProtection(a) => {
            Action::CabinOverheatProtection(match (a.on, a.fan_only) {
                (false, _) => "Off",
                (true, false) => "On",
                (true, true) => "FanOnly",
            })
        }
        V::HvacSetPreconditioningMax(a) => Action::PreconditioningMax(a.on),
        V::MediaPlay(_)
        | V::MediaNextTrack(_)
        | V::MediaPreviousTrack(_)
        | V::MediaNextFavorite(_)
        | V::MediaPreviousFavorite(_) => Action::Media,
        V::MediaUpdateVolume(a) => match a.media_volume {
            Some(MediaVolume::VolumeAbsoluteFloat(v)) if (0.0..=11.0).contains(&v) => {
                // The float on the wire, back to the decimal a client meant (5.5, not 5.5000…).
                Action::AdjustVolume((f64::from(v) * 100.0).round() / 100.0)
            }
            Some(MediaVolume::VolumeAbsoluteFloat(_)) => return Err(invalid("volume")),
            Some(MediaVolume::VolumeDelta(_)) => Action::Media,
            None => return Err(invalid("volume")),
        },
        V::TriggerHomelink(a) => {
            let location = a.location.ok_or_else(|| invalid("lat"))?;
            if !(-90.0..=90.0).contains(&location.latitude) {
                return Err(invalid("lat"));
            }
            if !(-180.0..=180.0).contains(&location.longitude) {
                return Err(invalid("lon"));
            }
            Action::TriggerHomelink
        }
        V::ScheduleSoftwareUpdate(a) if a.offset_sec >= 0 => Action::ScheduleSoftwareUpdate,
        V::ScheduleSoftwareUpdate(_) => return Err(invalid("offset_sec")),
        V::SetVehicleName(a) if !a.vehicle_name.is_empty() => {
            Action::SetVehicleName(a.vehicle_name)
        }
        V::SetVehicleName(_) => return Err(invalid("vehicle_name")),
        // Everything else is a real action the simulated cars do not model.
        _ => return Err(unsupported()),
    };
    Ok(Request::Act(action))
}
