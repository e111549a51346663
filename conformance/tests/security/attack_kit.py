"""Helpers for the attack suite (tests/security): browsers with their own source address, a
driver for the upstream OpenID provider's development pages (node oidc-provider, e2e-node/idp.mjs)
over plain HTTP, sign-in helpers and small management-API shortcuts.

Everything talks to the real `latchkey` binary; nothing on the server side is mocked.
"""

from __future__ import annotations

import base64
import html
import json
import re
import secrets
import time
from dataclasses import dataclass
from contextlib import contextmanager
from typing import Any, Callable, Iterator, Optional
from urllib.parse import urljoin, urlsplit

import httpx

import lk
from e2e import kit

REGISTERED = "http://127.0.0.1/callback"


def transport(address: Optional[str]) -> Optional[httpx.HTTPTransport]:
    """A transport whose connections leave from `address` (any 127.0.0.0/8 address reaches the
    server on 127.0.0.1: Linux routes the whole block to loopback)."""
    return httpx.HTTPTransport(local_address=address) if address else None


def client(address: Optional[str] = None, **kw: Any) -> httpx.Client:
    kw.setdefault("timeout", 60.0)
    t = transport(address)
    if t is not None:
        kw["transport"] = t
    return httpx.Client(**kw)


class Browser(kit.HttpBrowser):
    """kit.HttpBrowser from a chosen source address, with its own cookie jar for the upstream
    provider's pages (so a browser can "sign out" of the provider by dropping that jar)."""

    def __init__(self, zone: kit.Zone, address: Optional[str] = None) -> None:
        super().__init__(zone)
        self.http.close()
        self.address = address
        self.http = client(address, follow_redirects=False)
        self.idp = client(address, follow_redirects=False)

    def close(self) -> None:
        super().close()
        self.idp.close()

    def forget_idp(self) -> None:
        """A fresh cookie jar at the upstream provider: signed out there."""
        self.idp.close()
        self.idp = client(self.address, follow_redirects=False)

    def zone_cookie_names(self) -> list[str]:
        return [c.name for c in self.http.cookies.jar]

    def session_cookie(self) -> Optional[str]:
        for c in self.http.cookies.jar:
            if c.name == f"lk_session_{self.zone.id}":
                return c.value
        return None


# --------------------------------------------------------------------------------------------
# The upstream provider's development pages (oidc-provider devInteractions)
# --------------------------------------------------------------------------------------------

_FORM = re.compile(r'<form[^>]*action="([^"]+)"[^>]*method="post"[^>]*>(.*?)</form>', re.S | re.I)
_INPUT = re.compile(r'<input[^>]*type="hidden"[^>]*name="([^"]+)"[^>]*value="([^"]*)"', re.I)


def walk_idp(b: Browser, url: str, login: str, stop_prefix: str) -> str:
    """Loads `url` at the upstream provider in `b`'s provider jar and goes through its pages
    (login form with `login`/any password, consent form) until the provider redirects to a URL
    starting with `stop_prefix` (the zone's callback); returns that URL without loading it."""
    r = b.idp.get(url)
    for _ in range(20):
        if r.status_code in (301, 302, 303, 307, 308):
            loc = urljoin(str(r.url), r.headers["location"])
            if loc.startswith(stop_prefix):
                return loc
            r = b.idp.get(loc)
            continue
        assert r.status_code == 200, f"upstream provider answered {r.status_code}: {r.text[:600]}"
        m = _FORM.search(r.text)
        assert m, f"no form on the upstream provider's page: {r.text[:800]}"
        action = urljoin(str(r.url), html.unescape(m.group(1)))
        fields = {k: html.unescape(v) for k, v in _INPUT.findall(m.group(2))}
        if fields.get("prompt") == "login":
            fields.update(login=login, password="anything")
        r = b.idp.post(action, data=fields)
    raise AssertionError("the upstream provider did not send the browser back")


def follow_zone(b: Browser, url: str) -> "kit.Page | str":
    """Loads `url` at the zone and follows the zone's own redirects (kit.HttpBrowser.get)."""
    return b.get(url)


def upstream_sign_in(
    b: Browser, zone: kit.Zone, authorize_url: str, login: str, *, load_callback: bool = True
) -> "kit.Page | str":
    """authorize → the sign-in page offering the upstream provider → the provider (login, consent)
    → back at the zone's callback. With load_callback=False returns the callback URL unloaded.
    Otherwise continues at the zone and returns the page or external URL it ends on (another
    upstream hop is an external URL too)."""
    page = b.get(authorize_url)
    if isinstance(page, kit.Page):
        m = re.search(r'href="([^"]*/login/upstream\?request=[^"]+)"', page.text)
        assert m, f"no upstream button on the zone's page ({page.status}): {page.text[:600]}"
        out = b.http.get(html.unescape(m.group(1)))
        assert out.status_code in (302, 303), f"/login/upstream answered {out.status_code}: {out.text[:400]}"
        idp_url = out.headers["location"]
    else:
        idp_url = page
    cb = walk_idp(b, idp_url, login, zone.upstream_redirect)
    if not load_callback:
        return cb
    return b.get(cb)


@contextmanager
def browsers_of(zone: kit.Zone) -> Iterator[Callable[[], Browser]]:
    """Makes browsers of `zone` (each with its own cookie jars); all closed on exit."""
    made: list[Browser] = []

    def make() -> Browser:
        b = Browser(zone)
        made.append(b)
        return b

    try:
        yield make
    finally:
        for b in made:
            b.close()


def sso_tokens(b: Browser, zone: kit.Zone, client_: kit.Client, listener: Any, login: str, **kw: Any) -> dict:
    """Signs in through the zone's upstream provider as `login` and redeems: the token response."""
    pkce = kit.Pkce()
    url = zone.authorize_url(client_, listener.url, pkce=pkce, state="u", scope="openid", **kw)
    out = upstream_sign_in(b, zone, url, login)
    assert isinstance(out, str) and "code" in kit.query(out), describe(out)
    r = zone.redeem(client_, kit.query(out)["code"], listener.url, pkce.verifier, http=b.http)
    assert r.status_code == 200, r.text
    return r.json()


def idp_first_prompt(b: Browser, zone: kit.Zone, client_: kit.Client, listener: Any, **kw: Any) -> str:
    """Starts a sign-in at the zone (which must send the browser to its upstream provider) and
    returns what the provider asks first (`login`, `consent`), or `redirect` when it sends the
    browser straight back."""
    page = b.get(zone.authorize_url(client_, listener.url, pkce=kit.Pkce(), state="again", scope="openid", **kw))
    if isinstance(page, kit.Page):
        m = re.search(r'href="([^"]*/login/upstream\?request=[^"]+)"', page.text)
        assert m, f"no upstream button on the zone's page: {page.text[:600]}"
        url = b.http.get(html.unescape(m.group(1))).headers["location"]
    else:
        url = page
    assert not url.startswith(listener.url), f"the zone answered without the provider: {url}"
    idp = urljoin(url, "/")
    r = b.idp.get(url)
    for _ in range(5):
        if r.status_code not in (302, 303):
            break
        loc = urljoin(str(r.url), r.headers["location"])
        if not loc.startswith(idp):
            return "redirect"
        r = b.idp.get(loc)
    return dict(_INPUT.findall(r.text)).get("prompt", f"page {r.status_code}")


# --------------------------------------------------------------------------------------------
# Password sign-in helpers
# --------------------------------------------------------------------------------------------


def signin_page(b: Browser, zone: kit.Zone, client_: kit.Client, redirect_uri: str, **kw: Any) -> kit.Page:
    page = b.get(zone.authorize_url(client_, redirect_uri, pkce=kit.Pkce(), state=secrets.token_urlsafe(8), **kw))
    assert isinstance(page, kit.Page) and page.kind == "signin", (
        page if isinstance(page, str) else f"{page.status} {page.kind}: {page.text[:400]}"
    )
    return page


def sign_up(zone: kit.Zone, client_: kit.Client, redirect_uri: str, email: str, address: Optional[str] = None) -> None:
    """Creates a password account (sign-up through a throw-away browser)."""
    b = Browser(zone, address)
    try:
        out = b.signup_and_authorize(zone.authorize_url(client_, redirect_uri, pkce=kit.Pkce(), state="su"), email)
        assert "code" in kit.query(out), out
    finally:
        b.close()


@dataclass
class Tokens:
    access_token: str
    refresh_token: str
    raw: dict


def tokens_in(
    b: Browser, zone: kit.Zone, client_: kit.Client, redirect_uri: str, email: str, **kw: Any
) -> Tokens:
    """Signs up (or in) in `b`, consents, redeems: the client's tokens."""
    pkce = kit.Pkce()
    out = b.signup_and_authorize(zone.authorize_url(client_, redirect_uri, pkce=pkce, state="t", **kw), email)
    q = kit.query(out)
    assert "code" in q, q
    r = zone.redeem(client_, q["code"], redirect_uri, pkce.verifier, http=b.http)
    assert r.status_code == 200, r.text
    body = r.json()
    return Tokens(body["access_token"], body.get("refresh_token", ""), body)


def code_silently(b: Browser, zone: kit.Zone, client_: kit.Client, redirect_uri: str, **kw: Any) -> "kit.Page | str":
    return b.get(zone.authorize_url(client_, redirect_uri, pkce=kit.Pkce(), state=secrets.token_urlsafe(8), **kw))


def describe(out: "kit.Page | str") -> str:
    if isinstance(out, str):
        return f"redirect {out[:300]}"
    return f"page {out.status} ({out.kind}) alert={out.alert!r}: {out.text[:300]}"


# --------------------------------------------------------------------------------------------
# Management API
# --------------------------------------------------------------------------------------------


def sessions(admin_http: httpx.Client, zone_id: str, **params: Any) -> list[dict]:
    params.setdefault("limit", 100)
    params.setdefault("include_nested", "true")
    r = admin_http.get(f"/zones/{zone_id}/sessions", params=params)
    assert r.status_code == 200, r.text
    return r.json()["items"]


def substitute_user_token(sub: str) -> str:
    def enc(v: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(v).encode()).rstrip(b"=").decode()

    return enc({"typ": "vnd.kc.su+jwt", "alg": "none"}) + "." + enc({"sub": sub}) + "."


def vm_hwm_kb(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise AssertionError("no VmHWM in /proc/<pid>/status")


def wait_until(pred: Callable[[], bool], timeout: float = 10.0, step: float = 0.1) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(step)
    return pred()


def unique_email(prefix: str) -> str:
    return kit.unique_email(prefix)


def unique_url(prefix: str) -> str:
    return lk.unique_url(prefix)
