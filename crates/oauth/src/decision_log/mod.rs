//! The policy decision log's writer. Issuance tallies each decision in memory (a map lookup under
//! a short lock: no wake-up, no I/O);
//! identical decisions in one flush window become one row with their count, first and last time.
//! A background task flushes the tallies in one transaction, and once more at shutdown. The window
//! is [`FLUSH_EVERY`] while few distinct decisions wait; while more than [`BUSY_ROWS`] do, it is as
//! long as writing them at [`BUSY_RATE`] rows a second takes, up to [`LONGEST_WINDOW`]: a
//! thousand busy zones then write their rows every 16 s instead of two thousand rows a second,
//! and the writer's work stays bounded however many decisions differ. When more than [`MAX_PENDING`] distinct
//! decisions wait, new ones are dropped and counted (logged at the next flush), never delaying a
//! token.
//!
//! A decision's key is hashed once ([`Logged`]). A caller that keeps the key (a cached issuance
//! plan) tallies again with [`DecisionLog::tally_kept`]: the count lives in the key itself, so a
//! repeat is two atomic operations on memory the caller has just read, with no lock and no map;
//! the key is listed for the next flush only when its count leaves zero. The flush merges every
//! tally of one decision, however it was counted.

mod key;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use latchkey_domain::Timestamp;
use latchkey_domain::model::policy::DecisionRecord;
use latchkey_domain::store::Store;
use latchkey_policy::compile::PolicyRef;

pub use key::{Decided, Logged, ShadowOutcome};

/// How often the writer looks at the tallies (and the window while few decisions wait).
pub const FLUSH_EVERY: Duration = Duration::from_millis(500);
/// Distinct decisions past which the window widens.
pub const BUSY_ROWS: usize = 256;
/// Rows a second the writer keeps to, on average, while more than [`BUSY_ROWS`] wait (the
/// window is then 4 s at first, as long as 256 rows take).
pub const BUSY_RATE: u64 = 64;
/// The widest window: no decision waits longer to be written.
pub const LONGEST_WINDOW: Duration = Duration::from_secs(30);
/// Distinct decisions waiting for a flush, at most (and as many kept keys).
const MAX_PENDING: usize = 50_000;

#[derive(Debug, Clone, Copy)]
struct Tally {
    first: Timestamp,
    last: Timestamp,
    count: i64,
}

impl Tally {
    /// Both tallies of one decision as one.
    fn merge(&mut self, other: Self) {
        self.first = self.first.min(other.first);
        self.last = self.last.max(other.last);
        self.count += other.count;
    }
}

/// How long `waiting` distinct decisions wait to be written, at most.
fn window(waiting: usize) -> Duration {
    if waiting <= BUSY_ROWS {
        return Duration::ZERO;
    }
    let rows = u64::try_from(waiting).unwrap_or(u64::MAX);
    let millis = rows.saturating_mul(1_000) / BUSY_RATE;
    Duration::from_millis(millis).min(LONGEST_WINDOW)
}

type Pending = HashMap<Arc<Logged>, Tally, foldhash::fast::RandomState>;

#[derive(Default)]
pub struct DecisionLog {
    pending: Mutex<Pending>,
    /// Kept keys whose count left zero since the last flush (each once).
    kept: Mutex<Vec<Arc<Logged>>>,
    dropped: AtomicU64,
    started: std::sync::atomic::AtomicBool,
}

fn verdict(allowed: bool) -> &'static str {
    if allowed { "allow" } else { "deny" }
}

fn refs(r: &[PolicyRef]) -> serde_json::Value {
    serde_json::to_value(r).unwrap_or_default()
}

fn row(logged: Arc<Logged>, t: Tally) -> DecisionRecord {
    let d = Arc::try_unwrap(logged).map_or_else(|shared| shared.decided.clone(), |l| l.decided);
    DecisionRecord {
        zone_id: d.zone_id,
        id: latchkey_crypto::random::id().unwrap_or_default(),
        created_at: t.first,
        last_at: t.last,
        evaluations: t.count,
        principal_type: d.principal_type.to_owned(),
        principal_id: d.principal_id,
        subject_id: d.subject_id,
        action: d.action.to_owned(),
        resource_id: d.resource_id,
        decision: verdict(d.allowed).to_owned(),
        determining: refs(&d.determining),
        policy_set_id: Some(d.policy_set_id),
        policy_set_version: Some(i64::from(d.policy_set_version)),
        shadow: d.shadow.map(|s| {
            serde_json::json!({
                "policy_set_id": s.policy_set_id,
                "policy_set_version": s.policy_set_version,
                "decision": verdict(s.allowed),
                "determining": refs(&s.determining),
            })
        }),
        scopes: d.scopes,
    }
}

impl DecisionLog {
    /// Tallies a decision made now (its key hashed once, by [`Logged::new`]); never waits on I/O.
    pub fn tally(&self, d: &Arc<Logged>) {
        let now = Timestamp::now();
        let Ok(mut pending) = self.pending.lock() else {
            return;
        };
        if let Some(t) = pending.get_mut(d) {
            t.last = now;
            t.count += 1;
        } else if pending.len() < MAX_PENDING {
            let first = Tally {
                first: now,
                last: now,
                count: 1,
            };
            pending.insert(d.clone(), first);
        } else {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Tallies again a decision whose key the caller keeps (an issuance plan's), made now:
    /// no lock unless this is the key's first evaluation since the last flush.
    pub fn tally_kept(&self, d: &Arc<Logged>) {
        let now = Timestamp::now().millis();
        d.kept.last.fetch_max(now, Ordering::Relaxed);
        if d.kept.count.fetch_add(1, Ordering::AcqRel) != 0 {
            return; // listed already (or being listed)
        }
        d.kept.first.store(now, Ordering::Relaxed);
        let listed = match self.kept.lock() {
            Ok(mut kept) if kept.len() < MAX_PENDING => {
                kept.push(d.clone());
                true
            }
            _ => false,
        };
        if !listed {
            // (every evaluation counted meanwhile saw a count above zero and relied on this one)
            let lost = d.kept.count.swap(0, Ordering::AcqRel);
            self.dropped
                .fetch_add(u64::try_from(lost).unwrap_or(0), Ordering::Relaxed);
        }
    }

    /// Distinct decisions waiting (a kept key tallied both ways counts twice), at most
    /// [`MAX_PENDING`] of each kind.
    fn waiting(&self) -> usize {
        let kept = self.kept.lock().map_or(0, |k| k.len());
        kept + self.pending.lock().map_or(0, |p| p.len())
    }

    /// Whether the tallies are due after `since` in a window: at once while few distinct
    /// decisions wait, after as long as writing them at [`BUSY_RATE`] takes while many do.
    fn due(&self, since: Duration) -> bool {
        since >= window(self.waiting())
    }

    /// Every tally so far, one per decision, cleared.
    fn take(&self) -> Pending {
        let mut taken = match self.pending.lock() {
            Ok(mut p) if !p.is_empty() => std::mem::take(&mut *p),
            _ => HashMap::default(),
        };
        let kept = self.kept.lock().map(|mut k| std::mem::take(&mut *k));
        for d in kept.unwrap_or_default() {
            // (the times first: an evaluation after the swap starts the next window)
            let first = Timestamp::from_millis(d.kept.first.load(Ordering::Relaxed));
            let last = Timestamp::from_millis(d.kept.last.load(Ordering::Relaxed));
            let count = d.kept.count.swap(0, Ordering::AcqRel);
            if count == 0 {
                continue;
            }
            let tally = Tally {
                first,
                last: last.max(first),
                count,
            };
            taken
                .entry(d)
                .and_modify(|t| t.merge(tally))
                .or_insert(tally);
        }
        taken
    }

    /// Writes every tally so far (one transaction) and clears them.
    pub async fn flush(&self, store: &dyn Store) {
        let taken = self.take();
        let lost = self.dropped.swap(0, Ordering::Relaxed);
        if lost > 0 {
            tracing::warn!(
                lost,
                "policy decisions dropped: too many distinct decisions pending"
            );
        }
        if taken.is_empty() {
            return;
        }
        let mut rows: Vec<DecisionRecord> = taken.into_iter().map(|(d, t)| row(d, t)).collect();
        // In the order of the log's index (zone, time): a window's rows of many zones then go
        // into it in one pass instead of one jump per row.
        rows.sort_by(|a, b| (&a.zone_id, a.created_at).cmp(&(&b.zone_id, b.created_at)));
        if let Err(e) = store.record_decisions(&rows).await {
            tracing::warn!(error = %e, n = rows.len(), "policy decisions not recorded");
        }
    }

    /// Starts the periodic writer (once; later calls do nothing).
    pub fn start(self: &Arc<Self>, store: Arc<dyn Store>) {
        let log = self.clone();
        let mut flushed = Instant::now();
        crate::periodic::every(&self.started, FLUSH_EVERY, move || {
            let due = log.due(flushed.elapsed());
            if due {
                flushed = Instant::now();
            }
            let (log, store) = (log.clone(), store.clone());
            async move {
                if due {
                    log.flush(store.as_ref()).await;
                }
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use latchkey_domain::id::ZoneId;

    impl DecisionLog {
        fn record(&self, d: Decided) {
            self.tally(&Logged::new(d));
        }
    }

    fn decided(principal: &str) -> Decided {
        Decided {
            zone_id: ZoneId::new("z1".to_owned()),
            principal_type: "application",
            principal_id: principal.to_owned(),
            subject_id: None,
            action: "Access",
            resource_id: "r1".into(),
            allowed: true,
            determining: Vec::new(),
            policy_set_id: "s1".into(),
            policy_set_version: 1,
            shadow: None,
            scopes: vec!["read".into()],
        }
    }

    #[test]
    fn identical_decisions_are_tallied_distinct_ones_kept_apart() {
        let log = DecisionLog::default();
        for _ in 0..3 {
            log.record(decided("a1"));
        }
        log.record(decided("a2"));
        let kept = Logged::new(decided("a1"));
        log.tally(&kept);
        log.tally(&kept);
        let pending = log.pending.lock().expect("lock");
        assert_eq!(pending.len(), 2);
        assert_eq!(
            pending.get(&Logged::new(decided("a1"))).map(|t| t.count),
            Some(5)
        );
        assert_eq!(
            pending.get(&Logged::new(decided("a2"))).map(|t| t.count),
            Some(1)
        );
    }

    #[test]
    fn the_window_widens_only_while_many_distinct_decisions_wait() {
        let log = DecisionLog::default();
        for i in 0..BUSY_ROWS {
            log.record(decided(&i.to_string()));
        }
        assert!(log.due(FLUSH_EVERY), "a few hundred rows go out every tick");
        log.record(decided("one more"));
        assert!(!log.due(FLUSH_EVERY), "past BUSY_ROWS the window widens");
        let four = Duration::from_secs(4);
        assert!(!log.due(four), "to as long as 257 rows take at 64 a second");
        assert!(log.due(four + Duration::from_millis(20)));
        for i in 257..1_000 {
            log.record(decided(&i.to_string()));
        }
        assert!(!log.due(Duration::from_secs(15)), "a thousand zones' rows");
        assert!(log.due(Duration::from_millis(15_625)));
        assert_eq!(window(MAX_PENDING), LONGEST_WINDOW, "never longer");
    }

    #[test]
    fn a_full_window_drops_and_counts_new_decisions() {
        let log = DecisionLog::default();
        for i in 0..MAX_PENDING {
            log.record(decided(&i.to_string()));
        }
        log.record(decided("one-too-many"));
        log.record(decided("0"));
        assert_eq!(log.dropped.load(Ordering::Relaxed), 1);
        let pending = log.pending.lock().expect("lock");
        assert_eq!(
            pending.get(&Logged::new(decided("0"))).map(|t| t.count),
            Some(2)
        );
    }

    #[test]
    fn a_kept_key_is_listed_once_a_window_and_merged_with_its_other_tallies() {
        let log = DecisionLog::default();
        let kept = Logged::new(decided("a1"));
        for _ in 0..3 {
            log.tally_kept(&kept);
        }
        assert_eq!(log.kept.lock().expect("lock").len(), 1, "listed once");
        log.record(decided("a1")); // the same decision, by value (the full path)
        log.record(decided("a2"));
        let taken = log.take();
        assert_eq!(taken.len(), 2);
        let a1 = taken.get(&Logged::new(decided("a1"))).expect("a1");
        assert_eq!(a1.count, 4, "kept and mapped tallies of one decision merge");
        assert!(a1.first <= a1.last);
        assert!(log.take().is_empty(), "a take clears both");
        log.tally_kept(&kept);
        let again = log.take();
        assert_eq!(again.get(&kept).map(|t| t.count), Some(1), "listed again");
    }

    #[test]
    fn a_full_kept_list_drops_and_counts_new_keys() {
        let log = DecisionLog::default();
        let keys: Vec<_> = (0..MAX_PENDING)
            .map(|i| Logged::new(decided(&i.to_string())))
            .collect();
        for k in &keys {
            log.tally_kept(k);
        }
        let late = Logged::new(decided("one-too-many"));
        log.tally_kept(&late);
        log.tally_kept(&late);
        log.tally_kept(&keys[0]);
        assert_eq!(log.dropped.load(Ordering::Relaxed), 2);
        let taken = log.take();
        assert_eq!(taken.len(), MAX_PENDING);
        assert_eq!(taken.get(&keys[0]).map(|t| t.count), Some(2));
        assert!(!taken.contains_key(&late));
    }

    #[test]
    fn no_kept_tally_is_lost_to_a_concurrent_flush() {
        let log = Arc::new(DecisionLog::default());
        let keys: Arc<Vec<_>> = Arc::new(
            (0..4)
                .map(|i| Logged::new(decided(&i.to_string())))
                .collect(),
        );
        const EACH: i64 = 20_000;
        let tallying: Vec<_> = (0..3)
            .map(|t| {
                let (log, keys) = (log.clone(), keys.clone());
                std::thread::spawn(move || {
                    for i in 0..EACH {
                        log.tally_kept(&keys[(i as usize + t) % keys.len()]);
                    }
                })
            })
            .collect();
        let mut counted = 0;
        while !tallying.iter().all(|t| t.is_finished()) {
            counted += log.take().values().map(|t| t.count).sum::<i64>();
        }
        for t in tallying {
            t.join().expect("tallying thread");
        }
        counted += log.take().values().map(|t| t.count).sum::<i64>();
        assert_eq!(counted, 3 * EACH);
        assert_eq!(log.dropped.load(Ordering::Relaxed), 0);
    }
}
