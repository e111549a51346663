"""`latchkey login --browser` (authorization code + PKCE with a loopback redirect, RFC 8252)
driven over HTTP: the sign-in pages are walked by the suite's HTTP browser and the redirect is
delivered to the CLI's one-shot listener. Then the cached tokens: file modes, use, refresh with
rotation, logout with revocation."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path
from typing import Iterator

import httpx
import pytest
from keycardai_api import KeycardAPI

import lk
from e2e import kit
from people.people_kit import Org, Person

from .cli_kit import Cli

UNAUTHENTICATED = 3


@pytest.fixture
def org(server: lk.LatchkeyServer, admin: KeycardAPI, admin_http: httpx.Client) -> Iterator[Org]:
    o = Org(server, admin, admin_http)
    yield o
    o.close()


def read_url(proc: subprocess.Popen, timeout: float = 20.0) -> str:
    """The sign-in URL the CLI prints to stderr."""
    deadline = time.monotonic() + timeout
    seen = []
    assert proc.stderr is not None
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line:
            break
        seen.append(line)
        if line.startswith("http"):
            return line.strip()
    proc.kill()
    pytest.fail(f"no sign-in URL on stderr: {seen}")


def browser_login(cli: Cli, org: Org, person: Person) -> subprocess.Popen:
    proc = cli.popen("login", "--browser", "--org", org.id)
    url = read_url(proc)
    assert "code_challenge_method=S256" in url and "client_id=latchkey-cli" in url, url
    b = kit.HttpBrowser(org.zone)
    try:
        redirect = b.signup_and_authorize(url, person.email)
    finally:
        b.close()
    assert redirect.startswith("http://127.0.0.1:") and "/callback?" in redirect, redirect
    assert httpx.get(redirect, timeout=10).status_code == 200
    return proc


def test_browser_login_caches_refreshes_and_logs_out(cli: Cli, org: Org):
    person = org.join("org_admin", "cli-login")
    proc = browser_login(cli, org, person)
    assert proc.wait(timeout=30) == 0, proc.stderr.read() if proc.stderr else ""
    out = (proc.stdout.read() if proc.stdout else "") + (proc.stderr.read() if proc.stderr else "")
    token_file = cli.config_dir / "tokens" / "default.json"
    assert token_file.stat().st_mode & 0o777 == 0o600
    assert token_file.parent.stat().st_mode & 0o777 == 0o700
    assert cli.config_dir.stat().st_mode & 0o777 == 0o700
    cached = json.loads(token_file.read_text())
    assert cached["access_token"] not in out and cached["refresh_token"] not in out, "tokens are never printed"
    assert kit.jwt_claims(cached["access_token"])["aud"] in (cli.server.base_url, [cli.server.base_url])

    # The cached sign-in is the bearer; the profile remembers the organization.
    sas = cli.json("service-accounts", "list", token=None)
    assert "items" in sas
    assert cli.json("profile", "show", token=None)["org"] == org.id

    # The cached tokens are never sent to another server.
    elsewhere = cli.run("zones", "list", "--server", "http://127.0.0.1:9", token=None, expect=UNAUTHENTICATED)
    assert "signed in at" in elsewhere.stderr, elsewhere

    # An expired access token is refreshed, and the rotated refresh token is stored.
    cached["expires_at"] = 1
    token_file.write_text(json.dumps(cached))
    cli.json("zones", "list", token=None)
    renewed = json.loads(token_file.read_text())
    assert renewed["access_token"] != cached["access_token"]
    assert renewed["refresh_token"] != cached["refresh_token"]
    assert renewed["expires_at"] > time.time()
    assert token_file.stat().st_mode & 0o777 == 0o600

    # Processes that find the token expired at the same time refresh it once between them (a
    # second use of a rotated refresh token would revoke the whole sign-in).
    renewed["expires_at"] = 1
    token_file.write_text(json.dumps(renewed))
    procs = [cli.popen("zones", "list", "--json") for _ in range(8)]
    for p in procs:
        assert p.wait(timeout=60) == 0, p.stderr.read() if p.stderr else ""
    renewed = json.loads(token_file.read_text())
    assert renewed["expires_at"] > time.time()
    cli.json("zones", "list", token=None)

    # Logout revokes the refresh token and deletes the cache.
    cli.run("logout", token=None)
    assert not token_file.exists()
    r = org.zone.refresh_grant(kit.Client("latchkey-cli"), renewed["refresh_token"], [cli.server.base_url])
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant", r.text
    gone = cli.run("zones", "list", token=None, expect=UNAUTHENTICATED)
    assert "latchkey login" in gone.stderr


def test_browser_login_checks_state(cli: Cli, org: Org):
    proc = cli.popen("login", "--browser", "--org", org.id)
    url = read_url(proc)
    redirect_uri = dict(httpx.URL(url).params)["redirect_uri"]
    assert httpx.get(redirect_uri + "?code=forged&state=wrong", timeout=10).status_code == 200
    assert proc.wait(timeout=30) == 1
    assert "state" in (proc.stderr.read() if proc.stderr else "")
    assert not (cli.config_dir / "tokens" / "default.json").exists()
