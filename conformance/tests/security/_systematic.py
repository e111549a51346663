"""Shared pieces of the security tests: raw-HTTP principals (service-account tokens), the
OpenAPI operation list, and the "which backend runs a one-backend test" rule.

Tests here talk plain HTTP (httpx) rather than the SDK: they send requests the SDK would never
build (another organization's ids, bodies a fuzzer made) and must see every status as it is.
"""

from __future__ import annotations

import base64
import re
import uuid
from dataclasses import dataclass, field
from types import SimpleNamespace
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


# --------------------------------------------------------------------------------------------
# The fixture map: which object fills a path placeholder, told by the collection segment before
# it. A route whose placeholder is not here fails test_isolation_matrix's coverage test.
# --------------------------------------------------------------------------------------------

KIND_OF = {
    ("organizations", "organization_id"): "org",
    ("invitations", "invitation_id"): "invitation",
    ("service-accounts", "service_account_id"): "service_account",
    ("credentials", "credential_id"): "sa_credential",
    ("zones", "zone_id"): "zone",
    ("applications", "id"): "app",
    ("dependencies", "dependency_id"): "dependency",
    ("application-credentials", "id"): "credential",
    ("providers", "id"): "provider",
    ("resources", "id"): "resource",
    ("secrets", "id"): "secret",
    ("users", "id"): "user",
    ("user-agents", "id"): "user_agent",
    ("sessions", "id"): "session",
    ("delegated-grants", "id"): "grant",
    ("policy-schemas", "version"): "schema_version",
    ("policies", "policy_id"): "policy",
    ("versions", "policy_version_id"): "policy_version",
    ("policy-sets", "policy_set_id"): "policy_set",
    ("versions", "policy_set_version_id"): "policy_set_version",
    ("users", "user_id"): "org_user",
    ("members", "organization_user_id"): "org_user",
}


@dataclass
class Tenant:
    name: str
    who: Principal
    ids: dict[str, str]  # kind -> id of one object of that kind
    label: str  # the organization's label (an alias of its id in paths)
    invitation_token: str = ""


def populate(admin: Principal, base_url: str, records: Any, name: str) -> Tenant:
    """A new organization with a service account (the tenant's principal) and one object of
    every kind, made through the API by that principal (identity records through SQL: only the
    OAuth flows make them)."""
    org = admin.ok("post", "/organizations", {"name": lk.unique(f"iso {name}")})
    who, _ = new_service_account(admin, base_url, org["id"], name)
    ids: dict[str, str] = {"org": org["id"]}
    victim = who.ok("post", f"/organizations/{org['id']}/service-accounts", {"name": lk.unique("victim sa")})
    ids["service_account"] = victim["id"]
    ids["sa_credential"] = who.ok(
        "post", f"/organizations/{org['id']}/service-accounts/{victim['id']}/credentials", {"name": lk.unique("c")}
    )["id"]
    inv = who.ok(
        "post",
        f"/organizations/{org['id']}/invitations",
        {"email": f"{uuid.uuid4().hex[:10]}@example.com", "role": "org_member"},
    )
    ids["invitation"] = inv["id"]
    z = who.ok("post", "/zones", {"name": lk.unique(f"iso zone {name}")})
    assert z["organization_id"] == org["id"]
    zid = ids["zone"] = z["id"]
    base = f"/zones/{zid}"
    ids["app"] = who.ok(
        "post", f"{base}/applications", {"name": lk.unique("app"), "identifier": lk.unique_url("app")}
    )["id"]
    ids["provider"] = who.ok(
        "post", f"{base}/providers", {"name": lk.unique("idp"), "identifier": lk.unique_url("idp")}
    )["id"]
    ids["resource"] = who.ok(
        "post",
        f"{base}/resources",
        {"name": lk.unique("res"), "identifier": lk.unique_url("res"), "application_id": ids["app"]},
    )["id"]
    ids["dependency"] = who.ok(
        "post", f"{base}/resources", {"name": lk.unique("dep"), "identifier": lk.unique_url("dep")}
    )["id"]
    who.ok("put", f"{base}/applications/{ids['app']}/dependencies/{ids['dependency']}")
    ids["credential"] = who.ok(
        "post", f"{base}/application-credentials", {"application_id": ids["app"], "type": "public"}
    )["id"]
    ids["secret"] = who.ok(
        "post",
        f"{base}/secrets",
        {"name": lk.unique("secret"), "entity_id": ids["app"], "data": {"type": "token", "token": uuid.uuid4().hex}},
    )["id"]
    zone = SimpleNamespace(id=zid, organization_id=org["id"])
    ids["user"] = records.user(zone)["id"]
    ids["user_agent"] = records.user_agent(zone)["id"]
    ids["session"] = records.session(zone, user_id=ids["user"], user_agent_id=ids["user_agent"])["id"]
    ids["grant"] = records.grant(
        zone, user_id=ids["user"], resource_id=ids["dependency"], provider_id=ids["provider"]
    )["id"]
    populate_policies(who, base, ids)
    populate_people(who, org, ids)
    return Tenant(name, who, ids, org["label"], inv.get("token", ""))


def populate_people(who: Principal, org: dict, ids: dict[str, str]) -> None:
    """A person of the organization (invited, signed up at its platform zone through the
    invitation), a zone member, and the organization's SSO connection (after the person: with SSO
    on, the platform zone signs people in through the IdP)."""
    from e2e import kit

    email = f"person-{uuid.uuid4().hex[:10]}@example.com"
    token = who.ok("post", f"/organizations/{org['id']}/invitations", {"email": email, "role": "org_member"})["token"]
    platform = who.ok("get", f"/zones/{org['zone_id']}")
    zone = kit.Zone(None, SimpleNamespace(id=platform["id"], protocols=SimpleNamespace(
        oauth2=SimpleNamespace(issuer=platform["protocols"]["oauth2"]["issuer"]))))
    b = kit.HttpBrowser(zone)
    try:
        url = zone.authorize_url(kit.Client("latchkey-cli"), "http://127.0.0.1:53682/callback",
                                 pkce=kit.Pkce(), state="iso", invitation=token)
        b.signup_and_authorize(url, email)
    finally:
        b.close()
    people = who.ok("get", f"/organizations/{org['id']}/users")["items"]
    ids["org_user"] = next(p["id"] for p in people if p["email"] == email)
    who.ok("post", f"/zones/{ids['zone']}/members", {"organization_user_id": ids["org_user"], "role": "zone_viewer"})
    who.ok("post", f"/organizations/{org['id']}/sso-connection",
           {"client_id": "iso", "identifier": f"https://sso-{uuid.uuid4().hex[:8]}.example.com"})


def populate_policies(who: Principal, base: str, ids: dict[str, str]) -> None:
    """A customer policy with a version, and a set with a version pinning it (not active)."""
    ids["schema_version"] = "2026-03-16"
    ids["policy"] = who.ok("post", f"{base}/policies", {"name": lk.unique("policy")})["id"]
    ids["policy_version"] = who.ok(
        "post",
        f"{base}/policies/{ids['policy']}/versions",
        {"schema_version": ids["schema_version"], "cedar_raw": "permit (principal, action, resource);"},
    )["id"]
    ids["policy_set"] = who.ok("post", f"{base}/policy-sets", {"name": lk.unique("set")})["id"]
    ids["policy_set_version"] = who.ok(
        "post",
        f"{base}/policy-sets/{ids['policy_set']}/versions",
        {
            "schema_version": ids["schema_version"],
            "manifest": {"entries": [{"policy_id": ids["policy"], "policy_version_id": ids["policy_version"]}]},
        },
    )["id"]


def kinds_of(op: Operation) -> Optional[list[str]]:
    """The object kind of each placeholder, or None when the fixture map cannot fill one."""
    segments = op.path.strip("/").split("/")
    out = []
    for i, seg in enumerate(segments):
        if seg.startswith("{"):
            key = (segments[i - 1] if i else "", seg[1:-1])
            if key not in KIND_OF:
                return None
            out.append(KIND_OF[key])
    return out


def path_values(op: Operation, owners: list[Tenant], *, label: bool = False) -> dict[str, str]:
    """Placeholder values: the i-th placeholder from owners[i]'s objects."""
    kinds = kinds_of(op)
    assert kinds is not None
    values = {}
    for name, kind, owner in zip(op.placeholders, kinds, owners):
        values[name] = owner.label if (label and kind == "org") else owner.ids[kind]
    return values
