//! What every organization's platform zone holds so that people can sign in to the management
//! API: the management API itself as a resource (identifier = the server's public URL) and two
//! first-party public clients that depend on it — `latchkey-cli` (loopback redirects on any port,
//! RFC 8252 §7.3; PKCE is mandatory for public clients) and `latchkey-console` (the console's
//! callback). All platform-owned, so the API cannot change them; ensured at every start (the
//! public URL may have changed) and when an organization is created. Platform zones are
//! invitation-only (a person gets an account there only with an invitation) and closed to
//! dynamic client registration: nobody can register a client that asks a signed-in admin for a
//! management API token.

use latchkey_domain::Timestamp;
use latchkey_domain::id::{AppCredentialId, ApplicationId, ResourceId};
use latchkey_domain::model::OwnerType;
use latchkey_domain::model::directory::{
    AppCredential, Application, ApplicationType, Consent, CredentialKind, Resource,
};
use latchkey_domain::model::organization::Organization;
use latchkey_domain::model::zone::Zone;
use latchkey_domain::store::ResourceFilter;
use latchkey_domain::{ListFilter, PageRequest};

use super::new_id;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// The CLI's client id in every platform zone.
pub const CLI_CLIENT_ID: &str = "latchkey-cli";
/// The web console's client id in every platform zone.
pub const CONSOLE_CLIENT_ID: &str = "latchkey-console";
/// Slug of the management API resource in a platform zone.
const RESOURCE_SLUG: &str = "latchkey-management-api";
/// Lifetime of a person's management token (one hour, refreshed by the client).
const TOKEN_LIFETIME_SECONDS: i64 = 3600;

/// One first-party client: its id, name and redirect URIs.
struct FirstParty {
    client_id: &'static str,
    name: &'static str,
    redirect_uris: Vec<String>,
}

fn first_parties(public_url: &str) -> [FirstParty; 2] {
    [
        FirstParty {
            client_id: CLI_CLIENT_ID,
            name: "Latchkey CLI",
            redirect_uris: vec![
                "http://127.0.0.1/callback".into(),
                "http://localhost/callback".into(),
                "http://[::1]/callback".into(),
            ],
        },
        FirstParty {
            client_id: CONSOLE_CLIENT_ID,
            name: "Latchkey console",
            redirect_uris: vec![format!("{public_url}/console/callback")],
        },
    ]
}

/// Ensures the platform zone of every organization (start-up).
pub async fn ensure_all(state: &AppState) -> ApiResult<()> {
    let mut page = PageRequest::first(100);
    loop {
        let orgs = state.store.list_organizations(None, &page).await?;
        for org in &orgs.items {
            ensure(state, org).await?;
        }
        match orgs.end {
            Some(end) if orgs.has_next => page.after = Some(end),
            _ => return Ok(()),
        }
    }
}

/// Ensures `org`'s platform zone: invitation-only, no dynamic client registration, the management
/// API resource, the CLI and console clients.
pub async fn ensure(state: &AppState, org: &Organization) -> ApiResult<()> {
    let Some(mut zone) = state.store.get_zone(&org.zone_id).await? else {
        return Err(ApiError::internal());
    };
    if !zone.requires_invitation || zone.dcr_enabled {
        zone.requires_invitation = true;
        zone.dcr_enabled = false;
        zone.updated_at = Timestamp::now();
        state.store.update_zone(&zone).await?;
    }
    let resource = ensure_resource(state, &zone).await?;
    for client in first_parties(&state.public_url) {
        ensure_client(state, &zone, &resource, client).await?;
    }
    Ok(())
}

async fn ensure_resource(state: &AppState, zone: &Zone) -> ApiResult<Resource> {
    let filter = ResourceFilter {
        list: ListFilter::default().exact("slug", vec![RESOURCE_SLUG.to_owned()]),
        owner_type: Some(OwnerType::Platform),
        ..ResourceFilter::default()
    };
    let found = state
        .store
        .list_resources(&zone.id, &filter, &PageRequest::first(1))
        .await?;
    if let Some(mut r) = found.items.into_iter().next() {
        if *r.identifier != *state.public_url {
            r.identifier = state.public_url.to_string();
            r.updated_at = Timestamp::now();
            state.store.update_resource(&r).await?;
        }
        return Ok(r);
    }
    let now = Timestamp::now();
    let resource = Resource {
        zone_id: zone.id.clone(),
        id: ResourceId::new(new_id()?),
        organization_id: zone.organization_id.clone(),
        identifier: state.public_url.to_string(),
        name: "Latchkey management API".into(),
        slug: RESOURCE_SLUG.into(),
        owner_type: OwnerType::Platform,
        application_id: None,
        application_type: ApplicationType::Native,
        credential_lifetime_seconds: Some(TOKEN_LIFETIME_SECONDS),
        credential_provider_id: None,
        description: Some("Sign in here to manage your organization".into()),
        metadata: None,
        prefix: false,
        scopes: None,
        created_at: now,
        updated_at: now,
    };
    Ok(state.store.create_resource(resource).await?)
}

async fn ensure_client(
    state: &AppState,
    zone: &Zone,
    resource: &Resource,
    client: FirstParty,
) -> ApiResult<()> {
    let existing = state
        .store
        .find_app_credential_by_client_id(&zone.id, client.client_id)
        .await?;
    if let Some(cred) = existing {
        return keep_redirects(state, zone, &cred.application_id, client.redirect_uris).await;
    }
    // A crash between the two writes below leaves the application without its credential:
    // resume from it instead of creating a second one (its identifier is unique in the zone).
    let app = match find_platform_app(state, zone, client.client_id).await? {
        Some(app) => app,
        None => create_client_app(state, zone, resource, &client).await?,
    };
    let now = Timestamp::now();
    let cred = AppCredential {
        zone_id: zone.id.clone(),
        id: AppCredentialId::new(new_id()?),
        organization_id: zone.organization_id.clone(),
        application_id: app.id,
        kind: CredentialKind::Public,
        identifier: client.client_id.to_owned(),
        slug: client.client_id.to_owned(),
        subject: None,
        provider_id: None,
        jwks_uri: None,
        secret_hash: None,
        created_at: now,
        updated_at: now,
    };
    state.store.create_app_credential(cred).await?;
    Ok(())
}

/// The platform-owned application whose identifier is `identifier`, if one exists.
async fn find_platform_app(
    state: &AppState,
    zone: &Zone,
    identifier: &str,
) -> ApiResult<Option<Application>> {
    let filter = ListFilter::default().exact("identifier", vec![identifier.to_owned()]);
    let found = state
        .store
        .list_applications(&zone.id, &filter, &PageRequest::first(1))
        .await?;
    Ok(found
        .items
        .into_iter()
        .find(|a| a.owner_type == OwnerType::Platform && a.identifier == identifier))
}

async fn create_client_app(
    state: &AppState,
    zone: &Zone,
    resource: &Resource,
    client: &FirstParty,
) -> ApiResult<Application> {
    let now = Timestamp::now();
    let app = Application {
        zone_id: zone.id.clone(),
        id: ApplicationId::new(new_id()?),
        organization_id: zone.organization_id.clone(),
        identifier: client.client_id.to_owned(),
        name: client.name.to_owned(),
        slug: client.client_id.to_owned(),
        owner_type: OwnerType::Platform,
        consent: Consent::Implicit,
        description: None,
        metadata: None,
        redirect_uris: Some(client.redirect_uris.clone()),
        post_logout_redirect_uris: None,
        traits: Vec::new(),
        dependencies_count: 0,
        created_at: now,
        updated_at: now,
    };
    Ok(state
        .store
        .create_application(app, std::slice::from_ref(&resource.id))
        .await?)
}

/// Keeps a first-party client's redirect URIs in step with the public URL.
async fn keep_redirects(
    state: &AppState,
    zone: &Zone,
    app: &ApplicationId,
    redirect_uris: Vec<String>,
) -> ApiResult<()> {
    let Some(mut app) = state.store.get_application(&zone.id, app).await? else {
        return Ok(());
    };
    if app.redirect_uris.as_ref() != Some(&redirect_uris) {
        app.redirect_uris = Some(redirect_uris);
        app.updated_at = Timestamp::now();
        state.store.update_application(&app).await?;
    }
    Ok(())
}
