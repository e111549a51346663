//! The device authorization grant (RFC 8628), the device's side: starting a device
//! authorization (client authentication as at the token endpoint, resources and scope checked as
//! at the authorization endpoint) and the polls at the token endpoint, which redeem an approved
//! authorization exactly once into the tokens the authorization code grant issues. The person's
//! side is `device_verification`; the pure rules are `device_codes`.

use latchkey_domain::model::device::{DeviceAuthorization, DeviceStatus};
use latchkey_domain::model::login::GrantData;
use latchkey_domain::{StoreError, Timestamp};
use serde::Serialize;

use crate::authorize::{checked_scope, requested_resources};
use crate::browser::BrowserClient;
use crate::code_grant::{Refresh, grant_client, issue, web_session_active};
use crate::device_codes::{Poll, UserCode, poll_verdict};
use crate::error::{OAuthError, server};
use crate::issued::Issued;
use crate::paths;
use crate::requests::{ClientParams, DEVICE_CODE, DeviceAuthorizationRequest, Targets};
use crate::services::Services;
use crate::zones::ZoneEntry;

/// Tries at a fresh user code when the first collides with one in use.
const USER_CODE_ATTEMPTS: usize = 4;

/// The device authorization response (RFC 8628 §3.2).
#[derive(Debug, Clone, Serialize)]
pub struct DeviceStart {
    pub device_code: String,
    pub user_code: String,
    pub verification_uri: String,
    pub verification_uri_complete: String,
    pub expires_in: i64,
    pub interval: i64,
}

/// The keyed hash a user code is stored under (its normalized form, in its own domain).
pub fn user_code_hash(s: &Services, code: &UserCode) -> String {
    s.hasher
        .hash(&format!("device-user-code:{}", code.as_str()))
}

/// The verification page's address, with the user code when `code` is given.
pub fn verification_uri(zone: &ZoneEntry, code: Option<&UserCode>) -> String {
    match code {
        Some(c) => format!("{}?user_code={}", zone.url(paths::DEVICE), c.display()),
        None => zone.url(paths::DEVICE),
    }
}

/// `POST {issuer}/oauth/2/device_authorization`.
pub async fn start(
    s: &Services,
    zone: &ZoneEntry,
    request: DeviceAuthorizationRequest,
) -> Result<DeviceStart, OAuthError> {
    let client = grant_client(s, zone, &request.client).await?;
    registered_for_the_grant(s, zone, &client).await?;
    let refused =
        |(error, description): (&'static str, String)| OAuthError::bad(error, description);
    let (resources, offered) = requested_resources(s, zone, &client, &request.resources)
        .await
        .map_err(refused)?;
    let scope = checked_scope(request.scope.as_deref(), &offered).map_err(refused)?;
    let device_code =
        latchkey_crypto::random::secret("lk_dc_").map_err(|_| OAuthError::server_error())?;
    let settings = s.device;
    let now = Timestamp::now();
    let mut record = DeviceAuthorization {
        device_code_hash: s.hasher.hash(&device_code),
        user_code_hash: String::new(),
        client_id: client.client_id.clone(),
        scope,
        resources,
        status: DeviceStatus::Pending,
        user_id: None,
        session_id: None,
        expires_at: now.plus_seconds(settings.lifetime_seconds),
        interval_seconds: settings.interval_seconds,
        last_poll_at: None,
        created_at: now,
    };
    for _ in 0..USER_CODE_ATTEMPTS {
        let code = UserCode::generate().map_err(|_| OAuthError::server_error())?;
        record.user_code_hash = user_code_hash(s, &code);
        match s
            .store
            .insert_device_authorization(&zone.zone.id, &record)
            .await
        {
            Ok(()) => {
                return Ok(DeviceStart {
                    device_code,
                    user_code: code.display(),
                    verification_uri: verification_uri(zone, None),
                    verification_uri_complete: verification_uri(zone, Some(&code)),
                    expires_in: settings.lifetime_seconds,
                    interval: settings.interval_seconds,
                });
            }
            Err(StoreError::Conflict(_)) => continue,
            Err(e) => return Err(server(e)),
        }
    }
    Err(OAuthError::server_error())
}

/// A dynamically registered client uses the grant only when its registration lists it
/// (RFC 7591 §2: the default is `authorization_code` alone); zone applications always may.
async fn registered_for_the_grant(
    s: &Services,
    zone: &ZoneEntry,
    client: &BrowserClient,
) -> Result<(), OAuthError> {
    if client.user_agent_id.is_none() {
        return Ok(());
    }
    let registered = s
        .store
        .find_user_agent(&zone.zone.id, &client.client_id)
        .await
        .map_err(server)?
        .and_then(|ua| ua.registration)
        .and_then(|r| r.get("grant_types").cloned())
        .and_then(|g| g.as_array().cloned())
        .unwrap_or_default();
    if registered.iter().any(|g| g.as_str() == Some(DEVICE_CODE)) {
        Ok(())
    } else {
        Err(OAuthError::bad(
            "unauthorized_client",
            "this client is not registered for the device authorization grant",
        ))
    }
}

/// `grant_type=urn:ietf:params:oauth:grant-type:device_code`.
pub async fn redeem(
    s: &Services,
    zone: &ZoneEntry,
    params: &ClientParams,
    device_code: Option<&str>,
    targets: &Targets,
    dpop: Option<&str>,
) -> Result<Issued, OAuthError> {
    let client = grant_client(s, zone, params).await?;
    let device_code =
        device_code.ok_or_else(|| OAuthError::invalid_request("`device_code` is required"))?;
    let hash = s.hasher.hash(device_code);
    let invalid = || {
        OAuthError::bad(
            "invalid_grant",
            "the device code is invalid or was already used",
        )
    };
    let now = Timestamp::now();
    let record = s
        .store
        .poll_device(&zone.zone.id, &hash, &client.client_id, now)
        .await
        .map_err(server)?
        .filter(|r| r.client_id == client.client_id)
        .ok_or_else(invalid)?;
    match poll_verdict(&record, now) {
        Poll::Pending => Err(OAuthError::bad(
            "authorization_pending",
            "the user has not yet approved the request",
        )),
        Poll::SlowDown(interval) => {
            s.store
                .set_device_interval(&zone.zone.id, &hash, interval)
                .await
                .map_err(server)?;
            Err(OAuthError::bad(
                "slow_down",
                format!("polling too fast; wait at least {interval} seconds between requests"),
            ))
        }
        Poll::Expired => Err(OAuthError::bad(
            "expired_token",
            "the device code has expired; start again",
        )),
        Poll::Denied => Err(OAuthError::bad(
            "access_denied",
            "the user denied the request",
        )),
        Poll::Consumed => Err(invalid()),
        Poll::Approved => {
            if !s
                .store
                .consume_device(&zone.zone.id, &hash)
                .await
                .map_err(server)?
            {
                return Err(invalid());
            }
            redeem_approved(s, zone, &client, record, targets, dpop).await
        }
    }
}

/// Issues the tokens of an approved (and now consumed) authorization, as the code grant would
/// for the same user and web session.
async fn redeem_approved(
    s: &Services,
    zone: &ZoneEntry,
    client: &BrowserClient,
    record: DeviceAuthorization,
    targets: &Targets,
    dpop: Option<&str>,
) -> Result<Issued, OAuthError> {
    let (Some(user_id), Some(session_id)) = (record.user_id, record.session_id) else {
        return Err(OAuthError::server_error());
    };
    let session = s
        .store
        .get_session(
            &zone.zone.id,
            &latchkey_domain::id::SessionId::new(&session_id),
        )
        .await
        .map_err(server)?;
    let auth_time = session
        .as_ref()
        .map(|x| x.authenticated_at.unwrap_or(x.created_at).millis() / 1000)
        .unwrap_or_default();
    let grant = GrantData {
        client_id: record.client_id,
        user_id,
        session_id: Some(session_id),
        token_session_id: None,
        scope: record.scope,
        resources: record.resources,
        nonce: None,
        auth_time,
        redirect_uri: None,
        code_challenge: None,
        code_challenge_method: None,
        // (a public client's refresh tokens are bound to the key it polled with)
        dpop_jkt: dpop.filter(|_| client.public).map(str::to_owned),
    };
    if !web_session_active(s, zone, &grant).await? {
        return Err(OAuthError::bad(
            "invalid_grant",
            "the session that approved the device has ended",
        ));
    }
    let family = latchkey_crypto::random::id().map_err(|_| OAuthError::server_error())?;
    issue(s, zone, client, grant, targets, Refresh::New(family), dpop).await
}
