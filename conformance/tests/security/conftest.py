"""Fixtures for the attack suite: the end-to-end fixtures of tests/e2e (zones as kit.Zone, the
client's redirect listener, the password zone, the node parts), on top of the root fixtures
(`server`, `admin`, `admin_http`, `records`, `make_server`, backend parametrization).

The e2e kit needs the node packages (oidc-provider) that conformance/run.sh installs.
"""

from __future__ import annotations

from typing import Any, Callable, Iterator

import pytest

import lk
from e2e import kit

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


@pytest.fixture
def sso_zone(node_parts: None, make_zone: Any, tmp_path: Any) -> Iterator[tuple[kit.Zone, kit.UpstreamIdp, Any]]:
    """A zone whose users sign in through its own oidc-provider (client `login`, which may send the
    browser back to `{issuer}/logout/return`), with single logout on: (zone, provider, Provider)."""
    z = make_zone()
    secret = lk.unique_token("login-secret")
    idp = kit.UpstreamIdp(
        [{"client_id": "login", "client_secret": secret, "redirect_uris": [z.upstream_redirect],
          "post_logout_redirect_uris": [z.url("/logout/return")]}],
        tmp_path / "idp.log",
    )
    try:
        login = z.admin.zones.providers.create(
            z.id, identifier=idp.issuer, name="Example IdP", client_id="login", client_secret=secret,
            protocols={"oauth2": {"issuer": idp.issuer}, "openid": {"single_logout_enabled": True}},
        )
        z.admin.zones.update(z.id, user_identity_provider_id=login.id)
        z.refresh()
        yield z, idp, login
    finally:
        idp.close()


@pytest.fixture
def browsers(password_zone: kit.Zone) -> Iterator[Callable[[], Any]]:
    """Makes attack-kit browsers of the password zone (each with its own cookie jars), closed at
    teardown."""
    from . import attack_kit as ak

    with ak.browsers_of(password_zone) as make:
        yield make
