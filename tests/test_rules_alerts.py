"""rules.alerts: the alert conditions of rule 13 at their boundaries — the same in Python
(alert_kinds_for), in SQL (conditions) and in the stored alerts, which open and close by
themselves. (Recipients and the digest are another module's.)"""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from conftest import TODAY
from models import Alert, Authorization
from rules.alerts import alert_kinds_for, conditions, sync_alerts
from rules.authorizations import update_authorization
from rules.notes import create_note, release_note

DAY = dt.timedelta(days=1)

#: name → (fields, alert kinds on TODAY)
CASES = {
    "remaining = level": ({"allotted_units": 10, "remaining_units": 3, "unit_alert_level": 3},
                          {"units"}),
    "remaining = level + 1": ({"allotted_units": 10, "remaining_units": 4,
                               "unit_alert_level": 3}, set()),
    "level 0, remaining 1": ({"allotted_units": 10, "remaining_units": 1,
                              "unit_alert_level": 0}, set()),
    "remaining 0 is exhausted, not low": ({"allotted_units": 10, "remaining_units": 0,
                                           "unit_alert_level": 3}, {"exhausted"}),
    "exhausted without a level": ({"allotted_units": 5, "remaining_units": 0}, {"exhausted"}),
    "no level set": ({"allotted_units": 10, "remaining_units": 1}, set()),
    "unmanaged never low": ({"allotted_units": 0, "unit_alert_level": 5, "unmanaged": True},
                            set()),
    "end − today = days": ({"end_date": TODAY + 7 * DAY, "exp_alert_days": 7}, {"expiring"}),
    "end − today = days + 1": ({"end_date": TODAY + 8 * DAY, "exp_alert_days": 7}, set()),
    "ends today, days 0": ({"end_date": TODAY, "exp_alert_days": 0}, {"expiring"}),
    "no days set": ({"end_date": TODAY}, set()),
    "ended yesterday": ({"end_date": TODAY - DAY, "exp_alert_days": 7, "allotted_units": 5,
                         "remaining_units": 0, "unit_alert_level": 3}, {"expired"}),
    "ended 30 days ago": ({"end_date": TODAY - 30 * DAY}, {"expired"}),
    "ended 31 days ago": ({"end_date": TODAY - 31 * DAY}, set()),
    "everything at once": ({"end_date": TODAY + 2 * DAY, "exp_alert_days": 2,
                            "remaining_units": 1, "unit_alert_level": 1}, {"units", "expiring"}),
    "suspended": ({"end_date": TODAY + 2 * DAY, "exp_alert_days": 2, "remaining_units": 1,
                   "unit_alert_level": 1, "suspend_alerts": True}, set()),
    "suspended, exhausted": ({"remaining_units": 0, "suspend_alerts": True}, set()),
    "suspended, expired": ({"end_date": TODAY - DAY, "suspend_alerts": True}, set()),
}


def open_alerts(session, auth_ids):
    rows = session.execute(sa.select(Alert.authorization_id, Alert.kind).where(
        Alert.closed_at.is_(None), Alert.authorization_id.in_(auth_ids))).all()
    out = {i: set() for i in auth_ids}
    for auth_id, kind in rows:
        out[auth_id].add(kind)
    return out


def test_conditions_at_their_boundaries(session, make):
    client = make.client()
    made = {}
    for name, (fields, _) in CASES.items():
        values = {"start_date": TODAY - 90 * DAY, **fields}
        made[name] = make.auth(client, **values)  # alerts are settled on creation
    expected = {name: kinds for name, (_, kinds) in CASES.items()}

    assert {n: alert_kinds_for(a, TODAY) for n, a in made.items()} == expected
    sql = {n: set() for n in made}
    for kind, cond in conditions(TODAY).items():
        for auth_id in session.scalars(sa.select(Authorization.id).where(cond)):
            sql[next(n for n, a in made.items() if a.id == auth_id)].add(kind)
    assert sql == expected
    stored = open_alerts(session, [a.id for a in made.values()])
    assert {n: stored[a.id] for n, a in made.items()} == expected
    # The daily job agrees and has nothing to add.
    assert sync_alerts(session, TODAY) == {"opened": 0, "closed": 0}


def test_alerts_clear_themselves_when_the_condition_stops(session, make):
    client, provider, admin = make.client(), make.provider(), make.actor()
    auth = make.auth(client, allotted_units=10, remaining_units=4, unit_alert_level=3,
                     end_date=TODAY + 20 * DAY, exp_alert_days=14)
    assert open_alerts(session, [auth.id])[auth.id] == set()
    note = create_note(session, admin, {"client_id": client.id, "provider_id": provider.id,
                                        "authorization_id": auth.id, "service_date": TODAY,
                                        "units": 1}, today=TODAY)
    assert open_alerts(session, [auth.id])[auth.id] == set()  # pending is not used
    release_note(session, admin, note.id, today=TODAY)
    assert open_alerts(session, [auth.id])[auth.id] == {"units"}
    update_authorization(session, admin, auth.id, {"remaining_units": 0}, today=TODAY)
    assert open_alerts(session, [auth.id])[auth.id] == {"exhausted"}
    update_authorization(session, admin, auth.id, {"remaining_units": 9}, today=TODAY)
    assert open_alerts(session, [auth.id])[auth.id] == set()
    update_authorization(session, admin, auth.id, {"end_date": TODAY + 5 * DAY}, today=TODAY)
    assert open_alerts(session, [auth.id])[auth.id] == {"expiring"}
    update_authorization(session, admin, auth.id, {"suspend_alerts": True}, today=TODAY)
    assert open_alerts(session, [auth.id])[auth.id] == set()
    update_authorization(session, admin, auth.id, {"suspend_alerts": False,
                                                   "exp_alert_days": 3}, today=TODAY)
    assert open_alerts(session, [auth.id])[auth.id] == set()
    # Closed alerts stay as history; one open alert per kind at most.
    kinds = session.execute(sa.select(Alert.kind, Alert.closed_at.is_(None)).where(
        Alert.authorization_id == auth.id).order_by(Alert.id)).all()
    assert kinds == [("units", False), ("exhausted", False), ("expiring", False)]


def test_the_days_pass(session, make):
    client = make.client()
    auth = make.auth(client, end_date=TODAY + 10 * DAY, exp_alert_days=3)
    session.commit()
    seen = []
    for offset in (6, 7, 10, 11, 40, 41):
        sync_alerts(session, TODAY + offset * DAY)
        seen.append(open_alerts(session, [auth.id])[auth.id])
    assert seen == [set(), {"expiring"}, {"expiring"}, {"expired"}, {"expired"}, set()]
