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

/// How long an authorization code can be exchanged ([?] in fleet-api.md §2.2; ten minutes is the usual).
const CODE_TTL: Duration = Duration::from_secs(10 * 60);

/// A parsed token request.
#[derive(Debug)]
pub enum Grant {
    RefreshToken {
        client_id: String,
        client_secret: Option<String>,
        refresh_token: String,
    },
    AuthorizationCode {
        client_id: String,
        client_secret: Option<String>,
        code: String,
        redirect_uri: String,
        audience: String,
    },
    ClientCredentials {
        client_id: String,
        client_secret: Option<String>,
        audience: String,
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
            Some("authorization_code") => Ok(Grant::AuthorizationCode {
                client_id: field("client_id").ok_or_else(|| OAuthError::missing("client_id"))?,
                client_secret: field("client_secret"),
                code: field("code").ok_or_else(|| OAuthError::missing("code"))?,
                redirect_uri: field("redirect_uri")
                    .ok_or_else(|| OAuthError::missing("redirect_uri"))?,
                audience: field("audience").ok_or_else(|| OAuthError::missing("audience"))?,
            }),
            Some("client_credentials") => Ok(Grant::ClientCredentials {
                client_id: field("client_id").ok_or_else(|| OAuthError::missing("client_id"))?,
                client_secret: field("client_secret"),
                audience: field("audience").ok_or_else(|| OAuthError::missing("audience"))?,
            }),
            _ => Err(OAuthError {
                status: 400,
                error: "unsupported_grant_type",
                description: "use one of client_credentials, refresh_token, authorization_code"
                    .to_string(),
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

    fn invalid_auth_code() -> OAuthError {
        OAuthError {
            status: 400,
            error: "invalid_auth_code",
            description: "The authorization code is invalid, expired or already used".to_string(),
        }
    }

    fn invalid_redirect_url() -> OAuthError {
        OAuthError {
            status: 400,
            error: "invalid_redirect_url",
            description: "redirect_uri does not match the one the code was issued for".to_string(),
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

/// `audience` must name a Fleet API base URL (`https://fleet-api.prd.na.vn.cloud.tesla.com`).
fn check_audience(audience: &str) -> Result<(), OAuthError> {
    match url::Url::parse(audience) {
        Ok(u) if matches!(u.scheme(), "https" | "http") => Ok(()),
        _ => Err(OAuthError {
            status: 400,
            error: "invalid_request",
            description: "audience must be the Fleet API base URL of a region".to_string(),
        }),
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

/// Who a valid bearer token belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bearer {
    /// The signed-in user (authorization_code / refresh_token grants).
    User,
    /// The application itself (client_credentials): partner endpoints only.
    Partner,
}

/// The token endpoint's success body. Partner tokens have neither refresh nor id token.
#[derive(Debug, Clone, Serialize)]
pub struct TokenResponse {
    pub access_token: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
    pub expires_in: u64,
    pub token_type: &'static str,
}

struct Family {
    /// Access tokens of the current generation; revoked (forgotten) when the family rotates.
    access_tokens: Vec<String>,
    /// What the user consented to; every generation carries the same `scp`.
    scopes: Vec<String>,
}

/// An authorization code waiting to be exchanged.
struct AuthCode {
    client_id: String,
    redirect_uri: String,
    scopes: Vec<String>,
    expires_at: SystemTime,
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
    /// Valid (current-generation) access tokens and their expiry, and whose they are.
    access: HashMap<String, (SystemTime, Bearer)>,
    codes: HashMap<String, AuthCode>,
    /// `ou_code` written into new access tokens (upper case); may differ from the real region to model
    /// Tesla's known wrong `ou_code`s.
    ou_code: String,
    /// Every token and code ever issued, so tests can search logs and traffic for them.
    issued: Vec<String>,
    redirect_uris: Vec<String>,
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
            codes: HashMap::new(),
            ou_code: "NA".to_string(),
            issued: Vec::new(),
            redirect_uris: Vec::new(),
        }
    }

    /// Sets the `ou_code` of tokens minted from now on (`NA`, `EU`, `CN`).
    pub fn set_ou_code(&mut self, ou_code: &str) {
        self.ou_code = ou_code.to_ascii_uppercase();
    }

    /// Every token and code issued so far.
    pub fn issued(&self) -> Vec<String> {
        self.issued.clone()
    }

    /// Starts a new token family with every scope, as a fresh sign-in would, and returns its refresh
    /// token.
    pub fn new_family(&mut self, now: SystemTime) -> String {
        let scopes = SCOPES.iter().map(|s| s.to_string()).collect();
        let family = self.push_family(scopes);
        self.new_refresh_token(family, now)
    }

    fn push_family(&mut self, scopes: Vec<String>) -> usize {
        self.families.push(Family {
            access_tokens: Vec::new(),
            scopes,
        });
        self.families.len() - 1
    }

    /// The user withdrew consent (or changed their password): every refresh and access token of every
    /// family stops working; the next refresh answers `login_required`.
    pub fn revoke_all(&mut self) {
        self.refresh.clear();
        self.access.retain(|_, (_, kind)| *kind == Bearer::Partner);
        for family in &mut self.families {
            family.access_tokens.clear();
        }
    }

    /// The authorize page's approval: a single-use code for `scopes` (the consented subset).
    pub fn issue_code(
        &mut self,
        client_id: &str,
        redirect_uri: &str,
        scopes: Vec<String>,
        now: SystemTime,
    ) -> Result<String, OAuthError> {
        if client_id != self.client_id {
            return Err(OAuthError::unauthorized_client());
        }
        let code = format!(
            "{}_{}",
            self.ou_code,
            hex::encode(rand::random::<[u8; 24]>())
        );
        self.codes.insert(
            code.clone(),
            AuthCode {
                client_id: client_id.to_string(),
                redirect_uri: redirect_uri.to_string(),
                scopes,
                expires_at: now + CODE_TTL,
            },
        );
        self.issued.push(code.clone());
        Ok(code)
    }

    /// Registers the application's redirect URIs; while none is registered, any is accepted.
    pub fn set_redirect_uris(&mut self, uris: Vec<String>) {
        self.redirect_uris = uris;
    }

    /// Tesla compares redirect URIs character for character.
    pub fn redirect_uri_allowed(&self, uri: &str) -> bool {
        self.redirect_uris.is_empty() || self.redirect_uris.iter().any(|u| u == uri)
    }

    /// Whether `client_id` is the simulated application's.
    pub fn knows_client(&self, client_id: &str) -> bool {
        client_id == self.client_id
    }

    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    fn new_refresh_token(&mut self, family: usize, now: SystemTime) -> String {
        let token = format!(
            "{}_{}",
            self.ou_code,
            hex::encode(rand::random::<[u8; 32]>())
        );
        self.issued.push(token.clone());
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
            Grant::AuthorizationCode {
                client_id,
                client_secret,
                code,
                redirect_uri,
                audience,
            } => {
                // Confidential clients must authenticate for this grant (only refresh may omit it).
                self.check_client(&client_id, Some(client_secret.as_deref().unwrap_or("")))?;
                check_audience(&audience)?;
                let issued = self
                    .codes
                    .get(&code)
                    .filter(|c| now < c.expires_at && c.client_id == client_id)
                    .ok_or_else(OAuthError::invalid_auth_code)?;
                if issued.redirect_uri != redirect_uri {
                    return Err(OAuthError::invalid_redirect_url());
                }
                let issued = self.codes.remove(&code).expect("checked above");
                let family = self.push_family(issued.scopes);
                Ok(self.mint(family, now))
            }
            Grant::ClientCredentials {
                client_id,
                client_secret,
                audience,
            } => {
                self.check_client(&client_id, Some(client_secret.as_deref().unwrap_or("")))?;
                check_audience(&audience)?;
                Ok(self.mint_partner(now))
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

    /// A partner token: the application's own identity (`sub` = client id), no refresh token.
    fn mint_partner(&mut self, now: SystemTime) -> TokenResponse {
        let iat = now.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs();
        let exp = iat + self.access_ttl.as_secs();
        let token = self.jwt(&json!({
            "iss": "https://auth.tesla.com/oauth2/v3/nts",
            "azp": self.client_id,
            "sub": self.client_id,
            "aud": [
                "https://fleet-api.prd.na.vn.cloud.tesla.com",
                "https://fleet-api.prd.eu.vn.cloud.tesla.com",
            ],
            "scp": ["openid", "vehicle_device_data", "vehicle_cmds", "vehicle_charging_cmds"],
            "exp": exp,
            "iat": iat,
            "jti": hex::encode(rand::random::<[u8; 16]>()),
        }));
        self.access
            .insert(token.clone(), (now + self.access_ttl, Bearer::Partner));
        self.issued.push(token.clone());
        TokenResponse {
            access_token: token,
            refresh_token: None,
            id_token: None,
            expires_in: self.access_ttl.as_secs(),
            token_type: "Bearer",
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
            "scp": self.families[family].scopes,
            "amr": ["pwd", "mfa", "otp"],
            "exp": exp,
            "iat": iat,
            "auth_time": iat,
            "ou_code": self.ou_code,
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
            .insert(access_token.clone(), (now + self.access_ttl, Bearer::User));
        self.families[family]
            .access_tokens
            .push(access_token.clone());
        self.issued.push(access_token.clone());
        TokenResponse {
            access_token,
            refresh_token: Some(self.new_refresh_token(family, now)),
            id_token: Some(id_token),
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

    /// Checks an `Authorization` header value; says whose token it is.
    pub fn check_bearer(
        &self,
        authorization: Option<&str>,
        now: SystemTime,
    ) -> Result<Bearer, BearerError> {
        let token = authorization
            .and_then(|h| h.strip_prefix("Bearer "))
            .map(str::trim)
            .ok_or(BearerError::Invalid)?;
        let (expires_at, kind) = self.access.get(token).ok_or(BearerError::Invalid)?;
        if now >= *expires_at {
            return Err(BearerError::Expired);
        }
        Ok(*kind)
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
        s.grant(refresh(a.refresh_token.as_deref().unwrap()), now)
            .unwrap();
        let bearer = |t: &str| format!("Bearer {t}");
        assert_eq!(
            s.check_bearer(Some(&bearer(&a.access_token)), now),
            Err(BearerError::Invalid)
        );
        assert_eq!(
            s.check_bearer(Some(&bearer(&b.access_token)), now),
            Ok(Bearer::User)
        );
    }
}
