//! Restarts and the bridge's availability: retained values survive, `offline` on a clean stop and
//! through the MQTT last will when the process is killed.

mod common;

use std::process::{Command, Stdio};

use common::*;
use teslasync::clock::Clock;
use teslasync::sim::SimConfig;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn values_stay_visible_across_a_clean_restart() {
    let sim = SimServer::start(SimConfig::default()).await;
    let setup = Setup::new(&sim);
    setup.sign_in(&sim);
    let vin = sim.sim.vins()[1].clone();
    let status = format!("{}/status", setup.base());
    let battery = format!("{}/{vin}/charge_state_battery_level", setup.base());

    let running = Running::start(&setup.cfg, Clock::system()).await;
    let live = setup.probe(&[format!("{}/#", setup.base())]).await;
    live.wait_text(&status, "online").await;
    let level = live.wait(&battery, |m| !m.payload.is_empty()).await.text();
    running.stop().await;
    live.wait_text(&status, "offline").await;

    // Home Assistant restarting now still sees the last values (retained) and that the bridge is offline.
    let late = setup.probe(&[status.clone(), battery.clone()]).await;
    let seen = late.wait(&battery, |_| true).await;
    assert!(seen.retained);
    assert_eq!(seen.text(), level);
    let bridge = late.wait(&status, |_| true).await;
    assert!(bridge.retained);
    assert_eq!(bridge.text(), "offline");

    // After a restart the bridge is back and the values are unchanged.
    let running = Running::start(&setup.cfg, Clock::system()).await;
    late.wait_text(&status, "online").await;
    assert_eq!(late.last(&battery).unwrap().text(), level);
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_last_will_marks_the_bridge_offline_when_the_process_is_killed() {
    let sim = SimServer::start(SimConfig::default()).await;
    let setup = Setup::new(&sim);
    setup.sign_in(&sim);
    let status = format!("{}/status", setup.base());
    let probe = setup.probe(std::slice::from_ref(&status)).await;

    let cfg = &setup.cfg;
    let key = cfg
        .storage
        .encryption_key
        .as_ref()
        .unwrap()
        .expose()
        .to_string();
    let mut child = Command::new(env!("CARGO_BIN_EXE_teslasync"))
        .arg("run")
        .env("ENCRYPTION_KEY", key)
        .env("TESLA_API_BASE_URL", sim.url.as_str())
        .env("TESLASYNC_TESLA__AUTH_BASE_URL", sim.url.as_str())
        .env("TESLA_CLIENT_ID", cfg.tesla.client_id.as_deref().unwrap())
        .env("TESLASYNC_STORAGE__PATH", &cfg.storage.path)
        .env("TESLASYNC_MQTT__URL", cfg.mqtt.url.as_str())
        .env("TESLASYNC_MQTT__CLIENT_ID", &cfg.mqtt.client_id)
        .env("TESLASYNC_MQTT__BASE_TOPIC", &cfg.mqtt.base_topic)
        .env(
            "TESLASYNC_MQTT__DISCOVERY_PREFIX",
            &cfg.mqtt.discovery_prefix,
        )
        .env("TESLASYNC_HTTP__LISTEN", "127.0.0.1:0")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the teslasync binary starts");
    probe.wait_text(&status, "online").await;
    child.kill().expect("kill");
    let _ = child.wait();
    let will = probe.wait_text(&status, "offline").await;
    assert_eq!(will.text(), "offline");
}
