"""Fixtures for the zone OAuth tests (zone-oauth.md §1–5, §7, §8).

Built on the root fixtures (`server`, `admin`, `admin_http`, backend parametrization): every test
here runs once per storage backend against the real binary.

* `oz` — a zone shared by the tests of one backend (objects in it are unique per test); use it
  when the test changes nothing zone-wide.
* `fresh_zone(**zone_fields)` — a new zone of its own (signing keys, flags, algorithms).
* `json_server` — loopback HTTP server for documents the zone fetches (JWKS, OIDC discovery,
  client-id documents).
* `idp` — a workload-identity issuer publishing discovery + JWKS on `json_server`.
* `asgi(app, sock=None, lifespan="off")` — starts ASGI apps (Starlette + Keycard middleware,
  FastMCP, A2A) under uvicorn; stopped at teardown.
"""

from __future__ import annotations

from typing import Any, Callable, Iterator

import httpx
import pytest
from keycardai_api import KeycardAPI

import lk

from .kit import AsgiServer, Idp, JsonServer, OAuthZone


@pytest.fixture(scope="session")
def json_server() -> Iterator[JsonServer]:
    srv = JsonServer()
    yield srv
    srv.close()


def _make_oauth_zone(admin: KeycardAPI, admin_http: httpx.Client, **fields: Any) -> OAuthZone:
    fields.setdefault("name", lk.unique("oauth zone"))
    zone = admin.zones.create(**fields)
    return OAuthZone(lk.ZoneKit(admin, zone), admin_http)


@pytest.fixture(scope="session")
def oz(admin: KeycardAPI, admin_http: httpx.Client) -> Iterator[OAuthZone]:
    z = _make_oauth_zone(admin, admin_http)
    yield z
    z.http.close()


@pytest.fixture
def fresh_zone(admin: KeycardAPI, admin_http: httpx.Client) -> Iterator[Callable[..., OAuthZone]]:
    made: list[OAuthZone] = []

    def make(**fields: Any) -> OAuthZone:
        z = _make_oauth_zone(admin, admin_http, **fields)
        made.append(z)
        return z

    yield make
    for z in made:
        z.http.close()


@pytest.fixture
def idp(json_server: JsonServer) -> Idp:
    return Idp(json_server)


@pytest.fixture
def asgi() -> Iterator[Callable[[Any], AsgiServer]]:
    started: list[AsgiServer] = []

    def start(app: Any, **kw: Any) -> AsgiServer:
        srv = AsgiServer(app, **kw)
        started.append(srv)
        return srv

    yield start
    for srv in started:
        srv.close()
