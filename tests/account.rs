//! Tesla account set-up end to end: browser sign-in through the simulated Tesla, re-authentication after
//! Tesla revokes the refresh token, following Tesla to the account's region, partner registration (with
//! the simulator fetching the daemon's `.well-known` key), and who may use the admin API.

mod common;

use teslasync::daemon::StartOptions;
use teslasync::tesla::region::FleetHosts;

use std::time::Duration;

use common::*;
use serde_json::json;
use teslasync::clock::Clock;
use teslasync::sim::{SimConfig, SimRegion, SCOPES};

const MODEL_Y: &str = "7SAYGDEE1NA000001";
const MODEL_S: &str = "5YJSA1E2XJF000002";
const DOMAIN: &str = "teslasync.test";

/// Configuration for a daemon whose redirect URI points at its own (already bound) web listener.
async fn with_redirect(sim: &SimServer) -> (Setup, tokio::net::TcpListener, url::Url) {
    let mut setup = Setup::new(sim);
    let (listener, web) = bind_http().await;
    setup.cfg.tesla.redirect_uri = Some(format!("{web}api/v1/auth/callback"));
    setup.cfg.tesla.domain = Some(DOMAIN.to_string());
    (setup, listener, web)
}

async fn status(browser: &Browser, web: &url::Url) -> serde_json::Value {
    browser
        .get(web.join("api/v1/status").unwrap().as_str())
        .await
        .json()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_sign_in_stores_tokens_and_cars_appear_and_forged_callbacks_store_nothing() {
    let sim = SimServer::start(SimConfig::default()).await;
    let (setup, listener, web) = with_redirect(&sim).await;
    let probe = setup.probe(&[format!("{}/#", setup.base())]).await;
    let running = Running::start_on(&setup.cfg, Clock::system(), listener).await;
    let browser = Browser::new();
    assert_eq!(status(&browser, &web).await["auth"]["state"], "signed_out");

    // The login link carries everything Tesla needs, with a fresh state.
    let login = browser
        .get(web.join("api/v1/auth/login").unwrap().as_str())
        .await;
    assert_eq!(login.status, 302);
    let authorize = login.location();
    let q: std::collections::HashMap<_, _> = authorize.query_pairs().into_owned().collect();
    assert_eq!(authorize.path(), "/oauth2/v3/authorize");
    assert_eq!(q["response_type"], "code");
    assert_eq!(q["client_id"], "teslasync-demo-client");
    assert_eq!(q["redirect_uri"], format!("{web}api/v1/auth/callback"));
    assert_eq!(q["scope"], SCOPES.join(" "));
    assert_eq!(q["prompt_missing_scopes"], "true");
    assert_eq!(q["show_keypair_step"], "true");
    assert_eq!(q["state"].len(), 64, "256 random bits");

    let back = browser
        .post_form(authorize.as_str(), &teslasync::sim::approve_form(&SCOPES))
        .await;
    let callback = back.location();
    let code = callback
        .query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .to_string();

    // A forged state and a missing state: refused, and nothing is exchanged or stored.
    let forged = browser
        .get(&format!(
            "{web}api/v1/auth/callback?code={code}&state=forged"
        ))
        .await;
    assert_eq!(forged.status, 400, "{}", forged.body);
    let missing = browser
        .get(&format!("{web}api/v1/auth/callback?code={code}"))
        .await;
    assert_eq!(missing.status, 400);
    assert_eq!(status(&browser, &web).await["auth"]["state"], "signed_out");
    assert_eq!(
        sim.sim.billing().token_refreshes,
        0,
        "no code was sent to Tesla"
    );
    // The state is still pending, and it alone completes the sign-in: Tesla's redirect reaches the
    // public address, where the browser (often another tab, origin or device than the one that
    // started) has no session or cookie of ours.
    let public_origin = Browser::new();
    let done = public_origin.get(callback.as_str()).await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert!(done.body.contains("Signed in"), "{}", done.body);
    // Single use: the same callback again is refused, from any browser.
    let replay = browser.get(callback.as_str()).await;
    assert_eq!(replay.status, 400);
    let replay = public_origin.get(callback.as_str()).await;
    assert_eq!(replay.status, 400);

    // Signed in without a restart: the poller wakes and the cars appear on MQTT.
    for vin in [MODEL_Y, MODEL_S] {
        probe
            .wait_text(&format!("{}/{vin}/availability", setup.base()), "online")
            .await;
        probe
            .wait_text(&format!("{}/{vin}/reauth_required", setup.base()), "OFF")
            .await;
    }
    let s = status(&browser, &web).await;
    assert_eq!(s["auth"]["state"], "signed_in");
    assert_eq!(s["account"]["account_region"], "NA");
    assert_eq!(s["account"]["missing_scopes"], json!([]));
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_scopes_are_named_with_what_they_disable() {
    let sim = SimServer::start(SimConfig::default()).await;
    let (setup, listener, web) = with_redirect(&sim).await;
    let running = Running::start_on(&setup.cfg, Clock::system(), listener).await;
    let browser = Browser::new();
    let granted = [
        "openid",
        "offline_access",
        "vehicle_device_data",
        "vehicle_cmds",
    ];
    let callback = browser.tesla_sign_in(&web, &granted).await;
    let done = browser.get(callback.as_str()).await;
    assert_eq!(done.status, 200);
    assert!(done.body.contains("vehicle_location"), "{}", done.body);
    assert!(done.body.contains("device tracker"), "{}", done.body);
    let s = status(&browser, &web).await;
    let missing: Vec<_> = s["account"]["missing_scopes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["scope"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(missing, ["vehicle_location", "vehicle_charging_cmds"]);
    let page = browser.get(web.join("setup").unwrap().as_str()).await;
    assert!(page.body.contains("Permissions not granted"));
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_refresh_token_raises_reauth_required_once_and_a_new_sign_in_clears_it() {
    let clock = manual_clock();
    let sim = SimServer::start(SimConfig {
        clock: clock.clone(),
        ..SimConfig::default()
    })
    .await;
    let (setup, listener, web) = with_redirect(&sim).await;
    setup.sign_in(&sim);
    let probe = setup.probe(&[format!("{}/#", setup.base())]).await;
    let running = Running::start_on(&setup.cfg, clock.clone(), listener).await;
    let reauth = format!("{}/{MODEL_S}/reauth_required", setup.base());
    probe.wait_text(&reauth, "OFF").await;
    let mut cycles = running.wait_cycles_after(0).await;

    // The user withdraws consent at Tesla.
    sim.sim.revoke_tokens();
    clock.advance(Duration::from_secs(60));
    probe.wait_text(&reauth, "ON").await;
    probe
        .wait_text(&format!("{}/{MODEL_Y}/reauth_required", setup.base()), "ON")
        .await;
    let event = probe
        .wait(&format!("{}/event", setup.base()), |m| {
            m.json()["kind"] == "reauth_required"
        })
        .await;
    assert!(event.json()["message"]
        .as_str()
        .unwrap()
        .contains("sign in"));
    cycles = running.wait_cycles_after(cycles).await;
    let before = sim.sim.billing();
    // An hour later: no token request and no Fleet API request at all — no loop.
    for _ in 0..60 {
        clock.advance(Duration::from_secs(60));
    }
    cycles = running.wait_cycles_after(cycles).await;
    let after = sim.sim.billing();
    assert_eq!(after.token_refreshes, before.token_refreshes);
    assert_eq!(after.free, before.free);
    let s = status(&Browser::new(), &web).await;
    assert_eq!(s["auth"]["state"], "reauth_required");
    let page = Browser::new().get(web.as_str()).await;
    assert!(page.body.contains("sign in again"), "{}", page.body);

    // A new sign-in clears it and data flows again, without a restart.
    let done = Browser::new().sign_in(&web).await;
    assert_eq!(done.status, 200, "{}", done.body);
    probe.wait_text(&reauth, "OFF").await;
    let mut poll = running.daemon().poll_status();
    // A *completed* cycle without error (the error clears as soon as the list read succeeds).
    tokio::time::timeout(
        TIMEOUT,
        poll.wait_for(|s| s.cycles > cycles && s.last_error.is_none()),
    )
    .await
    .expect("a successful poll cycle after the new sign-in")
    .unwrap();
    assert!(
        sim.sim.billing().free > after.free,
        "the vehicle list is read again"
    );
    assert!(running.daemon().poll_status().borrow().cycles > cycles);
    assert_eq!(running.daemon().poll_status().borrow().last_error, None);
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_eu_account_reached_through_the_na_host_follows_the_421_and_remembers_it() {
    let sim = SimServer::start_regions(SimConfig {
        region: SimRegion::Eu,
        ..SimConfig::default()
    })
    .await;
    let eu = sim.eu_url.clone().unwrap();
    let setup = Setup::new(&sim);
    assert_eq!(
        setup.cfg.tesla.api_base_url.as_ref(),
        Some(&sim.url),
        "starts on NA"
    );
    setup.sign_in(&sim);
    let probe = setup.probe(&[format!("{}/#", setup.base())]).await;
    let running = Running::start(&setup.cfg, Clock::system()).await;
    probe
        .wait_text(
            &format!("{}/{MODEL_Y}/availability", setup.base()),
            "online",
        )
        .await;
    assert_eq!(sim.sim.misdirected(), 1, "one 421, then the EU host");
    assert_eq!(running.daemon().account().fleet().base_url(), eu);
    assert_eq!(running.daemon().poll_status().borrow().last_error, None);
    let region = Browser::new()
        .get(
            running
                .web()
                .join("api/v1/devtools/user/region")
                .unwrap()
                .as_str(),
        )
        .await
        .json();
    assert_eq!(region["region"], "eu");
    running.stop().await;

    // The followed host is remembered: a restart goes straight to EU.
    let running = Running::start(&setup.cfg, Clock::system()).await;
    running.wait_cycles_after(0).await;
    assert_eq!(running.daemon().poll_status().borrow().last_error, None);
    assert_eq!(sim.sim.misdirected(), 1, "no second 421 after a restart");
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_421_naming_a_host_that_is_neither_teslas_nor_the_configured_one_is_not_followed() {
    let sim = SimServer::start_regions(SimConfig {
        region: SimRegion::Eu,
        ..SimConfig::default()
    })
    .await;
    // The EU listener announced under another host name than the configured 127.0.0.1: to the daemon
    // that is a foreign host, and the bearer token must not go there.
    let eu = sim.eu_url.clone().unwrap();
    let foreign = format!("http://localhost:{}", eu.port().unwrap());
    sim.sim.set_region_url(SimRegion::Eu, &foreign);
    let setup = Setup::new(&sim);
    setup.sign_in(&sim);
    let running = Running::start(&setup.cfg, Clock::system()).await;
    running.wait_cycles_after(0).await;
    let error = running
        .daemon()
        .poll_status()
        .borrow()
        .last_error
        .clone()
        .expect("the cycle failed");
    assert!(
        error.contains("another region") && error.contains("tesla.region")
            || error.contains("[tesla] region"),
        "{error}"
    );
    assert_eq!(running.daemon().account().fleet().base_url(), sim.url);
    assert_eq!(
        sim.sim.misdirected(),
        1,
        "asked once, not followed, no loop"
    );
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partner_registration_fetches_our_key_explains_412_and_verifies() {
    let sim = SimServer::start(SimConfig::default()).await;
    let (setup, listener, web) = with_redirect(&sim).await;
    setup.sign_in(&sim);
    let probe = setup.probe(&[format!("{}/#", setup.base())]).await;
    let running = Running::start_on(&setup.cfg, Clock::system(), listener).await;
    let browser = Browser::new();
    let register = web.join("api/v1/devtools/register-partner").unwrap();
    let ours = running.daemon().account().key().unwrap().public_key_hex();
    // The first poll cycle's user-token refresh is done before counting partner tokens.
    running.wait_cycles_after(0).await;
    let token_calls = sim.sim.billing().token_refreshes;

    // The public key is served without authentication at the well-known path.
    let pem = Browser::new()
        .get(
            web.join(".well-known/appspecific/com.tesla.3p.public-key.pem")
                .unwrap()
                .as_str(),
        )
        .await;
    assert_eq!(pem.status, 200);
    assert!(pem.body.starts_with("-----BEGIN PUBLIC KEY-----"));

    // Tesla cannot reach the domain: 412, explained.
    let failed = browser.post_json(register.as_str(), json!({})).await;
    assert_eq!(failed.status, 502, "{}", failed.body);
    let report = failed.json();
    assert_eq!(report["ok"], false);
    let error = report["regions"][0]["error"].as_str().unwrap();
    assert!(
        error
            .contains("https://teslasync.test/.well-known/appspecific/com.tesla.3p.public-key.pem")
            && error.contains("412")
            && error.contains("reverse proxy"),
        "{error}"
    );

    // The domain now reaches the daemon: registered, and Tesla recorded our key.
    sim.sim.serve_domain(DOMAIN, web.as_str());
    let ok = browser.post_json(register.as_str(), json!({})).await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    let report = ok.json();
    assert_eq!(report["regions"][0]["public_key"], json!(ours));
    assert_eq!(report["regions"][0]["matches_local"], true);
    assert_eq!(sim.sim.registered_key(SimRegion::Na), Some(ours.clone()));

    let verify = browser
        .get(
            web.join("api/v1/devtools/partner-public-key")
                .unwrap()
                .as_str(),
        )
        .await
        .json();
    assert_eq!(
        verify["verification"],
        json!({"remote_key_found": true, "matches_local": true, "local_key_configured": true, "local_public_key": ours})
    );
    assert_eq!(
        sim.sim.billing().token_refreshes,
        token_calls + 1,
        "one partner token, cached across three partner calls"
    );

    // The owner pairs the Model Y: the checklist and Home Assistant show it.
    sim.sim.pair_app_key(MODEL_Y).unwrap();
    let fleet_status = browser
        .get(web.join("api/v1/devtools/fleet-status").unwrap().as_str())
        .await;
    assert_eq!(fleet_status.status, 200, "{}", fleet_status.body);
    assert_eq!(fleet_status.json()["key_paired_vins"], json!([MODEL_Y]));
    probe
        .wait_text(&format!("{}/{MODEL_Y}/key_paired", setup.base()), "ON")
        .await;
    probe
        .wait_text(&format!("{}/{MODEL_S}/key_paired", setup.base()), "OFF")
        .await;
    probe
        .wait_text(
            &format!("{}/{MODEL_Y}/command_protocol_required", setup.base()),
            "ON",
        )
        .await;
    let page = browser.get(web.join("setup").unwrap().as_str()).await;
    assert!(page.body.contains("https://tesla.com/_ak/teslasync.test"));
    assert!(page.body.contains("<svg"), "QR code inline");

    // Someone else's key at the domain: registration reports the mismatch, verification fails.
    let other = teslasync::keys::CommandKey::random();
    let (other_listener, other_url) = bind_http().await;
    let other_pem = other.public_key_pem();
    let app = axum::Router::new().route(
        teslasync::tesla::fleet::partner::WELL_KNOWN_PATH,
        axum::routing::get(move || {
            let pem = other_pem.clone();
            async move { pem }
        }),
    );
    tokio::spawn(async move { axum::serve(other_listener, app).await });
    sim.sim.serve_domain(DOMAIN, other_url.as_str());
    let mismatch = browser.post_json(register.as_str(), json!({})).await.json();
    assert_eq!(mismatch["regions"][0]["matches_local"], false);
    let verify = browser
        .get(
            web.join("api/v1/devtools/partner-public-key")
                .unwrap()
                .as_str(),
        )
        .await
        .json();
    assert_eq!(verify["verification"]["matches_local"], false);
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_endpoints_refuse_requests_without_the_forward_auth_header() {
    let sim = SimServer::start(SimConfig::default()).await;
    let (mut setup, listener, web) = with_redirect(&sim).await;
    setup.cfg.http.forward_auth_header = Some("X-Remote-User".into());
    // The test's proxy runs on this machine; loopback alone is not trusted.
    setup.cfg.http.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
    setup.sign_in(&sim);
    let running = Running::start_on(&setup.cfg, Clock::system(), listener).await;
    let anonymous = Browser::anonymous();
    let mut admin = Browser::anonymous();
    admin.header = Some(("X-Remote-User", "alice"));
    let url = |p: &str| web.join(p).unwrap().to_string();
    for path in [
        "",
        "api/v1/status",
        "api/v1/auth/login",
        "api/v1/devtools/fleet-api-info",
        "api/v1/devtools/partner-public-key",
        "api/v1/devtools/test-connectivity",
        "api/v1/devtools/user/region",
        "api/v1/devtools/fleet-status",
    ] {
        let page = anonymous.get(&url(path)).await;
        assert_eq!(page.status, 401, "GET /{path} without the header");
    }
    for path in [
        "api/v1/devtools/register-partner",
        "api/v1/auth/logout",
        "api/v1/auth/callback-url",
    ] {
        let page = anonymous.post_json(&url(path), json!({})).await;
        assert_eq!(page.status, 401, "POST /{path} without the header");
    }
    assert_eq!(admin.get(&url("api/v1/status")).await.status, 200);
    assert_eq!(admin.get(&url("api/v1/auth/login")).await.status, 302);
    let info = admin
        .get(&url("api/v1/devtools/fleet-api-info"))
        .await
        .json();
    assert_eq!(info["client_secret_configured"], true);
    assert!(info.get("client_secret").is_none());
    // The public key and the callback stay public (the callback refuses on its own terms).
    let pem = anonymous
        .get(&url(".well-known/appspecific/com.tesla.3p.public-key.pem"))
        .await;
    assert_eq!(pem.status, 200);
    let cb = anonymous
        .get(&url("api/v1/auth/callback?code=x&state=y"))
        .await;
    assert_eq!(cb.status, 400);
    // A form post without the page's CSRF token is refused even for the admin (a foreign page
    // could send the form; it cannot send JSON).
    let form = admin
        .post_form(&url("api/v1/auth/logout"), &[("a".into(), "b".into())])
        .await;
    assert_eq!(form.status, 403, "{}", form.body);
    running.stop().await;
}

/// `region = "auto"` with no override, on a simulator whose two listeners stand in for Tesla's NA and
/// EU hosts: the daemon must find the account's region itself.
async fn auto_region_world(ou_code: SimRegion) -> (SimServer, Setup, Running) {
    let sim = SimServer::start_regions(SimConfig {
        region: SimRegion::Eu,
        ..SimConfig::default()
    })
    .await;
    sim.sim.set_account_region(SimRegion::Eu, Some(ou_code));
    let mut setup = Setup::new(&sim);
    setup.cfg.tesla.api_base_url = None;
    assert_eq!(setup.cfg.tesla.region, teslasync::config::Region::Auto);
    setup.sign_in(&sim);
    let hosts = FleetHosts::new(
        sim.url.clone(),
        sim.eu_url.clone().unwrap(),
        url::Url::parse("http://127.0.0.1:9/").unwrap(),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let running = Running::start_with(
        &setup.cfg,
        StartOptions {
            clock: Clock::system(),
            http_listener: Some(listener),
            fleet_hosts: Some(hosts),
            ..StartOptions::default()
        },
    )
    .await;
    (sim, setup, running)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn region_auto_goes_where_the_token_says_without_a_421() {
    let (sim, _setup, running) = auto_region_world(SimRegion::Eu).await;
    running.wait_cycles_after(0).await;
    assert_eq!(running.daemon().poll_status().borrow().last_error, None);
    assert_eq!(
        running.daemon().account().fleet().base_url(),
        sim.eu_url.clone().unwrap()
    );
    assert_eq!(sim.sim.misdirected(), 0, "ou_code named EU: straight there");
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn region_auto_recovers_when_the_token_names_the_wrong_region() {
    // Tesla's `ou_code` is sometimes wrong (fleet-api.md §2.6): the token says NA, the account is EU.
    let (sim, _setup, running) = auto_region_world(SimRegion::Na).await;
    running.wait_cycles_after(0).await;
    assert_eq!(running.daemon().poll_status().borrow().last_error, None);
    assert_eq!(
        running.daemon().account().fleet().base_url(),
        sim.eu_url.clone().unwrap()
    );
    assert_eq!(
        sim.sim.misdirected(),
        1,
        "one 421, to users/region, whose answer names the EU host; nothing after"
    );
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unregistered_region_is_explained_and_polling_resumes_after_registration() {
    let clock = manual_clock();
    let sim = SimServer::start(SimConfig {
        clock: clock.clone(),
        ..SimConfig::default()
    })
    .await;
    // Tesla answers every user call with 412 until the application is registered in the region.
    sim.sim.require_partner_registration(true);
    let (setup, listener, web) = with_redirect(&sim).await;
    setup.sign_in(&sim);
    let probe = setup.probe(&[format!("{}/#", setup.base())]).await;
    let running = Running::start_on(&setup.cfg, clock.clone(), listener).await;
    let mut cycles = running.wait_cycles_after(0).await;

    let event = probe
        .wait(&format!("{}/event", setup.base()), |_| true)
        .await
        .json();
    let message = event["message"].as_str().unwrap();
    assert!(
        message.contains("412") && message.contains("teslasync partner register"),
        "names the fix: {message}"
    );
    assert!(
        running.daemon().poll_status().borrow().last_error.is_some(),
        "the cycle failed"
    );
    assert_eq!(
        sim.sim.billing().data,
        0,
        "no car data without registration"
    );

    // The user registers from the status page; the next cycle works, without a restart.
    sim.sim.serve_domain(DOMAIN, web.as_str());
    let ok = Browser::new()
        .post_json(
            web.join("api/v1/devtools/register-partner")
                .unwrap()
                .as_str(),
            json!({}),
        )
        .await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    clock.advance(Duration::from_secs(300));
    cycles = running.wait_cycles_after(cycles).await;
    assert!(cycles >= 2);
    assert_eq!(running.daemon().poll_status().borrow().last_error, None);
    probe
        .wait_text(
            &format!("{}/{MODEL_S}/availability", setup.base()),
            "online",
        )
        .await;
    running.stop().await;
}
