"""People: profiles (sets of permission rules), users who log in, and the providers who render
services."""
from __future__ import annotations

import datetime as dt
import secrets

from sqlalchemy import (Boolean, DateTime, ForeignKey, Integer, String, UniqueConstraint, false,
                        true)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import db, utcnow


class Profile(db.Model):
    """A role such as Administrator or Provider: data an administrator edits, not code."""

    __tablename__ = "profiles"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True, nullable=False)
    description: Mapped[str | None] = mapped_column(String(255))
    # Alerts may be narrowed to the clients of one division or of the providers of one user group.
    alert_division_id: Mapped[int | None] = mapped_column(ForeignKey("divisions.id"))
    alert_user_group_id: Mapped[int | None] = mapped_column(ForeignKey("user_groups.id"))

    rules: Mapped[list["ProfilePermission"]] = relationship(
        back_populates="profile", cascade="all, delete-orphan", lazy="selectin")
    alert_division = relationship("Division")
    alert_user_group = relationship("UserGroup")

    @property
    def permissions(self) -> frozenset[str]:
        return frozenset(r.permission for r in self.rules)

    @permissions.setter
    def permissions(self, codes) -> None:
        wanted = set(codes)
        self.rules = [r for r in self.rules if r.permission in wanted] + [
            ProfilePermission(permission=c) for c in sorted(wanted - self.permissions)]

    def __str__(self) -> str:
        return self.name


class ProfilePermission(db.Model):
    """One permission rule of a profile; the catalogue of rules is rules.permissions."""

    __tablename__ = "profile_permissions"
    __table_args__ = (UniqueConstraint("profile_id", "permission"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    profile_id: Mapped[int] = mapped_column(
        ForeignKey("profiles.id", ondelete="CASCADE"), nullable=False, index=True)
    permission: Mapped[str] = mapped_column(String(64), nullable=False)

    profile: Mapped[Profile] = relationship(back_populates="rules")


def _new_session_token() -> str:
    return secrets.token_urlsafe(24)


class User(db.Model):
    """A login. ``session_token`` is part of the login cookie: changing it ends every session."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True, nullable=False)
    full_name: Mapped[str] = mapped_column(String(120), nullable=False)
    email: Mapped[str | None] = mapped_column(String(255))
    password_hash: Mapped[str] = mapped_column(String(255), nullable=False)
    profile_id: Mapped[int] = mapped_column(ForeignKey("profiles.id"), nullable=False, index=True)
    user_group_id: Mapped[int | None] = mapped_column(ForeignKey("user_groups.id"), index=True)
    # A user who documents services acts as this provider.
    provider_id: Mapped[int | None] = mapped_column(ForeignKey("providers.id"), unique=True)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True,
                                         server_default=true())
    session_token: Mapped[str] = mapped_column(String(64), nullable=False,
                                               default=_new_session_token)
    failed_logins: Mapped[int] = mapped_column(Integer, nullable=False, default=0,
                                               server_default="0")
    locked_until: Mapped[dt.datetime | None] = mapped_column(DateTime)
    last_login_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    last_digest_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    is_demo: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False,
                                          server_default=false())
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False, default=utcnow)

    profile: Mapped[Profile] = relationship(lazy="joined")
    user_group = relationship("UserGroup")
    provider = relationship("Provider", back_populates="user")

    @property
    def permissions(self) -> frozenset[str]:
        return self.profile.permissions if self.profile else frozenset()

    def can(self, permission: str) -> bool:
        return self.active and permission in self.permissions

    def rotate_session_token(self) -> None:
        self.session_token = _new_session_token()

    # Flask-Login protocol, kept here so that the login cookie carries the session token.
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return f"{self.id}:{self.session_token}"

    def __str__(self) -> str:
        return self.full_name


class Provider(db.Model):
    """A clinician who renders services (a therapist, psychiatrist, ABA provider)."""

    __tablename__ = "providers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    first_name: Mapped[str] = mapped_column(String(80), nullable=False)
    last_name: Mapped[str] = mapped_column(String(80), nullable=False)
    credentials: Mapped[str | None] = mapped_column(String(40))
    npi: Mapped[str | None] = mapped_column(String(10))
    user_group_id: Mapped[int | None] = mapped_column(ForeignKey("user_groups.id"), index=True)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True,
                                         server_default=true())

    user_group = relationship("UserGroup")
    user = relationship("User", back_populates="provider", uselist=False)

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}"

    def __str__(self) -> str:
        suffix = f", {self.credentials}" if self.credentials else ""
        return f"{self.last_name}, {self.first_name}{suffix}"


class ApiToken(db.Model):
    """A personal API token; only its hash is stored, the token is shown once."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False, index=True)
    name: Mapped[str] = mapped_column(String(80), nullable=False)
    token_hash: Mapped[str] = mapped_column(String(128), nullable=False, unique=True)
    prefix: Mapped[str] = mapped_column(String(12), nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False, default=utcnow)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime)

    user: Mapped[User] = relationship()
