//! The tokens minted for a user at the end of the code and refresh grants: the access token
//! (audience = the granted resources) and the OpenID Connect ID token; and reading an ID token
//! back when a client sends it as `id_token_hint`.

use latchkey_domain::model::identity::User;
use latchkey_domain::model::login::GrantData;
use serde_json::{Value, json};

use crate::browser::BrowserClient;
use crate::error::OAuthError;
use crate::mint::{self, Claims};
use crate::services::Services;
use crate::targets::resolve_target;
use crate::zones::ZoneEntry;

const ID_TOKEN_TTL_SECONDS: i64 = 3600;

/// Who a user token is for: the client, the user, and the grant (scope, nonce, session).
pub struct UserToken<'a> {
    pub client: &'a BrowserClient,
    pub user: &'a User,
    pub grant: &'a GrantData,
}

/// A signed access token with its issue time and lifetime (seconds).
pub struct Minted {
    pub token: String,
    pub iat: i64,
    pub lifetime: i64,
}

/// The user's access token for `audiences` under token session `session_id`; it lives as long
/// as the first audience's resource says.
pub async fn access_token(
    s: &Services,
    zone: &ZoneEntry,
    who: &UserToken<'_>,
    audiences: &[String],
    session_id: &str,
    dpop: Option<&str>,
) -> Result<Minted, OAuthError> {
    let iat = mint::now_seconds();
    let lifetime = match audiences.first() {
        Some(a) => match resolve_target(s, zone, a).await {
            Ok(t) => mint::lifetime(&t.resource),
            Err(_) => mint::DEFAULT_LIFETIME_SECONDS,
        },
        None => mint::DEFAULT_LIFETIME_SECONDS,
    };
    let client = who.client;
    let claims = Claims {
        iss: &zone.issuer,
        sub: &who.user.identifier,
        aud: "",
        exp: iat + lifetime,
        iat,
        client_id: &client.client_id,
        jti: mint::jti()?,
        sub_profile: "user",
        keycard_app_id: client
            .application_id
            .as_deref()
            .or(client.user_agent_id.as_deref())
            .unwrap_or_default(),
        scope: who.grant.scope.clone(),
        act: None,
        sid: Some(session_id),
        cnf: dpop.map(crate::dpop::cnf),
    };
    let mut value = serde_json::to_value(&claims).map_err(|_| OAuthError::server_error())?;
    value["aud"] = if audiences.len() == 1 {
        json!(audiences[0])
    } else {
        json!(audiences)
    };
    if audiences.len() == 1 {
        value["resource"] = json!(audiences[0]);
    }
    let token = mint::sign_value(s, zone, &value).await?;
    Ok(Minted {
        token,
        iat,
        lifetime,
    })
}

/// The ID token (issued at `iat`, like the access token beside it).
pub async fn id_token(
    s: &Services,
    zone: &ZoneEntry,
    who: &UserToken<'_>,
    iat: i64,
) -> Result<String, OAuthError> {
    let (client, user, grant) = (who.client, who.user, who.grant);
    let mut claims = json!({
        "iss": zone.issuer,
        "sub": user.identifier,
        "aud": client.client_id,
        "exp": iat + ID_TOKEN_TTL_SECONDS,
        "iat": iat,
        "auth_time": grant.auth_time,
        "email": user.email,
        "email_verified": user.email_verified,
    });
    if let Some(n) = &grant.nonce {
        claims["nonce"] = json!(n);
    }
    if let Some(sid) = &grant.session_id {
        claims["sid"] = json!(sid);
    }
    mint::sign_value(s, zone, &claims).await
}

/// Longest `id_token_hint` accepted (bytes).
pub const MAX_HINT_BYTES: usize = 8192;

/// What an `id_token_hint` says, once it proved to be an ID token this zone signed.
#[derive(Debug, Clone)]
pub struct IdTokenHint {
    /// The client it was issued to (`aud`).
    pub client_id: String,
    /// The user (`sub`).
    pub sub: String,
    /// The web session it was issued under (`sid`).
    pub sid: Option<String>,
}

/// Reads an `id_token_hint`: signed by a key this zone still publishes, `iss` exact, whatever
/// its expiry (OpenID Connect Core §3.1.2.1, RP-Initiated Logout §2). Access tokens carry
/// `client_id` and no `auth_time`; they are not hints.
pub async fn id_token_hint(s: &Services, zone: &ZoneEntry, token: &str) -> Option<IdTokenHint> {
    let claims = crate::grants::verify_zone_signature(s, zone, token).await?;
    if claims.get("client_id").is_some() || claims.get("auth_time").is_none() {
        return None;
    }
    let sub = claims.get("sub").and_then(Value::as_str)?.to_owned();
    let client_id = match claims.get("aud") {
        Some(Value::Array(a)) if a.len() != 1 => return None,
        _ => crate::grants::first_audience(&claims)?.to_owned(),
    };
    let sid = claims.get("sid").and_then(Value::as_str).map(str::to_owned);
    Some(IdTokenHint {
        client_id,
        sub,
        sid,
    })
}
