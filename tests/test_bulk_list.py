"""Clients → Authorizations (and Clients → Clients): Bulk Add for the ticked rows' clients or
every client matching the filter; Update Codes Listed on every auth the filter matches on ALL
pages — the filter rebuilt on the server at each step, ticked ids never trusted alone."""
import re
from urllib.parse import urlencode

import pytest
import sqlalchemy as sa

from bulk_support import (TABLES, add_form, auths_of, batch_id_of, batches, count_of, day,
                          iso, press, records_of, text, therapy_group, update_form)
from console_data import listed_count, listed_ids
from hostile import database_state
from rules.clock import clinic_today

LIST = "/console/authorizations/"
BULK = "/console/bulk/list/authorizations/"


def list_view(app, endpoint="authorizations"):
    [admin] = app.extensions["admin"]
    return next(v for v in admin._views if v.endpoint == endpoint)


@pytest.fixture
def payers(session, make):
    return make.payer("Aetna"), make.payer("BCBS")


def _client_with_auth(make, name, payer, other=None, **auth):
    client = make.client(name, payers=[payer] + ([other] if other else []))
    make.auth(client, "90834", today=clinic_today(), start_date=day(-10), end_date=day(50),
              **auth)
    return client


def _follow_action(support, rowids, list_query):
    """Tick rows, "With selected → Bulk Add or Update…": where the list sends the user."""
    response = support.post(LIST + "action/", {"action": "bulk", "rowid": rowids,
                                               "url": LIST + "?" + list_query})
    assert response.status_code == 302
    return response.headers["Location"]


def test_bulk_add_for_the_ticked_rows_clients(web, session, make, payers):
    aetna, _ = payers
    clients = [_client_with_auth(make, f"Ticked{i}", aetna) for i in range(3)]
    group = therapy_group(session, make)
    session.commit()
    support = web("support")
    listing = support.get(LIST)
    body = listing.get_data(as_text=True)
    assert 'class="action-checkbox"' in body and "Bulk Add or Update" in body
    ticked = [a.id for a in auths_of(session, clients[0], clients[1])]
    form_url = _follow_action(support, ticked, "")
    form = support.get(form_url)
    assert "the clients of the 2 ticked rows — 2 clients" in text(form)
    assert "every client matching this filter (all pages) — 3 clients" in text(form)
    before = database_state(session, TABLES)
    confirm = support.post(BULK, {**add_form(group.id), **_carried(form), "clients": "ticked",
                                  "op": "add"})
    assert confirm.status_code == 200
    assert count_of(confirm, "bulk-clients") == 2 and count_of(confirm, "bulk-count") == 8
    assert database_state(session, TABLES) == before  # the dry run left nothing behind
    done = press(support, BULK, confirm, "apply_add")
    assert done.status_code == 302
    added = {(a.client_id, a.billing_code.code) for a in auths_of(session)
             if a.allotted_units == 20}  # the clients' own auths have 10
    assert added == {(c.id, code) for c in clients[:2]
                     for code in ("90832", "90834", "90837", "90853")}
    [batch] = batches(session, "bulk_add")
    assert batch.row_count == 8 and len(records_of(session, batch.id)) == 8


def _carried(page) -> dict:
    """The hidden fields (list_args, ticked) of a bulk form page."""
    found = dict(re.findall(r'<input type="hidden" name="(list_args|ticked)" value="([^"]*)">',
                            page.get_data(as_text=True)))
    return {k: v.replace("&amp;", "&") for k, v in found.items()}


def test_bulk_add_for_every_client_matching_the_filter(web, session, make, payers):
    aetna, bcbs = payers
    insured = [_client_with_auth(make, f"Aetna{i}", aetna, insurance_company_id=aetna.id)
               for i in range(3)]
    others = [_client_with_auth(make, f"Bcbs{i}", bcbs, insurance_company_id=bcbs.id)
              for i in range(2)]
    group = therapy_group(session, make)
    session.commit()
    support = web("support")
    query = urlencode({"payer": aetna.id})
    form = support.get(BULK + "?" + query)
    assert "Insurance Company: Aetna" in text(form)
    assert "every client matching this filter (all pages) — 3 clients" in text(form)
    # a forged tick of another client's auth is narrowed by the filter, never trusted alone
    forged = auths_of(session, others[0])[0].id
    data = {**add_form(group.id, insurance_company_id=str(aetna.id)), "list_args": query,
            "ticked": str(forged), "clients": "ticked", "op": "add"}
    refused = support.post(BULK, data)
    assert refused.status_code == 422 and "No client is chosen" in text(refused)
    confirm = support.post(BULK, {**data, "ticked": "", "clients": "all"})
    assert count_of(confirm, "bulk-clients") == 3 and count_of(confirm, "bulk-count") == 12
    for c in insured:
        assert c.last_name in text(confirm)
    done = press(support, BULK, confirm, "apply_add")
    assert done.status_code == 302
    new = [a for a in auths_of(session) if a.allotted_units == 20]
    assert {a.client_id for a in new} == {c.id for c in insured}
    assert len(new) == 12 and {a.insurance_company_id for a in new} == {aetna.id}


def test_bulk_add_refuses_clients_that_cannot_take_the_auths_and_adds_nothing(
        web, session, make, payers):
    aetna, bcbs = payers
    _client_with_auth(make, "Insured", aetna, insurance_company_id=aetna.id)
    _client_with_auth(make, "Bare", bcbs)  # Aetna is not on file
    group = therapy_group(session, make)
    session.commit()
    before = database_state(session, TABLES)
    response = web("support").post(BULK, {
        **add_form(group.id, insurance_company_id=str(aetna.id)),
        "list_args": "", "clients": "all", "op": "add"})
    assert response.status_code == 422
    body = text(response)
    assert "Nothing was added: 1 of the 2 clients cannot take these authorizations" in body
    assert "Bare, Alex: Aetna is not one of the client's payers on file" in body
    assert database_state(session, TABLES) == before


def test_the_clients_confirmed_must_still_be_those_chosen(web, session, make, payers):
    aetna, _ = payers
    for i in range(2):
        _client_with_auth(make, f"Client{i}", aetna, insurance_company_id=aetna.id)
    group = therapy_group(session, make)
    session.commit()
    support = web("support")
    confirm = support.post(BULK, {**add_form(group.id), "clients": "all", "op": "add",
                                  "list_args": urlencode({"payer": aetna.id})})
    assert count_of(confirm, "bulk-clients") == 2
    _client_with_auth(make, "Late", aetna, insurance_company_id=aetna.id)
    session.commit()
    before = database_state(session, TABLES)
    stale = press(support, BULK, confirm, "apply_add")
    assert stale.status_code == 409
    assert "the clients chosen changed since you confirmed (3 now)" in text(stale)
    assert database_state(session, TABLES) == before


def test_too_many_clients_are_refused(web, session, make, payers, monkeypatch):
    from admin_views import bulk

    monkeypatch.setattr(bulk, "MAX_CLIENTS", 2)
    for i in range(3):
        _client_with_auth(make, f"Client{i}", payers[0])
    group = therapy_group(session, make)
    session.commit()
    response = web("support").post(BULK, {**add_form(group.id), "clients": "all",
                                          "op": "add", "list_args": ""})
    assert response.status_code == 422
    assert "3 clients match: Bulk Add takes at most 2 clients at a time" in text(response)


def test_update_codes_listed_reaches_every_page_of_the_filter(app, web, session, make, payers,
                                                             monkeypatch):
    aetna, bcbs = payers
    monkeypatch.setattr(list_view(app), "page_size", 3)
    matching = [_client_with_auth(make, f"Match{i:02}", aetna, insurance_company_id=aetna.id,
                                  allotted_units=8) for i in range(8)]
    others = [_client_with_auth(make, f"Other{i}", bcbs, insurance_company_id=bcbs.id,
                                allotted_units=8) for i in range(2)]
    session.commit()
    support = web("support")
    query = urlencode({"payer": aetna.id})
    page1 = support.get(LIST + "?" + query)
    assert listed_count(page1) == 8 and len(listed_ids(page1)) == 3  # 3 pages of 3
    form = support.get(BULK + "?" + query)
    assert count_of(form, "bulk-listed") == 8
    # the rows ticked on page 1 do not limit Update Codes Listed: the filter does
    confirm = support.post(BULK, {**update_form(end_date=iso(365), unit_alert_level="3"),
                                  "list_args": query, "ticked": ",".join(
                                      map(str, sorted(listed_ids(page1)))), "op": "update"})
    assert confirm.status_code == 200 and count_of(confirm, "bulk-count") == 8
    assert "Insurance Company: Aetna" in text(confirm)
    done = press(support, BULK, confirm, "apply_update")
    assert done.status_code == 302
    changed = auths_of(session, *matching)
    assert [(a.end_date, a.unit_alert_level, a.allotted_units) for a in changed] == \
        [(day(365), 3, 8)] * 8
    assert {(a.end_date, a.unit_alert_level) for a in auths_of(session, *others)} == \
        {(day(50), None)}
    assert len(records_of(session, batch_id_of(done))) == 8  # the count confirmed


def test_the_filter_is_rebuilt_on_the_server_at_the_apply_step(web, session, make, payers):
    aetna, bcbs = payers
    matching = [_client_with_auth(make, f"Match{i}", aetna, insurance_company_id=aetna.id)
                for i in range(2)]
    _client_with_auth(make, "Other", bcbs, insurance_company_id=bcbs.id)
    session.commit()
    support = web("support")
    query = urlencode({"payer": aetna.id, "page": 3, "sort": 2, "bogus": "1"})
    confirm = support.post(BULK, {**update_form(exp_alert_days="12"), "list_args": query,
                                  "op": "update"})
    assert count_of(confirm, "bulk-count") == 2
    carried = _carried(confirm)["list_args"]
    assert carried == f"payer={aetna.id}"  # only the filter travels
    done = press(support, BULK, confirm, "apply_update")
    assert done.status_code == 302
    assert {a.client_id for a in auths_of(session) if a.exp_alert_days == 12} == \
        {c.id for c in matching}


def test_bulk_add_from_the_client_list(web, session, make, payers):
    aetna, _ = payers
    new_clients = [make.client(f"New{i}", payers=[aetna]) for i in range(3)]
    make.client("Untouched", payers=[aetna])
    group = therapy_group(session, make)
    session.commit()
    support = web("support")
    listing = support.get("/console/clients/").get_data(as_text=True)
    assert 'class="action-checkbox"' in listing and "/console/bulk/list/clients/" in listing
    response = support.post("/console/clients/action/", {
        "action": "bulk", "rowid": [c.id for c in new_clients], "url": "/console/clients/"})
    form = support.get(response.headers["Location"])
    assert "the clients of the 3 ticked rows — 3 clients" in text(form)
    assert 'value="update"' not in form.get_data(as_text=True)  # a client list lists no auths
    confirm = support.post("/console/bulk/list/clients/", {
        **add_form(group.id), **_carried(form), "clients": "ticked", "op": "add"})
    assert count_of(confirm, "bulk-count") == 12
    done = press(support, "/console/bulk/list/clients/", confirm, "apply_add")
    assert done.status_code == 302
    assert {a.client_id for a in auths_of(session)} == {c.id for c in new_clients}
    update = support.post("/console/bulk/list/clients/", {**update_form(exp_alert_days="3"),
                                                          "op": "update"})
    assert update.status_code == 400


def test_the_confirmation_shows_counts_and_the_first_rows_only(app, web, session, make, payers):
    """A confirmation over many auths costs the same statements as over a few, and shows the
    first rows of the preview with the count of the rest (never every row)."""
    from extensions import db

    aetna, _ = payers
    session.commit()
    query = urlencode({"payer": aetna.id})
    support = web("support")

    def confirm_for(n):
        for i in range(n):
            _client_with_auth(make, f"Many{n}x{i:03}", aetna, insurance_company_id=aetna.id)
        session.commit()
        statements = []
        listener = lambda *args: statements.append(args[2])  # noqa: E731
        sa.event.listen(db.engine, "before_cursor_execute", listener)
        try:
            page = support.post(BULK, {**update_form(exp_alert_days=str(n)), "op": "update",
                                       "list_args": query})
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", listener)
        return page, len(statements)

    confirm_for(1)  # the first page of a login reads a few things once (alert counts)
    small, few = confirm_for(4)
    large, many = confirm_for(40)
    assert count_of(large, "bulk-count") == 45
    assert "Preview: the first 20 of 45" in text(large) and "… and 25 more." in text(large)
    assert len(re.findall(r"Many\d+x\d+", text(large))) == 20
    assert count_of(small, "bulk-count") == 5 and "more." not in text(small)
    assert many == few
