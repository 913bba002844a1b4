//! Durations written as text in flow files and settings: `250ms`, `5s`, `2m`, `1h`, `8d`,
//! `1m30s`.
//!
//! Owns the one grammar for them (also the pattern in the JSON Schema of [`DurationText`]).

use std::time::Duration;

use super::ast::DurationText;

/// Why a duration does not parse; the message is a lowercase fragment, the hint says how to
/// write it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct DurationError {
    pub message: String,
    pub hint: String,
}

impl DurationError {
    fn new(message: impl Into<String>, hint: impl Into<String>) -> Self {
        DurationError {
            message: message.into(),
            hint: hint.into(),
        }
    }
}

const UNITS_HINT: &str = "write a number and a unit: `250ms`, `5s`, `2m`, `1h`, `8d`, or `1m30s`";

/// Parses `250ms`, `5s`, `2m`, `1h` and combinations from the largest unit down (`1h30m`,
/// `1m30s`, `2s500ms`). Zero is refused: a zero deadline fails every step.
pub fn parse_duration(text: &str) -> Result<Duration, DurationError> {
    let s = text.trim();
    if s.is_empty() {
        return Err(DurationError::new("empty duration", UNITS_HINT));
    }
    let bytes = s.as_bytes();
    let mut i = 0;
    let mut total = Duration::ZERO;
    let mut last_rank = usize::MAX;
    while i < bytes.len() {
        let start = i;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
        }
        if i == start {
            let rest = &s[start..];
            return Err(if rest.starts_with(' ') {
                DurationError::new(
                    format!("unexpected space in duration `{s}`"),
                    "write it without spaces, e.g. `1m30s`",
                )
            } else {
                DurationError::new(
                    format!("expected a number in duration `{s}`, found `{rest}`"),
                    UNITS_HINT,
                )
            });
        }
        let digits = &s[start..i];
        if i < bytes.len() && (bytes[i] == b'.' || bytes[i] == b',') {
            return Err(DurationError::new(
                format!("fractions are not supported in duration `{s}`"),
                "use a smaller unit, e.g. `1500ms` rather than `1.5s`",
            ));
        }
        let spaced = i < bytes.len() && bytes[i] == b' ';
        while i < bytes.len() && bytes[i] == b' ' {
            i += 1;
        }
        let unit_start = i;
        while i < bytes.len() && bytes[i].is_ascii_alphabetic() {
            i += 1;
        }
        let unit = &s[unit_start..i];
        if spaced && matches!(unit, "d" | "h" | "m" | "s" | "ms") {
            return Err(DurationError::new(
                format!("unexpected space in duration `{s}`"),
                "write it without spaces, e.g. `1m30s`",
            ));
        }
        let (rank, per_unit) = match unit {
            // Days: a clock skew of a replayed fixture or a mark from a nightly run ago.
            "d" => (0, Duration::from_secs(86_400)),
            "h" => (1, Duration::from_secs(3600)),
            "m" => (2, Duration::from_secs(60)),
            "s" => (3, Duration::from_secs(1)),
            "ms" => (4, Duration::from_millis(1)),
            "" => {
                return Err(DurationError::new(
                    format!("missing unit in duration `{s}`"),
                    format!("write `{digits}s` for seconds or `{digits}ms` for milliseconds"),
                ))
            }
            other => {
                let hint = match other {
                    "sec" | "secs" | "second" | "seconds" => format!("write `{digits}s`"),
                    "min" | "mins" | "minute" | "minutes" => format!("write `{digits}m`"),
                    "hr" | "hrs" | "hour" | "hours" => format!("write `{digits}h`"),
                    "msec" | "millis" | "milliseconds" => format!("write `{digits}ms`"),
                    "day" | "days" => format!("write `{digits}d`"),
                    _ => "units are `ms`, `s`, `m`, `h` and `d`".to_string(),
                };
                return Err(DurationError::new(
                    format!("unknown unit `{other}` in duration `{s}`"),
                    hint,
                ));
            }
        };
        if last_rank != usize::MAX && rank <= last_rank {
            return Err(DurationError::new(
                format!("units out of order in duration `{s}`"),
                "write each unit once, from the largest down, e.g. `1m30s`",
            ));
        }
        last_rank = rank;
        let n: u32 = digits.parse().map_err(|_| {
            DurationError::new(
                format!("duration `{s}` is too long"),
                "use at most a few hours",
            )
        })?;
        let part = per_unit.checked_mul(n).ok_or_else(|| {
            DurationError::new(
                format!("duration `{s}` is too long"),
                "use at most a few hours",
            )
        })?;
        total = total.checked_add(part).ok_or_else(|| {
            DurationError::new(
                format!("duration `{s}` is too long"),
                "use at most a few hours",
            )
        })?;
    }
    if total.is_zero() {
        return Err(DurationError::new(
            format!("duration `{s}` is zero"),
            "a zero deadline fails at once; give it some time, e.g. `500ms`",
        ));
    }
    Ok(total)
}

/// Formats a duration the way flow files write it (`1m30s`, `250ms`).
pub fn format_duration(d: Duration) -> String {
    let mut ms = d.as_millis();
    if ms == 0 {
        return "0ms".to_string();
    }
    let mut out = String::new();
    for (unit, size) in [("h", 3_600_000u128), ("m", 60_000), ("s", 1000), ("ms", 1)] {
        if ms >= size {
            out.push_str(&format!("{}{unit}", ms / size));
            ms %= size;
        }
    }
    out
}

impl DurationText {
    /// The duration this text stands for.
    pub fn parse(&self) -> Result<Duration, DurationError> {
        parse_duration(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_units_and_combinations() {
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("5s"), Ok(Duration::from_secs(5)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_duration("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("2s500ms"), Ok(Duration::from_millis(2500)));
        assert_eq!(parse_duration(" 10s "), Ok(Duration::from_secs(10)));
    }

    #[test]
    fn explains_mistakes() {
        let e = parse_duration("5").unwrap_err();
        assert_eq!(e.message, "missing unit in duration `5`");
        assert!(e.hint.contains("`5s`"));
        let e = parse_duration("5 sec").unwrap_err();
        assert_eq!(e.message, "unknown unit `sec` in duration `5 sec`");
        let e = parse_duration("5sec").unwrap_err();
        assert_eq!(e.hint, "write `5s`");
        assert!(parse_duration("1.5s").unwrap_err().hint.contains("1500ms"));
        assert!(parse_duration("30s1m")
            .unwrap_err()
            .message
            .contains("out of order"));
        assert!(parse_duration("1s1s")
            .unwrap_err()
            .message
            .contains("out of order"));
        assert!(parse_duration("0s").unwrap_err().message.contains("zero"));
        assert!(parse_duration("").unwrap_err().message.contains("empty"));
        assert!(parse_duration("s")
            .unwrap_err()
            .message
            .contains("expected a number"));
        assert!(parse_duration("1m 30s")
            .unwrap_err()
            .message
            .contains("space"));
        assert!(parse_duration("30 s")
            .unwrap_err()
            .message
            .contains("space"));
        assert!(parse_duration("99999999999h")
            .unwrap_err()
            .message
            .contains("too long"));
        assert_eq!(parse_duration("8d"), Ok(Duration::from_secs(8 * 86_400)));
        assert_eq!(parse_duration("1d12h"), Ok(Duration::from_secs(36 * 3600)));
        assert!(parse_duration("3days").unwrap_err().hint.contains("3d"));
    }

    #[test]
    fn formats_back() {
        for s in ["250ms", "5s", "1m30s", "1h", "2s500ms"] {
            assert_eq!(format_duration(parse_duration(s).unwrap()), s);
        }
    }

    #[test]
    fn duration_text_parses() {
        assert_eq!(
            DurationText("10s".into()).parse(),
            Ok(Duration::from_secs(10))
        );
    }
}
