//! Random identifiers and secrets from the system CSPRNG (aws-lc-rs).

use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::CryptoError;

const ID_ALPHABET: &[u8; 36] = b"abcdefghijklmnopqrstuvwxyz0123456789";
/// Length of generated ids: 26 characters of base36, ~134 bits.
pub const ID_LEN: usize = 26;

/// Fills `buf` with random bytes.
pub fn fill(buf: &mut [u8]) -> Result<(), CryptoError> {
    SystemRandom::new()
        .fill(buf)
        .map_err(|_| CryptoError::Random)
}

/// A 26-character lowercase, DNS-safe id that starts with a letter (so it is a valid host label
/// and never looks like a number).
pub fn id() -> Result<String, CryptoError> {
    let mut out = String::with_capacity(ID_LEN);
    let mut buf = [0u8; 64];
    while out.len() < ID_LEN {
        fill(&mut buf)?;
        for &b in &buf {
            // Rejection sampling keeps the distribution uniform: 252 = 7 * 36.
            if b >= 252 || out.len() == ID_LEN {
                continue;
            }
            let c = ID_ALPHABET[usize::from(b % 36)];
            if out.is_empty() && !c.is_ascii_alphabetic() {
                continue;
            }
            out.push(char::from(c));
        }
    }
    Ok(out)
}

/// A 256-bit secret, base64url, behind a recognisable prefix such as `lk_sec_` so that secret
/// scanners can find leaked values.
pub fn secret(prefix: &str) -> Result<String, CryptoError> {
    let mut buf = [0u8; 32];
    fill(&mut buf)?;
    Ok(format!("{prefix}{}", URL_SAFE_NO_PAD.encode(buf)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_dns_safe_and_distinct() {
        let a = id().unwrap();
        let b = id().unwrap();
        assert_eq!(a.len(), ID_LEN);
        assert_ne!(a, b);
        assert!(a.as_bytes()[0].is_ascii_lowercase());
        assert!(
            a.bytes()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        );
    }

    #[test]
    fn secrets_have_prefix_and_entropy() {
        let s = secret("lk_sec_").unwrap();
        assert!(s.starts_with("lk_sec_"));
        assert_eq!(s.len(), "lk_sec_".len() + 43);
        assert_ne!(s, secret("lk_sec_").unwrap());
    }
}
