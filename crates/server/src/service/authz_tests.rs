//! Tests of the authorization table, and the rendering of `docs/roles.md`'s table from it (the
//! page must show exactly what the code decides).

use super::*;

/// The columns of `docs/roles.md`: who, and their grants in the zone `z` the row is about.
fn columns() -> Vec<(&'static str, Grants)> {
    let person = |role, zone: Option<ZoneRole>| Grants::Person {
        role: Some(role),
        zones: zone.map(|r| (ZoneId::new("z"), r)).into_iter().collect(),
    };
    vec![
        ("org_admin", person(OrgRole::OrgAdmin, None)),
        ("org_viewer", person(OrgRole::OrgViewer, None)),
        (
            "org_member + zone_manager",
            person(OrgRole::OrgMember, Some(ZoneRole::ZoneManager)),
        ),
        (
            "org_member + zone_viewer",
            person(OrgRole::OrgMember, Some(ZoneRole::ZoneViewer)),
        ),
        ("org_member, no zone role", person(OrgRole::OrgMember, None)),
        (
            "service account, API key",
            Grants::Machine {
                platform_admin: false,
            },
        ),
        (
            "platform-admin API key",
            Grants::Machine {
                platform_admin: true,
            },
        ),
    ]
}

/// The table of `docs/roles.md`, rendered from [`Grants::allows`].
fn render_table() -> String {
    let cols = columns();
    let mut out = String::from("| scope | resource | action |");
    for (name, _) in &cols {
        out.push_str(&format!(" {name} |"));
    }
    out.push_str("\n|---|---|---|");
    out.push_str(&"---|".repeat(cols.len()));
    out.push('\n');
    let zone = ZoneId::new("z");
    for (scope, name, resources) in [
        (Scope::Organization, "organization", ORG_RESOURCES),
        (Scope::Zone, "zone", ZONE_RESOURCES),
    ] {
        for resource in resources {
            for &action in actions_of(resource) {
                let op = Operation {
                    resource,
                    action,
                    scope,
                };
                out.push_str(&format!("| {name} | {resource} | {} |", action.as_str()));
                for (_, grants) in &cols {
                    let yes = grants.allows(op, Some(&zone));
                    out.push_str(if yes { " yes |" } else { " no |" });
                }
                out.push('\n');
            }
        }
    }
    out
}

#[test]
fn docs_roles_md_shows_this_table() {
    let doc = include_str!("../../../../docs/roles.md");
    let table = render_table();
    assert!(
        doc.contains(&table),
        "docs/roles.md is out of date; its table must read:\n{table}"
    );
}

fn person(role: Option<OrgRole>, zones: &[(&str, ZoneRole)]) -> Grants {
    Grants::Person {
        role,
        zones: zones.iter().map(|(z, r)| (ZoneId::new(*z), *r)).collect(),
    }
}

#[test]
fn names_operations_from_routes() {
    let op = |m, r| Operation::of(m, r).map(|o| (o.resource, o.action, o.scope));
    assert_eq!(
        op("POST", "/zones/{zone_id}/applications"),
        Some(("applications", Action::Create, Scope::Zone))
    );
    assert_eq!(
        op("GET", "/zones/{zone_id}/secrets/{id}"),
        Some(("secrets", Action::Reveal, Scope::Zone))
    );
    assert_eq!(
        op("GET", "/zones/{zone_id}/secrets"),
        Some(("secrets", Action::Read, Scope::Zone))
    );
    assert_eq!(
        op("PATCH", "/organizations/{organization_id}/users/{user_id}"),
        Some(("organization_users", Action::Update, Scope::Organization))
    );
    assert_eq!(
        op(
            "POST",
            "/zones/{zone_id}/policy-sets/{a}/versions/{b}/evaluate"
        ),
        Some(("policy_sets", Action::Read, Scope::Zone))
    );
    assert_eq!(
        op("POST", "/zones"),
        Some(("zones", Action::Create, Scope::Organization))
    );
    assert_eq!(op("POST", "/invitations/{token}/accept"), None);
    assert_eq!(op("GET", "/policy/bundle"), None);
    assert_eq!(op("GET", "/zones/{zone_id}/unknown"), None);
}

#[test]
fn roles_decide_as_documented() {
    let z1 = ZoneId::new("z1");
    let z2 = ZoneId::new("z2");
    let write = Operation::of("PATCH", "/zones/{zone_id}/resources/{id}").expect("op");
    let read = Operation::of("GET", "/zones/{zone_id}/resources/{id}").expect("op");
    let member = person(
        Some(OrgRole::OrgMember),
        &[("z1", ZoneRole::ZoneManager), ("z2", ZoneRole::ZoneViewer)],
    );
    assert!(member.allows(write, Some(&z1)));
    assert!(!member.allows(write, Some(&z2)));
    assert!(member.allows(read, Some(&z2)));
    assert_eq!(member.zone_level(&ZoneId::new("z3")), Level::None);
    let viewer = person(Some(OrgRole::OrgViewer), &[]);
    assert!(viewer.allows(read, Some(&z1)) && !viewer.allows(write, Some(&z1)));
    let reveal = Operation::of("GET", "/zones/{zone_id}/secrets/{id}").expect("op");
    assert!(!viewer.allows(reveal, Some(&z1)));
    let audit = Operation::of("GET", "/organizations/{o}/audit-events").expect("op");
    assert!(!viewer.allows(audit, None));
    assert!(person(Some(OrgRole::OrgAdmin), &[]).allows(audit, None));
    let nobody = person(None, &[]);
    assert!(!nobody.allows(read, Some(&z1)));
    let create_org = Operation::of("POST", "/organizations").expect("op");
    assert!(!person(Some(OrgRole::OrgAdmin), &[]).allows(create_org, None));
    assert!(
        Grants::Machine {
            platform_admin: true
        }
        .allows(create_org, None)
    );
}

#[test]
fn permissions_agree_with_allows() {
    let member = person(Some(OrgRole::OrgMember), &[("z1", ZoneRole::ZoneViewer)]);
    let z1 = ZoneId::new("z1");
    let p = member.permissions(Scope::Zone, Some(&z1));
    assert!(p["applications"]["read"]);
    assert!(!p["applications"]["create"]);
    assert!(!p["secrets"]["reveal"]);
    let org = member.permissions(Scope::Organization, None);
    assert!(!org["invitations"]["create"]);
    assert!(org["zones"]["read"]);
}
