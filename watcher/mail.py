"""Mail the digest: one message, HTML with a plain-text (Markdown) alternative, over SMTP.

The password comes from the environment variable named by `smtp.password_env`, never from the config
file, so sources.yaml can be committed and shared. Failures become a `MailError` that names the
server and says what to check; the digest files are already written by then, so nothing is lost.
"""

from __future__ import annotations

import os
import smtplib
import socket
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Mapping

from .config import SmtpSettings
from .errors import WatcherError

TIMEOUT_S = 30.0


class MailError(WatcherError):
    """The digest was built but could not be mailed."""


def build_message(smtp: SmtpSettings, *, subject: str, text: str, html: str) -> EmailMessage:
    msg = EmailMessage()
    # Subjects come partly from config, never from feed text; still, no header may carry a newline.
    msg["Subject"] = " ".join(subject.split())
    msg["From"] = smtp.sender
    msg["To"] = ", ".join(smtp.to)
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = make_msgid(domain=smtp.sender.rpartition("@")[2] or "localhost")
    msg.set_content(text, subtype="plain", charset="utf-8")
    msg.add_alternative(html, subtype="html", charset="utf-8")
    return msg


def send_digest(smtp: SmtpSettings, *, subject: str, text: str, html: str,
                environ: Mapping[str, str] | None = None) -> list[str]:
    """Send the digest to smtp.to. Returns the recipients. Raises MailError with what to do."""
    env = os.environ if environ is None else environ
    where = f"SMTP server {smtp.host}:{smtp.port}"
    if not smtp.to:
        raise MailError("smtp.to is empty in the config; list the addresses that get the digest, "
                        "like `to: [analysts@example.org]`")
    password = None
    if smtp.user:
        password = env.get(smtp.password_env)
        if not password:
            raise MailError(f"smtp.user is {smtp.user!r} but ${smtp.password_env} is not set; "
                            f"export the password in that variable (it is never read from the config file)")
    msg = build_message(smtp, subject=subject, text=text, html=html)
    try:
        with smtplib.SMTP(smtp.host, smtp.port, timeout=TIMEOUT_S) as conn:
            if smtp.starttls:
                conn.starttls(context=ssl.create_default_context())
            if smtp.user:
                conn.login(smtp.user, password or "")
            refused = conn.send_message(msg)
    except smtplib.SMTPAuthenticationError as e:
        raise MailError(f"{where} refused the login for {smtp.user!r} ({e.smtp_code}); "
                        f"check smtp.user and ${smtp.password_env}") from e
    except smtplib.SMTPNotSupportedError as e:
        raise MailError(f"{where} does not offer what the config asks ({e}); "
                        f"check smtp.starttls and smtp.user") from e
    except (smtplib.SMTPException, ssl.SSLError) as e:
        raise MailError(f"{where} did not take the digest: {e}; the files in state/digests/ are written, "
                        f"`watcher digest --date D --send` retries") from e
    except (OSError, socket.timeout) as e:
        raise MailError(f"cannot reach {where}: {e}; check smtp.host and smtp.port") from e
    return [a for a in smtp.to if a not in refused]
