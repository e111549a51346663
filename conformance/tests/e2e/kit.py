"""Helpers for the end-to-end login tests: the upstream OpenID provider (node `oidc-provider`,
conformance/e2e-node/idp.mjs), the Chromium user (playwright-core, conformance/e2e-node/flow.mjs),
the client's redirect listener, PKCE, authorization URLs, and a cookie-keeping HTTP "browser"
(httpx) that walks the same pages without Chromium for the security cases.

Nothing is mocked on the server side: every request goes to the real `latchkey` binary.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import os
import re
import secrets
import shutil
import tempfile
import subprocess
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Optional
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx

import lk

NODE_DIR = lk.REPO_ROOT / "conformance" / "e2e-node"
# README screenshots are refreshed only on request (LATCHKEY_E2E_SCREENSHOTS=1), so ordinary runs
# leave the working tree clean.
SCREENSHOTS = (
    lk.REPO_ROOT / "docs" / "screenshots"
    if os.environ.get("LATCHKEY_E2E_SCREENSHOTS") == "1"
    else Path(tempfile.gettempdir()) / "latchkey-e2e-screenshots"
)
CHROMIUM = os.environ.get("LATCHKEY_E2E_CHROMIUM", "/usr/bin/chromium")
TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"
PASSWORD = "correct horse battery staple"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwt_claims(token: str) -> dict:
    parts = token.split(".")
    assert len(parts) == 3, f"not a compact JWS: {token[:40]}..."
    return json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))


def basic(client_id: str, secret: str) -> dict:
    return {"Authorization": "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()}


@dataclass
class Pkce:
    verifier: str = field(default_factory=lambda: b64url(secrets.token_bytes(96)))  # 128 chars

    @property
    def challenge(self) -> str:
        return b64url(hashlib.sha256(self.verifier.encode()).digest())


def form(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """Form pairs (keys may repeat) as the dict httpx wants (a list for a repeated key)."""
    out: dict[str, Any] = {}
    for k, v in pairs:
        if k in out:
            out[k] = (out[k] if isinstance(out[k], list) else [out[k]]) + [v]
        else:
            out[k] = v
    return out


def query(url: str) -> dict[str, str]:
    """The query parameters of a URL (single values)."""
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query, keep_blank_values=True).items()}


def assert_oauth_error(resp: httpx.Response, status: int, error: str) -> dict:
    assert resp.status_code == status, f"expected HTTP {status} {error}, got {resp.status_code}: {resp.text}"
    assert resp.headers.get("content-type", "").startswith("application/json"), resp.headers
    body = resp.json()
    assert body.get("error") == error, f"expected error {error!r}, got {body}"
    return body


# --------------------------------------------------------------------------------------------
# Node processes: the upstream provider and the Chromium user
# --------------------------------------------------------------------------------------------


def node_ready() -> Optional[str]:
    """Why the node parts cannot run here, or None."""
    if not shutil.which("node"):
        return "node is not installed"
    for pkg in ("oidc-provider", "playwright-core"):
        if not (NODE_DIR / "node_modules" / pkg).is_dir():
            return f"{NODE_DIR}/node_modules/{pkg} is missing (conformance/run.sh installs it)"
    return None


class UpstreamIdp:
    """conformance/e2e-node/idp.mjs: an oidc-provider with the given clients, on a free port."""

    def __init__(self, clients: list[dict], log_path: Path) -> None:
        self.clients = {c["client_id"]: c for c in clients}
        self.log_file = open(log_path, "ab")
        self.proc = subprocess.Popen(
            ["node", str(NODE_DIR / "idp.mjs")],
            cwd=str(NODE_DIR),
            env={**os.environ, "IDP_CONFIG": json.dumps({"clients": clients})},
            stdout=subprocess.PIPE,
            stderr=self.log_file,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        line = self.proc.stdout.readline() if self.proc.stdout else b""
        if not line:
            self.proc.kill()
            raise RuntimeError(f"idp.mjs did not start; see {log_path}")
        info = json.loads(line)
        self.issuer: str = info["issuer"]
        self.port: int = info["port"]

    def requests(self, path: Optional[str] = None, client_id: Optional[str] = None) -> list[dict]:
        """What the provider received at /auth and /token (query, and for /token a body summary)."""
        entries = httpx.get(f"{self.issuer}/__e2e/log", timeout=10).json()
        if path:
            entries = [e for e in entries if e["path"] == path]
        if client_id:
            entries = [e for e in entries if e["query"].get("client_id") == client_id or e.get("client_id") == client_id]
        return entries

    def token_calls(self, grant_type: str) -> list[dict]:
        """The token requests of one grant type, oldest first."""
        return [e for e in self.requests("/token") if (e.get("body") or {}).get("grant_type") == grant_type]

    def userinfo(self, access_token: str) -> httpx.Response:
        return httpx.get(f"{self.issuer}/me", headers={"Authorization": f"Bearer {access_token}"}, timeout=10)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        if self.proc.stdout:
            self.proc.stdout.close()
        self.log_file.close()


@dataclass
class FlowResult:
    raw: dict

    @property
    def outcome(self) -> str:
        return self.raw["outcome"]

    @property
    def kinds(self) -> list[str]:
        return [s["kind"] for s in self.raw["steps"]]

    @property
    def final_url(self) -> str:
        return self.raw["final_url"] or ""

    @property
    def steps(self) -> list[dict]:
        return self.raw["steps"]

    @property
    def screenshots(self) -> dict[str, str]:
        return self.raw["screenshots"]

    def step(self, kind: str) -> dict:
        found = [s for s in self.steps if s["kind"] == kind]
        assert found, f"no {kind} page in {self.kinds}"
        return found[0]

    def __str__(self) -> str:
        return json.dumps(self.raw, indent=1)[:4000]


def flow_command(params: dict) -> tuple[list[str], dict]:
    env = {**os.environ, "FLOW_PARAMS": json.dumps(params), "CHROMIUM": CHROMIUM}
    return ["node", str(NODE_DIR / "flow.mjs")], env


def parse_flow_output(stdout: str, stderr: str, code: int) -> FlowResult:
    lines = [ln for ln in stdout.splitlines() if ln.startswith("{")]
    if not lines:
        raise AssertionError(f"flow.mjs printed no result (exit {code}); stderr:\n{stderr[-3000:]}")
    return FlowResult(json.loads(lines[-1]))


def run_flow(**params: Any) -> FlowResult:
    """Runs one Chromium user journey (see flow.mjs) and returns its result."""
    cmd, env = flow_command(params)
    p = subprocess.run(cmd, cwd=str(NODE_DIR), env=env, capture_output=True, text=True, timeout=120)
    return parse_flow_output(p.stdout, p.stderr, p.returncode)


class ConsoleWalk:
    """The console walk-through in Chromium (e2e-node/console.mjs) as a child process: it prints a
    `{"pause": name, ...}` line at each pause and waits for the test's answer on stdin; its last
    line is the result (`outcome`, `step`, `pages` with their axe-core violations, `screenshots`,
    `data`)."""

    def __init__(self, params: dict, timeout: float = 300.0) -> None:
        env = {**os.environ, "CONSOLE_PARAMS": json.dumps(params), "CHROMIUM": CHROMIUM}
        self.stderr = tempfile.TemporaryFile(mode="w+")
        self.proc = subprocess.Popen(
            ["node", str(NODE_DIR / "console.mjs")],
            cwd=str(NODE_DIR),
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.stderr,
            text=True,
        )
        self.watchdog = threading.Timer(timeout, self.proc.kill)
        self.watchdog.start()
        self.result: dict = {}

    def next_pause(self) -> Optional[dict]:
        """The next pause, or None when the walk has ended (then `result` is set)."""
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if not line.startswith("{"):
                continue
            msg = json.loads(line)
            if "pause" in msg:
                return msg
            self.result = msg
        self.proc.wait()
        self.watchdog.cancel()
        if not self.result:
            self.stderr.seek(0)
            raise AssertionError(f"console.mjs printed no result (exit {self.proc.returncode}): {self.stderr.read()[-3000:]}")
        return None

    def answer(self, reply: Optional[dict] = None) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(reply or {}) + "\n")
        self.proc.stdin.flush()

    def stop(self, why: str) -> None:
        """Ends the walk at the current pause (a check failed) and waits for it to close Chromium."""
        try:
            self.answer({"stop": why})
            self.proc.wait(timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()
        self.watchdog.cancel()

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.watchdog.cancel()
        self.stderr.close()


def keep_file(src: str, name: str) -> Path:
    """Copies a screenshot to docs/screenshots/<name>.png (LATCHKEY_E2E_SCREENSHOTS=1) or the temp folder."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    dest = SCREENSHOTS / f"{name}.png"
    shutil.copyfile(src, dest)
    assert dest.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    return dest


def keep_screenshot(result: FlowResult, kind: str, name: str) -> Path:
    """Copies the screenshot of the first `kind` page of a flow to docs/screenshots/<name>.png."""
    src = result.screenshots.get(kind)
    assert src, f"no screenshot of a {kind} page: {sorted(result.screenshots)}"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    dest = SCREENSHOTS / f"{name}.png"
    shutil.copyfile(src, dest)
    assert dest.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    return dest


# --------------------------------------------------------------------------------------------
# The client's redirect listener
# --------------------------------------------------------------------------------------------


class RedirectListener:
    """The client's loopback redirect URI (http://127.0.0.1:{port}/callback): records every hit."""

    def __init__(self) -> None:
        self.hits: list[dict[str, str]] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                if self.path.split("?", 1)[0] == "/callback":
                    owner.hits.append(query(self.path))
                body = b"<!doctype html><title>Client</title><p>The client received the answer.</p>"
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/callback"

    def by_state(self, state: str) -> dict[str, str]:
        found = [h for h in self.hits if h.get("state") == state]
        assert len(found) == 1, f"expected one callback with state {state!r}, got {self.hits}"
        return found[0]

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


# --------------------------------------------------------------------------------------------
# Zones as seen by a client
# --------------------------------------------------------------------------------------------


@dataclass
class Client:
    """A browser client of a zone: an application's public credential (or a DCR client)."""

    client_id: str
    app: Any = None
    secret: Optional[str] = None


@dataclass
class Service:
    """An application with a password credential (a resource server doing token exchange)."""

    app: Any
    client_id: str
    secret: str

    def headers(self) -> dict:
        return basic(self.client_id, self.secret)


@dataclass
class Zone:
    """A zone with the admin SDK client that configures it."""

    admin: Any
    zone: Any
    http: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=30.0))

    @property
    def id(self) -> str:
        return self.zone.id

    @property
    def issuer(self) -> str:
        return self.zone.protocols.oauth2.issuer

    def url(self, path: str) -> str:
        return self.issuer + path

    @property
    def authorize_endpoint(self) -> str:
        return self.url("/oauth/2/authorize")

    @property
    def token_endpoint(self) -> str:
        return self.url("/oauth/2/token")

    @property
    def userinfo_endpoint(self) -> str:
        return self.url("/openidconnect/userinfo")

    @property
    def upstream_redirect(self) -> str:
        return self.url("/oauth/2/redirect")

    def refresh(self) -> Any:
        self.zone = self.admin.zones.retrieve(self.id)
        return self.zone

    # -- directory objects ------------------------------------------------------------------

    def resource(self, **kw: Any) -> Any:
        kw.setdefault("name", lk.unique("res"))
        kw.setdefault("identifier", lk.unique_url("res"))
        return self.admin.zones.resources.create(self.id, **kw)

    def app(self, depends_on: list[Any] = (), **kw: Any) -> Any:
        kw.setdefault("name", lk.unique("app"))
        kw.setdefault("identifier", lk.unique_url("app"))
        deps = [{"id": r.id} for r in depends_on]
        if deps:
            kw["dependencies"] = deps
        return self.admin.zones.applications.create(self.id, **kw)

    def browser_client(
        self,
        redirect_uris: list[str],
        consent: str = "required",
        name: Optional[str] = None,
        confidential: bool = False,
        depends_on: list[Any] = (),
        post_logout_redirect_uris: list[str] = (),
    ) -> Client:
        oauth2: dict[str, list[str]] = {"redirect_uris": redirect_uris}
        if post_logout_redirect_uris:
            oauth2["post_logout_redirect_uris"] = list(post_logout_redirect_uris)
        app = self.app(
            depends_on,
            name=name or lk.unique("Client"),
            consent=consent,
            protocols={"oauth2": oauth2},
        )
        if confidential:
            cred = self.admin.zones.application_credentials.create(self.id, application_id=app.id, type="password")
            return Client(cred.identifier, app, cred.password)
        cred = self.admin.zones.application_credentials.create(self.id, application_id=app.id, type="public")
        return Client(cred.identifier, app)

    def service(self, depends_on: list[Any] = (), **kw: Any) -> Service:
        app = self.app(depends_on, **kw)
        cred = self.admin.zones.application_credentials.create(self.id, application_id=app.id, type="password")
        return Service(app, cred.identifier, cred.password)

    def users(self) -> list[Any]:
        return list(self.admin.zones.users.list(self.id, limit=100).items)

    def user_by_email(self, email: str) -> Any:
        found = [u for u in self.users() if u.email == email]
        assert len(found) == 1, f"expected one user {email}, got {[u.email for u in self.users()]}"
        return found[0]

    def grants(self, **kw: Any) -> list[Any]:
        return list(self.admin.zones.delegated_grants.list(self.id, limit=100, **kw).items)

    # -- OAuth ------------------------------------------------------------------------------

    def authorize_url(
        self,
        client: Client,
        redirect_uri: str,
        *,
        state: Optional[str] = None,
        pkce: Optional[Pkce] = None,
        resources: list[str] = (),
        scope: Optional[str] = None,
        nonce: Optional[str] = None,
        prompt: Optional[str] = None,
        **extra: str,
    ) -> str:
        params: list[tuple[str, str]] = [
            ("response_type", "code"),
            ("client_id", client.client_id),
            ("redirect_uri", redirect_uri),
        ]
        if state is not None:
            params.append(("state", state))
        if pkce is not None:
            params += [("code_challenge", pkce.challenge), ("code_challenge_method", "S256")]
        params += [("resource", r) for r in resources]
        for k, v in (("scope", scope), ("nonce", nonce), ("prompt", prompt)):
            if v is not None:
                params.append((k, v))
        params += list(extra.items())
        return f"{self.authorize_endpoint}?{urlencode(params)}"

    def redeem(
        self,
        client: Client,
        code: str,
        redirect_uri: str,
        verifier: Optional[str],
        resources: list[str] = (),
        http: Optional[httpx.Client] = None,
    ) -> httpx.Response:
        data: list[tuple[str, str]] = [
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect_uri),
            ("client_id", client.client_id),
        ]
        if verifier is not None:
            data.append(("code_verifier", verifier))
        data += [("resource", r) for r in resources]
        headers = basic(client.client_id, client.secret) if client.secret else {}
        return (http or self.http).post(self.token_endpoint, data=form(data), headers=headers)

    def refresh_grant(self, client: Client, refresh_token: str, resources: list[str] = ()) -> httpx.Response:
        data = [("grant_type", "refresh_token"), ("refresh_token", refresh_token), ("client_id", client.client_id)]
        data += [("resource", r) for r in resources]
        headers = basic(client.client_id, client.secret) if client.secret else {}
        return self.http.post(self.token_endpoint, data=form(data), headers=headers)

    def exchange(self, svc: Service, subject_token: str, resource: str) -> httpx.Response:
        return self.http.post(
            self.token_endpoint,
            data={
                "grant_type": TOKEN_EXCHANGE,
                "subject_token": subject_token,
                "subject_token_type": ACCESS_TOKEN_TYPE,
                "resource": resource,
            },
            headers=svc.headers(),
        )

    def userinfo(self, access_token: str) -> httpx.Response:
        return self.http.get(self.userinfo_endpoint, headers={"Authorization": f"Bearer {access_token}"})

    def jwks(self) -> dict:
        r = self.http.get(self.zone.protocols.oauth2.jwks_uri)
        assert r.status_code == 200, r.text
        return r.json()

    def verify(self, token: str, audience: Any = None) -> dict:
        """Verifies a zone JWT against the zone's JWKS (joserfc) and returns its claims."""
        from joserfc import jwt as jose_jwt
        from joserfc.jwk import KeySet

        keys = KeySet.import_key_set(self.jwks())
        tok = jose_jwt.decode(token, keys, algorithms=["RS256", "ES256", "EdDSA"])
        claims = dict(tok.claims)
        assert claims["iss"] == self.issuer, claims
        assert claims["exp"] > time.time(), claims
        if audience is not None:
            assert claims["aud"] == audience, claims
        return claims


# --------------------------------------------------------------------------------------------
# A browser without a browser: httpx with cookies, walking the zone's pages
# --------------------------------------------------------------------------------------------

_HIDDEN = re.compile(r'<input type="hidden" name="([a-z_]+)" value="([^"]*)">')


def hidden_fields(page: str) -> dict[str, str]:
    return {k: html.unescape(v) for k, v in _HIDDEN.findall(page)}


@dataclass
class Page:
    response: httpx.Response

    @property
    def status(self) -> int:
        return self.response.status_code

    @property
    def text(self) -> str:
        return self.response.text

    @property
    def fields(self) -> dict[str, str]:
        return hidden_fields(self.text)

    @property
    def kind(self) -> str:
        t = self.text
        if "<title>Sign-in error</title>" in t:
            return "error"
        if 'id="allow"' in t:
            return "consent"
        if 'name="csrf"' in t and 'name="email"' in t:
            return "signin"
        if 'id="upstream"' in t:
            return "upstream-only"
        return "other"

    @property
    def alert(self) -> Optional[str]:
        m = re.search(r'<div class="error" role="alert">(.*?)</div>', self.text)
        return html.unescape(m.group(1)) if m else None


class HttpBrowser:
    """Follows the zone's redirects with a cookie jar and stops at anything outside the zone
    server (the client's redirect URI), returning that URL; pages come back as `Page`."""

    def __init__(self, zone: Zone) -> None:
        self.zone = zone
        self.http = httpx.Client(timeout=30.0, follow_redirects=False)
        self.origin = "{0.scheme}://{0.netloc}".format(urlsplit(zone.issuer))

    def close(self) -> None:
        self.http.close()

    def _walk(self, response: httpx.Response) -> "Page | str":
        for _ in range(10):
            if response.status_code not in (301, 302, 303, 307, 308):
                return Page(response)
            location = response.headers["location"]
            if not location.startswith(self.origin + "/"):
                return location
            response = self.http.get(location)
        raise AssertionError("too many redirects")

    def get(self, url: str) -> "Page | str":
        return self._walk(self.http.get(url))

    def post(self, url: str, data: dict, cookies: bool = True) -> "Page | str":
        if cookies:
            return self._walk(self.http.post(url, data=data))
        with httpx.Client(timeout=30.0, follow_redirects=False) as bare:
            return self._walk(bare.post(url, data=data))

    def submit_login(self, page: Page, email: str, password: str, intent: str = "signin", **kw: Any) -> "Page | str":
        fields = {**page.fields, "email": email, "password": password, "intent": intent}
        return self.post(self.zone.url("/login"), fields, **kw)

    def consent(self, page: Page, decision: str = "allow", **kw: Any) -> "Page | str":
        assert page.kind == "consent", page.text[:500]
        return self.post(self.zone.url("/login/consent"), {**page.fields, "decision": decision}, **kw)

    def signup_and_authorize(self, url: str, email: str, password: str = PASSWORD) -> str:
        """Sign-up (or sign-in when the account exists) then consent: the client's redirect URL."""
        page = self.get(url)
        assert isinstance(page, Page) and page.kind == "signin", page if isinstance(page, str) else page.text[:600]
        out = self.submit_login(page, email, password, "signup")
        if isinstance(out, Page) and out.alert and "already exists" in out.alert:
            out = self.submit_login(out, email, password, "signin")
        if isinstance(out, Page) and out.kind == "consent":
            out = self.consent(out, "allow")
        assert isinstance(out, str), f"expected a redirect to the client, got {out.status}: {out.text[:600]}"
        return out


def unique_email(prefix: str = "user") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}@example.test"
