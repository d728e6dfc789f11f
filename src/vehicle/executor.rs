//! `vehicle::executor`: sends commands to cars, one queue per car.
//!
//! For each command: decide the transport — the signed vehicle command protocol when Tesla says the
//! car requires it (or `commands.signed_vins` says so), REST otherwise — wake the car if it needs to
//! be online (re-reading its *live* state from the free vehicle endpoint, never a cached one), send
//! it, and report a [`CommandOutcome`] for `<base>/<VIN>/command/result`. Commands to one car run in
//! order (which the protocol needs too: one counter per domain); different cars do not wait for each
//! other.
//!
//! Signed commands reuse the session stored for the car's domain, so a command costs exactly one
//! `signed_command` request; a handshake happens only when there is no session or the car asks for
//! a resync, and then the command is retried once.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use serde::Serialize;
use tokio::sync::{mpsc, Notify};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{info, info_span, warn, Instrument};

use crate::clock::Clock;
use crate::config::{CommandsConfig, TransportOverride};
use crate::tesla::command::{actions, Domain, ProtocolError, SignOptions, Signer};
use crate::tesla::fleet::{FleetClient, FleetError};
use crate::vehicle::command::{effect_signals, Command};
use crate::vehicle::hub::{Hub, VehicleRecord};
use crate::vehicle::sessions::Sessions;
use crate::vehicle::signal::{Signal, Update, Value};

/// How long to wait for a car to come online after a wake before giving up.
const WAKE_TIMEOUT: Duration = Duration::from_secs(60);
/// Car-side reasons that mean "nothing to do", which Home Assistant also treats as success.
const BENIGN_REASONS: &[&str] = &["already_set", "not_charging", "requested"];

/// One command waiting in a car's queue.
#[derive(Debug, Clone)]
pub struct Job {
    pub command: Command,
    /// Correlation id from the JSON command topic, echoed in the result.
    pub id: Option<String>,
    /// When the command stops being wanted (its MQTT 5 message expiry): a command still queued
    /// or still waiting for the car to wake then is refused, never sent late.
    pub expires_at: Option<SystemTime>,
}

/// The result of one command, published on `<base>/<VIN>/command/result`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CommandOutcome {
    #[serde(skip)]
    pub vin: String,
    pub id: Option<String>,
    pub command: String,
    pub ok: bool,
    pub reason: String,
    pub duration_ms: u64,
}

/// What signed commands need.
#[derive(Clone)]
pub struct Signing {
    /// The sessions over the command key.
    pub sessions: Sessions,
    pub overrides: CommandsConfig,
    /// `tesla.domain`, for the pairing link in "key not paired" answers.
    pub domain: Option<String>,
}

/// Submits commands; cheap to clone.
#[derive(Clone)]
pub struct Executor {
    inner: Arc<Inner>,
}

struct Inner {
    fleet: FleetClient,
    hub: Arc<Hub>,
    clock: Clock,
    outcomes: mpsc::Sender<CommandOutcome>,
    queues: Mutex<HashMap<String, mpsc::Sender<Job>>>,
    tracker: TaskTracker,
    shutdown: CancellationToken,
    /// Starts an early poll after a wake so fresh values follow.
    poke_poller: Option<Arc<Notify>>,
    signing: Signing,
}

impl Executor {
    pub fn new(
        fleet: FleetClient,
        hub: Arc<Hub>,
        clock: Clock,
        outcomes: mpsc::Sender<CommandOutcome>,
        poke_poller: Option<Arc<Notify>>,
        signing: Signing,
        shutdown: CancellationToken,
    ) -> Self {
        Executor {
            inner: Arc::new(Inner {
                fleet,
                hub,
                clock,
                outcomes,
                queues: Mutex::default(),
                tracker: TaskTracker::new(),
                shutdown,
                poke_poller,
                signing,
            }),
        }
    }

    /// Queues a command for a car (known to the hub; the caller checks).
    pub fn submit(&self, vin: &str, job: Job) {
        let mut queues = self.inner.queues.lock().expect("executor mutex");
        // A worker only ends at shutdown or by panicking; after a panic its queue is closed, so the
        // car gets a new worker instead of refusing every later command.
        if queues.get(vin).is_some_and(|tx| tx.is_closed()) && !self.inner.shutdown.is_cancelled() {
            tracing::error!(
                vin,
                "the car's command worker had stopped; starting a new one"
            );
            queues.remove(vin);
        }
        let tx = queues.entry(vin.to_string()).or_insert_with(|| {
            let (tx, rx) = mpsc::channel(32);
            let inner = self.inner.clone();
            let span = info_span!("commands", vin = %vin);
            self.inner
                .tracker
                .spawn(worker(inner, vin.to_string(), rx).instrument(span));
            tx
        });
        if let Err(e) = tx.try_send(job) {
            let job = match e {
                mpsc::error::TrySendError::Full(j) | mpsc::error::TrySendError::Closed(j) => j,
            };
            let outcome = CommandOutcome {
                vin: vin.to_string(),
                id: job.id,
                command: job.command.name().to_string(),
                ok: false,
                reason: "too many commands queued for this car; try again shortly".into(),
                duration_ms: 0,
            };
            record_outcome(&self.inner, &outcome);
            let _ = self.inner.outcomes.try_send(outcome);
        }
    }

    /// Waits until every queued command has finished (after `shutdown` is cancelled, queues drain).
    pub async fn drain(&self) {
        self.inner.queues.lock().expect("executor mutex").clear();
        self.inner.tracker.close();
        self.inner.tracker.wait().await;
    }
}

/// What a car's queue remembers between commands.
#[derive(Default)]
struct Link {
    /// One signer per domain, owned by this queue: commands to a domain never race a counter.
    signers: HashMap<Domain, Signer>,
    /// The car answered 422 to `signed_command`: it takes REST, so don't pay for a handshake again.
    rest_only: bool,
}

async fn worker(inner: Arc<Inner>, vin: String, mut rx: mpsc::Receiver<Job>) {
    let mut link = Link::default();
    while let Some(job) = rx.recv().await {
        let started = Instant::now();
        let name = job.command.name();
        let result = execute(&inner, &mut link, &vin, &job.command, job.expires_at).await;
        let (ok, reason) = match result {
            Ok(reason) => (true, reason),
            Err(reason) => (false, reason),
        };
        if ok {
            info!(command = name, "command succeeded");
        } else {
            warn!(command = name, %reason, "command failed");
        }
        let outcome = CommandOutcome {
            vin: vin.clone(),
            id: job.id,
            command: name.to_string(),
            ok,
            reason,
            duration_ms: started.elapsed().as_millis() as u64,
        };
        record_outcome(&inner, &outcome);
        if inner.outcomes.send(outcome).await.is_err() {
            break;
        }
    }
}

/// Runs one command; `Ok(reason)` on success (reason may say "already_set"), `Err(reason)` otherwise.
async fn execute(
    inner: &Inner,
    link: &mut Link,
    vin: &str,
    command: &Command,
    expires_at: Option<SystemTime>,
) -> Result<String, String> {
    let record = inner
        .hub
        .get(vin)
        .ok_or_else(|| format!("vehicle {vin} is not on this Tesla account"))?;
    still_wanted(inner, expires_at)?;
    if *command == Command::WakeUp {
        wake(inner, vin).await?;
        return Ok(String::new());
    }
    let signed = wants_signed(&record, &inner.signing.overrides);
    if signed && command.is_experimental_when_signed() && !inner.signing.overrides.experimental {
        return Err(format!(
            "{} is signed with protobuf numbers from the Tesla app, not Tesla's published \
             protocol; set [commands] experimental = true to send it to this car",
            command.name()
        ));
    }
    if signed && !link.rest_only && !command.is_signed() {
        // Refused before any request: waking the car for a command it cannot take costs money.
        return Err(format!(
            "{} with these parameters exists only as a REST call, and this car takes only signed \
             commands (the vehicle command protocol has no such action)",
            command.name()
        ));
    }
    if command.needs_online() {
        let live = inner.fleet.vehicle(vin).await.map_err(|e| e.to_string())?;
        if live.state.as_deref() != Some("online") {
            wake(inner, vin).await?;
        }
    }
    still_wanted(inner, expires_at)?;
    if command.wants_climate_on() && !climate_on(&record) {
        // Seat and steering-wheel heaters only run with the HVAC on: start it first, as Home
        // Assistant's integrations do. If that fails, the command fails with its reason.
        let start = Command::AutoConditioningStart;
        send(inner, link, vin, &start, signed)
            .await
            .map_err(|reason| format!("could not start the climate first: {reason}"))?;
        publish_effects(inner, vin, &start);
    }
    let result = send(inner, link, vin, command, signed).await;
    if result.is_ok() {
        publish_effects(inner, vin, command);
    }
    result
}

/// Refuses a command whose MQTT message expiry has passed (before any request, or after a wake).
fn still_wanted(inner: &Inner, expires_at: Option<SystemTime>) -> Result<(), String> {
    expired_by(inner.clock.now(), expires_at)
}

fn expired_by(now: SystemTime, expires_at: Option<SystemTime>) -> Result<(), String> {
    match expires_at {
        Some(at) if now >= at => Err(
            "expired: its MQTT message expiry passed before the car could take it, so it was not \
             sent (publish it again, or with a longer message_expiry_interval)"
                .into(),
        ),
        _ => Ok(()),
    }
}

/// Sends one command over the car's transport.
async fn send(
    inner: &Inner,
    link: &mut Link,
    vin: &str,
    command: &Command,
    signed: bool,
) -> Result<String, String> {
    if signed && !link.rest_only {
        execute_signed(inner, link, vin, command).await
    } else {
        execute_rest(inner, vin, command).await
    }
}

/// Whether the hub last saw the HVAC running (unknown counts as off: one extra start costs less
/// than a heater command the car silently ignores).
fn climate_on(record: &VehicleRecord) -> bool {
    record
        .signals
        .get(&Signal::HvacPower)
        .and_then(Value::as_text)
        .is_some_and(|p| p != "Off")
}

/// Publishes what a successful command certainly changed, at once, instead of paying for a poll.
fn publish_effects(inner: &Inner, vin: &str, command: &Command) {
    let signals = effect_signals(command);
    if !signals.is_empty() {
        inner.hub.apply(Update {
            vin: vin.to_string(),
            at: inner.clock.now(),
            signals,
        });
    }
}

/// Puts an outcome on the car's `LastCommandResult` signal (the hub ignores unknown VINs).
fn record_outcome(inner: &Inner, outcome: &CommandOutcome) {
    inner.hub.apply(Update {
        vin: outcome.vin.clone(),
        at: inner.clock.now(),
        signals: vec![(Signal::LastCommandResult, Value::Text(summary(outcome)))],
    });
}

/// `<command>: ok`, `<command>: ok (<reason>)` or `<command>: failed: <reason>`, at most 255
/// characters (what Home Assistant keeps of a state).
fn summary(outcome: &CommandOutcome) -> String {
    let text = match (outcome.ok, outcome.reason.as_str()) {
        (true, "") => format!("{}: ok", outcome.command),
        (true, reason) => format!("{}: ok ({reason})", outcome.command),
        (false, reason) => format!("{}: failed: {reason}", outcome.command),
    };
    match text.char_indices().nth(254) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text,
    }
}

/// Whether a car gets signed commands: the configured override, else what Tesla says — the vehicle
/// list (`command_signing: required`) or `fleet_status` (`vehicle_command_protocol_required`).
fn wants_signed(record: &VehicleRecord, overrides: &CommandsConfig) -> bool {
    match overrides.transport_override(&record.info.vin) {
        Some(TransportOverride::Signed) => true,
        Some(TransportOverride::Rest) => false,
        None => {
            record.info.signing_required
                || record.signals.get(&Signal::CommandProtocolRequired) == Some(&Value::Bool(true))
        }
    }
}

/// A REST command: `POST /api/1/vehicles/{vin}/command/{name}`.
async fn execute_rest(inner: &Inner, vin: &str, command: &Command) -> Result<String, String> {
    let send = || {
        inner
            .fleet
            .command(vin, command.name(), command.rest_body())
    };
    let reply = match send().await {
        // Asleep after all (it dozed off between the check and the command): wake once and retry.
        Err(FleetError::Unavailable) => {
            wake(inner, vin).await?;
            send().await
        }
        other => other,
    }
    .map_err(|e| e.to_string())?;
    if reply.result || BENIGN_REASONS.contains(&reply.reason.as_str()) {
        Ok(reply.reason)
    } else if reply.reason.is_empty() {
        Err("the car refused the command".into())
    } else {
        Err(reply.reason)
    }
}

/// A signed command over `signed_command`, retried once after a resync, a temporary fault or a wake.
async fn execute_signed(
    inner: &Inner,
    link: &mut Link,
    vin: &str,
    command: &Command,
) -> Result<String, String> {
    let sessions = &inner.signing.sessions;
    let (domain, payload) = actions::encode(command).map_err(|e| e.to_string())?;
    let signer = match link.signers.entry(domain) {
        std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
        std::collections::hash_map::Entry::Vacant(e) => e.insert(sessions.signer(vin, domain)?),
    };
    let mut retried = false;
    loop {
        if !signer.has_session() {
            match handshake(inner, sessions, signer, vin).await {
                Ok(()) => {}
                // 422: the car does not speak the protocol after all (e.g. a forced override on a
                // pre-2021 Model S). Tesla's own proxy falls back to REST here; so do we.
                Err(HandshakeError::Unsupported) => {
                    warn!(
                        "the car does not support signed commands; sending over REST from now on"
                    );
                    link.rest_only = true;
                    return execute_rest(inner, vin, command).await;
                }
                Err(HandshakeError::Failed(reason)) => return Err(reason),
            }
        }
        let request = signer
            .sign(&payload, SignOptions::default(), inner.clock.now())
            .map_err(|e| e.to_string())?;
        // Durable before sending: a restart must never reuse this counter.
        sessions.save(signer).await.map_err(|e| e.to_string())?;
        let reply = match inner
            .fleet
            .signed_command_named(vin, request.bytes(), command.name())
            .await
        {
            Ok(reply) => reply,
            Err(FleetError::Unavailable) if !retried => {
                retried = true;
                wake(inner, vin).await?;
                continue;
            }
            Err(e) => return Err(e.to_string()),
        };
        let opened = signer.open_reply(&request, &reply, inner.clock.now());
        // A reply may carry fresh session info even when it reports a failure: keep it.
        sessions.save(signer).await.map_err(|e| e.to_string())?;
        match opened {
            Ok(_) => return Ok(String::new()),
            Err(ProtocolError::Refused { reason, .. }) => {
                return if BENIGN_REASONS.contains(&reason.as_str()) {
                    Ok(reason)
                } else {
                    Err(reason)
                };
            }
            Err(e) if e.is_key_not_paired() => {
                return Err(not_paired(inner.signing.domain.as_deref()))
            }
            Err(e) if !retried && e.needs_resync() => {
                retried = true;
                signer.forget_session();
            }
            Err(e) if !retried && e.is_temporary() && !e.may_have_succeeded() => retried = true,
            Err(e) => return Err(e.to_string()),
        }
    }
}

/// Why no session could be established.
enum HandshakeError {
    /// The car answered 422: it does not speak the protocol.
    Unsupported,
    /// Anything else, already worded for the user.
    Failed(String),
}

/// Establishes a session with one domain of the car (one billed `signed_command`).
async fn handshake(
    inner: &Inner,
    sessions: &Sessions,
    signer: &mut Signer,
    vin: &str,
) -> Result<(), HandshakeError> {
    info!(
        domain = signer.domain().as_str(),
        "starting a command session"
    );
    let request = signer.handshake_request(inner.clock.now());
    let reply = match inner.fleet.signed_command(vin, request.bytes()).await {
        Ok(reply) => reply,
        Err(FleetError::ProtocolUnsupported) => return Err(HandshakeError::Unsupported),
        Err(e) => return Err(HandshakeError::Failed(e.to_string())),
    };
    match signer.accept_handshake(&request, &reply, inner.clock.now()) {
        Ok(()) => sessions
            .save(signer)
            .await
            .map_err(|e| HandshakeError::Failed(e.to_string())),
        Err(e) if e.is_key_not_paired() => Err(HandshakeError::Failed(not_paired(
            inner.signing.domain.as_deref(),
        ))),
        Err(e) => Err(HandshakeError::Failed(e.to_string())),
    }
}

/// What to tell a user whose car does not know TeslaSync's key.
fn not_paired(domain: Option<&str>) -> String {
    match domain {
        Some(domain) => format!(
            "the car does not know TeslaSync's key yet: open https://tesla.com/_ak/{domain} on the phone with the Tesla app and approve the key, then try again"
        ),
        None => "the car does not know TeslaSync's key yet: set [tesla] domain (where your public key is hosted), then open https://tesla.com/_ak/<domain> on the phone with the Tesla app and approve the key".into(),
    }
}

/// Wakes a car and waits (free polls, growing back-off) until it lists as online.
async fn wake(inner: &Inner, vin: &str) -> Result<(), String> {
    let woke = inner.fleet.wake_up(vin).await.map_err(|e| e.to_string())?;
    if woke.state.as_deref() == Some("online") {
        return Ok(());
    }
    info!("waking the car");
    let deadline = inner.clock.now() + WAKE_TIMEOUT;
    let mut delay = Duration::from_secs(1);
    loop {
        let live = inner.fleet.vehicle(vin).await.map_err(|e| e.to_string())?;
        if live.state.as_deref() == Some("online") {
            inner.hub.apply(Update {
                vin: vin.to_string(),
                at: inner.clock.now(),
                signals: vec![(Signal::VehicleState, Value::Text("online".into()))],
            });
            if let Some(poke) = &inner.poke_poller {
                poke.notify_one();
            }
            return Ok(());
        }
        if inner.clock.now() >= deadline {
            return Err(format!(
                "the car did not wake up within {} s",
                WAKE_TIMEOUT.as_secs()
            ));
        }
        tokio::select! {
            _ = inner.shutdown.cancelled() => return Err("shutting down".into()),
            _ = inner.clock.sleep(delay) => {}
        }
        delay = (delay * 2).min(Duration::from_secs(10));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_expired_command_is_refused_and_a_fresh_one_is_not() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000);
        assert!(expired_by(now, None).is_ok());
        assert!(expired_by(now, Some(now + Duration::from_secs(1))).is_ok());
        let err = expired_by(now, Some(now)).unwrap_err();
        assert!(err.starts_with("expired"), "{err}");
    }
    use crate::vehicle::VehicleInfo;

    fn car(listed_required: bool, fleet_status: Option<bool>) -> VehicleRecord {
        VehicleRecord {
            info: VehicleInfo {
                vin: "5YJSA1E2XJF000002".into(),
                display_name: "x".into(),
                signing_required: listed_required,
            },
            signals: fleet_status
                .map(|r| (Signal::CommandProtocolRequired, Value::Bool(r)))
                .into_iter()
                .collect(),
            updated_at_ms: 0,
        }
    }

    #[test]
    fn transport_follows_tesla_unless_overridden() {
        let none = CommandsConfig::default();
        assert!(!wants_signed(&car(false, None), &none));
        assert!(
            wants_signed(&car(true, None), &none),
            "the vehicle list says required"
        );
        assert!(
            wants_signed(&car(false, Some(true)), &none),
            "fleet_status says required"
        );
        assert!(!wants_signed(&car(false, Some(false)), &none));
        let rest = CommandsConfig {
            rest_vins: vec!["5YJSA1E2XJF000002".into()],
            ..CommandsConfig::default()
        };
        assert!(
            !wants_signed(&car(true, Some(true)), &rest),
            "the override wins"
        );
        let signed = CommandsConfig {
            signed_vins: vec!["5YJSA1E2XJF000002".into()],
            ..CommandsConfig::default()
        };
        assert!(wants_signed(&car(false, None), &signed));
    }
}
