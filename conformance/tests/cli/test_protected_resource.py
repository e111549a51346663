"""RFC 9728 protected-resource metadata of the management API: where people sign in to it."""

from __future__ import annotations

import httpx
from keycardai_api import KeycardAPI
from keycardai_api.types import Organization

import lk

PATH = "/.well-known/oauth-protected-resource"


def issuer_of(admin: KeycardAPI, zone_id: str) -> str:
    return admin.zones.retrieve(zone_id).protocols.oauth2.issuer


def test_names_the_default_organizations_platform_zone(
    http: httpx.Client, server: lk.LatchkeyServer, admin: KeycardAPI, default_org: Organization
):
    r = http.get(PATH)  # no credentials needed
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/json")
    body = r.json()
    assert body == {
        "resource": server.base_url,
        "authorization_servers": [issuer_of(admin, default_org.zone_id)],
        "bearer_methods_supported": ["header"],
        "resource_name": "Latchkey management API",
    }
    # The named authorization server publishes its metadata, and the management API is a
    # resource there.
    issuer = body["authorization_servers"][0]
    meta = http.get(f"{issuer}/.well-known/oauth-authorization-server")
    assert meta.status_code == 200 and meta.json()["issuer"] == issuer, meta.text


def test_names_the_platform_zone_of_an_organization(http: httpx.Client, admin: KeycardAPI, new_org: Organization):
    for key in (new_org.id, new_org.label):
        r = http.get(PATH, params={"organization": key})
        assert r.status_code == 200, r.text
        assert r.json()["authorization_servers"] == [issuer_of(admin, new_org.zone_id)], key


def test_unknown_organization_is_a_json_404(http: httpx.Client):
    r = http.get(PATH, params={"organization": "no-such-org-" + lk.unique()})
    body = lk.assert_error(r, 404, "not_found")
    assert set(body) >= {"message", "code", "status"}, body
