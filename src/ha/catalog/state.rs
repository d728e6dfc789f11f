//! How rows become state payloads and how `/set` payloads become command requests: one function per
//! platform, driven only by the row's data (no special cases by key).

use serde_json::{json, Value as Json};

use super::types::*;
use super::{aspect, build, has, resolve, PayloadError, Request, UNKNOWN};
use crate::vehicle::signal::{Signal, Signals, Value};

/// What a row's [`Read`] found: nothing yet, unknown (Tesla said null), or a reading.
enum Found {
    Absent,
    Unknown,
    Known(Reading),
}

fn read(r: &Read, s: &Signals) -> Found {
    let Some(value) = s.get(&r.signal()) else {
        return match r {
            // A derived reading may not need its first signal (a parked car has no speed).
            Read::Derived(_, f) => match f(s) {
                None => Found::Absent,
                Some(Reading::Unknown) => Found::Unknown,
                Some(r) => Found::Known(r),
            },
            _ => Found::Absent,
        };
    };
    if *value == Value::Unknown {
        return Found::Unknown;
    }
    let text_in = |t: &str, list: &[&str]| list.iter().any(|x| x.eq_ignore_ascii_case(t));
    let reading = match r {
        Read::Value(_) => match value {
            Value::Bool(b) => Some(Reading::Bool(*b)),
            Value::Int(_) | Value::Float(_) => value.as_f64().map(Reading::Number),
            Value::Text(t) => Some(Reading::Text(t.clone())),
            Value::Location { .. } | Value::Unknown => None,
        },
        Read::Is(_, list) => value.as_text().map(|t| Reading::Bool(text_in(t, list))),
        Read::IsNot(_, list) => value.as_text().map(|t| Reading::Bool(!text_in(t, list))),
        Read::Derived(_, f) => f(s),
    };
    match reading {
        None => Found::Absent,
        Some(Reading::Unknown) => Found::Unknown,
        Some(r) => Found::Known(r),
    }
}

/// Formats a reading as a value (sensors): numbers with `decimals`, flags as `ON`/`OFF`.
fn value(found: Found, decimals: u8) -> Option<String> {
    match found {
        Found::Absent => None,
        Found::Unknown => Some(UNKNOWN.to_string()),
        Found::Known(Reading::Bool(b)) => Some(if b { "ON" } else { "OFF" }.to_string()),
        Found::Known(Reading::Number(n)) => Some(fmt_number(n, decimals as usize)),
        Found::Known(Reading::Text(t)) => Some(t),
        Found::Known(Reading::Unknown) => Some(UNKNOWN.to_string()),
    }
}

/// Formats a reading as a two-state word (`ON`/`OFF`, `open`/`closed`, `locked`/`unlocked`); a
/// number counts as true when it is not 0.
fn word(found: Found, yes: &str, no: &str) -> Option<String> {
    let on = match found {
        Found::Absent => return None,
        Found::Unknown => return Some(UNKNOWN.to_string()),
        Found::Known(Reading::Bool(b)) => b,
        Found::Known(Reading::Number(n)) => n != 0.0,
        Found::Known(Reading::Text(_) | Reading::Unknown) => return None,
    };
    Some(if on { yes } else { no }.to_string())
}

/// The option a signal's value stands for.
pub fn chosen<'a>(choices: &'a [Choice], value: &Value) -> Option<&'a Choice> {
    choices.iter().find(|c| {
        let json: Json = serde_json::from_str(c.value).unwrap_or(Json::Null);
        match value {
            Value::Bool(b) => json.as_bool() == Some(*b),
            Value::Int(_) | Value::Float(_) => json.as_f64() == value.as_f64(),
            Value::Text(t) => {
                let snake = snake_case(t);
                c.option == snake
                    || c.also.contains(&snake.as_str())
                    || json.as_str().is_some_and(|j| j.eq_ignore_ascii_case(t))
            }
            Value::Location { .. } | Value::Unknown => false,
        }
    })
}

fn option_state(o: &Options, s: &Signals) -> Option<String> {
    match s.get(&o.signal)? {
        Value::Unknown => Some(UNKNOWN.to_string()),
        v => chosen(o.choices, v).map(|c| c.option.to_string()),
    }
}

/// All state payloads of one entity.
pub fn states(e: &Entity, s: &Signals) -> Vec<(Option<&'static str>, String)> {
    let main = |v: Option<String>| v.map(|v| vec![(None, v)]).unwrap_or_default();
    match e {
        Entity::Sensor(r) => {
            let found = read(&r.read, s);
            main(match (found, r.measure) {
                // A value outside the options (a state newer firmware added) would be refused by
                // Home Assistant: it is unknown until the catalog lists it.
                (Found::Known(Reading::Text(t)), Measure::Enum(options)) => {
                    Some(enum_option(&t, options).unwrap_or(UNKNOWN).to_string())
                }
                (Found::Known(Reading::Number(secs)), Measure::Timestamp) => Some(iso8601(secs)),
                (found, _) => value(found, r.decimals),
            })
        }
        Entity::BinarySensor(r) => main(word(read(&r.read, s), "ON", "OFF")),
        Entity::Switch(r) => main(word(read(&r.read, s), "ON", "OFF")),
        Entity::Number(r) => main(match read(&r.read, s) {
            Found::Unknown => Some(UNKNOWN.to_string()),
            Found::Known(Reading::Number(n)) => Some(fmt_number(n, 2)),
            _ => None,
        }),
        Entity::Select(r) => main(option_state(&r.options, s)),
        Entity::Cover(r) => main(word(read(&r.read, s), "open", "closed")),
        Entity::Lock(r) => main(word(read(&r.read, s), "locked", "unlocked")),
        Entity::Time(r) => main(match read(&r.read, s) {
            Found::Absent => None,
            Found::Unknown => Some(UNKNOWN.to_string()),
            Found::Known(Reading::Number(m)) => {
                let m = m.max(0.0) as u32 % 1440;
                Some(format!("{:02}:{:02}:00", m / 60, m % 60))
            }
            Found::Known(_) => None,
        }),
        Entity::Climate(r) => climate_states(r, s),
        Entity::Update(r) => main(update_state(r, s).map(|j| j.to_string())),
        // Without a position (a route that ended) the tracker is reset to unknown.
        Entity::Tracker(r) => main(match s.get(&r.location) {
            Some(Value::Unknown) => Some(UNKNOWN.to_string()),
            _ => r.place.and_then(|p| match s.get(&p) {
                Some(Value::Text(t)) if !t.is_empty() => Some(t.clone()),
                _ => None,
            }),
        }),
        // Fired by `event` messages, which the bridge publishes unretained; no state of its own.
        Entity::Button(_) | Entity::Event(_) => Vec::new(),
    }
}

fn climate_states(r: &Climate, s: &Signals) -> Vec<(Option<&'static str>, String)> {
    let mut out = Vec::new();
    let known = |v: Option<String>| v.filter(|v| v != UNKNOWN);
    if let Some(mode) = known(option_state(&r.modes, s)) {
        out.push((Some(aspect::MODE), mode));
    }
    if let Some(t) = r.current.and_then(|c| s.get(&c)).and_then(Value::as_f64) {
        out.push((Some(aspect::CURRENT_TEMPERATURE), fmt_number(t, 1)));
    }
    if let Some(target) = r
        .target
        .filter(|_| r.target_requires.is_none_or(|c| has(s, c)))
    {
        let value = match (read(&target.read, s), target.levels) {
            (Found::Known(Reading::Number(n)), _) => Some(fmt_number(n, 1)),
            (Found::Known(Reading::Text(t)), levels) if !levels.is_empty() => {
                chosen(levels, &Value::Text(t)).map(|c| c.option.to_string())
            }
            _ => None,
        };
        if let Some(v) = value {
            out.push((Some(aspect::TEMPERATURE), v));
        }
    }
    // Home Assistant's "no preset" is `None`; the car's "off" climate keeper is that.
    if let Some(p) = r.presets.as_ref().and_then(|p| known(option_state(p, s))) {
        out.push((
            Some(aspect::PRESET),
            if p == "off" { UNKNOWN.into() } else { p },
        ));
    }
    if let Some(f) = r.fans.as_ref().and_then(|f| known(option_state(f, s))) {
        out.push((Some(aspect::FAN), f));
    }
    out
}

/// The update entity's JSON state. `latest_version` equals the installed one unless an update is
/// offered, downloading, installing or scheduled, so it is never left "installing" once the car
/// runs the new version.
fn update_state(r: &Update, s: &Signals) -> Option<Json> {
    let installed = s.get(&r.installed).and_then(Value::as_text)?.to_string();
    let status = s
        .get(&r.status)
        .and_then(Value::as_text)
        .map(snake_case)
        .unwrap_or_default();
    let offered = s
        .get(&r.latest)
        .and_then(Value::as_text)
        .map(str::trim)
        .filter(|v| !v.is_empty() && *v != installed)
        .map(str::to_string);
    let pending = matches!(
        status.as_str(),
        "available" | "downloading" | "downloading_wifi_wait" | "installing" | "scheduled"
    );
    let latest = match offered {
        Some(v) if pending => v,
        _ => installed.clone(),
    };
    let in_progress = status == "installing" && latest != installed;
    let progress = if in_progress {
        s.get(&r.progress)
            .and_then(Value::as_f64)
            .map(|p| json!(p.round()))
    } else {
        None
    };
    Some(json!({
        "installed_version": installed,
        "latest_version": latest,
        "in_progress": in_progress,
        "update_percentage": progress,
    }))
}

pub fn attributes(e: &Entity, s: &Signals) -> Option<Json> {
    let Entity::Tracker(r) = e else {
        return None;
    };
    match s.get(&r.location)? {
        Value::Location {
            latitude,
            longitude,
            heading,
        } => {
            let accuracy = s
                .get(&Signal::GpsAccuracyMeters)
                .and_then(Value::as_f64)
                .unwrap_or(0.0);
            let mut attrs = json!({
                "latitude": latitude,
                "longitude": longitude,
                "gps_accuracy": accuracy,
            });
            if r.place.is_none() {
                attrs["heading"] = json!(heading);
                attrs["speed"] = json!(s
                    .get(&Signal::VehicleSpeed)
                    .and_then(Value::as_f64)
                    .unwrap_or(0.0));
            }
            Some(attrs)
        }
        Value::Unknown => Some(json!({})),
        _ => None,
    }
}

// ── Payloads ────────────────────────────────────────────────────────────────────────────────

fn expected(what: &str, got: &str) -> PayloadError {
    PayloadError(format!("expected {what}, got {got:?}"))
}

fn one(call: &Call, value: Option<Json>, s: &Signals) -> Result<Vec<Request>, PayloadError> {
    build(call, value, s).map(|r| vec![r])
}

fn pick(o: &Options, p: &str, s: &Signals) -> Result<Vec<Request>, PayloadError> {
    let Some(i) = o.choices.iter().position(|c| c.option == p) else {
        let options: Vec<&str> = o.choices.iter().map(|c| c.option).collect();
        return Err(expected(&format!("one of {}", options.join(", ")), p));
    };
    match o.send {
        Send::Value(call) => {
            let value = serde_json::from_str(o.choices[i].value)
                .map_err(|_| PayloadError(format!("{}: bad option value", call.command)))?;
            one(&call, Some(value), s)
        }
        Send::PerChoice(calls) => one(&calls[i], None, s),
    }
}

/// A number within `range` and on its step; whole steps become JSON integers.
fn in_range(p: &str, range: Range) -> Result<Json, PayloadError> {
    let what = || {
        format!(
            "a number from {} to {} in steps of {}",
            fmt_number(range.min, 2),
            fmt_number(range.max, 2),
            fmt_number(range.step, 2)
        )
    };
    let v: f64 = p.parse().map_err(|_| expected(&what(), p))?;
    let steps = (v - range.min) / range.step;
    if !v.is_finite() || v < range.min || v > range.max || (steps - steps.round()).abs() > 1e-6 {
        return Err(expected(&what(), p));
    }
    Ok(if range.step.fract() == 0.0 && v.fract() == 0.0 {
        json!(v as i64)
    } else {
        json!(v)
    })
}

pub fn requests(
    e: &Entity,
    aspect: Option<&str>,
    p: &str,
    s: &Signals,
) -> Result<Vec<Request>, PayloadError> {
    if let (Some(a), false) = (aspect, matches!(e, Entity::Climate(_))) {
        return Err(PayloadError(format!("{} has no {a:?} control", e.id())));
    }
    match e {
        Entity::Switch(r) => match p {
            "ON" => one(&r.on, None, s),
            "OFF" => one(&r.off, None, s),
            other => Err(expected("ON or OFF", other)),
        },
        Entity::Number(r) => {
            let v = in_range(p, resolve(&r.bounds, s))?;
            one(&r.set, Some(v), s)
        }
        // Heaters that need the HVAC get it started first by the executor (a property of the
        // command, whichever topic it came from).
        Entity::Select(r) => pick(&r.options, p, s),
        Entity::Button(r) => match p {
            "PRESS" => one(&r.press, None, s),
            other => Err(expected("PRESS", other)),
        },
        Entity::Cover(r) => {
            let (call, want_open, verb) = match p {
                "OPEN" => (r.open, Some(true), "opened"),
                "CLOSE" => (r.close, Some(false), "closed"),
                "STOP" => (r.stop, None, "stopped"),
                other => return Err(expected("OPEN, CLOSE or STOP", other)),
            };
            let Some(call) = call else {
                return Err(PayloadError(format!(
                    "the {} cannot be {verb} remotely",
                    r.common.name.to_lowercase()
                )));
            };
            if let (true, Some(want), Found::Known(Reading::Bool(open))) =
                (r.toggles, want_open, read(&r.read, s))
            {
                if open == want {
                    return Err(PayloadError(format!(
                        "the {} is already {}",
                        r.common.name.to_lowercase(),
                        if open { "open" } else { "closed" }
                    )));
                }
            }
            one(&call, None, s)
        }
        Entity::Lock(r) => {
            let action = match p {
                "LOCK" => r.lock,
                "UNLOCK" => r.unlock,
                other => return Err(expected("LOCK or UNLOCK", other)),
            };
            match action {
                LockAction::Send(call) => one(&call, None, s),
                LockAction::Refuse(why) => Err(PayloadError(why.to_string())),
            }
        }
        Entity::Climate(r) => climate_requests(r, aspect.unwrap_or(aspect::MODE), p, s),
        Entity::Update(r) => {
            let status = s
                .get(&r.status)
                .and_then(Value::as_text)
                .map(snake_case)
                .unwrap_or_default();
            match p {
                "install" if status == "available" => one(&r.install, None, s),
                "install" => Err(PayloadError(
                    "no software update is waiting to be installed".into(),
                )),
                other => Err(expected("install", other)),
            }
        }
        Entity::Time(r) => {
            let minutes = parse_time(p).ok_or_else(|| expected("a time HH:MM[:SS]", p))?;
            one(&r.set, Some(json!(minutes)), s)
        }
        Entity::Sensor(_) | Entity::BinarySensor(_) | Entity::Tracker(_) | Entity::Event(_) => {
            Err(PayloadError(format!("{} is read-only", e.id())))
        }
    }
}

fn climate_requests(
    r: &Climate,
    aspect: &str,
    p: &str,
    s: &Signals,
) -> Result<Vec<Request>, PayloadError> {
    match aspect {
        aspect::MODE => pick(&r.modes, p, s),
        aspect::TEMPERATURE => {
            let Some(target) = r
                .target
                .filter(|_| r.target_requires.is_none_or(|c| has(s, c)))
            else {
                return Err(PayloadError(
                    "this car has no temperature setting here".into(),
                ));
            };
            if target.levels.is_empty() {
                let v = in_range(p, resolve(&target.bounds, s))?;
                return one(&target.set, Some(v), s);
            }
            let wanted: f64 = p.parse().map_err(|_| expected("a temperature", p))?;
            let level = target
                .levels
                .iter()
                .find(|l| l.option.parse::<f64>().ok() == Some(wanted))
                .ok_or_else(|| {
                    let levels: Vec<&str> = target.levels.iter().map(|l| l.option).collect();
                    expected(&format!("one of {}", levels.join(", ")), p)
                })?;
            let value = serde_json::from_str(level.value)
                .map_err(|_| PayloadError("bad level value".into()))?;
            one(&target.set, Some(value), s)
        }
        aspect::PRESET => {
            let presets = r
                .presets
                .as_ref()
                .ok_or_else(|| PayloadError("no presets".into()))?;
            // Home Assistant sends `none` to clear the preset.
            let p = if p.eq_ignore_ascii_case("none") {
                "off"
            } else {
                p
            };
            pick(presets, p, s)
        }
        aspect::FAN => pick(
            r.fans
                .as_ref()
                .ok_or_else(|| PayloadError("no fan modes".into()))?,
            p,
            s,
        ),
        other => Err(PayloadError(format!("unknown climate control {other:?}"))),
    }
}

/// `HH:MM` or `HH:MM:SS` → minutes after midnight.
fn parse_time(p: &str) -> Option<u32> {
    let mut parts = p.split(':');
    let h: u32 = parts.next()?.parse().ok()?;
    let m: u32 = parts.next()?.parse().ok()?;
    if let Some(sec) = parts.next() {
        sec.parse::<u32>().ok().filter(|s| *s < 60)?;
    }
    // `then`, not `then_some`: the product must not be computed for an hour that overflows it.
    (parts.next().is_none() && h < 24 && m < 60).then(|| h * 60 + m)
}

// ── Formatting ──────────────────────────────────────────────────────────────────────────────

/// Unix seconds as Home Assistant's timestamp state (`2026-12-01T21:30:00Z`).
fn iso8601(secs: f64) -> String {
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs.max(0.0) as u64);
    humantime::format_rfc3339_seconds(t).to_string()
}

/// A number with at most `decimals` decimals and no trailing zeros (`72`, `21.5`).
pub fn fmt_number(v: f64, decimals: usize) -> String {
    let text = format!("{v:.decimals$}");
    let text = if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    };
    if text == "-0" {
        "0".into()
    } else {
        text
    }
}

/// Where Home Assistant spells a state out that the car abbreviates (`FEIM`, `SNA`) or words it
/// differently (`Enable`, `OverheatProtect`): the car's word in snake case → Home Assistant's.
const ENUM_WORDS: &[(&str, &str)] = &[
    ("feim", "full_electric_in_motion"),
    ("sna", "system_not_available"),
    ("enable", "enabled"),
    ("overheat_protect", "overheat_protection"),
];

/// The option of an enum sensor a car's text stands for (`None` for a state the options lack).
pub fn enum_option(text: &str, options: &'static [&'static str]) -> Option<&'static str> {
    let snake = snake_case(text);
    let word = ENUM_WORDS
        .iter()
        .find(|(car, _)| *car == snake)
        .map_or(snake.as_str(), |(_, ha)| ha);
    options.iter().copied().find(|o| *o == snake || *o == word)
}

/// `NoPower` → `no_power`, `SOCTooLow` → `soc_too_low`: Home Assistant enum states are lower snake
/// case, and an acronym ends where a capital letter is followed by a lower-case one.
pub fn snake_case(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            let prev = chars[i - 1];
            let next_lower = chars.get(i + 1).is_some_and(|n| n.is_ascii_lowercase());
            let word_starts = prev.is_ascii_lowercase()
                || prev.is_ascii_digit()
                || (prev.is_ascii_uppercase() && next_lower);
            if word_starts {
                out.push('_');
            }
        }
        if c == ' ' || c == '-' {
            out.push('_');
        } else {
            out.push(c.to_ascii_lowercase());
        }
    }
    out
}
