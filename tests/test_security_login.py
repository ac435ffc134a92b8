"""Issue 7 point 6 (per account): repeated failed logins lock the account with a clear message;
an unknown username costs the same password-hash check as a known one; every login success and
failure is logged on "authdesk.login"."""
import datetime as dt
import logging

import pytest
import sqlalchemy as sa

import rules.users
from conftest import PASSWORD
from models import User, utcnow
from rules.users import LOCKOUT, MAX_FAILED_LOGINS


@pytest.fixture
def hash_checks(monkeypatch, password_hash):
    """Count the password-hash checks, and make them instant (the fixtures' users all share
    ``password_hash``; anything else fails as a wrong password would)."""
    calls = []

    def check(stored, password):
        calls.append(stored)
        return stored == password_hash and password == PASSWORD

    monkeypatch.setattr(rules.users, "check_password_hash", check)
    return calls


def user(session, name) -> User:
    session.rollback()
    return session.scalar(sa.select(User).where(User.username == name))


def test_repeated_failures_lock_the_account(session, web, users, hash_checks):
    client = web()
    for _ in range(MAX_FAILED_LOGINS - 1):
        response = client.login("billing", "wrong password!")
        assert response.status_code == 401
        assert "Unknown username or wrong password" in response.get_data(as_text=True)
    assert user(session, "billing").failed_logins == MAX_FAILED_LOGINS - 1
    response = client.login("billing", "wrong password!")
    assert "this account is locked for 15 minutes" in response.get_data(as_text=True)
    locked = user(session, "billing")
    assert locked.locked_until > utcnow() + LOCKOUT - dt.timedelta(minutes=1)
    # even the right password is refused now, with the reason
    response = client.login("billing", PASSWORD)
    assert response.status_code == 429
    assert "this account is locked" in response.get_data(as_text=True)
    assert client.get("/console/").status_code == 302
    # other accounts are not affected
    assert web().login("support", PASSWORD).status_code == 302


def test_the_lock_ends_by_itself_and_a_success_resets_the_count(session, web, users,
                                                               hash_checks):
    client = web()
    for _ in range(MAX_FAILED_LOGINS):
        client.login("billing", "wrong password!")
    locked = user(session, "billing")
    locked.locked_until = utcnow() - dt.timedelta(seconds=1)  # fifteen minutes later
    session.commit()
    assert client.login("billing", PASSWORD).status_code == 302
    after = user(session, "billing")
    assert (after.failed_logins, after.locked_until) == (0, None)
    assert after.last_login_at is not None


def test_failures_on_an_unknown_username_lock_nothing_and_say_the_same(web, users, hash_checks):
    client = web()
    unknown = client.login("nobody-here", "wrong password!")
    known = client.login("billing", "wrong password!")
    assert unknown.status_code == known.status_code == 401
    message = "Unknown username or wrong password."
    assert message in unknown.get_data(as_text=True) and message in known.get_data(as_text=True)


@pytest.mark.parametrize("who", ["unknown", "wrong password", "disabled", "locked", "demo"])
def test_every_refusal_costs_one_password_hash_check(session, web, users, hash_checks, who):
    """An unknown user takes as long to refuse as a known one: each path checks a hash once."""
    target = user(session, "billing")
    if who == "disabled":
        target.active = False
    elif who == "locked":
        target.locked_until = utcnow() + LOCKOUT
    elif who == "demo":
        target.is_demo = True
    session.commit()
    client = web()
    hash_checks.clear()
    password = "wrong password!" if who == "wrong password" else PASSWORD
    response = client.login("someone-else" if who == "unknown" else "billing", password)
    assert response.status_code in (401, 429)
    assert len(hash_checks) == 1
    if who == "unknown":
        assert hash_checks[0] == rules.users._DUMMY_HASH
        assert hash_checks[0].startswith("scrypt:")  # the same work as a real hash


def test_the_dummy_hash_uses_the_same_scheme_as_real_passwords():
    method = rules.users.hash_password("a real password of length").split("$", 1)[0]
    assert method.startswith("scrypt:")
    assert rules.users._DUMMY_HASH.split("$", 1)[0] == method


def test_success_and_failure_are_logged_without_the_password(web, users, hash_checks, caplog):
    caplog.set_level(logging.INFO, logger="authdesk.login")
    client = web()
    client.login("support", "wrong password!")
    client.login("nobody", "wrong password!")
    client.login("support", PASSWORD)
    client.logout()
    lines = [(r.levelname, r.getMessage()) for r in caplog.records if r.name == "authdesk.login"]
    assert [level for level, _ in lines] == ["WARNING", "WARNING", "INFO", "INFO"]
    assert "login failed (wrong password) username='support'" in lines[0][1]
    assert "login failed (unknown user) username='nobody'" in lines[1][1]
    assert "login ok username='support'" in lines[2][1]
    assert "logout username='support'" in lines[3][1]
    assert all("ip=127.0.0.1" in text for _, text in lines[:3])
    assert not any("wrong password!" in text or PASSWORD in text for _, text in lines)


def test_a_locked_refusal_is_logged(session, web, users, hash_checks, caplog):
    target = user(session, "billing")
    target.locked_until = utcnow() + LOCKOUT
    session.commit()
    caplog.set_level(logging.INFO, logger="authdesk.login")
    web().login("billing", PASSWORD)
    assert any("login refused (locked) username='billing'" in r.getMessage()
               for r in caplog.records if r.name == "authdesk.login")


def test_an_incomplete_login_form_is_refused_with_a_message(web, caplog):
    caplog.set_level(logging.INFO, logger="authdesk.login")
    response = web().post("/login", {"username": "support"})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "Enter your username and password." in html and "This field is required." in html
    assert any("incomplete form" in r.getMessage() for r in caplog.records)
