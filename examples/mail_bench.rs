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
        "{:<20} {:>9} {:>10} {:>10} {:>12}",
        "message", "size", "median", "max", "extra memory"
    );
    for name in ["large-attachments", "newsletter", "nested-related"] {
        let raw = std::fs::read(dir.join(format!("{name}.eml"))).expect("corpus file");
        let mut times = Vec::new();
        let mut extra = 0usize;
        for _ in 0..15 {
            let base = LIVE.load(Ordering::Relaxed);
            PEAK.store(base, Ordering::Relaxed);
            let t = Instant::now();
            if let Ok(m) = parse_message(&raw) {
                let _ = find_otp(&m, &OtpRule::default());
                let rule = LinkRule {
                    origins: &origins,
                    ..LinkRule::default()
                };
                let _ = find_link(&m, &rule);
            }
            times.push(t.elapsed().as_secs_f64() * 1000.0);
            extra = extra.max(PEAK.load(Ordering::Relaxed) - base);
        }
        times.sort_by(f64::total_cmp);
        println!(
            "{name:<20} {:>7.2}MB {:>8.1}ms {:>8.1}ms {:>9.1}MiB",
            raw.len() as f64 / 1e6,
            times[times.len() / 2],
            times[times.len() - 1],
            extra as f64 / (1024.0 * 1024.0)
        );
    }
}
