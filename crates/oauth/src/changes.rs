//! Change notices between instances. A write that changes what a zone serves moves the zone's
//! cache epoch here ([`Changes::zone_changed`]) and, once the feed runs (`change_feed::start`,
//! over a store with PostgreSQL `LISTEN/NOTIFY`), tells every other instance, which moves its
//! own epoch. A lost feed connection means notices may have been missed: the instance then
//! treats everything as changed (a full resync) before it trusts its caches again. A notice that
//! never came is made up for within about a second by the poll of the database's changes
//! (`change_poll`); each cache's TTL stays as the last backstop. On SQLite there is one process
//! and no feed.
//!
//! A notice is `"{instance} {kind} {zone}"`: `zone` (directory, zone settings, keys) or `policy`
//! (a policy binding moved: compiled policy is dropped).

use std::sync::{Arc, OnceLock};

use latchkey_domain::id::ZoneId;
use tokio::sync::mpsc;

use crate::scoped_cache::Epochs;

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

    /// Connects the outbox (once); false when it already was.
    pub(crate) fn connect(&self, tx: mpsc::UnboundedSender<(Kind, ZoneId)>) -> bool {
        self.outbox.set(tx).is_ok()
    }

    /// Moves the epoch of `zone` without telling anyone (a notice from another instance).
    pub(crate) fn bump(&self, zone: &ZoneId) {
        self.epochs.bump(zone);
    }

    /// Moves every epoch (notices may have been lost).
    pub(crate) fn bump_all(&self) {
        self.epochs.bump_all();
    }

    /// Tells the other instances (no-op until started, and on SQLite).
    pub fn publish(&self, kind: Kind, zone: &ZoneId) {
        if let Some(tx) = self.outbox.get() {
            let _ = tx.send((kind, zone.clone()));
        }
    }

    pub(crate) fn notice(&self, kind: Kind, zone: &ZoneId) -> String {
        format!("{} {} {zone}", self.instance, kind.as_str())
    }

    /// A notice from the feed: `None` when it is this instance's own or malformed.
    pub(crate) fn parse(&self, payload: &str) -> Option<(Kind, ZoneId)> {
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
