//! `tesla::telemetry::server`: the endpoint cars stream to — mutual TLS, WebSocket, one reply
//! per frame.
//!
//! Each TCP connection gets its own task for the TLS handshake (10 s at most), so a slow or
//! hostile client never holds up the others. A connection counts only when the car's certificate
//! verified against the configured CAs *and* its subject CN names one of the account's cars
//! ([`Sink::knows`]). Then HTTP: `GET /status` answers `mtls ok`; any other path upgrades to a
//! WebSocket (binary frames up to [`MAX_MESSAGE`]). Every binary frame is decoded and answered:
//!
//! - a record is handed to the [`Sink`] and acked only when the sink says it is delivered (the
//!   broker has it); if not within `ack_timeout`, no ack — the car keeps the record and resends.
//!   The next frames are read meanwhile (up to [`MAX_PENDING_RECORDS`] records wait at once);
//! - an envelope we do not use is acked (so the car stops resending it);
//! - an undecodable frame gets the reference server's error reply.
//!
//! A text frame or a WebSocket protocol error closes that car's connection only (and counts as a
//! refused frame; a car that just hangs up does not).

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{ConnectInfo, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use futures::stream::{FuturesUnordered, StreamExt};
use rustls::ServerConfig;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, info_span, warn, Instrument};

use super::certs::vin_of;
use super::decode::{decode_frame, Frame, Record};
use super::envelope;

/// The largest WebSocket message accepted; beyond [`envelope::MAX_FRAME`] (and up to this) the car
/// gets the error reply, beyond this the connection closes.
pub const MAX_MESSAGE: usize = 1 << 20;
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// A future that resolves to whether a record was delivered.
pub type Delivered = Pin<Box<dyn Future<Output = bool> + Send>>;

/// Where records go. Implemented by the vehicle side (`vehicle::telemetry`), so this module stays
/// free of signals and MQTT.
pub trait Sink: Send + Sync + 'static {
    /// Whether `vin` is one of the account's cars.
    fn knows(&self, vin: &str) -> bool;
    /// A car's connection opened (or closed, `open = false`); `link` is the network the car
    /// said it uses (its `X-Network-Interface` header: `wifi` or `cellular`), if it said.
    fn connection(&self, vin: &str, open: bool, link: Option<&str>);
    /// Takes in a record; resolves to true once it is safe to acknowledge.
    fn deliver(&self, vin: &str, record: Record) -> Delivered;
    /// A frame was refused (error reply or close), for the counters and the log.
    fn rejected(&self, vin: &str, why: &str);
}

/// How the receiver runs.
#[derive(Clone)]
pub struct ServerSettings {
    pub tls: Arc<ServerConfig>,
    /// How long to wait for a record's delivery before leaving it unacknowledged.
    pub ack_timeout: Duration,
}

/// A verified car connection's identity.
#[derive(Debug, Clone)]
pub struct Peer {
    pub vin: String,
    pub remote: SocketAddr,
}

/// Serves cars on `listener` until `shutdown`.
pub async fn serve(
    listener: TcpListener,
    settings: ServerSettings,
    sink: Arc<dyn Sink>,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let local = listener.local_addr()?;
    info!(%local, "Fleet Telemetry receiver listening");
    let (tx, rx) = mpsc::channel(64);
    let acceptor = TlsAcceptor::from(settings.tls.clone());
    tokio::spawn(accept_loop(
        listener,
        acceptor,
        sink.clone(),
        tx,
        shutdown.clone(),
    ));
    let app = Router::new()
        .route("/status", get(|| async { "mtls ok" }))
        .fallback(upgrade)
        .with_state(AppState { sink, settings });
    axum::serve(
        VerifiedCars { rx, local },
        app.into_make_service_with_connect_info::<Peer>(),
    )
    .with_graceful_shutdown(shutdown.cancelled_owned())
    .await
}

#[derive(Clone)]
struct AppState {
    sink: Arc<dyn Sink>,
    settings: ServerSettings,
}

/// Accepts TCP connections and runs each TLS handshake in its own task.
async fn accept_loop(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    sink: Arc<dyn Sink>,
    tx: mpsc::Sender<(TlsStream<TcpStream>, Peer)>,
    shutdown: CancellationToken,
) {
    loop {
        let (tcp, remote) = tokio::select! {
            _ = shutdown.cancelled() => return,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    warn!(error = %e, "telemetry accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        // Acks are small writes answering small reads: with Nagle's algorithm an ack that follows
        // another still unacknowledged by the car's TCP waits for its delayed ACK (tens of
        // milliseconds), which stalls a car that waits for its acks. Go, which Tesla's reference
        // server is written in, sets TCP_NODELAY on every connection too.
        if let Err(e) = tcp.set_nodelay(true) {
            debug!(%remote, error = %e, "could not set TCP_NODELAY");
        }
        let (acceptor, sink, tx) = (acceptor.clone(), sink.clone(), tx.clone());
        tokio::spawn(async move {
            let tls = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                Ok(Ok(tls)) => tls,
                Ok(Err(e)) => {
                    info!(%remote, error = %e, "telemetry TLS handshake refused");
                    return;
                }
                Err(_) => {
                    info!(%remote, "telemetry TLS handshake timed out");
                    return;
                }
            };
            let vin = tls
                .get_ref()
                .1
                .peer_certificates()
                .and_then(|certs| certs.first())
                .and_then(vin_of);
            let Some(vin) = vin else {
                warn!(%remote, "client certificate without a subject common name; closing");
                return;
            };
            if !sink.knows(&vin) {
                warn!(%remote, vin, "a car that is not on this account connected; closing");
                return;
            }
            let _ = tx.send((tls, Peer { vin, remote })).await;
        });
    }
}

/// The verified connections, as an axum listener.
struct VerifiedCars {
    rx: mpsc::Receiver<(TlsStream<TcpStream>, Peer)>,
    local: SocketAddr,
}

impl axum::serve::Listener for VerifiedCars {
    type Io = TlsStream<TcpStream>;
    type Addr = Peer;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.rx.recv().await {
            Some(conn) => conn,
            // The accept loop stopped (shutdown): wait for graceful shutdown to end serving.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Peer> {
        Ok(Peer {
            vin: String::new(),
            remote: self.local,
        })
    }
}

impl axum::extract::connect_info::Connected<axum::serve::IncomingStream<'_, VerifiedCars>>
    for Peer
{
    fn connect_info(stream: axum::serve::IncomingStream<'_, VerifiedCars>) -> Self {
        stream.remote_addr().clone()
    }
}

async fn upgrade(
    ws: WebSocketUpgrade,
    ConnectInfo(peer): ConnectInfo<Peer>,
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
) -> Response {
    // Tesla's own server copies this header into its connectivity records; only the two
    // networks a car has are kept (anything else is not a fact about the car).
    let link = headers
        .get("x-network-interface")
        .and_then(|v| v.to_str().ok())
        .map(str::to_ascii_lowercase)
        .filter(|l| l == "wifi" || l == "cellular");
    ws.max_message_size(MAX_MESSAGE)
        .max_frame_size(MAX_MESSAGE)
        .on_upgrade(move |socket| {
            let span = info_span!("telemetry", vin = %peer.vin, remote = %peer.remote);
            car_session(socket, peer.vin, link, state).instrument(span)
        })
        .into_response()
}

/// Records of one car awaiting delivery at once, at most. A car keeps sending while it waits for
/// acks (as Tesla's reference server allows), so the receiver reads on while earlier records are
/// still on their way to the broker; past this many it stops reading that car until one resolves,
/// and TCP holds the car back.
pub const MAX_PENDING_RECORDS: usize = 64;

/// One car's WebSocket: frames in, replies out, until it closes.
///
/// Frames are read and handed to the sink in order, without waiting for earlier records' delivery:
/// each record's ack goes out when its own delivery resolves. Pipelining matters beyond one car's
/// speed: records that queue up behind a busy bridge are published together, only the newest value
/// of each state going to the broker.
async fn car_session(mut socket: WebSocket, vin: String, link: Option<String>, state: AppState) {
    info!(link = link.as_deref().unwrap_or("unknown"), "car connected");
    state.sink.connection(&vin, true, link.as_deref());
    let mut pending = FuturesUnordered::new();
    loop {
        let reply = tokio::select! {
            // Acks first: a resolved delivery frees a slot.
            biased;
            Some(ack) = pending.next() => ack,
            message = socket.recv(), if pending.len() < MAX_PENDING_RECORDS => match message {
                Some(Ok(Message::Binary(frame))) => match handle_frame(&frame, &vin, &state) {
                    Reply::Now(reply) => Some(reply),
                    Reply::Later(ack) => {
                        pending.push(ack);
                        None
                    }
                },
                Some(Ok(Message::Text(_))) => {
                    state.sink.rejected(&vin, "a text frame");
                    break;
                }
                Some(Ok(Message::Close(_))) | None => break,
                Some(Ok(_)) => None,
                Some(Err(e)) => {
                    if hung_up(&e) {
                        debug!(why = %e, "the car closed the connection without a close frame");
                    } else {
                        state.sink.rejected(&vin, &e.to_string());
                    }
                    break;
                }
            },
        };
        if let Some(reply) = reply {
            if socket.send(Message::Binary(reply.into())).await.is_err() {
                break;
            }
        }
    }
    // Records still on their way get no ack on this connection: the car resends them.
    state.sink.connection(&vin, false, link.as_deref());
    info!("car disconnected");
}

/// Tells a car that just went away (its TCP connection closed or reset without a WebSocket close
/// frame, as a car driving out of coverage or falling asleep does) from one that sent something
/// the WebSocket protocol forbids: only the latter is a refused frame.
fn hung_up(e: &axum::Error) -> bool {
    use tokio_tungstenite::tungstenite::{error::ProtocolError, Error};
    matches!(
        std::error::Error::source(e).and_then(|inner| inner.downcast_ref::<Error>()),
        Some(
            Error::ConnectionClosed
                | Error::AlreadyClosed
                | Error::Io(_)
                | Error::Protocol(ProtocolError::ResetWithoutClosingHandshake)
        )
    )
}

/// The answer to one frame.
enum Reply {
    /// Sent at once (an ack of a frame without data, an error reply).
    Now(Vec<u8>),
    /// A record's ack, once it is delivered; `None` if it was not (the car resends it).
    Later(Pin<Box<dyn Future<Output = Option<Vec<u8>>> + Send>>),
}

/// Decodes a frame and hands its record, if any, to the sink.
fn handle_frame(frame: &[u8], vin: &str, state: &AppState) -> Reply {
    match decode_frame(frame) {
        Frame::Record {
            txid,
            topic,
            record,
        } => {
            let delivered = state.sink.deliver(vin, record);
            let ack_timeout = state.settings.ack_timeout;
            Reply::Later(Box::pin(async move {
                match tokio::time::timeout(ack_timeout, delivered).await {
                    Ok(true) => Some(envelope::ack(&txid, &topic)),
                    _ => {
                        warn!("record not acknowledged: the MQTT broker did not confirm it; the car will resend");
                        None
                    }
                }
            }))
        }
        Frame::Ignored { txid, topic, why } => {
            debug!(why, "acknowledging a frame without data");
            Reply::Now(envelope::ack(&txid, &topic))
        }
        Frame::Undecodable { txid, error } => {
            state.sink.rejected(vin, &error.to_string());
            Reply::Now(envelope::error_reply(&txid))
        }
    }
}
