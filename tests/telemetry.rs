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
    w.sim.sim.act(MODEL_Y, "drive").unwrap();
    w.sim.sim.advance(Duration::from_secs(1)).unwrap();
    // The receiver took the record in (the hub has it) but did not ack it.
    let mut hub_events = w.running.daemon().hub().subscribe();
    tokio::time::timeout(TIMEOUT, async {
        loop {
            let gear = w
                .running
                .daemon()
                .hub()
                .get(MODEL_Y)
                .unwrap()
                .signals
                .get(&Signal::Gear)
                .cloned();
            if gear == Some(Value::Text("D".into())) {
                return;
            }
            let _ = hub_events.recv().await;
        }
    })
    .await
    .expect("the record reached the hub");
    let stats = car.stats();
    assert_eq!(stats.unacked, 1, "{stats:?}");

    // The broker returns: the bridge republishes, the broker confirms, the car gets its ack.
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
        .wait_text(&w.topic(MODEL_Y, "drive_state_shift_state"), "d")
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
