//! Audit event wire type (Latchkey extension): `GET /organizations/{organization_id}/audit-events`.

use latchkey_domain::Timestamp;
use latchkey_domain::model::audit::AuditEvent;
use serde::Serialize;
use utoipa::ToSchema;

/// One management write (or sign-in to the management API).
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEventView {
    pub id: String,
    pub organization_id: String,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    /// The principal's id; null for an unauthenticated request.
    pub actor_id: Option<String>,
    /// `api_key`, `service_account` or `user`; null for an unauthenticated request.
    pub actor_type: Option<String>,
    /// Dotted, from the route and method, e.g. `zones.applications.create`, `auth.sign_in`.
    pub action: String,
    /// Singular, e.g. `application`, `service_account_credential`.
    pub object_type: Option<String>,
    pub object_id: Option<String>,
    pub zone_id: Option<String>,
    /// The client's `X-Request-Id`, or the one the server assigned (echoed on the response).
    pub request_id: String,
    /// The client's address as the server saw it (the TCP peer).
    pub source_address: Option<String>,
    /// `success` or `failure`.
    pub outcome: String,
    /// The HTTP status answered.
    pub status: u16,
}

impl From<AuditEvent> for AuditEventView {
    fn from(e: AuditEvent) -> Self {
        let (actor_id, actor_type) = match e.actor {
            Some(a) => (Some(a.id), Some(a.kind)),
            None => (None, None),
        };
        Self {
            id: e.id,
            organization_id: e.organization_id.into_string(),
            created_at: e.created_at,
            actor_id,
            actor_type,
            action: e.action,
            object_type: e.object_type,
            object_id: e.object_id,
            zone_id: e.zone_id.map(|z| z.as_str().to_owned()),
            request_id: e.request_id,
            source_address: e.source_address,
            outcome: e.outcome.as_str().to_owned(),
            status: e.status,
        }
    }
}
