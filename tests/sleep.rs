//! Cost and sleep: a sleeping car is never woken for data, and an idle car is left to fall asleep.

mod common;

use std::time::Duration;

use common::*;
use teslasync::sim::{SimConfig, SimState};

/// Advances the shared clock a minute at a time, waiting for the daemon's poll cycle each minute.
async fn run_minutes(running: &Running, clock: &teslasync::clock::Clock, minutes: u32) {
    let mut cycles = running.wait_cycles_after(0).await;
    for _ in 0..minutes {
        clock.advance(Duration::from_secs(60));
        cycles = running.wait_cycles_after(cycles).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sleeping_car_is_never_woken_for_data() {
    let clock = manual_clock();
    let World {
        sim,
        setup,
        probe,
        running,
    } = World::start(SimConfig {
        clock: clock.clone(),
        initial_state: SimState::Asleep,
        ..SimConfig::default()
    })
    .await;

    run_minutes(&running, &clock, 60).await;

    let billing = sim.sim.billing();
    assert_eq!(billing.wakes, 0, "no wake in an hour: {billing:?}");
    assert_eq!(
        billing.data, 0,
        "no vehicle_data for sleeping cars: {billing:?}"
    );
    for (vin, b) in &billing.by_vin {
        assert_eq!(b.data_while_asleep, 0, "{vin}");
        assert_eq!(b.wakes, 0, "{vin}");
    }
    assert!(
        billing.free >= 60,
        "the free list was read every minute: {billing:?}"
    );
    // Asleep is a normal state: the car stays available and says it is asleep.
    for vin in sim.sim.vins() {
        probe
            .wait_text(&format!("{}/{vin}/availability", setup.base()), "online")
            .await;
        probe
            .wait_text(&format!("{}/{vin}/state", setup.base()), "OFF")
            .await;
    }
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_car_is_left_alone_until_it_falls_asleep() {
    let clock = manual_clock();
    // Bound, not `_`: dropping `Setup` would delete the data directory under the running daemon.
    let World {
        sim,
        setup: _setup,
        probe: _probe,
        running,
    } = World::start(SimConfig {
        clock: clock.clone(),
        initial_state: SimState::Online,
        ..SimConfig::default()
    })
    .await;

    run_minutes(&running, &clock, 60).await;

    let billing = sim.sim.billing();
    assert_eq!(billing.wakes, 0, "{billing:?}");
    for vin in sim.sim.vins() {
        let state = sim.sim.vehicle_json(&vin).unwrap();
        assert_eq!(
            state["state"], "asleep",
            "{vin} fell asleep within the hour: {state}"
        );
        let b = &billing.by_vin[&vin];
        assert_eq!(b.data_while_asleep, 0, "{vin}: {b:?}");
        assert!(
            b.data >= 1 && b.data <= 4,
            "{vin}: a few data calls, then a sleep window: {b:?}"
        );
    }
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_pauses_polling_for_its_retry_after_and_is_reported_once() {
    let clock = manual_clock();
    let World {
        sim,
        setup,
        probe,
        running,
    } = World::start(SimConfig {
        clock: clock.clone(),
        initial_state: SimState::Asleep,
        ..SimConfig::default()
    })
    .await;
    let mut cycles = running.wait_cycles_after(0).await;
    // Settled: new cars also get one (free) fleet_status read for the pairing checklist; wait for it
    // to reach MQTT so that the requests counted below are the poller's alone.
    for vin in sim.sim.vins() {
        probe
            .wait(&format!("{}/{vin}/key_paired", setup.base()), |_| true)
            .await;
    }

    // The next two list requests are rate limited with Retry-After: 600 s.
    sim.sim.inject_fault(teslasync::sim::Fault {
        status: 429,
        retry_after: Some(600),
        count: 2,
        path_contains: Some("/api/1/vehicles".into()),
        ..Default::default()
    });
    clock.advance(Duration::from_secs(60));
    cycles = running.wait_cycles_after(cycles).await;
    let requests_at_429 = sim.sim.billing().free;
    let event = probe
        .wait_count(&format!("{}/event", setup.base()), 1)
        .await[0]
        .json();
    assert_eq!(event["kind"], "rate_limited");

    // The poller comes back exactly when Tesla said, not a list interval later.
    let status = running.daemon().poll_status().borrow().clone();
    assert_eq!(
        status.next_cycle_at,
        Some(status.last_cycle_at.unwrap() + Duration::from_secs(600))
    );
    clock.advance(Duration::from_secs(600));
    cycles = running.wait_cycles_after(cycles).await;
    assert_eq!(
        sim.sim.billing().free,
        requests_at_429 + 1,
        "exactly one request, at the Retry-After"
    );

    // That one was limited again: the same problem is not announced twice.
    clock.advance(Duration::from_secs(600));
    running.wait_cycles_after(cycles).await;
    assert_eq!(
        running.daemon().poll_status().borrow().last_error,
        None,
        "recovered"
    );
    // One event for one ongoing problem, and one when it clears.
    let events = probe
        .wait_count(&format!("{}/event", setup.base()), 2)
        .await;
    let kinds: Vec<_> = events.iter().map(|m| m.json()["kind"].clone()).collect();
    assert_eq!(kinds, ["rate_limited", "recovered"], "{kinds:?}");
    running.stop().await;
}
