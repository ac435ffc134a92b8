"""Issue 4, points 1, 2 and 6 through the screens: the new-note form offers exactly the usable
authorizations (rule 6) with their units available and the default preselected (rule 7), says
why none is usable, fixes a provider user to themselves; a note shows its payer, charge and
inpatient mark (rules 8–10); over-utilization is refused, or overridden and recorded by a user
whose profile allows it."""
import datetime as dt
import re

import sqlalchemy as sa

from conftest import snapshot_tables
from models import Authorization, Note, NoteClaim
from notes_support import (NOTES, day, flashes, new_note, note_id_from, text, today,
                           units_of)
from notes_support import web  # noqa: F401  (fixture)

TABLES = (Authorization, Note, NoteClaim)


def form(client, client_id, provider_id=None, service_date=None, **params):
    query = {"client_id": client_id, "service_date": service_date or day(-1), **params}
    if provider_id is not None:
        query["provider_id"] = provider_id
    return client.get(f"{NOTES}/new/", query_string=query)


def offered(response) -> dict[int, str]:
    """auth id → the label of each billing-code choice on the form."""
    page = text(response)
    return {int(i): " ".join(label.split()) for i, label in re.findall(
        r'name="authorization_id" id="auth-(\d+)".*?<label[^>]*>(.*?)</label>', page, re.S)}


def checked(response) -> int | None:
    match = re.search(r'name="authorization_id" id="auth-(\d+)"[^>]*\bchecked', text(response))
    return int(match.group(1)) if match else None


def units_value(response) -> str:
    return re.search(r'id="units" name="units"[^>]*value="([^"]*)"', text(response)).group(1)


def test_choices_are_exactly_the_usable_auths_with_units_and_default(web, make, session,
                                                                     users):
    provider_id = users["provider_id"]
    other = make.provider("Lee")
    client = make.client("Hanson", first_name="Mark")
    t = today()
    default = make.auth(client, "90834", today=t, allotted_units=6, is_default=True)
    low = make.auth(client, "H2019", today=t, allotted_units=8, remaining_units=5)
    make.auth(client, "96127", today=t, exclude_from_notes=True)
    make.auth(client, "90832", today=t, specific_provider_id=other.id)
    make.auth(client, "90853", today=t, start_date=t - dt.timedelta(days=400),
              end_date=t - dt.timedelta(days=300))
    make.auth(client, "90791", today=t, allotted_units=3, remaining_units=0)
    free = make.auth(client, "H0031", today=t, allotted_units=0, unmanaged=True)
    session.commit()
    admin = web("admin")
    assert note_id_from(new_note(admin, client_id=client.id, provider_id=provider_id,
                                 auth_id=default.id, units=2))

    page = form(admin, client.id, provider_id)
    assert page.status_code == 200
    choices = offered(page)
    assert set(choices) == {default.id, low.id, free.id}
    assert f"{default.auth_number} · 4 available" in choices[default.id]
    assert "default" in choices[default.id]
    assert f"{low.auth_number} · 5 available" in choices[low.id]
    assert "unlimited" in choices[free.id]
    assert checked(page) == default.id                 # rule 7
    assert units_value(page) == "1"                    # 90834's default units
    # A code chosen beforehand is preselected, with that code's default units.
    page = form(admin, client.id, provider_id, billing_code_id=make.code("H2019").id)
    assert checked(page) == low.id and units_value(page) == "4"


def test_the_units_default_to_the_billing_codes_default_units(web, make, session, users):
    client = make.client()
    auth = make.auth(client, "H2019", today=today(), allotted_units=40)
    session.commit()
    note_id = note_id_from(new_note(web("provider"), client_id=client.id,
                                    provider_id=users["provider_id"], auth_id=auth.id, units=""))
    assert session.get(Note, note_id).units == 4
    assert units_of(session, auth) == (40, 40, 4)


def test_finding_the_client_by_name(web, make, session, users):
    hanson = make.client("Hanson", first_name="Mark")
    make.client("Hansen", first_name="Ida")
    make.client("Garcia", first_name="Ava")
    session.commit()
    admin = web("admin")
    both = admin.get(f"{NOTES}/new/", query_string={"client_q": "hans"})
    assert "Hanson, Mark" in text(both) and "Hansen, Ida" in text(both)
    assert "Garcia" not in text(both)
    one = admin.get(f"{NOTES}/new/", query_string={"client_q": "Hanson, M",
                                                 "provider_id": users["provider_id"]})
    assert f'name="client_id" value="{hanson.id}"' in text(one)
    assert "Show billing codes" in text(one)


def test_a_note_dated_after_the_auth_ended_says_why(web, make, session, users):
    client = make.client("Hanson", first_name="Mark")
    t = today()
    auth = make.auth(client, "90834", today=t, start_date=t - dt.timedelta(days=90),
                     end_date=t - dt.timedelta(days=10))
    session.commit()
    late = day(-5)
    provider = web("provider")
    page = form(provider, client.id, service_date=late)
    assert offered(page) == {}
    assert "Hanson, Mark cannot be documented on for" in text(page)
    assert (f"{auth.auth_number} (90834) ended on {auth.end_date.isoformat()}; the service date "
            f"{late} is after it.") in text(page)
    assert 'id="note-details" class="d-none"' in text(page)   # no save without a code
    # Posting the auth anyway is refused with the same reason, and changes nothing.
    before = snapshot_tables(session, *TABLES)
    response = new_note(provider, client_id=client.id, provider_id=users["provider_id"],
                        auth_id=auth.id, service_date=late)
    assert response.status_code == 409
    assert f"ended on {auth.end_date.isoformat()}" in flashes(response)
    assert snapshot_tables(session, *TABLES) == before


def test_the_other_reasons_none_is_usable(web, make, session, users):
    client = make.client("Hanson", first_name="Mark")
    t = today()
    excluded = make.auth(client, "96127", today=t, exclude_from_notes=True)
    empty = make.auth(client, "90834", today=t, allotted_units=3, remaining_units=0)
    future = make.auth(client, "90837", today=t, start_date=t + dt.timedelta(days=30),
                       end_date=t + dt.timedelta(days=120))
    bare = make.client("Nobody", first_name="Has")
    session.commit()
    page = text(form(web("provider"), client.id))
    assert f"{excluded.auth_number} (96127) is excluded from notes." in page
    assert f"{empty.auth_number} (90834) has no units left." in page
    assert f"{future.auth_number} (90837) starts on {future.start_date.isoformat()}" in page
    page = text(form(web("provider"), bare.id))
    assert "Nobody, Has has no authorizations. Ask support staff to add one" in page


def test_specific_provider_only(web, make, session, users):
    natarajan = make.provider("Natarajan", first_name="Priya")
    client = make.client()
    auth = make.auth(client, "90837", today=today(), specific_provider_id=natarajan.id)
    session.commit()
    provider = web("provider")                        # Dana Reyes
    page = form(provider, client.id)
    assert offered(page) == {}
    assert f"{auth.auth_number} (90837) may only be used by Natarajan, Priya." in text(page)
    before = snapshot_tables(session, *TABLES)
    response = new_note(provider, client_id=client.id, provider_id=users["provider_id"],
                        auth_id=auth.id)
    assert response.status_code == 409 and "may only be used by Natarajan" in flashes(response)
    assert snapshot_tables(session, *TABLES) == before
    # The named provider may use it.
    admin = web("admin")
    assert set(offered(form(admin, client.id, natarajan.id))) == {auth.id}
    note_id = note_id_from(new_note(admin, client_id=client.id, provider_id=natarajan.id,
                                    auth_id=auth.id))
    assert session.get(Note, note_id).provider_id == natarajan.id


def test_a_provider_writes_only_as_themselves(web, make, session, users):
    lee = make.provider("Lee", first_name="Marcus")
    client = make.client()
    auth = make.auth(client, "90834", today=today())
    session.commit()
    provider = web("provider")
    page = form(provider, client.id, provider_id=lee.id)   # the field is fixed to them
    assert '<select id="provider_id"' not in text(page)
    assert "Reyes, Dana" in text(page) and "Lee, Marcus" not in text(page)
    assert 'name="provider_id" value="%d"' % users["provider_id"] in text(page)
    before = snapshot_tables(session, *TABLES)
    crafted = new_note(provider, client_id=client.id, provider_id=lee.id, auth_id=auth.id)
    assert crafted.status_code == 403
    assert "You may only write notes as yourself." in flashes(crafted)
    assert snapshot_tables(session, *TABLES) == before
    note_id = note_id_from(new_note(provider, client_id=client.id,
                                    provider_id=users["provider_id"], auth_id=auth.id))
    assert session.get(Note, note_id).provider_id == users["provider_id"]


def test_only_note_writers_open_the_form(web, make, session):
    client = make.client()
    session.commit()
    for role in ("support", "billing"):
        assert web(role).get(f"{NOTES}/new/", query_string={"client_id": client.id}) \
            .status_code == 403
    assert web().get(f"{NOTES}/new/").status_code == 302          # to the login page


def test_the_note_shows_payer_charge_and_inpatient(web, make, session, users):
    bcbs, aetna = make.payer("Blue Cross Blue Shield"), make.payer("Aetna")
    client = make.client(payers=[bcbs, aetna])
    t = today()
    plain = make.auth(client, "90834", today=t)                             # $110.00 a unit
    scaled = make.auth(client, "H2019", today=t, allotted_units=40, sliding_scale_pct="40",
                       insurance_company_id=aetna.id, inpatient=True)        # $22.00 a unit
    self_pay = make.client()
    bare = make.auth(self_pay, "90837", today=t)
    session.commit()
    provider = web("provider")
    me = users["provider_id"]

    page = text(provider.get(provider.post(f"{NOTES}/new/", {
        "client_id": client.id, "provider_id": me, "authorization_id": plain.id,
        "units": 2, "service_date": day(-1)}).headers["Location"]))
    assert re.search(r'id="note-payer">Blue Cross Blue Shield<', page)       # client's primary
    assert re.search(r'id="note-charge">\$220\.00<', page)
    assert re.search(r'id="note-inpatient">No<', page)

    page = text(provider.get(new_note(provider, client_id=client.id, provider_id=me,
                                      auth_id=scaled.id, units=5).headers["Location"]))
    assert re.search(r'id="note-payer">Aetna<', page)                        # the auth's payer
    assert re.search(r'id="note-charge">\$44\.00<', page)                    # 22 × 5 × 40 %
    assert re.search(r'id="note-inpatient">Yes<', page)
    assert "badge-info ml-2\">Inpatient" in page

    page = text(provider.get(new_note(provider, client_id=self_pay.id, provider_id=me,
                                      auth_id=bare.id).headers["Location"]))
    assert "Self-pay (no payer on file)" in page


def test_over_utilization_is_refused_naming_the_auth_and_units_left(web, make, session, users):
    client = make.client()
    auth = make.auth(client, "90834", today=today(), allotted_units=3, remaining_units=1)
    session.commit()
    before = snapshot_tables(session, *TABLES)
    provider = web("provider")                       # may not exceed authorized units
    response = new_note(provider, client_id=client.id, provider_id=users["provider_id"],
                        auth_id=auth.id, units=3)
    assert response.status_code == 409
    assert (f"Authorization {auth.auth_number} (90834) has 1 unit left; this note needs 3."
            in flashes(response))
    assert "Override: give a reason" not in text(response)
    # Posting an override anyway is refused too.
    crafted = new_note(provider, client_id=client.id, provider_id=users["provider_id"],
                       auth_id=auth.id, units=3, confirm_override="1",
                       override_reason="the payer said so")
    assert crafted.status_code == 403
    assert "does not allow you to exceed authorized units" in flashes(crafted)
    assert snapshot_tables(session, *TABLES) == before


def test_an_allowed_user_confirms_an_override_which_is_recorded(web, make, session, users):
    client = make.client()
    auth = make.auth(client, "90834", today=today(), allotted_units=2)
    session.commit()
    before = snapshot_tables(session, *TABLES)
    admin = web("admin")                             # Administrator: exceed_authorized_units
    data = {"client_id": client.id, "provider_id": users["provider_id"], "auth_id": auth.id,
            "units": 3}
    first = new_note(admin, **data)
    assert first.status_code == 409
    assert f"{auth.auth_number} (90834) has 2 units left; this note needs 3." in flashes(first)
    assert "Override: give a reason" in text(first) and "Confirm override" in text(first)
    no_reason = new_note(admin, **data, confirm_override="1", override_reason="  ")
    assert no_reason.status_code == 422 and "give a reason for the override" in text(no_reason)
    assert snapshot_tables(session, *TABLES) == before

    note_id = note_id_from(new_note(admin, **data, confirm_override="1",
                                    override_reason="Payer approved by phone, ref 4471"))
    note = session.get(Note, note_id)
    assert (note.override_by, note.override_reason) == ("Admin",
                                                        "Payer approved by phone, ref 4471")
    assert units_of(session, auth) == (2, 2, 3)
    page = text(admin.get(f"{NOTES}/details/?id={note_id}"))
    override = re.search(r'id="note-override">(.*?)</dd>', page, re.S).group(1)
    assert "by Admin" in override and "Payer approved by phone, ref 4471" in override


def test_choices_json_for_the_forms_script(web, make, session, users):
    client = make.client()
    auth = make.auth(client, "90834", today=today(), allotted_units=5, is_default=True)
    session.commit()
    provider = web("provider")
    data = provider.get(f"{NOTES}/choices.json", query_string={
        "client_id": client.id, "provider_id": users["provider_id"],
        "service_date": day(-1)}).get_json()
    assert data["choices"] == [{"authorization_id": auth.id, "available": 5,
                                "default_units": 1, "is_default": True,
                                "label": f"90834 – Psychotherapy, 45 minutes · "
                                         f"{auth.auth_number} · 5 available"}]
    late = provider.get(f"{NOTES}/choices.json", query_string={
        "client_id": client.id, "provider_id": users["provider_id"],
        "service_date": (auth.end_date + dt.timedelta(days=1)).isoformat()})
    assert late.get_json()["choices"] == [] and "ended on" in late.get_json()["reasons"][0]
    assert web("billing").get(f"{NOTES}/choices.json").status_code == 403
    assert session.scalar(sa.select(sa.func.count()).select_from(Note)) == 0
