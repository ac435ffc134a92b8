"""Undo of a bulk operation from its result page and from the audit trail's batch page (POST,
CSRF, a confirmation): the before-values come back; auths changed since are refused with a
list, then "undo the others" leaves them alone. And the audit: one batch per operation (bulk
update, bulk add, undo), with the right rows."""
import sqlalchemy as sa

from bulk_support import (TABLES, add_form, auths_of, batch_id_of, batches, day, iso, press,
                          records_of, text, therapy_group, update_form)
from hostile import database_state
from models import AuditRecord
from rules.authorizations import update_authorization
from rules.clock import clinic_today


def _clients_with_auths(session, make, n=3):
    clients = [make.client(f"Client{i}", first_name="Kim") for i in range(n)]
    auths = [make.auth(c, "90834", today=clinic_today(), start_date=day(-10), end_date=day(30),
                       allotted_units=12) for c in clients]
    session.commit()
    return clients, auths


def _update_all(support, clients, **filled):
    """Update Codes Listed on the master list, no filter: confirm, apply."""
    url = "/console/bulk/list/authorizations/"
    confirm = support.post(url, {**update_form(**filled), "list_args": "", "op": "update"})
    assert confirm.status_code == 200
    done = press(support, url, confirm, "apply_update")
    assert done.status_code == 302
    return batch_id_of(done), done.headers["Location"]


def test_undo_restores_the_before_values_from_the_result_page(web, session, make):
    clients, auths = _clients_with_auths(session, make)
    support = web("support")
    batch_id, result_url = _update_all(support, clients, end_date=iso(90), exp_alert_days="5")
    assert {(a.end_date, a.exp_alert_days) for a in auths_of(session)} == {(day(90), 5)}
    result = support.get(result_url)
    undo_url = f"/console/bulk/batch/{batch_id}/undo"
    assert undo_url in result.get_data(as_text=True)
    page = support.get(undo_url)  # a confirmation first: nothing undone by a GET
    assert page.status_code == 200 and "Undo this bulk update" in text(page)
    assert {a.end_date for a in auths_of(session)} == {day(90)}
    response = support.post(undo_url, {})
    assert response.status_code == 302
    assert {(a.end_date, a.exp_alert_days, a.last_edited_by) for a in auths_of(session)} == \
        {(day(30), None, "Support")}
    undo = support.get(response.headers["Location"])
    assert "Undone: 3 authorizations restored." in text(undo)
    assert "This undid Update Codes Listed" in text(undo)
    again = support.post(undo_url, {})
    assert again.status_code == 409 and "already undone" in text(again)


def test_undo_refuses_auths_changed_since_with_a_list_then_undoes_the_others(
        web, session, make):
    clients, auths = _clients_with_auths(session, make)
    support = web("support")
    batch_id, _ = _update_all(support, clients, unit_alert_level="2")
    update_authorization(session, make.actor(), auths[0].id, {"unit_alert_level": 7})
    session.commit()
    before = database_state(session, TABLES)
    undo_url = f"/console/bulk/batch/{batch_id}/undo"
    refused = support.post(undo_url, {})
    assert refused.status_code == 409
    body = text(refused)
    assert "Nothing was undone: 1 of the 3 authorizations were changed since" in body
    assert f"{auths[0].auth_number} (90834) – Client0, Kim: changed since" in body
    assert auths[1].auth_number not in body and "Undo the others" in body
    assert database_state(session, TABLES) == before
    others = support.post(undo_url, {"skip_changed": "1"})
    assert others.status_code == 302
    levels = {a.id: a.unit_alert_level for a in auths_of(session)}
    assert levels == {auths[0].id: 7, auths[1].id: None, auths[2].id: None}
    page = text(support.get(others.headers["Location"]))
    assert "Undone: 2 authorizations restored." in page
    assert "1 left as they are (changed since)" in page


def test_undo_of_a_bulk_add_removes_the_auths(web, session, make):
    client = make.client("Hanson", first_name="Mark")
    group = therapy_group(session, make)
    session.commit()
    support = web("support")
    added = support.post(f"/console/bulk/client/{client.id}/", {**add_form(group.id),
                                                               "op": "add"})
    batch_id = batch_id_of(added)
    assert len(auths_of(session, client)) == 4
    response = support.post(f"/console/bulk/batch/{batch_id}/undo", {})
    assert response.status_code == 302
    assert auths_of(session, client) == []
    [undo] = batches(session, "undo")
    assert undo.undoes_batch_id == batch_id and undo.row_count == 4
    assert {r.action for r in records_of(session, undo.id)} == {"delete"}


def test_the_audit_trail_batch_page_offers_the_undo(web, session, make):
    clients, _ = _clients_with_auths(session, make, 2)
    support, admin = web("support"), web("admin")
    batch_id, _ = _update_all(support, clients, exp_alert_days="9")
    page = admin.get(f"/console/audit/batch/{batch_id}")
    assert page.status_code == 200
    assert f"/console/bulk/batch/{batch_id}/undo" in page.get_data(as_text=True)
    assert "Undo this bulk update" in text(page)
    response = admin.post(f"/console/bulk/batch/{batch_id}/undo", {})
    assert response.status_code == 302
    assert {a.exp_alert_days for a in auths_of(session)} == {None}
    page = admin.get(f"/console/audit/batch/{batch_id}")
    assert "Undone" in text(page) and f"/bulk/batch/{batch_id}/undo" not in \
        page.get_data(as_text=True)


def test_each_write_path_leaves_one_batch_with_its_rows(web, session, make):
    """Bulk add, bulk update and undo: one audit batch each, one record per auth, who and
    before → after, and nothing outside the batch."""
    client = make.client("Hanson", first_name="Mark")
    group = therapy_group(session, make)
    session.commit()
    support = web("support")
    url = f"/console/bulk/client/{client.id}/"
    session.rollback()
    records_before = session.scalar(sa.select(sa.func.count()).select_from(AuditRecord))

    add_id = batch_id_of(support.post(url, {**add_form(group.id), "op": "add"}))
    ids = {a.id for a in auths_of(session, client)}
    confirm = support.post(url, {**update_form(allotted_units="30"), "op": "update"})
    update_id = batch_id_of(press(support, url, confirm, "apply_update"))
    undo_id = batch_id_of(support.post(f"/console/bulk/batch/{update_id}/undo", {}))

    assert [(b.kind, b.row_count, b.actor_name) for b in batches(session)] == [
        ("bulk_add", 4, "Support"), ("update_codes_listed", 4, "Support"),
        ("undo", 4, "Support")]
    add, update, undo = (records_of(session, b) for b in (add_id, update_id, undo_id))
    assert {r.object_id for r in add} == {r.object_id for r in update} == \
        {r.object_id for r in undo} == ids
    assert {r.action for r in add} == {"create"} and add[0].changes["allotted_units"] == \
        [None, 20]
    assert {(r.action, r.actor_name) for r in update} == {("update", "Support")}
    assert all(r.changes == {"allotted_units": [20, 30], "remaining_units": [20, 30]}
               for r in update)
    assert all(r.changes == {"allotted_units": [30, 20], "remaining_units": [30, 20]}
               for r in undo)
    total = session.scalar(sa.select(sa.func.count()).select_from(AuditRecord))
    assert total - records_before == 12  # every record belongs to its batch
    assert {(a.allotted_units, a.remaining_units) for a in auths_of(session, client)} == \
        {(20, 20)}
