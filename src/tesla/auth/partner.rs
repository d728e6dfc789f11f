//! `tesla::auth::partner`: the application's own token (OAuth `client_credentials`), which the partner
//! endpoints (`partner_accounts`, its `public_key`) require instead of the user's.
//!
//! Tesla issues one per `audience` (a regional Fleet API host). Each is cached in memory until five
//! minutes before it expires — the old project minted a new one for every call — and minted under a
//! lock, so concurrent registrations share one. Nothing is persisted: a restart simply mints again.

use std::collections::HashMap;

use tokio::sync::Mutex;
use tracing::info;

use super::{post_token, AuthError, AuthSettings, TokenEndpointError, REFRESH_AHEAD};
use crate::clock::Clock;
use crate::secret::Secret;

/// The scopes a partner token asks for (fleet-api.md §2.5).
pub const PARTNER_SCOPE: &str = "openid vehicle_device_data vehicle_cmds vehicle_charging_cmds";

/// Cached partner tokens, by audience.
pub struct PartnerTokens {
    http: reqwest::Client,
    settings: AuthSettings,
    clock: Clock,
    cache: Mutex<HashMap<String, (Secret, u64)>>,
}

impl PartnerTokens {
    pub fn new(http: reqwest::Client, settings: AuthSettings, clock: Clock) -> PartnerTokens {
        PartnerTokens {
            http,
            settings,
            clock,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// A valid partner token for `audience` (`https://fleet-api.prd.na.vn.cloud.tesla.com`).
    pub async fn token(&self, audience: &str) -> Result<Secret, AuthError> {
        let mut cache = self.cache.lock().await;
        let fresh_until = self.clock.unix_secs() + REFRESH_AHEAD.as_secs();
        if let Some((token, expires_at)) = cache.get(audience) {
            if *expires_at > fresh_until {
                return Ok(token.clone());
            }
        }
        let client_id = self.settings.client_id()?;
        let client_secret = self.settings.client_secret()?;
        let form = [
            ("grant_type", "client_credentials"),
            ("client_id", client_id),
            ("client_secret", client_secret),
            ("audience", audience),
            ("scope", PARTNER_SCOPE),
        ];
        let parsed = match post_token(&self.http, &self.settings, &form).await {
            Ok(p) => p,
            Err(TokenEndpointError::Auth(e)) => return Err(e),
            Err(TokenEndpointError::Refused {
                status, message, ..
            }) => return Err(AuthError::Endpoint { status, message }),
        };
        let expires_at = self.clock.unix_secs().saturating_add(parsed.expires_in);
        let token = Secret::from(parsed.access_token);
        cache.insert(audience.to_string(), (token.clone(), expires_at));
        info!(audience, expires_at, "obtained a partner token");
        Ok(token)
    }

    /// Forgets the cached token for `audience` (Tesla answered 401 with it).
    pub async fn forget(&self, audience: &str) {
        self.cache.lock().await.remove(audience);
    }
}
