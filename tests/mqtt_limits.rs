//! Hostile MQTT input against the bridge: messages too large for the bridge or its client, retained
//! commands (first live delivery and replay), unknown cars and non-UTF-8 payloads. The bridge stays
//! connected (its `online` status is published once), nothing reaches Tesla, and every attempt that
//! names an id gets its `command/result`.

mod common;

use common::*;
use rumqttc::v5::mqttbytes::v5::{Packet, PublishProperties};
use rumqttc::v5::mqttbytes::QoS;
use rumqttc::v5::{AsyncClient, Event, MqttOptions};
use teslasync::sim::SimConfig;
use tokio_util::sync::CancellationToken;

/// A test world whose probe sees only what the bridge answers (status, results, events): the probe
/// is a 3.1.1 client with a 1 MiB limit and must not be sent the oversize messages itself.
struct Bench {
    sim: SimServer,
    setup: Setup,
    probe: Probe,
    running: Option<Running>,
    publisher: Publisher,
}

impl Bench {
    async fn start() -> Bench {
        let sim = SimServer::start(SimConfig::default()).await;
        let setup = Setup::new(&sim);
        setup.sign_in(&sim);
        let base = setup.base().to_string();
        let probe = setup
            .probe(&[
                format!("{base}/status"),
                format!("{base}/event"),
                format!("{base}/+/event"),
                format!("{base}/+/command/result"),
                format!("{base}/{MODEL_S}/vehicle_state_sentry_mode"),
            ])
            .await;
        let running = Running::start(&setup.cfg, sim.sim.clock()).await;
        probe
            .wait_text(
                &format!("{base}/{MODEL_S}/vehicle_state_sentry_mode"),
                "OFF",
            )
            .await;
        let publisher = Publisher::connect(&setup.broker).await;
        Bench {
            sim,
            setup,
            probe,
            running: Some(running),
            publisher,
        }
    }

    async fn stop(&mut self) {
        self.running.take().unwrap().stop().await;
    }

    fn topic(&self, vin: &str, rest: &str) -> String {
        format!("{}/{vin}/{rest}", self.setup.base())
    }

    async fn result(&self, vin: &str, nth: usize) -> serde_json::Value {
        self.probe
            .wait_count(&self.topic(vin, "command/result"), nth)
            .await[nth - 1]
            .json()
    }

    /// How often the bridge said `online`: once per connection.
    fn connections(&self) -> usize {
        self.probe
            .all(&format!("{}/status", self.setup.base()))
            .iter()
            .filter(|m| m.text() == "online")
            .count()
    }
}

/// An MQTT 5 client that can send what a 3.1.1 probe cannot: multi-megabyte payloads, retained
/// commands, message expiry.
struct Publisher {
    client: AsyncClient,
    stop: CancellationToken,
}

impl Publisher {
    async fn connect(broker: &Broker) -> Publisher {
        let mut opts = MqttOptions::new(unique("publisher"), "127.0.0.1", broker.port());
        opts.set_max_packet_size(Some(64 * 1024 * 1024));
        let (client, mut eventloop) = AsyncClient::new(opts, 16);
        let stop = CancellationToken::new();
        let (connected_tx, connected_rx) = tokio::sync::oneshot::channel();
        let s = stop.clone();
        tokio::spawn(async move {
            let mut connected = Some(connected_tx);
            loop {
                let event = tokio::select! {
                    _ = s.cancelled() => return,
                    e = eventloop.poll() => e,
                };
                match event {
                    Ok(Event::Incoming(Packet::ConnAck(_))) => {
                        if let Some(tx) = connected.take() {
                            let _ = tx.send(());
                        }
                    }
                    Ok(_) => {}
                    // The broker stopping at the end of a test.
                    Err(_) => return,
                }
            }
        });
        tokio::time::timeout(TIMEOUT, connected_rx)
            .await
            .expect("publisher connected")
            .unwrap();
        Publisher { client, stop }
    }

    async fn publish(&self, topic: &str, payload: impl Into<Vec<u8>>, retain: bool) {
        self.client
            .publish(topic, QoS::AtLeastOnce, retain, payload.into())
            .await
            .unwrap();
    }

    async fn publish_expiring(&self, topic: &str, payload: &str, secs: u32) {
        let props = PublishProperties {
            message_expiry_interval: Some(secs),
            ..PublishProperties::default()
        };
        self.client
            .publish_with_properties(topic, QoS::AtLeastOnce, false, payload.to_string(), props)
            .await
            .unwrap();
    }
}

impl Drop for Publisher {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversize_messages_are_refused_and_the_connection_stays_up() {
    let mut b = Bench::start().await;
    assert_eq!(b.connections(), 1);

    // 2 MiB (over the bridge's 64 KiB, under its client's 8 MiB): refused, with the id answered.
    let junk = "x".repeat(2 * 1024 * 1024);
    let big =
        format!(r#"{{"id": "big-1", "command": "honk_horn", "params": {{"junk": "{junk}"}}}}"#);
    b.publisher
        .publish(&b.topic(MODEL_S, "command"), big.clone(), false)
        .await;
    let result = b.result(MODEL_S, 1).await;
    assert_eq!(result["ok"], false, "{result}");
    assert_eq!(result["id"], "big-1");
    assert_eq!(result["command"], "honk_horn");
    let reason = result["reason"].as_str().unwrap();
    assert!(reason.contains("too large"), "{reason}");
    assert!(
        reason.len() < 1000,
        "the junk is not echoed: {}",
        reason.len()
    );
    let event = b.probe.wait_count(&b.topic(MODEL_S, "event"), 1).await[0].json();
    assert_eq!(event["kind"], "bad_payload");
    assert!(event.to_string().len() < 2000);

    // 10 MiB, over what the bridge's client takes: the broker drops it for the bridge (MQTT 5
    // maximum packet size) instead of breaking the connection. A retained 2 MiB `/set` is
    // refused once, not in a reconnect loop.
    let huge = "y".repeat(10 * 1024 * 1024);
    b.publisher
        .publish(&b.topic(MODEL_S, "command"), huge, false)
        .await;
    b.publisher
        .publish(
            &b.topic(MODEL_S, "vehicle_state_sentry_mode/set"),
            junk.clone(),
            true,
        )
        .await;
    let result = b.result(MODEL_S, 2).await;
    assert_eq!(result["ok"], false, "{result}");
    assert!(
        result["reason"].as_str().unwrap().contains("too large"),
        "{result}"
    );

    // Still the same connection, still working: a real command runs.
    b.publisher
        .publish(
            &b.topic(MODEL_S, "command"),
            r#"{"id": "after", "command": "set_sentry_mode", "params": {"on": true}}"#,
            false,
        )
        .await;
    let result = b.result(MODEL_S, 3).await;
    assert_eq!(result["id"], "after", "the 10 MiB message got no answer");
    assert_eq!(result["ok"], true, "{result}");
    b.probe
        .wait_text(&b.topic(MODEL_S, "vehicle_state_sentry_mode"), "ON")
        .await;
    assert_eq!(b.connections(), 1, "the bridge reconnected");
    assert!(b
        .probe
        .all(&format!("{}/status", b.setup.base()))
        .iter()
        .all(|m| m.text() == "online"));
    assert_eq!(b.sim.sim.billing().by_vin[MODEL_S].commands, 1);

    // The retained oversize message was cleared from the broker.
    b.stop().await;
    let left = retained_under(
        &b.setup.broker,
        None,
        &[b.topic(MODEL_S, "vehicle_state_sentry_mode/set")],
    )
    .await;
    assert!(left.is_empty(), "{left:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retained_command_is_never_executed() {
    let mut b = Bench::start().await;
    // First live delivery: the bridge is subscribed already, so under MQTT 3.1.1 the broker would
    // clear the retain flag and the command would run.
    b.publisher
        .publish(
            &b.topic(MODEL_S, "command"),
            r#"{"id": "r1", "command": "flash_lights"}"#,
            true,
        )
        .await;
    let result = b.result(MODEL_S, 1).await;
    assert_eq!(result["ok"], false, "{result}");
    assert_eq!(result["id"], "r1");
    assert_eq!(result["command"], "flash_lights");
    assert!(
        result["reason"].as_str().unwrap().contains("retain"),
        "{result}"
    );
    let event = b.probe.wait_count(&b.topic(MODEL_S, "event"), 1).await[0].json();
    assert!(
        event["message"].as_str().unwrap().contains("retain flag"),
        "{event}"
    );
    // A retained `/set` too.
    b.publisher
        .publish(
            &b.topic(MODEL_S, "vehicle_state_sentry_mode/set"),
            "ON",
            true,
        )
        .await;
    let result = b.result(MODEL_S, 2).await;
    assert_eq!(result["ok"], false, "{result}");
    assert_eq!(result["command"], "vehicle_state_sentry_mode");
    assert_eq!(b.sim.sim.billing().commands, 0);
    assert_eq!(
        b.sim.sim.vehicle_json(MODEL_S).unwrap()["sentry_mode"],
        false
    );
    b.stop().await;

    // Both were cleared, so a restart has nothing to replay.
    let left = retained_under(&b.setup.broker, None, &[format!("{}/#", b.setup.base())]).await;
    assert!(
        !left
            .iter()
            .any(|t| t.ends_with("/command") || t.ends_with("/set")),
        "{left:?}"
    );

    // One retained before the daemon starts is refused on the replay too.
    b.publisher
        .publish(
            &b.topic(MODEL_S, "command"),
            r#"{"id": "r2", "command": "honk_horn"}"#,
            true,
        )
        .await;
    let again = Running::start(&b.setup.cfg, b.sim.sim.clock()).await;
    let result = b.result(MODEL_S, 3).await;
    assert_eq!(result["id"], "r2");
    assert_eq!(result["ok"], false, "{result}");
    assert_eq!(b.sim.sim.billing().commands, 0);
    again.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_command_attempt_with_an_id_gets_a_result() {
    let mut b = Bench::start().await;
    let stranger = "5YJ3E1EA0PF999999";
    b.publisher
        .publish(
            &b.topic(stranger, "command"),
            r#"{"id": "who", "command": "honk_horn"}"#,
            false,
        )
        .await;
    let result = b.result(stranger, 1).await;
    assert_eq!(result["id"], "who");
    assert_eq!(result["ok"], false);
    assert!(
        result["reason"]
            .as_str()
            .unwrap()
            .contains("unknown vehicle"),
        "{result}"
    );

    // Not UTF-8, but the id is readable.
    let mut bytes = br#"{"id": "bytes", "command": "honk_horn", "params": {"x": ""#.to_vec();
    bytes.extend_from_slice(&[0xff, 0xfe]);
    bytes.extend_from_slice(br#""}}"#);
    b.publisher
        .publish(&b.topic(MODEL_S, "command"), bytes, false)
        .await;
    let result = b.result(MODEL_S, 1).await;
    assert_eq!(result["id"], "bytes");
    assert_eq!(result["ok"], false);
    assert!(
        result["reason"].as_str().unwrap().contains("UTF-8"),
        "{result}"
    );

    // Invalid JSON with an id, and a huge id: answered, the id cut short.
    b.publisher
        .publish(
            &b.topic(MODEL_S, "command"),
            r#"{"id": "broken", "command": "honk_horn", "params": {"#,
            false,
        )
        .await;
    let result = b.result(MODEL_S, 2).await;
    assert_eq!(result["id"], "broken");
    let long_id = "é".repeat(10_000);
    b.publisher
        .publish(
            &b.topic(MODEL_S, "command"),
            format!(r#"{{"id": "{long_id}", "command": "no_such_command"}}"#),
            false,
        )
        .await;
    let result = b.result(MODEL_S, 3).await;
    assert!(result["id"].as_str().unwrap().len() < 1000, "{result}");
    assert!(result.to_string().len() < 4000);

    // A command with a message expiry still runs while it is valid.
    b.publisher
        .publish_expiring(
            &b.topic(MODEL_S, "command"),
            r#"{"id": "fresh", "command": "set_sentry_mode", "params": {"on": true}}"#,
            60,
        )
        .await;
    let result = b.result(MODEL_S, 4).await;
    assert_eq!(result["id"], "fresh");
    assert_eq!(result["ok"], true, "{result}");
    assert_eq!(b.sim.sim.billing().commands, 1);
    assert_eq!(b.connections(), 1);
    b.stop().await;
}
