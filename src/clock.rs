//! `clock`: wall-clock time that tests can drive.
//!
//! Everything that reasons about time — token expiry, the simulator's sleep/wake state machine, the
//! poller's schedule — asks a [`Clock`] instead of the OS. Production uses [`Clock::system`]; tests and the
//! simulator's control API use [`Clock::manual`], which only moves when told to, so "an hour of virtual
//! time" takes milliseconds and no test has to sleep.
//!
//! Owns nothing else: no I/O beyond tokio's timer for the system clock.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::sync::watch;

/// A shared source of wall-clock time; cheap to clone, all clones see the same time.
#[derive(Clone)]
pub struct Clock(Arc<Inner>);

enum Inner {
    System,
    Manual {
        now: Mutex<SystemTime>,
        /// Bumped on every advance so that sleepers re-check their deadline.
        changed: watch::Sender<u64>,
    },
}

impl std::fmt::Debug for Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &*self.0 {
            Inner::System => f.write_str("Clock::System"),
            Inner::Manual { .. } => write!(f, "Clock::Manual({:?})", self.now()),
        }
    }
}

impl Default for Clock {
    fn default() -> Self {
        Self::system()
    }
}

impl Clock {
    /// The operating system's clock.
    pub fn system() -> Self {
        Clock(Arc::new(Inner::System))
    }

    /// A clock that starts at `start` and moves only through [`Clock::advance`].
    pub fn manual(start: SystemTime) -> Self {
        let (changed, _) = watch::channel(0);
        Clock(Arc::new(Inner::Manual {
            now: Mutex::new(start),
            changed,
        }))
    }

    /// Whether this clock only moves when advanced (used by the simulator's control API).
    pub fn is_manual(&self) -> bool {
        matches!(&*self.0, Inner::Manual { .. })
    }

    pub fn now(&self) -> SystemTime {
        match &*self.0 {
            Inner::System => SystemTime::now(),
            Inner::Manual { now, .. } => *now.lock().expect("clock mutex poisoned"),
        }
    }

    /// Seconds since the Unix epoch.
    pub fn unix_secs(&self) -> u64 {
        self.now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs()
    }

    /// Milliseconds since the Unix epoch.
    pub fn unix_millis(&self) -> u64 {
        self.now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_millis() as u64
    }

    /// Moves a manual clock forward and wakes every task sleeping on it. Returns `false` (and does
    /// nothing) for the system clock, which cannot be moved.
    pub fn advance(&self, by: Duration) -> bool {
        match &*self.0 {
            Inner::System => false,
            Inner::Manual { now, changed } => {
                {
                    let mut now = now.lock().expect("clock mutex poisoned");
                    *now += by;
                }
                changed.send_modify(|n| *n += 1);
                true
            }
        }
    }

    /// Sleeps for `d` of this clock's time.
    pub async fn sleep(&self, d: Duration) {
        let deadline = crate::util::later(self.now(), d);
        self.sleep_until(deadline).await
    }

    /// Sleeps until this clock reads `deadline` or later.
    pub async fn sleep_until(&self, deadline: SystemTime) {
        match &*self.0 {
            Inner::System => {
                let wait = deadline
                    .duration_since(SystemTime::now())
                    .unwrap_or_default();
                tokio::time::sleep(wait).await
            }
            Inner::Manual { changed, .. } => {
                let mut rx = changed.subscribe();
                while self.now() < deadline {
                    if rx.changed().await.is_err() {
                        return;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn manual_clock_sleep_returns_only_after_advance() {
        let clock = Clock::manual(UNIX_EPOCH + Duration::from_secs(1_000));
        let deadline = clock.now() + Duration::from_secs(60);
        let sleeper = tokio::spawn({
            let clock = clock.clone();
            async move { clock.sleep_until(deadline).await }
        });
        clock.advance(Duration::from_secs(59));
        tokio::task::yield_now().await;
        assert!(!sleeper.is_finished());
        clock.advance(Duration::from_secs(1));
        tokio::time::timeout(Duration::from_secs(5), sleeper)
            .await
            .expect("sleeper should wake after the deadline")
            .unwrap();
        assert_eq!(clock.unix_secs(), 1_060);
    }

    #[test]
    fn system_clock_cannot_be_advanced() {
        assert!(!Clock::system().advance(Duration::from_secs(1)));
    }
}
