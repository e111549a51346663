"""Resources (spec §3.10, §4.5, §2.6, B9–B13, B15). Paging, filters and sort:
test_directory_lists.py."""

from __future__ import annotations

import pytest
from keycardai_api import BadRequestError, ConflictError, NotFoundError
from keycardai_api.types.zones.applications import Resource

import lk


def resources(zone: lk.ZoneKit):
    return zone.client.zones.resources


def raw_retrieve(zone: lk.ZoneKit, rid: str) -> dict:
    status, body, _ = lk.raw_json(resources(zone).with_raw_response.retrieve(rid, zone_id=zone.id))
    assert status == 200
    return body


def full_body(zone: lk.ZoneKit) -> dict:
    return dict(
        identifier=lk.unique_url("api"),
        name=lk.unique("Full API"),
        application_id=zone.app().id,
        application_type="native",
        credential_lifetime_seconds=3600,
        credential_provider_id=zone.provider().id,
        description="a resource with every field",
        metadata={"docs_url": "https://docs.example.com/api", "icon_url": "https://cdn.example.com/api.png"},
        prefix=True,
        scopes=["read", "write"],
    )


# --------------------------------------------------------------------------------------------
# Create and read
# --------------------------------------------------------------------------------------------


def test_create_with_every_field(zone):
    body = full_body(zone)
    status, raw, _ = lk.raw_json(resources(zone).with_raw_response.create(zone.id, **body))
    assert status == 201
    r = lk.assert_valid(Resource, raw)
    for key in ("identifier", "name", "application_id", "application_type", "credential_lifetime_seconds",
                "credential_provider_id", "description", "prefix", "scopes"):  # fmt: skip
        assert raw[key] == body[key], (key, raw[key])
    assert r.metadata.docs_url == body["metadata"]["docs_url"] and r.metadata.icon_url == body["metadata"]["icon_url"]
    assert r.owner_type == "customer"
    assert r.zone_id == zone.id and r.organization_id == zone.organization_id
    assert lk.SLUG_RE.match(r.slug) and len(r.slug) <= 63
    assert raw.get("when_accessing") is None, "when_accessing only on dependencies (B9)"
    assert raw_retrieve(zone, r.id) == raw


def test_create_defaults(zone):
    status, raw, _ = lk.raw_json(
        resources(zone).with_raw_response.create(zone.id, identifier=lk.unique_url("plain"), name="Plain")
    )
    assert status == 201
    r = lk.assert_valid(Resource, raw)
    assert r.prefix is False, "prefix defaults to false (B11)"
    assert r.application_type == "web"
    assert r.owner_type == "customer"
    for key in ("application_id", "credential_provider_id", "credential_lifetime_seconds", "description", "scopes"):
        assert raw.get(key) is None, (key, raw)


@pytest.mark.parametrize("field,value", [("application_id", "nosuchapp00000000000000000"),
                                         ("credential_provider_id", "nosuchprovider000000000000")])  # fmt: skip
def test_create_with_unknown_reference(zone, field, value):
    before = zone.count(resources(zone).list)
    with lk.api_error(NotFoundError, 404, "not_found"):
        zone.resource(**{field: value})
    assert zone.count(resources(zone).list) == before


def test_platform_provider_as_credential_provider(zone):
    r = zone.resource(credential_provider_id=zone.vault_provider_id)
    assert r.credential_provider_id == zone.vault_provider_id


def test_duplicate_identifier_is_409(zone):
    a = zone.resource()
    before = zone.count(resources(zone).list)
    with lk.api_error(ConflictError, 409, "conflict") as info:
        zone.resource(identifier=a.identifier)
    assert info.value.response.headers.get("x-should-retry") == "false"
    assert zone.count(resources(zone).list) == before
    b = zone.resource()
    with lk.api_error(ConflictError, 409, "conflict"):
        resources(zone).update(b.id, zone_id=zone.id, identifier=a.identifier)
    assert resources(zone).retrieve(b.id, zone_id=zone.id).identifier == b.identifier


def test_retrieve_unknown(zone):
    with lk.api_error(NotFoundError, 404, "not_found"):
        resources(zone).retrieve("nosuchresource000000000000", zone_id=zone.id)


def test_list_filters_by_credential_provider_and_owner_type(fresh_zone):
    zone = fresh_zone
    p1, p2 = zone.provider(), zone.provider()
    a = zone.resource(credential_provider_id=p1.id)
    b = zone.resource(credential_provider_id=p2.id)
    c = zone.resource(credential_provider_id=p1.id)
    zone.resource()
    lst = resources(zone).list
    assert lk.ids(lst(zone.id, credential_provider_id=p1.id).items) == [a.id, c.id]
    assert lk.ids(lst(zone.id, credential_provider_id=p2.id).items) == [b.id]
    assert lst(zone.id, credential_provider_id=zone.sts_provider_id).items == []
    everything = lk.ids(lst(zone.id, limit=100).items)
    assert len(everything) == 4
    assert lk.ids(lst(zone.id, filter_owner_type="customer", limit=100).items) == everything
    assert lst(zone.id, filter_owner_type="platform").items == []
    with lk.api_error(BadRequestError, 400, "invalid_query"):
        lst(zone.id, filter_owner_type="nobody")  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------
# Update (PATCH, tri-state)
# --------------------------------------------------------------------------------------------


def test_update_keeps_absent_fields(zone):
    r = zone.resource(**full_body(zone))
    status, raw, _ = lk.raw_json(resources(zone).with_raw_response.update(r.id, zone_id=zone.id, name="Renamed"))
    assert status == 200
    upd = lk.assert_valid(Resource, raw)
    assert upd.name == "Renamed" and upd.slug == r.slug
    same = ("identifier", "application_id", "application_type", "credential_lifetime_seconds",
            "credential_provider_id", "description", "prefix", "scopes")  # fmt: skip
    assert {k: getattr(upd, k) for k in same} == {k: getattr(r, k) for k in same}
    assert upd.metadata.to_dict() == r.metadata.to_dict()


def test_update_sets_values(zone):
    r = zone.resource()
    app, idp = zone.app(), zone.provider()
    upd = resources(zone).update(
        r.id, zone_id=zone.id, application_id=app.id, application_type="native", credential_lifetime_seconds=60,
        credential_provider_id=idp.id, prefix=True, scopes=["a"], identifier=lk.unique_url("moved"),
    )  # fmt: skip
    assert (upd.application_id, upd.application_type, upd.credential_lifetime_seconds) == (app.id, "native", 60)
    assert (upd.credential_provider_id, upd.prefix, upd.scopes) == (idp.id, True, ["a"])
    assert resources(zone).retrieve(r.id, zone_id=zone.id).to_dict() == upd.to_dict()


@pytest.mark.parametrize(
    "field", ["credential_lifetime_seconds", "scopes", "application_id", "credential_provider_id", "description"]
)
def test_update_null_clears(zone, field):
    r = zone.resource(**full_body(zone))
    upd = resources(zone).update(r.id, zone_id=zone.id, **{field: None})
    assert getattr(upd, field) is None
    raw = raw_retrieve(zone, r.id)
    assert raw.get(field) is None, raw
    # nothing else moved
    assert raw["name"] == r.name and raw["prefix"] is True and raw["application_type"] == "native"
    if field != "scopes":
        assert raw["scopes"] == ["read", "write"]


@pytest.mark.parametrize("wipe", [None, {}], ids=["null", "empty"])
def test_update_metadata_wiped(zone, wipe):
    r = zone.resource(metadata={"docs_url": "https://d.example.com", "icon_url": "https://i.example.com/x.png"})
    upd = resources(zone).update(r.id, zone_id=zone.id, metadata=wipe)
    assert upd.metadata is None or (upd.metadata.docs_url is None and upd.metadata.icon_url is None)
    upd = resources(zone).update(r.id, zone_id=zone.id, metadata={"icon_url": "https://i.example.com/y.png"})
    assert upd.metadata.icon_url == "https://i.example.com/y.png" and upd.metadata.docs_url is None


@pytest.mark.parametrize("field", ["name", "identifier", "application_type", "prefix"])
def test_update_null_for_non_nullable(zone, field):
    r = zone.resource()
    with lk.api_error(BadRequestError, 400, "invalid_field") as info:
        resources(zone).update(r.id, zone_id=zone.id, extra_body={field: None})
    assert field in info.body["message"]
    assert raw_retrieve(zone, r.id)[field] == getattr(r, field)


# --------------------------------------------------------------------------------------------
# Delete and what points at a resource
# --------------------------------------------------------------------------------------------


def test_delete(zone):
    r = zone.resource()
    raw = resources(zone).with_raw_response.delete(r.id, zone_id=zone.id)
    assert raw.http_response.status_code == 204 and raw.http_response.content == b""
    with lk.api_error(NotFoundError, 404, "not_found"):
        resources(zone).retrieve(r.id, zone_id=zone.id)
    with lk.api_error(NotFoundError, 404, "not_found"):
        resources(zone).delete(r.id, zone_id=zone.id)
    assert zone.resource(identifier=r.identifier).identifier == r.identifier


def test_delete_removes_it_from_dependencies(zone):
    deps = zone.client.zones.applications.dependencies
    app, gone, stays = zone.app(), zone.resource(), zone.resource()
    deps.add(gone.id, zone_id=zone.id, id=app.id)
    deps.add(stays.id, zone_id=zone.id, id=app.id, when_accessing=[gone.id])
    assert zone.client.zones.applications.retrieve(app.id, zone_id=zone.id).dependencies_count == 2
    resources(zone).delete(gone.id, zone_id=zone.id)
    assert zone.client.zones.applications.retrieve(app.id, zone_id=zone.id).dependencies_count == 1
    listed = deps.list(app.id, zone_id=zone.id)
    assert lk.ids(listed.items) == [stays.id]
    assert not listed.items[0].when_accessing, "the deleted resource stays in when_accessing"
    with lk.api_error(NotFoundError, 404, "not_found"):
        deps.retrieve(gone.id, zone_id=zone.id, id=app.id)
    assert deps.list(app.id, zone_id=zone.id, when_accessing=gone.id).items == []


def test_delete_clears_zone_default_resource(zone):
    r, other = zone.resource(), zone.resource()
    assert zone.client.zones.update(zone.id, default_resource_id=r.id).default_resource_id == r.id
    resources(zone).delete(other.id, zone_id=zone.id)
    assert zone.client.zones.retrieve(zone.id).default_resource_id == r.id
    resources(zone).delete(r.id, zone_id=zone.id)
    raw = zone.client.zones.with_raw_response.retrieve(zone.id).http_response.json()
    assert raw.get("default_resource_id") is None


def test_zone_default_resource_must_exist_in_the_zone(zone, fresh_zone):
    z1 = fresh_zone
    foreign = zone.resource()
    with lk.api_error(NotFoundError, 404, "not_found"):
        z1.client.zones.update(z1.id, default_resource_id=foreign.id)
    with lk.api_error(NotFoundError, 404, "not_found"):
        z1.client.zones.update(z1.id, default_resource_id="nosuchresource000000000000")
    assert z1.client.zones.retrieve(z1.id).default_resource_id is None
    mine = z1.resource()
    assert z1.client.zones.update(z1.id, default_resource_id=mine.id).default_resource_id == mine.id
    assert z1.client.zones.update(z1.id, default_resource_id=None).default_resource_id is None


def test_deleting_the_providing_application_unsets_application_id(zone):
    app = zone.app()
    r = zone.resource(application_id=app.id)
    zone.client.zones.applications.delete(app.id, zone_id=zone.id)
    raw = raw_retrieve(zone, r.id)
    assert raw.get("application_id") is None
    assert zone.client.zones.resources.list(zone.id, filter_id=[r.id]).items[0].id == r.id
