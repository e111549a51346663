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
    a_scheduled_rotation_re_signs_the_active_sets_attestation,
    |app: TestApp| async move {
        let id = app.zone("rotating").await;
        let sets = app
            .admin(Method::GET, &format!("/zones/{id}/policy-sets"), None)
            .await
            .expect(StatusCode::OK)
            .json;
        let (set, version) = (
            sets["items"][0]["id"].as_str().unwrap().to_owned(),
            sets["items"][0]["active_version_id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
        let path = format!("/zones/{id}/policy-sets/{set}/versions/{version}/attestation");
        let before = app
            .admin(Method::GET, &path, None)
            .await
            .expect(StatusCode::OK)
            .json;
        assert_eq!(before["statement"]["status"], "created", "{before}");

        // What the server's once-a-minute job does for zones whose keys are due.
        let rotated = app.state.keys.rotate_due(0).await.unwrap();
        assert!(rotated.iter().any(|z| z.as_str() == id), "{rotated:?}");
        latchkey_server::service::policy_attest::resign_zones(&app.state, &rotated).await;

        let after = app
            .admin(Method::GET, &path, None)
            .await
            .expect(StatusCode::OK)
            .json;
        assert_eq!(after["statement"]["status"], "re_signed", "{after}");
        assert_ne!(after["statement"]["key_id"], before["statement"]["key_id"]);
        assert_ne!(after["jws"], before["jws"]);
        let jwks = app
            .call(
                Method::GET,
                &format!("/z/{id}/openidconnect/jwks"),
                None,
                None,
            )
            .await
            .expect(StatusCode::OK)
            .json;
        let kids: Vec<&str> = jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|k| k["kid"].as_str())
            .collect();
        assert!(
            kids.contains(&after["statement"]["key_id"].as_str().unwrap()),
            "{kids:?}"
        );
    }
);

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

/// An unsigned token shaped like a zone's user token (`iss` the zone's issuer).
fn forged_user_token(iss: &str) -> String {
    use base64::Engine;
    let b64 = |v: serde_json::Value| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
    };
    let claims = serde_json::json!({"iss": iss, "sub": "someone", "sub_profile": "user", "exp": 4_000_000_000u64});
    format!(
        "{}.{}.{}",
        b64(serde_json::json!({"alg": "ES256", "kid": "k"})),
        b64(claims),
        "c2ln"
    )
}

both_backends!(
    the_policy_bundle_takes_only_zone_user_tokens,
    |app: TestApp| async move {
        let zone = app.zone("bundle").await;
        let meta = app
            .call(
                Method::GET,
                &format!("/z/{zone}/.well-known/oauth-authorization-server"),
                None,
                None,
            )
            .await
            .json;
        let issuer = meta["issuer"].as_str().unwrap().to_owned();
        let forged = forged_user_token(&issuer);
        let foreign = forged_user_token("https://elsewhere.example/z/x");
        for method in [Method::GET, Method::PUT, Method::DELETE] {
            for token in [
                None,
                Some(common::ADMIN_KEY),
                Some("not-a-jwt"),
                Some(&forged[..]),
                Some(&foreign[..]),
            ] {
                let reply = app
                    .call(method.clone(), "/policy/bundle", token, None)
                    .await;
                let reply = reply.expect(StatusCode::UNAUTHORIZED);
                assert_eq!(reply.code(), "unauthenticated", "{method} {token:?}");
            }
        }
    }
);
