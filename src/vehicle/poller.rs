//! `vehicle::poller`: sleep-aware polling of the Fleet API.
//!
//! Each cycle reads the free vehicle list (it never wakes a car) and calls the billed `vehicle_data`
//! only for cars that list as `online` and are due. Every `vehicle_data` call resets the car's
//! inactivity timer, so a parked, idle car gets a *sleep window*: after `idle_before_sleep` without
//! driving or charging, data calls stop for `sleep_window` so the car can fall asleep. A sleeping car
//! costs nothing but its entry in the list; its last values stay visible in Home Assistant.
//!
//! Time comes from the shared [`Clock`], so tests run hours of schedule in milliseconds.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use serde_json::Value as Json;
use tokio::sync::{watch, Notify};
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, info_span, warn, Instrument};

use crate::clock::Clock;
use crate::config::PollingConfig;
use crate::tesla::auth::AuthError;
use crate::tesla::fleet::{FleetClient, FleetError, VehicleSummary};
use crate::vehicle::hub::Hub;
use crate::vehicle::signal::{Signal, Update, Value};
use crate::vehicle::VehicleInfo;

/// The `vehicle_data` blocks TeslaSync reads.
pub const ENDPOINTS: &[&str] = &[
    "charge_state",
    "climate_state",
    "drive_state",
    "vehicle_state",
    "vehicle_config",
    "location_data",
];

/// Progress the status page and tests can watch.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PollStatus {
    /// Completed cycles (list read, due cars polled).
    pub cycles: u64,
    pub last_cycle_at: Option<SystemTime>,
    /// When the next cycle is due (after `Retry-After`, this is when Tesla said to come back).
    pub next_cycle_at: Option<SystemTime>,
    pub last_error: Option<String>,
}

/// Per-car schedule.
#[derive(Debug, Clone, Default)]
struct Schedule {
    /// Next `vehicle_data` call; `None` = as soon as the car is online.
    next_data_at: Option<SystemTime>,
    /// Since when the car has been parked and idle (not driving, not charging).
    idle_since: Option<SystemTime>,
}

/// The polling task for one account.
pub struct Poller {
    fleet: FleetClient,
    hub: Arc<Hub>,
    clock: Clock,
    settings: PollingConfig,
    schedules: HashMap<String, Schedule>,
    status: watch::Sender<PollStatus>,
    /// Poked by the executor to poll a car again soon (e.g. after waking it).
    poke: Arc<Notify>,
}

impl Poller {
    pub fn new(fleet: FleetClient, hub: Arc<Hub>, clock: Clock, settings: PollingConfig) -> Self {
        Poller {
            fleet,
            hub,
            clock,
            settings,
            schedules: HashMap::new(),
            status: watch::channel(PollStatus::default()).0,
            poke: Arc::new(Notify::new()),
        }
    }

    pub fn status(&self) -> watch::Receiver<PollStatus> {
        self.status.subscribe()
    }

    /// A handle that starts the next cycle early.
    pub fn poke_handle(&self) -> Arc<Notify> {
        self.poke.clone()
    }

    /// Polls until `shutdown`.
    pub async fn run(mut self, shutdown: CancellationToken) {
        loop {
            let pause = self.cycle().await;
            // Fix the deadline before announcing the cycle: whoever reacts to the announcement (a test
            // advancing a manual clock) must not be able to slip in between and be missed.
            let now = self.clock.now();
            let next = now + pause;
            self.status.send_modify(|s| {
                s.cycles += 1;
                s.last_cycle_at = Some(now);
                s.next_cycle_at = Some(next);
            });
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = self.clock.sleep_until(next) => {}
                _ = self.poke.notified() => {}
            }
        }
    }

    /// One cycle; returns how long to wait before the next.
    async fn cycle(&mut self) -> Duration {
        let list = match self.fleet.vehicles().await {
            Ok(list) => list,
            Err(e) => return self.failed(None, e),
        };
        self.status.send_modify(|s| s.last_error = None);
        self.forget_removed(&list);
        for car in list {
            let vin = car.vin.to_ascii_uppercase();
            let span = info_span!("poll", vin = %vin);
            if let Err(e) = self.poll_car(&vin, &car).instrument(span).await {
                return self.failed(Some(&vin), e);
            }
        }
        self.settings.list_interval
    }

    async fn poll_car(&mut self, vin: &str, car: &VehicleSummary) -> Result<(), FleetError> {
        let now = self.clock.now();
        self.hub.upsert_info(VehicleInfo {
            vin: vin.to_string(),
            display_name: car.display_name.clone().unwrap_or_else(|| vin.to_string()),
            signing_required: car.command_signing.as_deref() == Some("required"),
        });
        let state = car.state.clone().unwrap_or_else(|| "offline".into());
        self.hub.apply(Update {
            vin: vin.to_string(),
            at: now,
            signals: vec![(Signal::VehicleState, Value::Text(state.clone()))],
        });
        if state != "online" {
            // Asleep or offline: nothing billable; start afresh when it wakes.
            self.schedules.remove(vin);
            return Ok(());
        }
        let schedule = self.schedules.entry(vin.to_string()).or_default();
        if schedule.next_data_at.is_some_and(|t| now < t) {
            return Ok(());
        }
        let data = match self.fleet.vehicle_data(vin, ENDPOINTS).await {
            Ok(data) => data,
            Err(FleetError::Unavailable) => {
                // Fell asleep between the list and this call (the 408 is billed, sadly).
                debug!("car went to sleep before vehicle_data");
                self.schedules.remove(vin);
                return Ok(());
            }
            Err(e) => return Err(e),
        };
        let signals = signals_from_vehicle_data(&data);
        let active = is_active(&data);
        self.hub.apply(Update {
            vin: vin.to_string(),
            at: now,
            signals,
        });
        let schedule = self.schedules.entry(vin.to_string()).or_default();
        let s = &self.settings;
        schedule.next_data_at = Some(if active {
            schedule.idle_since = None;
            now + s.active_interval
        } else {
            let idle_since = *schedule.idle_since.get_or_insert(now);
            let idle_for = now.duration_since(idle_since).unwrap_or_default();
            if idle_for >= s.idle_before_sleep {
                info!(
                    window_secs = s.sleep_window.as_secs(),
                    "car idle; pausing data calls so it can sleep"
                );
                now + s.sleep_window
            } else {
                now + s.online_interval.min(s.idle_before_sleep - idle_for)
            }
        });
        Ok(())
    }

    /// Clears cars that are no longer on the account.
    fn forget_removed(&mut self, list: &[VehicleSummary]) {
        for vin in self.hub.vins() {
            if !list.iter().any(|c| c.vin.eq_ignore_ascii_case(&vin)) {
                info!(vin, "car is no longer on the account");
                self.schedules.remove(&vin);
                self.hub.remove(&vin);
            }
        }
    }

    /// Records a failed cycle and decides the pause: `Retry-After` when Tesla gives one.
    fn failed(&self, vin: Option<&str>, e: FleetError) -> Duration {
        let message = e.to_string();
        let repeated = self.status.borrow().last_error.as_deref() == Some(message.as_str());
        self.status
            .send_modify(|s| s.last_error = Some(message.clone()));
        if repeated {
            // Already said: the log and the event topic hear about a problem once, not every cycle.
            debug!(vin, error = %e, "poll still failing");
            return self.pause_after(&e);
        }
        warn!(vin, error = %e, "poll failed");
        let kind = match &e {
            FleetError::Auth(AuthError::ReauthRequired(_) | AuthError::NotSignedIn) => {
                "reauth_required"
            }
            FleetError::RateLimited { .. } => "rate_limited",
            _ => "poll_failed",
        };
        self.hub.problem(vin, kind, message);
        self.pause_after(&e)
    }

    /// How long to wait after a failed cycle: `Retry-After` when Tesla gives one.
    fn pause_after(&self, e: &FleetError) -> Duration {
        match *e {
            FleetError::RateLimited { retry_after } => retry_after.max(self.settings.list_interval),
            // Nothing will work until the user signs in again: do not hammer the token endpoint.
            FleetError::Auth(_) => self.settings.list_interval.max(Duration::from_secs(300)),
            _ => self.settings.list_interval,
        }
    }
}

/// Whether the car is driving or charging (and so should be polled often and won't sleep anyway).
fn is_active(data: &Json) -> bool {
    let gear = data
        .pointer("/drive_state/shift_state")
        .and_then(Json::as_str);
    let charging = data
        .pointer("/charge_state/charging_state")
        .and_then(Json::as_str);
    matches!(gear, Some("D" | "R" | "N")) || matches!(charging, Some("Charging" | "Starting"))
}

/// How a `vehicle_data` field becomes a signal value.
#[derive(Clone, Copy)]
enum Kind {
    Number,
    Bool,
    Text,
    /// 0 = closed, anything else = open.
    OpenFlag,
    /// Tesla's window ints: 0 closed, otherwise open.
    Window,
}

/// `vehicle_data` JSON pointer → signal, one row per field.
const FIELDS: &[(Signal, &str, Kind)] = &[
    (Signal::VehicleName, "/display_name", Kind::Text),
    (
        Signal::BatteryLevel,
        "/charge_state/battery_level",
        Kind::Number,
    ),
    (
        Signal::Soc,
        "/charge_state/usable_battery_level",
        Kind::Number,
    ),
    (
        Signal::BatteryRange,
        "/charge_state/battery_range",
        Kind::Number,
    ),
    (
        Signal::EstBatteryRange,
        "/charge_state/est_battery_range",
        Kind::Number,
    ),
    (
        Signal::IdealBatteryRange,
        "/charge_state/ideal_battery_range",
        Kind::Number,
    ),
    (
        Signal::DetailedChargeState,
        "/charge_state/charging_state",
        Kind::Text,
    ),
    (
        Signal::ACChargingPower,
        "/charge_state/charger_power",
        Kind::Number,
    ),
    (
        Signal::ACChargingEnergyIn,
        "/charge_state/charge_energy_added",
        Kind::Number,
    ),
    (
        Signal::ChargerVoltage,
        "/charge_state/charger_voltage",
        Kind::Number,
    ),
    (
        Signal::ChargeAmps,
        "/charge_state/charger_actual_current",
        Kind::Number,
    ),
    (
        Signal::ChargerPhases,
        "/charge_state/charger_phases",
        Kind::Number,
    ),
    (
        Signal::ChargeLimitSoc,
        "/charge_state/charge_limit_soc",
        Kind::Number,
    ),
    (
        Signal::ChargeLimitSocMin,
        "/charge_state/charge_limit_soc_min",
        Kind::Number,
    ),
    (
        Signal::ChargeLimitSocMax,
        "/charge_state/charge_limit_soc_max",
        Kind::Number,
    ),
    (
        Signal::ChargeCurrentRequest,
        "/charge_state/charge_current_request",
        Kind::Number,
    ),
    (
        Signal::ChargeCurrentRequestMax,
        "/charge_state/charge_current_request_max",
        Kind::Number,
    ),
    (
        Signal::TimeToFullCharge,
        "/charge_state/time_to_full_charge",
        Kind::Number,
    ),
    (
        Signal::ChargePortDoorOpen,
        "/charge_state/charge_port_door_open",
        Kind::Bool,
    ),
    (
        Signal::ChargePortLatch,
        "/charge_state/charge_port_latch",
        Kind::Text,
    ),
    (
        Signal::ChargingCableType,
        "/charge_state/conn_charge_cable",
        Kind::Text,
    ),
    (
        Signal::BatteryHeaterOn,
        "/charge_state/battery_heater_on",
        Kind::Bool,
    ),
    (
        Signal::InsideTemp,
        "/climate_state/inside_temp",
        Kind::Number,
    ),
    (
        Signal::OutsideTemp,
        "/climate_state/outside_temp",
        Kind::Number,
    ),
    (
        Signal::HvacLeftTemperatureRequest,
        "/climate_state/driver_temp_setting",
        Kind::Number,
    ),
    (
        Signal::HvacRightTemperatureRequest,
        "/climate_state/passenger_temp_setting",
        Kind::Number,
    ),
    (
        Signal::MinAvailTemp,
        "/climate_state/min_avail_temp",
        Kind::Number,
    ),
    (
        Signal::MaxAvailTemp,
        "/climate_state/max_avail_temp",
        Kind::Number,
    ),
    (
        Signal::SeatHeaterLeft,
        "/climate_state/seat_heater_left",
        Kind::Number,
    ),
    (
        Signal::SeatHeaterRight,
        "/climate_state/seat_heater_right",
        Kind::Number,
    ),
    (Signal::Odometer, "/vehicle_state/odometer", Kind::Number),
    (Signal::DrivePower, "/drive_state/power", Kind::Number),
    (Signal::Locked, "/vehicle_state/locked", Kind::Bool),
    (Signal::SentryMode, "/vehicle_state/sentry_mode", Kind::Bool),
    (
        Signal::ValetModeEnabled,
        "/vehicle_state/valet_mode",
        Kind::Bool,
    ),
    (
        Signal::DriverSeatOccupied,
        "/vehicle_state/is_user_present",
        Kind::Bool,
    ),
    (Signal::DoorDriverFront, "/vehicle_state/df", Kind::OpenFlag),
    (Signal::DoorDriverRear, "/vehicle_state/dr", Kind::OpenFlag),
    (
        Signal::DoorPassengerFront,
        "/vehicle_state/pf",
        Kind::OpenFlag,
    ),
    (
        Signal::DoorPassengerRear,
        "/vehicle_state/pr",
        Kind::OpenFlag,
    ),
    (Signal::TrunkFront, "/vehicle_state/ft", Kind::OpenFlag),
    (Signal::TrunkRear, "/vehicle_state/rt", Kind::OpenFlag),
    (Signal::FdWindow, "/vehicle_state/fd_window", Kind::Window),
    (Signal::FpWindow, "/vehicle_state/fp_window", Kind::Window),
    (Signal::RdWindow, "/vehicle_state/rd_window", Kind::Window),
    (Signal::RpWindow, "/vehicle_state/rp_window", Kind::Window),
    (
        Signal::TpmsPressureFl,
        "/vehicle_state/tpms_pressure_fl",
        Kind::Number,
    ),
    (
        Signal::TpmsPressureFr,
        "/vehicle_state/tpms_pressure_fr",
        Kind::Number,
    ),
    (
        Signal::TpmsPressureRl,
        "/vehicle_state/tpms_pressure_rl",
        Kind::Number,
    ),
    (
        Signal::TpmsPressureRr,
        "/vehicle_state/tpms_pressure_rr",
        Kind::Number,
    ),
];

/// Maps a `vehicle_data` response to signals. Missing or null fields are skipped (firmware differs),
/// except where null itself means something (a parked car has no gear and no speed).
pub fn signals_from_vehicle_data(data: &Json) -> Vec<(Signal, Value)> {
    let mut out = Vec::new();
    for (signal, pointer, kind) in FIELDS {
        let Some(v) = data.pointer(pointer).filter(|v| !v.is_null()) else {
            continue;
        };
        let value = match kind {
            Kind::Number => number(v),
            Kind::Bool => v.as_bool().map(Value::Bool),
            Kind::Text => v.as_str().map(|s| Value::Text(s.to_string())),
            Kind::OpenFlag => v.as_i64().map(|i| Value::Bool(i != 0)),
            Kind::Window => v
                .as_i64()
                .map(|i| Value::Text(if i == 0 { "Closed" } else { "Opened" }.into())),
        };
        if let Some(value) = value {
            out.push((*signal, value));
        }
    }
    if let Some(on) = data
        .pointer("/climate_state/is_climate_on")
        .and_then(Json::as_bool)
    {
        out.push((
            Signal::HvacPower,
            Value::Text(if on { "On" } else { "Off" }.into()),
        ));
    }
    if let Some(version) = data
        .pointer("/vehicle_state/car_version")
        .and_then(Json::as_str)
    {
        // "2024.44.25.1 abcdef012345" → "2024.44.25.1"
        let version = version.split_whitespace().next().unwrap_or_default();
        if !version.is_empty() {
            out.push((Signal::Version, Value::Text(version.to_string())));
        }
    }
    if let Some(drive) = data.get("drive_state") {
        let gear = drive
            .get("shift_state")
            .and_then(Json::as_str)
            .unwrap_or("P");
        out.push((Signal::Gear, Value::Text(gear.to_string())));
        out.push((
            Signal::VehicleSpeed,
            drive.get("speed").and_then(number).unwrap_or(Value::Int(0)),
        ));
        let lat = drive.get("latitude").and_then(Json::as_f64);
        let lon = drive.get("longitude").and_then(Json::as_f64);
        if let (Some(latitude), Some(longitude)) = (lat, lon) {
            out.push((
                Signal::Location,
                Value::Location {
                    latitude,
                    longitude,
                    heading: drive.get("heading").and_then(Json::as_f64),
                },
            ));
        }
    }
    out
}

fn number(v: &Json) -> Option<Value> {
    v.as_i64()
        .map(Value::Int)
        .or_else(|| v.as_f64().map(Value::Float))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn vehicle_data_maps_to_signals() {
        let data = json!({
            "display_name": "Red Rocket",
            "charge_state": {"battery_level": 64, "battery_range": 198.4, "charging_state": "Charging", "conn_charge_cable": "IEC", "charge_port_door_open": true, "charger_power": null},
            "climate_state": {"inside_temp": 17.4, "is_climate_on": false},
            "drive_state": {"shift_state": null, "speed": null, "latitude": 52.37, "longitude": 4.89, "heading": 271},
            "vehicle_state": {"locked": true, "df": 0, "rt": 1, "fd_window": 2, "car_version": "2024.44.25.1 abcdef012345", "odometer": 15234.56}
        });
        let s: std::collections::BTreeMap<_, _> =
            signals_from_vehicle_data(&data).into_iter().collect();
        assert_eq!(s[&Signal::BatteryLevel], Value::Int(64));
        assert_eq!(s[&Signal::BatteryRange], Value::Float(198.4));
        assert_eq!(
            s[&Signal::DetailedChargeState],
            Value::Text("Charging".into())
        );
        assert_eq!(s[&Signal::Locked], Value::Bool(true));
        assert_eq!(s[&Signal::DoorDriverFront], Value::Bool(false));
        assert_eq!(s[&Signal::TrunkRear], Value::Bool(true));
        assert_eq!(s[&Signal::FdWindow], Value::Text("Opened".into()));
        assert_eq!(s[&Signal::HvacPower], Value::Text("Off".into()));
        assert_eq!(s[&Signal::Version], Value::Text("2024.44.25.1".into()));
        assert_eq!(s[&Signal::Gear], Value::Text("P".into()));
        assert_eq!(s[&Signal::VehicleSpeed], Value::Int(0));
        assert_eq!(
            s[&Signal::Location],
            Value::Location {
                latitude: 52.37,
                longitude: 4.89,
                heading: Some(271.0)
            }
        );
        assert!(
            !s.contains_key(&Signal::ACChargingPower),
            "null is skipped, not zero"
        );
        assert!(is_active(&data), "charging counts as active");
    }

    #[test]
    fn without_location_data_there_is_no_location_signal() {
        let data = json!({"drive_state": {"shift_state": "D", "speed": 31}});
        let s: std::collections::BTreeMap<_, _> =
            signals_from_vehicle_data(&data).into_iter().collect();
        assert!(!s.contains_key(&Signal::Location));
        assert_eq!(s[&Signal::VehicleSpeed], Value::Int(31));
        assert!(is_active(&data));
    }
}
