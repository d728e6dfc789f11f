//! Commands end to end against the simulator on loopback: one signed command with a cached session
//! (sign → `signed_command` over HTTP → the car verifies and answers → verify the reply), and one
//! REST command for comparison. Run: `cargo bench --bench commands`. Results: docs/BENCHMARKS.md.

use std::sync::Arc;

use criterion::{criterion_group, criterion_main, Criterion};
use tokio_util::sync::CancellationToken;

use teslasync::clock::Clock;
use teslasync::keys::CommandKey;
use teslasync::secret::Secret;
use teslasync::sim::{Sim, SimConfig};
use teslasync::store::{Store, StoreKey};
use teslasync::tesla::auth::{AuthSettings, Tokens};
use teslasync::tesla::command::{actions, SignOptions, Signer};
use teslasync::tesla::fleet::FleetClient;
use teslasync::vehicle::command::Command;
use teslasync::vehicle::sessions::Sessions;

const MODEL_Y: &str = "7SAYGDEE1NA000001";
const MODEL_S: &str = "5YJSA1E2XJF000002";

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (fleet, key, store) = rt.block_on(async {
        let sim = Sim::new(SimConfig::default());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = url::Url::parse(&format!("http://{}", listener.local_addr().unwrap())).unwrap();
        let refresh = sim.issue_refresh_token();
        let key = CommandKey::random();
        sim.pair_key(MODEL_Y, &key.public_key_bytes()).unwrap();
        tokio::spawn(sim.serve(listener, CancellationToken::new()));
        let storage_key = Secret::from(base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            [1u8; 32],
        ));
        let store =
            Store::open(&dir.path().join("data"), StoreKey::Configured(storage_key)).unwrap();
        Tokens::import_refresh_token(&store, &Secret::from(refresh)).unwrap();
        let http = reqwest::Client::new();
        let settings = AuthSettings {
            auth_base_url: url.clone(),
            client_id: Some(SimConfig::default().client_id),
            client_secret: None,
        };
        let tokens = Tokens::load(store.clone(), http.clone(), settings, Clock::system()).unwrap();
        (FleetClient::new(http, url, Arc::new(tokens)), key, store)
    });

    let command = Command::FlashLights;
    let (domain, payload) = actions::encode(&command).unwrap();
    let mut signer = Signer::new(Arc::new(key.protocol_key()), MODEL_Y, domain).unwrap();
    rt.block_on(async {
        let hs = signer.handshake_request(std::time::SystemTime::now());
        let reply = fleet.signed_command(MODEL_Y, hs.bytes()).await.unwrap();
        signer
            .accept_handshake(&hs, &reply, std::time::SystemTime::now())
            .unwrap();
    });

    c.bench_function(
        "signed command round trip, cached session (loopback)",
        |b| {
            b.iter(|| {
                rt.block_on(async {
                    let now = std::time::SystemTime::now();
                    let request = signer.sign(&payload, SignOptions::default(), now).unwrap();
                    let reply = fleet
                        .signed_command(MODEL_Y, request.bytes())
                        .await
                        .unwrap();
                    signer.open_reply(&request, &reply, now).unwrap();
                })
            })
        },
    );

    // What the executor really does: the session is saved durably (sled flush) before each send.
    let sessions = Sessions::new(store, Arc::new(key.protocol_key()));
    c.bench_function(
        "signed command as the executor sends it (+ durable session save)",
        |b| {
            b.iter(|| {
                rt.block_on(async {
                    let now = std::time::SystemTime::now();
                    let request = signer.sign(&payload, SignOptions::default(), now).unwrap();
                    sessions.save(&signer).await.unwrap();
                    let reply = fleet
                        .signed_command(MODEL_Y, request.bytes())
                        .await
                        .unwrap();
                    signer.open_reply(&request, &reply, now).unwrap();
                })
            })
        },
    );

    c.bench_function("REST command round trip (loopback)", |b| {
        b.iter(|| {
            rt.block_on(async {
                let reply = fleet
                    .command(MODEL_S, command.name(), command.rest_body())
                    .await
                    .unwrap();
                assert!(reply.result);
            })
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
