//! The zone caches' backstop. Triggers record every write to a table the caches read in
//! `zone_changes`, whoever made it; once every [`POLL_EVERY`] each instance reads the zones
//! changed within the last [`WINDOW_MS`] and moves the epoch of each one whose change it has
//! not seen yet. Notices (`changes`) make a change hold at once; the poll makes it hold within
//! about a second when no notice came: its writer stopped before telling, this instance's feed
//! was down, or the write was made outside latchkey.
//!
//! One statement a second replaces every cache entry's reload on a short TTL, which with a
//! thousand busy zones was most of the database's work; entries now live
//! [`CACHE_TTL`], long enough that the reloads cost nothing per token, short enough to bound
//! memory held for zones no longer used. (The users cache keeps its short TTL: a sign-in writes
//! its user without moving the zone's epoch, so users are not in `zone_changes`.)

use std::collections::HashMap;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use latchkey_domain::StoreError;
use latchkey_domain::id::ZoneId;
use latchkey_domain::store::Store;

use crate::changes::Changes;

/// How often the changes are read.
pub const POLL_EVERY: Duration = Duration::from_secs(1);
/// How far back each read looks (database clock): a transaction that commits later than this
/// after its write is noticed only at its entries' TTL.
pub const WINDOW_MS: i64 = 60_000;
/// How long a zone cache entry (zone, keys, clients, targets, dependencies, plans) is kept at
/// most: with the poll, a memory bound rather than the freshness backstop.
pub const CACHE_TTL: Duration = Duration::from_secs(300);

/// What the last read saw: each recently changed zone's mark.
#[derive(Default)]
pub struct ChangePoll {
    seen: Mutex<HashMap<ZoneId, i64>>,
    started: AtomicBool,
}

impl ChangePoll {
    /// Reads the recent changes once and moves the epoch of each zone whose mark is new to this
    /// instance; returns those zones.
    pub async fn poll(
        &self,
        store: &dyn Store,
        changes: &Changes,
    ) -> Result<Vec<ZoneId>, StoreError> {
        let recent = store.recent_zone_changes(WINDOW_MS).await?;
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        let moved: Vec<ZoneId> = recent
            .iter()
            .filter(|(zone, mark)| seen.get(zone) != Some(mark))
            .map(|(zone, _)| zone.clone())
            .collect();
        for zone in &moved {
            changes.bump(zone);
        }
        // Only what is still in the window: a zone that leaves it and changes again comes back
        // with a new mark.
        *seen = recent.into_iter().collect();
        Ok(moved)
    }

    /// Runs [`Self::poll`] every [`POLL_EVERY`] (once; later calls do nothing).
    pub fn start(self: &Arc<Self>, store: Arc<dyn Store>, changes: Arc<Changes>) {
        let poll = self.clone();
        crate::periodic::every(&self.started, POLL_EVERY, move || {
            let (poll, store, changes) = (poll.clone(), store.clone(), changes.clone());
            async move {
                match poll.poll(store.as_ref(), &changes).await {
                    Ok(moved) if !moved.is_empty() => {
                        tracing::debug!(zones = moved.len(), "zones changed in the database");
                    }
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "zone changes not read"),
                }
            }
        });
    }
}
