"""Every error is JSON, including the ones the HTTP stack answers before any handler runs
(undecodable paths, bodies over the limit, too many or too large headers, unknown routes and
methods, a request that times out): `{message, code, status}` on the management API, RFC 6749
`{error, error_description}` under a zone. Before the fix these were axum's plain-text or empty
bodies. (Against the real binary, SQLite; storage plays no part.)"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import httpx
import pytest

from oauth.kit import OAuthZone

from .own_servers import Own, sqlite_server


@pytest.fixture(scope="module")
def own(latchkey_bin: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Own]:
    with sqlite_server(latchkey_bin, tmp_path_factory) as s:
        yield s


@pytest.fixture(scope="module")
def z(own: Own) -> OAuthZone:
    return own.oauth_zone()


@pytest.fixture(scope="module")
def http(own: Own) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=own.base_url, timeout=30) as c:
        yield c


def management_error(r: httpx.Response, status: int) -> dict:
    assert r.status_code == status, f"{r.status_code}: {r.text[:200]}"
    assert r.headers.get("content-type", "").startswith("application/json"), f"{r.headers}: {r.text[:200]!r}"
    body = r.json()
    assert body.get("status") == status and isinstance(body.get("code"), str) and isinstance(body.get("message"), str), body
    return body


def oauth_error(r: httpx.Response, status: int) -> dict:
    assert r.status_code == status, f"{r.status_code}: {r.text[:200]}"
    assert r.headers.get("content-type", "").startswith("application/json"), f"{r.headers}: {r.text[:200]!r}"
    body = r.json()
    assert isinstance(body.get("error"), str) and isinstance(body.get("error_description"), str), body
    assert r.headers.get("cache-control") == "no-store"
    return body


@pytest.mark.parametrize("path", ["/zones/%FF%FE", "/organizations/%C0%AF", "/zones/%ED%A0%80/applications"])
def test_undecodable_management_paths(own: Own, path: str):
    r = own.admin_http.get(path)
    management_error(r, 400)


@pytest.mark.parametrize("suffix", ["/openidconnect/jwks", "/oauth/2/token", "/.well-known/openid-configuration"])
def test_undecodable_zone_paths(http: httpx.Client, z: OAuthZone, suffix: str):
    r = http.get(f"/z/{z.id}%FF{suffix}")
    oauth_error(r, 400)


def test_zone_body_over_the_limit(http: httpx.Client, z: OAuthZone):
    r = http.post(
        f"/z/{z.id}/oauth/2/token",
        content=b"grant_type=client_credentials&pad=" + b"a" * (2 << 20),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    oauth_error(r, 413)
    assert r.headers.get("connection", "").lower() == "close"


def test_too_many_headers(own: Own, z: OAuthZone):
    filler = {f"x-filler-{i}": "1" for i in range(120)}
    management_error(own.admin_http.get("/zones", headers=filler), 431)
    with httpx.Client(timeout=30) as c:
        oauth_error(c.get(f"{z.issuer}/openidconnect/jwks", headers=filler), 431)


def test_header_block_too_large(own: Own, z: OAuthZone):
    big = {"cookie": "a=" + "b" * (40 * 1024)}
    management_error(own.admin_http.get("/zones", headers=big), 431)
    with httpx.Client(timeout=30) as c:
        oauth_error(c.get(f"{z.issuer}/openidconnect/jwks", headers=big), 431)


def test_zone_fallbacks(http: httpx.Client, z: OAuthZone):
    oauth_error(http.get(f"/z/{z.id}/oauth/2/no-such-endpoint"), 404)
    r = http.get(f"/z/{z.id}/oauth/2/token")
    oauth_error(r, 405)
    assert "POST" in r.headers.get("allow", ""), r.headers
    oauth_error(http.delete(f"/z/{z.id}/openidconnect/jwks"), 405)


def test_management_fallbacks(own: Own, http: httpx.Client):
    management_error(http.get("/no-such-route"), 404)
    r = http.delete("/healthz")
    management_error(r, 405)
    assert "GET" in r.headers.get("allow", ""), r.headers
    management_error(own.admin_http.put("/zones"), 405)


def test_zone_form_that_is_not_utf8(http: httpx.Client, z: OAuthZone):
    r = http.post(
        f"/z/{z.id}/oauth/2/token",
        content=b"\xff\xfe=\x80",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    oauth_error(r, 400)
