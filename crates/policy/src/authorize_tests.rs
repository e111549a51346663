use super::*;
use crate::compile::{CompileError, PolicyEntry, SetVersionInput, compile};
use crate::issuance::Issuance;
use crate::request::{Principal, Request, Subject};
use crate::schema;
use crate::testing::{app, resource, scopes, set_with, user};

fn names(refs: &[PolicyRef]) -> Vec<&str> {
    refs.iter().map(|r| r.policy_name.as_str()).collect()
}

#[test]
fn forbid_wins_over_permit_and_is_named_in_the_message() {
    let set = set_with(
        3,
        false,
        &[(
            "no-events",
            "forbid(principal, action, resource) when { resource.identifier == \"https://events.example.com\" };",
        )],
    );
    let d = authorize_issuance(&set, &Issuance::direct(app(), resource(), vec![]));
    assert!(!d.allowed);
    assert_eq!(names(&d.determining), ["no-events"]);
    assert_eq!(d.determining[0].policy_id, "pol_no-events");
    assert_eq!(d.determining[0].policy_version, 2);
    assert_eq!(
        deny_message(&set, &resource().name, &d.determining),
        "Access to \"Events API\" is denied by Policy \"no-events\" in version 3 of Policy Set \"zone-policies\"."
    );
}

#[test]
fn nothing_permitted_is_the_default_deny() {
    let set = set_with(
        7,
        true,
        &[(
            "users-only",
            "permit(principal is Keycard::User, action, resource);",
        )],
    );
    let d = authorize_issuance(
        &set,
        &Issuance::direct(app(), resource(), scopes(&["read"])),
    );
    assert!(!d.allowed);
    assert!(d.determining.is_empty());
    assert_eq!(d.denied_scopes, ["read"]);
    assert_eq!(
        deny_message(&set, "Events API", &d.determining),
        "Access to \"Events API\" is denied: no Policy in version 7 of Policy Set \"zone-policies\" permits it."
    );
    assert_eq!(
        no_active_set_message("Events API"),
        "Access to \"Events API\" is denied: the zone has no active Policy Set."
    );
}

#[test]
fn a_denied_scope_is_removed_and_the_rest_issued() {
    let set = set_with(
        1,
        false,
        &[(
            "no-admin",
            "forbid(principal, action, resource) when { context.scopes.contains(\"admin\") };",
        )],
    );
    let d = authorize_issuance(
        &set,
        &Issuance::direct(
            app(),
            resource(),
            scopes(&["read", "admin", "write", "read"]),
        ),
    );
    assert!(d.allowed, "{d:?}");
    assert_eq!(d.kept_scopes, ["read", "write"]);
    assert_eq!(d.denied_scopes, ["admin"]);
    assert_eq!(names(&d.determining), ["default-app-direct-access"]);
    // All three together, then each alone, then the kept pair.
    assert_eq!(d.evaluations, 5);
}

#[test]
fn only_permitted_scopes_are_issued() {
    let set = set_with(
        1,
        true,
        &[(
            "read-write",
            "permit(principal, action, resource) when { [\"read\", \"write\"].containsAll(context.scopes) };",
        )],
    );
    let d = authorize_issuance(
        &set,
        &Issuance::direct(app(), resource(), scopes(&["read", "delete"])),
    );
    assert_eq!(
        (d.allowed, d.kept_scopes.clone()),
        (true, scopes(&["read"])),
        "{d:?}"
    );
    assert_eq!(names(&d.determining), ["read-write"]);
    let d = authorize_issuance(
        &set,
        &Issuance::direct(app(), resource(), scopes(&["read", "write"])),
    );
    assert_eq!((d.allowed, d.evaluations), (true, 1));
}

#[test]
fn a_deny_that_does_not_depend_on_scopes_denies_the_request() {
    let set = set_with(
        2,
        false,
        &[(
            "no-workers",
            "forbid(principal is Keycard::Application, action, resource) when { principal.traits.contains(\"agent\") };",
        )],
    );
    let d = authorize_issuance(
        &set,
        &Issuance::direct(app(), resource(), scopes(&["read", "write"])),
    );
    assert!(!d.allowed);
    assert!(d.kept_scopes.is_empty());
    assert_eq!(d.denied_scopes, ["read", "write"]);
    assert_eq!(names(&d.determining), ["no-workers"]);
}

#[test]
fn a_forbidden_combination_of_kept_scopes_denies() {
    let set = set_with(
        1,
        false,
        &[
            (
                "no-admin",
                "forbid(principal, action, resource) when { context.scopes.contains(\"admin\") };",
            ),
            (
                "not-both",
                "forbid(principal, action, resource) when { context.scopes.containsAll([\"read\", \"write\"]) };",
            ),
        ],
    );
    let d = authorize_issuance(
        &set,
        &Issuance::direct(app(), resource(), scopes(&["read", "write", "admin"])),
    );
    assert!(!d.allowed);
    assert_eq!(names(&d.determining), ["not-both"]);
}

#[test]
fn delegation_needs_both_the_application_and_the_user() {
    let set = set_with(
        4,
        false,
        &[(
            "no-blocked-users",
            "forbid(principal is Keycard::User, action, resource) when { principal.email like \"*@example.com\" };",
        )],
    );
    let d = authorize_issuance(
        &set,
        &Issuance::on_behalf(app(), user(), resource(), scopes(&["read"])),
    );
    assert!(!d.allowed);
    assert_eq!(names(&d.determining), ["no-blocked-users"]);
    // The application alone is still permitted to delegate.
    let only_app = Request {
        principal: Principal::Application(app()),
        action: crate::request::Action::Access,
        resource: resource(),
        context: Issuance::on_behalf(app(), user(), resource(), vec![]).context,
    };
    assert!(authorize(&set, &only_app).allowed);
}

#[test]
fn each_policy_is_named_once_whatever_its_statement_count() {
    let set = set_with(
        1,
        true,
        &[(
            "two-permits",
            "permit(principal is Keycard::Application, action, resource);\npermit(principal, action, resource) when { context.scopes.isEmpty() };",
        )],
    );
    assert_eq!(set.statement_count(), 2);
    let d = authorize_issuance(&set, &Issuance::direct(app(), resource(), vec![]));
    assert!(d.allowed);
    assert_eq!(names(&d.determining), ["two-permits"]);
}

#[test]
fn a_policy_that_errors_is_skipped_and_reported() {
    let set = set_with(
        1,
        true,
        &[(
            "overflow",
            "permit(principal, action, resource) when { 9223372036854775807 + 1 > 0 };",
        )],
    );
    let d = authorize_issuance(&set, &Issuance::direct(app(), resource(), vec![]));
    assert!(!d.allowed);
    assert_eq!(d.errors.len(), 1, "{d:?}");
    assert!(d.errors[0].starts_with("policy `overflow`"), "{d:?}");
}

#[test]
fn impersonation_is_decided_on_the_application_with_the_subject_in_context() {
    let set = set_with(
        1,
        false,
        &[
            (
                "impersonate",
                "permit(principal is Keycard::Application, action, resource) when { context.impersonate };",
            ),
            (
                "not-the-ceo",
                "forbid(principal, action, resource) when { context has subject && context.subject.identifier == \"ceo\" };",
            ),
        ],
    );
    let subject = |identifier: &str| Subject {
        id: "usr_x".into(),
        identifier: identifier.into(),
    };
    let ok = authorize_issuance(
        &set,
        &Issuance::impersonation(app(), subject("ada"), resource(), vec![]),
    );
    assert!(ok.allowed);
    assert_eq!(names(&ok.determining), ["impersonate"]);
    let no = authorize_issuance(
        &set,
        &Issuance::impersonation(app(), subject("ceo"), resource(), vec![]),
    );
    assert_eq!(names(&no.determining), ["not-the-ceo"]);
}

#[test]
fn compiling_rejects_invalid_text_and_repeated_policies() {
    let entry = |id: &str, text: &str| PolicyEntry {
        policy_id: id.into(),
        policy_name: id.into(),
        policy_version: 1,
        text: text.into(),
    };
    let schema = schema::get("2026-03-16").expect("schema");
    let input = |entries| SetVersionInput {
        set_id: "s".into(),
        set_name: "s".into(),
        version: 1,
        entries,
    };
    let bad = compile(
        &input(vec![
            entry("a", "permit(principal, action, resource);"),
            entry(
                "b",
                "permit(principal, action, resource)\nwhen { principal.email == \"x\" };",
            ),
        ]),
        schema.clone(),
    );
    match bad {
        Err(CompileError::Invalid { policy_id, error }) => {
            assert_eq!(policy_id, "b");
            assert_eq!((error.line, error.column), (2, 8));
        }
        other => panic!("{other:?}"),
    }
    let twice = compile(
        &input(vec![
            entry("a", "permit(principal, action, resource);"),
            entry("a", "permit(principal, action, resource);"),
        ]),
        schema,
    );
    assert_eq!(twice.err(), Some(CompileError::Duplicate("a".into())));
}

#[test]
fn each_principal_sees_the_policies_its_scope_admits() {
    let set = set_with(
        1,
        true,
        &[
            (
                "this-app",
                "permit(principal == Keycard::Application::\"app_7f3k\", action, resource);",
            ),
            (
                "users",
                "permit(principal is Keycard::User, action, resource);",
            ),
            (
                "anyone-read",
                "permit(principal, action, resource) when { context.scopes.contains(\"read\") };",
            ),
        ],
    );
    let d = authorize_issuance(
        &set,
        &Issuance::direct(app(), resource(), scopes(&["read"])),
    );
    assert_eq!(names(&d.determining), ["this-app", "anyone-read"]);
    let d = authorize_issuance(
        &set,
        &Issuance::on_behalf(app(), user(), resource(), scopes(&["read"])),
    );
    // The application's permits, then the user's.
    assert_eq!(names(&d.determining), ["this-app", "anyone-read", "users"]);
    let mut other = app();
    other.id = "app_other".into();
    let d = authorize_issuance(
        &set,
        &Issuance::direct(other, resource(), scopes(&["write"])),
    );
    assert!(!d.allowed);
}
