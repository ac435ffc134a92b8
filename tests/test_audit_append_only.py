"""Issue 7 point 4: audit records cannot be changed or deleted — no route of the console does
it (direct posts to Flask-Admin's edit, delete, action, inline-edit and create URLs are refused,
even for an administrator), the list offers none of them, and the database refuses UPDATE and
DELETE whatever the path."""
import pytest
import sqlalchemy as sa

from conftest import snapshot_tables
from models import AuditBatch, AuditRecord, Division


@pytest.fixture
def record_id(session):
    session.add(Division(name="North"))
    session.commit()
    return session.scalar(sa.select(sa.func.max(AuditRecord.id)))


def write_attempts(record_id: int):
    return [
        ("post", f"/console/audit/edit/?id={record_id}", {"actor_name": "someone else",
                                                         "action": "create"}),
        ("get", f"/console/audit/edit/?id={record_id}", None),
        ("post", "/console/audit/delete/", {"id": str(record_id)}),
        ("post", "/console/audit/action/", {"action": "delete", "rowid": str(record_id)}),
        ("post", "/console/audit/ajax/update/", {"list_form_pk": str(record_id),
                                                 "actor_name": "someone else"}),
        ("post", "/console/audit/new/", {"actor_name": "forged", "object_type": "client",
                                         "action": "create", "object_label": "x"}),
        ("get", "/console/audit/new/", None),
        ("get", f"/console/audit/details/?id={record_id}", None),
        ("get", "/console/audit/export/csv/", None),
    ]


@pytest.mark.parametrize("attempt", range(9))
def test_direct_requests_to_change_or_delete_audit_records_are_refused(session, web,
                                                                       record_id, attempt):
    method, url, data = write_attempts(record_id)[attempt]
    admin = web("admin")  # holds view_audit and every other permission
    before = snapshot_tables(session, AuditRecord, AuditBatch)
    response = admin.post(url, data) if method == "post" else admin.get(url)
    assert response.status_code == 403, (url, response.status_code)
    session.rollback()
    assert snapshot_tables(session, AuditRecord, AuditBatch) == before


def test_the_list_offers_no_edit_delete_create_or_action(web, record_id):
    html = web("admin").get("/console/audit/").get_data(as_text=True)
    assert "col-actor_name" in html  # the list did render records
    for marker in ("/console/audit/edit/", "/console/audit/delete/", "/console/audit/new/",
                   "/console/audit/action/", 'name="action"', "x-editable", "Delete"):
        assert marker not in html, marker


@pytest.mark.parametrize("change", ["update", "delete"])
def test_the_database_refuses_to_change_audit_records_through_the_orm(session, record_id,
                                                                      change):
    record = session.get(AuditRecord, record_id)
    if change == "update":
        record.actor_name = "someone else"
    else:
        session.delete(record)
    with pytest.raises(sa.exc.DBAPIError, match="cannot be changed or deleted"):
        session.flush()
    session.rollback()
    assert session.get(AuditRecord, record_id).actor_name == "system"


def test_the_database_refuses_a_bulk_delete(session, record_id):
    with pytest.raises(sa.exc.DBAPIError, match="cannot be changed or deleted"):
        session.execute(sa.delete(AuditRecord).where(AuditRecord.id <= record_id))
    session.rollback()
    assert session.get(AuditRecord, record_id) is not None
