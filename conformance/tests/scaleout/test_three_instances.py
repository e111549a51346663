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
  g. scheduled jobs run once: skipped (no sub-day rotation setting).
"""

from __future__ import annotations

import json
import os
import secrets
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Callable

import httpx
import pytest
from keycardai.oauth.server import WebIdentity

import lk
import multi_kit
from e2e import kit as ekit
from multi_kit import Cluster, Poller, Sample
from oauth.kit import JWT_BEARER, JsonServer, basic, jwt_header

PROPAGATION_BOUND = float(os.environ.get("LATCHKEY_SCALEOUT_BOUND_S", "1.0"))
RATE = 20.0
WARM_SECONDS = 2.0
SCHEMA = "2026-03-16"
REDIRECT = "http://127.0.0.1/callback"  # never loaded: the browser stops at the client's URI


def say(line: str) -> None:
    """The measured delays, for `pytest -s` (and the report)."""
    print(f"[scaleout] {line}", flush=True)


# --------------------------------------------------------------------------------------------
# Answers
# --------------------------------------------------------------------------------------------


def status_is(code: int) -> Callable[[Sample], bool]:
    return lambda s: s.response is not None and s.response.status_code == code


def oauth_error(status: int, error: str) -> Callable[[Sample], bool]:
    def check(s: Sample) -> bool:
        if s.response is None or s.response.status_code != status:
            return False
        try:
            return s.response.json().get("error") == error
        except ValueError:
            return False

    return check


def kids(r: httpx.Response) -> set[str]:
    return {k["kid"] for k in r.json()["keys"]}


# --------------------------------------------------------------------------------------------
# Objects (made through one instance's management API)
# --------------------------------------------------------------------------------------------


class Service:
    """A zone with a resource and an application (password credential) depending on it."""

    def __init__(self, c: Cluster, via: str, **zone_fields: Any) -> None:
        self.admin = c.admin(via)
        zone_fields.setdefault("name", lk.unique("scaleout"))
        self.zone = self.admin.zones.create(**zone_fields)
        self.api = self.admin.zones.resources.create(self.zone.id, name=lk.unique("api"), identifier=lk.unique_url("api"))
        self.app = self.admin.zones.applications.create(
            self.zone.id, name=lk.unique("app"), identifier=lk.unique_url("app"), dependencies=[{"id": self.api.id}]
        )
        self.cred = self.admin.zones.application_credentials.create(self.zone.id, application_id=self.app.id, type="password")

    @property
    def token_endpoint(self) -> str:
        return self.zone.protocols.oauth2.token_endpoint

    @property
    def jwks_uri(self) -> str:
        return self.zone.protocols.oauth2.jwks_uri

    def token(self, http: httpx.Client) -> httpx.Response:
        return http.post(
            self.token_endpoint,
            data={"grant_type": "client_credentials", "resource": self.api.identifier},
            headers=basic(self.cred.identifier, self.cred.password),
        )


def both_at_once(sends: dict[str, Callable[[], httpx.Response]]) -> dict[str, httpx.Response]:
    """Sends one request per instance at the same moment (a barrier); their answers by instance."""
    out: dict[str, httpx.Response] = {}
    barrier = threading.Barrier(len(sends))

    def go(name: str, send: Callable[[], httpx.Response]) -> None:
        barrier.wait()
        out[name] = send()

    threads = [threading.Thread(target=go, args=item) for item in sends.items()]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return out


def one_winner(answers: dict[str, httpx.Response], refused: Callable[[httpx.Response], bool], what: str) -> None:
    shown = {name: f"{r.status_code} {r.text[:120]}" for name, r in answers.items()}
    won = [n for n, r in answers.items() if r.status_code == 200]
    lost = [n for n, r in answers.items() if r.status_code != 200]
    assert len(won) == 1, f"{what} sent to {sorted(answers)} at once: {len(won)} instances accepted it: {shown}"
    assert all(refused(answers[n]) for n in lost), f"{what}: the loser's refusal is not the expected error: {shown}"


# --------------------------------------------------------------------------------------------
# a. credential deleted on A, refused on B
# --------------------------------------------------------------------------------------------


def test_a_credential_deleted_on_a_is_refused_on_b(trio: Cluster):
    svc = Service(trio, "A")
    with Poller("B", trio.http("B"), svc.token, RATE) as b:
        b.warm(WARM_SECONDS, status_is(200), "client_credentials tokens are issued")
        svc.admin.zones.application_credentials.delete(svc.cred.id, zone_id=svc.zone.id)
        changed_at = time.monotonic()
        verdict = b.delay_after(changed_at, oauth_error(401, "invalid_client"), status_is(200))
    what = "the credential deleted on A refused with 401 invalid_client"
    say(f"a: {verdict.message(what, PROPAGATION_BOUND)}")
    assert verdict.ok(PROPAGATION_BOUND), verdict.message(what, PROPAGATION_BOUND)


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

        published = c_jwks.delay_after(changed_at, has_kid, status_is(200))
        whole = c_jwks.delay_after(changed_at, same_set, status_is(200))
        signing = c_tokens.delay_after(changed_at, signs_with_kid, status_is(200))
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


class KeyClient:
    """An application with a `public-key` credential whose JWKS `json_server` publishes."""

    def __init__(self, c: Cluster, json_server: JsonServer, tmp: Path) -> None:
        self.svc = Service(c, "A")
        self.webid = WebIdentity(server_name=f"scaleout-{uuid.uuid4().hex[:8]}", storage_dir=str(tmp / uuid.uuid4().hex[:8]))
        tag = uuid.uuid4().hex[:10]
        jwks_uri = json_server.add_keys(f"/pk-{tag}/jwks.json", self.webid.get_jwks().model_dump(exclude_none=True))
        self.client_id = f"pk-client-{tag}"
        self.svc.admin.zones.application_credentials.create(
            self.svc.zone.id, application_id=self.svc.app.id, type="public-key", identifier=self.client_id, jwks_uri=jwks_uri
        )

    def assertion(self) -> str:
        return self.webid.identity_manager.create_client_assertion(issuer=self.client_id, audience=self.svc.token_endpoint)

    def send(self, http: httpx.Client, assertion: str) -> httpx.Response:
        return http.post(
            self.svc.token_endpoint,
            data={
                "grant_type": "client_credentials",
                "resource": self.svc.api.identifier,
                "client_assertion_type": JWT_BEARER,
                "client_assertion": assertion,
            },
        )


def _invalid_client(r: httpx.Response) -> bool:
    return r.status_code == 401 and r.headers.get("content-type", "").startswith("application/json") and r.json().get("error") == "invalid_client"


def test_c_client_assertion_spent_on_a_is_refused_on_c(trio: Cluster, json_server: JsonServer, tmp_path: Path):
    kc = KeyClient(trio, json_server, tmp_path)
    a, c = trio.http("A"), trio.http("C")
    fresh = kc.send(c, kc.assertion())
    assert fresh.status_code == 200, f"instance C: a fresh assertion is refused: {fresh.status_code} {fresh.text}"
    assertion = kc.assertion()
    first = kc.send(a, assertion)
    assert first.status_code == 200, f"instance A: first use of the assertion: {first.status_code} {first.text}"
    replay = kc.send(c, assertion)
    assert _invalid_client(replay), (
        f"instance C: the assertion already spent on A was answered {replay.status_code} {replay.text[:200]} "
        f"(expected 401 invalid_client; replayed at once, no wait)"
    )


def test_c_client_assertion_sent_to_a_and_c_at_once_is_accepted_once(trio: Cluster, json_server: JsonServer, tmp_path: Path):
    kc = KeyClient(trio, json_server, tmp_path)
    clients = {"A": trio.http("A"), "C": trio.http("C")}
    for _ in range(5):
        assertion = kc.assertion()
        answers = both_at_once({n: (lambda h=h: kc.send(h, assertion)) for n, h in clients.items()})
        one_winner(answers, _invalid_client, "one client assertion")


# --------------------------------------------------------------------------------------------
# d. an authorization code is redeemed once across instances
# --------------------------------------------------------------------------------------------


class CodeFlow:
    """A zone with open sign-up and a public browser client; codes made at A by an HTTP browser."""

    def __init__(self, c: Cluster) -> None:
        self.c = c
        admin = c.admin("A")
        self.zone = ekit.Zone(admin, admin.zones.create(name=lk.unique("scaleout login"), requires_invitation=False), http=c.http("A"))
        self.client = self.zone.browser_client([REDIRECT], consent="implicit")
        self.email = ekit.unique_email("scaleout")

    def code(self) -> tuple[str, ekit.Pkce]:
        b = ekit.HttpBrowser(self.zone)
        b.http.close()
        b.http = self.c.http("A", base_url="", follow_redirects=False)
        pkce = ekit.Pkce()
        out = b.signup_and_authorize(self.zone.authorize_url(self.client, REDIRECT, pkce=pkce, state=secrets.token_urlsafe(8)), self.email)
        q = ekit.query(out)
        assert "code" in q, f"instance A: no code in the redirect {out}"
        return q["code"], pkce

    def redeem(self, name: str, code: str, pkce: ekit.Pkce) -> httpx.Response:
        return self.zone.redeem(self.client, code, REDIRECT, pkce.verifier, http=self.c.http(name))


def _invalid_grant(r: httpx.Response) -> bool:
    return r.status_code == 400 and r.headers.get("content-type", "").startswith("application/json") and r.json().get("error") == "invalid_grant"


def test_d_code_redeemed_on_a_is_refused_on_c(trio: Cluster):
    flow = CodeFlow(trio)
    code, pkce = flow.code()
    first = flow.redeem("A", code, pkce)
    assert first.status_code == 200, f"instance A: redeeming its own code: {first.status_code} {first.text}"
    again = flow.redeem("C", code, pkce)
    assert _invalid_grant(again), (
        f"instance C: the code already redeemed on A was answered {again.status_code} {again.text[:200]} "
        f"(expected 400 invalid_grant; redeemed at once, no wait)"
    )


def test_d_code_sent_to_a_and_c_at_once_is_redeemed_once(trio: Cluster):
    flow = CodeFlow(trio)
    for _ in range(3):
        code, pkce = flow.code()
        answers = both_at_once({n: (lambda n=n: flow.redeem(n, code, pkce)) for n in ("A", "C")})
        one_winner(answers, _invalid_grant, "one authorization code")


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
        b = ekit.HttpBrowser(flow.zone)
        b.http.close()
        b.http = trio.http(name, base_url="", follow_redirects=False, local_address=address)
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
    say(f"f: after 5 wrong passwords (A,B,C,A,B), the right password on A, B, C: "
        + ", ".join(f"{n}={r.status_code}" for n, r in answers.items()))
    assert not not_locked, (
        "after 5 wrong passwords spread over A, B, C (no wait), the right password was not refused with 429 "
        f"'too many attempts' + Retry-After on: {json.dumps(not_locked)}"
    )


# --------------------------------------------------------------------------------------------
# g. scheduled jobs run once
# --------------------------------------------------------------------------------------------


def test_g_scheduled_key_rotation_runs_once():
    pytest.skip(
        "no sub-day key rotation setting: --key-rotation-days is whole days and the rotation task "
        "ticks every 60 s, so 'one rotation across three instances' cannot be provoked in a test run"
    )
