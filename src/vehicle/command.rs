//! `vehicle::command`: the one typed list of things TeslaSync can ask a car to do.
//!
//! Each variant says, in one place, its Fleet API name, its REST body and how it is parsed from the JSON
//! an automation sends on `<base>/<VIN>/command`. Home Assistant controls (`ha::catalog`) build these
//! values; the executor sends them over REST or, for cars that require it, the signed vehicle command
//! protocol (`tesla::command`). No I/O here.

use serde_json::{json, Value};

/// A command for one vehicle, already validated.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Not a `/command/` endpoint: `POST /api/1/vehicles/{vin}/wake_up`, always over REST.
    WakeUp,
    DoorLock,
    DoorUnlock,
    ActuateTrunk {
        which: Trunk,
    },
    FlashLights,
    HonkHorn,
    AutoConditioningStart,
    AutoConditioningStop,
    /// Cabin set points in °C.
    SetTemps {
        driver_temp: f64,
        passenger_temp: f64,
    },
    SetSentryMode {
        on: bool,
    },
    ChargeStart,
    ChargeStop,
    SetChargeLimit {
        percent: u8,
    },
    SetChargingAmps {
        charging_amps: u8,
    },
    ChargePortDoorOpen,
    ChargePortDoorClose,
    /// `seat_position` as Tesla numbers it (0 front left, 1 front right, 2 rear left, 4 rear centre,
    /// 5 rear right, 7/8 third row); `level` 0–3.
    RemoteSeatHeaterRequest {
        seat_position: u8,
        level: u8,
    },
}

/// Which trunk `actuate_trunk` moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trunk {
    Front,
    Rear,
}

/// Why a command name or its parameters were refused, before anything was sent to Tesla.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CommandError {
    #[error("unknown command {name:?}{}", suggestion.as_ref().map(|s| format!(" (did you mean {s:?}?)")).unwrap_or_default())]
    Unknown {
        name: String,
        suggestion: Option<&'static str>,
    },
    #[error("command {command} needs the parameter {param:?}")]
    MissingParam {
        command: &'static str,
        param: &'static str,
    },
    #[error("command {command}: parameter {param:?} {problem}")]
    InvalidParam {
        command: &'static str,
        param: &'static str,
        problem: String,
    },
}

/// Every command name accepted on the JSON command topic, in the order they are documented.
pub const NAMES: &[&str] = &[
    "wake_up",
    "door_lock",
    "door_unlock",
    "actuate_trunk",
    "flash_lights",
    "honk_horn",
    "auto_conditioning_start",
    "auto_conditioning_stop",
    "set_temps",
    "set_sentry_mode",
    "charge_start",
    "charge_stop",
    "set_charge_limit",
    "set_charging_amps",
    "charge_port_door_open",
    "charge_port_door_close",
    "remote_seat_heater_request",
];

impl Command {
    /// The Fleet API name (`POST /api/1/vehicles/{vin}/command/<name>`).
    pub fn name(&self) -> &'static str {
        match self {
            Command::WakeUp => "wake_up",
            Command::DoorLock => "door_lock",
            Command::DoorUnlock => "door_unlock",
            Command::ActuateTrunk { .. } => "actuate_trunk",
            Command::FlashLights => "flash_lights",
            Command::HonkHorn => "honk_horn",
            Command::AutoConditioningStart => "auto_conditioning_start",
            Command::AutoConditioningStop => "auto_conditioning_stop",
            Command::SetTemps { .. } => "set_temps",
            Command::SetSentryMode { .. } => "set_sentry_mode",
            Command::ChargeStart => "charge_start",
            Command::ChargeStop => "charge_stop",
            Command::SetChargeLimit { .. } => "set_charge_limit",
            Command::SetChargingAmps { .. } => "set_charging_amps",
            Command::ChargePortDoorOpen => "charge_port_door_open",
            Command::ChargePortDoorClose => "charge_port_door_close",
            Command::RemoteSeatHeaterRequest { .. } => "remote_seat_heater_request",
        }
    }

    /// The JSON body of the REST request (`{}` for commands without parameters).
    pub fn rest_body(&self) -> Value {
        match self {
            Command::ActuateTrunk { which } => json!({ "which_trunk": which.as_str() }),
            Command::SetTemps {
                driver_temp,
                passenger_temp,
            } => json!({ "driver_temp": driver_temp, "passenger_temp": passenger_temp }),
            Command::SetSentryMode { on } => json!({ "on": on }),
            Command::SetChargeLimit { percent } => json!({ "percent": percent }),
            Command::SetChargingAmps { charging_amps } => {
                json!({ "charging_amps": charging_amps })
            }
            Command::RemoteSeatHeaterRequest {
                seat_position,
                level,
            } => json!({ "seat_position": seat_position, "level": level }),
            _ => json!({}),
        }
    }

    /// Parses `{"command": name, "params": {...}}` as sent to `<base>/<VIN>/command`.
    pub fn parse(name: &str, params: &Value) -> Result<Command, CommandError> {
        let p = Params {
            command: name,
            params,
        };
        Ok(match name {
            "wake_up" => Command::WakeUp,
            "door_lock" => Command::DoorLock,
            "door_unlock" => Command::DoorUnlock,
            "actuate_trunk" => Command::ActuateTrunk {
                which: match p.opt_str("which_trunk")?.unwrap_or("rear") {
                    "front" => Trunk::Front,
                    "rear" => Trunk::Rear,
                    other => {
                        return Err(p.invalid(
                            "which_trunk",
                            format!("must be \"front\" or \"rear\", not {other:?}"),
                        ))
                    }
                },
            },
            "flash_lights" => Command::FlashLights,
            "honk_horn" => Command::HonkHorn,
            "auto_conditioning_start" => Command::AutoConditioningStart,
            "auto_conditioning_stop" => Command::AutoConditioningStop,
            "set_temps" => Command::SetTemps {
                driver_temp: p.float("driver_temp", 15.0, 28.0)?,
                passenger_temp: p.float("passenger_temp", 15.0, 28.0)?,
            },
            "set_sentry_mode" => Command::SetSentryMode { on: p.bool("on")? },
            "charge_start" => Command::ChargeStart,
            "charge_stop" => Command::ChargeStop,
            "set_charge_limit" => Command::SetChargeLimit {
                percent: p.int("percent", 50, 100)?,
            },
            "set_charging_amps" => Command::SetChargingAmps {
                charging_amps: p.int("charging_amps", 0, 48)?,
            },
            "charge_port_door_open" => Command::ChargePortDoorOpen,
            "charge_port_door_close" => Command::ChargePortDoorClose,
            "remote_seat_heater_request" => Command::RemoteSeatHeaterRequest {
                seat_position: p.int("seat_position", 0, 8)?,
                level: p.int("level", 0, 3)?,
            },
            _ => {
                return Err(CommandError::Unknown {
                    name: name.to_string(),
                    suggestion: nearest_name(name),
                })
            }
        })
    }

    /// Whether the car must be online (awake) for this command; everything but the wake itself.
    pub fn needs_online(&self) -> bool {
        !matches!(self, Command::WakeUp)
    }
}

impl Trunk {
    pub fn as_str(self) -> &'static str {
        match self {
            Trunk::Front => "front",
            Trunk::Rear => "rear",
        }
    }
}

/// Typed access to a command's JSON parameters with errors that name the parameter.
struct Params<'a> {
    command: &'a str,
    params: &'a Value,
}

impl Params<'_> {
    fn static_name(&self) -> &'static str {
        NAMES
            .iter()
            .find(|n| **n == self.command)
            .copied()
            .unwrap_or("command")
    }

    fn get(&self, key: &'static str) -> Result<&Value, CommandError> {
        self.params
            .get(key)
            .filter(|v| !v.is_null())
            .ok_or(CommandError::MissingParam {
                command: self.static_name(),
                param: key,
            })
    }

    fn invalid(&self, param: &'static str, problem: String) -> CommandError {
        CommandError::InvalidParam {
            command: self.static_name(),
            param,
            problem,
        }
    }

    fn opt_str(&self, key: &'static str) -> Result<Option<&str>, CommandError> {
        match self.params.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(other) => Err(self.invalid(key, format!("must be a string, not {other}"))),
        }
    }

    fn bool(&self, key: &'static str) -> Result<bool, CommandError> {
        match self.get(key)? {
            Value::Bool(b) => Ok(*b),
            other => Err(self.invalid(key, format!("must be true or false, not {other}"))),
        }
    }

    fn float(&self, key: &'static str, min: f64, max: f64) -> Result<f64, CommandError> {
        let v = self.get(key)?;
        let x = v
            .as_f64()
            .ok_or_else(|| self.invalid(key, format!("must be a number, not {v}")))?;
        if !(min..=max).contains(&x) {
            return Err(self.invalid(key, format!("must be between {min} and {max}, not {x}")));
        }
        Ok(x)
    }

    fn int(&self, key: &'static str, min: u8, max: u8) -> Result<u8, CommandError> {
        let v = self.get(key)?;
        let x = v
            .as_f64()
            .filter(|x| x.fract() == 0.0)
            .ok_or_else(|| self.invalid(key, format!("must be a whole number, not {v}")))?;
        if x < f64::from(min) || x > f64::from(max) {
            return Err(self.invalid(key, format!("must be between {min} and {max}, not {x}")));
        }
        Ok(x as u8)
    }
}

/// The known command name closest to `name`, if it is close enough to be a likely typo.
fn nearest_name(name: &str) -> Option<&'static str> {
    NAMES
        .iter()
        .map(|n| (crate::util::edit_distance(name, n), *n))
        .filter(|(d, n)| *d <= 3.max(n.len() / 4))
        .min()
        .map(|(_, n)| n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_parses_with_sensible_params_and_round_trips() {
        let params = json!({"which_trunk": "front", "driver_temp": 21.0, "passenger_temp": 21.5,
            "on": true, "percent": 80, "charging_amps": 16, "seat_position": 0, "level": 2});
        for name in NAMES {
            let cmd = Command::parse(name, &params).unwrap();
            assert_eq!(cmd.name(), *name);
            let again = Command::parse(name, &cmd.rest_body()).unwrap();
            assert_eq!(again, cmd, "{name} must survive its own REST body");
        }
    }

    #[test]
    fn missing_and_out_of_range_parameters_are_named() {
        let err = Command::parse("set_charge_limit", &json!({})).unwrap_err();
        assert_eq!(
            err.to_string(),
            "command set_charge_limit needs the parameter \"percent\""
        );
        let err = Command::parse("set_charge_limit", &json!({"percent": 120})).unwrap_err();
        assert!(err.to_string().contains("between 50 and 100"), "{err}");
        let err = Command::parse("set_sentry_mode", &json!({"on": "yes"})).unwrap_err();
        assert!(err.to_string().contains("true or false"), "{err}");
    }

    #[test]
    fn unknown_names_suggest_the_nearest() {
        let err = Command::parse("door_lok", &json!({})).unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown command \"door_lok\" (did you mean \"door_lock\"?)"
        );
        let err = Command::parse("make_coffee", &json!({})).unwrap_err();
        assert_eq!(err.to_string(), "unknown command \"make_coffee\"");
    }
}
