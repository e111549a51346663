"""Organizations (spec §3.1.1–3.1.4, §4.2, B46): list, create, retrieve by id and label, update,
family-A pagination and the `permissions` expansion, all through the SDK."""

from __future__ import annotations

from keycardai_api import BadRequestError, NotFoundError
from keycardai_api.types import Organization, OrganizationListResponse

import lk


def test_default_organization_exists(admin, default_org):
    assert default_org.name == "Default"
    assert default_org.sso_enabled is False
    assert isinstance(default_org.zone_id, str) and default_org.zone_id
    assert lk.DNS_LABEL_RE.match(default_org.label), default_org.label


def test_list_shape_and_admin_sees_default_and_created(strict_admin, admin, default_org):
    created = [admin.organizations.create(name=lk.unique("List Org")) for _ in range(2)]
    page = strict_admin.organizations.list(limit=100)
    assert isinstance(page, OrganizationListResponse)
    ids = [o.id for o in lk.list_all_organizations(admin)]
    assert default_org.id in ids
    for org in created:
        assert org.id in ids
    # creation order, oldest first
    assert ids.index(created[0].id) < ids.index(created[1].id)
    assert ids.index(default_org.id) < ids.index(created[0].id)
    assert len(ids) == len(set(ids)), "an organization appears twice"


def test_list_envelope_uses_has_prev_page_spelling(admin):
    status, body, _ = lk.raw_json(admin.organizations.with_raw_response.list(limit=1))
    assert status == 200
    assert set(body) >= {"items", "page_info"}
    info = body["page_info"]
    assert "has_prev_page" in info and "has_previous_page" not in info, info
    assert info["has_prev_page"] is False
    assert isinstance(info["has_next_page"], bool)
    assert "permissions" not in body or body["permissions"] is None
    lk.assert_valid(OrganizationListResponse, body)


def test_create(strict_admin):
    name = lk.unique("Acme Widgets")
    org = strict_admin.organizations.create(name=name)
    assert isinstance(org, Organization)
    assert lk.NANOID_RE.match(org.id), org.id
    assert org.name == name
    assert org.sso_enabled is False
    assert isinstance(org.zone_id, str) and org.zone_id
    lk.assert_utc_datetime(org.created_at, "created_at")
    lk.assert_utc_datetime(org.updated_at, "updated_at")
    assert org.permissions is None
    # label is a DNS label derived from the name
    assert lk.DNS_LABEL_RE.match(org.label), org.label
    suffix = name.split()[-1]
    assert suffix in org.label, f"label {org.label!r} not derived from name {name!r}"
    assert org.label.startswith("acme"), org.label


def test_create_raw_shape(admin):
    status, body, headers = lk.raw_json(admin.organizations.with_raw_response.create(name=lk.unique("Raw Org")))
    assert status in (200, 201)
    assert headers["content-type"].startswith("application/json")
    lk.assert_valid(Organization, body)
    lk.assert_rfc3339(body["created_at"])
    lk.assert_rfc3339(body["updated_at"])


def test_same_name_gets_distinct_labels(admin):
    name = lk.unique("Twin Org")
    a = admin.organizations.create(name=name)
    b = admin.organizations.create(name=name)
    assert a.id != b.id
    assert a.label != b.label, "two organizations share a label, so the label cannot identify one"
    assert admin.organizations.retrieve(a.label).id == a.id
    assert admin.organizations.retrieve(b.label).id == b.id


def test_each_org_gets_its_own_platform_zone_id(admin, new_org, default_org):
    assert new_org.zone_id != default_org.zone_id


def test_retrieve_by_id_and_by_label(strict_admin, new_org):
    by_id = strict_admin.organizations.retrieve(new_org.id)
    by_label = strict_admin.organizations.retrieve(new_org.label)
    assert by_id.id == by_label.id == new_org.id
    assert by_id.name == by_label.name == new_org.name
    assert by_id.label == new_org.label
    assert by_id.zone_id == new_org.zone_id
    assert by_id.created_at == new_org.created_at


def test_retrieve_unknown(admin):
    with lk.api_error(NotFoundError, 404, "not_found"):
        admin.organizations.retrieve("nosuchorganization000000000")


def test_update_name(strict_admin, admin, new_org):
    new_name = lk.unique("Renamed Org")
    updated = strict_admin.organizations.update(new_org.id, name=new_name)
    assert updated.id == new_org.id
    assert updated.name == new_name
    assert updated.updated_at >= new_org.updated_at
    assert updated.created_at == new_org.created_at
    again = admin.organizations.retrieve(new_org.id)
    assert again.name == new_name
    # the label is an identifier: still resolves after a rename
    assert admin.organizations.retrieve(updated.label).id == new_org.id


def test_update_by_label(admin, new_org):
    new_name = lk.unique("Label Renamed")
    updated = admin.organizations.update(new_org.label, name=new_name)
    assert updated.id == new_org.id and updated.name == new_name


def test_update_rejects_bad_name(admin, new_org):
    with lk.api_error(BadRequestError, 400, "invalid_field") as info:
        admin.organizations.update(new_org.id, name="<script>alert(1)</script>")
    assert "name" in info.body["message"]
    assert admin.organizations.retrieve(new_org.id).name == new_org.name


def test_pagination_forward_and_back(admin):
    for _ in range(5):
        admin.organizations.create(name=lk.unique("Page Org"))
    everything = [o.id for o in lk.list_all_organizations(admin)]
    assert len(everything) >= 6

    limit = 2
    pages: list[list[str]] = []
    starts: list[str] = []
    infos = []
    after = None
    while True:
        page = admin.organizations.list(limit=limit, **({"after": after} if after else {}))
        assert 1 <= len(page.items) <= limit
        pages.append([o.id for o in page.items])
        infos.append(page.page_info)
        starts.append(page.page_info.start_cursor)
        if not page.page_info.has_next_page:
            break
        after = page.page_info.end_cursor
        assert after
        assert len(pages) < 1000
    assert [i for p in pages for i in p] == everything
    assert infos[0].has_prev_page is False
    assert all(i.has_prev_page is True for i in infos[1:])
    assert all(i.has_next_page is True for i in infos[:-1])
    assert infos[-1].has_next_page is False
    assert all(len(p) == limit for p in pages[:-1])

    # back with `before` from the last page's start_cursor: the page before it
    k = len(pages) - 1
    back = admin.organizations.list(limit=limit, before=starts[k])
    assert [o.id for o in back.items] == pages[k - 1]
    assert back.page_info.has_next_page is True
    assert back.page_info.has_prev_page is (k - 1 > 0)

    # and all the way back to the first page
    cursor = starts[k]
    for j in range(k - 1, -1, -1):
        back = admin.organizations.list(limit=limit, before=cursor)
        assert [o.id for o in back.items] == pages[j]
        cursor = back.page_info.start_cursor
    assert back.page_info.has_prev_page is False


def test_limit_bounds(admin):
    assert len(admin.organizations.list(limit=100).items) >= 1
    assert len(admin.organizations.list(limit=1).items) == 1
    for bad in (0, 101, -1):
        with lk.api_error(BadRequestError, 400, "invalid_query") as info:
            admin.organizations.list(limit=bad)
        assert "limit" in info.body["message"]


def test_garbage_cursor(admin):
    for key in ("after", "before"):
        with lk.api_error(BadRequestError, 400, "invalid_cursor"):
            admin.organizations.list(**{key: "not-a-real-cursor!!"})


def test_expand_permissions_on_retrieve(admin, new_org):
    plain = admin.organizations.retrieve(new_org.id)
    assert plain.permissions is None
    org = admin.organizations.retrieve(new_org.id, expand=["permissions"])
    perms = org.permissions
    assert isinstance(perms, dict) and perms, f"permissions map missing or empty: {perms!r}"
    for resource, actions in perms.items():
        assert isinstance(resource, str)
        assert isinstance(actions, dict) and actions
        assert all(isinstance(k, str) and isinstance(v, bool) for k, v in actions.items())
    # the admin manages every organization
    assert any(True in actions.values() for actions in perms.values())


def test_expand_permissions_on_list(admin):
    status, body, _ = lk.raw_json(admin.organizations.with_raw_response.list(limit=3, expand=["permissions"]))
    assert status == 200
    maps = [body.get("permissions")] + [item.get("permissions") for item in body["items"]]
    maps = [m for m in maps if m is not None]
    assert maps, "expand=permissions put a permissions map neither on the envelope nor on the items"
    for m in maps:
        assert isinstance(m, dict) and m
        assert all(isinstance(v, dict) and all(isinstance(b, bool) for b in v.values()) for v in m.values())


def test_expand_bracketed_spelling_accepted(admin_http, new_org):
    # spec §0/§2.2: accept both `expand` and `expand[]` everywhere
    r = admin_http.get(f"/organizations/{new_org.id}", params={"expand[]": "permissions"})
    assert r.status_code == 200, r.text
    assert isinstance(r.json().get("permissions"), dict)


def test_expand_total_count_ignored_on_retrieve(admin, new_org):
    # spec §2.2: org-family endpoints ignore expand values they have no use for
    assert admin.organizations.retrieve(new_org.id, expand=["total_count"]).id == new_org.id


def test_labels_of_awkward_names(admin):
    labels = []
    for name in ("!!!", "日本語", "x" * 255, "  Leading and trailing  ", "UPPER case"):
        org = admin.organizations.create(name=name)
        assert org.name == name
        assert lk.DNS_LABEL_RE.match(org.label), (name, org.label)
        assert admin.organizations.retrieve(org.label).id == org.id
        labels.append(org.label)
    assert len(set(labels)) == len(labels)
