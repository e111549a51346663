//! Zone authorization servers through the real router, on both back ends: discovery (including
//! `//` paths and a stray `Authorization` header), JWKS and staged rotation, client credentials,
//! token exchange, errors per RFC 6749 §5.2, DCR, introspection and revocation.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // integration tests

mod common;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use std::time::Duration;

use common::{Reply, TestApp};
use latchkey_crypto::jws::{Compact, VerifyingKey};
use serde_json::{Value, json};

const EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
const ACCESS: &str = "urn:ietf:params:oauth:token-type:access_token";

/// A zone with an application that provides `https://api.test/own`, depends on
/// `https://down.test` (prefix) and `https://plain.test`, and has a password credential.
#[derive(Clone)]
struct Fixture {
    zone: String,
    client_id: String,
    secret: String,
}

async fn fixture(app: &TestApp) -> Fixture {
    let zone = app.zone("oauth").await;
    let own = app.create(&format!("/zones/{zone}/resources"), json!({"identifier": "https://api.test/own", "name": "Own", "scopes": ["read", "write"]})).await;
    let down = app.create(&format!("/zones/{zone}/resources"), json!({"identifier": "https://down.test", "name": "Down", "prefix": true, "credential_lifetime_seconds": 120})).await;
    let plain = app
        .create(
            &format!("/zones/{zone}/resources"),
            json!({"identifier": "https://plain.test", "name": "Plain"}),
        )
        .await;
    let a = app.create(&format!("/zones/{zone}/applications"), json!({"identifier": "svc", "name": "Svc", "dependencies": [{"id": down}, {"id": plain}]})).await;
    app.admin(
        Method::PATCH,
        &format!("/zones/{zone}/resources/{own}"),
        Some(json!({"application_id": a})),
    )
    .await
    .expect(StatusCode::OK);
    let cred = app
        .admin(
            Method::POST,
            &format!("/zones/{zone}/application-credentials"),
            Some(json!({"application_id": a, "type": "password"})),
        )
        .await
        .expect(StatusCode::CREATED)
        .json;
    Fixture {
        zone,
        client_id: cred["identifier"].as_str().unwrap().into(),
        secret: cred["password"].as_str().unwrap().into(),
    }
}

async fn token(app: &TestApp, f: &Fixture, body: &str) -> Reply {
    let basic = STANDARD.encode(format!("{}:{}", f.client_id, f.secret));
    let req = Request::post(format!("/z/{}/oauth/2/token", f.zone))
        .header("authorization", format!("Basic {basic}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from(body.to_owned()))
        .unwrap();
    app.raw(req).await
}

/// Changes the zone's signing algorithm through the management API (it signs with it from the
/// next rotation).
async fn set_signing_alg(app: &TestApp, zone: &str, alg: &str) {
    app.admin(
        Method::PATCH,
        &format!("/zones/{zone}"),
        Some(json!({"signing_alg": alg})),
    )
    .await
    .expect(StatusCode::OK);
}

/// Rotates the zone's signing keys through the management API.
async fn rotate_keys(app: &TestApp, zone: &str) {
    app.admin(
        Method::POST,
        &format!("/zones/{zone}/signing-keys/rotate"),
        None,
    )
    .await
    .expect(StatusCode::OK);
}

fn claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

async fn verify_with_jwks(app: &TestApp, zone: &str, token: &str) -> bool {
    let jwks = app
        .call(
            Method::GET,
            &format!("/z/{zone}/openidconnect/jwks"),
            None,
            None,
        )
        .await
        .json;
    let c = Compact::parse(token).unwrap();
    jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|k| VerifyingKey::from_jwk(k).ok())
        .any(|k| k.kid.as_deref() == c.kid() && c.verify_with(&k))
}

both_backends!(
    discovery_is_tolerant_and_consistent_with_the_zone,
    |app: TestApp| async move {
        let zone = app.zone("disco").await;
        let z = app
            .admin(Method::GET, &format!("/zones/{zone}"), None)
            .await
            .json;
        let issuer = z["protocols"]["oauth2"]["issuer"]
            .as_str()
            .unwrap()
            .to_owned();
        for path in [
            format!("/z/{zone}/.well-known/oauth-authorization-server"),
            format!("//z/{zone}//.well-known/oauth-authorization-server"),
            format!("/.well-known/oauth-authorization-server/z/{zone}"),
            format!("/z/{zone}/.well-known/openid-configuration"),
        ] {
            let req = Request::get(&path)
                .header("authorization", "Basic Y2xpZW50OnNlY3JldA==")
                .body(Body::empty())
                .unwrap();
            let r = app.raw(req).await;
            assert_eq!(r.status, StatusCode::OK, "{path}");
            assert_eq!(r.json["issuer"], issuer.as_str());
            assert!(
                r.headers.contains_key("etag")
                    && r.headers["cache-control"]
                        .to_str()
                        .unwrap()
                        .contains("max-age")
            );
            for (meta, model) in [
                ("token_endpoint", "token_endpoint"),
                ("jwks_uri", "jwks_uri"),
                ("registration_endpoint", "registration_endpoint"),
                ("authorization_endpoint", "authorization_endpoint"),
            ] {
                assert_eq!(r.json[meta], z["protocols"]["oauth2"][model], "{meta}");
            }
            assert_eq!(
                r.json["userinfo_endpoint"],
                z["protocols"]["openid"]["userinfo_endpoint"]
            );
        }
        let meta = app
            .call(
                Method::GET,
                &format!("/z/{zone}/.well-known/oauth-authorization-server"),
                None,
                None,
            )
            .await;
        let etag = meta.headers["etag"].to_str().unwrap().to_owned();
        let cached = Request::get(format!("/z/{zone}/.well-known/oauth-authorization-server"))
            .header("if-none-match", etag)
            .body(Body::empty())
            .unwrap();
        assert_eq!(app.raw(cached).await.status, StatusCode::NOT_MODIFIED);
        let r = app
            .call(
                Method::GET,
                "/z/nonexistentzone000000000000/.well-known/oauth-authorization-server",
                None,
                None,
            )
            .await;
        assert_eq!(r.status, StatusCode::NOT_FOUND);
    }
);

both_backends!(
    client_credentials_mints_the_documented_claims,
    |app: TestApp| async move {
        let f = fixture(&app).await;
        let r = token(&app, &f, "grant_type=client_credentials&resource=https%3A%2F%2Fdown.test%2Fv1%2Fitems&subject_token_type=ignored").await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.json);
        assert_eq!(r.headers["cache-control"], "no-store");
        let t = r.json["access_token"].as_str().unwrap();
        let c = claims(t);
        assert_eq!(
            c["aud"], "https://down.test/v1/items",
            "prefix resources put the requested URL in aud"
        );
        assert_eq!(
            (
                c["sub"].as_str(),
                c["sub_profile"].as_str(),
                c["client_id"].as_str()
            ),
            (Some("svc"), Some("app"), Some(f.client_id.as_str()))
        );
        assert!(c.get("scope").is_none(), "no scope claim unless asked");
        assert_eq!(c["exp"].as_i64().unwrap() - c["iat"].as_i64().unwrap(), 120);
        assert_eq!(r.json["expires_in"], 120);
        assert!(c["jti"].is_string() && c["keycard_app_id"].is_string());
        assert_eq!(c["iss"], format!("http://lk.test/z/{}", f.zone));
        assert!(verify_with_jwks(&app, &f.zone, t).await);
        let head: Value = serde_json::from_slice(
            &URL_SAFE_NO_PAD
                .decode(t.split('.').next().unwrap())
                .unwrap(),
        )
        .unwrap();
        assert_eq!(head["alg"], "RS256");

        let scoped = token(
            &app,
            &f,
            "grant_type=client_credentials&audience=https%3A%2F%2Fapi.test%2Fown&scope=read",
        )
        .await;
        assert_eq!(
            claims(scoped.json["access_token"].as_str().unwrap())["scope"],
            "read",
            "owned resource via audience"
        );
        for (body, status, error) in [
            (
                "grant_type=client_credentials&resource=https%3A%2F%2Fapi.test%2Fown&scope=admin",
                400,
                "invalid_scope",
            ),
            (
                "grant_type=client_credentials&resource=https%3A%2F%2Fnowhere.test",
                400,
                "invalid_target",
            ),
            ("grant_type=client_credentials", 400, "invalid_request"),
            (
                "grant_type=client_credentials&resource=https%3A%2F%2Fdown.test&resource=https%3A%2F%2Fplain.test",
                400,
                "invalid_target",
            ),
            (
                "grant_type=password&username=a&password=b",
                400,
                "unsupported_grant_type",
            ),
            ("resource=x", 400, "invalid_request"),
        ] {
            let r = token(&app, &f, body).await;
            assert_eq!(
                (r.status.as_u16(), r.json["error"].as_str()),
                (status, Some(error)),
                "{body}: {}",
                r.json
            );
        }
        let wrong = Fixture {
            secret: "nope".into(),
            ..f
        };
        let r = token(
            &app,
            &wrong,
            "grant_type=client_credentials&resource=https%3A%2F%2Fplain.test",
        )
        .await;
        assert_eq!(
            (r.status, r.json["error"].as_str()),
            (StatusCode::UNAUTHORIZED, Some("invalid_client"))
        );
        assert!(
            r.headers["www-authenticate"]
                .to_str()
                .unwrap()
                .starts_with("Basic")
        );
    }
);

both_backends!(
    token_exchange_enforces_ownership_and_dependencies,
    |app: TestApp| async move {
        let f = fixture(&app).await;
        let own = token(
            &app,
            &f,
            "grant_type=client_credentials&resource=https%3A%2F%2Fapi.test%2Fown",
        )
        .await
        .json["access_token"]
            .as_str()
            .unwrap()
            .to_owned();
        let form = |subject: &str, target: &str| {
            format!(
                "grant_type={EXCHANGE}&subject_token={subject}&subject_token_type={ACCESS}&resource={target}"
            )
        };
        let r = token(&app, &f, &form(&own, "https%3A%2F%2Fplain.test")).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.json);
        assert_eq!(r.json["issued_token_type"], ACCESS);
        let c = claims(r.json["access_token"].as_str().unwrap());
        assert_eq!(
            (c["aud"].as_str(), c["act"]["sub"].as_str()),
            (Some("https://plain.test"), Some("svc"))
        );

        // A token for a resource the caller does not own cannot be exchanged.
        let plain = r.json["access_token"].as_str().unwrap().to_owned();
        let r = token(&app, &f, &form(&plain, "https%3A%2F%2Fdown.test")).await;
        assert_eq!(r.json["error"], "invalid_grant");
        // The owned resource is not a dependency of the caller.
        let r = token(&app, &f, &form(&own, "https%3A%2F%2Fapi.test%2Fown")).await;
        assert_eq!(r.json["error"], "access_denied");
        let mut forged = own.clone();
        forged.push('x');
        assert_eq!(
            token(&app, &f, &form(&forged, "https%3A%2F%2Fplain.test"))
                .await
                .json["error"],
            "invalid_grant"
        );
        let other = fixture(&app).await;
        let foreign = token(
            &app,
            &other,
            "grant_type=client_credentials&resource=https%3A%2F%2Fapi.test%2Fown",
        )
        .await
        .json["access_token"]
            .as_str()
            .unwrap()
            .to_owned();
        assert_eq!(
            token(&app, &f, &form(&foreign, "https%3A%2F%2Fplain.test"))
                .await
                .json["error"],
            "invalid_grant",
            "another zone's token"
        );
        let anon = Request::post(format!("/z/{}/oauth/2/token", f.zone))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Body::from(form(&own, "https%3A%2F%2Fplain.test")))
            .unwrap();
        let r = app.raw(anon).await;
        assert_eq!(
            (r.status, r.json["error"].as_str()),
            (StatusCode::UNAUTHORIZED, Some("invalid_client"))
        );
    }
);

both_backends!(
    keys_rotate_in_stages_and_stay_published,
    |app: TestApp| async move {
        let f = fixture(&app).await;
        let before = token(
            &app,
            &f,
            "grant_type=client_credentials&resource=https%3A%2F%2Fplain.test",
        )
        .await
        .json["access_token"]
            .as_str()
            .unwrap()
            .to_owned();
        let keys = app
            .admin(
                Method::GET,
                &format!("/zones/{}/signing-keys", f.zone),
                None,
            )
            .await
            .expect(StatusCode::OK)
            .json;
        let status = |k: &Value| {
            k["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i["status"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        };
        assert_eq!(
            status(&keys),
            vec!["current", "next"],
            "the next key is published before it signs"
        );
        let next_kid = keys["items"][1]["kid"].as_str().unwrap().to_owned();
        let jwks = app
            .call(
                Method::GET,
                &format!("/z/{}/openidconnect/jwks", f.zone),
                None,
                None,
            )
            .await
            .json;
        assert_eq!(jwks["keys"].as_array().unwrap().len(), 2);
        let rotated = app
            .admin(
                Method::POST,
                &format!("/zones/{}/signing-keys/rotate", f.zone),
                None,
            )
            .await
            .expect(StatusCode::OK)
            .json;
        assert_eq!(status(&rotated), vec!["previous", "current", "next"]);
        let after = token(
            &app,
            &f,
            "grant_type=client_credentials&resource=https%3A%2F%2Fplain.test",
        )
        .await
        .json["access_token"]
            .as_str()
            .unwrap()
            .to_owned();
        assert_eq!(
            Compact::parse(&after).unwrap().kid(),
            Some(next_kid.as_str()),
            "the staged key signs after rotation"
        );
        assert!(
            verify_with_jwks(&app, &f.zone, &before).await
                && verify_with_jwks(&app, &f.zone, &after).await
        );
        let previous = &rotated["items"][0];
        let retire =
            latchkey_domain::Timestamp::parse_rfc3339(previous["retire_at"].as_str().unwrap())
                .unwrap();
        assert!(
            retire.millis() - latchkey_domain::Timestamp::now().millis() > 24 * 3600 * 1000,
            "kept for the longest lifetime + 5 min"
        );

        set_signing_alg(&app, &f.zone, "ES256").await;
        rotate_keys(&app, &f.zone).await;
        let es = token(
            &app,
            &f,
            "grant_type=client_credentials&resource=https%3A%2F%2Fplain.test",
        )
        .await
        .json["access_token"]
            .as_str()
            .unwrap()
            .to_owned();
        assert_eq!(
            Compact::parse(&es).unwrap().alg(),
            Some(latchkey_crypto::jws::Alg::Es256)
        );
        assert!(verify_with_jwks(&app, &f.zone, &es).await);
        app.admin(
            Method::PATCH,
            &format!("/zones/{}", f.zone),
            Some(json!({"signing_alg": "HS256"})),
        )
        .await
        .expect(StatusCode::BAD_REQUEST);
    }
);

async fn register(app: &TestApp, zone: &str, body: Value) -> Reply {
    let req = Request::post(format!("/z/{zone}/oauth/2/registration"))
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .unwrap();
    app.raw(req).await
}

both_backends!(
    dynamic_registration_makes_user_agents,
    |app: TestApp| async move {
        let zone = app.zone("dcr").await;
        let mcp = json!({"client_name": "MCP Client - demo", "redirect_uris": ["http://127.0.0.1:53682/callback"], "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"], "token_endpoint_auth_method": "none", "client_uri": null, "logo_uri": null, "tos_uri": null, "policy_uri": null,
        "software_id": null, "software_version": null, "jwks_uri": null, "jwks": null, "scope": null, "extra": {"nested": true}});
        let r = register(&app, &zone, mcp).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.json);
        let client_id = r.json["client_id"].as_str().unwrap().to_owned();
        assert!(client_id.starts_with("ua:") && client_id.len() == 3 + 64);
        assert_eq!(
            r.json["redirect_uris"],
            json!(["http://127.0.0.1:53682/callback"])
        );
        assert_eq!(r.json["token_endpoint_auth_method"], "none");
        assert!(r.json.get("client_secret").is_none());
        let agents = app
            .admin(Method::GET, &format!("/zones/{zone}/user-agents"), None)
            .await
            .json;
        assert_eq!(agents["items"][0]["identifier"], client_id.as_str());
        assert_eq!(agents["items"][0]["name"], "MCP Client - demo");
        for (body, error) in [
            (
                json!({"redirect_uris": ["http://evil.example/cb"]}),
                "invalid_redirect_uri",
            ),
            (
                json!({"redirect_uris": ["https://ok.example/cb#frag"]}),
                "invalid_redirect_uri",
            ),
            (json!({"redirect_uris": []}), "invalid_redirect_uri"),
            (
                json!({"redirect_uris": ["https://ok.example/cb"], "grant_types": ["client_credentials"]}),
                "invalid_client_metadata",
            ),
            (
                json!({"redirect_uris": ["https://ok.example/cb"], "token_endpoint_auth_method": "client_secret_basic"}),
                "invalid_client_metadata",
            ),
            (json!({"redirect_uris": "nope"}), "invalid_client_metadata"),
        ] {
            let r = register(&app, &zone, body.clone()).await;
            assert_eq!(
                (r.status, r.json["error"].as_str()),
                (StatusCode::BAD_REQUEST, Some(error)),
                "{body}"
            );
        }
        app.admin(
            Method::PATCH,
            &format!("/zones/{zone}"),
            Some(json!({"protocols": {"oauth2": {"dcr_enabled": false}}})),
        )
        .await
        .expect(StatusCode::OK);
        let r = register(
            &app,
            &zone,
            json!({"redirect_uris": ["https://ok.example/cb"]}),
        )
        .await;
        assert_eq!(
            (r.status, r.json["error"].as_str()),
            (StatusCode::FORBIDDEN, Some("access_denied"))
        );
        app.admin(
            Method::PATCH,
            &format!("/zones/{zone}"),
            Some(json!({"protocols": {"oauth2": {"dcr_enabled": true}}})),
        )
        .await
        .expect(StatusCode::OK);
        let mut limited = false;
        for _ in 0..40 {
            if register(
                &app,
                &zone,
                json!({"redirect_uris": ["https://ok.example/cb"]}),
            )
            .await
            .status
                == StatusCode::TOO_MANY_REQUESTS
            {
                limited = true;
                break;
            }
        }
        assert!(limited, "registrations are rate-limited per address");
    }
);

both_backends!(introspection_and_revocation, |app: TestApp| async move {
    let f = fixture(&app).await;
    let t = token(
        &app,
        &f,
        "grant_type=client_credentials&resource=https%3A%2F%2Fplain.test",
    )
    .await
    .json["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let basic = STANDARD.encode(format!("{}:{}", f.client_id, f.secret));
    let post = |path: &str, body: String, auth: bool| {
        let mut req = Request::post(format!("/z/{}/oauth/2/{path}", f.zone))
            .header("content-type", "application/x-www-form-urlencoded");
        if auth {
            req = req.header("authorization", format!("Basic {basic}"));
        }
        req.body(Body::from(body)).unwrap()
    };
    let r = app
        .raw(post("introspect", format!("token={t}"), true))
        .await;
    assert_eq!(
        (r.json["active"].as_bool(), r.json["aud"].as_str()),
        (Some(true), Some("https://plain.test"))
    );
    assert_eq!(
        app.raw(post("introspect", "token=garbage".into(), true))
            .await
            .json,
        json!({"active": false})
    );
    assert_eq!(
        app.raw(post("introspect", format!("token={t}"), false))
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.raw(post("revoke", format!("token={t}"), true))
            .await
            .json["error"],
        "unsupported_token_type"
    );
    assert_eq!(
        app.raw(post("revoke", "token=unknown".into(), true))
            .await
            .status,
        StatusCode::OK
    );
});

#[tokio::test]
async fn host_mode_serves_zones_by_host_name() {
    let app = TestApp::host_mode("zones.test").await;
    let zone = app.zone("hosted").await;
    let z = app
        .admin(Method::GET, &format!("/zones/{zone}"), None)
        .await
        .json;
    let issuer = format!("http://{zone}.zones.test");
    assert_eq!(z["protocols"]["oauth2"]["issuer"], issuer.as_str());
    assert_eq!(
        z["protocols"]["oauth2"]["token_endpoint"],
        format!("{issuer}/oauth/2/token")
    );
    let req = Request::get("/.well-known/oauth-authorization-server")
        .header("host", format!("{zone}.zones.test"))
        .body(Body::empty())
        .unwrap();
    let r = app.raw(req).await;
    assert_eq!(
        (r.status, r.json["issuer"].as_str()),
        (StatusCode::OK, Some(issuer.as_str()))
    );
    let req = Request::get("/openidconnect/jwks")
        .header("host", format!("{zone}.zones.test:443"))
        .body(Body::empty())
        .unwrap();
    assert!(app.raw(req).await.json["keys"].is_array());
    // The management API still answers on the main host.
    app.admin(Method::GET, "/zones", None)
        .await
        .expect(StatusCode::OK);
}

both_backends!(
    directory_changes_apply_to_the_next_token_request,
    |app: TestApp| async move {
        let f = fixture(&app).await;
        let body = "grant_type=client_credentials&resource=https%3A%2F%2Fplain.test";
        assert_eq!(token(&app, &f, body).await.status, StatusCode::OK);
        let a = first_id(&app, &format!("/zones/{}/applications", f.zone)).await;
        let plain = first_id(
            &app,
            &format!("/zones/{}/resources?identifier=https://plain.test", f.zone),
        )
        .await;
        app.admin(
            Method::DELETE,
            &format!("/zones/{}/applications/{a}/dependencies/{plain}", f.zone),
            None,
        )
        .await
        .expect(StatusCode::NO_CONTENT);
        assert_eq!(
            token(&app, &f, body).await.json["error"],
            "access_denied",
            "dependency removal is immediate"
        );
        app.admin(
            Method::PUT,
            &format!("/zones/{}/applications/{a}/dependencies/{plain}", f.zone),
            None,
        )
        .await
        .expect(StatusCode::NO_CONTENT);
        assert_eq!(token(&app, &f, body).await.status, StatusCode::OK);
        let cred = first_id(&app, &format!("/zones/{}/application-credentials", f.zone)).await;
        app.admin(
            Method::DELETE,
            &format!("/zones/{}/application-credentials/{cred}", f.zone),
            None,
        )
        .await
        .expect(StatusCode::NO_CONTENT);
        assert_eq!(
            token(&app, &f, body).await.status,
            StatusCode::UNAUTHORIZED,
            "credential deletion is immediate"
        );
    }
);

both_backends!(
    impersonation_is_denied_without_a_policy,
    |app: TestApp| async move {
        let f = fixture(&app).await;
        let su = |sub: &str| {
            let h = URL_SAFE_NO_PAD.encode(r#"{"typ":"vnd.kc.su+jwt","alg":"none"}"#);
            let p = URL_SAFE_NO_PAD.encode(json!({"sub": sub}).to_string());
            format!("{h}.{p}.")
        };
        let form = |token: &str| {
            format!(
                "grant_type={EXCHANGE}&subject_token={token}&subject_token_type=urn%3Akeycard%3Aparams%3Aoauth%3Atoken-type%3Asubstitute-user&resource=https%3A%2F%2Fplain.test"
            )
        };
        let zone = app
            .admin(Method::GET, &format!("/zones/{}", f.zone), None)
            .await
            .json;
        let now = latchkey_domain::Timestamp::now();
        let user = latchkey_domain::model::identity::User {
            zone_id: latchkey_domain::id::ZoneId::new(&f.zone),
            id: latchkey_domain::id::UserId::new("u-imp"),
            organization_id: latchkey_domain::id::OrganizationId::new(
                zone["organization_id"].as_str().unwrap(),
            ),
            email: "victim@example.com".into(),
            email_verified: true,
            external: false,
            identifier: "victim".into(),
            status: "active".into(),
            authenticated_at: None,
            issuer: None,
            provider_id: None,
            subject: None,
            password_hash: None,
            created_at: now,
            updated_at: now,
        };
        app.store.insert_user(&user).await.unwrap();
        let existing = token(&app, &f, &form(&su("victim@example.com"))).await.json;
        assert_eq!(existing["error"], "access_denied", "forbidden by default");
        assert_eq!(
            token(&app, &f, &form(&su("nobody"))).await.json,
            existing,
            "a refusal says nothing about whether the user exists"
        );
        assert_eq!(
            token(&app, &f, &form("not-a-token")).await.json["error"],
            "invalid_grant"
        );
        let anon = Request::post(format!("/z/{}/oauth/2/token", f.zone))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Body::from(form(&su("victim"))))
            .unwrap();
        assert_eq!(
            app.raw(anon).await.status,
            StatusCode::UNAUTHORIZED,
            "client authentication is required"
        );
    }
);

/// The id of the first item of the management list at `path`.
async fn first_id(app: &TestApp, path: &str) -> String {
    let list = app.admin(Method::GET, path, None).await.json;
    list["items"][0]["id"].as_str().unwrap().to_owned()
}

/// The claims of a token without the ones minted per token.
fn planned_claims(token: &str) -> Value {
    let mut c = claims(token);
    let o = c.as_object_mut().unwrap();
    let (iat, exp) = (o["iat"].as_i64().unwrap(), o["exp"].as_i64().unwrap());
    assert_eq!(o.remove("jti").unwrap().as_str().unwrap().len(), 32);
    o.remove("iat");
    o.insert("exp".into(), json!(exp - iat));
    c
}

both_backends!(
    a_planned_token_never_outlives_what_it_was_planned_from,
    |app: TestApp| async move {
        // Attack: a repeated client_credentials request is answered from a plan; a change to
        // anything it was planned from (the resource, the application, the compiled policies,
        // even when only another instance's notice says so) must shape the very next token.
        let f = fixture(&app).await;
        let zone = latchkey_domain::id::ZoneId::new(&f.zone);
        let body = "grant_type=client_credentials&resource=https%3A%2F%2Fapi.test%2Fown&scope=read+write+read";
        let first = token(&app, &f, body).await;
        assert_eq!(first.status, StatusCode::OK, "{:?}", first.json);
        let second = token(&app, &f, body).await;
        let (t1, t2) = (
            first.json["access_token"].as_str().unwrap(),
            second.json["access_token"].as_str().unwrap(),
        );
        assert_ne!(
            claims(t1)["jti"],
            claims(t2)["jti"],
            "a fresh jti per token"
        );
        assert!(verify_with_jwks(&app, &f.zone, t2).await);
        let issuer = claims(t1)["iss"].clone();
        let a = first_id(&app, &format!("/zones/{}/applications", f.zone)).await;
        let expected = json!({"iss": issuer, "sub": "svc", "aud": "https://api.test/own",
            "client_id": f.client_id, "sub_profile": "app", "keycard_app_id": a,
            "scope": "read write", "exp": 3600});
        assert_eq!(planned_claims(t1), expected);
        assert_eq!(
            planned_claims(t2),
            expected,
            "the planned token equals the worked-out one"
        );
        assert_eq!(
            (
                second.json["scope"].as_str(),
                second.json["expires_in"].as_i64()
            ),
            (Some("read write"), Some(3600))
        );
        let own = first_id(
            &app,
            &format!(
                "/zones/{}/resources?identifier=https://api.test/own",
                f.zone
            ),
        )
        .await;
        let patch = |path: String, body: Value| {
            let app = &app;
            async move {
                app.admin(Method::PATCH, &path, Some(body))
                    .await
                    .expect(StatusCode::OK);
            }
        };
        patch(
            format!("/zones/{}/resources/{own}", f.zone),
            json!({"credential_lifetime_seconds": 60}),
        )
        .await;
        let t = token(&app, &f, body).await.json["access_token"]
            .as_str()
            .unwrap()
            .to_owned();
        assert_eq!(planned_claims(&t)["exp"], 60, "the new lifetime, at once");
        patch(
            format!("/zones/{}/applications/{a}", f.zone),
            json!({"identifier": "svc-renamed"}),
        )
        .await;
        let t = token(&app, &f, body).await.json["access_token"]
            .as_str()
            .unwrap()
            .to_owned();
        assert_eq!(
            planned_claims(&t)["sub"],
            "svc-renamed",
            "the new identifier, at once"
        );

        // A plan answers only a request whose secret proves its credential.
        let wrong = Fixture {
            secret: format!("{}x", f.secret),
            ..f.clone()
        };
        let refused = token(&app, &wrong, body).await;
        assert_eq!(
            (refused.status, refused.json["error"].as_str()),
            (StatusCode::UNAUTHORIZED, Some("invalid_client")),
            "a planned client with a wrong secret: {:?}",
            refused.json
        );

        // A key rotation: the next token is signed with the new current key.
        let kid = |t: &str| Compact::parse(t).unwrap().kid().unwrap().to_owned();
        let before = kid(&t);
        rotate_keys(&app, &f.zone).await;
        let t = token(&app, &f, body).await.json["access_token"]
            .as_str()
            .unwrap()
            .to_owned();
        assert_ne!(kid(&t), before, "signed with the rotated-in key, at once");
        assert!(verify_with_jwks(&app, &f.zone, &t).await);

        // A set with a forbid, made ready (not active) before the next plan is made.
        let (set, sv) = forbid_own(&app, &f.zone).await;
        for _ in 0..2 {
            assert_eq!(token(&app, &f, body).await.status, StatusCode::OK);
        }
        // Activated on "another instance": the binding moves in the database, and this
        // instance gets the notice.
        activate_in_store(&app, &zone, &set, &sv).await;
        app.state.policy_moved(&zone);
        denied_by_policy(
            &token(&app, &f, body).await,
            "a plan made with other compiled policies is not used",
        );

        // Every planned token was tallied in the decision log: 7 allows, 1 deny.
        app.state.decisions.flush(app.store.as_ref()).await;
        let logged = app
            .store
            .list_decisions(
                &zone,
                &latchkey_domain::store::DecisionFilter::default(),
                &latchkey_domain::PageRequest::first(100),
            )
            .await
            .unwrap();
        let count = |d: &str| -> i64 {
            logged
                .items
                .iter()
                .filter(|r| r.decision == d && r.resource_id == own)
                .map(|r| r.evaluations)
                .sum()
        };
        assert_eq!((count("allow"), count("deny")), (7, 1));

        // The credential deleted: its plan answers no more.
        let cred = first_id(&app, &format!("/zones/{}/application-credentials", f.zone)).await;
        app.admin(
            Method::DELETE,
            &format!("/zones/{}/application-credentials/{cred}", f.zone),
            None,
        )
        .await;
        assert_eq!(
            token(&app, &f, body).await.status,
            StatusCode::UNAUTHORIZED,
            "a deleted credential"
        );
    }
);

both_backends!(
    a_plan_answering_before_the_zone_is_read_follows_the_zone,
    |app: TestApp| async move {
        // Attack: a repeated client_credentials request is answered from its plan before the
        // zone is looked up at all, so the zone's own changes must hide the plan: a new signing
        // algorithm signs from the rotation that makes it current, and a deleted zone answers
        // nothing.
        let f = fixture(&app).await;
        let body = "grant_type=client_credentials&resource=https%3A%2F%2Fapi.test%2Fown";
        let alg = |r: &Reply| {
            let t = r.json["access_token"].as_str().unwrap();
            Compact::parse(t)
                .unwrap()
                .alg()
                .map(|a| a.as_str().to_owned())
        };
        for _ in 0..2 {
            let r = token(&app, &f, body).await;
            assert_eq!(alg(&r).as_deref(), Some("RS256"), "{:?}", r.json);
        }
        set_signing_alg(&app, &f.zone, "ES256").await;
        let r = token(&app, &f, body).await;
        assert_eq!(
            alg(&r).as_deref(),
            Some("RS256"),
            "the current key signs until a rotation"
        );
        rotate_keys(&app, &f.zone).await;
        let r = token(&app, &f, body).await;
        assert_eq!(
            alg(&r).as_deref(),
            Some("ES256"),
            "the zone's new algorithm, at once"
        );
        assert!(verify_with_jwks(&app, &f.zone, r.json["access_token"].as_str().unwrap()).await);
        assert_eq!(token(&app, &f, body).await.status, StatusCode::OK);
        app.admin(Method::DELETE, &format!("/zones/{}", f.zone), None)
            .await
            .expect(StatusCode::NO_CONTENT);
        let gone = token(&app, &f, body).await;
        assert_eq!(
            gone.status,
            StatusCode::NOT_FOUND,
            "a deleted zone: {:?}",
            gone.json
        );
    }
);

/// A ready (not active) policy set forbidding `https://api.test/own`: (set id, version id).
async fn forbid_own(app: &TestApp, zone: &str) -> (String, String) {
    let forbid = "@id(\"no-own\")\nforbid (principal, action, resource) when { resource.identifier == \"https://api.test/own\" };";
    let policy = app
        .create(
            &format!("/zones/{zone}/policies"),
            json!({"name": "no-own"}),
        )
        .await;
    let pv = app
        .create(
            &format!("/zones/{zone}/policies/{policy}/versions"),
            json!({"schema_version": "2026-03-16", "cedar_raw": forbid}),
        )
        .await;
    let set = app
        .create(
            &format!("/zones/{zone}/policy-sets"),
            json!({"name": "deny-own"}),
        )
        .await;
    let sv = app
        .create(
            &format!("/zones/{zone}/policy-sets/{set}/versions"),
            json!({"schema_version": "2026-03-16",
                   "manifest": {"entries": [{"policy_id": policy, "policy_version_id": pv}]}}),
        )
        .await;
    (set, sv)
}

/// Activates `sv` of `set` in the database alone, as another instance would (no notice here).
async fn activate_in_store(app: &TestApp, zone: &latchkey_domain::id::ZoneId, set: &str, sv: &str) {
    app.store
        .bind_policy_set(
            zone,
            &latchkey_domain::id::PolicySetId::new(set),
            Some(&latchkey_domain::id::PolicySetVersionId::new(sv)),
            latchkey_domain::store::BindMode::Active,
            zone.as_str(),
        )
        .await
        .unwrap();
}

both_backends!(
    a_plan_never_outlives_a_binding_only_the_recheck_finds,
    |app: TestApp| async move {
        // Attack: another instance activates a forbid and its notice never arrives. The
        // periodic recheck of the bindings is the backstop; once it has run, no plan made
        // before may answer.
        let f = fixture(&app).await;
        let zone = latchkey_domain::id::ZoneId::new(&f.zone);
        let body = "grant_type=client_credentials&resource=https%3A%2F%2Fapi.test%2Fown";
        let (set, sv) = forbid_own(&app, &f.zone).await;
        for _ in 0..2 {
            assert_eq!(token(&app, &f, body).await.status, StatusCode::OK);
        }
        let none = recheck(&app).await;
        assert!(none.is_empty(), "nothing moved yet: {none:?}");
        activate_in_store(&app, &zone, &set, &sv).await;
        assert_eq!(recheck(&app).await, vec![zone.clone()]);
        denied_by_policy(&token(&app, &f, body).await, "after the recheck");
    }
);

/// Asserts that `reply` is a token request refused by policy (`why` says which).
fn denied_by_policy(reply: &Reply, why: &str) {
    assert_eq!(
        (reply.status, reply.json["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("access_denied")),
        "{why}: {:?}",
        reply.json
    );
}

/// The zones whose bindings the policy recheck found moved (their epochs moved too).
async fn recheck(app: &TestApp) -> Vec<latchkey_domain::id::ZoneId> {
    app.state
        .policies
        .recheck_and_tell(app.store.as_ref(), &app.state.changes)
        .await
        .unwrap()
}

both_backends!(
    a_write_no_notice_told_of_holds_within_seconds,
    |app: TestApp| async move {
        // Attack: a credential is deleted where no notice comes from: another instance that
        // died between its commit and its notice, or an operator's SQL. The plan and cache
        // entries built from it must stop answering within about a second (the poll of
        // `zone_changes`), not when their TTL runs out.
        let f = fixture(&app).await;
        let zone = latchkey_domain::id::ZoneId::new(&f.zone);
        let body = "grant_type=client_credentials&resource=https%3A%2F%2Fapi.test%2Fown";
        for _ in 0..2 {
            assert_eq!(token(&app, &f, body).await.status, StatusCode::OK);
        }
        let cred = first_id(&app, &format!("/zones/{}/application-credentials", f.zone)).await;
        app.store
            .delete_app_credential(&zone, &latchkey_domain::id::AppCredentialId::new(&cred))
            .await
            .unwrap();
        let deleted = std::time::Instant::now();
        loop {
            let status = token(&app, &f, body).await.status;
            if status == StatusCode::UNAUTHORIZED {
                break;
            }
            assert_eq!(status, StatusCode::OK);
            assert!(
                deleted.elapsed() < Duration::from_secs(5),
                "a credential deleted behind the server's back still answers after 5 s"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
);

both_backends!(
    every_write_a_zone_cache_reads_moves_the_zones_mark,
    |app: TestApp| async move {
        // What the poll relies on: each kind of write to a table a zone cache reads (zone,
        // resources, providers, applications, dependencies and their conditions, credentials,
        // signing keys) moves the zone's mark in `zone_changes`, whoever made it.
        let f = fixture(&app).await;
        let zone = latchkey_domain::id::ZoneId::new(&f.zone);
        let z = f.zone.clone();
        let mut last = mark(&app, &zone).await;
        assert!(last.is_some(), "the zone's creation is marked");
        let res = first_id(&app, &format!("/zones/{z}/resources")).await;
        let a = first_id(&app, &format!("/zones/{z}/applications")).await;
        let listed = app
            .admin(Method::GET, &format!("/zones/{z}/resources"), None)
            .await
            .json;
        let id_of = |identifier: &str| -> String {
            listed["items"]
                .as_array()
                .unwrap()
                .iter()
                .find(|r| r["identifier"] == identifier)
                .unwrap()["id"]
                .as_str()
                .unwrap()
                .to_owned()
        };
        let (plain, down) = (id_of("https://plain.test"), id_of("https://down.test"));
        let writes: Vec<(&str, Method, String, Option<Value>)> = vec![
            (
                "zone updated",
                Method::PATCH,
                format!("/zones/{z}"),
                Some(json!({"description": "d"})),
            ),
            (
                "resource created",
                Method::POST,
                format!("/zones/{z}/resources"),
                Some(json!({"identifier": "https://new.test", "name": "New"})),
            ),
            (
                "resource updated",
                Method::PATCH,
                format!("/zones/{z}/resources/{res}"),
                Some(json!({"name": "Renamed"})),
            ),
            (
                "provider created",
                Method::POST,
                format!("/zones/{z}/providers"),
                Some(json!({"identifier": "https://idp.example", "name": "IdP"})),
            ),
            (
                "application updated",
                Method::PATCH,
                format!("/zones/{z}/applications/{a}"),
                Some(json!({"name": "Renamed"})),
            ),
            (
                "dependency with a condition",
                Method::PUT,
                format!("/zones/{z}/applications/{a}/dependencies/{plain}?when_accessing={down}"),
                None,
            ),
            (
                "dependency removed",
                Method::DELETE,
                format!("/zones/{z}/applications/{a}/dependencies/{plain}"),
                None,
            ),
            (
                "credential created",
                Method::POST,
                format!("/zones/{z}/application-credentials"),
                Some(json!({"application_id": a, "type": "password"})),
            ),
            (
                "keys rotated",
                Method::POST,
                format!("/zones/{z}/signing-keys/rotate"),
                None,
            ),
        ];
        for (what, method, path, body) in writes {
            let r = app.admin(method, &path, body).await;
            assert!(r.status.is_success(), "{what}: {} {:?}", r.status, r.json);
            let now = mark(&app, &zone).await;
            assert_ne!(now, last, "{what} moves the mark");
            last = now;
        }
        let cred = first_id(&app, &format!("/zones/{z}/application-credentials")).await;
        app.store
            .delete_app_credential(&zone, &latchkey_domain::id::AppCredentialId::new(&cred))
            .await
            .unwrap();
        assert_ne!(
            mark(&app, &zone).await,
            last,
            "a credential deleted in the store alone"
        );
    }
);

/// The zone's mark in `zone_changes` (changed within the last minute).
async fn mark(app: &TestApp, zone: &latchkey_domain::id::ZoneId) -> Option<i64> {
    app.store
        .recent_zone_changes(60_000)
        .await
        .unwrap()
        .into_iter()
        .find(|(z, _)| z == zone)
        .map(|(_, m)| m)
}
