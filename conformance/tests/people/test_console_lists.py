"""The console's lists and the actions on identity records, over plain HTTP: search wherever the
API has `query` (zone users, policy sets), choices and short lists that follow the API's cursors
past its first page, and revoking a session or a delegated grant (the API's PATCH, not delete).
Before these, users and policy sets had no search, a zone's 101st resource could not be chosen as
a dependency, and sessions and grants could only be deleted."""

from __future__ import annotations

import re
from types import SimpleNamespace

import httpx

from .people_kit import Org
from .test_console import console_browser, csrf, get, post


def _zone(b, org: Org, name: str) -> str:
    page = get(b, org, "/console/zones")
    r = post(b, org, "/console/zones", {"csrf": csrf(page.text), "name": name})
    assert r.status_code == 303, r.text[:500]
    return r.headers["location"].split("/console/zones/")[1].split("?")[0]


def _main(r: httpx.Response) -> str:
    """The page's main content (the header names the signed-in person)."""
    return r.text.split('<main', 1)[1]


def _created(r: httpx.Response) -> dict:
    assert r.status_code == 201, r.text
    return r.json()


def test_users_and_policy_sets_are_searchable(make_org) -> None:
    org = make_org()
    admin = org.join("org_admin", "console-search")
    other = org.join("org_viewer", "console-other")
    b = console_browser(org, admin.email)
    users = f"/console/zones/{org.zone.id}/users"
    page = _main(get(b, org, users))
    assert 'role="search"' in page and admin.email in page and other.email in page
    found = _main(get(b, org, f"{users}?query={other.email.split('@')[0]}"))
    assert other.email in found and admin.email not in found, found[:2000]
    none = _main(get(b, org, f"{users}?query=nobody-by-this-name"))
    assert "Nothing matches" in none and other.email not in none

    zone = _zone(b, org, "Searchable sets")
    for name in ("alpha-set", "beta-set"):
        _created(admin.http.post(f"/zones/{zone}/policy-sets", json={"name": name}))
    sets = f"/console/zones/{zone}/policy-sets"
    page = get(b, org, sets)
    assert 'role="search"' in page.text and "alpha-set" in page.text and "beta-set" in page.text
    found = get(b, org, f"{sets}?query=ALPHA")
    assert "alpha-set" in found.text and "beta-set" not in found.text, found.text[:2000]
    none = get(b, org, f"{sets}?query=gamma")
    assert "Nothing matches" in none.text and "alpha-set" not in none.text


def test_a_session_and_a_grant_are_revoked_from_their_pages(make_org, records) -> None:
    org = make_org()
    admin = org.join("org_admin", "console-revoke")
    target = org.join("org_viewer", "console-revoked")
    b = console_browser(org, admin.email)
    listed = admin.http.get(f"/zones/{org.zone.id}/sessions", params={"user_id": target.user_id})
    assert listed.status_code == 200, listed.text
    sessions = [s for s in listed.json()["items"] if s.get("user_id") == target.user_id and s["status"] == "active"]
    assert sessions, listed.text
    # The person's refresh token works before the revoke (a fresh one comes back each time).
    cli = "latchkey-cli"
    refresh = target.refresh_token
    for s in sessions:
        page = get(b, org, f"/console/zones/{org.zone.id}/sessions/{s['id']}")
        assert page.status_code == 200 and 'id="revoke"' in page.text, page.text[:1500]
        r = post(b, org, f"/console/zones/{org.zone.id}/sessions/{s['id']}/revoke", {"csrf": csrf(page.text)})
        assert r.status_code == 303 and "Revoked" in httpx.URL(r.headers["location"]).params.get("notice", ""), r.text[:500]
        after = admin.http.get(f"/zones/{org.zone.id}/sessions/{s['id']}").json()
        assert after["status"] == "revoked", after
        # the record stays (unlike delete), and its page no longer offers a revoke
        again = get(b, org, f"/console/zones/{org.zone.id}/sessions/{s['id']}")
        assert again.status_code == 200 and 'id="revoke"' not in again.text
    r = httpx.post(org.zone.token_endpoint, data={"grant_type": "refresh_token", "refresh_token": refresh, "client_id": cli})
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant", r.text

    zone = _zone(b, org, "Grants zone")
    zone_obj = SimpleNamespace(id=zone, organization_id=org.id)
    resource = _created(admin.http.post(f"/zones/{zone}/resources", json={"name": "Upstream", "identifier": "https://upstream.example/api"}))
    provider = _created(admin.http.post(f"/zones/{zone}/providers", json={"name": "Upstream IdP", "identifier": "https://idp.upstream.example"}))  # fmt: skip
    user = records.user(zone_obj)
    grant = records.grant(zone_obj, user_id=user["id"], resource_id=resource["id"], provider_id=provider["id"])
    page = get(b, org, f"/console/zones/{zone}/delegated-grants/{grant['id']}")
    assert 'id="revoke"' in page.text, page.text[:1500]
    # a revoke without the session's CSRF token changes nothing
    r = post(b, org, f"/console/zones/{zone}/delegated-grants/{grant['id']}/revoke", {"csrf": "forged"})
    assert r.status_code in (400, 403), r.text[:300]
    assert admin.http.get(f"/zones/{zone}/delegated-grants/{grant['id']}").json()["status"] == "active"
    r = post(b, org, f"/console/zones/{zone}/delegated-grants/{grant['id']}/revoke", {"csrf": csrf(page.text)})
    assert r.status_code == 303, r.text[:500]
    assert admin.http.get(f"/zones/{zone}/delegated-grants/{grant['id']}").json()["status"] == "revoked"


def test_choices_and_short_lists_follow_the_cursors(make_org) -> None:
    """A zone with more resources than one API page: the application page's dependency choice
    offers the last one, and adding it works; the application's dependency list shows them all."""
    org = make_org()
    admin = org.join("org_admin", "console-cursors")
    b = console_browser(org, admin.email)
    zone = _zone(b, org, "Many resources")
    resources = [
        _created(admin.http.post(f"/zones/{zone}/resources", json={"name": f"Res {i:03}", "identifier": f"https://r{i}.example"}))
        for i in range(105)
    ]  # fmt: skip
    app = _created(admin.http.post(f"/zones/{zone}/applications", json={"name": "App", "identifier": "https://app.example"}))
    page = get(b, org, f"/console/zones/{zone}/applications/{app['id']}")
    options = set(re.findall(r'<option value="([^"]+)"', page.text))
    assert {r["id"] for r in resources} <= options, f"{len(options)} choices offered"
    last = resources[-1]
    r = post(b, org, f"/console/zones/{zone}/applications/{app['id']}/dependencies", {"csrf": csrf(page.text), "resource_id": last["id"]})
    assert r.status_code == 303, r.text[:500]
    deps = admin.http.get(f"/zones/{zone}/applications/{app['id']}/dependencies").json()["items"]
    assert [d["id"] for d in deps] == [last["id"]]
    for res in resources[:101]:
        assert admin.http.put(f"/zones/{zone}/applications/{app['id']}/dependencies/{res['id']}", json={}).status_code in (200, 201, 204)
    page = get(b, org, f"/console/zones/{zone}/applications/{app['id']}")
    shown = page.text.count("/console/zones/" + zone + "/resources/")
    assert shown >= 102, f"the dependency list showed {shown} of 102"
