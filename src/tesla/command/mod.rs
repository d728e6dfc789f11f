//! `tesla::command`: builds and verifies signed vehicle messages (Tesla's vehicle command protocol).
//! No HTTP, MQTT or storage: bytes in, bytes out.

pub mod crypto;
pub mod error;
pub mod jws;
pub mod messages;
pub mod metadata;
pub mod session;
pub mod signer;
pub mod verifier;
