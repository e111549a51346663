"""Point 1 — the upstream callback `{issuer}/oauth/2/redirect` is bound to the browser that was
sent to the upstream provider (a cookie set when Latchkey sends the browser away).

Attacks: (a) a delegated-grant hop started by an attacker and completed by a victim's browser
(the victim's upstream tokens must not land in the attacker's grant); (b) login CSRF: the
attacker's upstream sign-in answer replayed in the victim's browser must not sign the victim in
as the attacker; (c) a grant hop completed after the browser's zone user changed writes nothing.

Each test has its own zone and its own upstream OpenID provider (node oidc-provider), driven over
plain HTTP (the provider's development login and consent forms).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any, Iterator

import pytest

import lk
from e2e import kit

from . import attack_kit as ak


@dataclass
class Fed:
    zone: kit.Zone
    idp: kit.UpstreamIdp
    api: Any  # external resource brokered by the provider (client "api")
    service: kit.Service  # provides `own`; gets a dependency on `api` when a test adds it
    own: Any
    plain: kit.Client  # a client whose application has no dependencies
    broker: kit.Client  # a client whose application depends on `api`: authorizing it starts a hop

    def user(self, login: str) -> Any:
        return self.zone.user_by_email(f"{login}@example.test")

    def api_code_calls(self) -> int:
        return len([e for e in self.idp.token_calls("authorization_code") if e.get("client_id") == "api"])


@pytest.fixture
def fed(node_parts, make_zone, tmp_path) -> Iterator[Fed]:
    z = make_zone()
    sec = {n: lk.unique_token(f"{n}-secret") for n in ("login", "api")}
    idp = kit.UpstreamIdp(
        [
            {"client_id": "login", "client_secret": sec["login"], "redirect_uris": [z.upstream_redirect]},
            {"client_id": "api", "client_secret": sec["api"], "redirect_uris": [z.upstream_redirect]},
        ],
        tmp_path / "idp.log",
    )
    try:
        providers = z.admin.zones.providers
        login = providers.create(
            z.id, identifier=idp.issuer, name="Attack IdP", client_id="login", client_secret=sec["login"],
            protocols={"oauth2": {"issuer": idp.issuer}, "openid": {"user_identifier_claim": "email"}},
        )
        api_provider = providers.create(
            z.id, identifier=idp.issuer + "/api", name="Attack API", client_id="api", client_secret=sec["api"],
            protocols={"oauth2": {"issuer": idp.issuer}},
        )
        z.admin.zones.update(z.id, user_identity_provider_id=login.id)
        z.refresh()
        api = z.resource(
            name="Victim API", identifier=lk.unique_url("api"), credential_provider_id=api_provider.id,
            scopes=["openid", "offline_access", "api:read"],
        )
        service = z.service(name=lk.unique("Resource server"))
        own = z.resource(name="Resource server", identifier=lk.unique_url("rs"), application_id=service.app.id)
        plain = z.browser_client([ak.REGISTERED], consent="implicit", depends_on=[own])
        broker = z.browser_client([ak.REGISTERED], consent="implicit", depends_on=[api])
        yield Fed(z, idp, api, service, own, plain, broker)
    finally:
        idp.close()


def _signed_in(f: Fed, b: ak.Browser, login: str, listener, resources=()) -> str:
    """Signs `b` in at the zone through the provider as `login` (client `plain`); returns the
    access token of that sign-in."""
    pkce = kit.Pkce()
    state = secrets.token_urlsafe(12)
    url = f.zone.authorize_url(f.plain, listener.url, state=state, pkce=pkce, resources=list(resources), scope="openid")
    out = ak.upstream_sign_in(b, f.zone, url, login)
    assert isinstance(out, str) and out.startswith(listener.url), ak.describe(out)
    q = kit.query(out)
    assert q.get("state") == state and "code" in q, q
    r = f.zone.redeem(f.plain, q["code"], listener.url, pkce.verifier)
    assert r.status_code == 200, r.text
    return r.json()["access_token"]


def _start_hop(f: Fed, b: ak.Browser, listener) -> str:
    """`b` (signed in) authorizes the broker client: the zone sends it to the provider for `api`."""
    out = b.get(f.zone.authorize_url(f.broker, listener.url, state=secrets.token_urlsafe(8), pkce=kit.Pkce()))
    assert isinstance(out, str) and out.startswith(f.idp.issuer + "/"), (
        f"expected the delegated-grant hop to the upstream provider, got {ak.describe(out)}"
    )
    assert kit.query(out).get("client_id") == "api" and kit.query(out).get("state"), out
    return out


def _refused_page(r) -> None:
    assert r.status_code in (400, 403), (
        f"the callback was accepted from the wrong browser: {r.status_code} location={r.headers.get('location')}"
    )
    assert r.headers.get("content-type", "").startswith("text/html"), r.headers
    assert "location" not in r.headers, r.headers


def test_victim_completing_attackers_grant_hop_gives_attacker_nothing(fed: Fed, listener):
    """(a) Attacker browser A starts a delegated-grant hop for the external API; the victim's
    browser B (signed in at the provider as the victim) completes it and loads the callback.
    B gets an error page, no grant is stored for the attacker, the zone never redeems the code at
    the provider, and the attacker's token exchange for the API fails."""
    f = fed
    attacker, victim = lk.unique_token("mallory"), lk.unique_token("alice")
    a, b = ak.Browser(f.zone), ak.Browser(f.zone)
    try:
        attacker_token = _signed_in(f, a, attacker, listener, resources=[f.own.identifier])
        _signed_in(f, b, victim, listener)
        mallory = f.user(attacker)

        hop = _start_hop(f, a, listener)
        calls_before = f.api_code_calls()
        callback = ak.walk_idp(b, hop, victim, f.zone.upstream_redirect)
        r = b.http.get(callback)

        grants = f.zone.grants(user_id=mallory.id)
        assert grants == [], f"the victim's upstream tokens were stored in the attacker's grant: {[(g.id, g.status) for g in grants]}"
        assert f.api_code_calls() == calls_before, "the zone redeemed the code from the wrong browser at the provider"
        _refused_page(r)

        f.zone.admin.zones.applications.dependencies.add(f.api.id, zone_id=f.zone.id, id=f.service.app.id)
        kit.assert_oauth_error(
            f.zone.exchange(f.service, attacker_token, f.api.identifier), 400, "insufficient_authorization"
        )
    finally:
        a.close()
        b.close()


def test_login_csrf_attackers_sign_in_answer_does_not_sign_in_the_victim(fed: Fed, listener):
    """(b) The attacker starts an upstream sign-in in browser A and completes it at the provider
    as themselves, but the callback URL (code + state) is loaded by the victim's browser B:
    B is not signed in (error page 400/403, no session cookie) and `prompt=none` answers
    `login_required`."""
    f = fed
    attacker = lk.unique_token("mallory")
    a, b = ak.Browser(f.zone), ak.Browser(f.zone)
    try:
        url = f.zone.authorize_url(f.plain, listener.url, state="csrf", pkce=kit.Pkce(), scope="openid")
        callback = ak.upstream_sign_in(a, f.zone, url, attacker, load_callback=False)
        assert callback.startswith(f.zone.upstream_redirect + "?"), callback

        r = b.http.get(callback)
        set_cookies = r.headers.get_list("set-cookie")
        assert not any(c.startswith(f"lk_session_{f.zone.id}=") and "Max-Age=0" not in c for c in set_cookies), (
            f"the victim's browser was signed in as the attacker ({r.status_code}): {set_cookies}"
        )
        _refused_page(r)
        assert b.session_cookie() in (None, ""), "the victim's browser holds a zone session"

        out = b.get(f.zone.authorize_url(f.plain, listener.url, state="pn", pkce=kit.Pkce(), prompt="none"))
        assert isinstance(out, str) and kit.query(out).get("error") == "login_required", ak.describe(out)
        assert "code" not in kit.query(out)
    finally:
        a.close()
        b.close()


def test_grant_hop_completed_after_the_browser_user_changed_writes_nothing(fed: Fed, listener):
    """(c) Browser A signs in as user 1 and is sent upstream for the API (the hop is for user 1);
    before the hop returns, the browser signs in again as user 2 (prompt=login). Completing the
    old hop in that browser writes no grant, for either user."""
    f = fed
    one, two = lk.unique_token("first"), lk.unique_token("second")
    a = ak.Browser(f.zone)
    try:
        _signed_in(f, a, one, listener)
        hop = _start_hop(f, a, listener)

        a.forget_idp()
        pkce = kit.Pkce()
        url = f.zone.authorize_url(f.plain, listener.url, state="again", pkce=pkce, prompt="login", scope="openid")
        out = ak.upstream_sign_in(a, f.zone, url, two)
        assert isinstance(out, str) and "code" in kit.query(out), ak.describe(out)
        u1, u2 = f.user(one), f.user(two)

        callback = ak.walk_idp(a, hop, two, f.zone.upstream_redirect)
        r = a.http.get(callback)
        written = f.zone.grants(user_id=u1.id) + f.zone.grants(user_id=u2.id)
        assert written == [], f"a hop for user 1 completed while user 2 is signed in stored grants: {[(g.user_id, g.status) for g in written]}"
        _refused_page(r)
    finally:
        a.close()
