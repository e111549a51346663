//! What an audited request did, read from its method and its matched route alone (never from a
//! body): the dotted action (`zones.applications.create`), the object type and id, and the zone
//! and organization the path names. One deterministic function, [`describe`].
//!
//! The rules: the route's literal segments, `-` spelled `_`, joined by `.`, then the verb —
//! a trailing literal in [`VERBS`] (`…/signing-keys/rotate` → `rotate`), else the method's
//! (`POST` create, `PATCH` update, `PUT` replace, `DELETE` delete). The object type is the
//! singular of the collections below the root `zones` / `organizations` joined by `_`
//! (`…/policy-sets/{id}/versions/{id}` → `policy_set_version`); its id is the path parameter
//! after the last collection, or, for a create, the `id` of the response. A path parameter named
//! `token` (an invitation token) is a secret and is never recorded.

use axum::http::Method;

/// Trailing path segments that are actions on their parent rather than collections.
pub const VERBS: &[&str] = &["accept", "evaluate", "rotate"];
/// Path parameters whose values are secrets.
const SECRET_PARAMS: &[&str] = &["token"];

/// What a request did, as far as its route tells.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Described {
    pub action: String,
    pub object_type: String,
    /// From the path; `None` for a create (its id comes from the response).
    pub object_id: Option<String>,
    /// Whether the object's id is the created object's, to be read from the response.
    pub id_from_response: bool,
    /// The `{zone_id}` path parameter.
    pub zone_id: Option<String>,
    /// The `{organization_id}` path parameter (an id or a label).
    pub organization: Option<String>,
}

enum Segment<'a> {
    Literal(&'a str),
    Param { name: &'a str, value: String },
}

/// Describes `method` on the route `template` (e.g. `/zones/{zone_id}/applications`) as matched
/// by the request path `path`; `None` when they do not line up segment by segment.
pub fn describe(method: &Method, template: &str, path: &str) -> Option<Described> {
    let mut segments = segments(template, path)?;
    let verb = match segments.last() {
        Some(Segment::Literal(last)) if VERBS.contains(last) => {
            let verb = (*last).to_owned();
            segments.pop();
            verb
        }
        _ => method_verb(method),
    };
    let literals: Vec<String> = segments
        .iter()
        .filter_map(|s| match s {
            Segment::Literal(l) => Some(l.replace('-', "_")),
            Segment::Param { .. } => None,
        })
        .collect();
    let param = |wanted: &str| {
        segments.iter().find_map(|s| match s {
            Segment::Param { name, value } if *name == wanted => Some(value.clone()),
            _ => None,
        })
    };
    let (object_id, id_from_response) = match segments.last() {
        Some(Segment::Param { name, value }) if !SECRET_PARAMS.contains(name) => {
            (Some(value.clone()), false)
        }
        Some(Segment::Param { .. }) => (None, false),
        _ => (None, *method == Method::POST),
    };
    let mut action = literals.join(".");
    action.push('.');
    action.push_str(&verb);
    Some(Described {
        action,
        object_type: object_type(&literals),
        object_id,
        id_from_response,
        zone_id: param("zone_id"),
        organization: param("organization_id"),
    })
}

fn segments<'a>(template: &'a str, path: &str) -> Option<Vec<Segment<'a>>> {
    let t: Vec<&str> = template.split('/').filter(|s| !s.is_empty()).collect();
    let p: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    if t.len() != p.len() {
        return None;
    }
    t.into_iter()
        .zip(p)
        .map(
            |(t, p)| match t.strip_prefix('{').and_then(|n| n.strip_suffix('}')) {
                Some(name) => {
                    let value = percent_encoding::percent_decode_str(p)
                        .decode_utf8()
                        .ok()?
                        .into_owned();
                    Some(Segment::Param { name, value })
                }
                None => Some(Segment::Literal(t)),
            },
        )
        .collect()
}

fn method_verb(method: &Method) -> String {
    match *method {
        Method::POST => "create".into(),
        Method::PATCH => "update".into(),
        Method::PUT => "replace".into(),
        Method::DELETE => "delete".into(),
        ref other => other.as_str().to_lowercase(),
    }
}

/// The singular of the collections under the root, joined: `["zones", "policy_sets",
/// "versions"]` → `policy_set_version`; a root alone is itself (`zone`).
fn object_type(literals: &[String]) -> String {
    let under_root = match literals {
        [root, rest @ ..] if !rest.is_empty() && (root == "zones" || root == "organizations") => {
            rest
        }
        all => all,
    };
    under_root
        .iter()
        .map(|l| singular(l))
        .collect::<Vec<_>>()
        .join("_")
}

fn singular(word: &str) -> String {
    if let Some(stem) = word.strip_suffix("ies") {
        format!("{stem}y")
    } else if let Some(stem) = word.strip_suffix('s') {
        stem.to_owned()
    } else {
        word.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(method: Method, template: &str, path: &str) -> Described {
        describe(&method, template, path).expect("lines up")
    }

    #[test]
    fn creates_name_the_collection_and_take_the_id_from_the_response() {
        let x = d(
            Method::POST,
            "/zones/{zone_id}/applications",
            "/zones/z1/applications",
        );
        assert_eq!(x.action, "zones.applications.create");
        assert_eq!(x.object_type, "application");
        assert_eq!((x.object_id, x.id_from_response), (None, true));
        assert_eq!(x.zone_id.as_deref(), Some("z1"));
        assert_eq!(x.organization, None);

        let zone = d(Method::POST, "/zones", "/zones");
        assert_eq!(
            (zone.action.as_str(), zone.object_type.as_str()),
            ("zones.create", "zone")
        );
        let org = d(Method::POST, "/organizations", "/organizations");
        assert_eq!(org.action, "organizations.create");
        assert_eq!(org.object_type, "organization");
    }

    #[test]
    fn updates_and_deletes_name_the_object_from_the_path() {
        let x = d(
            Method::PATCH,
            "/organizations/{organization_id}/service-accounts/{service_account_id}/credentials/{credential_id}",
            "/organizations/acme/service-accounts/sa1/credentials/c%201",
        );
        assert_eq!(
            x.action,
            "organizations.service_accounts.credentials.update"
        );
        assert_eq!(x.object_type, "service_account_credential");
        assert_eq!(x.object_id.as_deref(), Some("c 1"));
        assert_eq!(x.organization.as_deref(), Some("acme"));
        assert!(!x.id_from_response);

        let x = d(Method::DELETE, "/zones/{zone_id}", "/zones/z9");
        assert_eq!(
            (x.action.as_str(), x.object_type.as_str()),
            ("zones.delete", "zone")
        );
        assert_eq!(x.object_id.as_deref(), Some("z9"));

        let x = d(
            Method::PUT,
            "/zones/{zone_id}/applications/{id}/dependencies/{dependency_id}",
            "/zones/z1/applications/a1/dependencies/r1",
        );
        assert_eq!(x.action, "zones.applications.dependencies.replace");
        assert_eq!(x.object_type, "application_dependency");
        assert_eq!(x.object_id.as_deref(), Some("r1"));

        let x = d(
            Method::POST,
            "/zones/{zone_id}/policies/{policy_id}/versions",
            "/zones/z1/policies/p1/versions",
        );
        assert_eq!(x.action, "zones.policies.versions.create");
        assert_eq!(x.object_type, "policy_version");
    }

    #[test]
    fn trailing_verbs_are_actions_and_tokens_are_never_recorded() {
        let x = d(
            Method::POST,
            "/zones/{zone_id}/signing-keys/rotate",
            "/zones/z1/signing-keys/rotate",
        );
        assert_eq!(x.action, "zones.signing_keys.rotate");
        assert_eq!(x.object_type, "signing_key");

        let x = d(
            Method::POST,
            "/zones/{zone_id}/policy-sets/{policy_set_id}/versions/{policy_set_version_id}/evaluate",
            "/zones/z1/policy-sets/s1/versions/v1/evaluate",
        );
        assert_eq!(x.action, "zones.policy_sets.versions.evaluate");
        assert_eq!(x.object_type, "policy_set_version");
        assert_eq!(x.object_id.as_deref(), Some("v1"));

        let x = d(
            Method::POST,
            "/invitations/{token}/accept",
            "/invitations/lk_inv_secret/accept",
        );
        assert_eq!(x.action, "invitations.accept");
        assert_eq!(x.object_type, "invitation");
        assert_eq!((x.object_id.as_deref(), x.id_from_response), (None, false));
        assert!(!format!("{x:?}").contains("lk_inv_secret"));

        let x = d(Method::PUT, "/policy/bundle", "/policy/bundle");
        assert_eq!(
            (x.action.as_str(), x.object_type.as_str()),
            ("policy.bundle.replace", "policy_bundle")
        );
    }

    #[test]
    fn paths_that_do_not_line_up_are_not_described() {
        assert_eq!(describe(&Method::POST, "/zones/{zone_id}", "/zones"), None);
        assert_eq!(
            describe(&Method::POST, "/zones/{zone_id}", "/zones/%FF"),
            None
        );
    }
}
