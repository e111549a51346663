//! The key ring: each zone's parsed signing keys, cached in memory so that signing never
//! re-parses a key, plus the pre-serialized JWKS document. Rotation is staged (next → current →
//! previous) so verifiers see a key before it signs; retired keys stay published for the longest
//! token lifetime plus five minutes. A rotation is announced to every instance (`changes`); a
//! lost notice is made up for by the poll of the database's changes (`change_poll`).

use std::sync::Arc;
use std::time::Duration;

use latchkey_crypto::jws::{Alg, SigningKey, VerifyingKey};
use latchkey_crypto::{CryptoError, Sealer};
use latchkey_domain::Timestamp;
use latchkey_domain::id::ZoneId;
use latchkey_domain::model::keys::{KeyStatus, StoredKey};
use latchkey_domain::store::Store;

use latchkey_domain::StoreError;

use crate::changes::Changes;
use crate::key_pool::KeyPool;
use crate::scoped_cache::{Lookup, ScopedCache};

/// Why the key ring failed.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("signing key failure: {0}")]
    Crypto(#[from] CryptoError),
    #[error("the zone's keys are unusable: {0}")]
    Broken(&'static str),
}

pub type KeyResult<T> = Result<T, KeyError>;

/// Longest access-token lifetime (24 h) plus five minutes: how long a retired key stays published.
pub const RETIRED_KEY_GRACE_SECONDS: i64 = 24 * 3600 + 300;
const CACHE_TTL: Duration = crate::change_poll::CACHE_TTL;

/// One zone's keys, ready to use.
pub struct ZoneKeys {
    pub signer: Arc<SigningKey>,
    verifiers: Vec<VerifyingKey>,
    /// `{"keys": [...]}`, serialized once.
    pub jwks: Arc<str>,
    pub etag: String,
}

impl ZoneKeys {
    /// The published key with `kid`.
    pub fn verifier(&self, kid: Option<&str>) -> Option<&VerifyingKey> {
        match kid {
            Some(kid) => self
                .verifiers
                .iter()
                .find(|v| v.kid.as_deref() == Some(kid)),
            None => None,
        }
    }
}

#[derive(Clone)]
pub struct KeyRing {
    store: Arc<dyn Store>,
    sealer: Sealer,
    cache: ScopedCache<(), Arc<ZoneKeys>>,
    changes: Arc<Changes>,
    spares: KeyPool,
}

fn context(zone: &ZoneId, kid: &str) -> String {
    format!("{zone}/signing_key/{kid}")
}

fn crypto(e: CryptoError) -> KeyError {
    tracing::error!(cause = %e, "signing key failure");
    KeyError::Crypto(e)
}

impl KeyRing {
    /// The key ring; a change to a zone's keys is announced through `changes`.
    pub fn new(store: Arc<dyn Store>, sealer: Sealer, changes: Arc<Changes>) -> Self {
        Self {
            store,
            sealer,
            cache: ScopedCache::new("signing_keys", changes.epochs(), 100_000, CACHE_TTL),
            changes,
            spares: KeyPool::default(),
        }
    }

    /// Generates a sealed key for `zone`: an RSA key from the pool of spares when one is ready,
    /// else made here (off the async runtime: RSA generation is slow).
    async fn generate(&self, zone: &ZoneId, alg: Alg, status: KeyStatus) -> KeyResult<StoredKey> {
        let kid = latchkey_crypto::random::id()?;
        let kid_for_key = kid.clone();
        let spare = match alg {
            Alg::Rs256 => self.spares.take_rsa(),
            _ => None,
        };
        let (key, der) = match spare {
            Some(der) => (
                SigningKey::from_pkcs8(alg, kid.clone(), &der).map_err(crypto)?,
                der,
            ),
            None => tokio::task::spawn_blocking(move || SigningKey::generate(alg, kid_for_key))
                .await
                .map_err(|_| KeyError::Broken("key generation did not finish"))?
                .map_err(crypto)?,
        };
        let now = Timestamp::now();
        Ok(StoredKey {
            zone_id: zone.clone(),
            private_key: self.sealer.seal(&context(zone, &kid), &der)?,
            kid,
            alg: alg.as_str().to_owned(),
            status,
            public_jwk: key.public_jwk(),
            created_at: now,
            activated_at: (status == KeyStatus::Current).then_some(now),
            retire_at: None,
        })
    }

    /// A new zone's first current and next keys, sealed, for the store to insert with the zone.
    pub async fn first_keys(&self, zone: &ZoneId, alg: &str) -> KeyResult<[StoredKey; 2]> {
        let alg = Alg::parse(alg).unwrap_or(Alg::Rs256);
        let current = self.generate(zone, alg, KeyStatus::Current).await?;
        let next = self.generate(zone, alg, KeyStatus::Next).await?;
        Ok([current, next])
    }

    /// Creates a zone's first current and next keys if it has none.
    pub async fn ensure(&self, zone: &ZoneId, alg: &str) -> KeyResult<()> {
        let [current, next] = self.first_keys(zone, alg).await?;
        self.store.init_keys(zone, &current, &next).await?;
        self.changes.zone_changed(zone);
        Ok(())
    }

    /// The zone's keys, from cache or loaded (and created if missing).
    pub async fn get(&self, zone: &ZoneId, alg: &str) -> KeyResult<Arc<ZoneKeys>> {
        let key = (zone.clone(), ());
        let mut ticket = match self.cache.get(&key) {
            Lookup::Hit(k) => return Ok(k),
            Lookup::Miss(ticket) => ticket,
        };
        let mut stored = self.store.list_keys(zone, Timestamp::now()).await?;
        if !stored.iter().any(|k| k.status == KeyStatus::Current) {
            self.ensure(zone, alg).await?;
            ticket = self.changes.epochs().ticket();
            stored = self.store.list_keys(zone, Timestamp::now()).await?;
        }
        let keys = Arc::new(self.build(zone, &stored)?);
        self.cache.insert(key, keys.clone(), ticket);
        Ok(keys)
    }

    fn build(&self, zone: &ZoneId, stored: &[StoredKey]) -> KeyResult<ZoneKeys> {
        let current = stored
            .iter()
            .find(|k| k.status == KeyStatus::Current)
            .ok_or(KeyError::Broken("no current key"))?;
        let alg = Alg::parse(&current.alg).ok_or(KeyError::Broken("unknown algorithm"))?;
        let der = self
            .sealer
            .open(&context(zone, &current.kid), &current.private_key)?;
        let signer =
            Arc::new(SigningKey::from_pkcs8(alg, current.kid.clone(), &der).map_err(crypto)?);
        let verifiers = stored
            .iter()
            .filter_map(|k| VerifyingKey::from_jwk(&k.public_jwk).ok())
            .collect();
        let jwks_value =
            serde_json::json!({"keys": stored.iter().map(|k| &k.public_jwk).collect::<Vec<_>>()});
        let jwks: Arc<str> = jwks_value.to_string().into();
        let etag = etag_of(jwks.as_bytes());
        Ok(ZoneKeys {
            signer,
            verifiers,
            jwks,
            etag,
        })
    }

    /// Rotates the zone's keys now; `alg` is used for the new next key.
    pub async fn rotate(&self, zone: &ZoneId, alg: &str) -> KeyResult<()> {
        self.get(zone, alg).await?;
        let next = self
            .generate(zone, Alg::parse(alg).unwrap_or(Alg::Rs256), KeyStatus::Next)
            .await?;
        let now = Timestamp::now();
        self.store
            .rotate_keys(
                zone,
                &next,
                now.plus_seconds(RETIRED_KEY_GRACE_SECONDS),
                now,
            )
            .await?;
        self.changes.zone_changed(zone);
        Ok(())
    }

    /// Replaces the next key with one of `alg` (after the zone's algorithm changed).
    pub async fn restage(&self, zone: &ZoneId, alg: &str) -> KeyResult<()> {
        let next = self
            .generate(zone, Alg::parse(alg).unwrap_or(Alg::Rs256), KeyStatus::Next)
            .await?;
        self.store.replace_next_key(zone, &next).await?;
        self.changes.zone_changed(zone);
        Ok(())
    }

    /// Rotates every zone whose current key is older than `period`; returns how many.
    pub async fn rotate_due(&self, period_seconds: i64) -> KeyResult<Vec<ZoneId>> {
        let due = self
            .store
            .zones_due_for_rotation(Timestamp::now().plus_seconds(-period_seconds))
            .await?;
        for zone in &due {
            let alg = match self.store.get_zone(zone).await? {
                Some(z) => z.signing_alg,
                None => continue,
            };
            self.rotate(zone, &alg).await?;
            tracing::info!(zone = %zone, "rotated signing keys");
        }
        Ok(due)
    }
}

/// A strong ETag for a pre-serialized document.
pub fn etag_of(body: &[u8]) -> String {
    use latchkey_crypto::keyed_hash::{hex, sha256};
    format!("\"{}\"", hex(&sha256(body)[..12]))
}
