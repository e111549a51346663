//! The audit log's writer, shared by the management API's audit middleware (every write) and the
//! user grants here (`auth.sign_in`: a platform zone issuing a token for the management API).
//!
//! Recording never touches the database: events are pushed onto an in-memory buffer under a short
//! lock, and a background task writes what has gathered every [`FLUSH_EVERY`] in one transaction
//! (and once more at shutdown), as the policy decision log does. A direct insert would put a
//! write transaction — on SQLite, the single writer lock and a WAL sync — on every management
//! write's path, and make audited writes queue behind each other. The price is that a crash loses
//! at most one window; the audit list flushes first, so a reader on the same instance always sees
//! its own writes. When more than [`MAX_PENDING`] events wait (a database outage), new ones are
//! dropped and counted, and the count is logged at the next flush.

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use latchkey_domain::Timestamp;
use latchkey_domain::model::OwnerType;
use latchkey_domain::model::audit::{AuditActor, AuditEvent, Outcome};
use latchkey_domain::model::zone::Zone;
use latchkey_domain::store::Store;

/// How often buffered events are written.
pub const FLUSH_EVERY: Duration = Duration::from_millis(500);
/// Events waiting for a flush, at most.
const MAX_PENDING: usize = 100_000;
/// The action of a sign-in to the management API.
pub const SIGN_IN: &str = "auth.sign_in";

/// What identifies the HTTP request an event belongs to.
#[derive(Debug, Clone)]
pub struct RequestMeta {
    pub request_id: String,
    pub source_address: Option<String>,
}

tokio::task_local! {
    /// The request being answered, for events recorded deep in protocol code that has no HTTP
    /// types (the token endpoint's grants).
    static REQUEST: RequestMeta;
}

/// Runs `fut` with `meta` as the current request of the events it records.
pub async fn in_request<F: Future>(meta: RequestMeta, fut: F) -> F::Output {
    REQUEST.scope(meta, fut).await
}

/// A new event id (random; empty only if the system's random source fails).
pub fn new_id() -> String {
    latchkey_crypto::random::id().unwrap_or_default()
}

#[derive(Default)]
pub struct AuditLog {
    pending: Mutex<Vec<AuditEvent>>,
    dropped: AtomicU64,
    started: AtomicBool,
    /// The resource identifier of the management API (the server's public URL).
    management_audience: OnceLock<String>,
}

impl AuditLog {
    /// Buffers an event; never waits on I/O.
    pub fn record(&self, event: AuditEvent) {
        let Ok(mut pending) = self.pending.lock() else {
            return;
        };
        if pending.len() < MAX_PENDING {
            pending.push(event);
        } else {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Sets the audience that makes a platform-zone token a management sign-in (once).
    pub fn set_management_audience(&self, audience: &str) {
        let _ = self.management_audience.set(audience.to_owned());
    }

    /// Records `auth.sign_in` when `zone` is an organization's platform zone and `audiences`
    /// include the management API.
    pub fn sign_in(&self, zone: &Zone, user_id: &str, audiences: &[String]) {
        let Some(management) = self.management_audience.get() else {
            return;
        };
        if zone.owner_type != OwnerType::Platform || !audiences.iter().any(|a| a == management) {
            return;
        }
        let meta = REQUEST.try_with(Clone::clone).ok();
        self.record(AuditEvent {
            organization_id: zone.organization_id.clone(),
            id: new_id(),
            created_at: Timestamp::now(),
            actor: Some(AuditActor {
                id: user_id.to_owned(),
                kind: "user".into(),
            }),
            action: SIGN_IN.into(),
            object_type: Some("user".into()),
            object_id: Some(user_id.to_owned()),
            zone_id: Some(zone.id.clone()),
            request_id: meta.as_ref().map_or_else(new_id, |m| m.request_id.clone()),
            source_address: meta.and_then(|m| m.source_address),
            outcome: Outcome::Success,
            status: 200,
        });
    }

    /// Writes every buffered event (one transaction) and clears the buffer.
    pub async fn flush(&self, store: &dyn Store) {
        let taken = match self.pending.lock() {
            Ok(mut p) => std::mem::take(&mut *p),
            Err(_) => Vec::new(),
        };
        let lost = self.dropped.swap(0, Ordering::Relaxed);
        if lost > 0 {
            tracing::warn!(lost, "audit events dropped: too many pending");
        }
        if taken.is_empty() {
            return;
        }
        if let Err(e) = store.record_audit_events(&taken).await {
            tracing::error!(error = %e, n = taken.len(), "audit events not recorded");
        }
    }

    /// Starts the periodic writer (once; later calls do nothing).
    pub fn start(self: &Arc<Self>, store: Arc<dyn Store>) {
        let log = self.clone();
        crate::periodic::every(&self.started, FLUSH_EVERY, move || {
            let (log, store) = (log.clone(), store.clone());
            async move { log.flush(store.as_ref()).await }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use latchkey_domain::id::OrganizationId;

    fn zone(owner: OwnerType) -> Zone {
        let mut z = Zone::new(
            latchkey_domain::id::ZoneId::new("z1"),
            OrganizationId::new("o1"),
            "Z".into(),
            Timestamp::now(),
        );
        z.owner_type = owner;
        z
    }

    fn recorded(log: &AuditLog) -> Vec<AuditEvent> {
        log.pending.lock().map(|p| p.clone()).unwrap_or_default()
    }

    #[tokio::test]
    async fn only_platform_zone_tokens_for_the_management_api_are_sign_ins() {
        let log = AuditLog::default();
        let api = vec!["https://lk.example".to_owned()];
        log.sign_in(&zone(OwnerType::Platform), "u1", &api);
        assert!(recorded(&log).is_empty(), "no audience configured yet");
        log.set_management_audience("https://lk.example");
        log.sign_in(&zone(OwnerType::Customer), "u1", &api);
        log.sign_in(&zone(OwnerType::Platform), "u1", &["https://other".into()]);
        assert!(recorded(&log).is_empty());
        let meta = RequestMeta {
            request_id: "req-1".into(),
            source_address: Some("10.0.0.1".into()),
        };
        in_request(meta, async {
            log.sign_in(&zone(OwnerType::Platform), "u1", &api)
        })
        .await;
        let events = recorded(&log);
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].action, SIGN_IN);
        assert_eq!(events[0].request_id, "req-1");
        assert_eq!(events[0].actor.as_ref().map(|a| a.id.as_str()), Some("u1"));
    }
}
