"""Zones signing with ES256 / EdDSA (Latchkey extension `signing_alg`), and a change of algorithm
taking effect at the next rotation. The Keycard verifier allows RS256 only by default (zone-oauth.md
§5.1); the tokens are checked with `joserfc` (and node `jose` in test_node.py)."""

from __future__ import annotations

import asyncio

import pytest
from joserfc import jwt as jose_jwt
from joserfc.jwk import KeySet
from keycardai.oauth import InvalidTokenError
from keycardai.oauth.server import TokenVerifier

from .kit import OAuthZone, jwt_claims, jwt_header, with_claims

# joserfc flags the EdDSA name as deprecated (RFC 9864); the zone still offers it.
pytestmark = pytest.mark.filterwarnings("ignore:EdDSA is deprecated")

KTY = {"ES256": ("EC", "P-256"), "EdDSA": ("OKP", "Ed25519"), "RS256": ("RSA", None)}


def verify_with_jwks(z: OAuthZone, token: str, alg: str) -> dict:
    keys = KeySet.import_key_set(z.jwks())
    return jose_jwt.decode(token, keys, algorithms=[alg]).claims


@pytest.mark.parametrize("alg", ["ES256", "EdDSA"])
def test_zone_signing_with(fresh_zone, alg: str):
    z = fresh_zone(extra_body={"signing_alg": alg})
    assert z.admin_http.get(f"/zones/{z.id}").json().get("signing_alg") == alg
    kty, crv = KTY[alg]
    jwks = z.jwks()["keys"]
    assert len(jwks) == 2
    for k in jwks:
        assert k["kty"] == kty and k.get("crv") == crv and k["alg"] == alg and k.get("kid"), k
        assert "d" not in k, "private key material published"
    api = z.resource()
    svc = z.service(depends_on=[api])
    token = z.cc_token(svc, api)
    header = jwt_header(token)
    assert header["alg"] == alg
    assert header["kid"] in {k["kid"] for k in jwks}
    claims = verify_with_jwks(z, token, alg)
    assert claims["iss"] == z.issuer and claims["aud"] == api.identifier
    # a forged payload does not verify against the published key
    forged = with_claims(token, aud="https://elsewhere.example.com/")
    with pytest.raises(Exception):
        verify_with_jwks(z, forged, alg)
    # the Keycard verifier refuses non-RS256 tokens by default (expected, §5.1) ...
    with pytest.raises(InvalidTokenError):
        asyncio.run(TokenVerifier(issuer=z.issuer, audience=api.identifier).verify_token(token))
    if alg == "ES256":
        # ... and accepts them when configured for ES256
        at = asyncio.run(
            TokenVerifier(issuer=z.issuer, audience=api.identifier, allowed_algorithms=["ES256"]).verify_token(token)
        )
        assert at.client_id == svc.client_id


def test_unknown_signing_alg_is_refused(admin_http):
    r = admin_http.post("/zones", json={"name": "bad alg", "signing_alg": "HS256"})
    assert r.status_code == 400, r.text


def test_algorithm_change_takes_effect_at_rotation(fresh_zone):
    z = fresh_zone()
    api = z.resource()
    svc = z.service(depends_on=[api])
    before = z.cc_token(svc, api)
    assert jwt_header(before)["alg"] == "RS256"
    r = z.admin_http.patch(f"/zones/{z.id}", json={"signing_alg": "ES256"})
    assert r.status_code == 200, r.text
    keys = {k["status"]: k for k in z.signing_keys()}
    assert keys["current"]["alg"] == "RS256", "the current key does not change with the PATCH"
    assert keys["next"]["alg"] == "ES256", "the staged next key follows the new algorithm"
    assert {k["kid"] for k in z.jwks()["keys"]} == {keys["current"]["kid"], keys["next"]["kid"]}
    still_rsa = z.cc_token(svc, api)
    assert jwt_header(still_rsa)["alg"] == "RS256"
    z.rotate()
    after = z.cc_token(svc, api)
    assert jwt_header(after)["alg"] == "ES256"
    assert jwt_header(after)["kid"] == keys["next"]["kid"]
    verify_with_jwks(z, after, "ES256")
    verify_with_jwks(z, before, "RS256")  # the old RSA key stays published
    # tokens of both algorithms are still accepted as subject tokens by the zone itself
    for t in (before, after):
        assert z.introspect(t, svc).json()["active"] is True
    assert jwt_claims(after)["aud"] == api.identifier
