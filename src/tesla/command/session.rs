//! `tesla::command::session`: the client's state for one VIN × domain session: the vehicle's
//! pinned public key, derived keys, epoch, counter and clock offset, plus the rules for updating
//! them from authenticated session info (as protocol.md in Tesla's vehicle-command repository
//! describes them).
//!
//! Owns state and its update rules only. It does not authenticate session info (the signer does
//! that before calling `Session::update`) and does not store anything: [`SessionSnapshot`] is a
//! serde value the caller persists (sled in the daemon) after every signed command, so that a
//! restart never reuses a counter.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use super::crypto::{KeyPair, SessionKeys};
use super::error::ProtocolError;
use super::messages::{Domain, SessionInfo};

/// One established session. Created only from authenticated session info, so there is no
/// half-initialised state (a Python client once crashed on exactly that).
#[derive(Clone, Debug)]
pub struct Session {
    domain: Domain,
    vehicle_public_key: Vec<u8>,
    keys: SessionKeys,
    epoch: Vec<u8>,
    /// The last counter used (or announced by the vehicle); the next command uses `counter + 1`.
    counter: u32,
    /// Local Unix time (ms) at which the domain's clock read zero. Kept in wall-clock time so that
    /// it survives a restart; the vehicle's clock does not stop while we are down.
    clock_zero_ms: i64,
    /// Latest authenticated `clock_time` in this epoch; older session info is refused so that a
    /// replayed reply cannot move the clock back.
    last_clock_time: u32,
}

/// What the caller persists. Contains no secrets: the session keys are re-derived from the
/// client's private key on restore.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionSnapshot {
    pub vin: String,
    pub domain: Domain,
    /// The client key this session belongs to; a restore with another key is refused.
    #[serde(with = "hex_bytes")]
    pub client_public_key: Vec<u8>,
    #[serde(with = "hex_bytes")]
    pub vehicle_public_key: Vec<u8>,
    #[serde(with = "hex_bytes")]
    pub epoch: Vec<u8>,
    /// The last counter used. Persist the snapshot *before* sending the command it was taken
    /// after, or a crash in between could reuse the counter (the car would answer
    /// `INVALID_TOKEN_OR_COUNTER` and the retry recovers, but it costs a round trip).
    pub counter: u32,
    pub clock_zero_unix_ms: i64,
    pub last_clock_time: u32,
}

impl Session {
    /// A new session from a handshake reply whose tag has been verified with `keys`.
    pub(crate) fn establish(
        domain: Domain,
        keys: SessionKeys,
        info: &SessionInfo,
        received_at: SystemTime,
    ) -> Session {
        Session {
            domain,
            vehicle_public_key: info.public_key.clone(),
            keys,
            epoch: info.epoch.clone(),
            counter: info.counter,
            clock_zero_ms: clock_zero(received_at, info.clock_time),
            last_clock_time: info.clock_time,
        }
    }

    /// Applies authenticated session info from a later reply.
    ///
    /// Same epoch: the counter never moves back and the clock must not regress. New epoch (the
    /// domain rebooted): take the vehicle's counter, it restarted too.
    pub(crate) fn update(
        &mut self,
        info: &SessionInfo,
        received_at: SystemTime,
    ) -> Result<(), String> {
        if info.public_key != self.vehicle_public_key {
            return Err("the vehicle's public key changed".into());
        }
        if info.epoch == self.epoch {
            if info.clock_time < self.last_clock_time {
                return Err(format!(
                    "its clock ({}) is older than one already seen ({})",
                    info.clock_time, self.last_clock_time
                ));
            }
            self.counter = self.counter.max(info.counter);
        } else {
            self.epoch = info.epoch.clone();
            self.counter = info.counter;
        }
        self.last_clock_time = info.clock_time;
        self.clock_zero_ms = clock_zero(received_at, info.clock_time);
        Ok(())
    }

    /// Reserves the next counter. `None` once the 32-bit space is used up (needs a new epoch).
    pub(crate) fn next_counter(&mut self) -> Option<u32> {
        let next = self.counter.checked_add(1).filter(|c| *c != u32::MAX)?;
        self.counter = next;
        Some(next)
    }

    /// The domain's clock at local time `now`, in whole seconds.
    pub fn vehicle_time(&self, now: SystemTime) -> u32 {
        to_u32_secs(unix_ms(now) - self.clock_zero_ms)
    }

    /// `expires_at` for a command signed at `now` that should live for `ttl`.
    pub fn expires_at(&self, now: SystemTime, ttl: Duration) -> u32 {
        let ttl_ms = i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX / 4);
        to_u32_secs(unix_ms(now) + ttl_ms - self.clock_zero_ms)
    }

    pub fn domain(&self) -> Domain {
        self.domain
    }

    pub fn epoch(&self) -> &[u8] {
        &self.epoch
    }

    pub fn counter(&self) -> u32 {
        self.counter
    }

    pub fn vehicle_public_key(&self) -> &[u8] {
        &self.vehicle_public_key
    }

    pub(crate) fn keys(&self) -> &SessionKeys {
        &self.keys
    }

    pub fn snapshot(&self, vin: &str, client: &KeyPair) -> SessionSnapshot {
        SessionSnapshot {
            vin: vin.to_string(),
            domain: self.domain,
            client_public_key: client.public_key().to_vec(),
            vehicle_public_key: self.vehicle_public_key.clone(),
            epoch: self.epoch.clone(),
            counter: self.counter,
            clock_zero_unix_ms: self.clock_zero_ms,
            last_clock_time: self.last_clock_time,
        }
    }

    /// Rebuilds a session saved by [`Session::snapshot`], re-deriving the keys.
    pub fn restore(snapshot: &SessionSnapshot, client: &KeyPair) -> Result<Session, ProtocolError> {
        if snapshot.client_public_key != client.public_key() {
            return Err(ProtocolError::SnapshotMismatch {
                reason: "it was made with a different private key".into(),
            });
        }
        let k = client
            .shared_key(&snapshot.vehicle_public_key)
            .map_err(|_| ProtocolError::SnapshotMismatch {
                reason: "its vehicle public key is invalid".into(),
            })?;
        Ok(Session {
            domain: snapshot.domain,
            vehicle_public_key: snapshot.vehicle_public_key.clone(),
            keys: SessionKeys::derive(k),
            epoch: snapshot.epoch.clone(),
            counter: snapshot.counter,
            clock_zero_ms: snapshot.clock_zero_unix_ms,
            last_clock_time: snapshot.last_clock_time,
        })
    }
}

pub(crate) fn unix_ms(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_millis()).unwrap_or(i64::MAX / 4),
        Err(e) => -i64::try_from(e.duration().as_millis()).unwrap_or(i64::MAX / 4),
    }
}

fn clock_zero(received_at: SystemTime, clock_time: u32) -> i64 {
    unix_ms(received_at) - i64::from(clock_time) * 1000
}

/// Floors milliseconds to whole seconds and clamps into `u32` (the wire type).
fn to_u32_secs(ms: i64) -> u32 {
    u32::try_from(ms.div_euclid(1000).max(0)).unwrap_or(u32::MAX)
}

/// Byte strings as lower-case hex in the snapshot, so a stored session is readable in a dump.
mod hex_bytes {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let s = String::deserialize(d)?;
        hex::decode(s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tesla::command::crypto::tests::{client, vehicle};

    fn info(counter: u32, epoch: u8, clock_time: u32) -> SessionInfo {
        SessionInfo {
            counter,
            public_key: vehicle().public_key().to_vec(),
            epoch: vec![epoch; 16],
            clock_time,
            ..Default::default()
        }
    }

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    fn session() -> Session {
        let k = client().shared_key(vehicle().public_key()).unwrap();
        Session::establish(
            Domain::Infotainment,
            SessionKeys::derive(k),
            &info(6, 1, 2650),
            at(1_000_000),
        )
    }

    #[test]
    fn clock_follows_the_vehicle() {
        let s = session();
        assert_eq!(s.vehicle_time(at(1_000_000)), 2650);
        assert_eq!(s.vehicle_time(at(1_000_060)), 2710);
        assert_eq!(s.expires_at(at(1_000_000), Duration::from_secs(10)), 2660);
        assert_eq!(
            s.expires_at(
                at(1_000_000) + Duration::from_millis(999),
                Duration::from_secs(5)
            ),
            2655
        );
    }

    #[test]
    fn same_epoch_never_rolls_back() {
        let mut s = session();
        assert_eq!(s.next_counter(), Some(7));
        assert_eq!(s.next_counter(), Some(8));
        s.update(&info(3, 1, 2700), at(1_000_050)).unwrap();
        assert_eq!(
            s.counter(),
            8,
            "a lower counter in the same epoch is ignored"
        );
        s.update(&info(20, 1, 2700), at(1_000_050)).unwrap();
        assert_eq!(s.counter(), 20);
        let err = s.update(&info(30, 1, 2600), at(1_000_060)).unwrap_err();
        assert!(err.contains("older"), "{err}");
        assert_eq!(s.counter(), 20);
    }

    #[test]
    fn new_epoch_takes_the_vehicle_counter_and_clock() {
        let mut s = session();
        s.next_counter();
        s.update(&info(0, 2, 5), at(1_000_100)).unwrap();
        assert_eq!(s.counter(), 0);
        assert_eq!(s.epoch(), &[2u8; 16]);
        assert_eq!(s.vehicle_time(at(1_000_110)), 15);
    }

    #[test]
    fn a_changed_vehicle_key_is_refused() {
        let mut s = session();
        let mut other = info(9, 1, 2700);
        other.public_key = client().public_key().to_vec();
        assert!(s.update(&other, at(1_000_010)).is_err());
    }

    #[test]
    fn counter_exhaustion_is_reported() {
        let mut s = session();
        s.counter = u32::MAX - 2;
        assert_eq!(s.next_counter(), Some(u32::MAX - 1));
        assert_eq!(s.next_counter(), None);
    }

    #[test]
    fn snapshot_round_trips_through_json_and_refuses_another_key() {
        let mut s = session();
        s.next_counter();
        let snap = s.snapshot("5YJ30123456789ABC", &client());
        let json = serde_json::to_string(&snap).unwrap();
        assert!(json.contains("\"domain\":\"infotainment\""), "{json}");
        assert!(!json.contains(crate::tesla::command::crypto::tests::CLIENT_PRIVATE));
        let back: SessionSnapshot = serde_json::from_str(&json).unwrap();
        assert_eq!(back, snap);
        let r = Session::restore(&back, &client()).unwrap();
        assert_eq!(r.counter(), 7);
        assert_eq!(r.keys(), s.keys());
        assert_eq!(r.vehicle_time(at(1_000_000)), 2650);
        let err = Session::restore(&back, &KeyPair::generate()).unwrap_err();
        assert!(err.needs_resync(), "{err}");
    }
}
