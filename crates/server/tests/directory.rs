//! Zone-directory rules through the real router: applications and dependencies, the five
//! credential types, providers, resources, the vault, identity records (store fixtures),
//! referential rules and cross-zone isolation.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // integration tests

mod common;

use axum::http::{Method, StatusCode};
use common::TestApp;
use latchkey_domain::Timestamp;
use latchkey_domain::id::{
    GrantId, OrganizationId, ProviderId, ResourceId, SessionId, UserId, ZoneId,
};
use latchkey_domain::model::identity::{Grant, Session, SessionType, Status, User};
use serde_json::{Value, json};

fn ids(list: &Value) -> Vec<String> {
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_owned())
        .collect()
}

both_backends!(
    applications_dependencies_and_resource_deletion,
    |app: TestApp| async move {
        let z = app.zone("deps").await;
        let r1 = app
            .create(
                &format!("/zones/{z}/resources"),
                json!({"identifier": "https://api.one", "name": "One"}),
            )
            .await;
        let r2 = app
            .create(
                &format!("/zones/{z}/resources"),
                json!({"identifier": "urn:two", "name": "Two"}),
            )
            .await;
        let a = app
            .admin(
                Method::POST,
                &format!("/zones/{z}/applications"),
                Some(json!({"identifier": "app", "name": "App", "dependencies": [{"id": r1}]})),
            )
            .await
            .expect(StatusCode::CREATED)
            .json;
        assert_eq!(
            (a["dependencies_count"].as_u64(), a["consent"].as_str()),
            (Some(1), Some("required"))
        );
        let a_id = a["id"].as_str().unwrap();
        let deps = format!("/zones/{z}/applications/{a_id}/dependencies");
        app.admin(
            Method::PUT,
            &format!("{deps}/{r2}?when_accessing={r1}"),
            None,
        )
        .await
        .expect(StatusCode::NO_CONTENT);
        let got = app
            .admin(Method::GET, &format!("{deps}/{r2}"), None)
            .await
            .expect(StatusCode::OK)
            .json;
        assert_eq!(got["when_accessing"], json!([r1]));
        let filtered = app
            .admin(Method::GET, &format!("{deps}?when_accessing={r1}"), None)
            .await
            .expect(StatusCode::OK)
            .json;
        assert_eq!(ids(&filtered), vec![r2.clone()]);
        app.admin(Method::PUT, &format!("{deps}/{r2}"), None)
            .await
            .expect(StatusCode::NO_CONTENT);
        let got = app
            .admin(Method::GET, &format!("{deps}/{r2}"), None)
            .await
            .expect(StatusCode::OK)
            .json;
        assert_eq!(
            got["when_accessing"],
            json!([]),
            "re-PUT replaces the conditions"
        );
        let plain = app
            .admin(Method::GET, &format!("/zones/{z}/resources/{r2}"), None)
            .await
            .expect(StatusCode::OK)
            .json;
        assert!(
            plain.get("when_accessing").is_none(),
            "only dependency reads show when_accessing"
        );
        let a_path = format!("/zones/{z}/applications/{a_id}");
        assert_eq!(
            app.admin(Method::GET, &a_path, None).await.json["dependencies_count"],
            2
        );

        app.admin(
            Method::PATCH,
            &format!("/zones/{z}"),
            Some(json!({"default_resource_id": r1})),
        )
        .await
        .expect(StatusCode::OK);
        app.admin(Method::DELETE, &format!("/zones/{z}/resources/{r1}"), None)
            .await
            .expect(StatusCode::NO_CONTENT);
        assert_eq!(
            app.admin(Method::GET, &a_path, None).await.json["dependencies_count"],
            1,
            "link removed with the resource"
        );
        assert!(
            app.admin(Method::GET, &format!("/zones/{z}"), None)
                .await
                .json["default_resource_id"]
                .is_null()
        );
        app.admin(Method::DELETE, &format!("{deps}/{r2}"), None)
            .await
            .expect(StatusCode::NO_CONTENT);
        app.admin(Method::GET, &format!("{deps}/{r2}"), None)
            .await
            .expect(StatusCode::NOT_FOUND);
        assert_eq!(
            app.admin(Method::GET, &a_path, None).await.json["dependencies_count"],
            0
        );
    }
);

both_backends!(
    application_patch_is_tri_state_and_identifiers_are_unique,
    |app: TestApp| async move {
        let z = app.zone("apps").await;
        let body = json!({"identifier": "dup", "name": "A", "description": "d", "metadata": {"docs_url": "https://d.example"},
        "protocols": {"oauth2": {"redirect_uris": ["https://cb.example/cb"]}}});
        let id = app
            .create(&format!("/zones/{z}/applications"), body.clone())
            .await;
        let r = app
            .admin(
                Method::POST,
                &format!("/zones/{z}/applications"),
                Some(body),
            )
            .await
            .expect(StatusCode::CONFLICT);
        assert_eq!(r.headers["x-should-retry"], "false");
        assert!(r.message().contains("`dup`"));
        let path = format!("/zones/{z}/applications/{id}");
        let p = app
            .admin(Method::PATCH, &path, Some(json!({"name": "B"})))
            .await
            .expect(StatusCode::OK)
            .json;
        assert_eq!(
            (
                p["description"].as_str(),
                p["metadata"]["docs_url"].as_str()
            ),
            (Some("d"), Some("https://d.example"))
        );
        let p = app
        .admin(Method::PATCH, &path, Some(json!({"description": null, "metadata": {}, "protocols": {"oauth2": {"redirect_uris": []}}})))
        .await
        .expect(StatusCode::OK)
        .json;
        assert!(
            p["description"].is_null() && p["metadata"].is_null() && p["protocols"].is_null(),
            "{p}"
        );
        for bad in [
            json!({"name": null}),
            json!({"consent": "maybe"}),
            json!({"metadata": {"docs_url": "not a url"}}),
            json!({"identifier": "x".repeat(2049)}),
        ] {
            app.admin(Method::PATCH, &path, Some(bad))
                .await
                .expect(StatusCode::BAD_REQUEST);
        }
    }
);

both_backends!(the_five_credential_types, |app: TestApp| async move {
    let z = app.zone("creds").await;
    let a = app
        .create(
            &format!("/zones/{z}/applications"),
            json!({"identifier": "app", "name": "App"}),
        )
        .await;
    let p = app
        .create(
            &format!("/zones/{z}/providers"),
            json!({"identifier": "https://idp.example", "name": "IdP"}),
        )
        .await;
    let creds = format!("/zones/{z}/application-credentials");
    let pw = app
        .admin(
            Method::POST,
            &creds,
            Some(json!({"application_id": a, "type": "password"})),
        )
        .await
        .expect(StatusCode::CREATED)
        .json;
    assert!(pw["password"].as_str().unwrap().starts_with("lk_cs_"));
    assert!(
        !pw["identifier"].as_str().unwrap().is_empty(),
        "identifier generated"
    );
    let pw_path = format!("{creds}/{}", pw["id"].as_str().unwrap());
    assert!(
        app.admin(Method::GET, &pw_path, None)
            .await
            .json
            .get("password")
            .is_none()
    );
    let list = app
        .admin(Method::GET, &format!("{creds}?applicationId={a}"), None)
        .await
        .expect(StatusCode::OK)
        .json;
    assert!(
        list["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c.get("password").is_none())
    );

    let tok = app
        .admin(
            Method::POST,
            &creds,
            Some(json!({"application_id": a, "type": "token", "provider_id": p, "subject": "svc"})),
        )
        .await
        .expect(StatusCode::CREATED)
        .json;
    assert_eq!(tok["identifier"], "svc");
    let tok_path = format!("{creds}/{}", tok["id"].as_str().unwrap());
    let t = app
        .admin(
            Method::PATCH,
            &tok_path,
            Some(json!({"type": "token", "subject": null})),
        )
        .await
        .expect(StatusCode::OK)
        .json;
    assert_eq!(t["identifier"], "*");
    app.admin(
        Method::POST,
        &creds,
        Some(json!({"application_id": a, "type": "token"})),
    )
    .await
    .expect(StatusCode::BAD_REQUEST);

    let pk =
        json!({"application_id": a, "type": "public-key", "jwks_uri": "https://keys.example/jwks"});
    assert!(
        app.admin(Method::POST, &creds, Some(pk))
            .await
            .expect(StatusCode::CREATED)
            .json["jwks_uri"]
            .is_string()
    );
    for bad in [
        json!({"application_id": a, "type": "public-key"}),
        json!({"application_id": a, "type": "public-key", "jwks_uri": "http://keys.example/jwks"}),
        json!({"application_id": a, "type": "url", "identifier": "not a url"}),
        json!({"application_id": a, "type": "magic"}),
    ] {
        app.admin(Method::POST, &creds, Some(bad))
            .await
            .expect(StatusCode::BAD_REQUEST);
    }
    let url = json!({"application_id": a, "type": "url", "identifier": "https://client.example/meta.json"});
    app.admin(Method::POST, &creds, Some(url.clone()))
        .await
        .expect(StatusCode::CREATED);
    app.admin(Method::POST, &creds, Some(url))
        .await
        .expect(StatusCode::CONFLICT);
    let public = app
        .admin(
            Method::POST,
            &creds,
            Some(json!({"application_id": a, "type": "public", "identifier": "cli"})),
        )
        .await
        .expect(StatusCode::CREATED)
        .json;
    assert!(public.get("password").is_none());

    let r = app
        .admin(Method::DELETE, &format!("/zones/{z}/providers/{p}"), None)
        .await
        .expect(StatusCode::CONFLICT);
    assert!(
        r.message().contains(tok["id"].as_str().unwrap()),
        "names the credential: {}",
        r.message()
    );
    app.admin(
        Method::DELETE,
        &format!("/zones/{z}/applications/{a}"),
        None,
    )
    .await
    .expect(StatusCode::NO_CONTENT);
    app.admin(Method::GET, &pw_path, None)
        .await
        .expect(StatusCode::NOT_FOUND);
    app.admin(Method::DELETE, &format!("/zones/{z}/providers/{p}"), None)
        .await
        .expect(StatusCode::NO_CONTENT);
});

both_backends!(
    providers_platform_rows_and_write_only_secrets,
    |app: TestApp| async move {
        let z = app.zone("providers").await;
        let list = app
            .admin(
                Method::GET,
                &format!("/zones/{z}/providers?filter%5Btype%5D=keycard-sts"),
                None,
            )
            .await
            .expect(StatusCode::OK)
            .json;
        let sts = &list["items"][0];
        assert_eq!(
            (
                sts["owner_type"].as_str(),
                list["items"].as_array().unwrap().len()
            ),
            (Some("platform"), 1)
        );
        let sts_path = format!("/zones/{z}/providers/{}", sts["id"].as_str().unwrap());
        assert_eq!(
            app.admin(Method::PATCH, &sts_path, Some(json!({"name": "x"})))
                .await
                .expect(StatusCode::FORBIDDEN)
                .code(),
            "platform_owned"
        );
        app.admin(Method::DELETE, &sts_path, None)
            .await
            .expect(StatusCode::FORBIDDEN);

        let created = app
        .admin(Method::POST, &format!("/zones/{z}/providers"), Some(json!({"identifier": "https://idp.example", "name": "IdP",
            "client_id": "c", "client_secret": "SUPER-SECRET-VALUE", "protocols": {"oauth2": {"scope_separator": ","}}})))
        .await
        .expect(StatusCode::CREATED)
        .json;
        assert_eq!(
            (
                created["type"].as_str(),
                created["client_secret_set"].as_bool()
            ),
            (Some("external"), Some(true))
        );
        assert_eq!(
            created["protocols"]["oauth2"]["issuer"], "https://idp.example",
            "issuer defaults to identifier"
        );
        assert!(!created.to_string().contains("SUPER-SECRET-VALUE"));
        let path = format!("/zones/{z}/providers/{}", created["id"].as_str().unwrap());
        app.admin(
            Method::PATCH,
            &path,
            Some(json!({"protocols": {"oauth2": {"issuer": null}}})),
        )
        .await
        .expect(StatusCode::BAD_REQUEST);
        let p = app
            .admin(
                Method::PATCH,
                &path,
                Some(json!({"client_secret": null, "protocols": null})),
            )
            .await
            .expect(StatusCode::OK)
            .json;
        assert_eq!(p["client_secret_set"], false);
        assert!(p["protocols"].is_null());
        if app.is_sqlite() {
            let db = std::fs::read(app.dir.path().join("latchkey.db")).unwrap();
            let wal = std::fs::read(app.dir.path().join("latchkey.db-wal")).unwrap_or_default();
            let needle = b"SUPER-SECRET-VALUE";
            assert!(
                !db.windows(needle.len())
                    .chain(wal.windows(needle.len()))
                    .any(|w| w == needle)
            );
        }
    }
);

both_backends!(vault_versions_and_seals_data, |app: TestApp| async move {
    let z = app.zone("vault").await;
    let path = format!("/zones/{z}/secrets");
    let marker = "vault-marker-7f3a9c1e5b";
    let s = app
        .admin(Method::POST, &path, Some(json!({"data": {"type": "password", "username": "u", "password": marker}, "entity_id": "e1", "name": "db", "metadata": {"env": "prod"}})))
        .await
        .expect(StatusCode::CREATED)
        .json;
    assert_eq!(
        (s["version"].as_i64(), s["type"].as_str()),
        (Some(1), Some("password"))
    );
    assert!(s.get("data").is_none());
    let one = format!("{path}/{}", s["id"].as_str().unwrap());
    let list = app
        .admin(Method::GET, &path, None)
        .await
        .expect(StatusCode::OK)
        .json;
    assert!(list.is_array() && list[0].get("data").is_none());
    assert_eq!(
        app.admin(Method::GET, &one, None).await.json["data"]["password"],
        marker
    );
    let u = app
        .admin(
            Method::PATCH,
            &one,
            Some(json!({"metadata": {"env": "dev"}})),
        )
        .await
        .expect(StatusCode::OK)
        .json;
    assert_eq!(u["version"], 1, "metadata does not bump the version");
    let u = app
        .admin(
            Method::PATCH,
            &one,
            Some(json!({"data": {"type": "password", "username": "u", "password": "p2"}})),
        )
        .await
        .expect(StatusCode::OK)
        .json;
    assert_eq!(u["version"], 2);
    assert_eq!(
        app.admin(Method::GET, &one, None).await.json["data"]["password"],
        "p2"
    );
    app.admin(
        Method::PATCH,
        &one,
        Some(json!({"data": {"type": "token", "token": "t"}})),
    )
    .await
    .expect(StatusCode::BAD_REQUEST);
    app.admin(Method::GET, &format!("{path}?owner_type=customer"), None)
        .await
        .expect(StatusCode::BAD_REQUEST);
    app.admin(Method::POST, &path, Some(json!({"data": {"type": "token", "token": "t"}, "entity_id": "e", "name": "n", "description": "d".repeat(129)}))).await.expect(StatusCode::BAD_REQUEST);
    if app.is_sqlite() {
        let db = std::fs::read(app.dir.path().join("latchkey.db")).unwrap();
        let wal = std::fs::read(app.dir.path().join("latchkey.db-wal")).unwrap_or_default();
        assert!(
            !db.windows(marker.len())
                .chain(wal.windows(marker.len()))
                .any(|w| w == marker.as_bytes())
        );
    }
    app.admin(Method::DELETE, &one, None)
        .await
        .expect(StatusCode::NO_CONTENT);
    app.admin(Method::GET, &one, None)
        .await
        .expect(StatusCode::NOT_FOUND);
});

both_backends!(lists_sort_filter_and_search, |app: TestApp| async move {
    let z = app.zone("lists").await;
    let path = format!("/zones/{z}/applications");
    let mut created = Vec::new();
    for name in ["delta", "Alpha", "charlie", "bravo"] {
        created.push(
            app.create(
                &path,
                json!({"identifier": format!("id-{name}"), "name": name}),
            )
            .await,
        );
    }
    let names = |v: &Value| {
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["name"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    let sorted = app
        .admin(
            Method::GET,
            &format!("{path}?sort=-identifier&limit=3"),
            None,
        )
        .await
        .expect(StatusCode::OK)
        .json;
    assert_eq!(names(&sorted), vec!["delta", "charlie", "bravo"]);
    let next = sorted["pagination"]["after_cursor"].as_str().unwrap();
    let rest = app
        .admin(
            Method::GET,
            &format!("{path}?sort=-identifier&limit=3&after={next}"),
            None,
        )
        .await
        .expect(StatusCode::OK)
        .json;
    assert_eq!(names(&rest), vec!["Alpha"]);
    app.admin(Method::GET, &format!("{path}?sort=name&after={next}"), None)
        .await
        .expect(StatusCode::BAD_REQUEST);
    let search = app
        .admin(
            Method::GET,
            // (sorted by name: two creates in one millisecond have no defined creation order)
            &format!("{path}?query%5B%5D=ALPH&query%5B%5D=id-del&sort=name"),
            None,
        )
        .await
        .expect(StatusCode::OK)
        .json;
    assert_eq!(names(&search), vec!["Alpha", "delta"]);
    let by_id = app
        .admin(
            Method::GET,
            &format!(
                "{path}?filter%5Bid%5D={}&filter%5Bid%5D=unknown&limit=1",
                created[2]
            ),
            None,
        )
        .await
        .expect(StatusCode::OK)
        .json;
    assert_eq!(ids(&by_id), vec![created[2].clone()]);
    app.admin(
        Method::GET,
        &format!("{path}?filter%5Bid%5D=x&after={next}"),
        None,
    )
    .await
    .expect(StatusCode::BAD_REQUEST);
    let exact = app
        .admin(Method::GET, &format!("{path}?identifier=id-bravo"), None)
        .await
        .expect(StatusCode::OK)
        .json;
    assert_eq!(names(&exact), vec!["bravo"]);
});

both_backends!(
    cross_zone_references_are_not_found,
    |app: TestApp| async move {
        let a = app.zone("A").await;
        let b = app.zone("B").await;
        let pb = app
            .create(
                &format!("/zones/{b}/providers"),
                json!({"identifier": "https://idp.b", "name": "B IdP"}),
            )
            .await;
        let rb = app
            .create(
                &format!("/zones/{b}/resources"),
                json!({"identifier": "https://api.b", "name": "B API"}),
            )
            .await;
        app.admin(Method::GET, &format!("/zones/{a}/providers/{pb}"), None)
            .await
            .expect(StatusCode::NOT_FOUND);
        app.admin(Method::GET, &format!("/zones/{a}/resources/{rb}"), None)
            .await
            .expect(StatusCode::NOT_FOUND);
        let r = app
        .admin(Method::POST, &format!("/zones/{a}/resources"), Some(json!({"identifier": "https://api.a", "name": "A", "credential_provider_id": pb})))
        .await
        .expect(StatusCode::NOT_FOUND);
        assert!(r.message().contains("credential_provider_id"));
        app.admin(
            Method::POST,
            &format!("/zones/{a}/applications"),
            Some(json!({"identifier": "x", "name": "x", "dependencies": [{"id": rb}]})),
        )
        .await
        .expect(StatusCode::NOT_FOUND);
        app.admin(
            Method::PATCH,
            &format!("/zones/{a}"),
            Some(json!({"default_resource_id": rb})),
        )
        .await
        .expect(StatusCode::NOT_FOUND);
        app.admin(
            Method::PATCH,
            &format!("/zones/{a}"),
            Some(json!({"user_identity_provider_id": pb})),
        )
        .await
        .expect(StatusCode::NOT_FOUND);
        let list = app
            .admin(Method::GET, &format!("/zones/{a}/resources"), None)
            .await
            .expect(StatusCode::OK)
            .json;
        assert!(
            ids(&list).is_empty(),
            "nothing was written by the refused requests"
        );
    }
);

fn user(zone: &str, org: &str, id: &str, email: &str, at: i64) -> User {
    let now = Timestamp::now();
    User {
        zone_id: ZoneId::new(zone),
        id: UserId::new(id),
        organization_id: OrganizationId::new(org),
        email: email.into(),
        email_verified: true,
        external: false,
        identifier: id.into(),
        status: "active".into(),
        authenticated_at: Some(Timestamp::from_millis(at)),
        issuer: Some("https://idp.example".into()),
        provider_id: None,
        subject: Some(format!("sub-{id}")),
        password_hash: None,
        created_at: now,
        updated_at: now,
    }
}

fn session(zone: &str, org: &str, id: &str, parent: Option<&str>, user_id: &str) -> Session {
    let now = Timestamp::now();
    Session {
        zone_id: ZoneId::new(zone),
        id: SessionId::new(id),
        organization_id: OrganizationId::new(org),
        session_type: SessionType::User,
        user_id: Some(UserId::new(user_id)),
        application_id: None,
        user_agent_id: None,
        parent_id: parent.map(SessionId::new),
        provider_id: None,
        issuer: None,
        subject: None,
        metadata_name: Some("cli".into()),
        session_data: Some(json!({"email": "x@example.com"})),
        status: Status::Active,
        authenticated_at: Some(now),
        expires_at: Some(now.plus_seconds(3600)),
        created_at: now,
        updated_at: now,
    }
}

both_backends!(
    identity_records_read_revoke_delete,
    |app: TestApp| async move {
        let z = app.zone("people").await;
        let zone = app
            .admin(Method::GET, &format!("/zones/{z}"), None)
            .await
            .json;
        let org = zone["organization_id"].as_str().unwrap();
        let s = &app.store;
        s.insert_user(&user(&z, org, "u1", "ann@example.com", 10))
            .await
            .unwrap();
        s.insert_user(&user(&z, org, "u2", "bob@example.com", 20))
            .await
            .unwrap();
        let users = app
            .admin(
                Method::GET,
                &format!("/zones/{z}/users?sort=-authenticated_at&expand%5B%5D=session_count"),
                None,
            )
            .await
            .expect(StatusCode::OK)
            .json;
        assert_eq!(ids(&users), vec!["u2", "u1"]);
        let ann = app
            .admin(
                Method::GET,
                &format!("/zones/{z}/users?filter%5Bemail%5D=ann@example.com"),
                None,
            )
            .await
            .json;
        assert_eq!(ids(&ann), vec!["u1"]);

        // A user agent initiates a root session; a child and a grandchild hang below it.
        let agent = latchkey_domain::model::identity::UserAgent {
            zone_id: ZoneId::new(&z),
            id: latchkey_domain::id::UserAgentId::new("ua1"),
            organization_id: OrganizationId::new(org),
            identifier: "ua:abc".into(),
            name: "CLI".into(),
            slug: "cli".into(),
            registration: None,
            created_at: Timestamp::now(),
            updated_at: Timestamp::now(),
        };
        s.insert_user_agent(agent).await.unwrap();
        for (id, parent) in [("s1", None), ("s2", Some("s1")), ("s3", Some("s2"))] {
            let mut x = session(&z, org, id, parent, "u1");
            x.user_agent_id = Some(latchkey_domain::id::UserAgentId::new("ua1"));
            s.insert_session(&x).await.unwrap();
        }
        let entry = app
            .admin(Method::GET, &format!("/zones/{z}/sessions"), None)
            .await
            .expect(StatusCode::OK)
            .json;
        assert_eq!(
            ids(&entry),
            vec!["s1", "s2"],
            "entry sessions: roots and their direct children"
        );
        let all = app
            .admin(
                Method::GET,
                &format!("/zones/{z}/sessions?include_nested=true"),
                None,
            )
            .await
            .json;
        assert_eq!(ids(&all), vec!["s1", "s2", "s3"]);
        let revoked = app
            .admin(
                Method::PATCH,
                &format!("/zones/{z}/sessions/s1"),
                Some(json!({"status": "revoked"})),
            )
            .await
            .expect(StatusCode::OK)
            .json;
        assert_eq!(
            (revoked["status"].as_str(), revoked["active"].as_bool()),
            (Some("revoked"), Some(false))
        );
        let child = app
            .admin(Method::GET, &format!("/zones/{z}/sessions/s3"), None)
            .await
            .json;
        assert_eq!(
            child["status"], "revoked",
            "revocation cascades down the tree"
        );
        app.admin(
            Method::PATCH,
            &format!("/zones/{z}/sessions/s1"),
            Some(json!({"status": "active"})),
        )
        .await
        .expect(StatusCode::BAD_REQUEST);
        app.admin(Method::DELETE, &format!("/zones/{z}/sessions/s1"), None)
            .await
            .expect(StatusCode::NO_CONTENT);
        app.admin(Method::GET, &format!("/zones/{z}/sessions/s3"), None)
            .await
            .expect(StatusCode::NOT_FOUND);

        let p = app
            .create(
                &format!("/zones/{z}/providers"),
                json!({"identifier": "https://up.example", "name": "Up"}),
            )
            .await;
        let r = app
            .create(
                &format!("/zones/{z}/resources"),
                json!({"identifier": "https://api.example", "name": "API"}),
            )
            .await;
        let now = Timestamp::now();
        for (id, expires) in [("g1", now.plus_seconds(600)), ("g2", now.plus_seconds(-5))] {
            let g = Grant {
                zone_id: ZoneId::new(&z),
                id: GrantId::new(id),
                organization_id: OrganizationId::new(org),
                user_id: UserId::new("u1"),
                resource_id: ResourceId::new(&r),
                provider_id: ProviderId::new(&p),
                scopes: vec!["read".into()],
                status: Status::Active,
                expires_at: expires,
                refresh_token_set: false,
                refreshed_at: None,
                access_token: None,
                refresh_token: None,
                created_at: now,
                updated_at: now,
            };
            s.insert_grant(&g).await.unwrap();
        }
        let expired = app
            .admin(
                Method::GET,
                &format!("/zones/{z}/delegated-grants?status=expired"),
                None,
            )
            .await
            .expect(StatusCode::OK)
            .json;
        assert_eq!(ids(&expired), vec!["g2"]);
        let g1 = app
            .admin(
                Method::GET,
                &format!("/zones/{z}/delegated-grants/g1"),
                None,
            )
            .await
            .json;
        assert!(g1.get("refreshed_at").is_none() && g1["status"] == "active");
        app.admin(
            Method::PATCH,
            &format!("/zones/{z}/delegated-grants/g1"),
            Some(json!({"status": "revoked"})),
        )
        .await
        .expect(StatusCode::OK);
        let active = app
            .admin(
                Method::GET,
                &format!("/zones/{z}/delegated-grants?status=active"),
                None,
            )
            .await
            .json;
        assert!(ids(&active).is_empty());
        app.admin(Method::DELETE, &format!("/zones/{z}/resources/{r}"), None)
            .await
            .expect(StatusCode::NO_CONTENT);
        app.admin(
            Method::GET,
            &format!("/zones/{z}/delegated-grants/g1"),
            None,
        )
        .await
        .expect(StatusCode::NOT_FOUND);
    }
);
