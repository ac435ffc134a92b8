"""A person at the console, in one browser tab: the helpers every browser test uses.

``Console(page, base_url, shots)`` wraps a Playwright page and does what a user does — log in,
open a page, pick from the menu, fill a form by its labels, press a button, read the flash
messages, read a table as its headers show it, take a screenshot. Tests (and the bulk screens'
flows, later) are written with these, never with direct POSTs::

    c = console("support")                      # a fresh browser context, logged in
    rows = c.master_list(filters={"Billing Code": "90837", "Division": "Telehealth"})
    # rows: [{"Client": "Martinez, Evelyn", "Code": "90837", "Remaining Units": "3", ...}]
    c.go("Clients", "Clients")                  # the menu, as a person clicks it
    c.fill({"Allotted Units, new line 1": "6"}) # any control by its label (or aria-label)
    c.submit("Save authorizations")             # press a button, wait for the next page
    assert c.flashes("success") == ["Saved 1 authorization line."]
    c.submit("Delete this authorization", confirm=True)  # OK in the "Are you sure?" dialog
    c.screenshot("master-list")                 # test-artifacts/screenshots/master-list.png

``launch_chromium(playwright)`` starts Debian's Chromium by its path (no browser download)."""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Mapping

from playwright.sync_api import Browser, Locator, Page, Playwright

CHROMIUM = os.environ.get("AUTHDESK_CHROMIUM", "/usr/bin/chromium")
#: Known to work here (root, no GPU, no network besides 127.0.0.1). Playwright gives every
#: launch a fresh temporary profile itself (it refuses a --user-data-dir argument).
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
DESKTOP = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}
DEMO_PASSWORD = "demo-password-2026"


class ChromiumMissing(RuntimeError):
    pass


def launch_chromium(playwright: Playwright) -> Browser:
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        raise ChromiumMissing(
            f"Chromium is not installed at {CHROMIUM}. The browser tests drive Debian's "
            "chromium package: scripts/test installs it when run as root with apt-get "
            "(scripts/install-chromium: apt-get install -y chromium); or set AUTHDESK_CHROMIUM "
            "to another Chromium executable."
            + (" With CI=true the browser tests must run: install Chromium on this machine."
               if os.environ.get("CI") == "true" else ""))
    return playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                      args=CHROMIUM_ARGS)


def squash(text: str | None) -> str:
    return " ".join((text or "").split())


class Console:
    def __init__(self, page: Page, base_url: str, shots: Path):
        self.page = page
        self.base_url = base_url
        self.shots = shots

    # --- going places ---------------------------------------------------------------------

    def url(self, path: str) -> str:
        return path if path.startswith("http") else self.base_url + path

    def open(self, path: str, *, status: int = 200):
        """Go to a page by its address (as a bookmark would) and check the answer's status."""
        response = self.page.goto(self.url(path))
        assert response is not None and response.status == status, (
            f"{path} answered {response.status if response else 'nothing'}, not {status}")
        return response

    def go(self, *entries: str) -> None:
        """Pick from the menu bar: ``go("Clients", "Authorizations")`` opens the Clients menu and
        clicks Authorizations; ``go("Alerts")`` clicks a plain entry."""
        nav = self.page.locator("nav.navbar")
        toggler = nav.locator(".navbar-toggler")
        if toggler.is_visible():  # a narrow window folds the menu behind the toggler
            toggler.click()
        top = nav.locator(".navbar-nav > li > a").filter(
            has_text=re.compile(rf"^\s*{re.escape(entries[0])}\s*$"))
        if len(entries) == 1:
            with self.page.expect_navigation():
                top.click()
            return
        top.click()
        item = top.locator("xpath=..").locator(".dropdown-menu a").filter(
            has_text=re.compile(rf"^\s*{re.escape(entries[1])}\s*$"))
        with self.page.expect_navigation():
            item.click()

    def follow(self, link: str, within: Locator | None = None) -> None:
        """Click a link by its text (exactly) and wait for the page it opens."""
        with self.page.expect_navigation():
            (within or self.page).get_by_role("link", name=link, exact=True).first.click()

    def menu(self) -> dict[str, list[str]]:
        """The menu bar: each top entry with the entries of its drop-down ([] for a link)."""
        return self.page.evaluate("""() => Object.fromEntries(
            [...document.querySelectorAll('nav.navbar .navbar-nav > li')].map(li => [
              li.querySelector('a').textContent.trim(),
              [...li.querySelectorAll('.dropdown-menu a')].map(a => a.textContent.trim())]))""")

    # --- logging in and out ---------------------------------------------------------------

    def login(self, username: str, password: str = DEMO_PASSWORD) -> None:
        """Log in through the login form (with its CSRF token), as a person does."""
        self.open("/login")
        self.page.get_by_label("Username").fill(username)
        self.page.get_by_label("Password").fill(password)
        with self.page.expect_navigation():
            self.page.get_by_role("button", name="Log in").click()
        assert "/login" not in self.page.url, f"login as {username} failed: {self.flashes()}"

    def logout(self) -> None:
        with self.page.expect_navigation():
            self.page.get_by_role("button", name="Log out").click()

    # --- forms ------------------------------------------------------------------------------

    def field(self, label: str, within: Locator | None = None) -> Locator:
        """The one form control whose label (or aria-label) is exactly ``label``."""
        return (within or self.page).get_by_label(label, exact=True)

    def fill(self, fields: Mapping[str, str | bool | int], within: Locator | None = None) -> None:
        """Fill controls by their labels: text, numbers and dates (YYYY-MM-DD) are typed, a
        select is chosen by the text of its option (or its start, e.g. "90837"), a checkbox is
        ticked (True) or cleared (False)."""
        for label, value in fields.items():
            control = self.field(label, within)
            kind = control.evaluate("el => el.tagName === 'SELECT' ? 'select' : el.type")
            if kind == "checkbox":
                control.set_checked(bool(value))
            elif kind == "select":
                control.select_option(value=self._option_value(control, str(value)))
            else:
                control.fill(str(value))

    @staticmethod
    def _option_value(select: Locator, text: str) -> str:
        options = select.evaluate(
            "el => [...el.options].map(o => [o.value, o.textContent.trim()])")
        for exact in (True, False):
            for value, label in options:
                if (label == text) if exact else label.startswith(text):
                    return value
        raise AssertionError(f"no option {text!r} in {[label for _, label in options]}")

    def submit(self, button: str, within: Locator | None = None, *,
               confirm: bool = False) -> str | None:
        """Press a form's button and wait for the page it leads to. ``confirm``: the button
        asks "Are you sure?" in a browser dialog (delete, bulk actions) and the user says OK;
        returns the dialog's question. (Without it a dialog is dismissed: nothing is sent.)"""
        target = (within or self.page).get_by_role("button", name=button, exact=True)
        asked = []
        if confirm:
            def accept(dialog):
                asked.append(dialog.message)
                dialog.accept()
            self.page.once("dialog", accept)
        with self.page.expect_navigation():
            target.click()
        if confirm:
            assert asked, f"{button!r} asked for no confirmation"
            return asked[0]
        return None

    def flashes(self, category: str | None = None) -> list[str]:
        """The flash messages shown at the top of the page (``category``: success, danger,
        info, warning), as one line of text each."""
        found = self.page.evaluate("""() => [...document.querySelectorAll('.flash')].map(el => {
              const copy = el.cloneNode(true);
              copy.querySelectorAll('button').forEach(b => b.remove());
              return [el.dataset.category, copy.textContent]; })""")
        return [squash(text) for kind, text in found if category in (None, kind)]

    # --- the master list ----------------------------------------------------------------------

    def master_list(self, search: str | None = None,
                    filters: Mapping[str, str | bool | int] | None = None) -> list[dict[str, str]]:
        """Clients → Authorizations from the menu, with the filter bar's fields (by label, e.g.
        ``{"Billing Code": "90837", "Division": "Telehealth"}``) and/or a search (a client's
        name or an auth #); returns the rows shown (see :meth:`table`)."""
        self.go("Clients", "Authorizations")
        if filters:
            toggle = self.page.get_by_role("button", name="Filters")
            if toggle.get_attribute("aria-expanded") != "true":
                toggle.click()
            self.fill(filters, within=self.page.locator("#filter-bar"))
            self.submit("Apply filters")
        if search is not None:
            self.page.get_by_placeholder("Client name or auth #").fill(search)
            self.submit("Search")
        return self.table()

    # --- reading ----------------------------------------------------------------------------

    def table(self, selector: str = "table.model-list") -> list[dict[str, str]]:
        """The rows of a table as {header text: cell text} (one line of text per cell)."""
        headers, rows = self.page.locator(selector).first.evaluate("""t => [
            [...t.querySelectorAll('thead th')].map(th => th.textContent),
            [...t.querySelectorAll('tbody tr')].filter(tr => tr.cells.length > 1)
              .map(tr => [...tr.cells].map(td => td.textContent))]""")
        names = [squash(h) for h in headers]
        return [{n: squash(c) for n, c in zip(names, cells)} for cells in rows]

    def text(self, selector: str = "body") -> str:
        return squash(self.page.locator(selector).first.inner_text())

    def page_width(self) -> tuple[int, int]:
        """(width of the page's content, width of the window): scrolling sideways when the first
        is larger."""
        return tuple(self.page.evaluate(
            "[document.scrollingElement.scrollWidth, window.innerWidth]"))

    # --- pictures ---------------------------------------------------------------------------

    def screenshot(self, name: str, *, full_page: bool = False) -> Path:
        """Save what the window shows as test-artifacts/screenshots/<name>.png."""
        self.shots.mkdir(parents=True, exist_ok=True)
        path = self.shots / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=full_page)
        return path
