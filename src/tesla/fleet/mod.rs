//! `tesla::fleet`: the Fleet API REST client.
//!
//! Owns the HTTP conversation with Tesla's regional Fleet API: bearer tokens (from `tesla::auth`, with
//! one refresh on a 401), Tesla's error envelopes turned into [`FleetError`], `Retry-After`, and a
//! running count of billable requests ([`Usage`]) — Tesla bills every request that answers below 500,
//! including 408s and 429s, so the count is part of correctness, not decoration.
//!
//! Also owns *where* requests go. The base URL can move: a 421 ("user out of region") is followed once
//! to the host Tesla names — if [`region::may_follow`] allows it — and the new base is persisted, so a
//! restart goes straight there. With `region = "auto"` and no `api_base_url` override, the base is
//! resolved once per account from the token's `ou_code` and then `GET /api/1/users/region`.
//!
//! Knows nothing about MQTT, Home Assistant or signals. Partner endpoints live in [`partner`].

pub mod partner;
pub mod retry;

use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;
use tracing::{debug, info, instrument, warn};
use url::Url;

use crate::secret::Secret;
use crate::store::Store;
use crate::tesla::auth::{AuthError, Claims, Tokens};
use crate::tesla::region;

mod signed;

/// Tesla's published prices per request, in US dollars.
pub const PRICE_DATA: f64 = 0.002;
pub const PRICE_COMMAND: f64 = 0.001;
pub const PRICE_WAKE: f64 = 0.02;
/// Fleet Telemetry: $1 per 150,000 signals (one datum in a record is one signal).
pub const PRICE_SIGNAL: f64 = 1.0 / 150_000.0;

/// Tesla's per-car daily limits of the Discovery plan (data, commands, wakes, charging commands). Tesla
/// answers 429 with a `Retry-After` of up to a day once one is reached.
pub const DAILY_LIMITS: Usage = Usage {
    data: 200,
    commands: 50,
    charging_commands: 5,
    wakes: 15,
    free: 0,
    signals: 0,
};

/// How Tesla bills a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// `vehicle_data` and other live reads.
    Data,
    Command,
    Wake,
    /// The vehicle list, single-vehicle reads, `fleet_status`, the account's region, partner calls:
    /// Tesla does not charge for them (nor for the token endpoint).
    Free,
}

impl Category {
    /// The price of one request in this category.
    pub fn price(self) -> f64 {
        match self {
            Category::Data => PRICE_DATA,
            Category::Command => PRICE_COMMAND,
            Category::Wake => PRICE_WAKE,
            Category::Free => 0.0,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Category::Data => "data",
            Category::Command => "command",
            Category::Wake => "wake",
            Category::Free => "free",
        }
    }
}

/// REST commands Tesla counts against the daily charging-command limit as well as the command limit.
pub fn is_charging_command(name: &str) -> bool {
    name.starts_with("charge_")
        || matches!(
            name,
            "set_charge_limit"
                | "set_charging_amps"
                | "set_scheduled_charging"
                | "add_charge_schedule"
                | "remove_charge_schedule"
                | "batch_remove_charge_schedules"
        )
}

/// One request as Tesla bills it: what it is and which car it is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Billed {
    pub category: Category,
    /// Upper case; `None` for account-wide requests (the vehicle list).
    pub vin: Option<String>,
    /// A charging command (counted against that daily limit too).
    pub charging: bool,
}

/// Sees every Fleet API request: may hold one back before it is sent, and counts what Tesla bills.
/// The cost governor implements it; `tesla` knows only this trait.
pub trait Meter: Send + Sync {
    /// Called before each attempt (a 401 retry or a followed 421 is a new, billed attempt). An error
    /// means "do not send" (budget spent, a rate limit still running).
    fn admit(&self, request: &Billed) -> Result<(), FleetError>;
    /// Called with the answer's status (`None`: no answer, e.g. a dropped connection). Tesla bills
    /// every status below 500.
    fn answered(&self, request: &Billed, status: Option<u16>, error: Option<&FleetError>);
}

/// Billable requests counted the way Tesla counts them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Usage {
    pub data: u64,
    pub commands: u64,
    /// Of `commands`, the charging ones (their own daily limit).
    pub charging_commands: u64,
    pub wakes: u64,
    pub free: u64,
    /// Fleet Telemetry signals.
    pub signals: u64,
}

impl Usage {
    /// What these requests cost at Tesla's prices, before the monthly discount.
    pub fn usd(&self) -> f64 {
        self.data as f64 * PRICE_DATA
            + self.commands as f64 * PRICE_COMMAND
            + self.wakes as f64 * PRICE_WAKE
            + self.signals as f64 * PRICE_SIGNAL
    }

    /// Billable requests (signals are not requests).
    pub fn requests(&self) -> u64 {
        self.data + self.commands + self.wakes
    }

    /// Adds (or with `by = -1`, takes back) one request.
    pub fn count(&mut self, request: &Billed, by: i64) {
        let add = |n: &mut u64| *n = n.saturating_add_signed(by);
        match request.category {
            Category::Data => add(&mut self.data),
            Category::Command => {
                add(&mut self.commands);
                if request.charging {
                    add(&mut self.charging_commands);
                }
            }
            Category::Wake => add(&mut self.wakes),
            Category::Free => add(&mut self.free),
        }
    }

    /// Sums two counts.
    pub fn plus(&self, other: &Usage) -> Usage {
        Usage {
            data: self.data + other.data,
            commands: self.commands + other.commands,
            charging_commands: self.charging_commands + other.charging_commands,
            wakes: self.wakes + other.wakes,
            free: self.free + other.free,
            signals: self.signals + other.signals,
        }
    }
}

/// What went wrong talking to the Fleet API.
#[derive(Debug, Clone, thiserror::Error)]
pub enum FleetError {
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error("the car is asleep or offline")]
    Unavailable,
    #[error("Tesla rate-limited the request; retry in {} s", retry_after.as_secs())]
    RateLimited { retry_after: Duration },
    /// 403 `account disabled: EXCEEDED_LIMIT`: Tesla switched the whole application off.
    #[error("Tesla disabled this application's Fleet API access: its billing limit is used up (403 EXCEEDED_LIMIT). Raise the limit or add a payment method at developer.tesla.com (Dashboard, Billing); TeslaSync pauses Fleet API requests meanwhile")]
    BillingLimitExceeded,
    /// Not sent: the cost governor held the request back (budget spent, a rate limit still running).
    #[error("not sent to Tesla: {reason}")]
    Held {
        reason: String,
        /// When the request may go out again, if that is known.
        until: Option<std::time::SystemTime>,
    },
    #[error("vehicle {0} is not on this Tesla account")]
    UnknownVehicle(String),
    #[error("this car only accepts signed commands (Tesla Vehicle Command Protocol)")]
    SigningRequired,
    #[error("this car does not support signed commands; it takes plain REST commands (set commands.rest_vins if TeslaSync chose wrong)")]
    ProtocolUnsupported,
    #[error("Tesla says this account lives in another region ({0}); set [tesla] region (TESLASYNC_TESLA__REGION) to the account's region, or to auto")]
    WrongRegion(String),
    #[error("Tesla answered 412: this application is not registered in this region ({0}). Register it on the status page or with `teslasync partner register --domain <your domain>`")]
    NotRegistered(String),
    #[error("Tesla refused the request (HTTP {status}): {message}")]
    Refused { status: u16, message: String },
    #[error("Tesla had a temporary problem (HTTP {status}): {message}")]
    Server { status: u16, message: String },
    #[error("could not reach the Fleet API: {0}")]
    Transport(String),
    #[error("unexpected answer from the Fleet API: {0}")]
    Decode(String),
}

impl FleetError {
    /// Worth retrying later without changing anything.
    pub fn is_temporary(&self) -> bool {
        matches!(
            self,
            FleetError::RateLimited { .. }
                | FleetError::Held { .. }
                | FleetError::Server { .. }
                | FleetError::Transport(_)
                | FleetError::Unavailable
        )
    }
}

/// One entry of the vehicle list (the fields TeslaSync uses; Tesla sends more).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct VehicleSummary {
    pub vin: String,
    #[serde(default)]
    pub display_name: Option<String>,
    /// `online`, `asleep` or `offline`.
    #[serde(default)]
    pub state: Option<String>,
    /// `off`, `allowed` or `required`.
    #[serde(default)]
    pub command_signing: Option<String>,
}

/// The car's answer to a REST command.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct CommandReply {
    pub result: bool,
    #[serde(default)]
    pub reason: String,
}

#[derive(Deserialize)]
struct Envelope<T> {
    response: T,
}

/// `GET /api/1/users/region`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct UserRegion {
    pub region: String,
    pub fleet_api_base_url: String,
}

/// `POST /api/1/vehicles/fleet_status`: the virtual-key checklist.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct FleetStatus {
    #[serde(default)]
    pub key_paired_vins: Vec<String>,
    #[serde(default)]
    pub unpaired_vins: Vec<String>,
    #[serde(default)]
    pub vehicle_info: std::collections::BTreeMap<String, VehicleKeyInfo>,
}

/// One car's entry in [`FleetStatus`].
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct VehicleKeyInfo {
    #[serde(default)]
    pub firmware_version: Option<String>,
    #[serde(default)]
    pub vehicle_command_protocol_required: Option<bool>,
    #[serde(default)]
    pub fleet_telemetry_version: Option<String>,
    #[serde(default)]
    pub total_number_of_keys: Option<u32>,
}

/// The answer to a telemetry config push.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct TelemetryConfigPush {
    #[serde(default)]
    pub updated_vehicles: u32,
    /// Reason → VINs (`missing_key`, `unsupported_hardware`, `unsupported_firmware`, `max_configs`).
    #[serde(default)]
    pub skipped_vehicles: std::collections::BTreeMap<String, Vec<String>>,
}

/// A car's telemetry config as Tesla reports it.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct TelemetryConfigStatus {
    #[serde(default)]
    pub synced: bool,
    /// `None` with `synced: true` means the car did not take it (it is at its limit of configs).
    #[serde(default)]
    pub config: Option<Json>,
    #[serde(default)]
    pub limit_reached: bool,
    #[serde(default)]
    pub key_paired: bool,
}

impl TelemetryConfigStatus {
    /// The car has a config and synced it: only both together mean it will stream.
    pub fn active(&self) -> bool {
        self.synced && self.config.as_ref().is_some_and(|c| !c.is_null())
    }
}

/// Tesla's list of telemetry errors for one car.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct TelemetryErrors {
    #[serde(default)]
    pub fleet_telemetry_errors: Vec<TelemetryError>,
}

/// One entry of [`TelemetryErrors`]: `name` is the partner client id, `error` the text.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct TelemetryError {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub error: String,
    #[serde(default)]
    pub vin: String,
}

/// Reachability of a host, for the admin API's connectivity test.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Reachability {
    pub url: String,
    pub reachable: bool,
    pub status: Option<u16>,
    pub latency_ms: u64,
    pub error: Option<String>,
}

/// Store record (JSON tree [`ROUTING_TREE`]) of the base URL Tesla sent us to.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Routing {
    /// The base the configuration names; a changed configuration discards the record.
    configured: String,
    base: String,
}

const ROUTING_TREE: &str = "tesla";
const ROUTING_KEY: &str = "fleet_base";

/// Where requests go and how that may change.
struct Route {
    /// The current base URL.
    base: RwLock<Url>,
    /// The base from the configuration (override or the region's host).
    configured: Url,
    /// `tesla.api_base_url`, whose host may be followed on a 421 besides Tesla's own.
    override_url: Option<Url>,
    /// Resolve from the token's region (`region = "auto"`, no override).
    auto: bool,
    /// The regional hosts `auto` chooses from and 421s may lead to.
    hosts: region::FleetHosts,
    /// The account (`sub`) the base was resolved for; a new account resolves again.
    resolved_for: tokio::sync::Mutex<Option<String>>,
    store: Option<Store>,
}

impl Route {
    /// Whether a host Tesla names (421, `users/region`) may be followed: Tesla's own hosts, the
    /// configured regional hosts, or the override's host — never anything else.
    fn may_follow(&self, target: &Url) -> bool {
        region::may_follow(target, self.override_url.as_ref()) || self.hosts.contains(target)
    }
}

/// The Fleet API client for one account.
#[derive(Clone)]
pub struct FleetClient {
    http: reqwest::Client,
    route: Arc<Route>,
    tokens: Arc<Tokens>,
    usage: Arc<Mutex<Usage>>,
    /// The cost governor, once the daemon has attached one (shared by every clone).
    meter: Arc<OnceLock<Arc<dyn Meter>>>,
}

impl FleetClient {
    /// A client that always uses `base` (no region following).
    pub fn new(http: reqwest::Client, base: Url, tokens: Arc<Tokens>) -> Self {
        FleetClient {
            http,
            route: Arc::new(Route {
                base: RwLock::new(base.clone()),
                configured: base,
                override_url: None,
                auto: false,
                hosts: region::FleetHosts::tesla(),
                resolved_for: tokio::sync::Mutex::new(None),
                store: None,
            }),
            tokens,
            usage: Arc::default(),
            meter: Arc::default(),
        }
    }

    /// Turns on following Tesla to the account's region: 421s are followed (to `hosts`, any Tesla
    /// host, or the override's host), the followed base is persisted in `store` and restored here,
    /// and with `auto` the base is resolved from the token's `ou_code` and `users/region`.
    pub fn follow_region(
        mut self,
        override_url: Option<Url>,
        auto: bool,
        store: Store,
        hosts: region::FleetHosts,
    ) -> Self {
        let configured = self.route.configured.clone();
        let restored = store
            .get_json::<Routing>(ROUTING_TREE, ROUTING_KEY)
            .ok()
            .flatten()
            .filter(|r| r.configured == configured.as_str())
            .and_then(|r| Url::parse(&r.base).ok())
            .filter(|b| {
                region::may_follow(b, override_url.as_ref())
                    || hosts.contains(b)
                    || *b == configured
            });
        if let Some(base) = &restored {
            info!(base = %base, "using the Fleet API host Tesla named before");
        }
        self.route = Arc::new(Route {
            base: RwLock::new(restored.unwrap_or_else(|| configured.clone())),
            configured,
            auto: auto && override_url.is_none(),
            override_url,
            hosts,
            resolved_for: tokio::sync::Mutex::new(None),
            store: Some(store),
        });
        self
    }

    /// The base URL requests go to now.
    pub fn base_url(&self) -> Url {
        self.route.base.read().expect("route lock").clone()
    }

    /// The base URL named by the configuration.
    pub fn configured_base(&self) -> &Url {
        &self.route.configured
    }

    /// Switches to `base` and remembers it across restarts.
    fn switch_base(&self, base: Url, why: &str) {
        {
            let mut current = self.route.base.write().expect("route lock");
            if *current == base {
                return;
            }
            *current = base.clone();
        }
        info!(base = %base, why, "switched the Fleet API host");
        if let Some(store) = &self.route.store {
            let record = Routing {
                configured: self.route.configured.to_string(),
                base: base.to_string(),
            };
            if let Err(e) = store.put_json(ROUTING_TREE, ROUTING_KEY, &record) {
                warn!(error = %e, "could not persist the Fleet API host");
            }
        }
    }

    /// With `region = "auto"`: once per account, picks the host of the token's `ou_code`, then asks
    /// Tesla (`users/region`), which also knows accounts whose `ou_code` is wrong.
    async fn ensure_region(&self) -> Result<(), FleetError> {
        if !self.route.auto {
            return Ok(());
        }
        let mut resolved = self.route.resolved_for.lock().await;
        let Some(claims) = self.tokens.claims().await else {
            return Ok(());
        };
        let account = claims.sub.clone().unwrap_or_default();
        if resolved.as_deref() == Some(account.as_str()) {
            return Ok(());
        }
        if let Some(base) = base_for_claims(&self.route.hosts, &claims) {
            self.switch_base(base, "the token's ou_code");
        }
        // `request`, not `call`: `call` would land here again.
        match self
            .request::<UserRegion>(
                Method::GET,
                "api/1/users/region",
                None,
                billed("api/1/users/region", Category::Free),
            )
            .await
        {
            Ok(r) => match Url::parse(&r.fleet_api_base_url) {
                Ok(base) if self.route.may_follow(&base) => self.switch_base(base, "users/region"),
                _ => warn!(
                    url = r.fleet_api_base_url,
                    "users/region named a host that is not Tesla's; ignored"
                ),
            },
            Err(e) => warn!(error = %e, "could not ask Tesla for the account's region"),
        }
        *resolved = Some(account);
        Ok(())
    }

    /// Attaches the cost governor: from now on every request of this client and its clones is
    /// admitted and counted by it. Only the first meter attached counts.
    pub fn set_meter(&self, meter: Arc<dyn Meter>) {
        if self.meter.set(meter).is_err() {
            warn!("a Fleet API meter was already attached; keeping the first");
        }
    }

    /// Requests made by this process so far, by billing category.
    pub fn usage(&self) -> Usage {
        self.usage.lock().expect("usage mutex").clone()
    }

    /// The token manager this client uses.
    pub fn tokens(&self) -> &Arc<Tokens> {
        &self.tokens
    }

    /// `GET /api/1/vehicles`: every car with its state, without waking any of them.
    pub async fn vehicles(&self) -> Result<Vec<VehicleSummary>, FleetError> {
        self.call(Method::GET, "api/1/vehicles", None, Category::Free)
            .await
    }

    /// `GET /api/1/vehicles/{vin}`: one car's live state, without waking it.
    pub async fn vehicle(&self, vin: &str) -> Result<VehicleSummary, FleetError> {
        self.call(
            Method::GET,
            &format!("api/1/vehicles/{vin}"),
            None,
            Category::Free,
        )
        .await
    }

    /// `GET /api/1/vehicles/{vin}/vehicle_data`: billed, and only answered by an awake car.
    pub async fn vehicle_data(&self, vin: &str, endpoints: &[&str]) -> Result<Json, FleetError> {
        let path = format!(
            "api/1/vehicles/{vin}/vehicle_data?endpoints={}",
            endpoints.join("%3B")
        );
        self.call(Method::GET, &path, None, Category::Data).await
    }

    /// `POST /api/1/vehicles/{vin}/wake_up`: the expensive one. Returns the state right after.
    pub async fn wake_up(&self, vin: &str) -> Result<VehicleSummary, FleetError> {
        self.call(
            Method::POST,
            &format!("api/1/vehicles/{vin}/wake_up"),
            Some(Json::Object(Default::default())),
            Category::Wake,
        )
        .await
    }

    /// `GET /api/1/users/region`: the account's region and its Fleet API host (free).
    pub async fn users_region(&self) -> Result<UserRegion, FleetError> {
        self.call(Method::GET, "api/1/users/region", None, Category::Free)
            .await
    }

    /// On a 421, switches to the host Tesla names — if it may be followed. Returns whether it did.
    fn follow_misdirect(&self, headers: &reqwest::header::HeaderMap, body: &[u8]) -> bool {
        let text = String::from_utf8_lossy(body);
        let alt_svc = headers
            .get(reqwest::header::ALT_SVC)
            .and_then(|v| v.to_str().ok());
        match region::misdirected_target(&text, alt_svc) {
            Some(target) if self.route.may_follow(&target) => {
                self.switch_base(target, "Tesla answered 421");
                true
            }
            Some(target) => {
                warn!(target = %target, "a 421 named a host that is not Tesla's; not following it");
                false
            }
            None => false,
        }
    }

    /// `POST /api/1/vehicles/fleet_status`: which cars have TeslaSync's key, need signed commands, run
    /// which firmware. Does not wake the cars.
    pub async fn fleet_status(&self, vins: &[String]) -> Result<FleetStatus, FleetError> {
        self.call(
            Method::POST,
            "api/1/vehicles/fleet_status",
            Some(serde_json::json!({ "vins": vins })),
            Category::Free,
        )
        .await
    }

    /// `POST /api/1/vehicles/fleet_telemetry_config_jws`: pushes a signed telemetry config
    /// (`token`, from `tesla::command::jws::sign_fleet_telemetry_config`) to `vins`. Counted as a
    /// data request: Tesla's category for it is not published, so the meter errs high.
    pub async fn fleet_telemetry_config_jws(
        &self,
        vins: &[String],
        token: &str,
    ) -> Result<TelemetryConfigPush, FleetError> {
        self.call(
            Method::POST,
            "api/1/vehicles/fleet_telemetry_config_jws",
            Some(serde_json::json!({ "vins": vins, "token": token })),
            Category::Data,
        )
        .await
    }

    /// `GET /api/1/vehicles/{vin}/fleet_telemetry_config`: what the car has synced.
    pub async fn fleet_telemetry_config(
        &self,
        vin: &str,
    ) -> Result<TelemetryConfigStatus, FleetError> {
        self.call(
            Method::GET,
            &format!("api/1/vehicles/{vin}/fleet_telemetry_config"),
            None,
            Category::Data,
        )
        .await
    }

    /// `GET /api/1/vehicles/{vin}/fleet_telemetry_errors`: what went wrong on Tesla's side
    /// (connection failures to our receiver, a config that did not verify). Counted as a data
    /// request like the config read.
    pub async fn fleet_telemetry_errors(&self, vin: &str) -> Result<TelemetryErrors, FleetError> {
        self.call(
            Method::GET,
            &format!("api/1/vehicles/{vin}/fleet_telemetry_errors"),
            None,
            Category::Data,
        )
        .await
    }

    /// `GET {base}/status` (no token): is the Fleet API host reachable from here?
    pub async fn reachability(&self) -> Reachability {
        let url = self
            .base_url()
            .join("status")
            .expect("a base URL joins a relative path");
        probe(&self.http, url).await
    }

    /// `POST /api/1/vehicles/{vin}/command/{name}` with a JSON body.
    pub async fn command(
        &self,
        vin: &str,
        name: &str,
        body: Json,
    ) -> Result<CommandReply, FleetError> {
        self.call(
            Method::POST,
            &format!("api/1/vehicles/{vin}/command/{name}"),
            Some(body),
            Category::Command,
        )
        .await
    }

    #[instrument(skip(self, body), fields(%method))]
    async fn call<T: for<'de> Deserialize<'de>>(
        &self,
        method: Method,
        path: &str,
        body: Option<Json>,
        category: Category,
    ) -> Result<T, FleetError> {
        self.call_billed(method, path, body, billed(path, category))
            .await
    }

    /// [`Self::call`] for a request whose billing the path does not tell (a signed command's name
    /// is inside its protobuf).
    pub(crate) async fn call_billed<T: for<'de> Deserialize<'de>>(
        &self,
        method: Method,
        path: &str,
        body: Option<Json>,
        billed: Billed,
    ) -> Result<T, FleetError> {
        // A valid token first: region resolution reads its claims (`ou_code`), and a freshly imported
        // refresh token has none until it is exchanged.
        self.tokens.access_token().await?;
        self.ensure_region().await?;
        self.request(method, path, body, billed).await
    }

    /// One request at the current base: a 401 refreshes the token once, a 421 is followed once to
    /// the host Tesla names, every answer below 500 is counted as billed.
    async fn request<T: for<'de> Deserialize<'de>>(
        &self,
        method: Method,
        path: &str,
        body: Option<Json>,
        billed: Billed,
    ) -> Result<T, FleetError> {
        let mut token = self.tokens.access_token().await?;
        let mut refreshed = false;
        let mut followed = false;
        let meter = self.meter.get();
        loop {
            let url = self
                .base_url()
                .join(path)
                .map_err(|e| FleetError::Transport(e.to_string()))?;
            if let Some(meter) = meter {
                meter.admit(&billed)?;
            }
            let sent = self.send(&method, &url, &token, body.as_ref()).await;
            let (status, headers, bytes) = match sent {
                Ok(answer) => answer,
                Err(e) => {
                    if let Some(meter) = meter {
                        meter.answered(&billed, None, Some(&e));
                    }
                    return Err(e);
                }
            };
            let error = (!status.is_success())
                .then(|| error_from(status, &headers, &bytes, path, self.tokens.now()));
            if let Some(meter) = meter {
                meter.answered(&billed, Some(status.as_u16()), error.as_ref());
            }
            if status.as_u16() < 500 {
                self.usage.lock().expect("usage mutex").count(&billed, 1);
            }
            debug!(status = status.as_u16(), "fleet api answered");
            if status == StatusCode::UNAUTHORIZED && !refreshed {
                let text = String::from_utf8_lossy(&bytes);
                // `mobile_access_disabled` and `unknown user` are not fixed by a new token.
                if !text.contains("mobile_access_disabled") && !text.contains("unknown user") {
                    token = self.tokens.refresh_after_unauthorized(&token).await?;
                    refreshed = true;
                    continue;
                }
            }
            if status == StatusCode::MISDIRECTED_REQUEST
                && !followed
                && self.follow_misdirect(&headers, &bytes)
            {
                followed = true;
                continue;
            }
            if status.is_success() {
                return serde_json::from_slice::<Envelope<T>>(&bytes)
                    .map(|e| e.response)
                    .map_err(|e| FleetError::Decode(e.to_string()));
            }
            return Err(error.expect("a failed status has an error"));
        }
    }

    async fn send(
        &self,
        method: &Method,
        url: &Url,
        token: &Secret,
        body: Option<&Json>,
    ) -> Result<(StatusCode, reqwest::header::HeaderMap, bytes::Bytes), FleetError> {
        let mut request = self
            .http
            .request(method.clone(), url.clone())
            .bearer_auth(token.expose());
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request
            .send()
            .await
            .map_err(|e| FleetError::Transport(crate::tesla::transport_error(e)))?;
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response
            .bytes()
            .await
            .map_err(|e| FleetError::Transport(crate::tesla::transport_error(e)))?;
        Ok((status, headers, bytes))
    }
}

/// How Tesla bills a request to `path` (relative, `api/1/...`) in `category`: the car it is about and,
/// for commands, whether it is a charging command.
pub(crate) fn billed(path: &str, category: Category) -> Billed {
    let mut parts = path.split(['/', '?']).skip(2);
    let vin = match (parts.next(), parts.next()) {
        (Some("vehicles"), Some(tag)) if !tag.is_empty() && tag != "fleet_status" => {
            Some(tag.to_ascii_uppercase())
        }
        _ => None,
    };
    let charging = category == Category::Command
        && path
            .split_once("/command/")
            .is_some_and(|(_, name)| is_charging_command(name));
    Billed {
        category,
        vin,
        charging,
    }
}

/// Turns Tesla's error answer (JSON envelope or plain text) into a [`FleetError`].
fn error_from(
    status: StatusCode,
    headers: &reqwest::header::HeaderMap,
    body: &[u8],
    path: &str,
    now: std::time::SystemTime,
) -> FleetError {
    let message = serde_json::from_slice::<Json>(body)
        .ok()
        .and_then(|j| j.get("error").and_then(Json::as_str).map(str::to_string))
        .unwrap_or_else(|| {
            String::from_utf8_lossy(body)
                .trim()
                .chars()
                .take(200)
                .collect()
        });
    match status.as_u16() {
        408 => FleetError::Unavailable,
        412 => FleetError::NotRegistered(message),
        421 => FleetError::WrongRegion(message),
        429 => FleetError::RateLimited {
            retry_after: retry::retry_after(headers, &message, now),
        },
        403 if message.contains("EXCEEDED_LIMIT") => FleetError::BillingLimitExceeded,
        404 => FleetError::UnknownVehicle(path.split('/').nth(3).unwrap_or_default().to_string()),
        403 if message.contains("Vehicle Command Protocol required") => FleetError::SigningRequired,
        s if s >= 500 => FleetError::Server { status: s, message },
        s => FleetError::Refused { status: s, message },
    }
}

/// The Fleet API host for the region a token claims (`ou_code`), if it names one.
pub fn base_for_claims(hosts: &region::FleetHosts, claims: &Claims) -> Option<Url> {
    let region = claims
        .ou_code
        .as_deref()?
        .parse::<crate::config::Region>()
        .ok()?;
    Some(hosts.get(region).clone())
}

/// A plain GET with the time it took (no token; for connectivity tests).
pub async fn probe(http: &reqwest::Client, url: Url) -> Reachability {
    let started = Instant::now();
    let result = http
        .get(url.clone())
        .timeout(Duration::from_secs(10))
        .send()
        .await;
    let latency_ms = started.elapsed().as_millis() as u64;
    match result {
        Ok(r) => Reachability {
            url: url.to_string(),
            reachable: true,
            status: Some(r.status().as_u16()),
            latency_ms,
            error: None,
        },
        Err(e) => Reachability {
            url: url.to_string(),
            reachable: false,
            status: None,
            latency_ms,
            error: Some(e.without_url().to_string()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderMap;
    use std::time::SystemTime;

    #[test]
    fn tesla_error_bodies_map_to_typed_errors() {
        let h = HeaderMap::new();
        let err =
            |status, body: &[u8], path| error_from(status, &h, body, path, SystemTime::UNIX_EPOCH);
        let e = err(
            StatusCode::REQUEST_TIMEOUT,
            br#"{"response":null,"error":"vehicle unavailable: vehicle is offline or asleep"}"#,
            "api/1/vehicles/X/vehicle_data",
        );
        assert!(matches!(e, FleetError::Unavailable));
        let e = err(
            StatusCode::FORBIDDEN,
            br#"{"response":null,"error":"Tesla Vehicle Command Protocol required, please refer"}"#,
            "p",
        );
        assert!(matches!(e, FleetError::SigningRequired));
        let e = err(
            StatusCode::NOT_FOUND,
            br#"{"error":"not_found"}"#,
            "api/1/vehicles/5YJ/vehicle_data",
        );
        assert_eq!(e.to_string(), "vehicle 5YJ is not on this Tesla account");
        let e = err(StatusCode::BAD_GATEWAY, b"<html>oops</html>", "p");
        assert!(e.is_temporary(), "{e}");
        let e = err(
            StatusCode::FORBIDDEN,
            br#"{"response":null,"error":"account disabled: EXCEEDED_LIMIT"}"#,
            "api/1/vehicles/5YJ/vehicle_data",
        );
        assert!(matches!(e, FleetError::BillingLimitExceeded));
        assert!(e.to_string().contains("developer.tesla.com"), "{e}");
        let e = err(
            StatusCode::TOO_MANY_REQUESTS,
            b"Retry in 18446744073709551615 seconds",
            "api/1/vehicles",
        );
        assert!(
            matches!(e, FleetError::RateLimited { retry_after } if retry_after == retry::MAX_RETRY_AFTER),
            "{e:?}"
        );
    }

    #[test]
    fn usage_prices_match_tesla() {
        let u = Usage {
            data: 500,
            commands: 1000,
            wakes: 50,
            free: 9,
            signals: 150_000,
            ..Usage::default()
        };
        assert!((u.usd() - 4.0).abs() < 1e-9);
        assert_eq!(u.requests(), 1550);
    }

    #[test]
    fn requests_are_billed_to_their_car_and_category() {
        let b = billed(
            "api/1/vehicles/5yj1/command/set_charging_amps",
            Category::Command,
        );
        assert_eq!(b.vin.as_deref(), Some("5YJ1"));
        assert!(b.charging);
        let b = billed("api/1/vehicles/5YJ1/command/door_lock", Category::Command);
        assert!(!b.charging);
        let b = billed(
            "api/1/vehicles/5YJ1/vehicle_data?endpoints=charge_state",
            Category::Data,
        );
        assert_eq!(b.vin.as_deref(), Some("5YJ1"));
        assert_eq!(billed("api/1/vehicles", Category::Free).vin, None);
        assert_eq!(
            billed("api/1/vehicles/fleet_status", Category::Free).vin,
            None
        );
        assert_eq!(billed("api/1/users/region", Category::Free).vin, None);
        let mut u = Usage::default();
        u.count(
            &billed("api/1/vehicles/V/command/charge_start", Category::Command),
            1,
        );
        u.count(&billed("api/1/vehicles/V/wake_up", Category::Wake), 1);
        u.count(&billed("api/1/vehicles/V/wake_up", Category::Wake), -1);
        assert_eq!((u.commands, u.charging_commands, u.wakes), (1, 1, 0));
    }
}
