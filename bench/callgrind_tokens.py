#!/usr/bin/env python3
"""Instructions per request under callgrind, stdlib only (plus valgrind):

    python3 bench/callgrind_tokens.py [--bin target/release/latchkey] [--requests 200] [--top 0]
                                      [--zones N] [--cache-sim [--ll BYTES]] [--only PATTERN]

Wall-clock CPU per token on two loaded cores moves by several µs between runs; instruction
counts do not. One SQLite server runs under `valgrind --tool=callgrind`; one ES256 zone is set up
as `scale_tokens.exchange_setup` makes it (a client_credentials caller and a token-exchanging
server application). For each case the counters are zeroed (`callgrind_control -z`), N requests
go one after another over one keep-alive connection, and the counters are dumped
(`callgrind_control -d`). Reported per request: all instructions of the process, the ones spent
inside aws-lc (the signature and verification), and the rest. Background work that is not the
request's (`SigningKey::generate`, the RSA key pool's refill) is subtracted.

Cases: `metadata` (the zone's discovery document: the per-request floor of HTTP, routing and the
middleware), `token` (client_credentials, ES256), `exchange` (RFC 8693, ES256, verify + sign).
With `--zones N`, the cases are instead client_credentials on one of N zones (each made by
`scale_load.make_zone`, created by the binary running natively before callgrind starts) and
round-robin over all N, each after one warm-up round over every zone. `--cache-sim` adds
callgrind's simulated cache misses per request (first-level data, last-level, instruction).
Under callgrind a request is ~50 times slower, so whatever runs on a clock (cache backstops,
policy rechecks, decision-log windows) weighs far more per request than natively; `--only
'*oauth::token::issue*'` counts just the grant's own work, and `--ll 1048576` makes the simulated
last level the size of one core's L2, so that its misses show what a request reads from beyond
the core's own caches.
Set LATCHKEY_LOG as the server should run (the default `info` opens the request span). Results
go to bench/.out/callgrind-tokens.json
(and each case's dump to bench/.out/callgrind-CASE.out, for callgrind_annotate); the numbers go into bench/REPORT.md by hand. With
`--top K`, also print the K functions with the most exclusive instructions per case.
"""

from __future__ import annotations

import argparse
import glob
import http.client
import itertools
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse

BENCH = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, BENCH)

import scale  # noqa: E402  (server start/stop)
import scale_tokens as st  # noqa: E402  (the exchange zone; sets bench.py's environment)
import scale_load as sl  # noqa: E402  (zones with a confidential client)

FORM = {"Content-Type": "application/x-www-form-urlencoded"}
# Background work that is not the request's (the RSA key pool refills after a zone's creation).
NOT_THE_REQUEST = ("SigningKey::generate",)
# aws-lc's symbols: prefixed `aws_lc_…`, or its assembly (`__ecp_nistz256_…`, `ecp_nistz256_…`).
CRYPTO = re.compile(r"aws_lc|nistz256|sha(256|512)_block|bignum_|beeu_")


def log(msg: str) -> None:
    print(f"[callgrind] {msg}", file=sys.stderr, flush=True)


def wrapper(tmp: str, binary: str, cache_sim: bool, ll: int = 0, toggle: str = "") -> str:
    """A script that runs the server under callgrind, as `scale.Server` runs a binary."""
    path = os.path.join(tmp, "latchkey-callgrind")
    out = os.path.join(tmp, "callgrind.out.%p")
    sim = "--cache-sim=yes " if cache_sim else ""
    if cache_sim and ll:
        sim += f"--LL={ll},16,64 "
    if toggle:
        sim += f"--collect-atstart=no --toggle-collect='{toggle}' "
    with open(path, "w") as f:
        f.write(f"#!/bin/sh\nexec valgrind --tool=callgrind --compress-strings=no --compress-pos=no "
                f"{sim}--callgrind-out-file={out} "
                f"{binary} \"$@\"\n")
    os.chmod(path, 0o755)
    return path


def control(pid: int, flag: str) -> None:
    subprocess.run(["callgrind_control", flag, str(pid)], check=True, capture_output=True)


def annotate(dump: str, inclusive: bool) -> str:
    args = ["callgrind_annotate", "--threshold=100", "--show=Ir", "--sort=Ir"]
    if inclusive:
        args.append("--inclusive=yes")
    return subprocess.run(args + [dump], capture_output=True, text=True, check=True).stdout


_ROW = re.compile(r"^\s*([\d,]+)\s+(?:\([^)]*\)\s+)?(\S.*)$")


def rows(report: str):
    for line in report.splitlines():
        m = _ROW.match(line)
        if m and ":" in m.group(2):
            yield int(m.group(1).replace(",", "")), m.group(2)


def total(report: str) -> int:
    m = re.search(r"^\s*([\d,]+)\s+(?:\([^)]*\)\s+)?PROGRAM TOTALS", report, re.M)
    if not m:
        raise SystemExit("callgrind_annotate printed no PROGRAM TOTALS")
    return int(m.group(1).replace(",", ""))


def measure(pid: int, tmp: str, name: str, n: int, send, top: int) -> dict:
    before = set(glob.glob(os.path.join(tmp, "callgrind.out.*")))
    control(pid, "-z")
    for _ in range(n):
        send()
    control(pid, "-d")
    time.sleep(0.5)
    new = sorted(set(glob.glob(os.path.join(tmp, "callgrind.out.*"))) - before, key=os.path.getmtime)
    if not new:
        raise SystemExit("callgrind wrote no dump")
    dump = os.path.join(scale.OUT, f"callgrind-{name}.out")
    shutil.copyfile(new[-1], dump)
    exclusive = annotate(dump, inclusive=False)
    inclusive = annotate(dump, inclusive=True)
    everything = total(exclusive)
    background = sum(c for c, fn in rows(inclusive) if any(k in fn for k in NOT_THE_REQUEST))
    # (callgrind charges a dump's whole cost to the frames that were on the stack at the zeroing:
    # the thread's entry functions; they are not the request's own work)
    own = [(c, fn) for c, fn in rows(exclusive) if c < everything * 0.9]
    crypto = sum(c for c, fn in own if CRYPTO.search(fn))
    per = (everything - background) / n
    r = {"name": name, "n": n, "instructions_per_request": round(per),
         "aws_lc_per_request": round(crypto / n), "rest_per_request": round(per - crypto / n)}
    log(f"{name}: {r['instructions_per_request']:,} instructions per request "
        f"(aws-lc {r['aws_lc_per_request']:,}, rest {r['rest_per_request']:,})")
    if top:
        for c, fn in sorted(own, reverse=True)[:top]:
            print(f"  {c / n:>10,.0f}  {fn[:140]}")
    misses = cache_misses(dump, n, top)
    if misses:
        r["misses_per_request"] = misses
        log(f"{name}: cache misses per request {misses}")
    return r


def events(dump: str) -> dict[str, int]:
    """The dump's event totals (its `events:` and `summary:` lines)."""
    names, values = [], []
    with open(dump) as f:
        for line in f:
            if line.startswith("events:"):
                names = line.split()[1:]
            elif line.startswith(("summary:", "totals:")):
                values = [int(v) for v in line.split()[1:]]
    return dict(zip(names, values))


def cache_misses(dump: str, n: int, top: int) -> dict[str, float]:
    """With --cache-sim: first-level data misses (D1mr + D1mw) and last-level ones per request,
    and the functions with the most first-level data misses."""
    ev = events(dump)
    if "D1mr" not in ev:
        return {}
    out = {"D1": round((ev["D1mr"] + ev["D1mw"]) / n, 1), "LL": round((ev["DLmr"] + ev["DLmw"]) / n, 1),
           "I1": round(ev["I1mr"] / n, 1)}
    if top:
        report = subprocess.run(["callgrind_annotate", "--threshold=100", "--show=D1mr",
                                 "--sort=D1mr", dump], capture_output=True, text=True, check=True).stdout
        print("  first-level data read misses per request:")
        for c, fn in list(rows(report))[1:top + 1]:
            print(f"  {c / n:>10,.1f}  {fn[:140]}")
    return out


def spread_zones(binary: str, tmp: str, n: int) -> list[dict]:
    """`n` zones with one confidential client each (`scale_load.make_zone`), created by the
    binary running natively (under callgrind it would take minutes), in the data directory the
    callgrind server then opens."""
    native = scale.Server(binary, "sqlite", tmp)
    try:
        native.start()
        c = scale.Conn(native.port)
        zones = [sl.make_zone(c, f"spread-{i:04d}") for i in range(n)]
    finally:
        native.stop()
    log(f"created {n} zones")
    return zones


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(scale.ROOT, "target", "release", "latchkey"))
    ap.add_argument("--requests", type=int, default=200)
    ap.add_argument("--top", type=int, default=0)
    ap.add_argument("--zones", type=int, default=0,
                    help="instead of the three cases: client_credentials on one of N zones, then "
                         "round-robin over all N")
    ap.add_argument("--cache-sim", action="store_true", help="also count simulated cache misses")
    ap.add_argument("--ll", type=int, default=0,
                    help="with --cache-sim: the simulated last level's size in bytes (e.g. 1048576 "
                         "to stand for a core's L2; default: this machine's last level)")
    ap.add_argument("--only", default="",
                    help="count only inside functions matching this callgrind pattern (e.g. "
                         "'*oauth::token::issue*': the grant's own work, without HTTP and "
                         "background tasks)")
    a = ap.parse_args()
    if not shutil.which("valgrind"):
        sys.exit("callgrind_tokens.py needs valgrind (apt-get install valgrind)")
    os.makedirs(scale.OUT, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="latchkey-callgrind-")
    binary = os.path.abspath(a.bin)
    zones = spread_zones(binary, os.path.join(tmp, "s"), a.zones) if a.zones else []
    server = scale.Server(wrapper(tmp, binary, a.cache_sim, a.ll, a.only), "sqlite",
                          os.path.join(tmp, "s"))
    res: dict = {"log": os.environ.get("LATCHKEY_LOG", "info"), "zones": a.zones,
                 "cache_sim": a.cache_sim, "ll_bytes": a.ll or None, "only": a.only or None,
                 "cases": []}
    try:
        server.start()
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=120)

        def call(method: str, target: str, body: str | None = None, auth: str | None = None):
            headers = {**FORM, "Authorization": auth} if auth else {}
            conn.request(method, target, body=body, headers=headers)
            r = conn.getresponse()
            r.read()
            if r.status != 200:
                raise SystemExit(f"{method} {target} -> {r.status}")

        cases = spread_cases(zones, call) if zones else zone_cases(server, call)
        time.sleep(5)  # let the set-up's background work (the key pool's refill) finish
        for name, send in cases:
            # warm caches and pools first (every zone, just before: under callgrind a run is
            # slow enough for the caches' 30 s backstop to expire)
            for _ in range(max(20, len(zones) if "spread" in name else 0)):
                send()
            res["cases"].append(measure(server.proc.pid, tmp, name, a.requests, send, a.top))
    finally:
        server.stop()
        server.drop()
        shutil.rmtree(tmp, ignore_errors=True)
    out = os.path.join(scale.OUT, "callgrind-tokens.json" if not zones else "callgrind-spread.json")
    with open(out, "w") as f:
        json.dump(res, f, indent=2)
    log(f"wrote {out}")


def zone_cases(server: scale.Server, call) -> list:
    """metadata, client_credentials and token exchange in one ES256 zone."""
    x = st.exchange_setup(server)
    path = urllib.parse.urlsplit(x["url"]).path
    meta = f"/z/{x['zone_id']}/.well-known/oauth-authorization-server"
    return [
        ("metadata", lambda: call("GET", meta)),
        ("token", lambda: call("POST", path, x["cc_body"], x["caller_auth"])),
        ("exchange", lambda: call("POST", path, x["ex_body"], x["server_auth"])),
    ]


def spread_cases(zones: list[dict], call) -> list:
    """client_credentials on the first zone again and again, then on each zone in turn."""
    one = zones[0]
    turn = itertools.cycle(zones)

    def spread():
        z = next(turn)
        call("POST", z["path"], sl.BODY, z["auth"])

    return [
        ("token-one-zone", lambda: call("POST", one["path"], sl.BODY, one["auth"])),
        (f"token-spread-{len(zones)}", spread),
    ]


if __name__ == "__main__":
    main()
