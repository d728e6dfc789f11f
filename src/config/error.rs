//! Configuration errors. Loading collects every problem before giving up, so that
//! `teslasync check` (and a failed start) can list them all at once; each problem's message ends
//! with how to fix it.

use std::fmt;
use std::path::PathBuf;

use super::keys;

/// Everything wrong with a configuration. Callers exit with [`ConfigError::EXIT_CODE`].
#[derive(Debug)]
pub struct ConfigError {
    problems: Vec<ConfigProblem>,
}

impl ConfigError {
    /// The process exit code for configuration errors (DESIGN §2: 2 = bad usage or
    /// configuration).
    pub const EXIT_CODE: i32 = 2;

    /// Wraps problems; `problems` must not be empty.
    pub fn new(problems: Vec<ConfigProblem>) -> ConfigError {
        debug_assert!(
            !problems.is_empty(),
            "a ConfigError needs at least one problem"
        );
        ConfigError { problems }
    }

    /// Each problem, in the order found (file, environment, then values in key-table order).
    pub fn problems(&self) -> &[ConfigProblem] {
        &self.problems
    }

    pub fn into_problems(self) -> Vec<ConfigProblem> {
        self.problems
    }
}

impl From<ConfigProblem> for ConfigError {
    fn from(problem: ConfigProblem) -> ConfigError {
        ConfigError {
            problems: vec![problem],
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.problems.as_slice() {
            [one] => write!(f, "{one}"),
            many => {
                write!(f, "{} problems in the configuration:", many.len())?;
                for problem in many {
                    write!(f, "\n  - {problem}")?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for ConfigError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self.problems.as_slice() {
            [one] => one.source(),
            _ => None,
        }
    }
}

/// One thing wrong with the configuration.
#[derive(Debug)]
#[non_exhaustive]
pub enum ConfigProblem {
    /// The file given with `-c` cannot be read.
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The file is not TOML.
    Syntax { path: PathBuf, message: String },
    /// A `[section]` that does not exist; `suggestion` is a section name.
    UnknownSection {
        section: String,
        suggestion: Option<String>,
    },
    /// A key that does not exist (`mqtt.bsae_topic`); `suggestion` is a dotted key.
    UnknownKey {
        key: String,
        suggestion: Option<String>,
    },
    /// A `TESLASYNC_...` variable that names no key; `suggestion` is a variable name.
    UnknownEnv {
        var: String,
        suggestion: Option<String>,
    },
    /// A value that is set but wrong. `value` is `None` for secrets, which are never shown.
    /// `fix` says where the value came from or how to set it.
    Invalid {
        key: String,
        value: Option<String>,
        reason: String,
        fix: String,
    },
    /// A key the command needs that is not set.
    Missing {
        key: String,
        doc: String,
        fix: String,
    },
}

impl ConfigProblem {
    /// The dotted key the problem is about, when there is one.
    pub fn key(&self) -> Option<&str> {
        match self {
            ConfigProblem::UnknownKey { key, .. }
            | ConfigProblem::Invalid { key, .. }
            | ConfigProblem::Missing { key, .. } => Some(key),
            _ => None,
        }
    }

    /// "`key` is required but not set", with the key's documentation and how to set it.
    ///
    /// # Panics
    /// If `key` is not in the key table: that is a bug in the caller, and every key used
    /// this way is exercised by a test.
    pub fn missing(key: &str) -> ConfigProblem {
        let k = keys::find(key).unwrap_or_else(|| panic!("{key} is not a configuration key"));
        ConfigProblem::Missing {
            key: k.path(),
            doc: k.doc.to_owned(),
            fix: k.how_to_set(),
        }
    }
}

impl fmt::Display for ConfigProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigProblem::Read { path, source } => write!(
                f,
                "cannot read config file {}: {source} (check the path given with -c, or leave \
                 -c out to use defaults and the environment)",
                path.display()
            ),
            ConfigProblem::Syntax { path, message } => write!(
                f,
                "config file {} is not valid TOML: {} (see config.example.toml for the format)",
                path.display(),
                message.trim_end()
            ),
            ConfigProblem::UnknownSection {
                section,
                suggestion,
            } => match suggestion {
                Some(s) => write!(f, "unknown section [{section}] (did you mean [{s}]?)"),
                None => write!(
                    f,
                    "unknown section [{section}] (sections are {})",
                    keys::sections().join(", ")
                ),
            },
            ConfigProblem::UnknownKey { key, suggestion } => match suggestion {
                Some(s) => write!(f, "unknown key {key} (did you mean {s}?)"),
                None => {
                    let section = key.split_once('.').map_or("", |(s, _)| s);
                    let names: Vec<&str> = keys::KEYS
                        .iter()
                        .filter(|k| k.section == section)
                        .map(|k| k.name)
                        .collect();
                    if names.is_empty() {
                        write!(
                            f,
                            "unknown key {key} (keys belong in a section such as [mqtt])"
                        )
                    } else {
                        write!(
                            f,
                            "unknown key {key} (keys in [{section}] are {})",
                            names.join(", ")
                        )
                    }
                }
            },
            ConfigProblem::UnknownEnv { var, suggestion } => match suggestion {
                Some(s) => write!(f, "unknown environment variable {var} (did you mean {s}?)"),
                None => write!(
                    f,
                    "unknown environment variable {var} (TESLASYNC_ variables are named \
                     TESLASYNC_<SECTION>__<KEY>, e.g. TESLASYNC_MQTT__URL; unset it or see \
                     config.example.toml)"
                ),
            },
            ConfigProblem::Invalid {
                key,
                value,
                reason,
                fix,
            } => match value {
                Some(v) => write!(f, "{key} {v:?} {reason} ({fix})"),
                None => write!(f, "{key} {reason} ({fix})"),
            },
            ConfigProblem::Missing { key, doc, fix } => {
                write!(f, "{key} is required but not set. {doc} ({fix})")
            }
        }
    }
}

impl std::error::Error for ConfigProblem {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ConfigProblem::Read { source, .. } => Some(source),
            _ => None,
        }
    }
}
