"""A small, known practice for the console tests: three clients, six authorizations that differ
in exactly the ways the master list filters on. Dates are relative to the clinic's today, the
day the console itself uses."""
from __future__ import annotations

import datetime as dt
import re
from contextlib import contextmanager
from dataclasses import dataclass

import sqlalchemy as sa

from conftest import Factory
from extensions import db
from models import AuthGroup, ClientGroup, Division, UserGroup
from rules import Actor, clinic_today
from rules.audit import acting_as


@contextmanager
def database(app, password_hash=None):
    """The database in an app context of its own, acting as the system: yields (session,
    factory). Tests that also make requests must not hold the ``session`` fixture's context
    open — requests would share its ``g`` (the logged-in user, the CSRF token) and its
    identity map."""
    with app.app_context(), acting_as(db.session, Actor.system()):
        try:
            yield db.session, Factory(db.session, password_hash)
        finally:
            db.session.rollback()
            db.session.remove()


@dataclass
class Practice:
    today: dt.date
    ids: dict          # name → id (clients c1…, auths a1…, pick list items, payers, providers)
    numbers: dict      # auth name → auth number

    def auths(self) -> dict[str, int]:
        """a1 … a6 → id."""
        return {name: self.ids[name] for name in self.numbers}

    def auth_names(self, numbers) -> set[str]:
        by_number = {v: k for k, v in self.numbers.items()}
        return {by_number.get(n, n) for n in numbers}


def practice_in(app) -> "Practice":
    with database(app) as (session, make):
        return build_practice(make, session)


def build_practice(make, session) -> Practice:
    """c1 Adams, Amy (North, Adults, therapist Lee of Therapists, primary Aetna + BCBS);
    c2 Baker, Ben (South, Children, therapist Kim of Psychiatry, primary BCBS);
    c3 Adamson, Carl (North, Children, therapist Kim, no payer).
    a1 c1 90834 active, Auth Group 1, level 5, remaining 20 — payer: c1's primary (Aetna)
    a2 c1 90837 BCBS, ends today+5, remaining 3 = level 3, specific provider Kim
    a3 c2 90832 expired yesterday
    a4 c2 90834 starts in 10 days (inactive), Auth Group 2, number BCBS-7781
    a5 c3 H0031 unmanaged
    a6 c3 90834 no units left (inactive), level 2, ends today+20"""
    t = clinic_today()
    day = lambda n: t + dt.timedelta(days=n)  # noqa: E731
    north, south = Division(name="North Clinic", sort_order=1), Division(name="South Clinic",
                                                                         sort_order=2)
    adults, children = ClientGroup(name="Adults", sort_order=1), ClientGroup(name="Children",
                                                                             sort_order=2)
    therapists, psychiatry = UserGroup(name="Therapists"), UserGroup(name="Psychiatry")
    session.add_all([north, south, adults, children, therapists, psychiatry])
    session.flush()
    lee = make.provider("Lee", first_name="Marcus", user_group_id=therapists.id)
    kim = make.provider("Kim", first_name="Jordan", user_group_id=psychiatry.id)
    aetna, bcbs = make.payer("Aetna"), make.payer("BCBS")
    c1 = make.client("Adams", first_name="Amy", payers=(aetna, bcbs), division_id=north.id,
                     primary_therapist_id=lee.id)
    c1.client_groups = [adults]
    c2 = make.client("Baker", first_name="Ben", payers=(bcbs,), division_id=south.id,
                     primary_therapist_id=kim.id)
    c2.client_groups = [children]
    c3 = make.client("Adamson", first_name="Carl", division_id=north.id,
                     primary_therapist_id=kim.id)
    c3.client_groups = [children]
    session.flush()
    group1, group2 = session.scalars(sa.select(AuthGroup).order_by(AuthGroup.sort_order)).all()
    auths = {
        "a1": make.auth(c1, "90834", today=t, start_date=day(-30), end_date=day(60),
                        allotted_units=20, auth_group_id=group1.id, unit_alert_level=5,
                        auth_number="AUTH-ONE"),
        "a2": make.auth(c1, "90837", today=t, start_date=day(-10), end_date=day(5),
                        allotted_units=10, remaining_units=3, unit_alert_level=3,
                        insurance_company_id=bcbs.id, specific_provider_id=kim.id,
                        auth_number="AUTH-TWO"),
        "a3": make.auth(c2, "90832", today=t, start_date=day(-100), end_date=day(-1),
                        allotted_units=10, auth_number="AUTH-THREE"),
        "a4": make.auth(c2, "90834", today=t, start_date=day(10), end_date=day(100),
                        allotted_units=12, auth_group_id=group2.id, auth_number="BCBS-7781"),
        "a5": make.auth(c3, "H0031", today=t, start_date=day(-5), end_date=day(200),
                        allotted_units=0, unmanaged=True, auth_number="AUTH-FIVE"),
        "a6": make.auth(c3, "90834", today=t, start_date=day(-20), end_date=day(20),
                        allotted_units=5, remaining_units=0, unit_alert_level=2,
                        auth_number="AUTH-SIX"),
    }
    session.commit()
    ids = {"c1": c1.id, "c2": c2.id, "c3": c3.id, "north": north.id, "south": south.id,
           "adults": adults.id, "children": children.id, "therapists": therapists.id,
           "psychiatry": psychiatry.id, "lee": lee.id, "kim": kim.id, "aetna": aetna.id,
           "bcbs": bcbs.id, "group1": group1.id, "group2": group2.id,
           **{name: a.id for name, a in auths.items()},
           **{f"code_{c}": make.code(c).id for c in ("90832", "90834", "90837", "H0031")}}
    return Practice(t, ids, {name: a.auth_number for name, a in auths.items()})


ROW_ID = re.compile(r'<tr data-id="(\d+)"')


def listed_ids(response) -> set[int]:
    """The record ids of the rows a list page shows."""
    return {int(i) for i in ROW_ID.findall(response.get_data(as_text=True))}


def listed_count(response) -> int:
    match = re.search(r"List \((\d+)\)", response.get_data(as_text=True))
    return int(match.group(1))
