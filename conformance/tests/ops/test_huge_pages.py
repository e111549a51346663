"""Huge pages (docs/operations.md, "Memory: huge pages"): `latchkey serve` re-executes itself once
so that both allocators run with their huge-page settings, which they read before `main` from the
environment: mimalloc's `MIMALLOC_ALLOW_LARGE_OS_PAGES=1` and `MIMALLOC_ALLOW_THP=2`, glibc's
`GLIBC_TUNABLES=glibc.malloc.hugetlb=1`. The operator's own setting of any of them wins, and the
process keeps its id (a supervisor's signals still reach the server). Linux only; storage plays
no part, so SQLite only."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

import lk

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the re-execution is Linux-only")

NAMES = ("MIMALLOC_ALLOW_LARGE_OS_PAGES", "MIMALLOC_LARGE_OS_PAGES", "MIMALLOC_ALLOW_THP", "GLIBC_TUNABLES")
DEFAULTS = {
    "MIMALLOC_ALLOW_LARGE_OS_PAGES": "1",
    "MIMALLOC_ALLOW_THP": "2",
    "GLIBC_TUNABLES": "glibc.malloc.hugetlb=1",
}


@pytest.fixture(autouse=True)
def no_inherited_settings(monkeypatch):
    for name in NAMES:
        monkeypatch.delenv(name, raising=False)


def serving_environment(make_server, env: dict[str, str]) -> tuple[lk.LatchkeyServer, dict[str, str]]:
    """Starts a server with `env` added; the allocator variables of the process that answers."""
    srv = make_server("sqlite", start=False)
    srv.extra_env.update(env)
    srv.start()
    assert srv.proc is not None
    raw = Path(f"/proc/{srv.proc.pid}/environ").read_bytes()
    pairs = (item.split(b"=", 1) for item in raw.split(b"\0") if b"=" in item)
    return srv, {k.decode(): v.decode() for k, v in pairs if k.decode() in NAMES}


def test_an_unconfigured_server_runs_with_every_huge_page_setting_under_its_own_process_id(make_server):
    srv, env = serving_environment(make_server, {})
    assert env == DEFAULTS
    # the re-executed image is the process that was started: SIGTERM drains it and it exits 0
    assert srv.stop() == 0


def test_the_operators_settings_win_and_only_the_missing_ones_are_added(make_server):
    mine = {"MIMALLOC_ALLOW_THP": "0", "GLIBC_TUNABLES": "glibc.malloc.arena_max=2"}
    _, env = serving_environment(make_server, mine)
    assert env == {**mine, "MIMALLOC_ALLOW_LARGE_OS_PAGES": "1"}


def test_the_older_name_of_the_large_pages_setting_counts_as_set(make_server):
    mine = {"MIMALLOC_LARGE_OS_PAGES": "0", "MIMALLOC_ALLOW_THP": "1", "GLIBC_TUNABLES": "glibc.malloc.hugetlb=0"}
    _, env = serving_environment(make_server, mine)
    assert env == mine
