//! Shared integration-test harness: a simulated Tesla on a loopback port, a private Mosquitto broker
//! per set-up ([`Broker`], on a free port, gone with the test), a daemon with its own data directory
//! and topic prefix, and an MQTT probe that subscribes like Home Assistant. Waits are on events with
//! timeouts, never fixed sleeps.
#![allow(dead_code)]

mod broker;
mod proxy;
#[allow(unused_imports)]
pub use broker::{Broker, Login};
#[allow(unused_imports)]
pub use proxy::start_proxy;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use teslasync::clock::Clock;
use teslasync::config::Config;
use teslasync::daemon::{Daemon, StartOptions};
use teslasync::secret::Secret;
use teslasync::sim::{approve_form, Sim, SimConfig, SimRegion, SCOPES};
use teslasync::tesla::auth::Tokens;

/// `http.admin_token` of every test daemon from [`Setup::new`].
pub const ADMIN_PASSWORD: &str = "test-admin-password-0123456789";
pub const TIMEOUT: Duration = Duration::from_secs(20);

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
    /// With [`SimServer::start_regions`]: the EU listener (`url` is then the NA one).
    pub eu_url: Option<url::Url>,
}

impl SimServer {
    pub async fn start(cfg: SimConfig) -> SimServer {
        let sim = Sim::new(cfg);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = url::Url::parse(&format!("http://{}", listener.local_addr().unwrap())).unwrap();
        let stop = CancellationToken::new();
        tokio::spawn(sim.clone().serve(listener, stop.clone()));
        SimServer {
            sim,
            url,
            stop,
            eu_url: None,
        }
    }

    /// Two regional Fleet API hosts sharing one world, as Tesla's NA and EU hosts: `url` is NA,
    /// `eu_url` is EU; each answers 421 for accounts of the other, naming it.
    pub async fn start_regions(cfg: SimConfig) -> SimServer {
        let sim = Sim::new(cfg);
        let stop = CancellationToken::new();
        let mut urls = Vec::new();
        for region in [SimRegion::Na, SimRegion::Eu] {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let url =
                url::Url::parse(&format!("http://{}", listener.local_addr().unwrap())).unwrap();
            sim.set_region_url(region, url.as_str());
            let app = sim.router_for_region(region);
            let s = stop.clone();
            tokio::spawn(async move {
                axum::serve(listener, app)
                    .with_graceful_shutdown(s.cancelled_owned())
                    .await
            });
            urls.push(url);
        }
        SimServer {
            sim,
            url: urls[0].clone(),
            stop,
            eu_url: Some(urls[1].clone()),
        }
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
    /// This set-up's own broker; `cfg.mqtt.url` points at it.
    pub broker: Broker,
}

impl Setup {
    /// A configuration pointing at `sim`, with a fresh data directory, key and topic prefix.
    pub fn new(sim: &SimServer) -> Setup {
        init_test_logging();
        let broker = Broker::start();
        let dir = tempfile::tempdir().unwrap();
        let mut cfg = Config::defaults();
        let defaults = SimConfig::default();
        cfg.tesla.api_base_url = Some(sim.url.clone());
        cfg.tesla.auth_base_url = sim.url.clone();
        cfg.tesla.client_id = Some(defaults.client_id);
        cfg.tesla.client_secret = Some(Secret::from(defaults.client_secret));
        cfg.mqtt.url = broker.url();
        cfg.mqtt.client_id = unique("daemon");
        cfg.mqtt.base_topic = unique("ts");
        cfg.mqtt.discovery_prefix = unique("ha");
        cfg.storage.path = dir.path().join("data");
        cfg.storage.encryption_key = Some(random_key());
        cfg.polling.list_interval = Duration::from_secs(60);
        // The web UI's password; `Browser::new()` presents it as a bearer token.
        cfg.http.admin_token = Some(Secret::from(ADMIN_PASSWORD));
        Setup { cfg, dir, broker }
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

    /// A probe on this set-up's broker.
    pub async fn probe(&self, filters: &[String]) -> Probe {
        Probe::start(&self.broker, filters).await
    }
}

/// A daemon running in this process.
pub struct Running {
    pub daemon: Option<Daemon>,
    pub stop: CancellationToken,
}

/// A loopback listener for the daemon's web server, bound before the configuration is final (the
/// redirect URI names its port); returns it and its base URL (`http://127.0.0.1:N/`).
pub async fn bind_http() -> (tokio::net::TcpListener, url::Url) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = url::Url::parse(&format!("http://{}/", listener.local_addr().unwrap())).unwrap();
    (listener, url)
}

impl Running {
    pub async fn start(cfg: &Config, clock: Clock) -> Running {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        Running::start_on(cfg, clock, listener).await
    }

    /// Starts the daemon with its web server on `listener`.
    pub async fn start_on(
        cfg: &Config,
        clock: Clock,
        listener: tokio::net::TcpListener,
    ) -> Running {
        Running::start_on_with(cfg, clock, listener, None).await
    }

    /// Starts the daemon on `listener`; the set-up page's key check fetches from `public_key_base`.
    pub async fn start_on_with(
        cfg: &Config,
        clock: Clock,
        listener: tokio::net::TcpListener,
        public_key_base: Option<url::Url>,
    ) -> Running {
        Running::start_with(
            cfg,
            StartOptions {
                clock,
                http_listener: Some(listener),
                public_key_base,
                ..StartOptions::default()
            },
        )
        .await
    }

    /// Starts the daemon with explicit start options.
    pub async fn start_with(cfg: &Config, opts: StartOptions) -> Running {
        let stop = CancellationToken::new();
        let daemon = Daemon::start(cfg.clone(), opts, stop.clone())
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

    /// The daemon's web base URL (`http://127.0.0.1:N/`).
    pub fn web(&self) -> url::Url {
        url::Url::parse(&format!("http://{}/", self.daemon().http_addr())).unwrap()
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
    /// Keeps the broker running while the probe lives.
    pub broker: Broker,
    messages: Arc<Mutex<HashMap<String, Vec<Msg>>>>,
    notify: Arc<Notify>,
    stop: CancellationToken,
}

impl Probe {
    /// Subscribes to `filters` on `broker` and returns once the subscription is acknowledged.
    pub async fn start(broker: &Broker, filters: &[String]) -> Probe {
        Probe::connect(broker, broker.options(&unique("probe")), filters).await
    }

    /// A probe on a broker the test runs itself at `127.0.0.1:<port>` (one it stops and
    /// restarts); `keep` is kept alive with the probe as usual.
    pub async fn start_on(port: u16, keep: &Broker, filters: &[String]) -> Probe {
        let opts = MqttOptions::new(unique("probe"), "127.0.0.1", port);
        Probe::connect(keep, opts, filters).await
    }

    async fn connect(broker: &Broker, mut opts: MqttOptions, filters: &[String]) -> Probe {
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
            broker: broker.clone(),
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

    /// A probe that signs in, for a [`Broker::with_login`].
    pub async fn start_as(broker: &Broker, login: &Login<'_>, filters: &[String]) -> Probe {
        let mut opts = broker.options(&unique("probe"));
        opts.set_credentials(login.username, login.password);
        Probe::connect(broker, opts, filters).await
    }

    pub async fn publish_retained(&self, topic: &str, payload: &str) {
        self.client
            .publish(topic, QoS::AtLeastOnce, true, payload.as_bytes().to_vec())
            .await
            .unwrap();
    }
}

/// Every topic under `filters` for which the broker holds a retained message (a non-empty one).
/// A broker sends the retained messages of each SUBSCRIBE in order, so once a marker retained
/// under a later subscription arrives, every retained message under the earlier ones has arrived.
pub async fn retained_under(
    broker: &Broker,
    login: Option<&Login<'_>>,
    filters: &[String],
) -> Vec<String> {
    let marker = format!("{}/marker", unique("end"));
    let start = |filters: Vec<String>| async move {
        match login {
            Some(login) => Probe::start_as(broker, login, &filters).await,
            None => Probe::start(broker, &filters).await,
        }
    };
    let marking = start(vec![marker.clone()]).await;
    marking.publish_retained(&marker, "end").await;
    marking.wait_text(&marker, "end").await;
    let mut all = filters.to_vec();
    all.push(marker.clone());
    let probe = start(all).await;
    probe.wait_text(&marker, "end").await;
    marking.publish_retained(&marker, "").await;
    probe
        .topics()
        .into_iter()
        .filter(|t| *t != marker)
        .filter(|t| {
            probe
                .all(t)
                .iter()
                .any(|m| m.retained && !m.payload.is_empty())
        })
        .collect()
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

/// What a browser sees of one HTTP answer.
#[derive(Debug, Clone)]
pub struct Page {
    /// The requested URL.
    pub url: String,
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

impl Page {
    pub fn location(&self) -> url::Url {
        url::Url::parse(self.headers["location"].to_str().unwrap()).unwrap()
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

/// A browser without JavaScript: shows redirects instead of following them, keeps the cookies
/// TeslaSync sets, and records every answer (for leak checks).
#[derive(Clone)]
pub struct Browser {
    http: reqwest::Client,
    /// Cookie name → value.
    pub cookies: Arc<Mutex<std::collections::BTreeMap<String, String>>>,
    pub seen: Arc<Mutex<Vec<Page>>>,
    /// Extra header sent with every request (forward auth).
    pub header: Option<(&'static str, &'static str)>,
    /// `Authorization: Bearer` sent with every request.
    pub bearer: Option<String>,
}

impl Default for Browser {
    fn default() -> Self {
        Browser::new()
    }
}

impl Browser {
    /// The admin's browser: presents [`ADMIN_PASSWORD`] as a bearer token (daemons from
    /// [`Setup::new`] accept it), so tests about other things need no sign-in.
    pub fn new() -> Browser {
        Browser {
            bearer: Some(ADMIN_PASSWORD.to_owned()),
            ..Browser::anonymous()
        }
    }

    /// A browser with no credential at all.
    pub fn anonymous() -> Browser {
        Browser {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .no_proxy()
                .build()
                .unwrap(),
            cookies: Arc::default(),
            seen: Arc::default(),
            header: None,
            bearer: None,
        }
    }

    /// The cookie pair `name=value`, if set.
    pub fn cookie(&self, name: &str) -> Option<String> {
        self.cookies
            .lock()
            .unwrap()
            .get(name)
            .map(|v| format!("{name}={v}"))
    }

    async fn send(&self, req: reqwest::RequestBuilder) -> Page {
        let mut req = req.header("accept", "text/html,application/json");
        let url = req
            .try_clone()
            .and_then(|r| r.build().ok())
            .map(|r| r.url().to_string())
            .unwrap_or_default();
        let jar: Vec<String> = self
            .cookies
            .lock()
            .unwrap()
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        if !jar.is_empty() {
            req = req.header("cookie", jar.join("; "));
        }
        if let Some((k, v)) = self.header {
            req = req.header(k, v);
        }
        if let Some(t) = &self.bearer {
            req = req.bearer_auth(t);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        for set in headers
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
        {
            let pair = set.split(';').next().unwrap_or_default();
            if let Some((k, v)) = pair.split_once('=') {
                let mut jar = self.cookies.lock().unwrap();
                if v.is_empty() {
                    jar.remove(k);
                } else {
                    jar.insert(k.to_owned(), v.to_owned());
                }
            }
        }
        let body = resp.text().await.unwrap();
        let page = Page {
            url,
            status,
            headers,
            body,
        };
        self.seen.lock().unwrap().push(page.clone());
        page
    }

    pub async fn get(&self, url: &str) -> Page {
        self.send(self.http.get(url)).await
    }

    pub async fn post_json(&self, url: &str, body: serde_json::Value) -> Page {
        self.send(self.http.post(url).json(&body)).await
    }

    pub async fn post_form(&self, url: &str, form: &[(String, String)]) -> Page {
        self.send(self.http.post(url).form(form)).await
    }

    /// Signs in at the simulated Tesla from the daemon's login link, granting `scopes`; returns the
    /// callback URL Tesla redirected to (not yet visited).
    pub async fn tesla_sign_in(&self, web: &url::Url, scopes: &[&str]) -> url::Url {
        let login = self
            .get(web.join("api/v1/auth/login").unwrap().as_str())
            .await;
        assert_eq!(
            login.status, 302,
            "login redirects to Tesla: {}",
            login.body
        );
        let authorize = login.location();
        let page = self.get(authorize.as_str()).await;
        assert_eq!(page.status, 200, "{}", page.body);
        let back = self
            .post_form(authorize.as_str(), &approve_form(scopes))
            .await;
        assert_eq!(back.status, 302, "{}", back.body);
        back.location()
    }

    /// The whole browser sign-in with every scope; returns the callback page.
    pub async fn sign_in(&self, web: &url::Url) -> Page {
        let callback = self.tesla_sign_in(web, &SCOPES).await;
        self.get(callback.as_str()).await
    }
}

/// The simulator's 2022 Model Y: signed commands only.
pub const MODEL_Y: &str = "7SAYGDEE1NA000001";
/// The simulator's 2018 Model S: REST commands only.
pub const MODEL_S: &str = "5YJSA1E2XJF000002";

/// The usual test world: a simulator, a signed-in daemon sharing its clock, and a probe subscribed to
/// the daemon's base topic and discovery prefix.
pub struct World {
    pub sim: SimServer,
    pub setup: Setup,
    pub probe: Probe,
    pub running: Running,
}

impl World {
    pub async fn start(sim_cfg: SimConfig) -> World {
        World::start_with(sim_cfg, |_, _| {}).await
    }

    /// Like [`World::start`]; `configure` adjusts the daemon's configuration (and may prepare the
    /// simulator, e.g. pair a key) before the daemon starts.
    pub async fn start_with(
        sim_cfg: SimConfig,
        configure: impl FnOnce(&mut Setup, &SimServer),
    ) -> World {
        let sim = SimServer::start(sim_cfg).await;
        let mut setup = Setup::new(&sim);
        configure(&mut setup, &sim);
        setup.sign_in(&sim);
        let probe = setup
            .probe(&[
                format!("{}/#", setup.base()),
                format!("{}/#", setup.prefix()),
            ])
            .await;
        let running = Running::start(&setup.cfg, sim.sim.clock()).await;
        // The bridge subscribes to its command topics before it says `online` (and the broker
        // takes a client's packets in order): from here on a command the test sends is heard,
        // also in tests that advance a manual clock faster than the bridge connects.
        probe
            .wait_text(&format!("{}/status", setup.base()), "online")
            .await;
        World {
            sim,
            setup,
            probe,
            running,
        }
    }

    /// `<base>/<vin>/<rest>`.
    pub fn topic(&self, vin: &str, rest: &str) -> String {
        format!("{}/{vin}/{rest}", self.setup.base())
    }

    /// The `nth` (1-based) command result published for `vin`.
    pub async fn result(&self, vin: &str, nth: usize) -> serde_json::Value {
        self.probe
            .wait_count(&self.topic(vin, "command/result"), nth)
            .await[nth - 1]
            .json()
    }
}

/// Both cars driving, so each is due for `vehicle_data` every minute.
pub fn driving(setup: &mut Setup, sim: &SimServer) {
    setup.cfg.polling.active_interval = Duration::from_secs(60);
    for vin in sim.sim.vins() {
        sim.sim.act(&vin, "drive").unwrap();
    }
}

/// The simulated account with both cars driving ([`driving`]), on a manual clock that the
/// simulator and the daemon share.
pub async fn driving_world() -> (Clock, World) {
    let clock = manual_clock();
    let w = World::start_with(
        SimConfig {
            clock: clock.clone(),
            ..SimConfig::default()
        },
        driving,
    )
    .await;
    (clock, w)
}

/// Data requests Tesla billed for `vin` so far.
pub fn data(sim: &SimServer, vin: &str) -> u64 {
    sim.sim.billing().by_vin.get(vin).map_or(0, |b| b.data)
}
