//! Email and password accounts of a zone: sign-in (throttled per account and per source
//! address, bounded password work) and sign-up (open, or by invitation in zones that require
//! one: the invitation comes from the sign-in link or from the invitation page). What the
//! sign-in and invitation forms show for each refusal is decided here. [`admit`] is the one way
//! an invited person's account is made (email sign-up here, a first SSO sign-in in
//! `federation::signin`): it spends the invitation, and in an organization's platform zone that
//! makes the person a member of the organization in the same transaction.

use std::net::IpAddr;

use latchkey_domain::Timestamp;
use latchkey_domain::id::UserId;
use latchkey_domain::model::OwnerType;
use latchkey_domain::model::identity::User;
use latchkey_domain::model::organization::Invitation;
use latchkey_domain::store::UserFilter;
use latchkey_domain::{ListFilter, PageRequest};

use crate::passwords;
use crate::services::Services;
use crate::zones::ZoneEntry;

/// Why a sign-in or sign-up was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Shown on the sign-in form.
    Message(&'static str),
    /// Too many failures for the account or the address: wait this many seconds.
    Throttled(u64),
    /// Password hashing is saturated: try again in a moment.
    Busy,
}

const FAILED: Refusal = Refusal::Message("The server failed; try again.");

impl From<passwords::Busy> for Refusal {
    fn from(_: passwords::Busy) -> Self {
        Refusal::Busy
    }
}

async fn find_by_email(s: &Services, zone: &ZoneEntry, email: &str) -> Option<User> {
    let filter = UserFilter {
        list: ListFilter::default().exact("email", vec![email.to_owned()]),
        external: None,
    };
    let users = s
        .store
        .list_users(&zone.zone.id, &filter, &PageRequest::first(10))
        .await
        .ok()?;
    users.items.into_iter().find(|u| u.password_hash.is_some())
}

/// Signs in with email and password. A locked account or address is refused before any
/// password work; every failure counts against both.
pub async fn sign_in(
    s: &Services,
    zone: &ZoneEntry,
    email: &str,
    password: &str,
    ip: IpAddr,
) -> Result<User, Refusal> {
    let zone_id = zone.zone.id.as_str();
    if let Some(wait) = s.throttle.sign_in_locked(zone_id, email, ip).await {
        return Err(Refusal::Throttled(wait));
    }
    let user = find_by_email(s, zone, email).await;
    let hash = user.as_ref().and_then(|u| u.password_hash.clone());
    let ok = passwords::verify(password, hash.as_deref()).await?;
    match user {
        Some(u) if ok && u.status == "active" => {
            s.throttle.sign_in_succeeded(zone_id, email).await;
            Ok(u)
        }
        Some(u) if ok && u.status != "active" => Err(Refusal::Message("This account is disabled.")),
        _ => {
            s.throttle.sign_in_failed(zone_id, email, ip).await;
            Err(Refusal::Message("Incorrect email or password."))
        }
    }
}

fn plausible_email(email: &str) -> bool {
    email.len() <= 254
        && email.matches('@').count() == 1
        && !email.starts_with('@')
        && !email.ends_with('@')
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// The pending invitation whose token hashes to `token_hash`, if it admits `email` to this
/// zone's organization.
pub async fn invitation_for(
    s: &Services,
    zone: &ZoneEntry,
    token_hash: Option<&str>,
    email: &str,
) -> Result<Option<Invitation>, Refusal> {
    let Some(hash) = token_hash else {
        return Ok(None);
    };
    let found = s
        .store
        .find_invitation_by_token(hash)
        .await
        .map_err(|_| FAILED)?;
    Ok(found.filter(|inv| {
        inv.organization_id == zone.zone.organization_id
            && inv.effective_status(Timestamp::now()) == "pending"
            && inv.email == email
    }))
}

/// Creates an account. In a zone that requires invitations, only with the invitation sent to
/// that address (the invitation is spent); an address that came with an invitation is verified.
/// `invitation` is the keyed hash of the invitation token the person came with: the sign-in
/// link's (`AuthRequest::invitation`) or the invitation page's.
pub async fn sign_up(
    s: &Services,
    zone: &ZoneEntry,
    invitation: Option<&str>,
    email: &str,
    password: &str,
) -> Result<User, Refusal> {
    if zone.zone.user_identity_provider_id.is_some() {
        return Err(Refusal::Message(
            "Sign up through the zone's identity provider.",
        ));
    }
    if !plausible_email(email) {
        return Err(Refusal::Message("Enter a valid email address."));
    }
    if password.chars().count() < 8 || password.len() > 1024 {
        return Err(Refusal::Message("Passwords need at least 8 characters."));
    }
    if find_by_email(s, zone, email).await.is_some() {
        return Err(Refusal::Message(
            "An account with this email already exists. Sign in instead.",
        ));
    }
    let invitation = invitation_for(s, zone, invitation, email).await?;
    if zone.zone.requires_invitation && invitation.is_none() {
        return Err(Refusal::Message(
            "Sign-up is by invitation only in this zone. Open the invitation link you received, with the address it was sent to.",
        ));
    }
    let hash = passwords::hash(password).await.map_err(|e| match e {
        passwords::HashError::Busy => Refusal::Busy,
        passwords::HashError::Failed => FAILED,
    })?;
    let user = new_user(zone, email, Some(hash), invitation.is_some()).map_err(|_| FAILED)?;
    admit(s, zone, user, invitation.as_ref()).await
}

/// Creates the account `user`, spending `invitation` (once: an invitation already used is
/// refused and nothing is created). In the organization's platform zone, spending it is
/// accepting it: the person joins the organization with the invited role.
pub async fn admit(
    s: &Services,
    zone: &ZoneEntry,
    user: User,
    invitation: Option<&Invitation>,
) -> Result<User, Refusal> {
    if let Some(inv) = invitation {
        let now = Timestamp::now();
        let spent = if zone.zone.owner_type == OwnerType::Platform {
            s.store
                .accept_invitation(inv, &user.id, &user.email, now)
                .await
        } else {
            s.store
                .set_invitation_status(&inv.organization_id, &inv.id, "accepted", now)
                .await
        };
        if !spent.map_err(|_| FAILED)? {
            return Err(Refusal::Message("This invitation was already used."));
        }
    }
    s.store.insert_user(&user).await.map_err(|_| FAILED)?;
    Ok(user)
}

/// A new active account of the zone (not stored), its identifier its fresh id.
fn new_user(
    zone: &ZoneEntry,
    email: &str,
    password_hash: Option<String>,
    verified: bool,
) -> Result<User, latchkey_crypto::CryptoError> {
    let now = Timestamp::now();
    let id = latchkey_crypto::random::id()?;
    Ok(User {
        zone_id: zone.zone.id.clone(),
        id: UserId::new(&id),
        organization_id: zone.zone.organization_id.clone(),
        email: email.to_owned(),
        email_verified: verified,
        external: false,
        identifier: id,
        status: "active".into(),
        authenticated_at: Some(now),
        issuer: None,
        provider_id: None,
        subject: None,
        password_hash,
        created_at: now,
        updated_at: now,
    })
}
