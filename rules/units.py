"""Unit accounting (rules 1, 3, 4): what a note claims, and moving it between pending, used and
given back.

A note claims its units on every *managed* sibling: the auths of the same client and auth group
whose dates cover the service date (an auth with no group is its own only sibling). Unmanaged
auths are never decremented. Each claim is stored (NoteClaim) so that release, void and delete
move exactly the units that were claimed, even if the group changes meanwhile.

Every movement runs under the row locks of rules.locking; the CHECK constraint
``units_not_overspent`` is the last guard should a path forget."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Authorization, Note, NoteClaim, utcnow

from .actor import Actor
from .alerts import settle
from .audit import annotate
from .authorizations import is_active
from .errors import InsufficientUnits, ValidationError
from .locking import lock_authorizations
from .permissions import EXCEED_AUTHORIZED_UNITS


def sibling_ids(session: Session, auth: Authorization, service_date: dt.date) -> list[int]:
    """Ids of the managed auths a note on ``auth`` dated ``service_date`` draws on (rule 3)."""
    if auth.auth_group_id is None:
        return [] if auth.unmanaged else [auth.id]
    a = Authorization
    ids = session.scalars(select(a.id).where(
        a.client_id == auth.client_id, a.auth_group_id == auth.auth_group_id,
        a.start_date <= service_date, a.end_date >= service_date, a.unmanaged.is_(False))).all()
    if not auth.unmanaged and auth.id not in ids:
        ids.append(auth.id)
    return sorted(ids)


def lock_siblings(session: Session, auth: Authorization, service_date: dt.date) -> None:
    """Lock the auths a note on ``auth`` will claim, BEFORE the note row is written.

    On PostgreSQL, inserting or re-pointing a note takes a KEY SHARE lock on its authorization
    (the foreign key check); two writers that each hold it and then ask FOR UPDATE on the same
    row deadlock. Locking first (FOR UPDATE, id order) makes them queue instead."""
    lock_authorizations(session, sibling_ids(session, auth, service_date) + [auth.id])


def _unit_word(n: int) -> str:
    return "unit" if n == 1 else "units"


def shortfall_message(auth: Authorization, available: int, needed: int,
                      primary: Authorization | None = None) -> str:
    left = f"{available} {_unit_word(available)} left" if available > 0 else "no units left"
    text = (f"Authorization {auth.auth_number} ({auth.billing_code.code}) has {left}; "
            f"this note needs {needed}.")
    if primary is not None and primary.id != auth.id:
        text += (f" It shares its units with {primary.auth_number} "
                 f"({primary.billing_code.code}) through their auth group.")
    return text


def claim(session: Session, actor: Actor, note: Note, *,
          override_reason: str | None = None) -> list[NoteClaim]:
    """Hold ``note.units`` as pending on every managed sibling of the note's auth.

    Refused with InsufficientUnits unless every sibling has the units available, or an actor
    allowed to exceed authorized units gives a reason (the override is recorded on the note)."""
    primary = session.get(Authorization, note.authorization_id)
    ids = sibling_ids(session, primary, note.service_date)
    auths = lock_authorizations(session, ids)
    # Re-check the group under the lock: a sibling must still share the group and dates.
    auths = {i: a for i, a in auths.items() if not a.unmanaged and (
        i == primary.id or (a.auth_group_id == primary.auth_group_id
                            and a.start_date <= note.service_date <= a.end_date))}
    short = [(a, a.remaining_units - a.pending_units) for a in auths.values()
             if a.remaining_units - a.pending_units < note.units]
    if short:
        worst, available = min(short, key=lambda pair: pair[1])
        message = shortfall_message(worst, max(available, 0), note.units, primary)
        if override_reason is None:
            raise InsufficientUnits(message, authorization_id=worst.id,
                                    available=max(available, 0), needed=note.units)
        actor.require(EXCEED_AUTHORIZED_UNITS, "exceed authorized units")
        if not override_reason.strip():
            raise ValidationError({"override_reason": "give a reason for the override"})
        note.override_by = actor.name
        note.override_reason = override_reason.strip()
        note.override_at = utcnow()
    claims = []
    for a in auths.values():
        a.pending_units += note.units
        if a.pending_units > a.remaining_units:
            a.overdrawn = True
        claims.append(NoteClaim(note_id=note.id, authorization_id=a.id, units=note.units))
    session.add_all(claims)
    with annotate(session, "authorization", action="units",
                  comment=f"{note.label} claimed {note.units}"):
        session.flush()
    return claims


def _locked_claims(session: Session, note: Note) -> tuple[list[NoteClaim], dict]:
    claims = list(session.scalars(select(NoteClaim).where(NoteClaim.note_id == note.id)))
    auths = lock_authorizations(session, [c.authorization_id for c in claims])
    return claims, auths


def _settle(a: Authorization, today: dt.date) -> None:
    a.overdrawn = not (0 <= a.pending_units <= a.remaining_units)
    a.active = is_active(a, today)


def unclaim(session: Session, actor: Actor, note: Note, *, today: dt.date, why: str) -> None:
    """Give a draft note's pending units back (delete, or before re-claiming on edit)."""
    claims, auths = _locked_claims(session, note)
    for c in claims:
        a = auths[c.authorization_id]
        a.pending_units -= c.units
        _settle(a, today)
        session.delete(c)
    with annotate(session, "authorization", action="units", comment=why):
        session.flush()
    # Pending units are read by no alert condition: nothing to settle.


def release_claims(session: Session, actor: Actor, note: Note, *, today: dt.date) -> None:
    """Releasing: pending −= u; remaining −= u on every auth the note claimed."""
    claims, auths = _locked_claims(session, note)
    for c in claims:
        a = auths[c.authorization_id]
        a.pending_units -= c.units
        a.remaining_units -= c.units
        _settle(a, today)
    with annotate(session, "authorization", action="units", comment=f"{note.label} released"):
        session.flush()
    settle(session, auths, today, fields={"remaining_units"})


def restore_claims(session: Session, actor: Actor, note: Note, *, today: dt.date) -> None:
    """Voiding a released note gives its units back to remaining (never above allotted)."""
    claims, auths = _locked_claims(session, note)
    for c in claims:
        a = auths[c.authorization_id]
        a.remaining_units = min(a.allotted_units, a.remaining_units + c.units)
        _settle(a, today)
    with annotate(session, "authorization", action="units", comment=f"{note.label} voided"):
        session.flush()
    settle(session, auths, today, fields={"remaining_units"})
