"""Fixtures of the organization-people tests: a fresh organization per test module."""

from __future__ import annotations

from typing import Callable, Iterator

import httpx
import pytest
from keycardai_api import KeycardAPI

import lk

from .people_kit import Org


@pytest.fixture
def make_org(server: lk.LatchkeyServer, admin: KeycardAPI, admin_http: httpx.Client) -> Iterator[Callable[[], Org]]:
    made: list[Org] = []

    def make() -> Org:
        o = Org(server, admin, admin_http)
        made.append(o)
        return o

    yield make
    for o in made:
        o.close()
