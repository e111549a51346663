"""The device authorization grant (RFC 8628) from both ends, over plain HTTP (httpx):

* the person's side — `approve_device(verification_uri_complete, email, password, approve=True)`
  opens the verification page, signs in through the zone's sign-in form when the browser has no
  session, and presses Approve (or Deny) on the confirmation page with its CSRF token. The CLI
  tests call it to approve `latchkey login`;
* the device's side — `start()` (the device authorization request) and `poll()` (the token
  request with the device code).

`DeviceBrowser` exposes the steps one by one for the tests that attack them.
"""

from __future__ import annotations

import html
import re
from typing import Any, Optional
from urllib.parse import urlsplit

import httpx

DEVICE_CODE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
PASSWORD = "correct horse battery staple"

_HIDDEN = re.compile(r'<input type="hidden" name="([a-z_]+)" value="([^"]*)">')
_POST_ACTION = re.compile(r'<form method="post" action="([^"]*)"')
_ALERT = re.compile(r'<div class="error" role="alert"[^>]*>(.*?)</div>')


def hidden_fields(page: str) -> dict[str, str]:
    """The hidden inputs of a page (request id, CSRF token, user code)."""
    return {k: html.unescape(v) for k, v in _HIDDEN.findall(page)}


def post_action(page: str) -> str:
    """Where the page's (first) POST form goes."""
    m = _POST_ACTION.search(page)
    assert m, f"no POST form on the page: {page[:400]}"
    return html.unescape(m.group(1))


def alert(page: str) -> Optional[str]:
    """The page's error message, if any."""
    m = _ALERT.search(page)
    return html.unescape(m.group(1)) if m else None


def is_sign_in(page: str) -> bool:
    return 'name="email"' in page and 'name="password"' in page


def is_confirmation(page: str) -> bool:
    return 'id="approve"' in page and 'id="deny"' in page


class DeviceBrowser:
    """A cookie-keeping HTTP "browser" that follows the zone's redirects on the zone's origin."""

    def __init__(self, verification_uri: str) -> None:
        self.http = httpx.Client(timeout=30.0, follow_redirects=False)
        self.origin = "{0.scheme}://{0.netloc}".format(urlsplit(verification_uri))

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> "DeviceBrowser":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def walk(self, response: httpx.Response) -> httpx.Response:
        """Follows same-origin redirects; answers the first page that is not one."""
        for _ in range(10):
            if response.status_code not in (301, 302, 303, 307, 308):
                return response
            location = response.headers["location"]
            assert location.startswith(self.origin + "/"), f"redirected off the zone to {location}"
            response = self.http.get(location)
        raise AssertionError("too many redirects")

    def get(self, url: str) -> httpx.Response:
        return self.walk(self.http.get(url))

    def post(self, url: str, data: dict[str, str]) -> httpx.Response:
        return self.walk(self.http.post(url, data=data))

    def sign_in(self, page: httpx.Response, email: str, password: str, sign_up: bool = False) -> httpx.Response:
        """Submits the zone's sign-in form (or its sign-up button) on `page`."""
        assert is_sign_in(page.text), f"not a sign-in page ({page.status_code}): {page.text[:400]}"
        fields = {**hidden_fields(page.text), "email": email, "password": password}
        fields["intent"] = "signup" if sign_up else "signin"
        return self.post(post_action(page.text), fields)

    def confirmation(
        self, verification_uri_complete: str, email: str, password: str, sign_up: bool = False
    ) -> httpx.Response:
        """Opens the verification page, signs in when asked: the confirmation page."""
        page = self.get(verification_uri_complete)
        if is_sign_in(page.text):
            page = self.sign_in(page, email, password, sign_up)
        assert page.status_code == 200 and is_confirmation(page.text), (
            f"expected the device confirmation page, got {page.status_code}: {alert(page.text) or page.text[:600]}"
        )
        return page

    def decide(self, confirmation: httpx.Response, approve: bool = True, **override: Optional[str]) -> httpx.Response:
        """Presses Approve or Deny; `override` replaces (or, with None, drops) form fields."""
        fields = {**hidden_fields(confirmation.text), "decision": "approve" if approve else "deny"}
        for k, v in override.items():
            if v is None:
                fields.pop(k, None)
            else:
                fields[k] = v
        return self.post(post_action(confirmation.text), fields)


def approve_device(
    verification_uri_complete: str,
    email: str,
    password: str,
    approve: bool = True,
    *,
    sign_up: bool = False,
) -> None:
    """Approves (or, with `approve=False`, denies) a device authorization the way a person does
    in a browser, over plain HTTP: opens `verification_uri_complete` (the
    `{issuer}/device?user_code=XXXX-XXXX` of the device authorization response), signs in with
    `email` and `password` through the zone's sign-in form (with `sign_up=True`, creates the
    account first, in zones that allow sign-up), and submits Approve/Deny with the page's CSRF
    token. Raises AssertionError when any step does not answer as expected."""
    with DeviceBrowser(verification_uri_complete) as b:
        page = b.confirmation(verification_uri_complete, email, password, sign_up)
        done = b.decide(page, approve)
        assert done.status_code == 200 and 'id="device-outcome"' in done.text, (
            f"the decision was refused ({done.status_code}): {alert(done.text) or done.text[:600]}"
        )


def start(
    issuer: str,
    client_id: str,
    *,
    resources: list[str] = (),
    scope: Optional[str] = None,
    secret: Optional[str] = None,
    http: Optional[httpx.Client] = None,
) -> httpx.Response:
    """`POST {issuer}/oauth/2/device_authorization` (a public client by `client_id`, or with
    `secret` by HTTP Basic)."""
    data: list[tuple[str, str]] = [] if secret else [("client_id", client_id)]
    data += [("resource", r) for r in resources]
    if scope is not None:
        data.append(("scope", scope))
    auth = (client_id, secret) if secret else None
    client = http or httpx.Client(timeout=30.0)
    try:
        return client.post(f"{issuer}/oauth/2/device_authorization", data=_form(data), auth=auth)
    finally:
        if http is None:
            client.close()


def poll(
    issuer: str,
    client_id: str,
    device_code: str,
    *,
    secret: Optional[str] = None,
    resources: list[str] = (),
    http: Optional[httpx.Client] = None,
) -> httpx.Response:
    """One poll of the token endpoint with `device_code`."""
    data: list[tuple[str, str]] = [("grant_type", DEVICE_CODE_GRANT), ("device_code", device_code)]
    if not secret:
        data.append(("client_id", client_id))
    data += [("resource", r) for r in resources]
    auth = (client_id, secret) if secret else None
    client = http or httpx.Client(timeout=30.0)
    try:
        return client.post(f"{issuer}/oauth/2/token", data=_form(data), auth=auth)
    finally:
        if http is None:
            client.close()


def _form(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in pairs:
        if k in out:
            prev = out[k]
            out[k] = (prev if isinstance(prev, list) else [prev]) + [v]
        else:
            out[k] = v
    return out
