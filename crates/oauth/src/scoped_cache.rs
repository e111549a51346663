//! Zone-scoped caches invalidated by epoch. Every cached value is tagged with the ticket taken
//! before it was read from the store; a zone's change (here or, through `changes`, on another
//! instance) moves that zone's epoch past every earlier ticket, so its entries stop being served
//! at once. Each entry holds its zone's epoch cell, so a lookup checks it with two atomic loads
//! (no map, no lock, however many zones change meanwhile). Invalidation is O(1) and allocates
//! nothing per entry (no predicate scans), and a value
//! read while a change was committing can never be cached as fresh. Each cache keeps a TTL as the
//! last backstop (a change no notice told of is found sooner by `change_poll`), shortened per
//! entry by up to a quarter
//! ([`jittered`]) so that entries made together do not expire together.
//! The entries live in a `sharded_map` (no LRU bookkeeping on reads); a full shard drops its
//! expired entries first.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use foldhash::fast::RandomState;

use latchkey_domain::id::ZoneId;

use crate::sharded_map::ShardedMap;

/// When a read began, on the epoch clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ticket(u64);

/// One zone's epoch: the tick of its latest change. The epoch map and every entry cached for the
/// zone share it, so a lookup checks its entry's zone without a map lookup or a lock.
pub(crate) type Cell = Arc<AtomicU64>;

/// The epoch clock: the tick of each zone's latest change and of the latest full resync.
#[derive(Debug, Default)]
pub struct Epochs {
    clock: AtomicU64,
    everything: AtomicU64,
    /// One cell per zone that changed or had a value cached while this process ran (never
    /// shrinks: a removed cell would make stale values of a deleted zone fresh again).
    zones: RwLock<HashMap<ZoneId, Cell, RandomState>>,
}

impl Epochs {
    /// Now, for a read about to start.
    pub fn ticket(&self) -> Ticket {
        Ticket(self.clock.load(Ordering::SeqCst))
    }

    /// `zone` changed: whatever was read before now is stale.
    pub fn bump(&self, zone: &ZoneId) {
        let tick = self.clock.fetch_add(1, Ordering::SeqCst) + 1;
        match self.cell(zone) {
            Some(cell) => cell.fetch_max(tick, Ordering::SeqCst),
            // (a poisoned map: hide everything rather than miss this change)
            None => self.everything.fetch_max(tick, Ordering::SeqCst),
        };
    }

    /// Anything may have changed (a lost connection to the change feed): all is stale.
    pub fn bump_all(&self) {
        let tick = self.clock.fetch_add(1, Ordering::SeqCst) + 1;
        self.everything.fetch_max(tick, Ordering::SeqCst);
    }

    /// Whether a value read at `ticket` of the zone whose epoch is `cell` is still current.
    pub(crate) fn current(&self, cell: &AtomicU64, ticket: Ticket) -> bool {
        ticket.0 >= self.everything.load(Ordering::SeqCst)
            && ticket.0 >= cell.load(Ordering::SeqCst)
    }

    /// `zone`'s cell, made on first use (`None` only when the map is poisoned).
    pub(crate) fn cell(&self, zone: &ZoneId) -> Option<Cell> {
        if let Some(cell) = self.zones.read().ok()?.get(zone) {
            return Some(cell.clone());
        }
        let mut zones = self.zones.write().ok()?;
        Some(zones.entry(zone.clone()).or_default().clone())
    }
}

/// `period` shortened by a pseudo-random part of up to a quarter, so that entries made together
/// (a warm-up, a restart, a thousand zones' first tokens) do not all expire together and reload
/// in one burst.
pub(crate) fn jittered(period: Duration) -> Duration {
    static TURN: AtomicU64 = AtomicU64::new(0);
    // splitmix64 of a counter: well spread, cheap, and no need to be unpredictable
    let mut x = TURN
        .fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed)
        .wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^= x >> 31;
    // the top 10 bits, 0..1024, in 4096ths of the period: up to a quarter
    let cut = u32::try_from(x >> 54).unwrap_or(0);
    period - period * cut / 4096
}

/// A cache lookup: the value, or the ticket to insert what the store returns under.
pub enum Lookup<V> {
    Hit(V),
    Miss(Ticket),
}

struct Entry<V> {
    ticket: Ticket,
    /// The epoch of the entry's zone.
    zone: Cell,
    expires: Instant,
    value: V,
}

struct Inner<K, V> {
    name: &'static str,
    map: ShardedMap<(ZoneId, K), Entry<V>>,
    ttl: Duration,
    epochs: Arc<Epochs>,
}

/// A cache of values keyed by `(zone, K)`, honouring the zone epochs. Clones share the entries.
pub struct ScopedCache<K, V> {
    inner: Arc<Inner<K, V>>,
}

impl<K, V> Clone for ScopedCache<K, V> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
        }
    }
}

impl<K, V> ScopedCache<K, V>
where
    K: Hash + Eq + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    /// A cache named `name` (in metrics) of at most `capacity` entries, each kept at most `ttl`.
    pub fn new(name: &'static str, epochs: Arc<Epochs>, capacity: u64, ttl: Duration) -> Self {
        Self {
            inner: Arc::new(Inner {
                name,
                map: ShardedMap::new(capacity),
                ttl,
                epochs,
            }),
        }
    }

    /// Now, on this cache's epoch clock: the ticket for a value about to be read.
    pub fn ticket(&self) -> Ticket {
        self.inner.epochs.ticket()
    }

    /// The current value for `key`, or a miss with the ticket to insert under.
    pub fn get(&self, key: &(ZoneId, K)) -> Lookup<V> {
        let inner = &*self.inner;
        let ticket = inner.epochs.ticket();
        let hit = inner.map.read(key, |e| {
            let current = Instant::now() < e.expires && inner.epochs.current(&e.zone, e.ticket);
            current.then(|| e.value.clone())
        });
        crate::metrics::cache_lookup(inner.name, hit.is_some());
        match hit {
            Some(v) => Lookup::Hit(v),
            None => Lookup::Miss(ticket),
        }
    }

    /// Caches `value`, read from the store after `ticket` was taken — unless the zone changed
    /// since (then the value may predate the change and is not kept).
    pub fn insert(&self, key: (ZoneId, K), value: V, ticket: Ticket) {
        let epochs = &self.inner.epochs;
        let Some(zone) = epochs.cell(&key.0).filter(|c| epochs.current(c, ticket)) else {
            return;
        };
        let now = Instant::now();
        let entry = Entry {
            ticket,
            zone,
            expires: now + jittered(self.inner.ttl),
            value,
        };
        self.inner.map.insert(key, entry, |e| e.expires <= now);
    }

    /// Drops every entry (tests and benchmarks).
    pub fn clear(&self) {
        self.inner.map.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cache(epochs: &Arc<Epochs>) -> ScopedCache<String, u32> {
        ScopedCache::new("test", epochs.clone(), 100, Duration::from_secs(60))
    }

    fn hit(c: &ScopedCache<String, u32>, zone: &str, k: &str) -> Option<u32> {
        match c.get(&(ZoneId::new(zone), k.to_owned())) {
            Lookup::Hit(v) => Some(v),
            Lookup::Miss(_) => None,
        }
    }

    fn fill(c: &ScopedCache<String, u32>, zone: &str, k: &str, v: u32) {
        let Lookup::Miss(t) = c.get(&(ZoneId::new(zone), k.to_owned())) else {
            panic!("expected a miss");
        };
        c.insert((ZoneId::new(zone), k.to_owned()), v, t);
    }

    #[test]
    fn jittered_periods_spread_over_the_last_quarter() {
        let period = Duration::from_secs(40);
        let cuts: Vec<Duration> = (0..400).map(|_| jittered(period)).collect();
        assert!(cuts.iter().all(|c| *c <= period && *c > period * 3 / 4));
        let early = cuts.iter().filter(|c| **c < period * 7 / 8).count();
        assert!(
            (100..=300).contains(&early),
            "about half in the earlier eighth: {early} of 400"
        );
    }

    #[test]
    fn a_zone_change_hides_that_zone_only() {
        let epochs = Arc::new(Epochs::default());
        let c = cache(&epochs);
        fill(&c, "z1", "a", 1);
        fill(&c, "z2", "a", 2);
        assert_eq!(hit(&c, "z1", "a"), Some(1));
        epochs.bump(&ZoneId::new("z1"));
        assert_eq!(hit(&c, "z1", "a"), None);
        assert_eq!(hit(&c, "z2", "a"), Some(2));
        fill(&c, "z1", "a", 3);
        assert_eq!(
            hit(&c, "z1", "a"),
            Some(3),
            "read after the change is fresh"
        );
    }

    #[test]
    fn a_value_read_across_a_change_is_not_cached() {
        let epochs = Arc::new(Epochs::default());
        let c = cache(&epochs);
        let key = (ZoneId::new("z"), "k".to_owned());
        let Lookup::Miss(ticket) = c.get(&key) else {
            panic!("expected a miss");
        };
        // The store is read here, then another request commits a change to the zone.
        epochs.bump(&ZoneId::new("z"));
        c.insert(key, 1, ticket);
        assert_eq!(hit(&c, "z", "k"), None);
    }

    #[test]
    fn entries_expire_after_their_ttl() {
        let epochs = Arc::new(Epochs::default());
        let c = ScopedCache::new("test", epochs, 100, Duration::from_millis(30));
        fill(&c, "z", "k", 1);
        assert_eq!(hit(&c, "z", "k"), Some(1));
        std::thread::sleep(Duration::from_millis(40));
        assert_eq!(hit(&c, "z", "k"), None);
    }

    #[test]
    fn a_change_of_another_zone_leaves_older_tickets_fresh() {
        let epochs = Arc::new(Epochs::default());
        let c = cache(&epochs);
        let key = |z: &str| (ZoneId::new(z), "k".to_owned());
        let before = epochs.ticket();
        epochs.bump(&ZoneId::new("z1"));
        c.insert(key("z1"), 1, before);
        c.insert(key("z2"), 2, before);
        assert_eq!(hit(&c, "z1", "k"), None);
        assert_eq!(hit(&c, "z2", "k"), Some(2), "z2 did not change");
        let after = epochs.ticket();
        c.insert(key("z1"), 3, after);
        assert_eq!(hit(&c, "z1", "k"), Some(3));
    }

    #[test]
    fn changes_of_many_other_zones_leave_an_entry_served_and_its_own_hides_it() {
        let epochs = Arc::new(Epochs::default());
        let c = cache(&epochs);
        fill(&c, "z", "k", 1);
        for i in 0..100 {
            epochs.bump(&ZoneId::new(format!("other-{i}")));
        }
        assert_eq!(hit(&c, "z", "k"), Some(1));
        epochs.bump(&ZoneId::new("z"));
        assert_eq!(
            hit(&c, "z", "k"),
            None,
            "the cell made when it was cached saw it"
        );
    }

    #[test]
    fn with_the_epoch_map_poisoned_a_change_hides_everything() {
        let epochs = Arc::new(Epochs::default());
        let c = cache(&epochs);
        fill(&c, "z1", "a", 1);
        fill(&c, "z2", "b", 2);
        let poisoner = epochs.clone();
        let _ = std::thread::spawn(move || {
            let _guard = poisoner.zones.write();
            panic!("poison the map");
        })
        .join();
        epochs.bump(&ZoneId::new("z3"));
        assert_eq!(hit(&c, "z1", "a"), None);
        assert_eq!(hit(&c, "z2", "b"), None);
        fill(&c, "z1", "a", 3);
        assert_eq!(hit(&c, "z1", "a"), None, "nothing is cached without a cell");
    }

    #[test]
    fn a_resync_hides_everything() {
        let epochs = Arc::new(Epochs::default());
        let c = cache(&epochs);
        fill(&c, "z1", "a", 1);
        fill(&c, "z2", "b", 2);
        epochs.bump_all();
        assert_eq!(hit(&c, "z1", "a"), None);
        assert_eq!(hit(&c, "z2", "b"), None);
    }
}
