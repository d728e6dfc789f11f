//! The cost governor and the per-car polling policy, on the manual clock, counting requests at the
//! simulator: isolated cars, rate limits per car and category, the budget cut-off, and a meter that
//! agrees with Tesla's (the simulator's) own counters across a restart.

mod common;

use std::time::Duration;

use common::*;
use teslasync::clock::Clock;
use teslasync::sim::{Fault, SimConfig, SimState};

/// Advances the shared clock a minute at a time, waiting for each poll cycle.
async fn run_minutes(running: &Running, clock: &Clock, minutes: u32) {
    let mut cycles = running.wait_cycles_after(0).await;
    for _ in 0..minutes {
        clock.advance(Duration::from_secs(60));
        cycles = running.wait_cycles_after(cycles).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_cars_failing_vehicle_data_does_not_delay_the_other_and_is_announced_once() {
    let (clock, w) = driving_world().await;
    w.sim.sim.inject_fault(Fault {
        status: 500,
        count: 1000,
        path_contains: Some(format!("{MODEL_Y}/vehicle_data")),
        ..Fault::default()
    });
    // Count from the end of the first cycle: its poll may or may not have happened yet.
    w.running.wait_cycles_after(0).await;
    let before = data(&w.sim, MODEL_S);
    run_minutes(&w.running, &clock, 20).await;

    assert_eq!(
        data(&w.sim, MODEL_S) - before,
        20,
        "the healthy car was polled every minute"
    );
    let events = w.probe.all(&w.topic(MODEL_Y, "event"));
    assert_eq!(events.len(), 1, "one announcement for one ongoing problem");
    assert_eq!(events[0].json()["kind"], "poll_failed");
    assert!(w.probe.all(&w.topic(MODEL_S, "event")).is_empty());
    w.running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_huge_retry_after_neither_panics_nor_stops_polling_beyond_the_cap() {
    let (clock, w) = driving_world().await;
    w.sim.sim.inject_fault(Fault {
        status: 429,
        retry_after: Some(u64::MAX),
        count: 1,
        path_contains: Some(format!("{MODEL_Y}/vehicle_data")),
        ..Fault::default()
    });
    run_minutes(&w.running, &clock, 5).await;
    let limited_at = data(&w.sim, MODEL_Y);
    let other = data(&w.sim, MODEL_S);
    run_minutes(&w.running, &clock, 5).await;
    assert_eq!(data(&w.sim, MODEL_Y), limited_at, "limited");
    assert_eq!(data(&w.sim, MODEL_S), other + 5, "the other car goes on");

    // Just short of the 24-hour cap: still waiting. Then it comes back within two list intervals.
    clock.advance(Duration::from_secs(24 * 3600 - 12 * 60));
    run_minutes(&w.running, &clock, 1).await;
    assert_eq!(data(&w.sim, MODEL_Y), limited_at);
    run_minutes(&w.running, &clock, 4).await;
    assert!(
        data(&w.sim, MODEL_Y) > limited_at,
        "polling resumes at the 24-hour cap"
    );
    w.running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_stops_that_category_for_that_car_for_its_retry_after_and_not_longer() {
    let (clock, w) = driving_world().await;
    let mut cycles = w.running.wait_cycles_after(0).await;
    w.sim.sim.inject_fault(Fault {
        status: 429,
        retry_after: Some(3600),
        count: 1,
        path_contains: Some(format!("{MODEL_S}/vehicle_data")),
        ..Fault::default()
    });
    // The next round's data request for the Model S is answered 429 (and billed).
    let before = data(&w.sim, MODEL_S);
    clock.advance(Duration::from_secs(60));
    cycles = w.running.wait_cycles_after(cycles).await;
    let limited = data(&w.sim, MODEL_S);
    assert_eq!(limited, before + 1, "the 429 is billed");
    let rate_limited = w
        .probe
        .wait(&w.topic(MODEL_S, "fleet_api_rate_limited_until"), |m| {
            m.text() != "None"
        })
        .await;
    assert!(
        rate_limited.text().ends_with('Z'),
        "{}",
        rate_limited.text()
    );

    // Commands are another category: they still go through.
    w.probe
        .publish(&w.topic(MODEL_S, "flash_lights/set"), "PRESS")
        .await;
    assert_eq!(w.result(MODEL_S, 1).await["ok"], true);

    // 59 more minutes: no data request for this car; the other car is polled every minute.
    let other = data(&w.sim, MODEL_Y);
    for _ in 0..59 {
        clock.advance(Duration::from_secs(60));
        cycles = w.running.wait_cycles_after(cycles).await;
    }
    assert_eq!(data(&w.sim, MODEL_S), limited, "quiet for the hour");
    assert_eq!(data(&w.sim, MODEL_Y), other + 59);
    // Back within two list intervals after the hour.
    for _ in 0..2 {
        clock.advance(Duration::from_secs(60));
        cycles = w.running.wait_cycles_after(cycles).await;
    }
    assert_eq!(
        data(&w.sim, MODEL_S),
        limited + 1,
        "polled again after the hour"
    );
    let events: Vec<_> = w
        .probe
        .wait_count(&w.topic(MODEL_S, "event"), 2)
        .await
        .iter()
        .map(|m| m.json()["kind"].clone())
        .collect();
    assert_eq!(events, ["rate_limited", "recovered"]);
    w.running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_budget_cut_off_stops_polling_but_lets_commands_through() {
    let clock = manual_clock();
    // The last day of the month: pacing allows the whole month's share by now.
    clock.advance(Duration::from_secs(3 * 86_400));
    let w = World::start_with(
        SimConfig {
            clock: clock.clone(),
            ..SimConfig::default()
        },
        |setup, sim| {
            driving(setup, sim);
            // $0.006 for data (three requests), $0.004 kept for commands (four of them).
            setup.cfg.budget.monthly_usd = 0.010;
            setup.cfg.budget.command_reserve_usd = 0.004;
        },
    )
    .await;
    run_minutes(&w.running, &clock, 5).await;
    let event = w
        .probe
        .wait_count(&format!("{}/event", w.setup.base()), 1)
        .await[0]
        .json();
    assert_eq!(event["kind"], "budget_exhausted", "{event}");
    let billing = w.sim.sim.billing();
    assert_eq!(billing.data, 3, "{billing:?}");
    run_minutes(&w.running, &clock, 10).await;
    assert_eq!(w.sim.sim.billing().data, 3, "polling stopped");

    for n in 1..=5 {
        w.probe
            .publish(&w.topic(MODEL_S, "flash_lights/set"), "PRESS")
            .await;
        let result = w.result(MODEL_S, n).await;
        if n <= 4 {
            assert_eq!(result["ok"], true, "command {n} fits the reserve: {result}");
        } else {
            assert_eq!(result["ok"], false, "{result}");
            let reason = result["reason"].as_str().unwrap();
            assert!(reason.contains("budget.monthly_usd"), "{reason}");
        }
    }
    assert_eq!(w.sim.sim.billing().commands, 4);
    w.running.stop().await;
}

/// The governor's counts equal the simulator's, per car and in total, and so do the dollars.
fn check(sim: &SimServer, report: teslasync::vehicle::cost::CostReport) {
    let billing = sim.sim.billing();
    for vin in sim.sim.vins() {
        let ours = report.month.by_vin.get(&vin).cloned().unwrap_or_default();
        let tesla = &billing.by_vin[&vin];
        assert_eq!(
            (ours.data, ours.commands, ours.wakes),
            (tesla.data, tesla.commands, tesla.wakes),
            "{vin}"
        );
    }
    let total = report.month.month_total();
    assert_eq!(
        (total.data, total.commands, total.wakes),
        (billing.data, billing.commands, billing.wakes)
    );
    assert!((report.month_usd - billing.usd).abs() < 1e-9);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_meter_matches_teslas_counters_across_a_restart() {
    let (clock, w) = driving_world().await;
    run_minutes(&w.running, &clock, 10).await;
    w.probe
        .publish(&w.topic(MODEL_S, "flash_lights/set"), "PRESS")
        .await;
    assert_eq!(w.result(MODEL_S, 1).await["ok"], true);
    // A 503 is not billed, a 429 is.
    w.sim.sim.inject_fault(Fault {
        status: 503,
        count: 1,
        path_contains: Some("vehicle_data".into()),
        ..Fault::default()
    });
    run_minutes(&w.running, &clock, 2).await;
    check(&w.sim, w.running.daemon().cost().report());
    let World {
        sim,
        setup,
        probe,
        running,
    } = w;
    running.stop().await;

    let running = Running::start(&setup.cfg, clock.clone()).await;
    // The new daemon's first cycle reads the driving car at once; compare once it has its answer
    // (the meter counts a request when it is sent, the simulator when it is answered).
    running.wait_cycles_after(0).await;
    check(&sim, running.daemon().cost().report());
    run_minutes(&running, &clock, 5).await;
    let report = running.daemon().cost().report();
    check(&sim, report.clone());
    assert!(report.month.month_total().data >= 20, "{report:?}");
    let sensor = probe
        .wait(
            &format!("{}/{MODEL_S}/fleet_api_cost_month", setup.base()),
            |m| m.text().parse::<f64>().is_ok_and(|usd| usd > 0.0),
        )
        .await;
    assert!(sensor.text().parse::<f64>().unwrap() > 0.01);
    // The account's month on the TeslaSync bridge device equals the governor's figure.
    let month = format!("{:.3}", running.daemon().cost().report().month_usd);
    probe
        .wait(
            &format!("{}/bridge/fleet_api_cost_month", setup.base()),
            |m| m.text().parse::<f64>().ok().map(|v| format!("{v:.3}")) == Some(month.clone()),
        )
        .await;
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_parked_car_that_falls_asleep_gets_no_data_and_no_wake_while_asleep() {
    let clock = manual_clock();
    let w = World::start(SimConfig {
        clock: clock.clone(),
        initial_state: SimState::Online,
        ..SimConfig::default()
    })
    .await;
    run_minutes(&w.running, &clock, 45).await;
    for vin in w.sim.sim.vins() {
        assert_eq!(w.sim.sim.vehicle_json(&vin).unwrap()["state"], "asleep");
    }
    let asleep = w.sim.sim.billing();
    run_minutes(&w.running, &clock, 120).await;
    let later = w.sim.sim.billing();
    assert_eq!(later.data, asleep.data, "no vehicle_data while asleep");
    assert_eq!(later.wakes, 0);
    for b in later.by_vin.values() {
        assert_eq!(b.data_while_asleep, 0);
    }
    w.running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exceeded_limit_is_explained_and_pauses_every_request_for_a_while() {
    let (clock, w) = driving_world().await;
    let mut cycles = w.running.wait_cycles_after(0).await;
    w.sim.sim.inject_fault(Fault {
        status: 403,
        count: 1,
        path_contains: Some(format!("{MODEL_S}/vehicle_data")),
        ..Fault::default()
    });
    clock.advance(Duration::from_secs(60));
    cycles = w.running.wait_cycles_after(cycles).await;
    let event = w.probe.wait_count(&w.topic(MODEL_S, "event"), 1).await[0].json();
    assert_eq!(event["kind"], "billing_limit", "{event}");
    assert!(
        event["message"]
            .as_str()
            .unwrap()
            .contains("developer.tesla.com"),
        "{event}"
    );
    // Nothing goes to Tesla for the pause: not the free list, not the other car.
    let at_403 = w.sim.sim.billing();
    for _ in 0..14 {
        clock.advance(Duration::from_secs(60));
        cycles = w.running.wait_cycles_after(cycles).await;
    }
    let during = w.sim.sim.billing();
    assert_eq!(
        (during.data, during.free),
        (at_403.data, at_403.free),
        "paused"
    );
    for _ in 0..2 {
        clock.advance(Duration::from_secs(60));
        cycles = w.running.wait_cycles_after(cycles).await;
    }
    assert!(
        w.sim.sim.billing().data > at_403.data,
        "resumed after 15 minutes"
    );
    // The account-level pause was announced once on the bridge topic, and its end.
    let kinds: Vec<_> = w
        .probe
        .wait_count(&format!("{}/event", w.setup.base()), 2)
        .await
        .iter()
        .map(|m| m.json()["kind"].clone())
        .collect();
    assert_eq!(kinds, ["billing_limit", "recovered"]);
    w.running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_charging_commands_count_against_the_daily_charging_limit() {
    let clock = manual_clock();
    let w = World::start_with(
        SimConfig {
            clock: clock.clone(),
            ..SimConfig::default()
        },
        |setup, sim| {
            // The owner paired TeslaSync's key with the Model Y.
            let path = teslasync::keys::default_path(&setup.cfg.storage.path);
            let key = teslasync::keys::CommandKey::generate(&path, false).unwrap();
            sim.sim.pair_key(MODEL_Y, &key.public_key_bytes()).unwrap();
        },
    )
    .await;
    run_minutes(&w.running, &clock, 1).await;
    // The Model Y takes signed commands only; the charging command's name is inside the protobuf.
    w.probe
        .publish(&w.topic(MODEL_Y, "charge_state_charge_limit_soc/set"), "75")
        .await;
    let result = w.result(MODEL_Y, 1).await;
    assert_eq!(result["ok"], true, "{result}");
    w.probe
        .publish(&w.topic(MODEL_Y, "flash_lights/set"), "PRESS")
        .await;
    let result = w.result(MODEL_Y, 2).await;
    assert_eq!(result["ok"], true, "{result}");
    let today = w.running.daemon().cost().report().month.today_by_vin[MODEL_Y].clone();
    assert_eq!(today.charging_commands, 1, "{today:?}");
    assert_eq!(
        today.commands,
        w.sim.sim.billing().by_vin[MODEL_Y].commands,
        "handshakes and both commands are commands"
    );
    w.probe
        .wait(
            &w.topic(MODEL_Y, "fleet_api_charging_commands_left_today"),
            |m| m.text() == "4",
        )
        .await;
    w.running.stop().await;
}
