//! Issuance plans for `client_credentials`: what a client asking again for the same target and
//! scope is given (the audience, the claims, the lifetime, the policy decision and its decision
//! log key) is worked out once and kept in the directory cache. A zone change moves the zone's
//! epoch and hides the plan like every directory entry; a plan is also used only with the very
//! zone entry, client entry and compiled policies it was made from (compared by identity), so a
//! change that landed while it was being made, or a policy activation, has it worked out again.
//! `client_credentials` makes and uses plans; this module holds what a plan is.
//!
//! Only tokens of the zone itself are planned; denials and vaulted resources take the full path
//! every time.

use std::fmt::Write as _;
use std::sync::Arc;

use latchkey_domain::id::AppCredentialId;
use serde::Serialize;

use crate::client::Client;
use crate::decision_log::Logged;
use crate::error::OAuthError;
use crate::issued::Issued;
use crate::policy_cache::ZonePolicies;
use crate::requests::Targets;
use crate::zones::ZoneEntry;

/// What a plan answers: one credential's request for one target (`None`: the zone's default
/// resource) with one `scope` parameter, exactly as sent.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PlanKey {
    credential: AppCredentialId,
    target: Option<String>,
    scope: Option<String>,
}

impl PlanKey {
    /// The key of `client`'s request; `None` for more than one target (an error, never planned).
    pub fn of(client: &Client, targets: &Targets) -> Option<Self> {
        let target = match (targets.resources.as_slice(), targets.audiences.as_slice()) {
            ([], []) => None,
            ([one], []) | ([], [one]) => Some(one.clone()),
            ([r], [a]) if r == a => Some(r.clone()),
            _ => return None,
        };
        Some(Self {
            credential: client.credential().id.clone(),
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
    /// What it was made from: valid only while these are what the caches serve.
    zone: Arc<ZoneEntry>,
    client: Client,
    /// Absent only in a build without Cedar (`decide::Decision`).
    policies: Option<Arc<ZonePolicies>>,
    logged: Option<Arc<Logged>>,
}

/// What a plan is made from, besides its claims.
pub struct Basis {
    pub zone: Arc<ZoneEntry>,
    pub client: Client,
    pub lifetime: i64,
    pub policies: Option<Arc<ZonePolicies>>,
    pub logged: Option<Arc<Logged>>,
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
            zone: basis.zone,
            client: basis.client,
            policies: basis.policies,
            logged: basis.logged,
        })
    }

    /// Whether the plan was made from exactly these zone and client cache entries.
    pub fn made_from(&self, zone: &Arc<ZoneEntry>, client: &Client) -> bool {
        Arc::ptr_eq(&self.zone, zone) && self.client.same(client)
    }

    /// The compiled policies that decided (absent only in a build without Cedar).
    pub fn policies(&self) -> Option<&Arc<ZonePolicies>> {
        self.policies.as_ref()
    }

    /// The decision log's key of the plan's decision.
    pub fn logged(&self) -> Option<&Arc<Logged>> {
        self.logged.as_ref()
    }

    /// The claim set of a new token of this plan, issued at `iat` with token id `jti` (hex).
    pub fn payload(&self, iat: i64, jti: &str) -> Result<String, OAuthError> {
        let mut payload = String::with_capacity(self.head.len() + 80);
        payload.push_str(&self.head);
        let exp = iat + self.lifetime;
        write!(payload, r#","exp":{exp},"iat":{iat},"jti":"{jti}"}}"#)
            .map_err(|_| OAuthError::server_error())?;
        Ok(payload)
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
