//! PostgreSQL database administration: create and drop whole databases, for test fixtures and
//! first-run set-up. Names are restricted to `[a-z0-9_]` so they can be spliced safely.

use latchkey_domain::StoreError;
use sqlx::Connection;

use crate::error::OrStore;

fn check_name(name: &str) -> Result<(), StoreError> {
    let ok = !name.is_empty()
        && name.len() <= 63
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(StoreError::Backend(format!(
            "invalid database name `{name}`"
        )))
    }
}

async fn exec(admin_url: &str, sql: String) -> Result<(), StoreError> {
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(admin_url).await.store()?;
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
        .execute(&mut conn)
        .await
        .store()?;
    conn.close().await.store()
}

/// Creates database `name` through `admin_url` and returns the URL of the new database.
pub async fn create_database(admin_url: &str, name: &str) -> Result<String, StoreError> {
    check_name(name)?;
    exec(admin_url, format!("CREATE DATABASE {name}")).await?;
    let base = admin_url
        .rsplit_once('/')
        .map(|(b, _)| b)
        .unwrap_or(admin_url);
    Ok(format!("{base}/{name}"))
}

/// Drops database `name` (disconnecting its sessions) if it exists.
pub async fn drop_database(admin_url: &str, name: &str) -> Result<(), StoreError> {
    check_name(name)?;
    exec(
        admin_url,
        format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
    )
    .await
}
