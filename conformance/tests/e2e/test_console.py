"""The web console walked through in headless Chromium (e2e-node/console.mjs) by a fresh
organization's admin: sign-in at the platform zone, a zone, an application with a password
credential whose secret (read from the page, shown once) gets tokens at the zone's token
endpoint, a resource as its dependency, a Cedar policy saved first with a syntax error (shown at
its line) and then fixed, a policy set version activated that denies the resource, the denied
token request in the decision log, a second policy version and the diff, a vault secret and a
provider (values never shown back), a zone member, an invitation, a service account credential,
the other zone and organization pages, and sign-out. Every create form's values are checked in
the API, and every edit form saved unchanged must be accepted and change nothing. axe-core runs on
every page loaded: no serious or critical violation anywhere, and no id used twice on a page. The
console over plain HTTP (the attacks it must stop) is tests/people/test_console.py.

Screenshots of the main pages go to docs/screenshots/console-*.png with LATCHKEY_E2E_SCREENSHOTS=1.
"""

from __future__ import annotations

import json
import os
import uuid

import httpx
import pytest

import lk
from people.people_kit import Org

from . import kit

pytestmark = pytest.mark.browser

SCREENSHOTS = [
    "console-zones",
    "console-zone-overview",
    "console-credential-secret",
    "console-policy-error",
    "console-policy-set",
    "console-decisions",
]

# The syntax error is on line 7 (`&&` with nothing after it).
CEDAR_BAD = """@id("no-reports")
forbid (
  principal is Keycard::Application,
  action,
  resource
)
when { resource.identifier == "{resource}" && };
"""
BAD_LINE = 7

CEDAR_GOOD = """@id("no-reports")
forbid (
  principal is Keycard::Application,
  action,
  resource
)
when { resource.identifier == "{resource}" };
"""


def client_credentials(token_endpoint: str, client_id: str, secret: str, resource: str) -> httpx.Response:
    return httpx.post(
        token_endpoint,
        data={"grant_type": "client_credentials", "resource": resource},
        auth=(client_id, secret),
        timeout=30.0,
    )


def test_console_walk_through_with_axe(node_parts, server, admin, admin_http, tmp_path) -> None:
    org = Org(server, admin, admin_http)
    try:
        walk(org, tmp_path)
    finally:
        org.close()


def walk(org: Org, tmp_path) -> None:
    person = org.join("org_admin", "console-walk")
    colleague = org.join("org_member", "console-colleague")
    org_users = person.http.get(f"/organizations/{org.id}/users", params={"limit": 100}).json()["items"]
    colleague_id = next(u["id"] for u in org_users if u["email"] == colleague.email)
    suffix = uuid.uuid4().hex[:8]
    names = {
        "zone": f"Walk zone {suffix}",
        "app": f"Reporting agent {suffix}",
        "app_identifier": f"https://agent-{suffix}.example.com",
        "resource": f"Reports API {suffix}",
        "resource_identifier": f"https://reports-{suffix}.example.com/",
        "policy": f"no-reports-{suffix}",
        "set": f"Walk set {suffix}",
        "service_account": f"Walk robot {suffix}",
        "secret": f"Reports API key {suffix}",
        "provider": f"Walk IdP {suffix}",
        "provider_identifier": f"https://idp-{suffix}.example.com",
    }
    params = {
        "base_url": org.server.base_url,
        "organization_id": org.id,
        "email": person.email,
        "password": kit.PASSWORD,
        "names": names,
        "invitee": kit.unique_email("walk-invitee"),
        "redirect_uris": ["http://127.0.0.1/callback", "https://agent.example.com/callback"],
        "scopes": ["reports:read", "reports:write"],
        "cedar_comment": "Reports are for people, not agents.",
        "secret_value": f"walk-secret-{uuid.uuid4().hex}",
        "member_id": colleague_id,
        "platform_zone_id": org.zone.id,
        "cedar_bad": CEDAR_BAD.replace("{resource}", names["resource_identifier"]),
        "cedar_good": CEDAR_GOOD.replace("{resource}", names["resource_identifier"]),
        "screenshot_dir": str(tmp_path / "shots"),
        # (LATCHKEY_E2E_CONSOLE_PAGES=1: a screenshot of every page, in the test's tmp_path)
        "screenshot_all": os.environ.get("LATCHKEY_E2E_CONSOLE_PAGES") == "1",
    }
    chromium = kit.ConsoleWalk(params)
    checked: list[str] = []
    seen: dict = {}
    try:
        while (pause := chromium.next_pause()) is not None:
            try:
                reply = at_pause(person, names, pause, seen)
            except BaseException as e:
                chromium.stop(f"{type(e).__name__}: {e}"[:300])
                raise
            checked.append(pause["pause"])
            chromium.answer(reply)
    finally:
        chromium.close()
    r = chromium.result
    (tmp_path / "console-walk.json").write_text(json.dumps(r, indent=1))
    data = r["data"]
    summary = json.dumps({k: r[k] for k in ("outcome", "step", "message") if k in r}, indent=1)
    assert r["outcome"] == "done", f"{summary}\n{json.dumps(data, indent=1)[:3000]}"
    assert checked == ["credential", "policy-active"]

    # sign-in through the platform zone's own pages, back on the zone list
    assert data["sign_in_url"].startswith(org.zone.issuer + "/"), data["sign_in_url"]
    assert data["after_sign_in"] == f"{org.server.base_url}/console/zones", data["after_sign_in"]

    # the zone, the application, the credential shown once, the resource as a dependency
    zone = person.api.zones.retrieve(data["zone_id"])
    assert zone.name == names["zone"] and data["zone_notice"] == "Zone created."
    assert (zone.description, zone.signing_alg) == ("Made by the console walk-through", "ES256"), zone
    assert zone.protocols.oauth2.pkce_required is True, zone.protocols
    assert any(names["zone"] in row["cells"] for row in data["zones"]), data["zones"]
    app = person.api.zones.applications.retrieve(data["app_id"], zone_id=zone.id)
    assert (app.name, app.identifier) == (names["app"], names["app_identifier"])
    assert list(app.protocols.oauth2.redirect_uris) == params["redirect_uris"], app.protocols
    res = person.http.get(f"/zones/{zone.id}/resources/{data['resource_id']}").json()
    assert (res["scopes"], res["credential_lifetime_seconds"]) == (params["scopes"], 600), res
    assert data["credential_type"] == "password" and data["secret"]
    assert not data["credential_page_has_secret"], "the secret must be shown only once"
    assert data["credential_page"]["identifier"] == data["client_id"]
    assert data["dependency_notice"] == "Dependency added." and data["dependency_alert"] is None
    # the edit forms, saved as shown, are accepted by the API
    for saved in ("resource_saved", "app_saved"):
        assert (data[saved]["notice"], data[saved]["alert"]) == ("Saved.", None), (saved, data[saved])
    assert (data["settings_saved"]["notice"], data["settings_saved"]["alert"]) == ("Settings saved.", None), data
    deps = person.http.get(f"/zones/{zone.id}/applications/{app.id}/dependencies").json()["items"]
    assert [d["id"] for d in deps] == [data["resource_id"]]

    # the policy: the syntax error at its line, the text kept; then version 1
    assert data["policy_alert"] and data["annotated"] == 1, data
    assert data["lineerr"].startswith(f"Line {BAD_LINE}: "), data["lineerr"]
    assert "&& }" in data["error_line_text"], data["error_line_text"]
    assert data["cedar_kept"].strip() == params["cedar_bad"].strip()
    assert data["policy_notice"] == "Saved version 1." and data["policy_alert_after_fix"] is None, data
    assert data["set_version_notice"] == "Created version 1.", data
    assert data["activate_notice"] and data["activate_notice"].startswith("Version activated"), data
    sets = person.http.get(f"/zones/{zone.id}/policy-sets/{data['set_id']}").json()
    assert sets["active"] is True and sets["active_version"] == 1, sets

    # the denied request in the decision log: application, resource, the forbid named
    policy = person.http.get(f"/zones/{zone.id}/policies/{data['policy_id']}").json()
    denied = [row for row in data["decisions"] if any("deny" in b.split() for b in row["badges"])]
    assert denied, f"no deny row after {data['decision_reloads']} reloads: {data['decisions']}"
    cells, links = denied[0]["cells"], denied[0]["links"]
    assert cells[2] == names["app"] and cells[4] == names["resource"], cells
    assert cells[6] == f"{policy['name']} (version 1)", cells
    zone_path = f"/console/zones/{zone.id}"
    assert links == [
        f"{zone_path}/applications/{app.id}",
        f"{zone_path}/resources/{data['resource_id']}",
        f"{zone_path}/policies/{policy['id']}",
    ], links
    only = data["decisions_denied_only"]
    assert only and all(row["badges"] == ["badge deny"] for row in only), only
    assert data["charts"] == 3, "the overview draws its charts from the decision log"
    assert data["try_result"] and "Decision: deny" in data["try_result"], data["try_result"]
    assert f'denied by Policy "{policy["name"]}"' in data["try_result"], data["try_result"]
    assert "Scopes granted: none · denied: none" in data["try_result"], data["try_result"]

    # version 2 (a comment added) and the line diff from version 1
    assert data["policy_v2_notice"] == "Saved version 2." and data["policy_v2_alert"] is None, data
    added = [ln for ln in data["diff"].splitlines() if ln.startswith("+ ")]
    assert added == [f"+ // {params['cedar_comment']}"], data["diff"]

    # version 1's page names its policies and links to them
    offered = {o["id"]: o["label"].split(" (version")[0] for o in data["offered"]}
    manifest = data["set_version_manifest"]
    assert sorted(row["cells"][0] for row in manifest) == sorted(offered.values()), (manifest, offered)
    assert sorted(row["links"][0].rsplit("/", 1)[1] for row in manifest) == sorted(offered), manifest
    assert sorted(data["set_version_headings"]) == sorted(f"{n} version 1" for n in offered.values())

    # set version 2 bound as shadow beside the active version 1
    assert data["set_v2_notice"] == "Created version 2." and data["shadow_alert"] is None, data
    assert data["shadow_notice"] == "Version bound as shadow.", data
    bound = person.http.get(f"/zones/{zone.id}/policy-sets/{data['set_id']}").json()
    assert (bound["active_version"], bound["shadow_version"]) == (1, 2), bound
    states = {row["cells"][0]: row["badges"] for row in data["set_versions_after_shadow"]}
    assert states == {"Version 2": ["badge shadow"], "Version 1": ["badge active"]}, states

    # the signing key rotated: the new key and the retired one listed
    assert data["rotate_notice"] == "Signing key rotated.", data
    assert len(data["keys_after"]) == data["keys_before"] + 1, data["keys_after"]

    # the colleague's role changed from the People page
    assert data["role_notice"] == "Role changed." and data["role_alert"] is None, data
    org_users = person.http.get(f"/organizations/{org.id}/users", params={"limit": 100}).json()["items"]
    assert next(u["role"] for u in org_users if u["id"] == colleague_id) == "org_viewer"

    # a vault secret and a provider: created, their secret values never shown back
    for made in ("secret_created", "provider_created"):
        assert data[made]["status"] == 200 and data[made]["alert"] is None, (made, data[made])
        assert data[made]["notice"] and data[made]["notice"].startswith("Created "), (made, data[made])
    assert not data["secret_page_has_value"] and not data["provider_page_has_secret"]
    for saved in ("provider_saved", "secret_saved"):
        assert (data[saved]["notice"], data[saved]["alert"]) == ("Saved.", None), (saved, data[saved])
    secrets = person.http.get(f"/zones/{zone.id}/secrets").json()  # (a bare array)
    assert [(s["name"], s["entity_id"], s["type"]) for s in secrets] == [(names["secret"], data["resource_id"], "token")]
    assert [row["cells"][:3] for row in data["secrets"]] == [[names["secret"], "token", data["resource_id"]]], data["secrets"]
    providers = person.http.get(f"/zones/{zone.id}/providers").json()["items"]
    mine = [p for p in providers if p["identifier"] == names["provider_identifier"]]
    assert len(mine) == 1 and mine[0]["client_secret_set"] is True and mine[0]["client_id"] == "walk-client", mine

    # a zone member, listed with a link to its page (keyed by the organization user id)
    member = data["member_created"]
    assert member["status"] == 200 and member["alert"] is None and member["notice"], member
    assert member["url"].split("?")[0].endswith(f"/members/{colleague_id}"), member
    members = person.http.get(f"/zones/{zone.id}/members").json()["items"]
    assert [(m["organization_user_id"], m["role"]) for m in members] == [(colleague_id, "zone_viewer")], members
    assert [row["links"] for row in data["members"]] == [[f"/console/zones/{zone.id}/members/{colleague_id}"]], data["members"]
    assert colleague.email in data["members"][0]["cells"], data["members"]
    assert data["member_from_list"]["status"] == 200, data["member_from_list"]

    # the audit log names who did what, when, to which object
    created = [row["cells"] for row in data["audit"] if row["cells"][2] == "zones.create" and row["cells"][4] == zone.id]
    assert len(created) == 1, data["audit"]
    time, actor, _, obj = created[0][:4]
    assert time.startswith("20") and actor not in ("", "—") and obj == zone.id, created[0]
    filtered = [row["cells"][2] for row in data["audit_zones_create"]]
    assert filtered and set(filtered) == {"zones.create"}, filtered

    # searching the applications
    assert [row["cells"][0] for row in data["app_search"]] == [names["app"]], data["app_search"]
    assert data["app_search_none"] and "Nothing matches" in data["app_search_none"], data["app_search_none"]

    # the platform zone's sessions: the people's sign-ins, with their type
    sessions = [row["cells"] for row in data["platform_sessions"]]
    assert sessions and all(cells[1] not in ("", "—") for cells in sessions), sessions
    assert data["session_page_status"] == 200, data

    # the invitation's link (absolute: it is sent to somebody) opens the invitation page
    assert data["invitation_notice"] == f"Invitation for {params['invitee']} created.", data
    link = data["invitation_link"]
    assert link and link.startswith(f"{org.zone.issuer}/invitation?token="), link
    page = httpx.get(link, timeout=30.0)
    assert page.status_code == 200 and params["invitee"] in page.text, page.text[:600]

    # the service account's secret, shown once, gets a token
    assert data["sa_alert"] is None and data["sa_client_secret"], data
    sa_token = httpx.post(
        f"{org.server.base_url}/service-account-token",
        auth=(data["sa_client_id"], data["sa_client_secret"]),
        data={"grant_type": "client_credentials"},
        timeout=30.0,
    )
    assert sa_token.status_code == 200 and sa_token.json().get("access_token"), sa_token.text

    # under its own CSP (not bypassed): no page refused anything, and the console's script ran
    # (the copy button it reveals copies the one-time secret)
    assert data["csp_pages"] >= 40 and data["csp_violations"] == [], data["csp_violations"][:5]
    assert data["csp_copy_visible"] and data["csp_copy_label"] == "Copied", data
    assert data["csp_secret"] and data["csp_copied"] == data["csp_secret"], data

    # signed out: the console's own sign-in page, and the console is closed again
    assert data["signed_out"]["url"].startswith(f"{org.server.base_url}/console/sign-in"), data["signed_out"]
    assert data["signed_out"]["alert"] == "You are signed out.", data["signed_out"]
    assert data["after_sign_out"].startswith(f"{org.server.base_url}/console/sign-in"), data["after_sign_out"]

    # axe-core: nothing serious or critical on any page
    pages = r["pages"]
    assert len(pages) >= 50, [p["name"] for p in pages]
    bad = {p["name"]: p["violations"] for p in pages if p["violations"]}
    assert not bad, json.dumps(bad, indent=1)[:6000]
    repeated = {p["name"]: p["duplicate_ids"] for p in pages if p["duplicate_ids"]}
    assert not repeated, f"ids used twice on a page (labels point at the wrong field): {repeated}"

    for name in SCREENSHOTS:
        kit.keep_file(r["screenshots"][name], name)


def at_pause(person, names: dict, pause: dict, seen: dict) -> dict:
    """The server-side checks between steps (`seen`: what earlier pauses handed over); the answer
    goes back to the walk."""
    zone = person.api.zones.list().items
    zone = next(z for z in zone if z.name == names["zone"])
    token_endpoint = zone.protocols.oauth2.token_endpoint
    if pause["pause"] == "credential":
        # the secret read from the page works at the zone's token endpoint; a wrong one does not
        r = client_credentials(token_endpoint, pause["client_id"], pause["secret"], names["resource_identifier"])
        assert r.status_code == 200, r.text
        claims = kit.Zone(person.api, zone).verify(r.json()["access_token"])
        assert claims["client_id"] == pause["client_id"], claims
        assert names["resource_identifier"] in json.dumps(claims["aud"]), claims
        wrong = client_credentials(token_endpoint, pause["client_id"], pause["secret"] + "x", names["resource_identifier"])
        assert (wrong.status_code, wrong.json().get("error")) == (401, "invalid_client"), wrong.text
        seen.update(client_id=pause["client_id"], secret=pause["secret"])
        # the set version keeps the zone's default permits beside the new forbid
        policies = person.http.get(f"/zones/{zone.id}/policies", params={"limit": 100}).json()["items"]
        defaults = [p["id"] for p in policies if p.get("owner_type") == "platform"]
        assert defaults, policies
        return {"also_tick": defaults}
    if pause["pause"] == "policy-active":
        # the active version's forbid denies the same request, and says which policy of which set
        r = client_credentials(token_endpoint, seen["client_id"], seen["secret"], names["resource_identifier"])
        assert (r.status_code, r.json().get("error")) == (400, "access_denied"), r.text
        policy = person.http.get(f"/zones/{zone.id}/policies/{pause['policy_id']}").json()
        assert r.json()["error_description"] == (
            f'Access to "{names["resource"]}" is denied by Policy "{policy["name"]}" in version 1 of Policy Set '
            f'"{names["set"]}".'
        ), r.text
        return {}
    raise AssertionError(f"unknown pause {pause}")
