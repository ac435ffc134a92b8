"""Logging in and out. The login cookie carries the user's session token, so a new token (a
password change, a disabled user, a logout) ends every other session of that user."""
from __future__ import annotations

import datetime as dt
import logging
from urllib.parse import urlsplit

from flask import (Blueprint, current_app, flash, redirect, render_template, request, session,
                   url_for)
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from extensions import db, limiter
from models import User, utcnow
from rules.users import verify_password

bp = Blueprint("auth", __name__)
log = logging.getLogger("authdesk.login")

MAX_FAILURES = 5
LOCKOUT = dt.timedelta(minutes=15)


def load_user(user_id: str):
    """Flask-Login: ``id:session_token``; a stale token or a disabled user is logged out."""
    try:
        raw_id, token = user_id.split(":", 1)
        user = db.session.get(User, int(raw_id))
    except (ValueError, TypeError):
        return None
    if user is None or not user.active or user.session_token != token:
        return None
    if user.is_demo and not current_app.config["AUTHDESK_DEMO"]:
        return None
    last_seen = session.get("last_seen")
    now = utcnow().timestamp()
    idle = current_app.config["IDLE_TIMEOUT_MINUTES"] * 60
    if last_seen is not None and now - last_seen > idle:
        session.clear()
        return None
    session["last_seen"] = now
    return user


def safe_next(target: str | None) -> str | None:
    """Only a path on this site: no scheme, no host, no protocol-relative //, no backslash."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") \
            or "\\" in target:
        return None
    return target


class LoginForm(FlaskForm):
    username = StringField("Username", validators=[DataRequired(), Length(max=80)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=256)])


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit("20 per minute", methods=["POST"],
               error_message="Too many login attempts from this address; wait a minute.")
def login():
    if current_user.is_authenticated:
        return redirect(url_for("admin.index"))
    form = LoginForm()
    if form.validate_on_submit():
        username = form.username.data.strip()
        user = db.session.scalar(select(User).where(func.lower(User.username) == username.lower()))
        now = utcnow()
        if user is not None and user.locked_until and user.locked_until > now:
            verify_password(None, form.password.data)
            log.warning("login refused (locked) username=%r ip=%s", username, request.remote_addr)
            flash("Too many failed attempts: this account is locked for a few minutes.", "error")
            return render_template("auth/login.html", form=form), 429
        demo_refused = user is not None and user.is_demo and not current_app.config["AUTHDESK_DEMO"]
        if verify_password(user, form.password.data) and user.active and not demo_refused:
            user.failed_logins, user.locked_until, user.last_login_at = 0, None, now
            db.session.commit()
            session.clear()  # a fresh session at login (no fixation)
            login_user(user)
            session["last_seen"] = now.timestamp()
            log.info("login ok username=%r ip=%s", user.username, request.remote_addr)
            return redirect(safe_next(request.args.get("next")) or url_for("admin.index"))
        if user is not None:
            user.failed_logins += 1
            if user.failed_logins >= MAX_FAILURES:
                user.locked_until, user.failed_logins = now + LOCKOUT, 0
            db.session.commit()
        log.warning("login failed username=%r ip=%s", username, request.remote_addr)
        flash("Unknown username or wrong password.", "error")
        return render_template("auth/login.html", form=form), 401
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    # Ending this session ends the others too: the user's session token changes.
    user = db.session.get(User, current_user.id)
    if user is not None:
        user.rotate_session_token()
        db.session.commit()
    logout_user()
    session.clear()
    flash("You have been logged out.", "info")
    return redirect(url_for("auth.login"))


@bp.route("/")
def root():
    return redirect(url_for("admin.index"))
