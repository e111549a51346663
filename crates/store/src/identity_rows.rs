//! How identity records map to rows: the column lists, list specs and row readers of users, user
//! agents, sessions and delegated grants.

use latchkey_domain::Timestamp;
use latchkey_domain::id::{
    ApplicationId, GrantId, OrganizationId, ProviderId, ResourceId, SessionId, UserAgentId, UserId,
    ZoneId,
};
use latchkey_domain::model::identity::{Grant, Session, SessionType, Status, User, UserAgent};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::sql::{Arg, BY_CREATED, SortKind, TableSpec, flag, get_json, opt_ts, parsed, ts};

pub(crate) const USER_COLUMNS: &str = "zone_id, id, organization_id, email, email_verified, external, identifier, status, \
    authenticated_at, issuer, provider_id, subject, password_hash, created_at, updated_at";
pub(crate) const USERS: TableSpec = TableSpec {
    table: "users",
    columns: USER_COLUMNS,
    sortable: &[
        ("created_at", "created_at", SortKind::Int),
        ("email", "email", SortKind::Text),
        (
            "authenticated_at",
            "COALESCE(authenticated_at, 0)",
            SortKind::Int,
        ),
    ],
    fields: &[
        ("email", "email"),
        ("identifier", "identifier"),
        ("subject", "subject"),
        ("issuer", "issuer"),
    ],
};
pub(crate) const AGENT_COLUMNS: &str =
    "zone_id, id, organization_id, identifier, name, slug, registration, created_at, updated_at";
pub(crate) const AGENTS: TableSpec = TableSpec {
    table: "user_agents",
    columns: AGENT_COLUMNS,
    sortable: BY_CREATED,
    fields: &[],
};
pub(crate) const SESSION_COLUMNS: &str = "zone_id, id, organization_id, session_type, user_id, application_id, user_agent_id, \
    parent_id, provider_id, issuer, subject, metadata_name, session_data, status, authenticated_at, expires_at, \
    created_at, updated_at";
pub(crate) const SESSIONS: TableSpec = TableSpec {
    table: "sessions",
    columns: SESSION_COLUMNS,
    sortable: BY_CREATED,
    fields: &[],
};
pub(crate) const GRANT_COLUMNS: &str = "zone_id, id, organization_id, user_id, resource_id, provider_id, scopes, status, \
    expires_at, refresh_token_set, refreshed_at, access_token, refresh_token, created_at, updated_at";
pub(crate) const GRANTS: TableSpec = TableSpec {
    table: "delegated_grants",
    columns: GRANT_COLUMNS,
    sortable: BY_CREATED,
    fields: &[],
};

pub(crate) fn id_of<T>(
    row: &AnyRow,
    col: &str,
    wrap: fn(String) -> T,
) -> Result<Option<T>, sqlx::Error> {
    Ok(row.try_get::<Option<String>, _>(col)?.map(wrap))
}

pub(crate) fn user_from_row(row: &AnyRow) -> Result<User, sqlx::Error> {
    Ok(User {
        zone_id: ZoneId::new(row.try_get::<String, _>("zone_id")?),
        id: UserId::new(row.try_get::<String, _>("id")?),
        organization_id: OrganizationId::new(row.try_get::<String, _>("organization_id")?),
        email: row.try_get("email")?,
        email_verified: flag(row, "email_verified")?,
        external: flag(row, "external")?,
        identifier: row.try_get("identifier")?,
        status: row.try_get("status")?,
        authenticated_at: opt_ts(row, "authenticated_at")?,
        issuer: row.try_get("issuer")?,
        provider_id: id_of(row, "provider_id", ProviderId::new)?,
        subject: row.try_get("subject")?,
        password_hash: row.try_get("password_hash")?,
        created_at: ts(row, "created_at")?,
        updated_at: ts(row, "updated_at")?,
    })
}

pub(crate) fn agent_from_row(row: &AnyRow) -> Result<UserAgent, sqlx::Error> {
    Ok(UserAgent {
        zone_id: ZoneId::new(row.try_get::<String, _>("zone_id")?),
        id: UserAgentId::new(row.try_get::<String, _>("id")?),
        organization_id: OrganizationId::new(row.try_get::<String, _>("organization_id")?),
        identifier: row.try_get("identifier")?,
        name: row.try_get("name")?,
        slug: row.try_get("slug")?,
        registration: get_json(row, "registration")?,
        created_at: ts(row, "created_at")?,
        updated_at: ts(row, "updated_at")?,
    })
}

pub(crate) fn session_type(s: &str) -> Option<SessionType> {
    match s {
        "user" => Some(SessionType::User),
        "application" => Some(SessionType::Application),
        _ => None,
    }
}

pub(crate) fn session_type_str(t: SessionType) -> &'static str {
    match t {
        SessionType::User => "user",
        SessionType::Application => "application",
    }
}

pub(crate) fn session_from_row(row: &AnyRow) -> Result<Session, sqlx::Error> {
    Ok(Session {
        zone_id: ZoneId::new(row.try_get::<String, _>("zone_id")?),
        id: SessionId::new(row.try_get::<String, _>("id")?),
        organization_id: OrganizationId::new(row.try_get::<String, _>("organization_id")?),
        session_type: parsed(row, "session_type", session_type)?,
        user_id: id_of(row, "user_id", UserId::new)?,
        application_id: id_of(row, "application_id", ApplicationId::new)?,
        user_agent_id: id_of(row, "user_agent_id", UserAgentId::new)?,
        parent_id: id_of(row, "parent_id", SessionId::new)?,
        provider_id: id_of(row, "provider_id", ProviderId::new)?,
        issuer: row.try_get("issuer")?,
        subject: row.try_get("subject")?,
        metadata_name: row.try_get("metadata_name")?,
        session_data: get_json(row, "session_data")?,
        status: parsed(row, "status", Status::parse)?,
        authenticated_at: opt_ts(row, "authenticated_at")?,
        expires_at: opt_ts(row, "expires_at")?,
        created_at: ts(row, "created_at")?,
        updated_at: ts(row, "updated_at")?,
    })
}

pub(crate) fn grant_from_row(row: &AnyRow) -> Result<Grant, sqlx::Error> {
    Ok(Grant {
        zone_id: ZoneId::new(row.try_get::<String, _>("zone_id")?),
        id: GrantId::new(row.try_get::<String, _>("id")?),
        organization_id: OrganizationId::new(row.try_get::<String, _>("organization_id")?),
        user_id: UserId::new(row.try_get::<String, _>("user_id")?),
        resource_id: ResourceId::new(row.try_get::<String, _>("resource_id")?),
        provider_id: ProviderId::new(row.try_get::<String, _>("provider_id")?),
        scopes: get_json(row, "scopes")?.unwrap_or_default(),
        status: parsed(row, "status", Status::parse)?,
        expires_at: ts(row, "expires_at")?,
        refresh_token_set: flag(row, "refresh_token_set")?,
        refreshed_at: opt_ts(row, "refreshed_at")?,
        access_token: row.try_get("access_token")?,
        refresh_token: row.try_get("refresh_token")?,
        created_at: ts(row, "created_at")?,
        updated_at: ts(row, "updated_at")?,
    })
}

/// The condition for an effective status as of `now`.
pub(crate) fn status_condition(status: Status, now: Timestamp) -> (&'static str, Vec<Arg>) {
    let n = Arg::Int(now.millis());
    match status {
        Status::Active => (
            "(status = 'active' AND (expires_at IS NULL OR expires_at > ?))",
            vec![n],
        ),
        Status::Expired => (
            "(status = 'expired' OR (status = 'active' AND expires_at <= ?))",
            vec![n],
        ),
        Status::Revoked => ("status = 'revoked'", vec![]),
    }
}

pub(crate) fn opt_id<T: AsRef<str>>(v: &Option<T>) -> Arg {
    Arg::OptText(v.as_ref().map(|x| x.as_ref().to_owned()))
}
