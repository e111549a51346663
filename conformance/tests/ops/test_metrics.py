"""Prometheus metrics (`--metrics`): `/metrics` is off unless asked for; when on, it counts
requests by route template (never the raw path or a query), tokens issued and refused per zone
and grant type, Cedar decisions, cache use and the database pool — and no secret ever
appears in it. SQLite only: the metrics do not depend on storage."""

from __future__ import annotations

import re
import secrets

import httpx
import pytest

import lk
from tests.oauth.kit import basic
from tests.security.own_servers import sqlite_server


def samples(text: str, name: str) -> dict[str, float]:
    """`{labels: value}` of every sample of metric `name`."""
    out: dict[str, float] = {}
    for line in text.splitlines():
        m = re.match(rf"^{re.escape(name)}(\{{.*\}})? (\S+)$", line)
        if m:
            out[m.group(1) or ""] = float(m.group(2))
    return out


def total(text: str, name: str, **labels: str) -> float:
    want = [f'{k}="{v}"' for k, v in labels.items()]
    return sum(v for k, v in samples(text, name).items() if all(w in k for w in want))


def test_metrics_are_off_by_default(latchkey_bin, tmp_path_factory):
    with sqlite_server(latchkey_bin, tmp_path_factory) as own:
        r = httpx.get(f"{own.base_url}/metrics")
        assert r.status_code == 404, r.text
        assert "--metrics" in r.text, r.text


def test_metrics_count_tokens_decisions_requests_and_leak_nothing(latchkey_bin, tmp_path_factory):
    with sqlite_server(latchkey_bin, tmp_path_factory, args=("--metrics",)) as own:
        oz = own.oauth_zone()
        api = oz.resource()
        svc = oz.service(depends_on=[api])
        with httpx.Client(timeout=10) as http:
            for _ in range(3):
                ok = http.post(oz.token_endpoint, data={"grant_type": "client_credentials", "resource": api.identifier},
                               headers=basic(svc.client_id, svc.secret))  # fmt: skip
                assert ok.status_code == 200, ok.text
            bad = http.post(oz.token_endpoint, data={"grant_type": "client_credentials"},
                            headers=basic(svc.client_id, "wrong-secret-value-xyz"))  # fmt: skip
            assert bad.status_code == 401
            http.get(f"{own.base_url}/no/such/path?client_secret=leaky-query-secret")
            text = http.get(f"{own.base_url}/metrics").text

        zone = oz.id
        assert total(text, "latchkey_tokens_issued_total", zone=zone, grant_type="client_credentials") == 3
        assert total(text, "latchkey_tokens_denied_total", zone=zone, grant_type="client_credentials",
                      error="invalid_client") == 1  # fmt: skip
        assert total(text, "latchkey_policy_decisions_total", zone=zone, decision="allow") == 3
        token_route = "/z/{zone_id}/oauth/2/token"
        routes = {k for k in samples(text, "latchkey_http_requests_total")}
        assert any(f'route="{token_route}"' in k and 'status="200"' in k for k in routes), routes
        assert total(text, "latchkey_http_requests_total", route=token_route, status="200") == 3
        assert total(text, "latchkey_http_request_duration_seconds_count", route=token_route) == 4
        assert total(text, "latchkey_http_requests_total", route="unmatched", status="404") >= 1
        assert total(text, "latchkey_cache_requests_total", cache="clients", result="hit") >= 1
        assert total(text, "latchkey_db_pool_max_connections") > 0
        assert "latchkey_build_info" in text
        # Route templates only: no zone id in a route label, no query, no secret anywhere.
        assert f"/z/{zone}/" not in text
        for secret in (svc.secret, "wrong-secret-value-xyz", "leaky-query-secret", own.server.bootstrap_key):
            assert secret not in text


def test_a_scrape_token_keeps_metrics_from_anyone_without_it(latchkey_bin, tmp_path_factory, tmp_path):
    """Attack: read the metrics (zone ids, traffic) of a server whose operator set a scrape
    token, with no token, a wrong one, a near miss, another scheme, or the admin's API key."""
    token = "scrape-" + secrets.token_urlsafe(24)
    path = tmp_path / "metrics.token"
    path.write_text(token + "\n")
    args = ("--metrics", "--metrics-token-file", str(path))
    with sqlite_server(latchkey_bin, tmp_path_factory, args=args) as own:
        url = f"{own.base_url}/metrics"
        refused = [
            {},
            {"Authorization": "Bearer wrong-token-of-the-same-kind"},
            {"Authorization": f"Bearer {token}x"},
            {"Authorization": f"Bearer {token[:-1]}"},
            {"Authorization": f"Basic {token}"},
            {"Authorization": token},
            {"Authorization": f"Bearer {own.server.bootstrap_key}"},
        ]
        for headers in refused:
            r = httpx.get(url, headers=headers)
            assert r.status_code == 401, (headers, r.text)
            assert r.headers["www-authenticate"].startswith("Bearer"), r.headers
            assert "scrape token" in r.json()["message"], r.text
            assert "latchkey_build_info" not in r.text and token not in r.text
        ok = httpx.get(url, headers={"Authorization": f"bearer {token}"})
        assert ok.status_code == 200, ok.text
        assert "latchkey_build_info" in ok.text and token not in ok.text


@pytest.mark.parametrize(
    ("content", "args", "named"),
    [
        ("too-short\n", ("--metrics",), "16 to 4096"),
        ("has a space in it, so no\n", ("--metrics",), "visible ASCII"),
        ("a-long-enough-scrape-token\n", (), "needs --metrics"),
    ],
)
def test_a_bad_scrape_token_setting_stops_the_start(latchkey_bin, tmp_path, content, args, named):
    path = tmp_path / "metrics.token"
    path.write_text(content)
    srv = lk.LatchkeyServer(
        binary=latchkey_bin,
        backend="sqlite",
        data_dir=tmp_path / "data",
        extra_args=[*args, "--metrics-token-file", str(path)],
    )
    with pytest.raises(lk.ServerStartError) as e:
        srv.start()
    assert named in str(e.value) and "--metrics" in str(e.value), str(e.value)


def test_only_a_successful_zone_write_invalidates_caches(latchkey_bin, tmp_path_factory):
    """A write under /zones/{id}/ moves that zone's cache epoch on every instance; a refused one
    (no credentials, a made-up zone, bad input) must not, or anyone could make the server keep
    an entry for every id they make up."""
    invalidations = "latchkey_invalidations_total"
    with sqlite_server(latchkey_bin, tmp_path_factory, args=("--metrics",)) as own:
        oz = own.oauth_zone()
        with httpx.Client(base_url=own.base_url, timeout=10) as http:
            before = total(http.get("/metrics").text, invalidations, origin="local")
            for i in range(50):
                r = http.post(f"/zones/made-up-{i}-{'x' * 200}/applications", json={"name": "n"})
                assert r.status_code == 401, r.text
            app = {"name": "n", "identifier": "https://app.example/n"}
            r = own.admin_http.post(f"/zones/made-up-{'y' * 40}/applications", json=app)
            assert r.status_code == 404, r.text
            r = own.admin_http.post(f"/zones/{oz.id}/applications", json={**app, "name": 7})
            assert r.status_code == 400, r.text
            refused = total(http.get("/metrics").text, invalidations, origin="local")
            assert refused == before, f"refused writes invalidated caches: {before} -> {refused}"
            r = own.admin_http.post(f"/zones/{oz.id}/applications", json=app)
            assert r.status_code == 201, r.text
            after = total(http.get("/metrics").text, invalidations, origin="local")
            assert after == refused + 1, f"a successful write: {refused} -> {after}"
