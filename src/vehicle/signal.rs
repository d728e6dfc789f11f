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
    /// Account-level, mirrored on every car: Tesla refused the refresh token; sign in again.
    ReauthRequired,
    /// From `fleet_status`: the car has TeslaSync's virtual key.
    KeyPaired,
    /// From `fleet_status`: the car only accepts signed commands.
    CommandProtocolRequired,
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
