"""Service accounts and their credentials (spec §3.1.8–3.1.17, §1.3, §4.2, B4), the
`/service-account-token` endpoint, and what a service-account principal may and may not do."""

from __future__ import annotations

import base64
import time

import httpx
import pytest
from keycardai_api import AuthenticationError, BadRequestError, NotFoundError, PermissionDeniedError
from keycardai_api.types.organizations import ServiceAccount, ServiceAccountListResponse
from keycardai_api.types.organizations.service_accounts import (
    CredentialCreateResponse,
    CredentialListResponse,
    ServiceAccountCredential,
)

import lk

def token_request(http: httpx.Client, client_id: str, client_secret: str, **kw) -> httpx.Response:
    return http.post(
        "/service-account-token",
        auth=(client_id, client_secret),
        data={"grant_type": "client_credentials", **kw},
    )


# --------------------------------------------------------------------------------------------
# Service accounts
# --------------------------------------------------------------------------------------------


def test_service_account_crud(strict_admin, admin, new_org):
    sas = strict_admin.organizations.service_accounts
    name, desc = lk.unique("robot"), "does robot things"
    sa = sas.create(new_org.id, name=name, description=desc)
    assert isinstance(sa, ServiceAccount)
    assert lk.NANOID_RE.match(sa.id), sa.id
    assert sa.name == name and sa.description == desc
    lk.assert_utc_datetime(sa.created_at)
    lk.assert_utc_datetime(sa.updated_at)

    got = sas.retrieve(sa.id, organization_id=new_org.id)
    assert (got.id, got.name, got.description) == (sa.id, name, desc)

    listed = sas.list(new_org.id)
    assert isinstance(listed, ServiceAccountListResponse)
    assert [s.id for s in listed.items] == [sa.id]
    assert listed.page_info.has_next_page is False and listed.page_info.has_prev_page is False

    new_name = lk.unique("robot2")
    upd = sas.update(sa.id, organization_id=new_org.id, name=new_name)
    assert upd.name == new_name
    assert upd.description == desc, "PATCH without description must keep it"
    assert upd.updated_at >= sa.updated_at
    upd = sas.update(sa.id, organization_id=new_org.id, description="new words")
    assert upd.name == new_name and upd.description == "new words"
    assert sas.retrieve(sa.id, organization_id=new_org.id).description == "new words"

    raw = admin.organizations.service_accounts.with_raw_response.delete(sa.id, organization_id=new_org.id)
    assert raw.http_response.status_code == 204
    assert raw.http_response.content == b""
    with lk.api_error(NotFoundError, 404, "not_found"):
        admin.organizations.service_accounts.retrieve(sa.id, organization_id=new_org.id)
    assert admin.organizations.service_accounts.list(new_org.id).items == []
    with lk.api_error(NotFoundError, 404, "not_found"):
        admin.organizations.service_accounts.delete(sa.id, organization_id=new_org.id)


def test_service_account_by_org_label(admin, new_org):
    sa = admin.organizations.service_accounts.create(new_org.label, name=lk.unique("label-sa"))
    assert admin.organizations.service_accounts.retrieve(sa.id, organization_id=new_org.id).id == sa.id
    assert [s.id for s in admin.organizations.service_accounts.list(new_org.label).items] == [sa.id]


def test_service_account_raw_shape(admin, new_org):
    status, body, _ = lk.raw_json(
        admin.organizations.service_accounts.with_raw_response.create(new_org.id, name=lk.unique("raw-sa"))
    )
    assert status in (200, 201)
    lk.assert_valid(ServiceAccount, body)
    status, body, _ = lk.raw_json(admin.organizations.service_accounts.with_raw_response.list(new_org.id))
    lk.assert_valid(ServiceAccountListResponse, body)
    assert "has_prev_page" in body["page_info"]


def test_service_account_in_unknown_org(admin):
    with lk.api_error(NotFoundError, 404, "not_found"):
        admin.organizations.service_accounts.list("nosuchorganization000000000")


def test_service_accounts_are_per_org(admin, new_org, default_org):
    sa = admin.organizations.service_accounts.create(new_org.id, name=lk.unique("mine"))
    with lk.api_error(NotFoundError, 404, "not_found"):
        admin.organizations.service_accounts.retrieve(sa.id, organization_id=default_org.id)
    assert sa.id not in [s.id for s in admin.organizations.service_accounts.list(default_org.id, limit=100).items]


def test_service_account_pagination(admin, new_org):
    made = [admin.organizations.service_accounts.create(new_org.id, name=lk.unique("p")).id for _ in range(5)]
    sas = admin.organizations.service_accounts
    p1 = sas.list(new_org.id, limit=2)
    p2 = sas.list(new_org.id, limit=2, after=p1.page_info.end_cursor)
    p3 = sas.list(new_org.id, limit=2, after=p2.page_info.end_cursor)
    assert [s.id for s in p1.items + p2.items + p3.items] == made
    assert (p1.page_info.has_prev_page, p1.page_info.has_next_page) == (False, True)
    assert (p2.page_info.has_prev_page, p2.page_info.has_next_page) == (True, True)
    assert (p3.page_info.has_prev_page, p3.page_info.has_next_page) == (True, False)
    back = sas.list(new_org.id, limit=2, before=p3.page_info.start_cursor)
    assert [s.id for s in back.items] == [s.id for s in p2.items]


# --------------------------------------------------------------------------------------------
# Credentials
# --------------------------------------------------------------------------------------------


def test_credential_crud_and_secret_shown_once(strict_admin, admin, new_org):
    sa = admin.organizations.service_accounts.create(new_org.id, name=lk.unique("cred-sa"))
    creds = strict_admin.organizations.service_accounts.credentials
    status, body, _ = lk.raw_json(
        admin.organizations.service_accounts.credentials.with_raw_response.create(
            sa.id, organization_id=new_org.id, name="ci", description="for CI"
        )
    )
    assert status in (200, 201)
    created = lk.assert_valid(CredentialCreateResponse, body)
    assert isinstance(created.client_secret, str) and len(created.client_secret) >= 16
    assert isinstance(created.client_id, str) and created.client_id
    assert created.client_secret != created.client_id
    assert created.name == "ci" and created.description == "for CI"
    secret = created.client_secret

    def no_secret(raw_call):
        st, js, _ = lk.raw_json(raw_call)
        assert st == 200
        assert secret not in raw_call.http_response.text, "the client secret is shown again"
        return js

    raw_creds = admin.organizations.service_accounts.credentials.with_raw_response
    one = no_secret(raw_creds.retrieve(created.id, organization_id=new_org.id, service_account_id=sa.id))
    assert "client_secret" not in one
    cred = lk.assert_valid(ServiceAccountCredential, one)
    assert (cred.id, cred.client_id, cred.name) == (created.id, created.client_id, "ci")
    assert cred.last_used_at is None, "a credential never used has no last_used_at"

    many = no_secret(raw_creds.list(sa.id, organization_id=new_org.id))
    lk.assert_valid(CredentialListResponse, many)
    assert [c["id"] for c in many["items"]] == [created.id]
    assert all("client_secret" not in c for c in many["items"])
    assert "has_prev_page" in many["page_info"]

    upd = creds.update(created.id, organization_id=new_org.id, service_account_id=sa.id, name="ci-2")
    assert upd.name == "ci-2" and upd.description == "for CI" and upd.client_id == created.client_id
    upd = creds.update(created.id, organization_id=new_org.id, service_account_id=sa.id, description="d2")
    assert upd.name == "ci-2" and upd.description == "d2"
    no_secret(raw_creds.update(created.id, organization_id=new_org.id, service_account_id=sa.id, name="ci-3"))

    second = creds.create(sa.id, organization_id=new_org.id, name="second")
    assert second.client_id != created.client_id and second.client_secret != secret
    assert [c.id for c in creds.list(sa.id, organization_id=new_org.id).items] == [created.id, second.id]

    raw = raw_creds.delete(created.id, organization_id=new_org.id, service_account_id=sa.id)
    assert raw.http_response.status_code == 204 and raw.http_response.content == b""
    with lk.api_error(NotFoundError, 404, "not_found"):
        creds.retrieve(created.id, organization_id=new_org.id, service_account_id=sa.id)
    assert [c.id for c in creds.list(sa.id, organization_id=new_org.id).items] == [second.id]


def test_credential_under_wrong_service_account(admin, new_org):
    sa1 = admin.organizations.service_accounts.create(new_org.id, name=lk.unique("a"))
    sa2 = admin.organizations.service_accounts.create(new_org.id, name=lk.unique("b"))
    cred = admin.organizations.service_accounts.credentials.create(sa1.id, organization_id=new_org.id, name="c")
    with lk.api_error(NotFoundError, 404, "not_found"):
        admin.organizations.service_accounts.credentials.retrieve(
            cred.id, organization_id=new_org.id, service_account_id=sa2.id
        )


# --------------------------------------------------------------------------------------------
# The token endpoint
# --------------------------------------------------------------------------------------------


def test_token_endpoint(http, make_sa):
    p = make_sa()
    r = token_request(http, p.credential.client_id, p.credential.client_secret)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/json")
    assert "no-store" in r.headers.get("cache-control", ""), r.headers
    body = r.json()
    assert isinstance(body["access_token"], str) and body["access_token"]
    assert body["token_type"] == "Bearer"
    assert type(body["expires_in"]) is int and body["expires_in"] > 0
    # the token works as a Bearer token on the management API
    z = http.get("/zones", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert z.status_code == 200, z.text


def test_token_endpoint_basic_auth_header_exactly_as_sdk_sends(http, make_sa):
    p = make_sa()
    basic = base64.b64encode(f"{p.credential.client_id}:{p.credential.client_secret}".encode()).decode()
    r = http.post(
        "/service-account-token",
        content=b"grant_type=client_credentials",
        headers={"Content-Type": "application/x-www-form-urlencoded", "Authorization": f"Basic {basic}"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["access_token"]


@pytest.mark.parametrize("which", ["wrong secret", "unknown client", "no credentials"])
def test_token_endpoint_rejects_bad_client(http, make_sa, which):
    p = make_sa()
    if which == "wrong secret":
        r = token_request(http, p.credential.client_id, p.credential.client_secret + "x")
    elif which == "unknown client":
        r = token_request(http, "nosuchclient", p.credential.client_secret)
    else:
        r = http.post("/service-account-token", data={"grant_type": "client_credentials"})
    assert r.status_code == 401, r.text
    assert r.json()["error"] == "invalid_client"
    challenge = r.headers.get("www-authenticate", "")
    assert challenge, r.headers
    if which != "no credentials":
        # RFC 6749 §5.2: the challenge matches the scheme the client used
        assert challenge.lower().startswith("basic"), r.headers


def test_token_endpoint_unsupported_grant_type(http, make_sa):
    # RFC 6749 §5.2 (design.md: OAuth errors follow RFC 6749)
    p = make_sa()
    r = http.post(
        "/service-account-token",
        auth=(p.credential.client_id, p.credential.client_secret),
        data={"grant_type": "password", "username": "u", "password": "p"},
    )
    assert r.status_code == 400, r.text
    assert r.json()["error"] == "unsupported_grant_type"


def test_last_used_at_set_after_token_use(admin, http, make_sa):
    p = make_sa()
    c = admin.organizations.service_accounts.credentials
    before = c.retrieve(p.credential.id, organization_id=p.org.id, service_account_id=p.service_account.id)
    assert before.last_used_at is None
    t0 = time.time()
    r = token_request(http, p.credential.client_id, p.credential.client_secret)
    assert r.status_code == 200
    after = c.retrieve(p.credential.id, organization_id=p.org.id, service_account_id=p.service_account.id)
    lk.assert_utc_datetime(after.last_used_at, "last_used_at")
    assert abs(after.last_used_at.timestamp() - t0) < 120


# --------------------------------------------------------------------------------------------
# The service-account principal through the SDK
# --------------------------------------------------------------------------------------------


def test_sdk_client_credentials_flow(make_sa):
    p = make_sa()
    zone = p.client.zones.create(name=lk.unique("sa zone"))
    assert zone.organization_id == p.org.id
    assert zone.owner_type == "customer"
    # the SDK really used /service-account-token (redirected to us), once, with Basic auth
    assert len(p.token_requests) == 1
    req = p.token_requests[0]
    assert req.url.path == "/service-account-token"
    assert req.headers["authorization"].startswith("Basic ")
    listed = p.client.zones.list(limit=100)
    ids = [z.id for z in listed.items]
    assert zone.id in ids
    assert all(z.organization_id == p.org.id for z in listed.items), "SA sees zones of another org"
    got = p.client.zones.retrieve(zone.id)
    assert got.id == zone.id
    upd = p.client.zones.update(zone.id, name="renamed by sa")
    assert upd.name == "renamed by sa"
    p.client.zones.delete(zone.id)
    assert len(p.token_requests) == 1, "the SDK should reuse its cached token"


def test_sa_can_read_its_platform_zone(make_sa):
    p = make_sa()
    z = p.client.zones.retrieve(p.org.zone_id)
    assert z.owner_type == "platform" and z.organization_id == p.org.id


def test_sa_forbidden_on_other_org_paths(admin, make_sa, default_org):
    p = make_sa()
    other = admin.organizations.create(name=lk.unique("Other Org"))
    other_sa = admin.organizations.service_accounts.create(other.id, name=lk.unique("other-sa"))
    c = p.client
    for call in (
        lambda: c.organizations.retrieve(other.id),
        lambda: c.organizations.retrieve(other.label),
        lambda: c.organizations.retrieve(default_org.id),
        lambda: c.organizations.update(other.id, name="hijacked"),
        lambda: c.organizations.service_accounts.list(other.id),
        lambda: c.organizations.service_accounts.create(other.id, name="intruder"),
        lambda: c.organizations.service_accounts.retrieve(other_sa.id, organization_id=other.id),
        # "regardless of whether the object exists"
        lambda: c.organizations.service_accounts.retrieve("nosuchserviceaccount000000", organization_id=other.id),
        lambda: c.organizations.service_accounts.credentials.list(other_sa.id, organization_id=other.id),
    ):
        with lk.api_error(PermissionDeniedError, 403, "forbidden"):
            call()
    assert admin.organizations.retrieve(other.id).name == other.name
    assert [s.id for s in admin.organizations.service_accounts.list(other.id).items] == [other_sa.id]


def test_sa_forbidden_on_other_org_zones(admin, make_sa):
    p = make_sa()
    other = admin.organizations.create(name=lk.unique("Other Org"))
    foreign = admin.zones.create(name=lk.unique("foreign"), organization_id=other.id)
    assert foreign.organization_id == other.id
    c = p.client
    for call in (
        lambda: c.zones.retrieve(foreign.id),
        lambda: c.zones.update(foreign.id, name="hijacked"),
        lambda: c.zones.delete(foreign.id),
        lambda: c.zones.retrieve(other.zone_id),  # the other org's platform zone
    ):
        with lk.api_error(PermissionDeniedError, 403, "forbidden"):
            call()
    assert admin.zones.retrieve(foreign.id).name == foreign.name


def test_sa_cannot_list_or_create_zones_in_other_org(admin, make_sa):
    p = make_sa()
    other = admin.organizations.create(name=lk.unique("Other Org"))
    foreign = admin.zones.create(name=lk.unique("foreign"), organization_id=other.id)
    try:
        listed = p.client.zones.list(filter_organization_id=other.id, limit=100)
        assert foreign.id not in [z.id for z in listed.items], "zone of another org leaked"
        assert all(z.organization_id == p.org.id for z in listed.items)
    except PermissionDeniedError as e:
        lk.assert_error(e, 403)
    with pytest.raises((PermissionDeniedError, BadRequestError)) as info:
        p.client.zones.create(name=lk.unique("smuggled"), organization_id=other.id)
    assert info.value.status_code in (400, 403)
    lk.assert_error(info.value, info.value.status_code)
    names = [z.name for z in admin.zones.list(filter_organization_id=other.id, limit=100).items]
    assert not any(n.startswith("smuggled") for n in names)


def test_sa_cannot_create_organizations(make_sa):
    p = make_sa()
    with lk.api_error(PermissionDeniedError, 403, "forbidden"):
        p.client.organizations.create(name=lk.unique("sa made"))


def test_sa_does_not_see_other_orgs_in_list(make_sa, default_org):
    p = make_sa()
    try:
        listed = p.client.organizations.list(limit=100)
    except PermissionDeniedError as e:
        lk.assert_error(e, 403)
        return
    assert all(o.id == p.org.id for o in listed.items), [o.id for o in listed.items]


def test_deleting_credential_revokes_its_tokens(admin, http, make_sa):
    p = make_sa()
    p.client.zones.list()
    assert len(p.token_requests) == 1
    r = token_request(http, p.credential.client_id, p.credential.client_secret)
    raw_token = r.json()["access_token"]

    admin.organizations.service_accounts.credentials.delete(
        p.credential.id, organization_id=p.org.id, service_account_id=p.service_account.id
    )
    # the SDK still holds the token it was issued before the delete
    with lk.api_error(AuthenticationError, 401, "unauthenticated"):
        p.client.zones.list()
    assert len(p.token_requests) == 1
    assert http.get("/zones", headers={"Authorization": f"Bearer {raw_token}"}).status_code == 401
    # and no new token can be had
    r = token_request(http, p.credential.client_id, p.credential.client_secret)
    assert r.status_code == 401 and r.json()["error"] == "invalid_client"


def test_deleting_service_account_revokes_its_tokens(admin, http, make_sa):
    p = make_sa()
    p.client.zones.list()
    admin.organizations.service_accounts.delete(p.service_account.id, organization_id=p.org.id)
    with lk.api_error(AuthenticationError, 401, "unauthenticated"):
        p.client.zones.list()
    r = token_request(http, p.credential.client_id, p.credential.client_secret)
    assert r.status_code == 401 and r.json()["error"] == "invalid_client"
    with lk.api_error(NotFoundError, 404, "not_found"):
        admin.organizations.service_accounts.credentials.retrieve(
            p.credential.id, organization_id=p.org.id, service_account_id=p.service_account.id
        )


def test_other_credential_survives_deletion_of_one(admin, server, make_sa):
    p = make_sa()
    second = admin.organizations.service_accounts.credentials.create(
        p.service_account.id, organization_id=p.org.id, name="second"
    )
    c2 = lk.credentials_client(server, second.client_id, second.client_secret)
    try:
        c2.zones.list()
        admin.organizations.service_accounts.credentials.delete(
            p.credential.id, organization_id=p.org.id, service_account_id=p.service_account.id
        )
        assert c2.zones.list().items is not None
    finally:
        c2.close()


def test_credential_for_unknown_service_account(admin, new_org):
    with lk.api_error(NotFoundError, 404, "not_found"):
        admin.organizations.service_accounts.credentials.create(
            "nosuchserviceaccount000000", organization_id=new_org.id, name="x"
        )
    with lk.api_error(NotFoundError, 404, "not_found"):
        admin.organizations.service_accounts.credentials.list("nosuchserviceaccount000000", organization_id=new_org.id)


def test_service_account_validation(admin, new_org):
    with lk.api_error(BadRequestError, 400, "invalid_field") as info:
        admin.organizations.service_accounts.create(new_org.id, name="<b>x</b>")
    assert "name" in info.body["message"]
    with lk.api_error(BadRequestError, 400, "invalid_field") as info:
        admin.organizations.service_accounts.create(new_org.id, name="x" * 256)
    assert "name" in info.body["message"]
    with lk.api_error(BadRequestError, 400, "invalid_field") as info:
        admin.organizations.service_accounts.create(new_org.id, name="ok", description="bell\x07")
    assert "description" in info.body["message"]


@pytest.mark.parametrize("target", ["organization", "service account", "credential"])
def test_null_name_on_patch_rejected(admin, new_org, target):
    # spec §2.6: `null` sent to a non-nullable field gives 400 (zones already do this for `name`)
    sas = admin.organizations.service_accounts
    sa = sas.create(new_org.id, name=lk.unique("v"))
    cred = sas.credentials.create(sa.id, organization_id=new_org.id, name="c")
    with lk.api_error(BadRequestError, 400, "invalid_field") as info:
        if target == "organization":
            admin.organizations.update(new_org.id, extra_body={"name": None})
        elif target == "service account":
            sas.update(sa.id, organization_id=new_org.id, extra_body={"name": None})
        else:
            sas.credentials.update(
                cred.id, organization_id=new_org.id, service_account_id=sa.id, extra_body={"name": None}
            )
    assert "name" in info.body["message"]
    assert sas.retrieve(sa.id, organization_id=new_org.id).name == sa.name


def test_sa_forbidden_on_unknown_zone(make_sa):
    # another org's zone or no zone at all: the same 403, so ids reveal nothing
    p = make_sa()
    with lk.api_error(PermissionDeniedError, 403, "forbidden"):
        p.client.zones.retrieve("nosuchzone0000000000000000")


def test_sa_list_expand_permissions(admin, new_org):
    admin.organizations.service_accounts.create(new_org.id, name=lk.unique("perm"))
    status, body, _ = lk.raw_json(
        admin.organizations.service_accounts.with_raw_response.list(new_org.id, expand=["permissions", "total_count"])
    )
    assert status == 200
    maps = [body.get("permissions")] + [i.get("permissions") for i in body["items"]]
    assert any(isinstance(m, dict) and m for m in maps), body


def test_credential_delete_under_wrong_service_account_leaves_it(admin, new_org):
    sas = admin.organizations.service_accounts
    sa1 = sas.create(new_org.id, name=lk.unique("a"))
    sa2 = sas.create(new_org.id, name=lk.unique("b"))
    cred = sas.credentials.create(sa1.id, organization_id=new_org.id, name="c")
    with lk.api_error(NotFoundError, 404, "not_found"):
        sas.credentials.delete(cred.id, organization_id=new_org.id, service_account_id=sa2.id)
    assert sas.credentials.retrieve(cred.id, organization_id=new_org.id, service_account_id=sa1.id).id == cred.id
