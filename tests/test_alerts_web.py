"""The alerts page and the dashboard, as each default profile sees them: recipients see their
alerts (providers get 403), acknowledging needs the CSRF token and hides the alert for oneself
only, and the home page renders for every profile on the demo practice."""
import datetime as dt
import re
from contextlib import contextmanager
from types import SimpleNamespace

import pytest
import sqlalchemy as sa

import admin_views.alerts
import admin_views.home
from conftest import TODAY, Factory
from extensions import db
from models import AlertAcknowledgement, Authorization, Division, Profile, User
from rules import Actor
from rules.audit import acting_as
from rules.authorizations import update_authorization
from rules.permissions import RECEIVE_ALERTS, WRITE_NOTES
from seeds.demo import seed_demo

ROLES = ("admin", "support", "billing", "provider")


@pytest.fixture(autouse=True)
def pinned_today(monkeypatch):
    """The screens' "today" is the tests' TODAY."""
    monkeypatch.setattr(admin_views.alerts, "clinic_today", lambda: TODAY)
    monkeypatch.setattr(admin_views.home, "clinic_today", lambda: TODAY)


@contextmanager
def database(app, password_hash):
    """A session (and a factory) in an app context of its own, closed before the test client
    runs requests: a request must not share the test's app context (nor its ``g``)."""
    with app.app_context(), acting_as(db.session, Actor.system()):
        yield db.session, Factory(db.session, password_hash)
        db.session.rollback()


@pytest.fixture
def practice(app, users, password_hash):
    with database(app, password_hash) as (session, make):
        north, south = Division(name="North Clinic"), Division(name="South Clinic")
        session.add_all([north, south])
        session.flush()
        hanson = make.auth(make.client("Hanson", first_name="Mark", division_id=north.id),
                           "90834", allotted_units=20, remaining_units=3, unit_alert_level=4,
                           auth_number="BCBS-778120")
        brown = make.auth(make.client("Brown", first_name="Ella", division_id=south.id), "90837",
                          end_date=TODAY + dt.timedelta(days=10), exp_alert_days=30)
        session.commit()
        return SimpleNamespace(north=north.id, south=south.id, hanson_client=hanson.client_id,
                               brown_number=brown.auth_number)


def rows(html: str) -> list[str]:
    """The alert rows of the page, as text."""
    table = re.search(r'<table[^>]*id="alerts-table".*?</table>', html, re.S)
    if not table:
        return []
    body = table.group(0).split("<tbody>")[1]
    return [" ".join(re.sub(r"<[^>]+>", " ", tr).split())
            for tr in re.findall(r"<tr.*?</tr>", body, re.S)]


def test_recipients_see_their_open_alerts_and_others_are_refused(web, practice):
    for role in ("admin", "support", "billing"):
        client = web(role)
        response = client.get("/console/alerts/")
        assert response.status_code == 200, role
        assert rows(response.get_data(as_text=True)) == [
            "Low units Hanson, Mark North Clinic 90834 BCBS-778120 3 60 2026-08-14 Acknowledge",
            f"Expiring soon Brown, Ella South Clinic 90837 {practice.brown_number} "
            "10 10 2026-06-25 Acknowledge",
        ], role
        assert (f'<a href="/console/clients/chart/{practice.hanson_client}/">Hanson, Mark</a>'
                in response.get_data(as_text=True)), role
        assert 'href="/console/alerts/"' in client.get("/console/").get_data(as_text=True)
    provider = web("provider")
    assert provider.get("/console/alerts/").status_code == 403
    assert 'href="/console/alerts/"' not in provider.get("/console/").get_data(as_text=True)
    anonymous = web().get("/console/alerts/")
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]


def test_filters_by_kind_and_division(web, practice):
    client = web("billing")
    only_low = rows(client.get("/console/alerts/?kind=units").get_data(as_text=True))
    assert [r.split(" Hanson")[0] for r in only_low] == ["Low units"]
    south = rows(client.get(f"/console/alerts/?division={practice.south}")
                 .get_data(as_text=True))
    assert len(south) == 1 and "Brown, Ella" in south[0]
    none = client.get(f"/console/alerts/?kind=expired&division={practice.north}")
    assert rows(none.get_data(as_text=True)) == []
    assert "No open alerts match these filters." in none.get_data(as_text=True)


def test_acknowledging_hides_the_alert_for_oneself_only(app, web, practice, password_hash):
    support, billing = web("support"), web("billing")
    page = support.get("/console/alerts/").get_data(as_text=True)
    hanson_alert = re.search(r'data-alert-id="(\d+)" data-kind="units"', page).group(1)

    refused = support.post("/console/alerts/acknowledge", {"alert_id": hanson_alert},
                           csrf=False)
    assert refused.status_code == 400
    with database(app, password_hash) as (session, _):
        assert session.scalar(sa.select(sa.func.count()).select_from(AlertAcknowledgement)) == 0
    provider = web("provider")
    provider.get("/console/")  # a page with a CSRF token: the refusal is not the token's
    assert provider.post("/console/alerts/acknowledge",
                         {"alert_id": hanson_alert}).status_code == 403

    done = support.post("/console/alerts/acknowledge", {"alert_id": hanson_alert, "kind": ""})
    assert done.status_code == 302 and done.headers["Location"].endswith("/console/alerts/")
    page = support.get("/console/alerts/").get_data(as_text=True)
    assert "Acknowledged: Low units – Hanson, Mark, 90834 (BCBS-778120)." in page
    assert [r.split(" ")[0:2] for r in rows(page)] == [["Expiring", "soon"]]
    assert "(1 acknowledged by you)" in page
    assert "1</strong> open alert you have not acknowledged" in page
    home = support.get("/console/").get_data(as_text=True)
    assert counts(home)["units"] == 1 and "1 acknowledged by you" in home
    shown = rows(support.get("/console/alerts/?acknowledged=1").get_data(as_text=True))
    assert shown[0].startswith("Low units Hanson, Mark") and shown[0].endswith("Acknowledged")
    # Still open for the other recipients.
    assert len(rows(billing.get("/console/alerts/").get_data(as_text=True))) == 2


def test_client_names_are_plain_text_for_those_who_may_not_open_the_chart(app, web, practice,
                                                                           users):
    with app.app_context(), acting_as(db.session, Actor.system()):
        profile = Profile(name="Alerts only", permissions={RECEIVE_ALERTS})
        db.session.add(profile)
        db.session.get(User, users["billing"]).profile = profile
        db.session.commit()
    reader = web("billing")
    for url in ("/console/alerts/", "/console/"):
        page = reader.get(url).get_data(as_text=True)
        assert "Hanson, Mark" in page and "/console/clients/chart/" not in page, url


def counts(html: str) -> dict[str, int]:
    """The dashboard's count per alert kind."""
    found = re.findall(r'data-kind="(\w+)">.*?class="count">(\d+)<', html, re.S)
    return {kind: int(n) for kind, n in found}


def test_dashboard_on_the_demo_practice_for_every_default_profile(app, web, users,
                                                                  password_hash):
    with database(app, password_hash) as (session, make):
        seed_demo(session, today=TODAY)
        session.add(Profile(name="Reader", permissions={WRITE_NOTES}))
        session.flush()
        make.user("reader", "Reader")
        session.commit()
        low = session.scalar(sa.select(Authorization).where(Authorization.unit_alert_level == 3))
        soon = session.scalar(sa.select(Authorization).where(
            Authorization.exp_alert_days == 30, Authorization.auth_group_id.is_(None)))
        low_id, low_name, soon_name = low.id, str(low.client), str(soon.client)
        soon_end = soon.end_date.isoformat()

    logins = {role: web(role) for role in (*ROLES, "reader")}
    pages = {role: client.get("/console/") for role, client in logins.items()}
    assert {role: r.status_code for role, r in pages.items()} == dict.fromkeys(pages, 200)
    html = {role: r.get_data(as_text=True) for role, r in pages.items()}
    for role in ("admin", "support", "billing"):
        assert "Your open alerts" in html[role]
        assert counts(html[role]) == {"exhausted": 2, "units": 1, "expiring": 1, "expired": 1}
        # The auths expiring in 30 days, and the chart of those closest to running out.
        expiring = html[role].split('id="expiring"')[1].split("</section>")[0]
        assert soon_name in expiring and soon_end in expiring
        chart = html[role].split('id="at-risk"')[1].split("</section>")[0]
        assert (f'aria-label="{low_name} 90837: 7 of 10 units used, 0 pending, '
                '3 available"') in chart
        assert 'style="width: 70.0%"' in chart
        left = [int(n) for n in re.findall(r"· (\d+) left<", chart)]
        assert len(left) == 10 and left == sorted(left) and left[0] == 3  # fewest left first
        ends = re.findall(r"<td>(\d{4}-\d\d-\d\d)</td>", expiring)
        assert ends and ends == sorted(ends)  # soonest first
    assert "your caseload" in html["provider"]
    assert "acknowledged" not in html["provider"]
    assert "does not include authorizations or alerts" in html["reader"]
    assert 'id="alert-counts"' not in html["reader"]

    # The recipient sees the demo's low and expiring auths; adding units closes the alert.
    alerts = logins["support"].get("/console/alerts/").get_data(as_text=True)
    assert any(r.startswith(f"Low units {low_name}") for r in rows(alerts))
    assert any(r.startswith(f"Expiring soon {soon_name}") for r in rows(alerts))
    with database(app, password_hash) as (session, make):
        update_authorization(session, make.actor("Support Staff"), low_id,
                             {"allotted_units": 20, "remaining_units": 13}, today=TODAY)
        session.commit()
    alerts = logins["support"].get("/console/alerts/").get_data(as_text=True)
    assert not any(low_name in r for r in rows(alerts))
    assert counts(logins["billing"].get("/console/").get_data(as_text=True))["units"] == 0


def test_the_pages_run_the_same_queries_however_many_auths(app, web, users, password_hash):
    """No query per row: the dashboard and the alerts page run as many statements for 2 auths
    as for 24 (the lists are bounded, the counts aggregated)."""
    def statements(client, url) -> int:
        seen = []

        def count(conn, cursor, statement, *args):
            seen.append(statement)

        with app.app_context():
            engine = db.engine
        sa.event.listen(engine, "before_cursor_execute", count)
        try:
            assert client.get(url).status_code == 200
        finally:
            sa.event.remove(engine, "before_cursor_execute", count)
        return len(seen)

    def add(n):
        with database(app, password_hash) as (session, make):
            for _ in range(n):
                make.auth(make.client(), "90834", allotted_units=10, remaining_units=1,
                          unit_alert_level=2, end_date=TODAY + dt.timedelta(days=5),
                          exp_alert_days=10)
            session.commit()

    add(2)
    support = web("support")
    before = {url: statements(support, url) for url in ("/console/", "/console/alerts/")}
    add(22)
    after = {url: statements(support, url) for url in ("/console/", "/console/alerts/")}
    assert after == before
    page = support.get("/console/").get_data(as_text=True)
    assert counts(page)["units"] == 24 and "… and 14 more." in page
