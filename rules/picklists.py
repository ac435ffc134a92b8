"""Pick lists (rule 14): items are renamed, reordered and deactivated at will; an item in use
cannot be deleted — deactivate it instead."""
from __future__ import annotations

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from models import (AuthGroup, Authorization, Client, ClientGroup, Division, Profile, Provider,
                    User, UserGroup, client_client_groups)

from .actor import Actor
from .errors import Conflict, NotFound
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


def choices(session: Session, model, keep_id: int | None = None) -> list:
    """Items offered for a choice: the active ones in order, plus the current value even if it
    was deactivated since (rule 14)."""
    cond = model.active.is_(True)
    if keep_id is not None:
        cond = or_(cond, model.id == keep_id)
    return list(session.scalars(select(model).where(cond)
                                .order_by(model.sort_order, model.name)))
