"""Signing in to an organization through its SSO connection, in headless Chromium, with node
`oidc-provider` (e2e-node/idp.mjs) as the organization's identity provider (management-api.md
§3.1.18, `crates/oauth/src/federation/signin.rs`).

The organization's platform zone signs people in through the connection. The client is the
platform zone's pre-registered public client `latchkey-cli` (loopback redirect URIs on any port),
and the resource is the one every platform zone is seeded with: the server's public URL.

* An invited person (`invitation=<token>` on the authorize request, for the email the IdP gives)
  gets an account on first sign-in; the invitation is spent (`accepted`); the code is redeemed.
  What the zone sent the IdP honours the connection: its client, PKCE, the openid scopes merged
  with `protocols.openid.scopes`, `protocols.oauth2.authorization_parameters`; the user's
  identifier is the `user_identifier_claim`. Once known, the person signs in again without it.
* Someone without an invitation is refused with a page saying so; no account, no code.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any, Iterator

import httpx
import pytest

import lk

from . import kit
from .conftest import login_name, upstream_login

pytestmark = pytest.mark.browser

CLI = kit.Client("latchkey-cli")


class SsoOrg:
    def __init__(self, admin: Any, org: Any, zone: kit.Zone, idp: kit.UpstreamIdp, resource: str) -> None:
        self.admin, self.org, self.zone, self.idp, self.resource = admin, org, zone, idp, resource


@pytest.fixture
def sso_org(
    admin, server: lk.LatchkeyServer, node_parts: None, tmp_path_factory: pytest.TempPathFactory, backend: str
) -> Iterator[SsoOrg]:
    org = admin.organizations.create(name=lk.unique("SSO Org"))
    zone = kit.Zone(admin, admin.zones.retrieve(org.zone_id))
    secret = lk.unique_token("sso-secret")
    idp = kit.UpstreamIdp(
        [{"client_id": "org-sso", "client_secret": secret, "redirect_uris": [zone.upstream_redirect]}],
        tmp_path_factory.mktemp(f"sso-idp-{backend}") / "idp.log",
    )
    try:
        conn = admin.organizations.sso_connection.enable(
            org.id,
            client_id="org-sso",
            client_secret=secret,
            identifier=idp.issuer,  # endpoints by OIDC discovery
            protocols={
                "oauth2": {"authorization_parameters": {"ui_locales": "en-GB"}},
                "openid": {"scopes": ["api:read"], "user_identifier_claim": "email"},
            },
        )
        assert conn.client_secret_set and admin.organizations.retrieve(org.id).sso_enabled
        yield SsoOrg(admin, org, zone, idp, server.base_url)
    finally:
        idp.close()
        zone.http.close()


def sign_in(s: SsoOrg, listener, profile: Path, name: str, **extra: str) -> tuple[kit.FlowResult, str, kit.Pkce]:
    """authorize (code + PKCE) → the IdP's login and consent → back; returns (flow, state, pkce)."""
    pkce, state = kit.Pkce(), secrets.token_urlsafe(24)
    url = s.zone.authorize_url(
        CLI, listener.url, state=state, pkce=pkce, resources=[s.resource], scope="openid profile email", **extra
    )
    flow = kit.run_flow(
        start=url,
        stop_at=listener.url,
        user_data_dir=str(profile),
        plan={
            "signin": ["upstream"],
            "upstream_login": upstream_login(name),
            "upstream_consent": True,
            "consent": "allow",
        },
    )
    return flow, state, pkce


def invitation_status(s: SsoOrg, inv_id: str) -> str:
    items = s.admin.organizations.invitations.list(s.org.id, limit=100).items
    return {i.id: i.status for i in items}[inv_id]


def test_invited_person_signs_in_through_sso(sso_org: SsoOrg, listener, tmp_path: Path):
    s = sso_org
    name = login_name("ines")
    email = f"{name}@example.test"
    inv = s.admin.organizations.invitations.create(s.org.id, email=email, role="org_member")
    token = inv.to_dict().get("token")
    assert token, "the create response carries the invitation token once"
    assert email not in [u.email for u in s.zone.users()]

    (tmp_path / "p1").mkdir()
    flow, state, pkce = sign_in(s, listener, tmp_path / "p1", name, invitation=token)
    assert flow.outcome == "stopped", flow
    assert flow.kinds[0] == "zone-upstream-only", "an SSO organization signs in only through its IdP"
    assert "upstream-login" in flow.kinds, flow
    cb = listener.by_state(state)
    assert set(cb) >= {"code", "state", "iss"} and cb["iss"] == s.zone.issuer, cb

    # What the zone sent the organization's IdP.
    auth = s.idp.requests("/auth", client_id="org-sso")[-1]["query"]
    assert auth["redirect_uri"] == s.zone.upstream_redirect
    assert auth["code_challenge_method"] == "S256" and auth.get("nonce") and auth["state"] != state, auth
    assert set(auth["scope"].split()) == {"openid", "profile", "email", "api:read"}, auth
    assert auth["ui_locales"] == "en-GB", "authorization_parameters reach the IdP"
    calls = [c for c in s.idp.token_calls("authorization_code") if c.get("client_id") == "org-sso"]
    assert calls and calls[-1]["basic"], "the sealed client secret authenticates the zone at the IdP"

    r = s.zone.redeem(CLI, cb["code"], listener.url, pkce.verifier, resources=[s.resource])
    assert r.status_code == 200, r.text
    claims = s.zone.verify(r.json()["access_token"])
    assert claims["sub"] == email, "user_identifier_claim=email is the user's identifier"

    user = s.zone.user_by_email(email)
    assert user.issuer == s.idp.issuer and user.subject == name, user
    assert user.identifier == email
    assert invitation_status(s, inv.id) == "accepted"
    # The invitation made them a member with its role, and the token is their management API key.
    base = str(s.admin.base_url).rstrip("/")
    members = httpx.get(
        f"{base}/organizations/{s.org.id}/users", headers={"Authorization": f"Bearer {s.admin.api_key}"}
    ).json()["items"]
    assert [(m["id"], m["role"]) for m in members] == [(user.id, "org_member")], members
    me = httpx.get(
        f"{base}/organizations/{s.org.id}", headers={"Authorization": f"Bearer {r.json()['access_token']}"}
    )
    assert me.status_code == 200, me.text

    # Known now: a later sign-in (another browser, no invitation) is let in, as the same user.
    (tmp_path / "p2").mkdir()
    flow, state, pkce = sign_in(s, listener, tmp_path / "p2", name)
    assert flow.outcome == "stopped", flow
    r = s.zone.redeem(CLI, listener.by_state(state)["code"], listener.url, pkce.verifier, resources=[s.resource])
    assert r.status_code == 200, r.text
    assert [u.id for u in s.zone.users() if u.email == email] == [user.id]


def test_uninvited_person_is_refused(sso_org: SsoOrg, listener, tmp_path: Path):
    s = sso_org
    name = login_name("mallory")
    email = f"{name}@example.test"
    # An invitation for somebody else, carried along, does not admit this person either.
    other = s.admin.organizations.invitations.create(s.org.id, email=kit.unique_email("other"), role="org_member")
    for i, extra in enumerate(({}, {"invitation": other.to_dict()["token"]})):
        (tmp_path / f"p{i}").mkdir()
        flow, state, _ = sign_in(s, listener, tmp_path / f"p{i}", name, **extra)
        assert flow.outcome == "error_page", flow
        err = flow.step("zone-error")
        assert err["status"] == 403, err
        assert "invitation" in (err["alert"] or ""), err
        assert not [h for h in listener.hits if h.get("state") == state], "a code reached the client"
        assert "upstream-login" in flow.kinds, "the refusal comes after the IdP said who this is"
    assert email not in [u.email for u in s.zone.users()]
    assert invitation_status(s, other.id) == "pending"


def test_a_member_signs_in_to_the_console_through_sso(sso_org: SsoOrg, listener, tmp_path: Path):
    """The console signs people in through the platform zone, so an SSO organization's console
    sign-in goes to its IdP and lands on the console's zones page, signed in."""
    s = sso_org
    name = login_name("carla")
    inv = s.admin.organizations.invitations.create(s.org.id, email=f"{name}@example.test", role="org_admin")
    (tmp_path / "p1").mkdir()
    flow, state, pkce = sign_in(s, listener, tmp_path / "p1", name, invitation=inv.to_dict()["token"])
    assert flow.outcome == "stopped", flow
    r = s.zone.redeem(CLI, listener.by_state(state)["code"], listener.url, pkce.verifier, resources=[s.resource])
    assert r.status_code == 200, r.text

    (tmp_path / "p2").mkdir()
    console = f"{s.resource.rstrip('/')}/console"
    flow = kit.run_flow(
        start=f"{console}/sign-in?organization={s.org.id}",
        stop_at=f"{console}/zones",
        user_data_dir=str(tmp_path / "p2"),
        plan={"signin": ["upstream"], "upstream_login": upstream_login(name), "upstream_consent": True, "consent": "allow"},
    )
    assert flow.outcome == "stopped", flow
    assert flow.kinds[0] == "zone-upstream-only" and "upstream-login" in flow.kinds, flow.kinds
    assert flow.steps[-1]["status"] == 200 and flow.steps[-1]["title"].startswith("Zones"), flow.steps[-1]
