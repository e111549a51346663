"""Schemathesis against the server's own `/openapi.json`: every management operation, bounded.

A server of its own (SQLite; the checks are about the HTTP layer, so one backend is enough) is
seeded with one object of every kind twice over, through the API as the platform admin. The
path parameters of every operation are pinned to real ids (taken from the same fixture map as
the isolation matrix), so generated bodies and queries reach the handlers instead of stopping at
404; DELETE operations get the second set, so deletions do not empty the world the others use.
Then the Schemathesis CLI runs its coverage, fuzzing and stateful phases with at most
MAX_EXAMPLES cases per operation and these checks:

* not_a_server_error: no 5xx, ever;
* status_code_conformance: every status is documented for its operation;
* content_type_conformance, response_headers_conformance, response_schema_conformance: the
  answer is what the document says, body included;
* ignored_auth: an operation that declares authentication refuses requests without it;
* use_after_free, ensure_resource_availability: (stateful) deleted objects are gone, created
  ones are readable.

Not run, on purpose:

* positive_data_acceptance / negative_data_rejection: they judge whether the request schemas
  state every input rule (length limits, the no-HTML rule, enum values the SDK types as plain
  strings, tri-state `null`s that only some fields accept). The document describes the SDK's
  wire shapes, not Latchkey's validator; input validation is covered field by field in
  tests/test_bad_input.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import lk
import records as records_mod

from ._systematic import Principal, fetch_openapi, kinds_of, operations, path_values, populate

MAX_EXAMPLES = int(os.environ.get("LATCHKEY_SCHEMATHESIS_MAX_EXAMPLES", "30"))
CHECKS = [
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
    "ignored_auth",
    "use_after_free",
    "ensure_resource_availability",
]


# Operations Schemathesis links to an organization it just created by an inferred link between
# unrelated objects: `{user_id}` given the organization's id, or the organization's SSO connection
# (a new organization has none). A 404 there is right, not a created object gone.
NO_AVAILABILITY_CHECK = {
    "GET /organizations/{organization_id}/users/{user_id}",
    "PATCH /organizations/{organization_id}/users/{user_id}",
    "DELETE /organizations/{organization_id}/users/{user_id}",
    "GET /organizations/{organization_id}/sso-connection",
    "PATCH /organizations/{organization_id}/sso-connection",
    "DELETE /organizations/{organization_id}/sso-connection",
}


def toml_str(s: str) -> str:
    return json.dumps(s)  # a JSON string is a valid TOML basic string for these values


def config(openapi: dict, live: Any, doomed: Any) -> str:
    """schemathesis.toml: real ids for every path parameter the fixture map knows."""
    lines = []
    for op in operations(openapi):
        if not op.placeholders or kinds_of(op) is None:
            continue  # (the isolation matrix fails for unmapped placeholders)
        owner = doomed if op.method == "delete" else live
        values = path_values(op, [owner] * len(op.placeholders))
        if "token" in op.placeholders:
            values["token"] = owner.invitation_token
        params = ", ".join(f"{toml_str(k)} = {toml_str(v)}" for k, v in values.items())
        lines += ["[[operations]]", f"include-name = {toml_str(op.name)}", f"parameters = {{ {params} }}"]
        if op.name in NO_AVAILABILITY_CHECK:
            lines.append("checks.ensure_resource_availability.enabled = false")
            lines.append("phases.stateful.enabled = false")
        lines.append("")
    for op in operations(openapi):  # the token routes: placeholder `token` is not in the map
        if op.placeholders == ["token"]:
            token = (doomed if op.method == "post" else live).invitation_token
            lines += ["[[operations]]", f"include-name = {toml_str(op.name)}", f"parameters = {{ token = {toml_str(token)} }}", ""]
    return "\n".join(lines)


@pytest.mark.lifecycle
def test_schemathesis(request: pytest.FixtureRequest, make_server, tmp_path: Path):
    srv = make_server("sqlite")
    admin = Principal(srv.base_url, srv.bootstrap_key, "admin")
    recs = records_mod.Records(srv)
    try:
        live = populate(admin, srv.base_url, recs, "live")
        doomed = populate(admin, srv.base_url, recs, "doomed")
    finally:
        admin.close()
    openapi = fetch_openapi(srv.base_url)
    (tmp_path / "schemathesis.toml").write_text(config(openapi, live, doomed))
    exe = Path(sys.executable).with_name("schemathesis")
    cmd = [
        str(exe), "--config-file", str(tmp_path / "schemathesis.toml"), "run", f"{srv.base_url}/openapi.json",
        "--header", f"Authorization: Bearer {srv.bootstrap_key}",
        "--max-examples", str(MAX_EXAMPLES),
        "--checks", ",".join(CHECKS),
        "--phases", "coverage,fuzzing,stateful",
        "--workers", "2",
        "--seed", os.environ.get("LATCHKEY_SCHEMATHESIS_SEED", "20261202"),
        "--generation-database", "none",
        "--request-timeout", "30",
        "--no-color",
        "--report", "junit", "--report-dir", str(tmp_path / "report"),
    ]  # fmt: skip
    proc = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=900)
    out = proc.stdout + proc.stderr
    (tmp_path / "schemathesis.log").write_text(out)
    assert proc.returncode == 0, (
        f"schemathesis found failures (exit {proc.returncode}); replay one with `st replay <id>`:\n"
        + out[-20000:]
        + "\n"
        + srv.log_tail(40)
    )
