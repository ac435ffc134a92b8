"""The API's resources as an integration sees them: filters and pages, field names and
validation (422 naming the fields), malformed requests (400), missing things (404), and the
rules answering exactly as in the console."""
import datetime as dt

import pytest
import sqlalchemy as sa

from api_support import api  # noqa: F401  (fixture)
from conftest import snapshot_tables
from models import Authorization, AuthGroup, Client, Division, Profile
from rules import clinic_today

TODAY = clinic_today()


def day(offset: int) -> str:
    return (TODAY + dt.timedelta(days=offset)).isoformat()


@pytest.fixture
def admin(api):
    return api("admin")


def test_clients_filter_by_name_and_page_with_a_cursor(admin, make, session):
    for last, first in [("Doe", "Jane"), ("Doe", "John"), ("Doerr", "Al"), ("Smith", "Ann")]:
        make.client(last, first_name=first)
    session.commit()
    assert [c["first_name"] for c in admin.get("/clients?name=Doe, J").get_json()["items"]] \
        == ["Jane", "John"]
    assert len(admin.get("/clients?name=doe").get_json()["items"]) == 3
    assert admin.get("/clients?name=50%25").get_json()["items"] == []  # % is not a wildcard
    first = admin.get("/clients?limit=3").get_json()
    assert len(first["items"]) == 3 and first["next_cursor"] == str(first["items"][-1]["id"])
    rest = admin.get(f"/clients?limit=3&cursor={first['next_cursor']}").get_json()
    assert [c["last_name"] for c in rest["items"]] == ["Smith"] and rest["next_cursor"] is None


def test_add_a_client_with_payers_and_read_it_back(admin, make, session):
    acme, blue = make.payer("Acme"), make.payer("Blue")
    session.commit()
    response = admin.post("/clients", {
        "first_name": " Mia ", "last_name": "Chen", "dob": "2010-05-06",
        "payers": [{"insurance_company_id": acme.id, "member_id": "M-1"},
                   {"insurance_company_id": blue.id, "primary": True}]})
    assert response.status_code == 201
    client = response.get_json()
    assert (client["first_name"], client["dob"]) == ("Mia", "2010-05-06")
    assert [(p["name"], p["primary"]) for p in client["payers"]] == [("Acme", False),
                                                                      ("Blue", True)]
    assert admin.get(f"/clients/{client['id']}").get_json() == client
    two_primaries = admin.post("/clients", {
        "first_name": "A", "last_name": "B", "dob": "2010-05-06",
        "payers": [{"insurance_company_id": acme.id, "primary": True},
                   {"insurance_company_id": blue.id, "primary": True}]})
    assert two_primaries.status_code == 422
    assert two_primaries.get_json()["error"]["fields"] == {
        "payers": "mark exactly one payer as the primary payer"}
    blank = admin.post("/clients", {"first_name": "  ", "last_name": "B", "dob": "1890-01-01"})
    assert blank.status_code == 422
    assert blank.get_json()["error"]["fields"] == {
        "first_name": "is required", "dob": "must be between 1900 and 2199"}


@pytest.fixture
def auths(make, session):
    payer = make.payer("Acme")
    a, b = make.client("Doe", first_name="Jane", payers=[payer]), make.client("Roe")
    group = session.scalar(sa.select(AuthGroup).where(AuthGroup.name == "Auth Group 2"))
    made = {
        "a_90834": make.auth(a, "90834", today=TODAY, insurance_company_id=payer.id,
                             start_date=TODAY - dt.timedelta(days=10),
                             end_date=TODAY + dt.timedelta(days=5)),
        "a_90837": make.auth(a, "90837", today=TODAY, auth_group_id=group.id,
                             start_date=TODAY - dt.timedelta(days=10),
                             end_date=TODAY + dt.timedelta(days=40)),
        "a_old": make.auth(a, "90834", today=TODAY, start_date=TODAY - dt.timedelta(days=90),
                           end_date=TODAY - dt.timedelta(days=1)),
        "b_90834": make.auth(b, "90834", today=TODAY, remaining_units=0,
                             start_date=TODAY - dt.timedelta(days=10),
                             end_date=TODAY + dt.timedelta(days=3)),
    }
    session.commit()
    return {k: v.id for k, v in made.items()} | {"client_a": a.id, "group": group.id,
                                                  "payer": payer.id}


FILTERS = [
    ("", ["a_90834", "a_90837", "a_old", "b_90834"]),
    ("client_id={client_a}", ["a_90834", "a_90837", "a_old"]),
    ("billing_code=90834", ["a_90834", "a_old", "b_90834"]),
    ("active=true", ["a_90834", "a_90837"]),
    ("active=false", ["a_old", "b_90834"]),
    ("auth_group_id={group}", ["a_90837"]),
    ("insurance_company_id={payer}", ["a_90834"]),
    ("expiring_within_days=5", ["a_90834", "b_90834"]),
    ("expiring_within_days=5&client_id={client_a}&active=true", ["a_90834"]),
]


def test_authorization_filters(admin, auths):
    names = {v: k for k, v in auths.items() if k[:2] in ("a_", "b_")}
    for query, expected in FILTERS:
        response = admin.get("/authorizations?" + query.format(**auths))
        assert response.status_code == 200, query
        assert [names[a["id"]] for a in response.get_json()["items"]] == expected, query


def test_authorizations_page_through_every_row_once(admin, auths):
    seen, cursor = [], ""
    while True:
        page = admin.get(f"/authorizations?limit=3{cursor}").get_json()
        seen += [a["id"] for a in page["items"]]
        if page["next_cursor"] is None:
            break
        cursor = f"&cursor={page['next_cursor']}"
    assert seen == sorted(v for k, v in auths.items() if k[:2] in ("a_", "b_"))


def test_authorization_fields_by_their_clinic_names(admin, auths):
    auth = admin.get(f"/authorizations/{auths['a_90834']}").get_json()
    assert auth["billing_code"] == "90834" and auth["default"] is False
    changed = admin.patch(f"/authorizations/{auths['a_90834']}", {
        "default": True, "sliding_scale_pct": 62.5, "exp_alert_days": 7, "unit_alert_level": None,
        "auth_number": "PAY-77"})
    body = changed.get_json()
    assert changed.status_code == 200
    assert (body["default"], body["sliding_scale_pct"], body["exp_alert_days"],
            body["auth_number"], body["last_edited_by"]) == (True, 62.5, 7, "PAY-77", "Admin")
    assert body["last_edited_at"].endswith("Z")


def test_invalid_fields_are_422_naming_each_and_change_nothing(admin, auths, session):
    before = snapshot_tables(session, Authorization)
    response = admin.post("/authorizations", {
        "client_id": auths["client_a"], "billing_code": "90834", "start_date": day(10),
        "end_date": day(0), "allotted_units": 5, "remaining_units": 9})
    assert response.status_code == 422
    assert response.get_json()["error"]["fields"] == {
        "end_date": f"must be on or after the start date ({day(10)})",
        "remaining_units": "cannot be more than the allotted units (5)"}
    wrong_types = admin.post("/authorizations", {
        "client_id": auths["client_a"], "billing_code": "99999", "start_date": "June 1",
        "end_date": day(0), "allotted_units": "5", "unmanaged": "yes", "active": True})
    fields = wrong_types.get_json()["error"]["fields"]
    assert wrong_types.status_code == 422
    assert fields == {"start_date": "must be a date (YYYY-MM-DD)",
                      "allotted_units": "must be a whole number",
                      "unmanaged": "must be true or false",
                      "active": "is read-only (computed by Authdesk); leave it out"}
    unknown_code = admin.post("/authorizations", {
        "client_id": auths["client_a"], "billing_code": "99999", "start_date": day(0),
        "end_date": day(1), "allotted_units": 1})
    assert unknown_code.get_json()["error"]["fields"] == {
        "billing_code": "there is no billing code “99999”"}
    for body in ({"client_id": auths["client_a"]}, {"pending_units": 0}, {"colour": "red"}):
        refused = admin.patch(f"/authorizations/{auths['a_90834']}", body)
        assert refused.status_code == 422 and set(refused.get_json()["error"]["fields"]) == \
            set(body)
    assert snapshot_tables(session, Authorization) == before


def test_restricted_fields_on_managed_auths_need_the_permission(api, auths, session):
    # A support profile without "modify remaining units, end date and unmanaged".
    support = session.scalar(sa.select(Profile).where(Profile.name == "Support Staff"))
    support.permissions = support.permissions - {"modify_managed_units"}
    session.commit()
    client = api("support")
    refused = client.patch(f"/authorizations/{auths['a_90834']}", {"remaining_units": 3})
    assert refused.status_code == 403
    assert refused.get_json()["error"]["fields"] == {"remaining_units": "not allowed for your "
                                                                         "profile"}
    assert client.patch(f"/authorizations/{auths['a_90834']}",
                        {"unit_alert_level": 2}).status_code == 200


MALFORMED_BODIES = [
    ({"data": "{not json", "content_type": "application/json"}, "not valid JSON"),
    ({"data": "[1, 2]", "content_type": "application/json"}, "must be a JSON object"),
    ({"data": '{"units": NaN}', "content_type": "application/json"}, "not valid JSON"),
    ({"data": '{"a": "\\ud800"}', "content_type": "application/json"}, "not valid JSON"),
    ({"data": "client_id=1", "content_type": "application/x-www-form-urlencoded"},
     "Content-Type: application/json"),
    ({"data": "[" * 100_000, "content_type": "application/json"}, "not valid JSON"),
    ({"data": '{"billing_code": "90\\u00008"}', "content_type": "application/json"},
     "not allowed (NUL)"),
]


def test_malformed_bodies_are_400(admin):
    for request_kw, message in MALFORMED_BODIES:
        response = admin.http.post("/api/v1/notes", headers=admin.headers(), **request_kw)
        assert response.status_code == 400, request_kw
        assert message in response.get_json()["error"]["message"], request_kw


BAD_QUERIES = [
    ("limit=0", "limit"), ("limit=abc", "limit"), ("active=maybe", "active"),
    ("cursor=-1", "cursor"), ("client_id=1&client_id=2", "client_id"), ("colour=red", "colour"),
    ("expiring_within_days=99999", "expiring_within_days"),
]
MISSING = ["/clients/999", "/authorizations/999", "/notes/999", "/clients/0",
           "/notes/99999999999999", "/nothing/here", "/notes/1/x%0Ay",
           "/clients/999/usable-authorizations?service_date=2026-01-01"]


def test_malformed_query_parameters_are_400_naming_them(admin):
    for query, field in BAD_QUERIES:
        response = admin.get("/authorizations?" + query)
        assert response.status_code == 400, query
        assert field in response.get_json()["error"]["fields"], query


def test_missing_things_are_404_and_wrong_methods_405_in_json(admin):
    for path in MISSING:
        response = admin.get(path)
        assert response.status_code == 404, path
        assert response.get_json()["error"]["code"] == "not_found", path
    for method, path, allowed in [("PUT", "/authorizations", "GET, POST"),
                                  ("DELETE", "/clients/1", "GET"),
                                  ("GET", "/notes/1/release", "POST")]:
        response = admin.request(method, path)
        assert (response.status_code, response.headers["Allow"]) == (405, allowed), path
        assert response.get_json()["error"]["code"] == "method_not_allowed"


def test_usable_authorizations_follow_rule_6_and_the_default(api, make, session, users):
    client = make.client("Usable")
    other = make.provider("Other")
    make.auth(client, "90834", today=TODAY, is_default=True)
    make.auth(client, "90837", today=TODAY, specific_provider_id=other.id)
    make.auth(client, "90853", today=TODAY, exclude_from_notes=True)
    free = make.auth(client, "H2019", today=TODAY, unmanaged=True)
    session.commit()
    provider = api("provider")  # defaults to the token user's provider
    body = provider.get(f"/clients/{client.id}/usable-authorizations?service_date={day(0)}"
                        ).get_json()
    assert body["provider_id"] == users["provider_id"]
    assert {i["billing_code"]: i["available_units"] for i in body["items"]} == {
        "90834": 10, "H2019": None}
    assert body["default_authorization_id"] == next(
        i["authorization_id"] for i in body["items"] if i["billing_code"] == "90834")
    as_other = provider.get(f"/clients/{client.id}/usable-authorizations"
                            f"?service_date={day(0)}&provider_id={other.id}").get_json()
    assert {i["billing_code"] for i in as_other["items"]} == {"90834", "90837", "H2019"}
    later = provider.get(f"/clients/{client.id}/usable-authorizations?service_date={day(365)}"
                         ).get_json()
    assert later["items"] == [] and later["default_authorization_id"] is None
    assert any(free.auth_number in r and "ended on" in r for r in later["reasons"])


def test_alerts_are_those_the_users_profile_receives(api, make, session):
    client = make.client("Alerted")
    low = make.auth(client, "90834", today=TODAY, allotted_units=10, remaining_units=2,
                    unit_alert_level=3)
    make.auth(client, "90837", today=TODAY, unit_alert_level=3)  # plenty left: no alert
    session.commit()
    items = api("billing").get("/alerts").get_json()["items"]
    assert [(i["kind"], i["auth_number"], i["acknowledged"]) for i in items] == [
        ("units", low.auth_number, False)]
    # A profile narrowed to one division receives only that division's clients' alerts.
    division = Division(name="North")
    session.add(division)
    session.flush()
    billing = session.scalar(sa.select(Profile).where(Profile.name == "Billing"))
    billing.alert_division_id = division.id
    session.commit()
    assert api("billing").get("/alerts").get_json()["items"] == []
    session.get(Client, client.id).division_id = division.id
    session.commit()
    assert len(api("billing").get("/alerts").get_json()["items"]) == 1
