//! `tesla::auth`: the user's OAuth tokens — loading, refreshing, rotating, persisting.
//!
//! Tesla refresh tokens are single use: every refresh returns a new one and invalidates the old one
//! (and the access tokens issued with it). Two rules follow, and this module exists to enforce them:
//! 1. the rotated refresh token is written to the store, durably, *before* the new access token is
//!    used — a crash in between must not lock the user out;
//! 2. only one refresh runs at a time (single flight): two concurrent refreshes would invalidate
//!    each other.
//!
//! A new sign-in (the authorization-code exchange) goes through the same lock, so it can never race a
//! refresh, and it clears a `ReauthRequired` state at once: whoever waits on [`Tokens::status`] (the
//! poller's wake-up, the `reauth_required` entity) sees the change without a restart.
//!
//! Owns the token endpoint conversation only; the Fleet API client asks it for bearer tokens.
//! Submodules: [`claims`] (what a token says: scopes, region), [`oauth`] (authorize URL, `state`,
//! callbacks), [`partner`] (the application's own client-credentials token).

pub mod claims;
pub mod oauth;
pub mod partner;

use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::{watch, Mutex};
use tracing::{info, warn};
use url::Url;

use crate::clock::Clock;
use crate::config::Region;
use crate::secret::Secret;
use crate::store::{Store, StoreError};

pub use claims::Claims;

/// Name of the sealed store record holding the token pair.
const TOKENS_RECORD: &str = "tesla.tokens";
/// Refresh this long before the access token expires, so no request races the expiry.
const REFRESH_AHEAD: Duration = Duration::from_secs(5 * 60);

/// Why no access token could be had, or a sign-in failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum AuthError {
    #[error("not signed in to Tesla: sign in on the status page (Sign in with Tesla) or run `teslasync auth login`")]
    NotSignedIn,
    #[error("Tesla needs you to sign in again ({0}): use Sign in with Tesla on the status page or run `teslasync auth login`")]
    ReauthRequired(String),
    #[error("tesla.client_id is not set (set [tesla] client_id or TESLA_CLIENT_ID)")]
    MissingClientId,
    #[error("tesla.client_secret is not set; Tesla needs it to sign in and to register the application (set [tesla] client_secret or TESLA_CLIENT_SECRET)")]
    MissingClientSecret,
    #[error("tesla.redirect_uri is not set; it must be the callback URL registered with your Tesla application, e.g. https://<your host>/api/v1/auth/callback (set [tesla] redirect_uri or TESLA_REDIRECT_URI)")]
    MissingRedirectUri,
    #[error("Tesla did not complete the sign-in ({0}); start it again")]
    SignInRejected(String),
    #[error("this sign-in is unknown, already used or expired (the state does not match one started here, in this browser); start the sign-in again")]
    BadState,
    #[error("cannot read the sign-in callback: {0}")]
    BadCallback(String),
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

impl AuthSettings {
    fn token_url(&self) -> Result<Url, AuthError> {
        self.auth_base_url
            .join("oauth2/v3/token")
            .map_err(|e| AuthError::Transport(e.to_string()))
    }

    fn client_id(&self) -> Result<&str, AuthError> {
        self.client_id.as_deref().ok_or(AuthError::MissingClientId)
    }

    fn client_secret(&self) -> Result<&str, AuthError> {
        self.client_secret
            .as_ref()
            .map(Secret::expose)
            .filter(|s| !s.is_empty())
            .ok_or(AuthError::MissingClientSecret)
    }
}

/// Posts a form to the token endpoint; the parsed success body or Tesla's error, with `login_required`
/// (and `invalid_grant`) told apart because they mean "sign in again".
async fn post_token(
    http: &reqwest::Client,
    settings: &AuthSettings,
    form: &[(&str, &str)],
) -> Result<TokenResponse, TokenEndpointError> {
    let url = settings.token_url()?;
    let response = http
        .post(url)
        .form(form)
        .send()
        .await
        .map_err(|e| AuthError::Transport(crate::tesla::transport_error(e)))?;
    let status = response.status();
    let body = response
        .bytes()
        .await
        .map_err(|e| AuthError::Transport(crate::tesla::transport_error(e)))?;
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
        let code = err.map(|e| e.error).unwrap_or_default();
        return Err(TokenEndpointError::Refused {
            status: status.as_u16(),
            code,
            message,
        });
    }
    serde_json::from_slice(&body).map_err(|_| {
        TokenEndpointError::Auth(AuthError::Endpoint {
            status: status.as_u16(),
            message: "the token response was not the JSON Tesla documents".into(),
        })
    })
}

/// A token-endpoint failure before it is given a meaning by the grant that caused it.
enum TokenEndpointError {
    Auth(AuthError),
    Refused {
        status: u16,
        /// Tesla's `error` code (`login_required`, `invalid_auth_code`, ...).
        code: String,
        message: String,
    },
}

impl From<AuthError> for TokenEndpointError {
    fn from(e: AuthError) -> Self {
        TokenEndpointError::Auth(e)
    }
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
    /// Set while the tokens in use could not be written durably (a full disk): they stay in memory
    /// and in use, and every later token request retries the write until it succeeds.
    unsaved: watch::Sender<Option<String>>,
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    #[serde(default)]
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
            unsaved: watch::channel(None).0,
        })
    }

    /// The time on this account's clock (for answers that name a time, such as an HTTP-date
    /// `Retry-After` without a `Date` header).
    pub fn now(&self) -> std::time::SystemTime {
        self.clock.now()
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

    /// `Some(why)` while the tokens in use exist only in memory because the store refused the
    /// write; `None` once they are durable again.
    pub fn storage_problem(&self) -> watch::Receiver<Option<String>> {
        self.unsaved.subscribe()
    }

    /// What the current access token says (scopes, region, account); `None` before the first refresh.
    pub async fn claims(&self) -> Option<Claims> {
        let current = self.current.lock().await;
        current
            .as_ref()
            .and_then(|t| Claims::decode(&t.access_token))
    }

    /// The settings this manager signs in with (client id, auth host).
    pub fn settings(&self) -> &AuthSettings {
        &self.settings
    }

    /// Completes a sign-in: exchanges the authorization code Tesla sent to `redirect_uri`, stores the
    /// tokens sealed (durably, before use) and leaves any `ReauthRequired` state. Returns the new
    /// token's claims so the caller can report missing scopes.
    pub async fn sign_in_with_code(
        &self,
        code: &str,
        redirect_uri: &str,
        region: Region,
    ) -> Result<Claims, AuthError> {
        let client_id = self.settings.client_id()?;
        let client_secret = self.settings.client_secret()?;
        let audience = oauth::audience_for_code(code, region);
        // The refresh lock: a sign-in never overlaps a refresh of the tokens it replaces.
        let mut current = self.current.lock().await;
        let form = [
            ("grant_type", "authorization_code"),
            ("client_id", client_id),
            ("client_secret", client_secret),
            ("code", code),
            ("redirect_uri", redirect_uri),
            ("audience", audience.as_str()),
        ];
        let parsed = match post_token(&self.http, &self.settings, &form).await {
            Ok(parsed) => parsed,
            Err(TokenEndpointError::Auth(e)) => return Err(e),
            Err(TokenEndpointError::Refused { message, .. }) => {
                warn!(%message, "Tesla refused the authorization code");
                return Err(AuthError::SignInRejected(message));
            }
        };
        let refresh_token = parsed.refresh_token.ok_or_else(|| {
            AuthError::SignInRejected(
                "Tesla sent no refresh token: the offline_access scope was not granted".into(),
            )
        })?;
        let new = StoredTokens {
            access_token: parsed.access_token,
            refresh_token,
            expires_at: self.clock.unix_secs().saturating_add(parsed.expires_in),
        };
        let claims = Claims::decode(&new.access_token).unwrap_or_default();
        self.adopt(&mut current, new.clone()).await;
        info!(
            expires_at = new.expires_at,
            region = claims.ou_code.as_deref().unwrap_or("?"),
            "signed in to Tesla"
        );
        self.status.send_replace(AuthStatus::SignedIn {
            expires_at: new.expires_at,
        });
        Ok(claims)
    }

    /// Forgets the tokens (sealed record removed durably). Tesla's consent stays until the user
    /// revokes it in their Tesla account.
    pub async fn sign_out(&self) -> Result<(), AuthError> {
        let mut current = self.current.lock().await;
        self.store.remove_secret(TOKENS_RECORD)?;
        *current = None;
        self.status.send_replace(AuthStatus::SignedOut);
        info!("signed out of Tesla");
        Ok(())
    }

    /// Removes stored tokens without a running manager (`teslasync auth logout`).
    pub fn remove_stored(store: &Store) -> Result<(), AuthError> {
        store.remove_secret(TOKENS_RECORD)?;
        Ok(())
    }

    /// Writes the token pair durably: the old refresh token may already be dead at Tesla.
    async fn persist(&self, tokens: &StoredTokens) -> Result<(), AuthError> {
        self.store.put_secret(
            TOKENS_RECORD,
            &serde_json::to_vec(tokens).expect("serializable"),
        )?;
        self.store.flush_async().await?;
        Ok(())
    }

    /// Puts `new` in use and writes it durably. The old refresh token is already dead at Tesla, so
    /// a failed write (a full disk) must not lose the new one: it stays in memory and in use, the
    /// problem is reported ([`Tokens::storage_problem`]) and the write is retried on every later
    /// token request (the poller's cadence is the back-off) until the store takes it.
    async fn adopt(&self, current: &mut Option<StoredTokens>, new: StoredTokens) {
        let written = self.persist(&new).await;
        *current = Some(new);
        self.note_write(written);
    }

    fn note_write(&self, written: Result<(), AuthError>) {
        match written {
            Ok(()) => {
                if self.unsaved.send_replace(None).is_some() {
                    info!("the Tesla tokens are stored durably again");
                }
            }
            Err(e) => {
                let why = format!("the new Tesla tokens could not be saved ({e}); TeslaSync keeps using them and retries, but a restart now would need a new sign-in: free disk space in storage.path");
                self.unsaved.send_if_modified(|was| {
                    let changed = was.as_deref() != Some(why.as_str());
                    if changed {
                        warn!("{why}");
                        *was = Some(why.clone());
                    }
                    changed
                });
            }
        }
    }

    /// A valid access token, refreshed first if it expires within five minutes.
    pub async fn access_token(&self) -> Result<Secret, AuthError> {
        let mut current = self.current.lock().await;
        if self.unsaved.borrow().is_some() {
            if let Some(tokens) = current.as_ref() {
                let written = self.persist(tokens).await;
                self.note_write(written);
            }
        }
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
        let client_id = self.settings.client_id()?;
        let mut form = vec![
            ("grant_type", "refresh_token"),
            ("client_id", client_id),
            ("refresh_token", old.refresh_token.as_str()),
        ];
        if let Some(secret) = &self.settings.client_secret {
            form.push(("client_secret", secret.expose()));
        }
        let parsed = match post_token(&self.http, &self.settings, &form).await {
            Ok(parsed) => parsed,
            Err(TokenEndpointError::Auth(e)) => return Err(e),
            // Tesla does not use one fixed status for a dead refresh token; the error code decides.
            Err(TokenEndpointError::Refused { code, message, .. })
                if matches!(code.as_str(), "login_required" | "invalid_grant") =>
            {
                warn!(%message, "Tesla rejected the refresh token; sign-in required");
                self.status.send_replace(AuthStatus::ReauthRequired {
                    reason: message.clone(),
                });
                return Err(AuthError::ReauthRequired(message));
            }
            Err(TokenEndpointError::Refused {
                status, message, ..
            }) => return Err(AuthError::Endpoint { status, message }),
        };
        let new = StoredTokens {
            access_token: parsed.access_token,
            // Tesla always rotates; should a reply omit it, the old one is the only one we have.
            refresh_token: parsed
                .refresh_token
                .unwrap_or_else(|| old.refresh_token.clone()),
            expires_at: self.clock.unix_secs().saturating_add(parsed.expires_in),
        };
        let expires_at = new.expires_at;
        self.adopt(current, new).await;
        info!(expires_at, "refreshed the Tesla access token");
        self.status
            .send_replace(AuthStatus::SignedIn { expires_at });
        Ok(())
    }
}
