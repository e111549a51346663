//! The browser flows' records: pending authorization requests, single-use codes, refresh tokens
//! rotated by family with reuse detection, web sessions by cookie hash, consents, and upstream
//! redirect state. Every multi-step change is one transaction.

use async_trait::async_trait;
use latchkey_domain::id::{UserId, ZoneId};
use latchkey_domain::model::identity::{Grant, Session};
use latchkey_domain::model::login::{CodeUse, ConsentRecord, GrantData, RefreshRecord, RefreshUse};
use latchkey_domain::store::{IdentityStore, LoginStore};
use latchkey_domain::{StoreError, Timestamp};
use sqlx::Row;

use crate::SqlStore;
use crate::auth_requests;
use crate::error::OrStore;
use crate::sql::{Arg, insert_row};

use crate::grant_rows::{grant_json, grant_of, s};

#[async_trait]
impl LoginStore for SqlStore {
    async fn put_auth_request(
        &self,
        zone: &ZoneId,
        id: &str,
        params: &str,
        csrf: &str,
        expires_at: Timestamp,
    ) -> Result<(), StoreError> {
        auth_requests::put(self, zone, id, params, csrf, expires_at).await
    }

    async fn get_auth_request(
        &self,
        zone: &ZoneId,
        id: &str,
        now: Timestamp,
    ) -> Result<Option<(String, String)>, StoreError> {
        auth_requests::get(self, zone, id, now).await
    }

    async fn delete_auth_request(&self, zone: &ZoneId, id: &str) -> Result<(), StoreError> {
        auth_requests::delete(self, zone, id).await
    }

    async fn take_auth_request(
        &self,
        zone: &ZoneId,
        id: &str,
        now: Timestamp,
    ) -> Result<Option<(String, String)>, StoreError> {
        auth_requests::take(self, zone, id, now).await
    }

    async fn put_code(
        &self,
        zone: &ZoneId,
        code_hash: &str,
        grant: &GrantData,
        expires_at: Timestamp,
    ) -> Result<(), StoreError> {
        let now = Timestamp::now().millis();
        let row = vec![
            ("zone_id", zone.as_str().into()),
            ("code_hash", code_hash.into()),
            ("grant_data", grant_json(grant)?.into()),
            ("expires_at", expires_at.millis().into()),
            ("created_at", now.into()),
        ];
        insert_row("authorization_codes", row)
            .query()
            .execute(self.db.pool())
            .await
            .store()?;
        Ok(())
    }

    async fn use_code(
        &self,
        zone: &ZoneId,
        code_hash: &str,
        now: Timestamp,
    ) -> Result<CodeUse, StoreError> {
        let mut w = self.db.write().await?;
        let row = sqlx::query("SELECT grant_data, expires_at, used_at FROM authorization_codes WHERE zone_id = $1 AND code_hash = $2")
            .bind(s(zone.as_str()))
            .bind(s(code_hash))
            .fetch_optional(&mut *w.tx)
            .await
            .store()?;
        let Some(row) = row else {
            return Ok(CodeUse::Invalid);
        };
        let grant = grant_of(row.try_get::<&str, _>("grant_data").store()?)?;
        if row.try_get::<Option<i64>, _>("used_at").store()?.is_some() {
            return Ok(CodeUse::Replayed(grant));
        }
        if row.try_get::<i64, _>("expires_at").store()? <= now.millis() {
            return Ok(CodeUse::Invalid);
        }
        let done = sqlx::query("UPDATE authorization_codes SET used_at = $3 WHERE zone_id = $1 AND code_hash = $2 AND used_at IS NULL")
            .bind(s(zone.as_str()))
            .bind(s(code_hash))
            .bind(now.millis())
            .execute(&mut *w.tx)
            .await
            .store()?;
        w.commit().await?;
        Ok(if done.rows_affected() == 1 {
            CodeUse::Fresh(grant)
        } else {
            CodeUse::Replayed(grant)
        })
    }

    async fn insert_refresh(&self, zone: &ZoneId, r: &RefreshRecord) -> Result<(), StoreError> {
        crate::refresh::insert_refresh_row(self.db.pool(), zone, r).await
    }

    async fn rotate_refresh(
        &self,
        zone: &ZoneId,
        old_hash: &str,
        next_hash: &str,
        expires_at: Timestamp,
        now: Timestamp,
    ) -> Result<RefreshUse, StoreError> {
        crate::refresh::rotate_refresh(self, zone, old_hash, next_hash, expires_at, now).await
    }

    async fn peek_refresh(
        &self,
        zone: &ZoneId,
        token_hash: &str,
    ) -> Result<Option<GrantData>, StoreError> {
        crate::refresh::peek_refresh(self, zone, token_hash).await
    }

    async fn extend_session(
        &self,
        zone: &ZoneId,
        id: &str,
        expires_at: Timestamp,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE sessions SET expires_at = $3, updated_at = $4 \
             WHERE zone_id = $1 AND id = $2 AND status = 'active'",
        )
        .bind(s(zone.as_str()))
        .bind(s(id))
        .bind(expires_at.millis())
        .bind(now.millis())
        .execute(self.db.pool())
        .await
        .store()?;
        Ok(())
    }

    async fn purge_expired(&self, now: Timestamp) -> Result<u64, StoreError> {
        crate::purge::purge_expired(self.db.pool(), now).await
    }

    async fn revoke_refresh_family(
        &self,
        zone: &ZoneId,
        family_id: &str,
    ) -> Result<(), StoreError> {
        crate::refresh::revoke_family(self.db.pool(), zone, family_id).await
    }

    async fn revoke_refresh(
        &self,
        zone: &ZoneId,
        token_hash: &str,
        client_id: &str,
    ) -> Result<bool, StoreError> {
        crate::refresh::revoke_refresh(self, zone, token_hash, client_id).await
    }

    async fn revoke_refresh_for_session(
        &self,
        zone: &ZoneId,
        session_id: &str,
    ) -> Result<(), StoreError> {
        crate::refresh::revoke_refresh_for_session(self, zone, session_id).await
    }

    async fn insert_web_session(
        &self,
        session: &Session,
        secret_hash: &str,
    ) -> Result<(), StoreError> {
        self.insert_session(session).await?;
        sqlx::query("UPDATE sessions SET secret_hash = $3 WHERE zone_id = $1 AND id = $2")
            .bind(s(session.zone_id.as_str()))
            .bind(s(session.id.as_str()))
            .bind(s(secret_hash))
            .execute(self.db.pool())
            .await
            .store()?;
        Ok(())
    }

    async fn end_web_session(
        &self,
        zone: &ZoneId,
        id: &str,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let mut w = self.db.write().await?;
        let done = sqlx::query(
            "UPDATE sessions SET status = 'revoked', updated_at = $3 \
             WHERE zone_id = $1 AND id = $2 AND secret_hash IS NOT NULL AND status <> 'revoked'",
        )
        .bind(s(zone.as_str()))
        .bind(s(id))
        .bind(now.millis())
        .execute(&mut *w.tx)
        .await
        .store()?;
        w.commit().await?;
        Ok(done.rows_affected() > 0)
    }

    async fn find_web_session(
        &self,
        zone: &ZoneId,
        secret_hash: &str,
        now: Timestamp,
    ) -> Result<Option<Session>, StoreError> {
        let row = sqlx::query(
            "SELECT id FROM sessions WHERE zone_id = $1 AND secret_hash = $2 AND status = 'active' \
             AND (expires_at IS NULL OR expires_at > $3)",
        )
        .bind(s(zone.as_str()))
        .bind(s(secret_hash))
        .bind(now.millis())
        .fetch_optional(self.db.pool())
        .await
        .store()?;
        match row {
            Some(r) => {
                let id = latchkey_domain::id::SessionId::new(r.try_get::<String, _>("id").store()?);
                self.get_session(zone, &id).await
            }
            None => Ok(None),
        }
    }

    async fn get_consent(
        &self,
        zone: &ZoneId,
        user: &UserId,
        client_id: &str,
    ) -> Result<Option<ConsentRecord>, StoreError> {
        let row = sqlx::query(
            "SELECT scopes, resources FROM consents WHERE zone_id = $1 AND user_id = $2 AND client_id = $3",
        )
        .bind(s(zone.as_str()))
        .bind(s(user.as_str()))
        .bind(s(client_id))
        .fetch_optional(self.db.pool())
        .await
        .store()?;
        let Some(row) = row else {
            return Ok(None);
        };
        let list = |text: Option<String>| -> Result<Vec<String>, StoreError> {
            text.map(|t| serde_json::from_str(&t).map_err(|e| StoreError::Backend(e.to_string())))
                .transpose()
                .map(Option::unwrap_or_default)
        };
        Ok(Some(ConsentRecord {
            scopes: list(row.try_get("scopes").store()?)?,
            // Consents from before resources were recorded cover none.
            resources: list(row.try_get("resources").store()?)?,
        }))
    }

    async fn put_consent(
        &self,
        zone: &ZoneId,
        user: &UserId,
        client_id: &str,
        consent: &ConsentRecord,
    ) -> Result<(), StoreError> {
        let mut w = self.db.write().await?;
        sqlx::query("DELETE FROM consents WHERE zone_id = $1 AND user_id = $2 AND client_id = $3")
            .bind(s(zone.as_str()))
            .bind(s(user.as_str()))
            .bind(s(client_id))
            .execute(&mut *w.tx)
            .await
            .store()?;
        let json =
            |v: &[String]| serde_json::to_string(v).map_err(|e| StoreError::Backend(e.to_string()));
        let row = vec![
            ("zone_id", zone.as_str().into()),
            ("user_id", user.as_str().into()),
            ("client_id", client_id.into()),
            ("scopes", json(&consent.scopes)?.into()),
            ("resources", json(&consent.resources)?.into()),
            ("created_at", Timestamp::now().millis().into()),
        ];
        insert_row("consents", row)
            .query()
            .execute(&mut *w.tx)
            .await
            .store()?;
        w.commit().await
    }

    async fn put_upstream_state(
        &self,
        zone: &ZoneId,
        state_hash: &str,
        sealed: &[u8],
        expires_at: Timestamp,
    ) -> Result<(), StoreError> {
        let now = Timestamp::now().millis();
        let row = vec![
            ("zone_id", zone.as_str().into()),
            ("state_hash", state_hash.into()),
            ("data", Arg::Bytes(Some(sealed.to_vec()))),
            ("expires_at", expires_at.millis().into()),
            ("created_at", now.into()),
        ];
        insert_row("upstream_states", row)
            .query()
            .execute(self.db.pool())
            .await
            .store()?;
        Ok(())
    }

    async fn take_upstream_state(
        &self,
        zone: &ZoneId,
        state_hash: &str,
        now: Timestamp,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let mut w = self.db.write().await?;
        let row = sqlx::query(
            "SELECT data, expires_at FROM upstream_states WHERE zone_id = $1 AND state_hash = $2",
        )
        .bind(s(zone.as_str()))
        .bind(s(state_hash))
        .fetch_optional(&mut *w.tx)
        .await
        .store()?;
        sqlx::query("DELETE FROM upstream_states WHERE zone_id = $1 AND state_hash = $2")
            .bind(s(zone.as_str()))
            .bind(s(state_hash))
            .execute(&mut *w.tx)
            .await
            .store()?;
        w.commit().await?;
        match row {
            Some(r) if r.try_get::<i64, _>("expires_at").store()? > now.millis() => {
                Ok(Some(r.try_get("data").store()?))
            }
            _ => Ok(None),
        }
    }

    async fn touch_user(
        &self,
        zone: &ZoneId,
        user: &UserId,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE users SET authenticated_at = $3, updated_at = $3 WHERE zone_id = $1 AND id = $2")
            .bind(s(zone.as_str()))
            .bind(s(user.as_str()))
            .bind(at.millis())
            .execute(self.db.pool())
            .await
            .store()?;
        Ok(())
    }

    async fn update_grant_tokens(&self, g: &Grant) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE delegated_grants SET access_token = $3, refresh_token = $4, refresh_token_set = $5, expires_at = $6, \
             refreshed_at = $7, status = $8, scopes = $9, updated_at = $10 WHERE zone_id = $1 AND id = $2",
        )
        .bind(s(g.zone_id.as_str()))
        .bind(s(g.id.as_str()))
        .bind(g.access_token.clone())
        .bind(g.refresh_token.clone())
        .bind(i64::from(g.refresh_token_set))
        .bind(g.expires_at.millis())
        .bind(g.refreshed_at.map(Timestamp::millis))
        .bind(s(g.status.as_str()))
        .bind(serde_json::to_string(&g.scopes).unwrap_or_else(|_| "[]".into()))
        .bind(g.updated_at.millis())
        .execute(self.db.pool())
        .await
        .store()?;
        Ok(())
    }
}
