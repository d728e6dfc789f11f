//! `vehicle::stream`: which cars are streaming Fleet Telemetry right now.
//!
//! The meeting point of three parts that must agree on one truth: the telemetry receiver (or the
//! upstream ingester) reports every record it has taken in, the poller asks whether a car's stream is
//! healthy before it pays for `vehicle_data`, and the cost governor and status page read the counts.
//! It knows nothing about sockets or MQTT; times are passed in so tests drive it with a manual clock.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use tokio::sync::watch;

/// What is known about one car's stream.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CarStream {
    /// A car connection is open now (always false in upstream mode, where there is no connection).
    pub connected: bool,
    pub connected_since: Option<SystemTime>,
    pub last_record_at: Option<SystemTime>,
    /// Records taken in (acknowledged) since start.
    pub records: u64,
    /// Signals (datums) in those records; Tesla bills streaming per signal.
    pub signals: u64,
    /// Open connections (a car may hold more than one for a moment while it reconnects).
    pub connections: u32,
    /// Datums this build could not map (a field, arm or enum value newer than it).
    pub unknown: u64,
    /// Frames refused (undecodable, text, protocol errors).
    pub rejected: u64,
    /// Why the last frame was refused.
    pub last_rejection: Option<String>,
}

/// Per-car stream state, shared by the receiver, the poller, the cost governor and the web UI.
#[derive(Debug)]
pub struct StreamHealth {
    /// A stream with no record for this long is silent: the poller takes over again.
    silent_after: Duration,
    cars: Mutex<HashMap<String, CarStream>>,
    /// Since when the vehicle list has shown each car online without a break; with
    /// `last_record_at` it tells a car that is awake but does not stream. Apart from `cars`, which
    /// holds only cars the stream has seen.
    online: Mutex<HashMap<String, SystemTime>>,
    /// Bumped on every change, so watchers (status page, governor) can wait instead of polling.
    changed: watch::Sender<u64>,
}

impl StreamHealth {
    pub fn new(silent_after: Duration) -> Self {
        StreamHealth {
            silent_after,
            cars: Mutex::new(HashMap::new()),
            online: Mutex::new(HashMap::new()),
            changed: watch::channel(0).0,
        }
    }

    /// How long a stream may stay quiet before it counts as silent.
    pub fn silent_after(&self) -> Duration {
        self.silent_after
    }

    /// A car opened a connection (its certificate was verified and it is one of the account's cars).
    pub fn connected(&self, vin: &str, at: SystemTime) {
        self.update(vin, |car| {
            car.connections += 1;
            car.connected = true;
            car.connected_since.get_or_insert(at);
        });
    }

    /// A car's connection closed; the car stays connected while another connection is open.
    pub fn disconnected(&self, vin: &str) {
        self.update(vin, |car| {
            car.connections = car.connections.saturating_sub(1);
            if car.connections == 0 {
                car.connected = false;
                car.connected_since = None;
            }
        });
    }

    /// `n` datums of a record could not be mapped.
    pub fn unknown(&self, vin: &str, n: u64) {
        if n > 0 {
            self.update(vin, |car| car.unknown += n);
        }
    }

    /// A frame from the car was refused.
    pub fn rejected(&self, vin: &str, why: &str) {
        self.update(vin, |car| {
            car.rejected += 1;
            car.last_rejection = Some(why.to_string());
        });
    }

    /// A record with `signals` datums was taken in (published and acknowledged) at `at`.
    pub fn record(&self, vin: &str, at: SystemTime, signals: u64) {
        self.update(vin, |car| {
            car.last_record_at = Some(car.last_record_at.map_or(at, |last| last.max(at)));
            car.records += 1;
            car.signals += signals;
        });
    }

    /// What the vehicle list says about the car at `at` (online or not). Only a change is
    /// recorded, so calling it on every check does not wake watchers.
    pub fn seen(&self, vin: &str, online: bool, at: SystemTime) {
        let changed = {
            let mut map = self.online.lock().expect("stream lock");
            match (online, map.contains_key(vin)) {
                (true, false) => map.insert(vin.to_owned(), at).is_none(),
                (false, true) => map.remove(vin).is_some(),
                _ => false,
            }
        };
        if changed {
            self.changed.send_modify(|n| *n += 1);
        }
    }

    /// Since when the car has been online without a break, as last [`StreamHealth::seen`].
    pub fn online_since(&self, vin: &str) -> Option<SystemTime> {
        self.online.lock().expect("stream lock").get(vin).copied()
    }

    /// Whether the car has been online for at least `after` and sent no record in that time: it
    /// is awake but does not stream (a config it accepted and never applied, a receiver it cannot
    /// reach). The poller already covers such a car, since its stream is not healthy.
    pub fn silent_while_online(&self, vin: &str, now: SystemTime, after: Duration) -> bool {
        let elapsed = |t: SystemTime| now.duration_since(t).unwrap_or_default() >= after;
        self.online_since(vin).is_some_and(elapsed)
            && self
                .get(vin)
                .and_then(|c| c.last_record_at)
                .is_none_or(elapsed)
    }

    /// The state of one car's stream, if it ever connected or sent a record.
    pub fn get(&self, vin: &str) -> Option<CarStream> {
        self.cars.lock().expect("stream lock").get(vin).cloned()
    }

    /// Every car seen so far.
    pub fn all(&self) -> HashMap<String, CarStream> {
        self.cars.lock().expect("stream lock").clone()
    }

    /// Whether the car's stream covers it at `now`: a record arrived less than `silent_after` ago.
    /// The poller does not call `vehicle_data` for such a car.
    pub fn is_healthy(&self, vin: &str, now: SystemTime) -> bool {
        self.get(vin)
            .and_then(|car| car.last_record_at)
            .is_some_and(|last| now.duration_since(last).unwrap_or_default() < self.silent_after)
    }

    /// Changes to any car's stream state.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.changed.subscribe()
    }

    fn update(&self, vin: &str, f: impl FnOnce(&mut CarStream)) {
        f(self
            .cars
            .lock()
            .expect("stream lock")
            .entry(vin.to_owned())
            .or_default());
        self.changed.send_modify(|n| *n += 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const VIN: &str = "5YJSA1E2XJF000002";

    #[test]
    fn a_stream_is_healthy_until_it_falls_silent() {
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let health = StreamHealth::new(Duration::from_secs(300));
        assert!(!health.is_healthy(VIN, t0), "never streamed");
        health.connected(VIN, t0);
        assert!(!health.is_healthy(VIN, t0), "a connection alone is no data");
        health.record(VIN, t0, 12);
        assert!(health.is_healthy(VIN, t0 + Duration::from_secs(299)));
        assert!(!health.is_healthy(VIN, t0 + Duration::from_secs(300)));
        let car = health.get(VIN).unwrap();
        assert_eq!((car.records, car.signals, car.connected), (1, 12, true));
        health.connected(VIN, t0);
        health.disconnected(VIN);
        assert!(
            health.get(VIN).unwrap().connected,
            "the second connection is still open"
        );
        health.disconnected(VIN);
        assert!(!health.get(VIN).unwrap().connected);
    }

    #[test]
    fn a_car_online_without_records_is_silent_after_the_grace_period() {
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let min = |m: u64| Duration::from_secs(60 * m);
        let health = StreamHealth::new(min(5));
        assert!(!health.silent_while_online(VIN, t0 + min(60), min(10)));
        health.seen(VIN, true, t0);
        assert!(health.get(VIN).is_none(), "being online is not streaming");
        let changes = health.subscribe();
        health.seen(VIN, true, t0 + min(1));
        assert!(!changes.has_changed().unwrap(), "no change, no wake-up");
        assert!(!health.silent_while_online(VIN, t0 + min(9), min(10)));
        assert!(health.silent_while_online(VIN, t0 + min(10), min(10)));
        // A record within the period: streaming, until it is older than the period.
        health.record(VIN, t0 + min(10), 3);
        assert!(!health.silent_while_online(VIN, t0 + min(15), min(10)));
        assert!(health.silent_while_online(VIN, t0 + min(20), min(10)));
        // Asleep: not silent, and the period starts again when it wakes.
        health.seen(VIN, false, t0 + min(21));
        assert!(!health.silent_while_online(VIN, t0 + min(40), min(10)));
        health.seen(VIN, true, t0 + min(40));
        assert!(!health.silent_while_online(VIN, t0 + min(45), min(10)));
        assert_eq!(health.online_since(VIN), Some(t0 + min(40)));
    }

    #[test]
    fn an_older_resent_record_does_not_move_last_record_back() {
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let health = StreamHealth::new(Duration::from_secs(300));
        let changes = health.subscribe();
        health.record(VIN, t0, 1);
        health.record(VIN, t0 - Duration::from_secs(600), 1);
        assert_eq!(health.get(VIN).unwrap().last_record_at, Some(t0));
        assert!(changes.has_changed().unwrap());
    }
}
