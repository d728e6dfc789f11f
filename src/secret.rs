//! `secret`: placeholder until the config branch lands.
#[derive(Clone, serde::Deserialize, PartialEq, Eq)]
pub struct Secret(String);
impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}
impl From<String> for Secret {
    fn from(s: String) -> Self {
        Secret(s)
    }
}
impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}
