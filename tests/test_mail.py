"""Mailing the digest through a real local SMTP server (aiosmtpd on 127.0.0.1), read back."""

from __future__ import annotations

import email
from email import policy
from pathlib import Path

import pytest

pytest.importorskip("aiosmtpd", reason="aiosmtpd is in the `test` extra: pip install -e '.[test]'")
from aiosmtpd.controller import Controller  # noqa: E402
from aiosmtpd.smtp import AuthResult, LoginPassword  # noqa: E402

from test_digest import add_item  # noqa: E402
from util import run_cli, write_config  # noqa: E402
from watcher import store  # noqa: E402
from watcher.config import SmtpSettings  # noqa: E402
from watcher.mail import MailError, send_digest  # noqa: E402


class Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[list[str], email.message.EmailMessage]] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's hook name)
        msg = email.message_from_bytes(envelope.original_content, policy=policy.default)
        self.messages.append((list(envelope.rcpt_tos), msg))
        return "250 OK"


def _auth(server, session, envelope, mechanism, data):
    ok = isinstance(data, LoginPassword) and data.login == b"digest" and data.password == b"s3cret"
    return AuthResult(success=ok, handled=False)


@pytest.fixture
def smtp_server():
    import socket

    inbox = Inbox()
    # Controller.start() connects to its own port to check it is up, so it needs a real port number.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    # auth_require_tls=False: the test server has no certificate; real servers use starttls: true.
    c = Controller(inbox, hostname="127.0.0.1", port=port, authenticator=_auth, auth_require_tls=False)
    c.start()
    try:
        yield inbox, port
    finally:
        c.stop()


def test_digest_is_mailed_as_html_with_a_plain_text_part(smtp_server, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    inbox, port = smtp_server
    cfg = write_config(tmp_path, [{"name": "wire", "url": "http://127.0.0.1:9/f.xml"}],
                       extra=f"smtp: {{host: 127.0.0.1, port: {port}, user: digest, sender: watcher@test.local,"
                             f" to: [analyst@test.local], password_env: TEST_DIGEST_PW}}\n"
                             f"digest: {{timezone: Asia/Ho_Chi_Minh}}")
    db = store.connect(tmp_path / "state" / "watcher.db")
    add_item(db, id=1, title="Huawei Ascend 910C shipments", fetched="2026-03-01T03:00:00")
    add_item(db, id=2, title="حظر رقائق إنفيديا", language="ar", fetched="2026-03-01T03:00:00")
    monkeypatch.delenv("TEST_DIGEST_PW", raising=False)
    p = run_cli(cfg, "digest", "--date", "2026-03-01", "--send", check=False)
    assert p.returncode == 1 and "$TEST_DIGEST_PW is not set" in p.stderr
    assert inbox.messages == []
    monkeypatch.setenv("TEST_DIGEST_PW", "s3cret")  # the password only ever comes from the environment
    out = run_cli(cfg, "digest", "--date", "2026-03-01", "--send").stdout
    assert "mailed to analyst@test.local" in out
    [(rcpt, msg)] = inbox.messages
    assert rcpt == ["analyst@test.local"]
    assert msg["Subject"] == "watcher daily digest 2026-03-01: 2 new items"
    assert msg.get_content_type() == "multipart/alternative"
    text = msg.get_body(preferencelist=("plain",)).get_content()
    html = msg.get_body(preferencelist=("html",)).get_content()
    assert "Huawei Ascend 910C shipments" in text and "<h3" not in text
    assert "حظر رقائق إنفيديا" in html and 'dir="rtl"' in html
    sent_at = db.execute("SELECT sent_at FROM digests WHERE date = '2026-03-01'").fetchone()[0]
    assert sent_at is not None


def test_wrong_password_is_a_clear_error(smtp_server) -> None:
    _, port = smtp_server
    smtp = SmtpSettings(host="127.0.0.1", port=port, user="digest", to=["a@test.local"], password_env="PW")
    with pytest.raises(MailError, match=r"refused the login for 'digest'.*\$PW"):
        send_digest(smtp, subject="s", text="t", html="<p>h</p>", environ={"PW": "wrong"})


def test_unreachable_server_names_host_and_port() -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    smtp = SmtpSettings(host="127.0.0.1", port=port, to=["a@test.local"])
    with pytest.raises(MailError, match=f"cannot reach SMTP server 127.0.0.1:{port}"):
        send_digest(smtp, subject="s", text="t", html="h", environ={})


def test_no_recipients_is_a_clear_error() -> None:
    with pytest.raises(MailError, match="smtp.to is empty"):
        send_digest(SmtpSettings(), subject="s", text="t", html="h", environ={})
