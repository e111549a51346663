#!/usr/bin/env python3
"""Concurrent wrong-password sign-ins against a running Latchkey (stdlib only).

bench.py calls `run()` against the release server it started (`python3 signin_burst.py run
BASE_URL PID ADMIN_KEY [N]` does the same against a server already running); the same file, run as
`python3 signin_burst.py poll URL INTERVAL_S`, is the /healthz poller (a separate process, so
its timings do not include waits for this process's GIL while 64 threads send and parse).

The case:
  1. a zone with `requires_invitation: false` (management API), one client registered by DCR;
  2. N sign-in pages prepared one after another: GET the authorize URL (PKCE S256) -> 303 to
     /z/{zone}/login?request=ID -> GET that page (sets the `lk_csrf_{zone}` cookie; hidden fields
     `request` and `csrf`). Page i is fetched from, and later posted from, source address
     ADDRESSES[i % 4], so each address makes N/4 failures (16 for N=64: under the per-address
     throttle of 20) and each email is distinct (one failure per account: under the per-account
     throttle of 5). Every POST therefore reaches the password hashing;
  3. VmHWM reset (/proc/PID/clear_refs 5), the /healthz poller started (one keep-alive
     connection from 127.0.0.1, one GET every INTERVAL), one idle second for a baseline;
  4. N threads, each with its own freshly opened connection, wait on a barrier and then POST
     /z/{zone}/login (request, csrf, email, password, intent=signin, with the cookie) at once;
  5. when the last answer is in: VmHWM (peak during the burst), VmRSS right away and again
     SETTLE seconds later; the poller is stopped and its samples split into idle (before the
     burst) and during the burst (started between the first POST and the last answer).
"""

from __future__ import annotations

import base64
import hashlib
import html
import http.client
import json
import os
import re
import secrets
import subprocess
import sys
import threading
import time
import urllib.parse

ADDRESSES = ("127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5")
REDIRECT_URI = "http://127.0.0.1/callback"
POLL_INTERVAL_S = 0.01
IDLE_S = 1.0
SETTLE_S = 2.0
TIMEOUT_S = 60.0

_HIDDEN = re.compile(r'<input[^>]*type="hidden"[^>]*name="([^"]+)"[^>]*value="([^"]*)"', re.I)
_ALERT = re.compile(r'<div class="error" role="alert">(.*?)</div>', re.S)


# ---------------------------------------------------------------- tiny HTTP client


class Conn:
    """One keep-alive connection from a chosen source address, with a small cookie jar."""

    def __init__(self, base: str, source: str | None = None) -> None:
        u = urllib.parse.urlsplit(base)
        self.host, self.port = u.hostname, u.port
        self.source = source
        self.cookies: dict[str, str] = {}
        self.c = self._open()

    def _open(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection(
            self.host, self.port, timeout=TIMEOUT_S,
            source_address=(self.source, 0) if self.source else None)

    def reopen(self) -> None:
        self.c.close()
        self.c = self._open()
        self.c.connect()

    def request(self, method: str, path: str, body: bytes | None = None,
                headers: dict | None = None) -> tuple[int, dict, bytes]:
        h = dict(headers or {})
        if self.cookies:
            h["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        self.c.request(method, path, body=body, headers=h)
        r = self.c.getresponse()
        data = r.read()
        hdrs: dict[str, str] = {}
        for k, v in r.getheaders():
            k = k.lower()
            if k == "set-cookie":
                name, _, rest = v.partition("=")
                self.cookies[name.strip()] = rest.split(";", 1)[0]
            hdrs[k] = v
        if r.getheader("connection", "").lower() == "close":
            self.reopen()
        return r.status, hdrs, data

    def close(self) -> None:
        self.c.close()


def path_of(url: str) -> str:
    u = urllib.parse.urlsplit(url)
    return u.path + ("?" + u.query if u.query else "")


def b64url(b: bytes) -> str:
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def pct(xs: list[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100) of a non-empty list."""
    s = sorted(xs)
    k = max(0, min(len(s) - 1, int(-(-p * len(s) // 100)) - 1))
    return s[k]


def status_kib(pid: int, key: str) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# ---------------------------------------------------------------- setup


def setup(base: str, admin_key: str) -> tuple[str, str]:
    """A zone without invitations and a DCR client: (zone id, client id)."""
    c = Conn(base)
    try:
        st, _, body = c.request("POST", "/zones",
                                json.dumps({"name": "bench-signin",
                                            "requires_invitation": False}).encode(),
                                {"Authorization": f"Bearer {admin_key}",
                                 "Content-Type": "application/json"})
        if st not in (200, 201):
            raise SystemExit(f"POST /zones -> {st}: {body[:300]!r}")
        zone = json.loads(body)["id"]
        st, _, body = c.request("POST", f"/z/{zone}/oauth/2/registration",
                                json.dumps({"redirect_uris": [REDIRECT_URI]}).encode(),
                                {"Content-Type": "application/json"})
        if st not in (200, 201):
            raise SystemExit(f"DCR -> {st}: {body[:300]!r}")
        return zone, json.loads(body)["client_id"]
    finally:
        c.close()


def signin_page(base: str, zone: str, client_id: str, source: str) -> tuple[Conn, dict]:
    """Authorize -> login page from `source`: the connection (with its cookie) and the form."""
    c = Conn(base, source)
    q = urllib.parse.urlencode({
        "response_type": "code", "client_id": client_id, "redirect_uri": REDIRECT_URI,
        "code_challenge": b64url(hashlib.sha256(secrets.token_bytes(32)).digest()),
        "code_challenge_method": "S256", "state": secrets.token_urlsafe(8)})
    st, h, body = c.request("GET", f"/z/{zone}/oauth/2/authorize?{q}")
    if st not in (302, 303) or "/login?request=" not in h.get("location", ""):
        raise SystemExit(f"authorize -> {st} {h.get('location')}: {body[:300]!r}")
    st, h, body = c.request("GET", path_of(h["location"]))
    text = body.decode(errors="replace")
    fields = {k: html.unescape(v) for k, v in _HIDDEN.findall(text)}
    if st != 200 or "request" not in fields or "csrf" not in fields:
        raise SystemExit(f"login page -> {st}: {text[:300]}")
    if f"lk_csrf_{zone}" not in c.cookies:
        raise SystemExit(f"login page set no lk_csrf_{zone} cookie: {c.cookies}")
    return c, fields


# ---------------------------------------------------------------- /healthz poller


def poll_main(url: str, interval: float) -> None:
    """Child process: GET `url` every `interval` s on one keep-alive connection until stdin
    closes; then prints one JSON list of [start (CLOCK_MONOTONIC s), latency s, status]."""
    done = threading.Event()
    threading.Thread(target=lambda: (sys.stdin.read(), done.set()), daemon=True).start()
    c = Conn(url)
    path = path_of(url)
    samples = []
    print("ready", flush=True)
    while not done.is_set():
        t0 = time.monotonic()
        try:
            st, _, _ = c.request("GET", path)
        except (OSError, http.client.HTTPException) as e:
            st = type(e).__name__
            try:
                c.reopen()
            except OSError:
                pass
        samples.append([t0, time.monotonic() - t0, st])
        done.wait(interval)
    c.close()
    print(json.dumps(samples), flush=True)


def start_poller(url: str) -> subprocess.Popen:
    p = subprocess.Popen([sys.executable, os.path.abspath(__file__), "poll", url,
                          str(POLL_INTERVAL_S)], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, text=True)
    if p.stdout.readline().strip() != "ready":
        raise SystemExit("the /healthz poller did not start")
    return p


def stop_poller(p: subprocess.Popen) -> list:
    out, _ = p.communicate(timeout=30)
    return json.loads(out.strip().splitlines()[-1])


def latency_summary(samples: list) -> dict:
    ok = [s[1] * 1e3 for s in samples if s[2] == 200]
    return {
        "n": len(samples),
        "ok": len(ok),
        "failed": len(samples) - len(ok),
        "p50_ms": pct(ok, 50) if ok else float("nan"),
        "p99_ms": pct(ok, 99) if ok else float("nan"),
        "max_ms": max(ok) if ok else float("nan"),
    }


# ---------------------------------------------------------------- the burst


def run(base: str, pid: int, admin_key: str, n: int = 64, log=print) -> dict:
    zone, client_id = setup(base, admin_key)
    log(f"signin burst: preparing {n} sign-in pages (zone {zone}, from {', '.join(ADDRESSES)})")
    pages = []
    for i in range(n):
        c, fields = signin_page(base, zone, client_id, ADDRESSES[i % len(ADDRESSES)])
        c.close()
        pages.append((c, fields))

    # One fresh connection per POST, opened before the barrier so the burst is only requests.
    conns = []
    for c, _ in pages:
        c.reopen()
        conns.append(c)
    results: list = [None] * n
    fire = {}
    barrier = threading.Barrier(n, action=lambda: fire.setdefault("t", time.monotonic()))

    def attempt(i: int) -> None:
        c, fields = pages[i]
        body = urllib.parse.urlencode({
            "request": fields["request"], "csrf": fields["csrf"],
            "email": f"nobody-{i}-{secrets.token_hex(5)}@bench.test",
            "password": f"wrong password {i}", "intent": "signin"}).encode()
        barrier.wait(timeout=60)
        try:
            st, h, data = c.request("POST", f"/z/{zone}/login", body,
                                    {"Content-Type": "application/x-www-form-urlencoded"})
            text = data.decode(errors="replace")
            results[i] = {"status": st, "retry_after": h.get("retry-after"),
                          "alert": bool(_ALERT.search(text)),
                          "signin_page": 'name="csrf"' in text and 'name="email"' in text,
                          "t_done": time.monotonic()}
        except (OSError, http.client.HTTPException) as e:
            results[i] = {"status": type(e).__name__, "t_done": time.monotonic()}

    poller = start_poller(f"{base}/healthz")
    try:
        peak_reset = False
        try:
            with open(f"/proc/{pid}/clear_refs", "w") as f:
                f.write("5")
            peak_reset = True
        except OSError:
            pass
        rss_before = status_kib(pid, "VmRSS")
        time.sleep(IDLE_S)  # idle /healthz baseline
        cpu0 = cpu_seconds(pid)
        threads = [threading.Thread(target=attempt, args=(i,)) for i in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=TIMEOUT_S + 10)
        t_last = max((r["t_done"] for r in results if r), default=time.monotonic())
        cpu1 = cpu_seconds(pid)
        peak = status_kib(pid, "VmHWM")
        rss_after = status_kib(pid, "VmRSS")
        time.sleep(SETTLE_S)
        rss_settled = status_kib(pid, "VmRSS")
    finally:
        samples = stop_poller(poller)
        for c in conns:
            c.close()

    t_fire = fire.get("t", t_last)
    idle = [s for s in samples if s[0] < t_fire]
    during = [s for s in samples if t_fire <= s[0] <= t_last]
    rs = [r or {"status": "no answer"} for r in results]
    counts = {
        "signin_error_page": sum(1 for r in rs if r["status"] in (200, 400)
                                 and r.get("signin_page") and r.get("alert")),
        "429": sum(1 for r in rs if r["status"] == 429),
        "503": sum(1 for r in rs if r["status"] == 503),
    }
    counts["other"] = n - sum(counts.values())
    by_status: dict[str, int] = {}
    for r in rs:
        by_status[str(r["status"])] = by_status.get(str(r["status"]), 0) + 1
    lat = [(r["t_done"] - t_fire) * 1e3 for r in rs if "t_done" in r]
    out = {
        "n": n,
        "addresses": list(ADDRESSES),
        "zone_id": zone,
        "counts": counts,
        "by_status": by_status,
        "retry_after_missing": sum(1 for r in rs if r["status"] in (429, 503)
                                   and not r.get("retry_after")),
        "burst_s": t_last - t_fire,
        "signin_p50_ms": pct(lat, 50) if lat else float("nan"),
        "signin_max_ms": max(lat) if lat else float("nan"),
        "server_cpu_s": cpu1 - cpu0,
        "rss_before_mib": rss_before / 1024,
        "peak_rss_mib": peak / 1024,
        "peak_is_per_case": peak_reset,
        "rss_after_mib": rss_after / 1024,
        "rss_settled_mib": rss_settled / 1024,
        "settle_s": SETTLE_S,
        "health_interval_ms": POLL_INTERVAL_S * 1e3,
        "health_idle": latency_summary(idle),
        "health_during": latency_summary(during),
    }
    hd = out["health_during"]
    log(f"  {n} POSTs in {out['burst_s']:.2f}s: {by_status}; RSS {out['rss_before_mib']:.1f} -> "
        f"peak {out['peak_rss_mib']:.1f} -> {out['rss_after_mib']:.1f} -> "
        f"{out['rss_settled_mib']:.1f} MiB; /healthz during: n={hd['n']} "
        f"p50={hd['p50_ms']:.2f}ms p99={hd['p99_ms']:.2f}ms failed={hd['failed']}")
    return out


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "poll":
        poll_main(sys.argv[2], float(sys.argv[3]))
    elif len(sys.argv) in (5, 6) and sys.argv[1] == "run":
        # Against a server that is already running: run BASE_URL PID ADMIN_KEY [N]
        res = run(sys.argv[2], int(sys.argv[3]), sys.argv[4],
                  int(sys.argv[5]) if len(sys.argv) == 6 else 64,
                  lambda m: print(m, file=sys.stderr))
        print(json.dumps(res, indent=2))
    else:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
