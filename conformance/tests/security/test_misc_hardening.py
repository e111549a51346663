"""Point 11 — smaller holes.

(a) a refresh refused with `invalid_target` must not burn the refresh token;
(b) `GET /logout` without an ID token of the browser's own session must not sign out (a
    cross-site image could); sign-out is a POST with a CSRF field from the confirmation page;
(c) impersonation without a permitting policy must not reveal which users exist;
(d) application redirect URIs with dangerous schemes are refused;
(e) invitation tokens never reach the logs, even at trace level.
"""

from __future__ import annotations

import html
import re
import time

import httpx
import pytest

import lk
from e2e import kit

from . import attack_kit as ak


# --------------------------------------------------------------------------------------------
# (a) a failed refresh does not burn the token
# --------------------------------------------------------------------------------------------


def test_refresh_refused_for_an_unauthorized_resource_does_not_burn_the_token(password_zone: kit.Zone, browsers,
                                                                               listener):
    z = password_zone
    granted = z.resource(identifier=lk.unique_url("granted"))
    other = z.resource(identifier=lk.unique_url("other"))
    client = z.browser_client([ak.REGISTERED], consent="implicit", depends_on=[granted, other])
    t = ak.tokens_in(browsers(), z, client, listener.url, ak.unique_email("rt"), resources=[granted.identifier])

    kit.assert_oauth_error(z.refresh_grant(client, t.refresh_token, [other.identifier]), 400, "invalid_target")
    r = z.refresh_grant(client, t.refresh_token)
    assert r.status_code == 200, f"the refused refresh burnt the token: {r.status_code} {r.text}"
    assert kit.jwt_claims(r.json()["access_token"])["aud"] == granted.identifier


# --------------------------------------------------------------------------------------------
# (b) sign-out needs a POST with the CSRF field
# --------------------------------------------------------------------------------------------

_FORM = re.compile(r"<form\b([^>]*)>(.*?)</form>", re.S | re.I)
_HIDDEN = re.compile(r'<input\b[^>]*type="hidden"[^>]*>', re.I)


def _attr(tag: str, name: str) -> str:
    m = re.search(rf'\b{name}="([^"]*)"', tag, re.I)
    return html.unescape(m.group(1)) if m else ""


def _prompt_none(b: ak.Browser, z: kit.Zone, client: kit.Client, redirect_uri: str) -> dict:
    out = ak.code_silently(b, z, client, redirect_uri, prompt="none")
    assert isinstance(out, str), ak.describe(out)
    return kit.query(out)


def test_logout_needs_a_post_with_the_csrf_field(password_zone: kit.Zone, browsers, listener):
    z = password_zone
    client = z.browser_client([ak.REGISTERED], consent="implicit")
    b = browsers()
    ak.tokens_in(b, z, client, listener.url, ak.unique_email("logout"))
    assert "code" in _prompt_none(b, z, client, listener.url)

    # A GET (an <img src=…/logout> on any site) only shows a confirmation page.
    r = b.http.get(z.url("/logout"))
    assert r.status_code == 200 and r.headers.get("content-type", "").startswith("text/html"), r.status_code
    forms = [(attrs, body) for attrs, body in _FORM.findall(r.text) if _attr(attrs, "method").lower() == "post"]
    assert forms, f"GET /logout shows no confirmation form (method POST): {r.text[:400]}"
    q = _prompt_none(b, z, client, listener.url)
    assert "code" in q, f"GET /logout ended the session: {q}"

    attrs, body = forms[0]
    action = _attr(attrs, "action") or z.url("/logout")
    action = httpx.URL(z.url("/logout")).join(action)
    fields = {_attr(t, "name"): _attr(t, "value") for t in _HIDDEN.findall(body)}
    assert fields, f"the confirmation form carries no CSRF field: {body[:400]}"

    # A POST without the CSRF field is a relying party's request: it is sent to the GET, which asks.
    forged = b.http.post(action, data={})
    assert forged.status_code == 303, f"POST /logout without the CSRF field: {forged.status_code}"
    assert forged.headers["location"] == z.url("/logout"), forged.headers["location"]
    assert "code" in _prompt_none(b, z, client, listener.url), "a forged sign-out ended the session"
    wrong = b.http.post(action, data={**fields, "csrf": "x" * len(fields.get("csrf", ""))})
    assert wrong.status_code == 403, f"POST /logout with a wrong CSRF field: {wrong.status_code}"
    assert "code" in _prompt_none(b, z, client, listener.url), "a forged sign-out ended the session"

    done = b.http.post(action, data=fields)
    assert done.status_code in (200, 302, 303), f"POST /logout with the form's fields: {done.status_code} {done.text[:200]}"
    assert _prompt_none(b, z, client, listener.url).get("error") == "login_required"


# --------------------------------------------------------------------------------------------
# (c) impersonation does not reveal which users exist
# --------------------------------------------------------------------------------------------


def test_refused_impersonation_does_not_reveal_whether_the_user_exists(password_zone: kit.Zone, listener):
    z = password_zone
    client = z.browser_client([ak.REGISTERED], consent="implicit")
    existing = ak.unique_email("exists")
    ak.sign_up(z, client, listener.url, existing)
    target = z.resource(identifier=lk.unique_url("imp"))
    app = z.service(depends_on=[target], name=lk.unique("impersonator"))

    def attempt(sub: str) -> httpx.Response:
        return z.http.post(
            z.token_endpoint,
            data={"grant_type": kit.TOKEN_EXCHANGE, "subject_token": ak.substitute_user_token(sub),
                  "subject_token_type": "urn:keycard:params:oauth:token-type:substitute-user",
                  "resource": target.identifier},
            headers=app.headers(),
        )

    a, n = attempt(existing), attempt(ak.unique_email("nobody"))
    assert a.status_code != 200, a.text
    seen = lambda r: (r.status_code, r.json().get("error"), r.json().get("error_description"))  # noqa: E731
    assert seen(a) == seen(n), f"existing user: {seen(a)}; unknown user: {seen(n)}"


# --------------------------------------------------------------------------------------------
# (d) dangerous redirect URI schemes
# --------------------------------------------------------------------------------------------


def _create_app(admin_http: httpx.Client, zone_id: str, uri: str) -> httpx.Response:
    return admin_http.post(
        f"/zones/{zone_id}/applications",
        json={"name": lk.unique("redir"), "identifier": lk.unique_url("redir"),
              "protocols": {"oauth2": {"redirect_uris": [uri]}}},
    )


@pytest.mark.parametrize("uri", ["javascript:alert(1)", "data:text/html,x", "file:///etc/passwd"])
def test_application_redirect_uri_with_a_dangerous_scheme_is_refused(password_zone: kit.Zone, admin_http, uri: str):
    r = _create_app(admin_http, password_zone.id, uri)
    assert r.status_code == 400, f"redirect URI {uri!r} accepted: {r.status_code}"
    body = lk.assert_error(r, 400, "invalid_field")
    assert "redirect_uris" in body["message"], body


@pytest.mark.parametrize("uri", ["https://app.example/cb", "http://127.0.0.1/cb", "com.example.app:/oauth2redirect"])
def test_application_redirect_uri_ordinary_schemes_are_accepted(password_zone: kit.Zone, admin_http, uri: str):
    r = _create_app(admin_http, password_zone.id, uri)
    assert r.status_code == 201, r.text
    assert r.json()["protocols"]["oauth2"]["redirect_uris"] == [uri]


# --------------------------------------------------------------------------------------------
# (e) invitation tokens never reach the logs
# --------------------------------------------------------------------------------------------


@pytest.mark.lifecycle
def test_invitation_tokens_never_appear_in_the_logs(make_server, monkeypatch):
    monkeypatch.setenv("LATCHKEY_LOG", "trace")
    srv = make_server("sqlite")
    admin = lk.api_key_client(srv, srv.bootstrap_key)
    try:
        with httpx.Client(base_url=srv.base_url, timeout=30,
                          headers={"Authorization": f"Bearer {srv.bootstrap_key}"}) as h:
            z = kit.Zone(admin, admin.zones.create(name=lk.unique("logs"), requires_invitation=True))
            client = z.browser_client([ak.REGISTERED])
            r = h.post(f"/organizations/{z.zone.organization_id}/invitations",
                       json={"email": ak.unique_email("logged"), "role": "org_member"})
            assert r.status_code == 201, r.text
            token = r.json()["token"]
            assert h.get(f"/invitations/{token}").status_code == 200
            url = z.authorize_url(client, ak.REGISTERED, state="inv", pkce=kit.Pkce(), invitation=token)
            assert z.http.get(url).status_code in (200, 302, 303, 400)
            # (only the invited person accepts; an API key is refused, the token still in the path)
            accepted = h.post(f"/invitations/{token}/accept")
            assert accepted.status_code == 403, accepted.text
        time.sleep(0.5)
        log = srv.log_text()
        assert "TRACE" in log or "DEBUG" in log, "the server did not log at trace level"
        lines = [ln for ln in log.splitlines() if token in ln]
        assert not lines, f"the invitation token is in {len(lines)} log line(s), e.g.: {lines[0][:300]}"
    finally:
        admin.close()
