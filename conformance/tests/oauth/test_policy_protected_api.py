"""Cedar decides what a Keycard-protected Starlette API gets (issue 10): the API is protected by
keycardai-starlette (`AuthProvider`, the Keycard verifier, `@auth.grant`) and served by uvicorn.
Its caller's token and its own delegated exchange for a downstream resource are both issued only
when the zone's active policy set allows; a forbid reaches the API as the SDK's per-resource
`access_denied`, a newly activated version permits again, and a forbid on the API itself means the
caller never gets a token to present."""

# No `from __future__ import annotations`: `@grant` compares the real annotation object.
import httpx
from keycardai.oauth.server import ClientSecret

from .kit import OAuthZone, jwt_claims
from .test_policies import PERMIT_APPS, SCHEMA, activated_set, cc, policy_with_version
from .test_starlette_grant import protected_app, scenario


def forbid_on(resource) -> str:
    return f'@id("no-{resource.id}")\nforbid (principal, action, resource) when {{ resource.identifier == "{resource.identifier}" }};'


def test_the_protected_api_gets_its_delegated_token_only_when_policy_allows(fresh_zone, asgi):
    z: OAuthZone = fresh_zone()
    downstream, server, api, caller = scenario(z)
    srv = asgi(protected_app(z, api.identifier, downstream.identifier, ClientSecret((server.client_id, server.secret))))
    permit = policy_with_version(z, "permit-apps", PERMIT_APPS)
    deny = policy_with_version(z, "no-downstream", forbid_on(downstream))
    policy_set, _ = activated_set(z, [permit, deny])

    caller_token = z.cc_token(caller, api)
    with httpx.Client(base_url=srv.base, timeout=30) as h:
        headers = {"Authorization": f"Bearer {caller_token}"}
        assert h.get("/api/whoami", headers=headers).status_code == 200, "the API itself is allowed"
        denied = h.get("/api/data", headers=headers)
        assert denied.status_code == 502, denied.text
        err = denied.json()["errors"]["resources"][downstream.identifier]
        assert err["code"] == "access_denied" and err["retryable"] is False, err

        api_sets = z.kit.client.zones.policy_sets
        v2 = api_sets.versions.create(
            policy_set.id, zone_id=z.id, schema_version=SCHEMA,
            manifest={"entries": [{"policy_id": permit[0].id, "policy_version_id": permit[1].id}]},
        )  # fmt: skip
        api_sets.versions.update(v2.id, zone_id=z.id, policy_set_id=policy_set.id, active=True)
        allowed = h.get("/api/data", headers=headers)
    assert allowed.status_code == 200, allowed.text
    claims = jwt_claims(allowed.json()["access_token"])
    assert (claims["aud"], claims["sub"], claims["act"]["sub"]) == (
        downstream.identifier, caller.identifier, server.identifier,
    )  # fmt: skip


def test_a_caller_denied_by_policy_has_no_token_to_present(fresh_zone, asgi):
    z: OAuthZone = fresh_zone()
    downstream, server, api, caller = scenario(z)
    srv = asgi(protected_app(z, api.identifier, downstream.identifier, ClientSecret((server.client_id, server.secret))))
    activated_set(z, [policy_with_version(z, "permit-apps", PERMIT_APPS), policy_with_version(z, "no-api", forbid_on(api))])
    r = cc(z, caller, api)
    assert (r.status_code, r.json().get("error")) == (400, "access_denied"), r.text
    assert "access_token" not in r.json()
    with httpx.Client(base_url=srv.base, timeout=30) as h:
        assert h.get("/api/whoami").status_code == 401, "no token, no entry"
