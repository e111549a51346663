"""Logs (docs/operations.md, "Logs"): `--log-format json` writes one JSON object per line;
every line written while answering a request carries that request's id (`span.request_id`), the
one the client sent in `X-Request-Id` when it is well-formed, else a generated one, echoed in the
response either way; `--access-log` adds one line per request (method, path without query,
status, latency); no line carries a secret."""

from __future__ import annotations

import json
import re
import secrets as pysecrets

import httpx
import pytest

import lk

SANE_ID = re.compile(r"^[A-Za-z0-9._:/-]{1,128}$")


def request_id_of(line: dict) -> str | None:
    if "request_id" in line:
        return line["request_id"]
    span = line.get("span") or {}
    if "request_id" in span:
        return span["request_id"]
    for s in line.get("spans") or []:
        if "request_id" in s:
            return s["request_id"]
    return None


def log_lines(srv: lk.LatchkeyServer) -> list[str]:
    """The lines the server wrote (the `===== start` markers are the test harness's)."""
    return [l for l in srv.log_text().splitlines() if l.strip() and not l.startswith("===== start")]


@pytest.fixture
def sqlite_only(backend):
    if backend != "sqlite":
        pytest.skip("log output does not depend on the storage back end")


def test_json_lines_carry_the_request_id_and_no_secret(sqlite_only, backend, make_server):
    srv = make_server(backend, start=False)
    srv.extra_args = ["--log-format", "json", "--access-log"]
    srv.start()

    # a well-formed id is kept and echoed
    r = httpx.get(f"{srv.base_url}/readyz?probe=1", headers={"X-Request-Id": "test-abc-123"}, timeout=30)
    assert r.status_code == 200
    assert r.headers["x-request-id"] == "test-abc-123"

    # malformed ids are replaced by a generated, well-formed one
    replaced = {}
    for bad in ("x" * 300, "bad id<script>", "naïve-ü"):
        r = httpx.get(f"{srv.base_url}/healthz", headers={"X-Request-Id": bad.encode("utf-8")}, timeout=30)
        got = r.headers.get("x-request-id", "")
        assert got and got != bad and SANE_ID.match(got), (bad, got)
        replaced[bad] = got
    # without one, one is generated
    r = httpx.get(f"{srv.base_url}/healthz", timeout=30)
    assert SANE_ID.match(r.headers.get("x-request-id", ""))

    # requests carrying secrets: an API key in Authorization, a client secret in body and query
    client_secret = "cs-" + pysecrets.token_hex(16)
    wrong_key = "lk_key_" + pysecrets.token_hex(16)
    admin = httpx.Client(
        base_url=srv.base_url, headers={"Authorization": f"Bearer {srv.bootstrap_key}"}, timeout=30
    )
    zone = admin.post("/zones", json={"name": lk.unique("log zone")})
    assert zone.status_code in (200, 201), zone.text
    zone_id = zone.json()["id"]
    token = httpx.post(
        f"{srv.base_url}/z/{zone_id}/oauth/2/token?client_secret={client_secret}",
        data={"grant_type": "client_credentials", "client_id": "nobody", "client_secret": client_secret},
        timeout=30,
    )
    assert token.status_code in (400, 401), token.text
    denied = httpx.get(f"{srv.base_url}/zones", headers={"Authorization": f"Bearer {wrong_key}"}, timeout=30)
    assert denied.status_code == 401
    admin.close()

    assert srv.stop() == 0, srv.log_tail()
    lines = log_lines(srv)
    parsed = []
    for l in lines:
        try:
            parsed.append(json.loads(l))
        except json.JSONDecodeError:
            pytest.fail(f"a log line is not JSON: {l!r}")
    assert all(isinstance(p, dict) for p in parsed)

    mine = [p for p in parsed if request_id_of(p) == "test-abc-123"]
    assert mine, "no log line carries the request id the client sent"
    access = [p for p in mine if p.get("target") == "latchkey::access"]
    assert len(access) == 1, mine
    line = access[0]
    assert line["level"] == "INFO"
    assert line["status"] == 200
    assert isinstance(line["latency_ms"], (int, float)) and line["latency_ms"] >= 0
    assert line["span"]["method"] == "GET"
    assert line["span"]["path"] == "/readyz", "the path is logged without its query"

    # the replaced ids are the ones logged; the malformed ones never appear
    logged_ids = {request_id_of(p) for p in parsed}
    for bad, got in replaced.items():
        assert got in logged_ids, (bad, got)
    text = "\n".join(lines)
    assert "bad id<script>" not in text and "x" * 300 not in text

    # every request has its access line
    statuses = sorted(p["status"] for p in parsed if p.get("target") == "latchkey::access")
    assert 401 in statuses and 200 in statuses

    for secret in (client_secret, wrong_key, srv.bootstrap_key):
        assert secret not in text, "a secret reached the log"


def test_access_log_is_off_by_default(sqlite_only, backend, make_server):
    srv = make_server(backend, start=False)
    srv.extra_args = ["--log-format", "json"]
    srv.start()
    r = httpx.get(f"{srv.base_url}/readyz", headers={"X-Request-Id": "quiet-1"}, timeout=30)
    assert r.headers["x-request-id"] == "quiet-1"
    assert srv.stop() == 0
    parsed = [json.loads(l) for l in log_lines(srv)]
    assert parsed, "the server logged nothing at all"
    assert not [p for p in parsed if p.get("target") == "latchkey::access"]


def test_text_is_the_default_format(sqlite_only, backend, make_server):
    srv = make_server(backend, start=False)
    srv.extra_args = ["--access-log"]
    srv.start()
    httpx.get(f"{srv.base_url}/readyz", headers={"X-Request-Id": "text-1"}, timeout=30)
    assert srv.stop() == 0
    lines = log_lines(srv)
    access = [l for l in lines if "latchkey::access" in l and "request_id=text-1" in l]
    assert len(access) == 1, lines
    assert "status=200" in access[0] and "/readyz" in access[0]
    with pytest.raises(json.JSONDecodeError):
        json.loads(access[0])
