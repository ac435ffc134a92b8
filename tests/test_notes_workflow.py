"""Issue 4, points 3–5 through the screens: drafts hold pending units (edit and delete move
them), release (single, and bulk all-or-nothing naming the notes that cannot be), void with a
reason; the source's auth-group example end to end; crafted posts that are refused and change
nothing; a provider cannot reach another provider's note by URL."""
import re

import pytest

from conftest import snapshot_tables
from models import Authorization, Note, NoteClaim
from notes_support import (NOTES, auth_group, day, flashes, new_note, note_id_from, release,
                           status_of, text, today, units_of)
from notes_support import web  # noqa: F401  (fixture)

TABLES = (Authorization, Note, NoteClaim)


@pytest.fixture
def chart(make, session, users):
    """A client with two auths (90834: 5 units, 90837: 5 units) and the provider user's id."""
    client = make.client("Hanson", first_name="Mark")
    a = make.auth(client, "90834", today=today(), allotted_units=5)
    b = make.auth(client, "90837", today=today(), allotted_units=5)
    session.commit()
    return client, a, b, users["provider_id"]


def test_a_draft_holds_pending_edits_move_it_and_delete_gives_it_back(web, session, chart):
    client, a, b, me = chart
    provider = web("provider")
    note_id = note_id_from(new_note(provider, client_id=client.id, provider_id=me,
                                    auth_id=a.id, units=2))
    assert units_of(session, a) == (5, 5, 2) and status_of(session, note_id) == "draft"

    edit = f"{NOTES}/edit/?id={note_id}"
    page = provider.get(edit)
    assert page.status_code == 200 and re.search(
        rf'id="auth-{a.id}"[^>]*checked', text(page))
    # The draft's own 2 units count as available to it while it is edited.
    assert f"{a.auth_number} · 5 available" in text(page)
    same = {"provider_id": me, "service_date": day(-1), "authorization_id": a.id}
    saved = provider.post(edit, {**same, "units": 4})
    assert note_id_from(saved) == note_id
    assert units_of(session, a) == (5, 5, 4)
    assert "4 units pending on" in flashes(provider.get(saved.headers["Location"]))

    provider.post(edit, {**same, "authorization_id": b.id, "units": 4})   # switch the code
    assert units_of(session, a) == (5, 5, 0) and units_of(session, b) == (5, 5, 4)
    assert session.get(Note, note_id).billing_code.code == "90837"

    before = snapshot_tables(session, *TABLES)
    too_many = provider.post(edit, {**same, "authorization_id": b.id, "units": 6})
    assert too_many.status_code == 409
    assert f"{b.auth_number} (90837) has 5 units left; this note needs 6." in flashes(too_many)
    assert snapshot_tables(session, *TABLES) == before

    deleted = provider.post(f"{NOTES}/delete/", {"id": note_id})
    assert deleted.status_code == 302
    assert units_of(session, b) == (5, 5, 0) and status_of(session, note_id) is None
    assert "4 units pending on" in flashes(provider.get(deleted.headers["Location"]))


def test_release_moves_pending_to_used_and_the_note_becomes_read_only(web, session, chart):
    client, a, _, me = chart
    note_id = note_id_from(new_note(web("provider"), client_id=client.id, provider_id=me,
                                    auth_id=a.id, units=2))
    billing = web("billing")
    page = text(billing.get(f"{NOTES}/details/?id={note_id}"))
    assert "Release note" in page and "Edit draft" not in page      # billing: no write_notes
    done = release(billing, note_id)
    assert done.status_code == 302
    assert (f"Note N-{note_id} released: 2 units used on {a.auth_number} (90834)."
            in flashes(billing.get(done.headers["Location"])))
    assert units_of(session, a) == (5, 3, 0) and status_of(session, note_id) == "released"

    provider = web("provider")
    page = text(provider.get(f"{NOTES}/details/?id={note_id}"))
    assert "Edit draft" not in page and "Delete draft" not in page
    refused = provider.get(f"{NOTES}/edit/?id={note_id}")
    assert refused.status_code == 302
    assert "only draft notes can be changed" in flashes(provider.get(refused.headers["Location"]))
    before = snapshot_tables(session, *TABLES)
    crafted = provider.post(f"{NOTES}/edit/?id={note_id}", {
        "provider_id": me, "service_date": day(-1), "authorization_id": a.id, "units": 1})
    assert crafted.status_code == 302
    crafted = provider.post(f"{NOTES}/delete/", {"id": note_id})
    assert "only draft notes can be changed" in flashes(provider.get(crafted.headers["Location"]))
    assert snapshot_tables(session, *TABLES) == before


def test_a_released_notes_units_cannot_be_used_twice(web, session, chart):
    client, a, _, me = chart
    note_id = note_id_from(new_note(web("provider"), client_id=client.id, provider_id=me,
                                    auth_id=a.id, units=2))
    billing = web("billing")
    release(billing, note_id)
    before = snapshot_tables(session, *TABLES)
    again = release(billing, note_id)
    assert f"Note N-{note_id}: already released" in flashes(billing.get(again.headers["Location"]))
    bulk = billing.post(f"{NOTES}/action/", {"action": "release", "rowid": [note_id]})
    assert f"Note N-{note_id}: already released" in flashes(billing.get(bulk.headers["Location"]))
    assert snapshot_tables(session, *TABLES) == before
    assert units_of(session, a) == (5, 3, 0)


def test_bulk_release_is_all_or_nothing_and_names_the_failing_notes(web, session, chart):
    client, a, b, me = chart
    provider = web("provider")
    drafts = [note_id_from(new_note(provider, client_id=client.id, provider_id=me,
                                    auth_id=auth.id)) for auth in (a, a, b)]
    billing = web("billing")
    release(billing, drafts[2])
    before = snapshot_tables(session, *TABLES)
    response = billing.post(f"{NOTES}/action/", {"action": "release", "rowid": drafts})
    message = flashes(billing.get(response.headers["Location"]))
    assert "No note was released: 1 of 3 cannot be." in message
    assert f"Note N-{drafts[2]}: already released" in message
    assert snapshot_tables(session, *TABLES) == before
    assert [status_of(session, i) for i in drafts[:2]] == ["draft", "draft"]

    response = billing.post(f"{NOTES}/action/", {"action": "release", "rowid": drafts[:2]})
    assert (f"Released 2 notes: Note N-{drafts[0]}, Note N-{drafts[1]}."
            in flashes(billing.get(response.headers["Location"])))
    assert units_of(session, a) == (5, 3, 0) and units_of(session, b) == (5, 4, 0)


def test_void_gives_units_back_and_reactivates_the_auth(web, make, session, users):
    client = make.client()
    auth = make.auth(client, "90834", today=today(), allotted_units=2)
    session.commit()
    note_id = note_id_from(new_note(web("provider"), client_id=client.id,
                                    provider_id=users["provider_id"], auth_id=auth.id, units=2))
    billing = web("billing")
    release(billing, note_id)
    assert units_of(session, auth) == (2, 0, 0)
    assert session.get(Authorization, auth.id).active is False        # rule 5: no units left
    assert "Inactive" in text(billing.get(f"{NOTES}/authorization/{auth.id}/"))

    assert web("provider").get(f"{NOTES}/void/?id={note_id}").status_code == 403
    form = billing.get(f"{NOTES}/void/?id={note_id}")
    assert form.status_code == 200 and 'name="reason"' in text(form)
    before = snapshot_tables(session, *TABLES)
    blank = billing.post(f"{NOTES}/void/?id={note_id}", {"reason": "   "})
    assert blank.status_code == 422 and "Reason is required" in text(blank)
    assert snapshot_tables(session, *TABLES) == before

    voided = billing.post(f"{NOTES}/void/?id={note_id}", {"reason": "Wrong client"})
    page = billing.get(voided.headers["Location"])
    assert (f"Note N-{note_id} voided: 2 units given back to {auth.auth_number} (90834)."
            in flashes(page))
    assert "Wrong client" in re.search(r'id="note-void">(.*?)</dd>', text(page), re.S).group(1)
    assert units_of(session, auth) == (2, 2, 0) and status_of(session, note_id) == "voided"
    assert session.get(Authorization, auth.id).active is True
    assert "Active" in text(billing.get(f"{NOTES}/authorization/{auth.id}/"))
    again = billing.post(f"{NOTES}/void/?id={note_id}", {"reason": "twice"})
    assert again.status_code == 409 and "only released notes can be voided" in flashes(again)
    assert units_of(session, auth) == (2, 2, 0)


def test_the_group_example_end_to_end(web, make, session, users):
    """Rule 3, the source's example: 20 sessions across 90832, 90834, 90837 and 90853 in one
    auth group → 20 notes in any mix of the codes are released, the 21st is refused."""
    client = make.client("Hanson", first_name="Mark")
    group = auth_group(session)
    auths = [make.auth(client, code, today=today(), allotted_units=20, auth_group_id=group.id)
             for code in ("90832", "90834", "90837", "90853")]
    session.commit()
    me = users["provider_id"]
    provider, billing = web("provider"), web("billing")
    mix = [auths[i % 4] for i in range(9)] + [auths[1]] * 7 + [auths[3]] * 4
    drafts = [note_id_from(new_note(provider, client_id=client.id, provider_id=me,
                                    auth_id=auth.id, service_date=day(-1 - i % 25)))
              for i, auth in enumerate(mix)]
    assert {units_of(session, a) for a in auths} == {(20, 20, 20)}
    for note_id in drafts[:5]:
        release(billing, note_id)
    response = billing.post(f"{NOTES}/action/", {"action": "release", "rowid": drafts[5:]})
    assert "Released 15 notes" in flashes(billing.get(response.headers["Location"]))
    assert {units_of(session, a) for a in auths} == {(20, 0, 0)}

    page = provider.get(f"{NOTES}/new/", query_string={"client_id": client.id,
                                                      "service_date": day(-1)})
    assert 'name="authorization_id"' not in text(page)
    assert f"{auths[2].auth_number} (90837) has no units left in its auth group." in text(page)
    before = snapshot_tables(session, *TABLES)
    refused = new_note(provider, client_id=client.id, provider_id=me, auth_id=auths[2].id)
    assert refused.status_code == 409
    assert (f"Authorization {auths[0].auth_number} (90832) has no units left; this note needs 1."
            f" It shares its units with {auths[2].auth_number} (90837) through their auth group."
            in flashes(refused))
    assert snapshot_tables(session, *TABLES) == before


def test_crafted_posts_for_another_clients_auth_are_refused(web, make, session, chart):
    client, a, _, me = chart
    other = make.client("Other", first_name="Olga")
    foreign = make.auth(other, "90834", today=today(), allotted_units=5)
    session.commit()
    provider = web("provider")
    before = snapshot_tables(session, *TABLES)
    response = new_note(provider, client_id=client.id, provider_id=me, auth_id=foreign.id)
    assert response.status_code == 422
    assert "Authorization: is not an authorization of this client" in flashes(response)
    assert snapshot_tables(session, *TABLES) == before

    note_id = note_id_from(new_note(provider, client_id=client.id, provider_id=me,
                                    auth_id=a.id))
    before = snapshot_tables(session, *TABLES)
    response = provider.post(f"{NOTES}/edit/?id={note_id}", {
        "provider_id": me, "service_date": day(-1), "authorization_id": foreign.id,
        "units": 1})
    assert response.status_code == 422
    assert "is not an authorization of this client" in flashes(response)
    assert snapshot_tables(session, *TABLES) == before
    for nonsense in ({"client_id": "x"}, {"units": "1.5"}, {"service_date": "yesterday"}):
        data = {"client_id": client.id, "provider_id": me, "authorization_id": a.id,
                "units": 1, "service_date": day(-1), **nonsense}
        assert provider.post(f"{NOTES}/new/", data).status_code == 422
    assert snapshot_tables(session, *TABLES) == before


def test_a_provider_cannot_reach_another_providers_note_by_url(web, make, session, chart):
    client, a, _, me = chart
    lee = make.provider("Lee")
    session.commit()
    admin = web("admin")
    theirs = note_id_from(new_note(admin, client_id=client.id, provider_id=lee.id,
                                   auth_id=a.id))
    mine = note_id_from(new_note(admin, client_id=client.id, provider_id=me, auth_id=a.id))
    provider = web("provider")
    assert provider.get(f"{NOTES}/details/?id={mine}").status_code == 200
    before = snapshot_tables(session, *TABLES)
    assert provider.get(f"{NOTES}/details/?id={theirs}").status_code == 404
    assert provider.get(f"{NOTES}/edit/?id={theirs}").status_code == 404
    assert provider.post(f"{NOTES}/edit/?id={theirs}", {"units": 3}).status_code == 404
    assert provider.post(f"{NOTES}/delete/", {"id": theirs}).status_code == 404
    assert provider.get(f"{NOTES}/details/?id=abc").status_code == 404
    assert release(provider, theirs).status_code == 403           # no release_notes at all
    assert provider.get(f"{NOTES}/void/?id={theirs}").status_code == 403
    assert snapshot_tables(session, *TABLES) == before
    assert status_of(session, theirs) == "draft"
