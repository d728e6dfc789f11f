//! `tesla::command::actions`: turns a [`Command`] into the protobuf payload a domain expects
//! (`VCSEC.UnsignedMessage` or `CarServer.Action`, spec §9) and back.
//!
//! [`encode`] is what the executor signs; [`decode`] is what the simulator's car reads after the
//! verifier accepted a command. The decoded form is [`Command`] itself (re-validated through
//! [`Command::parse`], so a car never acts on values a client could not have sent), plus the few
//! non-command requests a client may make ([`Decoded::Ping`], [`Decoded::InformationRequest`]).
//!
//! Owns the Command ↔ protobuf mapping only; names, REST bodies and validation live in
//! `vehicle::command`, whose [`Route`](crate::vehicle::command::Route) a test checks against the
//! field each payload actually uses.

use prost::Message;

use super::messages::{
    Action, ActionMsg, ActivatePinAction, AutoSeatCarSeat, AutoSeatClimateAction,
    BatchRemoveSchedulesAction, BoomboxAction, CabinOverheatProtectionAction, ChargeSchedule,
    ChargingAction, ChargingSetLimitAction, ChargingStartStopAction, ClimateKeeperActionKind,
    ClosureMoveRequest, ClosureMoveType, Domain, EraseUserDataAction, GuestModeAction,
    HvacAutoAction, HvacClimateKeeperAction, HvacSeatCoolerAction, HvacSeatCoolerActions,
    HvacSeatHeaterAction, HvacSeatHeaterActions, HvacSetPreconditioningMaxAction,
    HvacTemperatureAdjustmentAction, InformationRequest, InformationRequestType,
    KeepAccessoryPowerModeAction, LatLong, LowPowerModeAction, MediaUpdateVolume, MediaVolume,
    NavigationGpsRequest, NavigationRequest, NavigationSuperchargerRequest,
    NavigationWaypointsRequest, OnAction, OnOverrideAction, OnPasswordAction,
    ParentalControlsEnableSettingsAction, PinAction, Ping, PowerOnAction, PreconditionSchedule,
    RemoveScheduleAction, RkeAction, ScheduleSoftwareUpdateAction, ScheduledChargingAction,
    ScheduledDepartureAction, SeatHeaterLevel, SeatPosition, SetChargingAmpsAction,
    SetCopTempAction, SetSpeedLimitAction, SetVehicleNameAction, StwHeatLevelAction, SunroofAction,
    SunroofOpenCloseAction, TemperatureLevel, TemperatureType, TriggerHomelinkAction,
    UnsignedMessage, UnsignedSubMessage, VehicleActionMsg, Void, WeekTimes, WeekTimesKind,
    WindowAction, WindowActionKind,
};
use crate::vehicle::command::{
    ClimateKeeperMode, Command, CommandError, CopTemp, DaysOfWeek, ParentalControlsSetting, Pin,
    ShareText, SteeringWheelHeatLevel, SunroofState, Trunk, WindowCommand,
};

/// Why a command has no payload or a payload is not a command.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ActionError {
    #[error(
        "{command} is a plain REST call and is never signed; send it through the Fleet API client"
    )]
    RestOnly { command: &'static str },
    #[error(
        "the {domain} payload does not decode as a command ({detail}); check the client's encoder"
    )]
    Decode { domain: Domain, detail: String },
    #[error("the {domain} payload holds no action TeslaSync knows ({what}); the client is newer than this decoder")]
    Unsupported { domain: Domain, what: String },
    #[error("the {domain} payload's {field} is out of range; check the client's encoder")]
    BadValue { domain: Domain, field: &'static str },
    #[error("the decoded command is not valid: {0}")]
    Invalid(#[from] CommandError),
}

/// What a decoded payload asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum Decoded {
    Command(Command),
    /// An authenticated no-op (infotainment `ping`); clients use it to check pairing.
    Ping {
        ping_id: i32,
    },
    /// A VCSEC information request (`GET_STATUS` = 0: lock and closure state).
    InformationRequest {
        request_type: i32,
    },
}

/// The domain and encoded payload for `cmd`; sign the payload with that domain's signer.
pub fn encode(cmd: &Command) -> Result<(Domain, Vec<u8>), ActionError> {
    use Command as C;
    use VehicleActionMsg as A;
    let vcsec = |m: UnsignedSubMessage| {
        Ok((
            Domain::VehicleSecurity,
            UnsignedMessage {
                sub_message: Some(m),
            }
            .encode_to_vec(),
        ))
    };
    let rke = |a: RkeAction| vcsec(UnsignedSubMessage::RkeAction(a as i32));
    let closure = |c: ClosureMoveRequest| vcsec(UnsignedSubMessage::ClosureMoveRequest(c));
    let v = Void {};
    let action = match cmd {
        C::WakeUp => {
            return Err(ActionError::RestOnly {
                command: cmd.name(),
            })
        }

        C::DoorLock => return rke(RkeAction::Lock),
        C::DoorUnlock => return rke(RkeAction::Unlock),
        C::RemoteStartDrive => return rke(RkeAction::RemoteDrive),
        C::ActuateTrunk { which } => {
            let mut c = ClosureMoveRequest::default();
            match which {
                Trunk::Rear => c.rear_trunk = ClosureMoveType::Move as i32,
                Trunk::Front => c.front_trunk = ClosureMoveType::Move as i32,
            }
            return closure(c);
        }
        C::OpenTonneau | C::CloseTonneau | C::StopTonneau => {
            let movement = match cmd {
                C::OpenTonneau => ClosureMoveType::Open,
                C::CloseTonneau => ClosureMoveType::Close,
                _ => ClosureMoveType::Stop,
            };
            return closure(ClosureMoveRequest {
                tonneau: movement as i32,
                ..Default::default()
            });
        }

        C::FlashLights => A::FlashLights(v),
        C::HonkHorn => A::HonkHorn(v),
        C::RemoteBoombox { sound } => A::Boombox(BoomboxAction { sound: *sound }),

        C::AutoConditioningStart | C::AutoConditioningStop => A::HvacAuto(HvacAutoAction {
            power_on: matches!(cmd, C::AutoConditioningStart),
            manual_override: false,
        }),
        C::SetTemps {
            driver_temp,
            passenger_temp,
        } => A::HvacTemperatureAdjustment(HvacTemperatureAdjustmentAction {
            level: Some(TemperatureLevel {
                r#type: Some(TemperatureType::Max(v)),
            }),
            driver_temp_celsius: *driver_temp as f32,
            passenger_temp_celsius: *passenger_temp as f32,
        }),
        C::SetPreconditioningMax {
            on,
            manual_override,
        } => A::HvacSetPreconditioningMax(HvacSetPreconditioningMaxAction {
            on: *on,
            manual_override: *manual_override,
        }),
        C::SetBioweaponMode {
            on,
            manual_override,
        } => A::HvacBioweaponMode(OnOverrideAction {
            on: *on,
            manual_override: *manual_override,
        }),
        C::SetCabinOverheatProtection { on, fan_only } => {
            A::SetCabinOverheatProtection(CabinOverheatProtectionAction {
                on: *on,
                fan_only: *fan_only,
            })
        }
        C::SetCopTemp { cop_temp } => A::SetCopTemp(SetCopTempAction {
            // ClimateState.CopActivationTemp: 0 is "unspecified", so REST 0/1/2 → 1/2/3.
            cop_activation_temp: i32::from(cop_temp.rest_value()) + 1,
        }),
        C::SetClimateKeeperMode {
            climate_keeper_mode,
            manual_override,
        } => A::HvacClimateKeeper(HvacClimateKeeperAction {
            climate_keeper_action: match climate_keeper_mode {
                ClimateKeeperMode::Off => ClimateKeeperActionKind::Off,
                ClimateKeeperMode::On => ClimateKeeperActionKind::On,
                ClimateKeeperMode::Dog => ClimateKeeperActionKind::Dog,
                ClimateKeeperMode::Camp => ClimateKeeperActionKind::Camp,
            } as i32,
            manual_override: *manual_override,
        }),
        C::RemoteSeatHeaterRequest {
            seat_position,
            level,
        } => A::HvacSeatHeater(HvacSeatHeaterActions {
            hvac_seat_heater_action: vec![HvacSeatHeaterAction {
                seat_heater_level: Some(match level {
                    0 => SeatHeaterLevel::Off(v),
                    1 => SeatHeaterLevel::Low(v),
                    2 => SeatHeaterLevel::Med(v),
                    3 => SeatHeaterLevel::High(v),
                    _ => SeatHeaterLevel::Unknown(v),
                }),
                seat_position: Some(match seat_position {
                    0 => SeatPosition::FrontLeft(v),
                    1 => SeatPosition::FrontRight(v),
                    2 => SeatPosition::RearLeft(v),
                    3 => SeatPosition::RearLeftBack(v),
                    4 => SeatPosition::RearCenter(v),
                    5 => SeatPosition::RearRight(v),
                    6 => SeatPosition::RearRightBack(v),
                    7 => SeatPosition::ThirdRowLeft(v),
                    8 => SeatPosition::ThirdRowRight(v),
                    _ => SeatPosition::Unknown(v),
                }),
            }],
        }),
        C::RemoteSeatCoolerRequest {
            seat_position,
            seat_cooler_level,
        } => A::HvacSeatCooler(HvacSeatCoolerActions {
            hvac_seat_cooler_action: vec![HvacSeatCoolerAction {
                // HvacSeatCoolerLevel_E: 0 is "unknown", so REST 0..3 → 1..4.
                seat_cooler_level: i32::from(*seat_cooler_level) + 1,
                seat_position: i32::from(*seat_position),
            }],
        }),
        C::RemoteAutoSeatClimateRequest {
            auto_seat_position,
            auto_climate_on,
        } => A::AutoSeatClimate(AutoSeatClimateAction {
            carseat: vec![AutoSeatCarSeat {
                on: *auto_climate_on,
                seat_position: i32::from(*auto_seat_position),
            }],
        }),
        C::RemoteSteeringWheelHeaterRequest { on } => {
            A::HvacSteeringWheelHeater(PowerOnAction { power_on: *on })
        }
        C::RemoteSteeringWheelHeatLevelRequest { level } => {
            A::StwHeatLevel(StwHeatLevelAction {
                // common.proto StwHeatLevel: 1 off, 2 low, 3 high.
                stw_heat_level: match level {
                    SteeringWheelHeatLevel::Off => 1,
                    SteeringWheelHeatLevel::Low => 2,
                    SteeringWheelHeatLevel::High => 3,
                },
            })
        }
        C::RemoteAutoSteeringWheelHeatClimateRequest { on } => A::AutoStwHeat(OnAction { on: *on }),

        C::ChargeStart | C::ChargeStop | C::ChargeStandard | C::ChargeMaxRange => {
            A::ChargingStartStop(ChargingStartStopAction {
                charging_action: Some(match cmd {
                    C::ChargeStart => ChargingAction::Start(v),
                    C::ChargeStop => ChargingAction::Stop(v),
                    C::ChargeStandard => ChargingAction::StartStandard(v),
                    _ => ChargingAction::StartMaxRange(v),
                }),
            })
        }
        C::SetChargeLimit { percent } => A::ChargingSetLimit(ChargingSetLimitAction {
            percent: i32::from(*percent),
        }),
        C::SetChargingAmps { charging_amps } => A::SetChargingAmps(SetChargingAmpsAction {
            charging_amps: i32::from(*charging_amps),
        }),
        C::ChargePortDoorOpen => A::ChargePortDoorOpen(v),
        C::ChargePortDoorClose => A::ChargePortDoorClose(v),
        C::SetScheduledCharging { enable, time } => A::ScheduledCharging(ScheduledChargingAction {
            enabled: *enable,
            charging_time: i32::from(*time),
        }),
        C::SetScheduledDeparture {
            enable,
            departure_time,
            preconditioning_enabled,
            preconditioning_weekdays_only,
            off_peak_charging_enabled,
            off_peak_charging_weekdays_only,
            end_off_peak_time,
        } => A::ScheduledDeparture(if *enable {
            ScheduledDepartureAction {
                enabled: true,
                departure_time: i32::from(*departure_time),
                preconditioning_times: week_times(
                    *preconditioning_enabled,
                    *preconditioning_weekdays_only,
                ),
                off_peak_charging_times: week_times(
                    *off_peak_charging_enabled,
                    *off_peak_charging_weekdays_only,
                ),
                off_peak_hours_end_time: i32::from(*end_off_peak_time),
            }
        } else {
            ScheduledDepartureAction::default()
        }),
        C::AddChargeSchedule {
            days_of_week,
            enabled,
            start_enabled,
            start_time,
            end_enabled,
            end_time,
            lat,
            lon,
            one_time,
            id,
            name,
        } => A::AddChargeSchedule(ChargeSchedule {
            id: *id,
            name: name.clone(),
            days_of_week: i32::from(days_of_week.0),
            start_enabled: *start_enabled,
            start_time: i32::from(*start_time),
            end_enabled: *end_enabled,
            end_time: i32::from(*end_time),
            one_time: *one_time,
            enabled: *enabled,
            latitude: *lat as f32,
            longitude: *lon as f32,
        }),
        C::AddPreconditionSchedule {
            days_of_week,
            enabled,
            precondition_time,
            lat,
            lon,
            one_time,
            id,
            name,
        } => A::AddPreconditionSchedule(PreconditionSchedule {
            id: *id,
            name: name.clone(),
            days_of_week: i32::from(days_of_week.0),
            precondition_time: i32::from(*precondition_time),
            one_time: *one_time,
            enabled: *enabled,
            latitude: *lat as f32,
            longitude: *lon as f32,
        }),
        C::RemoveChargeSchedule { id } => A::RemoveChargeSchedule(RemoveScheduleAction { id: *id }),
        C::RemovePreconditionSchedule { id } => {
            A::RemovePreconditionSchedule(RemoveScheduleAction { id: *id })
        }
        C::BatchRemoveChargeSchedules { home, work, other } => {
            A::BatchRemoveChargeSchedules(BatchRemoveSchedulesAction {
                home: *home,
                work: *work,
                other: *other,
            })
        }
        C::BatchRemovePreconditionSchedules { home, work, other } => {
            A::BatchRemovePreconditionSchedules(BatchRemoveSchedulesAction {
                home: *home,
                work: *work,
                other: *other,
            })
        }

        C::SetSentryMode { on } => A::SetSentryMode(OnAction { on: *on }),
        C::SetValetMode { on, password } => A::SetValetMode(on_password(*on, password)),
        C::ResetValetPin => A::ResetValetPin(v),
        C::SetPinToDrive { on, password } => A::SetPinToDrive(on_password(*on, password)),
        C::ResetPinToDrivePin => A::ResetPinToDrive(v),
        C::ClearPinToDriveAdmin => A::ResetPinToDriveAdmin(v),
        C::SpeedLimitActivate { pin } => A::DrivingSpeedLimit(activate(true, pin)),
        C::SpeedLimitDeactivate { pin } => A::DrivingSpeedLimit(activate(false, pin)),
        C::SpeedLimitSetLimit { limit_mph } => A::DrivingSetSpeedLimit(SetSpeedLimitAction {
            limit_mph: *limit_mph,
        }),
        C::SpeedLimitClearPin { pin } => A::DrivingClearSpeedLimitPin(PinAction {
            pin: pin.expose().to_string(),
        }),
        C::SpeedLimitClearPinAdmin => A::DrivingClearSpeedLimitPinAdmin(v),
        C::ParentalControlsActivate { pin } => A::ParentalControls(activate(true, pin)),
        C::ParentalControlsDeactivate { pin } => A::ParentalControls(activate(false, pin)),
        C::ParentalControlsEnableSetting { setting, enable } => {
            A::ParentalControlsEnableSettings(ParentalControlsEnableSettingsAction {
                setting: parental_setting_index(*setting),
                enable: *enable,
            })
        }
        C::ParentalControlsSetSpeedLimit { limit_mph } => {
            A::ParentalControlsSetSpeedLimit(SetSpeedLimitAction {
                limit_mph: *limit_mph,
            })
        }
        C::ParentalControlsClearPinAdmin => A::ParentalControlsClearPinAdmin(v),
        C::GuestMode { enable } => A::GuestMode(GuestModeAction {
            guest_mode_active: *enable,
        }),
        C::EraseUserData => A::EraseUserData(EraseUserDataAction::default()),

        C::SetVehicleName { vehicle_name } => A::SetVehicleName(SetVehicleNameAction {
            vehicle_name: vehicle_name.clone(),
        }),
        C::SetLowPowerMode { enable } => A::SetLowPowerMode(LowPowerModeAction {
            low_power_mode: *enable,
        }),
        C::KeepAccessoryPowerMode { enable } => {
            A::SetKeepAccessoryPowerMode(KeepAccessoryPowerModeAction {
                keep_accessory_power_mode: *enable,
            })
        }
        C::WindowControl { command } => A::Window(WindowAction {
            action: Some(match command {
                WindowCommand::Vent => WindowActionKind::Vent(v),
                WindowCommand::Close => WindowActionKind::Close(v),
            }),
        }),
        C::SunRoofControl { state } => A::SunroofOpenClose(SunroofOpenCloseAction {
            sunroof_level: None,
            action: Some(match state {
                SunroofState::Vent => SunroofAction::Vent(v),
                SunroofState::Close => SunroofAction::Close(v),
                SunroofState::Open => SunroofAction::Open(v),
            }),
        }),
        C::TriggerHomelink { lat, lon } => A::TriggerHomelink(TriggerHomelinkAction {
            location: Some(LatLong {
                latitude: *lat as f32,
                longitude: *lon as f32,
            }),
            token: String::new(),
        }),
        C::ScheduleSoftwareUpdate { offset_sec } => {
            A::ScheduleSoftwareUpdate(ScheduleSoftwareUpdateAction {
                offset_sec: i32::try_from(*offset_sec).unwrap_or(i32::MAX),
            })
        }
        C::CancelSoftwareUpdate => A::CancelSoftwareUpdate(v),

        C::AdjustVolume { volume } => A::MediaUpdateVolume(MediaUpdateVolume {
            media_volume: Some(MediaVolume::VolumeAbsoluteFloat(*volume as f32)),
        }),
        C::MediaVolumeUp => A::MediaUpdateVolume(MediaUpdateVolume {
            media_volume: Some(MediaVolume::VolumeDelta(1)),
        }),
        C::MediaVolumeDown => A::MediaUpdateVolume(MediaUpdateVolume {
            media_volume: Some(MediaVolume::VolumeDelta(-1)),
        }),
        C::MediaTogglePlayback => A::MediaPlay(v),
        C::MediaNextTrack => A::MediaNextTrack(v),
        C::MediaPrevTrack => A::MediaPreviousTrack(v),
        C::MediaNextFav => A::MediaNextFavorite(v),
        C::MediaPrevFav => A::MediaPreviousFavorite(v),

        C::NavigationRequest { destination } => A::NavigationRequest(NavigationRequest {
            destination: destination.0.clone(),
            order: 0,
        }),
        C::NavigationGpsRequest { lat, lon, order } => {
            A::NavigationGpsRequest(NavigationGpsRequest {
                lat: *lat,
                lon: *lon,
                order: i32::from(*order),
            })
        }
        C::NavigationScRequest { id, order } => {
            A::NavigationSuperchargerRequest(NavigationSuperchargerRequest {
                id: *id,
                remote_nav_trip_order: i32::from(*order),
            })
        }
        C::NavigationWaypointsRequest { waypoints } => {
            A::NavigationWaypointsRequest(NavigationWaypointsRequest {
                waypoints: waypoints.clone(),
            })
        }
    };
    Ok((
        Domain::Infotainment,
        Action::vehicle(action).encode_to_vec(),
    ))
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

/// Reads a payload the way the car would. Commands are re-validated with [`Command::parse`].
pub fn decode(domain: Domain, payload: &[u8]) -> Result<Decoded, ActionError> {
    let cmd = match domain {
        Domain::VehicleSecurity => match decode_vcsec(payload)? {
            Ok(cmd) => cmd,
            Err(other) => return Ok(other),
        },
        _ => match decode_infotainment(payload)? {
            Ok(cmd) => cmd,
            Err(other) => return Ok(other),
        },
    };
    Ok(Decoded::Command(Command::parse(
        cmd.name(),
        &cmd.rest_body(),
    )?))
}

type Inner = Result<Command, Decoded>;

fn decode_vcsec(payload: &[u8]) -> Result<Inner, ActionError> {
    let domain = Domain::VehicleSecurity;
    let msg = UnsignedMessage::decode(payload).map_err(|e| ActionError::Decode {
        domain,
        detail: e.to_string(),
    })?;
    let unsupported = |what: String| ActionError::Unsupported { domain, what };
    Ok(Ok(match msg.sub_message {
        Some(UnsignedSubMessage::RkeAction(a)) => match RkeAction::try_from(a) {
            Ok(RkeAction::Lock) => Command::DoorLock,
            Ok(RkeAction::Unlock) => Command::DoorUnlock,
            Ok(RkeAction::RemoteDrive) => Command::RemoteStartDrive,
            _ => return Err(unsupported(format!("RKE action {a}"))),
        },
        Some(UnsignedSubMessage::ClosureMoveRequest(c)) => {
            let m = |x: i32| ClosureMoveType::try_from(x).unwrap_or(ClosureMoveType::None);
            match (m(c.rear_trunk), m(c.front_trunk), m(c.tonneau)) {
                (ClosureMoveType::Move, _, _) => Command::ActuateTrunk { which: Trunk::Rear },
                (_, ClosureMoveType::Move, _) => Command::ActuateTrunk {
                    which: Trunk::Front,
                },
                (_, _, ClosureMoveType::Open) => Command::OpenTonneau,
                (_, _, ClosureMoveType::Close) => Command::CloseTonneau,
                (_, _, ClosureMoveType::Stop) => Command::StopTonneau,
                _ => return Err(unsupported(format!("closure move {c:?}"))),
            }
        }
        Some(UnsignedSubMessage::InformationRequest(r)) => {
            return Ok(Err(Decoded::InformationRequest {
                request_type: r.information_request_type,
            }))
        }
        None => return Err(unsupported("an empty message".into())),
    }))
}

fn decode_infotainment(payload: &[u8]) -> Result<Inner, ActionError> {
    use Command as C;
    use VehicleActionMsg as A;
    let domain = Domain::Infotainment;
    let action = Action::decode(payload).map_err(|e| ActionError::Decode {
        domain,
        detail: e.to_string(),
    })?;
    let Some(ActionMsg::VehicleAction(va)) = action.action_msg else {
        return Err(ActionError::Unsupported {
            domain,
            what: "an Action without a vehicleAction".into(),
        });
    };
    let Some(msg) = va.vehicle_action_msg else {
        return Err(ActionError::Unsupported {
            domain,
            what: "a vehicleAction TeslaSync does not model".into(),
        });
    };
    let bad = |field: &'static str| ActionError::BadValue { domain, field };
    let int = |x: i32, field: &'static str| -> Result<u8, ActionError> {
        u8::try_from(x).map_err(|_| bad(field))
    };
    let minutes = |x: i32, field: &'static str| -> Result<u16, ActionError> {
        u16::try_from(x).map_err(|_| bad(field))
    };
    let pin = |s: &str, field: &'static str| Pin::new(s).ok_or_else(|| bad(field));
    let opt_pin = |s: &str, field: &'static str| -> Result<Option<Pin>, ActionError> {
        if s.is_empty() {
            Ok(None)
        } else {
            pin(s, field).map(Some)
        }
    };
    Ok(Ok(match msg {
        A::FlashLights(_) => C::FlashLights,
        A::HonkHorn(_) => C::HonkHorn,
        A::Boombox(b) => C::RemoteBoombox { sound: b.sound },

        A::HvacAuto(a) if a.power_on => C::AutoConditioningStart,
        A::HvacAuto(_) => C::AutoConditioningStop,
        A::HvacTemperatureAdjustment(t) => C::SetTemps {
            driver_temp: widen(t.driver_temp_celsius),
            passenger_temp: widen(t.passenger_temp_celsius),
        },
        A::HvacSetPreconditioningMax(a) => C::SetPreconditioningMax {
            on: a.on,
            manual_override: a.manual_override,
        },
        A::HvacBioweaponMode(a) => C::SetBioweaponMode {
            on: a.on,
            manual_override: a.manual_override,
        },
        A::SetCabinOverheatProtection(a) => C::SetCabinOverheatProtection {
            on: a.on,
            fan_only: a.fan_only,
        },
        A::SetCopTemp(a) => C::SetCopTemp {
            cop_temp: match a.cop_activation_temp {
                1 => CopTemp::Low,
                2 => CopTemp::Medium,
                3 => CopTemp::High,
                _ => return Err(bad("copActivationTemp")),
            },
        },
        A::HvacClimateKeeper(a) => C::SetClimateKeeperMode {
            climate_keeper_mode: match ClimateKeeperActionKind::try_from(a.climate_keeper_action) {
                Ok(ClimateKeeperActionKind::Off) => ClimateKeeperMode::Off,
                Ok(ClimateKeeperActionKind::On) => ClimateKeeperMode::On,
                Ok(ClimateKeeperActionKind::Dog) => ClimateKeeperMode::Dog,
                Ok(ClimateKeeperActionKind::Camp) => ClimateKeeperMode::Camp,
                Err(_) => return Err(bad("ClimateKeeperAction")),
            },
            manual_override: a.manual_override,
        },
        A::HvacSeatHeater(a) => {
            let [seat] = a.hvac_seat_heater_action.as_slice() else {
                return Err(bad("hvacSeatHeaterAction (exactly one seat)"));
            };
            C::RemoteSeatHeaterRequest {
                seat_position: match seat.seat_position {
                    Some(SeatPosition::FrontLeft(_)) => 0,
                    Some(SeatPosition::FrontRight(_)) => 1,
                    Some(SeatPosition::RearLeft(_)) => 2,
                    Some(SeatPosition::RearLeftBack(_)) => 3,
                    Some(SeatPosition::RearCenter(_)) => 4,
                    Some(SeatPosition::RearRight(_)) => 5,
                    Some(SeatPosition::RearRightBack(_)) => 6,
                    Some(SeatPosition::ThirdRowLeft(_)) => 7,
                    Some(SeatPosition::ThirdRowRight(_)) => 8,
                    _ => return Err(bad("seat_position")),
                },
                level: match seat.seat_heater_level {
                    Some(SeatHeaterLevel::Off(_)) => 0,
                    Some(SeatHeaterLevel::Low(_)) => 1,
                    Some(SeatHeaterLevel::Med(_)) => 2,
                    Some(SeatHeaterLevel::High(_)) => 3,
                    _ => return Err(bad("seat_heater_level")),
                },
            }
        }
        A::HvacSeatCooler(a) => {
            let [seat] = a.hvac_seat_cooler_action.as_slice() else {
                return Err(bad("hvacSeatCoolerAction (exactly one seat)"));
            };
            C::RemoteSeatCoolerRequest {
                seat_position: int(seat.seat_position, "seat_position")?,
                seat_cooler_level: int(seat.seat_cooler_level - 1, "seat_cooler_level")?,
            }
        }
        A::AutoSeatClimate(a) => {
            let [seat] = a.carseat.as_slice() else {
                return Err(bad("carseat (exactly one seat)"));
            };
            C::RemoteAutoSeatClimateRequest {
                auto_seat_position: int(seat.seat_position, "seat_position")?,
                auto_climate_on: seat.on,
            }
        }
        A::HvacSteeringWheelHeater(a) => C::RemoteSteeringWheelHeaterRequest { on: a.power_on },
        A::StwHeatLevel(a) => C::RemoteSteeringWheelHeatLevelRequest {
            level: match a.stw_heat_level {
                1 => SteeringWheelHeatLevel::Off,
                2 => SteeringWheelHeatLevel::Low,
                3 => SteeringWheelHeatLevel::High,
                _ => return Err(bad("stw_heat_level")),
            },
        },
        A::AutoStwHeat(a) => C::RemoteAutoSteeringWheelHeatClimateRequest { on: a.on },

        A::ChargingStartStop(a) => match a.charging_action {
            Some(ChargingAction::Start(_)) => C::ChargeStart,
            Some(ChargingAction::Stop(_)) => C::ChargeStop,
            Some(ChargingAction::StartStandard(_)) => C::ChargeStandard,
            Some(ChargingAction::StartMaxRange(_)) => C::ChargeMaxRange,
            _ => return Err(bad("charging_action")),
        },
        A::ChargingSetLimit(a) => C::SetChargeLimit {
            percent: int(a.percent, "percent")?,
        },
        A::SetChargingAmps(a) => C::SetChargingAmps {
            charging_amps: int(a.charging_amps, "charging_amps")?,
        },
        A::ChargePortDoorOpen(_) => C::ChargePortDoorOpen,
        A::ChargePortDoorClose(_) => C::ChargePortDoorClose,
        A::ScheduledCharging(a) => C::SetScheduledCharging {
            enable: a.enabled,
            time: minutes(a.charging_time, "charging_time")?,
        },
        A::ScheduledDeparture(a) => {
            let (pre, pre_weekdays) = from_week_times(a.preconditioning_times.as_ref());
            let (off, off_weekdays) = from_week_times(a.off_peak_charging_times.as_ref());
            C::SetScheduledDeparture {
                enable: a.enabled,
                departure_time: minutes(a.departure_time, "departure_time")?,
                preconditioning_enabled: pre,
                preconditioning_weekdays_only: pre_weekdays,
                off_peak_charging_enabled: off,
                off_peak_charging_weekdays_only: off_weekdays,
                end_off_peak_time: minutes(a.off_peak_hours_end_time, "off_peak_hours_end_time")?,
            }
        }
        A::AddChargeSchedule(s) => C::AddChargeSchedule {
            days_of_week: DaysOfWeek(int(s.days_of_week, "days_of_week")?),
            enabled: s.enabled,
            start_enabled: s.start_enabled,
            start_time: minutes(s.start_time, "start_time")?,
            end_enabled: s.end_enabled,
            end_time: minutes(s.end_time, "end_time")?,
            lat: widen(s.latitude),
            lon: widen(s.longitude),
            one_time: s.one_time,
            id: s.id,
            name: s.name,
        },
        A::AddPreconditionSchedule(s) => C::AddPreconditionSchedule {
            days_of_week: DaysOfWeek(int(s.days_of_week, "days_of_week")?),
            enabled: s.enabled,
            precondition_time: minutes(s.precondition_time, "precondition_time")?,
            lat: widen(s.latitude),
            lon: widen(s.longitude),
            one_time: s.one_time,
            id: s.id,
            name: s.name,
        },
        A::RemoveChargeSchedule(a) => C::RemoveChargeSchedule { id: a.id },
        A::RemovePreconditionSchedule(a) => C::RemovePreconditionSchedule { id: a.id },
        A::BatchRemoveChargeSchedules(a) => C::BatchRemoveChargeSchedules {
            home: a.home,
            work: a.work,
            other: a.other,
        },
        A::BatchRemovePreconditionSchedules(a) => C::BatchRemovePreconditionSchedules {
            home: a.home,
            work: a.work,
            other: a.other,
        },

        A::SetSentryMode(a) => C::SetSentryMode { on: a.on },
        A::SetValetMode(a) => C::SetValetMode {
            on: a.on,
            password: opt_pin(&a.password, "password")?,
        },
        A::ResetValetPin(_) => C::ResetValetPin,
        A::SetPinToDrive(a) => C::SetPinToDrive {
            on: a.on,
            password: opt_pin(&a.password, "password")?,
        },
        A::ResetPinToDrive(_) => C::ResetPinToDrivePin,
        A::ResetPinToDriveAdmin(_) => C::ClearPinToDriveAdmin,
        A::DrivingSpeedLimit(a) if a.activate => C::SpeedLimitActivate {
            pin: pin(&a.pin, "pin")?,
        },
        A::DrivingSpeedLimit(a) => C::SpeedLimitDeactivate {
            pin: pin(&a.pin, "pin")?,
        },
        A::DrivingSetSpeedLimit(a) => C::SpeedLimitSetLimit {
            limit_mph: a.limit_mph,
        },
        A::DrivingClearSpeedLimitPin(a) => C::SpeedLimitClearPin {
            pin: pin(&a.pin, "pin")?,
        },
        A::DrivingClearSpeedLimitPinAdmin(_) => C::SpeedLimitClearPinAdmin,
        A::ParentalControls(a) if a.activate => C::ParentalControlsActivate {
            pin: pin(&a.pin, "pin")?,
        },
        A::ParentalControls(a) => C::ParentalControlsDeactivate {
            pin: pin(&a.pin, "pin")?,
        },
        A::ParentalControlsEnableSettings(a) => C::ParentalControlsEnableSetting {
            setting: usize::try_from(a.setting)
                .ok()
                .and_then(|i| ParentalControlsSetting::ALL.get(i).copied())
                .ok_or_else(|| bad("setting"))?,
            enable: a.enable,
        },
        A::ParentalControlsSetSpeedLimit(a) => C::ParentalControlsSetSpeedLimit {
            limit_mph: a.limit_mph,
        },
        A::ParentalControlsClearPinAdmin(_) => C::ParentalControlsClearPinAdmin,
        A::GuestMode(a) => C::GuestMode {
            enable: a.guest_mode_active,
        },
        A::EraseUserData(_) => C::EraseUserData,

        A::SetVehicleName(a) => C::SetVehicleName {
            vehicle_name: a.vehicle_name,
        },
        A::SetLowPowerMode(a) => C::SetLowPowerMode {
            enable: a.low_power_mode,
        },
        A::SetKeepAccessoryPowerMode(a) => C::KeepAccessoryPowerMode {
            enable: a.keep_accessory_power_mode,
        },
        A::Window(a) => C::WindowControl {
            command: match a.action {
                Some(WindowActionKind::Vent(_)) => WindowCommand::Vent,
                Some(WindowActionKind::Close(_)) => WindowCommand::Close,
                _ => return Err(bad("window action")),
            },
        },
        A::SunroofOpenClose(a) => C::SunRoofControl {
            state: match a.action {
                Some(SunroofAction::Vent(_)) => SunroofState::Vent,
                Some(SunroofAction::Close(_)) => SunroofState::Close,
                Some(SunroofAction::Open(_)) => SunroofState::Open,
                None => return Err(bad("sunroof action (levels are not modelled)")),
            },
        },
        A::TriggerHomelink(a) => {
            let loc = a.location.ok_or_else(|| bad("location"))?;
            C::TriggerHomelink {
                lat: widen(loc.latitude),
                lon: widen(loc.longitude),
            }
        }
        A::ScheduleSoftwareUpdate(a) => C::ScheduleSoftwareUpdate {
            offset_sec: u32::try_from(a.offset_sec).map_err(|_| bad("offset_sec"))?,
        },
        A::CancelSoftwareUpdate(_) => C::CancelSoftwareUpdate,

        A::MediaUpdateVolume(a) => match a.media_volume {
            Some(MediaVolume::VolumeAbsoluteFloat(x)) => C::AdjustVolume { volume: widen(x) },
            Some(MediaVolume::VolumeDelta(d)) if d > 0 => C::MediaVolumeUp,
            Some(MediaVolume::VolumeDelta(d)) if d < 0 => C::MediaVolumeDown,
            _ => return Err(bad("media_volume")),
        },
        A::MediaPlay(_) => C::MediaTogglePlayback,
        A::MediaNextTrack(_) => C::MediaNextTrack,
        A::MediaPreviousTrack(_) => C::MediaPrevTrack,
        A::MediaNextFavorite(_) => C::MediaNextFav,
        A::MediaPreviousFavorite(_) => C::MediaPrevFav,

        A::NavigationRequest(a) => C::NavigationRequest {
            destination: ShareText(a.destination),
        },
        A::NavigationGpsRequest(a) => C::NavigationGpsRequest {
            lat: a.lat,
            lon: a.lon,
            order: int(a.order, "order")?,
        },
        A::NavigationSuperchargerRequest(a) => C::NavigationScRequest {
            id: a.id,
            order: int(a.remote_nav_trip_order, "remote_nav_trip_order")?,
        },
        A::NavigationWaypointsRequest(a) => C::NavigationWaypointsRequest {
            waypoints: a.waypoints,
        },

        A::Ping(p) => return Ok(Err(Decoded::Ping { ping_id: p.ping_id })),
    }))
}

fn on_password(on: bool, password: &Option<Pin>) -> OnPasswordAction {
    OnPasswordAction {
        on,
        password: password
            .as_ref()
            .map(|p| p.expose().to_string())
            .unwrap_or_default(),
    }
}

fn activate(activate: bool, pin: &Pin) -> ActivatePinAction {
    ActivatePinAction {
        activate,
        pin: pin.expose().to_string(),
    }
}

/// `ParentalControlsSetting_E` numbers follow the order of [`ParentalControlsSetting::ALL`].
fn parental_setting_index(setting: ParentalControlsSetting) -> i32 {
    ParentalControlsSetting::ALL
        .iter()
        .position(|s| *s == setting)
        .map_or(0, |i| i as i32)
}

/// The proxy's rule: weekdays if `weekdays_only`, else all week if `enabled`, else unset.
fn week_times(enabled: bool, weekdays_only: bool) -> Option<WeekTimes> {
    let times = if weekdays_only {
        WeekTimesKind::Weekdays(Void {})
    } else if enabled {
        WeekTimesKind::AllWeek(Void {})
    } else {
        return None;
    };
    Some(WeekTimes { times: Some(times) })
}

fn from_week_times(t: Option<&WeekTimes>) -> (bool, bool) {
    match t.and_then(|t| t.times.as_ref()) {
        Some(WeekTimesKind::Weekdays(_)) => (true, true),
        Some(WeekTimesKind::AllWeek(_)) => (true, false),
        None => (false, false),
    }
}

/// A protobuf `float` back to the decimal it most likely was (21.3f32 → 21.3, not
/// 21.299999237060547): the shortest representation that round-trips the `f32`.
fn widen(x: f32) -> f64 {
    x.to_string().parse().unwrap_or(f64::from(x))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vehicle::command::tests::all_commands;
    use crate::vehicle::command::Route;
    use serde_json::json;

    fn payload(name: &str, params: serde_json::Value) -> String {
        let cmd = Command::parse(name, &params).unwrap();
        hex::encode(encode(&cmd).unwrap().1)
    }

    /// Spec §8.7 payload encodings (generated with tesla-protocol 4.0.1).
    #[test]
    fn payloads_match_spec_8_7() {
        let cases = [
            ("door_lock", json!({}), "1001"),
            ("door_unlock", json!({}), "1000"),
            ("remote_start_drive", json!({}), "1014"),
            ("actuate_trunk", json!({"which_trunk": "rear"}), "22022801"),
            ("actuate_trunk", json!({"which_trunk": "front"}), "22023001"),
            ("charge_start", json!({}), "120432021200"),
            ("charge_stop", json!({}), "120432022a00"),
            ("charge_standard", json!({}), "120432021a00"),
            ("charge_max_range", json!({}), "120432022200"),
            ("set_charge_limit", json!({"percent": 80}), "12042a020850"),
            (
                "set_charging_amps",
                json!({"charging_amps": 16}),
                "1205da02020810",
            ),
            ("auto_conditioning_start", json!({}), "120452020801"),
            ("auto_conditioning_stop", json!({}), "12025200"),
            (
                "set_temps",
                json!({"driver_temp": 21.5, "passenger_temp": 21.5}),
                "1210720e2a021a00350000ac413d0000ac41",
            ),
            (
                "remote_seat_heater_request",
                json!({"seat_position": 0, "level": 3}),
                "1209a202060a042a003a00",
            ),
            (
                "remote_steering_wheel_heater_request",
                json!({"on": true}),
                "12046a020801",
            ),
            ("set_sentry_mode", json!({"on": true}), "1205f201020801"),
            ("flash_lights", json!({}), "1203d20100"),
            ("honk_horn", json!({}), "1203da0100"),
            (
                "window_control",
                json!({"command": "vent"}),
                "12059202021a00",
            ),
            (
                "window_control",
                json!({"command": "close"}),
                "12059202022200",
            ),
            ("charge_port_door_open", json!({}), "1203f20300"),
            ("charge_port_door_close", json!({}), "1203ea0300"),
            ("set_bioweapon_mode", json!({"on": true}), "12059a02020801"),
            (
                "set_cabin_overheat_protection",
                json!({"on": true}),
                "12059203020801",
            ),
            (
                "set_climate_keeper_mode",
                json!({"climate_keeper_mode": 2}),
                "1205e202020802",
            ),
            (
                "set_preconditioning_max",
                json!({"on": true}),
                "120462020801",
            ),
            (
                "adjust_volume",
                json!({"volume": 5.0}),
                "12088201051d0000a040",
            ),
            ("media_volume_up", json!({}), "12058201020802"),
            ("media_toggle_playback", json!({}), "12027a00"),
            (
                "set_scheduled_charging",
                json!({"enable": true, "time": 120}),
                "1207ca020408011078",
            ),
            (
                "schedule_software_update",
                json!({"offset_sec": 120}),
                "1205ea01020878",
            ),
            (
                "navigation_request",
                json!({"value": "1 Infinite Loop"}),
                "1214aa01110a0f3120496e66696e697465204c6f6f70",
            ),
            ("remote_boombox", json!({"sound": 0}), "1203820400"),
        ];
        for (name, params, expected) in cases {
            assert_eq!(payload(name, params.clone()), expected, "{name} {params}");
        }
        assert_eq!(hex::encode(ping(1).1), "1205f202020801");
        assert_eq!(hex::encode(vehicle_status_request().1), "0a00");
    }

    /// Spec §8.7: the protocol.md debug line decodes to a VCSEC whitelist-info request.
    #[test]
    fn decodes_the_protocol_md_debug_message() {
        use crate::tesla::command::messages::{Payload, RoutableMessage};
        let bytes = hex::decode("320208023a1212100a7962c10d38b61dd2a7722780a4f0969a031005514f57616bcc81a8ce0f9d7b48322952040a020805").unwrap();
        let msg = RoutableMessage::decode(bytes.as_slice()).unwrap();
        assert_eq!(msg.to_destination.unwrap().as_domain(), Some(2));
        assert_eq!(
            hex::encode(msg.from_destination.unwrap().as_routing_address().unwrap()),
            "0a7962c10d38b61dd2a7722780a4f096"
        );
        assert_eq!(hex::encode(&msg.uuid), "05514f57616bcc81a8ce0f9d7b483229");
        let Some(Payload::ProtobufMessageAsBytes(p)) = msg.payload else {
            panic!("no payload")
        };
        assert_eq!(
            decode(Domain::VehicleSecurity, &p).unwrap(),
            Decoded::InformationRequest {
                request_type: InformationRequestType::GetWhitelistInfo as i32
            }
        );
    }

    fn read_varint(bytes: &[u8]) -> (u64, usize) {
        let mut v = 0u64;
        for (i, b) in bytes.iter().enumerate() {
            v |= u64::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                return (v, i + 1);
            }
        }
        panic!("truncated varint")
    }

    /// The protobuf field each payload occupies, to check against the table's `Route`.
    fn route_of(domain: Domain, payload: &[u8]) -> Route {
        match domain {
            Domain::VehicleSecurity => Route::Vcsec((read_varint(payload).0 >> 3) as u32),
            _ => {
                assert_eq!(payload[0], 0x12, "Action.vehicleAction");
                let (_, n) = read_varint(&payload[1..]);
                let (key, _) = read_varint(&payload[1 + n..]);
                Route::Infotainment((key >> 3) as u32)
            }
        }
    }

    #[test]
    fn every_command_encodes_on_its_declared_route_and_decodes_back() {
        for cmd in all_commands() {
            let name = cmd.name();
            match encode(&cmd) {
                Err(ActionError::RestOnly { .. }) => assert_eq!(cmd.route(), Route::Rest, "{name}"),
                Err(e) => panic!("{name}: {e}"),
                Ok((domain, bytes)) => {
                    assert_eq!(route_of(domain, &bytes), cmd.route(), "{name}");
                    assert_eq!(
                        decode(domain, &bytes).unwrap(),
                        Decoded::Command(cmd.clone()),
                        "{name}"
                    );
                }
            }
        }
    }

    #[test]
    fn decoding_revalidates_and_reports_unknown_actions() {
        use crate::tesla::command::messages::ChargingSetLimitAction;
        let action = Action::vehicle(VehicleActionMsg::ChargingSetLimit(ChargingSetLimitAction {
            percent: 20,
        }));
        let err = decode(Domain::Infotainment, &action.encode_to_vec()).unwrap_err();
        assert!(err.to_string().contains("between 50 and 100"), "{err}");
        // getVehicleData (field 1) is not modelled.
        let err = decode(Domain::Infotainment, &hex::decode("12020a00").unwrap()).unwrap_err();
        assert!(matches!(err, ActionError::Unsupported { .. }), "{err}");
        let err = decode(Domain::Infotainment, b"\xff").unwrap_err();
        assert!(matches!(err, ActionError::Decode { .. }), "{err}");
        let err = decode(Domain::VehicleSecurity, &hex::decode("101e").unwrap()).unwrap_err();
        assert!(err.to_string().contains("RKE action 30"), "{err}");
        assert_eq!(
            decode(Domain::Infotainment, &ping(7).1).unwrap(),
            Decoded::Ping { ping_id: 7 }
        );
        assert!(matches!(
            encode(&Command::WakeUp).unwrap_err(),
            ActionError::RestOnly { command: "wake_up" }
        ));
    }

    #[test]
    fn pins_decoded_from_payloads_are_checked_without_echoing_them() {
        let action = Action::vehicle(VehicleActionMsg::DrivingSpeedLimit(ActivatePinAction {
            activate: true,
            pin: "12345".into(),
        }));
        let err = decode(Domain::Infotainment, &action.encode_to_vec()).unwrap_err();
        assert!(!format!("{err} {err:?}").contains("12345"), "{err:?}");
    }

    #[test]
    fn python_style_set_temps_without_level_decodes_too() {
        assert_eq!(
            decode(
                Domain::Infotainment,
                &hex::decode("120c720a350000ac413d0000ac41").unwrap()
            )
            .unwrap(),
            Decoded::Command(Command::SetTemps {
                driver_temp: 21.5,
                passenger_temp: 21.5
            })
        );
    }

    #[test]
    fn floats_widen_to_their_decimal() {
        assert_eq!(widen(21.3), 21.3);
        assert_eq!(widen(-122.4194), -122.4194);
    }
}
