//! Organization invitations: created by members (platform admins anywhere) or by the
//! `latchkey invite` command, mailed to the invitee when SMTP is configured, shown to the invitee
//! by token without spending it, accepted once. The invitation link (the invitation page of the
//! organization's platform zone, or the token on a sign-in request) admits the invited address to
//! email/password sign-up in the organization's zones (`zone::accounts`, which spends it).

use latchkey_domain::Timestamp;
use latchkey_domain::id::UserId;
use latchkey_domain::model::access::Principal;
use latchkey_domain::model::organization::{Invitation, Organization};
use latchkey_domain::{Page, PageRequest};

use super::{access, mail, new_id};
use crate::api::invitation::{CreateInvitation, OrganizationRole};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// Invitations are valid for a week.
pub const TTL_SECONDS: i64 = 7 * 86_400;
/// Prefix of invitation tokens.
pub const TOKEN_PREFIX: &str = "lk_inv_";

/// A plausible email address (one `@`, no spaces, at most 254 characters), lowercased.
pub fn email(field: &str, value: &str) -> ApiResult<String> {
    let v = value.trim().to_lowercase();
    let ok = v.len() <= 254
        && v.matches('@').count() == 1
        && !v.starts_with('@')
        && !v.ends_with('@')
        && !v
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '<' || c == '>');
    if ok {
        Ok(v)
    } else {
        Err(ApiError::invalid_field(
            field,
            format!(
                "`{}` is not an email address",
                value.chars().take(80).collect::<String>()
            ),
        ))
    }
}

pub async fn list(
    state: &AppState,
    who: &Principal,
    org: &str,
    page: &PageRequest,
) -> ApiResult<Page<Invitation>> {
    let org = access::organization(state, who, org).await?;
    Ok(state.store.list_invitations(&org.id, page).await?)
}

/// Creates an invitation; returns it with its token (shown once).
pub async fn create(
    state: &AppState,
    who: &Principal,
    org: &str,
    body: CreateInvitation,
) -> ApiResult<(Invitation, String)> {
    let org = access::organization(state, who, org).await?;
    issue(state, &org, &body.email, body.role, who.actor_id()).await
}

/// Stores a new invitation to `org` made by `actor` (a principal's id, or `cli`) and, when SMTP
/// is configured, mails the link to the invitee in the background. Returns the invitation with
/// its token.
pub async fn issue(
    state: &AppState,
    org: &Organization,
    email_address: &str,
    role: OrganizationRole,
    actor: &str,
) -> ApiResult<(Invitation, String)> {
    let token = latchkey_crypto::random::secret(TOKEN_PREFIX)?;
    let now = Timestamp::now();
    let invitation = Invitation {
        organization_id: org.id.clone(),
        id: new_id()?,
        email: email("email", email_address)?,
        role: role.as_str().to_owned(),
        status: "pending".into(),
        token_hash: state.hasher.hash(&token),
        created_by: actor.to_owned(),
        expires_at: now.plus_seconds(TTL_SECONDS),
        created_at: now,
        updated_at: now,
    };
    state.store.create_invitation(&invitation).await?;
    if let Some(mailer) = &state.mailer {
        let link = link(state, org, &token);
        let rendered = mail::render(&mail::InvitationMail {
            organization: &org.name,
            role: &invitation.role,
            link: &link,
            expires_at: invitation.expires_at,
        });
        mail::send_later(
            mailer.clone(),
            invitation.id.clone(),
            invitation.email.clone(),
            rendered,
        );
    }
    Ok((invitation, token))
}

/// The invitation page for `token`: `{platform zone issuer}/invitation?token=…`.
pub fn link(state: &AppState, org: &Organization, token: &str) -> String {
    let page = format!("{}/invitation", state.zone_issuer(org.zone_id.as_str()));
    latchkey_oauth::browser::with_query(&page, &[("token", token)])
}

pub async fn revoke(state: &AppState, who: &Principal, org: &str, id: &str) -> ApiResult<()> {
    let org = access::organization(state, who, org).await?;
    if state.store.get_invitation(&org.id, id).await?.is_none() {
        return Err(ApiError::not_found(format!("invitation `{id}`")));
    }
    state
        .store
        .set_invitation_status(&org.id, id, "revoked", Timestamp::now())
        .await?;
    Ok(())
}

/// The invitation behind a token, with its organization.
pub async fn by_token(state: &AppState, token: &str) -> ApiResult<(Invitation, Organization)> {
    let missing = || ApiError::not_found("invitation");
    let inv = state
        .store
        .find_invitation_by_token(&state.hasher.hash(token))
        .await?
        .ok_or_else(missing)?;
    let org = state
        .store
        .get_organization(&inv.organization_id)
        .await?
        .ok_or_else(missing)?;
    Ok((inv, org))
}

/// Who the invitee is told invited them: the inviting person's email when a person of the
/// organization invited them, else the organization's name (an API key, a service account or
/// the `latchkey invite` command).
pub async fn inviter_name(state: &AppState, inv: &Invitation, org: &Organization) -> String {
    let person = state
        .store
        .get_user(&org.zone_id, &UserId::new(&inv.created_by))
        .await
        .ok()
        .flatten();
    match person {
        Some(user) if !user.email.is_empty() => user.email,
        _ => org.name.clone(),
    }
}

/// Accepts an invitation as the signed-in person it was sent to: they become a member of the
/// organization with the invited role (one transaction with spending it). Accepting again as the
/// same person answers the same; anyone else gets 403, a spent or expired invitation 409.
pub async fn accept(
    state: &AppState,
    who: &Principal,
    token: &str,
) -> ApiResult<(Organization, UserId)> {
    let Principal::User {
        organization_id,
        user_id,
        email,
        ..
    } = who
    else {
        return Err(ApiError::forbidden(
            "only a person signed in at the organization can accept an invitation",
        ));
    };
    let (inv, org) = by_token(state, token).await?;
    if &org.id != organization_id || !inv.email.eq_ignore_ascii_case(email) {
        return Err(ApiError::forbidden(
            "this invitation was sent to another address; sign in as the invited person",
        ));
    }
    let now = Timestamp::now();
    if !state
        .store
        .accept_invitation(&inv, user_id, email, now)
        .await?
    {
        return Err(ApiError::conflict(format!(
            "the invitation is {}",
            inv.effective_status(now)
        )));
    }
    Ok((org, user_id.clone()))
}
