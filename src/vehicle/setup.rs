//! `vehicle::setup`: account set-up state shown on each car — whether Tesla wants a new sign-in
//! (`ReauthRequired`, an account-level fact mirrored on every car's device so Home Assistant shows it
//! where the user looks) and the virtual-key checklist from `fleet_status` (`KeyPaired`,
//! `CommandProtocolRequired`, and the firmware when nothing else has reported it).
//!
//! The sign-in state has one source, [`Tokens::status`]; this task only mirrors it. When a new sign-in
//! ends a `ReauthRequired` (or signed-out) state, it pokes the poller so data flows again at once, no
//! restart needed. `fleet_status` is read when a car first appears, after a sign-in, on request (the
//! status page's re-check) and hourly; it does not wake cars.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::sync::{broadcast, Notify};
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use crate::clock::Clock;
use crate::tesla::auth::AuthStatus;
use crate::tesla::fleet::{FleetClient, FleetError, FleetStatus};
use crate::vehicle::hub::{Hub, HubEvent};
use crate::vehicle::signal::{Signal, Update, Value};

/// How often the pairing checklist is refreshed without a reason.
pub const CHECK_INTERVAL: Duration = Duration::from_secs(3600);

/// The mirroring task (`Clone`, so a supervisor can start it again).
#[derive(Clone)]
pub struct SetupWatch {
    pub fleet: FleetClient,
    pub hub: Arc<Hub>,
    pub clock: Clock,
    /// Wakes the poller (a new sign-in).
    pub poke_poller: Arc<Notify>,
    /// Asks for a `fleet_status` check now (the status page's re-check button).
    pub recheck: Arc<Notify>,
}

impl SetupWatch {
    pub async fn run(self, shutdown: CancellationToken) {
        let mut status = self.fleet.tokens().status();
        let mut unsaved = self.fleet.tokens().storage_problem();
        let mut events = self.hub.subscribe();
        let mut reauth = matches!(*status.borrow(), AuthStatus::ReauthRequired { .. });
        let mut signed_in = matches!(*status.borrow(), AuthStatus::SignedIn { .. });
        self.mirror_all(reauth);
        let mut checked: HashSet<String> = HashSet::new();
        let mut next_check: Option<SystemTime> = None;
        loop {
            let due = async {
                match next_check {
                    Some(at) => self.clock.sleep_until(at).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = shutdown.cancelled() => break,
                changed = status.changed() => {
                    if changed.is_err() {
                        break;
                    }
                    let now = status.borrow_and_update().clone();
                    let now_reauth = matches!(now, AuthStatus::ReauthRequired { .. });
                    let now_signed_in = matches!(now, AuthStatus::SignedIn { .. });
                    if now_reauth != reauth {
                        reauth = now_reauth;
                        self.mirror_all(reauth);
                    }
                    if now_signed_in && !signed_in {
                        info!("signed in; resuming polling");
                        self.poke_poller.notify_one();
                        next_check = Some(self.clock.now());
                    }
                    signed_in = now_signed_in;
                }
                changed = unsaved.changed() => {
                    if changed.is_err() {
                        break;
                    }
                    // Tokens only in memory: the user must free disk space before a restart.
                    let why = unsaved.borrow_and_update().clone();
                    if let Some(why) = &why {
                        self.hub.problem(None, "storage", why.clone());
                    }
                    // Shown on every car too (the problem entity), until the write succeeds.
                    for vin in self.hub.vins() {
                        self.mirror_storage(&vin, why.as_deref());
                    }
                }
                event = events.recv() => match event {
                    Ok(HubEvent::Changed { vin }) => {
                        self.mirror(&vin, reauth);
                        self.mirror_storage(&vin, unsaved.borrow().as_deref());
                        if checked.insert(vin) {
                            next_check = Some(self.clock.now());
                        }
                    }
                    Ok(_) => {}
                    Err(broadcast::error::RecvError::Lagged(_)) => self.mirror_all(reauth),
                    Err(broadcast::error::RecvError::Closed) => break,
                },
                _ = self.recheck.notified() => next_check = Some(self.clock.now()),
                _ = due => {
                    self.check_pairing().await;
                    next_check = Some(self.clock.now() + CHECK_INTERVAL);
                }
            }
        }
    }

    /// Sets the car's `ReauthRequired` signal. The hub drops an unchanged value without persisting or
    /// announcing it, so mirroring on every hub event cannot loop.
    fn mirror(&self, vin: &str, reauth: bool) {
        self.hub.apply(Update {
            vin: vin.to_string(),
            at: self.clock.now(),
            signals: vec![(Signal::ReauthRequired, Value::Bool(reauth))],
        });
    }

    /// Sets the car's `StorageProblem` signal (unknown while the tokens are stored).
    fn mirror_storage(&self, vin: &str, why: Option<&str>) {
        let value = why.map_or(Value::Unknown, |w| Value::Text(w.to_string()));
        self.hub.apply(Update {
            vin: vin.to_string(),
            at: self.clock.now(),
            signals: vec![(Signal::StorageProblem, value)],
        });
    }

    fn mirror_all(&self, reauth: bool) {
        for vin in self.hub.vins() {
            self.mirror(&vin, reauth);
        }
    }

    /// Reads `fleet_status` for every known car and applies it.
    async fn check_pairing(&self) {
        let vins = self.hub.vins();
        if vins.is_empty() {
            return;
        }
        match self.fleet.fleet_status(&vins).await {
            Ok(status) => {
                debug!(
                    paired = status.key_paired_vins.len(),
                    "read the virtual-key status"
                );
                for update in updates(&status, &self.hub, self.clock.now()) {
                    self.hub.apply(update);
                }
            }
            // Signed out or waiting for a sign-in: the poller already says so.
            Err(FleetError::Auth(_)) => {}
            Err(e) => warn!(error = %e, "could not read the virtual-key status (fleet_status)"),
        }
    }
}

/// The signal updates a `fleet_status` answer means for the cars the hub knows.
pub fn updates(status: &FleetStatus, hub: &Hub, at: SystemTime) -> Vec<Update> {
    let mut out = Vec::new();
    for vin in hub.vins() {
        let paired = status.key_paired_vins.iter().any(|v| v == &vin);
        let listed = paired || status.unpaired_vins.iter().any(|v| v == &vin);
        if !listed {
            continue;
        }
        let mut signals = vec![(Signal::KeyPaired, Value::Bool(paired))];
        if let Some(info) = status.vehicle_info.get(&vin) {
            if let Some(required) = info.vehicle_command_protocol_required {
                signals.push((Signal::CommandProtocolRequired, Value::Bool(required)));
            }
            let has_version = hub
                .get(&vin)
                .is_some_and(|r| r.signals.contains_key(&Signal::Version));
            if let (false, Some(fw)) = (has_version, info.firmware_version.as_ref()) {
                signals.push((Signal::Version, Value::Text(fw.clone())));
            }
        }
        out.push(Update { vin, at, signals });
    }
    out
}
