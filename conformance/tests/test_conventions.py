"""Cross-cutting conventions (spec §1.2, §1.5, §1.6, §2.1, §2.5, design.md §4): authentication,
error bodies, input validation, limits, the health and OpenAPI endpoints, and process lifecycle."""

from __future__ import annotations

import json

import httpx
import pytest
from keycardai_api import AuthenticationError, BadRequestError, ConflictError, KeycardAPI, NotFoundError

import lk

CONTROL_CHARS = ["\x00", "\x07", "\x1b", "\x7f", "\u0085"]


# --------------------------------------------------------------------------------------------
# Authentication
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "method,path",
    [
        ("GET", "/zones"),
        ("POST", "/zones"),
        ("GET", "/organizations"),
        ("POST", "/organizations"),
        ("GET", "/zones/anything"),
        ("GET", "/organizations/anything/service-accounts"),
    ],
)
def test_missing_authorization_is_401(http, method, path):
    r = http.request(method, path, json={"name": "x"} if method == "POST" else None)
    lk.assert_error(r, 401, "unauthenticated")


@pytest.mark.parametrize(
    "header",
    ["Bearer", "Bearer lk_not_a_real_key", "Basic Zm9vOmJhcg==", "lk_test_raw_key_without_scheme"],
)
def test_bad_authorization_is_401(http, header):
    r = http.get("/zones", headers={"Authorization": header})
    lk.assert_error(r, 401, "unauthenticated")


@pytest.mark.parametrize("key", ["garbage", "lk_test_" + "0" * 40])
def test_sdk_with_wrong_api_key(server, key):
    client = lk.api_key_client(server, key)
    try:
        with lk.api_error(AuthenticationError, 401, "unauthenticated"):
            client.zones.list()
        with lk.api_error(AuthenticationError, 401, "unauthenticated"):
            client.organizations.list()
    finally:
        client.close()


def test_sdk_without_any_credentials(server):
    client = KeycardAPI(base_url=server.base_url, max_retries=0)  # no api key: no Authorization header
    try:
        with lk.api_error(AuthenticationError, 401, "unauthenticated"):
            client.zones.list()
    finally:
        client.close()


def test_bootstrap_key_is_case_sensitive(http, server):
    r = http.get("/zones", headers={"Authorization": f"Bearer {server.bootstrap_key.upper()}"})
    lk.assert_error(r, 401, "unauthenticated")


def test_bearer_scheme_case_insensitive(http, server):
    # RFC 7235 §2.1: the auth scheme is case-insensitive
    r = http.get("/zones", headers={"Authorization": f"bearer {server.bootstrap_key}"})
    assert r.status_code == 200, r.text


# --------------------------------------------------------------------------------------------
# Error bodies
# --------------------------------------------------------------------------------------------


def test_not_found_error_body(admin_http):
    r = admin_http.get("/zones/nosuchzone0000000000000000")
    body = lk.assert_error(r, 404, "not_found")
    assert set(body) >= {"message", "code", "status"}


def test_unknown_route_is_json_404(admin_http):
    r = admin_http.get("/no/such/route")
    lk.assert_error(r, 404, "not_found")


def test_errors_are_not_retried_by_sdk(server):
    # 4xx answers carry nothing that makes the SDK retry: one request per call
    seen = []
    client = KeycardAPI(
        api_key=server.bootstrap_key,
        base_url=server.base_url,
        max_retries=2,
        http_client=httpx.Client(event_hooks={"request": [seen.append]}),
    )
    try:
        with pytest.raises(NotFoundError):
            client.zones.retrieve("nosuchzone0000000000000000")
        assert len(seen) == 1
    finally:
        client.close()


@pytest.mark.parametrize("kind", ["zone", "organization"])
def test_concurrent_same_name_creates_all_succeed(server, new_org, kind):
    """Slugs and labels are made unique by the server (spec §2.5, B15), so a valid create must not
    fail because another one with the same name ran at the same moment: no 409, no 5xx."""
    name = lk.unique("Race")
    if kind == "zone":
        results = lk.race(server, "/zones", {"name": name, "organization_id": new_org.id})
        key = "slug"
    else:
        results = lk.race(server, "/organizations", {"name": name})
        key = "label"
    bad = [f"{r.status_code} {r.headers.get('x-should-retry')} {r.text}" for r in results if r.status_code not in (200, 201)]
    assert not bad, f"{len(bad)} of {len(results)} concurrent creates failed: {bad[:3]}"
    values = [r.json()[key] for r in results]
    assert len(set(values)) == len(values), f"duplicate {key}s: {values}"


def test_conflict_answers_forbid_sdk_retry(server, zone):
    """A 409 carries `x-should-retry: false` and the `conflict` error body (spec §1.5, B15), so the
    SDK gives up at once: a duplicate application identifier, with retries switched on."""
    taken = zone.app()
    seen: list[httpx.Request] = []
    client = KeycardAPI(
        api_key=server.bootstrap_key,
        base_url=server.base_url,
        max_retries=2,
        http_client=httpx.Client(event_hooks={"request": [seen.append]}),
    )
    try:
        with pytest.raises(ConflictError) as info:
            client.zones.applications.create(zone.id, identifier=taken.identifier, name=lk.unique("clash"))
    finally:
        client.close()
    r = info.value.response
    lk.assert_error(r, 409, "conflict")
    assert r.headers.get("x-should-retry") == "false", r.headers
    assert len(seen) == 1, f"the SDK sent the create {len(seen)} times"
    listed = zone.client.zones.applications.list(zone.id, filter_identifier=[taken.identifier])
    assert lk.ids(listed.items) == [taken.id]


# --------------------------------------------------------------------------------------------
# Request bodies
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [b'{"name": "x",', b'{"name": "x"}}', b"{name: 1}", b'{"name": "x"\n  "description": "y"}'],
)
def test_malformed_json(admin_http, raw):
    r = admin_http.post("/zones", content=raw, headers={"Content-Type": "application/json"})
    body = lk.assert_error(r, 400, "invalid_json")
    msg = body["message"].lower()
    assert "line" in msg and "column" in msg, body["message"]


def test_json_body_must_be_an_object(admin_http):
    r = admin_http.post("/zones", content=b"[1, 2]", headers={"Content-Type": "application/json"})
    assert r.status_code == 400
    lk.assert_error(r, 400)


@pytest.mark.parametrize("value", [5, True, None, ["x"], {"a": 1}])
def test_wrong_type_for_name(admin_http, value):
    r = admin_http.post("/zones", json={"name": value})
    body = lk.assert_error(r, 400, "invalid_field")
    assert "name" in body["message"], body


def test_wrong_type_for_nested_field(admin_http):
    r = admin_http.post("/zones", json={"name": lk.unique("nested"), "protocols": {"oauth2": {"dcr_enabled": "yes"}}})
    body = lk.assert_error(r, 400, "invalid_field")
    assert "dcr_enabled" in body["message"], body


def test_missing_required_name(admin_http):
    r = admin_http.post("/zones", json={"description": "no name"})
    body = lk.assert_error(r, 400, "invalid_field")
    assert "name" in body["message"], body


def test_name_length_limits(admin):
    ok = admin.zones.create(name="n" * 255)
    assert ok.name == "n" * 255
    with lk.api_error(BadRequestError, 400, "invalid_field") as info:
        admin.zones.create(name="n" * 256)
    assert "name" in info.body["message"]
    with lk.api_error(BadRequestError, 400, "invalid_field"):
        admin.zones.create(name="")
    # characters, not bytes
    assert admin.zones.create(name="é" * 255).name == "é" * 255


def test_description_length_limit(admin):
    assert admin.zones.create(name=lk.unique("d"), description="d" * 2048).description == "d" * 2048
    with lk.api_error(BadRequestError, 400, "invalid_field") as info:
        admin.zones.create(name=lk.unique("d"), description="d" * 2049)
    assert "description" in info.body["message"]


@pytest.mark.parametrize("name", ["<script>alert(1)</script>", "ok <div>", "a</b"])
def test_html_in_name_rejected(admin, name):
    with lk.api_error(BadRequestError, 400, "invalid_field") as info:
        admin.zones.create(name=name)
    assert "name" in info.body["message"]


@pytest.mark.parametrize("ch", CONTROL_CHARS)
def test_control_character_in_name_rejected(admin, ch):
    with lk.api_error(BadRequestError, 400, "invalid_field") as info:
        admin.zones.create(name=f"bad{ch}name")
    assert "name" in info.body["message"]


def test_html_in_description_rejected(admin):
    with lk.api_error(BadRequestError, 400, "invalid_field") as info:
        admin.zones.create(name=lk.unique("x"), description="<img src=x onerror=alert(1)>")
    assert "description" in info.body["message"]


def test_harmless_angle_bracket_allowed(admin):
    z = admin.zones.create(name=lk.unique("a < b"))
    assert "a < b" in z.name


def test_invalid_patch_leaves_no_trace(admin):
    zone = admin.zones.create(name=lk.unique("atomic"), description="keep")
    with lk.api_error(BadRequestError, 400, "invalid_field"):
        admin.zones.update(zone.id, description="changed", name="<b>bad</b>")
    got = admin.zones.retrieve(zone.id)
    assert (got.name, got.description) == (zone.name, "keep")


def test_null_for_non_nullable_field(admin):
    zone = admin.zones.create(name=lk.unique("nn"))
    with lk.api_error(BadRequestError, 400, "invalid_field") as info:
        admin.zones.update(zone.id, extra_body={"name": None})
    assert "name" in info.body["message"]
    assert admin.zones.retrieve(zone.id).name == zone.name


def test_unknown_fields_ignored(admin):
    z = admin.zones.create(
        name=lk.unique("extra"), extra_body={"no_such_field": 1, "another": {"deep": [1, 2]}, "owner_type_x": "y"}
    )
    raw = admin.zones.with_raw_response.retrieve(z.id).http_response.json()
    assert "no_such_field" not in raw and "another" not in raw
    upd = admin.zones.update(z.id, description="d", extra_body={"what": "ever"})
    assert upd.description == "d"


def test_server_made_fields_cannot_be_set(admin):
    z = admin.zones.create(
        name=lk.unique("sneaky"), extra_body={"owner_type": "platform", "slug": "chosen-slug", "id": "chosen"}
    )
    assert z.owner_type == "customer"
    assert z.id != "chosen"


def test_body_over_one_mebibyte(admin_http):
    big = json.dumps({"name": "big", "description": "x" * (1024 * 1024 + 10)}).encode()
    r = admin_http.post("/zones", content=big, headers={"Content-Type": "application/json"})
    lk.assert_error(r, 413, "payload_too_large")


def test_wrong_content_type(admin_http):
    r = admin_http.post("/zones", content=b"name=x", headers={"Content-Type": "application/x-www-form-urlencoded"})
    lk.assert_error(r, 415, "unsupported_media_type")


def test_json_content_type_with_charset(admin_http):
    r = admin_http.post(
        "/zones",
        content=json.dumps({"name": lk.unique("charset")}).encode(),
        headers={"Content-Type": "application/json; charset=utf-8"},
    )
    assert r.status_code in (200, 201), r.text


def test_delete_with_json_content_type_and_no_body(admin, admin_http):
    # the SDK sends Content-Type: application/json on bodiless DELETEs (spec §1.4)
    zone = admin.zones.create(name=lk.unique("bodiless"))
    r = admin_http.delete(f"/zones/{zone.id}", headers={"Content-Type": "application/json", "Accept": "*/*"})
    assert r.status_code == 204, r.text
    assert r.content == b""


def test_sdk_telemetry_headers_ignored(admin):
    z = admin.zones.create(
        name=lk.unique("hdr"), extra_headers={"X-Stainless-Whatever": "1", "X-Client-Request-ID": "abc"}
    )
    assert z.id


# --------------------------------------------------------------------------------------------
# Query strings
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("limit", ["0", "101", "-1", "abc", "1.5"])
@pytest.mark.parametrize("path", ["/zones", "/organizations"])
def test_bad_limit(admin_http, path, limit):
    r = admin_http.get(path, params={"limit": limit})
    body = lk.assert_error(r, 400, "invalid_query")
    assert "limit" in body["message"], body


def test_bad_limit_on_service_account_lists(admin, admin_http, new_org):
    sa = admin.organizations.service_accounts.create(new_org.id, name=lk.unique("q"))
    for path in (f"/organizations/{new_org.id}/service-accounts", f"/organizations/{new_org.id}/service-accounts/{sa.id}/credentials"):
        for limit in ("0", "101"):
            lk.assert_error(admin_http.get(path, params={"limit": limit}), 400, "invalid_query")


@pytest.mark.parametrize("cursor", ["garbage", "dGhpcyBpcyBub3QgYSBjdXJzb3I", "%%%", "a" * 300])
@pytest.mark.parametrize("path", ["/zones", "/organizations"])
def test_bad_cursor(admin_http, path, cursor):
    r = admin_http.get(path, params={"after": cursor})
    lk.assert_error(r, 400, "invalid_cursor")


def test_bracketed_query_keys_decoded(admin, admin_http):
    z = admin.zones.create(name=lk.unique("br"))
    # the SDK percent-encodes the brackets (spec §2.2)
    r = admin_http.get(f"/zones?expand%5B%5D=total_count&slug={z.slug}")
    assert r.status_code == 200, r.text
    assert r.json()["pagination"]["total_count"] == 1
    r = admin_http.get(f"/zones?expand[]=total_count&slug={z.slug}")
    assert r.json()["pagination"]["total_count"] == 1


def test_unbracketed_expand_accepted_on_zones(admin, admin_http):
    # spec §0: accept both `expand` and `expand[]` everywhere
    z = admin.zones.create(name=lk.unique("ub"))
    r = admin_http.get("/zones", params={"expand": "total_count", "slug": z.slug})
    assert r.status_code == 200, r.text
    assert r.json()["pagination"]["total_count"] == 1


# --------------------------------------------------------------------------------------------
# Health and OpenAPI
# --------------------------------------------------------------------------------------------


def test_healthz(http):
    r = http.get("/healthz")
    assert r.status_code == 200


def test_openapi_document(admin_http):
    r = admin_http.get("/openapi.json")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/json")
    doc = r.json()
    assert str(doc.get("openapi", "")).startswith("3.1"), doc.get("openapi")
    assert isinstance(doc.get("info", {}).get("title"), str)
    paths = doc.get("paths", {})
    for p in ("/zones", "/zones/{zone_id}", "/organizations", "/organizations/{organization_id}/service-accounts"):
        assert p in paths, f"{p} missing from /openapi.json paths"
    assert {"get", "post"} <= set(paths["/zones"])
    assert {"get", "patch", "delete"} <= set(paths["/zones/{zone_id}"])


# --------------------------------------------------------------------------------------------
# Process lifecycle (own server instances)
# --------------------------------------------------------------------------------------------


@pytest.mark.lifecycle
def test_sigterm_and_restart_keep_data(backend, make_server):
    srv = make_server(backend)
    client = lk.api_key_client(srv, srv.bootstrap_key)
    try:
        zone = client.zones.create(name=lk.unique("persist"))
        org = client.organizations.create(name=lk.unique("Persist Org"))
    finally:
        client.close()
    assert srv.stop(timeout=10) == 0, "latchkey did not exit 0 within 10 s of SIGTERM\n" + srv.log_tail()

    srv.start()  # same port, data dir, database and bootstrap key
    client = lk.api_key_client(srv, srv.bootstrap_key)
    try:
        assert client.zones.retrieve(zone.id).name == zone.name
        assert client.organizations.retrieve(org.id).label == org.label
        names = [o.name for o in client.organizations.list(limit=100).items]
        assert names.count("Default") == 1, f"restart made another Default organization: {names}"
    finally:
        client.close()
    assert srv.stop(timeout=10) == 0, srv.log_tail()


@pytest.mark.lifecycle
def test_bootstrap_key_rotation_on_restart(backend, make_server):
    srv = make_server(backend)
    old = srv.bootstrap_key
    assert srv.stop(timeout=10) == 0
    srv.bootstrap_key = lk.random_bootstrap_key()
    srv.start()
    with httpx.Client(base_url=srv.base_url) as h:
        assert h.get("/zones", headers={"Authorization": f"Bearer {srv.bootstrap_key}"}).status_code == 200
        # the bootstrap key is replaced, not added to
        assert h.get("/zones", headers={"Authorization": f"Bearer {old}"}).status_code == 401
    assert srv.stop(timeout=10) == 0


def test_auth_checked_before_body(http):
    r = http.post("/zones", content=b'{"name": ', headers={"Content-Type": "application/json"})
    lk.assert_error(r, 401, "unauthenticated")


def test_body_just_under_limit_is_read(admin_http):
    # not refused for size: the 2048-character description limit answers instead
    body = json.dumps({"name": "big", "description": "x" * (1024 * 1024 - 200)}).encode()
    assert len(body) < 1024 * 1024
    r = admin_http.post("/zones", content=body, headers={"Content-Type": "application/json"})
    b = lk.assert_error(r, 400, "invalid_field")
    assert "description" in b["message"]


@pytest.mark.parametrize("method,path", [("PUT", "/zones"), ("DELETE", "/organizations/x"), ("POST", "/healthz")])
def test_method_not_allowed_is_json(admin_http, method, path):
    r = admin_http.request(method, path)
    lk.assert_error(r, 405)
