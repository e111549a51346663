//! Human passwords: argon2id hashes, computed off the async runtime. A missing account costs the
//! same as a wrong password.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};

/// A well-formed hash of a random password, verified against when the account does not exist.
const DUMMY: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$RdescudvJCsgt3ub+b+dWRWJTmaaJObG1sMLIj5Ua+M";

pub async fn hash(password: &str) -> Result<String, ()> {
    let password = password.to_owned();
    tokio::task::spawn_blocking(move || {
        let mut salt = [0u8; 16];
        latchkey_crypto::random::fill(&mut salt).map_err(|_| ())?;
        let salt = SaltString::encode_b64(&salt).map_err(|_| ())?;
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|_| ())
    })
    .await
    .map_err(|_| ())?
}

/// Whether `password` matches `stored` (always does the work, even without a stored hash).
pub async fn verify(password: &str, stored: Option<&str>) -> bool {
    let password = password.to_owned();
    let (hash, real) = match stored {
        Some(h) => (h.to_owned(), true),
        None => (DUMMY.to_owned(), false),
    };
    tokio::task::spawn_blocking(move || {
        let ok = PasswordHash::new(&hash)
            .map(|h| {
                Argon2::default()
                    .verify_password(password.as_bytes(), &h)
                    .is_ok()
            })
            .unwrap_or(false);
        ok && real
    })
    .await
    .unwrap_or(false)
}
