"""OpenID Connect Core §3.1.2.1 request parameters at the authorization endpoint that decide whether
an existing web session may answer without a new sign-in, and the attacks they stop.

* `max_age` — a session signed in longer ago than `max_age` seconds must sign in again
  (`prompt=none`: `login_required`); the new ID token's `auth_time` says when. A client relying on
  `max_age=0` for a fresh sign-in before a sensitive action must never get a code from an old
  session.
* `id_token_hint` — only the session of the user the hint names answers silently; a hint this
  zone did not sign is `invalid_request`.
* `login_hint` — the sign-in form starts with that email, HTML-escaped.
"""

from __future__ import annotations

import time

import pytest

import lk

from e2e import kit

from . import attack_kit as ak


def _silent(b: ak.Browser, z: kit.Zone, client: kit.Client, listener, **kw: str) -> dict:
    out = ak.code_silently(b, z, client, listener.url, prompt="none", scope="openid", **kw)
    assert isinstance(out, str), ak.describe(out)
    return kit.query(out)


def test_max_age_older_than_the_session_makes_the_user_sign_in_again(password_zone, browsers, listener):
    z = password_zone
    client = z.browser_client([ak.REGISTERED], consent="implicit")
    b = browsers()
    email = ak.unique_email("maxage")
    first = ak.tokens_in(b, z, client, listener.url, email, scope="openid")
    signed_in_at = kit.jwt_claims(first.raw["id_token"])["auth_time"]

    assert "code" in _silent(b, z, client, listener, max_age="3600"), "a fresh session did not answer max_age=3600"
    time.sleep(2.1)
    for max_age in ("1", "0"):
        q = _silent(b, z, client, listener, max_age=max_age)
        assert q.get("error") == "login_required", f"max_age={max_age} answered from an old session: {q}"
        page = ak.code_silently(b, z, client, listener.url, scope="openid", max_age=max_age)
        assert isinstance(page, kit.Page) and page.kind == "signin", f"max_age={max_age}: {ak.describe(page)}"

    # Signing in again answers, and the ID token says when.
    pkce = kit.Pkce()
    out = b.signup_and_authorize(
        z.authorize_url(client, listener.url, pkce=pkce, state="again", scope="openid", max_age="1"), email
    )
    r = z.redeem(client, kit.query(out)["code"], listener.url, pkce.verifier, http=b.http)
    assert r.status_code == 200, r.text
    again = kit.jwt_claims(r.json()["id_token"])["auth_time"]
    assert again >= signed_in_at + 2, (signed_in_at, again)
    assert "code" in _silent(b, z, client, listener, max_age="60")


@pytest.mark.parametrize("bad", ["-1", "abc", "1.5", " 1", "99999999999"])
def test_a_bad_max_age_is_an_invalid_request(password_zone: kit.Zone, browsers, listener, bad: str):
    z = password_zone
    client = z.browser_client([ak.REGISTERED], consent="implicit")
    out = browsers().get(z.authorize_url(client, listener.url, pkce=kit.Pkce(), state="m", max_age=bad))
    assert isinstance(out, str), ak.describe(out)
    q = kit.query(out)
    assert q.get("error") == "invalid_request" and "max_age" in q.get("error_description", ""), q
    assert q.get("state") == "m", q


def test_an_empty_max_age_counts_as_omitted(password_zone: kit.Zone, browsers, listener):
    """RFC 6749 §3.1: a parameter sent without a value is treated as if omitted."""
    z = password_zone
    client = z.browser_client([ak.REGISTERED], consent="implicit")
    b = browsers()
    ak.tokens_in(b, z, client, listener.url, ak.unique_email("empty"), scope="openid")
    assert "code" in _silent(b, z, client, listener, max_age=""), "an empty max_age was not treated as omitted"


def test_attack_an_id_token_hint_of_another_user_gets_no_silent_code(password_zone, browsers, listener):
    z = password_zone
    client = z.browser_client([ak.REGISTERED], consent="implicit")
    alice, bob = browsers(), browsers()
    alices = ak.tokens_in(alice, z, client, listener.url, ak.unique_email("alice"), scope="openid").raw["id_token"]
    bobs = ak.tokens_in(bob, z, client, listener.url, ak.unique_email("bob"), scope="openid").raw["id_token"]

    assert "code" in _silent(alice, z, client, listener, id_token_hint=alices)
    q = _silent(alice, z, client, listener, id_token_hint=bobs)
    assert q.get("error") == "login_required", f"Alice's session answered for Bob: {q}"
    page = ak.code_silently(alice, z, client, listener.url, scope="openid", id_token_hint=bobs)
    assert isinstance(page, kit.Page) and page.kind == "signin", ak.describe(page)

    header, payload, sig = alices.split(".")
    for forged in (f"{header}.{payload}.{sig[:-4]}AAAA", "not-a-token", ak.tokens_in(
            browsers(), z, client, listener.url, ak.unique_email("carol")).access_token):
        q = _silent(alice, z, client, listener, id_token_hint=forged)
        assert q.get("error") == "invalid_request" and "id_token_hint" in q.get("error_description", ""), q


def test_login_hint_fills_the_email_field_escaped(password_zone: kit.Zone, browsers, listener):
    z = password_zone
    client = z.browser_client([ak.REGISTERED], consent="implicit")
    b = browsers()
    page = b.get(z.authorize_url(client, listener.url, pkce=kit.Pkce(), login_hint="ann@example.test"))
    assert isinstance(page, kit.Page) and page.kind == "signin", ak.describe(page)
    assert 'value="ann@example.test"' in page.text, page.text[-1200:]

    evil = '"><script>alert(1)</script>@example.test'
    page = b.get(z.authorize_url(client, listener.url, pkce=kit.Pkce(), login_hint=evil))
    assert isinstance(page, kit.Page) and page.kind == "signin", ak.describe(page)
    assert "<script>" not in page.text and "&lt;script&gt;" in page.text, page.text[-1200:]


def test_a_demand_for_a_fresh_sign_in_reaches_the_upstream_provider(sso_zone, listener):
    """Through an upstream provider, `max_age` and `prompt=login` would mean nothing if the
    provider's own session answered: they go along (with `login_hint`), and the provider asks for
    the login again."""
    z, idp, _ = sso_zone
    client = z.browser_client([ak.REGISTERED], consent="implicit")
    b = ak.Browser(z)
    try:
        ak.sso_tokens(b, z, client, listener, lk.unique_token("fresh"))
        time.sleep(1.1)
        assert ak.idp_first_prompt(b, z, client, listener, max_age="0", login_hint="x@example.test") == "login"
        sent = idp.requests("/auth")[-1]["query"]
        assert (sent.get("prompt"), sent.get("max_age"), sent.get("login_hint")) == ("login", "0", "x@example.test"), sent

        b.http.cookies.clear()  # signed out of the zone only: without the asks the provider would answer
        assert ak.idp_first_prompt(b, z, client, listener) != "login"
        assert "prompt" not in idp.requests("/auth")[-1]["query"]
        assert ak.idp_first_prompt(b, z, client, listener, prompt="login") == "login"
    finally:
        b.close()


@pytest.mark.parametrize("prompt", ["none login", "consent none", "bogus", "login x"])
def test_an_unknown_or_contradictory_prompt_is_an_invalid_request(password_zone, browsers, listener, prompt: str):
    z = password_zone
    client = z.browser_client([ak.REGISTERED], consent="implicit")
    out = browsers().get(z.authorize_url(client, listener.url, pkce=kit.Pkce(), state="p", prompt=prompt))
    assert isinstance(out, str), ak.describe(out)
    q = kit.query(out)
    assert q.get("error") == "invalid_request" and "prompt" in q.get("error_description", ""), q


def test_select_account_shows_the_sign_in_page_and_discovery_lists_the_prompts(password_zone, browsers, listener):
    z = password_zone
    client = z.browser_client([ak.REGISTERED], consent="implicit")
    b = browsers()
    ak.tokens_in(b, z, client, listener.url, ak.unique_email("select"), scope="openid")
    page = ak.code_silently(b, z, client, listener.url, prompt="select_account")
    assert isinstance(page, kit.Page) and page.kind == "signin", ak.describe(page)
    meta = z.http.get(z.url("/.well-known/openid-configuration")).json()
    assert meta["prompt_values_supported"] == ["none", "login", "consent", "select_account"], meta
