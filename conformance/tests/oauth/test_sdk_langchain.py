"""keycardai-langchain 0.7.2 (langchain 1.5.2, langgraph 1.2.24) against a real zone: a LangChain
`create_agent` agent with `KeycardGrantMiddleware`, whose tools read `get_access_context()`, and
the inbound `keycardai.langchain.auth.zone_authenticator` hook a LangGraph server calls
(zone-oauth.md §2.3, §2.5 incl. impersonation, §5.2, §6.2).

The language model is the only stand-in: a scripted langchain-core `GenericFakeChatModel` that asks
for one tool call and then answers (no LLM can run here). Everything Keycard does goes to the
`latchkey` binary over HTTP:

* `Access.on_behalf_of(token)`: RFC 8693 exchange per tool call (Basic auth as the agent's
  application, `request_scopes`); downstream `aud`, `sub`, `act`, `scope` checked, sync and async;
* `Access.as_self()`: client credentials for the agent itself (also through `keycard.grant()`);
* a refused exchange (`access_denied`) recorded on the AccessContext, and turned into the
  `interrupt_on_auth=False` tool-output fallback carrying the authorization URL;
* `Access.impersonate(user)`: the substitute-user exchange, refused by the default zone policy
  and, after a customer permit, refused for want of the user's delegated grant;
* `zone_authenticator`: a real zone token is accepted (identity = `sub`, raw bearer passed on),
  foreign / missing tokens get a 401 `WWW-Authenticate: Bearer` challenge naming the zone's
  metadata; its output, placed where LangGraph puts it (`configurable.langgraph_auth_user`),
  drives the middleware with `identity_source="auth_user"`.

Not exercised: a running LangGraph API server (`langgraph dev` / langgraph-api is not among the
pinned packages; the hook is called with the headers the server would pass), LangGraph interrupts
with a checkpointer (SDK-internal control flow), and a successful impersonation (needs a user's
delegated grant, which needs an interactive sign-in; tests/e2e covers sign-ins).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from keycardai.langchain import Access, KeycardGrantMiddleware, KeycardIdentity, get_access_context
from keycardai.langchain.auth import zone_authenticator
from langchain.agents import create_agent
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langchain_core.tools import tool
from starlette.exceptions import HTTPException

from .kit import OAuthZone, jwt_claims
from .test_policies import activated_set, policy_with_version


class ScriptedModel(GenericFakeChatModel):
    """A chat model that replays scripted messages; tools are accepted and ignored."""

    def bind_tools(self, tools: Any, **kwargs: Any) -> "ScriptedModel":
        return self


def script(tool_name: str) -> ScriptedModel:
    return ScriptedModel(
        messages=iter(
            [
                AIMessage(content="", tool_calls=[{"name": tool_name, "args": {}, "id": "call-1", "type": "tool_call"}]),
                AIMessage(content="done"),
            ]
        )
    )


def reader_tool(resource: str):
    @tool
    def read_api() -> str:
        """Read the downstream API with the token Keycard granted for this call."""
        access = get_access_context()
        if access.has_errors():
            return json.dumps({"errors": access.get_errors()})
        return json.dumps({"token": access.access(resource).access_token})

    return read_api


def tool_output(result: dict) -> ToolMessage:
    msgs = [m for m in result["messages"] if isinstance(m, ToolMessage)]
    assert len(msgs) == 1, result["messages"]
    return msgs[0]


def scenario(z: OAuthZone):
    """An agent application that owns its resource and depends on a downstream API; a caller
    holding a token for the agent's resource."""
    downstream = z.resource(scopes=["read"])
    agent_app = z.service(depends_on=[downstream])
    agent_res = z.resource(owner=agent_app)
    caller = z.service(depends_on=[agent_res])
    return downstream, agent_app, agent_res, caller


def middleware(z: OAuthZone, svc, resources: list[str], **kw: Any) -> KeycardGrantMiddleware:
    return KeycardGrantMiddleware(
        zone_url=z.issuer, resources=resources, client_id=svc.client_id, client_secret=svc.secret, **kw
    )


def run_agent(mw: KeycardGrantMiddleware, resource: str, context: Any = None, config: Any = None, *, use_async: bool = False) -> dict:
    agent = create_agent(script("read_api"), tools=[reader_tool(resource)], middleware=[mw], context_schema=KeycardIdentity)
    payload = {"messages": [HumanMessage("read it")]}
    if use_async:
        return asyncio.run(agent.ainvoke(payload, context=context, config=config))
    return agent.invoke(payload, context=context, config=config)


@pytest.mark.parametrize("use_async", [False, True], ids=["sync", "async"])
def test_on_behalf_of_exchanges_per_tool_call(oz: OAuthZone, use_async: bool):
    downstream, agent_app, agent_res, caller = scenario(oz)
    mw = middleware(oz, agent_app, [downstream.identifier], request_scopes="read")
    subject = oz.cc_token(caller, agent_res)
    out = json.loads(tool_output(run_agent(mw, downstream.identifier, Access.on_behalf_of(subject), use_async=use_async)).content)
    assert "errors" not in out, out
    claims = jwt_claims(out["token"])
    assert claims["iss"] == oz.issuer
    assert claims["aud"] == downstream.identifier
    assert claims["sub"] == caller.identifier
    assert claims["act"]["sub"] == agent_app.identifier
    assert claims["client_id"] == agent_app.client_id
    assert claims["scope"] == "read"


def test_as_self_uses_client_credentials(oz: OAuthZone):
    downstream, agent_app, _, _ = scenario(oz)
    mw = middleware(oz, agent_app, [downstream.identifier])
    out = json.loads(tool_output(run_agent(mw, downstream.identifier, Access.as_self())).content)
    claims = jwt_claims(out["token"])
    assert claims["aud"] == downstream.identifier
    assert claims["sub"] == agent_app.identifier
    assert claims.get("sub_profile") == "app"
    assert "act" not in claims
    # the same grant outside an agent run (keycard.grant)
    with mw.grant(Access.as_self(), resources=[downstream.identifier]) as access:
        assert not access.has_errors(), access.get_errors()
        assert jwt_claims(access.access(downstream.identifier).access_token)["sub"] == agent_app.identifier


def test_refused_exchange_reaches_the_tool(oz: OAuthZone):
    downstream, agent_app, agent_res, caller = scenario(oz)
    not_granted = oz.resource()
    subject = oz.cc_token(caller, agent_res)
    mw = middleware(oz, agent_app, [not_granted.identifier])
    out = json.loads(tool_output(run_agent(mw, not_granted.identifier, Access.on_behalf_of(subject))).content)
    err = out["errors"]["resources"][not_granted.identifier]
    assert err["code"] == "access_denied" and err["retryable"] is False, err
    # with an authorization URL and no checkpointer: the failed tool output carries the URL
    consent = oz.issuer + "/oauth/2/authorize?resource=" + not_granted.identifier
    mw = middleware(oz, agent_app, [not_granted.identifier], authorization_url=consent, interrupt_on_auth=False)
    msg = tool_output(run_agent(mw, not_granted.identifier, Access.on_behalf_of(subject)))
    assert msg.status == "error"
    assert msg.content.startswith("authorization_required: the tool read_api cannot run yet (reason: consent_required)")
    assert consent in msg.content.splitlines()


def test_impersonation_is_policy_gated(fresh_zone, records):
    z = fresh_zone()
    downstream, agent_app, _, _ = scenario(z)
    user = records.user(z.kit.zone)
    mw = middleware(z, agent_app, [downstream.identifier])

    def attempt() -> dict:
        with mw.grant(Access.impersonate(user["identifier"])) as access:
            return access.get_resource_error(downstream.identifier) or {}

    refused = attempt()
    assert refused.get("code") == "access_denied", refused
    permit = '@id("impersonate")\npermit (principal is Keycard::Application, action, resource) when { context.impersonate };'
    activated_set(z, [policy_with_version(z, "impersonate", permit)])
    past_policy = attempt()
    assert past_policy.get("code") == "insufficient_authorization", past_policy


def test_zone_authenticator_feeds_the_served_run(oz: OAuthZone):
    downstream, agent_app, agent_res, caller = scenario(oz)
    other_res = oz.resource()
    oz.add_dependency(caller.app, other_res)
    authenticate = zone_authenticator(zone_url=oz.issuer + "/", resource=agent_res.identifier)
    token = oz.cc_token(caller, agent_res)
    user = asyncio.run(authenticate({b"authorization": f"Bearer {token}".encode()}))
    assert user["identity"] == caller.identifier
    assert user["subject_token"] == token
    metadata = oz.issuer + "/.well-known/oauth-authorization-server"
    for name, headers in {
        "none": {},
        "wrong-audience": {b"authorization": f"Bearer {oz.cc_token(caller, other_res)}".encode()},
        "garbage": {b"authorization": b"Bearer abc.def.ghi"},
    }.items():
        with pytest.raises(HTTPException) as refused:
            asyncio.run(authenticate(headers))
        assert refused.value.status_code == 401, name
        challenge = refused.value.headers["WWW-Authenticate"]
        assert challenge.startswith("Bearer ") and f'authorization_uri="{metadata}"' in challenge, (name, challenge)
    # the verified user as LangGraph hands it to the run; the middleware exchanges its bearer
    mw = middleware(oz, agent_app, [downstream.identifier], identity_source="auth_user")
    out = json.loads(
        tool_output(
            run_agent(mw, downstream.identifier, config={"configurable": {"langgraph_auth_user": user}})
        ).content
    )
    claims = jwt_claims(out["token"])
    assert claims["sub"] == caller.identifier and claims["act"]["sub"] == agent_app.identifier
