"""Point 3 — consent covers resources, not only scopes; a client may only ask for resources its
application provides or depends on.

Attacks: a client the user consented to for resource R1 silently gets a code for R2 (prompt=none,
or no prompt); a confidential application credential (consent not required) gets a code for a
resource unrelated to its application.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any, Callable, Iterator

import pytest

import lk
from e2e import kit

from . import attack_kit as ak


@dataclass
class Consented:
    zone: kit.Zone
    client: kit.Client
    browser: ak.Browser
    r1: Any
    r2: Any
    redirect_uri: str

    def authorize(self, client: kit.Client = None, **kw: Any) -> "kit.Page | str":
        return ak.code_silently(self.browser, self.zone, client or self.client, self.redirect_uri, **kw)


@pytest.fixture
def consented(password_zone: kit.Zone, listener) -> Iterator[Callable[[], Consented]]:
    made: list[ak.Browser] = []

    def make() -> Consented:
        z = password_zone
        tag = secrets.token_hex(4)
        r1 = z.resource(identifier=lk.unique_url("r1"), scopes=[f"s1-{tag}", f"s2-{tag}"])
        r2 = z.resource(identifier=lk.unique_url("r2"), scopes=[f"t1-{tag}"])
        # (consent required; the application depends on both, so only consent stands in the way)
        client = z.browser_client([ak.REGISTERED], depends_on=[r1, r2])
        b = ak.Browser(z)
        made.append(b)
        # The one consent: resource R1, scope s1.
        out = b.signup_and_authorize(
            z.authorize_url(client, listener.url, state="c", pkce=kit.Pkce(), resources=[r1.identifier],
                            scope=f"s1-{tag}"),
            ak.unique_email("consent"),
        )
        assert "code" in kit.query(out), out
        return Consented(z, client, b, r1, r2, listener.url)

    yield make
    for b in made:
        b.close()


def _scope(r: Any, i: int = 0) -> str:
    return r.scopes[i]


def _redirect_error(out: "kit.Page | str", error: str) -> dict:
    assert isinstance(out, str), f"expected a redirect with error={error}, got {ak.describe(out)}"
    q = kit.query(out)
    assert "code" not in q, f"a code was issued without consent: {out[:200]}"
    assert q.get("error") == error, q
    return q


def _consent_page(out: "kit.Page | str") -> None:
    assert isinstance(out, kit.Page), f"expected the consent page, got {ak.describe(out)}"
    assert out.status == 200 and out.kind == "consent", ak.describe(out)
    assert 'action="' in out.text and "/login/consent" in out.text, out.text[:400]


def test_consent_for_one_resource_does_not_cover_another(consented):
    c = consented()
    # Within the consent: a code, silently.
    ok = c.authorize(resources=[c.r1.identifier], scope=_scope(c.r1), prompt="none")
    assert isinstance(ok, str) and "code" in kit.query(ok), ak.describe(ok)

    _redirect_error(c.authorize(resources=[c.r2.identifier], prompt="none"), "consent_required")
    _redirect_error(c.authorize(resources=[c.r2.identifier], scope=_scope(c.r2), prompt="none"), "consent_required")
    _consent_page(c.authorize(resources=[c.r2.identifier]))
    # R1 together with R2 is no more consented than R2 alone.
    _redirect_error(
        c.authorize(resources=[c.r1.identifier, c.r2.identifier], scope=_scope(c.r1), prompt="none"), "consent_required"
    )


def test_broader_scope_on_the_consented_resource_needs_consent(consented):
    c = consented()
    broader = f"{_scope(c.r1)} {_scope(c.r1, 1)}"
    _redirect_error(c.authorize(resources=[c.r1.identifier], scope=broader, prompt="none"), "consent_required")
    _consent_page(c.authorize(resources=[c.r1.identifier], scope=broader))
    ok = c.authorize(resources=[c.r1.identifier], scope=_scope(c.r1), prompt="none")
    assert isinstance(ok, str) and "code" in kit.query(ok), ak.describe(ok)


def test_dcr_client_is_public_and_always_asks_consent(password_zone: kit.Zone, listener):
    """A dynamically registered client has no secret (PKCE, client_id only) and never skips the
    consent page, even for a user already signed in."""
    z = password_zone
    with ak.client("127.0.0.32") as h:
        reg = h.post(z.url("/oauth/2/registration"),
                     json={"redirect_uris": [ak.REGISTERED], "client_name": "Registered agent"})
    assert reg.status_code == 201, reg.text
    assert reg.json()["token_endpoint_auth_method"] == "none" and "client_secret" not in reg.json(), reg.json()
    dcr = kit.Client(reg.json()["client_id"])
    own = z.browser_client([ak.REGISTERED], consent="implicit")
    b = ak.Browser(z)
    try:
        out = b.signup_and_authorize(z.authorize_url(own, listener.url, state="x", pkce=kit.Pkce()),
                                     ak.unique_email("dcr"))
        assert "code" in kit.query(out), out
        _redirect_error(ak.code_silently(b, z, dcr, listener.url, prompt="none"), "consent_required")
        _consent_page(ak.code_silently(b, z, dcr, listener.url))
        # Without PKCE the public client is refused.
        url = z.authorize_url(dcr, listener.url, state="nopkce")
        _redirect_error(b.get(url), "invalid_request")
    finally:
        b.close()


def test_application_client_cannot_ask_for_an_unrelated_resource(password_zone: kit.Zone, listener):
    """A confidential application credential (consent not required) asking for a resource its
    application neither provides nor depends on: `invalid_target`, no code. Its own and its
    dependencies' resources still work."""
    z = password_zone
    dep = z.resource(identifier=lk.unique_url("dep"))
    unrelated = z.resource(identifier=lk.unique_url("unrelated"))
    client = z.browser_client([ak.REGISTERED], consent="implicit", confidential=True, depends_on=[dep])
    provided = z.resource(identifier=lk.unique_url("provided"), application_id=client.app.id)
    b = ak.Browser(z)
    try:
        out = b.signup_and_authorize(
            z.authorize_url(client, listener.url, state="own", pkce=kit.Pkce(), resources=[provided.identifier]),
            ak.unique_email("app"),
        )
        assert "code" in kit.query(out), out
        ok = ak.code_silently(b, z, client, listener.url, resources=[dep.identifier])
        assert isinstance(ok, str) and "code" in kit.query(ok), ak.describe(ok)

        q = _redirect_error(ak.code_silently(b, z, client, listener.url, resources=[unrelated.identifier]),
                            "invalid_target")
        assert q.get("iss") == z.issuer, q
        _redirect_error(
            ak.code_silently(b, z, client, listener.url, resources=[provided.identifier, unrelated.identifier]),
            "invalid_target",
        )
    finally:
        b.close()
