//! Maps sqlx errors to domain store errors: unique violations become `Conflict`, foreign-key
//! violations `NotFound`, everything else `Backend` (logged by the server, never shown).

use latchkey_domain::StoreError;

pub(crate) fn map(e: sqlx::Error) -> StoreError {
    if let sqlx::Error::Database(db) = &e {
        if db.is_unique_violation() {
            return StoreError::Conflict(
                "an object with the same unique value already exists".into(),
            );
        }
        if db.is_foreign_key_violation() {
            return StoreError::NotFound("referenced object".into());
        }
    }
    StoreError::Backend(e.to_string())
}

/// Shorthand for mapping a sqlx result.
pub(crate) trait OrStore<T> {
    fn store(self) -> Result<T, StoreError>;
}

impl<T> OrStore<T> for Result<T, sqlx::Error> {
    fn store(self) -> Result<T, StoreError> {
        self.map_err(map)
    }
}
