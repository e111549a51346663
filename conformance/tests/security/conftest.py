"""Fixtures for the attack suite: the end-to-end fixtures of tests/e2e (zones as kit.Zone, the
client's redirect listener, the password zone, the node parts), on top of the root fixtures
(`server`, `admin`, `admin_http`, `records`, `make_server`, backend parametrization).

The e2e kit needs the node packages (oidc-provider) that conformance/run.sh installs.
"""

from __future__ import annotations

import pytest

from e2e.conftest import (  # noqa: F401  (fixtures, re-exported for this folder)
    listener,
    make_zone,
    node_parts,
    password_zone,
    zones_made,
)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "sqlite_only: behaviour the back end does not change (or covered elsewhere on PostgreSQL); run on sqlite only")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # (a skip marker, so the postgres server is not even started for these)
    for item in items:
        callspec = getattr(item, "callspec", None)
        if item.get_closest_marker("sqlite_only") and callspec and callspec.params.get("backend", "sqlite") != "sqlite":
            item.add_marker(pytest.mark.skip(reason="back-end independent (or covered elsewhere on PostgreSQL): checked on sqlite only"))
