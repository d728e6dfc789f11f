//! `ha::bridge`: the MQTT connection to Home Assistant.
//!
//! Owns all MQTT I/O. Outbound: the bridge status (with the MQTT last will as `offline`), discovery
//! configs, per-car availability, entity states and attributes — retained, QoS 1, and published only
//! when the payload differs from the last one sent (a map of topic → last payload). Inbound: `/set`
//! payloads and JSON commands, turned into [`Command`]s for the executor; Home Assistant's birth
//! message, which triggers a full republish after a short jittered delay.
//!
//! Bad input never stops the bridge: it answers with an `event` and a failed `command/result`.
//!
//! MQTT 5, for three things 3.1.1 cannot do: the command subscriptions ask for *retain as
//! published*, so a command published with the retain flag is recognised even on its first live
//! delivery (3.1.1 brokers clear the flag then) and never executed; the CONNECT packet announces
//! the largest packet the bridge takes, so a conforming broker drops a bigger message for us
//! instead of sending it (one huge message cannot break the connection, nor a retained one make it
//! reconnect in a loop); and a command's message expiry (set by Home Assistant's control entities)
//! bounds how late it may run.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use rand::Rng;
use rumqttc::v5::mqttbytes::v5::{ConnectReturnCode, Filter, LastWill, Packet, PubAckReason};
use rumqttc::v5::mqttbytes::QoS;
use rumqttc::v5::{AsyncClient, ConnectionError, Event, EventLoop, MqttOptions};
use rumqttc::{NetworkOptions, Outgoing, Transport};
use serde::Deserialize;
use serde_json::{json, Value as Json};
use tokio::sync::{broadcast, mpsc};
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use crate::clock::Clock;
use crate::config::{DiscoveryMode, MqttConfig};
use crate::ha::catalog;
use crate::ha::discovery::{self, BridgeFacts, Site};
use crate::ha::topics::{bridge_object_id, object_id, Inbound, Topics};
use crate::vehicle::command::Command;
use crate::vehicle::executor::{CommandOutcome, Executor, Job};
use crate::vehicle::hub::{Hub, HubEvent, VehicleRecord};
use crate::vehicle::signal::Signals;

/// Inbound command payloads (`/set`, `command`) above this are refused unread: no command needs
/// more (the parser refuses `params` over 16 KiB anyway).
pub const MAX_COMMAND_PAYLOAD: usize = 64 * 1024;
/// The largest packet the bridge takes, announced to the broker in CONNECT (MQTT 5 Maximum Packet
/// Size). A conforming broker discards a bigger message for this client rather than send it, so
/// oversize messages never reach the client's decoder (whose error would drop the connection).
pub const MAX_INCOMING_PACKET: u32 = 8 * 1024 * 1024;
/// Publishes the bridge keeps unacknowledged at once, at most: rumqttc takes the smaller of this
/// and the receive maximum the broker announces. Mosquitto's default receive maximum is 20, and a
/// client over it is disconnected — which a burst (the full republish, the demo's clean-up) must
/// never be, even on a broker that enforces 20 without announcing it. On one core the limit sets
/// the bridge's pace: the acks that free the slots arrive only when the network task next runs.
pub const OUTGOING_INFLIGHT: u16 = 20;
/// The largest packet the bridge sends, unless the broker announces less in CONNACK. Discovery for
/// a car with every entity is tens of kilobytes; a packet over the broker's limit would make
/// rumqttc drop the connection, so [`Bridge::send`] refuses it first.
const MAX_OUTGOING_PACKET: usize = 1024 * 1024;
/// Echoed user input (topic parts, ids, parser messages) in `event` and `command/result` is cut
/// to this many bytes, so an echo can never be what makes a message too large.
const MAX_ECHO: usize = 300;

/// What the bridge needs to know.
#[derive(Debug, Clone)]
pub struct BridgeSettings {
    pub mqtt: MqttConfig,
    pub discovery: DiscoveryMode,
    /// The status page, linked from every device in Home Assistant.
    pub configuration_url: Option<String>,
    /// On a clean stop, clear every retained topic published (the demo's cars leave Home
    /// Assistant) instead of publishing `offline`.
    pub clear_on_stop: bool,
}

/// Why the bridge stopped.
#[derive(Debug, thiserror::Error)]
pub enum BridgeError {
    #[error("MQTT client stopped: {0}")]
    Client(#[from] rumqttc::v5::ClientError),
}

/// `{"command": "...", "params": {...}, "id": "..."}` on `<base>/<VIN>/command`.
#[derive(Deserialize)]
struct CommandRequest {
    command: String,
    #[serde(default)]
    params: Json,
    #[serde(default)]
    id: Option<String>,
}

/// What the network task tells the bridge.
enum Net {
    /// Connected; the broker's own packet size limit, if it announced one.
    Connected { max_packet: Option<u32> },
    Message {
        topic: String,
        payload: Bytes,
        retained: bool,
        /// Seconds left of the publisher's message expiry (MQTT 5), if it set one.
        expiry: Option<u32>,
    },
}

struct Bridge {
    client: AsyncClient,
    topics: Topics,
    site: Site,
    hub: Arc<Hub>,
    executor: Executor,
    clock: Clock,
    /// Last payload per retained topic, so unchanged values are not sent again.
    published: HashMap<String, Bytes>,
    /// What each car's published discovery was built from: while it stays the same, a sync
    /// publishes states only (building discovery is most of a sync's work, and a streaming car
    /// syncs many times a second). Cleared with `published`.
    discovered: HashMap<String, discovery::Inputs>,
    /// Each car's entity states as last published, by entity id: a sync formats topics and looks
    /// them up in `published` only for entities whose states differ (of a streaming car's ~150
    /// entities, a record changes a few dozen). Cleared with `published`.
    states: HashMap<String, HashMap<&'static str, EntityStates>>,
    /// The bridge device's discovery (which never changes) is in `published`.
    bridge_discovered: bool,
    /// Devices whose retained discovery configs we watch, to clear the ones no longer published.
    watched: HashSet<String>,
    delivery: DeliveryMarkers,
    /// The largest packet this connection may send (ours, or the broker's if smaller).
    max_outgoing: usize,
    /// Subscribed at least once. Until then retained topics are not published (the first
    /// connect publishes everything anyway, after subscribing: a state seen before the command
    /// subscriptions exist would invite a command nobody hears), and events wait in `held`.
    subscribed: bool,
    held: Vec<(String, Bytes)>,
}

/// One entity's payloads as [`Bridge::sync_vehicle`] computed them: its state topics' (the main
/// one, and a climate entity's aspects) and its attributes.
#[derive(PartialEq)]
struct EntityStates {
    states: Vec<(Option<&'static str>, String)>,
    attributes: Option<String>,
}

/// Confirms hub barriers ([`HubEvent::Barrier`]) once the broker has every publish before them.
///
/// rumqttc does not say which PUBACK belongs to which `publish` call, and drops unsent packets on
/// a reconnect (clean session). So after a burst's publishes the bridge publishes a QoS 1 marker
/// `"<connection> <id>"` to its own delivery topic, which it subscribes to, with the burst's
/// newest barrier id. The broker handles a client's packets in order: when the marker comes back,
/// every earlier publish on that connection has been taken in, and the hub confirms barrier `id`
/// and every earlier one (one marker per burst, not one per record). A marker from an earlier
/// connection proves nothing (what came before it may have been dropped), so it is ignored; after
/// a reconnect the newest open barrier gets a new marker after the full republish.
#[derive(Default)]
struct DeliveryMarkers {
    topic: String,
    /// Connections seen (bumped on every connect).
    connection: u64,
    /// The newest barrier marked, and the newest confirmed: open while `marked > confirmed`.
    marked: u64,
    confirmed: u64,
}

/// Runs the bridge until `shutdown`; then publishes `offline` and disconnects cleanly.
pub async fn run(
    settings: BridgeSettings,
    hub: Arc<Hub>,
    // Subscribed by the caller before the tasks that announce problems start, so none is missed.
    mut hub_events: broadcast::Receiver<HubEvent>,
    executor: Executor,
    mut outcomes: mpsc::Receiver<CommandOutcome>,
    clock: Clock,
    shutdown: CancellationToken,
) -> Result<(), BridgeError> {
    let topics = Topics::new(&settings.mqtt.base_topic, &settings.mqtt.discovery_prefix);
    let (client, eventloop) = AsyncClient::new(options(&settings.mqtt, &topics), 256);
    // Unbounded: the network task must never wait for the bridge, or a bridge busy publishing (and
    // waiting for the network task to send) would deadlock with it.
    let (net_tx, mut net_rx) = mpsc::unbounded_channel();
    let io_stop = CancellationToken::new();
    let io = tokio::spawn(drive(
        eventloop,
        net_tx,
        format!("{}/", topics.discovery_prefix()),
        io_stop.clone(),
    ));
    let mut bridge = Bridge {
        client,
        topics,
        site: Site {
            mode: settings.discovery,
            configuration_url: settings.configuration_url,
        },
        hub,
        executor,
        clock,
        published: HashMap::new(),
        discovered: HashMap::new(),
        states: HashMap::new(),
        bridge_discovered: false,
        delivery: DeliveryMarkers {
            topic: bridge_topics_delivery(&settings.mqtt),
            ..DeliveryMarkers::default()
        },
        watched: HashSet::new(),
        max_outgoing: MAX_OUTGOING_PACKET,
        subscribed: false,
        held: Vec::new(),
    };
    let mut republish_at: Option<tokio::time::Instant> = None;
    loop {
        let republish = async {
            match republish_at {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = shutdown.cancelled() => break,
            Some(net) = net_rx.recv() => match net {
                Net::Connected { max_packet } => {
                    bridge.max_outgoing = max_packet
                        .map_or(MAX_OUTGOING_PACKET, |m| (m as usize).min(MAX_OUTGOING_PACKET));
                    bridge.on_connect().await?
                }
                Net::Message { topic, payload, retained, expiry } => {
                    if bridge.on_message(&topic, &payload, retained, expiry).await? {
                        let jitter = rand::thread_rng().gen_range(500..1500);
                        republish_at = Some(tokio::time::Instant::now() + Duration::from_millis(jitter));
                    }
                }
            },
            event = hub_events.recv() => match event {
                Ok(event) => {
                    if bridge.on_hub_events(event, &mut hub_events).await? {
                        break;
                    }
                }
                Err(broadcast::error::RecvError::Lagged(_)) => bridge.recover_lost_events().await?,
                Err(broadcast::error::RecvError::Closed) => break,
            },
            Some(outcome) = outcomes.recv() => bridge.result(&outcome).await?,
            _ = republish => {
                republish_at = None;
                info!("Home Assistant came online; republishing discovery and states");
                bridge.forget_published();
                bridge.sync_all().await?;
            }
        }
    }
    if settings.clear_on_stop {
        // Empty retained payloads: Home Assistant deletes the devices, the broker forgets the rest.
        let topics: Vec<String> = bridge.published.keys().cloned().collect();
        info!(
            topics = topics.len(),
            "clearing everything TeslaSync published"
        );
        for topic in topics {
            bridge.send(topic, Vec::new(), true).await?;
        }
        bridge
            .send(bridge.topics.status(), Vec::new(), true)
            .await?;
    } else {
        // Clean shutdown: say offline ourselves (the last will only fires on an unclean disconnect).
        bridge
            .client
            .publish(bridge.topics.status(), QoS::AtLeastOnce, true, "offline")
            .await?;
    }
    bridge.client.disconnect().await?;
    if tokio::time::timeout(Duration::from_secs(5), io)
        .await
        .is_err()
    {
        warn!("MQTT connection did not close within 5 s");
    }
    io_stop.cancel();
    Ok(())
}

/// This client's delivery-marker topic (see [`DeliveryMarkers`]).
fn bridge_topics_delivery(mqtt: &MqttConfig) -> String {
    Topics::new(&mqtt.base_topic, &mqtt.discovery_prefix).delivery(&mqtt.client_id)
}

fn options(mqtt: &MqttConfig, topics: &Topics) -> MqttOptions {
    let mut o = MqttOptions::new(mqtt.client_id.clone(), mqtt.host(), mqtt.port());
    o.set_keep_alive(Duration::from_secs(30));
    o.set_clean_start(true);
    o.set_max_packet_size(Some(MAX_INCOMING_PACKET));
    o.set_outgoing_inflight_upper_limit(OUTGOING_INFLIGHT);
    // A delivery marker must not wait behind Nagle's algorithm for the broker's delayed ACK: the
    // car's record is acknowledged only when the marker comes back.
    let mut network = NetworkOptions::new();
    network.set_tcp_nodelay(true);
    o.set_network_options(network);
    o.set_last_will(LastWill::new(
        topics.status(),
        "offline",
        QoS::AtLeastOnce,
        true,
        None,
    ));
    if let Some(user) = &mqtt.username {
        let password = mqtt
            .password
            .as_ref()
            .map(|p| p.expose().to_string())
            .unwrap_or_default();
        o.set_credentials(user.clone(), password);
    }
    if mqtt.tls() {
        o.set_transport(Transport::tls_with_default_config());
    }
    o
}

/// Polls the MQTT event loop (which reconnects by itself) and forwards what matters.
async fn drive(
    mut eventloop: EventLoop,
    tx: mpsc::UnboundedSender<Net>,
    discovery_prefix: String,
    stop: CancellationToken,
) {
    let mut backoff = Duration::from_secs(1);
    let mut disconnecting = false;
    loop {
        let event = tokio::select! {
            _ = stop.cancelled() => return,
            event = eventloop.poll() => event,
        };
        let net = match event {
            Ok(Event::Incoming(Packet::ConnAck(ack))) => {
                info!("connected to the MQTT broker");
                backoff = Duration::from_secs(1);
                Net::Connected {
                    max_packet: ack.properties.and_then(|p| p.max_packet_size),
                }
            }
            // Live discovery configs are our own publications coming back (the bridge watches only
            // the retained ones): not worth a trip through the channel.
            Ok(Event::Incoming(Packet::Publish(p)))
                if !p.retain
                    && p.topic.starts_with(discovery_prefix.as_bytes())
                    && p.topic.ends_with(b"/config") =>
            {
                continue
            }
            Ok(Event::Incoming(Packet::Publish(p))) => Net::Message {
                // Topics are UTF-8 by the protocol (the broker checks); a bad one matches nothing.
                topic: String::from_utf8_lossy(&p.topic).into_owned(),
                payload: p.payload,
                retained: p.retain,
                expiry: p.properties.and_then(|p| p.message_expiry_interval),
            },
            // "No matching subscribers" is a success that says nobody listens yet (MQTT 5 §3.4.2.1).
            Ok(Event::Incoming(Packet::PubAck(ack)))
                if !matches!(
                    ack.reason,
                    PubAckReason::Success | PubAckReason::NoMatchingSubscribers
                ) =>
            {
                warn!(reason = ?ack.reason, "the MQTT broker refused a publish");
                continue;
            }
            // Keep reading until the broker closes the connection: dropping the socket with
            // acks still unread would reset it, and the broker would lose what it had not read
            // yet (the demo's clean-up) and publish the last will.
            Ok(Event::Outgoing(Outgoing::Disconnect)) => {
                disconnecting = true;
                continue;
            }
            Ok(_) => continue,
            Err(e) => {
                if disconnecting || tx.is_closed() {
                    return;
                }
                warn!(error = %connection_problem(&e), retry_in_secs = backoff.as_secs(), "MQTT connection problem");
                tokio::select! {
                    _ = stop.cancelled() => return,
                    _ = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(Duration::from_secs(30));
                continue;
            }
        };
        if tx.send(net).is_err() {
            return;
        }
    }
}

/// A connection error in words a user can act on (the broker's refusals name the setting to fix).
pub fn connection_problem(e: &ConnectionError) -> String {
    match e {
        ConnectionError::ConnectionRefused(code) => refusal(*code),
        other => other.to_string(),
    }
}

/// Why a broker refused the connection, and what to change.
fn refusal(code: ConnectReturnCode) -> String {
    match code {
        ConnectReturnCode::BadUserNamePassword => "the MQTT broker refused the username or \
            password (bad credentials): check mqtt.username and mqtt.password (demo: \
            --mqtt-username, --mqtt-password-file)"
            .into(),
        ConnectReturnCode::NotAuthorized => "the MQTT broker refused the connection: not \
            authorized (set mqtt.username and mqtt.password to a user the broker accepts; demo: \
            --mqtt-username, --mqtt-password-file)"
            .into(),
        ConnectReturnCode::UnsupportedProtocolVersion
        | ConnectReturnCode::RefusedProtocolVersion => {
            "the MQTT broker does not speak MQTT 5, which TeslaSync needs (Mosquitto 1.6 or later, \
             EMQX, HiveMQ and Home Assistant's Mosquitto add-on do)"
                .into()
        }
        ConnectReturnCode::ClientIdentifierNotValid | ConnectReturnCode::BadClientId => {
            "the MQTT broker refused the client id: change mqtt.client_id".into()
        }
        ConnectReturnCode::Banned => "the MQTT broker has banned this client".into(),
        other => format!("the MQTT broker refused the connection ({other:?})"),
    }
}

/// Cuts echoed user input to [`MAX_ECHO`] bytes on a character boundary.
pub fn clip(text: &str) -> String {
    clip_to(text, MAX_ECHO)
}

fn clip_to(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} bytes)", &text[..end], text.len())
}

/// The value of a top-level-looking `"<key>": "<string>"` near the start of a payload that is
/// too large, not UTF-8 or not valid JSON, so the answer can still carry the command's `id`.
fn sniff(payload: &[u8], key: &str) -> Option<String> {
    let head = payload;
    let needle = format!("\"{key}\"");
    let mut from = 0;
    while let Some(at) = find(&head[from..], needle.as_bytes()) {
        let mut rest = &head[from + at + needle.len()..];
        rest = trim_start(rest);
        if let Some(after) = rest.strip_prefix(b":") {
            let value = trim_start(after);
            let mut values = serde_json::Deserializer::from_slice(value).into_iter::<String>();
            if let Some(Ok(text)) = values.next() {
                return Some(clip(&text));
            }
        }
        from += at + needle.len();
    }
    None
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn trim_start(bytes: &[u8]) -> &[u8] {
    let n = bytes.iter().take_while(|b| b.is_ascii_whitespace()).count();
    &bytes[n..]
}

/// One command attempt that is refused before it reaches the executor.
struct Refusal<'a> {
    vin: &'a str,
    id: Option<String>,
    command: String,
    reason: String,
}

impl Bridge {
    async fn on_connect(&mut self) -> Result<(), BridgeError> {
        // Command topics: retain as published, so a retained command is recognised as one even
        // when it arrives live (see the module comment).
        let commands: Vec<Filter> = self
            .topics
            .command_subscriptions()
            .into_iter()
            .map(|topic| {
                let mut f = Filter::new(topic, QoS::AtLeastOnce);
                f.preserve_retain = true;
                f
            })
            .collect();
        self.client.subscribe_many(commands).await?;
        self.client
            .subscribe(self.topics.home_assistant_status(), QoS::AtLeastOnce)
            .await?;
        self.client
            .subscribe(self.delivery.topic.clone(), QoS::AtLeastOnce)
            .await?;
        self.delivery.connection += 1;
        self.subscribed = true;
        for (topic, payload) in std::mem::take(&mut self.held) {
            debug!(topic = %clip(&topic), "sending a held message");
            self.send(topic, payload, false).await?;
        }
        // The broker may have restarted and lost retained messages: send everything again.
        self.forget_published();
        self.watched.clear();
        self.publish_retained(self.topics.status(), b"online".to_vec())
            .await?;
        self.sync_all().await?;
        if self.delivery.marked > self.delivery.confirmed {
            self.send_marker(self.delivery.marked).await?;
        }
        Ok(())
    }

    /// Everything is to be published again (a new connection, or Home Assistant restarted).
    fn forget_published(&mut self) {
        self.published.clear();
        self.discovered.clear();
        self.states.clear();
        self.bridge_discovered = false;
    }

    /// Marks the point in the publish stream that barrier `id` and every earlier one wait for (see
    /// [`DeliveryMarkers`]).
    async fn barrier(&mut self, id: u64) -> Result<(), BridgeError> {
        self.delivery.marked = self.delivery.marked.max(id);
        self.send_marker(id).await
    }

    async fn send_marker(&mut self, id: u64) -> Result<(), BridgeError> {
        let marker = format!("{} {id}", self.delivery.connection);
        self.send(self.delivery.topic.clone(), marker.into_bytes(), false)
            .await
    }

    /// A marker came back from the broker.
    fn on_marker(&mut self, payload: &[u8]) {
        let marker = std::str::from_utf8(payload).unwrap_or_default();
        let Some((connection, id)) = marker.split_once(' ') else {
            return;
        };
        let (Ok(connection), Ok(id)) = (connection.parse::<u64>(), id.parse::<u64>()) else {
            return;
        };
        if connection == self.delivery.connection && id > self.delivery.confirmed {
            self.delivery.confirmed = id;
            self.hub.confirm_through(id);
        }
    }

    /// Handles one inbound message; returns true when Home Assistant announced itself.
    async fn on_message(
        &mut self,
        topic: &str,
        payload: &[u8],
        retained: bool,
        expiry: Option<u32>,
    ) -> Result<bool, BridgeError> {
        if topic == self.delivery.topic {
            self.on_marker(payload);
            return Ok(false);
        }
        if retained && !payload.is_empty() {
            if let Some(id) = self
                .watched
                .iter()
                .find(|id| self.topics.is_discovery_of(topic, id))
            {
                // A config from another discovery mode, a removed entity or an earlier version.
                if !self.published.contains_key(topic) {
                    info!(topic, device = %id, "clearing a discovery config TeslaSync no longer publishes");
                    self.send(topic.to_string(), Vec::new(), true).await?;
                }
                return Ok(false);
            }
        }
        let Some(inbound) = self.topics.parse(topic) else {
            return Ok(false);
        };
        let (vin, what) = match &inbound {
            Inbound::HomeAssistantStatus => {
                let text = std::str::from_utf8(payload).unwrap_or_default();
                return Ok(text.trim() == "online");
            }
            Inbound::Set { vin, key, .. } => (vin.to_ascii_uppercase(), key.clone()),
            Inbound::Command { vin } => (vin.to_ascii_uppercase(), String::new()),
        };
        let json = matches!(inbound, Inbound::Command { .. });
        // What an answer can carry even when the payload cannot be read as a whole.
        let refusal = |reason: String| Refusal {
            vin: &vin,
            id: if json { sniff(payload, "id") } else { None },
            command: if json {
                sniff(payload, "command").unwrap_or_default()
            } else {
                clip(&what)
            },
            reason,
        };
        if retained && payload.is_empty() {
            // The broker deleting a retained message (our own clean-up below, or the user's).
            return Ok(false);
        }
        if retained {
            // A retained command would run again on every restart and reconnect: whatever else is
            // wrong with it, clear it so it stops replaying.
            self.send(topic.to_string(), Vec::new(), true).await?;
        }
        if payload.len() > MAX_COMMAND_PAYLOAD {
            let reason = format!(
                "too large: the payload on {} is {} bytes; commands are at most {} KiB",
                clip(topic),
                payload.len(),
                MAX_COMMAND_PAYLOAD / 1024
            );
            return self.refuse(refusal(reason)).await.map(|_| false);
        }
        if retained {
            // Never executed (and cleared above).
            warn!(topic = %clip(topic), "refusing a retained command message");
            let reason = format!(
                "retained: a command published with the retain flag on {} is never executed (it \
                 would run again on every restart); TeslaSync cleared it from the broker. Publish \
                 commands without the retain flag",
                clip(topic)
            );
            return self.refuse(refusal(reason)).await.map(|_| false);
        }
        let Ok(text) = std::str::from_utf8(payload) else {
            let reason = format!("the payload on {} is not UTF-8 text", clip(topic));
            return self.refuse(refusal(reason)).await.map(|_| false);
        };
        let Some(record) = self.hub.get(&vin) else {
            let known = self.hub.vins().join(", ");
            let reason = format!(
                "unknown vehicle: no vehicle {} on this Tesla account (known: {known})",
                clip(&vin)
            );
            self.event(None, "unknown_vehicle", &reason).await?;
            let mut r = refusal(reason);
            if json {
                // The payload is readable: take its id even where the sniffing would not.
                if let Ok(request) = serde_json::from_str::<CommandRequest>(text) {
                    r.id = request.id.map(|id| clip(&id));
                    r.command = clip(&request.command);
                }
            }
            return self.result_of(r).await.map(|_| false);
        };
        let expires_at = expiry.map(|secs| self.clock.now() + Duration::from_secs(secs.into()));
        match inbound {
            Inbound::Set { key, aspect, .. } => {
                self.on_set(&record, &key, aspect.as_deref(), text, expires_at)
                    .await?
            }
            Inbound::Command { .. } => self.on_command(&record, text, expires_at).await?,
            Inbound::HomeAssistantStatus => {}
        }
        Ok(false)
    }

    async fn on_set(
        &mut self,
        record: &VehicleRecord,
        key: &str,
        aspect: Option<&str>,
        payload: &str,
        expires_at: Option<SystemTime>,
    ) -> Result<(), BridgeError> {
        let vin = record.info.vin.as_str();
        let Some(entity) = catalog::find(key).filter(|e| e.is_control()) else {
            let reason = format!("{:?} is not a controllable entity of this car", clip(key));
            self.event(Some(vin), "unknown_entity", &reason).await?;
            return self
                .result_of(Refusal {
                    vin,
                    id: None,
                    command: clip(key),
                    reason,
                })
                .await;
        };
        let requests = match entity.requests(aspect, payload, &record.signals) {
            Ok(r) => r,
            Err(e) => return self.reject(vin, None, key, &format!("{key}: {e}")).await,
        };
        // Parse them all before sending any, so a bad second command does not leave half a change.
        // Through the one parser, with the bounds the entity advertised (the car's own).
        let limits = crate::vehicle::command::limits_of(&record.signals);
        let mut commands = Vec::with_capacity(requests.len());
        for r in requests {
            match Command::parse_within(r.command, &r.params, &limits) {
                Ok(c) => commands.push(c),
                Err(e) => {
                    return self
                        .reject(vin, None, r.command, &format!("{key}: {e}"))
                        .await
                }
            }
        }
        for command in commands {
            self.submit(vin, command, None, expires_at);
        }
        Ok(())
    }

    async fn on_command(
        &mut self,
        record: &VehicleRecord,
        payload: &str,
        expires_at: Option<SystemTime>,
    ) -> Result<(), BridgeError> {
        let vin = record.info.vin.as_str();
        let request: CommandRequest = match serde_json::from_str(payload) {
            Ok(r) => r,
            Err(e) => {
                let msg = format!("the command payload is not valid JSON {{\"command\": ..., \"params\": {{...}}, \"id\": ...}}: {e}");
                let id = sniff(payload.as_bytes(), "id");
                let command = sniff(payload.as_bytes(), "command").unwrap_or_default();
                return self.reject(vin, id, &command, &msg).await;
            }
        };
        let limits = crate::vehicle::command::limits_of(&record.signals);
        match Command::parse_within(&request.command, &request.params, &limits) {
            Ok(command) => self.submit(vin, command, request.id, expires_at),
            Err(e) => {
                self.reject(vin, request.id, &request.command, &e.to_string())
                    .await?
            }
        }
        Ok(())
    }

    fn submit(
        &self,
        vin: &str,
        command: Command,
        id: Option<String>,
        expires_at: Option<SystemTime>,
    ) {
        debug!(vin, command = command.name(), "queueing command");
        self.executor.submit(
            vin,
            Job {
                command,
                id,
                expires_at,
            },
        );
    }

    /// A command that never reached Tesla: an event for the user and a failed result for automations.
    async fn reject(
        &mut self,
        vin: &str,
        id: Option<String>,
        command: &str,
        reason: &str,
    ) -> Result<(), BridgeError> {
        self.refuse(Refusal {
            vin,
            id: id.map(|id| clip(&id)),
            command: clip(command),
            reason: reason.to_string(),
        })
        .await
    }

    /// A refused attempt: `bad_payload` on the car's event topic (`<base>/event` for a VIN that is
    /// not on the account) and a failed `command/result`.
    async fn refuse(&mut self, r: Refusal<'_>) -> Result<(), BridgeError> {
        warn!(vin = %clip(r.vin), command = %r.command, reason = %clip(&r.reason), "rejected command");
        let known = self.hub.get(r.vin).is_some();
        self.event(known.then_some(r.vin), "bad_payload", &r.reason)
            .await?;
        self.result_of(r).await
    }

    /// The failed `command/result` of a refused attempt.
    async fn result_of(&mut self, r: Refusal<'_>) -> Result<(), BridgeError> {
        let outcome = CommandOutcome {
            vin: r.vin.to_string(),
            id: r.id,
            command: r.command,
            ok: false,
            reason: r.reason,
            duration_ms: 0,
        };
        self.result(&outcome).await
    }

    async fn result(&mut self, outcome: &CommandOutcome) -> Result<(), BridgeError> {
        let mut outcome = outcome.clone();
        outcome.reason = clip_to(&outcome.reason, 4 * MAX_ECHO);
        let payload = serde_json::to_vec(&outcome).expect("serializable");
        self.send(self.topics.command_result(&outcome.vin), payload, false)
            .await
    }

    async fn event(
        &mut self,
        vin: Option<&str>,
        kind: &str,
        message: &str,
    ) -> Result<(), BridgeError> {
        let topic = match vin {
            Some(vin) => self.topics.event(vin),
            None => self.topics.bridge_event(),
        };
        let at = humantime::format_rfc3339_seconds(self.clock.now()).to_string();
        let message = clip_to(message, 4 * MAX_ECHO);
        let payload = json!({ "kind": kind, "message": message, "at": at });
        self.send(topic, payload.to_string().into_bytes(), false)
            .await
    }

    /// Every publish goes through here: one that would exceed the packet limit (which would make
    /// the client drop the connection) is not sent, and logged instead.
    async fn send(
        &mut self,
        topic: String,
        payload: impl Into<Bytes>,
        retain: bool,
    ) -> Result<(), BridgeError> {
        let payload = payload.into();
        if !self.subscribed {
            if !retain {
                debug!(topic = %clip(&topic), "holding until subscribed");
                self.held.push((topic, payload));
            }
            return Ok(());
        }
        // Fixed header, topic length, packet id and properties take well under 64 bytes.
        let size = topic.len() + payload.len() + 64;
        if size > self.max_outgoing {
            warn!(
                topic = %clip(&topic),
                bytes = size,
                limit = self.max_outgoing,
                "not publishing a message larger than the MQTT packet limit"
            );
            return Ok(());
        }
        self.client
            .publish(topic, QoS::AtLeastOnce, retain, payload)
            .await?;
        Ok(())
    }

    /// A burst of hub events: `first` and everything already queued behind it. Each changed car
    /// is synced once per burst, not once per record (a streaming car changes many times a
    /// second, and a sync computes every state of the car). Removals and problems flush the
    /// pending cars first, so they follow the states before them. Barriers wait for the end of
    /// the burst: one marker, for the newest, goes out after the last sync, so each is still
    /// confirmed only after every publish its record caused (and perhaps a few later ones), while
    /// a burst of records from one car costs one sync and one marker instead of one per record.
    /// `true`: the hub closed.
    async fn on_hub_events(
        &mut self,
        first: HubEvent,
        events: &mut broadcast::Receiver<HubEvent>,
    ) -> Result<bool, BridgeError> {
        /// The most events taken in one burst, so commands and the network are served meanwhile.
        const BURST: usize = 1024;
        let mut pending = BTreeSet::new();
        // The newest barrier of the burst: its marker confirms the earlier ones too.
        let mut barrier = None;
        let mut next = Some(first);
        let mut taken = 0;
        let mut closed = false;
        while let Some(event) = next.take() {
            match event {
                HubEvent::Changed { vin } => {
                    pending.insert(vin);
                }
                HubEvent::Removed { vin } => {
                    self.flush_changes(&mut pending).await?;
                    self.remove_vehicle(&vin).await?;
                }
                HubEvent::Problem { vin, kind, message } => {
                    self.flush_changes(&mut pending).await?;
                    self.event(vin.as_deref(), kind, &message).await?;
                }
                HubEvent::Barrier { id } => barrier = barrier.max(Some(id)),
            }
            taken += 1;
            if taken == BURST {
                break;
            }
            match events.try_recv() {
                Ok(event) => next = Some(event),
                Err(broadcast::error::TryRecvError::Empty) => {}
                Err(broadcast::error::TryRecvError::Lagged(_)) => {
                    pending.clear();
                    self.recover_lost_events().await?;
                }
                Err(broadcast::error::TryRecvError::Closed) => closed = true,
            }
        }
        self.flush_changes(&mut pending).await?;
        if let Some(id) = barrier {
            self.barrier(id).await?;
        }
        Ok(closed)
    }

    /// The hub's event queue overflowed: changes and barriers were lost. Everything applied before
    /// the newest barrier is in the hub's records, so republishing them all and then marking that
    /// barrier confirms every lost one (no record waits for its ack timeout).
    async fn recover_lost_events(&mut self) -> Result<(), BridgeError> {
        warn!("the bridge fell behind the hub's events; republishing every car");
        let newest = self.hub.last_barrier();
        self.sync_all().await?;
        if newest > self.delivery.marked {
            self.barrier(newest).await?;
        }
        Ok(())
    }

    async fn flush_changes(&mut self, pending: &mut BTreeSet<String>) -> Result<(), BridgeError> {
        if pending.is_empty() {
            return Ok(());
        }
        for vin in std::mem::take(pending) {
            self.sync_vehicle(&vin).await?;
        }
        // The account-level cost figures arrive on the cars; the bridge device shows them.
        self.sync_bridge().await
    }

    async fn sync_all(&mut self) -> Result<(), BridgeError> {
        self.sync_bridge().await?;
        for vin in self.hub.vins() {
            self.sync_vehicle(&vin).await?;
        }
        Ok(())
    }

    /// Starts watching a device's retained discovery configs (once per connection).
    async fn watch(&mut self, object_id: String) -> Result<(), BridgeError> {
        if self.watched.insert(object_id.clone()) {
            for filter in self.topics.discovery_filters(&object_id) {
                self.client.subscribe(filter, QoS::AtLeastOnce).await?;
            }
        }
        Ok(())
    }

    /// The bridge device: its discovery and its diagnostics.
    async fn sync_bridge(&mut self) -> Result<(), BridgeError> {
        if !self.bridge_discovered {
            self.watch(bridge_object_id(self.topics.base())).await?;
            for (topic, config) in discovery::bridge_configs(&self.topics, &self.site) {
                self.publish_retained(topic, serde_json::to_vec(&config).expect("serializable"))
                    .await?;
            }
            self.bridge_discovered = true;
        }
        let cars = self.hub.snapshot();
        let signals: Vec<&Signals> = cars.iter().map(|r| &r.signals).collect();
        let facts = BridgeFacts {
            version: env!("CARGO_PKG_VERSION"),
            cars: cars.len(),
            cost: BridgeFacts::cost_from(&signals),
        };
        for sensor in discovery::BRIDGE_SENSORS {
            self.publish_retained(
                self.topics.bridge_state(sensor.key),
                (sensor.value)(&facts).into_bytes(),
            )
            .await?;
        }
        Ok(())
    }

    /// Publishes whatever changed for one car: discovery, availability, states, attributes.
    async fn sync_vehicle(&mut self, vin: &str) -> Result<(), BridgeError> {
        let Some(record) = self.hub.get(vin) else {
            return Ok(());
        };
        let inputs = discovery::Inputs::of(&record.info, &record.signals);
        if self.discovered.get(vin) != Some(&inputs) {
            self.publish_discovery(&record).await?;
            self.discovered.insert(vin.to_string(), inputs);
        }
        self.publish_retained(self.topics.availability(vin), b"online".to_vec())
            .await?;
        // Taken out while this sync publishes, and put back with what it published.
        let mut last = self.states.remove(vin).unwrap_or_default();
        for entity in catalog::for_car(&record.signals) {
            let now = EntityStates {
                states: entity.states(&record.signals),
                attributes: entity.attributes_of(&record.signals).map(|a| a.to_string()),
            };
            if last.get(entity.id()) == Some(&now) {
                continue;
            }
            for (aspect, state) in &now.states {
                let topic = match aspect {
                    None => self.topics.state(vin, entity.id()),
                    Some(a) => self.topics.aspect_state(vin, entity.id(), a),
                };
                self.publish_retained(topic, state.clone().into_bytes())
                    .await?;
            }
            if let Some(attributes) = &now.attributes {
                self.publish_retained(
                    self.topics.attributes(vin, entity.id()),
                    attributes.clone().into_bytes(),
                )
                .await?;
            }
            last.insert(entity.id(), now);
        }
        self.states.insert(vin.to_string(), last);
        Ok(())
    }

    /// A car's discovery configs, and the removal of those it no longer has.
    async fn publish_discovery(&mut self, record: &VehicleRecord) -> Result<(), BridgeError> {
        let vin = &record.info.vin;
        let device = object_id(vin);
        let configs = discovery::configs(&self.topics, &self.site, &record.info, &record.signals);
        // Entities the car no longer has (hardware reported missing) leave Home Assistant.
        let current: HashSet<&str> = configs.iter().map(|(t, _)| t.as_str()).collect();
        let gone: Vec<String> = self
            .published
            .keys()
            .filter(|t| self.topics.is_discovery_of(t, &device) && !current.contains(t.as_str()))
            .cloned()
            .collect();
        for topic in gone {
            self.published.remove(&topic);
            self.send(topic, Vec::new(), true).await?;
        }
        for (topic, config) in configs {
            self.publish_retained(topic, serde_json::to_vec(&config).expect("serializable"))
                .await?;
        }
        self.watch(device).await
    }

    /// Clears a removed car: discovery (so Home Assistant deletes the device) and its retained topics.
    async fn remove_vehicle(&mut self, vin: &str) -> Result<(), BridgeError> {
        let own_prefix = format!("{}/{vin}/", self.topics.base());
        let mut stale: Vec<String> = self
            .published
            .keys()
            .filter(|t| t.starts_with(&own_prefix))
            .cloned()
            .collect();
        stale.extend(discovery::removal_topics(&self.topics, self.site.mode, vin));
        self.discovered.remove(vin);
        self.states.remove(vin);
        for topic in stale {
            self.published.remove(&topic);
            self.send(topic, Vec::new(), true).await?;
        }
        self.sync_bridge().await
    }

    async fn publish_retained(
        &mut self,
        topic: String,
        payload: Vec<u8>,
    ) -> Result<(), BridgeError> {
        if self.published.get(&topic).is_some_and(|p| *p == payload) {
            return Ok(());
        }
        // Bytes: the broker's copy and the one kept for comparison share one buffer.
        let payload = Bytes::from(payload);
        self.send(topic.clone(), payload.clone(), true).await?;
        self.published.insert(topic, payload);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn echoes_are_cut_on_a_character_boundary() {
        assert_eq!(clip("short"), "short");
        let long = "é".repeat(1000);
        let cut = clip(&long);
        assert!(cut.len() < MAX_ECHO + 32, "{}", cut.len());
        assert!(cut.ends_with("(2000 bytes)"), "{cut}");
    }

    #[test]
    fn an_id_is_read_from_payloads_that_do_not_parse() {
        let mut big = br#"{"id": "a1", "command": "honk_horn", "params": {"x": ""#.to_vec();
        big.extend(std::iter::repeat_n(b'x', 200_000));
        assert_eq!(sniff(&big, "id").as_deref(), Some("a1"));
        assert_eq!(sniff(&big, "command").as_deref(), Some("honk_horn"));
        let bytes = [
            br#"{"params": {"id": 5}, "id" : "b\"2", "x": ""#.as_slice(),
            &[0xff],
        ]
        .concat();
        assert_eq!(sniff(&bytes, "id").as_deref(), Some("b\"2"));
        assert_eq!(sniff(b"no json at all", "id"), None);
        assert_eq!(sniff(br#"{"id": 7}"#, "id"), None);
    }

    #[test]
    fn broker_refusals_name_the_fix() {
        let bad = connection_problem(&ConnectionError::ConnectionRefused(
            ConnectReturnCode::BadUserNamePassword,
        ));
        assert!(
            bad.contains("bad credentials") && bad.contains("mqtt.password"),
            "{bad}"
        );
        let denied = connection_problem(&ConnectionError::ConnectionRefused(
            ConnectReturnCode::NotAuthorized,
        ));
        assert!(
            denied.contains("not authorized") && denied.contains("mqtt.username"),
            "{denied}"
        );
    }
}
