//! The typed authorization request: the `Keycard` entities (user, application, resource), the
//! action and the context record, and their translation to Cedar. The server fills these from its
//! directory; it never writes Cedar entities by hand. Entity ids are public ids.

use std::collections::{BTreeMap, HashSet};
use std::str::FromStr;
use std::sync::{Arc, LazyLock};

// The core types build entities and the context from plain values: the public constructors
// evaluate every attribute as an expression, which was most of the cost of a decision.
use cedar_policy_core::ast::{
    self, Context, Eid, Entity, EntityType, EntityUID, EntityUIDEntry, Name, PartialValue, Value,
};
use cedar_policy_core::entities::{Entities as CoreEntities, NoEntitiesSchema, TCComputation};
use cedar_policy_core::extensions::Extensions;
use smol_str::SmolStr;

use crate::compile::PrincipalKind;

/// How an application was registered (`Keycard::RegistrationMethod`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RegistrationMethod {
    /// Created through the management API or console.
    Managed,
    /// Dynamic client registration (RFC 7591).
    Dcr,
}

/// The credential the application authenticated with (`Keycard::CredentialType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CredentialType {
    Token,
    Password,
    PublicKey,
    Url,
    /// A public client (no credential).
    Public,
}

impl RegistrationMethod {
    fn id(self) -> &'static str {
        match self {
            Self::Managed => "managed",
            Self::Dcr => "dcr",
        }
    }
}

impl CredentialType {
    fn id(self) -> &'static str {
        match self {
            Self::Token => "token",
            Self::Password => "password",
            Self::PublicKey => "public-key",
            Self::Url => "url",
            Self::Public => "public",
        }
    }
}

/// A `Keycard::User`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UserEntity {
    /// Public id (the entity id).
    pub id: String,
    pub identifier: String,
    pub email: String,
    pub groups: Vec<String>,
}

/// A `Keycard::Application`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ApplicationEntity {
    /// Public id (the entity id).
    pub id: String,
    pub identifier: String,
    pub registration_method: RegistrationMethod,
    pub credential_type: CredentialType,
    /// Public ids of the resources the application depends on.
    pub dependencies: Vec<String>,
    pub traits: Vec<String>,
}

/// A `Keycard::Resource`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ResourceEntity {
    /// Public id (the entity id, also the `id` attribute).
    pub id: String,
    pub identifier: String,
    pub name: String,
    /// The scopes the resource declares.
    pub scopes: Vec<String>,
}

/// Who is evaluated.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Principal {
    User(UserEntity),
    Application(ApplicationEntity),
}

/// The action evaluated. Issuance is always `Access`; the tool actions exist from `2026-06-18`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    Access,
    ReadTools,
    WriteTools,
    ControlTools,
}

impl Action {
    /// The action's entity id (`Keycard::Action::"<id>"`).
    pub fn id(self) -> &'static str {
        match self {
            Self::Access => "Access",
            Self::ReadTools => "ReadTools",
            Self::WriteTools => "WriteTools",
            Self::ControlTools => "ControlTools",
        }
    }
}

/// `context.subject`: the user a request acts for or as.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Subject {
    /// The user's public id.
    pub id: String,
    pub identifier: String,
}

/// A `Keycard::Claims` record: selected claims of a presented token.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Claims {
    pub sub: Option<String>,
    pub iss: Option<String>,
    pub email: Option<String>,
    pub email_verified: Option<bool>,
    pub name: Option<String>,
    pub groups: Option<Vec<String>>,
}

/// The context record (`Keycard::AccessContext`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct AccessContext {
    /// Delegation: the application acts for `subject`, who presented a token.
    pub on_behalf: bool,
    /// Impersonation: the application acts as `subject`, who presented nothing.
    pub impersonate: bool,
    pub subject: Option<Subject>,
    /// The requested scopes (for the scope rule, see `authorize`).
    pub scopes: Vec<String>,
    pub subject_claims: Option<Claims>,
    pub actor_claims: Option<Claims>,
}

/// One Cedar evaluation: a principal, an action, a resource and the context.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Request {
    pub principal: Principal,
    pub action: Action,
    pub resource: ResourceEntity,
    pub context: AccessContext,
}

/// The entity type names, parsed once.
struct Types {
    user: EntityType,
    application: EntityType,
    resource: EntityType,
    registration: EntityType,
    credential: EntityType,
    action: EntityType,
}

static TYPES: LazyLock<Result<Types, String>> = LazyLock::new(|| {
    let parse = |s: &str| {
        Name::from_str(s)
            .map(EntityType::from)
            .map_err(|e| e.to_string())
    };
    Ok(Types {
        user: parse("Keycard::User")?,
        application: parse("Keycard::Application")?,
        resource: parse("Keycard::Resource")?,
        registration: parse("Keycard::RegistrationMethod")?,
        credential: parse("Keycard::CredentialType")?,
        action: parse("Keycard::Action")?,
    })
});

fn types() -> Result<&'static Types, String> {
    TYPES.as_ref().map_err(Clone::clone)
}

fn uid(ty: &EntityType, id: &str) -> EntityUID {
    EntityUID::from_components(ty.clone(), Eid::new(id), None)
}

fn string(s: &str) -> Value {
    Value::from(s)
}

fn strings(items: &[String]) -> Value {
    Value::set(items.iter().map(|s| Value::from(s.as_str())), None)
}

/// An entity with plain values (nothing to evaluate, no parents).
fn entity(uid: EntityUID, attrs: Vec<(&'static str, Value)>) -> Entity {
    let attrs = attrs
        .into_iter()
        .map(|(k, v)| (SmolStr::new_static(k), PartialValue::from(v)));
    Entity::new_with_attr_partial_value(uid, attrs, HashSet::new(), HashSet::new(), [])
}

impl Principal {
    pub(crate) fn kind(&self) -> PrincipalKind {
        match self {
            Self::User(_) => PrincipalKind::User,
            Self::Application(_) => PrincipalKind::Application,
        }
    }

    /// The principal's entity uid.
    pub(crate) fn uid(&self) -> Result<EntityUID, String> {
        let t = types()?;
        Ok(match self {
            Self::User(u) => uid(&t.user, &u.id),
            Self::Application(a) => uid(&t.application, &a.id),
        })
    }

    pub(crate) fn entity(&self) -> Result<Entity, String> {
        let t = types()?;
        let attrs = match self {
            Self::User(u) => vec![
                ("identifier", string(&u.identifier)),
                ("email", string(&u.email)),
                ("groups", strings(&u.groups)),
            ],
            Self::Application(a) => {
                let deps = a
                    .dependencies
                    .iter()
                    .map(|d| Value::from(uid(&t.resource, d)));
                vec![
                    ("identifier", string(&a.identifier)),
                    (
                        "registration_method",
                        Value::from(uid(&t.registration, a.registration_method.id())),
                    ),
                    (
                        "credential_type",
                        Value::from(uid(&t.credential, a.credential_type.id())),
                    ),
                    ("dependencies", Value::set(deps, None)),
                    ("traits", strings(&a.traits)),
                ]
            }
        };
        Ok(entity(self.uid()?, attrs))
    }
}

impl ResourceEntity {
    pub(crate) fn uid(&self) -> Result<EntityUID, String> {
        Ok(uid(&types()?.resource, &self.id))
    }

    pub(crate) fn entity(&self) -> Result<Entity, String> {
        let attrs = vec![
            ("id", string(&self.id)),
            ("identifier", string(&self.identifier)),
            ("name", string(&self.name)),
            ("scopes", strings(&self.scopes)),
        ];
        Ok(entity(self.uid()?, attrs))
    }
}

impl Action {
    pub(crate) fn uid(self) -> Result<EntityUID, String> {
        Ok(uid(&types()?.action, self.id()))
    }
}

impl Claims {
    fn record(&self) -> Value {
        let mut fields: Vec<(&'static str, Value)> = Vec::new();
        let text = [
            ("sub", &self.sub),
            ("iss", &self.iss),
            ("email", &self.email),
            ("name", &self.name),
        ];
        for (key, value) in text {
            if let Some(v) = value {
                fields.push((key, string(v)));
            }
        }
        if let Some(v) = self.email_verified {
            fields.push(("email_verified", Value::from(v)));
        }
        if let Some(groups) = &self.groups {
            fields.push(("groups", strings(groups)));
        }
        Value::record(fields, None)
    }
}

impl AccessContext {
    /// The context record, with `scopes` replaced by `scopes` (the scope rule evaluates subsets).
    pub(crate) fn to_cedar(&self, scopes: &[String]) -> Context {
        let mut record: BTreeMap<SmolStr, Value> = BTreeMap::new();
        record.insert("on_behalf".into(), Value::from(self.on_behalf));
        record.insert("impersonate".into(), Value::from(self.impersonate));
        record.insert("scopes".into(), strings(scopes));
        if let Some(s) = &self.subject {
            let subject = [("id", string(&s.id)), ("identifier", string(&s.identifier))];
            record.insert("subject".into(), Value::record(subject, None));
        }
        if let Some(c) = &self.subject_claims {
            record.insert("subject_claims".into(), c.record());
        }
        if let Some(c) = &self.actor_claims {
            record.insert("actor_claims".into(), c.record());
        }
        Context::Value(Arc::new(record))
    }
}

/// One Cedar request (no schema check: the shapes are fixed here and tested against every schema).
pub(crate) fn cedar_request(
    principal: EntityUID,
    action: EntityUID,
    resource: EntityUID,
    context: Context,
) -> cedar_policy::Request {
    cedar_policy::Request::from(ast::Request::new_unchecked(
        EntityUIDEntry::known(principal, None),
        EntityUIDEntry::known(action, None),
        EntityUIDEntry::known(resource, None),
        Some(context),
    ))
}

/// The entities of one evaluation: the principals and the resource (enum entities and dependency
/// resources are referenced by uid only). No parents, so there is no hierarchy to compute.
pub(crate) fn entities(
    principals: &[&Principal],
    resource: &ResourceEntity,
) -> Result<cedar_policy::Entities, String> {
    let mut all = Vec::with_capacity(principals.len() + 1);
    for p in principals {
        all.push(p.entity()?);
    }
    all.push(resource.entity()?);
    CoreEntities::from_entities(
        all,
        None::<&NoEntitiesSchema>,
        TCComputation::AssumeAlreadyComputed,
        Extensions::all_available(),
    )
    .map(cedar_policy::Entities::from)
    .map_err(|e| e.to_string())
}

#[cfg(test)]
#[path = "request_tests.rs"]
mod tests;
