"""rules.notes beyond the unit accounting of test_rules_units: bad input to every note rule
(a clear message, nothing changed), who may write and move notes, last edited at/by on notes
(rule 12), and bulk release all or nothing."""
from __future__ import annotations

import datetime as dt

import pytest

from conftest import TODAY, snapshot_tables
from models import Alert, AuditRecord, Authorization, Note, NoteClaim
from rules import Actor, Conflict, DomainError
from rules.authorizations import update_authorization
from rules.notes import (create_note, delete_note, release_note, release_notes, update_note,
                         void_note)

DAY = dt.timedelta(days=1)
TABLES = (Authorization, Note, NoteClaim, AuditRecord, Alert)


@pytest.fixture
def chart(session, make):
    """A client with one 90834 auth (10 units, this month), a provider and a released and a
    draft note; committed."""
    client, provider, admin = make.client(), make.provider(), make.actor()
    auth = make.auth(client, "90834", start_date=dt.date(2026, 6, 1),
                     end_date=dt.date(2026, 6, 30))
    released = create_note(session, admin, {
        "client_id": client.id, "provider_id": provider.id, "authorization_id": auth.id,
        "service_date": TODAY, "units": 2}, today=TODAY)
    release_note(session, admin, released.id, today=TODAY)
    draft = create_note(session, admin, {
        "client_id": client.id, "provider_id": provider.id, "authorization_id": auth.id,
        "service_date": TODAY, "units": 1}, today=TODAY)
    session.commit()
    return {"client": client, "provider": provider, "admin": admin, "auth": auth,
            "released": released.id, "draft": draft.id}


def attempt_all(session, cases):
    """Run each refused call after the committed setup: {name: (error class, message)}, and
    each left the database as it was."""
    before = snapshot_tables(session, *TABLES)
    seen = {}
    for name, call in cases.items():
        try:
            call()
            seen[name] = "accepted"
        except DomainError as exc:
            seen[name] = (type(exc).__name__, exc.message)
        session.rollback()
        assert snapshot_tables(session, *TABLES) == before, f"{name} changed the database"
    return seen


def test_bad_input_to_create_note(session, make, chart):
    c, admin = chart, chart["admin"]
    inactive = make.provider("Gone", active=False)
    session.commit()

    def new(**fields):
        values = {"client_id": c["client"].id, "provider_id": c["provider"].id,
                  "authorization_id": c["auth"].id, "service_date": TODAY, "units": 1}
        values.update(fields)
        return lambda: create_note(session, admin, values, today=TODAY)

    cases = {
        "negative units": new(units=-1),
        "no units": new(units=0),
        "fractional units": new(units="1.5"),
        "huge units": new(units=10**9),
        "units as a list": new(units=[1]),
        "more units than left": new(units=8),
        "dated outside every auth": new(service_date="2026-07-01", authorization_id=None,
                                        billing_code_id=None),
        "dated outside its auth": new(service_date="2026-05-31"),
        "not a date": new(service_date="June 15"),
        "unknown field": new(minutes=45),
        "no client": new(client_id=None),
        "unknown client": new(client_id=9999),
        "client as text": new(client_id="one"),
        "unknown provider": new(provider_id=9999),
        "inactive provider": new(provider_id=inactive.id),
        "another client's auth": new(client_id=make_other_client(session, make)),
        "auth of another code": new(billing_code_id=make.code("90837").id),
    }
    auth_no = c["auth"].auth_number
    assert attempt_all(session, cases) == {
        "negative units": ("ValidationError", "Units: must be 1 or more"),
        "no units": ("ValidationError", "Units: must be 1 or more"),
        "fractional units": ("ValidationError", "Units: must be a whole number"),
        "huge units": ("ValidationError", "Units: must be 100,000 or less"),
        "units as a list": ("ValidationError", "Units: must be a whole number"),
        "more units than left": ("InsufficientUnits", f"Authorization {auth_no} (90834) has 7 "
                                 "units left; this note needs 8."),
        "dated outside every auth": ("NotUsable", f"{c['client']} cannot be documented on for "
                                     "any code on 2026-07-01."),
        "dated outside its auth": ("NotUsable", f"This note cannot use {auth_no}: {auth_no} "
                                   "(90834) starts on 2026-06-01; the service date 2026-05-31 "
                                   "is before it."),
        "not a date": ("ValidationError", "Service Date: must be a date (YYYY-MM-DD)"),
        "unknown field": ("ValidationError", "Minutes: cannot be set here"),
        "no client": ("ValidationError", "Client: is required"),
        "unknown client": ("ValidationError", "Client: does not exist"),
        "client as text": ("ValidationError", "Client: must be a whole number"),
        "unknown provider": ("ValidationError", "Provider: does not exist"),
        "inactive provider": ("ValidationError", "Provider: Gone, Pat is inactive"),
        "another client's auth": ("ValidationError",
                                  "Authorization: is not an authorization of this client"),
        "auth of another code": ("ValidationError", "Authorization: is for another billing code"),
    }


def make_other_client(session, make):
    other = make.client("Other")
    session.commit()
    return other.id


def test_bad_input_to_edit_release_void_delete(session, make, chart):
    c, admin = chart, chart["admin"]
    other_auth = make.auth(c["client"], "90837", allotted_units=1)
    session.commit()
    draft, released = c["draft"], c["released"]
    cases = {
        "edit: units 0": lambda: update_note(session, admin, draft, {"units": 0}, today=TODAY),
        "edit: too many units": lambda: update_note(session, admin, draft, {"units": 9},
                                                    today=TODAY),
        "edit: move to a full auth": lambda: update_note(session, admin, draft, {
            "authorization_id": other_auth.id, "billing_code_id": other_auth.billing_code_id,
            "units": 2}, today=TODAY),
        "edit: out of dates": lambda: update_note(session, admin, draft,
                                                  {"service_date": "2026-07-01"}, today=TODAY),
        "edit: another client": lambda: update_note(session, admin, draft, {"client_id": 2},
                                                    today=TODAY),
        "edit: unknown field": lambda: update_note(session, admin, draft, {"status": "released"},
                                                   today=TODAY),
        "edit: released note": lambda: update_note(session, admin, released, {"units": 1},
                                                   today=TODAY),
        "edit: missing note": lambda: update_note(session, admin, 999, {"units": 1},
                                                  today=TODAY),
        "release: released note": lambda: release_notes(session, admin, [draft, released],
                                                        today=TODAY),
        "release: nothing": lambda: release_notes(session, admin, [], today=TODAY),
        "release: not ids": lambda: release_notes(session, admin, [str(draft), "N-1"],
                                                  today=TODAY),
        "void: a draft": lambda: void_note(session, admin, draft, "typo", today=TODAY),
        "void: no reason": lambda: void_note(session, admin, released, "", today=TODAY),
        "void: reason too long": lambda: void_note(session, admin, released, "x" * 1001,
                                                   today=TODAY),
        "delete: released note": lambda: delete_note(session, admin, released, today=TODAY),
    }
    auth_no, other_no = c["auth"].auth_number, other_auth.auth_number
    assert attempt_all(session, cases) == {
        "edit: units 0": ("ValidationError", "Units: must be 1 or more"),
        "edit: too many units": ("InsufficientUnits", f"Authorization {auth_no} (90834) has 8 "
                                 "units left; this note needs 9."),
        "edit: move to a full auth": ("InsufficientUnits", f"Authorization {other_no} (90837) "
                                      "has 1 unit left; this note needs 2."),
        "edit: out of dates": ("NotUsable", f"This note cannot use {auth_no}: {auth_no} (90834) "
                               "ended on 2026-06-30; the service date 2026-07-01 is after it."),
        "edit: another client": ("ValidationError",
                                 "Client: cannot be changed; delete the draft instead"),
        "edit: unknown field": ("ValidationError", "Status: cannot be set here"),
        "edit: released note": ("Conflict", f"Note N-{released} is released; only draft notes "
                                "can be changed."),
        "edit: missing note": ("NotFound", "Note N-999 does not exist."),
        "release: released note": ("Conflict", "No note was released: 1 of 2 cannot be."),
        "release: nothing": ("ValidationError", "Choose at least one note to release."),
        "release: not ids": ("ValidationError", "Choose notes by their numbers."),
        "void: a draft": ("Conflict", f"Note N-{draft} is draft; only released notes can be "
                          "voided."),
        "void: no reason": ("ValidationError", "Reason: is required"),
        "void: reason too long": ("ValidationError", "Reason: must be at most 1000 characters"),
        "delete: released note": ("Conflict", f"Note N-{released} is released; only draft "
                                  "notes can be changed."),
    }


def test_bulk_release_is_all_or_nothing_and_names_each_problem(session, make, chart):
    c, admin = chart, chart["admin"]
    second = create_note(session, admin, {
        "client_id": c["client"].id, "provider_id": c["provider"].id,
        "authorization_id": c["auth"].id, "service_date": TODAY, "units": 1}, today=TODAY)
    session.commit()
    with pytest.raises(Conflict) as exc:
        release_notes(session, admin, [c["draft"], second.id, c["released"], 4040],
                      today=TODAY)
    assert exc.value.details == [f"Note N-{c['released']}: already released",
                                 "N-4040: does not exist"]
    session.rollback()
    auth = session.get(Authorization, c["auth"].id)
    assert (auth.remaining_units, auth.pending_units) == (8, 2)
    released = release_notes(session, admin, [second.id, c["draft"]], today=TODAY)
    assert [n.status for n in released] == ["released", "released"]
    assert (auth.remaining_units, auth.pending_units) == (6, 0)


def test_who_may_write_release_and_void(session, make, chart):
    c = chart
    me = make.provider("Me")
    as_me = make.actor("Provider", provider=me)
    billing, support = make.actor("Billing"), make.actor("Support Staff")
    mine = create_note(session, as_me, {
        "client_id": c["client"].id, "provider_id": me.id, "authorization_id": c["auth"].id,
        "service_date": TODAY, "units": 1}, today=TODAY)
    session.commit()
    cases = {
        "provider writes as someone else": lambda: create_note(session, as_me, {
            "client_id": c["client"].id, "provider_id": c["provider"].id,
            "authorization_id": c["auth"].id, "service_date": TODAY, "units": 1}, today=TODAY),
        "provider edits someone else's note": lambda: update_note(
            session, as_me, c["draft"], {"units": 2}, today=TODAY),
        "provider releases": lambda: release_note(session, as_me, mine.id, today=TODAY),
        "billing writes": lambda: create_note(session, billing, {
            "client_id": c["client"].id, "provider_id": me.id, "service_date": TODAY},
            today=TODAY),
        "support voids": lambda: void_note(session, support, c["released"], "dup", today=TODAY),
        "provider overrides": lambda: update_note(session, as_me, mine.id, {"units": 9},
                                                  override_reason="payer said so",
                                                  today=TODAY),
    }
    assert attempt_all(session, cases) == {
        "provider writes as someone else": ("PermissionDenied",
                                            "You may only write notes as yourself."),
        "provider edits someone else's note": ("NotFound", f"Note N-{c['draft']} does not exist."),
        "provider releases": ("PermissionDenied", "Your profile does not allow you to release "
                              "notes (needs “Release notes”)."),
        "billing writes": ("PermissionDenied", "Your profile does not allow you to write notes "
                           "(needs “Write notes”)."),
        "support voids": ("PermissionDenied", "Your profile does not allow you to void notes "
                          "(needs “Void released notes”)."),
        "provider overrides": ("PermissionDenied", "Your profile does not allow you to exceed "
                               "authorized units (needs “Exceed authorized units (override, "
                               "recorded)”)."),
    }


def test_every_change_of_a_note_records_who_and_when(session, make, chart):
    """Rule 12 on notes."""
    c = chart
    dana = Actor(user_id=3, name="Dana Reyes", permissions=c["admin"].permissions)
    blair = Actor(user_id=4, name="Blair Billing", permissions=c["admin"].permissions)
    note = create_note(session, dana, {
        "client_id": c["client"].id, "provider_id": c["provider"].id,
        "authorization_id": c["auth"].id, "service_date": TODAY, "units": 1}, today=TODAY)
    assert (note.created_by, note.last_edited_by) == ("Dana Reyes", "Dana Reyes")
    created = note.last_edited_at
    update_note(session, blair, note.id, {"comment": "late entry"}, today=TODAY)
    assert note.last_edited_by == "Blair Billing" and note.last_edited_at > created
    update_note(session, dana, note.id, {"units": 2}, today=TODAY)
    assert note.last_edited_by == "Dana Reyes"
    release_note(session, blair, note.id, today=TODAY)
    assert (note.last_edited_by, note.released_by) == ("Blair Billing", "Blair Billing")
    void_note(session, dana, note.id, "wrong day", today=TODAY)
    assert (note.last_edited_by, note.voided_by, note.void_reason) == \
        ("Dana Reyes", "Dana Reyes", "wrong day")
    assert note.created_by == "Dana Reyes"


# --- Decisions: overrides and voids -------------------------------------------------------------

def test_an_override_is_recorded_and_overdraws_until_back_within_units(session, make):
    client, provider = make.client(), make.provider()
    admin = Actor(user_id=1, name="Avery Admin", permissions=make.actor().permissions)
    by_void = make.auth(client, "90834", allotted_units=4, remaining_units=1)
    by_edit = make.auth(client, "90837", allotted_units=4, remaining_units=1)

    def write(auth, units, reason=None):
        return create_note(session, admin, {
            "client_id": client.id, "provider_id": provider.id, "authorization_id": auth.id,
            "service_date": TODAY, "units": units}, override_reason=reason, today=TODAY)

    note = write(by_void, 3, "Payer approved 2 more by phone, ref 4471")
    assert (note.override_by, note.override_reason) == \
        ("Avery Admin", "Payer approved 2 more by phone, ref 4471")
    assert note.override_at is not None
    assert (by_void.remaining_units, by_void.pending_units, by_void.overdrawn) == (1, 3, True)
    release_note(session, admin, note.id, today=TODAY)
    assert (by_void.remaining_units, by_void.pending_units, by_void.overdrawn) == (-2, 0, True)
    session.commit()
    with pytest.raises(DomainError) as exc:
        write(by_void, 1)
    assert str(exc.value) == (f"Authorization {by_void.auth_number} (90834) has no units left; "
                              "this note needs 1.")
    session.rollback()
    void_note(session, admin, note.id, "Payer withdrew the approval", today=TODAY)
    assert (by_void.remaining_units, by_void.pending_units, by_void.overdrawn) == (1, 0, False)

    other = write(by_edit, 2, "Court-ordered sessions")
    assert by_edit.overdrawn
    # New units from the payer: remaining typed back above pending ends the overdraft.
    update_authorization(session, admin, by_edit.id, {"allotted_units": 8, "remaining_units": 5},
                         today=TODAY)
    assert (by_edit.remaining_units, by_edit.pending_units, by_edit.overdrawn) == (5, 2, False)
    assert other.override_by == "Avery Admin"


def test_voiding_never_takes_remaining_above_allotted(session, make):
    client, provider, admin = make.client(), make.provider(), make.actor()
    auth = make.auth(client, allotted_units=5)
    note = create_note(session, admin, {
        "client_id": client.id, "provider_id": provider.id, "authorization_id": auth.id,
        "service_date": TODAY, "units": 2}, today=TODAY)
    release_note(session, admin, note.id, today=TODAY)
    assert auth.remaining_units == 3
    # Support corrects remaining by hand (the payer's count), then the note is voided.
    update_authorization(session, admin, auth.id, {"remaining_units": 4}, today=TODAY)
    void_note(session, admin, note.id, "Duplicate", today=TODAY)
    assert (auth.allotted_units, auth.remaining_units) == (5, 5)
