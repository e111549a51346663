"""`latchkey login`'s path through the device grant: the platform zone's public client
`latchkey-cli` asks for the management API (resource = the server's public URL), a member of the
organization approves on the verification page, and the token works as a Bearer on the management
API exactly like one from the authorization code flow; the sign-in is audited (`auth.sign_in`).
Runs on the shared server (default 5 s interval: the only poll comes after the approval)."""

from __future__ import annotations

import time

import httpx
from keycardai_api import KeycardAPI

import device_kit as dk
import lk
from e2e import kit
from people.people_kit import Org


def wait_for_sign_ins(o: Org, p, at_least: int) -> int:
    """The person's `auth.sign_in` events once there are `at_least` (the log is written in the
    background), or as many as there are after 10 s."""
    deadline = time.monotonic() + 10
    while (n := sign_ins(o, p.http, p.user_id)) < at_least and time.monotonic() < deadline:
        time.sleep(0.2)
    return n


def sign_ins(o: Org, http: httpx.Client, user_id: str) -> int:
    r = http.get(f"/organizations/{o.id}/audit-events", params={"limit": 100})
    assert r.status_code == 200, r.text
    return sum(1 for e in r.json()["items"] if e["action"] == "auth.sign_in" and e["actor_id"] == user_id)


def test_latchkey_cli_gets_a_management_token_through_the_device_grant(
    server: lk.LatchkeyServer, admin: KeycardAPI, admin_http: httpx.Client
) -> None:
    o = Org(server, admin, admin_http)
    try:
        p = o.join("org_admin", "device-cli")
        issuer = o.zone.issuer
        r = dk.start(issuer, "latchkey-cli", resources=[server.base_url])
        assert r.status_code == 200, r.text
        d = r.json()
        assert d["verification_uri_complete"].startswith(issuer + "/device?user_code=")
        before = wait_for_sign_ins(o, p, 1)  # the code grant's sign-in of `join`
        assert before >= 1
        dk.approve_device(d["verification_uri_complete"], p.email, kit.PASSWORD)
        r = dk.poll(issuer, "latchkey-cli", d["device_code"], resources=[server.base_url])
        assert r.status_code == 200, r.text
        tokens = r.json()
        # The sign-in is audited as the code grant's is (checked before the refresh, which is one too).
        assert wait_for_sign_ins(o, p, before + 1) == before + 1
        claims = kit.jwt_claims(tokens["access_token"])
        assert claims["aud"] == server.base_url and claims["sub"] == p.user_id, claims
        with httpx.Client(
            base_url=server.base_url, headers={"Authorization": f"Bearer {tokens['access_token']}"}, timeout=30.0
        ) as h:
            zones = h.get("/zones")
            assert zones.status_code == 200, zones.text
            assert h.get(f"/organizations/{o.id}").status_code == 200
        sdk = lk.api_key_client(server, tokens["access_token"])
        try:
            assert any(z.id == o.zone.id for z in sdk.zones.list(limit=100).items)
        finally:
            sdk.close()
        # The refresh token rotates into another working management token.
        refreshed = o.zone.refresh_grant(kit.Client("latchkey-cli"), tokens["refresh_token"], [server.base_url])
        assert refreshed.status_code == 200, refreshed.text
    finally:
        o.close()


def test_a_device_code_of_the_cli_is_not_redeemed_by_the_console(
    server: lk.LatchkeyServer, admin: KeycardAPI, admin_http: httpx.Client
) -> None:
    o = Org(server, admin, admin_http)
    try:
        p = o.join("org_admin", "device-console")
        issuer = o.zone.issuer
        d = dk.start(issuer, "latchkey-cli", resources=[server.base_url]).json()
        dk.approve_device(d["verification_uri_complete"], p.email, kit.PASSWORD)
        r = dk.poll(issuer, "latchkey-console", d["device_code"])
        kit.assert_oauth_error(r, 400, "invalid_grant")
        assert dk.poll(issuer, "latchkey-cli", d["device_code"]).status_code == 200
    finally:
        o.close()
