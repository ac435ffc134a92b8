"""Issue 7 (rule 19) through the web: each write path a user takes in the console — the
authorization forms (master list create and edit, the chart's grid), Update Codes Listed, Bulk
Add, note release and void — and the daily job run from the command line leave the right audit
records: object type and id, action, before → after of exactly the changed fields, the user (id
and name), the request id the response carried, and the batch of a bulk operation.
tests/test_audit_records.py proves the same at the rules level; this is the path from the
screens. The master list has no inline editing (``column_editable_list`` is empty): its
ajax-update endpoint is refused and writes nothing."""
from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from admin_views.authorizations import AuthorizationListView
from bulk_support import add_form, batch_id_of, press, therapy_group, update_form
from conftest import WebClient
from models import AuditBatch, AuditRecord, Authorization, Note
from rules.clock import clinic_today
from rules.notes import create_note, release_note

AUTHS = "/console/authorizations"
NOTES = "/console/notes"


def iso(days: int) -> str:
    return (clinic_today() + dt.timedelta(days=days)).isoformat()


def mark(session) -> int:
    session.rollback()
    return session.scalar(sa.select(sa.func.coalesce(sa.func.max(AuditRecord.id), 0)))


def since(session, start: int) -> list[AuditRecord]:
    session.rollback()
    return list(session.scalars(sa.select(AuditRecord).where(AuditRecord.id > start)
                                .order_by(AuditRecord.id)))


@pytest.fixture
def world(app, users, session, make):
    t = clinic_today()
    aetna = make.payer("Aetna")
    client = make.client("Hanson", first_name="Mark", payers=[aetna])
    auth = make.auth(client, "90834", today=t, allotted_units=10,
                     start_date=t - dt.timedelta(days=10), end_date=t + dt.timedelta(days=30))
    session.commit()
    return {"client": client, "auth": auth, "aetna": aetna, "users": users,
            **{role: WebClient.logged_in(app, role) for role in ("support", "billing")}}


def terms(record: AuditRecord) -> dict:
    """The changes of a record but the edit stamp (last edited at/by, rule 12) beside them."""
    stamp = record.changes.get("last_edited_at")
    assert stamp is None or (stamp[0] != stamp[1] and stamp[1] is not None)
    return {k: v for k, v in record.changes.items()
            if k not in ("last_edited_at", "last_edited_by")}


def who(record: AuditRecord) -> tuple:
    return record.actor_id, record.actor_name


def test_the_create_form_records_the_new_auth_the_user_and_the_request(world, session):
    start = mark(session)
    response = world["support"].post(f"{AUTHS}/new/", {
        "client": str(world["client"].id), "billing_code_id": "2", "start_date": iso(0),
        "end_date": iso(60), "allotted_units": "12", "remaining_units": "9",
        "auth_number": "PAYER-77", "insurance_company_id": str(world["aetna"].id)})
    assert response.status_code == 302
    records = [r for r in since(session, start) if r.object_type == "authorization"]
    [record] = records
    auth = session.get(Authorization, record.object_id)
    assert (record.action, auth.client_id, record.client_id) == (
        "create", world["client"].id, world["client"].id)
    assert record.object_label == f"PAYER-77 ({auth.billing_code.code}) – Hanson, Mark"
    assert {k: record.changes[k] for k in ("allotted_units", "remaining_units", "auth_number",
                                           "start_date", "insurance_company_id")} == {
        "allotted_units": [None, 12], "remaining_units": [None, 9],
        "auth_number": [None, "PAYER-77"], "start_date": [None, iso(0)],
        "insurance_company_id": [None, world["aetna"].id]}
    assert who(record) == (world["users"]["support"], "Support")
    assert record.request_id == response.headers["X-Request-Id"] and record.batch_id is None
    assert auth.last_edited_by == "Support"


def test_the_edit_form_records_before_and_after_of_the_changed_fields_only(world, session):
    from admin_views.forms import shown
    from rules.authorizations import EDITABLE_FIELDS

    auth = world["auth"]
    shown_values = {f: shown(getattr(auth, f)) for f in EDITABLE_FIELDS}
    start = mark(session)
    response = world["support"].post(f"{AUTHS}/edit/?id={auth.id}", {
        **shown_values, "unit_alert_level": "3", "end_date": iso(45)})
    assert response.status_code == 302
    [record] = since(session, start)
    assert (record.object_type, record.object_id, record.action) == (
        "authorization", auth.id, "update")
    assert terms(record) == {"unit_alert_level": [None, 3], "end_date": [iso(30), iso(45)]}
    assert record.changes["last_edited_by"] == ["system", "Support"]
    assert who(record) == (world["users"]["support"], "Support")
    assert record.request_id == response.headers["X-Request-Id"] and record.batch_id is None
    assert record.version == 2


def test_the_chart_grid_records_each_line_under_one_request(world, session):
    auth, client = world["auth"], world["client"]
    start = mark(session)
    response = world["support"].post(f"/console/clients/chart/{client.id}/authorizations", {
        f"a{auth.id}-allotted_units": "14", f"a{auth.id}-remaining_units": "14",
        "n1-billing_code_id": "3", "n1-start_date": iso(0), "n1-end_date": iso(20),
        "n1-allotted_units": "6"})
    assert response.status_code == 302
    records = since(session, start)
    assert all(r.object_type == "authorization" for r in records)
    updated = [r for r in records if r.action == "update"]
    created = [r for r in records if r.action == "create"]
    assert len(records) == 2 and len(updated) == len(created) == 1
    assert updated[0].object_id == auth.id
    assert terms(updated[0]) == {"allotted_units": [10, 14], "remaining_units": [10, 14]}
    assert updated[0].changes["last_edited_by"] == ["system", "Support"]
    assert created[0].changes["allotted_units"] == [None, 6]
    assert {r.request_id for r in records} == {response.headers["X-Request-Id"]}
    assert {who(r) for r in records} == {(world["users"]["support"], "Support")}
    assert {r.batch_id for r in records} == {None}


def test_the_master_list_has_no_inline_editing_and_its_ajax_update_writes_nothing(
        world, session):
    assert not AuthorizationListView.column_editable_list
    start = mark(session)
    response = world["support"].post(f"{AUTHS}/ajax/update/", {
        "list_form_pk": str(world["auth"].id), "allotted_units": "99"})
    assert 400 <= response.status_code < 500
    assert since(session, start) == []
    assert session.get(Authorization, world["auth"].id).allotted_units == 10


def test_update_codes_listed_records_each_row_in_one_batch(world, session, make):
    other = make.auth(make.client("Other"), "90837", today=clinic_today(), allotted_units=8,
                      end_date=clinic_today() + dt.timedelta(days=40))
    session.commit()
    url = "/console/bulk/list/authorizations/"
    support = world["support"]
    confirm = support.post(url, {**update_form(exp_alert_days="14"),
                                 "list_args": f"code={world['auth'].billing_code_id}",
                                 "op": "update"})
    assert confirm.status_code == 200
    start = mark(session)
    done = press(support, url, confirm, "apply_update")
    batch_id = batch_id_of(done)
    records = since(session, start)
    assert [(r.object_type, r.object_id, r.action) for r in records] == [
        ("authorization", world["auth"].id, "update")]  # the filter: 90834 only, not `other`
    [record] = records
    assert record.changes == {"exp_alert_days": [None, 14]}
    assert record.batch_id == batch_id and record.request_id == done.headers["X-Request-Id"]
    assert who(record) == (world["users"]["support"], "Support")
    batch = session.get(AuditBatch, batch_id)
    assert (batch.kind, batch.row_count, batch.actor_id, batch.actor_name) == (
        "update_codes_listed", 1, world["users"]["support"], "Support")
    assert session.get(Authorization, other.id).exp_alert_days is None


def test_bulk_add_records_each_new_auth_in_one_batch(world, session, make):
    group = therapy_group(session, make)
    session.commit()
    client = world["client"]
    start = mark(session)
    done = world["support"].post(f"/console/bulk/client/{client.id}/",
                                 {**add_form(group.id), "op": "add"})
    batch_id = batch_id_of(done)
    records = since(session, start)
    assert len(records) == 4 and {(r.object_type, r.action) for r in records} == {
        ("authorization", "create")}
    new = {a.id: a for a in session.scalars(sa.select(Authorization).where(
        Authorization.client_id == client.id, Authorization.id != world["auth"].id))}
    assert {r.object_id for r in records} == set(new)
    assert {new[r.object_id].billing_code.code for r in records} == {
        "90832", "90834", "90837", "90853"}
    assert all(r.changes["allotted_units"] == [None, 20] and r.client_id == client.id
               and r.batch_id == batch_id and r.request_id == done.headers["X-Request-Id"]
               and who(r) == (world["users"]["support"], "Support") for r in records)
    batch = session.get(AuditBatch, batch_id)
    assert (batch.kind, batch.row_count, batch.actor_name) == ("bulk_add", 4, "Support")


@pytest.fixture
def notes(world, session, make):
    admin = make.actor("Administrator")
    provider_id = world["users"]["provider_id"]
    fields = {"client_id": world["client"].id, "provider_id": provider_id,
              "service_date": clinic_today(), "authorization_id": world["auth"].id}
    draft = create_note(session, admin, {**fields, "units": 2})
    released = create_note(session, admin, {**fields, "units": 3})
    session.flush()
    release_note(session, admin, released.id)
    session.commit()
    return draft.id, released.id


def test_releasing_a_note_records_the_note_and_the_units_it_moved(world, session, notes):
    draft, _ = notes
    auth = world["auth"]
    start = mark(session)
    response = world["billing"].post(f"{NOTES}/release/", {"id": draft})
    assert response.status_code == 302
    records = since(session, start)
    [note] = [r for r in records if r.object_type == "note"]
    [units] = [r for r in records if r.object_type == "authorization"]
    assert (note.object_id, note.action) == (draft, "update")
    assert note.changes["status"] == ["draft", "released"]
    assert (units.object_id, units.action) == (auth.id, "units")
    assert units.changes == {"remaining_units": [7, 5], "pending_units": [2, 0]}
    assert units.comment == f"Note N-{draft} released"
    assert {r.request_id for r in records} == {response.headers["X-Request-Id"]}
    assert {who(r) for r in records} == {(world["users"]["billing"], "Billing")}
    # One note released from its page is no bulk operation: no batch (several are one).
    assert {r.batch_id for r in records} == {None}
    assert session.get(Note, draft).status == "released"


def test_voiding_a_note_records_the_reason_and_the_units_given_back(world, session, notes):
    _, released = notes
    auth = world["auth"]
    start = mark(session)
    response = world["billing"].post(f"{NOTES}/void/", {"id": released,
                                                         "reason": "billed in error"})
    assert response.status_code == 302
    records = since(session, start)
    [note] = [r for r in records if r.object_type == "note"]
    [units] = [r for r in records if r.object_type == "authorization"]
    assert (note.object_id, note.action) == (released, "update")
    assert note.changes["status"] == ["released", "voided"]
    assert note.changes["void_reason"] == [None, "billed in error"]
    assert (units.object_id, units.action, units.comment) == (
        auth.id, "units", f"Note N-{released} voided")
    assert units.changes == {"remaining_units": [7, 10]}
    assert {r.request_id for r in records} == {response.headers["X-Request-Id"]}
    assert {who(r) for r in records} == {(world["users"]["billing"], "Billing")}


def test_refresh_status_from_the_command_line_is_system_in_one_batch(app, session, make):
    t = clinic_today()
    client = make.client("Young")
    ending = make.auth(client, "90834", today=t, start_date=t - dt.timedelta(days=10),
                       end_date=t + dt.timedelta(days=1))
    starting = make.auth(client, "90837", today=t, start_date=t + dt.timedelta(days=2),
                         end_date=t + dt.timedelta(days=40))
    untouched = make.auth(client, "90832", today=t, start_date=t - dt.timedelta(days=10),
                          end_date=t + dt.timedelta(days=90))
    session.commit()
    start = mark(session)
    later = (t + dt.timedelta(days=2)).isoformat()
    result = app.test_cli_runner().invoke(args=["authorizations", "refresh-status",
                                                "--today", later])
    assert result.exit_code == 0, result.output
    records = [r for r in since(session, start) if r.object_type == "authorization"]
    assert {(r.object_id, r.action) for r in records} == {(ending.id, "status"),
                                                         (starting.id, "status")}
    assert {r.object_id: r.changes for r in records} == {
        ending.id: {"active": [True, False]}, starting.id: {"active": [False, True]}}
    assert {who(r) for r in records} == {(None, "system")}
    [batch_id] = {r.batch_id for r in records}
    batch = session.get(AuditBatch, batch_id)
    assert (batch.kind, batch.row_count, batch.actor_name) == ("refresh_status", 2, "system")
    assert all(r.batch_id == batch_id for r in since(session, start))  # nothing outside it
    assert untouched.id not in {r.object_id for r in records}
    assert {session.get(Authorization, a.id).last_edited_by
            for a in (ending, starting)} == {"system"}


def test_releasing_notes_from_the_list_is_one_batch(world, session, notes, make):
    draft, _ = notes
    second = create_note(session, make.actor("Administrator"), {
        "client_id": world["client"].id, "provider_id": world["users"]["provider_id"],
        "service_date": clinic_today(), "authorization_id": world["auth"].id, "units": 1})
    session.commit()
    start = mark(session)
    response = world["billing"].post(f"{NOTES}/action/", {"action": "release",
                                                          "rowid": [draft, second.id]})
    assert response.status_code == 302
    records = since(session, start)
    assert {(r.object_type, r.object_id) for r in records if r.object_type == "note"} == {
        ("note", draft), ("note", second.id)}
    [batch_id] = {r.batch_id for r in records}
    batch = session.get(AuditBatch, batch_id)
    assert (batch.kind, batch.actor_id, batch.actor_name) == (
        "release_notes", world["users"]["billing"], "Billing")
    assert {r.request_id for r in records} == {response.headers["X-Request-Id"]}
    units = [r for r in records if r.object_type == "authorization"]
    assert sorted(r.changes["pending_units"][0] - r.changes["pending_units"][1]
                  for r in units) == [1, 2]
