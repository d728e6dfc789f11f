//! `tesla::command::messages`: the protobuf messages of Tesla's vehicle command protocol, written by
//! hand with `prost` derives (no `build.rs`, no `protoc`).
//!
//! Owns the wire shapes only: field numbers and types as Tesla's `.proto` files define them
//! (`universal_message`, `signatures`, `vcsec`, `car_server`, `errors`). It holds no logic beyond
//! small helpers for building messages. Only the subset this crate sends or reads is modelled;
//! unknown fields in replies are skipped by prost, so a newer car does not break decoding.
//!
//! Wire rules that matter for signing (spec §2.6):
//! - oneof members are modelled as Rust enums so that zero values (`RKE_ACTION_UNLOCK = 0`, empty
//!   `Void`s) are still encoded;
//! - prost emits fields in ascending tag order (a oneof sits at its lowest tag), which is what the
//!   byte-exact vectors assume;
//! - `fixed32` fields (`expires_at`, `clock_time`) are little-endian on the wire but big-endian in
//!   the metadata TLV.

#![allow(clippy::enum_variant_names)]

/// Which ECU a message is for. Each domain has its own key pair, session and clock.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    prost::Enumeration,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
#[repr(i32)]
pub enum Domain {
    Broadcast = 0,
    /// VCSEC, the body controller: locks, closures, key management.
    VehicleSecurity = 2,
    /// The infotainment computer ("CarServer"): charging, climate, media, everything else.
    Infotainment = 3,
}

impl Domain {
    /// A short lower-case name for logs and error messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Domain::Broadcast => "broadcast",
            Domain::VehicleSecurity => "vcsec",
            Domain::Infotainment => "infotainment",
        }
    }

    /// The domain with this wire number, if it is one a command can be addressed to.
    pub fn from_wire(v: i32) -> Option<Domain> {
        match Domain::try_from(v) {
            Ok(Domain::Broadcast) | Err(_) => None,
            Ok(d) => Some(d),
        }
    }
}

impl std::fmt::Display for Domain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

// ---------------------------------------------------------------------------------------------
// universal_message.proto
// ---------------------------------------------------------------------------------------------

#[derive(Clone, PartialEq, prost::Message)]
pub struct Destination {
    #[prost(oneof = "SubDestination", tags = "1, 2")]
    pub sub_destination: Option<SubDestination>,
}

#[derive(Clone, PartialEq, prost::Oneof)]
pub enum SubDestination {
    #[prost(enumeration = "Domain", tag = "1")]
    Domain(i32),
    #[prost(bytes, tag = "2")]
    RoutingAddress(Vec<u8>),
}

impl Destination {
    pub fn domain(d: Domain) -> Self {
        Destination {
            sub_destination: Some(SubDestination::Domain(d as i32)),
        }
    }

    pub fn routing_address(a: &[u8]) -> Self {
        Destination {
            sub_destination: Some(SubDestination::RoutingAddress(a.to_vec())),
        }
    }

    /// The domain this destination names, if it names one.
    pub fn as_domain(&self) -> Option<i32> {
        match &self.sub_destination {
            Some(SubDestination::Domain(d)) => Some(*d),
            _ => None,
        }
    }

    pub fn as_routing_address(&self) -> Option<&[u8]> {
        match &self.sub_destination {
            Some(SubDestination::RoutingAddress(a)) => Some(a),
            _ => None,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum OperationStatus {
    Ok = 0,
    Wait = 1,
    Error = 2,
}

/// Protocol-level faults (`MessageFault_E`). The remedies live in [`MessageFault::remedy`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum MessageFault {
    None = 0,
    Busy = 1,
    Timeout = 2,
    UnknownKeyId = 3,
    InactiveKey = 4,
    InvalidSignature = 5,
    InvalidTokenOrCounter = 6,
    InsufficientPrivileges = 7,
    InvalidDomains = 8,
    InvalidCommand = 9,
    Decoding = 10,
    Internal = 11,
    WrongPersonalization = 12,
    BadParameter = 13,
    KeychainIsFull = 14,
    IncorrectEpoch = 15,
    IvIncorrectLength = 16,
    TimeExpired = 17,
    NotProvisionedWithIdentity = 18,
    CouldNotHashMetadata = 19,
    TimeToLiveTooLong = 20,
    RemoteAccessDisabled = 21,
    RemoteServiceAccessDisabled = 22,
    CommandRequiresAccountCredentials = 23,
    RequestMtuExceeded = 24,
    ResponseMtuExceeded = 25,
    RepeatedCounter = 26,
    InvalidKeyHandle = 27,
    RequiresResponseEncryption = 28,
}

impl MessageFault {
    /// Maps a wire value to a fault; values this crate does not know are reported as `Internal`
    /// so that they are retried rather than silently treated as success.
    pub fn from_wire(v: i32) -> MessageFault {
        MessageFault::try_from(v).unwrap_or(MessageFault::Internal)
    }

    /// What the fault means, in words a user can act on.
    pub fn describe(self) -> &'static str {
        use MessageFault::*;
        match self {
            None => "an error without a fault code",
            Busy => "the vehicle subsystem is busy",
            Timeout => "the vehicle subsystem did not answer in time",
            UnknownKeyId => "the vehicle does not know this public key",
            InactiveKey => "this key is disabled on the vehicle",
            InvalidSignature => "the vehicle rejected the command's signature",
            InvalidTokenOrCounter => {
                "the vehicle rejected the command counter (replayed or too old)"
            }
            InsufficientPrivileges => {
                "the key's role or the vehicle's state does not allow this command"
            }
            InvalidDomains => "the vehicle does not know the addressed domain",
            InvalidCommand => "the vehicle does not know this command",
            Decoding => "the vehicle could not decode the message",
            Internal => "internal error in the vehicle (often: still booting)",
            WrongPersonalization => "the command was signed for a different VIN",
            BadParameter => "a parameter is malformed or deprecated",
            KeychainIsFull => "the vehicle's keychain is full",
            IncorrectEpoch => "the session belongs to an earlier boot of the vehicle",
            IvIncorrectLength => "the AES-GCM nonce has the wrong length",
            TimeExpired => "the command expired before the vehicle checked it",
            NotProvisionedWithIdentity => "the vehicle has no VIN provisioned",
            CouldNotHashMetadata => "the vehicle could not hash the command metadata",
            TimeToLiveTooLong => "the command's expiry is too far in the future",
            RemoteAccessDisabled => "the owner disabled mobile access in the vehicle",
            RemoteServiceAccessDisabled => "remote service access is not permitted",
            CommandRequiresAccountCredentials => "this command must be sent through the Fleet API",
            RequestMtuExceeded => "the request is too large",
            ResponseMtuExceeded => "the reply was too large to send (the command may have run)",
            RepeatedCounter => "the counter was already used",
            InvalidKeyHandle => "the key handle is invalid",
            RequiresResponseEncryption => {
                "the vehicle requires an encrypted reply for this command"
            }
        }
    }

    /// What the caller should do about it.
    pub fn remedy(self) -> &'static str {
        use MessageFault::*;
        match self {
            None => "the command may have run; check the car before retrying",
            Busy | Timeout | Internal => "retry in a second",
            UnknownKeyId => {
                "enroll the key: open https://tesla.com/_ak/<your app domain> in the Tesla app, \
                 and check that the configured private key matches the published public key"
            }
            InactiveKey | InsufficientPrivileges => {
                "check the key's role in the vehicle's Locks screen"
            }
            InvalidSignature
            | InvalidTokenOrCounter
            | IncorrectEpoch
            | TimeExpired
            | TimeToLiveTooLong
            | RepeatedCounter => "re-sign with the refreshed session and retry",
            RemoteAccessDisabled | RemoteServiceAccessDisabled => {
                "enable mobile access in the vehicle (Controls > Safety > Allow Mobile Access)"
            }
            WrongPersonalization => "check the VIN",
            RequiresResponseEncryption => "resend with response encryption enabled",
            ResponseMtuExceeded => "check the vehicle state before retrying",
            KeychainIsFull => "remove a key from the vehicle first",
            CommandRequiresAccountCredentials => "send it through the Fleet API",
            InvalidDomains | InvalidCommand | Decoding | BadParameter | IvIncorrectLength
            | CouldNotHashMetadata | RequestMtuExceeded | InvalidKeyHandle => {
                "this is a TeslaSync bug or the vehicle's firmware lacks the command; update \
                 the firmware or report it"
            }
            NotProvisionedWithIdentity => "the vehicle needs service",
        }
    }
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct MessageStatus {
    #[prost(enumeration = "OperationStatus", tag = "1")]
    pub operation_status: i32,
    #[prost(enumeration = "MessageFault", tag = "2")]
    pub signed_message_fault: i32,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct SessionInfoRequest {
    #[prost(bytes = "vec", tag = "1")]
    pub public_key: Vec<u8>,
    #[prost(bytes = "vec", tag = "2")]
    pub challenge: Vec<u8>,
}

/// `Flags` are bit positions; the `flags` field carries `1 << flag`.
pub const FLAG_USER_COMMAND: u32 = 1 << 0;
/// Ask the vehicle to encrypt its reply (firmware 2024.38+; older firmware ignores it).
pub const FLAG_ENCRYPT_RESPONSE: u32 = 1 << 1;

#[derive(Clone, PartialEq, prost::Message)]
pub struct RoutableMessage {
    #[prost(message, optional, tag = "6")]
    pub to_destination: Option<Destination>,
    #[prost(message, optional, tag = "7")]
    pub from_destination: Option<Destination>,
    #[prost(oneof = "Payload", tags = "10, 14, 15")]
    pub payload: Option<Payload>,
    #[prost(message, optional, tag = "12")]
    pub signed_message_status: Option<MessageStatus>,
    #[prost(oneof = "SubSigData", tags = "13")]
    pub sub_sig_data: Option<SubSigData>,
    #[prost(bytes = "vec", tag = "50")]
    pub request_uuid: Vec<u8>,
    #[prost(bytes = "vec", tag = "51")]
    pub uuid: Vec<u8>,
    #[prost(uint32, tag = "52")]
    pub flags: u32,
}

#[derive(Clone, PartialEq, prost::Oneof)]
pub enum Payload {
    /// The command (plaintext in HMAC mode) or the reply.
    #[prost(bytes, tag = "10")]
    ProtobufMessageAsBytes(Vec<u8>),
    #[prost(message, tag = "14")]
    SessionInfoRequest(SessionInfoRequest),
    /// An encoded [`SessionInfo`]; kept as bytes because the tag covers these exact bytes.
    #[prost(bytes, tag = "15")]
    SessionInfo(Vec<u8>),
}

#[derive(Clone, PartialEq, prost::Oneof)]
pub enum SubSigData {
    #[prost(message, tag = "13")]
    SignatureData(SignatureData),
}

impl RoutableMessage {
    pub fn signature_data(&self) -> Option<&SignatureData> {
        match &self.sub_sig_data {
            Some(SubSigData::SignatureData(s)) => Some(s),
            None => None,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// signatures.proto
// ---------------------------------------------------------------------------------------------

/// Metadata TLV tags (`Signatures.Tag`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum Tag {
    SignatureType = 0,
    Domain = 1,
    Personalization = 2,
    Epoch = 3,
    ExpiresAt = 4,
    Counter = 5,
    Challenge = 6,
    Flags = 7,
    RequestHash = 8,
    Fault = 9,
    End = 255,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum SignatureType {
    AesGcm = 0,
    AesGcmPersonalized = 5,
    /// Only for the session-info tag.
    Hmac = 6,
    /// The command signature over Fleet API.
    HmacPersonalized = 8,
    AesGcmResponse = 9,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct KeyIdentity {
    #[prost(oneof = "IdentityType", tags = "1, 3")]
    pub identity_type: Option<IdentityType>,
}

#[derive(Clone, PartialEq, prost::Oneof)]
pub enum IdentityType {
    /// 65-byte uncompressed P-256 point.
    #[prost(bytes, tag = "1")]
    PublicKey(Vec<u8>),
    #[prost(uint32, tag = "3")]
    Handle(u32),
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct AesGcmPersonalizedSignatureData {
    #[prost(bytes = "vec", tag = "1")]
    pub epoch: Vec<u8>,
    #[prost(bytes = "vec", tag = "2")]
    pub nonce: Vec<u8>,
    #[prost(uint32, tag = "3")]
    pub counter: u32,
    #[prost(fixed32, tag = "4")]
    pub expires_at: u32,
    #[prost(bytes = "vec", tag = "5")]
    pub tag: Vec<u8>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct AesGcmResponseSignatureData {
    #[prost(bytes = "vec", tag = "1")]
    pub nonce: Vec<u8>,
    #[prost(uint32, tag = "2")]
    pub counter: u32,
    #[prost(bytes = "vec", tag = "3")]
    pub tag: Vec<u8>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct HmacSignatureData {
    #[prost(bytes = "vec", tag = "1")]
    pub tag: Vec<u8>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct HmacPersonalizedSignatureData {
    #[prost(bytes = "vec", tag = "1")]
    pub epoch: Vec<u8>,
    #[prost(uint32, tag = "2")]
    pub counter: u32,
    #[prost(fixed32, tag = "3")]
    pub expires_at: u32,
    #[prost(bytes = "vec", tag = "4")]
    pub tag: Vec<u8>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct SignatureData {
    #[prost(message, optional, tag = "1")]
    pub signer_identity: Option<KeyIdentity>,
    #[prost(oneof = "SigType", tags = "5, 6, 8, 9")]
    pub sig_type: Option<SigType>,
}

#[derive(Clone, PartialEq, prost::Oneof)]
pub enum SigType {
    #[prost(message, tag = "5")]
    AesGcmPersonalizedData(AesGcmPersonalizedSignatureData),
    #[prost(message, tag = "6")]
    SessionInfoTag(HmacSignatureData),
    #[prost(message, tag = "8")]
    HmacPersonalizedData(HmacPersonalizedSignatureData),
    #[prost(message, tag = "9")]
    AesGcmResponseData(AesGcmResponseSignatureData),
}

impl SignatureData {
    /// The signer's public key, when identified by key rather than by handle.
    pub fn signer_public_key(&self) -> Option<&[u8]> {
        match self.signer_identity.as_ref()?.identity_type.as_ref()? {
            IdentityType::PublicKey(k) => Some(k),
            IdentityType::Handle(_) => None,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum SessionInfoStatus {
    Ok = 0,
    KeyNotOnWhitelist = 1,
}

/// A domain's session parameters as announced to one client key.
#[derive(Clone, PartialEq, prost::Message)]
pub struct SessionInfo {
    /// The last counter the vehicle accepted from this key in this epoch.
    #[prost(uint32, tag = "1")]
    pub counter: u32,
    /// The domain's 65-byte public key.
    #[prost(bytes = "vec", tag = "2")]
    pub public_key: Vec<u8>,
    #[prost(bytes = "vec", tag = "3")]
    pub epoch: Vec<u8>,
    /// Seconds since the epoch started, in the domain's clock.
    #[prost(fixed32, tag = "4")]
    pub clock_time: u32,
    #[prost(enumeration = "SessionInfoStatus", tag = "5")]
    pub status: i32,
    #[prost(uint32, tag = "6")]
    pub handle: u32,
}

// ---------------------------------------------------------------------------------------------
// vcsec.proto (payloads for Domain::VehicleSecurity)
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum RkeAction {
    Unlock = 0,
    Lock = 1,
    RemoteDrive = 20,
    AutoSecureVehicle = 29,
    WakeVehicle = 30,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum ClosureMoveType {
    None = 0,
    Move = 1,
    Stop = 2,
    Open = 3,
    Close = 4,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct ClosureMoveRequest {
    #[prost(enumeration = "ClosureMoveType", tag = "1")]
    pub front_driver_door: i32,
    #[prost(enumeration = "ClosureMoveType", tag = "2")]
    pub front_passenger_door: i32,
    #[prost(enumeration = "ClosureMoveType", tag = "3")]
    pub rear_driver_door: i32,
    #[prost(enumeration = "ClosureMoveType", tag = "4")]
    pub rear_passenger_door: i32,
    #[prost(enumeration = "ClosureMoveType", tag = "5")]
    pub rear_trunk: i32,
    #[prost(enumeration = "ClosureMoveType", tag = "6")]
    pub front_trunk: i32,
    #[prost(enumeration = "ClosureMoveType", tag = "7")]
    pub charge_port: i32,
    #[prost(enumeration = "ClosureMoveType", tag = "8")]
    pub tonneau: i32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum InformationRequestType {
    GetStatus = 0,
    GetWhitelistInfo = 5,
    GetWhitelistEntryInfo = 6,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct KeyIdentifier {
    #[prost(bytes = "vec", tag = "1")]
    pub public_key_sha1: Vec<u8>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct InformationRequest {
    #[prost(enumeration = "InformationRequestType", tag = "1")]
    pub information_request_type: i32,
    #[prost(oneof = "InformationRequestKey", tags = "2, 3, 4")]
    pub key: Option<InformationRequestKey>,
}

#[derive(Clone, PartialEq, prost::Oneof)]
pub enum InformationRequestKey {
    #[prost(message, tag = "2")]
    KeyId(KeyIdentifier),
    #[prost(bytes, tag = "3")]
    PublicKey(Vec<u8>),
    #[prost(uint32, tag = "4")]
    Slot(u32),
}

/// What a request to VCSEC carries in `protobuf_message_as_bytes`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct UnsignedMessage {
    #[prost(oneof = "UnsignedSubMessage", tags = "1, 2, 4")]
    pub sub_message: Option<UnsignedSubMessage>,
}

#[derive(Clone, PartialEq, prost::Oneof)]
pub enum UnsignedSubMessage {
    #[prost(message, tag = "1")]
    InformationRequest(InformationRequest),
    #[prost(enumeration = "RkeAction", tag = "2")]
    RkeAction(i32),
    #[prost(message, tag = "4")]
    ClosureMoveRequest(ClosureMoveRequest),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum VcsecOperationStatus {
    Ok = 0,
    Wait = 1,
    Error = 2,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct SignedMessageStatus {
    #[prost(uint32, tag = "1")]
    pub counter: u32,
    #[prost(int32, tag = "2")]
    pub signed_message_information: i32,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct WhitelistOperationStatus {
    #[prost(int32, tag = "1")]
    pub whitelist_operation_information: i32,
    #[prost(message, optional, tag = "2")]
    pub signer_of_operation: Option<KeyIdentifier>,
    #[prost(enumeration = "VcsecOperationStatus", tag = "3")]
    pub operation_status: i32,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct CommandStatus {
    #[prost(enumeration = "VcsecOperationStatus", tag = "1")]
    pub operation_status: i32,
    #[prost(oneof = "CommandStatusSubMessage", tags = "2, 3")]
    pub sub_message: Option<CommandStatusSubMessage>,
}

#[derive(Clone, PartialEq, prost::Oneof)]
pub enum CommandStatusSubMessage {
    #[prost(message, tag = "2")]
    SignedMessageStatus(SignedMessageStatus),
    #[prost(message, tag = "3")]
    WhitelistOperationStatus(WhitelistOperationStatus),
}

/// `Errors.GenericError_E`: why VCSEC refused a well-formed, authenticated command.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum GenericError {
    None = 0,
    Unknown = 1,
    ClosuresOpen = 2,
    AlreadyOn = 3,
    DisabledForUserCommand = 4,
    VehicleNotInPark = 5,
    Unauthorized = 6,
    NotAllowedOverTransport = 7,
}

impl GenericError {
    /// The reason string used in `{"result": false, "reason": …}` replies.
    pub fn reason(self) -> &'static str {
        match self {
            GenericError::None => "none",
            GenericError::Unknown => "unknown",
            GenericError::ClosuresOpen => "closures_open",
            GenericError::AlreadyOn => "already_on",
            GenericError::DisabledForUserCommand => "disabled_for_user_command",
            GenericError::VehicleNotInPark => "vehicle_not_in_park",
            GenericError::Unauthorized => "unauthorized",
            GenericError::NotAllowedOverTransport => "not_allowed_over_transport",
        }
    }

    /// The inverse of [`GenericError::reason`]; anything else is `Unknown`.
    pub fn from_reason(reason: &str) -> GenericError {
        use GenericError::*;
        [
            ClosuresOpen,
            AlreadyOn,
            DisabledForUserCommand,
            VehicleNotInPark,
            Unauthorized,
            NotAllowedOverTransport,
        ]
        .into_iter()
        .find(|e| e.reason() == reason)
        .unwrap_or(Unknown)
    }
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct NominalError {
    #[prost(enumeration = "GenericError", tag = "1")]
    pub generic_error: i32,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct ClosureStatuses {
    #[prost(int32, tag = "1")]
    pub front_driver_door: i32,
    #[prost(int32, tag = "2")]
    pub front_passenger_door: i32,
    #[prost(int32, tag = "3")]
    pub rear_driver_door: i32,
    #[prost(int32, tag = "4")]
    pub rear_passenger_door: i32,
    #[prost(int32, tag = "5")]
    pub rear_trunk: i32,
    #[prost(int32, tag = "6")]
    pub front_trunk: i32,
    #[prost(int32, tag = "7")]
    pub charge_port: i32,
    #[prost(int32, tag = "8")]
    pub tonneau: i32,
}

/// VCSEC's answer to `InformationRequest{GET_STATUS}`; works while infotainment sleeps.
#[derive(Clone, PartialEq, prost::Message)]
pub struct VehicleStatus {
    #[prost(message, optional, tag = "1")]
    pub closure_statuses: Option<ClosureStatuses>,
    /// `VehicleLockState_E`: 0 unlocked, 1 locked, 2 internal locked, 3 selective unlocked.
    #[prost(int32, tag = "2")]
    pub vehicle_lock_state: i32,
    /// `VehicleSleepStatus_E`: 0 unknown, 1 awake, 2 asleep.
    #[prost(int32, tag = "3")]
    pub vehicle_sleep_status: i32,
    /// `UserPresence_E`: 0 unknown, 1 not present, 2 present.
    #[prost(int32, tag = "4")]
    pub user_presence: i32,
}

/// What VCSEC answers with. An empty message means success.
#[derive(Clone, PartialEq, prost::Message)]
pub struct FromVcsecMessage {
    #[prost(oneof = "FromVcsecSubMessage", tags = "1, 4, 46")]
    pub sub_message: Option<FromVcsecSubMessage>,
}

#[derive(Clone, PartialEq, prost::Oneof)]
pub enum FromVcsecSubMessage {
    #[prost(message, tag = "1")]
    VehicleStatus(VehicleStatus),
    #[prost(message, tag = "4")]
    CommandStatus(CommandStatus),
    #[prost(message, tag = "46")]
    NominalError(NominalError),
}

// ---------------------------------------------------------------------------------------------
// car_server.proto (payloads for Domain::Infotainment)
// ---------------------------------------------------------------------------------------------

/// `CarServer.Void` (and the many empty request messages, which encode identically).
#[derive(Clone, Copy, PartialEq, prost::Message)]
pub struct Void {}

/// What a request to infotainment carries in `protobuf_message_as_bytes`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Action {
    #[prost(oneof = "ActionMsg", tags = "2")]
    pub action_msg: Option<ActionMsg>,
}

#[derive(Clone, PartialEq, prost::Oneof)]
pub enum ActionMsg {
    #[prost(message, tag = "2")]
    VehicleAction(VehicleAction),
}

impl Action {
    pub fn vehicle(msg: VehicleActionMsg) -> Action {
        Action {
            action_msg: Some(ActionMsg::VehicleAction(VehicleAction {
                vehicle_action_msg: Some(msg),
            })),
        }
    }
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct VehicleAction {
    #[prost(
        oneof = "VehicleActionMsg",
        tags = "5, 6, 7, 8, 9, 10, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 25, 26, 27, 28, 29, \
                30, 31, 32, 33, 34, 35, 36, 41, 42, 43, 44, 46, 48, 49, 50, 53, 54, 61, 62, 64, \
                65, 66, 70, 71, 72, 77, 78, 79, 89, 90, 97, 98, 99, 100, 107, 108, 110, 111, 112, \
                113, 130, 138"
    )]
    pub vehicle_action_msg: Option<VehicleActionMsg>,
}

/// The `VehicleAction` members TeslaSync sends. Numbers are the official `car_server.proto` ones;
/// those marked *community* exist only in the `tesla-protocol` package derived from the Tesla app.
#[derive(Clone, PartialEq, prost::Oneof)]
pub enum VehicleActionMsg {
    #[prost(message, tag = "5")]
    ChargingSetLimit(ChargingSetLimitAction),
    #[prost(message, tag = "6")]
    ChargingStartStop(ChargingStartStopAction),
    #[prost(message, tag = "7")]
    DrivingClearSpeedLimitPin(PinAction),
    #[prost(message, tag = "8")]
    DrivingSetSpeedLimit(SetSpeedLimitAction),
    #[prost(message, tag = "9")]
    DrivingSpeedLimit(ActivatePinAction),
    #[prost(message, tag = "10")]
    HvacAuto(HvacAutoAction),
    #[prost(message, tag = "12")]
    HvacSetPreconditioningMax(HvacSetPreconditioningMaxAction),
    #[prost(message, tag = "13")]
    HvacSteeringWheelHeater(PowerOnAction),
    #[prost(message, tag = "14")]
    HvacTemperatureAdjustment(HvacTemperatureAdjustmentAction),
    #[prost(message, tag = "15")]
    MediaPlay(Void),
    #[prost(message, tag = "16")]
    MediaUpdateVolume(MediaUpdateVolume),
    #[prost(message, tag = "17")]
    MediaNextFavorite(Void),
    #[prost(message, tag = "18")]
    MediaPreviousFavorite(Void),
    #[prost(message, tag = "19")]
    MediaNextTrack(Void),
    #[prost(message, tag = "20")]
    MediaPreviousTrack(Void),
    /// *community*
    #[prost(message, tag = "21")]
    NavigationRequest(NavigationRequest),
    /// *community*
    #[prost(message, tag = "22")]
    NavigationSuperchargerRequest(NavigationSuperchargerRequest),
    #[prost(message, tag = "25")]
    CancelSoftwareUpdate(Void),
    #[prost(message, tag = "26")]
    FlashLights(Void),
    #[prost(message, tag = "27")]
    HonkHorn(Void),
    #[prost(message, tag = "28")]
    ResetValetPin(Void),
    #[prost(message, tag = "29")]
    ScheduleSoftwareUpdate(ScheduleSoftwareUpdateAction),
    #[prost(message, tag = "30")]
    SetSentryMode(OnAction),
    #[prost(message, tag = "31")]
    SetValetMode(OnPasswordAction),
    #[prost(message, tag = "32")]
    SunroofOpenClose(SunroofOpenCloseAction),
    #[prost(message, tag = "33")]
    TriggerHomelink(TriggerHomelinkAction),
    #[prost(message, tag = "34")]
    Window(WindowAction),
    #[prost(message, tag = "35")]
    HvacBioweaponMode(OnOverrideAction),
    #[prost(message, tag = "36")]
    HvacSeatHeater(HvacSeatHeaterActions),
    #[prost(message, tag = "41")]
    ScheduledCharging(ScheduledChargingAction),
    #[prost(message, tag = "42")]
    ScheduledDeparture(ScheduledDepartureAction),
    #[prost(message, tag = "43")]
    SetChargingAmps(SetChargingAmpsAction),
    #[prost(message, tag = "44")]
    HvacClimateKeeper(HvacClimateKeeperAction),
    #[prost(message, tag = "46")]
    Ping(Ping),
    #[prost(message, tag = "48")]
    AutoSeatClimate(AutoSeatClimateAction),
    #[prost(message, tag = "49")]
    HvacSeatCooler(HvacSeatCoolerActions),
    #[prost(message, tag = "50")]
    SetCabinOverheatProtection(CabinOverheatProtectionAction),
    /// *community*
    #[prost(message, tag = "53")]
    NavigationGpsRequest(NavigationGpsRequest),
    #[prost(message, tag = "54")]
    SetVehicleName(SetVehicleNameAction),
    #[prost(message, tag = "61")]
    ChargePortDoorClose(Void),
    #[prost(message, tag = "62")]
    ChargePortDoorOpen(Void),
    /// *community*
    #[prost(message, tag = "64")]
    Boombox(BoomboxAction),
    #[prost(message, tag = "65")]
    GuestMode(GuestModeAction),
    #[prost(message, tag = "66")]
    SetCopTemp(SetCopTempAction),
    /// *community*
    #[prost(message, tag = "70")]
    AutoStwHeat(OnAction),
    /// *community*
    #[prost(message, tag = "71")]
    StwHeatLevel(StwHeatLevelAction),
    #[prost(message, tag = "72")]
    EraseUserData(EraseUserDataAction),
    #[prost(message, tag = "77")]
    SetPinToDrive(OnPasswordAction),
    #[prost(message, tag = "78")]
    ResetPinToDrive(Void),
    #[prost(message, tag = "79")]
    DrivingClearSpeedLimitPinAdmin(Void),
    #[prost(message, tag = "89")]
    ResetPinToDriveAdmin(Void),
    /// *community* (being added upstream)
    #[prost(message, tag = "90")]
    NavigationWaypointsRequest(NavigationWaypointsRequest),
    #[prost(message, tag = "97")]
    AddChargeSchedule(ChargeSchedule),
    #[prost(message, tag = "98")]
    RemoveChargeSchedule(RemoveScheduleAction),
    #[prost(message, tag = "99")]
    AddPreconditionSchedule(PreconditionSchedule),
    #[prost(message, tag = "100")]
    RemovePreconditionSchedule(RemoveScheduleAction),
    #[prost(message, tag = "107")]
    BatchRemovePreconditionSchedules(BatchRemoveSchedulesAction),
    #[prost(message, tag = "108")]
    BatchRemoveChargeSchedules(BatchRemoveSchedulesAction),
    #[prost(message, tag = "110")]
    ParentalControlsClearPinAdmin(Void),
    #[prost(message, tag = "111")]
    ParentalControls(ActivatePinAction),
    #[prost(message, tag = "112")]
    ParentalControlsEnableSettings(ParentalControlsEnableSettingsAction),
    #[prost(message, tag = "113")]
    ParentalControlsSetSpeedLimit(SetSpeedLimitAction),
    #[prost(message, tag = "130")]
    SetLowPowerMode(LowPowerModeAction),
    #[prost(message, tag = "138")]
    SetKeepAccessoryPowerMode(KeepAccessoryPowerModeAction),
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct ChargingSetLimitAction {
    #[prost(int32, tag = "1")]
    pub percent: i32,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct ChargingStartStopAction {
    #[prost(oneof = "ChargingAction", tags = "1, 2, 3, 4, 5")]
    pub charging_action: Option<ChargingAction>,
}

#[derive(Clone, PartialEq, prost::Oneof)]
pub enum ChargingAction {
    #[prost(message, tag = "1")]
    Unknown(Void),
    #[prost(message, tag = "2")]
    Start(Void),
    #[prost(message, tag = "3")]
    StartStandard(Void),
    #[prost(message, tag = "4")]
    StartMaxRange(Void),
    #[prost(message, tag = "5")]
    Stop(Void),
}

/// `DrivingClearSpeedLimitPinAction` / `ParentalControlsClearPinAction`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct PinAction {
    #[prost(string, tag = "1")]
    pub pin: String,
}

/// `DrivingSetSpeedLimitAction` / `ParentalControlsSetSpeedLimitAction`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct SetSpeedLimitAction {
    #[prost(double, tag = "1")]
    pub limit_mph: f64,
}

/// `DrivingSpeedLimitAction` / `ParentalControlsAction`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ActivatePinAction {
    #[prost(bool, tag = "1")]
    pub activate: bool,
    #[prost(string, tag = "2")]
    pub pin: String,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct HvacAutoAction {
    #[prost(bool, tag = "1")]
    pub power_on: bool,
    #[prost(bool, tag = "2")]
    pub manual_override: bool,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct HvacSetPreconditioningMaxAction {
    #[prost(bool, tag = "1")]
    pub on: bool,
    #[prost(bool, tag = "2")]
    pub manual_override: bool,
}

/// `HvacSteeringWheelHeaterAction`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct PowerOnAction {
    #[prost(bool, tag = "1")]
    pub power_on: bool,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct HvacTemperatureAdjustmentAction {
    #[prost(message, optional, tag = "5")]
    pub level: Option<TemperatureLevel>,
    #[prost(float, tag = "6")]
    pub driver_temp_celsius: f32,
    #[prost(float, tag = "7")]
    pub passenger_temp_celsius: f32,
}

/// `HvacTemperatureAdjustmentAction.Temperature`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct TemperatureLevel {
    #[prost(oneof = "TemperatureType", tags = "1, 2, 3")]
    pub r#type: Option<TemperatureType>,
}

#[derive(Clone, PartialEq, prost::Oneof)]
pub enum TemperatureType {
    #[prost(message, tag = "1")]
    Unknown(Void),
    #[prost(message, tag = "2")]
    Min(Void),
    #[prost(message, tag = "3")]
    Max(Void),
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct MediaUpdateVolume {
    #[prost(oneof = "MediaVolume", tags = "1, 3")]
    pub media_volume: Option<MediaVolume>,
}

#[derive(Clone, PartialEq, prost::Oneof)]
pub enum MediaVolume {
    #[prost(sint32, tag = "1")]
    VolumeDelta(i32),
    #[prost(float, tag = "3")]
    VolumeAbsoluteFloat(f32),
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct ScheduleSoftwareUpdateAction {
    #[prost(int32, tag = "1")]
    pub offset_sec: i32,
}

/// `VehicleControlSetSentryModeAction`, community `AutoStwHeatAction`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct OnAction {
    #[prost(bool, tag = "1")]
    pub on: bool,
}

/// `VehicleControlSetValetModeAction` / `VehicleControlSetPinToDriveAction`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct OnPasswordAction {
    #[prost(bool, tag = "1")]
    pub on: bool,
    #[prost(string, tag = "2")]
    pub password: String,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct SunroofOpenCloseAction {
    #[prost(oneof = "SunroofLevel", tags = "1, 2")]
    pub sunroof_level: Option<SunroofLevel>,
    #[prost(oneof = "SunroofAction", tags = "3, 4, 5")]
    pub action: Option<SunroofAction>,
}

#[derive(Clone, PartialEq, prost::Oneof)]
pub enum SunroofLevel {
    #[prost(int32, tag = "1")]
    AbsoluteLevel(i32),
    #[prost(sint32, tag = "2")]
    DeltaLevel(i32),
}

#[derive(Clone, PartialEq, prost::Oneof)]
pub enum SunroofAction {
    #[prost(message, tag = "3")]
    Vent(Void),
    #[prost(message, tag = "4")]
    Close(Void),
    #[prost(message, tag = "5")]
    Open(Void),
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct LatLong {
    #[prost(float, tag = "1")]
    pub latitude: f32,
    #[prost(float, tag = "2")]
    pub longitude: f32,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct TriggerHomelinkAction {
    #[prost(message, optional, tag = "1")]
    pub location: Option<LatLong>,
    #[prost(string, tag = "2")]
    pub token: String,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct WindowAction {
    #[prost(oneof = "WindowActionKind", tags = "2, 3, 4")]
    pub action: Option<WindowActionKind>,
}

#[derive(Clone, PartialEq, prost::Oneof)]
pub enum WindowActionKind {
    #[prost(message, tag = "2")]
    Unknown(Void),
    #[prost(message, tag = "3")]
    Vent(Void),
    #[prost(message, tag = "4")]
    Close(Void),
}

/// `HvacBioweaponModeAction`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct OnOverrideAction {
    #[prost(bool, tag = "1")]
    pub on: bool,
    #[prost(bool, tag = "2")]
    pub manual_override: bool,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct HvacSeatHeaterActions {
    #[prost(message, repeated, tag = "1")]
    pub hvac_seat_heater_action: Vec<HvacSeatHeaterAction>,
}

/// Both the level and the seat are oneofs of `Void`s: the field number carries the value.
#[derive(Clone, PartialEq, prost::Message)]
pub struct HvacSeatHeaterAction {
    #[prost(oneof = "SeatHeaterLevel", tags = "1, 2, 3, 4, 5")]
    pub seat_heater_level: Option<SeatHeaterLevel>,
    #[prost(oneof = "SeatPosition", tags = "6, 7, 8, 9, 10, 11, 12, 13, 14, 15")]
    pub seat_position: Option<SeatPosition>,
}

#[derive(Clone, PartialEq, prost::Oneof)]
pub enum SeatHeaterLevel {
    #[prost(message, tag = "1")]
    Unknown(Void),
    #[prost(message, tag = "2")]
    Off(Void),
    #[prost(message, tag = "3")]
    Low(Void),
    #[prost(message, tag = "4")]
    Med(Void),
    #[prost(message, tag = "5")]
    High(Void),
}

#[derive(Clone, PartialEq, prost::Oneof)]
pub enum SeatPosition {
    #[prost(message, tag = "6")]
    Unknown(Void),
    #[prost(message, tag = "7")]
    FrontLeft(Void),
    #[prost(message, tag = "8")]
    FrontRight(Void),
    #[prost(message, tag = "9")]
    RearLeft(Void),
    #[prost(message, tag = "10")]
    RearLeftBack(Void),
    #[prost(message, tag = "11")]
    RearCenter(Void),
    #[prost(message, tag = "12")]
    RearRight(Void),
    #[prost(message, tag = "13")]
    RearRightBack(Void),
    #[prost(message, tag = "14")]
    ThirdRowLeft(Void),
    #[prost(message, tag = "15")]
    ThirdRowRight(Void),
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct ScheduledChargingAction {
    #[prost(bool, tag = "1")]
    pub enabled: bool,
    /// Minutes after midnight.
    #[prost(int32, tag = "2")]
    pub charging_time: i32,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct ScheduledDepartureAction {
    #[prost(bool, tag = "1")]
    pub enabled: bool,
    #[prost(int32, tag = "2")]
    pub departure_time: i32,
    #[prost(message, optional, tag = "3")]
    pub preconditioning_times: Option<WeekTimes>,
    #[prost(message, optional, tag = "4")]
    pub off_peak_charging_times: Option<WeekTimes>,
    #[prost(int32, tag = "5")]
    pub off_peak_hours_end_time: i32,
}

/// `PreconditioningTimes` / `OffPeakChargingTimes`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct WeekTimes {
    #[prost(oneof = "WeekTimesKind", tags = "1, 2")]
    pub times: Option<WeekTimesKind>,
}

#[derive(Clone, PartialEq, prost::Oneof)]
pub enum WeekTimesKind {
    #[prost(message, tag = "1")]
    AllWeek(Void),
    #[prost(message, tag = "2")]
    Weekdays(Void),
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct SetChargingAmpsAction {
    #[prost(int32, tag = "1")]
    pub charging_amps: i32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum ClimateKeeperActionKind {
    Off = 0,
    On = 1,
    Dog = 2,
    Camp = 3,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct HvacClimateKeeperAction {
    #[prost(enumeration = "ClimateKeeperActionKind", tag = "1")]
    pub climate_keeper_action: i32,
    #[prost(bool, tag = "2")]
    pub manual_override: bool,
}

/// A cheap authenticated no-op: proves the key is paired and the session works.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Ping {
    #[prost(int32, tag = "1")]
    pub ping_id: i32,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct AutoSeatClimateAction {
    #[prost(message, repeated, tag = "1")]
    pub carseat: Vec<AutoSeatCarSeat>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct AutoSeatCarSeat {
    #[prost(bool, tag = "1")]
    pub on: bool,
    /// `AutoSeatPosition_E`: 0 unknown, 1 front left, 2 front right.
    #[prost(int32, tag = "2")]
    pub seat_position: i32,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct HvacSeatCoolerActions {
    #[prost(message, repeated, tag = "1")]
    pub hvac_seat_cooler_action: Vec<HvacSeatCoolerAction>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct HvacSeatCoolerAction {
    /// `HvacSeatCoolerLevel_E`: 0 unknown, 1 off, 2 low, 3 med, 4 high.
    #[prost(int32, tag = "1")]
    pub seat_cooler_level: i32,
    /// `HvacSeatCoolerPosition_E`: 0 unknown, 1 front left, 2 front right.
    #[prost(int32, tag = "2")]
    pub seat_position: i32,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct CabinOverheatProtectionAction {
    #[prost(bool, tag = "1")]
    pub on: bool,
    #[prost(bool, tag = "2")]
    pub fan_only: bool,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct NavigationRequest {
    #[prost(string, tag = "1")]
    pub destination: String,
    #[prost(int32, tag = "2")]
    pub order: i32,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct NavigationGpsRequest {
    #[prost(double, tag = "1")]
    pub lat: f64,
    #[prost(double, tag = "2")]
    pub lon: f64,
    /// `RemoteNavTripOrder`: 0 unknown, 1 replace, 2 prepend, 3 append.
    #[prost(int32, tag = "3")]
    pub order: i32,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct NavigationSuperchargerRequest {
    #[prost(int64, tag = "1")]
    pub id: i64,
    #[prost(int32, tag = "2")]
    pub remote_nav_trip_order: i32,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct NavigationWaypointsRequest {
    #[prost(string, tag = "1")]
    pub waypoints: String,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct SetVehicleNameAction {
    #[prost(string, tag = "1")]
    pub vehicle_name: String,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct BoomboxAction {
    #[prost(uint32, tag = "1")]
    pub sound: u32,
}

/// `VehicleState.GuestMode`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct GuestModeAction {
    #[prost(bool, tag = "1")]
    pub guest_mode_active: bool,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct SetCopTempAction {
    /// `ClimateState.CopActivationTemp`: 0 unspecified, 1 low, 2 medium, 3 high.
    #[prost(int32, tag = "1")]
    pub cop_activation_temp: i32,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct StwHeatLevelAction {
    /// `StwHeatLevel`: 0 unknown, 1 off, 2 low, 3 high.
    #[prost(int32, tag = "1")]
    pub stw_heat_level: i32,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct EraseUserDataAction {
    #[prost(string, tag = "1")]
    pub reason: String,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct ChargeSchedule {
    #[prost(uint64, tag = "1")]
    pub id: u64,
    #[prost(string, tag = "2")]
    pub name: String,
    #[prost(int32, tag = "3")]
    pub days_of_week: i32,
    #[prost(bool, tag = "4")]
    pub start_enabled: bool,
    #[prost(int32, tag = "5")]
    pub start_time: i32,
    #[prost(bool, tag = "6")]
    pub end_enabled: bool,
    #[prost(int32, tag = "7")]
    pub end_time: i32,
    #[prost(bool, tag = "8")]
    pub one_time: bool,
    #[prost(bool, tag = "9")]
    pub enabled: bool,
    #[prost(float, tag = "10")]
    pub latitude: f32,
    #[prost(float, tag = "11")]
    pub longitude: f32,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct PreconditionSchedule {
    #[prost(uint64, tag = "1")]
    pub id: u64,
    #[prost(string, tag = "2")]
    pub name: String,
    #[prost(int32, tag = "3")]
    pub days_of_week: i32,
    #[prost(int32, tag = "4")]
    pub precondition_time: i32,
    #[prost(bool, tag = "5")]
    pub one_time: bool,
    #[prost(bool, tag = "6")]
    pub enabled: bool,
    #[prost(float, tag = "7")]
    pub latitude: f32,
    #[prost(float, tag = "8")]
    pub longitude: f32,
}

/// `RemoveChargeScheduleAction` / `RemovePreconditionScheduleAction`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct RemoveScheduleAction {
    #[prost(uint64, tag = "1")]
    pub id: u64,
}

/// `BatchRemoveChargeSchedulesAction` / `BatchRemovePreconditionSchedulesAction`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct BatchRemoveSchedulesAction {
    #[prost(bool, tag = "1")]
    pub home: bool,
    #[prost(bool, tag = "2")]
    pub work: bool,
    #[prost(bool, tag = "3")]
    pub other: bool,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct ParentalControlsEnableSettingsAction {
    /// `ParentalControlsSetting_E`.
    #[prost(int32, tag = "1")]
    pub setting: i32,
    #[prost(bool, tag = "2")]
    pub enable: bool,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct LowPowerModeAction {
    #[prost(bool, tag = "1")]
    pub low_power_mode: bool,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct KeepAccessoryPowerModeAction {
    #[prost(bool, tag = "1")]
    pub keep_accessory_power_mode: bool,
}

/// `CarServer.OperationStatus_E` — note: numbered differently from the universal enum.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum CarServerResult {
    Ok = 0,
    Error = 1,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct ResultReason {
    #[prost(oneof = "ResultReasonKind", tags = "1")]
    pub reason: Option<ResultReasonKind>,
}

#[derive(Clone, PartialEq, prost::Oneof)]
pub enum ResultReasonKind {
    #[prost(string, tag = "1")]
    PlainText(String),
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct ActionStatus {
    #[prost(enumeration = "CarServerResult", tag = "1")]
    pub result: i32,
    #[prost(message, optional, tag = "2")]
    pub result_reason: Option<ResultReason>,
}

/// What infotainment answers with.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Response {
    #[prost(message, optional, tag = "1")]
    pub action_status: Option<ActionStatus>,
    #[prost(oneof = "ResponseMsg", tags = "9")]
    pub response_msg: Option<ResponseMsg>,
}

#[derive(Clone, PartialEq, prost::Oneof)]
pub enum ResponseMsg {
    #[prost(message, tag = "9")]
    Ping(Ping),
}
