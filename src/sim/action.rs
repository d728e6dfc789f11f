//! `sim::action`: what a vehicle command does to a simulated car.
//!
//! [`Action`] is the typed, already-validated form of a command; [`Car::apply`] is the one function that
//! mutates a car for it. REST commands reach it through `sim::commands` (name and JSON parameters → an
//! `Action`); signed commands are meant to reach it from the decoded protobuf action, so both transports
//! change the car the same way. Parameter validation does not belong here: an `Action` is well-formed.

use std::time::SystemTime;

use super::car::{Car, ChargingState, CHARGE_LIMIT_MAX, CHARGE_LIMIT_STD};

/// Which trunk `actuate_trunk` moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trunk {
    Front,
    Rear,
}

/// `window_control` and `sun_roof_control` targets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Opening {
    Vent,
    Close,
    Stop,
}

/// One well-formed vehicle command.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    DoorLock,
    DoorUnlock,
    ActuateTrunk(Trunk),
    FlashLights,
    HonkHorn,
    ClimateOn,
    ClimateOff,
    /// Cabin set points, °C, already within the car's range.
    SetTemps {
        driver: f64,
        passenger: f64,
    },
    SetSentryMode(bool),
    ChargeStart,
    ChargeStop,
    SetChargeLimit(u8),
    SetChargingAmps(u8),
    ChargePortDoorOpen,
    ChargePortDoorClose,
    /// `seat` is the index into [`Car::seat_heaters`], `level` 0–3.
    SeatHeater {
        seat: usize,
        level: u8,
    },
    /// `off`, `keep`, `dog` or `camp`.
    ClimateKeeperMode(&'static str),
    SetValetMode(bool),
    Windows(Opening),
    SunRoof(Opening),
    SteeringWheelHeater(bool),
    BioweaponMode(bool),
    /// `Off`, `On` or `FanOnly`.
    CabinOverheatProtection(&'static str),
    PreconditioningMax(bool),
    /// Playback and volume buttons: accepted, nothing to model.
    Media,
    AdjustVolume(f64),
    TriggerHomelink,
    RemoteStartDrive,
    ScheduleSoftwareUpdate,
    CancelSoftwareUpdate,
    SetVehicleName(String),
    /// A boombox sound: accepted, nothing to model.
    Boombox,
    /// `seat` 0 front left, 1 front right; `level` 0–3.
    SeatCooler {
        seat: usize,
        level: u8,
    },
    /// 0 off, 1 low, 3 high.
    SteeringWheelHeatLevel(u8),
    /// `seat` 0 front left, 1 front right.
    AutoSeatClimate {
        seat: usize,
        on: bool,
    },
    AutoSteeringWheelHeat(bool),
    /// 0 low, 1 medium, 2 high.
    CopTemp(u8),
    GuestMode(bool),
    LowPowerMode(bool),
    KeepAccessoryPower(bool),
    /// Charging on solar surplus: on/off and the lower and upper charge levels, %.
    ChargeOnSolar {
        enabled: bool,
        lower: f64,
        upper: f64,
    },
    /// Start time in minutes after midnight, `None` to disable.
    ScheduledCharging(Option<u16>),
    /// Departure time in minutes after midnight, `None` to disable.
    ScheduledDeparture(Option<u16>),
    /// A destination for the navigation: an address, or `lat,lon`.
    Navigate(String),
}

/// Percent open for a vented sunroof (the Model S vent position).
const SUN_ROOF_VENT_PERCENT: u8 = 15;
/// Not seen in Tesla's responses (simulator's own words, for cars without the equipment).
pub const NOT_SUPPORTED: &str = "not_supported";
/// Not seen in Tesla's responses (simulator's own words): the port door cannot close over a cable.
const CABLE_CONNECTED: &str = "cable_connected";

impl Car {
    /// Applies a command that reached the car at `now`. The car must be online and settled to `now`;
    /// reaching it counts as activity whether or not the command succeeds. `Err` carries Tesla's
    /// `reason` for a refused command (answered as HTTP 200 with `result: false`).
    pub fn apply(&mut self, action: &Action, now: SystemTime) -> Result<(), String> {
        self.touch(now);
        let refuse = |reason: &str| Err(reason.to_string());
        match action {
            Action::DoorLock => self.locked = true,
            Action::DoorUnlock => self.locked = false,
            Action::ActuateTrunk(which) => {
                if self.driving {
                    return refuse("vehicle_not_in_park");
                }
                match which {
                    // A frunk opens remotely but has to be closed by hand.
                    Trunk::Front => self.frunk = 1,
                    Trunk::Rear => self.trunk = u8::from(self.trunk == 0),
                }
            }
            Action::FlashLights
            | Action::HonkHorn
            | Action::Media
            | Action::TriggerHomelink
            | Action::Boombox => {}
            Action::ClimateOn => self.climate_on = true,
            Action::ClimateOff => {
                self.climate_on = false;
                self.defrost = false;
            }
            Action::SetTemps { driver, passenger } => {
                self.driver_temp = *driver;
                self.passenger_temp = *passenger;
            }
            Action::SetSentryMode(on) => {
                if self.sentry_mode == *on {
                    return refuse("already_set");
                }
                self.sentry_mode = *on;
            }
            Action::ChargeStart => match self.charging {
                ChargingState::Disconnected => return refuse("disconnected"),
                ChargingState::Charging => return refuse("is_charging"),
                ChargingState::Complete | ChargingState::Stopped
                    if self.soc >= f64::from(self.charge_limit) =>
                {
                    return refuse("complete")
                }
                ChargingState::Complete | ChargingState::Stopped => {
                    self.charging = ChargingState::Charging
                }
            },
            Action::ChargeStop => {
                if self.charging != ChargingState::Charging {
                    return refuse("not_charging");
                }
                self.charging = ChargingState::Stopped;
            }
            Action::SetChargeLimit(percent) => {
                if self.charge_limit == *percent {
                    return refuse("already_set");
                }
                self.set_charge_limit(*percent);
            }
            Action::SetChargingAmps(amps) => self.charge_amps = *amps,
            Action::ChargePortDoorOpen => self.charge_port_door_open = true,
            Action::ChargePortDoorClose => {
                if self.plugged_in() {
                    return refuse(CABLE_CONNECTED);
                }
                self.charge_port_door_open = false;
            }
            Action::SeatHeater { seat, level } => {
                if let Some(slot) = self.seat_heaters.get_mut(*seat) {
                    *slot = *level;
                }
            }
            Action::ClimateKeeperMode(mode) => {
                self.climate_keeper = mode;
                if *mode != "off" {
                    self.climate_on = true;
                }
            }
            Action::SetValetMode(on) => self.valet_mode = *on,
            Action::Windows(op) => {
                let level = u8::from(*op == Opening::Vent);
                if *op != Opening::Stop {
                    self.windows = [level; 4];
                }
            }
            Action::SunRoof(op) => {
                if !self.spec.has_sun_roof {
                    return refuse(NOT_SUPPORTED);
                }
                match op {
                    Opening::Vent => self.sun_roof_percent = SUN_ROOF_VENT_PERCENT,
                    Opening::Close => self.sun_roof_percent = 0,
                    Opening::Stop => {}
                }
            }
            Action::SteeringWheelHeater(on) => {
                self.steering_wheel_heater = *on;
                // The plain on/off request heats at the highest level, as the car does.
                self.steering_wheel_heat_level = if *on { 3 } else { 0 };
            }
            Action::BioweaponMode(on) => {
                self.bioweapon_mode = *on;
                if *on {
                    self.climate_on = true;
                }
            }
            Action::CabinOverheatProtection(mode) => self.cabin_overheat_protection = mode,
            Action::PreconditioningMax(on) => {
                self.defrost = *on;
                if *on {
                    self.climate_on = true;
                }
            }
            Action::AdjustVolume(volume) => self.audio_volume = *volume,
            Action::RemoteStartDrive => self.remote_start = true,
            Action::ScheduleSoftwareUpdate => {
                if self.software_update == "available" {
                    self.software_update = "scheduled";
                }
            }
            Action::CancelSoftwareUpdate => {
                if self.software_update == "scheduled" {
                    self.software_update = "available";
                }
            }
            Action::SetVehicleName(name) => self.display_name = name.clone(),
            Action::SeatCooler { seat, level } => {
                if let Some(slot) = self.seat_coolers.get_mut(*seat) {
                    *slot = *level;
                }
            }
            Action::SteeringWheelHeatLevel(level) => {
                self.steering_wheel_heat_level = *level;
                self.steering_wheel_heater = *level > 0;
            }
            Action::AutoSeatClimate { seat, on } => {
                if let Some(slot) = self.auto_seat_climate.get_mut(*seat) {
                    *slot = *on;
                }
            }
            Action::AutoSteeringWheelHeat(on) => self.auto_steering_wheel_heat = *on,
            Action::CopTemp(level) => {
                self.cop_temperature = ["Low", "Medium", "High"][usize::from((*level).min(2))]
            }
            Action::GuestMode(on) => self.guest_mode = *on,
            Action::LowPowerMode(on) => self.low_power_mode = *on,
            Action::KeepAccessoryPower(on) => self.keep_accessory_power = *on,
            Action::ChargeOnSolar {
                enabled,
                lower,
                upper,
            } => {
                // The window must be a window: the app never sends a lower level above the upper.
                if lower > upper {
                    return refuse("invalid_lower_charge_limit");
                }
                self.charge_on_solar = (*enabled, *lower, *upper);
            }
            Action::ScheduledCharging(start) => {
                self.scheduled_charging =
                    (start.is_some(), start.unwrap_or(self.scheduled_charging.1))
            }
            Action::ScheduledDeparture(at) => {
                self.scheduled_departure = (at.is_some(), at.unwrap_or(self.scheduled_departure.1))
            }
            Action::Navigate(to) => self.navigation_destination = Some(to.clone()),
        }
        Ok(())
    }

    /// A new limit also decides whether a plugged-in car charges: below the charge it stops
    /// (`Complete`), above a completed charge it resumes, as the car does.
    fn set_charge_limit(&mut self, percent: u8) {
        self.charge_limit = percent;
        let below_limit = self.soc < f64::from(percent);
        match self.charging {
            ChargingState::Charging if !below_limit => self.charging = ChargingState::Complete,
            ChargingState::Complete if below_limit => self.charging = ChargingState::Charging,
            _ => {}
        }
    }
}

/// `charge_max_range` and `charge_standard` are `set_charge_limit` with a fixed percent.
pub const MAX_RANGE_PERCENT: u8 = CHARGE_LIMIT_MAX;
pub const STANDARD_PERCENT: u8 = CHARGE_LIMIT_STD;

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;
    use crate::sim::car::Control;
    use crate::sim::SimState;

    fn car(index: usize) -> Car {
        Car::demo(index, SimState::Online, UNIX_EPOCH)
    }

    #[test]
    fn sentry_reports_already_set() {
        let mut c = car(1);
        assert_eq!(c.apply(&Action::SetSentryMode(true), UNIX_EPOCH), Ok(()));
        assert_eq!(
            c.apply(&Action::SetSentryMode(true), UNIX_EPOCH),
            Err("already_set".to_string())
        );
    }

    #[test]
    fn charging_commands_follow_the_cable() {
        let mut c = car(1);
        assert_eq!(
            c.apply(&Action::ChargeStart, UNIX_EPOCH),
            Err("disconnected".into())
        );
        c.control(Control::PlugIn, UNIX_EPOCH).unwrap();
        assert_eq!(c.charging, ChargingState::Charging);
        assert_eq!(
            c.apply(&Action::ChargeStart, UNIX_EPOCH),
            Err("is_charging".into())
        );
        assert_eq!(c.apply(&Action::ChargeStop, UNIX_EPOCH), Ok(()));
        assert_eq!(
            c.apply(&Action::ChargeStop, UNIX_EPOCH),
            Err("not_charging".into())
        );
        // Lowering the limit below the charge completes it; raising it again resumes.
        c.apply(&Action::ChargeStart, UNIX_EPOCH).unwrap();
        c.apply(&Action::SetChargeLimit(50), UNIX_EPOCH).unwrap();
        assert_eq!(c.charging, ChargingState::Complete);
        c.apply(&Action::SetChargeLimit(90), UNIX_EPOCH).unwrap();
        assert_eq!(c.charging, ChargingState::Charging);
    }

    #[test]
    fn a_refused_command_still_counts_as_activity() {
        let mut c = car(1);
        let later = UNIX_EPOCH + Duration::from_secs(60);
        assert!(c.apply(&Action::ChargeStop, later).is_err());
        assert_eq!(c.last_active, later);
    }

    #[test]
    fn sunroof_needs_one() {
        let mut y = car(0);
        let mut s = car(1);
        assert!(y
            .apply(&Action::SunRoof(Opening::Vent), UNIX_EPOCH)
            .is_err());
        s.apply(&Action::SunRoof(Opening::Vent), UNIX_EPOCH)
            .unwrap();
        assert_eq!(s.sun_roof_percent, SUN_ROOF_VENT_PERCENT);
    }
}
