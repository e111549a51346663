//! Compact JWS for JWTs: signing with cached key pairs (RS256, ES256, EdDSA) and their public
//! JWKs. The protected header of each signing key is encoded once, so signing a token costs one
//! claims serialisation, one base64 pass and one signature. Verification (of tokens signed by
//! zone keys or by foreign JWKS) is in `verify`.

mod verify;

pub use verify::{Compact, VerifyingKey, thumbprint};

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{self, EcdsaKeyPair, Ed25519KeyPair, KeyPair, RsaKeyPair};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use serde_json::{Value, json};

use crate::CryptoError;

/// A JWS signature algorithm Latchkey signs with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Alg {
    Rs256,
    Es256,
    EdDsa,
}

impl Alg {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Rs256 => "RS256",
            Self::Es256 => "ES256",
            Self::EdDsa => "EdDSA",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Rs256, Self::Es256, Self::EdDsa]
            .into_iter()
            .find(|a| a.as_str() == s)
    }
}

enum Pair {
    Rsa(RsaKeyPair),
    Ec(EcdsaKeyPair),
    Ed(Ed25519KeyPair),
}

/// The bytes of a token's constant claims that [`SigningKey::signing_prefix`] could not encode
/// ahead (base64 encodes whole groups of three).
#[derive(Debug, Clone, Copy, Default)]
pub struct Carry {
    bytes: [u8; 2],
    len: u8,
}

impl Carry {
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }
}

/// A parsed private key with its `kid` and pre-encoded protected header.
pub struct SigningKey {
    kid: String,
    alg: Alg,
    pair: Pair,
    header_b64: String,
    rng: SystemRandom,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SigningKey({}, {})", self.alg.as_str(), self.kid)
    }
}

fn err<E>(_: E) -> CryptoError {
    CryptoError::Key
}

impl SigningKey {
    /// Generates a key; returns it with its PKCS#8 DER encoding (to be sealed and stored).
    /// RSA generation takes tens of milliseconds: call it off the async runtime.
    pub fn generate(alg: Alg, kid: String) -> Result<(Self, Vec<u8>), CryptoError> {
        let der = match alg {
            Alg::Rs256 => RsaKeyPair::generate(KeySize::Rsa2048)
                .and_then(|k| k.as_der())
                .map(|d| d.as_ref().to_vec()),
            Alg::Es256 => EcdsaKeyPair::generate(&signature::ECDSA_P256_SHA256_FIXED_SIGNING)
                .and_then(|k| k.to_pkcs8v1())
                .map(|d| d.as_ref().to_vec()),
            Alg::EdDsa => Ed25519KeyPair::generate()
                .and_then(|k| k.to_pkcs8v1())
                .map(|d| d.as_ref().to_vec()),
        }
        .map_err(err)?;
        Ok((Self::from_pkcs8(alg, kid, &der)?, der))
    }

    /// Parses a stored PKCS#8 key.
    pub fn from_pkcs8(alg: Alg, kid: String, der: &[u8]) -> Result<Self, CryptoError> {
        let pair = match alg {
            Alg::Rs256 => Pair::Rsa(RsaKeyPair::from_pkcs8(der).map_err(err)?),
            Alg::Es256 => Pair::Ec(
                EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, der)
                    .map_err(err)?,
            ),
            Alg::EdDsa => Pair::Ed(Ed25519KeyPair::from_pkcs8(der).map_err(err)?),
        };
        let header = json!({"alg": alg.as_str(), "kid": kid, "typ": "JWT"});
        let header_b64 = B64.encode(header.to_string());
        Ok(Self {
            kid,
            alg,
            pair,
            header_b64,
            rng: SystemRandom::new(),
        })
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    pub fn alg(&self) -> Alg {
        self.alg
    }

    /// The public half as a JWK (`use: sig`, with `kid` and `alg`).
    pub fn public_jwk(&self) -> Value {
        let base = json!({"kid": self.kid, "alg": self.alg.as_str(), "use": "sig"});
        let mut jwk = match &self.pair {
            Pair::Rsa(k) => {
                let p = k.public_key();
                json!({"kty": "RSA", "n": B64.encode(p.modulus().big_endian_without_leading_zero()),
                       "e": B64.encode(p.exponent().big_endian_without_leading_zero())})
            }
            Pair::Ec(k) => {
                let point = k.public_key().as_ref();
                let (x, y) = point
                    .get(1..)
                    .unwrap_or_default()
                    .split_at(point.len().saturating_sub(1) / 2);
                json!({"kty": "EC", "crv": "P-256", "x": B64.encode(x), "y": B64.encode(y)})
            }
            Pair::Ed(k) => {
                json!({"kty": "OKP", "crv": "Ed25519", "x": B64.encode(k.public_key().as_ref())})
            }
        };
        if let (Some(j), Some(b)) = (jwk.as_object_mut(), base.as_object()) {
            j.extend(b.clone());
        }
        jwk
    }

    /// Signs `payload` (JSON bytes) into a compact JWS.
    pub fn sign(&self, payload: &[u8]) -> Result<String, CryptoError> {
        let mut out = String::with_capacity(self.header_b64.len() + payload.len() * 4 / 3 + 400);
        out.push_str(&self.header_b64);
        out.push('.');
        self.finish(out, payload)
    }

    /// The signing input of every token whose claims start with `claims_start`, as far as it
    /// can be encoded ahead: the protected header, the dot, and `claims_start`'s whole base64
    /// groups. What is left of `claims_start` (0 to 2 bytes) goes first in the rest of the claims
    /// that [`Self::sign_after`] encodes.
    pub fn signing_prefix(&self, claims_start: &[u8]) -> (String, Carry) {
        let whole = claims_start.len() - claims_start.len() % 3;
        let (encoded, left) = claims_start.split_at(whole);
        let mut prefix = String::with_capacity(self.header_b64.len() + 1 + whole / 3 * 4);
        prefix.push_str(&self.header_b64);
        prefix.push('.');
        B64.encode_string(encoded, &mut prefix);
        let mut carry = Carry::default();
        carry.bytes[..left.len()].copy_from_slice(left);
        carry.len = left.len() as u8; // (0 to 2)
        (prefix, carry)
    }

    /// Signs the token whose signing input starts with `prefix` (from [`Self::signing_prefix`]
    /// of this key) and whose claims go on with `rest` (the prefix's [`Carry`] first).
    pub fn sign_after(&self, prefix: &str, rest: &[u8]) -> Result<String, CryptoError> {
        let mut out = String::with_capacity(prefix.len() + rest.len() * 4 / 3 + 100);
        out.push_str(prefix);
        self.finish(out, rest)
    }

    /// Encodes the rest of the claims after the signing input begun in `out`, and signs it.
    fn finish(&self, mut out: String, claims: &[u8]) -> Result<String, CryptoError> {
        B64.encode_string(claims, &mut out);
        let sig = self.raw_sign(out.as_bytes())?;
        out.push('.');
        B64.encode_string(sig, &mut out);
        Ok(out)
    }

    /// Signs `message` (e.g. a JWS signing input) and returns the raw signature.
    pub fn raw_sign(&self, message: &[u8]) -> Result<Vec<u8>, CryptoError> {
        match &self.pair {
            Pair::Rsa(k) => {
                let mut sig = vec![0u8; k.public_modulus_len()];
                k.sign(&signature::RSA_PKCS1_SHA256, &self.rng, message, &mut sig)
                    .map_err(err)?;
                Ok(sig)
            }
            Pair::Ec(k) => Ok(k.sign(&self.rng, message).map_err(err)?.as_ref().to_vec()),
            Pair::Ed(k) => Ok(k.sign(message).as_ref().to_vec()),
        }
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn thumbprint_is_rfc_7638s_example() {
        let jwk = serde_json::json!({"kty": "RSA", "e": "AQAB", "alg": "RS256", "kid": "2011-04-29",
            "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"});
        assert_eq!(
            thumbprint(&jwk).as_deref(),
            Some("NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs")
        );
        assert_eq!(
            thumbprint(&serde_json::json!({"kty": "oct", "k": "AAAA"})),
            None
        );
        assert_eq!(
            thumbprint(&serde_json::json!({"kty": "EC", "crv": "P-256", "x": "AA"})),
            None
        );
    }
    use super::*;

    #[test]
    fn sign_and_verify_every_algorithm() {
        for alg in [Alg::Rs256, Alg::Es256, Alg::EdDsa] {
            let (key, der) = SigningKey::generate(alg, format!("k-{}", alg.as_str())).unwrap();
            let again = SigningKey::from_pkcs8(alg, "k".into(), &der).unwrap();
            assert_eq!(again.public_jwk()["kty"], key.public_jwk()["kty"]);
            let token = key.sign(br#"{"sub":"a","n":1}"#).unwrap();
            let parsed = Compact::parse(&token).unwrap();
            assert_eq!(parsed.kid(), Some(key.kid()));
            assert_eq!(parsed.claims["sub"], "a");
            let public = VerifyingKey::from_jwk(&key.public_jwk()).unwrap();
            assert!(parsed.verify_with(&public), "{alg:?}");
            let mut tampered = token.clone();
            tampered.insert_str(tampered.find('.').unwrap() + 1, "eyJ4IjoxfQ");
            assert!(
                Compact::parse(&tampered)
                    .map(|c| !c.verify_with(&public))
                    .unwrap_or(true)
            );
            let (other, _) = SigningKey::generate(alg, "other".into()).unwrap();
            assert!(!parsed.verify_with(&VerifyingKey::from_jwk(&other.public_jwk()).unwrap()));
        }
    }

    #[test]
    fn a_token_signed_after_a_prefix_is_the_token_of_the_whole_claims() {
        let (key, _) = SigningKey::generate(Alg::Es256, "k".into()).unwrap();
        let public = VerifyingKey::from_jwk(&key.public_jwk()).unwrap();
        // constant claims of each length modulo 3: nothing, one or two bytes carried
        for start in [r#"{"sub":"ab""#, r#"{"sub":"abc""#, r#"{"sub":"abcd""#] {
            let (prefix, carry) = key.signing_prefix(start.as_bytes());
            let mut rest = carry.as_bytes().to_vec();
            rest.extend_from_slice(br#","n":1}"#);
            let token = key.sign_after(&prefix, &rest).unwrap();
            let whole = format!(r#"{start},"n":1}}"#);
            let (head, _) = token.rsplit_once('.').unwrap();
            let (same, _) = key
                .sign(whole.as_bytes())
                .unwrap()
                .rsplit_once('.')
                .map(|(h, s)| (h.to_owned(), s.to_owned()))
                .unwrap();
            assert_eq!(head, same, "the signing input of {start}");
            let parsed = Compact::parse(&token).unwrap();
            assert!(parsed.verify_with(&public));
            assert_eq!(parsed.claims["n"], 1);
        }
    }

    #[test]
    fn rejects_malformed_tokens_and_keys() {
        assert!(Compact::parse("a.b").is_none());
        assert!(Compact::parse("a.b.c.d").is_none());
        assert!(
            Compact::parse("e30.e30.").is_some(),
            "empty signature parses; it never verifies"
        );
        assert!(VerifyingKey::from_jwk(&json!({"kty": "oct", "k": "AAAA"})).is_err());
    }
}
