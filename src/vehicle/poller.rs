//! `vehicle::poller`: sleep-aware polling of the Fleet API, one task per car.
//!
//! The account loop reads the free vehicle list every `list_interval` (it never wakes a car) and
//! hands each car's entry to that car's own task. Each car task asks its [`Schedule`]
//! (`vehicle::policy`) whether to pay for `vehicle_data` now and handles its own failures, so one car's
//! errors, slow answers or rate limits never delay another car. A repeating problem is announced once
//! (log and `event`), again only when it changes, and once more when it clears.
//!
//! Time comes from the shared [`Clock`], so tests run hours of schedule in milliseconds.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::sync::{watch, Notify};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, info_span, warn, Instrument};

use crate::clock::Clock;
use crate::config::PollingConfig;
use crate::tasks::TaskHealth;
use crate::tesla::auth::AuthError;
use crate::tesla::fleet::{FleetClient, FleetError, VehicleSummary};
use crate::vehicle::hub::Hub;
use crate::vehicle::policy::{spread, Activity, Schedule};
use crate::vehicle::signal::{Signal, Update, Value};
use crate::vehicle::stream::StreamHealth;
use crate::vehicle::vehicle_data::{endpoints, signals_from_vehicle_data};
use crate::vehicle::VehicleInfo;

/// Progress the status page and tests can watch.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PollStatus {
    /// Completed cycles: the list was read (or failed) and every car has handled it.
    pub cycles: u64,
    pub last_cycle_at: Option<SystemTime>,
    /// When the next list read is due (after `Retry-After`, this is when Tesla said to come back).
    pub next_cycle_at: Option<SystemTime>,
    /// The account-level problem (the vehicle list), if any.
    pub last_error: Option<String>,
    /// Per car.
    pub cars: BTreeMap<String, CarPollStatus>,
    /// The list read whose car work is still being done.
    pending: Option<u64>,
}

/// One car's polling state.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CarPollStatus {
    /// The last list round this car has handled.
    pub round: u64,
    pub data_requests: u64,
    pub last_data_at: Option<SystemTime>,
    pub next_data_at: Option<SystemTime>,
    pub last_error: Option<String>,
}

impl PollStatus {
    /// Marks the cycle complete once every car has handled the current round.
    fn settle(&mut self) {
        if let Some(round) = self.pending {
            if self.cars.values().all(|c| c.round >= round) {
                self.cycles = self.cycles.max(round);
                self.pending = None;
            }
        }
    }
}

/// A problem as announced: a stable kind and message, so a repeat is recognised.
#[derive(Debug, Clone, PartialEq)]
struct Problem {
    kind: &'static str,
    message: String,
}

impl Problem {
    /// The same ongoing problem: a rate limit renewed by Tesla is still the rate limit.
    fn same_as(&self, other: &Problem) -> bool {
        self.kind == other.kind && (self.kind == "rate_limited" || self.message == other.message)
    }
}

/// Announces problems once, again when they change, and says when they clear.
struct Announcer {
    hub: Arc<Hub>,
    vin: Option<String>,
    current: Option<Problem>,
}

impl Announcer {
    fn report(&mut self, problem: Problem) {
        if self.current.as_ref().is_some_and(|c| c.same_as(&problem)) {
            debug!(vin = self.vin, error = problem.message, "still failing");
            return;
        }
        warn!(vin = self.vin, error = problem.message, "poll failed");
        self.hub
            .problem(self.vin.as_deref(), problem.kind, problem.message.clone());
        self.current = Some(problem);
    }

    fn clear(&mut self) {
        if let Some(p) = self.current.take() {
            info!(vin = self.vin, "polling works again");
            self.hub.problem(
                self.vin.as_deref(),
                "recovered",
                format!("polling works again (was: {})", p.message),
            );
        }
    }
}

/// The polling task for one account.
pub struct Poller {
    fleet: FleetClient,
    hub: Arc<Hub>,
    clock: Clock,
    settings: PollingConfig,
    stream: Option<Arc<StreamHealth>>,
    status: watch::Sender<PollStatus>,
    /// Poked by the executor to poll a car again soon (e.g. after waking it).
    poke: Arc<Notify>,
    /// Where car tasks are reported (`poll <VIN>`): a car task that died is restarted at the next
    /// round and its failure recorded there.
    tasks: Option<TaskHealth>,
}

/// What the account loop hands a car task each round.
#[derive(Debug, Clone)]
struct Round {
    n: u64,
    car: VehicleSummary,
}

struct CarTask {
    rounds: watch::Sender<Round>,
    handle: JoinHandle<()>,
}

impl Poller {
    pub fn new(fleet: FleetClient, hub: Arc<Hub>, clock: Clock, settings: PollingConfig) -> Self {
        Poller {
            fleet,
            hub,
            clock,
            settings,
            stream: None,
            status: watch::channel(PollStatus::default()).0,
            poke: Arc::new(Notify::new()),
            tasks: None,
        }
    }

    /// Reports car tasks in `tasks` (the daemon's [`TaskHealth`]).
    pub fn with_tasks(mut self, tasks: TaskHealth) -> Self {
        self.tasks = Some(tasks);
        self
    }

    /// Skips `vehicle_data` for cars whose Fleet Telemetry stream is healthy.
    pub fn with_stream(mut self, stream: Arc<StreamHealth>) -> Self {
        self.stream = Some(stream);
        self
    }

    pub fn status(&self) -> watch::Receiver<PollStatus> {
        self.status.subscribe()
    }

    /// A handle that starts the next cycle early.
    pub fn poke_handle(&self) -> Arc<Notify> {
        self.poke.clone()
    }

    /// Polls until `shutdown`.
    pub async fn run(self, shutdown: CancellationToken) {
        Arc::new(self).run_shared(shutdown).await
    }

    /// [`Poller::run`] on a shared poller, so a supervisor can start it again after a failure.
    pub async fn run_shared(self: Arc<Self>, shutdown: CancellationToken) {
        let me = self;
        let mut cars: HashMap<String, CarTask> = HashMap::new();
        let mut account = Announcer {
            hub: me.hub.clone(),
            vin: None,
            current: None,
        };
        // Started again after a failure, the rounds go on from where they were (tests and the
        // status page count cycles).
        let mut round = {
            let s = me.status.borrow();
            s.cycles.max(s.pending.unwrap_or(0))
        };
        loop {
            round += 1;
            let (pause, distributed) = match me.fleet.vehicles().await {
                Ok(list) => {
                    account.clear();
                    me.status.send_modify(|s| s.last_error = None);
                    me.distribute(round, list, &mut cars, &shutdown);
                    (me.settings.list_interval, true)
                }
                Err(e) => {
                    let pause = me.pause_after(&e);
                    me.status
                        .send_modify(|s| s.last_error = Some(e.to_string()));
                    account.report(problem_of(&e, me.clock.now()));
                    (pause, false)
                }
            };
            // Fix the deadline before the cycle can complete: whoever reacts to the completion (a
            // test advancing a manual clock) must not be able to slip in between and be missed.
            let now = me.clock.now();
            let next = crate::util::later(now, pause);
            me.status.send_modify(|s| {
                s.last_cycle_at = Some(now);
                s.next_cycle_at = Some(next);
                if distributed {
                    s.pending = Some(round);
                    s.settle();
                } else {
                    // No car has anything to do for a failed list read.
                    s.pending = None;
                    s.cycles = s.cycles.max(round);
                }
            });
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = me.clock.sleep_until(next) => {}
                _ = me.poke.notified() => {}
            }
        }
        for (_, task) in cars {
            drop(task.rounds);
            let _ = task.handle.await;
        }
    }

    /// Updates the hub from the list and hands each car its entry; starts and stops car tasks.
    fn distribute(
        self: &Arc<Self>,
        round: u64,
        list: Vec<VehicleSummary>,
        cars: &mut HashMap<String, CarTask>,
        shutdown: &CancellationToken,
    ) {
        let now = self.clock.now();
        let listed: Vec<String> = list.iter().map(|c| c.vin.to_ascii_uppercase()).collect();
        for vin in self.hub.vins() {
            if !listed.contains(&vin) {
                info!(vin, "car is no longer on the account");
                self.hub.remove(&vin);
            }
        }
        cars.retain(|vin, task| {
            let keep = listed.contains(vin);
            if !keep {
                task.handle.abort();
                if let Some(tasks) = &self.tasks {
                    tasks.remove(&car_task_name(vin));
                }
            }
            keep
        });
        self.status.send_modify(|s| {
            s.cars.retain(|vin, _| listed.contains(vin));
            for vin in &listed {
                s.cars.entry(vin.clone()).or_default();
            }
        });
        for (car, vin) in list.into_iter().zip(listed) {
            self.hub.upsert_info(VehicleInfo {
                vin: vin.clone(),
                display_name: car.display_name.clone().unwrap_or_else(|| vin.clone()),
                signing_required: car.command_signing.as_deref() == Some("required"),
            });
            let state = car.state.clone().unwrap_or_else(|| "offline".into());
            self.hub.apply(Update {
                vin: vin.clone(),
                at: now,
                signals: vec![(Signal::VehicleState, Value::Text(state))],
            });
            let r = Round { n: round, car };
            match cars.get_mut(&vin) {
                Some(task) if !task.handle.is_finished() => {
                    task.rounds.send_replace(r);
                }
                ended => {
                    // A car task only ends on shutdown, so one that ended failed (TaskHealth has
                    // the panic): start it again, the list interval being its back-off.
                    if ended.is_some() {
                        warn!(vin, "the car's polling task had stopped; starting it again");
                    }
                    let (tx, rx) = watch::channel(r);
                    let span = info_span!("poll", vin = %vin);
                    let fut = self
                        .clone()
                        .car_task(vin.clone(), rx, shutdown.clone())
                        .instrument(span);
                    let handle = match &self.tasks {
                        Some(tasks) => {
                            let name = car_task_name(&vin);
                            tasks.running(&name);
                            tasks.spawn_reported(&name, fut)
                        }
                        None => tokio::spawn(fut),
                    };
                    cars.insert(vin, CarTask { rounds: tx, handle });
                }
            }
        }
    }

    /// One car: handles each list round as it comes, on its own schedule.
    async fn car_task(
        self: Arc<Self>,
        vin: String,
        mut rounds: watch::Receiver<Round>,
        shutdown: CancellationToken,
    ) {
        let mut schedule = Schedule::default();
        let mut announcer = Announcer {
            hub: self.hub.clone(),
            vin: Some(vin.clone()),
            current: None,
        };
        let offset = spread(&vin, self.settings.list_interval);
        loop {
            let round = rounds.borrow_and_update().clone();
            self.handle_round(&vin, &round, &mut schedule, &mut announcer, offset)
                .await;
            self.status.send_modify(|s| {
                if let Some(car) = s.cars.get_mut(&vin) {
                    car.round = round.n;
                    car.next_data_at = schedule.next_data_at();
                    car.last_error = announcer.current.as_ref().map(|p| p.message.clone());
                }
                s.settle();
            });
            tokio::select! {
                _ = shutdown.cancelled() => break,
                changed = rounds.changed() => if changed.is_err() { break },
            }
        }
    }

    async fn handle_round(
        &self,
        vin: &str,
        round: &Round,
        schedule: &mut Schedule,
        announcer: &mut Announcer,
        offset: Duration,
    ) {
        let now = self.clock.now();
        let online = round.car.state.as_deref() == Some("online");
        let streamed = self.stream.as_ref().is_some_and(|s| s.is_healthy(vin, now));
        if !schedule.on_list(now, online, streamed) {
            return;
        }
        let blocks = endpoints();
        match self.fleet.vehicle_data(vin, &blocks).await {
            Ok(data) => {
                announcer.clear();
                let activity = Activity::of(&data);
                self.hub.apply(Update {
                    vin: vin.to_string(),
                    at: now,
                    signals: signals_from_vehicle_data(&data),
                });
                schedule.on_data(now, activity, &self.settings);
                if schedule.sleeping_window(now, &self.settings) {
                    debug!(
                        window_secs = self.settings.sleep_window.as_secs(),
                        "car idle; pausing data calls so it can sleep"
                    );
                }
                self.status.send_modify(|s| {
                    if let Some(car) = s.cars.get_mut(vin) {
                        car.data_requests += 1;
                        car.last_data_at = Some(now);
                    }
                });
            }
            Err(FleetError::Unavailable) => {
                debug!("car went to sleep before vehicle_data");
                schedule.on_asleep();
            }
            Err(FleetError::RateLimited { retry_after }) => {
                let until = crate::util::later(now, retry_after);
                schedule.on_hold(until, offset);
                announcer.report(problem_of(&FleetError::RateLimited { retry_after }, now));
            }
            Err(FleetError::Held { reason, until }) => {
                // The governor announces budget trouble account-wide; the car just waits.
                debug!(%reason, "data request held back");
                schedule.on_hold(
                    until.unwrap_or_else(|| crate::util::later(now, self.settings.list_interval)),
                    offset,
                );
            }
            Err(e) => {
                schedule.on_error(now, &self.settings);
                announcer.report(problem_of(&e, now));
            }
        }
    }

    /// How long to wait after a failed list read: `Retry-After` when Tesla gives one.
    fn pause_after(&self, e: &FleetError) -> Duration {
        match e {
            FleetError::RateLimited { retry_after } => {
                (*retry_after).max(self.settings.list_interval)
            }
            FleetError::Held {
                until: Some(until), ..
            } => until
                .duration_since(self.clock.now())
                .unwrap_or_default()
                .max(self.settings.list_interval),
            // Nothing will work until the user signs in again: do not hammer the token endpoint.
            FleetError::Auth(_) => self.settings.list_interval.max(Duration::from_secs(300)),
            _ => self.settings.list_interval,
        }
    }
}

/// The announcement for an error; stable while the problem is the same (a rate limit names the time
/// it lifts, not the seconds left).
fn problem_of(e: &FleetError, now: SystemTime) -> Problem {
    match e {
        FleetError::Auth(AuthError::ReauthRequired(_) | AuthError::NotSignedIn) => Problem {
            kind: "reauth_required",
            message: e.to_string(),
        },
        FleetError::RateLimited { retry_after } => Problem {
            kind: "rate_limited",
            message: format!(
                "Tesla rate-limited these requests until {}; TeslaSync waits until then",
                crate::vehicle::cost::iso8601(crate::util::later(now, *retry_after))
            ),
        },
        FleetError::BillingLimitExceeded => Problem {
            kind: "billing_limit",
            message: e.to_string(),
        },
        _ => Problem {
            kind: "poll_failed",
            message: e.to_string(),
        },
    }
}

/// The name a car's polling task has in [`TaskHealth`].
pub fn car_task_name(vin: &str) -> String {
    format!("poll {vin}")
}
