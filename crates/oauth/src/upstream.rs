//! Credentials the zone hands out but does not mint: vaulted secrets (`keycard-vault`
//! resources) and upstream tokens held in users' delegated grants (`external` resources).

use latchkey_domain::Timestamp;
use latchkey_domain::model::directory::Resource;
use latchkey_domain::model::identity::{Grant, Status};
use latchkey_domain::store::{GrantFilter, SecretFilter, UserFilter};
use latchkey_domain::{ListFilter, PageRequest};

use crate::error::OAuthError;
use crate::error::server;
use crate::issued::{Issued, TOKEN_TYPE_ACCESS};
use crate::mint;
use crate::provider::{self, upstream_token};
use crate::services::Services;
use crate::zones::ZoneEntry;

/// A vault secret's sealed value, as the management API stores it (`type`-tagged JSON).
#[derive(serde::Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
enum SecretData {
    Token { token: String },
    Password { username: String, password: String },
}

/// Seals an upstream token for storage on a grant.
pub fn seal_token(
    s: &Services,
    grant: &latchkey_domain::id::GrantId,
    zone: &latchkey_domain::id::ZoneId,
    kind: &str,
    token: &str,
) -> Option<Vec<u8>> {
    s.sealer
        .seal(
            &format!("{zone}/grant/{grant}/{kind}"),
            serde_json::to_vec(token).ok()?.as_slice(),
        )
        .ok()
}

fn opened<T: serde::de::DeserializeOwned>(
    state: &Services,
    context: &str,
    sealed: &[u8],
) -> Result<T, OAuthError> {
    let plain = state
        .sealer
        .open(context, sealed)
        .map_err(|_| OAuthError::server_error())?;
    serde_json::from_slice(&plain).map_err(|_| OAuthError::server_error())
}

/// The newest vault secret attached to the resource.
pub async fn vaulted(
    state: &Services,
    zone: &ZoneEntry,
    resource: &Resource,
) -> Result<Issued, OAuthError> {
    let filter = SecretFilter {
        entity_id: Some(resource.id.as_str().to_owned()),
        ..Default::default()
    };
    let secret = state
        .store
        .list_secrets(&zone.zone.id, &filter)
        .await
        .map_err(server)?
        .pop()
        .ok_or_else(|| {
            OAuthError::bad(
                "invalid_target",
                format!("no vaulted secret for `{}`", resource.identifier),
            )
        })?;
    let context = format!("{}/secret/{}/{}", secret.zone_id, secret.id, secret.version);
    let data: SecretData = opened(state, &context, &secret.data)?;
    let (access_token, username) = match data {
        SecretData::Token { token } => (token, None),
        SecretData::Password { username, password } => (password, Some(username)),
    };
    Ok(Issued {
        access_token,
        token_type: "Bearer",
        expires_in: mint::lifetime(resource),
        issued_token_type: Some(TOKEN_TYPE_ACCESS),
        scope: None,
        refresh_token: None,
        id_token: None,
        username,
    })
}

/// The upstream token of the user's grant for the resource, refreshed at the provider when it
/// has expired; `insufficient_authorization` when there is no usable grant.
pub async fn delegated(
    state: &Services,
    zone: &ZoneEntry,
    resource: &Resource,
    subject: &str,
) -> Result<Issued, OAuthError> {
    let missing = || {
        OAuthError::bad(
            "insufficient_authorization",
            format!("no active delegated grant for `{}`", resource.identifier),
        )
    };
    let zone_id = &zone.zone.id;
    let users = UserFilter {
        list: ListFilter::default().exact("identifier", vec![subject.to_owned()]),
        external: None,
    };
    let Some(user) = state
        .store
        .list_users(zone_id, &users, &PageRequest::first(1))
        .await
        .map_err(server)?
        .items
        .pop()
    else {
        return Err(missing());
    };
    let now = Timestamp::now();
    let filter = GrantFilter {
        status: None,
        user_id: Some(user.id),
        resource_id: Some(resource.id.clone()),
    };
    let grants = state
        .store
        .list_grants(zone_id, &filter, now, &PageRequest::first(100))
        .await
        .map_err(server)?;
    let mut grant = grants
        .items
        .into_iter()
        .rev()
        .find(|g| g.status == Status::Active)
        .ok_or_else(missing)?;
    if grant.expires_at <= now {
        grant = refresh(state, zone, grant).await.ok_or_else(missing)?;
    }
    let sealed = grant.access_token.as_ref().ok_or_else(missing)?;
    let token: String = opened(
        state,
        &format!("{}/grant/{}/access_token", grant.zone_id, grant.id),
        sealed,
    )?;
    Ok(Issued {
        access_token: token,
        token_type: "Bearer",
        expires_in: (grant.expires_at.millis() - now.millis()) / 1000,
        issued_token_type: Some(TOKEN_TYPE_ACCESS),
        scope: (!grant.scopes.is_empty()).then(|| grant.scopes.join(" ")),
        refresh_token: None,
        id_token: None,
        username: None,
    })
}

/// Refreshes an expired grant at its provider; on failure the grant is marked expired.
async fn refresh(state: &Services, zone: &ZoneEntry, mut grant: Grant) -> Option<Grant> {
    let context = format!("{}/grant/{}/refresh_token", grant.zone_id, grant.id);
    let refreshed = async {
        let sealed = grant.refresh_token.as_ref()?;
        let refresh_token: String = opened(state, &context, sealed).ok()?;
        let provider = state
            .store
            .get_provider(&zone.zone.id, &grant.provider_id)
            .await
            .ok()??;
        let tokens = upstream_token(
            state,
            &provider,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", &refresh_token),
            ],
        )
        .await
        .ok()?;
        let pointer = provider
            .protocols
            .as_ref()
            .and_then(|p| p.oauth2.as_ref())
            .and_then(|o| o.token_response_access_token_pointer.clone())
            .unwrap_or_else(|| "access_token".into());
        let access = provider::pointer(&tokens, &pointer)?.to_owned();
        let expires_in = provider::expires_in(&tokens);
        Some((
            access,
            tokens
                .get("refresh_token")
                .and_then(serde_json::Value::as_str)
                .map(str::to_owned),
            expires_in,
        ))
    }
    .await;
    let now = Timestamp::now();
    grant.updated_at = now;
    match refreshed {
        Some((access, rotated, expires_in)) => {
            grant.access_token =
                seal_token(state, &grant.id, &grant.zone_id, "access_token", &access);
            if let Some(r) = rotated {
                grant.refresh_token =
                    seal_token(state, &grant.id, &grant.zone_id, "refresh_token", &r);
            }
            grant.expires_at = now.plus_seconds(expires_in);
            grant.refreshed_at = Some(now);
            state.store.update_grant_tokens(&grant).await.ok()?;
            Some(grant)
        }
        None => {
            grant.status = Status::Expired;
            let _ = state.store.update_grant_tokens(&grant).await;
            None
        }
    }
}
