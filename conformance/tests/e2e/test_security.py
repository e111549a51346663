"""Attacks on the user-login flows, over HTTP with a cookie-keeping client (no Chromium), on every
backend: PKCE, code replay, redirect-URI matching and open redirects, CSRF on the forms, refresh-
token reuse, state integrity, tokens carried across zones, the upstream callback, sign-up rules,
prompt handling and sign-out (zone-oauth.md §2.2, §2.4, §2.5, §7.2, §8 items 7, 11, 19, 25, 28).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Callable, Optional

import httpx
import pytest

import lk

from . import kit

REGISTERED = "http://127.0.0.1/callback"


@dataclass
class SignedIn:
    """A user signed up in `zone` in `browser` (cookies), who consented to `client` once."""

    zone: kit.Zone
    browser: kit.HttpBrowser
    client: kit.Client
    email: str
    redirect_uri: str

    def authorize(self, pkce: Optional[kit.Pkce] = None, client: Optional[kit.Client] = None, **kw) -> "kit.Page | str":
        return self.browser.get(
            self.zone.authorize_url(client or self.client, self.redirect_uri, pkce=pkce or kit.Pkce(), **kw)
        )

    def code(self, pkce: kit.Pkce, state: Optional[str] = None, **kw) -> dict:
        """A fresh code (the session and the consent make it a straight redirect)."""
        state = state or secrets.token_urlsafe(16)
        out = self.authorize(pkce, state=state, **kw)
        assert isinstance(out, str), f"expected a redirect to the client, got a page: {out.text[:500]}"
        assert out.startswith(self.redirect_uri + "?"), out
        q = kit.query(out)
        assert q["state"] == state and "code" in q, q
        return q

    def tokens(self, pkce: Optional[kit.Pkce] = None, **kw) -> dict:
        pkce = pkce or kit.Pkce()
        q = self.code(pkce, **kw)
        r = self.zone.redeem(self.client, q["code"], self.redirect_uri, pkce.verifier)
        assert r.status_code == 200, r.text
        return r.json()


@pytest.fixture
def sign_in(password_zone: kit.Zone, listener) -> Callable[..., SignedIn]:
    made: list[kit.HttpBrowser] = []

    def make(zone: kit.Zone = password_zone, client: Optional[kit.Client] = None) -> SignedIn:
        client = client or zone.browser_client([REGISTERED])
        b = kit.HttpBrowser(zone)
        made.append(b)
        email = kit.unique_email("sec")
        url = zone.authorize_url(client, listener.url, state="first", pkce=kit.Pkce(), scope="openid email")
        out = b.signup_and_authorize(url, email)
        assert kit.query(out).get("code"), out
        return SignedIn(zone, b, client, email, listener.url)

    yield make
    for b in made:
        b.close()


def redirect_error(out: "kit.Page | str", redirect_uri: str, error: str, zone: kit.Zone, state: Optional[str]) -> dict:
    assert isinstance(out, str), f"expected a redirect with error={error}, got a page {out.status}: {out.text[:400]}"
    assert out.startswith(redirect_uri + "?"), out
    q = kit.query(out)
    assert q.get("error") == error, q
    assert q.get("iss") == zone.issuer, q
    assert q.get("state") == state, q
    assert "code" not in q
    return q


# --------------------------------------------------------------------------------------------
# PKCE and codes
# --------------------------------------------------------------------------------------------


def test_pkce_verifier_missing_wrong_or_malformed(sign_in):
    s = sign_in()
    z = s.zone
    for verifier in (None, kit.Pkce().verifier, "a" * 42, "a" * 129):
        pkce = kit.Pkce()
        q = s.code(pkce)
        kit.assert_oauth_error(z.redeem(s.client, q["code"], s.redirect_uri, verifier), 400, "invalid_grant")
        # The failed attempt spent the code: the right verifier no longer helps.
        kit.assert_oauth_error(z.redeem(s.client, q["code"], s.redirect_uri, pkce.verifier), 400, "invalid_grant")
    pkce = kit.Pkce()
    q = s.code(pkce)
    assert z.redeem(s.client, q["code"], s.redirect_uri, pkce.verifier).status_code == 200


def test_pkce_is_required_at_the_authorization_endpoint(sign_in, make_zone, listener):
    s = sign_in()
    z = s.zone
    base = dict(response_type="code", client_id=s.client.client_id, redirect_uri=s.redirect_uri, state="st")
    cases = {
        "no challenge (public client)": {},
        "plain method": {"code_challenge": kit.Pkce().challenge, "code_challenge_method": "plain"},
        "no method": {"code_challenge": kit.Pkce().challenge},
        "short challenge": {"code_challenge": "x" * 42, "code_challenge_method": "S256"},
        "bad characters": {"code_challenge": "+" * 43, "code_challenge_method": "S256"},
    }
    for what, extra in cases.items():
        out = s.browser.get(z.authorize_endpoint + "?" + httpx.QueryParams({**base, **extra}).__str__())
        try:
            redirect_error(out, s.redirect_uri, "invalid_request", z, "st")
        except AssertionError as e:
            raise AssertionError(f"{what}: {e}") from None

    # A confidential client may go without PKCE, unless the zone requires it (§8 item 28).
    for required in (False, True):
        zone = make_zone(requires_invitation=False, protocols={"oauth2": {"pkce_required": required}})
        c = zone.browser_client([REGISTERED], confidential=True)
        b = kit.HttpBrowser(zone)
        try:
            out = b.get(zone.authorize_url(c, listener.url, state="conf"))
            if required:
                redirect_error(out, listener.url, "invalid_request", zone, "conf")
            else:
                assert isinstance(out, kit.Page) and out.kind == "signin", out
        finally:
            b.close()


def test_code_replay_is_refused_and_revokes_what_it_issued(sign_in):
    s = sign_in()
    z = s.zone
    pkce = kit.Pkce()
    q = s.code(pkce)
    first = z.redeem(s.client, q["code"], s.redirect_uri, pkce.verifier)
    assert first.status_code == 200, first.text
    kit.assert_oauth_error(z.redeem(s.client, q["code"], s.redirect_uri, pkce.verifier), 400, "invalid_grant")
    kit.assert_oauth_error(z.refresh_grant(s.client, first.json()["refresh_token"]), 400, "invalid_grant")


def test_code_is_bound_to_client_redirect_uri_and_zone(sign_in, make_zone):
    s = sign_in()
    z = s.zone
    other = z.browser_client([REGISTERED])
    pkce = kit.Pkce()
    q = s.code(pkce)
    kit.assert_oauth_error(z.redeem(other, q["code"], s.redirect_uri, pkce.verifier), 400, "invalid_grant")

    pkce = kit.Pkce()
    q = s.code(pkce)
    moved = s.redirect_uri.replace("/callback", "/other")
    kit.assert_oauth_error(z.redeem(s.client, q["code"], moved, pkce.verifier), 400, "invalid_grant")
    pkce = kit.Pkce()
    q = s.code(pkce)
    kit.assert_oauth_error(z.redeem(s.client, q["code"], REGISTERED, pkce.verifier), 400, "invalid_grant")

    # The code at another zone, with the same client id: that zone does not know the client.
    b = make_zone(requires_invitation=False)
    pkce = kit.Pkce()
    q = s.code(pkce)
    r = b.redeem(s.client, q["code"], s.redirect_uri, pkce.verifier)
    kit.assert_oauth_error(r, 401, "invalid_client")
    # ... and the code is still good at its own zone (it was never valid at the other one).
    assert z.redeem(s.client, q["code"], s.redirect_uri, pkce.verifier).status_code == 200


# --------------------------------------------------------------------------------------------
# Redirect URIs and open redirects
# --------------------------------------------------------------------------------------------

BAD_REDIRECTS = [
    "https://evil.example/callback",
    "http://127.0.0.1.evil.example/callback",
    "http://localhost.evil.example/callback",
    "http://evil.example@127.0.0.1/callback",
    "http://127.0.0.1/callback/",
    "http://127.0.0.1/callback?next=https://evil.example",
    "http://127.0.0.1/callback#frag",
    "http://127.0.0.1/Callback",
    "http://127.0.0.1/callback/../evil",
    "https://127.0.0.1/callback",
    "//evil.example/callback",
    "javascript:alert(document.domain)",
    "http://127.0.0.1/callback\"><script>alert(1)</script>",
]


@pytest.mark.parametrize("redirect_uri", BAD_REDIRECTS)
def test_unregistered_redirect_uri_gets_an_error_page_not_a_redirect(password_zone: kit.Zone, redirect_uri: str):
    z = password_zone
    client = _shared_client(z)
    url = z.authorize_url(client, redirect_uri, state="s", pkce=kit.Pkce())
    r = z.http.get(url, follow_redirects=False)
    assert r.status_code == 400, f"{redirect_uri}: {r.status_code} {r.headers.get('location')}"
    assert "location" not in r.headers, r.headers
    assert r.headers["content-type"].startswith("text/html")
    assert "<script>" not in r.text and "evil.example" not in r.text, "the page reflects the redirect URI"
    assert "not registered" in r.text


_CLIENTS: dict[str, kit.Client] = {}


def _shared_client(z: kit.Zone) -> kit.Client:
    if z.id not in _CLIENTS:
        _CLIENTS[z.id] = z.browser_client([REGISTERED, "https://app.example/cb"])
    return _CLIENTS[z.id]


def test_redirect_uri_matching_rules(password_zone: kit.Zone):
    """Exact match, except any port on a registered loopback http redirect (RFC 8252 §7.3, §8 item
    25); an https redirect must match its port too; no redirect_uri with several registered is an
    error; an unknown or missing client gets the error page."""
    z = password_zone
    client = _shared_client(z)

    def status(redirect_uri: Optional[str], client_id: Optional[str] = client.client_id) -> tuple[int, str]:
        params = {"response_type": "code", "state": "s", "code_challenge": kit.Pkce().challenge,
                  "code_challenge_method": "S256"}
        if client_id is not None:
            params["client_id"] = client_id
        if redirect_uri is not None:
            params["redirect_uri"] = redirect_uri
        r = z.http.get(z.authorize_endpoint, params=params, follow_redirects=False)
        return r.status_code, r.headers.get("location", "")

    for ok in ("http://127.0.0.1/callback", "http://127.0.0.1:5555/callback", "http://127.0.0.1:80/callback",
               "https://app.example/cb"):
        code, location = status(ok)
        assert code == 303 and "/login?request=" in location, (ok, code, location)
    for bad in ("https://app.example:8443/cb", "http://app.example/cb", "http://localhost:5555/callback",
                "http://[::1]:5555/callback"):
        assert status(bad)[0] == 400, bad
    assert status(None)[0] == 400, "two registered redirect URIs and none requested"
    assert status(REGISTERED, client_id="nope")[0] == 400
    assert status(REGISTERED, client_id=None)[0] == 400


def test_errors_after_validation_go_back_to_the_client(sign_in):
    s = sign_in()
    z = s.zone
    out = s.authorize(state="st", response_type="token")
    # (authorize_url already put response_type=code; a second value must not turn it into a token flow)
    assert isinstance(out, str) and "access_token" not in out, out
    url = z.authorize_url(s.client, s.redirect_uri, state="st", pkce=kit.Pkce()).replace(
        "response_type=code", "response_type=token"
    )
    redirect_error(s.browser.get(url), s.redirect_uri, "unsupported_response_type", z, "st")
    redirect_error(s.authorize(state="st", scope="openid admin:all"), s.redirect_uri, "invalid_scope", z, "st")
    redirect_error(
        s.authorize(state="st", resources=["https://unknown.example/"]), s.redirect_uri, "invalid_target", z, "st"
    )


# --------------------------------------------------------------------------------------------
# CSRF, cookies, page headers
# --------------------------------------------------------------------------------------------


def test_login_form_csrf(password_zone: kit.Zone, listener):
    z = password_zone
    client = z.browser_client([REGISTERED])
    b = kit.HttpBrowser(z)
    email = kit.unique_email("csrf")
    try:
        page = b.get(z.authorize_url(client, listener.url, state="c", pkce=kit.Pkce()))
        assert isinstance(page, kit.Page) and page.kind == "signin", page
        cookie = page.response.headers.get("set-cookie", "")
        assert cookie.startswith(f"lk_csrf_{z.id}="), cookie
        assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and f"Path=/z/{z.id}" in cookie, cookie
        assert page.response.headers.get("x-frame-options") == "DENY"
        assert "frame-ancestors 'none'" in page.response.headers.get("content-security-policy", "")
        assert "no-store" in page.response.headers.get("cache-control", "")

        def attempt(fields: dict, cookies: bool = True) -> "kit.Page | str":
            return b.post(z.url("/login"), {**fields, "email": email, "password": kit.PASSWORD, "intent": "signup"},
                          cookies=cookies)

        good = page.fields
        other = b.get(z.authorize_url(client, listener.url, state="c2", pkce=kit.Pkce()))
        forged = [
            ("no CSRF cookie", good, False),
            ("altered token", {**good, "csrf": good["csrf"][:-2] + "xx"}, True),
            ("no token", {k: v for k, v in good.items() if k != "csrf"}, True),
            ("another request's token", {**good, "csrf": other.fields["csrf"]}, True),
        ]
        for what, fields, with_cookies in forged:
            out = attempt(fields, with_cookies)
            assert isinstance(out, kit.Page) and out.status == 403, f"{what}: {out if isinstance(out, str) else out.status}"
        assert email not in [u.email for u in z.users()], "a forged form created the account"

        # (the token of the other request is now the cookie: go back to the first request's page)
        page = b.get(z.url(f"/login?request={good['request']}"))
        out = attempt(page.fields)
        assert isinstance(out, kit.Page) and out.kind == "consent", out
        session_cookie = out.response.headers.get_list("set-cookie")
        assert any(c.startswith(f"lk_session_{z.id}=") and "HttpOnly" in c for c in session_cookie), session_cookie

        denied = b.post(z.url("/login/consent"), {**out.fields, "decision": "allow"}, cookies=False)
        assert isinstance(denied, kit.Page) and denied.status == 403, "consent without the CSRF cookie"
        done = b.consent(out, "allow")
        assert isinstance(done, str) and kit.query(done)["state"] == "c", done
    finally:
        b.close()


# --------------------------------------------------------------------------------------------
# Refresh tokens, state, sessions
# --------------------------------------------------------------------------------------------


def test_refresh_token_reuse_revokes_the_family(sign_in):
    s = sign_in()
    z = s.zone
    t = s.tokens()
    r1 = z.refresh_grant(s.client, t["refresh_token"])
    assert r1.status_code == 200, r1.text
    second = r1.json()["refresh_token"]
    assert second != t["refresh_token"]
    kit.assert_oauth_error(z.refresh_grant(s.client, t["refresh_token"]), 400, "invalid_grant")
    kit.assert_oauth_error(z.refresh_grant(s.client, second), 400, "invalid_grant")

    t2 = s.tokens()
    other = z.browser_client([REGISTERED])
    kit.assert_oauth_error(z.refresh_grant(other, t2["refresh_token"]), 400, "invalid_grant")
    kit.assert_oauth_error(z.refresh_grant(s.client, "lk_rt_" + secrets.token_urlsafe(32)), 400, "invalid_grant")


@pytest.mark.parametrize("state", ["x y+z&a=b/%2F~é💡", "'\"<>;", "a" * 500])
def test_state_is_echoed_exactly(sign_in, state: str):
    """The client compares `state` to detect a tampered or forged response: the zone must return
    it byte for byte, on success and on error (§2.2, §7.2)."""
    s = sign_in()
    z = s.zone
    q = s.code(kit.Pkce(), state=state)
    assert q["state"] == state and q["iss"] == z.issuer
    redirect_error(s.authorize(state=state, scope="nope"), s.redirect_uri, "invalid_scope", z, state)
    out = s.authorize()  # no state: none comes back
    assert isinstance(out, str) and "state" not in kit.query(out), out


def test_prompt_none_login_and_sign_out(sign_in, password_zone: kit.Zone, listener):
    s = sign_in()
    z = s.zone
    assert "code" in kit.query(s.authorize(state="pn", prompt="none"))
    page = s.authorize(state="pl", prompt="login")
    assert isinstance(page, kit.Page) and page.kind == "signin", page

    t = s.tokens()
    # A GET only asks; the confirmation form's POST (with its CSRF token) signs out.
    confirm = s.browser.get(z.url("/logout"))
    assert isinstance(confirm, kit.Page) and confirm.status == 200 and 'method="post"' in confirm.text
    assert "code" in kit.query(s.authorize(state="still", prompt="none")), "GET /logout signs no one out"
    out = s.browser.post(z.url("/logout"), confirm.fields)
    assert isinstance(out, kit.Page) and out.status == 200 and "signed out" in out.text, out
    kit.assert_oauth_error(z.refresh_grant(s.client, t["refresh_token"]), 400, "invalid_grant")
    redirect_error(s.authorize(state="pn2", prompt="none"), s.redirect_uri, "login_required", z, "pn2")
    page = s.authorize(state="again")
    assert isinstance(page, kit.Page) and page.kind == "signin", "signed out: the sign-in page again"

    fresh = kit.HttpBrowser(z)
    try:
        url = z.authorize_url(s.client, listener.url, state="anon", pkce=kit.Pkce(), prompt="none")
        redirect_error(fresh.get(url), listener.url, "login_required", z, "anon")
    finally:
        fresh.close()


def test_prompt_none_never_shows_a_page(sign_in):
    """A signed-in user, a client they never consented to: with prompt=none the zone must not
    show the consent page but send the client `consent_required` (or `interaction_required`)."""
    s = sign_in()
    z = s.zone
    newcomer = z.browser_client([REGISTERED])
    out = s.authorize(client=newcomer, state="pn", prompt="none", scope="openid")
    assert isinstance(out, str), f"prompt=none showed a page ({out.kind})"
    q = redirect_error(out, s.redirect_uri, kit.query(out).get("error", ""), z, "pn")
    assert q["error"] in ("consent_required", "interaction_required"), q


def test_confidential_client_must_authenticate_at_the_token_endpoint(password_zone: kit.Zone, listener):
    z = password_zone
    conf = z.browser_client([REGISTERED], confidential=True, consent="implicit")
    b = kit.HttpBrowser(z)
    try:
        pkce = kit.Pkce()
        out = b.signup_and_authorize(
            z.authorize_url(conf, listener.url, state="cc", pkce=pkce), kit.unique_email("conf")
        )
        code = kit.query(out)["code"]
        as_public = kit.Client(conf.client_id)  # client_id only, no secret
        kit.assert_oauth_error(z.redeem(as_public, code, listener.url, pkce.verifier), 401, "invalid_client")
        wrong = kit.Client(conf.client_id, secret="not-the-secret")
        kit.assert_oauth_error(z.redeem(wrong, code, listener.url, pkce.verifier), 401, "invalid_client")
        # Neither attempt authenticated, so neither spent the code.
        ok = z.redeem(conf, code, listener.url, pkce.verifier)
        assert ok.status_code == 200, ok.text
        # A code redeemed without the redirect_uri of its authorization request is refused.
        pkce = kit.Pkce()
        out = b.get(z.authorize_url(conf, listener.url, state="cc2", pkce=pkce))
        r = z.http.post(
            z.token_endpoint,
            data={"grant_type": "authorization_code", "code": kit.query(out)["code"], "code_verifier": pkce.verifier},
            headers=kit.basic(conf.client_id, conf.secret),
        )
        kit.assert_oauth_error(r, 400, "invalid_grant")
    finally:
        b.close()


def test_consent_denied(password_zone: kit.Zone, listener):
    z = password_zone
    client = z.browser_client([REGISTERED])
    b = kit.HttpBrowser(z)
    try:
        page = b.get(z.authorize_url(client, listener.url, state="deny", pkce=kit.Pkce(), scope="openid"))
        out = b.submit_login(page, kit.unique_email("deny"), kit.PASSWORD, "signup")
        redirect_error(b.consent(out, "deny"), listener.url, "access_denied", z, "deny")
        # The request is gone: its consent page cannot be submitted again.
        again = b.post(z.url("/login/consent"), {**out.fields, "decision": "allow"})
        assert isinstance(again, kit.Page) and again.status == 400, again
    finally:
        b.close()


def test_sign_in_and_sign_up_errors(sign_in, password_zone: kit.Zone, listener):
    s = sign_in()
    z = s.zone
    b = kit.HttpBrowser(z)
    try:
        page = b.get(z.authorize_url(s.client, listener.url, state="e", pkce=kit.Pkce()))
        wrong = b.submit_login(page, s.email, "wrong password!", "signin")
        unknown = b.submit_login(page, kit.unique_email("nobody"), kit.PASSWORD, "signin")
        assert wrong.alert == unknown.alert == "Incorrect email or password.", (wrong.alert, unknown.alert)
        dup = b.submit_login(page, s.email.upper(), kit.PASSWORD, "signup")
        assert "already exists" in (dup.alert or ""), dup.alert
        bad = b.submit_login(page, "not-an-email", kit.PASSWORD, "signup")
        assert "valid email" in (bad.alert or ""), bad.alert
        ok = b.submit_login(page, s.email.upper(), kit.PASSWORD, "signin")
        # (emails are case-insensitive; the user consented to this client before: straight back)
        assert isinstance(ok, str) and "code" in kit.query(ok), ok
    finally:
        b.close()


def test_sign_up_needs_an_invitation_when_the_zone_requires_one(make_zone, admin, listener):
    """requires_invitation=true: email sign-up is refused (no account made) unless the sign-in
    request carries a pending invitation (`invitation=<token>`) for that address, which the sign-up
    then uses up."""
    z = make_zone(requires_invitation=True)
    client = z.browser_client([REGISTERED])
    b = kit.HttpBrowser(z)
    try:
        page = b.get(z.authorize_url(client, listener.url, state="inv", pkce=kit.Pkce()))
        assert isinstance(page, kit.Page) and page.kind == "signin", page
        email = kit.unique_email("uninvited")
        out = b.submit_login(page, email, kit.PASSWORD, "signup")
        assert isinstance(out, kit.Page) and "invitation" in (out.alert or ""), out
        assert email not in [u.email for u in z.users()]

        invited = kit.unique_email("invited")
        inv = admin.organizations.invitations.create(z.zone.organization_id, email=invited, role="org_member")
        assert inv.status == "pending", inv
        # The invited address alone does not admit: the invitation link (its token) must come along.
        out = b.submit_login(out, invited, kit.PASSWORD, "signup")
        assert isinstance(out, kit.Page) and "invitation" in (out.alert or ""), out
        assert invited not in [u.email for u in z.users()]
        token = inv.to_dict().get("token") if hasattr(inv, "to_dict") else getattr(inv, "token", None)
        assert token, "the create response carries the invitation token once"
        page = b.get(z.authorize_url(client, listener.url, state="inv2", pkce=kit.Pkce(), invitation=token))
        out = b.submit_login(page, invited, kit.PASSWORD, "signup")
        assert isinstance(out, kit.Page) and out.kind == "consent", out.alert if isinstance(out, kit.Page) else out
        assert invited in [u.email for u in z.users()]
        statuses = {i.id: i.status for i in admin.organizations.invitations.list(z.zone.organization_id).items}
        assert statuses.get(inv.id) == "accepted", statuses
    finally:
        b.close()


def test_sign_in_page_with_an_identity_provider(make_zone, listener):
    """With a user identity provider the page offers only the upstream button and refuses an
    email sign-up posted anyway; login_flow=identifier_first adds the email form back."""
    z = make_zone(requires_invitation=False)
    idp = z.admin.zones.providers.create(
        z.id, identifier="https://idp.example.test", name="Example IdP", client_id="zone-client",
        protocols={"oauth2": {"issuer": "https://idp.example.test"}},
    )
    z.admin.zones.update(z.id, user_identity_provider_id=idp.id)
    client = z.browser_client([REGISTERED])
    b = kit.HttpBrowser(z)
    try:
        page = b.get(z.authorize_url(client, listener.url, state="u", pkce=kit.Pkce()))
        assert isinstance(page, kit.Page) and page.kind == "upstream-only", page.text[:600]
        assert f'href="{z.url("/login/upstream")}?request=' in page.text and "Example IdP" in page.text
        # (the page has no form, so no CSRF token: take them from the identifier-first page below)
        z.admin.zones.update(z.id, extra_body={"login_flow": "identifier_first"})
        page = b.get(z.authorize_url(client, listener.url, state="u2", pkce=kit.Pkce()))
        assert isinstance(page, kit.Page) and page.kind == "signin" and 'id="upstream"' in page.text, page.text[:600]
        assert 'value="signup"' not in page.text
        email = kit.unique_email("side-door")
        out = b.submit_login(page, email, kit.PASSWORD, "signup")
        assert isinstance(out, kit.Page) and "identity provider" in (out.alert or ""), out
        assert email not in [u.email for u in z.users()]
    finally:
        b.close()


# --------------------------------------------------------------------------------------------
# Across zones, userinfo, the upstream callback
# --------------------------------------------------------------------------------------------


def test_tokens_from_one_zone_are_refused_by_another(sign_in, make_zone):
    a = sign_in()
    t = a.tokens(scope="openid email")
    assert a.zone.userinfo(t["access_token"]).status_code == 200

    b = make_zone(requires_invitation=False)
    r = b.userinfo(t["access_token"])
    assert r.status_code == 401 and 'error="invalid_token"' in r.headers.get("www-authenticate", ""), r.text

    # Token exchange at zone B by a B service whose own resource has the same identifier as the
    # token's audience: the subject token is not B's.
    aud = kit.jwt_claims(t["access_token"])["aud"]
    svc = b.service(depends_on=[b.resource()])
    b.resource(identifier=aud if isinstance(aud, str) else aud[0], application_id=svc.app.id)
    target = b.resource()
    b.admin.zones.applications.dependencies.add(target.id, zone_id=b.id, id=svc.app.id)
    kit.assert_oauth_error(b.exchange(svc, t["access_token"], target.identifier), 400, "invalid_grant")

    # A's refresh token at B, presented by a client of B.
    cb = b.browser_client([REGISTERED])
    kit.assert_oauth_error(b.refresh_grant(cb, t["refresh_token"]), 400, "invalid_grant")
    # (and it still works at A: B's refusal did not spend it)
    assert a.zone.refresh_grant(a.client, t["refresh_token"]).status_code == 200


def test_userinfo_bearer_errors(sign_in):
    s = sign_in()
    z = s.zone
    t = s.tokens()
    token = t["access_token"]
    h, p, sig = token.split(".")
    flipped = h + "." + p + "." + ("A" if sig[0] != "A" else "B") + sig[1:]
    for what, headers in {
        "no token": {},
        "garbage": {"Authorization": "Bearer not-a-token"},
        "bad signature": {"Authorization": f"Bearer {flipped}"},
        "the id_token": {"Authorization": f"Bearer {t.get('id_token') or 'x.y.z'}"},
    }.items():
        r = z.http.get(z.userinfo_endpoint, headers=headers)
        assert r.status_code == 401, f"{what}: {r.status_code} {r.text}"
        assert 'error="invalid_token"' in r.headers.get("www-authenticate", ""), f"{what}: {r.headers}"
    ok = z.userinfo(token)
    assert ok.status_code == 200 and ok.headers["content-type"].startswith("application/json")
    assert ok.json()["email"] == s.email


@pytest.mark.parametrize(
    "query",
    [
        {},
        {"code": "x"},
        {"state": "forged", "code": "x"},
        {"state": "forged", "error": "access_denied"},
    ],
)
def test_upstream_callback_refuses_unknown_state(password_zone: kit.Zone, query: dict):
    """The zone is the client at {issuer}/oauth/2/redirect: a missing or forged state must stop
    there, on the error page."""
    z = password_zone
    r = z.http.get(z.upstream_redirect, params=query, follow_redirects=False)
    assert r.status_code == 400 and "location" not in r.headers, (r.status_code, r.headers)
    assert "<title>Sign-in error</title>" in r.text


def test_expired_or_unknown_sign_in_request(password_zone: kit.Zone):
    z = password_zone
    for path in ("/login", f"/login?request={lk.unique_token('req')}", f"/login/upstream?request=nope"):
        r = z.http.get(z.url(path), follow_redirects=False)
        assert r.status_code == 400 and "<title>Sign-in error</title>" in r.text, (path, r.status_code)
