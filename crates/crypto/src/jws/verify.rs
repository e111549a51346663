//! Verifying compact JWS: public keys read from JWKs (RSA, EC P-256, OKP Ed25519; parsed once)
//! and tokens split into their parts before their signature is checked.

use aws_lc_rs::signature::{self, ParsedPublicKey, UnparsedPublicKey};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use serde_json::Value;

use super::Alg;
use crate::CryptoError;

/// A public key that verifies signatures, from a JWK.
#[derive(Debug, Clone)]
pub struct VerifyingKey {
    pub kid: Option<String>,
    pub alg: Alg,
    kind: PublicKind,
}

#[derive(Debug, Clone)]
enum PublicKind {
    /// Parsed once when the key is read, so that a verification does not parse it again.
    Parsed(std::sync::Arc<ParsedPublicKey>),
    Rsa {
        n: Vec<u8>,
        e: Vec<u8>,
    },
    Raw(Vec<u8>),
}

impl VerifyingKey {
    /// Reads a public JWK (RSA, EC P-256 or OKP Ed25519); symmetric keys are refused.
    pub fn from_jwk(jwk: &Value) -> Result<Self, CryptoError> {
        let kid = jwk.get("kid").and_then(Value::as_str).map(str::to_owned);
        Self::read_jwk(jwk, kid).map(Self::parsed)
    }

    /// The key with its material parsed once for verification, where the library accepts it; a
    /// key it refuses stays as read (and fails every verification, as it did before).
    fn parsed(self) -> Self {
        let parsed = match (&self.kind, self.alg) {
            (PublicKind::Rsa { n, e }, _) => ParsedPublicKey::new(
                &signature::RSA_PKCS1_2048_8192_SHA256,
                crate::der::rsa_public_key(n, e),
            ),
            (PublicKind::Raw(k), Alg::Es256) => {
                ParsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, k)
            }
            (PublicKind::Raw(k), _) => ParsedPublicKey::new(&signature::ED25519, k),
            (PublicKind::Parsed(_), _) => return self,
        };
        match parsed {
            Ok(p) => Self {
                kind: PublicKind::Parsed(std::sync::Arc::new(p)),
                ..self
            },
            Err(_) => self,
        }
    }

    fn read_jwk(jwk: &Value, kid: Option<String>) -> Result<Self, CryptoError> {
        let s = |k: &str| jwk.get(k).and_then(Value::as_str);
        let b = |k: &str| {
            s(k).and_then(|v| B64.decode(v).ok())
                .ok_or(CryptoError::Key)
        };
        match s("kty") {
            Some("RSA") => Ok(Self {
                kid,
                alg: Alg::Rs256,
                kind: PublicKind::Rsa {
                    n: b("n")?,
                    e: b("e")?,
                },
            }),
            Some("EC") if s("crv") == Some("P-256") => {
                let mut point = vec![4u8];
                point.extend(b("x")?);
                point.extend(b("y")?);
                Ok(Self {
                    kid,
                    alg: Alg::Es256,
                    kind: PublicKind::Raw(point),
                })
            }
            Some("OKP") if s("crv") == Some("Ed25519") => Ok(Self {
                kid,
                alg: Alg::EdDsa,
                kind: PublicKind::Raw(b("x")?),
            }),
            _ => Err(CryptoError::Key),
        }
    }

    /// Checks `signature` over `message`.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        match (&self.kind, self.alg) {
            (PublicKind::Parsed(k), _) => k.verify_sig(message, signature).is_ok(),
            (PublicKind::Rsa { n, e }, _) => signature::RsaPublicKeyComponents {
                n: n.as_slice(),
                e: e.as_slice(),
            }
            .verify(&signature::RSA_PKCS1_2048_8192_SHA256, message, signature)
            .is_ok(),
            (PublicKind::Raw(k), Alg::Es256) => {
                UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, k)
                    .verify(message, signature)
                    .is_ok()
            }
            (PublicKind::Raw(k), _) => UnparsedPublicKey::new(&signature::ED25519, k)
                .verify(message, signature)
                .is_ok(),
        }
    }
}

/// The JWK SHA-256 thumbprint of a public key (RFC 7638), base64url: the hash of the key's
/// required members only, in lexicographic order, without whitespace. `None` for a key of
/// another type or with a member missing.
pub fn thumbprint(jwk: &Value) -> Option<String> {
    let s = |k: &str| jwk.get(k).and_then(Value::as_str);
    let members: &[&str] = match s("kty")? {
        "EC" => &["crv", "kty", "x", "y"],
        "RSA" => &["e", "kty", "n"],
        "OKP" => &["crv", "kty", "x"],
        _ => return None,
    };
    let mut canonical = serde_json::Map::new();
    for m in members {
        canonical.insert((*m).to_owned(), Value::String(s(m)?.to_owned()));
    }
    // (serde_json writes a map's keys in their insertion order: lexicographic here)
    let text = Value::Object(canonical).to_string();
    Some(B64.encode(crate::keyed_hash::sha256(text.as_bytes())))
}

/// A compact JWS split into its parts, not yet verified.
#[derive(Debug, Clone)]
pub struct Compact {
    pub header: Value,
    pub claims: Value,
    signing_input: String,
    signature: Vec<u8>,
}

impl Compact {
    /// Splits and decodes `token`; `None` if it is not a well-formed compact JWS with JSON parts.
    pub fn parse(token: &str) -> Option<Self> {
        if token.len() > 16 * 1024 {
            return None;
        }
        let mut parts = token.split('.');
        let (h, c, s) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() {
            return None;
        }
        let header: Value = serde_json::from_slice(&B64.decode(h).ok()?).ok()?;
        let claims: Value = serde_json::from_slice(&B64.decode(c).ok()?).ok()?;
        let signature = B64.decode(s).ok()?;
        (header.is_object() && claims.is_object()).then(|| Self {
            header,
            claims,
            signing_input: format!("{h}.{c}"),
            signature,
        })
    }

    pub fn alg(&self) -> Option<Alg> {
        self.header
            .get("alg")
            .and_then(Value::as_str)
            .and_then(Alg::parse)
    }

    pub fn kid(&self) -> Option<&str> {
        self.header.get("kid").and_then(Value::as_str)
    }

    /// Verifies the signature with `key`, whose algorithm must match the header's.
    pub fn verify_with(&self, key: &VerifyingKey) -> bool {
        self.alg() == Some(key.alg) && key.verify(self.signing_input.as_bytes(), &self.signature)
    }
}
