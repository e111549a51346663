"""Shared helpers for the Latchkey conformance suite.

Everything that starts processes, creates databases or builds SDK clients lives here (and in
``conftest.py``, which turns these into fixtures), so the test modules only say what they check.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Iterator, Optional

import httpx
import pytest
from keycardai_api import APIStatusError, KeycardAPI

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PG_ADMIN_URL = "postgres://postgres@127.0.0.1:5432/postgres"
SDK_TOKEN_HOST = "api.keycard.ai"

SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
# A DNS label: what an organization `label` ("a domain name segment") must be.
DNS_LABEL_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
# Org-family ids: "A 26-char nanoid (URL/DNS safe)"; design.md: lowercase, DNS-safe.
NANOID_RE = re.compile(r"^[a-z0-9]{26}$")


def unique(prefix: str = "conf") -> str:
    """A name no other test (or earlier run against the same database) uses."""
    return f"{prefix} {uuid.uuid4().hex[:12]}"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def random_bootstrap_key() -> str:
    return "lk_test_" + secrets.token_hex(20)


# --------------------------------------------------------------------------------------------
# The server process
# --------------------------------------------------------------------------------------------


class ServerStartError(RuntimeError):
    pass


@dataclass
class LatchkeyServer:
    """One `latchkey serve` process on a loopback port, with its own data dir and log file."""

    binary: Path
    backend: str
    data_dir: Path
    database_url: Optional[str] = None
    bootstrap_key: str = field(default_factory=random_bootstrap_key)
    port: int = 0
    proc: Optional[subprocess.Popen] = None
    # extra `serve` flags and environment (e.g. test-only timeouts, proxy variables)
    extra_args: list[str] = field(default_factory=list)
    extra_env: dict[str, str] = field(default_factory=dict)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.data_dir.parent / f"{self.data_dir.name}.log"

    def command(self) -> list[str]:
        cmd = [
            str(self.binary),
            "serve",
            "--listen",
            f"127.0.0.1:{self.port}",
            "--data-dir",
            str(self.data_dir),
            "--public-url",
            self.base_url,
        ]
        if self.database_url:
            cmd += ["--database-url", self.database_url]
        return cmd + list(self.extra_args)

    def start(self, timeout: float = 30.0) -> "LatchkeyServer":
        """Starts the process and waits for `GET /healthz` to answer 200."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        last_error = ""
        for _attempt in range(3):  # a free port can be taken between probe and bind
            if not self.port:
                self.port = free_port()
            env = {k: v for k, v in os.environ.items() if not k.startswith("KEYCARD_API_")}
            env["LATCHKEY_BOOTSTRAP_API_KEY"] = self.bootstrap_key
            env.setdefault("RUST_LOG", "info")
            env.setdefault("RUST_BACKTRACE", "1")
            env.setdefault("NO_COLOR", "1")
            env.update(self.extra_env)
            with open(self.log_path, "ab") as log:
                log.write(f"\n===== start: {' '.join(self.command())}\n".encode())
                log.flush()
                self.proc = subprocess.Popen(
                    self.command(),
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    env=env,
                    cwd=str(self.data_dir.parent),
                    start_new_session=True,
                )
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    break
                try:
                    r = httpx.get(f"{self.base_url}/healthz", timeout=1.0)
                    if r.status_code == 200:
                        return self
                    last_error = f"/healthz answered {r.status_code}"
                except httpx.HTTPError as e:
                    last_error = repr(e)
                time.sleep(0.1)
            if self.proc.poll() is None:
                self.kill()
                raise ServerStartError(
                    f"latchkey did not answer 200 on /healthz within {timeout}s ({last_error})\n"
                    + self.log_tail()
                )
            tail = self.log_tail()
            if "in use" in tail.lower():
                self.port = 0
                continue
            raise ServerStartError(f"latchkey exited with {self.proc.returncode} during start\n{tail}")
        raise ServerStartError(f"could not bind a free port\n{self.log_tail()}")

    def stop(self, timeout: float = 10.0) -> Optional[int]:
        """SIGTERM, then wait. Returns the exit code, or None if it had to be killed."""
        if self.proc is None or self.proc.poll() is not None:
            return None if self.proc is None else self.proc.returncode
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            return None

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def log_tail(self, lines: int = 120) -> str:
        text = self.log_text().splitlines()
        return f"----- {self.log_path} (last {lines} lines) -----\n" + "\n".join(text[-lines:])


# --------------------------------------------------------------------------------------------
# PostgreSQL throw-away databases
# --------------------------------------------------------------------------------------------


def _with_db(url: str, dbname: str) -> str:
    base, _, _ = url.rpartition("/")
    return f"{base}/{dbname}"


@contextlib.contextmanager
def postgres_database(admin_url: str) -> Iterator[str]:
    """Creates `latchkey_conf_<hex>`, yields its URL, drops it (WITH FORCE) afterwards."""
    import psycopg

    name = f"latchkey_conf_{secrets.token_hex(6)}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield _with_db(admin_url, name)
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# --------------------------------------------------------------------------------------------
# SDK clients
# --------------------------------------------------------------------------------------------


class RedirectTokenTransport(httpx.BaseTransport):
    """Sends the SDK's hard-wired `https://api.keycard.ai/...` requests to the local server.

    The SDK posts its client-credentials request to an absolute URL whatever `base_url` says
    (spec §1.3), so the transport rewrites that host; everything else passes through unchanged.
    """

    def __init__(self, port: int) -> None:
        self.port = port
        self.inner = httpx.HTTPTransport()
        self.token_requests: list[httpx.Request] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.host == SDK_TOKEN_HOST:
            self.token_requests.append(request)
            request.url = request.url.copy_with(scheme="http", host="127.0.0.1", port=self.port)
            request.headers["Host"] = f"127.0.0.1:{self.port}"
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


def api_key_client(server: LatchkeyServer, api_key: Optional[str], **kw: Any) -> KeycardAPI:
    kw.setdefault("max_retries", 0)
    return KeycardAPI(api_key=api_key, base_url=server.base_url, **kw)


def credentials_client(
    server: LatchkeyServer, client_id: str, client_secret: str, **kw: Any
) -> KeycardAPI:
    """An SDK client that authenticates with the OAuth2 client-credentials flow."""
    kw.setdefault("max_retries", 0)
    transport = RedirectTokenTransport(server.port)
    client = KeycardAPI(
        client_id=client_id,
        client_secret=client_secret,
        base_url=server.base_url,
        http_client=httpx.Client(transport=transport, timeout=30.0),
        **kw,
    )
    client._conformance_transport = transport  # type: ignore[attr-defined]
    return client


def race(server: LatchkeyServer, path: str, body: dict, n: int = 12, rounds: int = 3) -> list[httpx.Response]:
    """`rounds` bursts of `n` identical POSTs (bootstrap key) sent at once; all the answers."""
    results: list[httpx.Response] = []
    lock = threading.Lock()
    barrier = threading.Barrier(n)

    def post() -> None:
        with httpx.Client(base_url=server.base_url, timeout=30) as c:
            barrier.wait()
            r = c.post(path, json=body, headers={"Authorization": f"Bearer {server.bootstrap_key}"})
        with lock:
            results.append(r)

    for _ in range(rounds):
        threads = [threading.Thread(target=post) for _ in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    return results


def list_all_organizations(client: KeycardAPI, limit: int = 100) -> list:
    items: list = []
    after = None
    for _ in range(1000):
        page = client.organizations.list(limit=limit, **({"after": after} if after else {}))
        items += page.items
        if not page.page_info.has_next_page:
            return items
        after = page.page_info.end_cursor
        assert after, "has_next_page is true but end_cursor is empty"
    raise AssertionError("organizations list did not end")



# --------------------------------------------------------------------------------------------
# Assertions
# --------------------------------------------------------------------------------------------


def assert_error(err: "APIStatusError | httpx.Response", status: int, code: Optional[str] = None) -> dict:
    """Checks an error answer: status, JSON content type and a `{message, code, status}` body."""
    response = err.response if isinstance(err, APIStatusError) else err
    assert response.status_code == status, f"expected HTTP {status}, got {response.status_code}: {response.text}"
    ctype = response.headers.get("content-type", "")
    assert ctype.startswith("application/json"), f"error content-type is {ctype!r}"
    body = json.loads(response.content)
    assert isinstance(body, dict), body
    for key in ("message", "code", "status"):
        assert key in body, f"error body lacks {key!r}: {body}"
    assert isinstance(body["message"], str) and body["message"], body
    assert isinstance(body["code"], str) and body["code"], body
    assert body["status"] == status and type(body["status"]) is int, body
    if code is not None:
        assert body["code"] == code, f"expected code {code!r}, got {body['code']!r}: {body}"
    return body


@contextlib.contextmanager
def api_error(exc_cls: type, status: int, code: Optional[str] = None) -> Iterator[Any]:
    """`with api_error(NotFoundError, 404, "not_found"): client.zones.retrieve(...)`"""
    with pytest.raises(exc_cls) as info:
        yield info
    info.body = assert_error(info.value, status, code)  # type: ignore[attr-defined]


def assert_valid(model_cls: Any, raw: Any) -> Any:
    """Validates raw JSON strictly against an SDK model (every required field present, right type).

    The SDK itself parses leniently (a missing or mistyped field goes unnoticed), so this is the
    check that the server's JSON is what the model declares. `model_cls` may also be one of the
    SDK's type aliases (`Credential`, `Session`, `SecretListResponse`, ...).
    """
    data = json.dumps(raw)
    if hasattr(model_cls, "model_validate_json"):
        return model_cls.model_validate_json(data, strict=True)
    return _type_adapter(model_cls).validate_json(data, strict=True)


@functools.lru_cache(maxsize=None)
def _type_adapter(tp: Any) -> Any:
    from pydantic import TypeAdapter

    return TypeAdapter(tp)


def assert_utc_datetime(value: Any, what: str = "timestamp") -> None:
    assert isinstance(value, datetime), f"{what} is not a datetime: {value!r}"
    assert value.tzinfo is not None and value.utcoffset().total_seconds() == 0, f"{what} not UTC: {value!r}"


def assert_rfc3339(raw: Any, what: str = "timestamp") -> None:
    assert isinstance(raw, str), f"{what} is not a string: {raw!r}"
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})", raw), (
        f"{what} is not RFC 3339: {raw!r}"
    )


def raw_json(with_raw_call: Any) -> tuple[int, Any, httpx.Headers]:
    """(status, parsed JSON, headers) of an SDK `with_raw_response` result."""
    http = with_raw_call.http_response
    return http.status_code, (http.json() if http.content else None), http.headers


# --------------------------------------------------------------------------------------------
# The zone directory: objects inside one zone
# --------------------------------------------------------------------------------------------


def unique_token(prefix: str = "conf") -> str:
    """A unique string without spaces (client ids, entity ids)."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def unique_url(prefix: str = "conf") -> str:
    """A unique absolute https URL (identifiers of resources and providers are usually URLs)."""
    return f"https://{prefix}-{uuid.uuid4().hex[:12]}.example.com/"


def ids(items: Any) -> list[str]:
    """The ids of SDK objects or raw JSON objects, in order."""
    return [i["id"] if isinstance(i, dict) else i.id for i in items]


@dataclass
class ZoneKit:
    """One zone and the SDK client that made it, with factories for the objects inside it.

    Each factory fills the required fields with unique values; keyword arguments override them.
    """

    client: KeycardAPI
    zone: Any  # keycardai_api.types.Zone

    @property
    def id(self) -> str:
        return self.zone.id

    @property
    def organization_id(self) -> str:
        return self.zone.organization_id

    @property
    def sts_provider_id(self) -> str:
        return "sts" + self.id[:23]

    @property
    def vault_provider_id(self) -> str:
        return "vlt" + self.id[:23]

    def app(self, **kw: Any) -> Any:
        kw.setdefault("name", unique("app"))
        kw.setdefault("identifier", unique_url("app"))
        return self.client.zones.applications.create(self.id, **kw)

    def resource(self, **kw: Any) -> Any:
        kw.setdefault("name", unique("res"))
        kw.setdefault("identifier", unique_url("res"))
        return self.client.zones.resources.create(self.id, **kw)

    def provider(self, **kw: Any) -> Any:
        kw.setdefault("name", unique("idp"))
        kw.setdefault("identifier", unique_url("idp"))
        return self.client.zones.providers.create(self.id, **kw)

    def credential(self, type: str = "public", **kw: Any) -> Any:
        """An application credential of `type` (a new application and, for `token`, a new provider
        unless given)."""
        if "application_id" not in kw:
            kw["application_id"] = self.app().id
        if type == "token":
            kw.setdefault("provider_id", self.provider().id)
        elif type == "public-key":
            kw.setdefault("jwks_uri", "https://keys.example.com/jwks.json")
        elif type == "url":
            kw.setdefault("identifier", unique_url("client"))
        return self.client.zones.application_credentials.create(self.id, type=type, **kw)

    def secret(self, **kw: Any) -> Any:
        kw.setdefault("name", unique("secret"))
        kw.setdefault("entity_id", "entity-" + uuid.uuid4().hex[:12])
        kw.setdefault("data", {"type": "token", "token": "tok-" + uuid.uuid4().hex})
        return self.client.zones.secrets.create(self.id, **kw)

    def count(self, list_method: Any, **kw: Any) -> int:
        """`pagination.total_count` of a zone list method (e.g. `client.zones.applications.list`)."""
        page = list_method(self.id, limit=1, expand=["total_count"], **kw)
        assert page.pagination.total_count is not None, "expand[]=total_count gave no total_count"
        return page.pagination.total_count


def walk_pages(raw_list: Any, model: Any, expected: list[str], *, limit: int = 2, **kw: Any) -> list[list[str]]:
    """Pages through a zone-family list forward (`after=pagination.after_cursor`) and back
    (`before=pagination.before_cursor`) with `limit` and `expand[]=total_count`, plus the filters in
    `kw`, checking the envelope of every page. `raw_list` is an SDK `with_raw_response.<list>`
    method bound to its path ids (functools.partial). `expected` is every id the list should give,
    in order. Returns the pages of ids."""

    def fetch(**cursor: str) -> dict:
        status, body, _ = raw_json(raw_list(limit=limit, expand=["total_count"], **kw, **cursor))
        assert status == 200, body
        assert_valid(model, body)
        assert set(body) >= {"items", "pagination", "page_info"}, sorted(body)
        assert body["pagination"].get("total_count") == len(expected), body["pagination"]
        assert len(body["items"]) <= limit
        return body

    pages: list[list[str]] = []
    bodies: list[dict] = []
    after: Optional[str] = None
    while True:
        body = fetch(**({"after": after} if after else {}))
        bodies.append(body)
        pages.append(ids(body["items"]))
        if not body["page_info"]["has_next_page"]:
            break
        after = body["pagination"].get("after_cursor")
        assert after, "has_next_page is true but there is no pagination.after_cursor"
        assert len(pages) <= len(expected) + 1, "pagination does not end"
    assert [i for p in pages for i in p] == expected
    assert len(pages) == max(1, -(-len(expected) // limit))
    assert bodies[0]["page_info"]["has_previous_page"] is False
    assert all(b["page_info"]["has_previous_page"] is True for b in bodies[1:])
    assert all(b["page_info"]["has_next_page"] is True for b in bodies[:-1])
    assert bodies[-1]["pagination"].get("after_cursor") is None

    cursor = bodies[-1]["pagination"].get("before_cursor")
    for j in range(len(pages) - 2, -1, -1):
        assert cursor, f"no pagination.before_cursor on page {j + 2}"
        back = fetch(before=cursor)
        assert ids(back["items"]) == pages[j], f"page {j + 1} read backwards differs"
        assert back["page_info"]["has_next_page"] is True
        assert back["page_info"]["has_previous_page"] is (j > 0)
        cursor = back["pagination"].get("before_cursor")
    return pages


def cursor_forgeries(cursor: str) -> list[str]:
    """Cursors a client could make by editing a real one: when the cursor is base64url JSON (as
    Latchkey's are), the same structure with one scalar at a time replaced by a value of the wrong
    type. None of these was issued by the server, so each must be refused (400 `invalid_cursor`).
    Empty when the cursor is not base64url JSON."""
    try:
        decoded = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except ValueError:
        return []

    def variants(v: Any) -> Iterator[Any]:
        if isinstance(v, list):
            for i, x in enumerate(v):
                for y in variants(x):
                    yield v[:i] + [y] + v[i + 1 :]
        elif isinstance(v, dict):
            for k, x in v.items():
                for y in variants(x):
                    yield {**v, k: y}
        elif isinstance(v, bool) or v is None:
            yield "x"
        elif isinstance(v, (int, float)):
            yield "not-a-number"
            yield [v]
        elif isinstance(v, str):
            yield 5
            yield {"s": v}

    return [base64.urlsafe_b64encode(json.dumps(f).encode()).decode().rstrip("=") for f in variants(decoded)]


def cursors_not_refused(fetch: Any, cursors: list[str]) -> list[str]:
    """Calls `fetch(cursor)` for each cursor; returns, readably, those that were not refused with a
    400 `invalid_cursor` error and what came back instead."""
    out = []
    for c in cursors:
        shown = base64.urlsafe_b64decode(c + "=" * (-len(c) % 4)).decode(errors="replace")
        try:
            fetch(c)
        except APIStatusError as e:
            try:
                assert_error(e, 400, "invalid_cursor")
            except AssertionError:
                out.append(f"{shown} -> {e.status_code} {e.response.text[:100]}")
        else:
            out.append(f"{shown} -> 200")
    return out
