//! The documented polling rules of two peers, each as its own policy (not a tweak of ours), so the
//! day scenario can run them against the same simulated cars.
//!
//! - **Home Assistant `tesla_fleet`** (core integration): a vehicle coordinator every 600 s reads the
//!   free vehicle endpoint and, only when it says `online`, `vehicle_data` with charge, climate,
//!   drive, vehicle state, vehicle config and location. Pre-2021 Model S/X (which cannot fall asleep
//!   while polled) get a sleep window: when not charging and idle for 900 s, the interval becomes
//!   900 s without data calls; if the car is still awake after 1200 s, the idle timer restarts.
//! - **TeslaMate**: asleep or offline, only the free vehicle endpoint every 30 s; online,
//!   `vehicle_data` every 2.5 s while driving, 5 s while charging, 60 s while parked; after 15 min
//!   idle it *suspends* data calls for 21 min (state checks only) so the car can sleep.

use std::time::{Duration, SystemTime};

/// What a peer wants next for one car.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Read the free vehicle endpoint (the car's `state`).
    State,
    /// Read `vehicle_data`.
    Data,
}

/// What the last `vehicle_data` showed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Seen {
    pub driving: bool,
    pub charging: bool,
}

/// A peer's per-car polling policy, driven by the bench.
pub trait PeerPolicy {
    /// When to act next, and what to do then.
    fn next(&self) -> (SystemTime, Step);
    /// The free state read said `online` or not.
    fn on_state(&mut self, now: SystemTime, online: bool);
    /// `vehicle_data` answered (`None`: the car was asleep, 408).
    fn on_data(&mut self, now: SystemTime, seen: Option<Seen>);
}

/// Home Assistant's `tesla_fleet` vehicle coordinator.
pub struct TeslaFleet {
    pre2021: bool,
    next_at: SystemTime,
    step: Step,
    last_active: SystemTime,
    /// In the pre-2021 sleep window since this time.
    waiting_since: Option<SystemTime>,
}

const HA_INTERVAL: Duration = Duration::from_secs(600);
const HA_WAIT: Duration = Duration::from_secs(900);
const HA_WAIT_RESET: Duration = Duration::from_secs(1200);

impl TeslaFleet {
    pub fn new(start: SystemTime, pre2021: bool) -> Self {
        TeslaFleet {
            pre2021,
            next_at: start,
            step: Step::State,
            last_active: start,
            waiting_since: None,
        }
    }
}

impl PeerPolicy for TeslaFleet {
    fn next(&self) -> (SystemTime, Step) {
        (self.next_at, self.step)
    }

    fn on_state(&mut self, now: SystemTime, online: bool) {
        if !online {
            self.waiting_since = None;
            self.last_active = now;
            self.step = Step::State;
            self.next_at = now + HA_INTERVAL;
            return;
        }
        if self.pre2021 {
            if let Some(since) = self.waiting_since {
                if now.duration_since(since).unwrap_or_default() >= HA_WAIT_RESET {
                    // Still awake after the window: give up on it and poll normally again.
                    self.waiting_since = None;
                    self.last_active = now;
                } else {
                    self.step = Step::State;
                    self.next_at = now + HA_WAIT;
                    return;
                }
            } else if now.duration_since(self.last_active).unwrap_or_default() >= HA_WAIT {
                self.waiting_since = Some(now);
                self.step = Step::State;
                self.next_at = now + HA_WAIT;
                return;
            }
        }
        // Same coordinator update: the data read follows the state read at once.
        self.step = Step::Data;
        self.next_at = now;
    }

    fn on_data(&mut self, now: SystemTime, seen: Option<Seen>) {
        if let Some(seen) = seen {
            if seen.driving || seen.charging {
                self.last_active = now;
            }
        }
        self.step = Step::State;
        self.next_at = now + HA_INTERVAL;
    }
}

/// TeslaMate's vehicle state machine (Fleet API, no streaming relay).
pub struct TeslaMate {
    next_at: SystemTime,
    step: Step,
    online: bool,
    idle_since: Option<SystemTime>,
    suspended_until: Option<SystemTime>,
}

const TM_ASLEEP: Duration = Duration::from_secs(30);
const TM_ONLINE: Duration = Duration::from_secs(60);
const TM_CHARGING: Duration = Duration::from_secs(5);
const TM_DRIVING: Duration = Duration::from_millis(2500);
const TM_SUSPEND_AFTER: Duration = Duration::from_secs(15 * 60);
const TM_SUSPEND_FOR: Duration = Duration::from_secs(21 * 60);

impl TeslaMate {
    pub fn new(start: SystemTime) -> Self {
        TeslaMate {
            next_at: start,
            step: Step::State,
            online: false,
            idle_since: None,
            suspended_until: None,
        }
    }
}

impl PeerPolicy for TeslaMate {
    fn next(&self) -> (SystemTime, Step) {
        (self.next_at, self.step)
    }

    fn on_state(&mut self, now: SystemTime, online: bool) {
        if !online {
            self.online = false;
            self.idle_since = None;
            self.suspended_until = None;
            self.step = Step::State;
            self.next_at = now + TM_ASLEEP;
            return;
        }
        if let Some(until) = self.suspended_until {
            if now < until {
                self.step = Step::State;
                self.next_at = now + TM_ASLEEP;
                return;
            }
            // The suspension is over and the car is still up: log again, idle timer afresh.
            self.suspended_until = None;
            self.idle_since = None;
        }
        self.online = true;
        self.step = Step::Data;
        self.next_at = now;
    }

    fn on_data(&mut self, now: SystemTime, seen: Option<Seen>) {
        let Some(seen) = seen else {
            self.on_state(now, false);
            return;
        };
        let wait = if seen.driving {
            self.idle_since = None;
            TM_DRIVING
        } else if seen.charging {
            self.idle_since = None;
            TM_CHARGING
        } else {
            let since = *self.idle_since.get_or_insert(now);
            if now.duration_since(since).unwrap_or_default() >= TM_SUSPEND_AFTER {
                self.suspended_until = Some(now + TM_SUSPEND_FOR);
                self.step = Step::State;
                self.next_at = now + TM_ASLEEP;
                return;
            }
            TM_ONLINE
        };
        // Online: TeslaMate reads vehicle_data directly while the car stays up.
        self.step = Step::Data;
        self.next_at = now + wait;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_780_000_000 + secs)
    }

    const PARKED: Option<Seen> = Some(Seen {
        driving: false,
        charging: false,
    });

    #[test]
    fn tesla_fleet_polls_every_ten_minutes_and_gives_old_cars_a_window() {
        let mut new = TeslaFleet::new(at(0), false);
        let mut old = TeslaFleet::new(at(0), true);
        let mut data = (0, 0);
        for (policy, count) in [(&mut new, &mut data.0), (&mut old, &mut data.1)] {
            for _ in 0..100 {
                let (t, step) = policy.next();
                if t > at(3600) {
                    break;
                }
                match step {
                    Step::State => policy.on_state(t, true),
                    Step::Data => {
                        *count += 1;
                        policy.on_data(t, PARKED);
                    }
                }
            }
        }
        // New cars: 0, 10, ..., 60 min. Old cars: 0, 10 min, then a 15-minute window, ...
        assert_eq!(data.0, 7);
        assert!(data.1 < data.0, "{data:?}");
    }

    #[test]
    fn teslamate_suspends_after_fifteen_idle_minutes() {
        let mut p = TeslaMate::new(at(0));
        let mut data = 0;
        for _ in 0..1000 {
            let (t, step) = p.next();
            if t > at(30 * 60) {
                break;
            }
            match step {
                Step::State => p.on_state(t, true),
                Step::Data => {
                    data += 1;
                    p.on_data(t, PARKED);
                }
            }
        }
        // Every 60 s for 15 minutes (16 reads), then only state checks.
        assert_eq!(data, 16);
        assert_eq!(p.next().1, Step::State);
    }
}
