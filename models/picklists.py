"""Pick lists: the administrator-managed choices (Billing → Auth Groups, Clients → Divisions and
Client Groups, Users → User Groups). Each item has a name, an active flag and an order."""
from __future__ import annotations

from sqlalchemy import Boolean, Integer, String, UniqueConstraint, true
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

from .base import db


class PickListItem:
    """Columns every pick list shares. An inactive item is not offered for new choices but stays
    shown where it is already used; an item in use cannot be deleted (rules.picklists)."""

    #: (group, list) as the clinic's staff know it, e.g. ("Billing", "Auth Groups").
    pick_list_group: str = ""
    pick_list_label: str = ""

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(80), nullable=False)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True, server_default=true())
    sort_order: Mapped[int] = mapped_column(Integer, nullable=False, default=0, server_default="0")

    @declared_attr.directive
    def __table_args__(cls):
        return (UniqueConstraint("name", name=f"uq_{cls.__tablename__}_name"),)

    def __str__(self) -> str:
        return self.name if self.active else f"{self.name} (inactive)"


class AuthGroup(PickListItem, db.Model):
    __tablename__ = "auth_groups"
    pick_list_group = "Billing"
    pick_list_label = "Auth Groups"


class Division(PickListItem, db.Model):
    __tablename__ = "divisions"
    pick_list_group = "Clients"
    pick_list_label = "Divisions"


class ClientGroup(PickListItem, db.Model):
    __tablename__ = "client_groups"
    pick_list_group = "Clients"
    pick_list_label = "Client Groups"


class UserGroup(PickListItem, db.Model):
    __tablename__ = "user_groups"
    pick_list_group = "Users"
    pick_list_label = "User Groups"


PICK_LISTS = (AuthGroup, Division, ClientGroup, UserGroup)
