//! Fleet Telemetry end to end: simulated cars stream over mutual TLS to the daemon's receiver, whose
//! records reach Home Assistant's broker; unknown CAs are refused; a broker outage delays the ack
//! instead of losing the record; malformed frames get the reference replies while other cars keep
//! streaming.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::*;
use teslasync::daemon::StartOptions;
use teslasync::sim::telemetry::{StreamConfig, StreamHandle, TestCa};
use teslasync::sim::SimConfig;
use teslasync::tesla::telemetry::envelope;
use teslasync::vehicle::signal::{Signal, Value};
use tokio_tungstenite::tungstenite::Message;

/// A world whose daemon runs the telemetry receiver (on a loopback port) and trusts `ca`.
struct Streaming {
    world: World,
    ca: TestCa,
}

impl Streaming {
    async fn start(mqtt_port: Option<u16>) -> Streaming {
        Streaming::start_paired(mqtt_port, &[]).await
    }

    /// Like [`Streaming::start`], with TeslaSync's command key paired on `paired` before the
    /// daemon starts (so its start-up config push reaches them).
    async fn start_paired(mqtt_port: Option<u16>, paired: &[&str]) -> Streaming {
        let ca = TestCa::new("TeslaSync test vehicle CA");
        let sim = SimServer::start(SimConfig {
            clock: manual_clock(),
            ..SimConfig::default()
        })
        .await;
        let mut setup = Setup::new(&sim);
        let ca_file = setup.dir.path().join("test-vehicle-ca.pem");
        std::fs::write(&ca_file, ca.pem()).unwrap();
        setup.cfg.telemetry.enabled = true;
        setup.cfg.telemetry.hostname = Some("localhost".into());
        setup.cfg.telemetry.client_ca_file = Some(ca_file);
        if let Some(port) = mqtt_port {
            setup.cfg.mqtt.url = url::Url::parse(&format!("mqtt://127.0.0.1:{port}")).unwrap();
        }
        setup.sign_in(&sim);
        if !paired.is_empty() {
            let key_path = teslasync::keys::default_path(&setup.cfg.storage.path);
            let (key, _) = teslasync::keys::CommandKey::load_or_create(&key_path).unwrap();
            sim.sim
                .register_app_key("tesla.example.com", &key.public_key_bytes());
            for vin in paired {
                sim.sim.pair_app_key(vin).unwrap();
            }
        }
        let filters = [
            format!("{}/#", setup.base()),
            format!("{}/#", setup.prefix()),
        ];
        let probe = match mqtt_port {
            Some(port) => Probe::start_on(port, &setup.broker, &filters).await,
            None => setup.probe(&filters).await,
        };
        let http = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let telemetry = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let running = Running::start_with(
            &setup.cfg,
            StartOptions {
                clock: sim.sim.clock(),
                http_listener: Some(http),
                telemetry_listener: Some(telemetry),
                ..StartOptions::default()
            },
        )
        .await;
        let world = World {
            sim,
            setup,
            probe,
            running,
        };
        // The receiver accepts only the account's cars: wait until the vehicle list was read.
        for vin in [MODEL_Y, MODEL_S] {
            world
                .probe
                .wait_text(&world.topic(vin, "availability"), "online")
                .await;
        }
        Streaming { world, ca }
    }

    fn config(&self, fields: &[(&str, u64)]) -> StreamConfig {
        let receiver = self
            .world
            .running
            .daemon()
            .telemetry()
            .expect("receiver runs");
        StreamConfig {
            hostname: "localhost".into(),
            connect_to: receiver.addr,
            ca_pem: receiver.ca_pem.clone(),
            fields: fields
                .iter()
                .map(|(f, secs)| (f.to_string(), Duration::from_secs(*secs)))
                .collect::<BTreeMap<_, _>>(),
        }
    }

    /// Car `vin` streams with a certificate from the trusted test CA.
    fn stream(&self, vin: &str, fields: &[(&str, u64)]) -> StreamHandle {
        self.world
            .sim
            .sim
            .stream(vin, self.config(fields), self.ca.issue(vin))
    }
}

const FIELDS: &[(&str, u64)] = &[
    ("BatteryLevel", 1),
    ("Gear", 1),
    ("VehicleSpeed", 1),
    ("Locked", 1),
    ("DoorState", 1),
    ("TpmsPressureFl", 1),
    ("DetailedChargeState", 1),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_streaming_car_reaches_home_assistant_under_its_certificates_vin() {
    let s = Streaming::start(None).await;
    let w = &s.world;
    let car = s.stream(MODEL_Y, FIELDS);
    car.wait_for(TIMEOUT, |st| st.acked >= 1).await.unwrap();
    let health = w.running.daemon().stream().get(MODEL_Y).unwrap();
    assert!(health.connected && health.records >= 1, "{health:?}");
    assert_eq!(health.rejected, 0);
    // The car said it streams over Wi-Fi (its X-Network-Interface header).
    w.probe.wait_text(&w.topic(MODEL_Y, "wifi"), "ON").await;
    w.probe
        .wait_text(&w.topic(MODEL_Y, "cellular"), "OFF")
        .await;

    // The car starts driving: only the stream can tell (no vehicle_data is due on this clock).
    w.sim.sim.act(MODEL_Y, "drive").unwrap();
    w.sim.sim.advance(Duration::from_secs(1)).unwrap();
    w.probe
        .wait_text(&w.topic(MODEL_Y, "drive_state_shift_state"), "d")
        .await;
    w.probe
        .wait_text(&w.topic(MODEL_Y, "drive_state_speed"), "30")
        .await;
    // Tyre pressure streams in atm and is published in bar like vehicle_data's.
    w.probe
        .wait_text(&w.topic(MODEL_Y, "vehicle_state_tpms_pressure_fl"), "2.9")
        .await;
    let rec = w.running.daemon().hub().get(MODEL_Y).unwrap();
    assert_eq!(
        rec.signals.get(&Signal::Gear),
        Some(&Value::Text("D".into()))
    );

    // The VIN is the certificate's: a frame that claims another car lands on the certificate's.
    let other = s.stream(MODEL_S, &[]);
    other.wait_for(TIMEOUT, |st| st.connected).await.unwrap();
    let payload = hex::decode(
        // Payload { data: [Datum { key: BatteryLevel(42), value: { int_value: 17 } }], vin: MODEL_Y }
        "0a06082a12021011".to_string() + "1a11" + &hex::encode(MODEL_Y),
    )
    .unwrap();
    let frame = envelope::data_frame(
        b"spoof-1",
        b"V",
        b"",
        &envelope::Stream {
            sender_id: format!("vehicle_device.{MODEL_Y}").as_bytes(),
            device_id: MODEL_Y.as_bytes(),
            payload: &payload,
            ..envelope::Stream::default()
        },
    );
    other.raw(Message::Binary(frame.into()));
    other
        .wait_for(TIMEOUT, |st| st.acks_received >= 1)
        .await
        .unwrap();
    w.probe
        .wait_text(&w.topic(MODEL_S, "charge_state_battery_level"), "17")
        .await;
    let y = w.running.daemon().hub().get(MODEL_Y).unwrap();
    assert_ne!(y.signals.get(&Signal::BatteryLevel), Some(&Value::Int(17)));

    // Alerts and client errors become events on the car's event topic.
    car.alert("Thermal_Alert", true);
    car.error("unsupported_field", &[("field_name", "Foo")]);
    let alert = w
        .probe
        .wait(&w.topic(MODEL_Y, "event"), |m| {
            m.json()["kind"] == "vehicle_alert"
        })
        .await;
    assert!(alert.json()["message"]
        .as_str()
        .unwrap()
        .contains("Thermal_Alert active"));
    // The "Vehicle alert" event entity fires on exactly these messages, which are not retained
    // (an event must not fire again when Home Assistant restarts).
    assert!(!alert.retained);
    let device = w
        .probe
        .last(&format!(
            "{}/device/teslasync_{MODEL_Y}/config",
            w.setup.prefix()
        ))
        .expect("the device's discovery config")
        .json();
    let entity = &device["components"]["vehicle_alert"];
    assert_eq!(entity["platform"], "event");
    assert_eq!(entity["state_topic"], w.topic(MODEL_Y, "event").as_str());
    assert_eq!(entity["event_types"], serde_json::json!(["vehicle_alert"]));
    let error = w
        .probe
        .wait(&w.topic(MODEL_Y, "event"), |m| {
            m.json()["kind"] == "telemetry_error"
        })
        .await;
    assert!(error.json()["message"]
        .as_str()
        .unwrap()
        .contains("field_name=Foo"));

    // Asleep, the car closes its connection.
    w.sim.sim.act(MODEL_Y, "park").unwrap();
    w.sim.sim.act(MODEL_Y, "sleep").unwrap();
    w.sim.sim.advance(Duration::from_secs(1)).unwrap();
    car.wait_for(TIMEOUT, |st| !st.connected).await.unwrap();
    let mut changes = w.running.daemon().stream().subscribe();
    tokio::time::timeout(
        TIMEOUT,
        changes.wait_for(|_| !w.running.daemon().stream().get(MODEL_Y).unwrap().connected),
    )
    .await
    .expect("the receiver saw the car go")
    .unwrap();
    // A closed stream is on no network.
    w.probe.wait_text(&w.topic(MODEL_Y, "wifi"), "OFF").await;
    drop((car, other));
    s.world.running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_from_an_unknown_ca_is_refused() {
    let s = Streaming::start(None).await;
    let stranger = TestCa::new("Not Tesla");
    let car = s
        .world
        .sim
        .sim
        .stream(MODEL_Y, s.config(FIELDS), stranger.issue(MODEL_Y));
    let stats = car
        .wait_for(TIMEOUT, |st| st.connect_failures >= 1)
        .await
        .unwrap();
    assert_eq!((stats.connections, stats.acked), (0, 0));
    assert!(s.world.running.daemon().stream().get(MODEL_Y).is_none());
    drop(car);
    s.world.running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_frames_get_the_reference_replies_and_other_cars_keep_streaming() {
    let s = Streaming::start(None).await;
    let w = &s.world;
    let good = s.stream(MODEL_Y, FIELDS);
    good.wait_for(TIMEOUT, |st| st.acked >= 1).await.unwrap();
    let bad = s.stream(MODEL_S, &[]);
    bad.wait_for(TIMEOUT, |st| st.connected).await.unwrap();

    let wrap = |payload: &[u8]| {
        envelope::data_frame(
            b"bad",
            b"V",
            b"",
            &envelope::Stream {
                payload,
                ..envelope::Stream::default()
            },
        )
    };
    let valid = wrap(&[]);
    // Truncated FlatBuffers, garbage protobuf, and a frame over Tesla's 1 000 000 bytes (but under
    // the WebSocket limit) each get the error reply.
    bad.raw(Message::Binary(valid[..valid.len() / 2].to_vec().into()));
    bad.raw(Message::Binary(wrap(&[0xff, 0xff, 0xff, 0xff]).into()));
    bad.raw(Message::Binary(vec![0u8; 1_000_100].into()));
    let stats = bad
        .wait_for(TIMEOUT, |st| st.error_replies >= 3)
        .await
        .unwrap();
    assert_eq!(stats.acks_received, 0);
    // A wrong union type is acknowledged and dropped, as Tesla's server does.
    let mut ack = envelope::ack(b"odd", b"V");
    bad.raw(Message::Binary(std::mem::take(&mut ack).into()));
    bad.wait_for(TIMEOUT, |st| st.acks_received >= 1)
        .await
        .unwrap();
    let health = w.running.daemon().stream().get(MODEL_S).unwrap();
    assert_eq!(health.rejected, 3, "{health:?}");

    // A text frame and an oversize frame each close the connection; the car reconnects.
    bad.raw(Message::Text("hello".into()));
    bad.wait_for(TIMEOUT, |st| st.connections >= 2)
        .await
        .unwrap();
    bad.raw(Message::Binary(vec![0u8; 2 << 20].into()));
    bad.wait_for(TIMEOUT, |st| st.connections >= 3)
        .await
        .unwrap();

    // Meanwhile the other car is still served.
    let before = good.stats().acked;
    w.sim.sim.act(MODEL_Y, "drive").unwrap();
    w.sim.sim.advance(Duration::from_secs(1)).unwrap();
    good.wait_for(TIMEOUT, |st| st.acked > before)
        .await
        .unwrap();
    w.probe
        .wait_text(&w.topic(MODEL_Y, "drive_state_shift_state"), "d")
        .await;
    drop((good, bad));
    s.world.running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_car_that_hangs_up_without_a_close_frame_is_not_a_refused_frame() {
    let s = Streaming::start(None).await;
    let w = &s.world;
    let car = s.stream(MODEL_Y, FIELDS);
    car.wait_for(TIMEOUT, |st| st.acked >= 1).await.unwrap();
    // The simulated car stops: its connection closes with neither a WebSocket close frame nor a
    // TLS close_notify, as when a car loses coverage.
    drop(car);
    stream_state(w, |h| h.get(MODEL_Y).is_some_and(|c| !c.connected)).await;
    let health = w.running.daemon().stream().get(MODEL_Y).unwrap();
    assert_eq!(health.rejected, 0, "{health:?}");
    assert_eq!(health.last_rejection, None);
    s.world.running.stop().await;
}

/// A Mosquitto of this test's own, on a free port, so it can be stopped and started again.
struct OwnBroker {
    port: u16,
    child: Option<std::process::Child>,
}

impl OwnBroker {
    fn start() -> OwnBroker {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut broker = OwnBroker { port, child: None };
        broker.restart();
        broker
    }

    fn restart(&mut self) {
        let child = std::process::Command::new("mosquitto")
            .args(["-p", &self.port.to_string()])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("mosquitto is installed");
        self.child = Some(child);
        let addr = format!("127.0.0.1:{}", self.port);
        for _ in 0..200 {
            if std::net::TcpStream::connect(&addr).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        panic!("mosquitto did not start on {addr}");
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for OwnBroker {
    fn drop(&mut self) {
        self.stop();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_is_acked_only_once_the_broker_has_it() {
    init_test_logging();
    let mut broker = OwnBroker::start();
    let s = Streaming::start(Some(broker.port)).await;
    let w = &s.world;
    let car = s.stream(MODEL_Y, FIELDS);
    car.wait_for(TIMEOUT, |st| st.acked >= 1 && st.unacked == 0)
        .await
        .unwrap();

    broker.stop();
    let gear_reaches_the_hub = |gear: &'static str| async move {
        let hub = w.running.daemon().hub();
        let mut hub_events = hub.subscribe();
        tokio::time::timeout(TIMEOUT, async {
            loop {
                let now = hub
                    .get(MODEL_Y)
                    .unwrap()
                    .signals
                    .get(&Signal::Gear)
                    .cloned();
                if now == Some(Value::Text(gear.into())) {
                    return;
                }
                let _ = hub_events.recv().await;
            }
        })
        .await
        .unwrap_or_else(|_| panic!("the record with gear {gear} reached the hub"));
    };
    w.sim.sim.act(MODEL_Y, "drive").unwrap();
    w.sim.sim.advance(Duration::from_secs(1)).unwrap();
    // The receiver took the record in (the hub has it) but did not ack it.
    gear_reaches_the_hub("D").await;
    let stats = car.stats();
    assert_eq!(stats.unacked, 1, "{stats:?}");
    // It reads on while that record waits for the broker (a receiver that waited would take the
    // next record only after giving up on this one, 30 s later): the next record is in the hub
    // too, and neither is acked.
    w.sim.sim.act(MODEL_Y, "park").unwrap();
    w.sim.sim.advance(Duration::from_secs(1)).unwrap();
    gear_reaches_the_hub("P").await;
    let stats = car.stats();
    assert_eq!(stats.unacked, 2, "{stats:?}");

    // The broker returns: the bridge republishes, the broker confirms, the car gets both acks,
    // and Home Assistant sees the newer state.
    broker.restart();
    car.wait_for(Duration::from_secs(25), |st| st.unacked == 0)
        .await
        .expect("acked after the broker came back");
    let probe = Probe::start_on(
        broker.port,
        &w.setup.broker,
        &[format!("{}/#", w.setup.base())],
    )
    .await;
    probe
        .wait_text(&w.topic(MODEL_Y, "drive_state_shift_state"), "p")
        .await;
    drop(car);
    s.world.running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn configure_signs_the_profile_and_the_car_accepts_it_only_with_the_paired_key() {
    use teslasync::keys::{self, CommandKey};
    use teslasync::tesla::telemetry::{configure, profile};
    let s = Streaming::start(None).await;
    let w = &s.world;
    let key_path = keys::default_path(&w.setup.cfg.storage.path);
    let (key, _) = CommandKey::load_or_create(&key_path).unwrap();
    w.sim
        .sim
        .pair_key(MODEL_Y, &key.public_key_bytes())
        .unwrap();
    let receiver = w.running.daemon().telemetry().unwrap();
    let config = profile::config("localhost", 4443, &receiver.ca_pem, profile::PROFILE);
    let fleet = w.running.daemon().account().fleet();
    let results = configure(
        fleet,
        &key.protocol_key(),
        &[MODEL_Y.to_string(), MODEL_S.to_string()],
        &config,
    )
    .await
    .unwrap();
    let y = &results[0];
    assert_eq!(y.skipped, None);
    assert!(y.status.as_ref().unwrap().active(), "{y:?}");
    // Model S never paired this key: Tesla skips it and it holds no config.
    assert_eq!(results[1].skipped.as_deref(), Some("missing_key"));
    assert!(!results[1].status.as_ref().unwrap().active());
    // What the car holds is what was signed, verified by the car's own check.
    let held = w.sim.sim.telemetry_config(MODEL_Y).unwrap();
    assert_eq!(held["hostname"], "localhost");
    assert_eq!(held["port"], 4443);
    assert_eq!(held["ca"], receiver.ca_pem.as_str());
    assert_eq!(held["fields"]["Locked"]["interval_seconds"], 5);

    // A token whose claims were changed after signing is refused.
    let token = teslasync::tesla::command::jws::sign_fleet_telemetry_config(
        &key.protocol_key(),
        &profile::config("evil.example.com", 443, "PEM", profile::PROFILE),
    )
    .unwrap();
    let mut parts: Vec<String> = token.split('.').map(str::to_string).collect();
    let other = teslasync::tesla::command::jws::sign_fleet_telemetry_config(
        &key.protocol_key(),
        &profile::config("localhost", 443, "PEM", profile::PROFILE),
    )
    .unwrap();
    parts[1] = other.split('.').nth(1).unwrap().to_string();
    let tampered = parts.join(".");
    assert!(fleet
        .fleet_telemetry_config_jws(&[MODEL_Y.to_string()], &tampered)
        .await
        .is_err());
    assert_eq!(w.sim.sim.telemetry_config(MODEL_Y).unwrap()["port"], 4443);
    s.world.running.stop().await;
}

/// Waits until an `event` message of `kind` has arrived for `vin` (any, not only the latest).
async fn event(w: &World, vin: &str, kind: &str) -> serde_json::Value {
    let topic = w.topic(vin, "event");
    let mut n = 1;
    loop {
        let all = w.probe.wait_count(&topic, n).await;
        if let Some(m) = all.iter().find(|m| m.json()["kind"] == kind) {
            return m.json();
        }
        n = all.len() + 1;
    }
}

/// Waits until the stream health (`StreamHealth`) satisfies `pred`.
async fn stream_state(w: &World, pred: impl Fn(&teslasync::vehicle::stream::StreamHealth) -> bool) {
    let stream = w.running.daemon().stream().clone();
    let mut changes = stream.subscribe();
    tokio::time::timeout(TIMEOUT, changes.wait_for(|_| pred(&stream)))
        .await
        .expect("stream state reached in time")
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daemon_pushes_the_config_at_start_and_reports_a_car_that_never_streams() {
    let s = Streaming::start_paired(None, &[MODEL_Y]).await;
    let w = &s.world;
    let status = |vin| w.topic(vin, "telemetry_status");
    // At start: one push for the paired car, read back, shown as diagnostics.
    w.probe.wait_text(&status(MODEL_Y), "synced").await;
    w.probe
        .wait_text(&w.topic(MODEL_Y, "telemetry_config_synced"), "ON")
        .await;
    w.probe
        .wait_text(&w.topic(MODEL_Y, "telemetry_limit_reached"), "OFF")
        .await;
    w.probe.wait_text(&status(MODEL_S), "missing_key").await;
    let held = w
        .sim
        .sim
        .telemetry_config(MODEL_Y)
        .expect("the car holds the config");
    assert_eq!(held["hostname"], "localhost");
    assert_eq!(
        held["ca"],
        w.running.daemon().telemetry().unwrap().ca_pem.as_str()
    );
    assert!(w.sim.sim.telemetry_config(MODEL_S).is_none());
    let calls = w.sim.sim.telemetry_account();
    assert_eq!(
        (calls.pushes, calls.config_reads, calls.error_reads),
        (1, 1, 1)
    );

    // Synced and online (driving), but nothing arrives: reported once, with Tesla's errors.
    w.sim.sim.telemetry_error(
        MODEL_Y,
        "tls: handshake failure connecting to localhost:4443",
    );
    w.sim.sim.act(MODEL_Y, "drive").unwrap();
    stream_state(w, |s| s.online_since(MODEL_Y).is_some()).await;
    w.sim.sim.advance(Duration::from_secs(11 * 60)).unwrap();
    let silent = event(w, MODEL_Y, "telemetry_silent").await;
    assert!(
        silent["message"]
            .as_str()
            .unwrap()
            .contains("handshake failure"),
        "{silent}"
    );
    w.probe.wait_text(&status(MODEL_Y), "silent").await;
    w.probe
        .wait_text(
            &w.topic(MODEL_Y, "telemetry_errors"),
            "tls: handshake failure connecting to localhost:4443",
        )
        .await;

    // It starts streaming: recovered, and the poller leaves it to the stream.
    let car = s.stream(MODEL_Y, FIELDS);
    car.wait_for(TIMEOUT, |st| st.acked >= 1).await.unwrap();
    w.sim.sim.advance(Duration::from_secs(60)).unwrap();
    w.probe.wait_text(&status(MODEL_Y), "streaming").await;
    event(w, MODEL_Y, "recovered").await;

    // The stream stops while the car stays online: after the silent period the poller buys
    // vehicle_data again.
    drop(car);
    stream_state(w, |s| s.get(MODEL_Y).is_some_and(|c| !c.connected)).await;
    let polled = w.sim.sim.billing().by_vin[MODEL_Y].data;
    w.sim.sim.advance(Duration::from_secs(6 * 60)).unwrap();
    let billing = w.sim.sim.clone();
    tokio::time::timeout(TIMEOUT, async {
        let mut clock = w.running.daemon().poll_status();
        while billing.billing().by_vin[MODEL_Y].data <= polled {
            clock.changed().await.unwrap();
        }
    })
    .await
    .expect("the poller takes over from the silent stream");
    let calls_before_restart = w.sim.sim.telemetry_account();

    // A restart pays for nothing: the car synced this very config.
    let Streaming { world, .. } = s;
    let World {
        sim,
        setup,
        probe,
        running,
    } = world;
    running.stop().await;
    let running = Running::start_with(
        &setup.cfg,
        StartOptions {
            clock: sim.sim.clock(),
            http_listener: Some(tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap()),
            telemetry_listener: Some(tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap()),
            ..StartOptions::default()
        },
    )
    .await;
    let w = World {
        sim,
        setup,
        probe,
        running,
    };
    w.probe
        .wait_text(&w.topic(MODEL_Y, "telemetry_status"), "synced")
        .await;
    let calls = w.sim.sim.telemetry_account();
    assert_eq!(
        (calls.pushes, calls.config_reads),
        (
            calls_before_restart.pushes,
            calls_before_restart.config_reads
        )
    );
    w.running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_status_answers_mtls_ok_to_a_car_certificate() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let s = Streaming::start(None).await;
    let mut tls = teslasync::sim::telemetry::tls_connect(&s.config(&[]), &s.ca.issue(MODEL_Y))
        .await
        .expect("a car certificate is accepted");
    tls.write_all(b"GET /status HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut reply = String::new();
    tokio::time::timeout(TIMEOUT, tls.read_to_string(&mut reply))
        .await
        .expect("the receiver answers")
        .unwrap();
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
    assert!(reply.ends_with("mtls ok"), "{reply}");
    s.world.running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstream_mode_reads_the_official_servers_mqtt_output_into_the_same_entities() {
    use rumqttc::QoS;
    let upstream_base = unique("fleet-telemetry");
    let w = World::start_with(
        SimConfig {
            clock: manual_clock(),
            ..SimConfig::default()
        },
        |setup, _| {
            setup.cfg.telemetry.enabled = true;
            setup.cfg.telemetry.mode = teslasync::config::TelemetryMode::Upstream;
            // Tesla's server publishes to the same broker here (`upstream_url` unset).
            setup.cfg.telemetry.upstream_topic_base = upstream_base.clone();
        },
    )
    .await;
    w.probe
        .wait_text(&w.topic(MODEL_Y, "availability"), "online")
        .await;
    let v = |field: &str| format!("{upstream_base}/{MODEL_Y}/v/{field}");
    // The first value is retained, so it arrives however late the daemon subscribes.
    let publish = |topic: String, payload: &'static str, retain: bool| {
        let client = w.probe.client.clone();
        async move {
            client
                .publish(topic, QoS::AtLeastOnce, retain, payload.as_bytes().to_vec())
                .await
                .unwrap()
        }
    };
    publish(v("BatteryLevel"), "55", true).await;
    w.probe
        .wait_text(&w.topic(MODEL_Y, "charge_state_battery_level"), "55")
        .await;
    publish(v("BatteryLevel"), "", true).await;
    // Each form the official server writes: enum full names, numbers as text, atm, doors.
    publish(v("Gear"), "\"ShiftStateR\"", false).await;
    publish(v("VehicleSpeed"), "\"31.4\"", false).await;
    publish(v("TpmsPressureFl"), "2.9", false).await;
    publish(
        v("DoorState"),
        r#"{"DriverFront":false,"PassengerFront":false,"DriverRear":false,"PassengerRear":false,"TrunkFront":true,"TrunkRear":false}"#,
        false,
    )
    .await;
    publish(
        format!("{upstream_base}/{MODEL_Y}/alerts/Thermal_Alert/current"),
        r#"{"StartedAt":"2026-11-30T04:58:44Z","Audiences":["Customer"]}"#,
        false,
    )
    .await;
    // Another account's car and garbage are dropped; the stream goes on.
    publish(
        format!("{upstream_base}/5YJ3E1EA7KF999999/v/BatteryLevel"),
        "1",
        false,
    )
    .await;
    publish(v("BatteryLevel"), "{not json", false).await;
    publish(v("BatteryLevel"), "61", false).await;
    w.probe
        .wait_text(&w.topic(MODEL_Y, "drive_state_shift_state"), "r")
        .await;
    w.probe
        .wait_text(&w.topic(MODEL_Y, "drive_state_speed"), "31")
        .await;
    w.probe
        // 2.9 atm, not the 2.9 bar the poll reported at start.
        .wait_text(&w.topic(MODEL_Y, "vehicle_state_tpms_pressure_fl"), "2.94")
        .await;
    w.probe
        .wait_text(&w.topic(MODEL_Y, "charge_state_battery_level"), "61")
        .await;
    let alert = event(&w, MODEL_Y, "vehicle_alert").await;
    assert!(alert["message"]
        .as_str()
        .unwrap()
        .contains("Thermal_Alert active"));
    let rec = w.running.daemon().hub().get(MODEL_Y).unwrap();
    assert_eq!(
        rec.signals.get(&Signal::TrunkFront),
        Some(&Value::Bool(true))
    );
    // Seven messages taken in (the alert too), the garbage one refused.
    stream_state(&w, |s| {
        s.get(MODEL_Y)
            .is_some_and(|c| c.records == 7 && c.rejected == 1)
    })
    .await;
    assert!(w
        .running
        .daemon()
        .stream()
        .is_healthy(MODEL_Y, w.sim.sim.clock().now()));
    assert!(w.running.daemon().hub().get("5YJ3E1EA7KF999999").is_none());
    w.running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_car_paired_after_start_gets_the_config_then_and_only_once() {
    let s = Streaming::start(None).await;
    let w = &s.world;
    let status = w.topic(MODEL_Y, "telemetry_status");
    w.probe.wait_text(&status, "missing_key").await;
    assert_eq!(
        w.sim.sim.telemetry_account().pushes,
        0,
        "nothing to push to"
    );

    // The owner pairs the key; the status page's re-check reads fleet_status again.
    let key_path = teslasync::keys::default_path(&w.setup.cfg.storage.path);
    let key = teslasync::keys::CommandKey::load(&key_path).unwrap();
    w.sim
        .sim
        .register_app_key("tesla.example.com", &key.public_key_bytes());
    w.sim.sim.pair_app_key(MODEL_Y).unwrap();
    w.running.daemon().recheck_pairing();
    w.probe
        .wait_text(&w.topic(MODEL_Y, "key_paired"), "ON")
        .await;
    w.sim.sim.advance(Duration::from_secs(60)).unwrap();
    w.probe.wait_text(&status, "synced").await;
    assert!(w.sim.sim.telemetry_config(MODEL_Y).is_some());
    assert_eq!(w.sim.sim.telemetry_account().pushes, 1);
    // Later minutes ask nothing more of Tesla.
    let before = w.sim.sim.telemetry_account();
    let mut cycles = w.running.daemon().poll_status();
    for _ in 0..3 {
        w.sim.sim.advance(Duration::from_secs(60)).unwrap();
        tokio::time::timeout(TIMEOUT, cycles.changed())
            .await
            .unwrap()
            .unwrap();
    }
    assert_eq!(w.sim.sim.telemetry_account(), before);
    s.world.running.stop().await;
}
