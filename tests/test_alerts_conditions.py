"""Rule 13's conditions at their boundaries: what a rule opens when it saves an auth, what the
daily job's whole-table pass finds, and the same conditions in Python — all three agree."""
import datetime as dt

import sqlalchemy as sa

from conftest import TODAY
from models import EXHAUSTED, EXPIRED, EXPIRING, UNITS, Alert
from rules.alerts import EXPIRED_WINDOW_DAYS, alert_kinds_for, sync_alerts


def days(n: int) -> dt.timedelta:
    return dt.timedelta(days=n)


def open_kinds(session, auth_id: int) -> set[str]:
    return set(session.scalars(sa.select(Alert.kind).where(
        Alert.authorization_id == auth_id, Alert.closed_at.is_(None))))


LONG_AGO = TODAY - days(200)

CASES = {
    # Unit alert: managed, level set, remaining ≤ level.
    "remaining = level": ({"allotted_units": 10, "remaining_units": 3, "unit_alert_level": 3},
                          {UNITS}),
    "remaining = level + 1": ({"allotted_units": 10, "remaining_units": 4,
                               "unit_alert_level": 3}, set()),
    "remaining 1 below level": ({"allotted_units": 10, "remaining_units": 2,
                                 "unit_alert_level": 3}, {UNITS}),
    "no alert level set": ({"allotted_units": 10, "remaining_units": 1}, set()),
    "0 left: no units left instead of low": ({"allotted_units": 10, "remaining_units": 0,
                                              "unit_alert_level": 3}, {EXHAUSTED}),
    "0 left without a level": ({"allotted_units": 10, "remaining_units": 0}, {EXHAUSTED}),
    "unmanaged: never low or out": ({"allotted_units": 0, "remaining_units": 0,
                                     "unit_alert_level": 3, "unmanaged": True}, set()),
    # Expiration alert: days set, 0 ≤ end − today ≤ days.
    "end − today = days": ({"end_date": TODAY + days(30), "exp_alert_days": 30}, {EXPIRING}),
    "end − today = days + 1": ({"end_date": TODAY + days(31), "exp_alert_days": 30}, set()),
    "ends today, days 0": ({"end_date": TODAY, "exp_alert_days": 0}, {EXPIRING}),
    "ends tomorrow, days 0": ({"end_date": TODAY + days(1), "exp_alert_days": 0}, set()),
    "no expiration days set": ({"end_date": TODAY + days(1)}, set()),
    "low and expiring": ({"end_date": TODAY + days(5), "exp_alert_days": 10,
                          "allotted_units": 10, "remaining_units": 1, "unit_alert_level": 2},
                         {UNITS, EXPIRING}),
    # Ended: expired news for EXPIRED_WINDOW_DAYS days; unit alerts give way to it.
    "end yesterday": ({"start_date": LONG_AGO, "end_date": TODAY - days(1), "exp_alert_days": 30,
                       "allotted_units": 10, "remaining_units": 1, "unit_alert_level": 3},
                      {EXPIRED}),
    "ended yesterday with 0 left": ({"start_date": LONG_AGO, "end_date": TODAY - days(1),
                                     "allotted_units": 5, "remaining_units": 0}, {EXPIRED}),
    "ended the window's last day": ({"start_date": LONG_AGO,
                                     "end_date": TODAY - days(EXPIRED_WINDOW_DAYS)}, {EXPIRED}),
    "ended before the window": ({"start_date": LONG_AGO,
                                 "end_date": TODAY - days(EXPIRED_WINDOW_DAYS + 1)}, set()),
}


def test_condition_boundaries(session, make):
    """Every case, with alerts on and with "suspend alerts": saving the auth opens exactly the
    expected alerts, the Python form agrees, and so does the daily job's whole-table pass."""
    auths = {}
    for name, (fields, _) in CASES.items():
        for suspended in (False, True):
            auths[name, suspended] = make.auth(make.client(), suspend_alerts=suspended, **fields)

    def expected(name, suspended):
        return set() if suspended else CASES[name][1]

    wrong = [(name, suspended, "saved", open_kinds(session, a.id))
             for (name, suspended), a in auths.items()
             if open_kinds(session, a.id) != expected(name, suspended)]
    wrong += [(name, suspended, "python", alert_kinds_for(a, TODAY))
              for (name, suspended), a in auths.items()
              if alert_kinds_for(a, TODAY) != expected(name, suspended)]
    session.execute(sa.delete(Alert))
    sync_alerts(session, TODAY)
    wrong += [(name, suspended, "daily job", open_kinds(session, a.id))
              for (name, suspended), a in auths.items()
              if open_kinds(session, a.id) != expected(name, suspended)]
    assert wrong == []


def test_the_daily_job_opens_and_closes_as_days_pass(session, make):
    """end − today = days + 1 today: nothing; one day later: expiring; the day after the end:
    expired instead; EXPIRED_WINDOW_DAYS later: nothing."""
    auth = make.auth(make.client(), end_date=TODAY + days(11), exp_alert_days=10)
    assert open_kinds(session, auth.id) == set()
    for offset, expected in ((1, {EXPIRING}), (11, {EXPIRING}), (12, {EXPIRED}),
                             (11 + EXPIRED_WINDOW_DAYS, {EXPIRED}),
                             (12 + EXPIRED_WINDOW_DAYS, set())):
        sync_alerts(session, TODAY + days(offset))
        assert open_kinds(session, auth.id) == expected, f"day +{offset}"


def test_one_open_alert_per_kind_and_history_is_kept(session, make):
    auth = make.auth(make.client(), end_date=TODAY + days(11), exp_alert_days=10)
    sync_alerts(session, TODAY + days(1))
    sync_alerts(session, TODAY + days(1))
    sync_alerts(session, TODAY + days(12))
    rows = session.execute(sa.select(Alert.kind, Alert.closed_at.is_(None))
                           .where(Alert.authorization_id == auth.id).order_by(Alert.id)).all()
    assert [tuple(r) for r in rows] == [(EXPIRING, False), (EXPIRED, True)]
