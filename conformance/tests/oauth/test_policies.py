"""Cedar policies through the `keycardai-api` SDK and at the token endpoint (issue 10; spec
§3.15–3.17, policy-model.md): schema versions, the platform set every zone starts with, policies
and immutable versions validated against the schema, policy sets with manifests, RFC 8785
`manifest_sha`, signed attestations that verify against the zone JWKS, activation, archive rules,
`If-Match`, and enforcement: a forbid denies `client_credentials` with the exact wording, a new
active version permits again, a zone whose active set permits nothing fails closed, a scope
denied by policy is removed, and impersonation works only after a customer permit.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

import httpx
import pytest
from joserfc import jws
from joserfc.jwk import KeySet
import cedarpy
from keycardai.oauth import OAuthProtocolError
from keycardai_api import BadRequestError, ConflictError, PermissionDeniedError
from keycardai_api.types.zones import Policy, PolicySetWithBinding
from keycardai_api.types.zones.policies import PolicyVersion
from keycardai_api.types.zones.policy_sets import PolicySetVersion

import lk

from .kit import OAuthZone, jwt_claims

SCHEMA = "2026-03-16"
PERMIT_APPS = '@id("permit-apps")\npermit (principal is Keycard::Application, action, resource);'


def jcs(value: Any) -> str:
    """RFC 8785 for the shapes used here (objects, arrays, strings, small integers)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def policy_with_version(z: OAuthZone, name: str, cedar: str) -> tuple[Policy, PolicyVersion]:
    api = z.kit.client.zones.policies
    p = api.create(z.id, name=lk.unique(name))
    v = api.versions.create(p.id, zone_id=z.id, schema_version=SCHEMA, cedar_raw=cedar)
    return p, v


def activated_set(z: OAuthZone, versions: list[tuple[Policy, PolicyVersion]]) -> tuple[PolicySetWithBinding, PolicySetVersion]:
    api = z.kit.client.zones.policy_sets
    s = api.create(z.id, name=lk.unique("set"))
    entries = [{"policy_id": p.id, "policy_version_id": v.id} for p, v in versions]
    sv = api.versions.create(s.id, zone_id=z.id, manifest={"entries": entries}, schema_version=SCHEMA)
    api.versions.update(sv.id, zone_id=z.id, policy_set_id=s.id, active=True)
    return api.retrieve(s.id, zone_id=z.id), sv


def zone_sets(z: OAuthZone) -> list[PolicySetWithBinding]:
    return list(z.kit.client.zones.policy_sets.list(z.id).items)


def test_schema_versions_are_served_in_both_forms(oz: OAuthZone):
    api = oz.kit.client.zones.policy_schemas
    listed = api.list(oz.id).items
    assert SCHEMA in [s.version for s in listed]
    assert sum(1 for s in listed if s.is_default) == 1
    cedar = api.retrieve(SCHEMA, zone_id=oz.id, format="cedar")
    assert "namespace Keycard" in cedar.cedar_schema and cedar.cedar_schema_json is None
    as_json = api.retrieve(SCHEMA, zone_id=oz.id, format="json")
    assert "Keycard" in as_json.cedar_schema_json and as_json.cedar_schema is None


def test_set_default_schema_accepts_an_empty_body(fresh_zone):
    z = fresh_zone()
    s = z.kit.client.zones.policy_schemas.set_default(SCHEMA, zone_id=z.id)
    assert s.is_default and s.version == SCHEMA
    defaults = z.kit.client.zones.policy_schemas.list(z.id, filter_default=True).items
    assert [d.version for d in defaults] == [SCHEMA]


def test_a_new_zone_has_the_platform_set_active_and_read_only(fresh_zone):
    z = fresh_zone()
    sets = zone_sets(z)
    default = [s for s in sets if s.name == "default-zone-policies"]
    assert len(default) == 1, sets
    d = default[0]
    assert (d.owner_type, d.active, d.mode, d.target_id, d.active_version) == ("platform", True, "active", z.id, 1)
    versions = z.kit.client.zones.policy_sets.versions.list_policies(d.active_version_id, zone_id=z.id, policy_set_id=d.id).items
    names = {z.kit.client.zones.policies.retrieve(v.policy_id, zone_id=z.id).name for v in versions}
    assert names == {"default-user-grants", "default-app-delegation", "default-app-direct-access"}
    with pytest.raises(PermissionDeniedError):
        z.kit.client.zones.policy_sets.update(d.id, zone_id=z.id, name="mine now")
    platform_policy = versions[0].policy_id
    with pytest.raises(PermissionDeniedError):
        z.kit.client.zones.policies.versions.create(platform_policy, zone_id=z.id, schema_version=SCHEMA, cedar_raw=PERMIT_APPS)


def test_invalid_cedar_names_line_and_column(oz: OAuthZone):
    p = oz.kit.client.zones.policies.create(oz.id, name=lk.unique("bad"))
    r = oz.admin_http.post(
        f"/zones/{oz.id}/policies/{p.id}/versions",
        json={"schema_version": SCHEMA, "cedar_raw": "permit (\n  principal,\n  action,\n  resource\n) when { principal.nope == 1 };"},
    )
    body = lk.assert_error(r, 400, "invalid_cedar")
    assert "line" in body["message"] and "column" in body["message"], body
    with pytest.raises(BadRequestError):
        oz.kit.client.zones.policies.versions.create(p.id, zone_id=oz.id, schema_version=SCHEMA, cedar_raw="permit (")
    with pytest.raises(BadRequestError):
        oz.kit.client.zones.policies.versions.create(p.id, zone_id=oz.id, schema_version="1999-01-01", cedar_raw=PERMIT_APPS)


def test_versions_are_numbered_hashed_and_give_both_forms(oz: OAuthZone):
    api = oz.kit.client.zones.policies
    p, v1 = policy_with_version(oz, "numbered", PERMIT_APPS)
    v2 = api.versions.create(p.id, zone_id=oz.id, schema_version=SCHEMA, cedar_raw=PERMIT_APPS + "\n")
    assert (v1.version, v2.version) == (1, 2)
    assert v1.sha == hashlib.sha256(v1.cedar_raw.encode()).hexdigest()
    assert v1.cedar_json is not None and v1.cedar_raw
    got = api.retrieve(p.id, zone_id=oz.id)
    assert (got.latest_version, got.latest_version_id, got.latest_schema_version) == (2, v2.id, SCHEMA)
    only_json = api.versions.retrieve(v1.id, zone_id=oz.id, policy_id=p.id, format="json")
    assert only_json.cedar_raw is None and only_json.cedar_json is not None
    only_cedar = api.versions.retrieve(v1.id, zone_id=oz.id, policy_id=p.id, format="cedar")
    assert only_cedar.cedar_json is None and only_cedar.cedar_raw


def test_manifest_sha_and_attestation_verify_against_the_jwks(oz: OAuthZone):
    pair = policy_with_version(oz, "attested", PERMIT_APPS)
    api = oz.kit.client.zones.policy_sets
    s = api.create(oz.id, name=lk.unique("attested set"))
    sv = api.versions.create(
        s.id, zone_id=oz.id, schema_version=SCHEMA,
        manifest={"entries": [{"policy_id": pair[0].id, "policy_version_id": pair[1].id, "sha": "client value"}]},
    )  # fmt: skip
    entries = [{"policy_id": pair[0].id, "policy_version_id": pair[1].id, "sha": pair[1].sha}]
    assert [e.sha for e in sv.manifest.entries] == [pair[1].sha], "the server fills in each sha"
    assert sv.manifest_sha == hashlib.sha256(jcs({"entries": entries}).encode()).hexdigest()
    st = sv.attestation
    assert (st.v, st.type, st.zone_id, st.policy_set_id, st.policy_set_version, st.manifest_sha, st.status) == (
        1, "policy_set_attestation", oz.id, s.id, 1, sv.manifest_sha, "created",
    )  # fmt: skip
    r = oz.admin_http.get(f"/zones/{oz.id}/policy-sets/{s.id}/versions/{sv.id}/attestation")
    assert r.status_code == 200, r.text
    compact = r.json()["jws"]
    keys = KeySet.import_key_set(oz.jwks())
    verified = jws.deserialize_compact(compact, keys)
    statement = json.loads(verified.payload)
    assert statement == r.json()["statement"] and statement["key_id"] == verified.headers()["kid"]
    assert verified.payload.decode() == jcs(statement), "the payload is the RFC 8785 form"


def test_activation_moves_the_zone_binding_and_archive_rules(fresh_zone):
    z = fresh_zone()
    pair = policy_with_version(z, "mine", PERMIT_APPS)
    mine, sv = activated_set(z, [pair])
    assert (mine.active, mine.active_version_id, mine.mode, mine.target_id) == (True, sv.id, "active", z.id)
    default = next(s for s in zone_sets(z) if s.name == "default-zone-policies")
    assert default.active is False, "one active zone set: the platform set was demoted"
    api = z.kit.client.zones.policy_sets
    with pytest.raises(ConflictError):
        api.versions.archive(sv.id, zone_id=z.id, policy_set_id=mine.id)
    with pytest.raises(ConflictError):
        api.archive(mine.id, zone_id=z.id)
    with pytest.raises(ConflictError):
        z.kit.client.zones.policies.versions.archive(pair[1].id, zone_id=z.id, policy_id=pair[0].id)
    r = z.admin_http.patch(f"/zones/{z.id}/policy-sets/{mine.id}", json={"name": "x"}, headers={"If-Match": '"1"'})
    lk.assert_error(r, 412, "precondition_failed")
    r = z.admin_http.patch(f"/zones/{z.id}/policy-sets/{mine.id}/versions/{sv.id}", json={"active": False})
    lk.assert_error(r, 400)


def test_writers_racing_with_one_if_match_have_one_winner(fresh_zone):
    """Attack: several PATCHes carry the same (current) `If-Match`; the match is the write's
    condition, so one renames the policy and every other gets 412 instead of silently overwriting."""
    from concurrent.futures import ThreadPoolExecutor

    z = fresh_zone()
    for kind, obj in (("policies", policy_with_version(z, "raced", PERMIT_APPS)[0]),
                      ("policy-sets", z.kit.client.zones.policy_sets.create(z.id, name=lk.unique("raced")))):
        path = f"/zones/{z.id}/{kind}/{obj.id}"
        etag = z.admin_http.get(path).headers["etag"]

        def rename(i: int, path: str = path, etag: str = etag) -> int:
            return z.admin_http.patch(path, json={"name": f"racer-{i}"}, headers={"If-Match": etag}).status_code

        with ThreadPoolExecutor(max_workers=6) as pool:
            codes = sorted(pool.map(rename, range(6)))
        assert codes == [200] + [412] * 5, (kind, codes)
        assert z.admin_http.get(path).headers["etag"] != etag


def cc(z: OAuthZone, svc, resource, scope: str | None = None) -> httpx.Response:
    data = {"grant_type": "client_credentials", "resource": resource.identifier}
    if scope:
        data["scope"] = scope
    return z.token_post(data, svc.headers())


def test_a_forbid_denies_with_the_policy_named_and_a_new_version_permits(fresh_zone):
    z = fresh_zone()
    target = z.resource(identifier=lk.unique_url("guarded"), name=lk.unique("Guarded API"))
    svc = z.service(depends_on=[target])
    assert cc(z, svc, target).status_code == 200, "the default set permits direct access"
    forbid = f'@id("no-guarded")\nforbid (principal, action, resource) when {{ resource.identifier == "{target.identifier}" }};'
    permit = policy_with_version(z, "permit", PERMIT_APPS)
    deny = policy_with_version(z, "forbid-guarded", forbid)
    s, _ = activated_set(z, [permit, deny])
    r = cc(z, svc, target)
    body = r.json()
    assert (r.status_code, body.get("error")) == (400, "access_denied"), r.text
    assert body["error_description"] == (
        f'Access to "{target.name}" is denied by Policy "{deny[0].name}" in version 1 of Policy Set "{s.name}".'
    )
    api = z.kit.client.zones.policy_sets
    v2 = api.versions.create(s.id, zone_id=z.id, schema_version=SCHEMA,
                             manifest={"entries": [{"policy_id": permit[0].id, "policy_version_id": permit[1].id}]})
    api.versions.update(v2.id, zone_id=z.id, policy_set_id=s.id, active=True)
    assert cc(z, svc, target).status_code == 200, "the new active version decides at once"


def test_a_remembered_decision_never_outlives_the_data_it_was_made_on(fresh_zone):
    """Attack: decisions are memoised per compiled set; renaming a resource into a forbid's reach
    must deny the very next token, and renaming it back must permit again."""
    z = fresh_zone()
    open_name, blocked = lk.unique("Open API"), lk.unique("Blocked API")
    target = z.resource(identifier=lk.unique_url("renamed"), name=open_name)
    svc = z.service(depends_on=[target])
    forbid = f'@id("by-name")\nforbid (principal, action, resource) when {{ resource.name == "{blocked}" }};'
    activated_set(z, [policy_with_version(z, "permit", PERMIT_APPS), policy_with_version(z, "by-name", forbid)])
    rename = z.kit.client.zones.resources.update
    for name, status in ((open_name, 200), (blocked, 400), (open_name, 200)):
        rename(target.id, zone_id=z.id, name=name)
        assert [cc(z, svc, target).status_code for _ in range(3)] == [status] * 3, name


def test_nothing_permitted_fails_closed(fresh_zone):
    z = fresh_zone()
    target = z.resource(identifier=lk.unique_url("closed"))
    svc = z.service(depends_on=[target])
    only_users = policy_with_version(z, "users-only", '@id("users")\npermit (principal is Keycard::User, action, resource);')
    activated_set(z, [only_users])
    r = cc(z, svc, target)
    assert (r.status_code, r.json().get("error")) == (400, "access_denied"), r.text


def test_a_scope_denied_by_policy_is_removed(fresh_zone):
    z = fresh_zone()
    target = z.resource(identifier=lk.unique_url("scoped"), scopes=["read", "delete"])
    svc = z.service(depends_on=[target])
    no_delete = '@id("no-delete")\nforbid (principal, action, resource) when { context.scopes.contains("delete") };'
    activated_set(z, [policy_with_version(z, "permit", PERMIT_APPS), policy_with_version(z, "no-delete", no_delete)])
    r = cc(z, svc, target, scope="read delete")
    assert r.status_code == 200, r.text
    assert r.json().get("scope") == "read"
    assert jwt_claims(r.json()["access_token"]).get("scope") == "read"
    only_delete = cc(z, svc, target, scope="delete")
    assert (only_delete.status_code, only_delete.json().get("error")) == (400, "access_denied")


def test_dry_run_evaluate_answers_what_a_version_would_decide(fresh_zone):
    """Latchkey extension: `POST …/versions/{id}/evaluate` decides a token-request-shaped body
    with one set version, without issuing anything."""
    z = fresh_zone()
    target = z.resource(identifier=lk.unique_url("dry"), name=lk.unique("Dry API"), scopes=["read", "admin"])
    svc = z.service(depends_on=[target])
    no_admin = '@id("no-admin")\nforbid (principal, action, resource) when { context.scopes.contains("admin") };'
    permit = policy_with_version(z, "permit", PERMIT_APPS)
    forbid = policy_with_version(z, "no-admin", no_admin)
    api = z.kit.client.zones.policy_sets
    s = api.create(z.id, name=lk.unique("dry set"))
    sv = api.versions.create(s.id, zone_id=z.id, schema_version=SCHEMA, manifest={"entries": [
        {"policy_id": permit[0].id, "policy_version_id": permit[1].id},
        {"policy_id": forbid[0].id, "policy_version_id": forbid[1].id},
    ]})  # fmt: skip
    url = f"/zones/{z.id}/policy-sets/{s.id}/versions/{sv.id}/evaluate"
    body = {"grant_type": "client_credentials", "client_id": svc.client_id, "resource": target.identifier}
    r = z.admin_http.post(url, json={**body, "scope": "read admin"})
    assert r.status_code == 200, r.text
    got = r.json()
    assert (got["decision"], got["scopes"], got["denied_scopes"]) == ("allow", ["read"], ["admin"]), got
    r = z.admin_http.post(url, json={**body, "scope": "admin"})
    got = r.json()
    assert got["decision"] == "deny" and got["message"] == (
        f'Access to "{target.name}" is denied by Policy "{forbid[0].name}" in version 1 of Policy Set "{s.name}".'
    ), got
    assert [p["policy_id"] for p in got["determining_policies"]] == [forbid[0].id]
    assert cc(z, svc, target, scope="admin").status_code == 200, "the dry run changed nothing: the version is not active"
    lk.assert_error(z.admin_http.post(url, json={**body, "grant_type": "password"}), 400)


def test_the_oauth_sdk_sees_a_policy_deny_then_a_permit(fresh_zone):
    """`keycardai-oauth` raises `access_denied` (not retryable) for a policy deny, and gets a
    token once a version without the forbid is active."""
    z = fresh_zone()
    target = z.resource(identifier=lk.unique_url("sdk"), name=lk.unique("SDK API"))
    svc = z.service(depends_on=[target])
    permit = policy_with_version(z, "permit", PERMIT_APPS)
    deny = policy_with_version(z, "forbid-all", '@id("forbid-all")\nforbid (principal, action, resource);')
    s, _ = activated_set(z, [permit, deny])
    with z.client(svc) as c:
        with pytest.raises(OAuthProtocolError) as info:
            c.client_credentials_grant(resource=target.identifier)
    assert (info.value.error, info.value.retryable) == ("access_denied", False)
    assert deny[0].name in (getattr(info.value, "error_description", None) or str(info.value))
    api = z.kit.client.zones.policy_sets
    v2 = api.versions.create(s.id, zone_id=z.id, schema_version=SCHEMA,
                             manifest={"entries": [{"policy_id": permit[0].id, "policy_version_id": permit[1].id}]})
    api.versions.update(v2.id, zone_id=z.id, policy_set_id=s.id, active=True)
    assert jwt_claims(z.cc_token(svc, target))["aud"] == target.identifier


def test_an_independent_cedar_implementation_accepts_what_is_served(fresh_zone):
    """cedarpy (Cedar's Rust core behind Python, not our build) parses every served schema and
    validates every policy of the platform set and a customer policy against it."""
    z = fresh_zone()
    schemas = z.kit.client.zones.policy_schemas
    policy_with_version(z, "customer", PERMIT_APPS)
    for version in [s.version for s in schemas.list(z.id).items]:
        text = schemas.retrieve(version, zone_id=z.id, format="cedar").cedar_schema
        as_json = schemas.retrieve(version, zone_id=z.id, format="json").cedar_schema_json
        for schema in (text, as_json):
            ok = cedarpy.validate_policies(PERMIT_APPS, schema)
            assert ok.validation_passed, (version, ok.errors)
    served = [
        v for p in z.kit.client.zones.policies.list(z.id).items
        for v in z.kit.client.zones.policies.versions.list(p.id, zone_id=z.id).items
    ]  # fmt: skip
    assert len(served) >= 4, served
    for v in served:
        schema = schemas.retrieve(v.schema_version, zone_id=z.id, format="cedar").cedar_schema
        result = cedarpy.validate_policies(v.cedar_raw, schema)
        assert result.validation_passed, (v.policy_id, v.cedar_raw, result.errors)
    bad = cedarpy.validate_policies("permit (principal, action, resource) when { principal.nope };", text)
    assert not bad.validation_passed, "the check can fail"


def decisions(z: OAuthZone, **params: str) -> list[dict]:
    r = z.admin_http.get(f"/zones/{z.id}/policy-decisions", params=params)
    assert r.status_code == 200, r.text
    return r.json()["items"]


def eventually(fetch, ok, seconds: float = 5.0):
    """The decision log is written in the background: poll until `ok(value)`."""
    import time

    deadline = time.monotonic() + seconds
    while True:
        value = fetch()
        if ok(value) or time.monotonic() > deadline:
            return value
        time.sleep(0.1)


def test_decisions_are_logged_and_a_shadow_set_is_observed_not_enforced(fresh_zone):
    """Extensions: every issuance decision lands in `/policy-decisions`; a version bound with
    `{"shadow": true}` is evaluated and recorded when it disagrees, never enforced."""
    z = fresh_zone()
    target = z.resource(identifier=lk.unique_url("logged"))
    svc = z.service(depends_on=[target])
    assert cc(z, svc, target).status_code == 200
    rows = eventually(lambda: decisions(z), lambda rows: len(rows) >= 1)
    assert rows, "the allow was logged"
    first = rows[0]
    default = next(s for s in zone_sets(z) if s.name == "default-zone-policies")
    assert (first["decision"], first["principal_type"], first["principal_id"], first["resource_id"]) == (
        "allow", "application", svc.app.id, target.id,
    )  # fmt: skip
    assert (first["policy_set_id"], first["policy_set_version"], first["shadow"]) == (default.id, 1, None)
    assert "default-app-direct-access" in [p["policy_name"] for p in first["determining_policies"]]

    api = z.kit.client.zones.policy_sets
    forbid = policy_with_version(z, "forbid-all", '@id("forbid-all")\nforbid (principal, action, resource);')
    shadow_set = api.create(z.id, name=lk.unique("shadow"))
    sv = api.versions.create(shadow_set.id, zone_id=z.id, schema_version=SCHEMA,
                             manifest={"entries": [{"policy_id": forbid[0].id, "policy_version_id": forbid[1].id}]})
    r = z.admin_http.patch(f"/zones/{z.id}/policy-sets/{shadow_set.id}/versions/{sv.id}", json={"shadow": True})
    assert r.status_code == 200 and r.json()["shadow"] is True, r.text
    got = api.retrieve(shadow_set.id, zone_id=z.id)
    assert (got.shadow_version_id, got.active, got.mode) == (sv.id, False, "shadow")
    assert cc(z, svc, target).status_code == 200, "a shadow set never denies"
    rows = eventually(lambda: decisions(z), lambda rows: any(x["shadow"] for x in rows))
    shadowed = [x for x in rows if x["shadow"]]
    assert shadowed, rows
    assert shadowed[0]["decision"] == "allow"
    assert (shadowed[0]["shadow"]["decision"], shadowed[0]["shadow"]["policy_set_id"]) == ("deny", shadow_set.id)
    assert decisions(z, **{"filter[decision]": "deny"}) == []
    assert len(decisions(z, **{"filter[principal]": svc.app.id})) == len(rows)
    # Identical decisions are tallied: one row per window, `evaluations` counts them all.
    other = z.resource(identifier=lk.unique_url("tallied"))
    z.add_dependency(svc, other)
    assert [cc(z, svc, other).status_code for _ in range(5)] == [200] * 5
    tallied = eventually(
        lambda: decisions(z, **{"filter[resource]": other.id}),
        lambda rows: sum(x["evaluations"] for x in rows) >= 5,
    )
    assert sum(x["evaluations"] for x in tallied) == 5, tallied
    assert all(x["created_at"] <= x["last_at"] for x in tallied), tallied
    lk.assert_error(z.admin_http.get(f"/zones/{z.id}/policy-decisions", params={"filter[since]": "yesterday"}), 400)


SUBSTITUTE_USER = "urn:keycard:params:oauth:token-type:substitute-user"


def substitute_user_token(sub: str) -> str:
    """Keycard's unsigned substitute-user token (go-sdk `oauth/impersonate.go`)."""

    def enc(v: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(v).encode()).rstrip(b"=").decode()

    return enc({"typ": "vnd.kc.su+jwt", "alg": "none"}) + "." + enc({"sub": sub}) + "."


def test_impersonation_needs_a_customer_permit(fresh_zone, records):
    """No default policy permits impersonation; a customer permit on `context.impersonate` does,
    and then the request goes on to the user's delegated grant (none here: the zone says so, which
    it never says while policy refuses)."""
    z = fresh_zone()
    target = z.resource(identifier=lk.unique_url("imp"), name=lk.unique("Imp API"))
    svc = z.service(depends_on=[target])
    user = records.user(z.kit.zone)

    def attempt(sub: str) -> httpx.Response:
        return z.token_post(
            {"grant_type": "urn:ietf:params:oauth:grant-type:token-exchange", "resource": target.identifier,
             "subject_token": substitute_user_token(sub), "subject_token_type": SUBSTITUTE_USER},
            svc.headers(),
        )  # fmt: skip

    refused = attempt(user["identifier"])
    assert (refused.status_code, refused.json().get("error")) == (400, "access_denied"), refused.text
    assert "default-zone-policies" in refused.json()["error_description"]
    impersonate = '@id("impersonate")\npermit (principal is Keycard::Application, action, resource) when { context.impersonate };'
    activated_set(z, [policy_with_version(z, "impersonate", impersonate)])
    past_policy = attempt(user["identifier"])
    assert past_policy.json().get("error") == "insufficient_authorization", past_policy.text
    nobody = attempt("nobody-" + lk.unique_token("x"))
    assert nobody.json().get("error") == "invalid_grant", nobody.text
