//! `tesla::command::signer`: the client side of one VIN × domain — build the handshake request,
//! authenticate the session-info reply, sign commands (HMAC-personalized, the only mode Fleet API
//! accepts) and verify, decrypt and classify the vehicle's reply (spec §5.1, §5.4, §6, §7).
//!
//! Bytes in, bytes out: it never sends anything, never sleeps and never reads the clock — every
//! call that depends on time takes `now`. It never retries either; the caller reads the
//! classification on [`ProtocolError`] and decides. Persisting the session is the caller's job via
//! [`Signer::snapshot`].

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use prost::Message;
use rand::RngCore;

use super::crypto::{self, KeyPair, SessionKeys};
use super::error::{is_session_fault, ProtocolError};
use super::messages::{
    CarServerResult, CommandStatusSubMessage, Destination, Domain, FromVcsecMessage,
    FromVcsecSubMessage, GenericError, HmacPersonalizedSignatureData, IdentityType, KeyIdentity,
    MessageFault, OperationStatus, Payload, Response, ResultReasonKind, RoutableMessage,
    SessionInfo, SessionInfoRequest, SessionInfoStatus, SigType, SignatureData, SignatureType,
    SubSigData, VcsecOperationStatus, FLAG_ENCRYPT_RESPONSE,
};
use super::metadata::{self, CommandMetadata, ResponseMetadata};
use super::session::{Session, SessionSnapshot};

/// Session info that arrives later than this after its request is discarded: a stale clock
/// sample would make commands expire later than intended (the Go SDK's `MaxLatency`).
pub const MAX_LATENCY: Duration = Duration::from_secs(10);

/// How long a signed command stays valid. Short, because the vehicle rejects long lifetimes and a
/// captured command should be useless soon; long enough for Fleet API's round trip.
pub const DEFAULT_TTL: Duration = Duration::from_secs(10);

/// VCSEC's `SignedMessage_information_E` value for "key not on whitelist".
const VCSEC_FAULT_NOT_ON_WHITELIST: i32 = 2;

/// How many `(request hash, counter)` pairs of encrypted replies are remembered for anti-replay.
const SEEN_REPLIES: usize = 64;

/// Per-command signing choices.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SignOptions {
    /// Lifetime of the command in the vehicle's clock.
    pub ttl: Duration,
    /// Set `FLAG_ENCRYPT_RESPONSE`. Tesla recommends it and newer commands that return personal
    /// data require it; firmware before 2024.38 ignores it and answers in plaintext.
    pub encrypt_response: bool,
}

impl Default for SignOptions {
    fn default() -> Self {
        SignOptions {
            ttl: DEFAULT_TTL,
            encrypt_response: true,
        }
    }
}

/// The random identifiers of one request. Random in production ([`MessageIds::random`]); fixed
/// in byte-exact tests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MessageIds {
    /// Request id; also the challenge the vehicle binds its session info to.
    pub uuid: [u8; 16],
    /// Our "return address". A fresh one per request is what the Go SDK does for VCSEC, which
    /// often leaves `request_uuid` empty in replies.
    pub routing_address: [u8; 16],
}

impl MessageIds {
    pub fn random() -> Self {
        let mut ids = MessageIds {
            uuid: [0; 16],
            routing_address: [0; 16],
        };
        let mut rng = rand::thread_rng();
        rng.fill_bytes(&mut ids.uuid);
        rng.fill_bytes(&mut ids.routing_address);
        ids
    }
}

/// A handshake request, kept until its reply is accepted (the uuid is the challenge).
#[derive(Clone)]
pub struct HandshakeRequest {
    bytes: Vec<u8>,
    domain: Domain,
    uuid: [u8; 16],
    sent_at: SystemTime,
}

impl HandshakeRequest {
    /// The serialized `RoutableMessage` to send (base64 it for `signed_command`).
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    pub fn domain(&self) -> Domain {
        self.domain
    }

    pub fn uuid(&self) -> &[u8; 16] {
        &self.uuid
    }
}

/// A signed command, kept until its reply is opened.
///
/// `Debug` shows ids and counters but not the bytes, which carry PINs in plaintext for the
/// commands that take one.
#[derive(Clone)]
pub struct SignedRequest {
    bytes: Vec<u8>,
    domain: Domain,
    uuid: [u8; 16],
    request_hash: Vec<u8>,
    counter: u32,
    expires_at: u32,
    flags: u32,
    sent_at: SystemTime,
}

impl SignedRequest {
    /// The serialized `RoutableMessage` to send (base64 it for `signed_command`).
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    pub fn domain(&self) -> Domain {
        self.domain
    }

    pub fn uuid(&self) -> &[u8; 16] {
        &self.uuid
    }

    /// Identifies this request in an encrypted reply's metadata.
    pub fn request_hash(&self) -> &[u8] {
        &self.request_hash
    }

    pub fn counter(&self) -> u32 {
        self.counter
    }

    /// Expiry in the vehicle's clock (seconds since its epoch started).
    pub fn expires_at(&self) -> u32 {
        self.expires_at
    }

    pub fn flags(&self) -> u32 {
        self.flags
    }
}

impl std::fmt::Debug for HandshakeRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HandshakeRequest")
            .field("domain", &self.domain)
            .field("uuid", &hex::encode(self.uuid))
            .field("len", &self.bytes.len())
            .finish()
    }
}

impl std::fmt::Debug for SignedRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignedRequest")
            .field("domain", &self.domain)
            .field("uuid", &hex::encode(self.uuid))
            .field("counter", &self.counter)
            .field("expires_at", &self.expires_at)
            .field("flags", &self.flags)
            .field("len", &self.bytes.len())
            .finish()
    }
}

/// A reply the vehicle accepted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    /// The decrypted reply payload: an encoded `CarServer.Response` (infotainment) or
    /// `VCSEC.FromVCSECMessage`; often empty.
    pub payload: Vec<u8>,
    /// Whether the reply was encrypted (and therefore authenticated).
    pub encrypted: bool,
    /// Whether the reply carried session info that was applied.
    pub session_refreshed: bool,
}

/// The client side of one VIN × domain session.
///
/// Not `Sync`-shared on purpose: commands to one domain must be serialized (VCSEC rejects
/// out-of-order counters), so the executor owns one `Signer` per VIN × domain behind its queue.
#[derive(Debug)]
pub struct Signer {
    key: Arc<KeyPair>,
    vin: String,
    domain: Domain,
    session: Option<Session>,
    seen_replies: VecDeque<(Vec<u8>, u32)>,
}

impl Signer {
    /// A signer without a session; [`Signer::handshake_request`] is the next step.
    pub fn new(key: Arc<KeyPair>, vin: &str, domain: Domain) -> Result<Signer, ProtocolError> {
        if vin.is_empty() || vin.len() > 255 || !vin.is_ascii() {
            return Err(ProtocolError::InvalidVin {
                vin: vin.to_string(),
            });
        }
        Ok(Signer {
            key,
            vin: vin.to_string(),
            domain,
            session: None,
            seen_replies: VecDeque::new(),
        })
    }

    /// A signer with a session saved earlier by [`Signer::snapshot`]. Use it optimistically: if
    /// the vehicle rebooted meanwhile, the first reply carries fresh session info and the retry
    /// succeeds (spec §6.7).
    pub fn restore(key: Arc<KeyPair>, snapshot: &SessionSnapshot) -> Result<Signer, ProtocolError> {
        let mut signer = Signer::new(key, &snapshot.vin, snapshot.domain)?;
        let session = Session::restore(snapshot, &signer.key)?;
        if session.epoch().len() != 16 {
            return Err(ProtocolError::SnapshotMismatch {
                reason: "its epoch is not 16 bytes".into(),
            });
        }
        signer.session = Some(session);
        Ok(signer)
    }

    pub fn vin(&self) -> &str {
        &self.vin
    }

    pub fn domain(&self) -> Domain {
        self.domain
    }

    pub fn has_session(&self) -> bool {
        self.session.is_some()
    }

    pub fn session(&self) -> Option<&Session> {
        self.session.as_ref()
    }

    /// Drops the session, e.g. after repeated `TIME_EXPIRED` (a wrong clock offset).
    pub fn forget_session(&mut self) {
        self.session = None;
    }

    /// What to persist; `None` without a session (then delete the stored one).
    pub fn snapshot(&self) -> Option<SessionSnapshot> {
        self.session
            .as_ref()
            .map(|s| s.snapshot(&self.vin, &self.key))
    }

    /// An unsigned request for the domain's session info (spec §6.1).
    pub fn handshake_request(&self, now: SystemTime) -> HandshakeRequest {
        self.handshake_request_with(MessageIds::random(), now)
    }

    pub fn handshake_request_with(&self, ids: MessageIds, now: SystemTime) -> HandshakeRequest {
        let msg = RoutableMessage {
            to_destination: Some(Destination::domain(self.domain)),
            from_destination: Some(Destination::routing_address(&ids.routing_address)),
            payload: Some(Payload::SessionInfoRequest(SessionInfoRequest {
                public_key: self.key.public_key().to_vec(),
                challenge: Vec::new(),
            })),
            uuid: ids.uuid.to_vec(),
            ..Default::default()
        };
        HandshakeRequest {
            bytes: msg.encode_to_vec(),
            domain: self.domain,
            uuid: ids.uuid,
            sent_at: now,
        }
    }

    /// Authenticates the handshake reply and establishes (or refreshes) the session.
    ///
    /// The vehicle's public key is trusted on first use; a later handshake may replace it (the
    /// domain was replaced or its key rotated), which is how a stale session recovers (§12.2).
    pub fn accept_handshake(
        &mut self,
        request: &HandshakeRequest,
        reply: &[u8],
        now: SystemTime,
    ) -> Result<(), ProtocolError> {
        let msg = self.decode_reply(reply, &request.uuid)?;
        if let Some(status) = &msg.signed_message_status {
            let fault = MessageFault::from_wire(status.signed_message_fault);
            if fault == MessageFault::UnknownKeyId {
                return Err(ProtocolError::KeyNotPaired {
                    domain: self.domain,
                });
            }
            if fault != MessageFault::None {
                return Err(ProtocolError::Fault {
                    domain: self.domain,
                    fault,
                    session_refreshed: false,
                });
            }
        }
        let Some(Payload::SessionInfo(info_bytes)) = &msg.payload else {
            return Err(self.bad_reply("the handshake reply carries no session info"));
        };
        let result = self
            .authenticate_session_info(&request.uuid, request.sent_at, &msg, info_bytes, now)
            .and_then(|(info, keys)| match &mut self.session {
                Some(s) if s.vehicle_public_key() == info.public_key.as_slice() => {
                    s.update(&info, now).map_err(InfoError::Rejected)
                }
                _ => {
                    self.session = Some(Session::establish(self.domain, keys, &info, now));
                    Ok(())
                }
            });
        result.map_err(|e| match e {
            InfoError::KeyNotPaired => ProtocolError::KeyNotPaired {
                domain: self.domain,
            },
            InfoError::Rejected(reason) => {
                self.session = None;
                ProtocolError::SessionInfoRejected {
                    domain: self.domain,
                    reason,
                }
            }
        })
    }

    /// Signs `payload` (an encoded `VCSEC.UnsignedMessage` or `CarServer.Action`) with fresh
    /// random ids. Persist [`Signer::snapshot`] before sending: the counter moved.
    pub fn sign(
        &mut self,
        payload: &[u8],
        options: SignOptions,
        now: SystemTime,
    ) -> Result<SignedRequest, ProtocolError> {
        self.sign_with(payload, options, MessageIds::random(), now)
    }

    /// [`Signer::sign`] with caller-chosen ids (byte-exact tests, benchmarks).
    pub fn sign_with(
        &mut self,
        payload: &[u8],
        options: SignOptions,
        ids: MessageIds,
        now: SystemTime,
    ) -> Result<SignedRequest, ProtocolError> {
        let domain = self.domain;
        let session = self
            .session
            .as_mut()
            .ok_or(ProtocolError::NoSession { domain })?;
        let Some(counter) = session.next_counter() else {
            self.session = None;
            return Err(ProtocolError::CounterExhausted { domain });
        };
        let expires_at = session.expires_at(now, options.ttl);
        let flags = if options.encrypt_response {
            FLAG_ENCRYPT_RESPONSE
        } else {
            0
        };
        let meta = CommandMetadata {
            signature_type: SignatureType::HmacPersonalized,
            domain,
            vin: &self.vin,
            epoch: session.epoch(),
            expires_at,
            counter,
            flags,
        }
        .encode()
        .expect("VIN and epoch lengths are validated when the signer and session are created");
        let tag = crypto::hmac_sha256(&session.keys().cmd, &[&meta, payload]);

        let msg = RoutableMessage {
            to_destination: Some(Destination::domain(domain)),
            from_destination: Some(Destination::routing_address(&ids.routing_address)),
            payload: Some(Payload::ProtobufMessageAsBytes(payload.to_vec())),
            sub_sig_data: Some(SubSigData::SignatureData(SignatureData {
                signer_identity: Some(KeyIdentity {
                    identity_type: Some(IdentityType::PublicKey(self.key.public_key().to_vec())),
                }),
                sig_type: Some(SigType::HmacPersonalizedData(
                    HmacPersonalizedSignatureData {
                        epoch: session.epoch().to_vec(),
                        counter,
                        expires_at,
                        tag: tag.to_vec(),
                    },
                )),
            })),
            uuid: ids.uuid.to_vec(),
            flags,
            ..Default::default()
        };
        Ok(SignedRequest {
            bytes: msg.encode_to_vec(),
            domain,
            uuid: ids.uuid,
            request_hash: metadata::request_hash(domain, SignatureType::HmacPersonalized, &tag),
            counter,
            expires_at,
            flags,
            sent_at: now,
        })
    }

    /// Verifies, decrypts and interprets the vehicle's reply to `request`.
    ///
    /// Piggy-backed session info is authenticated and applied first, so after a session fault
    /// (`needs_resync() == false`) simply signing again succeeds. `Ok` means the vehicle accepted
    /// and executed the command.
    pub fn open_reply(
        &mut self,
        request: &SignedRequest,
        reply: &[u8],
        now: SystemTime,
    ) -> Result<Reply, ProtocolError> {
        let domain = self.domain;
        let msg = self.decode_reply(reply, &request.uuid)?;
        // The AES key does not change when session info is applied (same vehicle key), but the
        // session may be dropped below; keep the key for decryption.
        let aes_key = self.session.as_ref().map(|s| s.keys().aes);

        let mut session_refreshed = false;
        let mut info_problem = None;
        if let Some(Payload::SessionInfo(info_bytes)) = &msg.payload {
            let applied = self
                .authenticate_session_info(&request.uuid, request.sent_at, &msg, info_bytes, now)
                .and_then(|(info, _)| match &mut self.session {
                    Some(s) => s.update(&info, now).map_err(InfoError::Rejected),
                    None => Err(InfoError::Rejected("there is no session to update".into())),
                });
            match applied {
                Ok(()) => session_refreshed = true,
                Err(InfoError::KeyNotPaired) => return Err(ProtocolError::KeyNotPaired { domain }),
                Err(InfoError::Rejected(reason)) => {
                    self.session = None;
                    info_problem = Some(reason);
                }
            }
        }

        let status = msg.signed_message_status.unwrap_or_default();
        let fault = MessageFault::from_wire(status.signed_message_fault);
        if fault == MessageFault::UnknownKeyId {
            return Err(ProtocolError::KeyNotPaired { domain });
        }
        if fault != MessageFault::None {
            if is_session_fault(fault) && !session_refreshed {
                self.session = None;
            }
            return Err(ProtocolError::Fault {
                domain,
                fault,
                session_refreshed,
            });
        }
        if let Some(reason) = info_problem {
            // The command itself went through; only the attached session info was bad. Keep the
            // result, but the session is gone so the next command handshakes again.
            tracing::warn!(vin = %self.vin, %domain, %reason, "dropped session after bad session info");
        }
        match OperationStatus::try_from(status.operation_status) {
            Ok(OperationStatus::Wait) => return Err(ProtocolError::Busy { domain }),
            Ok(OperationStatus::Error) => {
                return Err(ProtocolError::Fault {
                    domain,
                    fault: MessageFault::None,
                    session_refreshed,
                })
            }
            _ => {}
        }

        let sig_type = msg.signature_data().and_then(|s| s.sig_type.as_ref());
        let payload = match &msg.payload {
            Some(Payload::ProtobufMessageAsBytes(p)) => p.clone(),
            _ => Vec::new(),
        };
        let (payload, encrypted) = match sig_type {
            Some(SigType::AesGcmResponseData(data)) => {
                let not_authentic = ProtocolError::ReplyNotAuthentic { domain };
                let Some(aes_key) = aes_key else {
                    return Err(not_authentic);
                };
                let replay_key = (request.request_hash.clone(), data.counter);
                if self.seen_replies.contains(&replay_key) {
                    return Err(not_authentic);
                }
                let meta = ResponseMetadata {
                    domain,
                    vin: &self.vin,
                    counter: data.counter,
                    flags: msg.flags,
                    request_hash: &request.request_hash,
                    fault: status.signed_message_fault as u32,
                }
                .encode()
                .expect("VIN and request hash lengths are bounded");
                let aad = crypto::sha256(&meta);
                let plain = crypto::aes_gcm_open(&aes_key, &data.nonce, &aad, &payload, &data.tag)
                    .ok_or(not_authentic)?;
                if self.seen_replies.len() == SEEN_REPLIES {
                    self.seen_replies.pop_front();
                }
                self.seen_replies.push_back(replay_key);
                (plain, true)
            }
            // Firmware older than 2024.38 ignores FLAG_ENCRYPT_RESPONSE and answers in plaintext;
            // accepting that is what both reference clients do.
            _ => (payload, false),
        };
        interpret_payload(domain, &payload)?;
        Ok(Reply {
            payload,
            encrypted,
            session_refreshed,
        })
    }

    fn bad_reply(&self, detail: impl Into<String>) -> ProtocolError {
        ProtocolError::BadReply {
            domain: self.domain,
            detail: detail.into(),
        }
    }

    /// Decodes a reply and checks it answers `uuid` from our domain (spec §7).
    fn decode_reply(
        &self,
        reply: &[u8],
        uuid: &[u8; 16],
    ) -> Result<RoutableMessage, ProtocolError> {
        let msg = RoutableMessage::decode(reply)
            .map_err(|e| self.bad_reply(format!("not a RoutableMessage: {e}")))?;
        if let Some(from) = msg
            .from_destination
            .as_ref()
            .and_then(Destination::as_domain)
        {
            if from != self.domain as i32 {
                return Err(self.bad_reply(format!("it came from domain {from}")));
            }
        }
        if !msg.request_uuid.is_empty() && msg.request_uuid != uuid {
            return Err(self.bad_reply("it answers a different request"));
        }
        Ok(msg)
    }

    /// Checks a session-info tag (spec §6.2). Returns the info and the keys derived for its
    /// vehicle public key; the error is the reason to report.
    fn authenticate_session_info(
        &self,
        challenge: &[u8; 16],
        sent_at: SystemTime,
        msg: &RoutableMessage,
        info_bytes: &[u8],
        now: SystemTime,
    ) -> Result<(SessionInfo, SessionKeys), InfoError> {
        let info = SessionInfo::decode(info_bytes)
            .map_err(|e| rejected(format!("session info does not decode: {e}")))?;
        if info.status == SessionInfoStatus::KeyNotOnWhitelist as i32 {
            // Terminal and changes no state, so it is honoured even without a valid tag (such
            // replies may come without the vehicle's key).
            return Err(InfoError::KeyNotPaired);
        }
        if now
            .duration_since(sent_at)
            .is_ok_and(|elapsed| elapsed > MAX_LATENCY)
        {
            return Err(rejected(format!(
                "it arrived more than {} s after the request",
                MAX_LATENCY.as_secs()
            )));
        }
        let Some(SigType::SessionInfoTag(tag)) =
            msg.signature_data().and_then(|s| s.sig_type.as_ref())
        else {
            return Err(rejected("it carries no session-info tag"));
        };
        if info.epoch.len() != 16 {
            return Err(rejected(format!(
                "its epoch is {} bytes, not 16",
                info.epoch.len()
            )));
        }
        let keys =
            match &self.session {
                Some(s) if s.vehicle_public_key() == info.public_key.as_slice() => s.keys().clone(),
                _ => SessionKeys::derive(self.key.shared_key(&info.public_key).map_err(|_| {
                    rejected("the vehicle's public key is not a valid P-256 point")
                })?),
            };
        let meta = metadata::session_info(&self.vin, challenge)
            .expect("VIN length is validated when the signer is created");
        if !crypto::hmac_sha256_verify(&keys.info, &[&meta, info_bytes], &tag.tag) {
            return Err(rejected(
                "its tag does not verify (a different vehicle key, VIN or request, or a forged reply)",
            ));
        }
        Ok((info, keys))
    }
}

/// Why session info was not applied.
enum InfoError {
    /// `SESSION_INFO_STATUS_KEY_NOT_ON_WHITELIST`: terminal, reported as such.
    KeyNotPaired,
    /// Not authentic, stale or inconsistent: the session is dropped; the reason is reported.
    Rejected(String),
}

fn rejected(reason: impl Into<String>) -> InfoError {
    InfoError::Rejected(reason.into())
}

/// Reads the application-level result out of a reply payload (spec §2.3, §2.4).
fn interpret_payload(domain: Domain, payload: &[u8]) -> Result<(), ProtocolError> {
    let bad = |e: prost::DecodeError| ProtocolError::BadReply {
        domain,
        detail: format!("the reply payload does not decode: {e}"),
    };
    match domain {
        Domain::VehicleSecurity => {
            let msg = FromVcsecMessage::decode(payload).map_err(bad)?;
            match msg.sub_message {
                Some(FromVcsecSubMessage::CommandStatus(status)) => {
                    match VcsecOperationStatus::try_from(status.operation_status) {
                        Ok(VcsecOperationStatus::Wait) => Err(ProtocolError::Busy { domain }),
                        Ok(VcsecOperationStatus::Error) => Err(match status.sub_message {
                            Some(CommandStatusSubMessage::SignedMessageStatus(s))
                                if s.signed_message_information == VCSEC_FAULT_NOT_ON_WHITELIST =>
                            {
                                ProtocolError::KeyNotPaired { domain }
                            }
                            Some(CommandStatusSubMessage::SignedMessageStatus(s)) => {
                                ProtocolError::Refused {
                                    domain,
                                    reason: format!(
                                        "signed message error {}",
                                        s.signed_message_information
                                    ),
                                }
                            }
                            Some(CommandStatusSubMessage::WhitelistOperationStatus(s)) => {
                                ProtocolError::Refused {
                                    domain,
                                    reason: format!(
                                        "key management error {}",
                                        s.whitelist_operation_information
                                    ),
                                }
                            }
                            None => ProtocolError::Refused {
                                domain,
                                reason: "error".into(),
                            },
                        }),
                        _ => Ok(()),
                    }
                }
                Some(FromVcsecSubMessage::NominalError(e)) => Err(ProtocolError::Refused {
                    domain,
                    reason: GenericError::try_from(e.generic_error)
                        .unwrap_or(GenericError::Unknown)
                        .reason()
                        .to_string(),
                }),
                _ => Ok(()),
            }
        }
        _ => {
            let msg = Response::decode(payload).map_err(bad)?;
            match msg.action_status {
                Some(status) if status.result == CarServerResult::Error as i32 => {
                    let reason = match status.result_reason.and_then(|r| r.reason) {
                        Some(ResultReasonKind::PlainText(t)) if !t.is_empty() => t,
                        _ => "error".to_string(),
                    };
                    Err(ProtocolError::Refused { domain, reason })
                }
                _ => Ok(()),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tesla::command::crypto::tests::{client, vehicle, CLIENT_PUBLIC, VEHICLE_PUBLIC};
    use crate::tesla::command::messages::{
        AesGcmResponseSignatureData, CommandStatus, HmacSignatureData, MessageStatus,
    };
    use std::time::UNIX_EPOCH;

    const VIN: &str = "5YJ30123456789ABC";
    const ROUTING: &str = "2c907bd76c640d360b3027dc7404efde";
    const HANDSHAKE_UUID: &str = "1588d5a30eabc6f8fc9a951b11f6fd11";
    const COMMAND_UUID: &str = "58406580528b6a5301391800b4fe9b99";
    const SESSION_INFO: &str = "0806124104c7a1f47138486aa4729971494878d33b1a24e39571f748a6e16c5955b3d877d3a6aaa0e955166474af5d32c410f439a2234137ad1bb085fd4e8813c958f11d971a104c463f9cc0d3d26906e982ed224adde6255a0a0000";
    const SESSION_INFO_TAG: &str =
        "996c1fe38331be138f8039c194b14db2198846ed7d8251e6749284d7b32ea002";

    fn ids(uuid: &str) -> MessageIds {
        MessageIds {
            uuid: hex::decode(uuid).unwrap().try_into().unwrap(),
            routing_address: hex::decode(ROUTING).unwrap().try_into().unwrap(),
        }
    }

    fn t0() -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_700_000_000)
    }

    fn handshake_reply(info: &[u8], tag: &[u8], request_uuid: &[u8], domain: Domain) -> Vec<u8> {
        RoutableMessage {
            to_destination: Some(Destination::routing_address(&hex::decode(ROUTING).unwrap())),
            from_destination: Some(Destination::domain(domain)),
            payload: Some(Payload::SessionInfo(info.to_vec())),
            sub_sig_data: Some(SubSigData::SignatureData(SignatureData {
                signer_identity: None,
                sig_type: Some(SigType::SessionInfoTag(HmacSignatureData {
                    tag: tag.to_vec(),
                })),
            })),
            request_uuid: request_uuid.to_vec(),
            ..Default::default()
        }
        .encode_to_vec()
    }

    /// The protocol.md handshake (spec §8.3), for either domain. The reply is the published one
    /// (the tag does not cover the domain, so it authenticates for VCSEC too).
    fn signer_after_handshake(domain: Domain) -> Signer {
        let mut signer = Signer::new(Arc::new(client()), VIN, domain).unwrap();
        let req = signer.handshake_request_with(ids(HANDSHAKE_UUID), t0());
        let reply = handshake_reply(
            &hex::decode(SESSION_INFO).unwrap(),
            &hex::decode(SESSION_INFO_TAG).unwrap(),
            &[],
            domain,
        );
        signer.accept_handshake(&req, &reply, t0()).unwrap();
        signer
    }

    #[test]
    fn handshake_request_matches_spec_8_3() {
        let signer = Signer::new(Arc::new(client()), VIN, Domain::Infotainment).unwrap();
        let req = signer.handshake_request_with(ids(HANDSHAKE_UUID), t0());
        assert_eq!(
            hex::encode(req.bytes()),
            format!("320208033a121210{ROUTING}72430a41{CLIENT_PUBLIC}9a0310{HANDSHAKE_UUID}")
        );
    }

    #[test]
    fn handshake_reply_is_authenticated_and_establishes_the_session() {
        let signer = signer_after_handshake(Domain::Infotainment);
        let s = signer.session().unwrap();
        assert_eq!(hex::encode(s.vehicle_public_key()), VEHICLE_PUBLIC);
        assert_eq!(hex::encode(s.epoch()), "4c463f9cc0d3d26906e982ed224adde6");
        assert_eq!(s.counter(), 6);
        assert_eq!(s.vehicle_time(t0()), 2650);
        // The tag is exactly the published one.
        let keys = SessionKeys::derive(client().shared_key(&vehicle().public_key()[..]).unwrap());
        let meta = metadata::session_info(VIN, &hex::decode(HANDSHAKE_UUID).unwrap()).unwrap();
        let tag = crypto::hmac_sha256(&keys.info, &[&meta, &hex::decode(SESSION_INFO).unwrap()]);
        assert_eq!(hex::encode(tag), SESSION_INFO_TAG);
    }

    #[test]
    fn handshake_reply_with_a_wrong_tag_or_challenge_is_rejected() {
        let mut signer = Signer::new(Arc::new(client()), VIN, Domain::Infotainment).unwrap();
        let info = hex::decode(SESSION_INFO).unwrap();
        let tag = hex::decode(SESSION_INFO_TAG).unwrap();
        // Another request's uuid as the challenge: a replayed reply.
        let req = signer.handshake_request_with(ids(COMMAND_UUID), t0());
        let err = signer
            .accept_handshake(
                &req,
                &handshake_reply(&info, &tag, &[], Domain::Infotainment),
                t0(),
            )
            .unwrap_err();
        assert!(
            matches!(err, ProtocolError::SessionInfoRejected { .. }),
            "{err}"
        );
        assert!(err.needs_resync() && !signer.has_session());
        // request_uuid naming another request.
        let req = signer.handshake_request_with(ids(HANDSHAKE_UUID), t0());
        let reply = handshake_reply(&info, &tag, &[9; 16], Domain::Infotainment);
        assert!(matches!(
            signer.accept_handshake(&req, &reply, t0()).unwrap_err(),
            ProtocolError::BadReply { .. }
        ));
        // From the wrong domain.
        let reply = handshake_reply(&info, &tag, &[], Domain::VehicleSecurity);
        assert!(signer.accept_handshake(&req, &reply, t0()).is_err());
        // Too late.
        let reply = handshake_reply(&info, &tag, &[], Domain::Infotainment);
        let late = t0() + MAX_LATENCY + Duration::from_secs(1);
        let err = signer.accept_handshake(&req, &reply, late).unwrap_err();
        assert!(err.to_string().contains("after the request"), "{err}");
        // Garbage.
        assert!(matches!(
            signer
                .accept_handshake(&req, b"\xff\xff", t0())
                .unwrap_err(),
            ProtocolError::BadReply { .. }
        ));
        signer.accept_handshake(&req, &reply, t0()).unwrap();
    }

    #[test]
    fn key_not_on_whitelist_is_key_not_paired() {
        let mut signer = Signer::new(Arc::new(client()), VIN, Domain::Infotainment).unwrap();
        let req = signer.handshake_request_with(ids(HANDSHAKE_UUID), t0());
        let info = SessionInfo {
            status: SessionInfoStatus::KeyNotOnWhitelist as i32,
            ..Default::default()
        }
        .encode_to_vec();
        let err = signer
            .accept_handshake(
                &req,
                &handshake_reply(&info, &[], &[], Domain::Infotainment),
                t0(),
            )
            .unwrap_err();
        assert!(err.is_key_not_paired(), "{err}");
        let reply = RoutableMessage {
            signed_message_status: Some(MessageStatus {
                operation_status: OperationStatus::Error as i32,
                signed_message_fault: MessageFault::UnknownKeyId as i32,
            }),
            ..Default::default()
        };
        let err = signer
            .accept_handshake(&req, &reply.encode_to_vec(), t0())
            .unwrap_err();
        assert!(err.is_key_not_paired(), "{err}");
    }

    /// Spec §8.5: (domain, ttl, encrypt) → metadata, tag, request hash.
    #[test]
    fn hmac_commands_match_spec_8_5() {
        let epoch = "4c463f9cc0d3d26906e982ed224adde6";
        let cases = [
            (
                "A",
                Domain::Infotainment,
                "120452020801",
                5,
                false,
                "6d75c4e7c5e144996e22f1bdf694e453c94774a636e4382053cb8e358bf25ea8",
                "086d75c4e7c5e144996e22f1bdf694e453c94774a636e4382053cb8e358bf25ea8",
            ),
            (
                "B",
                Domain::Infotainment,
                "120452020801",
                5,
                true,
                "f3c24554a00e42160e6acef6dd4f1c8ef9c30ed6391ec818d75663bee00a47f0",
                "08f3c24554a00e42160e6acef6dd4f1c8ef9c30ed6391ec818d75663bee00a47f0",
            ),
            (
                "C",
                Domain::Infotainment,
                "120452020801",
                10,
                false,
                "948ecc36a77deb932bd184c663bafe076a6c13e205e4fd8a16f0118496071eaf",
                "",
            ),
            (
                "D",
                Domain::VehicleSecurity,
                "1001",
                5,
                false,
                "0df5c37a3ff8adc1aac9d0cc081b7e88015f17b899965481cf8a9d425d716b9e",
                "080df5c37a3ff8adc1aac9d0cc081b7e88",
            ),
            (
                "E",
                Domain::VehicleSecurity,
                "1001",
                5,
                true,
                "973e5c92ebf2aef03be284a58d991df9ffdefd62b4fd3695084b4568d027ba29",
                "08973e5c92ebf2aef03be284a58d991df9",
            ),
            (
                "F",
                Domain::VehicleSecurity,
                "1001",
                10,
                false,
                "514c7416b8fb93b98efd13ae2a13d4de7b924fa1f380a14d20c2a66b0604f0ed",
                "",
            ),
        ];
        let keys = SessionKeys::derive(client().shared_key(&vehicle().public_key()[..]).unwrap());
        for (name, domain, payload, ttl, encrypt, tag, hash) in cases {
            let mut signer = signer_after_handshake(domain);
            let options = SignOptions {
                ttl: Duration::from_secs(ttl),
                encrypt_response: encrypt,
            };
            let payload = hex::decode(payload).unwrap();
            let req = signer
                .sign_with(&payload, options, ids(COMMAND_UUID), t0())
                .unwrap();
            assert_eq!(req.counter(), 7, "case {name}");
            assert_eq!(req.expires_at(), 2650 + ttl as u32, "case {name}");
            let mut meta = format!(
                "00010801010{}021135594a333031323334353637383941424303104c463f9cc0d3d26906e982ed224adde60404{:08x}050400000007",
                domain as i32,
                2650 + ttl
            );
            if encrypt {
                meta.push_str("070400000002");
            }
            meta.push_str("ff");
            let built = CommandMetadata {
                signature_type: SignatureType::HmacPersonalized,
                domain,
                vin: VIN,
                epoch: &hex::decode(epoch).unwrap(),
                expires_at: req.expires_at(),
                counter: 7,
                flags: req.flags(),
            }
            .encode()
            .unwrap();
            assert_eq!(hex::encode(&built), meta, "metadata, case {name}");
            assert_eq!(
                hex::encode(crypto::hmac_sha256(&keys.cmd, &[&built, &payload])),
                tag,
                "tag, case {name}"
            );
            let msg = RoutableMessage::decode(req.bytes()).unwrap();
            match msg.signature_data().unwrap().sig_type.as_ref().unwrap() {
                SigType::HmacPersonalizedData(d) => assert_eq!(hex::encode(&d.tag), tag),
                other => panic!("case {name}: {other:?}"),
            }
            if !hash.is_empty() {
                assert_eq!(hex::encode(req.request_hash()), hash, "case {name}");
            }
        }
    }

    #[test]
    fn full_messages_match_spec_8_5_cases_c_and_f() {
        let opts = SignOptions {
            ttl: Duration::from_secs(10),
            encrypt_response: false,
        };
        let mut signer = signer_after_handshake(Domain::Infotainment);
        let req = signer
            .sign_with(
                &hex::decode("120452020801").unwrap(),
                opts,
                ids(COMMAND_UUID),
                t0(),
            )
            .unwrap();
        assert_eq!(hex::encode(req.bytes()), "320208033a1212102c907bd76c640d360b3027dc7404efde52061204520208016a82010a430a4104b2b6bc68c2da0665ce656815594996c62394edd8bea905fe781a754fe6a845a714330902f225e9269d466e05b349981fda9d85cc23c6fb444aa73b629105dc6e423b0a104c463f9cc0d3d26906e982ed224adde610071d640a00002220948ecc36a77deb932bd184c663bafe076a6c13e205e4fd8a16f0118496071eaf9a031058406580528b6a5301391800b4fe9b99");
        use base64::Engine;
        let body = serde_json::json!({
            "routable_message": base64::engine::general_purpose::STANDARD.encode(req.bytes())
        });
        assert_eq!(
            body.to_string(),
            r#"{"routable_message":"MgIIAzoSEhAskHvXbGQNNgswJ9x0BO/eUgYSBFICCAFqggEKQwpBBLK2vGjC2gZlzmVoFVlJlsYjlO3YvqkF/ngadU/mqEWnFDMJAvIl6SadRm4Fs0mYH9qdhcwjxvtESqc7YpEF3G5COwoQTEY/nMDT0mkG6YLtIkrd5hAHHWQKAAAiIJSOzDanfeuTK9GExmO6/gdqbBPiBeT9ihbwEYSWBx6vmgMQWEBlgFKLalMBORgAtP6bmQ=="}"#
        );

        let mut signer = signer_after_handshake(Domain::VehicleSecurity);
        let req = signer
            .sign_with(&hex::decode("1001").unwrap(), opts, ids(COMMAND_UUID), t0())
            .unwrap();
        assert_eq!(hex::encode(req.bytes()), "320208023a1212102c907bd76c640d360b3027dc7404efde520210016a82010a430a4104b2b6bc68c2da0665ce656815594996c62394edd8bea905fe781a754fe6a845a714330902f225e9269d466e05b349981fda9d85cc23c6fb444aa73b629105dc6e423b0a104c463f9cc0d3d26906e982ed224adde610071d640a00002220514c7416b8fb93b98efd13ae2a13d4de7b924fa1f380a14d20c2a66b0604f0ed9a031058406580528b6a5301391800b4fe9b99");
    }

    fn encrypted_reply(domain: Domain, ciphertext: &str, tag: &str) -> Vec<u8> {
        RoutableMessage {
            to_destination: Some(Destination::routing_address(&hex::decode(ROUTING).unwrap())),
            from_destination: Some(Destination::domain(domain)),
            payload: Some(Payload::ProtobufMessageAsBytes(
                hex::decode(ciphertext).unwrap(),
            )),
            sub_sig_data: Some(SubSigData::SignatureData(SignatureData {
                signer_identity: None,
                sig_type: Some(SigType::AesGcmResponseData(AesGcmResponseSignatureData {
                    nonce: hex::decode("000102030405060708090a0b").unwrap(),
                    counter: 1,
                    tag: hex::decode(tag).unwrap(),
                })),
            })),
            request_uuid: hex::decode(COMMAND_UUID).unwrap(),
            ..Default::default()
        }
        .encode_to_vec()
    }

    /// Spec §8.6: the signer decrypts both published encrypted replies.
    #[test]
    fn encrypted_replies_match_spec_8_6() {
        let opts = SignOptions {
            ttl: Duration::from_secs(5),
            encrypt_response: true,
        };
        // Infotainment reply to request B.
        let mut signer = signer_after_handshake(Domain::Infotainment);
        let req = signer
            .sign_with(
                &hex::decode("120452020801").unwrap(),
                opts,
                ids(COMMAND_UUID),
                t0(),
            )
            .unwrap();
        let reply = encrypted_reply(
            Domain::Infotainment,
            "135c",
            "a39e8f2159cd6ee89ddd8de1edcdd2ba",
        );
        let out = signer.open_reply(&req, &reply, t0()).unwrap();
        assert_eq!(hex::encode(&out.payload), "0a00");
        assert!(out.encrypted);
        // The same reply again is a replay.
        assert!(matches!(
            signer.open_reply(&req, &reply, t0()).unwrap_err(),
            ProtocolError::ReplyNotAuthentic { .. }
        ));
        // A flipped tag bit fails authentication, and says the command may have run.
        let forged = encrypted_reply(
            Domain::Infotainment,
            "135c",
            "a39e8f2159cd6ee89ddd8de1edcdd2bb",
        );
        let err = signer.open_reply(&req, &forged, t0()).unwrap_err();
        assert!(err.may_have_succeeded(), "{err}");

        // VCSEC reply to request E: empty plaintext.
        let mut signer = signer_after_handshake(Domain::VehicleSecurity);
        let req = signer
            .sign_with(&hex::decode("1001").unwrap(), opts, ids(COMMAND_UUID), t0())
            .unwrap();
        let reply = encrypted_reply(
            Domain::VehicleSecurity,
            "",
            "afd67b122c46ce2cbce61f48a74d3b3a",
        );
        let out = signer.open_reply(&req, &reply, t0()).unwrap();
        assert!(out.payload.is_empty() && out.encrypted);
    }

    #[test]
    fn response_metadata_and_ciphertext_match_spec_8_6() {
        let k = client().shared_key(&vehicle().public_key()[..]).unwrap();
        let nonce: [u8; 12] = hex::decode("000102030405060708090a0b")
            .unwrap()
            .try_into()
            .unwrap();
        let cases = [
            (Domain::Infotainment, "08f3c24554a00e42160e6acef6dd4f1c8ef9c30ed6391ec818d75663bee00a47f0", "0a00",
             "000109010103021135594a3330313233343536373839414243050400000001070400000000082108f3c24554a00e42160e6acef6dd4f1c8ef9c30ed6391ec818d75663bee00a47f0090400000000ff",
             "3ac5c913aa39e5e0895eeae0cbc3c1fc28970bee28732ed8e81be9d0cda37501", "135c", "a39e8f2159cd6ee89ddd8de1edcdd2ba"),
            (Domain::VehicleSecurity, "08973e5c92ebf2aef03be284a58d991df9", "",
             "000109010102021135594a3330313233343536373839414243050400000001070400000000081108973e5c92ebf2aef03be284a58d991df9090400000000ff",
             "8e4ca1ce467855c0a75ac817ea9ac2ae0a8ad074563b9ff04d7d66638e70b0be", "", "afd67b122c46ce2cbce61f48a74d3b3a"),
        ];
        for (domain, hash, plain, meta_hex, aad_hex, ct, tag) in cases {
            let hash = hex::decode(hash).unwrap();
            let meta = ResponseMetadata {
                domain,
                vin: VIN,
                counter: 1,
                flags: 0,
                request_hash: &hash,
                fault: 0,
            }
            .encode()
            .unwrap();
            assert_eq!(hex::encode(&meta), meta_hex);
            let aad = crypto::sha256(&meta);
            assert_eq!(hex::encode(aad), aad_hex);
            let (c, t) = crypto::aes_gcm_seal(&k, &nonce, &aad, &hex::decode(plain).unwrap());
            assert_eq!(
                (hex::encode(c), hex::encode(t)),
                (ct.to_string(), tag.to_string())
            );
        }
    }

    /// Spec §8.4, the BLE-only AES-GCM command: same metadata layout, signature type 5.
    #[test]
    fn aes_gcm_command_matches_spec_8_4() {
        let meta = CommandMetadata {
            signature_type: SignatureType::AesGcmPersonalized,
            domain: Domain::Infotainment,
            vin: VIN,
            epoch: &hex::decode("4c463f9cc0d3d26906e982ed224adde6").unwrap(),
            expires_at: 2655,
            counter: 7,
            flags: 0,
        }
        .encode()
        .unwrap();
        assert_eq!(hex::encode(&meta), "000105010103021135594a333031323334353637383941424303104c463f9cc0d3d26906e982ed224adde6040400000a5f050400000007ff");
        let aad = crypto::sha256(&meta);
        assert_eq!(
            hex::encode(aad),
            "c33b227adc93c60b7a5738237e678e6996987ab316b4a5fff737cf86cb07764f"
        );
        let k = client().shared_key(&vehicle().public_key()[..]).unwrap();
        let nonce: [u8; 12] = hex::decode("dbf79447fa156674dae1caed")
            .unwrap()
            .try_into()
            .unwrap();
        let (ct, tag) =
            crypto::aes_gcm_seal(&k, &nonce, &aad, &hex::decode("120452020801").unwrap());
        assert_eq!(hex::encode(ct), "38038e8c0f2e");
        assert_eq!(hex::encode(tag), "8e128da165f162f4d7d2c8da866cf82a");
    }

    fn plain_reply(domain: Domain, payload: Vec<u8>) -> Vec<u8> {
        RoutableMessage {
            from_destination: Some(Destination::domain(domain)),
            payload: Some(Payload::ProtobufMessageAsBytes(payload)),
            request_uuid: hex::decode(COMMAND_UUID).unwrap(),
            ..Default::default()
        }
        .encode_to_vec()
    }

    #[test]
    fn application_results_are_classified() {
        let opts = SignOptions {
            ttl: Duration::from_secs(5),
            encrypt_response: false,
        };
        let mut signer = signer_after_handshake(Domain::Infotainment);
        let req = signer
            .sign_with(b"", opts, ids(COMMAND_UUID), t0())
            .unwrap();
        let refused = Response {
            action_status: Some(crate::tesla::command::messages::ActionStatus {
                result: CarServerResult::Error as i32,
                result_reason: Some(crate::tesla::command::messages::ResultReason {
                    reason: Some(ResultReasonKind::PlainText("not_charging".into())),
                }),
            }),
            response_msg: None,
        };
        let err = signer
            .open_reply(
                &req,
                &plain_reply(Domain::Infotainment, refused.encode_to_vec()),
                t0(),
            )
            .unwrap_err();
        assert_eq!(
            err,
            ProtocolError::Refused {
                domain: Domain::Infotainment,
                reason: "not_charging".into()
            }
        );
        assert!(!err.is_temporary() && !err.may_have_succeeded());
        let ok = signer
            .open_reply(
                &req,
                &plain_reply(Domain::Infotainment, hex::decode("0a00").unwrap()),
                t0(),
            )
            .unwrap();
        assert!(!ok.encrypted);

        let mut signer = signer_after_handshake(Domain::VehicleSecurity);
        let req = signer
            .sign_with(b"\x10\x01", opts, ids(COMMAND_UUID), t0())
            .unwrap();
        let wait = FromVcsecMessage {
            sub_message: Some(FromVcsecSubMessage::CommandStatus(CommandStatus {
                operation_status: VcsecOperationStatus::Wait as i32,
                sub_message: None,
            })),
        };
        let err = signer
            .open_reply(
                &req,
                &plain_reply(Domain::VehicleSecurity, wait.encode_to_vec()),
                t0(),
            )
            .unwrap_err();
        assert!(matches!(err, ProtocolError::Busy { .. }) && err.is_temporary());
        let nominal = FromVcsecMessage {
            sub_message: Some(FromVcsecSubMessage::NominalError(
                crate::tesla::command::messages::NominalError {
                    generic_error: GenericError::ClosuresOpen as i32,
                },
            )),
        };
        let err = signer
            .open_reply(
                &req,
                &plain_reply(Domain::VehicleSecurity, nominal.encode_to_vec()),
                t0(),
            )
            .unwrap_err();
        assert!(err.to_string().contains("closures_open"), "{err}");
        signer
            .open_reply(
                &req,
                &plain_reply(Domain::VehicleSecurity, Vec::new()),
                t0(),
            )
            .unwrap();
    }

    #[test]
    fn session_fault_without_session_info_drops_the_session() {
        let mut signer = signer_after_handshake(Domain::Infotainment);
        let req = signer.sign(b"", SignOptions::default(), t0()).unwrap();
        let reply = RoutableMessage {
            from_destination: Some(Destination::domain(Domain::Infotainment)),
            signed_message_status: Some(MessageStatus {
                operation_status: OperationStatus::Error as i32,
                signed_message_fault: MessageFault::InvalidSignature as i32,
            }),
            ..Default::default()
        };
        let err = signer
            .open_reply(&req, &reply.encode_to_vec(), t0())
            .unwrap_err();
        assert!(err.needs_resync() && err.is_temporary(), "{err}");
        assert!(!signer.has_session());
        assert_eq!(
            signer.sign(b"", SignOptions::default(), t0()).unwrap_err(),
            ProtocolError::NoSession {
                domain: Domain::Infotainment
            }
        );
        assert!(signer.snapshot().is_none());
    }

    #[test]
    fn invalid_vins_are_refused() {
        for vin in ["", "ü", &"X".repeat(256)] {
            let err = Signer::new(Arc::new(client()), vin, Domain::Infotainment).unwrap_err();
            assert!(err.to_string().contains("17"), "{err}");
        }
    }
}
