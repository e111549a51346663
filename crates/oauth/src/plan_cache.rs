//! The cache of `client_credentials` plans (`plans`). Each plan holds its own key, so a shard's
//! table holds one pointer per plan and a lookup compares keys in the memory it reads next anyway
//! (the plan), instead of in a bucket, a zone id and a key of their own: with a thousand busy
//! zones, each of those was a cache miss on every token. Otherwise as `scoped_cache`: a plan is
//! tagged with the ticket taken before its zone was read and hidden once the zone's epoch moves
//! past it, the (jittered) TTL is the backstop, and a full shard drops what is hidden or
//! expired, then an arbitrary eighth.

use std::hash::BuildHasher;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use foldhash::fast::RandomState;
use hashbrown::HashTable;
use hashbrown::hash_table::Entry;
use latchkey_domain::id::ZoneId;

use crate::plans::{Plan, PlanKey};
use crate::scoped_cache::{Cell, Epochs, Ticket, jittered};
use crate::sharded_map::keeping_all_but_an_eighth;

/// Shards per cache: concurrent lookups rarely share a lock's cache line.
const SHARDS: usize = 16;
/// The cache's name in metrics.
const NAME: &str = "client_credentials_plans";

/// A kept plan, with what tells whether it is still current.
pub struct Kept {
    ticket: Ticket,
    /// The epoch of the plan's zone.
    zone: Cell,
    expires: Instant,
    plan: Plan,
}

impl Kept {
    pub fn plan(&self) -> &Plan {
        &self.plan
    }
}

type Shard = RwLock<HashTable<Arc<Kept>>>;

pub struct PlanCache {
    shards: Box<[Shard]>,
    hasher: RandomState,
    /// Plans per shard, at most.
    room: usize,
    ttl: Duration,
    epochs: Arc<Epochs>,
}

impl PlanCache {
    /// A cache of at most about `capacity` plans, each kept at most `ttl`, hidden when their
    /// zone's epoch in `epochs` moves.
    pub fn new(epochs: Arc<Epochs>, capacity: u64, ttl: Duration) -> Self {
        let room = usize::try_from(capacity).unwrap_or(usize::MAX) / SHARDS;
        Self {
            shards: (0..SHARDS).map(|_| RwLock::default()).collect(),
            hasher: RandomState::default(),
            room: room.max(1),
            ttl,
            epochs,
        }
    }

    /// Now, on the epoch clock: the ticket for a plan about to be worked out.
    pub fn ticket(&self) -> Ticket {
        self.epochs.ticket()
    }

    /// The hash of `key`, and its shard (chosen by bits the table uses for neither its slots nor
    /// its tags).
    fn place(&self, key: &str) -> (u64, &Shard) {
        let hash = self.hasher.hash_one(key);
        let at = usize::try_from(hash >> 40).unwrap_or(0) % SHARDS;
        (hash, &self.shards[at])
    }

    fn current(&self, kept: &Kept, now: Instant) -> bool {
        now < kept.expires && self.epochs.current(&kept.zone, kept.ticket)
    }

    /// The current plan for `key`.
    pub fn get(&self, key: &PlanKey) -> Option<Arc<Kept>> {
        let key = key.as_str();
        let (hash, shard) = self.place(key);
        let hit = shard.read().ok().and_then(|table| {
            let kept = table.find(hash, |k| k.plan.key() == key)?;
            self.current(kept, Instant::now()).then(|| kept.clone())
        });
        crate::metrics::cache_lookup(NAME, hit.is_some());
        hit
    }

    /// Keeps `plan` (worked out from what was read after `ticket`) under its key — unless it has
    /// none, or the key's zone changed since (then it may predate the change).
    pub fn insert(&self, plan: Plan, ticket: Ticket) {
        let Some(zone) = plan.zone().map(|z| ZoneId::new(z.to_owned())) else {
            return;
        };
        let epochs = &self.epochs;
        let Some(cell) = epochs.cell(&zone).filter(|c| epochs.current(c, ticket)) else {
            return;
        };
        let now = Instant::now();
        let kept = Arc::new(Kept {
            ticket,
            zone: cell,
            expires: now + jittered(self.ttl),
            plan,
        });
        let (hash, shard) = self.place(kept.plan.key());
        let Ok(mut table) = shard.write() else {
            return;
        };
        let rehash = |k: &Arc<Kept>| self.hasher.hash_one(k.plan.key());
        let same = |k: &Arc<Kept>| k.plan.key() == kept.plan.key();
        if table.len() >= self.room && table.find(hash, same).is_none() {
            table.retain(|k| self.current(k, now));
            if table.len() >= self.room {
                let mut keep = keeping_all_but_an_eighth(table.len());
                table.retain(|_| keep());
            }
        }
        match table.entry(hash, same, rehash) {
            Entry::Occupied(mut old) => *old.get_mut() = kept,
            Entry::Vacant(slot) => {
                slot.insert(kept);
            }
        }
    }

    /// Plans held (hidden and expired ones too, until a full shard drops them).
    pub fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.read().map_or(0, |t| t.len()))
            .sum()
    }

    /// Whether no plan is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use std::sync::LazyLock;

    use latchkey_crypto::jws::{Alg, SigningKey};

    use super::*;
    use crate::plans::{Basis, Head};
    use crate::requests::Targets;

    static SIGNER: LazyLock<Arc<SigningKey>> =
        LazyLock::new(|| Arc::new(SigningKey::generate(Alg::Es256, "k".into()).unwrap().0));

    fn key(zone: &str, client: &str) -> PlanKey {
        PlanKey::of(zone, client, &Targets::default()).unwrap()
    }

    fn plan(key: Option<&PlanKey>, sub: &str) -> Plan {
        let head = Head {
            iss: "https://z",
            sub,
            aud: "https://api",
            client_id: "c",
            sub_profile: "app",
            keycard_app_id: "a",
            scope: None,
            cnf: None,
        };
        let basis = Basis {
            proof: None,
            lifetime: 60,
            logged: None,
            signer: SIGNER.clone(),
        };
        Plan::new(key, &head, basis).unwrap()
    }

    fn cache(epochs: &Arc<Epochs>, capacity: u64) -> PlanCache {
        PlanCache::new(epochs.clone(), capacity, Duration::from_secs(60))
    }

    fn sub_of(c: &PlanCache, k: &PlanKey) -> Option<String> {
        let token = c.get(k)?.plan().sign(1, "j").ok()?;
        let claims = latchkey_crypto::jws::Compact::parse(&token)?.claims;
        claims["sub"].as_str().map(str::to_owned)
    }

    #[test]
    fn a_plan_answers_its_own_key_only() {
        // Attack: the same client id in another zone must not find this zone's plan.
        let epochs = Arc::new(Epochs::default());
        let c = cache(&epochs, 100);
        c.insert(plan(Some(&key("z1", "c")), "one"), c.ticket());
        assert_eq!(sub_of(&c, &key("z1", "c")).as_deref(), Some("one"));
        assert!(c.get(&key("z2", "c")).is_none());
        assert!(c.get(&key("z1", "c2")).is_none());
        c.insert(plan(Some(&key("z2", "c")), "two"), c.ticket());
        c.insert(plan(Some(&key("z1", "c")), "newer"), c.ticket());
        assert_eq!(sub_of(&c, &key("z1", "c")).as_deref(), Some("newer"));
        assert_eq!(sub_of(&c, &key("z2", "c")).as_deref(), Some("two"));
        assert_eq!(c.len(), 2, "a plan kept again replaces the old one");
    }

    #[test]
    fn a_change_to_the_zone_hides_its_plans_and_no_other_zones() {
        let epochs = Arc::new(Epochs::default());
        let c = cache(&epochs, 100);
        let z1 = ZoneId::new("z1".to_owned());
        c.insert(plan(Some(&key("z1", "c")), "one"), c.ticket());
        c.insert(plan(Some(&key("z2", "c")), "two"), c.ticket());
        epochs.bump(&z1);
        assert!(c.get(&key("z1", "c")).is_none(), "changed zone");
        assert!(c.get(&key("z2", "c")).is_some(), "other zone");
        epochs.bump_all();
        assert!(c.get(&key("z2", "c")).is_none(), "everything moved");
    }

    #[test]
    fn a_plan_read_before_a_change_is_never_kept() {
        // Attack: a plan worked out from what was read while a revocation committed must not be
        // served after it.
        let epochs = Arc::new(Epochs::default());
        let c = cache(&epochs, 100);
        let z1 = ZoneId::new("z1".to_owned());
        let before = c.ticket();
        epochs.bump(&z1);
        c.insert(plan(Some(&key("z1", "c")), "stale"), before);
        assert!(c.get(&key("z1", "c")).is_none());
        c.insert(plan(None, "once"), c.ticket());
        assert!(c.is_empty(), "a plan without a key is never kept");
    }

    #[test]
    fn a_full_cache_stays_within_its_capacity_and_keeps_the_newest() {
        let epochs = Arc::new(Epochs::default());
        let c = cache(&epochs, 160);
        for i in 0..2_000 {
            c.insert(plan(Some(&key("z", &format!("c{i}"))), "s"), c.ticket());
        }
        assert!(c.len() <= 160, "{} plans held, capacity 160", c.len());
        assert!(c.get(&key("z", "c1999")).is_some());
    }
}
