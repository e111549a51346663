"""The audit log (issue 11, point 8): every management write is recorded — time, actor, action,
object, zone, request id, source address, outcome — never a secret, and read back with
`GET /organizations/{organization_id}/audit-events` (organization list envelope, filters,
pagination, newest first). Writes go through the official SDK as the bootstrap API key and as a
service account; what the SDK cannot send (a malformed body, no credentials) through httpx.
"""

from __future__ import annotations

import json
import time
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

import httpx
import pytest
from keycardai_api import KeycardAPI

import lk


def rid(tag: str) -> str:
    return f"audit-{tag}-{uuid.uuid4().hex[:12]}"


def hdr(request_id: str) -> dict[str, str]:
    return {"X-Request-Id": request_id}


def events_page(client: httpx.Client, org_id: str, **params: Any) -> httpx.Response:
    return client.get(f"/organizations/{org_id}/audit-events", params=params)


def all_events(client: httpx.Client, org_id: str, **params: Any) -> list[dict]:
    """Every event matching `params`, following `after` cursors."""
    out: list[dict] = []
    after = None
    while True:
        q = dict(params, limit=100)
        if after:
            q["after"] = after
        r = events_page(client, org_id, **q)
        assert r.status_code == 200, r.text
        body = r.json()
        out.extend(body["items"])
        if not body["page_info"]["has_next_page"]:
            return out
        after = body["page_info"]["end_cursor"]


def wait_for(client: httpx.Client, org_id: str, request_ids: set[str]) -> dict[str, dict]:
    """The events of `request_ids` by request id, once all are visible (they are filed after the
    response, off the request path)."""
    deadline = time.monotonic() + 5
    while True:
        by_rid = {e["request_id"]: e for e in all_events(client, org_id) if e["request_id"] in request_ids}
        if set(by_rid) == request_ids or time.monotonic() > deadline:
            missing = request_ids - set(by_rid)
            assert not missing, f"no audit event for request ids {sorted(missing)}"
            return by_rid
        time.sleep(0.1)


@pytest.fixture
def scene(admin: KeycardAPI, make_sa: Callable[..., Any], http: httpx.Client, admin_http: httpx.Client) -> dict:
    """Writes in a fresh organization: the admin makes a zone, a service account makes an
    application, a password credential and a vault secret; one write is refused (400) and one is
    unauthenticated (401). Each request carries its own `X-Request-Id`."""
    org = admin.organizations.create(name=lk.unique("Audit Org"))
    sa = make_sa(org)
    ids = {k: rid(k) for k in ["zone", "app", "cred", "secret", "bad", "anon", "patch"]}
    zone = admin.zones.create(name=lk.unique("audit zone"), organization_id=org.id, extra_headers=hdr(ids["zone"]))
    app = sa.client.zones.applications.create(
        zone.id, name=lk.unique("app"), identifier=lk.unique_url("app"), extra_headers=hdr(ids["app"])
    )
    cred = sa.client.zones.application_credentials.create(
        zone.id, type="password", application_id=app.id, extra_headers=hdr(ids["cred"])
    )
    secret_value = "tok-" + uuid.uuid4().hex
    secret = sa.client.zones.secrets.create(
        zone.id,
        name=lk.unique("secret"),
        entity_id="entity-" + uuid.uuid4().hex[:12],
        data={"type": "token", "token": secret_value},
        extra_headers=hdr(ids["secret"]),
    )
    admin.zones.applications.update(app.id, zone_id=zone.id, name=lk.unique("renamed"), extra_headers=hdr(ids["patch"]))
    bad = admin_http.post(f"/zones/{zone.id}/applications", json={"name": 5}, headers=hdr(ids["bad"]))
    assert bad.status_code == 400, bad.text
    anon = http.post(f"/zones/{zone.id}/applications", json={"name": "x"}, headers=hdr(ids["anon"]))
    assert anon.status_code == 401, anon.text
    return {
        "org": org,
        "sa": sa,
        "zone": zone,
        "app": app,
        "cred": cred,
        "secret": secret,
        "secret_value": secret_value,
        "ids": ids,
    }


def test_request_id_is_echoed_and_invented_when_missing_or_insane(admin_http: httpx.Client, default_org: Any):
    sent = rid("echo")
    r = admin_http.get("/organizations", headers=hdr(sent))
    assert r.headers.get("x-request-id") == sent
    made = admin_http.get("/organizations").headers.get("x-request-id")
    assert made and made != sent
    insane = admin_http.get("/organizations", headers={"X-Request-Id": "a b<script>"})
    assert insane.headers.get("x-request-id") not in (None, "a b<script>")


def test_each_write_is_recorded_with_actor_action_object_zone_and_outcome(scene: dict, admin_http: httpx.Client):
    org, sa, zone, app, ids = scene["org"], scene["sa"], scene["zone"], scene["app"], scene["ids"]
    ev = wait_for(admin_http, org.id, set(ids.values()))

    z = ev[ids["zone"]]
    assert (z["actor_type"], z["action"], z["object_type"]) == ("api_key", "zones.create", "zone")
    assert z["object_id"] == zone.id and z["zone_id"] == zone.id
    assert (z["outcome"], z["status"]) == ("success", 201)
    assert z["organization_id"] == org.id
    assert z["actor_id"], "an API key's id is its actor id"

    a = ev[ids["app"]]
    assert (a["actor_type"], a["actor_id"]) == ("service_account", sa.service_account.id)
    assert (a["action"], a["object_type"], a["object_id"]) == ("zones.applications.create", "application", app.id)
    assert (a["zone_id"], a["outcome"], a["status"]) == (zone.id, "success", 201)

    c = ev[ids["cred"]]
    assert (c["action"], c["object_type"], c["object_id"]) == (
        "zones.application_credentials.create",
        "application_credential",
        scene["cred"].id,
    )
    s = ev[ids["secret"]]
    assert (s["action"], s["object_type"], s["object_id"]) == ("zones.secrets.create", "secret", scene["secret"].id)

    p = ev[ids["patch"]]
    assert (p["action"], p["object_type"], p["object_id"], p["status"]) == (
        "zones.applications.update",
        "application",
        app.id,
        200,
    )
    assert p["actor_id"] == z["actor_id"]

    b = ev[ids["bad"]]
    assert (b["action"], b["actor_type"], b["outcome"], b["status"]) == (
        "zones.applications.create",
        "api_key",
        "failure",
        400,
    )
    assert b["object_id"] is None and b["zone_id"] == zone.id

    n = ev[ids["anon"]]
    assert (n["actor_id"], n["actor_type"]) == (None, None)
    assert (n["action"], n["outcome"], n["status"], n["zone_id"]) == ("zones.applications.create", "failure", 401, zone.id)

    for e in ev.values():
        assert e["source_address"] == "127.0.0.1"
        datetime.fromisoformat(e["created_at"].replace("Z", "+00:00"))

    # The service account's own setup (by the admin) is there too, under the organization.
    setup = all_events(admin_http, org.id, object_id=sa.service_account.id)
    assert [e["action"] for e in setup] == ["organizations.service_accounts.create"]


def test_no_secret_appears_in_any_event(scene: dict, admin_http: httpx.Client, server: lk.LatchkeyServer):
    org, sa = scene["org"], scene["sa"]
    wait_for(admin_http, org.id, set(scene["ids"].values()))
    dumped = json.dumps(all_events(admin_http, org.id))
    for secret in [
        scene["secret_value"],
        scene["cred"].password,
        sa.credential.client_secret,
        server.bootstrap_key,
    ]:
        assert secret and secret not in dumped


def test_filters_narrow_the_list(scene: dict, admin_http: httpx.Client):
    org, sa, zone, app, ids = scene["org"], scene["sa"], scene["zone"], scene["app"], scene["ids"]
    ev = wait_for(admin_http, org.id, set(ids.values()))

    by_sa = all_events(admin_http, org.id, actor_id=sa.service_account.id)
    assert {e["request_id"] for e in by_sa} == {ids["app"], ids["cred"], ids["secret"]}

    creates = all_events(admin_http, org.id, action="zones.applications.create")
    assert {e["request_id"] for e in creates} == {ids["app"], ids["bad"], ids["anon"]}

    on_app = all_events(admin_http, org.id, object_type="application", object_id=app.id)
    assert [e["request_id"] for e in on_app] == [ids["patch"], ids["app"]], "newest first"

    in_zone = all_events(admin_http, org.id, zone_id=zone.id)
    assert {e["request_id"] for e in in_zone} == set(ids.values())
    assert all_events(admin_http, org.id, zone_id="no-such-zone") == []

    # Time range: `since` inclusive, `until` exclusive.
    t = lambda e: e["created_at"]  # noqa: E731
    z = ev[ids["zone"]]
    since = all_events(admin_http, org.id, since=t(z), zone_id=zone.id)
    assert {e["request_id"] for e in since} == set(ids.values())
    until = all_events(admin_http, org.id, until=t(z), zone_id=zone.id)
    assert until == []
    last = ev[ids["anon"]]
    later = datetime.fromisoformat(t(last).replace("Z", "+00:00")) + timedelta(milliseconds=1)
    assert all_events(admin_http, org.id, since=later.isoformat().replace("+00:00", "Z")) == []
    before_all = datetime.now(timezone.utc) - timedelta(days=1)
    assert len(all_events(admin_http, org.id, since=before_all.isoformat())) >= len(ids)


@pytest.mark.parametrize(
    "params, field",
    [
        ({"since": "yesterday"}, "since"),
        ({"until": "2024-13-01T00:00:00Z"}, "until"),
        ({"since": "2025-01-02T00:00:00Z", "until": "2025-01-01T00:00:00Z"}, "until"),
        ({"actor_id": ""}, "actor_id"),
        ({"object_type": "x" * 256}, "object_type"),
        ({"limit": "0"}, "limit"),
        ({"after": "not-a-cursor"}, "after"),
        ({"expand": "everything"}, "expand"),
    ],
)
def test_bad_filters_answer_400_naming_the_field(admin_http: httpx.Client, default_org: Any, params: dict, field: str):
    r = events_page(admin_http, default_org.id, **params)
    assert r.status_code == 400, r.text
    assert f"`{field}`" in r.json()["message"]


def test_pages_newest_first_in_the_org_envelope(scene: dict, admin_http: httpx.Client):
    org, ids = scene["org"], scene["ids"]
    wait_for(admin_http, org.id, set(ids.values()))
    everything = all_events(admin_http, org.id)
    stamps = [e["created_at"] for e in everything]
    assert stamps == sorted(stamps, reverse=True), "newest first"

    seen: list[str] = []
    r = events_page(admin_http, org.id, limit=2, expand="permissions")
    body = r.json()
    assert set(body) == {"items", "page_info", "permissions"}
    assert set(body["page_info"]) == {"has_next_page", "has_prev_page", "start_cursor", "end_cursor"}
    assert body["page_info"]["has_prev_page"] is False
    pages = [body]
    while body["page_info"]["has_next_page"]:
        assert len(body["items"]) == 2
        body = events_page(admin_http, org.id, limit=2, after=body["page_info"]["end_cursor"]).json()
        assert body["page_info"]["has_prev_page"] is True
        pages.append(body)
    for p in pages:
        seen.extend(e["id"] for e in p["items"])
    assert seen == [e["id"] for e in everything]
    # And back: `before` the last page's start is the page before it.
    back = events_page(admin_http, org.id, limit=2, before=pages[-1]["page_info"]["start_cursor"]).json()
    assert [e["id"] for e in back["items"]] == [e["id"] for e in pages[-2]["items"]]


def test_events_of_another_organization_are_not_visible(
    scene: dict, admin_http: httpx.Client, make_sa: Callable[..., Any], server: lk.LatchkeyServer
):
    org, ids = scene["org"], scene["ids"]
    wait_for(admin_http, org.id, set(ids.values()))
    other = make_sa()  # a service account of another organization
    assert not {e["request_id"] for e in all_events(admin_http, other.org.id)} & set(ids.values())
    # The service account of the audited organization reads its own log, by id or label.
    own = lk.credentials_client(server, scene["sa"].credential.client_id, scene["sa"].credential.client_secret)
    try:
        got = own.get(f"/organizations/{org.label}/audit-events", cast_to=object)
        assert set(ids.values()) <= {e["request_id"] for e in got["items"]}
        with pytest.raises(Exception) as denied:
            own.get(f"/organizations/{other.org.id}/audit-events", cast_to=object)
        assert getattr(denied.value, "status_code", None) == 403
    finally:
        own.close()
    # Reading needs authentication.
    with httpx.Client(base_url=server.base_url) as anon:
        assert anon.get(f"/organizations/{org.id}/audit-events").status_code == 401


def test_audit_list_is_in_the_openapi_document(http: httpx.Client):
    doc = http.get("/openapi.json").json()
    op = doc["paths"]["/organizations/{organization_id}/audit-events"]["get"]
    names = {p["name"] for p in op["parameters"]}
    assert {"actor_id", "object_type", "object_id", "zone_id", "action", "since", "until", "after", "limit"} <= names
