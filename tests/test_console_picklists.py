"""Administration → Pick List Management (rule 14): add, rename, reorder, deactivate — and the
change shows at once in every form; an inactive item is not offered for new choices but stays
where it is used; an item in use cannot be deleted."""
import html
import re

import pytest
import sqlalchemy as sa

from console_data import database, practice_in
from conftest import snapshot_tables
from models import AuthGroup, Client, ClientGroup, Division

URL = "/console/picklists/"


@pytest.fixture
def practice(app, users):
    return practice_in(app)


def text(response) -> str:
    return " ".join(html.unescape(response.get_data(as_text=True)).split())


def options(page: str, name: str) -> list[str]:
    """The option labels of the select named ``name`` (the first one on the page)."""
    select = re.search(rf'<select[^>]*name="{re.escape(name)}"[^>]*>(.*?)</select>', page, re.S)
    return [html.unescape(o.strip()) for o in re.findall(r"<option[^>]*>([^<]*)</option>",
                                                         select.group(1))]


def test_lists_are_grouped_as_staff_know_them(web, practice):
    page = text(web("admin").get(URL))
    page = page[page.index("Changes show in every form"):]  # the page body, not the menu
    positions = [page.index(label) for label in ("Billing", "Auth Groups", "Clients",
                                                 "Divisions", "Client Groups", "Users",
                                                 "User Groups")]
    assert positions == sorted(positions)
    assert "Auth Group 1" in page and "North Clinic" in page


def test_rename_shows_at_once_in_the_authorization_forms(app, web, practice):
    admin = web("admin")
    admin.get(URL)
    g1, g2 = practice.ids["group1"], practice.ids["group2"]
    response = admin.post(URL + "auth_groups/save", {
        f"name-{g1}": "20 sessions (BCBS)", f"order-{g1}": "1", f"active-{g1}": "y",
        f"name-{g2}": "Auth Group 2", f"order-{g2}": "2", f"active-{g2}": "y"})
    assert response.status_code == 302
    create_form = admin.get("/console/authorizations/new/").get_data(as_text=True)
    assert options(create_form, "auth_group_id") == ["—", "20 sessions (BCBS)", "Auth Group 2"]
    chart = admin.get(f"/console/clients/chart/{practice.ids['c1']}/").get_data(as_text=True)
    assert "20 sessions (BCBS)" in options(chart, "n1-auth_group_id")


def test_reorder_changes_the_order_offered(web, practice):
    admin = web("admin")
    admin.get(URL)
    g1, g2 = practice.ids["group1"], practice.ids["group2"]
    admin.post(URL + "auth_groups/save", {
        f"name-{g1}": "Auth Group 1", f"order-{g1}": "5", f"active-{g1}": "y",
        f"name-{g2}": "Auth Group 2", f"order-{g2}": "1", f"active-{g2}": "y"})
    form = admin.get("/console/authorizations/new/").get_data(as_text=True)
    assert options(form, "auth_group_id") == ["—", "Auth Group 2", "Auth Group 1"]


def test_deactivated_item_is_not_offered_but_stays_where_used(app, web, practice):
    admin = web("admin")
    admin.get(URL)
    g1, g2 = practice.ids["group1"], practice.ids["group2"]
    admin.post(URL + "auth_groups/save", {  # Auth Group 1 unticked: deactivated
        f"name-{g1}": "Auth Group 1", f"order-{g1}": "1",
        f"name-{g2}": "Auth Group 2", f"order-{g2}": "2", f"active-{g2}": "y"})
    assert options(admin.get("/console/authorizations/new/").get_data(as_text=True),
                   "auth_group_id") == ["—", "Auth Group 2"]
    chart = admin.get(f"/console/clients/chart/{practice.ids['c1']}/").get_data(as_text=True)
    assert "Auth Group 1 (inactive)" not in options(chart, "n1-auth_group_id")
    a1 = f"a{practice.ids['a1']}-auth_group_id"  # a1 uses Auth Group 1: still shown, chosen
    assert re.search(rf'name="{a1}".*?<option value="{g1}" selected>Auth Group 1 \(inactive\)',
                     chart, re.S)
    edit = admin.get(f"/console/authorizations/edit/?id={practice.ids['a1']}")
    assert "Auth Group 1 (inactive)" in options(edit.get_data(as_text=True), "auth_group_id")
    # A new line cannot choose it, even by a crafted post.
    response = admin.post("/console/authorizations/new/", {
        "client": str(practice.ids["c1"]), "billing_code_id": str(practice.ids["code_90832"]),
        "start_date": practice.today.isoformat(), "end_date": practice.today.isoformat(),
        "allotted_units": "2", "auth_group_id": str(g1)})
    assert "is not one of the choices offered" in text(response)


def test_deactivated_division_stays_on_its_clients_form(web, practice):
    admin = web("admin")
    admin.get(URL)
    north, south = practice.ids["north"], practice.ids["south"]
    admin.post(URL + "divisions/save", {
        f"name-{north}": "North Clinic", f"order-{north}": "1",
        f"name-{south}": "South Clinic", f"order-{south}": "2", f"active-{south}": "y"})
    form = admin.get(f"/console/clients/edit/?id={practice.ids['c1']}").get_data(as_text=True)
    assert "North Clinic (inactive)" in options(form, "division_id")
    assert "North Clinic (inactive)" not in options(
        admin.get("/console/clients/new/").get_data(as_text=True), "division_id")


def test_add_an_item_and_refuse_a_duplicate_name(app, web, practice):
    admin = web("admin")
    admin.get(URL)
    assert admin.post(URL + "client_groups/add", {"name": "Intensive Outpatient"}
                      ).status_code == 302
    response = admin.post(URL + "client_groups/add", {"name": "intensive outpatient"})
    assert response.status_code == 422
    assert "“intensive outpatient” is already in Client Groups" in text(response)
    with database(app) as (session, _):
        names = session.scalars(sa.select(ClientGroup.name).order_by(ClientGroup.sort_order))
        assert list(names) == ["Adults", "Children", "Intensive Outpatient"]
    form = admin.get("/console/clients/new/").get_data(as_text=True)
    assert "Intensive Outpatient" in options(form, "client_group_ids")


def test_a_bad_save_changes_nothing(app, web, practice):
    admin = web("admin")
    admin.get(URL)
    g1, g2 = practice.ids["group1"], practice.ids["group2"]
    with database(app) as (session, _):
        before = snapshot_tables(session, AuthGroup)
    response = admin.post(URL + "auth_groups/save", {
        f"name-{g1}": "Renamed", f"order-{g1}": "1", f"active-{g1}": "y",
        f"name-{g2}": "", f"order-{g2}": "x", f"active-{g2}": "y"})
    assert response.status_code == 422
    assert "Auth Groups, item #" in text(response) and "is required" in text(response)
    with database(app) as (session, _):
        assert snapshot_tables(session, AuthGroup) == before


def test_an_item_in_use_cannot_be_deleted(app, web, practice):
    admin = web("admin")
    admin.get(URL)
    with database(app) as (session, _):
        before = snapshot_tables(session, Division, Client)
    response = admin.post(URL + f"divisions/{practice.ids['north']}/delete", {})
    assert response.status_code == 302
    page = text(admin.get(response.headers["Location"]))
    assert "“North Clinic” is used by 2 clients and cannot be deleted; deactivate it instead." \
        in page
    with database(app) as (session, _):
        assert snapshot_tables(session, Division, Client) == before
    unused = admin.post(URL + "divisions/add", {"name": "Annex"})
    assert unused.status_code == 302
    with database(app) as (session, _):
        annex = session.scalar(sa.select(Division.id).where(Division.name == "Annex"))
    admin.get(URL)
    admin.post(URL + f"divisions/{annex}/delete", {})
    with database(app) as (session, _):
        assert session.get(Division, annex) is None


def test_unknown_lists_and_items_are_not_found(web, practice):
    admin = web("admin")
    admin.get(URL)
    assert admin.post(URL + "notes/add", {"name": "x"}).status_code == 404
    response = admin.post(URL + "divisions/999999/delete", {})
    assert "Divisions item #999999 does not exist" in text(admin.get(response.headers["Location"]))


def test_names_are_escaped_where_a_script_reads_them(web, practice):
    admin = web("admin")
    admin.get(URL)
    assert admin.post(URL + "divisions/add", {"name": "O'Neil \"East\" <b>"}).status_code == 302
    page = admin.get(URL).get_data(as_text=True)
    confirm = re.search(r"onsubmit='return confirm\((.*?)\);'", page[page.index("O&#39;Neil"):])
    assert confirm and "'" not in confirm.group(1) and "<b>" not in confirm.group(1)
    assert 'value="O&#39;Neil &#34;East&#34; &lt;b&gt;"' in page and "<b>" not in page
