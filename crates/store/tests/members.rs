//! Organization and zone members on both back ends: accepting an invitation joins in the same
//! transaction (once, by one person), the last `org_admin` stays, zone memberships go with the
//! member, and `org_member`s list only their zones.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // integration tests

mod common;

use common::{new_id, org_with_zone, zone_in};
use latchkey_domain::id::{OrganizationId, UserId};
use latchkey_domain::model::access::{OrgRole, ZoneRole};
use latchkey_domain::model::member::{MemberChange, ZoneMember};
use latchkey_domain::model::organization::Invitation;
use latchkey_domain::store::{InvitationStore, MemberStore, Store, ZoneFilter, ZoneStore};
use latchkey_domain::{PageRequest, StoreError, Timestamp};
use latchkey_store::SqlStore;

async fn invite(s: &SqlStore, org: &OrganizationId, email: &str, role: OrgRole) -> Invitation {
    let now = Timestamp::now();
    let inv = Invitation {
        organization_id: org.clone(),
        id: new_id(),
        email: email.into(),
        role: role.as_str().into(),
        status: "pending".into(),
        token_hash: new_id(),
        created_by: "key".into(),
        expires_at: now.plus_seconds(3600),
        created_at: now,
        updated_at: now,
    };
    s.create_invitation(&inv).await.unwrap();
    inv
}

async fn join(s: &SqlStore, org: &OrganizationId, email: &str, role: OrgRole) -> UserId {
    let inv = invite(s, org, email, role).await;
    let user = UserId::new(new_id());
    assert!(
        s.accept_invitation(&inv, &user, email, Timestamp::now())
            .await
            .unwrap()
    );
    user
}

store_test!(
    accepting_an_invitation_joins_once,
    |s: SqlStore, _url: String| async move {
        let org = org_with_zone(&s, "People").await;
        let inv = invite(&s, &org.id, "ann@example.com", OrgRole::OrgViewer).await;
        let ann = UserId::new(new_id());
        let now = Timestamp::now();
        assert!(
            s.accept_invitation(&inv, &ann, "ann@example.com", now)
                .await
                .unwrap()
        );
        // The same person again: harmless; anyone else: refused.
        assert!(
            s.accept_invitation(&inv, &ann, "ann@example.com", now)
                .await
                .unwrap()
        );
        let bob = UserId::new(new_id());
        assert!(
            !s.accept_invitation(&inv, &bob, "bob@example.com", now)
                .await
                .unwrap()
        );
        assert!(s.get_org_user(&org.id, &bob).await.unwrap().is_none());
        let member = s.get_org_user(&org.id, &ann).await.unwrap().unwrap();
        assert_eq!(member.role, OrgRole::OrgViewer);
        assert_eq!(member.email, "ann@example.com");
        let inv = s.get_invitation(&org.id, &inv.id).await.unwrap().unwrap();
        assert_eq!(inv.status, "accepted");
        // An expired invitation cannot be accepted.
        let mut late = invite(&s, &org.id, "cy@example.com", OrgRole::OrgAdmin).await;
        late.expires_at = now;
        let later = now.plus_seconds(7200);
        let cy = UserId::new(new_id());
        assert!(
            !s.accept_invitation(&late, &cy, "cy@example.com", later)
                .await
                .unwrap()
        );
        assert!(s.get_org_user(&org.id, &cy).await.unwrap().is_none());
    }
);

store_test!(
    the_last_org_admin_stays,
    |s: SqlStore, _url: String| async move {
        let org = org_with_zone(&s, "Admins").await;
        let a = join(&s, &org.id, "a@example.com", OrgRole::OrgAdmin).await;
        let now = Timestamp::now();
        assert_eq!(
            s.set_org_role(&org.id, &a, OrgRole::OrgMember, now)
                .await
                .unwrap(),
            MemberChange::LastAdmin
        );
        assert_eq!(
            s.remove_org_user(&org.id, &a).await.unwrap(),
            MemberChange::LastAdmin
        );
        let b = join(&s, &org.id, "b@example.com", OrgRole::OrgAdmin).await;
        // Two admins demoting each other at once: exactly one succeeds.
        let (x, y) = tokio::join!(
            s.set_org_role(&org.id, &a, OrgRole::OrgViewer, now),
            s.set_org_role(&org.id, &b, OrgRole::OrgViewer, now)
        );
        let done = [x.unwrap(), y.unwrap()];
        assert_eq!(
            done.iter().filter(|c| **c == MemberChange::Done).count(),
            1,
            "{done:?}"
        );
        let page = s
            .list_org_users(&org.id, &PageRequest::first(10))
            .await
            .unwrap();
        let admins = page
            .items
            .iter()
            .filter(|u| u.role == OrgRole::OrgAdmin)
            .count();
        assert_eq!(admins, 1);
        let ghost = UserId::new(new_id());
        assert_eq!(
            s.remove_org_user(&org.id, &ghost).await.unwrap(),
            MemberChange::NotFound
        );
    }
);

store_test!(
    zone_members_follow_their_member,
    |s: SqlStore, _url: String| async move {
        let org = org_with_zone(&s, "Zoned").await;
        let _admin = join(&s, &org.id, "root@example.com", OrgRole::OrgAdmin).await;
        let m = join(&s, &org.id, "m@example.com", OrgRole::OrgMember).await;
        let z1 = s.create_zone(zone_in(&org.id, "One")).await.unwrap();
        let z2 = s.create_zone(zone_in(&org.id, "Two")).await.unwrap();
        let now = Timestamp::now();
        let member = ZoneMember {
            zone_id: z1.id.clone(),
            id: new_id(),
            organization_id: org.id.clone(),
            organization_user_id: m.clone(),
            role: ZoneRole::ZoneViewer,
            created_at: now,
            updated_at: now,
        };
        s.add_zone_member(&member).await.unwrap();
        let again = ZoneMember {
            id: new_id(),
            ..member.clone()
        };
        assert!(matches!(
            s.add_zone_member(&again).await,
            Err(StoreError::Conflict(_))
        ));
        // Not a member of the organization: refused by the reference.
        let stranger = ZoneMember {
            id: new_id(),
            organization_user_id: UserId::new(new_id()),
            ..member.clone()
        };
        assert!(s.add_zone_member(&stranger).await.is_err());
        assert!(
            s.set_zone_role(&z1.id, &m, ZoneRole::ZoneManager, now)
                .await
                .unwrap()
        );
        assert_eq!(
            s.zone_roles(&org.id, &m).await.unwrap(),
            vec![(z1.id.clone(), ZoneRole::ZoneManager)]
        );
        let visible = s
            .list_zones(
                &org.id,
                &ZoneFilter {
                    member: Some(m.clone()),
                    ..ZoneFilter::default()
                },
                &PageRequest::first(10),
            )
            .await
            .unwrap();
        assert_eq!(
            visible.items.iter().map(|z| &z.id).collect::<Vec<_>>(),
            vec![&z1.id]
        );
        assert!(s.get_zone_member(&z2.id, &m).await.unwrap().is_none());
        assert_eq!(
            s.remove_org_user(&org.id, &m).await.unwrap(),
            MemberChange::Done
        );
        assert!(s.get_zone_member(&z1.id, &m).await.unwrap().is_none());
        assert!(s.zone_roles(&org.id, &m).await.unwrap().is_empty());
    }
);
