"""Who is acting: every rule takes an explicit actor (a user or the system), never a request."""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from .errors import PermissionDenied
from .permissions import PERMISSIONS


@dataclass(frozen=True)
class Actor:
    user_id: int | None
    name: str
    permissions: frozenset[str] = frozenset()
    provider_id: int | None = None
    request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    is_system: bool = False

    @classmethod
    def system(cls, request_id: str | None = None) -> "Actor":
        """System jobs edit as "system" and may do anything."""
        return cls(user_id=None, name="system", permissions=frozenset(PERMISSIONS),
                   request_id=request_id or str(uuid.uuid4()), is_system=True)

    @classmethod
    def for_user(cls, user, request_id: str | None = None) -> "Actor":
        return cls(user_id=user.id, name=user.full_name,
                   permissions=user.permissions if user.active else frozenset(),
                   provider_id=user.provider_id,
                   request_id=request_id or str(uuid.uuid4()))

    def can(self, permission: str) -> bool:
        return permission in self.permissions

    def require(self, permission: str, doing: str = "do this") -> None:
        if not self.can(permission):
            label = PERMISSIONS.get(permission, permission)
            raise PermissionDenied(
                f"Your profile does not allow you to {doing} (needs “{label}”).")
