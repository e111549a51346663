"""Zones are the unit of isolation: an object of zone A is not reachable through zone B's paths,
cannot be referenced from zone B's objects, and another organization's principal gets 403 on
everything under zone A (spec §2.4, B44, B45)."""

from __future__ import annotations

import pytest
from keycardai_api import NotFoundError, PermissionDeniedError

import lk

GHOST = "nosuchthing000000000000000"


def zone_objects(z: lk.ZoneKit) -> dict:
    app = z.app()
    return {
        "app": app,
        "resource": z.resource(application_id=app.id),
        "provider": z.provider(),
        "secret": z.secret(entity_id=app.id),
        "credential": z.credential("public", application_id=app.id),
    }


def through(b: lk.ZoneKit, kind: str, obj_id: str) -> list:
    """retrieve/update/delete of one object id on zone B's paths."""
    zs = b.client.zones
    api = {
        "app": zs.applications, "resource": zs.resources, "provider": zs.providers,
        "secret": zs.secrets, "credential": zs.application_credentials,
    }[kind]  # fmt: skip
    update = {"credential": {"identifier": "hijacked-client"}}.get(kind, {"name": "hijacked"})
    return [
        lambda: api.retrieve(obj_id, zone_id=b.id),
        lambda: api.update(obj_id, zone_id=b.id, **update),
        lambda: api.delete(obj_id, zone_id=b.id),
    ]


@pytest.mark.parametrize("kind", ["app", "resource", "provider", "secret", "credential"])
def test_ids_of_zone_a_are_404_in_zone_b(zone, fresh_zone, kind):
    a, b = zone, fresh_zone
    objs = zone_objects(a)
    b.app()
    obj = objs[kind]
    for call in through(b, kind, obj.id):
        with lk.api_error(NotFoundError, 404, "not_found"):
            call()
    # untouched in zone A
    api = {
        "app": a.client.zones.applications, "resource": a.client.zones.resources, "provider": a.client.zones.providers,
        "secret": a.client.zones.secrets, "credential": a.client.zones.application_credentials,
    }[kind]  # fmt: skip
    got = api.retrieve(obj.id, zone_id=a.id)
    assert getattr(got, "name", None) != "hijacked" and getattr(got, "identifier", None) != "hijacked-client"


def test_application_sub_lists_across_zones(zone, fresh_zone):
    a, b = zone, fresh_zone
    objs = zone_objects(a)
    app_a = objs["app"]
    b_app, b_res = b.app(), b.resource()
    deps = b.client.zones.applications.dependencies
    for call in (
        lambda: b.client.zones.applications.list_credentials(app_a.id, zone_id=b.id),
        lambda: b.client.zones.applications.list_resources(app_a.id, zone_id=b.id),
        lambda: deps.list(app_a.id, zone_id=b.id),
        lambda: deps.add(b_res.id, zone_id=b.id, id=app_a.id),
        lambda: deps.add(objs["resource"].id, zone_id=b.id, id=b_app.id),
        lambda: deps.retrieve(objs["resource"].id, zone_id=b.id, id=b_app.id),
        lambda: deps.remove(objs["resource"].id, zone_id=b.id, id=b_app.id),
    ):
        with lk.api_error(NotFoundError, 404, "not_found"):
            call()
    assert b.client.zones.applications.retrieve(b_app.id, zone_id=b.id).dependencies_count == 0
    assert a.client.zones.applications.retrieve(app_a.id, zone_id=a.id).dependencies_count == 0


def test_platform_provider_ids_of_zone_a_are_404_in_zone_b(zone, fresh_zone):
    a, b = zone, fresh_zone
    for pid in (a.sts_provider_id, a.vault_provider_id):
        with lk.api_error(NotFoundError, 404, "not_found"):
            b.client.zones.providers.retrieve(pid, zone_id=b.id)
    assert lk.ids(b.client.zones.providers.list(b.id, filter_id=[a.sts_provider_id, b.sts_provider_id]).items) == [
        b.sts_provider_id
    ]


def test_lists_do_not_mix_zones(zone, fresh_zone):
    a, b = zone, fresh_zone
    objs = zone_objects(a)
    zs = b.client.zones
    assert zs.applications.list(b.id, filter_id=[objs["app"].id]).items == []
    assert zs.resources.list(b.id, filter_id=[objs["resource"].id]).items == []
    assert zs.application_credentials.list(b.id, application_id=objs["app"].id).items == []
    assert zs.resources.list(b.id, filter_identifier=[objs["resource"].identifier]).items == []
    assert zs.secrets.list(b.id, entity_id=objs["app"].id) == []
    assert zs.providers.list(b.id, filter_type=["external"]).items == []


def test_identity_records_of_zone_a_are_404_in_zone_b(zone, fresh_zone, records):
    a, b = zone, fresh_zone
    user = records.user(a)
    ua = records.user_agent(a)
    sess = records.session(a, user_id=user["id"], user_agent_id=ua["id"])
    grant = records.grant(a, user_id=user["id"], resource_id=a.resource().id, provider_id=a.provider().id)
    zs = b.client.zones
    for call in (
        lambda: zs.users.retrieve(user["id"], zone_id=b.id),
        lambda: zs.user_agents.retrieve(ua["id"], zone_id=b.id),
        lambda: zs.sessions.retrieve(sess["id"], zone_id=b.id),
        lambda: zs.sessions.update(sess["id"], zone_id=b.id, status="revoked"),
        lambda: zs.sessions.delete(sess["id"], zone_id=b.id),
        lambda: zs.delegated_grants.retrieve(grant["id"], zone_id=b.id),
        lambda: zs.delegated_grants.update(grant["id"], zone_id=b.id, status="revoked"),
        lambda: zs.delegated_grants.delete(grant["id"], zone_id=b.id),
    ):
        with lk.api_error(NotFoundError, 404, "not_found"):
            call()
    assert zs.users.list(b.id).items == [] and zs.sessions.list(b.id, include_nested="true").items == []
    assert zs.delegated_grants.list(b.id).items == [] and zs.user_agents.list(b.id).items == []
    assert a.client.zones.sessions.retrieve(sess["id"], zone_id=a.id).status == "active"
    assert a.client.zones.delegated_grants.retrieve(grant["id"], zone_id=a.id).status == "active"


# --------------------------------------------------------------------------------------------
# References across zones
# --------------------------------------------------------------------------------------------


def test_references_to_another_zone_are_404(zone, fresh_zone):
    a, b = zone, fresh_zone
    b_app, b_res, b_idp = b.app(), b.resource(), b.provider()
    a_app, a_res = a.app(), a.resource()
    zs = a.client.zones
    counts = lambda: (  # noqa: E731
        a.count(zs.applications.list), a.count(zs.resources.list), a.count(zs.application_credentials.list)
    )
    before = counts()
    for call in (
        lambda: a.credential("token", application_id=a_app.id, provider_id=b_idp.id),
        lambda: a.credential("public", application_id=b_app.id),
        lambda: a.resource(credential_provider_id=b_idp.id),
        lambda: a.resource(application_id=b_app.id),
        lambda: zs.resources.update(a_res.id, zone_id=a.id, credential_provider_id=b_idp.id),
        lambda: zs.resources.update(a_res.id, zone_id=a.id, application_id=b_app.id),
        lambda: a.app(dependencies=[{"id": b_res.id}]),
        lambda: zs.applications.dependencies.add(b_res.id, zone_id=a.id, id=a_app.id),
        lambda: zs.update(a.id, user_identity_provider_id=b_idp.id),
        lambda: zs.update(a.id, default_resource_id=b_res.id),
        lambda: a.credential("token", application_id=a_app.id, provider_id=b.sts_provider_id),
    ):
        with lk.api_error(NotFoundError, 404, "not_found"):
            call()
    assert counts() == before
    got = zs.resources.retrieve(a_res.id, zone_id=a.id)
    assert got.credential_provider_id is None and got.application_id is None
    z = zs.retrieve(a.id)
    assert z.user_identity_provider_id is None and z.default_resource_id is None


def test_when_accessing_another_zones_resource(zone, fresh_zone):
    a, b = zone, fresh_zone
    app, res, foreign = a.app(), a.resource(), b.resource()
    with lk.api_error(NotFoundError, 404, "not_found"):
        a.client.zones.applications.dependencies.add(res.id, zone_id=a.id, id=app.id, when_accessing=[foreign.id])
    assert a.client.zones.applications.retrieve(app.id, zone_id=a.id).dependencies_count == 0


# --------------------------------------------------------------------------------------------
# Another organization's principal
# --------------------------------------------------------------------------------------------


def test_service_account_of_another_org_is_403(fresh_zone, make_sa, records):
    a = fresh_zone
    objs = zone_objects(a)
    sess = records.session(a, user_id=records.user(a)["id"], user_agent_id=records.user_agent(a)["id"])
    p = make_sa()
    # the principal works in its own organization's zones
    own = lk.ZoneKit(p.client, p.client.zones.create(name=lk.unique("sa zone")))
    assert own.app().zone_id == own.id
    zs = p.client.zones
    app_id = objs["app"].id
    for call in (
        lambda: zs.applications.list(a.id),
        lambda: zs.applications.create(a.id, identifier="intruder", name="Intruder"),
        lambda: zs.applications.retrieve(app_id, zone_id=a.id),
        lambda: zs.applications.update(app_id, zone_id=a.id, name="hijacked"),
        lambda: zs.applications.delete(app_id, zone_id=a.id),
        lambda: zs.applications.dependencies.list(app_id, zone_id=a.id),
        lambda: zs.applications.dependencies.add(objs["resource"].id, zone_id=a.id, id=app_id),
        lambda: zs.resources.list(a.id),
        lambda: zs.resources.retrieve(objs["resource"].id, zone_id=a.id),
        lambda: zs.providers.list(a.id),
        lambda: zs.providers.delete(objs["provider"].id, zone_id=a.id),
        lambda: zs.secrets.list(a.id),
        lambda: zs.secrets.retrieve(objs["secret"].id, zone_id=a.id),
        lambda: zs.application_credentials.list(a.id),
        lambda: zs.application_credentials.create(a.id, application_id=app_id, type="password"),
        lambda: zs.users.list(a.id),
        lambda: zs.user_agents.list(a.id),
        lambda: zs.sessions.list(a.id),
        lambda: zs.sessions.update(sess["id"], zone_id=a.id, status="revoked"),
        lambda: zs.delegated_grants.list(a.id),
        # unknown ids too: the answer does not tell what exists
        lambda: zs.applications.retrieve(GHOST, zone_id=a.id),
        lambda: zs.resources.retrieve(GHOST, zone_id=a.id),
    ):
        with lk.api_error(PermissionDeniedError, 403, "forbidden"):
            call()
    got = a.client.zones.applications.retrieve(app_id, zone_id=a.id)
    assert got.name == objs["app"].name and got.dependencies_count == 0
    assert a.count(a.client.zones.applications.list) == 1
    assert a.count(a.client.zones.application_credentials.list) == 1
    assert a.client.zones.sessions.retrieve(sess["id"], zone_id=a.id).status == "active"


# --------------------------------------------------------------------------------------------
# Deleting a zone
# --------------------------------------------------------------------------------------------

ZONE_TABLES = ["applications", "providers", "resources", "application_dependencies", "dependency_conditions",
               "application_credentials", "secrets", "users", "user_agents", "sessions", "delegated_grants"]  # fmt: skip


def test_deleting_a_zone_deletes_everything_in_it(zone, fresh_zone, records):
    a, b = fresh_zone, zone  # the one deleted is this test's own
    objs = zone_objects(a)
    dep = a.resource()
    deps = a.client.zones.applications.dependencies
    deps.add(dep.id, zone_id=a.id, id=objs["app"].id, when_accessing=[objs["resource"].id])
    a.credential("token", application_id=objs["app"].id, provider_id=objs["provider"].id)
    user = records.user(a, provider_id=objs["provider"].id)
    ua = records.user_agent(a)
    records.session(a, user_id=user["id"], user_agent_id=ua["id"], application_id=objs["app"].id)
    records.grant(a, user_id=user["id"], resource_id=dep.id, provider_id=objs["provider"].id)
    survivor = zone_objects(b)

    a.client.zones.delete(a.id)
    for table in ZONE_TABLES:
        (n,) = records.execute(f"SELECT count(*) FROM {table} WHERE zone_id = ?", (a.id,))[0]
        assert n == 0, f"{n} rows of {table} outlived their zone"
    for call in (
        lambda: a.client.zones.applications.retrieve(objs["app"].id, zone_id=a.id),
        lambda: a.client.zones.applications.list(a.id),
        lambda: a.client.zones.secrets.list(a.id),
        lambda: a.client.zones.users.retrieve(user["id"], zone_id=a.id),
    ):
        with lk.api_error(NotFoundError, 404, "not_found"):
            call()
    # the other zone is untouched
    assert b.client.zones.applications.retrieve(survivor["app"].id, zone_id=b.id).id == survivor["app"].id
    assert b.client.zones.providers.retrieve(survivor["provider"].id, zone_id=b.id).id == survivor["provider"].id
    assert b.client.zones.secrets.retrieve(survivor["secret"].id, zone_id=b.id).id == survivor["secret"].id
