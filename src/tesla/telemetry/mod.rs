//! `tesla::telemetry`: Tesla's Fleet Telemetry, the stream cars push to us.
//!
//! - [`proto`]: the protobuf schemas (generated from `proto/`).
//! - [`envelope`]: the FlatBuffers envelope around every WebSocket frame, and the replies (ack,
//!   error) byte-identical to Tesla's reference server.
//! - [`decode`]: frame → [`decode::Record`] (vehicle data, alerts, errors), tolerant of every
//!   unknown number and arm, counting what it could not understand.
//! - [`server`]: the mTLS WebSocket receiver cars connect to; [`upstream`]: the same records read
//!   from the MQTT output of Tesla's own fleet-telemetry server instead.
//!
//! Knows nothing about signals or Home Assistant (MQTT only as upstream mode's transport):
//! `vehicle::telemetry` maps records to signals.

pub mod certs;
pub mod decode;
pub mod envelope;
pub mod profile;
pub mod proto;
pub mod server;
pub mod upstream;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::config::TelemetryConfig;

/// How long the receiver waits for the broker before leaving a record unacknowledged.
pub const ACK_TIMEOUT: Duration = Duration::from_secs(30);

/// Why the receiver could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Certs(#[from] certs::CertError),
    #[error("cannot listen on {addr} for Fleet Telemetry ({error}); set [telemetry] listen or TESLASYNC_TELEMETRY__LISTEN")]
    Bind { addr: String, error: String },
}

/// A running receiver.
pub struct Running {
    pub addr: std::net::SocketAddr,
    /// What cars are told to trust (`ca` of the telemetry config).
    pub ca_pem: String,
    pub task: JoinHandle<std::io::Result<()>>,
}

/// The server identity as configured: the user's certificate, or the one generated in
/// `<data_dir>/telemetry/`.
pub fn identity(
    cfg: &TelemetryConfig,
    data_dir: &Path,
) -> Result<certs::ServerIdentity, StartError> {
    Ok(match (&cfg.server_cert_file, &cfg.server_key_file) {
        (Some(cert), Some(key)) => certs::load_identity(cert, key)?,
        _ => certs::load_or_create(
            &data_dir.join("telemetry"),
            cfg.hostname.as_deref().unwrap_or("localhost"),
        )?,
    })
}

/// Starts the mTLS receiver on `listener` (or `telemetry.listen`).
pub async fn start_receiver(
    cfg: &TelemetryConfig,
    data_dir: &Path,
    listener: Option<TcpListener>,
    sink: Arc<dyn server::Sink>,
    shutdown: CancellationToken,
) -> Result<Running, StartError> {
    if cfg.hostname.is_none() && cfg.server_cert_file.is_none() {
        tracing::warn!("telemetry.hostname is not set: the receiver runs, but cars cannot be configured to reach it (set [telemetry] hostname)");
    }
    let identity = identity(cfg, data_dir)?;
    let tesla_ca = match &cfg.tesla_ca_file {
        Some(path) => read_pem(path, "tesla_ca_file")?,
        None => certs::TESLA_PROD_CA.to_string(),
    };
    let extra = match &cfg.client_ca_file {
        Some(path) => Some(read_pem(path, "client_ca_file")?),
        None => None,
    };
    let roots = certs::client_roots(&tesla_ca, extra.as_deref())?;
    let tls = certs::server_config(&identity, roots)?;
    let bind_err = |e: std::io::Error| StartError::Bind {
        addr: cfg.listen.to_string(),
        error: e.to_string(),
    };
    let listener = match listener {
        Some(l) => l,
        None => TcpListener::bind(cfg.listen).await.map_err(bind_err)?,
    };
    let addr = listener.local_addr().map_err(bind_err)?;
    let settings = server::ServerSettings {
        tls,
        ack_timeout: ACK_TIMEOUT,
    };
    let task = tokio::spawn(server::serve(listener, settings, sink, shutdown));
    Ok(Running {
        addr,
        ca_pem: identity.ca_pem,
        task,
    })
}

fn read_pem(path: &Path, key: &'static str) -> Result<String, certs::CertError> {
    std::fs::read_to_string(path).map_err(|source| certs::CertError::Read {
        path: path.to_path_buf(),
        key,
        source,
    })
}

/// What a config push did for one car.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct CarConfigResult {
    pub vin: String,
    /// Why Tesla skipped the car (`missing_key`, `unsupported_firmware`, ...), if it did.
    pub skipped: Option<String>,
    /// What Tesla reports after the push (`None` if the read-back failed).
    pub status: Option<crate::tesla::fleet::TelemetryConfigStatus>,
}

/// Signs `config` as `Tesla.SS256` with the command key, pushes it to `vins` with one
/// `fleet_telemetry_config_jws` call and reads each car's config back. A car counts as configured
/// only when it is synced *and* reports a config ([`TelemetryConfigStatus::active`]): a car at its
/// limit answers "synced" with no config.
///
/// [`TelemetryConfigStatus::active`]: crate::tesla::fleet::TelemetryConfigStatus::active
pub async fn configure(
    fleet: &crate::tesla::fleet::FleetClient,
    key: &crate::tesla::command::KeyPair,
    vins: &[String],
    config: &serde_json::Value,
) -> Result<Vec<CarConfigResult>, crate::tesla::fleet::FleetError> {
    let token = crate::tesla::command::jws::sign_fleet_telemetry_config(key, config)
        .expect("the profile config is a JSON object");
    let push = fleet.fleet_telemetry_config_jws(vins, &token).await?;
    let mut out = Vec::new();
    for vin in vins {
        let skipped = push
            .skipped_vehicles
            .iter()
            .find(|(_, list)| list.contains(vin))
            .map(|(reason, _)| reason.clone());
        let status = fleet.fleet_telemetry_config(vin).await.ok();
        out.push(CarConfigResult {
            vin: vin.clone(),
            skipped,
            status,
        });
    }
    Ok(out)
}
