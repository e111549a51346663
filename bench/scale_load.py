"""Helpers of bench/scale_more.py (stdlib only): zones with a confidential client, wrk runs whose
requests go round-robin over many clients, concurrent management writes with RSS sampling, and
timed cold starts. Reuses bench.py's /proc readings and wrk output and scale.py's server."""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import secrets
import shutil
import socket
import statistics
import subprocess
import threading
import time

import bench as b
import scale
import scaleout

FORM = "application/x-www-form-urlencoded"
BODY = "grant_type=client_credentials&resource=https%3A%2F%2Fapi.bench"
WRITERS = int(os.environ.get("BENCH_MORE_WRITERS", "4"))


def make_zone(c: scale.Conn, name: str) -> dict:
    """An ES256 zone with resource https://api.bench, an application depending on it and a
    password credential (a confidential client): 4 management requests."""
    z = c.ok("POST", "/zones", {"name": name, "signing_alg": "ES256"})["id"]
    res = c.ok("POST", f"/zones/{z}/resources", {"identifier": b.RESOURCE, "name": "API"})
    app = c.ok("POST", f"/zones/{z}/applications", {"identifier": "bench-app", "name": "App",
                                                   "dependencies": [{"id": res["id"]}]})
    cred = c.ok("POST", f"/zones/{z}/application-credentials",
                {"application_id": app["id"], "type": "password"})
    return {"zone_id": z, "path": f"/z/{z}/oauth/2/token", "resource_id": res["id"],
            "auth": b.basic(cred["identifier"], cred["password"]),
            "client_id": cred["identifier"], "secret": cred["password"]}


def add_client(c: scale.Conn, zone: dict, name: str) -> dict:
    """Another confidential client in `zone` (as made by `make_zone`): an application depending
    on the zone's resource, and its password credential (2 management requests)."""
    z = zone["zone_id"]
    app = c.ok("POST", f"/zones/{z}/applications", {"identifier": name, "name": name,
                                                   "dependencies": [{"id": zone["resource_id"]}]})
    cred = c.ok("POST", f"/zones/{z}/application-credentials",
                {"application_id": app["id"], "type": "password"})
    return {**zone, "auth": b.basic(cred["identifier"], cred["password"]),
            "client_id": cred["identifier"], "secret": cred["password"]}


def warm(server: scale.Server, targets: list[dict]) -> None:
    """One token from every client (the first checked to be ES256), then a short wrk run."""
    base = f"http://127.0.0.1:{server.port}"
    t = targets[0]
    b.check_token(base + t["path"], t["client_id"], t["secret"], b.RESOURCE, "ES256")
    c = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    for t in targets:
        c.request("POST", t["path"], body=BODY, headers={"Content-Type": FORM, "Authorization": t["auth"]})
        r = c.getresponse()
        r.read()
        if r.status != 200:
            raise SystemExit(f"warm-up token for {t['zone_id']} -> {r.status}")
    script = lua(targets)
    try:
        subprocess.run(wrk_cmd(server.port, script, max(b.WARMUP, 2)), check=True, capture_output=True)
    finally:
        os.unlink(script)


def lua(targets: list[dict]) -> str:
    """A wrk script: each request is the next client's token request (round-robin, each thread
    starting elsewhere), and a JSON summary line at the end (the one bench.py parses)."""
    rows = ",\n".join(f"  {{{json.dumps(t['path'])}, {json.dumps(t['auth'])}}}" for t in targets)
    text = f"""local targets = {{
{rows}
}}
local n = #targets
local body = {json.dumps(BODY)}
local threads = 0
setup = function(thread) thread:set("offset", threads); threads = threads + 1 end
init = function(args) i = (offset * 7919) % n end
request = function()
  i = i % n + 1
  local t = targets[i]
  return wrk.format("POST", t[1], {{["Content-Type"] = "{FORM}", ["Authorization"] = t[2]}}, body)
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('WRKJSON {{"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,"non2xx":%d,"errors":%d}}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), e.status,
    e.connect + e.read + e.write + e.timeout))
end
"""
    path = os.path.join(b.OUT, f"scale-more-{os.getpid()}-{secrets.token_hex(4)}.lua")
    with open(path, "w") as f:  # holds client secrets of throw-away zones: removed after the run
        f.write(text)
    return path


def wrk_cmd(port: int, script: str, seconds: int) -> list[str]:
    threads = str(min(b.CONCURRENCY, os.cpu_count() or 1))
    return b.pinned([b.LOADGEN, "-t", threads, "-c", str(b.CONCURRENCY), "-d", f"{seconds}s",
                     "-s", script, f"http://127.0.0.1:{port}/"], "1")


def run(label: str, pid: int, port: int, targets: list[dict], postgres: bool = False) -> dict:
    """Warm-up, then one measured wrk run of DURATION s; the server's CPU per token (and the
    `postgres` processes' when asked), like bench.run_case."""
    script = lua(targets)
    try:
        if b.WARMUP > 0:
            subprocess.run(wrk_cmd(port, script, b.WARMUP), check=True, capture_output=True)
        cpu0, gen0, busy0 = b.cpu_seconds(pid), b.children_cpu_seconds(), b.machine_busy_seconds()
        pg0 = scaleout.postgres_cpu() if postgres else {}
        t0 = time.monotonic()
        p = subprocess.run(wrk_cmd(port, script, b.DURATION), capture_output=True, text=True)
        elapsed = time.monotonic() - t0
        cpu1, busy1 = b.cpu_seconds(pid), b.machine_busy_seconds()
        pg = scaleout.postgres_cpu_delta(pg0, scaleout.postgres_cpu()) if postgres else 0.0
        gen = b.children_cpu_seconds() - gen0
    finally:
        os.unlink(script)
    if p.returncode != 0:
        raise SystemExit(f"{label}: wrk failed: {p.stderr[:300]}")
    r = b.parse_loadgen(p.stdout)
    user, system = cpu1[0] - cpu0[0], cpu1[1] - cpu0[1]
    ok = r["ok"] or float("nan")
    r.update({
        "label": label, "generator": "wrk", "clients": len(targets), "rps": r["ok"] / r["wall"],
        "cpu_us_per_token": (user + system) * 1e6 / ok, "user_us_per_token": user * 1e6 / ok,
        "sys_us_per_token": system * 1e6 / ok, "postgres_us_per_token": pg * 1e6 / ok if postgres else None,
        "server_cores": (user + system) / elapsed, "loadgen_cores": gen / elapsed,
        "postgres_cores": pg / elapsed,
        "other_cores": max(0.0, (busy1 - busy0 - user - system - gen - pg) / elapsed),
        "rss_mib": b.status_kib(pid, "VmRSS") / 1024,
    })
    pg_s = f", postgres {r['postgres_us_per_token']:.1f} us" if postgres else ""
    b.log(f"{label}: {r['rps']:.0f}/s, {r['cpu_us_per_token']:.1f} us CPU/token{pg_s}, "
          f"p50 {r['p50_ms']:.2f} ms, non2xx {r['non2xx']}, errors {r['errors']}, "
          f"other {r['other_cores']:.2f} cores")
    if r["ok"] == 0 or r["non2xx"]:
        raise SystemExit(f"{label}: {r['non2xx']} non-2xx of {r['ok'] + r['non2xx']}")
    return r


def oha() -> str | None:
    """bench/.tools/bin/oha (as run.sh installs it) or oha on PATH."""
    path = os.path.join(b.BENCH, ".tools", "bin", "oha")
    return path if os.access(path, os.X_OK) else shutil.which("oha")


def run_static(label: str, gen: str, pid: int, url: str, method: str = "GET", body: str | None = None,
               headers: dict | None = None, postgres: bool = False) -> dict:
    """One request repeated (bench.run_case) with `gen` ("wrk" or "oha"), keyed like `run`."""
    kind, path = b.LOADGEN_KIND, b.LOADGEN
    b.LOADGEN_KIND, b.LOADGEN = gen, (oha() if gen == "oha" else shutil.which("wrk"))
    pg0 = scaleout.postgres_cpu() if postgres else {}
    try:
        r = b.run_case(label, "latchkey", pid, url, method, body, headers)
    finally:
        b.LOADGEN_KIND, b.LOADGEN = kind, path
    pg = scaleout.postgres_cpu_delta(pg0, scaleout.postgres_cpu()) if postgres else 0.0
    if r["non2xx"]:
        raise SystemExit(f"{label}: {r['non2xx']} non-2xx answers")
    out = {k: r[k] for k in ("ok", "non2xx", "errors", "wall", "p50_ms", "p99_ms", "rps", "server_cores",
                             "loadgen_cores", "other_cores")}
    out.update({"label": label, "generator": gen, "cpu_us_per_token": r["cpu_us_per_req"],
                "user_us_per_token": r["user_us_per_req"], "sys_us_per_token": r["sys_us_per_req"],
                # the warm-up is inside this window: an upper bound per measured token
                "postgres_us_per_token": pg * 1e6 / r["ok"] if postgres else None})
    return out


# ---------------------------------------------------------------- management writes


def random_id(chars: int = 26) -> str:
    """A random path segment; 26 characters is a zone id's length."""
    return secrets.token_hex((chars + 1) // 2)[:chars]


def call(c: http.client.HTTPConnection, method: str, path: str, body, auth: bool) -> int:
    """One request; a connection the server closed (it does after refusing a request whose body
    it did not read) is opened again, once."""
    headers = {"Content-Type": "application/json"}
    if auth:
        headers["Authorization"] = f"Bearer {scale.ADMIN_KEY}"
    for attempt in (1, 2):
        try:
            c.request(method, path, body=json.dumps(body).encode(), headers=headers)
            r = c.getresponse()
            r.read()
            if r.will_close:
                c.close()
            return r.status
        except (http.client.RemoteDisconnected, ConnectionError):
            c.close()
            if attempt == 2:
                raise
    return 0


def writes(server: scale.Server, label: str, n: int, fn, log) -> dict:
    """`n` writes from WRITERS keep-alive connections; fn(writer, i) -> (method, path, body, auth).
    RSS is sampled every 0.5 s; answers are counted by status."""
    pid = server.proc.pid
    statuses: dict[int, int] = {}
    lock = threading.Lock()
    samples: list[tuple[float, float]] = []
    done = threading.Event()
    t0 = time.monotonic()

    def sampler() -> None:
        while not done.wait(0.5):
            samples.append((time.monotonic() - t0, b.status_kib(pid, "VmRSS") / 1024))

    def worker(w: int) -> None:
        c = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
        mine: dict[int, int] = {}
        for i in range(w, n, WRITERS):
            st = call(c, *fn(w, i))
            mine[st] = mine.get(st, 0) + 1
        with lock:
            for k, v in mine.items():
                statuses[k] = statuses.get(k, 0) + v

    cpu0 = sum(b.cpu_seconds(pid))
    threads = [threading.Thread(target=worker, args=(w,)) for w in range(WRITERS)]
    threading.Thread(target=sampler, daemon=True).start()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    done.set()
    wall = time.monotonic() - t0
    cpu = sum(b.cpu_seconds(pid)) - cpu0
    r = {"label": label, "n": n, "seconds": wall, "per_s": n / wall if wall else 0.0,
         "cpu_us_per_write": cpu * 1e6 / n if n else 0.0,
         "statuses": {str(k): v for k, v in sorted(statuses.items())},
         "rss_samples": samples[:: max(1, len(samples) // 60)]}
    log(f"{label}: {n} in {wall:.1f} s ({r['per_s']:.0f}/s), statuses {r['statuses']}")
    return r


# ---------------------------------------------------------------- cold start


def first_200(port: int, path: str, deadline: float, proc: subprocess.Popen) -> float | None:
    """Polls `path` (a fresh connection per try, 1 ms apart) until 200; the monotonic time then."""
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"latchkey exited with {proc.returncode} during start-up")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
                s.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode())
                head = s.recv(64)
            if head.startswith(b"HTTP/1.1 200"):
                return time.monotonic()
        except OSError:
            pass
        time.sleep(0.001)
    return None


def cold_start(server: scale.Server) -> tuple[float, float]:
    """exec -> first /healthz 200 and -> first /readyz 200, in ms; the server is left running."""
    cmd = [server.binary, "serve", "--listen", f"127.0.0.1:{server.port}", "--data-dir", server.data]
    if server.db_url:
        cmd += ["--database-url", server.db_url]
    env = dict(os.environ, LATCHKEY_BOOTSTRAP_API_KEY=scale.ADMIN_KEY)
    logf = open(os.path.join(b.OUT, f"scale-more-{server.backend}.log"), "a")
    t0 = time.monotonic()
    server.proc = subprocess.Popen(cmd, env=env, stdout=logf, stderr=subprocess.STDOUT)
    logf.close()
    h = first_200(server.port, "/healthz", t0 + 120, server.proc)
    r = first_200(server.port, "/readyz", t0 + 120, server.proc)
    if h is None or r is None:
        raise SystemExit("latchkey not healthy within 120 s")
    return (h - t0) * 1e3, (r - t0) * 1e3


def cold_starts(server: scale.Server, n: int, log) -> dict:
    """`n` starts of the stopped server, each stopped (SIGTERM) before the next; the OS page
    cache stays warm between them (the database files were just written or read)."""
    healthz, readyz = [], []
    for _ in range(n):
        h, r = cold_start(server)
        healthz.append(h)
        readyz.append(r)
        time.sleep(0.5)
        server.stop()
    out = {"n": n, "healthz_ms": healthz, "readyz_ms": readyz,
           "healthz_ms_median": statistics.median(healthz), "healthz_ms_max": max(healthz),
           "readyz_ms_median": statistics.median(readyz), "readyz_ms_max": max(readyz)}
    log(f"cold start x{n}: /healthz median {out['healthz_ms_median']:.0f} ms (max "
        f"{out['healthz_ms_max']:.0f}), /readyz median {out['readyz_ms_median']:.0f} ms")
    return out


def binary_info(path: str) -> dict:
    with open(path, "rb") as f:
        raw = f.read()
    # the last commit that changed the Rust sources of this checkout (the binary is built from them)
    git = subprocess.run(["git", "-C", scale.ROOT, "log", "-1", "--format=%h", "--", "crates", "Cargo.toml",
                          "Cargo.lock"], capture_output=True, text=True).stdout.strip()
    return {"path": path, "sha256": hashlib.sha256(raw).hexdigest()[:12],
            "build": "debug" if ".debug_line" in scaleout.elf_sections(raw) else "release",
            "source": git}


def memory_map(pid: int) -> dict:
    """A process's resident memory by kind (kB, from /proc/PID/smaps_rollup): how much of it
    huge pages back, for telling apart processes of one binary that cost differently."""
    out = {}
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            key, _, rest = line.partition(":")
            if key in ("Rss", "Anonymous", "AnonHugePages", "Private_Dirty", "Shared_Clean"):
                out[key] = int(rest.split()[0])
    return out


def allocator_settings(pid: int) -> dict:
    """The allocator variables (`MIMALLOC_*`, `GLIBC_TUNABLES`) a serving process runs with:
    `latchkey serve` adds its huge-page settings when they are unset (docs/operations.md)."""
    with open(f"/proc/{pid}/environ", "rb") as f:
        pairs = (item.decode(errors="replace").partition("=") for item in f.read().split(b"\0"))
        return {k: v for k, _, v in pairs if k.startswith("MIMALLOC_") or k == "GLIBC_TUNABLES"}

