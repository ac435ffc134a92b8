"""rules.availability: which auths a note may use (rule 6), the default (rule 7), and why none
can be used."""
from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from conftest import TODAY, snapshot_tables
from models import AuthGroup, Authorization, Note, NoteClaim
from rules import NotUsable, ValidationError
from rules.availability import default_choice, usable_authorizations, why_none_usable
from rules.notes import create_note, release_note

DAY = dt.timedelta(days=1)


def group(session, name="Auth Group 1"):
    return session.scalar(sa.select(AuthGroup).where(AuthGroup.name == name))


def usable(session, client, provider, day=TODAY):
    return {u.authorization.auth_number: u.available
            for u in usable_authorizations(session, client.id, day, provider.id)}


def write(session, actor, client, provider, day=TODAY, **kw):
    return create_note(session, actor, {"client_id": client.id, "provider_id": provider.id,
                                        "service_date": day, **kw}, today=TODAY)


def test_the_date_window_is_inclusive(session, make):
    client, provider = make.client(), make.provider()
    make.auth(client, auth_number="JUNE", start_date=dt.date(2026, 6, 1),
              end_date=dt.date(2026, 6, 30))
    make.auth(client, "90837", auth_number="JULY", start_date=dt.date(2026, 7, 1),
              end_date=dt.date(2026, 7, 31))
    assert usable(session, client, provider, dt.date(2026, 5, 31)) == {}
    assert usable(session, client, provider, dt.date(2026, 6, 1)) == {"JUNE": 10}
    assert usable(session, client, provider, dt.date(2026, 6, 30)) == {"JUNE": 10}
    assert usable(session, client, provider, dt.date(2026, 7, 1)) == {"JULY": 10}
    assert usable(session, client, provider, dt.date(2026, 8, 1)) == {}


def test_excluded_specific_provider_and_other_clients(session, make):
    client, other = make.client(), make.client()
    reyes, lee = make.provider("Reyes"), make.provider("Lee")
    make.auth(client, "90832", auth_number="EXCLUDED", exclude_from_notes=True)
    make.auth(client, "90834", auth_number="REYES ONLY", specific_provider_id=reyes.id)
    make.auth(client, "90837", auth_number="ANYONE")
    make.auth(other, "90853", auth_number="OTHER CLIENT")
    assert usable(session, client, reyes) == {"REYES ONLY": 10, "ANYONE": 10}
    assert usable(session, client, lee) == {"ANYONE": 10}


def test_units_available_count_every_group_sibling(session, make):
    client, provider, admin = make.client(), make.provider(), make.actor()
    g1 = group(session)
    make.auth(client, "90832", auth_number="G-32", allotted_units=20, remaining_units=9,
              auth_group_id=g1.id)
    g34 = make.auth(client, "90834", auth_number="G-34", allotted_units=20,
                    auth_group_id=g1.id)
    # Unmanaged but in the group: not counted itself, yet its notes draw on the group.
    make.auth(client, "90853", auth_number="G-FREE", allotted_units=0, unmanaged=True,
              auth_group_id=g1.id)
    make.auth(client, "90837", auth_number="SOLO", allotted_units=3)
    make.auth(client, "H0031", auth_number="FREE", allotted_units=0, unmanaged=True)
    assert usable(session, client, provider) == {"G-32": 9, "G-34": 9, "SOLO": 3,
                                                 "G-FREE": 9, "FREE": None}
    write(session, admin, client, provider, authorization_id=g34.id, units=4)
    assert usable(session, client, provider) == {"G-32": 5, "G-34": 5, "SOLO": 3,
                                                 "G-FREE": 5, "FREE": None}
    n = write(session, admin, client, provider, authorization_id=g34.id, units=5)
    release_note(session, admin, n.id, today=TODAY)
    # The group has no units left: none of its codes is offered; the others still are.
    assert usable(session, client, provider) == {"SOLO": 3, "FREE": None}
    assert set(why_none_usable(session, client.id, TODAY, provider.id,
                               make.code("90832").id)) == {
        "G-32 (90832) has no units left in its auth group."}


def test_labels_show_the_units_available(session, make):
    client, provider = make.client(), make.provider()
    make.auth(client, "90834", auth_number="P-1", allotted_units=8)
    make.auth(client, "H0031", auth_number="P-2", allotted_units=0, unmanaged=True)
    labels = [u.label for u in usable_authorizations(session, client.id, TODAY, provider.id)]
    assert labels == ["90834 – Psychotherapy, 45 minutes · P-1 · 8 available",
                      "H0031 – Mental health assessment by a non-physician · P-2 · unlimited"]


def test_why_none_usable_gives_a_reason_per_auth(session, make):
    client, provider = make.client(), make.provider()
    specialist = make.provider("Natarajan", first_name="Priya", credentials="MD")
    make.auth(client, "90832", auth_number="OLD", start_date=TODAY - 90 * DAY,
              end_date=TODAY - 31 * DAY)
    make.auth(client, "90834", auth_number="LATER", start_date=TODAY + DAY)
    make.auth(client, "90837", auth_number="NOPE", exclude_from_notes=True)
    make.auth(client, "90853", auth_number="MD", specific_provider_id=specialist.id)
    make.auth(client, "96127", auth_number="EMPTY", allotted_units=2, remaining_units=0)
    assert why_none_usable(session, client.id, TODAY, provider.id) == [
        "OLD (90832) ended on 2026-05-15; the service date 2026-06-15 is after it.",
        "LATER (90834) starts on 2026-06-16; the service date 2026-06-15 is before it.",
        "NOPE (90837) is excluded from notes.",
        "MD (90853) may only be used by Natarajan, Priya, MD.",
        "EMPTY (96127) has no units left.",
    ]
    with_nothing = make.client("Nobody", first_name="Nora")
    assert why_none_usable(session, with_nothing.id, TODAY, provider.id) == [
        "Nobody, Nora has no authorizations. Ask support staff to add one before documenting."]
    assert why_none_usable(session, client.id, TODAY, provider.id, make.code("H0031").id) == [
        f"{client} has no authorization for this code. Ask support staff to add one before "
        "documenting."]


def test_a_note_that_no_auth_allows_is_refused_clearly(session, make):
    client, provider, admin = make.client("Hanson", first_name="Mark"), make.provider(), \
        make.actor()
    auth = make.auth(client, auth_number="BCBS-1", start_date=dt.date(2026, 6, 1),
                     end_date=dt.date(2026, 6, 30))
    session.commit()
    before = snapshot_tables(session, Authorization, Note, NoteClaim)
    with pytest.raises(NotUsable) as exc:
        write(session, admin, client, provider, day=dt.date(2026, 7, 2), units=1,
              billing_code_id=auth.billing_code_id)
    assert exc.value.message == "Hanson, Mark cannot be documented on for code 90834 on 2026-07-02."
    assert exc.value.reasons == [
        "BCBS-1 (90834) ended on 2026-06-30; the service date 2026-07-02 is after it."]
    session.rollback()
    # Naming the auth gives the reason for that auth.
    with pytest.raises(NotUsable) as exc:
        write(session, admin, client, provider, day=dt.date(2026, 5, 31), units=1,
              authorization_id=auth.id)
    assert exc.value.message == ("This note cannot use BCBS-1: BCBS-1 (90834) starts on "
                                 "2026-06-01; the service date 2026-05-31 is before it.")
    session.rollback()
    assert snapshot_tables(session, Authorization, Note, NoteClaim) == before


# --- Rule 7: the default -----------------------------------------------------------------------

def test_the_usable_default_is_preselected(session, make):
    client, provider, admin = make.client(), make.provider(), make.actor()
    make.auth(client, "90832")
    default = make.auth(client, "90837", is_default=True)
    assert default_choice(usable_authorizations(session, client.id, TODAY, provider.id)) \
        .authorization.id == default.id
    note = write(session, admin, client, provider, units=1)
    assert (note.authorization_id, note.billing_code.code) == (default.id, "90837")


def test_a_default_that_cannot_be_used_is_not_preselected(session, make):
    client, provider, admin = make.client(), make.provider(), make.actor()
    make.auth(client, "90832")
    make.auth(client, "90837", is_default=True, allotted_units=1, remaining_units=0)
    assert default_choice(usable_authorizations(session, client.id, TODAY, provider.id)) is None
    with pytest.raises(ValidationError) as exc:
        write(session, admin, client, provider, units=1)
    assert str(exc.value) == "Billing Code: choose a billing code"


def test_with_a_code_chosen_its_default_auth_comes_first(session, make):
    """Two auths for one code (e.g. two payers): the default, else one with enough units,
    else the one ending first."""
    client, provider, admin = make.client(), make.provider(), make.actor()
    code = make.code("90834").id
    first_ending = make.auth(client, "90834", allotted_units=2, end_date=TODAY + 10 * DAY)
    roomy = make.auth(client, "90834", allotted_units=9, end_date=TODAY + 40 * DAY)
    assert write(session, admin, client, provider, units=1,
                 billing_code_id=code).authorization_id == first_ending.id
    assert write(session, admin, client, provider, units=3,
                 billing_code_id=code).authorization_id == roomy.id
    marked = make.auth(client, "90834", allotted_units=9, end_date=TODAY + 50 * DAY,
                       is_default=True)
    assert write(session, admin, client, provider, units=1,
                 billing_code_id=code).authorization_id == marked.id
