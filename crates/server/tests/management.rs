//! Management API behaviour through the real router: authentication, error bodies, validation,
//! pagination envelopes, tri-state PATCH, platform ownership and organization isolation.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // integration tests

mod common;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use base64::Engine;
use common::TestApp;
use serde_json::{Value, json};

both_backends!(
    requests_without_valid_bearer_are_401,
    |app: TestApp| async move {
        let r = app
            .call(Method::GET, "/zones", None, None)
            .await
            .expect(StatusCode::UNAUTHORIZED);
        assert_eq!(r.code(), "unauthenticated");
        assert_eq!(r.headers["www-authenticate"], "Bearer");
        app.call(Method::GET, "/zones", Some("lk_wrong"), None)
            .await
            .expect(StatusCode::UNAUTHORIZED);
        app.call(Method::GET, "/healthz", None, None)
            .await
            .expect(StatusCode::OK);
    }
);

both_backends!(
    bad_bodies_name_the_problem_and_write_nothing,
    |app: TestApp| async move {
        let cases: Vec<(Value, &str, &str)> = vec![
            (json!({"name": 5}), "invalid_field", "`name`"),
            (json!({}), "invalid_field", "missing field `name`"),
            (
                json!({"name": "x".repeat(256)}),
                "invalid_field",
                "at most 255",
            ),
            (
                json!({"name": "<script>alert(1)</script>"}),
                "invalid_field",
                "HTML",
            ),
            (json!({"name": "bell\u{7}"}), "invalid_field", "control"),
            (
                json!({"name": "ok", "description": "d".repeat(2049)}),
                "invalid_field",
                "`description`",
            ),
            (
                json!({"name": "ok", "encryption_key": {"arn": "a", "type": "gcp"}}),
                "invalid_field",
                "`encryption_key.type`",
            ),
            (
                json!({"name": "ok", "protocols": {"oauth2": {"cimd": {"enabled": true, "allowed_client_ids": ["ftp://x"]}}}}),
                "invalid_field",
                "allowed_client_ids[0]",
            ),
        ];
        for (body, code, needle) in cases {
            let r = app
                .admin(Method::POST, "/zones", Some(body.clone()))
                .await
                .expect(StatusCode::BAD_REQUEST);
            assert_eq!(r.code(), code, "{body}");
            assert!(r.message().contains(needle), "{body} -> {}", r.message());
        }
        let malformed = Request::post("/zones")
            .header("authorization", format!("Bearer {}", common::ADMIN_KEY))
            .header("content-type", "application/json")
            .body(Body::from("{\"name\": \"x\",,}"))
            .unwrap();
        let r = app.raw(malformed).await.expect(StatusCode::BAD_REQUEST);
        assert_eq!(r.code(), "invalid_json");
        assert!(r.message().contains("line 1 column"), "{}", r.message());
        let huge = Request::post("/zones")
            .header("authorization", format!("Bearer {}", common::ADMIN_KEY))
            .header("content-type", "application/json")
            .body(Body::from(format!(
                "{{\"name\": \"{}\"}}",
                "x".repeat(1_100_000)
            )))
            .unwrap();
        assert_eq!(
            app.raw(huge)
                .await
                .expect(StatusCode::PAYLOAD_TOO_LARGE)
                .code(),
            "payload_too_large"
        );
        // Nothing was written: only the platform zone exists.
        let list = app
            .admin(Method::GET, "/zones?expand%5B%5D=total_count", None)
            .await
            .expect(StatusCode::OK);
        assert_eq!(list.json["pagination"]["total_count"], 1);
    }
);

both_backends!(
    zone_lifecycle_with_tri_state_patch,
    |app: TestApp| async move {
        let z = app
        .admin(Method::POST, "/zones", Some(json!({"name": "Prod", "description": "d", "encryption_key": {"arn": "arn:k", "type": "aws"}, "unknown": 1})))
        .await
        .expect(StatusCode::CREATED)
        .json;
        let id = z["id"].as_str().unwrap();
        let issuer = format!("http://lk.test/z/{id}");
        assert_eq!(z["protocols"]["oauth2"]["issuer"], issuer);
        assert_eq!(
            z["protocols"]["oauth2"]["token_endpoint"],
            format!("{issuer}/oauth/2/token")
        );
        assert_eq!(
            z["protocols"]["openid"]["userinfo_endpoint"],
            format!("{issuer}/openidconnect/userinfo")
        );
        assert_eq!(
            (z["slug"].as_str(), z["owner_type"].as_str()),
            (Some("prod"), Some("customer"))
        );
        assert_eq!(z["encryption_key"], json!({"arn": "arn:k", "type": "aws"}));

        let path = format!("/zones/{id}");
        let p = app
            .admin(Method::PATCH, &path, Some(json!({"name": "Prod 2"})))
            .await
            .expect(StatusCode::OK)
            .json;
        assert_eq!(
            (p["name"].as_str(), p["description"].as_str()),
            (Some("Prod 2"), Some("d")),
            "absent keeps"
        );
        let p = app
        .admin(Method::PATCH, &path, Some(json!({"description": null, "encryption_key": null, "protocols": {"oauth2": {"dcr_enabled": false}}})))
        .await
        .expect(StatusCode::OK)
        .json;
        assert!(
            p["description"].is_null() && p["encryption_key"].is_null(),
            "null clears"
        );
        assert_eq!(p["protocols"]["oauth2"]["dcr_enabled"], false);
        assert_eq!(
            p["protocols"]["oauth2"]["pkce_required"], true,
            "untouched sibling"
        );
        let p = app
            .admin(
                Method::PATCH,
                &path,
                Some(json!({"protocols": {"oauth2": {"dcr_enabled": null}}})),
            )
            .await
            .expect(StatusCode::OK)
            .json;
        assert_eq!(
            p["protocols"]["oauth2"]["dcr_enabled"], true,
            "null restores the default"
        );
        let r = app
            .admin(Method::PATCH, &path, Some(json!({"name": null})))
            .await
            .expect(StatusCode::BAD_REQUEST);
        assert!(r.message().contains("`name`"));
        let r = app
            .admin(
                Method::PATCH,
                &path,
                Some(json!({"default_resource_id": "nope"})),
            )
            .await
            .expect(StatusCode::NOT_FOUND);
        assert!(r.message().contains("default_resource_id"));

        let got = app
            .admin(
                Method::GET,
                &format!("{path}?expand%5B%5D=permissions"),
                None,
            )
            .await
            .expect(StatusCode::OK)
            .json;
        assert_eq!(got["permissions"]["zones"]["delete"], true);
        app.admin(Method::DELETE, &path, None)
            .await
            .expect(StatusCode::NO_CONTENT);
        app.admin(Method::GET, &path, None)
            .await
            .expect(StatusCode::NOT_FOUND);
    }
);

both_backends!(platform_zone_is_read_only, |app: TestApp| async move {
    let orgs = app
        .admin(Method::GET, "/organizations", None)
        .await
        .expect(StatusCode::OK)
        .json;
    let zone_id = orgs["items"][0]["zone_id"].as_str().unwrap().to_owned();
    let z = app
        .admin(Method::GET, &format!("/zones/{zone_id}"), None)
        .await
        .expect(StatusCode::OK)
        .json;
    assert_eq!(z["owner_type"], "platform");
    let r = app
        .admin(
            Method::PATCH,
            &format!("/zones/{zone_id}"),
            Some(json!({"name": "x"})),
        )
        .await
        .expect(StatusCode::FORBIDDEN);
    assert_eq!(r.code(), "platform_owned");
    app.admin(Method::DELETE, &format!("/zones/{zone_id}"), None)
        .await
        .expect(StatusCode::FORBIDDEN);
});

both_backends!(zone_pages_link_both_ways, |app: TestApp| async move {
    for i in 0..5 {
        app.admin(
            Method::POST,
            "/zones",
            Some(json!({"name": format!("z{i}")})),
        )
        .await
        .expect(StatusCode::CREATED);
    }
    let mut ids = Vec::new();
    let mut url = "/zones?limit=2&expand%5B%5D=total_count".to_owned();
    let last: Value;
    loop {
        let page = app
            .admin(Method::GET, &url, None)
            .await
            .expect(StatusCode::OK)
            .json;
        assert_eq!(page["pagination"]["total_count"], 6);
        ids.extend(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|z| z["id"].clone()),
        );
        match page["pagination"]["after_cursor"].as_str() {
            Some(c) => url = format!("/zones?limit=2&after={c}&expand%5B%5D=total_count"),
            None => {
                last = page;
                break;
            }
        }
    }
    assert_eq!(ids.len(), 6);
    assert_eq!(last["page_info"]["has_next_page"], false);
    assert_eq!(last["page_info"]["has_previous_page"], true);
    let back = last["pagination"]["before_cursor"].as_str().unwrap();
    let prev = app
        .admin(Method::GET, &format!("/zones?limit=2&before={back}"), None)
        .await
        .expect(StatusCode::OK)
        .json;
    assert_eq!(
        prev["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|z| z["id"].clone())
            .collect::<Vec<_>>(),
        ids[2..4].to_vec()
    );
    assert!(
        prev["pagination"].get("total_count").is_none(),
        "total only when expanded"
    );
    for bad in [
        "limit=0",
        "limit=101",
        "after=%21%21",
        "after=a&before=b",
        "expand%5B%5D=bogus",
    ] {
        app.admin(Method::GET, &format!("/zones?{bad}"), None)
            .await
            .expect(StatusCode::BAD_REQUEST);
    }
});

/// Creates an organization with a service account and returns (org id, client_id, secret).
async fn org_with_credential(app: &TestApp, name: &str) -> (String, String, String) {
    let org = app
        .admin(Method::POST, "/organizations", Some(json!({"name": name})))
        .await
        .expect(StatusCode::CREATED)
        .json;
    let org_id = org["id"].as_str().unwrap().to_owned();
    let sa = app
        .admin(
            Method::POST,
            &format!(
                "/organizations/{}/service-accounts",
                org["label"].as_str().unwrap()
            ),
            Some(json!({"name": "bot"})),
        )
        .await
        .expect(StatusCode::CREATED)
        .json;
    let cred = app
        .admin(
            Method::POST,
            &format!(
                "/organizations/{org_id}/service-accounts/{}/credentials",
                sa["id"].as_str().unwrap()
            ),
            Some(json!({"name": "c"})),
        )
        .await
        .expect(StatusCode::CREATED)
        .json;
    (
        org_id,
        cred["client_id"].as_str().unwrap().to_owned(),
        cred["client_secret"].as_str().unwrap().to_owned(),
    )
}

async fn sa_token(app: &TestApp, id: &str, secret: &str) -> common::Reply {
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"));
    let req = Request::post("/service-account-token")
        .header("authorization", format!("Basic {basic}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from("grant_type=client_credentials"))
        .unwrap();
    app.raw(req).await
}

both_backends!(
    service_accounts_act_only_in_their_organization,
    |app: TestApp| async move {
        let (org_a, id, secret) = org_with_credential(&app, "Org A").await;
        let (org_b, _, _) = org_with_credential(&app, "Org B").await;
        let t = sa_token(&app, &id, &secret).await;
        assert_eq!(t.status, StatusCode::OK);
        assert_eq!(t.headers["cache-control"], "no-store");
        assert_eq!(t.json["token_type"], "Bearer");
        assert_eq!(t.json["expires_in"], 3600);
        let token = t.json["access_token"].as_str().unwrap().to_owned();

        let z = app
            .call(
                Method::POST,
                "/zones",
                Some(&token),
                Some(json!({"name": "mine"})),
            )
            .await
            .expect(StatusCode::CREATED)
            .json;
        assert_eq!(z["organization_id"], org_a.as_str());
        let b_zone = app
            .admin(
                Method::POST,
                "/zones",
                Some(json!({"name": "theirs", "organization_id": org_b})),
            )
            .await
            .expect(StatusCode::CREATED)
            .json;
        for path in [
            format!("/zones/{}", b_zone["id"].as_str().unwrap()),
            "/zones/doesnotexistatall0000000000".to_owned(),
            format!("/organizations/{org_b}"),
            format!("/organizations/{org_b}/service-accounts"),
            "/organizations/no-such-org".to_owned(),
        ] {
            let r = app
                .call(Method::GET, &path, Some(&token), None)
                .await
                .expect(StatusCode::FORBIDDEN);
            assert_eq!(r.code(), "forbidden", "{path}");
        }
        let orgs = app
            .call(Method::GET, "/organizations", Some(&token), None)
            .await
            .expect(StatusCode::OK)
            .json;
        assert_eq!(orgs["items"].as_array().unwrap().len(), 1);
        app.call(
            Method::POST,
            "/organizations",
            Some(&token),
            Some(json!({"name": "x"})),
        )
        .await
        .expect(StatusCode::FORBIDDEN);

        let bad = sa_token(&app, &id, "wrong").await;
        assert_eq!(bad.status, StatusCode::UNAUTHORIZED);
        assert_eq!(bad.json["error"], "invalid_client");
        assert!(
            bad.headers["www-authenticate"]
                .to_str()
                .unwrap()
                .starts_with("Basic")
        );
    }
);

both_backends!(
    deleting_a_credential_revokes_its_tokens_and_secrets_never_reappear,
    |app: TestApp| async move {
        let (org, id, secret) = org_with_credential(&app, "Revokers").await;
        let token = sa_token(&app, &id, &secret).await.json["access_token"]
            .as_str()
            .unwrap()
            .to_owned();
        app.call(Method::GET, "/zones", Some(&token), None)
            .await
            .expect(StatusCode::OK);
        let sas = app
            .admin(
                Method::GET,
                &format!("/organizations/{org}/service-accounts"),
                None,
            )
            .await
            .expect(StatusCode::OK)
            .json;
        let sa = sas["items"][0]["id"].as_str().unwrap().to_owned();
        let creds = app
            .admin(
                Method::GET,
                &format!("/organizations/{org}/service-accounts/{sa}/credentials"),
                None,
            )
            .await
            .expect(StatusCode::OK)
            .json;
        let cred = &creds["items"][0];
        assert!(cred.get("client_secret").is_none());
        assert!(cred["last_used_at"].is_string(), "set by the token request");
        let cred_path = format!(
            "/organizations/{org}/service-accounts/{sa}/credentials/{}",
            cred["id"].as_str().unwrap()
        );
        assert!(
            app.admin(Method::GET, &cred_path, None)
                .await
                .expect(StatusCode::OK)
                .json
                .get("client_secret")
                .is_none()
        );
        app.admin(Method::DELETE, &cred_path, None)
            .await
            .expect(StatusCode::NO_CONTENT);
        app.call(Method::GET, "/zones", Some(&token), None)
            .await
            .expect(StatusCode::UNAUTHORIZED);
        assert_eq!(
            sa_token(&app, &id, &secret).await.status,
            StatusCode::UNAUTHORIZED
        );
        let r = sa_token(&app, "", "").await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
        let form = Request::post("/service-account-token")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Body::from(
                "grant_type=password&client_id=a&client_secret=b",
            ))
            .unwrap();
        assert_eq!(app.raw(form).await.json["error"], "unsupported_grant_type");
    }
);

both_backends!(
    openapi_lists_every_management_endpoint,
    |app: TestApp| async move {
        let doc = app
            .call(Method::GET, "/openapi.json", None, None)
            .await
            .expect(StatusCode::OK)
            .json;
        assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
        let paths = doc["paths"].as_object().unwrap();
        for p in [
            "/organizations",
            "/organizations/{organization_id}",
            "/organizations/{organization_id}/service-accounts",
            "/organizations/{organization_id}/service-accounts/{service_account_id}",
            "/organizations/{organization_id}/service-accounts/{service_account_id}/credentials",
            "/organizations/{organization_id}/service-accounts/{service_account_id}/credentials/{credential_id}",
            "/zones",
            "/zones/{zone_id}",
        ] {
            assert!(paths.contains_key(p), "missing {p}");
        }
        let r = app
            .admin(Method::GET, "/no/such/route", None)
            .await
            .expect(StatusCode::NOT_FOUND);
        assert_eq!(r.code(), "not_found");
    }
);

#[tokio::test]
async fn protected_resource_metadata_names_the_organizations_platform_zone() {
    let app = TestApp::new().await;
    let path = "/.well-known/oauth-protected-resource";
    let default = app
        .call(Method::GET, path, None, None)
        .await
        .expect(StatusCode::OK);
    let orgs = app.admin(Method::GET, "/organizations", None).await;
    let default_org = orgs.json["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["name"] == "Default")
        .unwrap()
        .clone();
    let issuer = |zone: &Value| format!("http://lk.test/z/{}", zone.as_str().unwrap());
    assert_eq!(
        default.json,
        json!({
            "resource": "http://lk.test",
            "authorization_servers": [issuer(&default_org["zone_id"])],
            "bearer_methods_supported": ["header"],
            "resource_name": "Latchkey management API",
        })
    );
    let org = app
        .admin(
            Method::POST,
            "/organizations",
            Some(json!({"name": "Other org"})),
        )
        .await
        .expect(StatusCode::CREATED);
    for key in [&org.json["id"], &org.json["label"]] {
        let named = app
            .call(
                Method::GET,
                &format!("{path}?organization={}", key.as_str().unwrap()),
                None,
                None,
            )
            .await
            .expect(StatusCode::OK);
        assert_eq!(
            named.json["authorization_servers"],
            json!([issuer(&org.json["zone_id"])])
        );
    }
    let unknown = app
        .call(
            Method::GET,
            &format!("{path}?organization=nope"),
            None,
            None,
        )
        .await
        .expect(StatusCode::NOT_FOUND);
    assert_eq!(unknown.code(), "not_found");
}

// A crash between writing a first-party client's application and its credential must not stop
// the next start: `ensure_all` (run at every start) finishes the half-made client.
both_backends!(
    start_up_finishes_a_half_made_first_party_client,
    |app: TestApp| async move {
        let org = app
            .admin(
                Method::POST,
                "/organizations",
                Some(json!({"name": "Half"})),
            )
            .await
            .expect(StatusCode::CREATED)
            .json;
        let zone = latchkey_domain::id::ZoneId::new(org["zone_id"].as_str().unwrap().to_owned());
        let store = app.store.as_ref();
        let before = store
            .find_app_credential_by_client_id(&zone, "latchkey-cli")
            .await
            .unwrap()
            .expect("the CLI client exists");
        assert!(
            store
                .delete_app_credential(&zone, &before.id)
                .await
                .unwrap()
        );

        latchkey_server::service::platform_zone::ensure_all(&app.state)
            .await
            .expect("start-up ensures the platform zone again");

        let after = store
            .find_app_credential_by_client_id(&zone, "latchkey-cli")
            .await
            .unwrap()
            .expect("the CLI client is whole again");
        assert_eq!(after.application_id, before.application_id);
    }
);

both_backends!(
    readyz_reports_every_check_and_is_not_cached,
    |app: TestApp| async move {
        let r = app
            .call(Method::GET, "/readyz", None, None)
            .await
            .expect(StatusCode::OK);
        assert_eq!(
            r.json,
            json!({"status": "ready", "checks": {"database": "ok", "migrations": "ok", "keys": "ok"}})
        );
        assert_eq!(r.headers["cache-control"], "no-store");
        let h = app
            .call(Method::GET, "/healthz", None, None)
            .await
            .expect(StatusCode::OK);
        assert_eq!(h.headers["cache-control"], "no-store");
        assert!(h.headers.contains_key("x-request-id"));
    }
);
