//! Retry and backoff math for failed automated syncs (`syncPolicy.retry`)
//! and for self-heal, as Argo CD does it: the first delay `duration`
//! (default 5 s), multiplied by `factor` (default 2) each attempt, capped at
//! `maxDuration` (default 3 min), at most `limit` retries (default 5;
//! negative means no limit).

use std::time::Duration;

use driftless_api::RetryStrategy;

/// Default first delay.
pub const DEFAULT_DURATION: Duration = Duration::from_secs(5);
/// Default multiplier.
pub const DEFAULT_FACTOR: u32 = 2;
/// Default longest delay.
pub const DEFAULT_MAX_DURATION: Duration = Duration::from_secs(180);
/// Default number of retries after the first attempt.
pub const DEFAULT_LIMIT: i64 = 5;

/// A parsed `syncPolicy.retry`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// The most retries after the first attempt; `None` means unlimited.
    pub limit: Option<u32>,
    /// The first delay.
    pub duration: Duration,
    /// The multiplier per retry.
    pub factor: u32,
    /// The longest delay.
    pub max_duration: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            limit: Some(DEFAULT_LIMIT as u32),
            duration: DEFAULT_DURATION,
            factor: DEFAULT_FACTOR,
            max_duration: DEFAULT_MAX_DURATION,
        }
    }
}

impl RetryPolicy {
    /// Parses a retry strategy; unparsable durations are an error naming the value.
    pub fn from_strategy(strategy: Option<&RetryStrategy>) -> Result<Self, String> {
        let mut policy = RetryPolicy::default();
        let Some(strategy) = strategy else {
            return Ok(policy);
        };
        if let Some(limit) = strategy.limit {
            policy.limit = u32::try_from(limit).ok();
        }
        if let Some(backoff) = &strategy.backoff {
            if let Some(d) = backoff.duration.as_deref() {
                policy.duration = parse_duration(d)?;
            }
            if let Some(f) = backoff.factor {
                policy.factor = u32::try_from(f.max(1)).unwrap_or(u32::MAX);
            }
            if let Some(m) = backoff.max_duration.as_deref() {
                policy.max_duration = parse_duration(m)?;
            }
        }
        Ok(policy)
    }

    /// The delay before retry number `retry` (1 for the first retry).
    pub fn delay(&self, retry: u32) -> Duration {
        let exp = retry.saturating_sub(1).min(32);
        let factor = u64::from(self.factor).saturating_pow(exp);
        let nanos = (self.duration.as_nanos() as u64).saturating_mul(factor);
        Duration::from_nanos(nanos).min(self.max_duration)
    }

    /// Whether retry number `retry` (1 for the first) is still allowed.
    pub fn allows(&self, retry: u32) -> bool {
        self.limit.is_none_or(|limit| retry <= limit)
    }
}

/// Parses a Go-style duration (`5s`, `3m`, `1h30m`, `250ms`); a bare number means seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("empty duration".into());
    }
    if let Ok(secs) = text.parse::<u64>() {
        return Ok(Duration::from_secs(secs));
    }
    let mut total = Duration::ZERO;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(|| format!("duration {text:?} lacks a unit"))?;
        if digits == 0 {
            return Err(format!("duration {text:?} is not a number"));
        }
        let value: f64 = rest[..digits]
            .parse()
            .map_err(|_| format!("duration {text:?} is not a number"))?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let unit = match &rest[..unit_len] {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            other => return Err(format!("duration {text:?} has an unknown unit {other:?}")),
        };
        total += Duration::from_secs_f64(value * unit);
        rest = &rest[unit_len..];
    }
    Ok(total)
}

/// Adds up to ±10 % jitter to `base`, derived from `seed` (so each
/// Application gets its own phase without a random number generator).
pub fn jittered(base: Duration, seed: u64) -> Duration {
    // splitmix64: a cheap, well-spread hash of the seed.
    let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    let fraction = (z % 2001) as f64 / 10_000.0 - 0.1; // -0.1 ..= 0.1
    base.mul_f64(1.0 + fraction)
}

#[cfg(test)]
mod tests {
    use super::*;
    use driftless_api::Backoff;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("5s"), Ok(Duration::from_secs(5)));
        assert_eq!(parse_duration("3m"), Ok(Duration::from_secs(180)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("7"), Ok(Duration::from_secs(7)));
        assert!(parse_duration("5x").is_err());
        assert!(parse_duration("m").is_err());
        assert!(parse_duration("").is_err());
    }

    #[test]
    fn default_backoff_doubles_up_to_three_minutes() {
        let p = RetryPolicy::from_strategy(None).unwrap();
        let delays: Vec<u64> = (1..=8).map(|n| p.delay(n).as_secs()).collect();
        assert_eq!(delays, [5, 10, 20, 40, 80, 160, 180, 180]);
        assert!(p.allows(5));
        assert!(!p.allows(6));
    }

    #[test]
    fn custom_strategy() {
        let strategy = RetryStrategy {
            limit: Some(-1),
            backoff: Some(Backoff {
                duration: Some("1s".into()),
                factor: Some(3),
                max_duration: Some("10s".into()),
            }),
        };
        let p = RetryPolicy::from_strategy(Some(&strategy)).unwrap();
        assert_eq!(p.limit, None);
        assert!(p.allows(1000));
        let delays: Vec<u64> = (1..=4).map(|n| p.delay(n).as_secs()).collect();
        assert_eq!(delays, [1, 3, 9, 10]);
        assert_eq!(p.delay(u32::MAX), Duration::from_secs(10));
    }

    #[test]
    fn bad_duration_is_reported() {
        let strategy = RetryStrategy {
            limit: None,
            backoff: Some(Backoff {
                duration: Some("soon".into()),
                ..Default::default()
            }),
        };
        let err = RetryPolicy::from_strategy(Some(&strategy)).unwrap_err();
        assert!(err.contains("soon"), "{err}");
    }

    #[test]
    fn jitter_stays_within_ten_percent_and_varies() {
        let base = Duration::from_secs(180);
        let values: Vec<Duration> = (0..100).map(|s| jittered(base, s)).collect();
        assert!(
            values
                .iter()
                .all(|d| *d >= base.mul_f64(0.9) && *d <= base.mul_f64(1.1))
        );
        let distinct: std::collections::BTreeSet<_> = values.iter().collect();
        assert!(distinct.len() > 50);
    }
}
