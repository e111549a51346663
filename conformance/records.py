"""Identity records written straight into the server's database.

Users, user agents, sessions and delegated grants are made by the OAuth flows, not by the management
API. To set up any state they need (session trees, lapsed or refreshed grants, users who never
signed in) the tests insert the rows themselves, into the tables of
`crates/store/migrations/*/0002_zone_directory.sql`: SQLite through `sqlite3` on
`<data-dir>/latchkey.db` (WAL, `busy_timeout`), PostgreSQL through psycopg on the test database.
Timestamps are integer milliseconds since the epoch, flags 0/1 integers, JSON columns text.

The same module answers "is this value stored in plaintext?" for the at-rest checks.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import sqlite3
import threading
import time
from typing import Any, Iterator

import lk

_ALPHABET = "abcdefghijklmnopqrstuvwxyz234567"
DAY_MS = 24 * 3600 * 1000


def new_id() -> str:
    """A 26-character lowercase id in the server's own style."""
    return "".join(secrets.choice(_ALPHABET) for _ in range(26))


def now_ms() -> int:
    return int(time.time() * 1000)


class Records:
    """Row factories for one server's database. Every factory returns the row it inserted (a dict,
    with `id`); keyword arguments override any column."""

    def __init__(self, server: "lk.LatchkeyServer") -> None:
        self.server = server
        self._last = 0
        self._lock = threading.Lock()

    # ---- plumbing -------------------------------------------------------------------------

    @property
    def is_sqlite(self) -> bool:
        return self.server.backend == "sqlite"

    @property
    def sqlite_path(self):
        return self.server.data_dir / "latchkey.db"

    @contextlib.contextmanager
    def connect(self) -> Iterator[Any]:
        if self.is_sqlite:
            conn = sqlite3.connect(self.sqlite_path, timeout=5.0)
            try:
                conn.execute("PRAGMA busy_timeout=5000")
                conn.execute("PRAGMA foreign_keys=ON")
                yield conn
                conn.commit()
            finally:
                conn.close()
        else:
            import psycopg

            assert self.server.database_url
            with psycopg.connect(self.server.database_url, autocommit=True) as conn:
                yield conn

    def _sql(self, sql: str) -> str:
        return sql if self.is_sqlite else sql.replace("?", "%s")

    def execute(self, sql: str, params: tuple = ()) -> list[tuple]:
        """Runs one statement (`?` placeholders on both backends); returns the rows it gave."""
        with self.connect() as conn:
            cur = conn.execute(self._sql(sql), params)
            return list(cur.fetchall()) if cur.description else []

    def insert(self, table: str, row: dict) -> dict:
        cols = list(row)
        sql = f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' for _ in cols)})"
        self.execute(sql, tuple(row[c] for c in cols))
        return row

    def tick(self) -> int:
        """A strictly increasing millisecond timestamp, so creation order is well defined."""
        with self._lock:
            self._last = max(now_ms(), self._last + 1)
            return self._last

    # ---- rows -----------------------------------------------------------------------------

    def user(self, zone: Any, **kw: Any) -> dict:
        t = self.tick()
        uid = kw.pop("id", None) or new_id()
        row = dict(
            zone_id=zone.id, id=uid, organization_id=zone.organization_id,
            email=f"user-{uid}@example.com", email_verified=1, external=0, identifier=uid,
            status="active", authenticated_at=None, issuer=None, provider_id=None, subject=None,
            password_hash=None, created_at=t, updated_at=t,
        )
        row.update(kw)
        return self.insert("users", row)

    def user_agent(self, zone: Any, **kw: Any) -> dict:
        t = self.tick()
        uid = kw.pop("id", None) or new_id()
        row = dict(
            zone_id=zone.id, id=uid, organization_id=zone.organization_id,
            identifier="ua:" + secrets.token_hex(32), name=f"Agent {uid[:8]}", slug=f"agent-{uid[:12]}",
            registration=None, created_at=t, updated_at=t,
        )
        row.update(kw)
        return self.insert("user_agents", row)

    def session(self, zone: Any, **kw: Any) -> dict:
        """A user session unless `session_type="application"` (then application_id, provider_id,
        issuer and subject must be given or are filled in where possible)."""
        t = self.tick()
        row = dict(
            zone_id=zone.id, id=new_id(), organization_id=zone.organization_id, session_type="user",
            user_id=None, application_id=None, user_agent_id=None, parent_id=None, provider_id=None,
            issuer=None, subject=None, metadata_name=None, session_data=None, status="active",
            authenticated_at=t, expires_at=t + DAY_MS, created_at=t, updated_at=t,
        )
        row.update(kw)
        if isinstance(row["session_data"], dict):
            row["session_data"] = json.dumps(row["session_data"])
        return self.insert("sessions", row)

    def grant(self, zone: Any, *, user_id: str, resource_id: str, provider_id: str, **kw: Any) -> dict:
        t = self.tick()
        row = dict(
            zone_id=zone.id, id=new_id(), organization_id=zone.organization_id, user_id=user_id,
            resource_id=resource_id, provider_id=provider_id, scopes=["read"], status="active",
            expires_at=t + DAY_MS, refresh_token_set=0, refreshed_at=None, access_token=None,
            refresh_token=None, created_at=t, updated_at=t,
        )
        row.update(kw)
        if isinstance(row["scopes"], list):
            row["scopes"] = json.dumps(row["scopes"])
        return self.insert("delegated_grants", row)

    # ---- at-rest checks -------------------------------------------------------------------

    def stored_in_plaintext(self, marker: str, table: str, column: str) -> bool:
        """Whether `marker`'s UTF-8 bytes are stored as they are: anywhere in the SQLite files
        (`latchkey.db`, `latchkey.db-wal`), or in `table.column` on PostgreSQL."""
        needle = marker.encode()
        if self.is_sqlite:
            found = False
            for suffix in ("", "-wal"):
                path = self.sqlite_path.with_name(self.sqlite_path.name + suffix)
                if path.exists() and needle in path.read_bytes():
                    found = True
            return found
        (ctype,) = self.execute(
            "SELECT data_type FROM information_schema.columns WHERE table_name = ? AND column_name = ?",
            (table, column),
        )[0]
        col = column if ctype == "bytea" else f"convert_to({column}::text, 'UTF8')"
        rows = self.execute(
            f"SELECT count(*) FROM {table} WHERE position(convert_to(?, 'UTF8') in {col}) > 0", (marker,)
        )
        return rows[0][0] > 0
