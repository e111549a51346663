"""keycardai-a2a 0.5.0 (a2a-sdk 1.3.0) against a real zone: two A2A agent services composed the way
the package's `keycard_protected_server` example does it (a2a-sdk `DefaultRequestHandler`,
`create_agent_card_routes`, `create_jsonrpc_routes` with `KeycardServerCallContextBuilder`, the
JSONRPC mount behind `KeycardAuthBackend(require_authentication=True)` + `keycard_on_error`, the
keycardai-starlette PRM and AS-metadata routes, `build_agent_card_from_config`), served by uvicorn
on loopback (zone-oauth.md §2.3 `audience` row, §2.5, §5.2, §5.4, §6.2 "Agent-to-agent").

The chain exercised, all over real HTTP against the `latchkey` binary:

    caller app ──client credentials (DelegationClient, `resource` = `audience`)──▶ agent A
    agent A executor ──RFC 8693 exchange of the caller's token (DelegationClient)──▶ agent B

Agent B answers with what its verifier saw, so the test checks the downstream token's `aud`,
`sub`, `act` and `client_id` as B received them. Also: `ServiceDiscovery` / `discover_service`
fetching the agent card, the JSONRPC mount refusing missing / foreign tokens with a Bearer
challenge, and zone errors surfacing from `get_delegation_token` as `OAuthProtocolError`.

Not exercised: the a2a-sdk `ClientFactory` / gRPC / REST transports (no Keycard code on them) and
user sign-in (no browser here; the caller is an application, `sub_profile` = `app`).
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any, Optional

import httpx
import pytest
from a2a.helpers import new_text_message
from a2a.server.agent_execution import AgentExecutor, RequestContext
from a2a.server.events.event_queue_v2 import EventQueue
from a2a.server.request_handlers import DefaultRequestHandler
from a2a.server.routes import create_agent_card_routes, create_jsonrpc_routes
from a2a.server.tasks import InMemoryTaskStore
from keycardai.a2a import (
    AgentServiceConfig,
    DelegationClient,
    DelegationClientSync,
    KeycardServerCallContextBuilder,
    ServiceDiscovery,
    build_agent_card_from_config,
    keycard_user,
)
from keycardai.oauth import OAuthProtocolError
from keycardai.oauth.server.credentials import ClientSecret
from keycardai.starlette import AuthProvider, KeycardAuthBackend, keycard_on_error
from keycardai.starlette.routers.metadata import (
    well_known_authorization_server_route,
    well_known_protected_resource_route,
)
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.authentication import AuthenticationMiddleware
from starlette.routing import Mount

from .kit import AsgiServer, OAuthZone, Service, jwt_claims, reserve_socket


class WhoAmIExecutor(AgentExecutor):
    """Agent B: replies with the verified caller and the claims of the token it was called with."""

    async def execute(self, context: RequestContext, event_queue: EventQueue) -> None:
        caller = keycard_user(context)
        assert caller is not None, "the JSONRPC mount requires authentication"
        claims = jwt_claims(caller.access_token)
        seen = {
            "task": context.get_user_input(),
            "sub": caller.sub,
            "client_id": caller.client_id,
            "sub_profile": caller.sub_profile,
            "keycard_app_id": caller.keycard_app_id,
            "aud": claims["aud"],
            "act": claims.get("act"),
        }
        await event_queue.enqueue_event(new_text_message(json.dumps(seen)))

    async def cancel(self, context: RequestContext, event_queue: EventQueue) -> None:
        return None


class DelegatingExecutor(AgentExecutor):
    """Agent A: delegates every task to agent B on behalf of its caller (token exchange of the
    caller's token), and returns what it saw next to B's answer."""

    def __init__(self, config: AgentServiceConfig, downstream_url: str) -> None:
        self.config = config
        self.downstream_url = downstream_url

    async def execute(self, context: RequestContext, event_queue: EventQueue) -> None:
        caller = keycard_user(context)
        assert caller is not None
        async with DelegationClient(self.config) as delegation:
            try:
                result = await delegation.invoke_service(
                    self.downstream_url, {"task": context.get_user_input()}, subject_token=caller.access_token
                )
                downstream: Any = json.loads(result["result"])
            except OAuthProtocolError as e:
                downstream = {"error": e.error}
        seen = {"sub": caller.sub, "client_id": caller.client_id, "downstream": downstream}
        await event_queue.enqueue_event(new_text_message(json.dumps(seen)))

    async def cancel(self, context: RequestContext, event_queue: EventQueue) -> None:
        return None


def build_app(config: AgentServiceConfig, executor: AgentExecutor) -> Starlette:
    """The composition of keycardai-a2a's `keycard_protected_server` example."""
    auth_provider = AuthProvider(
        zone_url=config.auth_server_url,
        server_name=config.service_name,
        server_url=config.identity_url,
        audience=config.identity_url,
        application_credential=ClientSecret((config.client_id, config.client_secret)),
    )
    verifier = auth_provider.get_token_verifier()
    agent_card = build_agent_card_from_config(config)
    handler = DefaultRequestHandler(agent_executor=executor, task_store=InMemoryTaskStore(), agent_card=agent_card)
    return Starlette(
        routes=[
            *create_agent_card_routes(agent_card=agent_card),
            well_known_protected_resource_route(
                issuer=config.auth_server_url,
                resource="/.well-known/oauth-protected-resource{resource_path:path}",
            ),
            well_known_authorization_server_route(
                issuer=config.auth_server_url,
                resource="/.well-known/oauth-authorization-server{resource_path:path}",
            ),
            Mount(
                "/a2a",
                routes=create_jsonrpc_routes(
                    request_handler=handler, rpc_url="/jsonrpc", context_builder=KeycardServerCallContextBuilder()
                ),
                middleware=[
                    Middleware(
                        AuthenticationMiddleware,
                        backend=KeycardAuthBackend(verifier, require_authentication=True),
                        on_error=keycard_on_error,
                    )
                ],
            ),
        ]
    )


def config_for(z: OAuthZone, svc: Service, url: str, name: str, capabilities: Optional[list[str]] = None):
    # `zone_id` is required by AgentServiceConfig; `authorization_server_url` overrides its
    # `https://{zone_id}.keycard.cloud` default with the zone's real issuer.
    return AgentServiceConfig(
        service_name=name,
        client_id=svc.client_id,
        client_secret=svc.secret,
        identity_url=url,
        zone_id=z.id,
        authorization_server_url=z.issuer,
        description=f"{name} (conformance)",
        capabilities=capabilities or [],
    )


@dataclass
class Agents:
    a: Service
    b: Service
    a_res: Any
    b_res: Any
    a_cfg: AgentServiceConfig
    b_cfg: AgentServiceConfig
    a_srv: AsgiServer
    b_srv: AsgiServer
    caller: Service
    caller_cfg: AgentServiceConfig


def agents(z: OAuthZone, asgi, *, a_depends_on_b: bool = True) -> Agents:
    """Agent B (owns resource `http://127.0.0.1:{portB}`), agent A (owns its own URL, depends on B's
    resource), and a caller application that depends on A's resource."""
    sock_a, sock_b = reserve_socket(), reserve_socket()
    url_a = f"http://127.0.0.1:{sock_a.getsockname()[1]}"
    url_b = f"http://127.0.0.1:{sock_b.getsockname()[1]}"
    b = z.service()
    b_res = z.resource(owner=b, identifier=url_b)
    a = z.service(depends_on=[b_res] if a_depends_on_b else [])
    a_res = z.resource(owner=a, identifier=url_a)
    caller = z.service(depends_on=[a_res])
    b_cfg = config_for(z, b, url_b, "Worker Agent", ["report_caller"])
    a_cfg = config_for(z, a, url_a, "Planner Agent", ["delegate", "plan_work"])
    b_srv = asgi(build_app(b_cfg, WhoAmIExecutor()), sock=sock_b)
    a_srv = asgi(build_app(a_cfg, DelegatingExecutor(a_cfg, url_b)), sock=sock_a)
    caller_cfg = config_for(z, caller, "http://127.0.0.1:9", "Caller")
    return Agents(a, b, a_res, b_res, a_cfg, b_cfg, a_srv, b_srv, caller, caller_cfg)


def test_agent_card_discovery(oz: OAuthZone, asgi):
    ag = agents(oz, asgi)

    async def discover() -> tuple[dict, dict, dict]:
        async with ServiceDiscovery(ag.caller_cfg) as d:
            first = await d.get_service_card(ag.a_cfg.identity_url + "/")
            again = await d.get_service_card(ag.a_cfg.identity_url)
            return first, again, d.get_cache_stats()

    card, again, stats = asyncio.run(discover())
    assert card["name"] == "Planner Agent"
    assert card["supportedInterfaces"][0]["url"] == ag.a_cfg.jsonrpc_url
    assert [s["id"] for s in card["skills"]] == ["delegate", "plan_work"]
    assert again == card and stats["total_cached"] == 1, stats
    with DelegationClientSync(ag.caller_cfg) as c:
        assert c.discover_service(ag.b_cfg.identity_url)["name"] == "Worker Agent"


def test_protected_resource_metadata_names_the_zone(oz: OAuthZone, asgi):
    ag = agents(oz, asgi)
    with httpx.Client(base_url=ag.a_cfg.identity_url, timeout=30) as h:
        prm = h.get("/.well-known/oauth-protected-resource/a2a/jsonrpc")
        proxied = h.get("/.well-known/oauth-authorization-server")
    assert prm.status_code == 200, prm.text
    assert [s.rstrip("/") for s in prm.json()["authorization_servers"]] == [oz.issuer]
    assert proxied.status_code == 200, proxied.text
    assert proxied.json() == oz.http.get(oz.issuer + "/.well-known/oauth-authorization-server").json()


def test_client_credentials_delegation_token(oz: OAuthZone, asgi):
    """With no subject token `get_delegation_token` sends `grant_type=client_credentials` with
    `resource` = `audience` = the agent's URL (and the token-exchange model's stray
    `subject_token_type`): the zone mints a token for that resource to the caller app."""
    ag = agents(oz, asgi)
    with DelegationClientSync(ag.caller_cfg) as c:
        token = c.get_delegation_token(ag.a_cfg.identity_url + "/")
    claims = jwt_claims(token)
    assert claims["iss"] == oz.issuer
    assert claims["aud"] == ag.a_cfg.identity_url
    assert claims["sub"] == ag.caller.identifier
    assert claims["client_id"] == ag.caller.client_id
    assert claims.get("sub_profile") == "app"
    assert "act" not in claims


def test_agent_to_agent_chain(oz: OAuthZone, asgi):
    """caller → A with client credentials; A's executor exchanges the caller's token for B and
    calls B; B sees the caller as `sub` and A as the actor."""
    ag = agents(oz, asgi)
    with DelegationClientSync(ag.caller_cfg) as c:
        out = c.invoke_service(ag.a_cfg.identity_url, "summarise the quarter")
    seen = json.loads(out["result"])
    assert seen["sub"] == ag.caller.identifier
    assert seen["client_id"] == ag.caller.client_id
    down = seen["downstream"]
    assert down["task"] == "summarise the quarter"
    assert down["aud"] == ag.b_cfg.identity_url
    assert down["sub"] == ag.caller.identifier
    assert down["client_id"] == ag.a.client_id
    assert down["keycard_app_id"] == ag.a.app.id
    assert down["act"]["sub"] == ag.a.identifier


def test_async_delegation_token_exchange(oz: OAuthZone, asgi):
    """`DelegationClient.get_delegation_token(subject_token=…)` directly: RFC 8693 with `resource`
    = `audience`, Basic auth as agent A."""
    ag = agents(oz, asgi)
    subject = oz.cc_token(ag.caller, ag.a_res)

    async def exchange() -> str:
        async with DelegationClient(ag.a_cfg) as d:
            return await d.get_delegation_token(ag.b_cfg.identity_url, subject_token=subject)

    claims = jwt_claims(asyncio.run(exchange()))
    assert claims["aud"] == ag.b_cfg.identity_url
    assert claims["sub"] == ag.caller.identifier
    assert claims["act"]["sub"] == ag.a.identifier


def test_delegation_errors(oz: OAuthZone, asgi):
    """A has no dependency on B: `access_denied`, both raised by `get_delegation_token` and seen
    by A's executor when it delegates. B cannot exchange a token issued for A (`invalid_grant`)."""
    ag = agents(oz, asgi, a_depends_on_b=False)
    subject = oz.cc_token(ag.caller, ag.a_res)
    with DelegationClientSync(ag.a_cfg) as a, DelegationClientSync(ag.b_cfg) as b:
        with pytest.raises(OAuthProtocolError) as denied:
            a.get_delegation_token(ag.b_cfg.identity_url, subject_token=subject)
        assert denied.value.error == "access_denied"
        with pytest.raises(OAuthProtocolError) as foreign:
            b.get_delegation_token(ag.b_cfg.identity_url, subject_token=subject)
        assert foreign.value.error == "invalid_grant"
    with DelegationClientSync(ag.caller_cfg) as c:
        seen = json.loads(c.invoke_service(ag.a_cfg.identity_url, "x")["result"])
    assert seen["downstream"] == {"error": "access_denied"}


def test_jsonrpc_refuses_bad_tokens(oz: OAuthZone, fresh_zone, asgi):
    ag = agents(oz, asgi)
    other_api = oz.resource()
    oz.add_dependency(ag.caller.app, other_api)
    other = fresh_zone()
    o_res = other.resource(identifier=ag.a_cfg.identity_url)
    o_caller = other.service(depends_on=[o_res])
    good = oz.cc_token(ag.caller, ag.a_res)
    bad = {
        "none": None,
        "wrong-audience": oz.cc_token(ag.caller, other_api),
        "other-zone": other.cc_token(o_caller, o_res),
        "garbage": "abc.def.ghi",
    }
    prm = f"{ag.a_cfg.identity_url}/.well-known/oauth-protected-resource/a2a/jsonrpc"
    with DelegationClientSync(ag.caller_cfg) as c:
        assert json.loads(c.invoke_service(ag.a_cfg.identity_url, "hi", token=good)["result"])["sub"] == ag.caller.identifier
        for name, token in bad.items():
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            r = c.http_client.post(
                ag.a_cfg.jsonrpc_url,
                json={"jsonrpc": "2.0", "id": "1", "method": "SendMessage", "params": {}},
                headers={**headers, "A2A-Version": "1.0"},
            )
            assert r.status_code == 401, f"{name}: {r.status_code} {r.text}"
            challenge = r.headers.get("www-authenticate", "")
            assert challenge.startswith("Bearer") and f'resource_metadata="{prm}"' in challenge, (name, challenge)
