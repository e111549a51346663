//! Organization members and zone members. The last-`org_admin` rule is checked inside the
//! write transaction, after locking the organization row on PostgreSQL (SQLite has one writer),
//! so two admins demoting each other at once cannot both succeed.

use async_trait::async_trait;
use latchkey_domain::id::{OrganizationId, UserId, ZoneId};
use latchkey_domain::model::access::{OrgRole, ZoneRole};
use latchkey_domain::model::member::{MemberChange, OrgUser, ZoneMember};
use latchkey_domain::model::organization::Invitation;
use latchkey_domain::store::MemberStore;
use latchkey_domain::{Page, PageRequest, StoreError, Timestamp};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::SqlStore;
use crate::db::{Backend, WriteTx};
use crate::error::OrStore;
use crate::sql::{BY_CREATED, Filter, Sql, TableSpec, insert_row, list_page, touched, ts};

const ORG_COLUMNS: &str = "organization_id, id, email, role, created_at, updated_at";
const ORG_SPEC: TableSpec = TableSpec {
    table: "organization_users",
    columns: ORG_COLUMNS,
    sortable: BY_CREATED,
    fields: &[],
};
const ZONE_COLUMNS: &str =
    "zone_id, id, organization_id, organization_user_id, role, created_at, updated_at";
const ZONE_SPEC: TableSpec = TableSpec {
    table: "zone_members",
    columns: ZONE_COLUMNS,
    sortable: BY_CREATED,
    fields: &[],
};

fn bad_role(role: &str) -> sqlx::Error {
    sqlx::Error::Decode(format!("unknown role `{role}`").into())
}

fn org_user(row: &AnyRow) -> Result<OrgUser, sqlx::Error> {
    let role: String = row.try_get("role")?;
    Ok(OrgUser {
        organization_id: OrganizationId::new(row.try_get::<String, _>("organization_id")?),
        user_id: UserId::new(row.try_get::<String, _>("id")?),
        email: row.try_get("email")?,
        role: OrgRole::parse(&role).ok_or_else(|| bad_role(&role))?,
        created_at: ts(row, "created_at")?,
        updated_at: ts(row, "updated_at")?,
    })
}

fn zone_member(row: &AnyRow) -> Result<ZoneMember, sqlx::Error> {
    let role: String = row.try_get("role")?;
    Ok(ZoneMember {
        zone_id: ZoneId::new(row.try_get::<String, _>("zone_id")?),
        id: row.try_get("id")?,
        organization_id: OrganizationId::new(row.try_get::<String, _>("organization_id")?),
        organization_user_id: UserId::new(row.try_get::<String, _>("organization_user_id")?),
        role: ZoneRole::parse(&role).ok_or_else(|| bad_role(&role))?,
        created_at: ts(row, "created_at")?,
        updated_at: ts(row, "updated_at")?,
    })
}

impl SqlStore {
    /// Opens a write transaction holding the organization's row (PostgreSQL; SQLite's writer
    /// lock already serialises).
    async fn org_write(&self, org: &OrganizationId) -> Result<WriteTx<'_>, StoreError> {
        let mut w = self.db.write().await?;
        if self.db.backend() == Backend::Postgres {
            sqlx::query("SELECT id FROM organizations WHERE id = $1 FOR UPDATE")
                .bind(org.as_str().to_owned())
                .fetch_optional(&mut *w.tx)
                .await
                .store()?;
        }
        Ok(w)
    }

    /// The member's current role, and whether they are the only `org_admin`.
    async fn role_and_last_admin(
        w: &mut WriteTx<'_>,
        org: &OrganizationId,
        user: &UserId,
    ) -> Result<Option<(OrgRole, bool)>, StoreError> {
        let row = sqlx::query(
            "SELECT role, (SELECT COUNT(*) FROM organization_users \
             WHERE organization_id = $1 AND role = 'org_admin') AS admins \
             FROM organization_users WHERE organization_id = $1 AND id = $2",
        )
        .bind(org.as_str().to_owned())
        .bind(user.as_str().to_owned())
        .fetch_optional(&mut *w.tx)
        .await
        .store()?;
        let Some(row) = row else { return Ok(None) };
        let role: String = row.try_get("role").store()?;
        let role = OrgRole::parse(&role)
            .ok_or_else(|| bad_role(&role))
            .store()?;
        let admins: i64 = row.try_get("admins").store()?;
        Ok(Some((role, role == OrgRole::OrgAdmin && admins <= 1)))
    }
}

#[async_trait]
impl MemberStore for SqlStore {
    async fn accept_invitation(
        &self,
        inv: &Invitation,
        user: &UserId,
        email: &str,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let role = OrgRole::parse(&inv.role)
            .ok_or_else(|| StoreError::Backend(format!("invitation role `{}`", inv.role)))?;
        let mut w = self.org_write(&inv.organization_id).await?;
        let mut spend = Sql::new("UPDATE invitations SET status = 'accepted', accepted_by = ");
        spend
            .bind(user.as_str())
            .push(", updated_at = ")
            .bind(now.millis());
        spend
            .push(" WHERE organization_id = ")
            .bind(inv.organization_id.as_str());
        spend.push(" AND id = ").bind(inv.id.as_str());
        spend
            .push(" AND ((status = 'pending' AND expires_at > ")
            .bind(now.millis());
        spend
            .push(") OR (status = 'accepted' AND accepted_by = ")
            .bind(user.as_str());
        spend.push("))");
        if !touched(&mut *w.tx, &spend).await? {
            return Ok(false);
        }
        let mut join = insert_row(
            "organization_users",
            vec![
                ("organization_id", inv.organization_id.as_str().into()),
                ("id", user.as_str().into()),
                ("email", email.into()),
                ("role", role.as_str().into()),
                ("created_at", now.millis().into()),
                ("updated_at", now.millis().into()),
            ],
        );
        join.push(" ON CONFLICT (organization_id, id) DO NOTHING");
        join.query().execute(&mut *w.tx).await.store()?;
        w.commit().await?;
        Ok(true)
    }

    async fn get_org_user(
        &self,
        org: &OrganizationId,
        user: &UserId,
    ) -> Result<Option<OrgUser>, StoreError> {
        let mut sql = Sql::new(format!(
            "SELECT {ORG_COLUMNS} FROM organization_users WHERE organization_id = "
        ));
        sql.bind(org.as_str())
            .push(" AND id = ")
            .bind(user.as_str());
        let row = sql.query().fetch_optional(self.db.pool()).await.store()?;
        row.as_ref().map(org_user).transpose().store()
    }

    async fn list_org_users(
        &self,
        org: &OrganizationId,
        page: &PageRequest,
    ) -> Result<Page<OrgUser>, StoreError> {
        let filter = Filter::default().eq("organization_id", org.as_str());
        list_page(self.db.pool(), &ORG_SPEC, &filter, page, org_user).await
    }

    async fn set_org_role(
        &self,
        org: &OrganizationId,
        user: &UserId,
        role: OrgRole,
        now: Timestamp,
    ) -> Result<MemberChange, StoreError> {
        let mut w = self.org_write(org).await?;
        match Self::role_and_last_admin(&mut w, org, user).await? {
            None => return Ok(MemberChange::NotFound),
            Some((_, true)) if role != OrgRole::OrgAdmin => return Ok(MemberChange::LastAdmin),
            Some(_) => {}
        }
        let mut sql = Sql::new("UPDATE organization_users SET role = ");
        sql.bind(role.as_str())
            .push(", updated_at = ")
            .bind(now.millis());
        sql.push(" WHERE organization_id = ").bind(org.as_str());
        sql.push(" AND id = ").bind(user.as_str());
        touched(&mut *w.tx, &sql).await?;
        w.commit().await?;
        Ok(MemberChange::Done)
    }

    async fn remove_org_user(
        &self,
        org: &OrganizationId,
        user: &UserId,
    ) -> Result<MemberChange, StoreError> {
        let mut w = self.org_write(org).await?;
        match Self::role_and_last_admin(&mut w, org, user).await? {
            None => return Ok(MemberChange::NotFound),
            Some((_, true)) => return Ok(MemberChange::LastAdmin),
            Some(_) => {}
        }
        // Their zone memberships first (the reference), then the membership itself.
        let mut zones = Sql::new("DELETE FROM zone_members WHERE organization_id = ");
        zones
            .bind(org.as_str())
            .push(" AND organization_user_id = ")
            .bind(user.as_str());
        zones.query().execute(&mut *w.tx).await.store()?;
        let mut member = Sql::new("DELETE FROM organization_users WHERE organization_id = ");
        member
            .bind(org.as_str())
            .push(" AND id = ")
            .bind(user.as_str());
        member.query().execute(&mut *w.tx).await.store()?;
        w.commit().await?;
        Ok(MemberChange::Done)
    }

    async fn add_zone_member(&self, m: &ZoneMember) -> Result<(), StoreError> {
        let row = vec![
            ("zone_id", m.zone_id.as_str().into()),
            ("id", m.id.as_str().into()),
            ("organization_id", m.organization_id.as_str().into()),
            (
                "organization_user_id",
                m.organization_user_id.as_str().into(),
            ),
            ("role", m.role.as_str().into()),
            ("created_at", m.created_at.millis().into()),
            ("updated_at", m.updated_at.millis().into()),
        ];
        insert_row("zone_members", row)
            .query()
            .execute(self.db.pool())
            .await
            .store()?;
        Ok(())
    }

    async fn get_zone_member(
        &self,
        zone: &ZoneId,
        user: &UserId,
    ) -> Result<Option<ZoneMember>, StoreError> {
        let mut sql = Sql::new(format!(
            "SELECT {ZONE_COLUMNS} FROM zone_members WHERE zone_id = "
        ));
        sql.bind(zone.as_str())
            .push(" AND organization_user_id = ")
            .bind(user.as_str());
        let row = sql.query().fetch_optional(self.db.pool()).await.store()?;
        row.as_ref().map(zone_member).transpose().store()
    }

    async fn list_zone_members(
        &self,
        zone: &ZoneId,
        page: &PageRequest,
    ) -> Result<Page<ZoneMember>, StoreError> {
        let filter = Filter::default().eq("zone_id", zone.as_str());
        list_page(self.db.pool(), &ZONE_SPEC, &filter, page, zone_member).await
    }

    async fn set_zone_role(
        &self,
        zone: &ZoneId,
        user: &UserId,
        role: ZoneRole,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let mut sql = Sql::new("UPDATE zone_members SET role = ");
        sql.bind(role.as_str())
            .push(", updated_at = ")
            .bind(now.millis());
        sql.push(" WHERE zone_id = ").bind(zone.as_str());
        sql.push(" AND organization_user_id = ").bind(user.as_str());
        touched(self.db.pool(), &sql).await
    }

    async fn remove_zone_member(&self, zone: &ZoneId, user: &UserId) -> Result<bool, StoreError> {
        let mut sql = Sql::new("DELETE FROM zone_members WHERE zone_id = ");
        sql.bind(zone.as_str())
            .push(" AND organization_user_id = ")
            .bind(user.as_str());
        touched(self.db.pool(), &sql).await
    }

    async fn zone_roles(
        &self,
        org: &OrganizationId,
        user: &UserId,
    ) -> Result<Vec<(ZoneId, ZoneRole)>, StoreError> {
        let mut sql = Sql::new("SELECT zone_id, role FROM zone_members WHERE organization_id = ");
        sql.bind(org.as_str())
            .push(" AND organization_user_id = ")
            .bind(user.as_str());
        let rows = sql.query().fetch_all(self.db.pool()).await.store()?;
        rows.iter()
            .map(|r| {
                let role: String = r.try_get("role")?;
                Ok((
                    ZoneId::new(r.try_get::<String, _>("zone_id")?),
                    ZoneRole::parse(&role).ok_or_else(|| bad_role(&role))?,
                ))
            })
            .collect::<Result<_, sqlx::Error>>()
            .store()
    }
}
