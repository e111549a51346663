#!/usr/bin/env python3
"""Where spreading the load over 1,000 zones costs more (issue 13, target 10), stdlib only.

    BENCH_PIN=1 python3 bench/profile_spread.py [--bin target/release/latchkey] [--rounds 3]
                                                [--spread N] [--against clients]
                                                [--over clients]
    python3 bench/profile_spread.py --from bench/.out/profile-spread.json

One server with BENCH_MORE_ZONES (1,000) ES256 zones, one confidential client each; rounds of
"spread" (round-robin over every client) and "one" (one zone of them) alternate. With
`--against clients`, the other rounds go round-robin over as many clients of one more zone
instead (so that only the number of zones differs). With `--over clients`, the spread rounds go
round-robin over as many clients of one zone and the other rounds use one of them (so that only
the number of clients differs). Each round is
sampled with `perf record -e cpu-clock` (a software clock: no hardware counters needed) and its
samples are turned into microseconds per token for every symbol (the round's server CPU per
token times the symbol's share). Prints the symbols whose cost per token differs most between
the two, and writes bench/.out/profile-spread.json. Needs wrk and perf (linux-perf).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import defaultdict

BENCH = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, BENCH)
_WRK = shutil.which("wrk")
if not _WRK or not shutil.which("perf"):
    sys.exit("profile_spread.py needs wrk and perf (apt-get install wrk linux-perf)")
os.environ.update(BENCH_LOADGEN=_WRK, BENCH_LOADGEN_KIND="wrk")
os.environ.setdefault("BENCH_DURATION", "8")

import bench as b  # noqa: E402
import scale  # noqa: E402
import scale_load as sl  # noqa: E402

ZONES = int(os.environ.get("BENCH_MORE_ZONES", "1000"))


def log(msg: str) -> None:
    print(f"[profile-spread] {msg}", file=sys.stderr, flush=True)


def profiled(label: str, server: scale.Server, targets: list[dict], data: str) -> dict:
    """One measured wrk round with perf sampling the server throughout it."""
    perf = subprocess.Popen(["perf", "record", "-q", "-e", "cpu-clock", "-F", "2999", "-p",
                             str(server.proc.pid), "-o", data], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    time.sleep(0.5)
    try:
        r = sl.run(label, server.proc.pid, server.port, targets)
    finally:
        perf.send_signal(signal.SIGINT)
        perf.wait(timeout=60)
    r["symbols"] = shares(data)
    r["threads"] = shares(data, "comm")
    return r


def shares(data: str, sort: str = "dso,symbol") -> dict[str, float]:
    """Each symbol's (or with `sort="comm"`, each thread name's) share of the samples (0..1),
    all threads of the server."""
    out = subprocess.run(["perf", "report", "-i", data, "--stdio", "--no-children", "-q",
                          "--sort", sort, "--percent-limit", "0"],
                         capture_output=True, text=True, check=True).stdout
    res: dict[str, float] = {}
    for line in out.splitlines():
        parts = line.split(None, 3) if sort != "comm" else line.split(None, 1)
        if len(parts) < 2 or not parts[0].endswith("%"):
            continue
        pct = float(parts[0].rstrip("%")) / 100
        # (perf may pad the symbol and append IPC columns: "sym      -      -")
        sym = re.split(r"\s{2,}", parts[3].strip())[0] if sort != "comm" else ""
        name = f"{parts[1]} {sym}" if sort != "comm" else f"thread {parts[1].strip()}"
        res[name] = res.get(name, 0.0) + pct
    return res


def per_token(rounds: list[dict], what: str = "symbols") -> dict[str, float]:
    """Mean microseconds per token of each symbol (or thread) over `rounds`."""
    acc: dict[str, float] = defaultdict(float)
    for r in rounds:
        for name, share in r[what].items():
            # (runs saved before `shares` dropped perf's padding and IPC columns)
            acc[re.split(r"\s{2,}", name)[0]] += share * r["cpu_us_per_token"] / len(rounds)
    return acc


def report(spread: list[dict], one: list[dict], top: int) -> None:
    """Prints the symbols whose cost per token differs most, then the threads."""
    s, o = per_token(spread), per_token(one)
    diff = sorted(((s.get(k, 0) - o.get(k, 0), k) for k in set(s) | set(o)), reverse=True)
    total_s = sum(r["cpu_us_per_token"] for r in spread) / len(spread)
    total_o = sum(r["cpu_us_per_token"] for r in one) / len(one)
    print(f"CPU per token: spread {total_s:.2f} us, one {total_o:.2f} us, "
          f"difference {total_s - total_o:+.2f} us ({(total_s / total_o - 1) * 100:+.1f} %)")
    print(f"{'spread-one us':>14} {'spread':>8} {'one':>8}  symbol")
    for d, k in diff[: top] + [(None, None)] + diff[-10:]:
        if k is None:
            print("  ...")
            continue
        print(f"{d:+14.3f} {s.get(k, 0):8.3f} {o.get(k, 0):8.3f}  {k[:110]}")
    ts, to = per_token(spread, "threads"), per_token(one, "threads")
    for k in sorted(set(ts) | set(to), key=lambda k: -ts.get(k, 0)):
        print(f"{ts.get(k, 0) - to.get(k, 0):+14.3f} {ts.get(k, 0):8.3f} {to.get(k, 0):8.3f}  {k}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(scale.ROOT, "target", "release", "latchkey"))
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--top", type=int, default=40)
    ap.add_argument("--spread", type=int, default=0,
                    help="spread the load over this many of the zones (default: all)")
    ap.add_argument("--against", choices=["one", "clients"], default="one",
                    help="the other rounds: one zone's client, or as many clients in one zone")
    ap.add_argument("--over", choices=["zones", "clients"], default="zones",
                    help="what the spread rounds go round: one client in each zone, or as many "
                         "clients of one more zone (then 'one' is that zone's first client)")
    ap.add_argument("--from", dest="saved", help="report a saved profile-spread.json again")
    args = ap.parse_args()
    if args.saved:
        with open(args.saved) as f:
            saved = json.load(f)
        report(saved["spread"], saved["one"], args.top)
        return
    tmp = tempfile.mkdtemp(prefix="latchkey-profile-")
    server = scale.Server(args.bin, "sqlite", tmp)
    server.start()
    try:
        c = scale.Conn(server.port)
        zones = [sl.make_zone(c, f"zone-{i:04d}") for i in range(ZONES)]
        log(f"created {ZONES} zones")
        sl.warm(server, zones)
        targets = zones[: args.spread] if args.spread else zones
        other = [zones[0]]
        if args.over == "clients" and args.against == "one":
            home = sl.make_zone(c, "zone-clients")
            targets = [home] + [sl.add_client(c, home, f"bench-app-{i:04d}")
                                for i in range(1, len(targets))]
            sl.warm(server, targets)
            other = [home]
            log(f"spreading over {len(targets)} clients of one more zone")
        elif args.against == "clients":
            home = sl.make_zone(c, "zone-clients")
            other = [home] + [sl.add_client(c, home, f"bench-app-{i:04d}") for i in range(1, len(targets))]
            sl.warm(server, other)
            log(f"made {len(other)} clients in one more zone")
        spread, one = [], []
        for i in range(args.rounds):
            spread.append(profiled("spread", server, targets, os.path.join(tmp, f"s{i}.data")))
            one.append(profiled(args.against, server, other, os.path.join(tmp, f"o{i}.data")))
    finally:
        server.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    report(spread, one, args.top)
    os.makedirs(b.OUT, exist_ok=True)
    with open(os.path.join(b.OUT, "profile-spread.json"), "w") as f:
        json.dump({"spread": spread, "one": one}, f)


if __name__ == "__main__":
    main()
