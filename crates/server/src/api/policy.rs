//! Wire types of Cedar policies (spec §3.15–3.16, §4.13–4.14): schema versions, policies and their
//! versions. Policy sets are in `policy_set`.

use latchkey_domain::Timestamp;
use latchkey_domain::id::PolicyVersionId;
use latchkey_domain::model::policy::{Policy, PolicyVersion, SchemaVersion};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// `{id, email, zone_id}` of an organization user (`expand=user`, spec §2.10).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OrgUserRef {
    pub id: String,
    pub email: Option<String>,
    pub zone_id: String,
}

/// The `*_by_user` expansions next to the raw `*_by` strings.
#[derive(Debug, Default, Serialize, ToSchema)]
pub struct ByUser {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_by_user: Option<OrgUserRef>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub updated_by_user: Option<OrgUserRef>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub archived_by_user: Option<OrgUserRef>,
}

/// A view with `*_by` actors that `expand=user` resolves (`service/policy_users.rs`).
pub trait Attributed {
    /// `created_by`, `updated_by`, `archived_by` (those the view does not have are `None`).
    fn actors(&self) -> [Option<&str>; 3];
    fn by_user_mut(&mut self) -> &mut ByUser;
}

/// Implements [`Attributed`] for a view with `created_by` and one more actor field at `$slot`.
macro_rules! attributed {
    ($view:ty, $created:ident, $second:ident, $slot:literal) => {
        impl $crate::api::policy::Attributed for $view {
            fn actors(&self) -> [Option<&str>; 3] {
                let mut out = [Some(self.$created.as_str()), None, None];
                out[$slot] = self.$second.as_deref();
                out
            }
            fn by_user_mut(&mut self) -> &mut $crate::api::policy::ByUser {
                &mut self.by_user
            }
        }
    };
}

pub(crate) use attributed;

attributed!(PolicyView, created_by, updated_by, 1);
attributed!(PolicyVersionView, created_by, archived_by, 2);

/// `SchemaVersionWithZoneInfo`.
#[derive(Debug, Serialize, ToSchema)]
pub struct SchemaView {
    pub version: String,
    pub status: &'static str,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub deprecated_at: Option<Timestamp>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub archived_at: Option<Timestamp>,
    pub cedar_schema: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub cedar_schema_json: Option<serde_json::Value>,
    pub is_default: bool,
}

impl SchemaView {
    /// The view of `s`, with the schema in the requested form(s).
    pub fn new(
        s: SchemaVersion,
        is_default: bool,
        cedar: bool,
        json: Option<serde_json::Value>,
    ) -> Self {
        Self {
            version: s.version,
            status: s.status.as_str(),
            created_at: s.created_at,
            updated_at: s.updated_at,
            deprecated_at: s.deprecated_at,
            archived_at: s.archived_at,
            cedar_schema: cedar.then_some(s.cedar),
            cedar_schema_json: json,
            is_default,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PolicyView {
    pub id: String,
    pub zone_id: String,
    pub name: String,
    pub description: Option<String>,
    pub owner_type: &'static str,
    pub latest_version: Option<i64>,
    pub latest_version_id: Option<String>,
    pub latest_schema_version: Option<String>,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    pub created_by: String,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
    pub updated_by: Option<String>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub archived_at: Option<Timestamp>,
    #[serde(flatten)]
    pub by_user: ByUser,
}

impl From<Policy> for PolicyView {
    fn from(p: Policy) -> Self {
        Self {
            id: p.id.into_string(),
            zone_id: p.zone_id.into_string(),
            name: p.name,
            description: p.description,
            owner_type: p.owner_type.as_str(),
            latest_version: p.latest_version,
            latest_version_id: p.latest_version_id.map(PolicyVersionId::into_string),
            latest_schema_version: p.latest_schema_version,
            created_at: p.created_at,
            created_by: p.created_by,
            updated_at: p.updated_at,
            updated_by: p.updated_by,
            archived_at: p.archived_at,
            by_user: ByUser::default(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PolicyVersionView {
    pub id: String,
    pub zone_id: String,
    pub policy_id: String,
    pub version: i64,
    pub schema_version: String,
    pub owner_type: &'static str,
    pub sha: String,
    pub cedar_raw: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub cedar_json: Option<serde_json::Value>,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    pub created_by: String,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub archived_at: Option<Timestamp>,
    pub archived_by: Option<String>,
    #[serde(flatten)]
    pub by_user: ByUser,
}

/// Which forms of Cedar a response carries (`format=cedar|json`; both when absent).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Forms {
    pub cedar: bool,
    pub json: bool,
}

impl Forms {
    pub const BOTH: Self = Self {
        cedar: true,
        json: true,
    };
}

impl PolicyVersionView {
    pub fn new(v: PolicyVersion, forms: Forms) -> Self {
        Self {
            id: v.id.into_string(),
            zone_id: v.zone_id.into_string(),
            policy_id: v.policy_id.into_string(),
            version: v.version,
            schema_version: v.schema_version,
            owner_type: v.owner_type.as_str(),
            sha: v.sha,
            cedar_raw: forms.cedar.then_some(v.cedar_raw),
            cedar_json: forms.json.then_some(v.cedar_json),
            created_at: v.created_at,
            created_by: v.created_by,
            archived_at: v.archived_at,
            archived_by: v.archived_by,
            by_user: ByUser::default(),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct CreatePolicy {
    pub name: String,
    pub description: Option<String>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct UpdatePolicy {
    pub name: Option<String>,
    pub description: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct CreatePolicyVersion {
    pub schema_version: String,
    #[schema(value_type = Option<Object>)]
    pub cedar_json: Option<serde_json::Value>,
    pub cedar_raw: Option<String>,
}
