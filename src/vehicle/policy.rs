//! `vehicle::policy`: when TeslaSync pays for a car's `vehicle_data` — one car's schedule, pure.
//!
//! The poller reads the free vehicle list every `list_interval` and asks this schedule, per car,
//! whether to call `vehicle_data` now. The rules:
//!
//! - **Never for a car that is not online** (asleep, waking, offline): reading data must not wake it,
//!   and a sleeping car's last values stay valid.
//! - **Never while a healthy Fleet Telemetry stream covers the car**; when the stream falls silent
//!   while the list still says `online`, polling takes over at once.
//! - **Intervals follow what the car does**: driving (`active_interval`), charging
//!   (`charging_interval`), climate on while parked (`climate_interval`), parked (`online_interval`).
//! - **Sleep window**: every `vehicle_data` resets the car's inactivity timer, so a car polled while
//!   parked never sleeps. Once a car has been parked and idle for `idle_before_sleep`, data calls stop
//!   for `sleep_window` — long enough to fall asleep. A car still awake afterwards (sentry, someone
//!   inside, a model that never sleeps while polled) gets one call and another window, and so on: at
//!   most one request per window.
//! - **Trouble is per car**: an error backs off this car only (doubling from `list_interval` up to
//!   ten minutes); a rate limit or a budget hold waits exactly until it lifts, plus a per-car offset so
//!   that cars released together do not burst.

use std::time::{Duration, SystemTime};

use serde_json::Value as Json;

use crate::config::PollingConfig;

/// What a car was doing at its last `vehicle_data`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activity {
    Driving,
    Charging,
    /// Parked with climate on (preconditioning, dog or camp mode): awake anyway, changing slowly.
    Climate,
    Parked,
}

impl Activity {
    /// Reads it from a `vehicle_data` answer.
    pub fn of(data: &Json) -> Activity {
        let text = |p: &str| data.pointer(p).and_then(Json::as_str);
        let speed = data
            .pointer("/drive_state/speed")
            .and_then(Json::as_f64)
            .unwrap_or(0.0);
        if matches!(text("/drive_state/shift_state"), Some("D" | "R" | "N")) || speed > 0.0 {
            Activity::Driving
        } else if matches!(
            text("/charge_state/charging_state"),
            Some("Charging" | "Starting")
        ) {
            Activity::Charging
        } else if data
            .pointer("/climate_state/is_climate_on")
            .and_then(Json::as_bool)
            == Some(true)
        {
            Activity::Climate
        } else {
            Activity::Parked
        }
    }

    /// Driving and charging keep a car awake whatever we do; they end the idle time.
    fn is_active(self) -> bool {
        matches!(self, Activity::Driving | Activity::Charging)
    }
}

/// Longest back-off after repeated errors.
const MAX_BACKOFF: Duration = Duration::from_secs(600);

/// One car's polling schedule.
#[derive(Debug, Clone, Default)]
pub struct Schedule {
    /// Next `vehicle_data` call; `None` = at the next sight of the car online.
    next_data_at: Option<SystemTime>,
    /// Since when the car has been parked without driving or charging.
    idle_since: Option<SystemTime>,
    /// Errors in a row, for the back-off.
    failures: u32,
    /// What the last `vehicle_data` showed.
    last_activity: Option<Activity>,
}

impl Schedule {
    /// A fresh vehicle list says whether the car is `online`; `streamed` says whether a healthy stream
    /// covers it. Returns whether to call `vehicle_data` now.
    pub fn on_list(&mut self, now: SystemTime, online: bool, streamed: bool) -> bool {
        if !online {
            // Asleep or offline: nothing to pay for; start afresh when it wakes.
            *self = Schedule::default();
            return false;
        }
        if streamed {
            // The stream reports what the car does; polling would only pay twice (and keep it up).
            self.next_data_at = None;
            self.idle_since = None;
            return false;
        }
        self.next_data_at.is_none_or(|t| now >= t)
    }

    /// The car answered `vehicle_data` at `now`.
    pub fn on_data(&mut self, now: SystemTime, activity: Activity, s: &PollingConfig) {
        self.failures = 0;
        self.last_activity = Some(activity);
        let wait = match activity {
            Activity::Driving => {
                self.idle_since = None;
                s.active_interval
            }
            Activity::Charging => {
                self.idle_since = None;
                s.charging_interval
            }
            Activity::Climate | Activity::Parked => {
                let idle_since = *self.idle_since.get_or_insert(now);
                let idle_for = now.duration_since(idle_since).unwrap_or_default();
                if idle_for >= s.idle_before_sleep {
                    s.sleep_window
                } else {
                    let interval = if activity == Activity::Climate {
                        s.climate_interval
                    } else {
                        s.online_interval
                    };
                    interval.min(s.idle_before_sleep - idle_for)
                }
            }
        };
        self.next_data_at = Some(now + wait);
    }

    /// Whether the last answer started a sleep window (for the log).
    pub fn sleeping_window(&self, now: SystemTime, s: &PollingConfig) -> bool {
        self.idle_since.is_some_and(|since| {
            now.duration_since(since).unwrap_or_default() >= s.idle_before_sleep
        }) && !self.last_activity.is_some_and(Activity::is_active)
    }

    /// The car fell asleep between the list and the call (the 408 is billed, sadly).
    pub fn on_asleep(&mut self) {
        *self = Schedule::default();
    }

    /// A request failed: back off this car only.
    pub fn on_error(&mut self, now: SystemTime, s: &PollingConfig) {
        self.failures = self.failures.saturating_add(1);
        let backoff = s
            .list_interval
            .saturating_mul(1 << self.failures.saturating_sub(1).min(10))
            .min(MAX_BACKOFF.max(s.list_interval));
        self.next_data_at = Some(now + backoff);
    }

    /// Tesla (or the budget) said to wait until `until`; `offset` spreads cars released together.
    pub fn on_hold(&mut self, until: SystemTime, offset: Duration) {
        self.next_data_at = Some(until + offset);
    }

    /// When the next `vehicle_data` is due (`None`: at the next sight of the car online).
    pub fn next_data_at(&self) -> Option<SystemTime> {
        self.next_data_at
    }
}

/// A stable per-car offset of 0 or 1 list interval, so cars whose limit lifts at the same moment
/// come back one after another.
pub fn spread(vin: &str, list_interval: Duration) -> Duration {
    let h = vin.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    });
    list_interval.saturating_mul((h % 2) as u32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use serde_json::json;

    fn settings() -> PollingConfig {
        Config::defaults().polling
    }

    fn at(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_780_000_000 + secs)
    }

    #[test]
    fn activity_comes_from_gear_charging_and_climate() {
        let of = |j| Activity::of(&j);
        assert_eq!(
            of(json!({"drive_state": {"shift_state": "D"}})),
            Activity::Driving
        );
        assert_eq!(
            of(json!({"charge_state": {"charging_state": "Charging"}})),
            Activity::Charging
        );
        assert_eq!(
            of(
                json!({"drive_state": {"shift_state": null}, "climate_state": {"is_climate_on": true}})
            ),
            Activity::Climate
        );
        assert_eq!(
            of(
                json!({"drive_state": {"shift_state": null}, "charge_state": {"charging_state": "Complete"}})
            ),
            Activity::Parked
        );
    }

    #[test]
    fn a_parked_car_gets_a_sleep_window_and_then_one_call_per_window() {
        let s = settings();
        let mut sched = Schedule::default();
        let mut calls = Vec::new();
        for minute in 0..120 {
            let now = at(minute * 60);
            if sched.on_list(now, true, false) {
                calls.push(minute);
                sched.on_data(now, Activity::Parked, &s);
            }
        }
        // 0, 10, 15 (idle_before_sleep), then one call per 21-minute window.
        assert_eq!(calls, [0, 10, 15, 36, 57, 78, 99]);
    }

    #[test]
    fn driving_and_charging_poll_at_their_intervals_and_end_idleness() {
        let s = settings();
        let mut sched = Schedule::default();
        assert!(sched.on_list(at(0), true, false));
        sched.on_data(at(0), Activity::Driving, &s);
        assert!(!sched.on_list(at(59), true, false));
        assert!(sched.on_list(at(60), true, false));
        sched.on_data(at(60), Activity::Charging, &s);
        assert_eq!(sched.next_data_at(), Some(at(60) + s.charging_interval));
    }

    #[test]
    fn asleep_or_streamed_cars_are_not_polled_and_silence_resumes_polling() {
        let s = settings();
        let mut sched = Schedule::default();
        assert!(!sched.on_list(at(0), false, false));
        assert!(!sched.on_list(at(60), true, true));
        assert!(
            sched.on_list(at(120), true, false),
            "the stream fell silent"
        );
        sched.on_data(at(120), Activity::Parked, &s);
        assert!(!sched.on_list(at(180), true, false));
    }

    #[test]
    fn errors_back_off_and_holds_wait_exactly() {
        let s = settings();
        let mut sched = Schedule::default();
        sched.on_error(at(0), &s);
        assert_eq!(sched.next_data_at(), Some(at(60)));
        sched.on_error(at(60), &s);
        assert_eq!(sched.next_data_at(), Some(at(180)));
        for _ in 0..20 {
            sched.on_error(at(0), &s);
        }
        assert_eq!(sched.next_data_at(), Some(at(600)));
        sched.on_hold(at(3600), Duration::ZERO);
        assert!(!sched.on_list(at(3599), true, false));
        assert!(sched.on_list(at(3600), true, false));
        let offsets: std::collections::BTreeSet<_> = ["A", "B", "C", "D", "E", "F"]
            .iter()
            .map(|v| spread(v, Duration::from_secs(60)))
            .collect();
        assert!(offsets.len() > 1, "cars are spread: {offsets:?}");
    }
}
