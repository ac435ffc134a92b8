"""Notes: write a draft (its units become pending on its auth and auth-group siblings), release
it (pending → used), void a released one (units back), delete a draft (pending back), read one.
All through rules.notes: the same unit locks, messages and audit trail as the console. A user
sees only the notes the console shows them (rules.notes.may_see_note); others are 404."""
from __future__ import annotations

from sqlalchemy import select

from extensions import db
from models import BillingCode, Note
from rules import NotFound
from rules.notes import create_note, delete_note, may_see_note, release_note, void_note
from rules.permissions import RELEASE_NOTES, VIEW_ALL_NOTES, VOID_NOTES, WRITE_NOTES

from . import schemas as s
from .auth import current_actor
from .authorizations import billing_code_id, utc
from .operations import body_fields, operation


def note_out(n: Note) -> dict:
    return {
        "id": n.id, "client_id": n.client_id, "provider_id": n.provider_id,
        "service_date": n.service_date,
        "billing_code": db.session.scalar(select(BillingCode.code)
                                          .where(BillingCode.id == n.billing_code_id)),
        "units": n.units, "status": n.status, "authorization_id": n.authorization_id,
        "payer": {"id": n.payer.id, "name": n.payer.name} if n.payer is not None else None,
        "charge": f"{n.charge:.2f}", "inpatient": n.inpatient, "comment": n.comment,
        "override_reason": n.override_reason, "created_at": utc(n.created_at),
        "created_by": n.created_by, "released_at": utc(n.released_at),
        "voided_at": utc(n.voided_at), "void_reason": n.void_reason,
    }


def visible_note(note_id: int) -> Note:
    """The note, if it exists and this user may see it; else 404 (existence is not revealed)."""
    note = db.session.get(Note, note_id)
    if note is None or not may_see_note(current_actor(), note):
        raise NotFound(f"Note N-{note_id} does not exist.")
    return note


@operation("POST", "/notes", summary="Write a draft note", tag="Notes", body=s.NoteCreate,
           response=s.Note, status=201, permission=WRITE_NOTES, errors=(409,),
           description="The note's units become pending on its authorization and on every "
                       "managed auth of the same auth group covering the service date (rule "
                       "3). 409 `insufficient_units` when an auth lacks the units, 409 "
                       "`no_usable_authorization` when no auth of the client can take the note "
                       "(`details` says why for each).")
def write_note(body: s.NoteCreate):
    actor = current_actor()
    sent = body_fields(body)
    override_reason = sent.pop("override_reason", None)
    if sent.get("provider_id") is None and actor.provider_id is not None:
        sent["provider_id"] = actor.provider_id
    if "billing_code" in sent:
        sent["billing_code_id"] = billing_code_id(sent.pop("billing_code"))
    note = create_note(db.session, actor, sent, override_reason=override_reason)
    return note_out(note)


@operation("GET", "/notes/{note_id}", summary="Read a note", tag="Notes", response=s.Note,
           access="Needs “See every provider's notes”, or “Write notes” for one's own notes; "
                  "another provider's note is 404.")
def get_note(note_id: int):
    actor = current_actor()
    if not (actor.can(VIEW_ALL_NOTES) or actor.can(WRITE_NOTES)):
        actor.require(VIEW_ALL_NOTES, "read notes")
    return note_out(visible_note(note_id))


@operation("POST", "/notes/{note_id}/release", summary="Release a note", tag="Notes",
           response=s.Note, permission=RELEASE_NOTES, errors=(409,),
           description="Pending → used on every auth the note claimed. 409 when the note is "
                       "not a draft.")
def release(note_id: int):
    visible_note(note_id)
    return note_out(release_note(db.session, current_actor(), note_id))


@operation("POST", "/notes/{note_id}/void", summary="Void a released note", tag="Notes",
           body=s.NoteVoid, response=s.Note, permission=VOID_NOTES, errors=(409,),
           description="Its units go back to remaining. 409 when the note is not released.")
def void(note_id: int, body: s.NoteVoid):
    return note_out(void_note(db.session, current_actor(), note_id, body.reason))


@operation("DELETE", "/notes/{note_id}", summary="Delete a draft note", tag="Notes",
           status=204, permission=WRITE_NOTES, errors=(409,),
           description="Its pending units are given back. 409 when the note is not a draft.")
def remove_note(note_id: int):
    delete_note(db.session, current_actor(), note_id)
    return None
