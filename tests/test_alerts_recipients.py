"""Who receives alerts (rule 13): active users whose profile has the alert rule, optionally
narrowed by the profile to a division's clients and/or to clients whose primary therapist is in
a user group — and what each recipient's list holds."""
import pytest
import sqlalchemy as sa

from conftest import TODAY
from models import EXHAUSTED, UNITS, Division, Profile, User, UserGroup
from rules import Actor, NotFound
from rules.alerts import (acknowledge_alert, alert_counts_for, open_alerts_for, receives_alerts,
                          recipients)
from rules.permissions import DEFAULT_PROFILES, RECEIVE_ALERTS, VIEW_AUTHORIZATIONS


def names(users) -> set[str]:
    return {u.username for u in users}


def low_auth(make, client, code="90834"):
    """An auth with a low-units alert open."""
    return make.auth(client, code, allotted_units=10, remaining_units=2, unit_alert_level=3)


def alerts_of(session, user, **kw) -> set[tuple[str, str]]:
    return {(r.client_name, r.kind)
            for r in open_alerts_for(session, user, today=TODAY, **kw).rows}


def test_recipients_are_active_users_whose_profile_has_the_rule(session, make, users):
    assert names(recipients(session)) == {"admin", "support", "billing"}
    front_desk = Profile(name="Front Desk", permissions={RECEIVE_ALERTS, VIEW_AUTHORIZATIONS})
    session.add(front_desk)
    make.user("frontdesk", "Front Desk")
    make.user("gone", "Support Staff", active=False)
    billing = session.scalar(sa.select(Profile).where(Profile.name == "Billing"))
    billing.permissions = DEFAULT_PROFILES["Billing"][1] - {RECEIVE_ALERTS}
    session.flush()
    assert names(recipients(session)) == {"admin", "support", "frontdesk"}

    # Who is not a recipient has no alerts, even when alerts are open.
    auth = low_auth(make, make.client("Hanson"))
    by_name = {u.username: u for u in session.scalars(sa.select(User))}
    for username in ("provider", "billing", "gone"):
        assert not receives_alerts(by_name[username])
        assert open_alerts_for(session, by_name[username], today=TODAY).rows == []
        assert all(c.open == 0 for c in alert_counts_for(session, by_name[username]).values())
    for username in ("admin", "support", "frontdesk"):
        assert alerts_of(session, by_name[username]) == {("Hanson, Alex", UNITS)}
        assert username in names(recipients(session, auth.id))


def narrowed_profile(session, name, *, division=None, user_group=None) -> Profile:
    profile = Profile(name=name, permissions={RECEIVE_ALERTS, VIEW_AUTHORIZATIONS},
                      alert_division_id=division.id if division else None,
                      alert_user_group_id=user_group.id if user_group else None)
    session.add(profile)
    session.flush()
    return profile


def test_narrowing_by_division_and_by_user_group(session, make, users):
    north, south = Division(name="North Clinic"), Division(name="South Clinic")
    therapists, aba = UserGroup(name="Therapists"), UserGroup(name="ABA Team")
    session.add_all([north, south, therapists, aba])
    session.flush()
    lee = make.provider("Lee", user_group_id=therapists.id)
    gomez = make.provider("Gomez", user_group_id=aba.id)
    clients = {
        "north+therapist": make.client("Nt", division_id=north.id, primary_therapist_id=lee.id),
        "north+aba": make.client("Na", division_id=north.id, primary_therapist_id=gomez.id),
        "south+therapist": make.client("St", division_id=south.id, primary_therapist_id=lee.id),
        "north, no therapist": make.client("Nn", division_id=north.id),
    }
    auths = {key: low_auth(make, c) for key, c in clients.items()}
    narrowed_profile(session, "North desk", division=north)
    narrowed_profile(session, "Therapy desk", user_group=therapists)
    narrowed_profile(session, "North therapy desk", division=north, user_group=therapists)
    make.user("north", "North desk")
    make.user("therapy", "Therapy desk")
    make.user("norththerapy", "North therapy desk")
    sees = {
        "north": {"north+therapist", "north+aba", "north, no therapist"},
        "therapy": {"north+therapist", "south+therapist"},
        "norththerapy": {"north+therapist"},
        "support": set(clients),  # not narrowed
    }
    for username, keys in sees.items():
        user = session.scalar(sa.select(User).where(User.username == username))
        expected = {(f"{clients[k].last_name}, Alex", UNITS) for k in keys}
        assert alerts_of(session, user) == expected, username
        assert alert_counts_for(session, user)[UNITS].open == len(keys), username
        for key, auth in auths.items():
            assert (username in names(recipients(session, auth.id))) == (key in keys), \
                (username, key)
    # A narrowed recipient cannot acknowledge an alert outside their clients.
    north_user = session.scalar(sa.select(User).where(User.username == "north"))
    south_alert = open_alerts_for(session, session.get(User, users["support"]), today=TODAY,
                                  kind=UNITS, division_id=south.id).rows[0]
    with pytest.raises(NotFound, match="not among your alerts"):
        acknowledge_alert(session, Actor.for_user(north_user), south_alert.alert_id, today=TODAY)


def test_a_recipients_list_filters_hides_what_they_acknowledged_and_pages(session, make, users):
    north = Division(name="North Clinic")
    session.add(north)
    session.flush()
    a = make.client("Adams", division_id=north.id)
    b = make.client("Brown")
    low_auth(make, a)
    make.auth(a, "90837", allotted_units=4, remaining_units=0)
    low_auth(make, b)
    support = session.get(User, users["support"])
    billing = session.get(User, users["billing"])
    everything = {("Adams, Alex", UNITS), ("Adams, Alex", EXHAUSTED), ("Brown, Alex", UNITS)}
    assert alerts_of(session, support) == everything
    # Most urgent first: no units left before low units.
    kinds = [r.kind for r in open_alerts_for(session, support, today=TODAY).rows]
    assert kinds == [EXHAUSTED, UNITS, UNITS]
    assert alerts_of(session, support, kind=UNITS) == {("Adams, Alex", UNITS),
                                                      ("Brown, Alex", UNITS)}
    assert alerts_of(session, support, division_id=north.id) == {("Adams, Alex", UNITS),
                                                                ("Adams, Alex", EXHAUSTED)}
    page = open_alerts_for(session, support, today=TODAY, limit=2, offset=2)
    assert page.total == 3 and len(page.rows) == 1

    brown = next(r for r in open_alerts_for(session, support, today=TODAY, kind=UNITS).rows
                 if r.client_name == "Brown, Alex")
    row = acknowledge_alert(session, Actor.for_user(support), brown.alert_id, today=TODAY)
    assert (row.client_name, row.remaining_units, row.days_left) == ("Brown, Alex", 2, 60)
    acknowledge_alert(session, Actor.for_user(support), brown.alert_id, today=TODAY)  # twice: ok
    assert alerts_of(session, support) == everything - {("Brown, Alex", UNITS)}
    assert alerts_of(session, support, include_acknowledged=True) == everything
    assert alert_counts_for(session, support)[UNITS].new == 1
    assert alert_counts_for(session, support)[UNITS].open == 2
    # It stays open for everyone else.
    assert alerts_of(session, billing) == everything
