//! No secret leaves TeslaSync: a full run — browser sign-in, polling, token refreshes, partner
//! registration, every admin endpoint, the status page, a command — with every log line (all crates, at
//! TRACE), every MQTT message and every HTTP answer recorded, then searched for the access and refresh
//! tokens, the authorization codes, the client secret, the storage key and the private key.
//!
//! One test in its own binary, because it installs the process-wide log subscriber.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use serde_json::json;
use teslasync::sim::SimConfig;

/// Every log line of the process.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Capture {
    type Writer = Capture;
    fn make_writer(&'a self) -> Capture {
        self.clone()
    }
}

/// The private key's forms worth searching for: the scalar in hex and base64, and the first PEM body
/// line (the one that encodes the scalar; the later lines hold the public point, which is public and
/// base64-aligned with the public key PEM).
fn private_key_forms(pem: &str) -> Vec<String> {
    use base64::Engine as _;
    let key = p256::SecretKey::from_sec1_pem(pem).expect("the daemon wrote a SEC1 key");
    let scalar = key.to_bytes();
    let first_line = pem
        .lines()
        .find(|l| !l.starts_with("-----"))
        .expect("a PEM body")
        .to_string();
    vec![
        first_line,
        hex::encode(scalar),
        base64::engine::general_purpose::STANDARD.encode(scalar),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_token_secret_or_private_key_appears_in_logs_mqtt_or_http() {
    let logs = Capture::default();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new("trace"))
        .with_writer(logs.clone())
        .with_ansi(false)
        .init();

    let clock = manual_clock();
    let sim = SimServer::start(SimConfig {
        clock: clock.clone(),
        ..SimConfig::default()
    })
    .await;
    let mut setup = Setup::new(&sim);
    let (listener, web) = bind_http().await;
    setup.cfg.tesla.redirect_uri = Some(format!("{web}api/v1/auth/callback"));
    setup.cfg.tesla.domain = Some("teslasync.test".into());
    sim.sim.serve_domain("teslasync.test", web.as_str());
    let probe = setup
        .probe(&[
            format!("{}/#", setup.base()),
            format!("{}/#", setup.prefix()),
        ])
        .await;
    let running = Running::start_on(&setup.cfg, clock.clone(), listener).await;
    let browser = Browser::new();

    // Sign in from the browser; the cars appear.
    let signed_in = browser.sign_in(&web).await;
    assert_eq!(signed_in.status, 200, "{}", signed_in.body);
    let vin = "5YJSA1E2XJF000002";
    probe
        .wait_text(&format!("{}/{vin}/availability", setup.base()), "online")
        .await;
    // A command while the car is awake.
    probe
        .publish(
            &format!("{}/{vin}/vehicle_state_locked/set", setup.base()),
            "LOCK",
        )
        .await;
    probe
        .wait_count(&format!("{}/{vin}/command/result", setup.base()), 1)
        .await;
    // Nine hours of polling: the access token is refreshed (and rotated) at least once.
    let mut cycles = running.wait_cycles_after(0).await;
    for _ in 0..9 * 60 {
        clock.advance(Duration::from_secs(60));
        cycles = running.wait_cycles_after(cycles).await;
    }
    assert!(sim.sim.billing().token_refreshes >= 2);
    // The admin API, the status page, partner registration.
    let register = browser
        .post_json(
            web.join("api/v1/devtools/register-partner")
                .unwrap()
                .as_str(),
            json!({}),
        )
        .await;
    assert_eq!(register.status, 200, "{}", register.body);
    for path in [
        "",
        "api/v1/status",
        "api/v1/devtools/fleet-api-info",
        "api/v1/devtools/partner-public-key",
        "api/v1/devtools/test-connectivity",
        "api/v1/devtools/user/region",
        "api/v1/devtools/fleet-status",
        ".well-known/appspecific/com.tesla.3p.public-key.pem",
    ] {
        let page = browser.get(web.join(path).unwrap().as_str()).await;
        assert!(page.status < 500, "{path}: {}", page.body);
    }
    // A failed sign-in attempt and a sign-out too.
    let _ = browser
        .get(&format!("{web}api/v1/auth/callback?code=NA_x&state=forged"))
        .await;
    running.stop().await;

    // Collect the secrets.
    let mut secrets = sim.sim.issued_secrets();
    assert!(secrets.len() >= 5, "tokens and codes were issued");
    secrets.push(SimConfig::default().client_secret);
    secrets.push(
        setup
            .cfg
            .storage
            .encryption_key
            .as_ref()
            .unwrap()
            .expose()
            .to_string(),
    );
    let pem = std::fs::read_to_string(teslasync::keys::default_path(&setup.cfg.storage.path))
        .expect("the daemon created the command key");
    secrets.extend(private_key_forms(&pem));

    // Collect what went out.
    let log_text = String::from_utf8_lossy(&logs.0.lock().unwrap()).into_owned();
    assert!(
        log_text.contains("signed in to Tesla")
            && log_text.contains("refreshed the Tesla access token"),
        "the capture works"
    );
    let mut mqtt = String::new();
    for topic in probe.topics() {
        mqtt.push_str(&topic);
        for m in probe.all(&topic) {
            mqtt.push_str(&m.text());
        }
    }
    assert!(mqtt.contains("reauth_required"));
    let mut http = String::new();
    // The daemon's answers (the browser also saw the simulated Tesla's, which carry codes by design).
    for page in browser
        .seen
        .lock()
        .unwrap()
        .iter()
        .filter(|p| p.url.starts_with(web.as_str()))
    {
        http.push_str(&format!("{:?}", page.headers));
        http.push_str(&page.body);
    }
    assert!(http.contains("BEGIN PUBLIC KEY"));

    for secret in &secrets {
        assert!(!secret.is_empty());
        for (name, text) in [("logs", &log_text), ("MQTT", &mqtt), ("HTTP", &http)] {
            assert!(
                !text.contains(secret.as_str()),
                "a secret ({}…) appears in the {name}",
                &secret[..6.min(secret.len())]
            );
        }
    }
}
