//! Durations and sizes as people read them, one way each, for every message and report.
//!
//! Two duration forms, for two uses: [`duration`] is how long a person would say something
//! waited or may take, inside a sentence (`within 10s`, `1.5s`, `2m5s`); [`elapsed`] is a
//! measured time in a column or after a result (`0.4s`, `10.2s`, `2m05s`: always tenths under a
//! minute, so a list lines up). Flow-file syntax (`1m30s`, round-tripping what the author
//! wrote) is `flowfile::duration::format_duration`, not this. Sizes: [`size`].

use std::time::Duration;

/// `250ms`, `5s`, `1.5s`, `2m`, `2m5s`: how long a person would say. Tenths at most, so a
/// wait of 10.02s reads "10s".
pub fn duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms < 1000 {
        format!("{ms}ms")
    } else if ms < 59_950 {
        let tenths = (ms + 50) / 100;
        if tenths.is_multiple_of(10) {
            format!("{}s", tenths / 10)
        } else {
            format!("{}.{}s", tenths / 10, tenths % 10)
        }
    } else {
        // Whole seconds, rounded: 59.95s is "1m", not "0m59s".
        let s = (ms + 500) / 1000;
        match s % 60 {
            0 => format!("{}m", s / 60),
            r => format!("{}m{r}s", s / 60),
        }
    }
}

/// `0.4s`, `10.2s`, `2m05s`: a measured time of `ms` milliseconds, tenths rounded half up
/// (without going through floats).
pub fn elapsed(ms: u64) -> String {
    let tenths = (ms + 50) / 100;
    if tenths < 600 {
        format!("{}.{}s", tenths / 10, tenths % 10)
    } else {
        let secs = (ms + 500) / 1000;
        format!("{}m{:02}s", secs / 60, secs % 60)
    }
}

/// `812 B`, `48.2 KiB`, `1.2 MiB` (tenths truncated).
pub fn size(bytes: u64) -> String {
    const KIB: u64 = 1024;
    const MIB: u64 = 1024 * 1024;
    if bytes < KIB {
        format!("{bytes} B")
    } else if bytes < MIB {
        format!("{}.{} KiB", bytes / KIB, (bytes % KIB) * 10 / KIB)
    } else {
        format!("{}.{} MiB", bytes / MIB, (bytes % MIB) * 10 / MIB)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_naturally() {
        assert_eq!(duration(Duration::ZERO), "0ms");
        assert_eq!(duration(Duration::from_millis(250)), "250ms");
        assert_eq!(duration(Duration::from_millis(999)), "999ms");
        assert_eq!(duration(Duration::from_secs(1)), "1s");
        assert_eq!(duration(Duration::from_secs(5)), "5s");
        assert_eq!(duration(Duration::from_millis(10_020)), "10s");
        assert_eq!(duration(Duration::from_millis(1200)), "1.2s");
        assert_eq!(duration(Duration::from_millis(1250)), "1.3s");
        assert_eq!(duration(Duration::from_millis(59_949)), "59.9s");
        assert_eq!(duration(Duration::from_millis(59_950)), "1m");
        assert_eq!(duration(Duration::from_millis(90_600)), "1m31s");
        assert_eq!(duration(Duration::from_secs(60)), "1m");
        assert_eq!(duration(Duration::from_secs(125)), "2m5s");
        assert_eq!(duration(Duration::from_secs(120)), "2m");
    }

    #[test]
    fn elapsed_times_line_up_in_tenths() {
        assert_eq!(elapsed(0), "0.0s");
        assert_eq!(elapsed(449), "0.4s");
        assert_eq!(elapsed(450), "0.5s");
        assert_eq!(elapsed(1_800), "1.8s");
        assert_eq!(elapsed(10_249), "10.2s");
        assert_eq!(elapsed(59_940), "59.9s");
        assert_eq!(elapsed(59_960), "1m00s");
        assert_eq!(elapsed(125_000), "2m05s");
    }

    #[test]
    fn sizes_are_human() {
        assert_eq!(size(0), "0 B");
        assert_eq!(size(812), "812 B");
        assert_eq!(size(1023), "1023 B");
        assert_eq!(size(1024), "1.0 KiB");
        assert_eq!(size(49_357), "48.2 KiB");
        assert_eq!(size(1_048_575), "1023.9 KiB");
        assert_eq!(size(1_300_000), "1.2 MiB");
    }
}
