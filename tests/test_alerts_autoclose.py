"""An alert closes by itself the moment its condition stops — units added, dates extended,
alerts suspended — and opens the moment it starts, through every rule that changes an auth."""
import datetime as dt

import sqlalchemy as sa

from conftest import TODAY
from models import EXHAUSTED, EXPIRED, EXPIRING, UNITS, Alert, User
from rules.alerts import open_alerts_for
from rules.authorizations import update_authorization
from rules.notes import create_note, release_note, void_note


def history(session, auth) -> list[tuple[str, bool]]:
    """(kind, still open) of every alert the auth ever had, oldest first."""
    rows = session.execute(sa.select(Alert.kind, Alert.closed_at.is_(None))
                           .where(Alert.authorization_id == auth.id).order_by(Alert.id))
    return [(k, bool(o)) for k, o in rows]


def edit(session, make, auth, **changes):
    return update_authorization(session, make.actor("Support Staff"), auth.id, changes,
                                today=TODAY)


def test_adding_units_closes_low_and_out_of_units(session, make, users):
    client = make.client("Hanson")
    low = make.auth(client, "90834", allotted_units=10, remaining_units=2, unit_alert_level=3)
    out = make.auth(client, "90837", allotted_units=6, remaining_units=0, unit_alert_level=2)
    assert history(session, low) == [(UNITS, True)]
    assert history(session, out) == [(EXHAUSTED, True)]
    support = session.get(User, users["support"])
    assert len(open_alerts_for(session, support, today=TODAY).rows) == 2

    edit(session, make, low, remaining_units=8)
    edit(session, make, out, allotted_units=12, remaining_units=6)
    assert history(session, low) == [(UNITS, False)]
    assert history(session, out) == [(EXHAUSTED, False)]
    assert open_alerts_for(session, support, today=TODAY).rows == []


def test_extending_dates_closes_expiring_and_expired(session, make):
    client = make.client()
    soon = make.auth(client, "90834", end_date=TODAY + dt.timedelta(days=5), exp_alert_days=10)
    ended = make.auth(client, "90837", start_date=TODAY - dt.timedelta(days=100),
                      end_date=TODAY - dt.timedelta(days=1))
    assert history(session, soon) == [(EXPIRING, True)]
    assert history(session, ended) == [(EXPIRED, True)]
    assert not ended.active

    edit(session, make, soon, end_date=(TODAY + dt.timedelta(days=90)).isoformat())
    edit(session, make, ended, end_date=(TODAY + dt.timedelta(days=90)).isoformat())
    assert history(session, soon) == [(EXPIRING, False)]
    assert history(session, ended) == [(EXPIRED, False)]
    assert ended.active


def test_suspending_alerts_closes_them_and_resuming_opens_new_ones(session, make):
    auth = make.auth(make.client(), allotted_units=10, remaining_units=1, unit_alert_level=3,
                     end_date=TODAY + dt.timedelta(days=3), exp_alert_days=7)
    assert sorted(history(session, auth)) == [(EXPIRING, True), (UNITS, True)]
    edit(session, make, auth, suspend_alerts=True)
    assert sorted(history(session, auth)) == [(EXPIRING, False), (UNITS, False)]
    edit(session, make, auth, suspend_alerts=False)
    assert sorted(history(session, auth)) == [(EXPIRING, False), (EXPIRING, True),
                                              (UNITS, False), (UNITS, True)]


def test_notes_open_and_close_unit_alerts_as_units_move(session, make):
    client, provider = make.client(), make.provider()
    actor = make.actor()
    auth = make.auth(client, allotted_units=4, unit_alert_level=2)

    def note(units):
        n = create_note(session, actor, {
            "client_id": client.id, "provider_id": provider.id, "authorization_id": auth.id,
            "service_date": TODAY - dt.timedelta(days=1), "units": units}, today=TODAY)
        release_note(session, actor, n.id, today=TODAY)
        return n

    first = note(2)  # 2 left: at the level
    assert history(session, auth) == [(UNITS, True)]
    note(2)  # none left
    assert history(session, auth) == [(UNITS, False), (EXHAUSTED, True)]
    void_note(session, actor, first.id, "entered twice", today=TODAY)  # 2 back
    assert history(session, auth) == [(UNITS, False), (EXHAUSTED, False), (UNITS, True)]
