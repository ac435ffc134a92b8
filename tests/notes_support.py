"""Helpers shared by the tests of the Notes screens (tests/test_notes_*.py)."""
from __future__ import annotations

import contextvars
import datetime as dt
import re

import jinja2
import pytest
import sqlalchemy as sa

from conftest import PASSWORD, WebClient
from models import AuthGroup, Authorization, Note
from rules.clock import clinic_today

NOTES = "/console/notes"


def today() -> dt.date:
    """The web screens act on the clinic's real today, so their data is dated around it."""
    return clinic_today()


def day(offset: int = 0) -> str:
    return (today() + dt.timedelta(days=offset)).isoformat()


class IsolatedWebClient(WebClient):
    """Each request runs in an empty context, as on a real server: its own app context, ``g``
    and database session. (The ``session`` fixture keeps an app context pushed for the whole
    test; a plain test-client request would reuse it — its ``g`` with the cached CSRF token and
    acting user, and the test's own database session.)"""

    @staticmethod
    def _isolated(call, *args, **kw):
        def run():
            response = call(*args, **kw)
            response.get_data()       # a streamed body (CSV export) is read in its context
            return response
        return contextvars.Context().run(run)

    def get(self, url, **kw):
        return self._isolated(WebClient.get, self, url, **kw)

    def post(self, url, data=None, **kw):
        return self._isolated(WebClient.post, self, url, data, **kw)


class _MemoryBytecodeCache(jinja2.BytecodeCache):
    """Compiled templates shared by the apps of this test process (each test builds an app,
    and compiling Flask-Admin's templates again costs ~0.2 s a test)."""

    def __init__(self):
        self.store: dict[str, bytes] = {}

    def load_bytecode(self, bucket):
        if bucket.key in self.store:
            bucket.bytecode_from_string(self.store[bucket.key])

    def dump_bytecode(self, bucket):
        self.store[bucket.key] = bucket.bytecode_to_string()


_TEMPLATES = _MemoryBytecodeCache()


@pytest.fixture
def app(app):
    app.jinja_env.bytecode_cache = _TEMPLATES
    return app


@pytest.fixture(scope="session")
def password_hash():
    """The test logins' hash, cheap: these modules log in a few hundred times, and scrypt
    costs ~0.2 s a login on a loaded machine. Logging in still verifies the password."""
    from werkzeug.security import generate_password_hash

    return generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")


@pytest.fixture
def web(app, users, session):
    """``web("provider")`` → a client logged in as that role that has opened the console (its
    posts carry a CSRF token). Commit test data before using it."""

    def login_as(role: str | None = None, password: str | None = None) -> IsolatedWebClient:
        client = IsolatedWebClient(app)
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
