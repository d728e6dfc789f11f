//! Signing cost with a cached session: what every command pays on top of the Fleet API round trip.
//! The target is well under 100 µs per command; a handshake from scratch (one ECDH on our side) is
//! shown for comparison, and the parser that turns MQTT JSON into a command.

use std::hint::black_box;
use std::sync::Arc;
use std::time::SystemTime;

use criterion::{criterion_group, criterion_main, Criterion};
use teslasync::tesla::command::{actions, Domain, KeyPair, SignOptions, Signer, VehicleVerifier};
use teslasync::vehicle::command::{Command, Limits};

const VIN: &str = "5YJ3E1EA7KF000001";

/// A simulated car for `domain` with `client` enrolled.
fn car(domain: Domain, client: &KeyPair, now: SystemTime) -> VehicleVerifier {
    let mut car = VehicleVerifier::new(domain, VIN, KeyPair::generate(), now);
    car.enroll(client.public_key()).unwrap();
    car
}

fn handshake(car: &mut VehicleVerifier, client: &Arc<KeyPair>, now: SystemTime) -> Signer {
    let mut signer = Signer::new(client.clone(), VIN, car.domain()).unwrap();
    let hello = signer.handshake_request(now);
    let reply = car.handle(hello.bytes(), now).reply;
    signer.accept_handshake(&hello, &reply, now).unwrap();
    signer
}

fn bench(c: &mut Criterion) {
    let now = SystemTime::now();
    let client = Arc::new(KeyPair::generate());

    // What every command from MQTT pays first: the one parser (size, unknown keys, types, the
    // car's bounds).
    let params = serde_json::json!({"percent": 80});
    let limits = Limits::ANY_CAR;
    c.bench_function("parse + validate set_charge_limit params", |b| {
        b.iter(|| {
            black_box(Command::parse_within(
                black_box("set_charge_limit"),
                black_box(&params),
                &limits,
            ))
        })
    });

    let cmd = Command::SetChargeLimit { percent: 80 };
    let mut infotainment = car(Domain::Infotainment, &client, now);
    let mut signer = handshake(&mut infotainment, &client, now);
    c.bench_function("encode + sign set_charge_limit (cached session)", |b| {
        b.iter(|| {
            let (_, payload) = actions::encode(black_box(&cmd)).unwrap();
            let req = signer.sign(&payload, SignOptions::default(), now).unwrap();
            black_box(req.bytes().len())
        })
    });

    let (_, lock) = actions::encode(&Command::DoorLock).unwrap();
    let mut vcsec = car(Domain::VehicleSecurity, &client, now);
    let mut signer = handshake(&mut vcsec, &client, now);
    c.bench_function("sign door_lock + take snapshot (cached session)", |b| {
        b.iter(|| {
            let req = signer
                .sign(black_box(&lock), SignOptions::default(), now)
                .unwrap();
            black_box((req.bytes().len(), signer.snapshot()))
        })
    });

    c.bench_function(
        "handshake from scratch (our ECDH; the car's side is cached)",
        |b| b.iter(|| black_box(handshake(&mut vcsec, &client, now).has_session())),
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);
