"""The daily job, ``flask authorizations refresh-status`` (rules 5 and 13): it recomputes every
auth's active status and opens/closes alerts in a few set-based statements, changes nothing on
a second run, and is safe when two runs overlap or a user works meanwhile — on both databases."""
import datetime as dt
import threading
import time
from contextlib import contextmanager

import sqlalchemy as sa
from sqlalchemy.exc import OperationalError

import rules.status
from conftest import TODAY, snapshot_tables
from extensions import db
from models import EXPIRED, EXPIRING, UNITS, Alert, AuditRecord, Authorization
from rules.alerts import alert_kinds_for
from rules.audit import acting_as
from rules.authorizations import is_active, update_authorization
from rules.status import RefreshResult, refresh_status

DAY = TODAY + dt.timedelta(days=2)  # the day the job runs


def days(n):
    return TODAY + dt.timedelta(days=n)


def practice(make):
    """Auths whose status or alerts change between TODAY and DAY."""
    client = make.client()
    return {
        "ends tomorrow": make.auth(client, "90834", end_date=days(1), exp_alert_days=5),
        "starts on DAY": make.auth(client, "90837", start_date=DAY, end_date=days(90)),
        "low, ends on DAY": make.auth(client, "90832", end_date=DAY, allotted_units=10,
                                      remaining_units=2, unit_alert_level=2, exp_alert_days=0),
        "nothing changes": make.auth(client, "90853", end_date=days(90)),
    }


def open_alerts(session) -> list[tuple[int, str]]:
    return sorted(tuple(r) for r in session.execute(
        sa.select(Alert.authorization_id, Alert.kind).where(Alert.closed_at.is_(None))))


def expected_state(session, day) -> tuple[list, dict]:
    """What one correct run on ``day`` leaves: the open alerts and every auth's status."""
    session.expire_all()
    auths = list(session.scalars(sa.select(Authorization)))
    alerts = sorted((a.id, k) for a in auths for k in alert_kinds_for(a, day))
    return alerts, {a.id: is_active(a, day) for a in auths}


def statuses(session) -> dict:
    return dict(session.execute(sa.select(Authorization.id, Authorization.active)).all())


def invoke(app, *args):
    return app.test_cli_runner().invoke(args=["authorizations", *args])


def test_refresh_recomputes_status_and_alerts_and_a_second_run_changes_nothing(app, session,
                                                                               make):
    auths = practice(make)
    session.commit()
    assert open_alerts(session) == sorted([(auths["ends tomorrow"].id, EXPIRING),
                                           (auths["low, ends on DAY"].id, UNITS)])
    result = invoke(app, "refresh-status", "--today", DAY.isoformat())
    assert result.exit_code == 0, result.output
    assert result.output.strip() == ("Status refreshed: 1 activated, 1 deactivated; "
                                     "alerts: 2 opened, 1 closed.")
    session.rollback()
    alerts, active = expected_state(session, DAY)
    assert open_alerts(session) == alerts == sorted([
        (auths["ends tomorrow"].id, EXPIRED), (auths["low, ends on DAY"].id, UNITS),
        (auths["low, ends on DAY"].id, EXPIRING)])
    assert statuses(session) == active
    assert active[auths["starts on DAY"].id] and not active[auths["ends tomorrow"].id]
    # The status changes are in the audit trail, done by "system".
    flips = session.execute(sa.select(AuditRecord.object_id, AuditRecord.actor_name,
                                      AuditRecord.changes)
                            .where(AuditRecord.action == "status")).all()
    assert sorted((r.object_id, r.actor_name, r.changes["active"]) for r in flips) == sorted([
        (auths["ends tomorrow"].id, "system", [True, False]),
        (auths["starts on DAY"].id, "system", [False, True])])

    before = snapshot_tables(session, Authorization, Alert, AuditRecord)
    again = invoke(app, "refresh-status", "--today", DAY.isoformat())
    assert again.output.strip() == ("Status refreshed: 0 activated, 0 deactivated; "
                                    "alerts: 0 opened, 0 closed.")
    session.rollback()
    assert snapshot_tables(session, Authorization, Alert, AuditRecord) == before


def test_the_command_runs_again_when_postgresql_picks_it_as_a_deadlock_victim(app, monkeypatch):
    class Deadlock(Exception):
        sqlstate = "40P01"

    calls = []
    real = rules.status.refresh_status

    def first_attempt_deadlocks(session, **kw):
        calls.append(1)
        if len(calls) == 1:
            raise OperationalError("UPDATE authorizations …", {}, Deadlock("deadlock detected"))
        return real(session, **kw)

    monkeypatch.setattr(rules.status, "refresh_status", first_attempt_deadlocks)
    result = invoke(app, "refresh-status")
    assert result.exit_code == 0, result.output
    assert "Status refreshed" in result.output and len(calls) == 2


# -- concurrency --------------------------------------------------------------------------

@contextmanager
def signal_before(app, thread_name: str, needle: str):
    """An event set when the named thread is about to run a statement containing ``needle``
    (the statement that may block)."""
    issued = threading.Event()

    def before(conn, cursor, statement, parameters, context, executemany):
        if threading.current_thread().name == thread_name and needle in statement:
            issued.set()

    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", before)
    try:
        yield issued
    finally:
        sa.event.remove(engine, "before_cursor_execute", before)


def wait_until_blocked(app, issued: threading.Event, pid: list) -> None:
    """Wait until the other thread is waiting for a lock: on PostgreSQL its backend shows a
    lock wait; on SQLite it has started the statement that takes the write lock."""
    assert issued.wait(10), "the other thread never reached its locking statement"
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            return
        deadline = time.monotonic() + 10
        with db.engine.connect() as conn:
            while time.monotonic() < deadline:
                waiting = conn.execute(sa.text(
                    "SELECT wait_event_type FROM pg_stat_activity WHERE pid = :pid"),
                    {"pid": pid[0]}).scalar()
                if waiting == "Lock":
                    return
                conn.rollback()
        raise AssertionError("the other transaction never waited for the lock")


def in_thread(app, name: str, work, results: dict, errors: list) -> threading.Thread:
    """Run ``work(session)`` in a thread with its own app context, session and connection."""
    def run():
        with app.app_context():
            session = db.session
            try:
                results[name] = work(session)
            except Exception as exc:  # noqa: BLE001 - reported by the test
                errors.append((name, exc))
                session.rollback()
            finally:
                db.session.remove()

    thread = threading.Thread(target=run, name=name)
    thread.start()
    return thread


def backend_pid(session) -> int | None:
    if session.get_bind().dialect.name == "postgresql":
        return session.execute(sa.text("SELECT pg_backend_pid()")).scalar()
    return None


def test_two_overlapping_refresh_runs(app, session, make):
    """The second run waits for the first, then finds nothing left to do: no duplicate open
    alert, no error, the same final state as one run."""
    for _ in range(3):
        practice(make)
    session.commit()
    results, errors, pid = {}, [], []
    first_ran = threading.Event()
    second_started = threading.Event()

    def first(s):
        result = refresh_status(s, today=DAY)
        first_ran.set()
        assert second_started.wait(10)
        wait_until_blocked(app, second_blocking, pid)
        s.commit()
        return result

    def second(s):
        pid.append(backend_pid(s))
        second_started.set()
        result = refresh_status(s, today=DAY)
        s.commit()
        return result

    lock_statement = ("BEGIN IMMEDIATE" if session.get_bind().dialect.name == "sqlite"
                      else "pg_advisory_xact_lock")
    with signal_before(app, "second", lock_statement) as second_blocking:
        one = in_thread(app, "first", first, results, errors)
        assert first_ran.wait(30)
        two = in_thread(app, "second", second, results, errors)
        one.join(30)
        two.join(30)
    assert errors == []
    assert results["first"] == RefreshResult(activated=3, deactivated=3, alerts_opened=6,
                                             alerts_closed=3)
    assert results["second"] == RefreshResult(0, 0, 0, 0)
    session.rollback()
    alerts, active = expected_state(session, DAY)
    assert open_alerts(session) == alerts and len(set(alerts)) == len(alerts) == 9
    assert statuses(session) == active


def test_refresh_while_a_user_opens_the_same_alert(app, session, make, users):
    """A user's save opens an alert and the job, running meanwhile, would open it too: the job
    waits for the user, keeps the user's alert and fails on nothing."""
    auth = make.auth(make.client(), end_date=days(40), exp_alert_days=30)
    session.commit()
    assert open_alerts(session) == []
    day = days(10)  # end − day = 30 days: the expiration alert is due
    results, errors, pid = {}, [], []
    user_saved, job_done = threading.Event(), threading.Event()

    def user(s):
        with acting_as(s, actor_support):
            update_authorization(s, actor_support, auth.id, {"unit_alert_level": "1"}, today=day)
        user_saved.set()
        wait_until_blocked(app, job_blocking, pid)
        s.commit()

    def job(s):
        pid.append(backend_pid(s))
        result = refresh_status(s, today=day)
        s.commit()
        return result

    actor_support = make.actor("Support Staff")
    blocking = ("BEGIN IMMEDIATE" if session.get_bind().dialect.name == "sqlite"
                else "INSERT INTO alerts")
    with signal_before(app, "job", blocking) as job_blocking:
        u = in_thread(app, "user", user, results, errors)
        assert user_saved.wait(30)
        j = in_thread(app, "job", job, results, errors)
        u.join(30)
        j.join(30)
    assert errors == []
    assert results["job"].alerts_opened == 0  # the user's alert was kept
    session.rollback()
    assert open_alerts(session) == [(auth.id, EXPIRING)]
