"""Point 10 — anonymous requests cannot make the server store large values.

Attack: anyone can call the authorization endpoint (a pending request is stored before sign-in)
and dynamic client registration (a user agent is stored); each stored row must stay small.
Authorization parameters over 2048 bytes are refused (error page 400, or a redirect with
`invalid_request`) with nothing stored; a registration with any field over 2048 bytes or a
document over 16 KiB answers 400 `invalid_client_metadata` (`invalid_redirect_uri` for redirect
URIs) with nothing stored.
"""

from __future__ import annotations

import json

import httpx
import pytest

from e2e import kit

from . import attack_kit as ak

BIG = 3000


def _rows(records, table: str, zone_id: str) -> int:
    return records.execute(f"SELECT COUNT(*) FROM {table} WHERE zone_id = ?", (zone_id,))[0][0]


@pytest.fixture(scope="module")
def client_of(password_zone: kit.Zone) -> kit.Client:
    return password_zone.browser_client([ak.REGISTERED])


@pytest.mark.parametrize(
    "param,value",
    [
        ("state", "s" * BIG),
        ("nonce", "n" * BIG),
        ("scope", " ".join(["openid"] * (BIG // 7))),
        ("prompt", " ".join(["consent"] * (BIG // 8))),
        ("login_hint", "h" * (BIG - 20) + "@example.test"),
    ],
    ids=["state", "nonce", "scope", "prompt", "login_hint"],
)
def test_oversized_authorization_parameter_is_refused_and_not_stored(
    password_zone: kit.Zone, client_of: kit.Client, records, listener, param: str, value: str
):
    z = password_zone
    assert len(value.encode()) > 2048
    before = _rows(records, "authorization_requests", z.id)
    url = z.authorize_url(client_of, listener.url, pkce=kit.Pkce(), **{param: value})
    with httpx.Client(timeout=30) as h:
        r = h.get(url, follow_redirects=False)
    stored = _rows(records, "authorization_requests", z.id) - before
    where = r.headers.get("location", "")
    assert stored == 0, f"a {len(value)}-byte `{param}` was stored ({stored} pending request; answer {r.status_code} -> {where[:120]})"
    if r.status_code == 400:
        assert r.headers.get("content-type", "").startswith("text/html"), r.headers
        assert "location" not in r.headers
    else:
        assert r.status_code in (302, 303) and where.startswith(listener.url + "?"), (r.status_code, where[:200])
        q = kit.query(where)
        assert q.get("error") == "invalid_request" and "code" not in q, q


def _register(z: kit.Zone, body: "dict | bytes") -> httpx.Response:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    with ak.client("127.0.0.33") as h:
        return h.post(z.url("/oauth/2/registration"), content=content, headers={"Content-Type": "application/json"})


@pytest.mark.parametrize(
    "field,value",
    [
        ("scope", "x" * BIG),
        ("client_uri", "https://app.example/" + "a" * BIG),
        ("software_id", "s" * BIG),
    ],
    ids=["scope", "client_uri", "software_id"],
)
def test_registration_with_an_oversized_field_is_refused(password_zone: kit.Zone, records, field: str, value: str):
    z = password_zone
    before = _rows(records, "user_agents", z.id)
    r = _register(z, {"redirect_uris": [ak.REGISTERED], "client_name": "big field", field: value})
    assert r.status_code == 400, f"DCR with a {len(value)}-byte `{field}`: {r.status_code} {r.text[:200]}"
    assert r.json().get("error") == "invalid_client_metadata", r.json()
    assert _rows(records, "user_agents", z.id) == before


def test_registration_document_over_16_kib_is_refused(password_zone: kit.Zone, records):
    z = password_zone
    before = _rows(records, "user_agents", z.id)
    # Twenty redirect URIs of 1 KiB each: every field is within its own limit, the document is not.
    uris = [f"https://app.example/cb/{i}/" + "p" * 1000 for i in range(20)]
    r = _register(z, {"redirect_uris": uris, "client_name": "big document"})
    assert r.status_code == 400, f"a {len(json.dumps(uris))}-byte registration: {r.status_code} {r.text[:200]}"
    assert r.json().get("error") in ("invalid_client_metadata", "invalid_redirect_uri"), r.json()
    # Unknown padding fields count towards the document too.
    r = _register(z, {"redirect_uris": [ak.REGISTERED], "client_name": "padded",
                      "x_padding": ["q" * 1000 for _ in range(20)]})
    assert r.status_code == 400, f"a padded 20 KiB registration: {r.status_code} {r.text[:200]}"
    assert r.json().get("error") == "invalid_client_metadata", r.json()
    assert _rows(records, "user_agents", z.id) == before
