//! `vehicle::sessions`: signed-command sessions per (VIN, domain), kept in the store.
//!
//! A session (epoch, counter, clock offset, the car's public key) lets a command go out with no extra
//! handshake — each handshake is a billed request. The snapshot is written durably *before* a signed
//! message is sent, so a crash or restart never reuses a counter (the car would reject it as a replay).
//! Snapshots hold no secrets, but the store seals every record anyway.

use std::sync::Arc;

use tracing::warn;

use crate::store::{Store, StoreError};
use crate::tesla::command::{Domain, KeyPair, SessionSnapshot, Signer};

const TREE: &str = "sessions";

/// Creates signers with their persisted sessions and saves them back.
#[derive(Clone)]
pub struct Sessions {
    store: Store,
    key: Arc<KeyPair>,
}

impl Sessions {
    pub fn new(store: Store, key: Arc<KeyPair>) -> Self {
        Sessions { store, key }
    }

    fn record(vin: &str, domain: Domain) -> String {
        format!("{vin}/{}", domain.as_str())
    }

    /// The signer for a car's domain, resuming the stored session when there is a usable one.
    pub fn signer(&self, vin: &str, domain: Domain) -> Result<Signer, String> {
        let stored: Option<SessionSnapshot> = self
            .store
            .get_json(TREE, &Self::record(vin, domain))
            .unwrap_or_else(|e| {
                // An unreadable session only costs a handshake; say so and start afresh.
                warn!(vin, domain = domain.as_str(), error = %e, "stored command session unreadable; a new handshake follows");
                None
            });
        if let Some(snapshot) = stored {
            match Signer::restore(self.key.clone(), &snapshot) {
                Ok(signer) => return Ok(signer),
                Err(e) => {
                    warn!(vin, error = %e, "stored command session does not fit this key; a new handshake follows")
                }
            }
        }
        Signer::new(self.key.clone(), vin, domain).map_err(|e| e.to_string())
    }

    /// Persists the signer's session durably (or forgets it when it has none).
    pub async fn save(&self, signer: &Signer) -> Result<(), StoreError> {
        let record = Self::record(signer.vin(), signer.domain());
        match signer.snapshot() {
            Some(snapshot) => self.store.put_json(TREE, &record, &snapshot)?,
            None => self.store.remove(TREE, &record)?,
        }
        self.store.flush_async().await
    }
}
