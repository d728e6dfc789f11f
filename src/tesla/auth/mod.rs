//! `tesla::auth`: the user's OAuth tokens — loading, refreshing, rotating, persisting.
//!
//! Tesla refresh tokens are single use: every refresh returns a new one and invalidates the old one
//! (and the access tokens issued with it). Two rules follow, and this module exists to enforce them:
//! 1. the rotated refresh token is written to the store, durably, *before* the new access token is
//!    used — a crash in between must not lock the user out;
//! 2. only one refresh runs at a time (single flight): two concurrent refreshes would invalidate
//!    each other.
//!
//! Owns the token endpoint conversation only; the Fleet API client asks it for bearer tokens.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::{watch, Mutex};
use tracing::{info, warn};
use url::Url;

use crate::clock::Clock;
use crate::secret::Secret;
use crate::store::{Store, StoreError};

/// Name of the sealed store record holding the token pair.
const TOKENS_RECORD: &str = "tesla.tokens";
/// Refresh this long before the access token expires, so no request races the expiry.
const REFRESH_AHEAD: Duration = Duration::from_secs(5 * 60);

/// Why no access token could be had.
#[derive(Debug, Clone, thiserror::Error)]
pub enum AuthError {
    #[error("not signed in to Tesla: import a refresh token with `teslasync auth import --refresh-token <TOKEN>`")]
    NotSignedIn,
    #[error("Tesla needs you to sign in again ({0}); import a new refresh token with `teslasync auth import`")]
    ReauthRequired(String),
    #[error("tesla.client_id is not set (set [tesla] client_id or TESLA_CLIENT_ID)")]
    MissingClientId,
    #[error("Tesla's token endpoint answered {status}: {message}")]
    Endpoint { status: u16, message: String },
    #[error("could not reach Tesla's token endpoint: {0}")]
    Transport(String),
    #[error("{0}")]
    Store(String),
}

impl From<StoreError> for AuthError {
    fn from(e: StoreError) -> Self {
        AuthError::Store(e.to_string())
    }
}

/// The token pair as sealed in the store.
#[derive(Clone, Serialize, Deserialize)]
struct StoredTokens {
    access_token: String,
    refresh_token: String,
    /// Unix seconds; 0 when only a refresh token is known (right after an import).
    expires_at: u64,
}

/// What the status page and MQTT diagnostics show about the sign-in (never the tokens).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "state")]
pub enum AuthStatus {
    SignedOut,
    SignedIn { expires_at: u64 },
    ReauthRequired { reason: String },
}

/// Where and how to refresh.
#[derive(Clone)]
pub struct AuthSettings {
    /// Base URL of the auth host; the token endpoint is `<base>/oauth2/v3/token`.
    pub auth_base_url: Url,
    pub client_id: Option<String>,
    pub client_secret: Option<Secret>,
}

/// The user's tokens, shared by everything that calls Tesla.
pub struct Tokens {
    store: Store,
    http: reqwest::Client,
    settings: AuthSettings,
    clock: Clock,
    /// Held across the whole refresh: this mutex *is* the single flight.
    current: Mutex<Option<StoredTokens>>,
    status: watch::Sender<AuthStatus>,
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    refresh_token: Option<String>,
    expires_in: u64,
}

#[derive(Deserialize)]
struct OAuthError {
    error: String,
    #[serde(default)]
    error_description: String,
}

impl Tokens {
    /// Loads the sealed tokens (if any) from the store.
    pub fn load(
        store: Store,
        http: reqwest::Client,
        settings: AuthSettings,
        clock: Clock,
    ) -> Result<Tokens, AuthError> {
        let current: Option<StoredTokens> = match store.get_secret(TOKENS_RECORD)? {
            Some(bytes) => Some(serde_json::from_slice(&bytes).map_err(|_| {
                AuthError::Store(format!(
                    "the stored Tesla tokens ({TOKENS_RECORD}) are unreadable; sign in again with `teslasync auth import`"
                ))
            })?),
            None => None,
        };
        let status = match &current {
            Some(t) => AuthStatus::SignedIn {
                expires_at: t.expires_at,
            },
            None => AuthStatus::SignedOut,
        };
        Ok(Tokens {
            store,
            http,
            settings,
            clock,
            current: Mutex::new(current),
            status: watch::channel(status).0,
        })
    }

    /// Stores a refresh token obtained elsewhere (`teslasync auth import`). The next request refreshes.
    pub fn import_refresh_token(store: &Store, refresh_token: &Secret) -> Result<(), AuthError> {
        let record = StoredTokens {
            access_token: String::new(),
            refresh_token: refresh_token.expose().to_string(),
            expires_at: 0,
        };
        store.put_secret(
            TOKENS_RECORD,
            &serde_json::to_vec(&record).expect("serializable"),
        )?;
        store.flush()?;
        Ok(())
    }

    /// Whether any tokens are stored.
    pub fn stored_status(store: &Store) -> Result<AuthStatus, AuthError> {
        Ok(match store.get_secret(TOKENS_RECORD)? {
            Some(bytes) => match serde_json::from_slice::<StoredTokens>(&bytes) {
                Ok(t) => AuthStatus::SignedIn {
                    expires_at: t.expires_at,
                },
                Err(_) => AuthStatus::ReauthRequired {
                    reason: "stored tokens are unreadable".into(),
                },
            },
            None => AuthStatus::SignedOut,
        })
    }

    /// Follows sign-in state changes (status page, diagnostics).
    pub fn status(&self) -> watch::Receiver<AuthStatus> {
        self.status.subscribe()
    }

    /// A valid access token, refreshed first if it expires within five minutes.
    pub async fn access_token(&self) -> Result<Secret, AuthError> {
        let mut current = self.current.lock().await;
        let tokens = current.as_ref().ok_or(AuthError::NotSignedIn)?;
        if let AuthStatus::ReauthRequired { reason } = &*self.status.borrow() {
            return Err(AuthError::ReauthRequired(reason.clone()));
        }
        let fresh_until = self.clock.unix_secs() + REFRESH_AHEAD.as_secs();
        if tokens.access_token.is_empty() || tokens.expires_at <= fresh_until {
            self.refresh_locked(&mut current).await?;
        }
        Ok(Secret::from(
            current.as_ref().expect("set above").access_token.clone(),
        ))
    }

    /// Called when Tesla answered 401 to `rejected`: refreshes once, unless another task already did.
    pub async fn refresh_after_unauthorized(&self, rejected: &Secret) -> Result<Secret, AuthError> {
        let mut current = self.current.lock().await;
        let tokens = current.as_ref().ok_or(AuthError::NotSignedIn)?;
        if tokens.access_token == rejected.expose() {
            self.refresh_locked(&mut current).await?;
        }
        Ok(Secret::from(
            current.as_ref().expect("set above").access_token.clone(),
        ))
    }

    /// Exchanges the refresh token; the caller holds the lock, so this runs once at a time.
    async fn refresh_locked(&self, current: &mut Option<StoredTokens>) -> Result<(), AuthError> {
        let old = current.as_ref().ok_or(AuthError::NotSignedIn)?;
        let client_id = self
            .settings
            .client_id
            .as_deref()
            .ok_or(AuthError::MissingClientId)?;
        let url = self
            .settings
            .auth_base_url
            .join("oauth2/v3/token")
            .map_err(|e| AuthError::Transport(e.to_string()))?;
        let mut form = vec![
            ("grant_type", "refresh_token"),
            ("client_id", client_id),
            ("refresh_token", old.refresh_token.as_str()),
        ];
        if let Some(secret) = &self.settings.client_secret {
            form.push(("client_secret", secret.expose()));
        }
        let response = self
            .http
            .post(url)
            .form(&form)
            .send()
            .await
            .map_err(|e| AuthError::Transport(e.without_url().to_string()))?;
        let status = response.status();
        let body = response
            .bytes()
            .await
            .map_err(|e| AuthError::Transport(e.without_url().to_string()))?;
        if !status.is_success() {
            let err = serde_json::from_slice::<OAuthError>(&body).ok();
            let message = err
                .as_ref()
                .map(|e| {
                    format!("{} {}", e.error, e.error_description)
                        .trim()
                        .to_string()
                })
                .unwrap_or_else(|| format!("HTTP {}", status.as_u16()));
            // Tesla does not use one fixed status for a dead refresh token; the error code decides.
            if err
                .as_ref()
                .is_some_and(|e| matches!(e.error.as_str(), "login_required" | "invalid_grant"))
            {
                warn!(%message, "Tesla rejected the refresh token; sign-in required");
                self.status.send_replace(AuthStatus::ReauthRequired {
                    reason: message.clone(),
                });
                return Err(AuthError::ReauthRequired(message));
            }
            return Err(AuthError::Endpoint {
                status: status.as_u16(),
                message,
            });
        }
        let parsed: TokenResponse =
            serde_json::from_slice(&body).map_err(|_| AuthError::Endpoint {
                status: status.as_u16(),
                message: "the token response was not the JSON Tesla documents".into(),
            })?;
        let new = StoredTokens {
            access_token: parsed.access_token,
            // Tesla always rotates; should a reply omit it, the old one is the only one we have.
            refresh_token: parsed
                .refresh_token
                .unwrap_or_else(|| old.refresh_token.clone()),
            expires_at: self.clock.unix_secs() + parsed.expires_in,
        };
        // Durable before use: the old refresh token is already dead at Tesla.
        self.store.put_secret(
            TOKENS_RECORD,
            &serde_json::to_vec(&new).expect("serializable"),
        )?;
        self.store.flush_async().await?;
        info!(
            expires_at = new.expires_at,
            "refreshed the Tesla access token"
        );
        self.status.send_replace(AuthStatus::SignedIn {
            expires_at: new.expires_at,
        });
        *current = Some(new);
        Ok(())
    }
}
