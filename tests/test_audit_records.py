"""Rule 19 / issue 7 points 1–2: every write path leaves the right audit records — when, who (id
and name as text), what (type, id, readable label), action, before → after of the changed
fields, request id and bulk batch."""
import datetime as dt
from decimal import Decimal

import pytest
import sqlalchemy as sa

from conftest import TODAY
from models import (AuditBatch, AuditRecord, AuthGroup, BillingCode, BillingCodeGroup,
                    ClientGroup, Division, Profile, User, utcnow)
from rules import Actor
from rules.audit import acting_as
from rules.authorizations import (create_authorization, delete_authorization,
                                  update_authorization)
from rules.notes import create_note, delete_note, release_notes, void_note
from rules.picklists import delete_item
from rules.status import refresh_status
from rules.users import set_active, set_password


def mark(session) -> int:
    return session.scalar(sa.select(sa.func.coalesce(sa.func.max(AuditRecord.id), 0)))


def since(session, mark_id: int, object_type: str | None = None) -> list[AuditRecord]:
    stmt = sa.select(AuditRecord).where(AuditRecord.id > mark_id).order_by(AuditRecord.id)
    if object_type:
        stmt = stmt.where(AuditRecord.object_type == object_type)
    return list(session.scalars(stmt))


@pytest.fixture
def person(session, make):
    """A real user acting (its id and name must land in the records)."""
    user = make.user("avery", "Administrator", full_name="Avery Admin")
    session.commit()
    return Actor.for_user(user, request_id="req-0001-abcdef")


def test_orm_edit_of_a_client_records_before_after_who_and_request(session, make, person):
    north, south = Division(name="North"), Division(name="South")
    session.add_all([north, south])
    client = make.client("Smith", first_name="Alex", division=north)
    session.commit()  # the client is expired: its old values must still be recorded
    start = mark(session)
    before = utcnow()
    with acting_as(session, person):
        client.first_name = "Alexandra"
        client.division = south
        session.commit()
    [record] = since(session, start)
    assert (record.action, record.object_type, record.object_id) == ("update", "client",
                                                                      client.id)
    assert record.object_label == "Smith, Alexandra"
    assert record.client_id == client.id
    assert (record.actor_id, record.actor_name) == (person.user_id, "Avery Admin")
    assert record.request_id == "req-0001-abcdef" and record.batch_id is None
    assert record.changes == {"first_name": ["Alex", "Alexandra"],
                              "division_id": [north.id, south.id]}
    assert before - dt.timedelta(seconds=1) <= record.at <= utcnow() + dt.timedelta(seconds=1)


@pytest.fixture
def client_screen(app):
    """A plain console screen over clients (the real one is built elsewhere): the path every
    Flask-Admin form save takes."""
    from admin_views.base import SecureModelView
    from models import Client

    class Clients(SecureModelView):
        permission = "edit_clients"
        form_columns = ("first_name", "last_name", "dob", "division", "client_groups")

    app.extensions["admin"][0].add_view(Clients(Client, name="Test clients",
                                                endpoint="test_clients"))
    return "/console/test_clients"


def test_a_console_form_edit_of_a_client_leaves_one_record(session, make, users, web,
                                                            client_screen):
    north, south = Division(name="North"), Division(name="South")
    adults = ClientGroup(name="Adults")
    session.add_all([north, south, adults])
    client = make.client("Smith", first_name="Alex", division=north)
    session.commit()
    start = mark(session)
    support = web("support")
    response = support.post(f"{client_screen}/edit/?id={client.id}", {
        "first_name": "Alexandra", "last_name": "Smith", "dob": "1990-01-01",
        "division": str(south.id), "client_groups": [str(adults.id)]})
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    session.rollback()
    [record] = since(session, start)
    assert record.changes == {"first_name": ["Alex", "Alexandra"],
                              "division_id": [north.id, south.id],
                              "client_groups": [[], ["Adults"]]}
    assert (record.actor_id, record.actor_name) == (users["support"], "Support")
    assert record.request_id == response.headers["X-Request-Id"]


def test_pick_list_item_create_rename_deactivate_delete(session, person):
    start = mark(session)
    with acting_as(session, person):
        group = AuthGroup(name="Auth Group 3", sort_order=3)
        session.add(group)
        session.commit()
        group.name, group.active = "Group C", False
        session.commit()
        delete_item(session, person, AuthGroup, group.id)
        session.commit()
    created, changed, deleted = since(session, start)
    assert [r.action for r in (created, changed, deleted)] == ["create", "update", "delete"]
    assert {r.object_type for r in (created, changed, deleted)} == {"auth_group"}
    assert created.changes["name"] == [None, "Auth Group 3"]
    assert changed.changes == {"name": ["Auth Group 3", "Group C"], "active": [True, False]}
    assert changed.object_label == "Group C (inactive)"
    assert deleted.changes["name"] == ["Group C", None]
    assert all(r.actor_name == "Avery Admin" for r in (created, changed, deleted))


def test_billing_code_change_records_money_as_text(session, make, person):
    code = make.code("90834")
    session.commit()
    start = mark(session)
    with acting_as(session, person):
        code.rate = Decimal("115.50")
        session.commit()
    [record] = since(session, start)
    assert record.object_type == "billing_code" and record.object_id == code.id
    assert record.changes == {"rate": ["110.00", "115.50"]}
    assert record.object_label.startswith("90834")


def test_billing_code_group_records_its_codes(session, make, person):
    start = mark(session)
    with acting_as(session, person):
        group = BillingCodeGroup(name="Outpatient", codes=[make.code("90834")])
        session.add(group)
        session.commit()
        group.codes.append(make.code("90837"))
        session.commit()
        session.delete(group)
        session.commit()
    created, changed, deleted = since(session, start)
    assert created.changes["codes"] == [None, ["90834 – Psychotherapy, 45 minutes"]]
    assert changed.changes == {"codes": [
        ["90834 – Psychotherapy, 45 minutes"],
        ["90834 – Psychotherapy, 45 minutes", "90837 – Psychotherapy, 60 minutes"]]}
    assert deleted.action == "delete" and deleted.changes["codes"][1] is None


def test_user_password_is_recorded_only_as_changed(session, make, person):
    user = make.user("blair", "Billing", full_name="Blair Billing")
    session.commit()
    old_hash = user.password_hash
    start = mark(session)
    with acting_as(session, person):
        set_password(session, person, user.id, "a new passphrase here")
        session.commit()
        set_active(session, person, user.id, False)
        session.commit()
    password, disabled = since(session, start, "user")
    assert password.changes == {"password_hash": ["(changed)", "(changed)"]}
    assert password.object_label == "Blair Billing (blair)"
    assert disabled.changes == {"active": [True, False]}
    text = str([r.changes for r in since(session, start)])
    assert old_hash not in text and user.password_hash not in text
    assert "scrypt" not in text and user.session_token not in text


def test_new_user_password_is_recorded_as_set(session, make, person):
    start = mark(session)
    with acting_as(session, person):
        make.user("casey", "Provider")
        session.commit()
    [record] = since(session, start, "user")
    assert record.action == "create" and record.changes["password_hash"] == [None, "(set)"]
    assert record.changes["username"] == [None, "casey"]


def test_profile_records_its_permission_rules(session, person):
    profile = session.scalar(sa.select(Profile).where(Profile.name == "Billing"))
    start = mark(session)
    with acting_as(session, person):
        profile.permissions = (profile.permissions - {"export"}) | {"view_audit"}
        session.commit()
    [record] = since(session, start)
    assert record.object_type == "profile" and record.object_label == "Billing"
    before, after = record.changes["rules"]
    assert "export" in before and "export" not in after
    assert "view_audit" in after and "view_audit" not in before


def test_provider_edit(session, make, person):
    provider = make.provider("Lee", first_name="Marcus")
    session.commit()
    start = mark(session)
    with acting_as(session, person):
        provider.credentials = "LPC"
        session.commit()
    [record] = since(session, start)
    assert (record.object_type, record.action) == ("provider", "update")
    assert record.changes == {"credentials": [None, "LPC"]}
    assert record.object_label == "Lee, Marcus, LPC"


def test_authorization_create_update_delete(session, make, person):
    client = make.client("Garcia", first_name="Olivia")
    session.commit()
    code = make.code("90834")
    start = mark(session)
    with acting_as(session, person):
        auth = create_authorization(session, person, client.id, {
            "billing_code_id": code.id, "start_date": TODAY, "allotted_units": 12,
            "end_date": TODAY + dt.timedelta(days=90)}, today=TODAY)
        session.commit()
        update_authorization(session, person, auth.id, {"allotted_units": 20,
                                                       "remaining_units": 15}, today=TODAY)
        session.commit()
        number = auth.auth_number
        delete_authorization(session, person, auth.id)
        session.commit()
    created, updated, deleted = since(session, start, "authorization")
    label = f"{number} (90834) – Garcia, Olivia"
    assert [r.object_label for r in (created, updated, deleted)] == [label] * 3
    assert {r.client_id for r in (created, updated, deleted)} == {client.id}
    assert created.changes["allotted_units"] == [None, 12]
    assert created.changes["billing_code_id"] == [None, code.id]
    assert updated.changes["allotted_units"] == [12, 20]
    assert updated.changes["remaining_units"] == [12, 15]
    assert updated.version == 2
    assert deleted.action == "delete" and deleted.changes["allotted_units"] == [20, None]


@pytest.fixture
def grouped(session, make):
    """Two auths in one auth group (rule 3) and a provider."""
    group = session.scalar(sa.select(AuthGroup).where(AuthGroup.name == "Auth Group 1"))
    client = make.client("Brown", first_name="Emma")
    a1 = make.auth(client, "90834", auth_group_id=group.id)
    a2 = make.auth(client, "90837", auth_group_id=group.id)
    provider = make.provider("Reyes")
    session.commit()
    return client, a1, a2, provider


def _note(session, actor, client, auth, provider, units=2):
    return create_note(session, actor, {
        "client_id": client.id, "provider_id": provider.id, "authorization_id": auth.id,
        "service_date": TODAY, "units": units}, today=TODAY)


def test_note_create_release_void_record_the_note_and_the_units_on_every_sibling(
        session, grouped, person):
    client, a1, a2, provider = grouped
    start = mark(session)
    with acting_as(session, person):
        note = _note(session, person, client, a1, provider)
        session.commit()
    created = since(session, start)
    assert [(r.object_type, r.action) for r in created] == [
        ("note", "create"), ("authorization", "units"), ("authorization", "units")]
    assert created[0].object_label == f"Note N-{note.id} (90834, {TODAY.isoformat()}) – Brown, Emma"
    assert {r.object_id for r in created[1:]} == {a1.id, a2.id}
    assert all(r.changes == {"pending_units": [0, 2]} for r in created[1:])
    assert all(r.comment == f"Note N-{note.id} claimed 2" for r in created[1:])

    start = mark(session)
    with acting_as(session, person):
        release_notes(session, person, [note.id], today=TODAY)
        session.commit()
    released = since(session, start)
    units = [r for r in released if r.object_type == "authorization"]
    assert {r.object_id for r in units} == {a1.id, a2.id}
    assert all(r.changes == {"remaining_units": [10, 8], "pending_units": [2, 0]}
               and r.comment == f"Note N-{note.id} released" for r in units)
    [note_record] = [r for r in released if r.object_type == "note"]
    assert note_record.changes["status"] == ["draft", "released"]

    start = mark(session)
    with acting_as(session, person):
        void_note(session, person, note.id, "billed in error", today=TODAY)
        session.commit()
    voided = since(session, start)
    assert {(r.object_id, r.comment) for r in voided if r.object_type == "authorization"} == {
        (a1.id, f"Note N-{note.id} voided"), (a2.id, f"Note N-{note.id} voided")}
    assert all(r.changes == {"remaining_units": [8, 10]}
               for r in voided if r.object_type == "authorization")
    [note_record] = [r for r in voided if r.object_type == "note"]
    assert note_record.changes["void_reason"] == [None, "billed in error"]
    assert all(r.actor_name == "Avery Admin" for r in created + released + voided)


def test_note_delete_gives_pending_back_and_is_recorded(session, grouped, person):
    client, a1, a2, provider = grouped
    with acting_as(session, person):
        note = _note(session, person, client, a1, provider, units=3)
        session.commit()
    start = mark(session)
    with acting_as(session, person):
        delete_note(session, person, note.id, today=TODAY)
        session.commit()
    records = since(session, start)
    assert {(r.object_type, r.object_id, r.action) for r in records} == {
        ("note", note.id, "delete"), ("authorization", a1.id, "units"),
        ("authorization", a2.id, "units")}
    assert all(r.changes == {"pending_units": [3, 0]}
               for r in records if r.object_type == "authorization")


def test_releasing_several_notes_is_one_batch(session, grouped, make, person):
    client, a1, a2, provider = grouped
    with acting_as(session, person):
        notes = [_note(session, person, client, a1, provider, units=1) for _ in range(2)]
        session.commit()
    start = mark(session)
    with acting_as(session, person):
        release_notes(session, person, [n.id for n in notes], today=TODAY)
        session.commit()
    records = since(session, start)
    [batch] = session.scalars(sa.select(AuditBatch).where(AuditBatch.kind == "release_notes"))
    assert records and {r.batch_id for r in records} == {batch.id}
    assert batch.actor_name == "Avery Admin" and batch.actor_id == person.user_id
    assert {r.object_id for r in records if r.object_type == "note"} == {n.id for n in notes}


def test_refresh_status_is_recorded_as_system_in_one_batch(session, make):
    client = make.client("Young")
    ending = make.auth(client, "90834", end_date=TODAY + dt.timedelta(days=1))
    starting = make.auth(client, "90837", start_date=TODAY + dt.timedelta(days=2),
                         end_date=TODAY + dt.timedelta(days=40))
    session.commit()
    start = mark(session)
    result = refresh_status(session, today=TODAY + dt.timedelta(days=2))
    session.commit()
    assert (result.activated, result.deactivated) == (1, 1)
    records = since(session, start)
    assert {(r.object_id, r.action) for r in records} == {(ending.id, "status"),
                                                         (starting.id, "status")}
    [batch_id] = {r.batch_id for r in records}
    batch = session.get(AuditBatch, batch_id)
    assert batch.kind == "refresh_status" and batch.row_count == 2
    assert {r.actor_name for r in records} == {"system"} and batch.actor_name == "system"
    assert {r.actor_id for r in records} == {None}
    changes = {r.object_id: r.changes for r in records}
    assert changes == {ending.id: {"active": [True, False]},
                       starting.id: {"active": [False, True]}}
    assert {r.client_id for r in records} == {client.id}
    assert len({r.request_id for r in records}) == 1


def test_a_change_without_an_actor_is_refused(app):
    from extensions import db

    with app.app_context():
        db.session.add(Division(name="Nobody's"))
        with pytest.raises(RuntimeError, match="without an actor"):
            db.session.flush()
        db.session.rollback()
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Division)) == 0


def test_a_web_request_records_the_logged_in_user_and_the_request_id(app, web, users, session):
    client = web("support")
    start = mark(session)
    response = client.post("/console/account/", {
        "current_password": "correct-horse-battery", "new_password": "a brand new passphrase",
        "confirm": "a brand new passphrase"}, headers={"X-Request-Id": "proxy-req-12345"})
    assert response.status_code == 302, response.get_data(as_text=True)
    session.rollback()
    [record] = since(session, start)
    support = session.get(User, users["support"])
    assert (record.actor_id, record.actor_name) == (support.id, support.full_name)
    assert (record.object_type, record.object_id) == ("user", support.id)
    assert record.request_id == "proxy-req-12345"
    assert record.changes == {"password_hash": ["(changed)", "(changed)"]}


def test_a_malformed_request_id_is_replaced(web, session):
    response = web().get("/login", headers={"X-Request-Id": "x" * 500 + "\u00e9"})
    assert len(response.headers["X-Request-Id"]) == 36


def test_billing_code_rows_are_audited_in_reference_seed(session):
    """The reference data itself was recorded (as system) when it was seeded."""
    codes = session.scalar(sa.select(sa.func.count()).select_from(BillingCode))
    recorded = session.scalar(sa.select(sa.func.count()).select_from(AuditRecord).where(
        AuditRecord.object_type == "billing_code", AuditRecord.action == "create",
        AuditRecord.actor_name == "system"))
    assert codes and recorded == codes
