//! The Home Assistant add-on: `config.yaml` follows the add-on rules TeslaSync relies on, its options
//! match what the daemon reads, and the add-on's options plus a (fake) Supervisor on loopback give a
//! working daemon: broker credentials from `/services/mqtt`, storage key made once in the data folder.

mod common;

use std::path::Path;

use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use serde_json::json;
use tokio_util::sync::CancellationToken;
use yaml_rust2::{Yaml, YamlLoader};

use common::*;
use teslasync::config::addon::OPTIONS;
use teslasync::config::Config;
use teslasync::secret::Secret;
use teslasync::sim::SimConfig;
use teslasync::supervisor::{Supervisor, KEY_FILE};

fn addon_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("ha-addon/teslasync")
}

fn manifest() -> Yaml {
    let text = std::fs::read_to_string(addon_dir().join("config.yaml")).unwrap();
    YamlLoader::load_from_str(&text).unwrap().remove(0)
}

#[test]
fn config_yaml_follows_the_addon_rules() {
    let m = manifest();
    for key in ["name", "version", "slug", "description", "arch"] {
        assert!(!m[key].is_badvalue(), "config.yaml needs {key}");
    }
    assert_eq!(
        m["version"].as_str(),
        Some(env!("CARGO_PKG_VERSION")),
        "version = the crate's"
    );
    let arch: Vec<&str> = m["arch"]
        .as_vec()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert_eq!(
        arch,
        ["aarch64", "amd64"],
        "only the architectures Home Assistant still builds"
    );
    assert_eq!(
        m["services"].as_vec().unwrap()[0].as_str(),
        Some("mqtt:need")
    );
    assert_eq!(m["ingress"].as_bool(), Some(true));
    assert_eq!(m["ingress_port"].as_i64(), Some(8099));
    assert!(m["panel_icon"].as_str().unwrap().starts_with("mdi:"));
    // The image has neither s6-overlay nor bashio, so Docker's init must forward signals.
    assert_eq!(m["init"].as_bool(), Some(true));
    let dockerfile = std::fs::read_to_string(addon_dir().join("Dockerfile")).unwrap();
    let instructions: String = dockerfile
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .collect();
    assert!(!instructions.contains("with-contenv") && !instructions.contains("bashio"));
    assert!(
        dockerfile.contains("TESLASYNC_HTTP__LISTEN=0.0.0.0:8099"),
        "listens on ingress_port"
    );
    assert!(
        !addon_dir().join("build.yaml").exists(),
        "build.yaml is retired"
    );
    for file in [
        "DOCS.md",
        "CHANGELOG.md",
        "README.md",
        "translations/en.yaml",
        "icon.png",
        "logo.png",
    ] {
        assert!(addon_dir().join(file).exists(), "{file}");
    }
    assert!(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("repository.yaml")
            .exists(),
        "the Supervisor reads repository.yaml at the repository root"
    );

    // Options: every schema entry is one the daemon reads, with the same type; defaults are valid.
    let schema = m["schema"].as_hash().unwrap();
    let valid_type = |t: &str| {
        let t = t.trim_end_matches('?');
        [
            "str", "bool", "int", "float", "password", "port", "email", "url",
        ]
        .iter()
        .any(|base| t == *base || t.starts_with(&format!("{base}(")))
            || t.starts_with("list(")
            || t.starts_with("match(")
    };
    let mut names = Vec::new();
    for (name, ty) in schema {
        let (name, ty) = (name.as_str().unwrap(), ty.as_str().unwrap());
        assert!(valid_type(ty), "{name}: {ty} is not an add-on option type");
        let option = OPTIONS
            .iter()
            .find(|o| o.name == name)
            .unwrap_or_else(|| panic!("option {name} is not read by the daemon"));
        assert_eq!(
            option.schema, ty,
            "{name}: config.yaml and config::addon disagree"
        );
        names.push(name);
    }
    for o in OPTIONS {
        assert!(
            names.contains(&o.name),
            "config::addon reads {} but config.yaml lacks it",
            o.name
        );
    }
    let options = m["options"].as_hash().unwrap();
    for (name, _) in options {
        let name = name.as_str().unwrap();
        let ty = schema[&Yaml::String(name.into())].as_str().unwrap();
        assert!(
            !ty.ends_with('?'),
            "{name}: an optional option has no default"
        );
    }
    for secret in [
        "encryption_key",
        "refresh_token",
        "mqtt_password",
        "admin_token",
    ] {
        assert!(
            !schema.contains_key(&Yaml::String(secret.into())),
            "{secret} must not be an option"
        );
    }
    let translations = std::fs::read_to_string(addon_dir().join("translations/en.yaml")).unwrap();
    let t = YamlLoader::load_from_str(&translations).unwrap().remove(0);
    for name in names {
        assert!(
            !t["configuration"][name]["name"].is_badvalue(),
            "translations/en.yaml lacks {name}"
        );
    }
}

/// A Supervisor that hands out `broker`'s address and `login`, to requests with `token` only.
async fn fake_supervisor(port: u16, token: &'static str, stop: &CancellationToken) -> url::Url {
    let app = axum::Router::new().route(
        "/services/mqtt",
        get(move |headers: HeaderMap| async move {
            let ok = headers.get("authorization").and_then(|v| v.to_str().ok())
                == Some(&format!("Bearer {token}"));
            if !ok {
                return (StatusCode::UNAUTHORIZED, "401: Unauthorized").into_response();
            }
            axum::Json(json!({
                "result": "ok",
                "data": {
                    "host": "127.0.0.1", "port": port.to_string(), "ssl": false,
                    "protocol": "3.1.1", "username": "addons", "password": "broker-pw-9f3",
                    "addon": "core_mosquitto"
                }
            }))
            .into_response()
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = url::Url::parse(&format!("http://{}/", listener.local_addr().unwrap())).unwrap();
    let stop = stop.clone();
    tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(stop.cancelled_owned())
            .await
            .unwrap();
    });
    url
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn addon_options_and_the_supervisor_give_a_working_daemon() {
    let sim = SimServer::start(SimConfig::default()).await;
    let broker = Broker::with_login(Login {
        username: "addons",
        password: "broker-pw-9f3",
    });
    let stop = CancellationToken::new();
    let supervisor_url = fake_supervisor(broker.port(), "sup-token", &stop).await;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let options = dir.path().join("options.json");
    let defaults = SimConfig::default();
    std::fs::write(
        &options,
        json!({
            "client_id": defaults.client_id, "client_secret": defaults.client_secret,
            "domain": "tesla.example.com", "region": "auto", "telemetry": false,
            "monthly_budget_usd": 10, "log_level": "info"
        })
        .to_string(),
    )
    .unwrap();
    let base = unique("ts");
    let env: std::collections::HashMap<String, String> = [
        ("SUPERVISOR_TOKEN", "sup-token"),
        ("TESLASYNC_STORAGE__PATH", data.to_str().unwrap()),
        ("TESLA_API_BASE_URL", sim.url.as_str()),
        ("TESLASYNC_TESLA__AUTH_BASE_URL", sim.url.as_str()),
        ("TESLASYNC_MQTT__BASE_TOPIC", &base),
        ("TESLASYNC_MQTT__DISCOVERY_PREFIX", &unique("ha")),
        ("TESLASYNC_HTTP__LISTEN", "127.0.0.1:0"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    std::fs::create_dir_all(&data).unwrap();

    // A wrong token: the Supervisor refuses, and the error says what to do.
    let mut cfg = Config::load_sources(None, Some(&options), &env).unwrap();
    let wrong = Supervisor::new(supervisor_url.clone(), Secret::from("nope"));
    let err = wrong.configure(&mut cfg).await.unwrap_err().to_string();
    assert!(err.contains("Mosquitto"), "{err}");

    let supervisor = Supervisor::new(supervisor_url, Secret::from("sup-token"));
    supervisor.configure(&mut cfg).await.unwrap();
    cfg.require_for_run().unwrap();
    assert_eq!(
        cfg.mqtt.url.as_str(),
        format!("mqtt://127.0.0.1:{}", broker.port())
    );
    assert_eq!(cfg.mqtt.username.as_deref(), Some("addons"));
    assert_eq!(
        cfg.tesla.redirect_uri.as_deref(),
        Some("https://tesla.example.com/api/v1/auth/callback")
    );
    assert!(
        cfg.http.ingress_proxy.is_some(),
        "ingress trusted in the add-on"
    );
    let key = cfg.storage.encryption_key.clone().unwrap();
    assert!(data.join(KEY_FILE).exists());
    // The same key on the next start.
    let mut again = Config::load_sources(None, Some(&options), &env).unwrap();
    supervisor.configure(&mut again).await.unwrap();
    assert_eq!(again.storage.encryption_key, Some(key));

    // The daemon runs with it: signed in, it publishes to the password-protected broker.
    let store = teslasync::daemon::open_store(&cfg).unwrap();
    teslasync::tesla::auth::Tokens::import_refresh_token(
        &store,
        &Secret::from(sim.sim.issue_refresh_token()),
    )
    .unwrap();
    drop(store);
    let running = Running::start(&cfg, teslasync::clock::Clock::system()).await;
    // Home Assistant's view: a client with the same credentials sees the car come online.
    let mut opts = broker.options(&unique("ha"));
    opts.set_credentials("addons", "broker-pw-9f3");
    let (client, mut events) = rumqttc::AsyncClient::new(opts, 16);
    let topic = format!("{base}/{MODEL_S}/availability");
    client
        .subscribe(&topic, rumqttc::QoS::AtLeastOnce)
        .await
        .unwrap();
    let seen = tokio::time::timeout(TIMEOUT, async {
        loop {
            if let rumqttc::Event::Incoming(rumqttc::Packet::Publish(p)) =
                events.poll().await.unwrap()
            {
                if p.topic == topic && p.payload.as_ref() == b"online" {
                    break;
                }
            }
        }
    })
    .await;
    assert!(
        seen.is_ok(),
        "the car came online on the broker the Supervisor named"
    );
    running.stop().await;
    stop.cancel();
}
