"""rules.billing: the payer of the claim (rule 8), the charge (rule 9), inpatient (rule 10) — as
computed alone and as stamped on the notes."""
from __future__ import annotations

from decimal import Decimal

import pytest

from conftest import TODAY
from rules.billing import charge_for, payer_for
from rules.notes import create_note, update_note


def write(session, actor, client, provider, auth, units=1):
    return create_note(session, actor, {
        "client_id": client.id, "provider_id": provider.id, "authorization_id": auth.id,
        "service_date": TODAY, "units": units}, today=TODAY)


# --- Rule 8 -------------------------------------------------------------------------------------

def test_payer_is_the_auths_insurance_company_else_the_clients_primary(session, make):
    primary, secondary = make.payer("Blue Cross"), make.payer("Medicaid")
    client, provider, admin = make.client(payers=[primary, secondary]), make.provider(), \
        make.actor()
    plain = make.auth(client, "90834")
    secondary_auth = make.auth(client, "90837", insurance_company_id=secondary.id)
    assert payer_for(plain, client).name == "Blue Cross"
    assert payer_for(secondary_auth, client).name == "Medicaid"
    assert write(session, admin, client, provider, plain).payer.name == "Blue Cross"
    note = write(session, admin, client, provider, secondary_auth)
    assert note.payer.name == "Medicaid"
    # Moving the draft to another auth re-prices it.
    update_note(session, admin, note.id, {"authorization_id": plain.id,
                                          "billing_code_id": plain.billing_code_id},
                today=TODAY)
    assert note.payer.name == "Blue Cross"


def test_no_payer_on_file_is_self_pay(session, make):
    client, provider, admin = make.client(), make.provider(), make.actor()
    auth = make.auth(client)
    assert payer_for(auth, client) is None
    assert write(session, admin, client, provider, auth).payer_id is None


# --- Rule 9 -------------------------------------------------------------------------------------

@pytest.mark.parametrize("rate,units,scale,charge", [
    ("110.00", 1, None, "110.00"),
    ("22.00", 4, None, "88.00"),
    ("110.00", 2, "40", "88.00"),
    ("75.00", 3, "12.5", "28.13"),     # 28.125 rounds half up
    ("110.00", 1, "33.33", "36.66"),   # 36.663
    ("40.00", 1, "0.01", "0.00"),      # 0.004
    ("40.00", 3, "0", "0.00"),
    ("150.00", 2, "100", "300.00"),
])
def test_charge_is_rate_times_units_times_sliding_scale(rate, units, scale, charge):
    assert charge_for(Decimal(rate), units, None if scale is None else Decimal(scale)) == \
        Decimal(charge)


def test_notes_carry_the_charge(session, make):
    client, provider, admin = make.client(), make.provider(), make.actor()
    full = make.auth(client, "90834")                              # 110.00 a unit
    scaled = make.auth(client, "90832", sliding_scale_pct="12.5")  # 75.00 a unit
    assert scaled.sliding_scale_pct == Decimal("12.50")
    assert write(session, admin, client, provider, full, units=2).charge == Decimal("220.00")
    note = write(session, admin, client, provider, scaled, units=3)
    assert note.charge == Decimal("28.13")
    update_note(session, admin, note.id, {"units": 1}, today=TODAY)
    assert note.charge == Decimal("9.38")  # 9.375


# --- Rule 10 ------------------------------------------------------------------------------------

def test_an_inpatient_auth_marks_its_notes_inpatient(session, make):
    client, provider, admin = make.client(), make.provider(), make.actor()
    inpatient = make.auth(client, "H2019", inpatient=True, allotted_units=80)
    outpatient = make.auth(client, "90834")
    note = write(session, admin, client, provider, inpatient, units=4)
    assert note.inpatient is True
    assert write(session, admin, client, provider, outpatient).inpatient is False
    update_note(session, admin, note.id, {"authorization_id": outpatient.id,
                                          "billing_code_id": outpatient.billing_code_id,
                                          "units": 1}, today=TODAY)
    assert note.inpatient is False
