//! `vehicle::telemetry`: Fleet Telemetry records mapped to signals.
//!
//! Every field has a signal of the same name, so the mapping is by name; the few rows below are
//! where the stream differs from the signal vocabulary the poller already speaks:
//!
//! - the door bitfield becomes the six open/closed signals (`DoorDriverFront` … `TrunkRear`);
//! - tyre pressures arrive in atmospheres and become bar (× 1.01325), like `vehicle_data`'s;
//! - enums become the text `vehicle_data` uses (`Charging`, `D`, `Closed`/`PartiallyOpen`/`Opened`,
//!   `On`/`Off`), and the sentry-mode state becomes the on/off flag the poller reports;
//! - the firmware version loses its build hash, as from `vehicle_data`;
//! - `invalid` (the car has no value now) makes the signal unknown — never 0 — except where the
//!   vocabulary has a word for it (`<invalid>` for the charge cable and port latch, as Tesla's REST
//!   API spells it).
//!
//! Isolation resistance stays in kΩ, the unit the car streams and the signal declares. The
//! mapping is pure; [`HubSink`] is where the receiver's records enter the hub.

use std::sync::Arc;
use std::time::SystemTime;

use tracing::{info, warn};

use crate::clock::Clock;
use crate::tesla::telemetry::decode::{Alert, ClientError, Datum, Reading, Record, VehicleData};
use crate::tesla::telemetry::server::{Delivered, Sink};
use crate::vehicle::hub::Hub;
use crate::vehicle::signal::{Signal, Update, Value};
use crate::vehicle::stream::StreamHealth;

/// Takes the receiver's records into the hub and reports them to [`StreamHealth`].
///
/// A `V` record becomes one hub update; alerts become `vehicle_alert` events and client errors
/// `telemetry_error` events on the car's event topic. Each record resolves as delivered only when
/// the bridge has confirmed that the broker holds what it caused, so only then is the car acked.
pub struct HubSink {
    pub hub: Arc<Hub>,
    pub health: Arc<StreamHealth>,
    pub clock: Clock,
}

impl HubSink {
    /// A sink into `hub`, reporting to `health`, as the receiver and upstream mode use it.
    pub fn new(hub: Arc<Hub>, health: Arc<StreamHealth>, clock: Clock) -> Arc<HubSink> {
        Arc::new(HubSink { hub, health, clock })
    }
}

impl Sink for HubSink {
    fn knows(&self, vin: &str) -> bool {
        self.hub.get(vin).is_some()
    }

    fn connection(&self, vin: &str, open: bool, link: Option<&str>) {
        let now = self.clock.now();
        if open {
            self.health.connected(vin, now);
        } else {
            self.health.disconnected(vin);
        }
        // The network the stream runs over: the `wifi` and `cellular` entities. A car that did
        // not say keeps its last known link while connected; a closed stream is on neither.
        let on = |l: &str| open && link == Some(l);
        if link.is_some() || !open {
            self.hub.apply(Update {
                vin: vin.to_string(),
                at: now,
                signals: vec![
                    (Signal::Wifi, Value::Bool(on("wifi"))),
                    (Signal::Cellular, Value::Bool(on("cellular"))),
                ],
            });
        }
    }

    fn deliver(&self, vin: &str, record: Record) -> Delivered {
        let now = self.clock.now();
        let (delivery, datums) = match record {
            Record::Data(data) => {
                let mapped = map_record(&data);
                self.health.unknown(vin, mapped.unknown as u64);
                let at = data.created_at.unwrap_or(now);
                let update = mapped.update(vin, at);
                let delivery = self.hub.apply_delivered(update, &mapped.removed);
                (delivery, data.datums.len() as u64)
            }
            Record::Alerts(alerts) => {
                for alert in &alerts {
                    info!(vin, alert = %alert.name, "vehicle alert");
                    self.hub
                        .problem(Some(vin), "vehicle_alert", alert_message(alert));
                }
                (self.hub.apply_delivered(empty(vin, now), &[]), 0)
            }
            Record::Errors(errors) => {
                let mut messages = Vec::new();
                for error in &errors {
                    let message = client_error_message(error);
                    warn!(vin, error = %message, "the car reports a telemetry configuration error");
                    self.hub
                        .problem(Some(vin), "telemetry_error", message.clone());
                    messages.push(message);
                }
                // The diagnostic shows the latest ones (an empty list says nothing new).
                let mut update = empty(vin, now);
                if !messages.is_empty() {
                    update
                        .signals
                        .push((Signal::TelemetryErrors, Value::Text(messages.join("; "))));
                }
                (self.hub.apply_delivered(update, &[]), 0)
            }
        };
        let (health, vin) = (self.health.clone(), vin.to_string());
        Box::pin(async move {
            let delivered = delivery.wait().await;
            if delivered {
                health.record(&vin, now, datums);
            }
            delivered
        })
    }

    fn rejected(&self, vin: &str, why: &str) {
        warn!(vin, why, "refused a telemetry frame");
        self.health.rejected(vin, why);
    }
}

fn empty(vin: &str, at: SystemTime) -> Update {
    Update {
        vin: vin.to_string(),
        at,
        signals: Vec::new(),
    }
}

/// Atmospheres to bar.
const BAR_PER_ATM: f64 = 1.01325;

/// What one `V` record means for a car.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Mapped {
    pub signals: Vec<(Signal, Value)>,
    /// Signals the car says it has no value for now.
    pub removed: Vec<Signal>,
    /// Datums without a signal (a field number or name this build does not know, an arm or enum
    /// value it cannot read, a placeholder field).
    pub unknown: usize,
}

impl Mapped {
    /// The update for the hub, stamped with the car's sample time when it sent one.
    pub fn update(&self, vin: &str, at: SystemTime) -> Update {
        Update {
            vin: vin.to_string(),
            at,
            signals: self.signals.clone(),
        }
    }
}

/// Maps a decoded `V` record.
pub fn map_record(data: &VehicleData) -> Mapped {
    let mut out = Mapped::default();
    for datum in &data.datums {
        map_datum(datum, &mut out);
    }
    out
}

/// Maps one datum into `out`.
pub fn map_datum(datum: &Datum, out: &mut Mapped) {
    let Some(signal) = datum.name.and_then(|n| n.parse::<Signal>().ok()) else {
        out.unknown += 1;
        return;
    };
    if let Reading::Doors(d) = &datum.reading {
        for (signal, open) in [
            (Signal::DoorDriverFront, d.driver_front),
            (Signal::DoorDriverRear, d.driver_rear),
            (Signal::DoorPassengerFront, d.passenger_front),
            (Signal::DoorPassengerRear, d.passenger_rear),
            (Signal::TrunkFront, d.trunk_front),
            (Signal::TrunkRear, d.trunk_rear),
        ] {
            out.signals.push((signal, Value::Bool(open)));
        }
        return;
    }
    match value(signal, &datum.reading) {
        Some(Some(value)) => out.signals.push((signal, value)),
        Some(None) => out.removed.push(signal),
        None => out.unknown += 1,
    }
}

/// `Some(Some(v))` a value, `Some(None)` no value now (unknown), `None` unreadable.
fn value(signal: Signal, reading: &Reading) -> Option<Option<Value>> {
    use Signal::*;
    let v = match reading {
        Reading::Invalid => {
            return Some(match signal {
                ChargingCableType | ChargePortLatch => Some(Value::Text("<invalid>".into())),
                _ => None,
            })
        }
        Reading::UnknownArm => return None,
        Reading::Enum(e) => {
            let short = e.short?;
            match (signal, short) {
                // 0 and the "not available" members say nothing about the car.
                (_, "Unknown") | (Gear, "Invalid" | "SNA") => return Some(None),
                (SentryMode, state) => Value::Bool(state != "Off"),
                (_, text) => Value::Text(text.to_string()),
            }
        }
        Reading::Bool(b) => Value::Bool(*b),
        Reading::Int(i) => Value::Int(*i),
        Reading::Float(f) => Value::Float(*f),
        Reading::Text(t) if signal == Version => {
            // "2025.2.6 abcdef12" → "2025.2.6"
            Value::Text(t.split_whitespace().next().unwrap_or_default().to_string())
        }
        Reading::Text(t) => Value::Text(t.clone()),
        Reading::Location {
            latitude,
            longitude,
        } => Value::Location {
            latitude: *latitude,
            longitude: *longitude,
            heading: None,
        },
        Reading::Time {
            hour,
            minute,
            second,
        } => Value::Text(format!("{hour:02}:{minute:02}:{second:02}")),
        Reading::Tires(t) => {
            // The tyres with a warning, comma-separated (`front_left,rear_right`); empty: none.
            let names = [
                (t.front_left, "front_left"),
                (t.front_right, "front_right"),
                (t.rear_left, "rear_left"),
                (t.rear_right, "rear_right"),
                (t.semi_middle_axle_left_2, "semi_middle_axle_left_2"),
                (t.semi_middle_axle_right_2, "semi_middle_axle_right_2"),
                (t.semi_rear_axle_left, "semi_rear_axle_left"),
                (t.semi_rear_axle_right, "semi_rear_axle_right"),
                (t.semi_rear_axle_left_2, "semi_rear_axle_left_2"),
                (t.semi_rear_axle_right_2, "semi_rear_axle_right_2"),
            ];
            let on: Vec<&str> = names.iter().filter(|(w, _)| *w).map(|(_, n)| *n).collect();
            Value::Text(on.join(","))
        }
        Reading::Doors(_) => return None,
    };
    Some(Some(convert(signal, v)))
}

/// Unit conversions from what the car streams to what the signal declares.
fn convert(signal: Signal, v: Value) -> Value {
    use Signal::*;
    match (signal, v.as_f64()) {
        (
            TpmsPressureFl
            | TpmsPressureFr
            | TpmsPressureRl
            | TpmsPressureRr
            | SemitruckTpmsPressureRe1L0
            | SemitruckTpmsPressureRe1L1
            | SemitruckTpmsPressureRe1R0
            | SemitruckTpmsPressureRe1R1
            | SemitruckTpmsPressureRe2L0
            | SemitruckTpmsPressureRe2L1
            | SemitruckTpmsPressureRe2R0
            | SemitruckTpmsPressureRe2R1,
            Some(atm),
        ) => Value::Float(atm * BAR_PER_ATM),
        _ => v,
    }
}

/// An alert as the `event` message a user sees.
pub fn alert_message(alert: &Alert) -> String {
    let state = if alert.ended_at.is_some() {
        "ended"
    } else {
        "active"
    };
    let audiences = if alert.audiences.is_empty() {
        String::new()
    } else {
        format!(" (for {})", alert.audiences.join(", "))
    };
    format!("vehicle alert {} {state}{audiences}", alert.name)
}

/// A telemetry client error as a diagnostic line, e.g.
/// `unsupported_field field_name=Foo`.
pub fn client_error_message(e: &ClientError) -> String {
    let mut text = e.name.clone();
    for (k, v) in &e.tags {
        text.push_str(&format!(" {k}={v}"));
    }
    if !e.body.is_empty() {
        text.push_str(": ");
        text.push_str(&e.body);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tesla::telemetry::decode::{self, EnumReading};
    use crate::tesla::telemetry::proto::vehicle_data::{Doors, TireLocation};

    fn datum(name: &'static str, reading: Reading) -> Datum {
        Datum {
            field: decode::field_number(name).unwrap_or(999),
            name: decode::field_name(decode::field_number(name).unwrap_or(999)),
            reading,
        }
    }

    fn one(name: &'static str, reading: Reading) -> Mapped {
        let mut out = Mapped::default();
        map_datum(&datum(name, reading), &mut out);
        out
    }

    fn enum_(kind: &'static str, short: &'static str) -> Reading {
        Reading::Enum(EnumReading {
            kind,
            number: 1,
            short: Some(short),
        })
    }

    #[test]
    fn every_field_with_a_signal_maps_by_name() {
        for number in 1..=269 {
            let Some(name) = decode::field_name(number) else {
                continue;
            };
            let placeholder = name.starts_with("Experimental_") || name.starts_with("Deprecated_");
            let mapped = one(name, Reading::Float(1.0));
            if placeholder {
                assert_eq!(mapped.unknown, 1, "{name}");
            } else if name != "DoorState" {
                assert_eq!(
                    mapped.signals.len(),
                    1,
                    "field {number} {name} has no signal"
                );
                assert_eq!(mapped.signals[0].0.as_str(), name);
            }
        }
    }

    #[test]
    fn the_stream_speaks_the_pollers_vocabulary() {
        let cases = [
            (
                "DetailedChargeState",
                enum_("DetailedChargeStateValue", "Charging"),
                Value::Text("Charging".into()),
            ),
            ("Gear", enum_("ShiftState", "D"), Value::Text("D".into())),
            (
                "FdWindow",
                enum_("WindowState", "PartiallyOpen"),
                Value::Text("PartiallyOpen".into()),
            ),
            (
                "HvacPower",
                enum_("HvacPowerState", "Off"),
                Value::Text("Off".into()),
            ),
            (
                "ChargePortLatch",
                enum_("ChargePortLatchValue", "Engaged"),
                Value::Text("Engaged".into()),
            ),
            (
                "SentryMode",
                enum_("SentryModeState", "Armed"),
                Value::Bool(true),
            ),
            (
                "SentryMode",
                enum_("SentryModeState", "Off"),
                Value::Bool(false),
            ),
            (
                "Version",
                Reading::Text("2025.2.6 abcdef12".into()),
                Value::Text("2025.2.6".into()),
            ),
            (
                "IsolationResistance",
                Reading::Float(3200.0),
                Value::Float(3200.0),
            ),
            (
                "ScheduledDepartureTime",
                Reading::Time {
                    hour: 7,
                    minute: 5,
                    second: 0,
                },
                Value::Text("07:05:00".into()),
            ),
        ];
        for (name, reading, want) in cases {
            let got = one(name, reading);
            assert_eq!(got.signals, vec![(name.parse().unwrap(), want)], "{name}");
        }
        let got = one("TpmsPressureFl", Reading::Float(2.9));
        let Value::Float(bar) = got.signals[0].1 else {
            panic!()
        };
        assert!((bar - 2.938425).abs() < 1e-9, "{bar}");
        let got = one(
            "TpmsHardWarnings",
            Reading::Tires(TireLocation {
                front_left: true,
                rear_right: true,
                ..TireLocation::default()
            }),
        );
        assert_eq!(
            got.signals[0].1,
            Value::Text("front_left,rear_right".into())
        );
    }

    #[test]
    fn doors_become_six_signals() {
        let got = one(
            "DoorState",
            Reading::Doors(Doors {
                driver_front: true,
                trunk_rear: true,
                ..Doors::default()
            }),
        );
        assert_eq!(
            got.signals,
            vec![
                (Signal::DoorDriverFront, Value::Bool(true)),
                (Signal::DoorDriverRear, Value::Bool(false)),
                (Signal::DoorPassengerFront, Value::Bool(false)),
                (Signal::DoorPassengerRear, Value::Bool(false)),
                (Signal::TrunkFront, Value::Bool(false)),
                (Signal::TrunkRear, Value::Bool(true)),
            ]
        );
    }

    #[test]
    fn invalid_is_unknown_not_zero() {
        let got = one("TimeToFullCharge", Reading::Invalid);
        assert_eq!(
            (got.signals.len(), got.removed.clone()),
            (0, vec![Signal::TimeToFullCharge])
        );
        let got = one("ChargingCableType", Reading::Invalid);
        assert_eq!(
            got.signals,
            vec![(Signal::ChargingCableType, Value::Text("<invalid>".into()))]
        );
        let got = one("Gear", enum_("ShiftState", "SNA"));
        assert_eq!(got.removed, vec![Signal::Gear]);
    }

    #[test]
    fn what_cannot_be_read_is_counted() {
        let unknown_number = Datum {
            field: 300,
            name: None,
            reading: Reading::Float(1.0),
        };
        let unknown_enum = datum(
            "DetailedChargeState",
            Reading::Enum(EnumReading {
                kind: "DetailedChargeStateValue",
                number: 42,
                short: None,
            }),
        );
        let data = VehicleData {
            created_at: None,
            is_resend: false,
            datums: vec![
                unknown_number,
                unknown_enum,
                datum("BatteryLevel", Reading::UnknownArm),
                datum("BatteryLevel", Reading::Int(80)),
            ],
        };
        let got = map_record(&data);
        assert_eq!(got.unknown, 3);
        assert_eq!(got.signals, vec![(Signal::BatteryLevel, Value::Int(80))]);
    }
}

/// Replays the fuzz corpus (`fuzz/corpus/telemetry_frame/`) through the decoder on every
/// `cargo test`, so inputs the fuzzer once found stay harmless.
#[cfg(test)]
mod corpus {
    #[test]
    fn the_saved_fuzz_corpus_decodes_without_panicking() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/fuzz/corpus/telemetry_frame");
        let mut n = 0;
        for entry in std::fs::read_dir(dir).expect("the fuzz corpus exists") {
            let bytes = std::fs::read(entry.unwrap().path()).unwrap();
            if let crate::tesla::telemetry::decode::Frame::Record {
                record: crate::tesla::telemetry::decode::Record::Data(data),
                ..
            } = crate::tesla::telemetry::decode::decode_frame(&bytes)
            {
                let _ = super::map_record(&data);
            }
            n += 1;
        }
        assert!(n >= 5, "only {n} corpus files");
    }
}
