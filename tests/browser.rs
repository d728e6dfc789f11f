//! The web UI in a real browser: headless Chromium driven over WebDriver (chromedriver on a free
//! loopback port). A new user signs in to TeslaSync, signs in to (simulated) Tesla, registers the
//! domain and finds the cars, the pairing link and its QR code — directly, and under Home
//! Assistant's ingress prefix behind a proxy that adds `X-Ingress-Path`. Screenshots of the status
//! page and the wizard at phone size go to `target/screenshots/`.
//!
//! Needs `chromium` and `chromium-driver` (Debian); `bash .ci/run` installs them.

mod common;

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;
use tokio_util::sync::CancellationToken;

use common::*;
use teslasync::clock::Clock;
use teslasync::sim::SimConfig;

/// chromedriver, killed when dropped.
struct Driver {
    child: Child,
    port: u16,
    _profile: tempfile::TempDir,
    /// TMPDIR for chromedriver and the Chromium it starts, which leave scratch directories there.
    _tmp: tempfile::TempDir,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn start_driver() -> Driver {
    let port = free_port();
    let tmp = tempfile::tempdir().unwrap();
    let child = Command::new("chromedriver")
        .arg(format!("--port={port}"))
        .env("TMPDIR", tmp.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver runs: apt-get install chromium chromium-driver (bash .ci/run does)");
    let driver = Driver {
        child,
        port,
        _profile: tempfile::tempdir().unwrap(),
        _tmp: tmp,
    };
    tokio::time::timeout(TIMEOUT, async {
        while tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err()
        {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("chromedriver listens");
    driver
}

async fn browser(driver: &Driver) -> Client {
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--no-first-run", "--window-size=390,844",
                format!("--user-data-dir={}", driver._profile.path().display()),
            ]
        }),
    );
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{}", driver.port))
        .await
        .expect("a Chromium session")
}

/// Waits until the page's HTML contains `text`, while a navigation the test started completes.
/// Never reloads: a reload would replay one-shot pages such as Tesla's OAuth callback.
async fn wait_for(c: &Client, text: &str) -> String {
    wait(c, text, false).await
}

/// Waits until the page's HTML contains `text`, reloading it (the status page does not push).
async fn wait_reloading(c: &Client, text: &str) -> String {
    wait(c, text, true).await
}

async fn wait(c: &Client, text: &str, reload: bool) -> String {
    let found = tokio::time::timeout(TIMEOUT, async {
        loop {
            let html = c.source().await.unwrap();
            if html.contains(text) {
                return html;
            }
            // WebDriver cannot notify; poll the DOM (bounded by TIMEOUT).
            tokio::time::sleep(Duration::from_millis(200)).await;
            if reload {
                c.refresh().await.unwrap();
            }
        }
    })
    .await;
    match found {
        Ok(html) => html,
        Err(_) => panic!(
            "{text:?} did not appear on {}: {}",
            c.current_url().await.unwrap(),
            c.source().await.unwrap()
        ),
    }
}

async fn screenshot(c: &Client, name: &str) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    let png = c.screenshot().await.unwrap();
    std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
}

/// Clicks the element `at` finds, once it exists (the set-up page re-renders itself while it waits
/// for a step, so an element can be briefly absent, or go stale between the find and the click):
/// WebDriver cannot notify, so the DOM is polled, bounded by TIMEOUT.
async fn click(c: &Client, at: Locator<'_>) {
    use fantoccini::error::{CmdError, ErrorStatus};
    let deadline = tokio::time::Instant::now() + TIMEOUT;
    loop {
        let outcome = match c.find(at).await {
            Ok(element) => element.click().await,
            Err(e) => Err(e),
        };
        match outcome {
            Ok(()) => return,
            Err(CmdError::Standard(e))
                if matches!(
                    e.error,
                    ErrorStatus::StaleElementReference | ErrorStatus::NoSuchElement
                ) && tokio::time::Instant::now() < deadline =>
            {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!(
                "click on {at:?}: {e} on {}: {}",
                c.current_url().await.unwrap(),
                c.source().await.unwrap()
            ),
        }
    }
}

/// The whole first-run flow from `start` (the web UI's root as the browser reaches it).
async fn walk(c: &Client, start: &url::Url, label: &str) {
    // 1. TeslaSync's own sign-in.
    c.goto(start.as_str()).await.unwrap();
    let password = c.find(Locator::Css("input[type=password]")).await;
    if let Ok(field) = password {
        field.send_keys(ADMIN_PASSWORD).await.unwrap();
        click(c, Locator::Css("form button[type=submit]")).await;
    }
    wait_for(c, "Not signed in to Tesla yet").await;
    // 2. Set-up: sign in with (simulated) Tesla; the consent page comes back by itself.
    click(c, Locator::LinkText("Open set-up")).await;
    wait_for(c, "Developer application").await;
    let setup_window = c.window().await.unwrap();
    let new_tab = c
        .find(Locator::LinkText("Sign in with Tesla"))
        .await
        .unwrap()
        .attr("target")
        .await
        .unwrap()
        .is_some_and(|t| t == "_blank");
    assert_eq!(
        new_tab,
        label == "ingress",
        "a tab of its own only from the panel"
    );
    click(c, Locator::LinkText("Sign in with Tesla")).await;
    if new_tab {
        let tesla = tokio::time::timeout(TIMEOUT, async {
            loop {
                let windows = c.windows().await.unwrap();
                if let Some(w) = windows.into_iter().find(|w| *w != setup_window) {
                    return w;
                }
                // WebDriver cannot notify of a new window; poll (bounded by TIMEOUT).
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
        .await
        .expect("Tesla's page opens in a new tab");
        // Ingress: Tesla's page opened in its own tab, and Tesla sends that tab to the public
        // callback, an origin where this browser has no cookie of ours. The callback completes the
        // sign-in by its state; the set-up page, left waiting in the panel, notices by itself.
        c.switch_to_window(tesla).await.unwrap();
        click(c, Locator::Css("button[value=allow]")).await;
        wait_for(c, "Signed in to Tesla").await;
        let cookies = c.get_all_cookies().await.unwrap();
        assert!(
            cookies.is_empty(),
            "the public origin holds no cookie of ours: {cookies:?}"
        );
        c.close_window().await.unwrap();
        c.switch_to_window(setup_window).await.unwrap();
        wait_for(c, "Sign out of Tesla").await;
    } else {
        click(c, Locator::Css("button[value=allow]")).await;
        wait_for(c, "Signed in to Tesla").await;
        click(c, Locator::LinkText("Continue set-up")).await;
    }
    // 3./4. Check the key hosting, register the domain.
    click(c, Locator::XPath("//button[text()='Check now']")).await;
    wait_for(c, "serves TeslaSync").await;
    click(c, Locator::XPath("//button[text()='Register with Tesla']")).await;
    wait_for(c, "registered with TeslaSync").await;
    // 5. The pairing link and its QR code.
    let link = c
        .find(Locator::Css(
            "a[href='https://tesla.com/_ak/teslasync.test']",
        ))
        .await
        .expect("the pairing link");
    assert_eq!(
        link.text().await.unwrap(),
        "https://tesla.com/_ak/teslasync.test"
    );
    let qr = c
        .find(Locator::Css(".qr svg"))
        .await
        .expect("a QR code image");
    let size = qr.rectangle().await.unwrap();
    assert!(
        size.2 >= 100.0 && size.3 >= 100.0,
        "a scannable QR code: {size:?}"
    );
    screenshot(c, &format!("{label}-setup")).await;
    // The status page lists the cars.
    click(c, Locator::LinkText("Status")).await;
    let html = wait_reloading(c, MODEL_S).await;
    assert!(html.contains(MODEL_Y), "both cars");
    screenshot(c, &format!("{label}-status")).await;
}

/// A simulator and a daemon (not signed in to Tesla) whose domain the simulated Tesla maps to the
/// daemon; `ingress` puts a proxy with that prefix in front, and Tesla redirects to the daemon's
/// "public" address instead (`localhost`, another cookie origin than the panel's `127.0.0.1`), as it
/// does for an add-on: the redirect URI is the public domain, never the ingress panel.
async fn start(
    ingress: Option<&'static str>,
    stop: &CancellationToken,
) -> (SimServer, Setup, Running, url::Url) {
    let sim = SimServer::start(SimConfig::default()).await;
    let mut setup = Setup::new(&sim);
    let (listener, web) = bind_http().await;
    let (entry, public) = match ingress {
        Some(prefix) => {
            // As in the add-on: ingress is trusted from the Supervisor's address (here the test's
            // proxy).
            setup.cfg.http.ingress_proxy = Some("127.0.0.1".parse().unwrap());
            let mut public = web.clone();
            public.set_host(Some("localhost")).unwrap();
            (start_proxy(web.clone(), Some(prefix), stop).await, public)
        }
        None => (web.clone(), web.clone()),
    };
    setup.cfg.tesla.redirect_uri = Some(format!("{public}api/v1/auth/callback"));
    setup.cfg.tesla.domain = Some("teslasync.test".into());
    sim.sim.serve_domain("teslasync.test", web.as_str());
    let running = Running::start_on_with(&setup.cfg, Clock::system(), listener, Some(web)).await;
    (sim, setup, running, entry)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_user_sets_up_teslasync_in_a_real_browser() {
    let driver = start_driver().await;
    let stop = CancellationToken::new();
    let (_sim, _setup, running, entry) = start(None, &stop).await;
    let c = browser(&driver).await;
    walk(&c, &entry, "direct").await;
    c.close().await.unwrap();
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_flow_works_under_an_ingress_prefix() {
    const PREFIX: &str = "/api/hassio_ingress/Qw3rty";
    let driver = start_driver().await;
    let stop = CancellationToken::new();
    let (_sim, _setup, running, entry) = start(Some(PREFIX), &stop).await;
    let c = browser(&driver).await;
    walk(&c, &entry, "ingress").await;
    assert!(
        c.current_url().await.unwrap().path().starts_with(PREFIX),
        "still under the prefix"
    );
    c.close().await.unwrap();
    stop.cancel();
    running.stop().await;
}
