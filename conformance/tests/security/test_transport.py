"""Transport attacks against the real binary (SQLite; storage plays no part): slowloris in its
forms (headers byte by byte, a silent connection, a stalled HTTP/2 preface, a body that never
arrives) and connection exhaustion. The server runs with test-only short timeouts
(`LATCHKEY_HEADER_READ_TIMEOUT_MS`, `LATCHKEY_REQUEST_TIMEOUT_MS`) so that each test takes seconds.
Before the fix a slow client held its connection forever, and a slow body got an empty 408 only
after 30 s."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path
from typing import Iterator

import httpx
import pytest

from .own_servers import Own, closed_within, connect, sqlite_server

HEADER_TIMEOUT_S = 2.0
REQUEST_TIMEOUT_S = 3.0
MAX_CONNECTIONS = 4


@pytest.fixture(scope="module")
def own(latchkey_bin: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Own]:
    with sqlite_server(
        latchkey_bin,
        tmp_path_factory,
        env={
            "LATCHKEY_MAX_CONNECTIONS": str(MAX_CONNECTIONS),
            "LATCHKEY_HEADER_READ_TIMEOUT_MS": str(int(HEADER_TIMEOUT_S * 1000)),
            "LATCHKEY_REQUEST_TIMEOUT_MS": str(int(REQUEST_TIMEOUT_S * 1000)),
        },
    ) as s:
        yield s


def _drip(sock: socket.socket, data: bytes, every: float, stop: threading.Event) -> None:
    for b in data:
        if stop.is_set():
            return
        try:
            sock.sendall(bytes([b]))
        except OSError:
            return
        time.sleep(every)


def test_headers_sent_byte_by_byte_are_cut_off(own: Own):
    """Classic slowloris: a request line and headers, one byte every 0.3 s, never finished."""
    socks = [connect(own.server.port) for _ in range(2)]
    stop = threading.Event()
    slow = b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + b"X-Slow: " + b"a" * 200
    threads = [threading.Thread(target=_drip, args=(s, slow, 0.3, stop), daemon=True) for s in socks]
    for t in threads:
        t.start()
    try:
        for s in socks:
            took = closed_within(s, HEADER_TIMEOUT_S + 4)
            assert took is not None, "the server kept a connection whose headers never ended"
            assert took < HEADER_TIMEOUT_S + 3
    finally:
        stop.set()
        for s in socks:
            s.close()


def test_a_silent_connection_is_closed(own: Own):
    """A client that connects and sends nothing does not keep its slot."""
    with connect(own.server.port) as s:
        took = closed_within(s, HEADER_TIMEOUT_S + 4)
        assert took is not None, "a connection that sent nothing stayed open"


def test_a_stalled_http2_preface_is_closed(own: Own):
    """Half of the HTTP/2 preface, then nothing: hyper's version detection waits without a
    deadline of its own."""
    with connect(own.server.port) as s:
        s.sendall(b"PRI * HTTP/2.0\r\n")
        took = closed_within(s, HEADER_TIMEOUT_S + 4)
        assert took is not None, "a stalled HTTP/2 preface kept the connection open"


def test_a_body_that_never_arrives_answers_408_json(own: Own):
    """Headers promise 100 bytes, 10 arrive: 408 with the JSON error body, then the connection closes."""
    with connect(own.server.port) as s:
        s.sendall(
            b"POST /zones HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            + f"Authorization: Bearer {own.server.bootstrap_key}\r\n".encode()
            + b"Content-Length: 100\r\n\r\n{\"name\": \""
        )
        s.settimeout(REQUEST_TIMEOUT_S + 4)
        start = time.monotonic()
        data = b""
        try:
            while b"\r\n\r\n" not in data or not data.rstrip().endswith(b"}"):
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
        except socket.timeout:
            pass
        took = time.monotonic() - start
    assert data.startswith(b"HTTP/1.1 408"), f"after {took:.1f} s: {data[:200]!r}"
    assert took < REQUEST_TIMEOUT_S + 3
    head, _, body = data.partition(b"\r\n\r\n")
    assert b"application/json" in head.lower(), head
    assert b'"status":408' in body and b'"code"' in body and b'"message"' in body, body


def _head_of_response(sock: socket.socket) -> bytes:
    """Reads one whole response (head and a Content-Length body) and returns its lowercased head."""
    sock.settimeout(5)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    head = head.lower()
    length = next((int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                   if line.startswith(b"content-length:")), 0)  # fmt: skip
    while len(body) < length:
        chunk = sock.recv(length - len(body))
        if not chunk:
            break
        body += chunk
    return head


def test_a_refusal_before_the_body_is_read_keeps_the_connection_usable(own: Own):
    """A write refused before its body is read (401 from the authorization table) leaves the body
    on the wire. Before the fix the 401 went out as keep-alive and, when the body had not yet
    arrived, the connection was then closed under it: a client sending its next request on it
    (httpx does) got "Server disconnected without sending a response". Now a small body that
    comes at once is read and the connection serves the next request; one that does not come
    gets `Connection: close` in the response itself."""
    post = (
        b"POST /zones/some-zone/applications HTTP/1.1\r\nHost: x\r\n"
        b"Content-Type: application/json\r\nContent-Length: 13\r\n\r\n"
    )
    with connect(own.server.port) as s:
        s.sendall(post)
        time.sleep(0.05)  # the body in its own segment, a moment later
        s.sendall(b'{"name": "n"}')
        head = _head_of_response(s)
        assert head.startswith(b"http/1.1 401"), head
        assert b"connection: close" not in head, head
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        assert _head_of_response(s).startswith(b"http/1.1 200")
    with connect(own.server.port) as s:
        s.sendall(post)  # and no body
        head = _head_of_response(s)
        assert head.startswith(b"http/1.1 401"), head
        assert b"\r\nconnection: close" in head, head
        assert closed_within(s, 2) is not None


def test_connections_are_capped(own: Own):
    """With every slot held (`--max-connections`), the next client waits; when one slot frees it
    is served. Before the fix every connection was accepted and served at once."""
    holders = [connect(own.server.port) for _ in range(MAX_CONNECTIONS)]
    try:
        time.sleep(0.3)  # accepted
        with pytest.raises(httpx.TimeoutException):
            httpx.get(f"{own.base_url}/healthz", timeout=1.0)
    finally:
        for h in holders:
            h.close()
    deadline = time.monotonic() + 10
    while True:
        try:
            r = httpx.get(f"{own.base_url}/healthz", timeout=2.0)
            break
        except httpx.TimeoutException:
            assert time.monotonic() < deadline, "slots were not freed"
    assert r.status_code == 200


def test_normal_clients_are_unaffected(own: Own):
    """Keep-alive requests, HTTP/2 with prior knowledge and the client address (DCR's per-address
    rate limit reads it) still work through the new listener."""
    with httpx.Client(base_url=own.base_url, timeout=10) as c:
        for _ in range(3):
            assert c.get("/healthz").status_code == 200
    with connect(own.server.port) as s:
        # the HTTP/2 preface and an empty SETTINGS frame; the server answers with its SETTINGS
        s.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + bytes([0, 0, 0, 4, 0, 0, 0, 0, 0]))
        s.settimeout(5)
        frame = s.recv(9)
        assert len(frame) == 9 and frame[3] == 4, f"no HTTP/2 SETTINGS frame: {frame!r}"
    z = own.oauth_zone()
    r = httpx.post(
        z.registration_endpoint,
        json={"redirect_uris": ["http://127.0.0.1/cb"], "client_name": "t"},
        timeout=10,
    )
    assert r.status_code in (200, 201), r.text
