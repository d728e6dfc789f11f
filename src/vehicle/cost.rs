//! `vehicle::cost`: the cost governor — what TeslaSync spends at Tesla, and what it may still spend.
//!
//! Every Fleet API request passes through [`Governor`] (it is the client's [`Meter`]): before it is
//! sent, the governor checks the budget and any rate limit still running for that car and category,
//! and *counts the request durably before it leaves*; when the answer comes, a status of 500 or more
//! (or no answer at all) takes the count back, because Tesla bills only answers below 500. So a crash
//! while a request is in flight can over-count that one request, but a count is never lost and never
//! made twice (each request is one reservation, written once). Streaming is billed per signal: the
//! governor adds what the telemetry receiver reported to [`StreamHealth`] since its last look.
//!
//! Counts are kept per car and category, per calendar month (UTC) and for today, in the store (tree
//! `cost`, one record per month), so they survive restarts. They are published on each car as
//! diagnostic sensors (requests and dollars today and this month, the projected month, Tesla's daily
//! limits left, "rate limited until").
//!
//! The budget (`[budget] monthly_usd`, Tesla's $10 monthly credit by default) is paced across the
//! month: by any moment, data requests may have spent the month's data share pro rata plus one day's
//! share. `command_reserve_usd` of it is kept for commands and wakes: when the data share is spent,
//! polling stops (an `event` says so) and user commands still go through until the whole budget is
//! spent. Polling alone also never reaches Tesla's daily per-car data limit.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::clock::Clock;
use crate::config::BudgetConfig;
use crate::store::{Store, StoreError};
use crate::tesla::fleet::{Billed, Category, FleetError, Meter, Usage, DAILY_LIMITS, PRICE_DATA};
use crate::vehicle::hub::Hub;
use crate::vehicle::signal::{Signal, Update, Value};
use crate::vehicle::stream::StreamHealth;

const TREE: &str = "cost";
/// Polling leaves this many of Tesla's daily data requests per car unused (for a user's refresh).
pub const DATA_HEADROOM: u64 = 10;
/// After Tesla's 403 `EXCEEDED_LIMIT`, nothing is sent for this long (it is account-wide).
pub const BILLING_LIMIT_PAUSE: Duration = Duration::from_secs(15 * 60);
/// How often the stream's signal counts are taken in and the sensors refreshed (day roll-over).
const REFRESH: Duration = Duration::from_secs(60);
/// The key under which account-wide requests (the vehicle list) are counted.
const ACCOUNT: &str = "";

/// One calendar month of spending, as stored.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct MonthRecord {
    /// `2026-12`.
    pub month: String,
    /// Per VIN (`""` = account-wide requests).
    pub by_vin: BTreeMap<String, Usage>,
    /// `2026-12-01`: the day `today_by_vin` counts.
    pub today: String,
    pub today_by_vin: BTreeMap<String, Usage>,
    /// `"<VIN or ''>/<category>"` → Unix seconds until which Tesla asked us to wait.
    pub limited_until: BTreeMap<String, u64>,
    /// The budget cut-off was announced this month.
    pub data_budget_announced: bool,
}

impl MonthRecord {
    fn total(map: &BTreeMap<String, Usage>) -> Usage {
        map.values().fold(Usage::default(), |a, u| a.plus(u))
    }

    /// Everything this month, all cars.
    pub fn month_total(&self) -> Usage {
        Self::total(&self.by_vin)
    }

    pub fn today_total(&self) -> Usage {
        Self::total(&self.today_by_vin)
    }

    fn count(&mut self, request: &Billed, by: i64) {
        let vin = request.vin.clone().unwrap_or_default();
        self.by_vin
            .entry(vin.clone())
            .or_default()
            .count(request, by);
        self.today_by_vin.entry(vin).or_default().count(request, by);
    }
}

/// What the governor reports (status page, bench, tests).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CostReport {
    pub month: MonthRecord,
    pub month_usd: f64,
    pub today_usd: f64,
    /// This month's spend extrapolated to the end of the month.
    pub projected_month_usd: f64,
    pub budget_usd: f64,
    pub command_reserve_usd: f64,
}

/// The cost governor for one account.
pub struct Governor {
    store: Store,
    clock: Clock,
    budget: BudgetConfig,
    hub: Arc<Hub>,
    stream: Option<Arc<StreamHealth>>,
    state: Mutex<State>,
}

struct State {
    month: MonthRecord,
    /// Signals already taken from `StreamHealth` per car (its counts start at 0 with the process).
    stream_seen: HashMap<String, u64>,
}

impl Governor {
    /// Loads this month's counts from the store.
    pub fn open(
        store: Store,
        clock: Clock,
        budget: BudgetConfig,
        hub: Arc<Hub>,
        stream: Option<Arc<StreamHealth>>,
    ) -> Result<Arc<Governor>, StoreError> {
        let now = clock.now();
        let (month_key, _) = month_and_day(now);
        let month = store
            .get_json::<MonthRecord>(TREE, &month_key)?
            .unwrap_or_else(|| MonthRecord {
                month: month_key,
                ..MonthRecord::default()
            });
        let governor = Arc::new(Governor {
            store,
            clock,
            budget,
            hub,
            stream,
            state: Mutex::new(State {
                month,
                stream_seen: HashMap::new(),
            }),
        });
        governor.lock().roll(now);
        Ok(governor)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The counts and dollars so far.
    pub fn report(&self) -> CostReport {
        let now = self.clock.now();
        let mut state = self.lock();
        state.roll(now);
        let month = state.month.clone();
        drop(state);
        let month_usd = month.month_total().usd();
        CostReport {
            today_usd: month.today_total().usd(),
            projected_month_usd: projected(month_usd, now),
            month_usd,
            month,
            budget_usd: self.budget.monthly_usd,
            command_reserve_usd: self.reserve(),
        }
    }

    /// One car's spend today and its even share of today's budget (the monthly budget spread over
    /// the month's days and the account's cars), `None` without a budget.
    pub fn car_today(&self, vin: &str) -> (f64, Option<f64>) {
        let now = self.clock.now();
        let report = self.report();
        let today = report.month.today_by_vin.get(vin).map_or(0.0, Usage::usd);
        let cars = self.hub.vins().len().max(1) as f64;
        let days = month_progress(now).1 / DAY_SECS;
        let share = (report.budget_usd > 0.0).then(|| report.budget_usd / days / cars);
        (today, share)
    }

    fn reserve(&self) -> f64 {
        self.budget.command_reserve_usd.min(self.budget.monthly_usd)
    }

    /// Takes in the streaming signals reported since the last look, rolls day and month, refreshes
    /// every car's sensors. Called every minute by [`Governor::run`].
    pub fn refresh(&self) {
        let now = self.clock.now();
        {
            let mut state = self.lock();
            state.roll(now);
            if let Some(stream) = &self.stream {
                let mut added = false;
                for (vin, car) in stream.all() {
                    let seen = state.stream_seen.entry(vin.clone()).or_default();
                    let new = car.signals.saturating_sub(*seen);
                    *seen = car.signals.max(*seen);
                    if new > 0 {
                        added = true;
                        let m = &mut state.month;
                        m.by_vin.entry(vin.clone()).or_default().signals += new;
                        m.today_by_vin.entry(vin).or_default().signals += new;
                    }
                }
                if added {
                    self.persist(&state.month);
                }
            }
        }
        for vin in self.hub.vins() {
            self.publish(&vin);
        }
    }

    /// Refreshes every minute until `shutdown`, then writes the counts out.
    pub async fn run(self: Arc<Self>, shutdown: CancellationToken) {
        loop {
            self.refresh();
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = self.clock.sleep(REFRESH) => {}
            }
        }
        self.refresh();
        if let Err(e) = self.store.flush_async().await {
            warn!(error = %e, "could not write the Fleet API counts");
        }
    }

    /// Writes the month record durably: the count must be on disk before the request leaves.
    fn persist(&self, month: &MonthRecord) {
        let written = self
            .store
            .put_json(TREE, &month.month, month)
            .and_then(|()| self.store.flush());
        if let Err(e) = written {
            warn!(error = %e, "could not store the Fleet API counts");
            self.hub
                .problem(None, "storage", format!("Fleet API counts: {e}"));
        }
    }

    /// Publishes one car's cost sensors.
    fn publish(&self, vin: &str) {
        let now = self.clock.now();
        let report = self.report();
        let m = &report.month;
        let car_month = m.by_vin.get(vin).cloned().unwrap_or_default();
        let car_today = m.today_by_vin.get(vin).cloned().unwrap_or_default();
        let left = |limit: u64, used: u64| Value::Int(limit.saturating_sub(used) as i64);
        let until = [Category::Data, Category::Command, Category::Wake]
            .iter()
            .filter_map(|c| limit_until(m, Some(vin), *c, now))
            .max();
        let round = |x: f64| Value::Float((x * 1000.0).round() / 1000.0);
        let signals = vec![
            (
                Signal::FleetRequestsToday,
                Value::Int(car_today.requests() as i64),
            ),
            (Signal::FleetUsdToday, round(car_today.usd())),
            (Signal::FleetUsdMonth, round(car_month.usd())),
            (
                Signal::FleetUsdMonthProjected,
                round(projected(car_month.usd(), now)),
            ),
            (
                Signal::FleetDataLeftToday,
                left(DAILY_LIMITS.data, car_today.data),
            ),
            (
                Signal::FleetCommandsLeftToday,
                left(DAILY_LIMITS.commands, car_today.commands),
            ),
            (
                Signal::FleetWakesLeftToday,
                left(DAILY_LIMITS.wakes, car_today.wakes),
            ),
            (
                Signal::FleetChargingCommandsLeftToday,
                left(DAILY_LIMITS.charging_commands, car_today.charging_commands),
            ),
            (
                Signal::FleetRateLimitedUntil,
                // Not limited: no time at all (Home Assistant shows unknown), not an empty string.
                until.map_or(Value::Unknown, |t| Value::Text(iso8601(t))),
            ),
            (Signal::FleetAccountUsdMonth, round(report.month_usd)),
            (
                Signal::FleetAccountUsdMonthProjected,
                round(report.projected_month_usd),
            ),
            (
                Signal::FleetBudgetLeftUsd,
                round((report.budget_usd - report.month_usd).max(0.0)),
            ),
            (
                Signal::FleetBudgetExhausted,
                Value::Bool(m.data_budget_announced),
            ),
        ];
        self.hub.apply(Update {
            vin: vin.to_string(),
            at: now,
            signals,
        });
    }

    /// Why a request may not go out now, if it may not.
    fn refusal(&self, state: &State, request: &Billed, now: SystemTime) -> Option<FleetError> {
        let m = &state.month;
        if limit_until_key(m, "*", now).is_some() {
            // Tesla disabled the application; asking again only adds billed 403s.
            return Some(FleetError::BillingLimitExceeded);
        }
        let limited = limit_until(m, request.vin.as_deref(), request.category, now)
            .or_else(|| limit_until(m, None, request.category, now));
        if let Some(until) = limited {
            return Some(FleetError::RateLimited {
                retry_after: until.duration_since(now).unwrap_or_default(),
            });
        }
        let budget = self.budget.monthly_usd;
        if budget <= 0.0 || request.category == Category::Free {
            return None;
        }
        let spent = m.month_total().usd();
        let price = request.category.price();
        match request.category {
            Category::Data => {
                let share = budget - self.reserve();
                if spent + price > share + 1e-9 {
                    return Some(FleetError::Held {
                        reason: format!(
                            "this month's data budget is spent (${spent:.2} of ${budget:.2}, ${:.2} kept for commands); polling resumes next month or when budget.monthly_usd is raised",
                            self.reserve()
                        ),
                        until: Some(next_month(now)),
                    });
                }
                let data_spent = m.month_total().data as f64 * PRICE_DATA;
                let (elapsed, length) = month_progress(now);
                let allowed = share * ((elapsed + DAY_SECS) / length).min(1.0);
                if data_spent + price > allowed + 1e-9 {
                    // When the pro-rata share covers one more request.
                    let at = ((data_spent + price) / share * length - DAY_SECS).max(0.0);
                    // `at` follows from the configured budget: never trust it to be finite.
                    let wait = Duration::try_from_secs_f64(at).unwrap_or(Duration::MAX);
                    let until = crate::util::later(month_start(now), wait);
                    return Some(FleetError::Held {
                        reason: format!(
                            "pacing the ${budget:.2} monthly budget: data requests wait until the month's share allows the next one"
                        ),
                        until: Some(until.max(now + Duration::from_secs(60))),
                    });
                }
                let vin = request.vin.as_deref().unwrap_or(ACCOUNT);
                let today = m.today_by_vin.get(vin).map_or(0, |u| u.data);
                if today + DATA_HEADROOM >= DAILY_LIMITS.data {
                    return Some(FleetError::Held {
                        reason: format!(
                            "{today} data requests today; polling stops short of Tesla's daily limit of {}",
                            DAILY_LIMITS.data
                        ),
                        until: Some(next_day(now)),
                    });
                }
                None
            }
            Category::Command | Category::Wake => (spent + price > budget + 1e-9).then(|| {
                FleetError::Held {
                    reason: format!(
                        "the monthly budget is spent (${spent:.2} of ${budget:.2}); raise budget.monthly_usd to send commands this month"
                    ),
                    until: Some(next_month(now)),
                }
            }),
            Category::Free => None,
        }
    }
}

impl Meter for Governor {
    fn admit(&self, request: &Billed) -> Result<(), FleetError> {
        let now = self.clock.now();
        let mut state = self.lock();
        state.roll(now);
        if let Some(refusal) = self.refusal(&state, request, now) {
            let first_cut = matches!(&refusal, FleetError::Held { reason, .. } if reason.starts_with("this month's data budget"))
                && !state.month.data_budget_announced;
            if first_cut {
                state.month.data_budget_announced = true;
                self.persist(&state.month);
                drop(state);
                info!("the month's data budget is spent; polling stops, commands still go through");
                self.hub
                    .problem(None, "budget_exhausted", refusal.to_string());
            }
            return Err(refusal);
        }
        if request.category != Category::Free {
            state.month.count(request, 1);
            self.persist(&state.month);
        } else {
            // Free requests are counted but need not be durable.
            state.month.count(request, 1);
        }
        Ok(())
    }

    fn answered(&self, request: &Billed, status: Option<u16>, error: Option<&FleetError>) {
        let now = self.clock.now();
        {
            let mut state = self.lock();
            let billed = status.is_some_and(|s| s < 500);
            if !billed {
                state.month.count(request, -1);
            }
            let hold = match error {
                Some(FleetError::RateLimited { retry_after }) => Some((
                    limit_key(request.vin.as_deref(), request.category),
                    *retry_after,
                )),
                Some(FleetError::BillingLimitExceeded) => Some(("*".into(), BILLING_LIMIT_PAUSE)),
                _ => None,
            };
            let limited = hold.is_some();
            if let Some((key, wait)) = hold {
                let until = unix(now).saturating_add(wait.as_secs());
                state.month.limited_until.insert(key, until);
            }
            if !billed || limited || request.category != Category::Free {
                self.persist(&state.month);
            }
        }
        if let Some(vin) = &request.vin {
            self.publish(vin);
        }
    }
}

impl State {
    /// Starts a new month or day record when the calendar has moved on.
    fn roll(&mut self, now: SystemTime) {
        let (month, day) = month_and_day(now);
        if self.month.month != month {
            // Rate limits outlive the month change; counts do not.
            let limits = std::mem::take(&mut self.month.limited_until);
            self.month = MonthRecord {
                month,
                limited_until: limits,
                ..MonthRecord::default()
            };
        }
        if self.month.today != day {
            self.month.today = day;
            self.month.today_by_vin.clear();
        }
        let now = unix(now);
        self.month.limited_until.retain(|_, until| *until > now);
    }
}

fn limit_key(vin: Option<&str>, category: Category) -> String {
    format!("{}/{}", vin.unwrap_or(ACCOUNT), category.as_str())
}

fn limit_until(
    m: &MonthRecord,
    vin: Option<&str>,
    category: Category,
    now: SystemTime,
) -> Option<SystemTime> {
    limit_until_key(m, &limit_key(vin, category), now)
}

fn limit_until_key(m: &MonthRecord, key: &str, now: SystemTime) -> Option<SystemTime> {
    m.limited_until
        .get(key)
        .map(|secs| UNIX_EPOCH + Duration::from_secs(*secs))
        .filter(|until| *until > now)
}

const DAY_SECS: f64 = 86_400.0;

fn unix(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs()
}

/// Days since 1970-01-01 → (year, month, day), proleptic Gregorian (Howard Hinnant's algorithm).
fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// (year, month, day) → days since 1970-01-01.
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (i64::from(m) + 9) % 12;
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `("2026-12", "2026-12-01")` in UTC.
pub fn month_and_day(t: SystemTime) -> (String, String) {
    let (y, m, d) = civil((unix(t) / 86_400) as i64);
    (format!("{y:04}-{m:02}"), format!("{y:04}-{m:02}-{d:02}"))
}

fn month_start(t: SystemTime) -> SystemTime {
    let (y, m, _) = civil((unix(t) / 86_400) as i64);
    UNIX_EPOCH + Duration::from_secs(days_from_civil(y, m, 1) as u64 * 86_400)
}

fn next_month(t: SystemTime) -> SystemTime {
    let (y, m, _) = civil((unix(t) / 86_400) as i64);
    let (y, m) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
    UNIX_EPOCH + Duration::from_secs(days_from_civil(y, m, 1) as u64 * 86_400)
}

fn next_day(t: SystemTime) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs((unix(t) / 86_400 + 1) * 86_400)
}

/// (seconds since the month began, seconds in the month).
fn month_progress(t: SystemTime) -> (f64, f64) {
    let start = month_start(t);
    let elapsed = t.duration_since(start).unwrap_or_default().as_secs_f64();
    let length = next_month(t)
        .duration_since(start)
        .unwrap_or_default()
        .as_secs_f64();
    (elapsed, length)
}

/// Spend so far extrapolated to the whole month (at least one day's worth of elapsed time, so the
/// first hour of a month does not project a fortune).
fn projected(spent: f64, now: SystemTime) -> f64 {
    let (elapsed, length) = month_progress(now);
    spent * length / elapsed.max(DAY_SECS)
}

/// `2026-12-01T21:45:00Z`, for timestamp sensors.
pub fn iso8601(t: SystemTime) -> String {
    humantime::format_rfc3339_seconds(t).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(y: i64, m: u32, d: u32, secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(days_from_civil(y, m, d) as u64 * 86_400 + secs)
    }

    #[test]
    fn calendar_arithmetic() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        for days in [0, 59, 60, 365, 11_016, 20_788, 24_000] {
            let (y, m, d) = civil(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
        let t = at(2026, 12, 31, 86_399);
        assert_eq!(
            month_and_day(t),
            ("2026-12".to_string(), "2026-12-31".to_string())
        );
        assert_eq!(next_month(t), at(2027, 1, 1, 0));
        assert_eq!(month_start(t), at(2026, 12, 1, 0));
        assert_eq!(month_progress(at(2028, 2, 15, 0)).1, 29.0 * DAY_SECS);
        assert_eq!(iso8601(at(2026, 12, 1, 3600)), "2026-12-01T01:00:00Z");
    }

    #[test]
    fn projection_extrapolates_from_at_least_a_day() {
        // $1 in the first 10 days of a 30-day month → $3.
        let t = at(2026, 11, 11, 0);
        assert!((projected(1.0, t) - 3.0).abs() < 1e-9);
        // $0.10 in the first hour counts as a day's spend, not an hour's.
        let t = at(2026, 11, 1, 3600);
        assert!((projected(0.1, t) - 3.0).abs() < 1e-9);
    }
}
