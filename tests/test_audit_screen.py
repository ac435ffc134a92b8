"""Issue 7 point 3: the audit screen — who may open it, its filters (user, object type, object,
dates, batch), names instead of ids, and the History pages of one object, one client and one
bulk operation."""
import datetime as dt
import re

import pytest
import sqlalchemy as sa

from conftest import TODAY
from models import AuditRecord, AuthGroup, Division, User, utcnow
from rules import Actor
from rules.audit import acting_as, audit_batch
from rules.authorizations import update_authorization
from rules.notes import create_note


def rows(html: str) -> int:
    """Data rows of a Flask-Admin list (each has a cell of the "Who" column)."""
    return len(re.findall(r'<td class="col-actor_name">', html))


@pytest.fixture
def story(session, make, users):
    """A client with an auth edited by the support user, a note, a pick list change by the
    admin, and a bulk operation."""
    support = Actor.for_user(session.get(User, users["support"]), request_id="req-support-1")
    admin = Actor.for_user(session.get(User, users["admin"]), request_id="req-admin-1")
    client = make.client("Garcia", first_name="Olivia")
    other = make.client("Walker", first_name="Liam")
    auth = make.auth(client, "90834")
    other_auth = make.auth(other, "90837")
    provider = make.provider("Reyes")
    session.commit()
    with acting_as(session, support):
        update_authorization(session, support, auth.id, {"allotted_units": 12}, today=TODAY)
        session.commit()
    with acting_as(session, admin):
        note = create_note(session, admin, {
            "client_id": client.id, "provider_id": provider.id, "authorization_id": auth.id,
            "service_date": TODAY, "units": 1}, today=TODAY)
        session.add(Division(name="<b>North</b> & co"))
        session.commit()
        with audit_batch(session, admin, "bulk_update", "Update Codes Listed: 1 auth") as batch:
            update_authorization(session, admin, other_auth.id, {"unit_alert_level": 2},
                                 today=TODAY)
        session.commit()
    return {"client": client, "other": other, "auth": auth, "other_auth": other_auth,
            "note": note, "batch": batch.id}


@pytest.mark.parametrize("role, status", [("admin", 200), ("support", 403), ("billing", 403),
                                          ("provider", 403)])
def test_only_profiles_with_view_audit_open_the_audit_screen(web, role, status):
    assert web(role).get("/console/audit/").status_code == status


def test_anonymous_users_are_sent_to_the_login_page(web):
    response = web().get("/console/audit/history/client/1")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_a_profile_given_view_audit_may_open_it(session, web, users):
    from models import Profile

    billing = session.scalar(sa.select(Profile).where(Profile.name == "Billing"))
    billing.permissions = billing.permissions | {"view_audit"}
    session.commit()
    assert web("billing").get("/console/audit/").status_code == 200


def test_the_list_filters_by_user(web, story):
    admin = web("admin")
    everyone = admin.get("/console/audit/?page_size=100").get_data(as_text=True)
    support_only = admin.get("/console/audit/?flt0_user_equals=Support").get_data(as_text=True)
    assert rows(support_only) == 1 < rows(everyone)
    assert "A-000001 (90834) – Garcia, Olivia" in support_only
    assert "Walker" not in support_only


def test_the_list_filters_by_object_type_and_object(web, story):
    admin = web("admin")
    divisions = admin.get("/console/audit/?flt0_object_type_equals=division")
    html = divisions.get_data(as_text=True)
    assert rows(html) == 1 and "North" in html
    one_auth = admin.get(f"/console/audit/?flt0_object_type_equals=authorization"
                         f"&flt1_object_id_equals={story['other_auth'].id}")
    html = one_auth.get_data(as_text=True)
    assert rows(html) == 2 and "Walker, Liam" in html and "Garcia" not in html
    by_label = admin.get("/console/audit/?flt0_object_contains=Walker").get_data(as_text=True)
    assert rows(by_label) == 3  # the client and its auth (created, then edited in bulk)


def test_the_list_filters_by_date_range(session, web, story):
    admin = web("admin")
    today = utcnow().date()
    inside = f"{today - dt.timedelta(days=1)} 00:00:00 to {today + dt.timedelta(days=1)} 00:00:00"
    before = "2001-01-01 00:00:00 to 2001-12-31 00:00:00"
    total = session.scalar(sa.select(sa.func.count()).select_from(AuditRecord))
    html = admin.get("/console/audit/", query_string={"flt0_date_between": inside,
                                                      "page_size": 100}).get_data(as_text=True)
    assert rows(html) == min(total, 100)
    html = admin.get("/console/audit/", query_string={"flt0_date_between": before}).get_data(
        as_text=True)
    assert rows(html) == 0


def test_the_list_filters_by_batch_and_links_to_it(web, story):
    admin = web("admin")
    html = admin.get(f"/console/audit/?flt0_bulk_operation_equals={story['batch']}").get_data(
        as_text=True)
    assert rows(html) == 1 and "Walker, Liam" in html
    assert f'href="/console/audit/batch/{story["batch"]}"' in html
    page = admin.get(f"/console/audit/batch/{story['batch']}").get_data(as_text=True)
    assert "Update Codes Listed: 1 auth" in page and "Unit Alert Level" in page


def test_changes_show_names_not_ids_and_html_as_text(web, story, make):
    admin = web("admin")
    html = admin.get("/console/audit/?flt0_object_type_equals=authorization"
                     "&page_size=100").get_data(as_text=True)
    assert "90834 – Psychotherapy, 45 minutes" in html  # billing_code_id shown by name
    assert "Allotted Units" in html
    html = admin.get("/console/audit/?flt0_object_type_equals=division").get_data(as_text=True)
    assert "<b>North</b>" not in html and "&lt;b&gt;North&lt;/b&gt; &amp; co" in html


def test_history_of_an_authorization_lists_its_changes_in_order(web, story):
    auth = story["auth"]
    response = web("admin").get(f"/console/audit/history/authorization/{auth.id}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "History of authorization A-000001 (90834) – Garcia, Olivia" in html
    actions = re.findall(r"<td>(create|update|units|delete|status)</td>", html)
    assert actions == ["create", "update", "units"]
    table = html[html.index("<tbody>"):]
    assert table.index("Support") < table.index("Admin")  # the support edit came first
    assert "Walker" not in html


def test_history_of_a_client_includes_its_authorizations_and_notes(web, story):
    client, note = story["client"], story["note"]
    html = web("admin").get(f"/console/audit/history/client/{client.id}").get_data(as_text=True)
    assert "History of client Garcia, Olivia" in html
    assert f"Note N-{note.id}" in html and "A-000001 (90834)" in html
    assert "Walker" not in html and "A-000002" not in html
    # every record links to its object's own history
    assert f'href="/console/audit/history/note/{note.id}"' in html


def test_history_of_an_unknown_object_says_nothing_was_recorded(web):
    html = web("admin").get("/console/audit/history/note/4242").get_data(as_text=True)
    assert "No change has been recorded" in html


@pytest.mark.parametrize("url", ["/console/audit/history/spaceship/1",
                                 "/console/audit/history/client/99999999999999999999",
                                 "/console/audit/history/client/-1",
                                 "/console/audit/batch/not-a-batch"])
def test_history_of_nonsense_is_not_found(web, url):
    assert web("admin").get(url).status_code == 404


def test_history_pages_long_histories(session, web, make):
    group = session.scalar(sa.select(AuthGroup).where(AuthGroup.name == "Auth Group 1"))
    for n in range(105):
        group.sort_order = n + 10
        session.commit()
    admin = web("admin")
    first = admin.get(f"/console/audit/history/auth_group/{group.id}").get_data(as_text=True)
    last = admin.get(f"/console/audit/history/auth_group/{group.id}?page=2").get_data(
        as_text=True)
    assert "Page 1 of 2" in first and "Page 2 of 2" in last
    assert len(re.findall(r"<td>update</td>", first)) == 99  # the create is on page 1 too
    assert len(re.findall(r"<td>update</td>", last)) == 6


def test_permissions_and_fields_are_named_as_on_the_forms(session, web, users):
    from models import Profile

    billing = session.scalar(sa.select(Profile).where(Profile.name == "Billing"))
    billing.permissions = billing.permissions | {"view_audit"}
    session.commit()
    html = web("admin").get(f"/console/audit/history/profile/{billing.id}").get_data(
        as_text=True)
    assert "Permissions" in html and "View the audit trail" in html
    assert "view_audit" not in html

def test_client_fields_are_named_in_plain_words(session, web, make):
    make.client("Garcia", division=Division(name="North Clinic"))
    session.commit()
    html = web("admin").get("/console/audit/?flt0_object_type_equals=client").get_data(
        as_text=True)
    assert "Date of birth" in html and "1990-01-01" in html and "Dob" not in html
    assert "North Clinic (#" in html  # the division by name, not only its id
