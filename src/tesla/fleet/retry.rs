//! How long Tesla asks us to wait after a 429, read from whatever form it takes.
//!
//! Tesla has sent `Retry-After` as seconds, the HTTP date form is legal too, some answers carry only
//! `RateLimit-Reset`, and 429 bodies have been plain text (`Retry in 51499 seconds`, `retry in 1
//! hour`). Every duration from outside is *capped* at [`MAX_RETRY_AFTER`] (Tesla's own daily limits
//! reset within a day, so a longer wait can only be a mistake or hostile) and computed with
//! saturating arithmetic, so `Retry-After: 18446744073709551615` is one day, never an overflow.

use std::time::{Duration, SystemTime};

use reqwest::header::{HeaderMap, DATE, RETRY_AFTER};

/// The longest wait TeslaSync accepts from a 429.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(24 * 3600);
/// The wait when Tesla gives none (what TeslaMate does too).
pub const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(300);

/// The wait a 429 asks for: `Retry-After` (seconds or an HTTP date, measured against the answer's
/// own `Date` header when present, else `now`), else `RateLimit-Reset`, else the body's text, else
/// [`DEFAULT_RETRY_AFTER`]; never more than [`MAX_RETRY_AFTER`].
pub fn retry_after(headers: &HeaderMap, body: &str, now: SystemTime) -> Duration {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    let answered_at = header(DATE.as_str())
        .and_then(|d| httpdate::parse_http_date(d).ok())
        .unwrap_or(now);
    let from_retry_after = header(RETRY_AFTER.as_str()).and_then(|v| {
        seconds(v).or_else(|| {
            httpdate::parse_http_date(v)
                .ok()
                .map(|at| at.duration_since(answered_at).unwrap_or_default())
        })
    });
    let wait = from_retry_after
        .or_else(|| header("ratelimit-reset").and_then(seconds))
        .or_else(|| from_text(body))
        .unwrap_or(DEFAULT_RETRY_AFTER);
    wait.min(MAX_RETRY_AFTER)
}

/// A whole number of seconds, saturating: digits beyond `u64` still mean "a very long time".
fn seconds(text: &str) -> Option<Duration> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(Duration::from_secs(text.parse::<u64>().unwrap_or(u64::MAX)))
}

/// The first "<number> <unit>" in a free-text body: `Retry in 51499 seconds`, `retry in 1 hour`,
/// `try again in 2 hours 30 minutes` (units after the first are added).
fn from_text(body: &str) -> Option<Duration> {
    let lower = body.to_ascii_lowercase();
    let words: Vec<&str> = lower
        .split(|c: char| !c.is_ascii_alphanumeric() && c != '.')
        .map(|w| w.trim_matches('.'))
        .filter(|w| !w.is_empty())
        .collect();
    let mut total: Option<Duration> = None;
    let mut i = 0;
    while i + 1 < words.len() {
        let (Ok(n), Some(unit)) = (words[i].parse::<f64>(), unit_secs(words[i + 1])) else {
            if total.is_some() {
                break;
            }
            i += 1;
            continue;
        };
        let secs = (n * unit).clamp(0.0, MAX_RETRY_AFTER.as_secs_f64());
        total = Some(
            total
                .unwrap_or_default()
                .saturating_add(Duration::from_secs_f64(secs)),
        );
        i += 2;
    }
    total
}

fn unit_secs(word: &str) -> Option<f64> {
    Some(match word {
        "s" | "sec" | "secs" | "second" | "seconds" => 1.0,
        "m" | "min" | "mins" | "minute" | "minutes" => 60.0,
        "h" | "hr" | "hrs" | "hour" | "hours" => 3600.0,
        "d" | "day" | "days" => 86_400.0,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    const NOW: Duration = Duration::from_secs(1_780_000_000);

    fn now() -> SystemTime {
        SystemTime::UNIX_EPOCH + NOW
    }

    fn with(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn seconds_in_the_header_win_over_the_body() {
        let h = with(&[("retry-after", "7")]);
        assert_eq!(
            retry_after(&h, "Retry in 51 seconds", now()),
            Duration::from_secs(7)
        );
    }

    #[test]
    fn a_huge_retry_after_is_capped_not_an_overflow() {
        let h = with(&[("retry-after", "18446744073709551615")]);
        assert_eq!(retry_after(&h, "", now()), MAX_RETRY_AFTER);
        let h = with(&[("retry-after", "99999999999999999999999999")]);
        assert_eq!(retry_after(&h, "", now()), MAX_RETRY_AFTER);
        // And adding the cap to any plausible clock reading cannot overflow.
        assert!(now().checked_add(MAX_RETRY_AFTER).is_some());
    }

    #[test]
    fn an_http_date_counts_from_the_answers_date() {
        let date = httpdate::fmt_http_date(now());
        let later = httpdate::fmt_http_date(now() + Duration::from_secs(3600));
        let h = with(&[("retry-after", &later), ("date", &date)]);
        // The local clock is an hour off; the answer's own Date header is what counts.
        assert_eq!(
            retry_after(&h, "", now() + Duration::from_secs(3600)),
            Duration::from_secs(3600)
        );
        let h = with(&[("retry-after", &later)]);
        assert_eq!(retry_after(&h, "", now()), Duration::from_secs(3600));
        let past = httpdate::fmt_http_date(now() - Duration::from_secs(60));
        let h = with(&[("retry-after", &past)]);
        assert_eq!(retry_after(&h, "", now()), Duration::ZERO);
        let far = httpdate::fmt_http_date(now() + Duration::from_secs(30 * 86_400));
        let h = with(&[("retry-after", &far)]);
        assert_eq!(retry_after(&h, "", now()), MAX_RETRY_AFTER);
    }

    #[test]
    fn plain_text_bodies_in_any_unit() {
        let h = HeaderMap::new();
        let at = |body: &str| retry_after(&h, body, now()).as_secs();
        assert_eq!(at("Retry in 51499 seconds\n"), 51_499);
        assert_eq!(at("retry in 1 hour"), 3600);
        assert_eq!(at("Rate limited. Try again in 2 hours 30 minutes."), 9000);
        assert_eq!(at("retry in 90 min"), 5400);
        assert_eq!(at("Retry in 3 days"), MAX_RETRY_AFTER.as_secs());
        assert_eq!(at("Retry in 1e30 seconds"), 86_400);
        assert_eq!(at("Retry in 99999999999999999999999 hours"), 86_400);
        assert_eq!(at("nonsense"), DEFAULT_RETRY_AFTER.as_secs());
    }

    #[test]
    fn ratelimit_reset_is_used_when_retry_after_is_missing() {
        let h = with(&[("ratelimit-reset", "120")]);
        assert_eq!(retry_after(&h, "", now()), Duration::from_secs(120));
        let h = with(&[("retry-after", "soon"), ("ratelimit-reset", "5")]);
        assert_eq!(retry_after(&h, "", now()), Duration::from_secs(5));
    }
}
