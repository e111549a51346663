//! What several instances share through one database, on both back ends: job leases (one holder
//! at a time, renewable by the holder, free again when expired), throttle counters (updated
//! atomically under concurrency, cleared, purged when idle), and — on PostgreSQL — change notices
//! from one store reaching another store on the same database.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // integration tests

#[allow(dead_code)] // the shared fixtures serve other test files too
mod common;

use std::sync::Arc;
use std::time::Duration;

use latchkey_domain::Timestamp;
use latchkey_domain::store::{ClusterStore, Store, ThrottleRecord, ZoneStore};
use latchkey_store::SqlStore;

fn at(s: i64) -> Timestamp {
    Timestamp::from_millis(2_000_000_000_000 + s * 1000)
}

store_test!(
    a_job_lease_has_one_holder_until_it_expires,
    |s: SqlStore, _url: String| async move {
        assert!(s.take_lease("rotation", "a", at(50), at(0)).await.unwrap());
        assert!(!s.take_lease("rotation", "b", at(60), at(10)).await.unwrap());
        assert!(
            s.take_lease("rotation", "a", at(70), at(20)).await.unwrap(),
            "renewed"
        );
        assert!(!s.take_lease("rotation", "b", at(80), at(69)).await.unwrap());
        assert!(
            s.take_lease("rotation", "b", at(130), at(70))
                .await
                .unwrap(),
            "expired"
        );
        assert!(
            s.take_lease("purge", "a", at(130), at(70)).await.unwrap(),
            "other job"
        );
    }
);

store_test!(
    concurrent_throttle_failures_are_all_counted,
    |s: SqlStore, _url: String| async move {
        let s = Arc::new(s);
        let mut tasks = Vec::new();
        for _ in 0..20 {
            let s = s.clone();
            tasks.push(tokio::spawn(async move {
                let step = |cur: Option<ThrottleRecord>| {
                    let mut r = cur.unwrap_or_default();
                    r.failures += 1;
                    r.since = r.since.or(Some(Timestamp::now()));
                    r
                };
                s.throttle_update("account", "z\u{1f}victim", &step)
                    .await
                    .unwrap();
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        let r = s
            .throttle_get("account", "z\u{1f}victim")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(r.failures, 20, "no lost update");
        assert_eq!(
            s.throttle_get("address", "z\u{1f}victim").await.unwrap(),
            None
        );
        s.throttle_clear("account", "z\u{1f}victim").await.unwrap();
        assert_eq!(
            s.throttle_get("account", "z\u{1f}victim").await.unwrap(),
            None
        );
    }
);

store_test!(
    idle_throttle_counters_are_purged_and_locked_ones_kept,
    |s: SqlStore, _url: String| async move {
        let far = Timestamp::now().plus_seconds(3600);
        let idle = |cur: Option<ThrottleRecord>| ThrottleRecord {
            failures: cur.map_or(1, |r| r.failures + 1),
            ..ThrottleRecord::default()
        };
        let locked = move |_: Option<ThrottleRecord>| ThrottleRecord {
            failures: 9,
            since: None,
            locked_until: Some(far),
        };
        s.throttle_update("address", "10.0.0.1", &idle)
            .await
            .unwrap();
        s.throttle_update("address", "10.0.0.2", &locked)
            .await
            .unwrap();
        let purged = s
            .purge_throttles(Timestamp::now().plus_seconds(1))
            .await
            .unwrap();
        assert_eq!(purged, 1);
        assert_eq!(s.throttle_get("address", "10.0.0.1").await.unwrap(), None);
        assert!(
            s.throttle_get("address", "10.0.0.2")
                .await
                .unwrap()
                .is_some()
        );
    }
);

store_test!(
    change_notices_reach_every_store_on_the_database,
    |s: SqlStore, url: String| async move {
        if !s.has_change_feed() {
            assert!(
                s.change_feed().await.unwrap().is_none(),
                "SQLite has no feed"
            );
            s.publish_change("x zone z1").await.unwrap();
            return;
        }
        let other = SqlStore::open(&url).await.unwrap();
        let mut feed = other.change_feed().await.unwrap().unwrap();
        s.publish_change("instance-a zone z1").await.unwrap();
        let got = tokio::time::timeout(Duration::from_secs(5), feed.next())
            .await
            .expect("the notice arrives")
            .unwrap();
        assert_eq!(got.as_deref(), Some("instance-a zone z1"));
        other.close().await;
    }
);

// The caches' backstop (`oauth::change_poll`) trusts `zone_changes` for every table in
// `MARKED_TABLES`: each must mark its zone on insert, update and delete, whoever writes (here:
// plain SQL, as an operator or a crashed instance's last commit would).
store_test!(
    every_marked_table_marks_its_zone_on_every_kind_of_write,
    |s: SqlStore, url: String| async move {
        sqlx::any::install_default_drivers();
        let pool = sqlx::AnyPool::connect(&url).await.unwrap();
        let (sql, names): (&str, fn(&str) -> Vec<String>) = match s.backend() {
            latchkey_store::Backend::Sqlite => (
                "SELECT name FROM sqlite_master WHERE type = 'trigger'",
                |t| {
                    ["insert", "update", "delete"]
                        .map(|op| format!("{t}_changed_{op}"))
                        .to_vec()
                },
            ),
            latchkey_store::Backend::Postgres => (
                "SELECT CAST(trigger_name AS TEXT) || ':' || CAST(event_manipulation AS TEXT) \
                 FROM information_schema.triggers",
                |t| {
                    ["INSERT", "UPDATE", "DELETE"]
                        .map(|op| format!("{t}_changed:{op}"))
                        .to_vec()
                },
            ),
        };
        let triggers: Vec<String> = sqlx::query_scalar(sql).fetch_all(&pool).await.unwrap();
        for table in latchkey_store::MARKED_TABLES {
            for name in names(table) {
                assert!(triggers.contains(&name), "{table}: no trigger {name}");
            }
        }

        let org = common::org_with_zone(&s, "marks").await;
        let zone = s
            .create_zone(common::zone_in(&org.id, "marked"))
            .await
            .unwrap()
            .id;
        let mark = || async {
            s.recent_zone_changes(60_000)
                .await
                .unwrap()
                .into_iter()
                .find(|(z, _)| *z == zone)
                .map(|(_, m)| m)
        };
        let created = mark().await;
        assert!(created.is_some(), "a new zone is marked");
        sqlx::query("UPDATE zones SET name = name WHERE id = $1")
            .bind(zone.as_str())
            .execute(&pool)
            .await
            .unwrap();
        let updated = mark().await;
        assert_ne!(updated, created, "an update, even one that changes nothing");
        sqlx::query("DELETE FROM zones WHERE id = $1")
            .bind(zone.as_str())
            .execute(&pool)
            .await
            .unwrap();
        assert_ne!(mark().await, updated, "a delete");
        assert!(
            s.recent_zone_changes(0).await.unwrap().is_empty(),
            "only changes within the window are read"
        );
        pool.close().await;
    }
);
