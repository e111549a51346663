"""Providers (spec §3.9, §4.8, §2.6, §2.8, B5, B15, B17). Paging, filters and sort:
test_directory_lists.py."""

from __future__ import annotations

import pytest
from keycardai_api import BadRequestError, ConflictError, NotFoundError, PermissionDeniedError
from keycardai_api.types.zones import Provider

import lk

OAUTH2 = {
    "issuer": "https://idp.example.com",
    "authorization_endpoint": "https://idp.example.com/oauth/authorize",
    "authorization_parameters": {"prompt": "consent", "access_type": "offline"},
    "authorization_resource_enabled": True,
    "authorization_resource_parameter": "audience",
    "code_challenge_methods_supported": ["S256"],
    "jwks_uri": "https://idp.example.com/.well-known/jwks.json",
    "registration_endpoint": "https://idp.example.com/oauth/register",
    "scope_parameter": "user_scope",
    "scope_separator": ",",
    "scopes_supported": ["openid", "email", "repo"],
    "token_endpoint": "https://idp.example.com/oauth/token",
    "token_response_access_token_pointer": "authed_user.access_token",
}
OPENID = {
    "scopes": ["groups"],
    "single_logout_enabled": True,
    "user_identifier_claim": "email",
    "userinfo_endpoint": "https://idp.example.com/userinfo",
}


def providers(zone: lk.ZoneKit):
    return zone.client.zones.providers


def full_body() -> dict:
    return dict(
        identifier=lk.unique_url("idp"),
        name=lk.unique("Full IdP"),
        client_id="client-123",
        client_secret="s3cret-value-that-must-not-come-back",
        description="a provider with every field",
        metadata={"icon_url": "https://cdn.example.com/idp.png"},
        protocols={"oauth2": dict(OAUTH2), "openid": dict(OPENID)},
    )


def raw_retrieve(zone: lk.ZoneKit, pid: str) -> dict:
    status, body, _ = lk.raw_json(providers(zone).with_raw_response.retrieve(pid, zone_id=zone.id))
    assert status == 200
    return body


# --------------------------------------------------------------------------------------------
# Platform providers
# --------------------------------------------------------------------------------------------


def test_every_zone_has_two_platform_providers(fresh_zone):
    zone = fresh_zone
    status, body, _ = lk.raw_json(providers(zone).with_raw_response.list(zone.id, limit=100))
    assert status == 200
    by_type = {p["type"]: p for p in body["items"]}
    assert len(body["items"]) == 2 and set(by_type) == {"keycard-sts", "keycard-vault"}, body["items"]
    sts, vault = by_type["keycard-sts"], by_type["keycard-vault"]
    for p in (sts, vault):
        lk.assert_valid(Provider, p)
        assert p["owner_type"] == "platform"
        assert p["zone_id"] == zone.id and p["organization_id"] == zone.organization_id
    assert (sts["id"], sts["identifier"], sts["slug"]) == (zone.sts_provider_id, "urn:keycard:sts", "keycard-sts")
    assert (vault["id"], vault["identifier"]) == (zone.vault_provider_id, "urn:keycard:vault")
    assert vault["slug"] == "keycard-vault"
    assert raw_retrieve(zone, zone.sts_provider_id) == sts


def test_filter_by_type(zone):
    mine = zone.provider()
    lst = providers(zone).list
    assert lk.ids(lst(zone.id, filter_type=["keycard-sts"]).items) == [zone.sts_provider_id]
    assert sorted(lk.ids(lst(zone.id, filter_type=["keycard-sts", "keycard-vault"]).items)) == sorted(
        [zone.sts_provider_id, zone.vault_provider_id]
    )
    externals = lst(zone.id, filter_type=["external"], limit=100).items
    assert mine.id in lk.ids(externals) and all(p.type == "external" for p in externals)
    both = [mine.id, zone.sts_provider_id]
    assert lk.ids(lst(zone.id, filter_type=["external"], filter_id=both).items) == [mine.id]
    assert lk.ids(lst(zone.id, filter_type=["keycard-sts"], filter_id=both).items) == [zone.sts_provider_id]
    assert lk.ids(lst(zone.id, type="keycard-vault").items) == [zone.vault_provider_id]
    with lk.api_error(BadRequestError, 400, "invalid_query"):
        lst(zone.id, filter_type=["magic"])  # type: ignore[list-item]


@pytest.mark.parametrize("which", ["sts", "vault"])
def test_platform_providers_are_read_only(zone, which):
    pid = zone.sts_provider_id if which == "sts" else zone.vault_provider_id
    before = raw_retrieve(zone, pid)
    for call in (
        lambda: providers(zone).update(pid, zone_id=zone.id, name="mine now"),
        lambda: providers(zone).update(pid, zone_id=zone.id, description=None),
        lambda: providers(zone).delete(pid, zone_id=zone.id),
    ):
        with lk.api_error(PermissionDeniedError, 403, "platform_owned"):
            call()
    assert raw_retrieve(zone, pid) == before


# --------------------------------------------------------------------------------------------
# Create and read
# --------------------------------------------------------------------------------------------


def test_create_with_every_field(zone):
    body = full_body()
    status, raw, _ = lk.raw_json(providers(zone).with_raw_response.create(zone.id, **body))
    assert status == 201
    p = lk.assert_valid(Provider, raw)
    assert (p.identifier, p.name, p.description, p.client_id) == (
        body["identifier"], body["name"], body["description"], "client-123"
    )
    assert p.type == "external" and p.owner_type == "customer"
    assert p.zone_id == zone.id and p.organization_id == zone.organization_id
    assert lk.SLUG_RE.match(p.slug) and len(p.slug) <= 63
    assert p.client_secret_set is True
    assert "client_secret" not in raw and body["client_secret"] not in str(raw), "the client secret came back"
    assert p.metadata.icon_url == "https://cdn.example.com/idp.png"
    o = raw["protocols"]["oauth2"]
    for key, value in OAUTH2.items():
        assert o.get(key) == value, (key, o.get(key))
    oid = raw["protocols"]["openid"]
    assert oid["single_logout_enabled"] is True
    assert oid["user_identifier_claim"] == "email"
    assert oid["userinfo_endpoint"] == OPENID["userinfo_endpoint"]
    assert "groups" in oid["scopes"], "given scopes are kept (they may be merged with openid/profile/email)"
    assert set(oid["scopes"]) <= {"groups", "openid", "profile", "email"}
    again = raw_retrieve(zone, p.id)
    assert again == raw
    listed = providers(zone).with_raw_response.list(zone.id, filter_id=[p.id]).http_response.json()["items"]
    assert listed == [raw]


def test_create_minimal(zone):
    ident = lk.unique_url("min-idp")
    status, raw, _ = lk.raw_json(providers(zone).with_raw_response.create(zone.id, identifier=ident, name="Min"))
    assert status == 201
    p = lk.assert_valid(Provider, raw)
    assert p.type == "external" and p.owner_type == "customer"
    assert not p.client_secret_set
    assert raw.get("client_id") is None and raw.get("description") is None
    assert "client_secret" not in raw


def test_issuer_defaults_to_identifier(zone):
    ident = lk.unique_url("issuer")
    p = zone.provider(identifier=ident, protocols={"oauth2": {"token_endpoint": ident + "token"}})
    assert p.protocols.oauth2.issuer == ident
    assert p.protocols.oauth2.token_endpoint == ident + "token"
    o = p.protocols.oauth2
    assert o.scope_parameter in (None, "scope") and o.scope_separator in (None, " ")
    assert o.token_response_access_token_pointer in (None, "access_token")


def test_duplicate_identifier_is_409(zone):
    a = zone.provider()
    before = zone.count(providers(zone).list)
    with lk.api_error(ConflictError, 409, "conflict") as info:
        zone.provider(identifier=a.identifier)
    assert info.value.response.headers.get("x-should-retry") == "false"
    with lk.api_error(ConflictError, 409, "conflict"):
        zone.provider(identifier="urn:keycard:sts")
    assert zone.count(providers(zone).list) == before


def test_retrieve_unknown(zone):
    with lk.api_error(NotFoundError, 404, "not_found"):
        providers(zone).retrieve("nosuchprovider000000000000", zone_id=zone.id)


def test_client_secret_not_stored_in_plaintext(zone, records):
    body = full_body()
    body["client_secret"] = "provider-secret-" + lk.unique("m").split()[-1] * 3
    zone.provider(**body)
    assert records.stored_in_plaintext(body["identifier"], "providers", "identifier"), "the check cannot see stored values"
    assert not records.stored_in_plaintext(body["client_secret"], "providers", "client_secret")


# --------------------------------------------------------------------------------------------
# Update (PATCH, tri-state)
# --------------------------------------------------------------------------------------------


def test_update_keeps_absent_fields(zone):
    p = zone.provider(**full_body())
    status, raw, _ = lk.raw_json(providers(zone).with_raw_response.update(p.id, zone_id=zone.id, name="Renamed"))
    assert status == 200
    upd = lk.assert_valid(Provider, raw)
    assert upd.name == "Renamed" and upd.slug == p.slug
    assert upd.client_secret_set is True and upd.client_id == p.client_id
    assert upd.protocols.to_dict() == p.protocols.to_dict()
    assert upd.metadata.to_dict() == p.metadata.to_dict()
    assert upd.description == p.description


def test_update_client_secret(zone):
    p = zone.provider(client_id="cid", client_secret="first")
    assert p.client_secret_set is True
    upd = providers(zone).update(p.id, zone_id=zone.id, client_secret=None)
    assert not upd.client_secret_set, "client_secret: null removes it (B5)"
    assert upd.client_id == "cid"
    upd = providers(zone).update(p.id, zone_id=zone.id, client_secret="second")
    assert upd.client_secret_set is True
    raw = providers(zone).with_raw_response.update(p.id, zone_id=zone.id, client_id=None).http_response.json()
    assert raw.get("client_id") is None and "client_secret" not in raw
    assert raw["client_secret_set"] is True


def test_update_description_and_metadata_null(zone):
    p = zone.provider(description="d", metadata={"icon_url": "https://i.example.com/a.png"})
    upd = providers(zone).update(p.id, zone_id=zone.id, description=None, metadata=None)
    assert upd.description is None
    assert upd.metadata is None or upd.metadata.icon_url is None
    p = zone.provider(metadata={"icon_url": "https://i.example.com/a.png"})
    upd = providers(zone).update(p.id, zone_id=zone.id, metadata={"icon_url": None})
    assert upd.metadata is None or upd.metadata.icon_url is None


def test_update_metadata_empty_object_wipes(zone):
    # spec §2.6: for metadata objects, `null` or `{}` removes all metadata
    p = zone.provider(metadata={"icon_url": "https://i.example.com/a.png"})
    upd = providers(zone).update(p.id, zone_id=zone.id, metadata={})
    assert upd.metadata is None or upd.metadata.icon_url is None, upd.metadata
    got = providers(zone).retrieve(p.id, zone_id=zone.id)
    assert got.metadata is None or got.metadata.icon_url is None


def test_update_protocols_null_removes_all(zone):
    p = zone.provider(**full_body())
    upd = providers(zone).update(p.id, zone_id=zone.id, protocols=None)
    assert upd.protocols is None or (upd.protocols.oauth2 is None and upd.protocols.openid is None), upd.protocols
    got = raw_retrieve(zone, p.id)
    assert not (got.get("protocols") or {}).get("oauth2") and not (got.get("protocols") or {}).get("openid")


def test_update_one_protocol_block_null(zone):
    p = zone.provider(**full_body())
    upd = providers(zone).update(p.id, zone_id=zone.id, protocols={"openid": None})
    assert upd.protocols.openid is None
    assert upd.protocols.oauth2.token_endpoint == OAUTH2["token_endpoint"]
    upd = providers(zone).update(p.id, zone_id=zone.id, protocols={"oauth2": None})
    assert upd.protocols is None or upd.protocols.oauth2 is None


def test_update_protocols_partially(zone):
    p = zone.provider(**full_body())
    upd = providers(zone).update(
        p.id,
        zone_id=zone.id,
        protocols={"oauth2": {"token_endpoint": "https://idp.example.com/v2/token", "scopes_supported": None}},
    )
    o = upd.protocols.oauth2
    assert o.token_endpoint == "https://idp.example.com/v2/token"
    assert not o.scopes_supported
    assert o.issuer == OAUTH2["issuer"] and o.jwks_uri == OAUTH2["jwks_uri"]
    assert o.authorization_parameters == OAUTH2["authorization_parameters"]
    assert upd.protocols.openid.userinfo_endpoint == OPENID["userinfo_endpoint"]
    upd = providers(zone).update(p.id, zone_id=zone.id, protocols={"openid": {"single_logout_enabled": False}})
    assert upd.protocols.openid.single_logout_enabled is False
    assert upd.protocols.openid.user_identifier_claim == "email"


def test_issuer_cannot_be_null(zone):
    p = zone.provider(**full_body())
    with lk.api_error(BadRequestError, 400, "invalid_field") as info:
        providers(zone).update(p.id, zone_id=zone.id, protocols={"oauth2": {"issuer": None}})
    assert "issuer" in info.body["message"]
    assert providers(zone).retrieve(p.id, zone_id=zone.id).protocols.oauth2.issuer == OAUTH2["issuer"]


@pytest.mark.parametrize("field", ["name", "identifier"])
def test_update_null_for_non_nullable(zone, field):
    p = zone.provider()
    with lk.api_error(BadRequestError, 400, "invalid_field") as info:
        providers(zone).update(p.id, zone_id=zone.id, extra_body={field: None})
    assert field in info.body["message"]
    got = providers(zone).retrieve(p.id, zone_id=zone.id)
    assert (got.name, got.identifier) == (p.name, p.identifier)


# --------------------------------------------------------------------------------------------
# Delete and references
# --------------------------------------------------------------------------------------------


def test_delete(zone):
    p = zone.provider()
    raw = providers(zone).with_raw_response.delete(p.id, zone_id=zone.id)
    assert raw.http_response.status_code == 204 and raw.http_response.content == b""
    with lk.api_error(NotFoundError, 404, "not_found"):
        providers(zone).retrieve(p.id, zone_id=zone.id)
    with lk.api_error(NotFoundError, 404, "not_found"):
        providers(zone).delete(p.id, zone_id=zone.id)
    assert zone.provider(identifier=p.identifier).identifier == p.identifier


def test_delete_refused_while_a_token_credential_uses_it(zone):
    p = zone.provider()
    cred = zone.credential("token", provider_id=p.id)
    with lk.api_error(ConflictError, 409, "conflict") as info:
        providers(zone).delete(p.id, zone_id=zone.id)
    assert cred.id in info.body["message"], info.body
    assert info.value.response.headers.get("x-should-retry") == "false"
    assert providers(zone).retrieve(p.id, zone_id=zone.id).id == p.id
    zone.client.zones.application_credentials.delete(cred.id, zone_id=zone.id)
    assert providers(zone).with_raw_response.delete(p.id, zone_id=zone.id).http_response.status_code == 204


def test_delete_refused_while_a_resource_uses_it(zone):
    p = zone.provider()
    res = zone.resource(credential_provider_id=p.id)
    with lk.api_error(ConflictError, 409, "conflict") as info:
        providers(zone).delete(p.id, zone_id=zone.id)
    assert res.id in info.body["message"], info.body
    zone.client.zones.resources.update(res.id, zone_id=zone.id, credential_provider_id=None)
    assert providers(zone).with_raw_response.delete(p.id, zone_id=zone.id).http_response.status_code == 204
    raw = zone.client.zones.resources.with_raw_response.retrieve(res.id, zone_id=zone.id).http_response.json()
    assert raw.get("credential_provider_id") is None


def test_delete_refused_names_every_reference(zone):
    p = zone.provider()
    cred = zone.credential("token", provider_id=p.id, subject="s")
    res = zone.resource(credential_provider_id=p.id)
    with lk.api_error(ConflictError, 409, "conflict") as info:
        providers(zone).delete(p.id, zone_id=zone.id)
    assert cred.id in info.body["message"] or res.id in info.body["message"], info.body
    zone.client.zones.resources.delete(res.id, zone_id=zone.id)
    with lk.api_error(ConflictError, 409, "conflict") as info:
        providers(zone).delete(p.id, zone_id=zone.id)
    assert cred.id in info.body["message"]
    zone.client.zones.applications.delete(cred.application_id, zone_id=zone.id)  # takes the credential along
    providers(zone).delete(p.id, zone_id=zone.id)
    with lk.api_error(NotFoundError, 404, "not_found"):
        providers(zone).retrieve(p.id, zone_id=zone.id)


def test_zone_user_identity_provider(zone):
    p = zone.provider()
    upd = zone.client.zones.update(zone.id, user_identity_provider_id=p.id)
    assert upd.user_identity_provider_id == p.id
    assert zone.client.zones.retrieve(zone.id).user_identity_provider_id == p.id
    with lk.api_error(NotFoundError, 404, "not_found"):
        zone.client.zones.update(zone.id, user_identity_provider_id="nosuchprovider000000000000")
    assert zone.client.zones.retrieve(zone.id).user_identity_provider_id == p.id
    assert zone.client.zones.update(zone.id, user_identity_provider_id=None).user_identity_provider_id is None


def test_deleting_the_zone_login_provider_leaves_no_dangling_reference(zone):
    p = zone.provider()
    zone.client.zones.update(zone.id, user_identity_provider_id=p.id)
    try:
        providers(zone).delete(p.id, zone_id=zone.id)
    except ConflictError as e:
        lk.assert_error(e, 409, "conflict")
        assert zone.client.zones.retrieve(zone.id).user_identity_provider_id == p.id
        return
    raw = zone.client.zones.with_raw_response.retrieve(zone.id).http_response.json()
    assert raw.get("user_identity_provider_id") is None, "the zone still names a deleted provider"
