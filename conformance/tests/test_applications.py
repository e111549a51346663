"""Zone applications, their dependencies, `list_credentials` and `list_resources` (spec §3.5, §3.6,
§4.4, §2.6, §2.7, B8–B10, B14, B15). Paging, filters and sort: test_directory_lists.py."""

from __future__ import annotations

import functools

import pytest
from keycardai_api import BadRequestError, ConflictError, NotFoundError
from keycardai_api.types.zones import Application, ApplicationListCredentialsResponse
from keycardai_api.types.zones import ApplicationListResourcesResponse
from keycardai_api.types.zones.applications import DependencyListResponse, Resource

import lk


def full_body(zone: lk.ZoneKit) -> dict:
    return dict(
        identifier=lk.unique_url("full-app"),
        name=lk.unique("Full App"),
        consent="implicit",
        dependencies=[{"id": zone.resource().id, "type": "resource"}],
        description="an application with every field",
        metadata={"docs_url": "https://docs.example.com/app", "icon_url": "https://cdn.example.com/icon.png"},
        protocols={
            "oauth2": {
                "redirect_uris": ["https://app.example.com/cb", "http://127.0.0.1:8765/cb"],
                "post_logout_redirect_uris": ["https://app.example.com/bye"],
            }
        },
    )


def deps(zone: lk.ZoneKit):
    return zone.client.zones.applications.dependencies


def dependencies_count(zone: lk.ZoneKit, app_id: str) -> int:
    return zone.client.zones.applications.retrieve(app_id, zone_id=zone.id).dependencies_count


# --------------------------------------------------------------------------------------------
# Create, retrieve, delete
# --------------------------------------------------------------------------------------------


def test_create_with_every_field(zone):
    body = full_body(zone)
    status, raw, headers = lk.raw_json(zone.client.zones.applications.with_raw_response.create(zone.id, **body))
    assert status == 201
    assert headers["content-type"].startswith("application/json")
    app = lk.assert_valid(Application, raw)
    assert (app.identifier, app.name, app.description) == (body["identifier"], body["name"], body["description"])
    assert app.consent == "implicit"
    assert app.dependencies_count == 1
    assert app.owner_type == "customer"
    assert app.zone_id == zone.id and app.organization_id == zone.organization_id
    assert lk.SLUG_RE.match(app.slug) and len(app.slug) <= 63, app.slug
    assert app.metadata.docs_url == "https://docs.example.com/app"
    assert app.metadata.icon_url == "https://cdn.example.com/icon.png"
    assert app.protocols.oauth2.redirect_uris == body["protocols"]["oauth2"]["redirect_uris"]
    assert app.protocols.oauth2.post_logout_redirect_uris == ["https://app.example.com/bye"]
    lk.assert_rfc3339(raw["created_at"])
    lk.assert_utc_datetime(app.updated_at)
    status, again, _ = lk.raw_json(zone.client.zones.applications.with_raw_response.retrieve(app.id, zone_id=zone.id))
    assert status == 200 and again == raw


def test_create_defaults(zone):
    status, raw, _ = lk.raw_json(
        zone.client.zones.applications.with_raw_response.create(zone.id, identifier=lk.unique_url("plain"), name="Plain")
    )
    assert status == 201
    app = lk.assert_valid(Application, raw)
    assert app.consent == "required", "consent defaults to required (B14)"
    assert app.dependencies_count == 0
    assert app.owner_type == "customer"
    for key in ("description", "metadata"):
        assert raw.get(key) is None, f"{key} should be absent: {raw}"
    o = (raw.get("protocols") or {}).get("oauth2") or {}
    assert not o.get("redirect_uris") and not o.get("post_logout_redirect_uris"), raw


def test_slugs_unique_within_zone(zone):
    a = zone.app(name="Same Name")
    b = zone.app(name="Same Name")
    assert a.slug != b.slug
    assert all(lk.SLUG_RE.match(s) for s in (a.slug, b.slug))


def test_duplicate_identifier_is_409(zone):
    a = zone.app()
    before = zone.count(zone.client.zones.applications.list)
    with lk.api_error(ConflictError, 409, "conflict") as info:
        zone.app(identifier=a.identifier)
    assert info.value.response.headers.get("x-should-retry") == "false"
    assert zone.count(zone.client.zones.applications.list) == before


def test_same_identifier_in_another_zone(zone, fresh_zone):
    a = zone.app()
    b = fresh_zone.app(identifier=a.identifier)
    assert a.id != b.id and b.identifier == a.identifier


def test_retrieve_unknown(zone):
    with lk.api_error(NotFoundError, 404, "not_found"):
        zone.client.zones.applications.retrieve("nosuchapp00000000000000000", zone_id=zone.id)


def test_delete(zone):
    app = zone.app()
    raw = zone.client.zones.applications.with_raw_response.delete(app.id, zone_id=zone.id)
    assert raw.http_response.status_code == 204 and raw.http_response.content == b""
    with lk.api_error(NotFoundError, 404, "not_found"):
        zone.client.zones.applications.retrieve(app.id, zone_id=zone.id)
    with lk.api_error(NotFoundError, 404, "not_found"):
        zone.client.zones.applications.delete(app.id, zone_id=zone.id)
    with lk.api_error(NotFoundError, 404, "not_found"):
        zone.client.zones.applications.update(app.id, zone_id=zone.id, name="ghost")


def test_delete_cascades(zone):
    app = zone.app()
    provided = zone.resource(application_id=app.id)
    needed = zone.resource()
    deps(zone).add(needed.id, zone_id=zone.id, id=app.id)
    creds = [zone.credential("password", application_id=app.id), zone.credential("public", application_id=app.id)]
    zone.client.zones.applications.delete(app.id, zone_id=zone.id)
    for c in creds:
        with lk.api_error(NotFoundError, 404, "not_found"):
            zone.client.zones.application_credentials.retrieve(c.id, zone_id=zone.id)
    assert zone.client.zones.application_credentials.list(zone.id, application_id=app.id).items == []
    # the resource it provided stays, without application_id; the one it needed is untouched
    status, raw, _ = lk.raw_json(zone.client.zones.resources.with_raw_response.retrieve(provided.id, zone_id=zone.id))
    assert status == 200 and raw.get("application_id") is None, raw
    assert zone.client.zones.resources.retrieve(needed.id, zone_id=zone.id).id == needed.id
    # an application with the same identifier can be made again
    assert zone.app(identifier=app.identifier).identifier == app.identifier


# --------------------------------------------------------------------------------------------
# Update (PATCH, tri-state)
# --------------------------------------------------------------------------------------------


def test_update_sets_fields_and_keeps_absent_ones(zone):
    app = zone.client.zones.applications.create(zone.id, **full_body(zone))
    new_ident = lk.unique_url("renamed")
    status, raw, _ = lk.raw_json(
        zone.client.zones.applications.with_raw_response.update(
            app.id, zone_id=zone.id, name="Renamed", identifier=new_ident, consent="required"
        )
    )
    assert status == 200
    upd = lk.assert_valid(Application, raw)
    assert (upd.name, upd.identifier, upd.consent) == ("Renamed", new_ident, "required")
    assert upd.slug == app.slug, "the slug does not follow renames"
    assert upd.description == app.description
    assert upd.metadata.to_dict() == app.metadata.to_dict()
    assert upd.protocols.to_dict() == app.protocols.to_dict()
    assert upd.dependencies_count == 1
    assert upd.created_at == app.created_at and upd.updated_at >= app.updated_at
    assert zone.client.zones.applications.retrieve(app.id, zone_id=zone.id).to_dict() == upd.to_dict()


def test_update_description_tri_state(zone):
    app = zone.app(description="first")
    assert zone.client.zones.applications.update(app.id, zone_id=zone.id, name="n").description == "first"
    assert zone.client.zones.applications.update(app.id, zone_id=zone.id, description="second").description == "second"
    assert zone.client.zones.applications.update(app.id, zone_id=zone.id, description=None).description is None
    raw = zone.client.zones.applications.with_raw_response.retrieve(app.id, zone_id=zone.id).http_response.json()
    assert raw.get("description") is None


@pytest.mark.parametrize("wipe", [None, {}], ids=["null", "empty"])
def test_update_metadata_wiped(zone, wipe):
    app = zone.app(metadata={"docs_url": "https://d.example.com", "icon_url": "https://i.example.com/x.png"})
    upd = zone.client.zones.applications.update(app.id, zone_id=zone.id, metadata=wipe)
    m = upd.metadata
    assert m is None or (m.docs_url is None and m.icon_url is None), m
    got = zone.client.zones.applications.retrieve(app.id, zone_id=zone.id)
    assert got.metadata is None or (got.metadata.docs_url is None and got.metadata.icon_url is None)


def test_update_metadata_one_field(zone):
    app = zone.app(metadata={"docs_url": "https://d.example.com", "icon_url": "https://i.example.com/x.png"})
    upd = zone.client.zones.applications.update(app.id, zone_id=zone.id, metadata={"docs_url": None})
    assert upd.metadata.docs_url is None
    assert upd.metadata.icon_url == "https://i.example.com/x.png"
    upd = zone.client.zones.applications.update(app.id, zone_id=zone.id, metadata={"docs_url": "https://new.example.com"})
    assert upd.metadata.docs_url == "https://new.example.com"
    assert upd.metadata.icon_url == "https://i.example.com/x.png"


@pytest.mark.parametrize("unset", [None, []], ids=["null", "empty"])
def test_update_redirect_uris_unset(zone, unset):
    oauth2 = {"redirect_uris": ["https://a.example.com/cb"], "post_logout_redirect_uris": ["https://a.example.com/lo"]}
    app = zone.app(protocols={"oauth2": oauth2})
    upd = zone.client.zones.applications.update(app.id, zone_id=zone.id, protocols={"oauth2": {"redirect_uris": unset}})
    assert not upd.protocols.oauth2.redirect_uris, upd.protocols
    assert upd.protocols.oauth2.post_logout_redirect_uris == ["https://a.example.com/lo"], "only redirect_uris was sent"
    upd = zone.client.zones.applications.update(
        app.id, zone_id=zone.id, protocols={"oauth2": {"post_logout_redirect_uris": unset}}
    )
    o = upd.protocols.oauth2 if upd.protocols else None
    assert o is None or (not o.redirect_uris and not o.post_logout_redirect_uris)


def test_update_protocols_null(zone):
    app = zone.app(protocols={"oauth2": {"redirect_uris": ["https://a.example.com/cb"]}})
    upd = zone.client.zones.applications.update(app.id, zone_id=zone.id, protocols=None)
    assert upd.protocols is None or upd.protocols.oauth2 is None or not upd.protocols.oauth2.redirect_uris


@pytest.mark.parametrize("field", ["name", "identifier", "consent"])
def test_update_null_for_non_nullable(zone, field):
    app = zone.app()
    with lk.api_error(BadRequestError, 400, "invalid_field") as info:
        zone.client.zones.applications.update(app.id, zone_id=zone.id, extra_body={field: None})
    assert field in info.body["message"]
    got = zone.client.zones.applications.retrieve(app.id, zone_id=zone.id)
    assert (got.name, got.identifier, got.consent) == (app.name, app.identifier, app.consent)


def test_update_to_duplicate_identifier_is_409(zone):
    a, b = zone.app(), zone.app()
    with lk.api_error(ConflictError, 409, "conflict"):
        zone.client.zones.applications.update(b.id, zone_id=zone.id, identifier=a.identifier)
    assert zone.client.zones.applications.retrieve(b.id, zone_id=zone.id).identifier == b.identifier
    # its own identifier again is not a conflict
    assert zone.client.zones.applications.update(b.id, zone_id=zone.id, identifier=b.identifier).identifier == b.identifier


# --------------------------------------------------------------------------------------------
# Dependencies
# --------------------------------------------------------------------------------------------


def test_create_time_dependencies(zone):
    r1, r2 = zone.resource(), zone.resource()
    app = zone.app(dependencies=[{"id": r1.id}, {"id": r2.id, "type": "resource"}])
    assert app.dependencies_count == 2
    listed = deps(zone).list(app.id, zone_id=zone.id)
    assert sorted(lk.ids(listed.items)) == sorted([r1.id, r2.id])


def test_create_with_unknown_dependency(zone):
    before = zone.count(zone.client.zones.applications.list)
    with lk.api_error(NotFoundError, 404, "not_found") as info:
        zone.app(dependencies=[{"id": "nosuchresource000000000000"}])
    assert "nosuchresource000000000000" in info.body["message"]
    assert zone.count(zone.client.zones.applications.list) == before


def test_add_dependency_and_count(zone):
    app, r1, r2, r3 = zone.app(), zone.resource(), zone.resource(), zone.resource()
    raw = deps(zone).with_raw_response.add(r1.id, zone_id=zone.id, id=app.id)
    assert raw.http_response.status_code == 204 and raw.http_response.content == b""
    assert dependencies_count(zone, app.id) == 1
    deps(zone).add(r2.id, zone_id=zone.id, id=app.id, when_accessing=[r1.id, r3.id])
    assert dependencies_count(zone, app.id) == 2

    status, body, _ = lk.raw_json(deps(zone).with_raw_response.retrieve(r2.id, zone_id=zone.id, id=app.id))
    assert status == 200
    got = lk.assert_valid(Resource, body)
    assert got.id == r2.id and got.identifier == r2.identifier
    assert sorted(got.when_accessing) == sorted([r1.id, r3.id])
    plain = deps(zone).retrieve(r1.id, zone_id=zone.id, id=app.id)
    assert not plain.when_accessing

    # idempotent upsert: a second PUT replaces the conditions and does not count twice
    deps(zone).add(r2.id, zone_id=zone.id, id=app.id, when_accessing=[r3.id])
    assert deps(zone).retrieve(r2.id, zone_id=zone.id, id=app.id).when_accessing == [r3.id]
    deps(zone).add(r2.id, zone_id=zone.id, id=app.id)
    assert not deps(zone).retrieve(r2.id, zone_id=zone.id, id=app.id).when_accessing
    deps(zone).add(r1.id, zone_id=zone.id, id=app.id)
    assert dependencies_count(zone, app.id) == 2
    listed = zone.client.zones.applications.list(zone.id, filter_id=[app.id]).items
    assert listed[0].dependencies_count == 2, "the list shows the same count"
    # repeated ids count once
    deps(zone).add(r2.id, zone_id=zone.id, id=app.id, when_accessing=[r3.id, r3.id])
    assert deps(zone).retrieve(r2.id, zone_id=zone.id, id=app.id).when_accessing == [r3.id]
    assert zone.app(dependencies=[{"id": r1.id}, {"id": r1.id}]).dependencies_count == 1


def test_dependency_list_and_when_accessing_filter(zone):
    app, r1, r2, r3 = zone.app(), zone.resource(), zone.resource(), zone.resource()
    deps(zone).add(r1.id, zone_id=zone.id, id=app.id)
    deps(zone).add(r2.id, zone_id=zone.id, id=app.id, when_accessing=[r1.id])
    deps(zone).add(r3.id, zone_id=zone.id, id=app.id, when_accessing=[r1.id, r2.id])
    status, body, _ = lk.raw_json(deps(zone).with_raw_response.list(app.id, zone_id=zone.id))
    assert status == 200
    listed = lk.assert_valid(DependencyListResponse, body)
    by_id = {r.id: sorted(r.when_accessing or []) for r in listed.items}
    assert by_id == {r1.id: [], r2.id: [r1.id], r3.id: sorted([r1.id, r2.id])}
    assert sorted(lk.ids(deps(zone).list(app.id, zone_id=zone.id, when_accessing=r1.id).items)) == sorted([r2.id, r3.id])
    assert lk.ids(deps(zone).list(app.id, zone_id=zone.id, when_accessing=r2.id).items) == [r3.id]
    assert deps(zone).list(app.id, zone_id=zone.id, when_accessing=r3.id).items == []
    counted = deps(zone).list(app.id, zone_id=zone.id, expand=["total_count"], limit=1)
    assert counted.pagination.total_count == 3 and len(counted.items) == 1


def test_dependency_list_paging(zone):
    app = zone.app()
    rs = [zone.resource().id for _ in range(5)]
    for r in rs:
        deps(zone).add(r, zone_id=zone.id, id=app.id)
    raw = functools.partial(deps(zone).with_raw_response.list, app.id, zone_id=zone.id)
    lk.walk_pages(raw, DependencyListResponse, rs, limit=2)


def test_remove_dependency(zone):
    app, r1, r2 = zone.app(), zone.resource(), zone.resource()
    deps(zone).add(r1.id, zone_id=zone.id, id=app.id)
    deps(zone).add(r2.id, zone_id=zone.id, id=app.id, when_accessing=[r1.id])
    raw = deps(zone).with_raw_response.remove(r2.id, zone_id=zone.id, id=app.id)
    assert raw.http_response.status_code == 204 and raw.http_response.content == b""
    assert dependencies_count(zone, app.id) == 1
    with lk.api_error(NotFoundError, 404, "not_found"):
        deps(zone).retrieve(r2.id, zone_id=zone.id, id=app.id)
    with lk.api_error(NotFoundError, 404, "not_found"):
        deps(zone).remove(r2.id, zone_id=zone.id, id=app.id)
    assert lk.ids(deps(zone).list(app.id, zone_id=zone.id).items) == [r1.id]
    # the resource itself is not touched
    assert zone.client.zones.resources.retrieve(r2.id, zone_id=zone.id).id == r2.id


def test_retrieve_non_dependency_is_404(zone):
    app, r = zone.app(), zone.resource()
    with lk.api_error(NotFoundError, 404, "not_found"):
        deps(zone).retrieve(r.id, zone_id=zone.id, id=app.id)


def test_add_unknown_dependency(zone):
    app, r = zone.app(), zone.resource()
    with lk.api_error(NotFoundError, 404, "not_found"):
        deps(zone).add("nosuchresource000000000000", zone_id=zone.id, id=app.id)
    with lk.api_error(NotFoundError, 404, "not_found"):
        deps(zone).add(r.id, zone_id=zone.id, id="nosuchapp00000000000000000")
    with lk.api_error(NotFoundError, 404, "not_found"):
        deps(zone).add(r.id, zone_id=zone.id, id=app.id, when_accessing=["nosuchresource000000000000"])
    assert dependencies_count(zone, app.id) == 0


# --------------------------------------------------------------------------------------------
# list_credentials and list_resources
# --------------------------------------------------------------------------------------------


def test_list_credentials(zone):
    app, other = zone.app(), zone.app()
    mine = [zone.credential(t, application_id=app.id).id for t in ("password", "public", "url", "public-key", "token")]
    zone.credential("public", application_id=other.id)
    status, body, _ = lk.raw_json(zone.client.zones.applications.with_raw_response.list_credentials(app.id, zone_id=zone.id))
    assert status == 200
    listed = lk.assert_valid(ApplicationListCredentialsResponse, body)
    assert lk.ids(listed.items) == mine
    assert sorted(i["type"] for i in body["items"]) == sorted(["password", "public", "url", "public-key", "token"])
    assert all("password" not in i for i in body["items"]), "list_credentials must not carry passwords"
    raw = functools.partial(zone.client.zones.applications.with_raw_response.list_credentials, app.id, zone_id=zone.id)
    lk.walk_pages(raw, ApplicationListCredentialsResponse, mine, limit=2)


def test_list_resources_are_the_provided_ones(zone):
    app, other = zone.app(), zone.app()
    provided = [zone.resource(application_id=app.id).id for _ in range(3)]
    zone.resource(application_id=other.id)
    needed = zone.resource()
    deps(zone).add(needed.id, zone_id=zone.id, id=app.id)
    status, body, _ = lk.raw_json(zone.client.zones.applications.with_raw_response.list_resources(app.id, zone_id=zone.id))
    assert status == 200
    listed = lk.assert_valid(ApplicationListResourcesResponse, body)
    assert lk.ids(listed.items) == provided, "list_resources lists what the app provides, not what it needs (B10)"
    assert all(r.application_id == app.id for r in listed.items)
    raw = functools.partial(zone.client.zones.applications.with_raw_response.list_resources, app.id, zone_id=zone.id)
    lk.walk_pages(raw, ApplicationListResourcesResponse, provided, limit=2)
    assert len(zone.client.zones.applications.list_resources(other.id, zone_id=zone.id).items) == 1


def test_sub_lists_of_unknown_application(zone):
    ghost = "nosuchapp00000000000000000"
    for call in (
        lambda: zone.client.zones.applications.list_credentials(ghost, zone_id=zone.id),
        lambda: zone.client.zones.applications.list_resources(ghost, zone_id=zone.id),
        lambda: deps(zone).list(ghost, zone_id=zone.id),
    ):
        with lk.api_error(NotFoundError, 404, "not_found"):
            call()


def test_empty_patch_changes_nothing(zone):
    app = zone.client.zones.applications.create(zone.id, **full_body(zone))
    status, raw, _ = lk.raw_json(zone.client.zones.applications.with_raw_response.update(app.id, zone_id=zone.id))
    assert status == 200
    before = app.to_dict()
    after = lk.assert_valid(Application, raw).to_dict()
    before.pop("updated_at"), after.pop("updated_at")
    assert after == before


def test_deleting_the_zone_gateway_application_clears_it(zone):
    app = zone.app()
    upd = zone.client.zones.update(zone.id, default_mcp_gateway_application_id=app.id)
    assert upd.default_mcp_gateway_application_id == app.id
    zone.client.zones.applications.delete(app.id, zone_id=zone.id)
    raw = zone.client.zones.with_raw_response.retrieve(zone.id).http_response.json()
    assert raw.get("default_mcp_gateway_application_id") is None


def test_old_identifier_free_after_change(zone):
    a = zone.app()
    zone.client.zones.applications.update(a.id, zone_id=zone.id, identifier=lk.unique_url("new"))
    b = zone.app(identifier=a.identifier)
    assert b.identifier == a.identifier and b.id != a.id
