"""Pushed authorization requests (RFC 9126) and the attacks on them.

A client posts its authorization request to `pushed_authorization_request_endpoint`
(authenticated as at the token endpoint; a public client by its `client_id`) and sends the
browser to the authorization endpoint with only `client_id` and the `request_uri` it got back.
What must hold:

* the pushed request is checked as the authorization endpoint checks it, errors in JSON;
* a confidential client must authenticate to push;
* a `request_uri` works once, for the client that pushed it, within `expires_in`; anything else
  gets an error page, never a redirect;
* parameters in the browser's query besides `client_id` and `request_uri` are ignored (an
  attacker cannot swap the redirect URI, state or PKCE challenge of a pushed request);
* request objects (`request`) are refused with `request_not_supported`.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlencode

import httpx
import pytest

import lk
from e2e import kit

from . import attack_kit as ak

PREFIX = "urn:ietf:params:oauth:request_uri:"


def _par(z: kit.Zone) -> str:
    return z.http.get(z.url("/.well-known/openid-configuration")).json()["pushed_authorization_request_endpoint"]


def _push(z: kit.Zone, client: kit.Client, listener, pkce: kit.Pkce, auth: dict | None = None, **extra: str):
    data = {"response_type": "code", "client_id": client.client_id, "redirect_uri": listener.url,
            "code_challenge": pkce.challenge, "code_challenge_method": "S256", "state": "pushed", **extra}
    return z.http.post(_par(z), data=data, headers=auth or {})


def _authorize(z: kit.Zone, **params: str) -> str:
    return f"{z.authorize_endpoint}?{urlencode(params)}"


def test_discovery_names_the_endpoint_and_says_it_is_optional(password_zone: kit.Zone):
    z = password_zone
    meta = z.http.get(z.url("/.well-known/oauth-authorization-server")).json()
    assert meta["pushed_authorization_request_endpoint"] == z.url("/oauth/2/par"), meta
    assert meta["require_pushed_authorization_requests"] is False
    assert meta["request_parameter_supported"] is False and meta["request_uri_parameter_supported"] is False


def test_a_pushed_request_signs_the_user_in_and_its_code_redeems(password_zone, browsers, listener):
    z = password_zone
    client = z.browser_client([ak.REGISTERED], consent="implicit")
    pkce = kit.Pkce()
    r = _push(z, client, listener, pkce, scope="openid")
    assert r.status_code == 201, r.text
    assert r.headers.get("cache-control") == "no-store"
    body = r.json()
    assert body["request_uri"].startswith(PREFIX) and len(body["request_uri"]) >= len(PREFIX) + 43, body
    assert body["expires_in"] == 60, body

    b = browsers()
    out = b.signup_and_authorize(_authorize(z, client_id=client.client_id, request_uri=body["request_uri"]),
                                 ak.unique_email("par"))
    q = kit.query(out)
    assert out.startswith(listener.url) and q.get("state") == "pushed" and "code" in q, out
    t = z.redeem(client, q["code"], listener.url, pkce.verifier, http=b.http)
    assert t.status_code == 200 and "id_token" in t.json(), t.text


def test_a_confidential_client_must_authenticate_to_push(password_zone, listener):
    z = password_zone
    client = z.browser_client([ak.REGISTERED], consent="implicit", confidential=True)
    pkce = kit.Pkce()
    kit.assert_oauth_error(_push(z, client, listener, pkce), 401, "invalid_client")
    kit.assert_oauth_error(_push(z, client, listener, pkce, auth=kit.basic(client.client_id, "wrong")), 401,
                           "invalid_client")
    r = _push(z, client, listener, pkce, auth=kit.basic(client.client_id, client.secret))
    assert r.status_code == 201, r.text


def test_attack_a_request_uri_works_once_for_its_own_client_only(password_zone, browsers, listener):
    z = password_zone
    client = z.browser_client([ak.REGISTERED], consent="implicit")
    other = z.browser_client([ak.REGISTERED], consent="implicit")
    uri = _push(z, client, listener, kit.Pkce()).json()["request_uri"]

    def refused(r: httpx.Response, what: str, names: str = "request_uri") -> None:
        assert r.status_code == 400 and "location" not in r.headers, (what, r.status_code, r.headers.get("location"))
        assert names in r.text, what

    b = browsers()
    refused(b.http.get(_authorize(z, client_id=other.client_id, request_uri=uri)), "another client's request_uri")
    refused(b.http.get(_authorize(z, request_uri=uri)), "no client_id", "client_id")
    refused(b.http.get(_authorize(z, client_id=client.client_id, request_uri=PREFIX + "x" * 43)), "a guessed handle")
    refused(b.http.get(_authorize(z, client_id=client.client_id, request_uri=uri[len(PREFIX):])), "no prefix")

    first = b.http.get(_authorize(z, client_id=client.client_id, request_uri=uri))
    assert first.status_code == 303 and "/login?request=" in first.headers["location"], first.headers
    refused(b.http.get(_authorize(z, client_id=client.client_id, request_uri=uri)), "a spent request_uri")


def test_attack_a_request_uri_raced_from_many_browsers_starts_one_flow(password_zone, listener):
    z = password_zone
    client = z.browser_client([ak.REGISTERED], consent="implicit")
    uri = _push(z, client, listener, kit.Pkce()).json()["request_uri"]
    url = _authorize(z, client_id=client.client_id, request_uri=uri)

    def load(_: int) -> int:
        with httpx.Client(timeout=30.0, follow_redirects=False) as h:
            return h.get(url).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = sorted(pool.map(load, range(8)))
    assert statuses == [303] + [400] * 7, statuses


def test_attack_query_parameters_beside_the_request_uri_change_nothing(password_zone, browsers, listener):
    z = password_zone
    client = z.browser_client([ak.REGISTERED, "https://evil.example/cb"], consent="implicit")
    pkce = kit.Pkce()
    uri = _push(z, client, listener, pkce).json()["request_uri"]
    b = browsers()
    out = b.signup_and_authorize(
        _authorize(z, client_id=client.client_id, request_uri=uri, redirect_uri="https://evil.example/cb",
                   state="evil", code_challenge=kit.Pkce().challenge, code_challenge_method="S256"),
        ak.unique_email("swap"),
    )
    q = kit.query(out)
    assert out.startswith(listener.url) and q.get("state") == "pushed", out
    assert z.redeem(client, q["code"], listener.url, pkce.verifier, http=b.http).status_code == 200


@pytest.mark.parametrize(
    "extra, error",
    [
        ({"redirect_uri": "https://evil.example/cb"}, "invalid_request"),
        ({"code_challenge": "short"}, "invalid_request"),
        ({"code_challenge_method": "plain"}, "invalid_request"),
        ({"scope": "openid no-such-scope"}, "invalid_scope"),
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"request_uri": PREFIX + "nested"}, "invalid_request"),
        ({"request": "eyJhbGciOiJub25lIn0.e30."}, "request_not_supported"),
        ({"max_age": "soon"}, "invalid_request"),
        ({"prompt": "none login"}, "invalid_request"),
        ({"resource": "https://not-a-resource.example/"}, "invalid_target"),
    ],
    ids=lambda v: next(iter(v)) if isinstance(v, dict) else v,
)
def test_a_pushed_request_is_checked_as_the_authorization_endpoint_checks_it(password_zone, listener, extra, error):
    z = password_zone
    client = z.browser_client([ak.REGISTERED], consent="implicit")
    kit.assert_oauth_error(_push(z, client, listener, kit.Pkce(), **extra), 400, error)


def test_a_push_names_who_may_push_and_refuses_repeats(password_zone, listener):
    z = password_zone
    client = z.browser_client([ak.REGISTERED], consent="implicit")
    other = z.browser_client([ak.REGISTERED], consent="implicit")
    secret_client = z.browser_client([ak.REGISTERED], consent="implicit", confidential=True)
    pkce = kit.Pkce()
    # Authenticated as one client, asking for another.
    r = _push(z, secret_client, listener, pkce, auth=kit.basic(secret_client.client_id, secret_client.secret),
              client_id=other.client_id)
    body = kit.assert_oauth_error(r, 400, "invalid_request")
    assert "client_id" in body["error_description"], body
    # Unknown client.
    kit.assert_oauth_error(_push(z, kit.Client(lk.unique("nobody")), listener, pkce), 401, "invalid_client")
    # A repeated parameter.
    raw = urlencode([("response_type", "code"), ("client_id", client.client_id), ("redirect_uri", listener.url),
                     ("code_challenge", pkce.challenge), ("code_challenge_method", "S256"),
                     ("state", "a"), ("state", "b")])
    r = z.http.post(_par(z), content=raw, headers={"content-type": "application/x-www-form-urlencoded"})
    body = kit.assert_oauth_error(r, 400, "invalid_request")
    assert "state" in body["error_description"], body


def test_a_request_object_at_the_authorization_endpoint_is_not_supported(password_zone, browsers, listener):
    z = password_zone
    client = z.browser_client([ak.REGISTERED], consent="implicit")
    out = browsers().get(z.authorize_url(client, listener.url, pkce=kit.Pkce(), state="r",
                                         request="eyJhbGciOiJub25lIn0.e30."))
    assert isinstance(out, str), ak.describe(out)
    q = kit.query(out)
    assert q.get("error") == "request_not_supported" and q.get("state") == "r", q
