//! `tesla::auth::claims`: what an access token says about the sign-in — who (`sub`), where (`ou_code`),
//! until when (`exp`) and what the user consented to (`scp`) — and what each missing scope disables.
//!
//! Tesla's access tokens are JWTs; TeslaSync only *reads* the claims (it is not the audience that
//! verifies them: the Fleet API does). Decoding never fails loudly: a token that is not a JWT simply
//! has no claims.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::{Deserialize, Serialize};

/// The claims TeslaSync uses.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    #[serde(default)]
    pub sub: Option<String>,
    /// `NA`, `EU`, `CN`: the account's region as Tesla's sign-in saw it (sometimes wrong).
    #[serde(default)]
    pub ou_code: Option<String>,
    #[serde(default, rename = "scp")]
    pub scopes: Vec<String>,
    #[serde(default)]
    pub exp: Option<u64>,
}

impl Claims {
    /// The claims of a JWT, or `None` for anything else.
    pub fn decode(token: &str) -> Option<Claims> {
        let payload = token.split('.').nth(1)?;
        let bytes = URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    /// The requested scopes the user did not grant.
    pub fn missing_scopes(&self) -> Vec<&'static ScopeInfo> {
        SCOPES
            .iter()
            .filter(|s| !self.scopes.iter().any(|g| g == s.name))
            .collect()
    }
}

/// A scope TeslaSync asks for, and what goes missing without it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ScopeInfo {
    pub name: &'static str,
    /// Completes "Without <name>, …".
    pub without: &'static str,
}

/// Every scope in the authorize request, in the order sent.
pub static SCOPES: [ScopeInfo; 6] = [
    ScopeInfo {
        name: "openid",
        without: "Tesla does not identify the account",
    },
    ScopeInfo {
        name: "offline_access",
        without: "there is no refresh token, so TeslaSync is signed out when the access token expires (8 h)",
    },
    ScopeInfo {
        name: "vehicle_device_data",
        without: "no vehicle data can be read: every sensor stays unknown",
    },
    ScopeInfo {
        name: "vehicle_location",
        without: "the location (device tracker) stays unknown",
    },
    ScopeInfo {
        name: "vehicle_cmds",
        without: "commands fail: locks, climate, trunks, horn, lights and waking the car",
    },
    ScopeInfo {
        name: "vehicle_charging_cmds",
        without: "charging commands fail: start/stop charging, charge limit and charging current",
    },
];

/// The `scope` parameter of the authorize request: all six, space separated.
pub fn requested_scope() -> String {
    SCOPES.iter().map(|s| s.name).collect::<Vec<_>>().join(" ")
}

/// "vehicle_location (the location (device tracker) stays unknown)", for messages.
pub fn describe_missing(missing: &[&ScopeInfo]) -> String {
    missing
        .iter()
        .map(|s| format!("{}: {}", s.name, s.without))
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwt(claims: serde_json::Value) -> String {
        format!(
            "eyJhbGciOiJSUzI1NiJ9.{}.sig",
            URL_SAFE_NO_PAD.encode(claims.to_string())
        )
    }

    #[test]
    fn decodes_teslas_claims_and_names_missing_scopes() {
        let token = jwt(serde_json::json!({
            "sub": "u1", "ou_code": "EU", "exp": 5,
            "scp": ["openid", "offline_access", "vehicle_device_data", "vehicle_cmds"],
        }));
        let c = Claims::decode(&token).unwrap();
        assert_eq!(c.ou_code.as_deref(), Some("EU"));
        assert_eq!(c.sub.as_deref(), Some("u1"));
        let missing: Vec<_> = c.missing_scopes().iter().map(|s| s.name).collect();
        assert_eq!(missing, ["vehicle_location", "vehicle_charging_cmds"]);
        assert!(describe_missing(&c.missing_scopes()).contains("device tracker"));
        assert_eq!(Claims::decode("not-a-jwt"), None);
        assert_eq!(
            requested_scope(),
            "openid offline_access vehicle_device_data vehicle_location vehicle_cmds vehicle_charging_cmds"
        );
    }
}
