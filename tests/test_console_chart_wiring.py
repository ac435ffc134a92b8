"""The client chart shows what the other areas contribute: each auth's notes under its line,
and a History tab (with each auth's history link) for profiles that may view the audit."""
import sqlalchemy as sa

from models import Authorization
from rules.clock import clinic_today
from rules.notes import create_note, release_note


def test_chart_shows_notes_and_history(app, web, users, session, make):
    client = make.client("Hanson", first_name="Mark")
    auth = make.auth(client, "90834", today=clinic_today(), allotted_units=12)
    provider_id = users["provider_id"]
    note = create_note(session, make.actor(), {
        "client_id": client.id, "provider_id": provider_id, "authorization_id": auth.id,
        "service_date": clinic_today(), "units": 2}, today=clinic_today())
    release_note(session, make.actor(), note.id, today=clinic_today())
    session.commit()
    url = f"/console/clients/chart/{client.id}/"

    admin_page = web("admin").get(url).get_data(as_text=True)
    assert f"N-{note.id}" in admin_page                       # the note under its auth line
    assert 'id="tab-history-link"' in admin_page and "Full history" in admin_page
    assert f"/console/audit/history/authorization/{auth.id}" in admin_page
    assert "released" in admin_page.lower()

    provider_page = web("provider").get(url).get_data(as_text=True)
    assert f"N-{note.id}" in provider_page                    # their own note
    assert 'id="tab-history-link"' not in provider_page       # no "view audit"
    assert "/console/audit/history/" not in provider_page
    remaining = session.scalar(sa.select(Authorization.remaining_units)
                               .where(Authorization.id == auth.id))
    assert remaining == 10
