"""Alert conditions (rule 13) and keeping the stored alerts in step with them.

- units:     managed, unit alert level set, remaining ≤ level (and > 0: at 0 it is "exhausted");
- expiring:  exp. alert days set, 0 ≤ end − today ≤ days;
- exhausted: managed, remaining = 0, not yet ended;
- expired:   ended within the last EXPIRED_WINDOW_DAYS days (older ones are history, not news).
None while "suspend alerts" is on. Conditions are SQL, so the daily job is a few statements."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import Date, and_, exists, insert, literal, not_, select, update
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import ColumnElement
from sqlalchemy.sql.visitors import InternalTraversal

from models import EXHAUSTED, EXPIRED, EXPIRING, UNITS, Alert, Authorization, utcnow

EXPIRED_WINDOW_DAYS = 30


def conditions(today: dt.date) -> dict:
    """kind → SQL condition over authorizations."""
    a = Authorization
    live = not_(a.suspend_alerts)
    managed = not_(a.unmanaged)
    return {
        UNITS: and_(live, managed, a.unit_alert_level.is_not(None),
                    a.remaining_units <= a.unit_alert_level, a.remaining_units > 0,
                    a.end_date >= today),
        EXPIRING: and_(live, a.exp_alert_days.is_not(None), a.end_date >= today,
                       _end_within_days(today)),
        EXHAUSTED: and_(live, managed, a.remaining_units <= 0, a.end_date >= today),
        EXPIRED: and_(live, a.end_date < today,
                      a.end_date >= today - dt.timedelta(days=EXPIRED_WINDOW_DAYS)),
    }


def _end_within_days(today: dt.date):
    """end − today ≤ exp. alert days, i.e. end ≤ today + days (per row)."""
    return Authorization.end_date <= DatePlusDays(today, Authorization.exp_alert_days)


class DatePlusDays(ColumnElement):
    """A fixed date plus a number of days from a column, as a SQL date on both databases.

    The date is a bound parameter and both parts are traversed, so statements using it are
    compiled once and cached like any other (every unit movement syncs alerts)."""

    inherit_cache = True
    type = Date()
    _traverse_internals = [("day", InternalTraversal.dp_clauseelement),
                           ("days_column", InternalTraversal.dp_clauseelement)]

    def __init__(self, day: dt.date, days_column):
        # SQLite's Date binds as 'YYYY-MM-DD', the form its date() function reads.
        self.day = literal(day, Date())
        self.days_column = days_column


@compiles(DatePlusDays, "sqlite")
def _date_plus_sqlite(element, compiler, **kw):
    days = compiler.process(element.days_column, **kw)
    day = compiler.process(element.day, **kw)
    return f"date({day}, '+' || {days} || ' days')"


@compiles(DatePlusDays)
def _date_plus_default(element, compiler, **kw):
    days = compiler.process(element.days_column, **kw)
    day = compiler.process(element.day, **kw)
    return f"(CAST({day} AS DATE) + {days})"


def alert_kinds_for(auth: Authorization, today: dt.date) -> set[str]:
    """The same conditions for one auth, in Python (forms, tests)."""
    kinds = set()
    if auth.suspend_alerts:
        return kinds
    managed = not auth.unmanaged
    if (managed and auth.unit_alert_level is not None
            and 0 < auth.remaining_units <= auth.unit_alert_level and auth.end_date >= today):
        kinds.add(UNITS)
    if auth.exp_alert_days is not None and 0 <= (auth.end_date - today).days <= auth.exp_alert_days:
        kinds.add(EXPIRING)
    if managed and auth.remaining_units <= 0 and auth.end_date >= today:
        kinds.add(EXHAUSTED)
    if 0 < (today - auth.end_date).days <= EXPIRED_WINDOW_DAYS:
        kinds.add(EXPIRED)
    return kinds


def sync_alerts(session: Session, today: dt.date, auth_ids=None) -> dict[str, int]:
    """Open the alerts whose condition holds and close those whose condition stopped, for
    every auth or only ``auth_ids``. Two statements per kind; safe to repeat."""
    now = utcnow()
    opened = closed = 0
    for kind, cond in conditions(today).items():
        scope = cond if auth_ids is None else and_(cond, Authorization.id.in_(auth_ids))
        already_open = exists().where(Alert.authorization_id == Authorization.id,
                                      Alert.kind == kind, Alert.closed_at.is_(None))
        to_open = select(Authorization.id, literal(kind), literal(now)).where(
            scope, not_(already_open))
        opened += session.execute(
            insert(Alert.__table__).from_select(["authorization_id", "kind", "opened_at"], to_open)
            .execution_options(preserve_rowcount=True)
        ).rowcount or 0
        still_holds = select(Authorization.id).where(scope)
        close = (update(Alert.__table__).where(Alert.kind == kind, Alert.closed_at.is_(None),
                                     Alert.authorization_id.not_in(still_holds))
                 .values(closed_at=now).execution_options(synchronize_session=False))
        if auth_ids is not None:
            close = close.where(Alert.authorization_id.in_(auth_ids))
        closed += session.execute(close).rowcount or 0
    return {"opened": opened, "closed": closed}


def settle(session: Session, auth_ids, today: dt.date) -> None:
    """After any change to these auths in this transaction: bring their alerts in step, so an
    alert closes by itself as soon as its condition stops (units added, dates extended…)."""
    ids = sorted(set(auth_ids))
    if ids:
        session.flush()
        sync_alerts(session, today, ids)
