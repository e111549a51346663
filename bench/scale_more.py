#!/usr/bin/env python3
"""Scale, part 2 (issue 13), stdlib only: the cases the first scale runs left unmeasured.

    python3 bench/scale_more.py CASE [--bin /path/to/release/latchkey]

CASE is one of
  zones      1,000 ES256 zones with one confidential client each, against one zone: server RSS per
             zone, and server CPU per client_credentials token with the load spread round-robin over
             all 1,000 clients against the load on a server with one zone (two processes side by
             side, loaded in turn: rounds interleaved) and on one zone of the 1,000; then
             BENCH_MORE_PAIRS (30) rounds of short runs in rotating order, with a fourth load:
             the one-zone server given 1,000 clients, the spread over them (the same clients
             and script as the 1,000 zones', one zone); then the cold start of that 1,000-zone
             database;
  writes     RSS growth per management write under /zones/{id}/: BENCH_MORE_CREATES (100,000)
             application creates, BENCH_MORE_REFUSED (20,000) refused PATCHes (`name` a number),
             BENCH_MORE_REFUSED unauthenticated POSTs to /zones/{random id}/applications, and a
             tenth of that many with a 2,000-character random id;
  coldstart  time from exec to the first 200 of /healthz (and of /readyz) with 100,000
             applications seeded into one zone, SQLite and PostgreSQL, BENCH_MORE_STARTS (5) starts
             each, and the same on the zone before seeding;
  tokens     client_credentials (ES256) on SQLite and on PostgreSQL, same binary, same load,
             BENCH_MORE_ROUNDS (3) alternating rounds, server CPU per token (and the `postgres`
             processes' CPU), and the metadata document (the per-request floor), with wrk and,
             when installed (bench/.tools/bin/oha, as run.sh installs it), also with oha; the
             one-core cost of one ES256 signature (bench/sign-cost) timed before and after.
Each case writes bench/.out/scale-more-CASE.json; bench/scale_more_report.py writes the report
section. Load generator: wrk (apt-get install wrk; oha too in `tokens`), `BENCH_CONCURRENCY` (16) connections,
`BENCH_DURATION` (10) s per round after `BENCH_WARMUP` (2) s; `BENCH_PIN=1` pins the server to
core 0 and wrk to core 1 (`bench.pinned`). Loopback only; every process and
database made here is removed here. Hold /tmp/latchkey-cargo.lock around a case (flock) so no
build runs meanwhile.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import time

BENCH = os.path.dirname(os.path.abspath(__file__))
_WRK = shutil.which("wrk")
if not _WRK:
    sys.exit("scale_more.py needs wrk (apt-get install wrk): the spread case varies each request")
os.environ.update(BENCH_LOADGEN=_WRK, BENCH_LOADGEN_KIND="wrk")
os.environ.setdefault("BENCH_DURATION", "10")
sys.path.insert(0, BENCH)

import bench as b  # noqa: E402  (/proc readings, wrk output, sign-cost)
import scale  # noqa: E402  (server start/stop, SQL, seeding)
import scale_load as sl  # noqa: E402  (multi-target wrk runs, zones, start-up timing)

CREATES = int(os.environ.get("BENCH_MORE_CREATES", "100000"))
REFUSED = int(os.environ.get("BENCH_MORE_REFUSED", "20000"))
STARTS = int(os.environ.get("BENCH_MORE_STARTS", "5"))
ROUNDS = int(os.environ.get("BENCH_MORE_ROUNDS", "3"))
ZONES = int(os.environ.get("BENCH_MORE_ZONES", "1000"))
PAIRS = int(os.environ.get("BENCH_MORE_PAIRS", "30"))
PAIR_SECONDS = int(os.environ.get("BENCH_MORE_PAIR_SECONDS", "3"))
EQUAL_SCRIPTS = os.environ.get("BENCH_MORE_EQUAL_SCRIPTS") == "1"


def log(msg: str) -> None:
    print(f"[scale-more] {msg}", file=sys.stderr, flush=True)


def rss_mib(server: scale.Server) -> float:
    return b.status_kib(server.proc.pid, "VmRSS") / 1024


def settle_rss(server: scale.Server, seconds: float = 2.0) -> float:
    time.sleep(seconds)
    return rss_mib(server)


# ---------------------------------------------------------------- 1,000 zones


def case_zones(server: scale.Server, tmp: str, binary: str) -> dict:
    """A one-zone server and a 1,000-zone server side by side, loaded in turn (rounds
    interleaved, so that drift of the machine's speed falls on both alike)."""
    alone = scale.Server(binary, "sqlite", os.path.join(tmp, "alone"))
    alone.start()
    try:
        return zones_rounds(server, alone)
    finally:
        alone.stop()


def zones_rounds(server: scale.Server, alone: scale.Server) -> dict:
    res: dict = {"zones": ZONES, "rounds": [], "rss_fresh_mib": settle_rss(alone)}
    single = [sl.make_zone(scale.Conn(alone.port), "zone-alone")]
    sl.warm(alone, single)
    res["rss_one_zone_mib"] = settle_rss(alone)
    log(f"one zone, warm: RSS {res['rss_one_zone_mib']:.1f} MiB")
    server.start()
    t0 = time.monotonic()
    c = scale.Conn(server.port)
    zones = []
    create_ms = []
    for i in range(ZONES):
        t = time.perf_counter()
        zones.append(sl.make_zone(c, f"zone-{i:04d}"))
        create_ms.append((time.perf_counter() - t) * 1e3)
    res["create_seconds"] = time.monotonic() - t0
    res["create_zone_with_client_ms_p50"] = statistics.median(create_ms)
    log(f"created {ZONES} zones in {res['create_seconds']:.1f} s")
    sl.warm(server, zones)
    res["rss_all_zones_mib"] = settle_rss(server)
    res["rss_per_zone_kib"] = (res["rss_all_zones_mib"] - res["rss_one_zone_mib"]) * 1024 / (ZONES - 1)
    log(f"{ZONES} zones, warm: RSS {res['rss_all_zones_mib']:.1f} MiB, "
        f"{res['rss_per_zone_kib']:.1f} KiB per zone")
    one = [zones[0]]
    sl.warm(alone, single)
    for _ in range(ROUNDS):
        res["rounds"].append(sl.run("one zone, 1 zone exists", alone.proc.pid, alone.port, single))
        res["rounds"].append(sl.run(f"spread over {ZONES} zones", server.proc.pid, server.port, zones))
        res["rounds"].append(sl.run(f"one zone, {ZONES} zones exist", server.proc.pid, server.port, one))
    # The one-zone server also gets ZONES clients (after its memory was read), for the load that
    # differs from the spread one in the number of zones alone: the same number of clients, the
    # same script, every client's plan and decision tally its own, but one zone, one key.
    ca = scale.Conn(alone.port)
    clients = single + [sl.add_client(ca, single[0], f"bench-app-{i:04d}") for i in range(1, len(zones))]
    sl.warm(alone, clients)
    res["pairs"] = zones_pairs(server, alone, zones, single, clients)
    res["memory_map_kb"] = {"one_zone_server": sl.memory_map(alone.proc.pid),
                            "zones_server": sl.memory_map(server.proc.pid)}
    log(f"memory maps (kB): {res['memory_map_kb']}")
    res["allocator_settings"] = {"one_zone_server": sl.allocator_settings(alone.proc.pid),
                                 "zones_server": sl.allocator_settings(server.proc.pid)}
    log(f"allocator settings: {res['allocator_settings']}")
    res["rss_after_load_mib"] = settle_rss(server)
    res["vmhwm_mib"] = b.status_kib(server.proc.pid, "VmHWM") / 1024
    server.stop()
    res["cold_start"] = sl.cold_starts(server, STARTS, log)
    return res


def zones_pairs(server: scale.Server, alone: scale.Server, zones: list[dict],
                single: list[dict], clients: list[dict]) -> dict:
    """PAIRS short runs of each of the four loads (PAIR_SECONDS each, after a 1 s warm-up),
    their order rotated from one round to the next, so that the machine's drift, which moves
    one configuration by ±15 % between 8 s rounds here, falls on all four alike. The loads: one
    client of the one-zone server (`alone`), the spread over ZONES zones' clients (`spread`),
    one zone of those (`one`), and the one-zone server's ZONES clients (`clients`: as many
    clients as `spread`, in one zone). Returns the runs and, per round, the paired ratios."""
    saved = (b.DURATION, b.WARMUP)
    b.DURATION, b.WARMUP = PAIR_SECONDS, 1
    # With BENCH_MORE_EQUAL_SCRIPTS=1 every load's wrk script has one entry per zone (the
    # single-zone loads repeat their one client), so wrk does the same work in all three and
    # only the server's side differs.
    pad = len(zones) if EQUAL_SCRIPTS else 1
    loads = [("alone", alone, single * pad), ("spread", server, zones),
             ("one", server, [zones[0]] * pad), ("clients", alone, clients)]
    runs: dict[str, list[float]] = {name: [] for name, _, _ in loads}
    n = len(loads)
    try:
        for i in range(PAIRS):
            for name, srv, targets in loads[i % n:] + loads[:i % n]:
                runs[name].append(sl.run(f"pair {i}: {name}", srv.proc.pid, srv.port, targets)["cpu_us_per_token"])
    finally:
        b.DURATION, b.WARMUP = saved
    out: dict = {"pairs": PAIRS, "seconds": PAIR_SECONDS, "equal_scripts": EQUAL_SCRIPTS,
                 "runs": runs}
    for load, base in (("spread", "alone"), ("spread", "one"), ("spread", "clients"),
                       ("clients", "alone")):
        ratios = [sp / other - 1 for sp, other in zip(runs[load], runs[base])]
        lo, hi = bootstrap_ci(ratios)
        out[f"{load}_vs_{base}"] = {"ratios": ratios, "mean": statistics.fmean(ratios),
                                    "median": statistics.median(ratios), "ci95": [lo, hi]}
        log(f"{load} vs {base}: mean {statistics.fmean(ratios) * 100:+.1f} %, "
            f"median {statistics.median(ratios) * 100:+.1f} %, 95 % CI of the mean "
            f"[{lo * 100:+.1f}, {hi * 100:+.1f}] %")
    return out


def bootstrap_ci(xs: list[float], draws: int = 10_000) -> tuple[float, float]:
    """The 95 % bootstrap interval of the mean of `xs` (fixed seed: the same runs give the
    same interval)."""
    rng = random.Random(13)
    means = sorted(statistics.fmean(rng.choices(xs, k=len(xs))) for _ in range(draws))
    return means[int(draws * 0.025)], means[int(draws * 0.975) - 1]


# ---------------------------------------------------------------- memory per write


def case_writes(server: scale.Server) -> dict:
    server.start()
    c = scale.Conn(server.port)
    zone = c.ok("POST", "/zones", {"name": "writes", "signing_alg": "ES256"})["id"]
    app = c.ok("POST", f"/zones/{zone}/applications",
               {"identifier": "https://target.bench", "name": "Target"})["id"]
    warm = min(2000, CREATES)
    sl.writes(server, "warm-up creates", warm, lambda w, i: (
        "POST", f"/zones/{zone}/applications",
        {"identifier": f"https://warm.bench/{w}/{i}", "name": f"Warm {w} {i}"}, True), log)
    res: dict = {"warm_creates": warm, "phases": []}
    res["rss_start_mib"] = settle_rss(server)
    phases = [
        ("application creates (201)", CREATES, lambda w, i: (
            "POST", f"/zones/{zone}/applications",
            {"identifier": f"https://w.bench/{w}/{i}", "name": f"W {w} {i}"}, True)),
        ("refused PATCH, `name` of the wrong type (400)", REFUSED, lambda w, i: (
            "PATCH", f"/zones/{zone}/applications/{app}", {"name": i}, True)),
        ("the same refused PATCH again (does the growth stop?)", REFUSED, lambda w, i: (
            "PATCH", f"/zones/{zone}/applications/{app}", {"name": i}, True)),
        ("unauthenticated POST to /zones/{random}/applications (401)", REFUSED, lambda w, i: (
            "POST", f"/zones/{sl.random_id()}/applications", {"name": "x"}, False)),
        ("unauthenticated POST, 2,000-character random zone id (401)", REFUSED // 10, lambda w, i: (
            "POST", f"/zones/{sl.random_id(2000)}/applications", {"name": "x"}, False)),
    ]
    for label, n, fn in phases:
        before = settle_rss(server)
        p = sl.writes(server, label, n, fn, log)
        p["rss_before_mib"] = before
        p["rss_after_mib"] = settle_rss(server)
        p["bytes_per_write"] = (p["rss_after_mib"] - before) * 1024 * 1024 / n if n else 0.0
        log(f"  {label}: RSS {before:.1f} -> {p['rss_after_mib']:.1f} MiB, "
            f"{p['bytes_per_write']:.0f} B per write")
        res["phases"].append(p)
    res["vmhwm_mib"] = b.status_kib(server.proc.pid, "VmHWM") / 1024
    return res


# ---------------------------------------------------------------- cold start


def case_coldstart(backend: str, binary: str, tmp: str) -> dict:
    server = scale.Server(binary, backend, os.path.join(tmp, backend))
    try:
        server.start()
        c = scale.Conn(server.port)
        zone = c.ok("POST", "/zones", {"name": "cold", "signing_alg": "ES256"})["id"]
        template = c.ok("POST", f"/zones/{zone}/applications",
                        {"identifier": "https://template.bench", "name": "Template"})["id"]
        server.stop()
        out = {"backend": backend, "rows": scale.ROWS}
        out["empty"] = sl.cold_starts(server, STARTS, log)
        t0 = time.monotonic()
        scale.seed(server, zone, template, scale.ROWS, int(time.time() * 1000) - 10 * scale.ROWS)
        out["seed_seconds"] = time.monotonic() - t0
        count = server.sql(f"SELECT COUNT(*) FROM applications WHERE zone_id = '{zone}'").strip()
        out["applications_in_zone"] = int(count)
        log(f"{backend}: seeded, {count} applications in the zone")
        out["seeded"] = sl.cold_starts(server, STARTS, log)
        return out
    finally:
        server.stop()
        server.drop()


# ---------------------------------------------------------------- tokens: ES256, SQLite vs PostgreSQL


def case_tokens(binary: str, tmp: str) -> dict:
    res: dict = {"sign": {"aws_lc_rs": {}, "aws_lc_rs_samples": [], "openssl": {}}, "rounds": []}
    b.aws_sign_sample(res["sign"], "before the rounds")
    servers = {k: scale.Server(binary, k, os.path.join(tmp, k)) for k in ("sqlite", "postgres")}
    gens = ["wrk"] + (["oha"] if sl.oha() else [])
    form = {"Content-Type": sl.FORM}
    try:
        zones = {}
        for k, s in servers.items():
            s.start()
            zones[k] = sl.make_zone(scale.Conn(s.port), f"tokens-{k}")
            sl.warm(s, [zones[k]])
        for _ in range(ROUNDS):
            for gen in gens:
                for k, s in servers.items():
                    z, base = zones[k], f"http://127.0.0.1:{s.port}"
                    res["rounds"].append(sl.run_static(
                        f"ES256 client_credentials, {k}", gen, s.proc.pid, base + z["path"], "POST",
                        sl.BODY, {**form, "Authorization": z["auth"]}, postgres=(k == "postgres")))
                s = servers["sqlite"]
                res["rounds"].append(sl.run_static(
                    "metadata (per-request floor), sqlite", gen, s.proc.pid,
                    f"http://127.0.0.1:{s.port}/z/{zones['sqlite']['zone_id']}/.well-known/oauth-authorization-server"))
    finally:
        for s in servers.values():
            s.stop()
            s.drop()
    b.aws_sign_sample(res["sign"], "after the rounds")
    return res


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("case", choices=["zones", "writes", "coldstart", "tokens"])
    ap.add_argument("--bin", default=os.path.join(scale.ROOT, "target", "release", "latchkey"))
    ap.add_argument("--sign-cost", default=b.SIGN_COST_BIN)
    a = ap.parse_args()
    b.SIGN_COST_BIN = a.sign_cost
    os.makedirs(scale.OUT, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="latchkey-scale-more-")
    res: dict = {"case": a.case, "machine": b.machine_info(), "binary": sl.binary_info(a.bin),
                 "loadgen": f"wrk, {b.CONCURRENCY} connections, {b.DURATION} s after {b.WARMUP} s"}
    t0 = time.monotonic()
    try:
        if a.case in ("zones", "writes"):
            server = scale.Server(a.bin, "sqlite", tmp)
            try:
                res.update(case_zones(server, tmp, a.bin) if a.case == "zones"
                           else case_writes(server))
            finally:
                server.stop()
        elif a.case == "coldstart":
            res["backends"] = [case_coldstart(k, a.bin, tmp) for k in ("sqlite", "postgres")]
        else:
            res.update(case_tokens(a.bin, tmp))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    res["seconds"] = time.monotonic() - t0
    out = os.path.join(scale.OUT, f"scale-more-{a.case}.json")
    with open(out, "w") as f:
        json.dump(res, f, indent=2)
    log(f"wrote {out} ({res['seconds']:.0f} s)")


if __name__ == "__main__":
    import signal

    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda *_: sys.exit(143))
    main()
