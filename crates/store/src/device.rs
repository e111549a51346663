//! The device authorization grant's rows (RFC 8628): insert, look-up by user code, the person's
//! decision and the single-use redemption as conditional updates (so two concurrent polls or
//! two browser tabs cannot both win), and each poll recorded in one transaction.

use async_trait::async_trait;
use latchkey_domain::id::ZoneId;
use latchkey_domain::model::device::{DeviceAuthorization, DeviceDecision, DeviceStatus};
use latchkey_domain::store::DeviceStore;
use latchkey_domain::{StoreError, Timestamp};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::SqlStore;
use crate::error::OrStore;
use crate::grant_rows::s;
use crate::sql::insert_row;

macro_rules! select {
    ($key:literal) => {
        concat!(
            "SELECT device_code_hash, user_code_hash, client_id, scope, resources, status, ",
            "user_id, session_id, expires_at, interval_seconds, last_poll_at, created_at ",
            "FROM device_authorizations WHERE zone_id = $1 AND ",
            $key,
            " = $2"
        )
    };
}

fn backend(e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(e.to_string())
}

fn record_of(row: &AnyRow) -> Result<DeviceAuthorization, StoreError> {
    let resources: String = row.try_get("resources").store()?;
    let status: String = row.try_get("status").store()?;
    Ok(DeviceAuthorization {
        device_code_hash: row.try_get("device_code_hash").store()?,
        user_code_hash: row.try_get("user_code_hash").store()?,
        client_id: row.try_get("client_id").store()?,
        scope: row.try_get("scope").store()?,
        resources: serde_json::from_str(&resources).map_err(backend)?,
        status: DeviceStatus::parse(&status)
            .ok_or_else(|| backend(format!("unknown device status `{status}`")))?,
        user_id: row.try_get("user_id").store()?,
        session_id: row.try_get("session_id").store()?,
        expires_at: Timestamp::from_millis(row.try_get("expires_at").store()?),
        interval_seconds: row.try_get("interval_seconds").store()?,
        last_poll_at: row
            .try_get::<Option<i64>, _>("last_poll_at")
            .store()?
            .map(Timestamp::from_millis),
        created_at: Timestamp::from_millis(row.try_get("created_at").store()?),
    })
}

#[async_trait]
impl DeviceStore for SqlStore {
    async fn insert_device_authorization(
        &self,
        zone: &ZoneId,
        r: &DeviceAuthorization,
    ) -> Result<(), StoreError> {
        let row = vec![
            ("zone_id", zone.as_str().into()),
            ("device_code_hash", r.device_code_hash.as_str().into()),
            ("user_code_hash", r.user_code_hash.as_str().into()),
            ("client_id", r.client_id.as_str().into()),
            ("scope", r.scope.clone().into()),
            (
                "resources",
                serde_json::to_string(&r.resources).map_err(backend)?.into(),
            ),
            ("status", r.status.as_str().into()),
            ("user_id", r.user_id.clone().into()),
            ("session_id", r.session_id.clone().into()),
            ("expires_at", r.expires_at.millis().into()),
            ("interval_seconds", r.interval_seconds.into()),
            ("last_poll_at", r.last_poll_at.map(|t| t.millis()).into()),
            ("created_at", r.created_at.millis().into()),
        ];
        insert_row("device_authorizations", row)
            .query()
            .execute(self.db.pool())
            .await
            .store()?;
        Ok(())
    }

    async fn find_device_by_user_code(
        &self,
        zone: &ZoneId,
        user_code_hash: &str,
    ) -> Result<Option<DeviceAuthorization>, StoreError> {
        let row = sqlx::query(select!("user_code_hash"))
            .bind(s(zone.as_str()))
            .bind(s(user_code_hash))
            .fetch_optional(self.db.pool())
            .await
            .store()?;
        row.as_ref().map(record_of).transpose()
    }

    async fn decide_device(
        &self,
        zone: &ZoneId,
        user_code_hash: &str,
        decision: &DeviceDecision,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let (status, user, session) = match decision {
            DeviceDecision::Approve {
                user_id,
                session_id,
            } => (DeviceStatus::Approved, user_id, Some(session_id.clone())),
            DeviceDecision::Deny { user_id } => (DeviceStatus::Denied, user_id, None),
        };
        let done = sqlx::query(
            "UPDATE device_authorizations SET status = $3, user_id = $4, session_id = $5 \
             WHERE zone_id = $1 AND user_code_hash = $2 AND status = 'pending' AND expires_at > $6",
        )
        .bind(s(zone.as_str()))
        .bind(s(user_code_hash))
        .bind(s(status.as_str()))
        .bind(s(user))
        .bind(session)
        .bind(now.millis())
        .execute(self.db.pool())
        .await
        .store()?;
        Ok(done.rows_affected() == 1)
    }

    async fn poll_device(
        &self,
        zone: &ZoneId,
        device_code_hash: &str,
        client_id: &str,
        now: Timestamp,
    ) -> Result<Option<DeviceAuthorization>, StoreError> {
        let mut w = self.db.write().await?;
        let row = sqlx::query(select!("device_code_hash"))
            .bind(s(zone.as_str()))
            .bind(s(device_code_hash))
            .fetch_optional(&mut *w.tx)
            .await
            .store()?;
        let Some(row) = row else {
            return Ok(None);
        };
        let record = record_of(&row)?;
        sqlx::query(
            "UPDATE device_authorizations SET last_poll_at = $3 \
             WHERE zone_id = $1 AND device_code_hash = $2 AND client_id = $4",
        )
        .bind(s(zone.as_str()))
        .bind(s(device_code_hash))
        .bind(now.millis())
        .bind(s(client_id))
        .execute(&mut *w.tx)
        .await
        .store()?;
        w.commit().await?;
        Ok(Some(record))
    }

    async fn set_device_interval(
        &self,
        zone: &ZoneId,
        device_code_hash: &str,
        interval_seconds: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE device_authorizations SET interval_seconds = $3 \
             WHERE zone_id = $1 AND device_code_hash = $2",
        )
        .bind(s(zone.as_str()))
        .bind(s(device_code_hash))
        .bind(interval_seconds)
        .execute(self.db.pool())
        .await
        .store()?;
        Ok(())
    }

    async fn consume_device(
        &self,
        zone: &ZoneId,
        device_code_hash: &str,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE device_authorizations SET status = 'consumed' \
             WHERE zone_id = $1 AND device_code_hash = $2 AND status = 'approved'",
        )
        .bind(s(zone.as_str()))
        .bind(s(device_code_hash))
        .execute(self.db.pool())
        .await
        .store()?;
        Ok(done.rows_affected() == 1)
    }
}
