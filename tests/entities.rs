//! Every control entity end to end, as Home Assistant uses it: its command payload on its MQTT
//! topic, the simulated car changing, and the state topic following after the next poll; for a car
//! that takes only signed commands (the Model Y) and one that takes only REST (the Model S). Also
//! switching the discovery mode clears the other mode's configs.

mod common;

use std::time::Duration;

use common::*;
use serde_json::{json, Value};
use teslasync::config::DiscoveryMode;
use teslasync::ha::catalog;
use teslasync::keys::{self, CommandKey};
use teslasync::sim::SimConfig;

/// One control: `(entity id, climate aspect, payload)`, what the simulated car then reports under
/// a JSON pointer of its control view, and the state `(topic below the car, payload)` that must
/// follow.
struct Case {
    id: &'static str,
    aspect: Option<&'static str>,
    payload: &'static str,
    car: Option<(&'static str, Value)>,
    state: Option<(&'static str, &'static str)>,
}

const fn case(id: &'static str, payload: &'static str) -> Case {
    Case {
        id,
        aspect: None,
        payload,
        car: None,
        state: None,
    }
}

impl Case {
    fn aspect(mut self, a: &'static str) -> Case {
        self.aspect = Some(a);
        self
    }
    fn car(mut self, pointer: &'static str, v: Value) -> Case {
        self.car = Some((pointer, v));
        self
    }
    fn state(mut self, topic: &'static str, payload: &'static str) -> Case {
        self.state = Some((topic, payload));
        self
    }
}

/// Controls every simulated car supports, in an order that keeps each step meaningful.
fn cases() -> Vec<Case> {
    vec![
        case("vehicle_state_locked", "UNLOCK")
            .car("/locked", json!(false))
            .state("vehicle_state_locked", "unlocked"),
        case("vehicle_state_locked", "LOCK")
            .car("/locked", json!(true))
            .state("vehicle_state_locked", "locked"),
        case("vehicle_state_sentry_mode", "ON")
            .car("/sentry_mode", json!(true))
            .state("vehicle_state_sentry_mode", "ON"),
        case("charge_state_charge_limit_soc", "90")
            .car("/charge_limit_soc", json!(90))
            .state("charge_state_charge_limit_soc", "90"),
        case("charge_state_charge_current_request", "10")
            .car("/charge_current_request", json!(10))
            .state("charge_state_charge_current_request", "10"),
        case("charge_state_charge_port_door_open", "OPEN")
            .car("/charge_port_door_open", json!(true))
            .state("charge_state_charge_port_door_open", "open"),
        case("charge_state_charge_port_door_open", "CLOSE")
            .car("/charge_port_door_open", json!(false))
            .state("charge_state_charge_port_door_open", "closed"),
        case("charge_state_charge_port_latch", "UNLOCK")
            .car("/charge_port_door_open", json!(true))
            .state("charge_state_charge_port_latch", "unlocked"),
        case("charge_state_charge_port_door_open", "CLOSE")
            .car("/charge_port_door_open", json!(false))
            .state("charge_state_charge_port_door_open", "closed"),
        case("climate_state_is_climate_on", "ON")
            .car("/is_climate_on", json!(true))
            .state("climate_state_is_climate_on", "ON"),
        case("climate_state_seat_heater_left", "medium")
            .car("/seat_heaters/0", json!(2))
            .state("climate_state_seat_heater_left", "medium"),
        case("climate_state_seat_heater_right", "low")
            .car("/seat_heaters/1", json!(1))
            .state("climate_state_seat_heater_right", "low"),
        case("climate_state_seat_heater_rear_left", "high")
            .car("/seat_heaters/2", json!(3))
            .state("climate_state_seat_heater_rear_left", "high"),
        case("climate_state_seat_heater_rear_center", "low")
            .car("/seat_heaters/3", json!(1))
            .state("climate_state_seat_heater_rear_center", "low"),
        case("climate_state_seat_heater_rear_right", "medium")
            .car("/seat_heaters/4", json!(2))
            .state("climate_state_seat_heater_rear_right", "medium"),
        case("driver_temp", "22.5")
            .aspect("temperature")
            .car("/driver_temp_setting", json!(22.5))
            .state("driver_temp/temperature", "22.5"),
        case("driver_temp", "dog")
            .aspect("preset")
            .car("/climate_keeper_mode", json!("dog"))
            .state("driver_temp/preset", "dog"),
        case("driver_temp", "none")
            .aspect("preset")
            .car("/climate_keeper_mode", json!("off"))
            .state("driver_temp/preset", "None"),
        case("driver_temp", "bioweapon")
            .aspect("fan")
            .car("/bioweapon_mode", json!(true))
            .state("driver_temp/fan", "bioweapon"),
        case("driver_temp", "off")
            .aspect("mode")
            .car("/is_climate_on", json!(false))
            .state("driver_temp/mode", "off"),
        case("driver_temp", "heat_cool")
            .aspect("mode")
            .car("/is_climate_on", json!(true))
            .state("driver_temp/mode", "heat_cool"),
        case("climate_state_cabin_overheat_protection", "fan_only")
            .aspect("mode")
            .car("/cabin_overheat_protection", json!("FanOnly"))
            .state("climate_state_cabin_overheat_protection/mode", "fan_only"),
        case("climate_state_defrost_mode", "ON")
            .car("/defrost", json!(true))
            .state("climate_state_defrost_mode", "ON"),
        case("windows", "OPEN")
            .car("/windows", json!([1, 1, 1, 1]))
            .state("windows", "open"),
        case("windows", "CLOSE")
            .car("/windows", json!([0, 0, 0, 0]))
            .state("windows", "closed"),
        case("vehicle_state_rt", "OPEN")
            .car("/trunk", json!(1))
            .state("vehicle_state_rt", "open"),
        case("vehicle_state_rt", "CLOSE")
            .car("/trunk", json!(0))
            .state("vehicle_state_rt", "closed"),
        case("vehicle_state_ft", "OPEN")
            .car("/frunk", json!(1))
            .state("vehicle_state_ft", "open"),
        case("vehicle_state_valet_mode", "ON")
            .car("/valet_mode", json!(true))
            .state("vehicle_state_valet_mode", "ON"),
        case("vehicle_state_valet_mode", "OFF")
            .car("/valet_mode", json!(false))
            .state("vehicle_state_valet_mode", "OFF"),
        case("media_volume", "5")
            .car("/audio_volume", json!(5.0))
            .state("media_volume", "5"),
        case("enable_keyless_driving", "PRESS")
            .car("/remote_start", json!(true))
            .state("remote_start_active", "ON"),
        case("flash_lights", "PRESS"),
        case("honk", "PRESS"),
        case("homelink", "PRESS"),
        case("media_toggle_playback", "PRESS"),
        case("media_next_track", "PRESS"),
        case("media_prev_track", "PRESS"),
        case("media_next_fav", "PRESS"),
        case("media_prev_fav", "PRESS"),
        case("media_volume_up", "PRESS"),
        case("media_volume_down", "PRESS"),
        case("climate_state_steering_wheel_heat_level", "high")
            .car("/steering_wheel_heat_level", json!(3))
            .state("climate_state_steering_wheel_heat_level", "high"),
        case("climate_state_auto_seat_climate_left", "ON")
            .car("/auto_seat_climate/0", json!(true))
            .state("climate_state_auto_seat_climate_left", "ON"),
        case("climate_state_auto_seat_climate_right", "ON")
            .car("/auto_seat_climate/1", json!(true))
            .state("climate_state_auto_seat_climate_right", "ON"),
        case("climate_state_auto_steering_wheel_heat", "ON")
            .car("/auto_steering_wheel_heat", json!(true))
            .state("climate_state_auto_steering_wheel_heat", "ON"),
        // Guest mode is streamed only (no vehicle_data field): the car changes, the state comes
        // with Fleet Telemetry.
        case("switch_guest_mode_enabled", "ON").car("/guest_mode", json!(true)),
        case("enable_keep_accessory_power_mode", "PRESS").car("/keep_accessory_power", json!(true)),
        case("disable_keep_accessory_power_mode", "PRESS")
            .car("/keep_accessory_power", json!(false)),
        case("charge_state_scheduled_departure_time_minutes", "07:30")
            .car("/scheduled_departure", json!(450))
            .state("charge_state_scheduled_departure_time_minutes", "07:30:00"),
        case("charge_state_scheduled_departure_off", "PRESS")
            .car("/scheduled_departure", Value::Null),
        case("charge_state_scheduled_charging_start_time_app", "01:00:00")
            .car("/scheduled_charging_start", json!(60))
            .state("charge_state_scheduled_charging_start_time_app", "01:00:00"),
        case("charge_state_scheduled_charging_off", "PRESS")
            .car("/scheduled_charging_start", Value::Null),
        // Charge on solar: the car never reports it, so the state is the one TeslaSync set; the
        // limit keeps the switch's setting and the switch keeps the limit.
        case("charge_on_solar_lower_limit", "30")
            .car(
                "/charge_on_solar",
                json!({"enabled": false, "lower_charge_limit": 30.0, "upper_charge_limit": 90.0}),
            )
            .state("charge_on_solar_lower_limit", "30"),
        case("charge_on_solar", "ON")
            .car(
                "/charge_on_solar",
                json!({"enabled": true, "lower_charge_limit": 30.0, "upper_charge_limit": 90.0}),
            )
            .state("charge_on_solar", "ON"),
        case("boombox", "PRESS"),
        case("wake", "PRESS"),
    ]
}

/// The car's key paired, polling every minute and never pausing for sleep, cars that stay awake.
async fn world() -> World {
    let sim_cfg = SimConfig {
        clock: manual_clock(),
        sleep_after: Duration::from_secs(86_400),
        ..SimConfig::default()
    };
    World::start_with(sim_cfg, |setup, sim| {
        let key =
            CommandKey::generate(&keys::default_path(&setup.cfg.storage.path), false).unwrap();
        sim.sim.pair_key(MODEL_Y, &key.public_key_bytes()).unwrap();
        let p = &mut setup.cfg.polling;
        p.list_interval = Duration::from_secs(60);
        p.online_interval = Duration::from_secs(60);
        p.idle_before_sleep = Duration::from_secs(86_400);
    })
    .await
}

/// Publishes a payload on the entity's command topic and returns the command result.
async fn send(
    w: &World,
    vin: &str,
    n: &mut usize,
    id: &str,
    aspect: Option<&str>,
    payload: &str,
) -> Value {
    let topic = match aspect {
        None => w.topic(vin, &format!("{id}/set")),
        Some(a) => w.topic(vin, &format!("{id}/{a}/set")),
    };
    w.probe.publish(&topic, payload).await;
    *n += 1;
    w.result(vin, *n).await
}

/// Lets minutes pass until the poller has read `vehicle_data` again (the cost governor may pace
/// data requests) and the state arrived.
async fn poll_until(w: &World, vin: &str, topic: &str, payload: &str) {
    let topic = w.topic(vin, topic);
    for _ in 0..60 {
        if w.probe.last(&topic).is_some_and(|m| m.text() == payload) {
            return;
        }
        let cycles = w.running.daemon().poll_status().borrow().cycles;
        w.sim.sim.advance(Duration::from_secs(61)).unwrap();
        w.running.wait_cycles_after(cycles).await;
    }
    w.probe.wait_text(&topic, payload).await;
}

async fn every_control_works_on(vin: &str) {
    let w = world().await;
    w.probe
        .wait_text(&w.topic(vin, "vehicle_state_locked"), "locked")
        .await;
    let mut n = 0;
    for c in cases() {
        let result = send(&w, vin, &mut n, c.id, c.aspect, c.payload).await;
        assert_eq!(
            result["ok"], true,
            "{vin} {} {:?} {}: {result}",
            c.id, c.aspect, c.payload
        );
        if let Some((pointer, expected)) = &c.car {
            let car = w.sim.sim.vehicle_json(vin).unwrap();
            assert_eq!(
                car.pointer(pointer),
                Some(expected),
                "{vin} {} {}: the car did not change",
                c.id,
                c.payload
            );
        }
        if let Some((topic, payload)) = c.state {
            poll_until(&w, vin, topic, payload).await;
        }
    }
    w.running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_control_works_on_a_signed_only_car() {
    every_control_works_on(MODEL_Y).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_control_works_on_a_rest_car() {
    every_control_works_on(MODEL_S).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hardware_and_firmware_controls_follow_the_car() {
    let w = world().await;
    let mut n = 0;
    let device = format!("{}/device/teslasync_{MODEL_S}/config", w.setup.prefix());
    let config = w
        .probe
        .wait(&device, |m| {
            m.json()["components"]
                .get("vehicle_state_sun_roof_state")
                .is_some()
        })
        .await
        .json();
    let cmps = config["components"].as_object().unwrap();
    assert!(
        !cmps.contains_key("climate_state_seat_fan_front_left"),
        "no seat coolers on a car without them"
    );
    assert!(!cmps.contains_key("tonneau"), "a Model S has no tonneau");
    let y = format!("{}/device/teslasync_{MODEL_Y}/config", w.setup.prefix());
    let y = w.probe.wait(&y, |m| !m.payload.is_empty()).await.json();
    assert!(
        y["components"]
            .get("vehicle_state_sun_roof_state")
            .is_none(),
        "the Model Y has no sunroof"
    );

    // Only the Model Y sets its cabin overheat protection temperature.
    let mut ny = 0;
    let result = send(
        &w,
        MODEL_Y,
        &mut ny,
        "climate_state_cabin_overheat_protection",
        Some("temperature"),
        "35",
    )
    .await;
    assert_eq!(result["ok"], true, "{result}");
    assert_eq!(w.sim.sim.vehicle_json(MODEL_Y).unwrap()["cop_temp"], 1);
    poll_until(
        &w,
        MODEL_Y,
        "climate_state_cabin_overheat_protection/temperature",
        "35",
    )
    .await;

    // The Model S has a sunroof and an update waiting. STOP exists only over REST, which this car
    // takes: it reaches the car and leaves the roof where it is.
    for payload in ["OPEN", "STOP"] {
        let roof = "vehicle_state_sun_roof_state";
        let result = send(&w, MODEL_S, &mut n, roof, None, payload).await;
        assert_eq!(result["ok"], true, "{payload}: {result}");
        assert_eq!(
            w.sim.sim.vehicle_json(MODEL_S).unwrap()["sun_roof_percent_open"],
            15
        );
        poll_until(&w, MODEL_S, roof, "open").await;
    }

    let update = w.topic(MODEL_S, "vehicle_state_software_update_status");
    let state = w.probe.wait(&update, |_| true).await.json();
    assert_eq!(state["latest_version"], "2024.45.32.20");
    assert_eq!(state["in_progress"], false);
    let result = send(
        &w,
        MODEL_S,
        &mut n,
        "vehicle_state_software_update_status",
        None,
        "install",
    )
    .await;
    assert_eq!(result["ok"], true, "{result}");
    assert_eq!(
        w.sim.sim.vehicle_json(MODEL_S).unwrap()["software_update"],
        "scheduled"
    );
    // Scheduled, not installing: never shown as "in progress".
    let cycles = w.running.daemon().poll_status().borrow().cycles;
    w.sim.sim.advance(Duration::from_secs(61)).unwrap();
    w.running.wait_cycles_after(cycles).await;
    let state = w.probe.wait(&update, |_| true).await.json();
    assert_eq!(state["in_progress"], false, "{state}");

    // Refused before anything reaches Tesla: out of the car's range, the cable lock, the frunk.
    for (id, payload, why) in [
        ("charge_state_charge_current_request", "33", "0 to 32"),
        ("charge_state_charge_port_latch", "LOCK", "locks by itself"),
        ("vehicle_state_ft", "CLOSE", "cannot be closed remotely"),
        ("driver_temp/temperature", "40", "15 to 28"),
    ] {
        let (id, aspect) = match id.split_once('/') {
            Some((id, aspect)) => (id, Some(aspect)),
            None => (id, None),
        };
        let result = send(&w, MODEL_S, &mut n, id, aspect, payload).await;
        assert_eq!(result["ok"], false);
        assert!(result["reason"].as_str().unwrap().contains(why), "{result}");
    }
    let commands = w.sim.sim.billing().by_vin[MODEL_S].commands;
    assert_eq!(
        commands, 3,
        "only the sunroof (open, stop) and the update reached Tesla"
    );
    w.running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn switching_the_discovery_mode_clears_the_other_modes_configs() {
    let w = World::start(SimConfig::default()).await;
    let device = format!("{}/device/teslasync_{MODEL_S}/config", w.setup.prefix());
    w.probe.wait(&device, |m| !m.payload.is_empty()).await;
    w.running.stop().await;

    let mut cfg = w.setup.cfg.clone();
    cfg.mqtt.discovery = DiscoveryMode::Component;
    let running = Running::start(&cfg, w.sim.sim.clock()).await;
    let lock = format!(
        "{}/lock/teslasync_{MODEL_S}/vehicle_state_locked/config",
        w.setup.prefix()
    );
    w.probe.wait(&lock, |m| !m.payload.is_empty()).await;
    w.probe.wait(&device, |m| m.payload.is_empty()).await;
    let bridge = format!(
        "{}/device/{}_bridge/config",
        w.setup.prefix(),
        w.setup.base()
    );
    w.probe.wait(&bridge, |m| m.payload.is_empty()).await;
    running.stop().await;

    // And back: every component config goes.
    let published: Vec<String> = catalog::CATALOG
        .iter()
        .map(|e| {
            format!(
                "{}/{}/teslasync_{MODEL_S}/{}/config",
                w.setup.prefix(),
                e.platform().as_str(),
                e.id()
            )
        })
        .filter(|t| w.probe.last(t).is_some_and(|m| !m.payload.is_empty()))
        .collect();
    assert!(published.len() > 100, "{}", published.len());
    let running = Running::start(&w.setup.cfg, w.sim.sim.clock()).await;
    w.probe.wait(&device, |m| !m.payload.is_empty()).await;
    for topic in &published {
        w.probe.wait(topic, |m| m.payload.is_empty()).await;
    }
    running.stop().await;
}
