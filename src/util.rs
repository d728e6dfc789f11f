//! `util`: small helpers with no better home. Keep this file short.

/// `t + d`, saturating: a duration from outside (`Retry-After`, Tesla's JSON, the configuration)
/// must never panic the task that adds it (`overflow when adding duration to instant`); past the
/// end of `SystemTime` it is a century from `t`, which is "never" for every caller.
pub fn later(t: std::time::SystemTime, d: std::time::Duration) -> std::time::SystemTime {
    const CENTURY: std::time::Duration = std::time::Duration::from_secs(100 * 365 * 86_400);
    t.checked_add(d)
        .or_else(|| t.checked_add(CENTURY))
        .unwrap_or(t)
}

/// `url` for a log line, banner or error: a password in it (`mqtt://user:secret@host`) becomes
/// `***`, so printing a URL someone typed can never show their password.
pub fn show_url(url: &url::Url) -> String {
    let mut shown = url.clone();
    if shown.password().is_some() {
        let _ = shown.set_password(Some("***"));
    }
    shown.to_string()
}

/// Levenshtein distance, for "did you mean" suggestions on config keys and command names.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// The candidate closest to `wrong` (ignoring case), if it is close enough to be a plausible typo:
/// for did-you-mean hints on configuration keys, variables and command names.
pub fn nearest<'a>(wrong: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let wrong_lower = wrong.to_ascii_lowercase();
    candidates
        .into_iter()
        .map(|c| (edit_distance(&wrong_lower, &c.to_ascii_lowercase()), c))
        .filter(|(d, c)| *d <= (c.len() / 3).max(2))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// "a string", "an array", ...: what kind of JSON value a user sent, for error messages that must
/// not echo the value itself.
pub fn json_kind(v: &serde_json::Value) -> &'static str {
    use serde_json::Value;
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn edit_distance_counts_single_edits() {
        assert_eq!(super::edit_distance("door_lok", "door_lock"), 1);
        assert_eq!(super::edit_distance("", "abc"), 3);
        assert_eq!(super::edit_distance("same", "same"), 0);
    }

    #[test]
    fn later_saturates_instead_of_panicking() {
        use std::time::{Duration, SystemTime};
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_780_000_000);
        assert_eq!(
            super::later(now, Duration::from_secs(60)),
            now + Duration::from_secs(60)
        );
        let never = super::later(now, Duration::MAX);
        assert!(never > now + Duration::from_secs(50 * 365 * 86_400));
        assert_eq!(
            super::later(never, Duration::MAX).max(never),
            super::later(never, Duration::MAX)
        );
    }

    #[test]
    fn show_url_hides_only_the_password() {
        let url = url::Url::parse("mqtt://user:secret@broker:1883").unwrap();
        assert_eq!(super::show_url(&url), "mqtt://user:***@broker:1883");
        let plain = url::Url::parse("mqtt://broker:1883").unwrap();
        assert_eq!(super::show_url(&plain), "mqtt://broker:1883");
    }
}
