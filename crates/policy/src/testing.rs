//! Shared test fixtures: a zone's application, user and resources, and set builders.

use crate::compile::{CompiledSet, PolicyEntry, SetVersionInput, compile};
use crate::defaults::DEFAULT_POLICIES;
use crate::request::{
    ApplicationEntity, CredentialType, RegistrationMethod, ResourceEntity, UserEntity,
};
use crate::schema;

pub fn app() -> ApplicationEntity {
    ApplicationEntity {
        id: "app_7f3k".into(),
        identifier: "urn:app:worker".into(),
        registration_method: RegistrationMethod::Managed,
        credential_type: CredentialType::Password,
        dependencies: vec!["res_events".into()],
        traits: vec!["agent".into()],
    }
}

pub fn user() -> UserEntity {
    UserEntity {
        id: "usr_ada".into(),
        identifier: "ada".into(),
        email: "ada@example.com".into(),
        groups: vec!["eng".into()],
    }
}

pub fn resource() -> ResourceEntity {
    ResourceEntity {
        id: "res_events".into(),
        identifier: "https://events.example.com".into(),
        name: "Events API".into(),
        scopes: vec!["read".into(), "write".into(), "admin".into()],
    }
}

pub fn scopes(s: &[&str]) -> Vec<String> {
    s.iter().map(|s| (*s).to_owned()).collect()
}

/// A set version `version` named `zone-policies` holding the defaults (unless `bare`) and then
/// `customer` policies `(name, text)`, on schema 2026-03-16.
pub fn set_with(version: u32, bare: bool, customer: &[(&str, &str)]) -> CompiledSet {
    let mut entries: Vec<PolicyEntry> = Vec::new();
    if !bare {
        entries.extend(DEFAULT_POLICIES.iter().map(|p| PolicyEntry {
            policy_id: format!("pol_{}", p.name),
            policy_name: p.name.into(),
            policy_version: 1,
            text: p.cedar.into(),
        }));
    }
    entries.extend(customer.iter().map(|(name, text)| PolicyEntry {
        policy_id: format!("pol_{name}"),
        policy_name: (*name).into(),
        policy_version: 2,
        text: (*text).into(),
    }));
    let input = SetVersionInput {
        set_id: "pset_zone".into(),
        set_name: "zone-policies".into(),
        version,
        entries,
    };
    compile(&input, schema::get("2026-03-16").expect("schema")).expect("compiles")
}
