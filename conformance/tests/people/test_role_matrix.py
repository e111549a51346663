"""The role matrix: every management operation of the OpenAPI document, run as each kind of
caller, is allowed or refused exactly as `docs/roles.md` says, and each caller's `permissions`
expansion says the same. Object ids other than the organization and the zone are ones that do
not exist, so an allowed write answers 400/404 and changes nothing (zone deletion runs on a zone
of its own per caller)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Optional

import httpx
import pytest

import lk

from .people_kit import Org

ROLES_MD = Path(__file__).resolve().parents[3] / "docs" / "roles.md"
# Routes the table does not govern (docs/roles.md, "Refusals").
UNGOVERNED = ("/invitations/", "/policy/bundle", "/service-account-token")
MISSING = "doesnotexist0000000000000000"
ORG_SEGMENTS = {"users": "organization_users", "sso-connection": "sso_connection"}
ZONE_SEGMENTS = {"members": "zone_members"}


def table() -> dict[tuple[str, str, str], dict[str, bool]]:
    """(scope, resource, action) -> {column: allowed}, read from docs/roles.md."""
    lines = ROLES_MD.read_text().splitlines()
    start = lines.index("## The table")
    rows = [l for l in lines[start:] if l.startswith("| ")]
    header = [c.strip() for c in rows[0].strip("|").split("|")]
    assert header[:3] == ["scope", "resource", "action"], header
    out = {}
    for line in rows[1:]:
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) != len(header) or cells[0] not in ("organization", "zone"):
            continue
        out[(cells[0], cells[1], cells[2])] = {h: c == "yes" for h, c in zip(header[3:], cells[3:])}
    assert len(out) > 50, "docs/roles.md has no table"
    return out


def operation(method: str, path: str) -> Optional[tuple[str, str, str]]:
    """(scope, resource, action) of a route, by the rules docs/roles.md states."""
    if path.startswith(UNGOVERNED):
        return None
    parts = path.strip("/").split("/")
    if parts[0] == "organizations":
        scope, resource = "organization", "organizations"
        if len(parts) > 2:
            resource = ORG_SEGMENTS.get(parts[2], parts[2].replace("-", "_"))
    elif parts[0] == "zones":
        scope = "organization" if len(parts) == 1 else "zone"
        resource = "zones" if len(parts) <= 2 else ZONE_SEGMENTS.get(parts[2], parts[2].replace("-", "_"))
    else:
        return None
    last = parts[-1]
    if method == "get":
        action = "reveal" if resource == "secrets" and len(parts) == 4 else "read"
    elif method == "post":
        action = {"evaluate": "read", "rotate": "update"}.get(last, "create")
    else:
        action = {"patch": "update", "put": "update", "delete": "delete"}[method]
    return scope, resource, action


@pytest.fixture
def callers(make_org, make_sa, admin_http):
    o: Org = make_org()
    boss = o.join("org_admin", "boss")
    people = {
        "org_admin": boss,
        "org_viewer": o.join("org_viewer", "viewer"),
        "org_member + zone_manager": o.join("org_member", "manager"),
        "org_member + zone_viewer": o.join("org_member", "zviewer"),
        "org_member, no zone role": o.join("org_member", "outsider"),
    }
    sa = make_sa(org=o.org)
    tok = httpx.post(f"{o.server.base_url}/service-account-token", data={"grant_type": "client_credentials"},
                     auth=(sa.credential.client_id, sa.credential.client_secret))
    assert tok.status_code == 200, tok.text
    clients = {name: p.http for name, p in people.items()}
    clients["service account, API key"] = httpx.Client(
        base_url=o.server.base_url, headers={"Authorization": f"Bearer {tok.json()['access_token']}"}, timeout=30.0
    )
    clients["platform-admin API key"] = admin_http

    def zone_for_all() -> str:
        z = boss.api.zones.create(name=lk.unique("matrix"))
        for name, role in (("org_member + zone_manager", "zone_manager"), ("org_member + zone_viewer", "zone_viewer")):
            r = boss.http.post(f"/zones/{z.id}/members", json={"organization_user_id": people[name].user_id, "role": role})
            assert r.status_code == 201, r.text
        return z.id

    yield o, clients, zone_for_all
    clients["service account, API key"].close()


def test_every_operation_is_decided_by_the_table(callers) -> None:
    o, clients, zone_for_all = callers
    rules = table()
    spec = httpx.get(f"{o.server.base_url}/openapi.json").json()
    zone = zone_for_all()
    checked, wrong = 0, []
    for path, item in sorted(spec["paths"].items()):
        for method in ("get", "post", "patch", "put", "delete"):
            if method not in item:
                continue
            op = operation(method, path)
            if op is None:
                continue
            assert op in rules, f"{method.upper()} {path}: {op} is missing from docs/roles.md"
            for who, http in clients.items():
                target = zone_for_all() if (method, path) == ("delete", "/zones/{zone_id}") else zone
                url = re.sub(r"\{([^}]+)\}", lambda m: {"organization_id": o.id, "zone_id": target}.get(m.group(1), MISSING), path)
                body = {} if method in ("post", "patch", "put") else None
                r = http.request(method.upper(), url, json=body)
                allowed = rules[op][who]
                hidden = r.status_code == 404 and r.json().get("message") == f"zone `{target}` not found"
                refused = r.status_code == 403 or hidden
                if r.status_code == 401 or allowed == refused:
                    wrong.append(f"{who}: {method.upper()} {path} -> {r.status_code} (table: {'allow' if allowed else 'deny'}) {r.text[:120]}")
                checked += 1
    assert checked > 500, checked
    assert not wrong, "\n".join(wrong)


def test_permissions_expansion_agrees_with_the_table(callers) -> None:
    o, clients, zone_for_all = callers
    rules = table()
    zone = zone_for_all()
    wrong = []
    for who, http in clients.items():
        org_perms = http.get(f"/organizations/{o.id}", params={"expand": "permissions"})
        zone_perms = http.get(f"/zones/{zone}", params={"expand[]": "permissions"})
        for (scope, resource, action), allowed in rules.items():
            source = org_perms if scope == "organization" else zone_perms
            if source.status_code != 200:
                # Cannot see it at all: the table must refuse every action.
                if allowed[who]:
                    wrong.append(f"{who}: {scope} {resource}.{action} allowed but {source.status_code}")
                continue
            reported = source.json()["permissions"].get(resource, {}).get(action)
            if reported is not allowed[who]:
                wrong.append(f"{who}: {scope} {resource}.{action} reported {reported}, table {allowed[who]}")
    assert not wrong, "\n".join(wrong)
