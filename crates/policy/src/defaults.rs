//! The platform-owned default set `default-zone-policies`: the Cedar text of its three policies,
//! chosen so that, after the structural checks the server makes first (ownership, dependencies,
//! `when_accessing`), decisions are exactly Latchkey's behaviour before Cedar: an application gets
//! tokens for itself and on behalf of users, users get tokens, and nobody impersonates until a
//! customer policy permits it (`context.impersonate`). The same text serves every schema version.

use std::sync::Arc;

use crate::compile::{CompileError, CompiledSet, PolicyEntry, SetVersionInput, compile};
use crate::schema::SchemaVersion;

/// The default set's name (also its slug).
pub const DEFAULT_SET_NAME: &str = "default-zone-policies";

/// One platform default policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DefaultPolicy {
    pub name: &'static str,
    pub description: &'static str,
    pub cedar: &'static str,
}

/// The default set's policies, in manifest order.
pub const DEFAULT_POLICIES: [DefaultPolicy; 3] = [
    DefaultPolicy {
        name: "default-user-grants",
        description: "Users may obtain credentials for any resource (delegation and sign-in); \
                      the application acting for them needs its own permit.",
        cedar: r#"@id("default-user-grants")
permit (
  principal is Keycard::User,
  action,
  resource
);
"#,
    },
    DefaultPolicy {
        name: "default-app-delegation",
        description: "An application may act on behalf of a user who presented a token \
                      (token exchange, authorization code).",
        cedar: r#"@id("default-app-delegation")
permit (
  principal is Keycard::Application,
  action,
  resource
)
when { context.on_behalf && !context.impersonate };
"#,
    },
    DefaultPolicy {
        name: "default-app-direct-access",
        description: "An application may obtain credentials as itself (client_credentials) for \
                      the resources it depends on or provides; never impersonation.",
        cedar: r#"@id("default-app-direct-access")
permit (
  principal is Keycard::Application,
  action,
  resource
)
when { !context.on_behalf && !context.impersonate };
"#,
    },
];

/// Compiles the default set for `schema`, with the policy names as ids (tests, benchmarks, and a
/// zone whose rows have not been written yet). `version` is the set version's number.
pub fn compile_defaults(
    schema: Arc<SchemaVersion>,
    version: u32,
) -> Result<CompiledSet, CompileError> {
    let entries = DEFAULT_POLICIES
        .iter()
        .map(|p| PolicyEntry {
            policy_id: p.name.to_owned(),
            policy_name: p.name.to_owned(),
            policy_version: 1,
            text: p.cedar.to_owned(),
        })
        .collect();
    compile(
        &SetVersionInput {
            set_id: DEFAULT_SET_NAME.to_owned(),
            set_name: DEFAULT_SET_NAME.to_owned(),
            version,
            entries,
        },
        schema,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::authorize::authorize_issuance;
    use crate::issuance::Issuance;
    use crate::request::{Principal, Subject};
    use crate::schema;
    use crate::testing::{app, resource, scopes, set_with, user};
    use crate::validate::{PolicySource, validate_policy};

    fn names(d: &crate::authorize::ScopedDecision) -> Vec<&str> {
        d.determining
            .iter()
            .map(|r| r.policy_name.as_str())
            .collect()
    }

    #[test]
    fn the_defaults_are_stored_text_on_every_schema_version() {
        for schema in schema::versions() {
            for p in DEFAULT_POLICIES {
                let ok = validate_policy(PolicySource::CedarRaw(p.cedar), schema).expect(p.name);
                assert_eq!(ok.cedar_raw, p.cedar, "{} is not in normal form", p.name);
                assert!(ok.warnings.is_empty(), "{:?}", ok.warnings);
            }
            let set = compile_defaults(schema.clone(), 1).expect("compiles");
            assert_eq!(
                (set.set_name(), set.statement_count()),
                (DEFAULT_SET_NAME, 3)
            );
        }
    }

    #[test]
    fn client_credentials_are_permitted() {
        let set = set_with(1, false, &[]);
        let d = authorize_issuance(
            &set,
            &Issuance::direct(app(), resource(), scopes(&["read"])),
        );
        assert!(d.allowed);
        assert_eq!(d.kept_scopes, ["read"]);
        assert_eq!(names(&d), ["default-app-direct-access"]);
        assert_eq!(d.evaluations, 1);
    }

    #[test]
    fn delegation_is_permitted_for_the_application_and_the_user() {
        let set = set_with(1, false, &[]);
        let d = authorize_issuance(
            &set,
            &Issuance::on_behalf(app(), user(), resource(), scopes(&["read", "write"])),
        );
        assert!(d.allowed);
        assert_eq!(d.kept_scopes, ["read", "write"]);
        assert_eq!(names(&d), ["default-app-delegation", "default-user-grants"]);
        assert_eq!(d.evaluations, 2);
    }

    #[test]
    fn a_user_alone_is_permitted() {
        let set = set_with(1, false, &[]);
        let mut issuance = Issuance::direct(app(), resource(), vec![]);
        issuance.principals = vec![Principal::User(user())];
        let d = authorize_issuance(&set, &issuance);
        assert_eq!(names(&d), ["default-user-grants"]);
    }

    fn impersonation() -> Issuance {
        let subject = Subject {
            id: user().id,
            identifier: user().identifier,
        };
        Issuance::impersonation(app(), subject, resource(), scopes(&["read"]))
    }

    #[test]
    fn no_default_permits_impersonation() {
        let set = set_with(1, false, &[]);
        let d = authorize_issuance(&set, &impersonation());
        assert!(!d.allowed);
        assert!(d.determining.is_empty());
        // Not even an application that also has on_behalf set.
        let mut both = impersonation();
        both.context.on_behalf = true;
        assert!(!authorize_issuance(&set, &both).allowed);
    }

    #[test]
    fn a_customer_policy_permits_impersonation() {
        let set = set_with(
            2,
            false,
            &[(
                "allow-impersonation",
                "permit(principal is Keycard::Application, action, resource) when { context.impersonate };",
            )],
        );
        let d = authorize_issuance(&set, &impersonation());
        assert!(d.allowed);
        assert_eq!(d.kept_scopes, ["read"]);
        assert_eq!(names(&d), ["allow-impersonation"]);
    }
}
