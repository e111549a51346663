"""keycardai-fastmcp 0.7.1 (fastmcp 4.2.3) against a real zone: a FastMCP server protected by the
Keycard `AuthProvider` (`get_remote_auth_provider()` → fastmcp `RemoteAuthProvider` +
`JWTVerifier` on the zone's JWKS) served over streamable HTTP by uvicorn, called by the fastmcp
`Client` with zone-issued tokens (zone-oauth.md §5.2 "FastMCP JWTVerifier", §5.3, §5.4, §6.2).

Exercised, each over real HTTP against the `latchkey` binary:

* `AuthProvider.__init__` discovery (RFC 8414 at the zone URL → `jwks_uri`);
* the MCP endpoint accepting a client-credentials token whose `aud` is `{origin}/mcp` and
  refusing missing / foreign-audience / other-zone / tampered / garbage tokens with `401` and a
  `WWW-Authenticate: Bearer … resource_metadata=…` challenge;
* RFC 9728 metadata naming the zone, from which the zone's metadata is discovered again;
* `AuthProvider.grant()` (the injected `AccessContext` parameter) doing RFC 8693 exchanges at the
  zone with a `ClientSecret` (Basic) and with `WebIdentity` (private_key_jwt whose `iss` is the
  stable key id, registered as a `public-key` credential): downstream `aud`, `sub`, `act`,
  `client_id`, `scope` (`request_scopes`), multi-resource grants, and per-resource errors.

Not exercised: the interactive MCP OAuth sign-in (authorization code + DCR from the MCP client;
covered by tests/e2e and test_dcr.py), `EKSWorkloadIdentity` (needs an EKS token file; workload
tokens are covered by test_client_assertions.py), and the `zone_id=`/`base_url=` constructor
forms, which build `https://{zone_id}.{host}` subdomain URLs while Latchkey zones live at
`{public_url}/z/{zone_id}` (so `zone_url=` is used).
"""

# No `from __future__ import annotations`: fastmcp finds the AccessContext parameter by its real
# annotation object.
import asyncio
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import httpx
from fastmcp import Client as McpClient
from fastmcp import FastMCP
from fastmcp.server.dependencies import get_access_token
from keycardai.fastmcp import AccessContext, AuthProvider, ClientSecret, WebIdentity

from .kit import AsgiServer, OAuthZone, Service, flip_signature, jwt_claims, reserve_socket

INIT = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "conf", "version": "1"}},
}
MCP_HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}


@dataclass
class McpDeployment:
    srv: AsgiServer
    provider: AuthProvider
    server: Service  # the MCP server's application (owns the MCP resource, depends on downstreams)
    api: Any  # the MCP resource, identifier `{origin}/mcp`

    @property
    def url(self) -> str:
        return f"{self.srv.base}/mcp"


def deploy(
    z: OAuthZone,
    asgi,
    downstream: Any,
    *,
    more: Optional[list[Any]] = None,
    credential: Any = None,
    server: Optional[Service] = None,
) -> McpDeployment:
    """A FastMCP server on a reserved port whose resource is registered in the zone as
    `http://127.0.0.1:{port}/mcp` (the audience fastmcp's `JWTVerifier` demands)."""
    sock = reserve_socket()
    origin = f"http://127.0.0.1:{sock.getsockname()[1]}"
    server = server or z.service(depends_on=[downstream, *(more or [])])
    api = z.resource(owner=server, identifier=f"{origin}/mcp")
    provider = AuthProvider(
        zone_url=z.issuer,
        mcp_server_name="conf mcp",
        mcp_server_url=f"{origin}/mcp",
        application_credential=credential or ClientSecret((server.client_id, server.secret)),
    )
    mcp = FastMCP("conf mcp", auth=provider.get_remote_auth_provider())

    @mcp.tool()
    async def whoami() -> dict:
        token = get_access_token()
        return {"client_id": token.client_id, "sub": token.claims.get("sub"), "aud": token.claims.get("aud")}

    @mcp.tool()
    async def fetch(access: AccessContext = provider.grant(downstream.identifier, request_scopes="read")) -> dict:
        if access.has_errors():
            return {"errors": access.get_errors()}
        return {"access_token": access.access(downstream.identifier).access_token}

    targets = [downstream.identifier, *(r.identifier for r in more or [])]

    @mcp.tool()
    async def fetch_all(access: AccessContext = provider.grant(targets)) -> dict:
        if access.has_errors():
            return {"errors": access.get_errors()}
        return {r: access.access(r).access_token for r in targets}

    srv = asgi(mcp.http_app(path="/mcp"), sock=sock, lifespan="on")
    return McpDeployment(srv, provider, server, api)


def call_tool(url: str, token: str, name: str) -> dict:
    async def go() -> dict:
        async with McpClient(url, auth=token) as c:
            result = await c.call_tool(name, {})
            assert not result.is_error, result
            return result.structured_content or result.data

    return asyncio.run(go())


def test_discovery_at_construction(oz: OAuthZone, asgi):
    d = deploy(oz, asgi, oz.resource())
    assert d.provider.jwks_uri == oz.jwks_uri
    assert d.provider.audience == [d.url, oz.issuer]


def test_mcp_tool_call_with_a_zone_token(oz: OAuthZone, asgi):
    d = deploy(oz, asgi, oz.resource(scopes=["read"]))
    caller = oz.service(depends_on=[d.api])
    me = call_tool(d.url, oz.cc_token(caller, d.api), "whoami")
    assert me == {"client_id": caller.client_id, "sub": caller.identifier, "aud": d.url}


def test_mcp_endpoint_refuses_bad_tokens(oz: OAuthZone, fresh_zone, asgi):
    d = deploy(oz, asgi, oz.resource())
    other_api = oz.resource()
    caller = oz.service(depends_on=[d.api, other_api])
    other = fresh_zone()
    o_api = other.resource(identifier=d.url)
    o_caller = other.service(depends_on=[o_api])
    good = oz.cc_token(caller, d.api)
    bad = {
        "none": None,
        "wrong-audience": oz.cc_token(caller, other_api),
        "other-zone": other.cc_token(o_caller, o_api),
        "bad-signature": flip_signature(good),
        "garbage": "abc.def.ghi",
    }
    prm_url = f"{d.srv.base}/.well-known/oauth-protected-resource/mcp"
    with httpx.Client(timeout=30) as h:
        ok = h.post(d.url, json=INIT, headers={**MCP_HEADERS, "Authorization": f"Bearer {good}"})
        assert ok.status_code == 200, ok.text
        for name, token in bad.items():
            headers = dict(MCP_HEADERS)
            if token:
                headers["Authorization"] = f"Bearer {token}"
            r = h.post(d.url, json=INIT, headers=headers)
            assert r.status_code == 401, f"{name}: {r.status_code} {r.text}"
            challenge = r.headers.get("www-authenticate", "")
            assert challenge.startswith("Bearer"), (name, challenge)
            assert f'resource_metadata="{prm_url}"' in challenge, (name, challenge)
            if token:
                assert 'error="invalid_token"' in challenge, (name, challenge)


def test_protected_resource_metadata_names_the_zone(oz: OAuthZone, asgi):
    """What an MCP client does after the 401: read PRM, take `authorization_servers[0]`, discover
    the zone there (RFC 8414)."""
    d = deploy(oz, asgi, oz.resource())
    with httpx.Client(timeout=30) as h:
        prm = h.get(f"{d.srv.base}/.well-known/oauth-protected-resource/mcp")
        assert prm.status_code == 200, prm.text
        doc = prm.json()
        assert doc["resource"] == d.url
        assert [s.rstrip("/") for s in doc["authorization_servers"]] == [oz.issuer]
        issuer = doc["authorization_servers"][0].rstrip("/")
        meta = h.get(issuer + "/.well-known/oauth-authorization-server")
    assert meta.status_code == 200, meta.text
    assert meta.json()["issuer"] == oz.issuer
    assert meta.json()["jwks_uri"] == oz.jwks_uri


def test_grant_exchanges_the_caller_token(oz: OAuthZone, asgi):
    downstream = oz.resource(scopes=["read"])
    d = deploy(oz, asgi, downstream)
    caller = oz.service(depends_on=[d.api])
    out = call_tool(d.url, oz.cc_token(caller, d.api), "fetch")
    assert "errors" not in out, out
    claims = jwt_claims(out["access_token"])
    assert claims["iss"] == oz.issuer
    assert claims["aud"] == downstream.identifier
    assert claims["sub"] == caller.identifier
    assert claims["act"]["sub"] == d.server.identifier
    assert claims["client_id"] == d.server.client_id
    assert claims["scope"] == "read"


def test_grant_for_several_resources(oz: OAuthZone, asgi):
    first, second = oz.resource(scopes=["read"]), oz.resource()
    d = deploy(oz, asgi, first, more=[second])
    caller = oz.service(depends_on=[d.api])
    out = call_tool(d.url, oz.cc_token(caller, d.api), "fetch_all")
    assert set(out) == {first.identifier, second.identifier}, out
    for resource, token in out.items():
        claims = jwt_claims(token)
        assert claims["aud"] == resource
        assert claims["sub"] == caller.identifier
        assert claims["act"]["sub"] == d.server.identifier


def test_grant_records_exchange_errors(oz: OAuthZone, asgi):
    """The MCP server's application does not depend on the downstream resource: the zone answers
    `access_denied`, which the grant records on the AccessContext with the OAuth error code."""
    not_granted = oz.resource(scopes=["read"])
    server = oz.service()
    d = deploy(oz, asgi, not_granted, server=server)
    caller = oz.service(depends_on=[d.api])
    out = call_tool(d.url, oz.cc_token(caller, d.api), "fetch")
    err = out["errors"]["resources"][not_granted.identifier]
    assert err["code"] == "access_denied", err


def test_grant_with_web_identity(oz: OAuthZone, asgi, json_server, tmp_path: Path):
    """`WebIdentity` under fastmcp signs its client assertion with `iss` = `sub` = the stable key
    id (zone-oauth.md §2.6), so the zone knows it as a `public-key` credential whose JWKS is
    published on a loopback server."""
    downstream = oz.resource(scopes=["read"])
    server = oz.service(depends_on=[downstream])
    name = f"conf-mcp-{uuid.uuid4().hex[:8]}"
    webid = WebIdentity(server_name=name, storage_dir=str(tmp_path / "keys"))
    key_id = webid.identity_manager.key_id
    jwks_uri = json_server.publish(f"/fastmcp-{key_id}/jwks.json", webid.identity_manager.get_public_jwks())
    oz.credential(server.app, "public-key", identifier=key_id, jwks_uri=jwks_uri)
    d = deploy(oz, asgi, downstream, credential=webid, server=server)
    caller = oz.service(depends_on=[d.api])
    out = call_tool(d.url, oz.cc_token(caller, d.api), "fetch")
    assert "errors" not in out, out
    claims = jwt_claims(out["access_token"])
    assert claims["aud"] == downstream.identifier
    assert claims["sub"] == caller.identifier
    assert claims["client_id"] == key_id
    assert claims["act"]["sub"] == server.identifier
