#!/usr/bin/env python3
"""Scale benchmark (issue 13), stdlib only: lists, creates and zone creation with a large zone.

    python3 bench/scale.py [--bin target/release/latchkey] [--backend sqlite|postgres] [--label NAME]

For one back end it starts the release server on loopback, creates an ES256 zone with one
application through the management API, then measures:
  * application create (sequential) with the zone nearly empty,
  * stops the server, seeds BENCH_SCALE_ROWS (100,000) applications straight into the database
    with one INSERT … SELECT (copies of the template application, distinct id / identifier /
    name / slug / created_at), starts the server again,
  * list cases on that zone: first page, a deep page (a cursor at row ~99 %), expand[]=total_count,
    query[] substring, sort=name; each BENCH_SCALE_REQUESTS sequential requests on one keep-alive
    connection, p50/p99 and server CPU per request,
  * application create again with the zone full (sequential, and BENCH_SCALE_WRITERS concurrent
    clients for creates/s),
  * RS256 zone create (sequential, a pause between, so the key pool refills between requests).
Results go to bench/.out/scale-<label>-<backend>.json; bench/scale_report.py writes the report
section. Every request goes to 127.0.0.1; every process and database made here is removed here.
Not part of any test suite.
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

BENCH = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(BENCH)
OUT = os.path.join(BENCH, ".out")
ROWS = int(os.environ.get("BENCH_SCALE_ROWS", "100000"))
REQUESTS = int(os.environ.get("BENCH_SCALE_REQUESTS", "200"))
CREATES = int(os.environ.get("BENCH_SCALE_CREATES", "100"))
WRITERS = int(os.environ.get("BENCH_SCALE_WRITERS", "8"))
ZONES = int(os.environ.get("BENCH_SCALE_ZONES", "6"))
PG_ADMIN = os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432/postgres")
ADMIN_KEY = "lk_bench_admin_key_0123456789"
TICK = os.sysconf("SC_CLK_TCK")


def log(msg: str) -> None:
    print(f"[scale] {msg}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


class Conn:
    """One keep-alive connection to the server."""

    def __init__(self, port: int):
        self.c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def call(self, method: str, path: str, body=None) -> tuple[int, object]:
        headers = {"Authorization": f"Bearer {ADMIN_KEY}"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        self.c.request(method, path, body=data, headers=headers)
        r = self.c.getresponse()
        raw = r.read()
        return r.status, (json.loads(raw) if raw else None)

    def ok(self, method: str, path: str, body=None):
        status, j = self.call(method, path, body)
        if status not in (200, 201):
            raise SystemExit(f"{method} {path} -> {status}: {j}")
        return j


class Server:
    def __init__(self, binary: str, backend: str, tmp: str):
        self.binary, self.backend, self.tmp = binary, backend, tmp
        self.data = os.path.join(tmp, "data")
        os.makedirs(self.data, exist_ok=True)
        self.port = free_port()
        self.proc = None
        self.db_url = None
        if backend == "postgres":
            self.dbname = f"latchkey_scale_{os.getpid()}"
            psql(PG_ADMIN, f"DROP DATABASE IF EXISTS {self.dbname}")
            psql(PG_ADMIN, f"CREATE DATABASE {self.dbname}")
            self.db_url = PG_ADMIN.rsplit("/", 1)[0] + "/" + self.dbname

    def start(self) -> None:
        cmd = [self.binary, "serve", "--listen", f"127.0.0.1:{self.port}", "--data-dir", self.data]
        if os.environ.get("BENCH_PIN") == "1":  # as bench.pinned: the server on core 0, load on 1
            cmd = ["taskset", "-c", "0", *cmd]
        if self.db_url:
            cmd += ["--database-url", self.db_url]
        env = dict(os.environ, LATCHKEY_BOOTSTRAP_API_KEY=ADMIN_KEY)
        logf = open(os.path.join(OUT, f"scale-{self.backend}.log"), "a")
        self.proc = subprocess.Popen(cmd, env=env, stdout=logf, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"latchkey exited with {self.proc.returncode}")
            try:
                c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                c.request("GET", "/healthz")
                if c.getresponse().status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise SystemExit("latchkey not ready")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def sql(self, text: str) -> str:
        if self.backend == "postgres":
            return psql(self.db_url, text)
        dbs = [f for f in os.listdir(self.data) if f.endswith((".db", ".sqlite", ".sqlite3"))]
        if not dbs:
            raise SystemExit(f"no SQLite database in {self.data}: {os.listdir(self.data)}")
        p = subprocess.run(["sqlite3", os.path.join(self.data, dbs[0])], input=text,
                           capture_output=True, text=True)
        if p.returncode != 0:
            raise SystemExit(f"sqlite3: {p.stderr}")
        return p.stdout

    def drop(self) -> None:
        if self.backend == "postgres":
            psql(PG_ADMIN, f"DROP DATABASE IF EXISTS {self.dbname}")


def psql(url: str, text: str) -> str:
    p = subprocess.run(["psql", url, "-v", "ON_ERROR_STOP=1", "-qtA", "-c", text],
                       capture_output=True, text=True)
    if p.returncode != 0:
        raise SystemExit(f"psql: {p.stderr}")
    return p.stdout


COLS = ("zone_id, id, organization_id, identifier, name, slug, owner_type, consent, description, "
        "metadata, redirect_uris, post_logout_redirect_uris, traits, created_at, updated_at")


def seed(server: Server, zone: str, template: str, rows: int, base_ms: int) -> None:
    """`rows` copies of the template application, one statement."""
    if server.backend == "postgres":
        pad = "lpad(n::text, 7, '0')"
        series = f"generate_series(1, {rows}) AS s(n)"
        prefix = ""
    else:
        pad = "printf('%07d', n)"
        series = "c"
        prefix = f"WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < {rows}) "
    select = (f"SELECT t.zone_id, 'seed' || {pad} || 'xxxxxxxxxxxxxxx', t.organization_id, "
              f"'https://seed.bench/' || {pad}, 'Seed App ' || {pad}, 'seed-app-' || {pad}, "
              f"t.owner_type, t.consent, t.description, t.metadata, t.redirect_uris, "
              f"t.post_logout_redirect_uris, t.traits, {base_ms} + n, {base_ms} + n "
              f"FROM {series}, applications t WHERE t.zone_id = '{zone}' AND t.id = '{template}'")
    text = f"{prefix}INSERT INTO applications ({COLS}) {select}"
    if server.backend == "postgres":
        server.sql(text)
        server.sql("VACUUM ANALYZE applications")
    else:
        server.sql(f"BEGIN; {text}; COMMIT; ANALYZE;")


def fnv(text: str) -> str:
    h = 0xCBF29CE484222325
    for b in text.encode():
        h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return f"{h:016x}"


def cursor(sig: str, keys: list, id_: str) -> str:
    body = json.dumps([sig, keys, id_], separators=(",", ":"))
    full = json.dumps([sig, keys, id_, fnv(body)], separators=(",", ":"))
    return base64.urlsafe_b64encode(full.encode()).decode().rstrip("=")


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def timed(server: Server, name: str, n: int, fn) -> dict:
    """`n` sequential calls of fn(i); latency percentiles and server CPU per call."""
    lat = []
    cpu0 = cpu_seconds(server.proc.pid)
    for i in range(n):
        t0 = time.perf_counter()
        fn(i)
        lat.append((time.perf_counter() - t0) * 1e3)
    cpu = cpu_seconds(server.proc.pid) - cpu0
    r = {"name": name, "n": n, "p50_ms": statistics.median(lat), "p99_ms": pct(lat, 99),
         "cpu_us_per_req": cpu * 1e6 / n}
    log(f"{name}: p50 {r['p50_ms']:.2f} ms, p99 {r['p99_ms']:.2f} ms, "
        f"CPU {r['cpu_us_per_req']:.0f} us/req ({n} requests)")
    return r


def create_apps(server: Server, zone: str, tag: str, n: int) -> dict:
    c = Conn(server.port)
    return timed(server, f"create-{tag}", n, lambda i: c.ok(
        "POST", f"/zones/{zone}/applications",
        {"identifier": f"https://{tag}.bench/{i}", "name": f"Bench {tag} {i}"}))


def concurrent_creates(server: Server, zone: str, n_each: int) -> dict:
    errors = []

    def worker(w: int) -> None:
        c = Conn(server.port)
        for i in range(n_each):
            st, j = c.call("POST", f"/zones/{zone}/applications",
                           {"identifier": f"https://conc.bench/{w}/{i}", "name": f"Conc {w} {i}"})
            if st != 201 and st != 200:
                errors.append(st)

    cpu0 = cpu_seconds(server.proc.pid)
    t0 = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(w,)) for w in range(WRITERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    total = WRITERS * n_each
    r = {"name": "create-concurrent", "writers": WRITERS, "n": total, "per_s": total / wall,
         "cpu_us_per_req": (cpu_seconds(server.proc.pid) - cpu0) * 1e6 / total,
         "errors": len(errors)}
    log(f"concurrent creates: {r['per_s']:.0f}/s with {WRITERS} writers, errors {len(errors)}")
    return r


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(ROOT, "target", "release", "latchkey"))
    ap.add_argument("--backend", default="sqlite", choices=["sqlite", "postgres"])
    ap.add_argument("--label", default="after")
    a = ap.parse_args()
    os.makedirs(OUT, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="latchkey-scale-")
    server = Server(a.bin, a.backend, tmp)
    res: dict = {"backend": a.backend, "label": a.label, "rows": ROWS, "cases": []}
    try:
        server.start()
        c = Conn(server.port)
        zone = c.ok("POST", "/zones", {"name": "scale", "signing_alg": "ES256"})["id"]
        template = c.ok("POST", f"/zones/{zone}/applications",
                        {"identifier": "https://template.bench", "name": "Template"})["id"]
        res["cases"].append(create_apps(server, zone, "empty", CREATES))
        server.stop()
        t0 = time.monotonic()
        seed(server, zone, template, ROWS, int(time.time() * 1000) - 10 * ROWS)
        res["seed_seconds"] = time.monotonic() - t0
        log(f"seeded {ROWS} applications in {res['seed_seconds']:.1f} s")
        server.start()
        c = Conn(server.port)
        path = f"/zones/{zone}/applications"
        first = c.ok("GET", f"{path}?limit=20")
        c.ok("GET", f"{path}?limit=20")  # warm
        # The deep page: a cursor at the seeded row ~99 % of the way (the seeded rows are in
        # creation order; their created_at and id follow from the seed).
        deep_row = max(1, int(ROWS * 0.99))
        row = server.sql(f"SELECT created_at, id FROM applications WHERE zone_id = '{zone}' "
                         f"AND id = 'seed{deep_row:07d}xxxxxxxxxxxxxxx'").strip().split("|")
        deep = cursor("created_at", [int(row[0])], row[1])
        got = c.ok("GET", f"{path}?limit=20&after={deep}")
        if not got["items"]:
            raise SystemExit(f"deep page is empty: {got}")
        res["first_page_items"] = len(first["items"])
        cases = [
            ("list-first-page", f"{path}?limit=20"),
            ("list-deep-page", f"{path}?limit=20&after={deep}"),
            ("list-total-count", f"{path}?limit=20&expand[]=total_count"),
            ("list-query-rare", f"{path}?limit=20&query[]=app%200098765"),
            ("list-query-common", f"{path}?limit=20&query[]=seed"),
            ("list-sort-name", f"{path}?limit=20&sort=name"),
            ("list-sort-name-desc", f"{path}?limit=20&sort=-name"),
            ("list-100-rows", f"{path}?limit=100"),
        ]
        for name, url in cases:
            c.ok("GET", url)
            res["cases"].append(timed(server, name, REQUESTS, lambda i, u=url: c.ok("GET", u)))
        res["cases"].append(create_apps(server, zone, "full", CREATES))
        res["cases"].append(concurrent_creates(server, zone, max(1, CREATES // WRITERS)))

        def zone_create(i: int) -> None:
            c.ok("POST", "/zones", {"name": f"rs-{i}"})

        lat, cpu = [], []
        for i in range(ZONES):
            time.sleep(1.5)
            cpu0 = cpu_seconds(server.proc.pid)
            t0 = time.perf_counter()
            zone_create(i)
            lat.append((time.perf_counter() - t0) * 1e3)
            cpu.append(cpu_seconds(server.proc.pid) - cpu0)
        time.sleep(1.5)
        r = {"name": "zone-create-rs256", "n": ZONES, "p50_ms": statistics.median(lat),
             "max_ms": max(lat), "cpu_ms_in_request_window": statistics.median(cpu) * 1e3}
        log(f"RS256 zone create: p50 {r['p50_ms']:.1f} ms, max {r['max_ms']:.1f} ms")
        res["cases"].append(r)
    finally:
        server.stop()
        server.drop()
        shutil.rmtree(tmp, ignore_errors=True)
    out = os.path.join(OUT, f"scale-{a.label}-{a.backend}.json")
    with open(out, "w") as f:
        json.dump(res, f, indent=2)
    log(f"wrote {out}")


if __name__ == "__main__":
    import signal

    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda *_: sys.exit(143))
    main()
