//! The scheduled jobs: key rotation and the purges, each taken by one instance at a time
//! through a lease in the database (`job_leases`), so several instances on one PostgreSQL
//! database run each turn once.

use crate::config::ServeConfig;
use crate::state::AppState;

/// Starts the jobs `config` asks for (key rotation unless disabled; the purges always).
pub fn start(state: &AppState, config: &ServeConfig) {
    if let Some(schedule) =
        RotationSchedule::of(config.key_rotation_days, config.key_rotation_period_secs)
    {
        spawn_key_rotation(state.clone(), schedule);
    }
    spawn_purge(
        state.clone(),
        Retention {
            decisions_days: config.decision_retention_days,
            audit_days: config.audit_retention_days,
        },
    );
}

/// Whether this instance takes `job`'s turn now: true for one instance at a time across every
/// instance on the database, for `seconds` (a little less than the job's period). Turns taken
/// are counted in `latchkey_scheduled_job_turns_total`.
async fn my_turn(state: &AppState, job: &'static str, seconds: i64) -> bool {
    let now = latchkey_domain::Timestamp::now();
    let holder = state.changes.instance();
    match state
        .store
        .take_lease(job, holder, now.plus_seconds(seconds), now)
        .await
    {
        Ok(mine) => {
            if mine {
                ::metrics::counter!("latchkey_scheduled_job_turns_total", "job" => job)
                    .increment(1);
            }
            mine
        }
        Err(e) => {
            tracing::warn!(error = %e, job, "job lease unavailable; skipping this turn");
            false
        }
    }
}

/// When zone keys rotate: a current key older than `period` seconds is replaced; the check runs
/// every `tick` seconds, each turn leased for five sixths of a tick, rounded up (the holder may
/// take its next turn at once; the others wait out the lease).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct RotationSchedule {
    period: i64,
    tick: i64,
    lease: i64,
}

impl RotationSchedule {
    /// The schedule for `--key-rotation-days` (0: none) or the test setting in seconds.
    fn of(days: u32, period_secs: Option<i64>) -> Option<Self> {
        let period = match period_secs {
            Some(seconds) => seconds,
            None if days > 0 => i64::from(days) * 86_400,
            None => return None,
        };
        // (once a minute; a quarter of a short test period, at least every 2 s)
        let tick = (period / 4).clamp(2, 60);
        Some(Self {
            period,
            tick,
            lease: (tick * 5 + 5) / 6,
        })
    }
}

/// Rotates due zone keys on `schedule`, on one instance at a time.
fn spawn_key_rotation(state: AppState, schedule: RotationSchedule) {
    tokio::spawn(async move {
        let every = std::time::Duration::from_secs(schedule.tick.unsigned_abs());
        let mut tick = tokio::time::interval(every);
        loop {
            tick.tick().await;
            if !my_turn(&state, "key_rotation", schedule.lease).await {
                continue;
            }
            match state.keys.rotate_due(schedule.period).await {
                Ok(rotated) => crate::service::policy_attest::resign_zones(&state, &rotated).await,
                Err(e) => tracing::warn!(error = %e, "automatic key rotation failed"),
            }
        }
    });
}

/// How long the logs are kept, in days (0 keeps them forever).
#[derive(Debug, Clone, Copy)]
struct Retention {
    decisions_days: u32,
    audit_days: u32,
}

/// The time before which a log kept `days` days is purged, unless it is kept forever.
fn purge_before(days: u32) -> Option<latchkey_domain::Timestamp> {
    (days > 0).then(|| latchkey_domain::Timestamp::now().plus_seconds(-i64::from(days) * 86_400))
}

/// Deletes expired pending authorization requests, codes, upstream states and refresh tokens
/// every ten minutes, so abandoned browser flows never accumulate, decisions and audit events
/// past their retention, and idle throttle counters; on one instance at a time.
fn spawn_purge(state: AppState, retention: Retention) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(600));
        loop {
            tick.tick().await;
            if !my_turn(&state, "purge", 540).await {
                continue;
            }
            let idle =
                latchkey_domain::Timestamp::now().plus_seconds(-latchkey_oauth::throttle::IDLE_S);
            if let Err(e) = state.store.purge_throttles(idle).await {
                tracing::warn!(error = %e, "purging idle throttle counters failed");
            }
            if let Some(before) = purge_before(retention.decisions_days)
                && let Err(e) = state.store.purge_decisions(before).await
            {
                tracing::warn!(error = %e, "purging old policy decisions failed");
            }
            if let Some(before) = purge_before(retention.audit_days)
                && let Err(e) = state.store.purge_audit_events(before).await
            {
                tracing::warn!(error = %e, "purging old audit events failed");
            }
            match state
                .store
                .purge_expired(latchkey_domain::Timestamp::now())
                .await
            {
                Ok(n) if n > 0 => {
                    tracing::debug!(purged = n, "expired browser-flow records purged")
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "purging expired records failed"),
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::RotationSchedule;

    #[test]
    fn rotation_is_checked_every_minute_or_quarter_of_a_short_period() {
        let days = RotationSchedule::of(90, None);
        assert_eq!(
            days,
            Some(RotationSchedule {
                period: 90 * 86_400,
                tick: 60,
                lease: 50
            })
        );
        assert_eq!(RotationSchedule::of(0, None), None);
        let short = RotationSchedule::of(0, Some(6));
        assert_eq!(
            short,
            Some(RotationSchedule {
                period: 6,
                tick: 2,
                lease: 2
            })
        );
        // (the test setting wins over the days)
        assert_eq!(RotationSchedule::of(90, Some(40)).map(|s| s.tick), Some(10));
    }
}
