//! Resource matching (rule B11): which resource protects a requested URL. A non-prefix resource
//! matches its identifier exactly. A prefix resource matches URLs that start with its identifier
//! at a path, query or fragment boundary, with scheme and host compared exactly. An exact match
//! wins; otherwise the longest matching prefix.

use crate::model::directory::Resource;

/// Whether `prefix` covers `target` at a boundary.
pub fn prefix_matches(prefix: &str, target: &str) -> bool {
    if target == prefix {
        return true;
    }
    let Some(rest) = target.strip_prefix(prefix) else {
        return false;
    };
    if prefix.ends_with(['/', '?', '#']) {
        return origin_complete(prefix);
    }
    rest.starts_with(['/', '?', '#']) && origin_complete(prefix)
}

/// A prefix that stops inside the authority (`https://api.ex`) would let `https://api.example`
/// match; require the authority to be complete (something after `scheme://` and the prefix not
/// ending in the middle of it, which the boundary rule already ensures) and a scheme to exist.
fn origin_complete(prefix: &str) -> bool {
    match prefix.split_once("://") {
        Some((scheme, rest)) => !scheme.is_empty() && !rest.is_empty(),
        None => prefix.contains(':'),
    }
}

/// The resource that protects `target`, if any.
pub fn best_match<'a>(resources: &'a [Resource], target: &str) -> Option<&'a Resource> {
    if let Some(exact) = resources.iter().find(|r| r.identifier == target) {
        return Some(exact);
    }
    resources
        .iter()
        .filter(|r| r.prefix && prefix_matches(&r.identifier, target))
        .max_by_key(|r| r.identifier.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::id::{OrganizationId, ResourceId, ZoneId};
    use crate::model::OwnerType;
    use crate::model::directory::ApplicationType;
    use crate::time::Timestamp;

    fn res(identifier: &str, prefix: bool) -> Resource {
        Resource {
            zone_id: ZoneId::new("z"),
            id: ResourceId::new(identifier),
            organization_id: OrganizationId::new("o"),
            identifier: identifier.into(),
            name: identifier.into(),
            slug: "s".into(),
            owner_type: OwnerType::Customer,
            application_id: None,
            application_type: ApplicationType::Web,
            credential_lifetime_seconds: None,
            credential_provider_id: None,
            description: None,
            metadata: None,
            prefix,
            scopes: None,
            created_at: Timestamp::from_millis(0),
            updated_at: Timestamp::from_millis(0),
        }
    }

    #[test]
    fn boundaries() {
        assert!(prefix_matches(
            "https://api.example.com/v1",
            "https://api.example.com/v1/users"
        ));
        assert!(prefix_matches(
            "https://api.example.com/v1",
            "https://api.example.com/v1?x=1"
        ));
        assert!(prefix_matches(
            "https://api.example.com/v1",
            "https://api.example.com/v1#frag"
        ));
        assert!(!prefix_matches(
            "https://api.example.com/v1",
            "https://api.example.com/v10"
        ));
        assert!(!prefix_matches(
            "https://api.example.com",
            "https://api.example.com.evil.org/x"
        ));
        assert!(
            !prefix_matches("https://api.example.com", "http://api.example.com/x"),
            "scheme must match"
        );
        assert!(prefix_matches(
            "https://api.example.com/",
            "https://api.example.com/anything"
        ));
        assert!(prefix_matches("urn:example:api", "urn:example:api/tools"));
    }

    #[test]
    fn exact_then_longest_prefix() {
        let all = vec![
            res("https://api.example.com", true),
            res("https://api.example.com/v1", true),
            res("https://api.example.com/v1/admin", false),
        ];
        assert_eq!(
            best_match(&all, "https://api.example.com/v1/users")
                .unwrap()
                .identifier,
            "https://api.example.com/v1"
        );
        assert_eq!(
            best_match(&all, "https://api.example.com/v2")
                .unwrap()
                .identifier,
            "https://api.example.com"
        );
        assert_eq!(
            best_match(&all, "https://api.example.com/v1/admin")
                .unwrap()
                .identifier,
            "https://api.example.com/v1/admin"
        );
        assert!(best_match(&all, "https://other.example.com/").is_none());
        assert!(
            best_match(&[res("https://x.io/a", false)], "https://x.io/a/b").is_none(),
            "non-prefix is exact only"
        );
    }
}
