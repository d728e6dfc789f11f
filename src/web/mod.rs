//! `web`: the HTTP server — status page and status JSON, and (in [`setup`]) Tesla sign-in, the public
//! key, and the admin API under `/api/v1/devtools/`.
//!
//! Everything here reveals the user's cars or changes the set-up, so it is protected ([`Access`]):
//! behind a reverse proxy that authenticates (`http.forward_auth_header` set), only requests carrying
//! that header are served; otherwise only loopback clients, or clients presenting `http.admin_token`.
//! The only public routes are Tesla's public key (`/.well-known/...`) and the OAuth callback.
//! Never renders a token or secret.

pub mod setup;

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;
use tokio::net::TcpListener;
use tokio::sync::{watch, Notify};
use tokio_util::sync::CancellationToken;
use tracing::warn;

use crate::account::Account;
use crate::config::{HttpConfig, IpNet};
use crate::ha::catalog::{self, BinaryClass, Entity};
use crate::secret::Secret;
use crate::tesla::fleet::FleetClient;
use crate::vehicle::hub::Hub;
use crate::vehicle::poller::PollStatus;

/// Who may see the admin pages.
#[derive(Clone, Debug)]
pub struct Access {
    forward_auth_header: Option<String>,
    /// Where the authenticating proxy connects from (loopback is always trusted).
    trusted_proxies: Vec<IpNet>,
    admin_token: Option<Secret>,
}

impl Access {
    pub fn from_config(http: &HttpConfig) -> Self {
        Access {
            forward_auth_header: http.forward_auth_header.clone(),
            trusted_proxies: http.trusted_proxies.clone(),
            admin_token: http.admin_token.clone(),
        }
    }

    fn allows(&self, peer: SocketAddr, headers: &HeaderMap) -> bool {
        if let Some(name) = &self.forward_auth_header {
            // The header only means something when the proxy that authenticated the user set it:
            // anyone else could send it too.
            let from_proxy = peer.ip().is_loopback()
                || self
                    .trusted_proxies
                    .iter()
                    .any(|net| net.contains(peer.ip()));
            return from_proxy && headers.get(name).is_some_and(|v| !v.is_empty());
        }
        if let Some(token) = &self.admin_token {
            let presented = headers
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "));
            // Secret's equality is constant-time, so the comparison leaks nothing through timing.
            if presented.is_some_and(|p| Secret::from(p) == *token) {
                return true;
            }
        }
        peer.ip().is_loopback()
    }
}

/// What the pages read.
#[derive(Clone)]
pub struct WebState {
    pub hub: Arc<Hub>,
    pub fleet: FleetClient,
    pub poll: watch::Receiver<PollStatus>,
    pub access: Access,
    /// Sign-in, partner registration, pairing.
    pub account: Arc<Account>,
    /// Asks `vehicle::setup` to re-read the virtual-key status.
    pub recheck: Arc<Notify>,
}

pub fn router(state: WebState) -> Router {
    let admin = Router::new()
        .route("/", get(status_page))
        .route("/api/v1/status", get(status_json))
        .merge(setup::admin_routes())
        .route_layer(middleware::from_fn_with_state(state.clone(), guard));
    admin.merge(setup::public_routes()).with_state(state)
}

/// Serves until `shutdown`.
pub async fn serve(listener: TcpListener, state: WebState, shutdown: CancellationToken) {
    let app = router(state).into_make_service_with_connect_info::<SocketAddr>();
    if let Err(e) = axum::serve(listener, app)
        .with_graceful_shutdown(shutdown.cancelled_owned())
        .await
    {
        warn!(error = %e, "web server stopped");
    }
}

async fn guard(
    State(state): State<WebState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
    next: Next,
) -> Response {
    if state.access.allows(peer, request.headers()) {
        next.run(request).await
    } else {
        (
            StatusCode::FORBIDDEN,
            "TeslaSync's admin pages are only served to this machine, to requests through the authenticating proxy (http.forward_auth_header), or with http.admin_token.\n",
        )
            .into_response()
    }
}

fn status(state: &WebState) -> serde_json::Value {
    let poll = state.poll.borrow().clone();
    let usage = state.fleet.usage();
    let auth = state.fleet.tokens().status().borrow().clone();
    let vehicles: Vec<_> = state
        .hub
        .snapshot()
        .into_iter()
        .map(|rec| {
            let entities: serde_json::Map<String, serde_json::Value> =
                catalog::for_car(&rec.signals)
                    .filter_map(|e| {
                        e.state_of(&rec.signals)
                            .filter(|s| s != catalog::UNKNOWN)
                            .map(|s| (e.id().to_string(), json!(s)))
                    })
                    .collect();
            json!({
                "vin": rec.info.vin,
                "name": rec.info.display_name,
                "model": rec.info.model(),
                "signing_required": rec.info.signing_required,
                "entities": entities,
            })
        })
        .collect();
    json!({
        "version": env!("CARGO_PKG_VERSION"),
        "auth": auth,
        "polling": {
            "cycles": poll.cycles,
            "last_cycle_at": poll.last_cycle_at.map(|t| humantime::format_rfc3339_seconds(t).to_string()),
            "next_cycle_at": poll.next_cycle_at.map(|t| humantime::format_rfc3339_seconds(t).to_string()),
            "last_error": poll.last_error,
        },
        "fleet_api_usage": { "data": usage.data, "commands": usage.commands, "wakes": usage.wakes, "free": usage.free, "usd": usage.usd() },
        "vehicles": vehicles,
    })
}

async fn status_json(State(state): State<WebState>) -> Json<serde_json::Value> {
    let mut s = status(&state);
    s["account"] = setup::account_json(&state).await;
    Json(s)
}

async fn status_page(State(state): State<WebState>) -> Html<String> {
    let s = status(&state);
    // Refresh only while nothing needs typing (the sign-in paste box).
    let settled = s["auth"]["state"] == "signed_in";
    let mut page = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\">{}\
         <title>TeslaSync</title><style>body{{font-family:system-ui,sans-serif;margin:2em;max-width:60em}}\
         table{{border-collapse:collapse;margin-bottom:2em}}td,th{{padding:.2em .8em;border-bottom:1px solid #ddd;text-align:left}}\
         .muted{{color:#666}}.bad{{color:#a00}}a.button{{padding:.4em 1em;background:#3e6ae1;color:#fff;border-radius:4px;text-decoration:none}}</style></head><body><h1>TeslaSync</h1>",
        if settled { "<meta http-equiv=\"refresh\" content=\"30\">" } else { "" }
    );
    let _ = write!(
        page,
        "<p class=\"muted\">Sign-in: {} · poll cycles: {} · last error: {} · Fleet API this run: {} data, {} commands, {} wakes (≈ ${:.3})</p>",
        escape(s["auth"]["state"].as_str().unwrap_or("?")),
        s["polling"]["cycles"],
        escape(s["polling"]["last_error"].as_str().unwrap_or("none")),
        s["fleet_api_usage"]["data"],
        s["fleet_api_usage"]["commands"],
        s["fleet_api_usage"]["wakes"],
        s["fleet_api_usage"]["usd"].as_f64().unwrap_or(0.0),
    );
    page.push_str(&setup::section(&state).await);
    let vehicles = s["vehicles"].as_array().cloned().unwrap_or_default();
    if vehicles.is_empty() {
        page.push_str("<p>No vehicles yet: waiting for the first poll.</p>");
    }
    for v in vehicles {
        let _ = write!(
            page,
            "<h2>{} <span class=\"muted\">{} · {}</span></h2><table><tr><th>Entity</th><th>Value</th></tr>",
            escape(v["name"].as_str().unwrap_or("")),
            escape(v["model"].as_str().unwrap_or("")),
            escape(v["vin"].as_str().unwrap_or("")),
        );
        for e in catalog::CATALOG.iter() {
            if let Some(value) = v["entities"].get(e.id()).and_then(|x| x.as_str()) {
                let unit = e.unit().map_or("", |u| u.as_str());
                let _ = write!(
                    page,
                    "<tr><td>{}</td><td>{} {}</td></tr>",
                    escape(e.name()),
                    escape(readable(e, value)),
                    escape(unit)
                );
            }
        }
        page.push_str("</table>");
    }
    page.push_str("</body></html>");
    Html(page)
}

/// How a person would say an entity's state: binary sensors speak their device class (a door is
/// "open", not "ON"), as Home Assistant's own UI does. MQTT keeps the plain `ON`/`OFF`.
fn readable<'a>(e: &Entity, state: &'a str) -> &'a str {
    let Entity::BinarySensor(b) = e else {
        return state;
    };
    let on = state == "ON";
    match (b.class, on) {
        (Some(BinaryClass::Door | BinaryClass::Window), true) => "open",
        (Some(BinaryClass::Door | BinaryClass::Window), false) => "closed",
        (Some(BinaryClass::Connectivity), true) => "connected",
        (Some(BinaryClass::Connectivity), false) => "disconnected",
        (Some(BinaryClass::Presence), true) => "present",
        (Some(BinaryClass::Presence), false) => "away",
        (Some(BinaryClass::Problem), true) => "problem",
        (Some(BinaryClass::Problem), false) => "ok",
        (_, true) => "on",
        (_, false) => "off",
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn access_rules() {
        let remote: SocketAddr = "192.0.2.7:5000".parse().unwrap();
        let proxy: SocketAddr = "172.30.32.2:5000".parse().unwrap();
        let local: SocketAddr = "127.0.0.1:5000".parse().unwrap();
        let access = |header: Option<&str>, proxies: &[&str], token: Option<&str>| Access {
            forward_auth_header: header.map(str::to_string),
            trusted_proxies: proxies.iter().map(|p| p.parse().unwrap()).collect(),
            admin_token: token.map(Secret::from),
        };
        let user = headers(&[("x-remote-user", "alice")]);

        let open = access(None, &[], None);
        assert!(open.allows(local, &HeaderMap::new()));
        assert!(!open.allows(remote, &HeaderMap::new()));

        let proxied = access(Some("x-remote-user"), &["172.30.32.0/24"], None);
        assert!(
            !proxied.allows(local, &HeaderMap::new()),
            "with forward auth even loopback needs the header"
        );
        assert!(proxied.allows(proxy, &user), "the proxy vouches for alice");
        assert!(proxied.allows(local, &user), "a proxy on this machine too");
        assert!(
            !proxied.allows(remote, &user),
            "anyone else can type the header: refused"
        );

        let token = access(None, &[], Some("s3cret-s3cret-s3cret"));
        assert!(token.allows(
            remote,
            &headers(&[("authorization", "Bearer s3cret-s3cret-s3cret")])
        ));
        assert!(!token.allows(remote, &headers(&[("authorization", "Bearer nope")])));
    }

    #[test]
    fn binary_states_read_like_their_device_class() {
        let find = |key| crate::ha::catalog::find(key).unwrap();
        assert_eq!(readable(find("vehicle_state_df"), "ON"), "open");
        assert_eq!(readable(find("vehicle_state_fd_window"), "OFF"), "closed");
        assert_eq!(readable(find("state"), "ON"), "connected");
        assert_eq!(
            readable(find("charge_state_battery_heater_on"), "OFF"),
            "off"
        );
        assert_eq!(
            readable(find("vehicle_state_sentry_mode"), "ON"),
            "ON",
            "switches keep their state"
        );
    }

    #[test]
    fn html_is_escaped() {
        assert_eq!(
            escape("<b>\"x\" & y</b>"),
            "&lt;b&gt;&quot;x&quot; &amp; y&lt;/b&gt;"
        );
    }
}
