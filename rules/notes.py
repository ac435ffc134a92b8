"""Notes: documenting a service against an authorization (rules 1, 6–10) — create and edit
drafts, release, void, delete. Units move through rules.units under row locks."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import and_, false, select, true, union
from sqlalchemy.orm import Session, joinedload

from models import (DRAFT, RELEASED, VOIDED, Authorization, BillingCode, Client, Note, NoteClaim,
                    Provider, utcnow)

from . import units as unit_rules
from . import values as v
from .actor import Actor
from .audit import audit_batch
from .availability import (default_choice, reason_not_usable, usable_authorizations,
                           why_none_usable)
from .billing import charge_for, is_inpatient, payer_for
from .clock import clinic_today
from .errors import Conflict, NotFound, NotUsable, PermissionDenied, ValidationError
from .locking import lock_claimed_authorizations, lock_client_authorizations, lock_notes
from .permissions import RELEASE_NOTES, VIEW_ALL_NOTES, VOID_NOTES, WRITE_NOTES

NOTE_FIELDS = ("client_id", "provider_id", "service_date", "billing_code_id",
               "authorization_id", "units", "comment")


def _clean(raw: dict) -> dict:
    parsers = {
        "client_id": v.optional_id, "provider_id": v.optional_id,
        "service_date": v.date_value, "billing_code_id": v.optional_id,
        "authorization_id": v.optional_id,
        "units": lambda x: v.optional_whole_number(x, minimum=1),
        "comment": lambda x: v.text(x, max_length=4000),
    }
    errors, clean = {}, {}
    for key, value in raw.items():
        if key not in parsers:
            errors[key] = "cannot be set here"
            continue
        try:
            clean[key] = parsers[key](value)
        except ValueError as exc:
            errors[key] = str(exc)
    if errors:
        raise ValidationError(errors)
    return clean


def may_see_note(actor: Actor, note: Note) -> bool:
    """A provider sees their own notes; "see every provider's notes" sees all."""
    return actor.can(VIEW_ALL_NOTES) or (
        actor.provider_id is not None and note.provider_id == actor.provider_id)


def visible_notes(actor: Actor):
    """may_see_note as a SQL condition on Note: lists, counts, exports and actions use it."""
    if actor.can(VIEW_ALL_NOTES):
        return true()
    if actor.provider_id is None:
        return false()
    return Note.provider_id == actor.provider_id


def units_held(session: Session, note_id: int) -> dict[int, int]:
    """Units a draft holds, by auth id (its own auth and its auth-group siblings)."""
    return dict(session.execute(select(NoteClaim.authorization_id, NoteClaim.units)
                                .where(NoteClaim.note_id == note_id)).all())


def notes_by_authorization(session: Session, actor: Actor, auth_ids, *,
                           statuses=(DRAFT, RELEASED)) -> dict[int, list[Note]]:
    """The notes of each authorization, in ONE query, as far as ``actor`` may see them: the
    notes written on it and, through its auth group, the notes of its siblings that claimed
    its units (``note.authorization_id != auth_id`` tells them apart). Oldest first."""
    ids = sorted({int(i) for i in auth_ids})
    grouped: dict[int, list[Note]] = {i: [] for i in ids}
    if not ids:
        return grouped
    # The notes' ids through two index lookups (a UNION): an OR across the outer join would
    # read the whole notes table (1.9 s of a chart at 250,000 notes; bench/run.py).
    note_ids = union(select(Note.id).where(Note.authorization_id.in_(ids)),
                     select(NoteClaim.note_id).where(NoteClaim.authorization_id.in_(ids)))
    rows = session.execute(
        select(Note, NoteClaim.authorization_id)
        .outerjoin(NoteClaim, and_(NoteClaim.note_id == Note.id,
                                   NoteClaim.authorization_id.in_(ids)))
        .where(Note.id.in_(note_ids), Note.status.in_(statuses), visible_notes(actor))
        .options(joinedload(Note.provider), joinedload(Note.billing_code))
        .order_by(Note.service_date, Note.id)).all()
    seen: set[tuple[int, int]] = set()
    for note, claimed_id in rows:
        for auth_id in (note.authorization_id, claimed_id):
            if auth_id in grouped and (auth_id, note.id) not in seen:
                seen.add((auth_id, note.id))
                grouped[auth_id].append(note)
    return grouped


def _check_provider(actor: Actor, provider_id: int) -> None:
    if not actor.can(VIEW_ALL_NOTES) and provider_id != actor.provider_id:
        raise PermissionDenied("You may only write notes as yourself.",
                               fields={"provider_id": "must be you"})


def choose_authorization(session: Session, *, client_id: int, provider_id: int,
                         service_date: dt.date, billing_code_id: int | None,
                         authorization_id: int | None, units: int | None = None) -> Authorization:
    """The auth a new or edited note draws on (rules 6 and 7), or NotUsable with the reasons."""
    if authorization_id is not None:
        auth = session.get(Authorization, authorization_id)
        if auth is None or auth.client_id != client_id:
            raise ValidationError({"authorization_id": "is not an authorization of this client"})
        if billing_code_id is not None and auth.billing_code_id != billing_code_id:
            raise ValidationError({"authorization_id": "is for another billing code"})
        reason = reason_not_usable(auth, service_date, provider_id)
        if reason:
            raise NotUsable(f"This note cannot use {auth.auth_number}: {reason}", reasons=[reason])
        return auth
    usable = usable_authorizations(session, client_id, service_date, provider_id)
    if billing_code_id is not None:
        usable = [u for u in usable if u.authorization.billing_code_id == billing_code_id]
        if usable:
            # Prefer the default, then one with enough units, then the one ending first.
            usable.sort(key=lambda u: (not u.authorization.is_default,
                                       units is not None and u.available is not None
                                       and u.available < units,
                                       u.authorization.end_date, u.authorization.id))
            return usable[0].authorization
    else:
        chosen = default_choice(usable)
        if chosen is not None:
            return chosen.authorization
        if usable:
            raise ValidationError({"billing_code_id": "choose a billing code"})
    client = session.get(Client, client_id)
    code = session.get(BillingCode, billing_code_id) if billing_code_id else None
    reasons = why_none_usable(session, client_id, service_date, provider_id, billing_code_id)
    what = f"code {code.code}" if code else "any code"
    raise NotUsable(f"{client} cannot be documented on for {what} on "
                    f"{service_date.isoformat()}.", reasons=reasons)


def _price(note: Note, auth: Authorization, client: Client) -> None:
    payer = payer_for(auth, client)
    note.payer_id = payer.id if payer else None
    note.charge = charge_for(auth.billing_code.rate, note.units, auth.sliding_scale_pct)
    note.inpatient = is_inpatient(auth)


def create_note(session: Session, actor: Actor, fields: dict, *,
                override_reason: str | None = None, today: dt.date | None = None) -> Note:
    """Write a draft note; its units become pending on its auth and auth-group siblings."""
    actor.require(WRITE_NOTES, "write notes")
    clean = _clean(fields)
    errors = {f: "is required" for f in ("client_id", "provider_id", "service_date")
              if clean.get(f) is None}
    if errors:
        raise ValidationError(errors)
    client = session.get(Client, clean["client_id"])
    provider = session.get(Provider, clean["provider_id"])
    if client is None:
        errors["client_id"] = "does not exist"
    if provider is None:
        errors["provider_id"] = "does not exist"
    elif not provider.active:
        errors["provider_id"] = f"{provider} is inactive"
    if errors:
        raise ValidationError(errors)
    _check_provider(actor, provider.id)
    auth = choose_authorization(
        session, client_id=client.id, provider_id=provider.id,
        service_date=clean["service_date"], billing_code_id=clean.get("billing_code_id"),
        authorization_id=clean.get("authorization_id"), units=clean.get("units"))
    units = clean.get("units") or auth.billing_code.default_units
    unit_rules.lock_siblings(session, auth, clean["service_date"])
    now = utcnow()
    note = Note(client_id=client.id, provider_id=provider.id,
                service_date=clean["service_date"], billing_code_id=auth.billing_code_id,
                authorization_id=auth.id, units=units, status=DRAFT,
                comment=clean.get("comment"), created_at=now, created_by=actor.name,
                last_edited_at=now, last_edited_by=actor.name)
    _price(note, auth, client)
    session.add(note)
    session.flush()
    unit_rules.claim(session, actor, note, override_reason=override_reason)
    return note


def _draft_for_edit(session: Session, actor: Actor, note_id: int) -> Note:
    note = lock_notes(session, [note_id]).get(note_id)
    if note is None or not may_see_note(actor, note):
        raise NotFound(f"Note N-{note_id} does not exist.")
    if note.status != DRAFT:
        raise Conflict(f"{note.label} is {note.status}; only draft notes can be changed.")
    return note


def update_note(session: Session, actor: Actor, note_id: int, fields: dict, *,
                override_reason: str | None = None, today: dt.date | None = None) -> Note:
    """Edit a draft: its pending units follow a change of units, date, provider or auth."""
    actor.require(WRITE_NOTES, "edit notes")
    clean = _clean(fields)
    if "client_id" in clean:
        raise ValidationError({"client_id": "cannot be changed; delete the draft instead"})
    note = _draft_for_edit(session, actor, note_id)
    today = today or clinic_today()
    after = {f: getattr(note, f) for f in NOTE_FIELDS}
    after.update({k: val for k, val in clean.items() if val is not None or k == "comment"})
    if after["provider_id"] != note.provider_id:
        provider = session.get(Provider, after["provider_id"])
        if provider is None or not provider.active:
            raise ValidationError({"provider_id": "does not exist or is inactive"})
        _check_provider(actor, provider.id)
    moves_units = any(after[f] != getattr(note, f) for f in
                      ("provider_id", "service_date", "billing_code_id", "authorization_id",
                       "units"))
    if not moves_units:
        note.comment = after["comment"]
    else:
        lock_client_authorizations(session, note.client_id)
        unit_rules.unclaim(session, actor, note, today=today, why=f"{note.label} edited")
        code_changed = after["billing_code_id"] != note.billing_code_id
        auth = choose_authorization(
            session, client_id=note.client_id, provider_id=after["provider_id"],
            service_date=after["service_date"], billing_code_id=after["billing_code_id"],
            authorization_id=None if code_changed and "authorization_id" not in clean
            else after["authorization_id"], units=after["units"])
        unit_rules.lock_siblings(session, auth, after["service_date"])
        for f in ("provider_id", "service_date", "units", "comment"):
            setattr(note, f, after[f])
        note.authorization_id, note.billing_code_id = auth.id, auth.billing_code_id
        note.override_by = note.override_reason = note.override_at = None
        _price(note, auth, session.get(Client, note.client_id))
        session.flush()
        unit_rules.claim(session, actor, note, override_reason=override_reason)
    note.last_edited_at, note.last_edited_by = utcnow(), actor.name
    session.flush()
    return note


def delete_note(session: Session, actor: Actor, note_id: int, *,
                today: dt.date | None = None) -> None:
    """Delete a draft; its pending units are given back."""
    actor.require(WRITE_NOTES, "delete notes")
    note = _draft_for_edit(session, actor, note_id)
    unit_rules.unclaim(session, actor, note, today=today or clinic_today(),
                       why=f"{note.label} deleted")
    session.delete(note)
    session.flush()


def release_notes(session: Session, actor: Actor, note_ids: list[int], *,
                  today: dt.date | None = None) -> list[Note]:
    """Release drafts: their units move from pending to used. All or nothing: if any note
    cannot be released, none is, and the error names each one and why."""
    actor.require(RELEASE_NOTES, "release notes")
    try:
        # The ids of a bulk action arrive as text; "N-12", "" or None is a bad request.
        ids = sorted({v.whole_number(i, minimum=1, maximum=2**31 - 1) for i in note_ids})
    except ValueError:
        raise ValidationError("Choose notes by their numbers.") from None
    if not ids:
        raise ValidationError("Choose at least one note to release.")
    today = today or clinic_today()
    notes = lock_notes(session, ids)
    problems = []
    for note_id in ids:
        note = notes.get(note_id)
        if note is None or not may_see_note(actor, note):
            problems.append(f"N-{note_id}: does not exist")
        elif note.status != DRAFT:
            problems.append(f"{note.label}: already {note.status}")
    if problems:
        raise Conflict(f"No note was released: {len(problems)} of {len(ids)} cannot be.",
                       details=problems)

    lock_claimed_authorizations(session, ids)

    def release_all():
        now = utcnow()
        for note_id in ids:
            note = notes[note_id]
            unit_rules.release_claims(session, actor, note, today=today)
            note.status, note.released_at, note.released_by = RELEASED, now, actor.name
            note.last_edited_at, note.last_edited_by = now, actor.name
        session.flush()

    if len(ids) > 1:
        with audit_batch(session, actor, "release_notes", f"Released {len(ids)} notes"):
            release_all()
    else:
        release_all()
    return [notes[i] for i in ids]


def release_note(session: Session, actor: Actor, note_id: int, *,
                 today: dt.date | None = None) -> Note:
    return release_notes(session, actor, [note_id], today=today)[0]


def void_note(session: Session, actor: Actor, note_id: int, reason: str, *,
              today: dt.date | None = None) -> Note:
    """Void a released note: its units go back to remaining, and the auth's status follows."""
    actor.require(VOID_NOTES, "void notes")
    try:
        reason = v.text(reason, max_length=1000, required=True)
    except ValueError as exc:
        raise ValidationError({"reason": str(exc)}) from None
    note = lock_notes(session, [note_id]).get(note_id)
    if note is None or not may_see_note(actor, note):
        raise NotFound(f"Note N-{note_id} does not exist.")
    if note.status != RELEASED:
        raise Conflict(f"{note.label} is {note.status}; only released notes can be voided.")
    unit_rules.restore_claims(session, actor, note, today=today or clinic_today())
    now = utcnow()
    note.status, note.voided_at, note.voided_by, note.void_reason = VOIDED, now, actor.name, reason
    note.last_edited_at, note.last_edited_by = now, actor.name
    session.flush()
    return note
