//! `teslasync`: the command line. Parses flags, sets up logging and calls into the library; the
//! behaviour lives in `teslasync::daemon`, `teslasync::demo` and `teslasync::sim`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use tokio_util::sync::CancellationToken;
use url::Url;

use teslasync::account::Account;
use teslasync::clock::Clock;
use teslasync::config::Config;
use teslasync::keys::{self, CommandKey, KeyError};
use teslasync::secret::Secret;
use teslasync::sim::{Sim, SimConfig};
use teslasync::store::{Store, StoreKey};
use teslasync::tesla::auth::oauth::{self, Callback, LOGIN_TTL};
use teslasync::tesla::auth::{AuthStatus, Tokens};

#[derive(Parser)]
#[command(
    name = "teslasync",
    version,
    about = "Connects Tesla vehicles to Home Assistant over MQTT"
)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run the daemon.
    Run {
        /// Configuration file (TOML); environment variables override it.
        #[arg(short, long)]
        config: Option<PathBuf>,
    },
    /// Run the daemon against a built-in simulated Tesla account (no Tesla credentials needed).
    Demo {
        /// Number of simulated cars.
        #[arg(long, default_value_t = 2)]
        vehicles: usize,
        /// MQTT broker, `mqtt://[USER[:PASSWORD]@]HOST:PORT`; an embedded one is started there if
        /// nothing answers.
        #[arg(long, default_value = "mqtt://127.0.0.1:1883")]
        mqtt: Url,
        /// Broker username (else the URL's, else TESLASYNC_MQTT__USERNAME).
        #[arg(long)]
        mqtt_username: Option<String>,
        /// File holding the broker password (else the URL's, else TESLASYNC_MQTT__PASSWORD); keeps
        /// it out of the process list.
        #[arg(long)]
        mqtt_password_file: Option<PathBuf>,
        /// Address of the status page.
        #[arg(long, default_value = "127.0.0.1:8080")]
        http: SocketAddr,
        /// Leave the simulated cars in Home Assistant when the demo stops (default: remove them).
        #[arg(long)]
        keep: bool,
    },
    /// Run only the simulated Tesla account (auth host + Fleet API) for a daemon pointed at it.
    Sim {
        /// Address to listen on (port 0 picks a free one; the banner shows the real address).
        #[arg(long, default_value = "127.0.0.1:8090")]
        listen: SocketAddr,
        /// Number of simulated cars.
        #[arg(long, default_value_t = 2)]
        vehicles: usize,
    },
    /// Tesla sign-in.
    Auth {
        #[command(subcommand)]
        command: AuthCmd,
        /// Configuration file (TOML); environment variables override it.
        #[arg(short, long, global = true)]
        config: Option<PathBuf>,
    },
    /// The P-256 key TeslaSync signs commands with (its public half is what cars pair with).
    Keys {
        #[command(subcommand)]
        command: KeysCmd,
        /// Configuration file (TOML); environment variables override it.
        #[arg(short, long, global = true)]
        config: Option<PathBuf>,
    },
    /// Tesla partner account: register the domain that serves the public key, and verify it.
    Partner {
        #[command(subcommand)]
        command: PartnerCmd,
        /// Configuration file (TOML); environment variables override it.
        #[arg(short, long, global = true)]
        config: Option<PathBuf>,
    },
    /// Fleet Telemetry: push the signed streaming config to every car that has TeslaSync's key.
    Telemetry {
        #[command(subcommand)]
        command: TelemetryCmd,
        /// Configuration file (TOML); environment variables override it.
        #[arg(short, long, global = true)]
        config: Option<PathBuf>,
    },
    /// Measurements against the in-process simulator.
    Bench {
        #[command(subcommand)]
        command: BenchCmd,
    },
    /// Check the configuration and connectivity; prints every problem in plain words.
    Check {
        /// Configuration file (TOML); environment variables override it.
        #[arg(short, long)]
        config: Option<PathBuf>,
    },
    /// Exit 0 if the daemon on this machine answers its health endpoint (for container health
    /// checks); 1 otherwise.
    Healthcheck {
        /// Configuration file (TOML); environment variables override it.
        #[arg(short, long)]
        config: Option<PathBuf>,
        /// Health URL (default: http://127.0.0.1:<port of http.listen>/healthz).
        #[arg(long)]
        url: Option<Url>,
    },
}

#[derive(Subcommand)]
enum BenchCmd {
    /// A simulated 24-hour day of two cars, priced at Tesla's rates, for TeslaSync's polling policy
    /// and the documented policies of Home Assistant's tesla_fleet and of TeslaMate (virtual time;
    /// two runs print the same numbers).
    Day {
        /// Print one JSON object instead of the table.
        #[arg(long)]
        json: bool,
    },
    /// Fleet Telemetry through the daemon on loopback (private Mosquitto, simulated cars over
    /// mutual TLS): datums per second on one core beside a bare MQTT client, and memory with 1, 10
    /// and 100 streaming cars.
    Telemetry {
        /// Length of each measurement window.
        #[arg(long, default_value_t = 20)]
        seconds: u64,
        /// Print one JSON object instead of the tables.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum KeysCmd {
    /// Create the key in the data directory (mode 0600).
    Generate {
        /// Replace an existing key (every car must then be paired again).
        #[arg(long)]
        force: bool,
    },
    /// Print the public key (PEM) and its fingerprint; never the private key.
    Show,
}

#[derive(Subcommand)]
enum TelemetryCmd {
    /// Sign the field profile with the command key, send it to each paired car
    /// (fleet_telemetry_config_jws) and report what each car synced. Stop the daemon first: it
    /// holds the store with the tokens.
    Configure,
}

#[derive(Subcommand)]
enum PartnerCmd {
    /// Register the application in every region the account needs (POST /api/1/partner_accounts).
    Register {
        /// The host serving /.well-known/appspecific/com.tesla.3p.public-key.pem (default: tesla.domain).
        #[arg(long)]
        domain: Option<String>,
    },
    /// Compare the public key Tesla recorded with the local one.
    Verify {
        /// The registered host to check (default: tesla.domain).
        #[arg(long)]
        domain: Option<String>,
    },
}

#[derive(Subcommand)]
enum AuthCmd {
    /// Store a refresh token obtained elsewhere (it will be rotated on first use). Reads it from
    /// standard input, or from --token-file; never from the command line, where `ps` shows it.
    Import {
        /// `-` (or nothing) reads the token from standard input: `teslasync auth import - < token.txt`.
        #[arg(value_name = "-", value_parser = ["-"])]
        stdin: Option<String>,
        /// Read the token from this file (its first line; surrounding whitespace is ignored).
        #[arg(long, value_name = "FILE", conflicts_with = "stdin")]
        token_file: Option<PathBuf>,
        /// Refused: a token in the arguments is visible to every user of the machine in `ps`.
        /// Use standard input or --token-file.
        #[arg(long, value_name = "TOKEN", hide = true)]
        refresh_token: Option<String>,
    },
    /// Show whether TeslaSync is signed in (never shows a token).
    Status,
    /// Sign in with Tesla: prints the sign-in URL, then waits for Tesla's redirect (on http.listen) or
    /// for the address of the page Tesla sent you to, pasted here.
    Login {
        /// Do not listen for the redirect; only read the pasted address.
        #[arg(long)]
        paste: bool,
    },
    /// Forget the stored tokens.
    Logout,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    let code = runtime.block_on(dispatch(cli.command));
    // Do not wait for blocked readers (the stdin of `auth login`): the command is done.
    runtime.shutdown_background();
    ExitCode::from(code as u8)
}

/// Loads configuration or prints every problem and returns exit code 2.
fn load_config(path: Option<&std::path::Path>) -> Result<Config, i32> {
    Config::load(path).map_err(|e| {
        eprintln!("teslasync: configuration problem:\n{e}");
        2
    })
}

/// Logs go to standard error (standard output carries what a command prints for the user), in
/// colour only on a terminal and never when `NO_COLOR` is set (<https://no-color.org>): escape
/// codes in a container log or a file are noise.
fn init_logging(level: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new(format!("teslasync={level},rumqttd=off,warn"))
    });
    let colour = colour_logs(
        std::io::IsTerminal::is_terminal(&std::io::stderr()),
        std::env::var_os("NO_COLOR"),
    );
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(colour)
        .try_init();
}

/// Colour when the log goes to a terminal and `NO_COLOR` is unset or empty.
fn colour_logs(terminal: bool, no_color: Option<std::ffi::OsString>) -> bool {
    terminal && no_color.is_none_or(|v| v.is_empty())
}

/// Cancels on Ctrl-C or SIGTERM (Docker and the Home Assistant supervisor stop with SIGTERM).
fn shutdown_on_signal() -> CancellationToken {
    let token = CancellationToken::new();
    let t = token.clone();
    tokio::spawn(async move {
        #[cfg(unix)]
        {
            let mut term =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                    .expect("SIGTERM handler");
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
        }
        #[cfg(not(unix))]
        let _ = tokio::signal::ctrl_c().await;
        t.cancel();
    });
    token
}

async fn dispatch(cmd: Cmd) -> i32 {
    match cmd {
        Cmd::Run { config } => {
            let mut cfg = match load_config(config.as_deref()) {
                Ok(c) => c,
                Err(code) => return code,
            };
            // As a Home Assistant add-on: the broker from the Supervisor, the storage key in /data.
            let env: std::collections::HashMap<String, String> = std::env::vars_os()
                .map(|(k, v)| {
                    (
                        k.to_string_lossy().into_owned(),
                        v.to_string_lossy().into_owned(),
                    )
                })
                .collect();
            if let Some(supervisor) = teslasync::supervisor::Supervisor::from_env(&env) {
                if let Err(e) = supervisor.configure(&mut cfg).await {
                    eprintln!("teslasync: {e}");
                    return 2;
                }
            }
            if let Err(e) = cfg.require_for_run() {
                eprintln!("teslasync: configuration problem:\n{e}");
                return 2;
            }
            init_logging(&cfg.log.level);
            for warning in cfg.warnings() {
                tracing::warn!("{warning}");
            }
            match teslasync::daemon::run(cfg, shutdown_on_signal()).await {
                Ok(()) => 0,
                Err(e) => {
                    eprintln!("teslasync: {e}");
                    e.exit_code()
                }
            }
        }
        Cmd::Demo {
            vehicles,
            mqtt,
            mqtt_username,
            mqtt_password_file,
            http,
            keep,
        } => {
            init_logging("info");
            let (mqtt, login) = match teslasync::demo::MqttLogin::resolve(
                &mqtt,
                mqtt_username,
                mqtt_password_file.as_deref(),
                |name| std::env::var(name).ok(),
            ) {
                Ok(resolved) => resolved,
                Err(e) => {
                    eprintln!("teslasync demo: {e}");
                    return 2;
                }
            };
            let opts = teslasync::demo::DemoOptions {
                vehicles,
                mqtt,
                http,
                login,
                keep,
            };
            match teslasync::demo::run(opts, Config::defaults(), shutdown_on_signal()).await {
                Ok(()) => 0,
                Err(e) => {
                    eprintln!("teslasync demo: {e}");
                    e.exit_code()
                }
            }
        }
        Cmd::Bench {
            command: BenchCmd::Day { json },
        } => match teslasync::bench::day().await {
            Ok(report) if json => {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&report).expect("a report serializes")
                );
                0
            }
            Ok(report) => {
                print!("{}", teslasync::bench::table(&report));
                0
            }
            Err(e) => {
                eprintln!("error: the day benchmark failed: {e:#}");
                1
            }
        },
        Cmd::Bench {
            command: BenchCmd::Telemetry { seconds, json },
        } => match teslasync::bench::telemetry::telemetry(seconds).await {
            Ok(report) if json => {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&report).expect("a report serializes")
                );
                0
            }
            Ok(report) => {
                print!("{}", teslasync::bench::telemetry::table(&report));
                0
            }
            Err(e) => {
                eprintln!("error: the telemetry benchmark failed: {e:#}");
                1
            }
        },
        Cmd::Sim { listen, vehicles } => {
            init_logging("info");
            let sim = Sim::new(SimConfig {
                vehicles,
                ..SimConfig::default()
            });
            let listener = match tokio::net::TcpListener::bind(listen).await {
                Ok(l) => l,
                Err(e) => {
                    eprintln!("teslasync sim: cannot listen on {listen}: {e}");
                    return 2;
                }
            };
            let addr = listener.local_addr().unwrap_or(listen);
            let defaults = SimConfig::default();
            let storage_key = {
                use base64::Engine as _;
                base64::engine::general_purpose::STANDARD.encode(rand::random::<[u8; 32]>())
            };
            print!(
                "{}",
                teslasync::sim::banner(
                    &format!("http://{addr}"),
                    &defaults.client_id,
                    &defaults.client_secret,
                    &storage_key,
                    &sim.issue_refresh_token(),
                )
            );
            // The banner goes to a pipe in scripts and tests: do not leave it in a buffer.
            let _ = std::io::Write::flush(&mut std::io::stdout());
            match sim.serve(listener, shutdown_on_signal()).await {
                Ok(()) => 0,
                Err(e) => {
                    eprintln!("teslasync sim: {e}");
                    1
                }
            }
        }
        Cmd::Auth { command, config } => {
            if let AuthCmd::Import {
                refresh_token: Some(_),
                ..
            } = &command
            {
                // Refused before anything else; the value itself is never echoed.
                eprintln!("teslasync: --refresh-token is not accepted: a token on the command line is visible to every user of this machine (`ps`, shell history). Pipe it in: `teslasync auth import - < token.txt`, or use `--token-file FILE`");
                return 2;
            }
            let cfg = match load_config(config.as_deref()) {
                Ok(c) => c,
                Err(code) => return code,
            };
            let store = match teslasync::daemon::open_store(&cfg) {
                Ok(s) => s,
                Err(e) => {
                    eprintln!("teslasync: {e}");
                    return e.exit_code();
                }
            };
            match command {
                AuthCmd::Import { token_file, .. } => {
                    let token = match read_token(token_file.as_deref()) {
                        Ok(t) => t,
                        Err(e) => {
                            eprintln!("teslasync: {e}");
                            return 2;
                        }
                    };
                    match Tokens::import_refresh_token(&store, &token) {
                        Ok(()) => {
                            println!("Refresh token stored (encrypted). The daemon exchanges it on its next request.");
                            0
                        }
                        Err(e) => {
                            eprintln!("teslasync: {e}");
                            1
                        }
                    }
                }
                AuthCmd::Login { paste } => login(&cfg, store, paste).await,
                AuthCmd::Logout => match Tokens::remove_stored(&store) {
                    Ok(()) => {
                        println!("Signed out: the Tesla tokens are deleted. (To withdraw the consent at Tesla too, remove the app under Third-party apps in your Tesla account.)");
                        0
                    }
                    Err(e) => {
                        eprintln!("teslasync: {e}");
                        1
                    }
                },
                AuthCmd::Status => match Tokens::stored_status(&store) {
                    Ok(AuthStatus::SignedOut) => {
                        println!("Not signed in. Sign in with `teslasync auth login`, or import a refresh token with `teslasync auth import - < token.txt`.");
                        1
                    }
                    Ok(AuthStatus::SignedIn { expires_at: 0 }) => {
                        println!("Signed in (refresh token imported; not used yet).");
                        0
                    }
                    Ok(AuthStatus::SignedIn { expires_at }) => {
                        let at = teslasync::util::later(
                            std::time::UNIX_EPOCH,
                            Duration::from_secs(expires_at),
                        );
                        println!(
                            "Signed in; the access token expires at {}.",
                            humantime::format_rfc3339_seconds(at)
                        );
                        0
                    }
                    Ok(AuthStatus::ReauthRequired { reason }) => {
                        println!("Sign-in needed again: {reason}");
                        1
                    }
                    Err(e) => {
                        eprintln!("teslasync: {e}");
                        1
                    }
                },
            }
        }
        Cmd::Keys { command, config } => {
            let cfg = match load_config(config.as_deref()) {
                Ok(c) => c,
                Err(code) => return code,
            };
            keys_cmd(&cfg, command)
        }
        Cmd::Partner { command, config } => {
            let cfg = match load_config(config.as_deref()) {
                Ok(c) => c,
                Err(code) => return code,
            };
            partner_cmd(&cfg, command).await
        }
        Cmd::Telemetry { command, config } => {
            let cfg = match load_config(config.as_deref()) {
                Ok(c) => c,
                Err(code) => return code,
            };
            match command {
                TelemetryCmd::Configure => telemetry_configure(&cfg).await,
            }
        }
        Cmd::Check { config } => check(config).await,
        Cmd::Healthcheck { config, url } => healthcheck(config, url).await,
    }
}

/// Longest refresh token accepted (Tesla's are a few hundred bytes); more is not a token.
const MAX_TOKEN_LEN: u64 = 16 * 1024;

/// The refresh token for `auth import`: from `file`, else standard input. Errors never contain it.
fn read_token(file: Option<&std::path::Path>) -> Result<Secret, String> {
    use std::io::Read as _;
    let mut text = String::new();
    let (what, read) = match file {
        Some(path) => {
            let what = format!("--token-file {}", path.display());
            let read = std::fs::File::open(path)
                .and_then(|f| f.take(MAX_TOKEN_LEN + 1).read_to_string(&mut text));
            (what, read)
        }
        None => {
            if std::io::IsTerminal::is_terminal(&std::io::stdin()) {
                eprintln!("Paste the refresh token and press Enter:");
            }
            let read = std::io::BufRead::read_line(
                &mut std::io::stdin().lock().take(MAX_TOKEN_LEN + 1),
                &mut text,
            );
            ("standard input".to_string(), read)
        }
    };
    read.map_err(|e| format!("cannot read the refresh token from {what}: {e}"))?;
    if text.len() as u64 > MAX_TOKEN_LEN {
        return Err(format!(
            "{what} holds more than {MAX_TOKEN_LEN} bytes; that is not a refresh token"
        ));
    }
    let token = text.lines().next().unwrap_or("").trim();
    if token.is_empty() {
        return Err(format!(
            "{what} holds no refresh token (expected the token on the first line)"
        ));
    }
    if token.chars().any(char::is_whitespace) {
        return Err(format!(
            "the first line of {what} contains spaces; a refresh token is one word"
        ));
    }
    Ok(Secret::from(token.to_string()))
}

/// The set-up service for a CLI command, on `store`.
fn cli_account(cfg: &Config, store: Store) -> Account {
    let key_path = keys::default_path(&cfg.storage.path);
    let key = CommandKey::load(&key_path).ok();
    let http = teslasync::tesla::http_client().expect("HTTP client");
    let hosts = teslasync::tesla::region::FleetHosts::tesla();
    match Account::connect(
        &cfg.tesla,
        store,
        http,
        Clock::system(),
        hosts,
        key,
        key_path,
    ) {
        Ok(account) => account,
        Err(e) => {
            eprintln!("teslasync: {e}");
            std::process::exit(1);
        }
    }
}

/// `teslasync auth login [--paste]`.
async fn login(cfg: &Config, store: Store, paste: bool) -> i32 {
    let account = cli_account(cfg, store);
    let (url, state) = match account.start_login() {
        Ok(x) => x,
        Err(e) => {
            eprintln!("teslasync: {e}");
            return e.exit_code();
        }
    };
    println!("Open this address in a browser and sign in with your Tesla account:\n\n  {url}\n");
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Callback>(4);
    let stop = CancellationToken::new();
    if !paste {
        listen_for_callback(cfg, &account, tx.clone(), stop.clone()).await;
    }
    println!("If the browser ends on a page that does not load, copy that page's whole address and paste it here:");
    let pasted = tx.clone();
    tokio::spawn(async move {
        use tokio::io::AsyncBufReadExt;
        let mut lines = tokio::io::BufReader::new(tokio::io::stdin()).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            if line.trim().is_empty() {
                continue;
            }
            match oauth::callback_from_pasted(&line) {
                Ok(cb) => {
                    let _ = pasted.send(cb).await;
                }
                Err(e) => eprintln!("{e}"),
            }
        }
    });
    drop(tx);
    let code = loop {
        let cb = match tokio::time::timeout(LOGIN_TTL, rx.recv()).await {
            Ok(Some(cb)) => cb,
            Ok(None) => {
                eprintln!("teslasync: no sign-in address was received");
                break 1;
            }
            Err(_) => {
                eprintln!(
                    "teslasync: the sign-in was not completed within {} minutes; run `teslasync auth login` again",
                    LOGIN_TTL.as_secs() / 60
                );
                break 1;
            }
        };
        if cb.state != state {
            eprintln!("That address belongs to another sign-in (its state does not match); paste the one from this sign-in.");
            continue;
        }
        match account.finish_login(&cb).await {
            Ok(report) => {
                println!("{}", report.summary());
                break 0;
            }
            Err(e) => {
                eprintln!("teslasync: {e}");
                break e.exit_code();
            }
        }
    };
    stop.cancel();
    code
}

/// Serves the redirect URI's path on `http.listen` until `stop`, forwarding callbacks. Best effort: a
/// busy port (the daemon, another program) just means the user pastes instead.
async fn listen_for_callback(
    cfg: &Config,
    account: &Account,
    tx: tokio::sync::mpsc::Sender<Callback>,
    stop: CancellationToken,
) {
    let path = account
        .redirect_uri()
        .ok()
        .and_then(|r| Url::parse(r).ok())
        .map(|u| u.path().to_string())
        .unwrap_or_else(|| "/api/v1/auth/callback".to_string());
    let listener = match tokio::net::TcpListener::bind(cfg.http.listen).await {
        Ok(l) => l,
        Err(e) => {
            println!(
                "(Not listening for Tesla's redirect on {}: {e}.)",
                cfg.http.listen
            );
            return;
        }
    };
    let handler = move |axum::extract::RawQuery(q): axum::extract::RawQuery| {
        let tx = tx.clone();
        async move {
            let pairs: Vec<(String, String)> =
                url::form_urlencoded::parse(q.unwrap_or_default().as_bytes())
                    .into_owned()
                    .collect();
            match oauth::callback_from_pairs(&pairs) {
                Ok(cb) => {
                    let _ = tx.send(cb).await;
                    "TeslaSync received the sign-in; see the terminal. You can close this tab.\n"
                        .to_string()
                }
                Err(e) => format!("{e}\n"),
            }
        }
    };
    let app = axum::Router::new().route(&path, axum::routing::get(handler));
    println!(
        "Waiting for Tesla to redirect to {} (listening on {}).",
        account.redirect_uri().unwrap_or("?"),
        cfg.http.listen
    );
    tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(stop.cancelled_owned())
            .await;
    });
}

/// `teslasync keys generate|show`.
fn keys_cmd(cfg: &Config, command: KeysCmd) -> i32 {
    let path = keys::default_path(&cfg.storage.path);
    let key = match command {
        KeysCmd::Generate { force } => match CommandKey::generate(&path, force) {
            Ok(key) => {
                println!("Created the command key {} (mode 0600).", path.display());
                key
            }
            Err(e @ KeyError::Exists { .. }) => {
                eprintln!("teslasync: {e}");
                return 2;
            }
            Err(e) => {
                eprintln!("teslasync: {e}");
                return 1;
            }
        },
        KeysCmd::Show => match CommandKey::load(&path) {
            Ok(key) => key,
            Err(KeyError::Read { .. }) if !path.exists() => {
                eprintln!("teslasync: there is no command key at {} yet: run `teslasync keys generate` (the daemon also creates one on first start)", path.display());
                return 1;
            }
            Err(e) => {
                eprintln!("teslasync: {e}");
                return 1;
            }
        },
    };
    println!(
        "Fingerprint (SHA-256 of the public key): {}",
        key.fingerprint()
    );
    print!("{}", key.public_key_pem());
    match &cfg.tesla.domain {
        Some(domain) => println!(
            "Tesla fetches it from https://{domain}{} (TeslaSync serves it there).",
            teslasync::tesla::fleet::partner::WELL_KNOWN_PATH
        ),
        None => println!(
            "Set [tesla] domain to the host that serves it, then run `teslasync partner register`."
        ),
    }
    0
}

/// A throw-away sealed store for commands that need no stored state (partner calls use the
/// application's own token), so they also work while the daemon holds the real store.
fn scratch_store() -> Result<(Store, PathBuf), String> {
    let dir = std::env::temp_dir().join(format!(
        "teslasync-cli-{}-{:x}",
        std::process::id(),
        rand::random::<u64>()
    ));
    Store::open(&dir, StoreKey::Ephemeral)
        .map(|s| (s, dir))
        .map_err(|e| e.to_string())
}

/// `teslasync telemetry configure`: exit 0 when every paired car synced the config, 1 otherwise,
/// 2 for configuration problems.
async fn telemetry_configure(cfg: &Config) -> i32 {
    use teslasync::tesla::telemetry::{self, profile};
    let Some(hostname) = cfg.telemetry.hostname.clone() else {
        eprintln!("teslasync: telemetry.hostname is not set: cars need the public name to connect to; set [telemetry] hostname or TESLASYNC_TELEMETRY__HOSTNAME");
        return 2;
    };
    let key = match CommandKey::load(&keys::default_path(&cfg.storage.path)) {
        Ok(k) => k,
        Err(e) => {
            eprintln!("teslasync: {e}");
            return 2;
        }
    };
    let identity = match telemetry::identity(&cfg.telemetry, &cfg.storage.path) {
        Ok(i) => i,
        Err(e) => {
            eprintln!("teslasync: {e}");
            return 2;
        }
    };
    let store = match teslasync::daemon::open_store(cfg) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("teslasync: {e}");
            return e.exit_code();
        }
    };
    let account = cli_account(cfg, store);
    let fleet = account.fleet();
    let vins: Vec<String> = match fleet.vehicles().await {
        Ok(v) => v.into_iter().map(|v| v.vin).collect(),
        Err(e) => {
            eprintln!("teslasync: could not list the cars: {e}");
            return 1;
        }
    };
    let paired = match fleet.fleet_status(&vins).await {
        Ok(s) => s.key_paired_vins,
        Err(e) => {
            eprintln!("teslasync: could not read the virtual-key status: {e}");
            return 1;
        }
    };
    for vin in vins.iter().filter(|v| !paired.contains(v)) {
        println!("{vin}: skipped, TeslaSync's virtual key is not paired (open the pairing link on the status page)");
    }
    if paired.is_empty() {
        return 1;
    }
    let config = profile::config(
        &hostname,
        cfg.telemetry.port,
        &identity.ca_pem,
        profile::PROFILE,
    );
    let results = match telemetry::configure(fleet, &key.protocol_key(), &paired, &config).await {
        Ok(r) => r,
        Err(e) => {
            eprintln!("teslasync: Tesla refused the telemetry config: {e}");
            return 1;
        }
    };
    let mut all = true;
    for r in results {
        let line = match (&r.skipped, &r.status) {
            (Some(reason), _) => format!("skipped by Tesla: {reason}"),
            (None, Some(s)) if s.active() => "configured and synced; it streams while awake".into(),
            (None, Some(s)) if s.limit_reached => {
                "accepted but the car is at its limit of telemetry configs (remove another app's)"
                    .into()
            }
            (None, Some(s)) if s.synced => {
                "accepted but the car holds no config (at its limit of configs?)".into()
            }
            (None, Some(_)) => "accepted; the car syncs it the next time it is online".into(),
            (None, None) => "accepted; the status could not be read back".into(),
        };
        all &= r.status.as_ref().is_some_and(|s| s.active());
        println!("{}: {line}", r.vin);
    }
    if all {
        0
    } else {
        1
    }
}

/// `teslasync partner register|verify`.
async fn partner_cmd(cfg: &Config, command: PartnerCmd) -> i32 {
    let (store, dir) = match scratch_store() {
        Ok(x) => x,
        Err(e) => {
            eprintln!("teslasync: {e}");
            return 1;
        }
    };
    let code = partner_with(cli_account(cfg, store), command).await;
    // The account (and the store in it) is gone by now, so the directory can go on every path.
    let _ = std::fs::remove_dir_all(dir);
    code
}

async fn partner_with(account: Account, command: PartnerCmd) -> i32 {
    match command {
        PartnerCmd::Register { domain } => {
            let domain = match account.domain(domain.as_deref()) {
                Ok(d) => d,
                Err(e) => {
                    eprintln!("teslasync: {e}");
                    return e.exit_code();
                }
            };
            if account.key().is_none() {
                println!("Note: there is no local command key yet, so the registered key cannot be compared (run `teslasync keys generate`).");
            }
            let report = account.register_partner(&domain).await;
            for r in &report.regions {
                match (&r.error, r.matches_local) {
                    (Some(e), _) => println!("{}: FAILED — {e}", r.region),
                    (None, Some(false)) => println!("{}: registered, but Tesla recorded a different public key than the local one: {} must serve this installation's key", r.region, report.public_key_url),
                    (None, _) => println!("{}: registered {}", r.region, report.domain),
                }
            }
            i32::from(!report.ok)
        }
        PartnerCmd::Verify { domain } => {
            let domain = match account.domain(domain.as_deref()) {
                Ok(d) => d,
                Err(e) => {
                    eprintln!("teslasync: {e}");
                    return e.exit_code();
                }
            };
            let v = account.verify_partner(&domain).await;
            for r in &v.regions {
                let state = match (&r.error, &r.public_key, r.matches_local) {
                    (Some(e), _, _) => format!("could not check — {e}"),
                    (None, None, _) => "not registered".to_string(),
                    (None, Some(_), Some(true)) => "registered with the local key".to_string(),
                    (None, Some(_), _) => {
                        "registered with a DIFFERENT key than the local one".to_string()
                    }
                };
                println!("{}: {state}", r.region);
            }
            if v.matches_local {
                println!("OK: Tesla has this installation's public key for {domain}.");
                0
            } else {
                println!("Not OK: run `teslasync partner register --domain {domain}` once https://{domain}{} serves this installation's key.", teslasync::tesla::fleet::partner::WELL_KNOWN_PATH);
                1
            }
        }
    }
}

/// How long `check` waits for the broker's TCP connection.
const CHECK_CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// How long `check` and `healthcheck` wait for an HTTP answer.
const CHECK_HTTP_TIMEOUT: Duration = Duration::from_secs(5);

/// `teslasync check`: configuration, then the broker and the Fleet API host.
async fn check(config: Option<PathBuf>) -> i32 {
    let cfg = match load_config(config.as_deref()) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let mut problems = 0;
    // Configuration problems exit 2, as `run` does for the same configuration; connectivity 1.
    let mut config_ok = true;
    match cfg.require_for_run() {
        Ok(()) => println!("configuration: ok"),
        Err(e) => {
            println!("{e}");
            config_ok = false;
        }
    }
    for warning in cfg.warnings() {
        println!("warning: {warning}");
    }
    let broker = format!("{}:{}", cfg.mqtt.host(), cfg.mqtt.port());
    match tokio::time::timeout(
        CHECK_CONNECT_TIMEOUT,
        tokio::net::TcpStream::connect(&broker),
    )
    .await
    {
        Ok(Ok(_)) => println!("mqtt broker {broker}: reachable"),
        Ok(Err(e)) => {
            println!("mqtt broker {broker}: not reachable ({e}) — check [mqtt] url (TESLASYNC_MQTT__URL) and that the broker runs");
            problems += 1;
        }
        Err(_) => {
            println!("mqtt broker {broker}: timed out — no TCP connection within {} s; check [mqtt] url (TESLASYNC_MQTT__URL), the network and firewalls", CHECK_CONNECT_TIMEOUT.as_secs());
            problems += 1;
        }
    }
    let status_url = cfg
        .tesla
        .fleet_api_base()
        .join("status")
        .expect("valid url");
    match reqwest::Client::new()
        .get(status_url.clone())
        .timeout(CHECK_HTTP_TIMEOUT)
        .send()
        .await
    {
        Ok(r) if r.status().is_success() => {
            println!("fleet api {}: reachable", cfg.tesla.fleet_api_base())
        }
        Ok(r) => {
            println!(
                "fleet api {}: answered HTTP {}",
                cfg.tesla.fleet_api_base(),
                r.status().as_u16()
            );
            problems += 1;
        }
        Err(e) if e.is_timeout() => {
            println!(
                "fleet api {}: timed out — no answer within {} s; check [tesla] region / api_base_url and the network",
                cfg.tesla.fleet_api_base(),
                CHECK_HTTP_TIMEOUT.as_secs()
            );
            problems += 1;
        }
        Err(e) => {
            println!(
                "fleet api {}: not reachable ({}) — check [tesla] region / api_base_url and the network",
                cfg.tesla.fleet_api_base(),
                teslasync::tesla::transport_error(e)
            );
            problems += 1;
        }
    }
    match (config_ok, problems) {
        (true, 0) => {
            println!("all checks passed");
            0
        }
        (false, _) => 2,
        (true, _) => 1,
    }
}

/// `teslasync healthcheck`: one GET of `/healthz` on this machine, short timeout, exit 0 or 1.
async fn healthcheck(config: Option<PathBuf>, url: Option<Url>) -> i32 {
    let url = match url {
        Some(u) => u,
        None => {
            let cfg = match load_config(config.as_deref()) {
                Ok(c) => c,
                Err(code) => return code,
            };
            let mut addr = cfg.http.listen;
            if addr.ip().is_unspecified() {
                addr.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
            }
            Url::parse(&format!("http://{addr}/healthz")).expect("valid URL")
        }
    };
    let client = match reqwest::Client::builder()
        .timeout(CHECK_HTTP_TIMEOUT)
        .no_proxy()
        .build()
    {
        Ok(c) => c,
        Err(e) => {
            eprintln!("teslasync healthcheck: {e}");
            return 1;
        }
    };
    match client.get(url.clone()).send().await {
        Ok(r) if r.status().is_success() => 0,
        Ok(r) => {
            eprintln!("teslasync healthcheck: {url} answered {}", r.status());
            1
        }
        Err(e) if e.is_timeout() => {
            eprintln!(
                "teslasync healthcheck: {url} did not answer: timed out after {} s",
                CHECK_HTTP_TIMEOUT.as_secs()
            );
            1
        }
        Err(e) => {
            eprintln!(
                "teslasync healthcheck: {url} did not answer: {}",
                teslasync::tesla::transport_error(e)
            );
            1
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    /// Every subcommand, option and argument says what it is for in `--help`.
    #[test]
    fn every_subcommand_and_option_has_help_text() {
        fn walk(cmd: &clap::Command, path: &str, missing: &mut Vec<String>) {
            let path = format!("{path} {}", cmd.get_name());
            if cmd.get_about().is_none() && path != "teslasync" {
                missing.push(format!("{path}: the subcommand has no help"));
            }
            for arg in cmd.get_arguments() {
                let id = arg.get_id().as_str();
                if matches!(id, "help" | "version") {
                    continue;
                }
                if arg.get_help().is_none() {
                    missing.push(format!("{path} {id}: no help"));
                }
            }
            for sub in cmd.get_subcommands() {
                walk(sub, &path, missing);
            }
        }
        let mut missing = Vec::new();
        walk(&Cli::command(), "", &mut missing);
        assert!(
            missing.is_empty(),
            "without help text:\n{}",
            missing.join("\n")
        );
        Cli::command().debug_assert();
    }

    #[test]
    fn logs_are_coloured_only_on_a_terminal_without_no_color() {
        assert!(colour_logs(true, None));
        assert!(
            colour_logs(true, Some("".into())),
            "an empty NO_COLOR is unset"
        );
        assert!(!colour_logs(true, Some("1".into())));
        assert!(!colour_logs(false, None));
    }
}
