//! Token rotation and the sealed store, against the simulator and sled on disk.

mod common;

use common::*;
use teslasync::clock::Clock;
use teslasync::daemon::{Daemon, StartOptions};
use teslasync::sim::SimConfig;
use teslasync::store::StoreError;
use tokio_util::sync::CancellationToken;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotated_refresh_token_is_persisted_and_survives_a_restart() {
    let sim = SimServer::start(SimConfig::default()).await;
    let setup = Setup::new(&sim);
    let original = sim.sim.issue_refresh_token();
    {
        let store = teslasync::daemon::open_store(&setup.cfg).unwrap();
        teslasync::tesla::auth::Tokens::import_refresh_token(
            &store,
            &teslasync::secret::Secret::from(original.clone()),
        )
        .unwrap();
    }

    let running = Running::start(&setup.cfg, Clock::system()).await;
    running.wait_cycles_after(0).await;
    let status = running.daemon().poll_status().borrow().clone();
    assert_eq!(
        status.last_error, None,
        "the first cycle worked with the imported token"
    );
    assert_eq!(
        sim.sim.billing().token_refreshes,
        1,
        "exactly one refresh for the first requests"
    );
    running.stop().await;

    // The imported token was used once and is now dead at Tesla.
    let reuse = refresh_at_sim(&sim, &original).await;
    assert_eq!(reuse.status().as_u16(), 401);
    let body: serde_json::Value = reuse.json().await.unwrap();
    assert_eq!(body["error"], "login_required");

    // A restarted daemon continues with the rotated token it stored.
    let running = Running::start(&setup.cfg, Clock::system()).await;
    running.wait_cycles_after(0).await;
    let status = running.daemon().poll_status().borrow().clone();
    assert_eq!(
        status.last_error, None,
        "restart continued with the rotated refresh token"
    );
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn access_tokens_are_refreshed_once_before_expiry_in_virtual_time() {
    let clock = manual_clock();
    let sim = SimServer::start(SimConfig {
        clock: clock.clone(),
        ..SimConfig::default()
    })
    .await;
    let setup = Setup::new(&sim);
    setup.sign_in(&sim);
    let running = Running::start(&setup.cfg, clock.clone()).await;
    let mut cycles = running.wait_cycles_after(0).await;
    assert_eq!(sim.sim.billing().token_refreshes, 1);
    // Eight hours of polling: the access token (8 h) is renewed shortly before it expires, once.
    for _ in 0..(8 * 60) {
        clock.advance(std::time::Duration::from_secs(60));
        cycles = running.wait_cycles_after(cycles).await;
    }
    let status = running.daemon().poll_status().borrow().clone();
    assert_eq!(
        status.last_error, None,
        "no request failed on an expired token"
    );
    assert_eq!(
        sim.sim.billing().token_refreshes,
        2,
        "one proactive refresh, no 401-driven extra"
    );
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_encryption_key_stops_start_up_and_changes_nothing_on_disk() {
    let sim = SimServer::start(SimConfig::default()).await;
    let mut setup = Setup::new(&sim);
    setup.sign_in(&sim);
    let running = Running::start(&setup.cfg, Clock::system()).await;
    running.wait_cycles_after(0).await;
    running.stop().await;

    let before = snapshot_dir(&setup.cfg.storage.path);
    setup.cfg.storage.encryption_key = Some(random_key());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let err = Daemon::start(
        setup.cfg.clone(),
        StartOptions {
            clock: Clock::system(),
            http_listener: Some(listener),
            fleet_hosts: None,
            ..StartOptions::default()
        },
        CancellationToken::new(),
    )
    .await
    .err()
    .expect("start-up must fail with a wrong key");
    assert!(
        matches!(
            err,
            teslasync::daemon::DaemonError::Store(StoreError::WrongKey { .. })
        ),
        "{err}"
    );
    assert_eq!(err.exit_code(), 2);
    let message = err.to_string();
    assert!(
        message.contains("ENCRYPTION_KEY") || message.contains("encryption_key"),
        "the message names the setting: {message}"
    );
    assert_eq!(
        snapshot_dir(&setup.cfg.storage.path),
        before,
        "the store is byte-for-byte unchanged"
    );

    setup.cfg.storage.encryption_key = None;
    let err = Daemon::start(
        setup.cfg.clone(),
        StartOptions::default(),
        CancellationToken::new(),
    )
    .await
    .err()
    .expect("start-up must fail without a key");
    assert!(err.to_string().contains("openssl rand -base64 32"), "{err}");
    assert_eq!(snapshot_dir(&setup.cfg.storage.path), before);
}

/// A token manager and Fleet client wired straight to the simulator (no daemon), for token races.
async fn client(sim: &SimServer, setup: &Setup) -> teslasync::tesla::fleet::FleetClient {
    use std::sync::Arc;
    use teslasync::tesla::auth::{AuthSettings, Tokens};
    let store = teslasync::daemon::open_store(&setup.cfg).unwrap();
    let http = reqwest::Client::new();
    let tokens = Tokens::load(
        store,
        http.clone(),
        AuthSettings {
            auth_base_url: sim.url.clone(),
            client_id: setup.cfg.tesla.client_id.clone(),
            client_secret: setup.cfg.tesla.client_secret.clone(),
        },
        sim.sim.clock(),
    )
    .unwrap();
    teslasync::tesla::fleet::FleetClient::new(http, sim.url.clone(), Arc::new(tokens))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_requests_share_one_refresh() {
    let sim = SimServer::start(SimConfig::default()).await;
    let setup = Setup::new(&sim);
    setup.sign_in(&sim);
    let fleet = client(&sim, &setup).await;
    let calls: Vec<_> = (0..10)
        .map(|_| {
            let fleet = fleet.clone();
            tokio::spawn(async move { fleet.vehicles().await })
        })
        .collect();
    for call in calls {
        assert_eq!(call.await.unwrap().unwrap().len(), 2);
    }
    assert_eq!(
        sim.sim.billing().token_refreshes,
        1,
        "ten concurrent callers, one refresh"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_401_refreshes_once_and_retries() {
    let sim = SimServer::start(SimConfig::default()).await;
    let setup = Setup::new(&sim);
    setup.sign_in(&sim);
    let fleet = client(&sim, &setup).await;
    fleet.vehicles().await.unwrap();
    assert_eq!(sim.sim.billing().token_refreshes, 1);

    sim.sim.inject_fault(teslasync::sim::Fault {
        status: 401,
        count: 1,
        path_contains: Some("/api/1/vehicles".into()),
        ..Default::default()
    });
    assert_eq!(
        fleet.vehicles().await.unwrap().len(),
        2,
        "the retry after the refresh succeeded"
    );
    assert_eq!(
        sim.sim.billing().token_refreshes,
        2,
        "exactly one refresh for the 401"
    );

    // A second 401 right after the retry is not chased with another refresh: no request loop.
    sim.sim.inject_fault(teslasync::sim::Fault {
        status: 401,
        count: 2,
        path_contains: Some("/api/1/vehicles".into()),
        ..Default::default()
    });
    let err = fleet.vehicles().await.unwrap_err();
    assert!(err.to_string().contains("401"), "{err}");
    assert_eq!(sim.sim.billing().token_refreshes, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refresh_during_a_full_disk_keeps_the_session_and_the_store_recovers() {
    let clock = manual_clock();
    let sim = SimServer::start(SimConfig {
        clock: clock.clone(),
        ..SimConfig::default()
    })
    .await;
    let setup = Setup::new(&sim);
    setup.sign_in(&sim);
    let probe = setup.probe(&[format!("{}/event", setup.base())]).await;
    let running = Running::start(&setup.cfg, clock.clone()).await;
    let mut cycles = running.wait_cycles_after(0).await;
    assert_eq!(sim.sim.billing().token_refreshes, 1);

    // The disk fills; the access token expires; Tesla rotates the refresh token on the next refresh.
    running.daemon().store().fail_writes(true);
    clock.advance(std::time::Duration::from_secs(8 * 3600));
    cycles = running.wait_cycles_after(cycles).await;
    assert_eq!(sim.sim.billing().token_refreshes, 2);
    assert_eq!(
        running.daemon().poll_status().borrow().last_error,
        None,
        "the new token is used although it could not be saved"
    );
    let event = probe
        .wait(&format!("{}/event", setup.base()), |m| {
            m.json()["kind"] == "storage"
        })
        .await
        .json();
    assert!(
        event["message"].as_str().unwrap().contains("disk space"),
        "{event}"
    );

    // Space is freed: the next request writes the tokens, without a restart.
    running.daemon().store().fail_writes(false);
    let mut saved = running.daemon().account().tokens().storage_problem();
    clock.advance(std::time::Duration::from_secs(60));
    running.wait_cycles_after(cycles).await;
    tokio::time::timeout(TIMEOUT, saved.wait_for(|p| p.is_none()))
        .await
        .expect("the store recovers")
        .unwrap();
    running.stop().await;

    // A restart continues with the rotated token (the one before it is dead at Tesla).
    let running = Running::start(&setup.cfg, clock.clone()).await;
    let cycles = running.wait_cycles_after(0).await;
    clock.advance(std::time::Duration::from_secs(8 * 3600));
    running.wait_cycles_after(cycles).await;
    assert_eq!(sim.sim.billing().token_refreshes, 3);
    assert_eq!(running.daemon().poll_status().borrow().last_error, None);
    running.stop().await;
}
