"""Bad input on every create and update of the zone directory (spec §2.5, §2.6, B15, B16): missing
fields, over-long strings, HTML and control characters, invalid URLs, unknown enum values, dangling
references and duplicates. Every refusal is a `{message, code, status}` error naming the field, and
leaves the store as it was."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any, Callable

import pytest
from keycardai_api import APIStatusError

import lk

GHOST = "nosuchthing000000000000000"
CODES = {400: "invalid_field", 404: "not_found", 409: "conflict"}
REMOVE = object()


@dataclass
class Kind:
    path: str
    body: Callable[[lk.ZoneKit], dict]
    count: Callable[[lk.ZoneKit], int]
    make: Callable[[lk.ZoneKit], Any]


def _count(attr: str) -> Callable[[lk.ZoneKit], int]:
    return lambda z: z.count(getattr(z.client.zones, attr).list)


KINDS = {
    "app": Kind("applications", lambda z: {"identifier": lk.unique_url("app"), "name": lk.unique("app")},
                _count("applications"), lambda z: z.app()),
    "resource": Kind("resources", lambda z: {"identifier": lk.unique_url("res"), "name": lk.unique("res")},
                     _count("resources"), lambda z: z.resource()),
    "provider": Kind("providers", lambda z: {"identifier": lk.unique_url("idp"), "name": lk.unique("idp")},
                     _count("providers"), lambda z: z.provider()),
    "credential": Kind("application-credentials", lambda z: {"application_id": z.app().id, "type": "public"},
                       _count("application_credentials"), lambda z: z.credential("public")),
    "secret": Kind("secrets", lambda z: {"data": {"type": "token", "token": "t"}, "entity_id": "e", "name": "n"},
                   lambda z: len(z.client.zones.secrets.list(z.id)), lambda z: z.secret()),
}  # fmt: skip


def apply(body: dict, overrides: dict, zone: lk.ZoneKit) -> dict:
    """Sets (dotted keys reach into objects; REMOVE deletes; a callable gets the zone)."""
    body = copy.deepcopy(body)
    for key, value in overrides.items():
        *parents, last = key.split(".")
        target = body
        for p in parents:
            target = target.setdefault(p, {})
        if value is REMOVE:
            target.pop(last, None)
        else:
            target[last] = value(zone) if callable(value) else value
    return body


def existing_identifier(kind: str) -> Callable[[lk.ZoneKit], str]:
    return lambda z: KINDS[kind].make(z).identifier


# (overrides, expected status, field the message must name)
NAMED = [
    ({"name": REMOVE}, 400, "name"),
    ({"identifier": REMOVE}, 400, "identifier"),
    ({"name": ""}, 400, "name"),
    ({"name": "n" * 256}, 400, "name"),
    ({"identifier": "https://x.example.com/" + "i" * 2027}, 400, "identifier"),
    ({"description": "d" * 2049}, 400, "description"),
    ({"name": "<script>alert(1)</script>"}, 400, "name"),
    ({"name": "ok <div>"}, 400, "name"),
    ({"description": "<img src=x onerror=alert(1)>"}, 400, "description"),
    ({"identifier": "https://x.example.com/<script>"}, 400, "identifier"),
    ({"name": "bad\x00name"}, 400, "name"),
    ({"name": "bad\x1bname"}, 400, "name"),
    ({"description": "line\x07bell"}, 400, "description"),
    ({"identifier": "https://x.example.com/\x7f"}, 400, "identifier"),
    ({"name": 5}, 400, "name"),
    ({"identifier": ["a"]}, 400, "identifier"),
]
CREATE_CASES: list = []
for _kind in ("app", "resource", "provider"):
    CREATE_CASES += [(_kind, *case) for case in NAMED]
    CREATE_CASES.append((_kind, {"identifier": existing_identifier(_kind)}, 409, None))
CREATE_CASES += [
    ("app", {"metadata.docs_url": "not a url"}, 400, "docs_url"),
    ("app", {"metadata.icon_url": "javascript:alert(1)"}, 400, "icon_url"),
    ("app", {"consent": "maybe"}, 400, "consent"),
    ("app", {"protocols.oauth2.redirect_uris": ["not a url"]}, 400, "redirect_uris"),
    ("app", {"dependencies": [{"id": GHOST}]}, 404, None),
    ("app", {"dependencies": [{}]}, 400, "dependencies"),
    ("resource", {"metadata.docs_url": "not a url"}, 400, "docs_url"),
    ("resource", {"application_type": "desktop"}, 400, "application_type"),
    ("resource", {"prefix": "yes"}, 400, "prefix"),
    ("resource", {"scopes": "read"}, 400, "scopes"),
    ("resource", {"credential_lifetime_seconds": "long"}, 400, "credential_lifetime_seconds"),
    ("resource", {"application_id": GHOST}, 404, None),
    ("resource", {"credential_provider_id": GHOST}, 404, None),
    ("provider", {"metadata.icon_url": "not a url"}, 400, "icon_url"),
    ("provider", {"protocols.oauth2.token_endpoint": "not a url"}, 400, "token_endpoint"),
    ("provider", {"protocols.openid.single_logout_enabled": "yes"}, 400, "single_logout_enabled"),
    ("credential", {"type": "magic"}, 400, "type"),
    ("credential", {"type": REMOVE}, 400, "type"),
    ("credential", {"application_id": REMOVE}, 400, "application_id"),
    ("credential", {"application_id": GHOST}, 404, None),
    ("credential", {"identifier": "client\x00id"}, 400, "identifier"),
    ("credential", {"identifier": "<script>x</script>"}, 400, "identifier"),
    ("credential", {"identifier": existing_identifier("credential")}, 409, None),
    ("secret", {"name": REMOVE}, 400, "name"),
    ("secret", {"entity_id": ""}, 400, "entity_id"),
    ("secret", {"description": "d" * 129}, 400, "description"),
    ("secret", {"data.type": "magic"}, 400, None),
    ("secret", {"data": REMOVE}, 400, "data"),
    ("secret", {"metadata": "not an object"}, 400, "metadata"),
]


def case_id(case) -> str:
    kind, overrides, status, _ = case
    key = ",".join(overrides)
    value = next(iter(overrides.values()))
    what = "missing" if value is REMOVE else "dup" if callable(value) else repr(value)[:14]
    return f"{kind}-{key}-{what}-{status}"


@pytest.mark.parametrize("kind,overrides,status,field", CREATE_CASES, ids=[case_id(c) for c in CREATE_CASES])
def test_bad_create(zone, kind, overrides, status, field):
    k = KINDS[kind]
    body = apply(k.body(zone), overrides, zone)
    before = k.count(zone)
    with pytest.raises(APIStatusError) as info:
        zone.client.post(f"/zones/{zone.id}/{k.path}", body=body, cast_to=object)
    err = lk.assert_error(info.value, status, CODES[status])
    if field:
        assert field in err["message"], err
    if status == 409:
        assert info.value.response.headers.get("x-should-retry") == "false"
    assert k.count(zone) == before, "a refused create changed the store"


@pytest.mark.parametrize("kind", ["app", "resource", "provider"])
def test_limits_are_inclusive(zone, kind):
    body = KINDS[kind].body(zone)
    body.update(name="n" * 255, description="d" * 2048, identifier="https://x.example.com/" + "i" * 2026)
    assert len(body["identifier"]) == 2048
    got = zone.client.post(f"/zones/{zone.id}/{KINDS[kind].path}", body=body, cast_to=object)
    assert (got["name"], got["description"], got["identifier"]) == (body["name"], body["description"], body["identifier"])
    # characters, not bytes; a lone "<" is not a tag
    body = KINDS[kind].body(zone)
    body.update(name="é" * 255, description="a < b and c > d")
    got = zone.client.post(f"/zones/{zone.id}/{KINDS[kind].path}", body=body, cast_to=object)
    assert got["name"] == "é" * 255 and got["description"] == "a < b and c > d"


UPDATE_COMMON = [
    ({"name": ""}, "name"),
    ({"name": "n" * 256}, "name"),
    ({"identifier": "i" * 2049}, "identifier"),
    ({"identifier": ""}, "identifier"),
    ({"description": "d" * 2049}, "description"),
    ({"name": "<b>bold</b>"}, "name"),
    ({"description": "<script>x</script>"}, "description"),
    ({"name": "tab\x1bname"}, "name"),
    ({"identifier": "line\nbreak"}, "identifier"),
    ({"name": None}, "name"),
]
UPDATE_CASES: list = []
for _kind in ("app", "resource", "provider"):
    UPDATE_CASES += [(_kind, *case) for case in UPDATE_COMMON]
UPDATE_CASES += [
    ("app", {"consent": "maybe"}, "consent"),
    ("app", {"metadata": {"docs_url": "not a url"}}, "docs_url"),
    ("app", {"protocols": {"oauth2": {"post_logout_redirect_uris": ["::"]}}}, "post_logout_redirect_uris"),
    ("resource", {"application_type": "desktop"}, "application_type"),
    ("resource", {"metadata": {"icon_url": "not a url"}}, "icon_url"),
    ("resource", {"credential_lifetime_seconds": "forever"}, "credential_lifetime_seconds"),
    ("provider", {"metadata": {"icon_url": "not a url"}}, "icon_url"),
    ("provider", {"protocols": {"oauth2": {"issuer": None}}}, "issuer"),
    ("credential", {"identifier": "bad\x00id"}, "identifier"),
    ("credential", {"type": "magic"}, "type"),
    ("secret", {"description": "d" * 129}, "description"),
    ("secret", {"data": {"type": "token"}}, "data"),
    ("secret", {"name": None}, "name"),
]


@pytest.mark.parametrize(
    "kind,body,field", UPDATE_CASES, ids=[f"{c[0]}-{','.join(c[1])}-{next(iter(c[1].values()))!r:.14}" for c in UPDATE_CASES]
)
def test_bad_update_changes_nothing(zone, kind, body, field):
    k = KINDS[kind]
    obj = k.make(zone)
    path = f"/zones/{zone.id}/{k.path}/{obj.id}"
    before = zone.client.get(path, cast_to=object)
    with pytest.raises(APIStatusError) as info:
        zone.client.patch(path, body=body, cast_to=object)
    err = lk.assert_error(info.value, 400, "invalid_field")
    assert field in err["message"], err
    after = zone.client.get(path, cast_to=object)
    assert after == before, "a refused update changed the object"


def test_invalid_patch_is_atomic(zone):
    app = zone.app(description="keep")
    with pytest.raises(APIStatusError) as info:
        zone.client.zones.applications.update(app.id, zone_id=zone.id, description="changed", name="<b>x</b>")
    lk.assert_error(info.value, 400, "invalid_field")
    got = zone.client.zones.applications.retrieve(app.id, zone_id=zone.id)
    assert (got.name, got.description) == (app.name, "keep")


@pytest.mark.parametrize("path", ["applications", "resources", "providers", "application-credentials", "secrets"])
def test_malformed_json(zone, admin_http, path):
    r = admin_http.post(f"/zones/{zone.id}/{path}", content=b'{"name": "x",', headers={"Content-Type": "application/json"})
    lk.assert_error(r, 400, "invalid_json")
    r = admin_http.post(f"/zones/{zone.id}/{path}", content=b"[1, 2]", headers={"Content-Type": "application/json"})
    lk.assert_error(r, 400)


@pytest.mark.parametrize("path", ["applications", "resources", "providers", "application-credentials", "secrets"])
def test_unknown_zone(admin, path):
    with pytest.raises(APIStatusError) as info:
        admin.get(f"/zones/{GHOST}/{path}", cast_to=object)
    lk.assert_error(info.value, 404, "not_found")


@pytest.mark.parametrize("kind", ["app", "resource", "provider", "credential"])
def test_concurrent_duplicates_give_one_create(server, zone, kind):
    k = KINDS[kind]
    body = k.body(zone)
    body["identifier"] = lk.unique_url("race")
    results = lk.race(server, f"/zones/{zone.id}/{k.path}", body, n=8, rounds=2)
    created = [r for r in results if r.status_code == 201]
    assert len(created) == 1, sorted(r.status_code for r in results)
    for r in results:
        if r.status_code != 201:
            lk.assert_error(r, 409, "conflict")
            assert r.headers.get("x-should-retry") == "false"


LIST_PATHS = ["applications", "providers", "resources", "application-credentials", "users", "user-agents", "sessions",
              "delegated-grants", "applications/{app}/dependencies", "applications/{app}/resources",
              "applications/{app}/application-credentials"]  # fmt: skip


@pytest.mark.parametrize("path", LIST_PATHS)
def test_list_query_validation(zone, path):
    app = zone.app()
    url = f"/zones/{zone.id}/" + path.format(app=app.id)
    for params, code, name in (
        ({"limit": "0"}, "invalid_query", "limit"),
        ({"limit": "101"}, "invalid_query", "limit"),
        ({"limit": "abc"}, "invalid_query", "limit"),
        ({"after": "garbage-%%%"}, "invalid_cursor", "after"),
        ({"before": "garbage-%%%"}, "invalid_cursor", "before"),
    ):
        with pytest.raises(APIStatusError) as info:
            zone.client.get(url, cast_to=object, options={"params": params})
        err = lk.assert_error(info.value, 400, code)
        assert name in err["message"], err


@pytest.mark.parametrize("path", LIST_PATHS)
def test_edited_cursors_on_zone_lists(zone, path):
    # a cursor edited by the client is refused, whatever list it is sent to
    app = zone.app()
    zone.app()
    url = f"/zones/{zone.id}/" + path.format(app=app.id)
    cursor = zone.client.zones.applications.list(zone.id, limit=1).pagination.after_cursor
    forged = lk.cursor_forgeries(cursor)
    if not forged:
        pytest.skip("the cursor is not base64url JSON; nothing to edit")
    fetch = lambda c: zone.client.get(url, cast_to=object, options={"params": {"after": c}})  # noqa: E731
    assert not lk.cursors_not_refused(fetch, forged), "edited cursors accepted"


@pytest.mark.parametrize("path", ["/zones", "/organizations"])
def test_edited_cursors_on_top_level_lists(admin, zone, new_org, path):
    # (the admin's organization has its platform zone and `zone`; there are two organizations at least)
    first = admin.get(path, cast_to=object, options={"params": {"limit": 1}})
    cursor = (first.get("pagination") or {}).get("after_cursor") or first["page_info"]["end_cursor"]
    assert cursor, first
    forged = lk.cursor_forgeries(cursor)
    if not forged:
        pytest.skip("the cursor is not base64url JSON; nothing to edit")
    fetch = lambda c: admin.get(path, cast_to=object, options={"params": {"after": c}})  # noqa: E731
    assert not lk.cursors_not_refused(fetch, forged), "edited cursors accepted"
