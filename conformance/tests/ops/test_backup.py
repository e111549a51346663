"""Backup and restore of the embedded SQLite database (docs/operations.md, "Backup and restore"):
`latchkey backup` takes a consistent snapshot while the server runs and copies the master key
beside it; `latchkey restore` brings that state back (secrets sealed with the master key still
readable), refuses while a server has the database open, refuses files that are not Latchkey
databases and keys that do not match; on PostgreSQL `backup` prints the pg_dump procedure and
fails."""

from __future__ import annotations

import base64
import os
import secrets as pysecrets
import sqlite3
import stat
import uuid

import httpx
import pytest
from keycardai_api import NotFoundError

import lk
from ops import kit


@pytest.fixture
def sqlite_only(backend):
    if backend != "sqlite":
        pytest.skip("backup and restore commands are for the embedded SQLite database")


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def new_secret(zone: lk.ZoneKit, token: str):
    return zone.secret(data={"type": "token", "token": token})


def test_backup_while_serving_then_restore(sqlite_only, backend, make_server, latchkey_bin, tmp_path):
    srv = make_server(backend)
    admin = lk.api_key_client(srv, srv.bootstrap_key)
    zone = lk.ZoneKit(admin, admin.zones.create(name=lk.unique("backup zone")))
    before_token = "before-" + uuid.uuid4().hex
    before = new_secret(zone, before_token)

    out = tmp_path / "latchkey-backup.db"
    done = kit.run(latchkey_bin, "backup", "--data-dir", str(srv.data_dir), "--out", str(out))
    assert done.returncode == 0, done.stderr
    key_copy = tmp_path / "latchkey-backup.db.master.key"
    assert out.is_file() and key_copy.is_file(), done.stdout
    assert mode(out) == 0o600 and mode(key_copy) == 0o600
    assert key_copy.read_bytes() == (srv.data_dir / "master.key").read_bytes()
    # a second backup never overwrites the first
    again = kit.run(latchkey_bin, "backup", "--data-dir", str(srv.data_dir), "--out", str(out))
    assert again.returncode != 0 and "already exists" in again.stderr

    # written after the backup
    after = new_secret(zone, "after-" + uuid.uuid4().hex)
    later_zone = admin.zones.create(name=lk.unique("later zone"))

    # refused while the server runs; the database is left alone
    busy = kit.run(latchkey_bin, "restore", "--data-dir", str(srv.data_dir), "--from", str(out))
    assert busy.returncode != 0
    assert "in use" in busy.stderr and "stop the server" in busy.stderr, busy.stderr
    assert admin.zones.secrets.retrieve(after.id, zone_id=zone.id).data.token.startswith("after-")
    admin.close()
    assert srv.stop() == 0

    # refused: not a database, a database that is not Latchkey's, a key that does not match
    junk = tmp_path / "junk.db"
    junk.write_bytes(os.urandom(8192))
    foreign = tmp_path / "foreign.db"
    with sqlite3.connect(foreign) as c:
        c.execute("CREATE TABLE t (x INTEGER)")
    for bad in (junk, foreign):
        r = kit.run(latchkey_bin, "restore", "--data-dir", str(srv.data_dir), "--from", str(bad))
        assert r.returncode != 0 and "not a Latchkey database" in r.stderr, r.stderr
    other_key = base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("=")
    r = kit.run(
        latchkey_bin,
        "restore",
        "--data-dir",
        str(srv.data_dir),
        "--from",
        str(out),
        env={"LATCHKEY_MASTER_KEY": other_key},
    )
    assert r.returncode != 0 and "does not match" in r.stderr, r.stderr

    # restore for real: the key comes from the backup (the data dir's own is gone)
    (srv.data_dir / "master.key").unlink()
    r = kit.run(latchkey_bin, "restore", "--data-dir", str(srv.data_dir), "--from", str(out))
    assert r.returncode == 0, r.stderr
    assert "restored" in r.stdout
    assert (srv.data_dir / "master.key").read_bytes() == key_copy.read_bytes()
    assert mode(srv.data_dir / "master.key") == 0o600
    assert mode(srv.data_dir / "latchkey.db") == 0o600

    srv.start()
    admin = lk.api_key_client(srv, srv.bootstrap_key)
    try:
        got = admin.zones.secrets.retrieve(before.id, zone_id=zone.id)
        assert got.data.token == before_token, "a secret from before the backup is not readable"
        with pytest.raises(NotFoundError):
            admin.zones.secrets.retrieve(after.id, zone_id=zone.id)
        with pytest.raises(NotFoundError):
            admin.zones.retrieve(later_zone.id)
        # the zone's signing keys (sealed with the master key) still load
        assert httpx.get(f"{srv.base_url}/readyz", timeout=30).status_code == 200
        jwks = httpx.get(f"{srv.base_url}/z/{zone.id}/openidconnect/jwks", timeout=30)
        assert jwks.status_code == 200 and jwks.json()["keys"]
    finally:
        admin.close()


def test_backup_refuses_postgres_and_prints_the_procedure(latchkey_bin, tmp_path):
    r = kit.run(
        latchkey_bin,
        "backup",
        "--database-url",
        "postgres://postgres@127.0.0.1:5432/latchkey_never_used",
        "--data-dir",
        str(tmp_path / "data"),
        "--out",
        str(tmp_path / "x.db"),
    )
    assert r.returncode != 0
    assert "pg_dump" in r.stderr and "pg_restore" in r.stderr, r.stderr
    assert not (tmp_path / "x.db").exists()
    r = kit.run(
        latchkey_bin,
        "restore",
        "--database-url",
        "postgres://postgres@127.0.0.1:5432/latchkey_never_used",
        "--data-dir",
        str(tmp_path / "data"),
        "--from",
        str(tmp_path / "x.db"),
    )
    assert r.returncode != 0 and "pg_restore" in r.stderr, r.stderr


def test_help_explains_the_master_key(latchkey_bin):
    for cmd in ("backup", "restore"):
        r = kit.run(latchkey_bin, cmd, "--help")
        assert r.returncode == 0
        assert "master.key" in r.stdout, r.stdout
        if cmd == "backup":
            assert "0600" in r.stdout, r.stdout
        assert "master key" in r.stdout.lower()
