//! Issuance plans for `client_credentials`: what a client asking again for the same target and
//! scope is given (the audience, the claims, the lifetime, the decision log key of the policy
//! decision, the signing key) is worked out once and kept in the directory cache, under the
//! client id the request presents. A repeated request is answered from its plan once its secret
//! proves the plan's credential (the same keyed-hash check as any client authentication), so a
//! token then costs one cache lookup besides the zone's, the tally and the signature.
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
use serde::Serialize;

use crate::client::Client;
use crate::decision_log::Logged;
use crate::error::OAuthError;
use crate::issued::Issued;
use crate::requests::Targets;

/// What a plan answers: a request presenting one client id for one target (`None`: the zone's
/// default resource) with one `scope` parameter, exactly as sent.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PlanKey {
    client_id: String,
    target: Option<String>,
    scope: Option<String>,
}

impl PlanKey {
    /// The key of a request presenting `client_id`; `None` for more than one target (an error,
    /// never planned).
    pub fn of(client_id: &str, targets: &Targets) -> Option<Self> {
        let target = match (targets.resources.as_slice(), targets.audiences.as_slice()) {
            ([], []) => None,
            ([one], []) | ([], [one]) => Some(one.clone()),
            ([r], [a]) if r == a => Some(r.clone()),
            _ => return None,
        };
        Some(Self {
            client_id: client_id.to_owned(),
            target,
            scope: targets.scope.clone(),
        })
    }
}

/// A worked-out `client_credentials` answer.
pub struct Plan {
    /// The token's constant claims, serialized, without the closing brace.
    head: String,
    lifetime: i64,
    scope: Option<String>,
    /// The credential (and application) that authenticated when it was made.
    client: Client,
    logged: Option<Arc<Logged>>,
    signer: Arc<SigningKey>,
}

/// What a plan is made from, besides its claims.
pub struct Basis {
    pub client: Client,
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
            client: basis.client,
            logged: basis.logged,
            signer: basis.signer,
        })
    }

    /// The credential (and application) that authenticated when the plan was made.
    pub fn client(&self) -> &Client {
        &self.client
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
