//! Parse-and-extract budget for big messages (issue 15: a 5 MB message in ≤ 200 ms and
//! ≤ 32 MiB extra memory). Prints the figures; asserts nothing (times are not test material).
//!
//! `cargo run --release --example mail_bench`

// A counting global allocator is unsafe by its trait; the workspace denies unsafe code elsewhere.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use flows::mail::{find_link, find_otp, parse_message, LinkRule, OtpRule};

/// Counts live bytes and their peak, to report the extra memory one parse needs.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded to the system allocator with the caller's layout.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let now = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `alloc` with this layout.
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn main() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/mail/corpus");
    let origins = vec!["https://app.example".to_owned()];
    println!(
        "{:<20} {:>9} {:>10} {:>10} {:>12}   median of parse / otp / link",
        "message", "size", "median", "max", "extra memory"
    );
    for name in ["large-attachments", "newsletter", "nested-related"] {
        let raw = std::fs::read(dir.join(format!("{name}.eml"))).expect("corpus file");
        let mut times = Vec::new();
        let mut phases: [Vec<f64>; 3] = Default::default();
        let mut extra = 0usize;
        for _ in 0..15 {
            let base = LIVE.load(Ordering::Relaxed);
            PEAK.store(base, Ordering::Relaxed);
            let t = Instant::now();
            if let Ok(m) = parse_message(&raw) {
                let parsed = t.elapsed();
                let _ = find_otp(&m, &OtpRule::default());
                let otp = t.elapsed();
                let rule = LinkRule {
                    origins: &origins,
                    ..LinkRule::default()
                };
                let _ = find_link(&m, &rule);
                let link = t.elapsed();
                phases[0].push(ms(parsed));
                phases[1].push(ms(otp - parsed));
                phases[2].push(ms(link - otp));
            }
            times.push(ms(t.elapsed()));
            extra = extra.max(PEAK.load(Ordering::Relaxed) - base);
        }
        let [p, o, l] = phases.map(|mut v| median(&mut v));
        println!(
            "{name:<20} {:>7.2}MB {:>8.1}ms {:>8.1}ms {:>9.1}MiB   {p:.1} / {o:.1} / {l:.1} ms",
            raw.len() as f64 / 1e6,
            median(&mut times),
            times.iter().copied().fold(0.0, f64::max),
            extra as f64 / (1024.0 * 1024.0)
        );
    }
}

fn ms(d: std::time::Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}
