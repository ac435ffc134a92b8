"""Clients → Authorizations, the master list: each filter returns exactly the right rows of a
known practice, search, expired auths hidden unless asked for, a SQL statement count that does
not grow with the page size, and a CSV export of exactly the filtered rows."""
import csv
import datetime as dt
import io

import pytest
import sqlalchemy as sa

from console_data import database, listed_count, listed_ids, practice_in
from extensions import db
from rules.csv_io import COLUMN_NAMES

URL = "/console/authorizations/"


@pytest.fixture
def practice(app, users):
    return practice_in(app)


def shown(web_client, practice, query) -> set[str]:
    """The names (a1…a6) of the auths the master list shows for this query string."""
    response = web_client.get(URL + "?" + query)
    assert response.status_code == 200
    ids = listed_ids(response)
    assert listed_count(response) == len(ids)  # the count query agrees with the rows
    return {name for name, auth_id in practice.auths().items() if auth_id in ids}


def iso(practice, days):
    return (practice.today + dt.timedelta(days=days)).isoformat()


def test_expired_auths_are_hidden_unless_asked_for(web, practice):
    billing = web("billing")
    assert shown(billing, practice, "") == {"a1", "a2", "a4", "a5", "a6"}
    assert shown(billing, practice, "expired=1") == {"a1", "a2", "a3", "a4", "a5", "a6"}
    assert "Expired authorizations are hidden" in billing.get(URL).get_data(as_text=True)


def test_filter_division(web, practice):
    assert shown(web("billing"), practice, f"division={practice.ids['north']}") == \
        {"a1", "a2", "a5", "a6"}


def test_filter_insurance_company_is_the_payer_of_the_claim(web, practice):
    billing = web("billing")
    # a1 names no payer: its client's primary payer (Aetna) pays it (rule 8).
    assert shown(billing, practice, f"payer={practice.ids['aetna']}") == {"a1"}
    assert shown(billing, practice, f"payer={practice.ids['bcbs']}") == {"a2", "a4"}
    assert shown(billing, practice, f"payer={practice.ids['bcbs']}&expired=1") == \
        {"a2", "a3", "a4"}


def test_filter_client_group(web, practice):
    assert shown(web("billing"), practice, f"client_group={practice.ids['children']}") == \
        {"a4", "a5", "a6"}


def test_filter_user_group_of_the_primary_therapist(web, practice):
    billing = web("billing")
    assert shown(billing, practice, f"user_group={practice.ids['psychiatry']}") == \
        {"a4", "a5", "a6"}
    assert shown(billing, practice, f"user_group={practice.ids['therapists']}") == {"a1", "a2"}


def test_filter_billing_code(web, practice):
    assert shown(web("billing"), practice, f"code={practice.ids['code_90834']}") == \
        {"a1", "a4", "a6"}


def test_filter_auth_group(web, practice):
    assert shown(web("billing"), practice, f"auth_group={practice.ids['group1']}") == {"a1"}


def test_filter_provider_is_the_specific_provider_else_the_primary_therapist(web, practice):
    billing = web("billing")
    assert shown(billing, practice, f"provider={practice.ids['kim']}") == \
        {"a2", "a4", "a5", "a6"}
    # a2's client is Lee's, but a2 names Kim as its specific provider.
    assert shown(billing, practice, f"provider={practice.ids['lee']}") == {"a1"}


def test_filter_status(web, practice):
    billing = web("billing")
    assert shown(billing, practice, "status=active") == {"a1", "a2", "a5"}
    assert shown(billing, practice, "status=inactive") == {"a4", "a6"}


def test_filter_start_dates(web, practice):
    billing = web("billing")
    assert shown(billing, practice, f"start_from={iso(practice, 0)}") == {"a4"}
    assert shown(billing, practice, f"start_to={iso(practice, -15)}") == {"a1", "a6"}


def test_filter_end_dates(web, practice):
    billing = web("billing")
    assert shown(billing, practice, f"end_from={iso(practice, 60)}") == {"a1", "a4", "a5"}
    assert shown(billing, practice, f"end_to={iso(practice, 5)}") == {"a2"}


def test_filter_expiring_within_days(web, practice):
    billing = web("billing")
    assert shown(billing, practice, "expiring=7") == {"a2"}
    assert shown(billing, practice, "expiring=30") == {"a2", "a6"}


def test_filter_at_or_below_alert_level(web, practice):
    assert shown(web("billing"), practice, "low=1") == {"a2", "a6"}


def test_filters_combine_and_bad_values_are_ignored(web, practice):
    billing = web("billing")
    assert shown(billing, practice,
                 f"division={practice.ids['north']}&code={practice.ids['code_90834']}") == \
        {"a1", "a6"}
    assert shown(billing, practice, "expiring=soon&start_from=yesterday&division=x") == \
        {"a1", "a2", "a4", "a5", "a6"}


def test_search_by_client_name_prefix_and_auth_number(web, practice):
    billing = web("billing")
    assert shown(billing, practice, "search=adam") == {"a1", "a2", "a5", "a6"}
    assert shown(billing, practice, "search=Adams,+A") == {"a1", "a2"}
    assert shown(billing, practice, "search=dams") == set()  # a prefix, not a substring
    assert shown(billing, practice, "search=bcbs-77") == {"a4"}
    assert shown(billing, practice, "search=100%25") == set()


def test_sorting_and_page_size(web, practice):
    billing = web("billing")
    page = billing.get(URL + "?expired=1&sort=0").get_data(as_text=True)  # by client name
    order = [page.index(f'data-id="{practice.ids[n]}"') for n in ("a1", "a5", "a3")]
    assert order == sorted(order)  # Adams, Adamson, Baker
    assert len(listed_ids(billing.get(URL + "?expired=1&page_size=20"))) == 6


def test_the_list_shows_utilization_and_the_clients_primary_therapist_and_dob(web, practice):
    page = web("provider").get(URL + f"?search=adams").get_data(as_text=True)
    assert "Adams, Amy" in page and "1990-01-01" in page and "Marcus Lee" in page
    assert "7 of 10 used" in page and "70%" in page  # a2: allotted 10, remaining 3


def count_statements(app, fetch):
    statements = []

    def record(conn, cursor, statement, *args):
        statements.append(statement)

    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        response = fetch()
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)
    assert response.status_code == 200
    return statements


def test_statement_count_does_not_grow_with_the_page_size(app, web):
    with database(app) as (session, make):
        therapists = [make.provider(f"T{i}") for i in range(5)]
        payers = [make.payer(f"P{i}") for i in range(3)]
        for i in range(35):
            client = make.client(f"C{i:02d}", payers=(payers[i % 3],),
                                 primary_therapist_id=therapists[i % 5].id)
            for code in ("90832", "90834", "90837"):
                make.auth(client, code, today=dt.date.today(), start_date=dt.date.today(),
                          specific_provider_id=therapists[(i + 1) % 5].id)
        session.commit()
    support = web("support")
    small = count_statements(app, lambda: support.get(URL + "?page_size=20"))
    large = count_statements(app, lambda: support.get(URL + "?page_size=100"))
    assert len(listed_ids(support.get(URL + "?page_size=100"))) == 100
    assert len(small) == len(large), (small, large)
    assert sum("count(" in s.lower() for s in large) == 1  # one count query


def exported(response) -> list[dict]:
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert tuple(rows[0]) == COLUMN_NAMES
    return [dict(zip(rows[0], r)) for r in rows[1:]]


def test_export_contains_exactly_the_filtered_rows(web, practice):
    billing = web("billing")
    rows = exported(billing.get(URL + f"export/csv/?division={practice.ids['north']}"))
    assert practice.auth_names(r["auth_number"] for r in rows) == {"a1", "a2", "a5", "a6"}
    everything = exported(billing.get(URL + "export/csv/?expired=1"))
    assert practice.auth_names(r["auth_number"] for r in everything) == \
        {"a1", "a2", "a3", "a4", "a5", "a6"}
    a2 = next(r for r in rows if r["auth_number"] == "AUTH-TWO")
    assert (a2["client_last_name"], a2["billing_code"], a2["remaining_units"],
            a2["insurance_company"]) == ("Adams", "90837", "3", "BCBS")
    searched = exported(billing.get(URL + "export/csv/?search=baker&expired=1"))
    assert practice.auth_names(r["auth_number"] for r in searched) == {"a3", "a4"}


def test_export_is_refused_without_the_export_permission(web, practice):
    assert web("provider").get(URL + "export/csv/").status_code == 403


def test_a_huge_list_says_more_than_the_cap_and_pages_with_next(web, practice, monkeypatch):
    from admin_views.authorizations import AuthorizationListView

    monkeypatch.setattr(AuthorizationListView, "count_cap", 3)
    billing = web("billing")
    page = billing.get(URL + "?page_size=20").get_data(as_text=True)
    assert "List (3+)" in page and len(listed_ids(billing.get(URL))) == 5
    assert shown(billing, practice, f"division={practice.ids['south']}") == {"a4"}  # exact
