//! Policy data the server relies on: the schema versions the migration seeds are exactly the
//! engine's built-in texts (one schema, two places: a change must land in both), and a zone made
//! through the API starts with the active platform set.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // integration tests

mod common;

use axum::http::{Method, StatusCode};
use common::TestApp;
use latchkey_domain::model::policy::SchemaStatus;

both_backends!(seeded_schemas_match_the_engine, |app: TestApp| async move {
    let app = app; // the whole app, so that its database lives as long as the test
    let stored = app.store.list_schema_versions().await.unwrap();
    let built_in = latchkey_policy::schema::versions();
    assert_eq!(stored.len(), built_in.len());
    for engine in built_in {
        let row = stored
            .iter()
            .find(|s| s.version == engine.version())
            .unwrap_or_else(|| panic!("schema {} not seeded", engine.version()));
        assert_eq!(row.cedar, engine.cedar_text(), "schema {}", row.version);
        let status = match row.status {
            SchemaStatus::Active => "active",
            SchemaStatus::Deprecated => "deprecated",
            SchemaStatus::Archived => "archived",
        };
        assert_eq!(status, engine.status().as_str(), "schema {}", row.version);
    }
});

both_backends!(
    a_new_zone_starts_with_the_active_platform_set,
    |app: TestApp| async move {
        let zone = app
            .admin(
                Method::POST,
                "/zones",
                Some(serde_json::json!({"name": "policies"})),
            )
            .await
            .expect(StatusCode::CREATED)
            .json;
        let id = zone["id"].as_str().unwrap();
        let sets = app
            .admin(Method::GET, &format!("/zones/{id}/policy-sets"), None)
            .await
            .expect(StatusCode::OK)
            .json;
        let items = sets["items"].as_array().unwrap();
        assert_eq!(items.len(), 1, "{sets}");
        assert_eq!(items[0]["name"], "default-zone-policies");
        assert_eq!(items[0]["owner_type"], "platform");
        assert_eq!(items[0]["active"], true);
        assert_eq!(items[0]["target_id"], id);
    }
);
