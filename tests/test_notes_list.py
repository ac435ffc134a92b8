"""Issue 4, point 7 and the screens' guards: the notes list, its filters and columns; a provider
sees only their own notes (the query is restricted: list, count, export, actions); the list
page does not run a query per row; who sees the menu and the buttons; CSRF on every form."""
import datetime as dt
import re

import pytest
import sqlalchemy as sa

from conftest import snapshot_tables
from extensions import db
from models import Authorization, Note, NoteClaim, Profile, Provider, User
from rules.notes import create_note, release_note
from rules.permissions import EXPORT, RELEASE_NOTES, VIEW_CLIENTS, WRITE_NOTES
from notes_support import NOTES, day, flashes, release, status_of, text, today
from notes_support import web  # noqa: F401  (fixture)

TABLES = (Authorization, Note, NoteClaim)


def listed(response) -> list[int]:
    """The note ids of a list page, in order."""
    return [int(i) for i in re.findall(r'<td class="col-id">\s*<a href="/console/notes/details/'
                                       r'\?id=(\d+)"', text(response))]


def count_shown(response) -> int:
    return int(re.search(r"List \((\d+)\)", text(response)).group(1))


@pytest.fixture
def practice(make, session, users):
    """Notes of two clients by two providers, across codes, payers, statuses and dates."""
    bcbs, aetna = make.payer("Blue Cross Blue Shield"), make.payer("Aetna")
    hanson = make.client("Hanson", first_name="Mark", payers=[bcbs])
    garcia = make.client("Garcia", first_name="Ava", payers=[aetna])
    reyes = session.get(Provider, users["provider_id"])
    lee = make.provider("Lee", first_name="Marcus")
    t = today()
    h34 = make.auth(hanson, "90834", today=t, allotted_units=20)
    h19 = make.auth(hanson, "H2019", today=t, allotted_units=40)
    g37 = make.auth(garcia, "90837", today=t, allotted_units=20)
    actor = make.actor()

    def note(client, auth, provider, days_ago, units=1, released=False):
        n = create_note(session, actor, {
            "client_id": client.id, "provider_id": provider.id, "authorization_id": auth.id,
            "service_date": t - dt.timedelta(days=days_ago), "units": units})
        if released:
            release_note(session, actor, n.id)
        return n.id

    notes = {
        "h34_reyes_old": note(hanson, h34, reyes, 25, released=True),
        "h34_reyes": note(hanson, h34, reyes, 3),
        "h19_lee": note(hanson, h19, lee, 5, units=4, released=True),
        "g37_reyes": note(garcia, g37, reyes, 2, units=2),
        "g37_lee": note(garcia, g37, lee, 1, released=True),
    }
    session.commit()
    return {"notes": notes, "reyes": reyes.id, "lee": lee.id, "hanson": hanson.id,
            "garcia": garcia.id, "bcbs": bcbs.id, "aetna": aetna.id, "h34": h34.id,
            "h34_number": h34.auth_number,
            "h2019": make.code("H2019").id}


def test_filters(web, practice):
    n, support = practice["notes"], web("support")

    def ids(**args):
        response = support.get(f"{NOTES}/", query_string=args)
        assert response.status_code == 200
        return set(listed(response))

    assert ids() == set(n.values())
    assert ids(flt0_client_contains="hanson") == {n["h34_reyes_old"], n["h34_reyes"],
                                                  n["h19_lee"]}
    assert ids(flt0_client_id_equals=practice["garcia"]) == {n["g37_reyes"], n["g37_lee"]}
    assert ids(flt0_provider_equals=practice["lee"]) == {n["h19_lee"], n["g37_lee"]}
    assert ids(flt0_status_equals="draft") == {n["h34_reyes"], n["g37_reyes"]}
    assert ids(flt0_service_date_on_or_after=day(-5),
               flt1_service_date_on_or_before=day(-2)) == {n["h34_reyes"], n["h19_lee"],
                                                          n["g37_reyes"]}
    assert ids(flt0_service_date_between=f"{day(-3)} to {day(-1)}") == {
        n["h34_reyes"], n["g37_reyes"], n["g37_lee"]}
    assert ids(flt0_billing_code_equals=practice["h2019"]) == {n["h19_lee"]}
    assert ids(flt0_payer_equals=practice["aetna"]) == {n["g37_reyes"], n["g37_lee"]}
    assert ids(flt0_authorization_id_equals=practice["h34"]) == {n["h34_reyes_old"],
                                                                 n["h34_reyes"]}
    assert ids(flt0_auth_contains=practice["h34_number"]) == {n["h34_reyes_old"],
                                                              n["h34_reyes"]}
    assert ids(flt0_provider_equals=practice["reyes"], flt1_status_equals="released") == {
        n["h34_reyes_old"]}
    for column in range(11):                 # every sortable column, with a joined filter
        assert ids(sort=column, desc=1, flt0_client_contains="hanson",
                   flt1_auth_contains="A-") == {n["h34_reyes_old"], n["h34_reyes"],
                                                n["h19_lee"]}
    # The choices of the filters are read at each request (pick lists take effect at once).
    page = text(support.get(f"{NOTES}/"))
    assert "Lee, Marcus" in page and "Blue Cross Blue Shield" in page and "H2019" in page


def test_columns_units_and_charge_right_aligned(web, practice):
    page = text(web("billing").get(f"{NOTES}/", query_string={
        "flt0_provider_equals": practice["lee"], "flt1_billing_code_equals": practice["h2019"]}))
    for label in ("Note", "Service Date", "Client", "Provider", "Billing Code", "Auth #",
                  "Units", "Status", "Payer", "Charge", "Inpatient"):
        assert re.search(rf">\s*{re.escape(label)}\s*<", page), label
    assert ".col-units, .col-charge { text-align: right;" in page
    units = re.search(r'<td class="col-units">\s*(\S+)\s*</td>', page).group(1)
    charge = re.search(r'<td class="col-charge">\s*(\S+)\s*</td>', page).group(1)
    assert (units, charge) == ("4", "$88.00")          # H2019: 4 × $22.00


def test_a_provider_sees_only_their_own_notes(web, practice):
    n = practice["notes"]
    provider = web("provider")                                     # Dana Reyes
    page = provider.get(f"{NOTES}/")
    mine = {n["h34_reyes_old"], n["h34_reyes"], n["g37_reyes"]}
    assert set(listed(page)) == mine and count_shown(page) == 3
    assert "Lee, Marcus" not in text(page).split("model-list")[1].split("</table>")[0]
    asked = provider.get(f"{NOTES}/", query_string={"flt0_provider_equals": practice["lee"]})
    assert listed(asked) == []
    assert provider.get(f"{NOTES}/export/csv/").status_code == 403   # no export permission
    # Support staff see every provider's notes.
    assert count_shown(web("support").get(f"{NOTES}/")) == 5


def test_export_and_actions_are_restricted_too(web, session, users, practice):
    """A profile that may write, release and export notes but not see every provider's:
    its CSV export and its bulk release reach only the provider's own notes."""
    n = practice["notes"]
    profile = Profile(name="Senior Provider", description="profiles are data")
    profile.permissions = {WRITE_NOTES, RELEASE_NOTES, EXPORT, VIEW_CLIENTS}
    session.add(profile)
    session.get(User, users["provider"]).profile = profile
    session.commit()
    client = web("provider")                       # now a Senior Provider, still Dana Reyes
    csv = client.get(f"{NOTES}/export/csv/")
    assert csv.status_code == 200 and csv.mimetype == "text/csv"
    rows = csv.get_data(as_text=True).strip().splitlines()
    assert len(rows) == 1 + 3 and all("Reyes, Dana" in row for row in rows[1:])
    assert "Lee, Marcus" not in csv.get_data(as_text=True)

    before = snapshot_tables(session, *TABLES)
    response = client.post(f"{NOTES}/action/", {"action": "release",
                                               "rowid": [n["h34_reyes"], n["g37_lee"]]})
    message = flashes(client.get(response.headers["Location"]))
    assert f"N-{n['g37_lee']}: does not exist" in message
    assert snapshot_tables(session, *TABLES) == before
    client.post(f"{NOTES}/action/", {"action": "release", "rowid": [n["h34_reyes"]]})
    assert status_of(session, n["h34_reyes"]) == "released"


def test_the_list_runs_no_query_per_row(web, app, make, session, users):
    client = make.client()
    auth = make.auth(client, "90834", today=today(), allotted_units=100)
    session.commit()
    support = web("support")
    statements = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    def statements_for_list(notes_wanted):
        actor = make.actor()
        for lee in [make.provider(f"P{i}") for i in range(notes_wanted - existing())]:
            create_note(session, actor, {"client_id": client.id, "provider_id": lee.id,
                                         "authorization_id": auth.id, "service_date": day(-1),
                                         "units": 1})
        session.commit()
        statements.clear()
        with app.app_context():
            engine = db.engine
        sa.event.listen(engine, "before_cursor_execute", count)
        try:
            response = support.get(f"{NOTES}/", query_string={"page_size": 50})
        finally:
            sa.event.remove(engine, "before_cursor_execute", count)
        assert len(listed(response)) == notes_wanted
        return len(statements)

    def existing():
        return session.scalar(sa.select(sa.func.count()).select_from(Note))

    assert statements_for_list(2) == statements_for_list(30)


@pytest.mark.parametrize("role, menu, new_note_tab, bulk_release", [
    ("admin", True, True, True),
    ("support", True, False, False),
    ("billing", True, False, True),
    ("provider", True, True, False),
])
def test_who_sees_what(web, role, menu, new_note_tab, bulk_release):
    client = web(role)
    home = text(client.get("/console/"))
    assert ('href="/console/notes/"' in home) is menu
    page = client.get(f"{NOTES}/")
    assert page.status_code == 200
    assert (">New note<" in text(page)) is new_note_tab
    assert ("modelActions.execute('release')" in text(page)) is bulk_release


def test_bulk_release_needs_the_permission(web, practice, session):
    n = practice["notes"]
    before = snapshot_tables(session, *TABLES)
    for role in ("support", "provider"):
        response = web(role).post(f"{NOTES}/action/", {"action": "release",
                                                      "rowid": [n["h34_reyes"]]})
        assert response.status_code == 403
    assert snapshot_tables(session, *TABLES) == before


def test_posts_without_a_csrf_token_are_refused(web, session, practice, users):
    n = practice["notes"]
    before = snapshot_tables(session, *TABLES)
    admin = web("admin")
    posts = [
        (f"{NOTES}/new/", {"client_id": practice["hanson"], "provider_id": users["provider_id"],
                           "authorization_id": practice["h34"], "units": 1,
                           "service_date": day(-1)}),
        (f"{NOTES}/edit/?id={n['h34_reyes']}", {"units": 2}),
        (f"{NOTES}/delete/", {"id": n["h34_reyes"]}),
        (f"{NOTES}/release/", {"id": n["h34_reyes"]}),
        (f"{NOTES}/action/", {"action": "release", "rowid": [n["g37_reyes"]]}),
        (f"{NOTES}/void/?id={n['g37_lee']}", {"reason": "no token"}),
    ]
    for url, data in posts:
        response = admin.post(url, data, csrf=False)
        assert response.status_code == 400, url
        assert "CSRF" in text(response)
        forged = admin.post(url, {**data, "csrf_token": "forged"})
        assert forged.status_code == 400, url
    assert snapshot_tables(session, *TABLES) == before
    # With the token the same post goes through.
    assert release(admin, n["h34_reyes"]).status_code == 302
    assert status_of(session, n["h34_reyes"]) == "released"


def test_unknown_and_anonymous(web):
    assert web().get(f"{NOTES}/").status_code == 302
    admin = web("admin")
    assert admin.get(f"{NOTES}/details/?id=999").status_code == 404
    assert admin.get(f"{NOTES}/authorization/999/").status_code == 404
    assert admin.post(f"{NOTES}/release/", {"id": 999}).status_code == 404
    response = admin.post(f"{NOTES}/action/", {"action": "release", "rowid": ["x"]})
    assert "Choose the notes to release" in flashes(admin.get(response.headers["Location"]))
    response = admin.post(f"{NOTES}/action/", {"action": "release", "rowid": [999]})
    assert "N-999: does not exist" in flashes(admin.get(response.headers["Location"]))
