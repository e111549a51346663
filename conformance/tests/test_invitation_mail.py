"""Invitation delivery (issue 11, point 2).

With SMTP configured, creating an invitation mails the invitee the invitation link (the
invitation page of the organization's platform zone), the organization's name and the role; the
page shows the invitation and creates the account (CSRF-protected), which spends the invitation.
Without SMTP the create response still carries the one-time `token`. `latchkey invite` makes the
first admin of a fresh install from the command line. The token never reaches the server log.

The SMTP sink is aiosmtpd, run in this process on a free port; servers are test-owned.
"""

from __future__ import annotations

import contextlib
import email
import re
import subprocess
import threading
import time
from email import policy
from email.message import EmailMessage
from pathlib import Path
from typing import Iterator, Optional

import httpx
import pytest
from aiosmtpd.controller import Controller

import lk

LINK_RE = re.compile(r"https?://[^\s<>\"]+/z/([a-z0-9]+)/invitation\?token=([A-Za-z0-9_\-]+)")
PASSWORD = "correct horse battery"


# --------------------------------------------------------------------------------------------
# The SMTP sink and the servers
# --------------------------------------------------------------------------------------------


class Sink:
    """aiosmtpd handler that keeps every message it is given."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], EmailMessage]] = []
        self.cond = threading.Condition()

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 (aiosmtpd's name)
        msg = email.message_from_bytes(envelope.content, policy=policy.default)
        with self.cond:
            self.messages.append((list(envelope.rcpt_tos), msg))  # type: ignore[arg-type]
            self.cond.notify_all()
        return "250 OK"

    def wait_for(self, rcpt: str, timeout: float = 20.0) -> EmailMessage:
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for tos, msg in self.messages:
                    if rcpt in tos:
                        return msg
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no email to {rcpt} within {timeout}s (got {len(self.messages)} others)")
                self.cond.wait(left)


@pytest.fixture(scope="module")
def sink() -> Iterator[tuple[Sink, int]]:
    handler = Sink()
    port = lk.free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()


@pytest.fixture(scope="module")
def mail_server(latchkey_bin: Path, tmp_path_factory: pytest.TempPathFactory, sink) -> Iterator[lk.LatchkeyServer]:
    """A SQLite server that mails invitations to the sink (debug logs, to check what they hold)."""
    _, port = sink
    srv = lk.LatchkeyServer(
        binary=latchkey_bin,
        backend="sqlite",
        data_dir=tmp_path_factory.mktemp("mail") / "data",
        extra_args=[
            "--smtp-host", "127.0.0.1",
            "--smtp-port", str(port),
            "--smtp-tls", "none",
            "--smtp-from", "Latchkey <latchkey@example.test>",
        ],
        extra_env={"LATCHKEY_LOG": "debug,sqlx=info,hyper=info,hyper_util=info,h2=info"},
    )
    try:
        srv.start()
    except lk.ServerStartError as e:
        pytest.fail(str(e), pytrace=False)
    yield srv
    code = srv.stop(timeout=10)
    assert code == 0, f"latchkey did not exit 0 within 10 s of SIGTERM ({code})\n{srv.log_tail(40)}"


def unique_email(prefix: str) -> str:
    return f"{lk.unique_token(prefix)}@example.test"


# --------------------------------------------------------------------------------------------
# The invitation page, as a browser sees it
# --------------------------------------------------------------------------------------------


def hidden(page: str, name: str) -> str:
    m = re.search(rf'name="{name}" value="([^"]*)"', page)
    assert m, f"no hidden `{name}` field in the page:\n{page[:2000]}"
    return m.group(1)


def open_page(browser: httpx.Client, link: str) -> httpx.Response:
    r = browser.get(link)
    assert r.status_code == 200, r.text[:2000]
    assert r.headers["content-type"].startswith("text/html")
    # the login pages' security headers
    assert r.headers["cache-control"] == "no-store"
    assert r.headers["x-frame-options"] == "DENY"
    assert r.headers["referrer-policy"] == "no-referrer"
    assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
    assert "default-src 'none'" in r.headers["content-security-policy"]
    set_cookie = r.headers.get("set-cookie", "")
    assert "lk_invite_" in set_cookie and "HttpOnly" in set_cookie and "SameSite=Lax" in set_cookie, set_cookie
    return r


def form_action(link: str) -> str:
    return link.split("?", 1)[0]


def create_account(browser: httpx.Client, link: str, page: str, password: str = PASSWORD) -> httpx.Response:
    return browser.post(
        form_action(link),
        data={
            "token": hidden(page, "token"),
            "csrf": hidden(page, "csrf"),
            "password": password,
            "confirm": password,
        },
    )


def status_of(base_url: str, token: str) -> str:
    r = httpx.get(f"{base_url}/invitations/{token}", timeout=10)
    assert r.status_code == 200, r.text
    return r.json()["status"]


def follow_and_accept(base_url: str, link: str, email_addr: str, org_name: str, role: str) -> None:
    """The whole invitee flow through the page: shown, CSRF enforced, account made, spent."""
    token = LINK_RE.search(link).group(2)  # type: ignore[union-attr]
    with httpx.Client(timeout=30) as browser:
        page = open_page(browser, link).text
        assert org_name in page and email_addr in page and role in page, page
        assert status_of(base_url, token) == "pending", "showing the page must not spend the invitation"

        # CSRF: no token, a wrong token, and the right token without the cookie all fail
        no_csrf = browser.post(form_action(link), data={"token": token, "password": PASSWORD, "confirm": PASSWORD})
        assert no_csrf.status_code == 403, no_csrf.text[:500]
        wrong = browser.post(
            form_action(link), data={"token": token, "csrf": "x" * 40, "password": PASSWORD, "confirm": PASSWORD}
        )
        assert wrong.status_code == 403, wrong.text[:500]
        with httpx.Client(timeout=30) as cookieless:
            stolen = create_account(cookieless, link, page)
            assert stolen.status_code == 403, stolen.text[:500]
        assert status_of(base_url, token) == "pending"

        mismatch = browser.post(
            form_action(link),
            data={"token": token, "csrf": hidden(page, "csrf"), "password": PASSWORD, "confirm": PASSWORD + "!"},
        )
        assert mismatch.status_code == 200 and "do not match" in mismatch.text, mismatch.text[:1000]
        assert status_of(base_url, token) == "pending"

        done = create_account(browser, link, mismatch.text)
        assert done.status_code == 200, done.text[:2000]
        assert "Your account is ready" in done.text and "latchkey login" in done.text, done.text[:2000]
        assert status_of(base_url, token) == "accepted"

        again = browser.get(link)
        assert again.status_code == 410, (again.status_code, again.text[:500])
        assert "already used" in again.text
        reuse = create_account(browser, link, page)
        assert reuse.status_code in (403, 410), (reuse.status_code, reuse.text[:500])


def platform_users(admin_http: httpx.Client, zone_id: str) -> list[str]:
    r = admin_http.get(f"/zones/{zone_id}/users", params={"limit": 100})
    assert r.status_code == 200, r.text
    return [u.get("email") for u in r.json()["items"]]


# --------------------------------------------------------------------------------------------
# Email delivery
# --------------------------------------------------------------------------------------------


def test_invitation_is_mailed_and_its_link_creates_the_account(mail_server, sink):
    mails, _ = sink
    admin = lk.api_key_client(mail_server, mail_server.bootstrap_key)
    admin_http = httpx.Client(
        base_url=mail_server.base_url, timeout=30, headers={"Authorization": f"Bearer {mail_server.bootstrap_key}"}
    )
    org = admin.organizations.create(name=lk.unique("Mail Org"))
    invitee = unique_email("invitee")

    inv = admin.organizations.invitations.create(org.id, email=invitee, role="org_admin")
    token = (inv.model_extra or {}).get("token") or getattr(inv, "token", None)
    assert token, "the create response keeps its one-time `token` extension with SMTP configured"

    msg = mails.wait_for(invitee)
    assert invitee in str(msg["To"])
    assert "latchkey@example.test" in str(msg["From"])
    assert org.name in str(msg["Subject"])
    text = msg.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    html_part = msg.get_body(preferencelist=("html",)).get_content()  # type: ignore[union-attr]
    for part in (text, html_part):
        assert org.name in part and "org_admin" in part, part
    link_match = LINK_RE.search(text)
    assert link_match, text
    link = link_match.group(0)
    assert link.startswith(mail_server.base_url + "/z/")
    assert link_match.group(2) == token, "the mailed link carries the invitation's token"
    assert link in html_part

    follow_and_accept(mail_server.base_url, link, invitee, org.name, "org_admin")
    assert invitee in platform_users(admin_http, link_match.group(1))

    log = mail_server.log_text()
    assert "invitation email sent" in log, mail_server.log_tail(40)
    assert token not in log, "the invitation token reached the server log"
    assert PASSWORD not in log
    admin_http.close()
    admin.close()


def test_the_page_refuses_unknown_tokens_and_other_zones(mail_server):
    admin = lk.api_key_client(mail_server, mail_server.bootstrap_key)
    org = admin.organizations.create(name=lk.unique("Mail Org"))
    other = admin.organizations.create(name=lk.unique("Other Org"))
    inv = admin.organizations.invitations.create(org.id, email=unique_email("zoned"), role="org_member")
    token = (inv.model_extra or {}).get("token") or getattr(inv, "token", None)
    with httpx.Client(base_url=mail_server.base_url, timeout=30) as browser:
        unknown = browser.get(f"/z/{org.zone_id}/invitation", params={"token": "lk_inv_" + "A" * 43})
        assert unknown.status_code == 404 and "not valid" in unknown.text, unknown.text[:500]
        assert browser.get(f"/z/{org.zone_id}/invitation").status_code == 404
        # an invitation opens only at its own organization's platform zone
        elsewhere = browser.get(f"/z/{other.zone_id}/invitation", params={"token": token})
        assert elsewhere.status_code == 404, elsewhere.text[:500]
        ok = browser.get(f"/z/{org.zone_id}/invitation", params={"token": token})
        assert ok.status_code == 200, ok.text[:500]
        admin.organizations.invitations.delete(inv.id, organization_id=org.id)
        revoked = browser.get(f"/z/{org.zone_id}/invitation", params={"token": token})
        assert revoked.status_code == 410 and "withdrawn" in revoked.text, revoked.text[:500]
    admin.close()


def test_without_smtp_the_create_response_carries_the_token(admin_http, new_org):
    r = admin_http.post(
        f"/organizations/{new_org.id}/invitations", json={"email": unique_email("nosmtp"), "role": "org_member"}
    )
    assert r.status_code == 201, r.text
    assert r.json().get("token", "").startswith("lk_inv_"), r.json()


def test_an_unreachable_mail_server_fails_quietly(latchkey_bin: Path, tmp_path_factory: pytest.TempPathFactory):
    """Delivery is off the request path: the invitation is made, the failure logged (by id),
    and neither the token nor the SMTP password reaches the log."""
    closed_port = lk.free_port()
    password = "smtp-" + lk.unique_token("pw")
    srv = lk.LatchkeyServer(
        binary=latchkey_bin,
        backend="sqlite",
        data_dir=tmp_path_factory.mktemp("mail-down") / "data",
        extra_args=[
            "--smtp-host", "127.0.0.1", "--smtp-port", str(closed_port), "--smtp-tls", "none",
            "--smtp-from", "latchkey@example.test", "--smtp-username", "latchkey",
        ],
        # (in the environment: the harness writes the command line into the log)
        extra_env={
            "LATCHKEY_SMTP_PASSWORD": password,
            "LATCHKEY_LOG": "debug,sqlx=info,hyper=info,hyper_util=info,h2=info",
        },
    )
    srv.start()
    try:
        with httpx.Client(base_url=srv.base_url, timeout=30, headers={"Authorization": f"Bearer {srv.bootstrap_key}"}) as h:
            org = h.post("/organizations", json={"name": lk.unique("Down Org")}).json()
            started = time.monotonic()
            r = h.post(f"/organizations/{org['id']}/invitations", json={"email": unique_email("down"), "role": "org_viewer"})
            assert r.status_code == 201, r.text
            assert time.monotonic() - started < 5
            token = r.json()["token"]
            inv_id = r.json()["id"]
        deadline = time.monotonic() + 20
        while "sending the invitation email failed" not in srv.log_text() and time.monotonic() < deadline:
            time.sleep(0.1)
        log = srv.log_text()
        failure = [line for line in log.splitlines() if "sending the invitation email failed" in line]
        assert failure and inv_id in failure[0], srv.log_tail(40)
        assert token not in log and password not in log
    finally:
        assert srv.stop(timeout=10) == 0


def test_serve_refuses_smtp_host_without_sender(latchkey_bin: Path, tmp_path: Path):
    out = subprocess.run(
        [str(latchkey_bin), "serve", "--listen", "127.0.0.1:0", "--data-dir", str(tmp_path / "d"),
         "--smtp-host", "127.0.0.1"],
        capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL,
    )
    assert out.returncode != 0
    assert "--smtp-from" in out.stderr, out.stderr


# --------------------------------------------------------------------------------------------
# `latchkey invite`: the first admin of a fresh install
# --------------------------------------------------------------------------------------------


def run_invite(binary: Path, data_dir: Path, database_url: Optional[str], public_url: str, *extra: str) -> str:
    cmd = [str(binary), "invite", "--data-dir", str(data_dir), "--public-url", public_url, *extra]
    if database_url:
        cmd += ["--database-url", database_url]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert out.returncode == 0, out.stderr
    return out.stdout


@pytest.fixture
def fresh_database(backend: str, pg_admin_url: str) -> Iterator[Optional[str]]:
    if backend == "sqlite":
        yield None
        return
    with lk.postgres_database(pg_admin_url) as url:
        yield url


def test_latchkey_invite_makes_the_first_admin_of_a_fresh_install(
    backend, latchkey_bin: Path, tmp_path: Path, fresh_database
):
    data_dir = tmp_path / "data"
    port = lk.free_port()
    public_url = f"http://127.0.0.1:{port}"
    admin_email = unique_email("first-admin")

    printed = run_invite(latchkey_bin, data_dir, fresh_database, public_url, "--email", admin_email.upper())
    link_match = LINK_RE.search(printed)
    assert link_match, printed
    assert "valid until" in printed and "org_admin" in printed and admin_email in printed, printed

    srv = lk.LatchkeyServer(
        binary=latchkey_bin, backend=backend, data_dir=data_dir, database_url=fresh_database, port=port
    )
    srv.start()
    try:
        follow_and_accept(srv.base_url, link_match.group(0), admin_email, "Default", "org_admin")
        # while the server runs, too, and with another role
        member = unique_email("member")
        printed = run_invite(
            latchkey_bin, data_dir, fresh_database, public_url, "--email", member, "--role", "org_member",
            "--organization", "default",
        )
        second = LINK_RE.search(printed)
        assert second and second.group(1) == link_match.group(1), printed
        follow_and_accept(srv.base_url, second.group(0), member, "Default", "org_member")
        with httpx.Client(base_url=srv.base_url, headers={"Authorization": f"Bearer {srv.bootstrap_key}"}) as h:
            assert {admin_email, member} <= set(platform_users(h, link_match.group(1)))
            invs = h.get("/organizations/default/invitations").json()["items"]
            assert {i["created_by"] for i in invs} == {"cli"}, invs
            # Creating the account through the link made them members with the invited roles.
            people = h.get("/organizations/default/users").json()["items"]
            assert {(p["email"], p["role"]) for p in people} == {(admin_email, "org_admin"), (member, "org_member")}
        assert link_match.group(2) not in srv.log_text()
    finally:
        code = srv.stop(timeout=10)
    assert code == 0


def test_latchkey_invite_refuses_an_unknown_organization(latchkey_bin: Path, tmp_path: Path):
    out = subprocess.run(
        [str(latchkey_bin), "invite", "--data-dir", str(tmp_path / "d"), "--email", "a@example.test",
         "--organization", "nope-nope"],
        capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL,
    )
    assert out.returncode != 0 and "nope-nope" in out.stderr, out.stderr
