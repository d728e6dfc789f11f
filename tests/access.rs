//! Access control as a user's set-up sees it: TeslaSync behind a reverse proxy on the same machine
//! (every request then comes from loopback), behind Home Assistant's ingress (a path prefix and
//! `X-Ingress-Path`), and reached under a foreign `Host` (DNS rebinding).

mod common;

use serde_json::json;
use tokio_util::sync::CancellationToken;

use common::*;
use teslasync::clock::Clock;
use teslasync::sim::SimConfig;

const ADMIN_GETS: [&str; 9] = [
    "",
    "setup",
    "api/v1/status",
    "api/v1/auth/login",
    "api/v1/devtools/fleet-api-info",
    "api/v1/devtools/partner-public-key",
    "api/v1/devtools/test-connectivity",
    "api/v1/devtools/user/region",
    "api/v1/devtools/fleet-status",
];
const ADMIN_POSTS: [&str; 5] = [
    "setup",
    "logout",
    "api/v1/devtools/register-partner",
    "api/v1/auth/logout",
    "api/v1/auth/callback-url",
];

/// The `value` of the hidden `csrf` field in a page.
fn csrf_of(page: &Page) -> String {
    let at = page
        .body
        .find("name=\"csrf\" value=\"")
        .expect("a form with a CSRF token");
    let rest = &page.body[at + "name=\"csrf\" value=\"".len()..];
    rest[..rest.find('"').unwrap()].to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_a_proxy_every_admin_route_needs_a_session_and_works_after_sign_in() {
    let sim = SimServer::start(SimConfig::default()).await;
    let mut setup = Setup::new(&sim);
    setup.cfg.tesla.domain = Some("teslasync.test".into());
    setup.cfg.tesla.redirect_uri = Some("https://teslasync.test/api/v1/auth/callback".into());
    setup.sign_in(&sim);
    let running = Running::start(&setup.cfg, Clock::system()).await;
    let stop = CancellationToken::new();
    let proxied = start_proxy(running.web(), None, &stop).await;
    let url = |p: &str| proxied.join(p).unwrap().to_string();

    // Nobody is admin for coming from loopback: the proxy makes everyone look local.
    let anonymous = Browser::anonymous();
    for path in ADMIN_GETS {
        let page = anonymous.get(&url(path)).await;
        assert_eq!(page.status, 401, "GET /{path}: {}", page.body);
    }
    for path in ADMIN_POSTS {
        let page = anonymous.post_json(&url(path), json!({})).await;
        assert_eq!(page.status, 401, "POST /{path}: {}", page.body);
    }
    assert!(
        matches!(
            *running.daemon().account().tokens().status().borrow(),
            teslasync::tesla::auth::AuthStatus::SignedIn { .. }
        ),
        "an anonymous logout must not sign the account out"
    );
    // A browser gets the sign-in form with the 401.
    let form = anonymous.get(&url("")).await;
    assert!(form.body.contains("type=\"password\""), "{}", form.body);
    // Public stays public.
    for path in [
        ".well-known/appspecific/com.tesla.3p.public-key.pem",
        "healthz",
    ] {
        assert_eq!(anonymous.get(&url(path)).await.status, 200, "{path}");
    }
    assert_eq!(
        anonymous
            .get(&url("api/v1/auth/callback?code=x&state=y"))
            .await
            .status,
        400,
        "the callback is public and refuses on its own terms"
    );

    // Wrong password, then the right one: a session cookie with the right attributes.
    let user = Browser::anonymous();
    let wrong = user
        .post_form(&url("login"), &[("password".into(), "nope".into())])
        .await;
    assert_eq!(wrong.status, 401);
    let ok = user
        .post_form(&url("login"), &[("password".into(), ADMIN_PASSWORD.into())])
        .await;
    assert_eq!(ok.status, 303, "{}", ok.body);
    assert_eq!(ok.headers["location"], "./", "relative redirect");
    let set_cookie = ok.headers["set-cookie"].to_str().unwrap();
    assert!(
        set_cookie.starts_with("teslasync_session=")
            && set_cookie.contains("HttpOnly")
            && set_cookie.contains("SameSite=Strict"),
        "{set_cookie}"
    );
    for path in ADMIN_GETS {
        let page = user.get(&url(path)).await;
        assert!(
            page.status < 400 || page.status == 502,
            "GET /{path} after sign-in: {} {}",
            page.status,
            page.body
        );
    }
    let status = user.get(&url("api/v1/status")).await.json();
    assert_eq!(status["auth"]["state"], "signed_in");

    // A form post needs the page's CSRF token; with it, the set-up action runs.
    let no_token = user
        .post_form(&url("setup"), &[("action".into(), "recheck".into())])
        .await;
    assert_eq!(no_token.status, 403, "{}", no_token.body);
    let setup_page = user.get(&url("setup")).await;
    let token = csrf_of(&setup_page);
    let recheck = user
        .post_form(
            &url("setup"),
            &[
                ("csrf".into(), token.clone()),
                ("action".into(), "recheck".into()),
            ],
        )
        .await;
    assert_eq!(recheck.status, 303, "{}", recheck.body);
    assert_eq!(recheck.headers["location"], "setup");

    // A foreign Host is refused even with the session (DNS rebinding).
    let cookie = user.cookie("teslasync_session").unwrap();
    let rebound = reqwest::Client::builder()
        .no_proxy()
        .build()
        .unwrap()
        .get(url("api/v1/status"))
        .header("host", "evil.example")
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(rebound.status().as_u16(), 403);
    assert!(!rebound.text().await.unwrap().contains("vehicles"));

    // Signing out of the page needs the session and ends it.
    let status_page = user.get(&url("")).await;
    let token = csrf_of(&status_page);
    let out = user
        .post_form(&url("logout"), &[("csrf".into(), token)])
        .await;
    assert_eq!(out.status, 303, "{}", out.body);
    assert!(user.cookie("teslasync_session").is_none(), "cookie cleared");
    assert_eq!(user.get(&url("api/v1/status")).await.status, 401);

    stop.cancel();
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_password_the_one_time_link_signs_in_once() {
    let sim = SimServer::start(SimConfig::default()).await;
    let mut setup = Setup::new(&sim);
    setup.cfg.http.admin_token = None;
    let running = Running::start(&setup.cfg, Clock::system()).await;
    let stop = CancellationToken::new();
    let proxied = start_proxy(running.web(), None, &stop).await;
    let link = running
        .daemon()
        .sign_in_link()
        .expect("a one-time link without a password");
    let path = link.strip_prefix(running.web().as_str()).unwrap();
    let first = Browser::anonymous();
    let page = first.get(proxied.join(path).unwrap().as_str()).await;
    assert_eq!(page.status, 303, "{}", page.body);
    assert_eq!(first.get(proxied.as_str()).await.status, 200);
    let second = Browser::anonymous();
    let again = second.get(proxied.join(path).unwrap().as_str()).await;
    assert_eq!(again.status, 401, "single use");
    assert_eq!(second.get(proxied.as_str()).await.status, 401);
    stop.cancel();
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_ingress_pages_links_and_redirects_stay_under_the_prefix() {
    const PREFIX: &str = "/api/hassio_ingress/Xy12";
    let sim = SimServer::start(SimConfig::default()).await;
    let mut setup = Setup::new(&sim);
    setup.cfg.tesla.domain = Some("teslasync.test".into());
    // As in the add-on, where the Supervisor's address is trusted; here the test proxy is loopback.
    setup.cfg.http.ingress_proxy = Some("127.0.0.1".parse().unwrap());
    setup.sign_in(&sim);
    let running = Running::start(&setup.cfg, Clock::system()).await;
    let stop = CancellationToken::new();
    let ingress = start_proxy(running.web(), Some(PREFIX), &stop).await;
    // Home Assistant passes its own Host through.
    let browser = Browser::anonymous();
    for path in ["", "setup"] {
        let page = browser.get(ingress.join(path).unwrap().as_str()).await;
        assert_eq!(page.status, 200, "{path}: {}", page.body);
        for absolute in ["href=\"/", "action=\"/", "src=\"/", "fetch('/"] {
            assert!(
                !page.body.contains(absolute),
                "{path}: an absolute link ({absolute}) escapes the prefix"
            );
        }
    }
    let setup_page = browser.get(ingress.join("setup").unwrap().as_str()).await;
    let done = browser
        .post_form(
            ingress.join("setup").unwrap().as_str(),
            &[
                ("csrf".into(), csrf_of(&setup_page)),
                ("action".into(), "recheck".into()),
            ],
        )
        .await;
    assert_eq!(done.status, 303, "{}", done.body);
    let next = ingress
        .join(done.headers["location"].to_str().unwrap())
        .unwrap();
    assert_eq!(next.path(), format!("{PREFIX}/setup"));
    // The same daemon straight, without the ingress header: no credential.
    assert_eq!(
        Browser::anonymous()
            .get(running.web().as_str())
            .await
            .status,
        401
    );
    stop.cancel();
    running.stop().await;
}
