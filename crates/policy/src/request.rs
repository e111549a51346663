//! The typed authorization request: the `Keycard` entities (user, application, resource), the
//! action and the context record, and their translation to Cedar. The server fills these from its
//! directory; it never writes Cedar entities by hand. Entity ids are public ids.

use std::collections::{HashMap, HashSet};
use std::str::FromStr;
use std::sync::LazyLock;

use cedar_policy::{
    Context, Entities, Entity, EntityId, EntityTypeName, EntityUid, RestrictedExpression, Schema,
};

/// How an application was registered (`Keycard::RegistrationMethod`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegistrationMethod {
    /// Created through the management API or console.
    Managed,
    /// Dynamic client registration (RFC 7591).
    Dcr,
}

/// The credential the application authenticated with (`Keycard::CredentialType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserEntity {
    /// Public id (the entity id).
    pub id: String,
    pub identifier: String,
    pub email: String,
    pub groups: Vec<String>,
}

/// A `Keycard::Application`.
#[derive(Debug, Clone, PartialEq, Eq)]
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
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceEntity {
    /// Public id (the entity id, also the `id` attribute).
    pub id: String,
    pub identifier: String,
    pub name: String,
    /// The scopes the resource declares.
    pub scopes: Vec<String>,
}

/// Who is evaluated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    User(UserEntity),
    Application(ApplicationEntity),
}

/// The action evaluated. Issuance is always `Access`; the tool actions exist from `2026-06-18`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject {
    /// The user's public id.
    pub id: String,
    pub identifier: String,
}

/// A `Keycard::Claims` record: selected claims of a presented token.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Claims {
    pub sub: Option<String>,
    pub iss: Option<String>,
    pub email: Option<String>,
    pub email_verified: Option<bool>,
    pub name: Option<String>,
    pub groups: Option<Vec<String>>,
}

/// The context record (`Keycard::AccessContext`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
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
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub principal: Principal,
    pub action: Action,
    pub resource: ResourceEntity,
    pub context: AccessContext,
}

/// The entity type names, parsed once.
struct Types {
    user: EntityTypeName,
    application: EntityTypeName,
    resource: EntityTypeName,
    registration: EntityTypeName,
    credential: EntityTypeName,
    action: EntityTypeName,
}

static TYPES: LazyLock<Result<Types, String>> = LazyLock::new(|| {
    let parse = |s: &str| EntityTypeName::from_str(s).map_err(|e| e.to_string());
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

fn uid(ty: &EntityTypeName, id: &str) -> EntityUid {
    EntityUid::from_type_name_and_id(ty.clone(), EntityId::new(id))
}

fn string(s: &str) -> RestrictedExpression {
    RestrictedExpression::new_string(s.to_owned())
}

fn strings(items: &[String]) -> RestrictedExpression {
    RestrictedExpression::new_set(items.iter().map(|s| string(s)))
}

impl Principal {
    /// The principal's entity uid.
    pub(crate) fn uid(&self) -> Result<EntityUid, String> {
        let t = types()?;
        Ok(match self {
            Self::User(u) => uid(&t.user, &u.id),
            Self::Application(a) => uid(&t.application, &a.id),
        })
    }

    fn entity(&self) -> Result<Entity, String> {
        let t = types()?;
        let attrs: HashMap<String, RestrictedExpression> = match self {
            Self::User(u) => HashMap::from([
                ("identifier".into(), string(&u.identifier)),
                ("email".into(), string(&u.email)),
                ("groups".into(), strings(&u.groups)),
            ]),
            Self::Application(a) => {
                let deps = a
                    .dependencies
                    .iter()
                    .map(|d| RestrictedExpression::new_entity_uid(uid(&t.resource, d)));
                HashMap::from([
                    ("identifier".into(), string(&a.identifier)),
                    (
                        "registration_method".into(),
                        RestrictedExpression::new_entity_uid(uid(
                            &t.registration,
                            a.registration_method.id(),
                        )),
                    ),
                    (
                        "credential_type".into(),
                        RestrictedExpression::new_entity_uid(uid(
                            &t.credential,
                            a.credential_type.id(),
                        )),
                    ),
                    ("dependencies".into(), RestrictedExpression::new_set(deps)),
                    ("traits".into(), strings(&a.traits)),
                ])
            }
        };
        Entity::new(self.uid()?, attrs, HashSet::new()).map_err(|e| e.to_string())
    }
}

impl ResourceEntity {
    pub(crate) fn uid(&self) -> Result<EntityUid, String> {
        Ok(uid(&types()?.resource, &self.id))
    }

    fn entity(&self) -> Result<Entity, String> {
        let attrs = HashMap::from([
            ("id".to_owned(), string(&self.id)),
            ("identifier".to_owned(), string(&self.identifier)),
            ("name".to_owned(), string(&self.name)),
            ("scopes".to_owned(), strings(&self.scopes)),
        ]);
        Entity::new(self.uid()?, attrs, HashSet::new()).map_err(|e| e.to_string())
    }
}

impl Action {
    pub(crate) fn uid(self) -> Result<EntityUid, String> {
        Ok(uid(&types()?.action, self.id()))
    }
}

impl Claims {
    fn record(&self) -> Result<RestrictedExpression, String> {
        let mut fields: Vec<(String, RestrictedExpression)> = Vec::new();
        let text = [
            ("sub", &self.sub),
            ("iss", &self.iss),
            ("email", &self.email),
            ("name", &self.name),
        ];
        for (key, value) in text {
            if let Some(v) = value {
                fields.push((key.to_owned(), string(v)));
            }
        }
        if let Some(v) = self.email_verified {
            fields.push(("email_verified".into(), RestrictedExpression::new_bool(v)));
        }
        if let Some(groups) = &self.groups {
            fields.push(("groups".into(), strings(groups)));
        }
        RestrictedExpression::new_record(fields).map_err(|e| e.to_string())
    }
}

impl AccessContext {
    /// The Cedar context, with `scopes` replaced by `scopes` (the scope rule evaluates subsets).
    pub(crate) fn to_cedar(
        &self,
        scopes: &[String],
        schema: Option<(&Schema, &EntityUid)>,
    ) -> Result<Context, String> {
        let mut pairs: Vec<(String, RestrictedExpression)> = vec![
            (
                "on_behalf".into(),
                RestrictedExpression::new_bool(self.on_behalf),
            ),
            (
                "impersonate".into(),
                RestrictedExpression::new_bool(self.impersonate),
            ),
            ("scopes".into(), strings(scopes)),
        ];
        if let Some(s) = &self.subject {
            let record = RestrictedExpression::new_record([
                ("id".to_owned(), string(&s.id)),
                ("identifier".to_owned(), string(&s.identifier)),
            ])
            .map_err(|e| e.to_string())?;
            pairs.push(("subject".into(), record));
        }
        if let Some(c) = &self.subject_claims {
            pairs.push(("subject_claims".into(), c.record()?));
        }
        if let Some(c) = &self.actor_claims {
            pairs.push(("actor_claims".into(), c.record()?));
        }
        match schema {
            None => Context::from_pairs(pairs).map_err(|e| e.to_string()),
            Some((schema, action)) => {
                let json = Context::from_pairs(pairs)
                    .map_err(|e| e.to_string())?
                    .to_json_value()
                    .map_err(|e| e.to_string())?;
                Context::from_json_value(json, Some((schema, action))).map_err(|e| e.to_string())
            }
        }
    }
}

/// The entities of one evaluation: the principals and the resource (enum entities and dependency
/// resources are referenced by uid only). With a schema, they are type-checked (tests).
pub(crate) fn entities(
    principals: &[&Principal],
    resource: &ResourceEntity,
    schema: Option<&Schema>,
) -> Result<Entities, String> {
    let mut all = Vec::with_capacity(principals.len() + 1);
    for p in principals {
        all.push(p.entity()?);
    }
    all.push(resource.entity()?);
    Entities::from_entities(all, schema).map_err(|e| e.to_string())
}

#[cfg(test)]
#[path = "request_tests.rs"]
mod tests;
