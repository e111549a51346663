//! Human passwords: argon2id hashes, computed off the async runtime by a bounded pool. At most
//! one hash per core runs at a time, each in a reused memory buffer, so a burst of sign-ins
//! cannot grow the process (argon2 takes 19 MiB a hash); a request that cannot get a turn
//! within [`QUEUE_WAIT`] is refused as [`Busy`]. A missing account costs the same as a wrong
//! password.

use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use argon2::password_hash::{PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use tokio::sync::Semaphore;

/// A well-formed hash of a random password, verified against when the account does not exist.
const DUMMY: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$RdescudvJCsgt3ub+b+dWRWJTmaaJObG1sMLIj5Ua+M";

/// How long a sign-in waits for a turn before it is refused.
pub const QUEUE_WAIT: Duration = Duration::from_secs(3);
/// Seconds a refused caller is told to wait (`Retry-After`).
pub const RETRY_AFTER_SECONDS: u64 = 2;
/// Hashes larger than this (KiB) are refused rather than computed.
const MAX_MEMORY_KIB: u32 = 64 * 1024;

/// Too many hashes are waiting: try again shortly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Busy;

/// Why a new hash could not be made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HashError {
    Busy,
    Failed,
}

/// The workers' turns and their memory buffers (kept for reuse, never freed).
struct Pool {
    turns: Semaphore,
    cores: usize,
    buffers: Mutex<Vec<Vec<Block>>>,
}

fn pool() -> &'static Pool {
    static POOL: OnceLock<Pool> = OnceLock::new();
    POOL.get_or_init(|| {
        let cores = std::thread::available_parallelism().map_or(2, usize::from);
        Pool {
            turns: Semaphore::new(cores),
            cores,
            buffers: Mutex::new(Vec::new()),
        }
    })
}

/// Runs `work` with a memory buffer of `blocks` blocks on the blocking pool, once a turn is free.
async fn run<T: Send + 'static>(
    blocks: usize,
    work: impl FnOnce(&mut [Block]) -> T + Send + 'static,
) -> Result<T, Busy> {
    let p = pool();
    crate::metrics::password_hash_waiting(1.0);
    let turn = tokio::time::timeout(QUEUE_WAIT, p.turns.acquire()).await;
    crate::metrics::password_hash_waiting(-1.0);
    let _turn = turn.map_err(|_| Busy)?.map_err(|_| Busy)?;
    let buffer = p.buffers.lock().ok().and_then(|mut b| {
        b.iter()
            .position(|x| x.len() == blocks)
            .map(|i| b.swap_remove(i))
    });
    tokio::task::spawn_blocking(move || {
        let started = std::time::Instant::now();
        let mut buffer = buffer.unwrap_or_else(|| vec![Block::default(); blocks]);
        let out = work(&mut buffer);
        crate::metrics::password_hash_took(started.elapsed());
        if let Ok(mut kept) = pool().buffers.lock()
            && kept.len() < pool().cores
        {
            kept.push(buffer);
        }
        out
    })
    .await
    .map_err(|_| Busy)
}

/// A new argon2id hash (default parameters) of `password` in PHC string form.
pub async fn hash(password: &str) -> Result<String, HashError> {
    let password = password.to_owned();
    let mut raw_salt = [0u8; 16];
    latchkey_crypto::random::fill(&mut raw_salt).map_err(|_| HashError::Failed)?;
    let blocks = Params::default().block_count();
    run(blocks, move |memory| {
        let salt = SaltString::encode_b64(&raw_salt).map_err(|_| ())?;
        let argon = Argon2::default();
        let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
        argon
            .hash_password_into_with_memory(password.as_bytes(), &raw_salt, &mut out, memory)
            .map_err(|_| ())?;
        // The PHC string of exactly this computation (same salt, parameters and output).
        let phc = argon2::password_hash::PasswordHash {
            algorithm: Algorithm::Argon2id.ident(),
            version: Some(Version::V0x13.into()),
            params: (&Params::default()).try_into().map_err(|_| ())?,
            salt: Some(salt.as_salt()),
            hash: Some(argon2::password_hash::Output::new(&out).map_err(|_| ())?),
        };
        Ok::<_, ()>(phc.to_string())
    })
    .await
    .map_err(|_| HashError::Busy)?
    .map_err(|_| HashError::Failed)
}

/// What verifying against a stored hash needs, parsed up front (on the async side).
struct Stored {
    algorithm: Algorithm,
    version: Version,
    params: Params,
    salt: Vec<u8>,
    expected: Vec<u8>,
}

fn parse(stored: &str) -> Option<Stored> {
    let h = PasswordHash::new(stored).ok()?;
    let algorithm = Algorithm::try_from(h.algorithm).ok()?;
    let version = h
        .version
        .map_or(Some(Version::V0x13), |v| Version::try_from(v).ok())?;
    let params = Params::try_from(&h).ok()?;
    if params.m_cost() > MAX_MEMORY_KIB {
        return None;
    }
    let mut salt = [0u8; 64];
    let salt = h.salt?.decode_b64(&mut salt).ok()?.to_vec();
    Some(Stored {
        algorithm,
        version,
        params,
        salt,
        expected: h.hash?.as_bytes().to_vec(),
    })
}

/// Whether `password` matches `stored` (always does the work, even without a stored hash).
pub async fn verify(password: &str, stored: Option<&str>) -> Result<bool, Busy> {
    let real = stored.is_some();
    let Some(s) = parse(stored.unwrap_or(DUMMY)).or_else(|| parse(DUMMY)) else {
        return Ok(false);
    };
    let password = password.to_owned();
    let blocks = s.params.block_count();
    run(blocks, move |memory| {
        let argon = Argon2::new(s.algorithm, s.version, s.params.clone());
        let mut out = vec![0u8; s.expected.len()];
        let computed = argon
            .hash_password_into_with_memory(password.as_bytes(), &s.salt, &mut out, memory)
            .is_ok();
        let same = latchkey_crypto::keyed_hash::sha256(&out)
            == latchkey_crypto::keyed_hash::sha256(&s.expected);
        computed && same && real
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_verify_and_interoperate_with_the_reference_encoder() {
        let h = hash("correct horse").await.unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        assert!(verify("correct horse", Some(&h)).await.unwrap());
        assert!(!verify("wrong horse", Some(&h)).await.unwrap());
        assert!(
            !verify("anything", None).await.unwrap(),
            "no account never matches"
        );
        // A hash made by the argon2 crate's own encoder verifies here too.
        let salt = SaltString::encode_b64(b"0123456789abcdef").unwrap();
        use argon2::PasswordHasher;
        let reference = Argon2::default()
            .hash_password(b"pw", &salt)
            .unwrap()
            .to_string();
        assert!(verify("pw", Some(&reference)).await.unwrap());
        assert!(!verify("pw", Some("not a hash")).await.unwrap());
    }

    #[tokio::test]
    async fn concurrent_hashes_wait_for_a_turn_and_reuse_buffers() {
        let tasks: Vec<_> = (0..16)
            .map(|i| tokio::spawn(async move { verify(&format!("pw{i}"), None).await }))
            .collect();
        for t in tasks {
            assert_eq!(t.await.unwrap(), Ok(false));
        }
        let kept = pool().buffers.lock().unwrap().len();
        assert!(kept <= pool().cores, "buffers are bounded: {kept}");
    }
}
