//! Organization members and zone members. Accepting an invitation is one method, so spending it
//! and joining cannot be separated; so is every change that must leave the organization an
//! `org_admin`.

use async_trait::async_trait;

use crate::error::StoreResult;
use crate::id::{OrganizationId, UserId, ZoneId};
use crate::model::access::{OrgRole, ZoneRole};
use crate::model::member::{MemberChange, OrgUser, ZoneMember};
use crate::model::organization::Invitation;
use crate::page::{Page, PageRequest};
use crate::time::Timestamp;

#[async_trait]
pub trait MemberStore: Send + Sync {
    /// Spends `invitation` for `user` (`email` being theirs) and makes them a member with the
    /// invited role, in one transaction. Also succeeds, changing nothing, when the invitation was
    /// already accepted by this same user. False when it is not pending (nor theirs).
    async fn accept_invitation(
        &self,
        invitation: &Invitation,
        user: &UserId,
        email: &str,
        now: Timestamp,
    ) -> StoreResult<bool>;
    async fn get_org_user(
        &self,
        org: &OrganizationId,
        user: &UserId,
    ) -> StoreResult<Option<OrgUser>>;
    async fn list_org_users(
        &self,
        org: &OrganizationId,
        page: &PageRequest,
    ) -> StoreResult<Page<OrgUser>>;
    /// Changes a member's role; never demotes the last `org_admin`.
    async fn set_org_role(
        &self,
        org: &OrganizationId,
        user: &UserId,
        role: OrgRole,
        now: Timestamp,
    ) -> StoreResult<MemberChange>;
    /// Removes a member with their zone memberships; never the last `org_admin`.
    async fn remove_org_user(
        &self,
        org: &OrganizationId,
        user: &UserId,
    ) -> StoreResult<MemberChange>;

    /// Adds a zone member; `Conflict` when they already are one, `NotFound` when the user is not
    /// a member of the zone's organization.
    async fn add_zone_member(&self, member: &ZoneMember) -> StoreResult<()>;
    async fn get_zone_member(
        &self,
        zone: &ZoneId,
        user: &UserId,
    ) -> StoreResult<Option<ZoneMember>>;
    async fn list_zone_members(
        &self,
        zone: &ZoneId,
        page: &PageRequest,
    ) -> StoreResult<Page<ZoneMember>>;
    async fn set_zone_role(
        &self,
        zone: &ZoneId,
        user: &UserId,
        role: ZoneRole,
        now: Timestamp,
    ) -> StoreResult<bool>;
    async fn remove_zone_member(&self, zone: &ZoneId, user: &UserId) -> StoreResult<bool>;
    /// The zones `user` is a member of in `org`, with their role there.
    async fn zone_roles(
        &self,
        org: &OrganizationId,
        user: &UserId,
    ) -> StoreResult<Vec<(ZoneId, ZoneRole)>>;
}
