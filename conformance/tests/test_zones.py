"""Zones (spec §3.4, §4.3, §2.1 family B, §2.6, §2.8, B39–B45, B50) through the SDK."""

from __future__ import annotations

import re

from keycardai_api import BadRequestError, NotFoundError, PermissionDeniedError
from keycardai_api.types import Zone, ZoneListResponse

import lk

ARN = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def full_create_kwargs(org_id: str) -> dict:
    return dict(
        name=lk.unique("Full Zone"),
        description="a zone with every create field",
        organization_id=org_id,
        protocols={
            "oauth2": {
                "dcr_enabled": False,
                "pkce_required": False,
                "cimd": {"enabled": True, "allowed_client_ids": ["https://*.example.com", "https://app.example.org/cimd"]},
            }
        },
        requires_invitation=False,
        encryption_key={"arn": ARN, "type": "aws"},
    )


def list_all_zones(client, org_id: str) -> list[Zone]:
    page = client.zones.list(filter_organization_id=org_id, limit=100)
    assert page.page_info.has_next_page is False
    return page.items


# --------------------------------------------------------------------------------------------
# Create and the shape of a Zone
# --------------------------------------------------------------------------------------------


def test_create_with_every_field(admin, base_url, new_org):
    kw = full_create_kwargs(new_org.id)
    status, body, headers = lk.raw_json(admin.zones.with_raw_response.create(**kw))
    assert status in (200, 201)
    assert headers["content-type"].startswith("application/json")
    zone = lk.assert_valid(Zone, body)  # every field the SDK model parses, with the right type
    assert zone.name == kw["name"]
    assert zone.description == kw["description"]
    assert zone.organization_id == new_org.id
    assert zone.owner_type == "customer"
    assert zone.external_sync_enabled is False
    assert zone.requires_invitation is False
    o = zone.protocols.oauth2
    assert o.dcr_enabled is False and o.pkce_required is False
    assert o.cimd.enabled is True
    assert o.cimd.allowed_client_ids == ["https://*.example.com", "https://app.example.org/cimd"]
    assert zone.encryption_key is not None
    assert (zone.encryption_key.arn, zone.encryption_key.type) == (ARN, "aws")
    lk.assert_rfc3339(body["created_at"])
    lk.assert_rfc3339(body["updated_at"])
    lk.assert_utc_datetime(zone.created_at)
    assert zone.permissions is None and "permissions" not in body
    # the same thing comes back on GET
    again = admin.zones.retrieve(zone.id)
    assert again.to_dict() == zone.to_dict()


def test_protocol_urls(admin, base_url, new_org):
    zone = admin.zones.create(name=lk.unique("urls"), organization_id=new_org.id)
    issuer = f"{base_url}/z/{zone.id}"
    o, oidc = zone.protocols.oauth2, zone.protocols.openid
    assert o.issuer == issuer
    assert o.token_endpoint == issuer + "/oauth/2/token"
    assert o.authorization_endpoint == issuer + "/oauth/2/authorize"
    assert o.registration_endpoint == issuer + "/oauth/2/registration"
    assert o.jwks_uri == issuer + "/openidconnect/jwks"
    assert o.redirect_uri == issuer + "/oauth/2/redirect"
    assert o.authorization_server_metadata == issuer + "/.well-known/oauth-authorization-server"
    assert oidc.provider_configuration == issuer + "/.well-known/openid-configuration"
    assert oidc.userinfo_endpoint == issuer + "/openidconnect/userinfo"


def test_create_defaults(admin, new_org):
    status, body, _ = lk.raw_json(admin.zones.with_raw_response.create(name=lk.unique("min"), organization_id=new_org.id))
    zone = lk.assert_valid(Zone, body)
    o = zone.protocols.oauth2
    assert o.dcr_enabled is True
    assert o.pkce_required is True
    assert zone.requires_invitation is True
    assert o.cimd.enabled is False and o.cimd.allowed_client_ids == []
    assert zone.external_sync_enabled is False
    assert zone.owner_type == "customer"
    assert body.get("encryption_key") is None
    assert body.get("description") is None
    assert body.get("user_identity_provider_id") is None
    assert body.get("default_mcp_gateway_application_id") is None
    assert body.get("default_resource_id") is None


def test_create_without_organization_uses_callers_org(admin, default_org):
    zone = admin.zones.create(name=lk.unique("default org zone"))
    assert zone.organization_id == default_org.id
    assert [z.id for z in admin.zones.list(slug=zone.slug).items] == [zone.id]


def test_admin_list_defaults_to_own_org(admin, default_org, new_org):
    mine = admin.zones.create(name=lk.unique("mine"))
    theirs = admin.zones.create(name=lk.unique("theirs"), organization_id=new_org.id)
    listed = admin.zones.list(slug=mine.slug)
    assert [z.id for z in listed.items] == [mine.id]
    assert admin.zones.list(slug=theirs.slug).items == [], "GET /zones without filter must list the caller's org only"
    assert [z.id for z in admin.zones.list(slug=theirs.slug, filter_organization_id=new_org.id).items] == [theirs.id]


def test_slug(admin, new_org):
    name = lk.unique("Same Name")
    a = admin.zones.create(name=name, organization_id=new_org.id)
    b = admin.zones.create(name=name, organization_id=new_org.id)
    for z in (a, b):
        assert lk.SLUG_RE.match(z.slug), z.slug
        assert 1 <= len(z.slug) <= 63
    assert a.slug != b.slug
    assert a.slug.startswith("same-name"), f"slug {a.slug!r} is not derived from the name {name!r}"


def test_slug_of_awkward_names(admin, new_org):
    for name in ("!!!", "Ünïcödé zone", "x" * 255, "a  --  b", "ZONE"):
        z = admin.zones.create(name=name, organization_id=new_org.id)
        assert lk.SLUG_RE.match(z.slug) and len(z.slug) <= 63, (name, z.slug)
        assert z.name == name


def test_retrieve_unknown(admin):
    with lk.api_error(NotFoundError, 404, "not_found"):
        admin.zones.retrieve("nosuchzone0000000000000000")


def test_retrieve_expand_permissions(admin, new_org):
    zone = admin.zones.create(name=lk.unique("perm"), organization_id=new_org.id)
    got = admin.zones.retrieve(zone.id, expand=["permissions"])
    assert isinstance(got.permissions, dict) and got.permissions
    for actions in got.permissions.values():
        assert isinstance(actions, dict) and all(isinstance(v, bool) for v in actions.values())
    assert admin.zones.retrieve(zone.id).permissions is None


# --------------------------------------------------------------------------------------------
# List
# --------------------------------------------------------------------------------------------


def test_list_shape(admin, new_org):
    admin.zones.create(name=lk.unique("shape"), organization_id=new_org.id)
    status, body, _ = lk.raw_json(admin.zones.with_raw_response.list(filter_organization_id=new_org.id))
    assert status == 200
    assert set(body) >= {"items", "pagination", "page_info"}
    lk.assert_valid(ZoneListResponse, body)
    assert "has_previous_page" in body["page_info"] and "has_prev_page" not in body["page_info"]
    assert body["pagination"].get("total_count") is None, "total_count only with expand[]=total_count"


def test_list_pagination(admin, new_org):
    made = [admin.zones.create(name=lk.unique("pg"), organization_id=new_org.id).id for _ in range(5)]
    everything = [z.id for z in list_all_zones(admin, new_org.id)]
    # creation order, oldest first; the org's platform zone (made with the org) may come first
    assert everything[-5:] == made
    n = len(everything)

    pages, results = [], []
    after = None
    while True:
        kw = {"after": after} if after else {}
        res = admin.zones.list(filter_organization_id=new_org.id, limit=2, **kw)
        results.append(res)
        pages.append([z.id for z in res.items])
        if not res.page_info.has_next_page:
            break
        after = res.pagination.after_cursor
        assert after, "has_next_page but no pagination.after_cursor"
        assert len(pages) < 100
    assert [i for p in pages for i in p] == everything
    assert len(pages) == (n + 1) // 2
    assert results[0].page_info.has_previous_page is False
    assert all(r.page_info.has_previous_page is True for r in results[1:])
    assert all(r.page_info.has_next_page is True for r in results[:-1])
    assert results[-1].page_info.has_next_page is False

    # and back again with `before`
    cursor = results[-1].pagination.before_cursor
    for j in range(len(pages) - 2, -1, -1):
        assert cursor, f"no pagination.before_cursor on page {j + 1}"
        back = admin.zones.list(filter_organization_id=new_org.id, limit=2, before=cursor)
        assert [z.id for z in back.items] == pages[j]
        assert back.page_info.has_next_page is True
        assert back.page_info.has_previous_page is (j > 0)
        cursor = back.pagination.before_cursor


def test_list_cursors_absent_at_the_ends(admin, new_org):
    for _ in range(3):
        admin.zones.create(name=lk.unique("ends"), organization_id=new_org.id)
    first = admin.zones.list(filter_organization_id=new_org.id, limit=2)
    assert first.pagination.before_cursor is None
    assert first.pagination.after_cursor
    last = admin.zones.list(filter_organization_id=new_org.id, limit=100)
    assert last.pagination.after_cursor is None
    assert last.pagination.before_cursor is None


def test_list_page_info_cursors(admin, new_org):
    for _ in range(3):
        admin.zones.create(name=lk.unique("pi"), organization_id=new_org.id)
    p1 = admin.zones.list(filter_organization_id=new_org.id, limit=2)
    assert p1.page_info.start_cursor and p1.page_info.end_cursor
    p2 = admin.zones.list(filter_organization_id=new_org.id, limit=2, after=p1.page_info.end_cursor)
    assert [z.id for z in p2.items] == [z.id for z in admin.zones.list(
        filter_organization_id=new_org.id, limit=2, after=p1.pagination.after_cursor).items]


def test_list_legacy_cursor_parameter(admin, new_org):
    # spec §2.1: `cursor` is a legacy synonym for `after` on GET /zones
    for _ in range(3):
        admin.zones.create(name=lk.unique("legacy"), organization_id=new_org.id)
    p1 = admin.zones.list(filter_organization_id=new_org.id, limit=2)
    via_after = admin.zones.list(filter_organization_id=new_org.id, limit=2, after=p1.pagination.after_cursor)
    via_cursor = admin.zones.list(filter_organization_id=new_org.id, limit=2, cursor=p1.pagination.after_cursor)
    assert [z.id for z in via_cursor.items] == [z.id for z in via_after.items]


def test_total_count_only_when_asked(admin, new_org):
    for _ in range(3):
        admin.zones.create(name=lk.unique("tc"), organization_id=new_org.id)
    n = len(list_all_zones(admin, new_org.id))
    plain = admin.zones.list(filter_organization_id=new_org.id, limit=1)
    assert plain.pagination.total_count is None
    counted = admin.zones.list(filter_organization_id=new_org.id, limit=1, expand=["total_count"])
    assert counted.pagination.total_count == n
    assert len(counted.items) == 1
    # ignores the cursor too
    nxt = admin.zones.list(
        filter_organization_id=new_org.id, limit=1, after=counted.pagination.after_cursor, expand=["total_count"]
    )
    assert nxt.pagination.total_count == n
    # and follows the filters
    one = admin.zones.list(filter_organization_id=new_org.id, slug=plain.items[0].slug, expand=["total_count"])
    assert one.pagination.total_count == 1


def test_slug_filter(admin, new_org):
    a = admin.zones.create(name=lk.unique("filter a"), organization_id=new_org.id)
    admin.zones.create(name=lk.unique("filter b"), organization_id=new_org.id)
    got = admin.zones.list(filter_organization_id=new_org.id, slug=a.slug)
    assert [z.id for z in got.items] == [a.id]
    assert admin.zones.list(filter_organization_id=new_org.id, slug="no-such-slug-here").items == []


def test_list_limit_bounds_and_bad_cursor(admin, new_org):
    assert admin.zones.list(filter_organization_id=new_org.id, limit=100).items is not None
    for bad in (0, 101):
        with lk.api_error(BadRequestError, 400, "invalid_query") as info:
            admin.zones.list(limit=bad)
        assert "limit" in info.body["message"]
    for key in ("after", "before", "cursor"):
        with lk.api_error(BadRequestError, 400, "invalid_cursor"):
            admin.zones.list(**{key: "garbage-cursor-%%%"})


# --------------------------------------------------------------------------------------------
# Update (PATCH, tri-state)
# --------------------------------------------------------------------------------------------


def test_update_name_and_absent_fields_kept(strict_admin, new_org):
    zone = strict_admin.zones.create(**full_create_kwargs(new_org.id))
    new_name = lk.unique("renamed")
    upd = strict_admin.zones.update(zone.id, name=new_name)
    assert upd.name == new_name
    assert upd.slug == zone.slug, "renaming must not change the slug"
    assert upd.description == zone.description
    assert upd.encryption_key is not None and upd.encryption_key.arn == ARN
    assert upd.requires_invitation is False
    assert upd.protocols.oauth2.to_dict() == zone.protocols.oauth2.to_dict()
    assert upd.updated_at >= zone.updated_at and upd.created_at == zone.created_at
    assert strict_admin.zones.retrieve(zone.id).name == new_name


def test_update_description_tri_state(admin, new_org):
    zone = admin.zones.create(name=lk.unique("desc"), description="first", organization_id=new_org.id)
    assert admin.zones.update(zone.id, name=zone.name).description == "first"  # absent keeps it
    assert admin.zones.update(zone.id, description="second").description == "second"
    cleared = admin.zones.update(zone.id, description=None)
    assert cleared.description is None
    assert admin.zones.retrieve(zone.id).description is None


def test_update_protocols_partial(admin, new_org):
    zone = admin.zones.create(name=lk.unique("proto"), organization_id=new_org.id)
    upd = admin.zones.update(zone.id, protocols={"oauth2": {"dcr_enabled": False}})
    assert upd.protocols.oauth2.dcr_enabled is False
    assert upd.protocols.oauth2.pkce_required is True, "partial protocols update changed pkce_required"
    assert upd.protocols.oauth2.issuer == zone.protocols.oauth2.issuer
    upd = admin.zones.update(zone.id, protocols={"oauth2": {"pkce_required": False}})
    assert (upd.protocols.oauth2.dcr_enabled, upd.protocols.oauth2.pkce_required) == (False, False)
    upd = admin.zones.update(
        zone.id, protocols={"oauth2": {"cimd": {"enabled": True, "allowed_client_ids": ["https://c.example.com/m"]}}}
    )
    assert upd.protocols.oauth2.cimd.enabled is True
    assert upd.protocols.oauth2.cimd.allowed_client_ids == ["https://c.example.com/m"]
    assert upd.protocols.oauth2.dcr_enabled is False
    got = admin.zones.retrieve(zone.id)
    assert got.protocols.oauth2.to_dict() == upd.protocols.oauth2.to_dict()


def test_update_encryption_key_set_and_clear(admin, new_org):
    zone = admin.zones.create(name=lk.unique("kms"), organization_id=new_org.id)
    assert zone.encryption_key is None
    upd = admin.zones.update(zone.id, encryption_key={"arn": ARN, "type": "aws"})
    assert upd.encryption_key is not None and upd.encryption_key.arn == ARN
    cleared = admin.zones.update(zone.id, encryption_key=None)
    assert cleared.encryption_key is None
    assert admin.zones.retrieve(zone.id).encryption_key is None


def test_update_requires_invitation_and_external_sync(admin, new_org):
    zone = admin.zones.create(name=lk.unique("flags"), organization_id=new_org.id)
    upd = admin.zones.update(zone.id, requires_invitation=False, external_sync_enabled=True)
    assert upd.requires_invitation is False and upd.external_sync_enabled is True
    got = admin.zones.retrieve(zone.id)
    assert got.requires_invitation is False and got.external_sync_enabled is True


def test_update_unknown_zone(admin):
    with lk.api_error(NotFoundError, 404, "not_found"):
        admin.zones.update("nosuchzone0000000000000000", name="x")


# --------------------------------------------------------------------------------------------
# Delete
# --------------------------------------------------------------------------------------------


def test_delete(admin, new_org):
    zone = admin.zones.create(name=lk.unique("doomed"), organization_id=new_org.id)
    raw = admin.zones.with_raw_response.delete(zone.id)
    assert raw.http_response.status_code == 204
    assert raw.http_response.content == b""
    with lk.api_error(NotFoundError, 404, "not_found"):
        admin.zones.retrieve(zone.id)
    assert zone.id not in [z.id for z in list_all_zones(admin, new_org.id)]
    with lk.api_error(NotFoundError, 404, "not_found"):
        admin.zones.delete(zone.id)


# --------------------------------------------------------------------------------------------
# The platform zone
# --------------------------------------------------------------------------------------------


def test_platform_zone_readable(strict_admin, new_org):
    pz = strict_admin.zones.retrieve(new_org.zone_id)
    assert pz.id == new_org.zone_id
    assert pz.owner_type == "platform"
    assert pz.organization_id == new_org.id
    assert lk.SLUG_RE.match(pz.slug)


def test_platform_zone_listed_once(admin, new_org):
    # B17: platform objects can still be listed
    zones = list_all_zones(admin, new_org.id)
    platform = [z for z in zones if z.owner_type == "platform"]
    assert [z.id for z in platform] == [new_org.zone_id]


def test_platform_zone_read_only(admin, new_org):
    for call in (
        lambda: admin.zones.update(new_org.zone_id, name="mine now"),
        lambda: admin.zones.update(new_org.zone_id, description=None),
        lambda: admin.zones.delete(new_org.zone_id),
    ):
        with lk.api_error(PermissionDeniedError, 403, "platform_owned"):
            call()
    pz = admin.zones.retrieve(new_org.zone_id)
    assert pz.name != "mine now"
    assert pz.owner_type == "platform"


# --------------------------------------------------------------------------------------------
# More edges
# --------------------------------------------------------------------------------------------


def test_default_page_size_is_50(admin, new_org):
    for i in range(51):
        admin.zones.create(name=f"bulk {i}", organization_id=new_org.id)
    page = admin.zones.list(filter_organization_id=new_org.id)
    assert len(page.items) == 50
    assert page.page_info.has_next_page is True
    rest = admin.zones.list(filter_organization_id=new_org.id, after=page.pagination.after_cursor)
    assert len(rest.items) == len(list_all_zones(admin, new_org.id)) - 50


def test_cursor_survives_deletion_of_its_item(admin, new_org):
    made = [admin.zones.create(name=lk.unique("cur"), organization_id=new_org.id).id for _ in range(4)]
    everything = [z.id for z in list_all_zones(admin, new_org.id)]
    k = everything.index(made[1])
    page = admin.zones.list(filter_organization_id=new_org.id, limit=k + 1)
    assert page.items[-1].id == made[1]
    admin.zones.delete(made[1])
    nxt = admin.zones.list(filter_organization_id=new_org.id, limit=2, after=page.pagination.after_cursor)
    assert [z.id for z in nxt.items] == made[2:4]


def test_filter_organization_by_label(admin, new_org):
    z = admin.zones.create(name=lk.unique("bylabel"), organization_id=new_org.id)
    got = admin.zones.list(filter_organization_id=new_org.label, slug=z.slug)
    assert [x.id for x in got.items] == [z.id]


def test_create_in_unknown_organization(admin):
    with lk.api_error(NotFoundError, 404, "not_found"):
        admin.zones.create(name=lk.unique("orphan"), organization_id="nosuchorganization000000000")


def test_encryption_key_validation(admin):
    with lk.api_error(BadRequestError, 400, "invalid_field") as info:
        admin.zones.create(name=lk.unique("k"), encryption_key={"arn": "", "type": "aws"})
    assert "arn" in info.body["message"]
    with lk.api_error(BadRequestError, 400, "invalid_field") as info:
        admin.zones.create(name=lk.unique("k"), encryption_key={"arn": ARN, "type": "gcp"})  # type: ignore[typeddict-item]
    assert "type" in info.body["message"]
    with lk.api_error(BadRequestError, 400, "invalid_field") as info:
        admin.zones.create(name=lk.unique("k"), extra_body={"encryption_key": {"type": "aws"}})
    assert "arn" in info.body["message"]


def test_cimd_allowed_client_ids_validated(admin):
    # B40: one wildcard, standing for one leading subdomain label, or `*` alone
    ok = admin.zones.create(
        name=lk.unique("cimd"),
        protocols={"oauth2": {"cimd": {"enabled": True, "allowed_client_ids": ["*", "https://*.ex.com", "https://a.ex.com/c.json"]}}},
    )
    assert ok.protocols.oauth2.cimd.allowed_client_ids == ["*", "https://*.ex.com", "https://a.ex.com/c.json"]
    for bad in ("https://*.*.example.com", "https://a.*.example.com", "not a url", "ftp://x.example.com"):
        with lk.api_error(BadRequestError, 400, "invalid_field") as info:
            admin.zones.create(
                name=lk.unique("cimd"), protocols={"oauth2": {"cimd": {"enabled": True, "allowed_client_ids": [bad]}}}
            )
        assert "allowed_client_ids" in info.body["message"]


def test_timestamps_utc_with_milliseconds(admin, new_org):
    # design.md §4: RFC 3339 UTC with milliseconds
    status, body, _ = lk.raw_json(admin.zones.with_raw_response.create(name=lk.unique("ts"), organization_id=new_org.id))
    for key in ("created_at", "updated_at"):
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", body[key]), body[key]


def test_list_expand_permissions(admin, new_org):
    admin.zones.create(name=lk.unique("lp"), organization_id=new_org.id)
    listed = admin.zones.list(filter_organization_id=new_org.id, expand=["permissions"])
    assert listed.items
    for z in listed.items:
        assert isinstance(z.permissions, dict) and z.permissions, z.id
    assert all(z.permissions is None for z in admin.zones.list(filter_organization_id=new_org.id).items)
