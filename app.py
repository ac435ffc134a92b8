"""Authdesk: the application factory. ``create_app(config)`` builds the app from the environment
(DATABASE_URL, SECRET_KEY, …) overridden by ``config``; run it with ``flask run`` or gunicorn
(``gunicorn 'app:create_app()'``)."""
from __future__ import annotations

import logging
import os
import re
import uuid
from pathlib import Path

from flask import Flask, abort, g, request
from flask_login import current_user
from sqlalchemy import event
from sqlalchemy.engine import Engine
from werkzeug.routing import IntegerConverter

from extensions import csrf, db, limiter, login_manager, migrate

ROOT = Path(__file__).resolve().parent
log = logging.getLogger("authdesk")
_STATIC_ENDPOINTS = frozenset({"static", "admin.static"})
_REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{7,35}")


class ConfigError(RuntimeError):
    """The configuration cannot run safely (a missing SECRET_KEY outside debug, …)."""


def _flag(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def load_config(overrides: dict | None = None) -> dict:
    instance = Path(os.environ.get("AUTHDESK_INSTANCE", ROOT / "instance"))
    config = {
        "SECRET_KEY": os.environ.get("SECRET_KEY"),
        "SQLALCHEMY_DATABASE_URI": os.environ.get("DATABASE_URL")
        or f"sqlite:///{instance / 'authdesk.sqlite'}",
        "DEBUG": _flag("FLASK_DEBUG"),
        "TESTING": _flag("TESTING"),
        # Demo mode: the demo logins may exist and log in. Never on in production.
        "AUTHDESK_DEMO": _flag("AUTHDESK_DEMO"),
        "IDLE_TIMEOUT_MINUTES": int(os.environ.get("AUTHDESK_IDLE_TIMEOUT_MINUTES", "30")),
        # Where Flask-Limiter counts login attempts per address: memory:// is per process; with
        # several gunicorn workers use a shared store, e.g. redis://host:6379 (pip install redis).
        "RATELIMIT_STORAGE_URI": os.environ.get("RATELIMIT_STORAGE_URI", "memory://"),
        "LOGIN_RATE_LIMIT": os.environ.get("AUTHDESK_LOGIN_RATE_LIMIT", "20 per minute"),
        # Reverse proxies in front of the app (nginx: 1): their X-Forwarded-For/-Proto are
        # trusted, so the login limit counts the client's address, not the proxy's.
        "PROXY_HOPS": int(os.environ.get("AUTHDESK_PROXY_HOPS", "0")),
        "SMTP_HOST": os.environ.get("SMTP_HOST"),
        "SMTP_PORT": int(os.environ.get("SMTP_PORT", "25")),
        "MAIL_FROM": os.environ.get("MAIL_FROM", "authdesk@localhost"),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "WTF_CSRF_TIME_LIMIT": None,
        # Browsers keep the app's own CSS/JS/fonts for an hour instead of asking on every page.
        "SEND_FILE_MAX_AGE_DEFAULT": 3600,
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "INSTANCE_DIR": str(instance),
    }
    config.update(overrides or {})
    uri = config["SQLALCHEMY_DATABASE_URI"]
    if uri.startswith("postgresql://") or uri.startswith("postgres://"):
        # psycopg 3 is the driver; accept the usual libpq-style URL.
        config["SQLALCHEMY_DATABASE_URI"] = "postgresql+psycopg://" + uri.split("://", 1)[1]
    if uri.startswith("sqlite"):
        opts = dict(config["SQLALCHEMY_ENGINE_OPTIONS"])
        opts.setdefault("connect_args", {"timeout": 30})
        config["SQLALCHEMY_ENGINE_OPTIONS"] = opts
    relaxed = config["DEBUG"] or config["TESTING"]
    if not config["SECRET_KEY"]:
        if not relaxed:
            raise ConfigError("SECRET_KEY is not set: set it in the environment "
                              "(e.g. SECRET_KEY=$(python -c 'import secrets; "
                              "print(secrets.token_hex(32))')).")
        config["SECRET_KEY"] = "dev-only-" + uuid.uuid4().hex
    config.setdefault("SESSION_COOKIE_SECURE", not (relaxed or config["AUTHDESK_DEMO"]))
    config.setdefault("REMEMBER_COOKIE_SECURE", config["SESSION_COOKIE_SECURE"])
    return config


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, connection_record):
    """SQLite: enforce foreign keys, write-ahead log so readers never wait for a writer."""
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        cur = dbapi_connection.cursor()
        cur.execute("PRAGMA foreign_keys = ON")
        cur.execute("PRAGMA journal_mode = WAL")
        cur.execute("PRAGMA synchronous = NORMAL")
        cur.execute("PRAGMA busy_timeout = 30000")
        cur.close()


class RowIdConverter(IntegerConverter):
    """``<id:…>`` in the console's routes: plain ASCII digits (not "١٢"), at most the largest id
    a table holds. A larger number is no page (404) instead of a number the database cannot
    take (SQLite raises OverflowError, PostgreSQL a range error). The API keeps ``<int:…>``:
    its own handlers answer every error in JSON."""

    regex = r"[0-9]+"

    def __init__(self, map, fixed_digits=0, min=None, max=2**31 - 1, signed=False):
        super().__init__(map, fixed_digits, min, max, signed)


def create_app(config: dict | None = None) -> Flask:
    app = Flask(__name__, instance_path=load_config(config)["INSTANCE_DIR"],
                template_folder=str(ROOT / "templates"), static_folder=str(ROOT / "static"))
    app.config.update(load_config(config))
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///"):
        Path(app.config["SQLALCHEMY_DATABASE_URI"][len("sqlite:///"):]).parent.mkdir(
            parents=True, exist_ok=True)
    if app.config["PROXY_HOPS"]:
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = app.config["PROXY_HOPS"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
    app.url_map.converters["id"] = RowIdConverter  # before any route is added
    register_extensions(app)
    register_request_hooks(app)
    register_views(app)
    register_commands(app)
    return app


def register_extensions(app: Flask) -> None:
    import models  # noqa: F401  (registers every table for migrations)
    import rules.audit  # noqa: F401  (the audit hook on every session)

    db.init_app(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"), compare_type=True)
    csrf.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)
    login_manager.session_protection = "strong"
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please log in to continue."
    login_manager.login_message_category = "info"


def register_request_hooks(app: Flask) -> None:
    from rules import Actor
    from rules.audit import set_actor

    @app.before_request
    def _refuse_nul_characters():
        # No field takes a NUL character and PostgreSQL cannot store one: refuse it up front
        # rather than fail in the database.
        for values in (request.args, request.form):
            for key, value in values.items(multi=True):
                if "\x00" in key or "\x00" in value:
                    abort(400, description="The request contains an invalid character (NUL).")

    @app.before_request
    def _attach_actor():
        # A proxy's request id is kept when it looks like one (it lands in audit records).
        given = request.headers.get("X-Request-Id", "")
        g.request_id = given if _REQUEST_ID.fullmatch(given) else str(uuid.uuid4())
        # The API authenticates by bearer token only (api.auth): never by the console's cookie.
        # Static files are public: serving them needs no user (nor a database query).
        if request.endpoint in _STATIC_ENDPOINTS or request.blueprint == "api":
            return
        if current_user.is_authenticated:
            set_actor(db.session, Actor.for_user(current_user, g.request_id))

    @app.after_request
    def _security_headers(response):
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
            "script-src 'self' 'unsafe-inline'; frame-ancestors 'none'; form-action 'self'; "
            "base-uri 'self'")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if app.config.get("SESSION_COOKIE_SECURE"):  # served over HTTPS: browsers stay on it
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        response.headers["X-Request-Id"] = g.get("request_id", "")
        return response


def register_views(app: Flask) -> None:
    from admin_views import init_admin
    from admin_views.login import bp as auth_bp, load_user

    login_manager.user_loader(load_user)
    app.register_blueprint(auth_bp)
    init_admin(app)
    from api import init_api

    init_api(app)


def register_commands(app: Flask) -> None:
    from commands import register

    register(app)
