"""API tokens: each user creates and revokes their own personal tokens for the JSON API. A new
token is shown once, on the page that created it (never in a cookie or a flash message); the
list shows name, prefix, created, last used. Revoking is immediate."""
from __future__ import annotations

from flask import flash, make_response, redirect, request, url_for
from flask_login import current_user

from extensions import db
from rules import DomainError
from rules.tokens import create_token, revoke_token, tokens_of

from .base import AccessMixin, BaseView, expose, show_domain_error


class TokensView(AccessMixin, BaseView):
    permission = None  # every user manages their own tokens

    @expose("/", methods=("GET", "POST"))
    def index(self):
        issued = None
        if request.method == "POST":
            try:
                issued = create_token(db.session, self.actor, current_user.id,
                                      request.form.get("name", ""))
                db.session.commit()
            except DomainError as exc:
                db.session.rollback()
                show_domain_error(exc)
        response = make_response(self.render(
            "admin_views/tokens.html", tokens=tokens_of(db.session, current_user.id),
            issued=issued))
        # The page may hold a secret: never keep it in a cache.
        response.headers["Cache-Control"] = "no-store"
        return response

    @expose("/<id:token_id>/revoke", methods=("POST",))
    def revoke(self, token_id: int):
        try:
            token = revoke_token(db.session, self.actor, token_id)
            name = token.name
            db.session.commit()
            flash(f"Token “{name}” revoked: it no longer works.", "success")
        except DomainError as exc:
            db.session.rollback()
            show_domain_error(exc)
        return redirect(url_for(".index"))


def register(admin) -> None:
    admin.add_view(TokensView(name="API tokens", endpoint="tokens", url="/console/tokens",
                              category="My account"))
