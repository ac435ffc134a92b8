"""Issue 7 point 10, the authorization and note forms: hostile values (huge and negative numbers,
impossible dates, unicode, SQL and HTML fragments, missing fields, forged or unknown ids) posted
to every form that creates or edits an authorization (the master list's create and edit forms,
the client chart's grid) and to the note form and its release and void buttons always get a
clear message or a refusal — never a server error — and a refused post leaves every table as it
was. What a form accepts is stored valid and comes back as text, not HTML. The pick-list and
financial forms are in tests/test_picklists_hostile.py; the harness is tests/hostile.py."""
from __future__ import annotations

import datetime as dt
import json
from urllib.parse import quote

import pytest
import sqlalchemy as sa
from hypothesis import assume, event, example, given
from hypothesis import strategies as st
from markupsafe import escape

from admin_views.base import row_id
from conftest import WebClient
from hostile import (HOSTILE_SETTINGS, HTML_FRAGMENTS, MESSAGE, MISSING, UNKNOWN_IDS, form_data,
                     hostile_date, hostile_id, hostile_number, hostile_text, post_hostile)
from models import Authorization, Client, Division, InsuranceCompany, Note
from rules.authorizations import EDITABLE_FIELDS
from rules.clock import clinic_today
from rules.notes import create_note, release_note
from rules.values import MAX_UNITS

AUTHS = "/console/authorizations"
NOTES = "/console/notes"
FLAGS = ("unmanaged", "exclude_from_notes", "is_default", "suspend_alerts", "inpatient")
TAGS = tuple(f for f in HTML_FRAGMENTS if "<" in f)


def iso(days: int) -> str:
    return (clinic_today() + dt.timedelta(days=days)).isoformat()


def hostile_form(fields: dict, base: dict):
    """Either every field hostile or left out (hostile.form_data), or one to three fields
    hostile among otherwise good values — where "one field refused, another saved" would hide."""
    @st.composite
    def few(draw):
        data = dict(base)
        for name in draw(st.lists(st.sampled_from(sorted(fields)), min_size=1, max_size=3,
                                  unique=True)):
            value = draw(st.one_of(fields[name], st.just(MISSING)))
            if value is MISSING:
                data.pop(name, None)
            else:
                data[name] = value
        return data

    return st.one_of(form_data(fields, base=base), few())


@pytest.fixture
def world(app, users, session, make):
    """Two clients (the first with two payers on file), a managed auth with plenty of units and
    an unmanaged one on the first, an auth on the second; a draft and a released note; one
    logged-in client per role."""
    t = clinic_today()
    aetna, bcbs, other_payer = make.payer("Aetna"), make.payer("BCBS"), make.payer("Cigna")
    client = make.client("Hanson", first_name="Mark", payers=[aetna, bcbs])
    other = make.client("Other", first_name="Olga", payers=[other_payer])
    managed = make.auth(client, "90834", today=t, allotted_units=1000,
                        start_date=t - dt.timedelta(days=30), end_date=t + dt.timedelta(days=60))
    unmanaged = make.auth(client, "90837", today=t, allotted_units=0, unmanaged=True,
                          start_date=t - dt.timedelta(days=30), end_date=t + dt.timedelta(days=60))
    theirs = make.auth(other, "90834", today=t, allotted_units=10)
    admin = make.actor("Administrator")
    provider_id = users["provider_id"]
    draft = create_note(session, admin, {
        "client_id": client.id, "provider_id": provider_id, "service_date": t,
        "authorization_id": managed.id, "units": 2, "comment": "first"})
    released = create_note(session, admin, {
        "client_id": client.id, "provider_id": provider_id, "service_date": t,
        "authorization_id": managed.id, "units": 3, "comment": "second"})
    session.flush()
    release_note(session, admin, released.id)
    session.commit()
    return {"client": client.id, "other": other.id, "managed": managed.id,
            "unmanaged": unmanaged.id, "theirs": theirs.id, "draft": draft.id,
            "released": released.id, "provider": provider_id,
            "aetna": aetna.id, "bcbs": bcbs.id, "cigna": other_payer.id,
            "code": make.code("90834").id,
            **{role: WebClient.logged_in(app, role) for role in ("support", "admin", "billing")}}


# -- what an accepted post must have stored -------------------------------------------------

def valid_auth(auth: Authorization) -> None:
    """What DOMAIN.md's validation guarantees of every stored authorization."""
    assert auth.start_date <= auth.end_date
    assert dt.date(1900, 1, 1) <= auth.start_date and auth.end_date <= dt.date(2199, 12, 31)
    assert 0 <= auth.remaining_units <= auth.allotted_units <= MAX_UNITS
    assert 0 <= auth.pending_units <= auth.remaining_units or auth.overdrawn
    assert auth.unit_alert_level is None or auth.unit_alert_level >= 0
    assert auth.exp_alert_days is None or auth.exp_alert_days >= 0
    assert auth.sliding_scale_pct is None or 0 <= auth.sliding_scale_pct <= 100


def shows_as_text(client: WebClient, url: str, values) -> None:
    """``url`` shows every HTML-bearing value escaped and never as live HTML."""
    body = client.get(url).get_data(as_text=True)
    for value in values:
        if isinstance(value, str) and any(tag in value for tag in TAGS):
            clean = value.strip()
            assert clean not in body, f"{clean!r} came back as HTML on {url}"
            assert str(escape(clean)) in body, f"{clean!r} is not shown (escaped) on {url}"


def newest_auth(session) -> Authorization:
    session.rollback()
    return session.scalar(sa.select(Authorization).order_by(Authorization.id.desc()).limit(1))


def _redirected(response) -> bool:
    return response.status_code == 302


# -- the authorization forms of the master list ---------------------------------------------

def auth_fields(world, *, client_field: bool):
    ids = lambda *good: st.one_of(st.sampled_from([str(g) for g in good]), hostile_id())  # noqa: E731
    fields = {
        "billing_code_id": ids(world["code"]), "auth_number": hostile_text(60),
        "start_date": hostile_date(), "end_date": hostile_date(),
        "allotted_units": hostile_number(), "remaining_units": hostile_number(),
        "unit_alert_level": hostile_number(), "exp_alert_days": hostile_number(),
        "auth_group_id": ids(1, 2), "insurance_company_id": ids(world["aetna"], world["cigna"]),
        "specific_provider_id": ids(world["provider"]),
        "sliding_scale_pct": hostile_number(),
        **{flag: st.one_of(st.just("y"), hostile_text(20)) for flag in FLAGS},
    }
    if client_field:
        fields["client"] = ids(world["client"], world["other"])
    return fields


def auth_base(world, **kw) -> dict:
    return {"billing_code_id": str(world["code"]), "start_date": iso(-1), "end_date": iso(30),
            "allotted_units": "12", **kw}


@HOSTILE_SETTINGS
@given(data=st.data())
@example(data=None)
def test_the_create_form_refuses_hostile_input(world, session, data):
    if data is None:  # every field hostile at once, the client forged
        form = auth_base(world, client="2147483648", billing_code_id="-1",
                         allotted_units="9" * 400, start_date="0000-00-00",
                         end_date="2026-02-30", auth_number="<script>alert(1)</script>",
                         sliding_scale_pct="NaN", insurance_company_id="1 OR 1=1")
    else:
        form = data.draw(hostile_form(auth_fields(world, client_field=True),
                                      auth_base(world, client=str(world["client"]))))
    before = newest_auth(session).id
    outcome = post_hostile(world["support"], f"{AUTHS}/new/", form, session,
                           accept=_redirected)
    event(outcome)
    if outcome == "accepted":
        auth = newest_auth(session)
        assert auth.id > before, "a create that redirected added no authorization"
        valid_auth(auth)
        assert str(auth.client_id) == form["client"]
        shows_as_text(world["support"], f"{AUTHS}/edit/?id={auth.id}", [form.get("auth_number")])
        shows_as_text(world["support"], f"/console/clients/chart/{auth.client_id}/",
                      [form.get("auth_number")])


def _current(session, auth_id) -> dict:
    from admin_views.forms import shown

    session.rollback()
    auth = session.get(Authorization, auth_id)
    return {f: shown(getattr(auth, f)) for f in EDITABLE_FIELDS}


@HOSTILE_SETTINGS
@given(data=st.data())
@example(data=None)
def test_the_edit_form_refuses_hostile_input(world, session, data):
    good = str(world["managed"])
    if data is None:
        auth_id, form = "99999999999999999999", {"allotted_units": "-1", "original": "{"}
    else:
        auth_id = data.draw(st.one_of(st.just(good), st.sampled_from(UNKNOWN_IDS),
                                      hostile_id()), label="id")
        base = {k: v for k, v in _current(session, world["managed"]).items() if v != ""}
        base["original"] = json.dumps(_current(session, world["managed"]))
        form = data.draw(hostile_form({**auth_fields(world, client_field=False),
                                       "original": st.one_of(hostile_text(), st.just("{}"))},
                                      base))
    session.rollback()
    existing = {str(i) for i in session.scalars(sa.select(Authorization.id))}
    # Any existing auth may be edited (the forged id may name another one); an unknown id is
    # sent back to the list with a message (a redirect that changes nothing).
    outcome = post_hostile(world["support"], f"{AUTHS}/edit/?id={quote(auth_id)}", form,
                           session, redirect_ok=True,
                           accept=lambda r: r.status_code == 302 and auth_id in existing)
    event(outcome)
    if outcome == "accepted":
        session.rollback()
        valid_auth(session.get(Authorization, int(auth_id)))
        shows_as_text(world["support"], f"{AUTHS}/edit/?id={auth_id}",
                      [form.get("auth_number")])


# -- the client chart's grid ----------------------------------------------------------------

@HOSTILE_SETTINGS
@given(data=st.data())
@example(data=None)
def test_the_chart_grid_refuses_hostile_input(world, session, data):
    if data is None:  # another client's auth forged onto this chart, a line key overflowing
        client_id = world["client"]
        form = {f"a{world['theirs']}-allotted_units": "5", "a99999999999-end_date": iso(3),
                "n1-billing_code_id": str(world["code"]), "n1-allotted_units": "1e309",
                "n1-start_date": iso(0), "n1-end_date": iso(9)}
    else:
        client_id = data.draw(st.sampled_from([world["client"], world["client"],
                                               world["other"], 0, 2**31, 10**20]))
        line = data.draw(st.one_of(
            st.sampled_from(["n1", "n2", f"a{world['managed']}", f"a{world['unmanaged']}",
                             f"a{world['theirs']}"]),
            hostile_id().map(lambda i: f"a{i}"), hostile_id().map(lambda i: f"n{i}")),
            label="line")
        fields = {f"{line}-{k}": v for k, v in auth_fields(world, client_field=False).items()}
        fields[f"{line}-delete"] = st.one_of(st.just("y"), hostile_text(10))
        fields[f"{line}-original"] = st.one_of(hostile_text(), st.just("{}"))
        base = {f"n1-billing_code_id": str(world["code"]), "n1-start_date": iso(0),
                "n1-end_date": iso(9), "n1-allotted_units": "4"} if line.startswith("n") else {}
        form = data.draw(hostile_form(fields, base))
    before = newest_auth(session).id
    outcome = post_hostile(world["support"],
                           f"/console/clients/chart/{client_id}/authorizations", form, session,
                           accept=_redirected)
    event(outcome)
    if outcome == "accepted":
        session.rollback()
        assert client_id == world["client"] or client_id == world["other"]
        for auth in session.scalars(sa.select(Authorization)):
            valid_auth(auth)
        if newest_auth(session).id > before:  # what was stored (a line key the grid does
            # not know, e.g. "n-1-…", is ignored) is shown as text
            texts = session.scalars(sa.select(Authorization.auth_number)
                                    .where(Authorization.client_id == client_id)).all()
            shows_as_text(world["support"], f"/console/clients/chart/{client_id}/", texts)


# -- the note form, release and void ---------------------------------------------------------

def note_fields(world):
    ids = lambda *good: st.one_of(st.sampled_from([str(g) for g in good]), hostile_id())  # noqa: E731
    return {"client_id": ids(world["client"], world["other"]),
            "provider_id": ids(world["provider"]),
            "service_date": hostile_date(),
            "authorization_id": ids(world["managed"], world["unmanaged"], world["theirs"]),
            "billing_code_id": ids(world["code"]),
            "units": hostile_number(), "comment": hostile_text(),
            "confirm_override": st.one_of(st.just("1"), hostile_text(5)),
            "override_reason": hostile_text()}


def note_base(world) -> dict:
    return {"client_id": str(world["client"]), "provider_id": str(world["provider"]),
            "service_date": iso(0), "authorization_id": str(world["managed"]), "units": "1"}


def newest_note(session) -> Note:
    session.rollback()
    return session.scalar(sa.select(Note).order_by(Note.id.desc()).limit(1))


def _to_note(response) -> bool:
    return response.status_code == 302 and "/console/notes/details/" in response.headers.get(
        "Location", "")


@HOSTILE_SETTINGS
@given(data=st.data())
@example(data=None)
def test_the_new_note_form_refuses_hostile_input(world, session, data):
    if data is None:
        form = {"client_id": "١", "provider_id": "99999999999999999999", "units": "9" * 40,
                "service_date": "0000-00-00", "authorization_id": "2147483648"}
    else:
        form = data.draw(hostile_form(note_fields(world), note_base(world)))
    before = newest_note(session).id
    outcome = post_hostile(world["admin"], f"{NOTES}/new/", form, session, accept=_to_note)
    event(outcome)
    if outcome == "accepted":
        note = newest_note(session)
        assert note.id > before
        assert 1 <= note.units <= MAX_UNITS and note.status == "draft"
        assert str(note.client_id) == form["client_id"].strip()
        valid_auth(session.get(Authorization, note.authorization_id))
        shows_as_text(world["admin"], f"{NOTES}/details/?id={note.id}", [form.get("comment")])


@HOSTILE_SETTINGS
@given(data=st.data())
@example(data=None)
def test_the_note_edit_form_refuses_hostile_input(world, session, data):
    good = str(world["draft"])
    if data is None:
        note_id, form = "١", {**note_base(world), "units": "3"}
    else:
        note_id = data.draw(st.one_of(st.just(good), st.just(str(world["released"])),
                                      hostile_id()), label="id")
        form = data.draw(hostile_form(note_fields(world), note_base(world)))
    # A note that is not a draft (any more) sends the user to it with a message.
    outcome = post_hostile(world["admin"], f"{NOTES}/edit/?id={quote(note_id)}", form, session,
                           redirect_ok=True,
                           accept=lambda r: _to_note(r) and note_id == good)
    event(outcome)
    session.rollback()
    note = session.get(Note, world["draft"])
    if outcome == "accepted" and note.status == "draft":
        valid_auth(note.authorization)
        shows_as_text(world["admin"], f"{NOTES}/details/?id={good}", [form.get("comment")])


def follow_message(client: WebClient, response) -> None:
    """A refusal that redirects shows its message on the page it redirects to."""
    if response is not None and response.status_code == 302:
        page = client.get(response.headers["Location"])
        assert page.status_code == 200 and MESSAGE.search(page.get_data(as_text=True))


@HOSTILE_SETTINGS
@given(note_id=st.one_of(st.sampled_from(UNKNOWN_IDS + ("١", " 1", "1e3", "²")), hostile_id()),
       which=st.sampled_from(["release", "void"]), reason=hostile_text())
@example(note_id="99999999999999999999", which="release", reason="")
@example(note_id="released", which="release", reason="<b>again</b>")
@example(note_id="draft", which="void", reason="<script>alert(1)</script>")
@example(note_id="released", which="void", reason="   ")
def test_release_and_void_refuse_unknown_or_wrong_notes(world, session, note_id, which, reason):
    """Only the draft can be released and only the released note voided (with a reason); an
    unknown, forged or wrong-state note is refused and nothing changes."""
    note_id = str(world.get(note_id, note_id)) if note_id in ("draft", "released") else note_id
    target = str(world["draft"] if which == "release" else world["released"])
    # The one legitimate post (the right note, a reason to void) is not hostile.
    assume(not (row_id(note_id) == int(target) and (which == "release" or reason.strip())))
    client = world["billing"]
    post_hostile(client, f"{NOTES}/{which}/", {"id": note_id, "reason": reason}, session,
                 redirect_ok=True)
    follow_message(client, client.last_response)


def test_the_same_forms_accept_good_input(world, session):
    """The properties' base posts are good input: each form accepts it (so a refusal above is
    the hostile values', not a broken harness — CSRF, login, URLs)."""
    support, admin, billing = world["support"], world["admin"], world["billing"]
    before = newest_auth(session).id
    created = support.post(f"{AUTHS}/new/", auth_base(world, client=str(world["client"]),
                                                      auth_number="PAYER-1"))
    assert created.status_code == 302 and newest_auth(session).auth_number == "PAYER-1"
    edited = support.post(f"{AUTHS}/edit/?id={world['managed']}",
                          {**_current(session, world["managed"]), "unit_alert_level": "7"})
    assert edited.status_code == 302
    assert session.get(Authorization, world["managed"]).unit_alert_level == 7
    grid = support.post(f"/console/clients/chart/{world['client']}/authorizations", {
        "n1-billing_code_id": str(world["code"]), "n1-start_date": iso(0),
        "n1-end_date": iso(9), "n1-allotted_units": "4"})
    assert grid.status_code == 302 and newest_auth(session).allotted_units == 4
    assert newest_auth(session).id == before + 2
    note = admin.post(f"{NOTES}/new/", note_base(world))
    assert _to_note(note) and newest_note(session).units == 1
    edit = admin.post(f"{NOTES}/edit/?id={world['draft']}", {**note_base(world), "units": "3"})
    assert _to_note(edit) and session.get(Note, world["draft"]).units == 3
    released = billing.post(f"{NOTES}/release/", {"id": world["draft"]})
    assert released.status_code == 302
    session.rollback()
    assert session.get(Note, world["draft"]).status == "released"
    voided = billing.post(f"{NOTES}/void/", {"id": world["released"], "reason": "duplicate"})
    assert voided.status_code == 302
    session.rollback()
    assert session.get(Note, world["released"]).status == "voided"


# -- HTML typed into any field is shown as text ----------------------------------------------

SCRIPT = "<script>alert(1)</script>"
IMG = "\"><img src=x onerror=alert(1)>"
SVG = "<svg/onload=alert(1)>"
BOLD = "<b>bold</b>"


def test_html_typed_into_any_field_is_shown_as_text_everywhere(app, users, session, make):
    """HTML saved through the forms — a client's names, a payer, a division, an auth group, an
    auth number, a note's comment — comes back escaped on every page that shows it: the lists,
    the chart, the note, the dashboard, the alerts, the pick lists, the audit trail."""
    admin = WebClient.logged_in(app, "admin")
    assert admin.post("/console/picklists/divisions/add", {"name": f"North {BOLD}"}) \
        .status_code == 302
    assert admin.post("/console/picklists/auth_groups/save", {
        "name-1": f"Group {SVG}", "order-1": "1", "active-1": "y",
        "name-2": "Auth Group 2", "order-2": "2", "active-2": "y"}).status_code == 302
    assert admin.post("/console/insurance-companies/new/", {
        "name": f"Payer {IMG}", "payer_id": BOLD, "active": "y"}).status_code == 302
    session.rollback()
    division = session.scalar(sa.select(Division).where(Division.name == f"North {BOLD}"))
    payer = session.scalar(sa.select(InsuranceCompany).where(InsuranceCompany.name.like("Payer %")))
    created = admin.post("/console/clients/new/", {
        "last_name": SCRIPT, "first_name": IMG, "dob": "1990-01-01", "active": "y",
        "division_id": str(division.id), "primary_therapist_id": str(users["provider_id"]),
        "payer-0-company": str(payer.id), "payer-0-member": SVG, "primary_payer": "0"})
    assert created.status_code == 302, created.get_data(as_text=True)[:3000]
    session.rollback()
    client = session.scalar(sa.select(Client).where(Client.last_name == SCRIPT))
    # Remaining 2 ≤ alert level 5: the auth is on the alerts page and the dashboard.
    assert admin.post(f"{AUTHS}/new/", {
        "client": str(client.id), "billing_code_id": "2", "start_date": iso(-5),
        "end_date": iso(10), "allotted_units": "10", "remaining_units": "4",
        "unit_alert_level": "5", "exp_alert_days": "30", "auth_group_id": "1",
        "insurance_company_id": str(payer.id), "auth_number": f"N{BOLD}"}).status_code == 302
    auth = newest_auth(session)
    assert auth.auth_number == f"N{BOLD}"
    note = admin.post(f"{NOTES}/new/", {
        "client_id": str(client.id), "provider_id": str(users["provider_id"]),
        "service_date": iso(0), "authorization_id": str(auth.id), "units": "2",
        "comment": f"Seen {SCRIPT} {IMG}"})
    assert _to_note(note)
    note_url = note.headers["Location"]

    typed = [SCRIPT, IMG, SVG, BOLD]
    pages = ["/console/", "/console/alerts/", "/console/clients/", f"{AUTHS}/?expired=1",
             f"/console/clients/chart/{client.id}/", f"/console/clients/edit/?id={client.id}",
             f"{AUTHS}/edit/?id={auth.id}", f"{NOTES}/", note_url, f"{NOTES}/edit/?id="
             f"{newest_note(session).id}", "/console/picklists/", "/console/insurance-companies/",
             "/console/audit/", f"/console/clients/chart/{client.id}/?tab=history"]
    shown = {fragment: [] for fragment in typed}
    for url in pages:
        response = admin.get(url)
        assert response.status_code == 200, url
        body = response.get_data(as_text=True)
        for fragment in typed:
            assert fragment not in body, f"{fragment!r} came back as HTML on {url}"
            if str(escape(fragment)) in body:
                shown[fragment].append(url)
    # Each fragment is really on the pages (escaped), not merely absent.
    assert {u for u in shown[SCRIPT]} >= {"/console/clients/", f"{AUTHS}/?expired=1",
                                          f"/console/clients/chart/{client.id}/", note_url,
                                          "/console/alerts/", "/console/"}
    assert {u for u in shown[BOLD]} >= {f"{AUTHS}/?expired=1", "/console/picklists/",
                                        f"/console/clients/chart/{client.id}/", note_url}
    assert "/console/picklists/" in shown[SVG] and note_url in shown[IMG]


# -- the CSV import (it creates and edits authorizations too) --------------------------------

def csv_cells(world):
    return {
        "auth_number": hostile_text(60),
        "client_id": st.one_of(st.sampled_from([str(world["client"]), str(world["other"])]),
                               hostile_id()),
        "client_last_name": st.one_of(st.just("Hanson"), hostile_text(40)),
        "client_first_name": st.one_of(st.just("Mark"), hostile_text(40)),
        "client_dob": st.one_of(st.just("1990-01-01"), hostile_date()),
        "billing_code": st.one_of(st.sampled_from(["90834", "90853"]), hostile_text(20)),
        "start_date": hostile_date(), "end_date": hostile_date(),
        "allotted_units": hostile_number(), "remaining_units": hostile_number(),
        "unit_alert_level": hostile_number(), "exp_alert_days": hostile_number(),
        "specific_provider": hostile_text(40), "insurance_company": hostile_text(40),
        "auth_group": st.one_of(st.just("Auth Group 1"), hostile_text(40)),
        "sliding_scale_pct": hostile_number(),
        **{flag: st.one_of(st.sampled_from(["yes", "no"]), hostile_text(8))
           for flag in ("exclude_from_notes", "unmanaged", "default", "suspend_alerts",
                        "inpatient")},
    }


def csv_text(rows: list[dict]) -> str:
    import csv
    import io

    columns = sorted({k for row in rows for k in row})
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns)
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


@HOSTILE_SETTINGS
@given(data=st.data())
@example(data=None)
@example(data="nul")  # a NUL in a cell was a server error on PostgreSQL
def test_the_csv_import_refuses_hostile_rows(world, session, data):
    """The upload (a dry run) never writes, whatever the file holds; the confirmed import of the
    same file writes only valid rows, all or none, and what it wrote is shown as text."""
    import io

    from admin_views.imports import pack
    from hostile import check_answer, database_state

    base = {"client_id": str(world["client"]), "client_last_name": "Hanson",
            "client_first_name": "Mark", "client_dob": "1990-01-01", "billing_code": "90853",
            "start_date": iso(0), "end_date": iso(30), "allotted_units": "6"}
    if data is None:
        rows = [{**base, "auth_number": "<script>alert(1)</script>", "allotted_units": "1e309",
                 "client_id": "99999999999999999999", "start_date": "0000-00-00"}]
    elif data == "nul":
        rows = [{**base, "billing_code": "\x00"}, {**base, "auth_number": "A\x00B"}]
    else:
        rows = data.draw(st.lists(hostile_form(csv_cells(world), base), min_size=1,
                                  max_size=2))
    text = csv_text(rows)
    tags = [v for row in rows for v in row.values() if any(t in v for t in TAGS)]
    support = world["support"]

    before = database_state(session)
    checked = support.post("/console/imports/", {"step": "check",
                                                 "file": (io.BytesIO(text.encode()), "a.csv")})
    check_answer(checked, {}, accept=lambda r: r.status_code == 200)
    body = checked.get_data(as_text=True)
    assert not [v for v in tags if v.strip() and v.strip() in body], "HTML came back live"
    assert database_state(session) == before, "the dry run wrote something"

    outcome = post_hostile(support, "/console/imports/", {"step": "import",
                                                           "csv_file": pack(text)}, session,
                           accept=lambda r: r.status_code == 200 and "Imported" in
                           r.get_data(as_text=True))
    event(outcome)
    if outcome == "accepted":
        session.rollback()
        for auth in session.scalars(sa.select(Authorization)):
            valid_auth(auth)
        numbers = session.scalars(sa.select(Authorization.auth_number)
                                  .where(Authorization.client_id == world["client"])).all()
        shows_as_text(support, f"/console/clients/chart/{world['client']}/", numbers)
