"""seeds: reference data (every installation) and the demo practice — idempotent (a second run
changes no row of any table), reference data creates no login, and the demo data shows every
rule."""
from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import sqlalchemy as sa

from conftest import TODAY, snapshot_tables
from extensions import db
from models import (Alert, AuthGroup, Authorization, BillingCode, Client, Note, NoteClaim,
                    Profile, User)
from rules.permissions import DEFAULT_PROFILES
from seeds import DEMO_USERS, seed_demo, seed_reference

DAY = dt.timedelta(days=1)


def every_table(session):
    return snapshot_tables(session, *sorted(db.metadata.tables))


def test_reference_data_is_idempotent_and_creates_no_login(session):
    # The app fixture ran seed_reference once already.
    assert session.scalars(sa.select(AuthGroup.name).order_by(AuthGroup.sort_order)).all() == \
        ["Auth Group 1", "Auth Group 2"]
    codes = set(session.scalars(sa.select(BillingCode.code)))
    assert {"90791", "90832", "90834", "90837", "90846", "90847", "90853", "96127", "H0031",
            "H2019"} <= codes and len(codes) >= 20
    profiles = {p.name: p.permissions for p in session.scalars(sa.select(Profile))}
    assert profiles == {name: perms for name, (_, perms) in DEFAULT_PROFILES.items()}
    assert session.scalar(sa.select(sa.func.count()).select_from(User)) == 0
    # An administrator's later edits are never overwritten.
    code = session.scalar(sa.select(BillingCode).where(BillingCode.code == "90834"))
    code.rate = Decimal("118.50")
    session.commit()
    before = every_table(session)
    assert seed_reference(session) == 0
    session.commit()
    assert every_table(session) == before


def test_demo_data_is_idempotent_and_shows_every_rule(app, session, monkeypatch):
    """Through `flask seed --demo` (allowed in testing mode), as on a demo machine."""
    monkeypatch.setattr("seeds.demo.clinic_today", lambda: TODAY)
    runner = app.test_cli_runner()
    first = runner.invoke(args=["seed", "--demo"])
    assert first.exit_code == 0, first.output
    assert int(re.fullmatch(r"Seeded: (\d+) rows added\.\n", first.output).group(1)) > 100
    before = every_table(session)
    again = runner.invoke(args=["seed", "--demo"])
    assert (again.exit_code, again.output) == (0, "Seeded: nothing to add.\n")
    # … also on another day (dates are relative to the day it first ran).
    assert seed_reference(session) == 0 and seed_demo(session, today=TODAY + 3 * DAY) == 0
    session.commit()
    assert every_table(session) == before

    a = Authorization
    auths = session.scalars(sa.select(a)).all()

    def code(auth):
        return auth.billing_code.code

    # Rule 3: the article's 20 sessions across four codes, one auth group, decremented together.
    hanson = session.scalar(sa.select(Client).where(Client.last_name == "Hanson"))
    group = [x for x in auths if x.client_id == hanson.id and x.auth_group_id is not None]
    assert sorted(code(x) for x in group) == ["90832", "90834", "90837", "90853"]
    assert len({x.auth_group_id for x in group}) == 1
    assert {(x.allotted_units, x.remaining_units, x.pending_units) for x in group} == \
        {(20, 17, 1)}
    assert [code(x) for x in group if x.is_default] == ["90834"]               # rule 7
    assert {x.auth_number for x in group} == {"BCBS-778120"}                  # rule 11, typed
    # Rule 4, rule 6 (excluded, specific provider), rule 9, rule 10, rule 2.
    assert any(x.unmanaged and x.client_id == hanson.id for x in auths)
    assert any(x.exclude_from_notes for x in auths)
    assert any(x.specific_provider_id for x in auths)
    assert any(x.sliding_scale_pct == Decimal("40.00") for x in auths)
    assert any(x.inpatient for x in auths)
    # Remaining entered below allotted: more used than its released notes account for.
    assert any(x.allotted_units - x.remaining_units > session.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(NoteClaim.units), 0)).join(Note).where(
            NoteClaim.authorization_id == x.id, Note.status == "released")) for x in auths)
    # Rule 5 and 13: exhausted, expiring soon, expired — with their alerts open.
    exhausted = [x for x in auths if not x.unmanaged and x.remaining_units == 0
                 and x.end_date >= TODAY]
    expiring = [x for x in auths if x.exp_alert_days is not None
                and 0 <= (x.end_date - TODAY).days <= x.exp_alert_days]
    expired = [x for x in auths if x.end_date < TODAY]
    assert exhausted and all(not x.active for x in exhausted)
    assert expiring and expired
    open_kinds = set(session.scalars(sa.select(Alert.kind).where(Alert.closed_at.is_(None))))
    assert open_kinds == {"units", "expiring", "exhausted", "expired"}
    # Rule 11: every other auth has a generated number, all different.
    generated = [x.auth_number for x in auths if x.auth_number.startswith("A-")]
    assert len(generated) == len(set(generated)) == len(auths) - 4
    # Notes: drafts and released, priced; units add up.
    statuses = set(session.scalars(sa.select(Note.status)))
    assert statuses == {"draft", "released"}
    assert all(x.pending_units == sum(c.units for c in session.scalars(
        sa.select(NoteClaim).join(Note).where(NoteClaim.authorization_id == x.id,
                                              Note.status == "draft"))) for x in auths)
    assert all(0 <= x.pending_units <= x.remaining_units <= x.allotted_units
               for x in auths if not x.unmanaged)
    assert session.scalar(sa.select(sa.func.count()).select_from(Client)) >= 30
    # The demo logins exist only here, marked as demo logins.
    users = {u.username: (u.profile.name, u.is_demo) for u in session.scalars(sa.select(User))}
    assert users == {username: (profile, True) for username, _, profile, _ in DEMO_USERS}
