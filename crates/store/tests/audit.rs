//! The store suite for the audit log (`AuditStore`), on SQLite and PostgreSQL like `suite.rs`:
//! batched appends, newest-first paging both ways, each filter, the time range, tenant isolation
//! and purging by age.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // integration tests

mod common;

use common::{new_id, org_with_zone};
use latchkey_domain::id::{OrganizationId, ZoneId};
use latchkey_domain::model::audit::{AuditActor, AuditEvent, Outcome};
use latchkey_domain::store::{AuditFilter, AuditStore, Store};
use latchkey_domain::{PageRequest, SortKey, Timestamp};
use latchkey_store::SqlStore;

const T0: i64 = 1_700_000_000_000;

fn at(ms: i64) -> Timestamp {
    Timestamp::from_millis(T0 + ms)
}

fn event(
    org: &OrganizationId,
    n: i64,
    actor: Option<&str>,
    action: &str,
    zone: &str,
) -> AuditEvent {
    AuditEvent {
        organization_id: org.clone(),
        id: new_id(),
        created_at: at(n * 1000),
        actor: actor.map(|a| AuditActor {
            id: a.to_owned(),
            kind: "service_account".into(),
        }),
        action: action.to_owned(),
        object_type: Some("application".into()),
        object_id: Some(format!("app{n}")),
        zone_id: Some(ZoneId::new(zone)),
        request_id: format!("req{n}"),
        source_address: Some("127.0.0.1".into()),
        outcome: if n % 2 == 0 {
            Outcome::Success
        } else {
            Outcome::Failure
        },
        status: if n % 2 == 0 { 201 } else { 400 },
    }
}

fn newest_first(limit: u32) -> PageRequest {
    PageRequest {
        limit,
        sort: vec![SortKey {
            field: "created_at",
            desc: true,
        }],
        ..PageRequest::default()
    }
}

async fn request_ids(s: &SqlStore, org: &OrganizationId, f: &AuditFilter) -> Vec<String> {
    s.list_audit_events(org, f, &newest_first(100))
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|e| e.request_id)
        .collect()
}

store_test!(
    events_round_trip_newest_first_per_organization,
    |s: SqlStore, _url: String| async move {
        let a = org_with_zone(&s, "Audit A").await;
        let b = org_with_zone(&s, "Audit B").await;
        let mut events: Vec<AuditEvent> = (0..40)
            .map(|n| event(&a.id, n, Some("sa1"), "zones.applications.create", "z1"))
            .collect();
        events[3].actor = None;
        events.push(event(&b.id, 99, Some("sa9"), "zones.create", "z9"));
        s.record_audit_events(&events).await.unwrap();
        s.record_audit_events(&[]).await.unwrap();

        let page = s
            .list_audit_events(&a.id, &AuditFilter::default(), &newest_first(100))
            .await
            .unwrap();
        assert_eq!(
            page.items.len(),
            40,
            "another organization's event is not listed"
        );
        assert_eq!(page.items[0], events[39], "every field round-trips");
        assert_eq!(page.items[36].actor, None);
        assert_eq!(page.items[36].outcome, Outcome::Failure);
        let stamps: Vec<_> = page.items.iter().map(|e| e.created_at).collect();
        let mut sorted = stamps.clone();
        sorted.sort_by(|x, y| y.cmp(x));
        assert_eq!(stamps, sorted);

        // Forward by 15, then back from the last page's start.
        let mut req = PageRequest {
            with_total: true,
            ..newest_first(15)
        };
        let mut pages = Vec::new();
        loop {
            let p = s
                .list_audit_events(&a.id, &AuditFilter::default(), &req)
                .await
                .unwrap();
            assert_eq!(p.total, Some(40));
            assert_eq!(p.has_prev, !pages.is_empty());
            let next = p.end.clone();
            let more = p.has_next;
            pages.push(p);
            if !more {
                break;
            }
            req.after = next;
        }
        assert_eq!(pages.len(), 3);
        let seen: Vec<_> = pages
            .iter()
            .flat_map(|p| p.items.iter().map(|e| e.id.clone()))
            .collect();
        assert_eq!(
            seen,
            page.items.iter().map(|e| e.id.clone()).collect::<Vec<_>>()
        );
        let back = s
            .list_audit_events(
                &a.id,
                &AuditFilter::default(),
                &PageRequest {
                    before: pages[2].start.clone(),
                    ..newest_first(15)
                },
            )
            .await
            .unwrap();
        assert_eq!(back.items, pages[1].items);
        assert!(back.has_next && back.has_prev);
    }
);

store_test!(
    each_filter_and_the_time_range_narrow_the_list,
    |s: SqlStore, _url: String| async move {
        let org = org_with_zone(&s, "Audit F").await;
        let events = vec![
            event(&org.id, 1, Some("sa1"), "zones.applications.create", "z1"),
            event(&org.id, 2, Some("sa2"), "zones.applications.update", "z1"),
            event(&org.id, 3, Some("sa1"), "zones.applications.delete", "z2"),
            event(&org.id, 4, None, "zones.applications.create", "z2"),
        ];
        s.record_audit_events(&events).await.unwrap();
        let ids = |f: AuditFilter| {
            let s = s.clone();
            let org = org.id.clone();
            async move { request_ids(&s, &org, &f).await }
        };
        let all = AuditFilter::default;
        assert_eq!(
            ids(AuditFilter {
                actor_id: Some("sa1".into()),
                ..all()
            })
            .await,
            ["req3", "req1"]
        );
        assert_eq!(
            ids(AuditFilter {
                action: Some("zones.applications.create".into()),
                ..all()
            })
            .await,
            ["req4", "req1"]
        );
        assert_eq!(
            ids(AuditFilter {
                zone_id: Some(ZoneId::new("z2")),
                ..all()
            })
            .await,
            ["req4", "req3"]
        );
        assert_eq!(
            ids(AuditFilter {
                object_type: Some("application".into()),
                object_id: Some("app2".into()),
                ..all()
            })
            .await,
            ["req2"]
        );
        assert!(
            ids(AuditFilter {
                object_type: Some("zone".into()),
                ..all()
            })
            .await
            .is_empty()
        );
        assert_eq!(
            ids(AuditFilter {
                since: Some(at(2000)),
                until: Some(at(4000)),
                ..all()
            })
            .await,
            ["req3", "req2"],
            "`since` is inclusive, `until` exclusive"
        );
    }
);

store_test!(
    purging_removes_only_old_events,
    |s: SqlStore, _url: String| async move {
        let a = org_with_zone(&s, "Audit P1").await;
        let b = org_with_zone(&s, "Audit P2").await;
        let events: Vec<_> = (0..4)
            .map(|n| {
                event(
                    if n < 2 { &a.id } else { &b.id },
                    n,
                    None,
                    "zones.create",
                    "z",
                )
            })
            .collect();
        s.record_audit_events(&events).await.unwrap();
        // Events 0 and 1 (both of `a`) are older than the cut-off, whatever their organization.
        assert_eq!(s.purge_audit_events(at(1500)).await.unwrap(), 2);
        assert!(
            request_ids(&s, &a.id, &AuditFilter::default())
                .await
                .is_empty()
        );
        assert_eq!(
            request_ids(&s, &b.id, &AuditFilter::default()).await,
            ["req3", "req2"]
        );
        assert_eq!(s.purge_audit_events(at(0)).await.unwrap(), 0);
    }
);
