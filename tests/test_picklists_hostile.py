"""Issue 7 point 10, the pick-list and financial forms: hostile values posted to every pick list
(Auth Groups, Divisions, Client Groups, User Groups: add, save — rename, reorder, (de)activate —
and delete) and to the Billing Code, Billing Code Group and Insurance Company forms (create and
edit) get a clear message or a refusal, never a server error; a refused post changes no table.
A name that is just text (unicode, SQL or HTML fragments) is a legitimate name: it is accepted,
stored as typed (trimmed) and shown as text, never as HTML."""
from __future__ import annotations

from urllib.parse import quote

import pytest
import sqlalchemy as sa
from hypothesis import event, example, given
from hypothesis import strategies as st
from markupsafe import escape

from conftest import WebClient
from hostile import (HOSTILE_SETTINGS, HTML_FRAGMENTS, MESSAGE, UNKNOWN_IDS, form_data,
                     hostile_id, hostile_number, hostile_text, post_hostile)
from models import (AuthGroup, BillingCode, BillingCodeGroup, ClientGroup, Division,
                    InsuranceCompany, UserGroup)
from rules.clock import clinic_today

PICKLISTS = "/console/picklists"
LISTS = {"auth_groups": AuthGroup, "divisions": Division, "client_groups": ClientGroup,
         "user_groups": UserGroup}
TAGS = tuple(f for f in HTML_FRAGMENTS if "<" in f)


@pytest.fixture
def world(app, users, session, make):
    """An item in every pick list, each one in use (so that no delete may succeed), and an
    administrator logged in."""
    division, group, team = Division(name="North"), ClientGroup(name="Adults"), \
        UserGroup(name="Therapists")
    session.add_all([division, group, team])
    session.flush()
    client = make.client("Hanson", division_id=division.id)
    client.client_groups = [group]
    make.provider("Lee", user_group_id=team.id)
    for auth_group in session.scalars(sa.select(AuthGroup)):
        make.auth(client, "90834", today=clinic_today(), auth_group_id=auth_group.id)
    session.commit()
    return {"admin": WebClient.logged_in(app, "admin")}


def items(session, list_key) -> list:
    session.rollback()
    model = LISTS[list_key]
    return list(session.scalars(sa.select(model).order_by(model.id)))


def shown_as_text(body: str, *values) -> None:
    for value in values:
        if value and any(tag in value for tag in TAGS):
            assert value not in body, f"{value!r} came back as HTML"
            assert str(escape(value)) in body, f"{value!r} is not shown (escaped)"


_KNOWN = st.sampled_from(sorted(LISTS))
LIST_KEYS = st.one_of(_KNOWN, _KNOWN, _KNOWN, hostile_text(40).map(
    lambda k: quote(k, safe="")).filter(lambda k: k not in LISTS and k not in ("", ".", "..")))


@HOSTILE_SETTINGS
@given(list_key=LIST_KEYS, data=form_data({"name": hostile_text(), "sort_order":
                                           st.one_of(st.just(""), hostile_number())}))
@example(list_key="divisions", data={"name": "<script>alert(1)</script>", "sort_order": "-1"})
@example(list_key="divisions", data={"name": "  north  ", "sort_order": ""})  # a duplicate
@example(list_key="user_groups", data={"name": "x" * 81})
@example(list_key="%2F%2F", data={"name": "x"})  # slashes in the list's name
def test_adding_an_item_refuses_hostile_input(world, session, list_key, data):
    before = {k: [i.id for i in items(session, k)] for k in LISTS}
    # An unknown list is not found; one whose name holds slashes ("%2F%2F") may be redirected
    # by the router to its canonical address (308): a refusal too, that changes nothing.
    outcome = post_hostile(world["admin"], f"{PICKLISTS}/{list_key}/add", data, session,
                           accept=lambda r: r.status_code == 302 and list_key in LISTS,
                           redirect_ok=list_key not in LISTS)
    event(outcome)
    if outcome == "accepted":
        [new] = [i for i in items(session, list_key) if i.id not in before[list_key]]
        assert new.name == data["name"].strip() and new.active and 0 <= new.sort_order <= 9999
        shown_as_text(world["admin"].get(f"{PICKLISTS}/").get_data(as_text=True), new.name)


@HOSTILE_SETTINGS
@given(list_key=st.sampled_from(sorted(LISTS)), data=st.data())
@example(list_key="auth_groups", data=None)
def test_saving_a_list_refuses_hostile_input(world, session, list_key, data):
    current = items(session, list_key)
    if data is None:  # a rename clashing with its neighbour, an order out of range
        form = {f"name-{current[0].id}": current[1].name.upper(),
                f"order-{current[0].id}": "99999999999999999999",
                f"active-{current[1].id}": "y", f"name-{current[1].id}": current[1].name}
    else:
        fields = {}
        for item in current:
            fields[f"name-{item.id}"] = st.one_of(st.just(item.name), hostile_text())
            fields[f"order-{item.id}"] = st.one_of(st.just(str(item.sort_order)),
                                                   hostile_number())
            fields[f"active-{item.id}"] = st.one_of(st.just("y"), hostile_text(5))
        forged = data.draw(hostile_id(), label="forged id")
        fields[f"name-{forged}"] = hostile_text()
        form = data.draw(form_data(fields))
    outcome = post_hostile(world["admin"], f"{PICKLISTS}/{list_key}/save", form, session,
                           accept=lambda r: r.status_code == 302)
    event(outcome)
    if outcome == "accepted":
        after = items(session, list_key)
        assert [i.id for i in after] == [i.id for i in current]  # nothing added or lost
        assert len({i.name.lower() for i in after}) == len(after)
        assert all(0 <= i.sort_order <= 9999 and i.name == i.name.strip() for i in after)
        shown_as_text(world["admin"].get(f"{PICKLISTS}/").get_data(as_text=True),
                      *[i.name for i in after])


@HOSTILE_SETTINGS
@given(list_key=LIST_KEYS, item_id=st.one_of(st.sampled_from(UNKNOWN_IDS + ("in use",)),
                                             hostile_id()))
@example(list_key="auth_groups", item_id="in use")
@example(list_key="divisions", item_id="99999999999999999999")
def test_deleting_refuses_unknown_items_and_items_in_use(world, session, list_key, item_id):
    """Every item is in use here: a delete is refused whatever the address."""
    if item_id == "in use":
        item_id = str(items(session, list_key)[0].id) if list_key in LISTS else "1"
    admin = world["admin"]
    event(post_hostile(admin, f"{PICKLISTS}/{list_key}/{quote(item_id, safe='')}/delete",
                       {}, session, redirect_ok=True))
    answer = admin.last_response
    if answer.status_code == 302:  # the message is on the page it redirects to
        page = admin.get(answer.headers["Location"])
        assert MESSAGE.search(page.get_data(as_text=True))


# -- Financial: billing codes, billing code groups, insurance companies ----------------------

FINANCIAL = {
    "billing-codes": (BillingCode, lambda: {
        "code": hostile_text(30), "description": hostile_text(),
        "rate": hostile_number(), "default_units": hostile_number(),
        "active": st.one_of(st.just("y"), hostile_text(5))},
        {"code": "T1234", "description": "A test code", "rate": "10.00",
         "default_units": "1", "active": "y"}, ("code", "description")),
    "billing-code-groups": (BillingCodeGroup, lambda: {
        "name": hostile_text(), "code_ids": st.lists(
            st.one_of(st.sampled_from(["1", "2"]), hostile_id()), max_size=4),
        "active": st.one_of(st.just("y"), hostile_text(5))},
        {"name": "Therapy", "code_ids": ["1", "2"], "active": "y"}, ("name",)),
    "insurance-companies": (InsuranceCompany, lambda: {
        "name": hostile_text(), "payer_id": hostile_text(60),
        "active": st.one_of(st.just("y"), hostile_text(5))},
        {"name": "Aetna", "payer_id": "60054", "active": "y"}, ("name", "payer_id")),
}


def newest(session, model):
    session.rollback()
    return session.scalar(sa.select(model).order_by(model.id.desc()).limit(1))


@HOSTILE_SETTINGS
@given(screen=st.sampled_from(sorted(FINANCIAL)), data=st.data())
@example(screen="billing-codes", data={"code": " 90834 ", "rate": "1e309",
                                       "default_units": "0"})
@example(screen="billing-code-groups", data={"name": "<b>x</b>", "code_ids": ["2147483648"]})
@example(screen="insurance-companies", data={"name": "\u202eevil", "payer_id": "x" * 41})
def test_the_financial_create_forms_refuse_hostile_input(world, session, screen, data):
    model, fields, base, texts = FINANCIAL[screen]
    form = data if isinstance(data, dict) else data.draw(form_data(fields(), base=base))
    before = newest(session, model)
    outcome = post_hostile(world["admin"], f"/console/{screen}/new/", form, session,
                           accept=lambda r: r.status_code == 302)
    event(outcome)
    if outcome == "accepted":
        row = newest(session, model)
        assert before is None or row.id > before.id
        if model is BillingCode:
            assert row.rate >= 0 and row.default_units >= 1
        body = world["admin"].get(f"/console/{screen}/edit/?id={row.id}").get_data(as_text=True)
        shown_as_text(body, *[getattr(row, t) for t in texts])


@HOSTILE_SETTINGS
@given(screen=st.sampled_from(sorted(FINANCIAL)), data=st.data())
@example(screen="billing-codes", data="99999999999999999999")
@example(screen="insurance-companies", data="²")
def test_the_financial_edit_forms_refuse_hostile_input(world, session, screen, data):
    model, fields, base, texts = FINANCIAL[screen]
    if newest(session, model) is None:  # something to edit
        assert world["admin"].post(f"/console/{screen}/new/", base).status_code == 302
    session.rollback()
    existing = {str(i) for i in session.scalars(sa.select(model.id))}
    if isinstance(data, str):
        row_id, form = data, base
    else:
        row_id = data.draw(st.one_of(st.sampled_from(sorted(existing)), hostile_id()),
                           label="id")
        form = data.draw(form_data(fields(), base=base))
    # Any existing row may be edited; an unknown id is sent back to the list with a message
    # (a redirect that changes nothing).
    outcome = post_hostile(world["admin"], f"/console/{screen}/edit/?id={quote(row_id)}", form,
                           session, redirect_ok=True,
                           accept=lambda r: r.status_code == 302 and row_id in existing)
    event(outcome)
    if outcome == "accepted":
        session.rollback()
        row = session.get(model, int(row_id))
        body = world["admin"].get(f"/console/{screen}/edit/?id={row_id}").get_data(as_text=True)
        shown_as_text(body, *[getattr(row, t) for t in texts])
