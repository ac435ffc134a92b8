"""Hostile input to the Bulk Add or Update forms (tests/hostile.py): whatever is typed or
forged — numbers, dates, ids, the list's filter, ticked rows, the confirmed count, the button —
the answer is a refusal or a page with a clear message, never a server error, HTML comes back
as text, and the database is unchanged unless the post was a valid Add New Codes."""
from urllib.parse import quote

import pytest
import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st

from bulk_support import TABLES, iso, therapy_group
from hostile import (HOSTILE_SETTINGS, HTML_FRAGMENTS, SQL_FRAGMENTS, UNKNOWN_IDS, form_data,
                     hostile_date, hostile_id, hostile_number, hostile_text, hostile_value,
                     post_hostile)
from models import Authorization
from rules.bulk import apply_update
from rules.clock import clinic_today

OPS = st.sampled_from(("add", "update", "apply_update", "apply_add", "edit", "", "delete",
                       "<b>x</b>"))


@pytest.fixture
def setting(app, users, session, make):
    payer = make.payer("Aetna")
    client = make.client("Hanson", first_name="Mark", payers=[payer])
    make.auth(client, "90834", today=clinic_today(), allotted_units=10)
    make.auth(make.client("Other", payers=[payer]), "90837", today=clinic_today())
    group = therapy_group(session, make)
    result = apply_update(session, make.actor("Support Staff"),
                          sa.select(Authorization.id), {"exp_alert_days": "14"})
    session.commit()
    from conftest import WebClient

    support = WebClient(app)
    assert support.login("support").status_code == 302
    return {"web": support, "client": client.id, "group": str(group.id),
            "payer": str(payer.id), "batch": result.batch_id}


def _fields(group_id: str):
    return {"billing_code_group_id": st.one_of(st.just(group_id), hostile_id()),
            "allotted_units": hostile_number(), "remaining_units": hostile_number(),
            "unit_alert_level": hostile_number(), "exp_alert_days": hostile_number(),
            "start_date": hostile_date(), "end_date": hostile_date(),
            "unmanaged": st.one_of(st.sampled_from(("yes", "no", "n.a.")), hostile_text()),
            "auth_group_id": hostile_id(), "insurance_company_id": hostile_id(),
            "op": OPS, "expected_count": hostile_number()}


def _added(response) -> bool:
    """A valid Add New Codes (or a confirmed update) redirects to its result page."""
    return response.status_code == 302 and "/console/bulk/batch/" in response.headers.get(
        "Location", "")


@HOSTILE_SETTINGS
@given(data=st.data())
def test_the_chart_form_refuses_hostile_input(setting, session, data):
    form = data.draw(form_data(_fields(setting["group"]), base={
        "op": "add", "start_date": iso(0), "end_date": iso(30)}))
    post_hostile(setting["web"], f"/console/bulk/client/{setting['client']}/", form, session,
                 tables=TABLES, accept=_added)


@HOSTILE_SETTINGS
@given(data=st.data())
def test_the_master_list_form_refuses_hostile_input(setting, session, data):
    fields = {**_fields(setting["group"]),
              "list_args": st.one_of(hostile_text(), st.sampled_from((
                  "payer=abc&expiring=-1&end_from=2026-02-30", "search=%27%20OR%201=1--",
                  "status=active&" + "division=1&" * 300, "expired=1&low=1",
                  f"payer={setting['payer']}"))),
              "ticked": st.one_of(hostile_text(), st.lists(hostile_id(), max_size=5).map(
                  ",".join)),
              "clients": st.one_of(st.sampled_from(("all", "ticked")), hostile_text()),
              "expected_clients": hostile_number(), "clients_digest": hostile_text(40)}
    form = data.draw(form_data(fields, base={"op": "update", "exp_alert_days": "3"}))
    source = data.draw(st.sampled_from(("authorizations", "clients")))
    post_hostile(setting["web"], f"/console/bulk/list/{source}/", form, session,
                 tables=TABLES, accept=_added)


@HOSTILE_SETTINGS
@given(args=form_data({"payer": hostile_id(), "division": hostile_id(),
                       "expiring": hostile_number(), "end_from": hostile_date(),
                       "search": hostile_text(), "ticked": hostile_value()}))
def test_the_list_form_shows_for_any_filter(setting, session, args):
    post_hostile(setting["web"], "/console/bulk/list/authorizations/", args, session,
                 tables=TABLES, method="get", accept=lambda r: r.status_code == 200)


@HOSTILE_SETTINGS
@given(batch=st.sampled_from(UNKNOWN_IDS + SQL_FRAGMENTS + HTML_FRAGMENTS + ("x" * 400,)),
       skip=hostile_value())
def test_undo_refuses_unknown_batches(setting, session, batch, skip):
    url = f"/console/bulk/batch/{quote(batch, safe='')}/undo"
    post_hostile(setting["web"], url, {"skip_changed": skip, "back": batch}, session,
                 tables=TABLES)


@pytest.mark.parametrize("number", ["²", "١٢٣٤٥٦٧٨٩٠١٢", "99999999999", "-1", " ", "1e3"])
def test_carried_numbers_that_are_not_plain_digits_are_refused(setting, session, number):
    """The confirmed count, the ticked ids and the confirmed clients are read as plain ASCII
    digits only (Python's int() would take "١٢٣" and choke on "²")."""
    web, client = setting["web"], setting["client"]
    post_hostile(web, f"/console/bulk/client/{client}/", {
        "exp_alert_days": "3", "unmanaged": "n.a.", "op": "apply_update",
        "expected_count": number}, session, tables=TABLES)
    post_hostile(web, "/console/bulk/list/authorizations/", {
        "billing_code_group_id": setting["group"], "allotted_units": "4", "unmanaged": "n.a.",
        "start_date": iso(0), "end_date": iso(9), "op": "apply_add", "clients": "ticked",
        "ticked": f"{number},{number}", "expected_clients": number}, session, tables=TABLES)
