use super::*;
use crate::issuance::Issuance;
use crate::schema;
use crate::testing::{app, resource, scopes, user};
use cedar_policy::Schema;

/// The entities, context and requests of `shape`, rebuilt through the public API with the
/// schema: every attribute and the context are type-checked.
fn assert_conforms(shape: &Issuance, schema: &Schema) {
    let principals: Vec<&Principal> = shape.principals.iter().collect();
    let mut all: Vec<cedar_policy::Entity> = principals
        .iter()
        .map(|p| cedar_policy::Entity::from(p.entity().expect("entity")))
        .collect();
    all.push(cedar_policy::Entity::from(
        shape.resource.entity().expect("entity"),
    ));
    cedar_policy::Entities::from_entities(all, Some(schema)).expect("entities conform");
    let action = cedar_policy::EntityUid::from(shape.action.uid().expect("action"));
    let json = cedar_policy::Context::from(shape.context.to_cedar(&shape.context.scopes))
        .to_json_value()
        .expect("json");
    let context = cedar_policy::Context::from_json_value(json, Some((schema, &action)))
        .expect("context conforms");
    for p in &principals {
        cedar_policy::Request::new(
            cedar_policy::EntityUid::from(p.uid().expect("uid")),
            action.clone(),
            cedar_policy::EntityUid::from(shape.resource.uid().expect("uid")),
            context.clone(),
            Some(schema),
        )
        .expect("request conforms");
    }
}

/// Every request shape the server forms type-checks against every schema version: the
/// entities, and the context for the action.
#[test]
fn requests_conform_to_the_schema() {
    let claims = Claims {
        sub: Some("usr_ada".into()),
        email: Some("ada@example.com".into()),
        email_verified: Some(true),
        groups: Some(vec!["eng".into()]),
        ..Claims::default()
    };
    let subject = Subject {
        id: "usr_ada".into(),
        identifier: "ada".into(),
    };
    let shapes = [
        Issuance::direct(app(), resource(), scopes(&["read"])),
        Issuance::on_behalf(app(), user(), resource(), scopes(&["read"]))
            .with_claims(Some(claims), Some(Claims::default())),
        Issuance::impersonation(app(), subject, resource(), vec![]),
    ];
    for schema in schema::versions() {
        for shape in &shapes {
            assert_conforms(shape, schema.cedar());
        }
    }
}

#[test]
fn a_request_outside_the_schema_is_refused() {
    // The check above is not vacuous: a user principal for a tool action on 2026-03-16 (which
    // has no tool actions) is refused, and so is an application entity missing an attribute.
    let schema = schema::get("2026-03-16").expect("schema");
    let action = cedar_policy::EntityUid::from(Action::WriteTools.uid().expect("uid"));
    let context = cedar_policy::Context::from(AccessContext::default().to_cedar(&[]));
    let r = cedar_policy::Request::new(
        cedar_policy::EntityUid::from(Principal::User(user()).uid().expect("uid")),
        action,
        cedar_policy::EntityUid::from(resource().uid().expect("uid")),
        context,
        Some(schema.cedar()),
    );
    assert!(r.is_err());
    let partial = entity(
        Principal::Application(app()).uid().expect("uid"),
        vec![("identifier", string("x"))],
    );
    let refused = cedar_policy::Entities::from_entities(
        [cedar_policy::Entity::from(partial)],
        Some(schema.cedar()),
    );
    assert!(refused.is_err());
}
