"""The web console's forms and pages over plain HTTP, each checked through the management API
(the org admin's own SDK client) or on the page: a zone's settings (DCR, CIMD and its allowed
client ids, the sign-in flow), a provider's "Test discovery" against a local metadata server and
against failing or refused URLs, credentials of every non-password type, a resource's credential
provider, the organization's SSO connection (enable, update, disable), a policy set version's
attestation, the pager of a zone list and of an organization list, an empty list's hint, the
session cookie's attributes, and refused forms coming back as they were filled in.

Forms are submitted the way a browser would: every control of the rendered form with its shown
value (checked boxes only, the selected option), with only the fields under test changed."""

from __future__ import annotations

import base64
import json
import re
import threading
import uuid
from dataclasses import dataclass, field
from html import unescape
from html.parser import HTMLParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Iterator, Optional

import httpx
import pytest
from keycardai_api import NotFoundError

import lk
from e2e import kit

from .people_kit import Org, Person
from .test_console import console_browser, csrf, get, post

SCHEMA = "2026-03-16"
PERMIT_APPS = '@id("permit-apps")\npermit (principal is Keycard::Application, action, resource);'


# --------------------------------------------------------------------------------------------
# Forms as a browser submits them
# --------------------------------------------------------------------------------------------


@dataclass
class Form:
    action: str
    method: str
    # (name, value) of every control a browser would send, in page order
    pairs: list[tuple[str, str]] = field(default_factory=list)
    # the option values of each select
    options: dict[str, list[str]] = field(default_factory=dict)

    def value(self, name: str) -> Optional[str]:
        return next((v for k, v in self.pairs if k == name), None)

    def fill(self, **changes: Any) -> dict[str, Any]:
        """The form's data with `changes` by field name (dotted names via `fill(**{"a.b": v})`):
        a value replaces the shown one, None leaves the control out (an unchecked box)."""
        data: dict[str, Any] = {}
        for k, v in self.pairs:
            if k in changes:
                continue
            data.setdefault(k, []).append(v)
        for k, v in changes.items():
            if v is not None:
                data[k] = v
        return {k: (v[0] if isinstance(v, list) and len(v) == 1 else v) for k, v in data.items()}


class _FormParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[Form] = []
        self._form: Optional[Form] = None
        self._select: Optional[dict] = None
        self._textarea: Optional[dict] = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, Optional[str]]]) -> None:
        a = dict(attrs)
        if tag == "form":
            self._form = Form(a.get("action") or "", (a.get("method") or "get").lower())
            self.forms.append(self._form)
            return
        if self._form is None:
            return
        name = a.get("name")
        if tag == "input" and name:
            kind = (a.get("type") or "text").lower()
            if kind in ("submit", "button", "image", "reset", "file"):
                return
            if kind in ("checkbox", "radio"):
                if "checked" in a:
                    self._form.pairs.append((name, a.get("value") or "on"))
            else:
                self._form.pairs.append((name, a.get("value") or ""))
        elif tag == "select" and name:
            self._select = {"name": name, "options": [], "selected": None}
        elif tag == "option" and self._select is not None:
            value = a.get("value") or ""
            self._select["options"].append(value)
            if "selected" in a:
                self._select["selected"] = value
        elif tag == "textarea" and name:
            self._textarea = {"name": name, "text": ""}

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self._textarea["text"] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None
        elif tag == "select" and self._select is not None and self._form is not None:
            s, self._select = self._select, None
            self._form.options[s["name"]] = s["options"]
            chosen = s["selected"] if s["selected"] is not None else (s["options"][0] if s["options"] else None)
            if chosen is not None:
                self._form.pairs.append((s["name"], chosen))
        elif tag == "textarea" and self._textarea is not None and self._form is not None:
            t, self._textarea = self._textarea, None
            text = t["text"][1:] if t["text"].startswith("\n") else t["text"]
            self._form.pairs.append((t["name"], text))


def form(page: str, action: str) -> Form:
    """The one form of `page` posting to `action` (not a search form sent to the same page)."""
    p = _FormParser()
    p.feed(page)
    found = [f for f in p.forms if f.action == action and f.method == "post"]
    assert len(found) == 1, (action, [f.action for f in p.forms])
    return found[0]


def notice(page: str) -> str:
    m = re.search(r'<div class="notice" role="status">(.*?)</div>', page, re.S)
    assert m, page[:1500]
    return unescape(m.group(1))


def follow(b: kit.HttpBrowser, org: Org, r: httpx.Response, to: str) -> httpx.Response:
    """Follows the 303 of a console form (which must go to `to`, a path with a `?notice=`)."""
    assert r.status_code == 303, r.text[:1500]
    location = r.headers["location"]
    assert location.startswith(to + "?notice="), location
    page = get(b, org, location)
    assert page.status_code == 200, page.text[:800]
    return page


def raw(call: Any) -> dict:
    status, body, _ = lk.raw_json(call)
    assert status == 200, (status, body)
    return body


def new_zone(person: Person, org: Org, name: str = "console zone") -> Any:
    return person.api.zones.create(name=lk.unique(name), organization_id=org.id)


@pytest.fixture
def signed_in(make_org) -> Iterator[tuple[Org, Person, kit.HttpBrowser]]:
    """A fresh organization, its admin, and a browser signed in to the console as the admin."""
    org = make_org()
    boss = org.join("org_admin", "console-features")
    b = console_browser(org, boss.email)
    yield org, boss, b
    b.close()


# --------------------------------------------------------------------------------------------
# 1. Zone settings: DCR, CIMD, sign-in flow
# --------------------------------------------------------------------------------------------


def test_zone_settings_form_sets_dcr_cimd_and_the_login_flow(signed_in) -> None:
    org, boss, b = signed_in
    zone = new_zone(boss, org, "settings zone")
    here = f"/console/zones/{zone.id}/settings"
    before = raw(boss.api.zones.with_raw_response.retrieve(zone.id))
    dcr_before = before["protocols"]["oauth2"]["dcr_enabled"]
    assert before["login_flow"] == "default" and before["protocols"]["oauth2"]["cimd"]["enabled"] is False, before

    page = get(b, org, here)
    assert page.status_code == 200, page.text[:800]
    f = form(page.text, here)
    assert f.value("protocols.oauth2.dcr_enabled") == ("true" if dcr_before else None), f.pairs
    assert f.value("protocols.oauth2.cimd.enabled") is None and f.value("login_flow") == "default", f.pairs
    assert f.options["login_flow"][-2:] == ["default", "identifier_first"]

    allowed = ["https://app.example.com/client.json", "https://*.tools.example.org"]
    r = post(b, org, here, f.fill(**{
        "protocols.oauth2.dcr_enabled": None if dcr_before else "true",
        "protocols.oauth2.cimd.enabled": "true",
        "protocols.oauth2.cimd.allowed_client_ids": "\n".join(allowed),
        "login_flow": "identifier_first",
    }))  # fmt: skip
    assert notice(follow(b, org, r, here).text) == "Settings saved."
    after = raw(boss.api.zones.with_raw_response.retrieve(zone.id))
    o = after["protocols"]["oauth2"]
    assert o["dcr_enabled"] is (not dcr_before), o
    assert o["cimd"] == {"enabled": True, "allowed_client_ids": allowed}, o
    assert after["login_flow"] == "identifier_first", after
    typed = boss.api.zones.retrieve(zone.id)
    assert typed.protocols.oauth2.dcr_enabled is (not dcr_before) and typed.protocols.oauth2.cimd.enabled is True
    # the fields left as shown are unchanged
    for key in ("name", "description", "requires_invitation", "signing_alg", "user_identity_provider_id", "default_resource_id"):  # fmt: skip
        assert after[key] == before[key], key
    assert o["pkce_required"] == before["protocols"]["oauth2"]["pkce_required"]

    # the form now shows the saved values; turning everything back off
    f = form(get(b, org, here).text, here)
    assert f.value("protocols.oauth2.cimd.enabled") == "true" and f.value("login_flow") == "identifier_first", f.pairs
    assert f.value("protocols.oauth2.cimd.allowed_client_ids").splitlines() == allowed
    assert f.value("protocols.oauth2.dcr_enabled") == (None if dcr_before else "true")
    r = post(b, org, here, f.fill(**{
        "protocols.oauth2.dcr_enabled": "true" if dcr_before else None,
        "protocols.oauth2.cimd.enabled": None,
        "protocols.oauth2.cimd.allowed_client_ids": "",
        "login_flow": "default",
    }))  # fmt: skip
    follow(b, org, r, here)
    again = raw(boss.api.zones.with_raw_response.retrieve(zone.id))
    assert again["protocols"]["oauth2"]["dcr_enabled"] is dcr_before
    assert again["protocols"]["oauth2"]["cimd"] == {"enabled": False, "allowed_client_ids": []}
    assert again["login_flow"] == "default"


# --------------------------------------------------------------------------------------------
# 2. A provider's "Test discovery"
# --------------------------------------------------------------------------------------------


class MetadataServer:
    """A loopback HTTP server answering GETs from `docs` (path → JSON), 404 otherwise; records
    the paths asked for."""

    def __init__(self) -> None:
        self.docs: dict[str, dict] = {}
        self.hits: list[str] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                outer.hits.append(self.path)
                doc = outer.docs.get(self.path)
                body = json.dumps(doc if doc is not None else {"error": "not_found"}).encode()
                self.send_response(200 if doc is not None else 404)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def issuer(self, doc_issuer: Optional[str] = None) -> str:
        """A new issuer URL on this server publishing an OpenID configuration (whose `issuer` is
        `doc_issuer`, by default the issuer itself)."""
        issuer = f"{self.url}/idp-{uuid.uuid4().hex[:10]}"
        self.docs[issuer[len(self.url):] + "/.well-known/openid-configuration"] = {
            "issuer": doc_issuer or issuer,
            "authorization_endpoint": f"{issuer}/authorize",
            "token_endpoint": f"{issuer}/token",
            "jwks_uri": f"{issuer}/jwks",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
        }
        return issuer

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def metadata_server() -> Iterator[MetadataServer]:
    srv = MetadataServer()
    yield srv
    srv.close()


def test_provider_discovery_test_reports_success_and_failures(signed_in, metadata_server: MetadataServer) -> None:
    """The shared server listens on loopback, so the outbound fetcher allows private addresses
    (`--allow-private-fetch` defaults to on there): the local metadata server is reachable, a
    cloud metadata address never is."""
    org, boss, b = signed_in
    zone = new_zone(boss, org, "discovery zone")
    providers = f"/console/zones/{zone.id}/providers"
    wk = "/.well-known/openid-configuration"

    def run_discovery(provider_id: str) -> str:
        here = f"{providers}/{provider_id}"
        page = get(b, org, here)
        assert page.status_code == 200 and 'id="test-discovery"' in page.text, page.text[:800]
        f = form(page.text, f"{here}/test")
        return notice(follow(b, org, post(b, org, f.action, f.fill()), here).text)

    # a provider made through the console's form, its issuer on the local metadata server
    good = metadata_server.issuer()
    f = form(get(b, org, providers).text, providers)
    r = post(b, org, providers, f.fill(name="Local IdP", identifier=good))
    assert r.status_code == 303, r.text[:800]
    pid = r.headers["location"].split("/providers/")[1].split("?")[0]
    assert boss.api.zones.providers.retrieve(pid, zone_id=zone.id).identifier == good
    said = run_discovery(pid)
    assert said == f"Discovery works: {good}{wk} answered with issuer, authorization_endpoint, token_endpoint, jwks_uri.", said  # fmt: skip
    assert good[len(metadata_server.url):] + wk in metadata_server.hits

    # a document whose issuer is another one's
    other = metadata_server.issuer(doc_issuer="https://elsewhere.example.com")
    p = boss.api.zones.providers.create(zone.id, name=lk.unique("other idp"), identifier=other)
    said = run_discovery(p.id)
    assert said.startswith(f"Discovery works: {other}{wk}") and said.endswith("Warning: its issuer differs from the provider's."), said  # fmt: skip

    # no document there (HTTP 404), nothing listening, a cloud metadata address
    missing = f"{metadata_server.url}/nothing-{uuid.uuid4().hex[:8]}"
    p = boss.api.zones.providers.create(zone.id, name=lk.unique("missing idp"), identifier=missing)
    said = run_discovery(p.id)
    assert said == f"Discovery failed for {missing}{wk}: fetching `{missing}{wk}` failed: HTTP 404 Not Found", said
    closed = f"http://127.0.0.1:{lk.free_port()}/idp"
    p = boss.api.zones.providers.create(zone.id, name=lk.unique("down idp"), identifier=closed)
    said = run_discovery(p.id)
    assert said.startswith(f"Discovery failed for {closed}{wk}: fetching `{closed}{wk}` failed: "), said
    cloud = "http://169.254.169.254/latest"
    p = boss.api.zones.providers.create(zone.id, name=lk.unique("metadata idp"), identifier=cloud)
    said = run_discovery(p.id)
    assert said == f"Discovery failed for {cloud}{wk}: `{cloud}{wk}` is not an allowed fetch target", said


# --------------------------------------------------------------------------------------------
# 3. Credentials of the other types
# --------------------------------------------------------------------------------------------


def test_credentials_of_every_other_type_through_the_form(signed_in) -> None:
    org, boss, b = signed_in
    zone = new_zone(boss, org, "credential zone")
    app = boss.api.zones.applications.create(zone.id, name=lk.unique("app"), identifier=lk.unique_url("app"))
    provider = boss.api.zones.providers.create(zone.id, name=lk.unique("idp"), identifier=lk.unique_url("idp"))
    here = f"/console/zones/{zone.id}/application-credentials"
    f = form(get(b, org, here).text, here)
    assert app.id in f.options["application_id"] and provider.id in f.options["provider_id"], f.options
    assert f.options["type"] == ["password", "public", "public-key", "url", "token"]
    client_url = lk.unique_url("client") + "client.json"
    subject = lk.unique_token("subject")
    # each type's own fields, sent through the form and read back through the API
    cases = {
        "public": {},
        "public-key": {"jwks_uri": "https://keys.example.com/jwks.json"},
        "url": {"identifier": client_url},
        "token": {"provider_id": provider.id, "subject": subject},
    }
    made: dict[str, str] = {}
    for kind, fields in cases.items():
        r = post(b, org, here, f.fill(application_id=app.id, type=kind, **fields))
        assert r.status_code == 200 and "Credential created" in r.text, (kind, r.text[:1500])
        cred_id = re.search(r"Created credential ([A-Za-z0-9_-]+)\.", r.text).group(1)
        assert 'id="secret"' not in r.text, f"a {kind} credential has no secret to show"
        got = raw(boss.api.zones.application_credentials.with_raw_response.retrieve(cred_id, zone_id=zone.id))
        assert (got["type"], got["application_id"]) == (kind, app.id), got
        for key, value in fields.items():
            assert got[key] == value, (kind, key, got)
        assert "password" not in got
        made[kind] = cred_id
    listed = boss.api.zones.application_credentials.list(zone.id, limit=50).items
    assert {c.id: c.type for c in listed if c.id in made.values()} == {v: k for k, v in made.items()}


def test_a_refused_credential_form_comes_back_as_it_was_filled(signed_in) -> None:
    """The API refuses a token credential (its subject is too long): the page shows the refusal
    and the form again with the application, type, provider and subject that were chosen, so
    sending it again after fixing the subject works."""
    org, boss, b = signed_in
    zone = new_zone(boss, org, "refused credential zone")
    apps = [boss.api.zones.applications.create(zone.id, name=lk.unique("app"), identifier=lk.unique_url("app")) for _ in range(2)]
    providers = [boss.api.zones.providers.create(zone.id, name=lk.unique("idp"), identifier=lk.unique_url("idp")) for _ in range(2)]
    app, provider = apps[-1], providers[-1]
    here = f"/console/zones/{zone.id}/application-credentials"
    f = form(get(b, org, here).text, here)
    r = post(b, org, here, f.fill(application_id=app.id, type="token", provider_id=provider.id, subject="s" * 1025))
    alert = re.search(r'<div class="error" role="alert">(.*?)</div>', r.text, re.S)
    assert r.status_code == 200 and alert and "`subject`" in unescape(alert.group(1)), r.text[:1500]
    assert boss.api.zones.application_credentials.list(zone.id, limit=50).items == []
    again = form(r.text, here)
    shown = {k: again.value(k) for k in ("application_id", "type", "provider_id")}
    assert shown == {"application_id": app.id, "type": "token", "provider_id": provider.id}, shown
    r = post(b, org, here, again.fill(subject="fixed-subject"))
    assert r.status_code == 200 and "Credential created" in r.text, r.text[:1500]
    cred_id = re.search(r"Created credential ([A-Za-z0-9_-]+)\.", r.text).group(1)
    got = raw(boss.api.zones.application_credentials.with_raw_response.retrieve(cred_id, zone_id=zone.id))
    assert (got["type"], got["application_id"], got["provider_id"], got["subject"]) == ("token", app.id, provider.id, "fixed-subject"), got


# --------------------------------------------------------------------------------------------
# 4. A resource's credential provider
# --------------------------------------------------------------------------------------------


def test_resource_credential_provider_set_changed_and_cleared_through_the_forms(signed_in) -> None:
    org, boss, b = signed_in
    zone = new_zone(boss, org, "resource zone")
    first = boss.api.zones.providers.create(zone.id, name=lk.unique("first idp"), identifier=lk.unique_url("idp"))
    second = boss.api.zones.providers.create(zone.id, name=lk.unique("second idp"), identifier=lk.unique_url("idp"))
    resources = f"/console/zones/{zone.id}/resources"
    f = form(get(b, org, resources).text, resources)
    assert {first.id, second.id} <= set(f.options["credential_provider_id"]), f.options
    name, ident = lk.unique("upstream api"), lk.unique_url("api")
    r = post(b, org, resources, f.fill(name=name, identifier=ident, credential_provider_id=first.id))
    assert r.status_code == 303, r.text[:1500]
    rid = r.headers["location"].split("/resources/")[1].split("?")[0]
    got = raw(boss.api.zones.resources.with_raw_response.retrieve(rid, zone_id=zone.id))
    assert (got["name"], got["identifier"], got["credential_provider_id"]) == (name, ident, first.id), got

    here = f"{resources}/{rid}"
    f = form(get(b, org, here).text, here)
    assert f.value("credential_provider_id") == first.id, f.pairs
    follow(b, org, post(b, org, here, f.fill(credential_provider_id=second.id)), here)
    got = raw(boss.api.zones.resources.with_raw_response.retrieve(rid, zone_id=zone.id))
    assert (got["name"], got["identifier"], got["credential_provider_id"]) == (name, ident, second.id), got

    f = form(get(b, org, here).text, here)
    assert f.value("credential_provider_id") == second.id, f.pairs
    follow(b, org, post(b, org, here, f.fill(credential_provider_id="")), here)
    got = raw(boss.api.zones.resources.with_raw_response.retrieve(rid, zone_id=zone.id))
    assert got.get("credential_provider_id") is None and got["name"] == name, got


# --------------------------------------------------------------------------------------------
# 5. The organization's SSO connection
# --------------------------------------------------------------------------------------------


def test_sso_connection_enable_update_and_disable_through_the_console(signed_in) -> None:
    org, boss, b = signed_in
    sso = boss.api.organizations.sso_connection
    with pytest.raises(NotFoundError):
        sso.retrieve(org.id)
    page = get(b, org, "/console/sso")
    assert page.status_code == 200 and "No SSO connection yet." in page.text, page.text[:1500]
    f = form(page.text, "/console/sso")
    assert f.value("mode") == "enable"
    secret = lk.unique_token("sso-secret") * 2
    r = post(b, org, "/console/sso", f.fill(**{
        "identifier": "https://idp.example.com",
        "client_id": "console-sso",
        "client_secret": secret,
        "protocols.openid.scopes": "groups\nprofile",
        "protocols.openid.user_identifier_claim": "email",
    }))  # fmt: skip
    page = follow(b, org, r, "/console/sso")
    assert notice(page.text) == "SSO connection saved."
    got = raw(sso.with_raw_response.retrieve(org.id))
    assert (got["identifier"], got["client_id"], got["client_secret_set"]) == ("https://idp.example.com", "console-sso", True), got  # fmt: skip
    assert got["protocols"]["openid"]["scopes"] == ["groups", "profile"], got
    assert got["protocols"]["openid"]["user_identifier_claim"] == "email", got
    assert secret not in page.text, "the client secret is never shown"

    # the edit form shows the connection; a new client id and scopes, the secret kept
    f = form(page.text, "/console/sso")
    assert f.value("mode") == "update" and f.value("client_id") == "console-sso" and f.value("client_secret") == "", f.pairs  # fmt: skip
    assert f.value("protocols.openid.scopes").splitlines() == ["groups", "profile"]
    r = post(b, org, "/console/sso", f.fill(**{"client_id": "console-sso-2", "protocols.openid.scopes": "offline_access"}))  # fmt: skip
    follow(b, org, r, "/console/sso")
    updated = raw(sso.with_raw_response.retrieve(org.id))
    assert (updated["identifier"], updated["client_id"], updated["client_secret_set"]) == ("https://idp.example.com", "console-sso-2", True), updated  # fmt: skip
    assert updated["protocols"]["openid"]["scopes"] == ["offline_access"], updated
    assert updated["protocols"]["openid"]["user_identifier_claim"] == "email", updated
    assert boss.api.organizations.retrieve(org.id).sso_enabled is True

    page = get(b, org, "/console/sso")
    f = form(page.text, "/console/sso/disable")
    r = post(b, org, "/console/sso/disable", f.fill())
    page = follow(b, org, r, "/console/sso")
    assert notice(page.text) == "SSO disabled." and "No SSO connection yet." in page.text
    with pytest.raises(NotFoundError):
        sso.retrieve(org.id)
    assert boss.api.organizations.retrieve(org.id).sso_enabled is False


def test_a_refused_sso_form_comes_back_as_it_was_filled(signed_in) -> None:
    """An http issuer on a public host is refused: the page shows why, nothing is enabled, and the
    form comes back with what was typed (all but the client secret) to be corrected."""
    org, boss, b = signed_in
    f = form(get(b, org, "/console/sso").text, "/console/sso")
    typed = {
        "identifier": "http://idp.example.com",
        "client_id": "console-sso",
        "protocols.openid.scopes": "groups",
        "protocols.openid.user_identifier_claim": "email",
    }
    secret = lk.unique_token("sso-secret") * 2
    r = post(b, org, "/console/sso", f.fill(**typed, client_secret=secret))
    alert = re.search(r'<div class="error" role="alert">(.*?)</div>', r.text, re.S)
    assert r.status_code == 200 and alert and "`identifier`" in unescape(alert.group(1)), r.text[:1500]
    with pytest.raises(NotFoundError):
        boss.api.organizations.sso_connection.retrieve(org.id)
    assert secret not in r.text
    again = form(r.text, "/console/sso")
    assert again.value("mode") == "enable"
    assert {k: again.value(k) for k in typed} == typed, again.pairs


# --------------------------------------------------------------------------------------------
# 6. A policy set version's attestation
# --------------------------------------------------------------------------------------------


def test_policy_set_version_page_shows_the_attestation_the_api_serves(signed_in) -> None:
    org, boss, b = signed_in
    zone = new_zone(boss, org, "attested zone")
    api = boss.api.zones
    policy = api.policies.create(zone.id, name=lk.unique("attested"))
    pv = api.policies.versions.create(policy.id, zone_id=zone.id, schema_version=SCHEMA, cedar_raw=PERMIT_APPS)
    s = api.policy_sets.create(zone.id, name=lk.unique("attested set"))
    sv = api.policy_sets.versions.create(
        s.id, zone_id=zone.id, schema_version=SCHEMA,
        manifest={"entries": [{"policy_id": policy.id, "policy_version_id": pv.id}]},
    )  # fmt: skip
    r = boss.http.get(f"/zones/{zone.id}/policy-sets/{s.id}/versions/{sv.id}/attestation")
    assert r.status_code == 200, r.text
    served = r.json()

    page = get(b, org, f"/console/zones/{zone.id}/policy-sets/{s.id}/versions/{sv.id}")
    assert page.status_code == 200, page.text[:800]
    m = re.search(r'<pre id="attestation" tabindex="0">(.*?)</pre>', page.text, re.S)
    assert m, "no attestation block: " + page.text[:3000]
    shown = json.loads(unescape(m.group(1)))
    assert shown == served
    st = shown["statement"]
    assert (st["type"], st["zone_id"], st["policy_set_id"], st["policy_set_version"], st["manifest_sha"]) == (
        "policy_set_attestation", zone.id, s.id, sv.version, sv.manifest_sha,
    )  # fmt: skip
    header, payload, signature = shown["jws"].split(".")
    assert signature and json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))) == st
    assert json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))["kid"] == st["key_id"]
    assert f'<code id="manifest-sha">{sv.manifest_sha}</code>' in page.text
    assert "This version has no attestation." not in page.text


# --------------------------------------------------------------------------------------------
# 7. The pager
# --------------------------------------------------------------------------------------------


def walk_pager(b: kit.HttpBrowser, org: Org, base: str, made: set[str]) -> None:
    """Pages of 25 at `base`, whose rows link to `{base}/{id}`: the first page, "next" to the
    rest, "previous" back to the first; no row on both pages, every one of `made` on one."""
    row = re.compile(rf'<td><a href="{re.escape(base)}/([^"/?]+)">')

    def page_of(path: str) -> tuple[list[str], Optional[str], Optional[str]]:
        page = get(b, org, path)
        assert page.status_code == 200, page.text[:800]
        nxt = re.search(r'<a rel="next" href="([^"]+)">', page.text)
        prev = re.search(r'<a rel="prev" href="([^"]+)">', page.text)
        return row.findall(page.text), nxt and unescape(nxt.group(1)), prev and unescape(prev.group(1))

    first, nxt, prev = page_of(base)
    assert len(first) == 25 and len(set(first)) == 25 and set(first) <= made, first
    assert prev is None, "the first page has no previous page"
    assert nxt and nxt.startswith(base + "?") and "after=" in nxt, nxt
    second, nxt2, prev2 = page_of(nxt)
    assert len(second) == len(made) - 25 and not set(first) & set(second), (first, second)
    assert set(first) | set(second) == made
    assert nxt2 is None, "the last page has no next page"
    assert prev2 and prev2.startswith(base + "?") and "before=" in prev2, prev2
    back, nxt3, prev3 = page_of(prev2)
    assert back == first
    assert nxt3 and prev3 is None, (nxt3, prev3)


def test_the_list_pager_walks_forward_and_back_without_overlap(signed_in) -> None:
    """A zone list (`pagination` cursors)."""
    org, boss, b = signed_in
    zone = new_zone(boss, org, "paged zone")
    made = {boss.api.zones.applications.create(zone.id, name=f"paged app {i:02d}", identifier=lk.unique_url("app")).id for i in range(27)}  # fmt: skip
    walk_pager(b, org, f"/console/zones/{zone.id}/applications", made)


def test_the_pager_of_an_organization_list(signed_in) -> None:
    """An organization list (`page_info` cursors): the service accounts."""
    org, boss, b = signed_in
    made = {boss.api.organizations.service_accounts.create(org.id, name=f"paged sa {i:02d}").id for i in range(26)}
    walk_pager(b, org, "/console/service-accounts", made)


# --------------------------------------------------------------------------------------------
# 8. Empty lists say what to do next
# --------------------------------------------------------------------------------------------


def test_an_empty_list_shows_its_hint(signed_in) -> None:
    org, boss, b = signed_in
    zone = new_zone(boss, org, "empty zone")
    page = get(b, org, f"/console/zones/{zone.id}/resources")
    assert page.status_code == 200, page.text[:800]
    assert '<div class="empty"><p><strong>No resources yet.</strong></p><p>Add an API or MCP server that applications may get tokens for.</p></div>' in page.text, page.text[:3000]  # fmt: skip
    assert 'id="create-submit"' in page.text, "the create form is right there"
    creds = get(b, org, f"/console/zones/{zone.id}/application-credentials")
    assert "No credentials yet." in creds.text and "Give an application a credential so it can sign in at the token endpoint." in creds.text  # fmt: skip
    # a search that matches nothing says so instead of the hint
    missed = get(b, org, f"/console/zones/{zone.id}/resources?query=nothing-like-this")
    assert "Nothing matches “nothing-like-this”." in unescape(missed.text)
    assert "Add an API or MCP server" not in missed.text
    # once there is one, the hint is gone
    boss.api.zones.resources.create(zone.id, name=lk.unique("res"), identifier=lk.unique_url("res"))
    page = get(b, org, f"/console/zones/{zone.id}/resources")
    assert "No resources yet." not in page.text and "Add an API or MCP server" not in page.text


# --------------------------------------------------------------------------------------------
# 9. The session cookie's attributes
# --------------------------------------------------------------------------------------------


def parse_set_cookie(header: str) -> tuple[str, str, dict[str, Optional[str]]]:
    """(name, value, {attribute name lower-cased: value or None})."""
    first, *rest = [p.strip() for p in header.split(";")]
    name, _, value = first.partition("=")
    attrs: dict[str, Optional[str]] = {}
    for p in rest:
        k, eq, v = p.partition("=")
        attrs[k.strip().lower()] = v.strip() if eq else None
    return name, value, attrs


def test_session_cookie_is_http_only_strict_and_scoped_to_the_console(make_org) -> None:
    org = make_org()
    boss = org.join("org_admin", "console-cookies")
    assert org.server.base_url.startswith("http://"), "the suite's server has an http public URL"
    jar = kit.HttpBrowser(org.zone)
    seen: list[tuple[str, str, dict]] = []
    jar.http.event_hooks = {"response": [lambda r: seen.extend(parse_set_cookie(h) for h in r.headers.get_list("set-cookie"))]}  # fmt: skip
    b = console_browser(org, boss.email, jar=jar)

    def last(name: str) -> tuple[str, dict]:
        got = [(v, a) for n, v, a in seen if n == name]
        assert got, (name, [n for n, _, _ in seen])
        return got[-1]

    session_name = f"lk_console_o_{org.id}"
    value, attrs = last(session_name)
    assert value and b.http.cookies.get(session_name) == value
    assert set(attrs) == {"path", "max-age", "httponly", "samesite"}, attrs  # no Secure on http, no Domain
    assert attrs["path"] == "/console" and attrs["samesite"] == "Strict" and attrs["httponly"] is None, attrs
    assert 0 < int(attrs["max-age"]) <= 12 * 3600, attrs
    value, attrs = last("lk_console_org")
    assert value == org.id
    assert set(attrs) == {"path", "max-age", "httponly", "samesite"} and attrs["samesite"] == "Strict" and attrs["path"] == "/console", attrs  # fmt: skip
    # the pending sign-in's cookie is Lax (it must come back on the redirect from the zone's
    # sign-in page), and is cleared once the sign-in completed
    login = [(v, a) for n, v, a in seen if n == "lk_console_login"]
    assert len(login) == 2, login
    (started, a1), (cleared, a2) = login
    assert started and a1["samesite"] == "Lax" and "httponly" in a1 and a1["path"] == "/console" and "secure" not in a1, a1  # fmt: skip
    assert cleared == "" and a2["max-age"] == "0", a2

    seen.clear()
    token = csrf(get(b, org, "/console/zones").text)
    r = post(b, org, "/console/sign-out", {"csrf": token})
    assert r.status_code == 303, r.text[:300]
    value, attrs = last(session_name)
    assert value == "" and attrs["max-age"] == "0" and attrs["path"] == "/console", attrs
    assert set(attrs) == {"path", "max-age", "httponly", "samesite"} and attrs["samesite"] == "Strict", attrs
    jar.close()
