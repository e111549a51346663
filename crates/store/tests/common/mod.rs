//! Fixtures for the store suite: fresh databases per back end and small builders.

use latchkey_domain::id::{OrganizationId, ZoneId};
use latchkey_domain::model::organization::Organization;
use latchkey_domain::model::zone::Zone;
use latchkey_domain::store::OrganizationStore;
use latchkey_domain::{Timestamp, text};
use latchkey_store::SqlStore;

pub fn new_id() -> String {
    latchkey_crypto::random::id().unwrap()
}

/// A fresh SQLite database file; returns the store, its URL and the directory keeping it alive.
pub async fn sqlite() -> (SqlStore, String, tempdir::Dir) {
    let dir = tempdir::Dir::new();
    let url = format!("sqlite://{}/t.db?mode=rwc", dir.path());
    (SqlStore::open(&url).await.unwrap(), url, dir)
}

/// A fresh PostgreSQL database; returns the store, its URL and a guard that drops it.
pub async fn postgres() -> (SqlStore, String, PgDrop) {
    let admin = std::env::var("LATCHKEY_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
    let name = format!("latchkey_store_{}", new_id());
    let url = latchkey_store::admin::create_database(&admin, &name)
        .await
        .unwrap();
    (
        SqlStore::open(&url).await.unwrap(),
        url,
        PgDrop { admin, name },
    )
}

/// Drops the test database when the test ends (also on failure).
pub struct PgDrop {
    admin: String,
    name: String,
}

impl Drop for PgDrop {
    fn drop(&mut self) {
        let (admin, name) = (self.admin.clone(), self.name.clone());
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(latchkey_store::admin::drop_database(&admin, &name))
                .unwrap();
        })
        .join();
    }
}

pub async fn org_with_zone(s: &SqlStore, name: &str) -> Organization {
    let now = Timestamp::now();
    let id = OrganizationId::new(new_id());
    let mut zone = zone_in(&id, "platform");
    zone.owner_type = latchkey_domain::model::OwnerType::Platform;
    let org = Organization {
        id,
        name: name.into(),
        label: text::slugify(name, "org"),
        sso_enabled: false,
        zone_id: zone.id.clone(),
        created_at: now,
        updated_at: now,
    };
    s.create_organization(org, zone).await.unwrap()
}

pub fn zone_in(org: &OrganizationId, name: &str) -> Zone {
    let mut z = Zone::new(
        ZoneId::new(new_id()),
        org.clone(),
        name.into(),
        Timestamp::now(),
    );
    z.slug = text::slugify(name, "zone");
    z
}

/// A customer application named `name` in `zone` (slug and identifier derived from the name).
#[allow(dead_code)] // not every test file builds applications
pub fn application(
    org: &OrganizationId,
    zone: &ZoneId,
    name: &str,
) -> latchkey_domain::model::directory::Application {
    let now = Timestamp::now();
    let slug = text::slugify(name, "app");
    latchkey_domain::model::directory::Application {
        zone_id: zone.clone(),
        id: latchkey_domain::id::ApplicationId::new(new_id()),
        organization_id: org.clone(),
        identifier: format!("https://example.com/{slug}"),
        name: name.into(),
        slug,
        owner_type: latchkey_domain::model::OwnerType::Customer,
        consent: Default::default(),
        description: None,
        metadata: None,
        redirect_uris: None,
        post_logout_redirect_uris: None,
        traits: Vec::new(),
        dependencies_count: 0,
        created_at: now,
        updated_at: now,
    }
}

/// A temporary directory removed on drop, without an extra crate.
pub mod tempdir {
    pub struct Dir(std::path::PathBuf);

    impl Dir {
        pub fn new() -> Self {
            let p = std::env::temp_dir().join(format!("latchkey-store-{}", super::new_id()));
            std::fs::create_dir_all(&p).unwrap();
            Self(p)
        }

        pub fn path(&self) -> String {
            self.0.display().to_string()
        }
    }

    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

/// Defines `<name>_sqlite` and `<name>_postgres` tests running `$body(store, url)`.
#[macro_export]
macro_rules! store_test {
    ($name:ident, $body:expr) => {
        mod $name {
            use super::*;

            #[tokio::test]
            async fn sqlite() {
                let (store, url, _dir) = common::sqlite().await;
                ($body)(store, url).await;
            }

            #[tokio::test]
            async fn postgres() {
                let (store, url, _guard) = common::postgres().await;
                ($body)(store.clone(), url).await;
                store.close().await;
            }
        }
    };
}
