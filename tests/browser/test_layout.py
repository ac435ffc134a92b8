"""The console is comfortable at 1366×768 and in a narrow (390 px) window: no page scrolls
sideways (a wide table scrolls inside its own box, the client chart's grid stacks each line),
the chart keeps its key fields in view, forms are grouped under the clinic's labels, dates
have a date picker, numbers are right-aligned, every control has a label and the keyboard
reaches every field in order with a visible focus."""
from __future__ import annotations

import re

import pytest

from .console import DESKTOP, PHONE
from .demo import KEYBOARD_CLIENT, NOTE_GROUP_CLIENT, auths_of, client_id

pytestmark = pytest.mark.browser

SIZES = {"desktop": DESKTOP, "phone": PHONE}


def main_pages(server) -> dict[str, str]:
    hanson = client_id(server, NOTE_GROUP_CLIENT)
    [auth] = auths_of(server, KEYBOARD_CLIENT, "90834")
    [reyes] = server.query("SELECT id FROM providers WHERE last_name = 'Reyes'")
    return {
        "dashboard": "/console/",
        "master-list": "/console/authorizations/?expired=1",  # the filter bar open
        "clients": "/console/clients/",
        "client-chart": f"/console/clients/chart/{hanson}/",
        "authorization-form": "/console/authorizations/new/",
        "authorization-edit": f"/console/authorizations/edit/?id={auth.id}",
        "note-form": f"/console/notes/new/?client_id={hanson}&provider_id={reyes.id}",
        "notes": "/console/notes/",
        "alerts": "/console/alerts/",
    }


#: Form controls a person types into or picks from (not hidden, not buttons).
CONTROLS = ("input:not([type=hidden]):not([type=submit]):not([type=button]):not([type=image])"
            ":not([type=reset]), select, textarea")

#: Inputs that hold a date (service_date, n1-end_date, the filters' start_from / end_to, …).
DATES = "input:is([name*=date], [name^=start_], [name^=end_]):not([type=hidden])"

#: The visible controls among ``selector`` that have no name: a bound <label> or aria-label(ledby)
#: — or, when ``lenient``, what a screen reader also reads for a list's search box (its
#: placeholder) and a row's checkbox (its title).
UNNAMED = """([selector, lenient]) => [...document.querySelectorAll(selector)].filter(el => {
    const box = el.getBoundingClientRect();
    if (!box.width || !box.height || getComputedStyle(el).visibility === 'hidden') return false;
    return !((el.labels && el.labels.length) || el.getAttribute('aria-label')
             || el.getAttribute('aria-labelledby')
             || (lenient && el.type === 'checkbox' && el.title)
             || (lenient && el.name === 'search' && el.placeholder));
  }).map(el => el.outerHTML.slice(0, 160))"""
COUNT = "sel => document.querySelectorAll(sel).length"


@pytest.mark.parametrize("size", SIZES)
def test_no_page_scrolls_sideways(console, live_server, size):
    c = console("admin", SIZES[size])
    wide = {}
    for name, path in main_pages(live_server).items():
        c.open(path)
        content, window = c.page_width()
        if content > window:
            wide[name] = f"{content} px wide in a {window} px window"
        if size == "phone":
            c.screenshot(f"narrow-{name}", full_page=True)
    anonymous = console(viewport=SIZES[size])
    anonymous.open("/login")
    content, window = anonymous.page_width()
    if content > window:
        wide["login"] = f"{content} px wide in a {window} px window"
    assert wide == {}


#: The fields of a chart line a person must always see, by their column in the grid.
KEY_FIELDS = {"Auth #": 0, "Billing Code": 1, "End Date": 3, "Remaining Units": 5}


@pytest.mark.parametrize("size", SIZES)
def test_the_chart_grid_keeps_each_lines_key_fields_in_view(console, live_server, size):
    c = console("support", SIZES[size])
    c.open(main_pages(live_server)["client-chart"])
    window = c.page.evaluate("innerWidth")
    lines = c.page.locator("#auth-grid-form tbody.auth-line:not(.new-line)")
    assert lines.count() == 6
    cramped = []
    for i in range(lines.count()):
        cells = lines.nth(i).locator("tr:not(.table-danger)").first.locator("> td")
        for label, column in KEY_FIELDS.items():
            # The field itself (a generated Auth # is text): whole, in the window, wide enough
            # to read a date or an auth number.
            field = cells.nth(column).locator("input:not([type=hidden]), select, span").first
            box = field.bounding_box()
            text = field.evaluate("el => el.tagName === 'SPAN'")
            if box is None or box["x"] < 0 or box["x"] + box["width"] > window \
                    or (not text and box["width"] < 64):
                cramped.append(f"line {i + 1}, {label}: {box}")
    assert cramped == []
    # Narrow: each line's fields are stacked under their labels, not squeezed into columns.
    header = c.page.locator("#auth-grid-form table.auth-grid > thead")
    assert header.is_visible() == (size == "desktop")
    if size == "phone":
        labels = c.page.locator("#auth-grid-form tbody.auth-line").first.evaluate(
            "tb => [...tb.querySelector('tr').cells].map(td => "
            "getComputedStyle(td, '::before').content)")
        assert labels[:4] == ['"Auth #"', '"Billing Code"', '"Start Date"', '"End Date"']


def test_forms_dates_numbers_and_labels(console, live_server):
    """The authorization form: sections with the clinic's labels, date pickers, numbers typed
    and shown right-aligned; the chart grid, the filter bar and the note form likewise."""
    c = console("admin")
    pages = main_pages(live_server)
    c.open(pages["authorization-form"])
    sections = {legend: c.page.locator("fieldset").filter(has=c.page.locator(
        f"legend:text-is('{legend}')")) for legend in ("Client", "Authorization", "Units",
                                                        "Options")}
    for legend, fieldset in sections.items():
        assert fieldset.count() == 1, f"no section {legend}"
    expected = {
        "Authorization": ["Billing Code", "Auth #", "Start Date", "End Date", "Auth Group",
                          "Insurance Company", "Specific Provider"],
        "Units": ["Allotted Units", "Remaining Units", "Unit Alert Level", "Exp. Alert Days",
                  "Sliding Scale %"],
        "Options": ["Unmanaged (unlimited units within the dates)", "Exclude from Notes",
                    "Default", "Suspend Alerts", "Inpatient"],
    }
    for legend, labels in expected.items():
        for label in labels:
            assert c.field(label, within=sections[legend]).count() == 1, f"{legend}: {label}"
    for label in ("Start Date", "End Date"):
        assert c.field(label).get_attribute("type") == "date"
    for label in ("Allotted Units", "Remaining Units", "Unit Alert Level", "Exp. Alert Days",
                  "Sliding Scale %"):
        control = c.field(label)
        assert control.get_attribute("type") == "number", label
        assert control.evaluate("el => getComputedStyle(el).textAlign") == "right", label

    forms = {"authorization-form": "form.admin-form", "client-chart": "#auth-grid-form",
             "master-list": "#filter-bar", "note-form": "#note-who, #note-what"}
    for name, form in forms.items():
        c.open(pages[name])
        dates = c.page.locator(DATES)
        assert dates.count() >= 1, name
        assert set(dates.evaluate_all("els => els.map(e => e.type)")) == {"date"}, name
        numbers = c.page.locator("input[type=number]")
        assert set(numbers.evaluate_all(
            "els => els.map(e => getComputedStyle(e).textAlign)")) == {"right"}, name
        controls = ", ".join(f"{scope} {control}" for scope in form.split(", ")
                             for control in CONTROLS.split(", "))
        assert c.page.evaluate(COUNT, controls) >= 3, name
        assert c.page.evaluate(UNNAMED, [controls, False]) == [], name

    # Units shown in lists are right-aligned under right-aligned headers.
    for name, columns in (("master-list", ("Allotted Units", "Remaining Units", "Pending")),
                          ("alerts", ("Remaining", "Days left")),
                          ("dashboard", ("Days left", "Remaining"))):
        c.open(pages[name])
        aligned = c.page.evaluate("""names => {
            const out = {};
            for (const table of document.querySelectorAll('table')) {
              const heads = [...table.querySelectorAll('thead th')];
              heads.forEach((th, i) => {
                const name = th.textContent.trim().replace(/\\s+/g, ' ');
                if (!names.includes(name)) return;
                const cells = [...table.querySelectorAll('tbody tr')].map(tr => tr.cells[i])
                  .filter(td => td && tr_ok(td));
                out[name] = [getComputedStyle(th).textAlign,
                             ...new Set(cells.map(td => getComputedStyle(td).textAlign))];
              });
            }
            function tr_ok(td) { return td.parentElement.cells.length > 1; }
            return out; }""", list(columns))
        assert aligned == {column: ["right", "right"] for column in columns}, name


@pytest.mark.parametrize("size", SIZES)
def test_every_control_on_the_main_pages_has_a_name(console, live_server, size):
    """Screen readers announce each control by its name: a label on forms; a list's search box
    may be named by its placeholder and a row checkbox by its title."""
    c = console("admin", SIZES[size])
    unnamed = {}
    for name, path in main_pages(live_server).items():
        c.open(path)
        found = c.page.evaluate(UNNAMED, [CONTROLS, True])
        if found:
            unnamed[name] = found
    assert unnamed == {}


def focus_marked(control) -> bool:
    return control.evaluate("""el => { const s = getComputedStyle(el);
        return (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0)
               || (s.boxShadow && s.boxShadow !== 'none'); }""")


def test_the_keyboard_logs_in_and_walks_the_authorization_form_in_order(console, live_server):
    c = console()
    c.open("/login")
    page = c.page
    assert page.evaluate("document.activeElement.id") == "username"  # ready to type
    page.keyboard.type("support")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "password"
    page.keyboard.type("demo-password-2026")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.url.endswith("/console/")

    c.open(main_pages(live_server)["authorization-edit"])
    c.field("Billing Code").focus()
    visited = []
    for _ in range(60):
        name = page.evaluate("""() => { const el = document.activeElement;
            return el.labels && el.labels.length ? el.labels[0].textContent.trim()
                   : (el.textContent || el.value || el.tagName).trim(); }""")
        if not visited or visited[-1] != name:  # a date input takes Tab per part of the date
            visited.append(name)
            assert focus_marked(page.locator(":focus")), f"no visible focus on {name}"
        if name == "Save":
            break
        page.keyboard.press("Tab")
    assert visited == [
        "Billing Code", "Auth #", "Start Date", "End Date", "Auth Group", "Insurance Company",
        "Specific Provider", "Allotted Units", "Remaining Units", "Unit Alert Level",
        "Exp. Alert Days", "Sliding Scale %", "Unmanaged (unlimited units within the dates)",
        "Exclude from Notes", "Default", "Suspend Alerts", "Inpatient", "Save"]
    # Typed with the keyboard, saved with Enter.
    c.field("Unit Alert Level").fill("5")
    with page.expect_navigation():
        c.field("Unit Alert Level").press("Enter")
    assert any(re.search(r"saved", m, re.I) for m in c.flashes("success")), c.flashes()
