"""Issue 7 point 10 (the forms on this branch): hostile values posted to the login, change-
password and password-reset forms, and thrown at the audit list's filters and the history
pages, always get a clear message or a refusal — never a server error — leave the database as
it was, and come back as text, not HTML. The harness is tests/hostile.py."""
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import rules.users
from conftest import PASSWORD
from hostile import (HOSTILE_SETTINGS, form_data, hostile_date, hostile_id, hostile_text,
                     hostile_value, post_hostile)

USERNAMES = {"admin", "support", "billing", "provider"}


@pytest.fixture
def instant_hash_checks(monkeypatch, password_hash):
    """Keep the password-hash check (its call is part of the path) but make it instant."""
    monkeypatch.setattr(rules.users, "check_password_hash",
                        lambda stored, given: stored == password_hash and given == PASSWORD)


@HOSTILE_SETTINGS
@given(data=form_data({"username": hostile_text(), "password": hostile_value()}))
def test_the_login_form_refuses_hostile_input(web, users, session, instant_hash_checks, data):
    assume(str(data.get("username", "")).strip().lower() not in USERNAMES)
    client = web()
    outcome = post_hostile(client, "/login", data, session)
    assert outcome == "refused"
    assert client.get("/console/").status_code == 302  # nobody got in


@pytest.fixture
def billing_client(web, users):
    return web("billing")


@HOSTILE_SETTINGS
@given(data=form_data({"current_password": hostile_value(), "new_password": hostile_value(),
                       "confirm": hostile_value()}))
def test_the_change_password_form_refuses_hostile_input(billing_client, session,
                                                        instant_hash_checks, data):
    assume(data.get("current_password") != PASSWORD)
    post_hostile(billing_client, "/console/account/", data, session)
    assert billing_client.get("/console/").status_code == 200  # still logged in


@pytest.fixture
def admin_client(web, users):
    return web("admin")


@HOSTILE_SETTINGS
@given(data=form_data({"new_password": hostile_value(), "confirm": hostile_value()}),
       user_id=st.one_of(st.sampled_from(["2", "3", "0", "-1", "99999999999999999999",
                                          "abc", "2%2F..%2F1"]), hostile_id()))
def test_the_password_reset_form_refuses_hostile_input(admin_client, session, data, user_id):
    # Two equal values of 12+ characters are a valid new password: that is not hostile.
    new = data.get("new_password")
    assume(not (isinstance(new, str) and new == data.get("confirm") and 12 <= len(new) <= 256))
    # The administrator's own id leads to the change-password form: a redirect, no change.
    post_hostile(admin_client, f"/console/account/reset/{user_id}", data, session,
                 redirect_ok=True)


@HOSTILE_SETTINGS
@given(params=st.dictionaries(
    st.sampled_from(["flt0_user_equals", "flt0_object_type_equals", "flt0_object_id_equals",
                     "flt1_client_id_equals", "flt0_date_between", "flt2_object_contains",
                     "flt0_bulk_operation_equals", "search", "sort", "desc", "page",
                     "page_size", "flt9_no_such_filter"]),
    st.one_of(hostile_value(), hostile_date()), max_size=4))
def test_the_audit_list_survives_hostile_filters(admin_client, session, params):
    post_hostile(admin_client, "/console/audit/", params, session, method="get",
                 accept=lambda response: response.status_code == 200)


@HOSTILE_SETTINGS
@given(object_type=st.one_of(st.sampled_from(["client", "authorization", "note", "user"]),
                             hostile_text(40)),
       object_id=hostile_id(), page=st.one_of(hostile_id(), st.just("1")))
def test_history_pages_survive_hostile_addresses(admin_client, session, object_type,
                                                  object_id, page):
    from urllib.parse import quote

    url = f"/console/audit/history/{quote(object_type, safe='')}/{quote(object_id, safe='')}"
    post_hostile(admin_client, url, {"page": page}, session, method="get",
                 accept=lambda response: response.status_code == 200)


def test_nul_characters_are_refused_before_they_reach_the_database(web, users, session):
    client = web()
    outcome = post_hostile(client, "/login", {"username": "sup\x00port", "password": "x" * 12},
                           session)
    assert outcome == "refused"
    assert client.get("/console/audit/?search=a%00b").status_code in (302, 400)
