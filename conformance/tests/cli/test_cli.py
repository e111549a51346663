"""The `latchkey` client commands against the real server: a create / list / get / update /
delete round trip per resource command (JSON, YAML and table output), `api`, `token`,
`completions`, and the documented exit codes and messages of failures."""

from __future__ import annotations

import socket
import uuid
from typing import Any, Callable

import httpx
import pytest
from keycardai_api import KeycardAPI
from keycardai_api.types import Organization

import lk

from .cli_kit import Cli

SCHEMA = "2026-03-16"
PERMIT_APPS = '@id("permit-apps")\npermit (principal is Keycard::Application, action, resource);'

# Exit codes (docs/cli.md)
UNAUTHENTICATED, FORBIDDEN, NOT_FOUND, CONFLICT, UNREACHABLE, USAGE = 3, 4, 5, 6, 7, 2


def ids(listing: Any) -> list[str]:
    items = listing["items"] if isinstance(listing, dict) else listing
    return [i["id"] for i in items]


def crud_round_trip(
    cli: Cli,
    command: str,
    create: list[str],
    update: list[str],
    check_update: Callable[[dict], None],
    *scope: str,
    deleted: str = "gone",
) -> dict:
    """create → list (JSON, table) → get (JSON, YAML) → update → delete → get again."""
    made = cli.json(command, "create", *create, *scope)
    oid = made["id"]
    assert oid in ids(cli.json(command, "list", "--all", *scope))
    table = cli.run(command, "list", *scope).stdout
    assert table.splitlines()[0].split()[0] in ("ID", "ORGANIZATION_USER_ID"), table
    assert oid in table, table
    got = cli.json(command, "get", oid, *scope)
    assert got["id"] == oid
    assert cli.yaml(command, "get", oid, *scope) == got
    updated = cli.json(command, "update", oid, *update, *scope)
    check_update(updated)
    check_update(cli.json(command, "get", oid, *scope))
    r = cli.run(command, "delete", oid, *scope)
    if deleted == "gone":
        assert r.stdout == "" and "Deleted" in r.stderr, r
        missing = cli.run(command, "get", oid, *scope, expect=NOT_FOUND)
        assert "not found" in missing.stderr and "not_found" in missing.stderr, missing
    else:  # archived
        assert "Archived" in r.stderr, r
        assert cli.json(command, "get", oid, *scope)["archived_at"], "archived"
    return made


@pytest.fixture
def zone_id(admin: KeycardAPI) -> str:
    return admin.zones.create(name=lk.unique("cli zone")).id


def test_zones(cli: Cli, default_org: Organization):
    name = lk.unique("cli zone")
    made = crud_round_trip(
        cli,
        "zones",
        ["--name", name, "--description", "made by the CLI"],
        ["--description", "changed", "--set", "name=" + name + " 2"],
        lambda z: (z["description"], z["name"]) == ("changed", name + " 2") or pytest.fail(str(z)),
        "--org",
        default_org.id,
    )
    assert made["organization_id"] == default_org.id
    assert made["name"] == name and made["description"] == "made by the CLI"


def test_zone_scoped_round_trips(cli: Cli, zone_id: str):
    z = ["--zone", zone_id]
    app = crud_round_trip(
        cli,
        "applications",
        ["--name", lk.unique("app"), "--identifier", lk.unique_url("app")],
        ["--description", "an app"],
        lambda a: a["description"] == "an app" or pytest.fail(str(a)),
        *z,
    )
    res = crud_round_trip(
        cli,
        "resources",
        ["--name", lk.unique("res"), "--identifier", lk.unique_url("res"), "--set", "scopes=[\"read\"]"],
        ["--name", "renamed resource"],
        lambda r: r["name"] == "renamed resource" or pytest.fail(str(r)),
        *z,
    )
    assert res["scopes"] == ["read"]
    crud_round_trip(
        cli,
        "providers",
        ["--name", lk.unique("idp"), "--identifier", lk.unique_url("idp")],
        ["--description", "upstream"],
        lambda p: p["description"] == "upstream" or pytest.fail(str(p)),
        *z,
    )
    keep = cli.json("apps", "create", "--name", lk.unique("app"), "--identifier", lk.unique_url("app"), *z)
    cred = crud_round_trip(
        cli,
        "credentials",
        ["--type", "password", "--application", keep["id"]],
        ["--data", "{}"],
        lambda c: c["application_id"] == keep["id"] or pytest.fail(str(c)),
        *z,
    )
    assert cred["type"] == "password" and cred["password"], "a created credential shows its secret once"
    assert app["id"] not in ids(cli.json("applications", "list", "--all", *z))


def test_secrets(cli: Cli, zone_id: str):
    z = ["--zone", zone_id]
    data = '{"type": "token", "token": "tok-' + uuid.uuid4().hex + '"}'
    made = crud_round_trip(
        cli,
        "secrets",
        ["--name", lk.unique("secret"), "--set", "entity_id=entity-" + uuid.uuid4().hex[:8], "--set", "data=" + data],
        ["--description", "rotated", "--set", 'data={"type": "token", "token": "new"}'],
        lambda s: s["description"] == "rotated" or pytest.fail(str(s)),
        *z,
    )
    assert "data" not in made


def test_policies_and_policy_sets(cli: Cli, zone_id: str, tmp_path):
    z = ["--zone", zone_id]
    crud_round_trip(
        cli,
        "policies",
        ["--name", lk.unique("pol"), "--description", "d"],
        ["--description", "d2"],
        lambda p: p["description"] == "d2" or pytest.fail(str(p)),
        *z,
        deleted="archived",
    )
    policy = cli.json("policies", "create", "--name", lk.unique("pol"), *z)
    cedar = tmp_path / "permit.cedar"
    cedar.write_text(PERMIT_APPS)
    v1 = cli.json("policies", "push", policy["id"], str(cedar), "--schema-version", SCHEMA, *z)
    assert v1["version"] == 1 and v1["policy_id"] == policy["id"]
    v2 = cli.json("policies", "push", policy["id"], str(cedar), *z)  # the zone's default schema
    assert v2["version"] == 2
    assert cli.json("policies", "get", policy["id"], *z)["latest_version_id"] == v2["id"]
    assert [v["id"] for v in cli.json("policies", "versions", policy["id"], *z)["items"]] == [v2["id"], v1["id"]]
    bad = tmp_path / "bad.cedar"
    bad.write_text("permit (")
    assert cli.run("policies", "push", policy["id"], str(bad), *z, expect=None).code == 1

    crud_round_trip(
        cli,
        "policy-sets",
        ["--name", lk.unique("set")],
        ["--name", "renamed set"],
        lambda s: s["name"] == "renamed set" or pytest.fail(str(s)),
        *z,
        deleted="archived",
    )
    pset = cli.json("policy-sets", "create", "--name", lk.unique("set"), *z)
    sv = cli.json("policy-sets", "push", pset["id"], "--policy", policy["id"], *z)
    assert sv["manifest"]["entries"][0]["policy_version_id"] == v2["id"]
    sv1 = cli.json("policy-sets", "push", pset["id"], "--policy", f"{policy['id']}:{v1['id']}", *z)
    assert sv1["manifest"]["entries"][0]["policy_version_id"] == v1["id"]
    assert len(cli.json("policy-sets", "versions", pset["id"], *z)["items"]) == 2
    active = cli.json("policy-sets", "activate", pset["id"], sv["id"], *z)
    assert active["active"] is True
    got = cli.json("policy-sets", "get", pset["id"], *z)
    assert (got["active"], got["active_version_id"]) == (True, sv["id"]), got

    # push a new version, then make it take effect in the set: the other policy's entry stays
    other = cli.json("policies", "create", "--name", lk.unique("pol"), *z)
    cli.json("policies", "push", other["id"], str(cedar), *z)
    cli.json("policies", "activate", other["id"], "--set", pset["id"], *z)
    v3 = cli.json("policies", "push", policy["id"], str(cedar), *z)
    activated = cli.json("policies", "activate", policy["id"], "--set", pset["id"], *z)
    assert activated["active"] is True
    entries = {e["policy_id"]: e["policy_version_id"] for e in activated["manifest"]["entries"]}
    assert entries[policy["id"]] == v3["id"] and other["id"] in entries and len(entries) == 2, entries
    assert cli.json("policy-sets", "get", pset["id"], *z)["active_version_id"] == activated["id"]


def test_service_accounts_and_invitations(cli: Cli, new_org: Organization):
    o = ["--org", new_org.id]
    crud_round_trip(
        cli,
        "service-accounts",
        ["--name", lk.unique("sa"), "--description", "robot"],
        ["--description", "still a robot"],
        lambda s: s["description"] == "still a robot" or pytest.fail(str(s)),
        *o,
    )
    email = f"cli-{uuid.uuid4().hex[:8]}@example.test"
    inv = cli.json("invitations", "create", "--email", email, "--role", "org_member", *o)
    assert inv["email"] == email and inv["role"] == "org_member"
    assert inv["id"] in ids(cli.json("invitations", "list", "--all", "--limit", "1", *o))
    assert cli.run("invitations", "update", inv["id"], "--role", "org_admin", *o, expect=USAGE)
    cli.run("invitations", "delete", inv["id"], *o)
    after = [i for i in cli.json("invitations", "list", *o)["items"] if i["id"] == inv["id"]]
    assert after == [] or after[0]["status"] == "revoked", after


def test_org_defaults_to_the_callers_only_organization(cli: Cli, make_sa):
    sa = make_sa()
    token = httpx.post(
        f"{cli.server.base_url}/service-account-token",
        data={"grant_type": "client_credentials"},
        auth=(sa.credential.client_id, sa.credential.client_secret),
    ).json()["access_token"]
    listed = cli.json("service-accounts", "list", token=token)
    assert sa.service_account.id in ids(listed)


def test_zone_members(cli: Cli, server: lk.LatchkeyServer, admin: KeycardAPI, admin_http: httpx.Client):
    from people.people_kit import Org

    org = Org(server, admin, admin_http)
    try:
        boss = org.join("org_admin", "boss")
        member = org.join("org_member", "member")
        zone = cli.json("zones", "create", "--name", lk.unique("members zone"), token=boss.token)
        z = ["--zone", zone["id"]]
        added = cli.json("members", "create", "--user", member.user_id, "--role", "zone_viewer", *z, token=boss.token)
        assert (added["organization_user_id"], added["role"]) == (member.user_id, "zone_viewer")
        listed = cli.json("members", "list", *z, token=boss.token)
        assert member.user_id in [m["organization_user_id"] for m in listed["items"]]
        got = cli.yaml("members", "get", member.user_id, *z, token=boss.token)
        assert got["role"] == "zone_viewer"
        changed = cli.json("members", "update", member.user_id, "--role", "zone_manager", *z, token=boss.token)
        assert changed["role"] == "zone_manager"
        # A person's token works as the CLI's bearer; a viewer of the org may not write.
        viewer = org.join("org_viewer", "viewer")
        r = cli.run("zones", "create", "--name", lk.unique("nope"), token=viewer.token, expect=FORBIDDEN)
        assert "forbidden" in r.stderr or "HTTP 403" in r.stderr, r
        cli.run("members", "delete", member.user_id, *z, token=boss.token)
        cli.run("members", "get", member.user_id, *z, token=boss.token, expect=NOT_FOUND)
    finally:
        org.close()


def test_api_command(cli: Cli, zone_id: str, tmp_path):
    got = cli.run("api", "GET", f"/zones/{zone_id}").json()  # JSON without --json
    assert got["id"] == zone_id
    body = tmp_path / "app.json"
    body.write_text('{"name": "via api", "identifier": "%s"}' % lk.unique_url("app"))
    made = cli.run("api", "post", f"/zones/{zone_id}/applications", "--data", f"@{body}").json()
    assert made["name"] == "via api"
    r = cli.run("api", "DELETE", f"/zones/{zone_id}/applications/{made['id']}")
    assert r.stdout == ""
    listing = cli.yaml("api", "GET", f"/zones/{zone_id}/applications?limit=1")
    assert "items" in listing
    r = cli.run("api", "GET", f"/zones/{zone_id}/applications/{made['id']}", expect=NOT_FOUND)
    assert "not_found" in r.stderr


def test_token_command(cli: Cli, zone_id: str, admin: KeycardAPI):
    z = ["--zone", zone_id]
    res = cli.json("resources", "create", "--name", lk.unique("api"), "--identifier", lk.unique_url("api"), *z)
    app = cli.json(
        "apps", "create", "--name", lk.unique("svc"), "--identifier", lk.unique_url("svc"),
        "--set", f'dependencies=[{{"id": "{res["id"]}"}}]', *z,
    )
    cred = cli.json("credentials", "create", "--type", "password", "--application", app["id"], *z)
    client = ["--client-id", cred["identifier"], "--client-secret", cred["password"]]
    token = cli.run("token", *client, "--resource", res["identifier"], *z).stdout.strip()
    assert token.count(".") == 2, "a JWT on stdout, nothing else"
    # It is a real token of the zone: introspection says so.
    zone = admin.zones.retrieve(zone_id)
    issuer = zone.protocols.oauth2.issuer
    intro = httpx.post(f"{issuer}/oauth/2/introspect", data={"token": token}, auth=(cred["identifier"], cred["password"]))
    assert intro.status_code == 200 and intro.json()["active"] is True, intro.text
    assert intro.json()["aud"] in (res["identifier"], [res["identifier"]])
    full = cli.json("token", *client, "--resource", res["identifier"], *z)
    assert full["token_type"].lower() == "bearer" and full["access_token"]
    # Without any management credential the endpoint comes from the zone's metadata.
    anon = cli.run("token", *client, "--resource", res["identifier"], *z, token=None).stdout.strip()
    assert anon.count(".") == 2
    bad = cli.run("token", "--client-id", cred["identifier"], "--client-secret", "wrong", *z, expect=UNAUTHENTICATED)
    assert "invalid_client" in bad.stderr and cred["password"] not in bad.stderr


@pytest.mark.parametrize("shell,marker", [("bash", "complete"), ("zsh", "#compdef"), ("fish", "complete -c latchkey")])
def test_completions(cli: Cli, shell: str, marker: str):
    out = cli.run("completions", shell, token=None).stdout
    assert marker in out and "service-accounts" in out and "policy-sets" in out


def test_failures_have_documented_exit_codes(cli: Cli, zone_id: str):
    missing = cli.run("zones", "get", "no-such-zone", expect=NOT_FOUND)
    assert "zone `no-such-zone` not found" in missing.stderr and "code `not_found`" in missing.stderr
    assert missing.stdout == ""
    z = ["--zone", zone_id]
    ident = lk.unique_url("dup")
    cli.run("apps", "create", "--name", lk.unique("a"), "--identifier", ident, *z)
    dup = cli.run("apps", "create", "--name", lk.unique("a"), "--identifier", ident, *z, expect=CONFLICT)
    assert "HTTP 409" in dup.stderr
    bad_key = cli.run("zones", "list", token="lk_not_a_real_key_" + uuid.uuid4().hex, expect=UNAUTHENTICATED)
    assert "HTTP 401" in bad_key.stderr
    signed_out = cli.run("zones", "list", token=None, expect=UNAUTHENTICATED)
    assert "latchkey login" in signed_out.stderr
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    down = cli.run("zones", "list", "--server", f"http://127.0.0.1:{port}", expect=UNREACHABLE)
    assert "cannot reach" in down.stderr
    assert cli.run("zones", "create", "--email", "x@y.z", expect=USAGE)
    assert cli.run("applications", "list", expect=USAGE).stderr.count("--zone") == 1
    assert cli.run("zones", "frobnicate", expect=USAGE)
    bad_body = cli.run("apps", "create", "--data", "{", *z, expect=USAGE)
    assert "not JSON" in bad_body.stderr
    invalid = cli.run("apps", "create", "--name", "", *z, expect=1)
    assert "HTTP 400" in invalid.stderr or "HTTP 422" in invalid.stderr


def test_the_token_never_shows(cli: Cli, server: lk.LatchkeyServer, zone_id: str):
    for args in (["zones", "get", zone_id], ["zones", "get", "nope"], ["profile", "show"], ["--help"]):
        r = cli.run(*args, expect=None)
        assert server.bootstrap_key not in r.stdout + r.stderr, args


def test_profiles_remember_settings(cli: Cli, zone_id: str):
    cli.run("profile", "set", "--zone", zone_id, "--profile", "work", token=None)
    shown = cli.json("profile", "show", "--profile", "work", token=None)
    assert shown["zone"] == zone_id and shown["server"] == cli.server.base_url and shown["signed_in"] is False
    # The remembered zone is used when --zone is absent.
    apps = cli.json("applications", "list", "--profile", "work")
    assert "items" in apps
    names = [p["name"] for p in cli.json("profile", "list", token=None)["items"]]
    assert names == ["work"]
    assert (cli.config_dir / "profiles.json").stat().st_mode & 0o777 == 0o600
    assert cli.config_dir.stat().st_mode & 0o777 == 0o700


def test_environment_variables_stand_in_for_the_flags(cli: Cli, admin: KeycardAPI, new_org: Organization):
    """LATCHKEY_ZONE, LATCHKEY_ORG and LATCHKEY_PROFILE do what --zone, --org and --profile do;
    a flag given as well wins."""
    a, b = (admin.zones.create(name=lk.unique(f"env zone {n}")) for n in "ab")
    in_a = admin.zones.applications.create(a.id, name=lk.unique("app"), identifier=lk.unique_url("app"))
    in_b = admin.zones.applications.create(b.id, name=lk.unique("app"), identifier=lk.unique_url("app"))
    listed = ids(cli.json("applications", "list", "--all", LATCHKEY_ZONE=a.id))
    assert in_a.id in listed and in_b.id not in listed, listed
    listed = ids(cli.json("applications", "list", "--all", "--zone", b.id, LATCHKEY_ZONE=a.id))
    assert in_b.id in listed and in_a.id not in listed, listed
    made = cli.json("apps", "create", "--name", lk.unique("app"), "--identifier", lk.unique_url("app"), LATCHKEY_ZONE=b.id)  # fmt: skip
    assert admin.zones.applications.retrieve(made["id"], zone_id=b.id).id == made["id"]

    sa = admin.organizations.service_accounts.create(new_org.id, name=lk.unique("sa"))
    assert sa.id in ids(cli.json("service-accounts", "list", "--all", LATCHKEY_ORG=new_org.id))
    made = cli.json("service-accounts", "create", "--name", lk.unique("sa"), LATCHKEY_ORG=new_org.id)
    assert admin.organizations.service_accounts.retrieve(made["id"], organization_id=new_org.id).id == made["id"]

    cli.run("profile", "set", "--zone", a.id, token=None, LATCHKEY_PROFILE="from-env")
    assert [p["name"] for p in cli.json("profile", "list", token=None)["items"]] == ["from-env"]
    shown = cli.json("profile", "show", token=None, LATCHKEY_PROFILE="from-env")
    assert (shown["profile"], shown["zone"]) == ("from-env", a.id), shown
    assert cli.json("profile", "show", "--profile", "default", token=None, LATCHKEY_PROFILE="from-env")["zone"] is None
    # the profile named by the environment supplies the zone
    listed = ids(cli.json("applications", "list", "--all", LATCHKEY_PROFILE="from-env"))
    assert in_a.id in listed and in_b.id not in listed, listed
