"""Cedar at the authorization step (issue 10, "authorization code / consent"): once the user has
signed in, the zone's active policy set decides the requested resources before any consent page;
a denied request goes back to the client as `access_denied` naming the policy, with no code and
no consent asked. A resource the policies allow goes on to consent and a code as before."""

from __future__ import annotations

from typing import Any, Callable

from keycardai_api import KeycardAPI

import lk
from e2e import kit
from e2e.conftest import listener, make_zone, zones_made  # noqa: F401  (fixtures)
from security import attack_kit as ak

SCHEMA = "2026-03-16"
PERMITS = (
    '@id("permit-apps")\npermit (principal is Keycard::Application, action, resource);',
    '@id("permit-users")\npermit (principal is Keycard::User, action, resource);',
)


def activate(admin: KeycardAPI, zone_id: str, texts: list[str]) -> str:
    entries = []
    for text in texts:
        p = admin.zones.policies.create(zone_id, name=lk.unique("login-policy"))
        v = admin.zones.policies.versions.create(p.id, zone_id=zone_id, schema_version=SCHEMA, cedar_raw=text)
        entries.append({"policy_id": p.id, "policy_version_id": v.id})
    s = admin.zones.policy_sets.create(zone_id, name=lk.unique("login-set"))
    sv = admin.zones.policy_sets.versions.create(s.id, zone_id=zone_id, schema_version=SCHEMA, manifest={"entries": entries})
    admin.zones.policy_sets.versions.update(sv.id, zone_id=zone_id, policy_set_id=s.id, active=True)
    return s.name


def test_a_request_the_policies_deny_goes_back_before_consent(
    make_zone: Callable[..., kit.Zone], listener: Any, admin: KeycardAPI  # noqa: F811
):
    z = make_zone(requires_invitation=False)
    guarded = z.resource(name=lk.unique("Guarded"))
    open_api = z.resource(name=lk.unique("Open"))
    client = z.browser_client([ak.REGISTERED], depends_on=[guarded, open_api])
    forbid = (
        f'@id("no-guarded-for-users")\nforbid (principal is Keycard::User, action, resource) '
        f'when {{ resource.identifier == "{guarded.identifier}" }};'
    )
    set_name = activate(admin, z.id, [*PERMITS, forbid])
    b = ak.Browser(z)
    try:
        email = ak.unique_email("policy-login")
        page = ak.signin_page(b, z, client, listener.url, resources=[guarded.identifier])
        out = b.submit_login(page, email, kit.PASSWORD, "signup")
        assert isinstance(out, str), f"no consent page for a denied request: {ak.describe(out)}"
        q = kit.query(out)
        assert q.get("error") == "access_denied" and "code" not in q, q
        assert set_name in q.get("error_description", ""), q

        # The same user, a resource the policies allow: consent, then a code.
        allowed = ak.code_silently(b, z, client, listener.url, resources=[open_api.identifier])
        assert isinstance(allowed, kit.Page) and allowed.kind == "consent", ak.describe(allowed)
        q = kit.query(b.consent(allowed, "allow"))
        assert "code" in q and "error" not in q, q
    finally:
        b.close()
