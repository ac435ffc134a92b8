"""Client chart → Authorizations → "Bulk Add or Update" (rules 15 and 16 through the screen):
Add New Codes for the client; Update Codes Listed on every auth the tab lists — only the filled
fields, after a confirmation whose count is the number of rows changed; all or nothing."""
import sqlalchemy as sa

from bulk_support import (TABLES, add_form, auths_of, batch_id_of, batches, count_of, day,
                          iso, press, records_of, text, therapy_group, update_form)
from conftest import snapshot_tables
from hostile import database_state
from models import AuthGroup
from rules.clock import clinic_today


def chart_url(client):
    return f"/console/bulk/client/{client.id}/"


def test_the_chart_offers_bulk_add_or_update(web, session, make):
    client = make.client("Hanson", first_name="Mark")
    session.commit()
    page = web("support").get(f"/console/clients/chart/{client.id}/").get_data(as_text=True)
    assert chart_url(client) in page and "Bulk Add or Update" in page
    form = web("support").get(chart_url(client))
    body = text(form)
    assert form.status_code == 200
    for label in ("Billing Code Group", "Allotted Units", "Remaining Units", "Unit Alert Level",
                  "Exp. Alert Days", "Start Date", "End Date", "Unmanaged", "Auth Group",
                  "Insurance Company", "Add New Codes", "Update Codes Listed"):
        assert label in body
    raw = form.get_data(as_text=True)
    assert 'type="date"' in raw and 'type="number"' in raw


def test_add_new_codes_for_one_client(web, session, make):
    payer = make.payer("Aetna")
    client = make.client("Hanson", first_name="Mark", payers=[payer])
    other = make.client("Other")
    group = therapy_group(session, make)
    ag1 = session.scalar(sa.select(AuthGroup).where(AuthGroup.name == "Auth Group 1"))
    session.commit()
    support = web("support")
    response = support.post(chart_url(client), {
        **add_form(group.id, auth_group_id=str(ag1.id), insurance_company_id=str(payer.id)),
        "op": "add"})
    assert response.status_code == 302
    auths = auths_of(session, client)
    assert sorted(a.billing_code.code for a in auths) == ["90832", "90834", "90837", "90853"]
    assert {(a.allotted_units, a.remaining_units, a.unit_alert_level, a.exp_alert_days,
             a.start_date, a.end_date, a.auth_group_id, a.insurance_company_id, a.unmanaged,
             a.active, a.last_edited_by) for a in auths} == {
        (20, 20, 4, 30, day(-1), day(180), ag1.id, payer.id, False, True, "Support")}
    assert auths_of(session, other) == []
    [batch] = batches(session, "bulk_add")
    assert batch.row_count == 4
    assert {r.object_id for r in records_of(session, batch.id)} == {a.id for a in auths}
    result = support.get(response.headers["Location"])
    body = text(result)
    assert "Added 4 authorizations to Hanson, Mark" in body
    assert "Bulk Add: 4 authorizations" in body and "Undo this bulk update" in body


def test_add_refused_names_the_field_and_changes_nothing(web, session, make):
    client = make.client()
    group = therapy_group(session, make)
    session.commit()
    before = database_state(session, TABLES)
    response = web("support").post(chart_url(client), {
        **add_form(group.id, end_date=iso(-30)), "op": "add"})
    assert response.status_code == 422
    assert "End Date: must be on or after the start date" in text(response)
    assert 'class="invalid-feedback"' in response.get_data(as_text=True)
    assert database_state(session, TABLES) == before


def _three_auths(session, make):
    client = make.client("Garcia", first_name="Ana")
    auths = [make.auth(client, code, today=clinic_today(), start_date=day(-20),
                       end_date=day(40), allotted_units=12, unit_alert_level=2,
                       exp_alert_days=10) for code in ("90832", "90834", "90837")]
    other = make.auth(make.client("Other"), today=clinic_today(), end_date=day(40))
    session.commit()
    return client, auths, other


def test_update_codes_listed_writes_only_the_filled_fields_after_a_confirmation(
        web, session, make):
    client, auths, other = _three_auths(session, make)
    support = web("support")
    form = support.get(chart_url(client))
    assert count_of(form, "bulk-listed") == 3
    before = database_state(session, TABLES)
    confirm = support.post(chart_url(client), {**update_form(end_date=iso(120)), "op": "update"})
    assert confirm.status_code == 200
    body = text(confirm)
    assert count_of(confirm, "bulk-count") == 3
    assert "of the 3 listed" in body and "End Date → " + iso(120) in body
    for a in auths:  # the preview: before → after of each row
        assert a.auth_number in body
    assert f"{iso(40)} → {iso(120)}" in body
    assert database_state(session, TABLES) == before  # nothing written yet
    done = press(support, chart_url(client), confirm, "apply_update")
    assert done.status_code == 302
    after = auths_of(session, client)
    assert [(a.end_date, a.allotted_units, a.remaining_units, a.unit_alert_level,
             a.exp_alert_days, a.version, a.last_edited_by) for a in after] == \
        [(day(120), 12, 12, 2, 10, 2, "Support")] * 3
    [untouched] = auths_of(session, other.client)
    assert (untouched.end_date, untouched.version) == (day(40), 1)
    records = records_of(session, batch_id_of(done))
    assert len(records) == 3  # the confirmation's count is the number of rows changed
    assert all(r.changes == {"end_date": [iso(40), iso(120)]} for r in records)
    assert "Updated 3 authorizations: End Date = " + iso(120) in text(support.get(
        done.headers["Location"]))


def test_rows_that_already_have_the_values_are_not_counted(web, session, make):
    client, auths, _ = _three_auths(session, make)
    support = web("support")
    no_button = support.post(chart_url(client), update_form(unit_alert_level="3"))
    assert no_button.status_code == 400
    assert "Choose “Add New Codes” or “Update Codes Listed”" in text(no_button)
    confirm = support.post(chart_url(client), {**update_form(unit_alert_level="2",
                                                             exp_alert_days="15"),
                                               "op": "update"})
    assert count_of(confirm, "bulk-count") == 3
    same = support.post(chart_url(client), {**update_form(unit_alert_level="2"), "op": "update"})
    assert "Nothing to change: the 3 listed authorizations already have these values" in \
        text(same)


def test_a_chart_without_auths_has_nothing_to_update(web, session, make):
    client = make.client()
    session.commit()
    response = web("support").post(chart_url(client), {**update_form(exp_alert_days="4"),
                                                       "op": "update"})
    assert response.status_code == 200
    assert "No authorization is listed: there is nothing to update." in text(response)


def test_one_invalid_row_stops_everything_and_is_named(web, session, make):
    client = make.client("Garcia", first_name="Ana")
    ok = make.auth(client, "90834", today=clinic_today(), start_date=day(-5), end_date=day(40))
    late = make.auth(client, "90837", today=clinic_today(), start_date=day(20),
                     end_date=day(60))
    session.commit()
    support = web("support")
    before = snapshot_tables(session, "authorizations", "audit_records", "audit_batches")
    response = support.post(chart_url(client), {**update_form(end_date=iso(10)),
                                                "op": "update"})
    assert response.status_code == 422
    body = text(response)
    assert "1 of the 2 listed authorizations would be invalid" in body
    assert (f"{late.auth_number} (90837) – Garcia, Ana: End Date must be on or after the "
            f"start date ({iso(20)})") in body
    assert ok.auth_number not in body
    # the apply step refuses too, even if posted directly
    forged = support.post(chart_url(client), {**update_form(end_date=iso(10)),
                                              "op": "apply_update", "expected_count": "1"})
    assert forged.status_code == 422 and late.auth_number in text(forged)
    session.rollback()
    assert snapshot_tables(session, "authorizations", "audit_records", "audit_batches") == before


def test_the_count_confirmed_must_still_hold(web, session, make):
    client, auths, _ = _three_auths(session, make)
    support = web("support")
    confirm = support.post(chart_url(client), {**update_form(exp_alert_days="21"),
                                               "op": "update"})
    assert count_of(confirm, "bulk-count") == 3
    make.auth(client, "90853", today=clinic_today(), end_date=day(30))  # a new listed auth
    session.commit()
    before = database_state(session, TABLES)
    stale = press(support, chart_url(client), confirm, "apply_update")
    assert stale.status_code == 409
    assert "4 would change now, not 3" in text(stale)
    assert database_state(session, TABLES) == before
    back = press(support, chart_url(client), confirm, "edit")  # "Change the values"
    assert back.status_code == 200 and 'value="21"' in back.get_data(as_text=True)


def test_active_status_and_last_edited_follow_the_update_and_its_undo(web, session, make):
    client, auths, _ = _three_auths(session, make)
    stamped = {a.last_edited_at for a in auths_of(session, client)}
    support = web("support")
    confirm = support.post(chart_url(client), {**update_form(end_date=iso(-1)), "op": "update"})
    done = press(support, chart_url(client), confirm, "apply_update")
    ended = auths_of(session, client)
    assert {(a.active, a.end_date, a.last_edited_by) for a in ended} == \
        {(False, day(-1), "Support")}  # ended yesterday: inactive at once (rule 5)
    assert not stamped & {a.last_edited_at for a in ended}
    undo = support.post(f"/console/bulk/batch/{batch_id_of(done)}/undo", {})
    assert undo.status_code == 302
    assert {(a.active, a.end_date) for a in auths_of(session, client)} == {(True, day(40))}
