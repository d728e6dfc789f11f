//! `teslasync`: the command line. Parses flags, sets up logging and calls into the library; the
//! behaviour lives in `teslasync::daemon`, `teslasync::demo` and `teslasync::sim`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use tokio_util::sync::CancellationToken;
use url::Url;

use teslasync::config::Config;
use teslasync::secret::Secret;
use teslasync::sim::{Sim, SimConfig};
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
        /// MQTT broker; an embedded one is started there if nothing answers.
        #[arg(long, default_value = "mqtt://127.0.0.1:1883")]
        mqtt: Url,
        /// Address of the status page.
        #[arg(long, default_value = "127.0.0.1:8080")]
        http: SocketAddr,
    },
    /// Run only the simulated Tesla account (auth host + Fleet API) for a daemon pointed at it.
    Sim {
        #[arg(long, default_value = "127.0.0.1:8090")]
        listen: SocketAddr,
        #[arg(long, default_value_t = 2)]
        vehicles: usize,
    },
    /// Tesla sign-in.
    Auth {
        #[command(subcommand)]
        command: AuthCmd,
        #[arg(short, long, global = true)]
        config: Option<PathBuf>,
    },
    /// Check the configuration and connectivity; prints every problem in plain words.
    Check {
        #[arg(short, long)]
        config: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum AuthCmd {
    /// Store a refresh token obtained elsewhere (it will be rotated on first use).
    Import {
        #[arg(long)]
        refresh_token: String,
    },
    /// Show whether TeslaSync is signed in (never shows a token).
    Status,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    let code = runtime.block_on(dispatch(cli.command));
    ExitCode::from(code as u8)
}

/// Loads configuration or prints every problem and returns exit code 2.
fn load_config(path: Option<&std::path::Path>) -> Result<Config, i32> {
    Config::load(path).map_err(|e| {
        eprintln!("teslasync: configuration problem:\n{e}");
        2
    })
}

fn init_logging(level: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new(format!("teslasync={level},rumqttd=off,warn"))
    });
    let _ = tracing_subscriber::fmt().with_env_filter(filter).try_init();
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
            let cfg = match load_config(config.as_deref()) {
                Ok(c) => c,
                Err(code) => return code,
            };
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
            http,
        } => {
            init_logging("info");
            let opts = teslasync::demo::DemoOptions {
                vehicles,
                mqtt,
                http,
            };
            match teslasync::demo::run(opts, Config::defaults(), shutdown_on_signal()).await {
                Ok(()) => 0,
                Err(e) => {
                    eprintln!("teslasync demo: {e}");
                    1
                }
            }
        }
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
            let defaults = SimConfig::default();
            println!("Simulated Tesla on http://{listen}");
            println!("Point a daemon at it:");
            println!("  TESLA_API_BASE_URL=http://{listen} TESLASYNC_TESLA__AUTH_BASE_URL=http://{listen} \\");
            println!(
                "  TESLA_CLIENT_ID={} TESLA_CLIENT_SECRET={}",
                defaults.client_id, defaults.client_secret
            );
            println!(
                "and import this refresh token (single use): {}",
                sim.issue_refresh_token()
            );
            match sim.serve(listener, shutdown_on_signal()).await {
                Ok(()) => 0,
                Err(e) => {
                    eprintln!("teslasync sim: {e}");
                    1
                }
            }
        }
        Cmd::Auth { command, config } => {
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
                AuthCmd::Import { refresh_token } => {
                    match Tokens::import_refresh_token(&store, &Secret::from(refresh_token)) {
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
                AuthCmd::Status => match Tokens::stored_status(&store) {
                    Ok(AuthStatus::SignedOut) => {
                        println!("Not signed in. Import a refresh token with `teslasync auth import --refresh-token <TOKEN>`.");
                        1
                    }
                    Ok(AuthStatus::SignedIn { expires_at: 0 }) => {
                        println!("Signed in (refresh token imported; not used yet).");
                        0
                    }
                    Ok(AuthStatus::SignedIn { expires_at }) => {
                        let at = std::time::UNIX_EPOCH + Duration::from_secs(expires_at);
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
        Cmd::Check { config } => check(config).await,
    }
}

/// `teslasync check`: configuration, then the broker and the Fleet API host.
async fn check(config: Option<PathBuf>) -> i32 {
    let cfg = match load_config(config.as_deref()) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let mut problems = 0;
    match cfg.require_for_run() {
        Ok(()) => println!("configuration: ok"),
        Err(e) => {
            println!("{e}");
            problems += e.problems().len();
        }
    }
    for warning in cfg.warnings() {
        println!("warning: {warning}");
    }
    let broker = format!("{}:{}", cfg.mqtt.host(), cfg.mqtt.port());
    match tokio::time::timeout(
        Duration::from_secs(3),
        tokio::net::TcpStream::connect(&broker),
    )
    .await
    {
        Ok(Ok(_)) => println!("mqtt broker {broker}: reachable"),
        _ => {
            println!("mqtt broker {broker}: not reachable — check [mqtt] url (TESLASYNC_MQTT__URL) and that the broker runs");
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
        .timeout(Duration::from_secs(5))
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
        Err(_) => {
            println!(
                "fleet api {}: not reachable — check [tesla] region / api_base_url and the network",
                cfg.tesla.fleet_api_base()
            );
            problems += 1;
        }
    }
    if problems == 0 {
        println!("all checks passed");
        0
    } else {
        1
    }
}
