"""My account → Change password (every user, for themself: current password + the new one
twice), and an administrator's password reset of another user (``manage_users``). Both go
through rules.users.set_password, which renews the user's session token: every other session of
that user ends. The user who changed their own password stays logged in here.

Links for other screens: ``url_for("account.reset", user_id=…)`` →
``/console/account/reset/<user_id>`` (an optional ``next`` leads back, e.g. to the Users list)."""
from __future__ import annotations

import logging

from flask import abort, flash, redirect, request, session, url_for
from flask_admin import BaseView
from flask_login import current_user, login_user
from flask_wtf import FlaskForm
from wtforms import PasswordField
from wtforms.validators import DataRequired, EqualTo, Length

from extensions import db
from models import User, utcnow
from rules import DomainError
from rules.permissions import MANAGE_USERS
from rules.users import MIN_PASSWORD_LENGTH, set_password, verify_password

from .base import AccessMixin, current_actor, expose, show_domain_error
from .login import safe_next

log = logging.getLogger("authdesk.login")
MAX_ID = 2**31 - 1
HINT = f"At least {MIN_PASSWORD_LENGTH} characters. A passphrase of a few words is easiest."


class NewPasswordForm(FlaskForm):
    new_password = PasswordField("New password", validators=[
        DataRequired(), Length(max=256)], description=HINT)
    confirm = PasswordField("New password again", validators=[
        DataRequired(), EqualTo("new_password", message="The two new passwords differ.")])


class ChangePasswordForm(NewPasswordForm):
    current_password = PasswordField("Current password",
                                     validators=[DataRequired(), Length(max=256)])


class AccountView(AccessMixin, BaseView):
    """Any logged-in user: their own password. Resetting another's needs manage_users."""

    permission = None

    def _save(self, form, user_id: int):
        try:
            user = set_password(db.session, current_actor(), user_id, form.new_password.data)
            db.session.commit()
        except DomainError as exc:
            db.session.rollback()
            exc.fields = {("new_password" if k == "password" else k): v
                          for k, v in exc.fields.items()}
            show_domain_error(exc, form)
            return None
        return user

    @expose("/", methods=("GET", "POST"))
    def index(self):
        form = ChangePasswordForm()
        if form.validate_on_submit():
            user = db.session.get(User, current_user.id)
            if not verify_password(user, form.current_password.data):
                log.warning("password change refused (wrong current password) username=%r "
                            "ip=%s", user.username, request.remote_addr)
                form.current_password.errors = ["is not your current password"]
                flash("Your current password is not right; nothing was changed.", "error")
                return self.render("auth/change_password.html", form=form), 400
            user = self._save(form, user.id)
            if user is not None:
                # The new session token ended every other session; this one goes on, renewed.
                session.clear()
                login_user(user)
                session["last_seen"] = utcnow().timestamp()
                log.info("password changed username=%r ip=%s", user.username,
                         request.remote_addr)
                flash("Your password was changed. Your other sessions have been logged out.",
                      "success")
                return redirect(url_for(".index"))
        elif request.method == "POST":
            flash("The password was not changed: see the messages below.", "error")
        status = 400 if request.method == "POST" else 200
        return self.render("auth/change_password.html", form=form), status

    @expose("/reset/<id:user_id>", methods=("GET", "POST"))
    def reset(self, user_id: int):
        if not current_user.can(MANAGE_USERS):
            abort(403)
        if user_id == current_user.id:
            return redirect(url_for(".index"))
        user = db.session.get(User, user_id) if user_id <= MAX_ID else None
        if user is None:
            abort(404)
        form = NewPasswordForm()
        back = safe_next(request.args.get("next"))
        if form.validate_on_submit():
            if self._save(form, user.id) is not None:
                log.info("password reset username=%r by=%r ip=%s", user.username,
                         current_user.username, request.remote_addr)
                flash(f"The password of {user.full_name} was reset; their sessions have "
                      "been logged out. Give them the new password in person or by phone.",
                      "success")
                return redirect(back or url_for(".reset", user_id=user.id))
        elif request.method == "POST":
            flash("The password was not reset: see the messages below.", "error")
        status = 400 if request.method == "POST" else 200
        return self.render("auth/reset_password.html", form=form, user=user, back=back), status


def register(admin) -> None:
    admin.add_view(AccountView(name="Change password", category="My account",
                               endpoint="account", url="account"))
