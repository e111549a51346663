"""Organization people end to end (issue 11): invited people sign in at their organization's
platform zone as the CLI does, and their access token is the SDK's `api_key` on the management
API. Each test is the attack it stops: a viewer writing, a zone manager reaching another zone, an
invitation accepted by someone else, the last admin demoted, a removed member or a revoked session
still getting in, a token for another audience or zone accepted."""

from __future__ import annotations

import httpx
import pytest
from keycardai_api import APIStatusError

import lk
from e2e import kit

from .people_kit import CLI, REDIRECT, Org


def test_an_invited_admin_signs_in_and_drives_the_sdk(make_org) -> None:
    o: Org = make_org()
    email = kit.unique_email("admin")
    invitation = o.invite(email, "org_admin")
    tokens = o.sign_in(email, invitation=invitation)
    claims = kit.jwt_claims(tokens["access_token"])
    assert claims["aud"] == o.server.base_url and claims["iss"] == o.zone.issuer, claims
    p = o.person(email, tokens)

    # The SDK with the person's token as api_key: organization, invitations, zones.
    assert p.api.organizations.retrieve(o.id).id == o.id
    accepted = p.api.invitations.accept(invitation)
    assert accepted.success and accepted.user_id == p.user_id and accepted.organization_id == o.id
    users = p.http.get(f"/organizations/{o.id}/users").json()["items"]
    assert [(u["id"], u["email"], u["role"]) for u in users] == [(p.user_id, email, "org_admin")]
    zone = p.api.zones.create(name=lk.unique("people zone"))
    app = p.api.zones.applications.create(zone.id, name=lk.unique("app"), identifier=lk.unique_url("app"))
    assert app.id
    # The person is the recorded actor.
    inv = p.api.organizations.invitations.create(o.id, email=kit.unique_email("next"), role="org_viewer")
    assert inv.created_by == p.user_id
    shown = httpx.get(f"{o.server.base_url}/invitations/{_token_of(p, o)}").json()
    assert shown["created_by_name"] == email


def _token_of(p, o: Org) -> str:
    r = p.http.post(f"/organizations/{o.id}/invitations", json={"email": kit.unique_email("t"), "role": "org_member"})
    assert r.status_code == 201, r.text
    return r.json()["token"]


def test_an_invitation_is_accepted_only_by_its_invitee(make_org, admin) -> None:
    o: Org = make_org()
    admin_person = o.join("org_admin")
    viewer = o.join("org_viewer")
    other_email = kit.unique_email("other")
    token = o.invite(other_email, "org_member")
    # Another member, an API key: refused; nothing spent.
    with pytest.raises(APIStatusError) as e:
        viewer.api.invitations.accept(token)
    assert e.value.status_code == 403
    with pytest.raises(APIStatusError) as e:
        admin.invitations.accept(token)
    assert e.value.status_code == 403
    assert httpx.get(f"{o.server.base_url}/invitations/{token}").json()["status"] == "pending"
    with pytest.raises(APIStatusError) as e:
        admin_person.api.invitations.accept("lk_inv_" + "x" * 40)
    assert e.value.status_code == 404
    # The invitee: signs up with it, accepting again answers the same user.
    other = o.person(other_email, o.sign_in(other_email, invitation=token))
    assert other.api.invitations.accept(token).user_id == other.user_id


def test_nobody_signs_up_in_a_platform_zone_without_an_invitation(make_org) -> None:
    o: Org = make_org()
    b = kit.HttpBrowser(o.zone)
    try:
        page = b.get(o.zone.authorize_url(CLI, REDIRECT, pkce=kit.Pkce(), state="x", resources=[o.server.base_url]))
        assert isinstance(page, kit.Page) and page.kind == "signin"
        out = b.submit_login(page, kit.unique_email("walkin"), kit.PASSWORD, "signup")
        assert isinstance(out, kit.Page) and "invitation" in (out.alert or "").lower(), out
    finally:
        b.close()


def test_the_last_admin_cannot_be_removed_or_demoted(make_org) -> None:
    o: Org = make_org()
    a = o.join("org_admin")
    for r in (
        a.http.patch(f"/organizations/{o.id}/users/{a.user_id}", json={"role": "org_member"}),
        a.http.delete(f"/organizations/{o.id}/users/{a.user_id}"),
    ):
        assert r.status_code == 409 and r.json()["code"] == "last_admin", r.text
    b = o.join("org_admin")
    r = b.http.patch(f"/organizations/{o.id}/users/{a.user_id}", json={"role": "org_viewer"})
    assert r.status_code == 200 and r.json()["role"] == "org_viewer", r.text
    r = b.http.patch(f"/organizations/{o.id}/users/{b.user_id}", json={"role": "nobody"})
    assert r.status_code == 400 and "role" in r.json()["message"], r.text


def test_a_removed_member_is_out_at_once_and_rejoins_by_accepting(make_org) -> None:
    o: Org = make_org()
    admin_p = o.join("org_admin")
    m = o.join("org_member")
    assert m.http.get(f"/organizations/{o.id}").status_code == 200
    assert admin_p.http.delete(f"/organizations/{o.id}/users/{m.user_id}").status_code == 204
    # The same, still unexpired token: no longer a member.
    assert m.http.get(f"/organizations/{o.id}").status_code == 403
    assert m.http.get("/organizations").json()["items"] == []
    # A new invitation, accepted with the SDK after signing in with the existing account.
    token = o.invite(m.email, "org_viewer")
    again = o.person(m.email, o.sign_in(m.email))
    assert again.api.invitations.accept(token).user_id == m.user_id
    assert again.http.get(f"/organizations/{o.id}").status_code == 200


def test_roles_hold_in_zones(make_org) -> None:
    o: Org = make_org()
    boss = o.join("org_admin")
    viewer = o.join("org_viewer")
    member = o.join("org_member")
    z1 = boss.api.zones.create(name=lk.unique("z1"))
    z2 = boss.api.zones.create(name=lk.unique("z2"))
    z3 = boss.api.zones.create(name=lk.unique("z3"))
    for zone, role in ((z1, "zone_manager"), (z2, "zone_viewer")):
        r = boss.http.post(f"/zones/{zone.id}/members", json={"organization_user_id": member.user_id, "role": role})
        assert r.status_code == 201, r.text
        assert r.json()["organization_user_id"] == member.user_id and r.json()["role"] == role

    app = {"name": lk.unique("app"), "identifier": lk.unique_url("app")}
    # A viewer reads everything and writes nothing.
    assert viewer.http.get(f"/zones/{z1.id}/applications").status_code == 200
    r = viewer.http.post(f"/zones/{z1.id}/applications", json=app)
    assert r.status_code == 403 and r.json()["code"], r.text
    assert viewer.http.post("/zones", json={"name": "nope"}).status_code == 403
    assert viewer.http.post(f"/organizations/{o.id}/invitations",
                            json={"email": kit.unique_email("v"), "role": "org_admin"}).status_code == 403
    # A zone manager manages their zone only; a zone they are not in does not exist for them.
    assert member.http.post(f"/zones/{z1.id}/applications", json=app).status_code == 201
    assert member.http.post(f"/zones/{z2.id}/applications", json=app).status_code == 403
    assert member.http.get(f"/zones/{z2.id}/applications").status_code == 200
    r = member.http.get(f"/zones/{z3.id}/applications")
    assert r.status_code == 404, r.text
    assert member.http.patch(f"/zones/{z3.id}", json={"name": "mine"}).status_code == 404
    listed = {z["id"] for z in member.http.get("/zones").json()["items"]}
    assert listed == {z1.id, z2.id}
    # ...and may manage members of their zone, not of another.
    r = member.http.patch(f"/zones/{z1.id}/members/{member.user_id}", json={"role": "zone_viewer"})
    assert r.status_code == 200 and r.json()["role"] == "zone_viewer"
    assert member.http.post(f"/zones/{z1.id}/applications", json=app).status_code == 403
    r = boss.http.post(f"/zones/{z1.id}/members", json={"organization_user_id": "not-a-member", "role": "zone_viewer"})
    assert r.status_code == 400 and "organization_user_id" in r.json()["message"]
    assert boss.http.delete(f"/zones/{z1.id}/members/{member.user_id}").status_code == 204
    assert member.http.get(f"/zones/{z1.id}/applications").status_code == 404
    # Secret values are for managers.
    secret = boss.api.zones.secrets.create(
        z2.id, name=lk.unique("s"), entity_id=z2.id, data={"type": "token", "token": "s3cr3t-value"}
    )
    assert member.http.get(f"/zones/{z2.id}/secrets").status_code == 200
    r = member.http.get(f"/zones/{z2.id}/secrets/{secret.id}")
    assert r.status_code == 403 and "s3cr3t" not in r.text


def test_permissions_expansion_reports_the_table(make_org) -> None:
    o: Org = make_org()
    boss = o.join("org_admin")
    viewer = o.join("org_viewer")
    z = boss.api.zones.create(name=lk.unique("perm"))
    mine = viewer.http.get(f"/zones/{z.id}", params={"expand[]": "permissions"}).json()["permissions"]
    assert mine["applications"] == {"read": True, "create": False, "update": False, "delete": False}
    assert mine["secrets"]["reveal"] is False
    theirs = boss.http.get(f"/zones/{z.id}", params={"expand[]": "permissions"}).json()["permissions"]
    assert theirs["applications"]["create"] is True and theirs["secrets"]["reveal"] is True
    org = viewer.http.get(f"/organizations/{o.id}", params={"expand": "permissions"}).json()["permissions"]
    assert org["invitations"]["create"] is False and org["organizations"]["read"] is True
    assert org["audit_events"]["read"] is False


def test_tokens_for_anything_else_are_not_management_tokens(make_org, admin) -> None:
    o: Org = make_org()
    p = o.join("org_admin")
    # A customer zone that names a resource after the management API, and one of its users with
    # a token for it: not a person of any organization.
    z = kit.Zone(admin, admin.zones.create(name=lk.unique("mimic"), organization_id=o.id, requires_invitation=False))
    mimic = z.resource(identifier=o.server.base_url, name="Mimic")
    client = z.browser_client([REDIRECT], consent="implicit", depends_on=[mimic])
    b = kit.HttpBrowser(z)
    try:
        pkce = kit.Pkce()
        out = b.signup_and_authorize(z.authorize_url(client, REDIRECT, pkce=pkce, state="m", resources=[o.server.base_url]), p.email)
        r = z.redeem(client, kit.query(out)["code"], REDIRECT, pkce.verifier, resources=[o.server.base_url])
        assert r.status_code == 200, r.text
        foreign = r.json()["access_token"]
    finally:
        b.close()
    assert kit.jwt_claims(foreign)["aud"] == o.server.base_url
    r = httpx.get(f"{o.server.base_url}/organizations/{o.id}", headers={"Authorization": f"Bearer {foreign}"})
    assert r.status_code == 401, r.text
    # A forged signature: refused.
    forged = kit.flip_signature(p.token) if hasattr(kit, "flip_signature") else p.token[:-4] + "AAAA"
    r = httpx.get(f"{o.server.base_url}/organizations/{o.id}", headers={"Authorization": f"Bearer {forged}"})
    assert r.status_code == 401
    # Revoking the person's session ends the token's management access at once.
    sessions = admin.zones.sessions.list(o.zone.id).items
    sid = kit.jwt_claims(p.token)["sid"]
    assert any(s.id == sid for s in sessions), [s.id for s in sessions]
    admin.zones.sessions.delete(sid, zone_id=o.zone.id)
    assert p.http.get(f"/organizations/{o.id}").status_code == 401


def test_a_persons_changes_are_recorded_as_theirs(make_org) -> None:
    o: Org = make_org()
    p = o.join("org_admin")
    z = p.api.zones.create(name=lk.unique("by"))
    r = p.http.post(f"/zones/{z.id}/policies", json={"name": lk.unique("pol")})
    assert r.status_code == 201, r.text
    pid = r.json()["id"]
    got = p.http.get(f"/zones/{z.id}/policies/{pid}", params={"expand[]": "user"}).json()
    assert got["created_by"] == p.user_id
    assert got["created_by_user"]["email"] == p.email and got["created_by_user"]["zone_id"] == o.zone.id


def test_sign_ins_and_a_persons_writes_are_audited(make_org) -> None:
    o: Org = make_org()
    boss = o.join("org_admin", "auditor")
    viewer = o.join("org_viewer", "watched")
    z = boss.api.zones.create(name=lk.unique("audited"))
    refused = viewer.http.post(f"/zones/{z.id}/applications", json={"name": "x", "identifier": lk.unique_url("x")})
    assert refused.status_code == 403
    events = boss.http.get(f"/organizations/{o.id}/audit-events", params={"limit": 100}).json()["items"]
    sign_ins = {e["actor_id"] for e in events if e["action"] == "auth.sign_in"}
    assert {boss.user_id, viewer.user_id} <= sign_ins, events
    created = [e for e in events if e["action"] == "zones.create" and e["object_id"] == z.id]
    assert created and created[0]["actor_id"] == boss.user_id and created[0]["actor_type"] == "user", created
    denied = [e for e in events if e["actor_id"] == viewer.user_id and e["status"] == 403]
    assert denied and denied[0]["outcome"] == "failure" and denied[0]["zone_id"] == z.id, events
    # Only org_admins read the log.
    assert viewer.http.get(f"/organizations/{o.id}/audit-events").status_code == 403


def test_a_persons_token_drives_the_sso_connection(make_org) -> None:
    o: Org = make_org()
    boss = o.join("org_admin", "sso-admin")
    viewer = o.join("org_viewer", "sso-viewer")
    conn = boss.api.organizations.sso_connection.enable(
        o.id, client_id="latchkey", identifier="https://idp.example.com", client_secret="very-secret-value"
    )
    assert conn.client_secret_set is True
    assert boss.api.organizations.retrieve(o.id).sso_enabled is True
    seen = viewer.api.organizations.sso_connection.retrieve(o.id)
    assert seen.identifier == "https://idp.example.com" and "very-secret-value" not in seen.model_dump_json()
    with pytest.raises(APIStatusError) as e:
        viewer.api.organizations.sso_connection.update(o.id, client_id="mine")
    assert e.value.status_code == 403
    with pytest.raises(APIStatusError) as e:
        viewer.api.organizations.sso_connection.disable(o.id)
    assert e.value.status_code == 403
    boss.api.organizations.sso_connection.disable(o.id)
    assert boss.api.organizations.retrieve(o.id).sso_enabled is False


def test_nobody_registers_a_client_at_a_platform_zone(make_org) -> None:
    # Attack: register a client, then send an admin a sign-in link whose consent page asks for
    # the management API; the token would be theirs. Platform zones take no registrations.
    o: Org = make_org()
    r = httpx.post(o.zone.url("/oauth/2/registration"),
                   json={"redirect_uris": ["http://127.0.0.1:9/cb"], "client_name": "Totally the CLI"})
    assert r.status_code in (400, 403, 404), r.text
    assert o.zone.refresh().protocols.oauth2.dcr_enabled is False
