"""Test fixtures: an app on a fresh database per test, a logged-in test client per profile, and
factories that build data through rules/.

The database is chosen by AUTHDESK_TEST_DB: ``sqlite`` (default) or ``postgresql`` (the server
at AUTHDESK_TEST_PG, default postgresql://postgres@127.0.0.1:5432/test). The schema comes from
the migrations, built once per run: SQLite copies a migrated template file per test; PostgreSQL
creates one scratch database per test process and empties it between tests. An unreachable
PostgreSQL is an error, never a skip."""
from __future__ import annotations

import contextvars
import datetime as dt
import os
import re
import shutil
import uuid
from contextlib import contextmanager
from pathlib import Path

import jinja2
import pytest
import sqlalchemy as sa

from app import create_app
from extensions import db
from models import Client, ClientPayer, InsuranceCompany, Profile, Provider, User
from rules import Actor
from rules.audit import acting_as
from rules.authorizations import create_authorization
from rules.permissions import DEFAULT_PROFILES
from seeds import seed_reference

BACKEND = os.environ.get("AUTHDESK_TEST_DB", "sqlite")
PG_ADMIN_URL = os.environ.get("AUTHDESK_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
TODAY = dt.date(2026, 6, 15)
PASSWORD = "correct-horse-battery"
ROLE_USERS = {"admin": "Administrator", "support": "Support Staff", "billing": "Billing",
              "provider": "Provider"}


def _pg(url: str) -> str:
    return "postgresql+psycopg://" + url.split("://", 1)[1]


def _migrate_and_seed(url: str) -> None:
    """Build the schema from the migrations and add the reference data (auth groups, billing
    codes, default profiles): the state every test starts from."""
    from flask_migrate import upgrade

    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "t"})
    with app.app_context():
        upgrade(directory=str(Path(__file__).resolve().parent.parent / "migrations"))
        with acting_as(db.session, Actor.system()):
            seed_reference(db.session)
            db.session.commit()
        db.engine.dispose()


@pytest.fixture(scope="session")
def database_template(tmp_path_factory):
    """What each test's database starts from: a migrated, seeded SQLite file, or a migrated
    scratch PostgreSQL database (dropped at the end) with a snapshot of its seeded rows."""
    if BACKEND == "sqlite":
        path = tmp_path_factory.mktemp("template") / "template.sqlite"
        _migrate_and_seed(f"sqlite:///{path}")
        yield {"backend": "sqlite", "path": path}
        return
    if BACKEND != "postgresql":
        raise RuntimeError(f"AUTHDESK_TEST_DB must be sqlite or postgresql, not {BACKEND!r}")
    admin = sa.create_engine(_pg(PG_ADMIN_URL), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except sa.exc.OperationalError as exc:
        raise RuntimeError(f"PostgreSQL is not reachable at {PG_ADMIN_URL}: {exc}") from exc
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    name = f"authdesk_t_{worker}_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = _pg(PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name)
    engine = None
    try:
        _migrate_and_seed(url)
        engine = sa.create_engine(url, poolclass=sa.pool.StaticPool)
        yield {"backend": "postgresql", "url": url, "reset": _pg_reset_script(engine),
               "engine": engine}
    finally:
        if engine is not None:
            engine.dispose()
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _pg_reset_script(engine):
    """How to bring the scratch database back to its seeded state between tests: delete every
    row (triggers and foreign-key checks off for this one session), put the seeded rows back,
    and restart the id sequences. Much faster than TRUNCATE of every table."""
    tables = [t for t in db.metadata.sorted_tables]
    with engine.connect() as conn:
        seeded = {t.name: [dict(r._mapping) for r in conn.execute(sa.select(t))] for t in tables}
        sequences = [(t.name, conn.execute(sa.text(
            f"SELECT pg_get_serial_sequence('{t.name}', 'id')")).scalar())
            for t in tables if "id" in t.c and isinstance(t.c.id.type, sa.Integer)]

    def reset(conn):
        conn.execute(sa.text("SET session_replication_role = replica"))
        for table in reversed(tables):
            conn.execute(table.delete())
        for table in tables:
            if seeded[table.name]:
                conn.execute(table.insert(), seeded[table.name])
        for table_name, sequence in sequences:
            if sequence:
                conn.execute(sa.text(
                    f"SELECT setval('{sequence}', COALESCE((SELECT max(id) FROM \"{table_name}\"),"
                    " 0) + 1, false)"))
        conn.execute(sa.text("SET session_replication_role = DEFAULT"))

    return reset


@pytest.fixture
def database_url(database_template, tmp_path):
    """A database for this test alone, migrated and holding the reference data only."""
    if database_template["backend"] == "sqlite":
        path = tmp_path / "authdesk.sqlite"
        shutil.copyfile(database_template["path"], path)
        return f"sqlite:///{path}"
    with database_template["engine"].begin() as conn:
        database_template["reset"](conn)
    return database_template["url"]


@pytest.fixture
def app_config(database_url, tmp_path):
    """Override to change the app's configuration for a module's tests."""
    return {"TESTING": True, "SECRET_KEY": "test-secret", "SQLALCHEMY_DATABASE_URI": database_url,
            "AUTHDESK_INSTANCE": str(tmp_path), "RATELIMIT_ENABLED": False}


class _SharedTemplateCache(jinja2.BytecodeCache):
    """Compiled templates shared by every app a test run creates (one per test): compiling
    Flask-Admin's templates again for each test would cost more than most tests."""

    def __init__(self):
        self.store: dict[str, bytes] = {}

    def load_bytecode(self, bucket):
        if bucket.key in self.store:
            bucket.bytecode_from_string(self.store[bucket.key])

    def dump_bytecode(self, bucket):
        self.store[bucket.key] = bucket.bytecode_to_string()


_TEMPLATES = _SharedTemplateCache()


@pytest.fixture
def app(app_config):
    app = create_app(app_config)
    app.jinja_env.bytecode_cache = _TEMPLATES
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def session(app):
    """The app's session inside an app context, acting as the system."""
    with app.app_context():
        with acting_as(db.session, Actor.system()):
            yield db.session
        db.session.rollback()


@pytest.fixture(scope="session")
def password_hash():
    """The test logins' password hash: pbkdf2 with few rounds, so that the hundreds of logins of
    a run stay cheap (the password is still checked). Production hashes are scrypt
    (rules.users.hash_password, tested in tests/test_security_passwords.py)."""
    from werkzeug.security import generate_password_hash

    return generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")


def actor_for(session, profile_name: str = "Administrator", provider_id: int | None = None,
              name: str | None = None) -> Actor:
    profile = session.scalar(sa.select(Profile).where(Profile.name == profile_name))
    return Actor(user_id=None, name=name or f"Test {profile_name}",
                 permissions=profile.permissions, provider_id=provider_id)


class Factory:
    """Builds test data through the rules, with short defaults."""

    def __init__(self, session, password_hash):
        self.session = session
        self.password_hash = password_hash
        self.system = Actor.system()
        self._n = 0

    def _next(self) -> int:
        self._n += 1
        return self._n

    def code(self, code: str):
        from models import BillingCode

        return self.session.scalar(sa.select(BillingCode).where(BillingCode.code == code))

    def payer(self, name: str | None = None) -> InsuranceCompany:
        payer = InsuranceCompany(name=name or f"Payer {self._next()}")
        self.session.add(payer)
        self.session.flush()
        return payer

    def provider(self, last_name: str | None = None, **kw) -> Provider:
        provider = Provider(first_name=kw.pop("first_name", "Pat"),
                            last_name=last_name or f"Provider{self._next()}", **kw)
        self.session.add(provider)
        self.session.flush()
        return provider

    def client(self, last_name: str | None = None, *, payers=(), **kw) -> Client:
        client = Client(first_name=kw.pop("first_name", "Alex"),
                        last_name=last_name or f"Client{self._next()}",
                        dob=kw.pop("dob", dt.date(1990, 1, 1)), **kw)
        client.payers = [ClientPayer(insurance_company_id=p.id, is_primary=(i == 0))
                         for i, p in enumerate(payers)]
        self.session.add(client)
        self.session.flush()
        return client

    def auth(self, client, code: str = "90834", *, today: dt.date = TODAY, actor=None, **fields):
        values = {"billing_code_id": self.code(code).id,
                  "start_date": today - dt.timedelta(days=30),
                  "end_date": today + dt.timedelta(days=60), "allotted_units": 10}
        values.update(fields)
        return create_authorization(self.session, actor or self.system, client.id, values,
                                    today=today)

    def user(self, username: str, profile_name: str, *, provider=None, **kw) -> User:
        profile = self.session.scalar(sa.select(Profile).where(Profile.name == profile_name))
        user = User(username=username, full_name=kw.pop("full_name", username.title()),
                    password_hash=self.password_hash, profile=profile,
                    provider_id=provider.id if provider else None, **kw)
        self.session.add(user)
        self.session.flush()
        return user

    def actor(self, profile_name: str = "Administrator", provider=None) -> Actor:
        return actor_for(self.session, profile_name, provider.id if provider else None)


@pytest.fixture
def make(session, password_hash) -> Factory:
    return Factory(session, password_hash)


CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


class WebClient:
    """A Flask test client that logs in like a person and sends the CSRF token with its posts."""

    def __init__(self, app):
        self.app = app
        self.http = app.test_client()
        self.token: str | None = None
        self.last_response = None  # the answer to the latest request, e.g. after post_hostile

    @classmethod
    def logged_in(cls, app, username: str) -> "WebClient":
        client = cls(app)
        assert client.login(username).status_code == 302
        return client

    def _request(self, method, url, **kw):
        # Each request gets its own app context, as in production, even while the test holds
        # one (the `session` fixture): otherwise Flask reuses the test's context and `g` —
        # Flask-Login's user, the CSRF token, the actor — carries over between requests.
        def run():
            response = getattr(self.http, method)(url, **kw)
            response.get_data()  # a streamed body (CSV export) is produced in that context too
            return response

        self.last_response = contextvars.Context().run(run)
        return self.last_response

    def get(self, url, **kw):
        response = self._request("get", url, **kw)
        match = CSRF_RE.search(response.get_data(as_text=True)) if response.mimetype == \
            "text/html" else None
        if match:
            self.token = match.group(1)
        return response

    def csrf(self) -> str:
        if self.token is None:
            self.get("/login")
        if self.token is None:  # logged in: /login redirects; the console's logout form has one
            self.get("/console/")
        return self.token

    def post(self, url, data=None, *, csrf: bool = True, **kw):
        data = dict(data or {})
        if csrf:
            data.setdefault("csrf_token", self.csrf())
        response = self._request("post", url, data=data, **kw)
        match = CSRF_RE.search(response.get_data(as_text=True)) if response.mimetype == \
            "text/html" else None
        if match:
            self.token = match.group(1)
        return response

    def login(self, username: str, password: str = PASSWORD):
        self.token = None
        response = self.post("/login", {"username": username, "password": password})
        self.token = None
        return response

    def logout(self):
        return self.post("/logout")


@pytest.fixture
def web(app, users):
    """``web("support")`` → a client logged in with that demo role's profile."""
    clients = {}

    def login_as(role: str | None = None) -> WebClient:
        client = WebClient(app)
        if role is not None:
            response = client.login(role)
            assert response.status_code == 302, f"login as {role} failed"
        clients[role] = client
        return client

    return login_as


@pytest.fixture
def users(app, password_hash):
    """One user per default profile (username = role key); the provider user is a provider."""
    with app.app_context(), acting_as(db.session, Actor.system()):
        factory = Factory(db.session, password_hash)
        made = {}
        provider = factory.provider("Reyes", first_name="Dana")
        for username, profile_name in ROLE_USERS.items():
            made[username] = factory.user(
                username, profile_name, provider=provider if username == "provider" else None)
        db.session.commit()
        ids = {k: u.id for k, u in made.items()}
        ids["provider_id"] = provider.id
    return ids


@contextmanager
def as_actor(session, actor: Actor):
    with acting_as(session, actor):
        yield actor


def snapshot_tables(session, *tables) -> dict:
    """Every row of the given tables, to assert that a refused operation changed nothing."""
    out = {}
    for table in tables:
        name = table if isinstance(table, str) else table.__tablename__
        rows = session.execute(sa.text(f"SELECT * FROM {name} ORDER BY 1")).all()
        out[name] = [tuple(r) for r in rows]
    return out


def profiles_with(permission: str) -> list[str]:
    return [name for name, (_, perms) in DEFAULT_PROFILES.items() if permission in perms]
