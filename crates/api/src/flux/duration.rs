//! Flux's durations (`interval`, `timeout`, `retryInterval`) are Go
//! durations: `10m`, `1m0s`, `1h30m`, `1.5h`, `300ms`.

use std::time::Duration;

/// Why a duration could not be read. Every variant names the input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    /// The text is empty.
    #[error("empty duration: expected a Go duration such as 5m or 1h30m")]
    Empty,
    /// A negative duration (only `0` and positive values make sense here).
    #[error("invalid duration {input:?}: must not be negative")]
    Negative {
        /// The text read.
        input: String,
    },
    /// A number without a unit, or a unit without a number.
    #[error("invalid duration {input:?}: expected <number><unit> pairs such as 5m or 1h30m")]
    Malformed {
        /// The text read.
        input: String,
    },
    /// A number without a unit (`10`): Go durations always name one.
    #[error("invalid duration {input:?}: missing unit (write e.g. 10s or 10m)")]
    MissingUnit {
        /// The text read.
        input: String,
    },
    /// A unit that is not one of `ns`, `us`, `µs`, `ms`, `s`, `m`, `h`.
    #[error("invalid duration {input:?}: unknown unit {unit:?} (use ns, us, ms, s, m or h)")]
    UnknownUnit {
        /// The text read.
        input: String,
        /// The unit found.
        unit: String,
    },
    /// More than `Duration` can hold.
    #[error("invalid duration {input:?}: too large")]
    Overflow {
        /// The text read.
        input: String,
    },
}

/// A duration field of a spec that does not hold a valid duration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("spec.{field}: {source}")]
pub struct InvalidDuration {
    /// The field (`interval`, `retryInterval`, `timeout`).
    pub field: &'static str,
    /// What is wrong with it.
    pub source: DurationError,
}

/// Parses the duration in spec field `field`.
pub fn parse_field(field: &'static str, text: &str) -> Result<Duration, InvalidDuration> {
    parse_duration(text).map_err(|source| InvalidDuration { field, source })
}

/// Nanoseconds per unit, as Go's `time.ParseDuration` knows them.
fn unit_nanos(unit: &str) -> Option<u128> {
    Some(match unit {
        "ns" => 1,
        "us" | "µs" | "μs" => 1_000,
        "ms" => 1_000_000,
        "s" => 1_000_000_000,
        "m" => 60_000_000_000,
        "h" => 3_600_000_000_000,
        _ => return None,
    })
}

/// Parses a Go duration (`1m0s`, `10m`, `1h30m`, `1.5h`, `0`).
pub fn parse_duration(input: &str) -> Result<Duration, DurationError> {
    let text = input.trim();
    match text.strip_prefix('-') {
        Some(rest) => match parse_unsigned(rest, input)? {
            zero if zero.is_zero() => Ok(zero),
            _ => Err(DurationError::Negative {
                input: input.to_string(),
            }),
        },
        None => parse_unsigned(text.strip_prefix('+').unwrap_or(text), input),
    }
}

/// Parses `text` (no sign), naming `input` in errors.
fn parse_unsigned(text: &str, input: &str) -> Result<Duration, DurationError> {
    let malformed = || DurationError::Malformed {
        input: input.to_string(),
    };
    if text.is_empty() {
        return Err(DurationError::Empty);
    }
    if text == "0" {
        return Ok(Duration::ZERO);
    }
    let mut total: u128 = 0;
    let mut rest = text;
    while !rest.is_empty() {
        let number_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(|| DurationError::MissingUnit {
                input: input.to_string(),
            })?;
        let (number, after) = rest.split_at(number_len);
        let unit_len = after
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(after.len());
        let (unit, after) = after.split_at(unit_len);
        let nanos = unit_nanos(unit).ok_or_else(|| DurationError::UnknownUnit {
            input: input.to_string(),
            unit: unit.to_string(),
        })?;
        total = total
            .checked_add(scaled(number, nanos).ok_or_else(malformed)?)
            .ok_or_else(|| DurationError::Overflow {
                input: input.to_string(),
            })?;
        rest = after;
    }
    let secs = u64::try_from(total / 1_000_000_000).map_err(|_| DurationError::Overflow {
        input: input.to_string(),
    })?;
    Ok(Duration::new(secs, (total % 1_000_000_000) as u32))
}

/// `number` (digits with at most one `.`) times `nanos`, truncated to whole
/// nanoseconds; `None` when it is not a number.
fn scaled(number: &str, nanos: u128) -> Option<u128> {
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    if whole.is_empty() && fraction.is_empty() || fraction.contains('.') {
        return None;
    }
    let whole: u128 = if whole.is_empty() {
        0
    } else {
        whole.parse().ok()?
    };
    let mut value = whole.checked_mul(nanos)?;
    let mut scale = nanos;
    for digit in fraction.chars() {
        scale /= 10;
        value += u128::from(digit.to_digit(10)?) * scale;
    }
    Some(value)
}

/// Formats a duration the way Go prints it (`1h30m0s`, `5m0s`, `1.5s`,
/// `300ms`, `0s`), as Flux's messages show durations.
pub fn format_duration(duration: Duration) -> String {
    let nanos = duration.as_nanos();
    if nanos == 0 {
        return "0s".to_string();
    }
    if nanos < 1_000_000_000 {
        let (unit, per) = match nanos {
            n if n < 1_000 => ("ns", 1),
            n if n < 1_000_000 => ("µs", 1_000),
            _ => ("ms", 1_000_000),
        };
        return format!("{}{unit}", decimal(nanos, per));
    }
    let hours = nanos / 3_600_000_000_000;
    let minutes = nanos / 60_000_000_000 % 60;
    let seconds = decimal(nanos % 60_000_000_000, 1_000_000_000);
    match (hours, minutes) {
        (0, 0) => format!("{seconds}s"),
        (0, m) => format!("{m}m{seconds}s"),
        (h, m) => format!("{h}h{m}m{seconds}s"),
    }
}

/// `value / per` with the fraction's trailing zeros left out.
fn decimal(value: u128, per: u128) -> String {
    let whole = value / per;
    let fraction = value % per;
    if fraction == 0 {
        return whole.to_string();
    }
    let width = per.to_string().len() - 1;
    let digits = format!("{fraction:0width$}");
    format!("{whole}.{}", digits.trim_end_matches('0'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    #[test]
    fn flux_spellings() {
        assert_eq!(parse_duration("10m"), Ok(secs(600)));
        assert_eq!(parse_duration("1m0s"), Ok(secs(60)));
        assert_eq!(parse_duration("1h30m"), Ok(secs(5400)));
        assert_eq!(parse_duration("5m"), Ok(secs(300)));
        assert_eq!(parse_duration("60s"), Ok(secs(60)));
        assert_eq!(parse_duration("1.5h"), Ok(secs(5400)));
        assert_eq!(parse_duration(".5s"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("300ms"), Ok(Duration::from_millis(300)));
        assert_eq!(
            parse_duration("2h45m10s500ms"),
            Ok(Duration::from_millis(9_910_500))
        );
        assert_eq!(parse_duration("1us"), Ok(Duration::from_micros(1)));
        assert_eq!(parse_duration("7ns"), Ok(Duration::from_nanos(7)));
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
        assert_eq!(parse_duration("-0"), Ok(Duration::ZERO));
        assert_eq!(parse_duration(" 2m "), Ok(secs(120)));
    }

    #[test]
    fn errors_name_the_input() {
        assert_eq!(parse_duration(""), Err(DurationError::Empty));
        let err = parse_duration("10").unwrap_err();
        assert!(matches!(err, DurationError::MissingUnit { .. }));
        assert!(matches!(
            parse_duration("1h30"),
            Err(DurationError::MissingUnit { .. })
        ));
        assert!(err.to_string().contains("\"10\""), "{err}");
        let err = parse_duration("5d").unwrap_err();
        assert!(matches!(err, DurationError::UnknownUnit { ref unit, .. } if unit == "d"));
        assert!(err.to_string().contains("\"5d\""), "{err}");
        assert!(matches!(
            parse_duration("m"),
            Err(DurationError::Malformed { .. })
        ));
        assert!(matches!(
            parse_duration("1..5s"),
            Err(DurationError::Malformed { .. })
        ));
        assert!(matches!(
            parse_duration("-5m"),
            Err(DurationError::Negative { .. })
        ));
        assert!(matches!(
            parse_duration("99999999999999999999h"),
            Err(DurationError::Overflow { .. }) | Err(DurationError::Malformed { .. })
        ));
    }

    #[test]
    fn formats_like_go() {
        assert_eq!(format_duration(secs(60)), "1m0s");
        assert_eq!(format_duration(secs(5400)), "1h30m0s");
        assert_eq!(format_duration(secs(45)), "45s");
        assert_eq!(format_duration(Duration::from_millis(1500)), "1.5s");
        assert_eq!(format_duration(Duration::from_millis(300)), "300ms");
        assert_eq!(format_duration(Duration::ZERO), "0s");
        for text in ["10m", "1h30m", "2h45m10.5s", "300ms"] {
            let d = parse_duration(text).unwrap();
            assert_eq!(parse_duration(&format_duration(d)), Ok(d), "{text}");
        }
    }
}
