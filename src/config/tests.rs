use std::collections::HashMap;
use std::io::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::*;

const KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// Loads `toml` (written to a temporary file) with `vars` as the environment.
fn load(toml: &str, vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(toml.as_bytes()).unwrap();
    Config::load_from(Some(file.path()), &env(vars))
}

/// The problem messages of a failed load.
fn problems(result: Result<Config, ConfigError>) -> Vec<String> {
    match result {
        Ok(c) => panic!("expected problems, got {c:?}"),
        Err(e) => e.problems().iter().map(ToString::to_string).collect(),
    }
}

fn example_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("config.example.toml")
}

#[test]
fn defaults_match_the_contract() {
    let c = Config::defaults();
    assert_eq!(c.tesla.client_id, None);
    assert_eq!(c.tesla.client_secret, None);
    assert_eq!(c.tesla.redirect_uri, None);
    assert_eq!(c.tesla.region, Region::Auto);
    assert_eq!(c.tesla.api_base_url, None);
    assert_eq!(
        c.tesla.auth_base_url.as_str(),
        "https://fleet-auth.prd.vn.cloud.tesla.com/"
    );
    assert_eq!(
        c.tesla.fleet_api_base().as_str(),
        "https://fleet-api.prd.na.vn.cloud.tesla.com/"
    );
    assert_eq!(c.mqtt.url.as_str(), "mqtt://127.0.0.1:1883");
    assert_eq!(
        (c.mqtt.host().as_str(), c.mqtt.port(), c.mqtt.tls()),
        ("127.0.0.1", 1883, false)
    );
    assert_eq!(c.mqtt.username, None);
    assert_eq!(c.mqtt.client_id, "teslasync");
    assert_eq!(c.mqtt.base_topic, "teslasync");
    assert_eq!(c.mqtt.discovery_prefix, "homeassistant");
    assert_eq!(c.mqtt.discovery, DiscoveryMode::Device);
    assert_eq!(c.storage.path, PathBuf::from("./data"));
    assert_eq!(c.storage.encryption_key, None);
    assert_eq!(
        c.http.listen,
        "127.0.0.1:8080".parse::<SocketAddr>().unwrap()
    );
    assert_eq!(c.http.public_url, None);
    assert_eq!(c.http.forward_auth_header, None);
    assert_eq!(c.http.admin_token, None);
    assert!(c.polling.enabled);
    assert_eq!(c.polling.list_interval, Duration::from_secs(60));
    assert_eq!(c.polling.online_interval, Duration::from_secs(600));
    assert_eq!(c.polling.active_interval, Duration::from_secs(60));
    assert_eq!(c.polling.idle_before_sleep, Duration::from_secs(15 * 60));
    assert_eq!(c.polling.sleep_window, Duration::from_secs(21 * 60));
    assert!(!c.telemetry.enabled);
    assert!((c.budget.monthly_usd - 10.0).abs() < f64::EPSILON);
    assert_eq!(c.log.level, "info");
    assert_eq!(Config::load_from(None, &HashMap::new()).unwrap(), c);
}

#[test]
fn every_key_in_the_table_is_read_exactly_once() {
    let mut problems = Vec::new();
    let raw = RawConfig::collect(None, None, &HashMap::new(), &mut problems);
    let (_, mut read) = resolve(&raw, &mut problems);
    assert!(problems.is_empty(), "{problems:?}");
    read.sort_unstable();
    let mut table: Vec<String> = keys::KEYS.iter().map(keys::Key::path).collect();
    table.sort_unstable();
    assert_eq!(read, table);
}

#[test]
fn environment_overrides_file_overrides_defaults() {
    let c = load(
        "[mqtt]\nurl = \"mqtt://file-broker:1883\"\nbase_topic = \"cars\"\n\
         [polling]\nonline_interval_secs = 300\nenabled = true\n",
        &[
            ("TESLASYNC_MQTT__URL", "mqtts://env-broker"),
            ("TESLASYNC_POLLING__ENABLED", "off"),
            ("TESLASYNC_POLLING__ACTIVE_INTERVAL_SECS", "30"),
            ("TESLASYNC_BUDGET__MONTHLY_USD", "2.5"),
        ],
    )
    .unwrap();
    assert_eq!(c.mqtt.url.as_str(), "mqtts://env-broker", "env beats file");
    assert_eq!(
        (c.mqtt.host().as_str(), c.mqtt.port(), c.mqtt.tls()),
        ("env-broker", 8883, true)
    );
    assert_eq!(c.mqtt.base_topic, "cars", "file beats default");
    assert_eq!(
        c.mqtt.discovery_prefix, "homeassistant",
        "default when neither"
    );
    assert!(!c.polling.enabled);
    assert_eq!(c.polling.online_interval, Duration::from_secs(300));
    assert_eq!(c.polling.active_interval, Duration::from_secs(30));
    assert!((c.budget.monthly_usd - 2.5).abs() < f64::EPSILON);
}

#[test]
fn tesla_guide_variables_set_their_keys_and_teslasync_names_win() {
    let vars = [
        ("TESLA_CLIENT_ID", "guide-id"),
        ("TESLA_CLIENT_SECRET", "guide-secret"),
        ("TESLA_REDIRECT_URI", "https://ha.example.com/auth/callback"),
        ("TESLA_API_BASE_URL", "http://127.0.0.1:4443"),
        ("ENCRYPTION_KEY", KEY),
    ];
    let c = Config::load_from(None, &env(&vars)).unwrap();
    assert_eq!(c.tesla.client_id.as_deref(), Some("guide-id"));
    assert_eq!(
        c.tesla.client_secret.as_ref().map(Secret::expose),
        Some("guide-secret")
    );
    assert_eq!(
        c.tesla.redirect_uri.as_deref(),
        Some("https://ha.example.com/auth/callback")
    );
    assert_eq!(c.tesla.fleet_api_base().as_str(), "http://127.0.0.1:4443/");
    assert_eq!(
        c.storage.encryption_key.as_ref().map(Secret::expose),
        Some(KEY)
    );

    let mut both = vars.to_vec();
    both.push(("TESLASYNC_TESLA__CLIENT_ID", "teslasync-id"));
    let c = Config::load_from(None, &env(&both)).unwrap();
    assert_eq!(c.tesla.client_id.as_deref(), Some("teslasync-id"));

    // Aliases also beat the file.
    let c = load(
        "[tesla]\nclient_id = \"file-id\"\n",
        &[("TESLA_CLIENT_ID", "guide-id")],
    )
    .unwrap();
    assert_eq!(c.tesla.client_id.as_deref(), Some("guide-id"));
}

#[test]
fn empty_values_count_as_unset() {
    let c = load(
        "[mqtt]\nusername = \"\"\n[tesla]\ndomain = \"\"\n",
        &[
            ("TESLA_CLIENT_SECRET", ""),
            ("TESLASYNC_MQTT__URL", ""),
            ("TESLASYNC_NOT__A_KEY", ""),
        ],
    )
    .unwrap();
    assert_eq!(c.mqtt.username, None);
    assert_eq!(c.tesla.domain, None);
    assert_eq!(c.tesla.client_secret, None);
    assert_eq!(c.mqtt.url.as_str(), "mqtt://127.0.0.1:1883");
}

#[test]
fn bad_mqtt_url_message_names_key_and_fix() {
    assert_eq!(
        problems(load("[mqtt]\nurl = \"tcp://x\"\n", &[])),
        [
            r#"mqtt.url "tcp://x" must start with mqtt:// or mqtts:// (set [mqtt] url or TESLASYNC_MQTT__URL)"#
        ]
    );
    // From the environment, the message points at the variable that set it.
    assert_eq!(
        problems(load("", &[("TESLASYNC_MQTT__URL", "tcp://x")])),
        [
            r#"mqtt.url "tcp://x" must start with mqtt:// or mqtts:// (set by TESLASYNC_MQTT__URL, which overrides [mqtt] url)"#
        ]
    );
}

#[test]
fn every_invalid_value_names_its_key_and_how_to_set_it() {
    let cases: &[(&str, &str, &str, &str)] = &[
        (
            "TESLASYNC_TESLA__REGION",
            "us",
            "tesla.region",
            "auto, na, eu or cn",
        ),
        (
            "TESLA_REDIRECT_URI",
            "localhost/callback",
            "tesla.redirect_uri",
            "not a URL",
        ),
        (
            "TESLA_API_BASE_URL",
            "ftp://x",
            "tesla.api_base_url",
            "http:// or https://",
        ),
        (
            "TESLASYNC_TESLA__AUTH_BASE_URL",
            "nope",
            "tesla.auth_base_url",
            "not a URL",
        ),
        (
            "TESLASYNC_TESLA__DOMAIN",
            "https://cars.example.com/",
            "tesla.domain",
            "\"cars.example.com\"",
        ),
        (
            "TESLA_CLIENT_ID",
            "abc def",
            "tesla.client_id",
            "stray space",
        ),
        ("TESLASYNC_MQTT__URL", "mqtt://", "mqtt.url", "host"),
        ("TESLASYNC_MQTT__CLIENT_ID", " ", "mqtt.client_id", "empty"),
        (
            "TESLASYNC_MQTT__BASE_TOPIC",
            "tesla/#",
            "mqtt.base_topic",
            "wildcards",
        ),
        (
            "TESLASYNC_MQTT__BASE_TOPIC",
            "/tesla",
            "mqtt.base_topic",
            "start or end with /",
        ),
        (
            "TESLASYNC_MQTT__DISCOVERY_PREFIX",
            "a//b",
            "mqtt.discovery_prefix",
            "empty level",
        ),
        (
            "TESLASYNC_MQTT__DISCOVERY",
            "entity",
            "mqtt.discovery",
            "device or component",
        ),
        (
            "ENCRYPTION_KEY",
            "too-short",
            "storage.encryption_key",
            "openssl rand -base64 32",
        ),
        (
            "TESLASYNC_HTTP__LISTEN",
            "localhost:8080",
            "http.listen",
            "127.0.0.1:8080",
        ),
        (
            "TESLASYNC_HTTP__PUBLIC_URL",
            "teslasync.local",
            "http.public_url",
            "not a URL",
        ),
        (
            "TESLASYNC_HTTP__FORWARD_AUTH_HEADER",
            "Remote User",
            "http.forward_auth_header",
            "header",
        ),
        (
            "TESLASYNC_HTTP__ADMIN_TOKEN",
            "short",
            "http.admin_token",
            "16 characters",
        ),
        (
            "TESLASYNC_POLLING__ENABLED",
            "maybe",
            "polling.enabled",
            "true or false",
        ),
        (
            "TESLASYNC_POLLING__LIST_INTERVAL_SECS",
            "1m",
            "polling.list_interval_secs",
            "whole number",
        ),
        (
            "TESLASYNC_POLLING__ONLINE_INTERVAL_SECS",
            "0",
            "polling.online_interval_secs",
            "between 1 and 86400",
        ),
        (
            "TESLASYNC_POLLING__SLEEP_WINDOW_SECS",
            "600000",
            "polling.sleep_window_secs",
            "86400",
        ),
        (
            "TESLASYNC_TELEMETRY__ENABLED",
            "2",
            "telemetry.enabled",
            "true or false",
        ),
        (
            "TESLASYNC_BUDGET__MONTHLY_USD",
            "-1",
            "budget.monthly_usd",
            "zero or more",
        ),
        (
            "TESLASYNC_BUDGET__MONTHLY_USD",
            "ten",
            "budget.monthly_usd",
            "a number",
        ),
        (
            "TESLASYNC_LOG__LEVEL",
            "verbose",
            "log.level",
            "error, warn, info, debug or trace",
        ),
    ];
    for (var, value, key, reason) in cases {
        let found = problems(Config::load_from(None, &env(&[(var, value)])));
        assert_eq!(found.len(), 1, "{var}={value}: {found:?}");
        let msg = &found[0];
        assert!(
            msg.starts_with(&format!("{key} ")),
            "{var}: should name {key}: {msg}"
        );
        assert!(msg.contains(reason), "{var}: should say {reason:?}: {msg}");
        assert!(
            msg.ends_with(&format!(
                "(set by {var}, which overrides [{}] {})",
                key.split_once('.').unwrap().0,
                key.split_once('.').unwrap().1
            )),
            "{msg}"
        );
    }
}

#[test]
fn wrong_types_in_the_file_say_what_was_expected() {
    let found = problems(load(
        "[polling]\nlist_interval_secs = \"60\"\nenabled = \"yes\"\n[mqtt]\nclient_id = 5\n\
         [budget]\nmonthly_usd = \"10\"\n",
        &[],
    ));
    assert_eq!(
        found,
        [
            "budget.monthly_usd must be a number (without quotes), not the string \"10\" (set [budget] monthly_usd or TESLASYNC_BUDGET__MONTHLY_USD)",
            "mqtt.client_id must be a string in quotes, not the integer 5 (set [mqtt] client_id or TESLASYNC_MQTT__CLIENT_ID)",
            "polling.enabled must be true or false (without quotes), not the string \"yes\" (set [polling] enabled or TESLASYNC_POLLING__ENABLED)",
            "polling.list_interval_secs must be a whole number of seconds (without quotes), not the string \"60\" (set [polling] list_interval_secs or TESLASYNC_POLLING__LIST_INTERVAL_SECS)",
        ]
    );
    // An integer is fine where a number is expected.
    let c = load("[budget]\nmonthly_usd = 20\n", &[]).unwrap();
    assert!((c.budget.monthly_usd - 20.0).abs() < f64::EPSILON);
}

#[test]
fn unknown_keys_suggest_the_nearest() {
    assert_eq!(
        problems(load("[mqtt]\nbsae_topic = \"x\"\n", &[])),
        ["unknown key mqtt.bsae_topic (did you mean mqtt.base_topic?)"]
    );
    assert_eq!(
        problems(load("[mqqt]\nurl = \"mqtt://x\"\n", &[])),
        ["unknown section [mqqt] (did you mean [mqtt]?)"]
    );
    // A key in the wrong section, or outside any section.
    assert_eq!(
        problems(load("[http]\nbase_topic = \"x\"\n", &[])),
        ["unknown key http.base_topic (did you mean mqtt.base_topic?)"]
    );
    assert_eq!(
        problems(load("url = \"mqtt://x\"\n", &[])),
        ["unknown key url (did you mean mqtt.url?)"]
    );
    // Nothing close: list what the section has.
    let msg = &problems(load("[log]\nformat = \"json\"\n", &[]))[0];
    assert_eq!(msg, "unknown key log.format (keys in [log] are level)");
    // Environment: the classic single underscore, and the old TeslaSync names.
    assert_eq!(
        problems(Config::load_from(
            None,
            &env(&[("TESLASYNC_MQTT_URL", "mqtt://x")])
        )),
        ["unknown environment variable TESLASYNC_MQTT_URL (did you mean TESLASYNC_MQTT__URL?)"]
    );
    assert_eq!(
        problems(Config::load_from(
            None,
            &env(&[("TESLASYNC_LOG_LEVEL", "debug")])
        )),
        ["unknown environment variable TESLASYNC_LOG_LEVEL (did you mean TESLASYNC_LOG__LEVEL?)"]
    );
    // Unrelated variables are none of our business.
    assert!(Config::load_from(None, &env(&[("MQTT_HOST", "x"), ("PATH", "/bin")])).is_ok());
}

#[test]
fn all_problems_are_collected() {
    let err = load(
        "[mqtt]\nurl = \"tcp://x\"\nbsae_topic = \"x\"\n[polling]\nlist_interval_secs = 0\n",
        &[
            ("TESLASYNC_TESLA__REGION", "mars"),
            ("ENCRYPTION_KEY", "nope"),
        ],
    )
    .unwrap_err();
    let keys: Vec<Option<&str>> = err.problems().iter().map(ConfigProblem::key).collect();
    assert_eq!(
        keys,
        [
            Some("mqtt.bsae_topic"),
            Some("tesla.region"),
            Some("mqtt.url"),
            Some("storage.encryption_key"),
            Some("polling.list_interval_secs"),
        ]
    );
    let text = err.to_string();
    assert!(
        text.starts_with("5 problems in the configuration:\n  - unknown key"),
        "{text}"
    );
    assert_eq!(text.lines().count(), 6);
    assert_eq!(ConfigError::EXIT_CODE, 2);
}

#[test]
fn file_errors_are_reported_with_the_path() {
    let missing = PathBuf::from("/nonexistent/teslasync.toml");
    let err = Config::load_from(Some(&missing), &HashMap::new()).unwrap_err();
    assert!(matches!(err.problems(), [ConfigProblem::Read { .. }]));
    assert!(
        err.to_string().contains("/nonexistent/teslasync.toml"),
        "{err}"
    );
    // Environment problems are still reported alongside.
    let err = Config::load_from(Some(&missing), &env(&[("TESLASYNC_MQTT__URL", "x")])).unwrap_err();
    assert_eq!(err.problems().len(), 2);

    let found = problems(load("[mqtt\nurl = 1", &[]));
    assert_eq!(found.len(), 1);
    assert!(
        found[0].contains("is not valid TOML") && found[0].contains("line 1"),
        "{}",
        found[0]
    );
}

#[test]
fn secrets_are_never_shown_in_messages() {
    let found = problems(load(
        "[tesla]\nclient_secret = 123456789\n",
        &[
            ("ENCRYPTION_KEY", "c2VjcmV0LWtleS12YWx1ZQ=="),
            ("TESLASYNC_HTTP__ADMIN_TOKEN", "tok3n-value"),
            ("TESLASYNC_MQTT__URL", "mqtt://user:pa55word@broker"),
            ("TESLASYNC_TESLA__CLIENT_SECRET", "has a space"),
        ],
    ));
    // The file's client_secret is wrong and so is the variable that overrides it: both count.
    assert_eq!(found.len(), 5, "{found:?}");
    assert!(found[0].contains("client_secret must be a string in quotes, not an integer"));
    for msg in &found {
        for secret in ["123456789", "c2VjcmV0", "tok3n", "pa55word", "has a space"] {
            assert!(!msg.contains(secret), "{secret} leaked: {msg}");
        }
    }
    assert!(found
        .iter()
        .any(|m| m.contains("mqtt.url") && m.contains("username and password")));
    let shown = format!(
        "{:?}",
        Config::load_from(None, &env(&[("ENCRYPTION_KEY", KEY)])).unwrap()
    );
    assert!(!shown.contains(KEY));
}

#[test]
fn a_password_needs_a_username() {
    assert_eq!(
        problems(load("[mqtt]\npassword = \"p\"\n", &[])),
        [
            "mqtt.password is set without a username; MQTT sends a password only together with a \
          user name (set [mqtt] username or TESLASYNC_MQTT__USERNAME)"
        ]
    );
    let c = load("[mqtt]\nusername = \"u\"\npassword = \"p\"\n", &[]).unwrap();
    assert_eq!(c.mqtt.password.as_ref().map(Secret::expose), Some("p"));
}

#[test]
fn storage_path_must_be_a_directory_if_it_exists() {
    let file = tempfile::NamedTempFile::new().unwrap();
    let path = file.path().display().to_string();
    let found = problems(Config::load_from(
        None,
        &env(&[("TESLASYNC_STORAGE__PATH", &path)]),
    ));
    assert_eq!(found.len(), 1);
    assert!(found[0].starts_with("storage.path") && found[0].contains("not a directory"));
    let c = Config::load_from(None, &env(&[("TESLASYNC_STORAGE__PATH", "/data")])).unwrap();
    assert_eq!(c.storage.path, PathBuf::from("/data"));
}

#[test]
fn regions_and_api_base() {
    for (text, region, host) in [
        (
            "NA",
            Region::Na,
            "https://fleet-api.prd.na.vn.cloud.tesla.com/",
        ),
        (
            "eu",
            Region::Eu,
            "https://fleet-api.prd.eu.vn.cloud.tesla.com/",
        ),
        (
            "Cn",
            Region::Cn,
            "https://fleet-api.prd.cn.vn.cloud.tesla.cn/",
        ),
        (
            "auto",
            Region::Auto,
            "https://fleet-api.prd.na.vn.cloud.tesla.com/",
        ),
    ] {
        let c = Config::load_from(None, &env(&[("TESLASYNC_TESLA__REGION", text)])).unwrap();
        assert_eq!(c.tesla.region, region);
        assert_eq!(c.tesla.fleet_api_base().as_str(), host);
        assert_eq!(text.to_ascii_lowercase(), region.to_string());
    }
    let c = load(
        "[tesla]\nregion = \"eu\"\napi_base_url = \"http://127.0.0.1:4443\"\n",
        &[],
    )
    .unwrap();
    assert_eq!(c.tesla.fleet_api_base().as_str(), "http://127.0.0.1:4443/");
    assert!(c
        .warnings()
        .iter()
        .any(|w| w.contains("tesla.region eu is ignored")));
}

#[test]
fn mqtt_host_port_and_tls() {
    let cases = [
        ("mqtt://broker.lan", "broker.lan", 1883, false),
        ("mqtts://broker.lan", "broker.lan", 8883, true),
        ("mqtts://broker.lan:8884", "broker.lan", 8884, true),
        ("mqtt://192.168.1.10:1884", "192.168.1.10", 1884, false),
        ("mqtt://[::1]:1883", "::1", 1883, false),
    ];
    for (url, host, port, tls) in cases {
        let c = Config::load_from(None, &env(&[("TESLASYNC_MQTT__URL", url)])).unwrap();
        assert_eq!(
            (c.mqtt.host().as_str(), c.mqtt.port(), c.mqtt.tls()),
            (host, port, tls),
            "{url}"
        );
    }
}

#[test]
fn redirect_uri_and_domain_are_kept_as_tesla_needs_them() {
    let c = Config::load_from(
        None,
        &env(&[
            ("TESLA_REDIRECT_URI", "https://ha.example.com"),
            ("TESLASYNC_TESLA__DOMAIN", "Cars.Example.com"),
        ]),
    )
    .unwrap();
    assert_eq!(
        c.tesla.redirect_uri.as_deref(),
        Some("https://ha.example.com"),
        "no added /"
    );
    assert_eq!(c.tesla.domain.as_deref(), Some("cars.example.com"));
}

#[test]
fn log_levels_accept_levels_and_directives() {
    for ok in [
        "info",
        "DEBUG",
        "warn,teslasync=trace",
        "teslasync::tesla=debug,info",
        "off",
    ] {
        let c = Config::load_from(None, &env(&[("TESLASYNC_LOG__LEVEL", ok)])).unwrap();
        assert_eq!(c.log.level, ok);
    }
    for bad in ["verbose", "teslasync=loud", "info,,", "=debug"] {
        assert!(
            Config::load_from(None, &env(&[("TESLASYNC_LOG__LEVEL", bad)])).is_err(),
            "{bad}"
        );
    }
}

#[test]
fn run_requires_a_key_and_a_client_id() {
    let err = Config::defaults().require_for_run().unwrap_err();
    let found: Vec<String> = err.problems().iter().map(ToString::to_string).collect();
    assert_eq!(found.len(), 2);
    assert!(
        found[0].starts_with("tesla.client_id is required but not set."),
        "{}",
        found[0]
    );
    assert!(found[0].ends_with("TESLA_CLIENT_ID)"), "{}", found[0]);
    assert!(found[1].starts_with("storage.encryption_key is required but not set."));
    assert!(
        found[1].contains("openssl rand -base64 32") && found[1].ends_with("or ENCRYPTION_KEY)")
    );
    let c = Config::load_from(
        None,
        &env(&[("TESLA_CLIENT_ID", "id"), ("ENCRYPTION_KEY", KEY)]),
    )
    .unwrap();
    assert!(c.require_for_run().is_ok());
}

#[test]
fn listening_on_all_interfaces_without_auth_is_warned_about() {
    assert!(Config::defaults().warnings().is_empty());
    let open =
        Config::load_from(None, &env(&[("TESLASYNC_HTTP__LISTEN", "0.0.0.0:8080")])).unwrap();
    assert!(
        open.warnings()[0].starts_with("http.listen 0.0.0.0:8080"),
        "{:?}",
        open.warnings()
    );
    let guarded = Config::load_from(
        None,
        &env(&[
            ("TESLASYNC_HTTP__LISTEN", "0.0.0.0:8080"),
            ("TESLASYNC_HTTP__ADMIN_TOKEN", "0123456789abcdef"),
        ]),
    )
    .unwrap();
    assert!(guarded.warnings().is_empty());
}

#[test]
fn example_file_is_generated_from_the_key_table() {
    let on_disk = std::fs::read_to_string(example_path()).unwrap();
    let generated = keys::example_toml();
    if on_disk != generated && std::env::var_os("TESLASYNC_WRITE_EXAMPLE").is_some() {
        std::fs::write(example_path(), &generated).unwrap();
        return;
    }
    assert!(
        on_disk == generated,
        "config.example.toml is out of date with src/config/keys.rs; regenerate it with \
         `TESLASYNC_WRITE_EXAMPLE=1 cargo test --lib example_file` and review the diff"
    );
}

#[test]
fn example_file_parses_to_the_defaults() {
    let c = Config::load_from(Some(&example_path()), &HashMap::new()).unwrap();
    assert_eq!(c, Config::defaults());
}

#[test]
fn example_file_lists_exactly_the_keys_of_the_table() {
    let text = std::fs::read_to_string(example_path()).unwrap();
    let mut section = String::new();
    let mut listed = Vec::new();
    for line in text.lines() {
        if let Some(s) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = s.to_owned();
            continue;
        }
        // `key = value` (has a default) or `# key = example` (unset by default).
        let assignment = line.strip_prefix("# ").unwrap_or(line);
        if let Some((name, _)) = assignment.split_once(" =") {
            if !name.is_empty() && name.chars().all(|c| c.is_ascii_lowercase() || c == '_') {
                listed.push(format!("{section}.{name}"));
            }
        }
    }
    let table: Vec<String> = keys::KEYS.iter().map(keys::Key::path).collect();
    assert_eq!(listed, table);
    // Uncommenting every sample must give a valid configuration too.
    let uncommented: String = text
        .lines()
        .map(|l| {
            let body = l.strip_prefix("# ").unwrap_or(l);
            let is_sample = body
                .split_once(" = ")
                .is_some_and(|(n, _)| listed.iter().any(|k| k.ends_with(&format!(".{n}"))));
            if is_sample {
                body.to_owned()
            } else {
                l.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    // Only the samples of the two generated secrets are placeholders that fail validation.
    let err = load(&uncommented, &[]).unwrap_err();
    let bad: Vec<Option<&str>> = err.problems().iter().map(ConfigProblem::key).collect();
    // Deliberately so: a working sample key would end up in real configurations.
    assert_eq!(
        bad,
        [Some("storage.encryption_key"), Some("http.admin_token")]
    );
}

#[test]
fn per_car_transport_overrides_are_vins_named_once() {
    let c = load(
        "[commands]\nsigned_vins = \"7saygdee1na000001, \"\nrest_vins = \"5YJSA1E2XJF000002\"\n",
        &[],
    )
    .unwrap();
    assert_eq!(
        c.commands.transport_override("7SAYGDEE1NA000001"),
        Some(TransportOverride::Signed)
    );
    assert_eq!(
        c.commands.transport_override("5YJSA1E2XJF000002"),
        Some(TransportOverride::Rest)
    );
    assert_eq!(c.commands.transport_override("5YJ3E1EA0PF000003"), None);

    let p = problems(load("[commands]\nsigned_vins = \"not-a-vin\"\n", &[]));
    assert!(
        p[0].contains("commands.signed_vins") && p[0].contains("not a VIN"),
        "{p:?}"
    );
    let p = problems(load(
        "[commands]\nsigned_vins = \"5YJSA1E2XJF000002\"\nrest_vins = \"5YJSA1E2XJF000002\"\n",
        &[],
    ));
    assert!(p[0].contains("name each car once"), "{p:?}");
}

#[test]
fn trusted_proxies_are_addresses_or_networks() {
    let c = load(
        "[http]\ntrusted_proxies = \"172.30.32.2, 10.0.0.0/8, ::1\"\n",
        &[],
    )
    .unwrap();
    let ip = |s: &str| s.parse::<std::net::IpAddr>().unwrap();
    let nets = &c.http.trusted_proxies;
    assert!(nets[0].contains(ip("172.30.32.2")) && !nets[0].contains(ip("172.30.32.3")));
    assert!(nets[1].contains(ip("10.200.1.1")) && !nets[1].contains(ip("11.0.0.1")));
    assert!(
        nets[1].contains(ip("::ffff:10.0.0.5")),
        "IPv4 clients on a dual-stack socket"
    );
    assert!(nets[2].contains(ip("::1")));
    let p = problems(load("[http]\ntrusted_proxies = \"10.0.0.0/33\"\n", &[]));
    assert!(
        p[0].contains("http.trusted_proxies") && p[0].contains("prefix"),
        "{p:?}"
    );
    let p = problems(load("[http]\ntrusted_proxies = \"proxy.local\"\n", &[]));
    assert!(p[0].contains("not an IP address"), "{p:?}");
}

/// Loads `toml` and the add-on `options` (JSON) with the environment `vars`.
fn load_addon(toml: &str, options: &str, vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(toml.as_bytes()).unwrap();
    let mut opts = tempfile::NamedTempFile::new().unwrap();
    opts.write_all(options.as_bytes()).unwrap();
    Config::load_sources(Some(file.path()), Some(opts.path()), &env(vars))
}

#[test]
fn addon_options_sit_between_the_file_and_the_environment() {
    let options = r#"{"client_id": "from-options", "region": "eu", "domain": "ts.example.com",
        "telemetry": true, "telemetry_port": 8443, "monthly_budget_usd": 12.5, "log_level": "debug",
        "client_secret": "s3cret", "some_future_option": 1}"#;
    let cfg = load_addon(
        "[tesla]\nclient_id = \"from-file\"\nregion = \"na\"\n",
        options,
        &[("TESLASYNC_TESLA__REGION", "cn"), ("SUPERVISOR_TOKEN", "t")],
    )
    .unwrap();
    assert_eq!(cfg.tesla.client_id.as_deref(), Some("from-options"));
    assert_eq!(cfg.tesla.region, Region::Cn, "the environment wins");
    assert_eq!(cfg.tesla.domain.as_deref(), Some("ts.example.com"));
    assert!(cfg.telemetry.enabled);
    assert_eq!(
        cfg.telemetry.port, 8443,
        "telemetry_port is the public port"
    );
    assert_eq!(
        cfg.telemetry.listen.port(),
        4443,
        "the receiver stays on the container port config.yaml declares"
    );
    assert_eq!(cfg.budget.monthly_usd, 12.5);
    assert_eq!(cfg.log.level, "debug");
    assert_eq!(
        cfg.tesla.client_secret.as_ref().map(|s| s.expose()),
        Some("s3cret")
    );
    assert_eq!(
        cfg.http.ingress_proxy,
        Some(SUPERVISOR_PROXY),
        "add-on: ingress trusted"
    );
}

#[test]
fn bad_addon_options_name_the_option_and_never_echo_a_secret() {
    let found = problems(load_addon(
        "",
        r#"{"region": "mars", "client_secret": 42, "monthly_budget_usd": "lots"}"#,
        &[],
    ));
    assert!(
        found
            .iter()
            .any(|p| p.contains("tesla.region") && p.contains("add-on option region")),
        "{found:?}"
    );
    assert!(
        found
            .iter()
            .any(|p| p.contains("budget.monthly_usd")
                && p.contains("add-on option monthly_budget_usd")),
        "{found:?}"
    );
    let secret = found
        .iter()
        .find(|p| p.contains("client_secret"))
        .expect("reported");
    assert!(!secret.contains("42"), "{secret}");
    let broken = problems(load_addon("", "{not json", &[]));
    assert_eq!(broken.len(), 1, "{broken:?}");
}

#[test]
fn reference_docs_are_generated_from_the_key_table() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/configuration.md");
    let generated = keys::reference_markdown();
    let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
    if on_disk != generated && std::env::var_os("TESLASYNC_WRITE_EXAMPLE").is_some() {
        std::fs::write(&path, &generated).unwrap();
        return;
    }
    assert!(
        on_disk == generated,
        "docs/configuration.md is out of date with src/config/keys.rs; regenerate it with \
         `TESLASYNC_WRITE_EXAMPLE=1 cargo test --lib reference` and review the diff"
    );
}
