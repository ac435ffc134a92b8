"""Who may do what, screen by screen: each default profile × each screen and action × GET/POST,
from ONE table. A screen a profile may not use is missing from its menu and answers 403 on the
server — lists, forms, saves, deletes, actions, exports, look-ups and inline edits alike."""
import datetime as dt
import re

import pytest
import sqlalchemy as sa

from console_data import database, practice_in
from conftest import snapshot_tables
from models import Authorization, Client, Profile

ROLES = ("admin", "support", "billing", "provider")
D = (dt.date.today() + dt.timedelta(days=1)).isoformat()
E = (dt.date.today() + dt.timedelta(days=90)).isoformat()

#: (what, method, url, form data, expected status for admin, support, billing, provider).
#: {name} in a url or a value is an id of the practice (tests/console_data.py).
MATRIX = [
    # Clients → Clients and the client chart
    ("clients list", "GET", "/console/clients/", None, (200, 200, 200, 200)),
    ("client chart", "GET", "/console/clients/chart/{c1}/", None, (200, 200, 200, 200)),
    ("client create form", "GET", "/console/clients/new/", None, (200, 200, 403, 403)),
    ("client create", "POST", "/console/clients/new/",
     {"last_name": "New", "first_name": "Client", "dob": "2001-02-03", "active": "y",
      "payer-0-company": "{aetna}", "primary_payer": "0"}, (302, 302, 403, 403)),
    ("client edit form", "GET", "/console/clients/edit/?id={c1}", None, (200, 200, 403, 403)),
    ("client edit", "POST", "/console/clients/edit/?id={c2}",
     {"last_name": "Baker", "first_name": "Benjamin", "dob": "1990-01-01", "active": "y",
      "payer-0-company": "{bcbs}", "primary_payer": "0"}, (302, 302, 403, 403)),
    ("client delete", "POST", "/console/clients/delete/", {"id": "{c3}"}, (403, 403, 403, 403)),
    ("chart grid save", "POST", "/console/clients/chart/{c1}/authorizations",
     {"n1-billing_code_id": "{code_90832}", "n1-start_date": D, "n1-end_date": E,
      "n1-allotted_units": "4"}, (302, 302, 403, 403)),
    # Clients → Authorizations (the master list)
    ("auth list", "GET", "/console/authorizations/", None, (200, 200, 200, 200)),
    ("auth export", "GET", "/console/authorizations/export/csv/", None, (200, 200, 200, 403)),
    ("auth create form", "GET", "/console/authorizations/new/", None, (200, 200, 403, 403)),
    ("auth create", "POST", "/console/authorizations/new/",
     {"client": "{c2}", "billing_code_id": "{code_90837}", "start_date": D, "end_date": E,
      "allotted_units": "6"}, (302, 302, 403, 403)),
    ("auth edit form", "GET", "/console/authorizations/edit/?id={a1}", None,
     (200, 200, 403, 403)),
    ("auth edit", "POST", "/console/authorizations/edit/?id={a1}",
     {"billing_code_id": "{code_90834}", "start_date": "{a1_start}", "end_date": "{a1_end}",
      "allotted_units": "20", "remaining_units": "20", "unit_alert_level": "6",
      "auth_number": "AUTH-ONE", "auth_group_id": "{group1}"}, (302, 302, 403, 403)),
    ("auth delete", "POST", "/console/authorizations/delete/", {"id": "{a4}"},
     (302, 302, 403, 403)),
    ("auth client look-up", "GET", "/console/authorizations/ajax/lookup/?name=client&query=ad",
     None, (200, 200, 403, 403)),
    ("auth inline edit", "POST", "/console/authorizations/ajax/update/",
     {"list_form_pk": "{a1}", "remaining_units": "1"}, (404, 404, 403, 403)),
    ("auth bulk delete action", "POST", "/console/authorizations/action/",
     {"action": "delete", "rowid": "{a5}"}, (403, 403, 403, 403)),
    # Financial
    ("billing codes", "GET", "/console/billing-codes/", None, (200, 403, 403, 403)),
    ("billing code create", "POST", "/console/billing-codes/new/",
     {"code": "99999", "description": "Test", "rate": "12.50", "default_units": "1",
      "active": "y"}, (302, 403, 403, 403)),
    ("billing code edit form", "GET", "/console/billing-codes/edit/?id={code_90832}", None,
     (200, 403, 403, 403)),
    ("billing code export", "GET", "/console/billing-codes/export/csv/", None,
     (403, 403, 403, 403)),
    ("billing code groups", "GET", "/console/billing-code-groups/", None, (200, 403, 403, 403)),
    ("billing code group create", "POST", "/console/billing-code-groups/new/",
     {"name": "Therapy", "code_ids": "{code_90834}", "active": "y"}, (302, 403, 403, 403)),
    ("insurance companies", "GET", "/console/insurance-companies/", None,
     (200, 403, 403, 403)),
    ("insurance company create", "POST", "/console/insurance-companies/new/",
     {"name": "Cigna", "payer_id": "CIG01", "active": "y"}, (302, 403, 403, 403)),
    # Administration
    ("pick lists", "GET", "/console/picklists/", None, (200, 403, 403, 403)),
    ("pick list add", "POST", "/console/picklists/divisions/add", {"name": "East Clinic"},
     (302, 403, 403, 403)),
    ("pick list save", "POST", "/console/picklists/divisions/save",
     {"name-{south}": "South", "order-{south}": "2", "active-{south}": "y"},
     (302, 403, 403, 403)),
    ("pick list delete", "POST", "/console/picklists/client_groups/{adults}/delete", {},
     (302, 403, 403, 403)),
    ("users", "GET", "/console/users/", None, (200, 403, 403, 403)),
    ("user create form", "GET", "/console/users/new/", None, (200, 403, 403, 403)),
    ("user create", "POST", "/console/users/new/",
     {"username": "newbie", "full_name": "New Bie", "password": "long-enough-password",
      "profile_id": "{profile_billing}"}, (302, 403, 403, 403)),
    ("user edit", "POST", "/console/users/edit/?id={user_billing}",
     {"full_name": "Blair B.", "profile_id": "{profile_billing}", "active": "y"},
     (302, 403, 403, 403)),
    ("profiles", "GET", "/console/profiles/", None, (200, 403, 403, 403)),
    ("profile edit", "POST", "/console/profiles/edit/?id={profile_billing}",
     {"name": "Billing", "permissions": ["view_clients", "view_authorizations", "export"]},
     (302, 403, 403, 403)),
    ("providers", "GET", "/console/providers/", None, (200, 403, 403, 403)),
    ("provider create", "POST", "/console/providers/new/",
     {"first_name": "Ana", "last_name": "Ortiz", "active": "y"}, (302, 403, 403, 403)),
]

#: Menu entries: (label, list url) — shown exactly to those whose GET of the list is 200.
MENU = [("Clients", "/console/clients/"), ("Authorizations", "/console/authorizations/"),
        ("Billing Codes", "/console/billing-codes/"),
        ("Billing Code Groups", "/console/billing-code-groups/"),
        ("Insurance Companies", "/console/insurance-companies/"),
        ("Pick List Management", "/console/picklists/"), ("Users", "/console/users/"),
        ("Profiles", "/console/profiles/"), ("Providers", "/console/providers/")]


@pytest.fixture
def ids(app, users):
    practice = practice_in(app)
    with database(app) as (session, _):
        a1 = session.get(Authorization, practice.ids["a1"])
        profiles = {p.name: p.id for p in session.scalars(sa.select(Profile))}
        return {**practice.ids, "a1_start": a1.start_date.isoformat(),
                "a1_end": a1.end_date.isoformat(), "profile_billing": profiles["Billing"],
                "user_billing": users["billing"]}


def fill(value, ids):
    if isinstance(value, list):
        return [fill(v, ids) for v in value]
    return value.format(**ids)


@pytest.mark.parametrize("role", ROLES)
def test_role_screen_matrix(web, ids, role):
    client = web(role)
    wrong = []
    for what, method, url, data, expected in MATRIX:
        want = expected[ROLES.index(role)]
        url = fill(url, ids)
        if method == "GET":
            response = client.get(url)
        else:
            response = client.post(url, {k.format(**ids): fill(v, ids)
                                         for k, v in data.items()})
        if response.status_code != want:
            said = re.findall(r'invalid-feedback[^>]*>([^<]+)|alert-\w+[^>]*>([^<]+)',
                              response.get_data(as_text=True))
            wrong.append(f"{what}: {method} {url} → {response.status_code}, expected {want} "
                         f"{[' '.join(''.join(s).split()) for s in said]}")
    assert wrong == []


@pytest.mark.parametrize("role", ROLES)
def test_menu_shows_exactly_the_screens_the_profile_may_open(web, role):
    client = web(role)
    home = client.get("/console/").get_data(as_text=True)
    lists = {url: expected for _, method, url, _, expected in MATRIX if method == "GET"}
    for label, url in MENU:
        may_open = lists[url][ROLES.index(role)] == 200
        assert (f'href="{url}"' in home) == may_open, (label, role)
        assert (client.get(url).status_code == 200) == may_open, (label, role)


def test_anonymous_users_are_sent_to_the_login_page(web):
    anonymous = web()
    for _, method, url, _, _ in MATRIX:
        if method == "GET" and "{" not in url:
            response = anonymous.get(url)
            assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_a_post_without_csrf_token_is_refused(app, web, ids):
    support = web("support")
    with database(app) as (session, _):
        before = snapshot_tables(session, Authorization, Client)
    for url, data in [(f"/console/clients/chart/{ids['c1']}/authorizations",
                       {"n1-allotted_units": "3"}),
                      ("/console/clients/new/", {"last_name": "X"}),
                      (f"/console/authorizations/edit/?id={ids['a1']}", {"allotted_units": "9"}),
                      ("/console/authorizations/delete/", {"id": str(ids["a4"])})]:
        assert support.post(url, data, csrf=False).status_code == 400, url
    with database(app) as (session, _):
        assert snapshot_tables(session, Authorization, Client) == before
