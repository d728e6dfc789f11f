use std::collections::{HashMap, HashSet};

use serde_json::json;

use super::*;
use crate::vehicle::command::{self, Command, Trunk};

fn signals(pairs: &[(Signal, Value)]) -> Signals {
    pairs.iter().cloned().collect()
}

/// A car that has every optional piece of hardware, with an update waiting.
fn full_car() -> Signals {
    signals(&[
        (
            Signal::Location,
            Value::Location {
                latitude: 52.37,
                longitude: 4.89,
                heading: Some(90.0),
            },
        ),
        (Signal::HvacPower, Value::Text("On".into())),
        (Signal::SunroofInstalled, Value::Int(2)),
        (Signal::RearSeatHeaters, Value::Int(1)),
        (Signal::ThirdRowSeats, Value::Text("FuturisFoldFlat".into())),
        (Signal::HasSeatCooling, Value::Bool(true)),
        (Signal::CopUserSetTempSupported, Value::Bool(true)),
        (Signal::CarType, Value::Text("cybertruck".into())),
        (Signal::Version, Value::Text("2024.44.25".into())),
        (
            Signal::SoftwareUpdateVersion,
            Value::Text("2024.45.1".into()),
        ),
        (
            Signal::SoftwareUpdateStatus,
            Value::Text("available".into()),
        ),
        (Signal::ChargeCurrentRequestMax, Value::Int(16)),
    ])
}

#[test]
fn ids_are_unique_valid_topic_segments_and_shared_keys_are_qualified() {
    let mut ids = HashSet::new();
    let mut by_key: HashMap<&str, Vec<&Entity>> = HashMap::new();
    for e in CATALOG.iter() {
        assert!(ids.insert(e.id()), "duplicate id {}", e.id());
        for s in [e.id(), e.key()] {
            assert!(
                s.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
                "{s} is not a lower-snake topic segment"
            );
        }
        assert!(!e.name().is_empty(), "{} has no name", e.id());
        by_key.entry(e.key()).or_default().push(e);
    }
    for (key, rows) in by_key {
        let platforms: HashSet<_> = rows.iter().map(|e| e.platform()).collect();
        assert_eq!(platforms.len(), rows.len(), "{key}: one row per platform");
        let plain = rows.iter().filter(|e| e.id() == key).count();
        assert!(
            plain <= 1,
            "{key}: only one row may use the bare key as its id"
        );
    }
}

/// Home Assistant's allowed units per sensor device class (the ones used here).
fn unit_allowed(class: &str, unit: Option<&str>) -> bool {
    let allowed: &[&str] = match class {
        "battery" => &["%"],
        "temperature" => &["°C", "°F", "K"],
        "distance" => &["mi", "km", "m", "ft", "yd", "in", "cm", "mm"],
        "speed" => &[
            "mph", "km/h", "m/s", "kn", "ft/s", "in/d", "in/h", "mm/d", "mm/h", "mm/s",
        ],
        "power" => &["W", "kW", "MW", "GW", "TW", "mW", "BTU/h"],
        "energy" | "energy_storage" => &[
            "Wh", "kWh", "MWh", "GWh", "TWh", "MJ", "GJ", "cal", "kcal", "Mcal", "Gcal", "mWh",
        ],
        "voltage" => &["V", "mV", "µV", "kV", "MV"],
        "current" => &["A", "mA"],
        "pressure" => &[
            "bar", "psi", "kPa", "hPa", "Pa", "mbar", "cbar", "inHg", "mmHg", "inH₂O",
        ],
        "duration" => &["s", "min", "h", "d", "ms", "µs"],
        // Any ISO 4217 currency; Tesla bills in US dollars.
        "monetary" => &["USD"],
        "timestamp" | "enum" => return unit.is_none(),
        _ => return false,
    };
    unit.is_some_and(|u| allowed.contains(&u))
}

#[test]
fn every_row_is_well_formed_for_its_platform() {
    let car = full_car();
    for e in CATALOG.iter() {
        let id = e.id();
        if let Entity::Sensor(r) = e {
            assert_ne!(
                r.common.category,
                Some(Category::Config),
                "{id}: config sensor"
            );
            if let Some(class) = r.measure.device_class() {
                let unit = r.measure.unit().map(Unit::as_str);
                assert!(unit_allowed(class, unit), "{id}: {class} in {unit:?}");
            }
            if matches!(r.measure, Measure::Enum(_) | Measure::Timestamp) {
                assert!(
                    r.state_class.is_none(),
                    "{id}: enum and timestamp have no state class"
                );
            }
        }
        if let Entity::BinarySensor(r) = e {
            assert_ne!(
                r.common.category,
                Some(Category::Config),
                "{id}: config binary sensor"
            );
        }
        match e {
            Entity::Button(_) | Entity::Event(_) => assert!(e.source().is_none()),
            _ => assert!(e.source().is_some(), "{id} needs a source signal"),
        }
        let controllable = !matches!(
            e,
            Entity::Sensor(_) | Entity::BinarySensor(_) | Entity::Tracker(_) | Entity::Event(_)
        );
        assert_eq!(
            controllable,
            e.is_control(),
            "{id}: controls and only controls send"
        );
        for call in e.calls() {
            assert!(
                command::NAMES.contains(&call.command),
                "{id}: {} is not a Fleet API command we know",
                call.command
            );
            if !call.params.is_empty() {
                assert!(
                    serde_json::from_str::<serde_json::Map<_, _>>(call.params).is_ok(),
                    "{id}: constant parameters of {} are not a JSON object",
                    call.command
                );
            }
        }
        let _ = e.states(&car);
    }
    let platforms: HashSet<_> = CATALOG.iter().map(|e| e.platform()).collect();
    assert!(platforms.len() >= 9, "every platform is represented");
}

/// Every payload Home Assistant can send for an entity.
fn payloads(e: &Entity, s: &Signals) -> Vec<(Option<&'static str>, String)> {
    let plain = |p: &[&str]| p.iter().map(|p| (None, p.to_string())).collect::<Vec<_>>();
    let each = |a: Option<&'static str>, o: &Options| {
        o.choices
            .iter()
            .map(|c| (a, c.option.to_string()))
            .collect::<Vec<_>>()
    };
    match e {
        Entity::Switch(_) => plain(&["ON", "OFF"]),
        Entity::Number(r) => {
            let range = resolve(&r.bounds, s);
            vec![
                (None, fmt_number(range.min, 2)),
                (None, fmt_number(range.max, 2)),
            ]
        }
        Entity::Select(r) => each(None, &r.options),
        Entity::Button(_) => plain(&["PRESS"]),
        Entity::Cover(r) => {
            let mut p = Vec::new();
            for (call, word) in [(r.open, "OPEN"), (r.close, "CLOSE"), (r.stop, "STOP")] {
                if call.is_some() {
                    p.push((None, word.to_string()));
                }
            }
            p
        }
        Entity::Lock(r) => {
            let mut p = Vec::new();
            if let LockAction::Send(_) = r.lock {
                p.push((None, "LOCK".to_string()));
            }
            if let LockAction::Send(_) = r.unlock {
                p.push((None, "UNLOCK".to_string()));
            }
            p
        }
        Entity::Climate(r) => {
            let mut p = each(Some(aspect::MODE), &r.modes);
            if let Some(t) = r.target {
                if t.levels.is_empty() {
                    let range = resolve(&t.bounds, s);
                    p.push((Some(aspect::TEMPERATURE), fmt_number(range.min, 1)));
                } else {
                    for l in t.levels {
                        p.push((Some(aspect::TEMPERATURE), l.option.to_string()));
                    }
                }
            }
            if let Some(o) = &r.presets {
                p.extend(each(Some(aspect::PRESET), o));
            }
            if let Some(o) = &r.fans {
                p.extend(each(Some(aspect::FAN), o));
            }
            p
        }
        Entity::Update(_) => plain(&["install"]),
        Entity::Time(_) => plain(&["07:30:00"]),
        Entity::Sensor(_) | Entity::BinarySensor(_) | Entity::Tracker(_) | Entity::Event(_) => {
            Vec::new()
        }
    }
}

#[test]
fn every_control_payload_becomes_commands_the_command_parser_accepts() {
    let car = full_car();
    let mut commands = HashSet::new();
    for e in CATALOG.iter().filter(|e| e.is_control()) {
        let all = payloads(e, &car);
        assert!(!all.is_empty(), "{} has no payloads", e.id());
        for (aspect, p) in all {
            let requests = e
                .requests(aspect, &p, &car)
                .unwrap_or_else(|err| panic!("{} {aspect:?} {p:?}: {err}", e.id()));
            assert!(!requests.is_empty());
            for r in requests {
                Command::parse(r.command, &r.params).unwrap_or_else(|err| {
                    panic!(
                        "{} {aspect:?} {p:?} → {} {}: {err}",
                        e.id(),
                        r.command,
                        r.params
                    )
                });
                commands.insert(r.command);
            }
        }
    }
    assert!(
        commands.len() >= 16,
        "{} commands reachable",
        commands.len()
    );
}

#[test]
fn states_follow_home_assistant_conventions() {
    let s = signals(&[
        (Signal::BatteryLevel, Value::Int(72)),
        (Signal::InsideTemp, Value::Float(21.449)),
        (Signal::DetailedChargeState, Value::Text("NoPower".into())),
        (Signal::Locked, Value::Bool(true)),
        (Signal::ChargingCableType, Value::Text("<invalid>".into())),
        (Signal::SeatHeaterLeft, Value::Int(2)),
        (Signal::ACChargingPower, Value::Unknown),
    ]);
    let state = |id: &str| find(id).unwrap().state_of(&s);
    assert_eq!(state("charge_state_battery_level").as_deref(), Some("72"));
    assert_eq!(state("climate_state_inside_temp").as_deref(), Some("21.4"));
    assert_eq!(
        state("charge_state_charging_state").as_deref(),
        Some("no_power")
    );
    assert_eq!(state("vehicle_state_locked").as_deref(), Some("locked"));
    assert_eq!(
        state("charge_state_conn_charge_cable").as_deref(),
        Some("OFF")
    );
    assert_eq!(
        state("climate_state_seat_heater_left").as_deref(),
        Some("medium")
    );
    assert_eq!(
        state("charge_state_charger_power").as_deref(),
        Some(UNKNOWN),
        "Tesla's null is unknown, not 0"
    );
    assert_eq!(
        state("charge_state_charger_voltage"),
        None,
        "values never reported are not invented"
    );
}

#[test]
fn payloads_map_to_commands_or_say_what_was_expected() {
    let s = signals(&[
        (Signal::ChargeCurrentRequestMax, Value::Int(16)),
        (Signal::TrunkRear, Value::Bool(false)),
        (Signal::HvacPower, Value::Text("On".into())),
    ]);
    let cmd = |id: &str, p: &str| -> Result<Vec<Command>, String> {
        find(id)
            .unwrap()
            .requests(None, p, &s)
            .map_err(|e| e.0)
            .map(|rs| {
                rs.iter()
                    .map(|r| Command::parse(r.command, &r.params).unwrap())
                    .collect()
            })
    };
    assert_eq!(
        cmd("vehicle_state_locked", "LOCK"),
        Ok(vec![Command::DoorLock])
    );
    assert_eq!(
        cmd("charge_state_charge_limit_soc", "80"),
        Ok(vec![Command::SetChargeLimit { percent: 80 }])
    );
    assert_eq!(
        cmd("climate_state_seat_heater_right", "high"),
        Ok(vec![Command::RemoteSeatHeaterRequest {
            seat_position: 1,
            level: 3
        }])
    );
    assert_eq!(
        cmd("vehicle_state_rt", "OPEN"),
        Ok(vec![Command::ActuateTrunk { which: Trunk::Rear }])
    );
    assert!(cmd("vehicle_state_rt", "CLOSE")
        .unwrap_err()
        .contains("already closed"));
    assert_eq!(
        cmd("vehicle_state_locked", "lock").unwrap_err(),
        "expected LOCK or UNLOCK, got \"lock\""
    );
    assert!(cmd("charge_state_charge_current_request", "20")
        .unwrap_err()
        .contains("0 to 16"));
    assert!(cmd("charge_state_charge_limit_soc", "80.5").is_err());
    assert!(cmd("vehicle_state_ft", "CLOSE")
        .unwrap_err()
        .contains("cannot be closed remotely"));
    assert_eq!(cmd("wake", "PRESS"), Ok(vec![Command::WakeUp]));
    assert_eq!(
        build(
            &Call::value("x", &["a", "b"]).and(r#"{"c":1}"#),
            Some(json!(2)),
            &s
        )
        .unwrap()
        .params,
        json!({"a": 2, "b": 2, "c": 1})
    );
}

#[test]
fn numbers_print_without_noise() {
    assert_eq!(fmt_number(72.0, 0), "72");
    assert_eq!(fmt_number(21.50, 1), "21.5");
    assert_eq!(fmt_number(-0.01, 1), "0");
    assert_eq!(fmt_number(15234.567, 2), "15234.57");
    assert_eq!(state::snake_case("NoPower"), "no_power");
    assert_eq!(state::snake_case("ACSingleWireCAN"), "ac_single_wire_can");
    assert_eq!(state::snake_case("SOCTooLow"), "soc_too_low");
    assert_eq!(
        state::snake_case("AbortedUsingBLEKeys"),
        "aborted_using_ble_keys"
    );
    assert_eq!(
        state::snake_case("RequestingFromAuthD"),
        "requesting_from_auth_d"
    );
    assert_eq!(
        state::snake_case("EnabledReconnectingSoon"),
        "enabled_reconnecting_soon"
    );
}

/// The bounds a number advertises are exactly the ones the command parser enforces, for a car that
/// reports its own limits and for one that reports none.
#[test]
fn numbers_advertise_exactly_the_bounds_the_command_parser_enforces() {
    for car in [
        signals(&[]),
        signals(&[
            (Signal::ChargeCurrentRequestMax, Value::Int(16)),
            (Signal::ChargeLimitSocMin, Value::Int(60)),
            (Signal::ChargeLimitSocMax, Value::Int(90)),
        ]),
    ] {
        let limits = command::limits_of(&car);
        for e in CATALOG.iter() {
            let Entity::Number(n) = e else { continue };
            let range = resolve(&n.bounds, &car);
            let parses = |v: f64| {
                let request = build(&n.set, Some(json!(v)), &car).expect("request");
                Command::parse_within(request.command, &request.params, &limits).is_ok()
            };
            assert!(parses(range.min), "{}: min {} refused", e.id(), range.min);
            assert!(parses(range.max), "{}: max {} refused", e.id(), range.max);
            assert!(
                !parses(range.max + range.step),
                "{}: above the advertised max {} accepted",
                e.id(),
                range.max
            );
            assert!(
                !parses(range.min - range.step),
                "{}: below the advertised min {} accepted",
                e.id(),
                range.min
            );
        }
    }
}

#[test]
fn enum_sensors_only_publish_their_options() {
    for (signal, value) in [
        (Signal::SentryMode, Value::Bool(true)),
        (Signal::SentryMode, Value::Bool(false)),
        (Signal::SentryMode, Value::Text("Aware".into())),
        (Signal::DetailedChargeState, Value::Text("Charging".into())),
        (Signal::HvacPower, Value::Text("On".into())),
    ] {
        let s = signals(&[(signal, value.clone())]);
        for e in CATALOG.iter() {
            if let Entity::Sensor(r) = e {
                if let (Measure::Enum(options), Some(state)) = (r.measure, e.state_of(&s)) {
                    assert!(
                        options.contains(&state.as_str()) || state == UNKNOWN,
                        "{}: {state:?} from {value:?} is not one of {options:?}",
                        e.id()
                    );
                }
            }
        }
    }
    let s = signals(&[(Signal::SentryMode, Value::Text("Armed".into()))]);
    assert_eq!(
        find("vehicle_state_sentry_mode")
            .unwrap()
            .state_of(&s)
            .as_deref(),
        Some("ON")
    );
}

#[test]
fn the_climate_set_point_is_the_drivers_side_on_right_hand_drive_cars() {
    let target = |rhd: bool| {
        let s = signals(&[
            (Signal::RightHandDrive, Value::Bool(rhd)),
            (Signal::HvacLeftTemperatureRequest, Value::Float(19.0)),
            (Signal::HvacRightTemperatureRequest, Value::Float(22.5)),
        ]);
        find("driver_temp")
            .unwrap()
            .states(&s)
            .into_iter()
            .find(|(aspect, _)| *aspect == Some(aspect::TEMPERATURE))
            .map(|(_, v)| v)
    };
    assert_eq!(target(false).as_deref(), Some("19"));
    assert_eq!(target(true).as_deref(), Some("22.5"));
}

#[test]
fn enum_sensors_translate_the_cars_words_and_never_publish_a_foreign_state() {
    for (id, signal, text, expected) in [
        (
            "bms_state",
            Signal::BMSState,
            "FEIM",
            "full_electric_in_motion",
        ),
        ("di_state_r", Signal::DiStateR, "Enable", "enabled"),
        (
            "hvac_power_state",
            Signal::HvacPower,
            "OverheatProtect",
            "overheat_protection",
        ),
        (
            "powershare_stop_reason",
            Signal::PowershareStopReason,
            "SOCTooLow",
            "soc_too_low",
        ),
        (
            "lights_turn_signal",
            Signal::LightsTurnSignal,
            "Left",
            "left",
        ),
        // A state the options lack is unknown, not a value Home Assistant refuses.
        (
            "lights_turn_signal",
            Signal::LightsTurnSignal,
            "Hazard",
            UNKNOWN,
        ),
    ] {
        let s = signals(&[(signal, Value::Text(text.into()))]);
        let state = find(id).unwrap().state_of(&s);
        assert_eq!(state.as_deref(), Some(expected), "{id} from {text:?}");
    }
}
