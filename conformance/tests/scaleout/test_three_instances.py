"""Three instances A, B, C of the real binary on one PostgreSQL database (issue 13): what one
instance changes, the others must act on at once, and what must happen once happens once across
all three. There is no proxy: each request goes to the instance named (multi_kit.PinnedTransport),
all three advertising A's public URL and sharing one master key and bootstrap key.

Propagation cases poll the instance that did not make the change at 20 requests a second, from
before the change until it shows, and allow PROPAGATION_BOUND seconds (1 s; env
LATCHKEY_SCALEOUT_BOUND_S) from the change's response; every message names the instance and the
time it took (or waited).

  a. a password credential deleted on A is refused on B (401 invalid_client);
  b. signing keys rotated on B: C publishes (and signs with) B's new current key;
  c. a private_key_jwt client assertion spent on A is refused on C, also when sent to both at once;
  d. an authorization code redeemed on A is refused on C (invalid_grant), also when sent to both at once;
  e. a policy set activated on A that forbids the client is enforced on B (400 access_denied);
  f. wrong passwords spread over A, B and C lock the account on all three;
  g. scheduled key rotation runs once (three other instances, rotation due every 6 s): the three
     together take about one turn per tick, and each zone's keys rotate once per period;
  h. the change feed's database connections killed: every instance resyncs its caches and hears
     the next change again (a credential deleted on A is refused on B within the bound).
"""

from __future__ import annotations

import json
import os
import secrets
import time
from datetime import datetime
from pathlib import Path

import httpx
import psycopg
import pytest

import lk
from e2e import kit as ekit
from multi_kit import Cluster, Poller, Sample
from oauth.kit import JsonServer, jwt_header

from .scale_kit import (
    REDIRECT,
    ROTATION_PERIOD_S,
    CodeFlow,
    KeyClient,
    Service,
    both_at_once,
    invalid_client,
    invalid_grant,
    kids,
    oauth_error,
    one_winner,
    status_is,
)

PROPAGATION_BOUND = float(os.environ.get("LATCHKEY_SCALEOUT_BOUND_S", "1.0"))
RATE = 20.0
WARM_SECONDS = 2.0
KEYS_OBSERVE = 35.0
SCHEMA = "2026-03-16"


def say(line: str) -> None:  # the measured delays, shown with `pytest -s`
    print(f"[scaleout] {line}", flush=True)


# --------------------------------------------------------------------------------------------
# a. credential deleted on A, refused on B
# --------------------------------------------------------------------------------------------


def delete_on_a_is_refused_on_b(trio: Cluster, svc: Service, case: str, what: str) -> None:
    """Polls B for tokens, deletes the credential on A, and asserts B refuses it within the bound."""
    with Poller("B", trio.http("B"), svc.token, RATE) as b:
        b.warm(WARM_SECONDS, status_is(200), "client_credentials tokens are issued")
        svc.admin.zones.application_credentials.delete(svc.cred.id, zone_id=svc.zone.id)
        changed_at = time.monotonic()
        verdict = b.delay_after(changed_at, oauth_error(401, "invalid_client"), status_is(200))
    say(f"{case}: {verdict.message(what, PROPAGATION_BOUND)}")
    assert verdict.ok(PROPAGATION_BOUND), verdict.message(what, PROPAGATION_BOUND)


def test_a_credential_deleted_on_a_is_refused_on_b(trio: Cluster):
    what = "the credential deleted on A refused with 401 invalid_client"
    delete_on_a_is_refused_on_b(trio, Service(trio, "A"), "a", what)


# --------------------------------------------------------------------------------------------
# b. keys rotated on B, published and used by C
# --------------------------------------------------------------------------------------------


def test_b_keys_rotated_on_b_are_published_and_used_by_c(trio: Cluster):
    """Rotated twice, so the key B then signs with was made by the first rotation and was never
    staged (published as `next`) before C last read the zone's keys."""
    svc = Service(trio, "A")
    b_admin = trio.admin_http("B")
    b_http = trio.http("B")
    jwks = lambda h: h.get(svc.jwks_uri)  # noqa: E731
    with Poller("C", trio.http("C"), jwks, RATE) as c_jwks, Poller("C", trio.http("C"), svc.token, RATE) as c_tokens:
        c_jwks.warm(WARM_SECONDS, status_is(200), "the JWKS is served")
        c_tokens.warm(0.1, status_is(200), "tokens are issued")
        for _ in range(2):
            r = b_admin.post(f"/zones/{svc.zone.id}/signing-keys/rotate")
            assert r.status_code == 200, f"instance B: rotate answered {r.status_code}: {r.text}"
        changed_at = time.monotonic()
        keys = r.json()["items"]
        current = [k["kid"] for k in keys if k["status"] == "current"]
        assert len(current) == 1, f"instance B: rotate answered {keys}"
        t = svc.token(b_http)
        assert t.status_code == 200, f"instance B: token after its own rotation: {t.status_code} {t.text}"
        b_kid = jwt_header(t.json()["access_token"])["kid"]
        assert b_kid == current[0], f"instance B signs with {b_kid} right after rotating to {current[0]}"
        b_set = kids(jwks(b_http))
        assert b_set == {k["kid"] for k in keys}, f"instance B's JWKS {b_set} is not its key list {keys}"

        def has_kid(s: Sample) -> bool:
            return s.response is not None and s.response.status_code == 200 and b_kid in kids(s.response)

        def same_set(s: Sample) -> bool:
            return s.response is not None and s.response.status_code == 200 and kids(s.response) == b_set

        def signs_with_kid(s: Sample) -> bool:
            ok = s.response is not None and s.response.status_code == 200
            return ok and jwt_header(s.response.json()["access_token"])["kid"] == b_kid

        # (watched for KEYS_OBSERVE s, longer than a time-based key cache would keep old keys)
        published = c_jwks.delay_after(changed_at, has_kid, status_is(200), observe=KEYS_OBSERVE)
        whole = c_jwks.delay_after(changed_at, same_set, status_is(200), observe=KEYS_OBSERVE)
        signing = c_tokens.delay_after(changed_at, signs_with_kid, status_is(200), observe=KEYS_OBSERVE)
    checks = [
        (published, f"B's new current key {b_kid} in C's JWKS"),
        (whole, "C's JWKS equal to B's (next, current, previous keys)"),
        (signing, f"C's tokens signed with B's new current key {b_kid}"),
    ]
    for v, what in checks:
        say(f"b: {v.message(what, PROPAGATION_BOUND)}")
    failed = [v.message(what, PROPAGATION_BOUND) for v, what in checks if not v.ok(PROPAGATION_BOUND)]
    assert not failed, "\n".join(failed)


# --------------------------------------------------------------------------------------------
# c. a private_key_jwt assertion is spent once across instances
# --------------------------------------------------------------------------------------------


def test_c_client_assertion_spent_on_a_is_refused_on_c(trio: Cluster, json_server: JsonServer, tmp_path: Path):
    kc = KeyClient(trio, json_server, tmp_path)
    a, c = trio.http("A"), trio.http("C")
    fresh = kc.send(c, kc.assertion())
    assert fresh.status_code == 200, f"instance C: a fresh assertion is refused: {fresh.status_code} {fresh.text}"
    assertion = kc.assertion()
    first = kc.send(a, assertion)
    assert first.status_code == 200, f"instance A: first use of the assertion: {first.status_code} {first.text}"
    replay = kc.send(c, assertion)
    assert invalid_client(replay), (
        f"instance C: the assertion already spent on A was answered {replay.status_code} {replay.text[:200]} "
        f"(expected 401 invalid_client; replayed at once, no wait)"
    )


def test_c_client_assertion_sent_to_a_and_c_at_once_is_accepted_once(trio: Cluster, json_server: JsonServer, tmp_path: Path):
    kc = KeyClient(trio, json_server, tmp_path)
    clients = {"A": trio.http("A"), "C": trio.http("C")}
    for _ in range(5):
        assertion = kc.assertion()
        answers = both_at_once({n: (lambda h=h: kc.send(h, assertion)) for n, h in clients.items()})
        one_winner(answers, invalid_client, "one client assertion")


# --------------------------------------------------------------------------------------------
# d. an authorization code is redeemed once across instances
# --------------------------------------------------------------------------------------------


def test_d_code_redeemed_on_a_is_refused_on_c(trio: Cluster):
    flow = CodeFlow(trio)
    code, pkce = flow.code()
    first = flow.redeem("A", code, pkce)
    assert first.status_code == 200, f"instance A: redeeming its own code: {first.status_code} {first.text}"
    again = flow.redeem("C", code, pkce)
    assert invalid_grant(again), (
        f"instance C: the code already redeemed on A was answered {again.status_code} {again.text[:200]} "
        f"(expected 400 invalid_grant; redeemed at once, no wait)"
    )


def test_d_code_sent_to_a_and_c_at_once_is_redeemed_once(trio: Cluster):
    flow = CodeFlow(trio)
    for _ in range(3):
        code, pkce = flow.code()
        answers = both_at_once({n: (lambda n=n: flow.redeem(n, code, pkce)) for n in ("A", "C")})
        one_winner(answers, invalid_grant, "one authorization code")


# --------------------------------------------------------------------------------------------
# e. a policy set activated on A is enforced on B
# --------------------------------------------------------------------------------------------


def test_e_policy_activated_on_a_is_enforced_on_b(trio: Cluster):
    svc = Service(trio, "A")
    z = svc.zone.id
    pol, sets = svc.admin.zones.policies, svc.admin.zones.policy_sets
    entries = []
    for name, cedar in (
        ("permit", '@id("permit-apps")\npermit (principal is Keycard::Application, action, resource);'),
        ("forbid", f'@id("no-api")\nforbid (principal, action, resource) when {{ resource.identifier == "{svc.api.identifier}" }};'),
    ):
        p = pol.create(z, name=lk.unique(name))
        v = pol.versions.create(p.id, zone_id=z, schema_version=SCHEMA, cedar_raw=cedar)
        entries.append({"policy_id": p.id, "policy_version_id": v.id})
    s = sets.create(z, name=lk.unique("forbidding set"))
    sv = sets.versions.create(s.id, zone_id=z, manifest={"entries": entries}, schema_version=SCHEMA)
    with Poller("B", trio.http("B"), svc.token, RATE) as b:
        b.warm(WARM_SECONDS, status_is(200), "the platform policy set permits the token")
        sets.versions.update(sv.id, zone_id=z, policy_set_id=s.id, active=True)
        changed_at = time.monotonic()
        verdict = b.delay_after(changed_at, oauth_error(400, "access_denied"), status_is(200))
    what = "the forbid activated on A enforced (400 access_denied)"
    say(f"e: {verdict.message(what, PROPAGATION_BOUND)}")
    assert verdict.ok(PROPAGATION_BOUND), verdict.message(what, PROPAGATION_BOUND)


# --------------------------------------------------------------------------------------------
# f. sign-in throttling is shared
# --------------------------------------------------------------------------------------------


def test_f_wrong_passwords_spread_over_three_instances_lock_the_account(trio: Cluster):
    flow = CodeFlow(trio)
    flow.code()  # signs the account up (at A)
    address = "127.0.0.41"  # a source address of its own (the per-address limit is 20 failures)

    def signin_page(name: str) -> tuple[ekit.HttpBrowser, ekit.Page]:
        b = flow.browser(name, address)
        page = b.get(flow.zone.authorize_url(flow.client, REDIRECT, pkce=ekit.Pkce(), state=secrets.token_urlsafe(8)))
        assert isinstance(page, ekit.Page) and page.kind == "signin", f"instance {name}: no sign-in page: {page}"
        return b, page

    pages = {n: signin_page(n) for n in ("A", "B", "C")}

    def attempt(name: str, password: str) -> httpx.Response:
        b, page = pages[name]
        fields = {**page.fields, "email": flow.email, "password": password, "intent": "signin"}
        return b.http.post(flow.zone.url("/login"), data=fields)

    for i, name in enumerate("ABCAB"):
        r = attempt(name, f"wrong guess {i}")
        p = ekit.Page(r)
        assert r.status_code in (200, 400) and p.kind == "signin" and p.alert, (
            f"instance {name}: wrong password #{i + 1} answered {r.status_code} {r.text[:200]}"
        )
    answers = {n: attempt(n, ekit.PASSWORD) for n in ("A", "B", "C")}
    not_locked = {
        n: f"{r.status_code} {r.headers.get('location', '')[:80] or r.text[:80]}"
        for n, r in answers.items()
        if not (r.status_code == 429 and r.headers.get("retry-after", "").strip().isdigit() and "too many" in r.text.lower())
    }
    say("f: after 5 wrong passwords (A,B,C,A,B), the right password on A, B, C: "
        + ", ".join(f"{n}={r.status_code}" for n, r in answers.items()))
    assert not not_locked, (
        "after 5 wrong passwords spread over A, B, C (no wait), the right password was not refused with 429 "
        f"'too many attempts' + Retry-After on: {json.dumps(not_locked)}"
    )


# --------------------------------------------------------------------------------------------
# g. scheduled jobs run once
# --------------------------------------------------------------------------------------------


TURNS = 'latchkey_scheduled_job_turns_total{job="key_rotation"}'
ROTATION_TICK_S = 2  # every instance checks for due keys this often (a quarter period, at least 2 s)


def metric(h: httpx.Client, series: str) -> float:
    r = h.get("/metrics")
    assert r.status_code == 200, f"/metrics answered {r.status_code}"
    for line in r.text.splitlines():
        if line.startswith(series + " "):
            return float(line.split()[1])
    return 0.0


def activations(c: Cluster, zone_id: str) -> list[datetime]:
    r = c.admin_http("B").get(f"/zones/{zone_id}/signing-keys")
    assert r.status_code == 200, f"instance B: signing keys answered {r.status_code}: {r.text}"
    stamps = [k["activated_at"] for k in r.json()["items"] if k.get("activated_at")]
    return sorted(datetime.fromisoformat(s) for s in stamps)


def test_g_scheduled_key_rotation_runs_once(rotating_trio: Cluster):
    """All three instances check for due keys every 2 s; the job lease gives each turn to one of
    them. Watched until a zone's keys rotated twice on schedule: the turns taken by the three
    together stay at about one per lease (three instances without the lease: three per tick),
    and the zone's current keys were activated a whole period apart (never twice in a row)."""
    c = rotating_trio
    https = {n: c.http(n) for n in "ABC"}
    before = {n: metric(h, TURNS) for n, h in https.items()}
    started = time.monotonic()
    svc = Service(c, "A")
    deadline = started + 4 * ROTATION_PERIOD_S + 10
    stamps = activations(c, svc.zone.id)
    while len(stamps) < 3 and time.monotonic() < deadline:
        time.sleep(0.5)
        stamps = activations(c, svc.zone.id)
    elapsed = time.monotonic() - started
    turns = {n: metric(h, TURNS) - before[n] for n, h in https.items()}
    say(f"g: {len(stamps) - 1} scheduled rotations in {elapsed:.1f} s; turns taken: {turns}")
    assert len(stamps) >= 3, (
        f"a zone's keys rotated {len(stamps) - 1} times in {elapsed:.1f} s with the rotation due every "
        f"{ROTATION_PERIOD_S} s (activations {stamps})"
    )
    gaps = [(b - a).total_seconds() for a, b in zip(stamps, stamps[1:])]
    assert all(g >= ROTATION_PERIOD_S - 0.5 for g in gaps), (
        f"current keys activated {gaps} s apart: a rotation ran again before the period of {ROTATION_PERIOD_S} s"
    )
    total = sum(turns.values())
    most = elapsed / ROTATION_TICK_S + 2
    assert 1 <= total <= most, (
        f"the three instances took {total:.0f} key-rotation turns in {elapsed:.1f} s ({turns}); "
        f"one instance per turn allows at most {most:.0f}"
    )


# --------------------------------------------------------------------------------------------
# h. a lost change feed is resynced, then heard again
# --------------------------------------------------------------------------------------------

RESYNCS = "latchkey_invalidation_resyncs_total"


def test_h_a_lost_change_feed_is_resynced_and_heard_again(trio: Cluster):
    """Notices sent while an instance's LISTEN connection is down are lost, so an instance
    whose feed drops must forget everything it cached (resync) before trusting its caches."""
    svc = Service(trio, "A")
    b_http = trio.http("B")
    before = metric(b_http, RESYNCS)
    with psycopg.connect(trio.database_url, autocommit=True) as conn:
        killed = conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND query ILIKE 'LISTEN%'"
        ).fetchall()
    assert len(killed) >= len(trio.instances), f"one listener per instance expected, killed {killed}"
    deadline = time.monotonic() + 5
    while metric(b_http, RESYNCS) <= before and time.monotonic() < deadline:
        time.sleep(0.1)
    assert metric(b_http, RESYNCS) > before, "instance B did not resync within 5 s of losing its feed"

    what = "after the feed came back, the credential deleted on A refused with 401 invalid_client"
    delete_on_a_is_refused_on_b(trio, svc, "h", what)
