"""Point 5 — invitations in a zone with `requires_invitation: true`.

Attack: anyone who knows (or guesses) an invited address signs up as that person, without the
invitation link, and gets an account whose email counts as its own. After the fix sign-up needs
the invitation token (`invitation=<token>` on the authorization URL), bound to the invited email
and single use; only then is the email verified.
"""

from __future__ import annotations

from typing import Any, Optional

import httpx

from e2e import kit

from . import attack_kit as ak


def _invite(admin_http: httpx.Client, z: kit.Zone, email: str) -> str:
    r = admin_http.post(f"/organizations/{z.zone.organization_id}/invitations",
                        json={"email": email, "role": "org_member"})
    assert r.status_code == 201, r.text
    token = r.json().get("token")
    assert token, r.json()
    return token


def _signup(z: kit.Zone, client: kit.Client, redirect_uri: str, email: str,
            invitation: Optional[str] = None) -> tuple["kit.Page | str", ak.Browser, kit.Pkce]:
    b = ak.Browser(z)
    pkce = kit.Pkce()
    extra = {"invitation": invitation} if invitation else {}
    page = b.get(z.authorize_url(client, redirect_uri, state="inv", pkce=pkce, scope="openid email", **extra))
    assert isinstance(page, kit.Page) and page.kind == "signin", ak.describe(page)
    out = b.submit_login(page, email, kit.PASSWORD, "signup")
    if isinstance(out, kit.Page) and out.kind == "consent":
        out = b.consent(out, "allow")
    return out, b, pkce


def _refused(out: "kit.Page | str", z: kit.Zone, email: str, what: str) -> None:
    assert isinstance(out, kit.Page), f"{what}: the sign-up went through ({ak.describe(out)})"
    assert out.kind == "signin" and out.alert, f"{what}: expected the sign-in page with an error, got {ak.describe(out)}"
    assert email not in [u.email for u in z.users()], f"{what}: the account was created"


def _user(z: kit.Zone, email: str) -> Any:
    return z.user_by_email(email)


def test_invited_email_without_the_invitation_token_cannot_sign_up(make_zone, admin_http, listener):
    z = make_zone(requires_invitation=True)
    client = z.browser_client([ak.REGISTERED])
    invited = ak.unique_email("invited")
    _invite(admin_http, z, invited)
    out, b, _ = _signup(z, client, listener.url, invited)
    b.close()
    _refused(out, z, invited, "sign-up with the invited address but no invitation token")


def test_sign_up_with_the_invitation_token_verifies_the_email(make_zone, admin_http, listener):
    z = make_zone(requires_invitation=True)
    client = z.browser_client([ak.REGISTERED])
    invited = ak.unique_email("invited")
    token = _invite(admin_http, z, invited)
    out, b, pkce = _signup(z, client, listener.url, invited, invitation=token)
    try:
        assert isinstance(out, str) and "code" in kit.query(out), f"invited sign-up failed: {ak.describe(out)}"
        user = _user(z, invited)
        assert user.email_verified is True, "an invitation accepted by the invited address verifies it"
        r = z.redeem(client, kit.query(out)["code"], listener.url, pkce.verifier)
        assert r.status_code == 200, r.text
        assert kit.jwt_claims(r.json()["id_token"])["email_verified"] is True
        assert z.userinfo(r.json()["access_token"]).json().get("email_verified") in (True, None)
    finally:
        b.close()


def test_invitation_token_is_bound_to_its_email_and_single_use(make_zone, admin_http, listener):
    z = make_zone(requires_invitation=True)
    client = z.browser_client([ak.REGISTERED])
    invited = ak.unique_email("invited")
    token = _invite(admin_http, z, invited)

    # The token with another address.
    intruder = ak.unique_email("intruder")
    out, b, _ = _signup(z, client, listener.url, intruder, invitation=token)
    b.close()
    _refused(out, z, intruder, "the invitation token with a different email")

    # The rightful use.
    out, b, _ = _signup(z, client, listener.url, invited, invitation=token)
    b.close()
    assert isinstance(out, str) and "code" in kit.query(out), f"invited sign-up failed: {ak.describe(out)}"

    # The same token again, in another browser, in another zone of the organization.
    z2 = make_zone(requires_invitation=True)
    client2 = z2.browser_client([ak.REGISTERED])
    out, b, _ = _signup(z2, client2, listener.url, invited, invitation=token)
    b.close()
    _refused(out, z2, invited, "the spent invitation token used again")


def test_open_zone_sign_up_does_not_verify_the_email(password_zone: kit.Zone, listener):
    z = password_zone
    client = z.browser_client([ak.REGISTERED])
    email = ak.unique_email("open")
    out, b, pkce = _signup(z, client, listener.url, email)
    try:
        assert isinstance(out, str) and "code" in kit.query(out), ak.describe(out)
        assert _user(z, email).email_verified is False
        r = z.redeem(client, kit.query(out)["code"], listener.url, pkce.verifier)
        assert r.status_code == 200, r.text
        assert kit.jwt_claims(r.json()["id_token"])["email_verified"] is False
        info = z.userinfo(r.json()["access_token"]).json()
        assert info.get("email_verified") in (False, None), info
    finally:
        b.close()
