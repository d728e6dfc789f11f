//! `ha::catalog`: every Home Assistant entity TeslaSync offers, as one typed row of data each.
//!
//! Discovery payloads, state topics and the parsing of `/set` payloads are all generated from the
//! rows; adding an entity means adding a row to the group file it belongs to (`charging.rs`,
//! `climate.rs`, ...), for example
//!
//! ```text
//! sensor("charge_state_battery_level", "Battery level", Read::Value(Signal::BatteryLevel))
//!     .measurement(Measure::Battery)
//!     .decimals(0)
//!     .row(),
//! ```
//!
//! Keys follow Home Assistant's `tesla_fleet` and `teslemetry` integrations so users migrating keep
//! their names. Values stay in Tesla's native units (miles, °C, bar, kW) with the matching unit;
//! Home Assistant converts for display. Row types are in [`types`]: each platform family has its
//! own, so a row that Home Assistant would reject does not compile.
//!
//! Controls name the Fleet API command they send and how the payload becomes its JSON parameters
//! ([`Call`]); [`Entity::requests`] produces `(command name, params)` pairs, which the bridge turns
//! into commands through `Command::parse`, the one validating parser.

mod body;
mod charging;
mod climate;
mod cost;
mod docs;
mod drive;
mod media;
mod powertrain;
mod setup;
mod software;
pub(crate) mod state;
mod telemetry;
pub mod types;

use std::sync::LazyLock;

use serde_json::{json, Map, Value as Json};

pub use docs::entities_markdown;
pub use state::fmt_number;
pub use types::*;

use crate::vehicle::signal::{Signal, Signals, Value};

/// The row groups, in the order entities appear in discovery. A new group file is listed here.
const GROUPS: &[&[Entity]] = &[
    charging::ROWS,
    climate::ROWS,
    drive::ROWS,
    body::ROWS,
    media::ROWS,
    software::ROWS,
    powertrain::ROWS,
    setup::ROWS,
    cost::ROWS,
    telemetry::ROWS,
];

/// Every entity, in discovery order.
pub static CATALOG: LazyLock<Vec<&'static Entity>> =
    LazyLock::new(|| GROUPS.iter().flat_map(|g| g.iter()).collect());

/// Looks an entity up by its id (the topic segment: the key, or the platform-qualified id where
/// Home Assistant uses one key on two platforms).
pub fn find(id: &str) -> Option<&'static Entity> {
    CATALOG.iter().copied().find(|e| e.id() == id)
}

/// The entities this car has: rows whose hardware the car lacks are left out.
pub fn for_car(signals: &Signals) -> impl Iterator<Item = &'static Entity> + '_ {
    CATALOG
        .iter()
        .copied()
        .filter(move |e| e.common().requires.is_none_or(|c| has(signals, c)))
}

/// Whether the car reports this hardware. Unknown counts as absent: the entity appears once the
/// car has said (discovery is republished when signals change).
pub fn has(s: &Signals, capability: Capability) -> bool {
    let value = s.get(&capability.signal());
    match capability {
        Capability::Tonneau => value
            .and_then(Value::as_text)
            .is_some_and(|t| t.eq_ignore_ascii_case("cybertruck")),
        _ => match value {
            Some(Value::Bool(b)) => *b,
            Some(Value::Int(i)) => *i > 0,
            Some(Value::Float(f)) => *f > 0.0,
            Some(Value::Text(t)) => {
                let t = t.to_ascii_lowercase();
                !matches!(
                    t.as_str(),
                    "" | "none" | "notinstalled" | "not_installed" | "unknown"
                )
            }
            _ => false,
        },
    }
}

impl Capability {
    pub const ALL: &'static [Capability] = &[
        Capability::SunRoof,
        Capability::RearSeatHeaters,
        Capability::ThirdRowSeats,
        Capability::SeatCooling,
        Capability::Tonneau,
        Capability::CopTemperature,
    ];

    /// The signal that says whether the car has it.
    pub fn signal(self) -> Signal {
        match self {
            Capability::SunRoof => Signal::SunroofInstalled,
            Capability::RearSeatHeaters => Signal::RearSeatHeaters,
            Capability::ThirdRowSeats => Signal::ThirdRowSeats,
            Capability::SeatCooling => Signal::HasSeatCooling,
            Capability::CopTemperature => Signal::CopUserSetTempSupported,
            Capability::Tonneau => Signal::CarType,
        }
    }
}

/// The signals some entity's advertised range depends on (numbers, climate set points).
pub fn bound_signals() -> impl Iterator<Item = Signal> {
    let bounds = CATALOG.iter().flat_map(|e| match e {
        Entity::Number(r) => Some(r.bounds),
        Entity::Climate(r) => r.target.map(|t| t.bounds),
        _ => None,
    });
    bounds.flat_map(|b| {
        [b.min, b.max].into_iter().filter_map(|bound| match bound {
            Bound::Signal(signal, _) => Some(signal),
            Bound::Fixed(_) => None,
        })
    })
}

/// A `/set` payload Home Assistant (or a user) sent that this entity cannot act on.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct PayloadError(pub String);

/// A command an entity asks for: the Fleet API name and its JSON parameters, to be parsed by
/// `Command::parse`.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    pub command: &'static str,
    pub params: Json,
}

/// The state topics of a climate entity, below its own topic (`<base>/<VIN>/<id>/<aspect>`), and
/// the command aspects (`<base>/<VIN>/<id>/<aspect>/set`).
pub mod aspect {
    pub const MODE: &str = "mode";
    pub const TEMPERATURE: &str = "temperature";
    pub const CURRENT_TEMPERATURE: &str = "current_temperature";
    pub const PRESET: &str = "preset";
    pub const FAN: &str = "fan";
}

/// The payload Home Assistant reads as `unknown` on every platform with a plain-text state.
pub const UNKNOWN: &str = "None";

impl Entity {
    pub fn common(&self) -> &Common {
        match self {
            Entity::Sensor(r) => &r.common,
            Entity::BinarySensor(r) => &r.common,
            Entity::Switch(r) => &r.common,
            Entity::Number(r) => &r.common,
            Entity::Select(r) => &r.common,
            Entity::Button(r) => &r.common,
            Entity::Cover(r) => &r.common,
            Entity::Lock(r) => &r.common,
            Entity::Climate(r) => &r.common,
            Entity::Update(r) => &r.common,
            Entity::Tracker(r) => &r.common,
            Entity::Time(r) => &r.common,
            Entity::Event(r) => &r.common,
        }
    }

    pub fn platform(&self) -> Platform {
        match self {
            Entity::Sensor(_) => Platform::Sensor,
            Entity::BinarySensor(_) => Platform::BinarySensor,
            Entity::Switch(_) => Platform::Switch,
            Entity::Number(_) => Platform::Number,
            Entity::Select(_) => Platform::Select,
            Entity::Button(_) => Platform::Button,
            Entity::Cover(_) => Platform::Cover,
            Entity::Lock(_) => Platform::Lock,
            Entity::Climate(_) => Platform::Climate,
            Entity::Update(_) => Platform::Update,
            Entity::Tracker(_) => Platform::DeviceTracker,
            Entity::Time(_) => Platform::Time,
            Entity::Event(_) => Platform::Event,
        }
    }

    /// Home Assistant's key.
    pub fn key(&self) -> &'static str {
        self.common().key
    }

    /// The topic segment and `unique_id` suffix: the key, unless the row names its own.
    pub fn id(&self) -> &'static str {
        let c = self.common();
        c.id.unwrap_or(c.key)
    }

    pub fn name(&self) -> &'static str {
        self.common().name
    }

    /// The signal the state comes from (for docs and the status page).
    pub fn source(&self) -> Option<Signal> {
        match self {
            Entity::Sensor(r) => Some(r.read.signal()),
            Entity::BinarySensor(r) => Some(r.read.signal()),
            Entity::Switch(r) => Some(r.read.signal()),
            Entity::Number(r) => Some(r.read.signal()),
            Entity::Select(r) => Some(r.options.signal),
            Entity::Button(_) => None,
            Entity::Cover(r) => Some(r.read.signal()),
            Entity::Lock(r) => Some(r.read.signal()),
            Entity::Climate(r) => Some(r.modes.signal),
            Entity::Update(r) => Some(r.installed),
            Entity::Tracker(r) => Some(r.location),
            Entity::Time(r) => Some(r.read.signal()),
            Entity::Event(_) => None,
        }
    }

    /// Every command the entity can send (for docs and tests).
    pub fn calls(&self) -> Vec<Call> {
        fn options(o: &Options) -> Vec<Call> {
            match o.send {
                Send::Value(c) => vec![c],
                Send::PerChoice(calls) => calls.to_vec(),
            }
        }
        let lock_call = |a: LockAction| match a {
            LockAction::Send(c) => Some(c),
            LockAction::Refuse(_) => None,
        };
        match self {
            Entity::Switch(r) => vec![r.on, r.off],
            Entity::Number(r) => vec![r.set],
            Entity::Select(r) => options(&r.options),
            Entity::Button(r) => vec![r.press],
            Entity::Cover(r) => [r.open, r.close, r.stop].into_iter().flatten().collect(),
            Entity::Lock(r) => [lock_call(r.lock), lock_call(r.unlock)]
                .into_iter()
                .flatten()
                .collect(),
            Entity::Climate(r) => {
                let mut calls = options(&r.modes);
                calls.extend(r.target.iter().map(|t| t.set));
                calls.extend(r.presets.iter().flat_map(options));
                calls.extend(r.fans.iter().flat_map(options));
                calls
            }
            Entity::Update(r) => vec![r.install],
            Entity::Time(r) => vec![r.set],
            Entity::Sensor(_) | Entity::BinarySensor(_) | Entity::Tracker(_) | Entity::Event(_) => {
                Vec::new()
            }
        }
    }

    /// Whether Home Assistant can control it (it has a command topic).
    pub fn is_control(&self) -> bool {
        !self.calls().is_empty()
    }

    /// Unit of the main state, if any.
    pub fn unit(&self) -> Option<Unit> {
        match self {
            Entity::Sensor(r) => r.measure.unit(),
            Entity::Number(r) => r.measure.unit(),
            _ => None,
        }
    }

    /// The state payloads: `(None, state)` for the entity's own topic, `(Some(aspect), state)` for a
    /// climate entity's aspects. Nothing for values never reported; [`UNKNOWN`] for values Tesla
    /// reported as unknown.
    pub fn states(&self, s: &Signals) -> Vec<(Option<&'static str>, String)> {
        state::states(self, s)
    }

    /// The entity's main state (the status page shows it).
    pub fn state_of(&self, s: &Signals) -> Option<String> {
        self.states(s)
            .into_iter()
            .find(|(aspect, _)| aspect.is_none())
            .map(|(_, v)| v)
    }

    /// JSON attributes (device tracker coordinates).
    pub fn attributes_of(&self, s: &Signals) -> Option<Json> {
        state::attributes(self, s)
    }

    /// The commands a `/set` payload (on the entity's topic, or a climate aspect's) asks for, in
    /// order. Errors say what was expected.
    pub fn requests(
        &self,
        aspect: Option<&str>,
        payload: &str,
        s: &Signals,
    ) -> Result<Vec<Request>, PayloadError> {
        state::requests(self, aspect, payload.trim(), s)
    }
}

/// Resolves a bound against the car's signals.
pub fn resolve(bounds: &Bounds, s: &Signals) -> Range {
    let get = |b: &Bound| match *b {
        Bound::Fixed(v) => v,
        Bound::Signal(signal, default) => s.get(&signal).and_then(Value::as_f64).unwrap_or(default),
    };
    Range {
        min: get(&bounds.min),
        max: get(&bounds.max),
        step: bounds.step,
    }
}

/// A call's parameters with `value` in its value parameters (an object value is merged in).
pub fn build(call: &Call, value: Option<Json>, s: &Signals) -> Result<Request, PayloadError> {
    let mut params: Map<String, Json> = if call.params.is_empty() {
        Map::new()
    } else {
        match serde_json::from_str(call.params) {
            Ok(Json::Object(m)) => m,
            _ => {
                return Err(PayloadError(format!(
                    "{}: bad constant parameters",
                    call.command
                )))
            }
        }
    };
    match value {
        Some(Json::Object(extra)) => params.extend(extra),
        Some(v) => {
            for key in call.value {
                params.insert((*key).to_string(), v.clone());
            }
        }
        None => {}
    }
    if let Some(FromCar::ChargeOnSolar) = call.from_car {
        // The Tesla app's defaults, until TeslaSync has set them once.
        for (key, signal, default) in [
            ("enabled", Signal::ChargeOnSolarEnabled, json!(false)),
            (
                "lower_charge_limit",
                Signal::ChargeOnSolarLowerLimit,
                json!(40),
            ),
            (
                "upper_charge_limit",
                Signal::ChargeOnSolarUpperLimit,
                json!(90),
            ),
        ] {
            if !params.contains_key(key) {
                let known = match s.get(&signal) {
                    Some(Value::Bool(b)) => Some(json!(b)),
                    Some(v) => v.as_f64().map(|n| json!(n.round() as i64)),
                    None => None,
                };
                params.insert(key.into(), known.unwrap_or(default));
            }
        }
    }
    if let Some(FromCar::Coordinates) = call.from_car {
        match s.get(&Signal::Location) {
            Some(Value::Location {
                latitude,
                longitude,
                ..
            }) => {
                params.insert("lat".into(), json!(latitude));
                params.insert("lon".into(), json!(longitude));
            }
            _ => {
                return Err(PayloadError(format!(
                    "{} needs the car's location, which is not known yet",
                    call.command
                )))
            }
        }
    }
    Ok(Request {
        command: call.command,
        params: Json::Object(params),
    })
}

#[cfg(test)]
mod tests;
