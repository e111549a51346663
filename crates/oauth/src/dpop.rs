//! DPoP (RFC 9449): proof-of-possession for the zone's tokens. A client sends a `DPoP` header, a
//! JWT it signed with a key whose public half the header carries; [`check`] verifies it
//! (`typ: dpop+jwt`, an asymmetric algorithm, no private key material, the method and URL of
//! this request, a fresh `iat`, a `jti` never seen before on any instance, and at a resource
//! the hash of the access token, `ath`). A token issued on a proof carries `cnf.jkt`, the key's
//! RFC 7638 thumbprint, and is of type `DPoP`; a refresh token of a public client is bound to the
//! key too (the grant keeps the thumbprint), so only the key's holder can refresh it.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use latchkey_crypto::jws::{Compact, VerifyingKey, thumbprint};
use latchkey_domain::Timestamp;
use latchkey_domain::model::login::GrantData;
use serde_json::{Value, json};

use crate::error::{OAuthError, server};
use crate::services::Services;
use crate::zones::ZoneEntry;

/// The proof's header name.
pub const HEADER: &str = "dpop";
/// Algorithms a proof may be signed with (asymmetric only).
pub use crate::supported::DPOP_ALGS as ALGS;
/// Longest proof accepted (bytes).
pub const MAX_PROOF_BYTES: usize = 8192;
/// How far a proof's `iat` may lie from now (seconds), either way.
pub const IAT_WINDOW_SECONDS: i64 = 60;
/// The token type of a token bound to a key.
pub const TOKEN_TYPE: &str = "DPoP";

/// JWK members that only a private key has.
const PRIVATE: &[&str] = &["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

/// What a proof is checked against: the request it came with.
pub struct Request<'a> {
    pub method: &'a str,
    /// The URL the request was sent to, as the zone publishes it (query and fragment ignored).
    pub url: &'a str,
    /// At a resource: the access token the request presents (`ath`).
    pub access_token: Option<&'a str>,
}

fn invalid(description: &str) -> OAuthError {
    OAuthError::bad("invalid_dpop_proof", description)
}

/// The `DPoP` header values of a request, one at most (RFC 9449 §4.3 item 1).
pub fn single<'a>(values: &[&'a str]) -> Result<Option<&'a str>, OAuthError> {
    match values {
        [] => Ok(None),
        [one] => Ok(Some(one)),
        _ => Err(invalid("send one `DPoP` header")),
    }
}

/// Checks `proof` for `request`; answers the thumbprint of its key (`jkt`).
pub async fn check(
    s: &Services,
    zone: &ZoneEntry,
    proof: &str,
    request: &Request<'_>,
) -> Result<String, OAuthError> {
    if proof.len() > MAX_PROOF_BYTES {
        return Err(invalid("the proof is too long"));
    }
    let c = Compact::parse(proof).ok_or_else(|| invalid("the proof is not a compact JWS"))?;
    let jkt = key_of(&c)?;
    claims_fit(&c.claims, request)?;
    let jti = c
        .claims
        .get("jti")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let now = Timestamp::now();
    let fresh = s
        .store
        .remember_jti(
            &zone.zone.id,
            &format!("\u{1f}dpop\u{1f}{jkt}\u{1f}{jti}"),
            now.plus_seconds(2 * IAT_WINDOW_SECONDS),
            now,
        )
        .await
        .map_err(server)?;
    if !fresh {
        return Err(invalid("the proof's `jti` was already used"));
    }
    Ok(jkt)
}

/// The header's key (public, of an accepted algorithm) once the proof verifies with it: its
/// thumbprint.
fn key_of(c: &Compact) -> Result<String, OAuthError> {
    if c.header.get("typ").and_then(Value::as_str) != Some("dpop+jwt") {
        return Err(invalid("the proof's `typ` must be `dpop+jwt`"));
    }
    let alg = c
        .header
        .get("alg")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if !ALGS.contains(&alg) {
        return Err(invalid("the proof's `alg` is not accepted"));
    }
    let jwk = c
        .header
        .get("jwk")
        .filter(|j| j.is_object())
        .ok_or_else(|| invalid("the proof's header has no `jwk`"))?;
    if PRIVATE.iter().any(|m| jwk.get(m).is_some()) {
        return Err(invalid("the proof's `jwk` holds private key material"));
    }
    let key =
        VerifyingKey::from_jwk(jwk).map_err(|_| invalid("the proof's `jwk` is not usable"))?;
    if !c.verify_with(&key) {
        return Err(invalid("the proof's signature does not verify"));
    }
    thumbprint(jwk).ok_or_else(|| invalid("the proof's `jwk` is not usable"))
}

/// `jti`, `htm`, `htu`, `iat` (and `ath`) against the request.
fn claims_fit(claims: &Value, request: &Request<'_>) -> Result<(), OAuthError> {
    let text = |k: &str| claims.get(k).and_then(Value::as_str);
    if !text("jti").is_some_and(|j| !j.is_empty() && j.len() <= 256) {
        return Err(invalid("the proof needs a `jti` (1 to 256 characters)"));
    }
    if text("htm") != Some(request.method) {
        return Err(invalid("the proof's `htm` is not this request's method"));
    }
    if !text("htu").is_some_and(|u| same_target(u, request.url)) {
        return Err(invalid("the proof's `htu` is not this request's URL"));
    }
    let iat = claims
        .get("iat")
        .and_then(Value::as_i64)
        .ok_or_else(|| invalid("the proof needs a numeric `iat`"))?;
    if (iat - crate::mint::now_seconds()).abs() > IAT_WINDOW_SECONDS {
        return Err(invalid("the proof's `iat` is too far from now"));
    }
    if let Some(token) = request.access_token
        && text("ath") != Some(token_hash(token).as_str())
    {
        return Err(invalid(
            "the proof's `ath` is not the hash of this access token",
        ));
    }
    Ok(())
}

/// Whether `htu` names `url`: scheme, host, port and path, without query or fragment (§4.3).
fn same_target(htu: &str, url: &str) -> bool {
    let parts = |u: &str| {
        url::Url::parse(u).ok().map(|u| {
            (
                u.scheme().to_owned(),
                u.host_str().map(str::to_ascii_lowercase),
                u.port_or_known_default(),
                u.path().to_owned(),
            )
        })
    };
    matches!((parts(htu), parts(url)), (Some(a), Some(b)) if a == b)
}

/// `ath`: base64url SHA-256 of the access token.
pub fn token_hash(token: &str) -> String {
    B64.encode(latchkey_crypto::keyed_hash::sha256(token.as_bytes()))
}

/// How an access token was presented to a zone resource (the userinfo endpoint).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    Bearer,
    DPoP,
}

/// The scheme and token of an `Authorization` header (`Bearer` or `DPoP`, any case).
pub fn authorization(header: &str) -> Option<(Scheme, &str)> {
    let (scheme, token) = header.split_once(' ')?;
    let token = token.trim();
    if token.is_empty() {
        return None;
    }
    if scheme.eq_ignore_ascii_case("bearer") {
        Some((Scheme::Bearer, token))
    } else if scheme.eq_ignore_ascii_case("dpop") {
        Some((Scheme::DPoP, token))
    } else {
        None
    }
}

/// Whether an access token (its verified `claims`) was presented rightly to a zone resource at
/// `request` (whose `access_token` is the presented token): an unbound token as `Bearer`; a
/// bound one only as `DPoP`, with a proof of its key (RFC 9449 §7). The refusal says why, for
/// the challenge.
pub async fn presented(
    s: &Services,
    zone: &ZoneEntry,
    scheme: Scheme,
    proofs: &[&str],
    request: &Request<'_>,
    claims: &Value,
) -> Result<(), String> {
    match (scheme, bound_to(claims)) {
        (Scheme::Bearer, None) => Ok(()),
        (Scheme::Bearer, Some(_)) => Err(
            "the token is bound to a DPoP key: present it with the DPoP scheme and a proof".into(),
        ),
        (Scheme::DPoP, bound) => {
            let proof = single(proofs)
                .map_err(|e| e.description)?
                .ok_or("the DPoP scheme needs a `DPoP` proof")?;
            let jkt = check(s, zone, proof, request)
                .await
                .map_err(|e| e.description)?;
            if bound != Some(jkt.as_str()) {
                return Err("the proof's key is not the key the token is bound to".into());
            }
            Ok(())
        }
    }
}

/// A code or refresh token of a grant bound to a DPoP key is redeemed only with a proof of that
/// key (`jkt`: the key of this request's proof).
pub fn key_held(grant: &GrantData, jkt: Option<&str>) -> Result<(), OAuthError> {
    match &grant.dpop_jkt {
        Some(bound) if jkt != Some(bound.as_str()) => Err(invalid(
            "this grant is bound to a DPoP key: send a proof signed with it",
        )),
        _ => Ok(()),
    }
}

/// The confirmation claim of a token bound to `jkt`.
pub fn cnf(jkt: &str) -> Value {
    json!({ "jkt": jkt })
}

/// The key thumbprint a token is bound to, if any.
pub fn bound_to(claims: &Value) -> Option<&str> {
    claims.pointer("/cnf/jkt").and_then(Value::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(access_token: Option<&str>) -> Request<'_> {
        Request {
            method: "POST",
            url: "https://id.example.com/z/a/oauth/2/token",
            access_token,
        }
    }

    fn claims(extra: Value) -> Value {
        let mut c = json!({"jti": "j1", "htm": "POST", "iat": crate::mint::now_seconds(),
            "htu": "https://id.example.com/z/a/oauth/2/token"});
        if let (Some(o), Some(e)) = (c.as_object_mut(), extra.as_object()) {
            o.extend(e.clone());
        }
        c
    }

    #[test]
    fn attack_a_proof_for_another_request_or_time_does_not_fit() {
        assert!(claims_fit(&claims(json!({})), &request(None)).is_ok());
        let query = json!({"htu": "https://ID.example.com:443/z/a/oauth/2/token?x=1#f"});
        assert!(claims_fit(&claims(query), &request(None)).is_ok());
        let now = crate::mint::now_seconds();
        for bad in [
            json!({"htm": "GET"}),
            json!({"htu": "https://id.example.com/z/b/oauth/2/token"}),
            json!({"htu": "http://id.example.com/z/a/oauth/2/token"}),
            json!({"htu": "https://id.example.com:8443/z/a/oauth/2/token"}),
            json!({"iat": now - 120}),
            json!({"iat": now + 120}),
            json!({"iat": "now"}),
            json!({"jti": ""}),
            json!({"jti": "x".repeat(257)}),
        ] {
            assert!(
                claims_fit(&claims(bad.clone()), &request(None)).is_err(),
                "{bad}"
            );
        }
        let with_ath = claims(json!({"ath": token_hash("tok")}));
        assert!(claims_fit(&with_ath, &request(Some("tok"))).is_ok());
        assert!(claims_fit(&with_ath, &request(Some("other"))).is_err());
        assert!(claims_fit(&claims(json!({})), &request(Some("tok"))).is_err());
    }

    #[test]
    fn one_header_at_most() {
        assert_eq!(single(&[]).ok(), Some(None));
        assert_eq!(single(&["a"]).ok(), Some(Some("a")));
        assert!(single(&["a", "b"]).is_err());
    }
}
