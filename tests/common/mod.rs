//! Shared integration-test harness: a simulated Tesla on a loopback port, a real Mosquitto broker on
//! 127.0.0.1:1883, a daemon with its own data directory and topic prefix, and an MQTT probe that
//! subscribes like Home Assistant. Waits are on events with timeouts, never fixed sleeps.
#![allow(dead_code)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use teslasync::clock::Clock;
use teslasync::config::Config;
use teslasync::daemon::{Daemon, StartOptions};
use teslasync::secret::Secret;
use teslasync::sim::{Sim, SimConfig};
use teslasync::tesla::auth::Tokens;

pub const BROKER: &str = "127.0.0.1:1883";
pub const TIMEOUT: Duration = Duration::from_secs(20);

/// Starts Mosquitto if nothing listens on 1883 (CI's `.ci/run` normally has done it already).
pub fn ensure_broker() {
    static STARTED: OnceLock<()> = OnceLock::new();
    STARTED.get_or_init(|| {
        if std::net::TcpStream::connect(BROKER).is_ok() {
            return;
        }
        let spawned = std::process::Command::new("mosquitto").args(["-p", "1883"]).spawn();
        if spawned.is_err() {
            panic!("these tests need a Mosquitto broker on {BROKER}: install it (apt-get install mosquitto) or run `bash .ci/run`");
        }
        for _ in 0..100 {
            if std::net::TcpStream::connect(BROKER).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("mosquitto did not start listening on {BROKER}");
    });
}

/// A unique name for topics, client ids and directories of one test.
pub fn unique(prefix: &str) -> String {
    let n: u32 = rand::random();
    format!("{prefix}_{}_{n:08x}", std::process::id())
}

/// A random storage key (base64 of 32 bytes).
pub fn random_key() -> Secret {
    let key: [u8; 32] = rand::random();
    Secret::from(base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        key,
    ))
}

/// A running simulator.
pub struct SimServer {
    pub sim: Sim,
    pub url: url::Url,
    pub stop: CancellationToken,
}

impl SimServer {
    pub async fn start(cfg: SimConfig) -> SimServer {
        let sim = Sim::new(cfg);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = url::Url::parse(&format!("http://{}", listener.local_addr().unwrap())).unwrap();
        let stop = CancellationToken::new();
        tokio::spawn(sim.clone().serve(listener, stop.clone()));
        SimServer { sim, url, stop }
    }
}

impl Drop for SimServer {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// Everything a daemon under test is configured with.
pub struct Setup {
    pub cfg: Config,
    pub dir: tempfile::TempDir,
}

impl Setup {
    /// A configuration pointing at `sim`, with a fresh data directory, key and topic prefix.
    pub fn new(sim: &SimServer) -> Setup {
        init_test_logging();
        ensure_broker();
        let dir = tempfile::tempdir().unwrap();
        let mut cfg = Config::defaults();
        let defaults = SimConfig::default();
        cfg.tesla.api_base_url = Some(sim.url.clone());
        cfg.tesla.auth_base_url = sim.url.clone();
        cfg.tesla.client_id = Some(defaults.client_id);
        cfg.tesla.client_secret = Some(Secret::from(defaults.client_secret));
        cfg.mqtt.url = url::Url::parse(&format!("mqtt://{BROKER}")).unwrap();
        cfg.mqtt.client_id = unique("daemon");
        cfg.mqtt.base_topic = unique("ts");
        cfg.mqtt.discovery_prefix = unique("ha");
        cfg.storage.path = dir.path().join("data");
        cfg.storage.encryption_key = Some(random_key());
        cfg.polling.list_interval = Duration::from_secs(60);
        Setup { cfg, dir }
    }

    /// Stores a refresh token from the simulator, as `teslasync auth import` does.
    pub fn sign_in(&self, sim: &SimServer) {
        let store = teslasync::daemon::open_store(&self.cfg).unwrap();
        Tokens::import_refresh_token(&store, &Secret::from(sim.sim.issue_refresh_token())).unwrap();
    }

    pub fn base(&self) -> &str {
        &self.cfg.mqtt.base_topic
    }

    pub fn prefix(&self) -> &str {
        &self.cfg.mqtt.discovery_prefix
    }
}

/// A daemon running in this process.
pub struct Running {
    pub daemon: Option<Daemon>,
    pub stop: CancellationToken,
}

impl Running {
    pub async fn start(cfg: &Config, clock: Clock) -> Running {
        let stop = CancellationToken::new();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let daemon = Daemon::start(
            cfg.clone(),
            StartOptions {
                clock,
                http_listener: Some(listener),
            },
            stop.clone(),
        )
        .await
        .expect("daemon starts");
        Running {
            daemon: Some(daemon),
            stop,
        }
    }

    pub fn daemon(&self) -> &Daemon {
        self.daemon.as_ref().unwrap()
    }

    /// Waits until the poller has completed more than `n` cycles; returns the new count.
    pub async fn wait_cycles_after(&self, n: u64) -> u64 {
        let mut rx = self.daemon().poll_status();
        let status = tokio::time::timeout(TIMEOUT, rx.wait_for(|s| s.cycles > n))
            .await
            .unwrap_or_else(|_| panic!("no poll cycle after #{n} within {TIMEOUT:?}"))
            .unwrap()
            .clone();
        status.cycles
    }

    /// Clean shutdown, waiting for it to finish.
    pub async fn stop(mut self) {
        self.stop.cancel();
        let daemon = self.daemon.take().unwrap();
        tokio::time::timeout(TIMEOUT, daemon.wait())
            .await
            .expect("daemon stops in time")
            .expect("daemon stops cleanly");
    }
}

/// One received message.
#[derive(Clone, Debug)]
pub struct Msg {
    pub payload: Vec<u8>,
    pub retained: bool,
}

impl Msg {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.payload).into_owned()
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.payload)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }
}

/// An MQTT subscriber that records every message, like Home Assistant would see them.
#[derive(Clone)]
pub struct Probe {
    pub client: AsyncClient,
    messages: Arc<Mutex<HashMap<String, Vec<Msg>>>>,
    notify: Arc<Notify>,
    stop: CancellationToken,
}

impl Probe {
    /// Subscribes to `filters` and returns once the subscription is acknowledged.
    pub async fn start(filters: &[String]) -> Probe {
        ensure_broker();
        let mut opts = MqttOptions::new(unique("probe"), "127.0.0.1", 1883);
        opts.set_max_packet_size(1024 * 1024, 1024 * 1024);
        opts.set_keep_alive(Duration::from_secs(30));
        let (client, mut eventloop) = AsyncClient::new(opts, 100);
        let messages: Arc<Mutex<HashMap<String, Vec<Msg>>>> = Arc::default();
        let notify = Arc::new(Notify::new());
        let stop = CancellationToken::new();
        let suback = Arc::new(Notify::new());
        for f in filters {
            client.subscribe(f.clone(), QoS::AtLeastOnce).await.unwrap();
        }
        let (m, n, s, sa) = (
            messages.clone(),
            notify.clone(),
            stop.clone(),
            suback.clone(),
        );
        let wanted = filters.len();
        tokio::spawn(async move {
            let mut acks = 0;
            loop {
                let event = tokio::select! {
                    _ = s.cancelled() => return,
                    e = eventloop.poll() => e,
                };
                match event {
                    Ok(Event::Incoming(Packet::Publish(p))) => {
                        m.lock()
                            .unwrap()
                            .entry(p.topic.clone())
                            .or_default()
                            .push(Msg {
                                payload: p.payload.to_vec(),
                                retained: p.retain,
                            });
                        n.notify_waiters();
                    }
                    Ok(Event::Incoming(Packet::SubAck(_))) => {
                        acks += 1;
                        if acks == wanted {
                            sa.notify_one();
                        }
                    }
                    Ok(_) => {}
                    Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
                }
            }
        });
        tokio::time::timeout(TIMEOUT, suback.notified())
            .await
            .expect("probe subscribed");
        Probe {
            client,
            messages,
            notify,
            stop,
        }
    }

    /// The latest message on `topic`, if any.
    pub fn last(&self, topic: &str) -> Option<Msg> {
        self.messages
            .lock()
            .unwrap()
            .get(topic)
            .and_then(|v| v.last().cloned())
    }

    /// Every message on `topic` so far.
    pub fn all(&self, topic: &str) -> Vec<Msg> {
        self.messages
            .lock()
            .unwrap()
            .get(topic)
            .cloned()
            .unwrap_or_default()
    }

    pub fn topics(&self) -> Vec<String> {
        self.messages.lock().unwrap().keys().cloned().collect()
    }

    /// Waits until the latest message on `topic` satisfies `pred`.
    pub async fn wait(&self, topic: &str, pred: impl Fn(&Msg) -> bool) -> Msg {
        let deadline = tokio::time::Instant::now() + TIMEOUT;
        loop {
            let notified = self.notify.notified();
            if let Some(m) = self.last(topic) {
                if pred(&m) {
                    return m;
                }
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                panic!(
                    "timed out waiting on {topic}; last: {:?}",
                    self.last(topic).map(|m| m.text())
                );
            }
        }
    }

    /// Waits until the latest message on `topic` is exactly `text`.
    pub async fn wait_text(&self, topic: &str, text: &str) -> Msg {
        self.wait(topic, |m| m.text() == text).await
    }

    /// Waits for the `n`-th message (1-based) on `topic`.
    pub async fn wait_count(&self, topic: &str, n: usize) -> Vec<Msg> {
        let deadline = tokio::time::Instant::now() + TIMEOUT;
        loop {
            let notified = self.notify.notified();
            let all = self.all(topic);
            if all.len() >= n {
                return all;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                panic!(
                    "timed out waiting for message #{n} on {topic}; have {}",
                    all.len()
                );
            }
        }
    }

    pub async fn publish(&self, topic: &str, payload: &str) {
        self.client
            .publish(topic, QoS::AtLeastOnce, false, payload.as_bytes().to_vec())
            .await
            .unwrap();
    }
}

impl Drop for Probe {
    fn drop(&mut self) {
        if Arc::strong_count(&self.messages) <= 2 {
            self.stop.cancel();
        }
    }
}

/// A manual clock at a fixed, realistic start.
pub fn manual_clock() -> Clock {
    Clock::manual(UNIX_EPOCH + Duration::from_secs(1_780_000_000))
}

/// Hash of every file below `dir` (path → bytes), to prove nothing on disk changed.
pub fn snapshot_dir(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push((path.clone(), std::fs::read(&path).unwrap()));
            }
        }
    }
    out.sort();
    out
}

/// Wall-clock now, for messages.
pub fn now() -> SystemTime {
    SystemTime::now()
}

/// Debug aid: `TESLASYNC_TEST_LOG=debug cargo test ...` prints the daemon's logs.
pub fn init_test_logging() {
    if let Ok(level) = std::env::var("TESLASYNC_TEST_LOG") {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(format!(
                "teslasync={level}"
            )))
            .with_test_writer()
            .try_init();
    }
}

/// A refresh-token grant straight at the simulator, as another tool (or a test) would send it.
pub async fn refresh_at_sim(sim: &SimServer, refresh_token: &str) -> reqwest::Response {
    let defaults = SimConfig::default();
    reqwest::Client::new()
        .post(sim.url.join("oauth2/v3/token").unwrap())
        .form(&[
            ("grant_type", "refresh_token"),
            ("client_id", defaults.client_id.as_str()),
            ("refresh_token", refresh_token),
        ])
        .send()
        .await
        .unwrap()
}

/// A fresh access token from the simulator, for requests a test sends itself.
pub async fn sim_access_token(sim: &SimServer) -> String {
    let body: serde_json::Value = refresh_at_sim(sim, &sim.sim.issue_refresh_token())
        .await
        .json()
        .await
        .unwrap();
    body["access_token"].as_str().unwrap().to_string()
}
