//! `web::access`: who may use the admin pages, decided once per request.
//!
//! Nothing counts as admin by where it comes from alone — a reverse proxy on the same host makes
//! every visitor look like loopback. A request is an admin's when it carries one credential:
//!
//! - a **session cookie** (`teslasync_session`: HttpOnly, SameSite=Strict, Secure behind an https
//!   `http.public_url`), issued by the sign-in form for `http.admin_token` (kept only as an argon2
//!   hash) or by the **one-time sign-in link** printed at start-up when no password is configured;
//! - **Home Assistant ingress**: when running as an add-on, a request from the Supervisor's proxy
//!   address carrying `X-Ingress-Path` (Home Assistant has authenticated the user);
//! - a **forward-auth header** (`http.forward_auth_header`) from an address in `http.trusted_proxies`;
//! - `Authorization: Bearer <http.admin_token>` for scripts.
//!
//! Before that, the `Host` header must name one of our addresses (listen address, IP literals,
//! loopback names, `public_url`, `tesla.domain`, the redirect URI's host), so a page on a rebound
//! DNS name cannot read the admin pages through the user's browser. State-changing requests from a
//! browser must also prove they come from our own pages: a JSON body (a foreign page cannot send one
//! without CORS) or a form with this principal's CSRF token, and an `Origin` that matches `Host`.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use axum::http::{header, HeaderMap, Method};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use crate::config::{Config, IpNet};

pub use crate::config::SUPERVISOR_PROXY;
/// The session cookie's name.
pub const SESSION_COOKIE: &str = "teslasync_session";
/// How long a browser session lasts.
pub const SESSION_TTL: Duration = Duration::from_secs(30 * 24 * 3600);
/// Sessions kept at most (the oldest goes first).
const MAX_SESSIONS: usize = 64;
/// Failed sign-ins allowed per window before the form refuses for the rest of it.
const MAX_FAILURES: u32 = 10;
const FAILURE_WINDOW: Duration = Duration::from_secs(300);

/// Who is asking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// A browser with a session; the id's hash names it.
    Session(String),
    /// Home Assistant ingress (the Supervisor vouches for the user).
    Ingress,
    /// An authenticating reverse proxy named this user.
    Forwarded(String),
    /// A script with the bearer token.
    Bearer,
}

impl Principal {
    /// Browsers send cookies and proxy-added headers by themselves, so their POSTs need proof that
    /// our own page made them; a bearer token is never added by a browser.
    fn needs_csrf_proof(&self) -> bool {
        !matches!(self, Principal::Bearer)
    }

    fn id(&self) -> String {
        match self {
            Principal::Session(h) => format!("session:{h}"),
            Principal::Ingress => "ingress".to_owned(),
            Principal::Forwarded(u) => format!("forwarded:{u}"),
            Principal::Bearer => "bearer".to_owned(),
        }
    }
}

/// Why a request was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The `Host` is none of ours (DNS rebinding, or a misconfigured proxy).
    ForeignHost(String),
    /// No credential: sign in first.
    NoCredential,
    /// A browser POST without proof that our page made it.
    Csrf,
}

struct SessionEntry {
    expires: Instant,
    created: Instant,
}

#[derive(Default)]
struct Failures {
    since: Option<Instant>,
    count: u32,
}

/// Access rules and the live sessions. Cheap to clone.
#[derive(Clone)]
pub struct Access {
    inner: Arc<Inner>,
}

struct Inner {
    forward_auth_header: Option<String>,
    trusted_proxies: Vec<IpNet>,
    ingress_proxy: Option<IpAddr>,
    /// argon2 PHC string of `http.admin_token`: the plaintext is not kept here.
    password_hash: Option<String>,
    /// SHA-256 of `http.admin_token`, for the bearer comparison (per request; argon2 is too slow).
    token_digest: Option<[u8; 32]>,
    /// Host names (lower case, no port) the admin pages answer to, besides IP literals and loopback.
    hosts: Vec<String>,
    /// `public_url`'s host when it is https: cookies for it are `Secure`.
    secure_host: Option<String>,
    /// Keys the CSRF tokens.
    csrf_key: [u8; 32],
    sessions: Mutex<HashMap<String, SessionEntry>>,
    /// SHA-256 of the one-time sign-in link's token, until used.
    once: Mutex<Option<[u8; 32]>>,
    failures: Mutex<Failures>,
}

fn digest(s: &str) -> [u8; 32] {
    Sha256::digest(s.as_bytes()).into()
}

fn random_token() -> String {
    hex::encode(rand::random::<[u8; 32]>())
}

impl Access {
    /// The rules from the configuration. Hashes the admin password (argon2), so call it once.
    pub fn from_config(cfg: &Config) -> Access {
        let http = &cfg.http;
        let password_hash = http.admin_token.as_ref().map(|t| {
            let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
            Argon2::default()
                .hash_password(t.expose().as_bytes(), &salt)
                .expect("argon2 with default parameters hashes any password")
                .to_string()
        });
        let mut hosts: Vec<String> = vec!["localhost".to_owned()];
        let mut add = |h: Option<&str>| {
            if let Some(h) = h.filter(|h| !h.is_empty()) {
                hosts.push(h.trim_end_matches('.').to_ascii_lowercase());
            }
        };
        add(http.public_url.as_ref().and_then(|u| u.host_str()));
        add(cfg.tesla.domain.as_deref());
        let redirect = cfg
            .tesla
            .redirect_uri
            .as_deref()
            .and_then(|r| url::Url::parse(r).ok());
        add(redirect.as_ref().and_then(|u| u.host_str()));
        let secure_host = http
            .public_url
            .as_ref()
            .filter(|u| u.scheme() == "https")
            .and_then(|u| u.host_str())
            .map(str::to_ascii_lowercase);
        Access {
            inner: Arc::new(Inner {
                forward_auth_header: http.forward_auth_header.clone(),
                trusted_proxies: http.trusted_proxies.clone(),
                ingress_proxy: http.ingress_proxy,
                password_hash,
                token_digest: http.admin_token.as_ref().map(|t| digest(t.expose())),
                hosts,
                secure_host,
                csrf_key: rand::random(),
                sessions: Mutex::default(),
                once: Mutex::default(),
                failures: Mutex::default(),
            }),
        }
    }

    /// True when the sign-in form has a password to check.
    pub fn has_password(&self) -> bool {
        self.inner.password_hash.is_some()
    }

    /// A fresh one-time sign-in token (replacing any unused one): the path to open is
    /// `login?once=<token>`. Single use.
    pub fn issue_one_time_token(&self) -> String {
        let token = random_token();
        *self.inner.once.lock().expect("lock") = Some(digest(&token));
        token
    }

    /// Spends the one-time token; true if it was the live one.
    pub fn redeem_one_time_token(&self, presented: &str) -> bool {
        let mut once = self.inner.once.lock().expect("lock");
        let ok = once
            .as_ref()
            .is_some_and(|d| constant_time_eq(d, &digest(presented)));
        if ok {
            *once = None;
        }
        ok
    }

    /// Checks a password from the sign-in form. `Err` when too many attempts failed lately.
    pub fn check_password(&self, presented: &str) -> Result<bool, Duration> {
        let now = Instant::now();
        {
            let mut f = self.inner.failures.lock().expect("lock");
            if f.since
                .is_some_and(|s| now.duration_since(s) > FAILURE_WINDOW)
            {
                *f = Failures::default();
            }
            if f.count >= MAX_FAILURES {
                let since = f.since.unwrap_or(now);
                return Err(FAILURE_WINDOW.saturating_sub(now.duration_since(since)));
            }
        }
        let ok = self.inner.password_hash.as_deref().is_some_and(|phc| {
            PasswordHash::new(phc).is_ok_and(|h| {
                Argon2::default()
                    .verify_password(presented.as_bytes(), &h)
                    .is_ok()
            })
        });
        if !ok {
            let mut f = self.inner.failures.lock().expect("lock");
            f.since.get_or_insert(now);
            f.count += 1;
        }
        Ok(ok)
    }

    /// Starts a browser session; returns the cookie value to set.
    pub fn new_session(&self) -> String {
        let id = random_token();
        let now = Instant::now();
        let mut sessions = self.inner.sessions.lock().expect("lock");
        sessions.retain(|_, s| s.expires > now);
        if sessions.len() >= MAX_SESSIONS {
            if let Some(oldest) = sessions
                .iter()
                .min_by_key(|(_, s)| s.created)
                .map(|(k, _)| k.clone())
            {
                sessions.remove(&oldest);
            }
        }
        sessions.insert(
            hex::encode(digest(&id)),
            SessionEntry {
                expires: now + SESSION_TTL,
                created: now,
            },
        );
        id
    }

    /// Ends the session `principal` stands for (no-op for the others).
    pub fn end_session(&self, principal: &Principal) {
        if let Principal::Session(h) = principal {
            self.inner.sessions.lock().expect("lock").remove(h);
        }
    }

    /// The `Set-Cookie` value for a new session (or, with `None`, one that deletes it).
    pub fn session_cookie(&self, headers: &HeaderMap, id: Option<&str>) -> String {
        let secure = self
            .inner
            .secure_host
            .as_deref()
            .is_some_and(|h| host_of(headers).as_deref() == Some(h));
        let (value, age) = match id {
            Some(id) => (id, SESSION_TTL.as_secs()),
            None => ("", 0),
        };
        format!(
            "{SESSION_COOKIE}={value}; Path=/; Max-Age={age}; HttpOnly; SameSite=Strict{}",
            if secure { "; Secure" } else { "" }
        )
    }

    /// The CSRF token our pages put into forms for `principal`.
    pub fn csrf_token(&self, principal: &Principal) -> String {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.inner.csrf_key)
            .expect("HMAC takes any key length");
        mac.update(principal.id().as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    /// True when `Host` names this server (IP literals cannot be rebound, so they always do).
    pub fn host_allowed(&self, headers: &HeaderMap) -> bool {
        let Some(host) = host_of(headers) else {
            // HTTP/1.0 without Host: no browser sends that.
            return false;
        };
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        bare.parse::<IpAddr>().is_ok()
            || host.ends_with(".localhost")
            || self.inner.hosts.contains(&host)
    }

    /// The credential this request carries, if any. The `Host` must already have been checked.
    pub fn principal(&self, peer: SocketAddr, headers: &HeaderMap) -> Option<Principal> {
        let peer_ip = canonical(peer.ip());
        if self.inner.ingress_proxy.is_some_and(|p| p == peer_ip)
            && headers.contains_key("x-ingress-path")
        {
            return Some(Principal::Ingress);
        }
        if let Some(name) = &self.inner.forward_auth_header {
            let from_proxy = self
                .inner
                .trusted_proxies
                .iter()
                .any(|net| net.contains(peer_ip));
            if let Some(user) = headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .filter(|v| !v.is_empty())
            {
                if from_proxy {
                    return Some(Principal::Forwarded(user.to_owned()));
                }
            }
        }
        if let Some(expected) = &self.inner.token_digest {
            let presented = headers
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "));
            if presented.is_some_and(|p| constant_time_eq(&digest(p), expected)) {
                return Some(Principal::Bearer);
            }
        }
        let id = cookie(headers, SESSION_COOKIE)?;
        let key = hex::encode(digest(&id));
        let now = Instant::now();
        let sessions = self.inner.sessions.lock().expect("lock");
        sessions
            .get(&key)
            .filter(|s| s.expires > now)
            .map(|_| Principal::Session(key.clone()))
    }

    /// Whether a request by `principal` may change something. `form_csrf` is the `csrf` field of a
    /// form body, if the body is a form.
    pub fn may_change(
        &self,
        principal: &Principal,
        method: &Method,
        headers: &HeaderMap,
        form_csrf: Option<&str>,
    ) -> bool {
        if method == Method::GET || method == Method::HEAD || !principal.needs_csrf_proof() {
            return true;
        }
        if !origin_matches(headers) {
            return false;
        }
        let content_type = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        if content_type.starts_with("application/json") {
            return true;
        }
        let expected = self.csrf_token(principal);
        let presented =
            form_csrf.or_else(|| headers.get("x-csrf-token").and_then(|v| v.to_str().ok()));
        presented.is_some_and(|p| constant_time_eq(p.as_bytes(), expected.as_bytes()))
    }

    /// The full decision for an admin route.
    pub fn check(&self, peer: SocketAddr, headers: &HeaderMap) -> Result<Principal, Refusal> {
        let ingress = self
            .inner
            .ingress_proxy
            .is_some_and(|p| p == canonical(peer.ip()));
        // Home Assistant passes its own Host through ingress; the peer address is the proof there.
        if !ingress && !self.host_allowed(headers) {
            return Err(Refusal::ForeignHost(host_of(headers).unwrap_or_default()));
        }
        self.principal(peer, headers).ok_or(Refusal::NoCredential)
    }
}

/// `Host` (or HTTP/2's authority) in lower case without the port.
fn host_of(headers: &HeaderMap) -> Option<String> {
    let raw = headers.get(header::HOST)?.to_str().ok()?.trim();
    let host = if raw.starts_with('[') {
        raw.split_once(']').map(|(h, _)| format!("{h}]"))?
    } else {
        raw.rsplit_once(':').map_or(raw, |(h, _)| h).to_owned()
    };
    Some(host.trim_end_matches('.').to_ascii_lowercase())
}

/// A POST's `Origin` (browsers send it) must be the host the request was sent to.
fn origin_matches(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return true;
    };
    let origin_host = url::Url::parse(origin)
        .ok()
        .and_then(|u| u.host_str().map(str::to_ascii_lowercase));
    origin_host.is_some() && origin_host == host_of(headers)
}

/// A cookie's value from the `Cookie` headers.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

/// An IPv4 client seen through a dual-stack socket counts as its IPv4 address.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The token in a one-time sign-in link, for printing.
pub fn one_time_link(base: &str, token: &str) -> String {
    format!("{}/login?once={token}", base.trim_end_matches('/'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::Secret;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, v.parse().unwrap());
        }
        h
    }

    fn access(edit: impl FnOnce(&mut Config)) -> Access {
        let mut cfg = Config::defaults();
        edit(&mut cfg);
        Access::from_config(&cfg)
    }

    const LOCAL: &str = "127.0.0.1:5000";
    const REMOTE: &str = "192.0.2.7:5000";

    #[test]
    fn loopback_alone_is_no_credential() {
        let a = access(|_| {});
        let local: SocketAddr = LOCAL.parse().unwrap();
        assert_eq!(
            a.check(local, &headers(&[("host", "127.0.0.1:8080")])),
            Err(Refusal::NoCredential)
        );
    }

    #[test]
    fn foreign_hosts_are_refused_ip_literals_and_our_names_are_not() {
        let a = access(|c| {
            c.http.public_url = Some("https://ts.example.com".parse().unwrap());
            c.tesla.domain = Some("keys.example.com".into());
        });
        for ok in [
            "127.0.0.1:8080",
            "[::1]:8080",
            "192.168.1.5",
            "localhost:8080",
            "ts.example.com",
            "TS.example.com.",
            "keys.example.com:443",
        ] {
            assert!(a.host_allowed(&headers(&[("host", ok)])), "{ok}");
        }
        for bad in ["evil.example", "ts.example.com.evil.example", ""] {
            assert!(!a.host_allowed(&headers(&[("host", bad)])), "{bad}");
        }
        assert!(!a.host_allowed(&HeaderMap::new()));
    }

    #[test]
    fn ingress_only_from_the_supervisor_with_its_header() {
        let a = access(|c| c.http.ingress_proxy = Some(SUPERVISOR_PROXY));
        let sup: SocketAddr = "172.30.32.2:4000".parse().unwrap();
        let other: SocketAddr = "172.30.32.3:4000".parse().unwrap();
        let h = headers(&[
            ("host", "homeassistant.local:8123"),
            ("x-ingress-path", "/api/hassio_ingress/x"),
        ]);
        assert_eq!(a.check(sup, &h), Ok(Principal::Ingress));
        assert!(a.check(other, &h).is_err());
        let no_header = headers(&[("host", "homeassistant.local:8123")]);
        assert_eq!(a.check(sup, &no_header), Err(Refusal::NoCredential));
        let plain = access(|_| {});
        assert!(plain.check(sup, &h).is_err(), "not an add-on: no ingress");
    }

    #[test]
    fn forward_auth_only_from_trusted_proxies_and_the_token_still_works() {
        let a = access(|c| {
            c.http.forward_auth_header = Some("remote-user".into());
            c.http.trusted_proxies = vec!["10.0.0.0/8".parse().unwrap()];
            c.http.admin_token = Some(Secret::from("s3cret-s3cret-s3cret"));
        });
        let proxy: SocketAddr = "10.1.2.3:5000".parse().unwrap();
        let remote: SocketAddr = REMOTE.parse().unwrap();
        let local: SocketAddr = LOCAL.parse().unwrap();
        let user = headers(&[("host", "127.0.0.1"), ("remote-user", "alice")]);
        assert_eq!(
            a.check(proxy, &user),
            Ok(Principal::Forwarded("alice".into()))
        );
        assert!(
            a.check(remote, &user).is_err(),
            "anyone can type the header"
        );
        assert!(
            a.check(local, &user).is_err(),
            "loopback is not a trusted proxy by itself"
        );
        let bearer = headers(&[
            ("host", "127.0.0.1"),
            ("authorization", "Bearer s3cret-s3cret-s3cret"),
        ]);
        assert_eq!(
            a.check(remote, &bearer),
            Ok(Principal::Bearer),
            "both set: the token works too"
        );
        let wrong = headers(&[("host", "127.0.0.1"), ("authorization", "Bearer nope")]);
        assert!(a.check(remote, &wrong).is_err());
    }

    #[test]
    fn password_sessions_and_one_time_links() {
        let a = access(|c| c.http.admin_token = Some(Secret::from("correct horse battery")));
        assert_eq!(a.check_password("wrong"), Ok(false));
        assert_eq!(a.check_password("correct horse battery"), Ok(true));
        let id = a.new_session();
        let remote: SocketAddr = REMOTE.parse().unwrap();
        let cookie = format!("other=1; {SESSION_COOKIE}={id}");
        let h = headers(&[("host", "127.0.0.1"), ("cookie", &cookie)]);
        let p = a.check(remote, &h).unwrap();
        assert!(matches!(p, Principal::Session(_)));
        a.end_session(&p);
        assert_eq!(a.check(remote, &h), Err(Refusal::NoCredential));

        let token = a.issue_one_time_token();
        assert!(!a.redeem_one_time_token("guess"));
        assert!(a.redeem_one_time_token(&token));
        assert!(!a.redeem_one_time_token(&token), "single use");
    }

    #[test]
    fn failed_sign_ins_are_limited() {
        let a = access(|c| c.http.admin_token = Some(Secret::from("correct horse battery")));
        for _ in 0..MAX_FAILURES {
            assert_eq!(a.check_password("nope"), Ok(false));
        }
        assert!(a.check_password("correct horse battery").is_err());
    }

    #[test]
    fn browser_posts_need_json_or_the_csrf_token() {
        let a = access(|_| {});
        let p = Principal::Session("abc".into());
        let post = Method::POST;
        let form = headers(&[
            ("host", "127.0.0.1:8080"),
            ("content-type", "application/x-www-form-urlencoded"),
        ]);
        assert!(!a.may_change(&p, &post, &form, None));
        assert!(!a.may_change(&p, &post, &form, Some("forged")));
        assert!(a.may_change(&p, &post, &form, Some(&a.csrf_token(&p))));
        assert!(
            !a.may_change(
                &Principal::Session("other".into()),
                &post,
                &form,
                Some(&a.csrf_token(&p))
            ),
            "a token is bound to its session"
        );
        let json = headers(&[
            ("host", "127.0.0.1:8080"),
            ("content-type", "application/json"),
        ]);
        assert!(a.may_change(&p, &post, &json, None));
        let cross = headers(&[
            ("host", "127.0.0.1:8080"),
            ("origin", "https://evil.example"),
            ("content-type", "application/json"),
        ]);
        assert!(!a.may_change(&p, &post, &cross, None));
        assert!(a.may_change(&Principal::Bearer, &post, &form, None));
    }

    #[test]
    fn session_cookie_attributes() {
        let a = access(|c| c.http.public_url = Some("https://ts.example.com".parse().unwrap()));
        let c = a.session_cookie(&headers(&[("host", "ts.example.com")]), Some("x"));
        assert!(
            c.contains("HttpOnly") && c.contains("SameSite=Strict") && c.contains("Secure"),
            "{c}"
        );
        let local = a.session_cookie(&headers(&[("host", "127.0.0.1:8080")]), Some("x"));
        assert!(!local.contains("Secure"), "{local}");
    }
}
