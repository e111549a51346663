//! How each issuance point forms its Cedar evaluation(s): who the principals are, which flags the
//! context carries. The server builds an [`Issuance`] with one of these constructors and passes it
//! to `authorize_issuance`; `docs/policies.md` has the table.

use crate::request::{
    AccessContext, Action, ApplicationEntity, Claims, Principal, ResourceEntity, Subject,
    UserEntity,
};

/// A credential request: every principal must be permitted (the application, and for delegation
/// the user too), on one resource, with `context.scopes` the requested scopes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Issuance {
    /// Evaluated in order; the first that is denied is the one reported.
    pub principals: Vec<Principal>,
    pub action: Action,
    pub resource: ResourceEntity,
    pub context: AccessContext,
}

fn subject_of(user: &UserEntity) -> Subject {
    Subject {
        id: user.id.clone(),
        identifier: user.identifier.clone(),
    }
}

impl Issuance {
    /// `client_credentials` (and a vault or upstream credential the application asks for as
    /// itself): the application alone, `on_behalf` and `impersonate` false, no subject.
    pub fn direct(app: ApplicationEntity, resource: ResourceEntity, scopes: Vec<String>) -> Self {
        Self {
            principals: vec![Principal::Application(app)],
            action: Action::Access,
            resource,
            context: AccessContext {
                scopes,
                ..AccessContext::default()
            },
        }
    }

    /// Delegation: token exchange of a user's token, authorization code / consent, their refresh,
    /// and a delegated upstream or vault credential fetched for a user. Two evaluations with one
    /// context (`on_behalf` true, `subject` the user): the application, then the user; both must
    /// be permitted.
    pub fn on_behalf(
        app: ApplicationEntity,
        user: UserEntity,
        resource: ResourceEntity,
        scopes: Vec<String>,
    ) -> Self {
        let subject = subject_of(&user);
        Self {
            principals: vec![Principal::Application(app), Principal::User(user)],
            action: Action::Access,
            resource,
            context: AccessContext {
                on_behalf: true,
                subject: Some(subject),
                scopes,
                ..AccessContext::default()
            },
        }
    }

    /// Impersonation (substitute-user token exchange): the application alone, `impersonate` true,
    /// `on_behalf` false, `subject` the impersonated user (who presented nothing and so is not a
    /// principal; a policy can still name them through `context.subject`).
    pub fn impersonation(
        app: ApplicationEntity,
        subject: Subject,
        resource: ResourceEntity,
        scopes: Vec<String>,
    ) -> Self {
        Self {
            principals: vec![Principal::Application(app)],
            action: Action::Access,
            resource,
            context: AccessContext {
                impersonate: true,
                subject: Some(subject),
                scopes,
                ..AccessContext::default()
            },
        }
    }

    /// Adds the claims of the presented subject token and actor token.
    pub fn with_claims(mut self, subject: Option<Claims>, actor: Option<Claims>) -> Self {
        self.context.subject_claims = subject;
        self.context.actor_claims = actor;
        self
    }
}
