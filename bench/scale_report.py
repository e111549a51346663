#!/usr/bin/env python3
"""Writes the "Scale (issue 13)" section of bench/REPORT.md from bench/.out/scale-*.json
(written by bench/scale.py and bench/scale_tokens.py, label `before` and `after`).

    python3 bench/scale_report.py NOTES.md

The section sits between the markers below; bench.py keeps it when it rewrites the rest of the
report. NOTES.md (hand-written reading of the numbers: machine, what the run cannot show) is
placed after the tables.
"""

from __future__ import annotations

import json
import os
import sys

import report_section

BENCH = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(BENCH, ".out")
REPORT = os.path.join(BENCH, "REPORT.md")
BEGIN, END = "<!-- scale:begin -->", "<!-- scale:end -->"
BACKENDS = ("sqlite", "postgres")
LABELS = {
    "create-empty": "application create, zone nearly empty (sequential)",
    "create-full": "application create, zone full (sequential)",
    "create-concurrent": "application creates/s, zone full, concurrent writers",
    "list-first-page": "list, first page (limit 20)",
    "list-deep-page": "list, deep page (cursor at row ~99 %)",
    "list-total-count": "list, `expand[]=total_count`",
    "list-query-rare": "list, `query[]` matching one row",
    "list-query-common": "list, `query[]` matching every row",
    "list-sort-name": "list, `sort=name`",
    "list-sort-name-desc": "list, `sort=-name`",
    "list-100-rows": "list, limit 100 (row mapping)",
    "zone-create-rs256": "RS256 zone create (sequential, 1.5 s apart)",
    "refresh": "refresh_token grant (sequential)",
    "client-credentials-es256": "client_credentials, ES256 (load generator)",
    "token-exchange-es256": "token exchange, ES256 (load generator)",
}


def load(kind: str, label: str, backend: str) -> dict:
    name = f"scale-{label}-{backend}.json" if kind == "scale" else f"scale-tokens-{label}-{backend}.json"
    try:
        with open(os.path.join(OUT, name)) as f:
            return {c["name"]: c for c in json.load(f)["cases"]}
    except OSError:
        return {}


def cell(c: dict | None) -> str:
    if not c:
        return "—"
    if "per_s" in c:
        return f"{c['per_s']:.0f}/s, {c['cpu_us_per_req'] / 1e3:.2f} ms CPU each"
    if "max_ms" in c:
        return f"p50 {c['p50_ms']:.0f} ms, max {c['max_ms']:.0f} ms"
    cpu = c["cpu_us_per_req"]
    cpu_s = f"{cpu / 1e3:.2f} ms" if cpu >= 1000 else f"{cpu:.0f} µs"
    return f"{c['p50_ms']:.2f} / {c['p99_ms']:.2f} ms, {cpu_s} CPU"


def section(notes: str) -> str:
    rows = ["| case | " + " | ".join(f"{b} before | {b} after" for b in BACKENDS) + " |",
            "|---|" + "---|" * (2 * len(BACKENDS))]
    data = {(k, l, b): {**load("scale", l, b), **load("tokens", l, b)}
            for k in ("x",) for l in ("before", "after") for b in BACKENDS}
    for name, label in LABELS.items():
        cells = []
        for b in BACKENDS:
            for l in ("before", "after"):
                cells.append(cell(data[("x", l, b)].get(name)))
        if any(c != "—" for c in cells):
            rows.append(f"| {label} | " + " | ".join(cells) + " |")
    extra = []
    for b in BACKENDS:
        for l in ("before", "after"):
            r = data[("x", l, b)].get("refresh")
            if r:
                extra.append(f"- {b}, {l}: per refresh +{r['sessions_per_refresh']:.2f} session rows, "
                             f"+{r['refresh_rows_per_refresh']:.2f} refresh-token rows (before any purge).")
    body = "\n".join(rows)
    return (f"{BEGIN}\n## Scale (issue 13)\n\nCells: p50 / p99 latency and server CPU per request "
            f"(utime+stime of the server process over the case ÷ requests), unless the row says "
            f"otherwise. Produced by `bench/scale.py` and `bench/scale_tokens.py` (see Commands "
            f"there); raw numbers in `bench/.out/scale-*.json`.\n\n{body}\n\n"
            + ("\n".join(extra) + "\n\n" if extra else "") + notes.strip() + f"\n{END}\n")


def main() -> None:
    notes = open(sys.argv[1]).read() if len(sys.argv) > 1 else ""
    report_section.write(REPORT, BEGIN, END, section(notes))


if __name__ == "__main__":
    main()
