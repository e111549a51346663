"""Zone discovery and JWKS as the Keycard SDK reads them (zone-oauth.md §1.2–1.4, §8 items 1, 3, 10, 24)."""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit

import pytest
from keycardai.oauth import AsyncClient, BasicAuth, ClientConfig
from keycardai.oauth.server import TokenVerifier

from .kit import OAuthZone


def same_origin(a: str, b: str) -> bool:
    x, y = urlsplit(a), urlsplit(b)
    return (x.scheme, x.hostname, x.port) == (y.scheme, y.hostname, y.port)


def test_sync_client_discovery_matches_zone_protocols(oz: OAuthZone):
    """`Client` discovers `{issuer}/.well-known/oauth-authorization-server`; every endpoint the
    management API reports is the one the metadata advertises, on the issuer's origin."""
    with oz.client() as c:
        meta = c.discover_server_metadata()
        ends = c.endpoints
    p = oz.zone.protocols
    assert meta.issuer == oz.issuer == p.oauth2.issuer
    assert not oz.issuer.endswith("/"), "issuer must have no trailing slash (§1.1)"
    assert meta.token_endpoint == p.oauth2.token_endpoint == ends.token
    assert meta.jwks_uri == p.oauth2.jwks_uri
    assert meta.authorization_endpoint == p.oauth2.authorization_endpoint
    assert meta.registration_endpoint == p.oauth2.registration_endpoint
    assert meta.userinfo_endpoint == p.openid.userinfo_endpoint
    assert p.oauth2.authorization_server_metadata == oz.issuer + "/.well-known/oauth-authorization-server"
    assert p.openid.provider_configuration == oz.issuer + "/.well-known/openid-configuration"
    for url in (meta.token_endpoint, meta.jwks_uri, meta.authorization_endpoint, meta.registration_endpoint):
        assert same_origin(url, oz.issuer), url
    raw = meta.raw
    assert "S256" in raw["code_challenge_methods_supported"]
    assert "code" in raw["response_types_supported"]
    for g in ("client_credentials", "urn:ietf:params:oauth:grant-type:token-exchange"):
        assert g in raw["grant_types_supported"]
    for m in ("client_secret_basic", "private_key_jwt", "none"):
        assert m in raw["token_endpoint_auth_methods_supported"]


def test_async_client_discovery_with_basic_auth_header(oz: OAuthZone):
    """`AsyncClient` sends its Basic credentials on the metadata GET; the zone must ignore them
    (wrong ones included) rather than answer 401 (§1.2)."""

    async def run() -> tuple:
        async with AsyncClient(
            oz.issuer, auth=BasicAuth("nobody", "wrong"), config=ClientConfig(max_retries=0)
        ) as c:
            meta = await c.discover_server_metadata()
            ends = await c.get_endpoints()
            return meta, ends

    meta, ends = asyncio.run(run())
    assert meta.issuer == oz.issuer
    assert ends.token == oz.token_endpoint


@pytest.mark.parametrize(
    "variant",
    ["openid-configuration", "path-insertion", "path-insertion-oidc", "double-slash", "double-slash-oidc"],
)
def test_metadata_document_variants(oz: OAuthZone, base_url: str, variant: str):
    """Every spelling of the metadata URL answers 200 JSON with the same document (§1.2, §8 item 10/24)."""
    canonical = oz.http.get(oz.issuer + "/.well-known/oauth-authorization-server")
    assert canonical.status_code == 200
    zid = oz.id
    url = {
        "openid-configuration": f"{oz.issuer}/.well-known/openid-configuration",
        "path-insertion": f"{base_url}/.well-known/oauth-authorization-server/z/{zid}",
        "path-insertion-oidc": f"{base_url}/.well-known/openid-configuration/z/{zid}",
        "double-slash": f"{oz.issuer}//.well-known/oauth-authorization-server",
        "double-slash-oidc": f"{oz.issuer}//.well-known/openid-configuration",
    }[variant]
    r = oz.http.get(url, headers={"Authorization": "Basic bm9ib2R5Ondyb25n"})
    assert r.status_code == 200, f"GET {url}: {r.status_code} {r.text}"
    assert r.headers["content-type"].startswith("application/json")
    assert r.json() == canonical.json()


def test_metadata_of_unknown_zone_is_an_error(oz: OAuthZone, base_url: str):
    r = oz.http.get(f"{base_url}/z/nosuchzone0000000000000000/.well-known/oauth-authorization-server")
    assert r.status_code == 404, r.text


def test_jwks_document(oz: OAuthZone):
    """JWKS: 200 exactly, public RSA keys with `kid`, `alg: RS256`, `use: sig`, no private parts
    (§1.4). It publishes the staged `next` key as well as the `current` one."""
    r = oz.http.get(oz.jwks_uri, headers={"Authorization": "Bearer whatever"})
    assert r.status_code == 200
    keys = r.json()["keys"]
    assert keys, "empty JWKS"
    for k in keys:
        assert k["kty"] == "RSA" and k["n"] and k["e"], k
        assert k.get("kid"), k
        assert k.get("alg") == "RS256" and k.get("use") == "sig", k
        assert not {"d", "p", "q", "dp", "dq", "qi"} & set(k), f"private key material published: {sorted(k)}"
    assert len({k["kid"] for k in keys}) == len(keys), "duplicate kids"
    listed = {k["kid"]: k["status"] for k in oz.signing_keys()}
    assert set(listed) == {k["kid"] for k in keys}
    assert sorted(listed.values()) == ["current", "next"], listed


def test_verifier_discovers_same_origin_jwks(oz: OAuthZone):
    """The Keycard `TokenVerifier` finds `jwks_uri` by RFC 8414 discovery on the issuer and accepts
    it only when it is on the issuer's origin (§1.3)."""
    v = TokenVerifier(issuer=oz.issuer, audience="https://unused.example.com/")
    assert v._discover_jwks_uri() == oz.jwks_uri


def test_discovery_of_a_wrong_issuer_fails(oz: OAuthZone):
    """Control for the discovery tests: an issuer the server does not know is refused by the SDK,
    so the tests above really depend on the server's answer."""
    from keycardai.oauth import AuthorizationServerDiscoveryError, Client

    with pytest.raises(AuthorizationServerDiscoveryError):
        with Client(oz.issuer + "x", config=ClientConfig(max_retries=0, timeout=10)) as c:
            c.discover_server_metadata()


def test_metadata_is_cacheable_and_jwks_etag(oz: OAuthZone):
    """Discovery and JWKS carry validators; a conditional GET with the ETag answers 304."""
    r = oz.http.get(oz.jwks_uri)
    etag = r.headers.get("etag")
    assert etag, r.headers
    again = oz.http.get(oz.jwks_uri, headers={"If-None-Match": etag})
    assert again.status_code == 304


def test_deleted_zone_stops_answering(fresh_zone):
    """After `DELETE /zones/{id}` the zone's authorization server is gone: metadata, JWKS and the
    token endpoint answer 404 and its credentials stop working (no stale cache)."""
    z = fresh_zone()
    api = z.resource()
    svc = z.service(depends_on=[api])
    z.cc_token(svc, api)
    assert z.http.get(z.jwks_uri).status_code == 200
    z.kit.client.zones.delete(z.id)
    for url in (z.issuer + "/.well-known/oauth-authorization-server", z.jwks_uri):
        r = z.http.get(url)
        assert r.status_code == 404, f"GET {url} after delete: {r.status_code} {r.text[:200]}"
    r = z.token_post({"grant_type": "client_credentials", "resource": api.identifier}, svc.headers())
    assert r.status_code in (401, 404), f"token endpoint of a deleted zone: {r.status_code} {r.text}"
