//! Signed commands end to end: MQTT → executor → `signed_command` → the simulated car's verifier.

mod common;

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use common::*;
use teslasync::clock::Clock;
use teslasync::keys::{self, CommandKey};
use teslasync::sim::SimConfig;
use teslasync::tesla::command::{actions, Domain, SignOptions, Signer};
use teslasync::vehicle::command::Command;

const MODEL_Y: &str = "7SAYGDEE1NA000001";

/// Creates the command key the way `teslasync keys generate` does, and pairs it with the Model Y
/// as the owner would in the Tesla app.
fn pair(sim: &SimServer, setup: &Setup) -> CommandKey {
    let key = CommandKey::generate(&keys::default_path(&setup.cfg.storage.path), false).unwrap();
    sim.sim.pair_key(MODEL_Y, &key.public_key_bytes()).unwrap();
    key
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

fn topic(setup: &Setup, rest: &str) -> String {
    format!("{}/{MODEL_Y}/{rest}", setup.base())
}

async fn result(probe: &Probe, setup: &Setup, nth: usize) -> serde_json::Value {
    probe.wait_count(&topic(setup, "command/result"), nth).await[nth - 1].json()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signed_only_car_obeys_signed_commands_from_home_assistant() {
    let sim = SimServer::start(SimConfig::default()).await;
    let setup = Setup::new(&sim);
    setup.sign_in(&sim);
    pair(&sim, &setup);
    let probe = Probe::start(&[format!("{}/#", setup.base())]).await;
    let running = Running::start(&setup.cfg, Clock::system()).await;
    probe
        .wait_text(&topic(&setup, "vehicle_state_locked"), "locked")
        .await;

    probe
        .publish(&topic(&setup, "vehicle_state_locked/set"), "UNLOCK")
        .await;
    assert_eq!(result(&probe, &setup, 1).await["ok"], true);
    assert_eq!(sim.sim.vehicle_json(MODEL_Y).unwrap()["locked"], false);
    probe
        .wait_text(&topic(&setup, "vehicle_state_locked"), "unlocked")
        .await;

    probe
        .publish(&topic(&setup, "vehicle_state_locked/set"), "LOCK")
        .await;
    assert_eq!(result(&probe, &setup, 2).await["ok"], true);
    assert_eq!(sim.sim.vehicle_json(MODEL_Y).unwrap()["locked"], true);

    probe
        .publish(&topic(&setup, "climate_state_is_climate_on/set"), "ON")
        .await;
    assert_eq!(result(&probe, &setup, 3).await["ok"], true);
    assert_eq!(
        sim.sim.vehicle_json(MODEL_Y).unwrap()["is_climate_on"],
        true
    );
    probe
        .wait_text(&topic(&setup, "climate_state_is_climate_on"), "ON")
        .await;

    probe
        .publish(&topic(&setup, "charge_state_charge_limit_soc/set"), "65")
        .await;
    assert_eq!(result(&probe, &setup, 4).await["ok"], true);
    assert_eq!(
        sim.sim.vehicle_json(MODEL_Y).unwrap()["charge_limit_soc"],
        65
    );

    probe
        .publish(&topic(&setup, "climate_state_seat_heater_left/set"), "high")
        .await;
    assert_eq!(result(&probe, &setup, 5).await["ok"], true);
    let car = sim.sim.vehicle_json(MODEL_Y).unwrap();
    assert_eq!(
        car["vehicle_data"]["climate_state"]["seat_heater_left"], 3,
        "{car}"
    );
    probe
        .wait_text(&topic(&setup, "climate_state_seat_heater_left"), "high")
        .await;

    // One handshake per domain, then one request per command: VCSEC (2 locks) + Infotainment (3).
    let stats = sim.sim.signed_stats(MODEL_Y);
    assert_eq!(stats.handshakes, 2, "{stats:?}");
    assert_eq!(stats.accepted, 5, "{stats:?}");
    assert_eq!(stats.rejected, 0, "{stats:?}");
    assert_eq!(
        sim.sim.billing().by_vin[MODEL_Y].commands,
        7,
        "5 commands + 2 handshakes, nothing else"
    );
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replayed_and_expired_messages_are_rejected_by_the_car() {
    let clock = manual_clock();
    let sim = SimServer::start(SimConfig {
        clock: clock.clone(),
        ..SimConfig::default()
    })
    .await;
    let setup = Setup::new(&sim);
    setup.sign_in(&sim);
    let key = pair(&sim, &setup);
    let probe = Probe::start(&[format!("{}/#", setup.base())]).await;
    let running = Running::start(&setup.cfg, clock.clone()).await;
    probe
        .wait_text(&topic(&setup, "vehicle_state_locked"), "locked")
        .await;

    probe
        .publish(&topic(&setup, "vehicle_state_locked/set"), "UNLOCK")
        .await;
    assert_eq!(result(&probe, &setup, 1).await["ok"], true);
    let captured_unlock = sim.sim.last_signed_request(MODEL_Y).unwrap();
    probe
        .publish(&topic(&setup, "vehicle_state_locked/set"), "LOCK")
        .await;
    assert_eq!(result(&probe, &setup, 2).await["ok"], true);
    running.stop().await;

    // Replaying the captured unlock must not unlock the car.
    let token = sim_access_token(&sim).await;
    let before = sim.sim.signed_stats(MODEL_Y);
    post_signed(&sim, &token, &captured_unlock).await;
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
    let reply = post_signed(&sim, &token, handshake.bytes()).await;
    signer
        .accept_handshake(&handshake, &reply, clock.now())
        .unwrap();
    let (_, payload) = actions::encode(&Command::DoorUnlock).unwrap();
    let request = signer
        .sign(&payload, SignOptions::default(), clock.now())
        .unwrap();
    clock.advance(Duration::from_secs(120));
    let reply = post_signed(&sim, &token, request.bytes()).await;
    let err = signer
        .open_reply(&request, &reply, clock.now())
        .unwrap_err();
    assert!(err.to_string().to_lowercase().contains("expire"), "{err}");
    assert_eq!(sim.sim.vehicle_json(MODEL_Y).unwrap()["locked"], true);
    assert_eq!(sim.sim.signed_stats(MODEL_Y).rejected, before.rejected + 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_continues_the_session_with_a_higher_counter() {
    let sim = SimServer::start(SimConfig::default()).await;
    let setup = Setup::new(&sim);
    setup.sign_in(&sim);
    pair(&sim, &setup);
    let probe = Probe::start(&[format!("{}/#", setup.base())]).await;

    let running = Running::start(&setup.cfg, Clock::system()).await;
    probe
        .wait_text(&topic(&setup, "vehicle_state_locked"), "locked")
        .await;
    probe
        .publish(&topic(&setup, "vehicle_state_locked/set"), "UNLOCK")
        .await;
    assert_eq!(result(&probe, &setup, 1).await["ok"], true);
    let before = sim.sim.signed_stats(MODEL_Y);
    running.stop().await;

    let running = Running::start(&setup.cfg, Clock::system()).await;
    probe
        .publish(&topic(&setup, "vehicle_state_locked/set"), "LOCK")
        .await;
    assert_eq!(result(&probe, &setup, 2).await["ok"], true);
    let after = sim.sim.signed_stats(MODEL_Y);
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
    let sim = SimServer::start(SimConfig::default()).await;
    let mut setup = Setup::new(&sim);
    setup.cfg.tesla.domain = Some("teslasync.example.com".into());
    setup.sign_in(&sim);
    let probe = Probe::start(&[format!("{}/#", setup.base())]).await;
    let running = Running::start(&setup.cfg, Clock::system()).await;
    probe
        .wait_text(&topic(&setup, "vehicle_state_locked"), "locked")
        .await;

    probe
        .publish(&topic(&setup, "vehicle_state_locked/set"), "UNLOCK")
        .await;
    let result = result(&probe, &setup, 1).await;
    assert_eq!(result["ok"], false);
    let reason = result["reason"].as_str().unwrap();
    assert!(
        reason.contains("https://tesla.com/_ak/teslasync.example.com"),
        "{reason}"
    );
    assert_eq!(sim.sim.vehicle_json(MODEL_Y).unwrap()["locked"], true);
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_car_that_answers_422_gets_rest_commands_instead() {
    const MODEL_S: &str = "5YJSA1E2XJF000002";
    let sim = SimServer::start(SimConfig::default()).await;
    let mut setup = Setup::new(&sim);
    // A wrong override: the 2018 Model S cannot use the protocol.
    setup.cfg.commands.signed_vins = vec![MODEL_S.into()];
    setup.sign_in(&sim);
    let probe = Probe::start(&[format!("{}/#", setup.base())]).await;
    let running = Running::start(&setup.cfg, Clock::system()).await;
    let lock = format!("{}/{MODEL_S}/vehicle_state_locked", setup.base());
    probe.wait_text(&lock, "locked").await;

    probe.publish(&format!("{lock}/set"), "UNLOCK").await;
    let result = probe
        .wait_count(&format!("{}/{MODEL_S}/command/result", setup.base()), 1)
        .await[0]
        .json();
    assert_eq!(result["ok"], true, "{result}");
    assert_eq!(sim.sim.vehicle_json(MODEL_S).unwrap()["locked"], false);
    assert_eq!(
        sim.sim.billing().by_vin[MODEL_S].commands,
        2,
        "one refused handshake (422), one REST command"
    );

    // Remembered: the next command goes straight to REST, no second handshake.
    probe.publish(&format!("{lock}/set"), "LOCK").await;
    let result = probe
        .wait_count(&format!("{}/{MODEL_S}/command/result", setup.base()), 2)
        .await[1]
        .json();
    assert_eq!(result["ok"], true, "{result}");
    assert_eq!(sim.sim.billing().by_vin[MODEL_S].commands, 3);
    running.stop().await;
}
