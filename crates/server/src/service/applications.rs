//! Applications and their dependencies (spec §3.5–3.6, rules B8–B10, B14–B17).

use latchkey_domain::id::{ApplicationId, ResourceId};
use latchkey_domain::model::OwnerType;
use latchkey_domain::model::access::Principal;
use latchkey_domain::model::directory::{Application, Dependency, Resource};
use latchkey_domain::model::zone::Zone;
use latchkey_domain::store::ResourceFilter;
use latchkey_domain::{ListFilter, Page, PageRequest, Patch, Timestamp, text};

use super::validate;
use super::{access, new_id, opt_description, required};
use crate::api::directory::{AppOAuth2Patch, AppProtocols, CreateApplication, UpdateApplication};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

pub const TRAITS: &[&str] = &["gateway", "mcp-provider", "unified-gateway", "mcp-server"];
const MAX_DEPENDENCIES: usize = 100;

pub async fn list(
    state: &AppState,
    who: &Principal,
    zone: &str,
    filter: &ListFilter,
    page: &PageRequest,
) -> ApiResult<Page<Application>> {
    let zone = access::zone(state, who, zone).await?;
    Ok(state
        .store
        .list_applications(&zone.id, filter, page)
        .await?)
}

/// Loads an application of an accessible zone.
pub async fn get(
    state: &AppState,
    who: &Principal,
    zone: &str,
    id: &str,
) -> ApiResult<Application> {
    let zone = access::zone(state, who, zone).await?;
    state
        .store
        .get_application(&zone.id, &ApplicationId::new(id))
        .await?
        .ok_or_else(|| ApiError::not_found(format!("application `{id}` in zone `{}`", zone.id)))
}

async fn get_mut(
    state: &AppState,
    who: &Principal,
    zone: &str,
    id: &str,
) -> ApiResult<Application> {
    let app = get(state, who, zone, id).await?;
    if app.owner_type == OwnerType::Platform {
        return Err(ApiError::platform_owned(&format!("application `{id}`")));
    }
    Ok(app)
}

pub async fn create(
    state: &AppState,
    who: &Principal,
    zone: &str,
    body: CreateApplication,
) -> ApiResult<Application> {
    let zone = access::zone(state, who, zone).await?;
    let (app, dep_ids) = prepare(state, &zone, body).await?;
    let identifier = app.identifier.clone();
    state
        .store
        .create_application(app, &dep_ids)
        .await
        .map_err(|e| {
            super::taken(e, || {
                format!("an application with identifier `{identifier}` already exists in this zone")
            })
        })
}

/// Validates a create body into the application to insert in `zone` and its dependencies (which
/// must exist in the zone); stores nothing.
pub(crate) async fn prepare(
    state: &AppState,
    zone: &Zone,
    body: CreateApplication,
) -> ApiResult<(Application, Vec<ResourceId>)> {
    let deps = body.dependencies.unwrap_or_default();
    if deps.len() > MAX_DEPENDENCIES {
        return Err(ApiError::invalid_field(
            "dependencies",
            format!("at most {MAX_DEPENDENCIES} entries"),
        ));
    }
    let mut dep_ids = Vec::with_capacity(deps.len());
    for (i, d) in deps.into_iter().enumerate() {
        if d.kind.as_deref().is_some_and(|k| k != "resource") {
            return Err(ApiError::invalid_field(
                &format!("dependencies[{i}].type"),
                "must be `resource`",
            ));
        }
        let id = ResourceId::new(d.id);
        super::resources::must_exist(state, &zone.id, &id, &format!("dependencies[{i}].id"))
            .await?;
        if !dep_ids.contains(&id) {
            dep_ids.push(id);
        }
    }
    let (redirect_uris, post_logout_redirect_uris) = protocols(body.protocols)?;
    let identifier = validate::identifier("identifier", body.identifier)?;
    let now = Timestamp::now();
    let app = Application {
        zone_id: zone.id.clone(),
        id: ApplicationId::new(new_id()?),
        organization_id: zone.organization_id.clone(),
        slug: text::slugify(&identifier, "app"),
        identifier,
        name: text::name("name", body.name)?,
        owner_type: OwnerType::Customer,
        consent: body.consent.unwrap_or_default(),
        description: opt_description("description", body.description)?,
        metadata: body
            .metadata
            .map(|m| validate::metadata("metadata", m))
            .transpose()?
            .flatten(),
        redirect_uris,
        post_logout_redirect_uris,
        traits: traits(body.traits.unwrap_or_default())?,
        dependencies_count: 0,
        created_at: now,
        updated_at: now,
    };
    Ok((app, dep_ids))
}

/// `(redirect_uris, post_logout_redirect_uris)`.
type Uris = (Option<Vec<String>>, Option<Vec<String>>);

fn protocols(p: Option<AppProtocols>) -> ApiResult<Uris> {
    let oauth2 = p.and_then(|p| p.oauth2).unwrap_or_default();
    let field = "protocols.oauth2";
    Ok((
        oauth2
            .redirect_uris
            .map(|u| validate::redirect_uris(&format!("{field}.redirect_uris"), u))
            .transpose()?
            .flatten(),
        oauth2
            .post_logout_redirect_uris
            .map(|u| validate::redirect_uris(&format!("{field}.post_logout_redirect_uris"), u))
            .transpose()?
            .flatten(),
    ))
}

fn traits(values: Vec<String>) -> ApiResult<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    for (i, t) in values.into_iter().enumerate() {
        if !TRAITS.contains(&t.as_str()) {
            return Err(ApiError::invalid_field(
                &format!("traits[{i}]"),
                format!("unknown trait; allowed: {}", TRAITS.join(", ")),
            ));
        }
        if !out.contains(&t) {
            out.push(t);
        }
    }
    Ok(out)
}

fn patch_uris(
    field: &str,
    current: Option<Vec<String>>,
    patch: Patch<Vec<String>>,
) -> ApiResult<Option<Vec<String>>> {
    Ok(match patch {
        Patch::Absent => current,
        Patch::Null => None,
        Patch::Value(v) => validate::redirect_uris(field, v)?,
    })
}

pub async fn update(
    state: &AppState,
    who: &Principal,
    zone: &str,
    id: &str,
    body: UpdateApplication,
) -> ApiResult<Application> {
    let mut app = get_mut(state, who, zone, id).await?;
    if let Some(n) = required("name", body.name)? {
        app.name = text::name("name", n)?;
    }
    if let Some(i) = required("identifier", body.identifier)? {
        app.identifier = validate::identifier("identifier", i)?;
    }
    if let Some(c) = required("consent", body.consent)? {
        app.consent = c;
    }
    app.description = body
        .description
        .try_map(|d| text::description("description", d, text::DESCRIPTION_MAX))?
        .apply(app.description);
    app.metadata = validate::patch_metadata(app.metadata, body.metadata)?;
    if let Some(t) = required("traits", body.traits)? {
        app.traits = traits(t)?;
    }
    let oauth2 = match body.protocols {
        Patch::Absent => None,
        Patch::Null => Some(AppOAuth2Patch {
            redirect_uris: Patch::Null,
            post_logout_redirect_uris: Patch::Null,
        }),
        Patch::Value(p) => match p.oauth2 {
            Patch::Absent => None,
            Patch::Null => Some(AppOAuth2Patch {
                redirect_uris: Patch::Null,
                post_logout_redirect_uris: Patch::Null,
            }),
            Patch::Value(o) => Some(o),
        },
    };
    if let Some(o) = oauth2 {
        app.redirect_uris = patch_uris(
            "protocols.oauth2.redirect_uris",
            app.redirect_uris,
            o.redirect_uris,
        )?;
        app.post_logout_redirect_uris = patch_uris(
            "protocols.oauth2.post_logout_redirect_uris",
            app.post_logout_redirect_uris,
            o.post_logout_redirect_uris,
        )?;
    }
    app.updated_at = Timestamp::now();
    state.store.update_application(&app).await.map_err(|e| {
        super::taken(e, || {
            format!(
                "an application with identifier `{}` already exists in this zone",
                app.identifier
            )
        })
    })?;
    get(state, who, zone, id).await
}

pub async fn delete(state: &AppState, who: &Principal, zone: &str, id: &str) -> ApiResult<()> {
    let app = get_mut(state, who, zone, id).await?;
    state
        .store
        .delete_application(&app.zone_id, &app.id)
        .await?;
    Ok(())
}

/// Resources the application provides (rule B10).
pub async fn provided_resources(
    state: &AppState,
    who: &Principal,
    zone: &str,
    id: &str,
    page: &PageRequest,
) -> ApiResult<Page<Resource>> {
    let app = get(state, who, zone, id).await?;
    let filter = ResourceFilter {
        application_id: Some(app.id),
        ..ResourceFilter::default()
    };
    Ok(state
        .store
        .list_resources(&app.zone_id, &filter, page)
        .await?)
}

pub async fn list_dependencies(
    state: &AppState,
    who: &Principal,
    zone: &str,
    id: &str,
    when_accessing: Option<&str>,
    page: &PageRequest,
) -> ApiResult<Page<Dependency>> {
    let app = get(state, who, zone, id).await?;
    let when = when_accessing.map(ResourceId::new);
    Ok(state
        .store
        .list_dependencies(&app.zone_id, &app.id, when.as_ref(), page)
        .await?)
}

pub async fn get_dependency(
    state: &AppState,
    who: &Principal,
    zone: &str,
    id: &str,
    resource: &str,
) -> ApiResult<Dependency> {
    let app = get(state, who, zone, id).await?;
    state
        .store
        .get_dependency(&app.zone_id, &app.id, &ResourceId::new(resource))
        .await?
        .ok_or_else(|| {
            ApiError::not_found(format!("dependency `{resource}` of application `{id}`"))
        })
}

/// Adds (or replaces) a dependency; `when_accessing` ids must be resources of the zone.
pub async fn put_dependency(
    state: &AppState,
    who: &Principal,
    zone: &str,
    id: &str,
    resource: &str,
    when: Vec<String>,
) -> ApiResult<()> {
    let app = get_mut(state, who, zone, id).await?;
    let resource = ResourceId::new(resource);
    super::resources::must_exist(state, &app.zone_id, &resource, "dependency_id").await?;
    if when.len() > MAX_DEPENDENCIES {
        return Err(ApiError::invalid_query(
            "when_accessing",
            format!("at most {MAX_DEPENDENCIES} values"),
        ));
    }
    let mut ids: Vec<ResourceId> = Vec::new();
    for w in when {
        let w = ResourceId::new(w);
        super::resources::must_exist(state, &app.zone_id, &w, "when_accessing").await?;
        if !ids.contains(&w) {
            ids.push(w);
        }
    }
    state
        .store
        .put_dependency(&app.zone_id, &app.id, &resource, &ids)
        .await?;
    Ok(())
}

pub async fn delete_dependency(
    state: &AppState,
    who: &Principal,
    zone: &str,
    id: &str,
    resource: &str,
) -> ApiResult<()> {
    let app = get_mut(state, who, zone, id).await?;
    if !state
        .store
        .delete_dependency(&app.zone_id, &app.id, &ResourceId::new(resource))
        .await?
    {
        return Err(ApiError::not_found(format!(
            "dependency `{resource}` of application `{id}`"
        )));
    }
    Ok(())
}
