//! The token endpoint's dispatch: a typed request goes to its grant, after client
//! authentication where the grant needs a confidential client (the user grants decide for
//! themselves, since public clients redeem codes and refresh tokens with `client_id` alone).

use std::sync::Arc;

use crate::client_auth;
use crate::code_grant;
use crate::dpop;
use crate::error::OAuthError;
use crate::grants::{self, Issued};
use crate::requests::{Grant, TokenRequest};
use crate::scoped_cache::Ticket;
use crate::services::Services;
use crate::zones::ZoneEntry;

/// Answers a token request (and counts it in the metrics) the full way: one
/// `client_credentials::planned` did not answer. `ticket` was taken before `zone` was read.
pub async fn issue(
    s: &Services,
    zone: &Arc<ZoneEntry>,
    request: TokenRequest,
    dpop: Option<&str>,
    ticket: Ticket,
) -> Result<Issued, OAuthError> {
    let grant_type = grant_label(&request.grant);
    let outcome = answer(s, zone, request, dpop, ticket).await;
    match &outcome {
        Ok(_) => crate::metrics::token_issued(zone.zone.id.as_str(), grant_type),
        Err(e) => crate::metrics::token_denied(zone.zone.id.as_str(), grant_type, e.error),
    }
    outcome
}

/// The grant's label in metrics.
fn grant_label(grant: &Grant) -> &'static str {
    match grant {
        Grant::ClientCredentials => "client_credentials",
        Grant::TokenExchange(_) => "token_exchange",
        Grant::AuthorizationCode(_) => "authorization_code",
        Grant::RefreshToken { .. } => "refresh_token",
        Grant::DeviceCode { .. } => "device_code",
    }
}

async fn answer(
    s: &Services,
    zone: &Arc<ZoneEntry>,
    request: TokenRequest,
    dpop: Option<&str>,
    ticket: Ticket,
) -> Result<Issued, OAuthError> {
    let TokenRequest {
        client,
        targets,
        grant,
    } = request;
    // A proof of possession (RFC 9449) binds what is issued to its key.
    let jkt = match dpop {
        None => None,
        Some(proof) => {
            let at = dpop::Request {
                method: "POST",
                url: &zone.token_endpoint,
                access_token: None,
            };
            Some(dpop::check(s, zone, proof, &at).await?)
        }
    };
    let jkt = jkt.as_deref();
    match grant {
        Grant::ClientCredentials => {
            crate::client_credentials::grant(s, zone, &client, &targets, jkt, ticket).await
        }
        Grant::TokenExchange(exchange) => {
            let client = client_auth::authenticate(s, zone, &client).await?;
            grants::token_exchange(s, zone, &client, &exchange, &targets, jkt).await
        }
        Grant::AuthorizationCode(code) => {
            code_grant::authorization_code(s, zone, &client, &code, &targets, jkt).await
        }
        Grant::RefreshToken { refresh_token } => {
            let presented = refresh_token.as_deref();
            code_grant::refresh_token(s, zone, &client, presented, &targets, jkt).await
        }
        Grant::DeviceCode { device_code } => {
            crate::device::redeem(s, zone, &client, device_code.as_deref(), &targets, jkt).await
        }
    }
}
