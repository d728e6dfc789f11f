//! `sim::telemetry`: simulated cars streaming Fleet Telemetry, as Tesla's cars do.
//!
//! A streaming car connects to `wss://<hostname>:<port>/` with mutual TLS — its client
//! certificate comes from a [`TestCa`] and carries the VIN as subject CN, like a real car's from
//! Tesla's vehicle PKI — and trusts only the `ca` of its config. While the car is awake it sends
//! a `V` record whenever a configured field changed and its interval has passed (time from the
//! simulator's [`Clock`], so tests drive it), keeps every record until the receiver acks it, and
//! resends (with `is_resend`) what stays unacknowledged. It disconnects when the car falls asleep
//! or goes offline. Alerts, client errors and raw frames can be injected through [`StreamHandle`].
//!
//! This is Tesla's side: it builds its frames from the shared wire formats (the FlatBuffers
//! envelope and the protobuf schemas) and its own view of the car, never from the daemon's logic.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures::{SinkExt, StreamExt};
use prost::Message as _;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch};
use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::CancellationToken;
use tracing::debug;

use super::car::{Car, ChargingState, Power};
use super::Sim;
use crate::tesla::telemetry::envelope::{self, Message as EnvMessage, Stream};
use crate::tesla::telemetry::proto::vehicle_alerts::{Audience, VehicleAlert, VehicleAlerts};
use crate::tesla::telemetry::proto::vehicle_data::{
    value, Datum, DetailedChargeStateValue, Doors, Field, LocationValue, Payload, ShiftState, Value,
};
use crate::tesla::telemetry::proto::vehicle_error::{VehicleError, VehicleErrors};

/// How long a car waits for an ack before it sends the record again.
pub const RESEND_AFTER: Duration = Duration::from_secs(30);

/// A certificate authority standing in for Tesla's vehicle PKI in tests and the demo.
pub struct TestCa {
    issuer: Issuer<'static, KeyPair>,
    pem: String,
}

/// A car's client certificate and key, PEM.
#[derive(Clone)]
pub struct CarCredentials {
    pub cert_pem: String,
    pub key_pem: String,
}

impl TestCa {
    pub fn new(name: &str) -> TestCa {
        let mut params = CertificateParams::default();
        params.distinguished_name.push(DnType::CommonName, name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let key = KeyPair::generate().expect("P-256 key");
        let cert = params.self_signed(&key).expect("self-signed CA");
        TestCa {
            pem: cert.pem(),
            issuer: Issuer::new(params, key),
        }
    }

    /// The CA certificate, PEM (what a receiver trusts as `client_ca_file`).
    pub fn pem(&self) -> &str {
        &self.pem
    }

    /// A client certificate with subject CN = `vin`.
    pub fn issue(&self, vin: &str) -> CarCredentials {
        let mut params = CertificateParams::default();
        params.distinguished_name.push(DnType::CommonName, vin);
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        let key = KeyPair::generate().expect("P-256 key");
        let cert = params.signed_by(&key, &self.issuer).expect("signed leaf");
        CarCredentials {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        }
    }
}

/// Where and what a car streams: the parts of a telemetry config a car acts on.
#[derive(Debug, Clone)]
pub struct StreamConfig {
    /// The name the car checks the server certificate against (SNI).
    pub hostname: String,
    /// Where to connect (the simulated car's "DNS": the host name resolves here).
    pub connect_to: SocketAddr,
    /// PEM the server certificate must chain to.
    pub ca_pem: String,
    /// Field name → interval.
    pub fields: BTreeMap<String, Duration>,
}

/// What a streaming car has done so far.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StreamStats {
    pub connected: bool,
    pub connections: u64,
    /// Records sent for the first time.
    pub sent: u64,
    pub resent: u64,
    pub acked: u64,
    /// Records sent and not acknowledged yet.
    pub unacked: u64,
    /// Acks received for any txid (also for raw frames).
    pub acks_received: u64,
    /// Error replies received.
    pub error_replies: u64,
    /// Connections that failed (TLS refused, receiver down).
    pub connect_failures: u64,
}

enum Inject {
    Alert {
        name: String,
        active: bool,
    },
    Error {
        name: String,
        tags: Vec<(String, String)>,
    },
    Raw(Message),
}

/// Controls one streaming car.
pub struct StreamHandle {
    inject: mpsc::UnboundedSender<Inject>,
    stats: watch::Receiver<StreamStats>,
    stop: CancellationToken,
}

impl StreamHandle {
    pub fn stats(&self) -> StreamStats {
        self.stats.borrow().clone()
    }

    /// Waits (up to `timeout`) until `pred` holds for the stats; returns the stats seen last.
    pub async fn wait_for(
        &self,
        timeout: Duration,
        pred: impl Fn(&StreamStats) -> bool,
    ) -> Result<StreamStats, StreamStats> {
        let mut rx = self.stats.clone();
        let done = tokio::time::timeout(timeout, rx.wait_for(|s| pred(s))).await;
        match done {
            Ok(Ok(s)) => Ok(s.clone()),
            _ => Err(self.stats()),
        }
    }

    /// Sends an `alerts` record with one alert (ended when `active` is false).
    pub fn alert(&self, name: &str, active: bool) {
        let _ = self.inject.send(Inject::Alert {
            name: name.into(),
            active,
        });
    }

    /// Sends an `errors` record with one client error.
    pub fn error(&self, name: &str, tags: &[(&str, &str)]) {
        let tags = tags
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let _ = self.inject.send(Inject::Error {
            name: name.into(),
            tags,
        });
    }

    /// Sends a raw WebSocket message (tests of malformed input).
    pub fn raw(&self, message: Message) {
        let _ = self.inject.send(Inject::Raw(message));
    }
}

impl Drop for StreamHandle {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

impl Sim {
    /// Starts car `vin` streaming with `config` and `credentials`.
    pub fn stream(
        &self,
        vin: &str,
        config: StreamConfig,
        credentials: CarCredentials,
    ) -> StreamHandle {
        let (inject, inject_rx) = mpsc::unbounded_channel();
        let (stats_tx, stats) = watch::channel(StreamStats::default());
        let stop = CancellationToken::new();
        let streamer = Streamer {
            sim: self.clone(),
            vin: vin.to_string(),
            config,
            credentials,
            stats: stats_tx,
            unacked: BTreeMap::new(),
            last_sent: BTreeMap::new(),
            txid: 0,
        };
        tokio::spawn(streamer.run(inject_rx, stop.clone()));
        StreamHandle {
            inject,
            stats,
            stop,
        }
    }

    /// Whether the car is awake (it streams only then).
    fn car_awake(&self, vin: &str) -> bool {
        let now = self.clock().now();
        let mut world = self.world();
        world
            .car(vin, now)
            .is_some_and(|c| c.power == Power::Online)
    }

    fn car_snapshot(&self, vin: &str) -> Option<Car> {
        let now = self.clock().now();
        self.world().car(vin, now).cloned()
    }
}

type Ws = tokio_tungstenite::WebSocketStream<tokio_rustls::client::TlsStream<TcpStream>>;

/// Opens the car's mutual-TLS connection to the receiver named in `config`, presenting
/// `credentials` (the car's first step, before the WebSocket upgrade; tests also send plain HTTP
/// over it).
pub async fn tls_connect(
    config: &StreamConfig,
    credentials: &CarCredentials,
) -> Result<tokio_rustls::client::TlsStream<TcpStream>, String> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(config.ca_pem.as_bytes()).flatten() {
        roots.add(cert).map_err(|e| e.to_string())?;
    }
    let chain: Vec<CertificateDer<'static>> =
        CertificateDer::pem_slice_iter(credentials.cert_pem.as_bytes())
            .flatten()
            .collect();
    let key =
        PrivateKeyDer::from_pem_slice(credentials.key_pem.as_bytes()).map_err(|e| e.to_string())?;
    let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| e.to_string())?
    .with_root_certificates(roots)
    .with_client_auth_cert(chain, key)
    .map_err(|e| e.to_string())?;
    let tcp = TcpStream::connect(config.connect_to)
        .await
        .map_err(|e| e.to_string())?;
    let name = ServerName::try_from(config.hostname.clone()).map_err(|e| e.to_string())?;
    tokio_rustls::TlsConnector::from(Arc::new(tls))
        .connect(name, tcp)
        .await
        .map_err(|e| e.to_string())
}

struct Pending {
    topic: &'static [u8],
    resend_payload: Vec<u8>,
    sent_at: SystemTime,
}

struct Streamer {
    sim: Sim,
    vin: String,
    config: StreamConfig,
    credentials: CarCredentials,
    stats: watch::Sender<StreamStats>,
    /// By txid.
    unacked: BTreeMap<String, Pending>,
    /// Field → (value sent, when).
    last_sent: BTreeMap<String, (Value, SystemTime)>,
    txid: u64,
}

impl Streamer {
    async fn run(mut self, mut inject: mpsc::UnboundedReceiver<Inject>, stop: CancellationToken) {
        let clock = self.sim.clock();
        let tick = self
            .config
            .fields
            .values()
            .min()
            .copied()
            .unwrap_or(Duration::from_secs(60))
            .max(Duration::from_secs(1));
        let mut ws: Option<Ws> = None;
        loop {
            if stop.is_cancelled() {
                return;
            }
            if !self.sim.car_awake(&self.vin) {
                if let Some(mut socket) = ws.take() {
                    let _ = socket.close(None).await;
                    self.stats.send_modify(|s| s.connected = false);
                }
                tokio::select! {
                    _ = stop.cancelled() => return,
                    _ = clock.sleep(Duration::from_secs(1)) => continue,
                }
            }
            let socket = match ws.as_mut() {
                Some(s) => s,
                None => match self.connect().await {
                    Ok(s) => {
                        self.stats.send_modify(|st| {
                            st.connected = true;
                            st.connections += 1;
                        });
                        // Everything unacknowledged goes again on the new connection.
                        ws = Some(s);
                        self.resend_all(ws.as_mut().expect("just set")).await;
                        continue;
                    }
                    Err(e) => {
                        debug!(vin = %self.vin, error = %e, "simulated car could not connect");
                        self.stats.send_modify(|s| s.connect_failures += 1);
                        tokio::select! {
                            _ = stop.cancelled() => return,
                            _ = clock.sleep(Duration::from_secs(10)) => continue,
                        }
                    }
                },
            };
            // The next tick is fixed before sending: a clock advance while the frames go out must
            // not be lost (a sleep computed afterwards would start from the advanced time).
            let next_tick = clock.now() + tick;
            let sent = self
                .send_due(socket)
                .await
                .and(self.resend_overdue(socket).await);
            if sent.is_err() {
                ws = None;
                self.stats.send_modify(|s| s.connected = false);
                continue;
            }
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = clock.sleep_until(next_tick) => {}
                incoming = socket.next() => match incoming {
                    Some(Ok(Message::Binary(frame))) => self.on_reply(&frame),
                    Some(Ok(_)) => {}
                    Some(Err(_)) | None => {
                        ws = None;
                        self.stats.send_modify(|s| s.connected = false);
                    }
                },
                Some(cmd) = inject.recv() => {
                    let result = match cmd {
                        Inject::Raw(message) => socket.send(message).await.map_err(|_| ()),
                        Inject::Alert { name, active } => {
                            let payload = alert_payload(&name, active, clock.now());
                            self.send_record(socket, b"alerts", payload.clone(), payload).await
                        }
                        Inject::Error { name, tags } => {
                            let payload = error_payload(&name, tags, clock.now());
                            self.send_record(socket, b"errors", payload.clone(), payload).await
                        }
                    };
                    if result.is_err() {
                        ws = None;
                        self.stats.send_modify(|s| s.connected = false);
                    }
                }
            }
        }
    }

    async fn connect(&self) -> Result<Ws, String> {
        let stream = tls_connect(&self.config, &self.credentials).await?;
        let url = format!(
            "wss://{}:{}/",
            self.config.hostname,
            self.config.connect_to.port()
        );
        // A simulated car is parked at home: it streams over Wi-Fi, and says so as cars do.
        let mut request =
            tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(url)
                .map_err(|e| e.to_string())?;
        request.headers_mut().insert(
            "X-Network-Interface",
            "wifi".parse().expect("a valid header value"),
        );
        let (ws, _) = tokio_tungstenite::client_async(request, stream)
            .await
            .map_err(|e| e.to_string())?;
        Ok(ws)
    }

    /// Sends the fields whose value changed and whose interval has passed.
    async fn send_due(&mut self, ws: &mut Ws) -> Result<(), ()> {
        let Some(car) = self.sim.car_snapshot(&self.vin) else {
            return Ok(());
        };
        let now = self.sim.clock().now();
        let mut data = Vec::new();
        for (field, interval) in &self.config.fields {
            let Some(value) = field_value(&car, field) else {
                continue;
            };
            let due = match self.last_sent.get(field) {
                None => true,
                Some((last, at)) => {
                    *last != value && now.duration_since(*at).unwrap_or_default() >= *interval
                }
            };
            if due {
                let key = Field::from_str_name(field).map_or(0, |f| f as i32);
                data.push(Datum {
                    key,
                    value: Some(value.clone()),
                });
                self.last_sent.insert(field.clone(), (value, now));
            }
        }
        if data.is_empty() {
            return Ok(());
        }
        let mut payload = Payload {
            data,
            created_at: Some(timestamp(now)),
            vin: String::new(),
            is_resend: false,
        };
        let first = payload.encode_to_vec();
        payload.is_resend = true;
        let again = payload.encode_to_vec();
        self.send_record(ws, b"V", first, again).await
    }

    async fn send_record(
        &mut self,
        ws: &mut Ws,
        topic: &'static [u8],
        payload: Vec<u8>,
        resend_payload: Vec<u8>,
    ) -> Result<(), ()> {
        self.txid += 1;
        let txid = format!("{}-{}", self.vin, self.txid);
        let frame = self.frame(&txid, topic, &payload);
        self.unacked.insert(
            txid,
            Pending {
                topic,
                resend_payload,
                sent_at: self.sim.clock().now(),
            },
        );
        let unacked = self.unacked.len() as u64;
        self.stats.send_modify(|s| {
            s.sent += 1;
            s.unacked = unacked;
        });
        ws.send(Message::Binary(frame.into())).await.map_err(|_| ())
    }

    async fn resend_overdue(&mut self, ws: &mut Ws) -> Result<(), ()> {
        let now = self.sim.clock().now();
        let overdue: Vec<String> = self
            .unacked
            .iter()
            .filter(|(_, p)| now.duration_since(p.sent_at).unwrap_or_default() >= RESEND_AFTER)
            .map(|(t, _)| t.clone())
            .collect();
        for txid in overdue {
            self.resend(ws, &txid).await?;
        }
        Ok(())
    }

    async fn resend_all(&mut self, ws: &mut Ws) {
        let all: Vec<String> = self.unacked.keys().cloned().collect();
        for txid in all {
            if self.resend(ws, &txid).await.is_err() {
                return;
            }
        }
    }

    async fn resend(&mut self, ws: &mut Ws, txid: &str) -> Result<(), ()> {
        let now = self.sim.clock().now();
        let Some(p) = self.unacked.get_mut(txid) else {
            return Ok(());
        };
        p.sent_at = now;
        let (topic, payload) = (p.topic, p.resend_payload.clone());
        let frame = self.frame(txid, topic, &payload);
        self.stats.send_modify(|s| s.resent += 1);
        ws.send(Message::Binary(frame.into())).await.map_err(|_| ())
    }

    fn frame(&self, txid: &str, topic: &[u8], payload: &[u8]) -> Vec<u8> {
        let sender = format!("vehicle_device.{}", self.vin);
        envelope::data_frame(
            txid.as_bytes(),
            topic,
            txid.as_bytes(),
            &Stream {
                created_at: self.sim.clock().unix_secs() as u32,
                sender_id: sender.as_bytes(),
                payload,
                device_type: b"vehicle_device",
                device_id: self.vin.as_bytes(),
                delivered_at_epoch_ms: 0,
            },
        )
    }

    fn on_reply(&mut self, frame: &[u8]) {
        let Ok(env) = envelope::parse(frame) else {
            return;
        };
        match env.message {
            EnvMessage::Ack => {
                self.stats.send_modify(|s| s.acks_received += 1);
                let txid = String::from_utf8_lossy(env.txid).into_owned();
                if self.unacked.remove(&txid).is_some() {
                    let unacked = self.unacked.len() as u64;
                    self.stats.send_modify(|s| {
                        s.acked += 1;
                        s.unacked = unacked;
                    });
                }
            }
            EnvMessage::Stream(s) if s.payload == envelope::ERROR_PAYLOAD => {
                self.stats.send_modify(|s| s.error_replies += 1);
            }
            _ => {}
        }
    }
}

/// The car's value of a field, as the car encodes it (typed arms, tyre pressure in atm).
fn field_value(car: &Car, field: &str) -> Option<Value> {
    use value::Value as V;
    let v = match Field::from_str_name(field)? {
        Field::BatteryLevel => V::DoubleValue(car.soc),
        Field::Soc => V::DoubleValue((car.soc - 1.0).max(0.0)),
        Field::ChargeLimitSoc => V::IntValue(car.charge_limit.into()),
        Field::Odometer => V::DoubleValue((car.odometer * 10.0).round() / 10.0),
        Field::VehicleSpeed if car.driving => V::DoubleValue(30.0),
        Field::VehicleSpeed => V::Invalid(true),
        Field::Gear => V::ShiftStateValue(if car.driving {
            ShiftState::D
        } else {
            ShiftState::P
        } as i32),
        Field::Location => V::LocationValue(LocationValue {
            latitude: car.latitude,
            longitude: car.longitude,
        }),
        Field::GpsHeading => V::DoubleValue(car.heading),
        Field::InsideTemp => V::DoubleValue(car.inside_temp),
        Field::OutsideTemp => V::DoubleValue(car.outside_temp),
        Field::Locked => V::BooleanValue(car.locked),
        Field::DetailedChargeState => V::DetailedChargeStateValue(match car.charging {
            ChargingState::Disconnected => {
                DetailedChargeStateValue::DetailedChargeStateDisconnected
            }
            ChargingState::Stopped => DetailedChargeStateValue::DetailedChargeStateStopped,
            ChargingState::Charging => DetailedChargeStateValue::DetailedChargeStateCharging,
            ChargingState::Complete => DetailedChargeStateValue::DetailedChargeStateComplete,
        } as i32),
        Field::TimeToFullCharge if car.charging != ChargingState::Charging => V::Invalid(true),
        Field::ChargePortDoorOpen => V::BooleanValue(car.charge_port_door_open),
        Field::DoorState => V::DoorValue(Doors {
            trunk_front: car.frunk != 0,
            trunk_rear: car.trunk != 0,
            ..Doors::default()
        }),
        // Cars stream tyre pressure in atmospheres.
        Field::TpmsPressureFl | Field::TpmsPressureFr => V::DoubleValue(2.9 / 1.01325),
        Field::TpmsPressureRl | Field::TpmsPressureRr => V::DoubleValue(2.85 / 1.01325),
        Field::VehicleName => V::StringValue(car.display_name.clone()),
        Field::SentryMode => V::SentryModeStateValue(if car.sentry_mode { 3 } else { 1 }),
        _ => return None,
    };
    Some(Value { value: Some(v) })
}

fn timestamp(at: SystemTime) -> prost_types::Timestamp {
    let d = at.duration_since(UNIX_EPOCH).unwrap_or_default();
    prost_types::Timestamp {
        seconds: d.as_secs() as i64,
        nanos: d.subsec_nanos() as i32,
    }
}

fn alert_payload(name: &str, active: bool, now: SystemTime) -> Vec<u8> {
    VehicleAlerts {
        alerts: vec![VehicleAlert {
            name: name.to_string(),
            audiences: vec![Audience::Customer as i32],
            started_at: Some(timestamp(now - Duration::from_secs(5))),
            ended_at: (!active).then(|| timestamp(now)),
        }],
        created_at: Some(timestamp(now)),
        vin: String::new(),
    }
    .encode_to_vec()
}

fn error_payload(name: &str, tags: Vec<(String, String)>, now: SystemTime) -> Vec<u8> {
    VehicleErrors {
        errors: vec![VehicleError {
            created_at: Some(timestamp(now)),
            name: name.to_string(),
            tags: tags.into_iter().collect(),
            body: String::new(),
        }],
        created_at: Some(timestamp(now)),
        vin: String::new(),
    }
    .encode_to_vec()
}
