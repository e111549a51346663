"""Test-owned `latchkey serve` processes for the transport, outbound-fetch and error-body attack
tests (test_transport.py, test_outbound.py, test_error_bodies.py): SQLite only, since storage
plays no part in what they check, with extra flags and environment (test-only timeouts, proxy
variables). Also a proxy stand-in that counts connections, and raw-socket helpers."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Optional

import httpx
import pytest

import lk
from oauth.kit import OAuthZone

# Proxy variables in both spellings; NO_PROXY emptied so nothing is exempt.
PROXY_VARS = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")


@dataclass
class Own:
    """A running server of our own, its admin SDK client and admin HTTP client."""

    server: lk.LatchkeyServer
    admin: object
    admin_http: httpx.Client

    @property
    def base_url(self) -> str:
        return self.server.base_url

    def oauth_zone(self, **fields) -> OAuthZone:
        fields.setdefault("name", lk.unique("security zone"))
        zone = self.admin.zones.create(**fields)  # type: ignore[attr-defined]
        return OAuthZone(lk.ZoneKit(self.admin, zone), self.admin_http)


@contextlib.contextmanager
def sqlite_server(
    binary: Path,
    tmp_path_factory: pytest.TempPathFactory,
    *,
    args: tuple[str, ...] = (),
    env: Optional[dict[str, str]] = None,
) -> Iterator[Own]:
    """Starts a SQLite server with `args` and `env`; stops it afterwards, expecting a clean exit."""
    srv = lk.LatchkeyServer(
        binary=binary,
        backend="sqlite",
        data_dir=tmp_path_factory.mktemp("own-security") / "data",
        extra_args=list(args),
        extra_env=dict(env or {}),
    )
    try:
        srv.start()
    except lk.ServerStartError as e:
        pytest.fail(str(e), pytrace=False)
    admin = lk.api_key_client(srv, srv.bootstrap_key)
    admin_http = httpx.Client(
        base_url=srv.base_url, timeout=30.0, headers={"Authorization": f"Bearer {srv.bootstrap_key}"}
    )
    try:
        yield Own(srv, admin, admin_http)
    finally:
        admin_http.close()
        admin.close()  # type: ignore[attr-defined]
        code = srv.stop(timeout=10)
        assert code == 0, f"latchkey did not exit 0 within 10 s of SIGTERM ({code})\n{srv.log_tail(40)}"


class CountingListener:
    """A TCP listener standing in for a proxy: accepts and counts connections, answers nothing
    useful (a 502), records the first bytes of each (e.g. `CONNECT host:port`)."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.seen: list[bytes] = []
        self._stop = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _run(self) -> None:
        self.sock.settimeout(0.2)
        while not self._stop:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            with conn:
                conn.settimeout(1.0)
                try:
                    self.seen.append(conn.recv(256))
                    conn.sendall(b"HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\n\r\n")
                except OSError:
                    self.seen.append(b"")

    def close(self) -> None:
        self._stop = True
        self.thread.join(timeout=2)
        self.sock.close()


def proxy_env(proxy_url: str) -> dict[str, str]:
    env = {v: proxy_url for v in PROXY_VARS}
    env.update({"NO_PROXY": "", "no_proxy": ""})
    return env


def closed_within(sock: socket.socket, seconds: float) -> Optional[float]:
    """Seconds until the server closed `sock` (EOF or reset), or None if it stayed open."""
    start = time.monotonic()
    sock.settimeout(0.2)
    while time.monotonic() - start < seconds:
        try:
            data = sock.recv(4096)
            if data == b"":
                return time.monotonic() - start
        except socket.timeout:
            continue
        except OSError:
            return time.monotonic() - start
    return None


def connect(port: int) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), timeout=5)
