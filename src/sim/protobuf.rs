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
use super::commands::gps_destination;
use crate::tesla::command::messages::car_server::{
    charging_start_stop_action::ChargingAction,
    hvac_seat_heater_actions::hvac_seat_heater_action::{SeatHeaterLevel, SeatPosition},
    media_update_volume::MediaVolume,
    vehicle_action::VehicleActionMsg as V,
    vehicle_control_sunroof_open_close_action::Action as SunroofAction,
    vehicle_control_window_action::Action as WindowActionKind,
};
use crate::tesla::command::messages::{
    Action as CarServerAction, ActionMsg, ClosureMoveType, Domain, RkeAction, UnsignedMessage,
    UnsignedSubMessage,
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

/// Minutes after midnight.
fn minutes(v: i32, param: &str) -> Result<u16, Refusal> {
    u16::try_from(v)
        .ok()
        .filter(|t| *t < 24 * 60)
        .ok_or_else(|| invalid(param))
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
        V::VehicleControlFlashLightsAction(_) => Action::FlashLights,
        V::VehicleControlHonkHornAction(_) => Action::HonkHorn,
        V::HvacAutoAction(a) if a.power_on => Action::ClimateOn,
        V::HvacAutoAction(_) => Action::ClimateOff,
        V::HvacTemperatureAdjustmentAction(t) => Action::SetTemps {
            driver: temperature(t.driver_temp_celsius, "driver_temp")?,
            passenger: temperature(t.passenger_temp_celsius, "passenger_temp")?,
        },
        V::VehicleControlSetSentryModeAction(a) => Action::SetSentryMode(a.on),
        V::ChargingStartStopAction(a) => match a.charging_action {
            Some(ChargingAction::Start(_)) => Action::ChargeStart,
            Some(ChargingAction::Stop(_)) => Action::ChargeStop,
            Some(ChargingAction::StartStandard(_)) => Action::SetChargeLimit(STANDARD_PERCENT),
            Some(ChargingAction::StartMaxRange(_)) => Action::SetChargeLimit(MAX_RANGE_PERCENT),
            _ => return Err(invalid("charging_action")),
        },
        V::ChargingSetLimitAction(a) => Action::SetChargeLimit(int(
            a.percent,
            i32::from(CHARGE_LIMIT_MIN)..=i32::from(CHARGE_LIMIT_MAX),
            "percent",
        )?),
        V::SetChargingAmpsAction(a) => Action::SetChargingAmps(int(
            a.charging_amps,
            1..=i32::from(CHARGE_AMPS_MAX),
            "charging_amps",
        )?),
        V::ChargePortDoorOpen(_) => Action::ChargePortDoorOpen,
        V::ChargePortDoorClose(_) => Action::ChargePortDoorClose,
        V::HvacSeatHeaterActions(a) => {
            let [seat] = a.hvac_seat_heater_action.as_slice() else {
                return Err(invalid("seat_position"));
            };
            // The simulated cars heat front left/right, rear left/centre/right (slots 0-4).
            let slot = match seat.seat_position {
                Some(SeatPosition::CarSeatFrontLeft(_)) => 0,
                Some(SeatPosition::CarSeatFrontRight(_)) => 1,
                Some(SeatPosition::CarSeatRearLeft(_)) => 2,
                Some(SeatPosition::CarSeatRearCenter(_)) => 3,
                Some(SeatPosition::CarSeatRearRight(_)) => 4,
                _ => return Err(invalid("seat_position")),
            };
            let level = match seat.seat_heater_level {
                Some(SeatHeaterLevel::SeatHeaterOff(_)) => 0,
                Some(SeatHeaterLevel::SeatHeaterLow(_)) => 1,
                Some(SeatHeaterLevel::SeatHeaterMed(_)) => 2,
                Some(SeatHeaterLevel::SeatHeaterHigh(_)) => 3,
                _ => return Err(invalid("level")),
            };
            Action::SeatHeater { seat: slot, level }
        }
        V::HvacClimateKeeperAction(a) => Action::ClimateKeeperMode(match a.climate_keeper_action {
            0 => "off",
            1 => "keep",
            2 => "dog",
            3 => "camp",
            _ => return Err(invalid("climate_keeper_mode")),
        }),
        V::VehicleControlSetValetModeAction(a) => {
            let pin_ok = a.password.is_empty()
                || (a.password.len() == 4 && a.password.bytes().all(|b| b.is_ascii_digit()));
            if !pin_ok {
                return Err(invalid("password"));
            }
            Action::SetValetMode(a.on)
        }
        V::VehicleControlWindowAction(a) => Action::Windows(match a.action {
            Some(WindowActionKind::Vent(_)) => Opening::Vent,
            Some(WindowActionKind::Close(_)) => Opening::Close,
            _ => return Err(invalid("command")),
        }),
        V::VehicleControlSunroofOpenCloseAction(a) => Action::SunRoof(match a.action {
            Some(SunroofAction::Vent(_)) => Opening::Vent,
            Some(SunroofAction::Close(_)) => Opening::Close,
            // Open and levels are not modelled (the simulated roof only vents).
            _ => return Err(invalid("state")),
        }),
        V::HvacSteeringWheelHeaterAction(a) => Action::SteeringWheelHeater(a.power_on),
        V::HvacBioweaponModeAction(a) => Action::BioweaponMode(a.on),
        V::SetCabinOverheatProtectionAction(a) => {
            Action::CabinOverheatProtection(match (a.on, a.fan_only) {
                (false, _) => "Off",
                (true, false) => "On",
                (true, true) => "FanOnly",
            })
        }
        V::HvacSetPreconditioningMaxAction(a) => Action::PreconditioningMax(a.on),
        V::MediaPlayAction(_)
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
        V::VehicleControlTriggerHomelinkAction(a) => {
            let location = a.location.ok_or_else(|| invalid("lat"))?;
            if !(-90.0..=90.0).contains(&location.latitude) {
                return Err(invalid("lat"));
            }
            if !(-180.0..=180.0).contains(&location.longitude) {
                return Err(invalid("lon"));
            }
            Action::TriggerHomelink
        }
        V::VehicleControlScheduleSoftwareUpdateAction(a) if a.offset_sec >= 0 => {
            Action::ScheduleSoftwareUpdate
        }
        V::VehicleControlScheduleSoftwareUpdateAction(_) => return Err(invalid("offset_sec")),
        V::SetVehicleNameAction(a) if !a.vehicle_name.is_empty() => {
            Action::SetVehicleName(a.vehicle_name)
        }
        V::SetVehicleNameAction(_) => return Err(invalid("vehicle_name")),
        V::VehicleControlCancelSoftwareUpdateAction(_) => Action::CancelSoftwareUpdate,
        V::BoomboxAction(_) => Action::Boombox,
        V::HvacSeatCoolerActions(a) => {
            let [seat] = a.hvac_seat_cooler_action.as_slice() else {
                return Err(invalid("seat_position"));
            };
            // HvacSeatCoolerPosition_E 1 front left, 2 front right; level 1 off … 4 high.
            Action::SeatCooler {
                seat: usize::from(int(seat.seat_position, 1..=2, "seat_position")? - 1),
                level: int(seat.seat_cooler_level, 1..=4, "seat_cooler_level")? - 1,
            }
        }
        V::StwHeatLevelAction(a) => Action::SteeringWheelHeatLevel(match a.stw_heat_level {
            1 => 0,
            2 => 1,
            3 => 3,
            _ => return Err(invalid("level")),
        }),
        V::AutoSeatClimateAction(a) => {
            let [seat] = a.carseat.as_slice() else {
                return Err(invalid("auto_seat_position"));
            };
            Action::AutoSeatClimate {
                seat: usize::from(int(seat.seat_position, 1..=2, "auto_seat_position")? - 1),
                on: seat.on,
            }
        }
        V::AutoStwHeatAction(a) => Action::AutoSteeringWheelHeat(a.on),
        // ClimateState.CopActivationTemp: 1 low, 2 medium, 3 high.
        V::SetCopTempAction(a) => {
            Action::CopTemp(int(a.cop_activation_temp, 1..=3, "cop_temp")? - 1)
        }
        V::GuestModeAction(a) => Action::GuestMode(a.guest_mode_active),
        V::SetLowPowerModeAction(a) => Action::LowPowerMode(a.low_power_mode),
        V::SetKeepAccessoryPowerModeAction(a) => {
            Action::KeepAccessoryPower(a.keep_accessory_power_mode)
        }
        V::UpdateChargeOnSolarFeatureRequest(a) => {
            let f = a
                .charge_on_solar
                .ok_or_else(|| invalid("charge_on_solar"))?;
            let level = |v: f32, name| {
                let v = f64::from(v);
                (0.0..=100.0)
                    .contains(&v)
                    .then_some(v)
                    .ok_or_else(|| invalid(name))
            };
            Action::ChargeOnSolar {
                enabled: f.enabled,
                lower: level(f.lower_charge_limit, "lower_charge_limit")?,
                upper: level(f.upper_charge_limit, "upper_charge_limit")?,
            }
        }
        V::ScheduledChargingAction(a) => {
            Action::ScheduledCharging(a.enabled.then_some(minutes(a.charging_time, "time")?))
        }
        V::ScheduledDepartureAction(a) => Action::ScheduledDeparture(
            a.enabled
                .then_some(minutes(a.departure_time, "departure_time")?),
        ),
        V::NavigationRequest(a) if !a.destination.trim().is_empty() => {
            Action::Navigate(a.destination)
        }
        V::NavigationRequest(_) => return Err(invalid("value")),
        V::NavigationGpsRequest(a) => {
            if !(-90.0..=90.0).contains(&a.lat) {
                return Err(invalid("lat"));
            }
            if !(-180.0..=180.0).contains(&a.lon) {
                return Err(invalid("lon"));
            }
            Action::Navigate(gps_destination(a.lat, a.lon))
        }
        // Everything else is a real action the simulated cars do not model.
        _ => return Err(unsupported()),
    };
    Ok(Request::Act(action))
}

#[cfg(test)]
mod tests {
    use std::time::UNIX_EPOCH;

    use super::*;
    use crate::sim::car::{Car, Control};
    use crate::sim::commands::{self, Params, COMMANDS};
    use crate::sim::SimState;
    // The client side of the wire: what the daemon sends. The car's side above never uses it.
    use crate::tesla::commands::tests::all_commands;
    use crate::tesla::commands::NAMES;

    /// A plugged-in 2018 Model S (it has a sunroof and a pending update), awake.
    fn car() -> Car {
        let mut car = Car::demo(1, SimState::Online, UNIX_EPOCH);
        car.control(Control::PlugIn, UNIX_EPOCH).unwrap();
        car
    }

    /// What a car does with one command: the outcome and its state afterwards.
    fn run(action: Result<Action, String>) -> (Result<(), String>, String) {
        let mut car = car();
        let outcome = action.and_then(|a| car.apply(&a, UNIX_EPOCH));
        (outcome, format!("{car:?}"))
    }

    /// The test that catches the daemon's mistakes: for every command in the daemon's table, the
    /// car's REST reading of its REST body and its own reading of its signed payload must change
    /// the car the same way (or refuse it with the same reason).
    #[test]
    fn rest_and_signed_paths_change_the_car_the_same_way_for_every_command() {
        let untouched = format!("{:?}", car());
        let mut changed = 0;
        let mut unmodelled = Vec::new();
        for cmd in all_commands() {
            let name = cmd.name();
            let Ok((domain, payload)) = cmd.encode() else {
                assert_eq!(name, "wake_up");
                continue;
            };
            let signed = match read(domain, &payload) {
                Ok(Request::Act(action)) => Ok(action),
                Ok(other) => panic!("{name}: decoded as {other:?}"),
                Err(Refusal::Refused(reason)) => Err(reason),
                Err(Refusal::NotACommand) => panic!("{name}: the car cannot read its payload"),
            };
            let Some(spec) = commands::find(name) else {
                // Not modelled: REST answers 400 invalid_command, the signed path not_supported.
                assert_eq!(signed, Err(NOT_SUPPORTED.to_string()), "{name}");
                unmodelled.push(name);
                continue;
            };
            let body = cmd.rest_body();
            let rest = spec
                .parse(&Params(body.as_object().unwrap()))
                .map_err(|e| e.reason());
            let (rest_outcome, rest_state) = run(rest);
            let (signed_outcome, signed_state) = run(signed);
            assert_eq!(rest_outcome, signed_outcome, "{name}: outcome");
            assert_eq!(rest_state, signed_state, "{name}: state");
            if rest_state != untouched {
                changed += 1;
            }
        }
        // Not vacuous: most modelled commands change something on this car.
        assert!(changed >= 28, "only {changed} commands changed the car");
        assert!(unmodelled.len() < NAMES.len() / 2, "{unmodelled:?}");
    }

    #[test]
    fn every_rest_command_of_the_sim_is_in_the_daemons_table() {
        for spec in COMMANDS {
            assert!(NAMES.contains(&spec.name), "{}", spec.name);
        }
    }

    #[test]
    fn the_car_refuses_what_it_cannot_read() {
        assert_eq!(
            read(Domain::Infotainment, b"\xff"),
            Err(Refusal::NotACommand)
        );
        // getVehicleData (field 1) is not an action.
        assert_eq!(
            read(Domain::Infotainment, &hex::decode("12020a00").unwrap()),
            Err(Refusal::NotACommand)
        );
        // RKE_ACTION_WAKE_VEHICLE is Bluetooth only.
        assert_eq!(
            read(Domain::VehicleSecurity, &hex::decode("101e").unwrap()),
            Err(Refusal::NotACommand)
        );
        // A charge limit out of the car's range, as a buggy client would encode it.
        assert_eq!(
            read(Domain::Infotainment, &hex::decode("12042a020814").unwrap()),
            Err(Refusal::Refused("invalid percent param".into()))
        );
        assert_eq!(
            read(Domain::VehicleSecurity, &hex::decode("0a00").unwrap()),
            Ok(Request::Information(0))
        );
        assert_eq!(
            read(
                Domain::Infotainment,
                &hex::decode("1205f202020801").unwrap()
            ),
            Ok(Request::Ping)
        );
        // Python-style set_temps (no `level`) reads the same.
        assert_eq!(
            read(
                Domain::Infotainment,
                &hex::decode("120c720a350000ac413d0000ac41").unwrap()
            ),
            Ok(Request::Act(Action::SetTemps {
                driver: 21.5,
                passenger: 21.5
            }))
        );
    }
}
