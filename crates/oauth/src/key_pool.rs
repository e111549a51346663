//! RSA-2048 private keys generated ahead of need. An RSA key takes about 100 ms of CPU to make
//! and a new zone needs two (current and next), so the key ring takes them from this pool when
//! it can: the work happens on a blocking thread after a key is taken, not on the request that
//! needs it. An empty pool is no failure: the caller generates the key itself. Keys are made
//! without a `kid`; the key ring gives each its own when it is used, and seals it as usual.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};

use latchkey_crypto::jws::{Alg, SigningKey};

/// How many spare keys the pool keeps: one zone's pair.
const TARGET: usize = 2;

#[derive(Default)]
struct Inner {
    /// PKCS#8 DER of keys nobody has used.
    spare: Mutex<Vec<Vec<u8>>>,
    /// Whether a refill is under way (one at a time).
    refilling: AtomicBool,
}

/// The spare RSA keys of one key ring.
#[derive(Clone, Default)]
pub(crate) struct KeyPool {
    inner: Arc<Inner>,
}

impl KeyPool {
    /// A spare RSA key (PKCS#8 DER), if one is ready; either way the pool starts filling up
    /// again in the background.
    pub(crate) fn take_rsa(&self) -> Option<Vec<u8>> {
        let der = self.inner.spare.lock().ok().and_then(|mut s| s.pop());
        if !self.inner.refilling.swap(true, Ordering::AcqRel) {
            refill(Arc::downgrade(&self.inner));
        }
        der
    }
}

/// Makes one key on a blocking thread and, while the pool is short, schedules the next one.
/// Holds the pool weakly: a dropped key ring stops the refill.
fn refill(pool: Weak<Inner>) {
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        if let Some(p) = pool.upgrade() {
            p.refilling.store(false, Ordering::Release);
        }
        return;
    };
    runtime.spawn_blocking(move || {
        let Some(p) = pool.upgrade() else { return };
        let short = p.spare.lock().map(|s| s.len() < TARGET).unwrap_or(false);
        if !short {
            p.refilling.store(false, Ordering::Release);
            return;
        }
        drop(p);
        let made = SigningKey::generate(Alg::Rs256, String::new()).map(|(_, der)| der);
        let Some(p) = pool.upgrade() else { return };
        match (made, p.spare.lock()) {
            (Ok(der), Ok(mut spare)) => spare.push(der),
            _ => {
                p.refilling.store(false, Ordering::Release);
                return;
            }
        }
        drop(p);
        refill(pool);
    });
}

#[cfg(test)]
mod tests {
    use super::KeyPool;

    #[tokio::test]
    async fn an_empty_pool_answers_none_and_fills_up_in_the_background() {
        let pool = KeyPool::default();
        assert!(pool.take_rsa().is_none(), "a new pool has no spare key");
        for _ in 0..600 {
            if pool.inner.spare.lock().map(|s| s.len()).unwrap_or(0) >= super::TARGET {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        let der = pool.take_rsa().expect("the pool refilled");
        assert!(
            latchkey_crypto::jws::SigningKey::from_pkcs8(
                latchkey_crypto::jws::Alg::Rs256,
                "k".to_owned(),
                &der
            )
            .is_ok(),
            "a spare key is a usable RSA key"
        );
    }
}
