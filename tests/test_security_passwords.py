"""Issue 7 point 5: passwords hashed with scrypt, at least 12 characters; a user changes their
own password (My account → Change password), an administrator resets another's; both end the
user's other sessions."""
import pytest
import sqlalchemy as sa

from conftest import PASSWORD, snapshot_tables
from models import AuditRecord, User
from rules import Actor, PermissionDenied, ValidationError
from rules.users import MIN_PASSWORD_LENGTH, hash_password, set_password

NEW = "a fresh passphrase for june"


def test_passwords_are_hashed_with_scrypt_and_salted():
    first, second = hash_password("twelve chars"), hash_password("twelve chars")
    assert first.startswith("scrypt:") and second.startswith("scrypt:")
    assert first != second and "twelve chars" not in first


@pytest.mark.parametrize("password", ["", "short", "x" * (MIN_PASSWORD_LENGTH - 1), "y" * 257,
                                      None])
def test_too_short_or_too_long_passwords_are_refused(session, users, password):
    admin = Actor.for_user(session.get(User, users["admin"]))
    expected = f"Password: must be at (least {MIN_PASSWORD_LENGTH}|most 256) characters"
    with pytest.raises(ValidationError, match=expected):
        set_password(session, admin, users["billing"], password)


def test_only_managers_of_users_may_set_another_users_password(session, users):
    support = Actor.for_user(session.get(User, users["support"]))
    with pytest.raises(PermissionDenied):
        set_password(session, support, users["billing"], NEW)


def change(client, current=PASSWORD, new=NEW, confirm=None):
    client.get("/console/account/")
    return client.post("/console/account/", {"current_password": current, "new_password": new,
                                             "confirm": new if confirm is None else confirm})


def test_my_account_menu_leads_to_change_password(web):
    html = web("provider").get("/console/").get_data(as_text=True)
    assert "My account" in html and 'href="/console/account/"' in html


def test_a_user_changes_their_own_password(session, web, users):
    here, elsewhere = web("billing"), web("billing")
    response = change(here)
    assert response.status_code == 302
    page = here.get(response.headers["Location"])
    assert "Your password was changed" in page.get_data(as_text=True)
    assert here.get("/console/").status_code == 200  # this session goes on
    assert elsewhere.get("/console/").status_code == 302  # the other one ended
    assert web().login("billing", PASSWORD).status_code == 401
    assert web().login("billing", NEW).status_code == 302
    record = session.scalars(sa.select(AuditRecord).where(
        AuditRecord.object_type == "user", AuditRecord.object_id == users["billing"])
        .order_by(AuditRecord.id.desc())).first()
    assert record.changes == {"password_hash": ["(changed)", "(changed)"]}
    assert record.actor_id == users["billing"]


@pytest.mark.parametrize("current, new, confirm, message", [
    ("not my password!", NEW, NEW, "is not your current password"),
    (PASSWORD, NEW, NEW + "x", "The two new passwords differ."),
    (PASSWORD, "too short", "too short", f"at least {MIN_PASSWORD_LENGTH} characters"),
    (PASSWORD, "", "", "This field is required."),
])
def test_a_refused_change_says_why_and_changes_nothing(session, web, users, current, new,
                                                       confirm, message):
    client = web("support")
    session.rollback()
    before = snapshot_tables(session, User, AuditRecord)
    response = change(client, current, new, confirm)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert message in html and "alert-danger" in html
    session.rollback()
    assert snapshot_tables(session, User, AuditRecord) == before
    assert client.get("/console/").status_code == 200


def test_an_administrator_resets_a_users_password(session, web, users):
    victim = web("provider")
    admin = web("admin")
    url = f"/console/account/reset/{users['provider']}"
    page = admin.get(url).get_data(as_text=True)
    assert "Reset the password of Provider" in page
    response = admin.post(url + "?next=/console/", {"new_password": NEW, "confirm": NEW})
    assert response.status_code == 302 and response.headers["Location"] == "/console/"
    assert "was reset" in admin.get("/console/").get_data(as_text=True)
    assert victim.get("/console/").status_code == 302  # logged out everywhere
    assert web().login("provider", NEW).status_code == 302
    record = session.scalars(sa.select(AuditRecord).where(
        AuditRecord.object_type == "user", AuditRecord.object_id == users["provider"])
        .order_by(AuditRecord.id.desc())).first()
    assert record.actor_id == users["admin"]
    assert record.changes == {"password_hash": ["(changed)", "(changed)"]}


def test_the_reset_refuses_an_outside_next(web, users):
    admin = web("admin")
    url = f"/console/account/reset/{users['provider']}?next=https://evil.example/"
    admin.get(url)
    response = admin.post(url, {"new_password": NEW, "confirm": NEW})
    assert response.status_code == 302 and "evil" not in response.headers["Location"]


@pytest.mark.parametrize("role", ["support", "billing", "provider"])
def test_only_managers_of_users_may_open_the_reset(session, web, users, role):
    client = web(role)
    session.rollback()
    before = snapshot_tables(session, User)
    url = f"/console/account/reset/{users['admin']}"
    assert client.get(url).status_code == 403
    assert client.post(url, {"new_password": NEW, "confirm": NEW}).status_code == 403
    session.rollback()
    assert snapshot_tables(session, User) == before


def test_resetting_an_unknown_user_is_not_found(web):
    admin = web("admin")
    assert admin.get("/console/account/reset/4242").status_code == 404
    assert admin.get("/console/account/reset/99999999999999999999").status_code == 404


def test_resetting_ones_own_password_goes_to_the_change_form(web, users):
    response = web("admin").get(f"/console/account/reset/{users['admin']}")
    assert response.status_code == 302 and response.headers["Location"] == "/console/account/"
