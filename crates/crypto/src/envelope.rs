//! Envelope encryption for data at rest (vault secrets, provider client secrets, upstream tokens,
//! private keys). Each value gets its own random data key; the data key is wrapped by the
//! key-encryption key (derived from the master key), and both layers bind the caller's context
//! (zone, kind, id, version) as AES-256-GCM associated data, so a sealed value moved to another
//! row or zone does not open.
//!
//! Layout: `0x01 | nonce(12) | wrapped_dek(32 + 16) | nonce(12) | ciphertext + tag(16)`.

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};

use crate::{CryptoError, random};

const VERSION: u8 = 1;
const TAG_LEN: usize = 16;
const DEK_LEN: usize = 32;
const HEADER_LEN: usize = 1 + NONCE_LEN + DEK_LEN + TAG_LEN + NONCE_LEN;

/// Seals and opens values under one key-encryption key.
#[derive(Clone)]
pub struct Sealer {
    kek: [u8; 32],
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer(..)")
    }
}

fn key(bytes: &[u8]) -> Result<LessSafeKey, CryptoError> {
    UnboundKey::new(&AES_256_GCM, bytes)
        .map(LessSafeKey::new)
        .map_err(|_| CryptoError::Seal)
}

fn seal_in_place(
    k: &LessSafeKey,
    aad: &[u8],
    data: &mut Vec<u8>,
) -> Result<[u8; NONCE_LEN], CryptoError> {
    let mut nonce = [0u8; NONCE_LEN];
    random::fill(&mut nonce)?;
    k.seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::from(aad), data)
        .map_err(|_| CryptoError::Seal)?;
    Ok(nonce)
}

fn open(k: &LessSafeKey, nonce: &[u8], aad: &[u8], data: &[u8]) -> Result<Vec<u8>, CryptoError> {
    let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| CryptoError::Open)?;
    let mut buf = data.to_vec();
    let plain = k
        .open_in_place(nonce, Aad::from(aad), &mut buf)
        .map_err(|_| CryptoError::Open)?;
    Ok(plain.to_vec())
}

impl Sealer {
    pub fn new(kek: [u8; 32]) -> Self {
        Self { kek }
    }

    /// Encrypts `plaintext`, binding `context` (e.g. `zone/secret/<id>/<version>`).
    pub fn seal(&self, context: &str, plaintext: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let mut dek = vec![0u8; DEK_LEN];
        random::fill(&mut dek)?;
        let mut data = plaintext.to_vec();
        let data_nonce = seal_in_place(&key(&dek)?, context.as_bytes(), &mut data)?;
        let dek_nonce = seal_in_place(&key(&self.kek)?, context.as_bytes(), &mut dek)?;
        let mut out = Vec::with_capacity(HEADER_LEN + data.len());
        out.push(VERSION);
        out.extend_from_slice(&dek_nonce);
        out.extend_from_slice(&dek);
        out.extend_from_slice(&data_nonce);
        out.extend_from_slice(&data);
        Ok(out)
    }

    /// Decrypts a value sealed with the same key and `context`.
    pub fn open(&self, context: &str, sealed: &[u8]) -> Result<Vec<u8>, CryptoError> {
        if sealed.len() < HEADER_LEN + TAG_LEN || sealed[0] != VERSION {
            return Err(CryptoError::Open);
        }
        let (dek_nonce, rest) = sealed[1..].split_at(NONCE_LEN);
        let (wrapped, rest) = rest.split_at(DEK_LEN + TAG_LEN);
        let (data_nonce, data) = rest.split_at(NONCE_LEN);
        let dek = open(&key(&self.kek)?, dek_nonce, context.as_bytes(), wrapped)?;
        open(&key(&dek)?, data_nonce, context.as_bytes(), data)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_context_binding() {
        let s = Sealer::new([7u8; 32]);
        let sealed = s.seal("z1/secret/a/1", b"top secret").unwrap();
        assert!(
            !sealed.windows(10).any(|w| w == b"top secret"),
            "no plaintext in the blob"
        );
        assert_eq!(s.open("z1/secret/a/1", &sealed).unwrap(), b"top secret");
        assert!(s.open("z2/secret/a/1", &sealed).is_err(), "other context");
        assert!(
            Sealer::new([8u8; 32])
                .open("z1/secret/a/1", &sealed)
                .is_err(),
            "other key"
        );
        let mut tampered = sealed.clone();
        let last = tampered.len() - 1;
        tampered[last] ^= 1;
        assert!(s.open("z1/secret/a/1", &tampered).is_err());
        assert_ne!(
            sealed,
            s.seal("z1/secret/a/1", b"top secret").unwrap(),
            "fresh nonces and keys"
        );
    }
}
