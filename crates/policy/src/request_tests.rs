use super::*;
use crate::issuance::Issuance;
use crate::schema;
use crate::testing::{app, resource, scopes, user};

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
            .with_claims(Some(claims.clone()), Some(Claims::default())),
        Issuance::impersonation(app(), subject, resource(), vec![]),
    ];
    for schema in schema::versions() {
        for shape in &shapes {
            let principals: Vec<&Principal> = shape.principals.iter().collect();
            entities(&principals, &shape.resource, Some(schema.cedar())).expect("entities");
            let action = shape.action.uid().expect("action");
            let context = shape
                .context
                .to_cedar(&shape.context.scopes, Some((schema.cedar(), &action)))
                .expect("context");
            for p in &principals {
                cedar_policy::Request::new(
                    p.uid().expect("uid"),
                    action.clone(),
                    shape.resource.uid().expect("uid"),
                    context.clone(),
                    Some(schema.cedar()),
                )
                .expect("request");
            }
        }
    }
}

#[test]
fn a_request_outside_the_schema_is_refused() {
    // The schema check above is not vacuous: a user principal for a tool action on
    // 2026-03-16 (which has no tool actions) is refused.
    let schema = schema::get("2026-03-16").expect("schema");
    let action = Action::WriteTools.uid().expect("uid");
    let context = AccessContext::default()
        .to_cedar(&[], None)
        .expect("context");
    let r = cedar_policy::Request::new(
        Principal::User(user()).uid().expect("uid"),
        action,
        resource().uid().expect("uid"),
        context,
        Some(schema.cedar()),
    );
    assert!(r.is_err());
}
