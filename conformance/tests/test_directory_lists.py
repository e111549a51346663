"""The list features shared by applications, providers and resources (spec §2.1, §2.2, §3.5.1,
§3.9.1, §3.10.1, B49, B50): paging with `after`/`before`, `expand[]=total_count`, `filter[id]`,
exact filters, substring search and `sort`. Every test runs once per kind."""

from __future__ import annotations

import functools
import uuid

import pytest
from keycardai_api import BadRequestError
from keycardai_api.types.zones import ApplicationListResponse, ProviderListResponse, ResourceListResponse

import lk

KINDS = {
    "applications": ("app", ApplicationListResponse),
    "providers": ("provider", ProviderListResponse),
    "resources": ("resource", ResourceListResponse),
}


@pytest.fixture(params=list(KINDS))
def kind(request) -> str:
    return request.param


def make(zone: lk.ZoneKit, kind: str, **kw):
    return getattr(zone, KINDS[kind][0])(**kw)


def api(zone: lk.ZoneKit, kind: str):
    return getattr(zone.client.zones, kind)


def list_ids(zone: lk.ZoneKit, kind: str, **kw) -> list[str]:
    """Every id of one list (one page of 100 is enough for these tests)."""
    status, body, _ = lk.raw_json(api(zone, kind).with_raw_response.list(zone.id, limit=100, **kw))
    assert status == 200 and body["page_info"]["has_next_page"] is False, body
    return lk.ids(body["items"])


def platform_ids(zone: lk.ZoneKit, kind: str) -> set[str]:
    """What every zone has from birth: the two platform providers, nothing else."""
    return {zone.sts_provider_id, zone.vault_provider_id} if kind == "providers" else set()


def tag() -> str:
    return "t" + uuid.uuid4().hex[:10]


# --------------------------------------------------------------------------------------------
# Paging
# --------------------------------------------------------------------------------------------


def test_default_order_is_creation_order(fresh_zone, kind):
    zone = fresh_zone
    made = [make(zone, kind).id for _ in range(3)]
    everything = list_ids(zone, kind)
    assert everything[-3:] == made
    assert set(everything[:-3]) == platform_ids(zone, kind)
    assert list_ids(zone, kind, sort="created_at") == everything
    newest_first = list_ids(zone, kind, sort="-created_at")
    assert newest_first[:3] == made[::-1]
    assert set(newest_first[3:]) == platform_ids(zone, kind)  # made together: their order is a tie


def test_pagination_forward_and_back(fresh_zone, kind):
    zone = fresh_zone
    made = [make(zone, kind).id for _ in range(5)]
    everything = list_ids(zone, kind)
    assert everything[-5:] == made
    raw = functools.partial(api(zone, kind).with_raw_response.list, zone.id)
    pages = lk.walk_pages(raw, KINDS[kind][1], everything, limit=2)
    assert len(pages) >= 3


def test_total_count_follows_filters(fresh_zone, kind):
    zone = fresh_zone
    a = make(zone, kind)
    make(zone, kind)
    n = len(list_ids(zone, kind))
    assert api(zone, kind).list(zone.id).pagination.total_count is None, "total_count only when asked"
    assert zone.count(api(zone, kind).list) == n
    assert zone.count(api(zone, kind).list, filter_slug=[a.slug]) == 1
    assert zone.count(api(zone, kind).list, query=["no-such-thing-" + tag()]) == 0


def test_bad_limit_and_cursor(zone, kind):
    for bad in (0, 101):
        with lk.api_error(BadRequestError, 400, "invalid_query") as info:
            api(zone, kind).list(zone.id, limit=bad)
        assert "limit" in info.body["message"]
    for key in ("after", "before"):
        with lk.api_error(BadRequestError, 400, "invalid_cursor"):
            api(zone, kind).list(zone.id, **{key: "not-a-cursor-%%%"})


def test_cursor_of_another_zone_is_not_silently_reused(zone, fresh_zone, kind):
    z1, z2 = zone, fresh_zone
    for z in (z1, z2):
        for _ in range(3):
            make(z, kind)
    cursor = api(z1, kind).list(z1.id, limit=1).pagination.after_cursor
    assert cursor
    # a cursor names a position in one list; in another list it is refused or harmless
    try:
        got = api(z2, kind).list(z2.id, limit=100, after=cursor)
    except BadRequestError as e:
        lk.assert_error(e, 400, "invalid_cursor")
    else:
        assert set(lk.ids(got.items)) <= set(list_ids(z2, kind))


# --------------------------------------------------------------------------------------------
# filter[id]
# --------------------------------------------------------------------------------------------


def test_filter_id_one_page_with_every_match(zone, kind):
    made = [make(zone, kind).id for _ in range(4)]
    wanted = [made[3], made[0], made[2]]
    got = api(zone, kind).list(zone.id, filter_id=wanted + ["nosuchid0000000000000000000"], limit=1)
    assert sorted(lk.ids(got.items)) == sorted(wanted), "filter[id] ignores limit and leaves unknown ids out"
    assert got.pagination.after_cursor is None
    assert api(zone, kind).list(zone.id, filter_id=["nosuchid0000000000000000000"]).items == []


def test_filter_id_with_cursor_is_400(zone, kind):
    made = [make(zone, kind).id for _ in range(3)]
    cursor = api(zone, kind).list(zone.id, limit=1).pagination.after_cursor
    for key in ("after", "before"):
        with lk.api_error(BadRequestError, 400, "invalid_query") as info:
            api(zone, kind).list(zone.id, filter_id=made, **{key: cursor})
        assert "filter[id]" in info.body["message"]


def test_filter_id_at_most_100(zone, kind):
    a = make(zone, kind)
    hundred = [a.id] + [f"nosuch{i:020d}" for i in range(99)]
    assert lk.ids(api(zone, kind).list(zone.id, filter_id=hundred).items) == [a.id]
    with lk.api_error(BadRequestError, 400, "invalid_query") as info:
        api(zone, kind).list(zone.id, filter_id=hundred + ["one-too-many"])
    assert "filter[id]" in info.body["message"] or "100" in info.body["message"]


# --------------------------------------------------------------------------------------------
# Exact filters
# --------------------------------------------------------------------------------------------


def test_filter_identifier_and_slug(zone, kind):
    a, b, c = (make(zone, kind) for _ in range(3))
    lst = api(zone, kind).list
    assert lk.ids(lst(zone.id, filter_identifier=[a.identifier]).items) == [a.id]
    assert lk.ids(lst(zone.id, filter_identifier=[a.identifier, c.identifier]).items) == [a.id, c.id]
    assert lk.ids(lst(zone.id, filter_slug=[b.slug]).items) == [b.id]
    assert lk.ids(lst(zone.id, filter_slug=[b.slug, c.slug]).items) == [b.id, c.id]
    # the legacy single-value forms
    assert lk.ids(lst(zone.id, identifier=b.identifier).items) == [b.id]
    assert lk.ids(lst(zone.id, slug=c.slug).items) == [c.id]
    # exact, not substring, not case-folded
    assert lst(zone.id, filter_identifier=[a.identifier[:-3]]).items == []
    assert lst(zone.id, filter_identifier=[a.identifier.upper()]).items == []
    assert lst(zone.id, filter_slug=[a.slug[:-1]]).items == []


def test_filters_are_anded(zone, kind):
    a, b = make(zone, kind), make(zone, kind)
    lst = api(zone, kind).list
    assert lk.ids(lst(zone.id, filter_identifier=[a.identifier], filter_slug=[a.slug]).items) == [a.id]
    assert lst(zone.id, filter_identifier=[a.identifier], filter_slug=[b.slug]).items == []


# --------------------------------------------------------------------------------------------
# Substring search
# --------------------------------------------------------------------------------------------


def test_query_substring_over_name_and_identifier(zone, kind):
    t = tag()
    by_name = make(zone, kind, name=f"Alpha {t} thing")
    by_ident = make(zone, kind, identifier=f"https://{t}-beta.example.com/api")
    other = make(zone, kind)
    lst = api(zone, kind).list
    both = sorted([by_name.id, by_ident.id])
    assert sorted(lk.ids(lst(zone.id, query=[t]).items)) == both
    assert sorted(lk.ids(lst(zone.id, query=[t.upper()]).items)) == both, "query[] is case-insensitive"
    assert lk.ids(lst(zone.id, query_name=[t]).items) == [by_name.id]
    assert lk.ids(lst(zone.id, query_name=["ALPHA " + t.upper()]).items) == [by_name.id]
    assert lk.ids(lst(zone.id, query_identifier=[t.upper() + "-BETA"]).items) == [by_ident.id]
    # repeats are OR
    other_t = other.name.split()[-1]
    got = lst(zone.id, query=[t, other_t])
    assert sorted(lk.ids(got.items)) == sorted(both + [other.id])
    assert lst(zone.id, query=["zz-nothing-" + tag()]).items == []


def test_query_with_paging(zone, kind):
    t = tag()
    made = [make(zone, kind, name=f"{t} n{i}").id for i in range(3)]
    for _ in range(2):
        make(zone, kind)
    raw = functools.partial(api(zone, kind).with_raw_response.list, zone.id)
    lk.walk_pages(raw, KINDS[kind][1], made, limit=2, query_name=[t])


# --------------------------------------------------------------------------------------------
# sort
# --------------------------------------------------------------------------------------------


def test_sort_by_name_descending_through_pages(zone, kind):
    t = tag()
    names = [f"{t} c", f"{t} a", f"{t} e", f"{t} b", f"{t} d"]
    made = {make(zone, kind, name=n).id: n for n in names}
    expected = sorted(made, key=lambda i: made[i], reverse=True)
    lst = api(zone, kind).list
    assert lk.ids(lst(zone.id, query_name=[t], sort="-name").items) == expected
    assert lk.ids(lst(zone.id, query_name=[t], sort="name").items) == expected[::-1]
    raw = functools.partial(api(zone, kind).with_raw_response.list, zone.id)
    lk.walk_pages(raw, KINDS[kind][1], expected, limit=2, query_name=[t], sort="-name")


def test_sort_by_identifier_through_pages(zone, kind):
    t = tag()
    letters = ["q", "b", "x", "a", "m"]
    made = {make(zone, kind, identifier=f"https://{t}-{ch}.example.com/").id: ch for ch in letters}
    expected = sorted(made, key=lambda i: made[i])
    lst = api(zone, kind).list
    assert lk.ids(lst(zone.id, query_identifier=[t], sort="identifier").items) == expected
    assert lk.ids(lst(zone.id, query_identifier=[t], sort="-identifier").items) == expected[::-1]
    raw = functools.partial(api(zone, kind).with_raw_response.list, zone.id)
    lk.walk_pages(raw, KINDS[kind][1], expected, limit=2, query_identifier=[t], sort="identifier")


def test_sort_by_several_fields(zone, kind):
    t = tag()
    x2 = make(zone, kind, name=f"{t} x", identifier=f"https://{t}-2.example.com/")
    y = make(zone, kind, name=f"{t} y", identifier=f"https://{t}-3.example.com/")
    x1 = make(zone, kind, name=f"{t} x", identifier=f"https://{t}-1.example.com/")
    lst = api(zone, kind).list
    assert lk.ids(lst(zone.id, query_name=[t], sort="-name,identifier").items) == [y.id, x1.id, x2.id]
    assert lk.ids(lst(zone.id, query_name=[t], sort="name,-identifier").items) == [x2.id, x1.id, y.id]


@pytest.mark.parametrize("bad", ["email", "-slug", "name,bogus", "--name"])
def test_sort_rejects_unknown_fields(zone, kind, bad):
    with lk.api_error(BadRequestError, 400, "invalid_query") as info:
        api(zone, kind).list(zone.id, sort=bad)
    assert "sort" in info.body["message"]


# --------------------------------------------------------------------------------------------
# Edges
# --------------------------------------------------------------------------------------------


def test_after_and_before_together_is_400(zone, kind):
    for _ in range(3):
        make(zone, kind)
    cursor = api(zone, kind).list(zone.id, limit=1).pagination.after_cursor
    with lk.api_error(BadRequestError, 400, "invalid_query"):
        api(zone, kind).list(zone.id, after=cursor, before=cursor)


def test_search_wildcards_are_literal(zone, kind):
    t = tag()
    pct = make(zone, kind, name=f"{t} 100% pure")
    under = make(zone, kind, name=f"{t} a_b")
    make(zone, kind, name=f"{t} aXb 100 pure")
    lst = api(zone, kind).list
    assert lk.ids(lst(zone.id, query=["%"]).items) == [pct.id], "`%` in query[] is a literal, not a wildcard"
    assert lk.ids(lst(zone.id, query_name=["a_b"]).items) == [under.id], "`_` in query[name] is a literal"
    assert lst(zone.id, query=["\\"]).items == []
    assert lst(zone.id, query_name=[t + "*"]).items == []


def test_paging_through_ties(zone, kind):
    name = f"{tag()} Same Name"
    made = {make(zone, kind, name=name).id for _ in range(5)}
    for sort in ("name", "-name"):
        everything = list_ids(zone, kind, sort=sort, query_name=[name])
        assert set(everything) == made
        raw = functools.partial(api(zone, kind).with_raw_response.list, zone.id)
        lk.walk_pages(raw, KINDS[kind][1], everything, limit=2, sort=sort, query_name=[name])


def test_filter_id_repeated_id_counts_once(zone, kind):
    a = make(zone, kind)
    got = api(zone, kind).list(zone.id, filter_id=[a.id, a.id], expand=["total_count"])
    assert lk.ids(got.items) == [a.id]
    assert got.pagination.total_count == 1


@pytest.mark.parametrize("sort", ["created_at", "-name", "identifier"])
def test_edited_cursors_are_400(zone, kind, sort):
    for _ in range(3):
        make(zone, kind)
    cursor = api(zone, kind).list(zone.id, limit=1, sort=sort).pagination.after_cursor
    forged = lk.cursor_forgeries(cursor)
    if not forged:
        pytest.skip("the cursor is not base64url JSON; nothing to edit")
    for key in ("after", "before"):
        fetch = lambda c: api(zone, kind).list(zone.id, limit=1, sort=sort, **{key: c})  # noqa: E731
        assert not lk.cursors_not_refused(fetch, forged), f"edited `{key}` cursors accepted"


def test_unbracketed_expand_and_query_accepted(zone, kind):
    # spec §2.2: accept both `expand` and `expand[]`, both `query` and `query[]`
    t = tag()
    hit = make(zone, kind, name=f"{t} hit")
    make(zone, kind)
    lst = api(zone, kind).list
    counted = lst(zone.id, limit=1, extra_query={"expand": "total_count"})
    assert counted.pagination.total_count == zone.count(lst)
    assert lk.ids(lst(zone.id, extra_query={"query": t}).items) == [hit.id], "plain `query=` was ignored"
    assert lk.ids(lst(zone.id, extra_query={"query": t.upper()}).items) == [hit.id]
