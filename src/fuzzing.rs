//! `fuzzing`: the entry points of the cargo-fuzz targets in `fuzz/`, kept in the library so the
//! fuzzers and `cargo test` (which replays each target's saved corpus, `tests/fuzz_corpus.rs`) run
//! the same code. Each takes arbitrary bytes and goes through the same public parsers the daemon
//! uses on outside input, the way the daemon calls them; none may panic, whatever the bytes.
//!
//! Not an API: the functions return nothing but whether the input was accepted.

use serde_json::Value as Json;

use crate::ha::catalog::{self, aspect, CATALOG};
use crate::tesla::auth::oauth;
use crate::tesla::commands::Command;
use crate::vehicle::command::limits_of;
use crate::vehicle::signal::{Signal, Signals, Value};

/// The aspects a `/set` topic can carry (none, or a climate entity's).
const ASPECTS: [Option<&str>; 6] = [
    None,
    Some(aspect::MODE),
    Some(aspect::TEMPERATURE),
    Some(aspect::PRESET),
    Some(aspect::FAN),
    Some("no_such_aspect"),
];

/// A `/set` payload as the bridge handles it. The control: a control id and a NUL
/// (`charge_state_charge_limit_soc\0...`, what the saved corpus uses, so it keeps its meaning when
/// the catalog changes), else `data[0]` as an index into the controls (the bridge refuses other
/// entities before parsing). Then one byte for the climate aspect, eight bytes of an `f64` the car
/// "reports" for its bounds (any value, NaN and infinities included), and the payload text.
pub fn set_payload(data: &[u8]) -> bool {
    let controls = controls();
    let named = data.iter().position(|b| *b == 0).and_then(|nul| {
        let id = std::str::from_utf8(&data[..nul]).ok()?;
        let entity = controls.iter().copied().find(|e| e.id() == id)?;
        Some((entity, &data[nul + 1..]))
    });
    let (entity, data) = match named {
        Some(x) => x,
        None => match data.split_first() {
            Some((e, rest)) => (controls[*e as usize % controls.len()], rest),
            None => return false,
        },
    };
    let [a, rest @ ..] = data else {
        return false;
    };
    let aspect = ASPECTS[*a as usize % ASPECTS.len()];
    let (reported, payload) = match rest.split_first_chunk::<8>() {
        Some((n, p)) => (Some(f64::from_le_bytes(*n)), p),
        None => (None, rest),
    };
    let signals = car_reporting(reported);
    let payload = String::from_utf8_lossy(payload);
    let Ok(requests) = entity.requests(aspect, &payload, &signals) else {
        return false;
    };
    let limits = limits_of(&signals);
    requests
        .iter()
        .all(|r| Command::parse_within(r.command, &r.params, &limits).is_ok())
}

/// A car whose bounds are all `reported` (or that reports none).
fn car_reporting(reported: Option<f64>) -> Signals {
    let mut s = Signals::new();
    if let Some(v) = reported {
        for signal in [
            Signal::ChargeCurrentRequestMax,
            Signal::ChargeLimitSocMin,
            Signal::ChargeLimitSocMax,
            Signal::MinAvailTemp,
            Signal::MaxAvailTemp,
        ] {
            s.insert(signal, Value::Float(v));
        }
    }
    s
}

/// A message on `<base>/<VIN>/command`: JSON `{"command", "params", "id"}`, parsed as the bridge
/// does, with Tesla's general bounds and with a car reporting odd ones.
pub fn json_command(data: &[u8]) -> bool {
    let Ok(json) = serde_json::from_slice::<Json>(data) else {
        return false;
    };
    let name = json.get("command").and_then(Json::as_str).unwrap_or("");
    let params = json.get("params").cloned().unwrap_or(Json::Null);
    let any = Command::parse(name, &params).is_ok();
    let odd = Command::parse_within(name, &params, &limits_of(&car_reporting(Some(f64::NAN))));
    any | odd.is_ok()
}

/// A JSON body of the admin API (`POST /api/v1/auth/callback-url {"url"}`,
/// `POST /api/v1/devtools/register-partner {"domain"?}`): the JSON, then the pasted sign-in
/// address and the domain through the checks their handlers use.
pub fn admin_body(data: &[u8]) -> bool {
    let Ok(body) = serde_json::from_slice::<Json>(data) else {
        return false;
    };
    let pasted = body.get("url").and_then(Json::as_str).unwrap_or_default();
    let callback = oauth::callback_from_pasted(pasted).is_ok();
    let domain = body
        .get("domain")
        .and_then(Json::as_str)
        .is_some_and(|d| crate::account::check_domain(d).is_ok());
    callback | domain
}

fn controls() -> Vec<&'static catalog::Entity> {
    CATALOG.iter().copied().filter(|e| e.is_control()).collect()
}

/// Whether `id` is a control [`set_payload`] can name.
pub fn is_control(id: &str) -> bool {
    controls().iter().any(|e| e.id() == id)
}
