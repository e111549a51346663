//! The master key: 32 random bytes from configuration or a file in the data directory. Every
//! server key (the secret-hashing key, later the key-encryption key) is derived from it with HKDF,
//! each under its own label, so one value is all an operator has to back up.

use aws_lc_rs::hkdf;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::CryptoError;
use crate::keyed_hash::{SecretHasher, hex};
use crate::random;

const SALT: &[u8] = b"latchkey master key v1";

#[derive(Clone)]
pub struct MasterKey {
    bytes: [u8; 32],
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey(..)")
    }
}

impl MasterKey {
    pub fn generate() -> Result<Self, CryptoError> {
        let mut bytes = [0u8; 32];
        random::fill(&mut bytes)?;
        Ok(Self { bytes })
    }

    /// Parses the text form (base64url, 43 characters, surrounding whitespace ignored).
    pub fn parse(text: &str) -> Result<Self, CryptoError> {
        let raw = URL_SAFE_NO_PAD
            .decode(text.trim())
            .map_err(|_| CryptoError::InvalidMasterKey("expected 32 bytes in base64url".into()))?;
        let bytes: [u8; 32] = raw
            .try_into()
            .map_err(|_| CryptoError::InvalidMasterKey("expected exactly 32 bytes".into()))?;
        Ok(Self { bytes })
    }

    /// The text form written to the key file.
    pub fn to_text(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.bytes)
    }

    /// 32 bytes derived for `label`.
    pub fn derive(&self, label: &str) -> [u8; 32] {
        let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, SALT).extract(&self.bytes);
        let info = [label.as_bytes()];
        let mut out = [0u8; 32];
        // HKDF-SHA-256 can always expand to 32 bytes, so these cannot fail.
        if let Ok(okm) = prk.expand(&info, hkdf::HKDF_SHA256) {
            let _ = okm.fill(&mut out);
        }
        out
    }

    /// The hasher for client secrets, API keys and tokens.
    pub fn secret_hasher(&self) -> SecretHasher {
        SecretHasher::new(&self.derive("secret-hash"))
    }

    /// The sealer for data at rest (the key-encryption key).
    pub fn sealer(&self) -> crate::Sealer {
        crate::Sealer::new(self.derive("kek"))
    }

    /// A value stored in the database to detect a master key that does not match the data.
    pub fn check_value(&self) -> String {
        hex(&self.derive("key-check")[..16])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_round_trip_and_distinct_derivations() {
        let k = MasterKey::generate().unwrap();
        let k2 = MasterKey::parse(&k.to_text()).unwrap();
        assert_eq!(k.derive("a"), k2.derive("a"));
        assert_ne!(k.derive("a"), k.derive("b"));
        assert_ne!(
            k.check_value(),
            MasterKey::generate().unwrap().check_value()
        );
        assert!(MasterKey::parse("short").is_err());
    }
}
