//! `tesla::command::actions`: the payloads a signer signs that are not commands (an authenticated
//! `ping`, VCSEC's status request), and [`encode`] for a command, which the command table
//! ([`crate::tesla::commands`]) defines.

use super::messages::Domain;
use crate::tesla::commands::Command;
pub use crate::tesla::commands::{ping, vehicle_status_request, ActionError};

/// The domain and encoded payload for `cmd` ([`Command::encode`]).
pub fn encode(cmd: &Command) -> Result<(Domain, Vec<u8>), ActionError> {
    cmd.encode()
}
