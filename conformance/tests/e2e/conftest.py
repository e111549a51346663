"""Fixtures for the end-to-end user-login tests (zone-oauth.md §2.2, §2.4, §2.5, §6, §8).

Built on the root fixtures (`server`, `admin`, backend parametrization): every test runs once per
storage backend against the real binary, unless marked `browser` and the backend is not the one
the browser flows run on (env LATCHKEY_E2E_BROWSER_BACKENDS, default: every backend).

* `listener` — the client's loopback redirect URI, recording what the zone sends back.
* `make_zone(**fields)` — a fresh zone (kit.Zone) of the admin's organization.
* `password_zone` — a zone with email/password sign-up open (`requires_invitation=false`).
* `upstream` — a zone whose users sign in through a real OpenID provider (node `oidc-provider`,
  e2e-node/idp.mjs), which is also the authorization server of two external APIs whose tokens
  the zone keeps as delegated grants (one with a 3-second access-token lifetime).
* `profile` — a fresh Chromium user-data-dir for this test.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
from keycardai_api import KeycardAPI

import lk

from . import kit

SHORT_TTL = 3


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    wanted = [b.strip() for b in os.environ.get("LATCHKEY_E2E_BROWSER_BACKENDS", "").split(",") if b.strip()]
    if not wanted:
        return
    for item in items:
        callspec = getattr(item, "callspec", None)
        if item.get_closest_marker("browser") and callspec and callspec.params.get("backend") not in wanted:
            item.add_marker(pytest.mark.skip(reason=f"browser flows run on {','.join(wanted)} only"))


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "browser: drives headless Chromium (playwright-core)")


@pytest.fixture(scope="session")
def node_parts() -> None:
    """The node side (oidc-provider, playwright-core) and Chromium must be installed."""
    why = kit.node_ready()
    if why:
        pytest.fail(f"e2e: {why}", pytrace=False)
    if not (os.path.isfile(kit.CHROMIUM) and os.access(kit.CHROMIUM, os.X_OK)):
        pytest.fail(f"e2e: no Chromium at {kit.CHROMIUM} (conformance/run.sh installs Debian's)", pytrace=False)


@pytest.fixture(scope="session")
def listener() -> Iterator[kit.RedirectListener]:
    srv = kit.RedirectListener()
    yield srv
    srv.close()


@pytest.fixture
def profile(tmp_path: Path) -> Path:
    p = tmp_path / "chromium-profile"
    p.mkdir()
    return p


@pytest.fixture(scope="session")
def zones_made() -> Iterator[list[kit.Zone]]:
    made: list[kit.Zone] = []
    yield made
    for z in made:
        z.http.close()


@pytest.fixture(scope="session")
def make_zone(admin: KeycardAPI, zones_made: list) -> Callable[..., kit.Zone]:
    def make(**fields: Any) -> kit.Zone:
        fields.setdefault("name", f"Acme {lk.unique_token('e2e')[-6:]}")
        z = kit.Zone(admin, admin.zones.create(**fields))
        zones_made.append(z)
        return z

    return make


@pytest.fixture(scope="session")
def password_zone(make_zone: Callable[..., kit.Zone]) -> kit.Zone:
    return make_zone(requires_invitation=False)


@dataclass
class Upstream:
    """A zone signing users in through `idp`, with two external APIs brokered by the same `idp`.

    * `api` — external resource (provider `api_provider`, client "api"): scopes openid,
      offline_access, api:read; the provider adds `prompt=consent` to its authorization requests.
    * `short` — external resource whose upstream access tokens live SHORT_TTL seconds.
    * `service` — a resource server's application (password credential) owning `own` and
      depending on `api` and `short`: the caller of token exchange.
    """

    zone: kit.Zone
    idp: kit.UpstreamIdp
    login_provider: Any
    api_provider: Any
    short_provider: Any
    api: Any
    short: Any
    own: Any
    service: kit.Service


@pytest.fixture(scope="session")
def upstream(
    node_parts: None, make_zone: Callable[..., kit.Zone], tmp_path_factory: pytest.TempPathFactory, backend: str
) -> Iterator[Upstream]:
    z = make_zone()
    secrets = {name: lk.unique_token(f"{name}-secret") for name in ("login", "api", "short")}
    idp = kit.UpstreamIdp(
        [
            {"client_id": "login", "client_secret": secrets["login"], "redirect_uris": [z.upstream_redirect]},
            {"client_id": "api", "client_secret": secrets["api"], "redirect_uris": [z.upstream_redirect]},
            {
                "client_id": "short",
                "client_secret": secrets["short"],
                "redirect_uris": [z.upstream_redirect],
                "access_token_ttl": SHORT_TTL,
            },
        ],
        tmp_path_factory.mktemp(f"idp-{backend}") / "idp.log",
    )
    try:
        providers = z.admin.zones.providers
        login = providers.create(
            z.id,
            identifier=idp.issuer,
            name="Example IdP",
            client_id="login",
            client_secret=secrets["login"],
            protocols={"oauth2": {"issuer": idp.issuer}, "openid": {"user_identifier_claim": "email"}},
        )
        api_provider = providers.create(
            z.id,
            identifier=idp.issuer + "/api",
            name="Example API",
            client_id="api",
            client_secret=secrets["api"],
            protocols={"oauth2": {"issuer": idp.issuer, "authorization_parameters": {"prompt": "consent"}}},
        )
        short_provider = providers.create(
            z.id,
            identifier=idp.issuer + "/short",
            name="Example short-lived API",
            client_id="short",
            client_secret=secrets["short"],
            protocols={"oauth2": {"issuer": idp.issuer}},
        )
        z.admin.zones.update(z.id, user_identity_provider_id=login.id)
        z.refresh()
        api = z.resource(
            name="Example API",
            identifier=lk.unique_url("api"),
            credential_provider_id=api_provider.id,
            scopes=["openid", "offline_access", "api:read"],
        )
        short = z.resource(
            name="Short-lived API",
            identifier=lk.unique_url("short"),
            credential_provider_id=short_provider.id,
            scopes=["openid", "offline_access"],
        )
        service = z.service(depends_on=[api, short], name=lk.unique("Resource server"))
        own = z.resource(name="Resource server", identifier=lk.unique_url("rs"), application_id=service.app.id)
        yield Upstream(z, idp, login, api_provider, short_provider, api, short, own, service)
    finally:
        idp.close()


def upstream_login(name: str) -> dict:
    """What to type into the dev IdP's login form (any password works there)."""
    return {"login": name, "password": "anything"}


def login_name(prefix: str = "alice") -> str:
    return lk.unique_token(prefix)
