"""Crash safety: `kill -9` in the middle of concurrent writes loses nothing acknowledged and leaves
nothing half-written, on SQLite and on PostgreSQL.

A server of its own takes writes from WORKERS threads at once (organizations, which come with
their platform zone; zones, some with their default MCP gateway application; applications with
dependencies; password credentials; secrets, created and then given new values; service-account
credentials). Every 2xx that reaches a client is written
down. The server is killed with SIGKILL while requests are in flight, restarted on the same
database, and then:

* every acknowledged object is there with what the client was told (a secret's value is the last
  acknowledged one, or the one whose update was in flight at the kill);
* every object that exists, acknowledged or not, is whole: applications carry every dependency
  they were created with, credentials point at applications that exist, secrets can be read and
  hold a value that was sent, zones have signing keys, a working discovery document and, when it
  was asked for, their gateway application; service-account credentials still log in;
* every list the zones have answers 200 and pages to its end, and names only objects the test
  tried to make.
"""

from __future__ import annotations

import itertools
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Optional

import httpx
import pytest

import lk

from ._systematic import Principal, service_account_token

WORKERS = 6
LOAD_SECONDS = 3.0


@dataclass
class Ledger:
    """What the clients were told (acked), and what they tried (intended), by object."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    acked: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> {kind, ...}
    intended: dict[str, dict[str, Any]] = field(default_factory=dict)  # name -> {kind, ...}
    secret_values: dict[str, list[dict]] = field(default_factory=dict)  # secret id -> every value sent
    pending_value: dict[str, dict] = field(default_factory=dict)  # secret id -> value in flight
    sa_credentials: list[tuple[str, str]] = field(default_factory=list)  # acked (client_id, secret)
    errors: list[str] = field(default_factory=list)  # answers other than 2xx before the kill
    cut_off: int = 0  # requests that got no answer (in flight at the kill)

    def intend(self, name: str, **what: Any) -> None:
        with self.lock:
            self.intended[name] = what

    def ack(self, obj_id: str, **what: Any) -> None:
        with self.lock:
            self.acked[obj_id] = what


class Worker(threading.Thread):
    def __init__(self, n: int, srv: lk.LatchkeyServer, zone_id: str, dep_ids: list[str], org_id: str,
                 sa_id: str, ledger: Ledger, stop: threading.Event) -> None:  # fmt: skip
        super().__init__(daemon=True)
        self.n, self.zone_id, self.dep_ids, self.org_id, self.sa_id = n, zone_id, dep_ids, org_id, sa_id
        self.ledger, self.stop = ledger, stop
        self.http = httpx.Client(
            base_url=srv.base_url, timeout=10, headers={"Authorization": f"Bearer {srv.bootstrap_key}"}
        )
        self.apps: list[str] = []
        self.secrets: list[str] = []

    def run(self) -> None:
        steps = [self.app, self.secret, self.credential, self.update_secret, self.app, self.sa_credential, self.zone,
                 self.organization]  # fmt: skip
        try:
            for i in itertools.count():
                if self.stop.is_set():
                    return
                try:
                    steps[(i + self.n) % len(steps)]()
                except httpx.HTTPError:
                    with self.ledger.lock:
                        self.ledger.cut_off += 1
                    if not self.stop.is_set():
                        time.sleep(0.01)  # the server is going down (or gone); keep trying until told
        finally:
            self.http.close()

    def post(self, path: str, body: dict, method: str = "POST") -> Optional[dict]:
        r = self.http.request(method, path, json=body)
        if 200 <= r.status_code < 300:
            return r.json()
        if not self.stop.is_set():
            with self.ledger.lock:
                self.ledger.errors.append(f"{method} {path} -> {r.status_code} {r.text[:200]}")
        return None

    def app(self) -> None:
        name = lk.unique(f"crash app w{self.n}")
        deps = self.dep_ids[: 1 + len(self.apps) % len(self.dep_ids)]
        self.ledger.intend(name, kind="app", zone=self.zone_id, deps=sorted(deps))
        got = self.post(
            f"/zones/{self.zone_id}/applications",
            {"name": name, "identifier": lk.unique_url("crash"), "dependencies": [{"id": d} for d in deps]},
        )
        if got:
            self.apps.append(got["id"])
            self.ledger.ack(got["id"], kind="app", zone=self.zone_id, view=got, deps=sorted(deps))

    def credential(self) -> None:
        if not self.apps:
            return
        app_id = self.apps[-1]
        got = self.post(f"/zones/{self.zone_id}/application-credentials", {"application_id": app_id, "type": "password"})
        if got:
            assert got.get("password"), got
            self.ledger.ack(got["id"], kind="credential", zone=self.zone_id, view=got)

    def secret(self) -> None:
        name = lk.unique(f"crash secret w{self.n}")
        value = {"type": "token", "token": "tok-" + uuid.uuid4().hex}
        self.ledger.intend(name, kind="secret", zone=self.zone_id, value=value)
        got = self.post(f"/zones/{self.zone_id}/secrets", {"name": name, "entity_id": f"e{self.n}", "data": value})
        if got:
            self.secrets.append(got["id"])
            with self.ledger.lock:
                self.ledger.secret_values[got["id"]] = [value]
            self.ledger.ack(got["id"], kind="secret", zone=self.zone_id, view=got, value=value)

    def update_secret(self) -> None:
        if not self.secrets:
            return
        sid = self.secrets[len(self.secrets) // 2]
        value = {"type": "token", "token": "new-" + uuid.uuid4().hex}  # (a secret keeps its type)
        with self.ledger.lock:
            self.ledger.secret_values[sid].append(value)
            self.ledger.pending_value[sid] = value
        got = self.post(f"/zones/{self.zone_id}/secrets/{sid}", {"data": value}, method="PATCH")
        if got:
            with self.ledger.lock:
                self.ledger.pending_value.pop(sid, None)
            self.ledger.ack(sid, kind="secret", zone=self.zone_id, view=got, value=value)

    def sa_credential(self) -> None:
        got = self.post(
            f"/organizations/{self.org_id}/service-accounts/{self.sa_id}/credentials", {"name": lk.unique("crash")}
        )
        if got:
            with self.ledger.lock:
                self.ledger.sa_credentials.append((got["client_id"], got["client_secret"]))

    def organization(self) -> None:
        name = lk.unique(f"crash org w{self.n}")
        self.ledger.intend(name, kind="org")
        got = self.post("/organizations", {"name": name})
        if got:
            self.ledger.ack(got["id"], kind="org", view=got)

    def zone(self) -> None:
        name = lk.unique(f"crash zone w{self.n}")
        gateway = self.n % 2 == 0
        self.ledger.intend(name, kind="zone", gateway=gateway)
        got = self.post("/zones", {"name": name, "organization_id": self.org_id, "default_mcp_gateway_application": gateway})
        if got:
            self.ledger.ack(got["id"], kind="zone", view=got, gateway=gateway)


# --------------------------------------------------------------------------------------------
# After the restart
# --------------------------------------------------------------------------------------------


def page_all(who: Principal, path: str, problems: list[str], **query: str) -> list[dict]:
    """Every item of a list (either envelope, or a bare array), or a problem noted."""
    items: list[dict] = []
    params: dict[str, Any] = {"limit": 100, **query}
    for _ in range(100):
        r = who.request("get", path, params=params)
        if r.status_code != 200:
            problems.append(f"GET {path} -> {r.status_code} {r.text[:200]}")
            return items
        body = r.json()
        if isinstance(body, list):
            return body
        items += body["items"]
        after = (body.get("pagination") or {}).get("after_cursor") or (
            (body.get("page_info") or {}).get("end_cursor") if (body.get("page_info") or {}).get("has_next_page") else None
        )
        if not after:
            return items
        params["after"] = after
    problems.append(f"GET {path} did not end")
    return items


def lk_organizations(who: Principal, problems: list[str]) -> list[dict]:
    """Every organization (family-A pages: `page_info.end_cursor`)."""
    return page_all(who, "/organizations", problems)


def check_zone(who: Principal, zone: dict, ledger: Ledger, problems: list[str]) -> None:
    zid = zone["id"]
    intended = ledger.intended.get(zone["name"], {})
    keys = who.request("get", f"/zones/{zid}/signing-keys")
    if keys.status_code != 200 or not keys.json().get("keys", keys.json().get("items")):
        problems.append(f"zone {zid}: signing keys -> {keys.status_code} {keys.text[:200]}")
    disc = httpx.get(zone["protocols"]["oauth2"]["issuer"] + "/.well-known/openid-configuration", timeout=10)
    if disc.status_code != 200:
        problems.append(f"zone {zid}: discovery -> {disc.status_code}")
    else:
        jwks = httpx.get(disc.json()["jwks_uri"], timeout=10)
        if jwks.status_code != 200 or not jwks.json().get("keys"):
            problems.append(f"zone {zid}: JWKS -> {jwks.status_code} {jwks.text[:200]}")
    if intended.get("gateway"):
        gw = zone.get("default_mcp_gateway_application_id")
        if not gw or who.request("get", f"/zones/{zid}/applications/{gw}").status_code != 200:
            problems.append(f"zone {zid} ({zone['name']}) was created with its MCP gateway application, has {gw!r}")

    apps = {a["id"]: a for a in page_all(who, f"/zones/{zid}/applications", problems)}
    for app in apps.values():
        want = ledger.intended.get(app["name"])
        if want is None and app.get("owner_type") == "customer" and not app["name"].startswith("MCP Gateway"):
            problems.append(f"zone {zid}: application {app['id']} ({app['name']!r}) was never created by the test")
        deps = page_all(who, f"/zones/{zid}/applications/{app['id']}/dependencies", problems)
        if want and sorted(d["id"] for d in deps) != want["deps"]:
            problems.append(f"application {app['id']}: dependencies {sorted(d['id'] for d in deps)}, created with {want['deps']}")
    for cred in page_all(who, f"/zones/{zid}/application-credentials", problems):
        if cred["application_id"] not in apps:
            problems.append(f"credential {cred['id']} points at application {cred['application_id']}, which is not listed")
    for path in ("resources", "providers"):
        page_all(who, f"/zones/{zid}/{path}", problems)
    for s in page_all(who, f"/zones/{zid}/secrets", problems):
        r = who.request("get", f"/zones/{zid}/secrets/{s['id']}")
        if r.status_code != 200:
            problems.append(f"secret {s['id']}: listed, but GET -> {r.status_code} {r.text[:200]}")
            continue
        sent = ledger.secret_values.get(s["id"]) or [ledger.intended.get(s["name"], {}).get("value")]
        if r.json().get("data") not in sent:
            problems.append(f"secret {s['id']}: holds {r.json().get('data')}, which was never sent")


def check_acknowledged(who: Principal, base_url: str, ledger: Ledger, problems: list[str]) -> int:
    checked = 0
    for obj_id, what in ledger.acked.items():
        checked += 1
        kind, view = what["kind"], what["view"]
        path = {
            "org": f"/organizations/{obj_id}",
            "zone": f"/zones/{obj_id}",
            "app": f"/zones/{what.get('zone')}/applications/{obj_id}",
            "credential": f"/zones/{what.get('zone')}/application-credentials/{obj_id}",
            "secret": f"/zones/{what.get('zone')}/secrets/{obj_id}",
        }[kind]
        r = who.request("get", path)
        if r.status_code != 200:
            problems.append(f"acknowledged {kind} {obj_id} is gone: GET {path} -> {r.status_code}")
            continue
        now = r.json()
        for key in ("name", "identifier", "application_id", "type", "organization_id", "label", "zone_id"):
            if key in view and now.get(key) != view[key]:
                problems.append(f"acknowledged {kind} {obj_id}: {key} is {now.get(key)!r}, was told {view[key]!r}")
        if kind == "secret":
            allowed = [what["value"]] + ([ledger.pending_value[obj_id]] if obj_id in ledger.pending_value else [])
            if now.get("data") not in allowed:
                problems.append(f"acknowledged secret {obj_id}: data {now.get('data')}, expected one of {allowed}")
            if now.get("data") == what["value"] and now.get("version") != view.get("version"):
                problems.append(f"acknowledged secret {obj_id}: version {now.get('version')}, was told {view.get('version')}")
    for client_id, secret in ledger.sa_credentials:
        checked += 1
        try:
            service_account_token(base_url, client_id, secret)
        except AssertionError as e:
            problems.append(f"acknowledged service-account credential {client_id} no longer logs in: {e}")
    return checked


@pytest.mark.lifecycle
def test_kill_9_mid_write_keeps_what_was_acknowledged(backend, make_server):
    srv = make_server(backend)
    admin = Principal(srv.base_url, srv.bootstrap_key, "admin")
    try:
        org = admin.ok("post", "/organizations", {"name": lk.unique("crash org")})
        sa = admin.ok("post", f"/organizations/{org['id']}/service-accounts", {"name": lk.unique("crash sa")})
        zones, deps = [], []
        for n in range(WORKERS):
            z = admin.ok("post", "/zones", {"name": lk.unique(f"crash home w{n}"), "organization_id": org["id"]})
            zones.append(z["id"])
            deps.append([
                admin.ok("post", f"/zones/{z['id']}/resources", {"name": lk.unique("dep"), "identifier": lk.unique_url("dep")})["id"]
                for _ in range(3)
            ])  # fmt: skip
    finally:
        admin.close()

    ledger, stop = Ledger(), threading.Event()
    workers = [Worker(n, srv, zones[n], deps[n], org["id"], sa["id"], ledger, stop) for n in range(WORKERS)]
    for w in workers:
        w.start()
    time.sleep(LOAD_SECONDS)
    srv.kill()  # SIGKILL, with requests in flight
    stop.set()
    for w in workers:
        w.join(timeout=30)
    assert not ledger.errors, "writes refused before the kill:\n  " + "\n  ".join(ledger.errors[:20])
    assert len(ledger.acked) >= 20, f"only {len(ledger.acked)} writes acknowledged before the kill"
    assert ledger.cut_off >= 1, "the kill caught no request in flight"
    print(f"{backend}: {len(ledger.acked)} writes acknowledged, {ledger.cut_off} cut off by the kill")

    srv.start()  # same port, database and data dir
    who = Principal(srv.base_url, srv.bootstrap_key, "admin")
    problems: list[str] = []
    try:
        checked = check_acknowledged(who, srv.base_url, ledger, problems)
        ours = page_all(who, "/zones", problems, **{"filter[organization_id]": org["id"]})
        missing = set(zones) - {z["id"] for z in ours}
        if missing:
            problems.append(f"GET /zones does not list the test's zones {sorted(missing)}")
        for z in ours:
            if z["id"] not in zones and z["name"] not in ledger.intended and z["owner_type"] != "platform":
                problems.append(f"zone {z['id']} ({z['name']!r}) was never created by the test")
            check_zone(who, z, ledger, problems)
        for o in lk_organizations(who, problems):
            if ledger.intended.get(o["name"], {}).get("kind") == "org":
                # an organization comes with its platform zone (one transaction)
                z = who.request("get", f"/zones/{o.get('zone_id')}")
                if z.status_code != 200 or z.json().get("owner_type") != "platform":
                    problems.append(f"organization {o['id']}: platform zone {o.get('zone_id')} -> {z.status_code}")
    finally:
        who.close()
    assert not problems, f"after kill -9 ({checked} acknowledged writes checked):\n  " + "\n  ".join(problems[:40])
    assert srv.stop(timeout=10) == 0, srv.log_tail()
