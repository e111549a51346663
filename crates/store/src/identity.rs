//! Identity records: users, user agents, sessions and delegated grants. They are written by the
//! login and token flows; the management API reads, revokes and deletes them. `expired` is not
//! stored: an active record past `expires_at` reads (and filters) as expired.

use async_trait::async_trait;
use latchkey_domain::id::{
    ApplicationId, GrantId, OrganizationId, ProviderId, ResourceId, SessionId, UserAgentId, UserId,
    ZoneId,
};
use latchkey_domain::model::identity::{Grant, Session, SessionType, Status, User, UserAgent};
use latchkey_domain::store::{GrantFilter, IdentityStore, SessionFilter, UserFilter};
use latchkey_domain::{Page, PageRequest, StoreError, Timestamp};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::SqlStore;
use crate::error::OrStore;
use crate::sql::{
    Arg, BY_CREATED, Filter, SortKind, Sql, TableSpec, delete_one, flag, get_json, get_one,
    insert_row, json, list_page, opt_ts, parsed, touched, ts, unique_slug,
};

const USER_COLUMNS: &str = "zone_id, id, organization_id, email, email_verified, external, identifier, status, \
    authenticated_at, issuer, provider_id, subject, password_hash, created_at, updated_at";
const USERS: TableSpec = TableSpec {
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
const AGENT_COLUMNS: &str =
    "zone_id, id, organization_id, identifier, name, slug, registration, created_at, updated_at";
const AGENTS: TableSpec = TableSpec {
    table: "user_agents",
    columns: AGENT_COLUMNS,
    sortable: BY_CREATED,
    fields: &[],
};
const SESSION_COLUMNS: &str = "zone_id, id, organization_id, session_type, user_id, application_id, user_agent_id, \
    parent_id, provider_id, issuer, subject, metadata_name, session_data, status, authenticated_at, expires_at, \
    created_at, updated_at";
const SESSIONS: TableSpec = TableSpec {
    table: "sessions",
    columns: SESSION_COLUMNS,
    sortable: BY_CREATED,
    fields: &[],
};
const GRANT_COLUMNS: &str = "zone_id, id, organization_id, user_id, resource_id, provider_id, scopes, status, \
    expires_at, refresh_token_set, refreshed_at, access_token, refresh_token, created_at, updated_at";
const GRANTS: TableSpec = TableSpec {
    table: "delegated_grants",
    columns: GRANT_COLUMNS,
    sortable: BY_CREATED,
    fields: &[],
};

fn id_of<T>(row: &AnyRow, col: &str, wrap: fn(String) -> T) -> Result<Option<T>, sqlx::Error> {
    Ok(row.try_get::<Option<String>, _>(col)?.map(wrap))
}

fn user_from_row(row: &AnyRow) -> Result<User, sqlx::Error> {
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

fn agent_from_row(row: &AnyRow) -> Result<UserAgent, sqlx::Error> {
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

fn session_type(s: &str) -> Option<SessionType> {
    match s {
        "user" => Some(SessionType::User),
        "application" => Some(SessionType::Application),
        _ => None,
    }
}

fn session_type_str(t: SessionType) -> &'static str {
    match t {
        SessionType::User => "user",
        SessionType::Application => "application",
    }
}

fn session_from_row(row: &AnyRow) -> Result<Session, sqlx::Error> {
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

fn grant_from_row(row: &AnyRow) -> Result<Grant, sqlx::Error> {
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
fn status_condition(status: Status, now: Timestamp) -> (&'static str, Vec<Arg>) {
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

fn opt_id<T: AsRef<str>>(v: &Option<T>) -> Arg {
    Arg::OptText(v.as_ref().map(|x| x.as_ref().to_owned()))
}

#[async_trait]
impl IdentityStore for SqlStore {
    async fn insert_user(&self, u: &User) -> Result<(), StoreError> {
        let row = vec![
            ("zone_id", u.zone_id.as_str().into()),
            ("id", u.id.as_str().into()),
            ("organization_id", u.organization_id.as_str().into()),
            ("email", (&u.email).into()),
            ("email_verified", u.email_verified.into()),
            ("external", u.external.into()),
            ("identifier", (&u.identifier).into()),
            ("status", (&u.status).into()),
            (
                "authenticated_at",
                u.authenticated_at.map(Timestamp::millis).into(),
            ),
            ("issuer", (&u.issuer).into()),
            ("provider_id", opt_id(&u.provider_id)),
            ("subject", (&u.subject).into()),
            ("password_hash", (&u.password_hash).into()),
            ("created_at", u.created_at.millis().into()),
            ("updated_at", u.updated_at.millis().into()),
        ];
        insert_row("users", row)
            .query()
            .execute(self.db.pool())
            .await
            .store()?;
        Ok(())
    }

    async fn get_user(&self, zone: &ZoneId, id: &UserId) -> Result<Option<User>, StoreError> {
        get_one(self.db.pool(), &USERS, zone, id.as_str(), user_from_row).await
    }

    async fn list_users(
        &self,
        zone: &ZoneId,
        filter: &UserFilter,
        page: &PageRequest,
    ) -> Result<Page<User>, StoreError> {
        let f = USERS.apply(Filter::default().eq("zone_id", zone.as_str()), &filter.list)?;
        let f = f.eq_opt("external", filter.external);
        list_page(self.db.pool(), &USERS, &f, page, user_from_row).await
    }

    async fn user_counts(&self, zone: &ZoneId, id: &UserId) -> Result<(u64, u64), StoreError> {
        let f = Filter::default()
            .eq("zone_id", zone.as_str())
            .eq("user_id", id.as_str());
        let sessions = crate::sql::count(self.db.pool(), "sessions", &f).await?;
        let grants = crate::sql::count(self.db.pool(), "delegated_grants", &f).await?;
        Ok((sessions, grants))
    }

    async fn insert_user_agent(&self, mut a: UserAgent) -> Result<UserAgent, StoreError> {
        let mut w = self.db.write().await?;
        a.slug = unique_slug(
            &self.db,
            &mut w.tx,
            "user_agents",
            "slug",
            Some(("zone_id", a.zone_id.as_str())),
            &a.slug,
        )
        .await?;
        let row = vec![
            ("zone_id", a.zone_id.as_str().into()),
            ("id", a.id.as_str().into()),
            ("organization_id", a.organization_id.as_str().into()),
            ("identifier", (&a.identifier).into()),
            ("name", (&a.name).into()),
            ("slug", (&a.slug).into()),
            ("registration", json(a.registration.as_ref())),
            ("created_at", a.created_at.millis().into()),
            ("updated_at", a.updated_at.millis().into()),
        ];
        insert_row("user_agents", row)
            .query()
            .execute(&mut *w.tx)
            .await
            .store()?;
        w.commit().await?;
        Ok(a)
    }

    async fn get_user_agent(
        &self,
        zone: &ZoneId,
        id: &UserAgentId,
    ) -> Result<Option<UserAgent>, StoreError> {
        get_one(self.db.pool(), &AGENTS, zone, id.as_str(), agent_from_row).await
    }

    async fn delete_user_agent(&self, zone: &ZoneId, id: &UserAgentId) -> Result<bool, StoreError> {
        let mut w = self.db.write().await?;
        for stmt in [
            "UPDATE refresh_tokens SET revoked = 1 WHERE zone_id = $1 AND client_id IN \
             (SELECT identifier FROM user_agents WHERE zone_id = $1 AND id = $2)",
            "DELETE FROM consents WHERE zone_id = $1 AND client_id IN \
             (SELECT identifier FROM user_agents WHERE zone_id = $1 AND id = $2)",
        ] {
            sqlx::query(stmt)
                .bind(zone.as_str().to_owned())
                .bind(id.as_str().to_owned())
                .execute(&mut *w.tx)
                .await
                .store()?;
        }
        let mut sql = Sql::new("DELETE FROM user_agents WHERE zone_id = ");
        sql.bind(zone.as_str()).push(" AND id = ").bind(id.as_str());
        let done = touched(&mut *w.tx, &sql).await?;
        w.commit().await?;
        Ok(done)
    }

    async fn find_user_agent(
        &self,
        zone: &ZoneId,
        identifier: &str,
    ) -> Result<Option<UserAgent>, StoreError> {
        let mut sql = Sql::new(format!("SELECT {AGENT_COLUMNS} FROM user_agents"));
        Filter::default()
            .eq("zone_id", zone.as_str())
            .eq("identifier", identifier)
            .write(&mut sql, None);
        let row = sql.query().fetch_optional(self.db.pool()).await.store()?;
        row.as_ref().map(agent_from_row).transpose().store()
    }

    async fn list_user_agents(
        &self,
        zone: &ZoneId,
        page: &PageRequest,
    ) -> Result<Page<UserAgent>, StoreError> {
        let f = Filter::default().eq("zone_id", zone.as_str());
        list_page(self.db.pool(), &AGENTS, &f, page, agent_from_row).await
    }

    async fn insert_session(&self, s: &Session) -> Result<(), StoreError> {
        let row = vec![
            ("zone_id", s.zone_id.as_str().into()),
            ("id", s.id.as_str().into()),
            ("organization_id", s.organization_id.as_str().into()),
            ("session_type", session_type_str(s.session_type).into()),
            ("user_id", opt_id(&s.user_id)),
            ("application_id", opt_id(&s.application_id)),
            ("user_agent_id", opt_id(&s.user_agent_id)),
            ("parent_id", opt_id(&s.parent_id)),
            ("provider_id", opt_id(&s.provider_id)),
            ("issuer", (&s.issuer).into()),
            ("subject", (&s.subject).into()),
            ("metadata_name", (&s.metadata_name).into()),
            ("session_data", json(s.session_data.as_ref())),
            ("status", s.status.as_str().into()),
            (
                "authenticated_at",
                s.authenticated_at.map(Timestamp::millis).into(),
            ),
            ("expires_at", s.expires_at.map(Timestamp::millis).into()),
            ("created_at", s.created_at.millis().into()),
            ("updated_at", s.updated_at.millis().into()),
        ];
        insert_row("sessions", row)
            .query()
            .execute(self.db.pool())
            .await
            .store()?;
        Ok(())
    }

    async fn get_session(
        &self,
        zone: &ZoneId,
        id: &SessionId,
    ) -> Result<Option<Session>, StoreError> {
        get_one(
            self.db.pool(),
            &SESSIONS,
            zone,
            id.as_str(),
            session_from_row,
        )
        .await
    }

    async fn list_sessions(
        &self,
        zone: &ZoneId,
        filter: &SessionFilter,
        now: Timestamp,
        page: &PageRequest,
    ) -> Result<Page<Session>, StoreError> {
        let mut f = Filter::default().eq("zone_id", zone.as_str()).raw(
            "(application_id IS NOT NULL OR user_agent_id IS NOT NULL)",
            vec![],
        );
        if !filter.include_nested {
            f = f.raw(
                "(parent_id IS NULL OR parent_id IN (SELECT p.id FROM sessions p WHERE p.zone_id = ? AND p.parent_id IS NULL))",
                vec![zone.as_str().into()],
            );
        }
        f = f.eq_opt("session_type", filter.session_type.map(session_type_str));
        f = f.eq_opt("user_id", filter.user_id.as_ref().map(|u| u.as_str()));
        if let Some(status) = filter.status {
            let (cond, args) = status_condition(status, now);
            f = f.raw(cond, args);
        }
        list_page(self.db.pool(), &SESSIONS, &f, page, session_from_row).await
    }

    async fn revoke_session(
        &self,
        zone: &ZoneId,
        id: &SessionId,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let mut w = self.db.write().await?;
        let done = revoke_tree(&mut w.tx, zone, id, now).await?;
        w.commit().await?;
        Ok(done)
    }

    async fn delete_session(&self, zone: &ZoneId, id: &SessionId) -> Result<bool, StoreError> {
        // The sessions started from this one, and every refresh token of the tree, end with it.
        let mut w = self.db.write().await?;
        revoke_tree(&mut w.tx, zone, id, Timestamp::now()).await?;
        let mut sql = Sql::new("DELETE FROM sessions WHERE zone_id = ");
        sql.bind(zone.as_str()).push(" AND id = ").bind(id.as_str());
        let done = touched(&mut *w.tx, &sql).await?;
        w.commit().await?;
        Ok(done)
    }

    async fn insert_grant(&self, g: &Grant) -> Result<(), StoreError> {
        let row = vec![
            ("zone_id", g.zone_id.as_str().into()),
            ("id", g.id.as_str().into()),
            ("organization_id", g.organization_id.as_str().into()),
            ("user_id", g.user_id.as_str().into()),
            ("resource_id", g.resource_id.as_str().into()),
            ("provider_id", g.provider_id.as_str().into()),
            ("scopes", json(Some(&g.scopes))),
            ("status", g.status.as_str().into()),
            ("expires_at", g.expires_at.millis().into()),
            ("refresh_token_set", g.refresh_token_set.into()),
            ("refreshed_at", g.refreshed_at.map(Timestamp::millis).into()),
            ("access_token", (&g.access_token).into()),
            ("refresh_token", (&g.refresh_token).into()),
            ("created_at", g.created_at.millis().into()),
            ("updated_at", g.updated_at.millis().into()),
        ];
        insert_row("delegated_grants", row)
            .query()
            .execute(self.db.pool())
            .await
            .store()?;
        Ok(())
    }

    async fn get_grant(&self, zone: &ZoneId, id: &GrantId) -> Result<Option<Grant>, StoreError> {
        get_one(self.db.pool(), &GRANTS, zone, id.as_str(), grant_from_row).await
    }

    async fn list_grants(
        &self,
        zone: &ZoneId,
        filter: &GrantFilter,
        now: Timestamp,
        page: &PageRequest,
    ) -> Result<Page<Grant>, StoreError> {
        let mut f = Filter::default()
            .eq("zone_id", zone.as_str())
            .eq_opt("user_id", filter.user_id.as_ref().map(|u| u.as_str()))
            .eq_opt(
                "resource_id",
                filter.resource_id.as_ref().map(|r| r.as_str()),
            );
        if let Some(status) = filter.status {
            let (cond, args) = status_condition(status, now);
            f = f.raw(cond, args);
        }
        list_page(self.db.pool(), &GRANTS, &f, page, grant_from_row).await
    }

    async fn revoke_grant(
        &self,
        zone: &ZoneId,
        id: &GrantId,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let mut sql = Sql::new(
            "UPDATE delegated_grants SET status = 'revoked', access_token = NULL, refresh_token = NULL, \
             refresh_token_set = 0, updated_at = ",
        );
        sql.bind(now.millis())
            .push(" WHERE zone_id = ")
            .bind(zone.as_str())
            .push(" AND id = ")
            .bind(id.as_str());
        touched(self.db.pool(), &sql).await
    }

    async fn delete_grant(&self, zone: &ZoneId, id: &GrantId) -> Result<bool, StoreError> {
        delete_one(self.db.pool(), "delegated_grants", zone, id.as_str()).await
    }
}

/// `WITH` clause naming `tree(id)`: session `$2` of zone `$1` and every session below it.
macro_rules! session_tree {
    () => {
        "WITH RECURSIVE tree(id) AS ( \
           SELECT id FROM sessions WHERE zone_id = $1 AND id = $2 \
           UNION ALL SELECT s.id FROM sessions s JOIN tree t ON s.parent_id = t.id WHERE s.zone_id = $1) "
    };
}

/// Revokes a session, the sessions below it, and every refresh token issued under any of them;
/// whether a session changed status.
async fn revoke_tree(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    zone: &ZoneId,
    id: &SessionId,
    now: Timestamp,
) -> Result<bool, StoreError> {
    sqlx::query(concat!(
        session_tree!(),
        "UPDATE refresh_tokens SET revoked = 1 WHERE zone_id = $1 \
         AND (session_id IN (SELECT id FROM tree) OR token_session_id IN (SELECT id FROM tree))"
    ))
    .bind(zone.as_str().to_owned())
    .bind(id.as_str().to_owned())
    .execute(&mut **tx)
    .await
    .store()?;
    let done = sqlx::query(concat!(
        session_tree!(),
        "UPDATE sessions SET status = 'revoked', updated_at = $3 \
         WHERE zone_id = $1 AND id IN (SELECT id FROM tree) AND status <> 'revoked'"
    ))
    .bind(zone.as_str().to_owned())
    .bind(id.as_str().to_owned())
    .bind(now.millis())
    .execute(&mut **tx)
    .await
    .store()?;
    Ok(done.rows_affected() > 0)
}
