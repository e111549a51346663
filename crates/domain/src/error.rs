//! Domain errors: what a store call or a validation can fail with, independent of transport.

use thiserror::Error;

/// A value from outside failed validation. `field` names the offending input (dotted path).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{field}: {message}")]
pub struct ValidationError {
    pub field: String,
    pub message: String,
}

impl ValidationError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// What a store method can fail with. Unique and foreign-key violations arrive as `Conflict` and
/// `NotFound`, never as `Backend`.
#[derive(Debug, Error)]
pub enum StoreError {
    /// The addressed row (or a row it references) does not exist.
    #[error("{0} not found")]
    NotFound(String),
    /// A uniqueness rule or a reference from another row forbids the change.
    #[error("{0}")]
    Conflict(String),
    /// A conditional write whose condition no longer held: the row changed since it was read.
    #[error("{0} has changed since it was read")]
    Stale(String),
    /// A paging cursor that does not fit the list it was sent to (edited or from another sort).
    #[error("the cursor does not match this list")]
    BadCursor,
    /// The database failed; the message is for the log, never for a client.
    #[error("database error: {0}")]
    Backend(String),
}

pub type StoreResult<T> = Result<T, StoreError>;
