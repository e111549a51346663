"""`latchkey login` through the device authorization grant (RFC 8628): the CLI prints the
verification URI and user code, a member of the organization approves (or denies) over HTTP with
`device_kit.approve_device`, and the CLI's polling ends with a cached, working sign-in (or the
denial). The zone must advertise its device authorization endpoint: the tests fail, not skip,
when it does not."""

from __future__ import annotations

import json
import re
import subprocess
import time
from typing import Iterator

import httpx
import pytest
from keycardai_api import KeycardAPI

import device_kit as dk
import lk
from e2e import kit
from people.people_kit import Org

from .cli_kit import Cli


@pytest.fixture
def org(server: lk.LatchkeyServer, admin: KeycardAPI, admin_http: httpx.Client) -> Iterator[Org]:
    o = Org(server, admin, admin_http)
    try:
        meta = httpx.get(f"{o.zone.issuer}/.well-known/oauth-authorization-server").json()
        assert meta.get("device_authorization_endpoint") == f"{o.zone.issuer}/oauth/2/device_authorization", meta
        yield o
    finally:
        o.close()


def read_prompt(proc: subprocess.Popen, timeout: float = 20.0) -> tuple[str, str]:
    """The verification URI and the user code the CLI prints to stderr."""
    deadline = time.monotonic() + timeout
    uri, code, seen = None, None, []
    assert proc.stderr is not None
    while time.monotonic() < deadline and not (uri and code):
        line = proc.stderr.readline()
        if not line:
            break
        seen.append(line)
        if m := re.search(r"open (\S+)", line):
            uri = m.group(1)
        if m := re.search(r"code: (\S+)", line):
            code = m.group(1)
    if not (uri and code):
        proc.kill()
        pytest.fail(f"no verification URI and user code on stderr: {seen}")
    return uri, code


def test_device_login_signs_in(cli: Cli, org: Org):
    person = org.join("org_admin", "cli-device")
    proc = cli.popen("login", "--org", org.id)
    uri, code = read_prompt(proc)
    assert uri.startswith(org.zone.issuer + "/device"), uri
    assert code in uri  # verification_uri_complete carries the user code
    dk.approve_device(uri, person.email, kit.PASSWORD)
    assert proc.wait(timeout=60) == 0, proc.stderr.read() if proc.stderr else ""
    token_file = cli.config_dir / "tokens" / "default.json"
    assert token_file.stat().st_mode & 0o777 == 0o600
    cached = json.loads(token_file.read_text())
    claims = kit.jwt_claims(cached["access_token"])
    assert claims["aud"] in (cli.server.base_url, [cli.server.base_url]) and claims["sub"] == person.user_id
    assert cached["refresh_token"]
    assert any(z["id"] == org.zone.id for z in cli.json("zones", "list", "--all", token=None)["items"])


def test_device_login_denied(cli: Cli, org: Org):
    person = org.join("org_admin", "cli-device-deny")
    proc = cli.popen("login", "--org", org.id)
    uri, _ = read_prompt(proc)
    dk.approve_device(uri, person.email, kit.PASSWORD, approve=False)
    assert proc.wait(timeout=60) == 1
    assert "denied" in (proc.stderr.read() if proc.stderr else "")
    assert not (cli.config_dir / "tokens" / "default.json").exists()
