//! Background tasks that run a step on a fixed period for the life of the process (the
//! audit and decision-log writers, the policy recheck, the change poll): started at most once
//! each, a late tick delays the next rather than being caught up.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// Runs `step` every `period` on a task of its own, unless `started` was already set (then
/// nothing happens: a second start is a no-op).
pub fn every<F, Fut>(started: &AtomicBool, period: Duration, mut step: F)
where
    F: FnMut() -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send,
{
    if started.swap(true, Ordering::SeqCst) {
        return;
    }
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(period);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            step().await;
        }
    });
}
