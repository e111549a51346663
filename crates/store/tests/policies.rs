//! The store suite for Cedar policies (`PolicyStore`), on SQLite and PostgreSQL like
//! `suite.rs`: schema versions, policies, policy sets, version numbering under concurrency,
//! bindings, the bound sets the engine reads, seeding, tenant isolation and zone deletion.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // integration tests

mod common;

use common::{new_id, org_with_zone, zone_in};
use latchkey_domain::id::{PolicyId, PolicySetId, PolicySetVersionId, PolicyVersionId, ZoneId};
use latchkey_domain::model::OwnerType;
use latchkey_domain::model::policy::{
    DecisionRecord, ManifestEntry, Policy, PolicySet, PolicySetVersion, PolicyVersion,
    SchemaStatus, TargetType,
};
use latchkey_domain::store::{
    Archival, BindMode, DecisionFilter, PolicySeed, PolicySetFilter, PolicyStore, Store, ZoneStore,
};
use latchkey_domain::{ListFilter, PageRequest, SortKey, StoreError, Timestamp};
use latchkey_store::SqlStore;

const SCHEMA: &str = "2026-06-18";

async fn new_zone(s: &SqlStore) -> ZoneId {
    let org = org_with_zone(s, "Policies").await;
    s.create_zone(zone_in(&org.id, "Prod")).await.unwrap().id
}

fn at(ms: i64) -> Timestamp {
    Timestamp::from_millis(1_800_000_000_000 + ms)
}

fn policy(zone: &ZoneId, name: &str, created: i64) -> Policy {
    Policy {
        zone_id: zone.clone(),
        id: PolicyId::new(new_id()),
        name: name.into(),
        description: Some(format!("about {name}")),
        owner_type: OwnerType::Customer,
        latest_version: None,
        latest_version_id: None,
        latest_schema_version: None,
        created_at: at(created),
        created_by: "user:alice".into(),
        updated_at: at(created),
        updated_by: None,
        archived_at: None,
        archived_by: None,
    }
}

fn version_of(p: &Policy, cedar: &str) -> PolicyVersion {
    PolicyVersion {
        zone_id: p.zone_id.clone(),
        id: PolicyVersionId::new(new_id()),
        policy_id: p.id.clone(),
        version: 0,
        schema_version: SCHEMA.into(),
        owner_type: p.owner_type,
        cedar_raw: cedar.into(),
        cedar_json: serde_json::json!({ "effect": "permit", "text": cedar }),
        sha: format!("sha-{cedar}"),
        created_at: at(100),
        created_by: "user:alice".into(),
        archived_at: None,
        archived_by: None,
    }
}

fn set(zone: &ZoneId, name: &str, target: TargetType, created: i64) -> PolicySet {
    PolicySet {
        zone_id: zone.clone(),
        id: PolicySetId::new(new_id()),
        name: name.into(),
        owner_type: OwnerType::Customer,
        target_type: target,
        target_id: None,
        latest_version: None,
        latest_version_id: None,
        active_version_id: None,
        shadow_version_id: None,
        created_at: at(created),
        created_by: "user:alice".into(),
        updated_at: at(created),
        updated_by: None,
        archived_at: None,
        archived_by: None,
    }
}

fn set_version_of(s: &PolicySet, pinned: &[&PolicyVersion]) -> PolicySetVersion {
    PolicySetVersion {
        zone_id: s.zone_id.clone(),
        id: PolicySetVersionId::new(new_id()),
        policy_set_id: s.id.clone(),
        version: 0,
        schema_version: SCHEMA.into(),
        owner_type: s.owner_type,
        manifest: pinned
            .iter()
            .map(|v| ManifestEntry {
                policy_id: v.policy_id.clone(),
                policy_version_id: v.id.clone(),
                sha: v.sha.clone(),
            })
            .collect(),
        manifest_sha: "msha".into(),
        attestation: Some(serde_json::json!({ "v": 1 })),
        attestation_jws: Some("a.b.c".into()),
        created_at: at(200),
        created_by: "user:alice".into(),
        archived_at: None,
        archived_by: None,
    }
}

/// A policy with one version, stored.
async fn stored_policy(s: &SqlStore, zone: &ZoneId, name: &str) -> (Policy, PolicyVersion) {
    let p = policy(zone, name, 0);
    s.create_policy(&p).await.unwrap();
    let v = s
        .add_policy_version(version_of(&p, &format!("permit /* {name} */")))
        .await
        .unwrap();
    (s.get_policy(zone, &p.id).await.unwrap().unwrap(), v)
}

/// A set with one version pinning `pinned`, stored (unbound).
async fn stored_set(
    s: &SqlStore,
    zone: &ZoneId,
    name: &str,
    created: i64,
    pinned: &[&PolicyVersion],
) -> (PolicySet, PolicySetVersion) {
    let ps = set(zone, name, TargetType::Zone, created);
    s.create_policy_set(&ps).await.unwrap();
    let v = s
        .add_policy_set_version(set_version_of(&ps, pinned))
        .await
        .unwrap();
    (ps, v)
}

fn set_ids(items: &[PolicySet]) -> Vec<String> {
    items.iter().map(|t| t.id.to_string()).collect()
}

store_test!(
    schema_versions_are_seeded_and_zone_defaults_kept,
    |s: SqlStore, _url: String| async move {
        let all = s.list_schema_versions().await.unwrap();
        let names: Vec<&str> = all.iter().map(|v| v.version.as_str()).collect();
        assert_eq!(names, ["2026-06-18", "2026-03-16"], "newest first");
        assert_eq!(all[0].status, SchemaStatus::Active);
        assert_eq!(all[1].status, SchemaStatus::Deprecated);
        assert!(all[0].cedar.contains("WriteTools"));
        assert!(all[1].cedar.starts_with("// Latchkey's Keycard schema"));
        assert!(all[1].cedar.contains("action Access appliesTo"));
        assert!(!all[1].cedar.contains("WriteTools"));
        let old = s.get_schema_version("2026-03-16").await.unwrap().unwrap();
        assert_eq!(old, all[1]);
        assert!(s.get_schema_version("2026-02-24").await.unwrap().is_none());

        let zone = new_zone(&s).await;
        assert_eq!(s.zone_default_schema(&zone).await.unwrap(), None);
        s.set_zone_default_schema(&zone, "2026-03-16")
            .await
            .unwrap();
        s.set_zone_default_schema(&zone, "2026-06-18")
            .await
            .unwrap();
        assert_eq!(
            s.zone_default_schema(&zone).await.unwrap().as_deref(),
            Some("2026-06-18")
        );
        assert!(matches!(
            s.set_zone_default_schema(&zone, "1999-01-01").await,
            Err(StoreError::NotFound(_))
        ));
        let other = new_zone(&s).await;
        assert_eq!(s.zone_default_schema(&other).await.unwrap(), None);
    }
);

store_test!(
    policies_are_created_listed_filtered_and_paged,
    |s: SqlStore, _url: String| async move {
        let zone = new_zone(&s).await;
        let mut made = Vec::new();
        for (i, name) in ["alpha", "beta", "gamma", "delta", "epsilon"]
            .iter()
            .enumerate()
        {
            let mut p = policy(&zone, name, i as i64);
            if i == 4 {
                p.owner_type = OwnerType::Platform;
                p.description = Some("Built-in GRANTS".into());
            }
            s.create_policy(&p).await.unwrap();
            made.push(p);
        }
        assert_eq!(
            s.get_policy(&zone, &made[0].id).await.unwrap().unwrap(),
            made[0]
        );
        assert!(matches!(
            s.create_policy(&made[0]).await,
            Err(StoreError::Conflict(_))
        ));

        // Pages of two, newest first, concatenate to everything without gaps.
        let newest_first = vec![SortKey {
            field: "created_at",
            desc: true,
        }];
        let mut req = PageRequest {
            limit: 2,
            sort: newest_first.clone(),
            ..PageRequest::default()
        };
        let mut seen = Vec::new();
        loop {
            let page = s
                .list_policies(&zone, &ListFilter::default(), &req)
                .await
                .unwrap();
            seen.extend(page.items.iter().map(|p| p.id.to_string()));
            if !page.has_next {
                break;
            }
            req = PageRequest {
                after: page.end,
                limit: 2,
                sort: newest_first.clone(),
                ..PageRequest::default()
            };
        }
        let expected: Vec<String> = made.iter().rev().map(|p| p.id.to_string()).collect();
        assert_eq!(seen, expected);

        let list = |f: ListFilter| {
            let s = s.clone();
            let zone = zone.clone();
            async move {
                let page = s
                    .list_policies(&zone, &f, &PageRequest::first(50))
                    .await
                    .unwrap();
                page.items
                    .iter()
                    .map(|p| p.name.clone())
                    .collect::<Vec<_>>()
            }
        };
        let search = ListFilter::default().search(&["name", "description"], vec!["grants".into()]);
        assert_eq!(list(search).await, ["epsilon"]);
        let search = ListFilter::default().search(&["name"], vec!["ta".into(), "AMM".into()]);
        assert_eq!(list(search).await, ["beta", "gamma", "delta"]);
        let owner = ListFilter::default().exact("owner_type", vec!["platform".into()]);
        assert_eq!(list(owner).await, ["epsilon"]);
        let by_id = ListFilter {
            ids: Some(vec![made[1].id.to_string(), made[3].id.to_string()]),
            ..ListFilter::default()
        };
        assert_eq!(list(by_id).await, ["beta", "delta"]);

        let mut renamed = made[1].clone();
        renamed.name = "beta-2".into();
        renamed.description = None;
        renamed.updated_at = at(50);
        renamed.updated_by = Some("user:bob".into());
        renamed.archived_at = Some(at(60));
        renamed.archived_by = Some("user:bob".into());
        s.update_policy(&renamed, None).await.unwrap();
        assert_eq!(
            s.get_policy(&zone, &renamed.id).await.unwrap().unwrap(),
            renamed
        );
        let mut ghost = renamed.clone();
        ghost.id = PolicyId::new(new_id());
        assert!(matches!(
            s.update_policy(&ghost, None).await,
            Err(StoreError::NotFound(_))
        ));
    }
);

store_test!(
    concurrent_versions_are_numbered_without_gaps,
    |s: SqlStore, _url: String| async move {
        let zone = new_zone(&s).await;
        let p = policy(&zone, "busy", 0);
        s.create_policy(&p).await.unwrap();
        let mut tasks = Vec::new();
        for i in 0..8 {
            let (s, v) = (s.clone(), version_of(&p, &format!("permit /* {i} */")));
            tasks.push(tokio::spawn(async move { s.add_policy_version(v).await }));
        }
        let mut numbered = Vec::new();
        for t in tasks {
            numbered.push(t.await.unwrap().unwrap());
        }
        let mut numbers: Vec<i64> = numbered.iter().map(|v| v.version).collect();
        numbers.sort_unstable();
        assert_eq!(numbers, (1..=8).collect::<Vec<_>>());
        let last = numbered.iter().find(|v| v.version == 8).unwrap();
        let stored = s.get_policy(&zone, &p.id).await.unwrap().unwrap();
        assert_eq!(stored.latest_version, Some(8));
        assert_eq!(stored.latest_version_id.as_ref(), Some(&last.id));
        assert_eq!(stored.latest_schema_version.as_deref(), Some(SCHEMA));
        assert_eq!(
            s.get_policy_version(&zone, &last.id)
                .await
                .unwrap()
                .unwrap(),
            *last
        );
        let by_number = vec![SortKey {
            field: "version",
            desc: false,
        }];
        let req = PageRequest {
            sort: by_number,
            ..PageRequest::first(50)
        };
        let listed = s
            .list_policy_versions(&zone, Some(&p.id), &ListFilter::default(), &req)
            .await
            .unwrap();
        let listed: Vec<i64> = listed.items.iter().map(|v| v.version).collect();
        assert_eq!(listed, (1..=8).collect::<Vec<_>>());

        let ps = set(&zone, "busy-set", TargetType::Zone, 0);
        s.create_policy_set(&ps).await.unwrap();
        let mut tasks = Vec::new();
        for _ in 0..8 {
            let (s, v) = (s.clone(), set_version_of(&ps, &[last]));
            tasks.push(tokio::spawn(
                async move { s.add_policy_set_version(v).await },
            ));
        }
        let mut numbered = Vec::new();
        for t in tasks {
            numbered.push(t.await.unwrap().unwrap());
        }
        let mut numbers: Vec<i64> = numbered.iter().map(|v| v.version).collect();
        numbers.sort_unstable();
        assert_eq!(numbers, (1..=8).collect::<Vec<_>>());
        let last_set = numbered.iter().find(|v| v.version == 8).unwrap();
        let stored = s.get_policy_set(&zone, &ps.id).await.unwrap().unwrap();
        assert_eq!(stored.latest_version, Some(8));
        assert_eq!(stored.latest_version_id.as_ref(), Some(&last_set.id));
        let page = s
            .list_policy_set_versions(&zone, &ps.id, &PageRequest::first(50))
            .await
            .unwrap();
        assert_eq!(page.items.len(), 8);

        let mut orphan = version_of(&p, "permit");
        orphan.policy_id = PolicyId::new(new_id());
        assert!(matches!(
            s.add_policy_version(orphan).await,
            Err(StoreError::NotFound(_))
        ));
        let mut bad_schema = version_of(&p, "permit");
        bad_schema.schema_version = "1999-01-01".into();
        assert!(s.add_policy_version(bad_schema).await.is_err());
        let unchanged = s.get_policy(&zone, &p.id).await.unwrap().unwrap();
        assert_eq!(
            unchanged.latest_version,
            Some(8),
            "a failed insert numbers nothing"
        );
    }
);

fn status_sort() -> Vec<SortKey> {
    vec![SortKey {
        field: "status",
        desc: true,
    }]
}

store_test!(
    policy_sets_sort_by_status_and_filter,
    |s: SqlStore, _url: String| async move {
        let zone = new_zone(&s).await;
        let (_, pv) = stored_policy(&s, &zone, "p").await;
        // s0..s4 oldest to newest; s1 then s3 bound (one active zone set: s3 takes it from
        // s1); s4 targets a user.
        let mut sets = Vec::new();
        for i in 0..4 {
            let (ps, v) = stored_set(&s, &zone, &format!("set-{i}"), i, &[&pv]).await;
            if i % 2 == 1 {
                s.bind_policy_set(&zone, &ps.id, Some(&v.id), BindMode::Active, zone.as_str())
                    .await
                    .unwrap();
            }
            sets.push(ps);
        }
        let mut user_set = set(&zone, "bundle", TargetType::User, 10);
        user_set.owner_type = OwnerType::Platform;
        s.create_policy_set(&user_set).await.unwrap();
        sets.push(user_set);
        let name = |i: usize| sets[i].id.to_string();

        let zone_only = PolicySetFilter {
            target_types: vec![TargetType::Zone],
            ..Default::default()
        };
        let first = PageRequest {
            limit: 2,
            sort: status_sort(),
            ..PageRequest::default()
        };
        let p1 = s.list_policy_sets(&zone, &zone_only, &first).await.unwrap();
        assert_eq!(
            set_ids(&p1.items),
            [name(3), name(2)],
            "bound first, newest first"
        );
        assert!(p1.has_next);
        let next = PageRequest {
            after: p1.end,
            limit: 2,
            sort: status_sort(),
            ..PageRequest::default()
        };
        let p2 = s.list_policy_sets(&zone, &zone_only, &next).await.unwrap();
        assert_eq!(set_ids(&p2.items), [name(1), name(0)]);
        assert!(!p2.has_next);
        assert!(p2.has_prev);

        let all = PolicySetFilter::default();
        let everything = s
            .list_policy_sets(&zone, &all, &PageRequest::first(50))
            .await
            .unwrap();
        assert_eq!(
            set_ids(&everything.items),
            (0..5).map(name).collect::<Vec<_>>()
        );
        let users = PolicySetFilter {
            target_types: vec![TargetType::User],
            ..Default::default()
        };
        let got = s
            .list_policy_sets(&zone, &users, &PageRequest::first(50))
            .await
            .unwrap();
        assert_eq!(set_ids(&got.items), [name(4)]);
        let active = PolicySetFilter {
            active: Some(true),
            ..Default::default()
        };
        let got = s
            .list_policy_sets(&zone, &active, &PageRequest::first(50))
            .await
            .unwrap();
        assert_eq!(set_ids(&got.items), [name(3)]);
        let inactive = PolicySetFilter {
            active: Some(false),
            ..zone_only.clone()
        };
        let got = s
            .list_policy_sets(&zone, &inactive, &PageRequest::first(50))
            .await
            .unwrap();
        assert_eq!(set_ids(&got.items), [name(0), name(1), name(2)]);
        let named = PolicySetFilter {
            list: ListFilter::default().search(&["name"], vec!["SET-2".into(), "bund".into()]),
            ..Default::default()
        };
        let got = s
            .list_policy_sets(&zone, &named, &PageRequest::first(50))
            .await
            .unwrap();
        assert_eq!(set_ids(&got.items), [name(2), name(4)]);
        let platform = PolicySetFilter {
            list: ListFilter::default().exact("owner_type", vec!["platform".into()]),
            ..Default::default()
        };
        let got = s
            .list_policy_sets(&zone, &platform, &PageRequest::first(50))
            .await
            .unwrap();
        assert_eq!(set_ids(&got.items), [name(4)]);
        let by_id = PolicySetFilter {
            list: ListFilter {
                ids: Some(vec![name(0), name(3)]),
                ..ListFilter::default()
            },
            ..Default::default()
        };
        let got = s
            .list_policy_sets(&zone, &by_id, &PageRequest::first(50))
            .await
            .unwrap();
        assert_eq!(set_ids(&got.items), [name(0), name(3)]);
    }
);

store_test!(
    bindings_move_atomically_and_archived_sets_lose_them,
    |s: SqlStore, _url: String| async move {
        let zone = new_zone(&s).await;
        let (_, pv) = stored_policy(&s, &zone, "p").await;
        let (ps, v1) = stored_set(&s, &zone, "main", 0, &[&pv]).await;
        let v2 = s
            .add_policy_set_version(set_version_of(&ps, &[&pv]))
            .await
            .unwrap();
        let (other, foreign) = stored_set(&s, &zone, "other", 1, &[&pv]).await;
        let (sr, zr, idr) = (&s, &zone, &ps.id);
        let get = move || async move { sr.get_policy_set(zr, idr).await.unwrap().unwrap() };
        let bind = |v: Option<PolicySetVersionId>, mode| {
            let (s, zone, id) = (s.clone(), zone.clone(), ps.id.clone());
            async move {
                s.bind_policy_set(&zone, &id, v.as_ref(), mode, zone.as_str())
                    .await
            }
        };

        bind(Some(v1.id.clone()), BindMode::Active).await.unwrap();
        let now = get().await;
        assert_eq!(now.active_version_id.as_ref(), Some(&v1.id));
        assert_eq!(now.target_id.as_deref(), Some(zone.as_str()));
        assert_eq!(now.shadow_version_id, None);
        bind(Some(v2.id.clone()), BindMode::Active).await.unwrap();
        assert_eq!(get().await.active_version_id.as_ref(), Some(&v2.id));
        bind(Some(v1.id.clone()), BindMode::Shadow).await.unwrap();
        let now = get().await;
        assert_eq!(
            now.active_version_id.as_ref(),
            Some(&v2.id),
            "shadow leaves active"
        );
        assert_eq!(now.shadow_version_id.as_ref(), Some(&v1.id));

        // Another set's version, an unknown one and an archived one are refused; nothing moves.
        for bad in [foreign.id.clone(), PolicySetVersionId::new(new_id())] {
            assert!(matches!(
                bind(Some(bad), BindMode::Active).await,
                Err(StoreError::NotFound(_))
            ));
        }
        let archival = Archival {
            at: at(500),
            by: "user:bob".into(),
        };
        let v3 = s
            .add_policy_set_version(set_version_of(&ps, &[&pv]))
            .await
            .unwrap();
        assert!(
            s.archive_policy_set_version(&zone, &v3.id, &archival)
                .await
                .unwrap()
        );
        assert!(bind(Some(v3.id.clone()), BindMode::Active).await.is_err());
        assert_eq!(get().await.active_version_id.as_ref(), Some(&v2.id));
        let foreign_set = s.get_policy_set(&zone, &other.id).await.unwrap().unwrap();
        assert_eq!(foreign_set.active_version_id, None);

        bind(None, BindMode::Active).await.unwrap();
        let now = get().await;
        assert_eq!(now.active_version_id, None);
        assert_eq!(now.shadow_version_id.as_ref(), Some(&v1.id));
        bind(Some(v2.id.clone()), BindMode::Active).await.unwrap();

        let mut archived = get().await;
        archived.archived_at = Some(at(600));
        archived.archived_by = Some("user:bob".into());
        archived.updated_at = at(600);
        s.update_policy_set(&archived, None).await.unwrap();
        let now = get().await;
        assert_eq!((now.active_version_id, now.shadow_version_id), (None, None));
        assert_eq!(now.archived_at, Some(at(600)));
        assert!(bind(Some(v2.id.clone()), BindMode::Active).await.is_err());
    }
);

store_test!(
    bound_sets_follow_bindings_and_manifest_order,
    |s: SqlStore, _url: String| async move {
        let zone = new_zone(&s).await;
        let (p1, v1) = stored_policy(&s, &zone, "first").await;
        let (p2, v2) = stored_policy(&s, &zone, "second").await;
        assert!(s.bound_sets(&zone).await.unwrap().is_empty());

        let (a, a1) = stored_set(&s, &zone, "a", 0, &[&v2, &v1]).await;
        let a2 = s
            .add_policy_set_version(set_version_of(&a, &[&v1]))
            .await
            .unwrap();
        let (b, b1) = stored_set(&s, &zone, "b", 1, &[&v1, &v2]).await;
        let (unbound, _) = stored_set(&s, &zone, "unbound", 2, &[&v1]).await;
        let (gone, gone1) = stored_set(&s, &zone, "gone", 3, &[&v1]).await;
        let user = set(&zone, "bundle", TargetType::User, 4);
        s.create_policy_set(&user).await.unwrap();
        let user1 = s
            .add_policy_set_version(set_version_of(&user, &[&v1]))
            .await
            .unwrap();
        let z = zone.as_str();
        // One active zone set per zone: `a` takes the active binding from `gone`; `b` is shadow.
        for (set, version, mode, target) in [
            (&gone, &gone1, BindMode::Active, z),
            (&b, &b1, BindMode::Shadow, z),
            (&a, &a1, BindMode::Active, z),
            (&a, &a2, BindMode::Shadow, z),
            (&user, &user1, BindMode::Active, "user-1"),
        ] {
            s.bind_policy_set(&zone, &set.id, Some(&version.id), mode, target)
                .await
                .unwrap();
        }
        let mut archived = s.get_policy_set(&zone, &gone.id).await.unwrap().unwrap();
        archived.archived_at = Some(at(9));
        s.update_policy_set(&archived, None).await.unwrap();

        let bound = s.bound_sets(&zone).await.unwrap();
        let shape: Vec<(String, String, bool)> = bound
            .iter()
            .map(|b| (b.set.name.clone(), b.version.id.to_string(), b.active))
            .collect();
        assert_eq!(
            shape,
            [
                ("a".to_owned(), a1.id.to_string(), true),
                ("a".to_owned(), a2.id.to_string(), false),
                ("b".to_owned(), b1.id.to_string(), false),
            ]
        );
        assert!(bound.iter().all(|b| b.set.id != unbound.id));
        let names = |i: usize| -> Vec<(String, String)> {
            bound[i]
                .policies
                .iter()
                .map(|(p, v)| (p.name.clone(), v.id.to_string()))
                .collect()
        };
        assert_eq!(
            names(0),
            [
                ("second".into(), v2.id.to_string()),
                ("first".into(), v1.id.to_string())
            ]
        );
        assert_eq!(names(1), [("first".into(), v1.id.to_string())]);
        assert_eq!(
            names(2),
            [
                ("first".into(), v1.id.to_string()),
                ("second".into(), v2.id.to_string())
            ]
        );
        assert_eq!(bound[0].policies[0].0, p2);
        assert_eq!(bound[0].policies[1], (p1, v1));
        assert_eq!(
            bound[0].version,
            s.get_policy_set_version(&zone, &a1.id)
                .await
                .unwrap()
                .unwrap()
        );

        let other = new_zone(&s).await;
        assert!(s.bound_sets(&other).await.unwrap().is_empty());

        s.bind_policy_set(&zone, &b.id, Some(&b1.id), BindMode::Active, z)
            .await
            .unwrap();
        let a_now = s.get_policy_set(&zone, &a.id).await.unwrap().unwrap();
        assert_eq!(
            a_now.active_version_id, None,
            "one active zone set per zone"
        );
        assert_eq!(a_now.shadow_version_id, Some(a2.id.clone()), "shadow stays");
        let user_now = s.get_policy_set(&zone, &user.id).await.unwrap().unwrap();
        assert_eq!(
            user_now.active_version_id,
            Some(user1.id.clone()),
            "user sets keep theirs"
        );
    }
);

store_test!(
    versions_archive_once_and_attestations_are_replaced,
    |s: SqlStore, _url: String| async move {
        let zone = new_zone(&s).await;
        let (_, pv) = stored_policy(&s, &zone, "p").await;
        let (_, sv) = stored_set(&s, &zone, "set", 0, &[&pv]).await;
        let first = Archival {
            at: at(1),
            by: "user:alice".into(),
        };
        let second = Archival {
            at: at(2),
            by: "user:bob".into(),
        };
        assert!(
            s.archive_policy_version(&zone, &pv.id, &first)
                .await
                .unwrap()
        );
        assert!(
            s.archive_policy_version(&zone, &pv.id, &second)
                .await
                .unwrap()
        );
        let got = s.get_policy_version(&zone, &pv.id).await.unwrap().unwrap();
        assert_eq!(
            (got.archived_at, got.archived_by.as_deref()),
            (Some(at(1)), Some("user:alice"))
        );
        let unknown = PolicyVersionId::new(new_id());
        assert!(
            !s.archive_policy_version(&zone, &unknown, &first)
                .await
                .unwrap()
        );

        assert!(
            s.archive_policy_set_version(&zone, &sv.id, &second)
                .await
                .unwrap()
        );
        let got = s
            .get_policy_set_version(&zone, &sv.id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(got.archived_at, Some(at(2)));
        let statement = serde_json::json!({ "v": 1, "status": "re_signed" });
        s.set_attestation(&zone, &sv.id, &statement, "x.y.z")
            .await
            .unwrap();
        let got = s
            .get_policy_set_version(&zone, &sv.id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(got.attestation, Some(statement.clone()));
        assert_eq!(got.attestation_jws.as_deref(), Some("x.y.z"));
        assert_eq!(got.manifest, sv.manifest);
        let unknown = PolicySetVersionId::new(new_id());
        assert!(matches!(
            s.set_attestation(&zone, &unknown, &statement, "x").await,
            Err(StoreError::NotFound(_))
        ));
    }
);

fn seed_for(zone: &ZoneId) -> PolicySeed {
    let mut p = policy(zone, "default-user-grants", 0);
    p.owner_type = OwnerType::Platform;
    let v = PolicyVersion {
        version: 1,
        ..version_of(&p, "permit(principal, action, resource);")
    };
    let mut ps = set(zone, "default-zone-policies", TargetType::Zone, 0);
    ps.owner_type = OwnerType::Platform;
    let sv = PolicySetVersion {
        version: 1,
        ..set_version_of(&ps, &[&v])
    };
    PolicySeed {
        set: ps,
        policies: vec![(p, v)],
        version: sv,
    }
}

store_test!(
    seeding_is_idempotent_and_finds_unseeded_zones,
    |s: SqlStore, _url: String| async move {
        let zone = new_zone(&s).await;
        let name = "default-zone-policies";
        let missing = s.zones_without_policy_set(name).await.unwrap();
        assert!(missing.contains(&zone));
        let (seed, rival) = (seed_for(&zone), seed_for(&zone));
        let (a, b) = tokio::join!(s.seed_policy_set(&seed), s.seed_policy_set(&rival));
        assert!(
            a.unwrap() ^ b.unwrap(),
            "exactly one concurrent seed inserts"
        );
        assert!(!s.seed_policy_set(&seed_for(&zone)).await.unwrap());
        assert!(
            !s.zones_without_policy_set(name)
                .await
                .unwrap()
                .contains(&zone)
        );

        let (any, all) = (PolicySetFilter::default(), PageRequest::first(50));
        let sets = s.list_policy_sets(&zone, &any, &all).await.unwrap().items;
        assert_eq!(sets.len(), 1, "one seeded set");
        let bound = s.bound_sets(&zone).await.unwrap();
        assert_eq!(bound.len(), 1);
        assert!(bound[0].active);
        assert_eq!(bound[0].set.target_id.as_deref(), Some(zone.as_str()));
        assert_eq!(bound[0].set.latest_version, Some(1));
        let (p, v) = &bound[0].policies[0];
        assert_eq!(p.latest_version_id.as_ref(), Some(&v.id));
        assert_eq!(p.owner_type, OwnerType::Platform);

        // A customer set of that name does not count as the platform set.
        let other = new_zone(&s).await;
        s.create_policy_set(&set(&other, name, TargetType::Zone, 0))
            .await
            .unwrap();
        assert!(
            s.zones_without_policy_set(name)
                .await
                .unwrap()
                .contains(&other)
        );
        assert!(s.seed_policy_set(&seed_for(&other)).await.unwrap());
    }
);

store_test!(
    another_zones_policies_are_invisible,
    |s: SqlStore, _url: String| async move {
        let zone = new_zone(&s).await;
        let other = new_zone(&s).await;
        let (p, pv) = stored_policy(&s, &zone, "mine").await;
        let (ps, sv) = stored_set(&s, &zone, "mine", 0, &[&pv]).await;
        let all = PageRequest::first(50);
        assert!(s.get_policy(&other, &p.id).await.unwrap().is_none());
        assert!(
            s.get_policy_version(&other, &pv.id)
                .await
                .unwrap()
                .is_none()
        );
        assert!(s.get_policy_set(&other, &ps.id).await.unwrap().is_none());
        assert!(
            s.get_policy_set_version(&other, &sv.id)
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            s.list_policies(&other, &ListFilter::default(), &all)
                .await
                .unwrap()
                .items
                .is_empty()
        );
        let (no_filter, any) = (ListFilter::default(), PolicySetFilter::default());
        let versions = s.list_policy_versions(&other, None, &no_filter, &all).await;
        assert!(versions.unwrap().items.is_empty());
        let sets = s.list_policy_sets(&other, &any, &all).await;
        assert!(sets.unwrap().items.is_empty());
        assert!(
            s.list_policy_set_versions(&other, &ps.id, &all)
                .await
                .unwrap()
                .items
                .is_empty()
        );

        let mut moved = version_of(&p, "permit");
        moved.zone_id = other.clone();
        assert!(matches!(
            s.add_policy_version(moved).await,
            Err(StoreError::NotFound(_))
        ));
        let mut foreign = set_version_of(&ps, &[&pv]);
        foreign.zone_id = other.clone();
        assert!(matches!(
            s.add_policy_set_version(foreign).await,
            Err(StoreError::NotFound(_))
        ));
        let bind = s.bind_policy_set(&other, &ps.id, Some(&sv.id), BindMode::Active, "x");
        assert!(matches!(bind.await, Err(StoreError::NotFound(_))));
        let mut renamed = p.clone();
        renamed.zone_id = other.clone();
        assert!(matches!(
            s.update_policy(&renamed, None).await,
            Err(StoreError::NotFound(_))
        ));
        let archival = Archival {
            at: at(1),
            by: "x".into(),
        };
        assert!(
            !s.archive_policy_version(&other, &pv.id, &archival)
                .await
                .unwrap()
        );
        assert!(
            !s.archive_policy_set_version(&other, &sv.id, &archival)
                .await
                .unwrap()
        );
        assert!(
            s.get_policy_version(&zone, &pv.id)
                .await
                .unwrap()
                .unwrap()
                .archived_at
                .is_none()
        );
    }
);

store_test!(
    deleting_a_zone_deletes_its_policy_rows,
    |s: SqlStore, url: String| async move {
        let zone = new_zone(&s).await;
        let keep = new_zone(&s).await;
        for z in [&zone, &keep] {
            s.seed_policy_set(&seed_for(z)).await.unwrap();
            let (_, pv) = stored_policy(&s, z, "extra").await;
            stored_set(&s, z, "extra", 1, &[&pv]).await;
            s.set_zone_default_schema(z, SCHEMA).await.unwrap();
        }
        assert!(s.delete_zone(&zone).await.unwrap());
        let pool = sqlx::AnyPool::connect(&url).await.unwrap();
        for table in [
            "policies",
            "policy_versions",
            "policy_sets",
            "policy_set_versions",
            "zone_policy_schemas",
        ] {
            let count = |z: &ZoneId| {
                let sql = format!("SELECT COUNT(*) AS n FROM {table} WHERE zone_id = $1");
                let (pool, z) = (pool.clone(), z.to_string());
                async move {
                    let row: (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                        .bind(z)
                        .fetch_one(&pool)
                        .await
                        .unwrap();
                    row.0
                }
            };
            assert_eq!(count(&zone).await, 0, "{table} of the deleted zone");
            assert!(count(&keep).await > 0, "{table} of the other zone");
        }
        pool.close().await;
        assert!(
            s.zones_without_policy_set("default-zone-policies")
                .await
                .unwrap()
                .iter()
                .all(|z| *z != zone)
        );
        let _: &dyn Store = &s;
    }
);

fn decision(zone: &ZoneId, n: i64, principal: &str, allowed: bool) -> DecisionRecord {
    DecisionRecord {
        zone_id: zone.clone(),
        id: new_id(),
        created_at: at(n * 1_000),
        last_at: at(n * 1_000 + 400),
        evaluations: n + 1,
        principal_type: "application".into(),
        principal_id: principal.into(),
        subject_id: None,
        action: "Access".into(),
        resource_id: "res-1".into(),
        decision: if allowed { "allow" } else { "deny" }.into(),
        determining: serde_json::json!([{"policy_id": "p1", "policy_name": "a", "policy_version": 1}]),
        policy_set_id: Some("set-1".into()),
        policy_set_version: Some(2),
        shadow: None,
        scopes: vec!["read".into()],
    }
}

store_test!(
    decision_tallies_round_trip_filter_stay_in_their_zone_and_age_out,
    |s: SqlStore, _url: String| async move {
        let zone = new_zone(&s).await;
        let other = new_zone(&s).await;
        // More rows than one INSERT statement takes, in one call.
        let mut rows: Vec<DecisionRecord> = (0..40)
            .map(|n| decision(&zone, n, "app-a", n % 4 != 0))
            .collect();
        rows.push(decision(&other, 5, "app-a", true));
        s.record_decisions(&rows).await.unwrap();

        let all = PageRequest::first(100);
        let mine = s
            .list_decisions(&zone, &DecisionFilter::default(), &all)
            .await
            .unwrap();
        assert_eq!(mine.items.len(), 40, "the other zone's row is not listed");
        let newest = mine.items.last().unwrap();
        assert_eq!(
            newest, &rows[39],
            "oldest first by default, every field kept"
        );
        assert_eq!((newest.evaluations, newest.last_at), (40, at(39_400)));

        let denies = DecisionFilter {
            decision: Some("deny".into()),
            ..Default::default()
        };
        assert_eq!(
            s.list_decisions(&zone, &denies, &all)
                .await
                .unwrap()
                .items
                .len(),
            10
        );
        let window = DecisionFilter {
            since: Some(at(10_000)),
            until: Some(at(20_000)),
            ..Default::default()
        };
        assert_eq!(
            s.list_decisions(&zone, &window, &all)
                .await
                .unwrap()
                .items
                .len(),
            10
        );
        let nobody = DecisionFilter {
            principal: Some("app-b".into()),
            ..Default::default()
        };
        assert!(
            s.list_decisions(&zone, &nobody, &all)
                .await
                .unwrap()
                .items
                .is_empty()
        );

        let purged = s.purge_decisions(at(30_000)).await.unwrap();
        assert_eq!(
            purged, 31,
            "30 of this zone and the other zone's one are older"
        );
        let left = s
            .list_decisions(&zone, &DecisionFilter::default(), &all)
            .await
            .unwrap();
        assert_eq!(left.items.len(), 10);
    }
);
