"""Who may use Bulk Add or Update: only profiles with "Bulk add and update authorizations" see
the buttons or open/post any bulk route (403 on the server otherwise); fields a profile may not
modify on managed auths are refused for it; every post needs the CSRF token."""
import pytest
import sqlalchemy as sa

from bulk_support import (TABLES, add_form, iso, therapy_group, text, update_form)
from hostile import database_state
from models import Authorization, Profile
from rules.bulk import apply_update
from rules.clock import clinic_today


@pytest.fixture
def world(session, make):
    """A client with a managed auth, a code group, and one Update Codes Listed batch."""
    payer = make.payer("Aetna")
    client = make.client("Hanson", first_name="Mark", payers=[payer])
    auth = make.auth(client, "90834", today=clinic_today(), allotted_units=10)
    group = therapy_group(session, make)
    result = apply_update(session, make.actor("Support Staff"),
                          sa.select(Authorization.id).where(Authorization.client_id == client.id),
                          {"exp_alert_days": "14"})
    session.commit()
    return {"client": client.id, "auth": auth.id, "group": group.id, "batch": result.batch_id,
            "auth_number": auth.auth_number}


def routes(w):
    """Every bulk route (method, url, form data)."""
    client, batch = w["client"], w["batch"]
    add = {**add_form(w["group"]), "op": "add"}
    update = {**update_form(exp_alert_days="3"), "op": "update"}
    return [
        ("GET", "/console/bulk/", None),
        ("GET", f"/console/bulk/client/{client}/", None),
        ("POST", f"/console/bulk/client/{client}/", add),
        ("POST", f"/console/bulk/client/{client}/",
         {**update_form(exp_alert_days="3"), "op": "apply_update", "expected_count": "1"}),
        ("GET", "/console/bulk/list/authorizations/", None),
        ("POST", "/console/bulk/list/authorizations/", {**update, "list_args": ""}),
        ("POST", "/console/bulk/list/authorizations/",
         {**add, "list_args": "", "clients": "all"}),
        ("GET", "/console/bulk/list/clients/", None),
        ("POST", "/console/bulk/list/clients/", {**add, "list_args": "", "clients": "all"}),
        ("GET", f"/console/bulk/batch/{batch}/", None),
        ("GET", f"/console/bulk/batch/{batch}/undo", None),
        ("POST", f"/console/bulk/batch/{batch}/undo", {}),
        ("POST", "/console/authorizations/action/",
         {"action": "bulk", "rowid": str(w["auth"]), "url": "/console/authorizations/"}),
        ("POST", "/console/clients/action/",
         {"action": "bulk", "rowid": str(client), "url": "/console/clients/"}),
    ]


@pytest.mark.parametrize("role", ["billing", "provider"])
def test_profiles_without_bulk_update_get_403_on_every_route(web, session, world, role):
    user = web(role)
    before = database_state(session, TABLES)
    for method, url, data in routes(world):
        response = user.get(url) if method == "GET" else user.post(url, data)
        assert response.status_code == 403, (role, method, url)
    assert database_state(session, TABLES) == before


def test_bulk_profiles_reach_every_route(web, session, world):
    support = web("support")
    # (409: the apply step after the add above — the listed auths changed since "confirmed")
    for method, url, data in routes(world)[:-3]:  # not the undo: it would change the rows
        response = support.get(url) if method == "GET" else support.post(url, data)
        assert response.status_code in (200, 302, 409), (method, url, response.status_code)


@pytest.mark.parametrize("role", ["billing", "provider"])
def test_the_buttons_are_shown_only_to_bulk_profiles(web, world, role):
    pages = {"chart": f"/console/clients/chart/{world['client']}/",
             "master list": "/console/authorizations/", "client list": "/console/clients/"}
    for name, url in pages.items():
        for user, shown in ((web(role), False), (web("support"), True)):
            body = user.get(url).get_data(as_text=True)
            assert ("/console/bulk/" in body) is shown, (name, shown)
            assert ('class="action-checkbox"' in body) is (shown and name != "chart"), name


def test_anonymous_users_are_sent_to_the_login(web, world):
    response = web().get(f"/console/bulk/client/{world['client']}/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


@pytest.fixture
def clerk(web, session, make):
    """A bulk profile without "modify remaining units, end date and unmanaged"."""
    profile = Profile(name="Bulk clerk")
    profile.permissions = {"bulk_update", "edit_authorizations", "view_authorizations",
                           "view_clients"}
    session.add(profile)
    session.flush()
    make.user("clerk", "Bulk clerk")
    session.commit()
    return web("clerk")


@pytest.mark.parametrize("filled, label", [
    ({"end_date": iso(200)}, "End Date"),
    ({"remaining_units": "5"}, "Remaining Units"),
    ({"unmanaged": "yes"}, "Unmanaged"),
    ({"allotted_units": "15"}, "Remaining Units"),  # remaining would move with allotted
])
def test_restricted_fields_are_refused_for_a_profile_that_may_not_modify_them(
        session, world, clerk, filled, label):
    url = f"/console/bulk/client/{world['client']}/"
    form = clerk.get(url)
    assert "your profile may not change this on managed authorizations" in text(form)
    before = database_state(session, TABLES)
    for op in ("update", "apply_update"):
        response = clerk.post(url, {**update_form(**filled), "op": op, "expected_count": "1"})
        assert response.status_code == 403, op
        body = text(response)
        assert f"Your profile may not change {label}" in body
        assert world["auth_number"] in body  # the managed auth, by name
    assert database_state(session, TABLES) == before
    allowed = clerk.post(url, {**update_form(unit_alert_level="2"), "op": "update"})
    assert allowed.status_code == 200 and "1 authorization will change" in text(allowed)


def test_every_post_without_the_csrf_token_is_refused(web, session, world):
    support = web("support")
    before = database_state(session, TABLES)
    for method, url, data in routes(world):
        if method == "POST":
            response = support.post(url, data, csrf=False)
            assert response.status_code == 400, url
            assert "CSRF" in response.get_data(as_text=True), url
    assert database_state(session, TABLES) == before
