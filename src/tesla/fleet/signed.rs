//! `POST /api/1/vehicles/{vin}/signed_command`: the transport of the vehicle command protocol.
//!
//! Bytes in, bytes out: the caller (`vehicle::executor`) builds and opens the RoutableMessages with
//! `tesla::command`; this only carries them (base64 inside Tesla's JSON envelope) and maps the HTTP
//! answers that mean something for the protocol: 422 = the car does not speak it (use REST),
//! 408/503 = the car is not awake.

use base64::Engine as _;
use reqwest::Method;
use serde_json::json;

use super::{Category, FleetClient, FleetError};

impl FleetClient {
    /// Sends one serialized RoutableMessage and returns the car's serialized reply.
    pub async fn signed_command(&self, vin: &str, message: &[u8]) -> Result<Vec<u8>, FleetError> {
        let b64 = base64::engine::general_purpose::STANDARD;
        let body = json!({ "routable_message": b64.encode(message) });
        let reply: String = match self
            .call(
                Method::POST,
                &format!("api/1/vehicles/{vin}/signed_command"),
                Some(body),
                Category::Command,
            )
            .await
        {
            Ok(reply) => reply,
            Err(FleetError::Refused { status: 422, .. }) => {
                return Err(FleetError::ProtocolUnsupported)
            }
            // On this endpoint a 503 means the car did not answer: it is asleep or unreachable.
            Err(FleetError::Server { status: 503, .. }) => return Err(FleetError::Unavailable),
            Err(e) => return Err(e),
        };
        b64.decode(reply.trim())
            .map_err(|e| FleetError::Decode(format!("signed_command reply is not base64: {e}")))
    }
}
