//! `tesla::commands::params`: the parameter types of Tesla's commands and the rules that validate
//! them — the JSON form each takes in a REST body, and how a value is checked against fixed ranges
//! or against the car's own [`Limits`].
//!
//! Error strings describe the problem after `parameter "x" …`, quote the accepted range or options,
//! and never echo secret values (PINs are [`Pin`]s).

use std::fmt;

use serde_json::{json, Value};

use super::Limits;

// ---------------------------------------------------------------------------------------------
// Parameter types
// ---------------------------------------------------------------------------------------------

/// A parameter's JSON form. Error strings describe the problem after "parameter "x" …" and must
/// never echo secret values.
pub trait ParamValue: Sized {
    fn from_json(v: &Value) -> Result<Self, String>;
    /// `None` leaves the key out of the REST body.
    fn to_json(&self) -> Option<Value>;
}

impl ParamValue for bool {
    fn from_json(v: &Value) -> Result<Self, String> {
        v.as_bool()
            .ok_or_else(|| format!("must be true or false, not {v}"))
    }
    fn to_json(&self) -> Option<Value> {
        Some(Value::Bool(*self))
    }
}

macro_rules! int_param {
    ($($t:ty),*) => {$(
        impl ParamValue for $t {
            fn from_json(v: &Value) -> Result<Self, String> {
                let whole = v
                    .as_i64()
                    .map(i128::from)
                    .or_else(|| v.as_u64().map(i128::from))
                    .or_else(|| {
                        v.as_f64()
                            .filter(|x| x.fract() == 0.0 && x.abs() < 1e18)
                            .map(|x| x as i128)
                    })
                    .ok_or_else(|| format!("must be a whole number, not {v}"))?;
                <$t>::try_from(whole).map_err(|_| {
                    format!("must be between {} and {}, not {v}", <$t>::MIN, <$t>::MAX)
                })
            }
            fn to_json(&self) -> Option<Value> {
                Some(json!(self))
            }
        }
    )*};
}

int_param!(u8, u16, u32, u64, i64);

impl ParamValue for f64 {
    fn from_json(v: &Value) -> Result<Self, String> {
        v.as_f64()
            .ok_or_else(|| format!("must be a number, not {v}"))
    }
    fn to_json(&self) -> Option<Value> {
        Some(json!(self))
    }
}

impl ParamValue for String {
    fn from_json(v: &Value) -> Result<Self, String> {
        v.as_str()
            .map(str::to_string)
            .ok_or_else(|| format!("must be a string, not {v}"))
    }
    fn to_json(&self) -> Option<Value> {
        Some(Value::String(self.clone()))
    }
}

impl<T: ParamValue> ParamValue for Option<T> {
    fn from_json(v: &Value) -> Result<Self, String> {
        T::from_json(v).map(Some)
    }
    fn to_json(&self) -> Option<Value> {
        self.as_ref().and_then(T::to_json)
    }
}

/// A 4-digit PIN or password. Prints as `Pin(****)`; read it with [`Pin::expose`] only to put it
/// on the wire.
#[derive(Clone, PartialEq, Eq)]
pub struct Pin(String);

impl Pin {
    /// `None` unless `pin` is exactly four ASCII digits (what Tesla accepts for every PIN here).
    pub fn new(pin: &str) -> Option<Pin> {
        (pin.len() == 4 && pin.bytes().all(|b| b.is_ascii_digit())).then(|| Pin(pin.to_string()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Pin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Pin(****)")
    }
}

impl ParamValue for Pin {
    fn from_json(v: &Value) -> Result<Self, String> {
        v.as_str()
            .and_then(Pin::new)
            .ok_or_else(|| "must be a 4-digit PIN given as a string".to_string())
    }
    fn to_json(&self) -> Option<Value> {
        Some(Value::String(self.0.clone()))
    }
}

/// Enums whose REST form is a string.
macro_rules! str_enum {
    ($(#[$meta:meta])* $name:ident { $( $(#[$vmeta:meta])* $variant:ident = $s:literal ),* $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum $name { $( $(#[$vmeta])* $variant ),* }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),*];

            pub fn as_str(self) -> &'static str {
                match self { $( $name::$variant => $s ),* }
            }
        }

        impl ParamValue for $name {
            fn from_json(v: &Value) -> Result<Self, String> {
                let s = v.as_str().unwrap_or_default();
                $name::ALL
                    .iter()
                    .copied()
                    .find(|x| x.as_str().eq_ignore_ascii_case(s))
                    .ok_or_else(|| format!("must be one of {}, not {v}", quoted(&[$($s),*])))
            }
            fn to_json(&self) -> Option<Value> {
                Some(Value::String(self.as_str().to_string()))
            }
        }
    };
}

/// Enums whose REST form is a number; their names are accepted too (handy on MQTT).
macro_rules! num_enum {
    ($(#[$meta:meta])* $name:ident { $( $(#[$vmeta:meta])* $variant:ident = $n:literal $s:literal ),* $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum $name { $( $(#[$vmeta])* $variant ),* }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),*];

            /// The number Tesla's REST API uses.
            pub fn rest_value(self) -> u8 {
                match self { $( $name::$variant => $n ),* }
            }

            pub fn as_str(self) -> &'static str {
                match self { $( $name::$variant => $s ),* }
            }
        }

        impl ParamValue for $name {
            fn from_json(v: &Value) -> Result<Self, String> {
                $name::ALL
                    .iter()
                    .copied()
                    .find(|x| match v {
                        Value::String(s) => x.as_str().eq_ignore_ascii_case(s),
                        _ => v.as_f64() == Some(f64::from(x.rest_value())),
                    })
                    .ok_or_else(|| {
                        format!(
                            "must be one of {} (or {}), not {v}",
                            [$($n.to_string()),*].join(", "),
                            quoted(&[$($s),*])
                        )
                    })
            }
            fn to_json(&self) -> Option<Value> {
                Some(json!(self.rest_value()))
            }
        }
    };
}

str_enum! {
    /// Which trunk `actuate_trunk` moves.
    Trunk { Front = "front", Rear = "rear" }
}

str_enum! {
    /// `window_control`'s `command`.
    WindowCommand { Vent = "vent", Close = "close" }
}

str_enum! {
    /// `sun_roof_control`'s `state`. `stop` exists only over REST: the vehicle command protocol
    /// has no such action, so only cars that take REST commands (the pre-2021 Model S and X,
    /// the only ones with a sunroof) can stop a moving roof.
    SunroofState { Vent = "vent", Close = "close", Open = "open", Stop = "stop" }
}

str_enum! {
    /// `parental_controls_enable_setting`'s `setting`, by its protobuf enum name.
    ParentalControlsSetting {
        SpeedLimit = "SpeedLimit",
        Acceleration = "Acceleration",
        SafetyFeatures = "SafetyFeatures",
        Curfew = "Curfew",
        BrowserBlocked = "BrowserBlocked",
        TheaterBlocked = "TheaterBlocked",
        ArcadeBlocked = "ArcadeBlocked",
    }
}

impl ParentalControlsSetting {
    /// The `ParentalControlsSetting_E` number, which follows the order of [`Self::ALL`].
    pub fn index(self) -> i32 {
        Self::ALL
            .iter()
            .position(|s| *s == self)
            .map_or(0, |i| i as i32)
    }
}

num_enum! {
    /// `set_climate_keeper_mode`'s mode.
    ClimateKeeperMode { Off = 0 "off", On = 1 "on", Dog = 2 "dog", Camp = 3 "camp" }
}

num_enum! {
    /// Cabin overheat protection activation temperature: REST 0/1/2 = 30/35/40 °C. (The official
    /// proxy passes the number straight through as the protobuf enum, likely one step off; we
    /// follow the Fleet API docs and the Python client.)
    CopTemp { Low = 0 "low", Medium = 1 "medium", High = 2 "high" }
}

num_enum! {
    /// Steering wheel heat level: REST 0 off, 1 low, 3 high (as the Python client maps it).
    SteeringWheelHeatLevel { Off = 0 "off", Low = 1 "low", High = 3 "high" }
}

/// Days a schedule runs, as Tesla's bit mask (Sunday = 1 … Saturday = 64).
///
/// REST form: comma-separated names, case-insensitive (`"Mon,Tue"`, `"Weekdays"`, `"All"`), or
/// the mask as a number. Written back as the names the official proxy parses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DaysOfWeek(pub u8);

impl DaysOfWeek {
    pub const ALL: DaysOfWeek = DaysOfWeek(0x7f);
    pub const WEEKDAYS: DaysOfWeek = DaysOfWeek(0x3e);
    const NAMES: [(&'static str, &'static [&'static str]); 7] = [
        ("Sun", &["sun", "sunday"]),
        ("Mon", &["mon", "monday"]),
        ("Tues", &["tue", "tues", "tuesday"]),
        ("Wed", &["wed", "wednesday"]),
        ("Thurs", &["thu", "thur", "thurs", "thursday"]),
        ("Fri", &["fri", "friday"]),
        ("Sat", &["sat", "saturday"]),
    ];

    pub fn parse(s: &str) -> Option<DaysOfWeek> {
        let mut mask = 0u8;
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let part = part.to_ascii_lowercase();
            mask |= match part.as_str() {
                "all" => Self::ALL.0,
                "weekdays" => Self::WEEKDAYS.0,
                _ => {
                    let day = Self::NAMES
                        .iter()
                        .position(|(_, names)| names.contains(&part.as_str()))?;
                    1 << day
                }
            };
        }
        (mask != 0).then_some(DaysOfWeek(mask))
    }
}

impl fmt::Display for DaysOfWeek {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            DaysOfWeek::ALL => f.write_str("All"),
            DaysOfWeek::WEEKDAYS => f.write_str("Weekdays"),
            DaysOfWeek(mask) => {
                let days: Vec<&str> = (0..7)
                    .filter(|i| mask & (1 << i) != 0)
                    .map(|i| Self::NAMES[i].0)
                    .collect();
                f.write_str(&days.join(","))
            }
        }
    }
}

impl ParamValue for DaysOfWeek {
    fn from_json(v: &Value) -> Result<Self, String> {
        let problem = || {
            format!(
                "must name days like \"Mon,Wed\", \"Weekdays\" or \"All\", or be a bit mask 1-127, not {v}"
            )
        };
        match v {
            Value::String(s) => DaysOfWeek::parse(s).ok_or_else(problem),
            _ => v
                .as_u64()
                .filter(|m| (1..=127).contains(m))
                .map(|m| DaysOfWeek(m as u8))
                .ok_or_else(problem),
        }
    }
    fn to_json(&self) -> Option<Value> {
        Some(Value::String(self.to_string()))
    }
}

/// `navigation_request`'s `value`: what the Tesla app shares, `{"android.intent.extra.TEXT": …}`.
/// A plain string is accepted too.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShareText(pub String);

const SHARE_TEXT_KEY: &str = "android.intent.extra.TEXT";

impl ParamValue for ShareText {
    fn from_json(v: &Value) -> Result<Self, String> {
        let text = match v {
            Value::String(s) => Some(s.as_str()),
            Value::Object(o) => o.get(SHARE_TEXT_KEY).and_then(Value::as_str),
            _ => None,
        };
        text.filter(|t| !t.trim().is_empty())
            .map(|t| ShareText(t.to_string()))
            .ok_or_else(|| {
                format!(
                    "must be an address string or {{\"{SHARE_TEXT_KEY}\": \"<address>\"}}, not {v}"
                )
            })
    }
    fn to_json(&self) -> Option<Value> {
        Some(json!({ SHARE_TEXT_KEY: self.0 }))
    }
}

pub(super) fn quoted(items: &[&str]) -> String {
    items
        .iter()
        .map(|s| format!("{s:?}"))
        .collect::<Vec<_>>()
        .join(", ")
}

// ---------------------------------------------------------------------------------------------
// Rules
// ---------------------------------------------------------------------------------------------

/// How one parameter is validated: an optional default (absent ⇒ default, else required) and an
/// optional check run on the value, which may consult the car's [`Limits`].
pub struct Rule<T> {
    pub(super) default: Option<T>,
    pub(super) check: Option<Check<T>>,
}

/// A validation run on a parsed value; the error is the problem, phrased after the parameter name.
pub(super) type Check<T> = Box<dyn Fn(&T, &Limits) -> Result<(), String>>;

/// Required, any value of the type.
pub fn req<T>() -> Rule<T> {
    Rule {
        default: None,
        check: None,
    }
}

/// Optional with a default.
pub fn or<T>(default: T) -> Rule<T> {
    Rule {
        default: Some(default),
        check: None,
    }
}

fn out_of_range<T: fmt::Display>(v: &T, min: &T, max: &T, whose: &str) -> String {
    format!("must be between {min} and {max}{whose}, not {v}")
}

/// Required, within the fixed range `min..=max`.
pub fn range<T: PartialOrd + fmt::Display + 'static>(min: T, max: T) -> Rule<T> {
    Rule {
        default: None,
        check: Some(Box::new(move |v, _| {
            if *v < min || *v > max {
                Err(out_of_range(v, &min, &max, ""))
            } else {
                Ok(())
            }
        })),
    }
}

/// Optional with a default, within `min..=max`.
pub fn or_range<T: PartialOrd + fmt::Display + 'static>(default: T, min: T, max: T) -> Rule<T> {
    Rule {
        default: Some(default),
        ..range(min, max)
    }
}

/// Optional (absent stays `None`), within `min..=max` when given.
pub fn maybe_range<T: PartialOrd + fmt::Display + 'static>(min: T, max: T) -> Rule<Option<T>> {
    let inner = range(min, max).check.expect("range has a check");
    Rule {
        default: Some(None),
        check: Some(Box::new(move |v, limits| match v {
            Some(v) => inner(v, limits),
            None => Ok(()),
        })),
    }
}

/// Required, within the range this car reports (`bounds` picks it from [`Limits`]). The error
/// says that the range is the car's, so a user knows why 48 A is refused on a 32 A car.
pub fn within<T: PartialOrd + fmt::Display + 'static>(bounds: fn(&Limits) -> (T, T)) -> Rule<T> {
    Rule {
        default: None,
        check: Some(Box::new(move |v, limits| {
            let (min, max) = bounds(limits);
            if *v < min || *v > max {
                Err(out_of_range(v, &min, &max, " (this car's range)"))
            } else {
                Ok(())
            }
        })),
    }
}

/// A required, non-empty string of at most `max` bytes.
pub fn text(max: usize) -> Rule<String> {
    Rule {
        default: None,
        check: Some(Box::new(move |s, _| {
            if s.trim().is_empty() {
                Err("must not be empty".into())
            } else if s.len() > max {
                Err(format!("must be at most {max} bytes long"))
            } else {
                Ok(())
            }
        })),
    }
}
