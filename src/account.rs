//! `account`: setting up the Tesla account, as one service the web UI, the admin API and the CLI share —
//! sign-in (authorize URL, `state`, code exchange, scope report), partner registration and verification
//! in every region the account needs, and the virtual-key pairing link with its QR code.
//!
//! It composes `tesla::auth`, `tesla::fleet` and `keys`; it speaks no HTTP of its own and renders no
//! pages. Every outcome is a plain struct the callers print or serialize; nothing here ever holds a
//! token in a field that serializes.

use std::path::PathBuf;
use std::sync::Arc;

use serde::Serialize;
use url::Url;

use crate::clock::Clock;
use crate::config::{Region, TeslaConfig};
use crate::keys::CommandKey;
use crate::store::Store;
use crate::tesla::auth::claims::{describe_missing, ScopeInfo};
use crate::tesla::auth::oauth::{self, Callback, PendingLogins};
use crate::tesla::auth::partner::PartnerTokens;
use crate::tesla::auth::{AuthError, AuthSettings, Tokens};
use crate::tesla::fleet::partner::{public_key_url, PartnerClient, PartnerError, Target};
use crate::tesla::fleet::FleetClient;
use crate::tesla::region;

/// Why a set-up step failed. Display says what to do.
#[derive(Debug, Clone, thiserror::Error)]
pub enum SetupError {
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error(transparent)]
    Partner(#[from] PartnerError),
    #[error("no domain given: pass --domain (or \"domain\" in the request), or set [tesla] domain (TESLASYNC_TESLA__DOMAIN) to the host that serves your public key")]
    NoDomain,
    #[error(
        "{0:?} is not a bare host name such as teslasync.example.com (no scheme, port or path)"
    )]
    BadDomain(String),
    #[error("there is no command key at {0} yet: run `teslasync keys generate` (the daemon also creates one on first start)")]
    NoKey(String),
}

impl SetupError {
    /// 2 for what the user fixes in the configuration or the command line, 1 otherwise.
    pub fn exit_code(&self) -> i32 {
        match self {
            SetupError::NoDomain | SetupError::BadDomain(_) => 2,
            SetupError::Auth(
                AuthError::MissingClientId
                | AuthError::MissingClientSecret
                | AuthError::MissingRedirectUri,
            ) => 2,
            SetupError::Partner(PartnerError::Auth(
                AuthError::MissingClientId | AuthError::MissingClientSecret,
            )) => 2,
            _ => 1,
        }
    }
}

/// What a completed sign-in granted.
#[derive(Debug, Clone, Serialize)]
pub struct SignInReport {
    /// `ou_code` of the new token (`NA`, `EU`, `CN`).
    pub region: Option<String>,
    pub granted: Vec<String>,
    /// Requested scopes the user did not grant, each with what it disables.
    pub missing: Vec<ScopeInfo>,
}

impl SignInReport {
    /// One line for the CLI and the callback page.
    pub fn summary(&self) -> String {
        let mut text = format!(
            "Signed in to Tesla{}.",
            self.region
                .as_deref()
                .map(|r| format!(" (account region {r})"))
                .unwrap_or_default()
        );
        if !self.missing.is_empty() {
            let missing: Vec<&ScopeInfo> = self.missing.iter().collect();
            text.push_str(&format!(
                " Not granted — {}. Sign in again and tick these to fix it.",
                describe_missing(&missing)
            ));
        }
        text
    }
}

/// One region's registration outcome.
#[derive(Debug, Clone, Serialize)]
pub struct RegionOutcome {
    #[serde(serialize_with = "region_code")]
    pub region: Region,
    pub base_url: String,
    pub ok: bool,
    /// The key Tesla recorded (hex of the uncompressed point).
    pub public_key: Option<String>,
    pub matches_local: Option<bool>,
    pub error: Option<String>,
}

/// `partner register`: every region tried.
#[derive(Debug, Clone, Serialize)]
pub struct RegisterReport {
    pub domain: String,
    pub public_key_url: String,
    pub ok: bool,
    pub regions: Vec<RegionOutcome>,
}

/// `partner verify`: what Tesla recorded compared with our key (the seed's `verification` block).
#[derive(Debug, Clone, Serialize)]
pub struct Verification {
    pub domain: String,
    pub local_key_configured: bool,
    pub local_public_key: Option<String>,
    pub remote_key_found: bool,
    /// True only when Tesla has a key in every region checked and each equals ours.
    pub matches_local: bool,
    pub regions: Vec<RegionOutcome>,
}

/// The virtual-key pairing step.
#[derive(Debug, Clone, Serialize)]
pub struct Pairing {
    pub domain: String,
    pub link: String,
    /// The link as a QR code (inline SVG), made here: no external service sees the domain.
    pub qr_svg: String,
    pub public_key_url: String,
}

/// The set-up service for one daemon (or one CLI invocation).
pub struct Account {
    tesla: TeslaConfig,
    tokens: Arc<Tokens>,
    fleet: FleetClient,
    partner: PartnerClient,
    key: Option<CommandKey>,
    key_path: PathBuf,
    logins: PendingLogins,
    /// The last partner registration this process made (the set-up page shows it).
    last_registration: std::sync::Mutex<Option<RegisterReport>>,
}

impl Account {
    /// Builds the account's Tesla-side stack from the configuration — tokens from `store`, the Fleet
    /// client following the account's region across `hosts`, the partner client — the same way for the
    /// daemon and the CLI.
    pub fn connect(
        tesla: &TeslaConfig,
        store: Store,
        http: reqwest::Client,
        clock: Clock,
        hosts: region::FleetHosts,
        key: Option<CommandKey>,
        key_path: PathBuf,
    ) -> Result<Account, AuthError> {
        let settings = AuthSettings {
            auth_base_url: tesla.auth_base_url.clone(),
            client_id: tesla.client_id.clone(),
            client_secret: tesla.client_secret.clone(),
        };
        let tokens = Arc::new(Tokens::load(
            store.clone(),
            http.clone(),
            settings.clone(),
            clock.clone(),
        )?);
        let base = tesla
            .api_base_url
            .clone()
            .unwrap_or_else(|| hosts.get(tesla.region).clone());
        let fleet = FleetClient::new(http.clone(), base, tokens.clone()).follow_region(
            tesla.api_base_url.clone(),
            tesla.region == Region::Auto,
            store,
            hosts,
        );
        let partner = PartnerClient::new(
            http.clone(),
            Arc::new(PartnerTokens::new(http, settings, clock.clone())),
        );
        Ok(Account::new(
            tesla.clone(),
            tokens,
            fleet,
            partner,
            key,
            key_path,
            clock,
        ))
    }

    pub fn new(
        tesla: TeslaConfig,
        tokens: Arc<Tokens>,
        fleet: FleetClient,
        partner: PartnerClient,
        key: Option<CommandKey>,
        key_path: PathBuf,
        clock: Clock,
    ) -> Account {
        Account {
            tesla,
            tokens,
            fleet,
            partner,
            key,
            key_path,
            logins: PendingLogins::new(clock),
            last_registration: std::sync::Mutex::default(),
        }
    }

    pub fn tokens(&self) -> &Arc<Tokens> {
        &self.tokens
    }

    pub fn fleet(&self) -> &FleetClient {
        &self.fleet
    }

    pub fn key(&self) -> Option<&CommandKey> {
        self.key.as_ref()
    }

    pub fn config(&self) -> &TeslaConfig {
        &self.tesla
    }

    /// The redirect URI Tesla sends the browser back to (`tesla.redirect_uri`).
    pub fn redirect_uri(&self) -> Result<&str, SetupError> {
        Ok(self
            .tesla
            .redirect_uri
            .as_deref()
            .ok_or(AuthError::MissingRedirectUri)?)
    }

    /// Starts a sign-in: Tesla's authorize URL with a fresh `state`, which the caller binds to the
    /// browser (cookie) or keeps (CLI).
    pub fn start_login(&self) -> Result<(Url, String), SetupError> {
        let client_id = self
            .tesla
            .client_id
            .as_deref()
            .ok_or(AuthError::MissingClientId)?;
        if self.tesla.client_secret.is_none() {
            return Err(AuthError::MissingClientSecret.into());
        }
        let redirect_uri = self.redirect_uri()?;
        let state = self.logins.start();
        let url = oauth::authorize_url(
            &self.tesla.authorize_base(),
            client_id,
            redirect_uri,
            &state,
        );
        Ok((url, state))
    }

    /// Completes a sign-in: the `state` must be one this process issued and not used (it is consumed
    /// either way), then the code is exchanged and the tokens stored.
    pub async fn finish_login(&self, callback: &Callback) -> Result<SignInReport, SetupError> {
        if !self.logins.take(&callback.state) {
            return Err(AuthError::BadState.into());
        }
        let claims = self
            .tokens
            .sign_in_with_code(&callback.code, self.redirect_uri()?, self.tesla.region)
            .await?;
        Ok(SignInReport {
            region: claims.ou_code.clone(),
            granted: claims.scopes.clone(),
            missing: claims.missing_scopes().into_iter().copied().collect(),
        })
    }

    /// The domain to register: the one given, else `tesla.domain`.
    pub fn domain(&self, given: Option<&str>) -> Result<String, SetupError> {
        let domain = given
            .map(str::trim)
            .filter(|d| !d.is_empty())
            .map(str::to_string)
            .or_else(|| self.tesla.domain.clone())
            .ok_or(SetupError::NoDomain)?;
        check_domain(&domain)
    }

    /// The regions to register in. Without an override: the configured region, or NA and EU for
    /// `auto` (China is a separate developer portal). With `api_base_url`: the override, plus the host
    /// Tesla moved us to, if any.
    pub fn partner_targets(&self) -> Vec<Target> {
        let configured_region = if self.tesla.region == Region::Auto {
            Region::Na
        } else {
            self.tesla.region
        };
        let target = |base: Url| Target {
            region: region::region_of(&base).unwrap_or(configured_region),
            base,
        };
        match &self.tesla.api_base_url {
            Some(over) => {
                let mut targets = vec![target(over.clone())];
                let current = self.fleet.base_url();
                if &current != over {
                    targets.push(target(current));
                }
                targets
            }
            None if self.tesla.region == Region::Auto => [Region::Na, Region::Eu]
                .into_iter()
                .map(|r| target(r.fleet_api_base()))
                .collect(),
            None => vec![target(self.tesla.region.fleet_api_base())],
        }
    }

    fn local_key_hex(&self) -> Option<String> {
        self.key.as_ref().map(CommandKey::public_key_hex)
    }

    /// Registers `domain` in every region of [`Account::partner_targets`], comparing each recorded key
    /// with ours.
    pub async fn register_partner(&self, domain: &str) -> RegisterReport {
        let local = self.local_key_hex();
        let mut regions = Vec::new();
        for target in self.partner_targets() {
            let outcome = match self.partner.register(&target, domain).await {
                Ok(account) => {
                    let matches = account
                        .public_key
                        .as_ref()
                        .zip(local.as_ref())
                        .map(|(remote, ours)| remote.eq_ignore_ascii_case(ours));
                    RegionOutcome {
                        region: target.region,
                        base_url: target.base.to_string(),
                        ok: true,
                        public_key: account.public_key,
                        matches_local: matches,
                        error: None,
                    }
                }
                Err(e) => failed(&target, e),
            };
            regions.push(outcome);
        }
        let report = RegisterReport {
            domain: domain.to_string(),
            public_key_url: public_key_url(domain),
            ok: !regions.is_empty() && regions.iter().all(|r| r.ok),
            regions,
        };
        *self.last_registration.lock().expect("lock") = Some(report.clone());
        report
    }

    /// The last partner registration made by this process, if any.
    pub fn last_registration(&self) -> Option<RegisterReport> {
        self.last_registration.lock().expect("lock").clone()
    }

    /// Reads what Tesla recorded for `domain` in every region and compares it with our key.
    pub async fn verify_partner(&self, domain: &str) -> Verification {
        let local = self.local_key_hex();
        let mut regions = Vec::new();
        for target in self.partner_targets() {
            let outcome = match self.partner.public_key(&target, domain).await {
                Ok(remote) => RegionOutcome {
                    region: target.region,
                    base_url: target.base.to_string(),
                    ok: remote.is_some(),
                    matches_local: remote
                        .as_ref()
                        .zip(local.as_ref())
                        .map(|(r, l)| r.eq_ignore_ascii_case(l)),
                    public_key: remote,
                    error: None,
                },
                Err(e) => failed(&target, e),
            };
            regions.push(outcome);
        }
        let found = regions.iter().any(|r| r.public_key.is_some());
        Verification {
            domain: domain.to_string(),
            local_key_configured: local.is_some(),
            local_public_key: local,
            remote_key_found: found,
            matches_local: !regions.is_empty()
                && regions.iter().all(|r| r.matches_local == Some(true)),
            regions,
        }
    }

    /// The region the pairing link is for: the configured one, else the host we talk to.
    fn pairing_region(&self) -> Region {
        if self.tesla.region != Region::Auto {
            return self.tesla.region;
        }
        region::region_of(&self.fleet.base_url()).unwrap_or(Region::Na)
    }

    /// The `_ak` link and its QR code, once a domain is configured.
    pub fn pairing(&self) -> Option<Pairing> {
        let domain = self.tesla.domain.clone()?;
        let link = region::pairing_link(self.pairing_region(), &domain, None);
        Some(Pairing {
            qr_svg: qr_svg(&link),
            public_key_url: public_key_url(&domain),
            link,
            domain,
        })
    }

    /// Where the command key lives.
    pub fn key_path(&self) -> &PathBuf {
        &self.key_path
    }
}

fn region_code<S: serde::Serializer>(r: &Region, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(r.as_str())
}

fn failed(target: &Target, e: PartnerError) -> RegionOutcome {
    RegionOutcome {
        region: target.region,
        base_url: target.base.to_string(),
        ok: false,
        public_key: None,
        matches_local: None,
        error: Some(e.to_string()),
    }
}

/// `text` as a QR code in SVG, black on white, sized for a phone camera at arm's length.
pub fn qr_svg(text: &str) -> String {
    match qrcode::QrCode::new(text.as_bytes()) {
        Ok(code) => code
            .render::<qrcode::render::svg::Color>()
            .min_dimensions(200, 200)
            .quiet_zone(true)
            .build(),
        // Only absurdly long input fails; the link is still shown as text.
        Err(_) => String::new(),
    }
}

/// A host name as the partner registration takes it (lower case, labels of letters, digits and
/// `-`); the one check for `--domain`, the admin API's `{"domain"}` and `tesla.domain`.
pub fn check_domain(domain: &str) -> Result<String, SetupError> {
    let domain = domain.to_ascii_lowercase();
    let valid = domain.split('.').all(|l| {
        !l.is_empty() && l.len() <= 63 && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    });
    if valid {
        Ok(domain)
    } else {
        Err(SetupError::BadDomain(domain))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qr_code_is_local_svg() {
        let svg = qr_svg("https://tesla.com/_ak/ts.example.com");
        assert!(svg.contains("<svg"), "{svg}");
        assert!(!svg.contains("http://") || svg.contains("www.w3.org"));
        assert!(
            !svg.contains("ts.example.com"),
            "the data is encoded, not embedded"
        );
    }

    #[test]
    fn exit_codes() {
        assert_eq!(SetupError::NoDomain.exit_code(), 2);
        assert_eq!(
            SetupError::Auth(AuthError::MissingClientSecret).exit_code(),
            2
        );
        assert_eq!(SetupError::Auth(AuthError::BadState).exit_code(), 1);
    }
}
