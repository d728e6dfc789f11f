//! Replays the saved corpus of each cargo-fuzz target (`fuzz/corpus/<target>/`) through the same
//! entry point the fuzzer runs (`teslasync::fuzzing`), so an input that once broke a parser stays
//! harmless. Each corpus holds inputs the parsers accept and inputs they refuse; both must be there.
//!
//! `TESLASYNC_WRITE_CORPUS=1 cargo test --test fuzz_corpus the_seed_inputs` (re)writes the seed inputs
//! below.

use std::path::PathBuf;

use teslasync::fuzzing;

fn corpus(target: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target)
}

/// Runs every file of `target`'s corpus through `run`; returns (accepted, refused).
fn replay(target: &str, run: fn(&[u8]) -> bool) -> (usize, usize) {
    let (mut accepted, mut refused) = (0, 0);
    for entry in std::fs::read_dir(corpus(target)).expect("the corpus exists") {
        let path = entry.unwrap().path();
        let bytes = std::fs::read(&path).unwrap();
        let ok = std::panic::catch_unwind(|| run(&bytes))
            .unwrap_or_else(|_| panic!("{} panics", path.display()));
        if ok {
            accepted += 1;
        } else {
            refused += 1;
        }
    }
    (accepted, refused)
}

/// The seeds: readable inputs for each target, written on request (they are also in git).
fn seeds() -> Vec<(&'static str, String, Vec<u8>)> {
    let set = |id: &str, aspect: u8, reported: Option<f64>, payload: &str| {
        assert!(fuzzing::is_control(id), "{id} is a control");
        let mut b = id.as_bytes().to_vec();
        b.push(0);
        b.push(aspect);
        if let Some(v) = reported {
            b.extend_from_slice(&v.to_le_bytes());
        } else if !payload.is_empty() {
            // Eight zero bytes: a car reporting 0 for its bounds.
            b.extend_from_slice(&0f64.to_le_bytes());
        }
        b.extend_from_slice(payload.as_bytes());
        b
    };
    let mut out = vec![
        (
            "set_payload",
            "charge_limit_80".into(),
            set("charge_state_charge_limit_soc", 0, Some(100.0), "80"),
        ),
        (
            "set_payload",
            "charge_limit_nan_bounds".into(),
            set("charge_state_charge_limit_soc", 0, Some(f64::NAN), "80"),
        ),
        (
            "set_payload",
            "charge_limit_huge".into(),
            set("charge_state_charge_limit_soc", 0, Some(1e300), "1e309"),
        ),
        (
            "set_payload",
            "lock".into(),
            set("vehicle_state_locked", 0, None, "LOCK"),
        ),
        (
            "set_payload",
            "lock_garbage".into(),
            set("vehicle_state_locked", 0, None, "L\u{0}CK\u{202e}"),
        ),
        (
            "set_payload",
            "climate_mode".into(),
            set("driver_temp", 1, Some(28.0), "heat_cool"),
        ),
        (
            "set_payload",
            "climate_temperature".into(),
            set("driver_temp", 2, Some(28.0), "21.5"),
        ),
        (
            "set_payload",
            "climate_temperature_inf".into(),
            set("driver_temp", 2, Some(f64::INFINITY), "-inf"),
        ),
        ("set_payload", "too_short".into(), vec![7]),
        // Found by the fuzzer: an hour too large for the minutes arithmetic panicked.
        (
            "set_payload",
            "crash_time_hour_overflow".into(),
            set(
                "charge_state_scheduled_departure_time_minutes",
                0,
                None,
                "1111111111:11:11",
            ),
        ),
    ];
    for (name, body) in [
        ("flash_lights", r#"{"command": "flash_lights", "id": "a1"}"#),
        (
            "charge_limit",
            r#"{"command": "set_charge_limit", "params": {"percent": 80}}"#,
        ),
        (
            "misspelt_param",
            r#"{"command": "actuate_trunk", "params": {"which": "front"}}"#,
        ),
        (
            "params_array",
            r#"{"command": "set_temps", "params": [1, 2]}"#,
        ),
        (
            "huge_number",
            r#"{"command": "set_charging_amps", "params": {"charging_amps": 1e400}}"#,
        ),
        (
            "negative_temp",
            r#"{"command": "set_temps", "params": {"driver_temp": -1e308, "passenger_temp": 20}}"#,
        ),
        ("unknown", r#"{"command": "open_the_pod_bay_doors"}"#),
        ("deep", &format!("{}{}", "[".repeat(200), "]".repeat(200))),
        ("not_json", "ON"),
    ] {
        out.push(("json_command", name.into(), body.as_bytes().to_vec()));
    }
    for (name, body) in [
        (
            "callback",
            r#"{"url": "https://teslasync.test/api/v1/auth/callback?code=NA_abc&state=xyz"}"#,
        ),
        (
            "callback_error",
            r#"{"url": "https://x.test/cb?error=access_denied&state=s"}"#,
        ),
        ("callback_not_url", r#"{"url": "\u0000\ud800 not a url"}"#),
        ("domain", r#"{"domain": "Teslasync.Example.COM"}"#),
        ("domain_bad", r#"{"domain": "../../etc/passwd"}"#),
        (
            "domain_long_label",
            &format!(r#"{{"domain": "{}.com"}}"#, "a".repeat(64)),
        ),
        ("wrong_types", r#"{"url": 5, "domain": ["x"]}"#),
        ("empty", "{}"),
        ("not_json", "url=https://x"),
    ] {
        out.push(("admin_body", name.into(), body.as_bytes().to_vec()));
    }
    out
}

#[test]
fn the_seed_inputs_are_in_the_corpus() {
    let write = std::env::var_os("TESLASYNC_WRITE_CORPUS").is_some();
    for (target, name, bytes) in seeds() {
        let path = corpus(target).join(&name);
        if write {
            std::fs::create_dir_all(corpus(target)).unwrap();
            std::fs::write(&path, &bytes).unwrap();
        }
        assert!(
            path.exists(),
            "{} is missing: run with TESLASYNC_WRITE_CORPUS=1",
            path.display()
        );
    }
}

#[test]
fn set_payload_corpus_replays_without_panicking() {
    let (accepted, refused) = replay("set_payload", fuzzing::set_payload);
    assert!(
        accepted >= 3 && refused >= 3,
        "accepted {accepted}, refused {refused}"
    );
}

#[test]
fn json_command_corpus_replays_without_panicking() {
    let (accepted, refused) = replay("json_command", fuzzing::json_command);
    assert!(
        accepted >= 2 && refused >= 5,
        "accepted {accepted}, refused {refused}"
    );
}

#[test]
fn admin_body_corpus_replays_without_panicking() {
    let (accepted, refused) = replay("admin_body", fuzzing::admin_body);
    assert!(
        accepted >= 2 && refused >= 4,
        "accepted {accepted}, refused {refused}"
    );
}
