"""Zone tokens through the resource-server side: the Keycard `TokenVerifier` used by
keycardai-starlette / keycardai-mcp (zone-oauth.md §1.4, §5.1, §5.2, §8 items 2, 3), and signing-key
rotation under a running verifier (staged next → current → previous, grace period)."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timedelta, timezone

import pytest
from keycardai.oauth import InvalidTokenError
from keycardai.oauth.server import TokenVerifier

from .kit import OAuthZone, assert_oauth_error, flip_signature, jwt_claims, jwt_header, with_claims


def verify(v: TokenVerifier, token: str):
    return asyncio.run(v.verify_token(token))


def test_verifier_accepts_zone_tokens(oz: OAuthZone):
    api = oz.resource(scopes=["read", "write"])
    svc = oz.service(depends_on=[api])
    token = oz.cc_token(svc, api, scope="read write")
    v = TokenVerifier(issuer=oz.issuer, audience=api.identifier, required_scopes=["read"])
    at = verify(v, token)
    assert at.client_id == svc.client_id
    assert at.sub == svc.identifier
    assert at.sub_profile == "app"
    assert at.keycard_app_id == svc.app.id
    assert sorted(at.scopes) == ["read", "write"]
    assert at.expires_at == jwt_claims(token)["exp"]


def test_verifier_rejects_missing_scope(oz: OAuthZone):
    api = oz.resource(scopes=["read", "write"])
    svc = oz.service(depends_on=[api])
    v = TokenVerifier(issuer=oz.issuer, audience=api.identifier, required_scopes=["write"])
    verify(v, oz.cc_token(svc, api, scope="write"))
    with pytest.raises(InvalidTokenError):
        verify(v, oz.cc_token(svc, api, scope="read"))
    with pytest.raises(InvalidTokenError):
        verify(v, oz.cc_token(svc, api))


@pytest.mark.parametrize("kind", ["bad-signature", "forged-sub", "forged-exp", "alg-none"])
def test_verifier_rejects_tampered_tokens(oz: OAuthZone, kind: str):
    api = oz.resource()
    svc = oz.service(depends_on=[api])
    token = oz.cc_token(svc, api)
    v = TokenVerifier(issuer=oz.issuer, audience=api.identifier)
    verify(v, token)  # the untampered token passes
    if kind == "bad-signature":
        bad = flip_signature(token)
    elif kind == "forged-sub":
        bad = with_claims(token, sub="admin")
    elif kind == "forged-exp":
        bad = with_claims(token, exp=jwt_claims(token)["exp"] + 86400)
    else:
        import base64
        import json

        hdr = base64.urlsafe_b64encode(json.dumps({"alg": "none", "kid": jwt_header(token)["kid"]}).encode())
        bad = hdr.rstrip(b"=").decode() + "." + token.split(".")[1] + "."
    with pytest.raises(Exception) as info:
        verify(v, bad)
    assert isinstance(info.value, (InvalidTokenError, ValueError)), repr(info.value)


def test_verifier_rejects_wrong_audience(oz: OAuthZone):
    api, other = oz.resource(), oz.resource()
    svc = oz.service(depends_on=[api, other])
    v = TokenVerifier(issuer=oz.issuer, audience=api.identifier)
    verify(v, oz.cc_token(svc, api))
    with pytest.raises(InvalidTokenError):
        verify(v, oz.cc_token(svc, other))


def test_verifier_rejects_another_zones_token(oz: OAuthZone, fresh_zone):
    """Same resource identifier in two zones: a token from zone B does not pass zone A's verifier
    (issuer allow-list), while a verifier trusting both issuers accepts both (keys per issuer)."""
    api = oz.resource()
    svc = oz.service(depends_on=[api])
    other = fresh_zone()
    api_b = other.resource(identifier=api.identifier)
    svc_b = other.service(depends_on=[api_b])
    token_a, token_b = oz.cc_token(svc, api), other.cc_token(svc_b, api_b)
    assert jwt_header(token_a)["kid"] != jwt_header(token_b)["kid"]
    v = TokenVerifier(issuer=oz.issuer, audience=api.identifier)
    verify(v, token_a)
    with pytest.raises(InvalidTokenError):
        verify(v, token_b)
    # zone B's token re-labelled with zone A's issuer fails the signature check
    with pytest.raises(Exception):
        verify(v, with_claims(token_b, iss=oz.issuer))
    both = TokenVerifier(issuer=[oz.issuer, other.issuer], audience=api.identifier)

    async def run():
        return [await both.verify_token(token_a), await both.verify_token(token_b)]

    a, b = asyncio.run(run())
    assert (a.client_id, b.client_id) == (svc.client_id, svc_b.client_id)


@pytest.mark.filterwarnings("ignore::keycardai.oauth.server.MissingAudienceWarning")
def test_expired_tokens(oz: OAuthZone):
    """A 1-second resource lifetime: after 2 s the verifier, introspection and token exchange all
    treat the token as expired (a token of the same owner with the default lifetime is the control)."""
    downstream = oz.resource()
    server = oz.service(depends_on=[downstream])
    short = oz.resource(owner=server, credential_lifetime_seconds=1)
    normal = oz.resource(owner=server)
    caller = oz.service(depends_on=[short, normal])
    with oz.client(caller) as c:
        resp = c.client_credentials_grant(resource=short.identifier)
    token = resp.access_token
    claims = jwt_claims(token)
    assert resp.expires_in == 1 == claims["exp"] - claims["iat"]
    time.sleep(2.1)
    control = oz.cc_token(caller, normal)
    v = TokenVerifier(issuer=oz.issuer)  # no audience: only the expiry tells the two apart
    verify(v, control)
    with pytest.raises(InvalidTokenError):
        verify(v, token)
    assert oz.introspect(control, server).json()["active"] is True
    r = oz.introspect(token, server)
    assert r.status_code == 200 and r.json() == {"active": False}, r.text
    assert oz.exchange_post(control, downstream.identifier, server.headers()).status_code == 200
    assert_oauth_error(oz.exchange_post(token, downstream.identifier, server.headers()), 400, "invalid_grant")


def _parse(ts: str) -> datetime:
    return datetime.fromisoformat(ts.replace("Z", "+00:00"))


def test_key_rotation_under_a_running_verifier(fresh_zone):
    z = fresh_zone()
    api = z.resource()
    svc = z.service(depends_on=[api])
    keys0 = {k["status"]: k["kid"] for k in z.signing_keys()}
    assert set(keys0) == {"current", "next"}
    jwks0 = {k["kid"] for k in z.jwks()["keys"]}
    assert jwks0 == {keys0["current"], keys0["next"]}, "the staged next key is published before it signs"

    t1 = z.cc_token(svc, api)
    assert jwt_header(t1)["kid"] == keys0["current"]
    v = TokenVerifier(issuer=z.issuer, audience=api.identifier)

    async def run():
        await v.verify_token(t1)
        rotated = z.rotate()
        k1 = {k["kid"]: k["status"] for k in rotated}
        assert k1[keys0["current"]] == "previous" and k1[keys0["next"]] == "current", k1
        t2 = z.cc_token(svc, api)
        assert jwt_header(t2)["kid"] == keys0["next"], "after rotation the former next key signs"
        await v.verify_token(t2)  # unknown kid → the verifier refetches the JWKS
        await v.verify_token(t1)  # still cached and still published
        rotated = z.rotate()
        t3 = z.cc_token(svc, api)
        await v.verify_token(t3)
        return rotated, t2, t3

    rotated, t2, t3 = asyncio.run(run())
    status = {k["kid"]: k["status"] for k in rotated}
    assert status[keys0["current"]] == "previous", "the first key stays published after two rotations"
    assert status[keys0["next"]] == "previous"
    assert sorted(status.values()) == ["current", "next", "previous", "previous"], status
    published = {k["kid"] for k in z.jwks()["keys"]}
    assert published == set(status), "JWKS must publish next, current and every previous key"
    now = datetime.now(timezone.utc)
    for k in rotated:
        if k["status"] == "previous":
            assert k["retire_at"], k
            assert _parse(k["retire_at"]) >= now + timedelta(hours=24) - timedelta(seconds=60), k
        else:
            assert k.get("retire_at") is None, k
    # a brand-new verifier (cold caches) accepts tokens signed by all three generations
    cold = TokenVerifier(issuer=z.issuer, audience=api.identifier)

    async def cold_run():
        for t in (t1, t2, t3):
            await cold.verify_token(t)

    asyncio.run(cold_run())
    for t in (t1, t2, t3):
        r = z.introspect(t, svc)
        assert r.json().get("active") is True, r.text
