//! The zone services' Prometheus metrics, through the `metrics` facade (the server installs the
//! exporter and calls [`enable`]; until then every function here returns at once, without
//! building its labels). Names and labels are listed in
//! `docs/operations.md`; labels are bounded (zone ids, grant types, fixed words), never a
//! client-supplied string.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

static ON: AtomicBool = AtomicBool::new(false);

/// Turns recording on: an exporter is installed.
pub fn enable() {
    ON.store(true, Ordering::Relaxed);
}

fn off() -> bool {
    !ON.load(Ordering::Relaxed)
}

/// A lookup in the cache `cache`.
pub fn cache_lookup(cache: &'static str, hit: bool) {
    if off() {
        return;
    }
    let result = if hit { "hit" } else { "miss" };
    metrics::counter!("latchkey_cache_requests_total", "cache" => cache, "result" => result)
        .increment(1);
}

/// A zone's caches were invalidated by a change made here (`local`) or on another instance.
pub fn invalidation(local: bool) {
    if off() {
        return;
    }
    let origin = if local { "local" } else { "remote" };
    metrics::counter!("latchkey_invalidations_total", "origin" => origin).increment(1);
}

/// Every cache was invalidated (the change feed was lost or re-established).
pub fn resync() {
    if off() {
        return;
    }
    metrics::counter!("latchkey_invalidation_resyncs_total").increment(1);
}

/// A password sign-in: `success`, `failure` or `throttled`.
pub fn sign_in(result: &'static str) {
    if off() {
        return;
    }
    metrics::counter!("latchkey_sign_in_attempts_total", "result" => result).increment(1);
}

/// A token issued at the token endpoint of `zone` for `grant_type`.
pub fn token_issued(zone: &str, grant_type: &'static str) {
    if off() {
        return;
    }
    metrics::counter!("latchkey_tokens_issued_total", "zone" => zone.to_owned(), "grant_type" => grant_type)
        .increment(1);
}

/// A token request of `zone` refused with the OAuth `error` code.
pub fn token_denied(zone: &str, grant_type: &'static str, error: &'static str) {
    if off() {
        return;
    }
    metrics::counter!("latchkey_tokens_denied_total", "zone" => zone.to_owned(), "grant_type" => grant_type, "error" => error)
        .increment(1);
}

/// A Cedar decision on an issuance in `zone`.
pub fn policy_decision(zone: &str, allowed: bool) {
    if off() {
        return;
    }
    let decision = if allowed { "allow" } else { "deny" };
    metrics::counter!("latchkey_policy_decisions_total", "zone" => zone.to_owned(), "decision" => decision)
        .increment(1);
}

/// Password hashes waiting for a worker (`delta` +1 when one queues, -1 when it starts).
pub fn password_hash_waiting(delta: f64) {
    if off() {
        return;
    }
    metrics::gauge!("latchkey_password_hash_waiting").increment(delta);
}

/// How long one password hash took on its worker.
pub fn password_hash_took(took: Duration) {
    if off() {
        return;
    }
    metrics::histogram!("latchkey_password_hash_duration_seconds").record(took.as_secs_f64());
}
