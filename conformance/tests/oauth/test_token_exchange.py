"""RFC 8693 token exchange through the Keycard OAuth SDK with `client_secret_basic`
(zone-oauth.md §2.5, §5.1, §6.2 step 3, §7.1, §8 items 5, 8, 22, 26, 27)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import pytest
from keycardai.oauth import AsyncClient, ClientConfig, OAuthProtocolError
from keycardai.oauth.server import AccessContext, ClientSecret, exchange_tokens_for_resources

from .kit import (
    ACCESS_TOKEN_TYPE,
    OAuthZone,
    Service,
    assert_oauth_error,
    basic,
    flip_signature,
    jwt_claims,
    with_claims,
)


@dataclass
class Chain:
    """caller --(client_credentials)--> api (owned by server) --(exchange by server)--> downstream."""

    caller: Service
    server: Service
    api: object
    downstream: object
    subject_token: str


def make_chain(z: OAuthZone, downstream_scopes=None) -> Chain:
    downstream = z.resource(scopes=downstream_scopes)
    server = z.service(depends_on=[downstream])
    api = z.resource(owner=server)
    caller = z.service(depends_on=[api])
    return Chain(caller, server, api, downstream, z.cc_token(caller, api))


def test_sdk_exchange_with_basic_auth(oz: OAuthZone):
    ch = make_chain(oz)
    with oz.client(ch.server) as c:
        resp = c.exchange_token(
            subject_token=ch.subject_token,
            subject_token_type=ACCESS_TOKEN_TYPE,
            resource=ch.downstream.identifier,
        )
    assert resp.issued_token_type == ACCESS_TOKEN_TYPE
    assert resp.token_type.lower() == "bearer"
    assert resp.headers.get("cache-control") == "no-store"
    claims = jwt_claims(resp.access_token)
    subject = jwt_claims(ch.subject_token)
    assert claims["iss"] == oz.issuer
    assert claims["aud"] == ch.downstream.identifier
    assert claims["sub"] == subject["sub"] == ch.caller.identifier, "the subject stays the subject token's sub"
    assert claims["client_id"] == ch.server.client_id, "client_id = the credential that authenticated"
    assert claims["keycard_app_id"] == ch.server.app.id, "keycard_app_id = the calling application"
    assert claims["sub_profile"] == subject["sub_profile"]
    assert isinstance(claims.get("act"), dict), f"no `act` claim: {claims}"
    assert claims["act"]["sub"] == ch.server.identifier, claims["act"]
    assert claims["jti"] != subject["jti"]
    assert resp.expires_in == claims["exp"] - claims["iat"]
    assert "scope" not in claims


def test_nested_delegation_keeps_the_actor_chain(oz: OAuthZone):
    """server exchanges the caller's token for `mid` (owned by a second service), which exchanges
    that token again: the outer `act` is the second service, its nested `act` the first (RFC 8693 §4.1)."""
    final = oz.resource()
    second = oz.service(depends_on=[final])
    mid = oz.resource(owner=second)
    first = oz.service(depends_on=[mid])
    api = oz.resource(owner=first)
    caller = oz.service(depends_on=[api])
    t0 = oz.cc_token(caller, api)
    r1 = oz.exchange_post(t0, mid.identifier, first.headers())
    assert r1.status_code == 200, r1.text
    r2 = oz.exchange_post(r1.json()["access_token"], final.identifier, second.headers())
    assert r2.status_code == 200, r2.text
    claims = jwt_claims(r2.json()["access_token"])
    assert claims["sub"] == caller.identifier
    assert claims["aud"] == final.identifier
    assert claims["act"]["sub"] == second.identifier
    assert claims["act"]["act"]["sub"] == first.identifier


def test_async_exchange_with_scope_and_the_sdk_orchestrator(oz: OAuthZone):
    """`AsyncClient.exchange_token` with `scope`, and `exchange_tokens_for_resources` (what `@grant`
    runs) with a `ClientSecret` credential: one token per resource, errors kept per resource."""
    ch = make_chain(oz, downstream_scopes=["read", "write"])
    unrelated = oz.resource()

    async def run():
        cred = ClientSecret((ch.server.client_id, ch.server.secret))
        async with AsyncClient(oz.issuer, auth=cred.get_http_client_auth(), config=ClientConfig(max_retries=0)) as c:
            scoped = await c.exchange_token(
                subject_token=ch.subject_token,
                subject_token_type=ACCESS_TOKEN_TYPE,
                resource=ch.downstream.identifier,
                scope="read",
            )
            with pytest.raises(OAuthProtocolError) as bad_scope:
                await c.exchange_token(
                    subject_token=ch.subject_token,
                    subject_token_type=ACCESS_TOKEN_TYPE,
                    resource=ch.downstream.identifier,
                    scope="delete",
                )
            ctx = await exchange_tokens_for_resources(
                client=c,
                resources=[ch.downstream.identifier, unrelated.identifier],
                subject_token=ch.subject_token,
                access_context=AccessContext(),
                application_credential=cred,
            )
            return scoped, bad_scope.value, ctx

    scoped, bad_scope, ctx = asyncio.run(run())
    assert scoped.scope == ["read"]
    assert jwt_claims(scoped.access_token)["scope"] == "read"
    assert bad_scope.error == "invalid_scope"
    assert jwt_claims(ctx.access(ch.downstream.identifier).access_token)["aud"] == ch.downstream.identifier
    err = ctx.get_resource_error(unrelated.identifier)
    assert err and err.get("code") == "access_denied", ctx.get_errors()
    assert err.get("retryable") is False


def test_audience_equal_to_resource_is_one_target(oz: OAuthZone):
    ch = make_chain(oz)
    r = oz.exchange_post(ch.subject_token, ch.downstream.identifier, ch.server.headers(), audience=ch.downstream.identifier)
    assert r.status_code == 200, r.text
    r = oz.exchange_post(
        ch.subject_token, ch.downstream.identifier, ch.server.headers(), requested_token_type=ACCESS_TOKEN_TYPE
    )
    assert r.status_code == 200, f"requested_token_type=access_token must be accepted: {r.text}"


def test_token_of_another_applications_resource_is_invalid_grant(oz: OAuthZone):
    """One application cannot exchange a token minted for another application's resource (§6.2)."""
    ch = make_chain(oz)
    intruder = oz.service(depends_on=[ch.downstream])
    assert_oauth_error(oz.exchange_post(ch.subject_token, ch.downstream.identifier, intruder.headers()), 400, "invalid_grant")
    with oz.client(intruder) as c:
        with pytest.raises(OAuthProtocolError) as info:
            c.exchange_token(
                subject_token=ch.subject_token, subject_token_type=ACCESS_TOKEN_TYPE, resource=ch.downstream.identifier
            )
    assert info.value.error == "invalid_grant"


def test_token_whose_audience_has_no_owner_is_invalid_grant(oz: OAuthZone):
    downstream = oz.resource()
    server = oz.service(depends_on=[downstream])
    ownerless = oz.resource()
    caller = oz.service(depends_on=[ownerless])
    token = oz.cc_token(caller, ownerless)
    assert_oauth_error(oz.exchange_post(token, downstream.identifier, server.headers()), 400, "invalid_grant")


@pytest.mark.parametrize("kind", ["garbage", "bad-signature", "forged-claims", "other-zone"])
def test_bad_subject_tokens_are_invalid_grant(oz: OAuthZone, fresh_zone, kind: str):
    ch = make_chain(oz)
    if kind == "garbage":
        token = "not-a-jwt"
    elif kind == "bad-signature":
        token = flip_signature(ch.subject_token)
    elif kind == "forged-claims":
        token = with_claims(ch.subject_token, sub="someone-else")
    else:
        other = fresh_zone()
        api = other.resource(identifier=ch.api.identifier)
        caller = other.service(depends_on=[api])
        token = other.cc_token(caller, api)
        assert jwt_claims(token)["aud"] == ch.api.identifier
    assert_oauth_error(oz.exchange_post(token, ch.downstream.identifier, ch.server.headers()), 400, "invalid_grant")


def test_target_errors(oz: OAuthZone):
    ch = make_chain(oz)
    assert_oauth_error(
        oz.exchange_post(ch.subject_token, "https://nowhere.example.com/x", ch.server.headers()), 400, "invalid_target"
    )
    not_a_dependency = oz.resource()
    assert_oauth_error(
        oz.exchange_post(ch.subject_token, not_a_dependency.identifier, ch.server.headers()), 400, "access_denied"
    )
    owned_only = oz.resource(owner=ch.server)
    assert_oauth_error(
        oz.exchange_post(ch.subject_token, owned_only.identifier, ch.server.headers()),
        400,
        "access_denied",
    )


def test_request_errors(oz: OAuthZone):
    ch = make_chain(oz)
    base = {
        "grant_type": "urn:ietf:params:oauth:grant-type:token-exchange",
        "resource": ch.downstream.identifier,
    }
    h = ch.server.headers()
    assert_oauth_error(oz.token_post({**base, "subject_token_type": ACCESS_TOKEN_TYPE}, h), 400, "invalid_request")
    assert_oauth_error(oz.token_post({**base, "subject_token": ch.subject_token}, h), 400, "invalid_request")
    assert_oauth_error(
        oz.token_post(
            {**base, "subject_token": ch.subject_token, "subject_token_type": "urn:example:not-a-type"}, h
        ),
        400,
        "invalid_request",
    )


def test_exchange_client_authentication(oz: OAuthZone):
    """No credentials at all (the DCR-only resource-server path) is `invalid_client` 401 (§8 item
    27); a wrong secret over Basic is 401 with a Basic challenge."""
    ch = make_chain(oz)
    assert_oauth_error(oz.exchange_post(ch.subject_token, ch.downstream.identifier), 401, "invalid_client")

    async def anonymous():
        async with AsyncClient(oz.issuer, config=ClientConfig(max_retries=0)) as c:
            ctx = await exchange_tokens_for_resources(
                client=c,
                resources=[ch.downstream.identifier],
                subject_token=ch.subject_token,
                access_context=AccessContext(),
            )
            return ctx.get_resource_error(ch.downstream.identifier)

    err = asyncio.run(anonymous())
    assert err and err.get("code") == "invalid_client", err
    wrong = oz.exchange_post(ch.subject_token, ch.downstream.identifier, basic(ch.server.client_id, "wrong"))
    assert_oauth_error(wrong, 401, "invalid_client", basic_challenge=True)


def test_sdk_basic_auth_against_multi_zone_credentials(oz: OAuthZone, fresh_zone):
    """`MultiZoneBasicAuth` (keyed by issuer) picks the right zone's credential per request."""
    ch1 = make_chain(oz)
    other = fresh_zone()
    ch2 = make_chain(other)
    cred = ClientSecret(
        {oz.issuer: (ch1.server.client_id, ch1.server.secret), other.issuer: (ch2.server.client_id, ch2.server.secret)}
    )

    async def run():
        out = []
        for z, ch in ((oz, ch1), (other, ch2)):
            async with AsyncClient(z.issuer, auth=cred.get_http_client_auth(), config=ClientConfig(max_retries=0)) as c:
                out.append(
                    await c.exchange_token(
                        subject_token=ch.subject_token,
                        subject_token_type=ACCESS_TOKEN_TYPE,
                        resource=ch.downstream.identifier,
                    )
                )
        return out

    a, b = asyncio.run(run())
    assert jwt_claims(a.access_token)["iss"] == oz.issuer
    assert jwt_claims(b.access_token)["iss"] == other.issuer
    assert jwt_claims(b.access_token)["client_id"] == ch2.server.client_id
