//! `ha::discovery`: Home Assistant MQTT discovery payloads, as pure functions of the catalog.
//!
//! Given a car (its info and current signals) and the settings, returns `(topic, payload)` pairs; the
//! bridge decides what to publish. Signals matter because some options come from the car (a number's
//! maximum is the charger's maximum current, a sunroof exists only on cars that have one), so a
//! changed bound yields a changed payload, which the bridge republishes. Payloads are
//! `serde_json::Value` objects, whose keys serialize sorted, so equal configs are equal bytes.
//!
//! Each platform's keys come from its row type alone; nothing here looks at an entity's key.

use std::sync::LazyLock;

use serde_json::{json, Map, Value as Json};

use crate::config::DiscoveryMode;
use crate::ha::catalog::{self, aspect, resolve, Climate, Entity, Measure, Options, Platform};
use crate::ha::topics::{bridge_object_id, object_id, unique_id, Topics};
use crate::vehicle::signal::{Signal, Signals, Value};
use crate::vehicle::VehicleInfo;

/// What discovery needs besides the car.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Site {
    pub mode: DiscoveryMode,
    /// The status page (`http.public_url`, else the listen address), shown as "Visit" in Home
    /// Assistant's device page.
    pub configuration_url: Option<String>,
}

/// Origin block: tells Home Assistant's logs who published the entities.
fn origin() -> Json {
    json!({
        "name": "TeslaSync",
        "sw_version": env!("CARGO_PKG_VERSION"),
        "support_url": "https://github.com/teslasync/teslasync",
    })
}

fn device(topics: &Topics, site: &Site, info: &VehicleInfo, signals: &Signals) -> Json {
    let mut dev = json!({
        "identifiers": [object_id(&info.vin)],
        "name": info.display_name,
        "manufacturer": "Tesla",
        "model": info.model(),
        "serial_number": info.vin,
        "via_device": bridge_object_id(topics.base()),
    });
    if let Some(Value::Text(version)) = signals.get(&Signal::Version) {
        dev["sw_version"] = json!(version);
    }
    if let Some(url) = &site.configuration_url {
        dev["configuration_url"] = json!(url);
    }
    dev
}

/// Bridge status AND vehicle availability: a sleeping car stays available, a stopped bridge does not.
fn availability(topics: &Topics, vin: &str) -> Json {
    json!([{ "topic": topics.status() }, { "topic": topics.availability(vin) }])
}

/// `sensor.red_rocket_battery_level`: the platform, then the device and entity names, as Home
/// Assistant would name it (only applied when the entity is first registered).
fn default_entity_id(platform: Platform, device_name: &str, entity_name: &str) -> String {
    format!(
        "{}.{}_{}",
        platform.as_str(),
        slug(device_name),
        slug(entity_name)
    )
}

/// Lower-case ASCII words joined by `_`.
pub fn slug(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('_') && !out.is_empty() {
            out.push('_');
        }
    }
    out.trim_end_matches('_').to_string()
}

fn put(c: &mut Map<String, Json>, key: &str, value: impl Into<Json>) {
    c.insert(key.into(), value.into());
}

fn options_list(o: &Options) -> Vec<&'static str> {
    o.choices.iter().map(|c| c.option).collect()
}

/// How long a command from a Home Assistant control stays valid (MQTT 5 message expiry, seconds):
/// room for the executor's 60 s wake and a short queue, not for a command run minutes late.
pub const COMMAND_EXPIRY_SECS: u32 = 90;

/// The platform-specific part of one entity's config (no device, origin or availability).
pub fn component(topics: &Topics, info: &VehicleInfo, signals: &Signals, e: &Entity) -> Json {
    let vin = &info.vin;
    let id = e.id();
    let common = e.common();
    let mut c = Map::new();
    put(&mut c, "platform", e.platform().as_str());
    put(&mut c, "unique_id", unique_id(vin, id));
    put(&mut c, "name", common.name);
    let device_name = if info.display_name.trim().is_empty() {
        vin.as_str()
    } else {
        info.display_name.as_str()
    };
    put(
        &mut c,
        "default_entity_id",
        default_entity_id(e.platform(), device_name, common.name),
    );
    if let Some(icon) = common.icon {
        put(&mut c, "icon", icon);
    }
    if let Some(category) = common.category {
        put(&mut c, "entity_category", category.as_str());
    }
    if !common.enabled {
        put(&mut c, "enabled_by_default", false);
    }
    if !common.visible {
        put(&mut c, "visible_by_default", false);
    }
    let state = topics.state(vin, id);
    let set = topics.set(vin, id);
    let measure = |c: &mut Map<String, Json>, m: Measure| {
        if let Some(class) = m.device_class() {
            put(c, "device_class", class);
        }
        if let Some(unit) = m.unit() {
            put(c, "unit_of_measurement", unit.as_str());
        }
        if !m.options().is_empty() {
            put(c, "options", m.options());
        }
    };
    match e {
        Entity::Sensor(r) => {
            put(&mut c, "state_topic", state);
            measure(&mut c, r.measure);
            if let Some(sc) = r.state_class {
                put(&mut c, "state_class", sc.as_str());
            }
            if let Some(p) = r.precision {
                put(&mut c, "suggested_display_precision", p);
            }
        }
        Entity::BinarySensor(r) => {
            put(&mut c, "state_topic", state);
            if let Some(class) = r.class {
                put(&mut c, "device_class", class.as_str());
            }
        }
        Entity::Switch(_) => {
            put(&mut c, "state_topic", state);
            put(&mut c, "command_topic", set);
            put(&mut c, "device_class", "switch");
        }
        Entity::Number(r) => {
            put(&mut c, "state_topic", state);
            put(&mut c, "command_topic", set);
            measure(&mut c, r.measure);
            let range = resolve(&r.bounds, signals);
            put(&mut c, "min", range.min);
            put(&mut c, "max", range.max);
            put(&mut c, "step", range.step);
            put(&mut c, "mode", "auto");
        }
        Entity::Select(r) => {
            put(&mut c, "state_topic", state);
            put(&mut c, "command_topic", set);
            put(&mut c, "options", options_list(&r.options));
        }
        Entity::Button(_) => put(&mut c, "command_topic", set),
        Entity::Cover(r) => {
            put(&mut c, "state_topic", state);
            put(&mut c, "command_topic", set);
            put(&mut c, "device_class", r.class.as_str());
            // A missing action hides its button.
            for (key, call) in [
                ("payload_open", r.open),
                ("payload_close", r.close),
                ("payload_stop", r.stop),
            ] {
                if call.is_none() {
                    c.insert(key.into(), Json::Null);
                }
            }
        }
        Entity::Lock(_) => {
            put(&mut c, "state_topic", state);
            put(&mut c, "command_topic", set);
            put(&mut c, "state_locked", "locked");
            put(&mut c, "state_unlocked", "unlocked");
        }
        Entity::Climate(r) => climate(&mut c, topics, vin, id, r, signals),
        Entity::Update(_) => {
            put(&mut c, "state_topic", state);
            put(&mut c, "command_topic", set);
            put(&mut c, "payload_install", "install");
            put(&mut c, "device_class", "firmware");
        }
        Entity::Tracker(_) => {
            // The state topic carries a place name (a route's destination) or `None` (reset);
            // otherwise Home Assistant derives the zone from the coordinates.
            put(&mut c, "json_attributes_topic", topics.attributes(vin, id));
            put(&mut c, "state_topic", state);
            put(&mut c, "source_type", "gps");
        }
        Entity::Time(_) => {
            put(&mut c, "state_topic", state);
            put(&mut c, "command_topic", set);
        }
        Entity::Event(r) => {
            // The car's event topic carries every kind; the template keeps this entity's kinds
            // (an empty rendering is ignored) and passes the message on as an attribute.
            put(&mut c, "state_topic", topics.event(vin));
            put(&mut c, "event_types", r.kinds);
            let kinds: Vec<String> = r.kinds.iter().map(|k| format!("'{k}'")).collect();
            put(
                &mut c,
                "value_template",
                format!(
                    "{{% if value_json.kind in [{}] %}}{{{{ {{'event_type': value_json.kind, 'message': value_json.message, 'at': value_json.at}} | tojson }}}}{{% endif %}}",
                    kinds.join(", ")
                ),
            );
        }
    }
    if e.is_control() {
        // Home Assistant (on MQTT 5) then publishes commands with this expiry: a broker drops a
        // command nobody took in time, and the bridge refuses one whose expiry passes while it
        // waits (queue, wake), so an unlock pressed minutes ago never runs now.
        put(&mut c, "message_expiry_interval", COMMAND_EXPIRY_SECS);
    }
    Json::Object(c)
}

fn climate(
    c: &mut Map<String, Json>,
    topics: &Topics,
    vin: &str,
    id: &str,
    r: &Climate,
    signals: &Signals,
) {
    let state = |a| topics.aspect_state(vin, id, a);
    let set = |a| topics.aspect_set(vin, id, a);
    put(c, "modes", options_list(&r.modes));
    put(c, "mode_state_topic", state(aspect::MODE));
    put(c, "mode_command_topic", set(aspect::MODE));
    put(c, "temperature_unit", "C");
    if r.current.is_some() {
        put(
            c,
            "current_temperature_topic",
            state(aspect::CURRENT_TEMPERATURE),
        );
    }
    let has_target = r
        .target_requires
        .is_none_or(|cap| catalog::has(signals, cap));
    if let Some(target) = r.target.filter(|_| has_target) {
        let range = resolve(&target.bounds, signals);
        put(c, "temperature_state_topic", state(aspect::TEMPERATURE));
        put(c, "temperature_command_topic", set(aspect::TEMPERATURE));
        put(c, "min_temp", range.min);
        put(c, "max_temp", range.max);
        put(c, "temp_step", range.step);
        put(c, "precision", if range.step < 1.0 { 0.5 } else { 1.0 });
    }
    if let Some(p) = &r.presets {
        // Home Assistant adds "none" itself; the car's "off" is that.
        let presets: Vec<&str> = options_list(p)
            .into_iter()
            .filter(|o| *o != "off")
            .collect();
        put(c, "preset_modes", presets);
        put(c, "preset_mode_state_topic", state(aspect::PRESET));
        put(c, "preset_mode_command_topic", set(aspect::PRESET));
    }
    if let Some(f) = &r.fans {
        put(c, "fan_modes", options_list(f));
        put(c, "fan_mode_state_topic", state(aspect::FAN));
        put(c, "fan_mode_command_topic", set(aspect::FAN));
    }
}

/// What a car's discovery is built from: its info and the few signals [`configs`] reads — the
/// hardware it reports (which entities exist), its firmware version (the device card) and the
/// signals that bound its numbers and set points. Equal inputs give equal discovery, so the bridge
/// rebuilds discovery only when they change, not for every value a streaming car sends (a test
/// changes every other signal and checks that discovery stays the same).
#[derive(Debug, Clone, PartialEq)]
pub struct Inputs {
    info: VehicleInfo,
    signals: Vec<Option<Value>>,
}

/// The signals discovery depends on, in a fixed order.
static INPUT_SIGNALS: LazyLock<Vec<Signal>> = LazyLock::new(|| {
    let mut signals: Vec<Signal> = std::iter::once(Signal::Version)
        .chain(catalog::Capability::ALL.iter().map(|c| c.signal()))
        .chain(catalog::bound_signals())
        .collect();
    signals.sort();
    signals.dedup();
    signals
});

impl Inputs {
    pub fn of(info: &VehicleInfo, signals: &Signals) -> Inputs {
        Inputs {
            info: info.clone(),
            signals: INPUT_SIGNALS
                .iter()
                .map(|s| signals.get(s).cloned())
                .collect(),
        }
    }
}

/// Every discovery message for one car: one device config, or one config per entity.
pub fn configs(
    topics: &Topics,
    site: &Site,
    info: &VehicleInfo,
    signals: &Signals,
) -> Vec<(String, Json)> {
    let vin = &info.vin;
    let shared = |obj: &mut Map<String, Json>| {
        obj.insert("device".into(), device(topics, site, info, signals));
        obj.insert("origin".into(), origin());
        obj.insert("availability".into(), availability(topics, vin));
        obj.insert("availability_mode".into(), json!("all"));
        obj.insert("qos".into(), json!(1));
    };
    match site.mode {
        DiscoveryMode::Device => {
            let components: Map<String, Json> = catalog::for_car(signals)
                .map(|e| (e.id().to_string(), component(topics, info, signals, e)))
                .collect();
            let mut payload = Map::new();
            shared(&mut payload);
            payload.insert("components".into(), Json::Object(components));
            vec![(topics.discovery_device(vin), Json::Object(payload))]
        }
        DiscoveryMode::Component => catalog::for_car(signals)
            .map(|e| {
                let mut c = component(topics, info, signals, e);
                let obj = c.as_object_mut().expect("component is an object");
                obj.remove("platform");
                shared(obj);
                (topics.discovery_component(e.platform(), vin, e.id()), c)
            })
            .collect(),
    }
}

/// Every discovery topic a car can have in a mode (whatever its hardware), to clear it.
pub fn all_topics(topics: &Topics, mode: DiscoveryMode, vin: &str) -> Vec<String> {
    match mode {
        DiscoveryMode::Device => vec![topics.discovery_device(vin)],
        DiscoveryMode::Component => catalog::CATALOG
            .iter()
            .map(|e| topics.discovery_component(e.platform(), vin, e.id()))
            .collect(),
    }
}

/// The topics to clear (empty retained payload) when a car leaves the account.
pub fn removal_topics(topics: &Topics, mode: DiscoveryMode, vin: &str) -> Vec<String> {
    all_topics(topics, mode, vin)
}

/// The other mode, whose leftovers are cleared when the mode changes.
pub fn other(mode: DiscoveryMode) -> DiscoveryMode {
    match mode {
        DiscoveryMode::Device => DiscoveryMode::Component,
        DiscoveryMode::Component => DiscoveryMode::Device,
    }
}

// ── The TeslaSync bridge device ─────────────────────────────────────────────────────────────

/// What the bridge device reports about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BridgeFacts {
    pub version: &'static str,
    pub cars: usize,
    /// Account-level Fleet API spend in US dollars (the cost governor mirrors it on every car):
    /// this month, projected for the month, budget left. `None` until it has been reported.
    pub cost: [Option<String>; 3],
}

impl BridgeFacts {
    /// The account-level cost figures as the cars carry them.
    pub fn cost_from(cars: &[&Signals]) -> [Option<String>; 3] {
        [
            Signal::FleetAccountUsdMonth,
            Signal::FleetAccountUsdMonthProjected,
            Signal::FleetBudgetLeftUsd,
        ]
        .map(|signal| {
            cars.iter()
                .find_map(|s| s.get(&signal).and_then(Value::as_f64))
                .map(|usd| crate::ha::catalog::fmt_number(usd, 3))
        })
    }
}

/// One diagnostic sensor of the bridge device. Add a row to report more.
pub struct BridgeSensor {
    pub key: &'static str,
    pub name: &'static str,
    pub icon: &'static str,
    /// Money sensors: Home Assistant's `monetary` device class in USD.
    pub usd: bool,
    pub value: fn(&BridgeFacts) -> String,
}

pub static BRIDGE_SENSORS: &[BridgeSensor] = &[
    BridgeSensor {
        key: "version",
        name: "Version",
        icon: "mdi:information-outline",
        usd: false,
        value: |f| f.version.to_string(),
    },
    BridgeSensor {
        key: "cars",
        name: "Cars",
        icon: "mdi:car-multiple",
        usd: false,
        value: |f| f.cars.to_string(),
    },
    // Fleet API spend, all cars (published by the cost governor; `None` = not known yet).
    BridgeSensor {
        key: "fleet_api_cost_month",
        name: "Fleet API cost this month",
        icon: "mdi:currency-usd",
        usd: true,
        value: |f| f.cost[0].clone().unwrap_or_else(|| "None".into()),
    },
    BridgeSensor {
        key: "fleet_api_cost_month_projected",
        name: "Fleet API cost projected this month",
        icon: "mdi:currency-usd",
        usd: true,
        value: |f| f.cost[1].clone().unwrap_or_else(|| "None".into()),
    },
    BridgeSensor {
        key: "fleet_api_budget_left",
        name: "Fleet API budget left this month",
        icon: "mdi:currency-usd",
        usd: true,
        value: |f| f.cost[2].clone().unwrap_or_else(|| "None".into()),
    },
];

/// Discovery of the bridge device that every car's device points to with `via_device`.
pub fn bridge_configs(topics: &Topics, site: &Site) -> Vec<(String, Json)> {
    let id = bridge_object_id(topics.base());
    let mut dev = json!({
        "identifiers": [id],
        "name": "TeslaSync",
        "manufacturer": "TeslaSync",
        "model": "Tesla ⇄ MQTT bridge",
        "sw_version": env!("CARGO_PKG_VERSION"),
    });
    if let Some(url) = &site.configuration_url {
        dev["configuration_url"] = json!(url);
    }
    let component = |s: &BridgeSensor| {
        let mut c = json!({
            "platform": "sensor",
            "unique_id": format!("{id}_{}", s.key),
            "name": s.name,
            "default_entity_id": format!("sensor.teslasync_{}", s.key),
            "icon": s.icon,
            "entity_category": "diagnostic",
            "state_topic": topics.bridge_state(s.key),
        });
        if s.usd {
            c["device_class"] = json!("monetary");
            c["unit_of_measurement"] = json!("USD");
            c["suggested_display_precision"] = json!(2);
        }
        c
    };
    let availability = json!([{ "topic": topics.status() }]);
    match site.mode {
        DiscoveryMode::Device => {
            let components: Map<String, Json> = BRIDGE_SENSORS
                .iter()
                .map(|s| (s.key.to_string(), component(s)))
                .collect();
            vec![(
                topics.discovery_device_id(&id),
                json!({"device": dev, "origin": origin(), "availability": availability, "qos": 1, "components": components}),
            )]
        }
        DiscoveryMode::Component => BRIDGE_SENSORS
            .iter()
            .map(|s| {
                let mut c = component(s);
                let obj = c.as_object_mut().expect("object");
                obj.remove("platform");
                obj.insert("device".into(), dev.clone());
                obj.insert("origin".into(), origin());
                obj.insert("availability".into(), availability.clone());
                obj.insert("qos".into(), json!(1));
                (
                    topics.discovery_component_id(Platform::Sensor, &id, s.key),
                    c,
                )
            })
            .collect(),
    }
}

/// The bridge device's discovery topics in a mode, to clear them.
pub fn bridge_topics(topics: &Topics, mode: DiscoveryMode) -> Vec<String> {
    let id = bridge_object_id(topics.base());
    match mode {
        DiscoveryMode::Device => vec![topics.discovery_device_id(&id)],
        DiscoveryMode::Component => BRIDGE_SENSORS
            .iter()
            .map(|s| topics.discovery_component_id(Platform::Sensor, &id, s.key))
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ha::catalog::CATALOG;

    fn car() -> (VehicleInfo, Signals) {
        let info = VehicleInfo {
            vin: "5YJSA1E2XJF000002".into(),
            display_name: "Red Rocket".into(),
            signing_required: false,
        };
        let signals = [
            (Signal::Version, Value::Text("2024.44.25".into())),
            (Signal::ChargeCurrentRequestMax, Value::Int(16)),
            (Signal::SunroofInstalled, Value::Int(2)),
            (Signal::RearSeatHeaters, Value::Int(1)),
            (Signal::CopUserSetTempSupported, Value::Bool(true)),
        ]
        .into_iter()
        .collect();
        (info, signals)
    }

    /// The bridge skips rebuilding discovery while [`Inputs`] stay equal; that is only right if no
    /// other signal changes a config. Every other signal, set to every kind of value or removed,
    /// must leave discovery the same.
    #[test]
    fn discovery_reads_no_signal_beyond_its_inputs() {
        let t = Topics::new("teslasync", "homeassistant");
        let (info, base) = car();
        // One value of each kind `has` and `resolve` read differently.
        let values = [
            Value::Bool(true),
            Value::Int(7),
            Value::Text("cybertruck".into()),
            Value::Unknown,
        ];
        // Component mode splits the same components per entity; device mode keeps this test fast.
        let s = site(DiscoveryMode::Device);
        let expected = configs(&t, &s, &info, &base);
        for &signal in Signal::ALL.iter().filter(|s| !INPUT_SIGNALS.contains(s)) {
            let mut removed = base.clone();
            removed.remove(&signal);
            assert_eq!(
                configs(&t, &s, &info, &removed),
                expected,
                "{signal:?} removed"
            );
            for value in &values {
                let mut changed = base.clone();
                changed.insert(signal, value.clone());
                assert_eq!(
                    configs(&t, &s, &info, &changed),
                    expected,
                    "discovery changed with {signal:?} = {value:?}; add it to the inputs"
                );
            }
        }
        // And the inputs do matter: a changed bound changes discovery.
        let mut bound = base.clone();
        bound.insert(Signal::ChargeCurrentRequestMax, Value::Int(40));
        assert_ne!(Inputs::of(&info, &bound), Inputs::of(&info, &base));
        assert_ne!(configs(&t, &s, &info, &bound), expected);
    }

    fn site(mode: DiscoveryMode) -> Site {
        Site {
            mode,
            configuration_url: Some("http://127.0.0.1:8080/".into()),
        }
    }

    /// What Home Assistant's MQTT schema requires of one component, per platform.
    fn assert_valid(platform: &str, c: &Map<String, Json>, base: &str) {
        let id = c["unique_id"].as_str().unwrap();
        let has = |k: &str| c.get(k).is_some_and(|v| !v.is_null());
        assert!(
            !c.contains_key("object_id"),
            "{id}: object_id is gone since 2026.4"
        );
        assert!(c["name"].is_string(), "{id}");
        let entity_id = c["default_entity_id"].as_str().unwrap();
        assert!(
            entity_id.starts_with(&format!("{platform}.")),
            "{id}: {entity_id} must start with its platform"
        );
        if let Some(cat) = c.get("entity_category") {
            assert!(cat == "diagnostic" || cat == "config", "{id}");
            assert!(
                !(cat == "config" && matches!(platform, "sensor" | "binary_sensor")),
                "{id}: Home Assistant rejects config sensors"
            );
        }
        for (k, v) in c {
            if k.ends_with("_topic") {
                assert!(v.as_str().unwrap().starts_with(base), "{id}: {k}");
            }
        }
        let required: &[&str] = match platform {
            "sensor" | "binary_sensor" | "update" => &["state_topic"],
            "switch" | "lock" | "button" | "cover" | "time" => &["command_topic"],
            "number" => &["command_topic", "min", "max", "step"],
            "select" => &["command_topic", "options"],
            "climate" => &["modes", "mode_command_topic", "mode_state_topic"],
            "device_tracker" => &["json_attributes_topic"],
            "event" => &["state_topic", "event_types"],
            other => panic!("{id}: unexpected platform {other}"),
        };
        for k in required {
            assert!(has(k), "{id}: {platform} needs {k}");
        }
        if platform == "number" {
            assert_eq!(c["mode"], "auto", "{id}");
            assert!(c["min"].as_f64() <= c["max"].as_f64(), "{id}");
        }
        if platform == "select" {
            assert!(!c["options"].as_array().unwrap().is_empty(), "{id}");
        }
        if platform == "event" {
            // Events come from the car's unretained event topic, never a retained state.
            let topic = c["state_topic"].as_str().unwrap();
            assert!(topic.ends_with("/5YJSA1E2XJF000002/event"), "{id}");
            assert!(!c["event_types"].as_array().unwrap().is_empty(), "{id}");
        }
        if c.get("device_class") == Some(&json!("enum")) {
            assert!(
                c["options"].is_array(),
                "{id}: enum sensors list their options"
            );
        }
        if platform == "climate" {
            if let Some(p) = c.get("preset_modes") {
                assert!(
                    !p.as_array().unwrap().contains(&json!("none")),
                    "{id}: Home Assistant adds none itself"
                );
            }
        }
    }

    fn assert_device(d: &Json) {
        assert_eq!(d["identifiers"], json!(["teslasync_5YJSA1E2XJF000002"]));
        assert_eq!(d["model"], "Model S");
        assert_eq!(d["sw_version"], "2024.44.25");
        assert_eq!(d["via_device"], "teslasync_bridge");
        assert_eq!(d["configuration_url"], "http://127.0.0.1:8080/");
    }

    #[test]
    fn a_whole_car_in_device_mode_is_valid_for_home_assistant() {
        let (info, signals) = car();
        let t = Topics::new("teslasync", "homeassistant");
        let configs = configs(&t, &site(DiscoveryMode::Device), &info, &signals);
        assert_eq!(configs.len(), 1);
        let (topic, p) = &configs[0];
        assert_eq!(
            topic,
            "homeassistant/device/teslasync_5YJSA1E2XJF000002/config"
        );
        assert_device(&p["device"]);
        assert_eq!(p["origin"]["name"], "TeslaSync");
        assert_eq!(p["availability_mode"], "all");
        assert_eq!(
            p["availability"][1]["topic"],
            "teslasync/5YJSA1E2XJF000002/availability"
        );
        let cmps = p["components"].as_object().unwrap();
        for (id, c) in cmps {
            let c = c.as_object().unwrap();
            assert_eq!(c["unique_id"], format!("teslasync_5YJSA1E2XJF000002_{id}"));
            assert_valid(c["platform"].as_str().unwrap(), c, "teslasync/");
        }
        let lock = &cmps["vehicle_state_locked"];
        assert_eq!(
            lock["state_topic"],
            "teslasync/5YJSA1E2XJF000002/vehicle_state_locked"
        );
        assert_eq!(
            lock["command_topic"],
            "teslasync/5YJSA1E2XJF000002/vehicle_state_locked/set"
        );
        assert_eq!(
            cmps["charge_state_charge_current_request"]["max"],
            json!(16.0),
            "bounds come from the car"
        );
        assert_eq!(
            cmps["location"]["json_attributes_topic"],
            "teslasync/5YJSA1E2XJF000002/location/attributes"
        );
        assert!(cmps["wake"].get("state_topic").is_none());
        assert_eq!(cmps["vehicle_state_ft"]["payload_close"], Json::Null);
        assert_eq!(
            cmps["charge_state_battery_level"]["default_entity_id"],
            "sensor.red_rocket_battery_level"
        );
        // Commands from controls expire (MQTT 5): a queued unlock never runs late.
        for id in [
            "vehicle_state_locked",
            "wake",
            "charge_state_charge_current_request",
        ] {
            assert_eq!(
                cmps[id]["message_expiry_interval"],
                json!(COMMAND_EXPIRY_SECS),
                "{id}"
            );
        }
        assert!(cmps["charge_state_battery_level"]
            .get("message_expiry_interval")
            .is_none());
    }

    #[test]
    fn a_whole_car_in_component_mode_is_valid_for_home_assistant() {
        let (info, signals) = car();
        let t = Topics::new("teslasync", "homeassistant");
        let configs = configs(&t, &site(DiscoveryMode::Component), &info, &signals);
        let expected: Vec<_> = catalog::for_car(&signals).collect();
        assert_eq!(configs.len(), expected.len());
        for ((topic, p), e) in configs.iter().zip(expected) {
            let platform = e.platform().as_str();
            assert_eq!(
                topic,
                &format!(
                    "homeassistant/{platform}/teslasync_5YJSA1E2XJF000002/{}/config",
                    e.id()
                )
            );
            let c = p.as_object().unwrap();
            assert!(!c.contains_key("platform"));
            assert_device(&c["device"]);
            assert_eq!(c["availability_mode"], "all");
            assert_valid(platform, c, "teslasync/");
        }
        assert_eq!(
            all_topics(&t, DiscoveryMode::Component, &info.vin).len(),
            CATALOG.len()
        );
    }

    #[test]
    fn bounds_and_hardware_come_from_the_car() {
        let (info, mut signals) = car();
        let t = Topics::new("teslasync", "homeassistant");
        let s = site(DiscoveryMode::Device);
        let before = configs(&t, &s, &info, &signals);
        signals.insert(Signal::ChargeCurrentRequestMax, Value::Int(32));
        signals.remove(&Signal::SunroofInstalled);
        let after = configs(&t, &s, &info, &signals);
        assert_ne!(before, after, "a changed bound changes the payload");
        let cmps = after[0].1["components"].as_object().unwrap();
        assert_eq!(
            cmps["charge_state_charge_current_request"]["max"],
            json!(32.0)
        );
        assert!(
            CATALOG
                .iter()
                .filter(|e| e.common().requires == Some(catalog::Capability::SunRoof))
                .all(|e| !cmps.contains_key(e.id())),
            "no sunroof entities on a car without one"
        );
    }

    #[test]
    fn unique_ids_never_collide_across_cars_and_the_bridge() {
        let t = Topics::new("teslasync", "homeassistant");
        let s = site(DiscoveryMode::Component);
        let mut ids = std::collections::HashSet::new();
        for vin in ["5YJSA1E2XJF000002", "7SAYGDEE1NA000001"] {
            let info = VehicleInfo {
                vin: vin.into(),
                display_name: "x".into(),
                signing_required: false,
            };
            for (_, p) in configs(&t, &s, &info, &car().1) {
                assert!(ids.insert(p["unique_id"].as_str().unwrap().to_string()));
            }
        }
        for (topic, p) in bridge_configs(&t, &s) {
            assert!(topic.starts_with("homeassistant/sensor/teslasync_bridge/"));
            assert!(ids.insert(p["unique_id"].as_str().unwrap().to_string()));
            assert_valid("sensor", p.as_object().unwrap(), "teslasync/");
        }
        let device = bridge_configs(&t, &site(DiscoveryMode::Device));
        assert_eq!(device[0].0, "homeassistant/device/teslasync_bridge/config");
        assert_eq!(
            device[0].1["device"]["identifiers"],
            json!(["teslasync_bridge"])
        );
    }
}
