//! Identity records: users, user agents, sessions and delegated grants. They are written by the
//! login and token flows; the management API reads, revokes and deletes them. `expired` is not
//! stored: an active record past `expires_at` reads (and filters) as expired.

use async_trait::async_trait;
use latchkey_domain::id::{GrantId, SessionId, UserAgentId, UserId, ZoneId};
use latchkey_domain::model::identity::{Grant, Session, User, UserAgent};
use latchkey_domain::store::{GrantFilter, IdentityStore, SessionFilter, UserFilter};
use latchkey_domain::{Page, PageRequest, StoreError, Timestamp};

use crate::SqlStore;
use crate::error::OrStore;
use crate::identity_rows::*;
use crate::sql::{
    Filter, Sql, delete_one, get_one, insert_row, json, list_page, touched, unique_slug,
};

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
        let f = USERS.apply(
            self.db.backend(),
            Filter::default().eq("zone_id", zone.as_str()),
            &filter.list,
        )?;
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

    async fn update_user_agent_registration(
        &self,
        zone: &ZoneId,
        id: &UserAgentId,
        name: &str,
        registration: &serde_json::Value,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let mut w = self.db.write().await?;
        let mut sql = Sql::new("UPDATE user_agents SET name = ");
        sql.bind(name)
            .push(", registration = ")
            .bind(registration.to_string())
            .push(", updated_at = ")
            .bind(now.millis())
            .push(" WHERE zone_id = ")
            .bind(zone.as_str())
            .push(" AND id = ")
            .bind(id.as_str());
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
