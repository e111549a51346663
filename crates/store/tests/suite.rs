//! The store test-suite: every test runs against SQLite (a fresh file) and PostgreSQL (a fresh
//! database on the local server, `LATCHKEY_TEST_POSTGRES_URL` or
//! `postgres://postgres@127.0.0.1:5432/postgres`). PostgreSQL being unreachable is a failure,
//! not a skip: CI must exercise both back ends.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // integration tests

mod common;

use common::{new_id, org_with_zone, zone_in};
use latchkey_domain::id::{CredentialId, OrganizationId, ProviderId, ServiceAccountId, ZoneId};
use latchkey_domain::model::access::{ApiKey, Principal, ServiceAccountToken};
use latchkey_domain::model::service_account::{ServiceAccount, ServiceAccountCredential};
use latchkey_domain::model::sso::SsoConnection;
use latchkey_domain::store::{
    AccessStore, MetaStore, OrganizationStore, ProviderStore, ServiceAccountStore,
    SsoConnectionStore, Store, ZoneFilter, ZoneStore,
};
use latchkey_domain::{PageRequest, StoreError, Timestamp};
use latchkey_store::SqlStore;

store_test!(
    migrations_are_idempotent,
    |s: SqlStore, url: String| async move {
        drop(s);
        let again = SqlStore::open(&url).await.unwrap();
        assert_eq!(again.init_meta("k", "v1").await.unwrap(), "v1");
        assert_eq!(
            again.init_meta("k", "v2").await.unwrap(),
            "v1",
            "init_meta keeps the first value"
        );
        again.close().await;
    }
);

store_test!(
    organization_labels_and_zone_slugs_are_made_unique,
    |s: SqlStore, _url: String| async move {
        let a = org_with_zone(&s, "Acme").await;
        let b = org_with_zone(&s, "Acme").await;
        assert_eq!(a.label, "acme");
        assert_eq!(b.label, "acme-2");
        assert_eq!(
            s.find_organization_by_label("acme-2")
                .await
                .unwrap()
                .unwrap()
                .id,
            b.id
        );
        let platform = s.get_zone(&a.zone_id).await.unwrap().unwrap();
        assert_eq!(
            platform.owner_type,
            latchkey_domain::model::OwnerType::Platform
        );

        let z1 = s.create_zone(zone_in(&a.id, "Prod")).await.unwrap();
        let z2 = s.create_zone(zone_in(&a.id, "Prod")).await.unwrap();
        let z3 = s.create_zone(zone_in(&b.id, "Prod")).await.unwrap();
        assert_eq!(
            (z1.slug.as_str(), z2.slug.as_str(), z3.slug.as_str()),
            ("prod", "prod-2", "prod")
        );
        let found = s
            .list_zones(
                &a.id,
                &ZoneFilter {
                    slug: Some("prod-2".into()),
                    ..ZoneFilter::default()
                },
                &PageRequest::first(10),
            )
            .await
            .unwrap();
        assert_eq!(
            found.items.iter().map(|z| &z.id).collect::<Vec<_>>(),
            vec![&z2.id]
        );
    }
);

store_test!(
    pages_forward_and_backward_with_totals,
    |s: SqlStore, _url: String| async move {
        let org = org_with_zone(&s, "Pager").await;
        let mut ids = vec![org.zone_id.clone()];
        for i in 0..6 {
            ids.push(
                s.create_zone(zone_in(&org.id, &format!("z{i}")))
                    .await
                    .unwrap()
                    .id,
            );
        }
        let none = ZoneFilter::default();
        let mut seen = Vec::new();
        let mut req = PageRequest {
            limit: 3,
            with_total: true,
            ..PageRequest::default()
        };
        let mut pages = 0;
        loop {
            let page = s.list_zones(&org.id, &none, &req).await.unwrap();
            assert_eq!(page.total, Some(7));
            assert_eq!(page.has_prev, pages > 0, "page {pages}");
            seen.extend(page.items.iter().map(|z| z.id.clone()));
            pages += 1;
            if !page.has_next {
                break;
            }
            req = PageRequest {
                after: page.end.clone(),
                limit: 3,
                with_total: true,
                ..PageRequest::default()
            };
        }
        assert_eq!(pages, 3);
        let all = s
            .list_zones(&org.id, &none, &PageRequest::first(100))
            .await
            .unwrap();
        let order: Vec<ZoneId> = all.items.iter().map(|z| z.id.clone()).collect();
        assert_eq!(
            seen, order,
            "pages concatenate to the full (created_at, id) order"
        );
        let (mut sorted_seen, mut sorted_ids) = (seen.clone(), ids.clone());
        sorted_seen.sort();
        sorted_ids.sort();
        assert_eq!(sorted_seen, sorted_ids, "no gaps or repeats");

        // Back from the last item: the three items before it.
        let before = PageRequest {
            before: all.end.clone(),
            limit: 3,
            ..PageRequest::default()
        };
        let page = s.list_zones(&org.id, &none, &before).await.unwrap();
        assert_eq!(
            page.items.iter().map(|z| z.id.clone()).collect::<Vec<_>>(),
            order[3..6].to_vec()
        );
        assert!(page.has_prev && page.has_next);
        assert_eq!(page.total, None, "total only when asked for");
    }
);

store_test!(
    deleting_credentials_or_accounts_revokes_tokens,
    |s: SqlStore, _url: String| async move {
        let org = org_with_zone(&s, "Tokens").await;
        let sa = service_account(&s, &org.id).await;
        let c1 = credential(&s, &sa, "client-1").await;
        let c2 = credential(&s, &sa, "client-2").await;
        let now = Timestamp::now();
        token(&s, &c1, "hash-1", now.plus_seconds(60)).await;
        token(&s, &c2, "hash-2", now.plus_seconds(60)).await;
        token(&s, &c2, "hash-expired", now.plus_seconds(-1)).await;
        let expected = Principal::ServiceAccount {
            organization_id: org.id.clone(),
            service_account_id: sa.id.clone(),
        };
        assert_eq!(
            s.find_principal("hash-1", now).await.unwrap(),
            Some(expected.clone())
        );
        assert_eq!(
            s.find_principal("hash-expired", now).await.unwrap(),
            None,
            "expired tokens do not resolve"
        );
        let used = s
            .get_credential(&org.id, &sa.id, &c1.id)
            .await
            .unwrap()
            .unwrap();
        assert!(used.last_used_at.is_some());

        assert!(s.delete_credential(&org.id, &sa.id, &c1.id).await.unwrap());
        assert_eq!(s.find_principal("hash-1", now).await.unwrap(), None);
        assert_eq!(
            s.find_principal("hash-2", now).await.unwrap(),
            Some(expected)
        );

        assert!(s.delete_service_account(&org.id, &sa.id).await.unwrap());
        assert_eq!(s.find_principal("hash-2", now).await.unwrap(), None);
        assert!(
            s.get_credential(&org.id, &sa.id, &c2.id)
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            !s.delete_service_account(&org.id, &sa.id).await.unwrap(),
            "second delete finds nothing"
        );
    }
);

store_test!(
    organization_scope_is_part_of_every_key,
    |s: SqlStore, _url: String| async move {
        let a = org_with_zone(&s, "A").await;
        let b = org_with_zone(&s, "B").await;
        let sa = service_account(&s, &a.id).await;
        assert!(
            s.get_service_account(&b.id, &sa.id)
                .await
                .unwrap()
                .is_none()
        );
        assert!(!s.delete_service_account(&b.id, &sa.id).await.unwrap());
        assert!(
            s.list_service_accounts(&b.id, &PageRequest::first(10))
                .await
                .unwrap()
                .items
                .is_empty()
        );
        assert_eq!(
            s.list_service_accounts(&a.id, &PageRequest::first(10))
                .await
                .unwrap()
                .items
                .len(),
            1
        );
        let only_b = s
            .list_organizations(Some(&b.id), &PageRequest::first(10))
            .await
            .unwrap();
        assert_eq!(only_b.items.len(), 1);
    }
);

store_test!(
    unique_and_missing_rows_map_to_domain_errors,
    |s: SqlStore, _url: String| async move {
        let org = org_with_zone(&s, "Errors").await;
        let sa = service_account(&s, &org.id).await;
        credential(&s, &sa, "dup-client").await;
        let mut dup = make_credential(&sa, "dup-client");
        dup.id = CredentialId::new(new_id());
        assert!(matches!(
            s.create_credential(&dup).await,
            Err(StoreError::Conflict(_))
        ));
        let orphan = make_credential(
            &ServiceAccount {
                id: ServiceAccountId::new(new_id()),
                ..sa.clone()
            },
            "orphan-client",
        );
        assert!(matches!(
            s.create_credential(&orphan).await,
            Err(StoreError::NotFound(_))
        ));
        let mut ghost = zone_in(&org.id, "ghost");
        ghost.id = ZoneId::new(new_id());
        assert!(matches!(
            s.update_zone(&ghost).await,
            Err(StoreError::NotFound(_))
        ));
        let zone = s.create_zone(zone_in(&org.id, "Doomed")).await.unwrap();
        assert!(s.delete_zone(&zone.id).await.unwrap());
        assert!(!s.delete_zone(&zone.id).await.unwrap());
        assert!(s.get_zone(&zone.id).await.unwrap().is_none());
    }
);

store_test!(
    zone_fields_round_trip,
    |s: SqlStore, _url: String| async move {
        let org = org_with_zone(&s, "Fields").await;
        let mut z = zone_in(&org.id, "Full");
        z.description = Some("desc ✓".into());
        z.dcr_enabled = false;
        z.cimd.enabled = true;
        z.cimd.allowed_client_ids = vec!["https://*.example.com".into(), "*".into()];
        z.requires_invitation = false;
        z.login_flow = latchkey_domain::model::zone::LoginFlow::IdentifierFirst;
        z.encryption_key = Some(latchkey_domain::model::zone::EncryptionKey {
            arn: "arn:aws:kms:x".into(),
        });
        let created = s.create_zone(z.clone()).await.unwrap();
        let read = s.get_zone(&created.id).await.unwrap().unwrap();
        assert_eq!(read, created);
        let mut changed = read.clone();
        changed.description = None;
        changed.encryption_key = None;
        changed.external_sync_enabled = true;
        s.update_zone(&changed).await.unwrap();
        assert_eq!(s.get_zone(&created.id).await.unwrap().unwrap(), changed);
    }
);

store_test!(
    api_keys_resolve_and_bootstrap_key_is_replaced,
    |s: SqlStore, _url: String| async move {
        let org = org_with_zone(&s, "Keys").await;
        let key = |hash: &str| ApiKey {
            id: latchkey_domain::id::ApiKeyId::new(new_id()),
            organization_id: org.id.clone(),
            name: "bootstrap".into(),
            key_hash: hash.into(),
            platform_admin: true,
            created_at: Timestamp::now(),
        };
        s.replace_named_api_key(&key("h1")).await.unwrap();
        s.replace_named_api_key(&key("h1")).await.unwrap();
        assert_eq!(
            s.count_api_keys().await.unwrap(),
            1,
            "idempotent for the same key"
        );
        assert!(matches!(
            s.find_principal("h1", Timestamp::now()).await.unwrap(),
            Some(Principal::ApiKey {
                platform_admin: true,
                ..
            })
        ));
        s.replace_named_api_key(&key("h2")).await.unwrap();
        assert_eq!(s.count_api_keys().await.unwrap(), 1);
        assert!(
            s.find_principal("h1", Timestamp::now())
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            s.find_principal("h2", Timestamp::now())
                .await
                .unwrap()
                .is_some()
        );
    }
);

async fn service_account(s: &SqlStore, org: &OrganizationId) -> ServiceAccount {
    let now = Timestamp::now();
    let sa = ServiceAccount {
        id: ServiceAccountId::new(new_id()),
        organization_id: org.clone(),
        name: "sa".into(),
        description: None,
        created_at: now,
        updated_at: now,
    };
    s.create_service_account(&sa).await.unwrap();
    sa
}

fn make_credential(sa: &ServiceAccount, client_id: &str) -> ServiceAccountCredential {
    let now = Timestamp::now();
    ServiceAccountCredential {
        id: CredentialId::new(new_id()),
        organization_id: sa.organization_id.clone(),
        service_account_id: sa.id.clone(),
        name: "cred".into(),
        description: Some("d".into()),
        client_id: client_id.into(),
        secret_hash: "not-a-real-hash".into(),
        last_used_at: None,
        created_at: now,
        updated_at: now,
    }
}

async fn credential(
    s: &SqlStore,
    sa: &ServiceAccount,
    client_id: &str,
) -> ServiceAccountCredential {
    let c = make_credential(sa, client_id);
    s.create_credential(&c).await.unwrap();
    c
}

async fn token(s: &SqlStore, c: &ServiceAccountCredential, hash: &str, expires_at: Timestamp) {
    let t = ServiceAccountToken {
        token_hash: hash.into(),
        organization_id: c.organization_id.clone(),
        service_account_id: c.service_account_id.clone(),
        credential_id: c.id.clone(),
        expires_at,
        created_at: Timestamp::now().plus_seconds(-2),
    };
    s.record_token_issued(&t).await.unwrap();
}

fn grant_data(user: &str) -> latchkey_domain::model::login::GrantData {
    latchkey_domain::model::login::GrantData {
        client_id: "client".into(),
        user_id: user.into(),
        session_id: None,
        token_session_id: None,
        scope: Some("openid".into()),
        resources: vec!["https://api".into()],
        nonce: None,
        auth_time: 1,
        redirect_uri: Some("https://cb".into()),
        code_challenge: Some("x".into()),
        code_challenge_method: Some("S256".into()),
        dpop_jkt: None,
    }
}

async fn zone_with_user(s: &SqlStore) -> (ZoneId, latchkey_domain::id::UserId) {
    use latchkey_domain::model::identity::User;
    use latchkey_domain::store::IdentityStore;
    let org = org_with_zone(s, "Login").await;
    let zone = s.create_zone(zone_in(&org.id, "login")).await.unwrap();
    let now = Timestamp::now();
    let user = User {
        zone_id: zone.id.clone(),
        id: latchkey_domain::id::UserId::new(new_id()),
        organization_id: org.id.clone(),
        email: "u@example.com".into(),
        email_verified: true,
        external: false,
        identifier: new_id(),
        status: "active".into(),
        authenticated_at: None,
        issuer: None,
        provider_id: None,
        subject: None,
        password_hash: None,
        created_at: now,
        updated_at: now,
    };
    s.insert_user(&user).await.unwrap();
    (zone.id, user.id)
}

store_test!(
    codes_are_single_use,
    |s: SqlStore, _url: String| async move {
        use latchkey_domain::model::login::CodeUse;
        use latchkey_domain::store::LoginStore;
        let (zone, user) = zone_with_user(&s).await;
        let g = grant_data(user.as_str());
        let now = Timestamp::now();
        s.put_code(&zone, "h1", &g, now.plus_seconds(60))
            .await
            .unwrap();
        assert_eq!(
            s.use_code(&zone, "h1", now).await.unwrap(),
            CodeUse::Fresh(g.clone())
        );
        assert_eq!(
            s.use_code(&zone, "h1", now).await.unwrap(),
            CodeUse::Replayed(g.clone())
        );
        assert_eq!(
            s.use_code(&zone, "nope", now).await.unwrap(),
            CodeUse::Invalid
        );
        s.put_code(&zone, "h2", &g, now.plus_seconds(-1))
            .await
            .unwrap();
        assert_eq!(
            s.use_code(&zone, "h2", now).await.unwrap(),
            CodeUse::Invalid,
            "expired"
        );
    }
);

store_test!(
    refresh_tokens_rotate_and_reuse_revokes_the_family,
    |s: SqlStore, _url: String| async move {
        use latchkey_domain::model::login::{RefreshRecord, RefreshUse};
        use latchkey_domain::store::LoginStore;
        let (zone, user) = zone_with_user(&s).await;
        let g = grant_data(user.as_str());
        let now = Timestamp::now();
        let rec = |hash: &str| RefreshRecord {
            token_hash: hash.into(),
            family_id: "fam".into(),
            grant: g.clone(),
            expires_at: now.plus_seconds(600),
            created_at: now,
        };
        s.insert_refresh(&zone, &rec("r1")).await.unwrap();
        assert_eq!(
            s.rotate_refresh(&zone, "r1", "r2", now.plus_seconds(600), now)
                .await
                .unwrap(),
            RefreshUse::Rotated(Box::new(g.clone()))
        );
        assert_eq!(
            s.rotate_refresh(&zone, "r1", "r3", now.plus_seconds(600), now)
                .await
                .unwrap(),
            RefreshUse::Reused,
            "old token replayed"
        );
        assert_eq!(
            s.rotate_refresh(&zone, "r2", "r4", now.plus_seconds(600), now)
                .await
                .unwrap(),
            RefreshUse::Reused,
            "family revoked"
        );
        assert_eq!(
            s.rotate_refresh(&zone, "missing", "r5", now.plus_seconds(600), now)
                .await
                .unwrap(),
            RefreshUse::Invalid
        );
        let mut other = rec("x1");
        other.family_id = "fam2".into();
        s.insert_refresh(&zone, &other).await.unwrap();
        assert!(
            !s.revoke_refresh(&zone, "x1", "another-client")
                .await
                .unwrap(),
            "only the owning client"
        );
        assert!(s.revoke_refresh(&zone, "x1", "client").await.unwrap());
        assert_eq!(
            s.rotate_refresh(&zone, "x1", "x2", now.plus_seconds(600), now)
                .await
                .unwrap(),
            RefreshUse::Reused
        );
    }
);

fn session(
    zone: &ZoneId,
    user: &latchkey_domain::id::UserId,
    id: &str,
    parent: Option<&str>,
) -> latchkey_domain::model::identity::Session {
    use latchkey_domain::id::SessionId;
    use latchkey_domain::model::identity::{Session, SessionType, Status};
    let now = Timestamp::now();
    Session {
        zone_id: zone.clone(),
        id: SessionId::new(id),
        organization_id: OrganizationId::new("unused"),
        session_type: SessionType::User,
        user_id: Some(user.clone()),
        application_id: None,
        user_agent_id: None,
        parent_id: parent.map(SessionId::new),
        provider_id: None,
        issuer: None,
        subject: None,
        metadata_name: None,
        session_data: None,
        status: Status::Active,
        authenticated_at: Some(now),
        expires_at: Some(now.plus_seconds(600)),
        created_at: now,
        updated_at: now,
    }
}

store_test!(
    revoking_or_deleting_a_session_ends_the_refresh_tokens_of_its_tree,
    |s: SqlStore, _url: String| async move {
        use latchkey_domain::id::SessionId;
        use latchkey_domain::model::login::{RefreshRecord, RefreshUse};
        use latchkey_domain::store::{IdentityStore, LoginStore};
        let (zone, user) = zone_with_user(&s).await;
        let org = s.get_zone(&zone).await.unwrap().unwrap().organization_id;
        let now = Timestamp::now();
        for (web, child) in [("w1", "t1"), ("w2", "t2"), ("w3", "t3")] {
            let mut w = session(&zone, &user, web, None);
            w.organization_id = org.clone();
            s.insert_session(&w).await.unwrap();
            let mut c = session(&zone, &user, child, Some(web));
            c.organization_id = org.clone();
            s.insert_session(&c).await.unwrap();
            let mut g = grant_data(user.as_str());
            g.session_id = Some(web.into());
            g.token_session_id = Some(child.into());
            let rec = RefreshRecord {
                token_hash: format!("rt-{web}"),
                family_id: format!("fam-{web}"),
                grant: g,
                expires_at: now.plus_seconds(600),
                created_at: now,
            };
            s.insert_refresh(&zone, &rec).await.unwrap();
        }
        // Revoking the web session reaches the token session's refresh token.
        assert!(
            s.revoke_session(&zone, &SessionId::new("w1"), now)
                .await
                .unwrap()
        );
        assert_eq!(s.peek_refresh(&zone, "rt-w1").await.unwrap(), None);
        // Deleting the token session (a leaf) ends its refresh token too.
        assert!(
            s.delete_session(&zone, &SessionId::new("t2"))
                .await
                .unwrap()
        );
        assert_eq!(s.peek_refresh(&zone, "rt-w2").await.unwrap(), None);
        // The untouched tree still rotates; a grant whose session ended does not.
        assert!(matches!(
            s.rotate_refresh(&zone, "rt-w3", "rt-w3b", now.plus_seconds(600), now)
                .await
                .unwrap(),
            RefreshUse::Rotated(_)
        ));
        s.revoke_session(&zone, &SessionId::new("t3"), now)
            .await
            .unwrap();
        assert_eq!(
            s.rotate_refresh(&zone, "rt-w3b", "rt-w3c", now.plus_seconds(600), now)
                .await
                .unwrap(),
            RefreshUse::Reused,
            "revoked with its session"
        );
        let session_of = |id: &str| SessionId::new(id);
        let child = s
            .get_session(&zone, &session_of("t1"))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            child.status.as_str(),
            "revoked",
            "the child session is revoked with its parent"
        );
    }
);

store_test!(
    a_refresh_whose_session_is_gone_is_refused_and_revoked,
    |s: SqlStore, _url: String| async move {
        use latchkey_domain::model::login::{RefreshRecord, RefreshUse};
        use latchkey_domain::store::LoginStore;
        let (zone, user) = zone_with_user(&s).await;
        let now = Timestamp::now();
        let mut g = grant_data(user.as_str());
        g.session_id = Some("never-existed".into());
        let rec = RefreshRecord {
            token_hash: "orphan".into(),
            family_id: "fam".into(),
            grant: g,
            expires_at: now.plus_seconds(600),
            created_at: now,
        };
        s.insert_refresh(&zone, &rec).await.unwrap();
        assert_eq!(
            s.rotate_refresh(&zone, "orphan", "next", now.plus_seconds(600), now)
                .await
                .unwrap(),
            RefreshUse::SessionEnded
        );
        assert_eq!(
            s.peek_refresh(&zone, "orphan").await.unwrap(),
            None,
            "the family is revoked"
        );
    }
);

store_test!(
    refresh_outlives_the_web_sessions_expiry_but_not_the_token_sessions,
    |s: SqlStore, _url: String| async move {
        use latchkey_domain::model::login::{RefreshRecord, RefreshUse};
        use latchkey_domain::store::{IdentityStore, LoginStore};
        let (zone, user) = zone_with_user(&s).await;
        let org = s.get_zone(&zone).await.unwrap().unwrap().organization_id;
        let now = Timestamp::now();
        let mut stale_web = session(&zone, &user, "web", None);
        stale_web.organization_id = org.clone();
        stale_web.expires_at = Some(now.plus_seconds(-60));
        s.insert_session(&stale_web).await.unwrap();
        for (child, expires) in [("fresh", 600), ("stale", -60)] {
            let mut c = session(&zone, &user, child, Some("web"));
            c.organization_id = org.clone();
            c.expires_at = Some(now.plus_seconds(expires));
            s.insert_session(&c).await.unwrap();
            let mut g = grant_data(user.as_str());
            g.session_id = Some("web".into());
            g.token_session_id = Some(child.into());
            let rec = RefreshRecord {
                token_hash: format!("rt-{child}"),
                family_id: format!("fam-{child}"),
                grant: g,
                expires_at: now.plus_seconds(600),
                created_at: now,
            };
            s.insert_refresh(&zone, &rec).await.unwrap();
        }
        assert!(
            matches!(
                s.rotate_refresh(&zone, "rt-fresh", "n1", now.plus_seconds(600), now)
                    .await
                    .unwrap(),
                RefreshUse::Rotated(_)
            ),
            "an expired (not revoked) browser session does not end refresh"
        );
        assert_eq!(
            s.rotate_refresh(&zone, "rt-stale", "n2", now.plus_seconds(600), now)
                .await
                .unwrap(),
            RefreshUse::SessionEnded,
            "an expired token session does"
        );
    }
);

store_test!(
    expired_browser_flow_records_are_purged,
    |s: SqlStore, _url: String| async move {
        use latchkey_domain::store::LoginStore;
        let (zone, user) = zone_with_user(&s).await;
        let now = Timestamp::now();
        s.put_auth_request(&zone, "old", "{}", "c", now.plus_seconds(-1))
            .await
            .unwrap();
        s.put_auth_request(&zone, "new", "{}", "c", now.plus_seconds(600))
            .await
            .unwrap();
        s.put_upstream_state(&zone, "old", b"x", now.plus_seconds(-1))
            .await
            .unwrap();
        let g = grant_data(user.as_str());
        s.put_code(&zone, "stale", &g, now.plus_seconds(-7200))
            .await
            .unwrap();
        s.put_code(&zone, "recent", &g, now.plus_seconds(-10))
            .await
            .unwrap();
        assert_eq!(s.purge_expired(now).await.unwrap(), 3);
        assert!(
            s.get_auth_request(&zone, "new", now)
                .await
                .unwrap()
                .is_some()
        );
        assert_eq!(
            s.use_code(&zone, "recent", now).await.unwrap(),
            latchkey_domain::model::login::CodeUse::Invalid,
            "expired codes stay a while (a late replay still revokes), yet redeem nothing"
        );
        assert_eq!(s.purge_expired(now).await.unwrap(), 0);
    }
);

store_test!(
    consent_records_scopes_and_resources,
    |s: SqlStore, _url: String| async move {
        use latchkey_domain::model::login::ConsentRecord;
        use latchkey_domain::store::LoginStore;
        let (zone, user) = zone_with_user(&s).await;
        assert_eq!(s.get_consent(&zone, &user, "c").await.unwrap(), None);
        let c = ConsentRecord::default().merged(&["openid".into()], &["https://a".into()]);
        s.put_consent(&zone, &user, "c", &c).await.unwrap();
        let got = s.get_consent(&zone, &user, "c").await.unwrap().unwrap();
        assert!(got.covers(&["openid".into()], &["https://a".into()]));
        assert!(
            !got.covers(&["openid".into()], &["https://b".into()]),
            "another resource"
        );
        assert!(!got.covers(&["email".into()], &[]), "another scope");
    }
);

store_test!(
    a_zone_its_keys_and_its_gateway_are_stored_together_or_not_at_all,
    |s: SqlStore, _url: String| async move {
        use latchkey_domain::model::directory::Application;
        use latchkey_domain::store::ApplicationStore;

        let org = org_with_zone(&s, "Gateway").await;
        let gateway = |zone: &ZoneId| Application {
            identifier: format!("https://example.com/z/{zone}/mcp"),
            slug: "mcp".into(),
            traits: vec!["gateway".into()],
            ..common::application(&org.id, zone, "MCP Gateway")
        };
        let key = |zone: &ZoneId, kid: &str, status| latchkey_domain::model::keys::StoredKey {
            zone_id: zone.clone(),
            kid: kid.into(),
            alg: "ES256".into(),
            status,
            private_key: vec![1, 2, 3],
            public_jwk: serde_json::json!({"kid": kid}),
            created_at: Timestamp::now(),
            activated_at: None,
            retire_at: None,
        };
        use latchkey_domain::model::keys::KeyStatus;
        use latchkey_domain::store::KeyStore;
        let mut zone = zone_in(&org.id, "With gateway");
        let app = gateway(&zone.id);
        zone.default_mcp_gateway_application_id = Some(app.id.as_str().to_owned());
        let keys = [
            key(&zone.id, "k1", KeyStatus::Current),
            key(&zone.id, "k2", KeyStatus::Next),
        ];
        let (z, a) = s.create_zone_with(zone, &keys, Some(app)).await.unwrap();
        let a = a.unwrap();
        assert_eq!(
            s.list_keys(&z.id, Timestamp::now()).await.unwrap().len(),
            2,
            "the keys are stored with the zone"
        );
        let stored = s.get_zone(&z.id).await.unwrap().unwrap();
        assert_eq!(
            stored.default_mcp_gateway_application_id.as_deref(),
            Some(a.id.as_str())
        );
        assert!(s.get_application(&z.id, &a.id).await.unwrap().is_some());

        // a gateway that cannot be stored (it names a zone that does not exist) leaves no zone
        let zone = zone_in(&org.id, "Half");
        let zone_id = zone.id.clone();
        let orphan = gateway(&ZoneId::new(new_id()));
        let keys = [key(&zone_id, "k3", KeyStatus::Current)];
        assert!(s.create_zone_with(zone, &keys, Some(orphan)).await.is_err());
        assert!(s.get_zone(&zone_id).await.unwrap().is_none());
        assert!(
            s.list_keys(&zone_id, Timestamp::now())
                .await
                .unwrap()
                .is_empty(),
            "nor its keys"
        );
    }
);

fn sso_connection(org: &latchkey_domain::model::organization::Organization) -> SsoConnection {
    use latchkey_domain::model::sso::{SsoOAuth2, SsoOpenId, SsoProtocols};
    let now = Timestamp::now();
    SsoConnection {
        organization_id: org.id.clone(),
        id: new_id(),
        provider_id: ProviderId::new(new_id()),
        identifier: "https://idp.example.com".into(),
        client_id: Some("latchkey".into()),
        client_secret: Some(vec![1, 2, 3, 0, 255]),
        protocols: Some(SsoProtocols {
            oauth2: Some(SsoOAuth2 {
                authorization_parameters: Some(
                    [("hd".to_owned(), "example.com".to_owned())].into(),
                ),
                token_endpoint: Some("https://idp.example.com/token".into()),
                ..SsoOAuth2::default()
            }),
            openid: Some(SsoOpenId {
                user_identifier_claim: Some("email".into()),
                ..SsoOpenId::default()
            }),
        }),
        created_at: now,
        updated_at: now,
    }
}

/// The organization's flag, its platform zone's sign-in provider and that provider, as stored.
async fn sso_state(
    s: &SqlStore,
    org: &latchkey_domain::model::organization::Organization,
    provider: &ProviderId,
) -> (
    bool,
    Option<String>,
    Option<latchkey_domain::model::directory::Provider>,
) {
    let flag = s
        .get_organization(&org.id)
        .await
        .unwrap()
        .unwrap()
        .sso_enabled;
    let zone = s.get_zone(&org.zone_id).await.unwrap().unwrap();
    let p = s.get_provider(&org.zone_id, provider).await.unwrap();
    (flag, zone.user_identity_provider_id, p)
}

store_test!(
    sso_connection_keeps_its_provider_zone_and_flag_in_step,
    |s: SqlStore, _url: String| async move {
        let org = org_with_zone(&s, "Sso").await;
        assert_eq!(s.get_sso_connection(&org.id).await.unwrap(), None);
        let c = sso_connection(&org);
        s.enable_sso_connection(&c, c.provider(&org.zone_id))
            .await
            .unwrap();
        assert_eq!(
            s.get_sso_connection(&org.id).await.unwrap(),
            Some(c.clone())
        );
        let (flag, login, p) = sso_state(&s, &org, &c.provider_id).await;
        let p = p.expect("the SSO provider");
        assert!(flag);
        assert_eq!(login.as_deref(), Some(c.provider_id.as_str()));
        assert_eq!(p.owner_type, latchkey_domain::model::OwnerType::Platform);
        assert_eq!(p.identifier, c.identifier);
        assert_eq!(p.client_secret, c.client_secret, "the same sealed bytes");
        let o = p.protocols.as_ref().unwrap().oauth2.as_ref().unwrap();
        assert_eq!(o.issuer, c.identifier);
        assert_eq!(
            o.token_endpoint.as_deref(),
            Some("https://idp.example.com/token")
        );

        // One per organization: a second enable changes nothing.
        let second = sso_connection(&org);
        let refused = s
            .enable_sso_connection(&second, second.provider(&org.zone_id))
            .await;
        assert!(
            matches!(refused, Err(StoreError::Conflict(_))),
            "{refused:?}"
        );
        assert_eq!(
            s.get_sso_connection(&org.id).await.unwrap(),
            Some(c.clone())
        );
        assert_eq!(sso_state(&s, &org, &second.provider_id).await.2, None);

        let mut changed = c.clone();
        changed.identifier = "https://login.example.org".into();
        changed.client_id = None;
        changed.client_secret = None;
        changed.protocols = None;
        changed.updated_at = Timestamp::from_millis(c.updated_at.millis() + 5);
        s.update_sso_connection(&changed, &changed.provider(&org.zone_id))
            .await
            .unwrap();
        assert_eq!(
            s.get_sso_connection(&org.id).await.unwrap(),
            Some(changed.clone())
        );
        let p = sso_state(&s, &org, &c.provider_id).await.2.unwrap();
        assert_eq!(
            (
                p.identifier.as_str(),
                p.client_id,
                p.client_secret,
                p.protocols
            ),
            ("https://login.example.org", None, None, None)
        );

        assert!(s.disable_sso_connection(&org.id).await.unwrap());
        assert_eq!(s.get_sso_connection(&org.id).await.unwrap(), None);
        assert_eq!(
            sso_state(&s, &org, &c.provider_id).await,
            (false, None, None)
        );
        assert!(!s.disable_sso_connection(&org.id).await.unwrap());
        let missing = s
            .update_sso_connection(&changed, &changed.provider(&org.zone_id))
            .await;
        assert!(
            matches!(missing, Err(StoreError::NotFound(_))),
            "{missing:?}"
        );

        // Enabled again afresh.
        let third = sso_connection(&org);
        s.enable_sso_connection(&third, third.provider(&org.zone_id))
            .await
            .unwrap();
        assert!(sso_state(&s, &org, &third.provider_id).await.0);
    }
);

store_test!(
    sso_connections_are_per_organization_and_users_outlive_them,
    |s: SqlStore, _url: String| async move {
        use latchkey_domain::model::identity::User;
        use latchkey_domain::store::IdentityStore;
        let a = org_with_zone(&s, "Sso A").await;
        let b = org_with_zone(&s, "Sso B").await;
        let (ca, cb) = (sso_connection(&a), sso_connection(&b));
        s.enable_sso_connection(&ca, ca.provider(&a.zone_id))
            .await
            .unwrap();
        s.enable_sso_connection(&cb, cb.provider(&b.zone_id))
            .await
            .unwrap();
        let now = Timestamp::now();
        let user = User {
            zone_id: a.zone_id.clone(),
            id: latchkey_domain::id::UserId::new(new_id()),
            organization_id: a.id.clone(),
            email: "p@example.com".into(),
            email_verified: true,
            external: false,
            identifier: new_id(),
            status: "active".into(),
            authenticated_at: None,
            issuer: Some(ca.identifier.clone()),
            provider_id: Some(ca.provider_id.clone()),
            subject: Some("sub-1".into()),
            password_hash: None,
            created_at: now,
            updated_at: now,
        };
        s.insert_user(&user).await.unwrap();

        assert!(s.disable_sso_connection(&a.id).await.unwrap());
        let kept = s.get_user(&a.zone_id, &user.id).await.unwrap().unwrap();
        assert_eq!(kept.provider_id, None, "the user loses only the link");
        assert_eq!(kept.subject.as_deref(), Some("sub-1"));
        assert_eq!(s.get_sso_connection(&b.id).await.unwrap(), Some(cb.clone()));
        let (flag, login, p) = sso_state(&s, &b, &cb.provider_id).await;
        assert!(flag && login.is_some() && p.is_some());
    }
);

store_test!(
    a_user_agents_registration_is_replaced_in_its_zone_only,
    |s: SqlStore, _url: String| async move {
        use latchkey_domain::id::UserAgentId;
        use latchkey_domain::model::identity::UserAgent;
        use latchkey_domain::store::IdentityStore;
        let org = org_with_zone(&s, "Agents").await;
        let zone = s.create_zone(zone_in(&org.id, "cimd")).await.unwrap();
        let other = s.create_zone(zone_in(&org.id, "other")).await.unwrap();
        let url = "https://app.example.com/client.json";
        let agent = |zone: &ZoneId| UserAgent {
            zone_id: zone.clone(),
            id: UserAgentId::new(new_id()),
            organization_id: org.id.clone(),
            identifier: url.into(),
            name: "App (app.example.com)".into(),
            slug: "app".into(),
            registration: Some(
                serde_json::json!({"redirect_uris": ["https://app.example.com/cb"]}),
            ),
            created_at: Timestamp::from_millis(1_000),
            updated_at: Timestamp::from_millis(1_000),
        };
        let mine = s.insert_user_agent(agent(&zone.id)).await.unwrap();
        let theirs = s.insert_user_agent(agent(&other.id)).await.unwrap();
        assert!(matches!(
            s.insert_user_agent(agent(&zone.id)).await,
            Err(StoreError::Conflict(_))
        ));

        let changed = serde_json::json!({"redirect_uris": ["https://app.example.com/new"]});
        let later = Timestamp::from_millis(2_000);
        assert!(
            s.update_user_agent_registration(&zone.id, &mine.id, "App 2", &changed, later)
                .await
                .unwrap()
        );
        let got = s.find_user_agent(&zone.id, url).await.unwrap().unwrap();
        assert_eq!(
            (got.name.as_str(), got.registration.as_ref(), got.updated_at),
            ("App 2", Some(&changed), later)
        );
        let untouched = s.find_user_agent(&other.id, url).await.unwrap().unwrap();
        assert_eq!(untouched.registration, theirs.registration);
        assert!(
            !s.update_user_agent_registration(&other.id, &mine.id, "x", &changed, later)
                .await
                .unwrap(),
            "an id from another zone changes nothing"
        );
    }
);

store_test!(
    a_pending_request_is_taken_once_and_only_while_fresh,
    |s: SqlStore, _url: String| async move {
        use latchkey_domain::store::LoginStore;
        let (zone, _) = zone_with_user(&s).await;
        let now = Timestamp::now();
        s.put_auth_request(&zone, "r1", "{}", "csrf1", now.plus_seconds(60))
            .await
            .unwrap();
        s.put_auth_request(&zone, "old", "{}", "csrf2", now.plus_seconds(-1))
            .await
            .unwrap();
        let takes = futures_take(&s, &zone, "r1", now).await;
        assert_eq!(
            takes.iter().filter(|t| t.is_some()).count(),
            1,
            "concurrent takes of one request: {takes:?}"
        );
        assert_eq!(
            takes.into_iter().flatten().next(),
            Some(("{}".to_owned(), "csrf1".to_owned()))
        );
        assert_eq!(s.take_auth_request(&zone, "old", now).await.unwrap(), None);
        assert_eq!(s.get_auth_request(&zone, "r1", now).await.unwrap(), None);
    }
);

/// Four takes of the same request at once.
async fn futures_take(
    s: &SqlStore,
    zone: &ZoneId,
    id: &str,
    now: Timestamp,
) -> Vec<Option<(String, String)>> {
    use latchkey_domain::store::LoginStore;
    let (a, b, c, d) = tokio::join!(
        s.take_auth_request(zone, id, now),
        s.take_auth_request(zone, id, now),
        s.take_auth_request(zone, id, now),
        s.take_auth_request(zone, id, now),
    );
    vec![a.unwrap(), b.unwrap(), c.unwrap(), d.unwrap()]
}
