"""Application credentials, all five types (spec §3.7, §4.6, §6.2, B1–B3, B15)."""

from __future__ import annotations

import functools

import pytest
from keycardai_api import BadRequestError, ConflictError, NotFoundError
from keycardai_api.types.zones import ApplicationCredentialListResponse, Password, Public, PublicKey, Token, URL

import lk

MODELS = {"token": Token, "password": Password, "public-key": PublicKey, "url": URL, "public": Public}


def creds(zone: lk.ZoneKit):
    return zone.client.zones.application_credentials


def raw_create(zone: lk.ZoneKit, **kw) -> tuple[int, dict]:
    status, body, _ = lk.raw_json(creds(zone).with_raw_response.create(zone.id, **kw))
    return status, body


def raw_retrieve(zone: lk.ZoneKit, cred_id: str) -> dict:
    status, body, _ = lk.raw_json(creds(zone).with_raw_response.retrieve(cred_id, zone_id=zone.id))
    assert status == 200
    return body


def assert_base_fields(body: dict, zone: lk.ZoneKit, app_id: str) -> None:
    assert body["application_id"] == app_id
    assert body["zone_id"] == zone.id and body["organization_id"] == zone.organization_id
    assert lk.SLUG_RE.match(body["slug"]) and len(body["slug"]) <= 63, body["slug"]
    lk.assert_rfc3339(body["created_at"])
    lk.assert_rfc3339(body["updated_at"])


# --------------------------------------------------------------------------------------------
# password
# --------------------------------------------------------------------------------------------


def test_password_generated_identifier_and_one_time_password(zone):
    app = zone.app()
    status, body = raw_create(zone, application_id=app.id, type="password")
    assert status == 201
    cred = lk.assert_valid(Password, body)
    assert_base_fields(body, zone, app.id)
    assert cred.type == "password"
    assert isinstance(cred.identifier, str) and len(cred.identifier) >= 8, "identifier is generated when left out"
    assert isinstance(cred.password, str) and len(cred.password) >= 16, "the create response carries the password"

    got = raw_retrieve(zone, cred.id)
    assert "password" not in got, "retrieve must not return the password (B1)"
    lk.assert_valid(Password, got)
    assert got["identifier"] == cred.identifier
    for listed in (
        creds(zone).with_raw_response.list(zone.id, application_id=app.id),
        zone.client.zones.applications.with_raw_response.list_credentials(app.id, zone_id=zone.id),
    ):
        items = listed.http_response.json()["items"]
        assert lk.ids(items) == [cred.id]
        assert "password" not in items[0], "lists must not return the password (B1)"
    status, upd, _ = lk.raw_json(creds(zone).with_raw_response.update(cred.id, zone_id=zone.id, type="password"))
    assert status == 200 and "password" not in upd, "update must not return the password (B1)"
    lk.assert_valid(Password, upd)


def test_password_given_identifier_and_distinct_secrets(zone):
    app = zone.app()
    user_a = lk.unique_token("svc-user")
    a = zone.credential("password", application_id=app.id, identifier=user_a)
    b = zone.credential("password", application_id=app.id)
    c = zone.credential("password", application_id=app.id)
    assert a.identifier == user_a
    assert len({a.identifier, b.identifier, c.identifier}) == 3
    assert len({a.password, b.password, c.password}) == 3


def test_password_not_stored_in_plaintext(zone, records):
    cred = zone.credential("password")
    assert records.stored_in_plaintext(cred.identifier, "application_credentials", "identifier"), (
        "the check cannot see stored values"
    )
    assert not records.stored_in_plaintext(cred.password, "application_credentials", "secret_hash"), (
        "the credential password is stored as it is"
    )


# --------------------------------------------------------------------------------------------
# token
# --------------------------------------------------------------------------------------------


def test_token_identifier_is_subject_or_star(zone):
    app, idp = zone.app(), zone.provider()
    status, body = raw_create(zone, application_id=app.id, type="token", provider_id=idp.id, subject="svc@example.com")
    assert status == 201
    tok = lk.assert_valid(Token, body)
    assert_base_fields(body, zone, app.id)
    assert (tok.identifier, tok.subject, tok.provider_id) == ("svc@example.com", "svc@example.com", idp.id)
    assert "password" not in body

    anyone = zone.credential("token", application_id=app.id, provider_id=idp.id)
    assert anyone.identifier == "*", "no subject: any token from the provider (B2)"
    assert anyone.subject is None

    upd = creds(zone).update(tok.id, zone_id=zone.id, type="token", subject=None)
    assert upd.identifier == "*" and upd.subject is None
    got = raw_retrieve(zone, tok.id)
    assert got["identifier"] == "*" and got.get("subject") is None
    upd = creds(zone).update(tok.id, zone_id=zone.id, subject="other@example.com")
    assert (upd.identifier, upd.subject) == ("other@example.com", "other@example.com")
    assert upd.provider_id == idp.id


def test_token_requires_a_provider_of_the_zone(zone):
    app = zone.app()
    before = zone.count(creds(zone).list)
    with lk.api_error(BadRequestError, 400, "invalid_field") as info:
        zone.client.post(
            f"/zones/{zone.id}/application-credentials", body={"application_id": app.id, "type": "token"}, cast_to=object
        )
    assert "provider_id" in info.body["message"]
    with lk.api_error(NotFoundError, 404, "not_found"):
        creds(zone).create(zone.id, application_id=app.id, type="token", provider_id="nosuchprovider000000000000")
    assert zone.count(creds(zone).list) == before


def test_token_with_a_platform_provider(zone):
    tok = zone.credential("token", provider_id=zone.sts_provider_id, subject="sub-1")
    assert tok.provider_id == zone.sts_provider_id and tok.identifier == "sub-1"


# --------------------------------------------------------------------------------------------
# public-key
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "jwks_uri",
    ["https://keys.example.com/.well-known/jwks.json", "http://127.0.0.1:8080/jwks", "http://localhost/jwks.json"],
)
def test_public_key_accepts(zone, jwks_uri):
    app = zone.app()
    status, body = raw_create(zone, application_id=app.id, type="public-key", jwks_uri=jwks_uri)
    assert status == 201
    pk = lk.assert_valid(PublicKey, body)
    assert_base_fields(body, zone, app.id)
    assert pk.jwks_uri == jwks_uri
    assert pk.identifier, "identifier is generated when left out (B3)"
    assert "password" not in body


def test_public_key_given_identifier(zone):
    ident = lk.unique_token("jwt-client")
    pk = zone.credential("public-key", identifier=ident)
    assert pk.identifier == ident
    assert raw_retrieve(zone, pk.id)["jwks_uri"] == "https://keys.example.com/jwks.json"


@pytest.mark.parametrize("jwks_uri", ["ftp://x", "not a url", "http://keys.example.com/jwks", "/relative/jwks", ""])
def test_public_key_rejects(zone, jwks_uri):
    app = zone.app()
    before = zone.count(creds(zone).list)
    with lk.api_error(BadRequestError, 400, "invalid_field") as info:
        creds(zone).create(zone.id, application_id=app.id, type="public-key", jwks_uri=jwks_uri)
    assert "jwks_uri" in info.body["message"]
    assert zone.count(creds(zone).list) == before


def test_public_key_requires_jwks_uri(zone):
    app = zone.app()
    with lk.api_error(BadRequestError, 400, "invalid_field") as info:
        body = {"application_id": app.id, "type": "public-key"}
        zone.client.post(f"/zones/{zone.id}/application-credentials", body=body, cast_to=object)
    assert "jwks_uri" in info.body["message"]


# --------------------------------------------------------------------------------------------
# url and public
# --------------------------------------------------------------------------------------------


def test_url_credential(zone):
    app = zone.app()
    ident = lk.unique_url("cimd") + "client.json"
    status, body = raw_create(zone, application_id=app.id, type="url", identifier=ident)
    assert status == 201
    u = lk.assert_valid(URL, body)
    assert_base_fields(body, zone, app.id)
    assert u.identifier == ident and "password" not in body
    new_ident = lk.unique_url("moved")
    assert creds(zone).update(u.id, zone_id=zone.id, type="url", identifier=new_ident).identifier == new_ident
    assert raw_retrieve(zone, u.id)["identifier"] == new_ident


@pytest.mark.parametrize("ident", ["not a url", "/just/a/path", "example.com/client", ""])
def test_url_identifier_must_be_absolute_url(zone, ident):
    app = zone.app()
    before = zone.count(creds(zone).list)
    with lk.api_error(BadRequestError, 400, "invalid_field") as info:
        creds(zone).create(zone.id, application_id=app.id, type="url", identifier=ident)
    assert "identifier" in info.body["message"]
    ok = zone.credential("url", application_id=app.id)
    with lk.api_error(BadRequestError, 400, "invalid_field"):
        creds(zone).update(ok.id, zone_id=zone.id, type="url", identifier=ident or "x y")
    assert raw_retrieve(zone, ok.id)["identifier"] == ok.identifier
    assert zone.count(creds(zone).list) == before + 1


def test_url_requires_identifier(zone):
    app = zone.app()
    with lk.api_error(BadRequestError, 400, "invalid_field") as info:
        zone.client.post(
            f"/zones/{zone.id}/application-credentials", body={"application_id": app.id, "type": "url"}, cast_to=object
        )
    assert "identifier" in info.body["message"]


def test_public_credential(zone):
    app = zone.app()
    status, body = raw_create(zone, application_id=app.id, type="public")
    assert status == 201
    pub = lk.assert_valid(Public, body)
    assert_base_fields(body, zone, app.id)
    assert pub.identifier, "identifier is generated when left out (B3)"
    assert not ({"password", "client_secret", "secret"} & set(body)), "public clients have no secret"
    ident = lk.unique_token("spa-client")
    named = zone.credential("public", application_id=app.id, identifier=ident)
    assert named.identifier == ident
    assert creds(zone).update(named.id, zone_id=zone.id, type="public", identifier=ident + "-2").identifier == ident + "-2"


def test_update_type_must_match(zone):
    cred = zone.credential("password")
    with lk.api_error(BadRequestError, 400, "invalid_field") as info:
        creds(zone).update(cred.id, zone_id=zone.id, type="public", identifier="x")
    assert "type" in info.body["message"]
    got = raw_retrieve(zone, cred.id)
    assert (got["type"], got["identifier"]) == ("password", cred.identifier)


# --------------------------------------------------------------------------------------------
# Uniqueness
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("first,second", [("password", "password"), ("public", "password"), ("url", "public-key")])
def test_duplicate_identifier_is_409(zone, first, second):
    ident = lk.unique_url("dup")
    zone.credential(first, identifier=ident)
    app = zone.app()
    before = zone.count(creds(zone).list)
    with lk.api_error(ConflictError, 409, "conflict") as info:
        zone.credential(second, application_id=app.id, identifier=ident)
    assert info.value.response.headers.get("x-should-retry") == "false"
    assert zone.count(creds(zone).list) == before


def test_duplicate_identifier_on_update_is_409(zone):
    a = zone.credential("public", identifier=lk.unique_token("taken"))
    b = zone.credential("public")
    with lk.api_error(ConflictError, 409, "conflict"):
        creds(zone).update(b.id, zone_id=zone.id, identifier=a.identifier)
    assert raw_retrieve(zone, b.id)["identifier"] == b.identifier


def test_same_identifier_in_another_zone(zone, fresh_zone):
    a = zone.credential("password")
    b = fresh_zone.credential("password", identifier=a.identifier)
    assert a.identifier == b.identifier and a.id != b.id


def test_token_credentials_may_share_identifier(zone):
    idp = zone.provider()
    a = zone.credential("token", provider_id=idp.id)
    b = zone.credential("token", provider_id=idp.id)
    assert a.identifier == b.identifier == "*"


# --------------------------------------------------------------------------------------------
# List, retrieve, delete
# --------------------------------------------------------------------------------------------


def test_list_paging_and_application_filter(fresh_zone):
    zone = fresh_zone
    a1, a2 = zone.app(), zone.app()
    made = []
    for t in ("password", "public", "url", "public-key", "token"):
        made.append(zone.credential(t, application_id=a1.id if len(made) % 2 == 0 else a2.id))
    everything = lk.ids(made)
    raw = functools.partial(creds(zone).with_raw_response.list, zone.id)
    lk.walk_pages(raw, ApplicationCredentialListResponse, everything, limit=2)
    body = raw().http_response.json()
    lk.assert_valid(ApplicationCredentialListResponse, body)
    assert all("password" not in i for i in body["items"])
    assert lk.ids(creds(zone).list(zone.id, application_id=a1.id).items) == everything[0::2]
    assert lk.ids(creds(zone).list(zone.id, application_id=a2.id).items) == everything[1::2]
    lk.walk_pages(raw, ApplicationCredentialListResponse, everything[0::2], limit=2, application_id=a1.id)
    assert creds(zone).list(zone.id, application_id="nosuchapp00000000000000000").items == []


def test_list_slug_filter(zone):
    a, b = zone.credential("public"), zone.credential("public")
    assert lk.ids(creds(zone).list(zone.id, slug=a.slug).items) == [a.id]
    assert lk.ids(creds(zone).list(zone.id, slug=b.slug).items) == [b.id]
    assert creds(zone).list(zone.id, slug="no-such-slug").items == []


def test_create_for_unknown_application(zone):
    before = zone.count(creds(zone).list)
    with lk.api_error(NotFoundError, 404, "not_found"):
        creds(zone).create(zone.id, application_id="nosuchapp00000000000000000", type="public")
    assert zone.count(creds(zone).list) == before


def test_retrieve_unknown(zone):
    with lk.api_error(NotFoundError, 404, "not_found"):
        creds(zone).retrieve("nosuchcred0000000000000000", zone_id=zone.id)


def test_delete(zone):
    cred = zone.credential("password")
    raw = creds(zone).with_raw_response.delete(cred.id, zone_id=zone.id)
    assert raw.http_response.status_code == 204 and raw.http_response.content == b""
    with lk.api_error(NotFoundError, 404, "not_found"):
        creds(zone).retrieve(cred.id, zone_id=zone.id)
    with lk.api_error(NotFoundError, 404, "not_found"):
        creds(zone).delete(cred.id, zone_id=zone.id)
    # its identifier is free again
    assert zone.credential("public", identifier=cred.identifier).identifier == cred.identifier


def test_deleting_the_application_deletes_its_credentials(zone):
    app, keep = zone.app(), zone.app()
    gone = [zone.credential(t, application_id=app.id) for t in MODELS]
    kept = zone.credential("public", application_id=keep.id)
    zone.client.zones.applications.delete(app.id, zone_id=zone.id)
    for c in gone:
        with lk.api_error(NotFoundError, 404, "not_found"):
            creds(zone).retrieve(c.id, zone_id=zone.id)
    assert creds(zone).list(zone.id, application_id=app.id).items == []
    assert lk.ids(creds(zone).list(zone.id, application_id=keep.id).items) == [kept.id]
