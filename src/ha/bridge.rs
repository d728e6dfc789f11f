//! `ha::bridge`: the MQTT connection to Home Assistant.
//!
//! Owns all MQTT I/O. Outbound: the bridge status (with the MQTT last will as `offline`), discovery
//! configs, per-car availability, entity states and attributes — retained, QoS 1, and published only
//! when the payload differs from the last one sent (a map of topic → last payload). Inbound: `/set`
//! payloads and JSON commands, turned into [`Command`]s for the executor; Home Assistant's birth
//! message, which triggers a full republish after a short jittered delay.
//!
//! Bad input never stops the bridge: it answers with an `event` and a failed `command/result`.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use rand::Rng;
use rumqttc::{
    AsyncClient, Event, EventLoop, LastWill, MqttOptions, Outgoing, Packet, QoS, Transport,
};
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
use crate::vehicle::hub::{Hub, HubEvent};

/// Discovery payloads for a car with every entity are tens of kilobytes; rumqttc's default is 10 KiB.
const MAX_PACKET: usize = 1024 * 1024;

/// What the bridge needs to know.
#[derive(Debug, Clone)]
pub struct BridgeSettings {
    pub mqtt: MqttConfig,
    pub discovery: DiscoveryMode,
    /// The status page, linked from every device in Home Assistant.
    pub configuration_url: Option<String>,
}

/// Why the bridge stopped.
#[derive(Debug, thiserror::Error)]
pub enum BridgeError {
    #[error("MQTT client stopped: {0}")]
    Client(#[from] rumqttc::ClientError),
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
    Connected,
    Message {
        topic: String,
        payload: Bytes,
        retained: bool,
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
    published: HashMap<String, Vec<u8>>,
    /// Devices whose retained discovery configs we watch, to clear the ones no longer published.
    watched: HashSet<String>,
    delivery: DeliveryMarkers,
}

/// Confirms hub barriers ([`HubEvent::Barrier`]) once the broker has every publish before them.
///
/// rumqttc does not say which PUBACK belongs to which `publish` call, and drops unsent packets on
/// a reconnect (clean session). So for each barrier the bridge publishes a QoS 1 marker
/// `"<connection> <id>"` to its own delivery topic, which it subscribes to. The broker handles a
/// client's packets in order: when the marker comes back, every earlier publish on that
/// connection has been taken in. A marker from an earlier connection proves nothing (what came
/// before it may have been dropped), so it is ignored; after a reconnect every open barrier gets
/// a new marker after the full republish.
#[derive(Default)]
struct DeliveryMarkers {
    topic: String,
    /// Connections seen (bumped on every connect).
    connection: u64,
    open: BTreeSet<u64>,
}

/// Runs the bridge until `shutdown`; then publishes `offline` and disconnects cleanly.
pub async fn run(
    settings: BridgeSettings,
    hub: Arc<Hub>,
    executor: Executor,
    mut outcomes: mpsc::Receiver<CommandOutcome>,
    clock: Clock,
    shutdown: CancellationToken,
) -> Result<(), BridgeError> {
    let topics = Topics::new(&settings.mqtt.base_topic, &settings.mqtt.discovery_prefix);
    let (client, eventloop) = AsyncClient::new(options(&settings.mqtt, &topics), 256);
    let (net_tx, mut net_rx) = mpsc::channel(256);
    let io_stop = CancellationToken::new();
    let io = tokio::spawn(drive(eventloop, net_tx, io_stop.clone()));
    let mut hub_events = hub.subscribe();
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
        delivery: DeliveryMarkers {
            topic: bridge_topics_delivery(&settings.mqtt),
            ..DeliveryMarkers::default()
        },
        watched: HashSet::new(),
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
                Net::Connected => bridge.on_connect().await?,
                Net::Message { topic, payload, retained } => {
                    if bridge.on_message(&topic, &payload, retained).await? {
                        let jitter = rand::thread_rng().gen_range(500..1500);
                        republish_at = Some(tokio::time::Instant::now() + Duration::from_millis(jitter));
                    }
                }
            },
            event = hub_events.recv() => match event {
                Ok(HubEvent::Changed { vin }) => bridge.sync_vehicle(&vin).await?,
                Ok(HubEvent::Removed { vin }) => bridge.remove_vehicle(&vin).await?,
                Ok(HubEvent::Problem { vin, kind, message }) => bridge.event(vin.as_deref(), kind, &message).await?,
                Ok(HubEvent::Barrier { id }) => bridge.barrier(id).await?,
                Err(broadcast::error::RecvError::Lagged(_)) => bridge.sync_all().await?,
                Err(broadcast::error::RecvError::Closed) => break,
            },
            Some(outcome) = outcomes.recv() => bridge.result(&outcome).await?,
            _ = republish => {
                republish_at = None;
                info!("Home Assistant came online; republishing discovery and states");
                bridge.published.clear();
                bridge.sync_all().await?;
            }
        }
    }
    // Clean shutdown: say offline ourselves (the last will only fires on an unclean disconnect).
    bridge
        .client
        .publish(bridge.topics.status(), QoS::AtLeastOnce, true, "offline")
        .await?;
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
    o.set_clean_session(true);
    o.set_max_packet_size(MAX_PACKET, MAX_PACKET);
    o.set_last_will(LastWill::new(
        topics.status(),
        "offline",
        QoS::AtLeastOnce,
        true,
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
async fn drive(mut eventloop: EventLoop, tx: mpsc::Sender<Net>, stop: CancellationToken) {
    let mut backoff = Duration::from_secs(1);
    loop {
        let event = tokio::select! {
            _ = stop.cancelled() => return,
            event = eventloop.poll() => event,
        };
        let net = match event {
            Ok(Event::Incoming(Packet::ConnAck(_))) => {
                info!("connected to the MQTT broker");
                backoff = Duration::from_secs(1);
                Net::Connected
            }
            Ok(Event::Incoming(Packet::Publish(p))) => Net::Message {
                topic: p.topic,
                payload: p.payload,
                retained: p.retain,
            },
            Ok(Event::Outgoing(Outgoing::Disconnect)) => return,
            Ok(_) => continue,
            Err(e) => {
                if tx.is_closed() {
                    return;
                }
                warn!(error = %e, retry_in_secs = backoff.as_secs(), "MQTT connection problem");
                tokio::select! {
                    _ = stop.cancelled() => return,
                    _ = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(Duration::from_secs(30));
                continue;
            }
        };
        if tx.send(net).await.is_err() {
            return;
        }
    }
}

impl Bridge {
    async fn on_connect(&mut self) -> Result<(), BridgeError> {
        for topic in self.topics.subscriptions() {
            self.client.subscribe(topic, QoS::AtLeastOnce).await?;
        }
        self.client
            .subscribe(self.delivery.topic.clone(), QoS::AtLeastOnce)
            .await?;
        self.delivery.connection += 1;
        // The broker may have restarted and lost retained messages: send everything again.
        self.published.clear();
        self.watched.clear();
        self.publish_retained(self.topics.status(), b"online".to_vec())
            .await?;
        self.sync_all().await?;
        for id in self.delivery.open.clone() {
            self.send_marker(id).await?;
        }
        Ok(())
    }

    /// A hub barrier: mark the point in the publish stream (see [`DeliveryMarkers`]).
    async fn barrier(&mut self, id: u64) -> Result<(), BridgeError> {
        self.delivery.open.insert(id);
        self.send_marker(id).await
    }

    async fn send_marker(&mut self, id: u64) -> Result<(), BridgeError> {
        let marker = format!("{} {id}", self.delivery.connection);
        self.client
            .publish(self.delivery.topic.clone(), QoS::AtLeastOnce, false, marker)
            .await?;
        Ok(())
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
        if connection == self.delivery.connection && self.delivery.open.remove(&id) {
            self.hub.confirm_delivery(id);
        }
    }

    /// Handles one inbound message; returns true when Home Assistant announced itself.
    async fn on_message(
        &mut self,
        topic: &str,
        payload: &[u8],
        retained: bool,
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
                    self.client
                        .publish(topic, QoS::AtLeastOnce, true, Vec::<u8>::new())
                        .await?;
                }
                return Ok(false);
            }
        }
        let Some(inbound) = self.topics.parse(topic) else {
            return Ok(false);
        };
        if retained && !matches!(inbound, Inbound::HomeAssistantStatus) {
            // A retained command would run again on every restart; never act on one.
            warn!(topic, "ignoring a retained command message");
            self.event(None, "bad_payload", &format!("ignored a retained message on {topic}: publish commands without the retain flag")).await?;
            return Ok(false);
        }
        let text = match std::str::from_utf8(payload) {
            Ok(t) => t,
            Err(_) => {
                self.event(
                    None,
                    "bad_payload",
                    &format!("the payload on {topic} is not UTF-8 text"),
                )
                .await?;
                return Ok(false);
            }
        };
        match inbound {
            Inbound::HomeAssistantStatus => return Ok(text.trim() == "online"),
            Inbound::Set { vin, key, aspect } => {
                self.on_set(&vin.to_ascii_uppercase(), &key, aspect.as_deref(), text)
                    .await?
            }
            Inbound::Command { vin } => self.on_command(&vin.to_ascii_uppercase(), text).await?,
        }
        Ok(false)
    }

    async fn on_set(
        &mut self,
        vin: &str,
        key: &str,
        aspect: Option<&str>,
        payload: &str,
    ) -> Result<(), BridgeError> {
        let Some(record) = self.known_vehicle(vin).await? else {
            return Ok(());
        };
        let Some(entity) = catalog::find(key).filter(|e| e.is_control()) else {
            return self
                .event(
                    Some(vin),
                    "unknown_entity",
                    &format!("{key:?} is not a controllable entity of this car"),
                )
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
            self.submit(vin, command, None);
        }
        Ok(())
    }

    async fn on_command(&mut self, vin: &str, payload: &str) -> Result<(), BridgeError> {
        let Some(record) = self.known_vehicle(vin).await? else {
            return Ok(());
        };
        let request: CommandRequest = match serde_json::from_str(payload) {
            Ok(r) => r,
            Err(e) => {
                let msg = format!("the command payload is not valid JSON {{\"command\": ..., \"params\": {{...}}, \"id\": ...}}: {e}");
                return self.reject(vin, None, "", &msg).await;
            }
        };
        let limits = crate::vehicle::command::limits_of(&record.signals);
        match Command::parse_within(&request.command, &request.params, &limits) {
            Ok(command) => self.submit(vin, command, request.id),
            Err(e) => {
                self.reject(vin, request.id, &request.command, &e.to_string())
                    .await?
            }
        }
        Ok(())
    }

    /// The car's record, or an event explaining that the VIN is unknown.
    async fn known_vehicle(
        &mut self,
        vin: &str,
    ) -> Result<Option<crate::vehicle::hub::VehicleRecord>, BridgeError> {
        if let Some(record) = self.hub.get(vin) {
            return Ok(Some(record));
        }
        let known = self.hub.vins().join(", ");
        self.event(
            None,
            "unknown_vehicle",
            &format!("no vehicle {vin} on this Tesla account (known: {known})"),
        )
        .await?;
        Ok(None)
    }

    fn submit(&self, vin: &str, command: Command, id: Option<String>) {
        debug!(vin, command = command.name(), "queueing command");
        self.executor.submit(vin, Job { command, id });
    }

    /// A command that never reached Tesla: an event for the user and a failed result for automations.
    async fn reject(
        &mut self,
        vin: &str,
        id: Option<String>,
        command: &str,
        reason: &str,
    ) -> Result<(), BridgeError> {
        warn!(vin, command, reason, "rejected command");
        self.event(Some(vin), "bad_payload", reason).await?;
        let outcome = CommandOutcome {
            vin: vin.to_string(),
            id,
            command: command.to_string(),
            ok: false,
            reason: reason.to_string(),
            duration_ms: 0,
        };
        self.result(&outcome).await
    }

    async fn result(&mut self, outcome: &CommandOutcome) -> Result<(), BridgeError> {
        let payload = serde_json::to_vec(outcome).expect("serializable");
        self.client
            .publish(
                self.topics.command_result(&outcome.vin),
                QoS::AtLeastOnce,
                false,
                payload,
            )
            .await?;
        Ok(())
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
        let payload = json!({ "kind": kind, "message": message, "at": at });
        self.client
            .publish(topic, QoS::AtLeastOnce, false, payload.to_string())
            .await?;
        Ok(())
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
        self.watch(bridge_object_id(self.topics.base())).await?;
        for (topic, config) in discovery::bridge_configs(&self.topics, &self.site) {
            self.publish_retained(topic, serde_json::to_vec(&config).expect("serializable"))
                .await?;
        }
        let facts = BridgeFacts {
            version: env!("CARGO_PKG_VERSION"),
            cars: self.hub.vins().len(),
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
            self.client
                .publish(topic, QoS::AtLeastOnce, true, Vec::<u8>::new())
                .await?;
        }
        for (topic, config) in configs {
            self.publish_retained(topic, serde_json::to_vec(&config).expect("serializable"))
                .await?;
        }
        self.watch(device).await?;
        self.publish_retained(self.topics.availability(vin), b"online".to_vec())
            .await?;
        for entity in catalog::for_car(&record.signals) {
            for (aspect, state) in entity.states(&record.signals) {
                let topic = match aspect {
                    None => self.topics.state(vin, entity.id()),
                    Some(a) => self.topics.aspect_state(vin, entity.id(), a),
                };
                self.publish_retained(topic, state.into_bytes()).await?;
            }
            if let Some(attributes) = entity.attributes_of(&record.signals) {
                self.publish_retained(
                    self.topics.attributes(vin, entity.id()),
                    attributes.to_string().into_bytes(),
                )
                .await?;
            }
        }
        Ok(())
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
        for topic in stale {
            self.published.remove(&topic);
            self.client
                .publish(topic, QoS::AtLeastOnce, true, Vec::<u8>::new())
                .await?;
        }
        self.sync_bridge().await
    }

    async fn publish_retained(
        &mut self,
        topic: String,
        payload: Vec<u8>,
    ) -> Result<(), BridgeError> {
        if self.published.get(&topic) == Some(&payload) {
            return Ok(());
        }
        self.client
            .publish(topic.clone(), QoS::AtLeastOnce, true, payload.clone())
            .await?;
        self.published.insert(topic, payload);
        Ok(())
    }
}
