//! A bounded hash map split into lock-sharded parts, for the caches every token reads (the zone
//! caches of `scoped_cache`, compiled policy in `policy_cache`). A lookup is one hash and one
//! probe under a read lock, with no access-order bookkeeping: with the entries of a thousand
//! zones, an LRU cache's per-read maintenance cost a token ~4 µs of cache misses
//! (`bench/REPORT.md`). A full shard drops what its owner calls stale, then an arbitrary eighth
//! (the order of a randomly seeded map). The hasher is foldhash, seeded per process.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hash};
use std::sync::RwLock;

use foldhash::fast::RandomState;

/// Shards per map: concurrent lookups rarely share a lock's cache line.
const SHARDS: usize = 16;

type Shard<K, V> = RwLock<HashMap<K, V, RandomState>>;

pub struct ShardedMap<K, V> {
    shards: Box<[Shard<K, V>]>,
    /// Entries per shard, at most.
    room: usize,
    pick: RandomState,
}

/// A `retain` predicate over `len` entries that drops the first eighth of them (at least one):
/// what a shard still full after dropping its stale entries drops, in the arbitrary order of a
/// randomly seeded table.
pub(crate) fn keeping_all_but_an_eighth(len: usize) -> impl FnMut() -> bool {
    let mut drop = (len / 8).max(1);
    move || {
        let keep = drop == 0;
        drop = drop.saturating_sub(1);
        keep
    }
}

impl<K: Hash + Eq, V> ShardedMap<K, V> {
    /// A map of at most about `capacity` entries.
    pub fn new(capacity: u64) -> Self {
        let room = usize::try_from(capacity).unwrap_or(usize::MAX) / SHARDS;
        Self {
            shards: (0..SHARDS)
                .map(|_| RwLock::new(HashMap::with_hasher(RandomState::default())))
                .collect(),
            room: room.max(1),
            pick: RandomState::default(),
        }
    }

    fn shard(&self, key: &K) -> &Shard<K, V> {
        let at = self.pick.hash_one(key) as usize % SHARDS;
        &self.shards[at]
    }

    /// What `read` makes of the entry for `key` (None: absent, or the lock is poisoned).
    pub fn read<R>(&self, key: &K, read: impl FnOnce(&V) -> Option<R>) -> Option<R> {
        self.shard(key).read().ok()?.get(key).and_then(read)
    }

    /// Puts `value` under `key`; a full shard first drops its entries that are `stale`, then
    /// (still full) an arbitrary eighth of them.
    pub fn insert(&self, key: K, value: V, stale: impl Fn(&V) -> bool) {
        let Ok(mut map) = self.shard(&key).write() else {
            return;
        };
        if map.len() >= self.room && !map.contains_key(&key) {
            map.retain(|_, v| !stale(v));
            if map.len() >= self.room {
                let mut keep = keeping_all_but_an_eighth(map.len());
                map.retain(|_, _| keep());
            }
        }
        map.insert(key, value);
    }

    /// Drops the entry for `key`.
    pub fn remove(&self, key: &K) {
        if let Ok(mut map) = self.shard(key).write() {
            map.remove(key);
        }
    }

    /// A copy of every entry (a shard at a time: not one consistent moment).
    pub fn snapshot(&self) -> Vec<(K, V)>
    where
        K: Clone,
        V: Clone,
    {
        let mut out = Vec::new();
        for shard in self.shards.iter() {
            if let Ok(map) = shard.read() {
                out.extend(map.iter().map(|(k, v)| (k.clone(), v.clone())));
            }
        }
        out
    }

    /// Drops every entry.
    pub fn clear(&self) {
        for shard in self.shards.iter() {
            if let Ok(mut map) = shard.write() {
                map.clear();
            }
        }
    }

    /// Entries held.
    pub fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.read().map_or(0, |m| m.len()))
            .sum()
    }

    /// Whether no entry is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_map_stays_within_its_capacity_and_keeps_the_newest() {
        let m = ShardedMap::new(160);
        for i in 0..5_000u32 {
            m.insert(i, i, |_| false);
        }
        assert!(m.len() <= 160, "{} entries held, capacity 160", m.len());
        assert_eq!(m.read(&4_999, |v| Some(*v)), Some(4_999));
    }

    #[test]
    fn stale_entries_go_first() {
        // Every value but 7 counts as stale: a full shard drops those and so never needs the
        // arbitrary eighth that could take 7 with them.
        let m = ShardedMap::new(64);
        m.insert(7u32, 7u32, |_| false);
        for i in 100..5_000u32 {
            m.insert(i, i, |v| *v != 7);
        }
        assert_eq!(
            m.read(&7, |v| Some(*v)),
            Some(7),
            "the one fresh entry stays"
        );
        assert_eq!(m.read(&4_999, |v| Some(*v)), Some(4_999));
        assert_eq!(m.snapshot().len(), m.len());
        m.remove(&4_999);
        assert_eq!(m.read(&4_999, |v| Some(*v)), None);
        m.clear();
        assert!(m.is_empty());
    }
}
