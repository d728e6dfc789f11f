//! `vehicle::telemetry_setup`: gets each paired car streaming Fleet Telemetry and says how it goes.
//!
//! At daemon start (when `telemetry.enabled`) it pushes the signed field profile to every car whose
//! virtual key is paired — one `fleet_telemetry_config_jws` call for all of them — and reads back
//! what Tesla reports per car (`synced`, a config, `limit_reached`, `key_paired`, and
//! `fleet_telemetry_errors`). Every one of these requests is billable, so a car that synced this
//! very config before (remembered in the store, keyed by a digest of the config) costs nothing on
//! the next start. Afterwards it watches, once a minute and without requests:
//!
//! - a car that streams is `streaming`;
//! - a car that synced and has been online (per the poller's vehicle list) for
//!   [`NEVER_STREAMS_AFTER`] without one record is `silent`: reported once as a `telemetry_silent`
//!   event with Tesla's error list (one request), and `recovered` when it streams. The poller
//!   covers it meanwhile, because its stream is not healthy (`StreamHealth::is_healthy`);
//! - a car whose config is still pending is read again at most every [`RECHECK_AFTER`], only
//!   while it is online (Tesla delivers configs only then); a push that failed is retried as
//!   rarely; a car whose key gets paired later is pushed then.
//!
//! Without a config to push (upstream mode: the user's own server is configured by its own
//! tools) it only reads the state back and watches. The results are the `Telemetry*` signals,
//! i.e. the diagnostic entities of `ha::catalog::telemetry` and the status page's values.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;
use sha2::{Digest, Sha256};
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn, Instrument};

use crate::clock::Clock;
use crate::config::{TelemetryConfig, TelemetryMode};
use crate::keys::CommandKey;
use crate::store::Store;
use crate::tesla::command::KeyPair;
use crate::tesla::fleet::{FleetClient, TelemetryConfigStatus};
use crate::tesla::telemetry::{self, profile, CarConfigResult};
use crate::vehicle::hub::Hub;
use crate::vehicle::signal::{Signal, Update, Value};
use crate::vehicle::stream::StreamHealth;

/// A synced car online this long without sending a record is reported as silent.
pub const NEVER_STREAMS_AFTER: Duration = Duration::from_secs(10 * 60);
/// A pending config (or a failed push) is looked at again after this long, at the earliest.
pub const RECHECK_AFTER: Duration = Duration::from_secs(60 * 60);
/// How often the watch runs (it makes no requests by itself).
const CHECK_EVERY: Duration = Duration::from_secs(60);
/// Store tree: VIN → [`Stored`].
const TREE: &str = "telemetry_setup";

/// Where a car stands with Fleet Telemetry (the `TelemetryStatus` signal).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Records arrive.
    Streaming,
    /// The car holds the config; no record yet.
    Synced,
    /// Tesla accepted the config; the car takes it the next time it is online.
    Pending,
    /// Synced and online, but nothing arrives.
    Silent,
    /// The car holds as many telemetry configs as it takes (one per app).
    LimitReached,
    MissingKey,
    UnsupportedFirmware,
    UnsupportedHardware,
    /// Nothing was pushed (no `telemetry.hostname`) and the car reports no config.
    NotConfigured,
    /// The push or the read-back failed; retried later.
    Error,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Streaming => "streaming",
            State::Synced => "synced",
            State::Pending => "pending",
            State::Silent => "silent",
            State::LimitReached => "limit_reached",
            State::MissingKey => "missing_key",
            State::UnsupportedFirmware => "unsupported_firmware",
            State::UnsupportedHardware => "unsupported_hardware",
            State::NotConfigured => "not_configured",
            State::Error => "error",
        }
    }

    /// The car holds a config: it should stream whenever it is awake.
    pub fn holds_config(self) -> bool {
        matches!(self, State::Streaming | State::Synced | State::Silent)
    }
}

/// What Tesla's answers to a push (or a plain read-back, `skipped: None`) mean.
pub fn classify(skipped: Option<&str>, status: Option<&TelemetryConfigStatus>) -> State {
    match (skipped, status) {
        (Some("missing_key"), _) => State::MissingKey,
        (Some("unsupported_firmware"), _) => State::UnsupportedFirmware,
        (Some("unsupported_hardware"), _) => State::UnsupportedHardware,
        (Some("max_configs"), _) => State::LimitReached,
        (Some(_), _) => State::Error,
        (None, Some(s)) if s.active() => State::Synced,
        (None, Some(s)) if s.limit_reached => State::LimitReached,
        // The older backends' way of saying "at its limit": synced, but holding nothing.
        (None, Some(s)) if s.synced => State::LimitReached,
        (None, Some(s)) if !s.key_paired => State::MissingKey,
        (None, Some(_)) => State::Pending,
        (None, None) => State::Error,
    }
}

/// The config to push and the command key that signs it.
pub struct Push {
    pub key: KeyPair,
    pub config: Json,
}

/// What the store remembers per car, so a restart does not pay for a push that is in place.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct Stored {
    /// SHA-256 of the config pushed (empty in watch-only mode).
    digest: String,
    /// The car held that config when last looked at.
    holds_config: bool,
}

/// The watch's memory of one car.
#[derive(Debug, Clone)]
struct Car {
    state: State,
    /// When Tesla was last asked about this car.
    asked_at: SystemTime,
    /// The `KeyPaired` signal at the last look, so a key paired since is pushed to at once, and a
    /// car Tesla still skips as `missing_key` is asked again only hourly.
    paired_seen: bool,
}

/// The start-up push and the watch (see the module docs).
pub struct TelemetrySetup {
    pub fleet: FleetClient,
    pub hub: Arc<Hub>,
    pub health: Arc<StreamHealth>,
    pub store: Store,
    pub clock: Clock,
    /// `None`: read back and watch only.
    pub push: Option<Push>,
}

/// The config to push as `telemetry` asks: the field profile for `hostname`/`port` and the CA
/// of the running receiver (`ca_pem`), signed with the command key. `None` in upstream mode, or
/// without a host name (cars could not reach us) or a key.
pub fn push_for(
    cfg: &TelemetryConfig,
    ca_pem: Option<&str>,
    key: Option<&CommandKey>,
) -> Option<Push> {
    let hostname = cfg.hostname.as_deref()?;
    if cfg.mode != TelemetryMode::Receiver {
        return None;
    }
    Some(Push {
        key: key?.protocol_key(),
        config: profile::config(hostname, cfg.port, ca_pem?, profile::PROFILE),
    })
}

impl TelemetrySetup {
    /// Runs until `shutdown`.
    pub async fn run(self, shutdown: CancellationToken) {
        let digest = self
            .push
            .as_ref()
            .map(|p| digest(&p.config))
            .unwrap_or_default();
        let mut cars: BTreeMap<String, Car> = BTreeMap::new();
        let mut changes = self.hub.subscribe();
        loop {
            let now = self.clock.now();
            let new: Vec<String> = self
                .hub
                .vins()
                .into_iter()
                .filter(|v| !cars.contains_key(v))
                .collect();
            if !new.is_empty() {
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    found = self.start_cars(&new, &digest) => {
                        for (vin, mut car) in found {
                            // A pairing counts as new only when the signal turns true later.
                            car.paired_seen = self.hub.get(&vin).is_some_and(|r| {
                                r.signals.get(&Signal::KeyPaired) == Some(&Value::Bool(true))
                            });
                            cars.insert(vin, car);
                        }
                    }
                }
            }
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = self.watch(&mut cars, &digest, now) => {}
            }
            // The first cars appear with the first vehicle list; after that, once a minute.
            let wait_for_cars = cars.is_empty();
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = self.clock.sleep(CHECK_EVERY) => {}
                _ = changes.recv(), if wait_for_cars => {}
            }
        }
    }

    /// Pushes (or reads back) cars seen for the first time. Cars whose key status could not be
    /// read are left out, so the next round tries them again.
    async fn start_cars(&self, vins: &[String], digest: &str) -> Vec<(String, Car)> {
        let now = self.clock.now();
        let paired = match self.fleet.fleet_status(vins).await {
            Ok(s) => s.key_paired_vins,
            Err(e) => {
                debug!(error = %e, "telemetry set-up waits for the virtual-key status");
                return Vec::new();
            }
        };
        let mut out = Vec::new();
        let mut ask = Vec::new();
        for vin in vins {
            if !paired.contains(vin) {
                self.apply(vin, State::MissingKey, None, None);
                out.push((vin.clone(), car(State::MissingKey, now)));
                continue;
            }
            let stored: Option<Stored> = self.store.get_json(TREE, vin).ok().flatten();
            match stored {
                Some(s) if s.holds_config && s.digest == digest => {
                    debug!(
                        vin,
                        "the car holds this telemetry config already; nothing to push"
                    );
                    self.apply(vin, State::Synced, None, None);
                    out.push((vin.clone(), car(State::Synced, now)));
                }
                _ => ask.push(vin.clone()),
            }
        }
        if !ask.is_empty() {
            for (vin, state) in self.ask(&ask, digest).await {
                out.push((vin, car(state, now)));
            }
        }
        out
    }

    /// Pushes the config to `vins` (or only reads their state without a push) and applies what
    /// Tesla says. One push for all, then one config and one error read per car.
    async fn ask(&self, vins: &[String], digest: &str) -> Vec<(String, State)> {
        let results: Vec<CarConfigResult> = match &self.push {
            Some(push) => {
                match telemetry::configure(&self.fleet, &push.key, vins, &push.config).await {
                    Ok(r) => r,
                    Err(e) => {
                        let message = format!(
                            "Tesla refused the Fleet Telemetry config: {e}; TeslaSync tries again in {} minutes",
                            RECHECK_AFTER.as_secs() / 60
                        );
                        return vins
                            .iter()
                            .map(|vin| {
                                warn!(vin, error = %e, "telemetry config push failed");
                                self.hub.problem(Some(vin), "telemetry_setup", &message);
                                self.apply(vin, State::Error, None, Some(message.clone()));
                                (vin.clone(), State::Error)
                            })
                            .collect();
                    }
                }
            }
            None => {
                let mut out = Vec::new();
                for vin in vins {
                    out.push(CarConfigResult {
                        vin: vin.clone(),
                        skipped: None,
                        status: self.fleet.fleet_telemetry_config(vin).await.ok(),
                    });
                }
                out
            }
        };
        let mut out = Vec::new();
        for r in results {
            let mut state = classify(r.skipped.as_deref(), r.status.as_ref());
            if state == State::LimitReached && self.push.is_none() {
                // Nothing of ours was pushed: "synced, no config" just means none is there.
                state = State::NotConfigured;
            }
            let errors = if r.skipped.is_none() {
                self.errors(&r.vin).await
            } else {
                None
            };
            self.report(&r.vin, state);
            self.apply(&r.vin, state, r.status.as_ref(), errors);
            if r.status.is_some() {
                let stored = Stored {
                    digest: digest.to_string(),
                    holds_config: state.holds_config(),
                };
                if let Err(e) = self.store.put_json(TREE, &r.vin, &stored) {
                    warn!(vin = %r.vin, error = %e, "could not remember the telemetry config state");
                }
            }
            out.push((r.vin, state));
        }
        out
    }

    /// Tesla's telemetry errors for `vin`, `; `-joined (empty: none); `None` if unreadable.
    async fn errors(&self, vin: &str) -> Option<String> {
        match self.fleet.fleet_telemetry_errors(vin).await {
            Ok(list) => Some(
                list.fleet_telemetry_errors
                    .iter()
                    .map(|e| e.error.as_str())
                    .collect::<Vec<_>>()
                    .join("; "),
            ),
            Err(e) => {
                debug!(vin, error = %e, "could not read fleet_telemetry_errors");
                None
            }
        }
    }

    /// Logs what a state means for the user, once per result.
    fn report(&self, vin: &str, state: State) {
        match state {
            State::Synced => info!(vin, "the car holds TeslaSync's telemetry config"),
            State::Pending => info!(
                vin,
                "Tesla accepted the telemetry config; the car syncs it when it is next online"
            ),
            State::LimitReached => {
                let message = "the car is at its limit of Fleet Telemetry configs (one per app): remove another app's streaming, TeslaSync pushes again at its next start";
                warn!(vin, "{message}");
                self.hub.problem(Some(vin), "telemetry_setup", message);
            }
            State::UnsupportedFirmware | State::UnsupportedHardware => {
                info!(
                    vin,
                    state = state.as_str(),
                    "this car cannot stream Fleet Telemetry; it is polled"
                )
            }
            _ => {}
        }
    }

    /// The minute's look at every known car.
    async fn watch(&self, cars: &mut BTreeMap<String, Car>, digest: &str, now: SystemTime) {
        for (vin, car) in cars.iter_mut() {
            let Some(rec) = self.hub.get(vin) else {
                continue;
            };
            let online =
                rec.signals.get(&Signal::VehicleState) == Some(&Value::Text("online".into()));
            self.health.seen(vin, online, now);
            let streaming = self.health.is_healthy(vin, now);
            let due = now.duration_since(car.asked_at).unwrap_or_default() >= RECHECK_AFTER;
            let paired = rec.signals.get(&Signal::KeyPaired) == Some(&Value::Bool(true));
            let newly_paired = paired && !car.paired_seen;
            car.paired_seen = paired;
            let span = tracing::info_span!("telemetry_setup", vin = %vin);
            let next = async {
                match car.state {
                    State::Silent if streaming => {
                        info!("the car streams Fleet Telemetry again");
                        self.hub
                            .problem(Some(vin), "recovered", "Fleet Telemetry streams again");
                        Some(State::Streaming)
                    }
                    s if streaming && s != State::Streaming => {
                        if !s.holds_config() {
                            self.remember(vin, digest);
                        }
                        Some(State::Streaming)
                    }
                    State::Synced | State::Streaming
                        if self
                            .health
                            .silent_while_online(vin, now, NEVER_STREAMS_AFTER) =>
                    {
                        let errors = self.errors(vin).await;
                        let mut message = format!(
                            "the car holds the Fleet Telemetry config and has been online for {} minutes without streaming; it is polled instead. Check that the public telemetry.hostname and port reach TeslaSync",
                            NEVER_STREAMS_AFTER.as_secs() / 60
                        );
                        if let Some(e) = errors.as_deref().filter(|e| !e.is_empty()) {
                            message.push_str(&format!(" (Tesla reports: {e})"));
                        }
                        warn!("{message}");
                        self.hub.problem(Some(vin), "telemetry_silent", message);
                        if let Some(e) = errors {
                            self.set(vin, vec![(Signal::TelemetryErrors, Value::Text(e))]);
                        }
                        Some(State::Silent)
                    }
                    State::Pending if online && due => {
                        car.asked_at = now;
                        let status = self.fleet.fleet_telemetry_config(vin).await.ok();
                        let state = classify(None, status.as_ref());
                        if state != State::Pending {
                            self.report(vin, state);
                            self.apply(vin, state, status.as_ref(), None);
                            if state.holds_config() {
                                self.remember(vin, digest);
                            }
                        }
                        Some(state)
                    }
                    State::Error if due => {
                        car.asked_at = now;
                        self.ask(std::slice::from_ref(vin), digest)
                            .await
                            .pop()
                            .map(|(_, s)| s)
                    }
                    State::MissingKey if paired && (newly_paired || due) => {
                        car.asked_at = now;
                        self.ask(std::slice::from_ref(vin), digest)
                            .await
                            .pop()
                            .map(|(_, s)| s)
                    }
                    _ => None,
                }
            };
            if let Some(state) = next.instrument(span).await {
                if state != car.state {
                    car.state = state;
                    self.set(
                        vin,
                        vec![(Signal::TelemetryStatus, Value::Text(state.as_str().into()))],
                    );
                }
            }
        }
    }

    fn remember(&self, vin: &str, digest: &str) {
        let stored = Stored {
            digest: digest.to_string(),
            holds_config: true,
        };
        if let Err(e) = self.store.put_json(TREE, vin, &stored) {
            warn!(vin, error = %e, "could not remember the telemetry config state");
        }
    }

    /// The diagnostics for a car's state and, when read, Tesla's answers.
    fn apply(
        &self,
        vin: &str,
        state: State,
        status: Option<&TelemetryConfigStatus>,
        errors: Option<String>,
    ) {
        let mut signals = vec![(Signal::TelemetryStatus, Value::Text(state.as_str().into()))];
        match status {
            Some(s) => {
                signals.push((Signal::TelemetryConfigSynced, Value::Bool(s.active())));
                signals.push((
                    Signal::TelemetryLimitReached,
                    Value::Bool(s.limit_reached || state == State::LimitReached),
                ));
            }
            None if state.holds_config() => {
                signals.push((Signal::TelemetryConfigSynced, Value::Bool(true)));
                signals.push((Signal::TelemetryLimitReached, Value::Bool(false)));
            }
            None if state == State::LimitReached => {
                signals.push((Signal::TelemetryLimitReached, Value::Bool(true)));
            }
            None => {}
        }
        if let Some(e) = errors {
            signals.push((Signal::TelemetryErrors, Value::Text(e)));
        }
        self.set(vin, signals);
    }

    fn set(&self, vin: &str, signals: Vec<(Signal, Value)>) {
        self.hub.apply(Update {
            vin: vin.to_string(),
            at: self.clock.now(),
            signals,
        });
    }
}

fn car(state: State, now: SystemTime) -> Car {
    Car {
        state,
        asked_at: now,
        paired_seen: false,
    }
}

/// Identifies a config, so a restart can tell whether the car holds this one.
fn digest(config: &Json) -> String {
    hex::encode(Sha256::digest(
        serde_json::to_vec(config).expect("JSON serializes"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(synced: bool, config: bool, limit: bool, key: bool) -> TelemetryConfigStatus {
        TelemetryConfigStatus {
            synced,
            config: config.then(|| serde_json::json!({"hostname": "h"})),
            limit_reached: limit,
            key_paired: key,
        }
    }

    #[test]
    fn teslas_answers_become_states() {
        let cases = [
            (Some("missing_key"), None, State::MissingKey),
            (
                Some("unsupported_firmware"),
                None,
                State::UnsupportedFirmware,
            ),
            (
                Some("unsupported_hardware"),
                None,
                State::UnsupportedHardware,
            ),
            (Some("max_configs"), None, State::LimitReached),
            (Some("something_new"), None, State::Error),
            (None, Some(status(true, true, false, true)), State::Synced),
            // At the limit, old style: synced with no config; new style: the flag.
            (
                None,
                Some(status(true, false, false, true)),
                State::LimitReached,
            ),
            (
                None,
                Some(status(false, false, true, true)),
                State::LimitReached,
            ),
            (
                None,
                Some(status(false, false, false, false)),
                State::MissingKey,
            ),
            (
                None,
                Some(status(false, false, false, true)),
                State::Pending,
            ),
            (None, None, State::Error),
        ];
        for (skipped, st, want) in cases {
            assert_eq!(classify(skipped, st.as_ref()), want, "{skipped:?} {st:?}");
        }
    }

    #[test]
    fn the_digest_names_the_config() {
        let a = serde_json::json!({"hostname": "a", "port": 443});
        let b = serde_json::json!({"hostname": "b", "port": 443});
        assert_eq!(digest(&a), digest(&a.clone()));
        assert_ne!(digest(&a), digest(&b));
    }

    #[test]
    fn every_state_is_an_option_of_the_entity() {
        let e = crate::ha::catalog::find("telemetry_status").unwrap();
        let crate::ha::catalog::Entity::Sensor(s) = e else {
            panic!("a sensor")
        };
        for state in [
            State::Streaming,
            State::Synced,
            State::Pending,
            State::Silent,
            State::LimitReached,
            State::MissingKey,
            State::UnsupportedFirmware,
            State::UnsupportedHardware,
            State::NotConfigured,
            State::Error,
        ] {
            assert!(s.measure.options().contains(&state.as_str()), "{state:?}");
        }
    }
}
