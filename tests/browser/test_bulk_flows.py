"""Bulk Add and Update Codes Listed in a real browser, as support staff click them: the master
list's filter carried to the bulk form, the confirmation with its count, the result, the undo;
ticking two clients and adding a code group to both."""
from __future__ import annotations

import datetime as dt

import pytest

from .demo import BULK_ADD_CLIENTS, client_id

pytestmark = pytest.mark.browser


def exp_days_of_code(server, code: str) -> dict[str, int | None]:
    """Auth # → Exp. Alert Days of every unexpired auth of ``code`` (what the list shows)."""
    return {r.auth_number: r.exp_alert_days for r in server.query(
        "SELECT a.auth_number, a.exp_alert_days FROM authorizations a "
        "JOIN billing_codes b ON b.id = a.billing_code_id "
        "WHERE b.code = :code AND a.end_date >= :today",
        code=code, today=dt.date.today().isoformat())}


def test_update_codes_listed_on_a_filtered_master_list_then_undo(console, live_server):
    before = exp_days_of_code(live_server, "90847")
    assert len(before) >= 2, "the demo practice should have several 90847 auths"
    c = console("support")
    rows = c.master_list(filters={"Billing Code": "90847"})
    assert sorted(r["Auth #"] for r in rows) == sorted(before)

    c.page.get_by_role("link", name="Bulk Add or Update").click()
    c.page.wait_for_load_state()
    assert c.text(".bulk-listed") == str(len(before))       # the filter came along
    c.fill({"Exp. Alert Days": "45"})
    c.submit("Update Codes Listed…")
    changing = sum(1 for days in before.values() if days != 45)
    assert c.text(".bulk-count") == str(changing)             # the confirmation's count
    assert "Exp. Alert Days" in c.text(".bulk-preview")
    c.screenshot("bulk-confirmation")
    c.submit(f"Apply to {changing} authorization{'s' if changing != 1 else ''}")
    assert c.flashes("success") == [f"Updated {changing} authorizations: Exp. Alert Days = 45."]
    assert set(exp_days_of_code(live_server, "90847").values()) == {45}

    c.page.get_by_role("link", name="Undo this bulk update…").click()
    c.page.wait_for_load_state()
    c.submit("Undo this bulk update")
    assert c.flashes("success")[0].startswith(f"Undone: {changing} authorizations")
    assert exp_days_of_code(live_server, "90847") == before


def test_bulk_add_of_a_code_group_to_two_ticked_clients(console, live_server):
    ids = [client_id(live_server, name) for name in BULK_ADD_CLIENTS]
    codes_before = {cid: {r.code for r in live_server.query(
        "SELECT b.code FROM authorizations a JOIN billing_codes b ON b.id = a.billing_code_id "
        "WHERE a.client_id = :c", c=cid)} for cid in ids}
    c = console("support")
    c.go("Clients", "Clients")
    c.page.get_by_placeholder("Last name, first name").fill("thomas")
    c.submit("Search")
    for cid in ids:
        c.page.locator(f'input.action-checkbox[value="{cid}"]').check()
    c.page.get_by_role("button", name="With selected").click()
    c.page.get_by_role("link", name="Bulk Add…").click()
    c.page.wait_for_load_state()
    start, end = dt.date.today(), dt.date.today() + dt.timedelta(days=120)
    c.fill({"Billing Code Group": "Family therapy", "Allotted Units": "8",
            "Start Date": start.isoformat(), "End Date": end.isoformat()})
    c.screenshot("bulk-form")
    c.submit("Add New Codes")
    assert "4 authorizations will be added" in c.text("body")
    c.submit("Add 4 authorizations")
    assert c.flashes("success") == ["Added 4 authorizations to 2 clients."]
    for cid in ids:
        added = live_server.query(
            "SELECT b.code, a.allotted_units, a.remaining_units, a.end_date, a.active "
            "FROM authorizations a JOIN billing_codes b ON b.id = a.billing_code_id "
            "WHERE a.client_id = :c AND b.code IN ('90846', '90847') AND a.end_date = :end",
            c=cid, end=end.isoformat())
        assert sorted((r.code, r.allotted_units, r.remaining_units, bool(r.active))
                      for r in added) == [("90846", 8, 8, True), ("90847", 8, 8, True)]
        assert codes_before[cid] <= {r.code for r in live_server.query(
            "SELECT b.code FROM authorizations a JOIN billing_codes b "
            "ON b.id = a.billing_code_id WHERE a.client_id = :c", c=cid)}
