"""People of an organization, signed in the way the CLI does it: authorization code + PKCE at
the organization's platform zone with the pre-registered public client `latchkey-cli` (a
loopback redirect on any port), the management API (the server's public URL) as the resource,
and the invitation token on the authorization request for a first sign-up. The access token is
then the SDK's `api_key`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

import httpx
from keycardai_api import KeycardAPI

import lk
from e2e import kit

CLI = kit.Client("latchkey-cli")
REDIRECT = "http://127.0.0.1:53682/callback"


@dataclass
class Person:
    email: str
    user_id: str
    token: str
    refresh_token: str
    api: KeycardAPI
    http: httpx.Client

    def close(self) -> None:
        self.api.close()
        self.http.close()


@dataclass
class Org:
    """A fresh organization (made by the platform admin) and its platform zone."""

    server: lk.LatchkeyServer
    admin: KeycardAPI
    admin_http: httpx.Client
    org: Any = None
    zone: Optional[kit.Zone] = None
    people: list[Person] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.org = self.admin.organizations.create(name=lk.unique("People Org"))
        self.zone = kit.Zone(self.admin, self.admin.zones.retrieve(self.org.zone_id))

    @property
    def id(self) -> str:
        return self.org.id

    def invite(self, email: str, role: str, as_http: Optional[httpx.Client] = None) -> str:
        r = (as_http or self.admin_http).post(
            f"/organizations/{self.id}/invitations", json={"email": email, "role": role}
        )
        assert r.status_code == 201, r.text
        return r.json()["token"]

    def sign_in(self, email: str, invitation: Optional[str] = None, **kw: Any) -> dict:
        """Signs up (with `invitation`) or in through the platform zone's pages: the token response."""
        assert self.zone is not None
        b = kit.HttpBrowser(self.zone)
        try:
            pkce = kit.Pkce()
            extra = {"invitation": invitation} if invitation else {}
            url = self.zone.authorize_url(
                CLI, REDIRECT, pkce=pkce, state="cli", resources=[self.server.base_url], **extra, **kw
            )
            out = b.signup_and_authorize(url, email)
            q = kit.query(out)
            assert "code" in q, out
            code = q["code"]
            r = self.zone.redeem(CLI, code, REDIRECT, pkce.verifier, resources=[self.server.base_url])
            assert r.status_code == 200, r.text
            return r.json()
        finally:
            b.close()

    def person(self, email: str, tokens: dict) -> Person:
        claims = kit.jwt_claims(tokens["access_token"])
        user = self.zone.user_by_email(email) if self.zone else None
        api = lk.api_key_client(self.server, tokens["access_token"])
        http = httpx.Client(
            base_url=self.server.base_url,
            headers={"Authorization": f"Bearer {tokens['access_token']}"},
            timeout=30.0,
        )
        p = Person(email, user.id, tokens["access_token"], tokens.get("refresh_token", ""), api, http)
        assert claims["sub"], claims
        self.people.append(p)
        return p

    def join(self, role: str, prefix: str = "person") -> Person:
        """A new member with `role`: invited, signed up through the invitation, signed in."""
        email = kit.unique_email(prefix)
        token = self.invite(email, role)
        return self.person(email, self.sign_in(email, invitation=token))

    def close(self) -> None:
        for p in self.people:
            p.close()
