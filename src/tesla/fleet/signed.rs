//! `POST /api/1/vehicles/{vin}/signed_command`: the transport of the vehicle command protocol.
//!
//! Bytes in, bytes out: the caller (`vehicle::executor`) builds and opens the RoutableMessages with
//! `tesla::command`; this only carries them (base64 inside Tesla's JSON envelope) and maps the HTTP
//! answers that mean something for the protocol: 422 = the car does not speak it (use REST),
//! 408/503 = the car is not awake.

use base64::Engine as _;
use reqwest::Method;
use serde_json::json;

use super::{billed, is_charging_command, Category, FleetClient, FleetError};

impl FleetClient {
    /// Sends one serialized RoutableMessage and returns the car's serialized reply. For messages
    /// that carry no command of Tesla's charging group (session handshakes, locks, climate ...).
    pub async fn signed_command(&self, vin: &str, message: &[u8]) -> Result<Vec<u8>, FleetError> {
        self.signed(vin, message, false).await
    }

    /// The same for the signed form of the Fleet API command `name`: Tesla counts a signed charging
    /// command against the daily charging-command limit as it does the REST one, but the name is
    /// inside the protobuf, so the caller says it.
    pub async fn signed_command_named(
        &self,
        vin: &str,
        message: &[u8],
        name: &str,
    ) -> Result<Vec<u8>, FleetError> {
        self.signed(vin, message, is_charging_command(name)).await
    }

    async fn signed(
        &self,
        vin: &str,
        message: &[u8],
        charging: bool,
    ) -> Result<Vec<u8>, FleetError> {
        let b64 = base64::engine::general_purpose::STANDARD;
        let body = json!({ "routable_message": b64.encode(message) });
        let path = format!("api/1/vehicles/{vin}/signed_command");
        let mut billed = billed(&path, Category::Command);
        billed.charging = charging;
        let reply: String = match self
            .call_billed(Method::POST, &path, Some(body), billed)
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
