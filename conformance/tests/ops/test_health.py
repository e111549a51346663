"""Health and readiness (docs/operations.md, "Health and readiness"): `GET /healthz` says the
process is alive and touches nothing; `GET /readyz` answers 200 only when the database answers,
its schema is the one the binary knows and the signing keys load, else 503 naming what failed.
Each test runs its own server, on both back ends."""

from __future__ import annotations

import time

import httpx
import pytest

import lk
from ops import kit

FUTURE_VERSION = 999_999


def readyz(srv: lk.LatchkeyServer) -> httpx.Response:
    return httpx.get(f"{srv.base_url}/readyz", timeout=30)


def test_fresh_server_is_alive_and_ready(backend, make_server):
    srv = make_server(backend)
    health = httpx.get(f"{srv.base_url}/healthz", timeout=10)
    assert health.status_code == 200 and health.json() == {"status": "ok"}
    assert health.headers.get("cache-control") == "no-store"

    ready = readyz(srv)
    assert ready.status_code == 200, ready.text
    assert ready.headers.get("cache-control") == "no-store"
    assert ready.json() == {
        "status": "ready",
        "checks": {"database": "ok", "migrations": "ok", "keys": "ok"},
    }


def test_both_answer_without_credentials_even_with_a_bad_one(backend, make_server):
    srv = make_server(backend)
    for path in ("/healthz", "/readyz"):
        r = httpx.get(f"{srv.base_url}{path}", headers={"Authorization": "Bearer lk_wrong"}, timeout=30)
        assert r.status_code == 200, (path, r.text)


def test_unreachable_database_is_named_while_healthz_stays_up(backend, make_server, pg_admin_url):
    if backend != "postgres":
        pytest.skip("an embedded SQLite file cannot be made unreachable from outside the process")
    import psycopg

    srv = make_server(backend)
    assert readyz(srv).status_code == 200
    dbname = srv.database_url.rpartition("/")[2]
    with psycopg.connect(pg_admin_url, autocommit=True) as admin:
        # (CONNECTION LIMIT does not bind the superuser the server connects as; this does)
        admin.execute(f'ALTER DATABASE "{dbname}" ALLOW_CONNECTIONS false')
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            (dbname,),
        )
        try:
            r = readyz(srv)
            assert r.status_code == 503, r.text
            body = r.json()
            assert body["status"] == "not_ready", body
            assert body["checks"]["database"] != "ok", body
            assert set(body["checks"]) == {"database", "migrations", "keys"}, body
            # liveness does not depend on the database
            health = httpx.get(f"{srv.base_url}/healthz", timeout=10)
            assert health.status_code == 200 and health.json() == {"status": "ok"}
        finally:
            admin.execute(f'ALTER DATABASE "{dbname}" ALLOW_CONNECTIONS true')

    # ready again once the database is back
    deadline = time.monotonic() + 20
    while True:
        r = readyz(srv)
        if r.status_code == 200 or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert r.status_code == 200, r.text


def test_a_schema_newer_than_the_binary_is_named_and_refused_at_start(backend, make_server):
    srv = make_server(backend)
    assert readyz(srv).status_code == 200
    kit.execute(
        srv,
        "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
        (FUTURE_VERSION, "from_a_newer_latchkey", int(time.time() * 1000)),
    )
    r = readyz(srv)
    assert r.status_code == 503, r.text
    body = r.json()
    assert body["status"] == "not_ready"
    assert body["checks"]["database"] == "ok", body
    assert body["checks"]["keys"] == "ok", body
    assert "newer" in body["checks"]["migrations"] and str(FUTURE_VERSION) in body["checks"]["migrations"], body

    # A restart refuses the newer schema rather than using it.
    assert srv.stop() == 0
    with pytest.raises(lk.ServerStartError) as refused:
        srv.start(timeout=20)
    assert f"schema is at version {FUTURE_VERSION}, newer than this build" in str(refused.value)

    # and once the database is back at the binary's version, it starts and is ready again.
    kit.execute(srv, "DELETE FROM schema_migrations WHERE version = ?", (FUTURE_VERSION,))
    srv.start()
    assert readyz(srv).status_code == 200
