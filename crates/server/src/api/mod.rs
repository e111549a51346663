//! The management API's wire types: request bodies as the SDK sends them and response models as
//! it parses them (spec/management-api.md §4), with their OpenAPI schemas.

pub mod audit;
pub mod directory;
pub mod envelope;
pub mod identity;
pub mod invitation;
pub mod member;
pub mod organization;
pub mod policy;
pub mod policy_set;
pub mod service_account;
pub mod sso;
pub mod vault;
pub mod zone;

use std::collections::BTreeMap;

/// `permissions` expansion: `{resource type: {action: allowed}}`.
pub type Permissions = BTreeMap<String, BTreeMap<String, bool>>;
