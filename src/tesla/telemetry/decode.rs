//! `tesla::telemetry::decode`: one frame in, one [`Frame`] out.
//!
//! Follows the reference server's order: size check, envelope (a non-Stream union is acked and
//! dropped so the car does not resend it forever), then the protobuf record by topic. Values are
//! normalised into [`Reading`]s without assuming which arm a field uses: Tesla's cars have changed
//! arms between firmware versions and sent numbers, booleans and locations as text. Unknown field
//! numbers, unknown `Value` arms and unknown enum numbers survive decoding and are counted.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use prost::Message as _;

use super::envelope::{self, Message, MAX_FRAME};
use super::proto::vehicle_alerts::{Audience, VehicleAlerts};
use super::proto::vehicle_data::value::Value as Arm;
use super::proto::vehicle_data::*;
use super::proto::vehicle_error::VehicleErrors;

/// The result of decoding one frame; the receiver answers each variant differently.
#[derive(Debug, Clone, PartialEq)]
pub enum Frame {
    /// A record to deliver; ack it once delivered.
    Record {
        txid: Vec<u8>,
        topic: Vec<u8>,
        record: Record,
    },
    /// A valid envelope we do not use (another union type, an unknown topic): ack and drop, as
    /// the reference server does, so the car stops resending it.
    Ignored {
        txid: Vec<u8>,
        topic: Vec<u8>,
        why: String,
    },
    /// Answer with [`envelope::error_reply`] (txid empty when the envelope itself was unreadable).
    Undecodable { txid: Vec<u8>, error: DecodeError },
}

/// Why a frame could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("frame of {0} bytes is larger than the 1 MB limit")]
    TooLarge(usize),
    #[error(transparent)]
    Envelope(#[from] envelope::EnvelopeError),
    #[error("the {topic} record is not valid protobuf: {message}")]
    Protobuf { topic: String, message: String },
}

/// A decoded record.
#[derive(Debug, Clone, PartialEq)]
pub enum Record {
    Data(VehicleData),
    Alerts(Vec<Alert>),
    Errors(Vec<ClientError>),
}

/// A `V` record.
#[derive(Debug, Clone, PartialEq)]
pub struct VehicleData {
    /// When the car sampled the batch.
    pub created_at: Option<SystemTime>,
    pub is_resend: bool,
    pub datums: Vec<Datum>,
}

impl VehicleData {
    /// Datums whose field number this build does not know.
    pub fn unknown_fields(&self) -> usize {
        self.datums.iter().filter(|d| d.name.is_none()).count()
    }

    /// Datums whose value arm this build does not know.
    pub fn unknown_arms(&self) -> usize {
        self.datums
            .iter()
            .filter(|d| d.reading == Reading::UnknownArm)
            .count()
    }
}

/// One field's value.
#[derive(Debug, Clone, PartialEq)]
pub struct Datum {
    /// Tesla's field number.
    pub field: i32,
    /// Tesla's field name (`BatteryLevel`), `None` for numbers newer than this build.
    pub name: Option<&'static str>,
    pub reading: Reading,
}

/// A value, normalised from whichever arm (or text) the car used.
#[derive(Debug, Clone, PartialEq)]
pub enum Reading {
    /// The car has no value for this signal now (`invalid`): unknown, not zero.
    Invalid,
    Bool(bool),
    Int(i64),
    Float(f64),
    Text(String),
    Location {
        latitude: f64,
        longitude: f64,
    },
    Doors(Doors),
    Tires(TireLocation),
    /// Time of day.
    Time {
        hour: i32,
        minute: i32,
        second: i32,
    },
    Enum(EnumReading),
    /// A `Value` arm newer than this build (or no arm at all).
    UnknownArm,
}

/// An enum value with its proto type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EnumReading {
    /// The proto enum, e.g. `ShiftState`.
    pub kind: &'static str,
    pub number: i32,
    /// The value without the enum's prefix (`D` for `ShiftStateD`, `Charging` for
    /// `DetailedChargeStateCharging`); `None` for a number this build does not know.
    pub short: Option<&'static str>,
}

/// An alert from the car; active while `ended_at` is `None`.
#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    pub name: String,
    /// `Customer`, `Service`, `ServiceFix`.
    pub audiences: Vec<&'static str>,
    pub started_at: Option<SystemTime>,
    pub ended_at: Option<SystemTime>,
}

/// A problem the car's telemetry client has with its configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct ClientError {
    pub name: String,
    pub tags: BTreeMap<String, String>,
    pub body: String,
    pub created_at: Option<SystemTime>,
}

/// Decodes one binary frame. Never panics, whatever the bytes.
pub fn decode_frame(frame: &[u8]) -> Frame {
    if frame.len() > MAX_FRAME {
        return Frame::Undecodable {
            txid: Vec::new(),
            error: DecodeError::TooLarge(frame.len()),
        };
    }
    let env = match envelope::parse(frame) {
        Ok(env) => env,
        Err(e) => {
            return Frame::Undecodable {
                txid: Vec::new(),
                error: e.into(),
            }
        }
    };
    let (txid, topic) = (env.txid.to_vec(), env.topic.to_vec());
    let stream = match env.message {
        Message::Stream(stream) => stream,
        Message::Ack => return ignored(txid, topic, "an acknowledgement, not data".into()),
        Message::Other(tag) => return ignored(txid, topic, format!("union type {tag}")),
    };
    let record = match env.topic {
        b"V" => Payload::decode(stream.payload).map(|p| Record::Data(vehicle_data(p))),
        b"alerts" => VehicleAlerts::decode(stream.payload).map(|a| Record::Alerts(alerts(a))),
        b"errors" => VehicleErrors::decode(stream.payload).map(|e| Record::Errors(errors(e))),
        other => {
            let why = format!("unknown topic {:?}", String::from_utf8_lossy(other));
            return ignored(txid, topic, why);
        }
    };
    match record {
        Ok(record) => Frame::Record {
            txid,
            topic,
            record,
        },
        Err(e) => Frame::Undecodable {
            error: DecodeError::Protobuf {
                topic: String::from_utf8_lossy(&topic).into_owned(),
                message: e.to_string(),
            },
            txid,
        },
    }
}

fn ignored(txid: Vec<u8>, topic: Vec<u8>, why: String) -> Frame {
    Frame::Ignored { txid, topic, why }
}

/// Normalises a decoded `Payload`.
pub fn vehicle_data(p: Payload) -> VehicleData {
    VehicleData {
        created_at: p.created_at.and_then(timestamp),
        is_resend: p.is_resend,
        datums: p
            .data
            .into_iter()
            .map(|d| {
                let name = field_name(d.key);
                let reading = d
                    .value
                    .and_then(|v| v.value)
                    .map_or(Reading::UnknownArm, |arm| reading(name, arm));
                Datum {
                    field: d.key,
                    name,
                    reading,
                }
            })
            .collect(),
    }
}

/// Tesla's name for a field number, `None` when this build does not know it (or for the
/// `Unknown` placeholder 0).
pub fn field_name(number: i32) -> Option<&'static str> {
    Field::try_from(number)
        .ok()
        .filter(|f| *f != Field::Unknown)
        .map(|f| f.as_str_name())
}

/// The field number for a Tesla field name.
pub fn field_number(name: &str) -> Option<i32> {
    Field::from_str_name(name).map(|f| f as i32)
}

/// Fields Tesla documents as free text: their string values stay text; every other field's
/// string is a number, boolean or location written out by older firmware.
const TEXT_FIELDS: &[Field] = &[
    Field::ChargeState,
    Field::VehicleName,
    Field::Version,
    Field::RouteLine,
    Field::Trim,
    Field::ExteriorColor,
    Field::RoofColor,
    Field::DestinationName,
    Field::SoftwareUpdateVersion,
    Field::WheelType,
    Field::MediaPlaybackSource,
    Field::MediaNowPlayingArtist,
    Field::MediaNowPlayingTitle,
    Field::MediaNowPlayingAlbum,
    Field::MediaNowPlayingStation,
];

/// Calls `$then!($pre.. Arm => EnumType, ...)` with every enum arm of `Value` and its proto enum,
/// so the protobuf decoder and the by-name lookup of upstream mode share one list.
macro_rules! with_enum_arms {
    ($then:ident!($($pre:tt)*)) => {
        $then!($($pre)*
        ChargingValue => ChargingState,
        DetailedChargeStateValue => DetailedChargeStateValue,
        ShiftStateValue => ShiftState,
        FollowDistanceValue => FollowDistance,
        ForwardCollisionSensitivityValue => ForwardCollisionSensitivity,
        GuestModeMobileAccessValue => GuestModeMobileAccess,
        LaneAssistLevelValue => LaneAssistLevel,
        ScheduledChargingModeValue => ScheduledChargingModeValue,
        SentryModeStateValue => SentryModeState,
        SpeedAssistLevelValue => SpeedAssistLevel,
        BmsStateValue => BmsStateValue,
        BuckleStatusValue => BuckleStatus,
        CarTypeValue => CarTypeValue,
        ChargePortValue => ChargePortValue,
        ChargePortLatchValue => ChargePortLatchValue,
        DriveInverterStateValue => DriveInverterState,
        HvilStatusValue => HvilStatus,
        WindowStateValue => WindowState,
        SeatFoldPositionValue => SeatFoldPosition,
        TractorAirStatusValue => TractorAirStatus,
        TrailerAirStatusValue => TrailerAirStatus,
        HvacAutoModeValue => HvacAutoModeState,
        CabinOverheatProtectionModeValue => CabinOverheatProtectionModeState,
        CabinOverheatProtectionTemperatureLimitValue => ClimateOverheatProtectionTempLimit,
        DefrostModeValue => DefrostModeState,
        ClimateKeeperModeValue => ClimateKeeperModeState,
        HvacPowerValue => HvacPowerState,
        FastChargerValue => FastCharger,
        CableTypeValue => CableType,
        TonneauTentModeValue => TonneauTentModeState,
        TonneauPositionValue => TonneauPositionState,
        PowershareStateValue => PowershareState,
        PowershareStopReasonValue => PowershareStopReasonStatus,
        PowershareTypeValue => PowershareTypeStatus,
        DisplayStateValue => DisplayState,
        DistanceUnitValue => DistanceUnit,
        TemperatureUnitValue => TemperatureUnit,
        PressureUnitValue => PressureUnit,
        ChargeUnitPreferenceValue => ChargeUnitPreference,
        SunroofInstalledStateValue => SunroofInstalledState,
        TurnSignalStateValue => TurnSignalState,
        MediaStatusValue => MediaStatus,
        CabinPortKeepOnValue => CabinPortKeepOnState,
        PowerTransferStatusValue => PowerTransferStatus,
        AutomaticEmergencyBrakingStateValue => AutomaticEmergencyBrakingState,
        )
    };
}

fn reading(name: Option<&'static str>, arm: Arm) -> Reading {
    macro_rules! enums {
        ($arm:expr, $($variant:ident => $ty:ident,)*) => {
            match $arm {
                $(Arm::$variant(n) => {
                    let prefix = $ty::default().as_str_name().trim_end_matches("Unknown");
                    return Reading::Enum(EnumReading {
                        kind: stringify!($ty),
                        number: n,
                        short: $ty::try_from(n)
                            .ok()
                            .map(|e| e.as_str_name().strip_prefix(prefix).unwrap_or(e.as_str_name())),
                    });
                })*
                other => other,
            }
        };
    }
    let arm = with_enum_arms!(enums!(arm,));
    match arm {
        Arm::StringValue(s) => string_reading(name, s),
        Arm::IntValue(i) => Reading::Int(i.into()),
        Arm::LongValue(i) => Reading::Int(i),
        Arm::FloatValue(f) => Reading::Float(f.into()),
        Arm::DoubleValue(f) => Reading::Float(f),
        Arm::BooleanValue(b) => Reading::Bool(b),
        Arm::LocationValue(l) => Reading::Location {
            latitude: l.latitude,
            longitude: l.longitude,
        },
        Arm::Invalid(_) => Reading::Invalid,
        Arm::DoorValue(d) => Reading::Doors(d),
        Arm::TireLocationValue(t) => Reading::Tires(t),
        Arm::TimeValue(t) => Reading::Time {
            hour: t.hour,
            minute: t.minute,
            second: t.second,
        },
        // Every enum arm returned above.
        _ => Reading::UnknownArm,
    }
}

/// A `string_value`: free text for the fields Tesla documents as text, otherwise a number,
/// boolean or location written out as text.
pub fn string_reading(name: Option<&str>, s: String) -> Reading {
    let text_field = name
        .and_then(Field::from_str_name)
        .is_some_and(|f| TEXT_FIELDS.contains(&f));
    if text_field {
        Reading::Text(s)
    } else {
        from_text(s)
    }
}

/// An enum value by its full proto name (`ShiftStateD`, `DetailedChargeStateCharging`), as
/// Tesla's own server writes enums into JSON; `None` if no enum has that value.
pub fn enum_by_name(full: &str) -> Option<EnumReading> {
    macro_rules! lookup {
        ($($variant:ident => $ty:ident,)*) => {$(
            if let Some(e) = $ty::from_str_name(full) {
                let prefix = $ty::default().as_str_name().trim_end_matches("Unknown");
                let name = e.as_str_name();
                return Some(EnumReading {
                    kind: stringify!($ty),
                    number: e as i32,
                    short: Some(name.strip_prefix(prefix).unwrap_or(name)),
                });
            }
        )*};
    }
    with_enum_arms!(lookup!());
    None
}

/// A value that older firmware sent as text: a number (also `1e-3`), a boolean, a location
/// `(37.412374 S, 122.145867 E)`, else the text itself.
pub fn from_text(s: String) -> Reading {
    let t = s.trim();
    if let Ok(i) = t.parse::<i64>() {
        return Reading::Int(i);
    }
    if let Ok(f) = t.parse::<f64>() {
        if f.is_finite() {
            return Reading::Float(f);
        }
    }
    match t {
        "true" | "True" => return Reading::Bool(true),
        "false" | "False" => return Reading::Bool(false),
        _ => {}
    }
    if let Some((latitude, longitude)) = legacy_location(t) {
        return Reading::Location {
            latitude,
            longitude,
        };
    }
    Reading::Text(s)
}

/// `(37.412374 N, 122.145867 W)` → (37.412374, -122.145867).
fn legacy_location(t: &str) -> Option<(f64, f64)> {
    let inner = t.strip_prefix('(')?.strip_suffix(')')?;
    let (lat, lon) = inner.split_once(',')?;
    let coord = |part: &str, pos: char, neg: char| -> Option<f64> {
        let (num, hemi) = part.trim().rsplit_once(' ')?;
        let v: f64 = num.trim().parse().ok()?;
        match hemi.trim().chars().next()? {
            c if c == pos => Some(v),
            c if c == neg => Some(-v),
            _ => None,
        }
    };
    Some((coord(lat, 'N', 'S')?, coord(lon, 'E', 'W')?))
}

/// Seconds beyond this are really milliseconds (some cars put epoch ms into `seconds`).
const MS_IN_SECONDS: i64 = 315_576_000_000;

fn timestamp(t: prost_types::Timestamp) -> Option<SystemTime> {
    let secs = if t.seconds >= MS_IN_SECONDS {
        t.seconds / 1000
    } else {
        t.seconds
    };
    let nanos = u32::try_from(t.nanos).ok().filter(|n| *n < 1_000_000_000)?;
    UNIX_EPOCH.checked_add(Duration::new(u64::try_from(secs).ok()?, nanos))
}

fn alerts(a: VehicleAlerts) -> Vec<Alert> {
    a.alerts
        .into_iter()
        .map(|a| Alert {
            audiences: a
                .audiences
                .iter()
                .filter_map(|n| Audience::try_from(*n).ok())
                .map(|a| a.as_str_name())
                .collect(),
            started_at: a.started_at.and_then(timestamp),
            ended_at: a.ended_at.and_then(timestamp),
            name: a.name,
        })
        .collect()
}

fn errors(e: VehicleErrors) -> Vec<ClientError> {
    e.errors
        .into_iter()
        .map(|e| ClientError {
            name: e.name,
            tags: e.tags.into_iter().collect(),
            body: e.body,
            created_at: e.created_at.and_then(timestamp),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::envelope::tests::{FRAME_HEX, PAYLOAD_HEX};
    use super::super::envelope::{data_frame, Stream};
    use super::*;

    fn datum(key: Field, value: Arm) -> super::Datum {
        let p = Payload {
            data: vec![super::super::proto::vehicle_data::Datum {
                key: key as i32,
                value: Some(Value { value: Some(value) }),
            }],
            ..Payload::default()
        };
        vehicle_data(p).datums.remove(0)
    }

    #[test]
    fn the_reference_payload_decodes_to_readings() {
        let p = Payload::decode(&hex::decode(PAYLOAD_HEX).unwrap()[..]).unwrap();
        let data = vehicle_data(p);
        assert_eq!(
            data.created_at,
            Some(UNIX_EPOCH + Duration::new(1_700_000_000, 123_000_000))
        );
        assert!(!data.is_resend);
        let got: Vec<_> = data
            .datums
            .iter()
            .map(|d| (d.name.unwrap(), d.reading.clone()))
            .collect();
        assert_eq!(
            got,
            vec![
                ("BatteryLevel", Reading::Float(80.5)),
                ("VehicleSpeed", Reading::Float(34.797)),
                (
                    "Location",
                    Reading::Location {
                        latitude: 37.7749,
                        longitude: -122.4194
                    }
                ),
                (
                    "Gear",
                    Reading::Enum(EnumReading {
                        kind: "ShiftState",
                        number: 5,
                        short: Some("D")
                    })
                ),
                ("Locked", Reading::Bool(true)),
                (
                    "DoorState",
                    Reading::Doors(Doors {
                        driver_front: true,
                        trunk_rear: true,
                        ..Doors::default()
                    })
                ),
                ("ChargeLimitSoc", Reading::Int(80)),
                ("TimeToFullCharge", Reading::Invalid),
            ]
        );
    }

    #[test]
    fn the_reference_frame_decodes_to_a_record() {
        let frame = hex::decode(FRAME_HEX).unwrap();
        let Frame::Record {
            txid,
            topic,
            record: Record::Data(data),
        } = decode_frame(&frame)
        else {
            panic!("not a data record")
        };
        assert_eq!((&txid[..], &topic[..]), (&b"txid-1"[..], &b"V"[..]));
        assert_eq!(data.datums.len(), 8);
    }

    #[test]
    fn text_values_from_older_firmware_are_parsed() {
        assert_eq!(
            from_text("(37.412374 S, 122.145867 E)".into()),
            Reading::Location {
                latitude: -37.412374,
                longitude: 122.145867
            }
        );
        assert_eq!(from_text("1e-3".into()), Reading::Float(0.001));
        assert_eq!(from_text("65".into()), Reading::Int(65));
        assert_eq!(from_text("true".into()), Reading::Bool(true));
        assert_eq!(from_text("NaN".into()), Reading::Text("NaN".into()));
        // Free-text fields stay text even when they look like numbers.
        let d = datum(
            Field::SoftwareUpdateVersion,
            Arm::StringValue("2025.40".into()),
        );
        assert_eq!(d.reading, Reading::Text("2025.40".into()));
        let d = datum(Field::CurrentLimitMph, Arm::StringValue("74.4367".into()));
        assert_eq!(d.reading, Reading::Float(74.4367));
    }

    #[test]
    fn new_arms_enum_values_and_field_numbers_are_kept_and_counted() {
        let d = datum(Field::DetailedChargeState, Arm::DetailedChargeStateValue(7));
        assert_eq!(
            d.reading,
            Reading::Enum(EnumReading {
                kind: "DetailedChargeStateValue",
                number: 7,
                short: Some("Calibrating")
            })
        );
        let d = datum(
            Field::DetailedChargeState,
            Arm::DetailedChargeStateValue(42),
        );
        assert!(matches!(
            d.reading,
            Reading::Enum(EnumReading {
                short: None,
                number: 42,
                ..
            })
        ));
        let d = datum(Field::Unknown, Arm::CabinPortKeepOnValue(2));
        assert!(matches!(
            d.reading,
            Reading::Enum(EnumReading {
                short: Some("On"),
                ..
            })
        ));
        let d = datum(Field::Unknown, Arm::AutomaticEmergencyBrakingStateValue(4));
        assert!(matches!(
            d.reading,
            Reading::Enum(EnumReading {
                short: Some("Standstill"),
                ..
            })
        ));
        let d = datum(Field::Unknown, Arm::PowerTransferStatusValue(9));
        assert!(matches!(
            d.reading,
            Reading::Enum(EnumReading {
                short: Some("Blocked"),
                ..
            })
        ));
        // Field 300 and an arm number 99 (unknown to prost: value None).
        // Payload { data: [Datum { key: 300, value: Value { <arm 99>: 1 } }] }: field 300 is
        // 0xac 0x02 as a varint, arm 99 has the tag varint 99 << 3 = 0x98 0x06.
        let bytes = [0x0a, 0x08, 0x08, 0xac, 0x02, 0x12, 0x03, 0x98, 0x06, 0x01];
        let data = vehicle_data(Payload::decode(&bytes[..]).unwrap());
        assert_eq!(data.datums[0].field, 300);
        assert_eq!((data.unknown_fields(), data.unknown_arms()), (1, 1));
    }

    #[test]
    fn alert_timestamps_in_milliseconds_are_corrected() {
        let t = prost_types::Timestamp {
            seconds: 1_700_000_000_000,
            nanos: 0,
        };
        assert_eq!(
            timestamp(t),
            Some(UNIX_EPOCH + Duration::from_secs(1_700_000_000))
        );
    }

    #[test]
    fn bad_frames_are_classified() {
        let wrap = |topic: &[u8], payload: &[u8]| {
            data_frame(
                b"tx",
                topic,
                b"",
                &Stream {
                    payload,
                    ..Stream::default()
                },
            )
        };
        assert!(matches!(
            decode_frame(&wrap(b"V", &[0xff, 0xff, 0xff])),
            Frame::Undecodable { ref txid, error: DecodeError::Protobuf { .. } } if txid == b"tx"
        ));
        assert!(matches!(
            decode_frame(&wrap(b"metrics", &[])),
            Frame::Ignored { .. }
        ));
        assert!(matches!(
            decode_frame(&super::super::envelope::ack(b"tx", b"V")),
            Frame::Ignored { .. }
        ));
        assert!(matches!(
            decode_frame(&[1, 2, 3]),
            Frame::Undecodable { .. }
        ));
        assert!(matches!(
            decode_frame(&vec![0; MAX_FRAME + 1]),
            Frame::Undecodable {
                error: DecodeError::TooLarge(_),
                ..
            }
        ));
    }
}
