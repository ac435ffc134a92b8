"""Issue 4, concurrency: staff creating and releasing notes at the same time against one auth, or
one auth group, never overspend it. Real concurrent connections: ten threads, each with its own
logged-in test client (its own session cookie, app context and database connection), start
together and each creates then releases a one-unit note; four units are left."""
import threading

import pytest
import sqlalchemy as sa

from models import Authorization, Note, NoteClaim
from notes_support import (auth_group, day, flashes, new_note, note_id_from, release, today,
                           units_of)
from notes_support import web  # noqa: F401  (fixture)

WORKERS = 10
UNITS_LEFT = 4


@pytest.mark.parametrize("grouped", [False, True], ids=["one auth", "auth group"])
def test_concurrent_notes_never_overspend(web, make, session, users, grouped):
    client = make.client()
    codes = ("90832", "90834", "90837") if grouped else ("90834",)
    group = auth_group(session).id if grouped else None
    auths = [make.auth(client, code, today=today(), allotted_units=10,
                       remaining_units=UNITS_LEFT, auth_group_id=group) for code in codes]
    session.commit()
    client_id, provider_id = client.id, users["provider_id"]
    auth_ids = [a.id for a in auths]            # threads do not touch the test's session
    clients = [web("admin") for _ in range(WORKERS)]
    start = threading.Barrier(WORKERS)
    outcomes: list = [None] * WORKERS

    def work(i: int) -> None:
        try:
            start.wait(timeout=30)
            created = new_note(clients[i], client_id=client_id, provider_id=provider_id,
                               auth_id=auth_ids[i % len(auth_ids)])
            if created.status_code != 302:
                outcomes[i] = ("refused", created.status_code, flashes(created))
                return
            note_id = note_id_from(created)
            done = release(clients[i], note_id)
            outcomes[i] = ("released", note_id,
                           flashes(clients[i].get(done.headers["Location"])))
        except Exception as exc:  # reported by the assertions below
            outcomes[i] = ("error", repr(exc), "")

    threads = [threading.Thread(target=work, args=(i,)) for i in range(WORKERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads)

    released = [o for o in outcomes if o[0] == "released"]
    refused = [o for o in outcomes if o[0] == "refused"]
    assert len(released) == UNITS_LEFT, outcomes
    assert len(refused) == WORKERS - UNITS_LEFT, outcomes
    for _, note_id, message in released:
        assert f"Note N-{note_id} released: 1 unit used on" in message
    for _, status, message in refused:
        assert status == 409
        assert "has no units left; this note needs 1." in message, message
    # Invariants: every auth of the group is used up exactly, nothing pending, not overdrawn.
    for auth in auths:
        assert units_of(session, auth) == (10, 0, 0)
        assert session.get(Authorization, auth.id).overdrawn is False
    assert session.scalar(sa.select(sa.func.count()).select_from(Note)
                          .where(Note.status == "released")) == UNITS_LEFT
    assert session.scalar(sa.select(sa.func.count()).select_from(Note)) == UNITS_LEFT
    assert session.scalar(sa.select(sa.func.sum(NoteClaim.units))) == UNITS_LEFT * len(auths)


def test_concurrent_edits_onto_one_auth_never_overspend(web, make, session, users):
    """Six drafts, each on an auth of its own, are switched at the same time onto one auth
    with three units left: three edits succeed, three are refused, nothing is overspent."""
    client = make.client()
    own = [make.auth(client, code, today=today(), allotted_units=5)
           for code in ("90832", "90834", "90837", "90853", "90791", "96127")]
    target = make.auth(client, "90847", today=today(), allotted_units=10, remaining_units=3)
    session.commit()
    me, target_id = users["provider_id"], target.id
    clients = [web("admin") for _ in own]
    drafts = [note_id_from(new_note(c, client_id=client.id, provider_id=me, auth_id=a.id))
              for c, a in zip(clients, own)]
    start = threading.Barrier(len(drafts))
    outcomes: list = [None] * len(drafts)

    def work(i: int) -> None:
        try:
            start.wait(timeout=30)
            response = clients[i].post(f"/console/notes/edit/?id={drafts[i]}", {
                "provider_id": me, "service_date": day(-1), "authorization_id": target_id,
                "units": 1})
            outcomes[i] = (response.status_code, flashes(response))
        except Exception as exc:  # reported by the assertions below
            outcomes[i] = ("error", repr(exc))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(drafts))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert sorted(o[0] for o in outcomes) == [302, 302, 302, 409, 409, 409], outcomes
    assert all("has no units left; this note needs 1." in o[1] for o in outcomes
               if o[0] == 409)
    assert units_of(session, target) == (10, 3, 3)
    moved = [o for o, a in zip(outcomes, own) if o[0] == 302]
    assert sum(units_of(session, a)[2] for a in own) == len(own) - len(moved)
