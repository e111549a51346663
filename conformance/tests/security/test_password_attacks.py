"""Points 4 and 6 — password sign-in under attack.

4. A burst of wrong-password sign-ins must not make the server allocate an argon2 buffer per
   request without bound: peak RSS stays below 400 MB, answers are the sign-in page with an error
   (or 429/503 with Retry-After), and /healthz keeps answering.
6. Throttling: per account (5 wrong passwords lock the account for a while, even for the right
   password, without locking other accounts), per source address (20 failures from an address
   in a minute), and per address for invitation-token probing.

The throttle counters live in the database, shared by every instance (the three-instance test
`scaleout/test_three_instances.py::test_f…` covers them on PostgreSQL); the argon2 pool is per
process. Nothing here depends on the back end otherwise, so these run once, on sqlite.
"""

from __future__ import annotations

import re
import secrets
import threading
import time
from typing import Any

import httpx
import pytest

import lk
from e2e import kit

from . import attack_kit as ak

MAX_RSS_KB = 400 * 1024


# --------------------------------------------------------------------------------------------
# 4. Password-hash memory bound (own server)
# --------------------------------------------------------------------------------------------


@pytest.mark.lifecycle
def test_concurrent_wrong_passwords_do_not_exhaust_memory(make_server):
    srv = make_server("sqlite")
    admin = lk.api_key_client(srv, srv.bootstrap_key)
    try:
        z = kit.Zone(admin, admin.zones.create(name=lk.unique("burst"), requires_invitation=False))
        client = z.browser_client([ak.REGISTERED])
        addresses = [f"127.0.0.{n}" for n in (2, 3, 4, 5)]
        browsers = [ak.Browser(z, addresses[i % 4]) for i in range(64)]
        try:
            pages = [ak.signin_page(b, z, client, ak.REGISTERED) for b in browsers]
            rss_before = ak.vm_hwm_kb(srv.proc.pid)

            health: list[Any] = []
            stop = threading.Event()

            def poll_health() -> None:
                with httpx.Client(timeout=5.0) as h:
                    while not stop.is_set():
                        t0 = time.monotonic()
                        try:
                            r = h.get(f"{srv.base_url}/healthz")
                            health.append((r.status_code, time.monotonic() - t0))
                        except httpx.HTTPError as e:
                            health.append((repr(e), time.monotonic() - t0))
                        time.sleep(0.1)

            results: list[Any] = [None] * 64
            barrier = threading.Barrier(64)

            def attempt(i: int) -> None:
                b, page = browsers[i], pages[i]
                fields = {**page.fields, "email": ak.unique_email(f"nobody{i}"), "password": "wrong password " + str(i),
                          "intent": "signin"}
                barrier.wait()
                try:
                    results[i] = b.http.post(z.url("/login"), data=fields)
                except httpx.HTTPError as e:
                    results[i] = e

            poller = threading.Thread(target=poll_health, daemon=True)
            poller.start()
            threads = [threading.Thread(target=attempt, args=(i,)) for i in range(64)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(timeout=120)
            stop.set()
            poller.join(timeout=10)

            peak = ak.vm_hwm_kb(srv.proc.pid)
            assert srv.proc.poll() is None, "the server died under the burst"
            assert peak < MAX_RSS_KB, (
                f"peak RSS {peak // 1024} MB (before the burst {rss_before // 1024} MB) for 64 wrong passwords: "
                f"password hashing is not bounded"
            )
            bad = []
            for i, r in enumerate(results):
                if not isinstance(r, httpx.Response):
                    bad.append(f"#{i}: {r!r}")
                elif r.status_code in (429, 503):
                    if not r.headers.get("retry-after"):
                        bad.append(f"#{i}: {r.status_code} without Retry-After")
                elif r.status_code in (200, 400):
                    p = kit.Page(r)
                    if p.kind != "signin" or not p.alert:
                        bad.append(f"#{i}: {r.status_code} but not the sign-in page with an error: {r.text[:200]}")
                else:
                    bad.append(f"#{i}: {r.status_code}: {r.text[:200]}")
            assert not bad, "\n".join(bad)
            assert health, "no health probe ran"
            unhealthy = [h for h in health if h[0] != 200]
            assert not unhealthy, f"/healthz failed during the burst: {unhealthy[:5]}"
        finally:
            for b in browsers:
                b.close()
    finally:
        admin.close()


# --------------------------------------------------------------------------------------------
# 6. Sign-in throttling (shared server, sqlite only)
# --------------------------------------------------------------------------------------------


def _attempt(b: ak.Browser, z: kit.Zone, page: kit.Page, email: str, password: str) -> httpx.Response:
    fields = {**page.fields, "email": email, "password": password, "intent": "signin"}
    return b.http.post(z.url("/login"), data=fields)


def _wrong_answer(r: httpx.Response, what: str) -> None:
    assert r.status_code in (200, 400), f"{what}: {r.status_code} {r.text[:200]}"
    p = kit.Page(r)
    assert p.kind == "signin" and p.alert, f"{what}: not the sign-in page with an error: {r.text[:300]}"


def _throttled(r: httpx.Response, what: str) -> None:
    assert r.status_code == 429, f"{what}: expected 429, got {r.status_code} ({r.headers.get('location')})"
    assert r.headers.get("retry-after", "").strip().isdigit(), f"{what}: Retry-After = {r.headers.get('retry-after')!r}"
    assert re.search(r"too many", r.text, re.I), f"{what}: the page does not say too many attempts: {r.text[:300]}"


def _signs_in(r: httpx.Response, what: str) -> None:
    assert r.status_code in (302, 303), f"{what}: expected a redirect (signed in), got {r.status_code}: {r.text[:300]}"
    assert any(c.startswith("lk_session_") for c in r.headers.get_list("set-cookie")), f"{what}: no session cookie"


@pytest.mark.sqlite_only
def test_account_is_locked_after_five_wrong_passwords(password_zone: kit.Zone, listener):
    z = password_zone
    client = z.browser_client([ak.REGISTERED], consent="implicit")
    victim, other = ak.unique_email("locked"), ak.unique_email("unlocked")
    ak.sign_up(z, client, listener.url, victim, "127.0.0.6")
    ak.sign_up(z, client, listener.url, other, "127.0.0.7")

    attacker = ak.Browser(z, "127.0.0.6")
    bystander = ak.Browser(z, "127.0.0.7")
    try:
        page = ak.signin_page(attacker, z, client, listener.url)
        for i in range(5):
            _wrong_answer(_attempt(attacker, z, page, victim, f"guess number {i}"), f"wrong password #{i + 1}")
        _throttled(_attempt(attacker, z, page, victim, kit.PASSWORD), "6th attempt, correct password")

        page_b = ak.signin_page(bystander, z, client, listener.url)
        _signs_in(_attempt(bystander, z, page_b, other, kit.PASSWORD), "another account, another address")
    finally:
        attacker.close()
        bystander.close()


@pytest.mark.sqlite_only
def test_source_address_is_throttled_after_twenty_failures(password_zone: kit.Zone, listener):
    z = password_zone
    client = z.browser_client([ak.REGISTERED], consent="implicit")
    target = ak.unique_email("spray-target")
    ak.sign_up(z, client, listener.url, target, "127.0.0.12")

    sprayer = ak.Browser(z, "127.0.0.9")
    elsewhere = ak.Browser(z, "127.0.0.10")
    try:
        page = ak.signin_page(sprayer, z, client, listener.url)
        for i in range(20):
            _wrong_answer(_attempt(sprayer, z, page, ak.unique_email(f"spray{i}"), "Winter2024!"), f"failure #{i + 1}")
        _throttled(_attempt(sprayer, z, page, target, kit.PASSWORD), "21st attempt from the same address")

        page_b = ak.signin_page(elsewhere, z, client, listener.url)
        _signs_in(_attempt(elsewhere, z, page_b, target, kit.PASSWORD), "the same account from another address")
    finally:
        sprayer.close()
        elsewhere.close()


@pytest.mark.sqlite_only
def test_invitation_token_probing_is_rate_limited(server):
    with ak.client("127.0.0.11", base_url=server.base_url) as h:
        for i in range(10):
            r = h.get(f"/invitations/lk_inv_{secrets.token_urlsafe(32)}")
            assert r.status_code == 404, f"probe #{i + 1}: {r.status_code} {r.text}"
        r = h.get(f"/invitations/lk_inv_{secrets.token_urlsafe(32)}")
        assert r.status_code == 429, f"11th random invitation token from one address: {r.status_code} {r.text}"
        assert r.headers.get("retry-after", "").strip().isdigit(), r.headers
        body = lk.assert_error(r, 429)
        assert body["code"] == "rate_limited", body
