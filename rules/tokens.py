"""Personal API tokens: each user creates and revokes their own; an administrator (or the system,
from the command line) may issue one for anybody. A token is a high-entropy secret shown once;
only its SHA-256 is stored, with a short prefix to recognise it in a list. A request with a token
acts as its user, with that user's profile at the time of the request: a revoked token, or the
token of a disabled user, authenticates nobody."""
from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from models import ApiToken, User, utcnow

from . import values as v
from .actor import Actor
from .errors import NotFound, ValidationError
from .permissions import MANAGE_USERS

#: Every token starts with this, so that a leaked one is easy to recognise (and to scan for).
TOKEN_PREFIX = "adk_"
PREFIX_LENGTH = 12
#: last_used_at is written at most this often per token (not on every request).
TOUCH_INTERVAL = dt.timedelta(minutes=1)


def hash_token(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True)
class IssuedToken:
    token: ApiToken
    #: The secret itself: shown to the user once, never stored.
    secret: str


def _may_manage(actor: Actor, user_id: int, doing: str) -> None:
    if actor.user_id != user_id:
        actor.require(MANAGE_USERS, doing)


def create_token(session: Session, actor: Actor, user_id: int, name: str) -> IssuedToken:
    """Issue a new token for ``user_id`` (the actor's own, or anybody's with "manage users")."""
    _may_manage(actor, user_id, "create API tokens for other users")
    try:
        name = v.text(name, max_length=80, required=True)
    except ValueError as exc:
        raise ValidationError({"name": str(exc)}) from None
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"User #{user_id} does not exist.")
    if not user.active:
        raise ValidationError({"user": f"{user.username} is disabled; enable the user first"})
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(user_id=user.id, name=name, token_hash=hash_token(secret),
                     prefix=secret[:PREFIX_LENGTH], created_at=utcnow())
    session.add(token)
    session.flush()
    return IssuedToken(token, secret)


def revoke_token(session: Session, actor: Actor, token_id: int) -> ApiToken:
    """Revoke a token at once; revoking a revoked token changes nothing."""
    token = session.get(ApiToken, token_id)
    if token is None or (actor.user_id != token.user_id and not actor.can(MANAGE_USERS)):
        raise NotFound(f"API token #{token_id} does not exist.")
    _may_manage(actor, token.user_id, "revoke other users' API tokens")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        session.flush()
    return token


def tokens_of(session: Session, user_id: int) -> list[ApiToken]:
    return list(session.scalars(select(ApiToken).where(ApiToken.user_id == user_id)
                                .order_by(ApiToken.revoked_at.is_not(None),
                                          ApiToken.created_at.desc(), ApiToken.id.desc())))


def authenticate(session: Session, secret: str | None, *, allow_demo: bool = False,
                 now: dt.datetime | None = None) -> User | None:
    """The user a token acts as, or None (unknown, revoked, disabled user, demo user outside
    demo mode). Notes when the token was last used (at most once a minute)."""
    if not secret or not secret.startswith(TOKEN_PREFIX) or len(secret) > 200:
        return None
    token = session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(secret)))
    if token is None or token.revoked_at is not None:
        return None
    user = session.get(User, token.user_id)
    if user is None or not user.active or (user.is_demo and not allow_demo):
        return None
    now = now or utcnow()
    if token.last_used_at is None or now - token.last_used_at >= TOUCH_INTERVAL:
        # A set-based write of bookkeeping only (not audited, like a login time).
        session.execute(update(ApiToken).where(ApiToken.id == token.id)
                        .values(last_used_at=now).execution_options(synchronize_session=False))
    return user

