//! `tesla::command::verifier`: the **vehicle side** of one domain — what a car's VCSEC or
//! infotainment computer does with a `RoutableMessage` (spec §5.3, §6). The simulator uses it to
//! act like a car; tests use it to exercise the signer end to end.
//!
//! Owns the domain's key pair, epoch and clock, the set of enrolled client keys and, per client,
//! the counter anti-replay window. It answers handshakes with tagged session info, checks
//! HMAC-personalized commands (epoch, expiry, counter window, tag, enrolment) and encodes replies,
//! encrypted when the request asks for it. It does not interpret commands: the caller decodes
//! [`VerifiedCommand::payload`] (the simulator's car decodes it itself) and picks the [`Outcome`].
//!
//! Limits follow Tesla's Go reference verifier, since real firmware's are undocumented: a 32-counter
//! window (VCSEC demands strictly increasing counters), out-of-order or zero counters only with an
//! expiry at most 30 s ahead, `expires_at` above 2^30 refused.

use std::collections::{HashMap, HashSet};
use std::time::SystemTime;

use prost::Message;
use rand::RngCore;

use super::crypto::{self, KeyError, KeyPair, SessionKeys, PUBLIC_KEY_LEN};
use super::messages::{
    ActionStatus, AesGcmResponseSignatureData, CarServerResult, Destination, Domain,
    FromVcsecMessage, FromVcsecSubMessage, GenericError, HmacSignatureData, MessageFault,
    MessageStatus, NominalError, OperationStatus, Payload, Response, ResultReason,
    ResultReasonKind, RoutableMessage, SessionInfo, SessionInfoStatus, SigType, SignatureData,
    SignatureType, SubSigData, FLAG_ENCRYPT_RESPONSE,
};
use super::metadata::{self, CommandMetadata, ResponseMetadata};
use super::session::unix_ms;

/// How many counters below the highest one infotainment still accepts (once each).
pub const COUNTER_WINDOW: u32 = 32;
/// Out-of-order (or zero) counters are accepted only with an expiry at most this far ahead (s).
pub const OUT_OF_ORDER_MAX_TTL: u32 = 30;
/// Expiry values above this are malformed (the reference verifier rotates its epoch at 2^30 s).
pub const MAX_EXPIRES_AT: u32 = 1 << 30;

/// What the verifier made of a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// A handshake from an enrolled key, answered with session info.
    Handshake,
    /// A handshake from a key that is not enrolled, answered with `KEY_NOT_ON_WHITELIST`.
    KeyNotPaired,
    /// An authentic, fresh command: execute it and answer with [`VehicleVerifier::reply`].
    Accepted,
    /// Refused with this protocol fault (the reply says so, with session info when useful).
    Rejected(MessageFault),
}

/// The result of [`VehicleVerifier::handle`].
#[derive(Debug)]
pub struct Handled {
    /// The reply to send back. For an accepted command it reports success; build another one
    /// with [`VehicleVerifier::reply`] if the command should fail or return data.
    pub reply: Vec<u8>,
    pub verdict: Verdict,
    pub command: Option<VerifiedCommand>,
}

/// An authenticated command payload plus what is needed to answer it.
pub struct VerifiedCommand {
    pub domain: Domain,
    /// The encoded `VCSEC.UnsignedMessage` or `CarServer.Action`.
    pub payload: Vec<u8>,
    pub client_public_key: Vec<u8>,
    pub counter: u32,
    reply_to: Option<Destination>,
    request_uuid: Vec<u8>,
    request_hash: Vec<u8>,
    encrypt_response: bool,
    aes_key: [u8; 16],
}

impl std::fmt::Debug for VerifiedCommand {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifiedCommand")
            .field("domain", &self.domain)
            // Not the payload itself: it carries PINs in plaintext for some commands.
            .field("payload_len", &self.payload.len())
            .field("counter", &self.counter)
            .field("encrypt_response", &self.encrypt_response)
            .finish_non_exhaustive()
    }
}

/// How the car answers an accepted command.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// Success (infotainment: `actionStatus OK`; VCSEC: an empty message).
    Ok,
    /// A car-side refusal such as `"not_charging"`. VCSEC carries only a generic error code, so
    /// the reason is mapped to the closest one (`closures_open`, `already_on`, …, else unknown).
    Refused(String),
    /// A reply payload encoded by the caller (e.g. a VCSEC `VehicleStatus`).
    Payload(Vec<u8>),
    /// A protocol fault such as `Busy`, without session info.
    Fault(MessageFault),
}

struct ClientState {
    keys: SessionKeys,
    /// Highest counter accepted in this epoch (0 right after the epoch starts).
    counter: u32,
    /// Bit `i` set: counter `counter - i` was accepted.
    window: u32,
}

/// One vehicle domain. See the module docs.
pub struct VehicleVerifier {
    domain: Domain,
    vin: String,
    key: KeyPair,
    epoch: [u8; 16],
    booted_at: SystemTime,
    enrolled: HashSet<Vec<u8>>,
    clients: HashMap<Vec<u8>, ClientState>,
}

impl std::fmt::Debug for VehicleVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VehicleVerifier")
            .field("domain", &self.domain)
            .field("vin", &self.vin)
            .field("epoch", &hex::encode(self.epoch))
            .field("enrolled", &self.enrolled.len())
            .finish_non_exhaustive()
    }
}

impl VehicleVerifier {
    /// A domain that booted at `booted_at` (its clock reads 0 then) with a random epoch and no
    /// enrolled keys. `key` is the domain's own key pair (each domain of a car has its own).
    ///
    /// # Panics
    /// If `vin` is longer than 255 bytes (it must fit the metadata TLV; Tesla VINs have 17).
    pub fn new(domain: Domain, vin: &str, key: KeyPair, booted_at: SystemTime) -> Self {
        assert!(vin.len() <= 255, "a VIN must fit in 255 bytes");
        VehicleVerifier {
            domain,
            vin: vin.to_string(),
            key,
            epoch: random_epoch(),
            booted_at,
            enrolled: HashSet::new(),
            clients: HashMap::new(),
        }
    }

    /// Fixes the epoch (deterministic tests and simulator seeds).
    pub fn with_epoch(mut self, epoch: [u8; 16]) -> Self {
        self.epoch = epoch;
        self
    }

    pub fn domain(&self) -> Domain {
        self.domain
    }

    pub fn vin(&self) -> &str {
        &self.vin
    }

    /// The domain's public key, as announced in session info.
    pub fn public_key(&self) -> &[u8; PUBLIC_KEY_LEN] {
        self.key.public_key()
    }

    pub fn epoch(&self) -> [u8; 16] {
        self.epoch
    }

    /// Seconds since the epoch started, as this domain's clock reads at `now`.
    pub fn clock_time(&self, now: SystemTime) -> u32 {
        let ms = unix_ms(now) - unix_ms(self.booted_at);
        u32::try_from(ms.div_euclid(1000).max(0)).unwrap_or(u32::MAX)
    }

    /// Adds a client key (what the owner's "tesla.com/_ak/…" tap does).
    pub fn enroll(&mut self, public_key: &[u8]) -> Result<(), KeyError> {
        crypto::parse_public(public_key)?;
        self.enrolled.insert(public_key.to_vec());
        Ok(())
    }

    /// Removes a client key; its session ends. Returns whether it was enrolled.
    pub fn revoke(&mut self, public_key: &[u8]) -> bool {
        self.clients.remove(public_key);
        self.enrolled.remove(public_key)
    }

    pub fn is_enrolled(&self, public_key: &[u8]) -> bool {
        self.enrolled.contains(public_key)
    }

    /// The domain restarts: new epoch, clock back to zero, every session's counter forgotten.
    pub fn reboot(&mut self, now: SystemTime) {
        self.epoch = random_epoch();
        self.booted_at = now;
        self.clients.clear();
    }

    /// Verifies one request and encodes the reply. Never fails: malformed input gets the fault a
    /// car would send (`DECODING`, `INVALID_DOMAINS`, …).
    pub fn handle(&mut self, request: &[u8], now: SystemTime) -> Handled {
        let Ok(msg) = RoutableMessage::decode(request) else {
            return self.reject(None, &[], MessageFault::Decoding, None, now);
        };
        let reply_to = msg.from_destination.clone();
        if msg.uuid.len() > 16 {
            return self.reject(reply_to, &[], MessageFault::Decoding, None, now);
        }
        let to = msg.to_destination.as_ref().and_then(Destination::as_domain);
        if to != Some(self.domain as i32) {
            return self.reject(reply_to, &msg.uuid, MessageFault::InvalidDomains, None, now);
        }
        match &msg.payload {
            Some(Payload::SessionInfoRequest(req)) => {
                self.handshake(reply_to, &msg.uuid, &req.public_key, now)
            }
            Some(Payload::ProtobufMessageAsBytes(payload)) => {
                self.command(&msg, reply_to, payload, now)
            }
            _ => self.reject(reply_to, &msg.uuid, MessageFault::Decoding, None, now),
        }
    }

    /// The reply to an accepted command with the given outcome.
    pub fn reply(&self, command: &VerifiedCommand, outcome: Outcome) -> Vec<u8> {
        let body = match outcome {
            Outcome::Fault(fault) => {
                return self.fault_message(
                    command.reply_to.clone(),
                    &command.request_uuid,
                    fault,
                    None,
                );
            }
            Outcome::Payload(p) => p,
            Outcome::Ok => self.result_payload(None),
            Outcome::Refused(reason) => self.result_payload(Some(reason)),
        };
        let mut msg = RoutableMessage {
            to_destination: command.reply_to.clone(),
            from_destination: Some(Destination::domain(self.domain)),
            request_uuid: command.request_uuid.clone(),
            ..Default::default()
        };
        if command.encrypt_response {
            // One reply per request over Fleet API, so the reply counter is always 1.
            let counter = 1;
            let meta = ResponseMetadata {
                domain: self.domain,
                vin: &self.vin,
                counter,
                flags: msg.flags,
                request_hash: &command.request_hash,
                fault: 0,
            }
            .encode()
            .expect("VIN and request hash lengths are bounded");
            let mut nonce = [0u8; 12];
            rand::thread_rng().fill_bytes(&mut nonce);
            let (ciphertext, tag) =
                crypto::aes_gcm_seal(&command.aes_key, &nonce, &crypto::sha256(&meta), &body);
            msg.payload = Some(Payload::ProtobufMessageAsBytes(ciphertext));
            msg.sub_sig_data = Some(SubSigData::SignatureData(SignatureData {
                signer_identity: None,
                sig_type: Some(SigType::AesGcmResponseData(AesGcmResponseSignatureData {
                    nonce: nonce.to_vec(),
                    counter,
                    tag: tag.to_vec(),
                })),
            }));
        } else {
            msg.payload = Some(Payload::ProtobufMessageAsBytes(body));
        }
        msg.encode_to_vec()
    }

    fn result_payload(&self, refusal: Option<String>) -> Vec<u8> {
        match self.domain {
            Domain::VehicleSecurity => FromVcsecMessage {
                sub_message: refusal.map(|reason| {
                    FromVcsecSubMessage::NominalError(NominalError {
                        generic_error: GenericError::from_reason(&reason) as i32,
                    })
                }),
            }
            .encode_to_vec(),
            _ => Response {
                action_status: Some(match refusal {
                    None => ActionStatus::default(),
                    Some(reason) => ActionStatus {
                        result: CarServerResult::Error as i32,
                        result_reason: Some(ResultReason {
                            reason: Some(ResultReasonKind::PlainText(reason)),
                        }),
                    },
                }),
                response_msg: None,
            }
            .encode_to_vec(),
        }
    }

    fn handshake(
        &mut self,
        reply_to: Option<Destination>,
        uuid: &[u8],
        client_key: &[u8],
        now: SystemTime,
    ) -> Handled {
        let enrolled = self.enrolled.contains(client_key);
        let known = self
            .clients
            .get(client_key)
            .map(|state| (state.counter, state.keys.clone()));
        let (verdict, counter, keys) = match known {
            Some((counter, keys)) if enrolled => (Verdict::Handshake, counter, keys),
            _ => {
                let Ok(k) = self.key.shared_key(client_key) else {
                    return self.reject(reply_to, uuid, MessageFault::Decoding, None, now);
                };
                let keys = SessionKeys::derive(k);
                if enrolled {
                    self.clients.insert(
                        client_key.to_vec(),
                        ClientState {
                            keys: keys.clone(),
                            counter: 0,
                            window: 0,
                        },
                    );
                    (Verdict::Handshake, 0, keys)
                } else {
                    (Verdict::KeyNotPaired, 0, keys)
                }
            }
        };
        let status = if verdict == Verdict::KeyNotPaired {
            SessionInfoStatus::KeyNotOnWhitelist
        } else {
            SessionInfoStatus::Ok
        };
        let (info, tag) = self.session_info(&keys, counter, status, uuid, now);
        let msg = RoutableMessage {
            to_destination: reply_to,
            from_destination: Some(Destination::domain(self.domain)),
            payload: Some(Payload::SessionInfo(info)),
            sub_sig_data: Some(session_info_tag(tag)),
            request_uuid: uuid.to_vec(),
            ..Default::default()
        };
        Handled {
            reply: msg.encode_to_vec(),
            verdict,
            command: None,
        }
    }

    fn command(
        &mut self,
        msg: &RoutableMessage,
        reply_to: Option<Destination>,
        payload: &[u8],
        now: SystemTime,
    ) -> Handled {
        let uuid = msg.uuid.as_slice();
        let sig = msg.signature_data();
        let Some(client_key) = sig.and_then(SignatureData::signer_public_key) else {
            return self.reject(reply_to, uuid, MessageFault::UnknownKeyId, None, now);
        };
        if !self.enrolled.contains(client_key) {
            return self.reject(reply_to, uuid, MessageFault::UnknownKeyId, None, now);
        }
        let Some(SigType::HmacPersonalizedData(hmac)) = sig.and_then(|s| s.sig_type.as_ref())
        else {
            // Fleet API carries only HMAC-personalized commands (AES-GCM is BLE-only).
            return self.reject(reply_to, uuid, MessageFault::BadParameter, None, now);
        };
        let clock = self.clock_time(now);
        let domain = self.domain;
        let epoch = self.epoch;
        let vin = self.vin.clone();
        let state = match self.clients.get_mut(client_key) {
            Some(state) => state,
            None => {
                let Ok(k) = self.key.shared_key(client_key) else {
                    return self.reject(reply_to, uuid, MessageFault::UnknownKeyId, None, now);
                };
                self.clients
                    .entry(client_key.to_vec())
                    .or_insert(ClientState {
                        keys: SessionKeys::derive(k),
                        counter: 0,
                        window: 0,
                    })
            }
        };

        let fault = (|| {
            if !hmac.epoch.is_empty() && hmac.epoch != epoch {
                return Some(MessageFault::IncorrectEpoch);
            }
            if hmac.expires_at > MAX_EXPIRES_AT {
                return Some(MessageFault::BadParameter);
            }
            if hmac.expires_at != 0 && hmac.expires_at < clock {
                return Some(MessageFault::TimeExpired);
            }
            let out_of_order = hmac.counter == 0 || hmac.counter < state.counter;
            if out_of_order
                && (hmac.expires_at == 0 || hmac.expires_at - clock > OUT_OF_ORDER_MAX_TTL)
            {
                return Some(MessageFault::TimeToLiveTooLong);
            }
            let meta = CommandMetadata {
                signature_type: SignatureType::HmacPersonalized,
                domain,
                vin: &vin,
                epoch: &epoch,
                expires_at: hmac.expires_at,
                counter: hmac.counter,
                flags: msg.flags,
            }
            .encode()
            .ok()?;
            if !crypto::hmac_sha256_verify(&state.keys.cmd, &[&meta, payload], &hmac.tag) {
                return Some(MessageFault::InvalidSignature);
            }
            if !accept_counter(domain, state, hmac.counter) {
                return Some(MessageFault::InvalidTokenOrCounter);
            }
            None
        })();
        if let Some(fault) = fault {
            let info = Some((state.keys.clone(), state.counter));
            return self.reject(reply_to, uuid, fault, info, now);
        }

        let command = VerifiedCommand {
            domain,
            payload: payload.to_vec(),
            client_public_key: client_key.to_vec(),
            counter: hmac.counter,
            reply_to,
            request_uuid: uuid.to_vec(),
            request_hash: metadata::request_hash(
                domain,
                SignatureType::HmacPersonalized,
                &hmac.tag,
            ),
            encrypt_response: msg.flags & FLAG_ENCRYPT_RESPONSE != 0,
            aes_key: state.keys.aes,
        };
        Handled {
            reply: self.reply(&command, Outcome::Ok),
            verdict: Verdict::Accepted,
            command: Some(command),
        }
    }

    /// A fault reply; `info` = the client's keys and counter when session info should ride along
    /// (signature-class faults, spec §5.3), tagged with the offending request's uuid.
    fn reject(
        &self,
        reply_to: Option<Destination>,
        uuid: &[u8],
        fault: MessageFault,
        info: Option<(SessionKeys, u32)>,
        now: SystemTime,
    ) -> Handled {
        let info = info.map(|(keys, counter)| {
            self.session_info(&keys, counter, SessionInfoStatus::Ok, uuid, now)
        });
        Handled {
            reply: self.fault_message(reply_to, uuid, fault, info),
            verdict: Verdict::Rejected(fault),
            command: None,
        }
    }

    fn fault_message(
        &self,
        reply_to: Option<Destination>,
        uuid: &[u8],
        fault: MessageFault,
        info: Option<(Vec<u8>, [u8; 32])>,
    ) -> Vec<u8> {
        let mut msg = RoutableMessage {
            to_destination: reply_to,
            from_destination: Some(Destination::domain(self.domain)),
            signed_message_status: Some(MessageStatus {
                operation_status: OperationStatus::Error as i32,
                signed_message_fault: fault as i32,
            }),
            request_uuid: uuid.to_vec(),
            ..Default::default()
        };
        if let Some((info, tag)) = info {
            msg.payload = Some(Payload::SessionInfo(info));
            msg.sub_sig_data = Some(session_info_tag(tag));
        }
        msg.encode_to_vec()
    }

    /// Encoded session info for one client and its tag, bound to `challenge` (spec §6.2).
    fn session_info(
        &self,
        keys: &SessionKeys,
        counter: u32,
        status: SessionInfoStatus,
        challenge: &[u8],
        now: SystemTime,
    ) -> (Vec<u8>, [u8; 32]) {
        let info = SessionInfo {
            counter,
            public_key: self.key.public_key().to_vec(),
            epoch: self.epoch.to_vec(),
            clock_time: self.clock_time(now),
            status: status as i32,
            handle: 0,
        }
        .encode_to_vec();
        let meta = metadata::session_info(&self.vin, challenge)
            .expect("the uuid is at most 16 bytes and the VIN at most 255 (checked in new)");
        let tag = crypto::hmac_sha256(&keys.info, &[&meta, &info]);
        (info, tag)
    }
}

fn session_info_tag(tag: [u8; 32]) -> SubSigData {
    SubSigData::SignatureData(SignatureData {
        signer_identity: None,
        sig_type: Some(SigType::SessionInfoTag(HmacSignatureData {
            tag: tag.to_vec(),
        })),
    })
}

fn random_epoch() -> [u8; 16] {
    let mut epoch = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut epoch);
    epoch
}

/// The anti-replay rule: VCSEC needs strictly increasing counters; infotainment accepts each
/// counter once within a window below the highest seen. Counter 0 skips the window (it is only
/// accepted with a very short expiry, checked earlier).
fn accept_counter(domain: Domain, state: &mut ClientState, counter: u32) -> bool {
    if counter == 0 {
        return true;
    }
    if counter > state.counter {
        let shift = counter - state.counter;
        state.window = if shift >= COUNTER_WINDOW {
            0
        } else {
            state.window << shift
        } | 1;
        state.counter = counter;
        return true;
    }
    if domain == Domain::VehicleSecurity {
        return false;
    }
    let age = state.counter - counter;
    if age >= COUNTER_WINDOW || state.window & (1 << age) != 0 {
        return false;
    }
    state.window |= 1 << age;
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tesla::command::error::ProtocolError;
    use crate::tesla::command::signer::{MessageIds, SignOptions, Signer};
    use crate::tesla::commands::Command;
    use std::sync::Arc;
    use std::time::{Duration, UNIX_EPOCH};

    const VIN: &str = "5YJ3E1EA7KF000001";

    fn t(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_700_000_000 + secs)
    }

    struct Pair {
        car: VehicleVerifier,
        signer: Signer,
        key: Arc<KeyPair>,
    }

    /// A car booted an hour before t(0), with the client enrolled and a session established.
    fn pair(domain: Domain) -> Pair {
        let client = Arc::new(KeyPair::generate());
        let mut car = VehicleVerifier::new(
            domain,
            VIN,
            KeyPair::generate(),
            t(0) - Duration::from_secs(3600),
        );
        car.enroll(client.public_key()).unwrap();
        let mut signer = Signer::new(client.clone(), VIN, domain).unwrap();
        handshake(&mut car, &mut signer, t(0)).unwrap();
        Pair {
            car,
            signer,
            key: client,
        }
    }

    fn handshake(
        car: &mut VehicleVerifier,
        signer: &mut Signer,
        now: SystemTime,
    ) -> Result<(), ProtocolError> {
        let req = signer.handshake_request(now);
        let handled = car.handle(req.bytes(), now);
        signer.accept_handshake(&req, &handled.reply, now)
    }

    fn opts() -> SignOptions {
        SignOptions::default()
    }

    #[test]
    fn handshake_then_command_is_accepted_with_an_encrypted_reply() {
        for domain in [Domain::Infotainment, Domain::VehicleSecurity] {
            let mut p = pair(domain);
            assert_eq!(p.signer.session().unwrap().epoch(), p.car.epoch());
            assert_eq!(p.signer.session().unwrap().vehicle_time(t(0)), 3600);
            let req = p.signer.sign(b"\x10\x01", opts(), t(1)).unwrap();
            let handled = p.car.handle(req.bytes(), t(1));
            assert_eq!(handled.verdict, Verdict::Accepted);
            let cmd = handled.command.unwrap();
            assert_eq!(cmd.payload, b"\x10\x01");
            assert_eq!(cmd.counter, 1);
            let reply = p.signer.open_reply(&req, &handled.reply, t(1)).unwrap();
            assert!(reply.encrypted);
            // Plaintext when not asked to encrypt.
            let o = SignOptions {
                encrypt_response: false,
                ..opts()
            };
            let req = p.signer.sign(b"", o, t(2)).unwrap();
            let handled = p.car.handle(req.bytes(), t(2));
            assert!(
                !p.signer
                    .open_reply(&req, &handled.reply, t(2))
                    .unwrap()
                    .encrypted
            );
        }
    }

    #[test]
    fn a_replayed_command_is_rejected_and_the_session_recovers() {
        let mut p = pair(Domain::Infotainment);
        let req = p.signer.sign(b"", opts(), t(1)).unwrap();
        assert_eq!(p.car.handle(req.bytes(), t(1)).verdict, Verdict::Accepted);
        let again = p.car.handle(req.bytes(), t(2));
        assert_eq!(
            again.verdict,
            Verdict::Rejected(MessageFault::InvalidTokenOrCounter)
        );
        let err = p.signer.open_reply(&req, &again.reply, t(2)).unwrap_err();
        assert!(err.is_temporary() && !err.needs_resync(), "{err}");
        let req = p.signer.sign(b"", opts(), t(2)).unwrap();
        assert_eq!(p.car.handle(req.bytes(), t(2)).verdict, Verdict::Accepted);
    }

    #[test]
    fn an_expired_command_is_rejected_and_resigning_works() {
        let mut p = pair(Domain::Infotainment);
        let short = SignOptions {
            ttl: Duration::from_secs(2),
            ..opts()
        };
        let req = p.signer.sign(b"", short, t(1)).unwrap();
        let late = p.car.handle(req.bytes(), t(5));
        assert_eq!(late.verdict, Verdict::Rejected(MessageFault::TimeExpired));
        let err = p.signer.open_reply(&req, &late.reply, t(5)).unwrap_err();
        assert!(err.is_temporary() && !err.needs_resync(), "{err}");
        let req = p.signer.sign(b"", short, t(5)).unwrap();
        assert_eq!(p.car.handle(req.bytes(), t(5)).verdict, Verdict::Accepted);
    }

    #[test]
    fn a_reboot_gives_incorrect_epoch_then_the_piggy_backed_session_works() {
        let mut p = pair(Domain::VehicleSecurity);
        for i in 1..=3 {
            let req = p.signer.sign(b"", opts(), t(i)).unwrap();
            assert_eq!(p.car.handle(req.bytes(), t(i)).verdict, Verdict::Accepted);
        }
        p.car.reboot(t(100));
        let req = p.signer.sign(b"", opts(), t(101)).unwrap();
        let handled = p.car.handle(req.bytes(), t(101));
        assert_eq!(
            handled.verdict,
            Verdict::Rejected(MessageFault::IncorrectEpoch)
        );
        let err = p
            .signer
            .open_reply(&req, &handled.reply, t(101))
            .unwrap_err();
        assert_eq!(err.fault(), Some(MessageFault::IncorrectEpoch));
        assert!(err.is_temporary() && !err.needs_resync(), "{err}");
        let s = p.signer.session().unwrap();
        assert_eq!((s.epoch(), s.counter()), (&p.car.epoch()[..], 0));
        let req = p.signer.sign(b"", opts(), t(101)).unwrap();
        let handled = p.car.handle(req.bytes(), t(101));
        assert_eq!(handled.verdict, Verdict::Accepted);
        p.signer.open_reply(&req, &handled.reply, t(101)).unwrap();
    }

    #[test]
    fn a_wrong_epoch_without_usable_session_info_needs_a_handshake() {
        let mut p = pair(Domain::Infotainment);
        p.car.reboot(t(100));
        let req = p.signer.sign(b"", opts(), t(101)).unwrap();
        let handled = p.car.handle(req.bytes(), t(101));
        // The reply arrives too late for its session info to be trusted.
        let err = p
            .signer
            .open_reply(&req, &handled.reply, t(120))
            .unwrap_err();
        assert!(err.needs_resync(), "{err}");
        handshake(&mut p.car, &mut p.signer, t(121)).unwrap();
        let req = p.signer.sign(b"", opts(), t(121)).unwrap();
        assert_eq!(p.car.handle(req.bytes(), t(121)).verdict, Verdict::Accepted);
    }

    #[test]
    fn unknown_keys_are_key_not_paired() {
        let client = Arc::new(KeyPair::generate());
        let mut car = VehicleVerifier::new(Domain::Infotainment, VIN, KeyPair::generate(), t(0));
        let mut signer = Signer::new(client.clone(), VIN, Domain::Infotainment).unwrap();
        let req = signer.handshake_request(t(1));
        let handled = car.handle(req.bytes(), t(1));
        assert_eq!(handled.verdict, Verdict::KeyNotPaired);
        let err = signer
            .accept_handshake(&req, &handled.reply, t(1))
            .unwrap_err();
        assert!(err.is_key_not_paired(), "{err}");
        assert!(!signer.has_session());

        car.enroll(client.public_key()).unwrap();
        handshake(&mut car, &mut signer, t(2)).unwrap();
        assert!(car.revoke(client.public_key()));
        let req = signer.sign(b"", opts(), t(3)).unwrap();
        let handled = car.handle(req.bytes(), t(3));
        assert_eq!(
            handled.verdict,
            Verdict::Rejected(MessageFault::UnknownKeyId)
        );
        let err = signer.open_reply(&req, &handled.reply, t(3)).unwrap_err();
        assert!(err.is_key_not_paired() && !err.is_temporary(), "{err}");
    }

    #[test]
    fn tampering_and_wrong_vin_fail_the_tag() {
        let mut p = pair(Domain::Infotainment);
        let req = p.signer.sign(b"\x01\x02", opts(), t(1)).unwrap();
        let mut msg = RoutableMessage::decode(req.bytes()).unwrap();
        msg.payload = Some(Payload::ProtobufMessageAsBytes(b"\x01\x03".to_vec()));
        let handled = p.car.handle(&msg.encode_to_vec(), t(1));
        assert_eq!(
            handled.verdict,
            Verdict::Rejected(MessageFault::InvalidSignature)
        );
        // Unsetting the flag changes the metadata too.
        let mut msg = RoutableMessage::decode(req.bytes()).unwrap();
        msg.flags = 0;
        assert_eq!(
            p.car.handle(&msg.encode_to_vec(), t(1)).verdict,
            Verdict::Rejected(MessageFault::InvalidSignature)
        );

        let key = Arc::new(KeyPair::generate());
        p.car.enroll(key.public_key()).unwrap();
        let mut other_vin = Signer::new(key, "5YJ3E1EA7KF000002", Domain::Infotainment).unwrap();
        // A handshake is not bound to the VIN the car has, but commands are.
        let req = other_vin.handshake_request(t(2));
        let handled = p.car.handle(req.bytes(), t(2));
        assert!(other_vin
            .accept_handshake(&req, &handled.reply, t(2))
            .is_err());
    }

    #[test]
    fn malformed_requests_get_the_faults_a_car_sends() {
        let mut p = pair(Domain::Infotainment);
        assert_eq!(
            p.car.handle(b"\xff\xff\xff", t(1)).verdict,
            Verdict::Rejected(MessageFault::Decoding)
        );
        let mut vcsec =
            Signer::new(Arc::new(KeyPair::generate()), VIN, Domain::VehicleSecurity).unwrap();
        let req = vcsec.handshake_request(t(1));
        assert_eq!(
            p.car.handle(req.bytes(), t(1)).verdict,
            Verdict::Rejected(MessageFault::InvalidDomains)
        );
        let unsigned = RoutableMessage {
            to_destination: Some(Destination::domain(Domain::Infotainment)),
            payload: Some(Payload::ProtobufMessageAsBytes(vec![])),
            ..Default::default()
        };
        assert_eq!(
            p.car.handle(&unsigned.encode_to_vec(), t(1)).verdict,
            Verdict::Rejected(MessageFault::UnknownKeyId)
        );
        let _ = vcsec.sign(b"", opts(), t(1)).unwrap_err();
    }

    #[test]
    fn vcsec_needs_counters_in_order_infotainment_tolerates_reordering() {
        for (domain, late_ok) in [
            (Domain::VehicleSecurity, false),
            (Domain::Infotainment, true),
        ] {
            let mut p = pair(domain);
            let first = p.signer.sign(b"", opts(), t(1)).unwrap();
            let second = p.signer.sign(b"", opts(), t(1)).unwrap();
            assert_eq!(
                p.car.handle(second.bytes(), t(1)).verdict,
                Verdict::Accepted
            );
            let late = p.car.handle(first.bytes(), t(1)).verdict;
            if late_ok {
                assert_eq!(late, Verdict::Accepted, "{domain}");
            } else {
                assert_eq!(
                    late,
                    Verdict::Rejected(MessageFault::InvalidTokenOrCounter),
                    "{domain}"
                );
            }
        }
    }

    #[test]
    fn out_of_order_counters_need_a_short_expiry() {
        let mut p = pair(Domain::Infotainment);
        let long = SignOptions {
            ttl: Duration::from_secs(60),
            ..opts()
        };
        let first = p.signer.sign(b"", long, t(1)).unwrap();
        let second = p.signer.sign(b"", long, t(1)).unwrap();
        assert_eq!(
            p.car.handle(second.bytes(), t(1)).verdict,
            Verdict::Accepted
        );
        assert_eq!(
            p.car.handle(first.bytes(), t(1)).verdict,
            Verdict::Rejected(MessageFault::TimeToLiveTooLong)
        );
    }

    #[test]
    fn a_restored_snapshot_never_reuses_a_counter() {
        let mut p = pair(Domain::VehicleSecurity);
        let req = p.signer.sign(b"", opts(), t(1)).unwrap();
        let snap = p.signer.snapshot().unwrap();
        assert_eq!(p.car.handle(req.bytes(), t(1)).verdict, Verdict::Accepted);
        // "Restart": a new signer from the persisted JSON.
        let json = serde_json::to_vec(&snap).unwrap();
        let mut restored =
            Signer::restore(p.key.clone(), &serde_json::from_slice(&json).unwrap()).unwrap();
        let req = restored.sign(b"", opts(), t(2)).unwrap();
        assert_eq!(req.counter(), 2);
        let handled = p.car.handle(req.bytes(), t(2));
        assert_eq!(handled.verdict, Verdict::Accepted);
        restored.open_reply(&req, &handled.reply, t(2)).unwrap();
    }

    #[test]
    fn outcomes_reach_the_signer() {
        for domain in [Domain::Infotainment, Domain::VehicleSecurity] {
            let mut p = pair(domain);
            let mut answer = |outcome: Outcome, at: u64| {
                let req = p.signer.sign(b"", opts(), t(at)).unwrap();
                let cmd = p.car.handle(req.bytes(), t(at)).command.unwrap();
                let reply = p.car.reply(&cmd, outcome);
                p.signer.open_reply(&req, &reply, t(at))
            };
            let err = answer(Outcome::Refused("closures_open".into()), 1).unwrap_err();
            assert!(
                matches!(&err, ProtocolError::Refused { reason, .. } if reason == "closures_open"),
                "{err}"
            );
            let err = answer(Outcome::Fault(MessageFault::Busy), 2).unwrap_err();
            assert!(err.is_temporary() && !err.needs_resync(), "{err}");
            answer(Outcome::Payload(Vec::new()), 3).unwrap();
        }
    }

    #[test]
    fn pins_stay_out_of_debug_output() {
        let mut p = pair(Domain::Infotainment);
        let cmd =
            Command::parse("speed_limit_activate", &serde_json::json!({"pin": "9753"})).unwrap();
        let (_, payload) = crate::tesla::command::actions::encode(&cmd).unwrap();
        let req = p.signer.sign(&payload, opts(), t(1)).unwrap();
        let handled = p.car.handle(req.bytes(), t(1));
        let text = format!("{req:?} {handled:?} {:?}", p.signer);
        for needle in ["9753", &hex::encode("9753"), "57, 55, 53, 51"] {
            assert!(!text.contains(needle), "{text}");
        }
    }

    #[test]
    fn counter_window_accepts_each_counter_once() {
        let mut s = ClientState {
            keys: SessionKeys::derive([0; 16]),
            counter: 0,
            window: 0,
        };
        let d = Domain::Infotainment;
        assert!(accept_counter(d, &mut s, 5));
        assert!(!accept_counter(d, &mut s, 5));
        assert!(accept_counter(d, &mut s, 3));
        assert!(!accept_counter(d, &mut s, 3));
        assert!(accept_counter(d, &mut s, 40));
        assert!(!accept_counter(d, &mut s, 8), "older than the window");
        assert!(accept_counter(d, &mut s, 9));
        assert!(accept_counter(d, &mut s, 39));
        assert!(!accept_counter(d, &mut s, 39));
        assert!(accept_counter(d, &mut s, 0), "zero skips the window");
    }

    #[test]
    fn fixed_ids_still_work_end_to_end() {
        let mut p = pair(Domain::Infotainment);
        let ids = MessageIds {
            uuid: [1; 16],
            routing_address: [2; 16],
        };
        let req = p.signer.sign_with(b"", opts(), ids, t(1)).unwrap();
        let handled = p.car.handle(req.bytes(), t(1));
        let reply = RoutableMessage::decode(handled.reply.as_slice()).unwrap();
        assert_eq!(reply.request_uuid, vec![1; 16]);
        assert_eq!(
            reply.to_destination.unwrap().as_routing_address(),
            Some(&[2u8; 16][..])
        );
    }
}
