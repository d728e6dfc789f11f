//! `ha::discovery`: Home Assistant MQTT discovery payloads, as pure functions of the catalog.
//!
//! Given a car (its info and current signals) and the settings, returns `(topic, payload)` pairs; the
//! bridge decides what to publish. Signals matter because some options come from the car (a number's
//! maximum is the charger's maximum current), so a changed bound yields a changed payload, which the
//! bridge republishes. Payloads are `serde_json::Value` objects, whose keys serialize sorted, so equal
//! configs are equal bytes.

use serde_json::{json, Map, Value as Json};

use crate::config::DiscoveryMode;
use crate::ha::catalog::{Category, EntityDesc, Platform, CATALOG};
use crate::ha::topics::{object_id, unique_id, Topics};
use crate::vehicle::signal::{Signal, Signals, Value};
use crate::vehicle::VehicleInfo;

/// Origin block: tells Home Assistant's logs who published the entities.
fn origin() -> Json {
    json!({
        "name": "TeslaSync",
        "sw_version": env!("CARGO_PKG_VERSION"),
        "support_url": "https://github.com/teslasync/teslasync",
    })
}

fn device(info: &VehicleInfo, signals: &Signals) -> Json {
    let mut dev = json!({
        "identifiers": [object_id(&info.vin)],
        "name": info.display_name,
        "manufacturer": "Tesla",
        "model": info.model(),
        "serial_number": info.vin,
    });
    if let Some(Value::Text(version)) = signals.get(&Signal::Version) {
        dev["sw_version"] = json!(version);
    }
    dev
}

/// Bridge status AND vehicle availability: a sleeping car stays available, a stopped bridge does not.
fn availability(topics: &Topics, vin: &str) -> Json {
    json!([{ "topic": topics.status() }, { "topic": topics.availability(vin) }])
}

/// The platform-specific part of one entity's config (no device, origin or availability).
pub fn component(topics: &Topics, info: &VehicleInfo, signals: &Signals, e: &EntityDesc) -> Json {
    let vin = &info.vin;
    let mut c = Map::new();
    c.insert("platform".into(), json!(e.platform.as_str()));
    c.insert("unique_id".into(), json!(unique_id(vin, e.key)));
    c.insert("name".into(), json!(e.name));
    let optional = [
        ("device_class", e.device_class),
        ("state_class", e.state_class),
        ("unit_of_measurement", e.unit),
        ("icon", e.icon),
    ];
    for (k, v) in optional {
        if let Some(v) = v {
            c.insert(k.into(), json!(v));
        }
    }
    if let Some(p) = e.precision {
        c.insert("suggested_display_precision".into(), json!(p));
    }
    match e.category {
        Some(Category::Diagnostic) => {
            c.insert("entity_category".into(), json!("diagnostic"));
        }
        Some(Category::Config) => {
            c.insert("entity_category".into(), json!("config"));
        }
        None => {}
    }
    if !e.enabled {
        c.insert("enabled_by_default".into(), json!(false));
    }
    if e.state.is_some() {
        c.insert("state_topic".into(), json!(topics.state(vin, e.key)));
    }
    if e.attributes.is_some() {
        c.insert(
            "json_attributes_topic".into(),
            json!(topics.attributes(vin, e.key)),
        );
    }
    if e.command.is_some() {
        c.insert("command_topic".into(), json!(topics.set(vin, e.key)));
    }
    if !e.options.is_empty() {
        c.insert("options".into(), json!(e.options));
    }
    if let Some(range) = e.range {
        let r = range(signals);
        c.insert("min".into(), json!(r.min));
        c.insert("max".into(), json!(r.max));
        c.insert("step".into(), json!(r.step));
        c.insert("mode".into(), json!("slider"));
    }
    match e.platform {
        Platform::Lock => {
            c.insert("state_locked".into(), json!("locked"));
            c.insert("state_unlocked".into(), json!("unlocked"));
        }
        Platform::Cover => {
            c.insert("payload_stop".into(), Json::Null);
            if e.key == "vehicle_state_ft" {
                c.insert("payload_close".into(), Json::Null);
            }
        }
        Platform::DeviceTracker => {
            c.insert("source_type".into(), json!("gps"));
        }
        _ => {}
    }
    Json::Object(c)
}

/// Every discovery message for one car: one device config, or one config per entity.
pub fn configs(
    topics: &Topics,
    mode: DiscoveryMode,
    info: &VehicleInfo,
    signals: &Signals,
) -> Vec<(String, Json)> {
    let vin = &info.vin;
    match mode {
        DiscoveryMode::Device => {
            let components: Map<String, Json> = CATALOG
                .iter()
                .map(|e| (e.key.to_string(), component(topics, info, signals, e)))
                .collect();
            let payload = json!({
                "device": device(info, signals),
                "origin": origin(),
                "availability": availability(topics, vin),
                "availability_mode": "all",
                "qos": 1,
                "components": components,
            });
            vec![(topics.discovery_device(vin), payload)]
        }
        DiscoveryMode::Component => CATALOG
            .iter()
            .map(|e| {
                let mut c = component(topics, info, signals, e);
                let obj = c.as_object_mut().expect("component is an object");
                obj.remove("platform");
                obj.insert("device".into(), device(info, signals));
                obj.insert("origin".into(), origin());
                obj.insert("availability".into(), availability(topics, vin));
                obj.insert("availability_mode".into(), json!("all"));
                obj.insert("qos".into(), json!(1));
                (topics.discovery_component(e.platform, vin, e.key), c)
            })
            .collect(),
    }
}

/// The topics to clear (empty retained payload) when a car leaves the account.
pub fn removal_topics(topics: &Topics, mode: DiscoveryMode, vin: &str) -> Vec<String> {
    match mode {
        DiscoveryMode::Device => vec![topics.discovery_device(vin)],
        DiscoveryMode::Component => CATALOG
            .iter()
            .map(|e| topics.discovery_component(e.platform, vin, e.key))
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn car() -> (VehicleInfo, Signals) {
        let info = VehicleInfo {
            vin: "5YJSA1E2XJF000002".into(),
            display_name: "Red Rocket".into(),
            signing_required: false,
        };
        let signals = [
            (Signal::Version, Value::Text("2024.44.25".into())),
            (Signal::ChargeCurrentRequestMax, Value::Int(16)),
        ]
        .into_iter()
        .collect();
        (info, signals)
    }

    #[test]
    fn device_config_has_device_origin_availability_and_every_component() {
        let (info, signals) = car();
        let t = Topics::new("teslasync", "homeassistant");
        let configs = configs(&t, DiscoveryMode::Device, &info, &signals);
        assert_eq!(configs.len(), 1);
        let (topic, p) = &configs[0];
        assert_eq!(
            topic,
            "homeassistant/device/teslasync_5YJSA1E2XJF000002/config"
        );
        assert_eq!(
            p["device"]["identifiers"],
            json!(["teslasync_5YJSA1E2XJF000002"])
        );
        assert_eq!(p["device"]["model"], "Model S");
        assert_eq!(p["device"]["sw_version"], "2024.44.25");
        assert_eq!(p["origin"]["name"], "TeslaSync");
        assert_eq!(p["availability_mode"], "all");
        assert_eq!(
            p["availability"][1]["topic"],
            "teslasync/5YJSA1E2XJF000002/availability"
        );
        let cmps = p["components"].as_object().unwrap();
        assert_eq!(cmps.len(), CATALOG.len());
        let lock = &cmps["vehicle_state_locked"];
        assert_eq!(lock["platform"], "lock");
        assert_eq!(
            lock["unique_id"],
            "teslasync_5YJSA1E2XJF000002_vehicle_state_locked"
        );
        assert_eq!(
            lock["state_topic"],
            "teslasync/5YJSA1E2XJF000002/vehicle_state_locked"
        );
        assert_eq!(
            lock["command_topic"],
            "teslasync/5YJSA1E2XJF000002/vehicle_state_locked/set"
        );
        let amps = &cmps["charge_state_charge_current_request"];
        assert_eq!(amps["max"], json!(16.0), "bounds come from the car");
        assert_eq!(
            cmps["location"]["json_attributes_topic"],
            "teslasync/5YJSA1E2XJF000002/location/attributes"
        );
        assert!(cmps["wake"].get("state_topic").is_none());
    }

    #[test]
    fn component_mode_publishes_one_config_per_entity_with_the_shared_parts() {
        let (info, signals) = car();
        let t = Topics::new("teslasync", "homeassistant");
        let configs = configs(&t, DiscoveryMode::Component, &info, &signals);
        assert_eq!(configs.len(), CATALOG.len());
        let (topic, p) = configs
            .iter()
            .find(|(topic, _)| topic.contains("/sensor/") && topic.contains("battery_level"))
            .unwrap();
        assert_eq!(
            topic,
            "homeassistant/sensor/teslasync_5YJSA1E2XJF000002/charge_state_battery_level/config"
        );
        assert!(p.get("platform").is_none());
        assert_eq!(p["device"]["name"], "Red Rocket");
        assert_eq!(p["device_class"], "battery");
        assert_eq!(
            removal_topics(&t, DiscoveryMode::Component, &info.vin).len(),
            CATALOG.len()
        );
    }

    #[test]
    fn unique_ids_never_collide_across_cars() {
        let t = Topics::new("teslasync", "homeassistant");
        let mut ids = std::collections::HashSet::new();
        for vin in ["5YJSA1E2XJF000002", "7SAYGDEE1NA000001"] {
            let info = VehicleInfo {
                vin: vin.into(),
                display_name: "x".into(),
                signing_required: false,
            };
            for (_, p) in configs(&t, DiscoveryMode::Component, &info, &Signals::new()) {
                assert!(ids.insert(p["unique_id"].as_str().unwrap().to_string()));
            }
        }
    }
}
