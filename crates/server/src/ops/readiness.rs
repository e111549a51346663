//! Readiness (`GET /readyz`): the database answers (a schema-version query, bounded in time),
//! its schema is the one this build knows (no pending and no unknown migration), and the signing
//! keys load (the default organization's platform zone can produce its JWKS). Failures are named
//! without internal detail (the cause goes to the log): the endpoint is unauthenticated.

use std::time::Duration;

use serde::Serialize;

use crate::state::AppState;

/// How long each check may take.
const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

const OK: &str = "ok";

/// The outcome of every check: `"ok"` or what is wrong.
#[derive(Debug, Serialize)]
pub struct Checks {
    pub database: String,
    pub migrations: String,
    pub keys: String,
}

impl Checks {
    pub fn ready(&self) -> bool {
        [&self.database, &self.migrations, &self.keys]
            .iter()
            .all(|c| c.as_str() == OK)
    }
}

/// Runs the checks.
pub async fn check(state: &AppState) -> Checks {
    let (database, migrations) =
        match tokio::time::timeout(CHECK_TIMEOUT, state.store.schema_version()).await {
            Ok(Ok(v)) if v.is_current() => (OK.to_owned(), OK.to_owned()),
            Ok(Ok(v)) if v.applied > v.known => (
                OK.to_owned(),
                format!(
                    "the database schema ({}) is newer than this build knows ({})",
                    v.applied, v.known
                ),
            ),
            Ok(Ok(v)) => (
                OK.to_owned(),
                format!(
                    "{} migration(s) pending (database at {}, this build at {})",
                    v.known - v.applied,
                    v.applied,
                    v.known
                ),
            ),
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "readiness: the database did not answer");
                ("unreachable".to_owned(), "unknown".to_owned())
            }
            Err(_) => ("timed out".to_owned(), "unknown".to_owned()),
        };
    let keys = match tokio::time::timeout(CHECK_TIMEOUT, keys(state)).await {
        Ok(Ok(())) => OK.to_owned(),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readiness: the signing keys did not load");
            "unavailable".to_owned()
        }
        Err(_) => "timed out".to_owned(),
    };
    Checks {
        database,
        migrations,
        keys,
    }
}

/// Loads the JWKS of the default organization's platform zone.
async fn keys(state: &AppState) -> Result<(), String> {
    let org = state
        .store
        .get_organization(&state.default_org)
        .await
        .map_err(|e| e.to_string())?
        .ok_or("the default organization is missing")?;
    let entry = state
        .zone(org.zone_id.as_str())
        .await
        .map_err(|e| e.message)?;
    let keys = state
        .keys
        .get(&entry.zone.id, &entry.zone.signing_alg)
        .await
        .map_err(|e| e.to_string())?;
    if keys.jwks.is_empty() {
        return Err("empty JWKS".into());
    }
    Ok(())
}
