//! Fleet Telemetry decoding per datum: a car's `V` frame (FlatBuffers envelope + protobuf) to
//! `Reading`s, and on to signals, beside the bare protobuf decode of the same payload (prost alone,
//! the floor any decoder pays). Run: `cargo bench --bench telemetry`. Results: docs/BENCHMARKS.md.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use prost::Message as _;

use teslasync::tesla::telemetry::decode::{decode_frame, Frame, Record};
use teslasync::tesla::telemetry::envelope::{self, Stream};
use teslasync::tesla::telemetry::proto::vehicle_data::{
    value::Value as V, Datum, DetailedChargeStateValue, Doors, Field, LocationValue, Payload,
    ShiftState, Value,
};
use teslasync::vehicle::telemetry::map_record;

/// A driving car's record: the mix of arms a real one sends (doubles, ints, enums, a location,
/// doors, booleans, text, invalid), 20 datums.
fn payload() -> Payload {
    let d = |f: Field, v: V| Datum {
        key: f as i32,
        value: Some(Value { value: Some(v) }),
    };
    Payload {
        data: vec![
            d(Field::BatteryLevel, V::DoubleValue(64.5)),
            d(Field::Soc, V::DoubleValue(63.5)),
            d(Field::EstBatteryRange, V::DoubleValue(170.2)),
            d(Field::Odometer, V::DoubleValue(15234.5)),
            d(Field::VehicleSpeed, V::DoubleValue(31.0)),
            d(Field::Gear, V::ShiftStateValue(ShiftState::D as i32)),
            d(
                Field::Location,
                V::LocationValue(LocationValue {
                    latitude: 52.37403,
                    longitude: 4.88969,
                }),
            ),
            d(Field::GpsHeading, V::DoubleValue(271.0)),
            d(Field::InsideTemp, V::DoubleValue(21.5)),
            d(Field::OutsideTemp, V::DoubleValue(9.5)),
            d(Field::Locked, V::BooleanValue(true)),
            d(
                Field::DoorState,
                V::DoorValue(Doors {
                    trunk_rear: true,
                    ..Doors::default()
                }),
            ),
            d(Field::TpmsPressureFl, V::DoubleValue(2.9)),
            d(Field::TpmsPressureFr, V::DoubleValue(2.9)),
            d(Field::TpmsPressureRl, V::DoubleValue(2.875)),
            d(Field::TpmsPressureRr, V::DoubleValue(2.9)),
            d(Field::ChargeLimitSoc, V::IntValue(80)),
            d(
                Field::DetailedChargeState,
                V::DetailedChargeStateValue(
                    DetailedChargeStateValue::DetailedChargeStateDisconnected as i32,
                ),
            ),
            d(Field::TimeToFullCharge, V::Invalid(true)),
            d(
                Field::Version,
                V::StringValue("2024.44.25.1 abcdef12".into()),
            ),
        ],
        created_at: Some(prost_types::Timestamp {
            seconds: 1_780_272_000,
            nanos: 0,
        }),
        vin: String::new(),
        is_resend: false,
    }
}

fn bench(c: &mut Criterion) {
    let payload = payload();
    let datums = payload.data.len() as u64;
    let bytes = payload.encode_to_vec();
    let frame = envelope::data_frame(
        b"5YJ3E1EA7KF000001-1",
        b"V",
        b"5YJ3E1EA7KF000001-1",
        &Stream {
            created_at: 1_780_272_000,
            sender_id: b"vehicle_device.5YJ3E1EA7KF000001",
            payload: &bytes,
            device_type: b"vehicle_device",
            device_id: b"5YJ3E1EA7KF000001",
            delivered_at_epoch_ms: 0,
        },
    );
    let mut g = c.benchmark_group("telemetry");
    // Throughput in datums, so criterion prints datums/s next to the time per frame.
    g.throughput(Throughput::Elements(datums));
    g.bench_function("reference: prost decode of the payload alone", |b| {
        b.iter(|| Payload::decode(black_box(bytes.as_slice())).unwrap())
    });
    g.bench_function("decode a V frame (envelope + payload + readings)", |b| {
        b.iter(|| decode_frame(black_box(&frame)))
    });
    g.bench_function("decode a V frame and map it to signals", |b| {
        b.iter(|| match decode_frame(black_box(&frame)) {
            Frame::Record {
                record: Record::Data(data),
                ..
            } => map_record(&data),
            _ => unreachable!("the frame is a V record"),
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
