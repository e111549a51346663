"""Dynamic client registration (RFC 7591) as the Keycard MCP client and `AsyncClient` send it
(zone-oauth.md §4, §3.2, §8 items 9, 10, 28). Registrations show up as user agents in the
management API.

The zone rate-limits registrations per source address (30/min), so the tests that send many of
them (or may be re-run quickly) use their own loopback source address (127.x.y.z)."""

from __future__ import annotations

import asyncio
import random
import re
from typing import Any, Optional

import httpx
import pytest
from keycardai.mcp.client.auth.oauth.discovery import OAuthDiscoveryService
from keycardai.mcp.client.auth.oauth.registration import OAuthClientRegistrationService
from keycardai.mcp.client.auth.storage_facades import OAuthStorage
from keycardai.mcp.client.storage import InMemoryBackend, NamespacedStorage
from keycardai.oauth import AsyncClient, ClientConfig, OAuthProtocolError
from keycardai.oauth.server import ClientSecret
from keycardai.oauth.types.models import ClientRegistrationResponse, OAuthClientMetadata
from keycardai.starlette import AuthProvider, requires
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

import lk

from .kit import OAuthZone, assert_oauth_error

UA_ID = re.compile(r"^ua:[0-9a-f]{64}$")
STANDARD_GRANTS = {"authorization_code", "refresh_token", "urn:ietf:params:oauth:grant-type:token-exchange"}


def source_address() -> str:
    return f"127.{random.randint(1, 254)}.{random.randint(1, 254)}.{random.randint(2, 254)}"


def dcr_http(address: Optional[str] = None) -> httpx.Client:
    """An HTTP client whose connections come from its own loopback address."""
    return httpx.Client(transport=httpx.HTTPTransport(local_address=address or source_address()), timeout=30)


def mcp_body(name: str, redirect: str) -> dict:
    """Exactly what the Keycard MCP client posts (OAuthClientRegistrationService): every other
    RFC 7591 member present as JSON null."""
    return OAuthClientMetadata(
        client_name=name,
        redirect_uris=[redirect],
        grant_types=["authorization_code", "refresh_token"],
        response_types=["code"],
        token_endpoint_auth_method="none",
    ).model_dump(mode="json")


def user_agents(z: OAuthZone) -> dict[str, Any]:
    items = z.kit.client.zones.user_agents.list(z.id, limit=100).items
    return {ua.identifier: ua for ua in items}


def assert_registration(data: dict, name: str, redirects: list[str]) -> ClientRegistrationResponse:
    assert UA_ID.match(data.get("client_id", "")), data
    assert data["redirect_uris"] == redirects, "redirect_uris must be echoed (the MCP client reads [0])"
    assert data.get("token_endpoint_auth_method", "none") == "none"
    assert "client_secret" not in data or data["client_secret"] is None, "no secret for a public client"
    assert set(data.get("grant_types", [])) <= STANDARD_GRANTS, data
    assert set(data.get("response_types", ["code"])) == {"code"}, data
    assert isinstance(data.get("client_id_issued_at"), int), data
    if "client_name" in data:
        assert data["client_name"] == name
    # the SDK's own response model validates the enum members
    return ClientRegistrationResponse(**{k: v for k, v in data.items() if k in ClientRegistrationResponse.model_fields})


def test_mcp_client_request_shape(oz: OAuthZone):
    name = lk.unique("MCP Client - conf")
    body = mcp_body(name, "http://localhost:53682/callback")
    nulls = {"client_uri", "logo_uri", "tos_uri", "policy_uri", "software_id", "software_version", "jwks_uri", "jwks", "scope"}
    assert nulls <= {k for k, v in body.items() if v is None}, body
    with dcr_http() as h:
        r = h.post(oz.registration_endpoint, json=body)
    assert 200 <= r.status_code < 300, r.text
    assert r.headers["content-type"].startswith("application/json")
    data = r.json()
    assert_registration(data, name, ["http://localhost:53682/callback"])
    ua = user_agents(oz).get(data["client_id"])
    assert ua is not None, "the registration is not listed in zones.user_agents"
    assert ua.name == name


def test_keycard_mcp_client_discovery_and_registration(oz: OAuthZone, asgi):
    """The MCP client's own services end to end: a 401 from a Keycard-protected server →
    protected-resource metadata → zone metadata (also via the `//.well-known` form a trailing-slash
    issuer produces) → registration; a second call with the same redirect reuses it, a new port
    re-registers."""
    auth = AuthProvider(
        zone_url=oz.issuer, audience="https://conf-mcp.example.com/mcp", application_credential=ClientSecret(("x", "y"))
    )

    @requires("authenticated")
    async def mcp(request):
        return JSONResponse({})

    app = Starlette(routes=[Route("/mcp", mcp, methods=["GET", "POST"])])
    auth.install(app)
    srv = asgi(app)
    challenge = httpx.post(srv.base + "/mcp", json={})
    assert challenge.status_code == 401

    async def run():
        storage = OAuthStorage(NamespacedStorage(InMemoryBackend(), "conf"))
        discovery = OAuthDiscoveryService(storage)
        prm = await discovery.discover_resource(challenge)
        meta = await discovery.discover_auth_server(prm)
        slash_storage = OAuthStorage(NamespacedStorage(InMemoryBackend(), "conf-slash"))
        slash_meta = await OAuthDiscoveryService(slash_storage).discover_auth_server(
            {"authorization_servers": [oz.issuer + "/"]}
        )
        name = lk.unique("MCP Client - conf")
        reg = OAuthClientRegistrationService(storage, name)
        first = await reg.get_or_register_client(meta, ["http://localhost:40001/callback"])
        same = await reg.get_or_register_client(meta, ["http://localhost:40001/callback"])
        moved = await reg.get_or_register_client(meta, ["http://127.0.0.1:40002/callback"])
        return prm, meta, slash_meta, name, first, same, moved

    prm, meta, slash_meta, name, first, same, moved = asyncio.run(run())
    assert [s.rstrip("/") for s in prm["authorization_servers"]] == [oz.issuer]
    assert meta["issuer"] == oz.issuer and meta["registration_endpoint"] == oz.registration_endpoint
    assert slash_meta == meta
    assert_registration(first, name, ["http://localhost:40001/callback"])
    assert same["client_id"] == first["client_id"]
    assert_registration(moved, name, ["http://127.0.0.1:40002/callback"])
    assert moved["client_id"] != first["client_id"]
    listed = user_agents(oz)
    assert first["client_id"] in listed and moved["client_id"] in listed


def test_async_client_auto_registration_and_explicit_registration(oz: OAuthZone):
    """`AsyncClient(auto_register_client=True)` (the starlette/mcp AuthProvider with no credential)
    and `register_client(...)` with nested `additional_metadata` and the token-exchange grant."""

    async def run():
        cfg = ClientConfig(max_retries=0, auto_register_client=True, client_name=lk.unique("conf auto"))
        async with AsyncClient(oz.issuer, config=cfg) as c:
            auto_id, auto_secret = await c.get_client_id(), await c.get_client_secret()
            explicit = await c.register_client(
                client_name=lk.unique("conf explicit"),
                redirect_uris=["https://app.example.com/cb", "http://[::1]:8123/cb"],
                grant_types=["authorization_code", "refresh_token"],
                token_endpoint_auth_method="none",
                scope="openid email",
                additional_metadata={"nested": {"ignored": True}},
            )
        return auto_id, auto_secret, explicit

    auto_id, auto_secret, explicit = asyncio.run(run())
    assert UA_ID.match(auto_id or ""), auto_id
    assert auto_secret is None
    assert UA_ID.match(explicit.client_id)
    assert explicit.redirect_uris == ["https://app.example.com/cb", "http://[::1]:8123/cb"]
    assert explicit.client_secret is None
    assert sorted(explicit.scope or []) == ["email", "openid"]
    listed = user_agents(oz)
    assert auto_id in listed and explicit.client_id in listed


@pytest.mark.parametrize(
    "body,error",
    [
        ({"redirect_uris": ["https://a.example.com/cb"], "token_endpoint_auth_method": "client_secret_basic"}, "invalid_client_metadata"),
        ({"redirect_uris": ["https://a.example.com/cb"], "grant_types": ["client_credentials"]}, "invalid_client_metadata"),
        ({"redirect_uris": ["http://evil.example.com/cb"]}, "invalid_redirect_uri"),
        ({"redirect_uris": ["https://a.example.com/cb#frag"]}, "invalid_redirect_uri"),
        ({"redirect_uris": []}, "invalid_redirect_uri"),
    ],
    ids=["secret-method", "cc-grant", "http-non-loopback", "fragment", "no-redirect"],
)
def test_registration_errors(oz: OAuthZone, body: dict, error: str):
    before = len(user_agents(oz))
    with dcr_http() as h:
        r = h.post(oz.registration_endpoint, json={"client_name": "bad", **body})
    assert_oauth_error(r, 400, error)
    assert len(user_agents(oz)) == before, "a refused registration must not create a user agent"


def test_malformed_registration_body(oz: OAuthZone):
    with dcr_http() as h:
        r = h.post(oz.registration_endpoint, content=b"{not json", headers={"Content-Type": "application/json"})
    assert r.status_code == 400, r.text
    assert r.json()["error"] in ("invalid_client_metadata", "invalid_request"), r.text


def test_dcr_disabled_and_reenabled(fresh_zone):
    z = fresh_zone(protocols={"oauth2": {"dcr_enabled": False}})
    assert z.zone.protocols.oauth2.dcr_enabled is False
    body = mcp_body("MCP Client - off", "http://localhost:5000/callback")
    with dcr_http() as h:
        r = h.post(z.registration_endpoint, json=body)
        assert_oauth_error(r, 403, "access_denied")

        async def sdk():
            async with AsyncClient(z.issuer, config=ClientConfig(max_retries=0)) as c:
                with pytest.raises(OAuthProtocolError) as info:
                    await c.register_client(client_name="x", redirect_uris=["http://localhost:1/cb"])
                return info.value

        assert asyncio.run(sdk()).error == "access_denied"
        assert user_agents(z) == {}
        z.kit.client.zones.update(z.id, protocols={"oauth2": {"dcr_enabled": True}})
        again = h.post(z.registration_endpoint, json=body)
    assert again.status_code == 201, again.text
    assert again.json()["client_id"] in user_agents(z)
    # and off again: the switch takes effect at once (no stale zone cache)
    z.kit.client.zones.update(z.id, protocols={"oauth2": {"dcr_enabled": False}})
    with dcr_http() as h:
        assert_oauth_error(h.post(z.registration_endpoint, json=body), 403, "access_denied")


def test_rate_limit_per_source_address(fresh_zone):
    z = fresh_zone()
    body = {"client_name": "burst", "redirect_uris": ["http://localhost:9/cb"]}
    address = source_address()
    with dcr_http(address) as h:
        codes = [h.post(z.registration_endpoint, json=body).status_code for _ in range(30)]
        assert codes == [201] * 30, codes
        limited = h.post(z.registration_endpoint, json=body)
    assert limited.status_code == 429, limited.text
    assert limited.headers["content-type"].startswith("application/json")
    assert isinstance(limited.json().get("error"), str), limited.text
    with dcr_http() as other:
        assert other.post(z.registration_endpoint, json=body).status_code == 201, "the limit is per address"
    assert len(user_agents(z)) == 31
