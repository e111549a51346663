"""Three instances starting for the first time at the same moment on one empty PostgreSQL
database (issue 13): the start-up lease makes them set the database up one after another, so
they leave exactly the rows one instance alone leaves (one Default organization, one platform
zone, one first-party client each) — not one set per instance, and none fails to start.

The reference is a single first start on another empty database, counted table by table.
"""

from __future__ import annotations

import base64
import secrets
import threading
from pathlib import Path

import httpx
import psycopg
import pytest

import lk
from conftest import selected_backends

# What a first start writes; a race shows as a table with more rows than one start leaves.
TABLES = (
    "organizations",
    "zones",
    "applications",
    "application_credentials",
    "signing_keys",
    "server_meta",
)


def rows(url: str) -> dict[str, int]:
    with psycopg.connect(url, autocommit=True) as conn:
        return {t: conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in TABLES}


def instances(binary: Path, url: str, base: Path, n: int) -> list[lk.LatchkeyServer]:
    """`n` instances of one database, sharing a master key written before any starts."""
    key = base64.urlsafe_b64encode(secrets.token_bytes(32)).rstrip(b"=").decode()
    boot = lk.random_bootstrap_key()
    made = []
    for i in range(n):
        data = base / f"instance-{i}" / "data"
        data.mkdir(parents=True)
        (data / "master.key").write_text(key)
        (data / "master.key").chmod(0o600)
        made.append(
            lk.LatchkeyServer(
                binary=binary, backend="postgres", data_dir=data, database_url=url, bootstrap_key=boot
            )
        )
    return made


def test_three_first_starts_at_once_set_the_database_up_once(
    request: pytest.FixtureRequest, latchkey_bin: Path, pg_admin_url: str, tmp_path: Path
):
    if "postgres" not in selected_backends(request.config):
        pytest.skip("several instances share a PostgreSQL database: postgres backend not selected")

    with lk.postgres_database(pg_admin_url) as url:
        (alone,) = instances(latchkey_bin, url, tmp_path / "alone", 1)
        alone.start()
        alone.stop()
        expected = rows(url)
    assert expected["organizations"] == 1, expected

    with lk.postgres_database(pg_admin_url) as url:
        trio = instances(latchkey_bin, url, tmp_path / "trio", 3)
        errors: list[str] = []

        def start(inst: lk.LatchkeyServer) -> None:
            try:
                inst.start(timeout=90)
            except Exception as e:  # noqa: BLE001 - reported below with the instance's log
                errors.append(f"{e}")

        threads = [threading.Thread(target=start, args=(i,)) for i in trio]
        try:
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            assert not errors, "an instance failed to start:\n" + "\n".join(errors)
            got = rows(url)
            for inst in trio:
                r = httpx.get(
                    f"{inst.base_url}/organizations",
                    headers={"Authorization": f"Bearer {inst.bootstrap_key}"},
                )
                assert r.status_code == 200, r.text
                assert len(r.json()["items"]) == 1, f"{inst.base_url}: {r.text}"
        finally:
            for inst in trio:
                inst.stop()
        assert got == expected, (
            f"three first starts at once left {got}, one alone leaves {expected}\n"
            + "\n".join(i.log_tail(30) for i in trio)
        )
