//! `daemon`: wires the parts together and runs them until cancelled.
//!
//! Start-up order matters for safety: the store is opened (and its key checked) before anything
//! else, so a wrong `ENCRYPTION_KEY` stops the daemon before it touches disk or network. Shutdown
//! runs in reverse: stop polling, let queued commands finish (their results still reach MQTT), then
//! the bridge publishes `offline` and disconnects, then the store is flushed.

use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::{error, info, warn};

use crate::account::Account;
use crate::clock::Clock;
use crate::config::{Config, TelemetryMode};
use crate::ha::bridge::{self, BridgeSettings};
use crate::keys::{self, CommandKey, KeyError};
use crate::store::{Store, StoreError, StoreKey};
use crate::tasks::{panic_reason, Backoff, TaskHealth};
use crate::tesla::auth::AuthError;
use crate::tesla::fleet::{FleetClient, Usage};
use crate::tesla::region::FleetHosts;
use crate::tesla::telemetry;
use crate::vehicle::cost::Governor;
use crate::vehicle::executor::{Executor, Signing};
use crate::vehicle::hub::Hub;
use crate::vehicle::poller::{PollStatus, Poller};
use crate::vehicle::sessions::Sessions;
use crate::vehicle::setup::SetupWatch;
use crate::vehicle::stream::StreamHealth;
use crate::vehicle::telemetry::HubSink;
use crate::vehicle::telemetry_setup::{self, TelemetrySetup};
use crate::web::{self, WebState};

/// A car's telemetry stream that has sent nothing for this long no longer spares it a poll.
const STREAM_SILENT_AFTER: Duration = Duration::from_secs(300);

/// Queued commands get this long to finish at shutdown.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);

/// Why the daemon could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    #[error("storage.encryption_key is not set: TeslaSync never stores Tesla tokens unencrypted. Create a key with `openssl rand -base64 32` and set [storage] encryption_key or ENCRYPTION_KEY")]
    NoEncryptionKey,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error("cannot listen on {addr} for the web UI ({error}); set [http] listen or TESLASYNC_HTTP__LISTEN")]
    HttpBind { addr: String, error: String },
    #[error("could not build the HTTP client: {0}")]
    HttpClient(String),
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error(transparent)]
    Telemetry(#[from] telemetry::StartError),
    /// A background task failed for good (see `tasks`): exit 1 so a supervisor restarts the process.
    #[error("the {task} task failed ({reason}); TeslaSync stopped so that its supervisor (Docker, systemd, Home Assistant) restarts it — if it keeps happening, please report it with the log")]
    TaskFailed { task: String, reason: String },
}

impl DaemonError {
    /// 2 for problems the user fixes in the configuration, 1 otherwise (the CLI contract).
    pub fn exit_code(&self) -> i32 {
        match self {
            DaemonError::NoEncryptionKey | DaemonError::HttpBind { .. } => 2,
            DaemonError::Store(
                StoreError::WrongKey { .. } | StoreError::WrongKeyOrDamagedKeycheck { .. },
            ) => 2,
            DaemonError::Auth(AuthError::MissingClientId) => 2,
            DaemonError::Key(KeyError::Invalid { .. }) => 2,
            DaemonError::Telemetry(_) => 2,
            _ => 1,
        }
    }
}

/// How the daemon is started beyond its configuration.
#[derive(Default)]
pub struct StartOptions {
    pub clock: Clock,
    /// An already-bound listener for the web UI (tests pass port 0); otherwise `http.listen`.
    pub http_listener: Option<TcpListener>,
    /// Tesla's regional Fleet API hosts unless given (tests map them to simulator listeners).
    pub fleet_hosts: Option<FleetHosts>,
    /// An already-bound listener for the telemetry receiver (tests pass port 0); otherwise
    /// `telemetry.listen`.
    pub telemetry_listener: Option<TcpListener>,
    /// Where the set-up page's key-hosting check fetches the public key instead of
    /// `https://<tesla.domain>` (the demo's domain exists only inside the simulator).
    pub public_key_base: Option<url::Url>,
    /// On a clean stop, clear every retained topic the bridge published (discovery, states,
    /// status) instead of leaving the cars `offline` in Home Assistant: the demo's simulated cars
    /// leave with it.
    pub clear_mqtt_on_stop: bool,
}

/// A running daemon.
pub struct Daemon {
    hub: Arc<Hub>,
    fleet: FleetClient,
    store: Store,
    poll_status: watch::Receiver<PollStatus>,
    http_addr: std::net::SocketAddr,
    shutdown: CancellationToken,
    bridge_stop: CancellationToken,
    executor: Executor,
    /// Every long-lived task, supervised: restarted or reported (`tasks`).
    tasks: TaskHealth,
    poller: JoinHandle<()>,
    bridge: JoinHandle<()>,
    web: JoinHandle<()>,
    setup: JoinHandle<()>,
    account: Arc<Account>,
    cost: Arc<Governor>,
    cost_task: JoinHandle<()>,
    /// Writes changed vehicle records behind (see `vehicle::hub`).
    hub_writer: JoinHandle<()>,
    stream: Arc<StreamHealth>,
    telemetry: Option<telemetry::Running>,
    /// The supervisor of the telemetry receiver's task (taken out of `telemetry`).
    telemetry_task: Option<JoinHandle<()>>,
    telemetry_tasks: Vec<JoinHandle<()>>,
    recheck: Arc<tokio::sync::Notify>,
    /// `login?once=…` when no password is configured: the one way into the web UI.
    sign_in_path: Option<String>,
    public_base: String,
}

/// The status page's view of the cost governor.
struct StatusCost(Arc<Governor>);

impl web::CostSource for StatusCost {
    fn today(&self, vin: &str) -> Option<web::CarCost> {
        let (today_usd, budget_usd) = self.0.car_today(vin);
        Some(web::CarCost {
            today_usd,
            budget_usd,
        })
    }
}

/// Opens the store as configured. There is no plaintext mode: without a key, nothing starts.
pub fn open_store(cfg: &Config) -> Result<Store, DaemonError> {
    let key = cfg
        .storage
        .encryption_key
        .clone()
        .ok_or(DaemonError::NoEncryptionKey)?;
    Ok(Store::open(&cfg.storage.path, StoreKey::Configured(key))?)
}

impl Daemon {
    /// Starts every part; returns once they run. Cancel `shutdown` to stop, then await [`Daemon::wait`].
    pub async fn start(
        cfg: Config,
        opts: StartOptions,
        shutdown: CancellationToken,
    ) -> Result<Daemon, DaemonError> {
        let store = open_store(&cfg)?;
        let clock = opts.clock;
        let http =
            crate::tesla::http_client().map_err(|e| DaemonError::HttpClient(e.to_string()))?;
        // The command key is created on first start, so the public key can be served (and registered
        // with Tesla) before anything else is set up.
        let key_path = keys::default_path(&cfg.storage.path);
        let (command_key, created) = CommandKey::load_or_create(&key_path)?;
        if created {
            info!(fingerprint = %command_key.fingerprint(), path = %key_path.display(), "created a new command key");
        }
        let sessions = Sessions::new(store.clone(), Arc::new(command_key.protocol_key()));
        let account = Arc::new(Account::connect(
            &cfg.tesla,
            store.clone(),
            http,
            clock.clone(),
            opts.fleet_hosts.unwrap_or_else(FleetHosts::tesla),
            Some(command_key),
            key_path,
        )?);
        let fleet = account.fleet().clone();
        let hub = Arc::new(Hub::load(store.clone())?);
        // Which cars stream Fleet Telemetry; the telemetry receiver reports there.
        let stream = Arc::new(StreamHealth::new(STREAM_SILENT_AFTER));
        // The cost governor sees every Fleet API request from here on.
        let cost = Governor::open(
            store.clone(),
            clock.clone(),
            cfg.budget.clone(),
            hub.clone(),
            Some(stream.clone()),
        )?;
        fleet.set_meter(cost.clone());

        let listener = match opts.http_listener {
            Some(l) => l,
            None => {
                TcpListener::bind(cfg.http.listen)
                    .await
                    .map_err(|e| DaemonError::HttpBind {
                        addr: cfg.http.listen.to_string(),
                        error: e.to_string(),
                    })?
            }
        };
        let http_addr = listener.local_addr().map_err(|e| DaemonError::HttpBind {
            addr: cfg.http.listen.to_string(),
            error: e.to_string(),
        })?;

        let tasks = TaskHealth::new();
        let poller = Poller::new(
            fleet.clone(),
            hub.clone(),
            clock.clone(),
            cfg.polling.clone(),
        )
        .with_stream(stream.clone())
        .with_tasks(tasks.clone());
        let poll_status = poller.status();
        let signing = Signing {
            sessions,
            overrides: cfg.commands.clone(),
            domain: cfg.tesla.domain.clone(),
        };
        let recheck = Arc::new(tokio::sync::Notify::new());
        // The bridge's view of the hub starts here, before any task can announce a problem.
        let bridge_events = hub.subscribe();
        let watch = SetupWatch {
            fleet: fleet.clone(),
            hub: hub.clone(),
            clock: clock.clone(),
            poke_poller: poller.poke_handle(),
            recheck: recheck.clone(),
        };
        let setup = tasks.restarting("setup", Backoff::default(), shutdown.clone(), {
            let shutdown = shutdown.clone();
            move || watch.clone().run(shutdown.clone())
        });
        let (outcomes_tx, outcomes_rx) = mpsc::channel(64);
        let executor = Executor::new(
            fleet.clone(),
            hub.clone(),
            clock.clone(),
            outcomes_tx,
            Some(poller.poke_handle()),
            signing,
            shutdown.clone(),
        );
        let poller = if cfg.polling.enabled {
            let poller = Arc::new(poller);
            tasks.restarting("poller", Backoff::default(), shutdown.clone(), {
                let shutdown = shutdown.clone();
                move || poller.clone().run_shared(shutdown.clone())
            })
        } else {
            tokio::spawn(async {})
        };
        // Changed records reach the store a second later, coalesced (see `vehicle::hub`).
        let hub_writer = tasks.restarting("state writer", Backoff::default(), shutdown.clone(), {
            let (hub, shutdown) = (hub.clone(), shutdown.clone());
            move || {
                let (hub, shutdown) = (hub.clone(), shutdown.clone());
                async move { hub.write_behind(shutdown).await }
            }
        });
        let cost_task = tasks.restarting("cost", Backoff::default(), shutdown.clone(), {
            let (cost, shutdown) = (cost.clone(), shutdown.clone());
            move || cost.clone().run(shutdown.clone())
        });
        let bridge_stop = CancellationToken::new();
        // The bridge owns the command channel and reconnects by itself: it cannot be rebuilt in
        // place, so its failure stops the daemon.
        let bridge = tasks.critical(
            "mqtt bridge",
            bridge_stop.clone(),
            bridge::run(
                BridgeSettings {
                    mqtt: cfg.mqtt.clone(),
                    discovery: cfg.mqtt.discovery,
                    configuration_url: Some(status_url(&cfg.http)),
                    clear_on_stop: opts.clear_mqtt_on_stop,
                },
                hub.clone(),
                bridge_events,
                executor.clone(),
                outcomes_rx,
                clock.clone(),
                bridge_stop.clone(),
            ),
        );
        let access = web::Access::from_config(&cfg);
        let sign_in_path = cfg
            .http
            .admin_token
            .is_none()
            .then(|| format!("login?once={}", access.issue_one_time_token()));
        let web_state = WebState {
            hub: hub.clone(),
            fleet: fleet.clone(),
            poll: poll_status.clone(),
            access,
            account: account.clone(),
            recheck: recheck.clone(),
            wizard: Arc::new(web::wizard::Wizard::new(opts.public_key_base)),
            streams: stream.clone(),
            cost: Some(Arc::new(StatusCost(cost.clone()))),
            tasks: tasks.clone(),
        };
        let web = tasks.critical(
            "web",
            shutdown.clone(),
            web::serve(listener, web_state, shutdown.clone()),
        );
        let mut telemetry_task = None;
        let telemetry = if cfg.telemetry.enabled && cfg.telemetry.mode == TelemetryMode::Receiver {
            let sink = Arc::new(HubSink {
                hub: hub.clone(),
                health: stream.clone(),
                clock: clock.clone(),
            });
            let running = telemetry::start_receiver(
                &cfg.telemetry,
                &cfg.storage.path,
                opts.telemetry_listener,
                sink,
                shutdown.clone(),
            )
            .await?;
            let mut running = running;
            // Supervise the receiver: its handle moves to the supervisor, `running` keeps a
            // finished stand-in so `Daemon::telemetry` still tells where it listens.
            let task = std::mem::replace(&mut running.task, tokio::spawn(async { Ok(()) }));
            telemetry_task =
                Some(
                    tasks.critical("telemetry receiver", shutdown.clone(), async move {
                        match task.await {
                            Ok(r) => r.map_err(|e| e.to_string()),
                            Err(e) => Err(panic_reason(e)),
                        }
                    }),
                );
            Some(running)
        } else {
            None
        };
        // Pushes the telemetry config to paired cars and watches that they stream; in upstream
        // mode, reads Tesla's own server's MQTT output.
        // Both end only at shutdown; one that fails stops the daemon (exit 1) so that a
        // supervisor starts it again.
        let mut telemetry_tasks = Vec::new();
        if cfg.telemetry.enabled {
            telemetry_tasks.push(
                tasks.critical(
                    "telemetry set-up",
                    shutdown.clone(),
                    TelemetrySetup {
                        fleet: fleet.clone(),
                        hub: hub.clone(),
                        health: stream.clone(),
                        store: store.clone(),
                        clock: clock.clone(),
                        push: telemetry_setup::push_for(
                            &cfg.telemetry,
                            telemetry.as_ref().map(|t| t.ca_pem.as_str()),
                            account.key(),
                        ),
                    }
                    .run(shutdown.clone()),
                ),
            );
            if cfg.telemetry.mode == TelemetryMode::Upstream {
                let sink = HubSink::new(hub.clone(), stream.clone(), clock.clone());
                telemetry_tasks.push(tasks.critical(
                    "telemetry upstream",
                    shutdown.clone(),
                    telemetry::upstream::run(
                        cfg.mqtt.clone(),
                        cfg.telemetry.upstream_url.clone(),
                        cfg.telemetry.upstream_topic_base.clone(),
                        sink,
                        shutdown.clone(),
                    ),
                ));
            }
        }
        info!(web = %http_addr, broker = %crate::util::show_url(&cfg.mqtt.url), "TeslaSync is running");
        Ok(Daemon {
            hub,
            fleet,
            store,
            poll_status,
            http_addr,
            shutdown,
            bridge_stop,
            executor,
            tasks,
            poller,
            bridge,
            web,
            setup,
            account,
            cost,
            cost_task,
            hub_writer,
            stream,
            telemetry,
            telemetry_task,
            telemetry_tasks,
            recheck,
            sign_in_path,
            public_base: public_base(&cfg, http_addr),
        })
    }

    /// Where the telemetry receiver listens, and the CA pushed to cars (when it runs).
    pub fn telemetry(&self) -> Option<&telemetry::Running> {
        self.telemetry.as_ref()
    }

    /// The one-time sign-in link for the web UI (when `http.admin_token` is not set); it works once.
    pub fn sign_in_link(&self) -> Option<String> {
        self.sign_in_path
            .as_ref()
            .map(|p| format!("{}/{p}", self.public_base))
    }

    /// Asks `vehicle::setup` to read the virtual-key status again (after a partner registration).
    pub fn recheck_pairing(&self) {
        self.recheck.notify_one();
    }

    pub fn hub(&self) -> &Arc<Hub> {
        &self.hub
    }

    pub fn poll_status(&self) -> watch::Receiver<PollStatus> {
        self.poll_status.clone()
    }

    /// Billable Fleet API requests made by this run.
    pub fn usage(&self) -> Usage {
        self.fleet.usage()
    }

    /// The cost governor: billing meter, budget, rate limits.
    pub fn cost(&self) -> &Arc<Governor> {
        &self.cost
    }

    /// Which cars stream Fleet Telemetry (the receiver reports records here).
    pub fn stream(&self) -> &Arc<StreamHealth> {
        &self.stream
    }

    /// The account set-up service (sign-in, partner registration, pairing).
    pub fn account(&self) -> &Arc<Account> {
        &self.account
    }

    /// Where the web UI listens.
    pub fn http_addr(&self) -> std::net::SocketAddr {
        self.http_addr
    }

    /// The open store (tests use its fault injection, [`Store::fail_writes`]).
    #[doc(hidden)]
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Every supervised task and its state (`/healthz` and the status JSON read the same table).
    pub fn tasks(&self) -> &TaskHealth {
        &self.tasks
    }

    /// Waits for `shutdown` (or a task that failed for good), then stops everything in order. A
    /// failed task ends in [`DaemonError::TaskFailed`] (exit 1).
    pub async fn wait(self) -> Result<(), DaemonError> {
        let failed = tokio::select! {
            _ = self.shutdown.cancelled() => None,
            (task, reason) = self.tasks.failed() => {
                error!(%task, %reason, "stopping: a background task failed");
                self.shutdown.cancel();
                Some(DaemonError::TaskFailed { task, reason })
            }
        };
        let _ = self.poller.await;
        let _ = self.setup.await;
        for task in self.telemetry_tasks {
            let _ = task.await;
        }
        let _ = self.cost_task.await;
        if tokio::time::timeout(DRAIN_TIMEOUT, self.executor.drain())
            .await
            .is_err()
        {
            warn!(
                "queued commands did not finish within {} s",
                DRAIN_TIMEOUT.as_secs()
            );
        }
        self.bridge_stop.cancel();
        // The supervisors log a failure themselves.
        let _ = self.bridge.await;
        let _ = self.web.await;
        if let Some(t) = self.telemetry_task {
            let _ = t.await;
        }
        // Every source has stopped: what they applied last is written now.
        let _ = self.hub_writer.await;
        self.hub.flush();
        self.store.flush_async().await?;
        match failed {
            Some(e) => Err(e),
            None => {
                info!("TeslaSync stopped");
                Ok(())
            }
        }
    }
}

/// Where a user's browser reaches the web UI: `http.public_url`, else the listen address (a
/// wildcard address shown as loopback).
fn public_base(cfg: &Config, http_addr: std::net::SocketAddr) -> String {
    if let Some(url) = &cfg.http.public_url {
        return url.as_str().trim_end_matches('/').to_owned();
    }
    let mut addr = http_addr;
    if addr.ip().is_unspecified() {
        addr.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
    }
    format!("http://{addr}")
}

/// `teslasync run`: the daemon with the system clock until `shutdown`.
pub async fn run(cfg: Config, shutdown: CancellationToken) -> Result<(), DaemonError> {
    let daemon = Daemon::start(cfg, StartOptions::default(), shutdown).await?;
    if let Some(link) = daemon.sign_in_link() {
        // stdout, not the log: it is a credential (single use), shown to whoever started us.
        println!("Sign in to TeslaSync's web UI (works once; set http.admin_token for a password): {link}");
    }
    daemon.wait().await
}

/// Where the status page is: `http.public_url`, else the listen address (an unspecified address
/// becomes this machine's loopback, the only one known to reach it).
fn status_url(http: &crate::config::HttpConfig) -> String {
    if let Some(url) = &http.public_url {
        return url.to_string();
    }
    let mut addr = http.listen;
    if addr.ip().is_unspecified() {
        addr.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
    }
    format!("http://{addr}/")
}
