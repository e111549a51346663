//! Property tests for compact JWS parsing and verification, the parser every foreign token (client
//! assertions, federated and upstream ID tokens) goes through: arbitrary input never panics, a
//! signed token round-trips, and a token changed anywhere never verifies.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests

use std::sync::LazyLock;

use latchkey_crypto::jws::{Alg, Compact, SigningKey, VerifyingKey};
use proptest::prelude::*;
use serde_json::{Map, Value};

/// One key per algorithm (RSA key generation is slow, so keys are shared by every case).
static KEYS: LazyLock<Vec<(SigningKey, VerifyingKey)>> = LazyLock::new(|| {
    [Alg::Rs256, Alg::Es256, Alg::EdDsa]
        .into_iter()
        .map(|alg| {
            let (key, _) = SigningKey::generate(alg, format!("k-{}", alg.as_str())).unwrap();
            let public = VerifyingKey::from_jwk(&key.public_jwk()).unwrap();
            (key, public)
        })
        .collect()
});

fn claims() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        any::<String>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<bool>().prop_map(Value::from),
        Just(Value::Null),
    ];
    prop::collection::btree_map(any::<String>(), leaf, 0..8)
        .prop_map(|m| Value::Object(m.into_iter().collect::<Map<_, _>>()))
}

const B64URL: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_strings_never_panic(s in any::<String>()) {
        let _ = Compact::parse(&s);
    }

    #[test]
    fn three_base64_parts_never_panic(
        parts in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..64), 3),
    ) {
        use base64::Engine;
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let token = parts.iter().map(|p| b64.encode(p)).collect::<Vec<_>>().join(".");
        if let Some(c) = Compact::parse(&token) {
            for (_, public) in KEYS.iter() {
                let _ = c.verify_with(public);
            }
        }
    }

    #[test]
    fn sign_then_verify_round_trips(claims in claims(), which in 0usize..3) {
        let (key, public) = &KEYS[which];
        let token = key.sign(claims.to_string().as_bytes()).unwrap();
        let parsed = Compact::parse(&token).unwrap();
        prop_assert_eq!(&parsed.claims, &claims);
        prop_assert_eq!(parsed.kid(), Some(key.kid()));
        prop_assert!(parsed.verify_with(public));
        for (i, (_, other)) in KEYS.iter().enumerate() {
            if i != which {
                prop_assert!(!parsed.verify_with(other), "verified with another algorithm's key");
            }
        }
    }

    /// Any one character of a signed token replaced by another base64url character (header,
    /// claims or signature, including the last character whose low bits base64 ignores) makes it
    /// fail to parse or fail to verify.
    #[test]
    fn a_tampered_token_never_verifies(
        claims in claims(),
        which in 0usize..3,
        pos in any::<prop::sample::Index>(),
        with in any::<prop::sample::Index>(),
    ) {
        let (key, public) = &KEYS[which];
        let token = key.sign(claims.to_string().as_bytes()).unwrap();
        let mut bytes = token.clone().into_bytes();
        let i = pos.index(bytes.len());
        if bytes[i] == b'.' {
            return Ok(());
        }
        let mut c = B64URL[with.index(B64URL.len())];
        if c == bytes[i] {
            c = if c == b'A' { b'B' } else { b'A' };
        }
        bytes[i] = c;
        let tampered = String::from_utf8(bytes).unwrap();
        if let Some(parsed) = Compact::parse(&tampered) {
            prop_assert!(!parsed.verify_with(public), "tampered token verified: {}", tampered);
        }
    }

    /// Truncated or extended signatures never verify.
    #[test]
    fn a_resized_signature_never_verifies(which in 0usize..3, cut in 1usize..8, extra in "[A-Za-z0-9_-]{1,8}") {
        let (key, public) = &KEYS[which];
        let token = key.sign(br#"{"sub":"x"}"#).unwrap();
        for bad in [token[..token.len() - cut].to_owned(), format!("{token}{extra}")] {
            if let Some(parsed) = Compact::parse(&bad) {
                prop_assert!(!parsed.verify_with(public), "{}", bad);
            }
        }
    }
}

/// The `none` algorithm and algorithm confusion (an HS256 header over a public key) never verify.
#[test]
fn unsigned_and_confused_tokens_never_verify() {
    for (key, public) in KEYS.iter() {
        let token = key.sign(br#"{"sub":"x"}"#).unwrap();
        let (_, rest) = token.split_once('.').unwrap();
        let (claims, _) = rest.split_once('.').unwrap();
        for header in [r#"{"alg":"none"}"#, r#"{"alg":"HS256"}"#] {
            use base64::Engine;
            let h = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(header);
            for sig in ["", "AAAA"] {
                let forged = format!("{h}.{claims}.{sig}");
                let parsed = Compact::parse(&forged).unwrap();
                assert!(!parsed.verify_with(public), "{forged}");
            }
        }
    }
}
