//! `sim::commands`: the REST command table — which `POST /api/1/vehicles/{vin}/command/{name}` names
//! exist and how their JSON parameters become an [`Action`].
//!
//! One row per command. A row's parser checks types, ranges and enums the way Tesla does and names the
//! offending parameter (`invalid <param> param`); it never touches a car. Unknown names are not in the
//! table, which the API answers with 400 `invalid_command`.

use std::ops::RangeInclusive;

use serde_json::{Map, Value};

use super::action::{Action, Opening, Trunk, MAX_RANGE_PERCENT, STANDARD_PERCENT};
use super::car::{CHARGE_AMPS_MAX, CHARGE_LIMIT_MAX, CHARGE_LIMIT_MIN, MAX_TEMP_C, MIN_TEMP_C};

/// A parameter that is missing or has the wrong type or value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidParam(pub &'static str);

impl InvalidParam {
    /// Tesla's `reason` for it.
    pub fn reason(&self) -> String {
        format!("invalid {} param", self.0)
    }
}

/// One REST command: its Fleet API name and how to read its parameters.
pub struct CommandSpec {
    pub name: &'static str,
    parse: fn(&Params) -> Result<Action, InvalidParam>,
}

impl CommandSpec {
    pub fn parse(&self, params: &Params) -> Result<Action, InvalidParam> {
        (self.parse)(params)
    }
}

/// Looks a command up by name.
pub fn find(name: &str) -> Option<&'static CommandSpec> {
    COMMANDS.iter().find(|c| c.name == name)
}

/// The JSON body of a command (an object; a missing body is an empty one).
pub struct Params<'a>(pub &'a Map<String, Value>);

impl Params<'_> {
    fn bool(&self, key: &'static str) -> Result<bool, InvalidParam> {
        self.opt_bool(key)?.ok_or(InvalidParam(key))
    }

    fn opt_bool(&self, key: &'static str) -> Result<Option<bool>, InvalidParam> {
        match self.0.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(_) => Err(InvalidParam(key)),
        }
    }

    fn opt_num(
        &self,
        key: &'static str,
        range: RangeInclusive<f64>,
    ) -> Result<Option<f64>, InvalidParam> {
        match self.0.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => v
                .as_f64()
                .filter(|n| range.contains(n))
                .map(Some)
                .ok_or(InvalidParam(key)),
        }
    }

    fn num(&self, key: &'static str, range: RangeInclusive<f64>) -> Result<f64, InvalidParam> {
        self.opt_num(key, range)?.ok_or(InvalidParam(key))
    }

    /// An integer in `range`; a float with no fraction (`80.0`) is accepted like JSON parsers do.
    fn int(&self, key: &'static str, range: RangeInclusive<i64>) -> Result<i64, InvalidParam> {
        let v = self.0.get(key).ok_or(InvalidParam(key))?;
        let n = v.as_i64().or_else(|| {
            v.as_f64()
                .filter(|f| f.fract() == 0.0 && f.abs() < 1e15)
                .map(|f| f as i64)
        });
        n.filter(|n| range.contains(n)).ok_or(InvalidParam(key))
    }

    fn choice(
        &self,
        key: &'static str,
        options: &[&'static str],
    ) -> Result<&'static str, InvalidParam> {
        let s = self.0.get(key).and_then(Value::as_str);
        options
            .iter()
            .find(|o| Some(**o) == s)
            .copied()
            .ok_or(InvalidParam(key))
    }

    fn string(&self, key: &'static str) -> Result<&str, InvalidParam> {
        self.0
            .get(key)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .ok_or(InvalidParam(key))
    }
}

fn lat_lon(p: &Params) -> Result<(), InvalidParam> {
    p.num("lat", -90.0..=90.0)?;
    p.num("lon", -180.0..=180.0)?;
    Ok(())
}

fn opening(
    p: &Params,
    key: &'static str,
    options: &[&'static str],
) -> Result<Opening, InvalidParam> {
    Ok(match p.choice(key, options)? {
        "vent" => Opening::Vent,
        "close" => Opening::Close,
        _ => Opening::Stop,
    })
}

/// `remote_seat_heater_request`: Tesla's seat numbers (0 front left, 1 front right, 2 rear left,
/// 4 rear centre, 5 rear right) to [`crate::sim::car::Car::seat_heaters`] slots. The simulated cars
/// have no third row and no separate rear backrest heaters.
fn seat_heater(p: &Params) -> Result<Action, InvalidParam> {
    // The proxy sends `seat_position`; older REST clients send `heater`.
    let key = if p.0.contains_key("seat_position") {
        "seat_position"
    } else {
        "heater"
    };
    let seat = match p.int(key, 0..=8)? {
        0 => 0,
        1 => 1,
        2 => 2,
        4 => 3,
        5 => 4,
        _ => return Err(InvalidParam(key)),
    };
    let level = p.int("level", 0..=3)? as u8;
    Ok(Action::SeatHeater { seat, level })
}

fn valet(p: &Params) -> Result<Action, InvalidParam> {
    let on = p.bool("on")?;
    match p.0.get("password") {
        None | Some(Value::Null) => {}
        Some(Value::String(pin)) if pin.len() == 4 && pin.bytes().all(|b| b.is_ascii_digit()) => {}
        Some(_) => return Err(InvalidParam("password")),
    }
    Ok(Action::SetValetMode(on))
}

macro_rules! cmd {
    ($name:literal, $parse:expr) => {
        CommandSpec {
            name: $name,
            parse: $parse,
        }
    };
}

/// Every REST command the simulated cars understand.
pub static COMMANDS: &[CommandSpec] = &[
    cmd!("door_lock", |_| Ok(Action::DoorLock)),
    cmd!("door_unlock", |_| Ok(Action::DoorUnlock)),
    cmd!("actuate_trunk", |p| {
        Ok(Action::ActuateTrunk(
            match p.choice("which_trunk", &["front", "rear"])? {
                "front" => Trunk::Front,
                _ => Trunk::Rear,
            },
        ))
    }),
    cmd!("flash_lights", |_| Ok(Action::FlashLights)),
    cmd!("honk_horn", |_| Ok(Action::HonkHorn)),
    cmd!("auto_conditioning_start", |_| Ok(Action::ClimateOn)),
    cmd!("auto_conditioning_stop", |_| Ok(Action::ClimateOff)),
    cmd!("set_temps", |p| {
        Ok(Action::SetTemps {
            driver: p.num("driver_temp", MIN_TEMP_C..=MAX_TEMP_C)?,
            passenger: p.num("passenger_temp", MIN_TEMP_C..=MAX_TEMP_C)?,
        })
    }),
    cmd!("set_sentry_mode", |p| Ok(Action::SetSentryMode(
        p.bool("on")?
    ))),
    cmd!("charge_start", |_| Ok(Action::ChargeStart)),
    cmd!("charge_stop", |_| Ok(Action::ChargeStop)),
    cmd!("charge_max_range", |_| Ok(Action::SetChargeLimit(
        MAX_RANGE_PERCENT
    ))),
    cmd!("charge_standard", |_| Ok(Action::SetChargeLimit(
        STANDARD_PERCENT
    ))),
    cmd!("set_charge_limit", |p| {
        let range = i64::from(CHARGE_LIMIT_MIN)..=i64::from(CHARGE_LIMIT_MAX);
        Ok(Action::SetChargeLimit(p.int("percent", range)? as u8))
    }),
    cmd!("set_charging_amps", |p| {
        let range = 1..=i64::from(CHARGE_AMPS_MAX);
        Ok(Action::SetChargingAmps(p.int("charging_amps", range)? as u8))
    }),
    cmd!("charge_port_door_open", |_| Ok(Action::ChargePortDoorOpen)),
    cmd!("charge_port_door_close", |_| Ok(
        Action::ChargePortDoorClose
    )),
    cmd!("remote_seat_heater_request", seat_heater),
    cmd!("set_climate_keeper_mode", |p| {
        const MODES: [&str; 4] = ["off", "keep", "dog", "camp"];
        let mode = p.int("climate_keeper_mode", 0..=3)? as usize;
        p.opt_bool("manual_override")?;
        Ok(Action::ClimateKeeperMode(MODES[mode]))
    }),
    cmd!("set_valet_mode", valet),
    cmd!("window_control", |p| {
        let op = opening(p, "command", &["vent", "close"])?;
        p.opt_num("lat", -90.0..=90.0)?;
        p.opt_num("lon", -180.0..=180.0)?;
        Ok(Action::Windows(op))
    }),
    cmd!("sun_roof_control", |p| Ok(Action::SunRoof(opening(
        p,
        "state",
        &["vent", "close", "stop"]
    )?))),
    cmd!("remote_steering_wheel_heater_request", |p| Ok(
        Action::SteeringWheelHeater(p.bool("on")?)
    )),
    cmd!("set_bioweapon_mode", |p| {
        p.opt_bool("manual_override")?;
        Ok(Action::BioweaponMode(p.bool("on")?))
    }),
    cmd!("set_cabin_overheat_protection", |p| {
        let on = p.bool("on")?;
        let fan_only = p.opt_bool("fan_only")?.unwrap_or(false);
        Ok(Action::CabinOverheatProtection(match (on, fan_only) {
            (false, _) => "Off",
            (true, false) => "On",
            (true, true) => "FanOnly",
        }))
    }),
    cmd!("set_preconditioning_max", |p| {
        p.opt_bool("manual_override")?;
        Ok(Action::PreconditioningMax(p.bool("on")?))
    }),
    cmd!("media_toggle_playback", |_| Ok(Action::Media)),
    cmd!("media_next_track", |_| Ok(Action::Media)),
    cmd!("media_prev_track", |_| Ok(Action::Media)),
    cmd!("media_next_fav", |_| Ok(Action::Media)),
    cmd!("media_prev_fav", |_| Ok(Action::Media)),
    cmd!("media_volume_up", |_| Ok(Action::Media)),
    cmd!("media_volume_down", |_| Ok(Action::Media)),
    cmd!("adjust_volume", |p| Ok(Action::AdjustVolume(
        p.num("volume", 0.0..=11.0)?
    ))),
    cmd!("trigger_homelink", |p| {
        lat_lon(p)?;
        Ok(Action::TriggerHomelink)
    }),
    cmd!("remote_start_drive", |_| Ok(Action::RemoteStartDrive)),
    cmd!("schedule_software_update", |p| {
        p.int("offset_sec", 0..=i64::from(u32::MAX))?;
        Ok(Action::ScheduleSoftwareUpdate)
    }),
    cmd!("set_vehicle_name", |p| Ok(Action::SetVehicleName(
        p.string("vehicle_name")?.to_string()
    ))),
    cmd!("cancel_software_update", |_| Ok(
        Action::CancelSoftwareUpdate
    )),
    cmd!("remote_boombox", |p| {
        p.opt_num("sound", 0.0..=f64::from(u32::MAX))?;
        Ok(Action::Boombox)
    }),
    cmd!("remote_seat_cooler_request", |p| {
        Ok(Action::SeatCooler {
            seat: p.int("seat_position", 1..=2)? as usize - 1,
            level: p.int("seat_cooler_level", 0..=3)? as u8,
        })
    }),
    cmd!("remote_steering_wheel_heat_level_request", |p| {
        match p.int("level", 0..=3)? {
            2 => Err(InvalidParam("level")),
            level => Ok(Action::SteeringWheelHeatLevel(level as u8)),
        }
    }),
    cmd!("remote_auto_seat_climate_request", |p| {
        Ok(Action::AutoSeatClimate {
            seat: p.int("auto_seat_position", 1..=2)? as usize - 1,
            on: p.bool("auto_climate_on")?,
        })
    }),
    cmd!("remote_auto_steering_wheel_heat_climate_request", |p| Ok(
        Action::AutoSteeringWheelHeat(p.bool("on")?)
    )),
    cmd!("set_cop_temp", |p| Ok(Action::CopTemp(
        p.int("cop_temp", 0..=2)? as u8
    ))),
    cmd!("guest_mode", |p| Ok(Action::GuestMode(p.bool("enable")?))),
    cmd!("set_low_power_mode", |p| Ok(Action::LowPowerMode(
        p.bool("enable")?
    ))),
    cmd!("keep_accessory_power_mode", |p| Ok(
        Action::KeepAccessoryPower(p.bool("enable")?)
    )),
    cmd!("update_charge_on_solar_feature", |p| Ok(
        Action::ChargeOnSolar {
            enabled: p.bool("enabled")?,
            lower: p.num("lower_charge_limit", 0.0..=100.0)?,
            upper: p.num("upper_charge_limit", 0.0..=100.0)?,
        }
    )),
    cmd!("set_scheduled_charging", |p| {
        let enable = p.bool("enable")?;
        let time = p.opt_num("time", 0.0..=1439.0)?.unwrap_or(0.0) as u16;
        Ok(Action::ScheduledCharging(enable.then_some(time)))
    }),
    cmd!("set_scheduled_departure", |p| {
        let enable = p.bool("enable")?;
        let time = p.opt_num("departure_time", 0.0..=1439.0)?.unwrap_or(0.0) as u16;
        for key in [
            "preconditioning_enabled",
            "preconditioning_weekdays_only",
            "off_peak_charging_enabled",
            "off_peak_charging_weekdays_only",
        ] {
            p.opt_bool(key)?;
        }
        p.opt_num("end_off_peak_time", 0.0..=1439.0)?;
        Ok(Action::ScheduledDeparture(enable.then_some(time)))
    }),
    cmd!("navigation_request", |p| {
        p.choice("type", &["share_ext_content_raw"])?;
        let text =
            p.0.get("value")
                .and_then(|v| v.get("android.intent.extra.TEXT"))
                .and_then(Value::as_str)
                .filter(|t| !t.trim().is_empty())
                .ok_or(InvalidParam("value"))?;
        Ok(Action::Navigate(text.to_string()))
    }),
    cmd!("navigation_gps_request", |p| {
        let lat = p.num("lat", -90.0..=90.0)?;
        let lon = p.num("lon", -180.0..=180.0)?;
        p.opt_num("order", 1.0..=3.0)?;
        Ok(Action::Navigate(gps_destination(lat, lon)))
    }),
];

/// How the simulated car names a destination given by coordinates.
pub fn gps_destination(lat: f64, lon: f64) -> String {
    format!("{lat:.5},{lon:.5}")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn parse(name: &str, body: Value) -> Result<Action, String> {
        let map = body.as_object().cloned().unwrap_or_default();
        find(name)
            .expect("known command")
            .parse(&Params(&map))
            .map_err(|e| e.reason())
    }

    #[test]
    fn names_are_unique() {
        let mut names: Vec<_> = COMMANDS.iter().map(|c| c.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), COMMANDS.len());
    }

    #[test]
    fn params_are_validated_like_tesla() {
        assert_eq!(
            parse("set_charge_limit", json!({"percent": 80})),
            Ok(Action::SetChargeLimit(80))
        );
        assert_eq!(
            parse("set_charge_limit", json!({"percent": 101})),
            Err("invalid percent param".into())
        );
        assert_eq!(
            parse("set_charge_limit", json!({})),
            Err("invalid percent param".into())
        );
        assert_eq!(
            parse("set_sentry_mode", json!({"on": "yes"})),
            Err("invalid on param".into())
        );
        assert_eq!(
            parse("actuate_trunk", json!({"which_trunk": "rear"})),
            Ok(Action::ActuateTrunk(Trunk::Rear))
        );
        assert_eq!(
            parse("actuate_trunk", json!({"which_trunk": "side"})),
            Err("invalid which_trunk param".into())
        );
        assert_eq!(
            parse(
                "set_temps",
                json!({"driver_temp": 21.5, "passenger_temp": 40})
            ),
            Err("invalid passenger_temp param".into())
        );
        assert_eq!(
            parse("trigger_homelink", json!({"lat": 52.0})),
            Err("invalid lon param".into())
        );
    }

    #[test]
    fn seat_heater_accepts_the_legacy_heater_name() {
        assert_eq!(
            parse(
                "remote_seat_heater_request",
                json!({"heater": 4, "level": 2})
            ),
            Ok(Action::SeatHeater { seat: 3, level: 2 })
        );
        assert_eq!(
            parse(
                "remote_seat_heater_request",
                json!({"seat_position": 3, "level": 2})
            ),
            Err("invalid seat_position param".into())
        );
        assert_eq!(
            parse(
                "remote_seat_heater_request",
                json!({"seat_position": 0, "level": 4})
            ),
            Err("invalid level param".into())
        );
    }
}
