"""The daily e-mail digest, ``flask authorizations send-digest``, against a real SMTP server on
127.0.0.1 started by the test: who gets one, what it says, and that nothing is sent twice."""
import email
import email.policy
import socket

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller

from conftest import TODAY
from models import Division, Profile, User
from rules import Actor
from rules.alerts import acknowledge_alert, open_alerts_for
from rules.permissions import RECEIVE_ALERTS

MAIL_FROM = "Authdesk <authdesk@clinic.example>"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Inbox:
    """What the SMTP server received: (envelope recipients, parsed message)."""

    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append((list(envelope.rcpt_tos), message))
        return "250 Message accepted"

    def by_recipient(self) -> dict:
        return {rcpt[0]: m for rcpt, m in self.messages}


@pytest.fixture
def smtp(app):
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=controller.port, MAIL_FROM=MAIL_FROM)
    yield inbox
    controller.stop()


def text(message) -> str:
    return message.get_content().replace("\r\n", "\n")


def send(app):
    return app.test_cli_runner().invoke(args=["authorizations", "send-digest",
                                              "--today", TODAY.isoformat()])


@pytest.fixture
def practice(session, make, users):
    """Recipients with and without e-mail, one narrowed to North; a provider with e-mail; a
    low auth in North, an exhausted one in South (acknowledged by billing)."""
    north, south = Division(name="North Clinic"), Division(name="South Clinic")
    session.add_all([north, south])
    session.flush()
    session.add(Profile(name="North desk", permissions={RECEIVE_ALERTS},
                        alert_division_id=north.id))
    session.flush()
    make.user("north", "North desk", email="north@clinic.example", full_name="Nora North")
    emails = {"support": "support@clinic.example", "billing": " billing@clinic.example ",
              "provider": "provider@clinic.example", "admin": None}
    for username, address in emails.items():
        session.get(User, users[username]).email = address
    hanson = make.auth(make.client("Hanson", first_name="Mark", division_id=north.id), "90834",
                       allotted_units=20, remaining_units=3, unit_alert_level=4,
                       auth_number="BCBS-778120")
    brown = make.auth(make.client("Brown", first_name="Ella", division_id=south.id), "90837",
                      allotted_units=6, remaining_units=0)
    billing = session.get(User, users["billing"])
    alert = open_alerts_for(session, billing, today=TODAY, division_id=south.id).rows[0]
    acknowledge_alert(session, Actor.for_user(billing), alert.alert_id, today=TODAY)
    session.commit()
    return {"north": north, "hanson": hanson, "brown": brown}


def test_each_recipient_gets_the_new_alerts_once(app, session, make, users, smtp, practice):
    result = send(app)
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "E-mail digest: sent to 3 of 3 recipients (4 new alerts)."
    mail = smtp.by_recipient()
    # Recipients with an address; not the admin (no address), not the provider (no alerts).
    assert set(mail) == {"support@clinic.example", "billing@clinic.example",
                         "north@clinic.example"}
    north = mail["north@clinic.example"]
    assert north["From"] == MAIL_FROM
    assert north["To"] == "Nora North <north@clinic.example>"
    assert north["Subject"] == "Authdesk: 1 new authorization alert (2026-06-15)"
    assert north.get_content_type() == "text/plain"
    assert north["Content-Transfer-Encoding"] == "7bit"  # readable as it is
    assert text(north) == (
        "Hello Nora North,\n"
        "\n"
        "1 new authorization alert since your last digest, still open on 2026-06-15:\n"
        "\n"
        "Alert         Client                  Code   Auth #        Remaining Days left\n"
        "------------- ----------------------- ------ ------------- --------- ---------\n"
        "Low units     Hanson, Mark            90834  BCBS-778120   3         60\n"
        "\n"
        "Open Authdesk, menu Alerts, to see every open alert\n"
        "and to acknowledge the ones you have dealt with.\n")
    support = text(mail["support@clinic.example"])
    assert mail["support@clinic.example"]["Subject"] == \
        "Authdesk: 2 new authorization alerts (2026-06-15)"
    lines = [line.split() for line in support.splitlines()]
    assert ["No", "units", "left", "Brown,", "Ella", "90837", practice["brown"].auth_number,
            "0", "60"] in lines
    assert ["Low", "units", "Hanson,", "Mark", "90834", "BCBS-778120", "3", "60"] in lines
    # Billing acknowledged Brown's alert already: not news to them.
    billing = text(mail["billing@clinic.example"])
    assert "Hanson, Mark" in billing and "Brown, Ella" not in billing

    # Nothing new: nothing sent.
    again = send(app)
    assert again.exit_code == 0
    assert again.output.strip() == "E-mail digest: no new alerts for anyone; nothing was sent."
    assert len(smtp.messages) == 3

    # A new alert goes out once, to those it concerns.
    session.rollback()
    make.auth(make.client("Garcia", first_name="James", division_id=practice["north"].id),
              "90832", allotted_units=8, remaining_units=0)
    session.commit()
    third = send(app)
    assert third.output.strip() == "E-mail digest: sent to 3 of 3 recipients (3 new alerts)."
    new = smtp.messages[3:]
    assert sorted(r[0] for r, _ in new) == ["billing@clinic.example", "north@clinic.example",
                                           "support@clinic.example"]
    for _, message in new:
        body = text(message)
        assert "Garcia, James" in body and "Hanson" not in body and "Brown" not in body


def test_without_smtp_the_digest_says_so_and_sends_nothing(app, session, practice):
    app.config.update(SMTP_HOST=None)
    result = send(app)
    assert result.exit_code == 0
    assert result.output.strip() == (
        "E-mail digest: no SMTP server is configured (set SMTP_HOST, and SMTP_PORT and "
        "MAIL_FROM if needed); nothing was sent.")
    session.rollback()
    assert session.scalar(sa.select(sa.func.count()).select_from(User)
                          .where(User.last_digest_at.is_not(None))) == 0


def test_an_unreachable_smtp_server_fails_and_marks_nobody(app, session, practice):
    port = free_port()  # nothing listens there
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=port)
    result = send(app)
    assert result.exit_code == 1
    assert f"Error: could not send the e-mail digest through 127.0.0.1:{port}" in result.output
    session.rollback()
    assert session.scalar(sa.select(sa.func.count()).select_from(User)
                          .where(User.last_digest_at.is_not(None))) == 0
