//! Signed commands end to end: MQTT → executor → `signed_command` → the simulated car's verifier.

mod common;

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use common::*;
use teslasync::keys::{self, CommandKey};
use teslasync::sim::SimConfig;
use teslasync::tesla::command::{actions, Domain, SignOptions, Signer};
use teslasync::vehicle::command::Command;

/// Creates the command key the way `teslasync keys generate` does, and pairs it with the Model Y
/// as the owner would in the Tesla app.
fn pair(setup: &mut Setup, sim: &SimServer) {
    let key = CommandKey::generate(&keys::default_path(&setup.cfg.storage.path), false).unwrap();
    sim.sim.pair_key(MODEL_Y, &key.public_key_bytes()).unwrap();
}

/// Posts raw RoutableMessage bytes to `signed_command`, as an attacker replaying traffic would.
async fn post_signed(sim: &SimServer, token: &str, message: &[u8]) -> Vec<u8> {
    let b64 = base64::engine::general_purpose::STANDARD;
    let response = reqwest::Client::new()
        .post(
            sim.url
                .join(&format!("api/1/vehicles/{MODEL_Y}/signed_command"))
                .unwrap(),
        )
        .bearer_auth(token)
        .json(&serde_json::json!({ "routable_message": b64.encode(message) }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    b64.decode(body["response"].as_str().unwrap()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signed_only_car_obeys_signed_commands_from_home_assistant() {
    let w = World::start_with(SimConfig::default(), pair).await;
    let car = || w.sim.sim.vehicle_json(MODEL_Y).unwrap();
    w.probe
        .wait_text(&w.topic(MODEL_Y, "vehicle_state_locked"), "locked")
        .await;

    w.probe
        .publish(&w.topic(MODEL_Y, "vehicle_state_locked/set"), "UNLOCK")
        .await;
    assert_eq!(w.result(MODEL_Y, 1).await["ok"], true);
    assert_eq!(car()["locked"], false);
    w.probe
        .wait_text(&w.topic(MODEL_Y, "vehicle_state_locked"), "unlocked")
        .await;

    w.probe
        .publish(&w.topic(MODEL_Y, "vehicle_state_locked/set"), "LOCK")
        .await;
    assert_eq!(w.result(MODEL_Y, 2).await["ok"], true);
    assert_eq!(car()["locked"], true);

    w.probe
        .publish(&w.topic(MODEL_Y, "climate_state_is_climate_on/set"), "ON")
        .await;
    assert_eq!(w.result(MODEL_Y, 3).await["ok"], true);
    assert_eq!(car()["is_climate_on"], true);
    w.probe
        .wait_text(&w.topic(MODEL_Y, "climate_state_is_climate_on"), "ON")
        .await;

    w.probe
        .publish(&w.topic(MODEL_Y, "charge_state_charge_limit_soc/set"), "65")
        .await;
    assert_eq!(w.result(MODEL_Y, 4).await["ok"], true);
    assert_eq!(car()["charge_limit_soc"], 65);

    w.probe
        .publish(
            &w.topic(MODEL_Y, "climate_state_seat_heater_left/set"),
            "high",
        )
        .await;
    assert_eq!(w.result(MODEL_Y, 5).await["ok"], true);
    assert_eq!(
        car()["vehicle_data"]["climate_state"]["seat_heater_left"],
        3,
        "{}",
        car()
    );
    w.probe
        .wait_text(&w.topic(MODEL_Y, "climate_state_seat_heater_left"), "high")
        .await;

    // One handshake per domain, then one request per command: VCSEC (2 locks) + Infotainment (3).
    let stats = w.sim.sim.signed_stats(MODEL_Y);
    assert_eq!(stats.handshakes, 2, "{stats:?}");
    assert_eq!(stats.accepted, 5, "{stats:?}");
    assert_eq!(stats.rejected, 0, "{stats:?}");
    assert_eq!(
        w.sim.sim.billing().by_vin[MODEL_Y].commands,
        7,
        "5 commands + 2 handshakes, nothing else"
    );
    w.running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replayed_and_expired_messages_are_rejected_by_the_car() {
    let clock = manual_clock();
    let w = World::start_with(
        SimConfig {
            clock: clock.clone(),
            ..SimConfig::default()
        },
        pair,
    )
    .await;
    let (sim, probe) = (&w.sim, &w.probe);
    probe
        .wait_text(&w.topic(MODEL_Y, "vehicle_state_locked"), "locked")
        .await;

    probe
        .publish(&w.topic(MODEL_Y, "vehicle_state_locked/set"), "UNLOCK")
        .await;
    assert_eq!(w.result(MODEL_Y, 1).await["ok"], true);
    let captured_unlock = sim.sim.last_signed_request(MODEL_Y).unwrap();
    probe
        .publish(&w.topic(MODEL_Y, "vehicle_state_locked/set"), "LOCK")
        .await;
    assert_eq!(w.result(MODEL_Y, 2).await["ok"], true);
    let key = CommandKey::load(&keys::default_path(&w.setup.cfg.storage.path)).unwrap();
    w.running.stop().await;

    // Replaying the captured unlock must not unlock the car.
    let token = sim_access_token(sim).await;
    let before = sim.sim.signed_stats(MODEL_Y);
    post_signed(sim, &token, &captured_unlock).await;
    assert_eq!(
        sim.sim.vehicle_json(MODEL_Y).unwrap()["locked"],
        true,
        "the replay changed nothing"
    );
    assert_eq!(sim.sim.signed_stats(MODEL_Y).rejected, before.rejected + 1);

    // A correctly signed message that arrives after its expiry is refused too.
    let mut signer = Signer::new(
        Arc::new(key.protocol_key()),
        MODEL_Y,
        Domain::VehicleSecurity,
    )
    .unwrap();
    let handshake = signer.handshake_request(clock.now());
    let reply = post_signed(sim, &token, handshake.bytes()).await;
    signer
        .accept_handshake(&handshake, &reply, clock.now())
        .unwrap();
    let (_, payload) = actions::encode(&Command::DoorUnlock).unwrap();
    let request = signer
        .sign(&payload, SignOptions::default(), clock.now())
        .unwrap();
    clock.advance(Duration::from_secs(120));
    let reply = post_signed(sim, &token, request.bytes()).await;
    let err = signer
        .open_reply(&request, &reply, clock.now())
        .unwrap_err();
    assert!(err.to_string().to_lowercase().contains("expire"), "{err}");
    assert_eq!(sim.sim.vehicle_json(MODEL_Y).unwrap()["locked"], true);
    assert_eq!(sim.sim.signed_stats(MODEL_Y).rejected, before.rejected + 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_continues_the_session_with_a_higher_counter() {
    let w = World::start_with(SimConfig::default(), pair).await;
    let (set, results) = (
        w.topic(MODEL_Y, "vehicle_state_locked/set"),
        w.topic(MODEL_Y, "command/result"),
    );
    w.probe
        .wait_text(&w.topic(MODEL_Y, "vehicle_state_locked"), "locked")
        .await;
    w.probe.publish(&set, "UNLOCK").await;
    assert_eq!(w.result(MODEL_Y, 1).await["ok"], true);
    let before = w.sim.sim.signed_stats(MODEL_Y);
    let status = format!("{}/status", w.setup.base());
    w.running.stop().await;
    w.probe.wait_text(&status, "offline").await;

    let running = Running::start(&w.setup.cfg, w.sim.sim.clock()).await;
    // The bridge subscribes before it announces `online`: a command sent earlier would be lost.
    w.probe.wait_text(&status, "online").await;
    w.probe.publish(&set, "LOCK").await;
    assert_eq!(w.probe.wait_count(&results, 2).await[1].json()["ok"], true);
    let after = w.sim.sim.signed_stats(MODEL_Y);
    assert_eq!(
        after.handshakes, before.handshakes,
        "no extra handshake: the stored session was valid"
    );
    assert!(
        after.last_counter["vcsec"] > before.last_counter["vcsec"],
        "{before:?} → {after:?}"
    );
    assert_eq!(after.rejected, 0);
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unpaired_key_is_answered_with_how_to_pair_it() {
    let w = World::start_with(SimConfig::default(), |setup, _| {
        setup.cfg.tesla.domain = Some("teslasync.example.com".into());
    })
    .await;
    w.probe
        .wait_text(&w.topic(MODEL_Y, "vehicle_state_locked"), "locked")
        .await;

    w.probe
        .publish(&w.topic(MODEL_Y, "vehicle_state_locked/set"), "UNLOCK")
        .await;
    let result = w.result(MODEL_Y, 1).await;
    assert_eq!(result["ok"], false);
    let reason = result["reason"].as_str().unwrap();
    assert!(
        reason.contains("https://tesla.com/_ak/teslasync.example.com"),
        "{reason}"
    );
    assert_eq!(w.sim.sim.vehicle_json(MODEL_Y).unwrap()["locked"], true);
    w.running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_car_that_answers_422_gets_rest_commands_instead() {
    // A wrong override: the 2018 Model S cannot use the protocol.
    let w = World::start_with(SimConfig::default(), |setup, _| {
        setup.cfg.commands.signed_vins = vec![MODEL_S.into()];
    })
    .await;
    let lock = w.topic(MODEL_S, "vehicle_state_locked");
    w.probe.wait_text(&lock, "locked").await;

    w.probe.publish(&format!("{lock}/set"), "UNLOCK").await;
    let result = w.result(MODEL_S, 1).await;
    assert_eq!(result["ok"], true, "{result}");
    assert_eq!(w.sim.sim.vehicle_json(MODEL_S).unwrap()["locked"], false);
    assert_eq!(
        w.sim.sim.billing().by_vin[MODEL_S].commands,
        2,
        "one refused handshake (422), one REST command"
    );

    // Remembered: the next command goes straight to REST, no second handshake.
    w.probe.publish(&format!("{lock}/set"), "LOCK").await;
    let result = w.result(MODEL_S, 2).await;
    assert_eq!(result["ok"], true, "{result}");
    assert_eq!(w.sim.sim.billing().by_vin[MODEL_S].commands, 3);
    w.running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_to_do_counts_as_success_on_both_transports() {
    let w = World::start_with(SimConfig::default(), pair).await;
    for vin in [MODEL_Y, MODEL_S] {
        w.probe
            .wait_text(&w.topic(vin, "vehicle_state_sentry_mode"), "OFF")
            .await;
        let command = w.topic(vin, "command");
        // Sentry is already off; the car is not plugged in, so it is not charging.
        w.probe
            .publish(
                &command,
                r#"{"command": "set_sentry_mode", "params": {"on": false}}"#,
            )
            .await;
        w.probe
            .publish(&command, r#"{"command": "charge_stop"}"#)
            .await;
        for (n, reason) in [(1, "already_set"), (2, "not_charging")] {
            let result = w.result(vin, n).await;
            assert_eq!(result["ok"], true, "{vin}: {result}");
            assert_eq!(result["reason"], reason, "{vin}: {result}");
        }
    }
    assert_eq!(w.sim.sim.signed_stats(MODEL_Y).refused, 2, "went signed");
    assert_eq!(w.sim.sim.billing().by_vin[MODEL_S].commands, 2, "went REST");
    w.running.stop().await;
}
