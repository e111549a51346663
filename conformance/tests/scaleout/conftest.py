"""Fixtures for the scale-out tests (issue 13): three instances of the real binary on one
PostgreSQL database (multi_kit.Cluster), shared by the tests of a module; each test makes its own
zone. PostgreSQL only: SQLite is one process's embedded file. Skipped when the run does not
include the postgres backend (LATCHKEY_CONFORMANCE_BACKENDS / --backend).
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

import multi_kit
from conftest import selected_backends
from oauth.kit import JsonServer

from .scale_kit import ROTATION_PERIOD_S


def three_instances(
    request: pytest.FixtureRequest, binary: Path, pg_admin_url: str, base: Path, args: list[str]
) -> Iterator[multi_kit.Cluster]:
    """Three instances started with `args` on a fresh database (postgres backend only)."""
    if "postgres" not in selected_backends(request.config):
        pytest.skip("several instances share a PostgreSQL database: postgres backend not selected")
    with multi_kit.cluster(binary, pg_admin_url, base, n=3, extra_args=args) as c:
        yield c


@pytest.fixture(scope="module")
def trio(
    request: pytest.FixtureRequest, latchkey_bin: Path, pg_admin_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[multi_kit.Cluster]:
    yield from three_instances(request, latchkey_bin, pg_admin_url, tmp_path_factory.mktemp("trio"), ["--metrics"])


@pytest.fixture(scope="module")
def rotating_trio(
    request: pytest.FixtureRequest, latchkey_bin: Path, pg_admin_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[multi_kit.Cluster]:
    """Three instances whose scheduled key rotation comes due every ROTATION_PERIOD_S seconds."""
    args = ["--metrics", "--key-rotation-period-secs", str(ROTATION_PERIOD_S)]
    yield from three_instances(request, latchkey_bin, pg_admin_url, tmp_path_factory.mktemp("rotating"), args)


@pytest.fixture(scope="module")
def json_server() -> Iterator[JsonServer]:
    srv = JsonServer()
    yield srv
    srv.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    """A failed test gets the tail of every instance's log."""
    outcome = yield
    report = outcome.get_result()
    funcargs = getattr(item, "funcargs", {})
    c = funcargs.get("trio") or funcargs.get("rotating_trio")
    if report.failed and isinstance(c, multi_kit.Cluster):
        report.sections.append(("latchkey instance logs", c.log_tails(40)))
