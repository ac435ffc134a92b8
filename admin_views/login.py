"""Logging in and out. The login cookie carries the user's session token, so a new token (a
password change, a disabled user, a logout) ends every other session of that user.

Hardening: failed logins are limited per address (Flask-Limiter, ``LOGIN_RATE_LIMIT``, counted
in ``RATELIMIT_STORAGE_URI``) and per account (rules.users locks it after MAX_FAILED_LOGINS in a
row); an unknown username costs the same password-hash check as a known one; every success and
failure is logged on the ``authdesk.login`` logger; the session is renewed at login and ends
after ``IDLE_TIMEOUT_MINUTES`` without a request; ``next`` leads only to a path on this site.
Demo logins work only in demo mode, and a production app with demo logins refuses to serve."""
from __future__ import annotations

import logging
from urllib.parse import urlsplit

from flask import (Blueprint, current_app, flash, make_response, redirect, render_template,
                   request, session, url_for)
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from extensions import db, limiter
from models import User, utcnow
from rules.users import (LOCKOUT, demo_usernames, is_locked, record_failed_login, record_login,
                         verify_password)

bp = Blueprint("auth", __name__)
log = logging.getLogger("authdesk.login")
security_log = logging.getLogger("authdesk.security")

DEFAULT_LOGIN_RATE_LIMIT = "20 per minute"
MAX_ID = 2**31 - 1
RATE_LIMITED = "Too many failed logins from this address; wait a minute and try again."
LOCKED = (f"Too many failed attempts: this account is locked for "
          f"{int(LOCKOUT.total_seconds() // 60)} minutes.")


def load_user(user_id: str):
    """Flask-Login: ``id:session_token``; a stale token or a disabled user is logged out."""
    try:
        raw_id, token = user_id.split(":", 1)
        number = int(raw_id)
    except (ValueError, TypeError):
        return None
    if not 0 < number <= MAX_ID:  # beyond what the database holds: no such user
        return None
    user = db.session.get(User, number)
    if user is None or not user.active or user.session_token != token:
        return None
    if user.is_demo and not current_app.config["AUTHDESK_DEMO"]:
        return None
    last_seen = session.get("last_seen")
    now = utcnow().timestamp()
    idle = current_app.config["IDLE_TIMEOUT_MINUTES"] * 60
    if isinstance(last_seen, (int, float)) and now - last_seen > idle:
        session.clear()
        return None
    session["last_seen"] = now
    return user


def safe_next(target: str | None) -> str | None:
    """Only a path on this site: no scheme, no host, no protocol-relative //, no backslash, no
    whitespace or control character (browsers drop tabs and newlines, so "/\\t/evil.com" would
    become "//evil.com")."""
    if not target or not isinstance(target, str):
        return None
    if any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F or ch == "\\" for ch in target):
        return None
    if not target.startswith("/") or target.startswith("//"):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target


class LoginForm(FlaskForm):
    username = StringField("Username", validators=[DataRequired(), Length(max=80)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=256)])


def _login_limit() -> str:
    return current_app.config.get("LOGIN_RATE_LIMIT") or DEFAULT_LOGIN_RATE_LIMIT


def _login_failed(response) -> bool:
    """Only refused attempts count against the address (a clinic shares one address)."""
    return response.status_code != 302


def _rate_limited(limit):
    """The address made too many failed attempts: the login page, with why, and a log line."""
    log.warning("login refused (rate limit %s) ip=%s", limit.limit, request.remote_addr)
    flash(RATE_LIMITED, "error")
    response = make_response(render_template("auth/login.html", form=LoginForm()), 429)
    response.headers["Retry-After"] = "60"
    return response


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"], deduct_when=_login_failed,
               on_breach=_rate_limited, error_message=RATE_LIMITED)
def login():
    if current_user.is_authenticated:
        return redirect(url_for("admin.index"))
    form = LoginForm()
    if not form.validate_on_submit():
        if request.method == "POST":
            log.warning("login failed (incomplete form) ip=%s", request.remote_addr)
            flash("Enter your username and password.", "error")
            return render_template("auth/login.html", form=form), 400
        return render_template("auth/login.html", form=form)
    username = form.username.data.strip()
    user = db.session.scalar(select(User).where(func.lower(User.username) == username.lower()))
    now = utcnow()
    if user is not None and is_locked(user, now):
        verify_password(None, form.password.data)  # as long as any other refusal
        log.warning("login refused (locked) username=%r ip=%s", username, request.remote_addr)
        flash(LOCKED, "error")
        return render_template("auth/login.html", form=form), 429
    password_ok = verify_password(user, form.password.data)
    demo_refused = user is not None and user.is_demo and not current_app.config["AUTHDESK_DEMO"]
    if password_ok and user.active and not demo_refused:
        record_login(db.session, user, now)
        db.session.commit()
        session.clear()  # a fresh session at login (no fixation)
        login_user(user)
        session["last_seen"] = now.timestamp()
        log.info("login ok username=%r ip=%s", user.username, request.remote_addr)
        return redirect(safe_next(request.args.get("next")) or url_for("admin.index"))
    locked_now = False
    if user is not None:
        locked_now = record_failed_login(db.session, user, now)
        db.session.commit()
    reason = ("unknown user" if user is None else "wrong password" if not password_ok
              else "disabled" if not user.active else "demo login outside demo mode")
    log.warning("login failed (%s) username=%r ip=%s%s", reason, username, request.remote_addr,
                " - account locked" if locked_now else "")
    flash("Unknown username or wrong password.", "error")
    if locked_now:
        flash(LOCKED, "error")
    return render_template("auth/login.html", form=form), 401


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    # Ending this session ends the others too: the user's session token changes.
    user = db.session.get(User, current_user.id)
    if user is not None:
        user.rotate_session_token()
        db.session.commit()
        log.info("logout username=%r ip=%s", user.username, request.remote_addr)
    logout_user()
    session.clear()
    flash("You have been logged out.", "info")
    return redirect(url_for("auth.login"))


@bp.route("/")
def root():
    return redirect(url_for("admin.index"))


def is_production(config) -> bool:
    return not (config.get("DEBUG") or config.get("TESTING") or config.get("AUTHDESK_DEMO"))


@bp.before_app_request
def refuse_demo_logins_in_production():
    """A production configuration (not debug, tests or demo mode) must hold no demo login: the
    demo password is published. Checked at the first request of each worker (never when the
    app is created: ``flask db upgrade`` creates it before the tables exist); while any active
    demo login exists every page answers 503 and the log says how to fix it."""
    app = current_app._get_current_object()
    if app.extensions.get("authdesk.no_demo_logins") or not is_production(app.config):
        return None
    if request.endpoint == "static" or (request.endpoint or "").endswith(".static"):
        return None
    try:
        names = demo_usernames(db.session)
    except DBAPIError as exc:  # no schema yet: the request fails on its own, with its reason
        db.session.rollback()
        security_log.error("could not check for demo logins: %s", exc.__class__.__name__)
        return None
    if not names:
        app.extensions["authdesk.no_demo_logins"] = True
        return None
    security_log.error(
        "demo logins exist in a production configuration (%s): refusing to serve. Run "
        "`flask users disable-demo`, or set AUTHDESK_DEMO=1 on a machine that is not "
        "production.", ", ".join(names))
    return make_response(
        render_template("auth/refused.html", count=len(names)), 503)
