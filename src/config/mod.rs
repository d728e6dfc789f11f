//! `config`: the configuration contract (DESIGN §3), validated once at start-up.
//!
//! Owns the key table ([`keys::KEYS`]), loading (TOML file + environment) and the validated
//! [`Config`] the rest of the daemon reads. It does not open files other than the config file,
//! connect anywhere or create directories; `teslasync check` adds the connectivity checks.
//!
//! Loading has two stages, as in ripgrep's flags:
//! 1. `raw`: defaults, then the file, then the environment, into one raw value per key. Finds
//!    unknown sections, keys and variables (with a did-you-mean) and values of the wrong type.
//! 2. [`Config`]: each raw value interpreted and checked (URLs, region, topic syntax, key
//!    length, ...), the regional hosts resolved.
//!
//! Both stages collect problems instead of stopping at the first, so a user fixes their
//! configuration in one round; each message names the key and ends with how to set it.
//!
//! Precedence, lowest first: defaults, the TOML file, the Tesla-guide variables
//! (`TESLA_CLIENT_ID`, `TESLA_CLIENT_SECRET`, `TESLA_REDIRECT_URI`, `TESLA_API_BASE_URL`,
//! `ENCRYPTION_KEY`), then `TESLASYNC_<SECTION>__<KEY>`. An empty variable counts as unset.
//! A `TESLASYNC_` variable that names no key is an error, because a typo there
//! (`TESLASYNC_MQTT_URL`, one underscore) would otherwise be silently ignored.

pub mod addon;
mod error;
pub mod keys;
mod raw;

use std::collections::HashMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use url::Url;

pub use error::{ConfigError, ConfigProblem};

use crate::secret::Secret;
use raw::{Raw, RawConfig, RawValue};

/// Everything the daemon is configured with. Build it with [`Config::load`]; every field has
/// passed validation.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub tesla: TeslaConfig,
    pub mqtt: MqttConfig,
    pub storage: StorageConfig,
    pub http: HttpConfig,
    pub polling: PollingConfig,
    pub commands: CommandsConfig,
    pub telemetry: TelemetryConfig,
    pub budget: BudgetConfig,
    pub log: LogConfig,
}

/// `[tesla]`: the developer application and where Tesla's servers are.
#[derive(Debug, Clone, PartialEq)]
pub struct TeslaConfig {
    pub client_id: Option<String>,
    pub client_secret: Option<Secret>,
    /// Kept exactly as written (not normalised through [`Url`], which would add a trailing
    /// `/` to a bare host): Tesla compares it character for character with the registered one.
    pub redirect_uri: Option<String>,
    pub region: Region,
    /// Overrides the region's host (proxy, simulator).
    pub api_base_url: Option<Url>,
    pub auth_base_url: Url,
    /// Bare host name serving the public key (`example.com`).
    pub domain: Option<String>,
}

impl TeslaConfig {
    /// Where the sign-in page is: the region's (`auth.tesla.com`, `auth.tesla.cn`) while
    /// `auth_base_url` is Tesla's token host, else `auth_base_url` itself — an override (the
    /// simulator, a proxy) serves both the sign-in page and the token endpoint.
    pub fn authorize_base(&self) -> Url {
        let token_host = Url::parse(crate::tesla::region::TOKEN_HOST).expect("valid URL");
        if self.auth_base_url == token_host {
            Url::parse(crate::tesla::region::hosts(self.region).authorize).expect("valid URL")
        } else {
            self.auth_base_url.clone()
        }
    }

    /// Where Fleet API requests go: `api_base_url` if set, else the region's host
    /// (`Auto` counts as NA until the daemon has asked Tesla for the account's region).
    pub fn fleet_api_base(&self) -> Url {
        self.api_base_url
            .clone()
            .unwrap_or_else(|| self.region.fleet_api_base())
    }
}

/// Fleet API region. Accounts live in one region; calls to another answer 421 or 404.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Region {
    /// Start with NA and follow what Tesla says (`/users/region`, the token's `ou_code`).
    #[default]
    Auto,
    Na,
    Eu,
    Cn,
}

impl Region {
    /// The Fleet API host of this region (from [`crate::tesla::region::HOSTS`]); `Auto` gives NA.
    pub fn fleet_api_base(self) -> Url {
        Url::parse(crate::tesla::region::hosts(self).fleet_api)
            .expect("regional hosts are valid URLs")
    }

    /// The name used in configuration and by Tesla (`na`).
    pub fn as_str(self) -> &'static str {
        match self {
            Region::Auto => "auto",
            Region::Na => "na",
            Region::Eu => "eu",
            Region::Cn => "cn",
        }
    }
}

impl FromStr for Region {
    type Err = String;

    /// Case-insensitive, so that Tesla's upper-case `ou_code` (`NA`) parses too.
    fn from_str(s: &str) -> Result<Region, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "auto" => Ok(Region::Auto),
            "na" => Ok(Region::Na),
            "eu" => Ok(Region::Eu),
            "cn" => Ok(Region::Cn),
            _ => Err("must be auto, na, eu or cn".to_owned()),
        }
    }
}

impl fmt::Display for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `[mqtt]`: the broker and the topic layout (DESIGN §4).
#[derive(Debug, Clone, PartialEq)]
pub struct MqttConfig {
    /// `mqtt://` or `mqtts://`, with a host and no credentials.
    pub url: Url,
    pub username: Option<String>,
    pub password: Option<Secret>,
    pub client_id: String,
    /// No wildcards, no leading or trailing `/`, no empty level.
    pub base_topic: String,
    /// Same rules as `base_topic`.
    pub discovery_prefix: String,
    pub discovery: DiscoveryMode,
}

impl MqttConfig {
    /// The broker host, without the brackets of an IPv6 literal.
    pub fn host(&self) -> String {
        match self.url.host() {
            Some(url::Host::Domain(d)) => {
                d.trim_start_matches('[').trim_end_matches(']').to_owned()
            }
            Some(url::Host::Ipv4(ip)) => ip.to_string(),
            Some(url::Host::Ipv6(ip)) => ip.to_string(),
            // Validation rejects URLs without a host.
            None => "127.0.0.1".to_owned(),
        }
    }

    /// The port in the URL, else 8883 for `mqtts` and 1883 for `mqtt`.
    pub fn port(&self) -> u16 {
        self.url
            .port()
            .unwrap_or(if self.tls() { 8883 } else { 1883 })
    }

    /// True for `mqtts://`.
    pub fn tls(&self) -> bool {
        self.url.scheme() == "mqtts"
    }
}

/// How Home Assistant discovery messages are published (DESIGN §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DiscoveryMode {
    /// One `<prefix>/device/teslasync_<VIN>/config` per car.
    #[default]
    Device,
    /// One `<prefix>/<platform>/teslasync_<VIN>/<key>/config` per entity.
    Component,
}

impl FromStr for DiscoveryMode {
    type Err = String;

    fn from_str(s: &str) -> Result<DiscoveryMode, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "device" => Ok(DiscoveryMode::Device),
            "component" => Ok(DiscoveryMode::Component),
            _ => Err("must be device or component".to_owned()),
        }
    }
}

impl fmt::Display for DiscoveryMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DiscoveryMode::Device => "device",
            DiscoveryMode::Component => "component",
        })
    }
}

/// `[storage]`: where state lives and the key that seals it (see [`crate::store`]).
#[derive(Debug, Clone, PartialEq)]
pub struct StorageConfig {
    pub path: PathBuf,
    /// Checked at load to be base64 of exactly 32 bytes, so a bad key is a configuration error
    /// (exit 2) rather than a failure deep inside the store.
    pub encryption_key: Option<Secret>,
}

/// `[http]`: the web server.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpConfig {
    pub listen: SocketAddr,
    pub public_url: Option<Url>,
    pub forward_auth_header: Option<String>,
    /// Who may set `forward_auth_header` besides loopback: a header from anyone else proves nothing.
    pub trusted_proxies: Vec<IpNet>,
    /// At least 16 characters: the web UI's sign-in password and the admin API's bearer token.
    pub admin_token: Option<Secret>,
    /// Home Assistant's ingress proxy, trusted to have authenticated the user: set (to the
    /// Supervisor's address) only when running as an add-on (`SUPERVISOR_TOKEN` present). Not a key.
    pub ingress_proxy: Option<std::net::IpAddr>,
}

/// Where the Supervisor writes a Home Assistant add-on's options.
pub const ADDON_OPTIONS_PATH: &str = "/data/options.json";

/// True when running as a Home Assistant add-on: the Supervisor injects `SUPERVISOR_TOKEN`.
pub fn is_addon(env: &HashMap<String, String>) -> bool {
    env.get("SUPERVISOR_TOKEN").is_some_and(|t| !t.is_empty())
}

/// The address Home Assistant's Supervisor proxies ingress requests from.
pub const SUPERVISOR_PROXY: std::net::IpAddr =
    std::net::IpAddr::V4(std::net::Ipv4Addr::new(172, 30, 32, 2));

/// An IP network (`10.0.0.0/8`, or one address): the addresses a reverse proxy may come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpNet {
    addr: std::net::IpAddr,
    prefix: u8,
}

impl IpNet {
    pub fn contains(&self, ip: std::net::IpAddr) -> bool {
        use std::net::IpAddr;
        let ip = match ip {
            // An IPv4 client seen through a dual-stack socket.
            IpAddr::V6(v6) => v6
                .to_ipv4_mapped()
                .map(IpAddr::V4)
                .unwrap_or(IpAddr::V6(v6)),
            v4 => v4,
        };
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

impl std::str::FromStr for IpNet {
    type Err = String;
    fn from_str(s: &str) -> Result<IpNet, String> {
        let s = s.trim();
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: std::net::IpAddr = addr
            .parse()
            .map_err(|_| format!("{s:?} is not an IP address or IP/prefix"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("{s:?} has a prefix that is not 0 to {max}"))?,
        };
        Ok(IpNet { addr, prefix })
    }
}

/// `[polling]`: the Fleet API poller. Intervals are whole seconds in the file (`*_secs`).
#[derive(Debug, Clone, PartialEq)]
pub struct PollingConfig {
    pub enabled: bool,
    /// The vehicle list is free and does not wake cars, so it is how sleep/wake is noticed.
    pub list_interval: Duration,
    /// vehicle_data while parked and awake; each call is billed.
    pub online_interval: Duration,
    /// vehicle_data while driving.
    pub active_interval: Duration,
    /// vehicle_data while charging.
    pub charging_interval: Duration,
    /// vehicle_data while a parked car runs its climate.
    pub climate_interval: Duration,
    /// After this long parked, stop calling vehicle_data: a car polled every few minutes
    /// never falls asleep and drains its battery.
    pub idle_before_sleep: Duration,
    /// How long to leave the car alone afterwards; it needs about 15-20 minutes to sleep.
    pub sleep_window: Duration,
}

/// `[commands]`: how commands reach each car.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CommandsConfig {
    /// Always signed, whatever Tesla reports (upper case VINs).
    pub signed_vins: Vec<String>,
    /// Always REST (cars that cannot use the protocol).
    pub rest_vins: Vec<String>,
    /// Sign commands whose protobuf is not in Tesla's published protos (navigation).
    pub experimental: bool,
}

/// A per-car override of the command transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportOverride {
    Signed,
    Rest,
}

impl CommandsConfig {
    /// The configured transport for `vin`, if any.
    pub fn transport_override(&self, vin: &str) -> Option<TransportOverride> {
        if self.signed_vins.iter().any(|v| v == vin) {
            Some(TransportOverride::Signed)
        } else if self.rest_vins.iter().any(|v| v == vin) {
            Some(TransportOverride::Rest)
        } else {
            None
        }
    }
}

/// `[telemetry]`: Fleet Telemetry.
#[derive(Debug, Clone, PartialEq)]
pub struct TelemetryConfig {
    pub enabled: bool,
    pub mode: TelemetryMode,
    pub listen: SocketAddr,
    /// Public name pushed to cars; `teslasync telemetry configure` needs it (the receiver runs
    /// without it, with a certificate for `localhost`).
    pub hostname: Option<String>,
    /// Public port pushed to cars (the listen port unless configured).
    pub port: u16,
    pub tesla_ca_file: Option<PathBuf>,
    pub client_ca_file: Option<PathBuf>,
    /// Both or neither.
    pub server_cert_file: Option<PathBuf>,
    pub server_key_file: Option<PathBuf>,
    /// Upstream broker; `None` means `mqtt.url`.
    pub upstream_url: Option<Url>,
    pub upstream_topic_base: String,
}

/// Where telemetry comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TelemetryMode {
    /// Cars connect to TeslaSync's own mTLS receiver.
    #[default]
    Receiver,
    /// Tesla's fleet-telemetry server receives; TeslaSync reads its MQTT output.
    Upstream,
}

impl FromStr for TelemetryMode {
    type Err = String;

    fn from_str(s: &str) -> Result<TelemetryMode, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "receiver" => Ok(TelemetryMode::Receiver),
            "upstream" => Ok(TelemetryMode::Upstream),
            _ => Err("must be receiver or upstream".to_owned()),
        }
    }
}

/// `[budget]`: Fleet API spend limits.
#[derive(Debug, Clone, PartialEq)]
pub struct BudgetConfig {
    /// Finite and not negative; 0 turns the budget off.
    pub monthly_usd: f64,
    /// Kept for commands and wakes (at most `monthly_usd`).
    pub command_reserve_usd: f64,
}

/// `[log]`.
#[derive(Debug, Clone, PartialEq)]
pub struct LogConfig {
    /// A valid `tracing_subscriber::EnvFilter` made of levels and `target=level` directives.
    pub level: String,
}

impl Config {
    /// File (if given) + process environment.
    pub fn load(path: Option<&Path>) -> Result<Config, ConfigError> {
        let env: HashMap<String, String> = std::env::vars_os()
            .map(|(k, v)| {
                (
                    k.to_string_lossy().into_owned(),
                    v.to_string_lossy().into_owned(),
                )
            })
            .collect();
        // As a Home Assistant add-on, the Supervisor writes the user's options here.
        let addon = is_addon(&env).then(|| Path::new(ADDON_OPTIONS_PATH));
        Config::load_sources(path, addon, &env)
    }

    /// Same, with an explicit environment (tests must not mutate the process environment).
    pub fn load_from(
        path: Option<&Path>,
        env: &HashMap<String, String>,
    ) -> Result<Config, ConfigError> {
        Config::load_sources(path, None, env)
    }

    /// Defaults, then the TOML file, then the add-on's options JSON, then the environment.
    pub fn load_sources(
        path: Option<&Path>,
        addon_options: Option<&Path>,
        env: &HashMap<String, String>,
    ) -> Result<Config, ConfigError> {
        let mut problems = Vec::new();
        let mut read = |p: Option<&Path>| {
            p.and_then(|p| match std::fs::read_to_string(p) {
                Ok(text) => Some(text),
                Err(source) => {
                    problems.push(ConfigProblem::Read {
                        path: p.to_owned(),
                        source,
                    });
                    None
                }
            })
        };
        let text = read(path);
        let addon_text = read(addon_options);
        let file = path.zip(text.as_deref());
        let addon = addon_options.zip(addon_text.as_deref());
        let raw = RawConfig::collect(file, addon, env, &mut problems);
        let (mut config, _) = resolve(&raw, &mut problems);
        check_paths(&config, &raw, &mut problems);
        if is_addon(env) {
            config.http.ingress_proxy = Some(SUPERVISOR_PROXY);
        }
        if problems.is_empty() {
            Ok(config)
        } else {
            Err(ConfigError::new(problems))
        }
    }

    /// All defaults (what `teslasync demo` starts from).
    ///
    /// Pure: unlike [`Config::load`] it reads no file, no environment and does not look at
    /// `storage.path` on disk, so it cannot fail.
    pub fn defaults() -> Config {
        let mut problems = Vec::new();
        let raw = RawConfig::collect(None, None, &HashMap::new(), &mut problems);
        let (config, _) = resolve(&raw, &mut problems);
        assert!(
            problems.is_empty(),
            "the defaults in the key table are invalid: {problems:?}"
        );
        config
    }

    /// The keys `teslasync run` cannot start without: `storage.encryption_key` (tokens are
    /// never stored in plaintext) and `tesla.client_id` (needed for every token request).
    pub fn require_for_run(&self) -> Result<(), ConfigError> {
        let mut problems = Vec::new();
        if self.tesla.client_id.is_none() {
            problems.push(ConfigProblem::missing("tesla.client_id"));
        }
        if self.storage.encryption_key.is_none() {
            problems.push(ConfigProblem::missing("storage.encryption_key"));
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(ConfigError::new(problems))
        }
    }

    /// Valid but probably unintended settings, for `teslasync check` and a start-up log line.
    pub fn warnings(&self) -> Vec<String> {
        let mut out = Vec::new();
        let ip = self.http.listen.ip();
        if !ip.is_loopback()
            && self.http.forward_auth_header.is_none()
            && self.http.admin_token.is_none()
        {
            out.push(format!(
                "http.listen {} accepts connections from other hosts, but http.admin_token is \
                 not set, so only the one-time sign-in link printed at start-up opens the admin \
                 pages (set http.admin_token to sign in with a password)",
                self.http.listen
            ));
        }
        if self.http.forward_auth_header.is_some() && self.http.trusted_proxies.is_empty() {
            out.push(
                "http.forward_auth_header is set but http.trusted_proxies is empty, so the header \
                 is believed from nobody (add your proxy's address to http.trusted_proxies)"
                    .to_string(),
            );
        }
        if self.tesla.api_base_url.is_some() && self.tesla.region != Region::Auto {
            out.push(format!(
                "tesla.region {} is ignored for API calls because tesla.api_base_url is set \
                 (unset one of them)",
                self.tesla.region
            ));
        }
        let defaults = Config::defaults();
        for (key, set, why) in NOT_YET_READ {
            if set(self, &defaults) {
                out.push(format!("{key} is set, but {why}"));
            }
        }
        out
    }
}

/// Settings the key table accepts but nothing reads yet (their feature is planned): `check` and the
/// start-up log warn when one differs from its default, so nobody waits for a setting that does
/// nothing. One row per key; delete the row in the commit that makes the feature work.
#[allow(clippy::type_complexity)]
pub const NOT_YET_READ: &[(&str, fn(&Config, &Config) -> bool, &str)] = &[
    // Empty since upstream mode works (issue 7); the next planned setting goes here.
];

/// Stage two: interprets each raw value. Returns the config (with defaults standing in for
/// invalid values, so that later checks still run) and the keys it read, in order.
fn resolve(raw: &RawConfig, problems: &mut Vec<ConfigProblem>) -> (Config, Vec<&'static str>) {
    let mut r = Resolver {
        raw,
        problems,
        read: Vec::new(),
    };

    let tesla = TeslaConfig {
        client_id: r.get("tesla.client_id", |v| one_word(text(v)?)),
        client_secret: r.get("tesla.client_secret", |v| {
            one_word(text(v)?).map(Secret::from)
        }),
        redirect_uri: r.get("tesla.redirect_uri", |v| {
            let s = text(v)?.trim();
            web_url(s)?;
            Ok(s.to_owned())
        }),
        region: r.req("tesla.region", |v| text(v)?.parse()),
        api_base_url: r.get("tesla.api_base_url", |v| web_url(text(v)?)),
        auth_base_url: r.req("tesla.auth_base_url", |v| web_url(text(v)?)),
        domain: r.get("tesla.domain", |v| domain(text(v)?)),
    };

    let mqtt = MqttConfig {
        url: r.req("mqtt.url", |v| mqtt_url(text(v)?)),
        username: r.get("mqtt.username", |v| Ok(text(v)?.to_owned())),
        password: r.get("mqtt.password", |v| Ok(Secret::from(text(v)?))),
        client_id: r.req("mqtt.client_id", |v| non_empty(text(v)?)),
        base_topic: r.req("mqtt.base_topic", |v| topic_prefix(text(v)?)),
        discovery_prefix: r.req("mqtt.discovery_prefix", |v| topic_prefix(text(v)?)),
        discovery: r.req("mqtt.discovery", |v| text(v)?.parse()),
    };
    if mqtt.password.is_some() && mqtt.username.is_none() {
        r.problem(
            "mqtt.password",
            None,
            "is set without a username; MQTT sends a password only together with a user name",
            "mqtt.username",
        );
    }

    let storage = StorageConfig {
        path: r.req("storage.path", |v| non_empty(text(v)?).map(PathBuf::from)),
        encryption_key: r.get("storage.encryption_key", |v| {
            let s = text(v)?;
            crate::store::decode_key(s)?;
            Ok(Secret::from(s.trim()))
        }),
    };

    let http = HttpConfig {
        listen: r.req("http.listen", |v| socket_addr(text(v)?)),
        public_url: r.get("http.public_url", |v| web_url(text(v)?)),
        forward_auth_header: r.get("http.forward_auth_header", |v| header_name(text(v)?)),
        trusted_proxies: r
            .get("http.trusted_proxies", |v| {
                text(v)?
                    .split(',')
                    .filter(|p| !p.trim().is_empty())
                    .map(str::parse)
                    .collect::<Result<Vec<IpNet>, String>>()
            })
            .unwrap_or_default(),
        admin_token: r.get("http.admin_token", |v| admin_token(text(v)?)),
        ingress_proxy: None,
    };

    let polling = PollingConfig {
        enabled: r.req("polling.enabled", flag),
        list_interval: r.req("polling.list_interval_secs", seconds),
        online_interval: r.req("polling.online_interval_secs", seconds),
        active_interval: r.req("polling.active_interval_secs", seconds),
        charging_interval: r.req("polling.charging_interval_secs", seconds),
        climate_interval: r.req("polling.climate_interval_secs", seconds),
        idle_before_sleep: r.req("polling.idle_before_sleep_secs", seconds),
        sleep_window: r.req("polling.sleep_window_secs", seconds),
    };

    let commands = CommandsConfig {
        signed_vins: r
            .get("commands.signed_vins", |v| vin_list(text(v)?))
            .unwrap_or_default(),
        rest_vins: r
            .get("commands.rest_vins", |v| vin_list(text(v)?))
            .unwrap_or_default(),
        experimental: r.req("commands.experimental", flag),
    };
    if let Some(vin) = commands
        .signed_vins
        .iter()
        .find(|v| commands.rest_vins.contains(v))
    {
        r.problem(
            "commands.rest_vins",
            None,
            &format!("lists {vin}, which commands.signed_vins lists too; name each car once"),
            "commands.signed_vins",
        );
    }

    let listen = r.req("telemetry.listen", |v| socket_addr(text(v)?));
    let path = |v: &RawValue| non_empty(text(v)?).map(PathBuf::from);
    let telemetry = TelemetryConfig {
        enabled: r.req("telemetry.enabled", flag),
        mode: r.req("telemetry.mode", |v| text(v)?.parse()),
        listen,
        hostname: r.get("telemetry.hostname", |v| domain(text(v)?)),
        port: r
            .get("telemetry.port", |v| match v {
                RawValue::Float(x) if x.fract() == 0.0 && (1.0..=65535.0).contains(x) => {
                    Ok(*x as u16)
                }
                RawValue::Float(_) => Err("must be a port number from 1 to 65535".to_owned()),
                other => Err(wrong_kind(other)),
            })
            .unwrap_or(listen.port()),
        tesla_ca_file: r.get("telemetry.tesla_ca_file", path),
        client_ca_file: r.get("telemetry.client_ca_file", path),
        server_cert_file: r.get("telemetry.server_cert_file", path),
        server_key_file: r.get("telemetry.server_key_file", path),
        upstream_url: r.get("telemetry.upstream_url", |v| mqtt_url(text(v)?)),
        upstream_topic_base: r.req("telemetry.upstream_topic_base", |v| topic_prefix(text(v)?)),
    };
    if telemetry.server_cert_file.is_some() != telemetry.server_key_file.is_some() {
        let (set, missing) = if telemetry.server_cert_file.is_some() {
            ("telemetry.server_cert_file", "telemetry.server_key_file")
        } else {
            ("telemetry.server_key_file", "telemetry.server_cert_file")
        };
        r.problem(
            set,
            None,
            &format!("is set without {missing}; give the certificate and its key together"),
            missing,
        );
    }

    let budget = BudgetConfig {
        monthly_usd: r.req("budget.monthly_usd", dollars),
        command_reserve_usd: r.req("budget.command_reserve_usd", dollars),
    };

    fn dollars(v: &RawValue) -> Result<f64, String> {
        match v {
            RawValue::Float(x) if x.is_finite() && *x >= 0.0 => Ok(*x),
            RawValue::Float(_) => Err("must be zero or more US dollars".to_owned()),
            other => Err(wrong_kind(other)),
        }
    }
    let log = LogConfig {
        level: r.req("log.level", |v| log_level(text(v)?)),
    };

    let config = Config {
        tesla,
        mqtt,
        storage,
        http,
        polling,
        commands,
        telemetry,
        budget,
        log,
    };
    (config, r.read)
}

/// Checks against the file system, kept out of [`resolve`] so that [`Config::defaults`] stays
/// pure. Nothing is created here; the store creates its directory when it first opens.
fn check_paths(config: &Config, raw: &RawConfig, problems: &mut Vec<ConfigProblem>) {
    let path = &config.storage.path;
    if path.exists() && !path.is_dir() {
        let key = keys::find("storage.path").expect("storage.path is a key");
        let fix = raw
            .get(key)
            .map_or_else(|| key.how_to_set(), |r| r.origin.fix(key));
        problems.push(ConfigProblem::Invalid {
            key: key.path(),
            value: Some(path.display().to_string()),
            reason: "exists but is not a directory".to_owned(),
            fix,
        });
    }
}

struct Resolver<'a> {
    raw: &'a RawConfig,
    problems: &'a mut Vec<ConfigProblem>,
    /// Keys read so far; a test checks that every key in the table is read exactly once.
    read: Vec<&'static str>,
}

impl Resolver<'_> {
    /// The value of `path` interpreted by `parse`; `None` if unset. An invalid value is
    /// recorded as a problem and replaced by the key's default (or `None`).
    fn get<T>(
        &mut self,
        path: &'static str,
        parse: impl Fn(&RawValue) -> Result<T, String>,
    ) -> Option<T> {
        let key = keys::find(path).unwrap_or_else(|| panic!("{path} is not in keys::KEYS"));
        self.read.push(path);
        let Raw { value, origin } = self.raw.get(key)?;
        match parse(value) {
            Ok(v) => Some(v),
            Err(reason) => {
                self.problems.push(ConfigProblem::Invalid {
                    key: key.path(),
                    value: shown(key, value),
                    reason,
                    fix: origin.fix(key),
                });
                let default = raw::from_env_str(key.ty, key.default?).ok()?;
                parse(&default).ok()
            }
        }
    }

    /// [`Resolver::get`] for a key that has a default, so always has a value.
    fn req<T>(&mut self, path: &'static str, parse: impl Fn(&RawValue) -> Result<T, String>) -> T {
        self.get(path, parse)
            .unwrap_or_else(|| panic!("{path} needs a valid default"))
    }

    /// A problem found by looking at more than one key; `fix_key` is the key to set.
    fn problem(&mut self, path: &str, value: Option<String>, reason: &str, fix_key: &str) {
        let fix = keys::find(fix_key)
            .map(|k| k.how_to_set())
            .unwrap_or_default();
        self.problems.push(ConfigProblem::Invalid {
            key: path.to_owned(),
            value,
            reason: reason.to_owned(),
            fix,
        });
    }
}

/// The value for an error message: never a secret, and never the password inside a URL.
fn shown(key: &keys::Key, value: &RawValue) -> Option<String> {
    if key.secret {
        return None;
    }
    let text = value.shown();
    match Url::parse(&text) {
        Ok(mut url) if url.password().is_some() => {
            let _ = url.set_password(Some("xxxxx"));
            Some(url.to_string())
        }
        _ => Some(text),
    }
}

fn wrong_kind(v: &RawValue) -> String {
    // Stage one guarantees the kind matches the key's ValueType; reaching this is a bug in
    // the resolver (reading a key with the wrong accessor), caught by the defaults test.
    format!("has an unexpected kind of value {v:?} (this is a bug in TeslaSync)")
}

/// `"VIN1, VIN2"` → upper-case VINs, each checked.
fn vin_list(s: &str) -> Result<Vec<String>, String> {
    s.split(',')
        .map(|v| v.trim().to_ascii_uppercase())
        .filter(|v| !v.is_empty())
        .map(|v| {
            if crate::vehicle::is_vin(&v) {
                Ok(v)
            } else {
                Err(format!(
                    "{v:?} is not a VIN (17 letters and digits, no I, O or Q)"
                ))
            }
        })
        .collect()
}

fn text(v: &RawValue) -> Result<&str, String> {
    match v {
        RawValue::Text(s) => Ok(s),
        other => Err(wrong_kind(other)),
    }
}

fn flag(v: &RawValue) -> Result<bool, String> {
    match v {
        RawValue::Bool(b) => Ok(*b),
        other => Err(wrong_kind(other)),
    }
}

/// Whole seconds from 1 to one day: 0 would spin, and anything above a day is more likely
/// milliseconds typed into a seconds field.
fn seconds(v: &RawValue) -> Result<Duration, String> {
    match v {
        RawValue::Int(n @ 1..=86_400) => Ok(Duration::from_secs(n.unsigned_abs())),
        RawValue::Int(_) => Err("must be between 1 and 86400 seconds".to_owned()),
        other => Err(wrong_kind(other)),
    }
}

fn non_empty(s: &str) -> Result<String, String> {
    if s.trim().is_empty() {
        Err("must not be empty".to_owned())
    } else {
        Ok(s.to_owned())
    }
}

/// Identifiers and credentials copied from a web page often pick up a stray space or newline.
fn one_word(s: &str) -> Result<String, String> {
    if s.chars().any(char::is_whitespace) {
        Err(
            "must not contain spaces or line breaks (check for a stray space when pasting)"
                .to_owned(),
        )
    } else {
        Ok(s.to_owned())
    }
}

/// An `http://` or `https://` URL with a host.
fn web_url(s: &str) -> Result<Url, String> {
    let url = Url::parse(s.trim())
        .map_err(|e| format!("is not a URL ({e}); write it like https://host.example.com"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err("must start with http:// or https://".to_owned());
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err("has no host name".to_owned());
    }
    Ok(url)
}

fn mqtt_url(s: &str) -> Result<Url, String> {
    let wrong_scheme = || "must start with mqtt:// or mqtts://".to_owned();
    let url = Url::parse(s.trim()).map_err(|_| wrong_scheme())?;
    if !matches!(url.scheme(), "mqtt" | "mqtts") {
        return Err(wrong_scheme());
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err("has no host name; write it like mqtt://192.168.1.10:1883".to_owned());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(
            "must not contain a user name or password; set [mqtt] username and password \
                    (or TESLASYNC_MQTT__USERNAME and TESLASYNC_MQTT__PASSWORD) instead"
                .to_owned(),
        );
    }
    Ok(url)
}

/// The rules for `base_topic` and `discovery_prefix`: topics are built as `<prefix>/...`, so a
/// wildcard, an empty level or a stray `/` would make them invalid or subscribe to too much.
fn topic_prefix(s: &str) -> Result<String, String> {
    if s.is_empty() {
        return Err("must not be empty".to_owned());
    }
    if s.contains(['+', '#']) {
        return Err("must not contain the MQTT wildcards + or #".to_owned());
    }
    if s.starts_with('/') || s.ends_with('/') {
        return Err("must not start or end with /".to_owned());
    }
    if s.contains("//") {
        return Err("must not contain an empty level (//)".to_owned());
    }
    if s.contains('\0') {
        return Err("must not contain a NUL character".to_owned());
    }
    Ok(s.to_owned())
}

/// Tesla wants the bare domain the public key is served from.
fn domain(s: &str) -> Result<String, String> {
    let s = s.trim();
    if let Ok(url) = Url::parse(s) {
        if let Some(host) = url.host_str().filter(|h| !h.is_empty()) {
            return Err(format!(
                "must be a bare host name without scheme or path (did you mean {host:?}?)"
            ));
        }
    }
    let ok = !s.is_empty()
        && s.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        });
    if ok {
        Ok(s.to_ascii_lowercase())
    } else {
        Err(
            "must be a bare host name such as teslasync.example.com (no scheme, port or path)"
                .to_owned(),
        )
    }
}

fn socket_addr(s: &str) -> Result<SocketAddr, String> {
    s.trim().parse().map_err(|_| {
        "must be an IP address and port such as 127.0.0.1:8080 or 0.0.0.0:8080 (host names \
         are not accepted)"
            .to_owned()
    })
}

/// An HTTP header name (RFC 9110 token characters).
fn header_name(s: &str) -> Result<String, String> {
    let valid = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c));
    if valid {
        Ok(s.to_owned())
    } else {
        Err("must be an HTTP header name such as Remote-User".to_owned())
    }
}

fn admin_token(s: &str) -> Result<Secret, String> {
    let token = one_word(s)?;
    if token.chars().count() < 16 {
        return Err(
            "is shorter than 16 characters; create one with `openssl rand -hex 16`".to_owned(),
        );
    }
    Ok(Secret::from(token))
}

const LOG_LEVELS: [&str; 6] = ["off", "error", "warn", "info", "debug", "trace"];

/// Accepts what `EnvFilter` accepts, minus its leniency: a bare unknown word (`verbose`) is a
/// valid EnvFilter directive (a target name), but here it is almost surely a wrong level.
fn log_level(s: &str) -> Result<String, String> {
    let bad = || {
        "is not a log level: use error, warn, info, debug or trace, or directives such as \
         \"info,teslasync=debug\""
            .to_owned()
    };
    let directives_ok = s.split(',').all(|d| {
        let d = d.trim();
        let level_ok = |l: &str| LOG_LEVELS.contains(&l.to_ascii_lowercase().as_str());
        match d.split_once('=') {
            None => level_ok(d),
            Some((target, level)) => {
                !target.is_empty()
                    && target
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "_:-".contains(c))
                    && level_ok(level)
            }
        }
    });
    if !directives_ok || tracing_subscriber::EnvFilter::try_new(s).is_err() {
        return Err(bad());
    }
    Ok(s.to_owned())
}

#[cfg(test)]
mod tests;
