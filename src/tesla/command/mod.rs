//! `tesla::command`: builds and verifies signed vehicle messages (Tesla's vehicle command protocol,
//! as spoken over Fleet API's `signed_command` endpoint).
//!
//! No HTTP, MQTT or storage: bytes in, bytes out. Nothing here sleeps, retries or reads the clock —
//! every time-dependent call takes `now: SystemTime` — so the daemon's executor and the simulator
//! drive it with their own clock. Written as if it were its own crate: it knows nothing of the
//! rest of TeslaSync (the command vocabulary it signs is [`crate::tesla::commands`]).
//!
//! Modules, in protocol order (the structure follows Tesla's Go SDK, `internal/authentication`):
//! - [`messages`]: hand-written prost types for the protobufs on the wire.
//! - [`crypto`]: P-256 keys, ECDH session keys and sub-keys, HMAC, AES-GCM.
//! - [`metadata`]: the authenticated-metadata TLV every tag covers.
//! - [`session`]: per VIN × domain session state and its update rules; [`SessionSnapshot`] to persist.
//! - [`signer`]: the client: handshake, sign, open (verify, decrypt, classify) replies.
//! - [`verifier`]: the vehicle: answer handshakes, verify commands, encode replies (the simulator's car).
//! - [`error`]: [`ProtocolError`] with `may_have_succeeded` / `is_temporary` / `needs_resync`.
//! - [`actions`]: the non-command payloads (`ping`, VCSEC status) and `encode` for a command.
//! - [`jws`]: `Tesla.SS256` (Schnorr) tokens for the Fleet Telemetry config.
//!
//! One command, end to end (the executor's side is the signer; the car's is the verifier):
//!
//! ```
//! use std::sync::Arc;
//! use std::time::SystemTime;
//! use teslasync::tesla::command::{KeyPair, SignOptions, Signer, VehicleVerifier, Verdict};
//! use teslasync::tesla::commands::Command;
//!
//! let now = SystemTime::now();
//! let vin = "5YJ3E1EA7KF000001";
//! let client = Arc::new(KeyPair::generate());
//! let (domain, payload) = Command::SetChargeLimit { percent: 80 }.encode().unwrap();
//!
//! // The car, with our key enrolled.
//! let mut car = VehicleVerifier::new(domain, vin, KeyPair::generate(), now);
//! car.enroll(client.public_key()).unwrap();
//!
//! // Handshake once per domain (then persist `signer.snapshot()` and reuse it).
//! let mut signer = Signer::new(client, vin, domain).unwrap();
//! let hello = signer.handshake_request(now);
//! let reply = car.handle(hello.bytes(), now).reply; // really: POST signed_command
//! signer.accept_handshake(&hello, &reply, now).unwrap();
//!
//! // Sign, persist the snapshot (the counter moved), send, open the reply.
//! let request = signer.sign(&payload, SignOptions::default(), now).unwrap();
//! let _persist = signer.snapshot();
//! let handled = car.handle(request.bytes(), now);
//! assert_eq!(handled.verdict, Verdict::Accepted);
//! assert_eq!(handled.command.unwrap().payload, payload); // the car decodes and applies it
//! signer.open_reply(&request, &handled.reply, now).unwrap();
//! ```
//!
//! Error handling for the executor: retry only when `is_temporary() && !may_have_succeeded()`,
//! handshake first when `needs_resync()`, and surface `KeyNotPaired` to the user.

pub mod actions;
pub mod crypto;
pub mod error;
pub mod jws;
pub mod messages;
pub mod metadata;
pub mod session;
pub mod signer;
pub mod verifier;

pub use crypto::{KeyError, KeyPair};
pub use error::ProtocolError;
pub use messages::{Domain, MessageFault};
pub use session::SessionSnapshot;
pub use signer::{HandshakeRequest, MessageIds, Reply, SignOptions, SignedRequest, Signer};
pub use verifier::{Handled, Outcome, VehicleVerifier, Verdict, VerifiedCommand};
