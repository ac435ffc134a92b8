"""rules.status: the daily job that keeps the computed active status (rule 5) — and the alerts —
true as the days pass; it edits as "system" (rule 12), in one audit batch (rule 19)."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from conftest import TODAY
from models import Alert, AuditBatch, AuditRecord, Authorization
from rules.notes import create_note, release_note
from rules.status import refresh_status

DAY = dt.timedelta(days=1)


def status(session, *auths):
    session.expire_all()
    return [session.get(Authorization, a.id).active for a in auths]


def test_status_flips_as_the_days_pass(session, make):
    client = make.client()
    ending = make.auth(client, "90834", start_date=TODAY - 9 * DAY, end_date=TODAY)
    starting = make.auth(client, "90837", start_date=TODAY + DAY, end_date=TODAY + 9 * DAY)
    unmanaged = make.auth(client, "H0031", allotted_units=0, unmanaged=True,
                          start_date=TODAY + DAY, end_date=TODAY + 9 * DAY)
    session.commit()
    assert status(session, ending, starting, unmanaged) == [True, False, False]

    result = refresh_status(session, today=TODAY)
    assert (result.activated, result.deactivated) == (0, 0)
    result = refresh_status(session, today=TODAY + DAY)
    assert (result.activated, result.deactivated) == (2, 1)
    assert status(session, ending, starting, unmanaged) == [False, True, True]
    # Safe to run often: a second run finds nothing to do.
    again = refresh_status(session, today=TODAY + DAY)
    assert (again.activated, again.deactivated, again.alerts_opened, again.alerts_closed) == \
        (0, 0, 0, 0)
    # Past the end of every auth.
    result = refresh_status(session, today=TODAY + 10 * DAY)
    assert (result.activated, result.deactivated) == (0, 2)
    assert status(session, ending, starting, unmanaged) == [False, False, False]


def test_the_job_edits_as_system_in_one_batch(session, make):
    client = make.client()
    auths = [make.auth(client, code, end_date=TODAY, actor=make.actor("Support Staff"))
             for code in ("90832", "90834", "90837")]
    untouched = make.auth(client, "90853", end_date=TODAY + 30 * DAY,
                          actor=make.actor("Support Staff"))
    session.commit()
    stamps = {a.id: a.last_edited_at for a in auths}

    refresh_status(session, today=TODAY + DAY)
    session.commit()

    session.expire_all()
    for a in auths:
        a = session.get(Authorization, a.id)
        assert (a.active, a.last_edited_by) == (False, "system")
        assert a.last_edited_at > stamps[a.id]
    assert session.get(Authorization, untouched.id).last_edited_by == "Test Support Staff"
    batch = session.scalars(sa.select(AuditBatch).where(AuditBatch.kind == "refresh_status")).one()
    assert (batch.actor_name, batch.row_count) == ("system", 3)
    assert batch.description == "Daily status: 3 authorizations changed status"
    records = session.scalars(sa.select(AuditRecord).where(AuditRecord.batch_id == batch.id)
                              .order_by(AuditRecord.object_id)).all()
    assert [(r.object_id, r.actor_name, r.action, r.changes) for r in records] == [
        (a.id, "system", "status", {"active": [True, False]}) for a in auths]
    # Nothing to change → no empty batch.
    refresh_status(session, today=TODAY + DAY)
    assert session.scalar(sa.select(sa.func.count()).select_from(AuditBatch)) == 1


def test_the_job_opens_and_closes_alerts(session, make):
    client = make.client()
    auth = make.auth(client, end_date=TODAY + 10 * DAY, exp_alert_days=7)
    session.commit()
    assert session.scalar(sa.select(sa.func.count()).select_from(Alert)) == 0
    opened = refresh_status(session, today=TODAY + 3 * DAY)
    assert (opened.alerts_opened, opened.alerts_closed) == (1, 0)
    assert session.scalars(sa.select(Alert.kind).where(Alert.closed_at.is_(None))).all() == \
        ["expiring"]
    ended = refresh_status(session, today=TODAY + 11 * DAY)
    assert (ended.deactivated, ended.alerts_opened, ended.alerts_closed) == (1, 1, 1)
    assert session.scalars(sa.select(Alert.kind).where(Alert.closed_at.is_(None))).all() == \
        ["expired"]
    assert auth.id == session.scalars(sa.select(Alert.authorization_id)).first()


def test_an_inactive_auth_with_units_left_is_usable_inside_its_dates(session, make):
    """Rule 5: a note for a service given before the end date, written after it."""
    client, provider, admin = make.client(), make.provider(), make.actor()
    auth = make.auth(client, allotted_units=4, start_date=TODAY - 20 * DAY,
                     end_date=TODAY - DAY)
    assert auth.active is False
    note = create_note(session, admin, {"client_id": client.id, "provider_id": provider.id,
                                        "service_date": TODAY - 2 * DAY, "units": 1,
                                        "billing_code_id": auth.billing_code_id}, today=TODAY)
    release_note(session, admin, note.id, today=TODAY)
    assert note.authorization_id == auth.id
    assert (auth.remaining_units, auth.active) == (3, False)
