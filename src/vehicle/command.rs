//! `vehicle::command`: where Tesla's command vocabulary meets the car's signals.
//!
//! The commands themselves — names, parameters and validation, REST bodies, protocol actions,
//! expected effects — are Tesla's side and live in [`crate::tesla::commands`] (re-exported here so
//! that `crate::vehicle::command::Command` keeps working). This module adds the two translations
//! that need `vehicle`'s vocabulary:
//! - [`limits_of`]: the bounds a car reported (signals) as the [`Limits`] the parser enforces, so an
//!   entity advertises exactly what parsing accepts;
//! - [`effect_signals`]: a command's expected [`Effect`]s (Fleet Telemetry field names) as signal
//!   updates, for optimistic state.

pub use crate::tesla::commands::*;

use crate::vehicle::signal::{Signal, Signals, Value};

/// The bounds this car reported, each falling back to [`Limits::ANY_CAR`] until it does.
pub fn limits_of(signals: &Signals) -> Limits {
    let any = Limits::ANY_CAR;
    let number = |signal: Signal| signals.get(&signal).and_then(Value::as_f64);
    // Whole amps and percent: a fractional or absurd report falls back rather than wraps.
    let whole = |signal: Signal, fallback: u8| {
        number(signal)
            .filter(|v| (0.0..=255.0).contains(v))
            .map_or(fallback, |v| v.round() as u8)
    };
    let limits = Limits {
        charge_current_max: whole(Signal::ChargeCurrentRequestMax, any.charge_current_max),
        charge_limit_min: whole(Signal::ChargeLimitSocMin, any.charge_limit_min),
        charge_limit_max: whole(Signal::ChargeLimitSocMax, any.charge_limit_max),
        temp_min_c: number(Signal::MinAvailTemp).unwrap_or(any.temp_min_c),
        temp_max_c: number(Signal::MaxAvailTemp).unwrap_or(any.temp_max_c),
    };
    // A car that reports an empty range is misreporting: keep Tesla's general bounds instead.
    Limits {
        charge_limit_min: limits.charge_limit_min.min(limits.charge_limit_max),
        temp_min_c: limits.temp_min_c.min(limits.temp_max_c),
        ..limits
    }
}

/// What a successful `command` changed, as signal values to publish at once. Every effect names a
/// Fleet Telemetry field, which is a signal of the same name (a unit test checks each row).
pub fn effect_signals(command: &Command) -> Vec<(Signal, Value)> {
    command
        .effects()
        .into_iter()
        .filter_map(|effect| {
            let signal = effect.field.parse::<Signal>().ok()?;
            let value = match effect.value {
                EffectValue::Bool(b) => Value::Bool(b),
                EffectValue::Int(i) => Value::Int(i),
                EffectValue::Float(f) => Value::Float(f),
                EffectValue::Text(t) => Value::Text(t),
            };
            Some((signal, value))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tesla::commands::tests::all_commands;

    #[test]
    fn every_effect_names_a_signal() {
        for cmd in all_commands() {
            for effect in cmd.effects() {
                assert!(
                    effect.field.parse::<Signal>().is_ok(),
                    "{}: effect field {} is not a signal",
                    cmd.name(),
                    effect.field
                );
            }
            assert_eq!(effect_signals(&cmd).len(), cmd.effects().len());
        }
    }

    #[test]
    fn effects_become_the_signals_entities_read() {
        assert_eq!(
            effect_signals(&Command::DoorLock),
            vec![(Signal::Locked, Value::Bool(true))]
        );
        assert_eq!(
            effect_signals(&Command::SetChargeLimit { percent: 85 }),
            vec![(Signal::ChargeLimitSoc, Value::Int(85))]
        );
        assert_eq!(
            effect_signals(&Command::RemoteSeatHeaterRequest {
                seat_position: 1,
                level: 2
            }),
            vec![(Signal::SeatHeaterRight, Value::Int(2))]
        );
        assert_eq!(
            effect_signals(&Command::AutoConditioningStart),
            vec![(Signal::HvacPower, Value::Text("On".into()))]
        );
        // A rear trunk toggles: nothing certain to publish.
        assert!(effect_signals(&Command::ActuateTrunk { which: Trunk::Rear }).is_empty());
    }

    #[test]
    fn limits_come_from_the_car_and_fall_back_to_any_car() {
        assert_eq!(limits_of(&Signals::new()), Limits::ANY_CAR);
        let signals: Signals = [
            (Signal::ChargeCurrentRequestMax, Value::Int(16)),
            (Signal::ChargeLimitSocMin, Value::Int(60)),
            (Signal::ChargeLimitSocMax, Value::Int(90)),
            (Signal::MinAvailTemp, Value::Float(16.5)),
            (Signal::MaxAvailTemp, Value::Float(27.5)),
        ]
        .into_iter()
        .collect();
        let limits = limits_of(&signals);
        assert_eq!(
            limits,
            Limits {
                charge_current_max: 16,
                charge_limit_min: 60,
                charge_limit_max: 90,
                temp_min_c: 16.5,
                temp_max_c: 27.5,
            }
        );
        let err = Command::parse_within(
            "set_charging_amps",
            &serde_json::json!({"charging_amps": 20}),
            &limits,
        )
        .unwrap_err();
        assert!(
            err.to_string()
                .contains("between 0 and 16 (this car's range), not 20"),
            "{err}"
        );
        let absurd: Signals = [(Signal::ChargeCurrentRequestMax, Value::Float(-3.0))]
            .into_iter()
            .collect();
        assert_eq!(limits_of(&absurd).charge_current_max, 48);
    }
}
