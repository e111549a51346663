#!/usr/bin/env python3
"""A quick probe of the per-request cost, stdlib only (plus wrk):

    python3 bench/probe_tokens.py /path/to/release/latchkey [ROUNDS] [LEVEL ...]

One SQLite server per LEVEL (`LATCHKEY_LOG`, default `info` then `warn`), one ES256 zone with one
confidential client; each round times `BENCH_DURATION` (8) s of client_credentials tokens and of
the zone's metadata document (the per-request floor) with wrk, and prints the server's CPU per
request (user + system, from /proc). `info` against `warn` is the cost of the per-request
tracing span. Hold /tmp/latchkey-cargo.lock (flock) so no build runs meanwhile; the numbers go
into bench/REPORT.md by hand.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile

BENCH = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, BENCH)
os.environ.setdefault("BENCH_DURATION", "8")
_WRK = shutil.which("wrk")
if not _WRK:
    sys.exit("probe_tokens.py needs wrk (apt-get install wrk)")
os.environ.update(BENCH_LOADGEN=_WRK, BENCH_LOADGEN_KIND="wrk")

import scale  # noqa: E402  (server start/stop)
import scale_load as sl  # noqa: E402  (zones, wrk runs)


def probe(binary: str, level: str, rounds: int) -> None:
    os.environ["LATCHKEY_LOG"] = level
    tmp = tempfile.mkdtemp(prefix="latchkey-probe-")
    server = scale.Server(binary, "sqlite", os.path.join(tmp, "s"))
    server.start()
    try:
        zone = sl.make_zone(scale.Conn(server.port), "probe")
        sl.warm(server, [zone])
        base = f"http://127.0.0.1:{server.port}"
        for i in range(rounds):
            token = sl.run_static("token", "wrk", server.proc.pid, base + zone["path"], "POST", sl.BODY,
                                  {"Content-Type": sl.FORM, "Authorization": zone["auth"]})  # fmt: skip
            meta = sl.run_static("metadata", "wrk", server.proc.pid,
                                 f"{base}/z/{zone['zone_id']}/.well-known/oauth-authorization-server")  # fmt: skip
            print(f"LATCHKEY_LOG={level} round {i}: ES256 token {token['cpu_us_per_token']:.1f} µs "
                  f"({token['rps']:.0f}/s), metadata {meta['cpu_us_per_token']:.1f} µs ({meta['rps']:.0f}/s)",
                  flush=True)  # fmt: skip
    finally:
        server.stop()
        server.drop()
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 2
    for level in sys.argv[3:] or ["info", "warn"]:
        probe(sys.argv[1], level, rounds)


if __name__ == "__main__":
    main()
