"""Rules 1–4: pending, release, void, delete; remaining below allotted; auth groups that
decrement together; unmanaged auths."""
import datetime as dt

import pytest
import sqlalchemy as sa

from conftest import TODAY, snapshot_tables
from models import Authorization, AuthGroup, Note, NoteClaim
from rules import Conflict, InsufficientUnits, PermissionDenied, ValidationError
from rules.notes import create_note, delete_note, release_note, update_note, void_note


def note(session, actor, client, auth, provider, units=1, days_ago=1, **kw):
    return create_note(session, actor, {
        "client_id": client.id, "provider_id": provider.id, "authorization_id": auth.id,
        "service_date": TODAY - dt.timedelta(days=days_ago), "units": units}, today=TODAY, **kw)


def units(session, auth):
    session.refresh(auth)
    return auth.allotted_units, auth.remaining_units, auth.pending_units


@pytest.fixture
def setup(make):
    client, provider = make.client(), make.provider()
    return make, client, provider, make.actor()


def test_draft_holds_pending_release_moves_to_used(session, setup):
    make, client, provider, actor = setup
    auth = make.auth(client, allotted_units=10)
    n = note(session, actor, client, auth, provider, units=2)
    assert units(session, auth) == (10, 10, 2)
    assert auth.available_units == 8
    release_note(session, actor, n.id, today=TODAY)
    assert units(session, auth) == (10, 8, 0)
    assert n.status == "released" and n.released_by == actor.name


def test_refusal_names_the_auth_and_the_units_left(session, setup):
    make, client, provider, actor = setup
    auth = make.auth(client, allotted_units=3)
    note(session, actor, client, auth, provider, units=2)
    session.commit()
    before = snapshot_tables(session, Authorization, Note, NoteClaim)
    with pytest.raises(InsufficientUnits) as exc:
        note(session, actor, client, auth, provider, units=2)
    assert str(exc.value) == (f"Authorization {auth.auth_number} (90834) has 1 unit left; "
                              "this note needs 2.")
    session.rollback()
    assert snapshot_tables(session, Authorization, Note, NoteClaim) == before


def test_deleting_a_draft_gives_its_pending_units_back(session, setup):
    make, client, provider, actor = setup
    auth = make.auth(client, allotted_units=5)
    n = note(session, actor, client, auth, provider, units=3)
    assert units(session, auth) == (5, 5, 3)
    delete_note(session, actor, n.id, today=TODAY)
    assert units(session, auth) == (5, 5, 0)
    assert session.get(Note, n.id) is None


def test_editing_a_draft_moves_pending(session, setup):
    make, client, provider, actor = setup
    a1 = make.auth(client, "90834", allotted_units=5)
    a2 = make.auth(client, "90837", allotted_units=5)
    n = note(session, actor, client, a1, provider, units=2)
    update_note(session, actor, n.id, {"units": 4}, today=TODAY)
    assert units(session, a1) == (5, 5, 4)
    update_note(session, actor, n.id, {"authorization_id": a2.id,
                                       "billing_code_id": a2.billing_code_id}, today=TODAY)
    assert units(session, a1) == (5, 5, 0)
    assert units(session, a2) == (5, 5, 4)
    with pytest.raises(InsufficientUnits):
        update_note(session, actor, n.id, {"units": 6}, today=TODAY)


def test_void_gives_units_back_and_reactivates(session, setup):
    make, client, provider, actor = setup
    auth = make.auth(client, allotted_units=2)
    n = note(session, actor, client, auth, provider, units=2)
    release_note(session, actor, n.id, today=TODAY)
    assert units(session, auth) == (2, 0, 0)
    assert auth.active is False  # remaining reached 0 (rule 5)
    void_note(session, actor, n.id, "Wrong client", today=TODAY)
    assert units(session, auth) == (2, 2, 0)
    assert auth.active is True
    assert n.status == "voided" and n.void_reason == "Wrong client"


def test_void_needs_a_reason_and_a_released_note(session, setup):
    make, client, provider, actor = setup
    auth = make.auth(client)
    n = note(session, actor, client, auth, provider)
    with pytest.raises(Conflict) as exc:
        void_note(session, actor, n.id, "not released", today=TODAY)
    assert "only released notes can be voided" in str(exc.value)
    release_note(session, actor, n.id, today=TODAY)
    with pytest.raises(ValidationError):
        void_note(session, actor, n.id, "   ", today=TODAY)


def test_release_twice_is_refused_and_changes_nothing(session, setup):
    make, client, provider, actor = setup
    auth = make.auth(client, allotted_units=5)
    n = note(session, actor, client, auth, provider, units=2)
    release_note(session, actor, n.id, today=TODAY)
    session.commit()
    with pytest.raises(Conflict) as exc:
        release_note(session, actor, n.id, today=TODAY)
    assert "already released" in " ".join(exc.value.details)
    session.rollback()
    assert units(session, auth) == (5, 3, 0)


def test_remaining_may_start_below_allotted(session, setup):
    """Rule 2: the client was seen before the auth arrived; used counts those units."""
    make, client, provider, actor = setup
    auth = make.auth(client, allotted_units=24, remaining_units=20)
    assert (auth.allotted_units, auth.remaining_units, auth.used_units) == (24, 20, 4)
    default = make.auth(client, "90837", allotted_units=7)
    assert default.remaining_units == 7  # defaults to allotted


def test_group_example_twenty_sessions_any_mix(session, make):
    """Rule 3, the source's example: 20 sessions across 90832, 90834, 90837, 90853 in one
    group → 20 notes in any mix succeed, the 21st is refused."""
    client, provider, actor = make.client(), make.provider(), make.actor()
    group = session.scalar(sa.select(AuthGroup).where(AuthGroup.name == "Auth Group 1"))
    auths = [make.auth(client, code, allotted_units=20, auth_group_id=group.id)
             for code in ("90832", "90834", "90837", "90853")]
    for i in range(20):
        n = note(session, actor, client, auths[i % 4 if i < 12 else 1], provider,
                 days_ago=1 + i % 20)
        if i % 3 == 0:
            release_note(session, actor, n.id, today=TODAY)
    for a in auths:
        assert a.remaining_units - a.pending_units == 0
    session.commit()
    with pytest.raises(InsufficientUnits) as exc:
        note(session, actor, client, auths[3], provider)
    assert str(exc.value) == (
        f"Authorization {auths[0].auth_number} (90832) has no units left; this note needs 1. "
        f"It shares its units with {auths[3].auth_number} (90853) through their auth group.")
    session.rollback()
    totals = {(a.remaining_units, a.pending_units) for a in session.scalars(
        sa.select(Authorization).where(Authorization.client_id == client.id))}
    assert totals == {(13, 13)}  # 7 released, 13 draft on every one of the four


def test_group_siblings_need_covering_dates_and_same_client(session, make):
    client, other, provider, actor = make.client(), make.client(), make.provider(), make.actor()
    group = session.scalar(sa.select(AuthGroup).where(AuthGroup.name == "Auth Group 1"))
    a = make.auth(client, "90834", allotted_units=5, auth_group_id=group.id)
    later = make.auth(client, "90837", allotted_units=5, auth_group_id=group.id,
                      start_date=TODAY + dt.timedelta(days=10))
    foreign = make.auth(other, "90837", allotted_units=5, auth_group_id=group.id)
    ungrouped = make.auth(client, "90832", allotted_units=5)
    note(session, actor, client, a, provider, units=2)
    assert [x.pending_units for x in (a, later, foreign, ungrouped)] == [2, 0, 0, 0]


def test_every_sibling_must_have_the_units(session, make):
    client, provider, actor = make.client(), make.provider(), make.actor()
    group = session.scalar(sa.select(AuthGroup).where(AuthGroup.name == "Auth Group 2"))
    a = make.auth(client, "90834", allotted_units=10, auth_group_id=group.id)
    b = make.auth(client, "90837", allotted_units=10, remaining_units=1, auth_group_id=group.id)
    with pytest.raises(InsufficientUnits) as exc:
        note(session, actor, client, a, provider, units=2)
    assert b.auth_number in str(exc.value) and "1 unit left" in str(exc.value)


def test_unmanaged_is_never_decremented(session, make):
    """Rule 4."""
    client, provider, actor = make.client(), make.provider(), make.actor()
    auth = make.auth(client, "H0031", allotted_units=0, unmanaged=True)
    for _ in range(3):
        n = note(session, actor, client, auth, provider, units=5)
        release_note(session, actor, n.id, today=TODAY)
    assert units(session, auth) == (0, 0, 0)
    assert auth.active is True


def test_unmanaged_note_still_draws_on_managed_siblings(session, make):
    client, provider, actor = make.client(), make.provider(), make.actor()
    group = session.scalar(sa.select(AuthGroup).where(AuthGroup.name == "Auth Group 1"))
    free = make.auth(client, "H0031", allotted_units=0, unmanaged=True, auth_group_id=group.id)
    counted = make.auth(client, "90834", allotted_units=4, auth_group_id=group.id)
    note(session, actor, client, free, provider, units=3)
    assert units(session, counted) == (4, 4, 3)
    assert units(session, free) == (0, 0, 0)


def test_override_needs_the_permission_and_a_reason(session, make):
    client, provider = make.client(), make.provider()
    auth = make.auth(client, allotted_units=1)
    support = make.actor("Support Staff")
    session.commit()
    with pytest.raises(PermissionDenied):
        note(session, support, client, auth, provider, units=3, override_reason="urgent")
    session.rollback()
    admin = make.actor("Administrator")
    with pytest.raises(ValidationError):
        note(session, admin, client, auth, provider, units=3, override_reason="  ")
    session.rollback()
    n = note(session, admin, client, auth, provider, units=3,
             override_reason="Payer approved by phone, ref 4471")
    assert n.override_by == admin.name and "4471" in n.override_reason
    assert units(session, auth) == (1, 1, 3) and auth.overdrawn
    release_note(session, admin, n.id, today=TODAY)
    assert units(session, auth) == (1, -2, 0) and auth.overdrawn


def test_units_must_be_whole_and_positive(session, setup):
    make, client, provider, actor = setup
    auth = make.auth(client)
    for bad in (0, -1, "two", 1.5, 10**9):
        with pytest.raises(ValidationError):
            note(session, actor, client, auth, provider, units=bad)
    assert auth.pending_units == 0
