"""Objects and answers for the scale-out tests: a zone with a confidential client (`Service`), a
`private_key_jwt` client (`KeyClient`), an authorization-code flow walked at instance A by an HTTP
browser (`CodeFlow`), requests sent to several instances at one moment, and predicates over polled
answers (multi_kit.Sample)."""

from __future__ import annotations

import secrets
import threading
import uuid
from pathlib import Path
from typing import Any, Callable, Optional

import httpx
from keycardai.oauth.server import WebIdentity

import lk
from e2e import kit as ekit
from multi_kit import Cluster, Sample
from oauth.kit import JWT_BEARER, JsonServer, basic

REDIRECT = "http://127.0.0.1/callback"  # never loaded: the browser stops at the client's URI
ROTATION_PERIOD_S = 6  # --key-rotation-period-secs of the `rotating_trio` fixture (checked every 2 s)

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


def invalid_client(r: httpx.Response) -> bool:
    return r.status_code == 401 and r.headers.get("content-type", "").startswith("application/json") and r.json().get("error") == "invalid_client"


class CodeFlow:
    """A zone with open sign-up and a public browser client; codes made at A by an HTTP browser."""

    def __init__(self, c: Cluster) -> None:
        self.c = c
        admin = c.admin("A")
        self.zone = ekit.Zone(admin, admin.zones.create(name=lk.unique("scaleout login"), requires_invitation=False), http=c.http("A"))
        self.client = self.zone.browser_client([REDIRECT], consent="implicit")
        self.email = ekit.unique_email("scaleout")

    def browser(self, name: str, address: Optional[str] = None) -> ekit.HttpBrowser:
        """An HTTP browser (cookie jar, zone redirects followed) talking to instance `name` only,
        from source `address`."""
        b = ekit.HttpBrowser(self.zone)
        b.http.close()
        b.http = self.c.http(name, base_url="", follow_redirects=False, local_address=address)
        return b

    def code(self) -> tuple[str, ekit.Pkce]:
        """Signs up (or in) at A and consents: a code for the client."""
        b = self.browser("A")
        pkce = ekit.Pkce()
        out = b.signup_and_authorize(self.zone.authorize_url(self.client, REDIRECT, pkce=pkce, state=secrets.token_urlsafe(8)), self.email)
        q = ekit.query(out)
        assert "code" in q, f"instance A: no code in the redirect {out}"
        return q["code"], pkce

    def redeem(self, name: str, code: str, pkce: ekit.Pkce) -> httpx.Response:
        return self.zone.redeem(self.client, code, REDIRECT, pkce.verifier, http=self.c.http(name))


def invalid_grant(r: httpx.Response) -> bool:
    return r.status_code == 400 and r.headers.get("content-type", "").startswith("application/json") and r.json().get("error") == "invalid_grant"
