//! Latchkey's cryptography: random ids and secrets, keyed hashes for client secrets and tokens,
//! and the master key from which every server key is derived.
//! It must not depend on any other Latchkey crate, axum or sqlx (CI checks the last two).

mod der;
pub mod envelope;
pub mod jws;
pub mod keyed_hash;
pub mod master_key;
pub mod random;

pub use envelope::Sealer;
pub use keyed_hash::SecretHasher;
pub use master_key::MasterKey;

use thiserror::Error;

#[derive(Debug, Error)]
pub enum CryptoError {
    #[error("the system random generator failed")]
    Random,
    #[error("sealing failed")]
    Seal,
    #[error("sealed value could not be opened (wrong key, context or data)")]
    Open,
    #[error("invalid or unusable key")]
    Key,
    #[error("invalid master key: {0}")]
    InvalidMasterKey(String),
}
