//! Lists at scale, on both back ends: a zone's `total_count` read from the trigger-kept
//! `zone_row_counts` stays exact through creates, deletes and a zone's cascade, and `query[]`
//! search (trigram-indexed on SQLite) finds exactly what the substring match finds — after a
//! rename, across case, with spaces, quotes and short terms, and never in another zone.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // integration tests

#[allow(dead_code)] // the shared fixtures serve other test files too
mod common;

use common::{application as app, org_with_zone, zone_in};
use latchkey_domain::id::ZoneId;
use latchkey_domain::store::{ApplicationStore, Store, ZoneStore};
use latchkey_domain::{ListFilter, PageRequest};
use latchkey_store::SqlStore;

const SEARCHED: &[&str] = &["name", "identifier", "slug"];

async fn total(s: &SqlStore, zone: &ZoneId, filter: &ListFilter) -> u64 {
    let page = PageRequest {
        with_total: true,
        limit: 1,
        ..Default::default()
    };
    let listed = s.list_applications(zone, filter, &page).await.unwrap();
    listed.total.unwrap()
}

/// Names of the zone's applications that `term` finds, sorted.
async fn found(s: &SqlStore, zone: &ZoneId, term: &str) -> Vec<String> {
    let filter = ListFilter {
        search: vec![(SEARCHED, vec![term.to_owned()])],
        ..Default::default()
    };
    let page = PageRequest {
        limit: 100,
        with_total: true,
        ..Default::default()
    };
    let listed = s.list_applications(zone, &filter, &page).await.unwrap();
    let mut names: Vec<String> = listed.items.into_iter().map(|a| a.name).collect();
    names.sort();
    assert_eq!(listed.total, Some(names.len() as u64), "{term}: total");
    names
}

async fn counter_rows(url: &str, zone: &ZoneId) -> i64 {
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(url).await.unwrap();
    let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT COUNT(*) FROM zone_row_counts WHERE zone_id = '{zone}'"
    )))
    .fetch_one(&pool)
    .await
    .unwrap();
    pool.close().await;
    n
}

store_test!(
    a_zone_total_stays_exact_through_creates_deletes_and_the_zone_cascade,
    |s: SqlStore, url: String| async move {
        let org = org_with_zone(&s, "Counts").await;
        let a = s.create_zone(zone_in(&org.id, "A")).await.unwrap().id;
        let b = s.create_zone(zone_in(&org.id, "B")).await.unwrap().id;
        let all = ListFilter::default();
        assert_eq!(total(&s, &a, &all).await, 0, "a new zone");
        let mut made = Vec::new();
        for name in ["one", "two", "three"] {
            made.push(
                s.create_application(app(&org.id, &a, name), &[])
                    .await
                    .unwrap(),
            );
        }
        s.create_application(app(&org.id, &b, "other"), &[])
            .await
            .unwrap();
        assert_eq!(total(&s, &a, &all).await, 3);
        assert_eq!(total(&s, &b, &all).await, 1, "zones count apart");

        assert!(s.delete_application(&a, &made[0].id).await.unwrap());
        assert!(!s.delete_application(&a, &made[0].id).await.unwrap());
        assert_eq!(total(&s, &a, &all).await, 2, "a delete counts once");
        let only = ListFilter {
            ids: Some(vec![made[1].id.as_str().to_owned()]),
            ..Default::default()
        };
        assert_eq!(
            total(&s, &a, &only).await,
            1,
            "a filtered list counts its matches"
        );

        assert!(counter_rows(&url, &a).await > 0);
        assert!(s.delete_zone(&a).await.unwrap());
        assert_eq!(
            counter_rows(&url, &a).await,
            0,
            "the zone's counters go with it"
        );
        assert_eq!(total(&s, &b, &all).await, 1, "the other zone's stays");
    }
);

store_test!(
    search_finds_exactly_the_substring_matches_in_its_own_zone,
    |s: SqlStore, _url: String| async move {
        let org = org_with_zone(&s, "Search").await;
        let zone = s.create_zone(zone_in(&org.id, "Z")).await.unwrap().id;
        let other = s.create_zone(zone_in(&org.id, "Other")).await.unwrap().id;
        let billing = s
            .create_application(app(&org.id, &zone, "Alpha Billing"), &[])
            .await
            .unwrap();
        for name in ["beta reports", "Gamma", "say \"hello\" 100%"] {
            s.create_application(app(&org.id, &zone, name), &[])
                .await
                .unwrap();
        }
        s.create_application(app(&org.id, &other, "Elsewhere Billing"), &[])
            .await
            .unwrap();

        assert_eq!(
            found(&s, &zone, "BILL").await,
            ["Alpha Billing"],
            "any case"
        );
        assert_eq!(found(&s, &zone, "ta r").await, ["beta reports"], "spaces");
        assert_eq!(
            found(&s, &zone, "ma").await,
            ["Gamma"],
            "a short term scans"
        );
        assert_eq!(
            found(&s, &zone, "\"hello\"").await,
            ["say \"hello\" 100%"],
            "quotes"
        );
        assert_eq!(
            found(&s, &zone, "0%").await,
            ["say \"hello\" 100%"],
            "% is literal"
        );
        assert!(
            found(&s, &zone, "elsewhere").await.is_empty(),
            "not another zone's rows"
        );
        assert!(found(&s, &zone, "nothing like it").await.is_empty());
        assert_eq!(
            found(&s, &zone, "alpha-bil").await,
            ["Alpha Billing"],
            "the slug is searched"
        );

        assert_eq!(
            found(&s, &zone, "ha bil").await,
            ["Alpha Billing"],
            "the name alone"
        );
        let mut renamed = billing.clone();
        renamed.name = "Invoices".into();
        s.update_application(&renamed).await.unwrap();
        assert!(
            found(&s, &zone, "ha bil").await.is_empty(),
            "the old name is gone"
        );
        assert_eq!(
            found(&s, &zone, "voic").await,
            ["Invoices"],
            "the new one is found"
        );

        s.delete_application(&zone, &billing.id).await.unwrap();
        assert!(
            found(&s, &zone, "voic").await.is_empty(),
            "a deleted row is not found"
        );
    }
);

// `total_count` trusts `zone_row_counts` for every table in `COUNTED_TABLES`: each must have
// the triggers that count its inserts and deletes (a table added to the list without them
// would report 0).
store_test!(
    every_counted_table_has_its_counting_triggers,
    |s: SqlStore, url: String| async move {
        sqlx::any::install_default_drivers();
        let pool = sqlx::AnyPool::connect(&url).await.unwrap();
        let (sql, per_table): (&str, &[&str]) = match s.backend() {
            latchkey_store::Backend::Sqlite => (
                "SELECT name FROM sqlite_master WHERE type = 'trigger'",
                &["_count_in", "_count_out"],
            ),
            latchkey_store::Backend::Postgres => (
                "SELECT CAST(tgname AS TEXT) AS name FROM pg_trigger WHERE NOT tgisinternal",
                &["_count"],
            ),
        };
        let triggers: Vec<String> = sqlx::query_scalar(sql).fetch_all(&pool).await.unwrap();
        pool.close().await;
        for table in latchkey_store::COUNTED_TABLES {
            for suffix in per_table {
                let name = format!("{table}{suffix}");
                assert!(
                    triggers.contains(&name),
                    "{table}: no trigger {name} in {triggers:?}"
                );
            }
        }
    }
);
