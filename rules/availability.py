"""Which authorizations a note may use (rules 6 and 7), and why not when none may.

An auth is usable for a note of (client, service date, provider) when start ≤ date ≤ end, it is
not excluded from notes, a specific provider (if any) is this provider, and it has units
available — on itself and on every managed sibling of its auth group — or is unmanaged. An
inactive auth with units left is still usable for a date inside its dates (rule 5)."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Authorization, Client

from .units import sibling_ids


@dataclass(frozen=True)
class Usable:
    authorization: Authorization
    #: Units a note may claim now (the least of its managed siblings); None = unlimited.
    available: int | None

    @property
    def label(self) -> str:
        a = self.authorization
        left = "unlimited" if self.available is None else f"{self.available} available"
        return f"{a.billing_code.code} – {a.billing_code.description} · {a.auth_number} · {left}"


def effective_available(session: Session, auth: Authorization, service_date: dt.date,
                        held: dict[int, int] | None = None) -> int | None:
    """The units a note on ``auth`` could claim: the minimum over its managed siblings.

    ``held``: units the note being edited already holds, by auth id; an edit gives them back
    before it claims again, so they count as available to it."""
    ids = sibling_ids(session, auth, service_date)
    if not ids:
        return None
    held = held or {}
    rows = session.execute(select(Authorization.id, Authorization.remaining_units,
                                  Authorization.pending_units)
                           .where(Authorization.id.in_(ids))).all()
    return max(0, min(r - p + held.get(i, 0) for i, r, p in rows))


def reason_not_usable(auth: Authorization, service_date: dt.date,
                      provider_id: int | None) -> str | None:
    """Why this auth cannot take a note of that date and provider (units aside), or None."""
    a = auth
    name = f"{a.auth_number} ({a.billing_code.code})"
    if service_date < a.start_date:
        return (f"{name} starts on {a.start_date.isoformat()}; the service date "
                f"{service_date.isoformat()} is before it.")
    if service_date > a.end_date:
        return (f"{name} ended on {a.end_date.isoformat()}; the service date "
                f"{service_date.isoformat()} is after it.")
    if a.exclude_from_notes:
        return f"{name} is excluded from notes."
    if a.specific_provider_id is not None and a.specific_provider_id != provider_id:
        return f"{name} may only be used by {a.specific_provider}."
    return None


def usable_authorizations(session: Session, client_id: int, service_date: dt.date,
                          provider_id: int | None, *,
                          held: dict[int, int] | None = None) -> list[Usable]:
    """The billing-code choices of a note, each with its units available (rule 6).
    ``held``: see effective_available (editing a draft)."""
    usable = []
    for auth in _client_auths(session, client_id):
        if reason_not_usable(auth, service_date, provider_id):
            continue
        available = effective_available(session, auth, service_date, held)
        if available is not None and available <= 0:
            continue
        usable.append(Usable(auth, available))
    return usable


def default_choice(usable: list[Usable]) -> Usable | None:
    """Rule 7: the usable auth marked default (the first, by code, if several are)."""
    defaults = [u for u in usable if u.authorization.is_default]
    return defaults[0] if defaults else None


def why_none_usable(session: Session, client_id: int, service_date: dt.date,
                    provider_id: int | None, billing_code_id: int | None = None, *,
                    held: dict[int, int] | None = None) -> list[str]:
    """Reasons, one per auth of the client (for that code, if given), that none can be used."""
    client = session.get(Client, client_id)
    auths = [a for a in _client_auths(session, client_id)
             if billing_code_id is None or a.billing_code_id == billing_code_id]
    if not auths:
        what = "no authorizations" if billing_code_id is None else "no authorization for this code"
        return [f"{client} has {what}. Ask support staff to add one before documenting."]
    reasons = []
    for auth in auths:
        reason = reason_not_usable(auth, service_date, provider_id)
        if reason is None:
            available = effective_available(session, auth, service_date, held)
            if available is not None and available <= 0:
                reason = (f"{auth.auth_number} ({auth.billing_code.code}) has no units left"
                          + (" in its auth group." if auth.auth_group_id else "."))
        if reason:
            reasons.append(reason)
    return reasons


def _client_auths(session: Session, client_id: int) -> list[Authorization]:
    return list(session.scalars(
        select(Authorization).where(Authorization.client_id == client_id)
        .order_by(Authorization.billing_code_id, Authorization.end_date, Authorization.id)))
