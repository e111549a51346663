"""A Starlette API protected by keycardai-starlette (`AuthProvider.install`, `@requires`,
`@auth.grant`) served over HTTP by uvicorn, calling the real zone: bearer verification with the
Keycard verifier, then delegated token exchange for a downstream resource (zone-oauth.md §5.2,
§5.4, §6.2, §8 items 5, 6, 21)."""

# No `from __future__ import annotations` here: `@grant` finds the AccessContext parameter by
# comparing the real annotation object.
import uuid
from pathlib import Path
from typing import Any

import httpx
from keycardai.oauth.server import AccessContext, ClientSecret, WebIdentity
from keycardai.starlette import AuthProvider, requires
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from .kit import OAuthZone, jwt_claims


def protected_app(z: OAuthZone, audience: str, downstream: str, credential: Any) -> Starlette:
    auth = AuthProvider(zone_url=z.issuer, audience=audience, application_credential=credential, server_name="conf api")

    @requires("authenticated")
    async def whoami(request: Request):
        u = request.user
        return JSONResponse(
            {"client_id": u.client_id, "sub": u.sub, "sub_profile": u.sub_profile, "app": u.keycard_app_id}
        )

    @requires("authenticated")
    @auth.grant(downstream)
    async def data(request: Request, access: AccessContext):
        if access.has_errors():
            return JSONResponse({"errors": access.get_errors()}, status_code=502)
        token = access.access(downstream)
        return JSONResponse({"access_token": token.access_token, "issued_token_type": token.issued_token_type})

    app = Starlette(routes=[Route("/api/whoami", whoami), Route("/api/data", data)])
    auth.install(app)
    return app


def scenario(z: OAuthZone):
    downstream = z.resource(scopes=["read"])
    server = z.service(depends_on=[downstream])
    api = z.resource(owner=server)
    caller = z.service(depends_on=[api])
    return downstream, server, api, caller


def test_grant_with_client_secret(oz: OAuthZone, asgi):
    downstream, server, api, caller = scenario(oz)
    srv = asgi(protected_app(oz, api.identifier, downstream.identifier, ClientSecret((server.client_id, server.secret))))
    user_token = oz.cc_token(caller, api)
    with httpx.Client(base_url=srv.base, timeout=30) as h:
        me = h.get("/api/whoami", headers={"Authorization": f"Bearer {user_token}"})
        assert me.status_code == 200, me.text
        assert me.json() == {
            "client_id": caller.client_id,
            "sub": caller.identifier,
            "sub_profile": "app",
            "app": caller.app.id,
        }
        r = h.get("/api/data", headers={"Authorization": f"Bearer {user_token}"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["issued_token_type"] == "urn:ietf:params:oauth:token-type:access_token"
    claims = jwt_claims(body["access_token"])
    assert claims["aud"] == downstream.identifier
    assert claims["sub"] == caller.identifier
    assert claims["act"]["sub"] == server.identifier
    assert claims["client_id"] == server.client_id
    assert claims["iss"] == oz.issuer


def test_grant_reports_exchange_errors_per_resource(oz: OAuthZone, asgi):
    """The server's application does not depend on the downstream resource: the zone answers
    `access_denied`, which @grant records on the AccessContext (not retryable)."""
    downstream, server, api, caller = scenario(oz)
    not_granted = oz.resource()
    srv = asgi(protected_app(oz, api.identifier, not_granted.identifier, ClientSecret((server.client_id, server.secret))))
    with httpx.Client(base_url=srv.base, timeout=30) as h:
        r = h.get("/api/data", headers={"Authorization": f"Bearer {oz.cc_token(caller, api)}"})
    assert r.status_code == 502, r.text
    err = r.json()["errors"]["resources"][not_granted.identifier]
    assert err["code"] == "access_denied" and err["retryable"] is False, err


def test_middleware_rejects_bad_tokens(oz: OAuthZone, fresh_zone, asgi):
    downstream, server, api, caller = scenario(oz)
    other_api = oz.resource()
    oz.add_dependency(caller.app, other_api)
    srv = asgi(protected_app(oz, api.identifier, downstream.identifier, ClientSecret((server.client_id, server.secret))))
    other = fresh_zone()
    o_api = other.resource(identifier=api.identifier)
    o_caller = other.service(depends_on=[o_api])
    good = oz.cc_token(caller, api)
    bad = {
        "none": None,
        "wrong-audience": oz.cc_token(caller, other_api),
        "other-zone": other.cc_token(o_caller, o_api),
        "garbage": "abc.def.ghi",
    }
    with httpx.Client(base_url=srv.base, timeout=30) as h:
        assert h.get("/api/whoami", headers={"Authorization": f"Bearer {good}"}).status_code == 200
        for name, token in bad.items():
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            r = h.get("/api/whoami", headers=headers)
            assert r.status_code == 401, f"{name}: {r.status_code} {r.text}"
            challenge = r.headers.get("www-authenticate", "")
            assert challenge.startswith("Bearer") and "resource_metadata=" in challenge, (name, challenge)


def test_resource_server_metadata_points_at_the_zone(oz: OAuthZone, asgi):
    """RFC 9728 metadata served by the app names the zone issuer; the app's RFC 8414 proxy route
    re-serves the zone's document unmodified (§5.4)."""
    downstream, server, api, _ = scenario(oz)
    srv = asgi(protected_app(oz, api.identifier, downstream.identifier, ClientSecret((server.client_id, server.secret))))
    with httpx.Client(base_url=srv.base, timeout=30) as h:
        prm = h.get("/.well-known/oauth-protected-resource/api/data")
        proxied = h.get("/.well-known/oauth-authorization-server")
    assert prm.status_code == 200, prm.text
    assert [s.rstrip("/") for s in prm.json()["authorization_servers"]] == [oz.issuer]
    assert proxied.status_code == 200, proxied.text
    assert proxied.json() == oz.http.get(oz.issuer + "/.well-known/oauth-authorization-server").json()


def test_grant_with_web_identity(oz: OAuthZone, asgi, tmp_path: Path):
    """The same API with `WebIdentity` (private_key_jwt): the client id is the app's protected-resource
    metadata URL, registered as a `url` credential; the zone fetches that document, follows its
    `jwks_uri` to the app's `/.well-known/jwks.json`, and verifies the assertion."""
    downstream, server, api, caller = scenario(oz)
    webid = WebIdentity(server_name=f"conf-api-{uuid.uuid4().hex[:6]}", storage_dir=str(tmp_path / "keys"))
    srv = asgi(protected_app(oz, api.identifier, downstream.identifier, webid))
    client_id = f"{srv.base}/.well-known/oauth-protected-resource/api/data"
    oz.credential(server.app, "url", identifier=client_id)
    with httpx.Client(base_url=srv.base, timeout=30) as h:
        prm = h.get("/.well-known/oauth-protected-resource/api/data").json()
        assert prm["jwks_uri"] == f"{srv.base}/.well-known/jwks.json"
        r = h.get("/api/data", headers={"Authorization": f"Bearer {oz.cc_token(caller, api)}"})
    assert r.status_code == 200, r.text
    claims = jwt_claims(r.json()["access_token"])
    assert claims["aud"] == downstream.identifier
    assert claims["sub"] == caller.identifier
    assert claims["client_id"] == client_id
    assert claims["act"]["sub"] == server.identifier
