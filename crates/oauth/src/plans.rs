//! Issuance plans for `client_credentials`: what a client asking again for the same target and
//! scope is given (the audience, the claims, the lifetime, the decision log key of the policy
//! decision, the signing key) is worked out once and kept in the directory cache, under the
//! client id the request presents. A repeated request is answered from its plan once its secret
//! proves the plan's credential (the same keyed-hash check as any client authentication, against
//! the stored hash decoded once into the plan), so a token then costs one cache lookup, the
//! tally and the signature. What a repeat reads is kept in few places (the key in one
//! allocation, the proof inline, the tally in the decision's key), since with a thousand clients
//! each is a cache miss.
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

use latchkey_crypto::jws::SigningKey;
use latchkey_crypto::keyed_hash::Digest;
use serde::Serialize;

use crate::decision_log::Logged;
use crate::error::OAuthError;
use crate::issued::Issued;
use crate::requests::Targets;

/// What a plan answers: a request presenting one client id for one target (`None`: the zone's
/// default resource) with one `scope` parameter, exactly as sent. The three are kept in one
/// allocation, each length-prefixed (unambiguous whatever bytes they hold): comparing a key
/// reads one run of memory, not three strings scattered over the heap.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PlanKey(Box<[u8]>);

impl PlanKey {
    /// The key of a request presenting `client_id`; `None` for more than one target (an error,
    /// never planned).
    pub fn of(client_id: &str, targets: &Targets) -> Option<Self> {
        let target = match (targets.resources.as_slice(), targets.audiences.as_slice()) {
            ([], []) => None,
            ([one], []) | ([], [one]) => Some(one.as_str()),
            ([r], [a]) if r == a => Some(r.as_str()),
            _ => return None,
        };
        let scope = targets.scope.as_deref();
        let size = |s: Option<&str>| 5 + s.map_or(0, str::len);
        let mut key = Vec::with_capacity(size(Some(client_id)) + size(target) + size(scope));
        for part in [Some(client_id), target, scope] {
            put(&mut key, part)?;
        }
        Some(Self(key.into_boxed_slice()))
    }
}

/// Appends `part` as a presence byte, then its length (4 bytes) and bytes when present.
fn put(key: &mut Vec<u8>, part: Option<&str>) -> Option<()> {
    match part {
        None => key.push(0),
        Some(s) => {
            key.push(1);
            key.extend_from_slice(&u32::try_from(s.len()).ok()?.to_le_bytes());
            key.extend_from_slice(s.as_bytes());
        }
    }
    Some(())
}

/// A worked-out `client_credentials` answer.
pub struct Plan {
    /// The token's constant claims, serialized, without the closing brace.
    head: String,
    lifetime: i64,
    scope: Option<String>,
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
}

impl Plan {
    /// A plan from its claims and what they were worked out from.
    pub fn new(head: &Head<'_>, basis: Basis) -> Result<Self, OAuthError> {
        let mut json = serde_json::to_string(head).map_err(|_| OAuthError::server_error())?;
        json.pop(); // the closing brace: `issue` appends the per-token claims
        Ok(Self {
            head: json,
            lifetime: basis.lifetime,
            scope: head.scope.map(str::to_owned),
            proof: basis.proof,
            logged: basis.logged,
            signer: basis.signer,
        })
    }

    /// What proves the credential the plan was made for (`None`: the plan answers nothing).
    pub fn proof(&self) -> Option<&Digest> {
        self.proof.as_ref()
    }

    /// The decision log's key of the plan's decision.
    pub fn logged(&self) -> Option<&Arc<Logged>> {
        self.logged.as_ref()
    }

    /// The claim set of a new token of this plan, issued at `iat` with token id `jti` (hex).
    fn payload(&self, iat: i64, jti: &str) -> Result<String, OAuthError> {
        let mut payload = String::with_capacity(self.head.len() + 80);
        payload.push_str(&self.head);
        let exp = iat + self.lifetime;
        write!(payload, r#","exp":{exp},"iat":{iat},"jti":"{jti}"}}"#)
            .map_err(|_| OAuthError::server_error())?;
        Ok(payload)
    }

    /// A new token of this plan, issued at `iat` with token id `jti` (hex), signed.
    pub fn sign(&self, iat: i64, jti: &str) -> Result<String, OAuthError> {
        let payload = self.payload(iat, jti)?;
        self.signer
            .sign(payload.as_bytes())
            .map_err(|_| OAuthError::server_error())
    }

    /// The token response for `access_token`, a token of this plan.
    pub fn issued(&self, access_token: String) -> Issued {
        Issued {
            access_token,
            token_type: "Bearer",
            expires_in: self.lifetime,
            issued_token_type: None,
            scope: self.scope.clone(),
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
        let targets = Targets {
            resources: resources.iter().map(|r| (*r).to_owned()).collect(),
            audiences: Vec::new(),
            scope: scope.map(str::to_owned),
        };
        PlanKey::of(id, &targets)
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
            key("a\u{1}\0\0\0b", &[], None),
            key("", &["ab"], None),
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
}
