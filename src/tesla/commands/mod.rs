//! `tesla::commands`: the vocabulary of things a Tesla can be asked to do, one row per command.
//!
//! The `commands!` table below is the single place where a command is defined. Each row states:
//! - the [`Command`] variant and its fields;
//! - the Fleet API name (`POST /api/1/vehicles/{vin}/command/<name>`);
//! - every parameter: REST key, Rust type and validation rule (fixed ranges, or the car's own
//!   [`Limits`] — the charger's maximum current, the charge-limit range, the climate range);
//! - the protocol action: the `VCSEC.UnsignedMessage` or `CarServer.VehicleAction` the command
//!   becomes when it is signed ([`ProtocolAction`]), or REST only;
//! - the expected effect of a success, in Tesla's own terms: Fleet Telemetry field names with the
//!   value the car then reports ([`Effect`]). `vehicle` maps them onto its signals (whose names
//!   are those fields) to publish optimistic state at once.
//!
//! From the table come [`Command::name`], [`Command::rest_body`], [`Command::action`] (and so
//! [`Command::encode`]), [`Command::effects`] and [`Command::parse_within`] — the only way to build
//! a command from outside input. Parsing refuses, before anything reaches Tesla: unknown names and
//! unknown parameters (with a did-you-mean), wrong types, values outside the real range (quoted
//! in the message), and oversize parameter objects.
//!
//! PINs and passwords are [`Pin`]s: they never appear in `Debug` output or error messages (only in
//! the REST body and the protobuf that must carry them). No I/O here, and nothing from `vehicle` or
//! `ha`: this is Tesla's side of the house.

mod params;
mod protobuf;
#[cfg(test)]
pub(crate) mod tests;

use serde_json::{Map, Value};

pub use params::{
    ClimateKeeperMode, CopTemp, DaysOfWeek, ParentalControlsSetting, Pin, ShareText,
    SteeringWheelHeatLevel, SunroofState, Trunk, WindowCommand,
};
pub use protobuf::{ping, vehicle_status_request, ActionError, ProtocolAction};

use crate::tesla::command::messages::car_server::{
    auto_seat_climate_action, charging_start_stop_action::ChargingAction, hvac_seat_cooler_actions,
    hvac_temperature_adjustment_action::temperature::Type as TemperatureType,
    hvac_temperature_adjustment_action::Temperature, media_update_volume::MediaVolume,
    vehicle_action::VehicleActionMsg as A,
    vehicle_control_sunroof_open_close_action::Action as SunroofAction,
    vehicle_control_window_action::Action as WindowAction, AutoSeatClimateAction,
    AutoStwHeatAction, BatchRemoveChargeSchedulesAction, BatchRemovePreconditionSchedulesAction,
    BoomboxAction, ChargeOnSolarFeature, ChargePortDoorClose, ChargePortDoorOpen, ChargeSchedule,
    ChargingSetLimitAction, ChargingStartStopAction, DrivingClearSpeedLimitPinAction,
    DrivingClearSpeedLimitPinAdminAction, DrivingSetSpeedLimitAction, EraseUserDataAction,
    GuestMode, HvacAutoAction, HvacBioweaponModeAction, HvacClimateKeeperAction,
    HvacSeatCoolerActions, HvacSetPreconditioningMaxAction, HvacSteeringWheelHeaterAction,
    HvacTemperatureAdjustmentAction, LatLong, MediaNextFavorite, MediaNextTrack, MediaPlayAction,
    MediaPreviousFavorite, MediaPreviousTrack, MediaUpdateVolume, NavigationGpsRequest,
    NavigationRequest, NavigationSuperchargerRequest, NavigationWaypointsRequest,
    ParentalControlsAction, ParentalControlsClearPinAdminAction,
    ParentalControlsEnableSettingsAction, ParentalControlsSetSpeedLimitAction,
    PreconditionSchedule, RemoveChargeScheduleAction, RemovePreconditionScheduleAction,
    ScheduledChargingAction, SetCabinOverheatProtectionAction, SetChargingAmpsAction,
    SetCopTempAction, SetKeepAccessoryPowerModeAction, SetLowPowerModeAction, SetVehicleNameAction,
    StwHeatLevelAction, UpdateChargeOnSolarFeatureRequest,
    VehicleControlCancelSoftwareUpdateAction, VehicleControlFlashLightsAction,
    VehicleControlHonkHornAction, VehicleControlResetPinToDriveAction,
    VehicleControlResetPinToDriveAdminAction, VehicleControlResetValetPinAction,
    VehicleControlScheduleSoftwareUpdateAction, VehicleControlSetPinToDriveAction,
    VehicleControlSetSentryModeAction, VehicleControlSetValetModeAction,
    VehicleControlSunroofOpenCloseAction, VehicleControlTriggerHomelinkAction,
    VehicleControlWindowAction,
};
use crate::tesla::command::messages::{ClosureMoveType, Domain, RkeAction};
use params::{maybe_range, or, or_range, range, req, text, within, ParamValue, Rule};
use protobuf::{closure, expose, info, rke, scheduled_departure, seat_heater, speed_limit, void};

/// The largest `params` object accepted, serialized (Tesla's bodies are a few hundred bytes; a
/// waypoint list is the longest at a few KiB).
pub const MAX_PARAMS_BYTES: usize = 16 * 1024;
/// The most keys a `params` object may have (the largest command takes 11).
pub const MAX_PARAMS_KEYS: usize = 32;

/// What this particular car accepts, where Tesla reports it per car (`charge_state` and
/// `climate_state` in `vehicle_data`, or Fleet Telemetry). The parser enforces exactly these bounds,
/// and entities advertise the same ones, so Home Assistant never offers a value the parser refuses.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    /// `charge_current_request_max`, A.
    pub charge_current_max: u8,
    /// `charge_limit_soc_min` / `charge_limit_soc_max`, %.
    pub charge_limit_min: u8,
    pub charge_limit_max: u8,
    /// `min_avail_temp` / `max_avail_temp`, °C.
    pub temp_min_c: f64,
    pub temp_max_c: f64,
}

impl Limits {
    /// What any Tesla accepts, for a car that has not reported its own bounds yet: 48 A (the most
    /// any Tesla draws on AC), a 50–100 % charge limit, 15–28 °C.
    pub const ANY_CAR: Limits = Limits {
        charge_current_max: 48,
        charge_limit_min: 50,
        charge_limit_max: 100,
        temp_min_c: 15.0,
        temp_max_c: 28.0,
    };
}

impl Default for Limits {
    fn default() -> Self {
        Limits::ANY_CAR
    }
}

/// One state change a successful command implies, as the car will report it: a Fleet Telemetry
/// field name (`Locked`, `ChargeLimitSoc`, ...) and its value.
#[derive(Debug, Clone, PartialEq)]
pub struct Effect {
    pub field: &'static str,
    pub value: EffectValue,
}

/// The value of an [`Effect`], in the field's native form.
#[derive(Debug, Clone, PartialEq)]
pub enum EffectValue {
    Bool(bool),
    Int(i64),
    Float(f64),
    Text(String),
}

impl From<bool> for EffectValue {
    fn from(v: bool) -> Self {
        EffectValue::Bool(v)
    }
}
impl From<u8> for EffectValue {
    fn from(v: u8) -> Self {
        EffectValue::Int(i64::from(v))
    }
}
impl From<f64> for EffectValue {
    fn from(v: f64) -> Self {
        EffectValue::Float(v)
    }
}
impl From<&str> for EffectValue {
    fn from(v: &str) -> Self {
        EffectValue::Text(v.to_string())
    }
}

/// `field` will read `value`.
fn set(field: &'static str, value: impl Into<EffectValue>) -> Effect {
    Effect {
        field,
        value: value.into(),
    }
}

/// Tesla's seat numbers (as `remote_seat_heater_request` takes them) to the telemetry fields that
/// report the heater level. Rear backrests and the third row have no field.
fn seat_heater_field(seat: u8) -> Option<&'static str> {
    Some(match seat {
        0 => "SeatHeaterLeft",
        1 => "SeatHeaterRight",
        2 => "SeatHeaterRearLeft",
        4 => "SeatHeaterRearCenter",
        5 => "SeatHeaterRearRight",
        _ => return None,
    })
}

macro_rules! effects_or_none {
    () => {
        Vec::new()
    };
    ($e:expr) => {
        $e.into_iter().collect()
    };
}

/// Defines [`Command`] and its metadata from one row per command:
///
/// ```text
/// /// docs
/// Variant { field: Type = "rest_key" [else "older_key"] rule, … } => "fleet_api_name",
///     protocol action [, effect [effects]] [, extra "key" = "value"];
/// ```
///
/// `rule` is one of [`req`], [`or`], [`range`], [`or_range`], [`maybe_range`], [`within`],
/// [`text`]; `extra "key" = "value"` adds a constant key to the REST body (and accepts it on
/// input). The protocol
/// action and the effects are expressions over the fields (bound by reference).
macro_rules! commands {
    ($(
        $(#[$meta:meta])*
        $variant:ident $({ $( $(#[$fmeta:meta])* $field:ident : $ty:ty = $key:literal $(else $alias:literal)? $rule:expr ),* $(,)? })?
            => $name:literal, $action:expr $(, effect $effect:expr)? $(, extra $ekey:literal = $evalue:literal)? ;
    )*) => {
        /// A command for one vehicle, already validated. See the module docs.
        #[derive(Debug, Clone, PartialEq)]
        pub enum Command {
            $( $(#[$meta])* $variant $({ $( $(#[$fmeta])* $field: $ty ),* })?, )*
        }

        /// Every command name, in the order they are documented.
        pub const NAMES: &[&str] = &[$($name),*];

        impl Command {
            /// The Fleet API name (`POST /api/1/vehicles/{vin}/command/<name>`).
            pub fn name(&self) -> &'static str {
                match self {
                    $( Command::$variant { .. } => $name, )*
                }
            }

            /// The JSON body of the REST request (`{}` for commands without parameters). Absent
            /// optional parameters are left out. Contains PINs in clear: it is what Tesla needs.
            pub fn rest_body(&self) -> Value {
                match self {
                    $( Command::$variant $({ $($field),* })? => {
                        #[allow(unused_mut)]
                        let mut body = Map::new();
                        $( $( if let Some(v) = ParamValue::to_json($field) {
                            body.insert($key.to_string(), v);
                        } )* )?
                        $( body.insert($ekey.to_string(), Value::from($evalue)); )?
                        Value::Object(body)
                    } )*
                }
            }

            /// The protobuf message the command becomes when signed, or [`ProtocolAction::Rest`].
            pub fn action(&self) -> ProtocolAction {
                match self {
                    $(
                        #[allow(unused_variables)]
                        Command::$variant $({ $($field),* })? => $action,
                    )*
                }
            }

            /// What the car reports after this command succeeded (may be empty: a flash of the
            /// lights changes nothing the car reports).
            pub fn effects(&self) -> Vec<Effect> {
                match self {
                    $(
                        #[allow(unused_variables)]
                        Command::$variant $({ $($field),* })? => effects_or_none!($($effect)?),
                    )*
                }
            }

            /// [`Command::parse_within`] for a car whose bounds are not known
            /// ([`Limits::ANY_CAR`]).
            pub fn parse(name: &str, params: &Value) -> Result<Command, CommandError> {
                Command::parse_within(name, params, &Limits::ANY_CAR)
            }

            /// Builds a command from its Fleet API name and a REST-shaped `params` object (what
            /// `<base>/<VIN>/command` carries and what entities send), checked against `limits`.
            /// `null` or an absent object means no parameters.
            pub fn parse_within(
                name: &str,
                params: &Value,
                limits: &Limits,
            ) -> Result<Command, CommandError> {
                let empty = Map::new();
                let object = match params {
                    Value::Null => &empty,
                    Value::Object(map) => map,
                    other => {
                        return Err(CommandError::NotAnObject {
                            found: crate::util::json_kind(other),
                        })
                    }
                };
                Ok(match name {
                    $( $name => {
                        const KEYS: &[&str] = &[$($($key, $($alias,)?)*)? $($ekey)?];
                        #[allow(unused_variables)]
                        let p = Params::new($name, object, KEYS, limits)?;
                        Command::$variant $({ $( $field: p.take::<$ty>($key, &[$($alias)?], $rule)? ),* })?
                    } )*
                    _ => {
                        return Err(CommandError::Unknown {
                            name: truncate(name),
                            suggestion: crate::util::nearest(name, NAMES.iter().copied()),
                        })
                    }
                })
            }
        }
    };
}

commands! {
    /// Not a `/command/` endpoint: `POST /api/1/vehicles/{vin}/wake_up`, always over REST.
    WakeUp => "wake_up", ProtocolAction::Rest;

    // --- VCSEC: locks and closures -------------------------------------------------------------
    /// `RKEAction = RKE_ACTION_LOCK`.
    DoorLock => "door_lock", rke(RkeAction::Lock), effect [set("Locked", true)];
    /// `RKEAction = RKE_ACTION_UNLOCK` (encodes as `10 00`: the zero value must be sent).
    DoorUnlock => "door_unlock", rke(RkeAction::Unlock), effect [set("Locked", false)];
    /// Keyless driving (`RKE_ACTION_REMOTE_DRIVE`); must be enabled in the car.
    RemoteStartDrive => "remote_start_drive", rke(RkeAction::RemoteDrive),
        effect [set("RemoteStartActive", true)];
    /// Opens (or, where supported, closes) a trunk: `closureMoveRequest{rearTrunk|frontTrunk = MOVE}`.
    /// A frunk only opens remotely, so its effect is certain; the rear trunk toggles.
    ActuateTrunk { which: Trunk = "which_trunk" or(Trunk::Rear) } => "actuate_trunk",
        match which {
            Trunk::Rear => closure(|c| c.rear_trunk = ClosureMoveType::Move as i32),
            Trunk::Front => closure(|c| c.front_trunk = ClosureMoveType::Move as i32),
        },
        effect (*which == Trunk::Front).then(|| set("TrunkFront", true));
    /// Cybertruck tonneau: `closureMoveRequest{tonneau = OPEN}`.
    OpenTonneau => "open_tonneau", closure(|c| c.tonneau = ClosureMoveType::Open as i32);
    /// `closureMoveRequest{tonneau = CLOSE}`.
    CloseTonneau => "close_tonneau", closure(|c| c.tonneau = ClosureMoveType::Close as i32);
    /// `closureMoveRequest{tonneau = STOP}`.
    StopTonneau => "stop_tonneau", closure(|c| c.tonneau = ClosureMoveType::Stop as i32);

    // --- Infotainment: alerts ------------------------------------------------------------------
    /// `vehicleControlFlashLightsAction`.
    FlashLights => "flash_lights", info(A::VehicleControlFlashLightsAction(VehicleControlFlashLightsAction {}));
    /// `vehicleControlHonkHornAction`.
    HonkHorn => "honk_horn", info(A::VehicleControlHonkHornAction(VehicleControlHonkHornAction {}));
    /// Plays a boombox sound (`boomboxAction`, community proto; the official proxy lacks it).
    RemoteBoombox {
        /// 0 = fart, 2000 = locate ping.
        sound: u32 = "sound" or(0)
    } => "remote_boombox", info(A::BoomboxAction(BoomboxAction { sound: *sound }));

    // --- Infotainment: climate -----------------------------------------------------------------
    /// `hvacAutoAction{power_on: true}`.
    AutoConditioningStart => "auto_conditioning_start",
        info(A::HvacAutoAction(HvacAutoAction { power_on: true, manual_override: false })),
        effect [set("HvacPower", "On")];
    /// `hvacAutoAction{power_on: false}`.
    AutoConditioningStop => "auto_conditioning_stop",
        info(A::HvacAutoAction(HvacAutoAction { power_on: false, manual_override: false })),
        effect [set("HvacPower", "Off")];
    /// Cabin set points in °C within the car's range (`hvacTemperatureAdjustmentAction`, sent with
    /// `level = TEMP_MAX` like the official proxy).
    SetTemps {
        driver_temp: f64 = "driver_temp" within(|l| (l.temp_min_c, l.temp_max_c)),
        passenger_temp: f64 = "passenger_temp" within(|l| (l.temp_min_c, l.temp_max_c)),
    } => "set_temps",
        info(A::HvacTemperatureAdjustmentAction(HvacTemperatureAdjustmentAction {
            level: Some(Temperature { r#type: Some(TemperatureType::TempMax(void())) }),
            driver_temp_celsius: *driver_temp as f32,
            passenger_temp_celsius: *passenger_temp as f32,
        })),
        effect [
            set("HvacLeftTemperatureRequest", *driver_temp),
            set("HvacRightTemperatureRequest", *passenger_temp),
        ];
    /// Defrost / max preconditioning (`hvacSetPreconditioningMaxAction`).
    SetPreconditioningMax {
        on: bool = "on" req(),
        manual_override: bool = "manual_override" or(false),
    } => "set_preconditioning_max",
        info(A::HvacSetPreconditioningMaxAction(HvacSetPreconditioningMaxAction {
            on: *on,
            manual_override: *manual_override,
        }));
    /// `hvacBioweaponModeAction`.
    SetBioweaponMode {
        on: bool = "on" req(),
        manual_override: bool = "manual_override" or(false),
    } => "set_bioweapon_mode",
        info(A::HvacBioweaponModeAction(HvacBioweaponModeAction { on: *on, manual_override: *manual_override }));
    /// `setCabinOverheatProtectionAction`.
    SetCabinOverheatProtection {
        on: bool = "on" req(),
        fan_only: bool = "fan_only" or(false),
    } => "set_cabin_overheat_protection",
        info(A::SetCabinOverheatProtectionAction(SetCabinOverheatProtectionAction {
            on: *on,
            fan_only: *fan_only,
        }));
    /// Cabin overheat protection activation temperature (`setCopTempAction`). The protobuf enum
    /// (`ClimateState.CopActivationTemp`) has 0 = unspecified, so REST 0/1/2 → 1/2/3.
    SetCopTemp { cop_temp: CopTemp = "cop_temp" req() } => "set_cop_temp",
        info(A::SetCopTempAction(SetCopTempAction {
            cop_activation_temp: i32::from(cop_temp.rest_value()) + 1,
        }));
    /// Keep / dog / camp mode (`hvacClimateKeeperAction`; REST 0–3 are the protobuf numbers).
    SetClimateKeeperMode {
        climate_keeper_mode: ClimateKeeperMode = "climate_keeper_mode" req(),
        manual_override: bool = "manual_override" or(false),
    } => "set_climate_keeper_mode",
        info(A::HvacClimateKeeperAction(HvacClimateKeeperAction {
            climate_keeper_action: i32::from(climate_keeper_mode.rest_value()),
            manual_override: *manual_override,
        }));
    /// `hvacSeatHeaterActions`. The car ignores it while the HVAC is off
    /// ([`Command::wants_climate_on`]).
    RemoteSeatHeaterRequest {
        /// As Tesla numbers seats: 0 front left, 1 front right, 2 rear left, 3 rear left back,
        /// 4 rear centre, 5 rear right, 6 rear right back, 7/8 third row left/right. Older REST
        /// clients (and Home Assistant) call it `heater`.
        seat_position: u8 = "seat_position" else "heater" range(0, 8),
        /// 0 off … 3 high.
        level: u8 = "level" range(0, 3),
    } => "remote_seat_heater_request", seat_heater(*seat_position, *level),
        effect seat_heater_field(*seat_position).map(|f| set(f, *level));
    /// `hvacSeatCoolerActions`. Levels map 0–3 → Off/Low/Med/High (the official proxy sends one
    /// step too low, issue #50; we do not).
    RemoteSeatCoolerRequest {
        /// 1 front left, 2 front right.
        seat_position: u8 = "seat_position" range(1, 2),
        seat_cooler_level: u8 = "seat_cooler_level" range(0, 3),
    } => "remote_seat_cooler_request",
        info(A::HvacSeatCoolerActions(HvacSeatCoolerActions {
            hvac_seat_cooler_action: vec![hvac_seat_cooler_actions::HvacSeatCoolerAction {
                seat_cooler_level: i32::from(*seat_cooler_level) + 1,
                seat_position: i32::from(*seat_position),
            }],
        })),
        effect [set(
            if *seat_position == 1 { "ClimateSeatCoolingFrontLeft" } else { "ClimateSeatCoolingFrontRight" },
            *seat_cooler_level,
        )];
    /// `autoSeatClimateAction`.
    RemoteAutoSeatClimateRequest {
        /// 1 front left, 2 front right.
        auto_seat_position: u8 = "auto_seat_position" range(1, 2),
        auto_climate_on: bool = "auto_climate_on" req(),
    } => "remote_auto_seat_climate_request",
        info(A::AutoSeatClimateAction(AutoSeatClimateAction {
            carseat: vec![auto_seat_climate_action::CarSeat {
                on: *auto_climate_on,
                seat_position: i32::from(*auto_seat_position),
            }],
        })),
        effect [set(
            if *auto_seat_position == 1 { "AutoSeatClimateLeft" } else { "AutoSeatClimateRight" },
            *auto_climate_on,
        )];
    /// `hvacSteeringWheelHeaterAction`.
    RemoteSteeringWheelHeaterRequest { on: bool = "on" req() }
        => "remote_steering_wheel_heater_request",
        info(A::HvacSteeringWheelHeaterAction(HvacSteeringWheelHeaterAction { power_on: *on }));
    /// `stwHeatLevelAction` (community proto; `StwHeatLevel` 1 off, 2 low, 3 high).
    RemoteSteeringWheelHeatLevelRequest { level: SteeringWheelHeatLevel = "level" req() }
        => "remote_steering_wheel_heat_level_request",
        info(A::StwHeatLevelAction(StwHeatLevelAction {
            stw_heat_level: match level {
                SteeringWheelHeatLevel::Off => 1,
                SteeringWheelHeatLevel::Low => 2,
                SteeringWheelHeatLevel::High => 3,
            },
        }));
    /// `autoStwHeatAction` (community proto).
    RemoteAutoSteeringWheelHeatClimateRequest { on: bool = "on" req() }
        => "remote_auto_steering_wheel_heat_climate_request",
        info(A::AutoStwHeatAction(AutoStwHeatAction { on: *on })),
        effect [set("HvacSteeringWheelHeatAuto", *on)];

    // --- Infotainment: charging ----------------------------------------------------------------
    /// `chargingStartStopAction{start}`.
    ChargeStart => "charge_start", charging(ChargingAction::Start(void()));
    /// `chargingStartStopAction{stop}`.
    ChargeStop => "charge_stop", charging(ChargingAction::Stop(void()));
    /// `chargingStartStopAction{start_standard}`: set the limit to standard and charge.
    ChargeStandard => "charge_standard", charging(ChargingAction::StartStandard(void()));
    /// `chargingStartStopAction{start_max_range}`.
    ChargeMaxRange => "charge_max_range", charging(ChargingAction::StartMaxRange(void()));
    /// `chargingSetLimitAction`, within the car's charge-limit range.
    SetChargeLimit { percent: u8 = "percent" within(|l| (l.charge_limit_min, l.charge_limit_max)) }
        => "set_charge_limit",
        info(A::ChargingSetLimitAction(ChargingSetLimitAction { percent: i32::from(*percent) })),
        effect [set("ChargeLimitSoc", *percent)];
    /// `setChargingAmpsAction`, up to the car's charger maximum.
    SetChargingAmps { charging_amps: u8 = "charging_amps" within(|l| (0, l.charge_current_max)) }
        => "set_charging_amps",
        info(A::SetChargingAmpsAction(SetChargingAmpsAction { charging_amps: i32::from(*charging_amps) })),
        effect [set("ChargeCurrentRequest", *charging_amps)];
    /// `chargePortDoorOpen` (also releases the charge cable).
    ChargePortDoorOpen => "charge_port_door_open", info(A::ChargePortDoorOpen(ChargePortDoorOpen {})),
        effect [set("ChargePortDoorOpen", true)];
    /// `chargePortDoorClose`.
    ChargePortDoorClose => "charge_port_door_close", info(A::ChargePortDoorClose(ChargePortDoorClose {})),
        effect [set("ChargePortDoorOpen", false)];
    /// Legacy scheduled charging (`scheduledChargingAction`); superseded by charge schedules.
    SetScheduledCharging {
        enable: bool = "enable" req(),
        /// Minutes after midnight.
        time: u16 = "time" or_range(0, 0, 1439),
    } => "set_scheduled_charging",
        info(A::ScheduledChargingAction(ScheduledChargingAction {
            enabled: *enable,
            charging_time: i32::from(*time),
        }));
    /// Legacy scheduled departure (`scheduledDepartureAction`). When `enable` is false only
    /// `enabled: false` is sent. `*_weekdays_only` implies `*_enabled`.
    SetScheduledDeparture {
        enable: bool = "enable" req(),
        /// Minutes after midnight.
        departure_time: u16 = "departure_time" or_range(0, 0, 1439),
        preconditioning_enabled: bool = "preconditioning_enabled" or(false),
        preconditioning_weekdays_only: bool = "preconditioning_weekdays_only" or(false),
        off_peak_charging_enabled: bool = "off_peak_charging_enabled" or(false),
        off_peak_charging_weekdays_only: bool = "off_peak_charging_weekdays_only" or(false),
        /// Minutes after midnight.
        end_off_peak_time: u16 = "end_off_peak_time" or_range(0, 0, 1439),
    } => "set_scheduled_departure",
        scheduled_departure(
            *enable,
            *departure_time,
            (*preconditioning_enabled, *preconditioning_weekdays_only),
            (*off_peak_charging_enabled, *off_peak_charging_weekdays_only),
            *end_off_peak_time,
        );
    /// `addChargeScheduleAction` (firmware 2024.26+). `id` 0 means "new": the executor should
    /// put the current Unix time there, as the official proxy does ([`Command::assign_schedule_id`]).
    AddChargeSchedule {
        days_of_week: DaysOfWeek = "days_of_week" req(),
        enabled: bool = "enabled" req(),
        start_enabled: bool = "start_enabled" req(),
        /// Minutes after midnight.
        start_time: u16 = "start_time" or_range(0, 0, 1439),
        end_enabled: bool = "end_enabled" req(),
        /// Minutes after midnight.
        end_time: u16 = "end_time" or_range(0, 0, 1439),
        lat: f64 = "lat" range(-90.0, 90.0),
        lon: f64 = "lon" range(-180.0, 180.0),
        one_time: bool = "one_time" or(false),
        id: u64 = "id" or(0),
        name: String = "name" or(String::new()),
    } => "add_charge_schedule",
        info(A::AddChargeScheduleAction(ChargeSchedule {
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
        }));
    /// `addPreconditionScheduleAction`; `id` as for [`Command::AddChargeSchedule`].
    AddPreconditionSchedule {
        days_of_week: DaysOfWeek = "days_of_week" req(),
        enabled: bool = "enabled" req(),
        /// Minutes after midnight.
        precondition_time: u16 = "precondition_time" range(0, 1439),
        lat: f64 = "lat" range(-90.0, 90.0),
        lon: f64 = "lon" range(-180.0, 180.0),
        one_time: bool = "one_time" or(false),
        id: u64 = "id" or(0),
        name: String = "name" or(String::new()),
    } => "add_precondition_schedule",
        info(A::AddPreconditionScheduleAction(PreconditionSchedule {
            id: *id,
            name: name.clone(),
            days_of_week: i32::from(days_of_week.0),
            precondition_time: i32::from(*precondition_time),
            one_time: *one_time,
            enabled: *enabled,
            latitude: *lat as f32,
            longitude: *lon as f32,
        }));
    /// `removeChargeScheduleAction`.
    RemoveChargeSchedule { id: u64 = "id" req() } => "remove_charge_schedule",
        info(A::RemoveChargeScheduleAction(RemoveChargeScheduleAction { id: *id }));
    /// `removePreconditionScheduleAction`.
    RemovePreconditionSchedule { id: u64 = "id" req() } => "remove_precondition_schedule",
        info(A::RemovePreconditionScheduleAction(RemovePreconditionScheduleAction { id: *id }));
    /// `batchRemoveChargeSchedulesAction`: removes all schedules at the chosen kinds of place.
    BatchRemoveChargeSchedules {
        home: bool = "home" or(false),
        work: bool = "work" or(false),
        other: bool = "other" or(false),
    } => "batch_remove_charge_schedules",
        info(A::BatchRemoveChargeSchedulesAction(BatchRemoveChargeSchedulesAction {
            home: *home,
            work: *work,
            other: *other,
        }));
    /// `batchRemovePreconditionSchedulesAction`.
    BatchRemovePreconditionSchedules {
        home: bool = "home" or(false),
        work: bool = "work" or(false),
        other: bool = "other" or(false),
    } => "batch_remove_precondition_schedules",
        info(A::BatchRemovePreconditionSchedulesAction(BatchRemovePreconditionSchedulesAction {
            home: *home,
            work: *work,
            other: *other,
        }));

    // --- Infotainment: security ----------------------------------------------------------------
    /// `vehicleControlSetSentryModeAction`.
    SetSentryMode { on: bool = "on" req() } => "set_sentry_mode",
        info(A::VehicleControlSetSentryModeAction(VehicleControlSetSentryModeAction { on: *on })),
        effect [set("SentryMode", *on)];
    /// `vehicleControlSetValetModeAction`; turning it on wants a 4-digit PIN.
    SetValetMode {
        on: bool = "on" req(),
        password: Option<Pin> = "password" or(None),
    } => "set_valet_mode", info(A::VehicleControlSetValetModeAction(VehicleControlSetValetModeAction { on: *on, password: expose(password) })),
        effect [set("ValetModeEnabled", *on)];
    /// `vehicleControlResetValetPinAction`.
    ResetValetPin => "reset_valet_pin", info(A::VehicleControlResetValetPinAction(VehicleControlResetValetPinAction {}));
    /// `vehicleControlSetPinToDriveAction` (Fleet API only).
    SetPinToDrive {
        on: bool = "on" req(),
        password: Option<Pin> = "password" or(None),
    } => "set_pin_to_drive", info(A::VehicleControlSetPinToDriveAction(VehicleControlSetPinToDriveAction { on: *on, password: expose(password) }));
    /// `vehicleControlResetPinToDriveAction`.
    ResetPinToDrivePin => "reset_pin_to_drive_pin", info(A::VehicleControlResetPinToDriveAction(VehicleControlResetPinToDriveAction {}));
    /// `vehicleControlResetPinToDriveAdminAction` (owner / fleet manager).
    ClearPinToDriveAdmin => "clear_pin_to_drive_admin", info(A::VehicleControlResetPinToDriveAdminAction(VehicleControlResetPinToDriveAdminAction {}));
    /// `drivingSpeedLimitAction{activate: true}`.
    SpeedLimitActivate { pin: Pin = "pin" req() } => "speed_limit_activate",
        info(A::DrivingSpeedLimitAction(speed_limit(true, pin)));
    /// `drivingSpeedLimitAction{activate: false}`.
    SpeedLimitDeactivate { pin: Pin = "pin" req() } => "speed_limit_deactivate",
        info(A::DrivingSpeedLimitAction(speed_limit(false, pin)));
    /// `drivingSetSpeedLimitAction`.
    SpeedLimitSetLimit { limit_mph: f64 = "limit_mph" range(50.0, 90.0) }
        => "speed_limit_set_limit",
        info(A::DrivingSetSpeedLimitAction(DrivingSetSpeedLimitAction { limit_mph: *limit_mph }));
    /// `drivingClearSpeedLimitPinAction`.
    SpeedLimitClearPin { pin: Pin = "pin" req() } => "speed_limit_clear_pin",
        info(A::DrivingClearSpeedLimitPinAction(DrivingClearSpeedLimitPinAction { pin: pin.expose().to_string() }));
    /// `drivingClearSpeedLimitPinAdminAction`.
    SpeedLimitClearPinAdmin => "speed_limit_clear_pin_admin",
        info(A::DrivingClearSpeedLimitPinAdminAction(DrivingClearSpeedLimitPinAdminAction {}));
    /// `parentalControlsAction{activate: true}`.
    ParentalControlsActivate { pin: Pin = "pin" req() } => "parental_controls_activate",
        info(A::ParentalControlsAction(ParentalControlsAction { activate: true, pin: pin.expose().to_string() }));
    /// `parentalControlsAction{activate: false}`.
    ParentalControlsDeactivate { pin: Pin = "pin" req() } => "parental_controls_deactivate",
        info(A::ParentalControlsAction(ParentalControlsAction { activate: false, pin: pin.expose().to_string() }));
    /// `parentalControlsEnableSettingsAction` (`ParentalControlsSetting_E` numbers follow
    /// [`ParentalControlsSetting::ALL`]).
    ParentalControlsEnableSetting {
        setting: ParentalControlsSetting = "setting" req(),
        enable: bool = "enable" req(),
    } => "parental_controls_enable_setting",
        info(A::ParentalControlsEnableSettingsAction(ParentalControlsEnableSettingsAction {
            setting: setting.index(),
            enable: *enable,
        }));
    /// `parentalControlsSetSpeedLimitAction`.
    ParentalControlsSetSpeedLimit { limit_mph: f64 = "limit_mph" range(50.0, 90.0) }
        => "parental_controls_set_speed_limit",
        info(A::ParentalControlsSetSpeedLimitAction(ParentalControlsSetSpeedLimitAction { limit_mph: *limit_mph }));
    /// `parentalControlsClearPinAdminAction`.
    ParentalControlsClearPinAdmin => "parental_controls_clear_pin_admin",
        info(A::ParentalControlsClearPinAdminAction(ParentalControlsClearPinAdminAction {}));
    /// `guestModeAction`.
    GuestMode { enable: bool = "enable" req() } => "guest_mode",
        info(A::GuestModeAction(GuestMode { guest_mode_active: *enable })),
        effect [set("GuestModeEnabled", *enable)];
    /// Erases the guest's data (`eraseUserDataAction`); the car must be in park.
    EraseUserData => "erase_user_data", info(A::EraseUserDataAction(EraseUserDataAction::default()));

    // --- Infotainment: vehicle -----------------------------------------------------------------
    /// `setVehicleNameAction`.
    SetVehicleName { vehicle_name: String = "vehicle_name" text(64) } => "set_vehicle_name",
        info(A::SetVehicleNameAction(SetVehicleNameAction { vehicle_name: vehicle_name.clone() })),
        effect [set("VehicleName", vehicle_name.as_str())];
    /// `setLowPowerModeAction`.
    SetLowPowerMode { enable: bool = "enable" req() } => "set_low_power_mode",
        info(A::SetLowPowerModeAction(SetLowPowerModeAction { low_power_mode: *enable }));
    /// `updateChargeOnSolarFeatureRequest`: charge only from solar surplus between two charge
    /// levels (a Powerwall site). The car does not report the setting back, so its effects are the
    /// only record of it (Home Assistant's "assumed state").
    UpdateChargeOnSolarFeature {
        enabled: bool = "enabled" req(),
        lower_charge_limit: u8 = "lower_charge_limit" range(0, 100),
        upper_charge_limit: u8 = "upper_charge_limit" range(0, 100)
    } => "update_charge_on_solar_feature",
        info(A::UpdateChargeOnSolarFeatureRequest(UpdateChargeOnSolarFeatureRequest {
            charge_on_solar: Some(ChargeOnSolarFeature {
                enabled: *enabled,
                lower_charge_limit: f32::from(*lower_charge_limit),
                upper_charge_limit: f32::from(*upper_charge_limit),
            }),
        })),
        effect [
            set("ChargeOnSolarEnabled", *enabled),
            set("ChargeOnSolarLowerLimit", *lower_charge_limit),
            set("ChargeOnSolarUpperLimit", *upper_charge_limit),
        ];
    /// `setKeepAccessoryPowerModeAction`.
    KeepAccessoryPowerMode { enable: bool = "enable" req() } => "keep_accessory_power_mode",
        info(A::SetKeepAccessoryPowerModeAction(SetKeepAccessoryPowerModeAction {
            keep_accessory_power_mode: *enable,
        }));
    /// `vehicleControlWindowAction`. REST wants the car's coordinates to close the windows (it
    /// checks the phone is near); protocol cars ignore them.
    WindowControl {
        command: WindowCommand = "command" req(),
        lat: Option<f64> = "lat" maybe_range(-90.0, 90.0),
        lon: Option<f64> = "lon" maybe_range(-180.0, 180.0),
    } => "window_control",
        info(A::VehicleControlWindowAction(VehicleControlWindowAction {
            action: Some(match command {
                WindowCommand::Vent => WindowAction::Vent(void()),
                WindowCommand::Close => WindowAction::Close(void()),
            }),
        }));
    /// `vehicleControlSunroofOpenCloseAction`; `stop` is REST only.
    SunRoofControl { state: SunroofState = "state" req() } => "sun_roof_control",
        match state {
            SunroofState::Vent => sunroof(SunroofAction::Vent(void())),
            SunroofState::Close => sunroof(SunroofAction::Close(void())),
            SunroofState::Open => sunroof(SunroofAction::Open(void())),
            SunroofState::Stop => ProtocolAction::Rest,
        };
    /// `vehicleControlTriggerHomelinkAction` (the car checks it is near the saved location).
    TriggerHomelink {
        lat: f64 = "lat" range(-90.0, 90.0),
        lon: f64 = "lon" range(-180.0, 180.0),
    } => "trigger_homelink",
        info(A::VehicleControlTriggerHomelinkAction(VehicleControlTriggerHomelinkAction {
            location: Some(LatLong { latitude: *lat as f32, longitude: *lon as f32 }),
            token: String::new(),
        }));
    /// `vehicleControlScheduleSoftwareUpdateAction`; 0 installs now.
    ScheduleSoftwareUpdate { offset_sec: u32 = "offset_sec" range(0, 86_400 * 7) }
        => "schedule_software_update",
        info(A::VehicleControlScheduleSoftwareUpdateAction(VehicleControlScheduleSoftwareUpdateAction {
            offset_sec: i32::try_from(*offset_sec).unwrap_or(i32::MAX),
        }));
    /// `vehicleControlCancelSoftwareUpdateAction`.
    CancelSoftwareUpdate => "cancel_software_update", info(A::VehicleControlCancelSoftwareUpdateAction(VehicleControlCancelSoftwareUpdateAction {}));

    // --- Infotainment: media -------------------------------------------------------------------
    /// `mediaUpdateVolume{volume_absolute_float}`.
    AdjustVolume { volume: f64 = "volume" range(0.0, 11.0) } => "adjust_volume",
        info(A::MediaUpdateVolume(MediaUpdateVolume {
            media_volume: Some(MediaVolume::VolumeAbsoluteFloat(*volume as f32)),
        })),
        effect [set("MediaAudioVolume", *volume)];
    /// `mediaUpdateVolume{volume_delta: +1}`.
    MediaVolumeUp => "media_volume_up",
        info(A::MediaUpdateVolume(MediaUpdateVolume { media_volume: Some(MediaVolume::VolumeDelta(1)) }));
    /// `mediaUpdateVolume{volume_delta: -1}`.
    MediaVolumeDown => "media_volume_down",
        info(A::MediaUpdateVolume(MediaUpdateVolume { media_volume: Some(MediaVolume::VolumeDelta(-1)) }));
    /// `mediaPlayAction`.
    MediaTogglePlayback => "media_toggle_playback", info(A::MediaPlayAction(MediaPlayAction {}));
    /// `mediaNextTrack`.
    MediaNextTrack => "media_next_track", info(A::MediaNextTrack(MediaNextTrack {}));
    /// `mediaPreviousTrack`.
    MediaPrevTrack => "media_prev_track", info(A::MediaPreviousTrack(MediaPreviousTrack {}));
    /// `mediaNextFavorite`.
    MediaNextFav => "media_next_fav", info(A::MediaNextFavorite(MediaNextFavorite {}));
    /// `mediaPreviousFavorite`.
    MediaPrevFav => "media_prev_fav", info(A::MediaPreviousFavorite(MediaPreviousFavorite {}));

    // --- Infotainment: navigation (community proto; the official proxy forwards these unsigned)
    /// Sends an address or place name (`navigationRequest`).
    NavigationRequest {
        destination: ShareText = "value" req(),
        /// What the Tesla app sends along (`en-US`, the send time); passed on over REST.
        locale: Option<String> = "locale" or(None),
        timestamp_ms: Option<u64> = "timestamp_ms" or(None),
    } => "navigation_request",
        info(A::NavigationRequest(NavigationRequest { destination: destination.0.clone(), order: 0 })),
        extra "type" = "share_ext_content_raw";
    /// Navigates to coordinates (`navigationGpsRequest`).
    NavigationGpsRequest {
        lat: f64 = "lat" range(-90.0, 90.0),
        lon: f64 = "lon" range(-180.0, 180.0),
        /// 1 replace the route, 2 prepend, 3 append.
        order: u8 = "order" or_range(1, 1, 3),
    } => "navigation_gps_request",
        info(A::NavigationGpsRequest(NavigationGpsRequest {
            lat: *lat,
            lon: *lon,
            order: i32::from(*order),
        }));
    /// Navigates to a Supercharger by id (`navigationSuperchargerRequest`).
    NavigationScRequest {
        id: i64 = "id" req(),
        /// 1 replace the route, 2 prepend, 3 append.
        order: u8 = "order" or_range(1, 1, 3),
    } => "navigation_sc_request",
        info(A::NavigationSuperchargerRequest(NavigationSuperchargerRequest {
            id: *id,
            remote_nav_trip_order: i32::from(*order),
        }));
    /// A multi-stop trip, `waypoints` = comma-separated `refId:<Google place id>`
    /// (`navigationWaypointsRequest`).
    NavigationWaypointsRequest { waypoints: String = "waypoints" text(4096) }
        => "navigation_waypoints_request",
        info(A::NavigationWaypointsRequest(NavigationWaypointsRequest { waypoints: waypoints.clone() }));
}

/// `chargingStartStopAction{…}`.
fn charging(action: ChargingAction) -> ProtocolAction {
    info(A::ChargingStartStopAction(ChargingStartStopAction {
        charging_action: Some(action),
    }))
}

fn sunroof(action: SunroofAction) -> ProtocolAction {
    info(A::VehicleControlSunroofOpenCloseAction(
        VehicleControlSunroofOpenCloseAction {
            sunroof_level: None,
            action: Some(action),
        },
    ))
}

impl Command {
    /// Whether the car must be online (awake) for this command; everything but the wake itself.
    pub fn needs_online(&self) -> bool {
        !matches!(self, Command::WakeUp)
    }

    /// Whether cars that require the vehicle command protocol get this command signed.
    pub fn is_signed(&self) -> bool {
        self.action() != ProtocolAction::Rest
    }

    /// The protocol domain a signed command goes to (`None` for REST-only commands).
    pub fn domain(&self) -> Option<Domain> {
        self.action().domain()
    }

    /// The encoded payload for the command's domain; sign it with that domain's signer.
    pub fn encode(&self) -> Result<(Domain, Vec<u8>), ActionError> {
        self.action().encode().ok_or(ActionError::RestOnly {
            command: self.name(),
        })
    }

    /// Whether the signed form of this command uses protobuf numbers that come from the Tesla app
    /// (as community bindings have them) rather than from Tesla's published protocol: the
    /// navigation requests. Tesla's own proxy does not sign them; TeslaSync does only when the
    /// user opts in (`[commands] experimental`). REST cars take them as usual.
    pub fn is_experimental_when_signed(&self) -> bool {
        matches!(
            self,
            Command::NavigationRequest { .. }
                | Command::NavigationGpsRequest { .. }
                | Command::NavigationScRequest { .. }
                | Command::NavigationWaypointsRequest { .. }
        )
    }

    /// Whether the car only carries this command out with the climate running: seat and
    /// steering-wheel heating and cooling that turn something on. Home Assistant's integrations
    /// send `auto_conditioning_start` first when the HVAC is off; so does the executor.
    pub fn wants_climate_on(&self) -> bool {
        match self {
            Command::RemoteSeatHeaterRequest { level, .. } => *level > 0,
            Command::RemoteSeatCoolerRequest {
                seat_cooler_level, ..
            } => *seat_cooler_level > 0,
            Command::RemoteSteeringWheelHeaterRequest { on } => *on,
            Command::RemoteSteeringWheelHeatLevelRequest { level } => {
                *level != SteeringWheelHeatLevel::Off
            }
            _ => false,
        }
    }

    /// Gives a new charge or precondition schedule (`id` 0) the id the official proxy would: the
    /// current Unix time. Other commands are unchanged. Kept out of parsing so that parsing stays
    /// pure.
    pub fn assign_schedule_id(&mut self, unix_secs: u64) {
        if let Command::AddChargeSchedule { id, .. } | Command::AddPreconditionSchedule { id, .. } =
            self
        {
            if *id == 0 {
                *id = unix_secs;
            }
        }
    }
}

/// Why a command name or its parameters were refused, before anything was sent to Tesla.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CommandError {
    #[error("unknown command {name:?}{}", suggestion.map(|s| format!(" (did you mean {s:?}?)")).unwrap_or_default())]
    Unknown {
        name: String,
        suggestion: Option<&'static str>,
    },
    #[error("command {command} needs the parameter {param:?}")]
    MissingParam {
        command: &'static str,
        param: &'static str,
    },
    #[error("command {command}: parameter {param:?} {problem}")]
    InvalidParam {
        command: &'static str,
        param: &'static str,
        problem: String,
    },
    #[error(
        "command {command} has no parameter {param:?} ({})",
        hint(suggestion, accepted)
    )]
    UnknownParam {
        command: &'static str,
        param: String,
        suggestion: Option<&'static str>,
        accepted: Vec<&'static str>,
    },
    #[error("\"params\" must be a JSON object of parameters, not {found}")]
    NotAnObject { found: &'static str },
    #[error("command {command}: \"params\" is too large ({problem}); Tesla's commands take a few small values")]
    TooLarge {
        command: &'static str,
        problem: String,
    },
}

fn hint(suggestion: &Option<&'static str>, accepted: &[&'static str]) -> String {
    match (suggestion, accepted) {
        (Some(s), _) => format!("did you mean {s:?}?"),
        (None, []) => "it takes no parameters".into(),
        (None, keys) => format!("it takes {}", params::quoted(keys)),
    }
}

/// User input echoed in an error is cut short (a name can be anything a client sent).
fn truncate(s: &str) -> String {
    const MAX: usize = 64;
    match s.char_indices().nth(MAX) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

/// The accepted key closest to `wrong`: a near spelling, or a key that starts with what was sent
/// (`which` for `which_trunk`).
fn suggest(wrong: &str, keys: &[&'static str]) -> Option<&'static str> {
    crate::util::nearest(wrong, keys.iter().copied()).or_else(|| {
        let lower = wrong.to_ascii_lowercase();
        (lower.len() >= 3)
            .then(|| keys.iter().copied().find(|k| k.starts_with(&lower)))
            .flatten()
    })
}

/// A command's JSON parameters, checked for size and unknown keys up front, with typed access
/// whose errors name the parameter.
struct Params<'a> {
    command: &'static str,
    params: &'a Map<String, Value>,
    limits: &'a Limits,
}

impl<'a> Params<'a> {
    fn new(
        command: &'static str,
        params: &'a Map<String, Value>,
        keys: &[&'static str],
        limits: &'a Limits,
    ) -> Result<Self, CommandError> {
        if params.len() > MAX_PARAMS_KEYS {
            return Err(CommandError::TooLarge {
                command,
                problem: format!("{} keys, at most {MAX_PARAMS_KEYS}", params.len()),
            });
        }
        let size = serde_json::to_vec(params).map_or(usize::MAX, |v| v.len());
        if size > MAX_PARAMS_BYTES {
            return Err(CommandError::TooLarge {
                command,
                problem: format!("{size} bytes, at most {MAX_PARAMS_BYTES}"),
            });
        }
        if let Some(unknown) = params.keys().find(|k| !keys.contains(&k.as_str())) {
            return Err(CommandError::UnknownParam {
                command,
                param: truncate(unknown),
                suggestion: suggest(unknown, keys),
                accepted: keys.to_vec(),
            });
        }
        Ok(Params {
            command,
            params,
            limits,
        })
    }

    fn take<T: ParamValue>(
        &self,
        key: &'static str,
        aliases: &[&'static str],
        rule: Rule<T>,
    ) -> Result<T, CommandError> {
        let (key, raw) = std::iter::once(key)
            .chain(aliases.iter().copied())
            .find_map(|k| self.params.get(k).map(|v| (k, v)))
            .unwrap_or((key, &Value::Null));
        let value = match raw {
            Value::Null => rule.default.ok_or(CommandError::MissingParam {
                command: self.command,
                param: key,
            })?,
            v => T::from_json(v).map_err(|problem| self.invalid(key, problem))?,
        };
        if let Some(check) = &rule.check {
            check(&value, self.limits).map_err(|problem| self.invalid(key, problem))?;
        }
        Ok(value)
    }

    fn invalid(&self, param: &'static str, problem: String) -> CommandError {
        CommandError::InvalidParam {
            command: self.command,
            param,
            problem,
        }
    }
}
