//! `demo`: the daemon against the built-in simulated Tesla account, for a first look without Tesla
//! credentials. Starts the simulator on a loopback port, uses the MQTT broker at `--mqtt` or starts an
//! embedded one there when nothing answers, signs in with a refresh token from the simulator, pairs
//! the command key with the simulated cars, and runs the daemon with a throw-away data directory and
//! storage key.
//!
//! Against a real Home Assistant broker it signs in with the credentials from `--mqtt`'s userinfo,
//! `--mqtt-username` / `--mqtt-password-file` or `TESLASYNC_MQTT__USERNAME` / `__PASSWORD` (the
//! password is never printed), and when it stops it removes its simulated cars from Home
//! Assistant (empty retained discovery and states) unless `--keep`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;
use tracing::info;
use url::Url;

use crate::config::Config;
use crate::daemon::{Daemon, DaemonError, StartOptions};
use crate::keys::CommandKey;
use crate::secret::Secret;
use crate::sim::{Sim, SimConfig};
use crate::tesla::auth::Tokens;

/// The domain the demo registers; the simulator maps it to the demo daemon.
const DEMO_DOMAIN: &str = "teslasync.demo";

/// `teslasync demo` flags.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    pub vehicles: usize,
    /// The broker, without credentials (see [`MqttLogin::resolve`]).
    pub mqtt: Url,
    pub http: SocketAddr,
    pub login: MqttLogin,
    /// Leave the simulated cars in Home Assistant when the demo stops.
    pub keep: bool,
}

/// The broker credentials the demo signs in with.
#[derive(Debug, Clone, Default)]
pub struct MqttLogin {
    pub username: Option<String>,
    pub password: Option<Secret>,
}

impl MqttLogin {
    /// Credentials from, in order of precedence: the flags (`--mqtt-username`,
    /// `--mqtt-password-file`), the URL's userinfo (`mqtt://user:pass@host`), the environment
    /// (`TESLASYNC_MQTT__USERNAME`, `TESLASYNC_MQTT__PASSWORD`, as for `run`). Returns the URL
    /// without its userinfo, which is what gets printed.
    pub fn resolve(
        url: &Url,
        username: Option<String>,
        password_file: Option<&std::path::Path>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<(Url, MqttLogin), DemoError> {
        let decode = |s: &str| {
            url::form_urlencoded::parse(format!("x={}", s.replace('+', "%2B")).as_bytes())
                .next()
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default()
        };
        let from_url_user = (!url.username().is_empty()).then(|| decode(url.username()));
        let from_url_password = url.password().map(decode);
        let password_from_file = match password_file {
            Some(path) => Some(
                std::fs::read_to_string(path)
                    .map_err(|e| {
                        DemoError::PasswordFile(path.display().to_string(), e.to_string())
                    })?
                    .trim_end_matches(['\r', '\n'])
                    .to_string(),
            ),
            None => None,
        };
        let username = username
            .or(from_url_user)
            .or_else(|| env("TESLASYNC_MQTT__USERNAME"))
            .filter(|u| !u.is_empty());
        let password = password_from_file
            .or(from_url_password)
            .or_else(|| env("TESLASYNC_MQTT__PASSWORD"))
            .map(Secret::from);
        if password.is_some() && username.is_none() {
            return Err(DemoError::PasswordWithoutUser);
        }
        let mut bare = url.clone();
        let _ = bare.set_username("");
        let _ = bare.set_password(None);
        Ok((bare, MqttLogin { username, password }))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("--mqtt {0} must be mqtt://[USER[:PASSWORD]@]HOST:PORT")]
    BadMqttUrl(String),
    #[error("--mqtt-password-file {0}: {1}")]
    PasswordFile(String, String),
    #[error("an MQTT password needs a username: add --mqtt-username (or USER@ in --mqtt, or TESLASYNC_MQTT__USERNAME)")]
    PasswordWithoutUser,
    #[error("nothing answers at {addr} and an embedded broker could not start there: {error}")]
    Broker { addr: String, error: String },
    #[error("the simulator could not start: {0}")]
    Sim(String),
    #[error("cannot listen on {addr} for the status page ({error}); choose another address with --http, e.g. --http 127.0.0.1:8081")]
    HttpBusy { addr: String, error: String },
    #[error(transparent)]
    Daemon(#[from] DaemonError),
}

impl DemoError {
    /// The CLI contract's rule, as for `run`: 2 for what the user fixes in the command line or
    /// configuration (a bad `--mqtt`, a busy `--http`), 1 for failures at run time.
    pub fn exit_code(&self) -> i32 {
        match self {
            DemoError::BadMqttUrl(_)
            | DemoError::PasswordFile(..)
            | DemoError::PasswordWithoutUser
            | DemoError::HttpBusy { .. } => 2,
            DemoError::Daemon(e) => e.exit_code(),
            DemoError::Broker { .. } | DemoError::Sim(_) => 1,
        }
    }
}

/// Runs the demo until `shutdown`.
pub async fn run(
    opts: DemoOptions,
    mut cfg: Config,
    shutdown: CancellationToken,
) -> Result<(), DemoError> {
    let sim = Sim::new(SimConfig {
        vehicles: opts.vehicles,
        ..SimConfig::default()
    });
    let sim_listener = TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| DemoError::Sim(e.to_string()))?;
    let sim_url = Url::parse(&format!(
        "http://{}",
        sim_listener
            .local_addr()
            .map_err(|e| DemoError::Sim(e.to_string()))?
    ))
    .expect("valid url");
    tokio::spawn(sim.clone().serve(sim_listener, shutdown.clone()));

    let host = opts
        .mqtt
        .host_str()
        .ok_or_else(|| DemoError::BadMqttUrl(crate::util::show_url(&opts.mqtt)))?;
    let port = opts.mqtt.port().unwrap_or(1883);
    let broker = format!("{host}:{port}");
    let embedded = ensure_broker(&broker).await?;

    let data_dir = demo_dir();
    // Removed when the demo ends, however it ends (a busy --http address included).
    let _data_dir = RemovedOnDrop(data_dir.clone());
    cfg.tesla.api_base_url = Some(sim_url.clone());
    cfg.tesla.auth_base_url = sim_url.clone();
    cfg.tesla.client_id = Some(SimConfig::default().client_id);
    cfg.tesla.client_secret = Some(Secret::from(SimConfig::default().client_secret));
    cfg.mqtt.url = opts.mqtt.clone();
    cfg.mqtt.username = opts.login.username.clone();
    cfg.mqtt.password = opts.login.password.clone();
    cfg.http.listen = opts.http;
    // Sign-in, partner registration and pairing work against the simulator too: the redirect URI is
    // the demo's own callback, and the simulated Tesla fetches the demo domain's key from this daemon.
    let mut reachable = opts.http;
    if reachable.ip().is_unspecified() {
        reachable.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
    }
    cfg.tesla.redirect_uri = Some(format!("http://{reachable}/api/v1/auth/callback"));
    cfg.tesla.domain = Some(DEMO_DOMAIN.to_string());
    sim.serve_domain(DEMO_DOMAIN, &format!("http://{reachable}"));
    cfg.storage.path = data_dir.clone();
    // Livelier than production, still sleep-aware: the simulated cars fall asleep after 15 idle minutes.
    cfg.polling.list_interval = Duration::from_secs(15);
    cfg.polling.active_interval = Duration::from_secs(30);
    cfg.polling.online_interval = Duration::from_secs(60);

    // A throw-away storage key: the demo's data directory dies with the process anyway.
    let key: [u8; 32] = rand::random();
    cfg.storage.encryption_key = Some(Secret::from(base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        key,
    )));

    // The demo plays the owner too: it pairs TeslaSync's key with the simulated cars, as one would by
    // approving it in the Tesla app, so the signed-only Model Y obeys commands as well.
    let key_path = crate::keys::default_path(&cfg.storage.path);
    let (key, _) =
        CommandKey::load_or_create(&key_path).map_err(|e| DemoError::Sim(e.to_string()))?;
    for vin in sim.vins() {
        // Cars without the protocol refuse pairing; they take REST commands.
        let _ = sim.pair_key(&vin, &key.public_key_bytes());
    }

    // Fleet Telemetry: the simulated cars stream to the daemon's receiver over mutual TLS, with
    // certificates from a demo vehicle CA standing in for Tesla's.
    let vehicle_ca = crate::sim::telemetry::TestCa::new("TeslaSync demo vehicle CA");
    let telemetry_listener = TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| DemoError::Sim(e.to_string()))?;
    std::fs::create_dir_all(&data_dir).map_err(|e| DemoError::Sim(e.to_string()))?;
    let ca_file = data_dir.join("demo-vehicle-ca.pem");
    std::fs::write(&ca_file, vehicle_ca.pem()).map_err(|e| DemoError::Sim(e.to_string()))?;
    cfg.telemetry.enabled = true;
    cfg.telemetry.hostname = Some("localhost".into());
    cfg.telemetry.client_ca_file = Some(ca_file);
    // The port cars are told is the receiver's, so the daemon's own start-up push sends the
    // same config the demo pushes below.
    cfg.telemetry.port = telemetry_listener
        .local_addr()
        .map_err(|e| DemoError::Sim(e.to_string()))?
        .port();

    let store = crate::daemon::open_store(&cfg)?;
    Tokens::import_refresh_token(&store, &Secret::from(sim.issue_refresh_token()))
        .map_err(DaemonError::from)?;
    drop(store);
    let reachable_url = Url::parse(&format!("http://{reachable}/")).expect("valid url");
    let daemon = Daemon::start(
        cfg.clone(),
        StartOptions {
            public_key_base: Some(reachable_url),
            telemetry_listener: Some(telemetry_listener),
            clear_mqtt_on_stop: !opts.keep,
            ..StartOptions::default()
        },
        shutdown.clone(),
    )
    .await
    .map_err(|e| match e {
        DaemonError::HttpBind { addr, error } => DemoError::HttpBusy { addr, error },
        e => e.into(),
    })?;
    // The demo registers its domain with the simulated Tesla, as a user does in the set-up page, so
    // the cars it paired above report "key paired" as they would after the owner's approval.
    let report = daemon.account().register_partner(DEMO_DOMAIN).await;
    if !report.ok {
        tracing::warn!(
            "the demo's partner registration failed: {:?}",
            report.regions
        );
    }
    daemon.recheck_pairing();
    let _streams = start_streaming(&daemon, &sim, &key, &vehicle_ca).await;
    println!();
    println!(
        "TeslaSync demo is running with {} simulated cars.",
        opts.vehicles
    );
    // The login as the user gave it, the password masked (`show_url` prints `***`).
    let mut shown = opts.mqtt.clone();
    if let Some(user) = &opts.login.username {
        let _ = shown.set_username(user);
        if opts.login.password.is_some() {
            let _ = shown.set_password(Some("hidden"));
        }
    }
    println!(
        "  MQTT broker : {}{}",
        crate::util::show_url(&shown),
        if embedded { " (embedded)" } else { "" }
    );
    println!("  Status page : http://{}/", daemon.http_addr());
    if let Some(link) = daemon.sign_in_link() {
        println!("  Sign in     : {link}  (works once)");
    }
    println!("  Simulator   : {sim_url}sim/vehicles");
    println!("Point Home Assistant's MQTT integration at the broker: the cars appear as devices.");
    if opts.keep {
        println!("Press Ctrl-C to stop (--keep: the cars stay in Home Assistant).");
    } else {
        println!("Press Ctrl-C to stop; the simulated cars are then removed from Home Assistant.");
    }
    Ok(daemon.wait().await?)
}

/// A fresh data directory per demo run (its storage key dies with the process).
/// Pushes the signed telemetry config to the simulated cars, as `teslasync telemetry configure`
/// does, and starts every car that accepted it streaming to the receiver. Best effort: the demo
/// still polls without it.
async fn start_streaming(
    daemon: &Daemon,
    sim: &Sim,
    key: &CommandKey,
    vehicle_ca: &crate::sim::telemetry::TestCa,
) -> Vec<crate::sim::telemetry::StreamHandle> {
    use crate::tesla::telemetry::{configure, profile};
    let Some(receiver) = daemon.telemetry() else {
        return Vec::new();
    };
    let config = profile::config(
        "localhost",
        receiver.addr.port(),
        &receiver.ca_pem,
        profile::PROFILE,
    );
    let vins = sim.vins();
    let fleet = daemon.account().fleet();
    if let Err(e) = configure(fleet, &key.protocol_key(), &vins, &config).await {
        tracing::warn!(error = %e, "the demo could not configure Fleet Telemetry");
        return Vec::new();
    }
    let mut streams = Vec::new();
    for vin in vins {
        let Some(held) = sim.telemetry_config(&vin) else {
            continue;
        };
        let fields = held["fields"]
            .as_object()
            .map(|f| {
                f.iter()
                    .map(|(name, rule)| {
                        let secs = rule["interval_seconds"].as_u64().unwrap_or(60);
                        (name.clone(), Duration::from_secs(secs))
                    })
                    .collect()
            })
            .unwrap_or_default();
        let stream_config = crate::sim::telemetry::StreamConfig {
            hostname: held["hostname"].as_str().unwrap_or("localhost").to_string(),
            connect_to: receiver.addr,
            ca_pem: held["ca"].as_str().unwrap_or_default().to_string(),
            fields,
        };
        streams.push(sim.stream(&vin, stream_config, vehicle_ca.issue(&vin)));
    }
    streams
}

/// A directory deleted with everything in it when this is dropped.
struct RemovedOnDrop(PathBuf);

impl Drop for RemovedOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn demo_dir() -> PathBuf {
    let suffix: u64 = rand::random();
    std::env::temp_dir().join(format!("teslasync-demo-{}-{suffix:x}", std::process::id()))
}

/// Uses the broker at `addr` if it answers; otherwise starts rumqttd there. Returns true if embedded.
async fn ensure_broker(addr: &str) -> Result<bool, DemoError> {
    if answers(addr).await {
        return Ok(false);
    }
    info!(addr, "no MQTT broker answers; starting an embedded one");
    let config = embedded_broker_config(addr).map_err(|error| DemoError::Broker {
        addr: addr.to_string(),
        error,
    })?;
    std::thread::Builder::new()
        .name("embedded-mqtt".into())
        .spawn(move || {
            let mut broker = rumqttd::Broker::new(config);
            if let Err(e) = broker.start() {
                tracing::error!(error = %e, "embedded MQTT broker stopped");
            }
        })
        .map_err(|e| DemoError::Broker {
            addr: addr.to_string(),
            error: e.to_string(),
        })?;
    for _ in 0..50 {
        if answers(addr).await {
            return Ok(true);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(DemoError::Broker {
        addr: addr.to_string(),
        error: "it did not start listening within 5 s".into(),
    })
}

async fn answers(addr: &str) -> bool {
    matches!(
        tokio::time::timeout(Duration::from_secs(1), TcpStream::connect(addr)).await,
        Ok(Ok(_))
    )
}

fn embedded_broker_config(addr: &str) -> Result<rumqttd::Config, String> {
    let text = format!(
        r#"
id = 0
[router]
id = 0
max_connections = 1000
max_outgoing_packet_count = 200
max_segment_size = 104857600
max_segment_count = 10
[v5.1]
name = "v5-1"
listen = "{addr}"
next_connection_delay_ms = 1
[v5.1.connections]
connection_timeout_ms = 60000
max_payload_size = 1048576
max_inflight_count = 100
dynamic_filters = true
"#
    );
    toml::from_str(&text).map_err(|e| e.to_string())
}
