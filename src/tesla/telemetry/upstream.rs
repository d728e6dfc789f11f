//! `tesla::telemetry::upstream`: reads the MQTT output of Tesla's own `fleet-telemetry` server,
//! for users who run it already (`telemetry.mode = "upstream"`).
//!
//! That server's MQTT dispatcher publishes one message per datum, not records:
//!
//! | topic | payload (JSON) |
//! |---|---|
//! | `<base>/<VIN>/v/<Field>` | the value: a number, `"text"` (also numbers as text from older firmware), `true`, `null` for *invalid*, `{"latitude","longitude"}`, the six door keys, `"HH:MM:SS"`, an enum's full name (`"ShiftStateD"`), a tyre object with only the `true` members |
//! | `<base>/<VIN>/alerts/<Name>/current` | `{"StartedAt","EndedAt"?,"Audiences"}` (RFC 3339) |
//! | `<base>/<VIN>/errors/<Name>` | `{"Body","Tags","CreatedAt"}` |
//! | `<base>/<VIN>/connectivity` | `{"ConnectionId","Status","CreatedAt"}` |
//!
//! `<Field>` is the server build's enum name, or the field number for one newer than it. Each
//! message becomes the [`Record`] the receiver would have produced (a one-datum `V` record, one
//! alert, one error) and goes to the same [`Sink`]; a VIN that is not the account's is dropped.
//! The per-record `created_at` and `is_resend` are lost upstream, so updates carry the arrival
//! time. Connectivity is not used: the server reports duplicates and misses disconnects, and the
//! data itself says whether the car streams.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS, Transport};
use serde_json::Value as Json;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use super::decode::{
    self, enum_by_name, field_name, field_number, Alert, ClientError, Datum, Reading, Record,
    VehicleData,
};
use super::proto::vehicle_data::{Doors, TireLocation};
use super::server::Sink;
use crate::config::MqttConfig;

/// One message of the official server, understood.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub vin: String,
    pub record: Record,
}

/// Why a message was not understood.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum UpstreamError {
    #[error(
        "topic {0:?} is not one fleet-telemetry publishes under telemetry.upstream_topic_base"
    )]
    Topic(String),
    #[error("payload on {topic} is not JSON ({error})")]
    Json { topic: String, error: String },
}

/// Parses one message published under `base` (the server's `mqtt.topic_base`). `Ok(None)` for
/// topics that carry nothing new (alert history, connectivity) and for empty payloads (a
/// retained message being cleared).
pub fn parse(base: &str, topic: &str, payload: &[u8]) -> Result<Option<Message>, UpstreamError> {
    let bad_topic = || UpstreamError::Topic(topic.to_string());
    let rest = topic
        .strip_prefix(base)
        .and_then(|r| r.strip_prefix('/'))
        .ok_or_else(bad_topic)?;
    let parts: Vec<&str> = rest.split('/').collect();
    if payload.is_empty() {
        // A retained message being cleared: no value, not an error.
        return Ok(None);
    }
    let json = || {
        serde_json::from_slice::<Json>(payload).map_err(|e| UpstreamError::Json {
            topic: topic.to_string(),
            error: e.to_string(),
        })
    };
    let record = match parts.as_slice() {
        [_, "v", field] => {
            let (number, name) = match field_number(field) {
                Some(n) => (n, field_name(n)),
                // A field newer than the server's build is named by its number.
                None => (field.parse().map_err(|_| bad_topic())?, None),
            };
            let name = name.or_else(|| field_name(number));
            Record::Data(VehicleData {
                created_at: None,
                is_resend: false,
                datums: vec![Datum {
                    field: number,
                    name,
                    reading: reading(name, json()?),
                }],
            })
        }
        [_, "alerts", name, "current"] => {
            let v = json()?;
            Record::Alerts(vec![Alert {
                name: name.to_string(),
                audiences: v["Audiences"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Json::as_str)
                    .filter_map(audience)
                    .collect(),
                started_at: time(&v["StartedAt"]),
                ended_at: time(&v["EndedAt"]),
            }])
        }
        [_, "alerts", _, "history"] | [_, "connectivity"] => return Ok(None),
        [_, "errors", name] => {
            let v = json()?;
            Record::Errors(vec![ClientError {
                name: name.to_string(),
                tags: v["Tags"]
                    .as_object()
                    .into_iter()
                    .flatten()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                    .collect::<BTreeMap<_, _>>(),
                body: v["Body"].as_str().unwrap_or_default().to_string(),
                created_at: time(&v["CreatedAt"]),
            }])
        }
        _ => return Err(bad_topic()),
    };
    Ok(Some(Message {
        vin: parts[0].to_string(),
        record,
    }))
}

/// The value JSON of one datum, as the official server's `getDatumValue` writes it.
pub fn reading(name: Option<&str>, v: Json) -> Reading {
    match v {
        Json::Null => Reading::Invalid,
        Json::Bool(b) => Reading::Bool(b),
        Json::Number(n) => match n.as_i64() {
            Some(i) => Reading::Int(i),
            None => n.as_f64().map_or(Reading::UnknownArm, Reading::Float),
        },
        Json::String(s) => {
            if let Some(e) = enum_by_name(&s) {
                return Reading::Enum(e);
            }
            if let Some(t) = time_of_day(&s) {
                return t;
            }
            decode::string_reading(name, s)
        }
        Json::Object(o) => {
            let flag = |k: &str| o.get(k).and_then(Json::as_bool).unwrap_or(false);
            if let (Some(lat), Some(lon)) = (
                o.get("latitude").and_then(Json::as_f64),
                o.get("longitude").and_then(Json::as_f64),
            ) {
                Reading::Location {
                    latitude: lat,
                    longitude: lon,
                }
            } else if o.contains_key("DriverFront") {
                Reading::Doors(Doors {
                    driver_front: flag("DriverFront"),
                    driver_rear: flag("DriverRear"),
                    passenger_front: flag("PassengerFront"),
                    passenger_rear: flag("PassengerRear"),
                    trunk_front: flag("TrunkFront"),
                    trunk_rear: flag("TrunkRear"),
                })
            } else if name.is_some_and(|n| n.starts_with("Tpms")) {
                // Only the tyres with a warning are listed (`{}`: none).
                Reading::Tires(TireLocation {
                    front_left: flag("front_left"),
                    front_right: flag("front_right"),
                    rear_left: flag("rear_left"),
                    rear_right: flag("rear_right"),
                    semi_middle_axle_left_2: flag("semi_middle_axle_left_2"),
                    semi_middle_axle_right_2: flag("semi_middle_axle_right_2"),
                    semi_rear_axle_left: flag("semi_rear_axle_left"),
                    semi_rear_axle_right: flag("semi_rear_axle_right"),
                    semi_rear_axle_left_2: flag("semi_rear_axle_left_2"),
                    semi_rear_axle_right_2: flag("semi_rear_axle_right_2"),
                })
            } else {
                Reading::UnknownArm
            }
        }
        Json::Array(_) => Reading::UnknownArm,
    }
}

/// `"07:05:00"` (a `time_value`).
fn time_of_day(s: &str) -> Option<Reading> {
    let mut it = s.split(':');
    let (h, m, sec) = (it.next()?, it.next()?, it.next()?);
    if it.next().is_some() || [h, m, sec].iter().any(|p| p.len() != 2) {
        return None;
    }
    Some(Reading::Time {
        hour: h.parse().ok()?,
        minute: m.parse().ok()?,
        second: sec.parse().ok()?,
    })
}

fn audience(a: &str) -> Option<&'static str> {
    ["Customer", "Service", "ServiceFix"]
        .into_iter()
        .find(|known| *known == a)
}

fn time(v: &Json) -> Option<SystemTime> {
    humantime::parse_rfc3339_weak(v.as_str()?).ok()
}

/// The subscriptions under `base`.
pub fn filters(base: &str) -> [String; 3] {
    [
        format!("{base}/+/v/+"),
        format!("{base}/+/alerts/+/current"),
        format!("{base}/+/errors/+"),
    ]
}

/// Reads the upstream broker (`telemetry.upstream_url`, else `mqtt.url`, with `mqtt`'s
/// credentials) under `base` into `sink` until `shutdown`. Reconnects by itself; a message it
/// cannot read is logged and counted as rejected, never fatal.
pub async fn run(
    mqtt: MqttConfig,
    upstream_url: Option<url::Url>,
    base: String,
    sink: Arc<dyn Sink>,
    shutdown: CancellationToken,
) {
    let mut cfg = mqtt;
    if let Some(url) = upstream_url {
        cfg.url = url;
    }
    let mut o = MqttOptions::new(
        format!("{}-upstream", cfg.client_id),
        cfg.host(),
        cfg.port(),
    );
    o.set_keep_alive(Duration::from_secs(30));
    o.set_clean_session(true);
    o.set_max_packet_size(1 << 20, 1 << 20);
    if let Some(user) = &cfg.username {
        let password = cfg
            .password
            .as_ref()
            .map(|p| p.expose().to_string())
            .unwrap_or_default();
        o.set_credentials(user.clone(), password);
    }
    if cfg.tls() {
        o.set_transport(Transport::tls_with_default_config());
    }
    let (client, mut events) = AsyncClient::new(o, 1024);
    let mut backoff = Duration::from_secs(1);
    info!(broker = %cfg.url, base = %base, "reading Fleet Telemetry from fleet-telemetry's MQTT output");
    loop {
        let event = tokio::select! {
            _ = shutdown.cancelled() => break,
            e = events.poll() => e,
        };
        match event {
            Ok(Event::Incoming(Packet::ConnAck(_))) => {
                backoff = Duration::from_secs(1);
                for f in filters(&base) {
                    if let Err(e) = client.subscribe(f, QoS::AtLeastOnce).await {
                        warn!(error = %e, "could not subscribe to the upstream telemetry topics");
                    }
                }
            }
            Ok(Event::Incoming(Packet::Publish(p))) => match parse(&base, &p.topic, &p.payload) {
                Ok(Some(m)) if sink.knows(&m.vin) => {
                    // The delivery future also updates the stream's health once published.
                    tokio::spawn(sink.deliver(&m.vin, m.record));
                }
                Ok(Some(m)) => {
                    debug!(vin = %m.vin, "upstream telemetry for a car not on this account")
                }
                Ok(None) => {}
                Err(e) => {
                    let vin = p
                        .topic
                        .split('/')
                        .rev()
                        .nth(2)
                        .unwrap_or_default()
                        .to_string();
                    warn!(error = %e, "ignored an upstream telemetry message");
                    if sink.knows(&vin) {
                        sink.rejected(&vin, &e.to_string());
                    }
                }
            },
            Ok(_) => {}
            Err(e) => {
                warn!(error = %e, broker = %cfg.url, "upstream telemetry broker unreachable; retrying");
                tokio::select! {
                    _ = shutdown.cancelled() => break,
                    _ = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(Duration::from_secs(60));
            }
        }
    }
    let _ = client.disconnect().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn datum(topic: &str, payload: &str) -> Datum {
        match parse("telemetry", topic, payload.as_bytes())
            .unwrap()
            .unwrap()
        {
            Message {
                record: Record::Data(mut d),
                ..
            } => d.datums.remove(0),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn every_value_form_of_the_official_server_is_read() {
        let v = "telemetry/5YJ3E1EA7KF000001/v/";
        let cases: &[(&str, &str, Reading)] = &[
            ("BatteryLevel", "75.5", Reading::Float(75.5)),
            ("Odometer", "\"34.797\"", Reading::Float(34.797)),
            (
                "VehicleName",
                "\"My Tesla\"",
                Reading::Text("My Tesla".into()),
            ),
            ("Locked", "true", Reading::Bool(true)),
            ("TimeToFullCharge", "null", Reading::Invalid),
            (
                "Location",
                r#"{"latitude":37.7749,"longitude":-122.4194}"#,
                Reading::Location {
                    latitude: 37.7749,
                    longitude: -122.4194,
                },
            ),
            (
                "ScheduledDepartureTime",
                "\"07:05:00\"",
                Reading::Time {
                    hour: 7,
                    minute: 5,
                    second: 0,
                },
            ),
        ];
        for (field, payload, want) in cases {
            let d = datum(&format!("{v}{field}"), payload);
            assert_eq!(&d.reading, want, "{field}");
            assert_eq!(d.name, Some(*field));
        }
        let Reading::Enum(e) = datum(&format!("{v}Gear"), "\"ShiftStateD\"").reading else {
            panic!()
        };
        assert_eq!((e.kind, e.short), ("ShiftState", Some("D")));
        let Reading::Enum(e) = datum(
            &format!("{v}DetailedChargeState"),
            "\"DetailedChargeStateCharging\"",
        )
        .reading
        else {
            panic!()
        };
        assert_eq!(e.short, Some("Charging"));
        let doors = datum(
            &format!("{v}DoorState"),
            r#"{"DriverFront":true,"PassengerFront":false,"DriverRear":false,"PassengerRear":false,"TrunkFront":false,"TrunkRear":true}"#,
        );
        assert_eq!(
            doors.reading,
            Reading::Doors(Doors {
                driver_front: true,
                trunk_rear: true,
                ..Doors::default()
            })
        );
        let tires = datum(&format!("{v}TpmsHardWarnings"), r#"{"front_left":true}"#);
        assert_eq!(
            tires.reading,
            Reading::Tires(TireLocation {
                front_left: true,
                ..TireLocation::default()
            })
        );
        // A field newer than the server's build arrives by number.
        let d = datum(&format!("{v}262"), "12.5");
        assert_eq!((d.field, d.name), (262, Some("BrickSocMinPercent")));
        let d = datum(&format!("{v}300"), "1");
        assert_eq!((d.field, d.name), (300, None));
    }

    #[test]
    fn alerts_and_errors_become_records_and_the_rest_is_skipped_or_refused() {
        let m = parse(
            "telemetry",
            "telemetry/VIN1/alerts/Thermal_Alert/current",
            br#"{"StartedAt":"2024-02-24T04:58:44Z","Audiences":["Customer","Service"]}"#,
        )
        .unwrap()
        .unwrap();
        let Record::Alerts(a) = m.record else {
            panic!()
        };
        assert_eq!(a[0].name, "Thermal_Alert");
        assert_eq!(a[0].audiences, vec!["Customer", "Service"]);
        assert!(a[0].started_at.is_some() && a[0].ended_at.is_none());
        let m = parse(
            "telemetry",
            "telemetry/VIN1/errors/unsupported_field",
            br#"{"Body":"","Tags":{"field_name":"Foo"},"CreatedAt":"2024-02-24T04:58:44Z"}"#,
        )
        .unwrap()
        .unwrap();
        let Record::Errors(e) = m.record else {
            panic!()
        };
        assert_eq!(e[0].tags["field_name"], "Foo");
        assert_eq!(
            parse("telemetry", "telemetry/VIN1/connectivity", b"{}").unwrap(),
            None
        );
        assert!(matches!(
            parse("telemetry", "other/VIN1/v/BatteryLevel", b"1"),
            Err(UpstreamError::Topic(_))
        ));
        assert!(matches!(
            parse("telemetry", "telemetry/VIN1/v/BatteryLevel", b"{nope"),
            Err(UpstreamError::Json { .. })
        ));
        assert!(matches!(
            parse("telemetry", "telemetry/VIN1/v/NoSuchField", b"1"),
            Err(UpstreamError::Topic(_))
        ));
    }
}
