//! The Home Assistant add-on: `config.yaml` follows the add-on rules TeslaSync relies on, its options
//! match what the daemon reads, and the add-on's options plus a (fake) Supervisor on loopback give a
//! working daemon: broker credentials from `/services/mqtt`, storage key made once in the data folder.
//!
//! And the images (Docker cannot run here, so their files are read and the parts that can run do):
//! the root Dockerfile's dependency layer is run and cargo accepts the skeleton it makes; the runtime
//! image is non-root with `/data` and a health check; the add-on image is built only from the image
//! the repository's release workflow publishes from its own source.

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
    // The receiver listens on the port config.yaml declares (the Network section maps it); the
    // `telemetry_port` option is the public port told to the cars, not a listen address.
    let defaults = Config::load_sources(None, None, &Default::default()).unwrap();
    let telemetry = format!("{}/tcp", defaults.telemetry.listen.port());
    assert!(
        m["ports"]
            .as_hash()
            .unwrap()
            .contains_key(&Yaml::String(telemetry.clone())),
        "config.yaml declares {telemetry}"
    );
    assert_eq!(
        OPTIONS
            .iter()
            .find(|o| o.name == "telemetry_port")
            .map(|o| o.key),
        Some("telemetry.port")
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
    assert_eq!(
        cfg.telemetry.hostname.as_deref(),
        Some("tesla.example.com"),
        "cars are told to stream to the domain"
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

// ── Images ──────────────────────────────────────────────────────────────────────────────────

fn repo_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// One Dockerfile instruction: the keyword in upper case and its arguments (continuations joined).
#[derive(Debug, Clone)]
struct Instruction {
    op: String,
    args: String,
}

/// The instructions of a Dockerfile, grouped by stage (each group starts with its `FROM`);
/// instructions before the first `FROM` (global `ARG`s) form group 0.
fn dockerfile(path: &Path) -> Vec<Vec<Instruction>> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut joined = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with('#') || (trimmed.is_empty() && current.is_empty()) {
            continue;
        }
        match trimmed.strip_suffix('\\') {
            Some(head) => {
                current.push_str(head);
                current.push(' ');
            }
            None => {
                current.push_str(trimmed);
                joined.push(std::mem::take(&mut current));
            }
        }
    }
    let mut stages = vec![Vec::new()];
    for line in joined {
        let (op, args) = line.split_once(char::is_whitespace).unwrap_or((&line, ""));
        let op = op.to_ascii_uppercase();
        if op == "FROM" {
            stages.push(Vec::new());
        }
        stages.last_mut().unwrap().push(Instruction {
            op,
            args: args.trim().to_owned(),
        });
    }
    stages
}

fn args_of<'a>(stage: &'a [Instruction], op: &str) -> Vec<&'a str> {
    stage
        .iter()
        .filter(|i| i.op == op)
        .map(|i| i.args.as_str())
        .collect()
}

/// `ENV` values of a stage (`K=V` pairs, space separated).
fn env_of(stage: &[Instruction]) -> std::collections::HashMap<String, String> {
    args_of(stage, "ENV")
        .iter()
        .flat_map(|a| a.split_whitespace())
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.trim_matches('"').to_owned()))
        .collect()
}

/// `(kind, name)` of every target cargo sees in the crate at `dir`.
fn cargo_targets(dir: &Path) -> Vec<(String, String)> {
    let out = std::process::Command::new(env!("CARGO"))
        .args([
            "metadata",
            "--no-deps",
            "--offline",
            "--format-version",
            "1",
        ])
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut targets: Vec<(String, String)> = meta["packages"][0]["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["kind"][0].as_str().unwrap().to_owned(),
                t["name"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    targets.sort();
    targets
}

fn host_triple() -> String {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let out = std::process::Command::new(rustc)
        .arg("-vV")
        .output()
        .unwrap();
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("host: ").map(str::to_owned))
        .expect("rustc -vV names the host")
}

#[test]
fn the_root_dockerfiles_dependency_layer_is_one_cargo_accepts() {
    let stages = dockerfile(&repo_root().join("Dockerfile"));
    let build = stages
        .iter()
        .find(|s| s.first().is_some_and(|f| f.args.ends_with("AS build")))
        .expect("a build stage");
    let dep_build = build
        .iter()
        .position(|i| i.op == "RUN" && i.args.contains("cargo build"))
        .expect("a dependency build");
    let sources = build
        .iter()
        .rposition(|i| i.op == "COPY" && i.args.starts_with("src "))
        .expect("the sources are copied");
    assert!(
        dep_build < sources,
        "dependencies build before the sources are copied, or nothing is cached"
    );
    assert!(build[dep_build].args.contains("--locked"));

    // Run everything before the dependency build, in a scratch directory as the build's WORKDIR:
    // the COPYs from the repository, the skeleton commands with sh.
    let work = tempfile::tempdir().unwrap();
    for step in &build[1..dep_build] {
        match step.op.as_str() {
            "WORKDIR" => {}
            "COPY" => {
                let parts: Vec<&str> = step.args.split_whitespace().collect();
                let (dest, srcs) = parts.split_last().unwrap();
                for src in srcs {
                    assert!(
                        !["src", "benches", "."].contains(src),
                        "the dependency layer must not depend on the sources ({src})"
                    );
                    let from = repo_root().join(src);
                    let to = work.path().join(dest);
                    if from.is_dir() {
                        std::fs::create_dir_all(&to).unwrap();
                        for entry in std::fs::read_dir(&from).unwrap() {
                            let entry = entry.unwrap();
                            std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
                        }
                    } else {
                        std::fs::create_dir_all(&to).unwrap();
                        std::fs::copy(&from, to.join(from.file_name().unwrap())).unwrap();
                    }
                }
            }
            "RUN" => {
                let status = std::process::Command::new("sh")
                    .args(["-ec", &step.args])
                    .current_dir(work.path())
                    .status()
                    .unwrap();
                assert!(status.success(), "RUN {} failed", step.args);
            }
            other => panic!("unexpected {other} before the dependency build"),
        }
    }
    // Cargo parses the skeleton's manifest the way `cargo build` does (a target without its
    // source file is an error here) and resolves it from the lock file, without compiling.
    let fetch = std::process::Command::new(env!("CARGO"))
        .args(["fetch", "--locked", "--offline", "--target", &host_triple()])
        .current_dir(work.path())
        .output()
        .unwrap();
    assert!(
        fetch.status.success(),
        "cargo refuses the dependency layer's skeleton: {}",
        String::from_utf8_lossy(&fetch.stderr)
    );
    // Integration tests are found in tests/ (none in the skeleton) and `--bin` never builds them.
    let built = |dir: &Path| -> Vec<(String, String)> {
        cargo_targets(dir)
            .into_iter()
            .filter(|(kind, _)| kind != "test")
            .collect()
    };
    assert_eq!(
        built(work.path()),
        built(repo_root()),
        "the skeleton has the crate's targets"
    );
}

#[test]
fn the_runtime_image_is_non_root_with_data_and_a_health_check() {
    let stages = dockerfile(&repo_root().join("Dockerfile"));
    for stage in &stages[1..] {
        let from = &stage[0].args;
        for arch in ["amd64", "arm64", "aarch64", "x86_64", "--platform"] {
            assert!(!from.contains(arch), "FROM {from}: multi-arch images only");
        }
    }
    let runtime = stages.last().unwrap();
    let user = args_of(runtime, "USER");
    assert!(
        matches!(user.last(), Some(u) if !["root", "0"].contains(u)),
        "runs as a user: {user:?}"
    );
    let user = user.last().unwrap();
    assert!(
        args_of(runtime, "RUN")
            .iter()
            .any(|r| r.contains(&format!("chown {user} /data"))),
        "/data belongs to {user}"
    );
    assert!(args_of(runtime, "VOLUME")
        .iter()
        .any(|v| v.contains("\"/data\"")));
    let env = env_of(runtime);
    assert_eq!(env["TESLASYNC_STORAGE__PATH"], "/data");
    let port = env["TESLASYNC_HTTP__LISTEN"].rsplit(':').next().unwrap();
    assert_eq!(args_of(runtime, "EXPOSE"), [port], "exposes the web port");
    let health = args_of(runtime, "HEALTHCHECK");
    assert!(
        health.len() == 1 && health[0].contains("CMD [\"teslasync\", \"healthcheck\"]"),
        "{health:?}"
    );
    // The binary the add-on image copies out of this one is where this one installs it.
    let installed = args_of(runtime, "COPY")
        .iter()
        .find(|c| c.starts_with("--from=build"))
        .map(|c| c.split_whitespace().last().unwrap().to_owned())
        .unwrap();
    let addon = dockerfile(&addon_dir().join("Dockerfile"));
    let copied = args_of(addon.last().unwrap(), "COPY")
        .iter()
        .find(|c| c.starts_with("--from=teslasync"))
        .map(|c| c.split_whitespace().nth(1).unwrap().to_owned())
        .expect("the add-on copies the binary from the published image");
    assert_eq!(copied, installed);
}

#[test]
fn the_addon_image_comes_from_the_repositorys_own_release_workflow() {
    // The repository's owner, from repository.yaml's url (https://github.com/<owner>/<name>).
    let repo = std::fs::read_to_string(repo_root().join("repository.yaml")).unwrap();
    let repo = YamlLoader::load_from_str(&repo).unwrap().remove(0);
    let url = url::Url::parse(repo["url"].as_str().unwrap()).unwrap();
    assert_eq!(url.host_str(), Some("github.com"));
    let owner = url
        .path_segments()
        .unwrap()
        .next()
        .unwrap()
        .to_ascii_lowercase();

    // The add-on's Dockerfile fetches nothing and starts from the workflow's TeslaSync image.
    let addon = dockerfile(&addon_dir().join("Dockerfile"));
    for stage in &addon {
        for i in stage {
            for fetch in ["git clone", "curl ", "wget ", "cargo "] {
                assert!(
                    !i.args.contains(fetch),
                    "{} {}: builds from nothing but the published image",
                    i.op,
                    i.args
                );
            }
        }
    }
    let global_args: std::collections::HashMap<&str, &str> = args_of(&addon[0], "ARG")
        .iter()
        .filter_map(|a| a.split_once('='))
        .collect();
    assert_eq!(
        global_args["TESLASYNC_IMAGE"],
        format!("ghcr.io/{owner}/teslasync")
    );
    assert_eq!(global_args["BUILD_VERSION"], env!("CARGO_PKG_VERSION"));
    assert_eq!(
        addon[1][0].args,
        "${TESLASYNC_IMAGE}:${BUILD_VERSION} AS teslasync"
    );
    let labels = args_of(addon.last().unwrap(), "LABEL").join(" ");
    for label in ["io.hass.type=\"app\"", "io.hass.version=", "io.hass.arch="] {
        assert!(labels.contains(label), "{label}");
    }

    // config.yaml names the image the workflow publishes; the Supervisor pulls it at `version`.
    let m = manifest();
    assert_eq!(
        m["image"].as_str(),
        Some(format!("ghcr.io/{owner}/teslasync-addon").as_str())
    );

    // The workflow: on version tags, both images, from the root Dockerfile and from the add-on's
    // folder, for both architectures Home Assistant supports, each under its version tag.
    let wf = std::fs::read_to_string(repo_root().join(".github/workflows/release.yml")).unwrap();
    let wf = YamlLoader::load_from_str(&wf).unwrap().remove(0);
    assert_eq!(wf["on"]["push"]["tags"][0].as_str(), Some("v*"));
    let jobs = wf["jobs"].as_hash().unwrap();
    let build_of = |context: &str| {
        jobs.values()
            .find_map(|job| {
                let steps = job["steps"].as_vec()?;
                let step = steps
                    .iter()
                    .find(|s| s["with"]["context"].as_str() == Some(context))?;
                Some((job.clone(), step["with"].clone()))
            })
            .unwrap_or_else(|| panic!("no workflow job builds context {context}"))
    };
    let owner_expr = "ghcr.io/${{ needs.version.outputs.owner }}";
    for (context, image) in [
        (".", "teslasync"),
        ("ha-addon/teslasync", "teslasync-addon"),
    ] {
        let (job, with) = build_of(context);
        let platforms: Vec<&str> = job["strategy"]["matrix"]["include"]
            .as_vec()
            .unwrap()
            .iter()
            .map(|m| m["platform"].as_str().unwrap())
            .collect();
        assert_eq!(platforms, ["linux/amd64", "linux/arm64"], "{context}");
        assert_eq!(with["push"].as_bool(), Some(true));
        assert!(
            with["tags"].as_str().unwrap().starts_with(&format!(
                "{owner_expr}/{image}:${{{{ needs.version.outputs.version }}}}"
            )),
            "{context}: {:?}",
            with["tags"]
        );
    }
    let (_, addon_with) = build_of("ha-addon/teslasync");
    assert!(addon_with["build-args"]
        .as_str()
        .unwrap()
        .contains(&format!("TESLASYNC_IMAGE={owner_expr}/teslasync")));
    // The owner the workflow publishes under is the repository's, lower case, as ghcr.io wants.
    let check = jobs[&Yaml::String("version".into())]["steps"]
        .as_vec()
        .unwrap()
        .iter()
        .find_map(|s| s["run"].as_str())
        .unwrap()
        .to_owned();
    assert!(check.contains("owner=${GITHUB_REPOSITORY_OWNER,,}"));
    assert!(check.contains("Cargo.toml") && check.contains("config.yaml"));
}
