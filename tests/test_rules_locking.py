"""Races (rule 1 under concurrency, rules.locking): many connections at once claim and release
the last units of one authorization, or of one auth group. Exactly the available units are
granted; every other claim gets the domain error (InsufficientUnits) — never "database is
locked", a deadlock or a serialization failure — and the invariants hold afterwards. Runs on
SQLite (BEGIN IMMEDIATE) and PostgreSQL (row locks), like the whole suite."""
from __future__ import annotations

import datetime as dt
import threading

import sqlalchemy as sa

from conftest import TODAY
from extensions import db
from models import Authorization, AuthGroup, Note, NoteClaim
from rules import InsufficientUnits
from rules.audit import acting_as
from rules.notes import create_note, release_note

THREADS = 14


def run_at_once(app, actor, work, n=THREADS):
    """Run ``work(session, i)`` in ``n`` threads, each with its own app context, session and
    connection, released together by a barrier. Returns what each returned or raised."""
    barrier = threading.Barrier(n)
    results: list = [None] * n

    def runner(i):
        with app.app_context():
            session = db.session
            try:
                with acting_as(session, actor):
                    barrier.wait(timeout=20)
                    results[i] = work(session, i)
            except Exception as exc:  # collected and asserted by the test
                session.rollback()
                results[i] = exc

    threads = [threading.Thread(target=runner, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "a thread hung"
    return results


def claim_and_release(client_id, provider_id, auth_ids, actor):
    def work(session, i):
        note = create_note(session, actor, {
            "client_id": client_id, "provider_id": provider_id,
            "authorization_id": auth_ids[i % len(auth_ids)],
            "service_date": TODAY - dt.timedelta(days=1 + i % 5), "units": 1}, today=TODAY)
        session.commit()
        release_note(session, actor, note.id, today=TODAY)
        session.commit()
        return note.id
    return work


def outcome(results):
    granted = [r for r in results if isinstance(r, int)]
    refused = [r for r in results if isinstance(r, InsufficientUnits)]
    other = [r for r in results if not isinstance(r, (int, InsufficientUnits))]
    assert not other, f"unexpected errors: {other!r}"
    return granted, refused


def check_invariants(session, auth_ids):
    session.expire_all()
    for auth in session.scalars(sa.select(Authorization).where(Authorization.id.in_(auth_ids))):
        assert 0 <= auth.pending_units <= auth.remaining_units <= auth.allotted_units
        assert not auth.overdrawn
        draft = session.scalar(sa.select(sa.func.coalesce(sa.func.sum(NoteClaim.units), 0))
                               .join(Note).where(NoteClaim.authorization_id == auth.id,
                                                 Note.status == "draft"))
        assert auth.pending_units == draft


def test_last_units_of_one_auth(app, session, make):
    client, provider, actor = make.client(), make.provider(), make.actor()
    auth = make.auth(client, allotted_units=10, remaining_units=5)
    other = make.auth(client, "90837", allotted_units=10)
    # One unit already held by a draft: 4 are available to the race.
    create_note(session, actor, {"client_id": client.id, "provider_id": provider.id,
                                 "authorization_id": auth.id, "service_date": TODAY,
                                 "units": 1}, today=TODAY)
    session.commit()
    ids = (auth.id, client.id, provider.id)

    results = run_at_once(app, actor, claim_and_release(ids[1], ids[2], [ids[0]], actor))

    granted, refused = outcome(results)
    assert len(granted) == 4 and len(refused) == THREADS - 4
    assert all(e.authorization_id == ids[0] for e in refused)
    session.expire_all()
    auth = session.get(Authorization, ids[0])
    assert (auth.remaining_units, auth.pending_units) == (1, 1)
    assert session.get(Authorization, other.id).remaining_units == 10
    assert session.scalar(sa.select(sa.func.count()).select_from(Note)
                          .where(Note.status == "released")) == 4
    check_invariants(session, [ids[0], other.id])


def test_last_units_of_one_auth_group(app, session, make):
    """Notes on four different codes of one group race for the group's last 3 units."""
    client, provider, actor = make.client(), make.provider(), make.actor()
    group = session.scalar(sa.select(AuthGroup).where(AuthGroup.name == "Auth Group 1"))
    auths = [make.auth(client, code, allotted_units=20, remaining_units=r,
                       auth_group_id=group.id)
             for code, r in (("90832", 20), ("90834", 3), ("90837", 8), ("90853", 20))]
    ids = [a.id for a in auths]
    session.commit()

    results = run_at_once(app, actor, claim_and_release(client.id, provider.id, ids, actor))

    granted, refused = outcome(results)
    assert len(granted) == 3 and len(refused) == THREADS - 3
    session.expire_all()
    assert [session.get(Authorization, i).remaining_units for i in ids] == [17, 0, 5, 17]
    check_invariants(session, ids)


def _drafts(session, actor, client, provider, auth_order, per_thread):
    """For each thread, drafts on the given auths in that order (their note ids ascending)."""
    plans = []
    for i in range(per_thread):
        order = auth_order if i % 2 == 0 else list(reversed(auth_order))
        plans.append([create_note(session, actor, {
            "client_id": client.id, "provider_id": provider.id, "authorization_id": a.id,
            "service_date": TODAY, "units": 1}, today=TODAY).id for a in order])
    session.commit()
    return plans


def test_bulk_releases_touching_auths_in_opposite_orders(app, session, make):
    """Half the threads release (a note on B, a note on A), the other half (A, B)."""
    from rules.notes import release_notes

    client, provider, actor = make.client(), make.provider(), make.actor()
    a = make.auth(client, "90834", allotted_units=50)
    b = make.auth(client, "90837", allotted_units=50)
    plans = _drafts(session, actor, client, provider, [b, a], THREADS)

    def work(s, i):
        release_notes(s, actor, plans[i], today=TODAY)
        s.commit()
        return i

    results = run_at_once(app, actor, work)
    assert all(isinstance(r, int) for r in results), results
    session.expire_all()
    assert [(x.remaining_units, x.pending_units) for x in
            (session.get(Authorization, a.id), session.get(Authorization, b.id))] == \
        [(50 - THREADS, 0), (50 - THREADS, 0)]
    check_invariants(session, [a.id, b.id])


def test_draft_edits_switching_auths_in_opposite_directions(app, session, make):
    """Half the threads move a draft from A to B, the other half from B to A."""
    from rules.notes import update_note

    client, provider, actor = make.client(), make.provider(), make.actor()
    a = make.auth(client, "90834", allotted_units=50)
    b = make.auth(client, "90837", allotted_units=50)
    notes = [create_note(session, actor, {
        "client_id": client.id, "provider_id": provider.id,
        "authorization_id": (a if i % 2 == 0 else b).id, "service_date": TODAY, "units": 2},
        today=TODAY).id for i in range(THREADS)]
    targets = [(b if i % 2 == 0 else a) for i in range(THREADS)]
    target_ids = [(t.id, t.billing_code_id) for t in targets]
    session.commit()

    def work(s, i):
        auth_id, code_id = target_ids[i]
        update_note(s, actor, notes[i], {"authorization_id": auth_id, "billing_code_id": code_id,
                                         "units": 3}, today=TODAY)
        s.commit()
        return i

    results = run_at_once(app, actor, work)
    assert all(isinstance(r, int) for r in results), results
    session.expire_all()
    assert [session.get(Authorization, x.id).pending_units for x in (a, b)] == \
        [3 * THREADS // 2, 3 * THREADS // 2]
    check_invariants(session, [a.id, b.id])


def test_deleting_an_auth_waits_for_a_note_being_written_on_it(app, session, make):
    """While a note on the auth is uncommitted, a delete waits for it — then refuses."""
    from rules import Conflict
    from rules.authorizations import delete_authorization

    client, provider, actor = make.client(), make.provider(), make.actor()
    auth = make.auth(client, allotted_units=5)
    session.commit()
    auth_id = auth.id
    create_note(session, actor, {"client_id": client.id, "provider_id": provider.id,
                                 "authorization_id": auth_id, "service_date": TODAY,
                                 "units": 1}, today=TODAY)
    started = threading.Event()
    results = []

    def delete():
        with app.app_context():
            with acting_as(db.session, actor):
                started.set()
                try:
                    delete_authorization(db.session, actor, auth_id)
                    db.session.commit()
                    results.append("deleted")
                except Exception as exc:
                    db.session.rollback()
                    results.append(exc)

    thread = threading.Thread(target=delete)
    thread.start()
    started.wait(5)
    thread.join(0.3)
    assert thread.is_alive(), "the delete did not wait for the note's transaction"
    session.commit()
    thread.join(20)
    assert len(results) == 1 and isinstance(results[0], Conflict), results
    assert session.get(Authorization, auth_id) is not None


def test_the_daily_job_while_users_claim_units(app, session, make):
    """The job flips ten auths of one group (they all end today) back and forth while users
    claim units on them. The auths' newest row versions are stored highest id first, so a
    table scan meets them in the opposite order to the users' locks."""
    from rules.status import refresh_status

    client, provider, actor = make.client(), make.provider(), make.actor()
    group = session.scalar(sa.select(AuthGroup).where(AuthGroup.name == "Auth Group 1"))
    codes = ("90832", "90834", "90837", "90853", "90846", "90847", "90791", "96127", "H0031",
             "H2019")
    auths = [make.auth(client, code, allotted_units=100, auth_group_id=group.id,
                       start_date=TODAY - dt.timedelta(days=30), end_date=TODAY)
             for code in codes]
    session.commit()
    for auth in reversed(auths):
        session.execute(sa.update(Authorization).where(Authorization.id == auth.id)
                        .values(unit_alert_level=1))
    session.commit()
    ids, client_id, provider_id = [a.id for a in auths], client.id, provider.id

    def work(s, i):
        if i == 0:
            flipped = []
            for k in range(8):
                result = refresh_status(s, today=TODAY + dt.timedelta(days=k % 2))
                s.commit()
                flipped.append(result.activated + result.deactivated)
            return flipped
        for k in range(4):
            create_note(s, actor, {"client_id": client_id, "provider_id": provider_id,
                                   "authorization_id": ids[(i + k) % len(ids)],
                                   "service_date": TODAY, "units": 1}, today=TODAY)
            s.commit()
        return i

    results = run_at_once(app, actor, work, n=8)
    assert not [r for r in results if isinstance(r, Exception)], results
    assert results[0] == [0] + [10] * 7  # today: nothing; then tomorrow, today, …
    session.expire_all()
    assert {session.get(Authorization, i).pending_units for i in ids} == {7 * 4}
    check_invariants(session, ids)
