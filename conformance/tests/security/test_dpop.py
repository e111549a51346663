"""DPoP (RFC 9449): sender-constrained tokens, and the attacks on them.

A client signs a proof (`typ: dpop+jwt`, its public key in the header, the request's method and
URL, a fresh `iat`, a unique `jti`) and sends it as the `DPoP` header. What must hold:

* a token issued on a proof is of type `DPoP` and carries `cnf.jkt`, the RFC 7638 thumbprint of
  the proof's key (client credentials, authorization code, refresh, token exchange);
* a proof that is replayed, for another method or URL, too old or too new, unsigned, signed by a
  symmetric or another key, or carrying private key material is `invalid_dpop_proof`;
* a public client's refresh token is bound to its key: without a proof of that key it refreshes
  nothing, and the failed attempt does not burn it;
* a bound token is refused at the userinfo endpoint as a plain bearer token and accepted with the
  `DPoP` scheme and a proof carrying `ath`, the hash of the token;
* introspection shows `cnf` and the type.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
import uuid
from typing import Any, Optional

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import ECKey, OctKey

import lk
from e2e import kit

from . import attack_kit as ak


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def proof(key: ECKey, method: str, url: str, *, token: Optional[str] = None, header: Optional[dict] = None,
          **claims: Any) -> str:
    """A DPoP proof signed with `key` (ES256), `claims` overriding the defaults."""
    body = {"jti": uuid.uuid4().hex, "htm": method, "htu": url, "iat": int(time.time())}
    if token is not None:
        body["ath"] = _b64(hashlib.sha256(token.encode()).digest())
    body.update(claims)
    head = {"alg": "ES256", "typ": "dpop+jwt", "jwk": key.as_dict(private=False), **(header or {})}
    return jwt.encode(head, body, key, algorithms=["ES256"])


def _service(z: kit.Zone) -> tuple[kit.Service, Any]:
    api = z.resource(identifier=lk.unique_url("dpop-api"))
    return z.service(depends_on=[api]), api


def _cc(z: kit.Zone, svc: kit.Service, api: Any, dpop: Optional[str | list[str]] = None) -> httpx.Response:
    headers = svc.headers()
    if isinstance(dpop, list):
        headers = httpx.Headers([*headers.items(), *[("DPoP", p) for p in dpop]])
    elif dpop is not None:
        headers["DPoP"] = dpop
    return z.http.post(z.token_endpoint, data={"grant_type": "client_credentials", "resource": api.identifier},
                       headers=headers)


def test_discovery_lists_the_proof_algorithms(password_zone: kit.Zone):
    meta = password_zone.http.get(password_zone.url("/.well-known/oauth-authorization-server")).json()
    assert meta["dpop_signing_alg_values_supported"] == ["ES256", "RS256", "EdDSA"], meta


def test_client_credentials_on_a_proof_are_bound_to_its_key(password_zone: kit.Zone):
    z = password_zone
    svc, api = _service(z)
    key = ECKey.generate_key("P-256")
    r = _cc(z, svc, api, proof(key, "POST", z.token_endpoint))
    assert r.status_code == 200, r.text
    assert r.json()["token_type"] == "DPoP", r.json()
    claims = kit.jwt_claims(r.json()["access_token"])
    assert claims["cnf"] == {"jkt": key.thumbprint()}, claims

    # Without a proof the same client gets a plain bearer token (twice: the planned answer too).
    for _ in range(2):
        plain = _cc(z, svc, api)
        assert plain.status_code == 200 and plain.json()["token_type"] == "Bearer", plain.text
        assert "cnf" not in kit.jwt_claims(plain.json()["access_token"])
    # And a proof after planned answers still binds.
    again = _cc(z, svc, api, proof(key, "POST", z.token_endpoint))
    assert kit.jwt_claims(again.json()["access_token"])["cnf"] == {"jkt": key.thumbprint()}

    intro = z.http.post(z.url("/oauth/2/introspect"), data={"token": r.json()["access_token"]},
                        headers=svc.headers()).json()
    assert intro["active"] is True and intro["token_type"] == "DPoP" and intro["cnf"] == claims["cnf"], intro


def _forged(key: ECKey, z: kit.Zone) -> dict[str, Any]:
    other = ECKey.generate_key("P-256")
    url = z.token_endpoint
    now = int(time.time())
    good = proof(key, "POST", url)
    h, p, _ = good.split(".")
    return {
        "another method": proof(key, "GET", url),
        "another URL": proof(key, "POST", url.replace("/oauth/2/token", "/oauth/2/introspect")),
        "another zone": proof(key, "POST", url.replace(z.id, "otherzone")),
        "too old": proof(key, "POST", url, iat=now - 300),
        "too new": proof(key, "POST", url, iat=now + 300),
        "no jti": proof(key, "POST", url, jti=""),
        "typ JWT": proof(key, "POST", url, header={"typ": "JWT"}),
        "unsigned": f"{_b64(json.dumps({'alg': 'none', 'typ': 'dpop+jwt', 'jwk': key.as_dict(private=False)}).encode())}.{p}.",
        "signed by another key": f"{h}.{p}.{proof(other, 'POST', url).split('.')[2]}",
        "private key in the header": proof(key, "POST", url, header={"jwk": key.as_dict(private=True)}),
        "symmetric key": jwt.encode(
            {"alg": "HS256", "typ": "dpop+jwt", "jwk": OctKey.generate_key(256).as_dict(private=False)},
            {"jti": uuid.uuid4().hex, "htm": "POST", "htu": url, "iat": now},
            OctKey.generate_key(256), algorithms=["HS256"]),
        "not a JWT": "hello",
        "two proofs": [proof(key, "POST", url), proof(key, "POST", url)],
    }


def test_attack_a_proof_that_does_not_fit_is_refused(password_zone: kit.Zone):
    z = password_zone
    svc, api = _service(z)
    key = ECKey.generate_key("P-256")
    for what, bad in _forged(key, z).items():
        r = _cc(z, svc, api, bad)
        body = kit.assert_oauth_error(r, 400, "invalid_dpop_proof")
        assert body.get("error_description"), (what, body)

    replayed = proof(key, "POST", z.token_endpoint)
    assert _cc(z, svc, api, replayed).status_code == 200
    kit.assert_oauth_error(_cc(z, svc, api, replayed), 400, "invalid_dpop_proof")


def _code_tokens(z: kit.Zone, client: kit.Client, listener, b: ak.Browser, key: ECKey) -> dict:
    pkce = kit.Pkce()
    out = b.signup_and_authorize(z.authorize_url(client, listener.url, pkce=pkce, state="d", scope="openid"),
                                 ak.unique_email("dpop"))
    data = {"grant_type": "authorization_code", "code": kit.query(out)["code"], "redirect_uri": listener.url,
            "client_id": client.client_id, "code_verifier": pkce.verifier}
    r = b.http.post(z.token_endpoint, data=data, headers={"DPoP": proof(key, "POST", z.token_endpoint)})
    assert r.status_code == 200, r.text
    return r.json()


def _refresh(z: kit.Zone, client: kit.Client, rt: str, dpop: Optional[str]) -> httpx.Response:
    headers = {"DPoP": dpop} if dpop else {}
    return z.http.post(z.token_endpoint, data={"grant_type": "refresh_token", "refresh_token": rt,
                                               "client_id": client.client_id}, headers=headers)


def test_attack_a_public_clients_refresh_token_needs_its_key(password_zone: kit.Zone, browsers, listener):
    z = password_zone
    client = z.browser_client([ak.REGISTERED], consent="implicit")
    key, thief = ECKey.generate_key("P-256"), ECKey.generate_key("P-256")
    t = _code_tokens(z, client, listener, browsers(), key)
    assert t["token_type"] == "DPoP" and kit.jwt_claims(t["access_token"])["cnf"] == {"jkt": key.thumbprint()}

    kit.assert_oauth_error(_refresh(z, client, t["refresh_token"], None), 400, "invalid_dpop_proof")
    kit.assert_oauth_error(_refresh(z, client, t["refresh_token"], proof(thief, "POST", z.token_endpoint)), 400,
                           "invalid_dpop_proof")
    # Those attempts burnt nothing: the key's holder refreshes, and stays bound.
    r = _refresh(z, client, t["refresh_token"], proof(key, "POST", z.token_endpoint))
    assert r.status_code == 200 and r.json()["token_type"] == "DPoP", r.text
    assert kit.jwt_claims(r.json()["access_token"])["cnf"] == {"jkt": key.thumbprint()}
    kit.assert_oauth_error(_refresh(z, client, r.json()["refresh_token"], None), 400, "invalid_dpop_proof")


def test_attack_a_bound_token_is_no_bearer_token_at_userinfo(password_zone: kit.Zone, browsers, listener):
    z = password_zone
    client = z.browser_client([ak.REGISTERED], consent="implicit")
    key, thief = ECKey.generate_key("P-256"), ECKey.generate_key("P-256")
    token = _code_tokens(z, client, listener, browsers(), key)["access_token"]
    url = z.url("/openidconnect/userinfo")

    def call(scheme: str, dpop: Optional[str]) -> httpx.Response:
        headers = {"Authorization": f"{scheme} {token}"}
        if dpop:
            headers["DPoP"] = dpop
        return z.http.get(url, headers=headers)

    for what, r in {
        "as a bearer token": call("Bearer", None),
        "as a bearer token with a proof": call("Bearer", proof(key, "GET", url, token=token)),
        "DPoP without a proof": call("DPoP", None),
        "proof without ath": call("DPoP", proof(key, "GET", url)),
        "proof for another token": call("DPoP", proof(key, "GET", url, token="other")),
        "proof by another key": call("DPoP", proof(thief, "GET", url, token=token)),
        "proof for POST": call("DPoP", proof(key, "POST", url, token=token)),
    }.items():
        assert r.status_code == 401 and r.json()["error"] == "invalid_token", (what, r.status_code, r.text)
        assert r.headers["www-authenticate"].split()[0] in ("Bearer", "DPoP"), what

    ok = call("DPoP", proof(key, "GET", url, token=token))
    assert ok.status_code == 200 and ok.json()["sub"], ok.text
    assert call("dpop", proof(key, "GET", url, token=token)).status_code == 200, "the scheme is case-insensitive"


def test_token_exchange_on_a_proof_is_bound(password_zone: kit.Zone):
    z = password_zone
    downstream = z.resource(identifier=lk.unique_url("dpop-down"))
    server = z.service(depends_on=[downstream])
    owned = z.resource(identifier=lk.unique_url("dpop-own"), application_id=server.app.id)
    caller = z.service(depends_on=[owned])
    subject = _cc(z, caller, owned).json()["access_token"]
    key = ECKey.generate_key("P-256")
    r = z.http.post(z.token_endpoint, data={
        "grant_type": "urn:ietf:params:oauth:grant-type:token-exchange", "subject_token": subject,
        "subject_token_type": "urn:ietf:params:oauth:token-type:access_token", "resource": downstream.identifier,
    }, headers={**server.headers(), "DPoP": proof(key, "POST", z.token_endpoint)})
    assert r.status_code == 200 and r.json()["token_type"] == "DPoP", r.text
    assert kit.jwt_claims(r.json()["access_token"])["cnf"] == {"jkt": key.thumbprint()}


@pytest.mark.parametrize("alg", ["RS256", "EdDSA"])
def test_proofs_of_every_advertised_algorithm_bind(password_zone: kit.Zone, alg: str):
    from joserfc.jwk import OKPKey, RSAKey

    z = password_zone
    svc, api = _service(z)
    key = RSAKey.generate_key(2048) if alg == "RS256" else OKPKey.generate_key("Ed25519")
    body = {"jti": uuid.uuid4().hex, "htm": "POST", "htu": z.token_endpoint, "iat": int(time.time())}
    signed = jwt.encode({"alg": alg, "typ": "dpop+jwt", "jwk": key.as_dict(private=False)}, body, key,
                        algorithms=[alg])
    r = _cc(z, svc, api, signed)
    assert r.status_code == 200, r.text
    assert kit.jwt_claims(r.json()["access_token"])["cnf"] == {"jkt": key.thumbprint()}


def test_attack_a_code_bound_at_the_authorization_request_needs_its_key(password_zone, browsers, listener):
    """RFC 9449 §10: `dpop_jkt` on the authorization request binds the code; an intercepted code
    redeems nothing without a proof of that key."""
    z = password_zone
    client = z.browser_client([ak.REGISTERED], consent="implicit")
    key, thief = ECKey.generate_key("P-256"), ECKey.generate_key("P-256")
    email = ak.unique_email("bound-code")

    def redeem_with(dpop: Optional[str]) -> httpx.Response:
        b, pkce = browsers(), kit.Pkce()
        out = b.signup_and_authorize(
            z.authorize_url(client, listener.url, pkce=pkce, state="b", dpop_jkt=key.thumbprint()), email)
        data = {"grant_type": "authorization_code", "code": kit.query(out)["code"], "redirect_uri": listener.url,
                "client_id": client.client_id, "code_verifier": pkce.verifier}
        return b.http.post(z.token_endpoint, data=data, headers={"DPoP": dpop} if dpop else {})

    kit.assert_oauth_error(redeem_with(None), 400, "invalid_dpop_proof")
    kit.assert_oauth_error(redeem_with(proof(thief, "POST", z.token_endpoint)), 400, "invalid_dpop_proof")
    ok = redeem_with(proof(key, "POST", z.token_endpoint))
    assert ok.status_code == 200 and kit.jwt_claims(ok.json()["access_token"])["cnf"] == {"jkt": key.thumbprint()}

    bad = browsers().get(z.authorize_url(client, listener.url, pkce=kit.Pkce(), state="m", dpop_jkt="short"))
    assert isinstance(bad, str), ak.describe(bad)
    q = kit.query(bad)
    assert q.get("error") == "invalid_request" and "dpop_jkt" in q.get("error_description", ""), q
