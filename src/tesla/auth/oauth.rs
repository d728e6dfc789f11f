//! `tesla::auth::oauth`: the sign-in conversation's pieces that are not tokens — the authorize URL, the
//! pending `state` values (CSRF protection: each is random, single use and expires), reading the callback
//! (from the redirect or from a URL the user pasted), and the `audience` for the code exchange.
//!
//! The callback is accepted only for a `state` issued here (to an admin, by the web server or the CLI)
//! and not used before; it is not bound to a browser, because Tesla's redirect reaches the public
//! address, usually another origin or device than the one that started the sign-in.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use url::Url;

use super::claims::requested_scope;
use super::AuthError;
use crate::clock::Clock;
use crate::config::Region;
use crate::tesla::region;

/// How long a started sign-in may take (Tesla's page, MFA, consent).
pub const LOGIN_TTL: Duration = Duration::from_secs(15 * 60);
/// More pending sign-ins than this and the oldest is forgotten; nobody signs in twenty times at once.
const MAX_PENDING: usize = 20;

/// Tesla's authorize URL with every parameter TeslaSync sends.
pub fn authorize_url(
    authorize_base: &Url,
    client_id: &str,
    redirect_uri: &str,
    state: &str,
) -> Url {
    let mut url = authorize_base
        .join("oauth2/v3/authorize")
        .expect("a base URL joins a relative path");
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", client_id)
        .append_pair("redirect_uri", redirect_uri)
        .append_pair("scope", &requested_scope())
        .append_pair("state", state)
        // Ask again for scopes the user un-ticked last time, and tell them a key-pairing step follows.
        .append_pair("prompt_missing_scopes", "true")
        .append_pair("show_keypair_step", "true");
    url
}

/// Sign-ins started and not yet completed: `state` → when it was issued.
pub struct PendingLogins {
    clock: Clock,
    states: Mutex<HashMap<String, SystemTime>>,
}

impl PendingLogins {
    pub fn new(clock: Clock) -> PendingLogins {
        PendingLogins {
            clock,
            states: Mutex::new(HashMap::new()),
        }
    }

    /// A new random `state` (256 bits, hex).
    pub fn start(&self) -> String {
        let state = hex::encode(rand::random::<[u8; 32]>());
        let now = self.clock.now();
        let mut states = self.states.lock().expect("pending logins mutex");
        states.retain(|_, at| now.duration_since(*at).unwrap_or_default() < LOGIN_TTL);
        while states.len() >= MAX_PENDING {
            let oldest = states
                .iter()
                .min_by_key(|(_, at)| **at)
                .map(|(s, _)| s.clone())
                .expect("not empty");
            states.remove(&oldest);
        }
        states.insert(state.clone(), now);
        state
    }

    /// Consumes `state`: true once for a state issued here within [`LOGIN_TTL`], false otherwise.
    pub fn take(&self, state: &str) -> bool {
        let now = self.clock.now();
        let issued = self
            .states
            .lock()
            .expect("pending logins mutex")
            .remove(state);
        issued.is_some_and(|at| now.duration_since(at).unwrap_or_default() < LOGIN_TTL)
    }
}

/// What Tesla sent back to the redirect URI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Callback {
    pub code: String,
    pub state: String,
}

/// Reads a callback from its query pairs. Tesla's `error=access_denied` (consent refused) and a missing
/// code or state are errors that say what to do.
pub fn callback_from_pairs(pairs: &[(String, String)]) -> Result<Callback, AuthError> {
    let get = |k: &str| {
        pairs
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    if let Some(error) = get("error") {
        let description = get("error_description").unwrap_or_default();
        return Err(AuthError::SignInRejected(
            format!("{error} {description}").trim().to_string(),
        ));
    }
    match (get("code"), get("state")) {
        (Some(code), Some(state)) => Ok(Callback { code, state }),
        _ => Err(AuthError::BadCallback(
            "it has no code and state; copy the whole address of the page Tesla sent you to".into(),
        )),
    }
}

/// Reads a callback from a URL the user pasted (the address bar after Tesla's redirect).
pub fn callback_from_pasted(text: &str) -> Result<Callback, AuthError> {
    let text = text.trim();
    let url = Url::parse(text).map_err(|_| {
        AuthError::BadCallback(
            "that is not a URL; paste the whole address, starting with http".into(),
        )
    })?;
    let pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    callback_from_pairs(&pairs)
}

/// The `audience` of the code exchange: the Fleet API host of the region the code was issued in (codes
/// start with `NA_`, `EU_`, `CN_`), else of the configured region.
pub fn audience_for_code(code: &str, configured: Region) -> String {
    let from_code = code
        .split_once('_')
        .and_then(|(prefix, _)| prefix.parse::<Region>().ok())
        .filter(|r| *r != Region::Auto);
    region::hosts(from_code.unwrap_or(configured))
        .fleet_api
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::UNIX_EPOCH;

    #[test]
    fn authorize_url_has_every_parameter() {
        let base = Url::parse("https://auth.tesla.com").unwrap();
        let url = authorize_url(
            &base,
            "cid",
            "https://ts.example.com/api/v1/auth/callback",
            "st",
        );
        let q: HashMap<_, _> = url.query_pairs().into_owned().collect();
        assert_eq!(url.path(), "/oauth2/v3/authorize");
        assert_eq!(q["response_type"], "code");
        assert_eq!(q["client_id"], "cid");
        assert_eq!(
            q["redirect_uri"],
            "https://ts.example.com/api/v1/auth/callback"
        );
        assert_eq!(q["scope"].split(' ').count(), 6);
        assert_eq!(q["state"], "st");
        assert_eq!(q["prompt_missing_scopes"], "true");
        assert_eq!(q["show_keypair_step"], "true");
    }

    #[test]
    fn states_are_single_use_and_expire() {
        let clock = Clock::manual(UNIX_EPOCH + Duration::from_secs(1000));
        let p = PendingLogins::new(clock.clone());
        let a = p.start();
        let b = p.start();
        assert_ne!(a, b);
        assert_eq!(a.len(), 64);
        assert!(p.take(&a));
        assert!(!p.take(&a), "single use");
        assert!(!p.take("forged"));
        clock.advance(LOGIN_TTL);
        assert!(!p.take(&b), "expired");
    }

    #[test]
    fn pasted_callbacks_and_errors() {
        let ok = callback_from_pasted(
            " https://ts.example.com/api/v1/auth/callback?code=EU_abc&state=s1&locale=en-US\n",
        )
        .unwrap();
        assert_eq!(
            ok,
            Callback {
                code: "EU_abc".into(),
                state: "s1".into()
            }
        );
        let denied = callback_from_pasted("https://x/cb?error=access_denied&state=s").unwrap_err();
        assert!(matches!(denied, AuthError::SignInRejected(_)), "{denied}");
        assert!(callback_from_pasted("code=1").is_err());
        assert!(callback_from_pasted("https://x/cb?state=s").is_err());
    }

    #[test]
    fn audience_follows_the_code_prefix() {
        assert_eq!(
            audience_for_code("EU_abc", Region::Auto),
            "https://fleet-api.prd.eu.vn.cloud.tesla.com"
        );
        assert_eq!(
            audience_for_code("abc", Region::Cn),
            "https://fleet-api.prd.cn.vn.cloud.tesla.cn"
        );
        assert_eq!(
            audience_for_code("XX_abc", Region::Auto),
            "https://fleet-api.prd.na.vn.cloud.tesla.com"
        );
    }
}
