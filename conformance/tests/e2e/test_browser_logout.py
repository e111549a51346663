"""RP-Initiated Logout in a real browser (headless Chromium): a relying party on another site
posts the browser to the zone's `end_session_endpoint` (a cross-site form POST, which carries no
`SameSite=Lax` cookie). The zone answers with the same request as a GET, on which the browser does
send its session cookie, so the hinted web session really ends, and the browser lands on the
registered `post_logout_redirect_uri` with `state`.

Without that step the zone would see no session on the POST, send the browser back as if signed
out, and leave the session alive: the admin API's view of the session is what this test checks.
"""

from __future__ import annotations

import html
import secrets
from typing import Iterator

import httpx
import pytest

from e2e import kit
from oauth.kit import JsonServer


def relying_party_page(pages: JsonServer, action: str, fields: dict[str, str]) -> str:
    """Publishes a page whose script posts its form at once; answers its URL on
    `http://localhost:{port}` (another site than the zone's 127.0.0.1)."""
    inputs = "".join(
        f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">' for k, v in fields.items()
    )
    body = (f'<!doctype html><title>RP</title><form method="post" action="{html.escape(action)}">{inputs}'
            "</form><script>document.forms[0].submit()</script>").encode()
    path = f"/bye-{secrets.token_hex(4)}"
    pages.publish(path, body)
    return f"http://localhost:{pages.port}{path}"


@pytest.fixture
def pages() -> Iterator[JsonServer]:
    srv = JsonServer()
    yield srv
    srv.close()


def test_a_cross_site_logout_post_ends_the_browsers_session(
    password_zone: kit.Zone, node_parts, listener, profile, admin_http: httpx.Client, pages
):
    z = password_zone
    client = z.browser_client(["http://127.0.0.1/callback"], consent="implicit",
                              post_logout_redirect_uris=["http://127.0.0.1/callback"])
    email, pkce, state = kit.unique_email("chromium-bye"), kit.Pkce(), secrets.token_urlsafe(8)
    signed_in = kit.run_flow(
        start=z.authorize_url(client, listener.url, state=state, pkce=pkce, scope="openid"),
        stop_at=listener.url,
        user_data_dir=str(profile),
        plan={"signin": [{"email": email, "password": kit.PASSWORD, "intent": "signup"}]},
    )
    assert signed_in.outcome == "stopped", signed_in
    r = z.redeem(client, listener.by_state(state)["code"], listener.url, pkce.verifier)
    assert r.status_code == 200, r.text
    id_token = r.json()["id_token"]
    sid = kit.jwt_claims(id_token)["sid"]

    def web_session() -> dict:
        """The browser's web session, as the admin API shows it (the ID token's `sid`)."""
        r = admin_http.get(f"/zones/{z.id}/sessions/{sid}")
        assert r.status_code == 200, r.text
        assert r.json()["user_id"] == z.user_by_email(email).id, r.json()
        return r.json()

    assert web_session()["status"] == "active"

    bye = secrets.token_urlsafe(8)
    start = relying_party_page(pages, z.url("/logout"), {
        "id_token_hint": id_token, "post_logout_redirect_uri": listener.url, "state": bye,
    })
    out = kit.run_flow(start=start, stop_at=listener.url, user_data_dir=str(profile), await_stop=True, plan={})
    assert out.outcome == "stopped", out
    assert listener.by_state(bye) == {"state": bye}, listener.hits
    assert web_session()["status"] == "revoked", "the cross-site logout left the browser's session alive"
