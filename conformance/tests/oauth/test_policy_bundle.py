"""The user policy bundle `GET/PUT/DELETE /policy/bundle` through the `keycardai-api` SDK's
raw-bytes API (issue 10; spec §3.3, B31–B33; policy-model.md §3 and §5), with a zone user's access
token from a real browser sign-in: the first GET seeds the user's set from the zone defaults as
customer policies, the ETag is the bundle digest (reproduced here), `If-None-Match` → 304, a PUT of
a changed policy and a `new_policy` makes new versions visible through the management API, a stale
`If-Match` → 412, a duplicate archive entry → 400 `bundle_invalid`, a management key → 401, and
DELETE → 204 after which the next GET seeds again.
"""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from dataclasses import dataclass
from typing import Any, Iterator

import httpx
import pytest
from keycardai_api import APIStatusError, KeycardAPI

import lk
from e2e import kit
from e2e.conftest import listener, make_zone, password_zone, zones_made  # noqa: F401  (fixtures)
from security import attack_kit as ak

# (in Cedar's normal form, as the server stores and serves policies)
CHANGED = '@id("permit-apps")\npermit (\n  principal is Keycard::Application,\n  action,\n  resource\n);'
ADDED = '@id("forbid-users")\nforbid (\n  principal is Keycard::User,\n  action,\n  resource\n);'


@dataclass
class BundleUser:
    zone: kit.Zone
    user_id: str
    client: KeycardAPI


@pytest.fixture
def bundle_user(server, password_zone: kit.Zone, listener) -> Iterator[BundleUser]:  # noqa: F811
    z = password_zone
    b = ak.Browser(z)
    email = ak.unique_email("bundle")
    t = ak.tokens_in(b, z, z.browser_client([ak.REGISTERED]), listener.url, email, scope="openid")
    client = lk.api_key_client(server, t.access_token)
    yield BundleUser(z, z.user_by_email(email).id, client)
    client.close()
    b.close()


def jcs(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def unpack(data: bytes) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        for m in tar.getmembers():
            assert m.isfile(), m.name
            f = tar.extractfile(m)
            assert f is not None
            out[m.name] = f.read()
    return out


def pack(members: list[tuple[str, bytes]]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz", format=tarfile.USTAR_FORMAT) as tar:
        for name, content in members:
            info = tarfile.TarInfo(name)
            info.size = len(content)
            tar.addfile(info, io.BytesIO(content))
    return buf.getvalue()


def digest(manifest: dict) -> str:
    stripped = {**manifest, "policies": [{k: v for k, v in p.items() if k != "name"} for p in manifest["policies"]]}
    stripped["policies"].sort(key=lambda p: (p.get("public_id", ""), p.get("new_policy", "")))
    return sha(jcs(stripped).encode())


def fetch(u: BundleUser) -> tuple[str, dict[str, bytes]]:
    raw = u.client.policy_bundle.with_raw_response.retrieve()
    assert raw.status_code == 200
    # the SDK sends `Accept: application/octet-stream`
    assert raw.headers["content-type"] == "application/octet-stream", raw.headers
    return raw.headers["etag"], unpack(raw.read())


def check_bundle(u: BundleUser, etag: str, files: dict[str, bytes]) -> dict:
    manifest = json.loads(files["manifest.json"])
    assert manifest["target_type"] == "user" and manifest["target_id"] == u.user_id, manifest
    assert manifest["schema"]["sha"] == sha(files["schema.cedarschema"]), manifest
    names = {f"policies/{p['public_id']}.cedar" for p in manifest["policies"]}
    assert set(files) == {"manifest.json", "schema.cedarschema"} | names, sorted(files)
    for p in manifest["policies"]:
        assert p["sha"] == sha(files[f"policies/{p['public_id']}.cedar"]), p
    assert etag == f'"{digest(manifest)}"', (etag, manifest)
    return manifest


def test_bundle_round_trip(bundle_user: BundleUser, admin: KeycardAPI):
    u = bundle_user
    etag, files = fetch(u)
    manifest = check_bundle(u, etag, files)
    assert len(manifest["policies"]) == 3, manifest
    for p in manifest["policies"]:
        pol = admin.zones.policies.retrieve(p["public_id"], zone_id=u.zone.id)
        assert pol.owner_type == "customer", pol
    again, _ = fetch(u)
    assert again == etag, "the ETag of an unchanged bundle moved"

    with pytest.raises(APIStatusError) as e:
        u.client.policy_bundle.retrieve(if_none_match=etag)
    assert e.value.status_code == 304

    changed = manifest["policies"][0]["public_id"]
    members = [("manifest.json", b""), ("schema.cedarschema", b"ignored")]
    entries = [{"public_id": p["public_id"], "sha": ""} for p in manifest["policies"]]
    entries.append({"new_policy": "bundle-extra", "sha": ""})
    new_manifest = {"schema": manifest["schema"], "target_type": "user", "target_id": u.user_id, "policies": entries}
    members[0] = ("manifest.json", json.dumps(new_manifest).encode())
    for p in manifest["policies"]:
        key = p["public_id"]
        body = CHANGED.encode() if key == changed else files[f"policies/{key}.cedar"]
        members.append((f"policies/{key}.cedar", body))
    members.append(("policies/bundle-extra.cedar", ADDED.encode()))
    members.append(("policies/not-listed.cedar", ADDED.encode()))

    raw = u.client.policy_bundle.with_raw_response.update(body=pack(members), if_match=etag)
    assert raw.status_code == 200
    new_etag, new_files = raw.headers["etag"], unpack(raw.read())
    assert new_etag != etag
    put_manifest = check_bundle(u, new_etag, new_files)
    assert len(put_manifest["policies"]) == 4, put_manifest
    assert new_files[f"policies/{changed}.cedar"].decode().strip() == CHANGED
    versions = admin.zones.policies.versions.list(changed, zone_id=u.zone.id).items
    assert len(versions) == 2, versions
    added = [p for p in put_manifest["policies"] if p["public_id"] not in {x["public_id"] for x in manifest["policies"]}]
    assert len(added) == 1, put_manifest
    extra = admin.zones.policies.retrieve(added[0]["public_id"], zone_id=u.zone.id)
    assert extra.name == "bundle-extra" and extra.owner_type == "customer", extra
    assert fetch(u)[0] == new_etag

    with pytest.raises(APIStatusError) as e:
        u.client.policy_bundle.update(body=pack(members), if_match=etag)
    assert e.value.status_code == 412


def test_duplicate_entry_is_bundle_invalid(bundle_user: BundleUser):
    u = bundle_user
    etag, files = fetch(u)
    members = list(files.items())
    members.append(members[-1])
    with pytest.raises(APIStatusError) as e:
        u.client.policy_bundle.update(body=pack(members))
    assert e.value.status_code == 400
    assert e.value.body["code"] == "bundle_invalid", e.value.body
    assert fetch(u)[0] == etag


def test_a_management_key_is_refused(admin_http: httpx.Client, server):
    for method in ("GET", "PUT", "DELETE"):
        r = admin_http.request(method, "/policy/bundle", content=b"" if method == "PUT" else None)
        assert r.status_code == 401, (method, r.status_code, r.text)
        body = r.json()
        assert body["status"] == 401 and body["code"] and body["message"], body
    r = httpx.get(f"{server.base_url}/policy/bundle", timeout=10)
    assert r.status_code == 401, r.text


def test_reset_archives_and_the_next_get_seeds_again(bundle_user: BundleUser):
    u = bundle_user
    etag, files = fetch(u)
    first = {p["public_id"] for p in json.loads(files["manifest.json"])["policies"]}
    u.client.policy_bundle.reset()
    u.client.policy_bundle.reset()
    again, again_files = fetch(u)
    manifest = check_bundle(u, again, again_files)
    assert again != etag
    assert len(manifest["policies"]) == 3
    assert first.isdisjoint({p["public_id"] for p in manifest["policies"]}), "the archived set came back"


def test_invalid_cedar_writes_nothing_and_the_codec_type_is_the_default(bundle_user: BundleUser, server):
    u = bundle_user
    etag, files = fetch(u)
    manifest = json.loads(files["manifest.json"])
    manifest["policies"].append({"new_policy": "broken", "sha": ""})
    members = [(k, v) for k, v in files.items() if k != "manifest.json"]
    members += [("manifest.json", json.dumps(manifest).encode()), ("policies/broken.cedar", b"permit (principal")]
    with pytest.raises(APIStatusError) as e:
        u.client.policy_bundle.update(body=pack(members), if_match=etag)
    assert e.value.status_code == 400 and e.value.body["code"] == "invalid_cedar", e.value.body
    assert fetch(u)[0] == etag
    token = u.client.api_key
    r = httpx.get(f"{server.base_url}/policy/bundle", headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/vnd.keycard.policy-bundle.v1+tar+gzip"
    assert r.headers["etag"] == etag


def test_an_archive_over_the_decompressed_cap_is_413(bundle_user: BundleUser):
    u = bundle_user
    etag, files = fetch(u)
    members = list(files.items()) + [("policies/huge.cedar", b"\0" * (65 << 20))]
    with pytest.raises(APIStatusError) as e:
        u.client.policy_bundle.update(body=pack(members))
    assert e.value.status_code == 413 and e.value.body["code"] == "bundle_invalid", e.value.body
    assert fetch(u)[0] == etag


def test_concurrent_puts_with_one_if_match_have_one_winner(bundle_user: BundleUser):
    """Attack: several writers race with the same `If-Match`; the check and the write are one
    conditional step, so exactly one new version lands and every other writer gets 412."""
    from concurrent.futures import ThreadPoolExecutor

    u = bundle_user
    etag, files = fetch(u)
    manifest = json.loads(files["manifest.json"])

    def put(i: int) -> int:
        entries = [{"public_id": p["public_id"], "sha": ""} for p in manifest["policies"]]
        entries.append({"new_policy": f"racer-{i}", "sha": ""})
        body = {"schema": manifest["schema"], "target_type": "user", "target_id": u.user_id, "policies": entries}
        members = [("manifest.json", json.dumps(body).encode()), ("schema.cedarschema", b"")]
        members += [(f"policies/{p['public_id']}.cedar", files[f"policies/{p['public_id']}.cedar"]) for p in manifest["policies"]]
        members.append((f"policies/racer-{i}.cedar", ADDED.encode()))
        try:
            return u.client.policy_bundle.with_raw_response.update(body=pack(members), if_match=etag).status_code
        except APIStatusError as e:
            return e.status_code

    with ThreadPoolExecutor(max_workers=6) as pool:
        codes = sorted(pool.map(put, range(6)))
    assert codes == [200] + [412] * 5, codes
    _, after = fetch(u)
    names = [p.get("public_id") for p in json.loads(after["manifest.json"])["policies"]]
    assert len(names) == len(manifest["policies"]) + 1, "one racer's policy, not several"


def test_expand_user_names_the_platform_zone_user_behind_a_change(server, admin: KeycardAPI, listener):  # noqa: F811
    """§2.10: `expand=user` resolves a `*_by` actor that is a user of the organization's platform
    zone to `{id, email, zone_id}`; an API-key actor gets no expansion."""
    org = admin.organizations.create(name=lk.unique("Bundle Org"))
    z = kit.Zone(admin, admin.zones.retrieve(org.zone_id))
    b = ak.Browser(z)
    try:
        email = ak.unique_email("platform-user")
        invitation = admin.organizations.invitations.create(org.id, email=email, role="org_member").to_dict()["token"]
        t = ak.tokens_in(
            b, z, z.browser_client([ak.REGISTERED]), listener.url, email, scope="openid", invitation=invitation
        )
        client = lk.api_key_client(server, t.access_token)
        try:
            _, files = fetch(BundleUser(z, z.user_by_email(email).id, client))
        finally:
            client.close()
    finally:
        b.close()
    user = z.user_by_email(email)
    seeded = json.loads(files["manifest.json"])["policies"][0]["public_id"]
    raw = admin.zones.policies.with_raw_response.retrieve(seeded, zone_id=z.id, extra_query={"expand": "user"})
    body = json.loads(raw.http_response.text)
    assert body["created_by"] == user.id, body
    assert body["created_by_user"] == {"id": user.id, "email": email, "zone_id": z.id}, body
    listed = admin.zones.policies.with_raw_response.list(z.id, extra_query={"expand[]": "user"})
    items = {p["id"]: p for p in json.loads(listed.http_response.text)["items"]}
    assert items[seeded]["created_by_user"]["id"] == user.id
    by_key = admin.zones.policies.create(z.id, name=lk.unique("by-key"))
    plain = json.loads(admin.zones.policies.with_raw_response.retrieve(by_key.id, zone_id=z.id, extra_query={"expand": "user"}).http_response.text)
    assert "created_by_user" not in plain, plain
