//! The device authorization grant's records (RFC 8628).

use async_trait::async_trait;

use crate::error::StoreResult;
use crate::id::ZoneId;
use crate::model::device::{DeviceAuthorization, DeviceDecision};
use crate::time::Timestamp;

/// Pending device authorizations, by device code (the device's side) and by user code (the
/// person's side). Every method is zone-scoped; every state change is one conditional statement.
#[async_trait]
pub trait DeviceStore: Send + Sync {
    /// Stores a new authorization; `Conflict` when its user code is already taken in the zone.
    async fn insert_device_authorization(
        &self,
        zone: &ZoneId,
        record: &DeviceAuthorization,
    ) -> StoreResult<()>;
    /// The authorization whose user code hashes to `user_code_hash`, whatever its state.
    async fn find_device_by_user_code(
        &self,
        zone: &ZoneId,
        user_code_hash: &str,
    ) -> StoreResult<Option<DeviceAuthorization>>;
    /// Records the person's decision on a pending, unexpired authorization; false when it was
    /// not pending any more (or expired) and nothing changed.
    async fn decide_device(
        &self,
        zone: &ZoneId,
        user_code_hash: &str,
        decision: &DeviceDecision,
        now: Timestamp,
    ) -> StoreResult<bool>;
    /// A poll by `client_id`: answers the authorization as it was before this poll (so the caller
    /// sees the previous poll time) and, when it belongs to that client, records `now` as its
    /// last poll time, in one transaction.
    async fn poll_device(
        &self,
        zone: &ZoneId,
        device_code_hash: &str,
        client_id: &str,
        now: Timestamp,
    ) -> StoreResult<Option<DeviceAuthorization>>;
    /// Sets the polling interval (after a `slow_down`).
    async fn set_device_interval(
        &self,
        zone: &ZoneId,
        device_code_hash: &str,
        interval_seconds: i64,
    ) -> StoreResult<()>;
    /// Spends an approved authorization: true for exactly one caller (a conditional update), false
    /// when it was not approved any more.
    async fn consume_device(&self, zone: &ZoneId, device_code_hash: &str) -> StoreResult<bool>;
}
