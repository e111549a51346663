#!/usr/bin/env python3
"""Scale-out figure (issue 13): client_credentials tokens/s (ES256 zone) of one, two and three
Latchkey instances on one PostgreSQL database, side by side on this machine, the load split evenly
across the instances (one load-generator process per instance, started together).

  python3 bench/scaleout.py          # run.sh runs it after bench.py

Reuses bench.py's load-generator command lines and /proc readings (oha or wrk, whichever run.sh
found; here: bench/.tools/bin/oha, else oha or wrk on PATH). Prints a markdown table and writes it
into bench/REPORT.md under "## Scale-out (issue 13)" (replacing that section, keeping the rest);
raw numbers go to bench/.out/scaleout.json.

Environment: BENCH_BIN (the binary; default target/release/latchkey as built by run.sh),
BENCH_PG_ADMIN_URL (default postgres://postgres@127.0.0.1:5432/postgres; a throw-away database is
created and dropped with psql), BENCH_DURATION (s per measurement, 15), BENCH_WARMUP (s, 2),
BENCH_CONCURRENCY (total connections, split across the instances, 16), BENCH_SCALEOUT_ROUNDS
(rounds of 1, 2, 3 instances, interleaved; 2). Every process started here is stopped here.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def _pick_loadgen() -> None:
    if os.environ.get("BENCH_LOADGEN"):
        return
    oha = os.path.join(HERE, ".tools", "bin", "oha")
    if os.access(oha, os.X_OK) or shutil.which("oha"):
        os.environ.update(BENCH_LOADGEN=oha if os.access(oha, os.X_OK) else shutil.which("oha"), BENCH_LOADGEN_KIND="oha")
    elif shutil.which("wrk"):
        os.environ.update(BENCH_LOADGEN=shutil.which("wrk"), BENCH_LOADGEN_KIND="wrk")
    else:
        sys.exit("scaleout.py: neither oha nor wrk found (bench/run.sh installs one)")


_pick_loadgen()
import bench as b  # noqa: E402  (reads BENCH_LOADGEN at import)

BIN = os.environ.get("BENCH_BIN", b.LATCHKEY_BIN)
PG_ADMIN_URL = os.environ.get("BENCH_PG_ADMIN_URL", "postgres://postgres@127.0.0.1:5432/postgres")
ROUNDS = int(os.environ.get("BENCH_SCALEOUT_ROUNDS", "2"))
TOTAL_CONNECTIONS = b.CONCURRENCY
MAX_INSTANCES = 3
SECTION = "## Scale-out (issue 13)"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
BODY = "grant_type=client_credentials&resource=https%3A%2F%2Fapi.bench"


def psql(sql: str) -> None:
    subprocess.run(["psql", PG_ADMIN_URL, "-v", "ON_ERROR_STOP=1", "-qc", sql], check=True, capture_output=True)


def postgres_cpu() -> dict[int, float]:
    """utime+stime (s) of every `postgres` process (server, backends, background workers)."""
    out: dict[int, float] = {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/comm") as f:
                if f.read().strip() != "postgres":
                    continue
            u, s = b.cpu_seconds(int(pid))
            out[int(pid)] = u + s
        except (OSError, ValueError, IndexError):
            continue
    return out


def postgres_cpu_delta(before: dict[int, float], after: dict[int, float]) -> float:
    return sum(v - before.get(pid, 0.0) for pid, v in after.items())


def start_instances(tmp: str, url: str) -> list[tuple[subprocess.Popen, str]]:
    """MAX_INSTANCES instances on `url`: one master key, one bootstrap key, A's URL as public URL."""
    master = base64.urlsafe_b64encode(os.urandom(32)).rstrip(b"=").decode()
    ports = [b.free_port() for _ in range(MAX_INSTANCES)]
    public = f"http://127.0.0.1:{ports[0]}"
    started: list[tuple[subprocess.Popen, str]] = []
    for i, port in enumerate(ports):
        name = "ABC"[i]
        data = os.path.join(tmp, f"instance-{name}")
        os.makedirs(data)
        cmd = [BIN, "serve", "--listen", f"127.0.0.1:{port}", "--data-dir", data, "--public-url", public,
               "--database-url", url]
        if i == 0:
            b.COMMANDS.append("LATCHKEY_BOOTSTRAP_API_KEY=<key> LATCHKEY_MASTER_KEY=<one key for all> "
                              + shlex.join([c if c != url else "<database url>" for c in cmd])
                              + "   # x3: own port and data dir, same --public-url and database")
        env = dict(os.environ, LATCHKEY_BOOTSTRAP_API_KEY=b.ADMIN_KEY, LATCHKEY_MASTER_KEY=master)
        logf = open(os.path.join(b.OUT, f"scaleout-{name}.log"), "w")
        proc = subprocess.Popen(cmd, env=env, stdout=logf, stderr=subprocess.STDOUT)
        started.append((proc, f"http://127.0.0.1:{port}"))
        b.wait_ready(f"http://127.0.0.1:{port}/healthz", proc, f"latchkey {name}")  # A migrates first
    return started


def split(n: int) -> list[int]:
    return [TOTAL_CONNECTIONS // n + (1 if i < TOTAL_CONNECTIONS % n else 0) for i in range(n)]


def generators(urls: list[str], conns: list[int], seconds: int, auth: dict) -> list[list[str]]:
    cmds = []
    for url, c in zip(urls, conns):
        b.CONCURRENCY = c  # bench.loadgen_cmd reads it when called
        cmds.append(b.loadgen_cmd(url, seconds, "POST", BODY, {**FORM, **auth}))
    b.CONCURRENCY = TOTAL_CONNECTIONS
    return cmds


def measure(n: int, instances: list[tuple[subprocess.Popen, str]], zone: dict, rnd: int) -> dict:
    urls = [f"{base}/z/{zone['zone_id']}/oauth/2/token" for _, base in instances[:n]]
    pids = [p.pid for p, _ in instances[:n]]
    conns = split(n)
    auth = {"Authorization": b.basic(zone["client_id"], zone["secret"])}
    if b.WARMUP > 0:
        warm = [subprocess.Popen(c, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                for c in generators(urls, conns, b.WARMUP, auth)]
        for w in warm:
            w.wait()
    cmds = generators(urls, conns, b.DURATION, auth)
    if rnd == 0 and n == MAX_INSTANCES:
        b.COMMANDS.append(shlex.join(["Authorization: Basic <client_id:secret>" if a.startswith("Authorization: ") else a
                                      for a in cmds[0]]) + "   # one per loaded instance, started together")
    b.log(f"{n} instance(s), round {rnd + 1}: {b.DURATION}s, connections {conns}")
    cpu0 = [sum(b.cpu_seconds(p)) for p in pids]
    pg0 = postgres_cpu()
    gen0 = b.children_cpu_seconds()
    busy0 = b.machine_busy_seconds()
    t0 = time.monotonic()
    procs = [subprocess.Popen(c, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for c in cmds]
    outs = [p.communicate() for p in procs]
    elapsed = time.monotonic() - t0
    cpu1 = [sum(b.cpu_seconds(p)) for p in pids]
    pg1 = postgres_cpu()
    gen_cpu = b.children_cpu_seconds() - gen0
    busy = b.machine_busy_seconds() - busy0
    per = []
    for p, (so, se) in zip(procs, outs):
        if p.returncode != 0:
            raise SystemExit(f"load generator failed ({p.returncode}): {se.decode()[:500]}")
        per.append(b.parse_loadgen(so.decode()))
    ok = sum(r["ok"] for r in per)
    rates = [r["ok"] / r["wall"] if r["wall"] else 0.0 for r in per]
    lk_cpu = sum(c1 - c0 for c0, c1 in zip(cpu0, cpu1))
    pg_cpu = postgres_cpu_delta(pg0, pg1)
    row = {
        "instances": n,
        "round": rnd + 1,
        "connections": conns,
        "rps": sum(rates),
        "rps_per_instance": rates,
        "ok": ok,
        "non2xx": sum(r["non2xx"] for r in per),
        "errors": sum(r["errors"] for r in per),
        "p50_ms": max(r["p50_ms"] for r in per),
        "p99_ms": max(r["p99_ms"] for r in per),
        "latchkey_cores": lk_cpu / elapsed,
        "postgres_cores": pg_cpu / elapsed,
        "loadgen_cores": gen_cpu / elapsed,
        "other_cores": max(0.0, (busy - lk_cpu - pg_cpu - gen_cpu) / elapsed),
        "cpu_us_per_token": lk_cpu * 1e6 / ok if ok else float("nan"),
        "pg_us_per_token": pg_cpu * 1e6 / ok if ok else float("nan"),
    }
    b.log(f"  {row['rps']:.0f} tokens/s ({', '.join(f'{r:.0f}' for r in rates)}), "
          f"latchkey {row['latchkey_cores']:.2f} / postgres {row['postgres_cores']:.2f} / "
          f"loadgen {row['loadgen_cores']:.2f} cores, {row['cpu_us_per_token']:.1f} us/token, "
          f"non2xx={row['non2xx']} errors={row['errors']}")
    if ok == 0:
        raise SystemExit(f"{n} instances: no successful token")
    return row


def median(xs: list[float]) -> float:
    s = sorted(xs)
    m = len(s) // 2
    return s[m] if len(s) % 2 else (s[m - 1] + s[m]) / 2


def elf_sections(raw: bytes) -> set[str]:
    """Section names of a little-endian ELF64 file (empty if it is not one)."""
    if raw[:4] != b"\x7fELF" or raw[4] != 2 or raw[5] != 1:
        return set()
    shoff = int.from_bytes(raw[0x28:0x30], "little")
    shentsize, shnum, shstrndx = (int.from_bytes(raw[o:o + 2], "little") for o in (0x3A, 0x3C, 0x3E))
    headers = [raw[shoff + i * shentsize: shoff + (i + 1) * shentsize] for i in range(shnum)]
    strtab = headers[shstrndx]
    base = int.from_bytes(strtab[0x18:0x20], "little")
    names = set()
    for h in headers:
        start = base + int.from_bytes(h[0:4], "little")
        names.add(raw[start:raw.index(b"\0", start)].decode(errors="replace"))
    return names


def binary_note() -> str:
    st = os.stat(BIN)
    with open(BIN, "rb") as f:
        raw = f.read()
    digest = hashlib.sha256(raw).hexdigest()[:12]
    # the dev profile keeps line tables (Cargo.toml: debug = "line-tables-only"); release has none
    kind = ("**debug build** (`cargo build`): absolute numbers are far below a release build's; only "
            "the comparison between rows means anything") if ".debug_line" in elf_sections(raw) else "release build"
    when = dt.datetime.fromtimestamp(st.st_mtime).astimezone().strftime("%Y-%m-%d %H:%M %Z")
    return f"`{BIN}` ({kind}; modified {when}; sha256 {digest}…)"


def section(rows: list[dict], machine: dict, started: dt.datetime, pg_version: str) -> str:
    by_n = {n: [r for r in rows if r["instances"] == n] for n in range(1, MAX_INSTANCES + 1)}
    base = median([r["rps"] for r in by_n[1]])
    out = [SECTION, ""]
    w = out.append
    w(f"Generated by `bench/scaleout.py` ({started.strftime('%Y-%m-%d %H:%M %Z')}). "
      f"client_credentials tokens (client_secret_basic, ES256 zone) from 1, 2 and 3 Latchkey instances "
      f"on **one PostgreSQL database** ({pg_version}), all on this machine ({machine['nproc']} × "
      f"{machine['cpu_model']}; load average at start {machine['loadavg_at_start']}). The "
      f"{TOTAL_CONNECTIONS} keep-alive connections are split evenly across the loaded instances, one "
      f"{b.LOADGEN_KIND} process per instance started together; {b.DURATION} s per measurement after a "
      f"{b.WARMUP} s warm-up; {ROUNDS} rounds of 1, 2, 3 instances, interleaved. All three instances run "
      f"throughout (unloaded ones idle), sharing one master key, bootstrap key and public URL.")
    w("")
    w(f"Binary: {binary_note()}.")
    w("")
    w("*tokens/s*, *CPU/token* (utime+stime of all loaded Latchkey processes ÷ tokens) and *PostgreSQL "
      "µs/token* (all `postgres` processes) are medians over the rounds; *per instance*, latency (worst "
      "instance) and *cores* are from the round nearest the median. *other* is the CPU the rest of the "
      "machine used meanwhile (other sessions' builds and tests on this shared machine), out of "
      f"{machine['nproc']} cores.")
    w("")
    w("| instances | connections | tokens/s | rounds | per instance | vs 1 instance "
      "| p50 / p99 ms | CPU/token µs (Latchkey) | PostgreSQL µs/token "
      "| cores: Latchkey / PostgreSQL / load gen / other | non-2xx / errors |")
    w("|---:|---|---:|---|---|---:|---|---:|---:|---|---:|")
    for n, rs in by_n.items():
        mid = min(rs, key=lambda r: abs(r["rps"] - median([x["rps"] for x in rs])))
        w(f"| {n} | {' + '.join(map(str, mid['connections']))} | **{b.fmt(median([r['rps'] for r in rs]), 0)}** "
          f"| {', '.join(b.fmt(r['rps'], 0) for r in rs)} | {' + '.join(b.fmt(x, 0) for x in mid['rps_per_instance'])} "
          f"| {median([r['rps'] for r in rs]) / base:.2f}× "
          f"| {mid['p50_ms']:.2f} / {mid['p99_ms']:.2f} | {median([r['cpu_us_per_token'] for r in rs]):.1f} "
          f"| {median([r['pg_us_per_token'] for r in rs]):.2f} "
          f"| {mid['latchkey_cores']:.2f} / {mid['postgres_cores']:.2f} / {mid['loadgen_cores']:.2f} / "
          f"{mid['other_cores']:.2f} | {sum(r['non2xx'] for r in rs)} / {sum(r['errors'] for r in rs)} |")
    w("")
    w(f"**What a {machine['nproc']}-core machine can and cannot show.** Every instance, PostgreSQL and the "
      "load generators compete for the same cores, so more instances cannot mean more tokens per second "
      "here: the total is capped by the cores, and each added process adds scheduling and cache "
      "contention. This is a measurement of the *overhead of coordination*, not of capacity: it shows "
      "whether running several instances on one database costs extra CPU per token (CPU/token µs and "
      "PostgreSQL µs/token should stay flat from 1 to 3 instances if issuing a token needs no "
      "cross-instance work: the caches answer and the database is touched only to revalidate), whether "
      "any request fails (non-2xx / errors), and whether the load spreads evenly (per-instance rates). "
      "It cannot show how throughput grows when each instance has cores of its own, where PostgreSQL "
      "(connections, notification traffic, write load of logins and logs) becomes the limit, nor the "
      "effect of network latency between instances and the database: everything here is on loopback. "
      "A capacity figure needs one machine (or pinned cores) per instance, a separate database host "
      "and a load generator that is not competing for the same CPUs.")
    w("")
    return "\n".join(out) + "\n"


def write_section(text: str) -> None:
    path = os.path.join(HERE, "REPORT.md")
    try:
        with open(path) as f:
            old = f.read()
    except FileNotFoundError:
        old = "# Latchkey load benchmark\n\n"
    start = old.find(SECTION)
    if start < 0:
        new = old.rstrip("\n") + "\n\n" + text
    else:
        # up to the next section or marker (`<!-- scale:begin -->` opens the next section)
        ends = [i for i in (old.find("\n## ", start + len(SECTION)), old.find("\n<!-- ", start))
                if i >= 0]
        nxt = min(ends) if ends else -1
        new = old[:start] + text + (old[nxt + 1:] if nxt >= 0 else "")
    with open(path, "w") as f:
        f.write(new)


def main() -> None:
    if not os.access(BIN, os.X_OK):
        sys.exit(f"scaleout.py: no binary at {BIN} (bench/run.sh builds it; or set BENCH_BIN)")
    os.makedirs(b.OUT, exist_ok=True)
    started = dt.datetime.now().astimezone()
    machine = b.machine_info()
    pg_version = subprocess.run(["psql", PG_ADMIN_URL, "-Atc", "SHOW server_version"], capture_output=True,
                                text=True).stdout.strip() or "?"
    pg_version = f"PostgreSQL {pg_version}"
    db = f"latchkey_bench_scaleout_{os.urandom(5).hex()}"
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + db
    tmp = tempfile.mkdtemp(prefix="latchkey-scaleout-")
    psql(f'CREATE DATABASE "{db}"')
    instances: list[tuple[subprocess.Popen, str]] = []
    rows: list[dict] = []
    try:
        instances = start_instances(tmp, url)
        zone = b.setup_zone(instances[0][1], "bench-scaleout-es256", "ES256")
        for _, base in instances[1:]:  # the other instances issue for the same zone
            b.check_token(f"{base}/z/{zone['zone_id']}/oauth/2/token", zone["client_id"], zone["secret"],
                          b.RESOURCE, "ES256")
        for rnd in range(ROUNDS):
            for n in range(1, MAX_INSTANCES + 1):
                rows.append(measure(n, instances, zone, rnd))
    finally:
        for proc, _ in instances:
            b.stop(proc)
        shutil.rmtree(tmp, ignore_errors=True)
        try:
            psql(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
        except subprocess.CalledProcessError as e:
            b.log(f"could not drop {db}: {e.stderr.decode()[:200]}")
    text = section(rows, machine, started, pg_version)
    with open(os.path.join(b.OUT, "scaleout.json"), "w") as f:
        json.dump({"machine": machine, "binary": BIN, "rows": rows, "commands": b.COMMANDS}, f, indent=2)
    write_section(text)
    print(text)
    b.log(f"wrote the scale-out section of {os.path.join(HERE, 'REPORT.md')}")


if __name__ == "__main__":
    import signal

    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda *_: sys.exit(143))
    main()
