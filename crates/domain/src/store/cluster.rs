//! What several instances on one database share beyond the data itself: change notices (so
//! each instance's caches follow the others' writes), leases that make a scheduled job run on
//! one instance at a time, and the security throttles (a brute-force budget must not be
//! multiplied by the number of instances).

use async_trait::async_trait;

use crate::error::StoreResult;
use crate::id::ZoneId;
use crate::time::Timestamp;

/// One subscription to the change notices of every instance.
#[async_trait]
pub trait ChangeFeed: Send {
    /// The next notice; `Ok(None)` when the subscription was re-established after a lost
    /// connection, so notices may have been missed (the caller resynchronises).
    async fn next(&mut self) -> StoreResult<Option<String>>;
}

/// A throttle counter: failures counted since `since`, and the lock they earned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ThrottleRecord {
    pub failures: u32,
    pub since: Option<Timestamp>,
    pub locked_until: Option<Timestamp>,
}

/// The next record from the current one (`None`: no record yet).
pub type ThrottleStep = dyn Fn(Option<ThrottleRecord>) -> ThrottleRecord + Send + Sync;

/// The connection pool's use, for metrics.
#[derive(Debug, Clone, Copy, Default)]
pub struct PoolStats {
    /// Open connections.
    pub size: u32,
    /// Open connections not in use.
    pub idle: u32,
    pub max: u32,
}

#[async_trait]
pub trait ClusterStore: Send + Sync {
    /// The connection pool's use now.
    fn pool_stats(&self) -> PoolStats;
    /// Whether other instances can share this database (PostgreSQL) and notices flow.
    fn has_change_feed(&self) -> bool;
    /// Tells every instance following the feed (at most 8,000 bytes).
    async fn publish_change(&self, notice: &str) -> StoreResult<()>;
    /// A subscription to the notices (`None` without a feed).
    async fn change_feed(&self) -> StoreResult<Option<Box<dyn ChangeFeed>>>;
    /// The zones whose cached rows changed in the last `within_ms` milliseconds of the
    /// database's clock, each with its last change's mark (it differs from one change to the
    /// next). Triggers keep them, whoever wrote.
    async fn recent_zone_changes(&self, within_ms: i64) -> StoreResult<Vec<(ZoneId, i64)>>;

    /// Takes the lease on `job` for `holder` until `until` when it is free or expired at `now`
    /// (or already `holder`'s); false when another holder has it.
    async fn take_lease(
        &self,
        job: &str,
        holder: &str,
        until: Timestamp,
        now: Timestamp,
    ) -> StoreResult<bool>;

    /// The counter `key` of `scope` (e.g. `account`, `address`).
    async fn throttle_get(&self, scope: &str, key: &str) -> StoreResult<Option<ThrottleRecord>>;
    /// Replaces the counter with `step(current)`, atomically across instances.
    async fn throttle_update(
        &self,
        scope: &str,
        key: &str,
        step: &ThrottleStep,
    ) -> StoreResult<ThrottleRecord>;
    async fn throttle_clear(&self, scope: &str, key: &str) -> StoreResult<()>;
    /// Forgets counters that neither lock nor changed since `before`.
    async fn purge_throttles(&self, before: Timestamp) -> StoreResult<u64>;
}
