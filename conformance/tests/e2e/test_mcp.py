"""An MCP server protected by keycardai-mcp (`AuthProvider`, `@grant` for an external API) and the
keycardai-mcp client (DCR + PKCE through the zone) with the user's browser part in headless
Chromium: the tool receives the upstream provider's token; revoking the delegated grant in the
management API makes the next call fail with insufficient_authorization (zone-oauth.md §2.2,
§2.5, §4, §6.2, §8 items 5, 7, 9, 16, 17)."""

# No `from __future__ import annotations`: `@grant` finds the AccessContext and Context parameters
# by comparing the real annotation objects.
import asyncio
import json
import secrets
import threading
import time
from typing import Any

import pytest
from keycardai.mcp.client import Client as McpClient
from keycardai.mcp.client.auth.coordinators.local import LocalAuthCoordinator
from keycardai.mcp.server.auth import AuthProvider
from keycardai.oauth.server import AccessContext, ClientSecret
from mcp.server.mcpserver import Context, MCPServer

import lk

from . import kit
from .conftest import Upstream, login_name, upstream_login

pytestmark = pytest.mark.browser


class Uvicorn:
    """An ASGI app under uvicorn on a chosen loopback port, with its lifespan (the MCP session
    manager runs there)."""

    def __init__(self, app: Any, port: int) -> None:
        import uvicorn

        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)

    def close(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def mcp_app(zone: kit.Zone, mcp_url: str, svc: kit.Service, downstream: str) -> Any:
    mcp = MCPServer("Latchkey e2e MCP server")
    auth = AuthProvider(
        zone_url=zone.issuer,
        mcp_server_name="Latchkey e2e MCP server",
        mcp_server_url=mcp_url,
        audience=mcp_url,
        application_credential=ClientSecret((svc.client_id, svc.secret)),
    )

    @mcp.tool()
    @auth.grant(downstream)
    async def upstream_token(access_ctx: AccessContext, ctx: Context) -> str:
        """Returns the downstream API's token the zone handed out, or the per-resource error."""
        if access_ctx.has_errors():
            return json.dumps({"errors": access_ctx.get_errors()})
        return json.dumps({"access_token": access_ctx.access(downstream).access_token})

    return auth.app(mcp)


async def browser(start: str, stop_at: str, profile: str, plan: dict) -> kit.FlowResult:
    cmd, env = kit.flow_command({"start": start, "stop_at": stop_at, "user_data_dir": profile, "plan": plan})
    proc = await asyncio.create_subprocess_exec(
        *cmd, cwd=str(kit.NODE_DIR), env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout=120)
    return kit.parse_flow_output(out.decode(), err.decode(), proc.returncode or 0)


async def call(client: McpClient) -> dict:
    result = await client.call_tool("upstream_token", {}, server_name="e2e")
    assert not result.is_error, result
    return json.loads(result.content[0].text)


def error_code(answer: dict, resource: str) -> Any:
    errors = answer.get("errors") or {}
    per = errors.get("resources", {}).get(resource) or {}
    return per.get("code")


def test_mcp_client_tool_gets_upstream_token_until_grant_revoked(upstream: Upstream, listener, profile):
    up, z = upstream, upstream.zone
    port = lk.free_port()
    mcp_url = f"http://127.0.0.1:{port}/mcp"
    svc = z.service(depends_on=[up.api], name=lk.unique("MCP server"), consent="implicit")
    z.resource(name="Latchkey e2e MCP server", identifier=mcp_url, application_id=svc.app.id)
    # The MCP server's application as its own confidential web client (for §6.2 step 4).
    z.admin.zones.applications.update(
        svc.app.id, zone_id=z.id, protocols={"oauth2": {"redirect_uris": ["http://127.0.0.1/callback"]}}
    )
    server = Uvicorn(mcp_app(z, mcp_url, svc, up.api.identifier), port)
    name = login_name("mcp")
    plan = {
        "signin": ["upstream"],
        "upstream_login": upstream_login(name),
        "upstream_consent": True,
        "consent": "allow",
    }

    async def scenario() -> None:
        coordinator = LocalAuthCoordinator(host="127.0.0.1", auto_open_browser=False, block_until_callback=False)
        client = McpClient(
            {"e2e": {"url": mcp_url, "transport": "http", "auth": {"type": "oauth"}}},
            auth_coordinator=coordinator,
        )
        try:
            await client.connect()
            session = client.sessions["e2e"]
            assert session.requires_user_action, f"expected a sign-in challenge, status {session.status}"
            (challenge,) = await client.get_auth_challenges()
            url = challenge["authorization_url"]
            q = kit.query(url)
            assert q["resource"] == mcp_url and q["code_challenge_method"] == "S256", q
            assert q["client_id"].startswith("ua:"), "the client registered itself (DCR)"
            redirect = q["redirect_uri"]
            assert redirect.startswith("http://127.0.0.1:") and redirect.endswith("/callback"), redirect

            flow = await browser(url, redirect, str(profile), plan)
            assert flow.outcome == "stopped", flow
            assert flow.kinds[0] == "zone-upstream-only" and flow.kinds[-2:] == ["zone-consent", "callback"], flow
            brokered_at_sign_in = flow.kinds.count("upstream-consent") == 2

            await client.connect(server="e2e", force_reconnect=True)
            assert session.is_operational, f"not connected after sign-in: {session.status}"
            tools = [t.tool.name for t in await client.list_tools("e2e")]
            assert "upstream_token" in tools, tools

            first = await call(client)
            if not brokered_at_sign_in:
                # No grant yet (the zone brokers the client's own dependencies; a DCR client has
                # none): the tool reports insufficient_authorization, and the MCP server's
                # application sends the user through an ordinary authorization for the API
                # (§6.2 step 4) — in the same browser, so no sign-in page this time.
                assert error_code(first, up.api.identifier) == "insufficient_authorization", first
                web = kit.Client(svc.client_id, svc.app, svc.secret)
                pkce, state = kit.Pkce(), secrets.token_urlsafe(16)
                link = z.authorize_url(
                    web, listener.url, state=state, pkce=pkce, resources=[mcp_url, up.api.identifier]
                )
                grant_flow = await browser(link, listener.url, str(profile), plan)
                assert grant_flow.kinds == ["upstream-consent", "callback"], grant_flow
                assert "code" in listener.by_state(state)
                first = await call(client)  # the same MCP access token as before (§8 item 17)

            token = first.get("access_token")
            assert token, first
            live = up.idp.userinfo(token)
            assert live.status_code == 200 and live.json()["sub"] == name, live.text

            user = z.user_by_email(f"{name}@example.test")
            (grant,) = z.grants(user_id=user.id, resource_id=up.api.id, status="active")
            z.admin.zones.delegated_grants.update(grant.id, zone_id=z.id, status="revoked")
            after = await call(client)
            assert error_code(after, up.api.identifier) == "insufficient_authorization", after
            assert "access_token" not in after

            ua = [u for u in z.admin.zones.user_agents.list(z.id, limit=100).items if u.identifier == q["client_id"]]
            assert ua, "the DCR registration is listed as a user agent"
        finally:
            await client.disconnect()
            await coordinator.shutdown()

    try:
        asyncio.run(scenario())
    finally:
        server.close()


def test_sign_in_for_a_resource_brokers_its_applications_dependencies(upstream: Upstream, listener, profile):
    """zone-oauth.md §6.2 step 1: for each requested resource *and each dependency of the
    application behind the first resource*, with an external provider and no active grant, the
    zone sends the browser to the provider. Here the client (no dependencies of its own, like a
    DCR client) asks for `own`, whose application depends on `api`."""
    up, z = upstream, upstream.zone
    client = z.browser_client(["http://127.0.0.1/callback"])
    name = login_name("frank")
    pkce, state = kit.Pkce(), secrets.token_urlsafe(16)
    url = z.authorize_url(client, listener.url, state=state, pkce=pkce, resources=[up.own.identifier])
    flow = kit.run_flow(
        start=url,
        stop_at=listener.url,
        user_data_dir=str(profile),
        plan={"signin": ["upstream"], "upstream_login": upstream_login(name), "upstream_consent": True, "consent": "allow"},
    )
    assert flow.outcome == "stopped", flow
    user = z.user_by_email(f"{name}@example.test")
    assert z.grants(user_id=user.id, resource_id=up.api.id, status="active"), f"no grant for the API: {flow.kinds}"
