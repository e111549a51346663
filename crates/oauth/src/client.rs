//! An authenticated client: the application and the credential it proved itself with, shared
//! with the directory cache (authenticating copies nothing).

use std::sync::Arc;

use latchkey_domain::model::directory::{AppCredential, Application};

/// A client that proved who it is.
#[derive(Debug, Clone)]
pub struct Client {
    pair: Arc<(AppCredential, Application)>,
}

impl Client {
    /// The client of a credential and its application, as the directory cache holds them.
    pub fn new(pair: Arc<(AppCredential, Application)>) -> Self {
        Self { pair }
    }

    pub fn application(&self) -> &Application {
        &self.pair.1
    }

    pub fn credential(&self) -> &AppCredential {
        &self.pair.0
    }

    /// The `client_id` claim of tokens issued to this client.
    pub fn client_id(&self) -> &str {
        &self.pair.0.identifier
    }
}
