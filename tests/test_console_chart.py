"""The client chart's Authorizations grid and the master list's form: every field shown, lines
added and edited through rules.authorizations, all-or-nothing saves whose errors name the line
and the field, restricted fields refused, bad input refused with a message — never a 500."""
import datetime as dt
import html
import json
import re

import pytest
import sqlalchemy as sa

from console_data import database, practice_in
from conftest import snapshot_tables
from models import Authorization, Note, NoteClaim, Profile, User
from rules import Actor
from rules.notes import create_note, release_note

GRID_LABELS = ("Auth #", "Billing Code", "Start Date", "End Date", "Allotted Units",
               "Remaining Units", "Pending Units", "Unit Alert Level", "Exp. Alert Days",
               "Specific Provider", "Insurance Company", "Exclude from Notes", "Auth Group",
               "Unmanaged", "Active", "Default", "Suspend Alerts", "Sliding Scale %",
               "Inpatient", "Last Edited", "Primary Therapist", "DOB")


@pytest.fixture
def practice(app, users):
    return practice_in(app)


def chart_url(practice, client="c1"):
    return f"/console/clients/chart/{practice.ids[client]}/"


def save_url(practice, client="c1"):
    return chart_url(practice, client) + "authorizations"


def grid_form(web_client, practice, client="c1") -> dict:
    """The grid's inputs as the browser would post them untouched."""
    page = web_client.get(chart_url(practice, client)).get_data(as_text=True)
    form = page[page.index('id="auth-grid-form"'):page.index("</form>", page.index(
        'id="auth-grid-form"'))]
    data = {}
    for tag in re.findall(r"<(?:input|select)[^>]*>(?:.*?</select>)?", form, re.S):
        name = re.search(r'name="([^"]+)"', tag)
        if not name or name.group(1) == "csrf_token":
            continue
        name = name.group(1)
        if tag.startswith("<select"):
            chosen = re.search(r'<option value="([^"]*)" selected', tag)
            data[name] = chosen.group(1) if chosen else ""
        elif 'type="checkbox"' in tag:
            if " checked" in tag and "disabled" not in tag:
                data[name] = "y"
        else:
            value = re.search(r'value="([^"]*)"', tag)
            data[name] = (value.group(1) if value else "").replace("&#34;", '"').replace(
                "&quot;", '"')
    return data


def tables(app):
    with database(app) as (session, _):
        return snapshot_tables(session, Authorization, "audit_records")


def auth(app, auth_id):
    with database(app) as (session, _):
        a = session.get(Authorization, auth_id)
        return {c: getattr(a, c) for c in ("allotted_units", "remaining_units", "end_date",
                                           "unmanaged", "unit_alert_level", "last_edited_by",
                                           "auth_number", "active")} if a else None


def messages(response) -> str:
    return " ".join(html.unescape(response.get_data(as_text=True)).split())


def test_the_grid_shows_every_field_and_who_the_client_is(web, practice):
    page = messages(web("support").get(chart_url(practice)))
    for label in GRID_LABELS:
        assert label in page, label
    assert "Adams, Amy" in page and "1990-01-01" in page and "Marcus Lee" in page
    assert "AUTH-ONE" in page and "AUTH-TWO" in page


def test_read_only_profiles_see_the_grid_without_inputs(web, practice):
    page = web("provider").get(chart_url(practice)).get_data(as_text=True)
    assert "AUTH-TWO" in page and 'id="auth-grid-form"' not in page
    assert "Save authorizations" not in page


def test_add_a_line_remaining_defaults_to_allotted(app, web, practice):
    support = web("support")
    data = grid_form(support, practice)
    start = practice.today.isoformat()
    end = (practice.today + dt.timedelta(days=30)).isoformat()
    data.update({"n1-billing_code_id": str(practice.ids["code_90832"]), "n1-start_date": start,
                 "n1-end_date": end, "n1-allotted_units": "8",
                 "n1-auth_group_id": str(practice.ids["group2"])})
    response = support.post(save_url(practice), data)
    assert response.status_code == 302
    with database(app) as (session, _):
        new = session.scalars(sa.select(Authorization).where(
            Authorization.client_id == practice.ids["c1"], Authorization.allotted_units == 8)
        ).one()
        assert (new.remaining_units, new.auth_group_id, new.last_edited_by) == \
            (8, practice.ids["group2"], "Support")
        assert re.fullmatch(r"A-\d{6}", new.auth_number) and new.active
    assert "Saved 1 authorization line" in messages(support.get(response.headers["Location"]))


def test_edit_lines_through_the_rules(app, web, practice):
    support = web("support")
    data = grid_form(support, practice)
    a1 = f"a{practice.ids['a1']}"
    data.update({f"{a1}-unit_alert_level": "7", f"{a1}-suspend_alerts": "y"})
    assert support.post(save_url(practice), data).status_code == 302
    with database(app) as (session, _):
        a = session.get(Authorization, practice.ids["a1"])
        assert (a.unit_alert_level, a.suspend_alerts, a.last_edited_by, a.version) == \
            (7, True, "Support", 2)
        other = session.get(Authorization, practice.ids["a2"])
        assert other.version == 1  # lines left alone are not touched


def test_one_bad_line_saves_nothing_and_the_errors_name_line_and_field(app, web, practice):
    support = web("support")
    data = grid_form(support, practice)
    a1, a2 = f"a{practice.ids['a1']}", f"a{practice.ids['a2']}"
    start = practice.today.isoformat()
    data.update({
        f"{a1}-unit_alert_level": "9",                                    # fine on its own
        f"{a2}-end_date": (practice.today - dt.timedelta(days=60)).isoformat(),  # before start
        "n1-billing_code_id": str(practice.ids["code_90832"]), "n1-start_date": start,
        "n1-end_date": start, "n1-allotted_units": "5",                   # a good new line
        "n2-billing_code_id": str(practice.ids["code_90832"]), "n2-start_date": start,
        "n2-end_date": start, "n2-allotted_units": "ten",                 # letters in units
    })
    before = tables(app)
    response = support.post(save_url(practice), data)
    assert response.status_code == 422
    text = messages(response)
    assert "Nothing was saved" in text
    assert "AUTH-TWO — End Date: must be on or after the start date" in text
    assert "new line 2 — Allotted Units: must be a whole number" in text
    assert tables(app) == before
    # The grid comes back with what the user typed, the bad fields marked.
    assert 'value="ten"' in text and "is-invalid" in text and 'value="9"' in text


@pytest.mark.parametrize("line, value, message", [
    ("allotted_units", "12abc", "Allotted Units: must be a whole number"),
    ("remaining_units", "25", "Remaining Units: cannot be more than the allotted units (20)"),
    ("sliding_scale_pct", "140", "Sliding Scale %: must be a number from 0 to 100"),
    ("unit_alert_level", "-1", "Unit Alert Level: must be 0 or more"),
    ("billing_code_id", "999999", "Billing Code: Billing code #999999 does not exist"),
    ("auth_number", "A-000123", "Auth #: numbers of the form A-123 are generated"),
])
def test_bad_input_on_a_line_is_refused_with_a_message(app, web, practice, line, value,
                                                      message):
    support = web("support")
    data = grid_form(support, practice)
    data[f"a{practice.ids['a1']}-{line}"] = value
    before = tables(app)
    response = support.post(save_url(practice), data)
    assert response.status_code == 422
    assert f"AUTH-ONE — {message}" in messages(response)
    assert tables(app) == before


def test_crafted_lines_of_other_clients_or_unknown_auths_are_refused(app, web, practice):
    support = web("support")
    support.get(chart_url(practice))
    before = tables(app)
    other = practice.ids["a4"]  # Baker's auth, posted on Adams's chart
    response = support.post(save_url(practice), {f"a{other}-allotted_units": "1",
                                                 "a99999-allotted_units": "1"})
    text = messages(response)
    assert response.status_code == 422
    assert f"authorization #{other} — Authorization #{other} is not on Adams, Amy's chart" in text
    assert "authorization #99999 — Authorization #99999 is not on" in text
    assert tables(app) == before


def test_a_deleted_clients_chart_is_not_found(app, web, practice):
    with database(app) as (session, make):
        gone = make.client("Gone")
        gone_id = gone.id
        session.delete(gone)
        session.commit()
    support = web("support")
    support.get(chart_url(practice))
    assert support.get(f"/console/clients/chart/{gone_id}/").status_code == 404
    assert support.post(f"/console/clients/chart/{gone_id}/authorizations",
                        {"n1-allotted_units": "1"}).status_code == 404


def test_delete_a_line_without_notes(app, web, practice):
    support = web("support")
    data = grid_form(support, practice)
    data[f"a{practice.ids['a1']}-delete"] = "y"
    assert support.post(save_url(practice), data).status_code == 302
    assert auth(app, practice.ids["a1"]) is None


def test_a_save_changes_only_what_the_user_changed(app, web, practice):
    """A note released while the grid was open lowers remaining units; saving the grid (another
    field changed) must not put the old number back."""
    support = web("support")
    data = grid_form(support, practice)
    with database(app) as (session, make):
        provider = make.provider("Note")
        note = create_note(session, Actor.system(), {
            "client_id": practice.ids["c1"], "provider_id": provider.id,
            "authorization_id": practice.ids["a1"], "units": 2,
            "service_date": practice.today}, today=practice.today)
        release_note(session, Actor.system(), note.id, today=practice.today)
        session.commit()
    data[f"a{practice.ids['a1']}-exp_alert_days"] = "14"
    assert support.post(save_url(practice), data).status_code == 302
    after = auth(app, practice.ids["a1"])
    assert after["remaining_units"] == 18


@pytest.fixture
def intake(app, users, password_hash):
    """A profile that may edit authorizations but not the restricted fields of managed ones."""
    with database(app, password_hash) as (session, make):
        profile = Profile(name="Intake")
        profile.permissions = {"view_clients", "view_authorizations", "edit_authorizations"}
        session.add(profile)
        session.flush()
        make.user("intake", "Intake")
        session.commit()


@pytest.mark.parametrize("field, value", [("remaining_units", "5"), ("end_date", "{later}"),
                                          ("unmanaged", "y")])
def test_restricted_fields_are_refused_in_the_grid(app, web, practice, intake, field, value):
    clerk = web("intake")
    data = grid_form(clerk, practice)
    key = f"a{practice.ids['a1']}-{field}"
    data[key] = value.format(later=(practice.today + dt.timedelta(days=90)).isoformat())
    data[f"a{practice.ids['a1']}-original"] = ""  # a crafted post: no record of what was shown
    before = tables(app)
    response = clerk.post(save_url(practice), data)
    assert response.status_code == 422
    assert "Your profile may not change" in messages(response)
    assert tables(app) == before


def test_the_grid_shows_restricted_fields_read_only_and_allows_the_rest(app, web, practice,
                                                                       intake):
    clerk = web("intake")
    page = clerk.get(chart_url(practice)).get_data(as_text=True)
    remaining = re.search(rf'<input[^>]*name="a{practice.ids["a1"]}-remaining_units"[^>]*>', page)
    assert "readonly" in remaining.group(0)
    data = grid_form(clerk, practice)
    data[f"a{practice.ids['a1']}-unit_alert_level"] = "8"
    assert clerk.post(save_url(practice), data).status_code == 302
    assert auth(app, practice.ids["a1"])["unit_alert_level"] == 8


def test_restricted_fields_are_refused_in_the_master_list_form(app, web, practice, intake):
    clerk = web("intake")
    url = f"/console/authorizations/edit/?id={practice.ids['a1']}"
    page = clerk.get(url).get_data(as_text=True)
    assert "Your profile may not change this on a managed authorization" in page
    a1 = auth(app, practice.ids["a1"])
    before = tables(app)
    response = clerk.post(url, {"billing_code_id": str(practice.ids["code_90834"]),
                                "start_date": (practice.today - dt.timedelta(days=30)).isoformat(),
                                "end_date": a1["end_date"].isoformat(),
                                "allotted_units": "20", "remaining_units": "2",
                                "auth_number": "AUTH-ONE"})
    assert response.status_code == 200
    assert "Your profile may not change Remaining Units on a managed authorization" in \
        messages(response)
    assert tables(app) == before


def test_the_master_list_form_edits_and_refuses_bad_input(app, web, practice):
    support = web("support")
    url = f"/console/authorizations/edit/?id={practice.ids['a2']}"
    page = support.get(url).get_data(as_text=True)
    original = re.search(r'name="original"[^>]*value="([^"]+)"', page).group(1)
    fields = json.loads(original.replace("&#34;", '"'))
    before = tables(app)
    bad = {**fields, "original": original.replace("&#34;", '"'), "allotted_units": "2"}
    response = support.post(url, bad)
    assert response.status_code == 200
    assert "Remaining Units: cannot be more than the allotted units (2)" in messages(response)
    assert tables(app) == before
    good = {**fields, "original": original.replace("&#34;", '"'), "unit_alert_level": "1"}
    assert support.post(url, good).status_code == 302
    assert auth(app, practice.ids["a2"])["unit_alert_level"] == 1


def test_create_from_the_master_list_refuses_a_deleted_client(app, web, practice):
    with database(app) as (session, make):
        gone = make.client("Gone")
        gone_id = gone.id
        session.delete(gone)
        session.commit()
    support = web("support")
    support.get("/console/authorizations/new/")
    before = tables(app)
    response = support.post("/console/authorizations/new/", {
        "client": str(gone_id), "billing_code_id": str(practice.ids["code_90832"]),
        "start_date": practice.today.isoformat(), "end_date": practice.today.isoformat(),
        "allotted_units": "3"})
    assert response.status_code == 200
    assert f"Client #{gone_id} does not exist (it may have been deleted)" in messages(response)
    assert tables(app) == before
    response = support.post("/console/authorizations/new/", {
        "client": str(practice.ids["c2"]), "billing_code_id": str(practice.ids["code_90832"]),
        "start_date": practice.today.isoformat(), "end_date": practice.today.isoformat(),
        "allotted_units": "3", "insurance_company_id": str(practice.ids["bcbs"])})
    assert response.status_code == 302
    with database(app) as (session, _):
        assert session.scalar(sa.select(sa.func.count()).select_from(Authorization).where(
            Authorization.client_id == practice.ids["c2"])) == 3


def test_deleting_an_auth_with_notes_is_refused_with_a_message(app, web, practice):
    with database(app) as (session, make):
        provider = make.provider("Note")
        create_note(session, Actor.system(), {
            "client_id": practice.ids["c1"], "provider_id": provider.id,
            "authorization_id": practice.ids["a1"], "units": 1,
            "service_date": practice.today}, today=practice.today)
        session.commit()
    support = web("support")
    support.get(f"/console/authorizations/edit/?id={practice.ids['a1']}")
    before = tables(app)
    response = support.post("/console/authorizations/delete/",
                            {"id": str(practice.ids["a1"]), "url": "/console/authorizations/"})
    assert response.status_code == 302
    assert "has notes written against it and cannot be deleted" in messages(
        support.get("/console/authorizations/"))
    assert tables(app) == before
    with database(app) as (session, _):
        assert session.scalar(sa.select(sa.func.count()).select_from(Note)) == 1
        assert session.scalar(sa.select(sa.func.count()).select_from(NoteClaim)) == 1
        assert session.scalar(sa.select(User.id).where(User.username == "support"))
