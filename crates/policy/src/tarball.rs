//! The bundle's tar+gzip codec, byte-compatible with Keycard's Go SDK (`policy/tarball.go`).
//! Encoding is deterministic: USTAR headers, regular files, mode 0644, uid/gid 0, mtime 0, order
//! `manifest.json`, `schema.cedarschema`, then `policies/<key>.cedar` sorted, the manifest as
//! two-space indented JSON. Decoding accepts regular files only: `manifest.json` (required),
//! `schema.cedarschema` (optional) and `policies/<key>.cedar`; anything else (directories,
//! nested paths, other names), a duplicate, or more than 64 MiB once decompressed is
//! `bundle_invalid`. The manifest decides membership: an entry without its file is invalid, a file
//! without an entry is dropped, and every digest is recomputed from the bytes.

use std::cell::Cell;
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::rc::Rc;

use flate2::Compression;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use serde::Serialize;

use crate::bundle::{Bundle, BundleError, BundleManifest, invalid};

/// The cap on the decompressed archive.
pub const MAX_DECOMPRESSED: u64 = 64 << 20;

const MANIFEST: &str = "manifest.json";
const SCHEMA: &str = "schema.cedarschema";
const POLICIES: &str = "policies/";
const SUFFIX: &str = ".cedar";

/// The uncompressed tar stream (what the Go SDK's golden file pins).
pub fn encode_tar(bundle: &Bundle) -> Result<Vec<u8>, BundleError> {
    if bundle.manifest.schema.version.is_empty() {
        return Err(invalid("the manifest has no schema version"));
    }
    let manifest = bundle.canonical_manifest()?;
    let mut json = Vec::new();
    let formatter = serde_json::ser::PrettyFormatter::with_indent(b"  ");
    manifest
        .serialize(&mut serde_json::Serializer::with_formatter(
            &mut json, formatter,
        ))
        .map_err(|e| invalid(format!("cannot write the manifest: {e}")))?;
    let mut out = Vec::new();
    append(&mut out, MANIFEST, &json)?;
    append(&mut out, SCHEMA, &bundle.schema)?;
    for p in &manifest.policies {
        let key = p.key()?;
        let content = bundle.policies.get(key).map_or(&[][..], Vec::as_slice);
        append(&mut out, &format!("{POLICIES}{key}{SUFFIX}"), content)?;
    }
    out.extend_from_slice(&[0; 1024]);
    Ok(out)
}

/// The archive as served (`application/vnd.keycard.policy-bundle.v1+tar+gzip`).
pub fn encode(bundle: &Bundle) -> Result<Vec<u8>, BundleError> {
    let tar = encode_tar(bundle)?;
    let mut gz = GzEncoder::new(Vec::new(), Compression::default());
    gz.write_all(&tar)
        .and_then(|()| gz.finish())
        .map_err(|e| invalid(format!("cannot compress the bundle: {e}")))
}

/// One USTAR entry, header fields formatted as Go's `archive/tar` writes them.
fn append(out: &mut Vec<u8>, name: &str, content: &[u8]) -> Result<(), BundleError> {
    let mut header = tar::Header::new_ustar();
    header
        .set_path(name)
        .map_err(|e| invalid(format!("bad entry name `{name}`: {e}")))?;
    header.set_size(content.len() as u64);
    header.set_mode(0o644);
    header.set_uid(0);
    header.set_gid(0);
    header.set_mtime(0);
    header.set_entry_type(tar::EntryType::Regular);
    let _ = header.set_device_major(0);
    let _ = header.set_device_minor(0);
    // Go writes the checksum as six octal digits, NUL, space.
    let old = header.as_old_mut();
    old.cksum = [b' '; 8];
    let sum: u32 = header.as_bytes().iter().map(|b| u32::from(*b)).sum();
    let field = format!("{sum:06o}\0 ");
    header.as_old_mut().cksum.copy_from_slice(field.as_bytes());
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(content);
    let padding = (512 - content.len() % 512) % 512;
    out.extend(std::iter::repeat_n(0u8, padding));
    Ok(())
}

/// What was found in the archive, before the manifest is applied.
#[derive(Default)]
struct Members {
    manifest: Option<BundleManifest>,
    schema: Option<Vec<u8>>,
    policies: BTreeMap<String, Vec<u8>>,
}

/// The decompressed stream, failing once more than the cap has been read.
struct Capped<R> {
    inner: R,
    left: u64,
    hit: Rc<Cell<bool>>,
}

impl<R: Read> Read for Capped<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.left == 0 {
            self.hit.set(true);
            return Err(std::io::Error::other("decompressed size over the cap"));
        }
        let room = usize::try_from(self.left)
            .unwrap_or(usize::MAX)
            .min(buf.len());
        let n = self.inner.read(&mut buf[..room])?;
        self.left -= n as u64;
        Ok(n)
    }
}

/// Reads an archive (PUT body).
pub fn decode(bytes: &[u8]) -> Result<Bundle, BundleError> {
    let hit = Rc::new(Cell::new(false));
    let capped = Capped {
        inner: GzDecoder::new(bytes),
        left: MAX_DECOMPRESSED + 1,
        hit: hit.clone(),
    };
    let failed = |e: std::io::Error| {
        if hit.get() {
            too_large()
        } else {
            invalid(format!("malformed archive: {e}"))
        }
    };
    let mut archive = tar::Archive::new(capped);
    let mut members = Members::default();
    for entry in archive.entries().map_err(failed)? {
        let mut entry = entry.map_err(failed)?;
        let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        if entry.header().entry_type() != tar::EntryType::Regular {
            return Err(invalid(format!("unexpected entry `{name}`")));
        }
        let mut content = Vec::new();
        entry.read_to_end(&mut content).map_err(failed)?;
        members.add(name, content)?;
    }
    members.into_bundle()
}

impl Members {
    fn add(&mut self, name: String, content: Vec<u8>) -> Result<(), BundleError> {
        let duplicate = || invalid(format!("duplicate entry `{name}`"));
        if name == MANIFEST {
            let manifest: BundleManifest = serde_json::from_slice(&content)
                .map_err(|e| invalid(format!("invalid manifest.json: {e}")))?;
            if self.manifest.replace(manifest).is_some() {
                return Err(duplicate());
            }
        } else if name == SCHEMA {
            if self.schema.replace(content).is_some() {
                return Err(duplicate());
            }
        } else if let Some(rest) = name.strip_prefix(POLICIES) {
            let key = rest.strip_suffix(SUFFIX).unwrap_or_default();
            if key.is_empty() || key.contains('/') || !rest.ends_with(SUFFIX) {
                return Err(invalid(format!("unexpected entry `{name}`")));
            }
            if self.policies.insert(key.to_owned(), content).is_some() {
                return Err(duplicate());
            }
        } else {
            return Err(invalid(format!("unexpected entry `{name}`")));
        }
        Ok(())
    }

    fn into_bundle(mut self) -> Result<Bundle, BundleError> {
        let manifest = self
            .manifest
            .ok_or_else(|| invalid("the bundle has no manifest.json"))?;
        if manifest.schema.version.is_empty() {
            return Err(invalid("the manifest has no schema version"));
        }
        let mut policies = BTreeMap::new();
        for p in &manifest.policies {
            let key = p.key()?;
            if policies.contains_key(key) {
                return Err(invalid(format!("policy `{key}` is listed twice")));
            }
            let content = self.policies.remove(key).ok_or_else(|| {
                invalid(format!(
                    "policy `{key}` has no policies/{key}{SUFFIX} entry"
                ))
            })?;
            policies.insert(key.to_owned(), content);
        }
        let mut bundle = Bundle {
            manifest,
            schema: self.schema.unwrap_or_default(),
            policies,
        };
        bundle.manifest = bundle.canonical_manifest()?;
        Ok(bundle)
    }
}

fn too_large() -> BundleError {
    BundleError {
        too_large: true,
        ..invalid(format!(
            "the bundle is larger than {} MiB once decompressed",
            MAX_DECOMPRESSED >> 20
        ))
    }
}
