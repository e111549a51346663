"""Fixtures of the CLI tests: `cli`, the `latchkey` binary as a client of the shared server with a
fresh configuration directory per test."""

from __future__ import annotations

from pathlib import Path

import pytest

import lk

from .cli_kit import Cli


@pytest.fixture
def cli(latchkey_bin: Path, server: lk.LatchkeyServer, tmp_path: Path) -> Cli:
    return Cli(latchkey_bin, server, tmp_path / "config")
