//! `web::wizard`: the set-up page (`GET /setup`, actions by `POST /setup`), one step after another:
//! developer application → sign in → domain and key hosting → partner registration → pairing → done.
//! Each step says whether it is complete and, when it is not, what to do. The work is done by
//! [`crate::account`]; this module checks, explains and renders.
//!
//! The key-hosting check fetches `https://<domain>/.well-known/...` the way Tesla will — from
//! outside, without following redirects — and names what is wrong (DNS or port, TLS, a redirect,
//! the proxy not forwarding the path, a different key).

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::Response;
use axum::routing::get;
use axum::{Extension, Router};
use p256::pkcs8::DecodePublicKey;
use url::Url;

use super::{escape, form_field, page, Principal, WebState};
use crate::tesla::auth::oauth;
use crate::tesla::auth::AuthStatus;
use crate::tesla::fleet::partner::{public_key_url, WELL_KNOWN_PATH};
use crate::vehicle::signal::{Signal, Value as SignalValue};

/// What the set-up page remembers between its actions.
pub struct Wizard {
    http: reqwest::Client,
    /// Where the key-hosting check fetches instead of `https://<domain>` (the demo, whose domain
    /// only exists inside the simulator).
    key_base_override: Option<Url>,
    notes: Mutex<Notes>,
    /// Sign-ins finished (either way) since start: the page compares it with the count it was
    /// rendered with to notice a sign-in completed in another tab or on another origin.
    sign_ins: AtomicU64,
}

#[derive(Default)]
struct Notes {
    hosting: Option<Hosting>,
    /// The outcome of the last action, shown once.
    message: Option<(bool, String)>,
}

/// What the public sees at the key URL.
#[derive(Debug, Clone, PartialEq)]
pub enum Hosting {
    Ok,
    Unreachable(String),
    Redirect(String),
    Status(u16),
    NotAKey,
    OtherKey,
}

impl Hosting {
    fn fix(&self, url: &str) -> String {
        match self {
            Hosting::Ok => format!("{url} serves TeslaSync's key."),
            Hosting::Unreachable(e) => format!(
                "{url} cannot be reached ({e}). Check that the domain's DNS points at your \
                 reverse proxy, that port 443 is open to the internet and that the certificate is \
                 valid for the domain."
            ),
            Hosting::Redirect(to) => format!(
                "{url} redirects (to {to}); Tesla does not follow redirects. Serve the path \
                 directly, without forcing another host or a trailing slash."
            ),
            Hosting::Status(s) => format!(
                "{url} answers HTTP {s}. Forward {WELL_KNOWN_PATH} on the proxy to TeslaSync's \
                 web port."
            ),
            Hosting::NotAKey => format!(
                "{url} answers, but not with a P-256 public key in PEM form: the proxy sends it \
                 somewhere else."
            ),
            Hosting::OtherKey => format!(
                "{url} serves a different public key than the one TeslaSync signs with. Serve \
                 TeslaSync's own key there (forward the path to TeslaSync rather than copying a \
                 file), then register again."
            ),
        }
    }
}

impl Wizard {
    pub fn new(key_base_override: Option<Url>) -> Wizard {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(10))
            .build()
            .expect("a plain HTTP client builds");
        Wizard {
            http,
            key_base_override,
            notes: Mutex::default(),
            sign_ins: AtomicU64::new(0),
        }
    }

    /// Fetches the key URL for `domain` as Tesla would and compares it with `ours` (PEM).
    pub async fn check_hosting(&self, domain: &str, ours: &str) -> Hosting {
        let url = match &self.key_base_override {
            Some(base) => base
                .join(WELL_KNOWN_PATH.trim_start_matches('/'))
                .map(|u| u.to_string())
                .unwrap_or_else(|_| public_key_url(domain)),
            None => public_key_url(domain),
        };
        let resp = match self.http.get(&url).send().await {
            Ok(r) => r,
            Err(e) => return Hosting::Unreachable(without_url(&e)),
        };
        let status = resp.status();
        if status.is_redirection() {
            let to = resp
                .headers()
                .get(header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("?")
                .to_owned();
            return Hosting::Redirect(to);
        }
        if !status.is_success() {
            return Hosting::Status(status.as_u16());
        }
        let body = resp.text().await.unwrap_or_default();
        match (
            p256::PublicKey::from_public_key_pem(body.trim()),
            p256::PublicKey::from_public_key_pem(ours.trim()),
        ) {
            (Ok(theirs), Ok(mine)) if theirs == mine => Hosting::Ok,
            (Ok(_), _) => Hosting::OtherKey,
            (Err(_), _) => Hosting::NotAKey,
        }
    }

    fn note(&self, ok: bool, message: impl Into<String>) {
        self.notes.lock().expect("lock").message = Some((ok, message.into()));
    }

    /// A sign-in finished (the callback, or a pasted address): the set-up page shows `message` and
    /// any copy of it still waiting for Tesla reloads.
    pub fn sign_in_finished(&self, ok: bool, message: impl Into<String>) {
        self.note(ok, message);
        self.sign_ins.fetch_add(1, Ordering::SeqCst);
    }

    pub fn sign_ins_finished(&self) -> u64 {
        self.sign_ins.load(Ordering::SeqCst)
    }
}

/// While Tesla's page is open (in this tab or another), asks every 2 s whether a sign-in finished
/// and then reloads the set-up page, which shows the outcome. `{finished}` is the count the page was
/// rendered with; the URL is relative, so it works under an ingress prefix.
const SIGN_IN_WATCH: &str = "<script>(function(){var n={finished},t=null;\
function check(){fetch('api/v1/auth/status',{cache:'no-store'}).then(function(r){return r.json()})\
.then(function(s){if(s.finished!==n){clearInterval(t);location.reload()}}).catch(function(){})}\
document.getElementById('tesla-sign-in').addEventListener('click',function(){if(!t)t=setInterval(check,2000)});\
document.addEventListener('visibilitychange',function(){if(!document.hidden)check()})})();</script>";

/// reqwest's error text names the URL again; the page already shows it.
fn without_url(e: &reqwest::Error) -> String {
    let mut source: &dyn std::error::Error = e;
    while let Some(next) = source.source() {
        source = next;
    }
    source.to_string()
}

pub fn routes() -> Router<WebState> {
    Router::new().route("/setup", get(show).post(act))
}

/// A step's heading with its state.
fn step(out: &mut String, n: u8, title: &str, done: bool, anchor: &str) {
    let _ = write!(
        out,
        "<li class=\"card\" id=\"{anchor}\"><h2>{n}. {t} <span class=\"pill {c}\">{s}</span></h2>",
        t = escape(title),
        c = if done { "ok" } else { "bad" },
        s = if done { "complete" } else { "to do" },
    );
}

/// A form button that posts `action` to the set-up page with this principal's CSRF token.
fn button(
    state: &WebState,
    principal: &Principal,
    action: &str,
    label: &str,
    plain: bool,
) -> String {
    format!(
        "<form method=\"post\" action=\"setup\" style=\"display:inline\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{}\"><input type=\"hidden\" name=\"action\" value=\"{action}\">\
         <button type=\"submit\"{}>{}</button></form>",
        state.access.csrf_token(principal),
        if plain { " class=\"plain\"" } else { "" },
        escape(label)
    )
}

/// `GET /setup`.
async fn show(
    State(state): State<WebState>,
    Extension(principal): Extension<Principal>,
) -> Response {
    let body = render(&state, &principal).await;
    page::response(StatusCode::OK, "Set-up", "./", &body)
}

async fn render(state: &WebState, principal: &Principal) -> String {
    let account = &state.account;
    let cfg = account.config();
    let mut out = String::new();
    if let Some((ok, m)) = state.wizard.notes.lock().expect("lock").message.take() {
        let _ = write!(
            out,
            "<p class=\"card {}\">{}</p>",
            if ok { "ok" } else { "bad" },
            escape(&m)
        );
    }
    out.push_str("<ol class=\"steps\" style=\"list-style:none;padding:0\">");

    // 1. Developer application.
    let app_done =
        cfg.client_id.is_some() && cfg.client_secret.is_some() && cfg.redirect_uri.is_some();
    step(&mut out, 1, "Developer application", app_done, "app");
    if app_done {
        let _ = write!(
            out,
            "<p>Client id <code>{}</code>, client secret set, redirect URI <code>{}</code>.</p>",
            escape(cfg.client_id.as_deref().unwrap_or_default()),
            escape(cfg.redirect_uri.as_deref().unwrap_or_default())
        );
    } else {
        out.push_str(
            "<p>Create an application at <a href=\"https://developer.tesla.com\">developer.tesla.com</a> \
             (all vehicle scopes; allowed origin <code>https://&lt;your domain&gt;</code>; allowed redirect URI \
             <code>https://&lt;your domain&gt;/api/v1/auth/callback</code>). Then set:</p><ul>",
        );
        for (set, key) in [
            (cfg.client_id.is_some(), "tesla.client_id"),
            (cfg.client_secret.is_some(), "tesla.client_secret"),
            (cfg.redirect_uri.is_some(), "tesla.redirect_uri"),
        ] {
            if !set {
                let _ = write!(out, "<li><code>{key}</code> is not set</li>");
            }
        }
        out.push_str("</ul>");
    }
    out.push_str("</li>");

    // 2. Sign in.
    let status = account.tokens().status().borrow().clone();
    let claims = account.tokens().claims().await;
    let missing = claims
        .as_ref()
        .map(|c| c.missing_scopes())
        .unwrap_or_default();
    let signed_in = matches!(status, AuthStatus::SignedIn { .. });
    step(
        &mut out,
        2,
        "Sign in to Tesla",
        signed_in && missing.is_empty(),
        "signin",
    );
    match &status {
        AuthStatus::SignedIn { .. } => {
            let _ = write!(
                out,
                "<p>Signed in{}. {}</p>",
                claims
                    .as_ref()
                    .and_then(|c| c.ou_code.as_deref())
                    .map(|r| format!(" (account region {})", escape(r)))
                    .unwrap_or_default(),
                button(state, principal, "tesla_logout", "Sign out of Tesla", true)
            );
        }
        AuthStatus::ReauthRequired { reason } => {
            let _ = write!(
                out,
                "<p class=\"bad\">Tesla needs you to sign in again ({}). Polling is paused until you do; no restart needed.</p>",
                escape(reason)
            );
        }
        AuthStatus::SignedOut => out.push_str("<p>Not signed in to Tesla yet.</p>"),
    }
    if !missing.is_empty() {
        out.push_str("<p class=\"bad\">Permissions not granted:</p><ul>");
        for m in &missing {
            let _ = write!(
                out,
                "<li><b>{}</b>: without it, {}</li>",
                escape(m.name),
                escape(m.without)
            );
        }
        out.push_str("</ul><p>Sign in again and tick them to fix this.</p>");
    }
    if !signed_in || !missing.is_empty() {
        // Inside Home Assistant's panel (an iframe) Tesla's page cannot be shown: open a tab. Tesla
        // then redirects that tab to the public callback, and this page notices (SIGN_IN_WATCH).
        let ingress = *principal == Principal::Ingress;
        let _ = write!(
            out,
            "<p><a class=\"button\" id=\"tesla-sign-in\" href=\"api/v1/auth/login\"{}>Sign in with Tesla</a></p>{}\
             <p class=\"muted\">Tesla sends you back to <code>{}</code>; this page updates by itself when the sign-in is done.</p>\
             <details><summary>Tesla's page did not come back to TeslaSync?</summary>\
             <form method=\"post\" action=\"setup\"><input type=\"hidden\" name=\"csrf\" value=\"{}\">\
             <input type=\"hidden\" name=\"action\" value=\"paste\">\
             <p class=\"muted\">Only when the redirect URI does not reach TeslaSync: paste the address of the page Tesla sent you to:</p>\
             <input name=\"url\" style=\"width:100%\" placeholder=\"https://…/api/v1/auth/callback?code=…\">\
             <p><button type=\"submit\">Complete sign-in</button></p></form></details>",
            if ingress {
                " target=\"_blank\" rel=\"noopener\""
            } else {
                ""
            },
            SIGN_IN_WATCH.replace(
                "{finished}",
                &state.wizard.sign_ins_finished().to_string()
            ),
            escape(cfg.redirect_uri.as_deref().unwrap_or("the redirect URI")),
            state.access.csrf_token(principal)
        );
    }
    out.push_str("</li>");

    // 3. Domain and key hosting.
    let registration = account.last_registration();
    // A successful registration proves Tesla fetched the key; an explicit check is newer news.
    let notes_hosting = state
        .wizard
        .notes
        .lock()
        .expect("lock")
        .hosting
        .clone()
        .or_else(|| registration.as_ref().filter(|r| r.ok).map(|_| Hosting::Ok));
    let hosting_done = notes_hosting == Some(Hosting::Ok);
    step(&mut out, 3, "Domain and public key", hosting_done, "domain");
    match &cfg.domain {
        None => out.push_str(
            "<p>Set <code>tesla.domain</code> to the host name your reverse proxy serves publicly \
             over https (the application's allowed origin). Tesla fetches TeslaSync's public key \
             from it.</p>",
        ),
        Some(domain) => {
            let url = public_key_url(domain);
            match &notes_hosting {
                Some(h) => {
                    let _ = write!(
                        out,
                        "<p class=\"{}\">{}</p>",
                        if hosting_done { "ok" } else { "bad" },
                        escape(&h.fix(&url))
                    );
                }
                None => {
                    let _ = write!(
                        out,
                        "<p>Tesla will fetch <code>{}</code>. Check that it serves TeslaSync's key.</p>",
                        escape(&url)
                    );
                }
            }
            out.push_str(&button(
                state,
                principal,
                "check_key",
                "Check now",
                hosting_done,
            ));
        }
    }
    if let Some(k) = account.key() {
        let _ = write!(
            out,
            "<p class=\"muted\">Key fingerprint <code>{}</code> (<a href=\"{}\">public key</a>).</p>",
            escape(&k.fingerprint()),
            WELL_KNOWN_PATH.trim_start_matches('/')
        );
    }
    out.push_str("</li>");

    // 4. Partner registration.
    let report = registration;
    let registered = report.as_ref().is_some_and(|r| r.ok);
    step(&mut out, 4, "Register with Tesla", registered, "partner");
    match &report {
        Some(r) => {
            out.push_str("<ul>");
            for region in &r.regions {
                let _ = write!(
                    out,
                    "<li class=\"{}\">{}: {}</li>",
                    if region.ok { "ok" } else { "bad" },
                    escape(&region.region.to_string()),
                    escape(&match (&region.error, region.matches_local) {
                        (Some(e), _) => e.clone(),
                        (None, Some(false)) => "registered, but Tesla holds another key".to_owned(),
                        (None, _) => "registered with TeslaSync's key".to_owned(),
                    })
                );
            }
            out.push_str("</ul>");
        }
        None => out.push_str(
            "<p>Registers the domain with Tesla in every region your account needs (safe to repeat).</p>",
        ),
    }
    if cfg.domain.is_some() {
        out.push_str(&button(
            state,
            principal,
            "register",
            "Register with Tesla",
            registered,
        ));
    }
    out.push_str("</li>");

    // 5. Pairing.
    let cars = state.hub.snapshot();
    let paired = |car: &crate::vehicle::hub::VehicleRecord| {
        car.signals
            .get(&Signal::KeyPaired)
            .and_then(SignalValue::as_bool)
    };
    let all_paired = !cars.is_empty()
        && cars
            .iter()
            .all(|c| paired(c) == Some(true) || !c.info.signing_required);
    step(&mut out, 5, "Pair the virtual key", all_paired, "pair");
    match account.pairing() {
        None => out.push_str("<p>Needs the domain (step 3).</p>"),
        Some(p) => {
            let _ = write!(
                out,
                "<p>Open <a href=\"{link}\">{link}</a> on the phone with the Tesla app (or scan the code), \
                 select each car and approve. Owner accounts only; the car must be awake and online.</p>\
                 <div class=\"qr\">{qr}</div>",
                link = escape(&p.link),
                qr = p.qr_svg,
            );
        }
    }
    if !cars.is_empty() {
        out.push_str("<table>");
        for car in &cars {
            let (class, text) = match paired(car) {
                Some(true) => ("ok", "key paired"),
                Some(false) if !car.info.signing_required => {
                    ("muted", "not paired (takes REST commands)")
                }
                Some(false) => ("bad", "not paired: approve the link above for this car"),
                None => ("muted", "not checked yet"),
            };
            let _ = write!(
                out,
                "<tr><td>{} <span class=\"muted\">{}</span></td><td class=\"{class}\">{text}</td></tr>",
                escape(&car.info.display_name),
                escape(&car.info.vin),
            );
        }
        out.push_str("</table><p>");
        out.push_str(&button(state, principal, "recheck", "Re-check", true));
        out.push_str("</p>");
    }
    out.push_str("</li>");

    // 6. Done.
    let done = app_done && signed_in && missing.is_empty() && all_paired;
    step(&mut out, 6, "Done", done, "done");
    if done {
        out.push_str("<p>Everything is set up. Your cars are in Home Assistant under the MQTT integration. <a href=\"./\">Status</a></p>");
    } else {
        out.push_str("<p class=\"muted\">Finish the steps above; each says what is missing.</p>");
    }
    out.push_str("</li></ol>");
    out
}

/// `POST /setup` (form: `action`, plus `url` for `paste`): runs one step, then shows the page again.
async fn act(State(state): State<WebState>, body: Bytes) -> Response {
    let action = form_field(&body, "action").unwrap_or_default();
    let wizard = &state.wizard;
    let account = &state.account;
    match action.as_str() {
        "check_key" => {
            if let (Some(domain), Some(key)) = (account.config().domain.clone(), account.key()) {
                let h = wizard.check_hosting(&domain, &key.public_key_pem()).await;
                wizard.notes.lock().expect("lock").hosting = Some(h);
            }
        }
        "register" => match account.domain(None) {
            Ok(domain) => {
                let report = account.register_partner(&domain).await;
                if report.ok {
                    // Registration proves Tesla fetched the key.
                    wizard.notes.lock().expect("lock").hosting = Some(Hosting::Ok);
                    state.recheck.notify_one();
                }
            }
            Err(e) => wizard.note(false, e.to_string()),
        },
        "recheck" => {
            let vins = state.hub.vins();
            match account.fleet().fleet_status(&vins).await {
                Ok(status) => {
                    let now = std::time::SystemTime::now();
                    for update in crate::vehicle::setup::updates(&status, &state.hub, now) {
                        state.hub.apply(update);
                    }
                    wizard.note(true, "Pairing re-checked with Tesla.");
                }
                Err(e) => wizard.note(false, e.to_string()),
            }
        }
        "tesla_logout" => match account.tokens().sign_out().await {
            Ok(()) => wizard.note(true, "Signed out of Tesla."),
            Err(e) => wizard.note(false, e.to_string()),
        },
        "paste" => {
            let pasted = form_field(&body, "url").unwrap_or_default();
            let result = match oauth::callback_from_pasted(&pasted) {
                Ok(cb) => account
                    .finish_login(&cb)
                    .await
                    .map(|r| r.summary())
                    .map_err(|e| e.to_string()),
                Err(e) => Err(e.to_string()),
            };
            match result {
                Ok(m) => wizard.sign_in_finished(true, m),
                Err(m) => wizard.sign_in_finished(false, m),
            }
        }
        other => wizard.note(false, format!("unknown action {other:?}")),
    }
    super::redirect(StatusCode::SEE_OTHER, "setup", None)
}
