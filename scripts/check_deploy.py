#!/usr/bin/env python3
"""Checks the deployment files under deploy/ and fails loudly, naming the file and the problem.

  deploy/Dockerfile          multi-stage; the builder runs `cargo build --release --locked -p
                             latchkey-server`; the final stage runs as a numeric non-root USER,
                             EXPOSEs 8080, has exec-form ENTRYPOINT/CMD; no `ADD <url>`
  .dockerignore              keeps target/ and .git out of the build context
  deploy/docker-compose.yml  PostgreSQL 16 and two or more Latchkey replicas of one image, each
                             read-only with a /healthz healthcheck, waiting for PostgreSQL, and
                             sharing database URL, master key and public URL
  deploy/helm/latchkey       rendered (`helm template` when helm is on PATH, else the built-in
                             renderer scripts/helm_lite.py) with ci/test-values.yaml and with
                             overrides (scripts/check_deploy_chart.py checks the documents), and
                             refuses to render without database, master key or public URL
  deploy/grafana/*.json      see scripts/check_deploy_dashboard.py

Usage: check_deploy.py [--root DIR] [--renderer auto|helm|builtin]   (DIR: default the repo)
Needs PyYAML (the conformance venv has it; tests/ops/test_deploy.py runs this script).
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
import check_deploy_chart  # noqa: E402
import check_deploy_dashboard  # noqa: E402
import helm_lite  # noqa: E402

DATA_DIR = "/var/lib/latchkey"
SHARED_ENV = ("LATCHKEY_DATABASE_URL", "LATCHKEY_MASTER_KEY", "LATCHKEY_PUBLIC_URL")
INSTRUCTIONS = {
    "FROM", "RUN", "CMD", "LABEL", "EXPOSE", "ENV", "ADD", "COPY", "ENTRYPOINT", "VOLUME", "USER",
    "WORKDIR", "ARG", "ONBUILD", "STOPSIGNAL", "HEALTHCHECK", "SHELL",
}
KINDS = {"Deployment", "Service", "PodDisruptionBudget", "HorizontalPodAutoscaler", "Secret", "ServiceAccount"}


class Problems(list):
    def add(self, where: Path | str, message: str) -> None:
        self.append(f"{where}: {message}")


# ------------------------------------------------------------------------------------------
# Dockerfile and .dockerignore
# ------------------------------------------------------------------------------------------


def dockerfile_instructions(text: str) -> list[tuple[int, str, str]]:
    """(line, INSTRUCTION, arguments) with continuations joined and comments dropped."""
    out, pending, start = [], "", 0
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if pending and stripped.startswith("#"):
            continue
        if not pending:
            start = number
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        full = (pending + stripped).strip()
        pending = ""
        word, _, rest = full.partition(" ")
        out.append((start, word.upper(), rest.strip()))
    if pending:
        out.append((start, "<unterminated>", pending))
    return out


def exec_form(args: str) -> list | None:
    try:
        value = json.loads(args)
    except json.JSONDecodeError:
        return None
    return value if isinstance(value, list) and all(isinstance(v, str) for v in value) else None


def check_dockerfile(path: Path, problems: Problems) -> None:
    if not path.is_file():
        return problems.add(path, "missing")
    stages: list[dict] = []
    for line, word, args in dockerfile_instructions(path.read_text()):
        where = f"{path}:{line}"
        if word not in INSTRUCTIONS:
            problems.add(where, f"unknown instruction `{word}`")
            continue
        if word == "FROM":
            m = re.fullmatch(r"(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?", args, re.I)
            if not m:
                problems.add(where, f"cannot read `FROM {args}`")
                continue
            stages.append({"image": m.group(1), "name": m.group(2), "line": line, "items": []})
        elif not stages and word != "ARG":
            problems.add(where, f"`{word}` before the first FROM")
        elif stages:
            stages[-1]["items"].append((line, word, args))
        if word == "ADD" and re.search(r"(?:^|\s)(?:https?|git)://|\.git(?:\s|$)", args):
            problems.add(where, "ADD of a URL: download in a RUN with a checksum instead")
    if len(stages) < 2:
        return problems.add(path, f"not multi-stage ({len(stages)} FROM): build in one stage, run in another")
    build_stages = stages[:-1]
    if not any(s["name"] for s in build_stages):
        problems.add(path, "the build stage has no name (`FROM … AS builder`)")
    if not any(
        w == "RUN" and re.search(r"cargo build\b.*--release", a) and "--locked" in a and "latchkey-server" in a
        for s in build_stages for _, w, a in s["items"]
    ):
        problems.add(path, "no build stage runs `cargo build --release --locked -p latchkey-server`")
    final = stages[-1]
    where = f"{path}:{final['line']} (final stage)"
    items = {w: (l, a) for l, w, a in final["items"]}  # last of each
    if final["image"].split(":")[0].startswith("rust"):
        problems.add(where, f"runs on the build image {final['image']}")
    user = items.get("USER", (0, ""))[1]
    if not user:
        problems.add(where, "no USER: the container would run as root")
    elif not re.fullmatch(r"[1-9]\d*(:\d+)?", user):
        problems.add(where, f"USER {user!r} must be a numeric non-root UID (Kubernetes runAsNonRoot checks it)")
    for key in ("ENTRYPOINT", "CMD"):
        if key not in items:
            problems.add(where, f"no {key}")
        elif exec_form(items[key][1]) is None:
            problems.add(f"{path}:{items[key][0]}", f"{key} must be in exec form (a JSON array)")
    entry = exec_form(items.get("ENTRYPOINT", (0, ""))[1]) or []
    if entry[:1] != ["/usr/local/bin/latchkey"]:
        problems.add(where, f"ENTRYPOINT {entry} does not run /usr/local/bin/latchkey")
    cmd = exec_form(items.get("CMD", (0, ""))[1]) or []
    if cmd[:1] != ["serve"] or "0.0.0.0:8080" not in cmd:
        problems.add(where, f"CMD {cmd} must be `serve --listen 0.0.0.0:8080 …`")
    if "8080" not in items.get("EXPOSE", (0, ""))[1].replace("/tcp", "").split():
        problems.add(where, "does not EXPOSE 8080")
    if not any(w == "COPY" and "--from=" in a and "/usr/local/bin/latchkey" in a for _, w, a in final["items"]):
        problems.add(where, "does not COPY the binary from the build stage to /usr/local/bin/latchkey")
    if DATA_DIR not in items.get("VOLUME", (0, ""))[1]:
        problems.add(where, f"the data directory {DATA_DIR} is not a VOLUME")


def check_dockerignore(path: Path, problems: Problems) -> None:
    if not path.is_file():
        return problems.add(path, "missing: the build context would carry target/ and .git")
    lines = {l.strip().rstrip("/") for l in path.read_text().splitlines()}
    for needed in ("target", ".git"):
        if needed not in lines:
            problems.add(path, f"does not exclude {needed}/")


# ------------------------------------------------------------------------------------------
# docker-compose.yml
# ------------------------------------------------------------------------------------------


def check_compose(path: Path, problems: Problems) -> None:
    if not path.is_file():
        return problems.add(path, "missing")
    try:
        doc = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as e:
        return problems.add(path, f"not readable YAML: {e}")
    services = (doc or {}).get("services") or {}
    postgres = [n for n, s in services.items() if str((s or {}).get("image", "")).startswith("postgres:16")]
    if not postgres:
        return problems.add(path, "no PostgreSQL 16 service (image postgres:16…)")
    pg = postgres[0]
    if not (services[pg] or {}).get("healthcheck"):
        problems.add(path, f"service {pg}: no healthcheck (the replicas wait for it to be healthy)")
    replicas = {
        n: s for n, s in services.items()
        if isinstance(s, dict) and str((s.get("build") or {}).get("dockerfile", "")).endswith("deploy/Dockerfile")
    }
    if len(replicas) < 2:
        problems.add(path, f"{len(replicas)} Latchkey service(s) built from deploy/Dockerfile; want at least 2")
    for name, s in replicas.items():
        where = f"{path}: service {name}"
        env = s.get("environment") or {}
        if not isinstance(env, dict):
            problems.add(where, "environment must be a map")
            env = {}
        if s.get("read_only") is not True:
            problems.add(where, "read_only is not true")
        if not any(str(t).split(":")[0] == DATA_DIR for t in s.get("tmpfs") or []):
            problems.add(where, f"no tmpfs at the data directory {DATA_DIR}")
        test = (s.get("healthcheck") or {}).get("test") or []
        if "/healthz" not in " ".join(map(str, test if isinstance(test, list) else [test])):
            problems.add(where, "no healthcheck on /healthz")
        dep = (s.get("depends_on") or {}).get(pg) if isinstance(s.get("depends_on"), dict) else None
        if (dep or {}).get("condition") != "service_healthy":
            problems.add(where, f"does not wait for {pg} to be healthy (depends_on condition service_healthy)")
        for var in SHARED_ENV:
            if not env.get(var):
                problems.add(where, f"{var} is not set")
        if "serve" not in (s.get("command") or ["serve"]):
            problems.add(where, "command does not run `serve`")
    images = {str(s.get("image")) for s in replicas.values()}
    if len(images) > 1:
        problems.add(path, f"replicas run different images: {sorted(images)}")
    for var in SHARED_ENV:
        values = {str((s.get("environment") or {}).get(var)) for s in replicas.values()}
        if len(values) > 1:
            problems.add(path, f"{var} differs between replicas: every replica must have the same")
    ports = [p for s in replicas.values() for p in s.get("ports") or []]
    for want in ("8081:8080", "8082:8080"):
        if want not in map(str, ports):
            problems.add(path, f"no replica published as {want}")


# ------------------------------------------------------------------------------------------
# Helm chart
# ------------------------------------------------------------------------------------------


def flatten(tree: dict, prefix: str = "") -> list[tuple[str, object]]:
    out = []
    for k, v in tree.items():
        if isinstance(v, dict) and v:
            out += flatten(v, f"{prefix}{k}.")
        else:
            out.append((f"{prefix}{k}", v))
    return out


def render_chart(chart: Path, overrides: dict, renderer: str) -> list[dict]:
    """Rendered documents, or `helm_lite.TemplateError` with the renderer's message."""
    if renderer == "helm":
        cmd = ["helm", "template", "latchkey", str(chart), "--namespace", "default", "-f", str(chart / "ci" / "test-values.yaml")]
        for key, value in flatten(overrides):
            text = "null" if value is None else json.dumps(value) if isinstance(value, bool) else str(value)
            cmd += ["--set-string" if isinstance(value, str) else "--set", f"{key}={text}"]
        run = subprocess.run(cmd, capture_output=True, text=True)
        if run.returncode != 0:
            raise helm_lite.TemplateError(run.stderr.strip() or run.stdout.strip())
        texts = [run.stdout]
    else:
        c = helm_lite.Chart(chart)
        values = helm_lite.merge(yaml.safe_load((chart / "ci" / "test-values.yaml").read_text()) or {}, overrides)
        rendered = c.render(values)
        texts = [t for name, t in rendered.items() if name.endswith((".yaml", ".yml"))]
    docs = []
    for text in texts:
        docs += [d for d in yaml.safe_load_all(text) if d]
    return docs


def check_documents(chart: Path, docs: list, problems: Problems, scenario: str) -> dict:
    """Checks every document; returns {kind: [doc, …]}."""
    by_kind: dict[str, list] = {}
    seen = set()
    for doc in docs:
        kind, name = doc.get("kind"), (doc.get("metadata") or {}).get("name")
        where = f"{chart} [{scenario}] {kind}/{name}"
        if not doc.get("apiVersion") or not kind or not name:
            problems.add(where, "a document without apiVersion, kind or metadata.name")
            continue
        if kind not in KINDS:
            problems.add(where, f"unexpected kind {kind} (expected one of {sorted(KINDS)})")
        if (kind, name) in seen:
            problems.add(where, "rendered twice")
        seen.add((kind, name))
        by_kind.setdefault(kind, []).append(doc)
    deployments = by_kind.get("Deployment", [])
    if len(deployments) != 1:
        problems.add(f"{chart} [{scenario}]", f"{len(deployments)} Deployments rendered; want exactly 1")
        return by_kind
    check_deploy_chart.check(f"{chart} [{scenario}]", by_kind, problems)
    return by_kind


def check_chart(chart: Path, renderer: str, problems: Problems) -> None:
    if not (chart / "Chart.yaml").is_file():
        return problems.add(chart, "no Chart.yaml")
    scenarios = {
        "ci values": {},
        "3 fixed replicas, existing Secrets, image tag": {
            "replicaCount": 3, "autoscaling": {"enabled": False}, "image": {"tag": "9.9.9"},
            "database": {"url": "", "existingSecret": "lk-db"}, "masterKey": {"value": "", "existingSecret": "lk-master"},
            "metrics": {"tokenSecret": "lk-metrics"},
        },
        "autoscaling from 3": {"autoscaling": {"minReplicas": 3}},
    }
    rendered = {}
    for scenario, overrides in scenarios.items():
        try:
            docs = render_chart(chart, overrides, renderer)
        except (helm_lite.TemplateError, yaml.YAMLError, OSError) as e:
            problems.add(f"{chart} [{scenario}]", f"does not render: {e}")
            continue
        rendered[scenario] = check_documents(chart, docs, problems, scenario)
    check_deploy_chart.check_overrides(chart, rendered, problems)
    for scenario, overrides, needle in (
        ("no database", {"database": {"url": ""}}, "database"),
        ("no master key", {"masterKey": {"value": ""}}, "master"),
        ("no public URL", {"publicUrl": ""}, "publicUrl"),
    ):
        try:
            render_chart(chart, overrides, renderer)
            problems.add(f"{chart} [{scenario}]", "renders; it must refuse with a message naming the missing value")
        except helm_lite.TemplateError as e:
            if needle not in str(e):
                problems.add(f"{chart} [{scenario}]", f"refused, but the message does not name {needle}: {e}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parent.parent)
    parser.add_argument("--renderer", choices=("auto", "helm", "builtin"), default="auto")
    args = parser.parse_args(argv)
    renderer = args.renderer
    if renderer == "auto":
        renderer = "helm" if shutil.which("helm") else "builtin"
    elif renderer == "helm" and not shutil.which("helm"):
        print("check_deploy: --renderer helm, but helm is not on PATH", file=sys.stderr)
        return 2
    root = args.root
    problems = Problems()
    check_dockerfile(root / "deploy" / "Dockerfile", problems)
    check_dockerignore(root / ".dockerignore", problems)
    check_compose(root / "deploy" / "docker-compose.yml", problems)
    check_chart(root / "deploy" / "helm" / "latchkey", renderer, problems)
    check_deploy_dashboard.check_dir(root / "deploy" / "grafana", problems)
    if problems:
        print(f"check_deploy: {len(problems)} problem(s):", file=sys.stderr)
        for p in problems:
            print(f"  {p}", file=sys.stderr)
        return 1
    print(f"check_deploy: deploy/ is fine (chart rendered with {renderer})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
