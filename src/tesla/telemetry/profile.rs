//! `tesla::telemetry::profile`: which fields TeslaSync asks cars to stream, and how often.
//!
//! Tesla bills streaming per signal sent, and a car sends a field when its value changed but not
//! more often than `interval_seconds`; `minimum_delta` suppresses changes smaller than it. The
//! intervals below are the slowest that still feel live in Home Assistant, and every noisy
//! measurement has a delta, so a parked car costs almost nothing. Each row says why.

use serde_json::{json, Map, Value as Json};

/// One field of the profile.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FieldRule {
    pub field: &'static str,
    pub interval_secs: u32,
    pub minimum_delta: Option<f64>,
    /// Why this interval (kept in code so the choice is reviewed with it).
    pub why: &'static str,
}

const fn rule(
    field: &'static str,
    interval_secs: u32,
    delta: Option<f64>,
    why: &'static str,
) -> FieldRule {
    FieldRule {
        field,
        interval_secs,
        minimum_delta: delta,
        why,
    }
}

/// The default profile.
pub const PROFILE: &[FieldRule] = &[
    rule(
        "BatteryLevel",
        60,
        Some(1.0),
        "whole percent steps are what a user reads",
    ),
    rule("Soc", 300, Some(1.0), "usable SOC is a diagnostic"),
    rule(
        "EstBatteryRange",
        60,
        Some(1.0),
        "a mile of range is the display precision",
    ),
    rule("ChargeLimitSoc", 60, None, "changes rarely, by user action"),
    rule(
        "DetailedChargeState",
        10,
        None,
        "automations react to charging starting and stopping",
    ),
    rule(
        "ACChargingPower",
        30,
        Some(0.5),
        "half a kW is visible on a dashboard",
    ),
    rule(
        "DCChargingPower",
        30,
        Some(1.0),
        "DC power swings a lot while it ramps",
    ),
    rule(
        "DCChargingEnergyIn",
        60,
        Some(0.2),
        "energy added per session",
    ),
    rule("ChargerVoltage", 60, Some(5.0), "noisy even when idle"),
    rule("ChargeAmps", 30, Some(1.0), "whole amps"),
    rule("ChargerPhases", 300, None, "fixed per session"),
    rule("ChargeCurrentRequest", 60, None, "user setting"),
    rule("ChargeCurrentRequestMax", 300, None, "set by the charger"),
    rule("TimeToFullCharge", 60, Some(0.1), "six-minute steps"),
    rule(
        "ChargePortDoorOpen",
        5,
        None,
        "a user watches the port open",
    ),
    rule("ChargePortLatch", 10, None, "cable locked or not"),
    rule("ChargingCableType", 60, None, "plugged in or not"),
    rule("BatteryHeaterOn", 60, None, "diagnostic"),
    rule("Locked", 5, None, "security: a lock must update at once"),
    rule("SentryMode", 10, None, "security"),
    rule("DoorState", 5, None, "doors and trunks, security"),
    rule(
        "DriverSeatBelt",
        30,
        None,
        "the belt flaps for a few seconds after buckling; sent at most every 30 s, a burst of \
         flaps reaches Home Assistant as one change to the settled state",
    ),
    rule("FdWindow", 10, None, "windows, security"),
    rule("FpWindow", 10, None, "windows, security"),
    rule("RdWindow", 10, None, "windows, security"),
    rule("RpWindow", 10, None, "windows, security"),
    rule("Gear", 5, None, "driving starts and ends"),
    rule(
        "VehicleSpeed",
        10,
        Some(2.0),
        "a dashboard, not a data logger",
    ),
    rule(
        "Location",
        30,
        Some(50.0),
        "metres; zones in Home Assistant are far larger",
    ),
    rule("GpsHeading", 30, Some(10.0), "degrees"),
    rule("Odometer", 300, Some(1.0), "miles"),
    rule("InsideTemp", 60, Some(0.5), "changes constantly"),
    rule("OutsideTemp", 300, Some(0.5), "changes slowly"),
    rule("HvacPower", 10, None, "climate on or off"),
    rule(
        "HvacLeftTemperatureRequest",
        30,
        None,
        "set point, user action",
    ),
    rule(
        "HvacRightTemperatureRequest",
        30,
        None,
        "set point, user action",
    ),
    rule("SeatHeaterLeft", 30, None, "user action"),
    rule("SeatHeaterRight", 30, None, "user action"),
    rule("ValetModeEnabled", 60, None, "rare"),
    rule("DriverSeatOccupied", 10, None, "presence"),
    rule(
        "TpmsPressureFl",
        600,
        Some(0.05),
        "atm; tyres change slowly",
    ),
    rule("TpmsPressureFr", 600, Some(0.05), "atm"),
    rule("TpmsPressureRl", 600, Some(0.05), "atm"),
    rule("TpmsPressureRr", 600, Some(0.05), "atm"),
    rule("Version", 3600, None, "firmware, changes with an update"),
    rule("VehicleName", 3600, None, "rare"),
];

/// The config object a car receives (before signing): where to stream, whom to trust, what to send.
pub fn config(hostname: &str, port: u16, ca_pem: &str, rules: &[FieldRule]) -> Json {
    let mut fields = Map::new();
    for r in rules {
        let mut f = Map::new();
        f.insert("interval_seconds".into(), json!(r.interval_secs));
        if let Some(delta) = r.minimum_delta {
            f.insert("minimum_delta".into(), json!(delta));
        }
        fields.insert(r.field.into(), Json::Object(f));
    }
    json!({
        "hostname": hostname,
        // A JSON number: a port sent as a string silently breaks streaming.
        "port": port,
        "ca": ca_pem,
        "prefer_typed": true,
        "alert_types": ["service"],
        "fields": fields,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_profile_field_is_a_known_field_with_a_sane_interval() {
        for r in PROFILE {
            assert!(
                super::super::decode::field_number(r.field).is_some(),
                "{}",
                r.field
            );
            assert!((1..=86_400).contains(&r.interval_secs), "{}", r.field);
            assert!(!r.why.is_empty());
        }
    }

    #[test]
    fn the_config_has_a_numeric_port_and_every_field() {
        let c = config("telemetry.example.com", 443, "PEM", PROFILE);
        assert_eq!(c["port"], json!(443));
        assert_eq!(c["fields"].as_object().unwrap().len(), PROFILE.len());
        assert_eq!(c["fields"]["Location"]["minimum_delta"], json!(50.0));
        assert!(c["fields"]["Locked"].get("minimum_delta").is_none());
    }
}
