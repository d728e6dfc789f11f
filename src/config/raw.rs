//! Stage one: the values as written. Reads defaults, the TOML file (through serde, as a
//! `toml::Table`) and the environment, in that order of precedence, into one value per key.
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
        let table: toml::Table = match toml::from_str(text) {
            Ok(t) => t,
            Err(e) => {
                problems.push(ConfigProblem::Syntax {
                    path: path.to_owned(),
                    message: e.to_string(),
                });
                return;
            }
        };
        let sections = keys::sections();
        for (section, value) in &table {
            let Some(entries) = value.as_table() else {
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
            for (name, value) in entries {
                let path = format!("{section}.{name}");
                let Some(key) = keys::find(&path) else {
                    problems.push(ConfigProblem::UnknownKey {
                        suggestion: suggest_key(section, name),
                        key: path,
                    });
                    continue;
                };
                match from_toml(key.ty, value, key.secret) {
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

/// A value from the TOML file; `Err` describes what was found instead (without the value
/// itself when it is a secret).
fn from_toml(ty: ValueType, value: &toml::Value, secret: bool) -> Result<RawValue, String> {
    match (ty, value) {
        (ValueType::Text, toml::Value::String(s)) => Ok(RawValue::Text(s.clone())),
        (ValueType::Bool, toml::Value::Boolean(b)) => Ok(RawValue::Bool(*b)),
        (ValueType::Seconds, toml::Value::Integer(i)) => Ok(RawValue::Int(*i)),
        (ValueType::Number, toml::Value::Float(x)) => Ok(RawValue::Float(*x)),
        #[allow(clippy::cast_precision_loss)] // config-sized integers are exact in f64
        (ValueType::Number, toml::Value::Integer(i)) => Ok(RawValue::Float(*i as f64)),
        (_, other) if secret => Err(match other.type_str() {
            "integer" => "an integer".to_owned(),
            kind => format!("a {kind}"),
        }),
        (_, other) => Err(match other {
            toml::Value::String(s) => format!("the string {s:?}"),
            toml::Value::Integer(i) => format!("the integer {i}"),
            toml::Value::Float(x) => format!("the number {x}"),
            toml::Value::Boolean(b) => format!("{b}"),
            toml::Value::Datetime(d) => format!("the date {d}"),
            toml::Value::Array(_) => "a list".to_owned(),
            toml::Value::Table(_) => "a table".to_owned(),
        }),
    }
}
