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
    let sim = SimServer::start(SimConfig {
        clock: clock.clone(),
        initial_state: SimState::Asleep,
        ..SimConfig::default()
    })
    .await;
    let setup = Setup::new(&sim);
    setup.sign_in(&sim);
    let probe = Probe::start(&[format!("{}/#", setup.base())]).await;
    let running = Running::start(&setup.cfg, clock.clone()).await;

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
    let sim = SimServer::start(SimConfig {
        clock: clock.clone(),
        initial_state: SimState::Online,
        ..SimConfig::default()
    })
    .await;
    let setup = Setup::new(&sim);
    setup.sign_in(&sim);
    let running = Running::start(&setup.cfg, clock.clone()).await;

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
