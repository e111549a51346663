"""Trace export (docs/operations.md, "Traces"): with `--otlp-endpoint` every request's span
reaches an OTLP/HTTP collector (JSON) within seconds, as a server span named after its route
template, with the method, route, status and request id, under the caller's trace when the
request carried a W3C `traceparent`, and with no secret in it; the last spans are sent on
shutdown; a collector that is down never fails a request; without the flag nothing is sent (not
even with the SDK's own `OTEL_EXPORTER_OTLP_ENDPOINT` set); a bad URL stops `serve` at once,
naming the flag. SQLite only: tracing does not depend on storage."""

from __future__ import annotations

import json
import secrets as pysecrets
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Optional

import httpx
from ops import kit
from tests.oauth.kit import basic
from tests.security.own_servers import sqlite_server

SERVER_KIND = 2  # OTLP SpanKind SPAN_KIND_SERVER
FAST = {"OTEL_BSP_SCHEDULE_DELAY": "200"}  # export every 200 ms instead of every 5 s


class Collector:
    """A stand-in OTLP/HTTP receiver on 127.0.0.1: keeps the JSON bodies POSTed to /v1/traces."""

    def __init__(self) -> None:
        self.bodies: list[dict] = []
        self.raw: list[bytes] = []
        self.content_types: list[str] = []
        lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.path == "/v1/traces":
                    with lock:
                        outer.raw.append(body)
                        outer.content_types.append(self.headers.get("Content-Type", ""))
                        outer.bodies.append(json.loads(body))
                self.send_response(200 if self.path == "/v1/traces" else 404)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args: Any) -> None:
                pass

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.http.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http.server_address[1]}"

    def spans(self) -> list[dict]:
        """Every span received, each with its resource's attributes under `resource`."""
        out = []
        for body in list(self.bodies):
            for rs in body.get("resourceSpans", []):
                resource = attrs((rs.get("resource") or {}).get("attributes", []))
                for ss in rs.get("scopeSpans", []):
                    for span in ss.get("spans", []):
                        out.append({**span, "resource": resource, "attrs": attrs(span.get("attributes", []))})
        return out

    def wait_for(self, found: Callable[[list[dict]], bool], timeout: float = 10.0) -> list[dict]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            spans = self.spans()
            if found(spans):
                return spans
            time.sleep(0.1)
        return self.spans()

    def close(self) -> None:
        self.http.shutdown()
        self.http.server_close()


def attrs(kvs: list[dict]) -> dict[str, Any]:
    """OTLP JSON attributes as a plain dict (int64 values may come as strings)."""
    out: dict[str, Any] = {}
    for kv in kvs:
        value = kv.get("value") or {}
        if "stringValue" in value:
            out[kv["key"]] = value["stringValue"]
        elif "intValue" in value:
            out[kv["key"]] = int(value["intValue"])
        elif "boolValue" in value:
            out[kv["key"]] = bool(value["boolValue"])
        else:
            out[kv["key"]] = value
    return out


def by_request_id(spans: list[dict], request_id: str) -> Optional[dict]:
    mine = [s for s in spans if s["attrs"].get("request_id") == request_id]
    return mine[0] if mine else None


def has_all(*ids: str) -> Callable[[list[dict]], bool]:
    return lambda spans: all(by_request_id(spans, i) for i in ids)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_request_spans_reach_the_collector_continue_the_callers_trace_and_leak_nothing(
    latchkey_bin, tmp_path_factory
):
    collector = Collector()
    try:
        env = {**FAST, "OTEL_SERVICE_NAME": ""}  # (empty: the default name, `latchkey`)
        with sqlite_server(latchkey_bin, tmp_path_factory, args=("--otlp-endpoint", collector.url), env=env) as own:
            oz = own.oauth_zone()
            api = oz.resource()
            svc = oz.service(depends_on=[api])
            trace_id, parent_id = pysecrets.token_hex(16), pysecrets.token_hex(8)
            with httpx.Client(timeout=10) as http:
                # a caller's trace that is not sampled is not recorded (asked first: had it been
                # exported, it would be by the time the later requests' spans are)
                http.get(
                    f"{own.base_url}/healthz",
                    headers={"X-Request-Id": "otel-unsampled-1",
                             "traceparent": f"00-{pysecrets.token_hex(16)}-{pysecrets.token_hex(8)}-00"},
                )  # fmt: skip
                token = http.post(
                    oz.token_endpoint,
                    data={"grant_type": "client_credentials", "resource": api.identifier},
                    headers={**basic(svc.client_id, svc.secret), "X-Request-Id": "otel-token-1"},
                )
                assert token.status_code == 200, token.text
                access_token = token.json()["access_token"]
                zone = own.admin_http.get(f"/zones/{oz.id}", headers={"X-Request-Id": "otel-api-1"})
                assert zone.status_code == 200, zone.text
                traced = own.admin_http.get(
                    "/zones",
                    headers={"X-Request-Id": "otel-parent-1", "traceparent": f"00-{trace_id}-{parent_id}-01"},
                )
                assert traced.status_code == 200, traced.text
                missing = http.get(
                    f"{own.base_url}/no/such/path?client_secret=leaky-query-secret",
                    headers={"X-Request-Id": "otel-404-1", "Authorization": f"Bearer {access_token}"},
                )
                assert missing.status_code == 404

            spans = collector.wait_for(has_all("otel-token-1", "otel-api-1", "otel-parent-1", "otel-404-1"))
            assert all(ct.startswith("application/json") for ct in collector.content_types), collector.content_types

            tok = by_request_id(spans, "otel-token-1")
            assert tok, f"no span of the token request within 10 s: {[s['attrs'] for s in spans]}"
            assert tok["resource"].get("service.name") == "latchkey", tok["resource"]
            assert tok["name"] == "POST /z/{zone_id}/oauth/2/token", tok["name"]
            assert tok["kind"] in (SERVER_KIND, "SPAN_KIND_SERVER"), tok["kind"]
            assert tok["attrs"]["http.route"] == "/z/{zone_id}/oauth/2/token", tok["attrs"]
            assert tok["attrs"]["http.request.method"] == "POST"
            assert tok["attrs"]["http.response.status_code"] == 200

            api_span = by_request_id(spans, "otel-api-1")
            assert api_span, "no span of the management API call"
            assert api_span["name"] == "GET /zones/{zone_id}"
            assert api_span["attrs"]["http.route"] == "/zones/{zone_id}"
            assert api_span["attrs"]["http.response.status_code"] == 200

            # the caller's trace continues through Latchkey
            child = by_request_id(spans, "otel-parent-1")
            assert child, "no span of the request that carried a traceparent"
            assert child["traceId"].lower() == trace_id, (child["traceId"], trace_id)
            assert child["parentSpanId"].lower() == parent_id, (child["parentSpanId"], parent_id)
            assert child["spanId"].lower() != parent_id
            # without one, a span starts its own trace
            assert tok["traceId"].lower() != trace_id and not tok.get("parentSpanId")

            # an unmatched path has no route: the span is named after the method only
            nf = by_request_id(spans, "otel-404-1")
            assert nf and nf["name"] == "GET" and "http.route" not in nf["attrs"], nf
            assert nf["attrs"]["http.response.status_code"] == 404

            assert by_request_id(collector.spans(), "otel-unsampled-1") is None

            # route templates only in names and routes; no secret anywhere in what was exported
            for s in spans:
                assert f"/{oz.id}/" not in s["name"] and oz.id not in str(s["attrs"].get("http.route", "")), s
            everything = b"\n".join(collector.raw).decode()
            for secret in (svc.secret, access_token, own.server.bootstrap_key, "leaky-query-secret"):
                assert secret not in everything, "a secret reached an exported span"
            assert "authorization" not in everything.lower()
    finally:
        collector.close()


def test_the_last_spans_are_sent_on_shutdown(latchkey_bin, tmp_path_factory):
    collector = Collector()
    try:
        # (a minute between exports: only the shutdown flush can send this span in time)
        env = {
            "OTEL_BSP_SCHEDULE_DELAY": "60000",
            "OTEL_SERVICE_NAME": "not-this-one",
            "LATCHKEY_OTLP_SERVICE_NAME": "latchkey-eu-1",
        }
        with sqlite_server(latchkey_bin, tmp_path_factory, args=("--otlp-endpoint", collector.url + "/"), env=env) as own:
            r = httpx.get(f"{own.base_url}/readyz", headers={"X-Request-Id": "otel-last-1"}, timeout=10)
            assert r.status_code == 200
            time.sleep(0.5)
            assert by_request_id(collector.spans(), "otel-last-1") is None, "exported before shutdown"
        spans = collector.wait_for(has_all("otel-last-1"), timeout=3)
        last = by_request_id(spans, "otel-last-1")
        assert last, "the span of the last request was lost on shutdown"
        assert last["resource"].get("service.name") == "latchkey-eu-1", last["resource"]
        assert last["name"] == "GET /readyz"
    finally:
        collector.close()


def test_a_collector_that_is_down_never_fails_a_request(latchkey_bin, tmp_path_factory):
    down = f"http://127.0.0.1:{free_port()}"
    with sqlite_server(latchkey_bin, tmp_path_factory, args=("--otlp-endpoint", down), env=FAST) as own:
        oz = own.oauth_zone()
        assert oz.id
        # (about five seconds of failing exports, one every few hundred milliseconds)
        for i in range(15):
            r = httpx.get(f"{own.base_url}/readyz", headers={"X-Request-Id": f"down-{i}"}, timeout=10)
            assert r.status_code == 200
            time.sleep(0.3)
        deadline = time.monotonic() + 10
        while "trace export failed" not in own.server.log_text() and time.monotonic() < deadline:
            time.sleep(0.2)
        started = time.monotonic()
    assert time.monotonic() - started < 8, "shutdown waited too long for a collector that is down"
    warnings = [l for l in own.server.log_text().splitlines() if "trace export failed" in l]
    assert warnings, own.server.log_tail(40)
    assert all("WARN" in l for l in warnings), warnings
    assert len(warnings) == 1, f"export failures are not rate-limited: {warnings}"


def test_nothing_is_sent_without_the_flag(latchkey_bin, tmp_path_factory):
    collector = Collector()
    try:
        # (the SDK's own variables alone do not switch export on)
        env = {**FAST, "OTEL_EXPORTER_OTLP_ENDPOINT": collector.url,
               "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": collector.url + "/v1/traces"}  # fmt: skip
        with sqlite_server(latchkey_bin, tmp_path_factory, env=env) as own:
            for i in range(3):
                httpx.get(f"{own.base_url}/readyz", headers={"X-Request-Id": f"off-{i}"}, timeout=10)
            own.oauth_zone()
            time.sleep(1.0)
        time.sleep(0.5)
        assert collector.raw == [], "spans were exported without --otlp-endpoint"
    finally:
        collector.close()


def test_a_bad_endpoint_stops_serve_naming_the_flag(latchkey_bin, tmp_path):
    base = ["serve", "--data-dir", str(tmp_path / "data"), "--listen", "127.0.0.1:0"]
    for bad, why in [
        ("not a url", "not a URL"),
        ("collector:4318", "scheme"),
        ("grpc://collector:4317", "scheme `grpc`"),
        ("http://user:secret-pw@collector:4318", "credentials"),
        ("http://collector:4318/?api_key=k", "query"),
    ]:
        r = kit.run(latchkey_bin, *base, "--otlp-endpoint", bad, timeout=20)
        assert r.returncode != 0, (bad, r.stdout, r.stderr)
        assert "--otlp-endpoint" in r.stderr and why in r.stderr, (bad, r.stderr)
        assert "secret-pw" not in r.stderr, "the error repeats a credential"
    # the environment variable is checked the same way (and named by its flag)
    r = kit.run(latchkey_bin, *base, env={"LATCHKEY_OTLP_ENDPOINT": "ftp://collector"}, timeout=20)
    assert r.returncode != 0 and "--otlp-endpoint" in r.stderr and "scheme `ftp`" in r.stderr, r.stderr
    assert not (tmp_path / "data").exists(), "serve went ahead with a bad --otlp-endpoint"
