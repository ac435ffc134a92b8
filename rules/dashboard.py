"""The console's home page in figures: where the practice (or the part of it a person looks
after) stands today.

Whose figures:
- a user who receives alerts sees their alerts: counts by kind within their profile's alert
  narrowing, with how many they have not acknowledged yet;
- a user who does not, but documents services as a provider, sees their caseload (clients whose
  primary therapist they are): how many of those auths are in each alert condition;
- anyone else who may view authorizations sees the same counts for the whole practice;
- a profile that may neither view authorizations nor receive alerts sees no figures.
Counts of conditions are not anyone's inbox: acknowledgements are shown only to their owner.

Every figure is one indexed query whose cost does not grow with the practice: counts come from
the open alerts (index ``ix_alerts_kind_closed``), lists are bounded (``LIMIT``), expiring auths
are a range of ``ix_authorizations_end_date`` and the auths closest to running out are read in
order from ``ix_authorizations_active_remaining``."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import func, not_, or_, select, true
from sqlalchemy.orm import Session

from models import Authorization, BillingCode, Client, User

from .alerts import KIND_ORDER, KindCount, Scope, alert_counts_for, alert_scope, count_open_alerts
from .permissions import RECEIVE_ALERTS, VIEW_AUTHORIZATIONS

EXPIRING_DAYS = 30
LIST_LIMIT = 10

ALERTS, CASELOAD, PRACTICE, NOTHING = "alerts", "caseload", "practice", "nothing"


@dataclass(frozen=True)
class AuthLine:
    authorization_id: int
    auth_number: str
    code: str
    client_id: int
    client_name: str
    allotted_units: int
    remaining_units: int
    pending_units: int
    unmanaged: bool
    end_date: dt.date
    days_left: int

    @property
    def used_units(self) -> int:
        """Used, counting units used before the auth was entered (rule 18)."""
        return self.allotted_units - self.remaining_units

    @property
    def available_units(self) -> int:
        return self.remaining_units - self.pending_units

    def share(self, units: int) -> float:
        """``units`` as a percentage of allotted, for drawing a bar."""
        if self.allotted_units <= 0:
            return 0.0
        return round(100 * max(0, min(units, self.allotted_units)) / self.allotted_units, 1)

    @property
    def percent_used(self) -> int:
        return round(self.share(self.used_units))


@dataclass
class Dashboard:
    mode: str
    counts: dict[str, KindCount] = field(default_factory=dict)
    expiring: list[AuthLine] = field(default_factory=list)
    expiring_total: int = 0
    at_risk: list[AuthLine] = field(default_factory=list)
    expiring_days: int = EXPIRING_DAYS

    @property
    def open_total(self) -> int:
        return sum(c.open for c in self.counts.values())


def scope_for(user: User) -> tuple[str, Scope | None]:
    """Which figures this user sees, and for which clients."""
    if RECEIVE_ALERTS in user.permissions and user.active:
        return ALERTS, alert_scope(user)
    if not user.active or VIEW_AUTHORIZATIONS not in user.permissions:
        return NOTHING, None
    if user.provider_id is not None:
        return CASELOAD, Scope(therapist_id=user.provider_id)
    return PRACTICE, Scope()


def _in_scope(stmt, scope: Scope):
    """Narrow a statement over authorizations to the scope's clients. An IN over the clients
    (not a join) keeps the authorizations' index the one that drives the query."""
    narrowing = scope.condition()
    if narrowing is None:
        return stmt
    return stmt.where(Authorization.client_id.in_(select(Client.id).where(narrowing)))


def _lines_for(session: Session, picked, today: dt.date) -> list[AuthLine]:
    """The display columns of the auths a bounded subquery picked, in its order."""
    a = Authorization
    picked = picked.subquery("picked")
    stmt = (select(a.id, a.auth_number, BillingCode.code, a.client_id, Client.last_name,
                   Client.first_name, a.allotted_units, a.remaining_units, a.pending_units,
                   a.unmanaged, a.end_date)
            .join(picked, picked.c.id == a.id)
            .join(Client, Client.id == a.client_id)
            .join(BillingCode, BillingCode.id == a.billing_code_id)
            .order_by(picked.c.k1, picked.c.id))
    return [AuthLine(r.id, r.auth_number, r.code, r.client_id, f"{r.last_name}, {r.first_name}",
                     r.allotted_units, r.remaining_units, r.pending_units, bool(r.unmanaged),
                     r.end_date, (r.end_date - today).days)
            for r in session.execute(stmt)]


def expiring_soon(session: Session, scope: Scope, today: dt.date, *, days: int = EXPIRING_DAYS,
                  limit: int = LIST_LIMIT) -> tuple[list[AuthLine], int]:
    """Auths ending today … today + days, soonest first (at most ``limit``), and how many:
    a range of the end-date index."""
    a = Authorization
    window = a.end_date.between(today, today + dt.timedelta(days=days))
    total = session.scalar(_in_scope(select(func.count()).select_from(a).where(window), scope))
    picked = _in_scope(select(a.id, a.end_date.label("k1")).where(window), scope)
    picked = picked.order_by(a.end_date, a.id).limit(limit)
    return _lines_for(session, picked, today), int(total or 0)


def closest_to_running_out(session: Session, scope: Scope, today: dt.date, *,
                           limit: int = LIST_LIMIT) -> list[AuthLine]:
    """Active managed auths that notes are drawing on (units used or pending, not excluded
    from notes), fewest units left first: the next to run out. Read in order from the
    (active, remaining units) index."""
    a = Authorization
    drawn = or_(a.remaining_units < a.allotted_units, a.pending_units > 0)
    picked = _in_scope(select(a.id, a.remaining_units.label("k1")).where(
        a.active == true(), a.remaining_units > 0, not_(a.unmanaged), not_(a.exclude_from_notes),
        drawn), scope)
    picked = picked.order_by(a.remaining_units, a.id).limit(limit)
    return _lines_for(session, picked, today)


def dashboard_for(session: Session, user: User, today: dt.date) -> Dashboard:
    mode, scope = scope_for(user)
    if mode == NOTHING or scope is None:
        return Dashboard(NOTHING)
    if mode == ALERTS:
        counts = alert_counts_for(session, user)
    else:
        counts = count_open_alerts(session, scope)
        counts = {k: KindCount(counts[k].open, 0) for k in KIND_ORDER}
    expiring, total = expiring_soon(session, scope, today)
    return Dashboard(mode, counts, expiring, total, closest_to_running_out(session, scope, today))
