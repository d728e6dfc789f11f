//! `sim::auth`: the simulated account's tokens — Tesla's token endpoint and the bearer check.
//!
//! Owns refresh tokens, access tokens and their lifetimes (fleet-api.md §2.3–2.6). Knows nothing about
//! HTTP: the handler in `sim::api` turns form fields into a [`Grant`] and [`OAuthError`]s into responses.
//!
//! Tokens live in *families*: one family per sign-in (or per [`super::Sim::issue_refresh_token`]). Each
//! refresh rotates the family to a new generation: the used refresh token can never be used again
//! (`login_required`), and the previous generation's access tokens stop working (`invalid bearer token`),
//! as Tesla does since 2024-02-01. Families are independent, so two test clients holding tokens from two
//! imports do not invalidate each other.

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde::Serialize;
use serde_json::{json, Value};
use sha2::Sha256;

/// "Refresh tokens are valid for 3 months" (Tesla FAQ).
const REFRESH_TOKEN_TTL: Duration = Duration::from_secs(90 * 24 * 3600);

/// The simulated user (JWT `sub`), fixed so that a restarted simulator is the same account.
const ACCOUNT_SUB: &str = "5a1b0c2d-3e4f-4a5b-8c6d-7e8f90a1b2c3";
const ACCOUNT_ID: &str = "0f9e8d7c-6b5a-4c3d-9e2f-1a0b9c8d7e6f";

/// Every scope a TeslaSync user grants.
pub const SCOPES: [&str; 6] = [
    "openid",
    "offline_access",
    "vehicle_device_data",
    "vehicle_location",
    "vehicle_cmds",
    "vehicle_charging_cmds",
];

/// A parsed token request. New grants (authorization_code, client_credentials) become variants here
/// and arms in [`TokenStore::grant`].
#[derive(Debug)]
pub enum Grant {
    RefreshToken {
        client_id: String,
        client_secret: Option<String>,
        refresh_token: String,
    },
}

impl Grant {
    /// Reads a grant from the token endpoint's form fields.
    pub fn from_form(form: &HashMap<String, String>) -> Result<Grant, OAuthError> {
        let field = |name: &str| form.get(name).filter(|v| !v.is_empty()).cloned();
        match form.get("grant_type").map(String::as_str) {
            Some("refresh_token") => Ok(Grant::RefreshToken {
                client_id: field("client_id").ok_or_else(|| OAuthError::missing("client_id"))?,
                client_secret: field("client_secret"),
                refresh_token: field("refresh_token")
                    .ok_or_else(|| OAuthError::missing("refresh_token"))?,
            }),
            // authorization_code and client_credentials will be added here.
            _ => Err(OAuthError {
                status: 400,
                error: "unsupported_grant_type",
                description: "use grant_type=refresh_token (the simulator does not issue authorization_code or client_credentials tokens yet)".to_string(),
            }),
        }
    }
}

/// A token-endpoint failure, in Tesla's terms.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{error} ({status}): {description}")]
pub struct OAuthError {
    pub status: u16,
    pub error: &'static str,
    pub description: String,
}

impl OAuthError {
    fn missing(field: &str) -> OAuthError {
        OAuthError {
            status: 400,
            error: "invalid_request",
            description: format!("{field} is required"),
        }
    }

    fn login_required() -> OAuthError {
        OAuthError {
            status: 401,
            error: "login_required",
            description: "Login required".to_string(),
        }
    }

    fn unauthorized_client() -> OAuthError {
        OAuthError {
            status: 400,
            error: "unauthorized_client",
            description: "We don't recognize this client_id and client_secret combination"
                .to_string(),
        }
    }
}

/// Why a bearer token was refused by the Fleet API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BearerError {
    /// Missing, unknown, or revoked by a later refresh.
    #[error("invalid bearer token")]
    Invalid,
    /// Past its `exp` by the simulator's clock.
    #[error("token expired (401)")]
    Expired,
}

/// The token endpoint's success body.
#[derive(Debug, Clone, Serialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub refresh_token: String,
    pub id_token: String,
    pub expires_in: u64,
    pub token_type: &'static str,
}

struct Family {
    /// Access tokens of the current generation; revoked (forgotten) when the family rotates.
    access_tokens: Vec<String>,
}

/// An unused refresh token. Used ones are forgotten: reuse and an unknown token both mean
/// `login_required`.
struct RefreshRecord {
    family: usize,
    expires_at: SystemTime,
}

/// All tokens of the simulated account.
pub struct TokenStore {
    client_id: String,
    client_secret: String,
    access_ttl: Duration,
    /// Key for the fake JWT signature; clients only decode tokens, so any MAC will do.
    signing_key: [u8; 32],
    families: Vec<Family>,
    refresh: HashMap<String, RefreshRecord>,
    /// Valid (current-generation) access tokens and their expiry.
    access: HashMap<String, SystemTime>,
}

impl TokenStore {
    pub fn new(client_id: String, client_secret: String, access_ttl: Duration) -> TokenStore {
        TokenStore {
            client_id,
            client_secret,
            access_ttl,
            signing_key: rand::random(),
            families: Vec::new(),
            refresh: HashMap::new(),
            access: HashMap::new(),
        }
    }

    /// Starts a new token family, as a fresh sign-in would, and returns its refresh token.
    pub fn new_family(&mut self, now: SystemTime) -> String {
        self.families.push(Family {
            access_tokens: Vec::new(),
        });
        self.new_refresh_token(self.families.len() - 1, now)
    }

    fn new_refresh_token(&mut self, family: usize, now: SystemTime) -> String {
        let token = format!("NA_{}", hex::encode(rand::random::<[u8; 32]>()));
        self.refresh.insert(
            token.clone(),
            RefreshRecord {
                family,
                expires_at: now + REFRESH_TOKEN_TTL,
            },
        );
        token
    }

    /// Answers one token request.
    pub fn grant(&mut self, grant: Grant, now: SystemTime) -> Result<TokenResponse, OAuthError> {
        match grant {
            Grant::RefreshToken {
                client_id,
                client_secret,
                refresh_token,
            } => {
                self.check_client(&client_id, client_secret.as_deref())?;
                let record = self
                    .refresh
                    .remove(&refresh_token)
                    .filter(|r| now < r.expires_at)
                    .ok_or_else(OAuthError::login_required)?;
                let family = record.family;
                for old in self.families[family].access_tokens.drain(..) {
                    self.access.remove(&old);
                }
                Ok(self.mint(family, now))
            }
        }
    }

    fn check_client(&self, client_id: &str, secret: Option<&str>) -> Result<(), OAuthError> {
        let secret_ok = secret.is_none_or(|s| s == self.client_secret);
        if client_id == self.client_id && secret_ok {
            Ok(())
        } else {
            Err(OAuthError::unauthorized_client())
        }
    }

    /// Issues the next generation of a family: a refresh token, an access token and an id token.
    fn mint(&mut self, family: usize, now: SystemTime) -> TokenResponse {
        let iat = now.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs();
        let exp = iat + self.access_ttl.as_secs();
        let access_token = self.jwt(&json!({
            "iss": "https://auth.tesla.com/oauth2/v3/nts",
            "azp": self.client_id,
            "sub": ACCOUNT_SUB,
            "aud": [
                "https://fleet-api.prd.na.vn.cloud.tesla.com",
                "https://fleet-api.prd.eu.vn.cloud.tesla.com",
                "https://auth.tesla.com/oauth2/v3/userinfo",
            ],
            "scp": SCOPES,
            "amr": ["pwd", "mfa", "otp"],
            "exp": exp,
            "iat": iat,
            "auth_time": iat,
            "ou_code": "NA",
            "locale": "en-US",
            "account_type": "person",
            "open_source": false,
            "account_id": ACCOUNT_ID,
            // Two families minted in the same second would otherwise get identical tokens.
            "jti": hex::encode(rand::random::<[u8; 16]>()),
        }));
        let id_token = self.jwt(&json!({
            "iss": "https://auth.tesla.com/oauth2/v3",
            "aud": self.client_id,
            "sub": ACCOUNT_SUB,
            "exp": exp,
            "iat": iat,
            "auth_time": iat,
            "email": "driver@example.com",
        }));
        self.access
            .insert(access_token.clone(), now + self.access_ttl);
        self.families[family]
            .access_tokens
            .push(access_token.clone());
        TokenResponse {
            access_token,
            refresh_token: self.new_refresh_token(family, now),
            id_token,
            expires_in: self.access_ttl.as_secs(),
            token_type: "Bearer",
        }
    }

    /// `base64url(header).base64url(claims).base64url(signature)`. The header says RS256 like Tesla's;
    /// the signature is an HMAC, which is fine because clients only decode the claims.
    fn jwt(&self, claims: &Value) -> String {
        let header = json!({ "alg": "RS256", "typ": "JWT", "kid": "teslasync-sim" });
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.signing_key)
            .expect("HMAC accepts keys of any length");
        mac.update(signing_input.as_bytes());
        let sig = mac.finalize().into_bytes();
        format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(sig))
    }

    /// Checks an `Authorization` header value.
    pub fn check_bearer(
        &self,
        authorization: Option<&str>,
        now: SystemTime,
    ) -> Result<(), BearerError> {
        let token = authorization
            .and_then(|h| h.strip_prefix("Bearer "))
            .map(str::trim)
            .ok_or(BearerError::Invalid)?;
        let expires_at = self.access.get(token).ok_or(BearerError::Invalid)?;
        if now >= *expires_at {
            return Err(BearerError::Expired);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> TokenStore {
        TokenStore::new("cid".into(), "secret".into(), Duration::from_secs(100))
    }

    fn refresh(refresh_token: &str) -> Grant {
        Grant::RefreshToken {
            client_id: "cid".into(),
            client_secret: None,
            refresh_token: refresh_token.into(),
        }
    }

    #[test]
    fn access_token_is_a_decodable_jwt_with_tesla_claims() {
        let mut s = store();
        let now = UNIX_EPOCH + Duration::from_secs(1_000);
        let rt = s.new_family(now);
        assert!(rt.starts_with("NA_"));
        let resp = s.grant(refresh(&rt), now).unwrap();
        let parts: Vec<&str> = resp.access_token.split('.').collect();
        assert_eq!(parts.len(), 3);
        let claims: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
        assert_eq!(claims["ou_code"], "NA");
        assert_eq!(claims["azp"], "cid");
        assert_eq!(claims["exp"], 1_100);
        assert_eq!(claims["iat"], 1_000);
        assert_eq!(claims["scp"].as_array().unwrap().len(), 6);
        assert_eq!(resp.expires_in, 100);
    }

    #[test]
    fn wrong_client_is_refused_and_does_not_consume_the_token() {
        let mut s = store();
        let now = UNIX_EPOCH;
        let rt = s.new_family(now);
        let wrong = Grant::RefreshToken {
            client_id: "cid".into(),
            client_secret: Some("nope".into()),
            refresh_token: rt.clone(),
        };
        assert_eq!(
            s.grant(wrong, now).unwrap_err().error,
            "unauthorized_client"
        );
        assert!(s.grant(refresh(&rt), now).is_ok());
    }

    #[test]
    fn families_rotate_independently() {
        let mut s = store();
        let now = UNIX_EPOCH;
        let (rt_a, rt_b) = (s.new_family(now), s.new_family(now));
        let a = s.grant(refresh(&rt_a), now).unwrap();
        let b = s.grant(refresh(&rt_b), now).unwrap();
        s.grant(refresh(&a.refresh_token), now).unwrap();
        let bearer = |t: &str| format!("Bearer {t}");
        assert_eq!(
            s.check_bearer(Some(&bearer(&a.access_token)), now),
            Err(BearerError::Invalid)
        );
        assert_eq!(s.check_bearer(Some(&bearer(&b.access_token)), now), Ok(()));
    }
}
