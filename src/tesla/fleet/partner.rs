//! `tesla::fleet::partner`: the application's partner account — `POST /api/1/partner_accounts`
//! (register the domain whose `.well-known` URL serves our public key, once per region) and
//! `GET /api/1/partner_accounts/public_key` (what Tesla recorded), with the partner token from
//! [`crate::tesla::auth::partner`].
//!
//! Tesla's 412 here means it could not fetch the key from the domain; [`PartnerError::KeyNotReachable`]
//! says so in plain words, with the URL to fix.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value as Json};
use tracing::info;
use url::Url;

use crate::config::Region;
use crate::tesla::auth::partner::PartnerTokens;
use crate::tesla::auth::AuthError;
use crate::tesla::region;

/// Where Tesla fetches an application's public key.
pub const WELL_KNOWN_PATH: &str = "/.well-known/appspecific/com.tesla.3p.public-key.pem";

/// The public key URL for `domain`.
pub fn public_key_url(domain: &str) -> String {
    format!("https://{domain}{WELL_KNOWN_PATH}")
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum PartnerError {
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error("Tesla could not get your public key from {url} (412: {message}). That URL must answer 200 with the PEM over HTTPS, with a valid certificate and no redirect: TeslaSync serves it at that path, so publish TeslaSync (or just that path) at {domain} through your reverse proxy, check it from outside your network, then register again")]
    KeyNotReachable {
        domain: String,
        url: String,
        message: String,
    },
    #[error("Tesla refused the partner request (HTTP {status}): {message}")]
    Refused { status: u16, message: String },
    #[error("could not reach the Fleet API at {url}: {message}")]
    Transport { url: String, message: String },
    #[error("unexpected answer from the Fleet API: {0}")]
    Decode(String),
}

/// The fields of Tesla's partner-account answer TeslaSync uses.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
pub struct PartnerAccount {
    #[serde(default)]
    pub domain: Option<String>,
    /// Hex of the uncompressed point (`04…`).
    #[serde(default)]
    pub public_key: Option<String>,
    #[serde(default)]
    pub client_id: Option<String>,
}

/// One region's Fleet API host for partner calls. `base` may be an override (proxy, simulator); the
/// partner token's `audience` is always Tesla's host of `region`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub region: Region,
    pub base: Url,
}

impl Target {
    pub fn audience(&self) -> &'static str {
        region::hosts(self.region).fleet_api
    }
}

/// Partner calls, region by region.
#[derive(Clone)]
pub struct PartnerClient {
    http: reqwest::Client,
    tokens: Arc<PartnerTokens>,
}

impl PartnerClient {
    pub fn new(http: reqwest::Client, tokens: Arc<PartnerTokens>) -> PartnerClient {
        PartnerClient { http, tokens }
    }

    /// Registers `domain` in `target`'s region (idempotent at Tesla: registering again updates the key).
    pub async fn register(
        &self,
        target: &Target,
        domain: &str,
    ) -> Result<PartnerAccount, PartnerError> {
        let (status, body) = self
            .request(
                target,
                reqwest::Method::POST,
                "api/1/partner_accounts",
                Some(json!({ "domain": domain })),
            )
            .await?;
        if status == 412 {
            return Err(PartnerError::KeyNotReachable {
                domain: domain.to_string(),
                url: public_key_url(domain),
                message: error_text(&body),
            });
        }
        let account: PartnerAccount = decode(status, &body)?;
        info!(region = %target.region, domain, "registered the partner account");
        Ok(account)
    }

    /// The public key (hex) Tesla recorded for `domain` in `target`'s region; `None` if not registered.
    pub async fn public_key(
        &self,
        target: &Target,
        domain: &str,
    ) -> Result<Option<String>, PartnerError> {
        let mut path = "api/1/partner_accounts/public_key?domain=".to_string();
        path.extend(url::form_urlencoded::byte_serialize(domain.as_bytes()));
        let (status, body) = self
            .request(target, reqwest::Method::GET, &path, None)
            .await?;
        if status == 404 {
            return Ok(None);
        }
        #[derive(Deserialize)]
        struct Key {
            #[serde(default)]
            public_key: Option<String>,
        }
        let key: Key = decode(status, &body)?;
        Ok(key.public_key.filter(|k| !k.is_empty()))
    }

    /// One request with the partner token; a 401 re-mints the token once.
    async fn request(
        &self,
        target: &Target,
        method: reqwest::Method,
        path: &str,
        body: Option<Json>,
    ) -> Result<(u16, Vec<u8>), PartnerError> {
        let url = target
            .base
            .join(path)
            .map_err(|e| PartnerError::Transport {
                url: target.base.to_string(),
                message: e.to_string(),
            })?;
        let mut retried = false;
        loop {
            let token = self.tokens.token(target.audience()).await?;
            let mut req = self
                .http
                .request(method.clone(), url.clone())
                .bearer_auth(token.expose());
            if let Some(body) = &body {
                req = req.json(body);
            }
            let resp = req.send().await.map_err(|e| PartnerError::Transport {
                url: target.base.to_string(),
                message: e.without_url().to_string(),
            })?;
            let status = resp.status().as_u16();
            let bytes = resp.bytes().await.map_err(|e| PartnerError::Transport {
                url: target.base.to_string(),
                message: e.without_url().to_string(),
            })?;
            if status == 401 && !retried {
                self.tokens.forget(target.audience()).await;
                retried = true;
                continue;
            }
            return Ok((status, bytes.to_vec()));
        }
    }
}

fn error_text(body: &[u8]) -> String {
    serde_json::from_slice::<Json>(body)
        .ok()
        .and_then(|j| j.get("error").and_then(Json::as_str).map(str::to_string))
        .unwrap_or_else(|| {
            String::from_utf8_lossy(body)
                .trim()
                .chars()
                .take(200)
                .collect()
        })
}

fn decode<T: for<'de> Deserialize<'de>>(status: u16, body: &[u8]) -> Result<T, PartnerError> {
    if !(200..300).contains(&status) {
        return Err(PartnerError::Refused {
            status,
            message: error_text(body),
        });
    }
    #[derive(Deserialize)]
    struct Envelope<T> {
        response: T,
    }
    serde_json::from_slice::<Envelope<T>>(body)
        .map(|e| e.response)
        .map_err(|e| PartnerError::Decode(e.to_string()))
}
