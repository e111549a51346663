//! Issuance plans for `client_credentials`: what a client asking again for the same target and
//! scope is given (the audience, the claims, the lifetime, the decision log key of the policy
//! decision, the signing key) is worked out once and kept in the directory cache
//! (`plan_cache`), under the zone and the client id the request presents. A repeated request is
//! answered from its plan once its secret proves the plan's credential (the same keyed-hash
//! check as any client authentication, against the stored hash decoded once into the plan), so
//! a token then costs one cache lookup, the tally and the signature. What a repeat reads is
//! kept in few places (the key, the signing input known ahead and the scope in one string, the
//! proof inline, the tally in the decision's key), since with a thousand clients each is a
//! cache miss.
//!
//! A plan is hidden when the zone's epoch moves: any write to the zone (directory, settings, a
//! key rotation) and any moved policy binding (here, in another instance's notice, or found by
//! the policy recheck, or by the poll of the database's changes) moves it. It is kept only if
//! nothing moved since its ticket, which the token endpoint takes before it reads the zone, so
//! everything a plan is made from was read after it; a repeated request is then answered before
//! the zone is even looked up. A key rotation thus never leaves a plan signing with a superseded
//! key, which stays published for its grace period anyway. `client_credentials` makes and uses
//! plans; this module holds what a plan is.
//!
//! Only tokens of the zone itself are planned; denials and vaulted resources take the full path
//! every time, as do clients that authenticate with an assertion.

use std::fmt::Write as _;
use std::sync::Arc;

use latchkey_crypto::jws::{Carry, SigningKey};
use latchkey_crypto::keyed_hash::Digest;
use serde::Serialize;

use crate::decision_log::Logged;
use crate::error::OAuthError;
use crate::issued::Issued;
use crate::requests::Targets;

/// What a plan answers: a request to one zone presenting one client id for one target (`None`:
/// the zone's default resource) with one `scope` parameter, exactly as sent. The four are one
/// string, each part as its length in decimal, a colon and its text, an absent part as `-`
/// (prefix-free, so unambiguous whatever the parts hold): comparing keys reads one run of memory.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PlanKey(String);

impl PlanKey {
    /// The key of a request to `zone_id` presenting `client_id`; `None` for more than one target
    /// (an error, never planned).
    pub fn of(zone_id: &str, client_id: &str, targets: &Targets) -> Option<Self> {
        let target = match (targets.resources.as_slice(), targets.audiences.as_slice()) {
            ([], []) => None,
            ([one], []) | ([], [one]) => Some(one.as_str()),
            ([r], [a]) if r == a => Some(r.as_str()),
            _ => return None,
        };
        let parts = [
            Some(zone_id),
            Some(client_id),
            target,
            targets.scope.as_deref(),
        ];
        let size: usize = parts.iter().map(|p| p.map_or(1, |s| s.len() + 11)).sum();
        let mut key = String::with_capacity(size);
        for part in parts {
            match part {
                None => key.push('-'),
                Some(s) => {
                    write!(key, "{}:", s.len()).ok()?;
                    key.push_str(s);
                }
            }
        }
        Some(Self(key))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A worked-out `client_credentials` answer. What a repeat reads of it is in two allocations: the
/// plan itself and its text (key, signing input, scope, one after the other).
pub struct Plan {
    /// The plan's key (empty when it is not kept), then the signing input of its tokens as far as
    /// it is known ahead ([`SigningKey::signing_prefix`] of the constant claims), then the scope.
    text: Box<str>,
    key_end: usize,
    prefix_end: usize,
    /// Whether the response names a scope (the rest of `text`).
    scoped: bool,
    /// The constant claims' bytes left to encode with each token's own claims.
    carry: Carry,
    lifetime: i64,
    /// What proves the password credential that authenticated when it was made
    /// (`client_auth::proof`; `None`: nothing can be answered from the plan).
    proof: Option<Digest>,
    logged: Option<Arc<Logged>>,
    signer: Arc<SigningKey>,
}

/// What a plan is made from, besides its claims.
pub struct Basis {
    /// What proves the password credential that authenticated (`client_auth::proof`).
    pub proof: Option<Digest>,
    pub lifetime: i64,
    pub logged: Option<Arc<Logged>>,
    /// The zone's current signing key when the plan was made.
    pub signer: Arc<SigningKey>,
}

/// The claims every token of a plan carries.
#[derive(Serialize)]
pub struct Head<'a> {
    pub iss: &'a str,
    pub sub: &'a str,
    pub aud: &'a str,
    pub client_id: &'a str,
    pub sub_profile: &'a str,
    pub keycard_app_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<&'a str>,
    /// RFC 9449: the DPoP key a one-off token is bound to (such plans are never kept).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cnf: Option<Cnf<'a>>,
}

/// The confirmation claim of a DPoP-bound token.
#[derive(Serialize)]
pub struct Cnf<'a> {
    pub jkt: &'a str,
}

impl Plan {
    /// A plan from its claims and what they were worked out from, to be kept under `key`
    /// (`None`: used once).
    pub fn new(key: Option<&PlanKey>, head: &Head<'_>, basis: Basis) -> Result<Self, OAuthError> {
        let mut json = serde_json::to_string(head).map_err(|_| OAuthError::server_error())?;
        json.pop(); // the closing brace: `payload` appends the per-token claims
        let (prefix, carry) = basis.signer.signing_prefix(json.as_bytes());
        let key = key.map_or("", PlanKey::as_str);
        let scope = head.scope.unwrap_or_default();
        let mut text = String::with_capacity(key.len() + prefix.len() + scope.len());
        for part in [key, &prefix, scope] {
            text.push_str(part);
        }
        Ok(Self {
            text: text.into_boxed_str(),
            key_end: key.len(),
            prefix_end: key.len() + prefix.len(),
            scoped: head.scope.is_some(),
            carry,
            lifetime: basis.lifetime,
            proof: basis.proof,
            logged: basis.logged,
            signer: basis.signer,
        })
    }

    /// The key the plan is kept under (empty: not kept).
    pub fn key(&self) -> &str {
        self.text.get(..self.key_end).unwrap_or_default()
    }

    /// The zone of the key the plan is kept under (`None`: not kept), read back from the key so
    /// that the two can never disagree.
    pub fn zone(&self) -> Option<&str> {
        let (len, rest) = self.key().split_once(':')?;
        rest.get(..len.parse::<usize>().ok()?)
    }

    fn scope(&self) -> Option<&str> {
        self.scoped
            .then(|| self.text.get(self.prefix_end..).unwrap_or_default())
    }

    /// What proves the credential the plan was made for (`None`: the plan answers nothing).
    pub fn proof(&self) -> Option<&Digest> {
        self.proof.as_ref()
    }

    /// The decision log's key of the plan's decision.
    pub fn logged(&self) -> Option<&Arc<Logged>> {
        self.logged.as_ref()
    }

    /// The claims a token of this plan issued at `iat` with token id `jti` (hex) has after the
    /// constant ones, the carried bytes of those first.
    fn rest(&self, iat: i64, jti: &str) -> Result<Vec<u8>, OAuthError> {
        use std::io::Write as _;
        let mut rest = Vec::with_capacity(96);
        rest.extend_from_slice(self.carry.as_bytes());
        let exp = iat + self.lifetime;
        write!(rest, r#","exp":{exp},"iat":{iat},"jti":"{jti}"}}"#)
            .map_err(|_| OAuthError::server_error())?;
        Ok(rest)
    }

    /// A new token of this plan, issued at `iat` with token id `jti` (hex), signed.
    pub fn sign(&self, iat: i64, jti: &str) -> Result<String, OAuthError> {
        let prefix = self.text.get(self.key_end..self.prefix_end);
        let prefix = prefix.ok_or_else(OAuthError::server_error)?;
        self.signer
            .sign_after(prefix, &self.rest(iat, jti)?)
            .map_err(|_| OAuthError::server_error())
    }

    /// The token response for `access_token`, a token of this plan.
    pub fn issued(&self, access_token: String) -> Issued {
        Issued {
            access_token,
            token_type: "Bearer",
            expires_in: self.lifetime,
            issued_token_type: None,
            scope: self.scope().map(str::to_owned),
            refresh_token: None,
            id_token: None,
            username: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(id: &str, resources: &[&str], scope: Option<&str>) -> Option<PlanKey> {
        zoned("z", id, resources, scope)
    }

    fn zoned(zone: &str, id: &str, resources: &[&str], scope: Option<&str>) -> Option<PlanKey> {
        let targets = Targets {
            resources: resources.iter().map(|r| (*r).to_owned()).collect(),
            audiences: Vec::new(),
            scope: scope.map(str::to_owned),
        };
        PlanKey::of(zone, id, &targets)
    }

    #[test]
    fn keys_of_different_requests_never_collide_however_their_parts_split() {
        // Attack: a client id (or target) chosen so that its bytes run into the next part's
        // must not find another request's plan.
        let keys = [
            key("ab", &[], None),
            key("a", &["b"], None),
            key("a", &[], Some("b")),
            key("a", &["b"], Some("")),
            key("a", &[""], None),
            key("1:b", &[], None),
            key("a1:b", &[], None),
            key("a-", &[], None),
            key("-", &["-"], Some("-")),
            key("", &["ab"], None),
            zoned("za", "b", &[], None),
            zoned("z1:a", "b", &[], None),
            zoned("z", "1:a1:b", &[], None),
        ];
        for (i, a) in keys.iter().enumerate() {
            assert!(a.is_some());
            for b in &keys[i + 1..] {
                assert_ne!(a, b);
            }
        }
        assert_eq!(key("a", &["b"], Some("s")), key("a", &["b"], Some("s")));
        assert_eq!(key("a", &["b", "c"], None), None, "more than one target");
    }

    #[test]
    fn a_plans_tokens_carry_every_claim_whatever_their_length() {
        use latchkey_crypto::jws::{Alg, Compact, VerifyingKey};
        let (signer, _) = SigningKey::generate(Alg::Es256, "k1".into()).unwrap();
        let public = VerifyingKey::from_jwk(&signer.public_jwk()).unwrap();
        let signer = Arc::new(signer);
        // three subjects: the constant claims leave 0, 1 and 2 bytes to carry, in some order
        for (sub, scope) in [("a", Some("read")), ("ab", None), ("abc", Some(""))] {
            let head = Head {
                iss: "https://z.example",
                sub,
                aud: "https://api.example",
                client_id: "c\"1",
                sub_profile: "app",
                keycard_app_id: "app1",
                scope,
                cnf: None,
            };
            let basis = Basis {
                proof: None,
                lifetime: 60,
                logged: None,
                signer: signer.clone(),
            };
            let k = key("c\"1", &[], scope).unwrap();
            let plan = Plan::new(Some(&k), &head, basis).unwrap();
            assert_eq!(plan.key(), k.as_str());
            assert_eq!(plan.zone(), Some("z"));
            let token = plan.sign(1_000, "beef").unwrap();
            let parsed = Compact::parse(&token).unwrap();
            assert!(parsed.verify_with(&public), "{sub}");
            let c = &parsed.claims;
            assert_eq!(
                (c["sub"].as_str(), c["client_id"].as_str()),
                (Some(sub), Some("c\"1"))
            );
            assert_eq!(
                (c["iat"].as_i64(), c["exp"].as_i64()),
                (Some(1_000), Some(1_060))
            );
            assert_eq!(c["jti"], "beef");
            assert_eq!(c.get("scope").and_then(|s| s.as_str()), scope);
            assert_eq!(plan.issued(token).scope.as_deref(), scope);
        }
    }
}
