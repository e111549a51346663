"""Point 2 — revoking or deleting a session (the user's web session or the token session under
it) ends the refresh tokens issued from it, and a refresh never makes a new active session under
a revoked one; deleting the client a refresh token belongs to (a DCR user agent, an application
credential, the application) ends its refresh tokens too.

Attack: a stolen refresh token keeps working after the administrator "revoked" the session.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterator

import httpx
import pytest

from e2e import kit

from . import attack_kit as ak


@dataclass
class Signed:
    zone: kit.Zone
    client: kit.Client
    browser: ak.Browser
    email: str
    tokens: ak.Tokens
    user_id: str

    def sessions(self, admin_http: httpx.Client) -> list[dict]:
        return ak.sessions(admin_http, self.zone.id, user_id=self.user_id)

    def token_session(self, admin_http: httpx.Client) -> dict:
        """The token session the code redemption recorded (the list shows token sessions)."""
        kids = [s for s in self.sessions(admin_http) if s.get("parent_id")]
        assert kids, f"no token session for the user: {self.sessions(admin_http)}"
        return kids[0]

    def web_session(self, admin_http: httpx.Client) -> dict:
        """The web session of the sign-in: the parent of the token session (web sessions are not
        in the list; GET /sessions/{id} shows them)."""
        parent = self.token_session(admin_http)["parent_id"]
        r = admin_http.get(f"/zones/{self.zone.id}/sessions/{parent}")
        assert r.status_code == 200, r.text
        assert r.json()["user_id"] == self.user_id, r.json()
        return r.json()


@pytest.fixture
def signed_in(password_zone: kit.Zone, listener, admin_http) -> Iterator[Callable[..., Signed]]:
    made: list[ak.Browser] = []

    def make(client: kit.Client = None) -> Signed:
        z = password_zone
        client = client or z.browser_client([ak.REGISTERED])
        b = ak.Browser(z)
        made.append(b)
        email = ak.unique_email("revoke")
        t = ak.tokens_in(b, z, client, listener.url, email, scope="openid offline_access")
        assert t.refresh_token, t.raw
        return Signed(z, client, b, email, t, z.user_by_email(email).id)

    yield make
    for b in made:
        b.close()


def _refresh_refused(s: Signed, token: str, what: str) -> None:
    r = s.zone.refresh_grant(s.client, token)
    assert r.status_code != 200, f"{what}: the refresh token still works ({r.status_code})"
    kit.assert_oauth_error(r, 400, "invalid_grant")


def _active_under(sessions: list[dict], parent: str) -> set[str]:
    return {s["id"] for s in sessions if s.get("parent_id") == parent and s.get("status") == "active"}


def test_revoking_the_web_session_ends_its_refresh_tokens(signed_in, admin_http):
    s = signed_in()
    web = s.web_session(admin_http)
    r = admin_http.patch(f"/zones/{s.zone.id}/sessions/{web['id']}", json={"status": "revoked"})
    assert r.status_code == 200 and r.json()["status"] == "revoked", r.text
    active_before = _active_under(s.sessions(admin_http), web["id"])

    _refresh_refused(s, s.tokens.refresh_token, "web session revoked")

    active_after = _active_under(s.sessions(admin_http), web["id"])
    assert active_after <= active_before, (
        f"a refresh made a new active session under the revoked web session: {active_after - active_before}"
    )


def test_revoking_the_token_session_ends_its_refresh_token(signed_in, admin_http):
    s = signed_in()
    child = s.token_session(admin_http)
    r = admin_http.patch(f"/zones/{s.zone.id}/sessions/{child['id']}", json={"status": "revoked"})
    assert r.status_code == 200 and r.json()["status"] == "revoked", r.text
    _refresh_refused(s, s.tokens.refresh_token, "token session revoked")


def test_deleting_the_web_session_ends_its_refresh_tokens(signed_in, admin_http):
    s = signed_in()
    web = s.web_session(admin_http)
    r = admin_http.delete(f"/zones/{s.zone.id}/sessions/{web['id']}")
    assert r.status_code == 204, r.text
    _refresh_refused(s, s.tokens.refresh_token, "web session deleted")
    # ... and the refresh did not record a new active token session for that sign-in.
    assert not [x for x in s.sessions(admin_http) if x.get("status") == "active" and x.get("parent_id") is None], (
        s.sessions(admin_http)
    )


def test_deleting_the_token_session_ends_its_refresh_token(signed_in, admin_http):
    s = signed_in()
    child = s.token_session(admin_http)
    r = admin_http.delete(f"/zones/{s.zone.id}/sessions/{child['id']}")
    assert r.status_code == 204, r.text
    _refresh_refused(s, s.tokens.refresh_token, "token session deleted")


def test_web_session_revoked_after_a_refresh_ends_the_rotated_token(signed_in, admin_http):
    """The rotated refresh token is just as dead: revocation is not only of the first token."""
    s = signed_in()
    r = s.zone.refresh_grant(s.client, s.tokens.refresh_token)
    assert r.status_code == 200, r.text
    rotated = r.json()["refresh_token"]
    web = s.web_session(admin_http)
    assert admin_http.patch(f"/zones/{s.zone.id}/sessions/{web['id']}", json={"status": "revoked"}).status_code == 200
    before = _active_under(s.sessions(admin_http), web["id"])
    _refresh_refused(s, rotated, "web session revoked after one rotation")
    assert _active_under(s.sessions(admin_http), web["id"]) <= before


# --------------------------------------------------------------------------------------------
# Deleting the client
# --------------------------------------------------------------------------------------------


def _refresh_refused_for_deleted_client(s: Signed, what: str) -> None:
    r = s.zone.refresh_grant(s.client, s.tokens.refresh_token)
    assert r.status_code in (400, 401), f"{what}: refresh answered {r.status_code}: {r.text}"
    body = r.json()
    assert body.get("error") in ("invalid_grant", "invalid_client"), body


def test_deleting_the_dcr_client_ends_its_refresh_tokens(signed_in, password_zone: kit.Zone, admin_http):
    z = password_zone
    with ak.client("127.0.0.31") as h:
        reg = h.post(
            z.url("/oauth/2/registration"),
            json={"redirect_uris": [ak.REGISTERED], "client_name": "Revoked DCR client",
                  "grant_types": ["authorization_code", "refresh_token"]},
        )
    assert reg.status_code == 201, reg.text
    client = kit.Client(reg.json()["client_id"])
    s = signed_in(client)
    agents = admin_http.get(f"/zones/{z.id}/user-agents", params={"limit": 100}).json()["items"]
    (ua,) = [a for a in agents if a.get("identifier") == client.client_id]
    r = admin_http.delete(f"/zones/{z.id}/user-agents/{ua['id']}")
    assert r.status_code == 204, f"DELETE /zones/{{z}}/user-agents/{{id}} answered {r.status_code}: {r.text[:200]}"
    _refresh_refused_for_deleted_client(s, "user agent deleted")


def test_deleting_the_application_credential_ends_its_refresh_tokens(signed_in, password_zone: kit.Zone, admin_http):
    z = password_zone
    s = signed_in()
    creds = admin_http.get(f"/zones/{z.id}/application-credentials", params={"limit": 100}).json()["items"]
    (cred,) = [c for c in creds if c.get("identifier") == s.client.client_id]
    r = admin_http.delete(f"/zones/{z.id}/application-credentials/{cred['id']}")
    assert r.status_code == 204, r.text
    _refresh_refused_for_deleted_client(s, "application credential deleted")


def test_deleting_the_application_ends_its_refresh_tokens(signed_in, password_zone: kit.Zone, admin_http):
    z = password_zone
    s = signed_in()
    r = admin_http.delete(f"/zones/{z.id}/applications/{s.client.app.id}")
    assert r.status_code == 204, r.text
    _refresh_refused_for_deleted_client(s, "application deleted")
