"""User sign-in in headless Chromium (playwright-core) against the real zone: through the upstream
OpenID provider (node oidc-provider), by email/password sign-up, and the delegated-grant redirect
chain to an external API with the token exchange that hands its token out (zone-oauth.md §2.2,
§2.4, §2.5, §6.2, §8 items 7, 11, 16, 17, 19, 23, 25).

Each test uses a fresh Chromium profile and its own upstream login name, so each has its own zone
user. Screenshots of the zone's pages go to docs/screenshots/.
"""

from __future__ import annotations

import secrets
import time

import pytest

import lk

from . import kit
from .conftest import SHORT_TTL, Upstream, login_name, upstream_login

pytestmark = pytest.mark.browser


def sign_in_upstream(up: Upstream, listener, profile, client, *, name: str, resources=(), scope="openid profile email",
                     screenshot_dir=None, consent="allow"):
    """Runs authorize → (upstream sign-in) → … → the client's redirect; returns (flow, callback, pkce, state)."""
    pkce = kit.Pkce()
    state = secrets.token_urlsafe(32)
    nonce = secrets.token_urlsafe(16)
    url = up.zone.authorize_url(
        client, listener.url, state=state, pkce=pkce, resources=list(resources), scope=scope, nonce=nonce
    )
    flow = kit.run_flow(
        start=url,
        stop_at=listener.url,
        user_data_dir=str(profile),
        screenshot_dir=str(screenshot_dir) if screenshot_dir else None,
        plan={
            "signin": ["upstream"],
            "upstream_login": upstream_login(name),
            "upstream_consent": True,
            "consent": consent,
        },
    )
    assert flow.outcome == "stopped", flow
    return flow, listener.by_state(state), pkce, state, nonce


def test_upstream_sign_in_consent_code_tokens(upstream: Upstream, listener, profile, tmp_path):
    """(a) The sign-in page offers only the upstream button; the IdP's login and consent; back at
    the zone's consent page; a code at the client's loopback listener; tokens; userinfo."""
    up, z = upstream, upstream.zone
    client = z.browser_client(["http://127.0.0.1/callback"], name="Acme Notes")
    notes = z.resource(name="Notes API", identifier=lk.unique_url("notes"))
    name = login_name()
    flow, cb, pkce, state, nonce = sign_in_upstream(
        up, listener, profile, client, name=name, resources=[notes.identifier],
        scope="openid profile email offline_access", screenshot_dir=tmp_path / "shots",
    )
    assert flow.kinds == ["zone-upstream-only", "upstream-login", "upstream-consent", "zone-consent", "callback"], flow
    kit.keep_screenshot(flow, "zone-upstream-only", "upstream-button")
    kit.keep_screenshot(flow, "zone-consent", "consent")
    assert flow.step("zone-upstream-only")["status"] == 200

    # The zone's answer: code, the state exactly, and iss (RFC 9207); the listener's port was not
    # registered (registered: http://127.0.0.1/callback) — any loopback port is accepted.
    assert set(cb) == {"code", "state", "iss"}, cb
    assert cb["state"] == state and cb["iss"] == z.issuer

    # What the zone sent the upstream provider: PKCE S256, a nonce, the OIDC scopes, its redirect.
    auth = up.idp.requests("/auth", client_id="login")[-1]["query"]
    assert auth["code_challenge_method"] == "S256" and len(auth["code_challenge"]) == 43, auth
    assert auth["redirect_uri"] == z.upstream_redirect
    assert set(auth["scope"].split()) >= {"openid", "email"} and auth.get("nonce"), auth
    token_calls = [e for e in up.idp.token_calls("authorization_code") if e.get("client_id") == "login"]
    assert token_calls and token_calls[-1]["basic"] and token_calls[-1]["body"]["has_code_verifier"], token_calls

    r = z.redeem(client, cb["code"], listener.url, pkce.verifier)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/json")
    assert "no-store" in r.headers.get("cache-control", "")
    body = r.json()
    assert body["token_type"] == "Bearer" and body["refresh_token"] and body["id_token"], body
    email = f"{name}@example.test"
    claims = z.verify(body["access_token"], audience=notes.identifier)
    assert claims["sub"] == email, "user_identifier_claim=email makes the email the user's identifier"
    assert claims["client_id"] == client.client_id and claims["sub_profile"] == "user", claims
    assert claims["exp"] - claims["iat"] == body["expires_in"]
    idt = z.verify(body["id_token"], audience=client.client_id)
    assert idt["nonce"] == nonce and idt["email"] == email and idt["sub"] == email, idt

    info = z.userinfo(body["access_token"])
    assert info.status_code == 200, info.text
    assert info.json()["sub"] == email and info.json()["email"] == email

    user = z.user_by_email(email)
    assert user.issuer == up.idp.issuer and user.subject == name, user
    # No external resource was requested, and neither the client nor the resource's (absent)
    # application has dependencies: no grant.
    assert z.grants(user_id=user.id) == []
    sessions = list(z.admin.zones.sessions.list(z.id, limit=100).items)
    assert any(getattr(s, "user_id", None) == user.id for s in sessions), sessions

    # Refresh: rotation, and the spent token is refused (§2.4, §8 item 11).
    r2 = z.refresh_grant(client, body["refresh_token"], [notes.identifier])
    assert r2.status_code == 200, r2.text
    assert r2.json()["refresh_token"] != body["refresh_token"]
    assert z.verify(r2.json()["access_token"], audience=notes.identifier)["sub"] == email
    kit.assert_oauth_error(z.refresh_grant(client, body["refresh_token"]), 400, "invalid_grant")


def test_signed_in_browser_skips_sign_in_and_remembered_consent(upstream: Upstream, listener, profile):
    """A second authorization in the same browser goes straight to the client: the zone session
    is reused and the consent is remembered (no page is shown); prompt=consent asks again."""
    up, z = upstream, upstream.zone
    client = z.browser_client(["http://127.0.0.1/callback"])
    name = login_name("bob")
    sign_in_upstream(up, listener, profile, client, name=name)
    flow, cb, pkce, _, _ = sign_in_upstream(up, listener, profile, client, name=name)
    assert flow.kinds == ["callback"], flow
    assert z.redeem(client, cb["code"], listener.url, pkce.verifier).status_code == 200

    pkce = kit.Pkce()
    state = secrets.token_urlsafe(16)
    url = z.authorize_url(client, listener.url, state=state, pkce=pkce, scope="openid", prompt="consent")
    again = kit.run_flow(start=url, stop_at=listener.url, user_data_dir=str(profile), plan={"consent": "deny"})
    assert again.kinds == ["zone-consent", "callback"], again
    denied = listener.by_state(state)
    assert denied["error"] == "access_denied" and denied["iss"] == z.issuer and "code" not in denied, denied


def test_password_sign_up_consent_code(password_zone: kit.Zone, node_parts, listener, profile, tmp_path):
    """(b) Email/password sign-up in a zone with requires_invitation=false: a too-short password is
    refused on the page, then the account is made, consent, code, tokens for that user."""
    z = password_zone
    client = z.browser_client(["http://127.0.0.1/callback"], name="Acme Notes")
    email = kit.unique_email("carol")
    pkce, state = kit.Pkce(), secrets.token_urlsafe(32)
    url = z.authorize_url(client, listener.url, state=state, pkce=pkce, scope="openid email")
    flow = kit.run_flow(
        start=url,
        stop_at=listener.url,
        user_data_dir=str(profile),
        screenshot_dir=str(tmp_path / "shots"),
        plan={
            "signin": [
                {"email": email, "password": "short!", "intent": "signup", "novalidate": True},
                {"email": email, "password": kit.PASSWORD, "intent": "signup"},
            ],
            "consent": "allow",
        },
    )
    # (the page's minlength=8 stops a browser from sending the short password, so the first attempt
    # turns the form's validation off: the server must refuse it all the same)
    assert flow.outcome == "stopped", flow
    assert flow.kinds == ["zone-signin", "zone-signin-error", "zone-consent", "callback"], flow
    assert "8 characters" in flow.step("zone-signin-error")["alert"], flow
    kit.keep_screenshot(flow, "zone-signin", "sign-in")
    kit.keep_screenshot(flow, "zone-signin-error", "sign-up-error")
    cb = listener.by_state(state)
    assert cb["iss"] == z.issuer
    r = z.redeem(client, cb["code"], listener.url, pkce.verifier)
    assert r.status_code == 200, r.text
    token = r.json()["access_token"]
    user = z.user_by_email(email)
    claims = z.verify(token)
    assert claims["sub"] == user.identifier and claims["sub_profile"] == "user"
    info = z.userinfo(token).json()
    assert info["email"] == email and info["sub"] == user.identifier
    assert user.issuer is None, "a password account has no upstream issuer"


def test_error_page_for_unknown_client(password_zone: kit.Zone, node_parts, listener, profile, tmp_path):
    """An authorization request with an unknown client ends on the zone's error page (400), not
    at the redirect URI it names."""
    z = password_zone
    url = z.authorize_url(kit.Client("no-such-client"), listener.url, state="s-unknown", pkce=kit.Pkce())
    flow = kit.run_flow(start=url, stop_at=listener.url, user_data_dir=str(profile), screenshot_dir=str(tmp_path))
    assert flow.outcome == "error_page" and flow.kinds == ["zone-error"], flow
    assert flow.steps[0]["status"] == 400 and "not registered" in flow.steps[0]["alert"], flow
    assert not [h for h in listener.hits if h.get("state") == "s-unknown"]
    kit.keep_screenshot(flow, "zone-error", "error")


def test_delegated_grant_chain_exchange_and_revocation(upstream: Upstream, listener, profile):
    """(c) Authorize with a resource backed by the external provider: after sign-in the browser is
    sent to the provider (its extra parameters, PKCE) and back to {issuer}/oauth/2/redirect, then
    to the client with a code. Token exchange by the resource server returns the upstream token
    (live at the provider); revoking the grant in the management API stops the next exchange
    (insufficient_authorization); a later ordinary authorization makes a new grant and the SAME
    subject token exchanges again (§6.2 step 4, §8 item 17); deleting the grant stops it again."""
    up, z = upstream, upstream.zone
    client = z.browser_client(["http://127.0.0.1/callback"])
    name = login_name("dave")
    resources = [up.own.identifier, up.api.identifier]
    flow, cb, pkce, _, _ = sign_in_upstream(up, listener, profile, client, name=name, resources=resources)
    assert flow.kinds.count("upstream-consent") >= 2, f"login consent, then the API's (prompt=consent): {flow}"
    assert flow.kinds[0] == "zone-upstream-only" and flow.kinds[-2:] == ["zone-consent", "callback"], flow

    api_auth = up.idp.requests("/auth", client_id="api")[-1]["query"]
    assert api_auth["prompt"] == "consent", "the provider's authorization_parameters are sent"
    assert api_auth["scope"].split() == ["openid", "offline_access", "api:read"], api_auth
    assert api_auth["code_challenge_method"] == "S256" and api_auth["redirect_uri"] == z.upstream_redirect

    email = f"{name}@example.test"
    user = z.user_by_email(email)
    # The service behind `own` also depends on `short`, so that grant is brokered too (§6.2 step 1).
    grants = [g for g in z.grants(user_id=user.id) if g.resource_id == up.api.id]
    assert len(grants) == 1, grants
    g = grants[0]
    assert (g.resource_id, g.provider_id, g.status) == (up.api.id, up.api_provider.id, "active"), g
    assert g.refresh_token_set is True
    assert set(g.scopes) >= {"api:read"}, g

    r = z.redeem(client, cb["code"], listener.url, pkce.verifier)
    assert r.status_code == 200, r.text
    subject = r.json()["access_token"]
    assert z.verify(subject)["aud"] == resources, "aud lists the resources in request order (§8 item 4)"

    ex = z.exchange(up.service, subject, up.api.identifier)
    assert ex.status_code == 200, ex.text
    first = ex.json()
    assert first["issued_token_type"] == kit.ACCESS_TOKEN_TYPE and first["token_type"] == "Bearer", first
    live = up.idp.userinfo(first["access_token"])
    assert live.status_code == 200 and live.json()["sub"] == name, f"not the provider's token for {name}: {live.text}"

    # Another application may not exchange this user's token (its first aud is not theirs).
    other = z.service(depends_on=[up.api])
    kit.assert_oauth_error(z.exchange(other, subject, up.api.identifier), 400, "invalid_grant")

    z.admin.zones.delegated_grants.update(g.id, zone_id=z.id, status="revoked")
    kit.assert_oauth_error(z.exchange(up.service, subject, up.api.identifier), 400, "insufficient_authorization")

    # The ordinary authorization again (same browser: signed in at the zone and the IdP).
    flow2, cb2, pkce2, _, _ = sign_in_upstream(up, listener, profile, client, name=name, resources=resources)
    assert flow2.kinds == ["upstream-consent", "callback"], flow2
    assert z.redeem(client, cb2["code"], listener.url, pkce2.verifier).status_code == 200
    active = [a for a in z.grants(user_id=user.id, status="active") if a.resource_id == up.api.id]
    assert len(active) == 1 and active[0].id != g.id, active
    assert [x.status for x in z.grants(user_id=user.id) if x.id == g.id] == ["revoked"]
    ex2 = z.exchange(up.service, subject, up.api.identifier)
    assert ex2.status_code == 200, ex2.text
    assert ex2.json()["access_token"] != first["access_token"]
    assert up.idp.userinfo(ex2.json()["access_token"]).status_code == 200

    z.admin.zones.delegated_grants.delete(active[0].id, zone_id=z.id)
    kit.assert_oauth_error(z.exchange(up.service, subject, up.api.identifier), 400, "insufficient_authorization")


def test_expired_upstream_token_is_refreshed(upstream: Upstream, listener, profile):
    """An upstream access token past its expiry is refreshed at the provider (refresh grant with
    the provider's client credentials) when the resource server exchanges (§6.2, §8 item 17)."""
    up, z = upstream, upstream.zone
    client = z.browser_client(["http://127.0.0.1/callback"], depends_on=[up.short])
    name = login_name("erin")
    # The client's own dependency on `short` starts the chain (no `resource` for it requested).
    flow, cb, pkce, _, _ = sign_in_upstream(up, listener, profile, client, name=name, resources=[up.own.identifier])
    short_auth = up.idp.requests("/auth", client_id="short")
    assert short_auth, f"the dependency of the client's application was not brokered: {flow}"
    subject = z.redeem(client, cb["code"], listener.url, pkce.verifier).json()["access_token"]
    user = z.user_by_email(f"{name}@example.test")
    (g,) = z.grants(user_id=user.id, resource_id=up.short.id)
    assert g.refreshed_at is None

    refreshes_before = up.idp.token_calls("refresh_token")
    time.sleep(SHORT_TTL + 1.5)
    ex = z.exchange(up.service, subject, up.short.identifier)
    assert ex.status_code == 200, ex.text
    live = up.idp.userinfo(ex.json()["access_token"])
    assert live.status_code == 200 and live.json()["sub"] == name, live.text
    refreshes = up.idp.token_calls("refresh_token")
    assert len(refreshes) == len(refreshes_before) + 1, refreshes
    assert refreshes[-1]["basic"] and refreshes[-1]["client_id"] == "short", refreshes
    assert refreshes[-1]["status"] == 200
    (g2,) = z.grants(user_id=user.id, resource_id=up.short.id)
    assert g2.refreshed_at is not None and g2.status == "active", g2
