"""Clients (list, search, form with payers on file), Financial (billing codes, code groups,
payers) and Administration (users, profiles, providers): what staff type is checked, saved
through the rules, and refused with a message that changes nothing."""
import html
import re

import pytest
import sqlalchemy as sa

from console_data import database, listed_ids, practice_in
from conftest import PASSWORD, snapshot_tables
from models import BillingCode, BillingCodeGroup, Client, ClientPayer, Profile, Provider, User
from rules.permissions import PERMISSIONS


@pytest.fixture
def practice(app, users):
    return practice_in(app)


def text(response) -> str:
    """What the page says: tags dropped, entities decoded, whitespace collapsed."""
    plain = re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))
    return " ".join(html.unescape(plain).split())


def client_form(**kw):
    data = {"last_name": "Nguyen", "first_name": "Lan", "dob": "1985-05-05", "active": "y",
            "division_id": "", "primary_therapist_id": ""}
    data.update(kw)
    return data


# -- Clients ------------------------------------------------------------------------------------

def test_client_list_filters_and_name_prefix_search(web, practice):
    support = web("support")
    ids = practice.ids

    def shown(query):
        return listed_ids(support.get("/console/clients/?" + query))

    assert shown("") == {ids["c1"], ids["c2"], ids["c3"]}
    assert shown(f"division={ids['north']}") == {ids["c1"], ids["c3"]}
    assert shown(f"client_group={ids['children']}") == {ids["c2"], ids["c3"]}
    assert shown(f"therapist={ids['kim']}") == {ids["c2"], ids["c3"]}
    assert shown(f"payer={ids['bcbs']}") == {ids["c1"], ids["c2"]}  # any payer on file
    assert shown("search=adam") == {ids["c1"], ids["c3"]}
    assert shown("search=Adamson,+C") == {ids["c3"]}
    assert shown("search=amy") == set()  # last name first, as staff look clients up


def test_create_a_client_with_payers_one_primary(app, web, practice):
    support = web("support")
    support.get("/console/clients/new/")
    response = support.post("/console/clients/new/", client_form(**{
        "division_id": str(practice.ids["south"]), "client_group_ids": str(practice.ids["adults"]),
        "primary_therapist_id": str(practice.ids["lee"]),
        "payer-0-company": str(practice.ids["aetna"]), "payer-0-member": "W123",
        "payer-1-company": str(practice.ids["bcbs"]), "primary_payer": "1"}))
    assert response.status_code == 302 and "/console/clients/chart/" in response.headers["Location"]
    with database(app) as (session, _):
        client = session.scalar(sa.select(Client).where(Client.last_name == "Nguyen"))
        assert [(p.insurance_company.name, p.member_id, p.is_primary) for p in client.payers] == \
            [("Aetna", "W123", False), ("BCBS", None, True)]
        assert [g.name for g in client.client_groups] == ["Adults"]
        assert client.name_key == "nguyen lan"


def test_client_payers_need_exactly_one_primary(app, web, practice):
    support = web("support")
    support.get("/console/clients/new/")
    with database(app) as (session, _):
        before = snapshot_tables(session, Client, ClientPayer)
    response = support.post("/console/clients/new/", client_form(**{
        "payer-0-company": str(practice.ids["aetna"]),
        "payer-1-company": str(practice.ids["bcbs"])}))
    assert response.status_code == 200
    assert "mark exactly one payer as the primary payer" in text(response)
    response = support.post("/console/clients/new/", client_form(**{
        "payer-0-company": str(practice.ids["aetna"]),
        "payer-1-company": str(practice.ids["aetna"]), "primary_payer": "0"}))
    assert "“Aetna” is listed twice" in text(response)
    with database(app) as (session, _):
        assert snapshot_tables(session, Client, ClientPayer) == before


def test_switching_the_primary_payer(app, web, practice):
    support = web("support")
    url = f"/console/clients/edit/?id={practice.ids['c1']}"
    support.get(url)
    response = support.post(url, client_form(**{
        "last_name": "Adams", "first_name": "Amy", "dob": "1990-01-01",
        "payer-0-company": str(practice.ids["aetna"]),
        "payer-1-company": str(practice.ids["bcbs"]), "primary_payer": "1"}))
    assert response.status_code == 302
    with database(app) as (session, _):
        client = session.get(Client, practice.ids["c1"])
        assert client.primary_payer.name == "BCBS" and len(client.payers) == 2


@pytest.mark.parametrize("change, message", [
    ({"dob": "05/05/1985"}, "must be a date (YYYY-MM-DD)"),
    ({"dob": "2100-01-01"}, "cannot be in the future"),
    ({"last_name": ""}, "is required"),
    ({"primary_therapist_id": "999999"}, "is not one of the choices offered"),
    ({"payer-0-company": "999999", "primary_payer": "0"},
     "Insurance company #999999 does not exist"),
])
def test_bad_client_input_is_refused_with_a_message(app, web, practice, change, message):
    support = web("support")
    support.get("/console/clients/new/")
    with database(app) as (session, _):
        before = snapshot_tables(session, Client, ClientPayer)
    response = support.post("/console/clients/new/", client_form(**change))
    assert response.status_code == 200 and message in text(response)
    with database(app) as (session, _):
        assert snapshot_tables(session, Client, ClientPayer) == before


def test_client_chart_details(web, practice):
    page = text(web("provider").get(f"/console/clients/chart/{practice.ids['c1']}/"))
    for expected in ("Adams, Amy", "1990-01-01", "North Clinic", "Adults", "Lee, Marcus",
                     "Aetna", "BCBS", "Primary Payer Aetna"):
        assert expected in page, expected
    assert "Edit client" not in page  # providers may not edit clients


# -- Financial ----------------------------------------------------------------------------------

def test_billing_codes_are_checked_and_saved(app, web, practice):
    admin = web("admin")
    admin.get("/console/billing-codes/new/")
    response = admin.post("/console/billing-codes/new/", {
        "code": "90832", "rate": "ten", "default_units": "0"})
    page = text(response)
    assert response.status_code == 200
    assert "another code is already “90832”" in page
    assert "must be an amount such as 120.00" in page and "must be 1 or more" in page
    response = admin.post("/console/billing-codes/new/", {
        "code": " h2020 ", "description": "Therapeutic behavioral services, per diem",
        "rate": "210.5", "default_units": "1", "active": "y"})
    assert response.status_code == 302
    with database(app) as (session, _):
        code = session.scalar(sa.select(BillingCode).where(BillingCode.code == "H2020"))
        assert (str(code.rate), code.default_units, code.active) == ("210.50", 1, True)
    assert "210.50" in text(admin.get("/console/billing-codes/?search=H2020"))


def test_billing_code_groups_hold_codes(app, web, practice):
    admin = web("admin")
    admin.get("/console/billing-code-groups/new/")
    response = admin.post("/console/billing-code-groups/new/", {
        "name": "Outpatient", "active": "y",
        "code_ids": [str(practice.ids["code_90832"]), str(practice.ids["code_90837"])]})
    assert response.status_code == 302
    with database(app) as (session, _):
        group = session.scalar(sa.select(BillingCodeGroup))
        assert [c.code for c in group.codes] == ["90832", "90837"]
    assert "90832, 90837" in text(admin.get("/console/billing-code-groups/"))


def test_insurance_companies(app, web, practice):
    admin = web("admin")
    admin.get("/console/insurance-companies/new/")
    assert "another insurance company is already “aetna”" in text(admin.post(
        "/console/insurance-companies/new/", {"name": "aetna"}))
    assert admin.post("/console/insurance-companies/new/",
                      {"name": "Cigna", "payer_id": "CIG01", "active": "y"}).status_code == 302
    assert "CIG01" in text(admin.get("/console/insurance-companies/"))


# -- Administration -----------------------------------------------------------------------------

def test_create_a_user_password_rules_and_hash(app, web, practice):
    admin = web("admin")
    form = admin.get("/console/users/new/").get_data(as_text=True)
    assert 'type="password"' in form and "password_hash" not in form
    with database(app) as (session, _):
        billing_profile = session.scalar(sa.select(Profile.id).where(Profile.name == "Billing"))
        before = snapshot_tables(session, User)
    data = {"username": "casey", "full_name": "Casey Clerk", "password": "short",
            "profile_id": str(billing_profile), "user_group_id": str(practice.ids["therapists"]),
            "provider_id": str(practice.ids["kim"])}
    response = admin.post("/console/users/new/", data)
    assert "must be at least 12 characters" in text(response)
    with database(app) as (session, _):
        assert snapshot_tables(session, User) == before
    response = admin.post("/console/users/new/", {**data, "password": "a-long-pass-phrase"})
    assert response.status_code == 302
    with database(app) as (session, _):
        user = session.scalar(sa.select(User).where(User.username == "casey"))
        assert user.password_hash != "a-long-pass-phrase" and user.password_hash.startswith(
            "scrypt:")
        assert (user.profile.name, user.user_group_id, user.provider_id, user.active) == \
            ("Billing", practice.ids["therapists"], practice.ids["kim"], True)
    casey = web()
    assert casey.login("casey", "a-long-pass-phrase").status_code == 302


def test_a_provider_is_the_login_of_one_user_only(app, web, users, practice):
    admin = web("admin")
    admin.get("/console/users/new/")
    with database(app) as (session, _):
        profile = session.scalar(sa.select(Profile.id).where(Profile.name == "Provider"))
    response = admin.post("/console/users/new/", {
        "username": "twin", "full_name": "Twin", "password": "a-long-pass-phrase",
        "profile_id": str(profile), "provider_id": str(users["provider_id"])})
    assert "is not one of the choices offered" in text(response)


def test_disabling_a_user_ends_their_sessions(app, web, users, practice):
    billing = web("billing")
    assert billing.get("/console/authorizations/").status_code == 200
    admin = web("admin")
    url = f"/console/users/edit/?id={users['billing']}"
    page = admin.get(url).get_data(as_text=True)
    assert "password_hash" not in page and 'name="password"' not in page
    with database(app) as (session, _):
        profile = session.scalar(sa.select(Profile.id).where(Profile.name == "Billing"))
    response = admin.post(url, {"full_name": "Blair Billing", "profile_id": str(profile)})
    assert response.status_code == 302
    with database(app) as (session, _):
        assert session.get(User, users["billing"]).active is False
    assert billing.get("/console/authorizations/").status_code == 302  # back to the login page
    assert web().login("billing", PASSWORD).status_code == 401


def test_profiles_are_permission_checkboxes(app, web, practice):
    admin = web("admin")
    with database(app) as (session, _):
        billing = session.scalar(sa.select(Profile).where(Profile.name == "Billing"))
        billing_id = billing.id
    url = f"/console/profiles/edit/?id={billing_id}"
    page = admin.get(url).get_data(as_text=True)
    for code, label in PERMISSIONS.items():
        assert re.search(rf'type="checkbox"[^>]*value="{code}"', page), code
        assert html.escape(label, quote=False) in page or label in html.unescape(page)
    response = admin.post(url, {"name": "Billing", "description": "Billing office",
                                "permissions": ["view_clients", "view_authorizations",
                                                "export", "receive_alerts"],
                                "alert_division_id": str(practice.ids["north"])})
    assert response.status_code == 302
    with database(app) as (session, _):
        profile = session.get(Profile, billing_id)
        assert profile.permissions == {"view_clients", "view_authorizations", "export",
                                       "receive_alerts"}
        assert profile.alert_division_id == practice.ids["north"]
    bad = admin.post(url, {"name": "Billing", "permissions": ["view_clients", "fly"]})
    assert bad.status_code == 200 and "'fly' is not a valid choice" in text(bad)


def test_an_administrator_cannot_lock_themselves_out(app, web, practice):
    admin = web("admin")
    with database(app) as (session, _):
        admin_profile = session.scalar(sa.select(Profile.id).where(
            Profile.name == "Administrator"))
    url = f"/console/profiles/edit/?id={admin_profile}"
    admin.get(url)
    response = admin.post(url, {"name": "Administrator", "permissions": ["view_clients"]})
    assert "your own profile must keep" in text(response)
    assert admin.get("/console/users/").status_code == 200


def test_providers(app, web, practice):
    admin = web("admin")
    admin.get("/console/providers/new/")
    bad = admin.post("/console/providers/new/", {"first_name": "Ana", "last_name": "Ortiz",
                                                 "npi": "12ab"})
    assert "must be 10 digits" in text(bad)
    good = admin.post("/console/providers/new/", {
        "first_name": "Ana", "last_name": "Ortiz", "credentials": "LPC", "npi": "1234567890",
        "user_group_id": str(practice.ids["therapists"]), "active": "y"})
    assert good.status_code == 302
    with database(app) as (session, _):
        provider = session.scalar(sa.select(Provider).where(Provider.last_name == "Ortiz"))
        assert (provider.npi, provider.user_group_id) == ("1234567890", practice.ids["therapists"])
