"""The device authorization grant (RFC 8628) against the real binary, over plain HTTP: the device
authorization endpoint, every answer of the polling token endpoint (pending, slow_down with a
growing interval, expired, denied, approved, single use, another client, unknown codes), the
verification page (sign-in through the zone's form, confirmation with a CSRF token, wrong codes
throttled), discovery, and the platform zone's `latchkey-cli` getting a management token."""

from __future__ import annotations

import re
import secrets
import threading
import time

import httpx
import pytest

import device_kit as dk
import lk
from e2e import kit

from .conftest import DeviceZone

USER_CODE = re.compile(r"^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$")


def started(dz: DeviceZone, client: kit.Client | None = None, **kw) -> dict:
    client = client or dz.public
    r = dk.start(dz.issuer, client.client_id, secret=client.secret, **kw)
    assert r.status_code == 200, r.text
    return r.json()


def poll(dz: DeviceZone, device_code: str, client: kit.Client | None = None, **kw) -> httpx.Response:
    client = client or dz.public
    return dk.poll(dz.issuer, client.client_id, device_code, secret=client.secret, **kw)


def person() -> str:
    return kit.unique_email("device")


def approved(dz: DeviceZone, **kw) -> tuple[dict, str]:
    """A device authorization approved by a new person: (response, email)."""
    d = started(dz, **kw)
    email = person()
    dk.approve_device(d["verification_uri_complete"], email, dk.PASSWORD, sign_up=True)
    return d, email


# -- the device authorization endpoint ---------------------------------------------------------


def test_device_authorization_answers_rfc8628_fields(dz: DeviceZone) -> None:
    r = dk.start(dz.issuer, dz.public.client_id, resources=[dz.resource.identifier], scope="openid notes:read")
    assert r.status_code == 200, r.text
    assert r.headers["cache-control"] == "no-store"
    d = r.json()
    assert set(d) == {"device_code", "user_code", "verification_uri", "verification_uri_complete", "expires_in", "interval"}
    assert USER_CODE.match(d["user_code"]), d
    assert d["device_code"].startswith("lk_dc_") and len(d["device_code"]) >= 43 + 6, d
    assert d["verification_uri"] == dz.issuer + "/device"
    assert d["verification_uri_complete"] == f"{dz.issuer}/device?user_code={d['user_code']}"
    assert d["expires_in"] == 600 and d["interval"] == 1, d
    other = started(dz)
    assert other["device_code"] != d["device_code"] and other["user_code"] != d["user_code"]


def test_device_authorization_errors(dz: DeviceZone) -> None:
    kit.assert_oauth_error(dk.start(dz.issuer, "nobody-" + secrets.token_hex(4)), 401, "invalid_client")
    # A confidential client must authenticate, as at the token endpoint.
    kit.assert_oauth_error(dk.start(dz.issuer, dz.confidential.client_id), 401, "invalid_client")
    kit.assert_oauth_error(dk.start(dz.issuer, dz.confidential.client_id, secret="wrong"), 401, "invalid_client")
    assert dk.start(dz.issuer, dz.confidential.client_id, secret=dz.confidential.secret).status_code == 200
    kit.assert_oauth_error(
        dk.start(dz.issuer, dz.public.client_id, resources=[lk.unique_url("nowhere")]), 400, "invalid_target"
    )
    kit.assert_oauth_error(dk.start(dz.issuer, dz.public.client_id, scope="launch:missiles"), 400, "invalid_scope")
    with httpx.Client(timeout=30.0) as h:
        r = h.post(f"{dz.issuer}/oauth/2/device_authorization", data={"client_id": [dz.public.client_id] * 2})
    kit.assert_oauth_error(r, 400, "invalid_request")


def test_discovery_advertises_the_device_endpoint_and_grant(dz: DeviceZone) -> None:
    for doc in ("/.well-known/oauth-authorization-server", "/.well-known/openid-configuration"):
        meta = httpx.get(dz.issuer + doc).json()
        assert meta["device_authorization_endpoint"] == dz.issuer + "/oauth/2/device_authorization", meta
        assert dk.DEVICE_CODE_GRANT in meta["grant_types_supported"], meta


# -- polling -----------------------------------------------------------------------------------


def test_pending_then_slow_down_and_the_interval_grows(dz: DeviceZone) -> None:
    d = started(dz)
    kit.assert_oauth_error(poll(dz, d["device_code"]), 400, "authorization_pending")
    kit.assert_oauth_error(poll(dz, d["device_code"]), 400, "slow_down")
    # The interval was 1 s; after the slow_down it is 6 s, so waiting 1.5 s is still too soon.
    time.sleep(1.5)
    kit.assert_oauth_error(poll(dz, d["device_code"]), 400, "slow_down")
    # A device that keeps to its 1 s interval only ever hears authorization_pending.
    calm = started(dz)
    for _ in range(2):
        kit.assert_oauth_error(poll(dz, calm["device_code"]), 400, "authorization_pending")
        time.sleep(1.2)


def test_an_expired_device_code_answers_expired_token(short_zone: DeviceZone) -> None:
    d = started(short_zone)
    assert d["expires_in"] == 2
    time.sleep(2.5)
    kit.assert_oauth_error(poll(short_zone, d["device_code"]), 400, "expired_token")
    with dk.DeviceBrowser(d["verification_uri"]) as b:
        page = b.get(d["verification_uri_complete"])
    assert page.status_code == 400 and "expired" in (dk.alert(page.text) or ""), page.text[:500]


def test_a_denied_device_code_answers_access_denied(dz: DeviceZone) -> None:
    d = started(dz)
    dk.approve_device(d["verification_uri_complete"], person(), dk.PASSWORD, approve=False, sign_up=True)
    kit.assert_oauth_error(poll(dz, d["device_code"]), 400, "access_denied")


def test_approved_device_gets_working_tokens(dz: DeviceZone) -> None:
    d, email = approved(dz, resources=[dz.resource.identifier], scope="openid notes:read")
    r = poll(dz, d["device_code"])
    assert r.status_code == 200, r.text
    assert r.headers["cache-control"] == "no-store"
    t = r.json()
    assert t["token_type"] == "Bearer" and t["refresh_token"] and t["id_token"], t
    claims = dz.zone.verify(t["access_token"], audience=dz.resource.identifier)
    user = dz.zone.user_by_email(email)
    assert claims["sub"] == user.id and claims["client_id"] == dz.public.client_id, claims
    assert set(t["scope"].split()) >= {"openid", "notes:read"}, t
    id_claims = kit.jwt_claims(t["id_token"])
    assert id_claims["aud"] == dz.public.client_id and id_claims["sub"] == user.id, id_claims
    intro = dz.zone.http.post(
        dz.issuer + "/oauth/2/introspect", data={"token": t["access_token"]}, headers=dz.service.headers()
    )
    assert intro.status_code == 200 and intro.json()["active"] is True, intro.text
    refreshed = dz.zone.refresh_grant(dz.public, t["refresh_token"])
    assert refreshed.status_code == 200, refreshed.text
    assert refreshed.json()["refresh_token"] != t["refresh_token"]
    # Rotation: the first refresh token is spent.
    kit.assert_oauth_error(dz.zone.refresh_grant(dz.public, t["refresh_token"]), 400, "invalid_grant")


def test_approved_token_without_resources_works_at_userinfo(dz: DeviceZone) -> None:
    d, email = approved(dz, scope="openid email")
    r = poll(dz, d["device_code"])
    assert r.status_code == 200, r.text
    info = dz.zone.userinfo(r.json()["access_token"])
    assert info.status_code == 200, info.text
    assert info.json()["sub"] == dz.zone.user_by_email(email).id


def test_a_confidential_client_redeems_with_its_secret(dz: DeviceZone) -> None:
    d, _ = approved(dz, client=dz.confidential)
    kit.assert_oauth_error(poll(dz, d["device_code"], client=kit.Client(dz.confidential.client_id)), 401, "invalid_client")
    assert poll(dz, d["device_code"], client=dz.confidential).status_code == 200


# -- attacks -----------------------------------------------------------------------------------


def test_a_device_code_is_single_use(dz: DeviceZone) -> None:
    d, _ = approved(dz)
    assert poll(dz, d["device_code"]).status_code == 200
    kit.assert_oauth_error(poll(dz, d["device_code"]), 400, "invalid_grant")
    # The used code is refused on the page too.
    with dk.DeviceBrowser(d["verification_uri"]) as b:
        page = b.get(d["verification_uri_complete"])
    assert page.status_code == 400 and "already used" in (dk.alert(page.text) or ""), page.text[:500]


def test_concurrent_polls_redeem_an_approved_code_once(dz: DeviceZone) -> None:
    d, _ = approved(dz)
    answers: list[int] = []
    barrier = threading.Barrier(8)

    def go() -> None:
        barrier.wait()
        answers.append(poll(dz, d["device_code"]).status_code)

    threads = [threading.Thread(target=go) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(answers) == [200] + [400] * 7, answers


def test_another_client_cannot_redeem_a_device_code(dz: DeviceZone) -> None:
    d, _ = approved(dz)
    kit.assert_oauth_error(poll(dz, d["device_code"], client=dz.other), 400, "invalid_grant")
    kit.assert_oauth_error(poll(dz, d["device_code"], client=dz.confidential), 400, "invalid_grant")
    # The code's own client still redeems it.
    assert poll(dz, d["device_code"]).status_code == 200


def test_unknown_and_missing_device_codes(dz: DeviceZone) -> None:
    kit.assert_oauth_error(poll(dz, "lk_dc_" + secrets.token_urlsafe(32)), 400, "invalid_grant")
    r = httpx.post(
        dz.issuer + "/oauth/2/token", data={"grant_type": dk.DEVICE_CODE_GRANT, "client_id": dz.public.client_id}
    )
    kit.assert_oauth_error(r, 400, "invalid_request")


def test_the_page_refuses_bad_user_codes(dz: DeviceZone) -> None:
    issuer = dz.issuer
    entry = httpx.get(issuer + "/device")
    assert entry.status_code == 200 and 'id="user_code"' in entry.text
    h = entry.headers
    assert h["cache-control"] == "no-store" and h["x-frame-options"] == "DENY", h
    assert "frame-ancestors 'none'" in h["content-security-policy"] and "<script" not in entry.text
    for code in ("BCDF-GHJK", "hello", "ABCD-EFGH"):
        page = httpx.get(issuer + "/device", params={"user_code": code})
        assert page.status_code == 400 and "not valid" in (dk.alert(page.text) or ""), page.text[:400]
        assert 'id="user_code"' in page.text


def test_user_code_input_ignores_case_and_dashes(dz: DeviceZone) -> None:
    d = started(dz)
    typed = d["user_code"].replace("-", " ").lower()
    with dk.DeviceBrowser(d["verification_uri"]) as b:
        page = b.get(f"{d['verification_uri']}?user_code={typed}")
        page = b.sign_in(page, person(), dk.PASSWORD, sign_up=True)
        assert dk.is_confirmation(page.text), page.text[:500]
        assert d["user_code"] in page.text and "Device CLI" in page.text


def test_approving_without_the_csrf_token_is_refused(dz: DeviceZone) -> None:
    d = started(dz, resources=[dz.resource.identifier])
    other = started(dz)
    email = person()
    with dk.DeviceBrowser(d["verification_uri"]) as b:
        page = b.confirmation(d["verification_uri_complete"], email, dk.PASSWORD, sign_up=True)
        assert dz.resource.identifier in page.text
        for override in ({"csrf": None}, {"csrf": "forged"}):
            r = b.decide(page, **override)
            assert r.status_code == 403, r.text[:400]
        # A token from this page does not approve another code.
        r = b.decide(page, user_code=other["user_code"])
        assert r.status_code == 403, r.text[:400]
    # Another browser (no session cookie) with the right token is sent to sign in, not approved.
    with dk.DeviceBrowser(d["verification_uri"]) as stranger:
        fields = {**dk.hidden_fields(page.text), "decision": "approve"}
        r = stranger.post(dz.issuer + "/device", fields)
        assert dk.is_sign_in(r.text), r.text[:400]
    kit.assert_oauth_error(poll(dz, d["device_code"]), 400, "authorization_pending")
    kit.assert_oauth_error(poll(dz, other["device_code"]), 400, "authorization_pending")


def test_guessed_user_codes_are_throttled(short_zone: DeviceZone) -> None:
    d = started(short_zone)
    with httpx.Client(timeout=30.0) as h:
        answers = [
            h.get(short_zone.issuer + "/device", params={"user_code": "BCDF-" + "".join(secrets.choice("BCDFGHJK") for _ in range(4))}).status_code
            for _ in range(10)
        ]
        assert answers == [400] * 10, answers
        # The address spent its budget: even the right code waits now.
        r = h.get(d["verification_uri_complete"])
        assert r.status_code == 429 and int(r.headers["retry-after"]) > 0, r.text[:300]
        r = h.post(short_zone.issuer + "/device", data={"user_code": "BCDF-GHJK", "csrf": "x", "decision": "approve"})
        assert r.status_code in (303, 403, 429), r.status_code


def test_a_device_approved_by_a_session_that_signed_out_redeems_nothing(dz: DeviceZone) -> None:
    d = started(dz)
    with dk.DeviceBrowser(d["verification_uri"]) as b:
        page = b.confirmation(d["verification_uri_complete"], person(), dk.PASSWORD, sign_up=True)
        assert b.decide(page).status_code == 200
        bye = b.get(dz.issuer + "/logout")
        assert b.post(dk.post_action(bye.text), dk.hidden_fields(bye.text)).status_code in (200, 303)
    kit.assert_oauth_error(poll(dz, d["device_code"]), 400, "invalid_grant")


def test_registered_clients_use_the_grant_only_when_registered_for_it(dz: DeviceZone) -> None:
    def register(grant_types: list[str]) -> str:
        body = {"client_name": lk.unique("dcr"), "grant_types": grant_types, "token_endpoint_auth_method": "none"}
        body["redirect_uris"] = ["http://127.0.0.1/callback"]
        r = httpx.post(dz.issuer + "/oauth/2/registration", json=body)
        assert r.status_code == 201, r.text
        return r.json()["client_id"]

    plain = register(["authorization_code"])
    kit.assert_oauth_error(dk.start(dz.issuer, plain), 400, "unauthorized_client")
    device = register(["authorization_code", dk.DEVICE_CODE_GRANT])
    d = dk.start(dz.issuer, device)
    assert d.status_code == 200, d.text
    email = person()
    dk.approve_device(d.json()["verification_uri_complete"], email, dk.PASSWORD, sign_up=True)
    assert dk.poll(dz.issuer, device, d.json()["device_code"]).status_code == 200
