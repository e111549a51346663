//! The web console at `{public_url}/console`: server-rendered pages (maud templates, a small
//! project-written script for copy buttons and confirmations, every page usable without it) for
//! everything an organization admin does. It owns no data access: each page reads and writes
//! through the management API in process ([`api`]) with the signed-in person's token, so the
//! role table, validation and audit log are exactly the API's.
//!
//! Where things are: sign-in and sessions (`sign_in.rs`, `session.rs`), redirects (`nav.rs`), the
//! page shell (`layout.rs`), forms (`forms.rs`), zones and their settings and keys (`zones.rs`), the zone
//! directory lists and forms (`directory.rs` with the per-kind descriptions in `kinds.rs`), an
//! object's page (`detail.rs`) and what some kinds add to it (`extras.rs`: dependencies, discovery
//! test), revoking a session or grant (`revoke.rs`), credentials with their one-time secret (`credentials.rs`), policies and the Cedar editor
//! (`policies.rs`), policy sets (`policy_sets.rs`), decisions and the dry run (`decisions.rs`), the zone overview
//! charts (`overview.rs`), the organization pages (`org.rs` people and invitations, `service_accounts.rs`,
//! `org_settings.rs` SSO and audit log), static assets (`assets.rs`).

pub mod api;
mod assets;
mod credentials;
mod decisions;
mod detail;
mod directory;
mod extras;
mod forms;
mod kinds;
mod layout;
mod nav;
mod org;
mod org_settings;
mod overview;
mod policies;
mod policy_sets;
mod revoke;
mod service_accounts;
pub mod session;
mod sign_in;
mod zones;

use axum::Router;
use axum::response::Redirect;
use axum::routing::{get, post};

use crate::state::AppState;

/// What console handlers share: the server's state (for the session seal and organization
/// look-ups at sign-in) and the in-process API.
#[derive(Clone)]
pub struct ConsoleState {
    pub app: AppState,
    pub api: api::Api,
}

/// The console's routes. `api` is the management API and zone router the pages call.
pub fn router(app: AppState, api: Router) -> Router {
    let state = ConsoleState {
        app,
        api: api::Api::new(api),
    };
    let signed_in = Router::new()
        .route("/console/sign-out", post(sign_in::sign_out))
        .route("/console/switch", post(sign_in::switch))
        .merge(zones::router())
        .merge(overview::router())
        .merge(directory::router())
        .merge(detail::router())
        .merge(extras::router())
        .merge(revoke::router())
        .merge(credentials::router())
        .merge(policies::router())
        .merge(policy_sets::router())
        .merge(decisions::router())
        .merge(org::router())
        .merge(service_accounts::router())
        .merge(org_settings::router())
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            session::require,
        ));
    Router::new()
        .route("/console", get(|| async { Redirect::to("/console/zones") }))
        .route(
            "/console/",
            get(|| async { Redirect::to("/console/zones") }),
        )
        .route("/console/sign-in", get(sign_in::page))
        .route("/console/callback", get(sign_in::callback))
        .merge(assets::router())
        .merge(signed_in)
        .with_state(state)
}
