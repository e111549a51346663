"""Helpers of the operations tests: running `latchkey` subcommands and reaching a test server's
database directly (SQLite file or PostgreSQL database)."""

from __future__ import annotations

import contextlib
import sqlite3
import subprocess
from pathlib import Path
from typing import Any, Iterator

import lk


def run(binary: Path, *args: str, env: dict | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    """Runs `latchkey ARGS...`; the completed process (text output)."""
    import os

    full_env = {k: v for k, v in os.environ.items() if not k.startswith("LATCHKEY_")}
    full_env["NO_COLOR"] = "1"
    full_env.update(env or {})
    return subprocess.run(
        [str(binary), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=full_env,
        stdin=subprocess.DEVNULL,
    )


@contextlib.contextmanager
def database(srv: lk.LatchkeyServer) -> Iterator[Any]:
    """An autocommitting connection to the server's own database (`?` placeholders on SQLite,
    `%s` on PostgreSQL)."""
    if srv.backend == "sqlite":
        conn = sqlite3.connect(srv.data_dir / "latchkey.db", timeout=10.0, isolation_level=None)
        try:
            conn.execute("PRAGMA busy_timeout=10000")
            yield conn
        finally:
            conn.close()
    else:
        import psycopg

        assert srv.database_url
        with psycopg.connect(srv.database_url, autocommit=True) as conn:
            yield conn


def execute(srv: lk.LatchkeyServer, sql: str, params: tuple = ()) -> None:
    if srv.backend != "sqlite":
        sql = sql.replace("?", "%s")
    with database(srv) as conn:
        conn.execute(sql, params)
