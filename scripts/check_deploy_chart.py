"""Checks of the documents the Helm chart deploy/helm/latchkey renders (used by check_deploy.py).

`check`: one rendering — the Deployment runs as non-root on a read-only root filesystem with no
privilege escalation and no capabilities, has startup/liveness (/healthz) and readiness (/readyz)
probes, CPU and memory requests and limits, the data directory on an emptyDir, the database URL
and master key from Secrets (never literal), Prometheus scrape annotations; the Service, the
PodDisruptionBudget and the HorizontalPodAutoscaler select or target that Deployment; every
Secret referenced is rendered (or named by the values as existing) and holds the key.
`check_overrides`: values given on the command line reach the rendered documents.
"""

from __future__ import annotations

DATA_DIR = "/var/lib/latchkey"
FROM_SECRET = ("LATCHKEY_DATABASE_URL", "LATCHKEY_MASTER_KEY")
EXISTING_SECRETS = {"lk-db", "lk-master"}  # named by check_deploy.py's override scenario


def _subset(small: dict, big: dict) -> bool:
    return bool(small) and all(big.get(k) == v for k, v in small.items())


def _container(deployment: dict) -> tuple[dict, dict]:
    pod = ((deployment.get("spec") or {}).get("template") or {}).get("spec") or {}
    containers = pod.get("containers") or [{}]
    return pod, containers[0]


def check(where: str, by_kind: dict, problems) -> None:
    deployment = by_kind["Deployment"][0]
    name = deployment["metadata"]["name"]
    d_where = f"{where} Deployment/{name}"
    spec = deployment.get("spec") or {}
    pod_meta = (spec.get("template") or {}).get("metadata") or {}
    pod_labels = pod_meta.get("labels") or {}
    selector = (spec.get("selector") or {}).get("matchLabels") or {}
    if not _subset(selector, pod_labels):
        problems.add(d_where, "selector.matchLabels do not match the pod template's labels")
    pod, c = _container(deployment)
    _check_security(d_where, pod, c, problems)
    _check_probes(d_where, c, problems)
    for part in ("requests", "limits"):
        got = (c.get("resources") or {}).get(part) or {}
        if not (got.get("cpu") and got.get("memory")):
            problems.add(d_where, f"resources.{part} must set cpu and memory")
    mounts = {m.get("mountPath"): m.get("name") for m in c.get("volumeMounts") or []}
    volumes = {v.get("name"): v for v in pod.get("volumes") or []}
    if "emptyDir" not in volumes.get(mounts.get(DATA_DIR), {}):
        problems.add(d_where, f"the data directory {DATA_DIR} is not an emptyDir volume")
    args = c.get("args") or []
    if args[:1] != ["serve"] or "--data-dir" not in args or args[args.index("--data-dir") + 1 :][:1] != [DATA_DIR]:
        problems.add(d_where, f"args {args} must be `serve … --data-dir {DATA_DIR}`")
    env = {e.get("name"): e for e in c.get("env") or []}
    for var in FROM_SECRET:
        if not ((env.get(var) or {}).get("valueFrom") or {}).get("secretKeyRef"):
            problems.add(d_where, f"{var} must come from a Secret (valueFrom.secretKeyRef)")
    if not (env.get("LATCHKEY_PUBLIC_URL") or {}).get("value"):
        problems.add(d_where, "LATCHKEY_PUBLIC_URL is not set")
    _check_secret_refs(where, env, by_kind.get("Secret", []), problems)
    ports = {p.get("name"): p.get("containerPort") for p in c.get("ports") or []}
    annotations = pod_meta.get("annotations") or {}
    if annotations.get("prometheus.io/scrape") != "true" or annotations.get("prometheus.io/path") != "/metrics":
        problems.add(d_where, "pod annotations must ask Prometheus to scrape /metrics")
    if str(annotations.get("prometheus.io/port")) != str(ports.get("http")):
        problems.add(d_where, "prometheus.io/port is not the http container port")
    account = pod.get("serviceAccountName")
    accounts = [a["metadata"]["name"] for a in by_kind.get("ServiceAccount", [])]
    if accounts and account not in accounts:
        problems.add(d_where, f"serviceAccountName {account!r} is not the rendered ServiceAccount {accounts}")
    _check_neighbours(where, name, selector, pod_labels, ports, by_kind, problems)


def _check_security(where: str, pod: dict, c: dict, problems) -> None:
    pod_sc, sc = pod.get("securityContext") or {}, c.get("securityContext") or {}
    if not (sc.get("runAsNonRoot") or pod_sc.get("runAsNonRoot")):
        problems.add(where, "securityContext.runAsNonRoot is not true")
    uid = sc.get("runAsUser", pod_sc.get("runAsUser"))
    if uid is not None and (not isinstance(uid, int) or uid == 0):
        problems.add(where, f"runAsUser {uid!r} must be a non-zero UID")
    if sc.get("readOnlyRootFilesystem") is not True:
        problems.add(where, "container securityContext.readOnlyRootFilesystem is not true")
    if sc.get("allowPrivilegeEscalation") is not False:
        problems.add(where, "container securityContext.allowPrivilegeEscalation is not false")
    if "ALL" not in ((sc.get("capabilities") or {}).get("drop") or []):
        problems.add(where, "container securityContext.capabilities.drop does not contain ALL")
    if sc.get("privileged"):
        problems.add(where, "the container is privileged")


def _check_probes(where: str, c: dict, problems) -> None:
    for probe, path in (("startupProbe", "/healthz"), ("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
        got = ((c.get(probe) or {}).get("httpGet") or {}).get("path")
        if got != path:
            problems.add(where, f"{probe} must be an HTTP GET of {path} (got {got!r})")


def _check_secret_refs(where: str, env: dict, secrets: list, problems) -> None:
    rendered = {
        s["metadata"]["name"]: set((s.get("stringData") or {}) | (s.get("data") or {})) for s in secrets
    }
    for var, e in env.items():
        ref = ((e or {}).get("valueFrom") or {}).get("secretKeyRef")
        if not ref:
            continue
        name, key = ref.get("name"), ref.get("key")
        if name in EXISTING_SECRETS:
            continue
        if name not in rendered:
            problems.add(where, f"{var} refers to Secret {name!r}, which is not rendered")
        elif key not in rendered[name]:
            problems.add(where, f"{var} refers to key {key!r}, which Secret {name!r} does not hold")


def _check_neighbours(where, name, selector, pod_labels, ports, by_kind, problems) -> None:
    services = by_kind.get("Service", [])
    if not services:
        problems.add(where, "no Service rendered")
    for s in services:
        spec = s.get("spec") or {}
        if not _subset(spec.get("selector") or {}, pod_labels):
            problems.add(f"{where} Service/{s['metadata']['name']}", "selector does not match the pods")
        for p in spec.get("ports") or []:
            if p.get("targetPort") not in ports and p.get("targetPort") not in ports.values():
                problems.add(f"{where} Service/{s['metadata']['name']}", f"targetPort {p.get('targetPort')!r} is no container port")
    pdbs = by_kind.get("PodDisruptionBudget", [])
    if not pdbs:
        problems.add(where, "no PodDisruptionBudget rendered")
    for pdb in pdbs:
        spec, p_where = pdb.get("spec") or {}, f"{where} PodDisruptionBudget/{pdb['metadata']['name']}"
        if pdb.get("apiVersion") != "policy/v1":
            problems.add(p_where, "apiVersion must be policy/v1")
        if (spec.get("selector") or {}).get("matchLabels") != selector:
            problems.add(p_where, "selector is not the Deployment's")
        if not isinstance(spec.get("minAvailable"), int) or spec["minAvailable"] < 1:
            problems.add(p_where, "minAvailable must be at least 1")
    for hpa in by_kind.get("HorizontalPodAutoscaler", []):
        spec, h_where = hpa.get("spec") or {}, f"{where} HorizontalPodAutoscaler/{hpa['metadata']['name']}"
        if hpa.get("apiVersion") != "autoscaling/v2":
            problems.add(h_where, "apiVersion must be autoscaling/v2")
        target = spec.get("scaleTargetRef") or {}
        if (target.get("kind"), target.get("name"), target.get("apiVersion")) != ("Deployment", name, "apps/v1"):
            problems.add(h_where, f"scaleTargetRef {target} is not the Deployment {name}")
        metrics = spec.get("metrics") or []
        if not any(((m.get("resource") or {}).get("name")) == "cpu" for m in metrics):
            problems.add(h_where, "no CPU resource metric")
        low = spec.get("minReplicas")
        floor = max([p.get("spec", {}).get("minAvailable", 0) for p in pdbs] + [0])
        if not isinstance(low, int) or low <= floor:
            problems.add(h_where, f"minReplicas {low!r} must exceed the PDB's minAvailable {floor} (else no pod may be evicted)")
        if not isinstance(spec.get("maxReplicas"), int) or spec["maxReplicas"] < (low or 0):
            problems.add(h_where, "maxReplicas below minReplicas")


def _check_metrics_token(where: str, deployment: dict, c: dict, env: dict, problems) -> None:
    """metrics.tokenSecret=lk-metrics: the Secret is mounted read-only and the server is told
    the file inside it (`--metrics-token-file`)."""
    path = str((env.get("LATCHKEY_METRICS_TOKEN_FILE") or {}).get("value", ""))
    pod = ((deployment.get("spec") or {}).get("template") or {}).get("spec") or {}
    volumes = {v.get("name"): v for v in pod.get("volumes") or []}
    named = [n for n, v in volumes.items() if ((v.get("secret") or {}).get("secretName")) == "lk-metrics"]
    if not named:
        return problems.add(where, "metrics.tokenSecret=lk-metrics is not a volume of the pod")
    mode = (volumes[named[0]].get("secret") or {}).get("defaultMode")
    if not isinstance(mode, int) or mode & 0o007:
        problems.add(where, f"the metrics token Secret's defaultMode {mode!r} lets other users read it (want 0440)")
    mounts = [m for m in c.get("volumeMounts") or [] if m.get("name") == named[0]]
    if not mounts or not mounts[0].get("readOnly"):
        return problems.add(where, "the metrics token Secret is not mounted read-only")
    if not path.startswith(str(mounts[0].get("mountPath", "")).rstrip("/") + "/") or not path.endswith("/token"):
        problems.add(where, f"LATCHKEY_METRICS_TOKEN_FILE {path!r} is not the token file of the mounted Secret")


def check_overrides(chart, rendered: dict, problems) -> None:
    """The override scenarios of check_deploy.py show in the output."""
    fixed = rendered.get("3 fixed replicas, existing Secrets, image tag")
    if fixed and fixed.get("Deployment"):
        where = f"{chart} [3 fixed replicas, existing Secrets, image tag]"
        deployment = fixed["Deployment"][0]
        if (deployment.get("spec") or {}).get("replicas") != 3:
            problems.add(where, "replicaCount=3 with autoscaling off did not give spec.replicas 3")
        if fixed.get("HorizontalPodAutoscaler"):
            problems.add(where, "autoscaling.enabled=false still renders a HorizontalPodAutoscaler")
        _, c = _container(deployment)
        if not str(c.get("image", "")).endswith(":9.9.9"):
            problems.add(where, f"image.tag=9.9.9 did not reach the image ({c.get('image')!r})")
        env = {e.get("name"): e for e in c.get("env") or []}
        for var, secret in (("LATCHKEY_DATABASE_URL", "lk-db"), ("LATCHKEY_MASTER_KEY", "lk-master")):
            got = (((env.get(var) or {}).get("valueFrom") or {}).get("secretKeyRef") or {}).get("name")
            if got != secret:
                problems.add(where, f"{var} reads Secret {got!r}, not the existing Secret {secret!r}")
        _check_metrics_token(where, deployment, c, env, problems)
        for s in fixed.get("Secret", []):
            held = set((s.get("stringData") or {}) | (s.get("data") or {}))
            if held & {"database-url", "master-key"}:
                problems.add(where, f"Secret {s['metadata']['name']} still holds {sorted(held)} though existing Secrets are named")
    scaled = rendered.get("autoscaling from 3")
    if scaled:
        hpas = scaled.get("HorizontalPodAutoscaler") or [{}]
        if (hpas[0].get("spec") or {}).get("minReplicas") != 3:
            problems.add(f"{chart} [autoscaling from 3]", "autoscaling.minReplicas=3 did not reach the HorizontalPodAutoscaler")
        deployment = (scaled.get("Deployment") or [{}])[0]
        if "replicas" in (deployment.get("spec") or {}):
            problems.add(f"{chart} [autoscaling from 3]", "the Deployment sets replicas although the HPA owns them")
