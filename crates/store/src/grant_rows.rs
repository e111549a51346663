//! Row codecs shared by the login tables: authorization codes and refresh tokens both carry a
//! `GrantData` as JSON text.

use latchkey_domain::StoreError;
use latchkey_domain::model::login::GrantData;

pub(crate) fn grant_json(g: &GrantData) -> Result<String, StoreError> {
    serde_json::to_string(g).map_err(|e| StoreError::Backend(e.to_string()))
}

pub(crate) fn grant_of(text: &str) -> Result<GrantData, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::Backend(e.to_string()))
}

pub(crate) fn s(v: &str) -> String {
    v.to_owned()
}
