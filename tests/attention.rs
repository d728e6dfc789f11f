//! What the user must act on is visible in Home Assistant: per car a `needs_attention` problem
//! sensor with a companion naming each problem and its fix, and the last command's outcome.

mod common;

use std::time::Duration;

use common::*;
use teslasync::sim::SimConfig;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn problems_and_the_last_command_show_on_the_car() {
    let clock = manual_clock();
    let w = World::start(SimConfig {
        clock: clock.clone(),
        ..SimConfig::default()
    })
    .await;
    // The Model S takes REST commands: nothing to do. The Model Y takes only signed commands and
    // nobody paired TeslaSync's key with it.
    w.probe
        .wait_text(&w.topic(MODEL_S, "needs_attention"), "OFF")
        .await;
    w.probe
        .wait_text(&w.topic(MODEL_S, "needs_attention_reason"), "OK")
        .await;
    w.probe
        .wait_text(&w.topic(MODEL_Y, "needs_attention"), "ON")
        .await;
    let why = w
        .probe
        .wait(&w.topic(MODEL_Y, "needs_attention_reason"), |m| {
            m.text() != "OK"
        })
        .await
        .text();
    assert!(why.contains("virtual key not paired"), "{why}");
    assert!(why.contains("pairing link"), "names the fix: {why}");
    let config = w
        .probe
        .wait(
            &format!("{}/device/teslasync_{MODEL_S}/config", w.setup.prefix()),
            |m| m.json()["components"]["needs_attention"].is_object(),
        )
        .await
        .json();
    let sensor = &config["components"]["needs_attention"];
    assert_eq!(sensor["device_class"], "problem");
    assert_eq!(sensor["entity_category"], "diagnostic");

    // The last command's outcome, on the device.
    w.probe
        .publish(&w.topic(MODEL_S, "command"), r#"{"command": "honk_horn"}"#)
        .await;
    assert_eq!(w.result(MODEL_S, 1).await["ok"], true);
    w.probe
        .wait_text(&w.topic(MODEL_S, "last_command"), "honk_horn: ok")
        .await;

    // Tesla withdraws the sign-in: every car needs attention, and says why.
    w.sim.sim.revoke_tokens();
    clock.advance(Duration::from_secs(60));
    w.probe
        .wait_text(&w.topic(MODEL_S, "needs_attention"), "ON")
        .await;
    let why = w
        .probe
        .wait(&w.topic(MODEL_S, "needs_attention_reason"), |m| {
            m.text().contains("sign-in")
        })
        .await
        .text();
    assert!(why.contains("sign in again"), "{why}");
    w.running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_that_cannot_keep_the_tokens_needs_attention_until_it_can() {
    let clock = manual_clock();
    let w = World::start(SimConfig {
        clock: clock.clone(),
        ..SimConfig::default()
    })
    .await;
    let reason = w.topic(MODEL_S, "needs_attention_reason");
    w.probe.wait_text(&reason, "OK").await;
    let mut cycles = w.running.wait_cycles_after(0).await;

    // The disk fills and Tesla rotates the refresh token: it lives only in memory now.
    w.running.daemon().store().fail_writes(true);
    clock.advance(Duration::from_secs(8 * 3600));
    cycles = w.running.wait_cycles_after(cycles).await;
    w.probe
        .wait_text(&w.topic(MODEL_S, "needs_attention"), "ON")
        .await;
    let why = w
        .probe
        .wait(&reason, |m| m.text().contains("storage failing"))
        .await
        .text();
    assert!(why.contains("free disk space"), "{why}");
    assert!(why.chars().count() <= 255, "Home Assistant's limit");

    // Space is freed: the next request writes the tokens, and the problem clears.
    w.running.daemon().store().fail_writes(false);
    clock.advance(Duration::from_secs(60));
    w.running.wait_cycles_after(cycles).await;
    w.probe.wait_text(&reason, "OK").await;
    w.probe
        .wait_text(&w.topic(MODEL_S, "needs_attention"), "OFF")
        .await;
    w.running.stop().await;
}
