//! The set-up commands of the `teslasync` binary, run as a user would, against the simulator:
//! `keys generate/show`, `auth login --paste` / `auth status` / `auth logout`, `partner register/verify`.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

use common::*;
use teslasync::sim::{SimConfig, SCOPES};

/// The binary configured through the environment only, as in Docker.
fn teslasync(sim: &SimServer, dir: &std::path::Path, key: &str) -> Command {
    let defaults = SimConfig::default();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_teslasync"));
    cmd.env("TESLA_CLIENT_ID", defaults.client_id)
        .env("TESLA_CLIENT_SECRET", defaults.client_secret)
        .env("TESLA_API_BASE_URL", sim.url.as_str())
        .env("TESLASYNC_TESLA__AUTH_BASE_URL", sim.url.as_str())
        .env(
            "TESLA_REDIRECT_URI",
            "https://teslasync.test/api/v1/auth/callback",
        )
        .env("TESLASYNC_TESLA__DOMAIN", "teslasync.test")
        .env("TESLASYNC_STORAGE__PATH", dir)
        .env("ENCRYPTION_KEY", key);
    cmd
}

fn output(cmd: &mut Command) -> (i32, String, String) {
    let out = cmd.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_generate_refuses_to_overwrite_and_show_prints_only_the_public_key() {
    let sim = SimServer::start(SimConfig::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let key = random_key();
    let run = |args: &[&str]| output(teslasync(&sim, dir.path(), key.expose()).args(args));

    let (code, _, err) = run(&["keys", "show"]);
    assert_eq!(code, 1);
    assert!(err.contains("keys generate"), "{err}");
    let (code, out, _) = run(&["keys", "generate"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("BEGIN PUBLIC KEY") && !out.contains("PRIVATE"));
    let path = teslasync::keys::default_path(dir.path());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let first = std::fs::read(&path).unwrap();
    let (code, _, err) = run(&["keys", "generate"]);
    assert_eq!(code, 2, "refuses without --force");
    assert!(err.contains("--force"), "{err}");
    assert_eq!(std::fs::read(&path).unwrap(), first, "the key is untouched");
    let (code, _, _) = run(&["keys", "generate", "--force"]);
    assert_eq!(code, 0);
    assert_ne!(std::fs::read(&path).unwrap(), first);
    let (code, out, _) = run(&["keys", "show"]);
    assert_eq!(code, 0);
    let loaded = teslasync::keys::CommandKey::load(&path).unwrap();
    assert!(out.contains(&loaded.fingerprint()));
    assert!(out.contains(&loaded.public_key_pem()));
    assert!(!out.contains("PRIVATE"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_login_accepts_a_pasted_callback_url() {
    let sim = SimServer::start(SimConfig::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let key = random_key();
    let mut child = teslasync(&sim, dir.path(), key.expose())
        .args(["auth", "login", "--paste"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    // The sign-in URL is the first line that is a URL; the rest of stdout is drained (like a terminal).
    let (url_tx, url_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Ok(url) = url::Url::parse(line.trim()) {
                let _ = url_tx.send(url);
            }
        }
    });
    let authorize = tokio::task::spawn_blocking(move || url_rx.recv_timeout(TIMEOUT).unwrap())
        .await
        .unwrap();
    assert_eq!(
        authorize
            .query_pairs()
            .find(|(k, _)| k == "show_keypair_step")
            .unwrap()
            .1,
        "true"
    );
    // The user signs in; Tesla redirects to https://teslasync.test/..., which does not load; they
    // paste its address.
    let browser = Browser::new();
    assert_eq!(browser.get(authorize.as_str()).await.status, 200);
    let back = browser
        .post_form(authorize.as_str(), &teslasync::sim::approve_form(&SCOPES))
        .await;
    let callback = back.location();
    assert!(callback
        .as_str()
        .starts_with("https://teslasync.test/api/v1/auth/callback?code="));
    let mut stdin = child.stdin.take().unwrap();
    writeln!(stdin, "not a url").unwrap();
    writeln!(stdin, "{callback}").unwrap();
    let out = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(err.contains("not a URL"), "a bad paste is explained: {err}");

    let (code, status, _) =
        output(teslasync(&sim, dir.path(), key.expose()).args(["auth", "status"]));
    assert_eq!(code, 0, "{status}");
    assert!(status.contains("Signed in"), "{status}");
    let (code, _, _) = output(teslasync(&sim, dir.path(), key.expose()).args(["auth", "logout"]));
    assert_eq!(code, 0);
    let (code, status, _) =
        output(teslasync(&sim, dir.path(), key.expose()).args(["auth", "status"]));
    assert_eq!(code, 1);
    assert!(status.contains("Not signed in"), "{status}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partner_register_explains_412_then_registers_and_verifies() {
    let sim = SimServer::start(SimConfig::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let key = random_key();
    // The partner commands use a scratch store in the temp directory: it must be gone on every path.
    let tmp = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        output(
            teslasync(&sim, dir.path(), key.expose())
                .env("TMPDIR", tmp.path())
                .args(args),
        )
    };
    assert_eq!(run(&["keys", "generate"]).0, 0);

    let (code, out, _) = run(&["partner", "register"]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("https://teslasync.test/.well-known/appspecific/com.tesla.3p.public-key.pem")
            && out.contains("412"),
        "{out}"
    );
    // Serve this installation's public key where the simulated Tesla looks for it.
    let local =
        teslasync::keys::CommandKey::load(&teslasync::keys::default_path(dir.path())).unwrap();
    let pem = local.public_key_pem();
    let (listener, url) = bind_http().await;
    let app = axum::Router::new().route(
        teslasync::tesla::fleet::partner::WELL_KNOWN_PATH,
        axum::routing::get(move || {
            let pem = pem.clone();
            async move { pem }
        }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await });
    sim.sim.serve_domain("teslasync.test", url.as_str());

    let (code, out, err) = run(&["partner", "register"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("registered teslasync.test"), "{out}");
    let (code, out, _) = run(&["partner", "verify", "--domain", "teslasync.test"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("registered with the local key"), "{out}");
    let (code, _, err) = run(&["partner", "verify", "--domain", "https://x"]);
    assert_eq!(code, 2, "a bad domain is a usage error: {err}");
    let left: Vec<_> = std::fs::read_dir(tmp.path()).unwrap().collect();
    assert!(left.is_empty(), "scratch stores left behind: {left:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_login_completes_when_tesla_redirects_to_its_listener() {
    let sim = SimServer::start(SimConfig::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let key = random_key();
    // A free port for the redirect URI (the CLI listens on http.listen while it waits).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let redirect = format!("http://127.0.0.1:{port}/api/v1/auth/callback");
    let mut child = teslasync(&sim, dir.path(), key.expose())
        .env("TESLA_REDIRECT_URI", &redirect)
        .env("TESLASYNC_HTTP__LISTEN", format!("127.0.0.1:{port}"))
        .args(["auth", "login"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (line_tx, line_rx) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = line_tx.send(line);
        }
    });
    // The URL comes first; "Waiting for Tesla to redirect" says the listener is up.
    let (authorize, listening) = tokio::task::spawn_blocking(move || {
        let mut authorize = None;
        loop {
            let line = line_rx
                .recv_timeout(TIMEOUT)
                .expect("the CLI prints its sign-in URL and waits");
            if let Ok(url) = url::Url::parse(line.trim()) {
                authorize = Some(url);
            }
            if line.contains("Waiting for Tesla to redirect") {
                return (authorize.expect("the URL comes first"), line);
            }
        }
    })
    .await
    .unwrap();
    assert!(
        listening.contains(&format!("127.0.0.1:{port}")),
        "{listening}"
    );

    // The user signs in; Tesla redirects the browser to the CLI's listener, which completes the login.
    let browser = Browser::new();
    assert_eq!(browser.get(authorize.as_str()).await.status, 200);
    let back = browser
        .post_form(authorize.as_str(), &teslasync::sim::approve_form(&SCOPES))
        .await;
    let callback = back.location();
    assert!(callback.as_str().starts_with(&redirect), "{callback}");
    let page = browser.get(callback.as_str()).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let out = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let (code, status, _) =
        output(teslasync(&sim, dir.path(), key.expose()).args(["auth", "status"]));
    assert_eq!(code, 0, "{status}");
    assert!(status.contains("Signed in"), "{status}");
}

/// `teslasync healthcheck` (the container's HEALTHCHECK): 0 while the daemon answers, 1 after it stops.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthcheck_follows_the_daemon() {
    let sim = SimServer::start(SimConfig::default()).await;
    let setup = Setup::new(&sim);
    let running = Running::start(&setup.cfg, teslasync::clock::Clock::system()).await;
    let health = running.web().join("healthz").unwrap().to_string();
    let check = move || {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_teslasync"));
        cmd.args(["healthcheck", "--url", &health]);
        output(&mut cmd)
    };
    let (code, _, err) = tokio::task::spawn_blocking(check.clone()).await.unwrap();
    assert_eq!(code, 0, "{err}");
    running.stop().await;
    let (code, _, err) = tokio::task::spawn_blocking(check).await.unwrap();
    assert_eq!(code, 1);
    assert!(err.contains("did not answer"), "{err}");
}

/// Reads `teslasync sim`'s banner: the `export NAME=VALUE` lines and the refresh token.
fn read_banner(stdout: impl std::io::Read) -> (Vec<(String, String)>, String) {
    let mut env = Vec::new();
    let mut token = None;
    let mut token_next = false;
    for line in BufReader::new(stdout).lines().map_while(Result::ok) {
        let line = line.trim().to_string();
        if let Some(assign) = line.strip_prefix("export ") {
            let (k, v) = assign.split_once('=').unwrap();
            env.push((k.to_string(), v.to_string()));
        } else if line.contains("refresh token (single use)") {
            token_next = true;
        } else if token_next && !line.is_empty() {
            token = Some(line.clone());
            token_next = false;
        }
        if line.starts_with("or use Sign in with Tesla") {
            break;
        }
    }
    (env, token.expect("the banner has a refresh token"))
}

/// The binary with nothing in its environment but `env` (and PATH), run in `dir`.
fn bare(env: &[(String, String)], dir: &std::path::Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_teslasync"));
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .envs(env.iter().map(|(k, v)| (k, v)))
        .current_dir(dir);
    cmd
}

/// `teslasync sim` names every variable a daemon needs (the storage key too): with only those,
/// `auth import` takes the printed token from standard input (never from argv, never echoed) and
/// `check` passes once the broker is the test's own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sim_banner_is_enough_and_auth_import_reads_the_token_from_stdin_or_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let mut sim = Command::new(env!("CARGO_BIN_EXE_teslasync"))
        .args(["sim", "--listen", "127.0.0.1:0", "--vehicles", "1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = sim.stdout.take().unwrap();
    let (env, token) = tokio::task::spawn_blocking(move || read_banner(stdout))
        .await
        .unwrap();
    let names: Vec<&str> = env.iter().map(|(k, _)| k.as_str()).collect();
    for needed in [
        "TESLA_API_BASE_URL",
        "TESLASYNC_TESLA__AUTH_BASE_URL",
        "TESLA_CLIENT_ID",
        "TESLA_CLIENT_SECRET",
        "ENCRYPTION_KEY",
        "TESLASYNC_STORAGE__PATH",
    ] {
        assert!(names.contains(&needed), "{needed} missing from {names:?}");
    }
    assert!(
        !env.iter().any(|(_, v)| v.ends_with(":0")),
        "the real port is printed: {env:?}"
    );

    // From standard input; the token is in no process's arguments while it waits.
    let mut child = bare(&env, dir.path())
        .args(["auth", "import", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    #[cfg(target_os = "linux")]
    {
        let cmdline = std::fs::read(format!("/proc/{}/cmdline", child.id())).unwrap();
        assert!(!String::from_utf8_lossy(&cmdline).contains(&token));
    }
    writeln!(child.stdin.take().unwrap(), "{token}").unwrap();
    let out = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stdout.contains("Refresh token stored"), "{stdout}");
    assert!(!stdout.contains(&token) && !stderr.contains(&token));
    let (code, status, _) = output(bare(&env, dir.path()).args(["auth", "status"]));
    assert_eq!(code, 0, "{status}");
    assert!(status.contains("Signed in"), "{status}");

    // From a file.
    let file = dir.path().join("token.txt");
    std::fs::write(&file, format!("  {token}\n")).unwrap();
    let (code, out, err) = output(
        bare(&env, dir.path())
            .args(["auth", "import", "--token-file"])
            .arg(&file),
    );
    assert_eq!(code, 0, "{err}");
    assert!(!out.contains(&token) && !err.contains(&token));

    // On the command line: refused, not echoed, and the way to do it is named.
    let (code, out, err) =
        output(bare(&env, dir.path()).args(["auth", "import", "--refresh-token", &token]));
    assert_eq!(code, 2);
    assert!(err.contains("--token-file") && err.contains("ps"), "{err}");
    assert!(!out.contains(&token) && !err.contains(&token));
    // Nothing on standard input is an error that says so.
    let (code, _, err) = output(
        bare(&env, dir.path())
            .args(["auth", "import"])
            .stdin(Stdio::null()),
    );
    assert_eq!(code, 2);
    assert!(
        err.contains("standard input holds no refresh token"),
        "{err}"
    );

    // Those variables (and a broker of the test's own instead of 1883) pass `check`.
    let broker = Broker::start();
    let (code, out, _) = output(
        bare(&env, dir.path())
            .env("TESLASYNC_MQTT__URL", broker.url().as_str())
            .arg("check"),
    );
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("all checks passed"), "{out}");
    sim.kill().unwrap();
    sim.wait().unwrap();
}

/// The CLI contract: configuration problems are exit 2 for `check` as for `run`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_and_run_both_exit_2_on_configuration_problems() {
    let dir = tempfile::tempdir().unwrap();
    let env = vec![(
        "TESLASYNC_STORAGE__PATH".to_string(),
        dir.path().join("data").display().to_string(),
    )];
    let broker = Broker::start();
    let (code, out, _) = output(
        bare(&env, dir.path())
            .env("TESLASYNC_MQTT__URL", broker.url().as_str())
            .arg("check"),
    );
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("tesla.client_id"), "{out}");
    let (code, _, err) = output(bare(&env, dir.path()).arg("run"));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("tesla.client_id"), "{err}");
}

/// A busy web port is exit 2 for `run` (naming `http.listen`) and for `demo` (naming `--http`);
/// the log (here: a configuration warning) goes to standard error without colour codes when that
/// is not a terminal.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_port_is_exit_2_for_run_and_demo_and_each_names_its_own_setting() {
    let sim = SimServer::start(SimConfig::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = busy.local_addr().unwrap().to_string();
    let broker = Broker::start();

    let (code, _, err) = output(
        teslasync(&sim, dir.path(), random_key().expose())
            .env("TESLASYNC_HTTP__LISTEN", &addr)
            .env("TESLASYNC_MQTT__URL", broker.url().as_str())
            .env("TESLASYNC_TESLA__REGION", "eu")
            .env_remove("NO_COLOR")
            .arg("run"),
    );
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains(&addr) && err.contains("[http] listen"),
        "{err}"
    );
    assert!(
        err.contains("tesla.region eu is ignored"),
        "the warning is logged: {err}"
    );
    assert!(
        !err.contains('\u{1b}'),
        "no colour codes off a terminal: {err:?}"
    );

    let tmp = tempfile::tempdir().unwrap();
    let (code, out, err) = output(
        Command::new(env!("CARGO_BIN_EXE_teslasync"))
            .args(["demo", "--vehicles", "1", "--http", &addr, "--mqtt"])
            .arg(broker.url().as_str())
            .env("TMPDIR", tmp.path()),
    );
    assert_eq!(code, 2, "{out}\n{err}");
    assert!(err.contains(&addr) && err.contains("--http"), "{err}");
    assert!(!err.contains("TESLASYNC_HTTP__LISTEN"), "{err}");
    drop(busy);
}

/// The demo shows the broker it uses but never the password in `--mqtt` (banner, log, errors).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_never_prints_the_broker_password() {
    const PASSWORD: &str = "s3cret-broker-pw";
    let broker = Broker::start();
    let tmp = tempfile::tempdir().unwrap();
    let mqtt = format!("mqtt://demo-user:{PASSWORD}@{}", broker.addr());
    let mut child = Command::new(env!("CARGO_BIN_EXE_teslasync"))
        .args([
            "demo",
            "--vehicles",
            "1",
            "--http",
            "127.0.0.1:0",
            "--mqtt",
            &mqtt,
        ])
        .env("TMPDIR", tmp.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let banner = tokio::task::spawn_blocking(move || {
        let mut seen = String::new();
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            seen.push_str(&line);
            seen.push('\n');
            if line.contains("Press Ctrl-C to stop") {
                break;
            }
        }
        seen
    });
    let banner = tokio::time::timeout(TIMEOUT, banner)
        .await
        .expect("the demo starts")
        .unwrap();
    // SIGTERM, as Docker stops it; the demo shuts down in order.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGTERM);
    }
    let out = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    let rest = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        banner.contains("MQTT broker : ") && banner.contains("demo-user"),
        "the banner names the broker and the user: {banner}"
    );
    assert!(!banner.contains(PASSWORD), "{banner}");
    assert!(!rest.contains(PASSWORD), "{rest}");
}
