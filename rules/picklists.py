"""Pick lists (rule 14): items are renamed, reordered and deactivated at will; an item in use
cannot be deleted — deactivate it instead."""
from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from models import (AuthGroup, Authorization, Client, ClientGroup, Division, Profile, Provider,
                    User, UserGroup, client_client_groups)

from . import values as v
from .actor import Actor
from .errors import Conflict, NotFound, ValidationError
from .permissions import MANAGE_PICK_LISTS

#: For each pick list: (what refers to it, the column, how a user names it).
_USES = {
    AuthGroup: [(Authorization.auth_group_id, "authorizations")],
    Division: [(Client.division_id, "clients"), (Profile.alert_division_id, "profiles")],
    ClientGroup: [(client_client_groups.c.client_group_id, "clients")],
    UserGroup: [(User.user_group_id, "users"), (Provider.user_group_id, "providers"),
                (Profile.alert_user_group_id, "profiles")],
}


def uses_of(session: Session, model, item_id: int) -> dict[str, int]:
    """How many rows of each kind use this item."""
    counts = {}
    for column, noun in _USES[model]:
        n = session.scalar(select(func.count()).select_from(column.table)
                           .where(column == item_id))
        if n:
            counts[noun] = counts.get(noun, 0) + n
    return counts


def delete_item(session: Session, actor: Actor, model, item_id: int) -> None:
    actor.require(MANAGE_PICK_LISTS, "change pick lists")
    item = session.get(model, item_id)
    if item is None:
        raise NotFound(f"{model.pick_list_label} item #{item_id} does not exist.")
    uses = uses_of(session, model, item_id)
    if uses:
        used = ", ".join(f"{n} {noun}" for noun, n in uses.items())
        raise Conflict(f"“{item.name}” is used by {used} and cannot be deleted; "
                       "deactivate it instead.")
    session.delete(item)
    session.flush()


def choices(session: Session, model, keep_id: int | Iterable[int] | None = None) -> list:
    """Items offered for a choice: the active ones in order, plus the current value even if it
    was deactivated since (rule 14). ``keep_id`` may be several ids (a grid of lines, a
    multiple choice)."""
    cond = model.active.is_(True)
    keep = ({keep_id} if isinstance(keep_id, int) else set(keep_id or ())) - {None}
    if keep:
        cond = or_(cond, model.id.in_(sorted(keep)))
    return list(session.scalars(select(model).where(cond)
                                .order_by(model.sort_order, model.name)))


def _clean_name(session: Session, model, name, item_id: int | None = None) -> str:
    try:
        clean = v.text(name, max_length=80, required=True)
    except ValueError as exc:
        raise ValidationError({"name": str(exc)}) from None
    same = select(model.id).where(func.lower(model.name) == clean.lower())
    if item_id is not None:
        same = same.where(model.id != item_id)
    if session.scalar(same) is not None:
        raise ValidationError({"name": f"“{clean}” is already in {model.pick_list_label}"})
    return clean


def _clean_order(value) -> int | None:
    try:
        return v.optional_whole_number(value, maximum=9999)
    except ValueError as exc:
        raise ValidationError({"sort_order": str(exc)}) from None


def add_item(session: Session, actor: Actor, model, name, sort_order=None):
    """A new, active item; without an order it goes to the end of the list."""
    actor.require(MANAGE_PICK_LISTS, "change pick lists")
    clean = _clean_name(session, model, name)
    order = _clean_order(sort_order)
    if order is None:
        order = (session.scalar(select(func.max(model.sort_order))) or 0) + 1
    item = model(name=clean, sort_order=order, active=True)
    session.add(item)
    session.flush()
    return item


def update_item(session: Session, actor: Actor, model, item_id: int, *, name=None,
                sort_order=None, active: bool | None = None):
    """Rename, reorder, activate or deactivate an item (None leaves that part as it is). A
    deactivated item stays on the records that use it (rule 14)."""
    actor.require(MANAGE_PICK_LISTS, "change pick lists")
    item = session.get(model, item_id)
    if item is None:
        raise NotFound(f"{model.pick_list_label} item #{item_id} does not exist.")
    if name is not None:
        item.name = _clean_name(session, model, name, item.id)
    order = _clean_order(sort_order)
    if order is not None:
        item.sort_order = order
    if active is not None:
        item.active = bool(active)
    session.flush()
    return item
