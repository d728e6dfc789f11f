//! `ha::topics`: every MQTT topic TeslaSync publishes or subscribes to, built and parsed here only.
//!
//! The layout is a contract (docs/ARCHITECTURE.md §4): `<base>/status`, `<base>/<VIN>/availability`,
//! `<base>/<VIN>/<key>`, `<base>/<VIN>/<key>/attributes`, `<base>/<VIN>/<key>/set`,
//! `<base>/<VIN>/<key>/<aspect>` and `<base>/<VIN>/<key>/<aspect>/set` (climate), `<base>/<VIN>/command`,
//! `<base>/<VIN>/command/result`, `<base>/<VIN>/event`, `<base>/bridge/<key>` (the bridge device's
//! diagnostics), and the discovery topics under the discovery prefix.

use crate::ha::catalog::Platform;

/// Builds topics for one base topic and discovery prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Topics {
    base: String,
    prefix: String,
}

/// A message TeslaSync acts on, recognised from its topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inbound {
    /// `<base>/<VIN>/<key>/set`, or `<base>/<VIN>/<key>/<aspect>/set` for a climate aspect.
    Set {
        vin: String,
        key: String,
        aspect: Option<String>,
    },
    /// `<base>/<VIN>/command`
    Command { vin: String },
    /// `<prefix>/status`: Home Assistant's birth and last will.
    HomeAssistantStatus,
}

impl Topics {
    pub fn new(base: &str, prefix: &str) -> Self {
        Topics {
            base: base.trim_matches('/').to_string(),
            prefix: prefix.trim_matches('/').to_string(),
        }
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    /// Bridge availability; also the MQTT last will.
    pub fn status(&self) -> String {
        format!("{}/status", self.base)
    }

    /// Problems not tied to a known vehicle (e.g. a command for an unknown VIN).
    pub fn bridge_event(&self) -> String {
        format!("{}/event", self.base)
    }

    /// Delivery markers of one MQTT client (the bridge publishes and reads them back to learn
    /// that the broker has everything published before; nobody else needs them).
    pub fn delivery(&self, client_id: &str) -> String {
        format!("{}/_delivery/{client_id}", self.base)
    }

    pub fn availability(&self, vin: &str) -> String {
        format!("{}/{vin}/availability", self.base)
    }

    pub fn state(&self, vin: &str, key: &str) -> String {
        format!("{}/{vin}/{key}", self.base)
    }

    pub fn attributes(&self, vin: &str, key: &str) -> String {
        format!("{}/{vin}/{key}/attributes", self.base)
    }

    pub fn set(&self, vin: &str, key: &str) -> String {
        format!("{}/{vin}/{key}/set", self.base)
    }

    /// A climate entity's aspect state (`mode`, `temperature`, ...).
    pub fn aspect_state(&self, vin: &str, key: &str, aspect: &str) -> String {
        format!("{}/{vin}/{key}/{aspect}", self.base)
    }

    pub fn aspect_set(&self, vin: &str, key: &str, aspect: &str) -> String {
        format!("{}/{vin}/{key}/{aspect}/set", self.base)
    }

    /// A diagnostic of the bridge device itself (`version`, `cars`).
    pub fn bridge_state(&self, key: &str) -> String {
        format!("{}/bridge/{key}", self.base)
    }

    pub fn command(&self, vin: &str) -> String {
        format!("{}/{vin}/command", self.base)
    }

    pub fn command_result(&self, vin: &str) -> String {
        format!("{}/{vin}/command/result", self.base)
    }

    pub fn event(&self, vin: &str) -> String {
        format!("{}/{vin}/event", self.base)
    }

    /// Home Assistant's discovery prefix.
    pub fn discovery_prefix(&self) -> &str {
        &self.prefix
    }

    pub fn home_assistant_status(&self) -> String {
        format!("{}/status", self.prefix)
    }

    /// Device-based discovery: one config for the whole car.
    pub fn discovery_device(&self, vin: &str) -> String {
        self.discovery_device_id(&object_id(vin))
    }

    /// Device-based discovery for any of our devices (cars, the bridge).
    pub fn discovery_device_id(&self, object_id: &str) -> String {
        format!("{}/device/{object_id}/config", self.prefix)
    }

    /// Per-entity discovery (`component` mode).
    pub fn discovery_component(&self, platform: Platform, vin: &str, key: &str) -> String {
        self.discovery_component_id(platform, &object_id(vin), key)
    }

    pub fn discovery_component_id(&self, platform: Platform, object_id: &str, key: &str) -> String {
        format!(
            "{}/{}/{object_id}/{key}/config",
            self.prefix,
            platform.as_str(),
        )
    }

    /// What to subscribe to for a car's retained discovery configs (both modes), so that configs
    /// TeslaSync no longer publishes (another discovery mode, hardware the car lacks) are cleared.
    pub fn discovery_filters(&self, object_id: &str) -> [String; 2] {
        [
            self.discovery_device_id(object_id),
            format!("{}/+/{object_id}/+/config", self.prefix),
        ]
    }

    /// Whether a topic is a discovery config of the device `object_id`.
    pub fn is_discovery_of(&self, topic: &str, object_id: &str) -> bool {
        let Some(rest) = topic
            .strip_prefix(&self.prefix)
            .and_then(|r| r.strip_prefix('/'))
        else {
            return false;
        };
        let parts: Vec<&str> = rest.split('/').collect();
        match parts.as_slice() {
            ["device", id, "config"] => *id == object_id,
            [_, id, _, "config"] => *id == object_id,
            _ => false,
        }
    }

    /// Subscriptions the bridge needs.
    pub fn subscriptions(&self) -> Vec<String> {
        let mut all = self.command_subscriptions();
        all.push(self.home_assistant_status());
        all
    }

    /// The command topics (`/set` and JSON commands): the bridge subscribes to these with MQTT 5
    /// *retain as published*, to recognise a retained command even on its first live delivery.
    pub fn command_subscriptions(&self) -> Vec<String> {
        vec![
            format!("{}/+/+/set", self.base),
            format!("{}/+/+/+/set", self.base),
            format!("{}/+/command", self.base),
        ]
    }

    /// Recognises an inbound topic; `None` for anything else (including our own publications).
    pub fn parse(&self, topic: &str) -> Option<Inbound> {
        if topic == self.home_assistant_status() {
            return Some(Inbound::HomeAssistantStatus);
        }
        let rest = topic.strip_prefix(&self.base)?.strip_prefix('/')?;
        let parts: Vec<&str> = rest.split('/').collect();
        match parts.as_slice() {
            [vin, "command"] => Some(Inbound::Command {
                vin: vin.to_string(),
            }),
            [vin, key, "set"] => Some(Inbound::Set {
                vin: vin.to_string(),
                key: key.to_string(),
                aspect: None,
            }),
            [vin, key, aspect, "set"] => Some(Inbound::Set {
                vin: vin.to_string(),
                key: key.to_string(),
                aspect: Some(aspect.to_string()),
            }),
            _ => None,
        }
    }
}

/// The discovery object id and device identifier for a car.
pub fn object_id(vin: &str) -> String {
    format!("teslasync_{vin}")
}

/// The bridge device's object id: one per base topic, so two TeslaSync instances on one broker
/// stay two devices.
pub fn bridge_object_id(base: &str) -> String {
    let slug: String = base
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    format!("{slug}_bridge")
}

/// The entity's `unique_id`: stable across reinstalls and distinct from `tesla_fleet`'s `<VIN>-<key>`.
pub fn unique_id(vin: &str, key: &str) -> String {
    format!("teslasync_{vin}_{key}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topics_follow_the_contract() {
        let t = Topics::new("teslasync", "homeassistant");
        assert_eq!(
            t.state("5YJSA1E2XJF000002", "charge_state_battery_level"),
            "teslasync/5YJSA1E2XJF000002/charge_state_battery_level"
        );
        assert_eq!(
            t.discovery_device("V"),
            "homeassistant/device/teslasync_V/config"
        );
        assert_eq!(
            t.discovery_component(Platform::BinarySensor, "V", "state"),
            "homeassistant/binary_sensor/teslasync_V/state/config"
        );
        assert_eq!(t.command_result("V"), "teslasync/V/command/result");
    }

    #[test]
    fn inbound_topics_are_recognised_and_others_ignored() {
        let t = Topics::new("ts/test1", "ha");
        assert_eq!(
            t.parse("ts/test1/V/vehicle_state_locked/set"),
            Some(Inbound::Set {
                vin: "V".into(),
                key: "vehicle_state_locked".into(),
                aspect: None,
            })
        );
        assert_eq!(
            t.parse("ts/test1/V/driver_temp/temperature/set"),
            Some(Inbound::Set {
                vin: "V".into(),
                key: "driver_temp".into(),
                aspect: Some("temperature".into()),
            })
        );
        assert!(t.is_discovery_of("ha/device/teslasync_V/config", "teslasync_V"));
        assert!(t.is_discovery_of("ha/sensor/teslasync_V/x/config", "teslasync_V"));
        assert!(!t.is_discovery_of("ha/sensor/teslasync_W/x/config", "teslasync_V"));
        assert_eq!(
            t.parse("ts/test1/V/command"),
            Some(Inbound::Command { vin: "V".into() })
        );
        assert_eq!(t.parse("ha/status"), Some(Inbound::HomeAssistantStatus));
        assert_eq!(t.parse("ts/test1/V/command/result"), None);
        assert_eq!(
            t.parse("ts/test10/V/command"),
            None,
            "a prefix of another base is not ours"
        );
        assert_eq!(t.parse("ts/test1/V/vehicle_state_locked"), None);
    }
}
