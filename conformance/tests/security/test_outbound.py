"""Outbound-fetch attacks against the real binary (SQLite; storage plays no part). A client's
key-set URL (`public-key` credential `jwks_uri`) is attacker-chosen input the server fetches; these
tests point it inward and at a proxy, and make the server refetch it:

* proxy variables in the server's environment are ignored (a proxy resolves names itself, out of
  reach of the address policy): the fetch goes direct, or is refused for a private target, and
  the proxy never sees a connection;
* cloud-metadata targets, also spelled as IPv4-mapped / IPv4-compatible / NAT64 / 6to4 IPv6 or by
  name, are refused before any request, even with `--allow-private-fetch`;
* without `--allow-private-fetch`, names resolving to loopback and embedded private IPv4 forms are
  refused;
* made-up `kid`s refetch a key set at most once a minute;
* a `private_key_jwt` assertion without `jti` is refused (RFC 7523 replay protection).
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Iterator

import pytest

from oauth.kit import JWT_BEARER, Idp, JsonServer, OAuthZone, assert_oauth_error

from .own_servers import CountingListener, Own, proxy_env, sqlite_server


@pytest.fixture(scope="module")
def json_server() -> Iterator[JsonServer]:
    srv = JsonServer()
    yield srv
    srv.close()


@pytest.fixture(scope="module")
def proxy() -> Iterator[CountingListener]:
    p = CountingListener()
    yield p
    p.close()


@pytest.fixture(scope="module")
def open_fetch(latchkey_bin: Path, tmp_path_factory, proxy: CountingListener) -> Iterator[Own]:
    """Listening on loopback: private fetches allowed (the default); proxy variables set."""
    with sqlite_server(latchkey_bin, tmp_path_factory, env=proxy_env(proxy.url)) as s:
        yield s


@pytest.fixture(scope="module")
def plain(latchkey_bin: Path, tmp_path_factory) -> Iterator[Own]:
    """Defaults, no proxy variables."""
    with sqlite_server(latchkey_bin, tmp_path_factory) as s:
        yield s


@pytest.fixture(scope="module")
def strict_fetch(latchkey_bin: Path, tmp_path_factory, proxy: CountingListener) -> Iterator[Own]:
    """`--allow-private-fetch false`, as in production; proxy variables set."""
    with sqlite_server(
        latchkey_bin, tmp_path_factory, args=("--allow-private-fetch", "false"), env=proxy_env(proxy.url)
    ) as s:
        yield s


class KeyClient:
    """A `public-key` credential (client id = iss = sub) whose key set lives at `jwks_uri`, and
    an RSA key that signs its assertions."""

    def __init__(self, z: OAuthZone, idp: Idp, jwks_uri: str) -> None:
        self.z = z
        self.idp = idp
        self.client_id = f"pk-{uuid.uuid4().hex[:10]}"
        self.resource = z.resource()
        app = z.app(depends_on=[self.resource])
        z.credential(app, "public-key", identifier=self.client_id, jwks_uri=jwks_uri)

    def assertion(self, **kw) -> str:
        kw.setdefault("aud", self.z.token_endpoint)
        return self.idp.mint(iss=self.client_id, sub=self.client_id, **kw)

    def token(self, assertion: str):
        return self.z.token_post(
            {
                "grant_type": "client_credentials",
                "resource": self.resource.identifier,
                "client_assertion_type": JWT_BEARER,
                "client_assertion": assertion,
            }
        )


def published_key_client(own: Own, json_server: JsonServer) -> tuple[KeyClient, Idp, str]:
    idp = Idp(json_server)
    path = f"/keys-{uuid.uuid4().hex[:10]}/jwks.json"
    json_server.publish(path, {"keys": [idp.public_jwk(idp.key)]})
    return KeyClient(own.oauth_zone(), idp, json_server.url(path)), idp, path


def test_proxy_variables_are_ignored(open_fetch: Own, json_server: JsonServer, proxy: CountingListener):
    """HTTP_PROXY/HTTPS_PROXY/ALL_PROXY point at a listener of ours: the key set is fetched
    directly and the listener never gets a connection."""
    before = len(proxy.seen)
    kc, _, path = published_key_client(open_fetch, json_server)
    r = kc.token(kc.assertion())
    assert len(proxy.seen) == before, f"the fetch went through the proxy: {proxy.seen[before:]}"
    assert r.status_code == 200, r.text
    assert json_server.count(path) >= 1


def test_private_target_never_reaches_the_proxy(strict_fetch: Own, json_server: JsonServer, proxy: CountingListener):
    """Production settings: a key-set URL whose name resolves to loopback is refused, and the
    proxy (which would have resolved the name itself) never sees a `CONNECT`."""
    before = len(proxy.seen)
    idp = Idp(json_server)
    kc = KeyClient(strict_fetch.oauth_zone(), idp, f"https://localhost:{json_server.port}/jwks.json")
    r = kc.token(kc.assertion())
    assert_oauth_error(r, 401, "invalid_client")
    assert len(proxy.seen) == before, f"the proxy was asked: {proxy.seen[before:]}"


METADATA_TARGETS = [
    "https://169.254.169.254/latest/meta-data/",
    "https://[fd00:ec2::254]/latest/meta-data/",
    "https://100.100.100.200/latest/meta-data/",
    "https://metadata.google.internal/computeMetadata/v1/",
    "https://[::ffff:169.254.169.254]/",
    "https://[::169.254.169.254]/",
    "https://[64:ff9b::a9fe:a9fe]/",
    "https://[2002:a9fe:a9fe::]/",
    "https://[fe80::1]/",
]


@pytest.mark.parametrize("target", METADATA_TARGETS)
def test_metadata_targets_are_refused_even_when_private_is_allowed(open_fetch: Own, json_server: JsonServer, target: str):
    """Refused by the address policy itself ("not an allowed fetch target"), not merely because
    nothing answered."""
    kc = KeyClient(open_fetch.oauth_zone(), Idp(json_server), target)
    body = assert_oauth_error(kc.token(kc.assertion()), 401, "invalid_client")
    assert "not an allowed fetch target" in body.get("error_description", ""), body


PRIVATE_SPELLINGS = [
    "https://[::ffff:127.0.0.1]:{port}/jwks.json",
    "https://[::127.0.0.1]:{port}/jwks.json",
    "https://[64:ff9b::7f00:1]:{port}/jwks.json",
    "https://[2002:7f00:1::]:{port}/jwks.json",
    "https://[::ffff:10.0.0.1]/jwks.json",
    "https://100.64.0.1/jwks.json",
    "https://198.18.0.1/jwks.json",
    "https://[fd12::1]/jwks.json",
]


@pytest.mark.parametrize("template", PRIVATE_SPELLINGS)
def test_private_spellings_are_refused_in_production(strict_fetch: Own, json_server: JsonServer, template: str):
    kc = KeyClient(strict_fetch.oauth_zone(), Idp(json_server), template.format(port=json_server.port))
    body = assert_oauth_error(kc.token(kc.assertion()), 401, "invalid_client")
    assert "not an allowed fetch target" in body.get("error_description", ""), body


def test_unknown_kids_do_not_hammer_the_key_set(plain: Own, json_server: JsonServer):
    """Ten assertions with made-up `kid`s (signed by keys the set does not hold): the key set is
    fetched once, and refetched at most once more within the minute. Before the fix every
    unknown `kid` cost a fetch."""
    kc, idp, path = published_key_client(plain, json_server)
    ok = kc.token(kc.assertion())
    assert ok.status_code == 200, ok.text
    for _ in range(10):
        stranger = Idp._new_key(f"made-up-{uuid.uuid4().hex[:8]}")
        r = kc.token(kc.assertion(key=stranger))
        assert_oauth_error(r, 401, "invalid_client")
    assert json_server.count(path) <= 2, f"key set fetched {json_server.count(path)} times"


def test_private_key_jwt_without_jti_is_refused(plain: Own, json_server: JsonServer):
    """An assertion without `jti` could be replayed until it expires; it is refused."""
    kc, _, _ = published_key_client(plain, json_server)
    r = kc.token(kc.assertion(jti=None))
    body = assert_oauth_error(r, 401, "invalid_client")
    assert "jti" in body.get("error_description", ""), body
    ok = kc.token(kc.assertion())
    assert ok.status_code == 200, ok.text
