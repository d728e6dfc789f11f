//! No task dies silently (issue 9): a background task that panics is reported (`/healthz`, the
//! status JSON) and started again, or — when it cannot be rebuilt in place — the daemon stops with
//! exit code 1 so its supervisor restarts it. The panics are real ones, raised inside the running
//! task through `TaskHealth::inject_panic`.

mod common;

use std::time::Duration;

use common::*;
use teslasync::tasks::{TaskHealth, TaskState, TaskStatus};
use teslasync::vehicle::poller::car_task_name;

async fn wait_task(
    health: &TaskHealth,
    name: &str,
    pred: impl Fn(&TaskStatus) -> bool,
) -> TaskStatus {
    tokio::time::timeout(
        TIMEOUT,
        health.wait_until(|t| t.get(name).is_some_and(&pred)),
    )
    .await
    .unwrap_or_else(|_| panic!("task {name}: {:?}", health.get(name)));
    health.get(name).unwrap()
}

async fn healthz(running: &Running) -> (u16, serde_json::Value) {
    let r = reqwest::get(running.web().join("healthz").unwrap())
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_car_task_that_panics_fails_healthz_until_it_is_started_again_at_the_next_round() {
    let (clock, w) = driving_world().await;
    let mut cycles = w.running.wait_cycles_after(0).await;
    let health = w.running.daemon().tasks().clone();
    let name = car_task_name(MODEL_Y);
    assert_eq!(healthz(&w.running).await.0, 200);

    health.inject_panic(&name);
    let status = wait_task(&health, &name, |s| s.state == TaskState::Restarting).await;
    assert_eq!(status.restarts, 1);
    assert!(
        status
            .last_failure
            .as_deref()
            .unwrap()
            .contains("injected panic"),
        "{status:?}"
    );
    let (code, body) = healthz(&w.running).await;
    assert_eq!(code, 503, "{body}");
    assert!(
        body["tasks"][&name]
            .as_str()
            .unwrap()
            .contains("injected panic"),
        "{body}"
    );
    let page = reqwest::Client::new()
        .get(w.running.web())
        .bearer_auth(ADMIN_PASSWORD)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains(&format!(
            "Background task <b>{name}</b> restarting after: panicked"
        )),
        "the status page says so"
    );

    // The next list round starts it again, and the car is polled as before.
    let before = data(&w.sim, MODEL_Y);
    let other = data(&w.sim, MODEL_S);
    clock.advance(Duration::from_secs(60));
    cycles = w.running.wait_cycles_after(cycles).await;
    clock.advance(Duration::from_secs(60));
    w.running.wait_cycles_after(cycles).await;
    let status = health.get(&name).unwrap();
    assert_eq!(status.state, TaskState::Running);
    assert_eq!(status.restarts, 1, "the restart stays on record");
    assert!(
        data(&w.sim, MODEL_Y) > before,
        "polled again after the restart"
    );
    assert_eq!(
        data(&w.sim, MODEL_S),
        other + 2,
        "the other car never stopped"
    );
    assert_eq!(healthz(&w.running).await.0, 200);
    w.running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_poller_that_panics_is_restarted_with_its_reason_on_the_status_page() {
    let (clock, w) = driving_world().await;
    let cycles = w.running.wait_cycles_after(0).await;
    let health = w.running.daemon().tasks().clone();
    health.inject_panic("poller");
    let status = wait_task(&health, "poller", |s| {
        s.restarts == 1 && s.state == TaskState::Running
    })
    .await;
    assert!(
        status
            .last_failure
            .as_deref()
            .unwrap()
            .contains("injected panic"),
        "{status:?}"
    );
    // The restarted poller keeps polling both cars.
    let before = (data(&w.sim, MODEL_Y), data(&w.sim, MODEL_S));
    let mut cycles = w.running.wait_cycles_after(cycles).await;
    for _ in 0..2 {
        clock.advance(Duration::from_secs(60));
        cycles = w.running.wait_cycles_after(cycles).await;
    }
    assert!(data(&w.sim, MODEL_Y) > before.0 && data(&w.sim, MODEL_S) > before.1);
    let page: serde_json::Value = reqwest::Client::new()
        .get(w.running.web().join("api/v1/status").unwrap())
        .bearer_auth(ADMIN_PASSWORD)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(page["tasks"]["poller"]["restarts"], 1, "{page}");
    w.running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_critical_task_that_panics_stops_the_daemon_with_exit_code_1() {
    let (_clock, mut w) = driving_world().await;
    w.running.wait_cycles_after(0).await;
    let health = w.running.daemon().tasks().clone();
    health.inject_panic("mqtt bridge");
    wait_task(&health, "mqtt bridge", |s| s.state == TaskState::Failed).await;
    let (code, body) = healthz(&w.running).await;
    assert_eq!(code, 503, "{body}");
    assert!(
        body["tasks"]["mqtt bridge"]
            .as_str()
            .unwrap()
            .starts_with("failed: "),
        "{body}"
    );

    let daemon = w.running.daemon.take().unwrap();
    let err = tokio::time::timeout(TIMEOUT, daemon.wait())
        .await
        .expect("the daemon stops by itself")
        .expect_err("a failed task is an error");
    assert_eq!(err.exit_code(), 1);
    let msg = err.to_string();
    assert!(
        msg.contains("mqtt bridge") && msg.contains("injected panic"),
        "{msg}"
    );
}
