//! `sim`: a simulated Tesla account — Tesla's token endpoint, the Fleet API and cars with a sleep/wake
//! state machine — on one axum router, plus a control API under `/sim/*` (DESIGN.md §5).
//!
//! The demo, the integration tests and the benchmarks run against it, so it aims to answer like Tesla
//! does (paths, bodies, errors, billing; fleet-api.md §8) and to be deterministic: all time comes from a
//! [`Clock`], state is computed lazily from it on each access (no background tasks), and with
//! [`Clock::manual`] a test runs an hour of virtual time in milliseconds.
//!
//! Module map:
//! - `car`: one vehicle's state, the sleep/wake state machine, charging and driving physics, control
//!   actions; `action`: what a command does to a car; `commands`: the REST command table;
//!   `protobuf`: the car's own reading of a signed payload (both end in the same `action`).
//! - `render`: cars as Tesla JSON (vehicle object, `vehicle_data` blocks) and as the control view.
//! - `auth`: refresh/access tokens and their rotation, authorization codes, partner tokens;
//!   `authorize`: the sign-in (consent) page; `billing`: Tesla's pricing categories;
//!   `faults`: injected failures; `reply`: response shapes.
//! - `region`: the account's region and the per-region listeners (421); `partner`: partner
//!   registration (with a real fetch of the `.well-known` key), virtual-key pairing, `fleet_status`.
//! - `api`: the Tesla endpoints; `control`: `/sim/*`.
//! - `signed`: the car's side of `signed_command` — per-domain verifiers, paired keys, counters.
//!
//! Must not depend on the daemon's modules: the simulator is the other side of the wire.

mod action;
mod api;
mod auth;
mod authorize;
mod billing;
mod car;
mod commands;
mod control;
mod faults;
mod partner;
mod protobuf;
mod region;
mod render;
mod reply;
mod signed;
pub mod telemetry;
pub mod telemetry_config;

#[cfg(test)]
mod signed_tests;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use crate::clock::Clock;

pub use auth::SCOPES;
pub use authorize::approve_form;
pub use billing::{Billing, VinBilling};
pub use faults::Fault;
pub use partner::WELL_KNOWN_PATH;
pub use region::SimRegion;
pub use signed::SignedStats;

use auth::TokenStore;
use car::{Car, Control, Timing, CONTROLS};
use faults::FaultQueue;
use partner::PartnerState;
use region::Regions;

/// Connectivity of a simulated car as Tesla reports it (`state` in the vehicle object).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SimState {
    Online,
    Asleep,
    Offline,
}

/// How to build the simulated account.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Number of cars; they alternate between a 2022 Model Y (signed commands required) and a 2018
    /// Model S (REST commands).
    pub vehicles: usize,
    pub clock: Clock,
    pub client_id: String,
    pub client_secret: String,
    pub access_token_ttl: Duration,
    /// How long an asleep car takes to come online after `wake_up`.
    pub wake_delay: Duration,
    /// Inactivity after which an online car that is neither driving nor charging falls asleep.
    pub sleep_after: Duration,
    /// Every car's state at start.
    pub initial_state: SimState,
    /// Every car's state of charge at start, %; `None` gives each car its own (72 %, 58 %, ...).
    pub initial_soc: Option<f64>,
    /// Where the account lives; listeners of other regions answer 421 ([`Sim::router_for_region`]).
    pub region: SimRegion,
    /// The application's registered redirect URIs; empty accepts any (handy for the demo).
    pub redirect_uris: Vec<String>,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            vehicles: 2,
            clock: Clock::system(),
            client_id: "teslasync-demo-client".to_string(),
            client_secret: "teslasync-demo-secret".to_string(),
            access_token_ttl: Duration::from_secs(8 * 3600),
            wake_delay: Duration::from_secs(5),
            sleep_after: Duration::from_secs(15 * 60),
            initial_state: SimState::Online,
            initial_soc: None,
            region: SimRegion::Na,
            redirect_uris: Vec::new(),
        }
    }
}

/// Why a control action could not be done.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SimError {
    #[error("no simulated vehicle has VIN {0:?} (GET /sim/vehicles lists them)")]
    UnknownVin(String),
    #[error("unknown action {action:?}; valid actions: {valid}")]
    UnknownAction { action: String, valid: String },
    /// The car cannot do that in its current state; the message says what to do first.
    #[error("{0}")]
    Refused(String),
    #[error("the simulator runs on the system clock, which cannot be advanced (give SimConfig a Clock::manual)")]
    ClockNotManual,
    /// A client public key the control API cannot use; the message says which form it takes.
    #[error("public key: {0}")]
    InvalidKey(String),
}

/// Everything the simulator knows, behind one lock.
pub(crate) struct World {
    pub cars: Vec<Car>,
    pub timing: Timing,
    pub tokens: TokenStore,
    pub billing: Billing,
    pub faults: FaultQueue,
    pub regions: Regions,
    pub partner: PartnerState,
    /// Counter behind the `x-txid` header, so transaction ids are unique and reproducible.
    pub txid: u64,
    /// Signed-command state by VIN, for the cars that speak the protocol. Beside the cars rather
    /// than in them: verifiers hold keys and sessions, which a `Car` clone must not duplicate.
    pub keyrings: BTreeMap<String, signed::Keyring>,
    /// The Fleet Telemetry config each car holds (its verified claims), by VIN.
    pub telemetry_configs: BTreeMap<String, serde_json::Value>,
    /// Telemetry config calls counted and the errors Tesla reports per car.
    pub telemetry_account: telemetry_config::TelemetryAccount,
}

impl World {
    /// Finds a car by VIN or by its numeric id (`{vehicle_tag}` accepts both).
    pub fn find(&self, tag: &str) -> Option<usize> {
        self.cars
            .iter()
            .position(|c| c.vin == tag || c.id.to_string() == tag)
    }

    /// The car for `tag`, settled to `now`.
    pub fn car(&mut self, tag: &str, now: std::time::SystemTime) -> Option<&mut Car> {
        let idx = self.find(tag)?;
        let timing = self.timing;
        let car = &mut self.cars[idx];
        car.settle(now, &timing);
        Some(car)
    }

    pub fn settle_all(&mut self, now: std::time::SystemTime) {
        let timing = self.timing;
        for car in &mut self.cars {
            car.settle(now, &timing);
        }
    }
}

/// A running simulated account; cheap to clone, all clones share the same world.
#[derive(Clone)]
pub struct Sim {
    clock: Clock,
    /// A std mutex: every critical section is short and synchronous, never held across `.await`.
    world: Arc<Mutex<World>>,
}

/// What `teslasync sim` prints: every environment variable a daemon needs to use the simulator at
/// `url` (a shell can take the `export` lines as they are), and how to sign in. `storage_key` is a
/// fresh storage key for the daemon's own data directory; nothing here is a user's secret.
pub fn banner(
    url: &str,
    client_id: &str,
    client_secret: &str,
    storage_key: &str,
    refresh_token: &str,
) -> String {
    let url = url.trim_end_matches('/');
    format!(
        "Simulated Tesla on {url}\n\
         Point a daemon at it: run these in a shell, then `teslasync run` in the same shell\n\
         (the storage key is new and random; keep it, the data directory cannot be opened without it):\n\
         \n  export TESLA_API_BASE_URL={url}\n\
         \x20 export TESLASYNC_TESLA__AUTH_BASE_URL={url}\n\
         \x20 export TESLA_CLIENT_ID={client_id}\n\
         \x20 export TESLA_CLIENT_SECRET={client_secret}\n\
         \x20 export TESLA_REDIRECT_URI=http://127.0.0.1:8080/api/v1/auth/callback\n\
         \x20 export TESLASYNC_STORAGE__PATH=./teslasync-sim-data\n\
         \x20 export ENCRYPTION_KEY={storage_key}\n\
         \x20 export TESLASYNC_MQTT__URL=mqtt://127.0.0.1:1883\n\
         \nThen sign in: paste this refresh token (single use) into `teslasync auth import`:\n\
         \n  {refresh_token}\n\
         \nor use Sign in with Tesla on the status page (http://127.0.0.1:8080/), or `teslasync auth login`.\n"
    )
}

impl Sim {
    pub fn new(cfg: SimConfig) -> Sim {
        let now = cfg.clock.now();
        let cars: Vec<Car> = (0..cfg.vehicles)
            .map(|i| {
                let mut car = Car::demo(i, cfg.initial_state, now);
                if let Some(soc) = cfg.initial_soc {
                    car.soc = soc.clamp(0.0, 100.0);
                }
                car
            })
            .collect();
        let keyrings = cars
            .iter()
            .filter(|c| c.spec.command_signing != "off")
            .map(|c| (c.vin.clone(), signed::Keyring::new(&c.vin, now)))
            .collect();
        let world = World {
            cars,
            timing: Timing {
                sleep_after: cfg.sleep_after,
                wake_delay: cfg.wake_delay,
            },
            tokens: TokenStore::new(cfg.client_id, cfg.client_secret, cfg.access_token_ttl),
            billing: Billing::default(),
            faults: FaultQueue::default(),
            regions: Regions::new(cfg.region),
            partner: PartnerState::default(),
            txid: 0,
            keyrings,
            telemetry_configs: BTreeMap::new(),
            telemetry_account: Default::default(),
        };
        let sim = Sim {
            clock: cfg.clock,
            world: Arc::new(Mutex::new(world)),
        };
        {
            let mut world = sim.world();
            world.tokens.set_redirect_uris(cfg.redirect_uris);
            world.tokens.set_ou_code(cfg.region.code());
        }
        sim
    }

    /// Locks the world. A panic in another handler must not take the whole simulator down, so a
    /// poisoned lock is used as is.
    pub(crate) fn world(&self) -> MutexGuard<'_, World> {
        self.world.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Tesla's endpoints and the `/sim` control API on one router, answering for whatever region the
    /// account is in.
    pub fn router(&self) -> axum::Router {
        self.build_router(None)
    }

    /// The same, as the Fleet API host of one region: user requests answer 421 naming the account's
    /// region (its listener's URL when registered with [`Sim::set_region_url`]). Serve one per region on
    /// separate listeners; they share this simulator's world.
    pub fn router_for_region(&self, region: SimRegion) -> axum::Router {
        self.build_router(Some(region))
    }

    /// Tells the simulator which base URL serves `region`, so that 421 answers and `users/region` name it.
    pub fn set_region_url(&self, region: SimRegion, url: &str) {
        self.world().regions.set_url(region, url);
    }

    /// Moves the account to `region`; `ou_code` is what new tokens claim (Tesla's claim is sometimes
    /// wrong, so it may differ). Same as `POST /sim/account`.
    pub fn set_account_region(&self, region: SimRegion, ou_code: Option<SimRegion>) {
        let mut world = self.world();
        world.regions.account = region;
        world.tokens.set_ou_code(ou_code.unwrap_or(region).code());
    }

    /// 421 answers given so far.
    pub fn misdirected(&self) -> u64 {
        self.world().regions.misdirected
    }

    /// The user revokes TeslaSync's access (or changes their password): every refresh and access token
    /// dies; the next refresh answers `login_required`. Same as `POST /sim/tokens/revoke`.
    pub fn revoke_tokens(&self) {
        self.world().tokens.revoke_all();
    }

    /// Every access token, refresh token and authorization code issued so far (for leak checks).
    pub fn issued_secrets(&self) -> Vec<String> {
        self.world().tokens.issued()
    }

    fn build_router(&self, region: Option<SimRegion>) -> axum::Router {
        api::routes(self, region)
            .merge(control::routes())
            .fallback(api::not_found)
            .layer(axum::middleware::from_fn_with_state(
                self.clone(),
                api::edge,
            ))
            .with_state(self.clone())
    }

    /// Serves [`Sim::router`] on an already bound listener until `shutdown` is cancelled.
    pub async fn serve(
        self,
        listener: tokio::net::TcpListener,
        shutdown: CancellationToken,
    ) -> std::io::Result<()> {
        axum::serve(listener, self.router())
            .with_graceful_shutdown(shutdown.cancelled_owned())
            .await
    }

    pub fn clock(&self) -> Clock {
        self.clock.clone()
    }

    pub fn vins(&self) -> Vec<String> {
        self.world().cars.iter().map(|c| c.vin.clone()).collect()
    }

    /// A fresh valid refresh token for the simulated account (what a user would import). Each call
    /// starts an independent token family, like a separate sign-in.
    pub fn issue_refresh_token(&self) -> String {
        let now = self.clock.now();
        self.world().tokens.new_family(now)
    }

    /// The control view of one car (same as `GET /sim/vehicles/{vin}`).
    pub fn vehicle_json(&self, vin: &str) -> Option<Value> {
        let now = self.clock.now();
        let mut world = self.world();
        let timing = world.timing;
        let car = world.car(vin, now)?;
        let mut view = render::sim_view(car, now, &timing);
        let vin = car.vin.clone();
        signed::annotate_view(&world, &vin, &mut view);
        Some(view)
    }

    /// Performs a control action (same as `POST /sim/vehicles/{vin}/{action}`).
    pub fn act(&self, vin: &str, action: &str) -> Result<(), SimError> {
        let control = Control::parse(action).ok_or_else(|| SimError::UnknownAction {
            action: action.to_string(),
            valid: CONTROLS.map(|(n, _)| n).join(", "),
        })?;
        let now = self.clock.now();
        let mut world = self.world();
        let car = world
            .car(vin, now)
            .ok_or_else(|| SimError::UnknownVin(vin.to_string()))?;
        car.control(control, now)?;
        if control == Control::Reboot {
            let vin = car.vin.clone();
            if let Some(ring) = world.keyrings.get_mut(&vin) {
                ring.reboot(now);
            }
        }
        Ok(())
    }

    /// Billable requests so far (same as `GET /sim/billing`).
    pub fn billing(&self) -> Billing {
        self.world().billing.clone()
    }

    /// Queues a failure for the next matching Tesla requests (same as `POST /sim/faults`).
    pub fn inject_fault(&self, fault: Fault) {
        self.world().faults.push(fault);
    }

    /// Moves a manual clock forward (same as `POST /sim/clock/advance`).
    pub fn advance(&self, by: Duration) -> Result<(), SimError> {
        if self.clock.advance(by) {
            Ok(())
        } else {
            Err(SimError::ClockNotManual)
        }
    }
}
