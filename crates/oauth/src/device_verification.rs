//! The device authorization grant (RFC 8628), the person's side on the verification page:
//! finding the pending authorization behind a typed user code, the sign-in request that returns
//! to the page, the confirmation form's CSRF token, and approving (after the zone's policies) or
//! denying. Pages, cookies and throttling answers are the HTTP layer's.

use latchkey_domain::Timestamp;
use latchkey_domain::model::device::{DeviceAuthorization, DeviceDecision, DeviceStatus};
use latchkey_domain::model::identity::Session;

use crate::browser::{AuthRequest, BrowserClient};
use crate::device::{user_code_hash, verification_uri};
use crate::device_codes::UserCode;
use crate::error::{OAuthError, server};
use crate::services::Services;
use crate::zones::ZoneEntry;

/// Why a user code cannot be used on the verification page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeProblem {
    /// Malformed or not issued in this zone (counts as a guess).
    Unknown,
    /// Issued, but past its lifetime.
    Expired,
    /// Already approved, denied or redeemed.
    Used,
}

/// A pending device authorization found by its user code, with its client.
#[derive(Debug, Clone)]
pub struct PendingDevice {
    pub code: UserCode,
    pub record: DeviceAuthorization,
    pub client: BrowserClient,
}

/// The pending, unexpired authorization behind what the person typed.
pub async fn pending(
    s: &Services,
    zone: &ZoneEntry,
    input: &str,
) -> Result<Result<PendingDevice, CodeProblem>, OAuthError> {
    let Some(code) = UserCode::parse(input) else {
        return Ok(Err(CodeProblem::Unknown));
    };
    let Some(record) = s
        .store
        .find_device_by_user_code(&zone.zone.id, &user_code_hash(s, &code))
        .await
        .map_err(server)?
    else {
        return Ok(Err(CodeProblem::Unknown));
    };
    if record.status != DeviceStatus::Pending {
        return Ok(Err(CodeProblem::Used));
    }
    if record.expires_at.millis() <= Timestamp::now().millis() {
        return Ok(Err(CodeProblem::Expired));
    }
    let Some(client) = crate::browser::client(s, zone, &record.client_id).await? else {
        return Ok(Err(CodeProblem::Unknown));
    };
    Ok(Ok(PendingDevice {
        code,
        record,
        client,
    }))
}

/// The sign-in request a verification page starts for a browser without a web session: the
/// zone's sign-in page, then back to the page with the same user code.
pub fn sign_in_request(zone: &ZoneEntry, device: &PendingDevice) -> AuthRequest {
    AuthRequest {
        client: device.client.clone(),
        redirect_uri: String::new(),
        state: None,
        scope: device.record.scope.clone(),
        resources: device.record.resources.clone(),
        code_challenge: None,
        code_challenge_method: None,
        nonce: None,
        prompt: None,
        invitation: None,
        return_to: Some(verification_uri(zone, Some(&device.code))),
        max_age: None,
        hint_sub: None,
        login_hint: None,
        dpop_jkt: None,
    }
}

/// The confirmation form's CSRF token: bound to the browser's web session cookie secret and to
/// the user code, so that it is useless in any other browser or for any other code.
pub fn csrf_token(s: &Services, session_secret: &str, code: &UserCode) -> String {
    s.hasher
        .hash(&format!("device-csrf:{session_secret}:{}", code.as_str()))
}

/// The person's answer: approve (after the zone's policies allow the user the resources) or deny.
/// False when the code stopped being pending meanwhile.
pub async fn decide(
    s: &Services,
    zone: &ZoneEntry,
    device: &PendingDevice,
    session: &Session,
    approve: bool,
) -> Result<bool, OAuthError> {
    let user_id = session
        .user_id
        .clone()
        .ok_or_else(OAuthError::server_error)?;
    let decision = if approve {
        policy_allows(s, zone, device, &user_id).await?;
        DeviceDecision::Approve {
            user_id: user_id.into_string(),
            session_id: session.id.as_str().to_owned(),
        }
    } else {
        DeviceDecision::Deny {
            user_id: user_id.into_string(),
        }
    };
    s.store
        .decide_device(
            &zone.zone.id,
            &device.record.user_code_hash,
            &decision,
            Timestamp::now(),
        )
        .await
        .map_err(server)
}

/// Whether the zone's policies let the user have the requested resources (decided again when
/// the device redeems, with the data of that moment).
async fn policy_allows(
    s: &Services,
    zone: &ZoneEntry,
    device: &PendingDevice,
    user_id: &latchkey_domain::id::UserId,
) -> Result<(), OAuthError> {
    if device.record.resources.is_empty() {
        return Ok(());
    }
    let user = s
        .store
        .get_user(&zone.zone.id, user_id)
        .await
        .map_err(server)?
        .ok_or_else(OAuthError::server_error)?;
    crate::decide::user_token_scope(
        s,
        zone,
        &device.client,
        &user,
        &device.record.resources,
        device.record.scope.clone(),
    )
    .await
    .map(|_| ())
}
