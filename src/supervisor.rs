//! `supervisor`: running as a Home Assistant add-on. The Supervisor injects `SUPERVISOR_TOKEN`,
//! writes the user's options to `/data/options.json` (read by [`crate::config`]) and hands out
//! the MQTT broker's address and credentials at `http://supervisor/services/mqtt` (the add-on
//! declares `services: ["mqtt:need"]`). The storage key is generated once and kept in `/data`, so
//! the user never has to invent one; it travels with the add-on's backups.

use std::collections::HashMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use url::Url;

use crate::config::Config;
use crate::secret::Secret;

/// Where the Supervisor's API is, seen from an add-on.
pub const SUPERVISOR_URL: &str = "http://supervisor/";
/// The generated storage key's file in the data directory (the name older add-on versions used).
pub const KEY_FILE: &str = ".encryption_key";

#[derive(Debug, thiserror::Error)]
pub enum SupervisorError {
    #[error("cannot reach the Home Assistant Supervisor at {url}: {error}")]
    Unreachable { url: String, error: String },
    #[error("the Supervisor has no MQTT broker for TeslaSync (HTTP {status}): install and start the Mosquitto broker add-on, then restart TeslaSync")]
    NoBroker { status: u16 },
    #[error("the Supervisor's MQTT service answer is not what TeslaSync expects: {0}")]
    BadAnswer(String),
    #[error("cannot keep the storage key in {path}: {error}")]
    KeyFile { path: PathBuf, error: String },
}

/// The Supervisor's API with the add-on's token.
pub struct Supervisor {
    base: Url,
    token: Secret,
    http: reqwest::Client,
}

/// The broker the Supervisor names.
#[derive(Debug, Clone, PartialEq)]
pub struct MqttService {
    pub host: String,
    pub port: u16,
    pub ssl: bool,
    pub username: Option<String>,
    pub password: Option<Secret>,
}

#[derive(Deserialize)]
struct Envelope {
    data: MqttData,
}

#[derive(Deserialize)]
struct MqttData {
    host: String,
    /// A string in the Supervisor's answers ("1883"), a number in some versions.
    port: serde_json::Value,
    #[serde(default)]
    ssl: bool,
    username: Option<String>,
    password: Option<String>,
}

impl Supervisor {
    /// The Supervisor at `base` (tests pass a fake one on loopback).
    pub fn new(base: Url, token: Secret) -> Supervisor {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .no_proxy()
            .build()
            .expect("a plain HTTP client builds");
        Supervisor { base, token, http }
    }

    /// The Supervisor of this process, if it runs as an add-on (`SUPERVISOR_TOKEN` set).
    pub fn from_env(env: &HashMap<String, String>) -> Option<Supervisor> {
        let token = env.get("SUPERVISOR_TOKEN").filter(|t| !t.is_empty())?;
        Some(Supervisor::new(
            Url::parse(SUPERVISOR_URL).expect("valid URL"),
            Secret::from(token.as_str()),
        ))
    }

    /// `GET /services/mqtt`.
    pub async fn mqtt(&self) -> Result<MqttService, SupervisorError> {
        let url = self
            .base
            .join("services/mqtt")
            .expect("a relative path joins");
        let resp = self
            .http
            .get(url.clone())
            .bearer_auth(self.token.expose())
            .send()
            .await
            .map_err(|e| SupervisorError::Unreachable {
                url: url.to_string(),
                error: e.to_string(),
            })?;
        let status = resp.status();
        if !status.is_success() {
            return Err(SupervisorError::NoBroker {
                status: status.as_u16(),
            });
        }
        let body: Envelope = resp
            .json()
            .await
            .map_err(|e| SupervisorError::BadAnswer(e.to_string()))?;
        let d = body.data;
        let port = match &d.port {
            serde_json::Value::String(s) => s.parse().ok(),
            serde_json::Value::Number(n) => n.as_u64().and_then(|n| u16::try_from(n).ok()),
            _ => None,
        }
        .ok_or_else(|| SupervisorError::BadAnswer(format!("port {} is not a port", d.port)))?;
        Ok(MqttService {
            host: d.host,
            port,
            ssl: d.ssl,
            username: d.username.filter(|u| !u.is_empty()),
            password: d.password.filter(|p| !p.is_empty()).map(Secret::from),
        })
    }

    /// Completes an add-on's configuration: the broker from the Supervisor and, unless the user set
    /// one, the storage key kept in the data directory.
    pub async fn configure(&self, cfg: &mut Config) -> Result<(), SupervisorError> {
        let mqtt = self.mqtt().await?;
        let scheme = if mqtt.ssl { "mqtts" } else { "mqtt" };
        let host = if mqtt.host.contains(':') {
            format!("[{}]", mqtt.host)
        } else {
            mqtt.host.clone()
        };
        cfg.mqtt.url = Url::parse(&format!("{scheme}://{host}:{}", mqtt.port))
            .map_err(|e| SupervisorError::BadAnswer(format!("broker host {:?}: {e}", mqtt.host)))?;
        cfg.mqtt.username = mqtt.username;
        cfg.mqtt.password = mqtt.password;
        if cfg.storage.encryption_key.is_none() {
            cfg.storage.encryption_key = Some(storage_key(&cfg.storage.path)?);
        }
        // The add-on asks only for the domain: Tesla redirects to the callback there, which the
        // user's reverse proxy forwards to us together with the public key.
        if let (None, Some(domain)) = (&cfg.tesla.redirect_uri, &cfg.tesla.domain) {
            cfg.tesla.redirect_uri = Some(format!("https://{domain}/api/v1/auth/callback"));
        }
        // Cars reach the telemetry receiver at the same public name, on the forwarded port
        // (`telemetry_port` → `telemetry.port`).
        if cfg.telemetry.hostname.is_none() {
            cfg.telemetry.hostname.clone_from(&cfg.tesla.domain);
        }
        Ok(())
    }
}

/// The storage key kept in `dir`: read it, or create it once (random 32 bytes, base64, mode 0600).
pub fn storage_key(dir: &Path) -> Result<Secret, SupervisorError> {
    let path = dir.join(KEY_FILE);
    let fail = |e: std::io::Error| SupervisorError::KeyFile {
        path: path.clone(),
        error: e.to_string(),
    };
    match std::fs::read_to_string(&path) {
        Ok(text) if !text.trim().is_empty() => return Ok(Secret::from(text.trim())),
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(fail(e)),
    }
    std::fs::create_dir_all(dir).map_err(fail)?;
    let key: [u8; 32] = rand::random();
    let text = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, key);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options.open(&path).map_err(fail)?;
    file.write_all(text.as_bytes()).map_err(fail)?;
    file.sync_all().map_err(fail)?;
    Ok(Secret::from(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_storage_key_is_made_once_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let first = storage_key(dir.path()).unwrap();
        let second = storage_key(dir.path()).unwrap();
        assert_eq!(first, second);
        assert!(crate::store::decode_key(first.expose()).is_ok());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(dir.path().join(KEY_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
