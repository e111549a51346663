"""Introspection (RFC 7662) and revocation (RFC 7009) behind client authentication
(zone-oauth.md §1.2 last row, §8 item 30; Latchkey contract: self-contained JWTs cannot be revoked)."""

from __future__ import annotations

from .kit import OAuthZone, assert_oauth_error, basic, flip_signature, jwt_claims


def test_introspection_of_an_active_token(oz: OAuthZone):
    api = oz.resource(scopes=["read"])
    svc = oz.service(depends_on=[api])
    token = oz.cc_token(svc, api, scope="read")
    auditor = oz.service()
    r = oz.introspect(token, auditor)
    assert r.status_code == 200, r.text
    assert r.headers.get("cache-control") == "no-store"
    body = r.json()
    claims = jwt_claims(token)
    assert body["active"] is True
    for k in ("iss", "sub", "aud", "exp", "iat", "client_id", "scope", "jti"):
        assert body[k] == claims[k], (k, body)


def test_introspection_of_bad_tokens_is_inactive(oz: OAuthZone, fresh_zone):
    api = oz.resource()
    svc = oz.service(depends_on=[api])
    token = oz.cc_token(svc, api)
    other = fresh_zone()
    o_api = other.resource(identifier=api.identifier)
    o_svc = other.service(depends_on=[o_api])
    for bad in ("garbage", flip_signature(token), other.cc_token(o_svc, o_api)):
        r = oz.introspect(bad, svc)
        assert r.status_code == 200, r.text
        assert r.json() == {"active": False}, r.text


def test_introspection_requires_client_authentication(oz: OAuthZone):
    api = oz.resource()
    svc = oz.service(depends_on=[api])
    token = oz.cc_token(svc, api)
    assert_oauth_error(oz.http.post(oz.introspection_endpoint, data={"token": token}), 401, "invalid_client")
    wrong = oz.http.post(oz.introspection_endpoint, data={"token": token}, headers=basic(svc.client_id, "nope"))
    assert_oauth_error(wrong, 401, "invalid_client", basic_challenge=True)
    missing = oz.http.post(oz.introspection_endpoint, data={}, headers=svc.headers())
    assert_oauth_error(missing, 400, "invalid_request")
    post = oz.http.post(
        oz.introspection_endpoint, data={"token": token, "client_id": svc.client_id, "client_secret": svc.secret}
    )
    assert post.status_code == 200 and post.json()["active"] is True, post.text


def test_revocation(oz: OAuthZone):
    api = oz.resource()
    svc = oz.service(depends_on=[api])
    token = oz.cc_token(svc, api)
    r = oz.http.post(oz.revocation_endpoint, data={"token": token}, headers=svc.headers())
    assert_oauth_error(r, 400, "unsupported_token_type")
    assert oz.introspect(token, svc).json()["active"] is True, "an unrevocable token stays active"
    unknown = oz.http.post(oz.revocation_endpoint, data={"token": "no-such-token"}, headers=svc.headers())
    assert unknown.status_code == 200, unknown.text
    anonymous = oz.http.post(oz.revocation_endpoint, data={"token": "no-such-token"})
    assert_oauth_error(anonymous, 401, "invalid_client")


def test_revocation_by_a_public_client(oz: OAuthZone):
    """The metadata advertises `none` in `revocation_endpoint_auth_methods_supported`, so a public
    (registered) client identifying itself with `client_id` alone may call the revocation endpoint
    (RFC 7009 §2.1); an unknown token then answers 200."""
    meta = oz.http.get(oz.issuer + "/.well-known/oauth-authorization-server").json()
    assert "none" in meta["revocation_endpoint_auth_methods_supported"]
    reg = oz.http.post(oz.registration_endpoint, json={"client_name": "pub", "redirect_uris": ["http://localhost:7/cb"]})
    assert reg.status_code == 201, reg.text
    r = oz.http.post(oz.revocation_endpoint, data={"token": "no-such-token", "client_id": reg.json()["client_id"]})
    assert r.status_code == 200, f"public-client revocation: {r.status_code} {r.text}"
