//! `bench`: `teslasync bench telemetry` ([`telemetry`]: Fleet Telemetry through the daemon on
//! loopback) and `teslasync bench day` — one simulated day of two cars, priced at Tesla's rates, for
//! TeslaSync's polling policy and, in the same run, the documented policies of Home Assistant's
//! `tesla_fleet` and of TeslaMate ([`peers`]).
//!
//! Everything runs in virtual time against the in-process simulator over loopback HTTP, so the
//! numbers are the same on every run: each policy gets a fresh simulated account on a manual clock
//! starting Monday 2026-06-01 00:00 UTC, the same scripted day (asleep overnight, commutes 07:30–08:00
//! and 17:30–18:00, plugged in at 22:00, parked otherwise), and requests are counted *at the
//! simulator*, the way Tesla bills them. The day is one of a run of equal days: each car starts at
//! the charge limit the previous night's charge reached, so tonight's charge puts back what today's
//! commutes used (a day that started half empty would charge for hours and price a catch-up
//! charge, not a commuter's day). TeslaSync runs its real poller and cost governor; its first
//! car streams Fleet Telemetry, modelled from the signals that car would send at the intervals
//! TeslaSync configures ([`TELEMETRY`]); the peers consume no Fleet Telemetry, so both their cars are
//! polled.
//!
//! Measured per car: requests by category and their price; wakes the bridge caused; minutes the car
//! was awake beyond what the day itself kept it awake (a run without any bridge); and data staleness
//! while driving and while charging — at each second of such a period, how long ago the newest data
//! arrived, counted from the period's start at most (data from before the drive says nothing about
//! it).

pub mod peers;
pub mod telemetry;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Serialize;
use tokio_util::sync::CancellationToken;

use crate::clock::Clock;
use crate::config::{BudgetConfig, Config};
use crate::secret::Secret;
use crate::sim::{Sim, SimConfig, SimState};
use crate::store::{Store, StoreKey};
use crate::tesla::auth::{AuthSettings, Tokens};
use crate::tesla::fleet::{FleetClient, PRICE_COMMAND, PRICE_DATA, PRICE_SIGNAL, PRICE_WAKE};
use crate::vehicle::cost::Governor;
use crate::vehicle::hub::Hub;
use crate::vehicle::poller::Poller;
use crate::vehicle::stream::StreamHealth;
use peers::{PeerPolicy, Seen, Step, TeslaFleet, TeslaMate};

/// 2026-06-01 00:00:00 UTC, a Monday and the first of a month.
const DAY_START: u64 = 1_780_272_000;
const DAY: u64 = 86_400;
/// Scripted events, seconds after midnight, for every car.
const EVENTS: &[(u64, &str)] = &[
    (7 * 3600 + 30 * 60, "drive"),
    (8 * 3600, "park"),
    (17 * 3600 + 30 * 60, "drive"),
    (18 * 3600, "park"),
    (22 * 3600, "plug_in"),
];
const SCENARIO: &str = "commuter day, one of many alike: asleep overnight at 80 %, drives 07:30-08:00 and 17:30-18:00, plugged in at 22:00 (charges back to 80 %), parked otherwise; car 1 streams Fleet Telemetry under TeslaSync, car 2 is polled";
/// Where each car starts the day: the simulator's standard charge limit, where last night's charge stopped.
const START_SOC: f64 = 80.0;

/// What the streaming car sends, as TeslaSync configures Fleet Telemetry: (signals per interval,
/// interval in seconds, when). One datum is one billed signal; fields are sent when they change, so
/// only fields that do change in that state are counted.
pub const TELEMETRY: &[(u64, u64, When)] = &[
    // Location and VehicleSpeed every 10 s while driving.
    (2, 10, When::Driving),
    // Odometer, EstBatteryRange, BatteryLevel every minute while driving.
    (3, 60, When::Driving),
    // ACChargingEnergyIn and TimeToFullCharge every 30 s while charging.
    (2, 30, When::Charging),
    // BatteryLevel and EstBatteryRange every minute while charging.
    (2, 60, When::Charging),
    // InsideTemp every 2 minutes while awake and parked (it drifts).
    (1, 120, When::Parked),
];
/// Every configured field once when the car (re)connects after waking.
const TELEMETRY_BURST: u64 = 30;
/// The data age a streaming car has while driving / charging (its fastest field there).
const STREAM_DRIVING_EVERY: u64 = 10;
const STREAM_CHARGING_EVERY: u64 = 30;

/// When a telemetry field changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    Driving,
    Charging,
    Parked,
}

/// The `--json` object.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub scenario: String,
    pub rows: Vec<Row>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Row {
    pub policy: String,
    pub car: String,
    pub mode: String,
    pub requests: Requests,
    pub usd: f64,
    pub bridge_wakes: u64,
    pub bridge_awake_minutes: i64,
    pub staleness_s: Staleness,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Requests {
    pub data: u64,
    pub command: u64,
    pub wake: u64,
    pub streaming_signals: u64,
}

impl Requests {
    /// At Tesla's prices, rounded to a hundredth of a cent.
    pub fn usd(&self) -> f64 {
        let usd = self.data as f64 * PRICE_DATA
            + self.command as f64 * PRICE_COMMAND
            + self.wake as f64 * PRICE_WAKE
            + self.streaming_signals as f64 * PRICE_SIGNAL;
        (usd * 10_000.0).round() / 10_000.0
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Staleness {
    pub driving_median: u64,
    pub driving_worst: u64,
    pub charging_median: u64,
    pub charging_worst: u64,
}

/// The policies compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Policy {
    None,
    TeslaSync,
    TeslaFleet,
    TeslaMate,
}

impl Policy {
    fn name(self) -> &'static str {
        match self {
            Policy::None => "none",
            Policy::TeslaSync => "teslasync",
            Policy::TeslaFleet => "tesla_fleet",
            Policy::TeslaMate => "teslamate",
        }
    }
}

/// What one run observed of one car.
#[derive(Debug, Default)]
struct Observed {
    /// When fresh data arrived (a `vehicle_data` answer or a telemetry record).
    data_at: Vec<u64>,
    awake_minutes: i64,
    driving: Vec<(u64, u64)>,
    charging: Vec<(u64, u64)>,
    signals: u64,
}

/// Runs the day for every policy.
pub async fn day() -> anyhow::Result<Report> {
    let baseline = run(Policy::None).await?;
    let mut rows = Vec::new();
    for policy in [Policy::TeslaSync, Policy::TeslaFleet, Policy::TeslaMate] {
        let (observed, sim) = run(policy).await?;
        let billing = sim.billing();
        for (i, vin) in sim.vins().iter().enumerate() {
            let o = &observed[vin];
            let b = billing.by_vin.get(vin).cloned().unwrap_or_default();
            let requests = Requests {
                data: b.data,
                command: b.commands,
                wake: b.wakes,
                streaming_signals: o.signals,
            };
            let streaming = policy == Policy::TeslaSync && i == 0;
            rows.push(Row {
                policy: policy.name().into(),
                car: vin.clone(),
                mode: if streaming { "streaming" } else { "polling" }.into(),
                usd: requests.usd(),
                requests,
                bridge_wakes: b.wakes,
                bridge_awake_minutes: o.awake_minutes - baseline.0[vin].awake_minutes,
                staleness_s: staleness(o),
            });
        }
    }
    Ok(Report {
        scenario: SCENARIO.into(),
        rows,
    })
}

/// Median and worst data age over every second of the driving and charging periods.
fn staleness(o: &Observed) -> Staleness {
    let ages = |periods: &[(u64, u64)]| {
        let mut ages = Vec::new();
        for &(start, end) in periods {
            for t in start..end {
                let last = o
                    .data_at
                    .iter()
                    .copied()
                    .filter(|d| *d <= t)
                    .max()
                    .unwrap_or(0)
                    .max(start);
                ages.push(t - last);
            }
        }
        ages.sort_unstable();
        let median = ages.get(ages.len() / 2).copied().unwrap_or(0);
        (median, ages.last().copied().unwrap_or(0))
    };
    let (driving_median, driving_worst) = ages(&o.driving);
    let (charging_median, charging_worst) = ages(&o.charging);
    Staleness {
        driving_median,
        driving_worst,
        charging_median,
        charging_worst,
    }
}

/// One car's state at a moment, from the simulator's control view.
#[derive(Debug, Clone, Copy, PartialEq)]
struct CarNow {
    awake: bool,
    driving: bool,
    charging: bool,
}

fn car_now(sim: &Sim, vin: &str) -> CarNow {
    let v = sim.vehicle_json(vin).unwrap_or_default();
    CarNow {
        awake: v["state"] == "online" || !v["waking_until"].is_null(),
        driving: v["driving"] == true,
        charging: v["charging_state"] == "Charging",
    }
}

/// A fresh simulated account on a manual clock, served on loopback, and a signed-in Fleet client.
struct Account {
    sim: Sim,
    clock: Clock,
    fleet: FleetClient,
    store: Store,
    dir: PathBuf,
    stop: CancellationToken,
}

impl Account {
    async fn start(policy: Policy) -> anyhow::Result<Account> {
        let clock = Clock::manual(UNIX_EPOCH + Duration::from_secs(DAY_START));
        let cfg = SimConfig {
            clock: clock.clone(),
            initial_state: SimState::Asleep,
            initial_soc: Some(START_SOC),
            ..SimConfig::default()
        };
        let (client_id, client_secret) = (cfg.client_id.clone(), cfg.client_secret.clone());
        let sim = Sim::new(cfg);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let url = url::Url::parse(&format!("http://{}/", listener.local_addr()?))?;
        let stop = CancellationToken::new();
        tokio::spawn(sim.clone().serve(listener, stop.clone()));
        let dir = std::env::temp_dir().join(format!(
            "teslasync-bench-{}-{}-{:08x}",
            policy.name(),
            std::process::id(),
            rand::random::<u32>()
        ));
        let store = Store::open(&dir, StoreKey::Ephemeral)?;
        Tokens::import_refresh_token(&store, &Secret::from(sim.issue_refresh_token()))?;
        let http = crate::tesla::http_client()?;
        let tokens = Arc::new(Tokens::load(
            store.clone(),
            http.clone(),
            AuthSettings {
                auth_base_url: url.clone(),
                client_id: Some(client_id),
                client_secret: Some(Secret::from(client_secret)),
            },
            clock.clone(),
        )?);
        let fleet = FleetClient::new(http, url, tokens);
        Ok(Account {
            sim,
            clock,
            fleet,
            store,
            dir,
            stop,
        })
    }

    fn close(self) {
        self.stop.cancel();
        drop(self.store);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn secs(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs() - DAY_START
}

/// Applies the scripted events due at `t` (seconds after midnight).
fn script(sim: &Sim, t: u64) {
    for (at, action) in EVENTS {
        if *at == t {
            for vin in sim.vins() {
                sim.act(&vin, action).expect("scripted action");
            }
        }
    }
}

/// Runs the day for one policy; returns what was observed per car and the simulator (its billing).
async fn run(policy: Policy) -> anyhow::Result<(BTreeMap<String, Observed>, Sim)> {
    let account = Account::start(policy).await?;
    let vins = account.sim.vins();
    let mut observed: BTreeMap<String, Observed> = vins
        .iter()
        .map(|v| (v.clone(), Observed::default()))
        .collect();
    match policy {
        Policy::TeslaSync => run_teslasync(&account, &mut observed).await?,
        _ => run_peer(&account, policy, &mut observed).await?,
    }
    let sim = account.sim.clone();
    account.close();
    Ok((observed, sim))
}

/// Samples each car once a minute (awake minutes, driving and charging periods); returns the state.
fn sample(
    sim: &Sim,
    t: u64,
    observed: &mut BTreeMap<String, Observed>,
    prev: &mut BTreeMap<String, CarNow>,
) {
    for (vin, o) in observed.iter_mut() {
        let now = car_now(sim, vin);
        if now.awake {
            o.awake_minutes += 1;
        }
        let was = prev.get(vin).copied();
        let edge = |periods: &mut Vec<(u64, u64)>, on: bool, was_on: bool| {
            if on && !was_on {
                periods.push((t, DAY));
            } else if !on && was_on {
                if let Some(p) = periods.last_mut() {
                    p.1 = t;
                }
            }
        };
        edge(&mut o.driving, now.driving, was.is_some_and(|w| w.driving));
        edge(
            &mut o.charging,
            now.charging,
            was.is_some_and(|w| w.charging),
        );
        prev.insert(vin.clone(), now);
    }
}

/// The baseline (no bridge) and the peers: a per-car policy stepped in 0.5 s ticks.
async fn run_peer(
    account: &Account,
    policy: Policy,
    observed: &mut BTreeMap<String, Observed>,
) -> anyhow::Result<()> {
    let start = account.clock.now();
    let mut peers: Vec<(String, Box<dyn PeerPolicy>)> = account
        .sim
        .vins()
        .into_iter()
        .filter(|_| policy != Policy::None)
        .map(|vin| {
            let p: Box<dyn PeerPolicy> = match policy {
                // The 2018 Model S is a pre-2021 car.
                Policy::TeslaFleet => Box::new(TeslaFleet::new(start, vin.starts_with("5YJS"))),
                _ => Box::new(TeslaMate::new(start)),
            };
            (vin, p)
        })
        .collect();
    let endpoints = [
        "charge_state",
        "climate_state",
        "drive_state",
        "location_data",
        "vehicle_config",
        "vehicle_state",
    ];
    let tick = Duration::from_millis(500);
    let mut prev = BTreeMap::new();
    let end = start + Duration::from_secs(DAY);
    let mut now = start;
    while now < end {
        let t = secs(now);
        let whole_second = now.duration_since(UNIX_EPOCH)?.subsec_millis() == 0;
        if whole_second {
            script(&account.sim, t);
            if t % 60 == 0 {
                sample(&account.sim, t, observed, &mut prev);
            }
        }
        for (vin, peer) in &mut peers {
            // A policy may chain steps at the same instant (state read, then data).
            for _ in 0..3 {
                let (due, step) = peer.next();
                if due > now {
                    break;
                }
                match step {
                    Step::State => {
                        let online = account
                            .fleet
                            .vehicle(vin)
                            .await
                            .map(|c| c.state.as_deref() == Some("online"))
                            .unwrap_or(false);
                        peer.on_state(now, online);
                    }
                    Step::Data => match account.fleet.vehicle_data(vin, &endpoints).await {
                        Ok(data) => {
                            observed.get_mut(vin.as_str()).expect("car").data_at.push(t);
                            let a = crate::vehicle::policy::Activity::of(&data);
                            use crate::vehicle::policy::Activity;
                            peer.on_data(
                                now,
                                Some(Seen {
                                    driving: a == Activity::Driving,
                                    charging: a == Activity::Charging,
                                }),
                            );
                        }
                        Err(_) => peer.on_data(now, None),
                    },
                }
            }
        }
        account.clock.advance(tick);
        now += tick;
    }
    Ok(())
}

/// TeslaSync: the real poller and cost governor, the first car streaming (modelled), one minute per step.
async fn run_teslasync(
    account: &Account,
    observed: &mut BTreeMap<String, Observed>,
) -> anyhow::Result<()> {
    let settings = Config::defaults().polling;
    let hub = Arc::new(Hub::load(account.store.clone())?);
    let stream = Arc::new(StreamHealth::new(Duration::from_secs(300)));
    let governor = Governor::open(
        account.store.clone(),
        account.clock.clone(),
        BudgetConfig {
            monthly_usd: 10.0,
            command_reserve_usd: 1.0,
        },
        hub.clone(),
        Some(stream.clone()),
    )?;
    account.fleet.set_meter(governor.clone());
    let poller = Poller::new(
        account.fleet.clone(),
        hub,
        account.clock.clone(),
        settings.clone(),
    )
    .with_stream(stream.clone());
    let mut status = poller.status();
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(poller.run(shutdown.clone()));
    let streaming_vin = account.sim.vins()[0].clone();
    let wait_cycle = |status: &mut tokio::sync::watch::Receiver<_>, n: u64| {
        let mut status: tokio::sync::watch::Receiver<crate::vehicle::poller::PollStatus> =
            status.clone();
        async move {
            tokio::time::timeout(Duration::from_secs(30), status.wait_for(|s| s.cycles >= n))
                .await
                .map_err(|_| anyhow::anyhow!("the poller did not complete cycle {n}"))?
                .map_err(|_| anyhow::anyhow!("the poller stopped"))?;
            anyhow::Ok(())
        }
    };
    wait_cycle(&mut status, 1).await?;
    let mut prev = BTreeMap::new();
    let mut last_data: BTreeMap<String, Option<SystemTime>> = BTreeMap::new();
    let mut was_awake = false;
    let step = settings.list_interval.as_secs().max(1);
    let mut cycle = 1;
    let mut t = 0;
    while t < DAY {
        script(&account.sim, t);
        sample_minutes(&account.sim, t, step, observed, &mut prev);
        // The streaming car's records for (t, t + step], from its state now.
        let car = car_now(&account.sim, &streaming_vin);
        let o = observed.get_mut(&streaming_vin).expect("car");
        if car.awake {
            let start = account.clock.now();
            let mut records: Vec<(u64, u64)> = Vec::new();
            if !was_awake {
                records.push((t, TELEMETRY_BURST));
            }
            for &(signals, every, when) in TELEMETRY {
                let active = match when {
                    When::Driving => car.driving,
                    When::Charging => car.charging,
                    When::Parked => !car.driving && !car.charging,
                };
                if active {
                    for s in (t + 1)..=(t + step) {
                        if s % every == 0 {
                            records.push((s, signals));
                        }
                    }
                }
            }
            for (s, signals) in records {
                o.signals += signals;
                let fastest = (car.driving && s % STREAM_DRIVING_EVERY == 0)
                    || (car.charging && s % STREAM_CHARGING_EVERY == 0);
                if fastest || s == t {
                    o.data_at.push(s);
                }
                stream.record(&streaming_vin, start + Duration::from_secs(s - t), signals);
            }
        }
        was_awake = car.awake;
        account.clock.advance(Duration::from_secs(step));
        t += step;
        cycle += 1;
        wait_cycle(&mut status, cycle).await?;
        for (vin, car) in &status.borrow().cars {
            let seen = last_data.entry(vin.clone()).or_default();
            if car.last_data_at != *seen {
                *seen = car.last_data_at;
                if let Some(at) = car.last_data_at {
                    observed.get_mut(vin).expect("car").data_at.push(secs(at));
                }
            }
        }
    }
    shutdown.cancel();
    let _ = task.await;
    Ok(())
}

/// Minute samples for a step of `step` seconds starting at `t`.
fn sample_minutes(
    sim: &Sim,
    t: u64,
    step: u64,
    observed: &mut BTreeMap<String, Observed>,
    prev: &mut BTreeMap<String, CarNow>,
) {
    let mut s = t;
    while s < t + step {
        if s % 60 == 0 {
            sample(sim, s, observed, prev);
        }
        s += 60 - s % 60;
    }
}

/// The terminal table.
pub fn table(report: &Report) -> String {
    let mut out = format!("scenario: {}\n\n", report.scenario);
    out.push_str(&format!(
        "{:<12} {:<18} {:<9} {:>6} {:>5} {:>5} {:>8} {:>8} {:>6} {:>7} {:>13} {:>13}\n",
        "policy",
        "car",
        "mode",
        "data",
        "cmd",
        "wake",
        "signals",
        "usd",
        "wakes",
        "awake+",
        "driving s",
        "charging s"
    ));
    for r in &report.rows {
        let s = &r.staleness_s;
        out.push_str(&format!(
            "{:<12} {:<18} {:<9} {:>6} {:>5} {:>5} {:>8} {:>8.4} {:>6} {:>7} {:>13} {:>13}\n",
            r.policy,
            r.car,
            r.mode,
            r.requests.data,
            r.requests.command,
            r.requests.wake,
            r.requests.streaming_signals,
            r.usd,
            r.bridge_wakes,
            r.bridge_awake_minutes,
            format!("{}/{}", s.driving_median, s.driving_worst),
            format!("{}/{}", s.charging_median, s.charging_worst),
        ));
    }
    out.push_str(
        "\nusd: Tesla's prices (data $1/500, commands $1/1000, wakes $1/50, signals $1/150000), before the $10 monthly credit.\n\
         awake+: minutes awake beyond the same day without any bridge. Staleness: median/worst seconds.\n",
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn staleness_counts_from_the_newest_data_or_the_period_start() {
        let o = Observed {
            data_at: vec![5, 100, 130],
            driving: vec![(100, 160)],
            charging: vec![(200, 204)],
            ..Observed::default()
        };
        let s = staleness(&o);
        // Driving 100..160: ages 0..29 then 0..29 → median 15, worst 29.
        assert_eq!((s.driving_median, s.driving_worst), (15, 29));
        // Charging with no data inside: the age counts from the start, not from t = 130.
        assert_eq!((s.charging_median, s.charging_worst), (2, 3));
    }

    #[test]
    fn usd_follows_from_the_requests_at_teslas_prices() {
        let r = Requests {
            data: 182,
            command: 10,
            wake: 1,
            streaming_signals: 1570,
        };
        assert_eq!(r.usd(), 0.3640 + 0.0100 + 0.0200 + 0.0105);
    }

    #[test]
    fn the_json_has_the_shape_issue_readers_expect() {
        let report = Report {
            scenario: "s".into(),
            rows: vec![Row {
                policy: "teslasync".into(),
                car: "V".into(),
                mode: "polling".into(),
                requests: Requests::default(),
                usd: 0.0,
                bridge_wakes: 0,
                bridge_awake_minutes: 0,
                staleness_s: Staleness::default(),
            }],
        };
        let json = serde_json::to_value(&report).unwrap();
        let row = &json["rows"][0];
        let keys = |v: &serde_json::Value| {
            let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
            k.sort();
            k
        };
        assert_eq!(
            keys(row),
            [
                "bridge_awake_minutes",
                "bridge_wakes",
                "car",
                "mode",
                "policy",
                "requests",
                "staleness_s",
                "usd"
            ]
        );
        assert_eq!(
            keys(&row["requests"]),
            ["command", "data", "streaming_signals", "wake"]
        );
        assert_eq!(
            keys(&row["staleness_s"]),
            [
                "charging_median",
                "charging_worst",
                "driving_median",
                "driving_worst"
            ]
        );
    }
}
