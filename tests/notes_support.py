"""Helpers shared by the tests of the Notes screens (tests/test_notes_*.py)."""
from __future__ import annotations

import datetime as dt
import re

import pytest
import sqlalchemy as sa

from conftest import WebClient
from models import AuthGroup, Authorization, Note
from rules.clock import clinic_today

NOTES = "/console/notes"


def today() -> dt.date:
    """The web screens act on the clinic's real today, so their data is dated around it."""
    return clinic_today()


def day(offset: int = 0) -> str:
    return (today() + dt.timedelta(days=offset)).isoformat()


@pytest.fixture
def web(app, users, session):
    """``web("provider")`` → a client logged in as that role that has opened the console (its
    posts carry a CSRF token). Commit test data before using it."""

    def login_as(role: str | None = None, password: str | None = None) -> WebClient:
        client = WebClient(app)
        if role is not None:
            session.commit()
            response = client.login(role, *([password] if password else []))
            assert response.status_code == 302, f"login as {role} failed"
            assert client.get("/console/").status_code == 200
        return client

    return login_as


def text(response) -> str:
    return response.get_data(as_text=True)


def flashes(response) -> str:
    """The alert texts of a page, whitespace collapsed."""
    return " ".join(" ".join(m.split()) for m in
                    re.findall(r'<div class="alert[^"]*"[^>]*>(.*?)</div>', text(response), re.S))


def note_id_from(response) -> int:
    assert response.status_code == 302, (response.status_code, flashes(response))
    match = re.search(r"/console/notes/details/\?id=(\d+)", response.headers["Location"])
    assert match, response.headers["Location"]
    return int(match.group(1))


def new_note(client, *, client_id, provider_id, auth_id, units=1, service_date=None, **extra):
    data = {"client_id": client_id, "provider_id": provider_id, "authorization_id": auth_id,
            "units": units, "service_date": service_date or day(-1)}
    data.update(extra)
    return client.post(f"{NOTES}/new/", data)


def release(client, note_id):
    return client.post(f"{NOTES}/release/", {"id": note_id})


def units_of(session, auth) -> tuple[int, int, int]:
    """(allotted, remaining, pending) as the database has them now."""
    session.expire_all()
    row = session.get(Authorization, auth.id if hasattr(auth, "id") else auth)
    return row.allotted_units, row.remaining_units, row.pending_units


def status_of(session, note_id) -> str | None:
    session.expire_all()
    note = session.get(Note, note_id)
    return note.status if note else None


def auth_group(session, name="Auth Group 1") -> AuthGroup:
    return session.scalar(sa.select(AuthGroup).where(AuthGroup.name == name))
