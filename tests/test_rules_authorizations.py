"""rules.authorizations: computed active status (rule 5), auth numbers (rule 11), last edited
at/by (rule 12), validation of every field, and the decisions DOMAIN.md leaves open (payer on
file, billing code fixed once notes exist, no delete with notes, no unmanaged while pending)."""
from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from conftest import TODAY, snapshot_tables
from models import (Alert, AuditRecord, AuthGroup, Authorization, ClientPayer, Counter, Note,
                    NoteClaim)
from rules import Actor, Conflict, PermissionDenied, ValidationError
from rules.audit import acting_as
from rules.authorizations import (active_condition, create_authorization,
                                  delete_authorization, is_active, reserve_auth_numbers,
                                  snapshot, update_authorization)
from rules.notes import create_note, release_note
from rules.permissions import EDIT_AUTHORIZATIONS, VIEW_AUTHORIZATIONS

DAY = dt.timedelta(days=1)
TABLES = (Authorization, Counter, AuditRecord, Alert, Note, NoteClaim)


def fields(make, code="90834", **kw):
    values = {"billing_code_id": make.code(code).id, "start_date": TODAY - 30 * DAY,
              "end_date": TODAY + 60 * DAY, "allotted_units": 10}
    values.update(kw)
    return values


def draft(session, actor, client, provider, auth, units=1, day=TODAY):
    return create_note(session, actor, {
        "client_id": client.id, "provider_id": provider.id, "authorization_id": auth.id,
        "service_date": day, "units": units}, today=TODAY)


# --- Rule 5: active is computed, never typed ------------------------------------------------

ACTIVE_CASES = {
    # name: (fields, active on TODAY)
    "starts today": ({"start_date": TODAY, "end_date": TODAY + 9 * DAY}, True),
    "ends today": ({"start_date": TODAY - 9 * DAY, "end_date": TODAY}, True),
    "one day, today": ({"start_date": TODAY, "end_date": TODAY}, True),
    "ended yesterday": ({"start_date": TODAY - 9 * DAY, "end_date": TODAY - DAY}, False),
    "starts tomorrow": ({"start_date": TODAY + DAY, "end_date": TODAY + 9 * DAY}, False),
    "remaining 0": ({"allotted_units": 4, "remaining_units": 0}, False),
    "remaining 1": ({"allotted_units": 4, "remaining_units": 1}, True),
    "unmanaged, 0 remaining": ({"allotted_units": 0, "unmanaged": True}, True),
    "unmanaged, ended yesterday": ({"unmanaged": True, "end_date": TODAY - DAY}, False),
}


def test_active_is_computed_at_the_boundaries(session, make):
    client = make.client()
    made = {name: make.auth(client, **values) for name, (values, _) in ACTIVE_CASES.items()}
    expected = {name for name, (_, active) in ACTIVE_CASES.items() if active}
    assert {n for n, a in made.items() if a.active} == expected
    assert {n for n, a in made.items() if is_active(a, TODAY)} == expected
    active_ids = set(session.scalars(sa.select(Authorization.id).where(
        Authorization.client_id == client.id, active_condition(TODAY))))
    assert {n for n, a in made.items() if a.id in active_ids} == expected


def test_active_cannot_be_typed(session, make):
    client = make.client()
    with pytest.raises(ValidationError) as exc:
        create_authorization(session, make.system, client.id,
                             fields(make, active=True, end_date=TODAY - DAY), today=TODAY)
    assert exc.value.fields == {"active": "cannot be set here"}


def test_active_follows_every_edit(session, make):
    client = make.client()
    auth = make.auth(client, allotted_units=5)
    assert auth.active
    update_authorization(session, make.system, auth.id, {"end_date": TODAY - DAY}, today=TODAY)
    assert auth.active is False
    update_authorization(session, make.system, auth.id, {"end_date": TODAY}, today=TODAY)
    assert auth.active is True
    update_authorization(session, make.system, auth.id, {"remaining_units": 0}, today=TODAY)
    assert auth.active is False
    update_authorization(session, make.system, auth.id, {"unmanaged": True}, today=TODAY)
    assert auth.active is True


# --- Rule 2: remaining is typed on creation, defaulting to allotted --------------------------

def test_blank_remaining_defaults_to_allotted(session, make):
    client = make.client()
    auth = create_authorization(session, make.system, client.id,
                                fields(make, allotted_units="12", remaining_units=""),
                                today=TODAY)
    assert (auth.allotted_units, auth.remaining_units, auth.pending_units) == (12, 12, 0)


def test_blank_remaining_on_an_edit_is_refused_and_changes_nothing(session, make):
    """Only a new auth defaults remaining to allotted: on an edit a blank would give back the
    units already used (here 5 of 12), so it is refused with a message naming the field."""
    client = make.client()
    auth = make.auth(client, allotted_units=12, remaining_units=7)
    session.commit()
    before = snapshot(auth)
    with pytest.raises(ValidationError) as refused:
        update_authorization(session, make.system, auth.id, {"remaining_units": ""},
                             today=TODAY)
    assert "cannot be blank" in refused.value.fields["remaining_units"]
    session.rollback()
    assert snapshot(session.get(Authorization, auth.id)) == before
    update_authorization(session, make.system, auth.id, {"remaining_units": "12"}, today=TODAY)
    assert session.get(Authorization, auth.id).remaining_units == 12


# --- Rule 11: auth numbers -------------------------------------------------------------------

def test_generated_numbers_are_readable_and_unique(session, make):
    client = make.client()
    numbers = [make.auth(client, code).auth_number for code in ("90832", "90834", "90837")]
    assert numbers == ["A-000001", "A-000002", "A-000003"]
    assert reserve_auth_numbers(session, 3) == ["A-000004", "A-000005", "A-000006"]
    assert make.auth(client, "90853").auth_number == "A-000007"


def test_a_typed_payer_number_is_kept_and_may_repeat_across_codes(session, make):
    client = make.client()
    typed = [make.auth(client, code, auth_number="  BCBS-778120 ").auth_number
             for code in ("90832", "90834")]
    assert typed == ["BCBS-778120", "BCBS-778120"]
    # A typed number uses no generated one.
    assert make.auth(client, "90837").auth_number == "A-000001"


def test_the_generated_form_cannot_be_typed(session, make):
    client = make.client()
    session.commit()
    before = snapshot_tables(session, *TABLES)
    for number in ("A-000009", "a-12", "A-1", " A-42 "):
        with pytest.raises(ValidationError) as exc:
            make.auth(client, auth_number=number)
        assert str(exc.value) == ("Auth #: numbers of the form A-123 are generated by "
                                  "Authdesk; leave it blank or type the payer's number"), number
        session.rollback()
        assert snapshot_tables(session, *TABLES) == before


def test_editing_keeps_or_regenerates_the_number(session, make):
    client = make.client()
    auth = make.auth(client)
    other = make.auth(client, "90837")
    assert (auth.auth_number, other.auth_number) == ("A-000001", "A-000002")
    # A form sends the auth's own number back with the other fields: that is not typing it.
    update_authorization(session, make.system, auth.id,
                         {"auth_number": "a-000001", "allotted_units": 12}, today=TODAY)
    assert (auth.auth_number, auth.allotted_units) == ("A-000001", 12)
    session.commit()
    # … but taking another auth's generated number is.
    with pytest.raises(ValidationError) as exc:
        update_authorization(session, make.system, auth.id, {"auth_number": "A-000002"},
                             today=TODAY)
    assert "are generated by Authdesk" in exc.value.fields["auth_number"]
    session.rollback()
    update_authorization(session, make.system, auth.id, {"auth_number": "MCD 44-1"},
                         today=TODAY)
    assert auth.auth_number == "MCD 44-1"
    # Clearing a typed number gives a new generated one; clearing a generated one keeps it.
    update_authorization(session, make.system, auth.id, {"auth_number": ""}, today=TODAY)
    assert auth.auth_number == "A-000003"
    update_authorization(session, make.system, auth.id, {"auth_number": None}, today=TODAY)
    assert auth.auth_number == "A-000003"


def test_numbers_stay_unique_when_created_concurrently(app, session, make):
    from extensions import db
    from test_rules_locking import run_at_once

    client = make.client()
    code_id = make.code("90834").id
    session.commit()
    client_id, system = client.id, Actor.system()

    def work(s, i):
        auths = [create_authorization(s, system, client_id, {
            "billing_code_id": code_id, "start_date": TODAY, "end_date": TODAY + DAY,
            "allotted_units": 1}, today=TODAY) for _ in range(3)]
        s.commit()
        return [a.auth_number for a in auths]

    results = run_at_once(app, system, work, n=12)
    assert all(isinstance(r, list) for r in results), results
    numbers = sorted(n for r in results for n in r)
    assert numbers == [f"A-{k:06d}" for k in range(1, 37)]
    assert db.session.get(Counter, "auth_number").value == 36


# --- Rule 12: last edited at / by -------------------------------------------------------------

def test_every_edit_records_who_and_when(session, make):
    client = make.client()
    support = make.actor("Support Staff")
    with acting_as(session, support):
        auth = make.auth(client, actor=support)
    assert auth.last_edited_by == "Test Support Staff"
    first = auth.last_edited_at
    admin = Actor(user_id=7, name="Avery Admin", permissions=make.actor().permissions)
    with acting_as(session, admin):
        update_authorization(session, admin, auth.id, {"unit_alert_level": "2"}, today=TODAY)
    assert auth.last_edited_by == "Avery Admin" and auth.last_edited_at > first
    record = session.scalars(sa.select(AuditRecord).where(
        AuditRecord.object_id == auth.id, AuditRecord.object_type == "authorization")
        .order_by(AuditRecord.id.desc())).first()
    assert record.actor_name == "Avery Admin"
    assert record.changes["unit_alert_level"] == [None, 2]
    assert record.changes["last_edited_by"] == ["Test Support Staff", "Avery Admin"]


def test_saving_without_a_change_is_not_an_edit(session, make):
    client = make.client()
    auth = make.auth(client, allotted_units=10)
    session.commit()
    stamp = (auth.last_edited_at, auth.last_edited_by, auth.version)
    before = snapshot_tables(session, *TABLES)
    update_authorization(session, make.actor(), auth.id,
                         {"allotted_units": "10", "auth_number": auth.auth_number}, today=TODAY)
    session.commit()
    assert (auth.last_edited_at, auth.last_edited_by, auth.version) == stamp
    assert snapshot_tables(session, *TABLES) == before  # not even an audit record


def test_units_moved_by_notes_are_not_edits_of_the_auth(session, make):
    """A decision: last edited tells who last changed the auth's terms; the notes that draw on
    it are recorded in the audit trail ("units"), not as edits."""
    client, provider, admin = make.client(), make.provider(), make.actor()
    auth = make.auth(client, allotted_units=10)
    stamp = (auth.last_edited_at, auth.last_edited_by)
    n = draft(session, admin, client, provider, auth, units=2)
    release_note(session, admin, n.id, today=TODAY)
    session.refresh(auth)
    assert auth.remaining_units == 8 and (auth.last_edited_at, auth.last_edited_by) == stamp
    comments = session.scalars(sa.select(AuditRecord.comment).where(
        AuditRecord.object_id == auth.id, AuditRecord.action == "units")
        .order_by(AuditRecord.id)).all()
    assert comments == [f"Note N-{n.id} claimed 2", f"Note N-{n.id} released"]


# --- Permissions on managed auths -------------------------------------------------------------

def test_restricted_fields_need_the_managed_units_permission(session, make):
    client = make.client()
    managed = make.auth(client, allotted_units=10)
    unmanaged = make.auth(client, "H0031", allotted_units=0, unmanaged=True)
    clerk = Actor(user_id=None, name="Clerk",
                  permissions=frozenset({EDIT_AUTHORIZATIONS, VIEW_AUTHORIZATIONS}))
    session.commit()
    before = snapshot_tables(session, *TABLES)
    with pytest.raises(PermissionDenied) as exc:
        update_authorization(session, clerk, managed.id,
                             {"remaining_units": 3, "end_date": TODAY + 90 * DAY}, today=TODAY)
    assert str(exc.value) == ("Your profile may not change Remaining Units, End Date on a "
                              "managed authorization (A-000001).")
    session.rollback()
    assert snapshot_tables(session, *TABLES) == before
    # Other fields, and any field of an unmanaged auth, are fine.
    update_authorization(session, clerk, managed.id, {"unit_alert_level": 2}, today=TODAY)
    update_authorization(session, clerk, unmanaged.id, {"end_date": TODAY + 90 * DAY},
                         today=TODAY)
    assert managed.unit_alert_level == 2 and unmanaged.end_date == TODAY + 90 * DAY
    provider = make.actor("Provider")
    with pytest.raises(PermissionDenied) as exc:
        update_authorization(session, provider, managed.id, {"unit_alert_level": 1},
                             today=TODAY)
    assert str(exc.value) == ("Your profile does not allow you to edit authorizations "
                              "(needs “Add and edit authorizations”).")


# --- Bad input: a clear message, nothing changed ----------------------------------------------

BAD_CREATE = [
    ({"allotted_units": -1}, "Allotted Units: must be 0 or more"),
    ({"allotted_units": "ten"}, "Allotted Units: must be a whole number"),
    ({"allotted_units": 2.5}, "Allotted Units: must be a whole number"),
    ({"allotted_units": True}, "Allotted Units: must be a whole number"),
    ({"allotted_units": [3]}, "Allotted Units: must be a whole number"),
    ({"allotted_units": 10**12}, "Allotted Units: must be 100,000 or less"),
    ({"allotted_units": "9" * 40}, "Allotted Units: must be a whole number"),
    ({"allotted_units": None}, "Allotted Units: must be a whole number"),
    ({"remaining_units": -2}, "Remaining Units: must be 0 or more"),
    ({"remaining_units": 11}, "Remaining Units: cannot be more than the allotted units (10)"),
    ({"end_date": TODAY - 31 * DAY},
     f"End Date: must be on or after the start date ({(TODAY - 30 * DAY).isoformat()})"),
    ({"start_date": "15/06/2026"}, "Start Date: must be a date (YYYY-MM-DD)"),
    ({"start_date": "1850-01-01"}, "Start Date: must be between 1900 and 2199"),
    ({"end_date": 20260615}, "End Date: must be a date (YYYY-MM-DD)"),
    ({"sliding_scale_pct": "100.01"}, "Sliding Scale %: must be a number from 0 to 100"),
    ({"sliding_scale_pct": -5}, "Sliding Scale %: must be a number from 0 to 100"),
    ({"sliding_scale_pct": "NaN"}, "Sliding Scale %: must be a number from 0 to 100"),
    ({"sliding_scale_pct": "12.345"}, "Sliding Scale %: may have at most two decimals"),
    ({"unit_alert_level": -1}, "Unit Alert Level: must be 0 or more"),
    ({"exp_alert_days": -1}, "Exp. Alert Days: must be 0 or more"),
    ({"exp_alert_days": 5000}, "Exp. Alert Days: must be 3,650 or less"),
    ({"unmanaged": "maybe"}, "Unmanaged: must be yes or no"),
    ({"auth_number": "X" * 41}, "Auth #: must be at most 40 characters"),
    ({"auth_number": 12345}, "Auth #: must be text"),
    ({"billing_code_id": None}, "Billing Code: is required"),
    ({"billing_code_id": 99999}, "Billing Code: Billing code #99999 does not exist"),
    ({"auth_group_id": "abc"}, "Auth Group: must be a whole number"),
    ({"pending_units": 3}, "Pending Units: cannot be set here"),
    ({"colour": "red"}, "Colour: cannot be set here"),
    ({"last_edited_by": "me"}, "Last edited by: cannot be set here"),
]


def refusals(session, attempt, cases, tables=TABLES):
    """Try each bad input after committing the setup; return {case: message} and check that
    each refusal left the database as it was."""
    session.commit()
    before = snapshot_tables(session, *tables)
    messages = {}
    for i, (bad, _) in enumerate(cases):
        try:
            attempt(bad)
            messages[i] = "accepted"
        except ValidationError as exc:
            messages[i] = str(exc)
        session.rollback()
        assert snapshot_tables(session, *tables) == before, f"case {bad} changed the database"
    return messages


def test_bad_input_on_create_changes_nothing(session, make):
    client = make.client()
    messages = refusals(session, lambda bad: create_authorization(
        session, make.system, client.id, fields(make, **bad), today=TODAY), BAD_CREATE)
    assert messages == {i: message for i, (_, message) in enumerate(BAD_CREATE)}


def test_all_problems_are_reported_together(session, make):
    client = make.client()
    with pytest.raises(ValidationError) as exc:
        create_authorization(session, make.system, client.id, fields(
            make, allotted_units=-1, sliding_scale_pct="101", exp_alert_days="soon"),
            today=TODAY)
    assert exc.value.fields == {"allotted_units": "must be 0 or more",
                                "sliding_scale_pct": "must be a number from 0 to 100",
                                "exp_alert_days": "must be a whole number"}


def test_unknown_client_is_refused(session, make):
    with pytest.raises(ValidationError) as exc:
        create_authorization(session, make.system, 999, fields(make), today=TODAY)
    assert str(exc.value) == "Client: does not exist"


BAD_UPDATE = [
    ({"allotted_units": 3}, "Remaining Units: cannot be more than the allotted units (3)"),
    ({"remaining_units": 11}, "Remaining Units: cannot be more than the allotted units (10)"),
    ({"remaining_units": 1},
     "Remaining Units: cannot be less than the 2 units pending on draft notes"),
    ({"unmanaged": True}, "Unmanaged: cannot be set while 2 units are pending on draft notes; "
                          "release or delete those notes first"),
    ({"start_date": TODAY + 61 * DAY},
     f"End Date: must be on or after the start date ({(TODAY + 61 * DAY).isoformat()})"),
    ({"sliding_scale_pct": 150}, "Sliding Scale %: must be a number from 0 to 100"),
    ({"exp_alert_days": -3}, "Exp. Alert Days: must be 0 or more"),
    ({"active": False}, "Active: cannot be set here"),
    ({"billing_code_id": "90837"},
     "Billing Code: cannot change: notes were written on this authorization; "
     "end it and add a new one"),
]


def test_bad_input_on_update_changes_nothing(session, make):
    client, provider, admin = make.client(), make.provider(), make.actor()
    auth = make.auth(client, allotted_units=10, remaining_units=4)
    draft(session, admin, client, provider, auth, units=2)
    cases = [({"billing_code_id": make.code("90837").id} if bad.get("billing_code_id") else bad,
              message) for bad, message in BAD_UPDATE]
    messages = refusals(session, lambda bad: update_authorization(
        session, make.system, auth.id, bad, today=TODAY), cases)
    assert messages == {i: message for i, (_, message) in enumerate(BAD_UPDATE)}


def test_editing_a_missing_auth(session, make):
    with pytest.raises(Exception) as exc:
        update_authorization(session, make.system, 4242, {"allotted_units": 3}, today=TODAY)
    assert str(exc.value) == ("Authorization #4242 does not exist (it may have been "
                              "deleted).")


# --- Decisions where DOMAIN.md is silent ------------------------------------------------------

def test_the_auths_payer_must_be_on_the_clients_file(session, make):
    on_file, elsewhere = make.payer("Aetna"), make.payer("Cigna")
    client = make.client(payers=[on_file])
    session.commit()
    before = snapshot_tables(session, *TABLES)
    with pytest.raises(ValidationError) as exc:
        make.auth(client, insurance_company_id=elsewhere.id)
    assert str(exc.value) == "Insurance Company: is not one of the client's payers on file"
    session.rollback()
    assert snapshot_tables(session, *TABLES) == before
    auth = make.auth(client, insurance_company_id=on_file.id)
    assert auth.insurance_company.name == "Aetna"
    # A payer later taken off the file stays on the auths that already have it.
    session.execute(sa.delete(ClientPayer).where(ClientPayer.client_id == client.id))
    update_authorization(session, make.system, auth.id, {"allotted_units": 12}, today=TODAY)
    assert auth.insurance_company_id == on_file.id


def test_inactive_choices_stay_where_used_but_cannot_be_chosen(session, make):
    """Rule 14 as the rules see it."""
    client = make.client()
    group = session.scalar(sa.select(AuthGroup).where(AuthGroup.name == "Auth Group 2"))
    auth = make.auth(client, auth_group_id=group.id)
    group.active = False
    session.flush()
    update_authorization(session, make.system, auth.id, {"allotted_units": 11}, today=TODAY)
    assert auth.auth_group_id == group.id
    with pytest.raises(ValidationError) as exc:
        make.auth(client, "90837", auth_group_id=group.id)
    assert str(exc.value) == "Auth Group: Auth group “Auth Group 2 (inactive)” is inactive " \
                             "and cannot be chosen"


def test_an_auth_with_notes_cannot_be_deleted(session, make):
    client, provider, admin = make.client(), make.provider(), make.actor()
    used = make.auth(client, allotted_units=5)
    unused = make.auth(client, "90837")
    n = draft(session, admin, client, provider, used)
    release_note(session, admin, n.id, today=TODAY)
    session.commit()
    before = snapshot_tables(session, *TABLES)
    with pytest.raises(Conflict) as exc:
        delete_authorization(session, admin, used.id)
    assert str(exc.value) == ("Authorization A-000001 has notes written against it and cannot "
                              "be deleted; set its end date or exclude it from notes instead.")
    session.rollback()
    assert snapshot_tables(session, *TABLES) == before
    delete_authorization(session, admin, unused.id)
    assert session.get(Authorization, unused.id) is None
    with pytest.raises(PermissionDenied):
        delete_authorization(session, make.actor("Billing"), used.id)


def test_a_group_sibling_drawn_on_cannot_be_deleted_either(session, make):
    client, provider, admin = make.client(), make.provider(), make.actor()
    group = session.scalar(sa.select(AuthGroup).where(AuthGroup.name == "Auth Group 1"))
    a = make.auth(client, "90834", auth_group_id=group.id)
    b = make.auth(client, "90837", auth_group_id=group.id)
    draft(session, admin, client, provider, a)
    with pytest.raises(Conflict):
        delete_authorization(session, admin, b.id)
