//! `sim::signed`: the vehicle side of signed commands — what a simulated car does with a
//! `POST /api/1/vehicles/{vin}/signed_command` (vehicle-command.md §1) once Fleet API has delivered it.
//!
//! Each car that speaks the protocol has a [`Keyring`]: one [`VehicleVerifier`] per domain (VCSEC and
//! infotainment), each with the car's own deterministic P-256 key, sharing one set of paired client
//! keys. A message goes to the verifier of its destination domain; the car reads an accepted
//! payload itself (`sim::protobuf`, not the daemon's command table) into the same [`Action`] the
//! REST path produces and applies it with [`Car::apply`]. Keyrings live in the
//! [`World`] beside the cars, survive sleep, and get new epochs on the `reboot` control action.
//!
//! Owns the per-car protocol state, the signed-command counters in `Billing.by_vin` and the pairing
//! control endpoints. Does not verify anything itself: `tesla::command::verifier` does.

use std::collections::BTreeMap;
use std::time::SystemTime;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use p256::pkcs8::DecodePublicKey;
use prost::Message;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::api::FleetError;
use super::billing::{Category, VinBilling};
use super::car::Car;
use super::protobuf::{self, Refusal, Request};
use super::{reply, Sim, SimError, World};
use crate::tesla::command::crypto::{self, PUBLIC_KEY_LEN};
use crate::tesla::command::messages::{
    ClosureStatuses, FromVcsecMessage, FromVcsecSubMessage, InformationRequestType,
    RoutableMessage, VehicleStatus,
};
use crate::tesla::command::{
    Domain, KeyPair, MessageFault, Outcome, VehicleVerifier, Verdict, VerifiedCommand,
};

/// `VCSEC.ClosureState_E` and friends, for the `GET_STATUS` answer.
const CLOSURE_CLOSED: i32 = 0;
const CLOSURE_OPEN: i32 = 1;
const LOCK_UNLOCKED: i32 = 0;
const LOCK_LOCKED: i32 = 1;
const SLEEP_AWAKE: i32 = 1;
const USER_NOT_PRESENT: i32 = 1;

/// The protocol state of one car: both domains' verifiers and the keys the owner paired.
pub struct Keyring {
    vcsec: VehicleVerifier,
    infotainment: VehicleVerifier,
    /// Paired client keys in pairing order, for the control view (each verifier keeps its own set).
    paired: Vec<[u8; PUBLIC_KEY_LEN]>,
    /// The last `routable_message` Fleet API received for this car, for replay tests.
    last_request: Option<Vec<u8>>,
}

impl Keyring {
    /// Both domains booted at `now`, nothing paired. The domains' keys derive from the VIN, so a
    /// simulated car keeps its identity from run to run.
    pub fn new(vin: &str, now: SystemTime) -> Keyring {
        let verifier =
            |domain: Domain| VehicleVerifier::new(domain, vin, car_key(vin, domain), now);
        Keyring {
            vcsec: verifier(Domain::VehicleSecurity),
            infotainment: verifier(Domain::Infotainment),
            paired: Vec::new(),
            last_request: None,
        }
    }

    /// Enrols a client key on both domains (what the owner's tap on `tesla.com/_ak/…` does).
    pub fn pair(&mut self, public_key: &[u8]) -> Result<(), crypto::KeyError> {
        self.vcsec.enroll(public_key)?;
        self.infotainment.enroll(public_key)?;
        let key: [u8; PUBLIC_KEY_LEN] = public_key
            .try_into()
            .expect("enroll accepts only 65-byte keys");
        if !self.paired.contains(&key) {
            self.paired.push(key);
        }
        Ok(())
    }

    /// Removes a client key from both domains, ending its sessions. Returns whether it was paired.
    pub fn unpair(&mut self, public_key: &[u8]) -> bool {
        self.vcsec.revoke(public_key);
        self.infotainment.revoke(public_key);
        let before = self.paired.len();
        self.paired.retain(|k| k.as_slice() != public_key);
        self.paired.len() != before
    }

    /// Both domains restart with new epochs; every client must resync.
    pub fn reboot(&mut self, now: SystemTime) {
        self.vcsec.reboot(now);
        self.infotainment.reboot(now);
    }

    pub fn paired_hex(&self) -> Vec<String> {
        self.paired.iter().map(hex::encode).collect()
    }

    /// The verifier a message is addressed to. Anything that is not addressed to VCSEC goes to
    /// infotainment, whose verifier answers it with the fault a car sends (`DECODING`,
    /// `INVALID_DOMAINS`).
    fn verifier_for(&mut self, message: &[u8]) -> &mut VehicleVerifier {
        let domain = RoutableMessage::decode(message)
            .ok()
            .and_then(|m| m.to_destination)
            .and_then(|d| d.as_domain())
            .and_then(Domain::from_wire);
        match domain {
            Some(Domain::VehicleSecurity) => &mut self.vcsec,
            _ => &mut self.infotainment,
        }
    }
}

/// A domain's key pair, derived from the VIN (a random one in the astronomically unlikely case the
/// hash is not a valid scalar).
fn car_key(vin: &str, domain: Domain) -> KeyPair {
    let seed = crypto::sha256(format!("teslasync-sim/{vin}/{domain}").as_bytes());
    KeyPair::from_bytes(&seed).unwrap_or_else(|_| KeyPair::generate())
}

/// A car's signed-command counters (`Sim::signed_stats`, `"signed"` in `GET /sim/vehicles/{vin}`).
/// Every `signed_command` that reaches a car counts in exactly one of the first four.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedStats {
    /// Session-info requests, paired key or not.
    pub handshakes: u64,
    /// Verified and carried out (commands, pings, status requests).
    pub accepted: u64,
    /// Verified, but refused by the car (`already_set`, `disconnected`, ...).
    pub refused: u64,
    /// Answered with a protocol fault.
    pub rejected: u64,
    /// `"vcsec"` / `"infotainment"` → the counter of the last command that domain accepted.
    pub last_counter: BTreeMap<String, u32>,
}

impl SignedStats {
    fn from_billing(b: &VinBilling) -> SignedStats {
        SignedStats {
            handshakes: b.handshakes,
            accepted: b.signed_commands,
            refused: b.signed_refused,
            rejected: b.signed_rejected,
            last_counter: b.signed_last_counter.clone(),
        }
    }
}

/// `{"routable_message": "<standard base64>"}`; other fields are ignored, as Tesla does.
#[derive(Deserialize)]
struct SignedBody {
    routable_message: String,
}

/// The RoutableMessage bytes of a `signed_command` body, or 400 for anything else.
fn parse_body(body: &[u8]) -> Result<Vec<u8>, FleetError> {
    let parsed: SignedBody =
        serde_json::from_slice(body).map_err(|_| FleetError::InvalidRequest)?;
    BASE64
        .decode(parsed.routable_message.trim())
        .ok()
        .filter(|bytes| !bytes.is_empty())
        .ok_or(FleetError::InvalidRequest)
}

/// `{"response": "<standard base64>"}`.
pub fn response_body(message: &[u8]) -> Response {
    reply::ok(Value::String(BASE64.encode(message)))
}

/// Hands a `signed_command` body to the car `tag` at `now` and returns the car's RoutableMessage.
/// Checks run in the order Fleet API answers: unknown car (404), no protocol (422, whatever the
/// body), malformed body (400), car not online (408, counted as a command while asleep), then the
/// car verifies and acts.
pub(crate) fn deliver(
    world: &mut World,
    tag: &str,
    body: &[u8],
    now: SystemTime,
) -> Result<Vec<u8>, FleetError> {
    let idx = world.find(tag).ok_or(FleetError::NotFound)?;
    let timing = world.timing;
    let car = &mut world.cars[idx];
    car.settle(now, &timing);
    let Some(ring) = world.keyrings.get_mut(&car.vin) else {
        return Err(FleetError::ProtocolUnsupported);
    };
    let message = parse_body(body)?;
    ring.last_request = Some(message.clone());
    if !car.is_online() {
        world
            .billing
            .record_while_asleep(Category::Command, &car.vin);
        return Err(FleetError::Unavailable);
    }
    // Any message that reaches the car keeps it awake, a handshake as much as a command.
    car.touch(now);
    let counters = world.billing.by_vin.entry(car.vin.clone()).or_default();
    let verifier = ring.verifier_for(&message);
    let handled = verifier.handle(&message, now);
    let reply = match (handled.verdict, handled.command) {
        (Verdict::Accepted, Some(cmd)) => {
            counters
                .signed_last_counter
                .insert(cmd.domain.as_str().to_string(), cmd.counter);
            let outcome = execute(car, &cmd, now);
            match &outcome {
                Outcome::Ok | Outcome::Payload(_) => counters.signed_commands += 1,
                Outcome::Refused(_) => counters.signed_refused += 1,
                Outcome::Fault(_) => counters.signed_rejected += 1,
            }
            tracing::debug!(vin = %car.vin, domain = %cmd.domain, counter = cmd.counter, ?outcome, "sim: signed command");
            verifier.reply(&cmd, outcome)
        }
        (Verdict::Handshake | Verdict::KeyNotPaired, _) => {
            counters.handshakes += 1;
            handled.reply
        }
        (Verdict::Rejected(_) | Verdict::Accepted, _) => {
            counters.signed_rejected += 1;
            handled.reply
        }
    };
    Ok(reply)
}

/// What the car does with a verified payload.
fn execute(car: &mut Car, cmd: &VerifiedCommand, now: SystemTime) -> Outcome {
    match protobuf::read(cmd.domain, &cmd.payload) {
        Ok(Request::Act(action)) => match car.apply(&action, now) {
            Ok(()) => Outcome::Ok,
            Err(reason) => Outcome::Refused(reason),
        },
        Ok(Request::Ping) => Outcome::Ok,
        Ok(Request::Information(kind)) if kind == InformationRequestType::GetStatus as i32 => {
            Outcome::Payload(vehicle_status(car))
        }
        Ok(Request::Information(_)) => Outcome::Ok,
        Err(Refusal::Refused(reason)) => Outcome::Refused(reason),
        Err(Refusal::NotACommand) => Outcome::Fault(MessageFault::InvalidCommand),
    }
}

/// VCSEC's answer to `InformationRequest{GET_STATUS}`: locks and closures (the simulated cars model
/// no doors, so those read closed).
fn vehicle_status(car: &Car) -> Vec<u8> {
    let closure = |open: bool| if open { CLOSURE_OPEN } else { CLOSURE_CLOSED };
    FromVcsecMessage {
        sub_message: Some(FromVcsecSubMessage::VehicleStatus(VehicleStatus {
            closure_statuses: Some(ClosureStatuses {
                rear_trunk: closure(car.trunk != 0),
                front_trunk: closure(car.frunk != 0),
                charge_port: closure(car.charge_port_door_open),
                ..Default::default()
            }),
            vehicle_lock_state: if car.locked {
                LOCK_LOCKED
            } else {
                LOCK_UNLOCKED
            },
            vehicle_sleep_status: SLEEP_AWAKE,
            user_presence: USER_NOT_PRESENT,
        })),
    }
    .encode_to_vec()
}

/// Adds `paired_keys` (hex) and `signed` (the counters) to a car's control view.
pub(crate) fn annotate_view(world: &World, vin: &str, view: &mut Value) {
    let paired = world
        .keyrings
        .get(vin)
        .map(Keyring::paired_hex)
        .unwrap_or_default();
    let stats = world
        .billing
        .by_vin
        .get(vin)
        .map(SignedStats::from_billing)
        .unwrap_or_default();
    if let Value::Object(map) = view {
        map.insert("paired_keys".into(), json!(paired));
        map.insert("signed".into(), json!(stats));
    }
}

/// A public key as the control API takes it: hex of the 65-byte uncompressed point (`04…`) or a
/// PEM `PUBLIC KEY` (what `openssl ec -pubout` writes and Tesla serves at `/.well-known/…`).
pub fn parse_public_key(text: &str) -> Result<Vec<u8>, SimError> {
    let text = text.trim();
    let bytes = if text.starts_with("-----BEGIN") {
        let key = p256::PublicKey::from_public_key_pem(text).map_err(|_| {
            SimError::InvalidKey(
                "the PEM is not a P-256 \"PUBLIC KEY\" (openssl ec -in key.pem -pubout writes one)"
                    .into(),
            )
        })?;
        crypto::encode_public(&key).to_vec()
    } else {
        hex::decode(text).map_err(|_| {
            SimError::InvalidKey(
                "expected the hex of the 65-byte uncompressed point (04…) or a PEM PUBLIC KEY"
                    .into(),
            )
        })?
    };
    crypto::parse_public(&bytes).map_err(|e| SimError::InvalidKey(e.to_string()))?;
    Ok(bytes)
}

/// Control-side and test-side access to signed commands.
impl Sim {
    /// Pairs a client key with a car (the owner approving it in the Tesla app), on both domains.
    /// Refused for cars that do not speak the protocol.
    pub fn pair_key(&self, vin: &str, public_key: &[u8]) -> Result<(), SimError> {
        let mut world = self.world();
        let ring = keyring(&mut world, vin)?;
        ring.pair(public_key)
            .map_err(|e| SimError::InvalidKey(e.to_string()))
    }

    /// Removes a paired key from a car; its sessions end. Returns whether it was paired.
    pub fn unpair_key(&self, vin: &str, public_key: &[u8]) -> Result<bool, SimError> {
        let mut world = self.world();
        Ok(keyring(&mut world, vin)?.unpair(public_key))
    }

    /// The car's signed-command counters (all zero for a car that never got one, or an unknown VIN).
    pub fn signed_stats(&self, vin: &str) -> SignedStats {
        let world = self.world();
        world
            .find(vin)
            .and_then(|i| world.billing.by_vin.get(&world.cars[i].vin))
            .map(SignedStats::from_billing)
            .unwrap_or_default()
    }

    /// The raw RoutableMessage of the last `signed_command` Fleet API received for the car, to post
    /// it again in a replay test.
    pub fn last_signed_request(&self, vin: &str) -> Option<Vec<u8>> {
        let world = self.world();
        let idx = world.find(vin)?;
        world
            .keyrings
            .get(&world.cars[idx].vin)?
            .last_request
            .clone()
    }
}

/// The keyring of the car `tag`, or why there is none.
fn keyring<'w>(world: &'w mut World, tag: &str) -> Result<&'w mut Keyring, SimError> {
    let idx = world
        .find(tag)
        .ok_or_else(|| SimError::UnknownVin(tag.to_string()))?;
    let car = &world.cars[idx];
    let refusal = format!(
        "the {} {} does not support the vehicle command protocol; it takes REST commands and has no keys to pair",
        car.spec.year, car.spec.model
    );
    world
        .keyrings
        .get_mut(&car.vin)
        .ok_or(SimError::Refused(refusal))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PairBody {
    public_key: String,
}

/// `POST /sim/vehicles/{vin}/keys {"public_key": "<hex or PEM>"}`: answers with the car's view.
pub async fn pair_key(State(sim): State<Sim>, Path(vin): Path<String>, body: Bytes) -> Response {
    let result = serde_json::from_slice::<PairBody>(&body)
        .map_err(|e| {
            SimError::InvalidKey(format!(
                "expected {{\"public_key\": \"<hex or PEM>\"}}: {e}"
            ))
        })
        .and_then(|b| parse_public_key(&b.public_key))
        .and_then(|key| sim.pair_key(&vin, &key));
    view_or_error(&sim, &vin, result)
}

/// `DELETE /sim/vehicles/{vin}/keys/{hex}`: answers with the car's view, whether or not the key
/// was paired.
pub async fn unpair_key(
    State(sim): State<Sim>,
    Path((vin, key)): Path<(String, String)>,
) -> Response {
    let result = parse_public_key(&key).and_then(|key| sim.unpair_key(&vin, &key).map(|_| ()));
    view_or_error(&sim, &vin, result)
}

fn view_or_error(sim: &Sim, vin: &str, result: Result<(), SimError>) -> Response {
    match result.and_then(|()| {
        sim.vehicle_json(vin)
            .ok_or_else(|| SimError::UnknownVin(vin.to_string()))
    }) {
        Ok(view) => reply::json(StatusCode::OK, &view),
        Err(e) => e.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_read_as_hex_or_pem() {
        let key = KeyPair::generate();
        let hex_key = hex::encode(key.public_key());
        assert_eq!(parse_public_key(&hex_key).unwrap(), key.public_key());
        let pem = {
            use p256::pkcs8::EncodePublicKey;
            let public = crypto::parse_public(key.public_key()).unwrap();
            public
                .to_public_key_pem(p256::pkcs8::LineEnding::LF)
                .unwrap()
        };
        assert_eq!(parse_public_key(&pem).unwrap(), key.public_key());
        for bad in [
            "zz",
            "04abcd",
            "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----",
        ] {
            assert!(
                matches!(parse_public_key(bad), Err(SimError::InvalidKey(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn keys_derive_from_the_vin_and_pairing_covers_both_domains() {
        let now = SystemTime::UNIX_EPOCH;
        let a = Keyring::new("7SAYGDEE1NA000001", now);
        let b = Keyring::new("7SAYGDEE1NA000001", now);
        assert_eq!(a.vcsec.public_key(), b.vcsec.public_key());
        assert_ne!(a.vcsec.public_key(), a.infotainment.public_key());

        let mut ring = a;
        let client = KeyPair::generate();
        ring.pair(client.public_key()).unwrap();
        ring.pair(client.public_key()).unwrap();
        assert_eq!(ring.paired_hex(), vec![hex::encode(client.public_key())]);
        assert!(ring.vcsec.is_enrolled(client.public_key()));
        assert!(ring.infotainment.is_enrolled(client.public_key()));
        assert!(ring.unpair(client.public_key()));
        assert!(!ring.unpair(client.public_key()));
        assert!(!ring.infotainment.is_enrolled(client.public_key()));
        assert!(ring.paired_hex().is_empty());
    }
}
