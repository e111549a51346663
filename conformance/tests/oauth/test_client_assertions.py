"""JWT client assertions (RFC 7523) at the token endpoint: `private_key_jwt` from the Keycard SDK's
`WebIdentity` against `public-key` and `url` credentials, and federated workload tokens against
`token` credentials, through `WorkloadIdentity` and `client_credentials_grant(client_assertion=…)`
(zone-oauth.md §2.6, §3.1, §3.2, §8 items 6, 20, 21)."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import pytest
from keycardai.oauth import AsyncClient, ClientConfig, OAuthProtocolError
from keycardai.oauth.server import WebIdentity, WorkloadIdentity

from .kit import (
    ACCESS_TOKEN_TYPE,
    JWT_BEARER,
    Idp,
    JsonServer,
    OAuthZone,
    Service,
    assert_oauth_error,
    b64url,
    jwt_claims,
)


def web_identity(tmp_path: Path, name: Optional[str] = None, key_id: Optional[str] = None) -> WebIdentity:
    name = name or f"conf-server-{uuid.uuid4().hex[:8]}"
    return WebIdentity(server_name=name, storage_dir=str(tmp_path / f"keys-{uuid.uuid4().hex[:6]}"), key_id=key_id)


def jwks_of(webid: WebIdentity) -> dict:
    return webid.get_jwks().model_dump(exclude_none=True)


@dataclass
class Delegation:
    """A server application (no password) whose resource `api` a caller holds a token for."""

    server_app: Any
    api: Any
    downstream: Any
    caller: Service
    subject_token: str


def delegation(z: OAuthZone) -> Delegation:
    downstream = z.resource(scopes=["read"])
    server_app = z.app(depends_on=[downstream])
    api = z.resource(owner=server_app)
    caller = z.service(depends_on=[api])
    return Delegation(server_app, api, downstream, caller, z.cc_token(caller, api))


def cc_with_assertion(z: OAuthZone, assertion: str, resource: str, **extra: str):
    return z.token_post(
        {
            "grant_type": "client_credentials",
            "resource": resource,
            "client_assertion_type": JWT_BEARER,
            "client_assertion": assertion,
            **extra,
        }
    )


# --------------------------------------------------------------------------------------------
# private_key_jwt (WebIdentity)
# --------------------------------------------------------------------------------------------


@dataclass
class KeyClient:
    d: Delegation
    webid: WebIdentity
    client_id: str
    jwks_path: str

    def assertion(self, z: OAuthZone, **kw: Any) -> str:
        kw.setdefault("audience", z.token_endpoint)
        return self.webid.identity_manager.create_client_assertion(issuer=self.client_id, **kw)


def key_client(z: OAuthZone, json_server: JsonServer, tmp_path: Path, kind: str) -> KeyClient:
    d = delegation(z)
    webid = web_identity(tmp_path)
    tag = uuid.uuid4().hex[:10]
    if kind == "public-key":
        jwks_path = f"/pk-{tag}/jwks.json"
        jwks_uri = json_server.add_keys(jwks_path, jwks_of(webid))
        client_id = f"pk-client-{tag}"
        z.credential(d.server_app, "public-key", identifier=client_id, jwks_uri=jwks_uri)
    elif kind == "url":
        jwks_path = f"/url-{tag}/keys"
        jwks_uri = json_server.add_keys(jwks_path, jwks_of(webid))
        client_id = json_server.publish(f"/url-{tag}/client", {"client_id": "", "jwks_uri": jwks_uri})
        json_server.routes[f"/url-{tag}/client"][1]["client_id"] = client_id
        z.credential(d.server_app, "url", identifier=client_id)
    elif kind == "url-fallback":
        jwks_path = "/.well-known/jwks.json"
        json_server.add_keys(jwks_path, jwks_of(webid))
        client_id = json_server.url(f"/url-{tag}/no-document")
        z.credential(d.server_app, "url", identifier=client_id)
    else:
        raise AssertionError(kind)
    return KeyClient(d, webid, client_id, jwks_path)


@pytest.mark.parametrize("kind", ["public-key", "url", "url-fallback"])
def test_web_identity_token_exchange(oz: OAuthZone, json_server: JsonServer, tmp_path: Path, kind: str):
    """The SDK's `WebIdentity.prepare_token_exchange_request` (no Authorization header, assertion
    with `aud` = the discovered token endpoint) is accepted; keys come from the credential's
    `jwks_uri`, the client-id document's `jwks_uri`, or `{origin}/.well-known/jwks.json`."""
    kc = key_client(oz, json_server, tmp_path, kind)
    hits_before = json_server.count(kc.jwks_path)

    async def run():
        async with AsyncClient(oz.issuer, auth=kc.webid.get_http_client_auth(), config=ClientConfig(max_retries=0)) as c:
            req = await kc.webid.prepare_token_exchange_request(
                client=c,
                subject_token=kc.d.subject_token,
                resource=kc.d.downstream.identifier,
                auth_info={"resource_client_id": kc.client_id, "resource_server_url": kc.client_id},
            )
            assert req.client_id is None and req.client_assertion_type == JWT_BEARER
            assert jwt_claims(req.client_assertion)["aud"] == oz.token_endpoint
            return await c.exchange_token(req)

    resp = asyncio.run(run())
    assert resp.issued_token_type == ACCESS_TOKEN_TYPE
    claims = jwt_claims(resp.access_token)
    assert claims["aud"] == kc.d.downstream.identifier
    assert claims["sub"] == kc.d.caller.identifier
    assert claims["client_id"] == kc.client_id
    assert claims["keycard_app_id"] == kc.d.server_app.id
    assert claims["act"]["sub"] == kc.d.server_app.identifier
    # the zone may have the JWKS cached from an earlier test only for the shared fallback path
    if kind != "url-fallback":
        assert json_server.count(kc.jwks_path) > hits_before, "the zone never fetched the client's JWKS"


def test_web_identity_client_credentials(oz: OAuthZone, json_server: JsonServer, tmp_path: Path):
    """`client_credentials_grant(client_assertion=…)` with a private_key_jwt assertion."""
    kc = key_client(oz, json_server, tmp_path, "public-key")
    with oz.client() as c:
        resp = c.client_credentials_grant(
            resource=kc.d.downstream.identifier,
            client_assertion=kc.assertion(oz),
            client_assertion_type=JWT_BEARER,
        )
    claims = jwt_claims(resp.access_token)
    assert claims["sub"] == kc.d.server_app.identifier
    assert claims["sub_profile"] == "app"
    assert claims["client_id"] == kc.client_id


def test_assertion_audience_may_be_the_issuer(oz: OAuthZone, json_server: JsonServer, tmp_path: Path):
    kc = key_client(oz, json_server, tmp_path, "public-key")
    r = cc_with_assertion(oz, kc.assertion(oz, audience=oz.issuer), kc.d.downstream.identifier)
    assert r.status_code == 200, r.text


def test_assertion_replay_is_refused(oz: OAuthZone, json_server: JsonServer, tmp_path: Path):
    kc = key_client(oz, json_server, tmp_path, "public-key")
    assertion = kc.assertion(oz)
    first = cc_with_assertion(oz, assertion, kc.d.downstream.identifier)
    assert first.status_code == 200, first.text
    again = cc_with_assertion(oz, assertion, kc.d.downstream.identifier)
    assert_oauth_error(again, 401, "invalid_client")
    with oz.client() as c:
        with pytest.raises(OAuthProtocolError) as info:
            c.client_credentials_grant(
                resource=kc.d.downstream.identifier, client_assertion=assertion, client_assertion_type=JWT_BEARER
            )
    assert info.value.error == "invalid_client"


@pytest.mark.parametrize(
    "case",
    [
        "wrong-aud",
        "other-zone-aud",
        "expired",
        "iss-not-sub",
        "other-key-same-kid",
        "unknown-kid",
        "unknown-client",
        "alg-none",
    ],
)
def test_bad_private_key_jwt_assertions(oz: OAuthZone, json_server: JsonServer, tmp_path: Path, case: str):
    kc = key_client(oz, json_server, tmp_path, "public-key")
    if case == "wrong-aud":
        assertion = kc.assertion(oz, audience="https://elsewhere.example.com/oauth/2/token")
    elif case == "other-zone-aud":
        assertion = kc.assertion(oz, audience=oz.token_endpoint.replace(f"/z/{oz.id}/", "/z/otherzone000000000000000/"))
    elif case == "expired":
        assertion = kc.assertion(oz, expiry_seconds=-600)
    elif case == "iss-not-sub":
        assertion = kc.assertion(oz, subject="someone-else")
    elif case == "other-key-same-kid":
        impostor = web_identity(tmp_path, key_id=kc.webid.identity_manager.key_id)
        assert impostor.get_jwks().keys[0].n != kc.webid.get_jwks().keys[0].n
        assertion = impostor.identity_manager.create_client_assertion(issuer=kc.client_id, audience=oz.token_endpoint)
    elif case == "unknown-kid":
        stranger = web_identity(tmp_path)
        assertion = stranger.identity_manager.create_client_assertion(issuer=kc.client_id, audience=oz.token_endpoint)
    elif case == "unknown-client":
        assertion = kc.webid.identity_manager.create_client_assertion(
            issuer=f"no-such-client-{uuid.uuid4().hex[:6]}", audience=oz.token_endpoint
        )
    else:
        signed = jwt_claims(kc.assertion(oz))
        header = {"alg": "none", "typ": "JWT", "kid": kc.webid.identity_manager.key_id}
        assertion = f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(signed).encode())}."
    assert_oauth_error(cc_with_assertion(oz, assertion, kc.d.downstream.identifier), 401, "invalid_client")
    # the same client with a good assertion still works (the failure was the assertion's)
    assert cc_with_assertion(oz, kc.assertion(oz), kc.d.downstream.identifier).status_code == 200


def test_assertion_type_and_method_mixing(oz: OAuthZone, json_server: JsonServer, tmp_path: Path):
    kc = key_client(oz, json_server, tmp_path, "public-key")
    wrong_type = oz.token_post(
        {
            "grant_type": "client_credentials",
            "resource": kc.d.downstream.identifier,
            "client_assertion_type": "urn:example:not-jwt-bearer",
            "client_assertion": kc.assertion(oz),
        }
    )
    assert wrong_type.status_code in (400, 401), wrong_type.text
    assert wrong_type.json()["error"] in ("invalid_request", "invalid_client"), wrong_type.text
    svc = oz.service(depends_on=[kc.d.downstream])
    two_methods = oz.token_post(
        {
            "grant_type": "client_credentials",
            "resource": kc.d.downstream.identifier,
            "client_assertion_type": JWT_BEARER,
            "client_assertion": kc.assertion(oz),
        },
        svc.headers(),
    )
    assert two_methods.status_code in (400, 401), f"two client authentication methods at once: {two_methods.text}"
    assert two_methods.json()["error"] in ("invalid_request", "invalid_client")


# --------------------------------------------------------------------------------------------
# Federated workload tokens (token credentials)
# --------------------------------------------------------------------------------------------


SUBJECT = "system:serviceaccount:agents:worker"


@dataclass
class Federation:
    idp: Idp
    provider: Any
    app: Any
    credential: Any
    resource: Any


def federation(
    z: OAuthZone, idp: Idp, *, subject: Optional[str] = SUBJECT, jwks_uri: Optional[str] = None, app: Any = None
) -> Federation:
    oauth2: dict = {"issuer": idp.issuer}
    if jwks_uri:
        oauth2["jwks_uri"] = jwks_uri
    provider = z.provider(identifier=idp.issuer, protocols={"oauth2": oauth2})
    resource = z.resource()
    app = app or z.app(depends_on=[resource])
    kw = {"provider_id": provider.id}
    if subject is not None:
        kw["subject"] = subject
    cred = z.credential(app, "token", **kw)
    return Federation(idp, provider, app, cred, resource)


@pytest.mark.parametrize("client_id", ["none", "credential-id", "application-id", "application-identifier"])
def test_federated_client_credentials(oz: OAuthZone, idp: Idp, client_id: str):
    """A platform token (iss = provider issuer, sub = credential subject, aud = zone URL) as
    `client_assertion`, with the optional `client_id` naming the credential id, the application id
    or the application identifier (spec Appendix B: "Accept any of them"). Keys found by OIDC
    discovery on the issuer."""
    f = federation(oz, idp)
    extra = {}
    if client_id == "credential-id":
        extra["client_id"] = f.credential.id
    elif client_id == "application-id":
        extra["client_id"] = f.app.id
    elif client_id == "application-identifier":
        extra["client_id"] = f.app.identifier
    with oz.client() as c:
        resp = c.client_credentials_grant(
            resource=f.resource.identifier,
            client_assertion=idp.mint(sub=SUBJECT, aud=oz.issuer),
            client_assertion_type=JWT_BEARER,
            **extra,
        )
    claims = jwt_claims(resp.access_token)
    assert claims["sub"] == f.app.identifier
    assert claims["keycard_app_id"] == f.app.id
    assert claims["aud"] == f.resource.identifier
    assert idp.server.count(idp.discovery_path) >= 1, "the zone never ran OIDC discovery on the issuer"


@pytest.mark.parametrize("shape", ["kubernetes", "gcp-identity-token"])
def test_federated_token_shapes(oz: OAuthZone, idp: Idp, shape: str):
    """Real platform tokens differ: Kubernetes service-account tokens carry an `aud` array and a
    `jti`; Google identity tokens (GCPMetadataTokenSource, §2.6) carry a string `aud`, `azp`, and
    **no `jti`** — the zone's replay cache is optional (§2.6 "optional `jti` replay cache", §8
    item 20 lists only signature, `sub`, `exp` and `aud`)."""
    f = federation(oz, idp)
    if shape == "kubernetes":
        token = idp.mint(
            sub=SUBJECT,
            aud=["https://kubernetes.default.svc", oz.issuer],
            nbf=int(time.time()),
            **{"kubernetes.io": {"namespace": "agents", "serviceaccount": {"name": "worker"}}},
        )
    else:
        token = idp.mint(sub=SUBJECT, aud=oz.issuer, azp="1234567890", email="worker@example.iam", jti=None)
        assert "jti" not in jwt_claims(token)
    r = cc_with_assertion(oz, token, f.resource.identifier)
    assert r.status_code == 200, r.text


def test_federated_keys_from_provider_jwks_uri(oz: OAuthZone, idp: Idp, json_server: JsonServer):
    """With `protocols.oauth2.jwks_uri` on the provider the zone needs no discovery document."""
    json_server.routes.pop(idp.discovery_path)
    f = federation(oz, idp, jwks_uri=idp.jwks_uri)
    r = cc_with_assertion(oz, idp.mint(sub=SUBJECT, aud=oz.token_endpoint), f.resource.identifier)
    assert r.status_code == 200, r.text
    assert json_server.count(idp.jwks_path) >= 1


def test_federated_without_discovery_or_jwks_uri_fails(oz: OAuthZone, idp: Idp, json_server: JsonServer):
    """Control for the test above: no discovery document and no jwks_uri means no keys."""
    json_server.routes.pop(idp.discovery_path)
    f = federation(oz, idp)
    r = cc_with_assertion(oz, idp.mint(sub=SUBJECT, aud=oz.issuer), f.resource.identifier)
    assert_oauth_error(r, 401, "invalid_client")


def test_federated_subject_rules(oz: OAuthZone, idp: Idp):
    """The credential's `subject` must equal the token's `sub`; a credential without subject (`*`)
    takes any subject of that issuer, and an exact match wins over `*` (§3.2)."""
    exact = federation(oz, idp, subject=SUBJECT)
    r = cc_with_assertion(oz, idp.mint(sub=SUBJECT, aud=oz.issuer), exact.resource.identifier)
    assert r.status_code == 200, r.text
    assert jwt_claims(r.json()["access_token"])["keycard_app_id"] == exact.app.id

    stranger = idp.mint(sub="system:serviceaccount:agents:other", aud=oz.issuer)
    assert_oauth_error(
        cc_with_assertion(oz, stranger, exact.resource.identifier, client_id=exact.credential.id), 401, "invalid_client"
    )

    wildcard_resource = oz.resource()
    wildcard_app = oz.app(depends_on=[wildcard_resource])
    provider = exact.provider
    oz.credential(wildcard_app, "token", provider_id=provider.id)
    anyone = cc_with_assertion(
        oz, idp.mint(sub="system:serviceaccount:agents:other", aud=oz.issuer), wildcard_resource.identifier
    )
    assert anyone.status_code == 200, anyone.text
    assert jwt_claims(anyone.json()["access_token"])["keycard_app_id"] == wildcard_app.id
    still_exact = cc_with_assertion(oz, idp.mint(sub=SUBJECT, aud=oz.issuer), exact.resource.identifier)
    assert still_exact.status_code == 200, still_exact.text
    assert jwt_claims(still_exact.json()["access_token"])["keycard_app_id"] == exact.app.id


@pytest.mark.parametrize("case", ["replay", "expired", "wrong-aud", "unregistered-issuer", "wrong-key"])
def test_bad_federated_assertions(oz: OAuthZone, idp: Idp, json_server: JsonServer, case: str):
    f = federation(oz, idp)
    target = f.resource.identifier
    if case == "replay":
        token = idp.mint(sub=SUBJECT, aud=oz.issuer)
        assert cc_with_assertion(oz, token, target).status_code == 200
    elif case == "expired":
        token = idp.mint(sub=SUBJECT, aud=oz.issuer, lifetime=-600)
    elif case == "wrong-aud":
        token = idp.mint(sub=SUBJECT, aud="https://some-other-zone.example.com")
    elif case == "unregistered-issuer":
        token = Idp(json_server).mint(sub=SUBJECT, aud=oz.issuer)
    else:
        rogue = Idp._new_key(idp.kid)
        token = idp.mint(sub=SUBJECT, aud=oz.issuer, key=rogue)
    assert_oauth_error(cc_with_assertion(oz, token, target), 401, "invalid_client")
    assert_oauth_error(cc_with_assertion(oz, token, target, client_id=f.credential.id), 401, "invalid_client")


def test_workload_identity_token_exchange(oz: OAuthZone, idp: Idp):
    """The SDK's `WorkloadIdentity` (fresh platform token per exchange, `client_id` = credential id)."""
    d = delegation(oz)
    f = federation(oz, idp, app=d.server_app)
    minted: list[str] = []

    def source() -> str:
        minted.append(idp.mint(sub=SUBJECT, aud=oz.issuer))
        return minted[-1]

    wi = WorkloadIdentity(source, client_id=f.credential.id)

    async def run():
        async with AsyncClient(oz.issuer, auth=wi.get_http_client_auth(), config=ClientConfig(max_retries=0)) as c:
            out = []
            for _ in range(2):
                req = await wi.prepare_token_exchange_request(
                    client=c, subject_token=d.subject_token, resource=d.downstream.identifier
                )
                out.append(await c.exchange_token(req))
            return out

    first, second = asyncio.run(run())
    assert len(minted) == 2
    for resp in (first, second):
        claims = jwt_claims(resp.access_token)
        assert claims["aud"] == d.downstream.identifier
        assert claims["sub"] == d.caller.identifier
        assert claims["keycard_app_id"] == d.server_app.id
        assert claims["act"]["sub"] == d.server_app.identifier
