//! `vehicle::signal`: the common language between data sources and Home Assistant.
//!
//! The poller (vehicle_data JSON) and, later, Fleet Telemetry (protobuf) both produce [`Update`]s made
//! of `(Signal, Value)` pairs. Signal names follow Tesla's Fleet Telemetry field names where one exists
//! (`BatteryLevel`, `DetailedChargeState`, `Location`, ...) so that telemetry plugs in without
//! renaming; a few poll-only signals (`VehicleState`, `BatteryRange`, ...) cover what only the REST
//! API reports. Values keep Tesla's native units (miles, mph, °C, bar, kW); Home Assistant converts.

use std::collections::BTreeMap;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

macro_rules! signals {
    ($($(#[$doc:meta])* $name:ident,)*) => {
        /// One observable fact about a vehicle.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        pub enum Signal { $($(#[$doc])* $name,)* }

        impl Signal {
            /// Every signal, in declaration order.
            pub const ALL: &'static [Signal] = &[$(Signal::$name,)*];

            /// The Fleet Telemetry field name (or our poll-only name).
            pub fn as_str(self) -> &'static str {
                match self { $(Signal::$name => stringify!($name),)* }
            }
        }

        impl std::str::FromStr for Signal {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                match s { $(stringify!($name) => Ok(Signal::$name),)* _ => Err(format!("unknown signal {s:?}")) }
            }
        }
    };
}

signals! {
    /// Poll-only: `online`, `asleep` or `offline`, from the free vehicle list.
    VehicleState,
    /// Display name the owner gave the car.
    VehicleName,
    /// Installed firmware, e.g. `2024.44.25.1` (build hash stripped).
    Version,
    /// % of total capacity.
    BatteryLevel,
    /// % usable state of charge.
    Soc,
    /// Poll-only: rated range in miles (`charge_state.battery_range`).
    BatteryRange,
    /// Miles, adjusted for recent driving.
    EstBatteryRange,
    /// Miles.
    IdealBatteryRange,
    /// `Disconnected`, `NoPower`, `Starting`, `Charging`, `Complete`, `Stopped`.
    DetailedChargeState,
    /// kW.
    ACChargingPower,
    /// kWh added this session.
    ACChargingEnergyIn,
    /// V RMS.
    ChargerVoltage,
    /// A.
    ChargeAmps,
    /// Number of phases in use.
    ChargerPhases,
    /// % target.
    ChargeLimitSoc,
    /// % lowest settable limit (poll-only).
    ChargeLimitSocMin,
    /// % highest settable limit (poll-only).
    ChargeLimitSocMax,
    /// A requested.
    ChargeCurrentRequest,
    /// A, the most the charger allows.
    ChargeCurrentRequestMax,
    /// Hours to the charge limit.
    TimeToFullCharge,
    ChargePortDoorOpen,
    /// `Engaged`, `Disengaged`, `Blocking`, `<invalid>`.
    ChargePortLatch,
    /// Cable type; `<invalid>` when nothing is plugged in.
    ChargingCableType,
    BatteryHeaterOn,
    /// °C.
    InsideTemp,
    /// °C.
    OutsideTemp,
    /// `Off` or `On` (telemetry also reports `Precondition`, `OverheatProtect`).
    HvacPower,
    /// °C driver-side set point.
    HvacLeftTemperatureRequest,
    /// °C passenger-side set point.
    HvacRightTemperatureRequest,
    /// °C, lowest settable.
    MinAvailTemp,
    /// °C, highest settable.
    MaxAvailTemp,
    /// 0 (off) to 3 (high).
    SeatHeaterLeft,
    SeatHeaterRight,
    /// Miles.
    Odometer,
    /// Latitude, longitude, heading.
    Location,
    /// mph; absent when parked.
    VehicleSpeed,
    /// `P`, `R`, `N`, `D`.
    Gear,
    /// kW drawn (negative while regenerating or charging).
    DrivePower,
    Locked,
    SentryMode,
    ValetModeEnabled,
    /// Driver present (`vehicle_state.is_user_present`).
    DriverSeatOccupied,
    /// Doors and trunks: open = true.
    DoorDriverFront,
    DoorDriverRear,
    DoorPassengerFront,
    DoorPassengerRear,
    /// Frunk open.
    TrunkFront,
    /// Trunk open.
    TrunkRear,
    /// `Closed`, `PartiallyOpen`, `Opened`.
    FdWindow,
    FpWindow,
    RdWindow,
    RpWindow,
    /// bar.
    TpmsPressureFl,
    TpmsPressureFr,
    TpmsPressureRl,
    TpmsPressureRr,
    /// Derived: the outcome of the last command sent to the car, as text — `<command>: ok`,
    /// `<command>: ok (<reason>)` for a benign refusal (`already_set`), or
    /// `<command>: failed: <reason>` — so a user sees it on the device, not only on
    /// `command/result`.
    LastCommandResult,
    /// Poll-only: `vehicle_config.third_row_seats` (`None` when the car has no third row).
    ThirdRowSeats,
    /// Poll-only: `vehicle_config.has_seat_cooling` (ventilated front seats).
    HasSeatCooling,
    /// Poll-only: `vehicle_config.cop_user_set_temp_supported` (cabin overheat protection has a
    /// user-set temperature).
    CopUserSetTempSupported,
    /// Poll-only: `vehicle_state.software_update.status` (`available`, `scheduled`, `downloading`,
    /// `installing`, ... or empty when there is none).
    SoftwareUpdateStatus,
    /// Cost governor: billable Fleet API requests for this car today (UTC).
    FleetRequestsToday,
    /// Cost governor: estimated US dollars for this car today, at Tesla's prices (signals included).
    FleetUsdToday,
    /// Cost governor: estimated US dollars for this car this calendar month.
    FleetUsdMonth,
    /// Cost governor: this car's month so far extrapolated to the end of the month.
    FleetUsdMonthProjected,
    /// Cost governor: data requests left today under Tesla's per-car daily limit (200).
    FleetDataLeftToday,
    /// Cost governor: commands left today under Tesla's per-car daily limit (50).
    FleetCommandsLeftToday,
    /// Cost governor: wakes left today under Tesla's per-car daily limit (15).
    FleetWakesLeftToday,
    /// Cost governor: charging commands left today under Tesla's per-car daily limit (5).
    FleetChargingCommandsLeftToday,
    /// Cost governor: ISO 8601 time until which Tesla rate-limits this car (unknown: not limited).
    FleetRateLimitedUntil,
    /// Cost governor, account-level (mirrored on every car): US dollars this month, all cars.
    FleetAccountUsdMonth,
    /// Cost governor, account-level: this month's spend extrapolated to the end of the month.
    FleetAccountUsdMonthProjected,
    /// Cost governor, account-level: what is left of `budget.monthly_usd` this month.
    FleetBudgetLeftUsd,
    /// Derived: when the charge reaches its limit (Unix seconds), from `minutes_to_full_charge` and
    /// the block's timestamp; unknown while not charging.
    FullChargeAt,
    /// Derived: when the car arrives at its navigation destination (Unix seconds); unknown without a
    /// route.
    ArrivalAt,
    /// Poll-only: `climate_state.is_preconditioning`.
    IsPreconditioning,
    /// Poll-only: `climate_state.cabin_overheat_protection_actively_cooling`.
    CopActivelyCooling,
    /// Poll-only: `charge_state.trip_charging`.
    TripCharging,
    /// Poll-only: `vehicle_state.dashcam_state` (`Recording`, `Unavailable`, ...).
    DashcamState,
    /// Poll-only: `vehicle_state.sun_roof_percent_open`.
    SunRoofPercentOpen,
    /// Poll-only: `vehicle_state.tpms_soft_warning_*` per tyre.
    TpmsSoftWarningFl,
    TpmsSoftWarningFr,
    TpmsSoftWarningRl,
    TpmsSoftWarningRr,
    /// Poll-only: `climate_state.bioweapon_mode`.
    BioweaponMode,
    /// Poll-only: `climate_state.seat_heater_third_row_left/right` (0-3).
    SeatHeaterThirdRowLeft,
    SeatHeaterThirdRowRight,
    /// Poll-only: `charge_state.scheduled_departure_time_minutes` (minutes after midnight).
    ScheduledDepartureMinutes,
    /// Poll-only: `charge_state.scheduled_charging_start_time_app` (minutes after midnight).
    ScheduledChargingMinutes,
    /// Assumed: charging on solar surplus, as last set through TeslaSync (the car reports it
    /// neither in `vehicle_data` nor in Fleet Telemetry).
    ChargeOnSolarEnabled,
    /// Assumed: the charge level (%) charging on solar surplus keeps at least, from the grid.
    ChargeOnSolarLowerLimit,
    /// Assumed: the charge level (%) solar surplus charges up to.
    ChargeOnSolarUpperLimit,
    /// Fleet Telemetry: the car streams over Wi-Fi now (its `X-Network-Interface` header).
    Wifi,
    /// Fleet Telemetry: the car streams over its cellular modem now.
    Cellular,
    /// Account-level, mirrored on every car: Tesla refused the refresh token; sign in again.
    ReauthRequired,
    /// From `fleet_status`: the car has TeslaSync's virtual key.
    KeyPaired,
    /// From `fleet_status`: the car only accepts signed commands.
    CommandProtocolRequired,
    /// Account-level, mirrored on every car: why the store cannot write the Tesla tokens (they are
    /// kept in memory only; free disk space before a restart), unknown while it can.
    StorageProblem,
    /// Cost governor, account-level: this month's data budget is spent, so polling has stopped.
    FleetBudgetExhausted,
    /// Fleet Telemetry set-up (`vehicle::telemetry_setup`): `streaming`, `synced`, `pending`,
    /// `silent`, `limit_reached`, `missing_key`, `unsupported_firmware`, `unsupported_hardware`,
    /// `not_configured` or `error`.
    TelemetryStatus,
    /// Fleet Telemetry: the car holds TeslaSync's config and synced it (`synced` and a config).
    TelemetryConfigSynced,
    /// Fleet Telemetry: the car is at its limit of telemetry configs (one per app).
    TelemetryLimitReached,
    /// Fleet Telemetry: the latest errors Tesla (`fleet_telemetry_errors`) or the car (`errors`
    /// records) reported, `; `-separated; empty when there are none.
    TelemetryErrors,

    // Every other Fleet Telemetry field, by its field name (numbers 1-269; placeholders
    // `Experimental_*` and `Deprecated_*` have no signal). The telemetry decoder maps a field to
    // its signal by name; entities refer to the ones they show.
    /// Fleet Telemetry field 1.
    DriveRail,
    /// Fleet Telemetry field 2.
    ChargeState,
    /// Fleet Telemetry field 3.
    BmsFullchargecomplete,
    /// Fleet Telemetry field 6.
    PackVoltage,
    /// Fleet Telemetry field 7.
    PackCurrent,
    /// Fleet Telemetry field 9.
    DCDCEnable,
    /// Fleet Telemetry field 11.
    IsolationResistance,
    /// Fleet Telemetry field 12.
    PedalPosition,
    /// Fleet Telemetry field 13.
    BrakePedal,
    /// Fleet Telemetry field 14.
    DiStateR,
    /// Fleet Telemetry field 15.
    DiHeatsinkTR,
    /// Fleet Telemetry field 16.
    DiAxleSpeedR,
    /// Fleet Telemetry field 17.
    DiTorquemotor,
    /// Fleet Telemetry field 18.
    DiStatorTempR,
    /// Fleet Telemetry field 19.
    DiVBatR,
    /// Fleet Telemetry field 20.
    DiMotorCurrentR,
    /// Fleet Telemetry field 22.
    GpsState,
    /// Fleet Telemetry field 23.
    GpsHeading,
    /// Fleet Telemetry field 24.
    NumBrickVoltageMax,
    /// Fleet Telemetry field 25.
    BrickVoltageMax,
    /// Fleet Telemetry field 26.
    NumBrickVoltageMin,
    /// Fleet Telemetry field 27.
    BrickVoltageMin,
    /// Fleet Telemetry field 28.
    NumModuleTempMax,
    /// Fleet Telemetry field 29.
    ModuleTempMax,
    /// Fleet Telemetry field 30.
    NumModuleTempMin,
    /// Fleet Telemetry field 31.
    ModuleTempMin,
    /// Fleet Telemetry field 32.
    RatedRange,
    /// Fleet Telemetry field 33.
    Hvil,
    /// Fleet Telemetry field 34.
    DCChargingEnergyIn,
    /// Fleet Telemetry field 35.
    DCChargingPower,
    /// Fleet Telemetry field 39.
    FastChargerPresent,
    /// Fleet Telemetry field 44.
    ScheduledChargingStartTime,
    /// Fleet Telemetry field 45.
    ScheduledChargingPending,
    /// Fleet Telemetry field 46.
    ScheduledDepartureTime,
    /// Fleet Telemetry field 47.
    PreconditioningEnabled,
    /// Fleet Telemetry field 48.
    ScheduledChargingMode,
    /// Fleet Telemetry field 50.
    ChargeEnableRequest,
    /// Fleet Telemetry field 52.
    ChargePortColdWeatherMode,
    /// Fleet Telemetry field 56.
    NotEnoughPowerToHeat,
    /// Fleet Telemetry field 57.
    SuperchargerSessionTripPlanner,
    /// Fleet Telemetry field 58.
    DoorState,
    /// Fleet Telemetry field 66.
    SpeedLimitMode,
    /// Fleet Telemetry field 67.
    CurrentLimitMph,
    /// Fleet Telemetry field 73.
    SemitruckTpmsPressureRe1L0,
    /// Fleet Telemetry field 74.
    SemitruckTpmsPressureRe1L1,
    /// Fleet Telemetry field 75.
    SemitruckTpmsPressureRe1R0,
    /// Fleet Telemetry field 76.
    SemitruckTpmsPressureRe1R1,
    /// Fleet Telemetry field 77.
    SemitruckTpmsPressureRe2L0,
    /// Fleet Telemetry field 78.
    SemitruckTpmsPressureRe2L1,
    /// Fleet Telemetry field 79.
    SemitruckTpmsPressureRe2R0,
    /// Fleet Telemetry field 80.
    SemitruckTpmsPressureRe2R1,
    /// Fleet Telemetry field 81.
    TpmsLastSeenPressureTimeFl,
    /// Fleet Telemetry field 82.
    TpmsLastSeenPressureTimeFr,
    /// Fleet Telemetry field 83.
    TpmsLastSeenPressureTimeRl,
    /// Fleet Telemetry field 84.
    TpmsLastSeenPressureTimeRr,
    /// Fleet Telemetry field 89.
    SeatHeaterRearLeft,
    /// Fleet Telemetry field 90.
    SeatHeaterRearRight,
    /// Fleet Telemetry field 91.
    SeatHeaterRearCenter,
    /// Fleet Telemetry field 92.
    AutoSeatClimateLeft,
    /// Fleet Telemetry field 93.
    AutoSeatClimateRight,
    /// Fleet Telemetry field 94.
    DriverSeatBelt,
    /// Fleet Telemetry field 95.
    PassengerSeatBelt,
    /// Fleet Telemetry field 97.
    SemitruckPassengerSeatFoldPosition,
    /// Fleet Telemetry field 98.
    LateralAcceleration,
    /// Fleet Telemetry field 99.
    LongitudinalAcceleration,
    /// Fleet Telemetry field 101.
    CruiseSetSpeed,
    /// Fleet Telemetry field 102.
    LifetimeEnergyUsed,
    /// Fleet Telemetry field 103.
    LifetimeEnergyUsedDrive,
    /// Fleet Telemetry field 104.
    SemitruckTractorParkBrakeStatus,
    /// Fleet Telemetry field 105.
    SemitruckTrailerParkBrakeStatus,
    /// Fleet Telemetry field 106.
    BrakePedalPos,
    /// Fleet Telemetry field 107.
    RouteLastUpdated,
    /// Fleet Telemetry field 108.
    RouteLine,
    /// Fleet Telemetry field 109.
    MilesToArrival,
    /// Fleet Telemetry field 110.
    MinutesToArrival,
    /// Fleet Telemetry field 111.
    OriginLocation,
    /// Fleet Telemetry field 112.
    DestinationLocation,
    /// Fleet Telemetry field 113.
    CarType,
    /// Fleet Telemetry field 114.
    Trim,
    /// Fleet Telemetry field 115.
    ExteriorColor,
    /// Fleet Telemetry field 116.
    RoofColor,
    /// Fleet Telemetry field 117.
    ChargePort,
    /// Fleet Telemetry field 123.
    GuestModeEnabled,
    /// Fleet Telemetry field 124.
    PinToDriveEnabled,
    /// Fleet Telemetry field 125.
    PairedPhoneKeyAndKeyFobQty,
    /// Fleet Telemetry field 126.
    CruiseFollowDistance,
    /// Fleet Telemetry field 127.
    AutomaticBlindSpotCamera,
    /// Fleet Telemetry field 128.
    BlindSpotCollisionWarningChime,
    /// Fleet Telemetry field 129.
    SpeedLimitWarning,
    /// Fleet Telemetry field 130.
    ForwardCollisionWarning,
    /// Fleet Telemetry field 131.
    LaneDepartureAvoidance,
    /// Fleet Telemetry field 132.
    EmergencyLaneDepartureAvoidance,
    /// Fleet Telemetry field 133.
    AutomaticEmergencyBrakingOff,
    /// Fleet Telemetry field 134.
    LifetimeEnergyGainedRegen,
    /// Fleet Telemetry field 135.
    DiStateF,
    /// Fleet Telemetry field 136.
    DiStateREL,
    /// Fleet Telemetry field 137.
    DiStateRER,
    /// Fleet Telemetry field 138.
    DiHeatsinkTF,
    /// Fleet Telemetry field 139.
    DiHeatsinkTREL,
    /// Fleet Telemetry field 140.
    DiHeatsinkTRER,
    /// Fleet Telemetry field 141.
    DiAxleSpeedF,
    /// Fleet Telemetry field 142.
    DiAxleSpeedREL,
    /// Fleet Telemetry field 143.
    DiAxleSpeedRER,
    /// Fleet Telemetry field 144.
    DiSlaveTorqueCmd,
    /// Fleet Telemetry field 145.
    DiTorqueActualR,
    /// Fleet Telemetry field 146.
    DiTorqueActualF,
    /// Fleet Telemetry field 147.
    DiTorqueActualREL,
    /// Fleet Telemetry field 148.
    DiTorqueActualRER,
    /// Fleet Telemetry field 149.
    DiStatorTempF,
    /// Fleet Telemetry field 150.
    DiStatorTempREL,
    /// Fleet Telemetry field 151.
    DiStatorTempRER,
    /// Fleet Telemetry field 152.
    DiVBatF,
    /// Fleet Telemetry field 153.
    DiVBatREL,
    /// Fleet Telemetry field 154.
    DiVBatRER,
    /// Fleet Telemetry field 155.
    DiMotorCurrentF,
    /// Fleet Telemetry field 156.
    DiMotorCurrentREL,
    /// Fleet Telemetry field 157.
    DiMotorCurrentRER,
    /// Fleet Telemetry field 158.
    EnergyRemaining,
    /// Fleet Telemetry field 159.
    ServiceMode,
    /// Fleet Telemetry field 160.
    BMSState,
    /// Fleet Telemetry field 161.
    GuestModeMobileAccessState,
    /// Fleet Telemetry field 163.
    DestinationName,
    /// Fleet Telemetry field 164.
    DiInverterTR,
    /// Fleet Telemetry field 165.
    DiInverterTF,
    /// Fleet Telemetry field 166.
    DiInverterTREL,
    /// Fleet Telemetry field 167.
    DiInverterTRER,
    /// Fleet Telemetry field 180.
    CabinOverheatProtectionMode,
    /// Fleet Telemetry field 181.
    CabinOverheatProtectionTemperatureLimit,
    /// Fleet Telemetry field 182.
    CenterDisplay,
    /// Fleet Telemetry field 186.
    ClimateKeeperMode,
    /// Fleet Telemetry field 187.
    DefrostForPreconditioning,
    /// Fleet Telemetry field 188.
    DefrostMode,
    /// Fleet Telemetry field 189.
    EfficiencyPackage,
    /// Fleet Telemetry field 190.
    EstimatedHoursToChargeTermination,
    /// Fleet Telemetry field 191.
    EuropeVehicle,
    /// Fleet Telemetry field 192.
    ExpectedEnergyPercentAtTripArrival,
    /// Fleet Telemetry field 193.
    FastChargerType,
    /// Fleet Telemetry field 194.
    HomelinkDeviceCount,
    /// Fleet Telemetry field 195.
    HomelinkNearby,
    /// Fleet Telemetry field 196.
    HvacACEnabled,
    /// Fleet Telemetry field 197.
    HvacAutoMode,
    /// Fleet Telemetry field 198.
    HvacFanSpeed,
    /// Fleet Telemetry field 199.
    HvacFanStatus,
    /// Fleet Telemetry field 203.
    HvacSteeringWheelHeatAuto,
    /// Fleet Telemetry field 204.
    HvacSteeringWheelHeatLevel,
    /// Fleet Telemetry field 205.
    OffroadLightbarPresent,
    /// Fleet Telemetry field 206.
    PowershareHoursLeft,
    /// Fleet Telemetry field 207.
    PowershareInstantaneousPowerKW,
    /// Fleet Telemetry field 208.
    PowershareStatus,
    /// Fleet Telemetry field 209.
    PowershareStopReason,
    /// Fleet Telemetry field 210.
    PowershareType,
    /// Fleet Telemetry field 211.
    RearDisplayHvacEnabled,
    /// Fleet Telemetry field 212.
    RearSeatHeaters,
    /// Fleet Telemetry field 213.
    RemoteStartEnabled,
    /// Fleet Telemetry field 214.
    RightHandDrive,
    /// Fleet Telemetry field 215.
    RouteTrafficMinutesDelay,
    /// Fleet Telemetry field 216.
    SoftwareUpdateDownloadPercentComplete,
    /// Fleet Telemetry field 217.
    SoftwareUpdateExpectedDurationMinutes,
    /// Fleet Telemetry field 218.
    SoftwareUpdateInstallationPercentComplete,
    /// Fleet Telemetry field 219.
    SoftwareUpdateScheduledStartTime,
    /// Fleet Telemetry field 220.
    SoftwareUpdateVersion,
    /// Fleet Telemetry field 221.
    TonneauOpenPercent,
    /// Fleet Telemetry field 222.
    TonneauPosition,
    /// Fleet Telemetry field 223.
    TonneauTentMode,
    /// Fleet Telemetry field 224.
    TpmsHardWarnings,
    /// Fleet Telemetry field 225.
    TpmsSoftWarnings,
    /// Fleet Telemetry field 227.
    WheelType,
    /// Fleet Telemetry field 228.
    WiperHeatEnabled,
    /// Fleet Telemetry field 229.
    LocatedAtHome,
    /// Fleet Telemetry field 230.
    LocatedAtWork,
    /// Fleet Telemetry field 231.
    LocatedAtFavorite,
    /// Fleet Telemetry field 232.
    SettingDistanceUnit,
    /// Fleet Telemetry field 233.
    SettingTemperatureUnit,
    /// Fleet Telemetry field 234.
    Setting24HourTime,
    /// Fleet Telemetry field 235.
    SettingTirePressureUnit,
    /// Fleet Telemetry field 236.
    SettingChargeUnit,
    /// Fleet Telemetry field 237.
    ClimateSeatCoolingFrontLeft,
    /// Fleet Telemetry field 238.
    ClimateSeatCoolingFrontRight,
    /// Fleet Telemetry field 239.
    LightsHazardsActive,
    /// Fleet Telemetry field 240.
    LightsTurnSignal,
    /// Fleet Telemetry field 241.
    LightsHighBeams,
    /// Fleet Telemetry field 242.
    MediaPlaybackStatus,
    /// Fleet Telemetry field 243.
    MediaPlaybackSource,
    /// Fleet Telemetry field 244.
    MediaAudioVolume,
    /// Fleet Telemetry field 245.
    MediaNowPlayingDuration,
    /// Fleet Telemetry field 246.
    MediaNowPlayingElapsed,
    /// Fleet Telemetry field 247.
    MediaNowPlayingArtist,
    /// Fleet Telemetry field 248.
    MediaNowPlayingTitle,
    /// Fleet Telemetry field 249.
    MediaNowPlayingAlbum,
    /// Fleet Telemetry field 250.
    MediaNowPlayingStation,
    /// Fleet Telemetry field 251.
    MediaAudioVolumeIncrement,
    /// Fleet Telemetry field 252.
    MediaAudioVolumeMax,
    /// Fleet Telemetry field 253.
    SunroofInstalled,
    /// Fleet Telemetry field 254.
    SeatVentEnabled,
    /// Fleet Telemetry field 255.
    RearDefrostEnabled,
    /// Fleet Telemetry field 256.
    ChargeRateMilePerHour,
    /// Fleet Telemetry field 258.
    MilesSinceReset,
    /// Fleet Telemetry field 259.
    SelfDrivingMilesSinceReset,
    /// Fleet Telemetry field 260.
    GpsAccuracyMeters,
    /// Fleet Telemetry field 261.
    LifetimeEnergyChargedKwh,
    /// Fleet Telemetry field 262.
    BrickSocMinPercent,
    /// Fleet Telemetry field 263.
    NominalFullPackEnergyKwh,
    /// Fleet Telemetry field 264.
    GradeEstimatePercent,
    /// Fleet Telemetry field 265.
    MaxSpeedToReachDestinationMph,
    /// Fleet Telemetry field 266.
    SoftwareUpdateAvailable,
    /// Fleet Telemetry field 267.
    SoftwareUpdateInProgress,
    /// Fleet Telemetry field 268.
    RemoteStartActive,
    /// Fleet Telemetry field 269.
    SemiCruiseSpeedLimitMph,
}

/// A signal's value in Tesla's native unit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Value {
    Bool(bool),
    Int(i64),
    Float(f64),
    Text(String),
    Location {
        latitude: f64,
        longitude: f64,
        heading: Option<f64>,
    },
    /// Tesla reported the field without a value (JSON `null`): Home Assistant shows `unknown`,
    /// never a made-up 0 or the last value.
    Unknown,
}

impl Value {
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Int(i) => Some(*i as f64),
            Value::Float(f) => Some(*f),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    pub fn as_text(&self) -> Option<&str> {
        match self {
            Value::Text(s) => Some(s),
            _ => None,
        }
    }
}

/// The latest value of every signal a vehicle has reported.
pub type Signals = BTreeMap<Signal, Value>;

/// New observations about one vehicle, from any source.
#[derive(Debug, Clone, PartialEq)]
pub struct Update {
    pub vin: String,
    pub at: SystemTime,
    pub signals: Vec<(Signal, Value)>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for s in Signal::ALL {
            assert!(
                seen.insert(s.as_str()),
                "duplicate signal name {}",
                s.as_str()
            );
            assert_eq!(s.as_str().parse::<Signal>().unwrap(), *s);
        }
        assert!("NoSuchSignal".parse::<Signal>().is_err());
    }
}
