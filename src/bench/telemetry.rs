//! `bench::telemetry`: `teslasync bench telemetry` — Fleet Telemetry through the real daemon on
//! loopback, beside the ceiling of one bare MQTT client, and the daemon's memory as cars stream.
//!
//! Everything is real: a private Mosquitto (the `mosquitto` binary on `PATH`), the in-process
//! simulator as Tesla's Fleet API, and the daemon as a child process (`teslasync run`, this very
//! executable) confined to one core (`taskset -c 0` when available, and `TOKIO_WORKER_THREADS=1`),
//! which the bare client also runs on, and nothing else: the broker, the simulated cars and the
//! rest of this process are pinned to the other cores.
//! Simulated cars connect over mutual TLS with certificates from a bench vehicle CA and send `V`
//! records of [`DATUMS`] datums whose values all change every record, so every datum is decoded,
//! mapped, applied and published (retained, QoS 1) before the record is acknowledged.
//!
//! - **Throughput**: [`CARS`] cars, each with up to [`WINDOW`] records unacknowledged, for
//!   `seconds`; datums acknowledged per second. Records that queue up behind the bridge are
//!   published together (only each state's newest value goes out), so this run publishes fewer
//!   messages than it takes in datums. A second run has each car wait for every ack before its next
//!   record: nothing queues, every datum is published on its own, and the ratio is that of the
//!   per-message path alone. In the same run, before them, one bare rumqttc client
//!   on one thread publishes small retained QoS 1 messages as fast as the broker acknowledges them:
//!   the ceiling of one client, which the daemon's bridge is — once on MQTT 3.1.1 with rumqttc's
//!   defaults, once on MQTT 5 with the bridge's flow control.
//! - **Memory**: a fresh daemon per size (1, 10, 100 cars), each car sending one record a second;
//!   the daemon's resident set (`VmRSS`) once all are streaming and again `seconds` later.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context};
use futures::{SinkExt, StreamExt};
use prost::Message as _;
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use serde::Serialize;
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::CancellationToken;

use crate::ha::bridge;
use crate::secret::Secret;
use crate::sim::telemetry::{tls_connect, CarCredentials, StreamConfig, TestCa};
use crate::sim::{Sim, SimConfig};
use crate::store::{Store, StoreKey};
use crate::tesla::auth::Tokens;
use crate::tesla::telemetry::envelope::{self, Stream};
use crate::tesla::telemetry::proto::vehicle_data::{
    value::Value as V, Datum, Field, LocationValue, Payload, Value,
};

/// Cars streaming at once in the throughput runs.
pub const CARS: usize = 10;
/// Records a car may have unacknowledged (a real car keeps sending while it waits).
pub const WINDOW: usize = 8;
/// Datums per record.
pub const DATUMS: usize = 20;
/// Car counts of the memory runs.
pub const MEMORY_CARS: &[usize] = &[1, 10, 100];
/// Warm-up before each measurement window.
const WARM_UP: Duration = Duration::from_secs(3);
/// The longest a start-up step may take.
const READY_TIMEOUT: Duration = Duration::from_secs(120);

/// The core the measured client runs on alone.
const MEASURED_CORE: usize = 0;

/// How a bench car sends.
#[derive(Debug, Clone, Copy)]
enum Pace {
    /// As fast as acked, with up to this many records unacknowledged.
    Window(usize),
    /// One record per period.
    Every(Duration),
}

/// The `--json` object.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TelemetryReport {
    pub seconds: u64,
    pub qos: u8,
    /// The measured client (the bare one, then the daemon) had core [`MEASURED_CORE`] to
    /// itself: pinned there, with the broker, the simulated cars and the rest of this process
    /// pinned to the other cores (needs `taskset` and two cores).
    pub pinned_to_one_core: bool,
    pub cars: usize,
    pub datums_per_record: usize,
    /// The bare client's acknowledged publishes per second (the ceiling: MQTT 3.1.1, rumqttc's
    /// defaults).
    pub bare_publishes_per_s: f64,
    /// The same on MQTT 5 with the bridge's flow control (its in-flight limit).
    pub bare_as_bridge_publishes_per_s: f64,
    pub daemon_datums_per_s: f64,
    pub daemon_records_per_s: f64,
    /// Messages the daemon published per second in the same window (states, attributes, markers).
    pub daemon_publishes_per_s: f64,
    /// `daemon_datums_per_s / bare_publishes_per_s`.
    pub ratio: f64,
    /// `daemon_datums_per_s / bare_as_bridge_publishes_per_s`.
    pub ratio_as_bridge: f64,
    /// The second run, each car waiting for every ack (one record unacknowledged): datums acked,
    /// and messages published, per second.
    pub one_at_a_time_datums_per_s: f64,
    pub one_at_a_time_publishes_per_s: f64,
    /// `one_at_a_time_datums_per_s / bare_publishes_per_s`.
    pub one_at_a_time_ratio: f64,
    /// `one_at_a_time_datums_per_s / bare_as_bridge_publishes_per_s`.
    pub one_at_a_time_ratio_as_bridge: f64,
    pub memory: Vec<MemoryRow>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MemoryRow {
    pub cars: usize,
    pub rss_kib_streaming: u64,
    pub rss_kib_after: u64,
    /// Records acknowledged between the two readings.
    pub records: u64,
}

/// Runs the whole benchmark (about `5 × seconds` plus start-ups).
pub async fn telemetry(seconds: u64) -> anyhow::Result<TelemetryReport> {
    let window = Duration::from_secs(seconds.max(1));
    // Before anything starts: the broker and the cars inherit this.
    let pinned = keep_off_measured_core();
    let broker = Mosquitto::start()?;
    let bare = bare_ceiling(broker.port, window).await?;
    let bare_as_bridge = bare_ceiling_as_bridge(broker.port, window).await?;

    let ca = TestCa::new("TeslaSync bench vehicle CA");
    let windowed = throughput(broker.port, &ca, WINDOW, window).await?;
    let one_at_a_time = throughput(broker.port, &ca, 1, window).await?;

    // Memory.
    let mut memory = Vec::new();
    for &n in MEMORY_CARS {
        let account = Account::start(n).await?;
        let daemon = ChildDaemon::start(&account, broker.port, &ca, &format!("m{n}")).await?;
        let counters = Arc::new(Counters::default());
        let cars_stop = CancellationToken::new();
        daemon
            .stream_cars(
                &account,
                &ca,
                Pace::Every(Duration::from_secs(1)),
                &counters,
                &cars_stop,
            )
            .await?;
        tokio::time::sleep(WARM_UP).await;
        let (rss0, r0) = (daemon.rss_kib()?, counters.records());
        tokio::time::sleep(window).await;
        let rss1 = daemon.rss_kib()?;
        memory.push(MemoryRow {
            cars: n,
            rss_kib_streaming: rss0,
            rss_kib_after: rss1,
            records: counters.records() - r0,
        });
        cars_stop.cancel();
        daemon.stop();
        account.stop();
    }
    Ok(TelemetryReport {
        seconds,
        qos: 1,
        pinned_to_one_core: pinned,
        cars: CARS,
        datums_per_record: DATUMS,
        bare_publishes_per_s: bare,
        bare_as_bridge_publishes_per_s: bare_as_bridge,
        daemon_datums_per_s: windowed.datums_per_s,
        daemon_records_per_s: windowed.records_per_s,
        daemon_publishes_per_s: windowed.publishes_per_s,
        ratio: windowed.datums_per_s / bare,
        ratio_as_bridge: windowed.datums_per_s / bare_as_bridge,
        one_at_a_time_datums_per_s: one_at_a_time.datums_per_s,
        one_at_a_time_publishes_per_s: one_at_a_time.publishes_per_s,
        one_at_a_time_ratio: one_at_a_time.datums_per_s / bare,
        one_at_a_time_ratio_as_bridge: one_at_a_time.datums_per_s / bare_as_bridge,
        memory,
    })
}

/// What one throughput run measured.
struct Throughput {
    datums_per_s: f64,
    records_per_s: f64,
    publishes_per_s: f64,
}

/// [`CARS`] cars streaming to a fresh daemon as fast as acked, each with up to `unacked` records
/// unacknowledged, over `window` after a warm-up.
async fn throughput(
    port: u16,
    ca: &TestCa,
    unacked: usize,
    window: Duration,
) -> anyhow::Result<Throughput> {
    let account = Account::start(CARS).await?;
    let daemon = ChildDaemon::start(&account, port, ca, &format!("tp{unacked}")).await?;
    let counters = Arc::new(Counters::default());
    let cars_stop = CancellationToken::new();
    daemon
        .stream_cars(&account, ca, Pace::Window(unacked), &counters, &cars_stop)
        .await?;
    tokio::time::sleep(WARM_UP).await;
    let (r0, p0, t0) = (counters.records(), daemon.published(), Instant::now());
    tokio::time::sleep(window).await;
    let elapsed = t0.elapsed().as_secs_f64();
    let records_per_s = (counters.records() - r0) as f64 / elapsed;
    let publishes_per_s = (daemon.published() - p0) as f64 / elapsed;
    cars_stop.cancel();
    daemon.stop();
    account.stop();
    Ok(Throughput {
        datums_per_s: records_per_s * DATUMS as f64,
        records_per_s,
        publishes_per_s,
    })
}

/// The report as Markdown tables, for docs/BENCHMARKS.md.
pub fn table(r: &TelemetryReport) -> String {
    let mut out = format!(
        "| case | per second |\n|---|---|\n\
         | bare rumqttc client (MQTT 3.1.1, defaults: 100 in flight): retained QoS {qos} publishes acknowledged | {bare:.0} |\n\
         | bare rumqttc client (MQTT 5, the bridge's {inflight} in flight): the same | {bare5:.0} |\n\
         | daemon, cars with {window} records unacked: datums decoded, mapped, published and acked ({cars} cars, {d} datums per record) | {dps:.0} |\n\
         | daemon, the same: records acked | {rps:.0} |\n\
         | daemon, the same: MQTT messages published (states, attributes, delivery markers) | {pps:.0} |\n\
         | daemon, cars waiting for each ack: datums decoded, mapped, published and acked | {odps:.0} |\n\
         | daemon, the same: MQTT messages published | {opps:.0} |\n\n\
         Daemon datums/s ÷ bare publishes/s (daemon {pinned}): with {window} records unacked, **{ratio:.0} %** of the MQTT 3.1.1 client and **{ratio5:.0} %** of the MQTT 5 client as the bridge connects; waiting for each ack, **{oratio:.0} %** and **{oratio5:.0} %**.\n\n\
         | streaming cars | RSS while streaming | RSS {secs} s later | records in between |\n|---|---|---|---|\n",
        qos = r.qos,
        bare = r.bare_publishes_per_s,
        bare5 = r.bare_as_bridge_publishes_per_s,
        inflight = bridge::OUTGOING_INFLIGHT,
        ratio5 = r.ratio_as_bridge * 100.0,
        cars = r.cars,
        d = r.datums_per_record,
        dps = r.daemon_datums_per_s,
        rps = r.daemon_records_per_s,
        pps = r.daemon_publishes_per_s,
        ratio = r.ratio * 100.0,
        window = WINDOW,
        odps = r.one_at_a_time_datums_per_s,
        opps = r.one_at_a_time_publishes_per_s,
        oratio = r.one_at_a_time_ratio * 100.0,
        oratio5 = r.one_at_a_time_ratio_as_bridge * 100.0,
        pinned = if r.pinned_to_one_core {
            "pinned to one core"
        } else {
            "on one tokio worker, not pinned (no taskset)"
        },
        secs = r.seconds,
    );
    for m in &r.memory {
        out.push_str(&format!(
            "| {} | {:.1} MiB | {:.1} MiB | {} |\n",
            m.cars,
            m.rss_kib_streaming as f64 / 1024.0,
            m.rss_kib_after as f64 / 1024.0,
            m.records
        ));
    }
    out
}

/// One client publishing retained QoS 1 messages on one thread as fast as they are acknowledged;
/// returns acknowledged publishes per second over `window` (after a warm-up). `$mqtt` is rumqttc's
/// MQTT 3.1.1 module (`rumqttc`, its default options) or its MQTT 5 one (`rumqttc::v5`, with
/// `$configure` setting the options the bridge connects with); the loop is the same for both.
macro_rules! bare_client {
    ($mqtt:path, $port:expr, $window:expr, $configure:expr) => {{
        use $mqtt as mqtt;
        let (port, window): (u16, Duration) = ($port, $window);
        let thread = std::thread::spawn(move || -> anyhow::Result<f64> {
            // Where the daemon will run, alone.
            pin_this_thread_to_measured_core();
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            rt.block_on(async move {
                let mut o = mqtt::MqttOptions::new("teslasync-bench-bare", "127.0.0.1", port);
                o.set_keep_alive(Duration::from_secs(30));
                let configure: fn(&mut mqtt::MqttOptions) = $configure;
                configure(&mut o);
                let (client, mut events) = mqtt::AsyncClient::new(o, 1024);
                let acked = Arc::new(AtomicU64::new(0));
                let stop = CancellationToken::new();
                let publisher = {
                    let (client, stop) = (client.clone(), stop.clone());
                    tokio::spawn(async move {
                        let mut n: u64 = 0;
                        while !stop.is_cancelled() {
                            let topic = format!("teslasync-bench-bare/{}", n % 200);
                            let payload = (n % 100).to_string().into_bytes();
                            if client
                                .publish(topic, mqtt::mqttbytes::QoS::AtLeastOnce, true, payload)
                                .await
                                .is_err()
                            {
                                break;
                            }
                            n += 1;
                        }
                    })
                };
                let started = Instant::now();
                let mut measured: Option<(Instant, u64)> = None;
                loop {
                    match events.poll().await {
                        Ok(mqtt::Event::Incoming(mqtt::Incoming::PubAck(_))) => {
                            acked.fetch_add(1, Ordering::Relaxed);
                        }
                        Ok(_) => {}
                        Err(e) => return Err(anyhow!("the bare client lost the broker: {e}")),
                    }
                    let now = Instant::now();
                    match measured {
                        None if now - started >= WARM_UP => {
                            measured = Some((now, acked.load(Ordering::Relaxed)))
                        }
                        Some((t0, a0)) if now - t0 >= window => {
                            stop.cancel();
                            publisher.abort();
                            let n = acked.load(Ordering::Relaxed) - a0;
                            return Ok(n as f64 / (now - t0).as_secs_f64());
                        }
                        _ => {}
                    }
                }
            })
        });
        tokio::task::spawn_blocking(move || thread.join())
            .await?
            .map_err(|_| anyhow!("the bare publisher thread panicked"))?
    }};
}

/// The ceiling of one MQTT client: rumqttc on MQTT 3.1.1 with its defaults (100 publishes in
/// flight).
async fn bare_ceiling(port: u16, window: Duration) -> anyhow::Result<f64> {
    bare_client!(rumqttc, port, window, |_| {})
}

/// The same client on MQTT 5 with the bridge's flow control: as many publishes in flight as the
/// bridge allows itself ([`bridge::OUTGOING_INFLIGHT`]), the bridge's packet limit.
async fn bare_ceiling_as_bridge(port: u16, window: Duration) -> anyhow::Result<f64> {
    bare_client!(rumqttc::v5, port, window, |o| {
        o.set_clean_start(true);
        o.set_outgoing_inflight_upper_limit(bridge::OUTGOING_INFLIGHT);
        o.set_max_packet_size(Some(bridge::MAX_INCOMING_PACKET));
    })
}

/// A simulated Tesla account with `n` cars, served on loopback.
struct Account {
    sim: Sim,
    url: String,
    stop: CancellationToken,
}

impl Account {
    async fn start(n: usize) -> anyhow::Result<Account> {
        let sim = Sim::new(SimConfig {
            vehicles: n,
            ..SimConfig::default()
        });
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}/", listener.local_addr()?);
        let stop = CancellationToken::new();
        tokio::spawn(sim.clone().serve(listener, stop.clone()));
        Ok(Account { sim, url, stop })
    }

    fn stop(self) {
        self.stop.cancel();
    }
}

struct Counters {
    records: AtomicU64,
    /// Cars that have had their first record acknowledged.
    first_acks: tokio::sync::watch::Sender<usize>,
}

impl Default for Counters {
    fn default() -> Self {
        Counters {
            records: AtomicU64::new(0),
            first_acks: tokio::sync::watch::channel(0).0,
        }
    }
}

impl Counters {
    fn records(&self) -> u64 {
        self.records.load(Ordering::Relaxed)
    }
}

/// The daemon under test, a child process.
struct ChildDaemon {
    child: Child,
    dir: PathBuf,
    telemetry: SocketAddr,
    ca_pem: String,
    online: tokio::sync::watch::Receiver<BTreeSet<String>>,
    published: Arc<AtomicU64>,
    _watcher: tokio_util::sync::DropGuard,
}

impl ChildDaemon {
    async fn start(
        account: &Account,
        broker: u16,
        ca: &TestCa,
        name: &str,
    ) -> anyhow::Result<ChildDaemon> {
        let (sim, sim_url) = (&account.sim, account.url.as_str());
        let dir = std::env::temp_dir().join(format!(
            "teslasync-bench-{}-{name}-{:x}",
            std::process::id(),
            rand::random::<u32>()
        ));
        let data = dir.join("data");
        std::fs::create_dir_all(&data)?;
        let ca_file = dir.join("vehicle-ca.pem");
        std::fs::write(&ca_file, ca.pem())?;
        let key = Secret::from(base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            rand::random::<[u8; 32]>(),
        ));
        {
            let store = Store::open(&data, StoreKey::Configured(key.clone()))?;
            Tokens::import_refresh_token(&store, &Secret::from(sim.issue_refresh_token()))?;
            store.flush_async().await?;
        }
        // The server certificate the daemon will load, made here so the cars know its CA.
        let identity =
            crate::tesla::telemetry::certs::load_or_create(&data.join("telemetry"), "localhost")?;
        let telemetry = free_addr()?;
        let base = format!("teslasync-bench-{name}");
        let defaults = SimConfig::default();
        let exe = std::env::current_exe()?;
        let mut cmd = match taskset() {
            Some(taskset) => {
                let mut c = Command::new(taskset);
                c.arg("-c").arg(MEASURED_CORE.to_string()).arg(exe);
                c
            }
            None => Command::new(exe),
        };
        cmd.arg("run")
            .env("TOKIO_WORKER_THREADS", "1")
            .env("TESLASYNC_TESLA__API_BASE_URL", sim_url)
            .env("TESLASYNC_TESLA__AUTH_BASE_URL", sim_url)
            .env("TESLASYNC_TESLA__CLIENT_ID", &defaults.client_id)
            .env("TESLASYNC_TESLA__CLIENT_SECRET", &defaults.client_secret)
            .env("TESLASYNC_STORAGE__PATH", &data)
            .env("TESLASYNC_STORAGE__ENCRYPTION_KEY", key.expose())
            .env("TESLASYNC_MQTT__URL", format!("mqtt://127.0.0.1:{broker}"))
            .env("TESLASYNC_MQTT__CLIENT_ID", &base)
            .env("TESLASYNC_MQTT__BASE_TOPIC", &base)
            .env("TESLASYNC_HTTP__LISTEN", free_addr()?.to_string())
            .env("TESLASYNC_TELEMETRY__ENABLED", "true")
            .env("TESLASYNC_TELEMETRY__LISTEN", telemetry.to_string())
            .env("TESLASYNC_TELEMETRY__HOSTNAME", "localhost")
            .env("TESLASYNC_TELEMETRY__CLIENT_CA_FILE", &ca_file)
            .env("TESLASYNC_LOG__LEVEL", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null());
        // BENCH_DAEMON_LOG=1 shows the daemon's warnings (to see why a run fails).
        if std::env::var_os("BENCH_DAEMON_LOG").is_none() {
            cmd.stderr(Stdio::null());
        }
        let child = cmd.spawn().context("starting the daemon under test")?;
        let (online, published, watcher) = watch_broker(broker, &base)?;
        Ok(ChildDaemon {
            child,
            dir,
            telemetry,
            ca_pem: identity.ca_pem,
            online,
            published,
            _watcher: watcher.drop_guard(),
        })
    }

    /// Starts every car of `account` streaming at `pace` and returns
    /// once each has had a record acknowledged: the daemon has listed the cars and published their
    /// discovery by then, so what follows measures the stream alone.
    async fn stream_cars(
        &self,
        account: &Account,
        ca: &TestCa,
        pace: Pace,
        counters: &Arc<Counters>,
        stop: &CancellationToken,
    ) -> anyhow::Result<()> {
        let vins = account.sim.vins();
        for vin in &vins {
            self.wait_online(vin).await?;
        }
        for vin in &vins {
            let car = BenchCar::new(vin, self, ca, counters.clone());
            tokio::spawn(car.run(pace, stop.clone()));
        }
        let mut acked = counters.first_acks.subscribe();
        tokio::time::timeout(READY_TIMEOUT, acked.wait_for(|n| *n >= vins.len()))
            .await
            .map_err(|_| anyhow!("not every car had a record acknowledged in time"))?
            .map_err(|_| anyhow!("the counters went away"))?;
        Ok(())
    }

    /// Waits until the daemon reports `vin` online (it accepts only cars it has listed).
    async fn wait_online(&self, vin: &str) -> anyhow::Result<()> {
        let mut rx = self.online.clone();
        tokio::time::timeout(READY_TIMEOUT, rx.wait_for(|s| s.contains(vin)))
            .await
            .map_err(|_| anyhow!("the daemon under test did not list {vin} in time"))?
            .map_err(|_| anyhow!("the broker watcher stopped"))?;
        Ok(())
    }

    fn published(&self) -> u64 {
        self.published.load(Ordering::Relaxed)
    }

    /// `VmRSS` of the daemon, KiB.
    fn rss_kib(&self) -> anyhow::Result<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))?;
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .ok_or_else(|| anyhow!("no VmRSS in /proc/{}/status", self.child.id()))
    }

    fn stop(mut self) {
        // SIGTERM lets it shut down in order; it is a bench, so no waiting for more than that.
        let _ = Command::new("kill")
            .arg(self.child.id().to_string())
            .status();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Drop for ChildDaemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Subscribes to everything the daemon publishes under `base`: which cars it reports online, and
/// how many messages it published.
#[allow(clippy::type_complexity)]
fn watch_broker(
    port: u16,
    base: &str,
) -> anyhow::Result<(
    tokio::sync::watch::Receiver<BTreeSet<String>>,
    Arc<AtomicU64>,
    CancellationToken,
)> {
    let o = MqttOptions::new(format!("{base}-watch"), "127.0.0.1", port);
    let (client, mut events) = AsyncClient::new(o, 1024);
    let (tx, rx) = tokio::sync::watch::channel(BTreeSet::new());
    let published = Arc::new(AtomicU64::new(0));
    let stop = CancellationToken::new();
    let (count, stop2, filter) = (published.clone(), stop.clone(), format!("{base}/#"));
    tokio::spawn(async move {
        loop {
            let event = tokio::select! {
                _ = stop2.cancelled() => return,
                e = events.poll() => e,
            };
            match event {
                Ok(Event::Incoming(Packet::ConnAck(_))) => {
                    let _ = client.subscribe(filter.clone(), QoS::AtMostOnce).await;
                }
                Ok(Event::Incoming(Packet::Publish(p))) => {
                    count.fetch_add(1, Ordering::Relaxed);
                    if p.topic.ends_with("/availability") && p.payload.as_ref() == b"online" {
                        if let Some(vin) = p.topic.split('/').nth(1) {
                            let vin = vin.to_string();
                            tx.send_modify(|s| {
                                s.insert(vin);
                            });
                        }
                    }
                }
                Ok(_) => {}
                Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
            }
        }
    });
    Ok((rx, published, stop))
}

/// One streaming car: sends `V` records whose values all change, at a [`Pace`].
struct BenchCar {
    vin: String,
    config: StreamConfig,
    credentials: CarCredentials,
    counters: Arc<Counters>,
}

impl BenchCar {
    fn new(vin: &str, daemon: &ChildDaemon, ca: &TestCa, counters: Arc<Counters>) -> BenchCar {
        BenchCar {
            vin: vin.to_string(),
            config: StreamConfig {
                hostname: "localhost".into(),
                connect_to: daemon.telemetry,
                ca_pem: daemon.ca_pem.clone(),
                fields: Default::default(),
            },
            credentials: ca.issue(vin),
            counters,
        }
    }

    async fn run(self, pace: Pace, stop: CancellationToken) {
        let tls = match tls_connect(&self.config, &self.credentials).await {
            Ok(tls) => tls,
            Err(e) => return eprintln!("bench car {}: TLS failed: {e}", self.vin),
        };
        let url = format!("wss://localhost:{}/", self.config.connect_to.port());
        let ws = match tokio_tungstenite::client_async(url, tls).await {
            Ok((ws, _)) => ws,
            Err(e) => return eprintln!("bench car {}: WebSocket failed: {e}", self.vin),
        };
        let (mut tx, mut rx) = ws.split();
        let mut n: u64 = 0;
        let mut outstanding = 0usize;
        let mut first_acked = false;
        let mut tick = match pace {
            Pace::Every(period) => Some(tokio::time::interval(period)),
            Pace::Window(_) => None,
        };
        loop {
            let may_send = match pace {
                Pace::Every(_) => false,
                Pace::Window(unacked) => outstanding < unacked,
            };
            if may_send {
                n += 1;
                outstanding += 1;
                if tx
                    .send(Message::Binary(self.frame(n).into()))
                    .await
                    .is_err()
                {
                    return;
                }
                continue;
            }
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = async { tick.as_mut().expect("paced").tick().await }, if tick.is_some() => {
                    n += 1;
                    outstanding += 1;
                    if tx.send(Message::Binary(self.frame(n).into())).await.is_err() {
                        return;
                    }
                }
                reply = rx.next() => match reply {
                    Some(Ok(Message::Binary(frame))) => {
                        if let Ok(env) = envelope::parse(&frame) {
                            if matches!(env.message, envelope::Message::Ack) {
                                outstanding = outstanding.saturating_sub(1);
                                self.counters.records.fetch_add(1, Ordering::Relaxed);
                                if !first_acked {
                                    first_acked = true;
                                    self.counters.first_acks.send_modify(|n| *n += 1);
                                }
                            }
                        }
                    }
                    Some(Ok(_)) => {}
                    _ => return,
                },
            }
        }
    }

    /// Record `n`: every value differs from record `n - 1`'s as published (whole numbers).
    fn frame(&self, n: u64) -> Vec<u8> {
        let x = (n % 50) as f64;
        let d = |f: Field, v: V| Datum {
            key: f as i32,
            value: Some(Value { value: Some(v) }),
        };
        let doubles = [
            (Field::BatteryLevel, 40.0),
            (Field::Soc, 39.0),
            (Field::EstBatteryRange, 150.0),
            (Field::IdealBatteryRange, 160.0),
            (Field::RatedRange, 155.0),
            (Field::Odometer, 15_000.0),
            (Field::VehicleSpeed, 20.0),
            (Field::InsideTemp, 10.0),
            (Field::OutsideTemp, 5.0),
            (Field::GpsHeading, 90.0),
            (Field::AcChargingPower, 1.0),
            (Field::ChargerVoltage, 200.0),
            (Field::ChargeAmps, 6.0),
            (Field::PackVoltage, 350.0),
            (Field::PackCurrent, 10.0),
            (Field::LateralAcceleration, 0.0),
            (Field::LongitudinalAcceleration, 1.0),
            (Field::DcChargingPower, 2.0),
            (Field::EnergyRemaining, 30.0),
        ];
        let mut data: Vec<Datum> = doubles
            .iter()
            .map(|(f, base)| d(*f, V::DoubleValue(base + x)))
            .collect();
        data.push(d(
            Field::Location,
            V::LocationValue(LocationValue {
                latitude: 52.0 + x * 0.001,
                longitude: 4.0 + x * 0.001,
            }),
        ));
        debug_assert_eq!(data.len(), DATUMS);
        let payload = Payload {
            data,
            created_at: None,
            vin: String::new(),
            is_resend: false,
        }
        .encode_to_vec();
        let txid = format!("{}-{n}", self.vin);
        envelope::data_frame(
            txid.as_bytes(),
            b"V",
            txid.as_bytes(),
            &Stream {
                created_at: 0,
                sender_id: format!("vehicle_device.{}", self.vin).as_bytes(),
                payload: &payload,
                device_type: b"vehicle_device",
                device_id: self.vin.as_bytes(),
                delivered_at_epoch_ms: 0,
            },
        )
    }
}

/// A private Mosquitto on a free loopback port, stopped (and its files removed) on drop.
struct Mosquitto {
    child: Child,
    port: u16,
    dir: PathBuf,
}

impl Mosquitto {
    fn start() -> anyhow::Result<Mosquitto> {
        let dir = std::env::temp_dir().join(format!(
            "teslasync-bench-mosquitto-{}-{:x}",
            std::process::id(),
            rand::random::<u32>()
        ));
        std::fs::create_dir_all(&dir)?;
        let port = free_addr()?.port();
        let conf = dir.join("mosquitto.conf");
        std::fs::write(
            &conf,
            format!(
                "listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n\
                 log_dest stderr\nlog_type error\nlog_type warning\nlog_type notice\nlog_type information\n"
            ),
        )?;
        let mut child = Command::new("mosquitto")
            .arg("-c")
            .arg(&conf)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .context("starting mosquitto (install it: apt-get install mosquitto)")?;
        let stderr = child.stderr.take().expect("piped");
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut ready = Some(ready_tx);
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if line.ends_with(" running") {
                    if let Some(tx) = ready.take() {
                        let _ = tx.send(());
                    }
                }
            }
        });
        let broker = Mosquitto { child, port, dir };
        ready_rx
            .recv_timeout(Duration::from_secs(10))
            .map_err(|_| anyhow!("mosquitto did not start"))?;
        Ok(broker)
    }
}

impl Drop for Mosquitto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A loopback address nobody listens on right now.
fn free_addr() -> anyhow::Result<SocketAddr> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?)
}

/// Pins every thread of this process (and so what it starts later) to the cores other than
/// [`MEASURED_CORE`], so the broker and the simulated cars never take the measured client's core.
/// False when that cannot be done (no `taskset`, one core).
fn keep_off_measured_core() -> bool {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let Some(taskset) = taskset().filter(|_| cores >= 2) else {
        return false;
    };
    let others = format!("{}-{}", MEASURED_CORE + 1, cores - 1);
    Command::new(taskset)
        .args(["-a", "-p", "-c", &others, &std::process::id().to_string()])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Pins the calling thread to [`MEASURED_CORE`] (best effort: the report says whether the run was
/// pinned).
fn pin_this_thread_to_measured_core() {
    // "<pid>/task/<tid>": the thread's id, which taskset takes like a process id.
    let tid = std::fs::read_link("/proc/thread-self")
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()));
    if let (Some(taskset), Some(tid)) = (taskset(), tid) {
        let _ = Command::new(taskset)
            .args(["-p", "-c", &MEASURED_CORE.to_string(), &tid])
            .stdout(Stdio::null())
            .status();
    }
}

/// `taskset`, if installed.
fn taskset() -> Option<&'static Path> {
    ["/usr/bin/taskset", "/bin/taskset"]
        .into_iter()
        .map(Path::new)
        .find(|p| p.exists())
}
