//! Change notices between instances. A write that changes what a zone serves moves the zone's
//! cache epoch here ([`Changes::zone_changed`]) and, once [`start`]ed over a store with a change
//! feed (PostgreSQL `LISTEN/NOTIFY`), tells every other instance, which moves its own epoch
//! ([`apply`]). A lost feed connection means notices may have been missed: the instance then
//! treats everything as changed (a full resync) before it trusts its caches again. Each cache's
//! TTL stays as the last backstop. On SQLite there is one process and no feed.
//!
//! A notice is `"{instance} {kind} {zone}"`: `zone` (directory, zone settings, keys) or `policy`
//! (a policy binding moved: compiled policy is dropped).

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use latchkey_domain::id::ZoneId;
use latchkey_domain::store::Store;
use tokio::sync::mpsc;

use crate::scoped_cache::Epochs;
use crate::services::Services;

/// What a notice says changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The zone's directory, settings or keys.
    Zone,
    /// A policy binding of the zone.
    Policy,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Self::Zone => "zone",
            Self::Policy => "policy",
        }
    }
}

/// This instance's end of the change feed.
pub struct Changes {
    epochs: Arc<Epochs>,
    /// Random per process, so an instance skips its own notices.
    instance: String,
    outbox: OnceLock<mpsc::UnboundedSender<(Kind, ZoneId)>>,
}

impl Default for Changes {
    fn default() -> Self {
        let instance = latchkey_crypto::random::id().unwrap_or_else(|_| "instance".to_owned());
        Self {
            epochs: Arc::default(),
            instance,
            outbox: OnceLock::new(),
        }
    }
}

impl Changes {
    /// This instance's random name (job lease holder, notice sender).
    pub fn instance(&self) -> &str {
        &self.instance
    }

    /// The epoch clock the zone-scoped caches share.
    pub fn epochs(&self) -> Arc<Epochs> {
        self.epochs.clone()
    }

    /// `zone`'s directory, settings or keys changed here: stale at once here, and on the other
    /// instances as soon as the notice reaches them.
    pub fn zone_changed(&self, zone: &ZoneId) {
        self.epochs.bump(zone);
        crate::metrics::invalidation(true);
        self.publish(Kind::Zone, zone);
    }

    /// Tells the other instances (no-op until started, and on SQLite).
    pub fn publish(&self, kind: Kind, zone: &ZoneId) {
        if let Some(tx) = self.outbox.get() {
            let _ = tx.send((kind, zone.clone()));
        }
    }

    fn notice(&self, kind: Kind, zone: &ZoneId) -> String {
        format!("{} {} {zone}", self.instance, kind.as_str())
    }

    /// A notice from the feed: `None` when it is this instance's own or malformed.
    fn parse(&self, payload: &str) -> Option<(Kind, ZoneId)> {
        let mut parts = payload.splitn(3, ' ');
        let (from, kind, zone) = (parts.next()?, parts.next()?, parts.next()?);
        if from == self.instance || zone.is_empty() {
            return None;
        }
        let kind = match kind {
            "zone" => Kind::Zone,
            "policy" => Kind::Policy,
            _ => return None,
        };
        Some((kind, ZoneId::new(zone)))
    }
}

/// Applies another instance's notice to this one's caches.
fn apply(s: &Services, kind: Kind, zone: &ZoneId) {
    crate::metrics::invalidation(false);
    match kind {
        Kind::Zone => s.changes.epochs.bump(zone),
        Kind::Policy => s.policies.forget(zone),
    }
}

/// Everything may have changed (notices may have been lost).
fn resync(s: &Services) {
    crate::metrics::resync();
    s.changes.epochs.bump_all();
    s.policies.forget_all();
}

/// Starts publishing this instance's notices and following the others', when the store has a
/// change feed. `services` must live as long as the process (it is the server's state).
pub fn start(services: Arc<dyn AsServices>) {
    let s = services.services();
    if !s.store.has_change_feed() {
        return;
    }
    let (tx, rx) = mpsc::unbounded_channel();
    if s.changes.outbox.set(tx).is_err() {
        return;
    }
    tokio::spawn(publish_loop(s.store.clone(), services.clone(), rx));
    tokio::spawn(follow_loop(services));
}

/// Gives the feed tasks the services without tying this crate to the server's state type.
pub trait AsServices: Send + Sync + 'static {
    fn services(&self) -> &Services;
}

async fn publish_loop(
    store: Arc<dyn Store>,
    services: Arc<dyn AsServices>,
    mut rx: mpsc::UnboundedReceiver<(Kind, ZoneId)>,
) {
    while let Some(first) = rx.recv().await {
        // Coalesce a burst of writes into one notice per zone and kind.
        let mut batch = vec![first];
        while let Ok(more) = rx.try_recv() {
            if !batch.contains(&more) {
                batch.push(more);
            }
        }
        for (kind, zone) in batch {
            let notice = services.services().changes.notice(kind, &zone);
            if let Err(e) = store.publish_change(&notice).await {
                tracing::warn!(error = %e, zone = %zone, "could not tell other instances of a change");
            }
        }
    }
}

async fn follow_loop(services: Arc<dyn AsServices>) {
    loop {
        let s = services.services();
        let mut feed = match s.store.change_feed().await {
            Ok(Some(feed)) => feed,
            Ok(None) => return,
            Err(e) => {
                tracing::warn!(error = %e, "change feed unavailable; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        // Whatever happened before we listened is unknown.
        resync(s);
        loop {
            match feed.next().await {
                Ok(Some(payload)) => {
                    if let Some((kind, zone)) = s.changes.parse(&payload) {
                        apply(s, kind, &zone);
                    }
                }
                Ok(None) => resync(s),
                Err(e) => {
                    tracing::warn!(error = %e, "change feed lost; caches resynced");
                    resync(s);
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    break;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notices_round_trip_and_own_ones_are_skipped() {
        let a = Changes::default();
        let b = Changes::default();
        let zone = ZoneId::new("zone1");
        let n = a.notice(Kind::Policy, &zone);
        assert_eq!(b.parse(&n), Some((Kind::Policy, zone.clone())));
        assert_eq!(a.parse(&n), None, "an instance skips its own notice");
        assert_eq!(b.parse("x unknown zone1"), None);
        assert_eq!(b.parse("x zone "), None);
        assert_eq!(b.parse("garbage"), None);
    }
}
