//! `latchkey invite`: makes an invitation from the command line (e.g. the first admin of a fresh
//! install) and prints its one-time link. Opens the same storage and master key as `serve`
//! (creating them, with the default organization, on a fresh data directory), so it works
//! before the first start and while the server runs; the invitation is made by the service
//! code, with `cli` as its author.

use std::sync::Arc;

use latchkey_domain::model::organization::{Invitation, Organization};
use latchkey_domain::store::Store;

use crate::config::InviteConfig;
use crate::service::bootstrap::BootstrapError;
use crate::service::invitations;
use crate::state::AppState;
use crate::{Reach, open_state, open_store};

/// Who made an invitation from the command line.
pub const CLI_ACTOR: &str = "cli";

/// Runs `latchkey invite`: prints the link and its expiry on standard output.
pub async fn invite(config: InviteConfig) -> Result<(), BootstrapError> {
    let store = Arc::new(open_store(&config.storage).await?);
    let result = make(&config, store.clone()).await;
    store.close().await;
    let (link, inv, org) = result?;
    println!(
        "Invitation for {} to join {} as {} (valid until {}). Open this link once to create the account:\n{link}",
        inv.email,
        org.name,
        inv.role,
        inv.expires_at.to_rfc3339(),
    );
    Ok(())
}

async fn make(
    config: &InviteConfig,
    store: Arc<dyn Store>,
) -> Result<(String, Invitation, Organization), BootstrapError> {
    let reach = Reach {
        master_key: config.key.master_key.as_deref(),
        data_dir: &config.storage.data_dir,
        public_url: config.public_url.clone(),
        zone_domain: config.zone_domain.as_deref(),
        allow_private_fetch: false,
        device: Default::default(),
    };
    let state = open_state(store, reach, None).await?;
    let org = organization(&state, config.organization.as_deref()).await?;
    let (inv, token) =
        invitations::issue(&state, &org, &config.email, config.role, CLI_ACTOR).await?;
    let link = invitations::link(&state, &org, &token);
    Ok((link, inv, org))
}

/// The organization named by id or label, or the default one.
async fn organization(
    state: &AppState,
    id_or_label: Option<&str>,
) -> Result<Organization, BootstrapError> {
    let found = match id_or_label {
        None => state.store.get_organization(&state.default_org).await?,
        Some(key) => match state
            .store
            .get_organization(&latchkey_domain::id::OrganizationId::new(key))
            .await?
        {
            Some(org) => Some(org),
            None => state.store.find_organization_by_label(key).await?,
        },
    };
    found.ok_or_else(|| {
        BootstrapError::Invalid(format!(
            "organization `{}` not found",
            id_or_label.unwrap_or("default")
        ))
    })
}
