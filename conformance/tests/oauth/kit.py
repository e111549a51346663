"""Helpers for the zone OAuth tests (zone-oauth.md): zones seen as authorization servers, loopback
HTTP servers (static JSON documents, ASGI apps under uvicorn), a tiny OIDC identity provider that
mints workload tokens, and JWT/OAuth-error helpers.

Everything here talks to the real `latchkey` binary over HTTP; nothing is mocked on the server side.
"""

from __future__ import annotations

import base64
import json
import socket
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Iterable, Optional

import httpx
from cryptography.hazmat.primitives.asymmetric import rsa
from joserfc import jwt as jose_jwt
from joserfc.jwk import RSAKey
from keycardai.oauth import BasicAuth, Client, ClientConfig

import lk

JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"


# --------------------------------------------------------------------------------------------
# JWT and OAuth helpers
# --------------------------------------------------------------------------------------------


def _b64url_decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwt_header(token: str) -> dict:
    return json.loads(_b64url_decode(token.split(".")[0]))


def jwt_claims(token: str) -> dict:
    """The payload of a compact JWS, unverified."""
    parts = token.split(".")
    assert len(parts) == 3, f"not a compact JWS: {token[:40]}..."
    return json.loads(_b64url_decode(parts[1]))


def with_claims(token: str, **changes: Any) -> str:
    """The same token with payload claims changed and the original signature kept (a forgery)."""
    h, _, s = token.split(".")
    claims = jwt_claims(token)
    claims.update(changes)
    return f"{h}.{b64url(json.dumps(claims).encode())}.{s}"


def flip_signature(token: str) -> str:
    """The same token with one bit of the signature changed."""
    h, p, s = token.split(".")
    raw = bytearray(_b64url_decode(s))
    raw[len(raw) // 2] ^= 0x01
    return f"{h}.{p}.{b64url(bytes(raw))}"


def basic(client_id: str, secret: str) -> dict:
    """`Authorization: Basic` as the Keycard SDK sends it (raw id:secret, not form-encoded)."""
    return {"Authorization": "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()}


def assert_oauth_error(resp: httpx.Response, status: int, error: str, *, basic_challenge: bool = False) -> dict:
    """An RFC 6749 §5.2 error: status, JSON `{error, error_description?}`."""
    assert resp.status_code == status, f"expected HTTP {status} {error}, got {resp.status_code}: {resp.text}"
    ctype = resp.headers.get("content-type", "")
    assert ctype.startswith("application/json"), f"error content-type is {ctype!r}: {resp.text}"
    body = resp.json()
    assert isinstance(body, dict) and body.get("error") == error, f"expected error {error!r}, got {body}"
    if "error_description" in body:
        assert isinstance(body["error_description"], str), body
    if basic_challenge:
        challenge = resp.headers.get("www-authenticate", "")
        assert challenge.lower().startswith("basic"), f"no `WWW-Authenticate: Basic` challenge: {resp.headers}"
    return body


# --------------------------------------------------------------------------------------------
# Loopback servers
# --------------------------------------------------------------------------------------------


class JsonServer:
    """A threaded HTTP server on 127.0.0.1 answering GETs from a mutable `path -> (status, JSON)` map,
    recording each request path (so tests can see what the zone fetched)."""

    def __init__(self) -> None:
        self.routes: dict[str, tuple[int, Any]] = {}
        self.hits: list[str] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                path = self.path.split("?", 1)[0]
                owner.hits.append(path)
                status, doc = owner.routes.get(path, (404, {"error": "not_found"}))
                page = isinstance(doc, bytes)
                body = doc if page else json.dumps(doc).encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/html" if page else "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        return self.base + path

    def publish(self, path: str, doc: Any, status: int = 200) -> str:
        """Serves `doc` at `path`: JSON, or an HTML page when it is bytes."""
        self.routes[path] = (status, doc)
        return self.url(path)

    def add_keys(self, path: str, jwks: dict) -> str:
        """Appends the keys of `jwks` to the JWKS published at `path` (shared paths such as
        `/.well-known/jwks.json` collect the keys of several tests)."""
        _, doc = self.routes.get(path, (200, {"keys": []}))
        self.routes[path] = (200, {"keys": list(doc.get("keys", [])) + list(jwks["keys"])})
        return self.url(path)

    def count(self, path: str) -> int:
        return sum(1 for h in self.hits if h == path)

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def reserve_socket() -> socket.socket:
    """A listening-ready TCP socket bound to 127.0.0.1 on an OS-chosen port, for an app that must
    know its own URL before it is built (FastMCP's audience, an A2A agent card); pass it to
    `AsgiServer(app, sock=...)`."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


class AsgiServer:
    """An ASGI app served by uvicorn on 127.0.0.1 (an OS-chosen port, or the pre-bound `sock`) in a
    background thread. `lifespan="on"` for apps that start work at startup (FastMCP's session
    manager)."""

    def __init__(self, app: Any, *, sock: Optional[socket.socket] = None, lifespan: str = "off") -> None:
        import uvicorn

        config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan=lifespan)
        self.server = uvicorn.Server(config)
        sockets = [sock] if sock is not None else None
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": sockets}, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        self.port = self.server.servers[0].sockets[0].getsockname()[1]

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def close(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


class Idp:
    """A workload-identity issuer (think Kubernetes / GitHub Actions): an RSA key, OIDC discovery
    and JWKS published on a JsonServer under its own path, and `mint()` for its tokens."""

    def __init__(self, server: JsonServer) -> None:
        self.server = server
        self.prefix = f"/idp-{uuid.uuid4().hex[:10]}"
        self.issuer = server.url(self.prefix)
        self.kid = "idp-" + uuid.uuid4().hex[:8]
        self.key = self._new_key(self.kid)
        self.discovery_path = self.prefix + "/.well-known/openid-configuration"
        self.jwks_path = self.prefix + "/keys"
        self.jwks_uri = server.url(self.jwks_path)
        server.publish(
            self.discovery_path,
            {"issuer": self.issuer, "jwks_uri": self.jwks_uri, "id_token_signing_alg_values_supported": ["RS256"]},
        )
        server.publish(self.jwks_path, {"keys": [self.public_jwk(self.key)]})

    @staticmethod
    def _new_key(kid: str) -> RSAKey:
        pem = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        return RSAKey.import_key(pem, {"kid": kid, "alg": "RS256", "use": "sig"})

    @staticmethod
    def public_jwk(key: RSAKey) -> dict:
        return key.as_dict(private=False)

    def mint(
        self,
        *,
        sub: str,
        aud: Any,
        lifetime: int = 300,
        iss: Optional[str] = None,
        jti: Any = "random",
        key: Optional[RSAKey] = None,
        **extra: Any,
    ) -> str:
        """A signed token; `jti=None` leaves the claim out (a random one by default)."""
        now = int(time.time())
        claims = {
            "iss": iss or self.issuer,
            "sub": sub,
            "aud": aud,
            "iat": now,
            "exp": now + lifetime,
            "jti": jti,
            **extra,
        }
        if jti == "random":
            claims["jti"] = str(uuid.uuid4())
        elif jti is None:
            del claims["jti"]
        key = key or self.key
        return jose_jwt.encode({"alg": "RS256", "typ": "JWT", "kid": key.kid}, claims, key)


# --------------------------------------------------------------------------------------------
# A zone as an authorization server
# --------------------------------------------------------------------------------------------


@dataclass
class Service:
    """An application with a password credential (a confidential OAuth client)."""

    app: Any
    credential: Any
    client_id: str
    secret: str

    @property
    def identifier(self) -> str:
        return self.app.identifier

    def headers(self) -> dict:
        return basic(self.client_id, self.secret)


@dataclass
class OAuthZone:
    """A zone plus the admin clients that configure it, with its OAuth endpoints."""

    kit: lk.ZoneKit
    admin_http: httpx.Client
    http: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=30.0))

    @property
    def id(self) -> str:
        return self.kit.id

    @property
    def zone(self) -> Any:
        return self.kit.zone

    @property
    def issuer(self) -> str:
        return self.zone.protocols.oauth2.issuer

    @property
    def token_endpoint(self) -> str:
        return self.zone.protocols.oauth2.token_endpoint

    @property
    def jwks_uri(self) -> str:
        return self.zone.protocols.oauth2.jwks_uri

    @property
    def registration_endpoint(self) -> str:
        return self.zone.protocols.oauth2.registration_endpoint

    @property
    def introspection_endpoint(self) -> str:
        return self.issuer + "/oauth/2/introspect"

    @property
    def revocation_endpoint(self) -> str:
        return self.issuer + "/oauth/2/revoke"

    # -- directory objects ------------------------------------------------------------------

    def resource(self, owner: Any = None, scopes: Optional[list[str]] = None, **kw: Any) -> Any:
        if owner is not None:
            kw["application_id"] = owner.app.id if isinstance(owner, Service) else owner.id
        if scopes is not None:
            kw["scopes"] = scopes
        return self.kit.resource(**kw)

    def app(self, depends_on: Iterable[Any] = (), **kw: Any) -> Any:
        deps = [{"id": r.id} for r in depends_on]
        if deps:
            kw["dependencies"] = deps
        return self.kit.app(**kw)

    def service(self, depends_on: Iterable[Any] = (), **kw: Any) -> Service:
        app = self.app(depends_on, **kw)
        return self.password(app)

    def password(self, app: Any) -> Service:
        cred = self.kit.client.zones.application_credentials.create(self.id, application_id=app.id, type="password")
        assert cred.identifier and cred.password, cred
        return Service(app, cred, cred.identifier, cred.password)

    def add_dependency(self, app: Any, resource: Any) -> None:
        app_id = app.app.id if isinstance(app, Service) else app.id
        self.kit.client.zones.applications.dependencies.add(resource.id, zone_id=self.id, id=app_id)

    def credential(self, app: Any, type: str, **kw: Any) -> Any:
        app_id = app.app.id if isinstance(app, Service) else app.id
        return self.kit.client.zones.application_credentials.create(self.id, application_id=app_id, type=type, **kw)

    def provider(self, **kw: Any) -> Any:
        return self.kit.provider(**kw)

    # -- signing keys (Latchkey extension) --------------------------------------------------

    def signing_keys(self) -> list[dict]:
        r = self.admin_http.get(f"/zones/{self.id}/signing-keys")
        assert r.status_code == 200, r.text
        return r.json()["items"]

    def rotate(self) -> list[dict]:
        r = self.admin_http.post(f"/zones/{self.id}/signing-keys/rotate")
        assert r.status_code == 200, r.text
        return r.json()["items"]

    def jwks(self) -> dict:
        r = self.http.get(self.jwks_uri)
        assert r.status_code == 200, r.text
        return r.json()

    # -- OAuth requests ---------------------------------------------------------------------

    def client(self, svc: Optional[Service] = None, **kw: Any) -> Client:
        """The Keycard SDK's synchronous OAuth client for this zone (Basic auth when `svc`)."""
        kw.setdefault("config", ClientConfig(max_retries=0, timeout=30.0))
        if svc is not None:
            kw["auth"] = BasicAuth(svc.client_id, svc.secret)
        return Client(self.issuer, **kw)

    def cc_token(self, svc: Service, resource: Any, scope: Optional[str] = None) -> str:
        """A client-credentials access token, obtained through the SDK."""
        target = resource if isinstance(resource, str) else resource.identifier
        with self.client(svc) as c:
            return c.client_credentials_grant(resource=target, scope=scope).access_token

    def token_post(self, data: dict, headers: Optional[dict] = None) -> httpx.Response:
        return self.http.post(self.token_endpoint, data=data, headers=headers or {})

    def exchange_post(self, subject_token: str, resource: str, headers: Optional[dict] = None, **extra: Any) -> httpx.Response:
        data = {
            "grant_type": TOKEN_EXCHANGE,
            "subject_token": subject_token,
            "subject_token_type": ACCESS_TOKEN_TYPE,
            "resource": resource,
            **extra,
        }
        return self.token_post(data, headers)

    def introspect(self, token: str, svc: Service) -> httpx.Response:
        return self.http.post(self.introspection_endpoint, data={"token": token}, headers=svc.headers())
