//! The `*_by_user` expansion of the policy family (`expand=user`, spec §2.10): each `*_by` actor
//! that is a user of the organization's platform zone becomes `{id, email, zone_id}`. Other
//! actors (API keys, service accounts, users of other zones) get no expansion.

use std::collections::HashMap;

use latchkey_domain::id::{UserId, ZoneId};

use crate::api::policy::{Attributed, OrgUserRef};
use crate::error::ApiResult;
use crate::state::AppState;

/// Fills the `*_by_user` fields of `views` (views of zone `zone`).
pub async fn expand<V: Attributed>(
    state: &AppState,
    zone: &ZoneId,
    views: &mut [V],
) -> ApiResult<()> {
    let Some(platform) = platform_zone(state, zone).await? else {
        return Ok(());
    };
    let mut found: HashMap<String, Option<OrgUserRef>> = HashMap::new();
    for v in views.iter() {
        for actor in v.actors().into_iter().flatten() {
            if found.contains_key(actor) {
                continue;
            }
            let user = state.store.get_user(&platform, &UserId::new(actor)).await?;
            let entry = user.map(|u| OrgUserRef {
                id: u.id.into_string(),
                email: Some(u.email).filter(|e| !e.is_empty()),
                zone_id: platform.as_str().to_owned(),
            });
            found.insert(actor.to_owned(), entry);
        }
    }
    for v in views.iter_mut() {
        let [created, updated, archived] = v
            .actors()
            .map(|a| a.and_then(|a| found.get(a).cloned().flatten()));
        let by = v.by_user_mut();
        by.created_by_user = created;
        by.updated_by_user = updated;
        by.archived_by_user = archived;
    }
    Ok(())
}

/// The platform zone of `zone`'s organization.
async fn platform_zone(state: &AppState, zone: &ZoneId) -> ApiResult<Option<ZoneId>> {
    let Some(z) = state.store.get_zone(zone).await? else {
        return Ok(None);
    };
    Ok(state
        .store
        .get_organization(&z.organization_id)
        .await?
        .map(|o| o.zone_id))
}

/// [`expand`] when the request's `expand` list names `user`.
pub async fn expand_if<V: Attributed>(
    state: &AppState,
    zone: &str,
    expand_list: &[String],
    views: &mut [V],
) -> ApiResult<()> {
    if expand_list.iter().any(|e| e == "user") {
        expand(state, &ZoneId::new(zone), views).await?;
    }
    Ok(())
}
