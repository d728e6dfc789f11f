//! Account set-up diagnostics, what needs the user's attention, and the basic actions.

use super::types::*;
use crate::vehicle::signal::{Signal, Signals, Value};

/// Home Assistant keeps at most 255 characters of a sensor state.
const MAX_STATE: usize = 255;

/// What the user must act on, each with its fix, from the signals that hold it: the sign-in
/// (`vehicle::setup`), the virtual key (`fleet_status`), the token store (`vehicle::setup`), rate
/// limits and the budget (`vehicle::cost`).
fn needs_attention(s: &Signals) -> Vec<String> {
    let flag = |signal| matches!(s.get(&signal), Some(Value::Bool(true)));
    let text = |signal| match s.get(&signal) {
        Some(Value::Text(t)) if !t.is_empty() => Some(t.clone()),
        _ => None,
    };
    let mut problems = Vec::new();
    if flag(Signal::ReauthRequired) {
        problems.push("Tesla sign-in required: sign in again on the TeslaSync status page".into());
    }
    if matches!(s.get(&Signal::KeyPaired), Some(Value::Bool(false)))
        && flag(Signal::CommandProtocolRequired)
    {
        problems.push(
            "virtual key not paired: open the pairing link from the status page on the phone \
             with the Tesla app"
                .into(),
        );
    }
    if let Some(why) = text(Signal::StorageProblem) {
        problems.push(format!(
            "storage failing, free disk space before restarting ({why})"
        ));
    }
    if let Some(until) = text(Signal::FleetRateLimitedUntil) {
        problems.push(format!(
            "rate limited by Tesla until {until}: poll less often if this repeats"
        ));
    }
    if flag(Signal::FleetBudgetExhausted) {
        problems
            .push("monthly data budget spent, polling stopped: raise budget.monthly_usd".into());
    }
    problems
}

fn last_command(s: &Signals) -> Option<Reading> {
    match s.get(&Signal::LastCommandResult)? {
        Value::Text(t) => Some(Reading::Text(t.chars().take(MAX_STATE).collect())),
        _ => Some(Reading::Unknown),
    }
}

fn attention_on(s: &Signals) -> Option<Reading> {
    Some(Reading::Bool(!needs_attention(s).is_empty()))
}

fn attention_text(s: &Signals) -> Option<Reading> {
    let problems = needs_attention(s);
    if problems.is_empty() {
        return Some(Reading::Text("OK".into()));
    }
    let text = problems.join("; ");
    Some(Reading::Text(text.chars().take(MAX_STATE).collect()))
}

pub(super) static ROWS: &[Entity] = &[
    binary(
        "reauth_required",
        "Tesla sign-in required",
        Read::Value(Signal::ReauthRequired),
    )
    .class(BinaryClass::Problem)
    .diagnostic()
    .icon("mdi:account-key")
    .row(),
    binary(
        "key_paired",
        "Virtual key paired",
        Read::Value(Signal::KeyPaired),
    )
    .diagnostic()
    .icon("mdi:key-wireless")
    .row(),
    binary(
        "command_protocol_required",
        "Signed commands required",
        Read::Value(Signal::CommandProtocolRequired),
    )
    .diagnostic()
    .icon("mdi:shield-key")
    .row(),
    binary(
        "needs_attention",
        "Needs attention",
        Read::Derived(Signal::ReauthRequired, attention_on),
    )
    .class(BinaryClass::Problem)
    .diagnostic()
    .icon("mdi:alert-circle")
    .row(),
    sensor(
        "needs_attention_reason",
        "Needs attention because",
        Read::Derived(Signal::ReauthRequired, attention_text),
    )
    .diagnostic()
    .icon("mdi:alert-circle-outline")
    .row(),
    sensor(
        "last_command",
        "Last command",
        Read::Derived(Signal::LastCommandResult, last_command),
    )
    .diagnostic()
    .icon("mdi:console")
    .row(),
    sensor(
        "vehicle_state_car_version",
        "Software version",
        Read::Value(Signal::Version),
    )
    .diagnostic()
    .icon("mdi:update")
    .row(),
    button("wake", "Wake", Call::new("wake_up"))
        .icon("mdi:sleep-off")
        .row(),
    button("flash_lights", "Flash lights", Call::new("flash_lights"))
        .icon("mdi:flashlight")
        .row(),
    button("honk", "Honk horn", Call::new("honk_horn"))
        .icon("mdi:bullhorn")
        .row(),
];

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(signals: &Signals) -> String {
        match attention_text(signals) {
            Some(Reading::Text(t)) => t,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn each_condition_the_user_must_act_on_is_named_with_its_fix() {
        let mut s = Signals::default();
        s.insert(Signal::ReauthRequired, Value::Bool(false));
        s.insert(Signal::KeyPaired, Value::Bool(false));
        s.insert(Signal::CommandProtocolRequired, Value::Bool(false));
        assert!(matches!(attention_on(&s), Some(Reading::Bool(false))));
        assert_eq!(reason(&s), "OK", "an unpaired REST car needs nothing");
        let cases = [
            (Signal::ReauthRequired, Value::Bool(true), "sign in again"),
            (
                Signal::CommandProtocolRequired,
                Value::Bool(true),
                "pairing link",
            ),
            (
                Signal::StorageProblem,
                Value::Text("No space left on device".into()),
                "free disk space",
            ),
            (
                Signal::FleetRateLimitedUntil,
                Value::Text("2026-12-02T04:00:00Z".into()),
                "rate limited by Tesla until 2026-12-02T04:00:00Z",
            ),
            (
                Signal::FleetBudgetExhausted,
                Value::Bool(true),
                "budget.monthly_usd",
            ),
        ];
        let mut all = s.clone();
        for (signal, value, fix) in cases {
            let mut one = s.clone();
            one.insert(signal, value.clone());
            all.insert(signal, value);
            assert!(matches!(attention_on(&one), Some(Reading::Bool(true))));
            let text = reason(&one);
            assert!(text.contains(fix), "{signal:?}: {text}");
        }
        // Everything at once still fits Home Assistant's state limit.
        assert!(reason(&all).chars().count() <= MAX_STATE);
    }
}
