"""Client ID Metadata Documents (draft-ietf-oauth-client-id-metadata-document; Keycard B40) and
the attacks on them.

In a zone with `protocols.oauth2.cimd` on, an MCP client may use the URL of its metadata
document as its `client_id`, without registering. What must hold:

* discovery says so (`client_id_metadata_document_supported`), and such a client signs a user in
  and redeems its code as a public client; it shows in the management API as a user agent whose
  identifier is the URL, named with the document's host;
* only URLs `allowed_client_ids` admits are fetched at all; a document must name its own URL as
  `client_id`, hold no secret, describe a public client and list acceptable redirect URIs; a
  redirect URI it does not list gets an error page, never a redirect;
* with CIMD off, a URL client id is just an unknown client.
"""

from __future__ import annotations

import uuid
from typing import Callable, Iterator

import httpx
import pytest

from e2e import kit
from oauth.kit import JsonServer

from . import attack_kit as ak


@pytest.fixture(scope="module")
def docs() -> Iterator[JsonServer]:
    srv = JsonServer()
    yield srv
    srv.close()


@pytest.fixture
def cimd_zone(make_zone, docs: JsonServer) -> kit.Zone:
    return make_zone(requires_invitation=False, protocols={"oauth2": {"cimd": {
        "enabled": True, "allowed_client_ids": [docs.url("/allowed/client.json")]}}})


def _allow(z: kit.Zone, docs: JsonServer, *urls: str) -> None:
    """Adds exact client ids to the zone's `allowed_client_ids` (entries are exact URLs here:
    a wildcard origin needs a host name with labels, and the document server is 127.0.0.1)."""
    z.admin.zones.update(z.id, protocols={"oauth2": {"cimd": {
        "enabled": True, "allowed_client_ids": [docs.url("/allowed/client.json"), *urls]}}})


@pytest.fixture
def browsers(cimd_zone: kit.Zone) -> Iterator[Callable[[], ak.Browser]]:
    with ak.browsers_of(cimd_zone) as make:
        yield make


def _doc(url: str, **extra) -> dict:
    return {"client_id": url, "client_name": "Notes MCP client", "redirect_uris": [ak.REGISTERED], **extra}


def _page(r: httpx.Response, words: str) -> None:
    assert r.status_code == 400 and "location" not in r.headers, (r.status_code, r.headers.get("location"))
    assert words in r.text, r.text[-500:]


def test_a_metadata_document_client_signs_in_and_redeems(cimd_zone, docs, browsers, listener, admin_http):
    z = cimd_zone
    url = docs.publish("/allowed/client.json", _doc(docs.url("/allowed/client.json"),
                                                    post_logout_redirect_uris=["https://rp.example/bye"]))
    meta = z.http.get(z.url("/.well-known/oauth-authorization-server")).json()
    assert meta["client_id_metadata_document_supported"] is True

    client = kit.Client(url)
    b = browsers()
    t = ak.tokens_in(b, z, client, listener.url, ak.unique_email("cimd"), scope="openid")
    claims = kit.jwt_claims(t.raw["id_token"])
    assert claims["aud"] == url, claims
    assert kit.jwt_claims(t.access_token)["client_id"] == url

    agents = admin_http.get(f"/zones/{z.id}/user-agents", params={"limit": 100}).json()["items"]
    mine = [a for a in agents if a["identifier"] == url]
    assert len(mine) == 1 and mine[0]["name"] == "Notes MCP client (127.0.0.1)", agents

    # The document's other members hold too: its post-logout redirect URI is the client's.
    r = b.http.get(z.url("/logout"), params={
        "id_token_hint": t.raw["id_token"], "post_logout_redirect_uri": "https://rp.example/bye"})
    assert r.status_code == 303 and r.headers["location"] == "https://rp.example/bye", r.headers.get("location")


def test_attack_only_allowed_urls_are_fetched(cimd_zone, docs, browsers, listener):
    z = cimd_zone
    for path in ("/not-allowed/client.json", "/allowed/client.json/x", "/allowed/client.json?x=1"):
        url = docs.url(path)
        docs.publish(path.split("?")[0], _doc(url))
        before = docs.count(path.split("?")[0])
        r = browsers().http.get(z.authorize_url(kit.Client(url), listener.url, pkce=kit.Pkce()))
        _page(r, "may not use a client metadata document")
        assert docs.count(path.split("?")[0]) == before, f"{path} was fetched though not allowed"


@pytest.mark.parametrize(
    "change, words",
    [
        ({"client_id": "https://evil.example/client.json"}, "does not name its own URL"),
        ({"client_secret": "s3cret"}, "holds a client secret"),
        ({"token_endpoint_auth_method": "client_secret_basic"}, "must be `none`"),
        ({"redirect_uris": ["http://evil.example/cb"]}, "http is allowed only on loopback"),
        ({"redirect_uris": ["javascript:alert(1)//"]}, "redirect"),
        ({"response_types": ["token"]}, "response type"),
    ],
    ids=["other client_id", "secret", "confidential", "http redirect", "script redirect", "implicit"],
)
def test_attack_a_document_that_is_not_a_public_client_of_its_own_url_is_refused(
    cimd_zone, docs, browsers, listener, change, words
):
    z = cimd_zone
    path = f"/ok/{uuid.uuid4().hex[:8]}.json"
    url = docs.url(path)
    docs.publish(path, {**_doc(url), **change})
    _allow(z, docs, url)
    r = browsers().http.get(z.authorize_url(kit.Client(url), listener.url, pkce=kit.Pkce()))
    _page(r, words)


def test_attack_a_redirect_uri_the_document_does_not_list_gets_a_page(cimd_zone, docs, browsers):
    z = cimd_zone
    path = f"/ok/{uuid.uuid4().hex[:8]}.json"
    url = docs.publish(path, _doc(docs.url(path)))
    _allow(z, docs, url)
    r = browsers().http.get(z.authorize_url(kit.Client(url), "https://evil.example/cb", pkce=kit.Pkce()))
    _page(r, "redirect_uri is not registered")


@pytest.mark.parametrize(
    "suffix, words",
    [("missing.json", "could not be read"), ("a/../b.json", "dot segments"), ("./c.json", "dot segments")],
)
def test_attack_unreachable_or_oddly_shaped_urls_are_refused(cimd_zone, docs, browsers, listener, suffix, words):
    z = cimd_zone
    url = docs.base + "/ok/" + suffix
    _allow(z, docs, url)
    r = browsers().http.get(z.authorize_url(kit.Client(url), listener.url, pkce=kit.Pkce()))
    _page(r, words)


def test_with_cimd_off_a_url_client_id_is_an_unknown_client(password_zone, docs, listener):
    z = password_zone
    path = f"/ok/{uuid.uuid4().hex[:8]}.json"
    url = docs.publish(path, _doc(docs.url(path)))
    meta = z.http.get(z.url("/.well-known/oauth-authorization-server")).json()
    assert meta["client_id_metadata_document_supported"] is False
    with httpx.Client(timeout=30.0) as h:
        r = h.get(z.authorize_url(kit.Client(url), listener.url, pkce=kit.Pkce()))
    _page(r, "not registered in this zone")
    assert docs.count(path) == 0, "the zone fetched a document with CIMD off"


def test_a_metadata_document_client_may_start_a_device_authorization(cimd_zone, docs):
    """RFC 8628 with a client metadata document: the document must list the device grant, as a
    registration must."""
    z = cimd_zone
    device = "urn:ietf:params:oauth:grant-type:device_code"
    with_grant, without = (f"/ok/{uuid.uuid4().hex[:8]}.json" for _ in range(2))
    docs.publish(with_grant, _doc(docs.url(with_grant), grant_types=[device], redirect_uris=[]))
    docs.publish(without, _doc(docs.url(without)))
    _allow(z, docs, docs.url(with_grant), docs.url(without), docs.url("/ok/never-published.json"))
    endpoint = z.url("/oauth/2/device_authorization")
    with httpx.Client(timeout=30.0) as h:
        ok = h.post(endpoint, data={"client_id": docs.url(with_grant)})
        assert ok.status_code == 200 and ok.json()["device_code"], ok.text
        refused = h.post(endpoint, data={"client_id": docs.url(without)})
        assert refused.status_code in (400, 401) and refused.json()["error"] == "unauthorized_client", refused.text
        missing = h.post(endpoint, data={"client_id": docs.url("/ok/never-published.json")})
        assert missing.status_code == 400 and missing.json()["error"] == "invalid_client", missing.text
        assert "could not be read" in missing.json()["error_description"]
