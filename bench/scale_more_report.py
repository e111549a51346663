#!/usr/bin/env python3
"""Writes the "Scale, part 2 (issue 13)" section of bench/REPORT.md from
bench/.out/scale-more-{zones,writes,coldstart,tokens}.json (bench/scale_more.py), right after the
`<!-- scale:end -->` marker, between its own markers (bench.py keeps it when it rewrites the rest).

    python3 bench/scale_more_report.py [NOTES.md]
    python3 bench/scale_more_report.py --runs RUN.json...

NOTES.md (hand-written: the run, noise, what the numbers mean) is placed after the tables.
`--runs` prints (markdown, to stdout) the verdict over several `scale_more.py zones` runs of one
binary, each with fresh processes: each run's mean paired ratio is one sample, and the interval
is Student's t over the runs, so it holds the spread between processes that one run's rounds,
all paired within one pair of processes, leave out.
"""

from __future__ import annotations

import json
import os
import statistics
import sys

import report_section

BENCH = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(BENCH, ".out")
REPORT = os.path.join(BENCH, "REPORT.md")
BEGIN, END = "<!-- scale2:begin -->", "<!-- scale2:end -->"
AFTER = "<!-- scale:end -->"
ES256_MAX_OVER_US = 25.0
PG_MAX_RATIO = 1.10
COLD_MAX_MS = 1000.0


def load(case: str) -> dict | None:
    try:
        with open(os.path.join(OUT, f"scale-more-{case}.json")) as f:
            return json.load(f)
    except OSError:
        return None


def med(rounds: list[dict], key: str, label: str | None = None) -> float:
    xs = [r[key] for r in rounds if label is None or r["label"] == label]
    return statistics.median(xs) if xs else float("nan")


def round_rows(rounds: list[dict], pg: bool = False) -> list[str]:
    head = ("| round | tokens/s | p50 / p99 ms | CPU/token µs | user / sys µs |"
            + (" PostgreSQL µs/token |" if pg else "") + " cores: server / load gen / other |")
    rows = [head, "|---|---:|---|---:|---|" + ("---:|" if pg else "") + "---|"]
    for r in rounds:
        pg_cell = f" {r['postgres_us_per_token']:.1f} |" if pg and r.get("postgres_us_per_token") is not None \
            else (" — |" if pg else "")
        rows.append(f"| {r['label']} | {r['rps']:,.0f} | {r['p50_ms']:.2f} / {r['p99_ms']:.2f} "
                    f"| {r['cpu_us_per_token']:.1f} | {r['user_us_per_token']:.1f} / {r['sys_us_per_token']:.1f} |"
                    f"{pg_cell} {r['server_cores']:.2f} / {r['loadgen_cores']:.2f} / {r['other_cores']:.2f} |")
    return rows


def verdict(ok: bool, how: str) -> str:
    return f"**met** ({how})" if ok else f"**missed** ({how})"


def zones_part(z: dict, targets: list[str]) -> list[str]:
    one = "one zone, 1 zone exists"
    spread = f"spread over {z['zones']} zones"
    one_all = f"one zone, {z['zones']} zones exist"
    base, sp, oa = (med(z["rounds"], "cpu_us_per_token", k) for k in (one, spread, one_all))
    diff = (sp / base - 1) * 100
    targets.append(f"| CPU per client_credentials token, load spread over {z['zones']:,} zones' clients, "
                   f"no worse than on one zone | {sp:.1f} µs spread vs {base:.1f} µs on a one-zone server "
                   f"({diff:+.1f} %); {oa:.1f} µs on one zone of the {z['zones']:,} | "
                   + verdict(sp <= base, f"{diff:+.1f} %") + " |")
    pair_lines = pairs_part(z, targets)
    cs = z["cold_start"]
    return [
        f"### {z['zones']:,} zones", "",
        f"One SQLite server. Each zone: `POST /zones` (ES256), a resource, an application depending on it "
        f"and a password credential (4 requests; p50 {z['create_zone_with_client_ms_p50']:.1f} ms for the "
        f"four, {z['create_seconds']:.0f} s for {z['zones'] - 1:,} zones). Warm = one token from every "
        f"client, then a 2 s wrk run. The spread rounds send each request to the next client "
        f"round-robin (a wrk script; every zone is hit every {z['zones']:,} requests); the one-zone rounds "
        f"use the same script with one client. Rounds interleaved; medians below.", "",
        *round_rows(z["rounds"]), "",
        f"- CPU/token (median): one-zone server **{base:.1f} µs**; spread over {z['zones']:,} zones "
        f"**{sp:.1f} µs** ({diff:+.1f} %); one zone while {z['zones']:,} exist {oa:.1f} µs.",
        f"- RSS: {z['rss_fresh_mib']:.1f} MiB fresh; {z['rss_one_zone_mib']:.1f} MiB with one zone, warm; "
        f"{z['rss_all_zones_mib']:.1f} MiB with {z['zones']:,}, warm: **{z['rss_per_zone_kib']:.1f} KiB per "
        f"zone** (({z['rss_all_zones_mib']:.1f} − {z['rss_one_zone_mib']:.1f}) MiB ÷ {z['zones'] - 1:,}); "
        f"{z['rss_after_load_mib']:.1f} MiB after the load rounds, peak {z['vmhwm_mib']:.1f} MiB.",
        f"- Cold start of the {z['zones']:,}-zone SQLite database ({cs['n']} starts): /healthz "
        f"{cs['healthz_ms_median']:.0f} ms median (max {cs['healthz_ms_max']:.0f}), /readyz "
        f"{cs['readyz_ms_median']:.0f} ms.", *pair_lines, ""]


def pairs_part(z: dict, targets: list[str]) -> list[str]:
    """The short runs in rotating order: the mean paired ratios with their bootstrap intervals.

    The verdict rule, fixed before any run: a comparison is met when the interval reaches 0 or
    below (no detectable cost) and is at most ±5 % wide (precise enough to say so). Runs with a
    `clients` load (from stop 25) judge the target on spread over the zones against the same
    number of clients in one zone, the comparison in which only the number of zones differs;
    spread against one client of the one-zone server is reported beside it."""
    p = z.get("pairs")
    if not p:
        return []
    scripts = ("every wrk script one entry per zone" if p.get("equal_scripts")
               else "the single-client scripts one entry long")
    n = z["zones"]
    whats = [("spread", "alone", "the one-zone server's one client"),
             ("spread", "one", f"one zone of the {n:,}"),
             ("spread", "clients", f"the one-zone server's {n:,} clients"),
             ("clients", "alone", "one client of the same server")]
    loads = "four" if "clients_vs_alone" in p else "three"
    lines = [f"- {p['pairs']} rounds of {p['seconds']} s runs of the {loads} loads ({scripts}), their "
             "order rotated each round:"]
    for load, base, what in whats:
        r = p.get(f"{load}_vs_{base}")
        if r is None:
            continue
        lo, hi = r["ci95"]
        label = f"spread over {n:,} zones" if load == "spread" else f"{n:,} clients in one zone"
        lines.append(f"  {label} against {what}: mean {r['mean'] * 100:+.1f} %, median "
                     f"{r['median'] * 100:+.1f} %, 95 % bootstrap interval of the mean "
                     f"[{lo * 100:+.1f}, {hi * 100:+.1f}] %.")
    judged = "spread_vs_clients" if "spread_vs_clients" in p else "spread_vs_alone"
    against = (f"the same {n:,} clients in one zone" if judged == "spread_vs_clients"
               else "one client of a one-zone server")
    r = p[judged]
    lo, hi = r["ci95"]
    ok = lo <= 0 and (hi - lo) / 2 <= 0.05
    targets.append(f"| Same, paired short runs in rotating order ({p['pairs']} rounds), spread over "
                   f"{n:,} zones against {against} | mean {r['mean'] * 100:+.1f} %, 95 % interval "
                   f"[{lo * 100:+.1f}, {hi * 100:+.1f}] % | "
                   + verdict(ok, "interval reaches 0, half-width ≤ 5 %" if ok
                             else "interval above 0 or wider than ±5 %") + " |")
    return lines


def writes_part(w: dict) -> list[str]:
    rows = ["| phase | writes | answers | writes/s | server CPU/write | RSS before → after MiB | kept per write |",
            "|---|---:|---|---:|---:|---|---:|"]
    for p in w["phases"]:
        st = ", ".join(f"{v:,}× {k}" for k, v in p["statuses"].items())
        rows.append(f"| {p['label']} | {p['n']:,} | {st} | {p['per_s']:,.0f} | {p['cpu_us_per_write'] / 1e3:.2f} ms "
                    f"| {p['rss_before_mib']:.1f} → {p['rss_after_mib']:.1f} | **{p['bytes_per_write']:,.0f} B** |")
    return [
        "### Memory per management write", "",
        f"One SQLite server, one ES256 zone; {w['warm_creates']:,} creates first to warm up (RSS "
        f"{w['rss_start_mib']:.1f} MiB after). Each phase runs from 4 keep-alive connections; RSS (VmRSS) "
        f"is read 2 s after the phase before and after it. *Kept per write* = RSS growth ÷ writes.", "",
        *rows, "", f"Peak RSS over the whole run: {w['vmhwm_mib']:.1f} MiB.", ""]


def cold_part(c: dict, targets: list[str]) -> list[str]:
    rows = ["| back end | applications in the zone | starts | /healthz median ms | /healthz max ms "
            "| /readyz median ms | seed s |", "|---|---:|---:|---:|---:|---:|---:|"]
    worst = 0.0
    for b in c["backends"]:
        for key, n, seed in (("empty", 1, ""), ("seeded", b["applications_in_zone"], f"{b['seed_seconds']:.1f}")):
            s = b[key]
            worst = max(worst, s["healthz_ms_max"]) if key == "seeded" else worst
            rows.append(f"| {b['backend']} | {n:,} | {s['n']} | **{s['healthz_ms_median']:.0f}** | "
                        f"{s['healthz_ms_max']:.0f} | {s['readyz_ms_median']:.0f} | {seed} |")
    rows_n = max(b["applications_in_zone"] for b in c["backends"])
    targets.append(f"| cold start (exec → first `/healthz` 200) with {rows_n:,} applications in one zone < 1 s | "
                   + "; ".join(f"{b['backend']} {b['seeded']['healthz_ms_median']:.0f} ms median, "
                               f"{b['seeded']['healthz_ms_max']:.0f} ms max" for b in c["backends"])
                   + " | " + verdict(worst < COLD_MAX_MS, f"worst start {worst:.0f} ms") + " |")
    return ["### Cold start", "",
            "Time from `exec` of `latchkey serve` to the first 200 of `/healthz` (a new connection every "
            "1 ms), then of `/readyz`; each start stopped with SIGTERM before the next. The same zone "
            "before and after seeding its applications (`INSERT … SELECT`, as bench/scale.py). The "
            "database files stay in the OS page cache between starts (warm disk).", "",
            *rows, ""]


def tokens_part(t: dict, targets: list[str]) -> list[str]:
    sign = t["sign"]["aws_lc_rs"]["ES256"]
    samples = [s["ES256"]["us"] for s in t["sign"]["aws_lc_rs_samples"]]
    gens = sorted({r.get("generator", "wrk") for r in t["rounds"]})

    def m(gen: str, label_end: str, key: str = "cpu_us_per_token") -> float:
        return med([r for r in t["rounds"] if r.get("generator", "wrk") == gen
                    and r["label"].endswith(label_end) and r["label"].startswith("ES256")], key)

    def floor(gen: str) -> float:
        return med([r for r in t["rounds"] if r.get("generator", "wrk") == gen
                    and r["label"].startswith("metadata")], "cpu_us_per_token")

    es, pgs, reading = [], [], []
    for gen in gens:
        cl, cp, pgdb = m(gen, "sqlite"), m(gen, "postgres"), m(gen, "postgres", "postgres_us_per_token")
        over = cl - sign["us"]
        es.append((gen, cl, over))
        pgs.append((gen, cl, cp, pgdb))
        reading.append(f"- {gen}: CPU/token (median) SQLite **{cl:.1f} µs**, PostgreSQL **{cp:.1f} µs** "
                       f"(+ {pgdb:.1f} µs in the `postgres` processes, warm-up included); "
                       f"{over:.1f} µs beyond the signature; metadata document (the per-request floor) "
                       f"{floor(gen):.1f} µs, so ≈ {cl - sign['us'] - floor(gen):.1f} µs is token work "
                       f"other than the signature and the floor.")
    lim = sign["us"] + ES256_MAX_OVER_US
    targets.append(f"| ES256 client_credentials ≤ one signature + {ES256_MAX_OVER_US:.0f} µs (signature "
                   f"{sign['us']:.1f} µs: ≤ {lim:.1f} µs) | "
                   + "; ".join(f"{g}: {cl:.1f} µs/token (SQLite)" for g, cl, _ in es) + " | "
                   + "; ".join(verdict(o <= ES256_MAX_OVER_US, f"{g}: {o:.1f} µs beyond the signature")
                               for g, _, o in es) + " |")
    targets.append("| client_credentials on PostgreSQL within 10 % of SQLite CPU per token | "
                   + "; ".join(f"{g}: Latchkey {cp:.1f} µs vs {cl:.1f} µs, {cp / cl:.2f}× "
                               f"({(cp + pgdb) / cl:.2f}× with the `postgres` processes)" for g, cl, cp, pgdb in pgs)
                   + " | " + "; ".join(verdict(cp / cl <= PG_MAX_RATIO, f"{g}: {(cp / cl - 1) * 100:+.1f} %")
                                       for g, cl, cp, _ in pgs) + " |")
    rounds = [{**r, "label": f"{r['label']} ({r.get('generator', 'wrk')})"} for r in t["rounds"]]
    return ["### ES256 tokens; SQLite against PostgreSQL", "",
            f"Two servers, same binary: SQLite and PostgreSQL (local, same machine), one ES256 zone each; "
            f"{rounds_of(t)} rounds, each: the SQLite token, the PostgreSQL token and the metadata case "
            f"with every load generator in turn (same connections and duration). One ES256 signature "
            f"(`bench/sign-cost`, aws-lc-rs on one thread, CPU time) timed before and after: "
            f"{', '.join(f'{x:.2f}' for x in samples)} µs (median {sign['us']:.2f}).", "",
            *round_rows(rounds, pg=True), "", *reading, ""]


def rounds_of(t: dict) -> int:
    return sum(1 for r in t["rounds"] if r["label"].startswith("metadata")) // max(
        1, len({r.get("generator", "wrk") for r in t["rounds"]}))


def any_oha() -> bool:
    t = load("tokens")
    return bool(t) and any(r.get("generator") == "oha" for r in t["rounds"])


def section(notes: str) -> str:
    targets = ["| target | measured | verdict |", "|---|---|---|"]
    parts: list[str] = []
    runs = []
    for case, fn in (("zones", zones_part), ("writes", None), ("coldstart", cold_part), ("tokens", tokens_part)):
        d = load(case)
        if not d:
            continue
        runs.append(f"`{case}` {d['seconds']:.0f} s, load average at start {d['machine']['loadavg_at_start']}")
        parts += (fn(d, targets) if fn else writes_part(d))
    any_d = next((load(c) for c in ("zones", "writes", "coldstart", "tokens") if load(c)), None)
    binary = any_d["binary"] if any_d else {}
    head = [BEGIN, "## Scale, part 2 (issue 13)", "",
            f"Produced by `bench/scale_more.py` (cases `zones`, `writes`, `coldstart`, `tokens`) and "
            f"`bench/scale_more_report.py`; raw numbers in `bench/.out/scale-more-*.json`. Binary: "
            f"{binary.get('build', '?')} build of the Rust sources at `{binary.get('source', '?')}` (sha256 "
            f"{binary.get('sha256', '?')}…). Load generator: {any_d['loadgen'] if any_d else '?'}"
            f"{' (`tokens`: also oha, the same settings)' if any_oha() else ''}. "
            f"Runs: {'; '.join(runs)}.", "", "**Targets.**", "", *targets, ""]
    return "\n".join(head + parts) + "\n" + notes.strip() + f"\n{END}\n"


# Two-sided 95 % quantiles of Student's t, by degrees of freedom (1 to 20).
T95 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
       2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086]


def runs_part(paths: list[str]) -> list[str]:
    """The verdict over runs (see `--runs`), with the rule of `pairs_part`."""
    runs = [json.load(open(p))["pairs"] for p in paths]
    if not 2 <= len(runs) <= len(T95) + 1:
        raise SystemExit(f"--runs takes 2 to {len(T95) + 1} runs")
    lines = ["| comparison | runs | mean of the runs | sd | 95 % interval over runs | verdict |",
             "|---|---|---:|---:|---:|---|"]
    for key, what in (("spread_vs_alone", "spread against one client of a one-zone server"),
                      ("clients_vs_alone", "1,000 clients in one zone against one client"),
                      ("spread_vs_clients", "spread against the same clients in one zone"),
                      ("spread_vs_one", "spread against one zone of the same 1,000")):
        xs = [r[key]["mean"] for r in runs if key in r]
        if len(xs) < 2:
            continue
        m, sd = statistics.fmean(xs), statistics.stdev(xs)
        half = T95[len(xs) - 2] * sd / len(xs) ** 0.5
        ok = m - half <= 0 and half <= 0.05
        lines.append(f"| {what} | {', '.join(f'{x * 100:+.1f}' for x in xs)} % | {m * 100:+.1f} % | "
                     f"{sd * 100:.1f} | [{(m - half) * 100:+.1f}, {(m + half) * 100:+.1f}] % | "
                     + verdict(ok, "interval reaches 0, half-width ≤ 5 %" if ok
                               else "interval above 0 or wider than ±5 %") + " |")
    return lines


def main() -> None:
    if sys.argv[1:2] == ["--runs"]:
        print("\n".join(runs_part(sys.argv[2:])))
        return
    notes = open(sys.argv[1]).read() if len(sys.argv) > 1 else ""
    report_section.write(REPORT, BEGIN, END, section(notes), after=AFTER)


if __name__ == "__main__":
    main()
