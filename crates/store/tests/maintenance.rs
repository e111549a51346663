//! The store suite for operating the database (`maintenance`, `in_use`): the schema version on
//! both back ends and the refusal of a schema newer than the build; on SQLite, the online backup
//! and the checked, locked restore.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // integration tests

mod common;

use common::org_with_zone;
use latchkey_domain::store::{MetaStore, OrganizationStore, Store};
use latchkey_store::SqlStore;
use latchkey_store::maintenance::{MaintenanceError, restore_sqlite};

store_test!(
    the_schema_is_current_and_a_newer_one_is_refused,
    |s: SqlStore, url: String| async move {
        let v = s.schema_version().await.unwrap();
        assert_eq!(v.applied, latchkey_store::latest_migration());
        assert!(v.is_current());
        let db_time = s.database_time().await.unwrap().millis();
        let here = latchkey_domain::Timestamp::now().millis();
        assert!((db_time - here).abs() < 60_000, "{db_time} vs {here}");

        let raw = SqlStore::connect_unmigrated(&url).await.unwrap();
        raw.init_meta("probe", "x").await.unwrap();
        drop(raw);
        // a row from a newer latchkey
        {
            use sqlx::Connection;
            sqlx::any::install_default_drivers();
            let mut conn = sqlx::AnyConnection::connect(&url).await.unwrap();
            sqlx::query(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
            )
            .bind(latchkey_store::latest_migration() + 1)
            .bind("from_the_future")
            .bind(0_i64)
            .execute(&mut conn)
            .await
            .unwrap();
            conn.close().await.unwrap();
        }
        let v = s.schema_version().await.unwrap();
        assert!(!v.is_current() && v.applied > v.known);
        let refused = SqlStore::open(&url).await.unwrap_err().to_string();
        assert!(refused.contains("newer than this build"), "{refused}");
        s.close().await;
    }
);

#[tokio::test]
async fn a_backup_taken_while_open_restores_only_when_closed() {
    let dir = common::tempdir::Dir::new();
    let url = format!("sqlite://{}/live.db?mode=rwc", dir.path());
    let backup = std::path::PathBuf::from(format!("{}/backup.db", dir.path()));
    let store = SqlStore::open(&url).await.unwrap();
    store.init_meta("before", "1").await.unwrap();
    let kept = org_with_zone(&store, "Before").await;
    store.backup_sqlite(&backup).await.unwrap();
    assert!(
        matches!(store.backup_sqlite(&backup).await, Err(MaintenanceError::Io(m)) if m.contains("already exists"))
    );
    store.init_meta("after", "1").await.unwrap();
    let lost = org_with_zone(&store, "After").await;

    // refused while the database is open
    let busy = restore_sqlite(&backup, &url, |_| Ok(())).await;
    assert!(matches!(busy, Err(MaintenanceError::InUse(_))), "{busy:?}");
    store.close().await;
    drop(store);

    // refused: not a database; the caller's check failing
    let junk = std::path::PathBuf::from(format!("{}/junk.db", dir.path()));
    std::fs::write(&junk, vec![7_u8; 4096]).unwrap();
    let bad = restore_sqlite(&junk, &url, |_| Ok(())).await;
    assert!(
        matches!(bad, Err(MaintenanceError::NotLatchkey { .. })),
        "{bad:?}"
    );
    let vetoed = restore_sqlite(&backup, &url, |_| Err("no".into())).await;
    assert!(
        matches!(vetoed, Err(MaintenanceError::Refused(_))),
        "{vetoed:?}"
    );
    let still = SqlStore::open(&url).await.unwrap();
    assert_eq!(still.get_meta("after").await.unwrap().as_deref(), Some("1"));
    still.close().await;
    drop(still);

    let restored = restore_sqlite(&backup, &url, |info| {
        assert_eq!(info.version, latchkey_store::latest_migration());
        Ok(())
    })
    .await
    .unwrap();
    assert!(restored.previous.is_some());
    let back = SqlStore::open(&url).await.unwrap();
    assert_eq!(back.get_meta("before").await.unwrap().as_deref(), Some("1"));
    assert_eq!(back.get_meta("after").await.unwrap(), None);
    assert!(back.get_organization(&kept.id).await.unwrap().is_some());
    assert!(back.get_organization(&lost.id).await.unwrap().is_none());
    back.close().await;
}
