//! Resource models: what the store keeps and the services work on. Response shapes live in the
//! server crate; these types carry no HTTP concerns.

pub mod access;
pub mod audit;
pub mod device;
pub mod directory;
pub mod identity;
pub mod keys;
pub mod login;
pub mod member;
pub mod organization;
pub mod policy;
pub mod service_account;
pub mod sso;
pub mod vault;
pub mod zone;

use serde::{Deserialize, Serialize};

/// Who manages an object: the platform (read-only through the API) or the customer (rule B17).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OwnerType {
    Platform,
    Customer,
}

impl OwnerType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Platform => "platform",
            Self::Customer => "customer",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "platform" => Some(Self::Platform),
            "customer" => Some(Self::Customer),
            _ => None,
        }
    }
}
