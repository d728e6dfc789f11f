//! `sim::partner`: the application's side of the simulated account — partner registration per region,
//! the public key Tesla recorded, virtual-key pairing per car, and the endpoints that report them
//! (`partner_accounts`, `partner_accounts/public_key`, `users/region`, `vehicles/fleet_status`).
//!
//! Registration is real in the way that matters: like Tesla, the simulator fetches
//! `https://<domain>/.well-known/appspecific/com.tesla.3p.public-key.pem` and answers 412 when it cannot.
//! The simulator never goes to the internet, so a test maps each domain to a base URL
//! ([`super::Sim::serve_domain`]); an unmapped domain is unreachable.
//!
//! Pairing records *which* public key a car enrolled, so re-registering a domain with a different key
//! un-pairs every car — the "Unknown Key ID" trap users fall into (home-assistant.md §5 item 7).

use std::collections::HashMap;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use p256::pkcs8::DecodePublicKey;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::region::SimRegion;
use super::{reply, Sim, SimError};

/// Where Tesla looks for an application's public key.
pub const WELL_KNOWN_PATH: &str = "/.well-known/appspecific/com.tesla.3p.public-key.pem";

/// One region's record of the application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registration {
    pub domain: String,
    /// Uncompressed point, hex (`04…`), as `partner_accounts` reports it.
    pub public_key: String,
    pub created_at: u64,
}

/// Partner registrations, domain mappings and pairings.
#[derive(Debug, Default)]
pub struct PartnerState {
    /// domain → base URL the simulator fetches the key from instead of `https://<domain>`.
    pub domains: HashMap<String, String>,
    pub registered: HashMap<SimRegion, Registration>,
    /// When set, Fleet API calls in a region without a registration answer 412, as Tesla does.
    pub require_registration: bool,
}

impl PartnerState {
    /// The key currently registered for the application (any region; they agree after a register).
    pub fn registered_key(&self) -> Option<&str> {
        SimRegion::ALL
            .iter()
            .find_map(|r| self.registered.get(r))
            .map(|r| r.public_key.as_str())
    }

    /// Tesla's 412 for Fleet API calls from a region the application is not registered in.
    pub fn unregistered_error(
        &self,
        region: SimRegion,
        base_url: &str,
        client_id: &str,
    ) -> Option<String> {
        if !self.require_registration || self.registered.contains_key(&region) {
            return None;
        }
        Some(format!(
            "Account {client_id} must be registered in the current region {base_url}, please see https://developer.tesla.com/docs/fleet-api/endpoints/partner-endpoints#register"
        ))
    }
}

/// Fetches and parses the public key a domain serves, like Tesla's registration does. No redirects.
async fn fetch_public_key(base: Option<String>, domain: &str) -> Result<String, String> {
    let url = format!("https://{domain}{WELL_KNOWN_PATH}");
    let Some(base) = base else {
        return Err(format!("{url} could not be reached"));
    };
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(5))
        .no_proxy()
        .build()
        .map_err(|e| e.to_string())?;
    let answer = client
        .get(format!("{}{WELL_KNOWN_PATH}", base.trim_end_matches('/')))
        .send()
        .await
        .map_err(|_| format!("{url} could not be reached"))?;
    if !answer.status().is_success() {
        return Err(format!(
            "{url} answered HTTP {} (it must answer 200 with the PEM, without redirects)",
            answer.status().as_u16()
        ));
    }
    let pem = answer
        .text()
        .await
        .map_err(|_| format!("{url} could not be read"))?;
    let key = p256::PublicKey::from_public_key_pem(pem.trim())
        .map_err(|_| format!("{url} does not hold a P-256 public key in PEM form"))?;
    use p256::elliptic_curve::sec1::ToEncodedPoint;
    Ok(hex::encode(key.to_encoded_point(false).as_bytes()))
}

/// `POST /api/1/partner_accounts {"domain": …}` on the listener of `listener` (partner token).
pub async fn register(sim: Sim, listener: Option<SimRegion>, body: Bytes) -> Response {
    let domain = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|v| v.get("domain").and_then(Value::as_str).map(str::to_string))
        .map(|d| d.trim().to_ascii_lowercase())
        .filter(|d| !d.is_empty());
    let Some(domain) = domain else {
        return reply::fleet_error(StatusCode::BAD_REQUEST, "invalid_field: domain is required");
    };
    let base = sim.world().partner.domains.get(&domain).cloned();
    let key = match fetch_public_key(base, &domain).await {
        Ok(key) => key,
        Err(why) => {
            return reply::fleet_error(
                StatusCode::PRECONDITION_FAILED,
                &format!("Public key not found for domain {domain}: {why}"),
            )
        }
    };
    let now = sim.clock.unix_secs();
    let mut world = sim.world();
    let region = world.regions.effective(listener);
    let client_id = world.tokens.client_id().to_string();
    let created_at = world
        .partner
        .registered
        .get(&region)
        .map_or(now, |r| r.created_at);
    let registration = Registration {
        domain: domain.clone(),
        public_key: key.clone(),
        created_at,
    };
    world.partner.registered.insert(region, registration);
    let hash = hex::encode(Sha256::digest(key.as_bytes()));
    reply::ok(json!({
        "client_id": client_id,
        "name": "TeslaSync simulator app",
        "description": "",
        "domain": domain,
        "ca": null,
        "created_at": created_at,
        "updated_at": now,
        "enterprise_tier": "free",
        "account_id": client_id,
        "issuer": null,
        "csr": null,
        "csr_updated_at": null,
        "public_key": key,
        "public_key_hash": hash,
    }))
}

/// `GET /api/1/partner_accounts/public_key?domain=` (partner token): what Tesla recorded here.
pub async fn public_key(
    sim: Sim,
    listener: Option<SimRegion>,
    query: HashMap<String, String>,
) -> Response {
    let domain = query
        .get("domain")
        .map(|d| d.trim().to_ascii_lowercase())
        .unwrap_or_default();
    let world = sim.world();
    let region = world.regions.effective(listener);
    match world.partner.registered.get(&region) {
        Some(r) if r.domain == domain => reply::ok(json!({ "public_key": r.public_key })),
        _ => reply::fleet_error(StatusCode::NOT_FOUND, "not_found"),
    }
}

/// `GET /api/1/users/region` (user token): the account's region and its base URL.
pub async fn users_region(State(sim): State<Sim>) -> Response {
    let world = sim.world();
    let region = world.regions.account;
    reply::ok(json!({
        "region": region.code(),
        "fleet_api_base_url": world.regions.base_url(region),
    }))
}

/// `POST /api/1/vehicles/fleet_status {"vins": [...]}` (user token): the virtual-key checklist. Free, and
/// does not wake or keep awake any car.
pub async fn fleet_status(State(sim): State<Sim>, body: Bytes) -> Response {
    let vins: Vec<String> = match serde_json::from_slice::<Value>(&body) {
        Ok(v) => v
            .get("vins")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default(),
        Err(_) => return reply::fleet_error(StatusCode::BAD_REQUEST, "invalid_request"),
    };
    let world = sim.world();
    let mut paired = Vec::new();
    let mut unpaired = Vec::new();
    let mut info = serde_json::Map::new();
    for vin in vins {
        let Some(car) = world.cars.iter().find(|c| c.vin == vin) else {
            continue;
        };
        // Paired = the car's keyring holds the application's current key (re-registering a domain
        // with another key un-pairs every car, as with Tesla).
        let key_paired = match (world.partner.registered_key(), world.keyrings.get(&vin)) {
            (Some(app_key), Some(ring)) => ring.paired_hex().iter().any(|k| k == app_key),
            _ => false,
        };
        if key_paired {
            paired.push(vin.clone());
        } else {
            unpaired.push(vin.clone());
        }
        let protocol = car.spec.command_signing != "off";
        info.insert(
            vin.clone(),
            json!({
                "firmware_version": car.spec.car_version.split_whitespace().next().unwrap_or_default(),
                "vehicle_command_protocol_required": car.spec.command_signing == "required",
                "fleet_telemetry_version": if protocol { Some("1.0.2") } else { None },
                "total_number_of_keys": 2 + u32::from(key_paired),
                "discounted_device_data": false,
            }),
        );
    }
    reply::ok(json!({
        "key_paired_vins": paired,
        "unpaired_vins": unpaired,
        "vehicle_info": info,
    }))
}

impl Sim {
    /// Serves `domain`'s `.well-known` key from `base_url` (e.g. the daemon under test) when Tesla's
    /// side fetches it; same as `POST /sim/domains`.
    pub fn serve_domain(&self, domain: &str, base_url: &str) {
        self.world()
            .partner
            .domains
            .insert(domain.trim().to_ascii_lowercase(), base_url.to_string());
    }

    /// Records `public_key` (uncompressed point) as the application's key for `domain` in every
    /// region, as a `partner_accounts` registration would after fetching it (a test shortcut).
    pub fn register_app_key(&self, domain: &str, public_key: &[u8]) {
        let now = self.clock.unix_secs();
        let mut world = self.world();
        for region in SimRegion::ALL {
            world.partner.registered.insert(
                region,
                Registration {
                    domain: domain.to_string(),
                    public_key: hex::encode(public_key),
                    created_at: now,
                },
            );
        }
    }

    /// The owner approves the application's key in the Tesla app (the `_ak` link), for one car; same as
    /// `POST /sim/pairing/{vin}`. The key goes into the car's keyring — the same one its command
    /// verifiers check — so "paired" here and "accepts signed commands" never disagree. Pre-2021
    /// Model S/X cannot pair.
    pub fn pair_app_key(&self, vin: &str) -> Result<(), SimError> {
        let key = self.app_key()?;
        self.pair_key(vin, &key)
    }

    /// Removes the application's key from a car (Locks screen in the car).
    pub fn unpair_app_key(&self, vin: &str) -> Result<(), SimError> {
        let key = self.app_key()?;
        self.unpair_key(vin, &key).map(|_| ())
    }

    /// The application's registered public key (uncompressed point).
    fn app_key(&self) -> Result<Vec<u8>, SimError> {
        let hex_key = self
            .world()
            .partner
            .registered_key()
            .map(str::to_string)
            .ok_or_else(|| {
                SimError::Refused(
                "the application has no registered public key yet: register a partner account first"
                    .to_string(),
            )
            })?;
        hex::decode(&hex_key).map_err(|e| SimError::InvalidKey(e.to_string()))
    }

    /// The public key (hex) Tesla recorded for the application in `region`, if registered.
    pub fn registered_key(&self, region: SimRegion) -> Option<String> {
        self.world()
            .partner
            .registered
            .get(&region)
            .map(|r| r.public_key.clone())
    }

    /// Makes Fleet API calls answer 412 in regions where the application is not registered.
    pub fn require_partner_registration(&self, on: bool) {
        self.world().partner.require_registration = on;
    }
}
