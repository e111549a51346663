"""Users, user agents, sessions and delegated grants (spec §3.8, §3.11–§3.13, §4.7, §4.9–§4.11,
B34–B37). These records come from the OAuth flows; here the rows are written straight into the
database (records.py), to set up exact states, and then read and changed through the SDK."""

from __future__ import annotations

import functools

import pytest
from keycardai_api import APIStatusError, BadRequestError, NotFoundError
from keycardai_api.types.zones import (
    DelegatedGrantListResponse,
    Grant,
    SessionListResponse,
    User,
    UserAgent,
    UserAgentListResponse,
    UserListResponse,
)
from keycardai_api.types.zones.session import IamApplicationSessionType, IamUserSessionType

import lk
import records as rec

HOUR = 3600 * 1000


@pytest.fixture
def zone(fresh_zone: lk.ZoneKit) -> lk.ZoneKit:
    """These tests read whole-zone lists of records, so each has a zone of its own."""
    return fresh_zone


# --------------------------------------------------------------------------------------------
# Users
# --------------------------------------------------------------------------------------------


@pytest.fixture
def users(zone, records):
    """Three users of one zone: authenticated at t+2h, t+1h, t+3h (created in that order)."""
    t = rec.now_ms()
    idp = zone.provider()
    return [
        records.user(zone, email="carol@example.com", authenticated_at=t + 2 * HOUR, subject="sub-carol",
                     issuer="https://idp.example.com", provider_id=idp.id),
        records.user(zone, email="alice@EXAMPLE.org", authenticated_at=t + HOUR, email_verified=0),
        records.user(zone, email="bob@example.com", authenticated_at=t + 3 * HOUR, status="disabled", external=1),
    ]  # fmt: skip


def test_users_list_and_retrieve(zone, users):
    status, body, _ = lk.raw_json(zone.client.zones.users.with_raw_response.list(zone.id))
    assert status == 200
    lk.assert_valid(UserListResponse, body)
    assert lk.ids(body["items"]) == [u["id"] for u in users], "default order is creation order"
    carol = body["items"][0]
    u = lk.assert_valid(User, carol)
    assert (u.email, u.email_verified, u.external, u.status) == ("carol@example.com", True, False, "active")
    assert (u.identifier, u.subject, u.issuer) == (users[0]["id"], "sub-carol", "https://idp.example.com")
    assert u.provider_id == users[0]["provider_id"]
    assert (u.zone_id, u.organization_id) == (zone.id, zone.organization_id)
    lk.assert_rfc3339(carol["authenticated_at"], "authenticated_at")
    lk.assert_rfc3339(carol["created_at"])
    alice, bob = body["items"][1], body["items"][2]
    assert alice["email_verified"] is False
    assert (bob["status"], bob["external"]) == ("disabled", True)
    for key in ("password_hash", "session_count", "grant_count"):
        assert key not in carol, f"{key} must not be in an unexpanded user"

    status, got, _ = lk.raw_json(zone.client.zones.users.with_raw_response.retrieve(users[1]["id"], zone_id=zone.id))
    assert status == 200 and got == alice
    lk.assert_valid(User, got)
    with lk.api_error(NotFoundError, 404, "not_found"):
        zone.client.zones.users.retrieve("nosuchuser0000000000000000", zone_id=zone.id)


def test_users_filters(zone, users):
    lst = zone.client.zones.users.list
    carol, alice, bob = (u["id"] for u in users)
    assert lk.ids(lst(zone.id, filter_email=["bob@example.com"]).items) == [bob]
    assert lk.ids(lst(zone.id, filter_email=["bob@example.com", "carol@example.com"]).items) == [carol, bob]
    assert lst(zone.id, filter_email=["bob@example"]).items == [], "filter[email] is exact"
    assert lk.ids(lst(zone.id, query_email=["example.com"]).items) == [carol, bob]
    assert lk.ids(lst(zone.id, query_email=["ALICE@example"]).items) == [alice], "query[email] is case-insensitive"
    assert lk.ids(lst(zone.id, query=["SUB-CAR"]).items) == [carol], "query[] also searches the subject"
    assert lk.ids(lst(zone.id, filter_identifier=[alice]).items) == [alice]
    assert lk.ids(lst(zone.id, filter_id=[bob, "nosuchuser0000000000000000"]).items) == [bob]
    assert lk.ids(lst(zone.id, filter_subject=["sub-carol"]).items) == [carol]
    assert lk.ids(lst(zone.id, filter_issuer=["https://idp.example.com"]).items) == [carol]
    assert lk.ids(lst(zone.id, filter_external=True).items) == [bob]
    assert lk.ids(lst(zone.id, filter_external=False).items) == [carol, alice]



def test_users_unbracketed_query(zone, users):
    # spec §2.2: accept both `query` and `query[]`
    lst = zone.client.zones.users.list
    assert lk.ids(lst(zone.id, extra_query={"query": "SUB-CAR"}).items) == [users[0]["id"]], "plain `query=` was ignored"


def test_users_expansions(zone, users, records):
    carol = users[0]
    ua = records.user_agent(zone)
    records.session(zone, user_id=carol["id"], user_agent_id=ua["id"])
    records.grant(zone, user_id=carol["id"], resource_id=zone.resource().id, provider_id=carol["provider_id"])
    status, body, _ = lk.raw_json(
        zone.client.zones.users.with_raw_response.list(
            zone.id, filter_id=[carol["id"]], expand=["session_count", "grant_count", "credentials", "total_count"]
        )
    )
    assert status == 200
    lk.assert_valid(UserListResponse, body)
    (item,) = body["items"]
    assert (item["session_count"], item["grant_count"]) == (1, 1)
    (fed,) = [c for c in item["credentials"] if c["type"] == "federation"]
    assert (fed["provider_id"], fed["issuer"], fed["subject"]) == (carol["provider_id"], carol["issuer"], carol["subject"])
    assert body["pagination"]["total_count"] == 1


def test_users_sort(zone, users):
    lst = zone.client.zones.users.list
    carol, alice, bob = (u["id"] for u in users)
    assert lk.ids(lst(zone.id, sort="-authenticated_at").items) == [bob, carol, alice]
    assert lk.ids(lst(zone.id, sort="authenticated_at").items) == [alice, carol, bob]
    assert lk.ids(lst(zone.id, sort="email").items) == [alice, bob, carol]
    assert lk.ids(lst(zone.id, sort="-email").items) == [carol, bob, alice]
    assert lk.ids(lst(zone.id, sort="-created_at").items) == [bob, alice, carol]
    raw = functools.partial(zone.client.zones.users.with_raw_response.list, zone.id)
    lk.walk_pages(raw, UserListResponse, [bob, carol, alice], limit=2, sort="-authenticated_at")
    with lk.api_error(BadRequestError, 400, "invalid_query"):
        lst(zone.id, sort="name")


def test_users_paging(zone, records):
    made = [records.user(zone)["id"] for _ in range(5)]
    raw = functools.partial(zone.client.zones.users.with_raw_response.list, zone.id)
    lk.walk_pages(raw, UserListResponse, made, limit=2)


# --------------------------------------------------------------------------------------------
# User agents
# --------------------------------------------------------------------------------------------


def test_user_agents(zone, records):
    made = [records.user_agent(zone) for _ in range(3)]
    status, body, _ = lk.raw_json(zone.client.zones.user_agents.with_raw_response.list(zone.id))
    assert status == 200
    lk.assert_valid(UserAgentListResponse, body)
    assert lk.ids(body["items"]) == [m["id"] for m in made]
    first = lk.assert_valid(UserAgent, body["items"][0])
    assert (first.identifier, first.name, first.slug) == (made[0]["identifier"], made[0]["name"], made[0]["slug"])
    assert first.identifier.startswith("ua:")
    assert "registration" not in body["items"][0]
    status, got, _ = lk.raw_json(zone.client.zones.user_agents.with_raw_response.retrieve(made[1]["id"], zone_id=zone.id))
    assert status == 200 and got == body["items"][1]
    with lk.api_error(NotFoundError, 404, "not_found"):
        zone.client.zones.user_agents.retrieve("nosuchagent000000000000000", zone_id=zone.id)
    raw = functools.partial(zone.client.zones.user_agents.with_raw_response.list, zone.id)
    lk.walk_pages(raw, UserAgentListResponse, [m["id"] for m in made], limit=2)


# --------------------------------------------------------------------------------------------
# Sessions
# --------------------------------------------------------------------------------------------


@pytest.fixture
def session_tree(zone, records):
    """A user with a tree of sessions, plus one application session and one other user's session.

    entry (listed by default): root_ua, child_app, child_of_plain, app_session, other_root
    nested (only with include_nested): grandchild
    never listed (no initiator): root_plain, child_plain
    """
    user, other_user = records.user(zone), records.user(zone)
    ua = records.user_agent(zone)
    app, idp = zone.app(), zone.provider()
    s = {}
    s["root_ua"] = records.session(zone, user_id=user["id"], user_agent_id=ua["id"], metadata_name=ua["name"],
                                   session_data={"sub": "u1", "email": "u1@example.com"})  # fmt: skip
    s["child_app"] = records.session(zone, user_id=user["id"], application_id=app.id, parent_id=s["root_ua"]["id"],
                                     metadata_name=app.name)  # fmt: skip
    s["grandchild"] = records.session(zone, user_id=user["id"], application_id=app.id, parent_id=s["child_app"]["id"])
    s["child_plain"] = records.session(zone, user_id=user["id"], parent_id=s["root_ua"]["id"])
    s["root_plain"] = records.session(zone, user_id=user["id"])
    s["child_of_plain"] = records.session(zone, user_id=user["id"], application_id=app.id, parent_id=s["root_plain"]["id"])
    s["app_session"] = records.session(zone, session_type="application", application_id=app.id, provider_id=idp.id,
                                       issuer="https://idp.example.com", subject="svc-1", metadata_name=app.name)  # fmt: skip
    s["other_root"] = records.session(zone, user_id=other_user["id"], user_agent_id=ua["id"])
    return {"user": user, "other_user": other_user, "ua": ua, "app": app, "idp": idp, "s": s}


def sids(tree, *names) -> list[str]:
    return [tree["s"][n]["id"] for n in names]


def test_sessions_default_list_shows_entry_sessions(zone, session_tree):
    status, body, _ = lk.raw_json(zone.client.zones.sessions.with_raw_response.list(zone.id))
    assert status == 200
    lk.assert_valid(SessionListResponse, body)
    assert lk.ids(body["items"]) == sids(session_tree, "root_ua", "child_app", "child_of_plain", "app_session", "other_root")
    parsed = zone.client.zones.sessions.list(zone.id).items
    kinds = {p.id: type(p) for p in parsed}
    assert kinds[session_tree["s"]["app_session"]["id"]] is IamApplicationSessionType
    assert kinds[session_tree["s"]["root_ua"]["id"]] is IamUserSessionType


def test_sessions_include_nested(zone, session_tree):
    got = zone.client.zones.sessions.list(zone.id, include_nested="true", limit=100)
    assert lk.ids(got.items) == sids(
        session_tree, "root_ua", "child_app", "grandchild", "child_of_plain", "app_session", "other_root"
    ), "include_nested shows every session with an initiator, and only those"
    raw = functools.partial(zone.client.zones.sessions.with_raw_response.list, zone.id)
    lk.walk_pages(raw, SessionListResponse, lk.ids(got.items), limit=2, include_nested="true")
    lk.walk_pages(raw, SessionListResponse, sids(session_tree, "root_ua", "child_app", "child_of_plain", "app_session",
                                                 "other_root"), limit=2)  # fmt: skip


def test_sessions_filters(zone, session_tree):
    lst = zone.client.zones.sessions.list
    assert lk.ids(lst(zone.id, session_type="application").items) == sids(session_tree, "app_session")
    assert lk.ids(lst(zone.id, session_type="user").items) == sids(
        session_tree, "root_ua", "child_app", "child_of_plain", "other_root"
    )
    assert lk.ids(lst(zone.id, user_id=session_tree["other_user"]["id"]).items) == sids(session_tree, "other_root")
    assert lk.ids(lst(zone.id, user_id=session_tree["user"]["id"], include_nested="true").items) == sids(
        session_tree, "root_ua", "child_app", "grandchild", "child_of_plain"
    )
    assert lst(zone.id, status="revoked").items == []
    assert len(lst(zone.id, status="active").items) == 5
    counted = lst(zone.id, expand=["total_count"], limit=2)
    assert counted.pagination.total_count == 5 and len(counted.items) == 2
    with lk.api_error(BadRequestError, 400, "invalid_query"):
        lst(zone.id, session_type="robot")  # type: ignore[arg-type]


def test_session_shapes(zone, session_tree):
    s, app, ua = session_tree["s"], session_tree["app"], session_tree["ua"]
    status, body, _ = lk.raw_json(zone.client.zones.sessions.with_raw_response.retrieve(s["root_ua"]["id"], zone_id=zone.id))
    assert status == 200
    user_s = lk.assert_valid(IamUserSessionType, body)
    assert (user_s.session_type, user_s.user_id, user_s.user_agent_id) == ("user", session_tree["user"]["id"], ua["id"])
    assert user_s.status == "active" and user_s.active is not False
    assert user_s.metadata.name == ua["name"]
    assert user_s.session_data == {"sub": "u1", "email": "u1@example.com"}
    assert body.get("parent_id") is None
    for key in ("created_at", "expires_at", "authenticated_at"):
        lk.assert_rfc3339(body[key], key)
    child = zone.client.zones.sessions.retrieve(s["child_app"]["id"], zone_id=zone.id)
    assert child.parent_id == s["root_ua"]["id"] and child.application_id == app.id

    sessions = zone.client.zones.sessions
    status, body, _ = lk.raw_json(sessions.with_raw_response.retrieve(s["app_session"]["id"], zone_id=zone.id))
    app_s = lk.assert_valid(IamApplicationSessionType, body)
    assert (app_s.application_id, app_s.provider_id, app_s.subject) == (app.id, session_tree["idp"].id, "svc-1")
    assert app_s.issuer == "https://idp.example.com"
    assert "parent_id" not in body and "user_id" not in body, "application sessions have no user fields"
    with lk.api_error(NotFoundError, 404, "not_found"):
        zone.client.zones.sessions.retrieve("nosuchsession0000000000000", zone_id=zone.id)


def test_session_revoke_and_delete(zone, session_tree):
    sid = session_tree["s"]["child_app"]["id"]
    sessions = zone.client.zones.sessions
    status, body, _ = lk.raw_json(sessions.with_raw_response.update(sid, zone_id=zone.id, status="revoked"))
    assert status == 200
    revoked = lk.assert_valid(IamUserSessionType, body)
    assert revoked.status == "revoked" and body.get("active") is False
    assert zone.client.zones.sessions.retrieve(sid, zone_id=zone.id).status == "revoked"
    assert lk.ids(zone.client.zones.sessions.list(zone.id, status="revoked").items) == [sid]
    assert sid not in lk.ids(zone.client.zones.sessions.list(zone.id, status="active").items)
    with lk.api_error(BadRequestError, 400, "invalid_field"):
        zone.client.zones.sessions.update(sid, zone_id=zone.id, status="active")  # type: ignore[arg-type]

    raw = zone.client.zones.sessions.with_raw_response.delete(sid, zone_id=zone.id)
    assert raw.http_response.status_code == 204 and raw.http_response.content == b""
    with lk.api_error(NotFoundError, 404, "not_found"):
        zone.client.zones.sessions.retrieve(sid, zone_id=zone.id)
    with lk.api_error(NotFoundError, 404, "not_found"):
        zone.client.zones.sessions.delete(sid, zone_id=zone.id)
    assert sid not in lk.ids(zone.client.zones.sessions.list(zone.id, include_nested="true").items)


def test_session_past_expiry_reads_expired(zone, records):
    user = records.user(zone)
    ua = records.user_agent(zone)
    t = rec.now_ms()
    old = records.session(zone, user_id=user["id"], user_agent_id=ua["id"], expires_at=t - HOUR, created_at=t - 2 * HOUR)
    assert zone.client.zones.sessions.retrieve(old["id"], zone_id=zone.id).status == "expired"
    assert lk.ids(zone.client.zones.sessions.list(zone.id, status="expired").items) == [old["id"]]
    assert zone.client.zones.sessions.list(zone.id, status="active").items == []


# --------------------------------------------------------------------------------------------
# Delegated grants
# --------------------------------------------------------------------------------------------


@pytest.fixture
def grants(zone, records):
    u1, u2 = records.user(zone), records.user(zone)
    r1, r2 = zone.resource(), zone.resource()
    idp = zone.provider()
    t = rec.now_ms()
    g = {
        "active": records.grant(zone, user_id=u1["id"], resource_id=r1.id, provider_id=idp.id, scopes=["read", "write"]),
        "revoked": records.grant(zone, user_id=u1["id"], resource_id=r1.id, provider_id=idp.id, status="revoked"),
        "lapsed": records.grant(zone, user_id=u1["id"], resource_id=r1.id, provider_id=idp.id, expires_at=t - HOUR),
        "refreshed": records.grant(zone, user_id=u2["id"], resource_id=r2.id, provider_id=idp.id, refresh_token_set=1,
                                   refreshed_at=t - 60_000),  # fmt: skip
    }
    return {"u1": u1, "u2": u2, "r1": r1, "r2": r2, "idp": idp, "g": g}


def gids(grants, *names) -> list[str]:
    return [grants["g"][n]["id"] for n in names]


def test_grants_list_and_shape(zone, grants):
    status, body, _ = lk.raw_json(zone.client.zones.delegated_grants.with_raw_response.list(zone.id))
    assert status == 200
    lk.assert_valid(DelegatedGrantListResponse, body)
    assert lk.ids(body["items"]) == gids(grants, "active", "revoked", "lapsed", "refreshed")
    by_id = {i["id"]: i for i in body["items"]}
    a = lk.assert_valid(Grant, by_id[grants["g"]["active"]["id"]])
    assert (a.user_id, a.resource_id, a.provider_id) == (grants["u1"]["id"], grants["r1"].id, grants["idp"].id)
    assert (a.status, a.scopes, a.refresh_token_set) == ("active", ["read", "write"], False)
    assert (a.zone_id, a.organization_id) == (zone.id, zone.organization_id)
    assert "refreshed_at" not in by_id[a.id], "refreshed_at is left out when never refreshed (B36)"
    assert not ({"access_token", "refresh_token"} & set(by_id[a.id])), "tokens never leave the server"
    lk.assert_rfc3339(by_id[a.id]["expires_at"])
    r = by_id[grants["g"]["refreshed"]["id"]]
    assert r["refresh_token_set"] is True
    lk.assert_rfc3339(r["refreshed_at"], "refreshed_at")
    assert by_id[grants["g"]["revoked"]["id"]]["status"] == "revoked"
    assert by_id[grants["g"]["lapsed"]["id"]]["status"] == "expired", "an active grant past expires_at is expired"
    for item in body["items"]:
        if "active" in item:
            assert item["active"] is (item["status"] == "active"), item
    got = zone.client.zones.delegated_grants.with_raw_response.retrieve(a.id, zone_id=zone.id).http_response.json()
    assert got == by_id[a.id]
    with lk.api_error(NotFoundError, 404, "not_found"):
        zone.client.zones.delegated_grants.retrieve("nosuchgrant000000000000000", zone_id=zone.id)


def test_grants_filters_and_sort(zone, grants):
    lst = zone.client.zones.delegated_grants.list
    assert lk.ids(lst(zone.id, status="active").items) == gids(grants, "active", "refreshed")
    assert lk.ids(lst(zone.id, active="true").items) == gids(grants, "active", "refreshed")
    assert lk.ids(lst(zone.id, status="expired").items) == gids(grants, "lapsed")
    assert lk.ids(lst(zone.id, status="revoked").items) == gids(grants, "revoked")
    assert lk.ids(lst(zone.id, user_id=grants["u2"]["id"]).items) == gids(grants, "refreshed")
    assert lk.ids(lst(zone.id, resource_id=grants["r1"].id).items) == gids(grants, "active", "revoked", "lapsed")
    assert lk.ids(lst(zone.id, resource_id=grants["r1"].id, status="active").items) == gids(grants, "active")
    assert lk.ids(lst(zone.id, sort="-created_at").items) == gids(grants, "refreshed", "lapsed", "revoked", "active")
    raw = functools.partial(zone.client.zones.delegated_grants.with_raw_response.list, zone.id)
    lk.walk_pages(raw, DelegatedGrantListResponse, gids(grants, "refreshed", "lapsed", "revoked", "active"),
                  limit=2, sort="-created_at")  # fmt: skip
    for bad in ("name", "expires_at"):
        with lk.api_error(BadRequestError, 400, "invalid_query"):
            lst(zone.id, sort=bad)
    with lk.api_error(BadRequestError, 400, "invalid_query"):
        lst(zone.id, status="paused")  # type: ignore[arg-type]


def test_grant_revoke_and_delete(zone, grants):
    gid = grants["g"]["active"]["id"]
    status, body, _ = lk.raw_json(
        zone.client.zones.delegated_grants.with_raw_response.update(gid, zone_id=zone.id, status="revoked")
    )
    assert status == 200
    g = lk.assert_valid(Grant, body)
    assert g.status == "revoked" and body.get("active") is False
    assert zone.client.zones.delegated_grants.retrieve(gid, zone_id=zone.id).status == "revoked"
    with lk.api_error(BadRequestError, 400, "invalid_field"):
        zone.client.zones.delegated_grants.update(gid, zone_id=zone.id, status="active")  # type: ignore[arg-type]
    raw = zone.client.zones.delegated_grants.with_raw_response.delete(gid, zone_id=zone.id)
    assert raw.http_response.status_code == 204 and raw.http_response.content == b""
    with lk.api_error(NotFoundError, 404, "not_found"):
        zone.client.zones.delegated_grants.retrieve(gid, zone_id=zone.id)
    with lk.api_error(NotFoundError, 404, "not_found"):
        zone.client.zones.delegated_grants.delete(gid, zone_id=zone.id)


def test_deleting_the_resource_deletes_its_grants(zone, grants):
    zone.client.zones.resources.delete(grants["r2"].id, zone_id=zone.id)
    with lk.api_error(NotFoundError, 404, "not_found"):
        zone.client.zones.delegated_grants.retrieve(grants["g"]["refreshed"]["id"], zone_id=zone.id)
    assert lk.ids(zone.client.zones.delegated_grants.list(zone.id).items) == gids(grants, "active", "revoked", "lapsed")


def test_sort_refused_where_not_supported(zone, session_tree):
    for call in (
        lambda: zone.client.zones.sessions.list(zone.id, extra_query={"sort": "name"}),
        lambda: zone.client.zones.user_agents.list(zone.id, extra_query={"sort": "email"}),
    ):
        with lk.api_error(BadRequestError, 400, "invalid_query"):
            call()


# --------------------------------------------------------------------------------------------
# Edges
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("sort", ["-authenticated_at", "authenticated_at"])
def test_users_sort_with_missing_authenticated_at(zone, records, sort):
    t = rec.now_ms()
    made = [records.user(zone, authenticated_at=None if i % 2 else t + i * 1000) for i in range(7)]
    everything = lk.ids(zone.client.zones.users.list(zone.id, sort=sort, limit=100).items)
    assert sorted(everything) == sorted(u["id"] for u in made)
    stamped = [u for u in made if u["authenticated_at"] is not None]
    expected = [u["id"] for u in sorted(stamped, key=lambda u: u["authenticated_at"], reverse=sort.startswith("-"))]
    assert [i for i in everything if i in expected] == expected
    never = {u["id"] for u in made if u["authenticated_at"] is None}
    positions = sorted(everything.index(i) for i in never)
    assert positions in (list(range(len(never))), list(range(len(everything) - len(never), len(everything)))), (
        "users never authenticated are not kept together at one end"
    )
    raw = functools.partial(zone.client.zones.users.with_raw_response.list, zone.id)
    lk.walk_pages(raw, UserListResponse, everything, limit=2, sort=sort)


def test_deleting_a_provider_unsets_user_provider_id(zone, records):
    idp = zone.provider()
    user = records.user(zone, provider_id=idp.id, issuer="https://idp.example.com", subject="s-1")
    assert zone.client.zones.users.retrieve(user["id"], zone_id=zone.id).provider_id == idp.id
    zone.client.zones.providers.delete(idp.id, zone_id=zone.id)
    raw = zone.client.zones.users.with_raw_response.retrieve(user["id"], zone_id=zone.id).http_response.json()
    assert raw.get("provider_id") is None, "provider_id is undefined once its provider is deleted (B37)"
    assert raw["subject"] == "s-1"


def test_deleting_an_application_leaves_no_dangling_sessions(zone, records):
    app, idp = zone.app(), zone.provider()
    user = records.user(zone)
    app_s = records.session(zone, session_type="application", application_id=app.id, provider_id=idp.id,
                            issuer="https://idp.example.com", subject="svc")  # fmt: skip
    user_s = records.session(zone, user_id=user["id"], application_id=app.id)
    raw = zone.client.zones.applications.with_raw_response.delete(app.id, zone_id=zone.id)
    assert raw.http_response.status_code == 204
    for s in (app_s, user_s):
        try:
            got = zone.client.zones.sessions.with_raw_response.retrieve(s["id"], zone_id=zone.id).http_response.json()
        except NotFoundError:
            continue
        assert got.get("application_id") in (None, ""), f"session {s['id']} still names the deleted application"


def test_sessions_stay_valid_when_their_provider_is_deleted(zone, records):
    app, idp = zone.app(), zone.provider()
    user = records.user(zone)
    app_s = records.session(zone, session_type="application", application_id=app.id, provider_id=idp.id,
                            issuer="https://idp.example.com", subject="svc")  # fmt: skip
    user_s = records.session(zone, user_id=user["id"], user_agent_id=records.user_agent(zone)["id"], provider_id=idp.id)
    try:
        zone.client.zones.providers.delete(idp.id, zone_id=zone.id)
    except APIStatusError as e:  # refusing is fine too; a dangling or model-breaking session is not
        lk.assert_error(e, 409, "conflict")
        return
    status, body, _ = lk.raw_json(zone.client.zones.sessions.with_raw_response.list(zone.id, include_nested="true"))
    lk.assert_valid(SessionListResponse, body)
    for s, model in ((app_s, IamApplicationSessionType), (user_s, IamUserSessionType)):
        try:
            got = zone.client.zones.sessions.with_raw_response.retrieve(s["id"], zone_id=zone.id).http_response.json()
        except NotFoundError:
            continue
        lk.assert_valid(model, got)
        assert got.get("provider_id") != idp.id


def test_revoking_a_session_revokes_its_children(zone, records):
    user = records.user(zone)
    root = records.session(zone, user_id=user["id"], user_agent_id=records.user_agent(zone)["id"])
    child = records.session(zone, user_id=user["id"], application_id=zone.app().id, parent_id=root["id"])
    grandchild = records.session(zone, user_id=user["id"], application_id=zone.app().id, parent_id=child["id"])
    other = records.session(zone, user_id=user["id"], user_agent_id=records.user_agent(zone)["id"])
    zone.client.zones.sessions.update(root["id"], zone_id=zone.id, status="revoked")
    for s in (child, grandchild):
        assert zone.client.zones.sessions.retrieve(s["id"], zone_id=zone.id).status == "revoked"
    assert zone.client.zones.sessions.retrieve(other["id"], zone_id=zone.id).status == "active"
    zone.client.zones.sessions.delete(root["id"], zone_id=zone.id)
    for s in (child, grandchild):
        with lk.api_error(NotFoundError, 404, "not_found"):
            zone.client.zones.sessions.retrieve(s["id"], zone_id=zone.id)


def test_revoked_grant_stays_revoked(zone, records):
    user, res, idp = records.user(zone), zone.resource(), zone.provider()
    past = rec.now_ms() - HOUR
    refs = dict(user_id=user["id"], resource_id=res.id, provider_id=idp.id, expires_at=past)
    revoked = records.grant(zone, status="revoked", **refs)
    lapsed = records.grant(zone, **refs)
    assert zone.client.zones.delegated_grants.retrieve(revoked["id"], zone_id=zone.id).status == "revoked"
    assert zone.client.zones.delegated_grants.update(lapsed["id"], zone_id=zone.id, status="revoked").status == "revoked"
    assert lk.ids(zone.client.zones.delegated_grants.list(zone.id, status="revoked").items) == [revoked["id"], lapsed["id"]]
    assert zone.client.zones.delegated_grants.list(zone.id, status="expired").items == []
