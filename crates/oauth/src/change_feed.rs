//! The change feed's tasks: publishing this instance's notices (coalesced per burst) and
//! following the other instances' (`changes` holds the notices' format and the epochs). A lost
//! subscription resynchronises every cache before trusting it again.

use std::sync::Arc;
use std::time::Duration;

use latchkey_domain::id::ZoneId;
use latchkey_domain::store::Store;
use tokio::sync::mpsc;

use crate::changes::Kind;
use crate::services::Services;

/// Applies another instance's notice to this one's caches.
fn apply(s: &Services, kind: Kind, zone: &ZoneId) {
    crate::metrics::invalidation(false);
    match kind {
        Kind::Zone => s.changes.bump(zone),
        Kind::Policy => s.policy_moved(zone),
    }
}

/// Everything may have changed (notices may have been lost).
fn resync(s: &Services) {
    crate::metrics::resync();
    s.changes.bump_all();
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
    if !s.changes.connect(tx) {
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
