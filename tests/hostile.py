"""Hostile input for property-based tests of forms (issue 7, point 10): hypothesis strategies for
the values a careless or malicious user types, and a helper that posts a form and checks that
the answer is a clear message or a refusal — never a server error — and that the database is
exactly as it was.

Apply it to a form in four lines::

    from hypothesis import given
    from hostile import HOSTILE_SETTINGS, form_data, hostile_value, post_hostile

    @HOSTILE_SETTINGS
    @given(data=form_data({"allotted_units": hostile_value(), "start_date": hostile_date()},
                          base={"billing_code_id": "4"}))
    def test_auth_form_refuses_hostile_input(web, session, data):
        post_hostile(web_client, "/console/authorizations/new/", data, session)

(Create the logged-in client once outside the property, e.g. in a fixture: ``web("support")``
costs a password check. Fixtures are shared by every example, which is fine because a refused
post changes nothing.) ``post_hostile`` compares every table; pass ``tables=`` to narrow it or
``ignore=`` to leave out a table a refusal is meant to touch (e.g. ``users`` for failed
logins). A form that legitimately accepts some generated values should filter them with
``hypothesis.assume`` or pass ``accept=`` to tell a success from a refusal.
"""
from __future__ import annotations

import os
import re

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from conftest import snapshot_tables
from extensions import db

# -- values --------------------------------------------------------------------------------

HUGE_NUMBERS = ("2147483648", "9223372036854775808", "99999999999999999999", "1e309",
                "9" * 400, "1" + "0" * 40)
NEGATIVE_NUMBERS = ("-1", "-0", "-2147483649", "-99999999999999999999", "-0.01")
ODD_NUMBERS = ("NaN", "nan", "inf", "-Infinity", "0x10", "1_000", "1,5", "1.5", "1e3", "+5",
               " 7 ", "½", "١٢٣", "Ⅻ", "0" * 50, "")
BAD_DATES = ("0000-00-00", "2026-02-30", "2026-13-01", "2026-00-10", "99999-01-01",
             "-0001-01-01", "0001-01-01", "9999-12-31", "2026/06/15", "15/06/2026",
             "06-15-2026", "yesterday", "2026-06-15T25:00", "2026-6-1", "")
SQL_FRAGMENTS = ("' OR '1'='1", "'; DROP TABLE users; --", "1; DELETE FROM audit_records",
                 "\" OR \"\"=\"", "1 UNION SELECT password_hash FROM users", "%", "_%_",
                 "\\", "')--", "1' AND SLEEP(5)--")
HTML_FRAGMENTS = ("<script>alert(1)</script>", "\"><img src=x onerror=alert(1)>",
                  "<b>bold</b>", "javascript:alert(1)", "{{7*7}}", "{% raw %}",
                  "<svg/onload=alert(1)>", "&lt;b&gt;", "</textarea><script>x()</script>")
UNICODE = ("Zoë Ångström", "名前", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "\u202eevil", "\u200b", "a\u0301",
           "\ufeffBOM", "🙂" * 40, "ß" * 300, "\u0000nul", "line\nbreak", "tab\there")
UNKNOWN_IDS = ("0", "-1", "2147483647", "2147483648", "999999", "abc", "1 OR 1=1", "[1]",
               "1.0", "")

#: Markers of a message shown to the user (Bootstrap alerts and field errors).
MESSAGE = re.compile(r'class="[^"]*(alert-danger|alert-warning|invalid-feedback|help-block)')
REFUSALS = frozenset({400, 401, 403, 404, 405, 409, 413, 422, 429})

#: 25 examples per property in the suite (fast, and the same ones every run); for a deeper,
#: random search run e.g. ``HOSTILE_EXAMPLES=500 pytest tests/test_security_hostile.py``.
_DEEP = int(os.environ.get("HOSTILE_EXAMPLES", "0"))
HOSTILE_SETTINGS = settings(
    max_examples=_DEEP or 25, deadline=None, derandomize=not _DEEP, database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def hostile_number():
    return st.one_of(st.sampled_from(HUGE_NUMBERS + NEGATIVE_NUMBERS + ODD_NUMBERS),
                     st.integers(min_value=-(10**30), max_value=10**30).map(str))


def hostile_date():
    return st.one_of(st.sampled_from(BAD_DATES),
                     st.dates().map(lambda d: d.isoformat()),
                     st.from_regex(r"\A-?\d{1,6}-\d{1,3}-\d{1,3}\Z"))


def hostile_text(max_size: int = 300):
    return st.one_of(st.sampled_from(SQL_FRAGMENTS + HTML_FRAGMENTS + UNICODE),
                     st.text(max_size=max_size))


def hostile_id():
    return st.one_of(st.sampled_from(UNKNOWN_IDS),
                     st.integers(min_value=-(2**70), max_value=2**70).map(str))


def hostile_value():
    """Anything: a number, date, id or text that a form should refuse or store as text."""
    return st.one_of(hostile_number(), hostile_date(), hostile_id(), hostile_text())


MISSING = object()


def form_data(fields: dict, *, base: dict | None = None, may_omit: bool = True,
              extra_fields: bool = True):
    """Form posts: each of ``fields`` (name → strategy) takes a generated value or, when
    ``may_omit``, is left out altogether; ``base`` values are sent as they are (unless
    overridden); sometimes an unknown field is added."""
    def build(draw):
        data = dict(base or {})
        for name, strategy in fields.items():
            value = draw(st.one_of(strategy, st.just(MISSING)) if may_omit else strategy)
            if value is MISSING:
                data.pop(name, None)
            else:
                data[name] = value
        if extra_fields and draw(st.booleans()):
            data[draw(st.sampled_from(("id", "version", "active", "is_admin",
                                       "password_hash", "__proto__")))] = draw(hostile_value())
        return data

    return st.composite(lambda draw: build(draw))()


# -- checks --------------------------------------------------------------------------------

def all_tables() -> list[str]:
    return [t.name for t in db.metadata.sorted_tables]


def database_state(session, tables=None, ignore=()) -> dict:
    session.rollback()  # a fresh view: SQLite would otherwise keep showing an old snapshot
    names = [t for t in (tables or all_tables()) if t not in set(ignore)]
    state = snapshot_tables(session, *names)
    session.rollback()
    return state


_TAGS = tuple(f for f in HTML_FRAGMENTS if "<" in f)


def shows_html_as_text(body: str, data: dict) -> list[str]:
    """The HTML fragments typed into fields that came back as live HTML, not escaped text."""
    return [value for value in data.values() if isinstance(value, str)
            and any(tag in value for tag in _TAGS) and value in body]


def check_answer(response, data: dict, *, accept=None, redirect_ok: bool = False) -> str:
    """A refusal (4xx) or a page with a visible message; never a 5xx; HTML shown as text.
    Returns "refused" or "accepted" (when ``accept(response)`` says the post succeeded).
    With ``redirect_ok`` a redirect also counts as a refusal (the database must then be
    unchanged too), for forms that send some requests elsewhere."""
    status = response.status_code
    assert status < 500, f"server error {status} for {data!r}"
    body = response.get_data(as_text=True) if response.mimetype == "text/html" else ""
    leaked = shows_html_as_text(body, data)
    assert not leaked, f"HTML typed into a field came back unescaped: {leaked!r}"
    if accept is not None and accept(response):
        return "accepted"
    if status in REFUSALS or (redirect_ok and 300 <= status < 400):
        return "refused"
    assert status == 200 and MESSAGE.search(body), (
        f"neither a refusal nor a message (status {status}) for {data!r}")
    return "refused"


def post_hostile(client, url: str, data: dict, session, *, tables=None, ignore=(),
                 accept=None, redirect_ok: bool = False, method: str = "post") -> str:
    """Send ``data`` to ``url`` with ``client`` (a conftest.WebClient) and check the answer
    (see :func:`check_answer`) and, unless a post was accepted, that no table changed (a GET
    never changes anything)."""
    before = database_state(session, tables, ignore)
    if method == "post":
        response = client.post(url, data)
    else:
        response = client.get(url, query_string=data)
    outcome = check_answer(response, data, accept=accept, redirect_ok=redirect_ok)
    if outcome == "refused" or method != "post":
        after = database_state(session, tables, ignore)
        changed = [t for t in before if before[t] != after[t]]
        assert not changed, f"a refused post changed {changed} for {data!r}"
    return outcome
