"""Bearer-token authentication for the API. Only ``Authorization: Bearer TOKEN`` authenticates:
the console's session cookie never does (the app's request hook does not load the console user
for API requests, and this hook replaces any actor with the token's user). The request then acts
with that user's profile, exactly as in the console."""
from __future__ import annotations

from flask import current_app, g, request

from extensions import db
from models import User
from rules import Actor
from rules.audit import set_actor
from rules.tokens import authenticate

from .errors import ApiError

#: Endpoints anybody may read: the API's description and its reference page.
PUBLIC_ENDPOINTS = {"api.openapi_document", "api.reference_page", "api.unknown_path"}

_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="authdesk"'}


def authenticate_request() -> None:
    """before_request of the API blueprint."""
    set_actor(db.session, None)
    g.api_user_id = None
    if request.endpoint in PUBLIC_ENDPOINTS:
        return
    header = request.headers.get("Authorization", "")
    scheme, _, secret = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        raise ApiError(401, "Send your API token as “Authorization: Bearer TOKEN” (create one "
                       "under API tokens in the console).", headers=_CHALLENGE)
    user = authenticate(db.session, secret.strip(),
                        allow_demo=bool(current_app.config.get("AUTHDESK_DEMO")))
    if user is None:
        db.session.rollback()
        raise ApiError(401, "This API token is not valid: it is unknown or revoked, or its user "
                       "is disabled.", code="invalid_token",
                       headers={**_CHALLENGE, "WWW-Authenticate":
                                'Bearer realm="authdesk", error="invalid_token"'})
    g.api_user_id = user.id
    g.actor = Actor.for_user(user, g.get("request_id"))
    # Keep "last used" even when the request itself is refused later.
    db.session.commit()
    set_actor(db.session, g.actor)


def current_actor() -> Actor:
    return g.actor


def current_user() -> User:
    user = db.session.get(User, g.api_user_id) if g.get("api_user_id") else None
    if user is None:
        raise ApiError(401, "Authentication required.")
    return user
