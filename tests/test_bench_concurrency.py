"""The invariant checker of bench/concurrency.py can tell a consistent database from a corrupted
one: on a small practice built through the rules it finds nothing, and each kind of damage done
behind the rules' back (raw SQL) is reported under the invariant it breaks."""
import pytest
import sqlalchemy as sa

from bench.concurrency import INVARIANTS, check_invariants, overspent_count, take_baseline
from conftest import TODAY
from models import AuthGroup
from rules.audit import acting_as
from rules.errors import InsufficientUnits
from rules.notes import create_note, release_note

YESTERDAY = "2026-06-14"


@pytest.fixture
def practice(session, make):
    """One client: three auths in an auth group (6 of 10 units left), one auth of its own, one
    unmanaged auth and one auth taken past its units by a recorded override; notes released and
    drafted on them, one refused. Returns the ids and the baseline taken before the notes."""
    client = make.client()
    provider = make.provider()
    group = session.scalar(sa.select(AuthGroup).where(AuthGroup.name == "Auth Group 1"))
    siblings = [make.auth(client, code, allotted_units=10, remaining_units=6,
                          auth_group_id=group.id) for code in ("90832", "90834", "90837")]
    single = make.auth(client, "90853", allotted_units=5)
    unmanaged = make.auth(client, "H0031", allotted_units=10, unmanaged=True)
    overridden = make.auth(client, "90847", allotted_units=4, remaining_units=1)
    session.commit()
    baseline = take_baseline(session)
    admin = make.actor("Administrator")

    def note(auth, units, **kw):
        return create_note(session, admin, {
            "client_id": client.id, "provider_id": provider.id, "service_date": YESTERDAY,
            "authorization_id": auth.id, "units": units}, today=TODAY, **kw)

    with acting_as(session, admin):
        grouped = note(siblings[0], 2)
        release_note(session, admin, grouped.id, today=TODAY)
        note(siblings[1], 1)                                   # stays a draft
        release_note(session, admin, note(single, 3).id, today=TODAY)
        release_note(session, admin, note(unmanaged, 4).id, today=TODAY)
        release_note(session, admin, note(overridden, 2, override_reason="crisis visit").id,
                     today=TODAY)
        session.commit()
        with pytest.raises(InsufficientUnits):
            note(siblings[2], 4)                               # 3 left on the group
        session.rollback()
    return {"siblings": [a.id for a in siblings], "single": single.id,
            "unmanaged": unmanaged.id, "overridden": overridden.id, "grouped_note": grouped.id,
            "baseline": baseline}


def test_consistent_practice_has_no_violation(session, practice):
    rows = dict(session.execute(sa.text(
        "SELECT id, remaining_units FROM authorizations")).all())
    assert [rows[i] for i in practice["siblings"]] == [4, 4, 4]
    assert rows[practice["overridden"]] == -1                 # past its units, by an override
    assert check_invariants(session, practice["baseline"]) == []
    assert check_invariants(session) == []                     # without a baseline too
    assert overspent_count(session) == 0


CORRUPTIONS = {
    "pending drifts on one sibling": (
        "UPDATE authorizations SET pending_units = pending_units + 1 WHERE id = :sibling",
        {"pending_is_drafts", "siblings_agree"}, 0),
    "overspent with no override": (
        "UPDATE authorizations SET remaining_units = -1, overdrawn = :yes WHERE id = :single",
        {"not_overspent", "overdrawn_only_by_override", "used_is_released"}, 1),
    "pending past remaining": (
        "UPDATE authorizations SET remaining_units = 0, pending_units = 1, overdrawn = :yes "
        "WHERE id = :single",
        {"not_overspent", "overdrawn_only_by_override", "pending_is_drafts",
         "used_is_released"}, 1),
    "a sibling's claim lost": (
        "DELETE FROM note_claims WHERE note_id = :note AND authorization_id = :other_sibling",
        {"claims_on_every_sibling", "used_is_released"}, 0),
    "used with no released note": (
        "UPDATE authorizations SET remaining_units = remaining_units - 1 WHERE id = :single",
        {"used_is_released"}, 0),
    "unmanaged auth decremented": (
        "UPDATE authorizations SET remaining_units = remaining_units - 1 WHERE id = :unmanaged",
        {"unmanaged_never_decremented"}, 0),
    "claim of other units": (
        "UPDATE note_claims SET units = units + 1 WHERE note_id = :note "
        "AND authorization_id = :sibling",
        {"claims_only_on_siblings", "used_is_released"}, 0),
    "released note not stamped": (
        "UPDATE notes SET released_by = NULL WHERE id = :note",
        {"released_notes_stamped"}, 0),
}


@pytest.mark.parametrize("damage", list(CORRUPTIONS))
def test_each_corruption_is_reported(session, practice, damage):
    sql, expected, overspent = CORRUPTIONS[damage]
    params = {"sibling": practice["siblings"][0], "other_sibling": practice["siblings"][2],
              "single": practice["single"], "unmanaged": practice["unmanaged"],
              "note": practice["grouped_note"], "yes": True}
    session.execute(sa.text(sql), {k: v for k, v in params.items() if f":{k}" in sql})
    session.commit()
    found = check_invariants(session, practice["baseline"])
    assert {v.invariant for v in found} == expected, found
    assert expected <= set(INVARIANTS)
    assert all(v.detail for v in found)
    assert overspent_count(session) == overspent
