"""The pick lists an integration needs to fill in an authorization or a note: providers, billing
codes, auth groups, insurance companies. Inactive items are listed with ``active: false`` (they
stay valid where already used but cannot be newly chosen, rule 14)."""
from __future__ import annotations

from sqlalchemy import select

from extensions import db
from models import AuthGroup, BillingCode, InsuranceCompany, Provider
from rules.permissions import VIEW_AUTHORIZATIONS

from . import schemas as s
from .operations import operation

_LOOKUP_ACCESS = ("Needs “View authorizations” (every default profile has it): these are the "
                  "choices of the authorization and note forms.")


@operation("GET", "/providers", summary="List providers", tag="Look-ups",
           response=s.ProviderList, permission=VIEW_AUTHORIZATIONS, access=_LOOKUP_ACCESS)
def list_providers():
    rows = db.session.scalars(select(Provider).order_by(Provider.last_name, Provider.first_name,
                                                        Provider.id))
    return {"items": [{"id": p.id, "first_name": p.first_name, "last_name": p.last_name,
                       "credentials": p.credentials, "npi": p.npi, "active": p.active}
                      for p in rows]}


@operation("GET", "/billing-codes", summary="List billing codes", tag="Look-ups",
           response=s.BillingCodeList, permission=VIEW_AUTHORIZATIONS, access=_LOOKUP_ACCESS)
def list_billing_codes():
    rows = db.session.scalars(select(BillingCode).order_by(BillingCode.code))
    return {"items": [{"id": c.id, "code": c.code, "description": c.description,
                       "rate": f"{c.rate:.2f}", "default_units": c.default_units,
                       "active": c.active} for c in rows]}


@operation("GET", "/auth-groups", summary="List auth groups", tag="Look-ups",
           response=s.AuthGroupList, permission=VIEW_AUTHORIZATIONS, access=_LOOKUP_ACCESS,
           description="Billing → Auth Groups: auths of one client in the same group share "
                       "their units (rule 3).")
def list_auth_groups():
    rows = db.session.scalars(select(AuthGroup).order_by(AuthGroup.sort_order, AuthGroup.name))
    return {"items": [{"id": g.id, "name": g.name, "active": g.active,
                       "sort_order": g.sort_order} for g in rows]}


@operation("GET", "/insurance-companies", summary="List insurance companies", tag="Look-ups",
           response=s.InsuranceCompanyList, permission=VIEW_AUTHORIZATIONS,
           access=_LOOKUP_ACCESS)
def list_insurance_companies():
    rows = db.session.scalars(select(InsuranceCompany).order_by(InsuranceCompany.name))
    return {"items": [{"id": p.id, "name": p.name, "payer_id": p.payer_id, "active": p.active}
                      for p in rows]}
