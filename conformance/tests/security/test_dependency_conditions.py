"""Point 7 — a dependency with `when_accessing` is available only when one of those resources is
being accessed.

Application X provides R1 and R3; it depends on R2 only `when_accessing=[R1]`, and on R4
unconditionally. Attack: X uses its conditional dependency on R2 outside the condition — as
itself (client_credentials), or with a user's token for R3.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

import lk
from e2e import kit

from . import attack_kit as ak

CLIENT_CREDENTIALS = "client_credentials"


@dataclass
class Setup:
    zone: kit.Zone
    x: kit.Service
    r1: Any
    r2: Any
    r3: Any
    r4: Any


@pytest.fixture
def setup(make_zone, admin_http) -> Setup:
    z = make_zone(requires_invitation=False)
    x = z.service(name=lk.unique("X"))
    r1 = z.resource(identifier=lk.unique_url("r1"), application_id=x.app.id)
    r3 = z.resource(identifier=lk.unique_url("r3"), application_id=x.app.id)
    r2 = z.resource(identifier=lk.unique_url("r2"))
    r4 = z.resource(identifier=lk.unique_url("r4"))
    base = f"/zones/{z.id}/applications/{x.app.id}/dependencies"
    r = admin_http.put(f"{base}/{r2.id}", params={"when_accessing": r1.id})
    assert r.status_code in (200, 204), r.text
    r = admin_http.put(f"{base}/{r4.id}")
    assert r.status_code in (200, 204), r.text
    listed = {d["id"]: d.get("when_accessing") for d in admin_http.get(base).json()["items"]}
    assert listed.get(r2.id) == [r1.id], listed
    return Setup(z, x, r1, r2, r3, r4)


def _client_credentials(s: Setup, resource: Any):
    return s.zone.http.post(
        s.zone.token_endpoint,
        data={"grant_type": CLIENT_CREDENTIALS, "resource": resource.identifier},
        headers=s.x.headers(),
    )


def test_conditional_dependency_is_not_available_to_client_credentials(setup: Setup):
    s = setup
    r = _client_credentials(s, s.r2)
    assert r.status_code != 200, "client_credentials used a dependency that is only available when accessing R1"
    kit.assert_oauth_error(r, 400, "access_denied")
    ok = _client_credentials(s, s.r4)
    assert ok.status_code == 200, ok.text


def test_conditional_dependency_follows_the_subject_tokens_resource(setup: Setup, listener):
    s = setup
    z = s.zone
    client = z.browser_client([ak.REGISTERED], consent="implicit", depends_on=[s.r1, s.r3])
    b = ak.Browser(z)
    try:
        t1 = ak.tokens_in(b, z, client, listener.url, ak.unique_email("wa"), resources=[s.r1.identifier])
        assert kit.jwt_claims(t1.access_token)["aud"] == s.r1.identifier
        pkce = kit.Pkce()
        out = b.get(z.authorize_url(client, listener.url, state="r3", pkce=pkce, resources=[s.r3.identifier]))
        assert isinstance(out, str) and "code" in kit.query(out), ak.describe(out)
        r = z.redeem(client, kit.query(out)["code"], listener.url, pkce.verifier)
        assert r.status_code == 200, r.text
        t3 = r.json()["access_token"]
        assert kit.jwt_claims(t3)["aud"] == s.r3.identifier

        ok = z.exchange(s.x, t1.access_token, s.r2.identifier)
        assert ok.status_code == 200, f"with a token for R1 the dependency on R2 applies: {ok.text}"
        denied = z.exchange(s.x, t3, s.r2.identifier)
        assert denied.status_code != 200, "a token for R3 unlocked the dependency that needs R1"
        kit.assert_oauth_error(denied, 400, "access_denied")
        assert z.exchange(s.x, t3, s.r4.identifier).status_code == 200
    finally:
        b.close()
