#!/usr/bin/env python3
"""Token costs for the scale report (issue 13), stdlib only: refresh_token grants and token
exchange, each as server CPU per token, next to client_credentials in the same process.

    python3 bench/scale_tokens.py [--bin target/release/latchkey] [--backend sqlite|postgres] [--label NAME]

  * refresh: a zone without invitations, a DCR client, one password sign-up through the login
    pages (authorize with PKCE -> sign-up -> consent -> code -> token); then BENCH_SCALE_REFRESHES
    refresh_token grants in a row, each with the token the previous one returned (rotation makes
    every request different, so this is a sequential loop on one keep-alive connection), and the
    rows added to `sessions` and `refresh_tokens` per refresh;
  * token exchange (RFC 8693): caller --client_credentials--> api (owned by server) --exchange by
    server--> downstream, ES256; the same subject token exchanged under the load generator of
    bench.py (oha or wrk, BENCH_DURATION seconds, BENCH_CONCURRENCY connections), next to the
    caller's client_credentials under the same load.
Results go to bench/.out/scale-tokens-<label>-<backend>.json. Loopback only; not a test.
"""

from __future__ import annotations

import argparse
import hashlib
import html
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse

BENCH = os.path.dirname(os.path.abspath(__file__))
if os.path.exists(os.path.join(BENCH, ".tools", "bin", "oha")):
    os.environ.setdefault("BENCH_LOADGEN", os.path.join(BENCH, ".tools", "bin", "oha"))
    os.environ.setdefault("BENCH_LOADGEN_KIND", "oha")
else:
    os.environ.setdefault("BENCH_LOADGEN", shutil.which("wrk") or "wrk")
    os.environ.setdefault("BENCH_LOADGEN_KIND", "wrk")
os.environ.setdefault("BENCH_DURATION", "10")
sys.path.insert(0, BENCH)

import bench  # noqa: E402  (load generator and /proc helpers)
import scale  # noqa: E402  (server start/stop and back ends)
import signin_burst as sb  # noqa: E402  (cookie-keeping connection)

REFRESHES = int(os.environ.get("BENCH_SCALE_REFRESHES", "300"))
# BENCH_SCALE_PERF=FILE: also write a flat perf profile of a token-exchange run to FILE.
PERF_OUT = os.environ.get("BENCH_SCALE_PERF", "")
PASSWORD = "correct horse battery staple"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
ACCESS = "urn:ietf:params:oauth:token-type:access_token"


def log(msg: str) -> None:
    print(f"[scale-tokens] {msg}", file=sys.stderr, flush=True)


def form(d: dict) -> bytes:
    return urllib.parse.urlencode(d).encode()


def refresh_case(server: scale.Server) -> dict:
    base = f"http://127.0.0.1:{server.port}"
    zone, client_id = sb.setup(base, scale.ADMIN_KEY)
    c = sb.Conn(base)
    verifier = secrets.token_urlsafe(48)
    challenge = sb.b64url(hashlib.sha256(verifier.encode()).digest())
    q = urllib.parse.urlencode({
        "response_type": "code", "client_id": client_id, "redirect_uri": sb.REDIRECT_URI,
        "scope": "openid", "code_challenge": challenge, "code_challenge_method": "S256",
        "state": "s"})
    st, h, body = c.request("GET", f"/z/{zone}/oauth/2/authorize?{q}")
    st, h, body = c.request("GET", sb.path_of(h["location"]))
    fields = {k: html.unescape(v) for k, v in sb._HIDDEN.findall(body.decode())}
    st, h, body = c.request("POST", f"/z/{zone}/login", form({
        **fields, "email": "refresh@example.test", "password": PASSWORD, "intent": "signup"}), FORM)
    for _ in range(6):
        loc = h.get("location", "")
        if loc.startswith(sb.REDIRECT_URI):
            break
        if st in (302, 303):
            st, h, body = c.request("GET", sb.path_of(loc))
            continue
        fields = {k: html.unescape(v) for k, v in sb._HIDDEN.findall(body.decode())}
        st, h, body = c.request("POST", f"/z/{zone}/login/consent",
                                form({**fields, "decision": "allow"}), FORM)
    code = urllib.parse.parse_qs(urllib.parse.urlsplit(h["location"]).query)["code"][0]
    st, h, body = c.request("POST", f"/z/{zone}/oauth/2/token", form({
        "grant_type": "authorization_code", "code": code, "redirect_uri": sb.REDIRECT_URI,
        "code_verifier": verifier, "client_id": client_id}), FORM)
    tokens = json.loads(body)
    if st != 200 or "refresh_token" not in tokens:
        raise SystemExit(f"code redemption -> {st}: {body[:300]!r}")
    rt = tokens["refresh_token"]

    def counts() -> tuple[int, int]:
        out = server.sql(f"SELECT (SELECT COUNT(*) FROM sessions WHERE zone_id = '{zone}'), "
                         f"(SELECT COUNT(*) FROM refresh_tokens WHERE zone_id = '{zone}')")
        a, b = out.strip().split("|")
        return int(a), int(b)

    time.sleep(3)  # let background work of the set-up (the RSA key pool's refill) finish first
    rows0 = counts()
    lat = []
    cpu0 = scale.cpu_seconds(server.proc.pid)
    for _ in range(REFRESHES):
        t0 = time.perf_counter()
        st, h, body = c.request("POST", f"/z/{zone}/oauth/2/token", form({
            "grant_type": "refresh_token", "refresh_token": rt, "client_id": client_id}), FORM)
        lat.append((time.perf_counter() - t0) * 1e3)
        if st != 200:
            raise SystemExit(f"refresh -> {st}: {body[:300]!r}")
        rt = json.loads(body)["refresh_token"]
    cpu = scale.cpu_seconds(server.proc.pid) - cpu0
    rows1 = counts()
    r = {"name": "refresh", "n": REFRESHES, "cpu_us_per_req": cpu * 1e6 / REFRESHES,
         "p50_ms": sorted(lat)[len(lat) // 2], "p99_ms": scale.pct(lat, 99),
         "sessions_per_refresh": (rows1[0] - rows0[0]) / REFRESHES,
         "refresh_rows_per_refresh": (rows1[1] - rows0[1]) / REFRESHES}
    log(f"refresh: {r['cpu_us_per_req']:.0f} us CPU, p50 {r['p50_ms']:.2f} ms; "
        f"+{r['sessions_per_refresh']:.2f} sessions, +{r['refresh_rows_per_refresh']:.2f} "
        f"refresh rows per refresh")
    return r


def exchange_setup(server: scale.Server) -> dict:
    """An ES256 zone where caller --client_credentials--> api (owned by server) --exchange by
    server--> downstream; checks one token of each kind and returns the token URL, both request
    bodies and both clients' Basic credentials."""
    c = scale.Conn(server.port)
    z = c.ok("POST", "/zones", {"name": "exchange", "signing_alg": "ES256"})["id"]
    down = c.ok("POST", f"/zones/{z}/resources", {"identifier": "https://down.bench", "name": "Down"})
    srv = c.ok("POST", f"/zones/{z}/applications", {"identifier": "server-app", "name": "Server",
                                                   "dependencies": [{"id": down["id"]}]})
    api = c.ok("POST", f"/zones/{z}/resources", {"identifier": "https://api.bench", "name": "API",
                                                "application_id": srv["id"]})
    caller = c.ok("POST", f"/zones/{z}/applications", {"identifier": "caller-app", "name": "Caller",
                                                      "dependencies": [{"id": api["id"]}]})

    def cred(app: dict) -> str:
        k = c.ok("POST", f"/zones/{z}/application-credentials",
                 {"application_id": app["id"], "type": "password"})
        return bench.basic(k["identifier"], k["password"])

    caller_auth, server_auth = cred(caller), cred(srv)
    base = f"http://127.0.0.1:{server.port}"
    url = f"{base}/z/{z}/oauth/2/token"
    cc_body = "grant_type=client_credentials&resource=" + urllib.parse.quote("https://api.bench", safe="")
    st, subject = bench.http("POST", url, cc_body, {**FORM, "Authorization": caller_auth})
    if st != 200:
        raise SystemExit(f"client_credentials -> {st}: {subject}")
    ex_body = urllib.parse.urlencode({
        "grant_type": "urn:ietf:params:oauth:grant-type:token-exchange",
        "subject_token": subject["access_token"], "subject_token_type": ACCESS,
        "resource": "https://down.bench"})
    st, j = bench.http("POST", url, ex_body, {**FORM, "Authorization": server_auth})
    if st != 200:
        raise SystemExit(f"token exchange -> {st}: {j}")
    return {"zone_id": z, "url": url, "cc_body": cc_body, "caller_auth": caller_auth,
            "ex_body": ex_body, "server_auth": server_auth}


def exchange_cases(server: scale.Server) -> list[dict]:
    x = exchange_setup(server)
    url, cc_body, ex_body = x["url"], x["cc_body"], x["ex_body"]
    caller_auth, server_auth = x["caller_auth"], x["server_auth"]
    if PERF_OUT:
        profile(server, url, ex_body, server_auth)
    out = []
    for name, body, auth in (("client-credentials-es256", cc_body, caller_auth),
                             ("token-exchange-es256", ex_body, server_auth)):
        r = bench.run_case(name, "latchkey", server.proc.pid, url, "POST", body,
                           {**FORM, "Authorization": auth})
        out.append({k: r[k] for k in ("name", "rps", "p50_ms", "p99_ms", "cpu_us_per_req",
                                      "user_us_per_req", "sys_us_per_req", "ok", "non2xx")})
    return out


def profile(server: scale.Server, url: str, body: str, auth: str) -> None:
    """A flat perf profile of the server during an extra (unmeasured) token-exchange run."""
    data = PERF_OUT + ".data"
    gen = subprocess.Popen(bench.loadgen_cmd(url, 12, "POST", body, {**FORM, "Authorization": auth}),
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(2)
        subprocess.run(["perf", "record", "-F", "999", "-p", str(server.proc.pid), "-o", data,
                        "--", "sleep", "8"], check=True, capture_output=True)
    finally:
        gen.wait()
    rep = subprocess.run(["perf", "report", "-i", data, "--no-children", "--sort", "dso,sym",
                          "--percent-limit", "0.3", "--stdio"], capture_output=True, text=True)
    with open(PERF_OUT, "w") as f:
        f.write(rep.stdout)
    log(f"profile: {PERF_OUT}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(scale.ROOT, "target", "release", "latchkey"))
    ap.add_argument("--backend", default="sqlite", choices=["sqlite", "postgres"])
    ap.add_argument("--label", default="after")
    a = ap.parse_args()
    os.makedirs(scale.OUT, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="latchkey-scale-tokens-")
    server = scale.Server(a.bin, a.backend, tmp)
    res: dict = {"backend": a.backend, "label": a.label, "cases": []}
    try:
        server.start()
        res["cases"].append(refresh_case(server))
        res["cases"].extend(exchange_cases(server))
    finally:
        server.stop()
        server.drop()
        shutil.rmtree(tmp, ignore_errors=True)
    out = os.path.join(scale.OUT, f"scale-tokens-{a.label}-{a.backend}.json")
    with open(out, "w") as f:
        json.dump(res, f, indent=2)
    log(f"wrote {out}")


if __name__ == "__main__":
    main()
