"""Fixtures for the Latchkey conformance suite.

One `latchkey serve` process per backend (`sqlite`, `postgres`) for the whole session; every test
that touches the server is run once per backend. Tests share the server, so each makes its own
objects with unique names and never relies on what another test left behind.

Options:
  --backend sqlite|postgres     (repeatable) run only these backends; env LATCHKEY_CONFORMANCE_BACKENDS
                                (comma-separated) does the same. Default: both.
Environment:
  LATCHKEY_BIN                  the binary (default: <repo>/target/debug/latchkey)
  LATCHKEY_CONFORMANCE_PG_URL   admin URL for creating/dropping databases
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, Optional

import httpx
import pytest
from keycardai_api import KeycardAPI
from keycardai_api.types import Organization
from keycardai_api.types.organizations import ServiceAccount
from keycardai_api.types.organizations.service_accounts import CredentialCreateResponse

import lk
import records as records_mod

BACKENDS = ("sqlite", "postgres")

# The SDK reads these from the environment; the suite must not pick up a developer's settings.
for _var in [v for v in os.environ if v.startswith("KEYCARD_API_")]:
    del os.environ[_var]


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--backend",
        action="append",
        choices=BACKENDS,
        help="storage backend to run against (repeatable; default: all)",
    )


def selected_backends(config: pytest.Config) -> list[str]:
    chosen = config.getoption("backend")
    if chosen:
        return list(dict.fromkeys(chosen))
    env = os.environ.get("LATCHKEY_CONFORMANCE_BACKENDS", "")
    if env.strip():
        names = [b.strip() for b in env.split(",") if b.strip()]
        bad = [b for b in names if b not in BACKENDS]
        if bad:
            raise pytest.UsageError(f"unknown backend(s) in LATCHKEY_CONFORMANCE_BACKENDS: {bad}")
        return names
    return list(BACKENDS)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "backend" in metafunc.fixturenames:
        metafunc.parametrize("backend", selected_backends(metafunc.config), scope="session")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    """Attaches the tail of the server log to every failed test that used the shared server."""
    outcome = yield
    report = outcome.get_result()
    if report.failed:
        servers = [v for v in getattr(item, "funcargs", {}).values() if isinstance(v, lk.LatchkeyServer)]
        for srv in servers:
            report.sections.append((f"latchkey server log ({srv.backend})", srv.log_tail(80)))


# --------------------------------------------------------------------------------------------
# Process and database
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def latchkey_bin() -> Path:
    raw = os.environ.get("LATCHKEY_BIN", "target/debug/latchkey")
    path = Path(raw)
    if not path.is_absolute():
        path = lk.REPO_ROOT / path
    if not (path.is_file() and os.access(path, os.X_OK)):
        pytest.fail(f"latchkey binary not found or not executable: {path}", pytrace=False)
    return path


@pytest.fixture(scope="session")
def pg_admin_url() -> str:
    return os.environ.get("LATCHKEY_CONFORMANCE_PG_URL", lk.DEFAULT_PG_ADMIN_URL)


@pytest.fixture(scope="session")
def database_url(backend: str, pg_admin_url: str) -> Iterator[Optional[str]]:
    """None for SQLite (the server's embedded default); a fresh PostgreSQL database otherwise."""
    if backend == "sqlite":
        yield None
        return
    with lk.postgres_database(pg_admin_url) as url:
        yield url


@pytest.fixture
def make_server(latchkey_bin: Path, tmp_path_factory: pytest.TempPathFactory, pg_admin_url: str):
    """Factory for extra, test-owned servers (lifecycle tests). Kills and cleans up what it made."""
    made: list[lk.LatchkeyServer] = []
    with contextlib.ExitStack() as stack:

        def make(backend: str, *, start: bool = True) -> lk.LatchkeyServer:
            url = stack.enter_context(lk.postgres_database(pg_admin_url)) if backend == "postgres" else None
            srv = lk.LatchkeyServer(
                binary=latchkey_bin,
                backend=backend,
                data_dir=tmp_path_factory.mktemp(f"own-{backend}") / "data",
                database_url=url,
            )
            made.append(srv)
            return srv.start() if start else srv

        try:
            yield make
        finally:
            for srv in made:
                srv.kill()


@pytest.fixture(scope="session")
def server(
    backend: str, latchkey_bin: Path, database_url: Optional[str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[lk.LatchkeyServer]:
    """The shared server for one backend. Teardown checks a clean SIGTERM shutdown."""
    srv = lk.LatchkeyServer(
        binary=latchkey_bin,
        backend=backend,
        data_dir=tmp_path_factory.mktemp(f"latchkey-{backend}") / "data",
        database_url=database_url,
    )
    try:
        srv.start()
    except lk.ServerStartError as e:
        pytest.fail(str(e), pytrace=False)
    yield srv
    code = srv.stop(timeout=10)
    # (the failure report gets the log tail from pytest_runtest_makereport)
    assert code == 0, f"latchkey ({backend}) did not exit 0 within 10 s of SIGTERM (exit code: {code})"


# --------------------------------------------------------------------------------------------
# Clients
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def base_url(server: lk.LatchkeyServer) -> str:
    return server.base_url


@pytest.fixture(scope="session")
def admin(server: lk.LatchkeyServer) -> Iterator[KeycardAPI]:
    """The SDK as the platform admin (the bootstrap API key)."""
    client = lk.api_key_client(server, server.bootstrap_key)
    yield client
    client.close()


@pytest.fixture(scope="session")
def strict_admin(server: lk.LatchkeyServer) -> Iterator[KeycardAPI]:
    """Like `admin`, but the SDK validates every response against its models."""
    client = lk.api_key_client(server, server.bootstrap_key, _strict_response_validation=True)
    yield client
    client.close()


@pytest.fixture(scope="session")
def http(server: lk.LatchkeyServer) -> Iterator[httpx.Client]:
    """Plain HTTP, no credentials: for what the SDK cannot send (bad JSON, missing auth, ...)."""
    with httpx.Client(base_url=server.base_url, timeout=30.0) as client:
        yield client


@pytest.fixture(scope="session")
def admin_http(server: lk.LatchkeyServer) -> Iterator[httpx.Client]:
    """Plain HTTP with the bootstrap key."""
    with httpx.Client(
        base_url=server.base_url,
        timeout=30.0,
        headers={"Authorization": f"Bearer {server.bootstrap_key}"},
    ) as client:
        yield client


# --------------------------------------------------------------------------------------------
# Objects
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def default_org(admin: KeycardAPI) -> Organization:
    """The organization the server makes on first start (name "Default"); the admin key's own."""
    named = [o for o in lk.list_all_organizations(admin) if o.name == "Default"]
    assert named, "no organization named 'Default' in GET /organizations"
    return named[0]


@pytest.fixture
def new_org(admin: KeycardAPI) -> Organization:
    """A fresh organization, made by the admin."""
    return admin.organizations.create(name=lk.unique("Conf Org"))


@dataclass
class ServiceAccountPrincipal:
    org: Organization
    service_account: ServiceAccount
    credential: CredentialCreateResponse
    client: KeycardAPI  # authenticates with the credential's client-credentials flow

    @property
    def token_requests(self) -> list[httpx.Request]:
        return self.client._conformance_transport.token_requests  # type: ignore[attr-defined]


@pytest.fixture
def make_sa(admin: KeycardAPI, server: lk.LatchkeyServer) -> Iterator[Callable[..., ServiceAccountPrincipal]]:
    """Factory: a service account (in a new org unless one is given) with one credential and a client."""
    clients: list[KeycardAPI] = []

    def make(org: Optional[Organization] = None) -> ServiceAccountPrincipal:
        org = org or admin.organizations.create(name=lk.unique("SA Org"))
        sa = admin.organizations.service_accounts.create(org.id, name=lk.unique("sa"))
        cred = admin.organizations.service_accounts.credentials.create(
            sa.id, organization_id=org.id, name=lk.unique("cred")
        )
        client = lk.credentials_client(server, cred.client_id, cred.client_secret)
        clients.append(client)
        return ServiceAccountPrincipal(org, sa, cred, client)

    yield make
    for c in clients:
        c.close()


# --------------------------------------------------------------------------------------------
# The zone directory
# --------------------------------------------------------------------------------------------


@pytest.fixture
def make_zone(admin: KeycardAPI) -> Callable[..., lk.ZoneKit]:
    """Factory: a fresh zone (in the admin's own organization unless one is given), as a ZoneKit."""

    def make(organization_id: Optional[str] = None) -> lk.ZoneKit:
        kw = {"organization_id": organization_id} if organization_id else {}
        return lk.ZoneKit(admin, admin.zones.create(name=lk.unique("dir zone"), **kw))

    return make


@pytest.fixture(scope="module")
def zone(admin: KeycardAPI) -> lk.ZoneKit:
    """A zone of the admin's organization, with object factories (lk.ZoneKit), shared by the tests
    of one module: for tests that look only at what they made themselves (making a zone makes its
    signing keys, so a zone per test is slow). Tests that read whole-zone lists use `fresh_zone`."""
    return lk.ZoneKit(admin, admin.zones.create(name=lk.unique("module zone")))


@pytest.fixture
def fresh_zone(make_zone: Callable[..., lk.ZoneKit]) -> lk.ZoneKit:
    """A new, empty zone (apart from its two platform providers) for this test alone."""
    return make_zone()


@pytest.fixture(scope="session")
def records(server: lk.LatchkeyServer) -> records_mod.Records:
    """Direct SQL access to the shared server's database (identity-record rows, at-rest checks)."""
    return records_mod.Records(server)
