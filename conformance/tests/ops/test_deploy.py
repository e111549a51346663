"""scripts/check_deploy.py on the real deploy/ files (must pass) and on broken copies (each must be
refused, with a message naming the file and the problem). No server: the files only."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
CHECKER = ROOT / "scripts" / "check_deploy.py"
CHART = Path("deploy/helm/latchkey")
DASHBOARD = Path("deploy/grafana/latchkey-dashboard.json")


def run_checker(root: Path, renderer: str = "builtin") -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(CHECKER), "--root", str(root), "--renderer", renderer],
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    """A copy of what the checker reads: deploy/ and .dockerignore."""
    shutil.copytree(ROOT / "deploy", tmp_path / "deploy")
    shutil.copy(ROOT / ".dockerignore", tmp_path / ".dockerignore")
    return tmp_path


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{path} no longer contains {old!r}; update the test"
    path.write_text(text.replace(old, new))


def assert_refused(result: subprocess.CompletedProcess, *needles: str) -> None:
    assert result.returncode == 1, f"accepted (rc {result.returncode}):\n{result.stdout}{result.stderr}"
    for needle in needles:
        assert needle in result.stderr, f"{needle!r} not in:\n{result.stderr}"


def test_real_files_pass():
    result = run_checker(ROOT)
    assert result.returncode == 0, result.stderr
    assert "chart rendered with builtin" in result.stdout


@pytest.mark.skipif(shutil.which("helm") is None, reason="helm is not installed")
def test_real_files_pass_with_helm():
    result = run_checker(ROOT, "helm")
    assert result.returncode == 0, result.stderr


def test_copy_passes_before_it_is_broken(copy: Path):
    # The broken-copy tests below fail for their one change, not for the copying.
    result = run_checker(copy)
    assert result.returncode == 0, result.stderr


def test_dockerfile_without_user_is_refused(copy: Path):
    edit(copy / "deploy/Dockerfile", "USER 65532:65532\n", "")
    assert_refused(run_checker(copy), "deploy/Dockerfile", "no USER")


def test_dockerfile_with_named_or_root_user_is_refused(copy: Path):
    edit(copy / "deploy/Dockerfile", "USER 65532:65532\n", "USER nonroot\n")
    assert_refused(run_checker(copy), "deploy/Dockerfile", "numeric non-root UID")
    edit(copy / "deploy/Dockerfile", "USER nonroot\n", "USER 0\n")
    assert_refused(run_checker(copy), "numeric non-root UID")


def test_dockerfile_shell_form_entrypoint_and_add_url_are_refused(copy: Path):
    edit(copy / "deploy/Dockerfile", 'ENTRYPOINT ["/usr/local/bin/latchkey"]', "ENTRYPOINT /usr/local/bin/latchkey")
    edit(copy / "deploy/Dockerfile", "WORKDIR /src\n", "WORKDIR /src\nADD https://example.test/x.tar.gz /x\n")
    assert_refused(run_checker(copy), "ENTRYPOINT must be in exec form", "ADD of a URL")


def test_single_stage_dockerfile_is_refused(copy: Path):
    path = copy / "deploy/Dockerfile"
    text = path.read_text()
    path.write_text(text[: text.index("FROM gcr.io")])
    assert_refused(run_checker(copy), "not multi-stage")


def test_compose_replica_not_read_only_is_refused(copy: Path):
    edit(copy / "deploy/docker-compose.yml", "  read_only: true\n", "  read_only: false\n")
    assert_refused(run_checker(copy), "deploy/docker-compose.yml", "read_only is not true")


def test_compose_with_one_replica_is_refused(copy: Path):
    path = copy / "deploy/docker-compose.yml"
    text = path.read_text()
    start, end = text.index("  latchkey-2:\n"), text.index("\nvolumes:\n")
    path.write_text(text[:start] + text[end:])
    assert_refused(run_checker(copy), "1 Latchkey service(s)")


def test_chart_without_read_only_root_filesystem_is_refused(copy: Path):
    edit(copy / CHART / "templates/deployment.yaml", "readOnlyRootFilesystem: true", "readOnlyRootFilesystem: false")
    assert_refused(run_checker(copy), "deploy/helm/latchkey", "readOnlyRootFilesystem is not true")


def test_chart_without_readiness_probe_is_refused(copy: Path):
    edit(copy / CHART / "values.yaml", "readinessPath: /readyz", "readinessPath: /healthz")
    assert_refused(run_checker(copy), "readinessProbe must be an HTTP GET of /readyz")


def test_chart_hpa_on_the_wrong_target_is_refused(copy: Path):
    edit(copy / CHART / "templates/hpa.yaml", "kind: Deployment", "kind: StatefulSet")
    assert_refused(run_checker(copy), "HorizontalPodAutoscaler", "is not the Deployment")


def test_chart_ignoring_replica_count_is_refused(copy: Path):
    edit(copy / CHART / "templates/deployment.yaml", "replicas: {{ .Values.replicaCount }}", "replicas: 2")
    assert_refused(run_checker(copy), "replicaCount=3 with autoscaling off did not give spec.replicas 3")


def test_chart_master_key_as_literal_value_is_refused(copy: Path):
    deployment = copy / CHART / "templates/deployment.yaml"
    text = deployment.read_text()
    start = text.index("            - name: LATCHKEY_MASTER_KEY\n")
    end = text.index("            {{- if or .Values.bootstrapApiKey")
    literal = "            - name: LATCHKEY_MASTER_KEY\n              value: {{ .Values.masterKey.value | quote }}\n"
    deployment.write_text(text[:start] + literal + text[end:])
    assert_refused(run_checker(copy), "LATCHKEY_MASTER_KEY must come from a Secret")


def test_chart_outside_the_template_subset_is_refused(copy: Path):
    edit(copy / CHART / "templates/service.yaml", "spec:\n", "spec:\n  {{- range .Values.tolerations }}{{ end }}\n")
    assert_refused(run_checker(copy), "outside the supported template subset")


def test_chart_with_an_unknown_kind_is_refused(copy: Path):
    (copy / CHART / "templates/extra.yaml").write_text(
        "apiVersion: batch/v1\nkind: CronJob\nmetadata:\n  name: {{ .Release.Name }}-extra\n"
    )
    assert_refused(run_checker(copy), "unexpected kind CronJob")


def dashboard_queries(path: Path):
    dash = json.loads(path.read_text())
    return dash, [t for p in dash["panels"] for t in p.get("targets", [])]


def test_dashboard_with_an_unknown_metric_is_refused(copy: Path):
    dash, targets = dashboard_queries(copy / DASHBOARD)
    targets[0]["expr"] = targets[0]["expr"].replace("latchkey_build_info", "latchkey_build_information")
    (copy / DASHBOARD).write_text(json.dumps(dash))
    assert_refused(run_checker(copy), "latchkey-dashboard.json", "unknown metric 'latchkey_build_information'")


def test_dashboard_with_an_unknown_label_is_refused(copy: Path):
    dash, targets = dashboard_queries(copy / DASHBOARD)
    target = next(t for t in targets if "by (zone, grant_type)" in t["expr"])
    target["expr"] = target["expr"].replace("by (zone, grant_type)", "by (zone, grant)")
    (copy / DASHBOARD).write_text(json.dumps(dash))
    assert_refused(run_checker(copy), "label 'grant' belongs to none of the metrics")


def test_dashboard_missing_a_metric_or_old_schema_is_refused(copy: Path):
    dash, _ = dashboard_queries(copy / DASHBOARD)
    dash["schemaVersion"] = 30
    dash["panels"] = [p for p in dash["panels"] if "latchkey_invalidation" not in json.dumps(p)]
    (copy / DASHBOARD).write_text(json.dumps(dash))
    assert_refused(
        run_checker(copy),
        "schemaVersion 30 must be at least 36",
        "metric latchkey_invalidations_total is shown on no panel",
    )


def test_dashboard_that_is_not_json_is_refused(copy: Path):
    (copy / DASHBOARD).write_text("{ not json")
    assert_refused(run_checker(copy), "latchkey-dashboard.json: not readable JSON")
