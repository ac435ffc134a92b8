"""Authorizations: list (filtered, paginated), add, read, change; and which of a client's auths a
note may use on a date (rule 6). Writes go through rules.authorizations, so validation, the
"modify managed units" permission, auth numbers, status, alerts and the audit trail are exactly
the console's."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import not_, select

from extensions import db
from models import Authorization, BillingCode
from rules import NotFound, ValidationError, clinic_today
from rules.authorizations import active_condition, create_authorization, update_authorization
from rules.availability import default_choice, usable_authorizations, why_none_usable
from rules.permissions import EDIT_AUTHORIZATIONS, VIEW_AUTHORIZATIONS

from . import schemas as s
from .auth import current_actor
from .clients import get_client_or_404
from .operations import body_fields, operation

#: API field → rules field, where the names differ.
_TO_RULES = {"default": "is_default"}


def utc(value: dt.datetime | None) -> dt.datetime | None:
    """Stored timestamps are naive UTC; the API says so (RFC 3339 with Z)."""
    return value.replace(tzinfo=dt.timezone.utc) if value is not None else None


def authorization_out(a: Authorization) -> dict:
    return {
        "id": a.id, "client_id": a.client_id, "billing_code": a.billing_code.code,
        "start_date": a.start_date, "end_date": a.end_date,
        "allotted_units": a.allotted_units, "remaining_units": a.remaining_units,
        "pending_units": a.pending_units, "available_units": a.available_units,
        "unit_alert_level": a.unit_alert_level, "exp_alert_days": a.exp_alert_days,
        "auth_number": a.auth_number, "specific_provider_id": a.specific_provider_id,
        "insurance_company_id": a.insurance_company_id,
        "exclude_from_notes": a.exclude_from_notes, "auth_group_id": a.auth_group_id,
        "unmanaged": a.unmanaged, "active": a.active, "default": a.is_default,
        "suspend_alerts": a.suspend_alerts,
        "sliding_scale_pct": float(a.sliding_scale_pct) if a.sliding_scale_pct is not None
        else None,
        "inpatient": a.inpatient, "last_edited_at": utc(a.last_edited_at),
        "last_edited_by": a.last_edited_by,
    }


def billing_code_id(code: str) -> int:
    found = db.session.scalar(select(BillingCode.id).where(BillingCode.code == code.strip()))
    if found is None:
        raise ValidationError({"billing_code": f"there is no billing code “{code.strip()}”"})
    return found


def to_rule_fields(sent: dict) -> dict:
    """The API's field names and values as rules.authorizations takes them."""
    fields = {}
    for name, value in sent.items():
        if name == "billing_code":
            fields["billing_code_id"] = billing_code_id(value)
        elif name == "sliding_scale_pct" and value is not None:
            fields[name] = str(value)
        else:
            fields[_TO_RULES.get(name, name)] = value
    return fields


@operation("GET", "/authorizations", summary="List authorizations", tag="Authorizations",
           query=s.AuthorizationQuery, response=s.AuthorizationPage,
           permission=VIEW_AUTHORIZATIONS,
           description="Ordered by id, a page at a time (`limit`, then `cursor` = the previous "
                       "page's `next_cursor`).")
def list_authorizations(query: s.AuthorizationQuery):
    a = Authorization
    today = clinic_today()
    stmt = select(a).order_by(a.id).limit(query.limit + 1)
    if query.client_id is not None:
        stmt = stmt.where(a.client_id == query.client_id)
    if query.billing_code is not None:
        stmt = stmt.where(a.billing_code_id.in_(
            select(BillingCode.id).where(BillingCode.code == query.billing_code.strip())))
    if query.active is not None:
        cond = active_condition(today)
        stmt = stmt.where(cond if query.active else not_(cond))
    if query.auth_group_id is not None:
        stmt = stmt.where(a.auth_group_id == query.auth_group_id)
    if query.insurance_company_id is not None:
        stmt = stmt.where(a.insurance_company_id == query.insurance_company_id)
    if query.expiring_within_days is not None:
        stmt = stmt.where(a.end_date >= today,
                          a.end_date <= today + dt.timedelta(days=query.expiring_within_days))
    if query.cursor is not None:
        stmt = stmt.where(a.id > int(query.cursor))
    rows = list(db.session.scalars(stmt))
    more = len(rows) > query.limit
    rows = rows[:query.limit]
    return {"items": [authorization_out(x) for x in rows],
            "next_cursor": str(rows[-1].id) if more else None}


@operation("POST", "/authorizations", summary="Add an authorization", tag="Authorizations",
           body=s.AuthorizationCreate, response=s.Authorization, status=201,
           permission=EDIT_AUTHORIZATIONS,
           description="Read-only fields (pending_units, active, last_edited_at, "
                       "last_edited_by, available_units, id) are refused with 422.")
def add_authorization(body: s.AuthorizationCreate):
    sent = body_fields(body)
    client_id = sent.pop("client_id")
    auth = create_authorization(db.session, current_actor(), client_id, to_rule_fields(sent))
    return authorization_out(auth)


def get_authorization_or_404(auth_id: int) -> Authorization:
    auth = db.session.get(Authorization, auth_id)
    if auth is None:
        raise NotFound(f"Authorization #{auth_id} does not exist.")
    return auth


@operation("GET", "/authorizations/{authorization_id}", summary="Read an authorization",
           tag="Authorizations", response=s.Authorization, permission=VIEW_AUTHORIZATIONS)
def get_authorization(authorization_id: int):
    return authorization_out(get_authorization_or_404(authorization_id))


@operation("PATCH", "/authorizations/{authorization_id}", summary="Change an authorization",
           tag="Authorizations", body=s.AuthorizationUpdate, response=s.Authorization,
           permission=EDIT_AUTHORIZATIONS,
           description="Only the fields sent change. On a managed auth, remaining_units, "
                       "end_date and unmanaged need “Modify remaining units, end date and "
                       "unmanaged on managed auths” (403 otherwise). client_id and the "
                       "read-only fields are refused with 422.")
def change_authorization(authorization_id: int, body: s.AuthorizationUpdate):
    get_authorization_or_404(authorization_id)
    auth = update_authorization(db.session, current_actor(), authorization_id,
                                to_rule_fields(body_fields(body)))
    return authorization_out(auth)


@operation("GET", "/clients/{client_id}/usable-authorizations",
           summary="Authorizations a note may use", tag="Authorizations",
           query=s.UsableQuery, response=s.UsableList, permission=VIEW_AUTHORIZATIONS,
           description="Rule 6: the client's auths covering the service date, not excluded "
                       "from notes, for this provider where a specific provider is set, with "
                       "units available (the least over the auth group) or unmanaged. When "
                       "none is usable, `reasons` says why for each auth.")
def usable_for_client(client_id: int, query: s.UsableQuery):
    client = get_client_or_404(client_id)
    provider_id = query.provider_id if query.provider_id is not None \
        else current_actor().provider_id
    usable = usable_authorizations(db.session, client.id, query.service_date, provider_id)
    chosen = default_choice(usable)
    reasons = [] if usable else why_none_usable(db.session, client.id, query.service_date,
                                                provider_id)
    return {
        "client_id": client.id, "service_date": query.service_date, "provider_id": provider_id,
        "items": [{"authorization_id": u.authorization.id,
                   "auth_number": u.authorization.auth_number,
                   "billing_code": u.authorization.billing_code.code,
                   "billing_code_description": u.authorization.billing_code.description,
                   "start_date": u.authorization.start_date,
                   "end_date": u.authorization.end_date,
                   "unmanaged": u.authorization.unmanaged,
                   "default": u.authorization.is_default,
                   "available_units": u.available} for u in usable],
        "default_authorization_id": chosen.authorization.id if chosen else None,
        "reasons": reasons,
    }
