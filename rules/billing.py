"""What a note bills: the payer of the claim (rule 8), the charge (rule 9), inpatient (rule 10)."""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from models import Authorization, Client, InsuranceCompany

CENT = Decimal("0.01")


def payer_for(auth: Authorization, client: Client) -> InsuranceCompany | None:
    """The auth's insurance company if set, else the client's primary payer (None: self-pay)."""
    return auth.insurance_company or client.primary_payer


def charge_for(rate: Decimal, units: int, sliding_scale_pct: Decimal | None) -> Decimal:
    """rate × units, times sliding scale % / 100 when one is set; rounded half up to cents."""
    amount = Decimal(rate) * units
    if sliding_scale_pct is not None:
        amount = amount * Decimal(sliding_scale_pct) / 100
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def is_inpatient(auth: Authorization) -> bool:
    return bool(auth.inpatient)
