//! `vehicle::hub`: the last known value of every signal of every car.
//!
//! Sources call [`Hub::apply`]; the hub keeps only what changed, tells subscribers which car changed,
//! and persists the record in the store (so a restarted daemon republishes the same retained states
//! before the first poll). Values are written behind: [`Hub::write_behind`] writes each changed
//! car's record at most once per [`WRITE_BEHIND`], and [`Hub::flush`] at shutdown, because a
//! streaming car changes many times a second and writing its whole record each time was most of
//! the receiver's work. A crash loses at most that last second of values, which the next record or
//! poll brings back; nothing else depends on them being on disk (a car's record is acknowledged
//! when the broker has it). It also carries problems a user should see ([`HubEvent::Problem`]), so the
//! Tesla side can report them without knowing about MQTT.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use tokio::sync::{broadcast, oneshot, Notify};
use tokio_util::sync::CancellationToken;
use tracing::warn;

use crate::store::{Store, StoreError};
use crate::vehicle::signal::{Signal, Signals, Update};
use crate::vehicle::VehicleInfo;

const TREE: &str = "vehicles";

/// How long a changed record waits before it is written (see the module comment).
pub const WRITE_BEHIND: Duration = Duration::from_secs(1);

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
    /// calls [`Hub::confirm_through`] with `id` (or a later id) once the broker has them.
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
    /// std Mutex: held only for map operations, never across an await. Records are shared with
    /// readers ([`Hub::get`] hands out the `Arc`) and copied on write only while a reader still
    /// holds the old one: the bridge reads a streaming car's record after every burst.
    vehicles: Mutex<BTreeMap<String, Arc<VehicleRecord>>>,
    events: broadcast::Sender<HubEvent>,
    /// Cars whose values changed since their record was last written, and the writer's wake-up.
    unwritten: Mutex<BTreeSet<String>>,
    changed: Notify,
    /// Deliveries waiting for the bridge, by barrier id; and the last id given out.
    barriers: Mutex<(u64, BTreeMap<u64, oneshot::Sender<()>>)>,
}

impl Hub {
    /// Loads the records persisted by a previous run.
    pub fn load(store: Store) -> Result<Hub, StoreError> {
        let vehicles = store
            .scan_json::<VehicleRecord>(TREE)?
            .into_iter()
            .map(|(vin, rec)| (vin, Arc::new(rec)))
            .collect();
        Ok(Hub {
            store,
            vehicles: Mutex::new(vehicles),
            events: broadcast::channel(1024).0,
            unwritten: Mutex::new(BTreeSet::new()),
            changed: Notify::new(),
            barriers: Mutex::new((0, BTreeMap::new())),
        })
    }

    pub fn subscribe(&self) -> broadcast::Receiver<HubEvent> {
        self.events.subscribe()
    }

    pub fn vins(&self) -> Vec<String> {
        self.lock().keys().cloned().collect()
    }

    pub fn get(&self, vin: &str) -> Option<Arc<VehicleRecord>> {
        self.lock().get(vin).cloned()
    }

    pub fn snapshot(&self) -> Vec<Arc<VehicleRecord>> {
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
                    Arc::make_mut(rec).info = info;
                    Some(rec.clone())
                }
                None => {
                    let rec = Arc::new(VehicleRecord {
                        info,
                        signals: Signals::new(),
                        updated_at_ms: 0,
                    });
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

    /// The newest barrier id given out. Everything applied before it is in the hub's records, so
    /// a bridge that lost events (its queue overflowed) republishes the records and then confirms
    /// through this id.
    pub fn last_barrier(&self) -> u64 {
        self.barriers.lock().expect("hub barriers poisoned").0
    }

    /// The bridge reports that everything before barrier `id` reached the broker: that delivery
    /// and every earlier one are confirmed. Ids are given out after the update they follow is
    /// applied, so an earlier id's changes were announced before barrier `id` itself.
    pub fn confirm_through(&self, id: u64) {
        let confirmed = {
            let mut barriers = self.barriers.lock().expect("hub barriers poisoned");
            let later = barriers.1.split_off(&id.saturating_add(1));
            std::mem::replace(&mut barriers.1, later)
        };
        for (_, tx) in confirmed {
            let _ = tx.send(());
        }
    }

    fn merge(&self, update: Update, removed: &[Signal]) -> usize {
        let at_ms = update
            .at
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_millis() as u64;
        let changed = {
            let mut vehicles = self.lock();
            let Some(rec) = vehicles.get_mut(&update.vin) else {
                return 0;
            };
            let rec = Arc::make_mut(rec);
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
            changed
        };
        if changed > 0 {
            if self.unwritten_lock().insert(update.vin.clone()) {
                self.changed.notify_one();
            }
            let _ = self.events.send(HubEvent::Changed { vin: update.vin });
        }
        changed
    }

    /// Writes changed records, each at most once per [`WRITE_BEHIND`], until `shutdown`; then
    /// once more.
    pub async fn write_behind(&self, shutdown: CancellationToken) {
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = self.changed.notified() => {}
            }
            // Changes in the meantime join this write.
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = tokio::time::sleep(WRITE_BEHIND) => {}
            }
            self.flush();
        }
        self.flush();
    }

    /// Writes every record changed since it was last written (at shutdown, after the sources
    /// stopped).
    pub fn flush(&self) {
        // Held while writing, so a car removed meanwhile ([`Hub::remove`] takes it first) is
        // either written before its removal or not at all.
        let mut unwritten = self.unwritten_lock();
        for vin in std::mem::take(&mut *unwritten) {
            if let Some(rec) = self.get(&vin) {
                self.persist(&rec);
            }
        }
    }

    fn unwritten_lock(&self) -> std::sync::MutexGuard<'_, BTreeSet<String>> {
        self.unwritten.lock().expect("hub mutex poisoned")
    }

    /// Forgets a car that left the account.
    pub fn remove(&self, vin: &str) {
        // Held to the end: see [`Hub::flush`].
        let mut unwritten = self.unwritten_lock();
        unwritten.remove(vin);
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

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Arc<VehicleRecord>>> {
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

#[cfg(test)]
mod tests {
    use std::time::SystemTime;

    use super::*;
    use crate::secret::Secret;
    use crate::store::StoreKey;
    use crate::vehicle::signal::Value;

    const VIN: &str = "5YJ3E1EA1KF000001";

    fn update(level: i64) -> Update {
        Update {
            vin: VIN.into(),
            at: SystemTime::now(),
            signals: vec![(Signal::BatteryLevel, Value::Int(level))],
        }
    }

    fn info(vin: &str) -> VehicleInfo {
        VehicleInfo {
            vin: vin.into(),
            display_name: "Test".into(),
            signing_required: false,
        }
    }

    fn open(dir: &std::path::Path) -> (Store, Hub) {
        let key =
            StoreKey::Configured(Secret::from("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="));
        let store = Store::open(dir, key).unwrap();
        let hub = Hub::load(store.clone()).unwrap();
        (store, hub)
    }

    fn stored(store: &Store) -> BTreeMap<String, VehicleRecord> {
        store.scan_json(TREE).unwrap().into_iter().collect()
    }

    #[tokio::test]
    async fn values_are_written_behind_and_all_of_them_at_shutdown() {
        let dir = tempfile::tempdir().unwrap();
        let (store, hub) = open(dir.path());
        let hub = Arc::new(hub);
        // A new car is written at once.
        hub.upsert_info(info(VIN));
        assert!(stored(&store)[VIN].signals.is_empty());
        let shutdown = CancellationToken::new();
        let writer = tokio::spawn({
            let (hub, shutdown) = (hub.clone(), shutdown.clone());
            async move { hub.write_behind(shutdown).await }
        });
        // Values wait for the writer (on this single-threaded runtime it runs only when the test
        // awaits, so the check below is not a race) ...
        for level in 1..=3 {
            assert_eq!(hub.apply(update(level)), 1);
        }
        assert!(stored(&store)[VIN].signals.is_empty());
        // ... which writes the newest at shutdown at the latest.
        shutdown.cancel();
        writer.await.unwrap();
        assert_eq!(
            stored(&store)[VIN].signals.get(&Signal::BatteryLevel),
            Some(&Value::Int(3))
        );
        assert_eq!(stored(&store)[VIN], *hub.get(VIN).unwrap());
    }

    #[tokio::test]
    async fn a_car_removed_before_its_write_stays_removed() {
        let dir = tempfile::tempdir().unwrap();
        let (store, hub) = open(dir.path());
        hub.upsert_info(info(VIN));
        hub.apply(update(1));
        hub.remove(VIN);
        hub.flush();
        assert!(stored(&store).is_empty());
    }

    #[tokio::test]
    async fn confirming_a_barrier_confirms_every_earlier_one_and_no_later_one() {
        let dir = tempfile::tempdir().unwrap();
        let (_store, hub) = open(dir.path());
        let mut events = hub.subscribe();
        hub.upsert_info(info(VIN));
        let deliveries: Vec<Delivery> = (1..=3)
            .map(|level| hub.apply_delivered(update(level), &[]))
            .collect();
        // Each update is announced before its barrier, and ids grow.
        let mut barriers = Vec::new();
        while let Ok(event) = events.try_recv() {
            if let HubEvent::Barrier { id } = event {
                barriers.push(id);
            }
        }
        assert_eq!(barriers.len(), 3);
        assert!(barriers.windows(2).all(|w| w[0] < w[1]), "{barriers:?}");
        assert_eq!(hub.last_barrier(), barriers[2]);

        hub.confirm_through(barriers[1]);
        let mut deliveries = deliveries.into_iter();
        assert!(deliveries.next().unwrap().wait().await);
        assert!(deliveries.next().unwrap().wait().await);
        let last = deliveries.next().unwrap();
        // Still waiting: a later confirmation resolves it.
        let mut last = std::pin::pin!(last.wait());
        assert!(futures::poll!(last.as_mut()).is_pending());
        hub.confirm_through(barriers[2]);
        assert!(last.await);
    }
}
