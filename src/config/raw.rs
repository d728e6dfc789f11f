//! Stage one: the values as written. Reads defaults, the TOML file, the Home Assistant add-on's
//! options (`/data/options.json`) and the environment, in that order of precedence, into one value
//! per key. The file and the options are parsed by the `config` crate, one source at a time, so
//! that every value keeps where it came from (a merged `config::Config` would forget it, and
//! messages must name the file key, add-on option or variable to fix).
//! Finds unknown sections, keys and variables, and values of the wrong type; what a value means
//! (is it a URL, a region, ...) is stage two's business.

use std::collections::HashMap;
use std::path::Path;

use super::error::ConfigProblem;
use super::keys::{self, Key, ValueType, KEYS};

/// A value of the type its key's [`ValueType`] says.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum RawValue {
    Text(String),
    Bool(bool),
    Int(i64),
    Float(f64),
}

impl RawValue {
    /// The value as the user wrote it, for messages.
    pub(super) fn shown(&self) -> String {
        match self {
            RawValue::Text(s) => s.clone(),
            RawValue::Bool(b) => b.to_string(),
            RawValue::Int(i) => i.to_string(),
            RawValue::Float(x) => x.to_string(),
        }
    }
}

/// Where a value came from, so that an error can point at the place to fix it.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Origin {
    Default,
    File,
    /// The add-on option that set it (`client_id`).
    Addon(String),
    /// The variable that set it (a `TESLASYNC_` name or a Tesla-guide alias).
    Env(String),
}

impl Origin {
    /// The end of an error message about `key`'s value.
    pub(super) fn fix(&self, key: &Key) -> String {
        match self {
            Origin::Env(var) => {
                format!(
                    "set by {var}, which overrides [{}] {}",
                    key.section, key.name
                )
            }
            Origin::Addon(option) => format!(
                "set by the add-on option {option} (the add-on's Configuration tab in Home Assistant)"
            ),
            Origin::Default | Origin::File => key.how_to_set(),
        }
    }
}

#[derive(Debug, Clone)]
pub(super) struct Raw {
    pub(super) value: RawValue,
    pub(super) origin: Origin,
}

/// One optional value per entry of [`KEYS`], same index.
#[derive(Debug)]
pub(super) struct RawConfig {
    values: Vec<Option<Raw>>,
}

impl RawConfig {
    /// The value of `key` after defaults, file and environment; `None` when unset.
    pub(super) fn get(&self, key: &'static Key) -> Option<&Raw> {
        let index = KEYS.iter().position(|k| std::ptr::eq(k, key))?;
        self.values[index].as_ref()
    }

    /// Reads everything, collecting problems instead of stopping at the first. `file` is the
    /// path and text of the config file, if one was given and read.
    pub(super) fn collect(
        file: Option<(&Path, &str)>,
        addon: Option<(&Path, &str)>,
        env: &HashMap<String, String>,
        problems: &mut Vec<ConfigProblem>,
    ) -> RawConfig {
        let mut raw = RawConfig {
            values: vec![None; KEYS.len()],
        };
        for (i, key) in KEYS.iter().enumerate() {
            if let Some(default) = key.default {
                let value = from_env_str(key.ty, default)
                    .unwrap_or_else(|_| panic!("default of {} is not a {:?}", key.path(), key.ty));
                raw.values[i] = Some(Raw {
                    value,
                    origin: Origin::Default,
                });
            }
        }
        if let Some((path, text)) = file {
            raw.read_file(path, text, problems);
        }
        if let Some((path, text)) = addon {
            raw.read_addon_options(path, text, problems);
        }
        raw.read_env(env, problems);
        raw
    }

    fn set(&mut self, key: &'static Key, value: RawValue, origin: Origin) {
        let index = KEYS
            .iter()
            .position(|k| std::ptr::eq(k, key))
            .expect("key from KEYS");
        // An empty string for a key without a default means "not set": add-on UIs and
        // templated files write "" for fields the user left blank.
        if key.default.is_none() && value == RawValue::Text(String::new()) {
            self.values[index] = None;
        } else {
            self.values[index] = Some(Raw { value, origin });
        }
    }

    fn read_file(&mut self, path: &Path, text: &str, problems: &mut Vec<ConfigProblem>) {
        let Some(table) = parse(path, text, config::FileFormat::Toml, problems) else {
            return;
        };
        let sections = keys::sections();
        // In name order, so that problems are listed the same way every time.
        let table: std::collections::BTreeMap<_, _> = table.into_iter().collect();
        for (section, value) in &table {
            let config::ValueKind::Table(entries) = &value.kind else {
                // `url = "..."` at the top level: probably a key that belongs in a section.
                let same_name: Vec<String> = KEYS
                    .iter()
                    .filter(|k| k.name == section)
                    .map(|k| k.path())
                    .collect();
                if sections.contains(&section.as_str()) {
                    problems.push(ConfigProblem::Invalid {
                        key: section.clone(),
                        value: None,
                        reason: "must be a table of keys".to_owned(),
                        fix: format!("write it as [{section}] followed by key = value lines"),
                    });
                } else {
                    let all: Vec<String> = KEYS.iter().map(|k| k.path()).collect();
                    let suggestion = same_name.first().cloned().or_else(|| {
                        keys::nearest(section, all.iter().map(|s| s.as_str())).map(str::to_owned)
                    });
                    problems.push(ConfigProblem::UnknownKey {
                        key: section.clone(),
                        suggestion,
                    });
                }
                continue;
            };
            if !sections.contains(&section.as_str()) {
                problems.push(ConfigProblem::UnknownSection {
                    section: section.clone(),
                    suggestion: keys::nearest(section, sections.iter().copied()).map(str::to_owned),
                });
                continue;
            }
            let entries: std::collections::BTreeMap<_, _> = entries.iter().collect();
            for (name, value) in entries {
                let path = format!("{section}.{name}");
                let Some(key) = keys::find(&path) else {
                    problems.push(ConfigProblem::UnknownKey {
                        suggestion: suggest_key(section, name),
                        key: path,
                    });
                    continue;
                };
                match from_value(key.ty, value, key.secret) {
                    Ok(v) => self.set(key, v, Origin::File),
                    Err(found) => problems.push(ConfigProblem::Invalid {
                        key: path,
                        value: None,
                        reason: format!("must be {}, not {found}", key.ty.expected()),
                        fix: key.how_to_set(),
                    }),
                }
            }
        }
    }

    /// The add-on's options: a flat JSON object whose names [`super::addon::OPTIONS`] maps to keys.
    fn read_addon_options(&mut self, path: &Path, text: &str, problems: &mut Vec<ConfigProblem>) {
        let Some(table) = parse(path, text, config::FileFormat::Json, problems) else {
            return;
        };
        let table: std::collections::BTreeMap<_, _> = table.into_iter().collect();
        for (name, value) in &table {
            let Some(option) = super::addon::OPTIONS.iter().find(|o| o.name == name) else {
                // The Supervisor validated the options against config.yaml; an option we do not
                // read is one a newer add-on version added. Nothing to fix for the user.
                continue;
            };
            if matches!(value.kind, config::ValueKind::Nil) {
                continue;
            }
            let Some(key) = keys::find(option.key) else {
                problems.push(ConfigProblem::Invalid {
                    key: option.key.to_owned(),
                    value: None,
                    reason: format!("is not supported by this version (add-on option {name})"),
                    fix: format!("clear the add-on option {name}"),
                });
                continue;
            };
            let value = (option.to_key)(value);
            match from_value(key.ty, &value, key.secret) {
                Ok(v) => self.set(key, v, Origin::Addon(name.clone())),
                Err(found) => problems.push(ConfigProblem::Invalid {
                    key: key.path(),
                    value: None,
                    reason: format!("must be {}, not {found}", key.ty.expected()),
                    fix: Origin::Addon(name.clone()).fix(key),
                }),
            }
        }
    }

    fn read_env(&mut self, env: &HashMap<String, String>, problems: &mut Vec<ConfigProblem>) {
        // Tesla-guide names first, so that the TESLASYNC_ form wins when both are set.
        for key in KEYS {
            if let Some(alias) = key.alias {
                self.read_var(key, alias, env, problems);
            }
        }
        let mut names: Vec<&String> = env
            .keys()
            .filter(|name| name.starts_with("TESLASYNC_"))
            .collect();
        names.sort();
        for name in names {
            match KEYS.iter().find(|k| k.env() == *name) {
                Some(key) => self.read_var(key, name, env, problems),
                None => {
                    if env[name].is_empty() {
                        continue;
                    }
                    let known: Vec<String> = KEYS.iter().map(|k| k.env()).collect();
                    problems.push(ConfigProblem::UnknownEnv {
                        var: name.clone(),
                        suggestion: keys::nearest(name, known.iter().map(|s| s.as_str()))
                            .map(str::to_owned),
                    });
                }
            }
        }
    }

    fn read_var(
        &mut self,
        key: &'static Key,
        var: &str,
        env: &HashMap<String, String>,
        problems: &mut Vec<ConfigProblem>,
    ) {
        // Empty counts as unset: compose files pass `${VAR}` through even when VAR is unset.
        let Some(text) = env.get(var).filter(|v| !v.is_empty()) else {
            return;
        };
        match from_env_str(key.ty, text) {
            Ok(v) => self.set(key, v, Origin::Env(var.to_owned())),
            Err(()) => problems.push(ConfigProblem::Invalid {
                key: key.path(),
                value: (!key.secret).then(|| text.clone()),
                reason: format!("must be {}", env_expected(key.ty)),
                fix: Origin::Env(var.to_owned()).fix(key),
            }),
        }
    }
}

/// The likely intended key for an unknown `section.name`: the same name in another section,
/// or the nearest key name.
fn suggest_key(section: &str, name: &str) -> Option<String> {
    let all: Vec<String> = KEYS.iter().map(|k| k.path()).collect();
    keys::nearest(&format!("{section}.{name}"), all.iter().map(|s| s.as_str()))
        .map(str::to_owned)
        .or_else(|| KEYS.iter().find(|k| k.name == name).map(|k| k.path()))
}

fn env_expected(ty: ValueType) -> &'static str {
    match ty {
        ValueType::Text => "text",
        ValueType::Bool => "true or false",
        ValueType::Seconds => "a whole number of seconds",
        ValueType::Number => "a number",
    }
}

/// A value from the environment (or a default in the key table, written the same way).
pub(super) fn from_env_str(ty: ValueType, text: &str) -> Result<RawValue, ()> {
    let text_trimmed = text.trim();
    match ty {
        ValueType::Text => Ok(RawValue::Text(text.to_owned())),
        ValueType::Bool => match text_trimmed.to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" => Ok(RawValue::Bool(true)),
            "false" | "0" | "no" | "off" => Ok(RawValue::Bool(false)),
            _ => Err(()),
        },
        ValueType::Seconds => text_trimmed.parse().map(RawValue::Int).map_err(|_| ()),
        ValueType::Number => text_trimmed.parse().map(RawValue::Float).map_err(|_| ()),
    }
}

/// Parses one source with the `config` crate into its top-level table.
fn parse(
    path: &Path,
    text: &str,
    format: config::FileFormat,
    problems: &mut Vec<ConfigProblem>,
) -> Option<config::Map<String, config::Value>> {
    let parsed = config::Config::builder()
        .add_source(config::File::from_str(text, format))
        .build()
        .and_then(|c| c.try_deserialize::<config::Map<String, config::Value>>());
    match parsed {
        Ok(t) => Some(t),
        Err(e) => {
            problems.push(ConfigProblem::Syntax {
                path: path.to_owned(),
                message: e.to_string(),
            });
            None
        }
    }
}

/// A value from the file or the add-on options; `Err` describes what was found instead (without
/// the value itself when it is a secret).
fn from_value(ty: ValueType, value: &config::Value, secret: bool) -> Result<RawValue, String> {
    use config::ValueKind as K;
    match (ty, &value.kind) {
        (ValueType::Text, K::String(s)) => Ok(RawValue::Text(s.clone())),
        (ValueType::Bool, K::Boolean(b)) => Ok(RawValue::Bool(*b)),
        (ValueType::Seconds, K::I64(i)) => Ok(RawValue::Int(*i)),
        (ValueType::Number, K::Float(x)) => Ok(RawValue::Float(*x)),
        #[allow(clippy::cast_precision_loss)] // config-sized integers are exact in f64
        (ValueType::Number, K::I64(i)) => Ok(RawValue::Float(*i as f64)),
        (_, other) if secret => Err(match other {
            K::I64(_) | K::I128(_) | K::U64(_) | K::U128(_) => "an integer".to_owned(),
            K::String(_) => "a string".to_owned(),
            K::Float(_) => "a float".to_owned(),
            K::Boolean(_) => "a boolean".to_owned(),
            K::Array(_) => "a list".to_owned(),
            K::Table(_) => "a table".to_owned(),
            K::Nil => "nothing".to_owned(),
        }),
        (_, other) => Err(match other {
            K::String(s) => format!("the string {s:?}"),
            K::I64(i) => format!("the integer {i}"),
            K::I128(i) => format!("the integer {i}"),
            K::U64(i) => format!("the integer {i}"),
            K::U128(i) => format!("the integer {i}"),
            K::Float(x) => format!("the number {x}"),
            K::Boolean(b) => format!("{b}"),
            K::Array(_) => "a list".to_owned(),
            K::Table(_) => "a table".to_owned(),
            K::Nil => "nothing".to_owned(),
        }),
    }
}
