//! Brute-force throttling of password sign-in, per account and per source address, with
//! exponential back-off; a per-address budget of misses for guessable lookups (invitation
//! tokens, device user codes); and the per-address rate of dynamic client registrations. A
//! locked account or address is refused before any password work, so an attack on one account
//! costs the server nothing and leaves every other account usable.
//!
//! The sign-in and lookup counters live in the database (`ClusterStore::throttle_*`), so every
//! instance on one database counts into the same budget: an attacker gains nothing by spreading
//! guesses over instances. The registration rate is per instance (abuse control, not a secret's
//! guessing budget): N instances allow N times the rate.

use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use latchkey_domain::Timestamp;
use latchkey_domain::store::{Store, ThrottleRecord};

/// Wrong passwords an account may see before it is locked.
pub const ACCOUNT_FREE_FAILURES: u32 = 5;
/// Failed sign-ins a source address may make before it is locked.
pub const ADDRESS_FREE_FAILURES: u32 = 20;
/// Invitation-token misses an address may make per minute.
pub const LOOKUP_MISSES_PER_MINUTE: u32 = 10;
/// The first lock; each further failure doubles it, up to [`MAX_LOCK_S`].
const FIRST_LOCK_S: i64 = 30;
const MAX_LOCK_S: i64 = 15 * 60;
/// Counters that stay quiet this long are forgotten (by the purge job).
pub const IDLE_S: i64 = 3600;
/// Address failures and lookup misses older than this no longer count.
const WINDOW_S: i64 = 60;

/// How a counter fails and locks.
#[derive(Debug, Clone, Copy)]
struct Rule {
    scope: &'static str,
    free: u32,
    /// Failures older than this (and no lock running) start the count again.
    window_s: Option<i64>,
    /// Each failure past `free` doubles the lock; otherwise every lock lasts one window.
    doubling: bool,
}

const ACCOUNT: Rule = Rule {
    scope: "sign_in_account",
    free: ACCOUNT_FREE_FAILURES,
    window_s: None,
    doubling: true,
};
const ADDRESS: Rule = Rule {
    scope: "sign_in_address",
    free: ADDRESS_FREE_FAILURES,
    window_s: Some(WINDOW_S),
    doubling: true,
};
const LOOKUP: Rule = Rule {
    scope: "lookup_address",
    free: LOOKUP_MISSES_PER_MINUTE,
    window_s: Some(WINDOW_S),
    doubling: false,
};

/// Seconds left on `r`'s lock at `now`.
fn retry_after(r: &ThrottleRecord, now: Timestamp) -> Option<u64> {
    let until = r.locked_until.filter(|t| *t > now)?;
    let ms = until.millis() - now.millis();
    Some(u64::try_from((ms + 999) / 1000).unwrap_or(1).max(1))
}

/// Counts a failure at `now`; past `free` failures, locks.
fn fail(rule: Rule, current: Option<ThrottleRecord>, now: Timestamp) -> ThrottleRecord {
    let mut r = current.unwrap_or_default();
    if let (Some(w), Some(since)) = (rule.window_s, r.since)
        && now.millis() - since.millis() > w * 1000
        && retry_after(&r, now).is_none()
    {
        r = ThrottleRecord::default();
    }
    if r.failures == 0 {
        r.since = Some(now);
    }
    r.failures = r.failures.saturating_add(1);
    if r.failures >= rule.free {
        let lock = if rule.doubling {
            let doublings = (r.failures - rule.free).min(10);
            (FIRST_LOCK_S << doublings).min(MAX_LOCK_S)
        } else {
            WINDOW_S
        };
        r.locked_until = Some(now.plus_seconds(lock));
    }
    r
}

/// The sign-in and lookup throttles of every zone, counted in the store.
#[derive(Clone)]
pub struct Throttle {
    store: Arc<dyn Store>,
}

fn account_key(zone: &str, account: &str) -> String {
    format!("{zone}\u{1f}{}", account.to_lowercase())
}

impl Throttle {
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self { store }
    }

    async fn locked(&self, rule: Rule, key: &str) -> Option<u64> {
        match self.store.throttle_get(rule.scope, key).await {
            Ok(r) => r.and_then(|r| retry_after(&r, Timestamp::now())),
            Err(e) => {
                // The sign-in or lookup that follows needs the database as well.
                tracing::warn!(error = %e, scope = rule.scope, "throttle unreadable");
                None
            }
        }
    }

    async fn failed(&self, rule: Rule, key: &str) {
        let now = Timestamp::now();
        let step = move |cur: Option<ThrottleRecord>| fail(rule, cur, now);
        if let Err(e) = self.store.throttle_update(rule.scope, key, &step).await {
            tracing::warn!(error = %e, scope = rule.scope, "throttle not counted");
        }
    }

    /// Seconds to wait when `account` of `zone` or `ip` is locked.
    pub async fn sign_in_locked(&self, zone: &str, account: &str, ip: IpAddr) -> Option<u64> {
        let a = self.locked(ACCOUNT, &account_key(zone, account)).await;
        let b = self.locked(ADDRESS, &ip.to_string()).await;
        let wait = match (a, b) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        if wait.is_some() {
            crate::metrics::sign_in("throttled");
        }
        wait
    }

    /// A wrong password (or unknown account) for `account` from `ip`.
    pub async fn sign_in_failed(&self, zone: &str, account: &str, ip: IpAddr) {
        crate::metrics::sign_in("failure");
        self.failed(ACCOUNT, &account_key(zone, account)).await;
        self.failed(ADDRESS, &ip.to_string()).await;
    }

    /// A correct password clears the account's count (not the address's).
    pub async fn sign_in_succeeded(&self, zone: &str, account: &str) {
        crate::metrics::sign_in("success");
        let key = account_key(zone, account);
        if let Err(e) = self.store.throttle_clear(ACCOUNT.scope, &key).await {
            tracing::warn!(error = %e, "throttle not cleared");
        }
    }

    /// Seconds to wait when `ip` spent its budget of lookup misses this minute.
    pub async fn lookups_locked(&self, ip: IpAddr) -> Option<u64> {
        self.locked(LOOKUP, &ip.to_string()).await
    }

    /// A lookup from `ip` that found nothing.
    pub async fn lookup_missed(&self, ip: IpAddr) {
        self.failed(LOOKUP, &ip.to_string()).await;
    }
}

/// Registrations allowed per source address per minute.
pub const REGISTRATIONS_PER_MINUTE: u32 = 30;

/// Counts dynamic client registrations per address in one-minute windows.
#[derive(Clone)]
pub struct RateLimiter {
    windows: moka::sync::Cache<IpAddr, Arc<AtomicU32>>,
}

impl Default for RateLimiter {
    fn default() -> Self {
        Self {
            windows: moka::sync::Cache::builder()
                .max_capacity(100_000)
                .time_to_live(Duration::from_secs(60))
                .build(),
        }
    }
}

impl RateLimiter {
    /// Counts one request from `ip`; false once the window's budget is spent.
    pub fn allow(&self, ip: IpAddr) -> bool {
        let counter = self.windows.get_with(ip, || Arc::new(AtomicU32::new(0)));
        counter.fetch_add(1, Ordering::Relaxed) < REGISTRATIONS_PER_MINUTE
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: i64) -> Timestamp {
        Timestamp::from_millis(1_000_000_000 + s * 1000)
    }

    fn run(rule: Rule, n: u32, now: Timestamp) -> ThrottleRecord {
        (0..n).fold(ThrottleRecord::default(), |r, _| fail(rule, Some(r), now))
    }

    #[test]
    fn an_account_locks_after_five_failures() {
        let r = run(ACCOUNT, ACCOUNT_FREE_FAILURES - 1, at(0));
        assert_eq!(retry_after(&r, at(0)), None);
        let r = fail(ACCOUNT, Some(r), at(0));
        assert_eq!(retry_after(&r, at(0)), Some(30));
        assert_eq!(retry_after(&r, at(31)), None, "the lock runs out");
    }

    #[test]
    fn back_off_doubles_and_is_capped() {
        let r = run(ACCOUNT, ACCOUNT_FREE_FAILURES + 1, at(0));
        assert_eq!(retry_after(&r, at(0)), Some(60));
        let r = run(ACCOUNT, ACCOUNT_FREE_FAILURES + 40, at(0));
        assert_eq!(retry_after(&r, at(0)), Some(MAX_LOCK_S as u64));
    }

    #[test]
    fn address_failures_outside_the_window_start_again() {
        let r = run(ADDRESS, ADDRESS_FREE_FAILURES - 1, at(0));
        let r = fail(ADDRESS, Some(r), at(WINDOW_S + 1));
        assert_eq!(r.failures, 1);
        assert_eq!(retry_after(&r, at(WINDOW_S + 1)), None);
    }

    #[test]
    fn lookup_misses_lock_for_a_window_without_doubling() {
        let r = run(LOOKUP, LOOKUP_MISSES_PER_MINUTE + 5, at(0));
        assert_eq!(retry_after(&r, at(0)), Some(WINDOW_S as u64));
    }

    #[test]
    fn accounts_are_keyed_by_zone_and_case_insensitive_email() {
        assert_eq!(account_key("z", "A@x.io"), account_key("z", "a@x.io"));
        assert_ne!(account_key("z", "a@x.io"), account_key("z2", "a@x.io"));
    }
}
