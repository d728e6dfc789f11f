//! Battery pack, drive units and other streaming-only powertrain diagnostics (Fleet Telemetry).

use super::types::*;
use crate::vehicle::signal::Signal;

const BMS: &[&str] = &[
    "standby",
    "drive",
    "support",
    "charge",
    "full_electric_in_motion",
    "clear_fault",
    "fault",
    "weld",
    "test",
    "system_not_available",
];
const POWERSHARE_STATE: &[&str] = &[
    "inactive",
    "handshaking",
    "init",
    "enabled",
    "enabled_reconnecting_soon",
    "stopped",
];
const POWERSHARE_STOP: &[&str] = &[
    "none",
    "soc_too_low",
    "retry",
    "fault",
    "user",
    "reconnecting",
    "authentication",
];
const POWERSHARE_TYPE: &[&str] = &["none", "load", "home"];
const DRIVE_INVERTER: &[&str] = &["unavailable", "standby", "fault", "abort", "enabled"];

pub(super) static ROWS: &[Entity] = &[
    sensor("bms_state", "BMS state", Read::Value(Signal::BMSState))
        .of(Measure::Enum(BMS))
        .diagnostic()
        .disabled()
        .row(),
    sensor(
        "brick_voltage_max",
        "Brick voltage max",
        Read::Value(Signal::BrickVoltageMax),
    )
    .measurement(Measure::Voltage)
    .diagnostic()
    .disabled()
    .row(),
    sensor(
        "brick_voltage_min",
        "Brick voltage min",
        Read::Value(Signal::BrickVoltageMin),
    )
    .measurement(Measure::Voltage)
    .diagnostic()
    .disabled()
    .row(),
    sensor(
        "num_brick_voltage_max",
        "Brick with the highest voltage",
        Read::Value(Signal::NumBrickVoltageMax),
    )
    .of(Measure::None)
    .diagnostic()
    .disabled()
    .decimals(0)
    .row(),
    sensor(
        "num_brick_voltage_min",
        "Brick with the lowest voltage",
        Read::Value(Signal::NumBrickVoltageMin),
    )
    .of(Measure::None)
    .diagnostic()
    .disabled()
    .decimals(0)
    .row(),
    sensor(
        "module_temp_max",
        "Module temperature maximum",
        Read::Value(Signal::ModuleTempMax),
    )
    .measurement(Measure::Temperature)
    .diagnostic()
    .disabled()
    .row(),
    sensor(
        "module_temp_min",
        "Module temperature minimum",
        Read::Value(Signal::ModuleTempMin),
    )
    .measurement(Measure::Temperature)
    .diagnostic()
    .disabled()
    .row(),
    sensor(
        "num_module_temp_max",
        "Module with the highest temperature",
        Read::Value(Signal::NumModuleTempMax),
    )
    .of(Measure::None)
    .diagnostic()
    .disabled()
    .decimals(0)
    .row(),
    sensor(
        "num_module_temp_min",
        "Module with the lowest temperature",
        Read::Value(Signal::NumModuleTempMin),
    )
    .of(Measure::None)
    .diagnostic()
    .disabled()
    .decimals(0)
    .row(),
    sensor(
        "isolation_resistance",
        "Isolation resistance",
        Read::Value(Signal::IsolationResistance),
    )
    .measurement(Measure::Plain(Unit::Kiloohms))
    .diagnostic()
    .disabled()
    .row(),
    sensor(
        "pack_current",
        "Pack current",
        Read::Value(Signal::PackCurrent),
    )
    .measurement(Measure::Current)
    .diagnostic()
    .disabled()
    .hidden()
    .row(),
    sensor(
        "pack_voltage",
        "Pack voltage",
        Read::Value(Signal::PackVoltage),
    )
    .measurement(Measure::Voltage)
    .diagnostic()
    .disabled()
    .hidden()
    .row(),
    sensor(
        "powershare_hours_left",
        "Powershare hours left",
        Read::Value(Signal::PowershareHoursLeft),
    )
    .measurement(Measure::Duration(DurationUnit::Hours))
    .diagnostic()
    .disabled()
    .row(),
    sensor(
        "powershare_instantaneous_power_kw",
        "Powershare instantaneous power",
        Read::Value(Signal::PowershareInstantaneousPowerKW),
    )
    .measurement(Measure::Power)
    .diagnostic()
    .disabled()
    .row(),
    sensor(
        "powershare_status",
        "Powershare status",
        Read::Value(Signal::PowershareStatus),
    )
    .of(Measure::Enum(POWERSHARE_STATE))
    .diagnostic()
    .disabled()
    .row(),
    sensor(
        "powershare_stop_reason",
        "Powershare stop reason",
        Read::Value(Signal::PowershareStopReason),
    )
    .of(Measure::Enum(POWERSHARE_STOP))
    .diagnostic()
    .disabled()
    .row(),
    sensor(
        "powershare_type",
        "Powershare type",
        Read::Value(Signal::PowershareType),
    )
    .of(Measure::Enum(POWERSHARE_TYPE))
    .diagnostic()
    .disabled()
    .row(),
    sensor(
        "di_slave_torque_cmd",
        "Secondary drive unit torque",
        Read::Value(Signal::DiSlaveTorqueCmd),
    )
    .measurement(Measure::Plain(Unit::NewtonMetres))
    .diagnostic()
    .disabled()
    .hidden()
    .row(),
    sensor(
        "di_torquemotor",
        "Drive unit torque",
        Read::Value(Signal::DiTorquemotor),
    )
    .measurement(Measure::Plain(Unit::NewtonMetres))
    .diagnostic()
    .disabled()
    .hidden()
    .row(),
    sensor(
        "di_axle_speed_f",
        "Front drive inverter axle speed",
        Read::Value(Signal::DiAxleSpeedF),
    )
    .measurement(Measure::Plain(Unit::RadiansPerSecond))
    .diagnostic()
    .disabled()
    .hidden()
    .row(),
    sensor(
        "di_heatsink_tf",
        "Front drive inverter heatsink temperature",
        Read::Value(Signal::DiHeatsinkTF),
    )
    .measurement(Measure::Temperature)
    .diagnostic()
    .disabled()
    .row(),
    sensor(
        "di_inverter_tf",
        "Front drive inverter temperature",
        Read::Value(Signal::DiInverterTF),
    )
    .measurement(Measure::Temperature)
    .diagnostic()
    .disabled()
    .row(),
    sensor(
        "di_motor_current_f",
        "Front drive inverter motor current",
        Read::Value(Signal::DiMotorCurrentF),
    )
    .measurement(Measure::Current)
    .diagnostic()
    .disabled()
    .hidden()
    .row(),
    sensor(
        "di_state_f",
        "Front drive inverter",
        Read::Value(Signal::DiStateF),
    )
    .of(Measure::Enum(DRIVE_INVERTER))
    .diagnostic()
    .disabled()
    .row(),
    sensor(
        "di_stator_temp_f",
        "Front drive unit stator temperature",
        Read::Value(Signal::DiStatorTempF),
    )
    .measurement(Measure::Temperature)
    .diagnostic()
    .disabled()
    .row(),
    sensor(
        "di_torque_actual_f",
        "Front drive unit actual torque",
        Read::Value(Signal::DiTorqueActualF),
    )
    .measurement(Measure::Plain(Unit::NewtonMetres))
    .diagnostic()
    .disabled()
    .hidden()
    .row(),
    sensor(
        "di_vbat_f",
        "Front drive inverter battery voltage",
        Read::Value(Signal::DiVBatF),
    )
    .measurement(Measure::Voltage)
    .diagnostic()
    .disabled()
    .row(),
    sensor(
        "di_axle_speed_r",
        "Rear drive inverter axle speed",
        Read::Value(Signal::DiAxleSpeedR),
    )
    .measurement(Measure::Plain(Unit::RadiansPerSecond))
    .diagnostic()
    .disabled()
    .hidden()
    .row(),
    sensor(
        "di_heatsink_tr",
        "Rear drive inverter heatsink temperature",
        Read::Value(Signal::DiHeatsinkTR),
    )
    .measurement(Measure::Temperature)
    .diagnostic()
    .disabled()
    .row(),
    sensor(
        "di_inverter_tr",
        "Rear drive inverter temperature",
        Read::Value(Signal::DiInverterTR),
    )
    .measurement(Measure::Temperature)
    .diagnostic()
    .disabled()
    .row(),
    sensor(
        "di_motor_current_r",
        "Rear drive inverter motor current",
        Read::Value(Signal::DiMotorCurrentR),
    )
    .measurement(Measure::Current)
    .diagnostic()
    .disabled()
    .hidden()
    .row(),
    sensor(
        "di_state_r",
        "Rear drive inverter",
        Read::Value(Signal::DiStateR),
    )
    .of(Measure::Enum(DRIVE_INVERTER))
    .diagnostic()
    .disabled()
    .row(),
    sensor(
        "di_stator_temp_r",
        "Rear drive unit stator temperature",
        Read::Value(Signal::DiStatorTempR),
    )
    .measurement(Measure::Temperature)
    .diagnostic()
    .disabled()
    .row(),
    sensor(
        "di_torque_actual_r",
        "Rear drive unit actual torque",
        Read::Value(Signal::DiTorqueActualR),
    )
    .measurement(Measure::Plain(Unit::NewtonMetres))
    .diagnostic()
    .disabled()
    .hidden()
    .row(),
    sensor(
        "di_vbat_r",
        "Rear drive inverter battery voltage",
        Read::Value(Signal::DiVBatR),
    )
    .measurement(Measure::Voltage)
    .diagnostic()
    .disabled()
    .row(),
    sensor(
        "di_axle_speed_rel",
        "Rear left drive inverter axle speed",
        Read::Value(Signal::DiAxleSpeedREL),
    )
    .measurement(Measure::Plain(Unit::RadiansPerSecond))
    .diagnostic()
    .disabled()
    .hidden()
    .row(),
    sensor(
        "di_heatsink_trel",
        "Rear left drive inverter heatsink temperature",
        Read::Value(Signal::DiHeatsinkTREL),
    )
    .measurement(Measure::Temperature)
    .diagnostic()
    .disabled()
    .row(),
    sensor(
        "di_inverter_trel",
        "Rear left drive inverter temperature",
        Read::Value(Signal::DiInverterTREL),
    )
    .measurement(Measure::Temperature)
    .diagnostic()
    .disabled()
    .row(),
    sensor(
        "di_motor_current_rel",
        "Rear left drive inverter motor current",
        Read::Value(Signal::DiMotorCurrentREL),
    )
    .measurement(Measure::Current)
    .diagnostic()
    .disabled()
    .hidden()
    .row(),
    sensor(
        "di_state_rel",
        "Rear left drive inverter",
        Read::Value(Signal::DiStateREL),
    )
    .of(Measure::Enum(DRIVE_INVERTER))
    .diagnostic()
    .disabled()
    .row(),
    sensor(
        "di_stator_temp_rel",
        "Rear left drive unit stator temperature",
        Read::Value(Signal::DiStatorTempREL),
    )
    .measurement(Measure::Temperature)
    .diagnostic()
    .disabled()
    .row(),
    sensor(
        "di_torque_actual_rel",
        "Rear left drive unit actual torque",
        Read::Value(Signal::DiTorqueActualREL),
    )
    .measurement(Measure::Plain(Unit::NewtonMetres))
    .diagnostic()
    .disabled()
    .hidden()
    .row(),
    sensor(
        "di_vbat_rel",
        "Rear left drive inverter battery voltage",
        Read::Value(Signal::DiVBatREL),
    )
    .measurement(Measure::Voltage)
    .diagnostic()
    .disabled()
    .row(),
    sensor(
        "di_axle_speed_rer",
        "Rear right drive inverter axle speed",
        Read::Value(Signal::DiAxleSpeedRER),
    )
    .measurement(Measure::Plain(Unit::RadiansPerSecond))
    .diagnostic()
    .disabled()
    .hidden()
    .row(),
    sensor(
        "di_heatsink_trer",
        "Rear right drive inverter heatsink temperature",
        Read::Value(Signal::DiHeatsinkTRER),
    )
    .measurement(Measure::Temperature)
    .diagnostic()
    .disabled()
    .row(),
    sensor(
        "di_inverter_trer",
        "Rear right drive inverter temperature",
        Read::Value(Signal::DiInverterTRER),
    )
    .measurement(Measure::Temperature)
    .diagnostic()
    .disabled()
    .row(),
    sensor(
        "di_motor_current_rer",
        "Rear right drive inverter motor current",
        Read::Value(Signal::DiMotorCurrentRER),
    )
    .measurement(Measure::Current)
    .diagnostic()
    .disabled()
    .hidden()
    .row(),
    sensor(
        "di_state_rer",
        "Rear right drive inverter",
        Read::Value(Signal::DiStateRER),
    )
    .of(Measure::Enum(DRIVE_INVERTER))
    .diagnostic()
    .disabled()
    .row(),
    sensor(
        "di_stator_temp_rer",
        "Rear right drive unit stator temperature",
        Read::Value(Signal::DiStatorTempRER),
    )
    .measurement(Measure::Temperature)
    .diagnostic()
    .disabled()
    .row(),
    sensor(
        "di_torque_actual_rer",
        "Rear right drive unit actual torque",
        Read::Value(Signal::DiTorqueActualRER),
    )
    .measurement(Measure::Plain(Unit::NewtonMetres))
    .diagnostic()
    .disabled()
    .hidden()
    .row(),
    sensor(
        "di_vbat_rer",
        "Rear right drive inverter battery voltage",
        Read::Value(Signal::DiVBatRER),
    )
    .measurement(Measure::Voltage)
    .diagnostic()
    .disabled()
    .row(),
    binary(
        "brake_pedal",
        "Brake pedal",
        Read::Value(Signal::BrakePedal),
    )
    .disabled()
    .row(),
    binary("drive_rail", "Drive rail", Read::Value(Signal::DriveRail))
        .disabled()
        .row(),
    binary(
        "dc_dc_enable",
        "DC to DC converter",
        Read::Value(Signal::DCDCEnable),
    )
    .disabled()
    .row(),
    binary("gps_state", "GPS state", Read::Value(Signal::GpsState))
        .class(BinaryClass::Connectivity)
        .diagnostic()
        .disabled()
        .row(),
    binary(
        "hvil",
        "High voltage interlock loop fault",
        Read::Is(Signal::Hvil, &["Fault"]),
    )
    .class(BinaryClass::Problem)
    .diagnostic()
    .disabled()
    .row(),
];
