"""Rules 15 and 16: Bulk Add and Update Codes Listed — all or nothing, set-based, one audit
batch, and undo."""
import datetime as dt

import pytest
import sqlalchemy as sa

from conftest import TODAY, snapshot_tables
from models import (AuditBatch, AuditRecord, Authorization, AuthGroup, BillingCodeGroup, Note,
                    Profile)
from rules import Conflict, PermissionDenied, ValidationError
from rules.authorizations import update_authorization
from rules.bulk import apply_update, bulk_add, plan_update, undo_batch
from rules.notes import create_note, release_note

START, END = TODAY - dt.timedelta(days=10), TODAY + dt.timedelta(days=80)


@pytest.fixture
def therapy_group(session, make):
    group = BillingCodeGroup(name="Outpatient therapy",
                             codes=[make.code(c) for c in ("90832", "90834", "90837", "90853")])
    session.add(group)
    session.flush()
    return group


def add_form(group, **kw):
    form = {"billing_code_group_id": group.id, "allotted_units": "20", "remaining_units": "",
            "unit_alert_level": "4", "exp_alert_days": "30", "start_date": START.isoformat(),
            "end_date": END.isoformat(), "unmanaged": "n.a."}
    form.update(kw)
    return form


def scope_of(*clients):
    return sa.select(Authorization.id).where(Authorization.client_id.in_([c.id for c in clients]))


def test_bulk_add_one_auth_per_code_per_client_in_one_batch(session, make, therapy_group):
    clients = [make.client() for _ in range(3)]
    ag1 = session.scalar(sa.select(AuthGroup).where(AuthGroup.name == "Auth Group 1"))
    result = bulk_add(session, make.actor("Support Staff"), [c.id for c in clients],
                      add_form(therapy_group, auth_group_id=str(ag1.id)), today=TODAY)
    assert result.count == 12
    auths = session.scalars(sa.select(Authorization).order_by(Authorization.id)).all()
    assert {(a.client_id, a.billing_code.code) for a in auths} == {
        (c.id, code) for c in clients for code in ("90832", "90834", "90837", "90853")}
    assert {(a.allotted_units, a.remaining_units, a.pending_units, a.unit_alert_level,
             a.exp_alert_days, a.auth_group_id, a.active, a.unmanaged) for a in auths} == {
        (20, 20, 0, 4, 30, ag1.id, True, False)}
    assert len({a.auth_number for a in auths}) == 12
    assert {a.last_edited_by for a in auths} == {"Test Support Staff"}
    records = session.scalars(sa.select(AuditRecord).where(
        AuditRecord.batch_id == result.batch_id)).all()
    assert len(records) == 12 and {r.action for r in records} == {"create"}
    assert session.get(AuditBatch, result.batch_id).row_count == 12
    # the 20-session group works across the added codes at once (rule 3)
    provider = make.provider()
    create_note(session, make.actor(), {"client_id": clients[0].id, "provider_id": provider.id,
                                        "service_date": TODAY, "billing_code_id":
                                        make.code("90837").id, "units": 1}, today=TODAY)
    assert [a.pending_units for a in auths if a.client_id == clients[0].id] == [1, 1, 1, 1]


def test_bulk_add_is_all_or_nothing_and_names_the_clients(session, make, therapy_group):
    payer = make.payer("Aetna")
    insured, uninsured = make.client("Insured", payers=[payer]), make.client("Bare")
    session.commit()
    before = snapshot_tables(session, Authorization, AuditRecord)
    with pytest.raises(ValidationError) as exc:
        bulk_add(session, make.actor("Support Staff"), [insured.id, uninsured.id],
                 add_form(therapy_group, insurance_company_id=str(payer.id)), today=TODAY)
    assert "1 of the 2 clients" in exc.value.message
    assert exc.value.details == ["Bare, Alex: Aetna is not one of the client's payers on file"]
    session.rollback()
    assert snapshot_tables(session, Authorization, AuditRecord) == before


@pytest.mark.parametrize("field, value, message", [
    ("end_date", (START - dt.timedelta(days=1)).isoformat(), "must be on or after the start date"),
    ("remaining_units", "21", "cannot be more than the allotted units (20)"),
    ("allotted_units", "-3", "must be 0 or more"),
    ("billing_code_group_id", "999999", "choose a billing code group"),
    ("unit_alert_level", "many", "must be a whole number"),
])
def test_bulk_add_bad_input_names_the_field(session, make, therapy_group, field, value, message):
    client = make.client()
    with pytest.raises(ValidationError) as exc:
        bulk_add(session, make.actor("Support Staff"), [client.id],
                 add_form(therapy_group, **{field: value}), today=TODAY)
    assert exc.value.fields[field] == message or message in exc.value.fields[field]
    assert session.scalar(sa.select(sa.func.count()).select_from(Authorization)) == 0


def test_update_codes_listed_writes_only_the_filled_fields(session, make):
    clients = [make.client() for _ in range(2)]
    auths = [make.auth(c, code, allotted_units=12, unit_alert_level=2)
             for c in clients for code in ("90834", "90837")]
    other = make.auth(make.client(), allotted_units=12)
    new_end = END + dt.timedelta(days=90)
    plan = plan_update(session, make.actor("Support Staff"), scope_of(*clients),
                       {"end_date": new_end.isoformat(), "allotted_units": "",
                        "unmanaged": "n.a.", "auth_group_id": None})
    assert (plan.matched, plan.count, plan.errors) == (4, 4, [])
    result = apply_update(session, make.actor("Support Staff"), scope_of(*clients),
                          {"end_date": new_end.isoformat()}, expected_count=plan.count,
                          today=TODAY)
    assert result.count == 4
    for a in auths:
        session.refresh(a)
        assert (a.end_date, a.allotted_units, a.unit_alert_level, a.version) == \
            (new_end, 12, 2, 2)
        assert a.last_edited_by == "Test Support Staff"
    session.refresh(other)
    assert other.end_date != new_end and other.version == 1
    records = session.scalars(sa.select(AuditRecord).where(
        AuditRecord.batch_id == result.batch_id)).all()
    assert {r.object_id for r in records} == {a.id for a in auths}
    assert all(set(r.changes) == {"end_date"} for r in records)


def test_rows_that_already_have_the_values_are_not_counted(session, make):
    client = make.client()
    make.auth(client, "90834", unit_alert_level=3)
    make.auth(client, "90837", unit_alert_level=5)
    plan = plan_update(session, make.actor("Support Staff"), scope_of(client),
                       {"unit_alert_level": "3"})
    assert (plan.matched, plan.count) == (2, 1)


def test_one_invalid_row_stops_everything_and_is_named(session, make):
    client = make.client("Garcia")
    ok = make.auth(client, "90834", start_date=TODAY - dt.timedelta(days=5))
    late = make.auth(client, "90837", start_date=TODAY + dt.timedelta(days=20))
    session.commit()
    before = snapshot_tables(session, Authorization, AuditRecord)
    with pytest.raises(ValidationError) as exc:
        apply_update(session, make.actor("Support Staff"), scope_of(client),
                     {"end_date": (TODAY + dt.timedelta(days=10)).isoformat()}, today=TODAY)
    assert "1 of the 2 listed" in exc.value.message
    assert exc.value.details == [
        f"{late.auth_number} (90837) – Garcia, Alex: End Date must be on or after the start "
        f"date ({late.start_date.isoformat()})"]
    session.rollback()
    assert snapshot_tables(session, Authorization, AuditRecord) == before
    assert ok.id  # the valid row was not written either (snapshot above)


def test_raising_allotted_keeps_used_units_used(session, make):
    client, provider, actor = make.client(), make.provider(), make.actor()
    auth = make.auth(client, allotted_units=20)
    n = create_note(session, actor, {"client_id": client.id, "provider_id": provider.id,
                                     "service_date": TODAY, "authorization_id": auth.id,
                                     "units": 3}, today=TODAY)
    release_note(session, actor, n.id, today=TODAY)
    apply_update(session, make.actor("Support Staff"), scope_of(client),
                 {"allotted_units": "30"}, today=TODAY)
    session.refresh(auth)
    assert (auth.allotted_units, auth.remaining_units, auth.used_units) == (30, 27, 3)
    with pytest.raises(ValidationError) as exc:
        apply_update(session, make.actor("Support Staff"), scope_of(client),
                     {"allotted_units": "2"}, today=TODAY)
    assert "cannot go below the 3 units already used" in exc.value.details[0]


def test_confirmed_count_must_still_hold(session, make):
    client = make.client()
    make.auth(client, "90834")
    make.auth(client, "90837")
    with pytest.raises(Conflict):
        apply_update(session, make.actor("Support Staff"), scope_of(client),
                     {"exp_alert_days": "9"}, expected_count=3, today=TODAY)


def test_permissions(session, make, therapy_group):
    client = make.client()
    make.auth(client)
    with pytest.raises(PermissionDenied):
        plan_update(session, make.actor("Billing"), scope_of(client), {"exp_alert_days": "5"})
    with pytest.raises(PermissionDenied):
        bulk_add(session, make.actor("Provider"), [client.id], add_form(therapy_group))
    limited = Profile(name="Bulk clerk")
    limited.permissions = {"bulk_update", "edit_authorizations", "view_authorizations"}
    session.add(limited)
    session.flush()
    clerk = make.actor("Bulk clerk")
    for restricted in ({"end_date": END.isoformat()}, {"remaining_units": "1"},
                       {"unmanaged": "yes"}, {"allotted_units": "4"}):
        with pytest.raises(PermissionDenied):
            plan_update(session, clerk, scope_of(client), restricted)
    assert plan_update(session, clerk, scope_of(client), {"exp_alert_days": "5"}).count == 1


def test_undo_restores_the_before_values(session, make):
    clients = [make.client() for _ in range(2)]
    auths = [make.auth(c, allotted_units=12, end_date=END) for c in clients]
    result = apply_update(session, make.actor("Support Staff"), scope_of(*clients),
                          {"end_date": (END + dt.timedelta(days=30)).isoformat(),
                           "suspend_alerts": "yes"}, today=TODAY)
    undo = undo_batch(session, make.actor("Support Staff"), result.batch_id, today=TODAY)
    assert undo.count == 2
    for a in auths:
        session.refresh(a)
        assert (a.end_date, a.suspend_alerts) == (END, False)
    assert session.get(AuditBatch, result.batch_id).undone_by_batch_id == undo.batch_id
    with pytest.raises(Conflict, match="already undone"):
        undo_batch(session, make.actor("Support Staff"), result.batch_id, today=TODAY)


def test_undo_refuses_rows_changed_since_with_a_list(session, make):
    clients = [make.client(f"Client{i}") for i in range(3)]
    auths = [make.auth(c, allotted_units=12) for c in clients]
    support = make.actor("Support Staff")
    result = apply_update(session, support, scope_of(*clients), {"unit_alert_level": "2"},
                          today=TODAY)
    update_authorization(session, make.actor(), auths[0].id, {"exp_alert_days": 7}, today=TODAY)
    provider = make.provider()
    n = create_note(session, make.actor(), {"client_id": clients[1].id, "provider_id":
                                            provider.id, "service_date": TODAY,
                                            "authorization_id": auths[1].id}, today=TODAY)
    release_note(session, make.actor(), n.id, today=TODAY)  # remaining changes, not the level
    session.commit()
    with pytest.raises(Conflict) as exc:
        undo_batch(session, support, result.batch_id, today=TODAY)
    assert len(exc.value.details) == 1 and auths[0].auth_number in exc.value.details[0]
    session.rollback()
    undo = undo_batch(session, support, result.batch_id, skip_changed=True, today=TODAY)
    assert undo.count == 2 and len(undo.refused) == 1
    levels = [session.get(Authorization, a.id).unit_alert_level for a in auths]
    assert levels == [2, None, None]


def test_undo_of_a_bulk_add_removes_the_auths_without_notes(session, make, therapy_group):
    clients = [make.client() for _ in range(2)]
    result = bulk_add(session, make.actor("Support Staff"), [c.id for c in clients],
                      add_form(therapy_group), today=TODAY)
    provider = make.provider()
    create_note(session, make.actor(), {"client_id": clients[0].id, "provider_id": provider.id,
                                        "service_date": TODAY, "billing_code_id":
                                        make.code("90834").id}, today=TODAY)
    session.commit()
    with pytest.raises(Conflict) as exc:
        undo_batch(session, make.actor("Support Staff"), result.batch_id, today=TODAY)
    assert "notes were written on it since" in exc.value.details[0]
    session.rollback()
    undo = undo_batch(session, make.actor("Support Staff"), result.batch_id, skip_changed=True,
                      today=TODAY)
    assert undo.count == 7
    assert session.scalar(sa.select(sa.func.count()).select_from(Authorization)) == 1
    assert session.scalar(sa.select(sa.func.count()).select_from(Note)) == 1


def test_statements_do_not_grow_with_the_number_of_rows(app, session, make):
    from extensions import db

    actor = make.actor("Support Staff")

    def statements_for(n_clients):
        clients = [make.client() for _ in range(n_clients)]
        for c in clients:
            make.auth(c)
        scope = scope_of(*clients)
        session.commit()
        seen = []
        listener = lambda *args: seen.append(args[2])  # noqa: E731
        sa.event.listen(db.engine, "before_cursor_execute", listener)
        try:
            apply_update(session, actor, scope, {"exp_alert_days": "11"}, today=TODAY)
            session.commit()
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", listener)
        return len(seen)

    assert statements_for(3) == statements_for(40)


def open_kinds(session, auth):
    from models import Alert

    return set(session.scalars(sa.select(Alert.kind).where(
        Alert.authorization_id == auth.id, Alert.closed_at.is_(None))))


def test_alerts_follow_auths_the_update_moves_out_of_the_filter(session, make):
    """The list shows what expires within 30 days; extending those auths moves them out of
    that filter, and their expiration alerts still close (they are synced by id)."""
    from rules.alerts import sync_alerts

    client = make.client()
    soon = make.auth(client, allotted_units=12, exp_alert_days=30,
                     end_date=TODAY + dt.timedelta(days=10))
    sync_alerts(session, TODAY)
    assert open_kinds(session, soon) == {"expiring"}
    expiring = sa.select(Authorization.id).where(
        Authorization.end_date <= TODAY + dt.timedelta(days=30),
        Authorization.client_id == client.id)
    apply_update(session, make.actor("Support Staff"), expiring,
                 {"end_date": (TODAY + dt.timedelta(days=200)).isoformat()}, today=TODAY)
    assert open_kinds(session, soon) == set()


@pytest.mark.parametrize("form, opens", [
    ({"unit_alert_level": "8"}, {"units"}),            # remaining 5 ≤ 8
    ({"exp_alert_days": "90"}, {"expiring"}),          # ends in 80 days
    ({"remaining_units": "0"}, {"exhausted"}),
])
def test_the_update_opens_the_alerts_its_fields_turn_on(session, make, form, opens):
    from rules.alerts import sync_alerts

    client = make.client()
    auth = make.auth(client, allotted_units=12, remaining_units=5)
    sync_alerts(session, TODAY)
    assert open_kinds(session, auth) == set()
    apply_update(session, make.actor("Support Staff"), scope_of(client), form, today=TODAY)
    session.refresh(auth)
    assert open_kinds(session, auth) == opens
    assert auth.active is (auth.remaining_units > 0)


def test_a_narrowed_sync_leaves_the_other_kinds_open(session, make):
    """Raising the unit alert level syncs unit alerts only: the open expiration alert of the
    same auth stays open (it still holds)."""
    from rules.alerts import sync_alerts

    client = make.client()
    auth = make.auth(client, allotted_units=12, remaining_units=5, exp_alert_days=30,
                     end_date=TODAY + dt.timedelta(days=10))
    sync_alerts(session, TODAY)
    assert open_kinds(session, auth) == {"expiring"}
    apply_update(session, make.actor("Support Staff"), scope_of(client),
                 {"unit_alert_level": "8"}, today=TODAY)
    assert open_kinds(session, auth) == {"expiring", "units"}


def test_kinds_affected_by_fields():
    from rules.alerts import kinds_affected

    assert kinds_affected({"exp_alert_days"}) == {"expiring"}
    assert kinds_affected({"insurance_company_id", "auth_group_id"}) == set()
    assert kinds_affected({"end_date"}) == {"units", "expiring", "exhausted", "expired"}
    assert kinds_affected({"remaining_units"}) == {"units", "exhausted"}
