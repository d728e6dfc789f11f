//! TeslaSync connects Tesla vehicles to Home Assistant over MQTT.
//!
//! Data flows one way, commands flow back:
//!
//! ```text
//!  Tesla side                        core                               Home Assistant side
//!  tesla::fleet (REST client) ──┐                                  ┌─> ha::discovery (catalog → configs)
//!  vehicle::poller ─────────────┼─> vehicle::Update ─> vehicle::hub ┼─> ha::bridge (changed values → MQTT)
//!  tesla::telemetry (later) ────┘     (vin, signals)   (state, diff)│
//!  tesla::command (signing) <──── vehicle::executor <──────────────┴── ha::bridge (command topics)
//!  tesla::auth (tokens) ── store (sled, AES-GCM) ── web (status page, sign-in, admin API) ── account (set-up)
//! ```
//!
//! Module map:
//! - [`bench`]: `teslasync bench day`, the simulated day that prices TeslaSync's polling against its peers.
//! - [`account`]: Tesla account set-up (sign-in, partner registration, pairing) for the web UI and CLI.
//! - [`clock`]: wall-clock time that tests can drive.
//! - [`config`]: configuration contract (TOML + environment), validated once at start-up.
//! - [`secret`]: a string that never prints itself.
//! - [`keys`]: the P-256 command-signing key (PEM, 0600, in the data directory).
//! - [`store`]: sled on disk; every record sealed with AES-256-GCM.
//! - [`tesla`]: everything that speaks to Tesla: OAuth tokens, the Fleet API, the command protocol.
//! - [`vehicle`]: signals, the hub that remembers them, the poller and the command executor.
//! - [`ha`]: Home Assistant: the entity catalog, discovery payloads and the MQTT bridge.
//! - [`web`]: the HTTP server (status page, Tesla sign-in, the public key, the admin API).
//! - [`sim`]: a simulated Tesla account: auth, Fleet API, cars with a sleep/wake state machine.
//! - [`tasks`]: the daemon's background tasks, supervised (restarted or reported, never silently dead).
//! - [`daemon`]: wires the parts together and runs until cancelled; [`demo`] adds the simulator
//!   and, when needed, an embedded MQTT broker.

pub mod account;
pub mod bench;
pub mod clock;
pub mod config;
pub mod daemon;
pub mod demo;
#[doc(hidden)]
pub mod fuzzing;
pub mod ha;
pub mod keys;
pub mod secret;
pub mod sim;
pub mod store;
pub mod supervisor;
pub mod tasks;
pub mod tesla;
pub mod util;
pub mod vehicle;
pub mod web;
