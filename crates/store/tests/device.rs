//! Device authorizations (RFC 8628) on both back ends: user codes unique per zone, look-ups and
//! decisions scoped by zone, a decision only on a pending and unexpired row, polls recording
//! their time for the code's own client only, single-use redemption under concurrency, purge an
//! hour after expiry, and rows going with their zone.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // integration tests

mod common;

use common::{new_id, org_with_zone, zone_in};
use latchkey_domain::id::ZoneId;
use latchkey_domain::model::device::{DeviceAuthorization, DeviceDecision, DeviceStatus};
use latchkey_domain::store::{DeviceStore, LoginStore, Store, ZoneStore};
use latchkey_domain::{StoreError, Timestamp};
use latchkey_store::SqlStore;

async fn two_zones(s: &SqlStore) -> (ZoneId, ZoneId) {
    let org = org_with_zone(s, "Devices").await;
    let a = s.create_zone(zone_in(&org.id, "a")).await.unwrap();
    let b = s.create_zone(zone_in(&org.id, "b")).await.unwrap();
    (a.id, b.id)
}

fn device(user_code_hash: &str, expires_in: i64) -> DeviceAuthorization {
    let now = Timestamp::now();
    DeviceAuthorization {
        device_code_hash: new_id(),
        user_code_hash: user_code_hash.into(),
        client_id: "cli".into(),
        scope: Some("openid".into()),
        resources: vec!["https://api.example".into()],
        status: DeviceStatus::Pending,
        user_id: None,
        session_id: None,
        expires_at: now.plus_seconds(expires_in),
        interval_seconds: 5,
        last_poll_at: None,
        created_at: now,
    }
}

fn approve() -> DeviceDecision {
    DeviceDecision::Approve {
        user_id: "u1".into(),
        session_id: "s1".into(),
    }
}

store_test!(
    device_user_codes_are_unique_per_zone_and_found_only_in_theirs,
    |s: SqlStore, _url: String| async move {
        let (a, b) = two_zones(&s).await;
        let d = device("uc1", 600);
        s.insert_device_authorization(&a, &d).await.unwrap();
        assert!(matches!(
            s.insert_device_authorization(&a, &device("uc1", 600)).await,
            Err(StoreError::Conflict(_))
        ));
        s.insert_device_authorization(&b, &device("uc1", 600))
            .await
            .unwrap();
        let found = s
            .find_device_by_user_code(&a, "uc1")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(found, d);
        assert!(
            s.find_device_by_user_code(&a, "nope")
                .await
                .unwrap()
                .is_none()
        );
        // Another zone's decision and poll never touch zone a's row.
        assert!(
            !s.decide_device(&b, "uc-of-a", &approve(), Timestamp::now())
                .await
                .unwrap()
        );
        assert!(
            s.poll_device(&b, &d.device_code_hash, "cli", Timestamp::now())
                .await
                .unwrap()
                .is_none()
        );
        assert!(!s.consume_device(&b, &d.device_code_hash).await.unwrap());
    }
);

store_test!(
    device_decisions_apply_once_to_pending_unexpired_rows,
    |s: SqlStore, _url: String| async move {
        let (a, _) = two_zones(&s).await;
        let now = Timestamp::now();
        s.insert_device_authorization(&a, &device("live", 600))
            .await
            .unwrap();
        s.insert_device_authorization(&a, &device("old", -1))
            .await
            .unwrap();
        assert!(!s.decide_device(&a, "old", &approve(), now).await.unwrap());
        assert!(s.decide_device(&a, "live", &approve(), now).await.unwrap());
        let deny = DeviceDecision::Deny {
            user_id: "u2".into(),
        };
        assert!(
            !s.decide_device(&a, "live", &deny, now).await.unwrap(),
            "decided once"
        );
        let got = s
            .find_device_by_user_code(&a, "live")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(got.status, DeviceStatus::Approved);
        assert_eq!(
            (got.user_id.as_deref(), got.session_id.as_deref()),
            (Some("u1"), Some("s1"))
        );
    }
);

store_test!(
    device_polls_record_their_time_and_the_interval_persists,
    |s: SqlStore, _url: String| async move {
        let (a, _) = two_zones(&s).await;
        let d = device("poll", 600);
        s.insert_device_authorization(&a, &d).await.unwrap();
        let t1 = Timestamp::from_millis(Timestamp::now().millis());
        let first = s
            .poll_device(&a, &d.device_code_hash, "cli", t1)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            first.last_poll_at, None,
            "the row as it was before this poll"
        );
        // Another client's poll answers the row but records nothing.
        let other = s
            .poll_device(&a, &d.device_code_hash, "intruder", t1.plus_seconds(3))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(other.last_poll_at, Some(t1));
        s.set_device_interval(&a, &d.device_code_hash, 10)
            .await
            .unwrap();
        let second = s
            .poll_device(&a, &d.device_code_hash, "cli", t1.plus_seconds(1))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (second.last_poll_at, second.interval_seconds),
            (Some(t1), 10)
        );
    }
);

store_test!(
    an_approved_device_is_consumed_exactly_once_under_concurrency,
    |s: SqlStore, _url: String| async move {
        let (a, _) = two_zones(&s).await;
        let d = device("race", 600);
        s.insert_device_authorization(&a, &d).await.unwrap();
        assert!(
            !s.consume_device(&a, &d.device_code_hash).await.unwrap(),
            "pending"
        );
        assert!(
            s.decide_device(&a, "race", &approve(), Timestamp::now())
                .await
                .unwrap()
        );
        let tries = (0..8).map(|_| {
            let (s, a, h) = (s.clone(), a.clone(), d.device_code_hash.clone());
            tokio::spawn(async move { s.consume_device(&a, &h).await.unwrap() })
        });
        let mut wins = 0;
        for t in tries {
            wins += usize::from(t.await.unwrap());
        }
        assert_eq!(wins, 1);
        let got = s
            .find_device_by_user_code(&a, "race")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(got.status, DeviceStatus::Consumed);
    }
);

store_test!(
    device_rows_are_purged_an_hour_after_expiry_and_go_with_their_zone,
    |s: SqlStore, _url: String| async move {
        let (a, b) = two_zones(&s).await;
        s.insert_device_authorization(&a, &device("stale", -7200))
            .await
            .unwrap();
        s.insert_device_authorization(&a, &device("recent", -10))
            .await
            .unwrap();
        s.insert_device_authorization(&b, &device("kept", 600))
            .await
            .unwrap();
        assert_eq!(s.purge_expired(Timestamp::now()).await.unwrap(), 1);
        assert!(
            s.find_device_by_user_code(&a, "stale")
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            s.find_device_by_user_code(&a, "recent")
                .await
                .unwrap()
                .is_some()
        );
        s.delete_zone(&b).await.unwrap();
        assert!(
            s.find_device_by_user_code(&b, "kept")
                .await
                .unwrap()
                .is_none()
        );
    }
);
