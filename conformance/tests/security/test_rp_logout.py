"""The end-session endpoint (OpenID Connect RP-Initiated Logout 1.0) and the attacks on it.

A relying party sends the browser to `end_session_endpoint` with `id_token_hint`, `client_id`,
`post_logout_redirect_uri` and `state`. What must hold:

* an ID token of the browser's own web session signs it out at once, ends the refresh tokens
  issued under it, and the browser goes back to the registered URI with `state`;
* the browser is sent only to a `post_logout_redirect_uri` registered for the client that asks,
  compared exactly (no open redirect), and the client must say who it is;
* a hint that this zone did not sign as an ID token (tampered, `alg: none`, another zone's, an
  access token) is refused and changes nothing;
* a hint of someone else's session, or none, only asks: a link cannot sign anyone out; the
  confirmation form, with its CSRF token, does;
* a relying party's POST becomes the same GET (so the `SameSite=Lax` cookie comes along);
* dynamic client registration takes `post_logout_redirect_uris` under the redirect rules;
* with `single_logout_enabled` on the provider a session signed in through, the browser signs out
  there too (its `end_session_endpoint`) and comes back through `{issuer}/logout/return` to where
  the relying party wanted it, and only there: a forged return or a planted cookie goes nowhere.
"""

from __future__ import annotations

import base64
import html
import json
import re
from urllib.parse import urlencode, urljoin

import httpx
import pytest

import lk
from e2e import kit

from . import attack_kit as ak

BYE = "https://rp.example/signed-out"
OTHER_BYE = "https://other-rp.example/signed-out"


def _client(z: kit.Zone, uris: list[str] = (BYE,)) -> kit.Client:
    return z.browser_client([ak.REGISTERED], consent="implicit", post_logout_redirect_uris=list(uris))


def _signed_in(b: ak.Browser, z: kit.Zone, client: kit.Client, listener) -> ak.Tokens:
    t = ak.tokens_in(b, z, client, listener.url, ak.unique_email("bye"), scope="openid offline_access")
    assert "id_token" in t.raw and t.refresh_token, t.raw
    return t


def _logout_url(z: kit.Zone, **params: str) -> str:
    return f"{z.url('/logout')}?{urlencode(params)}"


def _still_signed_in(b: ak.Browser, z: kit.Zone, client: kit.Client, listener) -> bool:
    out = ak.code_silently(b, z, client, listener.url, prompt="none")
    assert isinstance(out, str), ak.describe(out)
    q = kit.query(out)
    assert "code" in q or q.get("error") == "login_required", q
    return "code" in q


def _refused_page(r: httpx.Response, words: str) -> None:
    assert r.status_code == 400, f"expected a 400 page, got {r.status_code} {r.headers.get('location')}"
    assert "location" not in r.headers
    assert words in r.text, r.text[-600:]


def _b64(obj: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()


def test_discovery_names_the_end_session_endpoint(password_zone: kit.Zone):
    z = password_zone
    for doc in ("/.well-known/openid-configuration", "/.well-known/oauth-authorization-server"):
        meta = z.http.get(z.url(doc)).json()
        assert meta["end_session_endpoint"] == z.url("/logout"), (doc, meta.get("end_session_endpoint"))


def test_a_hint_of_this_browsers_session_signs_out_and_returns_with_state(password_zone, browsers, listener):
    z = password_zone
    client = _client(z)
    b = browsers()
    t = _signed_in(b, z, client, listener)

    r = b.http.get(_logout_url(z, id_token_hint=t.raw["id_token"], post_logout_redirect_uri=BYE, state="s 1&x"))
    assert r.status_code == 303, f"{r.status_code} {r.text[:300]}"
    assert r.headers["location"].startswith(BYE + "?"), r.headers["location"]
    assert kit.query(r.headers["location"]) == {"state": "s 1&x"}
    assert not _still_signed_in(b, z, client, listener), "the hinted session is still signed in"
    kit.assert_oauth_error(z.refresh_grant(client, t.refresh_token), 400, "invalid_grant")

    # Nothing left to sign out: the same request goes straight back.
    again = b.http.get(_logout_url(z, id_token_hint=t.raw["id_token"], post_logout_redirect_uri=BYE))
    assert again.status_code == 303 and again.headers["location"] == BYE, again.headers.get("location")


def test_attack_the_redirect_goes_only_to_a_uri_registered_for_the_asking_client(password_zone, browsers, listener):
    z = password_zone
    client = _client(z)
    other = _client(z, [OTHER_BYE])
    b = browsers()
    t = _signed_in(b, z, client, listener)
    hint = t.raw["id_token"]

    for uri in (
        "https://evil.example/signed-out",
        BYE + "/",
        BYE + "?x=1",
        BYE.upper(),
        BYE.replace("https", "http"),
        "https://rp.example.evil.example/signed-out",
        "https://rp.example/signed-out/../signed-out",
        "javascript:alert(1)",
        OTHER_BYE,  # registered, but for another client
    ):
        _refused_page(b.http.get(_logout_url(z, id_token_hint=hint, post_logout_redirect_uri=uri)), "not registered")
        _refused_page(b.http.get(_logout_url(z, client_id=client.client_id, post_logout_redirect_uri=uri)),
                      "not registered")

    # The client must say who it is; and the hint and client_id must name the same client.
    _refused_page(b.http.get(_logout_url(z, post_logout_redirect_uri=BYE)), "needs the client_id")
    _refused_page(
        b.http.get(_logout_url(z, id_token_hint=hint, client_id=other.client_id, post_logout_redirect_uri=OTHER_BYE)),
        "not the client the id_token_hint was issued to",
    )
    _refused_page(b.http.get(_logout_url(z, client_id="nobody", post_logout_redirect_uri=BYE)), "not registered")
    assert _still_signed_in(b, z, client, listener), "a refused logout request ended the session"


def test_attack_a_hint_this_zone_did_not_sign_as_an_id_token_is_refused(password_zone, make_zone, browsers, listener):
    z = password_zone
    client = _client(z)
    b = browsers()
    t = _signed_in(b, z, client, listener)
    header, payload, sig = t.raw["id_token"].split(".")
    claims = kit.jwt_claims(t.raw["id_token"])

    other_zone = make_zone(requires_invitation=False)
    other_client = _client(other_zone)
    ob = ak.Browser(other_zone)
    try:
        foreign = _signed_in(ob, other_zone, other_client, listener).raw["id_token"]
    finally:
        ob.close()

    forged = {
        "tampered claims": f"{header}.{_b64({**claims, 'sub': 'someone-else'})}.{sig}",
        "alg none": f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{payload}.",
        "bad signature": f"{header}.{payload}.{sig[:-4]}AAAA",
        "another zone's ID token": foreign,
        "an access token": t.access_token,
        "not a JWT": "hello",
    }
    for what, token in forged.items():
        r = b.http.get(_logout_url(z, id_token_hint=token, post_logout_redirect_uri=BYE, state="x"))
        _refused_page(r, "not an ID token this zone issued")
        assert _still_signed_in(b, z, client, listener), f"{what}: the session ended"


def test_attack_a_link_without_this_sessions_hint_only_asks(password_zone, browsers, listener):
    z = password_zone
    client = _client(z)
    victim, attacker = browsers(), browsers()
    _signed_in(victim, z, client, listener)
    attackers_hint = _signed_in(attacker, z, client, listener).raw["id_token"]

    for params in (
        {},
        {"client_id": client.client_id, "post_logout_redirect_uri": BYE, "state": "st"},
        {"id_token_hint": attackers_hint, "post_logout_redirect_uri": BYE, "state": "st"},
    ):
        page = victim.get(_logout_url(z, **params))
        assert isinstance(page, kit.Page) and page.status == 200, ak.describe(page)
        assert 'id="sign-out"' in page.text and "csrf" in page.fields, page.text[-600:]
        assert _still_signed_in(victim, z, client, listener), f"GET /logout with {list(params)} signed out"

    # Without the form's CSRF token, a POST signs nobody out.
    fields = page.fields
    forged = victim.http.post(z.url("/logout"), data={**fields, "csrf": "forged"})
    assert forged.status_code == 403, forged.status_code
    assert _still_signed_in(victim, z, client, listener)

    # The user's own confirmation does, and the browser goes back to the client with `state`.
    done = victim.http.post(z.url("/logout"), data=fields)
    assert done.status_code == 303, f"{done.status_code} {done.text[:300]}"
    assert done.headers["location"] == BYE + "?state=st", done.headers["location"]
    assert not _still_signed_in(victim, z, client, listener)
    assert _still_signed_in(attacker, z, client, listener), "the other browser's session ended too"


def test_a_relying_partys_post_becomes_the_same_get(password_zone, browsers, listener):
    z = password_zone
    client = _client(z)
    b = browsers()
    t = _signed_in(b, z, client, listener)
    params = {"id_token_hint": t.raw["id_token"], "post_logout_redirect_uri": BYE, "state": "p", "junk": "x"}

    # (sent without cookies, as a cross-site form post carries no SameSite=Lax cookie)
    with httpx.Client(timeout=30.0, follow_redirects=False) as site:
        r = site.post(z.url("/logout"), data=params)
    assert r.status_code == 303, f"{r.status_code} {r.text[:300]}"
    location = r.headers["location"]
    assert location.startswith(z.url("/logout") + "?"), location
    assert kit.query(location) == {k: v for k, v in params.items() if k != "junk"}
    assert _still_signed_in(b, z, client, listener), "the cookieless POST itself signed out"

    back = b.http.get(location)
    assert back.status_code == 303 and back.headers["location"] == BYE + "?state=p", back.headers.get("location")
    assert not _still_signed_in(b, z, client, listener)


@pytest.mark.parametrize(
    "query",
    [
        "post_logout_redirect_uri=https%3A%2F%2Frp.example%2Fa&post_logout_redirect_uri=https%3A%2F%2Frp.example%2Fb",
        "state=a&state=b",
        "state=" + "x" * 2049,
        "id_token_hint=" + "x" * 8193,
    ],
    ids=["repeated redirect", "repeated state", "long state", "long hint"],
)
def test_bad_parameters_get_a_page_that_names_them(password_zone: kit.Zone, query: str):
    z = password_zone
    r = z.http.get(f"{z.url('/logout')}?{query}")
    name = query.split("=", 1)[0]
    _refused_page(r, f"`{name}`")


def test_registration_takes_post_logout_redirect_uris_under_the_redirect_rules(password_zone, browsers, listener):
    z = password_zone
    reg = z.http.post(z.url("/oauth/2/registration"), json={
        "redirect_uris": [ak.REGISTERED], "client_name": lk.unique("dcr-bye"),
        "post_logout_redirect_uris": [BYE, "http://127.0.0.1/bye"],
    })
    assert reg.status_code == 201, reg.text
    body = reg.json()
    assert body["post_logout_redirect_uris"] == [BYE, "http://127.0.0.1/bye"], body

    for bad in (["http://evil.example/bye"], ["https://rp.example/bye#f"], ["javascript:alert(1)"], ["x"] * 21,
                ["not a uri"]):
        r = z.http.post(z.url("/oauth/2/registration"), json={"redirect_uris": [ak.REGISTERED],
                                                                "post_logout_redirect_uris": bad})
        err = kit.assert_oauth_error(r, 400, "invalid_redirect_uri")
        assert "post_logout_redirect_uris" in err["error_description"], err

    # The registered client's logout URI works with its client_id, through the confirmation.
    client = kit.Client(body["client_id"], None)
    b = browsers()
    _signed_in(b, z, client, listener)
    page = b.get(_logout_url(z, client_id=client.client_id, post_logout_redirect_uri=BYE, state="d"))
    assert isinstance(page, kit.Page) and "csrf" in page.fields, ak.describe(page)
    done = b.http.post(z.url("/logout"), data=page.fields)
    assert done.status_code == 303 and done.headers["location"] == BYE + "?state=d", done.headers.get("location")
    _refused_page(b.http.get(_logout_url(z, client_id=client.client_id, post_logout_redirect_uri=OTHER_BYE)),
                  "not registered")


# --------------------------------------------------------------------------------------------
# Single logout through the upstream provider (`protocols.openid.single_logout_enabled`)
# --------------------------------------------------------------------------------------------

_IDP_FORM = re.compile(r'<form\b([^>]*)>(.*?)</form>', re.S | re.I)
_IDP_HIDDEN = re.compile(r'<input\b[^>]*type="hidden"[^>]*name="([^"]+)"[^>]*value="([^"]*)"', re.I)


def _idp_logout(b: ak.Browser, url: str) -> str:
    """The provider's sign-out confirmation, answered yes: where it sends the browser."""
    r = b.idp.get(url)
    assert r.status_code == 200, f"{r.status_code} {r.text[:400]}"
    forms = [(a, body) for a, body in _IDP_FORM.findall(r.text) if "logoutForm" in a]
    assert forms, r.text[:800]
    attrs, body = forms[0]
    action = urljoin(str(r.url), html.unescape(re.search(r'action="([^"]*)"', attrs).group(1)))
    done = b.idp.post(action, data={**dict(_IDP_HIDDEN.findall(body)), "logout": "yes"})
    assert done.status_code in (302, 303), f"{done.status_code} {done.text[:400]}"
    return urljoin(action, done.headers["location"])


def test_single_logout_signs_out_of_the_upstream_provider_and_comes_back(sso_zone, listener):
    z, idp, _ = sso_zone
    client = _client(z)
    b = ak.Browser(z)
    try:
        sally = lk.unique_token("sally")
        ak.sso_tokens(b, z, client, listener, sally)
        b.http.cookies.clear()  # signed out of the zone only: the provider still knows her
        assert ak.idp_first_prompt(b, z, client, listener) != "login", "the provider forgot her already"
        tokens = ak.sso_tokens(b, z, client, listener, sally)

        r = b.http.get(_logout_url(z, id_token_hint=tokens["id_token"], post_logout_redirect_uri=BYE, state="s"))
        assert r.status_code == 303, f"{r.status_code} {r.text[:300]}"
        hop = r.headers["location"]
        end = httpx.get(f"{idp.issuer}/.well-known/openid-configuration").json()["end_session_endpoint"]
        assert hop.startswith(end + "?"), hop
        q = kit.query(hop)
        assert q["client_id"] == "login" and q["post_logout_redirect_uri"] == z.url("/logout/return"), q
        assert len(q["state"]) >= 32, q
        assert not _still_signed_in(b, z, client, listener), "the zone session outlived the sign-out"

        back = _idp_logout(b, hop)
        assert back.startswith(z.url("/logout/return") + "?") and kit.query(back)["state"] == q["state"], back
        done = b.http.get(back)
        assert done.status_code == 303 and done.headers["location"] == BYE + "?state=s", done.headers.get("location")
        assert ak.idp_first_prompt(b, z, client, listener) == "login", "the provider's session outlived single logout"
    finally:
        b.close()


def test_attack_the_return_from_the_provider_goes_nowhere_it_was_not_bound_to(sso_zone, listener):
    z, _, login = sso_zone
    client = _client(z)
    b = ak.Browser(z)
    try:
        tokens = ak.sso_tokens(b, z, client, listener, lk.unique_token("rita"))
        r = b.http.get(_logout_url(z, id_token_hint=tokens["id_token"], post_logout_redirect_uri=BYE, state="s"))
        state = kit.query(r.headers["location"])["state"]
        name = f"lk_logout_return_{z.id}"
        cookie = next(c.value for c in b.http.cookies.jar if c.name == name)
        kept, mac, _ = cookie.split(".", 2)
        evil = base64.urlsafe_b64encode(b"https://evil.example/").rstrip(b"=").decode()

        for what, value, st in (
            ("no cookie", None, state),
            ("wrong state", cookie, ("y" if state[0] == "x" else "x") + state[1:]),
            ("no state", cookie, None),
            ("planted destination", f"{kept}.{mac}.{evil}", state),
            ("planted destination and binding", f"{kept}.{'0' * 64}.{evil}", state),
        ):
            with httpx.Client(timeout=30.0, follow_redirects=False) as other:
                headers = {"Cookie": f"{name}={value}"} if value else {}
                url = z.url("/logout/return") + (f"?{urlencode({'state': st})}" if st else "")
                got = other.get(url, headers=headers)
            assert got.status_code == 200 and "location" not in got.headers, (what, got.status_code, got.headers)
            assert "You are signed out" in got.text, what

        # With the flag off, signing out stays at the zone.
        z.admin.zones.providers.update(login.id, zone_id=z.id, protocols={"openid": {"single_logout_enabled": False}})
        b2 = ak.Browser(z)
        try:
            t2 = ak.sso_tokens(b2, z, client, listener, lk.unique_token("tom"))
            r2 = b2.http.get(_logout_url(z, id_token_hint=t2["id_token"], post_logout_redirect_uri=BYE))
            assert r2.status_code == 303 and r2.headers["location"] == BYE, r2.headers.get("location")
        finally:
            b2.close()
    finally:
        b.close()
