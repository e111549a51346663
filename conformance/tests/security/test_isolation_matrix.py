"""Tenant isolation, generated from the server's own route list.

Two organizations, A and B, each with a logged-in service account (client credentials at
`POST /service-account-token`) and one object of every kind the API has. The operation list is
read from `GET /openapi.json` at test time, so a route added later is covered without editing
this file, or, when the fixture map below cannot fill its path, makes the test fail naming it.

For every operation, B's principal sends the request with A's ids (and, on nested paths, with B's
own outer ids and A's inner ones, and with B's ids and a body that points at A's objects). Every
such request must be refused with 403 or 404 and a `{message, code, status}` body; afterwards
every GET the API has, read by A's principal over A's objects and by B's over B's, answers exactly
what it answered before. Lists B may read must not mention any of A's ids.

Storage-independent (access checks live in the service layer), so it runs on one backend.
"""

from __future__ import annotations

import json
import uuid
from typing import Any, Callable, Optional

import pytest

import lk
from records import new_id

from ._systematic import (
    KIND_OF,
    Operation,
    Principal,
    Tenant,
    fetch_openapi,
    fill,
    kinds_of,
    only_on_one_backend,
    operations,
    path_values,
    populate,
    walk_ids,
)

# Operations that are cross-organization on purpose. Each says why; the test still checks the
# documented behaviour where it can without spending A's objects.
CROSS_ORG_BY_DESIGN = {
    # The invitation token is the capability: its holder is by definition outside the
    # organization (spec §3.2.1, public lookup without authentication).
    "GET /invitations/{token}": "public lookup by the secret invitation token",
    # Accepting is what an invitee from outside does with the token (spec §3.2.2); B's accepting
    # A's real invitation would spend it, so only a guessed token is tried (must be 404).
    "POST /invitations/{token}/accept": "the invitation token is the capability",
}

# Operations that are not organization-scoped: the caller is a zone user named by a zone-issued
# user access token (spec §3.3, B31–B33), never an organization's principal, and the object is the
# caller's own bundle (no ids). An organization's principal must be refused with 401.
USER_TOKEN_ONLY = {
    "GET /policy/bundle": "the calling user's own bundle, zone user tokens only",
    "PUT /policy/bundle": "the calling user's own bundle, zone user tokens only",
    "DELETE /policy/bundle": "the calling user's own bundle, zone user tokens only",
}

NOT_IN_MATRIX = {**CROSS_ORG_BY_DESIGN, **USER_TOKEN_ONLY}

# Reads whose answer is a record of the caller's own requests: they change as the matrix runs,
# and B's lists the ids B itself sent (never A's callers or A's objects' contents).
OWN_RECORD = {
    "GET /organizations/{organization_id}/audit-events": "the caller's organization's own audit trail",
}

# Kinds that are platform-wide names, not tenant objects: B may name them under its own ids.
GLOBAL_KINDS = {"schema_version"}

# Operations without object ids in the path: what B's principal must get.
PLATFORM_ADMIN_ONLY = {
    # Creating organizations is reserved to platform admins (README, security choices).
    "POST /organizations",
}


def bodies(a: dict[str, str]) -> dict[str, Callable[[], Any]]:
    """A valid request body per operation (what A's own principal could send), referring to A's
    objects where a body refers to anything. An operation that takes a body and is missing here
    fails the coverage test: a body that does not parse would be refused with 400 before any
    access check, which proves nothing."""
    tag = uuid.uuid4().hex[:8]
    return {
        "POST /organizations": lambda: {"name": f"intruder {tag}"},
        "PATCH /organizations/{organization_id}": lambda: {"name": "hijacked"},
        "POST /organizations/{organization_id}/invitations": lambda: {
            "email": f"intruder-{tag}@example.com", "role": "org_admin",
        },
        "POST /organizations/{organization_id}/service-accounts": lambda: {"name": f"intruder {tag}"},
        "PATCH /organizations/{organization_id}/service-accounts/{service_account_id}": lambda: {"name": "hijacked"},
        "POST /organizations/{organization_id}/service-accounts/{service_account_id}/credentials": lambda: {
            "name": f"intruder {tag}",
        },
        "PATCH /organizations/{organization_id}/service-accounts/{service_account_id}/credentials/{credential_id}": (
            lambda: {"name": "hijacked"}
        ),
        "POST /organizations/{organization_id}/sso-connection": lambda: {
            "client_id": "intruder", "identifier": f"https://idp-{tag}.example.com",
        },
        "PATCH /organizations/{organization_id}/sso-connection": lambda: {"client_id": "hijacked"},
        "PATCH /organizations/{organization_id}/users/{user_id}": lambda: {"role": "org_admin"},
        "POST /zones/{zone_id}/members": lambda: {"organization_user_id": a["org_user"], "role": "zone_manager"},
        "PATCH /zones/{zone_id}/members/{organization_user_id}": lambda: {"role": "zone_manager"},
        "POST /zones": lambda: {"name": f"intruder {tag}", "organization_id": a["org"]},
        "PATCH /zones/{zone_id}": lambda: {"name": "hijacked", "default_resource_id": a["resource"]},
        "POST /zones/{zone_id}/applications": lambda: {
            "name": f"intruder {tag}", "identifier": f"https://intruder-{tag}.example.com/",
            "dependencies": [{"id": a["resource"]}],
        },
        "PATCH /zones/{zone_id}/applications/{id}": lambda: {"name": "hijacked"},
        "POST /zones/{zone_id}/application-credentials": lambda: {"application_id": a["app"], "type": "public"},
        "PATCH /zones/{zone_id}/application-credentials/{id}": lambda: {"identifier": f"hijacked-{tag}"},
        "POST /zones/{zone_id}/providers": lambda: {
            "name": f"intruder {tag}", "identifier": f"https://idp-{tag}.example.com/",
        },
        "PATCH /zones/{zone_id}/providers/{id}": lambda: {"name": "hijacked"},
        "POST /zones/{zone_id}/resources": lambda: {
            "name": f"intruder {tag}", "identifier": f"https://res-{tag}.example.com/",
            "application_id": a["app"], "credential_provider_id": a["provider"],
        },
        "PATCH /zones/{zone_id}/resources/{id}": lambda: {"name": "hijacked", "application_id": a["app"]},
        "POST /zones/{zone_id}/secrets": lambda: {
            # (`entity_id` is free text, spec §3.14.2; the optional `zone_id` echo is the reference)
            "name": f"intruder {tag}", "entity_id": f"entity-{tag}", "zone_id": a["zone"],
            "data": {"type": "token", "token": "stolen"},
        },
        "PATCH /zones/{zone_id}/secrets/{id}": lambda: {"name": "hijacked", "data": {"type": "token", "token": "x"}},
        "PATCH /zones/{zone_id}/sessions/{id}": lambda: {"status": "revoked"},
        "PATCH /zones/{zone_id}/delegated-grants/{id}": lambda: {"status": "revoked"},
        "PATCH /zones/{zone_id}/policy-schemas/{version}": lambda: {},
        "POST /zones/{zone_id}/policies": lambda: {"name": f"intruder {tag}"},
        "PATCH /zones/{zone_id}/policies/{policy_id}": lambda: {"name": "hijacked"},
        "POST /zones/{zone_id}/policies/{policy_id}/versions": lambda: {
            "schema_version": "2026-03-16", "cedar_raw": "forbid (principal, action, resource);",
        },
        "POST /zones/{zone_id}/policy-sets": lambda: {"name": f"intruder {tag}"},
        "PATCH /zones/{zone_id}/policy-sets/{policy_set_id}": lambda: {"name": "hijacked"},
        "POST /zones/{zone_id}/policy-sets/{policy_set_id}/versions": lambda: {
            "schema_version": "2026-03-16",
            "manifest": {"entries": [{"policy_id": a["policy"], "policy_version_id": a["policy_version"]}]},
        },
        "PATCH /zones/{zone_id}/policy-sets/{policy_set_id}/versions/{policy_set_version_id}": lambda: {"active": True},
        "POST /zones/{zone_id}/policy-sets/{policy_set_id}/versions/{policy_set_version_id}/evaluate": lambda: {
            "grant_type": "client_credentials", "client_id": a["credential"], "resource": a["resource"],
        },
    }  # fmt: skip


# --------------------------------------------------------------------------------------------
# The two organizations
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def openapi(server: lk.LatchkeyServer) -> dict:
    return fetch_openapi(server.base_url)


@pytest.fixture(scope="module")
def tenants(server: lk.LatchkeyServer, records: Any, backend: str):
    admin = Principal(server.base_url, server.bootstrap_key, "admin")
    a = populate(admin, server.base_url, records, "A")
    b = populate(admin, server.base_url, records, "B")
    yield a, b
    for p in (admin, a.who, b.who):
        p.close()


@pytest.fixture(autouse=True)
def _one_backend(request: pytest.FixtureRequest, backend: str) -> None:
    only_on_one_backend(request, backend)


# --------------------------------------------------------------------------------------------
# Resolving operations
# --------------------------------------------------------------------------------------------


SENTINEL = "@tenant-a:"


def uncovered(ops: list[Operation], body_of: dict) -> list[str]:
    problems = []
    for op in ops:
        if op.name in NOT_IN_MATRIX:
            continue
        if kinds_of(op) is None:
            problems.append(f"{op.name}: a path placeholder is not in KIND_OF (add the object kind)")
        if "requestBody" in op.spec and op.name not in body_of:
            problems.append(f"{op.name}: takes a body but has none in bodies() (add a valid one)")
        if not op.placeholders and op.method != "get" and op.name not in PLATFORM_ADMIN_ONLY:
            body = body_of.get(op.name)
            if body is None or not any(s.startswith(SENTINEL) for s in walk_ids(body())):
                problems.append(f"{op.name}: no ids in the path and no body naming A's objects")
    return problems


def test_every_operation_is_covered(server, openapi):
    """Every operation of the OpenAPI document is either filled by the fixture map or
    explicitly allow-listed, so a new route cannot slip past the matrix."""
    ops = operations(openapi)
    assert len(ops) > 50, f"only {len(ops)} operations in /openapi.json"
    problems = uncovered(ops, bodies({k: SENTINEL + k for k in set(KIND_OF.values())}))
    assert not problems, "routes the isolation matrix does not cover:\n  " + "\n  ".join(problems)


# --------------------------------------------------------------------------------------------
# The matrix
# --------------------------------------------------------------------------------------------


def snapshot(ops: list[Operation], t: Tenant, *, first: bool = False) -> dict[str, Any]:
    """What every GET of the API answers to the tenant's principal over its own objects."""
    shot = {}
    for op in ops:
        if op.method != "get" or op.name in NOT_IN_MATRIX or op.name in OWN_RECORD or kinds_of(op) is None:
            continue
        path = fill(op.path, path_values(op, [t] * len(op.placeholders)))
        r = t.who.request("get", path)
        shot[path] = (r.status_code, r.json() if r.content else None)
        if first:
            assert r.status_code == 200, f"{t.name}'s own {op.name} ({path}) -> {r.status_code} {r.text}"
    return shot


def refused(r, ghost, *, allowed: tuple[int, ...] = (403, 404)) -> Optional[str]:
    """None when `r` is a proper error with an allowed status that says no more than `ghost`,
    the answer to the same request with made-up ids in place of A's (so ids of another
    organization are no oracle for what exists there); otherwise what is wrong with it."""
    if r.status_code not in allowed:
        return f"answered {r.status_code}: {r.text[:300]}"
    try:
        body = lk.assert_error(r, r.status_code)
    except AssertionError as e:
        return f"error body: {e}"
    g = ghost.json() if ghost.headers.get("content-type", "").startswith("application/json") else {}
    if (ghost.status_code, g.get("code")) != (r.status_code, body["code"]):
        return (
            f"answered {r.status_code} {body['code']!r} for A's ids but {ghost.status_code} "
            f"{g.get('code')!r} for made-up ids: {r.text[:200]}"
        )
    return None


# Query parameters that take an object id, by the kind of object.
ID_FILTERS = {
    "applicationId": "app", "application_id": "app", "entity_id": "app",
    "credentialProviderId": "provider", "when_accessing": "resource", "filter[organization_id]": "org",
}  # fmt: skip


def filters_naming(op: Operation, a: Tenant) -> dict[str, Any]:
    """Query parameters of a list naming A's objects: the documented id filters and `filter[id]`."""
    documented = {p["name"] for p in op.spec.get("parameters", []) if p.get("in") == "query"}
    params: dict[str, Any] = {k: a.ids[kind] for k, kind in ID_FILTERS.items() if k in documented}
    if op.path.endswith("s") and not op.path.endswith("}"):  # a collection: try `filter[id]` too
        params["filter[id]"] = sorted(set(a.ids.values()))
    return params


def leaks(body: Any, a: Tenant) -> list[str]:
    mine = {v for k, v in a.ids.items() if k not in GLOBAL_KINDS}
    return sorted({s for s in walk_ids(body) if s in mine})


def test_other_organization_cannot_touch_anything(server, openapi, tenants):
    a, b = tenants
    ghost = Tenant("ghost", a.who, {k: new_id() for k in a.ids}, "ghost-" + new_id()[:10])
    ops = [op for op in operations(openapi) if op.name not in NOT_IN_MATRIX and kinds_of(op) is not None]
    body_of, ghost_body_of = bodies(a.ids), bodies(ghost.ids)
    before = {"A": snapshot(ops, a, first=True), "B": snapshot(ops, b, first=True)}
    failures: list[str] = []
    tried = 0

    def attempt(op: Operation, owners: list[Tenant], what: str, *, label: bool = False) -> None:
        """B sends `op` with the i-th path id from owners[i] and the body naming A's objects."""
        nonlocal tried
        tried += 1
        path = fill(op.path, path_values(op, owners, label=label))
        body = body_of[op.name]() if op.name in body_of else None
        r = b.who.request(op.method, path, body)
        if op.placeholders or op.method != "get":
            ghost_path = fill(op.path, path_values(op, [ghost if o is a else o for o in owners], label=label))
            ghost_body = ghost_body_of[op.name]() if op.name in ghost_body_of else None
            g = b.who.request(op.method, ghost_path, ghost_body)
            # a reference in the body only (B's own path) may also be refused as invalid (400)
            only_body = bool(owners) and all(o is b for o in owners)
            problem = refused(r, g, allowed=(400, 403, 404) if only_body else (403, 404))
            if problem:
                failures.append(f"{op.name} [{what}] {op.method.upper()} {path}: {problem}")
        elif r.status_code == 200 and (found := leaks(r.json(), a)):
            failures.append(f"{op.name} [{what}]: B's answer lists A's ids {found}")

    for op in ops:
        n = len(op.placeholders)
        if n == 0:
            attempt(op, [], "no ids in the path")
            continue
        # all of A's ids; then B's outer ids with A's inner ones; then B's ids and a body naming A's
        kinds = kinds_of(op) or []
        for k in range(n + 1):
            if k == n and not (op.name in body_of and leaks(body_of[op.name](), a)):
                continue
            if k > 0 and any(kind in GLOBAL_KINDS for kind in kinds[k:]):
                continue  # a platform-wide name under B's own outer ids is B's to read
            attempt(op, [b] * k + [a] * (n - k), f"{k} outer id(s) of B, {n - k} of A")
        if "organization_id" in op.placeholders:
            attempt(op, [a] * n, "A's organization label", label=True)

    # B's own lists, filtered by A's ids (every documented query parameter that takes an id,
    # and `filter[id]`), must not show A's objects
    for op in ops:
        if op.method != "get" or op.name in OWN_RECORD:
            continue
        params = filters_naming(op, a)
        if not params:
            continue
        tried += 1
        path = fill(op.path, path_values(op, [b] * len(op.placeholders)))
        r = b.who.request("get", path, params=params)
        if r.status_code >= 500:
            failures.append(f"{op.name} [B's list, A's ids as filters {sorted(params)}]: answered {r.status_code}")
        elif r.status_code == 200 and (found := leaks(r.json(), a)):
            failures.append(f"{op.name} [B's list, A's ids as filters {sorted(params)}]: lists A's ids {found}")
    # the token-capability routes: a guessed token is unknown (not an error of another kind); only
    # a person accepts, so a service account is refused before any token is looked up
    for method, path, status in (
        ("get", "/invitations/lk_inv_guessed0000000000", 404),
        ("post", "/invitations/x/accept", 403),
    ):
        r = b.who.request(method, path)
        if r.status_code != status:
            failures.append(f"{method.upper()} {path}: answered {r.status_code}, expected {status}")
    # the user-token routes: an organization's principal is no zone user
    for name in USER_TOKEN_ONLY:
        method, path = name.split(" ", 1)
        r = b.who.request(method.lower(), path)
        if r.status_code != 401:
            failures.append(f"{name}: answered {r.status_code} to a service account, expected 401")

    after = {"A": snapshot(ops, a), "B": snapshot(ops, b)}
    for who in ("A", "B"):
        for path, was in before[who].items():
            if after[who].get(path) != was:
                failures.append(
                    f"{who}'s GET {path} changed:\n      before {json.dumps(was)[:400]}\n"
                    f"      after  {json.dumps(after[who].get(path))[:400]}"
                )
    assert tried > 100, f"only {tried} requests tried"
    assert not failures, f"{len(failures)} of {tried} cross-organization requests went wrong:\n  " + "\n  ".join(
        failures
    )
