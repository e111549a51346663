"""The zone vault: secrets (spec §3.14, §4.12, §2.1 (C), B6, B7)."""

from __future__ import annotations

import uuid

import pytest
from keycardai_api import BadRequestError, NotFoundError
from keycardai_api.types.zones import Secret, SecretListResponse, SecretRetrieveResponse

import lk

PASSWORD = {"type": "password", "username": "u", "password": "p"}


def secrets(zone: lk.ZoneKit):
    return zone.client.zones.secrets


def listed(zone: lk.ZoneKit, **kw) -> list[dict]:
    status, body, _ = lk.raw_json(secrets(zone).with_raw_response.list(zone.id, **kw))
    assert status == 200
    assert isinstance(body, list), f"the secrets list is a bare array, got {type(body).__name__}"
    lk.assert_valid(SecretListResponse, body)
    return body


def retrieved(zone: lk.ZoneKit, sid: str) -> SecretRetrieveResponse:
    status, body, _ = lk.raw_json(secrets(zone).with_raw_response.retrieve(sid, zone_id=zone.id))
    assert status == 200
    return lk.assert_valid(SecretRetrieveResponse, body)


def test_create_password_secret(zone):
    app = zone.app()
    status, body, _ = lk.raw_json(
        secrets(zone).with_raw_response.create(
            zone.id, data=PASSWORD, entity_id=app.id, name="db login", description="the database",
            metadata={"k": "v", "n": [1, 2]},
        )
    )  # fmt: skip
    assert status == 201
    s = lk.assert_valid(Secret, body)
    assert "data" not in body, "create does not return the value (B6)"
    assert (s.name, s.entity_id, s.zone_id, s.type, s.version) == ("db login", app.id, zone.id, "password", 1)
    assert s.description == "the database"
    assert s.metadata == {"k": "v", "n": [1, 2]}
    lk.assert_rfc3339(body["created_at"])
    got = retrieved(zone, s.id)
    assert got.data.type == "password"
    assert (got.data.username, got.data.password) == ("u", "p")
    assert (got.name, got.entity_id, got.version, got.description) == ("db login", app.id, 1, "the database")


def test_create_token_secret_with_body_zone_id(zone):
    s = secrets(zone).create(zone.id, data={"type": "token", "token": "tkn"}, entity_id="e1", name="t", body_zone_id=zone.id)
    assert s.type == "token" and s.zone_id == zone.id
    got = retrieved(zone, s.id)
    assert got.data.type == "token" and got.data.token == "tkn"


def test_body_zone_id_must_match(zone, fresh_zone):
    before = len(listed(zone))
    with lk.api_error(BadRequestError, 400, "invalid_field") as info:
        secrets(zone).create(zone.id, data=PASSWORD, entity_id="e", name="n", body_zone_id=fresh_zone.id)
    assert "zone_id" in info.body["message"]
    assert len(listed(zone)) == before and listed(fresh_zone) == []


def test_update_nulls(zone):
    s = zone.secret(description="d", metadata={"a": 1})
    upd = secrets(zone).update(s.id, zone_id=zone.id, description=None, metadata=None)
    assert upd.description is None and upd.metadata is None and upd.version == 1
    with lk.api_error(BadRequestError, 400, "invalid_field") as info:
        secrets(zone).update(s.id, zone_id=zone.id, extra_body={"name": None})
    assert "name" in info.body["message"]
    assert retrieved(zone, s.id).name == s.name


def test_list_is_a_bare_array_without_data(fresh_zone):
    zone = fresh_zone
    a = zone.secret(data=PASSWORD, entity_id="ent-a")
    b = zone.secret(entity_id="ent-b")
    c = zone.secret(entity_id="ent-a")
    body = listed(zone)
    assert lk.ids(body) == [a.id, b.id, c.id], "creation order"
    assert all("data" not in item for item in body), "the list never carries values (B6)"
    assert {item["type"] for item in body} == {"password", "token"}
    assert lk.ids(listed(zone, entity_id="ent-a")) == [a.id, c.id]
    assert listed(zone, entity_id="nobody") == []
    assert lk.ids(listed(zone, type="password")) == [a.id]
    assert lk.ids(listed(zone, owner_type="customer", type="token")) == [b.id, c.id]


def test_owner_type_needs_type(zone):
    zone.secret()
    with lk.api_error(BadRequestError, 400, "invalid_query") as info:
        secrets(zone).list(zone.id, owner_type="customer")
    assert "type" in info.body["message"]


def test_update_data_bumps_version(zone):
    s = zone.secret(data=PASSWORD, metadata={"a": 1})
    new_data = {"type": "password", "username": "u2", "password": "p2"}
    status, body, _ = lk.raw_json(secrets(zone).with_raw_response.update(s.id, zone_id=zone.id, data=new_data))
    assert status == 200
    upd = lk.assert_valid(Secret, body)
    assert "data" not in body
    assert upd.version == 2
    got = retrieved(zone, s.id)
    assert (got.data.username, got.data.password, got.version) == ("u2", "p2", 2)
    # a metadata-only update keeps the version
    upd = secrets(zone).update(s.id, zone_id=zone.id, name="renamed", description="d", metadata={"b": 2})
    assert (upd.version, upd.name, upd.description, upd.metadata) == (2, "renamed", "d", {"b": 2})
    got = retrieved(zone, s.id)
    assert got.data.password == "p2" and got.version == 2
    upd = secrets(zone).update(s.id, zone_id=zone.id, data={"type": "password", "username": "u3", "password": "p3"})
    assert upd.version == 3


def test_retrieve_and_delete(zone):
    s = zone.secret()
    raw = secrets(zone).with_raw_response.delete(s.id, zone_id=zone.id)
    assert raw.http_response.status_code == 204 and raw.http_response.content == b""
    with lk.api_error(NotFoundError, 404, "not_found"):
        secrets(zone).retrieve(s.id, zone_id=zone.id)
    with lk.api_error(NotFoundError, 404, "not_found"):
        secrets(zone).delete(s.id, zone_id=zone.id)
    with lk.api_error(NotFoundError, 404, "not_found"):
        secrets(zone).update(s.id, zone_id=zone.id, name="ghost")
    assert s.id not in lk.ids(listed(zone))


def test_description_length(zone):
    assert zone.secret(description="d" * 128).description == "d" * 128
    before = len(listed(zone))
    with lk.api_error(BadRequestError, 400, "invalid_field") as info:
        zone.secret(description="d" * 129)
    assert "description" in info.body["message"]
    assert len(listed(zone)) == before


@pytest.mark.parametrize(
    "data",
    [
        {"type": "token"},
        {"type": "password", "username": "u"},
        {"type": "magic", "token": "x"},
        {"token": "x"},
        "just a string",
    ],
)
def test_bad_data(zone, data):
    before = len(listed(zone))
    with lk.api_error(BadRequestError, 400, "invalid_field") as info:
        zone.secret(data=data)
    assert "data" in info.body["message"] or "type" in info.body["message"]
    assert len(listed(zone)) == before


@pytest.mark.parametrize("missing", ["data", "entity_id", "name"])
def test_required_fields(zone, missing):
    body = {"data": PASSWORD, "entity_id": "e", "name": "n"}
    del body[missing]
    before = len(listed(zone))
    with lk.api_error(BadRequestError, 400, "invalid_field") as info:
        zone.client.post(f"/zones/{zone.id}/secrets", body=body, cast_to=object)
    assert missing in info.body["message"]
    assert len(listed(zone)) == before


def test_value_is_not_stored_in_plaintext(zone, records):
    marker = "vault-marker-" + uuid.uuid4().hex * 2
    visible = "meta-marker-" + uuid.uuid4().hex * 2
    s = zone.secret(data={"type": "password", "username": "user-" + marker, "password": marker}, metadata={"m": visible})
    assert retrieved(zone, s.id).data.password == marker
    # metadata is stored unencrypted (B6): proves the check can see what is stored
    assert records.stored_in_plaintext(visible, "secrets", "metadata"), "the check cannot see stored values"
    assert not records.stored_in_plaintext(marker, "secrets", "data"), "secret data is stored as plaintext (B6)"
    token_marker = "second-marker-" + uuid.uuid4().hex * 2
    secrets(zone).update(s.id, zone_id=zone.id, data={"type": "password", "username": "u", "password": token_marker})
    assert not records.stored_in_plaintext(token_marker, "secrets", "data")


def test_data_type_cannot_change(zone):
    s = zone.secret(data={"type": "token", "token": "t1"})
    with lk.api_error(BadRequestError, 400, "invalid_field") as info:
        secrets(zone).update(s.id, zone_id=zone.id, data=PASSWORD)
    assert "type" in info.body["message"]
    got = retrieved(zone, s.id)
    assert (got.data.type, got.data.token, got.version) == ("token", "t1", 1)
