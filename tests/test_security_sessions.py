"""Issue 7 point 7: the session is renewed at login; it ends after the idle timeout; logging out,
a password change and disabling a user end that user's other sessions."""
import pytest
import sqlalchemy as sa

from conftest import PASSWORD
from models import User, utcnow
from rules import Actor
from rules.audit import acting_as
from rules.users import set_active, set_password


def session_of(client) -> dict:
    with client.http.session_transaction() as s:
        return dict(s)


def cookie(client) -> str | None:
    found = client.http.get_cookie("session")
    return found.value if found else None


def test_login_starts_a_new_session(web, users):
    client = web()
    client.get("/login")
    with client.http.session_transaction() as s:
        s["planted_by_an_attacker"] = "fixation"
    before_cookie, before = cookie(client), session_of(client)
    assert "csrf_token" in before and "_user_id" not in before
    assert client.login("support").status_code == 302
    after = session_of(client)
    assert "planted_by_an_attacker" not in after
    assert after.get("csrf_token") != before["csrf_token"]
    assert after["_user_id"].startswith(f"{users['support']}:")
    assert cookie(client) != before_cookie


def test_the_login_cookie_names_the_users_session_token(session, web, users):
    client = web("support")
    token = session.get(User, users["support"]).session_token
    assert session_of(client)["_user_id"] == f"{users['support']}:{token}"


def idle_for(client, minutes: float) -> None:
    with client.http.session_transaction() as s:
        s["last_seen"] = utcnow().timestamp() - minutes * 60


def test_a_session_ends_after_30_idle_minutes(web, users):
    client = web("support")
    idle_for(client, 29)
    assert client.get("/console/").status_code == 200  # activity renews the clock
    assert session_of(client)["last_seen"] > utcnow().timestamp() - 60
    idle_for(client, 31)
    response = client.get("/console/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert "_user_id" not in session_of(client)


@pytest.fixture
def app_config(app_config, request):
    minutes = getattr(request, "param", None)
    return app_config if minutes is None else {**app_config, "IDLE_TIMEOUT_MINUTES": minutes}


@pytest.mark.parametrize("app_config", [5], indirect=True)
def test_the_idle_timeout_is_configurable(web, users):
    client = web("support")
    idle_for(client, 4)
    assert client.get("/console/").status_code == 200
    idle_for(client, 6)
    assert client.get("/console/").status_code == 302


def test_the_idle_timeout_defaults_to_30_minutes(monkeypatch):
    from app import load_config

    monkeypatch.delenv("AUTHDESK_IDLE_TIMEOUT_MINUTES", raising=False)
    assert load_config({"TESTING": True})["IDLE_TIMEOUT_MINUTES"] == 30
    monkeypatch.setenv("AUTHDESK_IDLE_TIMEOUT_MINUTES", "10")
    assert load_config({"TESTING": True})["IDLE_TIMEOUT_MINUTES"] == 10


def test_logging_out_ends_the_users_other_sessions(web, users):
    office, laptop = web("billing"), web("billing")
    assert laptop.get("/console/").status_code == 200
    assert office.logout().status_code == 302
    assert office.get("/console/").status_code == 302
    response = laptop.get("/console/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    # other users are untouched
    assert web("support").get("/console/").status_code == 200


def test_a_password_change_ends_the_users_other_sessions(session, web, users):
    first, second = web("billing"), web("billing")
    other_user = web("support")
    billing = session.get(User, users["billing"])
    with acting_as(session, Actor.for_user(billing)):
        set_password(session, Actor.for_user(billing), billing.id, "another passphrase")
        session.commit()
    assert first.get("/console/").status_code == 302
    assert second.get("/console/").status_code == 302
    assert other_user.get("/console/").status_code == 200


def test_disabling_a_user_ends_their_sessions(session, web, users):
    client = web("provider")
    admin = Actor.for_user(session.get(User, users["admin"]))
    with acting_as(session, admin):
        set_active(session, admin, users["provider"], False)
        session.commit()
    assert client.get("/console/").status_code == 302
    assert web().login("provider", PASSWORD).status_code == 401


def test_a_user_disabled_by_a_plain_edit_is_logged_out_too(session, web, users):
    """Even a path that forgets rules.users.set_active: an inactive user's cookie is refused."""
    client = web("provider")
    session.execute(sa.update(User).where(User.id == users["provider"]).values(active=False))
    session.commit()
    assert client.get("/console/").status_code == 302


def test_a_forged_or_stale_cookie_id_is_refused(session, web, users):
    client = web("support")
    for forged in (f"{users['support']}:not-the-token", "abc:def", "99999999999999999999:x",
                   str(users["support"]), ""):
        with client.http.session_transaction() as s:
            s["_user_id"] = forged
        assert client.get("/console/").status_code == 302, forged
