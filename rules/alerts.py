"""Alerts (rule 13): the conditions, keeping the stored alerts in step with them, who receives
them, and each recipient's view of them.

Conditions (none while "suspend alerts" is on):
- units:     managed, unit alert level set, 0 < remaining ≤ level, not yet ended;
- expiring:  expiration alert days set, 0 ≤ end − today ≤ days;
- exhausted: managed, remaining ≤ 0, not yet ended;
- expired:   ended within the last EXPIRED_WINDOW_DAYS days (older ones are history, not news).
Two refinements of rule 13, so that one auth never says two contradictory things: at 0 units the
unit alert gives way to "No units left" (whether or not a level is set), and once the end date
has passed a unit alert gives way to "Expired". The conditions are SQL, so keeping every alert
true is two statements (``sync_alerts``), and a rule that changes auths calls ``settle``.

Recipients: active users whose profile has "Receive authorization alerts"
(``permissions.RECEIVE_ALERTS``). A profile may narrow them to the clients of one division
and/or to the clients whose primary therapist belongs to one user group. Each recipient may
acknowledge an alert for themself; it stays open for everyone else."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import (Date, Select, and_, case, exists, false, func, insert, literal, not_, or_,
                        select, true, union_all, update)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import ColumnElement
from sqlalchemy.sql.visitors import InternalTraversal

from models import (ALERT_KIND_LABELS, ALERT_KINDS, EXHAUSTED, EXPIRED, EXPIRING, UNITS, Alert,
                    AlertAcknowledgement, Authorization, BillingCode, Client, Division, Profile,
                    ProfilePermission, Provider, User, utcnow)

from .actor import Actor
from .errors import Conflict, NotFound, PermissionDenied
from .permissions import RECEIVE_ALERTS

EXPIRED_WINDOW_DAYS = 30
#: Most urgent first: the order of the alerts page, the digest and the dashboard's counts.
KIND_ORDER = (EXHAUSTED, UNITS, EXPIRING, EXPIRED)
#: How many auth ids one statement of ``settle`` names (both databases cap bound parameters).
_CHUNK = 2000
#: The authorization fields each kind's condition reads (besides today's date).
FIELDS_OF_KIND = {
    UNITS: frozenset({"suspend_alerts", "unmanaged", "unit_alert_level", "remaining_units",
                      "end_date"}),
    EXPIRING: frozenset({"suspend_alerts", "exp_alert_days", "end_date"}),
    EXHAUSTED: frozenset({"suspend_alerts", "unmanaged", "remaining_units", "end_date"}),
    EXPIRED: frozenset({"suspend_alerts", "end_date"}),
}


def kinds_affected(fields) -> frozenset[str]:
    """The alert kinds whose condition a change of these fields can turn on or off."""
    fields = set(fields)
    return frozenset(kind for kind, read in FIELDS_OF_KIND.items() if read & fields)


# -- conditions ------------------------------------------------------------------------------

def conditions(today: dt.date, *, whole_table: bool = False) -> dict:
    """kind → SQL condition over authorizations. ``whole_table``: the condition will be checked
    on every row (the daily job), where reading the table beats walking the end-date index
    over most of it; SQLite cannot tell the two apart without help."""
    a = Authorization
    live = not_(a.suspend_alerts)
    managed = not_(a.unmanaged)
    end = Unindexed(a.end_date) if whole_table else a.end_date
    return {
        UNITS: and_(live, managed, a.unit_alert_level.is_not(None),
                    a.remaining_units <= a.unit_alert_level, a.remaining_units > 0,
                    end >= today),
        EXPIRING: and_(live, a.exp_alert_days.is_not(None), end >= today,
                       _end_within_days(today)),
        EXHAUSTED: and_(live, managed, a.remaining_units <= 0, end >= today),
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


class Unindexed(ColumnElement):
    """A column SQLite must not look up through its index (``+column``); as is elsewhere."""

    inherit_cache = False

    def __init__(self, column):
        self.column = column
        self.type = column.type


@compiles(Unindexed, "sqlite")
def _unindexed_sqlite(element, compiler, **kw):
    return "+" + compiler.process(element.column, **kw)


@compiles(Unindexed)
def _unindexed_default(element, compiler, **kw):
    return compiler.process(element.column, **kw)


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


# -- keeping stored alerts true --------------------------------------------------------------

def _insert_ignoring_duplicates(session: Session, table):
    """INSERT … ON CONFLICT DO NOTHING: a user's transaction may open the same alert while the
    daily job runs (PostgreSQL); the partial unique index uq_alerts_open keeps one, neither
    fails."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing()
    if dialect == "sqlite":
        return sqlite.insert(table).on_conflict_do_nothing()
    return insert(table)


def sync_alerts(session: Session, today: dt.date, auth_ids=None, *,
                scope: Select | None = None, kinds=None) -> dict[str, int]:
    """Open the alerts whose condition holds and close those whose condition stopped, for
    every auth, only ``auth_ids``, or only the auths a ``scope`` (a SELECT of authorization
    ids: a bulk operation's filter or id range) selects: one INSERT … SELECT and one UPDATE.
    ``kinds`` narrows it to those alert kinds (a bulk change of fields only some kinds read:
    see :func:`kinds_affected`). Safe to repeat."""
    kinds = tuple(KIND_ORDER if kinds is None else (k for k in KIND_ORDER if k in kinds))
    if not kinds:
        return {"opened": 0, "closed": 0}
    if scope is not None:
        return _sync(session, today, scope, kinds)
    if auth_ids is None:
        return _sync(session, today, None, kinds)
    ids = sorted(set(auth_ids))
    total = {"opened": 0, "closed": 0}
    for start in range(0, len(ids), _CHUNK):
        done = _sync(session, today, ids[start:start + _CHUNK], kinds)
        total = {k: total[k] + done[k] for k in total}
    return total


def _sync(session: Session, today: dt.date, ids: list[int] | Select | None,
          kinds=KIND_ORDER) -> dict[str, int]:
    now = utcnow()
    conds = {kind: cond for kind, cond in conditions(today, whole_table=ids is None).items()
             if kind in kinds}
    a = Authorization
    selects = []
    for kind, cond in conds.items():
        already_open = exists().where(Alert.authorization_id == a.id, Alert.kind == kind,
                                      Alert.closed_at.is_(None))
        where = [cond, not_(already_open)]
        if ids is not None:
            where.append(a.id.in_(ids))
        selects.append(select(a.id.label("authorization_id"), literal(kind).label("kind"),
                              literal(now).label("opened_at")).where(*where))
    new = union_all(*selects).subquery("new_alerts")
    # INSERT … SELECT … ON CONFLICT DO NOTHING (see _insert_ignoring_duplicates), with the
    # clause written as a suffix of the SELECT: the dialects' on_conflict_do_nothing() makes a
    # statement SQLAlchemy cannot cache, and compiling this one cost 17 ms of every note
    # release (bench). The WHERE keeps SQLite from reading ON CONFLICT as a join's ON.
    to_open = (select(new.c.authorization_id, new.c.kind, new.c.opened_at).where(true())
               .suffix_with("ON CONFLICT DO NOTHING", dialect="sqlite")
               .suffix_with("ON CONFLICT DO NOTHING", dialect="postgresql"))
    opened = session.execute(
        insert(Alert.__table__)
        .from_select(["authorization_id", "kind", "opened_at"], to_open)
        .execution_options(preserve_rowcount=True)).rowcount or 0

    still_holds = exists().where(a.id == Alert.authorization_id, or_(
        *(and_(Alert.kind == kind, cond) for kind, cond in conds.items())))
    close = (update(Alert.__table__).where(Alert.closed_at.is_(None), not_(still_holds))
             .values(closed_at=now).execution_options(synchronize_session=False))
    if len(conds) < len(KIND_ORDER):  # the other kinds' alerts are not this sync's to close
        close = close.where(Alert.kind.in_(list(conds)))
    if ids is not None:
        close = close.where(Alert.authorization_id.in_(ids))
    closed = session.execute(close).rowcount or 0
    return {"opened": opened, "closed": closed}


def settle(session: Session, auth_ids, today: dt.date, *, fields=None) -> None:
    """After any change to these auths in this transaction: bring their alerts in step, so an
    alert closes by itself as soon as its condition stops (units added, dates extended…).
    ``fields``: only these fields changed, so only the kinds reading them are synced."""
    ids = sorted(set(auth_ids))
    kinds = None if fields is None else kinds_affected(fields)
    if ids and kinds != frozenset():
        session.flush()
        sync_alerts(session, today, ids, kinds=kinds)


# -- recipients -------------------------------------------------------------------------------

def receives_alerts(user: User | None) -> bool:
    return bool(user is not None and user.active and RECEIVE_ALERTS in user.permissions)


def has_alert_rule():
    """SQL: the profile (``Profile``) holds the alert rule."""
    return exists().where(ProfilePermission.profile_id == Profile.id,
                          ProfilePermission.permission == RECEIVE_ALERTS)


def profile_narrowing():
    """SQL over Profile and Client: the client lies within the profile's alert narrowing."""
    in_group = exists().where(Provider.id == Client.primary_therapist_id,
                              Provider.user_group_id == Profile.alert_user_group_id)
    return and_(or_(Profile.alert_division_id.is_(None),
                    Client.division_id == Profile.alert_division_id),
                or_(Profile.alert_user_group_id.is_(None), in_group))


def recipients(session: Session, authorization_id: int | None = None) -> list[User]:
    """Active users who receive alerts; with ``authorization_id``, those whose narrowing
    includes that auth's client."""
    stmt = (select(User).join(Profile, User.profile_id == Profile.id)
            .where(User.active.is_(True), has_alert_rule()).order_by(User.full_name, User.id))
    if authorization_id is not None:
        stmt = (stmt.join(Authorization, Authorization.id == authorization_id)
                .join(Client, Client.id == Authorization.client_id)
                .where(profile_narrowing()))
    return list(session.scalars(stmt))


@dataclass(frozen=True)
class Scope:
    """Which clients' authorizations someone looks at; empty: the whole practice."""

    division_id: int | None = None
    user_group_id: int | None = None
    therapist_id: int | None = None

    def condition(self):
        """SQL over Client, or None when nothing narrows."""
        conds = []
        if self.division_id is not None:
            conds.append(Client.division_id == self.division_id)
        if self.user_group_id is not None:
            conds.append(Client.primary_therapist_id.in_(
                select(Provider.id).where(Provider.user_group_id == self.user_group_id)))
        if self.therapist_id is not None:
            conds.append(Client.primary_therapist_id == self.therapist_id)
        return and_(*conds) if conds else None


def alert_scope(user: User) -> Scope | None:
    """The clients whose alerts this user receives; None if they receive none."""
    if not receives_alerts(user):
        return None
    return Scope(division_id=user.profile.alert_division_id,
                 user_group_id=user.profile.alert_user_group_id)


# -- a recipient's alerts ---------------------------------------------------------------------

@dataclass(frozen=True)
class AlertRow:
    alert_id: int
    kind: str
    opened_at: dt.datetime
    acknowledged: bool
    authorization_id: int
    auth_number: str
    code: str
    remaining_units: int
    pending_units: int
    allotted_units: int
    unmanaged: bool
    start_date: dt.date
    end_date: dt.date
    days_left: int
    client_id: int
    client_name: str
    division: str | None

    @property
    def kind_label(self) -> str:
        return ALERT_KIND_LABELS[self.kind]

    @property
    def remaining_label(self) -> str:
        return "unlimited" if self.unmanaged else str(self.remaining_units)

    @property
    def days_left_label(self) -> str:
        if self.days_left < 0:
            days = -self.days_left
            return f"ended {days} day{'s' if days != 1 else ''} ago"
        return "ends today" if self.days_left == 0 else str(self.days_left)


@dataclass(frozen=True)
class AlertList:
    rows: list[AlertRow]
    total: int


def kind_rank():
    """SQL: the position of an alert's kind in KIND_ORDER."""
    return case({k: i for i, k in enumerate(KIND_ORDER)}, value=Alert.kind, else_=len(KIND_ORDER))


def acknowledged_by(user_id: int):
    return exists().where(AlertAcknowledgement.alert_id == Alert.id,
                          AlertAcknowledgement.user_id == user_id)


def alert_columns(user_id_for_ack=None):
    """The columns of an AlertRow (without days_left), for a query joining Alert, Authorization,
    Client, BillingCode and (outer) Division. ``user_id_for_ack``: a user id or a SQL column."""
    ack = acknowledged_by(user_id_for_ack) if user_id_for_ack is not None else false()
    return (Alert.id.label("alert_id"), Alert.kind, Alert.opened_at, ack.label("acknowledged"),
            Authorization.id.label("authorization_id"), Authorization.auth_number,
            BillingCode.code, Authorization.remaining_units, Authorization.pending_units,
            Authorization.allotted_units, Authorization.unmanaged, Authorization.start_date,
            Authorization.end_date, Client.id.label("client_id"),
            Client.last_name, Client.first_name, Division.name.label("division"))


def joined_alerts(stmt):
    """Join what an AlertRow shows onto a statement selecting from Alert."""
    return (stmt.join(Authorization, Authorization.id == Alert.authorization_id)
            .join(Client, Client.id == Authorization.client_id)
            .join(BillingCode, BillingCode.id == Authorization.billing_code_id)
            .outerjoin(Division, Division.id == Client.division_id))


def alert_row(r, today: dt.date) -> AlertRow:
    return AlertRow(
        alert_id=r.alert_id, kind=r.kind, opened_at=r.opened_at, acknowledged=bool(r.acknowledged),
        authorization_id=r.authorization_id, auth_number=r.auth_number, code=r.code,
        remaining_units=r.remaining_units, pending_units=r.pending_units,
        allotted_units=r.allotted_units, unmanaged=bool(r.unmanaged), start_date=r.start_date,
        end_date=r.end_date, days_left=(r.end_date - today).days, client_id=r.client_id,
        client_name=f"{r.last_name}, {r.first_name}", division=r.division)


def open_alerts_for(session: Session, user: User, *, today: dt.date, kind: str | None = None,
                    division_id: int | None = None, include_acknowledged: bool = False,
                    alert_id: int | None = None, limit: int = 50, offset: int = 0) -> AlertList:
    """The user's open alerts, most urgent first, one page of them and how many there are in
    all, in one query. A user who receives no alerts has none."""
    scope = alert_scope(user)
    if scope is None or (kind is not None and kind not in ALERT_KINDS):
        return AlertList([], 0)
    stmt = joined_alerts(select(*alert_columns(user.id), func.count().over().label("total"))
                         .select_from(Alert)).where(Alert.closed_at.is_(None))
    narrowing = scope.condition()
    if narrowing is not None:
        stmt = stmt.where(narrowing)
    if kind is not None:
        stmt = stmt.where(Alert.kind == kind)
    if division_id is not None:
        stmt = stmt.where(Client.division_id == division_id)
    if alert_id is not None:
        stmt = stmt.where(Alert.id == alert_id)
    if not include_acknowledged:
        stmt = stmt.where(not_(acknowledged_by(user.id)))
    stmt = (stmt.order_by(kind_rank(), Authorization.end_date, Alert.id)
            .limit(max(1, limit)).offset(max(0, offset)))
    rows = session.execute(stmt).all()
    return AlertList([alert_row(r, today) for r in rows], rows[0].total if rows else 0)


@dataclass(frozen=True)
class KindCount:
    open: int = 0
    new: int = 0  # not acknowledged by the user (for a recipient)


def count_open_alerts(session: Session, scope: Scope, user_id: int | None = None
                      ) -> dict[str, KindCount]:
    """Open alerts by kind within ``scope`` (one GROUP BY over the open-alert index; the
    clients are joined only when the scope narrows). With ``user_id``, also how many that user
    has not acknowledged."""
    new = (func.sum(case((acknowledged_by(user_id), 0), else_=1)) if user_id is not None
           else func.count())
    stmt = (select(Alert.kind, func.count(), new).select_from(Alert)
            .where(Alert.closed_at.is_(None)).group_by(Alert.kind))
    narrowing = scope.condition()
    if narrowing is not None:
        stmt = (stmt.join(Authorization, Authorization.id == Alert.authorization_id)
                .join(Client, Client.id == Authorization.client_id).where(narrowing))
    found = {k: KindCount(int(n), int(m or 0)) for k, n, m in session.execute(stmt)}
    return {k: found.get(k, KindCount()) for k in KIND_ORDER}


def alert_counts_for(session: Session, user: User) -> dict[str, KindCount]:
    """The user's open alerts by kind (all zero for someone who receives none)."""
    scope = alert_scope(user)
    if scope is None:
        return {k: KindCount() for k in KIND_ORDER}
    return count_open_alerts(session, scope, user.id)


def acknowledge_alert(session: Session, actor: Actor, alert_id: int, *,
                      today: dt.date) -> AlertRow:
    """The acting user has seen this alert: hide it from their list. It stays open for the
    other recipients and closes only when its condition stops."""
    actor.require(RECEIVE_ALERTS, "acknowledge alerts")
    user = session.get(User, actor.user_id) if actor.user_id is not None else None
    if not receives_alerts(user):
        raise PermissionDenied("Only a user who receives alerts can acknowledge one.")
    found = open_alerts_for(session, user, today=today, alert_id=alert_id,
                            include_acknowledged=True, limit=1).rows
    if not found:
        alert = session.get(Alert, alert_id) if isinstance(alert_id, int) else None
        if alert is not None and alert.closed_at is not None:
            raise Conflict("That alert has already closed: its condition no longer holds.")
        raise NotFound("That alert does not exist or is not among your alerts.")
    row = found[0]
    if not row.acknowledged:
        session.execute(_insert_ignoring_duplicates(session, AlertAcknowledgement.__table__)
                        .values(alert_id=row.alert_id, user_id=user.id, at=utcnow()))
    return row
