//! Organization invitations; the token is kept only as its keyed hash.

use async_trait::async_trait;
use latchkey_domain::id::OrganizationId;
use latchkey_domain::model::organization::Invitation;
use latchkey_domain::store::InvitationStore;
use latchkey_domain::{Page, PageRequest, StoreError, Timestamp};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::SqlStore;
use crate::error::OrStore;
use crate::sql::{BY_CREATED, Filter, Sql, TableSpec, insert_row, list_page, touched, ts};

const COLUMNS: &str = "organization_id, id, email, role, status, token_hash, created_by, expires_at, created_at, updated_at";
const SPEC: TableSpec = TableSpec {
    table: "invitations",
    columns: COLUMNS,
    sortable: BY_CREATED,
    fields: &[],
};

fn from_row(row: &AnyRow) -> Result<Invitation, sqlx::Error> {
    Ok(Invitation {
        organization_id: OrganizationId::new(row.try_get::<String, _>("organization_id")?),
        id: row.try_get("id")?,
        email: row.try_get("email")?,
        role: row.try_get("role")?,
        status: row.try_get("status")?,
        token_hash: row.try_get("token_hash")?,
        created_by: row.try_get("created_by")?,
        expires_at: ts(row, "expires_at")?,
        created_at: ts(row, "created_at")?,
        updated_at: ts(row, "updated_at")?,
    })
}

impl SqlStore {
    async fn one_invitation(
        &self,
        filter: Filter,
        order: &str,
    ) -> Result<Option<Invitation>, StoreError> {
        let mut sql = Sql::new(format!("SELECT {COLUMNS} FROM invitations"));
        filter.write(&mut sql, None);
        sql.push(order).push(" LIMIT 1");
        let row = sql.query().fetch_optional(self.db.pool()).await.store()?;
        row.as_ref().map(from_row).transpose().store()
    }
}

#[async_trait]
impl InvitationStore for SqlStore {
    async fn create_invitation(&self, i: &Invitation) -> Result<(), StoreError> {
        let row = vec![
            ("organization_id", i.organization_id.as_str().into()),
            ("id", (&i.id).into()),
            ("email", (&i.email).into()),
            ("role", (&i.role).into()),
            ("status", (&i.status).into()),
            ("token_hash", (&i.token_hash).into()),
            ("created_by", (&i.created_by).into()),
            ("expires_at", i.expires_at.millis().into()),
            ("created_at", i.created_at.millis().into()),
            ("updated_at", i.updated_at.millis().into()),
        ];
        insert_row("invitations", row)
            .query()
            .execute(self.db.pool())
            .await
            .store()?;
        Ok(())
    }

    async fn list_invitations(
        &self,
        org: &OrganizationId,
        page: &PageRequest,
    ) -> Result<Page<Invitation>, StoreError> {
        list_page(
            self.db.pool(),
            &SPEC,
            &Filter::default().eq("organization_id", org.as_str()),
            page,
            from_row,
        )
        .await
    }

    async fn get_invitation(
        &self,
        org: &OrganizationId,
        id: &str,
    ) -> Result<Option<Invitation>, StoreError> {
        self.one_invitation(
            Filter::default()
                .eq("organization_id", org.as_str())
                .eq("id", id),
            "",
        )
        .await
    }

    async fn find_invitation_by_token(
        &self,
        token_hash: &str,
    ) -> Result<Option<Invitation>, StoreError> {
        self.one_invitation(Filter::default().eq("token_hash", token_hash), "")
            .await
    }

    async fn set_invitation_status(
        &self,
        org: &OrganizationId,
        id: &str,
        status: &str,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let mut sql = Sql::new("UPDATE invitations SET status = ");
        sql.bind(status).push(", updated_at = ").bind(now.millis());
        sql.push(" WHERE organization_id = ")
            .bind(org.as_str())
            .push(" AND id = ")
            .bind(id)
            .push(" AND status = 'pending'");
        touched(self.db.pool(), &sql).await
    }

    async fn pending_invitation_for(
        &self,
        org: &OrganizationId,
        email: &str,
        now: Timestamp,
    ) -> Result<Option<Invitation>, StoreError> {
        let f = Filter::default()
            .eq("organization_id", org.as_str())
            .eq("email", email)
            .eq("status", "pending")
            .raw("expires_at > ?", vec![now.millis().into()]);
        self.one_invitation(f, " ORDER BY created_at DESC").await
    }
}
