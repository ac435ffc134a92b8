"""Computed active status (rule 5) and the daily job that keeps it — and the alerts — true.

``refresh_status`` is set-based: one UPDATE … RETURNING flips the auths whose status changed,
one INSERT audits them (as "system"), then the alerts are synced. Two overlapping runs are
serialized (an advisory lock on PostgreSQL, the write lock on SQLite), so the second finds
nothing left to do; users keep working meanwhile, and a change they commit first is honoured
because the UPDATE re-evaluates its condition row by row."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import and_, not_, or_, select, text, update
from sqlalchemy.orm import Session

from models import Authorization, utcnow

from .actor import Actor
from .alerts import sync_alerts
from .audit import audit_batch, record_rows
from .authorizations import active_condition
from .clock import clinic_today
from .locking import is_sqlite, take_write_lock

#: Key of the PostgreSQL advisory lock that serializes refresh runs.
REFRESH_LOCK_KEY = 4_242_001
#: On PostgreSQL, refresh the alerts table's statistics when a run changed this many alerts.
ANALYZE_AFTER = 1000


@dataclass
class RefreshResult:
    activated: int
    deactivated: int
    alerts_opened: int
    alerts_closed: int


def refresh_status(session: Session, *, today: dt.date | None = None,
                   actor: Actor | None = None) -> RefreshResult:
    today = today or clinic_today()
    actor = actor or Actor.system()
    if is_sqlite(session):
        take_write_lock(session)
    else:
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": REFRESH_LOCK_KEY})
    a = Authorization
    cond = active_condition(today)
    wrong = or_(and_(a.active.is_(False), cond), and_(a.active.is_(True), not_(cond)))
    if not is_sqlite(session):
        # Lock the rows to flip in id order first, as every rule locks auths: the UPDATE alone
        # locks rows in the order it meets them in the table, and deadlocked with users
        # claiming units on the same auths (a group whose auths all end the same day).
        session.execute(select(a.id).where(wrong).order_by(a.id)
                        .with_for_update(key_share=True))
    now = utcnow()
    stmt = update(a).where(wrong)
    if not is_sqlite(session):
        # Lock the rows to flip in id order, as every rule does (rules.locking), so that the
        # job and a user's transaction never wait for each other in a circle.
        locked = select(a.id).where(wrong).order_by(a.id).with_for_update(of=a).cte("to_flip")
        stmt = stmt.where(a.id == locked.c.id)
    stmt = (stmt.values(active=not_(a.active), last_edited_at=now, last_edited_by=actor.name)
            .returning(a.id, a.active, a.auth_number, a.client_id)
            .execution_options(synchronize_session=False))
    flipped = session.execute(stmt).all()
    if flipped:
        with audit_batch(session, actor, "refresh_status",
                         f"Daily status: {len(flipped)} authorizations changed status") as batch:
            batch.row_count = record_rows(session, actor, [
                {"object_type": "authorization", "object_id": r.id,
                 "object_label": r.auth_number, "action": "status",
                 "changes": {"active": [not r.active, r.active]}, "client_id": r.client_id}
                for r in flipped])
    alerts = sync_alerts(session, today)
    if not is_sqlite(session) and alerts["opened"] + alerts["closed"] >= ANALYZE_AFTER:
        # Planner statistics taken before this run would describe a much smaller alerts
        # table, and the next run could plan its anti-join as a loop over every open alert.
        session.execute(text("ANALYZE alerts"))
    activated = sum(1 for r in flipped if r.active)
    return RefreshResult(activated, len(flipped) - activated, alerts["opened"], alerts["closed"])
