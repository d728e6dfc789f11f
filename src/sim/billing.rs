//! `sim::billing`: what the simulated account would be charged, counted the way Tesla counts it.
//!
//! Owns the pricing categories, the mapping from request path to category, and the counters that
//! `GET /sim/billing` reports. Tests use these counters as ground truth ("no wake, no `vehicle_data`
//! while asleep"), so every rule here follows fleet-api.md §6: every response with status < 500 is billed
//! in its category, including 401, 408 and 429; responses ≥ 500 and dropped requests are not.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Tesla's published price per request, in thousandths of a dollar, so totals stay exact.
const DATA_MILLI_USD: u64 = 2;
const COMMAND_MILLI_USD: u64 = 1;
const WAKE_MILLI_USD: u64 = 20;

/// The pricing category of one Fleet API or auth request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Category {
    /// `vehicle_data`.
    Data,
    /// REST commands and `signed_command`.
    Command,
    /// `wake_up`.
    Wake,
    /// The vehicle list, one vehicle, and everything else Tesla does not charge for.
    Free,
    /// The token endpoint: free, but counted separately so single-flight refresh can be asserted.
    Auth,
}

/// One request's billing key: its category and, for per-vehicle endpoints, the `{vehicle_tag}` from
/// the path (a VIN or numeric id; resolved to a VIN when recorded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Billable {
    pub category: Category,
    pub vehicle_tag: Option<String>,
}

/// Classifies a request by path. `None` for paths the simulated Tesla does not serve (`/sim/*`,
/// unknown paths), which are not counted at all.
pub fn classify(path: &str) -> Option<Billable> {
    if path == "/oauth2/v3/token" {
        return Some(Billable {
            category: Category::Auth,
            vehicle_tag: None,
        });
    }
    let rest = path.strip_prefix("/api/1/")?;
    let mut parts = rest.split('/');
    let free = Billable {
        category: Category::Free,
        vehicle_tag: None,
    };
    if parts.next() != Some("vehicles") {
        return Some(free);
    }
    let Some(tag) = parts.next().filter(|t| !t.is_empty()) else {
        return Some(free);
    };
    let category = match parts.next() {
        None => Category::Free,
        Some("vehicle_data") => Category::Data,
        Some("wake_up") => Category::Wake,
        Some("command") | Some("signed_command") => Category::Command,
        Some(_) => Category::Free,
    };
    Some(Billable {
        category,
        vehicle_tag: Some(tag.to_string()),
    })
}

/// Billable request counts for one vehicle.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VinBilling {
    pub data: u64,
    pub commands: u64,
    pub wakes: u64,
    /// `vehicle_data` requests that found the car asleep, waking or offline (answered 408, still billed).
    pub data_while_asleep: u64,
    /// Commands that found the car asleep, waking or offline (answered 408, still billed).
    pub commands_while_asleep: u64,
    /// `signed_command` handshakes (session-info requests), from paired and unpaired keys alike.
    #[serde(default)]
    pub handshakes: u64,
    /// Signed commands (and pings, status requests) the car verified and carried out.
    #[serde(default)]
    pub signed_commands: u64,
    /// Signed commands the car verified but refused on its own terms (`already_set`, ...).
    #[serde(default)]
    pub signed_refused: u64,
    /// Signed requests answered with a protocol fault (bad tag, replayed counter, wrong epoch,
    /// expired, unknown key, undecodable).
    #[serde(default)]
    pub signed_rejected: u64,
    /// Per domain (`vcsec`, `infotainment`), the counter of the last command the verifier accepted.
    #[serde(default)]
    pub signed_last_counter: BTreeMap<String, u32>,
}

/// What `GET /sim/billing` reports: billable requests by category and what they cost.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Billing {
    /// `vehicle_data` requests ($0.002 each).
    pub data: u64,
    /// REST commands and `signed_command` requests ($0.001 each).
    pub commands: u64,
    /// `wake_up` requests ($0.02 each).
    pub wakes: u64,
    /// Requests Tesla does not charge for: vehicle list, one vehicle, the token endpoint, other reads.
    pub free: u64,
    /// Total cost of `data`, `commands` and `wakes` at Tesla's rates, before the monthly discount.
    pub usd: f64,
    /// Requests to the token endpoint (any grant, any outcome).
    pub token_refreshes: u64,
    pub by_vin: BTreeMap<String, VinBilling>,
}

impl Billing {
    /// Counts one answered request. `vin` is the resolved VIN for per-vehicle endpoints; unknown
    /// vehicle tags are billed in their category but not attributed to a VIN.
    pub(crate) fn record(&mut self, category: Category, vin: Option<&str>) {
        let mut per_vin = vin.map(|v| self.by_vin.entry(v.to_string()).or_default());
        match category {
            Category::Data => {
                self.data += 1;
                if let Some(v) = per_vin.as_mut() {
                    v.data += 1;
                }
            }
            Category::Command => {
                self.commands += 1;
                if let Some(v) = per_vin.as_mut() {
                    v.commands += 1;
                }
            }
            Category::Wake => {
                self.wakes += 1;
                if let Some(v) = per_vin.as_mut() {
                    v.wakes += 1;
                }
            }
            Category::Free => self.free += 1,
            Category::Auth => {
                self.free += 1;
                self.token_refreshes += 1;
            }
        }
        self.usd = self.cost_usd();
    }

    /// Notes that a `vehicle_data` request or a command reached a car that was not online. The request
    /// itself is counted by [`Billing::record`] when its response goes out.
    pub(crate) fn record_while_asleep(&mut self, category: Category, vin: &str) {
        let v = self.by_vin.entry(vin.to_string()).or_default();
        match category {
            Category::Data => v.data_while_asleep += 1,
            Category::Command => v.commands_while_asleep += 1,
            Category::Wake | Category::Free | Category::Auth => {}
        }
    }

    fn cost_usd(&self) -> f64 {
        let milli = self.data * DATA_MILLI_USD
            + self.commands * COMMAND_MILLI_USD
            + self.wakes * WAKE_MILLI_USD;
        milli as f64 / 1000.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classify_maps_paths_to_tesla_categories() {
        let cat = |p: &str| classify(p).map(|b| b.category);
        assert_eq!(cat("/api/1/vehicles"), Some(Category::Free));
        assert_eq!(cat("/api/1/vehicles/VIN1"), Some(Category::Free));
        assert_eq!(
            cat("/api/1/vehicles/VIN1/vehicle_data"),
            Some(Category::Data)
        );
        assert_eq!(cat("/api/1/vehicles/VIN1/wake_up"), Some(Category::Wake));
        assert_eq!(
            cat("/api/1/vehicles/VIN1/command/door_lock"),
            Some(Category::Command)
        );
        assert_eq!(
            cat("/api/1/vehicles/VIN1/signed_command"),
            Some(Category::Command)
        );
        assert_eq!(cat("/oauth2/v3/token"), Some(Category::Auth));
        assert_eq!(cat("/sim/billing"), None);
        assert_eq!(
            classify("/api/1/vehicles/VIN1/wake_up").and_then(|b| b.vehicle_tag),
            Some("VIN1".to_string())
        );
    }

    #[test]
    fn cost_uses_tesla_rates() {
        let mut b = Billing::default();
        b.record(Category::Data, Some("V"));
        b.record(Category::Data, Some("V"));
        b.record(Category::Command, Some("V"));
        b.record(Category::Wake, None);
        b.record(Category::Free, None);
        b.record(Category::Auth, None);
        assert_eq!(
            (b.data, b.commands, b.wakes, b.free, b.token_refreshes),
            (2, 1, 1, 2, 1)
        );
        assert!((b.usd - 0.025).abs() < 1e-12);
        assert_eq!(b.by_vin["V"].data, 2);
        assert_eq!(b.by_vin["V"].wakes, 0);
    }
}
