//! File sizes as flows write them: `2048`, `2 KB`, `1.5 MiB`, and ranges `1KB..2MB`,
//! `..10MB`, `100..` (bounds included). KB/MB/GB are powers of 1000, KiB/MiB/GiB of 1024, as
//! `ls --si` and `ls -h` print them. Used by `attachment: { size }` on mail steps.

use std::fmt;

/// An exact size (`min == max`) or a range with one or both bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SizeRange {
    pub min: Option<u64>,
    pub max: Option<u64>,
}

impl SizeRange {
    /// Parses `2048`, `2 KB`, `1KB..2MB`, `..10MB`, `100..`.
    pub fn parse(text: &str) -> Result<SizeRange, String> {
        let t = text.trim();
        let range = match t.split_once("..") {
            Some((lo, hi)) => {
                let min = (!lo.trim().is_empty()).then(|| bytes(lo)).transpose()?;
                let max = (!hi.trim().is_empty()).then(|| bytes(hi)).transpose()?;
                if min.is_none() && max.is_none() {
                    return Err(format!("size range `{t}` has no bounds"));
                }
                SizeRange { min, max }
            }
            None => {
                let n = bytes(t)?;
                SizeRange {
                    min: Some(n),
                    max: Some(n),
                }
            }
        };
        if let (Some(lo), Some(hi)) = (range.min, range.max) {
            if lo > hi {
                return Err(format!(
                    "size range `{t}` is empty: its lower bound is larger"
                ));
            }
        }
        Ok(range)
    }

    pub fn contains(&self, n: u64) -> bool {
        self.min.is_none_or(|m| n >= m) && self.max.is_none_or(|m| n <= m)
    }
}

impl fmt::Display for SizeRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.min, self.max) {
            (Some(a), Some(b)) if a == b => write!(f, "{a} bytes"),
            (Some(a), Some(b)) => write!(f, "{a} to {b} bytes"),
            (Some(a), None) => write!(f, "at least {a} bytes"),
            (None, Some(b)) => write!(f, "at most {b} bytes"),
            (None, None) => f.write_str("any size"),
        }
    }
}

/// `2048`, `2KB`, `1.5 MiB` → bytes.
fn bytes(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let unit_factor: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" | "bytes" => 1,
        "kb" => 1000,
        "kib" => 1024,
        "mb" => 1000 * 1000,
        "mib" => 1024 * 1024,
        "gb" => 1000 * 1000 * 1000,
        "gib" => 1024 * 1024 * 1024,
        other => return Err(format!("unknown size unit `{other}` in `{t}`")),
    };
    if number.is_empty() {
        return Err(format!("`{t}` is not a size"));
    }
    if let Ok(n) = number.parse::<u64>() {
        return n
            .checked_mul(unit_factor)
            .ok_or_else(|| format!("size `{t}` is too large"));
    }
    match number.parse::<f64>() {
        Ok(x) if x.is_finite() && x >= 0.0 && unit_factor > 1 => {
            // Whole bytes: `1.5 KB` is 1500 (finite and non-negative, checked above).
            Ok((x * unit_factor as f64).round() as u64)
        }
        _ => Err(format!("`{t}` is not a size")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_ranges() {
        let r = |t: &str| SizeRange::parse(t);
        assert_eq!(
            r("2048"),
            Ok(SizeRange {
                min: Some(2048),
                max: Some(2048)
            })
        );
        assert_eq!(r("2 KB").map(|s| s.min), Ok(Some(2000)));
        assert_eq!(r("2KiB").map(|s| s.min), Ok(Some(2048)));
        assert_eq!(r("1.5 MB").map(|s| s.max), Ok(Some(1_500_000)));
        assert_eq!(
            r("1KB..2MB"),
            Ok(SizeRange {
                min: Some(1000),
                max: Some(2_000_000)
            })
        );
        assert_eq!(
            r("..10MB"),
            Ok(SizeRange {
                min: None,
                max: Some(10_000_000)
            })
        );
        assert_eq!(
            r("100.."),
            Ok(SizeRange {
                min: Some(100),
                max: None
            })
        );
        assert!(r("2 parsecs").is_err_and(|e| e.contains("unknown size unit `parsecs`")));
        assert!(r("..").is_err_and(|e| e.contains("no bounds")));
        assert!(r("2MB..1MB").is_err_and(|e| e.contains("empty")));
        assert!(r("1.5").is_err(), "a fraction of a byte is not a size");
        assert!(r("KB").is_err());
    }

    #[test]
    fn contains_is_inclusive() {
        let s = SizeRange::parse("10..20").expect("range");
        assert!(s.contains(10) && s.contains(20));
        assert!(!s.contains(9) && !s.contains(21));
        assert_eq!(s.to_string(), "10 to 20 bytes");
        assert_eq!(SizeRange::parse("5").expect("size").to_string(), "5 bytes");
    }
}
