//! `vehicle`: what TeslaSync knows about each car and what it can ask of it.
//!
//! - [`signal`]: the `(Signal, Value)` vocabulary every source speaks.
//! - [`hub`]: the last value of every signal per car, persisted, with change notification.
//! - [`poller`]: sleep-aware polling of the Fleet API; [`vehicle_data`]: its JSON mapped to signals.
//! - [`command`]: the typed `Command` enum; [`executor`]: one queue per car that sends them;
//!   [`sessions`]: the signed-command sessions it keeps in the store.
//! - [`setup`]: account set-up state mirrored on each car (sign-in needed, virtual-key checklist).
//! - [`cost`]: the cost governor: billing meter (durable, per car and month), budget, rate limits.
//! - [`stream`]: which cars stream Fleet Telemetry right now (receiver reports, poller and governor read).
//! - [`telemetry`]: Fleet Telemetry records mapped to signals (by field name, with unit and enum rows).
//! - [`telemetry_setup`]: the config push at start, its read-back, and "synced but silent" cars.

pub mod command;
pub mod cost;
pub mod executor;
pub mod hub;
pub mod policy;
pub mod poller;
pub mod sessions;
pub mod setup;
pub mod signal;
pub mod stream;
pub mod telemetry;
pub mod telemetry_setup;
pub mod vehicle_data;

use serde::{Deserialize, Serialize};

/// Static facts about a car, from the vehicle list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VehicleInfo {
    /// Upper case, 17 characters.
    pub vin: String,
    pub display_name: String,
    /// Whether Tesla says the car only accepts signed commands (`command_signing == "required"`).
    pub signing_required: bool,
}

impl VehicleInfo {
    /// "Model 3", "Model Y", ... from the VIN's fourth character, as Tesla assigns it.
    pub fn model(&self) -> &'static str {
        match self.vin.as_bytes().get(3) {
            Some(b'S') => "Model S",
            Some(b'3') => "Model 3",
            Some(b'X') => "Model X",
            Some(b'Y') => "Model Y",
            Some(b'C') => "Cybertruck",
            Some(b'T') => "Semi",
            _ => "Tesla",
        }
    }
}

/// Whether `s` looks like a VIN: 17 characters from the VIN alphabet (no I, O or Q).
pub fn is_vin(s: &str) -> bool {
    s.len() == 17
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b.is_ascii_uppercase() && !b"IOQ".contains(&b)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_comes_from_the_vin() {
        let info = |vin: &str| VehicleInfo {
            vin: vin.into(),
            display_name: "x".into(),
            signing_required: false,
        };
        assert_eq!(info("7SAYGDEE1NA000001").model(), "Model Y");
        assert_eq!(info("5YJSA1E2XJF000002").model(), "Model S");
        assert_eq!(info("short").model(), "Tesla");
    }

    #[test]
    fn vin_shape_is_checked() {
        assert!(is_vin("5YJSA1E2XJF000002"));
        assert!(!is_vin("5yjsa1e2xjf000002"));
        assert!(!is_vin("5YJSA1E2XJF00000"));
        assert!(!is_vin("5YJSA1E2XJF00000O"));
    }
}
