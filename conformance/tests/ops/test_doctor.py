"""`latchkey doctor` (docs/operations.md, "Doctor"): one line per check, OK/WARN/FAIL, non-zero
exit when any check fails; it takes the flags and environment of `serve`."""

from __future__ import annotations

import re

import pytest

import lk
from ops import kit

LINE = re.compile(r"^(OK|WARN|FAIL)\s+([^:]+): (.+)$")


def doctor(latchkey_bin, srv: lk.LatchkeyServer, *extra: str) -> tuple[int, dict[str, tuple[str, str]]]:
    args = ["doctor", "--data-dir", str(srv.data_dir), "--listen", "127.0.0.1:0"]
    if srv.database_url:
        args += ["--database-url", srv.database_url]
    r = kit.run(latchkey_bin, *args, *extra)
    checks = {}
    for line in r.stdout.splitlines():
        m = LINE.match(line)
        assert m, f"not a check line: {line!r}\n{r.stdout}"
        checks[m.group(2)] = (m.group(1), m.group(3))
    return r.returncode, checks


def test_a_clean_setup_passes(backend, make_server, latchkey_bin):
    srv = make_server(backend)
    code, checks = doctor(latchkey_bin, srv)
    assert code == 0, checks
    for name in ("public URL", "private fetch", "master key", "database", "migrations", "clock", "data dir"):
        assert name in checks, (name, checks)
    assert all(level != "FAIL" for level, _ in checks.values()), checks
    assert checks["database"][0] == "OK" and checks["migrations"][0] == "OK", checks
    assert checks["master key match"][0] == "OK", checks


def test_group_readable_master_key_fails(backend, make_server, latchkey_bin):
    srv = make_server(backend)
    (srv.data_dir / "master.key").chmod(0o644)
    code, checks = doctor(latchkey_bin, srv)
    assert code != 0
    level, detail = checks["master key"]
    assert level == "FAIL" and "master.key" in detail and "0644" in detail, detail


def test_plain_http_public_url_is_named(backend, make_server, latchkey_bin):
    srv = make_server(backend)
    code, checks = doctor(latchkey_bin, srv, "--public-url", "http://example.com")
    assert code != 0
    level, detail = checks["public URL"]
    assert level == "FAIL" and "http" in detail and "example.com" in detail, detail
    code, checks = doctor(latchkey_bin, srv, "--public-url", "https://example.com")
    assert code == 0 and checks["public URL"][0] == "OK", checks


def test_private_fetch_on_a_public_listener_is_named(backend, make_server, latchkey_bin):
    srv = make_server(backend)
    args = ["doctor", "--data-dir", str(srv.data_dir), "--listen", "0.0.0.0:0", "--public-url", "https://id.example.com"]
    if srv.database_url:
        args += ["--database-url", srv.database_url]
    r = kit.run(latchkey_bin, *args, env={"LATCHKEY_ALLOW_PRIVATE_FETCH": "true"})
    line = [l for l in r.stdout.splitlines() if l.split()[1:2] == ["private"]]
    assert line and line[0].startswith("WARN") and "0.0.0.0" in line[0], r.stdout
    # without it, the same listener is fine
    r = kit.run(latchkey_bin, *args)
    line = [l for l in r.stdout.splitlines() if l.split()[1:2] == ["private"]]
    assert line and line[0].startswith("OK"), r.stdout


def test_metrics_without_a_token_on_a_public_listener_is_named(backend, make_server, latchkey_bin, tmp_path):
    if backend != "sqlite":
        pytest.skip("the check reads flags only; storage plays no part")
    srv = make_server(backend)
    args = ["doctor", "--data-dir", str(srv.data_dir), "--listen", "0.0.0.0:0", "--public-url", "https://id.example.com"]

    def metrics_line(*extra: str) -> tuple[int, str]:
        r = kit.run(latchkey_bin, *args, *extra)
        line = [l for l in r.stdout.splitlines() if l.split()[1:2] == ["metrics:"]]
        assert line, r.stdout
        return r.returncode, line[0]

    code, line = metrics_line("--metrics")
    assert line.startswith("WARN") and "0.0.0.0" in line and "--metrics-token-file" in line, line
    good = tmp_path / "good.token"
    good.write_text("a-long-enough-scrape-token\n")
    good.chmod(0o600)
    code, line = metrics_line("--metrics", "--metrics-token-file", str(good))
    assert code == 0 and line.startswith("OK"), line
    good.chmod(0o644)  # as a Kubernetes Secret is mounted unless told otherwise
    code, line = metrics_line("--metrics", "--metrics-token-file", str(good))
    assert line.startswith("WARN") and "0644" in line and "good.token" in line, line
    good.chmod(0o440)  # the chart's defaultMode: owner and the pod's fsGroup
    code, line = metrics_line("--metrics", "--metrics-token-file", str(good))
    assert line.startswith("OK"), line
    weak = tmp_path / "weak.token"
    weak.write_text("short\n")
    code, line = metrics_line("--metrics", "--metrics-token-file", str(weak))
    assert code != 0 and line.startswith("FAIL") and "weak.token" in line, line
    code, line = metrics_line("--metrics-token-file", str(good))
    assert code != 0 and line.startswith("FAIL") and "--metrics" in line, line


def test_unreachable_database_fails(backend, latchkey_bin, tmp_path):
    if backend != "postgres":
        pytest.skip("needs a database server that can be unreachable")
    data = tmp_path / "data"
    data.mkdir(mode=0o700)
    r = kit.run(
        latchkey_bin, "doctor", "--data-dir", str(data), "--database-url", "postgres://postgres@127.0.0.1:1/none"
    )
    assert r.returncode != 0
    assert any(l.startswith("FAIL") and "database" in l for l in r.stdout.splitlines()), r.stdout
