//! Discovery for one car: messages and bytes in each mode, the time to build them, and the time from
//! the first discovery publish to the last one arriving at a subscriber on a loopback Mosquitto.
//! Run: `cargo bench --bench discovery` (needs `mosquitto` on PATH for the loopback part).
//! Results: docs/BENCHMARKS.md.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};

use teslasync::config::DiscoveryMode;
use teslasync::ha::discovery::{self, Site};
use teslasync::ha::topics::Topics;
use teslasync::sim::{Sim, SimConfig};
use teslasync::vehicle::signal::Signals;
use teslasync::vehicle::vehicle_data::signals_from_vehicle_data;
use teslasync::vehicle::VehicleInfo;

const VIN: &str = "5YJSA1E2XJF000002";

/// The simulator's 2018 Model S (sunroof, rear heaters, an update waiting), as the poller sees it.
fn car() -> (VehicleInfo, Signals) {
    let sim = Sim::new(SimConfig::default());
    let data = sim.vehicle_json(VIN).unwrap()["vehicle_data"].clone();
    let info = VehicleInfo {
        vin: VIN.into(),
        display_name: "Red Rocket".into(),
        signing_required: false,
    };
    (info, signals_from_vehicle_data(&data).into_iter().collect())
}

fn site(mode: DiscoveryMode) -> Site {
    Site {
        mode,
        configuration_url: Some("http://127.0.0.1:8080/".into()),
    }
}

/// What the bridge publishes for discovery at start: the bridge device and the car.
fn messages(mode: DiscoveryMode) -> Vec<(String, Vec<u8>)> {
    let (info, signals) = car();
    let topics = Topics::new("teslasync", "homeassistant");
    let s = site(mode);
    discovery::bridge_configs(&topics, &s)
        .into_iter()
        .chain(discovery::configs(&topics, &s, &info, &signals))
        .map(|(t, p)| (t, serde_json::to_vec(&p).unwrap()))
        .collect()
}

/// Publishes `msgs` (QoS 1, retained, as the bridge does) and returns the time until a subscriber
/// has received all of them.
async fn loopback(port: u16, msgs: &[(String, Vec<u8>)], run: usize) -> Duration {
    let prefix = format!("bench{run}");
    let opts = |id: &str| {
        let mut o = MqttOptions::new(id, "127.0.0.1", port);
        o.set_max_packet_size(1 << 20, 1 << 20);
        o
    };
    let (sub, mut sub_loop) = AsyncClient::new(opts(&format!("sub{run}")), 1024);
    sub.subscribe(format!("{prefix}/#"), QoS::AtLeastOnce)
        .await
        .unwrap();
    loop {
        if let Event::Incoming(Packet::SubAck(_)) = sub_loop.poll().await.unwrap() {
            break;
        }
    }
    let (publisher, mut pub_loop) = AsyncClient::new(opts(&format!("pub{run}")), 1024);
    let driver = tokio::spawn(async move { while pub_loop.poll().await.is_ok() {} });
    let start = Instant::now();
    for (topic, payload) in msgs {
        let topic = topic.replacen("homeassistant", &prefix, 1);
        publisher
            .publish(topic, QoS::AtLeastOnce, true, payload.clone())
            .await
            .unwrap();
    }
    let mut got = 0;
    while got < msgs.len() {
        if let Event::Incoming(Packet::Publish(_)) = sub_loop.poll().await.unwrap() {
            got += 1;
        }
    }
    let elapsed = start.elapsed();
    // Leave nothing retained behind.
    for (topic, _) in msgs {
        let topic = topic.replacen("homeassistant", &prefix, 1);
        publisher
            .publish(topic, QoS::AtLeastOnce, true, Vec::<u8>::new())
            .await
            .unwrap();
    }
    publisher.disconnect().await.ok();
    let _ = tokio::time::timeout(Duration::from_secs(5), driver).await;
    elapsed
}

fn report_loopback() {
    let Ok(listener) = std::net::TcpListener::bind("127.0.0.1:0") else {
        return;
    };
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let Ok(mut broker) = std::process::Command::new("mosquitto")
        .args(["-p", &port.to_string()])
        .stderr(std::process::Stdio::null())
        .spawn()
    else {
        eprintln!("mosquitto not found: skipping the loopback measurement");
        return;
    };
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let rt = tokio::runtime::Runtime::new().unwrap();
    for mode in [DiscoveryMode::Device, DiscoveryMode::Component] {
        let msgs = messages(mode);
        let mut times: Vec<Duration> = (0..7)
            .map(|run| rt.block_on(loopback(port, &msgs, run)))
            .collect();
        times.sort();
        eprintln!(
            "loopback {mode:?}: first publish to last arrival, median of 7: {:.1} ms (min {:.1}, max {:.1})",
            times[3].as_secs_f64() * 1000.0,
            times[0].as_secs_f64() * 1000.0,
            times[6].as_secs_f64() * 1000.0,
        );
    }
    let _ = broker.kill();
    let _ = broker.wait();
}

fn bench(c: &mut Criterion) {
    for mode in [DiscoveryMode::Device, DiscoveryMode::Component] {
        let msgs = messages(mode);
        let bytes: usize = msgs.iter().map(|(t, p)| t.len() + p.len()).sum();
        let largest = msgs.iter().map(|(_, p)| p.len()).max().unwrap_or(0);
        eprintln!(
            "{mode:?} mode: {} messages, {bytes} bytes (topics + payloads), largest payload {largest} bytes",
            msgs.len()
        );
    }
    report_loopback();
    let (info, signals) = car();
    let topics = Topics::new("teslasync", "homeassistant");
    for (name, mode) in [
        ("device", DiscoveryMode::Device),
        ("component", DiscoveryMode::Component),
    ] {
        let s = site(mode);
        c.bench_function(
            &format!("discovery for one car, {name} mode, serialized"),
            |b| {
                b.iter(|| {
                    discovery::configs(&topics, &s, black_box(&info), &signals)
                        .iter()
                        .map(|(_, p)| serde_json::to_vec(p).unwrap().len())
                        .sum::<usize>()
                })
            },
        );
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
