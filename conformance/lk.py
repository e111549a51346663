"""Shared helpers for the Latchkey conformance suite.

Everything that starts processes, creates databases or builds SDK clients lives here (and in
``conftest.py``, which turns these into fixtures), so the test modules only say what they check.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import signal
import socket
import subprocess
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
        return cmd

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


def assert_valid(model_cls: type, raw: Any) -> Any:
    """Validates raw JSON strictly against an SDK model (every required field present, right type).

    The SDK itself parses leniently (a missing or mistyped field goes unnoticed), so this is the
    check that the server's JSON is what the model declares.
    """
    return model_cls.model_validate_json(json.dumps(raw), strict=True)


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
