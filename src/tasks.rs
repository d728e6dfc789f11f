//! `tasks`: the daemon's background tasks under supervision, so none dies silently.
//!
//! A tokio task that panics or returns an error just ends: the process keeps running and the status
//! page still looks healthy, while the cars stop being polled (issue 9: an overflowing `Retry-After`
//! did exactly that). Every long-lived task of the daemon is therefore started here, in one of two
//! ways:
//!
//! - [`TaskHealth::restarting`]: tasks that can be built again from shared state (the poller, the
//!   cost governor's clock, `vehicle::setup`). A failure is logged, recorded and the task restarted
//!   after a doubling back-off; after [`Backoff::give_up_after`] failures in a row (runs shorter than
//!   [`Backoff::healthy_after`]) it is marked failed.
//! - [`TaskHealth::critical`]: tasks that own something that cannot be rebuilt in place (the web
//!   listener, the MQTT bridge's command channel, the telemetry receiver). A failure marks them
//!   failed at once.
//!
//! A failed task makes the daemon stop in order and exit 1 (`DaemonError::TaskFailed`), so a
//! supervisor (Docker, systemd, the Home Assistant Supervisor) restarts the whole process; until
//! then `/healthz` answers 503 and the status JSON lists the task with its reason.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{watch, Notify};
use tokio::task::{JoinError, JoinHandle};
use tokio_util::sync::CancellationToken;
use tracing::{error, warn};

/// What a supervised task is doing now.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskState {
    Running,
    /// It failed and is started again after a back-off.
    Restarting,
    /// It failed for good; the daemon stops and exits 1.
    Failed,
    /// It ended because the daemon is stopping.
    Stopped,
}

/// One task as the status page and `/healthz` show it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TaskStatus {
    pub state: TaskState,
    /// How often it has been restarted since the daemon started.
    pub restarts: u32,
    /// Why it last failed (a panic message or the error it returned), kept after a restart.
    pub last_failure: Option<String>,
}

/// Restart policy for [`TaskHealth::restarting`].
#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    /// Wait before the first restart; doubles with each failure in a row.
    pub first: Duration,
    /// The longest wait between restarts.
    pub max: Duration,
    /// Failures in a row after which the task is marked failed (the daemon then exits 1).
    pub give_up_after: u32,
    /// A run at least this long resets the count of failures in a row.
    pub healthy_after: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            first: Duration::from_secs(1),
            max: Duration::from_secs(60),
            give_up_after: 5,
            healthy_after: Duration::from_secs(300),
        }
    }
}

impl Backoff {
    /// The wait before restart number `failures` (1-based): `first`, doubling, at most `max`.
    pub fn delay(&self, failures: u32) -> Duration {
        let factor = 1u32
            .checked_shl(failures.saturating_sub(1))
            .unwrap_or(u32::MAX);
        self.first.saturating_mul(factor).min(self.max)
    }
}

/// How a task's output says it failed: `()` never does, `Err(e)` does with `e`'s message.
pub trait TaskOutcome: Send + 'static {
    fn failure(self) -> Option<String>;
}

impl TaskOutcome for () {
    fn failure(self) -> Option<String> {
        None
    }
}

impl<E: std::fmt::Display + Send + 'static> TaskOutcome for Result<(), E> {
    fn failure(self) -> Option<String> {
        self.err().map(|e| e.to_string())
    }
}

/// The shared table of supervised tasks: name → [`TaskStatus`]. Cheap to clone; every clone sees the
/// same table.
#[derive(Clone, Default)]
pub struct TaskHealth {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    tasks: Mutex<BTreeMap<String, TaskStatus>>,
    /// Bumped on every change, so tests and the daemon wait on changes instead of polling.
    version: watch::Sender<u64>,
    /// Test hook: tasks told to panic (see [`TaskHealth::inject_panic`]).
    traps: Mutex<HashMap<String, Arc<Notify>>>,
}

impl TaskHealth {
    pub fn new() -> TaskHealth {
        TaskHealth::default()
    }

    /// Every task by name.
    pub fn snapshot(&self) -> BTreeMap<String, TaskStatus> {
        self.inner.tasks.lock().expect("task table").clone()
    }

    pub fn get(&self, name: &str) -> Option<TaskStatus> {
        self.inner
            .tasks
            .lock()
            .expect("task table")
            .get(name)
            .cloned()
    }

    /// Tasks that are not doing their job now (restarting or failed), with the reason: what
    /// `/healthz` reports as unhealthy.
    pub fn problems(&self) -> BTreeMap<String, String> {
        self.snapshot()
            .into_iter()
            .filter(|(_, s)| matches!(s.state, TaskState::Restarting | TaskState::Failed))
            .map(|(name, s)| {
                let reason = s.last_failure.unwrap_or_default();
                let what = match s.state {
                    TaskState::Failed => format!("failed: {reason}"),
                    _ => format!("restarting after: {reason}"),
                };
                (name, what)
            })
            .collect()
    }

    /// The first task marked failed, with its reason.
    pub fn failure(&self) -> Option<(String, String)> {
        self.snapshot()
            .into_iter()
            .find(|(_, s)| s.state == TaskState::Failed)
            .map(|(name, s)| (name, s.last_failure.unwrap_or_default()))
    }

    /// Waits until some task is marked failed; returns its name and reason.
    pub async fn failed(&self) -> (String, String) {
        let mut rx = self.inner.version.subscribe();
        loop {
            if let Some(f) = self.failure() {
                return f;
            }
            if rx.changed().await.is_err() {
                // The sender lives in `inner`, which `self` holds: this cannot happen.
                std::future::pending::<()>().await;
            }
        }
    }

    /// Waits until `pred` holds for the task table (tests: wait on an event, not a sleep).
    pub async fn wait_until(&self, pred: impl Fn(&BTreeMap<String, TaskStatus>) -> bool) {
        let mut rx = self.inner.version.subscribe();
        loop {
            if pred(&self.snapshot()) {
                return;
            }
            let _ = rx.changed().await;
        }
    }

    fn update(&self, name: &str, f: impl FnOnce(&mut TaskStatus)) {
        {
            let mut tasks = self.inner.tasks.lock().expect("task table");
            let status = tasks.entry(name.to_owned()).or_insert(TaskStatus {
                state: TaskState::Running,
                restarts: 0,
                last_failure: None,
            });
            f(status);
        }
        self.inner.version.send_modify(|v| *v += 1);
    }

    /// Records that `name` runs (a task started with [`TaskHealth::spawn_reported`], again).
    pub fn running(&self, name: &str) {
        self.update(name, |s| s.state = TaskState::Running);
    }

    /// Forgets `name` (a car that left the account).
    pub fn remove(&self, name: &str) {
        self.inner.tasks.lock().expect("task table").remove(name);
        self.inner.version.send_modify(|v| *v += 1);
    }

    /// Test hook: makes the running instance of task `name` panic, as a bug in it would. Works for
    /// tasks started by [`TaskHealth::restarting`], [`TaskHealth::critical`] and [`TaskHealth::spawn`].
    #[doc(hidden)]
    pub fn inject_panic(&self, name: &str) {
        self.trap(name).notify_one();
    }

    fn trap(&self, name: &str) -> Arc<Notify> {
        self.inner
            .traps
            .lock()
            .expect("trap table")
            .entry(name.to_owned())
            .or_default()
            .clone()
    }

    /// Spawns `fut` as task `name` without supervising it (the caller watches the handle, as the
    /// poller does for its car tasks); only the test hook is added.
    pub fn spawn<T: Send + 'static>(
        &self,
        name: &str,
        fut: impl Future<Output = T> + Send + 'static,
    ) -> JoinHandle<T> {
        let trap = self.trap(name);
        let name = name.to_owned();
        tokio::spawn(async move {
            tokio::select! {
                out = fut => out,
                _ = trap.notified() => panic!("injected panic in task {name} (test hook)"),
            }
        })
    }

    /// Spawns `fut` as task `name` for a caller that restarts it itself (the poller, each car's
    /// task at the next list round): a panic is recorded at once as [`TaskState::Restarting`] with
    /// its message, so `/healthz` says so while the car waits; the caller then calls
    /// [`TaskHealth::running`] when it starts the task again.
    pub fn spawn_reported(
        &self,
        name: &str,
        fut: impl Future<Output = ()> + Send + 'static,
    ) -> JoinHandle<()> {
        use futures::FutureExt as _;
        let health = self.clone();
        let trap = self.trap(name);
        let name = name.to_owned();
        tokio::spawn(async move {
            let trapped = async {
                tokio::select! {
                    out = fut => out,
                    _ = trap.notified() => panic!("injected panic in task {name} (test hook)"),
                }
            };
            if let Err(payload) = std::panic::AssertUnwindSafe(trapped).catch_unwind().await {
                let reason = format!("panicked: {}", panic_message(&*payload));
                error!(task = %name, %reason, "background task failed; it is started again at its next round");
                health.update(&name, |s| {
                    s.state = TaskState::Restarting;
                    s.restarts += 1;
                    s.last_failure = Some(reason);
                });
            }
        })
    }

    /// Runs the task `make` builds until `shutdown`, building and starting it again after a failure
    /// (panic, error, or an end nobody asked for) with `backoff`; marks it failed when it keeps failing.
    pub fn restarting<F, Fut>(
        &self,
        name: &str,
        backoff: Backoff,
        shutdown: CancellationToken,
        mut make: F,
    ) -> JoinHandle<()>
    where
        F: FnMut() -> Fut + Send + 'static,
        Fut: Future + Send + 'static,
        Fut::Output: TaskOutcome,
    {
        let health = self.clone();
        let name = name.to_owned();
        tokio::spawn(async move {
            let mut in_a_row = 0u32;
            loop {
                health.update(&name, |s| s.state = TaskState::Running);
                let started = Instant::now();
                let result = health.spawn(&name, make()).await;
                let Some(reason) = reason_of(result, &shutdown) else {
                    health.update(&name, |s| s.state = TaskState::Stopped);
                    return;
                };
                if shutdown.is_cancelled() {
                    warn!(task = %name, %reason, "background task failed while stopping");
                    health.update(&name, |s| {
                        s.state = TaskState::Stopped;
                        s.last_failure = Some(reason);
                    });
                    return;
                }
                if started.elapsed() >= backoff.healthy_after {
                    in_a_row = 0;
                }
                in_a_row += 1;
                if in_a_row > backoff.give_up_after {
                    error!(task = %name, %reason, failures = in_a_row, "background task keeps failing; stopping TeslaSync so a supervisor can restart it");
                    health.update(&name, |s| {
                        s.state = TaskState::Failed;
                        s.last_failure = Some(reason);
                    });
                    return;
                }
                let delay = backoff.delay(in_a_row);
                error!(task = %name, %reason, retry_in_ms = delay.as_millis() as u64, "background task failed; restarting it");
                health.update(&name, |s| {
                    s.state = TaskState::Restarting;
                    s.restarts += 1;
                    s.last_failure = Some(reason);
                });
                tokio::select! {
                    _ = shutdown.cancelled() => {
                        health.update(&name, |s| s.state = TaskState::Stopped);
                        return;
                    }
                    _ = tokio::time::sleep(delay) => {}
                }
            }
        })
    }

    /// Runs `fut` as task `name`; if it panics, returns an error, or ends before `shutdown`, the task
    /// is marked failed (the daemon then stops and exits 1).
    pub fn critical<Fut>(&self, name: &str, shutdown: CancellationToken, fut: Fut) -> JoinHandle<()>
    where
        Fut: Future + Send + 'static,
        Fut::Output: TaskOutcome,
    {
        let health = self.clone();
        let name = name.to_owned();
        health.update(&name, |s| s.state = TaskState::Running);
        let task = health.spawn(&name, fut);
        tokio::spawn(async move {
            match reason_of(task.await, &shutdown) {
                None => health.update(&name, |s| s.state = TaskState::Stopped),
                Some(reason) => {
                    error!(task = %name, %reason, "background task failed; stopping TeslaSync so a supervisor can restart it");
                    health.update(&name, |s| {
                        s.state = TaskState::Failed;
                        s.last_failure = Some(reason);
                    });
                }
            }
        })
    }
}

/// Why a finished task counts as failed, or `None` when it ended because of `shutdown`.
fn reason_of<T: TaskOutcome>(
    result: Result<T, JoinError>,
    shutdown: &CancellationToken,
) -> Option<String> {
    match result {
        Ok(out) => match out.failure() {
            Some(e) => Some(e),
            None if shutdown.is_cancelled() => None,
            None => Some("it stopped by itself".into()),
        },
        Err(e) => Some(panic_reason(e)),
    }
}

/// A join error in words: the panic message when there is one.
pub fn panic_reason(e: JoinError) -> String {
    if e.is_cancelled() {
        return "it was cancelled".into();
    }
    format!("panicked: {}", panic_message(&*e.into_panic()))
}

/// What a panic said (`panic!("…")` carries a `&str` or a `String`).
fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    fn quick() -> Backoff {
        Backoff {
            first: Duration::from_millis(5),
            max: Duration::from_millis(20),
            give_up_after: 3,
            healthy_after: Duration::from_secs(3600),
        }
    }

    #[test]
    fn the_back_off_doubles_and_saturates_at_its_maximum() {
        let b = Backoff::default();
        assert_eq!(b.delay(1), Duration::from_secs(1));
        assert_eq!(b.delay(2), Duration::from_secs(2));
        assert_eq!(b.delay(4), Duration::from_secs(8));
        assert_eq!(b.delay(7), Duration::from_secs(60));
        assert_eq!(b.delay(u32::MAX), Duration::from_secs(60));
    }

    #[tokio::test]
    async fn a_panicking_task_is_restarted_and_its_panic_reported() {
        let health = TaskHealth::new();
        let runs = Arc::new(AtomicU32::new(0));
        let stop = CancellationToken::new();
        let r = runs.clone();
        let s = stop.clone();
        let handle = health.restarting("worker", quick(), stop.clone(), move || {
            let n = r.fetch_add(1, Ordering::SeqCst);
            let s = s.clone();
            async move {
                if n == 0 {
                    panic!("first run breaks");
                }
                s.cancelled().await;
            }
        });
        health
            .wait_until(|t| {
                t.get("worker")
                    .is_some_and(|s| s.restarts == 1 && s.state == TaskState::Running)
            })
            .await;
        let status = health.get("worker").unwrap();
        assert!(
            status
                .last_failure
                .as_deref()
                .unwrap()
                .contains("first run breaks"),
            "{status:?}"
        );
        assert!(
            health.problems().is_empty(),
            "running again: {:?}",
            health.problems()
        );
        stop.cancel();
        handle.await.unwrap();
        assert_eq!(health.get("worker").unwrap().state, TaskState::Stopped);
        assert_eq!(runs.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn a_task_that_keeps_failing_is_marked_failed_with_its_error() {
        let health = TaskHealth::new();
        let stop = CancellationToken::new();
        health.restarting("flaky", quick(), stop.clone(), || async {
            Err::<(), _>("the disk is gone")
        });
        let (name, reason) = health.failed().await;
        assert_eq!(name, "flaky");
        assert_eq!(reason, "the disk is gone");
        assert_eq!(health.get("flaky").unwrap().restarts, 3);
        assert!(health.problems()["flaky"].starts_with("failed: "));
        assert!(!stop.is_cancelled(), "the daemon decides what to do");
    }

    #[tokio::test]
    async fn a_critical_task_that_ends_early_or_panics_is_failed() {
        let health = TaskHealth::new();
        let stop = CancellationToken::new();
        health.critical("early", stop.clone(), async {});
        let (name, reason) = health.failed().await;
        assert_eq!(
            (name.as_str(), reason.as_str()),
            ("early", "it stopped by itself")
        );

        let health = TaskHealth::new();
        let s = stop.clone();
        health.critical("trapped", stop.clone(), async move { s.cancelled().await });
        health.inject_panic("trapped");
        let (name, reason) = health.failed().await;
        assert_eq!(name, "trapped");
        assert!(reason.contains("injected panic"), "{reason}");
    }

    #[tokio::test]
    async fn tasks_that_end_on_shutdown_are_stopped_not_failed() {
        let health = TaskHealth::new();
        let stop = CancellationToken::new();
        let s = stop.clone();
        let a = health.critical("a", stop.clone(), async move { s.cancelled().await });
        let s = stop.clone();
        let b = health.restarting("b", quick(), stop.clone(), move || {
            let s = s.clone();
            async move { s.cancelled().await }
        });
        stop.cancel();
        a.await.unwrap();
        b.await.unwrap();
        assert!(health.problems().is_empty());
        assert!(health.failure().is_none());
        assert!(health
            .snapshot()
            .values()
            .all(|s| s.state == TaskState::Stopped));
    }
}
