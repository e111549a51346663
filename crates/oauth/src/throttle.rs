//! Brute-force throttling of password sign-in, per account and per source address, with
//! exponential back-off; a per-address budget of misses for guessable lookups (invitation
//! tokens); and the per-address rate of dynamic client registrations. A locked account or address is refused before any password work, so an attack on one
//! account costs the server nothing and leaves every other account usable.
//!
//! The counters live in this process (several instances each keep their own; sharing them is
//! the scale-out issue's business).

use std::net::IpAddr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Wrong passwords an account may see before it is locked.
pub const ACCOUNT_FREE_FAILURES: u32 = 5;
/// Failed sign-ins a source address may make before it is locked.
pub const ADDRESS_FREE_FAILURES: u32 = 20;
/// Invitation-token misses an address may make per minute.
pub const LOOKUP_MISSES_PER_MINUTE: u32 = 10;
/// The first lock; each further failure doubles it, up to [`MAX_LOCK`].
const FIRST_LOCK: Duration = Duration::from_secs(30);
const MAX_LOCK: Duration = Duration::from_secs(15 * 60);
/// Counters of accounts and addresses that stay quiet this long are forgotten.
const IDLE: Duration = Duration::from_secs(3600);
/// Address failures older than this no longer count.
const ADDRESS_WINDOW: Duration = Duration::from_secs(60);

#[derive(Debug, Default)]
struct Record {
    failures: u32,
    since: Option<Instant>,
    locked_until: Option<Instant>,
}

impl Record {
    fn retry_after(&self, now: Instant) -> Option<u64> {
        self.locked_until
            .filter(|t| *t > now)
            .map(|t| (t - now).as_secs().max(1))
    }

    /// Counts a failure; past `free` failures, locks for a doubling period.
    fn fail(&mut self, now: Instant, free: u32, window: Option<Duration>) {
        if let (Some(w), Some(since)) = (window, self.since)
            && now.duration_since(since) > w
            && self.retry_after(now).is_none()
        {
            self.failures = 0;
        }
        if self.failures == 0 {
            self.since = Some(now);
        }
        self.failures += 1;
        if self.failures >= free {
            let doublings = (self.failures - free).min(10);
            let lock = FIRST_LOCK.saturating_mul(1 << doublings).min(MAX_LOCK);
            self.locked_until = Some(now + lock);
        }
    }
}

type Counters<K> = moka::sync::Cache<K, Arc<Mutex<Record>>>;

fn counters<K: std::hash::Hash + Eq + Send + Sync + 'static>(idle: Duration) -> Counters<K> {
    moka::sync::Cache::builder()
        .max_capacity(200_000)
        .time_to_idle(idle)
        .build()
}

/// The sign-in throttle of every zone.
#[derive(Clone)]
pub struct Throttle {
    accounts: Counters<(String, String)>,
    addresses: Counters<IpAddr>,
    misses: Counters<IpAddr>,
}

impl Default for Throttle {
    fn default() -> Self {
        Self {
            accounts: counters(IDLE),
            addresses: counters(IDLE),
            misses: counters(ADDRESS_WINDOW),
        }
    }
}

fn locked<K: std::hash::Hash + Eq + Send + Sync + 'static>(c: &Counters<K>, k: &K) -> Option<u64> {
    let now = Instant::now();
    c.get(k)
        .and_then(|r| r.lock().ok().and_then(|r| r.retry_after(now)))
}

impl Throttle {
    /// Seconds to wait when `account` of `zone` or `ip` is locked.
    pub fn sign_in_locked(&self, zone: &str, account: &str, ip: IpAddr) -> Option<u64> {
        let key = (zone.to_owned(), account.to_owned());
        match (locked(&self.accounts, &key), locked(&self.addresses, &ip)) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        }
    }

    /// A wrong password (or unknown account) for `account` from `ip`.
    pub fn sign_in_failed(&self, zone: &str, account: &str, ip: IpAddr) {
        let now = Instant::now();
        let key = (zone.to_owned(), account.to_owned());
        let rec = self.accounts.get_with(key, Arc::default);
        if let Ok(mut r) = rec.lock() {
            r.fail(now, ACCOUNT_FREE_FAILURES, None);
        }
        let rec = self.addresses.get_with(ip, Arc::default);
        if let Ok(mut r) = rec.lock() {
            r.fail(now, ADDRESS_FREE_FAILURES, Some(ADDRESS_WINDOW));
        }
    }

    /// A correct password clears the account's count (not the address's).
    pub fn sign_in_succeeded(&self, zone: &str, account: &str) {
        self.accounts
            .invalidate(&(zone.to_owned(), account.to_owned()));
    }

    /// Seconds to wait when `ip` spent its budget of lookup misses this minute.
    pub fn lookups_locked(&self, ip: IpAddr) -> Option<u64> {
        let n = self
            .misses
            .get(&ip)
            .and_then(|r| r.lock().ok().map(|r| r.failures))
            .unwrap_or(0);
        (n >= LOOKUP_MISSES_PER_MINUTE).then_some(ADDRESS_WINDOW.as_secs())
    }

    /// A lookup from `ip` that found nothing.
    pub fn lookup_missed(&self, ip: IpAddr) {
        let rec = self.misses.get_with(ip, Arc::default);
        if let Ok(mut r) = rec.lock() {
            r.failures += 1;
        }
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

    const A: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 1));
    const B: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 2));

    #[test]
    fn an_account_locks_after_five_failures_and_others_stay_open() {
        let t = Throttle::default();
        for _ in 0..ACCOUNT_FREE_FAILURES - 1 {
            t.sign_in_failed("z", "victim", A);
            assert_eq!(t.sign_in_locked("z", "victim", B), None);
        }
        t.sign_in_failed("z", "victim", A);
        let wait = t.sign_in_locked("z", "victim", B).unwrap();
        assert!((1..=30).contains(&wait), "{wait}");
        assert_eq!(t.sign_in_locked("z", "other", B), None, "another account");
        assert_eq!(t.sign_in_locked("z2", "victim", B), None, "another zone");
    }

    #[test]
    fn an_address_locks_after_twenty_failures_over_any_accounts() {
        let t = Throttle::default();
        for i in 0..ADDRESS_FREE_FAILURES {
            assert_eq!(t.sign_in_locked("z", "fresh", A), None, "attempt {i}");
            t.sign_in_failed("z", &format!("user{i}"), A);
        }
        assert!(t.sign_in_locked("z", "fresh", A).is_some());
        assert_eq!(t.sign_in_locked("z", "fresh", B), None);
    }

    #[test]
    fn back_off_doubles_and_is_capped() {
        let mut r = Record::default();
        let now = Instant::now();
        for _ in 0..ACCOUNT_FREE_FAILURES {
            r.fail(now, ACCOUNT_FREE_FAILURES, None);
        }
        assert_eq!(r.retry_after(now), Some(30));
        r.fail(now, ACCOUNT_FREE_FAILURES, None);
        assert_eq!(r.retry_after(now), Some(60));
        for _ in 0..40 {
            r.fail(now, ACCOUNT_FREE_FAILURES, None);
        }
        assert_eq!(r.retry_after(now), Some(MAX_LOCK.as_secs()));
    }

    #[test]
    fn success_clears_the_account() {
        let t = Throttle::default();
        for _ in 0..ACCOUNT_FREE_FAILURES - 1 {
            t.sign_in_failed("z", "u", A);
        }
        t.sign_in_succeeded("z", "u");
        t.sign_in_failed("z", "u", A);
        assert_eq!(t.sign_in_locked("z", "u", B), None);
    }

    #[test]
    fn lookup_misses_are_budgeted_per_address() {
        let t = Throttle::default();
        for _ in 0..LOOKUP_MISSES_PER_MINUTE {
            assert_eq!(t.lookups_locked(A), None);
            t.lookup_missed(A);
        }
        assert!(t.lookups_locked(A).is_some());
        assert_eq!(t.lookups_locked(B), None);
    }
}
