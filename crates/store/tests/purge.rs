//! The periodic purge on both back ends: rotated refresh tokens go once the reuse-detection
//! window has passed (within it, reuse is still caught); sessions go a grace period after they
//! expired or ended, unless a live refresh token or a live child session still depends on them;
//! `zone_changes` rows go an hour after their zone's last change.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // integration tests

mod common;

use common::{new_id, org_with_zone, zone_in};
use latchkey_domain::Timestamp;
use latchkey_domain::id::{OrganizationId, SessionId, UserId, ZoneId};
use latchkey_domain::model::identity::{Session, SessionType, Status, User};
use latchkey_domain::model::login::{GrantData, RefreshRecord, RefreshUse};
use latchkey_domain::store::{IdentityStore, LoginStore, Store, ZoneStore};
use latchkey_store::SqlStore;

const DAY: i64 = 86_400;

async fn zone_with_user(s: &SqlStore) -> (ZoneId, OrganizationId, UserId) {
    let org = org_with_zone(s, "Purge").await;
    let zone = s.create_zone(zone_in(&org.id, "purge")).await.unwrap();
    let now = Timestamp::now();
    let user = User {
        zone_id: zone.id.clone(),
        id: UserId::new(new_id()),
        organization_id: org.id.clone(),
        email: "p@example.com".into(),
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
    (zone.id, org.id, user.id)
}

struct Fixture {
    zone: ZoneId,
    org: OrganizationId,
    user: UserId,
}

impl Fixture {
    /// A session expiring `expires_in` seconds from now, under `parent`.
    async fn session(&self, s: &SqlStore, id: &str, parent: Option<&str>, expires_in: i64) {
        let now = Timestamp::now();
        let session = Session {
            zone_id: self.zone.clone(),
            id: SessionId::new(id),
            organization_id: self.org.clone(),
            session_type: SessionType::User,
            user_id: Some(self.user.clone()),
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
            expires_at: Some(now.plus_seconds(expires_in)),
            created_at: now,
            updated_at: now,
        };
        s.insert_session(&session).await.unwrap();
    }

    /// A refresh token `hash` of its own family, naming `web` as its web session.
    async fn refresh(&self, s: &SqlStore, hash: &str, web: Option<&str>, expires_in: i64) {
        let now = Timestamp::now();
        let grant = GrantData {
            client_id: "client".into(),
            user_id: self.user.as_str().into(),
            session_id: web.map(str::to_owned),
            token_session_id: None,
            scope: Some("openid".into()),
            resources: vec!["https://api".into()],
            nonce: None,
            auth_time: 1,
            redirect_uri: None,
            code_challenge: None,
            code_challenge_method: None,
            dpop_jkt: None,
        };
        let rec = RefreshRecord {
            token_hash: hash.into(),
            family_id: format!("fam-{hash}"),
            grant,
            expires_at: now.plus_seconds(expires_in),
            created_at: now,
        };
        s.insert_refresh(&self.zone, &rec).await.unwrap();
    }

    async fn exists(&self, s: &SqlStore, id: &str) -> bool {
        s.get_session(&self.zone, &SessionId::new(id))
            .await
            .unwrap()
            .is_some()
    }
}

store_test!(
    purge_drops_rotated_refresh_tokens_after_the_reuse_window_and_keeps_live_ones,
    |s: SqlStore, _url: String| async move {
        let (zone, org, user) = zone_with_user(&s).await;
        let f = Fixture { zone, org, user };
        let now = Timestamp::now();
        let (long_ago, lately) = (now.plus_seconds(-2 * DAY), now.plus_seconds(-3600));
        for hash in ["old", "recent"] {
            f.refresh(&s, hash, None, 30 * DAY).await;
        }
        let rotated_at = |h: &str| if h == "old" { long_ago } else { lately };
        for hash in ["old", "recent"] {
            let next = format!("{hash}-next");
            let when = rotated_at(hash);
            assert!(matches!(
                s.rotate_refresh(&f.zone, hash, &next, now.plus_seconds(30 * DAY), when)
                    .await
                    .unwrap(),
                RefreshUse::Rotated(_)
            ));
        }
        f.refresh(&s, "expired", None, -60).await;

        assert!(s.purge_expired(now).await.unwrap() >= 2);

        // Past the window the rotated token is gone: presenting it again is merely unknown.
        assert_eq!(
            s.rotate_refresh(&f.zone, "old", "x", now.plus_seconds(600), now)
                .await
                .unwrap(),
            RefreshUse::Invalid
        );
        // The live tokens that replaced them are kept and still rotate.
        assert!(s.peek_refresh(&f.zone, "old-next").await.unwrap().is_some());
        assert!(
            s.peek_refresh(&f.zone, "recent-next")
                .await
                .unwrap()
                .is_some()
        );
        // Within the window the rotated token is kept, so its reuse still revokes the family.
        assert_eq!(
            s.rotate_refresh(&f.zone, "recent", "y", now.plus_seconds(600), now)
                .await
                .unwrap(),
            RefreshUse::Reused
        );
        assert_eq!(
            s.peek_refresh(&f.zone, "recent-next").await.unwrap(),
            None,
            "the reused family is revoked"
        );
    }
);

store_test!(
    purge_drops_sessions_long_expired_or_ended_unless_something_live_needs_them,
    |s: SqlStore, _url: String| async move {
        let (zone, org, user) = zone_with_user(&s).await;
        let f = Fixture { zone, org, user };
        let now = Timestamp::now();
        f.session(&s, "live", None, 600).await;
        f.session(&s, "expired-long-ago", None, -2 * DAY).await;
        f.session(&s, "expired-lately", None, -3600).await;
        // A web session's own expiry does not end the refresh tokens it signed in.
        f.session(&s, "web-with-refresh", None, -2 * DAY).await;
        f.refresh(&s, "rt-web", Some("web-with-refresh"), 30 * DAY)
            .await;
        // A parent long expired whose child is alive (children cascade from their parent).
        f.session(&s, "parent", None, -2 * DAY).await;
        f.session(&s, "child", Some("parent"), 600).await;
        // Ended (revoked) two days ago, otherwise unexpired.
        f.session(&s, "revoked-long-ago", None, 600).await;
        assert!(
            s.revoke_session(
                &f.zone,
                &SessionId::new("revoked-long-ago"),
                now.plus_seconds(-2 * DAY)
            )
            .await
            .unwrap()
        );

        s.purge_expired(now).await.unwrap();

        for gone in ["expired-long-ago", "revoked-long-ago"] {
            assert!(!f.exists(&s, gone).await, "{gone} is purged");
        }
        for kept in [
            "live",
            "expired-lately",
            "web-with-refresh",
            "parent",
            "child",
        ] {
            assert!(f.exists(&s, kept).await, "{kept} is kept");
        }
        assert!(
            matches!(
                s.rotate_refresh(&f.zone, "rt-web", "rt-web-2", now.plus_seconds(600), now)
                    .await
                    .unwrap(),
                RefreshUse::Rotated(_)
            ),
            "the refresh token of the kept web session still works"
        );
    }
);

store_test!(
    purge_forgets_zone_changes_long_past_the_polls_window,
    |s: SqlStore, url: String| async move {
        use latchkey_domain::store::ClusterStore;
        // Rows of zone_changes outlive nothing that reads them: an hour after a zone's last
        // change (its deletion included) its row goes; a recent one stays for the poll.
        let org = org_with_zone(&s, "Changes").await;
        let old = s.create_zone(zone_in(&org.id, "old")).await.unwrap().id;
        let recent = s.create_zone(zone_in(&org.id, "recent")).await.unwrap().id;
        sqlx::any::install_default_drivers();
        let pool = sqlx::AnyPool::connect(&url).await.unwrap();
        sqlx::query("UPDATE zone_changes SET changed_at = $1 WHERE zone_id = $2")
            .bind(Timestamp::now().plus_seconds(-2 * 3600).millis())
            .bind(old.as_str())
            .execute(&pool)
            .await
            .unwrap();
        let count = |zone: ZoneId| {
            let pool = pool.clone();
            async move {
                sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM zone_changes WHERE zone_id = $1")
                    .bind(zone.as_str().to_owned())
                    .fetch_one(&pool)
                    .await
                    .unwrap()
            }
        };
        assert_eq!(
            (count(old.clone()).await, count(recent.clone()).await),
            (1, 1)
        );
        s.purge_expired(Timestamp::now()).await.unwrap();
        assert_eq!((count(old).await, count(recent.clone()).await), (0, 1));
        let seen = s.recent_zone_changes(60_000).await.unwrap();
        assert!(
            seen.iter().any(|(z, _)| *z == recent),
            "the recent change is still read"
        );
        pool.close().await;
    }
);
