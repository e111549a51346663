"""Shared pieces of the security tests: raw-HTTP principals (service-account tokens), the
OpenAPI operation list, and the "which backend runs a one-backend test" rule.

Tests here talk plain HTTP (httpx) rather than the SDK: they send requests the SDK would never
build (another organization's ids, bodies a fuzzer made) and must see every status as it is.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass, field
from typing import Any, Iterator, Optional

import httpx
import pytest

import lk

HTTP_METHODS = ("get", "put", "post", "patch", "delete")
PLACEHOLDER = re.compile(r"\{([^}/]+)\}")


def one_backend(config: pytest.Config) -> str:
    """The backend a storage-independent test runs on: sqlite when selected, else the first."""
    import conftest

    chosen = conftest.selected_backends(config)
    return "sqlite" if "sqlite" in chosen else chosen[0]


def only_on_one_backend(request: pytest.FixtureRequest, backend: str) -> None:
    want = one_backend(request.config)
    if backend != want:
        pytest.skip(f"storage-independent: runs on {want} only")


@dataclass(frozen=True)
class Operation:
    method: str  # lowercase
    path: str  # the OpenAPI template, e.g. /zones/{zone_id}/applications/{id}
    spec: dict = field(hash=False, compare=False)

    @property
    def name(self) -> str:
        return f"{self.method.upper()} {self.path}"

    @property
    def placeholders(self) -> list[str]:
        return PLACEHOLDER.findall(self.path)

    @property
    def public(self) -> bool:
        """Documented as needing no authentication (`security: [{}]`)."""
        sec = self.spec.get("security")
        return sec is not None and all(not s for s in sec)


def operations(openapi: dict) -> list[Operation]:
    ops = []
    for path, item in sorted(openapi["paths"].items()):
        for method in HTTP_METHODS:
            if method in item:
                ops.append(Operation(method, path, item[method]))
    return ops


def fetch_openapi(base_url: str) -> dict:
    r = httpx.get(f"{base_url}/openapi.json", timeout=10)
    assert r.status_code == 200, r.text
    doc = r.json()
    assert doc.get("paths"), "the OpenAPI document lists no paths"
    return doc


def service_account_token(base_url: str, client_id: str, client_secret: str) -> str:
    basic = base64.b64encode(f"{client_id}:{client_secret}".encode()).decode()
    r = httpx.post(
        f"{base_url}/service-account-token",
        content="grant_type=client_credentials",
        headers={"Authorization": f"Basic {basic}", "Content-Type": "application/x-www-form-urlencoded"},
        timeout=10,
    )
    assert r.status_code == 200, f"POST /service-account-token: {r.status_code} {r.text}"
    return r.json()["access_token"]


class Principal:
    """Plain HTTP as one bearer token. Every answer is returned, whatever its status."""

    def __init__(self, base_url: str, token: str, label: str) -> None:
        self.label = label
        self.http = httpx.Client(base_url=base_url, timeout=30, headers={"Authorization": f"Bearer {token}"})

    def request(self, method: str, path: str, body: Optional[Any] = None, **kw: Any) -> httpx.Response:
        if body is not None:
            kw["json"] = body
        return self.http.request(method.upper(), path, **kw)

    def ok(self, method: str, path: str, body: Optional[Any] = None, **kw: Any) -> Any:
        """The request must succeed (2xx); returns the JSON body (None when empty)."""
        r = self.request(method, path, body, **kw)
        assert 200 <= r.status_code < 300, f"{self.label}: {method.upper()} {path} -> {r.status_code} {r.text}"
        return r.json() if r.content else None

    def close(self) -> None:
        self.http.close()


def new_service_account(admin: Principal, base_url: str, org_id: str, label: str) -> tuple[Principal, dict]:
    """A service account with one credential in `org_id` (made by `admin`), logged in."""
    sa = admin.ok("post", f"/organizations/{org_id}/service-accounts", {"name": lk.unique(f"{label} sa")})
    cred = admin.ok(
        "post",
        f"/organizations/{org_id}/service-accounts/{sa['id']}/credentials",
        {"name": lk.unique(f"{label} cred")},
    )
    token = service_account_token(base_url, cred["client_id"], cred["client_secret"])
    return Principal(base_url, token, label), {"service_account": sa, "credential": cred}


def fill(template: str, values: dict[str, str]) -> str:
    return PLACEHOLDER.sub(lambda m: values[m.group(1)], template)


def walk_ids(value: Any) -> Iterator[str]:
    """Every string anywhere in a JSON value (to look for leaked ids)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from walk_ids(v)
    elif isinstance(value, list):
        for v in value:
            yield from walk_ids(v)
