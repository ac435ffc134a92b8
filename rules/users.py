"""Users and passwords: hashing (scrypt, werkzeug's default), the minimum length, locking an
account after repeated failed logins, and ending a user's sessions when their password changes
or they are disabled."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from models import Profile, Provider, User, UserGroup

from . import values as v
from .actor import Actor
from .errors import NotFound, ValidationError
from .permissions import MANAGE_USERS

MIN_PASSWORD_LENGTH = 12
#: Failed logins in a row that lock an account, and for how long.
MAX_FAILED_LOGINS = 5
LOCKOUT = dt.timedelta(minutes=15)
#: A hash checked against when the username is unknown, so both take as long.
_DUMMY_HASH = generate_password_hash("authdesk-timing-equaliser")


def check_password_strength(password: str) -> None:
    if not isinstance(password, str) or len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationError({"password": f"must be at least {MIN_PASSWORD_LENGTH} characters"})
    if len(password) > 256:
        raise ValidationError({"password": "must be at most 256 characters"})


def hash_password(password: str) -> str:
    check_password_strength(password)
    return generate_password_hash(password)


def verify_password(user: User | None, password: str) -> bool:
    """Constant-ish time whether or not the user exists."""
    if user is None:
        check_password_hash(_DUMMY_HASH, password or "")
        return False
    return check_password_hash(user.password_hash, password or "")


def create_user(session: Session, actor: Actor, *, username: str, full_name: str, password: str,
                profile_name: str, email: str | None = None, provider_id: int | None = None,
                is_demo: bool = False) -> User:
    actor.require(MANAGE_USERS, "create users")
    username = (username or "").strip()
    errors = {}
    if not username or len(username) > 80:
        errors["username"] = "is required (at most 80 characters)"
    elif session.scalar(select(func.count()).select_from(User)
                        .where(func.lower(User.username) == username.lower())):
        errors["username"] = f"“{username}” is already taken"
    profile = session.scalar(select(Profile).where(Profile.name == profile_name))
    if profile is None:
        errors["profile"] = f"no profile is named “{profile_name}”"
    if errors:
        raise ValidationError(errors)
    user = User(username=username, full_name=(full_name or username).strip(), email=email,
                password_hash=hash_password(password), profile=profile,
                provider_id=provider_id, is_demo=is_demo)
    session.add(user)
    session.flush()
    return user


def set_password(session: Session, actor: Actor, user_id: int, new_password: str) -> User:
    """A user changes their own password, or an administrator resets one. Every session of that
    user ends (a new session token)."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"User #{user_id} does not exist.")
    if actor.user_id != user.id:
        actor.require(MANAGE_USERS, "reset other users' passwords")
    user.password_hash = hash_password(new_password)
    user.failed_logins, user.locked_until = 0, None
    user.rotate_session_token()
    session.flush()
    return user


def set_active(session: Session, actor: Actor, user_id: int, active: bool) -> User:
    actor.require(MANAGE_USERS, "enable or disable users")
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"User #{user_id} does not exist.")
    user.active = active
    if not active:
        user.rotate_session_token()
    session.flush()
    return user


def is_locked(user: User, now: dt.datetime) -> bool:
    return user.locked_until is not None and user.locked_until > now


def record_failed_login(session: Session, user: User, now: dt.datetime) -> bool:
    """Count a failed login; the MAX_FAILED_LOGINS-th in a row locks the account for LOCKOUT.
    The count is one UPDATE, so concurrent attempts (several workers) are all counted. Returns
    whether the account is now locked. Login bookkeeping, not an edit: it is not audited."""
    failures = session.execute(
        update(User).where(User.id == user.id)
        .values(failed_logins=User.failed_logins + 1).returning(User.failed_logins)).scalar()
    if failures is not None and failures >= MAX_FAILED_LOGINS:
        session.execute(update(User).where(User.id == user.id)
                        .values(failed_logins=0, locked_until=now + LOCKOUT))
        return True
    return False


def record_login(session: Session, user: User, now: dt.datetime) -> None:
    user.failed_logins, user.locked_until, user.last_login_at = 0, None, now
    session.flush()


def demo_usernames(session: Session) -> list[str]:
    """Active demo logins (their password is published): none may exist in production."""
    return list(session.scalars(select(User.username).where(User.is_demo.is_(True),
                                                            User.active.is_(True))
                                .order_by(User.username)))


def update_user(session: Session, actor: Actor, user_id: int, changes: dict) -> User:
    """Change a user's name, email, profile, user group or provider link (the login a provider
    documents with; one login per provider). Inactive user groups and providers stay where they
    are already used but cannot be newly chosen (rule 14). Passwords: set_password."""
    actor.require(MANAGE_USERS, "edit users")
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"User #{user_id} does not exist.")
    allowed = {"full_name", "email", "profile_id", "user_group_id", "provider_id"}
    errors, clean = {}, {}
    for key, value in changes.items():
        try:
            if key not in allowed:
                raise ValueError("cannot be set here")
            if key == "full_name":
                clean[key] = v.text(value, max_length=120, required=True)
            elif key == "email":
                clean[key] = v.text(value, max_length=255)
                if clean[key] and "@" not in clean[key]:
                    raise ValueError("must be an email address")
            else:
                clean[key] = v.optional_id(value)
        except ValueError as exc:
            errors[key] = str(exc)
    if "profile_id" in clean and "profile_id" not in errors and (
            clean["profile_id"] is None or session.get(Profile, clean["profile_id"]) is None):
        errors["profile_id"] = "choose an existing profile"
    for key, model, noun in (("user_group_id", UserGroup, "User group"),
                             ("provider_id", Provider, "Provider")):
        ref_id = clean.get(key)
        if ref_id is None or key in errors:
            continue
        row = session.get(model, ref_id)
        if row is None:
            errors[key] = f"{noun} #{ref_id} does not exist"
        elif not row.active and ref_id != getattr(user, key):
            errors[key] = f"{noun} “{row}” is inactive and cannot be chosen"
    provider_id = clean.get("provider_id")
    if provider_id is not None and "provider_id" not in errors:
        other = session.scalar(select(User).where(User.provider_id == provider_id,
                                                  User.id != user.id))
        if other is not None:
            errors["provider_id"] = f"is already the login of {other.full_name} ({other.username})"
    if errors:
        raise ValidationError(errors)
    for key, value in clean.items():
        if getattr(user, key) != value:
            setattr(user, key, value)
    session.flush()
    return user
