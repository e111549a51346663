"""Checks of the Grafana dashboards in deploy/grafana (used by check_deploy.py).

Each `*.json` must parse, have schemaVersion >= 36 and a Prometheus datasource variable that
every panel uses, and query only the metrics the server exports (METRICS below, with their
labels): a metric name or a label that is not listed is an error, and so is a listed metric
family that no panel shows. PromQL is read just enough for that: strings, ranges and label
matchers are set aside, `name(` is a function, any other name is a metric.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

HISTOGRAM = ("_bucket", "_sum", "_count")
# Metric family -> its labels; a family ending in `_seconds` is a histogram.
METRICS = {
    "latchkey_http_requests_total": {"route", "method", "status"},
    "latchkey_http_request_duration_seconds": {"route", "method"},
    "latchkey_tokens_issued_total": {"zone", "grant_type"},
    "latchkey_tokens_denied_total": {"zone", "grant_type", "error"},
    "latchkey_policy_decisions_total": {"zone", "decision"},
    "latchkey_sign_in_attempts_total": {"result"},
    "latchkey_cache_requests_total": {"cache", "result"},
    "latchkey_db_pool_connections": {"state"},
    "latchkey_db_pool_max_connections": set(),
    "latchkey_db_acquire_duration_seconds": set(),
    "latchkey_password_hash_waiting": set(),
    "latchkey_password_hash_duration_seconds": set(),
    "latchkey_invalidations_total": {"origin"},
    "latchkey_invalidation_resyncs_total": set(),
    "latchkey_build_info": {"version"},
}
TARGET_LABELS = {"job", "instance", "pod", "namespace"}  # added by Prometheus when it scrapes
FUNCTIONS = {
    "rate", "irate", "increase", "delta", "sum", "avg", "min", "max", "count", "topk", "bottomk",
    "histogram_quantile", "clamp_min", "clamp_max", "abs", "vector", "scalar", "time", "label_replace",
    "avg_over_time", "max_over_time", "min_over_time", "sum_over_time", "absent", "changes", "resets",
}
KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or", "unless", "offset"}


def family(name: str) -> str | None:
    """The METRICS family a series name belongs to, or None."""
    if name in METRICS:
        return name
    for suffix in HISTOGRAM:
        base = name.removesuffix(suffix)
        if base != name and base in METRICS and base.endswith("_seconds"):
            return base
    return None


def read_promql(expr: str) -> tuple[set[str], set[str], set[str]]:
    """(metric names, label names, function names) used by `expr`."""
    s = re.sub(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'', '""', expr)
    s = re.sub(r"\[[^\]]*\]", " ", s)
    labels: set[str] = set()
    for m in re.finditer(r"\{([^}]*)\}", s):
        labels |= set(re.findall(r"([A-Za-z_]\w*)\s*(?:=~|!~|!=|=)", m.group(1)))
    s = re.sub(r"\{[^}]*\}", " ", s)
    grouping = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)")
    for m in grouping.finditer(s):
        labels |= set(re.findall(r"[A-Za-z_]\w*", m.group(1)))
    s = grouping.sub(" ", s)
    names, functions = set(), set()
    for m in re.finditer(r"[A-Za-z_:][A-Za-z0-9_:]*", s):
        token, before = m.group(0), s[m.start() - 1] if m.start() else " "
        if before.isdigit() or before == ".":  # 5m, 1e3
            continue
        if s[m.end() :].lstrip().startswith("("):
            functions.add(token)
        elif token not in KEYWORDS:
            names.add(token)
    return names, labels, functions


def check_expr(where: str, expr: str, problems, shown: set) -> None:
    names, labels, functions = read_promql(expr)
    for f in sorted(functions - FUNCTIONS):
        problems.add(where, f"unknown PromQL function {f}() in `{expr}`")
    allowed = set(TARGET_LABELS)
    for name in sorted(names):
        fam = family(name)
        if fam is None:
            problems.add(where, f"unknown metric {name!r} (not exported by the server) in `{expr}`")
            continue
        shown.add(fam)
        allowed |= METRICS[fam] | ({"le"} if name.endswith("_bucket") else set())
    for label in sorted(labels - allowed):
        problems.add(where, f"label {label!r} belongs to none of the metrics in `{expr}`")
    if not names:
        problems.add(where, f"`{expr}` queries no metric")


def panels(items: list) -> list:
    out = []
    for p in items or []:
        out.append(p)
        out += panels(p.get("panels") or [])
    return out


def check_file(path: Path, problems) -> None:
    try:
        dash = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as e:
        return problems.add(path, f"not readable JSON: {e}")
    if not isinstance(dash.get("schemaVersion"), int) or dash["schemaVersion"] < 36:
        problems.add(path, f"schemaVersion {dash.get('schemaVersion')!r} must be at least 36")
    for key in ("title", "uid"):
        if not dash.get(key):
            problems.add(path, f"no {key}")
    variables = (dash.get("templating") or {}).get("list") or []
    sources = [v["name"] for v in variables if v.get("type") == "datasource" and v.get("query") == "prometheus"]
    if not sources:
        return problems.add(path, "no Prometheus datasource variable (templating type datasource, query prometheus)")
    refs = {f"${s}" for s in sources} | {f"${{{s}}}" for s in sources}
    shown: set = set()
    for v in variables:
        if v.get("type") == "query":
            query = v.get("query")
            query = query.get("query") if isinstance(query, dict) else query
            m = re.fullmatch(r"\s*label_values\((.*),\s*(\w+)\s*\)\s*", str(query))
            if not m:
                problems.add(f"{path} variable {v.get('name')}", f"query {query!r} is not label_values(selector, label)")
                continue
            check_expr(f"{path} variable {v.get('name')}", f"{m.group(1)}{{{m.group(2)}=\"\"}}", problems, shown)
            if (v.get("datasource") or {}).get("uid") not in refs:
                problems.add(f"{path} variable {v.get('name')}", "does not use the datasource variable")
    ids = set()
    all_panels = panels(dash.get("panels") or [])
    if not all_panels:
        problems.add(path, "no panels")
    for p in all_panels:
        where = f"{path} panel {p.get('title')!r}"
        if p.get("id") in ids:
            problems.add(where, f"id {p.get('id')} is used twice")
        ids.add(p.get("id"))
        if p.get("type") == "row":
            continue
        if (p.get("datasource") or {}).get("uid") not in refs:
            problems.add(where, f"datasource must be the variable ({sorted(refs)})")
        targets = p.get("targets") or []
        if not targets:
            problems.add(where, "no queries")
        for t in targets:
            if not t.get("expr"):
                problems.add(where, f"query {t.get('refId')} has no expr")
            else:
                check_expr(where, t["expr"], problems, shown)
    for fam in sorted(set(METRICS) - shown):
        problems.add(path, f"metric {fam} is shown on no panel")


def check_dir(directory: Path, problems) -> None:
    files = sorted(Path(directory).glob("*.json"))
    if not files:
        return problems.add(directory, "no dashboard (*.json)")
    for f in files:
        check_file(f, problems)
