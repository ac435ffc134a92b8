"""The console's everyday flows in a real browser, each clicked as a person would: logging in
with each profile, adding an authorization on a client chart, filtering the master list, writing
and releasing a note (units drop on every auth of its group), an alert opening and closing, a
note refused for lack of units, logging out. The screenshots of the README come from here.

Every test works on its own demo client (below), so the tests pass in any order and on any
worker; what the screens should show is read from the server's database when the demo data
decides it (tests/browser/demo.py)."""
from __future__ import annotations

import datetime as dt
import re

import pytest

from .console import DEMO_PASSWORD, DESKTOP, PHONE
from .demo import (ALERT_CLIENT, GRID_CLIENT, NEW_AUTH_CLIENT, NOTE_GROUP_CLIENT, SHORT_CLIENT,
                   auths_of, client_id)

pytestmark = pytest.mark.browser

MENUS = {
    "admin": {"Clients": ["Clients", "Authorizations", "Import authorizations"], "Notes": [],
              "Alerts": [],
              "Financial": ["Billing Codes", "Billing Code Groups", "Insurance Companies"],
              "Administration": ["Pick List Management", "Users", "Profiles", "Providers"],
              "Audit": ["Audit trail"], "My account": ["Change password", "API tokens"]},
    "support": {"Clients": ["Clients", "Authorizations", "Import authorizations"], "Notes": [],
                "Alerts": [], "My account": ["Change password", "API tokens"]},
    "billing": {"Clients": ["Clients", "Authorizations"], "Notes": [], "Alerts": [],
                "My account": ["Change password", "API tokens"]},
    "provider": {"Clients": ["Clients", "Authorizations"], "Notes": [],
                 "My account": ["Change password", "API tokens"]},
}
PROFILES = {"admin": "Avery Admin · Administrator", "support": "Sam Support · Support Staff",
            "billing": "Blair Billing · Billing", "provider": "Dana Reyes · Provider"}
#: A screen outside the profile's menu, which it must not open by its address either.
FORBIDDEN = {"admin": None, "support": "/console/audit/", "billing": "/console/picklists/",
             "provider": "/console/alerts/"}


# --- logging in ---------------------------------------------------------------------------------

@pytest.mark.parametrize("role", list(MENUS))
def test_each_profile_logs_in_and_sees_only_its_menu(console, role):
    c = console()
    c.login(role)
    assert c.page.url.endswith("/console/")
    assert PROFILES[role] in c.text("nav.navbar")
    assert c.menu() == MENUS[role]
    # The drop-downs open on a click and lead where they say.
    c.go("Clients", "Authorizations")
    assert c.page.get_by_role("heading", name="Authorizations").is_visible()
    if FORBIDDEN[role]:
        c.open(FORBIDDEN[role], status=403)


def test_a_wrong_password_is_refused_with_a_message(console):
    c = console()
    c.open("/login")
    c.fill({"Username": "support", "Password": "not-the-password"})
    c.submit("Log in")
    assert c.flashes("danger") == ["Unknown username or wrong password."]
    assert c.page.url.split("?")[0].endswith("/login")


def test_logging_out_ends_the_session(console, logins):
    c = console()
    c.login("billing")
    cookies = c.page.context.storage_state()  # what a copied or stolen cookie would carry
    c.logout()
    logins.forget("billing")  # logging out ends every session of that user
    assert c.flashes("info") == ["You have been logged out."]
    assert c.page.get_by_role("button", name="Log in").is_visible()
    old = c.page.context.browser.new_context(storage_state=cookies)
    try:
        page = old.new_page()
        page.goto(c.url("/console/"))
        assert "/login" in page.url  # the old session cookie no longer opens the console
    finally:
        old.close()
    c.open("/console/alerts/")  # the console asks to log in again, then goes where asked
    assert c.page.get_by_role("button", name="Log in").is_visible()
    c.fill({"Username": "billing", "Password": DEMO_PASSWORD})
    c.submit("Log in")
    assert c.page.url.endswith("/console/alerts/")
    c.logout()


# --- authorizations --------------------------------------------------------------------------

def test_an_authorization_added_on_the_chart_shows_in_the_master_list(console, live_server):
    name = ", ".join(NEW_AUTH_CLIENT)
    c = console("support")
    c.go("Clients", "Clients")
    c.page.get_by_placeholder("Last name, first name").fill(name[:8].lower())
    c.submit("Search")
    c.follow(name)
    assert c.page.get_by_role("heading", name=name).is_visible()
    assert "active" in c.page.get_by_role("tab", name="Authorizations").get_attribute("class")

    today = dt.date.today()
    start, end = today - dt.timedelta(days=20), today + dt.timedelta(days=100)
    c.fill({"Auth #, new line 1": "UHC-55120", "Billing Code, new line 1": "90791",
            "Start Date, new line 1": start.isoformat(), "End Date, new line 1": end.isoformat(),
            "Allotted Units, new line 1": "6", "Unit Alert Level, new line 1": "2",
            "Exp. Alert Days, new line 1": "14"})
    c.submit("Save authorizations")
    assert c.flashes("success") == ["Saved 1 authorization line."]
    assert c.field("Billing Code, UHC-55120").input_value() != ""

    rows = c.master_list(search="UHC-55120")
    assert [(r["Client"], r["Code"], r["Auth #"], r["Start"], r["End"], r["Allotted Units"],
             r["Remaining Units"], r["Pending"], r["Active"]) for r in rows] == [
        (name, "90791", "UHC-55120", start.isoformat(), end.isoformat(), "6", "6", "0",
         "Yes")]


def test_a_refused_chart_save_names_the_line_and_saves_nothing(console, live_server):
    [existing] = auths_of(live_server, GRID_CLIENT)
    assert re.fullmatch(r"A-\d+", existing.auth_number), "a generated number"
    c = console("support")
    c.open(f"/console/clients/chart/{client_id(live_server, GRID_CLIENT)}/")
    c.fill({"Allotted Units, new line 1": "5"})  # no code, no dates
    c.submit("Save authorizations")
    assert c.flashes("danger") == [
        "Nothing was saved: correct the lines marked below.",
        "new line 1 — Billing Code: is required", "new line 1 — Start Date: is required",
        "new line 1 — End Date: is required"]
    assert auths_of(live_server, GRID_CLIENT) == [existing]
    # The grid comes back as typed, the bad line marked; the other line is as it was.
    assert c.field("Allotted Units, new line 1").input_value() == "5"
    assert c.field("Billing Code, new line 1").evaluate(
        "el => el.classList.contains('is-invalid')")
    line = c.page.locator(f"#line-a{existing.id}")
    assert line.locator("td").first.inner_text().strip() == existing.auth_number
    assert c.field(f"Auth #, {existing.auth_number}").count() == 0  # generated: not editable

    today = dt.date.today()
    c.fill({"Billing Code, new line 1": "90791",
            "Start Date, new line 1": today.isoformat(),
            "End Date, new line 1": (today + dt.timedelta(days=60)).isoformat()})
    c.submit("Save authorizations")
    assert c.flashes("success") == ["Saved 1 authorization line."]
    after = auths_of(live_server, GRID_CLIENT)
    assert existing in after and [(a.code, a.allotted_units) for a in after
                                  if a != existing] == [("90791", 5)]


def test_the_master_list_filters_by_billing_code_and_division(console, live_server):
    c = console("billing")
    rows = c.master_list(filters={"Billing Code": "90837", "Division": "Telehealth"})

    expected = live_server.query(
        "SELECT a.auth_number, c.last_name || ', ' || c.first_name AS client "
        "FROM authorizations a JOIN clients c ON c.id = a.client_id "
        "JOIN billing_codes b ON b.id = a.billing_code_id JOIN divisions d ON d.id = c.division_id "
        "WHERE b.code = '90837' AND d.name = 'Telehealth' AND a.end_date >= :today",
        today=dt.date.today().isoformat())
    assert len(expected) >= 2, "the demo practice should have several such auths"
    assert sorted((r["Client"], r["Auth #"]) for r in rows) == sorted(
        (e.client, e.auth_number) for e in expected)
    assert {r["Code"] for r in rows} == {"90837"}
    badges = c.text("#filter-bar .card-header")
    assert "Billing Code: 90837" in badges and "Division: Telehealth" in badges
    assert c.page.get_by_role("link", name=f"List ({len(expected)})").is_visible()
    c.screenshot("master-list-filtered")


# --- notes and units ---------------------------------------------------------------------------

def group_units(c) -> dict[str, tuple[str, str]]:
    """Code → (remaining, pending) of the 20-session group, as the master list shows them."""
    rows = c.master_list(search="BCBS-778120")
    return {r["Code"]: (r["Remaining Units"], r["Pending"]) for r in rows}


def test_a_released_note_uses_units_on_every_auth_of_its_group(console, live_server):
    c = console("admin")
    before = group_units(c)
    assert sorted(before) == ["90832", "90834", "90837", "90853"]
    assert len(set(before.values())) == 1, f"the group's auths move together: {before}"
    remaining, pending = (int(v) for v in before["90837"])

    c.go("Notes")
    c.follow("New note")
    c.fill({"Client": "hanson, m"})
    c.submit("Find client")
    c.fill({"Provider": "Reyes, Dana"})
    c.submit("Show billing codes")
    offered = [label.split(" – ")[0]
               for label in c.page.locator("#choices label").all_inner_texts()]
    # The group's four codes and the unmanaged H0031; never 96127, excluded from notes.
    assert offered == ["90832", "90834", "90837", "90853", "H0031"]
    c.page.get_by_label(re.compile(
        rf"^90837 – .* · BCBS-778120 · {remaining - pending} available")).check()
    units = int(c.field("Units").input_value())
    assert units >= 1
    c.screenshot("note-form")
    c.submit("Save draft")
    [saved] = c.flashes("success")
    assert re.fullmatch(rf"Note N-\d+ saved as a draft: {units} units? pending on BCBS-778120 "
                        r"\(90837\) and 3 auth-group siblings\.", saved), saved
    held = c.table("table.w-auto")  # the units the draft holds, on each auth of the group
    assert sorted(r["Authorization"].split(" (auth group)")[0] for r in held) == [
        f"BCBS-778120 ({code})" for code in sorted(before)]
    assert {r["Units"] for r in held} == {str(units)}

    c.submit("Release note")
    [released] = c.flashes("success")
    assert re.fullmatch(rf"Note N-\d+ released: {units} units? used on BCBS-778120 \(90837\)\.",
                        released), released
    assert c.page.get_by_text("Released", exact=True).first.is_visible()

    after = group_units(c)
    assert after == {code: (str(remaining - units), str(pending)) for code in before}


def test_a_note_needing_more_units_than_left_is_refused(console, live_server):
    [auth] = auths_of(live_server, SHORT_CLIENT, "90837")
    left = auth.remaining_units - auth.pending_units
    assert left >= 1
    c = console("provider")
    c.go("Notes")
    c.follow("New note")
    c.fill({"Client": "martinez, e"})
    c.submit("Find client")
    assert "Reyes, Dana" in c.text("#provider_name")  # a provider writes as themselves
    c.submit("Show billing codes")
    c.page.get_by_label(re.compile(rf"^90837 – .* · {auth.auth_number} · {left} available")).check()
    c.fill({"Units": str(left + 2)})
    c.submit("Save draft")
    assert c.flashes("danger") == [
        f"Authorization {auth.auth_number} (90837) has {left} units left; "
        f"this note needs {left + 2}."]
    assert c.page.get_by_role("alert").first.is_visible()
    assert c.page.locator("#override-step").count() == 0  # a provider may not override
    [unchanged] = auths_of(live_server, SHORT_CLIENT, "90837")
    assert (unchanged.remaining_units, unchanged.pending_units) == (
        auth.remaining_units, auth.pending_units)


# --- alerts ------------------------------------------------------------------------------------

def edit_remaining_units(c, auth_number: str, units: int) -> None:
    rows = c.master_list(search=auth_number)
    assert [r["Auth #"] for r in rows] == [auth_number]
    c.follow(auth_number)
    c.fill({"Remaining Units": str(units)})
    c.submit("Save")
    assert c.flashes("danger") == []


def alert_rows(c, auth_number: str) -> list[dict]:
    c.go("Alerts")
    if c.page.locator("#alerts-table").count() == 0:
        return []
    return [r for r in c.table("#alerts-table") if r["Auth #"] == auth_number]


def test_an_alert_opens_at_the_unit_alert_level_and_closes_when_units_are_added(
        console, live_server):
    [auth] = auths_of(live_server, ALERT_CLIENT, "90834")
    level = auth.unit_alert_level
    assert level and auth.remaining_units > level
    c = console("support")
    assert alert_rows(c, auth.auth_number) == []

    edit_remaining_units(c, auth.auth_number, level)
    rows = alert_rows(c, auth.auth_number)
    assert [(r["Alert"], r["Client"], r["Code"], r["Remaining"]) for r in rows] == [
        ("Low units", ", ".join(ALERT_CLIENT), "90834", str(level))]
    c.screenshot("alerts")
    c.open("/console/")
    assert int(c.text("[data-kind=units] .count")) >= 1
    c.screenshot("dashboard")

    edit_remaining_units(c, auth.auth_number, auth.remaining_units)
    assert alert_rows(c, auth.auth_number) == []


# --- what the README shows -----------------------------------------------------------------------

def test_screenshots_of_the_client_chart(console, live_server):
    """The chart of the 20-session group, wide and narrow (read-only: no flow changes it)."""
    chart = f"/console/clients/chart/{client_id(live_server, NOTE_GROUP_CLIENT)}/"
    for name, viewport in (("client-chart", DESKTOP), ("client-chart-narrow", PHONE)):
        c = console("support", viewport)
        c.open(chart)
        assert c.page.get_by_role("heading", name="Hanson, Mark").is_visible()
        assert c.page.locator("#auth-grid-form tbody.auth-line:not(.new-line)").count() == 6
        c.screenshot(name)
