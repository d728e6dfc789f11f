//! `sim::car`: one simulated vehicle — its state as plain data, the sleep/wake state machine and the
//! physics (charging, driving, cabin temperature), all computed lazily from the clock.
//!
//! Nothing runs in the background. Every access first calls [`Car::settle`], which replays what happened
//! between the last access and `now`: a waking car coming online, a charge reaching its limit, an idle
//! car falling asleep. Physics are piecewise closed-form (constant charging power, constant speed on a
//! circle), so an hour of virtual time costs the same as a second.
//!
//! Owns the control actions (`sleep`, `drive`, `plug_in`, ...) a test performs on the car; the actions a
//! *driver's phone* performs (commands) live in `sim::action`, the JSON views in `sim::render`.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::{SimError, SimState};

/// Wall-socket / wallbox figures: 230 V, three phases, a 32 A pilot (a 22 kW wallbox).
pub const CHARGER_VOLTS: f64 = 230.0;
pub const CHARGER_PHASES: f64 = 3.0;
pub const CHARGER_PILOT_AMPS: u8 = 32;
/// The most current the on-board charger accepts (`charge_current_request_max`).
pub const CHARGE_AMPS_MAX: u8 = 32;
/// Speed of a simulated drive, and how fast the car turns, so that it circles its home town.
pub const DRIVE_SPEED_MPH: f64 = 40.0;
const TURN_RATE_DEG_PER_SEC: f64 = 3.0 / 60.0;
/// Cabin temperature approaches its target with these time constants (climate on / off).
const CABIN_TAU_ON_SECS: f64 = 600.0;
const CABIN_TAU_OFF_SECS: f64 = 3600.0;
pub const MIN_TEMP_C: f64 = 15.0;
pub const MAX_TEMP_C: f64 = 28.0;
pub const CHARGE_LIMIT_MIN: u8 = 50;
pub const CHARGE_LIMIT_MAX: u8 = 100;
pub const CHARGE_LIMIT_STD: u8 = 80;
const KM_PER_MILE: f64 = 1.609_344;
const KM_PER_DEG_LAT: f64 = 111.32;

/// What does not change about a model: identity, equipment, battery.
#[derive(Debug)]
pub struct Spec {
    pub model: &'static str,
    pub year: u16,
    /// The first 11 VIN characters (WMI, model, body, check digit, year, plant).
    pub vin_prefix: &'static str,
    pub command_signing: &'static str,
    pub car_type: &'static str,
    pub trim_badging: &'static str,
    pub exterior_color: &'static str,
    pub wheel_type: &'static str,
    pub driver_assist: &'static str,
    pub car_version: &'static str,
    pub capacity_kwh: f64,
    /// Rated range at 100 %, miles.
    pub rated_range_mi: f64,
    /// Battery power drawn while driving at [`DRIVE_SPEED_MPH`].
    pub drive_kw: f64,
    pub has_sun_roof: bool,
    pub charge_port_type: &'static str,
    /// Cold tyre pressures, bar: front left, front right, rear left, rear right.
    pub tpms_bar: [f64; 4],
    /// A pending update the driver can schedule (`schedule_software_update`), if any.
    pub available_update: Option<&'static str>,
    /// Ventilated front seats (`vehicle_config.has_seat_cooling`).
    pub has_seat_cooling: bool,
    /// Heated rear seats (`vehicle_config.rear_seat_heaters`, 0 = none).
    pub rear_seat_heaters: u8,
    /// `vehicle_config.third_row_seats` (`None` without a third row).
    pub third_row_seats: &'static str,
    /// Cabin overheat protection with a settable temperature.
    pub cop_user_set_temp: bool,
}

/// A 2022 Model Y: requires signed commands, as every recent car does.
pub static MODEL_Y_2022: Spec = Spec {
    model: "Model Y",
    year: 2022,
    vin_prefix: "7SAYGDEE1NA",
    command_signing: "required",
    car_type: "modely",
    trim_badging: "74d",
    exterior_color: "MidnightSilver",
    wheel_type: "Apollo19",
    driver_assist: "TeslaAP3",
    car_version: "2024.44.25.1 a8e7d1e0c9f3",
    capacity_kwh: 75.0,
    rated_range_mi: 330.0,
    drive_kw: 11.0,
    has_sun_roof: false,
    charge_port_type: "CCS",
    tpms_bar: [2.9, 2.9, 2.875, 2.9],
    available_update: None,
    has_seat_cooling: false,
    rear_seat_heaters: 1,
    third_row_seats: "None",
    cop_user_set_temp: true,
};

/// A 2018 Model S: pre-2021 S/X cannot use the command protocol and keep REST commands.
pub static MODEL_S_2018: Spec = Spec {
    model: "Model S",
    year: 2018,
    vin_prefix: "5YJSA1E2XJF",
    command_signing: "off",
    car_type: "models2",
    trim_badging: "100d",
    exterior_color: "RedMulticoat",
    wheel_type: "Slipstream19Carbon",
    driver_assist: "MonoCam",
    car_version: "2024.26.12 0c3f1a2b4d5e",
    capacity_kwh: 98.0,
    rated_range_mi: 335.0,
    drive_kw: 13.0,
    has_sun_roof: true,
    charge_port_type: "EU",
    tpms_bar: [2.825, 2.85, 2.8, 2.825],
    available_update: Some("2024.45.32.20"),
    has_seat_cooling: false,
    rear_seat_heaters: 1,
    third_row_seats: "None",
    cop_user_set_temp: false,
};

const NAMES: [&str; 8] = [
    "Midnight",
    "Red Rocket",
    "Blue Comet",
    "Silver Arrow",
    "Pearl",
    "Thunder",
    "Nova",
    "Sparky",
];

/// Home towns (lat, lon), one per car in turn.
const HOMES: [(f64, f64); 8] = [
    (52.373_080, 4.892_453),  // Amsterdam
    (48.137_154, 11.576_124), // Munich
    (59.913_869, 10.752_245), // Oslo
    (45.764_043, 4.835_659),  // Lyon
    (55.676_098, 12.568_337), // Copenhagen
    (48.208_176, 16.373_819), // Vienna
    (40.416_775, -3.703_790), // Madrid
    (53.349_805, -6.260_310), // Dublin
];

/// Connectivity as the simulator models it. `Waking` looks `asleep` from outside until `ready_at`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Power {
    Online,
    Asleep,
    Offline,
    Waking { ready_at: SystemTime },
}

/// Tesla's `charging_state` values used here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChargingState {
    Disconnected,
    Stopped,
    Charging,
    Complete,
}

impl ChargingState {
    pub fn as_str(self) -> &'static str {
        match self {
            ChargingState::Disconnected => "Disconnected",
            ChargingState::Stopped => "Stopped",
            ChargingState::Charging => "Charging",
            ChargingState::Complete => "Complete",
        }
    }
}

/// The timing knobs from `SimConfig` that the state machine needs.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    pub sleep_after: Duration,
    pub wake_delay: Duration,
}

/// A test's hand on the car (`POST /sim/vehicles/{vin}/{action}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    Sleep,
    Wake,
    Offline,
    Drive,
    Park,
    PlugIn,
    Unplug,
    /// The car's computers restart: signed-command sessions get a new epoch (`sim::signed`).
    Reboot,
}

/// Control action names, in the order error messages list them.
pub const CONTROLS: [(&str, Control); 8] = [
    ("sleep", Control::Sleep),
    ("wake", Control::Wake),
    ("drive", Control::Drive),
    ("park", Control::Park),
    ("plug_in", Control::PlugIn),
    ("unplug", Control::Unplug),
    ("offline", Control::Offline),
    ("reboot", Control::Reboot),
];

impl Control {
    pub fn parse(name: &str) -> Option<Control> {
        CONTROLS.iter().find(|(n, _)| *n == name).map(|(_, c)| *c)
    }
}

/// One simulated vehicle. Fields hold the state as of `seg_at`; [`Car::settle`] moves them to `now`.
#[derive(Debug, Clone)]
pub struct Car {
    pub spec: &'static Spec,
    pub vin: String,
    pub id: u64,
    pub vehicle_id: u64,
    pub display_name: String,

    pub power: Power,
    /// Last time a request reached the car or someone used it; the sleep timer counts from here.
    pub last_active: SystemTime,
    /// The time the other fields describe.
    pub seg_at: SystemTime,

    // Drive.
    pub driving: bool,
    pub heading: f64,
    pub latitude: f64,
    pub longitude: f64,
    pub odometer: f64,
    pub gps_as_of: SystemTime,

    // Battery and charging.
    /// State of charge in percent, kept fractional so slow charging accumulates.
    pub soc: f64,
    pub charge_limit: u8,
    pub charge_amps: u8,
    pub charging: ChargingState,
    pub charge_port_door_open: bool,
    pub energy_added_kwh: f64,

    // Climate.
    pub climate_on: bool,
    pub inside_temp: f64,
    pub outside_temp: f64,
    pub driver_temp: f64,
    pub passenger_temp: f64,
    /// Front left, front right, rear left, rear centre, rear right.
    pub seat_heaters: [u8; 5],
    pub steering_wheel_heater: bool,
    pub climate_keeper: &'static str,
    pub bioweapon_mode: bool,
    pub cabin_overheat_protection: &'static str,
    /// `Low`, `Medium` or `High` (30, 35, 40 °C).
    pub cop_temperature: &'static str,
    pub defrost: bool,
    /// Front left, front right ventilation, 0 (off) to 3, on cars with seat cooling.
    pub seat_coolers: [u8; 2],
    /// Third row left, right.
    pub third_row_heaters: [u8; 2],
    /// Automatic seat climate front left, front right.
    pub auto_seat_climate: [bool; 2],
    pub auto_steering_wheel_heat: bool,
    /// Legacy scheduled charging: enabled, minutes after midnight.
    pub scheduled_charging: (bool, u16),
    /// Legacy scheduled departure: enabled, minutes after midnight.
    pub scheduled_departure: (bool, u16),

    // Body and security.
    pub locked: bool,
    pub sentry_mode: bool,
    pub valet_mode: bool,
    pub remote_start: bool,
    /// Front trunk and rear trunk, 0 closed.
    pub frunk: u8,
    pub trunk: u8,
    /// Front driver, front passenger, rear driver, rear passenger; 0 closed.
    pub windows: [u8; 4],
    /// Percent open, for cars that have one.
    pub sun_roof_percent: u8,
    pub audio_volume: f64,
    pub media: Media,
    pub software_update: &'static str,

    // Commanded settings (sim::action), REST numbering.
    /// Steering wheel heat level: 0 off, 1 low, 3 high.
    pub steering_wheel_heat_level: u8,
    pub guest_mode: bool,
    pub low_power_mode: bool,
    pub keep_accessory_power: bool,
    /// Charge on solar: enabled, lower and upper charge level (%).
    pub charge_on_solar: (bool, f64, f64),
    /// Where the navigation was last sent: an address, or `lat,lon`.
    pub navigation_destination: Option<String>,
    /// Percent of the update installed while `software_update` is `installing`.
    pub install_percent: u8,
}

/// What the car's media player is doing.
#[derive(Debug, Clone, PartialEq)]
pub struct Media {
    /// `Playing`, `Paused` or `Stopped`.
    pub status: &'static str,
    pub source: &'static str,
    pub title: &'static str,
    pub artist: &'static str,
    pub album: &'static str,
    /// Milliseconds.
    pub duration_ms: u64,
    pub elapsed_ms: u64,
}

impl Media {
    /// A paused radio-free playlist, so that now-playing entities have something to show.
    pub const PAUSED: Media = Media {
        status: "Paused",
        source: "Spotify",
        title: "Drive My Car",
        artist: "The Beatles",
        album: "Rubber Soul",
        duration_ms: 150_000,
        elapsed_ms: 42_000,
    };
}

impl Car {
    /// The `index`-th car of the demo account: even indices are 2022 Model Ys, odd ones 2018 Model Ss.
    pub fn demo(index: usize, initial: SimState, now: SystemTime) -> Car {
        let spec = if index % 2 == 0 {
            &MODEL_Y_2022
        } else {
            &MODEL_S_2018
        };
        let serial = index as u64 + 1;
        let round = index / NAMES.len();
        let display_name = match round {
            0 => NAMES[index].to_string(),
            r => format!("{} {}", NAMES[index % NAMES.len()], r + 1),
        };
        let (lat, lon) = HOMES[index % HOMES.len()];
        // Later rounds park a little further north-east, so no two cars share a spot.
        let offset = round as f64 * 0.01;
        let n = index as f64;
        let power = match initial {
            SimState::Online => Power::Online,
            SimState::Asleep => Power::Asleep,
            SimState::Offline => Power::Offline,
        };
        Car {
            spec,
            vin: format!("{}{:06}", spec.vin_prefix, serial),
            id: 3_744_000_000_000_000 + serial,
            vehicle_id: 1_700_000_000 + serial,
            display_name,
            power,
            last_active: now,
            seg_at: now,
            driving: false,
            heading: (45.0 + 97.0 * n) % 360.0,
            latitude: lat + offset,
            longitude: lon + offset,
            odometer: 18_234.5 + 43_752.7 * (index % 2) as f64 + 1_111.1 * round as f64,
            gps_as_of: now,
            soc: [72.0, 58.0, 64.0, 81.0][index % 4],
            charge_limit: CHARGE_LIMIT_STD,
            charge_amps: 16,
            charging: ChargingState::Disconnected,
            charge_port_door_open: false,
            energy_added_kwh: 0.0,
            climate_on: false,
            inside_temp: 17.0 + 1.5 * (index % 2) as f64,
            outside_temp: 9.5 + 2.5 * (index % 2) as f64,
            driver_temp: 21.0,
            passenger_temp: 21.0,
            seat_heaters: [0; 5],
            steering_wheel_heater: false,
            climate_keeper: "off",
            bioweapon_mode: false,
            cabin_overheat_protection: "On",
            cop_temperature: "Medium",
            defrost: false,
            seat_coolers: [0; 2],
            third_row_heaters: [0; 2],
            auto_seat_climate: [false; 2],
            auto_steering_wheel_heat: false,
            scheduled_charging: (false, 600),
            scheduled_departure: (false, 480),
            locked: true,
            sentry_mode: false,
            valet_mode: false,
            remote_start: false,
            frunk: 0,
            trunk: 0,
            windows: [0; 4],
            sun_roof_percent: 0,
            audio_volume: 2.33,
            media: Media::PAUSED,
            software_update: if spec.available_update.is_some() {
                "available"
            } else {
                ""
            },
            steering_wheel_heat_level: 0,
            guest_mode: false,
            low_power_mode: false,
            keep_accessory_power: false,
            charge_on_solar: (false, 40.0, 90.0),
            install_percent: 0,
            navigation_destination: None,
        }
    }

    /// The state Tesla reports: a waking car still says `asleep`.
    pub fn state(&self) -> SimState {
        match self.power {
            Power::Online => SimState::Online,
            Power::Asleep | Power::Waking { .. } => SimState::Asleep,
            Power::Offline => SimState::Offline,
        }
    }

    pub fn is_online(&self) -> bool {
        self.power == Power::Online
    }

    pub fn plugged_in(&self) -> bool {
        self.charging != ChargingState::Disconnected
    }

    pub fn battery_level(&self) -> u8 {
        self.soc.clamp(0.0, 100.0).floor() as u8
    }

    /// Amps the car actually draws: what it asks for, capped by the wallbox.
    pub fn charger_amps(&self) -> u8 {
        if self.charging == ChargingState::Charging {
            self.charge_amps.min(CHARGER_PILOT_AMPS)
        } else {
            0
        }
    }

    pub fn charger_power_kw(&self) -> f64 {
        f64::from(self.charger_amps()) * CHARGER_VOLTS * CHARGER_PHASES / 1000.0
    }

    /// Percent of battery per second gained (charging) or lost (driving).
    fn soc_rate(&self) -> f64 {
        let kw = if self.driving {
            -self.spec.drive_kw
        } else {
            self.charger_power_kw()
        };
        kw / 3600.0 / self.spec.capacity_kwh * 100.0
    }

    /// Remaining range at the current charge, miles.
    pub fn range_mi(&self) -> f64 {
        self.soc.clamp(0.0, 100.0) / 100.0 * self.spec.rated_range_mi
    }

    /// When the current charge reaches the limit, if the car is charging.
    fn charge_done_at(&self) -> Option<SystemTime> {
        if self.charging != ChargingState::Charging {
            return None;
        }
        let rate = self.soc_rate();
        let missing = f64::from(self.charge_limit) - self.soc;
        if missing <= 0.0 || rate <= 0.0 {
            return Some(self.seg_at);
        }
        Some(self.seg_at + Duration::from_secs_f64(missing / rate))
    }

    /// When an idle, online car falls asleep.
    pub fn sleep_due(&self, timing: &Timing) -> Option<SystemTime> {
        let idle = !self.driving && self.charging != ChargingState::Charging;
        (self.power == Power::Online && idle).then(|| self.last_active + timing.sleep_after)
    }

    /// Replays everything that happened up to `now`: physics, then the events in time order.
    pub fn settle(&mut self, now: SystemTime, timing: &Timing) {
        // At most a handful of events can fall in one interval (online, charge complete, asleep);
        // the bound only guards against a float that refuses to reach its limit.
        for _ in 0..8 {
            let mut next = now;
            if let Power::Waking { ready_at } = self.power {
                next = next.min(ready_at);
            }
            if let Some(t) = self.charge_done_at() {
                next = next.min(t);
            }
            if let Some(t) = self.sleep_due(timing) {
                next = next.min(t);
            }
            let next = next.max(self.seg_at);
            self.advance_to(next);
            self.fire_events(next, timing);
            if next >= now {
                return;
            }
        }
        self.advance_to(now);
        self.fire_events(now, timing);
    }

    /// Applies the events due at `t` (called with `seg_at == t`).
    fn fire_events(&mut self, t: SystemTime, timing: &Timing) {
        if let Power::Waking { ready_at } = self.power {
            if ready_at <= t {
                self.power = Power::Online;
                self.last_active = self.last_active.max(ready_at);
            }
        }
        if self.charge_done_at().is_some_and(|done| done <= t) {
            self.soc = f64::from(self.charge_limit).max(self.soc);
            self.charging = ChargingState::Complete;
            // The car stays up a while after a charge ends, as after any other activity.
            self.last_active = self.last_active.max(t);
        }
        if self.sleep_due(timing).is_some_and(|due| due <= t) {
            self.fall_asleep();
        }
    }

    fn fall_asleep(&mut self) {
        self.power = Power::Asleep;
        self.climate_on = false;
        self.defrost = false;
        self.remote_start = false;
    }

    /// Moves the continuous quantities from `seg_at` to `t` with nothing else changing in between.
    fn advance_to(&mut self, t: SystemTime) {
        let Ok(dt) = t.duration_since(self.seg_at) else {
            return;
        };
        let dt = dt.as_secs_f64();
        if dt <= 0.0 {
            return;
        }
        let soc_before = self.soc;
        self.soc = (self.soc + self.soc_rate() * dt).clamp(0.0, 100.0);
        if self.charging == ChargingState::Charging {
            self.energy_added_kwh += (self.soc - soc_before) / 100.0 * self.spec.capacity_kwh;
        }
        if self.driving {
            self.drive_for(dt);
            self.gps_as_of = t;
        }
        let (target, tau) = if self.climate_on {
            (self.driver_temp, CABIN_TAU_ON_SECS)
        } else {
            (self.outside_temp, CABIN_TAU_OFF_SECS)
        };
        self.inside_temp = target + (self.inside_temp - target) * (-dt / tau).exp();
        self.seg_at = t;
    }

    /// Drives `dt` seconds at constant speed while turning at a constant rate (an arc of a circle).
    fn drive_for(&mut self, dt: f64) {
        let speed_kmps = DRIVE_SPEED_MPH * KM_PER_MILE / 3600.0;
        let omega = TURN_RATE_DEG_PER_SEC.to_radians();
        let h0 = self.heading.to_radians();
        let h1 = h0 + omega * dt;
        let radius = speed_kmps / omega;
        let east_km = radius * (h0.cos() - h1.cos());
        let north_km = radius * (h1.sin() - h0.sin());
        let km_per_deg_lon = KM_PER_DEG_LAT * self.latitude.to_radians().cos();
        self.latitude += north_km / KM_PER_DEG_LAT;
        self.longitude += east_km / km_per_deg_lon;
        self.heading = h1.to_degrees().rem_euclid(360.0);
        self.odometer += DRIVE_SPEED_MPH * dt / 3600.0;
    }

    /// Someone used the car (a command, a cable, the driver's seat): it wakes and its timer restarts.
    /// An offline car stays offline; connectivity is not the driver's to fix.
    pub fn touch(&mut self, now: SystemTime) {
        match self.power {
            Power::Offline => {}
            Power::Online | Power::Asleep | Power::Waking { .. } => {
                self.power = Power::Online;
                self.last_active = now;
            }
        }
    }

    /// `POST wake_up`: an asleep car starts waking and is online after `wake_delay`. Offline cars
    /// ignore it; waking or online cars are unaffected (a second wake does not restart the delay).
    pub fn wake_up(&mut self, now: SystemTime, timing: &Timing) {
        if self.power == Power::Asleep {
            self.power = Power::Waking {
                ready_at: now + timing.wake_delay,
            };
            self.settle(now, timing);
        }
    }

    /// Applies a control action (the car must already be settled to `now`).
    pub fn control(&mut self, action: Control, now: SystemTime) -> Result<(), SimError> {
        match action {
            Control::Sleep => {
                self.driving = false;
                if self.charging == ChargingState::Charging {
                    self.charging = ChargingState::Stopped;
                }
                self.fall_asleep();
            }
            Control::Wake => {
                self.power = Power::Online;
                self.last_active = now;
            }
            Control::Offline => self.power = Power::Offline,
            Control::Drive => {
                if self.plugged_in() {
                    return Err(SimError::Refused(
                        "the charge cable is connected; unplug it before driving".into(),
                    ));
                }
                self.touch(now);
                self.driving = true;
                self.gps_as_of = now;
            }
            Control::Park => {
                self.touch(now);
                self.driving = false;
            }
            Control::PlugIn => {
                if self.driving {
                    return Err(SimError::Refused(
                        "the car is driving; park it before plugging in".into(),
                    ));
                }
                self.touch(now);
                if !self.plugged_in() {
                    self.charge_port_door_open = true;
                    self.energy_added_kwh = 0.0;
                    self.charging = if self.soc < f64::from(self.charge_limit) {
                        ChargingState::Charging
                    } else {
                        ChargingState::Complete
                    };
                }
            }
            Control::Unplug => {
                self.touch(now);
                self.charging = ChargingState::Disconnected;
                self.charge_port_door_open = false;
            }
            // The car comes back up awake; its verifiers' new epochs are `sim::signed`'s part.
            Control::Reboot => self.touch(now),
        }
        Ok(())
    }
}

/// Seconds since the Unix epoch.
pub fn unix_secs(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs()
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: Duration = Duration::from_secs(1_700_000_000);
    const TIMING: Timing = Timing {
        sleep_after: Duration::from_secs(900),
        wake_delay: Duration::from_secs(5),
    };

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + T0 + Duration::from_secs(secs)
    }

    #[test]
    fn demo_cars_alternate_models_with_realistic_vins() {
        let y = Car::demo(0, SimState::Online, at(0));
        let s = Car::demo(1, SimState::Online, at(0));
        let y2 = Car::demo(2, SimState::Online, at(0));
        assert_eq!(y.vin, "7SAYGDEE1NA000001");
        assert_eq!(s.vin, "5YJSA1E2XJF000002");
        assert_eq!(y2.vin, "7SAYGDEE1NA000003");
        assert_eq!(
            (y.display_name.as_str(), s.display_name.as_str()),
            ("Midnight", "Red Rocket")
        );
        assert_eq!(y.spec.command_signing, "required");
        assert_eq!(s.spec.command_signing, "off");
        assert_eq!(
            Car::demo(8, SimState::Online, at(0)).display_name,
            "Midnight 2"
        );
    }

    #[test]
    fn charging_reaches_the_limit_then_the_car_sleeps() {
        let mut car = Car::demo(0, SimState::Online, at(0));
        car.control(Control::PlugIn, at(0)).unwrap();
        // 72 % -> 80 % of 75 kWh at 11.04 kW takes 6 kWh / 11.04 kW = 1956.5 s.
        car.settle(at(1_900), &TIMING);
        assert_eq!(car.charging, ChargingState::Charging);
        assert_eq!(car.battery_level(), 79);
        car.settle(at(1_957), &TIMING);
        assert_eq!(car.charging, ChargingState::Complete);
        assert_eq!(car.battery_level(), 80);
        assert!((car.energy_added_kwh - 6.0).abs() < 1e-6);
        // Asleep 15 min after the charge completed, not 15 min after plugging in.
        car.settle(at(1_957 + 899), &TIMING);
        assert!(car.is_online());
        car.settle(at(1_957 + 900), &TIMING);
        assert_eq!(car.power, Power::Asleep);
    }

    #[test]
    fn settling_in_one_step_or_many_gives_the_same_state() {
        let mut one = Car::demo(1, SimState::Online, at(0));
        one.control(Control::Drive, at(0)).unwrap();
        let mut many = one.clone();
        one.settle(at(3_600), &TIMING);
        for s in (60..=3_600).step_by(60) {
            many.settle(at(s), &TIMING);
        }
        assert!((one.odometer - many.odometer).abs() < 1e-6);
        assert!((one.latitude - many.latitude).abs() < 1e-6);
        assert!((one.odometer - (61_987.2 + 40.0)).abs() < 1e-6);
    }

    #[test]
    fn drive_refuses_while_plugged_in() {
        let mut car = Car::demo(1, SimState::Online, at(0));
        car.control(Control::PlugIn, at(0)).unwrap();
        assert!(matches!(
            car.control(Control::Drive, at(0)),
            Err(SimError::Refused(_))
        ));
    }
}
