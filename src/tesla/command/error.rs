//! `tesla::command::error`: what can go wrong on the client side of the protocol, classified so
//! the caller can decide whether to retry, re-handshake or tell the user.
//!
//! Owns the classification only (`may_have_succeeded`, `is_temporary`, `needs_resync`,
//! `is_key_not_paired`); it never retries anything itself. Transport failures (HTTP status codes,
//! timeouts) belong to the Fleet API client, not here.

use super::crypto::KeyError;
use super::messages::{Domain, MessageFault};

/// A failed handshake, signing or reply.
///
/// Retry policy for the executor: retry only when `is_temporary() && !may_have_succeeded()`, and
/// handshake first when `needs_resync()`. `KeyNotPaired` is terminal until the user enrolls the key.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ProtocolError {
    #[error(
        "the vehicle's {domain} domain does not know TeslaSync's public key: enroll it by opening \
         https://tesla.com/_ak/<your app domain> in the Tesla app on the phone paired with the car \
         (and check that the configured private key belongs to the published public key)"
    )]
    KeyNotPaired { domain: Domain },

    #[error("the vehicle's {domain} domain refused the message: {} (fault {}); {}",
        fault.describe(), *fault as i32, fault_hint(*fault, *session_refreshed))]
    Fault {
        domain: Domain,
        fault: MessageFault,
        /// Whether the reply carried authenticated session info that was applied, so that simply
        /// re-signing can succeed.
        session_refreshed: bool,
    },

    #[error("the vehicle's {domain} domain is busy; retry in a second")]
    Busy { domain: Domain },

    #[error(
        "the vehicle refused the command: {reason} (the car's own answer, not a TeslaSync error; \
         check the car's state)"
    )]
    Refused { domain: Domain, reason: String },

    #[error("no session with the vehicle's {domain} domain; handshake first")]
    NoSession { domain: Domain },

    #[error(
        "session info from the vehicle's {domain} domain was rejected ({reason}); the session was \
         dropped, handshake again"
    )]
    SessionInfoRejected { domain: Domain, reason: String },

    #[error("the {domain} session used up its counter; handshake again for a new one")]
    CounterExhausted { domain: Domain },

    #[error(
        "the reply from the vehicle's {domain} domain is malformed ({detail}); the command may \
         have run, check the car before retrying"
    )]
    BadReply { domain: Domain, detail: String },

    #[error(
        "the encrypted reply from the vehicle's {domain} domain failed authentication or was \
         replayed; the command may have run, check the car before retrying"
    )]
    ReplyNotAuthentic { domain: Domain },

    #[error("VIN {vin:?} is not usable for signing: it must be 1 to 255 ASCII characters (Tesla VINs have 17)")]
    InvalidVin { vin: String },

    #[error("saved session does not fit ({reason}); discard it and handshake again")]
    SnapshotMismatch { reason: String },

    #[error(transparent)]
    Key(#[from] KeyError),
}

fn fault_hint(fault: MessageFault, session_refreshed: bool) -> &'static str {
    if is_session_fault(fault) && !session_refreshed {
        "the session was dropped, handshake again and retry"
    } else {
        fault.remedy()
    }
}

/// Faults that mean "your session is out of date" and come with fresh session info.
pub(crate) fn is_session_fault(fault: MessageFault) -> bool {
    use MessageFault::*;
    matches!(
        fault,
        InvalidSignature
            | InvalidTokenOrCounter
            | IncorrectEpoch
            | TimeExpired
            | TimeToLiveTooLong
            | RepeatedCounter
    )
}

impl ProtocolError {
    /// The vehicle may have executed the command even though this is an error: do not blindly
    /// retry non-idempotent commands (honk, trunk, boombox).
    pub fn may_have_succeeded(&self) -> bool {
        match self {
            ProtocolError::Fault { fault, .. } => {
                matches!(
                    fault,
                    MessageFault::None | MessageFault::ResponseMtuExceeded
                )
            }
            ProtocolError::BadReply { .. } | ProtocolError::ReplyNotAuthentic { .. } => true,
            _ => false,
        }
    }

    /// Retrying (after re-signing, and after a handshake if [`Self::needs_resync`]) may succeed.
    pub fn is_temporary(&self) -> bool {
        use MessageFault::*;
        match self {
            ProtocolError::Fault { fault, .. } => {
                is_session_fault(*fault)
                    || matches!(
                        fault,
                        Busy | Timeout | Internal | RequiresResponseEncryption
                    )
            }
            ProtocolError::Busy { .. }
            | ProtocolError::NoSession { .. }
            | ProtocolError::SessionInfoRejected { .. }
            | ProtocolError::CounterExhausted { .. }
            | ProtocolError::SnapshotMismatch { .. } => true,
            _ => false,
        }
    }

    /// The session is gone or unusable: handshake before the next attempt.
    pub fn needs_resync(&self) -> bool {
        match self {
            ProtocolError::Fault {
                fault,
                session_refreshed,
                ..
            } => is_session_fault(*fault) && !session_refreshed,
            ProtocolError::NoSession { .. }
            | ProtocolError::SessionInfoRejected { .. }
            | ProtocolError::CounterExhausted { .. }
            | ProtocolError::SnapshotMismatch { .. } => true,
            _ => false,
        }
    }

    /// The key is not enrolled on this domain: terminal until the user pairs it.
    pub fn is_key_not_paired(&self) -> bool {
        matches!(self, ProtocolError::KeyNotPaired { .. })
    }

    /// The protocol fault, when the vehicle reported one.
    pub fn fault(&self) -> Option<MessageFault> {
        match self {
            ProtocolError::Fault { fault, .. } => Some(*fault),
            ProtocolError::KeyNotPaired { .. } => Some(MessageFault::UnknownKeyId),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classification_follows_the_go_sdk() {
        let d = Domain::Infotainment;
        let fault = |fault, session_refreshed| ProtocolError::Fault {
            domain: d,
            fault,
            session_refreshed,
        };
        let busy = fault(MessageFault::Busy, false);
        assert!(busy.is_temporary() && !busy.may_have_succeeded() && !busy.needs_resync());

        let epoch = fault(MessageFault::IncorrectEpoch, true);
        assert!(epoch.is_temporary() && !epoch.needs_resync());
        let epoch = fault(MessageFault::IncorrectEpoch, false);
        assert!(epoch.is_temporary() && epoch.needs_resync());
        assert!(epoch.to_string().contains("handshake again"), "{epoch}");

        let mtu = fault(MessageFault::ResponseMtuExceeded, false);
        assert!(mtu.may_have_succeeded() && !mtu.is_temporary());

        let privileges = fault(MessageFault::InsufficientPrivileges, false);
        assert!(!privileges.is_temporary() && !privileges.may_have_succeeded());

        let unpaired = ProtocolError::KeyNotPaired { domain: d };
        assert!(unpaired.is_key_not_paired() && !unpaired.is_temporary());
        assert!(unpaired.to_string().contains("tesla.com/_ak/"));

        let bad = ProtocolError::BadReply {
            domain: d,
            detail: "x".into(),
        };
        assert!(bad.may_have_succeeded() && !bad.is_temporary());
    }
}
