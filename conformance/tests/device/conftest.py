"""Fixtures of the device authorization grant tests (RFC 8628).

* `device_server` — a server of the test module's own (per backend) whose devices may poll every
  second (`LATCHKEY_DEVICE_POLL_INTERVAL_SECS=1`), so the polling tests need not sleep 5 s;
* `short_server` — one whose device codes live 2 s (`LATCHKEY_DEVICE_CODE_LIFETIME_SECS=2`), for
  `expired_token`, and whose user-code throttle the guessing test may exhaust;
* `dz` — a zone on `device_server` with a public client, a confidential client, a resource both
  depend on and an introspecting service (`DeviceZone`).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import pytest
from keycardai_api import KeycardAPI

import lk
from e2e import kit


def _own_server(
    backend: str, latchkey_bin: Path, tmp_path_factory: pytest.TempPathFactory, pg_admin_url: str, env: dict
) -> Iterator[lk.LatchkeyServer]:
    with contextlib.ExitStack() as stack:
        url = stack.enter_context(lk.postgres_database(pg_admin_url)) if backend == "postgres" else None
        srv = lk.LatchkeyServer(
            binary=latchkey_bin,
            backend=backend,
            data_dir=tmp_path_factory.mktemp(f"device-{backend}") / "data",
            database_url=url,
            extra_env=env,
        )
        srv.start()
        try:
            yield srv
        finally:
            assert srv.stop(timeout=10) == 0, srv.log_tail()


@pytest.fixture(scope="module")
def device_server(backend, latchkey_bin, tmp_path_factory, pg_admin_url) -> Iterator[lk.LatchkeyServer]:
    yield from _own_server(
        backend, latchkey_bin, tmp_path_factory, pg_admin_url, {"LATCHKEY_DEVICE_POLL_INTERVAL_SECS": "1"}
    )


@pytest.fixture(scope="module")
def short_server(backend, latchkey_bin, tmp_path_factory, pg_admin_url) -> Iterator[lk.LatchkeyServer]:
    yield from _own_server(
        backend,
        latchkey_bin,
        tmp_path_factory,
        pg_admin_url,
        {"LATCHKEY_DEVICE_CODE_LIFETIME_SECS": "2", "LATCHKEY_DEVICE_POLL_INTERVAL_SECS": "1"},
    )


@dataclass
class DeviceZone:
    """A zone with what the device tests use."""

    server: lk.LatchkeyServer
    admin: KeycardAPI
    zone: kit.Zone
    resource: Any
    public: kit.Client
    confidential: kit.Client
    other: kit.Client
    service: kit.Service

    @property
    def issuer(self) -> str:
        return self.zone.issuer


def make_device_zone(server: lk.LatchkeyServer, admin: KeycardAPI) -> DeviceZone:
    z = kit.Zone(admin, admin.zones.create(name=lk.unique("device zone"), requires_invitation=False))
    res = z.resource(scopes=["notes:read"])
    cb = ["http://127.0.0.1/callback"]
    return DeviceZone(
        server=server,
        admin=admin,
        zone=z,
        resource=res,
        public=z.browser_client(cb, name="Device CLI", depends_on=[res]),
        confidential=z.browser_client(cb, confidential=True, depends_on=[res]),
        other=z.browser_client(cb, name="Other CLI", depends_on=[res]),
        service=z.service(),
    )


@pytest.fixture(scope="module")
def dz(device_server: lk.LatchkeyServer) -> Iterator[DeviceZone]:
    admin = lk.api_key_client(device_server, device_server.bootstrap_key)
    d = make_device_zone(device_server, admin)
    yield d
    d.zone.http.close()
    admin.close()


@pytest.fixture(scope="module")
def short_zone(short_server: lk.LatchkeyServer) -> Iterator[DeviceZone]:
    admin = lk.api_key_client(short_server, short_server.bootstrap_key)
    d = make_device_zone(short_server, admin)
    yield d
    d.zone.http.close()
    admin.close()
