//! Keyed hashes (HMAC-SHA-256 under a server key) for client secrets, API keys and opaque tokens.
//! Secrets are 256-bit random, so a fast keyed hash is as strong as a slow one and keeps the token
//! endpoint at full speed; the key means a stolen database alone cannot check guesses.

use aws_lc_rs::{constant_time, hmac};

/// Hashes and verifies secrets under one server key.
#[derive(Clone)]
pub struct SecretHasher {
    key: hmac::Key,
}

impl std::fmt::Debug for SecretHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretHasher(..)")
    }
}

impl SecretHasher {
    pub fn new(key_bytes: &[u8]) -> Self {
        Self {
            key: hmac::Key::new(hmac::HMAC_SHA256, key_bytes),
        }
    }

    /// Lowercase hex of HMAC-SHA-256(key, secret).
    pub fn hash(&self, secret: &str) -> String {
        hex(hmac::sign(&self.key, secret.as_bytes()).as_ref())
    }

    /// Constant-time check of `secret` against a stored hash (false for a hash that
    /// [`Self::hash`] did not write).
    pub fn verify(&self, secret: &str, stored_hash: &str) -> bool {
        Digest::of(stored_hash).is_some_and(|digest| self.proves(secret, &digest))
    }

    /// Constant-time check of `secret` against a stored hash already decoded by [`Digest::of`]
    /// (no hex encoding, no allocation: for checks repeated on every request).
    pub fn proves(&self, secret: &str, digest: &Digest) -> bool {
        let computed = hmac::sign(&self.key, secret.as_bytes());
        constant_time::verify_slices_are_equal(computed.as_ref(), &digest.0).is_ok()
    }
}

/// A stored hash (lowercase hex of HMAC-SHA-256) decoded to its 32 bytes.
#[derive(Clone, Copy)]
pub struct Digest([u8; 32]);

impl std::fmt::Debug for Digest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Digest(..)")
    }
}

impl Digest {
    /// The bytes of `stored_hash`, as [`SecretHasher::hash`] writes it (`None` for anything
    /// else).
    pub fn of(stored_hash: &str) -> Option<Self> {
        let hex = stored_hash.as_bytes();
        if hex.len() != 64 {
            return None;
        }
        let mut out = [0u8; 32];
        for (byte, pair) in out.iter_mut().zip(hex.chunks_exact(2)) {
            *byte = (nibble(pair[0])? << 4) | nibble(pair[1])?;
        }
        Some(Self(out))
    }
}

fn nibble(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    }
}

/// Lowercase hex encoding.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
    out
}

/// Whether two byte strings are equal, in time that depends only on their lengths.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    constant_time::verify_slices_are_equal(a, b).is_ok()
}

/// SHA-256 of `data`.
pub fn sha256(data: &[u8]) -> [u8; 32] {
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, data);
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_only_with_the_same_key_and_secret() {
        let h = SecretHasher::new(b"k1");
        let stored = h.hash("s3cret");
        assert_eq!(stored.len(), 64);
        assert!(h.verify("s3cret", &stored));
        assert!(!h.verify("s3creT", &stored));
        assert!(!SecretHasher::new(b"k2").verify("s3cret", &stored));
    }

    #[test]
    fn a_decoded_digest_proves_what_the_stored_hash_verifies() {
        let h = SecretHasher::new(b"k1");
        let digest = Digest::of(&h.hash("s3cret")).unwrap();
        assert!(h.proves("s3cret", &digest));
        assert!(!h.proves("s3creT", &digest));
        assert!(!SecretHasher::new(b"k2").proves("s3cret", &digest));
        // only what `hash` writes decodes: 64 lowercase hex digits
        assert!(Digest::of(&h.hash("x")[..62]).is_none());
        assert!(Digest::of(&h.hash("x").to_uppercase()).is_none());
        assert!(Digest::of(&"g".repeat(64)).is_none());
    }
}
