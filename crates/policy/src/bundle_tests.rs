use std::io::Write;

use flate2::Compression;
use flate2::write::GzEncoder;

use super::*;
use crate::tarball::{MAX_DECOMPRESSED, decode, encode, encode_tar};

const EXAMPLE: &str = "testdata/fc4d480186e8dd3add271fc66e6225d14a8879ea4aaceea5021c1f7e460ad29b";
const EXAMPLE_DIGEST: &str =
    "sha256:fc4d480186e8dd3add271fc66e6225d14a8879ea4aaceea5021c1f7e460ad29b";

fn read(path: &str) -> Vec<u8> {
    std::fs::read(format!("{}/{path}", env!("CARGO_MANIFEST_DIR"))).expect(path)
}

/// The §5 example: the Go SDK's sample bundle.
fn example() -> Bundle {
    let manifest: BundleManifest =
        serde_json::from_slice(&read(&format!("{EXAMPLE}/manifest.json"))).expect("manifest");
    Bundle {
        manifest,
        schema: read(&format!("{EXAMPLE}/schema.cedarschema")),
        policies: BTreeMap::from([
            (
                "pol_a".to_owned(),
                read(&format!("{EXAMPLE}/policies/pol_a.cedar")),
            ),
            (
                "pol_b".to_owned(),
                read(&format!("{EXAMPLE}/policies/pol_b.cedar")),
            ),
        ]),
    }
}

fn gzip(tar: &[u8]) -> Vec<u8> {
    let mut gz = GzEncoder::new(Vec::new(), Compression::fast());
    gz.write_all(tar).expect("write");
    gz.finish().expect("gzip")
}

/// One tar entry named exactly `name` (no path normalisation).
fn raw_entry(tar: &mut Vec<u8>, name: &str, content: &[u8], kind: tar::EntryType) {
    let mut header = tar::Header::new_ustar();
    header.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
    header.set_size(content.len() as u64);
    header.set_mode(0o644);
    header.set_entry_type(kind);
    header.set_cksum();
    tar.extend_from_slice(header.as_bytes());
    tar.extend_from_slice(content);
    tar.extend(std::iter::repeat_n(0u8, (512 - content.len() % 512) % 512));
}

/// A tar.gz of `(name, content)` regular files.
fn archive(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut tar = Vec::new();
    for (name, content) in files {
        raw_entry(&mut tar, name, content, tar::EntryType::Regular);
    }
    tar.extend_from_slice(&[0; 1024]);
    gzip(&tar)
}

fn manifest_json(policies: &str) -> Vec<u8> {
    format!(r#"{{"schema":{{"version":"2026-03-16"}},"target_type":"user","target_id":"usr_1","policies":[{policies}]}}"#)
        .into_bytes()
}

fn error_of(bytes: &[u8]) -> BundleError {
    let e = decode(bytes).expect_err("invalid bundle");
    assert_eq!(e.code, "bundle_invalid");
    e
}

#[test]
fn the_worked_example_digest_reproduces() {
    let bundle = example();
    assert_eq!(bundle.manifest.digest(), EXAMPLE_DIGEST);
    assert_eq!(bundle.digest().expect("digest"), EXAMPLE_DIGEST);
    assert_eq!(
        bundle.canonical_manifest().expect("manifest"),
        bundle.manifest
    );
    assert_eq!(
        bundle.etag().expect("etag"),
        format!("\"{EXAMPLE_DIGEST}\"")
    );
    // Names do not count; content does.
    let mut renamed = bundle.clone();
    renamed.manifest.policies[0].name = "renamed".into();
    assert_eq!(renamed.digest().expect("digest"), EXAMPLE_DIGEST);
    let mut edited = bundle;
    edited.policies.insert(
        "pol_b".into(),
        b"permit(principal, action, resource);\n".to_vec(),
    );
    assert_ne!(edited.digest().expect("digest"), EXAMPLE_DIGEST);
}

#[test]
fn the_tar_layout_is_the_go_sdks_byte_for_byte() {
    assert_eq!(
        encode_tar(&example()).expect("tar"),
        read("testdata/bundle.tar")
    );
}

#[test]
fn a_bundle_round_trips() {
    let bundle = example();
    let bytes = encode(&bundle).expect("encode");
    assert_eq!(&bytes[..2], [0x1f, 0x8b]);
    assert_eq!(decode(&bytes).expect("decode"), bundle);
    // The Go SDK's own archive decodes to the same bundle.
    assert_eq!(
        decode(&gzip(&read("testdata/bundle.tar"))).expect("decode"),
        bundle
    );
}

#[test]
fn the_manifest_decides_membership_and_digests_are_recomputed() {
    let manifest = manifest_json(
        r#"{"public_id":"pol_a","name":"x","sha":"sha256:wrong"},{"new_policy":"mine","sha":""}"#,
    );
    let bytes = archive(&[
        ("manifest.json", &manifest),
        (
            "policies/pol_a.cedar",
            b"permit(principal, action, resource);",
        ),
        (
            "policies/mine.cedar",
            b"forbid(principal, action, resource);",
        ),
        (
            "policies/orphan.cedar",
            b"permit(principal, action, resource);",
        ),
    ]);
    let bundle = decode(&bytes).expect("decode");
    assert_eq!(
        bundle.policies.keys().collect::<Vec<_>>(),
        ["mine", "pol_a"]
    );
    assert_eq!(bundle.schema, b"");
    let entries = &bundle.manifest.policies;
    assert_eq!(
        (
            entries[0].new_policy.as_str(),
            entries[1].public_id.as_str()
        ),
        ("mine", "pol_a")
    );
    assert_eq!(
        entries[1].sha,
        prefixed_sha(b"permit(principal, action, resource);")
    );
    assert_eq!(bundle.manifest.schema.sha, prefixed_sha(b""));
}

#[test]
fn duplicate_entries_are_invalid() {
    let m = manifest_json(r#"{"public_id":"a"}"#);
    let p: &[u8] = b"permit(principal, action, resource);";
    error_of(&archive(&[
        ("manifest.json", &m),
        ("manifest.json", &m),
        ("policies/a.cedar", p),
    ]));
    error_of(&archive(&[
        ("manifest.json", &m),
        ("policies/a.cedar", p),
        ("policies/a.cedar", p),
    ]));
    error_of(&archive(&[
        ("schema.cedarschema", b""),
        ("schema.cedarschema", b""),
        ("manifest.json", &m),
    ]));
    let twice = manifest_json(r#"{"public_id":"a"},{"public_id":"a"}"#);
    error_of(&archive(&[
        ("manifest.json", &twice),
        ("policies/a.cedar", p),
    ]));
}

#[test]
fn nested_and_unknown_entries_are_invalid() {
    let m = manifest_json("");
    for name in [
        "policies/x/a.cedar",
        "policies/a.txt",
        "policies/.cedar",
        "README.md",
        "./manifest.json",
        "dir/manifest.json",
    ] {
        let e = error_of(&archive(&[("manifest.json", &m), (name, b"x")]));
        assert!(e.message.contains("unexpected entry"), "{name}: {e}");
    }
    // A directory entry is not a regular file.
    let mut tar = Vec::new();
    raw_entry(&mut tar, "manifest.json", &m, tar::EntryType::Regular);
    raw_entry(&mut tar, "policies/", b"", tar::EntryType::Directory);
    tar.extend_from_slice(&[0; 1024]);
    assert!(
        error_of(&gzip(&tar))
            .message
            .contains("unexpected entry `policies/`")
    );
}

#[test]
fn a_bad_manifest_is_invalid() {
    let p: &[u8] = b"permit(principal, action, resource);";
    error_of(&archive(&[("policies/a.cedar", p)]));
    error_of(&archive(&[("manifest.json", b"{not json")]));
    error_of(&archive(&[(
        "manifest.json",
        br#"{"schema":{},"policies":[]}"#,
    )]));
    error_of(&archive(&[(
        "manifest.json",
        &manifest_json(r#"{"public_id":"a"}"#),
    )]));
    for entry in [
        r#"{"public_id":"a","new_policy":"b"}"#,
        r#"{"sha":"x"}"#,
        r#"{"new_policy":".."}"#,
        r#"{"new_policy":"a\\b"}"#,
    ] {
        let e = error_of(&archive(&[
            ("manifest.json", &manifest_json(entry)),
            ("policies/a.cedar", p),
        ]));
        assert!(!e.too_large, "{entry}");
    }
    error_of(b"not a gzip stream");
}

#[test]
fn the_decompressed_size_is_capped() {
    let big = vec![0u8; usize::try_from(MAX_DECOMPRESSED).expect("size")];
    let bytes = archive(&[
        ("manifest.json", &manifest_json("")),
        ("schema.cedarschema", &big),
    ]);
    assert!(bytes.len() < 1 << 20, "compresses well");
    assert!(error_of(&bytes).too_large);
}

#[test]
fn an_empty_bundle_digests_like_the_go_sdk() {
    let bundle = Bundle {
        manifest: BundleManifest {
            schema: SchemaRef {
                version: "2026-03-16".into(),
                sha: String::new(),
            },
            target_type: "user".into(),
            target_id: "usr_1".into(),
            policies: vec![],
        },
        schema: b"s".to_vec(),
        policies: BTreeMap::new(),
    };
    let jcs_form = format!(
        r#"{{"policies":null,"schema":{{"sha":"{}","version":"2026-03-16"}},"target_id":"usr_1","target_type":"user"}}"#,
        prefixed_sha(b"s")
    );
    assert_eq!(
        bundle.digest().expect("digest"),
        prefixed_sha(jcs_form.as_bytes())
    );
    let canonical = Bundle {
        manifest: bundle.canonical_manifest().expect("manifest"),
        ..bundle.clone()
    };
    assert_eq!(
        decode(&encode(&bundle).expect("encode")).expect("decode"),
        canonical
    );
}

#[test]
fn etags_match_quoted_weak_or_bare() {
    let d = EXAMPLE_DIGEST;
    assert!(etag_matches(&format!("\"{d}\""), d));
    assert!(etag_matches(&format!("W/\"{d}\""), d));
    assert!(etag_matches(d, d));
    assert!(etag_matches(&format!("\"sha256:00\", \"{d}\""), d));
    assert!(etag_matches("*", d));
    assert!(!etag_matches("\"sha256:00\"", d));
}
