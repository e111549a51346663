"""keycardai-temporal 0.8.0 (temporalio 1.35.0) against a real zone: the worker's
`KeycardInterceptor` minting tokens for `@grant` activities, and `KeycardOpenAIKey` minting a vaulted
key (zone-oauth.md §2.3 "the Temporal integration sends none", §2.5 incl. impersonation, §6.1
`keycard-vault`).

No Temporal server can run here (`WorkflowEnvironment.start_local()` / `start_time_skipping()`
download their server binaries, and those downloads are blocked), so there is no worker polling a
task queue. Instead each activity runs the way the worker would run it: inside temporalio's own
`ActivityEnvironment` (real `activity.info()`, payload converter), through the interceptor chain
`KeycardInterceptor.intercept_activity(next)` with a real `ExecuteActivityInput`, where `next` is
the end of the chain calling the activity function. Every token request goes to the `latchkey`
binary over HTTP:

* app-as-itself grants (client credentials, one and two resources): `aud`, `sub`, `sub_profile`;
* on-behalf-of grants located by a `Subject()` dataclass marker, a dotted `subject_from` path and a
  `Header()` (decoded by the payload converter), with one- and two-argument
  `subject_token_provider`s: RFC 8693 exchange with Basic auth, downstream `sub` / `act`;
* zone refusals (`access_denied`, `invalid_client`, policy-gated impersonation) surfacing as the
  non-retryable `KeycardAccessDenied` `ApplicationError` before the activity body runs;
* `KeycardOpenAIKey` (the key callback of `KeycardOpenAIProvider`) returning the exact secret
  vaulted behind a `keycard-vault` resource, cached for its `refresh` window, then re-minted
  after a rotation.

Not exercised: workflow scheduling, retries and history (Temporal server), and
`KeycardOpenAIProvider` itself (needs the `openai-agents` extra and an OpenAI-compatible model
endpoint; its only Keycard-facing part is the `KeycardOpenAIKey` tested here).
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any, Optional

import pytest
from keycardai.oauth.server import ClientSecret
from keycardai.temporal import Header, KeycardInterceptor, Subject, SubjectTokenContext, access, grant
from keycardai.temporal.openai_agents import KeycardOpenAIKey
from temporalio import activity
from temporalio.converter import DataConverter
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment
from temporalio.worker import ActivityInboundInterceptor, ExecuteActivityInput

from .kit import OAuthZone, jwt_claims
from .test_policies import activated_set, policy_with_version


class EndOfChain(ActivityInboundInterceptor):
    """Where the worker's own executor would sit: call the activity function."""

    def __init__(self) -> None:  # no next interceptor
        self.ran: list[str] = []

    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        self.ran.append(activity.info().activity_type)
        return await input.fn(*input.args)


async def execute(
    interceptor: KeycardInterceptor, fn: Any, *args: Any, headers: Optional[dict] = None, end: Optional[EndOfChain] = None
) -> Any:
    """Runs `fn` as the worker would: activity context, then the interceptor chain."""
    end = end or EndOfChain()
    chain = interceptor.intercept_activity(end)
    env = ActivityEnvironment()
    env.info = dataclasses.replace(env.info, activity_type=fn.__name__, workflow_id="wf-conf", attempt=2)
    inp = ExecuteActivityInput(fn=fn, args=list(args), executor=None, headers=headers or {})
    return await env.run(chain.execute_activity, inp)


def scenario(z: OAuthZone):
    downstream = z.resource(scopes=["read"])
    worker_app = z.service(depends_on=[downstream])
    app_res = z.resource(owner=worker_app)  # the application's own resource (user tokens' audience)
    user = z.service(depends_on=[app_res])  # stands in for a signed-in user
    return downstream, worker_app, app_res, user


def interceptor(z: OAuthZone, svc, provider: Any = None, secret: Optional[str] = None) -> KeycardInterceptor:
    return KeycardInterceptor(
        z.issuer,
        application_credential=ClientSecret((svc.client_id, secret or svc.secret)),
        subject_token_provider=provider,
    )


def test_app_as_itself(oz: OAuthZone):
    downstream, worker_app, _, _ = scenario(oz)
    second = oz.resource()
    oz.add_dependency(worker_app.app, second)

    @grant(downstream.identifier)
    @activity.defn
    async def sync_ledger() -> str:
        return access().access_token

    @grant(downstream.identifier, second.identifier)
    @activity.defn
    async def copy_between() -> dict:
        return {r: access(r).access_token for r in (downstream.identifier, second.identifier)}

    async def main():
        kc = interceptor(oz, worker_app)
        return await execute(kc, sync_ledger), await execute(kc, copy_between)

    one, two = asyncio.run(main())
    claims = jwt_claims(one)
    assert claims["aud"] == downstream.identifier
    assert claims["sub"] == worker_app.identifier
    assert claims["client_id"] == worker_app.client_id
    assert claims.get("sub_profile") == "app" and "act" not in claims and "scope" not in claims
    assert {r: jwt_claims(t)["aud"] for r, t in two.items()} == {r: r for r in two}


@dataclass
class Approval:
    order_id: str
    approver_id: Annotated[str, Subject()]


@dataclass
class Order:
    order_id: str
    approver_id: str


def test_on_behalf_of(oz: OAuthZone):
    """Three ways to locate the identity reference; the provider turns it into the user's session
    token, which the interceptor exchanges for the downstream resource."""
    downstream, worker_app, app_res, user = scenario(oz)
    sessions = {"user-1": oz.cc_token(user, app_res)}
    seen: list[tuple[str, SubjectTokenContext]] = []

    async def one_arg(ref: str) -> str:
        return sessions[ref]

    async def two_args(ref: str, ctx: SubjectTokenContext) -> str:
        seen.append((ref, ctx))
        return sessions[ref]

    @grant(downstream.identifier)
    @activity.defn
    async def approve(approval: Approval) -> str:
        return access().access_token

    @grant(downstream.identifier, subject_from="order.approver_id")
    @activity.defn
    async def ship(order: Order) -> str:
        return access(downstream.identifier).access_token

    @grant(downstream.identifier, subject_from=Header("user-id"))
    @activity.defn
    async def notify() -> str:
        return access().access_token

    header = DataConverter.default.payload_converter.to_payloads(["user-1"])[0]

    async def main():
        a = await execute(interceptor(oz, worker_app, one_arg), approve, Approval("o-1", "user-1"))
        kc = interceptor(oz, worker_app, two_args)
        b = await execute(kc, ship, Order("o-2", "user-1"))
        c = await execute(kc, notify, headers={"user-id": header})
        return a, b, c

    for token in asyncio.run(main()):
        claims = jwt_claims(token)
        assert claims["aud"] == downstream.identifier
        assert claims["sub"] == user.identifier
        assert claims["act"]["sub"] == worker_app.identifier
        assert claims["client_id"] == worker_app.client_id
    assert [r for r, _ in seen] == ["user-1", "user-1"]
    ctx = seen[0][1]
    assert (ctx.workflow_id, ctx.activity_type, ctx.attempt, ctx.resources) == ("wf-conf", "ship", 2, (downstream.identifier,))


def test_refusals_fail_before_the_activity_body(oz: OAuthZone):
    downstream, worker_app, app_res, user = scenario(oz)
    not_granted = oz.resource()
    sessions = {"user-1": oz.cc_token(user, app_res)}

    async def provider(ref: str) -> str:
        return sessions[ref]

    @grant(not_granted.identifier)
    @activity.defn
    async def as_itself() -> str:
        raise AssertionError("the body must not run")

    @grant(not_granted.identifier, subject_from="who")
    @activity.defn
    async def for_user(who: str) -> str:
        raise AssertionError("the body must not run")

    @grant(downstream.identifier)
    @activity.defn
    async def bad_secret() -> str:
        raise AssertionError("the body must not run")

    async def attempt(kc: KeycardInterceptor, fn: Any, *args: Any) -> ApplicationError:
        end = EndOfChain()
        with pytest.raises(ApplicationError) as e:
            await execute(kc, fn, *args, end=end)
        assert end.ran == [], "the activity ran without its credentials"
        return e.value

    async def main():
        kc = interceptor(oz, worker_app, provider)
        return (
            await attempt(kc, as_itself),
            await attempt(kc, for_user, "user-1"),
            await attempt(interceptor(oz, worker_app, secret="wrong-" + worker_app.secret), bad_secret),
        )

    for err, code in zip(asyncio.run(main()), ["access_denied", "access_denied", "invalid_client"]):
        assert err.type == "KeycardAccessDenied" and err.non_retryable, (err.type, err.non_retryable, str(err))
        assert code in str(err), str(err)


def test_impersonation_is_policy_gated(fresh_zone, records):
    z = fresh_zone()
    downstream, worker_app, _, _ = scenario(z)
    user = records.user(z.kit.zone)

    @grant(downstream.identifier, subject_from="user_id", impersonate=True)
    @activity.defn
    async def nightly_report(user_id: str) -> str:
        return access().access_token

    async def attempt() -> ApplicationError:
        with pytest.raises(ApplicationError) as e:
            await execute(interceptor(z, worker_app), nightly_report, user["identifier"])
        return e.value

    refused = asyncio.run(attempt())
    assert refused.type == "KeycardAccessDenied" and "access_denied" in str(refused), str(refused)
    permit = '@id("impersonate")\npermit (principal is Keycard::Application, action, resource) when { context.impersonate };'
    activated_set(z, [policy_with_version(z, "impersonate", permit)])
    no_grant = asyncio.run(attempt())
    assert "insufficient_authorization" in str(no_grant), str(no_grant)


def test_openai_key_from_the_vault(oz: OAuthZone):
    """`KeycardOpenAIKey` (client credentials on a `keycard-vault` resource) returns the vaulted
    secret itself; within `refresh` the cached key is reused; a rotated secret is picked up once
    the window has passed."""
    vaulted = oz.resource(credential_provider_id=oz.kit.vault_provider_id)
    worker_app = oz.service(depends_on=[vaulted])
    first = "sk-conf-" + vaulted.id + "-1"
    oz.kit.secret(entity_id=vaulted.id, data={"type": "token", "token": first})
    key = KeycardOpenAIKey(
        oz.issuer, vaulted.identifier, ClientSecret((worker_app.client_id, worker_app.secret)), refresh=timedelta(seconds=1)
    )

    async def main() -> tuple[str, str, str]:
        a = await key()
        oz.kit.secret(entity_id=vaulted.id, data={"type": "token", "token": first[:-1] + "2"})
        b = await key()
        time.sleep(1.2)
        c = await key()
        await key.aclose()
        return a, b, c

    assert asyncio.run(main()) == (first, first, first[:-1] + "2")


def test_openai_key_refused(oz: OAuthZone):
    vaulted = oz.resource(credential_provider_id=oz.kit.vault_provider_id)
    stranger = oz.service()
    key = KeycardOpenAIKey(oz.issuer, vaulted.identifier, ClientSecret((stranger.client_id, stranger.secret)))
    with pytest.raises(ApplicationError) as e:
        asyncio.run(key())
    assert e.value.type == "KeycardAccessDenied" and e.value.non_retryable and "access_denied" in str(e.value)
