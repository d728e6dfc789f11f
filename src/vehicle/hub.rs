//! `vehicle::hub`: the last known value of every signal of every car.
//!
//! Sources call [`Hub::apply`]; the hub keeps only what changed, persists the record in the store (so a
//! restarted daemon republishes the same retained states before the first poll) and tells subscribers
//! which car changed. It also carries problems a user should see ([`HubEvent::Problem`]), so the
//! Tesla side can report them without knowing about MQTT.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::UNIX_EPOCH;

use serde::{Deserialize, Serialize};
use tokio::sync::{broadcast, oneshot};
use tracing::warn;

use crate::store::{Store, StoreError};
use crate::vehicle::signal::{Signal, Signals, Update};
use crate::vehicle::VehicleInfo;

const TREE: &str = "vehicles";

/// Everything known about one car.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VehicleRecord {
    pub info: VehicleInfo,
    pub signals: Signals,
    /// Unix milliseconds of the newest update applied.
    pub updated_at_ms: u64,
}

/// What subscribers are told.
#[derive(Debug, Clone, PartialEq)]
pub enum HubEvent {
    /// Info or signals of this car changed.
    Changed { vin: String },
    /// The car left the account.
    Removed { vin: String },
    /// Something the user should know (shown on `<base>/<VIN>/event` or `<base>/event`).
    Problem {
        vin: Option<String>,
        kind: &'static str,
        message: String,
    },
    /// A source waits for the changes before this event to reach the MQTT broker: the bridge
    /// calls [`Hub::confirm_delivery`] with `id` once the broker has them.
    Barrier { id: u64 },
}

/// Resolves when the bridge confirmed that the broker has an update's publishes (see
/// [`Hub::apply_delivered`]).
pub struct Delivery(oneshot::Receiver<()>);

impl Delivery {
    /// True once delivered; false if the hub forgot the request (no bridge running, or its
    /// event queue overflowed) — the caller then treats the update as not delivered.
    pub async fn wait(self) -> bool {
        self.0.await.is_ok()
    }
}

/// The shared state of all cars.
pub struct Hub {
    store: Store,
    /// std Mutex: held only for map operations, never across an await.
    vehicles: Mutex<BTreeMap<String, VehicleRecord>>,
    events: broadcast::Sender<HubEvent>,
    /// Deliveries waiting for the bridge, by barrier id; and the next id.
    barriers: Mutex<(u64, HashMap<u64, oneshot::Sender<()>>)>,
}

impl Hub {
    /// Loads the records persisted by a previous run.
    pub fn load(store: Store) -> Result<Hub, StoreError> {
        let vehicles = store
            .scan_json::<VehicleRecord>(TREE)?
            .into_iter()
            .collect();
        Ok(Hub {
            store,
            vehicles: Mutex::new(vehicles),
            events: broadcast::channel(1024).0,
            barriers: Mutex::new((0, HashMap::new())),
        })
    }

    pub fn subscribe(&self) -> broadcast::Receiver<HubEvent> {
        self.events.subscribe()
    }

    pub fn vins(&self) -> Vec<String> {
        self.lock().keys().cloned().collect()
    }

    pub fn get(&self, vin: &str) -> Option<VehicleRecord> {
        self.lock().get(vin).cloned()
    }

    pub fn snapshot(&self) -> Vec<VehicleRecord> {
        self.lock().values().cloned().collect()
    }

    /// Records a car's static info (first sight, or a renamed car).
    pub fn upsert_info(&self, info: VehicleInfo) {
        let vin = info.vin.clone();
        let changed = {
            let mut vehicles = self.lock();
            match vehicles.get_mut(&vin) {
                Some(rec) if rec.info == info => None,
                Some(rec) => {
                    rec.info = info;
                    Some(rec.clone())
                }
                None => {
                    let rec = VehicleRecord {
                        info,
                        signals: Signals::new(),
                        updated_at_ms: 0,
                    };
                    vehicles.insert(vin.clone(), rec.clone());
                    Some(rec)
                }
            }
        };
        if let Some(rec) = changed {
            self.persist(&rec);
            let _ = self.events.send(HubEvent::Changed { vin });
        }
    }

    /// Applies new observations; returns how many signals actually changed. Updates for unknown cars
    /// are dropped: a car must be on the account (vehicle list) before it has values.
    pub fn apply(&self, update: Update) -> usize {
        self.merge(update, &[])
    }

    /// Applies `update`, forgets the `removed` signals (the car says it has no value for them
    /// now: unknown, not zero), and returns a [`Delivery`] that resolves once the bridge has the
    /// resulting MQTT publishes acknowledged by the broker. The telemetry receiver acks a car's
    /// record only then, so a broker outage makes the car resend instead of losing data.
    pub fn apply_delivered(&self, update: Update, removed: &[Signal]) -> Delivery {
        self.merge(update, removed);
        let (tx, rx) = oneshot::channel();
        let id = {
            let mut barriers = self.barriers.lock().expect("hub barriers poisoned");
            // Waiters that gave up (timed out) need no confirmation.
            barriers.1.retain(|_, tx| !tx.is_closed());
            barriers.0 += 1;
            let id = barriers.0;
            barriers.1.insert(id, tx);
            id
        };
        if self.events.send(HubEvent::Barrier { id }).is_err() {
            // Nobody listens: nothing can be delivered.
            self.barriers
                .lock()
                .expect("hub barriers poisoned")
                .1
                .remove(&id);
        }
        Delivery(rx)
    }

    /// The bridge reports that everything before barrier `id` reached the broker.
    pub fn confirm_delivery(&self, id: u64) {
        let waiter = self
            .barriers
            .lock()
            .expect("hub barriers poisoned")
            .1
            .remove(&id);
        if let Some(tx) = waiter {
            let _ = tx.send(());
        }
    }

    fn merge(&self, update: Update, removed: &[Signal]) -> usize {
        let at_ms = update
            .at
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_millis() as u64;
        let (changed, rec) = {
            let mut vehicles = self.lock();
            let Some(rec) = vehicles.get_mut(&update.vin) else {
                return 0;
            };
            let mut changed = 0;
            for (signal, value) in update.signals {
                if rec.signals.get(&signal) != Some(&value) {
                    rec.signals.insert(signal, value);
                    changed += 1;
                }
            }
            for signal in removed {
                if rec.signals.remove(signal).is_some() {
                    changed += 1;
                }
            }
            rec.updated_at_ms = rec.updated_at_ms.max(at_ms);
            (changed, rec.clone())
        };
        if changed > 0 {
            self.persist(&rec);
            let _ = self.events.send(HubEvent::Changed { vin: update.vin });
        }
        changed
    }

    /// Forgets a car that left the account.
    pub fn remove(&self, vin: &str) {
        if self.lock().remove(vin).is_some() {
            if let Err(e) = self.store.remove(TREE, vin) {
                warn!(vin, error = %e, "could not remove the stored vehicle record");
            }
            let _ = self.events.send(HubEvent::Removed {
                vin: vin.to_string(),
            });
        }
    }

    /// Reports a problem the user should see.
    pub fn problem(&self, vin: Option<&str>, kind: &'static str, message: impl Into<String>) {
        let _ = self.events.send(HubEvent::Problem {
            vin: vin.map(str::to_string),
            kind,
            message: message.into(),
        });
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, VehicleRecord>> {
        self.vehicles.lock().expect("hub mutex poisoned")
    }

    /// Persisting is best effort: a full disk must not stop live values reaching Home Assistant.
    fn persist(&self, rec: &VehicleRecord) {
        if let Err(e) = self.store.put_json(TREE, &rec.info.vin, rec) {
            warn!(vin = %rec.info.vin, error = %e, "could not persist vehicle state");
            self.problem(Some(&rec.info.vin), "storage", e.to_string());
        }
    }
}
