"""The organization SSO connection (spec §3.1.18–3.1.21, §4.2 `SSOConnection`, §2.6 tri-state
PATCH), through the SDK's `organizations.sso_connection.enable/retrieve/update/disable`:
201/409/404/204, every `protocols.*` sub-field set / left / cleared, the client secret stored
sealed and shown only as `client_secret_set`, `Organization.sso_enabled`, the platform zone's
sign-in provider kept in step, and 400s naming the field. Sign-in through the connection is
`e2e/test_sso_signin.py`."""

from __future__ import annotations

import copy
import json

import pytest
from keycardai_api import BadRequestError, ConflictError, NotFoundError, PermissionDeniedError
from keycardai_api.types.organizations import SSOConnection

import lk

ISSUER = "https://idp.example.com"

OAUTH2 = {
    "authorization_endpoint": "https://idp.example.com/authorize",
    "authorization_parameters": {"prompt": "login", "hd": "example.com"},
    "code_challenge_methods_supported": ["S256"],
    "jwks_uri": "https://idp.example.com/jwks",
    "registration_endpoint": "https://idp.example.com/register",
    "scopes_supported": ["openid", "email", "groups"],
    "token_endpoint": "https://idp.example.com/token",
}
OPENID = {
    "scopes": ["groups"],
    "user_identifier_claim": "preferred_username",
    "userinfo_endpoint": "https://idp.example.com/userinfo",
}
OTHER = {
    ("oauth2", "authorization_endpoint"): "https://idp.example.com/v2/authorize",
    ("oauth2", "authorization_parameters"): {"login_hint": "someone"},
    ("oauth2", "code_challenge_methods_supported"): ["S256", "plain"],
    ("oauth2", "jwks_uri"): "https://idp.example.com/v2/jwks",
    ("oauth2", "registration_endpoint"): "https://idp.example.com/v2/register",
    ("oauth2", "scopes_supported"): ["openid"],
    ("oauth2", "token_endpoint"): "https://idp.example.com/v2/token",
    ("openid", "scopes"): ["offline_access", "groups"],
    ("openid", "user_identifier_claim"): "email",
    ("openid", "userinfo_endpoint"): "https://idp.example.com/v2/userinfo",
}


def full_protocols() -> dict:
    return {"oauth2": copy.deepcopy(OAUTH2), "openid": copy.deepcopy(OPENID)}


def secret() -> str:
    return lk.unique_token("sso-secret") * 2


def raw(call) -> dict:
    status, body, _ = lk.raw_json(call)
    assert 200 <= status < 300, (status, body)
    return body


def enable(admin, org, **body) -> tuple[int, dict]:
    body.setdefault("client_id", "latchkey-sso")
    body.setdefault("identifier", ISSUER)
    status, data, _ = lk.raw_json(admin.organizations.sso_connection.with_raw_response.enable(org.id, **body))
    return status, data


def protocols_of(body: dict) -> dict:
    """The response's protocols with absent and null sub-fields dropped (both mean unset)."""
    out = {}
    for block, fields in (body.get("protocols") or {}).items():
        if fields is None:
            continue
        out[block] = {k: v for k, v in fields.items() if v is not None}
    return out


# --------------------------------------------------------------------------------------------
# Lifecycle: enable (201, 409), retrieve, disable (204), 404 when not enabled
# --------------------------------------------------------------------------------------------


def test_lifecycle_and_sso_enabled(admin, new_org):
    sso = admin.organizations.sso_connection
    with lk.api_error(NotFoundError, 404, "not_found"):
        sso.retrieve(new_org.id)
    assert admin.organizations.retrieve(new_org.id).sso_enabled is False

    status, body = enable(admin, new_org, client_secret=secret(), protocols=full_protocols())
    assert status == 201, body
    conn = lk.assert_valid(SSOConnection, body)
    assert lk.NANOID_RE.match(conn.id), conn.id
    assert (conn.client_id, conn.identifier, conn.client_secret_set) == ("latchkey-sso", ISSUER, True)
    assert protocols_of(body) == full_protocols()
    lk.assert_rfc3339(body["created_at"], "created_at")
    lk.assert_rfc3339(body["updated_at"], "updated_at")
    assert "permissions" not in body
    assert admin.organizations.retrieve(new_org.id).sso_enabled is True

    # One connection per organization.
    with lk.api_error(ConflictError, 409, "conflict") as info:
        sso.enable(new_org.id, client_id="another", identifier="https://other.example.com")
    assert "SSO is already enabled for this organization" in info.body["message"]
    again = raw(sso.with_raw_response.retrieve(new_org.id))
    assert again == body, "the refused enable changed the connection"

    got = sso.retrieve(new_org.id)
    assert (got.id, got.client_id, got.client_secret_set) == (conn.id, "latchkey-sso", True)

    status, _, _ = lk.raw_json(sso.with_raw_response.disable(new_org.id))
    assert status == 204
    assert admin.organizations.retrieve(new_org.id).sso_enabled is False
    with lk.api_error(NotFoundError, 404, "not_found"):
        sso.retrieve(new_org.id)
    with lk.api_error(NotFoundError, 404, "not_found"):
        sso.update(new_org.id, client_id="x")
    with lk.api_error(NotFoundError, 404, "not_found"):
        sso.disable(new_org.id)

    # Enabling again starts afresh.
    status, body2 = enable(admin, new_org)
    assert status == 201, body2
    assert body2["id"] != conn.id
    assert body2["client_secret_set"] is False and protocols_of(body2) == {}
    assert admin.organizations.retrieve(new_org.id).sso_enabled is True


def test_organization_by_label_and_expand_permissions(admin, new_org):
    sso = admin.organizations.sso_connection
    status, body = enable(admin, new_org)
    assert status == 201
    by_label = sso.retrieve(new_org.label)
    assert by_label.id == body["id"]
    expanded = raw(sso.with_raw_response.retrieve(new_org.label, expand=["permissions"]))
    assert isinstance(expanded.get("permissions"), dict) and expanded["permissions"], expanded
    sso.disable(new_org.label)
    assert admin.organizations.retrieve(new_org.id).sso_enabled is False


def test_unknown_organization_is_404(admin):
    with lk.api_error(NotFoundError, 404, "not_found"):
        admin.organizations.sso_connection.retrieve("no-such-org-" + lk.unique_token("x"))


def test_another_organization_is_refused(admin, make_sa, new_org):
    """An organization's own credential manages its connection, never another organization's."""
    sa = make_sa()
    mine = sa.client.organizations.sso_connection.enable(sa.org.id, client_id="own", identifier=ISSUER)
    assert mine.client_id == "own"
    assert sa.client.organizations.sso_connection.retrieve(sa.org.id).id == mine.id
    with lk.api_error(PermissionDeniedError, 403):
        sa.client.organizations.sso_connection.enable(new_org.id, client_id="x", identifier=ISSUER)
    with lk.api_error(PermissionDeniedError, 403):
        sa.client.organizations.sso_connection.retrieve(new_org.id)
    assert admin.organizations.retrieve(new_org.id).sso_enabled is False


# --------------------------------------------------------------------------------------------
# PATCH: tri-state down to every sub-field
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("block,field", sorted(OTHER), ids=[f"{b}.{f}" for b, f in sorted(OTHER)])
def test_patch_each_sub_field_set_leave_clear(admin, new_org, block, field):
    sso = admin.organizations.sso_connection
    status, body = enable(admin, new_org, client_secret=secret(), protocols=full_protocols())
    assert status == 201, body
    expected = full_protocols()

    # absent: unchanged (an empty block, an empty protocols object, an empty body)
    for patch in ({"protocols": {block: {}}}, {"protocols": {}}, {}):
        after = raw(sso.with_raw_response.update(new_org.id, **patch))
        assert protocols_of(after) == expected, (patch, after)
        assert after["client_secret_set"] is True and after["client_id"] == "latchkey-sso"

    # value: set, the rest unchanged
    value = OTHER[(block, field)]
    after = raw(sso.with_raw_response.update(new_org.id, protocols={block: {field: value}}))
    expected[block][field] = value
    assert protocols_of(after) == expected, after
    assert protocols_of(raw(sso.with_raw_response.retrieve(new_org.id))) == expected

    # null: cleared, the rest unchanged
    after = raw(sso.with_raw_response.update(new_org.id, protocols={block: {field: None}}))
    del expected[block][field]
    assert protocols_of(after) == expected, after
    assert protocols_of(raw(sso.with_raw_response.retrieve(new_org.id))) == expected
    assert after["client_secret_set"] is True and after["identifier"] == ISSUER


def test_patch_whole_protocols(admin, new_org):
    sso = admin.organizations.sso_connection
    enable(admin, new_org, protocols=full_protocols())
    after = raw(sso.with_raw_response.update(new_org.id, protocols={"oauth2": None}))
    assert protocols_of(after) == {"openid": OPENID}, after
    after = raw(sso.with_raw_response.update(new_org.id, protocols={"oauth2": {"jwks_uri": OAUTH2["jwks_uri"]}}))
    assert protocols_of(after) == {"oauth2": {"jwks_uri": OAUTH2["jwks_uri"]}, "openid": OPENID}, after
    after = raw(sso.with_raw_response.update(new_org.id, protocols={"openid": None}))
    assert protocols_of(after) == {"oauth2": {"jwks_uri": OAUTH2["jwks_uri"]}}, after
    after = raw(sso.with_raw_response.update(new_org.id, protocols=None))
    assert protocols_of(after) == {}, after
    assert protocols_of(raw(sso.with_raw_response.retrieve(new_org.id))) == {}


def test_patch_client_id_secret_identifier(admin, new_org):
    sso = admin.organizations.sso_connection
    _, body = enable(admin, new_org)
    assert body["client_secret_set"] is False
    first = body["updated_at"]

    after = raw(sso.with_raw_response.update(new_org.id, client_secret=secret()))
    assert after["client_secret_set"] is True and after["client_id"] == "latchkey-sso"
    assert after["updated_at"] >= first
    after = raw(sso.with_raw_response.update(new_org.id, identifier="https://login.example.org/tenant"))
    assert after["identifier"] == "https://login.example.org/tenant"
    assert after["client_secret_set"] is True, "an absent client_secret is left as it is"
    after = raw(sso.with_raw_response.update(new_org.id, client_id="renamed"))
    assert after["client_id"] == "renamed"

    # null removes the client id and the secret ("set to null to remove")
    after = raw(sso.with_raw_response.update(new_org.id, extra_body={"client_id": None, "client_secret": None}))
    assert "client_id" in after and after["client_id"] is None, after
    assert after["client_secret_set"] is False
    got = raw(sso.with_raw_response.retrieve(new_org.id))
    assert got["client_id"] is None and got["client_secret_set"] is False
    lk.assert_valid(SSOConnection, got)

    # the identifier cannot be removed
    with lk.api_error(BadRequestError, 400, "invalid_field") as info:
        sso.update(new_org.id, extra_body={"identifier": None})
    assert "`identifier`" in info.body["message"]
    assert raw(sso.with_raw_response.retrieve(new_org.id))["identifier"] == "https://login.example.org/tenant"


# --------------------------------------------------------------------------------------------
# The secret: sealed, never shown
# --------------------------------------------------------------------------------------------


def test_client_secret_never_in_any_response(admin, new_org, records):
    sso = admin.organizations.sso_connection
    s1, s2 = secret(), secret()
    seen = []
    status, body = enable(admin, new_org, client_secret=s1, protocols=full_protocols())
    seen.append(body)
    seen.append(raw(sso.with_raw_response.retrieve(new_org.id, expand=["permissions"])))
    seen.append(raw(sso.with_raw_response.update(new_org.id, client_secret=s2)))
    seen.append(raw(sso.with_raw_response.retrieve(new_org.id)))
    providers = admin.zones.providers.list(new_org.zone_id)
    seen.append(json.loads(providers.to_json()))
    # a refused write does not echo the secret either
    with lk.api_error(BadRequestError, 400, "invalid_field") as info:
        sso.update(new_org.id, client_secret=s1, protocols={"oauth2": {"jwks_uri": "not a url"}})
    seen.append(info.body)
    with lk.api_error(ConflictError, 409, "conflict") as info:
        sso.enable(new_org.id, client_id="x", identifier=ISSUER, client_secret=s1)
    seen.append(info.body)
    for doc in seen:
        text = json.dumps(doc)
        assert s1 not in text and s2 not in text, text
        assert "client_secret\"" not in text.replace("client_secret_set\"", ""), text
    # the refused update left the stored secret alone; it is sealed at rest
    assert raw(sso.with_raw_response.retrieve(new_org.id))["client_secret_set"] is True
    assert records.stored_in_plaintext(ISSUER, "sso_connections", "identifier"), "the check cannot see stored values"
    for table in ("sso_connections", "providers"):
        assert not records.stored_in_plaintext(s2, table, "client_secret"), table
        assert not records.stored_in_plaintext(s1, table, "client_secret"), table
    with open(admin_log_path(records)) as f:
        log = f.read()
    assert s1 not in log and s2 not in log, "a secret reached the server log"


def admin_log_path(records) -> str:
    return str(records.server.log_path)


# --------------------------------------------------------------------------------------------
# The platform zone signs people in through the connection
# --------------------------------------------------------------------------------------------


def test_platform_zone_provider_follows_the_connection(admin, new_org):
    sso = admin.organizations.sso_connection
    zone_id = new_org.zone_id
    assert admin.zones.retrieve(zone_id).user_identity_provider_id is None
    enable(admin, new_org, client_secret=secret(), protocols={"openid": {"user_identifier_claim": "email"}})

    def login_provider():
        zone = admin.zones.retrieve(zone_id)
        assert zone.user_identity_provider_id, "the platform zone does not sign in through SSO"
        return admin.zones.providers.retrieve(zone.user_identity_provider_id, zone_id=zone_id)

    p = login_provider()
    assert (p.identifier, p.client_id, p.client_secret_set, p.owner_type) == (
        ISSUER,
        "latchkey-sso",
        True,
        "platform",
    )
    assert p.protocols.openid.user_identifier_claim == "email"
    # platform-owned: changed only through the connection
    with pytest.raises((PermissionDeniedError, BadRequestError, ConflictError)):
        admin.zones.providers.update(p.id, zone_id=zone_id, client_id="hijack")
    with pytest.raises((PermissionDeniedError, BadRequestError, ConflictError)):
        admin.zones.providers.delete(p.id, zone_id=zone_id)

    sso.update(
        new_org.id,
        identifier="https://login.example.org",
        client_id="second",
        client_secret=None,
        protocols={"oauth2": {"token_endpoint": "https://login.example.org/token"}},
    )
    p2 = login_provider()
    assert p2.id == p.id
    assert (p2.identifier, p2.client_id, p2.client_secret_set) == ("https://login.example.org", "second", False)
    assert p2.protocols.oauth2.issuer == "https://login.example.org"
    assert p2.protocols.oauth2.token_endpoint == "https://login.example.org/token"
    assert p2.protocols.openid.user_identifier_claim == "email"

    sso.disable(new_org.id)
    assert admin.zones.retrieve(zone_id).user_identity_provider_id is None
    ids = [x.id for x in admin.zones.providers.list(zone_id).items]
    assert p.id not in ids, "the SSO provider outlived the connection"


# --------------------------------------------------------------------------------------------
# Bad input: 400 naming the field, nothing stored
# --------------------------------------------------------------------------------------------

LONG = "https://idp.example.com/" + "a" * 2030

BAD_ENABLE = [
    ({"identifier": ""}, "identifier"),
    ({"identifier": "not a url"}, "identifier"),
    ({"identifier": "http://idp.example.com"}, "identifier"),
    ({"identifier": "ftp://idp.example.com"}, "identifier"),
    ({"identifier": LONG}, "identifier"),
    ({"client_id": ""}, "client_id"),
    ({"client_id": "c" * 256}, "client_id"),
    ({"client_secret": ""}, "client_secret"),
    ({"client_secret": "s" * 4097}, "client_secret"),
    ({"protocols": {"oauth2": {"authorization_endpoint": "javascript:alert(1)"}}}, "protocols.oauth2.authorization_endpoint"),
    ({"protocols": {"oauth2": {"jwks_uri": "http://jwks.example.com/keys"}}}, "protocols.oauth2.jwks_uri"),
    ({"protocols": {"oauth2": {"token_endpoint": "/token"}}}, "protocols.oauth2.token_endpoint"),
    ({"protocols": {"oauth2": {"registration_endpoint": LONG}}}, "protocols.oauth2.registration_endpoint"),
    ({"protocols": {"oauth2": {"authorization_parameters": {"state": "x"}}}}, "protocols.oauth2.authorization_parameters.state"),
    ({"protocols": {"oauth2": {"authorization_parameters": {"redirect_uri": "https://evil"}}}}, "protocols.oauth2.authorization_parameters.redirect_uri"),
    ({"protocols": {"oauth2": {"authorization_parameters": {f"k{i}": "v" for i in range(51)}}}}, "protocols.oauth2.authorization_parameters"),
    ({"protocols": {"oauth2": {"authorization_parameters": {"prompt": "v" * 2049}}}}, "protocols.oauth2.authorization_parameters.prompt"),
    ({"protocols": {"oauth2": {"code_challenge_methods_supported": [""]}}}, "protocols.oauth2.code_challenge_methods_supported[0]"),
    ({"protocols": {"oauth2": {"scopes_supported": ["ok", "not ok"]}}}, "protocols.oauth2.scopes_supported[1]"),
    ({"protocols": {"oauth2": {"scopes_supported": [f"s{i}" for i in range(101)]}}}, "protocols.oauth2.scopes_supported"),
    ({"protocols": {"openid": {"scopes": ["a\"b"]}}}, "protocols.openid.scopes[0]"),
    ({"protocols": {"openid": {"user_identifier_claim": ""}}}, "protocols.openid.user_identifier_claim"),
    ({"protocols": {"openid": {"user_identifier_claim": "c" * 256}}}, "protocols.openid.user_identifier_claim"),
    ({"protocols": {"openid": {"userinfo_endpoint": "nope"}}}, "protocols.openid.userinfo_endpoint"),
]


@pytest.mark.parametrize("body,field", BAD_ENABLE, ids=[f"{f}-{i}" for i, (_, f) in enumerate(BAD_ENABLE)])
def test_enable_bad_input_names_the_field(admin, new_org, body, field):
    full = {"client_id": "latchkey-sso", "identifier": ISSUER, **body}
    with lk.api_error(BadRequestError, 400, "invalid_field") as info:
        admin.organizations.sso_connection.enable(new_org.id, **full)
    assert f"`{field}`" in info.body["message"], info.body
    assert admin.organizations.retrieve(new_org.id).sso_enabled is False
    with lk.api_error(NotFoundError, 404, "not_found"):
        admin.organizations.sso_connection.retrieve(new_org.id)


@pytest.mark.parametrize("missing", ["client_id", "identifier"])
def test_enable_requires_client_id_and_identifier(admin_http, new_org, missing):
    body = {"client_id": "latchkey-sso", "identifier": ISSUER}
    del body[missing]
    r = admin_http.post(f"/organizations/{new_org.id}/sso-connection", json=body)
    assert r.status_code == 400, r.text
    assert missing in r.json()["message"], r.text


BAD_UPDATE = [
    ({"identifier": "http://idp.example.com"}, "identifier"),
    ({"client_id": ""}, "client_id"),
    ({"client_secret": ""}, "client_secret"),
    ({"protocols": {"oauth2": {"jwks_uri": "nope"}}}, "protocols.oauth2.jwks_uri"),
    ({"protocols": {"oauth2": {"authorization_parameters": {"nonce": "x"}}}}, "protocols.oauth2.authorization_parameters.nonce"),
    ({"protocols": {"openid": {"scopes": ["x y"]}}}, "protocols.openid.scopes[0]"),
    ({"protocols": {"openid": {"user_identifier_claim": ""}}}, "protocols.openid.user_identifier_claim"),
]


@pytest.mark.parametrize("body,field", BAD_UPDATE, ids=[f"{f}-{i}" for i, (_, f) in enumerate(BAD_UPDATE)])
def test_update_bad_input_names_the_field_and_changes_nothing(admin, new_org, body, field):
    sso = admin.organizations.sso_connection
    _, before = enable(admin, new_org, client_secret=secret(), protocols=full_protocols())
    with lk.api_error(BadRequestError, 400, "invalid_field") as info:
        sso.update(new_org.id, extra_body=body)
    assert f"`{field}`" in info.body["message"], info.body
    assert raw(sso.with_raw_response.retrieve(new_org.id)) == before


def test_loopback_http_identifier_allowed_when_private_fetch_is(admin, new_org):
    """The conformance server listens on loopback, so private fetches are allowed (local
    development): an http issuer on a loopback address is accepted, as the e2e IdP needs."""
    status, body = enable(admin, new_org, identifier="http://127.0.0.1:9/issuer")
    assert status == 201, body
    assert body["identifier"] == "http://127.0.0.1:9/issuer"
