"""Sending mail through the configured SMTP server (SMTP_HOST, SMTP_PORT, MAIL_FROM): plain
text, one connection for a whole run. What to send is decided in rules/ (rules.digest)."""
from __future__ import annotations

import smtplib
from collections.abc import Callable, Iterable
from email.message import EmailMessage
from email.utils import formataddr, make_msgid

TIMEOUT_SECONDS = 30


def message(mail_from: str, to_name: str, to_address: str, subject: str, body: str
            ) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = mail_from
    msg["To"] = formataddr((to_name, to_address))
    msg["Subject"] = subject
    msg["Message-ID"] = make_msgid(domain=mail_from.rpartition("@")[2] or None)
    msg.set_content(body)
    return msg


def send_digests(host: str, port: int, mail_from: str, digests: Iterable,
                 on_sent: Callable, on_refused: Callable | None = None) -> None:
    """Send each digest; ``on_sent(digest)`` right after the server accepted it, so that a
    failure later in the run does not make anyone get the same alerts twice. A server that
    refuses one address calls ``on_refused(digest, error)`` and the run goes on; any other
    SMTP or network error is raised."""
    with smtplib.SMTP(host, port, timeout=TIMEOUT_SECONDS) as smtp:
        for digest in digests:
            msg = message(mail_from, digest.full_name, digest.email, digest.subject, digest.body)
            try:
                smtp.send_message(msg)
            except smtplib.SMTPRecipientsRefused as exc:
                if on_refused is None:
                    raise
                on_refused(digest, exc)
                continue
            on_sent(digest)
