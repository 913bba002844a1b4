//! What a run remembers about a source's messages, across polls and steps: when the runner
//! first saw each one, and the parsed form of those it fetched (bounded by their raw size).
//! A message never changes once captured, so nothing here expires except by the bound.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use time::OffsetDateTime;

use crate::mail::ParsedMail;

/// Raw bytes of parsed messages kept at most (the oldest fetched go first).
const MAX_CACHED_BYTES: usize = 64 * 1024 * 1024;
/// Sightings kept at most (ids and two times each).
const MAX_SIGHTINGS: usize = 20_000;

/// A fetched message: its raw source and what parsing made of it (the reason when it is not
/// valid MIME).
#[derive(Clone)]
pub struct Fetched {
    pub raw: Arc<Vec<u8>>,
    pub parsed: Result<Arc<ParsedMail>, String>,
}

/// When the runner first saw a message in a listing or an announcement.
#[derive(Debug, Clone, Copy)]
pub struct Sighting {
    pub at: Instant,
    pub wall: OffsetDateTime,
}

#[derive(Default)]
struct Inner {
    fetched: HashMap<String, Fetched>,
    order: VecDeque<String>,
    bytes: usize,
    sightings: HashMap<String, Sighting>,
}

/// One source's memory; every source owns one.
#[derive(Default)]
pub struct MailCache(Mutex<Inner>);

impl MailCache {
    fn inner(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The first sighting of `id`, recorded now if this is it.
    pub fn sighted(&self, id: &str) -> Sighting {
        let mut inner = self.inner();
        if let Some(s) = inner.sightings.get(id) {
            return *s;
        }
        if inner.sightings.len() >= MAX_SIGHTINGS {
            // The oldest half belongs to steps long finished.
            let mut times: Vec<Instant> = inner.sightings.values().map(|s| s.at).collect();
            times.sort();
            let cut = times[times.len() / 2];
            inner.sightings.retain(|_, s| s.at > cut);
        }
        let s = Sighting {
            at: Instant::now(),
            wall: OffsetDateTime::now_utc(),
        };
        inner.sightings.insert(id.to_owned(), s);
        s
    }

    pub fn get(&self, id: &str) -> Option<Fetched> {
        self.inner().fetched.get(id).cloned()
    }

    /// Keeps `fetched` under `id`, dropping the oldest entries beyond the byte bound (a
    /// message bigger than the bound is not kept at all).
    pub fn put(&self, id: &str, fetched: Fetched) {
        let size = fetched.raw.len();
        if size > MAX_CACHED_BYTES {
            return;
        }
        let mut inner = self.inner();
        if inner.fetched.contains_key(id) {
            return;
        }
        while inner.bytes + size > MAX_CACHED_BYTES {
            let Some(old) = inner.order.pop_front() else {
                break;
            };
            if let Some(f) = inner.fetched.remove(&old) {
                inner.bytes -= f.raw.len();
            }
        }
        inner.bytes += size;
        inner.order.push_back(id.to_owned());
        inner.fetched.insert(id.to_owned(), fetched);
    }

    /// How many fetched messages are kept (for tests).
    pub fn len(&self) -> usize {
        self.inner().fetched.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fetched(bytes: usize) -> Fetched {
        Fetched {
            raw: Arc::new(vec![b'x'; bytes]),
            parsed: Err("not parsed".into()),
        }
    }

    #[test]
    fn keeps_the_newest_within_the_byte_bound() {
        let c = MailCache::default();
        c.put("a", fetched(40 * 1024 * 1024));
        c.put("b", fetched(20 * 1024 * 1024));
        assert_eq!(c.len(), 2);
        c.put("c", fetched(10 * 1024 * 1024));
        assert!(c.get("a").is_none(), "the oldest went first");
        assert!(c.get("b").is_some() && c.get("c").is_some());
        c.put("huge", fetched(MAX_CACHED_BYTES + 1));
        assert!(c.get("huge").is_none());
    }

    #[test]
    fn a_first_sighting_is_kept() {
        let c = MailCache::default();
        let first = c.sighted("m1");
        assert_eq!(c.sighted("m1").wall, first.wall);
        assert_eq!(c.inner().sightings.len(), 1);
    }
}
