//! Mail delivery latency figures: the median and the maximum of a set of latencies.
//!
//! The median is the nearest-rank one (the value at rank ⌈n/2⌉ of the sorted latencies), so it
//! is always a latency that was measured, never an average of two.

/// The median and maximum of a set of latencies, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LatencySummary {
    pub p50_ms: u64,
    pub max_ms: u64,
}

impl LatencySummary {
    /// `None` for an empty set: no messages, no figure (never a made-up zero).
    pub fn of(latencies: &[u64]) -> Option<Self> {
        let mut sorted = latencies.to_vec();
        sorted.sort_unstable();
        let max_ms = *sorted.last()?;
        // Nearest rank: ⌈n/2⌉, 1-based.
        let rank = sorted.len().div_ceil(2);
        Some(Self {
            p50_ms: sorted[rank - 1],
            max_ms,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_set_has_no_summary() {
        assert_eq!(LatencySummary::of(&[]), None);
    }

    #[test]
    fn single_value_is_both_median_and_max() {
        assert_eq!(
            LatencySummary::of(&[420]),
            Some(LatencySummary {
                p50_ms: 420,
                max_ms: 420
            })
        );
    }

    #[test]
    fn odd_count_takes_the_middle_value_whatever_the_order() {
        assert_eq!(
            LatencySummary::of(&[900, 100, 300, 5000, 200]),
            Some(LatencySummary {
                p50_ms: 300,
                max_ms: 5000
            })
        );
    }

    #[test]
    fn even_count_takes_the_lower_middle_value_not_an_average() {
        assert_eq!(
            LatencySummary::of(&[400, 100, 300, 200]),
            Some(LatencySummary {
                p50_ms: 200,
                max_ms: 400
            })
        );
    }

    #[test]
    fn repeated_values_are_counted_each_time() {
        assert_eq!(
            LatencySummary::of(&[50, 50, 50, 10_000]),
            Some(LatencySummary {
                p50_ms: 50,
                max_ms: 10_000
            })
        );
    }
}
