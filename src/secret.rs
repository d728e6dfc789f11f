//! `secret`: a string that never prints itself.
//!
//! Owns [`Secret`], the type for every credential TeslaSync handles (Tesla client secret, MQTT
//! password, the storage encryption key, OAuth tokens, the admin token). Its `Debug` and `Display`
//! print `<redacted>`, so a secret cannot reach a log line, an error message or a `{:?}` of a
//! config struct by accident; the only way to the value is the explicit [`Secret::expose`], which
//! is easy to grep for.
//!
//! It deliberately does not implement `Serialize`: writing a secret anywhere (MQTT, JSON, the
//! store) should be a visible decision at the call site (`secret.expose()`), never a side effect
//! of deriving `Serialize` on a struct that happens to hold one.
//!
//! The value is not zeroized on drop; the type keeps secrets out of output, it does not defend
//! against someone reading process memory.

use std::fmt;

use serde::{Deserialize, Deserializer};

/// A credential. Prints as `<redacted>`; read it with [`Secret::expose`].
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    /// Wraps a value.
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The value itself. Every use is a place where the secret leaves its wrapper: send it to
    /// the service it belongs to, never to a log.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// True for an empty string (an unset variable passed through by a compose file, for
    /// example), which callers usually treat as "not configured".
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// Constant-time in the contents (the length still shows), because the web server compares a
/// presented admin token with the configured one and an early-exit `==` would leak how many
/// leading bytes matched.
impl PartialEq for Secret {
    fn eq(&self, other: &Secret) -> bool {
        let (a, b) = (self.0.as_bytes(), other.0.as_bytes());
        if a.len() != b.len() {
            return false;
        }
        a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }
}

impl Eq for Secret {}

impl From<String> for Secret {
    fn from(value: String) -> Secret {
        Secret(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Secret {
        Secret(value.to_owned())
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Secret, D::Error> {
        String::deserialize(deserializer).map(Secret)
    }
}

#[cfg(test)]
mod tests {
    use super::Secret;

    #[test]
    fn debug_and_display_never_show_the_value() {
        let s = Secret::from("hunter2");
        assert_eq!(format!("{s:?}"), "<redacted>");
        assert_eq!(format!("{s}"), "<redacted>");
        #[derive(Debug)]
        #[allow(dead_code)] // only read through Debug
        struct Holder {
            password: Secret,
        }
        let shown = format!("{:?}", Holder { password: s });
        assert!(!shown.contains("hunter2"), "{shown}");
    }

    #[test]
    fn expose_returns_the_value() {
        assert_eq!(Secret::new("abc").expose(), "abc");
        assert_eq!(Secret::from(String::from("xyz")).expose(), "xyz");
        assert!(Secret::from("").is_empty());
    }

    #[test]
    fn deserializes_from_a_plain_string() {
        let s: Secret = serde_json::from_str("\"tok\"").unwrap();
        assert_eq!(s.expose(), "tok");
        assert!(serde_json::from_str::<Secret>("42").is_err());
    }

    #[test]
    fn equality_compares_contents() {
        assert_eq!(Secret::from("same"), Secret::from("same"));
        assert_ne!(Secret::from("same"), Secret::from("sane"));
        assert_ne!(Secret::from("same"), Secret::from("same!"));
    }
}
