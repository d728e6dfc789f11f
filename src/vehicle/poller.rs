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
use crate::vehicle::vehicle_data::signals_from_vehicle_data;
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn driving_and_charging_count_as_active() {
        assert!(is_active(
            &json!({"charge_state": {"charging_state": "Charging"}})
        ));
        assert!(is_active(
            &json!({"drive_state": {"shift_state": "D", "speed": 31}})
        ));
        assert!(!is_active(
            &json!({"drive_state": {"shift_state": null}, "charge_state": {"charging_state": "Complete"}})
        ));
    }
}
