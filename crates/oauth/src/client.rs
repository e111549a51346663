//! An authenticated client: the application and the credential it proved itself with.

use latchkey_domain::model::directory::{AppCredential, Application};

use crate::error::{OAuthError, server};
use crate::services::Services;

/// A client that proved who it is.
#[derive(Debug, Clone)]
pub struct Client {
    pub application: Application,
    pub credential: AppCredential,
}

impl Client {
    /// The `client_id` claim of tokens issued to this client.
    pub fn client_id(&self) -> &str {
        &self.credential.identifier
    }
}

/// The client owning `credential`.
pub async fn client_of(state: &Services, credential: AppCredential) -> Result<Client, OAuthError> {
    let application = state
        .store
        .get_application(&credential.zone_id, &credential.application_id)
        .await
        .map_err(server)?
        .ok_or_else(OAuthError::invalid_client)?;
    Ok(Client {
        application,
        credential,
    })
}
