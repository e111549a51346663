//! The policy decision log's writer: issuance hands each decision to a bounded channel (never
//! waiting: when the writer falls behind, decisions are dropped and counted, not tokens delayed);
//! one background task writes them in batches and logs how many were dropped since the last one.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use latchkey_domain::model::policy::DecisionRecord;
use latchkey_domain::store::Store;
use tokio::sync::mpsc;

/// Decisions waiting to be written, at most.
const QUEUE: usize = 10_000;
/// Decisions per write, at most.
const BATCH: usize = 500;
/// How long a partial batch waits for more.
const LINGER: Duration = Duration::from_millis(200);

pub struct DecisionLog {
    tx: mpsc::Sender<DecisionRecord>,
    rx: std::sync::Mutex<Option<mpsc::Receiver<DecisionRecord>>>,
    dropped: Arc<AtomicU64>,
}

impl Default for DecisionLog {
    fn default() -> Self {
        let (tx, rx) = mpsc::channel(QUEUE);
        Self {
            tx,
            rx: std::sync::Mutex::new(Some(rx)),
            dropped: Arc::new(AtomicU64::new(0)),
        }
    }
}

impl DecisionLog {
    /// Queues a decision; never waits.
    pub fn record(&self, d: DecisionRecord) {
        if self.tx.try_send(d).is_err() {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Starts the writer (once; later calls do nothing).
    pub fn start(&self, store: Arc<dyn Store>) {
        let Some(mut rx) = self.rx.lock().ok().and_then(|mut r| r.take()) else {
            return;
        };
        let dropped = self.dropped.clone();
        tokio::spawn(async move {
            let mut batch = Vec::with_capacity(BATCH);
            while let Some(first) = rx.recv().await {
                batch.push(first);
                let deadline = tokio::time::Instant::now() + LINGER;
                while batch.len() < BATCH {
                    match tokio::time::timeout_at(deadline, rx.recv()).await {
                        Ok(Some(d)) => batch.push(d),
                        _ => break,
                    }
                }
                let lost = dropped.swap(0, Ordering::Relaxed);
                if lost > 0 {
                    tracing::warn!(lost, "policy decisions dropped: the log writer fell behind");
                }
                if let Err(e) = store.record_decisions(&batch).await {
                    tracing::warn!(error = %e, n = batch.len(), "policy decisions not recorded");
                }
                batch.clear();
            }
        });
    }
}
