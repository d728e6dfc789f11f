//! End to end, as Home Assistant sees it: the daemon against the simulated Tesla and a real Mosquitto,
//! with a probe subscribed to the discovery prefix and the base topic.

mod common;

use std::collections::HashSet;
use std::time::Duration;

use common::*;
use serde_json::json;
use teslasync::config::DiscoveryMode;
use teslasync::ha::catalog::CATALOG;
use teslasync::sim::SimConfig;

fn approx(state: &str, expected: f64, tolerance: f64) -> bool {
    state
        .parse::<f64>()
        .is_ok_and(|v| (v - expected).abs() <= tolerance)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discovery_and_states_match_the_simulated_cars() {
    let w = World::start(SimConfig::default()).await;
    let mut unique_ids = HashSet::new();
    for vin in [MODEL_Y, MODEL_S] {
        let car = w.sim.sim.vehicle_json(vin).unwrap();
        let topic = format!("{}/device/teslasync_{vin}/config", w.setup.prefix());
        let config = w
            .probe
            .wait(&topic, |m| m.json()["device"]["sw_version"].is_string())
            .await
            .json();
        assert_eq!(
            config["device"]["identifiers"],
            json!([format!("teslasync_{vin}")])
        );
        assert_eq!(config["device"]["name"], car["display_name"]);
        assert_eq!(config["device"]["manufacturer"], "Tesla");
        assert_eq!(config["device"]["serial_number"], vin);
        assert_eq!(
            config["device"]["model"],
            if vin == MODEL_Y { "Model Y" } else { "Model S" }
        );
        assert_eq!(config["origin"]["name"], "TeslaSync");
        assert_eq!(config["availability_mode"], "all");
        assert_eq!(
            config["availability"],
            json!([{"topic": format!("{}/status", w.setup.base())}, {"topic": w.topic(vin, "availability")}])
        );
        let components = config["components"].as_object().unwrap();
        let ids: HashSet<&str> = CATALOG.iter().map(|e| e.id()).collect();
        for e in CATALOG.iter().filter(|e| e.common().requires.is_none()) {
            assert!(components.contains_key(e.id()), "{} missing", e.id());
        }
        assert!(components.keys().all(|k| ids.contains(k.as_str())));
        for (key, c) in components {
            let uid = c["unique_id"].as_str().unwrap();
            assert_eq!(uid, format!("teslasync_{vin}_{key}"));
            assert!(
                unique_ids.insert(uid.to_string()),
                "duplicate unique_id {uid}"
            );
            if let Some(t) = c.get("state_topic") {
                // An event entity listens to the car's (unretained) event topic.
                let own = if c["platform"] == "event" {
                    "event"
                } else {
                    key
                };
                assert_eq!(t, &json!(w.topic(vin, own)), "{key}");
            }
            if let Some(t) = c.get("command_topic") {
                assert_eq!(t, &json!(w.topic(vin, &format!("{key}/set"))));
            }
        }
        assert_eq!(components["vehicle_state_locked"]["platform"], "lock");
        assert_eq!(
            components["charge_state_charge_limit_soc"]["platform"],
            "number"
        );

        // States as plain retained text, equal to the simulated car.
        w.probe
            .wait_text(&w.topic(vin, "availability"), "online")
            .await;
        let battery = car["battery_level"].as_f64().unwrap();
        w.probe
            .wait(&w.topic(vin, "charge_state_battery_level"), |m| {
                approx(&m.text(), battery, 0.5)
            })
            .await;
        let locked = if car["locked"].as_bool().unwrap() {
            "locked"
        } else {
            "unlocked"
        };
        w.probe
            .wait_text(&w.topic(vin, "vehicle_state_locked"), locked)
            .await;
        let inside = car["inside_temp"].as_f64().unwrap();
        w.probe
            .wait(&w.topic(vin, "climate_state_inside_temp"), |m| {
                approx(&m.text(), inside, 0.05)
            })
            .await;
        let odometer = car["odometer"].as_f64().unwrap();
        w.probe
            .wait(&w.topic(vin, "vehicle_state_odometer"), |m| {
                approx(&m.text(), odometer, 0.01)
            })
            .await;
        w.probe
            .wait_text(&w.topic(vin, "charge_state_charging_state"), "disconnected")
            .await;
        w.probe.wait_text(&w.topic(vin, "state"), "ON").await;
        let location = w
            .probe
            .wait(&w.topic(vin, "location/attributes"), |_| true)
            .await
            .json();
        assert!(
            (location["latitude"].as_f64().unwrap() - car["latitude"].as_f64().unwrap()).abs()
                < 1e-6
        );
        assert!(
            (location["longitude"].as_f64().unwrap() - car["longitude"].as_f64().unwrap()).abs()
                < 1e-6
        );
        // Retained: a subscriber that arrives later (Home Assistant restarting) gets config and states.
        let late = w
            .setup
            .probe(&[topic.clone(), w.topic(vin, "charge_state_battery_level")])
            .await;
        assert!(late.wait(&topic, |_| true).await.retained);
        assert!(
            late.wait(&w.topic(vin, "charge_state_battery_level"), |_| true)
                .await
                .retained
        );
    }
    w.probe
        .wait_text(&format!("{}/status", w.setup.base()), "online")
        .await;
    w.running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lock_command_changes_the_car_and_the_state_follows() {
    let w = World::start(SimConfig::default()).await;
    let lock = w.topic(MODEL_S, "vehicle_state_locked");
    w.probe.wait_text(&lock, "locked").await;

    w.probe.publish(&format!("{lock}/set"), "UNLOCK").await;
    let result = w.result(MODEL_S, 1).await;
    assert_eq!(result["ok"], true, "{result}");
    assert_eq!(result["command"], "door_unlock");
    assert!(result["duration_ms"].is_u64());
    assert_eq!(w.sim.sim.vehicle_json(MODEL_S).unwrap()["locked"], false);
    w.probe.wait_text(&lock, "unlocked").await;

    // The same through the JSON command topic, with a correlation id.
    w.probe
        .publish(
            &w.topic(MODEL_S, "command"),
            r#"{"command": "door_lock", "id": "42"}"#,
        )
        .await;
    let result = w.result(MODEL_S, 2).await;
    assert_eq!(result["id"], "42");
    assert_eq!(result["ok"], true, "{result}");
    assert_eq!(w.sim.sim.vehicle_json(MODEL_S).unwrap()["locked"], true);
    w.probe.wait_text(&lock, "locked").await;

    // A number and a select.
    w.probe
        .publish(&w.topic(MODEL_S, "charge_state_charge_limit_soc/set"), "70")
        .await;
    assert_eq!(w.result(MODEL_S, 3).await["ok"], true);
    assert_eq!(
        w.sim.sim.vehicle_json(MODEL_S).unwrap()["charge_limit_soc"],
        70
    );
    w.probe
        .wait_text(&w.topic(MODEL_S, "charge_state_charge_limit_soc"), "70")
        .await;

    // The Model Y only accepts signed commands, and its owner has not paired TeslaSync's key yet:
    // one handshake finds that out, and the answer says how to pair.
    w.probe
        .publish(&w.topic(MODEL_Y, "vehicle_state_locked/set"), "UNLOCK")
        .await;
    let result = w.result(MODEL_Y, 1).await;
    assert_eq!(result["ok"], false);
    assert!(
        result["reason"]
            .as_str()
            .unwrap()
            .contains("tesla.com/_ak/"),
        "{result}"
    );
    assert_eq!(
        w.sim.sim.billing().by_vin[MODEL_Y].commands,
        1,
        "only the handshake was sent"
    );
    assert_eq!(w.sim.sim.vehicle_json(MODEL_Y).unwrap()["locked"], true);
    w.running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_an_event_and_loses_nothing() {
    let w = World::start(SimConfig::default()).await;
    w.probe
        .wait_text(&w.topic(MODEL_S, "vehicle_state_sentry_mode"), "OFF")
        .await;
    let events = w.topic(MODEL_S, "event");

    w.probe
        .publish(&w.topic(MODEL_S, "vehicle_state_sentry_mode/set"), "maybe")
        .await;
    let event = w.probe.wait_count(&events, 1).await[0].json();
    assert_eq!(event["kind"], "bad_payload");
    assert!(
        event["message"]
            .as_str()
            .unwrap()
            .contains("expected ON or OFF"),
        "{event}"
    );
    assert!(event["at"].is_string());
    assert_eq!(w.result(MODEL_S, 1).await["ok"], false);

    w.probe
        .publish(&w.topic(MODEL_S, "command"), "{not json")
        .await;
    assert_eq!(
        w.probe.wait_count(&events, 2).await[1].json()["kind"],
        "bad_payload"
    );
    assert_eq!(w.result(MODEL_S, 2).await["ok"], false);

    w.probe
        .publish(&w.topic(MODEL_S, "command"), r#"{"command": "door_lok"}"#)
        .await;
    let result = w.result(MODEL_S, 3).await;
    assert!(
        result["reason"]
            .as_str()
            .unwrap()
            .contains("did you mean \"door_lock\""),
        "{result}"
    );

    w.probe
        .publish(
            &w.topic(MODEL_S, "command"),
            r#"{"command": "set_charge_limit", "params": {"percent": 150}}"#,
        )
        .await;
    let result = w.result(MODEL_S, 4).await;
    assert!(
        result["reason"]
            .as_str()
            .unwrap()
            .contains("between 50 and 100"),
        "{result}"
    );

    w.probe
        .publish(
            &format!("{}/5YJ3E1EA0PF999999/command", w.setup.base()),
            r#"{"command": "honk_horn"}"#,
        )
        .await;
    let event = w
        .probe
        .wait_count(&format!("{}/event", w.setup.base()), 1)
        .await[0]
        .json();
    assert_eq!(event["kind"], "unknown_vehicle");
    assert!(
        event["message"].as_str().unwrap().contains(MODEL_S),
        "lists the known cars: {event}"
    );

    // Nothing was sent to Tesla for any of that, and the daemon still works.
    assert_eq!(w.sim.sim.billing().commands, 0);
    w.probe
        .publish(&w.topic(MODEL_S, "vehicle_state_sentry_mode/set"), "ON")
        .await;
    assert_eq!(w.result(MODEL_S, 5).await["ok"], true);
    assert_eq!(
        w.sim.sim.vehicle_json(MODEL_S).unwrap()["sentry_mode"],
        true
    );
    w.probe
        .wait_text(&w.topic(MODEL_S, "vehicle_state_sentry_mode"), "ON")
        .await;
    w.running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_misspelt_or_oversize_command_is_refused_before_tesla_sees_it() {
    let w = World::start(SimConfig::default()).await;
    // Both cars polled once, so their own bounds (32 A chargers) are known.
    for vin in [MODEL_Y, MODEL_S] {
        w.probe
            .wait_text(&w.topic(vin, "vehicle_state_sentry_mode"), "OFF")
            .await;
    }
    let junk = "x".repeat(100_000);
    let cases = [
        (
            r#"{"command": "actuate_trunk", "params": {"which": "front"}, "id": "t1"}"#.to_string(),
            "has no parameter \"which\" (did you mean \"which_trunk\"?)",
        ),
        (
            r#"{"command": "set_charging_amps", "params": {"charging_amps": 40}, "id": "t2"}"#
                .to_string(),
            "between 0 and 32 (this car's range), not 40",
        ),
        (
            format!(r#"{{"command": "flash_lights", "params": {{"junk": "{junk}"}}, "id": "t3"}}"#),
            "too large",
        ),
    ];
    for vin in [MODEL_Y, MODEL_S] {
        for (n, (payload, reason)) in cases.iter().enumerate() {
            w.probe.publish(&w.topic(vin, "command"), payload).await;
            let result = w.result(vin, n + 1).await;
            assert_eq!(result["ok"], false, "{vin}: {result}");
            assert_eq!(result["id"], format!("t{}", n + 1));
            let text = result["reason"].as_str().unwrap();
            assert!(text.contains(reason), "{vin}: {text}");
            assert!(text.len() < 1000, "the junk is not echoed: {}", text.len());
        }
        let car = w.sim.sim.vehicle_json(vin).unwrap();
        let closures = &car["vehicle_data"]["vehicle_state"];
        assert_eq!(closures["ft"], 0, "{vin}: the frunk stayed shut");
        assert_eq!(closures["rt"], 0, "{vin}: the trunk stayed shut");
    }
    // Not one request reached Tesla's command endpoints (signed or REST).
    let billing = w.sim.sim.billing();
    assert_eq!(billing.commands, 0, "{billing:?}");
    assert_eq!(w.sim.sim.signed_stats(MODEL_Y).handshakes, 0);
    w.running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_seat_heater_starts_the_climate_first_when_it_is_off() {
    let w = World::start(SimConfig::default()).await;
    let climate = w.topic(MODEL_S, "climate_state_is_climate_on");
    w.probe.wait_text(&climate, "OFF").await;
    w.probe
        .publish(
            &w.topic(MODEL_S, "climate_state_seat_heater_left/set"),
            "high",
        )
        .await;
    assert_eq!(w.result(MODEL_S, 1).await["ok"], true);
    let car = w.sim.sim.vehicle_json(MODEL_S).unwrap();
    assert_eq!(car["is_climate_on"], true, "the climate was started");
    assert_eq!(car["vehicle_data"]["climate_state"]["seat_heater_left"], 3);
    assert_eq!(
        w.sim.sim.billing().by_vin[MODEL_S].commands,
        2,
        "auto_conditioning_start, then the heater"
    );
    // Both effects are published at once, before any poll.
    w.probe.wait_text(&climate, "ON").await;
    w.probe
        .wait_text(&w.topic(MODEL_S, "climate_state_seat_heater_left"), "high")
        .await;

    // With the climate on, the next heater command goes alone.
    w.probe
        .publish(
            &w.topic(MODEL_S, "climate_state_seat_heater_left/set"),
            "low",
        )
        .await;
    assert_eq!(w.result(MODEL_S, 2).await["ok"], true);
    assert_eq!(w.sim.sim.billing().by_vin[MODEL_S].commands, 3);
    w.running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sleeping_car_is_woken_once_for_a_command() {
    let w = World::start(SimConfig {
        wake_delay: Duration::from_millis(500),
        ..SimConfig::default()
    })
    .await;
    w.probe.wait_text(&w.topic(MODEL_S, "state"), "ON").await;
    w.sim.sim.act(MODEL_S, "sleep").unwrap();

    w.probe
        .publish(&w.topic(MODEL_S, "flash_lights/set"), "PRESS")
        .await;
    let result = w.result(MODEL_S, 1).await;
    assert_eq!(result["ok"], true, "{result}");
    let billing = w.sim.sim.billing().by_vin[MODEL_S].clone();
    assert_eq!(billing.wakes, 1, "{billing:?}");
    assert_eq!(billing.commands, 1, "{billing:?}");
    assert_eq!(
        billing.commands_while_asleep, 0,
        "the command waited for the car: {billing:?}"
    );
    w.running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn home_assistant_coming_online_gets_discovery_again() {
    let w = World::start(SimConfig::default()).await;
    let topic = format!("{}/device/teslasync_{MODEL_S}/config", w.setup.prefix());
    let limit = w.topic(MODEL_S, "charge_state_charge_limit_soc");
    // Settled: the config carries the firmware version, which arrives with the first data poll.
    w.probe
        .wait(&topic, |m| m.json()["device"]["sw_version"].is_string())
        .await;
    w.probe.wait_text(&limit, "80").await;
    let configs_before = w.probe.all(&topic).len();
    let limits_before = w.probe.all(&limit).len();
    w.probe
        .publish(&format!("{}/status", w.setup.prefix()), "online")
        .await;
    let configs = w.probe.wait_count(&topic, configs_before + 1).await;
    assert_eq!(
        configs[configs_before - 1].json(),
        configs[configs_before].json(),
        "the same config, sent again"
    );
    let limits = w.probe.wait_count(&limit, limits_before + 1).await;
    assert_eq!(limits.last().unwrap().text(), "80");
    w.running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn component_mode_publishes_one_config_per_entity() {
    let w = World::start_with(SimConfig::default(), |s, _| {
        s.cfg.mqtt.discovery = DiscoveryMode::Component
    })
    .await;
    let topic = format!(
        "{}/sensor/teslasync_{MODEL_S}/charge_state_battery_level/config",
        w.setup.prefix()
    );
    let config = w.probe.wait(&topic, |m| !m.payload.is_empty()).await.json();
    assert_eq!(
        config["unique_id"],
        format!("teslasync_{MODEL_S}_charge_state_battery_level")
    );
    assert_eq!(
        config["device"]["identifiers"],
        json!([format!("teslasync_{MODEL_S}")])
    );
    assert_eq!(
        config["state_topic"],
        w.topic(MODEL_S, "charge_state_battery_level")
    );
    let lock = format!(
        "{}/lock/teslasync_{MODEL_S}/vehicle_state_locked/config",
        w.setup.prefix()
    );
    w.probe.wait(&lock, |m| !m.payload.is_empty()).await;
    let device_topic = format!("{}/device/teslasync_{MODEL_S}/config", w.setup.prefix());
    assert!(
        w.probe.last(&device_topic).is_none(),
        "no device config in component mode"
    );
    w.running.stop().await;
}
