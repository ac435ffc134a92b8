"""The command-line interface (commands.py) through Flask's CliRunner: `flask seed`,
`flask authorizations refresh-status`, `flask users create`. Errors are one line on stderr,
"Error: …", with a non-zero exit."""
from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from app import create_app
from conftest import TODAY
from extensions import db
from models import AuditBatch, AuthGroup, Authorization, BillingCode, User
from rules import Actor
from rules.audit import acting_as
from rules.users import verify_password

DAY = dt.timedelta(days=1)


def run(app, *args):
    result = app.test_cli_runner().invoke(args=list(args))
    return result.exit_code, result.stdout, result.stderr


def test_seed_adds_what_is_missing_and_says_so(app):
    assert run(app, "seed") == (0, "Seeded: nothing to add.\n", "")
    with app.app_context(), acting_as(db.session, Actor.system()):
        db.session.execute(sa.delete(AuthGroup).where(AuthGroup.name == "Auth Group 2"))
        db.session.commit()
    assert run(app, "seed") == (0, "Seeded: 1 rows added.\n", "")
    assert run(app, "seed") == (0, "Seeded: nothing to add.\n", "")
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 0


@pytest.mark.parametrize("mode,allowed", [({}, False), ({"AUTHDESK_DEMO": True}, True)])
def test_demo_data_is_refused_outside_demo_debug_and_testing(app_config, mode, allowed,
                                                             monkeypatch):
    """With the app as production runs it (not testing, not debug)."""
    calls = []
    monkeypatch.setattr("seeds.seed_demo", lambda session, **kw: calls.append(1) or 7)
    production = create_app({**app_config, "TESTING": False, "DEBUG": False,
                             "AUTHDESK_DEMO": False, **mode})
    with production.app_context():
        db.session.execute(sa.delete(BillingCode).where(BillingCode.code == "90791"))
        db.session.commit()
    result = run(production, "seed", "--demo")
    with production.app_context():
        restored = db.session.scalar(sa.select(sa.func.count()).select_from(BillingCode)
                                     .where(BillingCode.code == "90791"))
        db.engine.dispose()
    if allowed:
        assert (result[0], result[2]) == (0, "")
        assert result[1] == "Seeded: 8 rows added.\n" and restored == 1 and calls == [1]
    else:
        assert restored == 0 and calls == []  # refused before anything was written
        assert result == (1, "", "Error: demo data (with its well-known logins) is only for "
                                 "demo mode; set AUTHDESK_DEMO=1 on a machine that is not "
                                 "production\n")


def test_refresh_status_reports_and_is_idempotent(app):
    with app.app_context(), acting_as(db.session, Actor.system()):
        from conftest import Factory

        make = Factory(db.session, "x")
        client = make.client()
        make.auth(client, "90834", end_date=TODAY + 5 * DAY, exp_alert_days=10)
        make.auth(client, "90837", start_date=TODAY + 10 * DAY, end_date=TODAY + 40 * DAY)
        db.session.commit()
    assert run(app, "authorizations", "refresh-status", "--today", "2026-06-25") == (
        0, "Status refreshed: 1 activated, 1 deactivated; alerts: 1 opened, 1 closed.\n", "")
    assert run(app, "authorizations", "refresh-status", "--today", "2026-06-25") == (
        0, "Status refreshed: 0 activated, 0 deactivated; alerts: 0 opened, 0 closed.\n", "")
    with app.app_context():
        assert sorted(db.session.scalars(sa.select(Authorization.active))) == [False, True]
        assert db.session.scalars(sa.select(AuditBatch.actor_name)).all() == ["system"]
    code, out, err = run(app, "authorizations", "refresh-status", "--today", "25/06/2026")
    assert code == 2 and "Invalid value for '--today'" in err


def test_users_create(app):
    code, out, err = run(app, "users", "create", "jdoe", "--profile", "Billing", "--name",
                         "Jo Doe", "--password", "long-enough-secret")
    assert (code, out, err) == (0, "User jdoe created with profile Billing.\n", "")
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.username == "jdoe"))
        assert (user.full_name, user.profile.name, user.is_demo) == ("Jo Doe", "Billing", False)
        assert verify_password(user, "long-enough-secret")
        assert user.password_hash != "long-enough-secret"


@pytest.mark.parametrize("args,message", [
    (["shorty", "--profile", "Billing", "--password", "too-short"],
     "Error: Password: must be at least 12 characters"),
    (["wizard", "--profile", "Wizard", "--password", "long-enough-secret"],
     "Error: Profile: no profile is named “Wizard”"),
    (["JDOE", "--profile", "Provider", "--password", "long-enough-secret"],
     "Error: Username: “JDOE” is already taken"),
], ids=["short password", "unknown profile", "duplicate username"])
def test_users_create_errors(app, args, message):
    assert run(app, "users", "create", "jdoe", "--profile", "Billing", "--password",
               "long-enough-secret")[0] == 0
    code, out, err = run(app, "users", "create", *args)
    assert (code, out, err) == (1, "", message + "\n")
    with app.app_context():
        assert db.session.scalars(sa.select(User.username)).all() == ["jdoe"]
