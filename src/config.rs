//! `config`: placeholder until the config branch lands.
#![allow(missing_docs)]
use crate::secret::Secret;
use std::{net::SocketAddr, path::PathBuf, time::Duration};
use url::Url;

#[derive(Debug, Clone)]
pub struct Config {
    pub tesla: TeslaConfig,
    pub mqtt: MqttConfig,
    pub storage: StorageConfig,
    pub http: HttpConfig,
    pub polling: PollingConfig,
    pub telemetry: TelemetryConfig,
    pub budget: BudgetConfig,
    pub log: LogConfig,
}
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Region { Auto, Na, Eu, Cn }
#[derive(Debug, Clone)]
pub struct TeslaConfig { pub client_id: Option<String>, pub client_secret: Option<Secret>, pub redirect_uri: Option<String>, pub region: Region, pub api_base_url: Option<Url>, pub auth_base_url: Url, pub domain: Option<String> }
impl TeslaConfig { pub fn fleet_api_base(&self) -> Url { self.api_base_url.clone().unwrap_or_else(|| Url::parse("https://fleet-api.prd.na.vn.cloud.tesla.com").unwrap()) } }
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiscoveryMode { Device, Component }
#[derive(Debug, Clone)]
pub struct MqttConfig { pub url: Url, pub username: Option<String>, pub password: Option<Secret>, pub client_id: String, pub base_topic: String, pub discovery_prefix: String, pub discovery: DiscoveryMode }
impl MqttConfig { pub fn host(&self) -> String { self.url.host_str().unwrap_or("127.0.0.1").to_string() } pub fn port(&self) -> u16 { self.url.port().unwrap_or(1883) } pub fn tls(&self) -> bool { self.url.scheme() == "mqtts" } }
#[derive(Debug, Clone)]
pub struct StorageConfig { pub path: PathBuf, pub encryption_key: Option<Secret> }
#[derive(Debug, Clone)]
pub struct HttpConfig { pub listen: SocketAddr, pub public_url: Option<Url>, pub forward_auth_header: Option<String>, pub admin_token: Option<Secret> }
#[derive(Debug, Clone)]
pub struct PollingConfig { pub enabled: bool, pub list_interval: Duration, pub online_interval: Duration, pub active_interval: Duration, pub idle_before_sleep: Duration, pub sleep_window: Duration }
#[derive(Debug, Clone)]
pub struct TelemetryConfig { pub enabled: bool }
#[derive(Debug, Clone)]
pub struct BudgetConfig { pub monthly_usd: f64 }
#[derive(Debug, Clone)]
pub struct LogConfig { pub level: String }
#[derive(Debug, thiserror::Error)]
#[error("config")]
pub struct ConfigError;
impl Config {
    pub fn load(_p: Option<&std::path::Path>) -> Result<Config, ConfigError> { Ok(Self::defaults()) }
    pub fn defaults() -> Config {
        Config {
            tesla: TeslaConfig { client_id: None, client_secret: None, redirect_uri: None, region: Region::Auto, api_base_url: None, auth_base_url: Url::parse("https://fleet-auth.prd.vn.cloud.tesla.com").unwrap(), domain: None },
            mqtt: MqttConfig { url: Url::parse("mqtt://127.0.0.1:1883").unwrap(), username: None, password: None, client_id: "teslasync".into(), base_topic: "teslasync".into(), discovery_prefix: "homeassistant".into(), discovery: DiscoveryMode::Device },
            storage: StorageConfig { path: "./data".into(), encryption_key: None },
            http: HttpConfig { listen: "127.0.0.1:8080".parse().unwrap(), public_url: None, forward_auth_header: None, admin_token: None },
            polling: PollingConfig { enabled: true, list_interval: Duration::from_secs(60), online_interval: Duration::from_secs(600), active_interval: Duration::from_secs(60), idle_before_sleep: Duration::from_secs(900), sleep_window: Duration::from_secs(1260) },
            telemetry: TelemetryConfig { enabled: false },
            budget: BudgetConfig { monthly_usd: 10.0 },
            log: LogConfig { level: "info".into() },
        }
    }
}
