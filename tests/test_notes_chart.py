"""Issue 4, point 8: the notes of each authorization for the client chart's Authorizations tab —
one query for a list of auths (admin_views.notes.notes_for_chart → rules.notes.
notes_by_authorization), the partial that renders one auth's notes, and the standalone page
"notes of authorization X" that the chart links to."""
import contextvars
import datetime as dt
import re

import pytest
import sqlalchemy as sa
from flask import render_template_string

from admin_views.notes import CHART_AUTH_LINE_TEMPLATE, chart_context, notes_for_chart
from extensions import db
from models import Authorization, Profile, User
from rules.permissions import VIEW_AUTHORIZATIONS, VIEW_CLIENTS
from rules import Actor
from rules.audit import acting_as
from rules.notes import create_note, notes_by_authorization, release_note, void_note
from notes_support import NOTES, auth_group, text, today
from notes_support import web  # noqa: F401  (fixture)

CHART = """{% from 'admin_views/notes/_auth_notes.html' import auth_notes %}
{% for auth in auths %}{{ auth_notes(auth, notes[auth.id]) }}{% endfor %}"""
#: How the console's chart (admin_views.chart, templates/console/chart_authorizations.html)
#: includes each AUTH_LINE_EXTRAS template under an auth's line.
CONSOLE_GRID = """{% for a in auths %}<section id="line-{{ a.id }}">{% set auth = a %}
{% include template %}</section>{% endfor %}"""


@pytest.fixture
def chart(make, session, users):
    """Hanson: 90834 and 90837 in one auth group, 90832 alone, H0031 unmanaged with no notes.
    Notes by Reyes (the provider user) and Lee; one voided."""
    client = make.client("Hanson", first_name="Mark")
    group = auth_group(session)
    t = today()
    a34 = make.auth(client, "90834", today=t, allotted_units=10, auth_group_id=group.id)
    a37 = make.auth(client, "90837", today=t, allotted_units=10, auth_group_id=group.id)
    a32 = make.auth(client, "90832", today=t, allotted_units=10)
    free = make.auth(client, "H0031", today=t, allotted_units=0, unmanaged=True)
    reyes, lee = users["provider_id"], make.provider("Lee", first_name="Marcus").id
    actor = make.actor()

    def note(auth, provider_id, days_ago, units=1):
        return create_note(session, actor, {
            "client_id": client.id, "provider_id": provider_id, "authorization_id": auth.id,
            "service_date": t - dt.timedelta(days=days_ago), "units": units})

    notes = {"released_34": note(a34, reyes, 9), "draft_34": note(a34, lee, 2, units=2),
             "draft_37": note(a37, reyes, 1), "voided_32": note(a32, reyes, 5),
             "released_32": note(a32, lee, 4)}
    for key in ("released_34", "voided_32", "released_32"):
        release_note(session, actor, notes[key].id)
    void_note(session, actor, notes["voided_32"].id, "duplicate")
    session.commit()
    return {"auths": {"a34": a34, "a37": a37, "a32": a32, "free": free},
            "notes": {k: n.id for k, n in notes.items()}}


def ids(notes):
    return [n.id for n in notes]


def test_notes_by_authorization_in_one_query(app, session, chart):
    a, n = chart["auths"], chart["notes"]
    auth_ids = [x.id for x in a.values()]
    statements = []

    def record(conn, cursor, statement, *args):
        statements.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", record)
    try:
        session.expire_all()
        grouped = notes_by_authorization(session, Actor.system(), auth_ids)
        assert len(statements) == 1
        # Rendering needs no further query (provider and code come with the notes).
        assert [str(x.provider) for x in grouped[auth_ids[0]]] == [
            "Reyes, Dana", "Lee, Marcus", "Reyes, Dana"]
        assert [x.billing_code.code for x in grouped[auth_ids[1]]] == [
            "90834", "90834", "90837"]
        assert len(statements) == 1
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", record)
    assert ids(grouped[a["a34"].id]) == [n["released_34"], n["draft_34"], n["draft_37"]]
    assert ids(grouped[a["a37"].id]) == [n["released_34"], n["draft_34"], n["draft_37"]]
    assert ids(grouped[a["a32"].id]) == [n["released_32"]]           # the voided one is not
    assert grouped[a["free"].id] == []


def test_a_provider_gets_only_their_own_notes(session, chart, users):
    a, n = chart["auths"], chart["notes"]
    provider = Actor.for_user(session.get(User, users["provider"]))
    grouped = notes_by_authorization(session, provider, [a["a34"].id, a["a32"].id])
    assert ids(grouped[a["a34"].id]) == [n["released_34"], n["draft_37"]]
    assert grouped[a["a32"].id] == []


def test_the_partial_renders_each_auths_notes_with_links(app, chart, users):
    a, n = chart["auths"], chart["notes"]
    with app.test_request_context("/console/"), acting_as(db.session, Actor.system()):
        from flask_login import login_user
        login_user(db.session.get(User, users["support"]))
        auths = [db.session.merge(x) for x in a.values()]
        html = render_template_string(CHART, auths=auths,
                                      notes=notes_for_chart([x.id for x in auths]))
    block = {key: re.search(rf'id="auth-notes-{x.id}">(.*?)</div>', html, re.S).group(1)
             for key, x in a.items()}
    assert f'href="/console/notes/details/?id={n["draft_34"]}">Note N-{n["draft_34"]}</a>' \
        in block["a34"]
    assert "Draft (pending)" in block["a34"] and "Released" in block["a34"]
    assert "(via auth group)" in block["a37"] and "(via auth group)" not in block["a32"]
    assert f"N-{n['voided_32']}" not in block["a32"]
    assert "No draft or released notes." in block["free"]
    assert f'href="/console/notes/authorization/{a["a32"].id}/"' in block["a32"]


def test_the_notes_of_an_authorization_page(web, chart):
    a, n = chart["auths"], chart["notes"]
    page = web("billing").get(f"{NOTES}/authorization/{a['a32'].id}/")
    assert page.status_code == 200
    body = text(page)
    assert f"Notes of authorization {a['a32'].auth_number} (90832)" in body
    assert f"Note N-{n['released_32']}" in body and f"Note N-{n['voided_32']}" not in body
    list_link = re.search(r'href="([^"]*)">Open in the notes list', body).group(1)
    listed = web("billing").get(list_link.replace("&amp;", "&"))
    assert f"Note N-{n['voided_32']}" in text(listed)             # the full list has it
    assert f"Note N-{n['released_34']}" not in text(listed)
    provider = web("provider").get(f"{NOTES}/authorization/{a['a32'].id}/")
    assert f"Note N-{n['released_32']}" not in text(provider)       # Lee's note
    assert "No draft or released notes." in text(provider)


def render_chart_lines(app, user_id, auth_ids):
    """The chart's auth lines as the console renders them, for the logged-in ``user_id``
    (in a request of its own: its own ``g`` and database session)."""
    from flask_login import login_user

    def render():
        with app.test_request_context("/console/"):
            login_user(db.session.get(User, user_id))
            auths = [db.session.get(Authorization, i) for i in auth_ids]
            return render_template_string(CONSOLE_GRID, auths=auths,
                                          template=CHART_AUTH_LINE_TEMPLATE,
                                          extras=chart_context(auths[0].client, auths))

    html = contextvars.Context().run(render)
    return {i: re.search(rf'<section id="line-{i}">(.*?)</section>', html, re.S).group(1)
            for i in auth_ids}


def test_the_chart_extension_under_each_auth_line(app, session, chart, users):
    a, n = chart["auths"], chart["notes"]
    auths = [x.id for x in a.values()]
    lines = render_chart_lines(app, users["support"], auths)
    assert f"Note N-{n['draft_34']}" in lines[a["a34"].id]
    assert f"Note N-{n['released_32']}" in lines[a["a32"].id]
    assert "No draft or released notes." in lines[a["free"].id]
    assert "New note" not in lines[a["a34"].id]                 # support writes no notes
    lines = render_chart_lines(app, users["provider"], auths)
    assert f"Note N-{n['draft_34']}" not in lines[a["a34"].id]   # Lee's
    assert f"Note N-{n['draft_37']}" in lines[a["a34"].id]
    assert (f'/console/notes/new/?client_id={a["a32"].client_id}&amp;billing_code_id='
            f'{a["a32"].billing_code_id}">New note</a>') in lines[a["a32"].id]
    # A profile that may see authorizations but not notes sees no notes on the chart.
    reader = Profile(name="Auditor")
    reader.permissions = {VIEW_CLIENTS, VIEW_AUTHORIZATIONS}
    session.add(reader)
    session.get(User, users["billing"]).profile = reader
    session.commit()
    lines = render_chart_lines(app, users["billing"], auths)
    assert all("Notes" not in line for line in lines.values())
