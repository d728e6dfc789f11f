//! `teslasync demo` against a broker like Home Assistant's Mosquitto add-on: password-protected. It
//! signs in with the credentials it is given, its cars appear, and when it stops they are gone
//! again (no retained topic left under its base topic or discovery prefix) unless `--keep`.

mod common;

use common::*;
use teslasync::config::Config;
use teslasync::demo::{self, DemoOptions, MqttLogin};
use tokio_util::sync::CancellationToken;

const LOGIN: Login<'static> = Login {
    username: "homeassistant",
    password: "s3cret@odd/chars pass",
};

/// Runs the demo on `broker` until its cars are published; returns its stop token and task.
async fn start_demo(
    broker: &Broker,
    login: MqttLogin,
    keep: bool,
) -> (
    CancellationToken,
    tokio::task::JoinHandle<Result<(), demo::DemoError>>,
) {
    init_test_logging();
    let opts = DemoOptions {
        vehicles: 2,
        mqtt: broker.url(),
        http: "127.0.0.1:0".parse().unwrap(),
        login,
        keep,
    };
    let stop = CancellationToken::new();
    let task = tokio::spawn(demo::run(opts, Config::defaults(), stop.clone()));
    (stop, task)
}

fn filters() -> Vec<String> {
    vec!["teslasync/#".to_string(), "homeassistant/#".to_string()]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_signs_in_to_a_protected_broker_and_leaves_nothing_behind() {
    let broker = Broker::with_login(LOGIN);
    // The password in the URL's userinfo, percent-encoded as a URL needs it.
    let url = url::Url::parse(&format!(
        "mqtt://{}:{}@{}",
        LOGIN.username,
        "s3cret%40odd%2Fchars%20pass",
        broker.addr()
    ))
    .unwrap();
    let (bare, login) = MqttLogin::resolve(&url, None, None, |_| None).unwrap();
    assert_eq!(bare, broker.url(), "the printed URL has no credentials");
    assert_eq!(login.username.as_deref(), Some(LOGIN.username));
    assert_eq!(login.password.as_ref().unwrap().expose(), LOGIN.password);

    let probe = Probe::start_as(&broker, &LOGIN, &filters()).await;
    let (stop, task) = start_demo(&broker, login, false).await;
    probe.wait_text("teslasync/status", "online").await;
    for vin in [MODEL_Y, MODEL_S] {
        probe
            .wait(
                &format!("homeassistant/device/teslasync_{vin}/config"),
                |m| m.json()["device"]["serial_number"] == vin,
            )
            .await;
        probe
            .wait_text(&format!("teslasync/{vin}/availability"), "online")
            .await;
    }
    stop.cancel();
    task.await.unwrap().expect("the demo stops cleanly");

    // Home Assistant removed the devices (empty discovery), and the broker keeps nothing of ours.
    for vin in [MODEL_Y, MODEL_S] {
        probe
            .wait(
                &format!("homeassistant/device/teslasync_{vin}/config"),
                |m| m.payload.is_empty(),
            )
            .await;
    }
    let left = retained_under(&broker, Some(&LOGIN), &filters()).await;
    assert!(left.is_empty(), "retained after the demo: {left:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_come_from_flags_then_the_url_then_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("password");
    std::fs::write(&file, "from-file\n").unwrap();
    let env = |name: &str| match name {
        "TESLASYNC_MQTT__USERNAME" => Some("env-user".to_string()),
        "TESLASYNC_MQTT__PASSWORD" => Some("env-pass".to_string()),
        _ => None,
    };
    let plain = url::Url::parse("mqtt://127.0.0.1:1883").unwrap();
    let (_, l) = MqttLogin::resolve(&plain, None, None, env).unwrap();
    assert_eq!(l.username.as_deref(), Some("env-user"));
    assert_eq!(l.password.unwrap().expose(), "env-pass");

    let with_user = url::Url::parse("mqtt://url-user:url-pass@127.0.0.1:1883").unwrap();
    let (_, l) = MqttLogin::resolve(&with_user, None, None, env).unwrap();
    assert_eq!(l.username.as_deref(), Some("url-user"));
    assert_eq!(l.password.unwrap().expose(), "url-pass");

    let (bare, l) =
        MqttLogin::resolve(&with_user, Some("flag-user".into()), Some(&file), env).unwrap();
    assert_eq!(l.username.as_deref(), Some("flag-user"));
    assert_eq!(l.password.unwrap().expose(), "from-file");
    assert!(!bare.as_str().contains("url-pass"));

    let (_, none) = MqttLogin::resolve(&plain, None, None, |_| None).unwrap();
    assert!(none.username.is_none() && none.password.is_none());
    let only_password = |name: &str| (name == "TESLASYNC_MQTT__PASSWORD").then(|| "p".to_string());
    let err = MqttLogin::resolve(&plain, None, None, only_password).unwrap_err();
    assert!(err.to_string().contains("--mqtt-username"), "{err}");
    let missing = dir.path().join("nope");
    let err = MqttLogin::resolve(&plain, None, Some(&missing), |_| None).unwrap_err();
    assert!(err.to_string().contains("--mqtt-password-file"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_keep_the_cars_stay() {
    let broker = Broker::start();
    let probe = Probe::start(&broker, &filters()).await;
    let (stop, task) = start_demo(&broker, MqttLogin::default(), true).await;
    let config = format!("homeassistant/device/teslasync_{MODEL_S}/config");
    probe
        .wait(&config, |m| m.json()["device"]["serial_number"] == MODEL_S)
        .await;
    stop.cancel();
    task.await.unwrap().expect("the demo stops cleanly");
    probe.wait_text("teslasync/status", "offline").await;
    let left = retained_under(&broker, None, &filters()).await;
    assert!(left.contains(&config), "{left:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_demo_that_cannot_start_leaves_no_data_directory() {
    let broker = Broker::start();
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_teslasync"))
        .args(["demo", "--mqtt", broker.url().as_str(), "--http"])
        .arg(busy.local_addr().unwrap().to_string())
        // The demo's data directory goes under the temporary directory: this test's own.
        .env("TMPDIR", tmp.path())
        .output()
        .expect("the teslasync binary runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("choose another address with --http"),
        "{stderr}"
    );
    let left: Vec<_> = std::fs::read_dir(tmp.path()).unwrap().collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}
