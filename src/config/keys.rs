//! The key table: the one place where each configuration key's name, type, default, environment
//! names and documentation are written down.
//!
//! Everything else is derived from [`KEYS`]: the `TESLASYNC_<SECTION>__<KEY>` variable names,
//! the defaults that [`Config::defaults`](super::Config::defaults) starts from, the "how to set
//! it" part of every error message, did-you-mean suggestions, and `config.example.toml` (which a
//! test compares with [`example_toml`]). Adding a key means adding a row here and reading it in
//! `Config`'s resolver; a test fails until both are done.

use std::fmt::Write as _;

/// How a key's value is written, which decides how TOML values and environment strings are
/// read in stage one. Meaning (URL, region, ...) is checked in stage two.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueType {
    /// A string (TOML `"..."`; the environment value as is).
    Text,
    /// `true` / `false` (the environment also accepts 1/0, yes/no, on/off).
    Bool,
    /// A whole number of seconds (TOML integer, no quotes).
    Seconds,
    /// A decimal number (TOML float or integer).
    Number,
}

impl ValueType {
    /// How the value should look, for "must be ..." messages.
    pub fn expected(self) -> &'static str {
        match self {
            ValueType::Text => "a string in quotes",
            ValueType::Bool => "true or false (without quotes)",
            ValueType::Seconds => "a whole number of seconds (without quotes)",
            ValueType::Number => "a number (without quotes)",
        }
    }
}

/// One configuration key.
#[derive(Debug)]
pub struct Key {
    /// TOML table, lower case (`mqtt`).
    pub section: &'static str,
    /// Key inside the table, lower case (`base_topic`).
    pub name: &'static str,
    pub ty: ValueType,
    /// The default written as an environment value would be (`teslasync`, `60`, `true`);
    /// `None` when the key is unset unless configured.
    pub default: Option<&'static str>,
    /// For keys without a default: a sample value, shown commented out in the example file.
    pub example: Option<&'static str>,
    /// The name Tesla's setup guides use (`TESLA_CLIENT_ID`); `TESLASYNC_...` wins over it.
    pub alias: Option<&'static str>,
    /// A credential: its value is never printed, not even in error messages.
    pub secret: bool,
    /// One or two sentences for the example file and `is not set` errors.
    pub doc: &'static str,
}

impl Key {
    const fn new(
        section: &'static str,
        name: &'static str,
        ty: ValueType,
        doc: &'static str,
    ) -> Key {
        Key {
            section,
            name,
            ty,
            default: None,
            example: None,
            alias: None,
            secret: false,
            doc,
        }
    }
    const fn text(section: &'static str, name: &'static str, doc: &'static str) -> Key {
        Key::new(section, name, ValueType::Text, doc)
    }
    const fn flag(section: &'static str, name: &'static str, doc: &'static str) -> Key {
        Key::new(section, name, ValueType::Bool, doc)
    }
    const fn secs(section: &'static str, name: &'static str, doc: &'static str) -> Key {
        Key::new(section, name, ValueType::Seconds, doc)
    }
    const fn number(section: &'static str, name: &'static str, doc: &'static str) -> Key {
        Key::new(section, name, ValueType::Number, doc)
    }
    const fn default(mut self, value: &'static str) -> Key {
        self.default = Some(value);
        self
    }
    const fn example(mut self, value: &'static str) -> Key {
        self.example = Some(value);
        self
    }
    const fn alias(mut self, var: &'static str) -> Key {
        self.alias = Some(var);
        self
    }
    const fn secret(mut self) -> Key {
        self.secret = true;
        self
    }

    /// Dotted name used in messages: `mqtt.base_topic`.
    pub fn path(&self) -> String {
        format!("{}.{}", self.section, self.name)
    }

    /// `TESLASYNC_MQTT__BASE_TOPIC`.
    pub fn env(&self) -> String {
        format!(
            "TESLASYNC_{}__{}",
            self.section.to_ascii_uppercase(),
            self.name.to_ascii_uppercase()
        )
    }

    /// Every way to set the key, for the end of error messages:
    /// `set [mqtt] url or TESLASYNC_MQTT__URL`.
    pub fn how_to_set(&self) -> String {
        match self.alias {
            Some(alias) => {
                format!(
                    "set [{}] {}, {} or {alias}",
                    self.section,
                    self.name,
                    self.env()
                )
            }
            None => format!("set [{}] {} or {}", self.section, self.name, self.env()),
        }
    }
}

/// Every configuration key, grouped by section in the order the example file shows them.
pub static KEYS: &[Key] = &[
    // [tesla]
    Key::text("tesla", "client_id", "Client ID of your application on developer.tesla.com.")
        .alias("TESLA_CLIENT_ID")
        .example("your-client-id"),
    Key::text(
        "tesla",
        "client_secret",
        "Client secret of that application. Prefer the environment variable to writing it here.",
    )
    .alias("TESLA_CLIENT_SECRET")
    .secret()
    .example("your-client-secret"),
    Key::text(
        "tesla",
        "redirect_uri",
        "OAuth redirect URI: TeslaSync's /api/v1/auth/callback as the browser reaches it, registered \
         with Tesla character for character. If it cannot reach TeslaSync, paste the address Tesla \
         sends you to into the status page or `teslasync auth login`.",
    )
    .alias("TESLA_REDIRECT_URI")
    .example("https://teslasync.example.com/api/v1/auth/callback"),
    Key::text(
        "tesla",
        "region",
        "Fleet API region: auto (ask Tesla, NA until known), na, eu or cn. Signing in works in \
         any region, but a wrong region answers 404 for every vehicle.",
    )
    .default("auto"),
    Key::text(
        "tesla",
        "api_base_url",
        "Fleet API base URL instead of the region's host, for a proxy or `teslasync sim`.",
    )
    .alias("TESLA_API_BASE_URL")
    .example("http://127.0.0.1:4443"),
    Key::text(
        "tesla",
        "auth_base_url",
        "Tesla's token host. Override it for `teslasync sim` or a proxy; an override then also \
         serves the sign-in page (otherwise the region's auth.tesla.com or auth.tesla.cn).",
    )
        .default("https://fleet-auth.prd.vn.cloud.tesla.com"),
    Key::text(
        "tesla",
        "domain",
        "Domain that serves your public key at \
         /.well-known/appspecific/com.tesla.3p.public-key.pem (partner registration, signed \
         commands). A bare host name: no scheme, port or path.",
    )
    .example("teslasync.example.com"),
    // [mqtt]
    Key::text("mqtt", "url", "Broker address: mqtt://host[:port] or mqtts://host[:port] for TLS.")
        .default("mqtt://127.0.0.1:1883"),
    Key::text("mqtt", "username", "Broker user name.").example("teslasync"),
    Key::text("mqtt", "password", "Broker password (needs a username).")
        .secret()
        .example("broker-password"),
    Key::text("mqtt", "client_id", "MQTT client identifier; unique per broker.")
        .default("teslasync"),
    Key::text(
        "mqtt",
        "base_topic",
        "Prefix of every TeslaSync topic (<base>/<VIN>/...). No + or #, no leading or trailing /.",
    )
    .default("teslasync"),
    Key::text(
        "mqtt",
        "discovery_prefix",
        "Home Assistant discovery prefix (Settings > MQTT in Home Assistant).",
    )
    .default("homeassistant"),
    Key::text(
        "mqtt",
        "discovery",
        "device: one discovery message per car; component: one per entity, for older Home \
         Assistant versions and other consumers.",
    )
    .default("device"),
    // [storage]
    Key::text(
        "storage",
        "path",
        "Directory for the database, the keycheck file and the command-signing key. The \
         add-on and the Docker image set /data.",
    )
    .default("./data"),
    Key::text(
        "storage",
        "encryption_key",
        "Key that seals tokens and state on disk: base64 of 32 random bytes, create one with \
         `openssl rand -base64 32`. Required by `teslasync run`. Keep a copy: without it the \
         stored data cannot be read.",
    )
    .alias("ENCRYPTION_KEY")
    .secret()
    .example("paste the output of: openssl rand -base64 32"),
    // [http]
    Key::text(
        "http",
        "listen",
        "Address and port of the web server (status page, OAuth callback). Use 0.0.0.0:8080 to \
         accept connections from other hosts.",
    )
    .default("127.0.0.1:8080"),
    Key::text(
        "http",
        "public_url",
        "URL at which users and Tesla reach the web server, if it is behind a proxy.",
    )
    .example("https://teslasync.example.com"),
    Key::text(
        "http",
        "forward_auth_header",
        "Name of the header in which an authenticating reverse proxy passes the signed-in user \
         (e.g. Remote-User).",
    )
    .example("Remote-User"),
    Key::text(
        "http",
        "trusted_proxies",
        "Comma-separated addresses (IP or IP/prefix) of the reverse proxy allowed to set \
         forward_auth_header; the header is ignored from anywhere else (add 127.0.0.1 for a proxy \
         on this machine).",
    )
    .example("172.30.32.2, 10.0.0.0/8"),
    Key::text(
        "http",
        "admin_token",
        "Password for the web UI's sign-in form, also accepted as a Bearer token by the admin \
         API; at least 16 characters (`openssl rand -hex 16`). Unset: a one-time sign-in link \
         is printed at start-up.",
    )
    .secret()
    .example("output of: openssl rand -hex 16"),
    // [polling]
    Key::flag("polling", "enabled", "Poll the Fleet API. Turn off to rely on telemetry only.")
        .default("true"),
    Key::secs(
        "polling",
        "list_interval_secs",
        "Seconds between vehicle list requests (free; tells whether a car is awake).",
    )
    .default("60"),
    Key::secs(
        "polling",
        "online_interval_secs",
        "Seconds between vehicle_data requests while a car is parked and awake.",
    )
    .default("600"),
    Key::secs(
        "polling",
        "active_interval_secs",
        "Seconds between vehicle_data requests while a car is driving.",
    )
    .default("60"),
    Key::secs(
        "polling",
        "charging_interval_secs",
        "Seconds between vehicle_data requests while a car is charging.",
    )
    .default("60"),
    Key::secs(
        "polling",
        "climate_interval_secs",
        "Seconds between vehicle_data requests while a parked car runs its climate (preconditioning, \
         dog or camp mode).",
    )
    .default("300"),
    Key::secs(
        "polling",
        "idle_before_sleep_secs",
        "Seconds a car may stay parked before vehicle_data stops, so that it can fall asleep.",
    )
    .default("900"),
    Key::secs(
        "polling",
        "sleep_window_secs",
        "Seconds to leave an idle car alone after that, long enough for it to fall asleep.",
    )
    .default("1260"),
    // [commands]
    Key::text(
        "commands",
        "signed_vins",
        "Comma-separated VINs to always command with the signed vehicle command protocol \
         (normally chosen per car from what Tesla reports).",
    )
    .example("7SAYGDEE1NA000001"),
    Key::text(
        "commands",
        "rest_vins",
        "Comma-separated VINs to always command over plain REST (pre-2021 Model S/X).",
    )
    .example("5YJSA1E2XJF000002"),
    Key::flag(
        "commands",
        "experimental",
        "Sign navigation commands with protobuf numbers that come from the Tesla app, not from \
         Tesla's published protocol. Off: cars that need signed commands refuse them before any \
         request.",
    )
    .default("false"),
    // [telemetry]
    Key::flag("telemetry", "enabled", "Receive Fleet Telemetry streamed by the cars.")
        .default("false"),
    Key::text(
        "telemetry",
        "mode",
        "receiver: cars stream to TeslaSync itself (mutual TLS on telemetry.listen); upstream: read \
         the MQTT output of Tesla's own fleet-telemetry server.",
    )
    .default("receiver"),
    Key::text(
        "telemetry",
        "listen",
        "Address the receiver listens on for cars (forward the public port here).",
    )
    .default("0.0.0.0:4443"),
    Key::text(
        "telemetry",
        "hostname",
        "Public host name cars connect to (pushed to the cars; must resolve to this machine from \
         the internet).",
    )
    .example("telemetry.example.com"),
    Key::number(
        "telemetry",
        "port",
        "Public port pushed to the cars, if the router forwards another port than listen's.",
    )
    .example("443"),
    Key::text(
        "telemetry",
        "tesla_ca_file",
        "PEM bundle of Tesla's vehicle CAs; cars' client certificates must chain to it. Default: \
         the bundle built into TeslaSync.",
    )
    .example("/data/tesla_prod_ca.crt"),
    Key::text(
        "telemetry",
        "client_ca_file",
        "Extra PEM trust anchors for client certificates (a test CA, a proxy's).",
    )
    .example("/data/extra_client_ca.pem"),
    Key::text(
        "telemetry",
        "server_cert_file",
        "Your own server certificate (PEM, leaf first, then its chain). Default: a private CA and \
         certificate generated once in storage.path.",
    )
    .example("/ssl/fullchain.pem"),
    Key::text(
        "telemetry",
        "server_key_file",
        "The private key of server_cert_file (PEM).",
    )
    .example("/ssl/privkey.pem"),
    Key::text(
        "telemetry",
        "upstream_url",
        "Upstream mode: the MQTT broker Tesla's fleet-telemetry server publishes to (reached with \
         mqtt.username and mqtt.password). Default: mqtt.url.",
    )
    .example("mqtt://localhost:1883"),
    Key::text(
        "telemetry",
        "upstream_topic_base",
        "Upstream mode: the fleet-telemetry server's mqtt.topic_base.",
    )
    .default("telemetry"),
    // [budget]
    Key::number(
        "budget",
        "monthly_usd",
        "Fleet API spend limit per month in US dollars (Tesla's monthly discount per developer account is $10).",
    )
    .default("10.0"),
    Key::number(
        "budget",
        "command_reserve_usd",
        "Part of monthly_usd kept for commands and wakes: polling stops when only this is left, \
         commands go on until the whole budget is spent.",
    )
    .default("1.0"),
    // [log]
    Key::text(
        "log",
        "level",
        "error, warn, info, debug or trace; directives such as \"info,teslasync=debug\" work too.",
    )
    .default("info"),
];

/// The sections, in table order.
pub fn sections() -> Vec<&'static str> {
    let mut out: Vec<&'static str> = Vec::new();
    for key in KEYS {
        if !out.contains(&key.section) {
            out.push(key.section);
        }
    }
    out
}

/// The key called `path` (`mqtt.url`).
pub fn find(path: &str) -> Option<&'static Key> {
    let (section, name) = path.split_once('.')?;
    KEYS.iter().find(|k| k.section == section && k.name == name)
}

pub use crate::util::nearest;

/// How `value` (written as an environment value would be) looks in TOML.
fn toml_literal(ty: ValueType, value: &str) -> String {
    match ty {
        ValueType::Text => toml::Value::String(value.to_owned()).to_string(),
        ValueType::Bool | ValueType::Seconds | ValueType::Number => value.to_owned(),
    }
}

/// Wraps `text` into `# ` comment lines of at most 100 columns, never inside a `code span`
/// (a command split over two lines cannot be copied).
fn comment(out: &mut String, text: &str) {
    let mut words: Vec<String> = Vec::new();
    let mut in_code = false;
    for word in text.split_whitespace() {
        match words.last_mut() {
            Some(last) if in_code => {
                last.push(' ');
                last.push_str(word);
            }
            _ => words.push(word.to_owned()),
        }
        if word.matches('`').count() % 2 == 1 {
            in_code = !in_code;
        }
    }
    let mut line = String::from("#");
    for word in words {
        if line.len() + 1 + word.len() > 100 && line.len() > 1 {
            out.push_str(&line);
            out.push('\n');
            line = String::from("#");
        }
        line.push(' ');
        line.push_str(&word);
    }
    out.push_str(&line);
    out.push('\n');
}

/// `docs/configuration.md`: every key, section by section, as a reference for users (a test keeps
/// the file equal to this; regenerate with `TESLASYNC_WRITE_EXAMPLE=1 cargo test --lib reference`).
pub fn reference_markdown() -> String {
    let mut out = String::from(
        "# Configuration reference\n\n\
         <!-- Generated from src/config/keys.rs; a test checks that the two agree. -->\n\n\
         TeslaSync reads, lowest precedence first: the defaults below, the TOML file given with \
         `-c FILE` (see `config.example.toml`), the Home Assistant add-on's options (when running \
         as an add-on), then the environment: `TESLASYNC_<SECTION>__<KEY>`, or the name Tesla's \
         guides use where one is listed. An empty variable counts as unset. Unknown keys and \
         variables are errors with a suggestion; every problem is reported at once, naming the \
         file key, add-on option or variable to fix. Durations are whole seconds (`*_secs`). \
         Secrets are never printed, not even in error messages.\n",
    );
    for section in sections() {
        let _ = write!(
            out,
            "\n## `[{section}]`\n\n| key | environment | default | meaning |\n|---|---|---|---|\n"
        );
        for key in KEYS.iter().filter(|k| k.section == section) {
            let env = match key.alias {
                Some(alias) => format!("`{}`, `{alias}`", key.env()),
                None => format!("`{}`", key.env()),
            };
            let default = match (key.default, key.example) {
                (Some(""), _) => "(empty)".to_owned(),
                (Some(d), _) => format!("`{d}`"),
                (None, Some(e)) if !key.secret => format!("unset (e.g. `{e}`)"),
                (None, _) => "unset".to_owned(),
            };
            let secret = if key.secret { " *Secret.*" } else { "" };
            let _ = writeln!(
                out,
                "| `{}` | {env} | {default} | {}{secret} |",
                key.name,
                key.doc.replace('|', "\\|").replace('<', "&lt;")
            );
        }
    }
    out
}

/// The text of `config.example.toml`, generated from [`KEYS`].
pub fn example_toml() -> String {
    let mut out = String::new();
    for line in [
        "TeslaSync configuration. Every key is optional: uncommented lines show the default,",
        "commented-out lines show a sample for keys that are unset by default.",
        "",
        "Every key can also be set in the environment as TESLASYNC_<SECTION>__<KEY>",
        "(TESLASYNC_MQTT__URL, TESLASYNC_POLLING__LIST_INTERVAL_SECS, ...), which overrides",
        "this file. The names used in Tesla's guides work too: TESLA_CLIENT_ID,",
        "TESLA_CLIENT_SECRET, TESLA_REDIRECT_URI, TESLA_API_BASE_URL, ENCRYPTION_KEY.",
        "An empty environment variable counts as unset.",
        "",
        "This file is generated from the key table in src/config/keys.rs; a test checks",
        "that the two agree.",
    ] {
        if line.is_empty() {
            out.push_str("#\n");
        } else {
            let _ = writeln!(out, "# {line}");
        }
    }
    for section in sections() {
        let _ = write!(out, "\n[{section}]\n");
        for key in KEYS.iter().filter(|k| k.section == section) {
            out.push('\n');
            comment(&mut out, key.doc);
            match key.alias {
                Some(alias) => {
                    let _ = writeln!(out, "# Environment: {} or {alias}.", key.env());
                }
                None => {
                    let _ = writeln!(out, "# Environment: {}.", key.env());
                }
            }
            match (key.default, key.example) {
                (Some(default), _) => {
                    let _ = writeln!(out, "{} = {}", key.name, toml_literal(key.ty, default));
                }
                (None, Some(example)) => {
                    let _ = writeln!(out, "# {} = {}", key.name, toml_literal(key.ty, example));
                }
                (None, None) => {
                    let _ = writeln!(out, "# {} =", key.name);
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_lower_case_and_grouped_by_section() {
        let mut seen = std::collections::HashSet::new();
        for key in KEYS {
            assert!(seen.insert(key.path()), "duplicate key {}", key.path());
            for part in [key.section, key.name] {
                assert!(
                    part.chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
                    "{} is not lower_snake_case",
                    key.path()
                );
            }
        }
        // Sections are contiguous, so the example file lists each once.
        let order: Vec<_> = KEYS.iter().map(|k| k.section).collect();
        let mut deduped = order.clone();
        deduped.dedup();
        assert_eq!(
            deduped,
            sections(),
            "keys of one section must be adjacent in KEYS"
        );
    }

    #[test]
    fn every_key_has_a_default_or_an_example_and_a_doc() {
        for key in KEYS {
            assert!(
                key.default.is_some() != key.example.is_some(),
                "{} needs exactly one of default and example",
                key.path()
            );
            assert!(
                key.doc.ends_with('.'),
                "{} doc should be a sentence",
                key.path()
            );
            assert!(
                !key.secret || key.default.is_none(),
                "{}: secrets have no default",
                key.path()
            );
        }
    }

    #[test]
    fn env_names_and_fix_hints() {
        let url = find("mqtt.url").unwrap();
        assert_eq!(url.env(), "TESLASYNC_MQTT__URL");
        assert_eq!(url.how_to_set(), "set [mqtt] url or TESLASYNC_MQTT__URL");
        let id = find("tesla.client_id").unwrap();
        assert_eq!(
            id.how_to_set(),
            "set [tesla] client_id, TESLASYNC_TESLA__CLIENT_ID or TESLA_CLIENT_ID"
        );
        assert!(find("mqtt.nope").is_none());
        assert!(find("nodot").is_none());
    }

    #[test]
    fn tesla_guide_aliases_map_to_the_documented_keys() {
        let aliases: Vec<(String, &str)> = KEYS
            .iter()
            .filter_map(|k| k.alias.map(|a| (k.path(), a)))
            .collect();
        assert_eq!(
            aliases,
            vec![
                ("tesla.client_id".to_owned(), "TESLA_CLIENT_ID"),
                ("tesla.client_secret".to_owned(), "TESLA_CLIENT_SECRET"),
                ("tesla.redirect_uri".to_owned(), "TESLA_REDIRECT_URI"),
                ("tesla.api_base_url".to_owned(), "TESLA_API_BASE_URL"),
                ("storage.encryption_key".to_owned(), "ENCRYPTION_KEY"),
            ]
        );
    }

    #[test]
    fn nearest_suggests_close_names_only() {
        let names = ["mqtt.base_topic", "mqtt.url", "mqtt.username"];
        assert_eq!(nearest("mqtt.bsae_topic", names), Some("mqtt.base_topic"));
        assert_eq!(nearest("MQTT.URL", names), Some("mqtt.url"));
        assert_eq!(nearest("storage.completely_different", names), None);
    }
}
