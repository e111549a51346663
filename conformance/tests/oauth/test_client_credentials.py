"""`grant_type=client_credentials` through the Keycard OAuth SDK (zone-oauth.md §2.3, §3.1, §5.1,
§7.1, §8 items 2, 8, 12, 14, 15)."""

from __future__ import annotations

import time

import pytest
from keycardai.oauth import OAuthProtocolError

from .kit import OAuthZone, assert_oauth_error, basic, jwt_claims, jwt_header


def test_sdk_client_credentials_token_and_claims(oz: OAuthZone):
    api = oz.resource(scopes=["read", "write"])
    svc = oz.service(depends_on=[api])
    with oz.client(svc) as c:
        before = int(time.time())
        resp = c.client_credentials_grant(resource=api.identifier)
    assert resp.token_type.lower() == "bearer"
    assert resp.headers.get("cache-control") == "no-store", resp.headers
    header = jwt_header(resp.access_token)
    assert header["alg"] == "RS256"
    current = [k["kid"] for k in oz.signing_keys() if k["status"] == "current"]
    assert header.get("kid") in current, (header, current)
    claims = jwt_claims(resp.access_token)
    assert claims["iss"] == oz.issuer
    assert claims["sub"] == svc.identifier, "app tokens: sub = application identifier"
    assert claims["aud"] == api.identifier
    assert claims["client_id"] == svc.client_id
    assert claims["sub_profile"] == "app"
    assert claims["keycard_app_id"] == svc.app.id
    assert isinstance(claims["jti"], str) and claims["jti"]
    assert "scope" not in claims, "no scope claim unless scopes were requested (§8 item 12)"
    assert isinstance(claims["iat"], int) and isinstance(claims["exp"], int)
    assert before - 5 <= claims["iat"] <= int(time.time()) + 5
    assert resp.expires_in == claims["exp"] - claims["iat"] > 0
    assert resp.scope is None


def test_jti_is_unique_per_token(oz: OAuthZone):
    api = oz.resource()
    svc = oz.service(depends_on=[api])
    a, b = oz.cc_token(svc, api), oz.cc_token(svc, api)
    assert jwt_claims(a)["jti"] != jwt_claims(b)["jti"]


def test_requested_scopes(oz: OAuthZone):
    api = oz.resource(scopes=["read", "write", "admin"])
    svc = oz.service(depends_on=[api])
    with oz.client(svc) as c:
        resp = c.client_credentials_grant(resource=api.identifier, scope="read write")
        assert sorted(resp.scope or []) == ["read", "write"]
        assert sorted(jwt_claims(resp.access_token)["scope"].split(" ")) == ["read", "write"]
        with pytest.raises(OAuthProtocolError) as info:
            c.client_credentials_grant(resource=api.identifier, scope="read delete")
    assert info.value.error == "invalid_scope"


def test_lifetime_follows_the_resource(oz: OAuthZone):
    api = oz.resource(credential_lifetime_seconds=120)
    svc = oz.service(depends_on=[api])
    with oz.client(svc) as c:
        resp = c.client_credentials_grant(resource=api.identifier)
    claims = jwt_claims(resp.access_token)
    assert resp.expires_in == 120 == claims["exp"] - claims["iat"]


def test_audience_alias_and_stray_parameters(oz: OAuthZone):
    """The a2a DelegationClient shape: `audience` instead of `resource`, plus a stray
    `subject_token_type` (§2.3)."""
    api = oz.resource()
    svc = oz.service(depends_on=[api])
    r = oz.token_post(
        {
            "grant_type": "client_credentials",
            "audience": api.identifier,
            "subject_token_type": "urn:ietf:params:oauth:token-type:access_token",
            "unknown_parameter": "ignored",
        },
        svc.headers(),
    )
    assert r.status_code == 200, r.text
    assert jwt_claims(r.json()["access_token"])["aud"] == api.identifier
    both = oz.token_post(
        {"grant_type": "client_credentials", "audience": api.identifier, "resource": api.identifier},
        svc.headers(),
    )
    assert both.status_code == 200, f"resource == audience is one target (§8 item 26): {both.text}"


def test_prefix_resource_audience_is_the_requested_url(oz: OAuthZone):
    api = oz.resource(prefix=True)
    svc = oz.service(depends_on=[api])
    wanted = api.identifier.rstrip("/") + "/v1/items"
    token = oz.cc_token(svc, wanted)
    assert jwt_claims(token)["aud"] == wanted


def test_provided_resource_needs_no_dependency(oz: OAuthZone):
    """An application may get an app token for a resource it provides (owns)."""
    svc = oz.service()
    own = oz.resource(owner=svc)
    assert jwt_claims(oz.cc_token(svc, own))["aud"] == own.identifier


def test_resource_without_dependency_is_access_denied(oz: OAuthZone):
    api, other = oz.resource(), oz.resource()
    svc = oz.service(depends_on=[api])
    with oz.client(svc) as c:
        with pytest.raises(OAuthProtocolError) as info:
            c.client_credentials_grant(resource=other.identifier)
    assert info.value.error == "access_denied"
    assert info.value.retryable is False
    assert_oauth_error(
        oz.token_post({"grant_type": "client_credentials", "resource": other.identifier}, svc.headers()),
        400,
        "access_denied",
    )


def test_unknown_resource_is_invalid_target(oz: OAuthZone):
    svc = oz.service(depends_on=[oz.resource()])
    r = oz.token_post(
        {"grant_type": "client_credentials", "resource": "https://nowhere.example.com/api"}, svc.headers()
    )
    assert_oauth_error(r, 400, "invalid_target")


def test_two_targets_are_refused(oz: OAuthZone):
    a, b = oz.resource(), oz.resource()
    svc = oz.service(depends_on=[a, b])
    r = oz.http.post(
        oz.token_endpoint,
        content=f"grant_type=client_credentials&resource={a.identifier}&resource={b.identifier}",
        headers={**svc.headers(), "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code == 400, r.text
    assert r.json()["error"] in ("invalid_target", "invalid_request"), r.text


def test_missing_resource_without_default_is_invalid_request(oz: OAuthZone):
    svc = oz.service(depends_on=[oz.resource()])
    assert_oauth_error(oz.token_post({"grant_type": "client_credentials"}, svc.headers()), 400, "invalid_request")


def test_missing_resource_uses_the_zone_default(fresh_zone):
    z = fresh_zone()
    api = z.resource()
    svc = z.service(depends_on=[api])
    z.kit.client.zones.update(z.id, default_resource_id=api.id)
    r = z.token_post({"grant_type": "client_credentials"}, svc.headers())
    assert r.status_code == 200, r.text
    assert jwt_claims(r.json()["access_token"])["aud"] == api.identifier


def test_wrong_secret_is_invalid_client_with_basic_challenge(oz: OAuthZone):
    api = oz.resource()
    svc = oz.service(depends_on=[api])
    svc.secret = svc.secret + "x"
    with oz.client(svc) as c:
        with pytest.raises(OAuthProtocolError) as info:
            c.client_credentials_grant(resource=api.identifier)
    assert info.value.error == "invalid_client"
    r = oz.token_post({"grant_type": "client_credentials", "resource": api.identifier}, svc.headers())
    assert_oauth_error(r, 401, "invalid_client", basic_challenge=True)
    unknown = oz.token_post(
        {"grant_type": "client_credentials", "resource": api.identifier}, basic("no-such-client", "secret")
    )
    assert_oauth_error(unknown, 401, "invalid_client", basic_challenge=True)


def test_percent_encoded_basic_secret_proves_on_repeats_and_a_wrong_one_never_does(oz: OAuthZone):
    """RFC 6749 §2.3.1: `client_secret_basic` form-encodes the secret before base64, and any
    character may be percent-encoded. Once a request has succeeded, its repeats are answered
    from a plan that keeps the credential's digest (falling back to the full path when the plan
    cannot tell): the encoded secret must keep working, and a wrong one must be refused however
    often the right one came first, encoded or not."""
    api = oz.resource()
    svc = oz.service(depends_on=[api])
    body = {"grant_type": "client_credentials", "resource": api.identifier}

    def encoded(secret: str) -> dict:
        return basic(svc.client_id, "".join(f"%{b:02X}" for b in secret.encode()))

    assert oz.token_post(body, svc.headers()).status_code == 200  # the plan is made here
    for _ in range(3):
        r = oz.token_post(body, encoded(svc.secret))
        assert r.status_code == 200, r.text
        assert jwt_claims(r.json()["access_token"])["client_id"] == svc.client_id
    for wrong in (svc.secret + "x", svc.secret[:-1], ""):
        for _ in range(2):
            assert_oauth_error(oz.token_post(body, encoded(wrong)), 401, "invalid_client", basic_challenge=True)
    assert oz.token_post(body, svc.headers()).status_code == 200


def test_no_client_authentication_is_invalid_client(oz: OAuthZone):
    api = oz.resource()
    r = oz.token_post({"grant_type": "client_credentials", "resource": api.identifier})
    assert_oauth_error(r, 401, "invalid_client")
    public_only = oz.token_post(
        {"grant_type": "client_credentials", "resource": api.identifier, "client_id": "someone"}
    )
    assert_oauth_error(public_only, 401, "invalid_client")


def test_client_secret_post_and_matching_body_client_id(oz: OAuthZone):
    api = oz.resource()
    svc = oz.service(depends_on=[api])
    post = oz.token_post(
        {
            "grant_type": "client_credentials",
            "resource": api.identifier,
            "client_id": svc.client_id,
            "client_secret": svc.secret,
        }
    )
    assert post.status_code == 200, post.text
    assert jwt_claims(post.json()["access_token"])["client_id"] == svc.client_id
    both = oz.token_post(
        {"grant_type": "client_credentials", "resource": api.identifier, "client_id": svc.client_id},
        svc.headers(),
    )
    assert both.status_code == 200, f"body client_id equal to the Basic user is one method (§3.1): {both.text}"


def test_grant_type_errors(oz: OAuthZone):
    svc = oz.service(depends_on=[oz.resource()])
    assert_oauth_error(oz.token_post({"grant_type": "password", "username": "u"}, svc.headers()), 400, "unsupported_grant_type")
    assert_oauth_error(
        oz.token_post({"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer"}, svc.headers()),
        400,
        "unsupported_grant_type",
    )
    assert_oauth_error(oz.token_post({"resource": "x"}, svc.headers()), 400, "invalid_request")


def test_other_zones_credentials_do_not_work(oz: OAuthZone, fresh_zone):
    """A credential belongs to its zone: the same client id/secret at another zone's token
    endpoint is `invalid_client`."""
    api = oz.resource()
    svc = oz.service(depends_on=[api])
    other = fresh_zone()
    r = other.token_post({"grant_type": "client_credentials", "resource": api.identifier}, svc.headers())
    assert_oauth_error(r, 401, "invalid_client", basic_challenge=True)


def test_repeated_parameters_are_invalid_request(oz: OAuthZone):
    """RFC 6749 §3.2/§5.2: a request that repeats a parameter is `invalid_request` (RFC 8707 makes
    `resource` the one repeatable parameter)."""
    api = oz.resource()
    svc = oz.service(depends_on=[api])
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    twice = oz.http.post(
        oz.token_endpoint,
        content=(
            "grant_type=client_credentials&grant_type=urn:ietf:params:oauth:grant-type:token-exchange"
            f"&resource={api.identifier}"
        ),
        headers={**svc.headers(), **form},
    )
    assert_oauth_error(twice, 400, "invalid_request")
    scope_twice = oz.http.post(
        oz.token_endpoint,
        content=f"grant_type=client_credentials&resource={api.identifier}&scope=a&scope=b",
        headers={**svc.headers(), **form},
    )
    assert_oauth_error(scope_twice, 400, "invalid_request")


def test_json_body_is_not_a_token_request(oz: OAuthZone):
    api = oz.resource()
    svc = oz.service(depends_on=[api])
    r = oz.http.post(
        oz.token_endpoint, json={"grant_type": "client_credentials", "resource": api.identifier}, headers=svc.headers()
    )
    assert_oauth_error(r, 400, "invalid_request")


def test_registered_public_client_cannot_use_client_credentials(oz: OAuthZone):
    """A DCR client is public (`none`): client credentials needs a confidential client."""
    api = oz.resource()
    reg = oz.http.post(oz.registration_endpoint, json={"client_name": "pub", "redirect_uris": ["http://localhost:7/cb"]})
    assert reg.status_code == 201, reg.text
    cid = reg.json()["client_id"]
    r = oz.token_post({"grant_type": "client_credentials", "resource": api.identifier, "client_id": cid})
    assert_oauth_error(r, 401, "invalid_client")
    r = oz.token_post({"grant_type": "client_credentials", "resource": api.identifier}, basic(cid, ""))
    assert_oauth_error(r, 401, "invalid_client", basic_challenge=True)


def test_401_challenges_name_a_scheme_the_token_endpoint_supports(oz: OAuthZone):
    """RFC 6749 §5.2: a 401 `invalid_client` "indicates which HTTP authentication schemes are
    supported". The token endpoint takes Basic, never Bearer, so a challenge sent with a failure
    of a body-based method (client_secret_post, no credentials) must not be `Bearer`."""
    api = oz.resource()
    svc = oz.service(depends_on=[api])
    failures = {
        "client_secret_post": oz.token_post(
            {"grant_type": "client_credentials", "resource": api.identifier, "client_id": svc.client_id, "client_secret": "x"}
        ),
        "nothing": oz.token_post({"grant_type": "client_credentials", "resource": api.identifier}),
    }
    for name, r in failures.items():
        assert_oauth_error(r, 401, "invalid_client")
        challenge = r.headers.get("www-authenticate", "")
        assert not challenge.lower().startswith("bearer"), f"{name}: WWW-Authenticate: {challenge!r}"
