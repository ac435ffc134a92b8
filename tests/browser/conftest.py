"""Fixtures of the browser tests: one console server and one Chromium per test process (a
pytest-xdist worker), a fresh browser context for every test, logins remembered per profile.

- ``live_server``: the console on 127.0.0.1 (gunicorn, a fresh SQLite database with the demo
  practice); ``.url``, ``.query(sql, **params)`` to read what the database holds.
- ``console(role=None, viewport=DESKTOP)``: a :class:`console.Console` in a new browser context,
  logged in as that demo login (``"admin"``, ``"support"``, ``"billing"``, ``"provider"``) or
  anonymous (a blank tab). A logged-in console starts on the dashboard. The login happens once
  per profile through the login form; later contexts start with its cookie, as a browser that
  remembers the session. A test that logs a user out calls
  ``logins.forget(role)`` (logging out ends every session of that user).
- When a test fails, every page it opened is saved to test-artifacts/failures/.
Screenshots go to test-artifacts/screenshots/ (gitignored)."""
from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from .console import DESKTOP, ChromiumMissing, Console, launch_chromium
from .server import LiveServer

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
SCREENSHOTS = ARTIFACTS / "screenshots"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


@pytest.fixture(scope="session")
def live_server(tmp_path_factory):
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    ARTIFACTS.mkdir(exist_ok=True)
    server = LiveServer(tmp_path_factory.mktemp("console"),
                        log_path=ARTIFACTS / f"server-{worker}.log")
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def chromium():
    with sync_playwright() as playwright:
        try:
            browser = launch_chromium(playwright)
        except ChromiumMissing as exc:
            missing = str(exc)
        else:
            missing = None
            try:
                yield browser
            finally:
                browser.close()
    if missing:  # outside the except block: one clear message, no chained traceback
        pytest.fail(missing, pytrace=False)


class StaticFiles:
    """The console's static files (Bootstrap, jQuery, authdesk.css…) kept for the whole run, as a
    browser keeps them in its cache from one day to the next: each is fetched from the server
    once, then every new browser context gets it without a request. (Every request to the app,
    a static file's included, loads the user from the database: fourteen of them per page
    would make these tests several times slower on a small machine.)"""

    PATTERN = re.compile(r"^https?://[^/]+(/console)?/static/")

    def __init__(self):
        self.files: dict[str, tuple[int, dict, bytes]] = {}

    def serve(self, route) -> None:
        url = route.request.url
        if url in self.files:
            status, headers, body = self.files[url]
            route.fulfill(status=status, headers=headers, body=body)
            return
        response = route.fetch()
        if response.status == 200:  # kept without its cookie (that context's session)
            headers = {k: v for k, v in response.headers.items() if k.lower() != "set-cookie"}
            self.files[url] = (200, headers, response.body())
        route.fulfill(response=response)

    def attach(self, context) -> None:
        context.route(self.PATTERN, self.serve)


STATIC = StaticFiles()


class Logins:
    """The cookies of one login per demo profile, made once through the login form."""

    def __init__(self, browser, server):
        self.browser, self.server, self.states = browser, server, {}

    def state(self, role: str) -> dict:
        if role not in self.states:
            context = self.browser.new_context(viewport=DESKTOP)
            STATIC.attach(context)
            try:
                Console(context.new_page(), self.server.url, SCREENSHOTS).login(role)
                self.states[role] = context.storage_state()
            finally:
                context.close()
        return self.states[role]

    def forget(self, role: str) -> None:
        self.states.pop(role, None)


@pytest.fixture(scope="session")
def logins(chromium, live_server) -> Logins:
    return Logins(chromium, live_server)


@pytest.fixture
def console(request, chromium, live_server, logins):
    contexts = []

    def open_console(role: str | None = None, viewport: dict = DESKTOP) -> Console:
        context = chromium.new_context(
            viewport=viewport, storage_state=logins.state(role) if role else None)
        context.set_default_timeout(10_000)
        STATIC.attach(context)
        contexts.append(context)
        c = Console(context.new_page(), live_server.url, SCREENSHOTS)
        if role:
            c.open("/console/")  # where a logged-in user starts: the dashboard
        return c

    yield open_console
    failed = getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed
    name = re.sub(r"[^\w.-]+", "_", request.node.name)
    for n, context in enumerate(contexts):
        if failed:
            for k, page in enumerate(context.pages):
                (ARTIFACTS / "failures").mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(ARTIFACTS / "failures" / f"{name}-{n}-{k}.png"),
                                full_page=True)
        context.close()
