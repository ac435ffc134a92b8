"""The API's request and response shapes, as pydantic models. The API validates every request
with them and checks every response against them, and the OpenAPI document is generated from
them: one definition, so the document cannot drift from what the API does.

Request bodies are validated strictly (a number is not a string, ``true`` is not ``"yes"``);
query parameters, which are always text, are converted. Unknown fields are refused (422), and so
are the read-only fields of an authorization (``pending_units``, ``active``, ``last_edited_at``,
``last_edited_by``, ``id``)."""
from __future__ import annotations

import datetime as dt
from typing import Annotated, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from rules.values import MAX_ALERT_DAYS, MAX_UNITS

MAX_ID = 2**31 - 1
Id = Annotated[int, Field(ge=1, le=MAX_ID)]
Units = Annotated[int, Field(ge=0, le=MAX_UNITS)]
Cursor = Annotated[str, Field(pattern=r"^[0-9]{1,10}$", description=(
    "Opaque: pass the `next_cursor` of the previous page to get the next one."))]
Limit = Annotated[int, Field(ge=1, le=200, description="Items per page (1–200).")]


def _drop_null_defaults(schema: dict, cls=None) -> None:
    """Optional fields that may not be null (a PATCH's flags) show no misleading null default."""
    for prop in schema.get("properties", {}).values():
        if prop.get("default", 0) is None and "anyOf" not in prop:
            prop.pop("default")


class Request(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra=_drop_null_defaults)
    #: Fields the API computes: a client that sends one is told so (422).
    read_only: ClassVar[frozenset[str]] = frozenset()


class Query(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra=_drop_null_defaults)


class Response(BaseModel):
    model_config = ConfigDict(extra="forbid")


# ---------------------------------------------------------------- errors

class ErrorBody(Response):
    code: str = Field(description="Stable, machine-readable: validation_error, "
                      "insufficient_units, no_usable_authorization, forbidden, not_found, …")
    message: str = Field(description="What went wrong, in words a clinic's staff can act on.")
    fields: dict[str, str] | None = Field(None, description="Field → what is wrong with it.")
    details: list[str] | None = Field(None, description="Further lines (e.g. per auth why it "
                                      "cannot be used).")


class Error(Response):
    error: ErrorBody


# ---------------------------------------------------------------- look-ups

class Provider(Response):
    id: int
    first_name: str
    last_name: str
    credentials: str | None
    npi: str | None
    active: bool


class ProviderList(Response):
    items: list[Provider]


class BillingCode(Response):
    id: int
    code: str
    description: str
    rate: str = Field(description="Standard fee per unit, e.g. \"110.00\".",
                      pattern=r"^[0-9]+\.[0-9]{2}$")
    default_units: int
    active: bool


class BillingCodeList(Response):
    items: list[BillingCode]


class AuthGroup(Response):
    id: int
    name: str
    active: bool
    sort_order: int


class AuthGroupList(Response):
    items: list[AuthGroup]


class InsuranceCompany(Response):
    id: int
    name: str
    payer_id: str | None
    active: bool


class InsuranceCompanyList(Response):
    items: list[InsuranceCompany]


# ---------------------------------------------------------------- clients

class ClientPayerIn(Request):
    insurance_company_id: Id
    member_id: Annotated[str, Field(max_length=40)] | None = None
    primary: bool = False


class ClientCreate(Request):
    first_name: Annotated[str, Field(min_length=1, max_length=80)]
    last_name: Annotated[str, Field(min_length=1, max_length=80)]
    dob: dt.date
    division_id: Id | None = None
    primary_therapist_id: Id | None = None
    client_group_ids: Annotated[list[Id], Field(max_length=50)] = []
    payers: Annotated[list[ClientPayerIn], Field(max_length=20, description=(
        "Payers on file; exactly one marked primary (a lone payer is the primary)."))] = []


class ClientPayer(Response):
    insurance_company_id: int
    name: str
    member_id: str | None
    primary: bool


class Client(Response):
    id: int
    first_name: str
    last_name: str
    dob: dt.date
    division_id: int | None
    primary_therapist_id: int | None
    active: bool
    client_group_ids: list[int]
    payers: list[ClientPayer]


class ClientQuery(Query):
    name: Annotated[str, Field(min_length=1, max_length=170, description=(
        "Start of the client's name as \"Last, First\" or \"last first\" (any case)."))] = None
    limit: Limit = 50
    cursor: Cursor = None


class ClientPage(Response):
    items: list[Client]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on "
                                    "the last page.")


# ---------------------------------------------------------------- authorizations

_AUTH_DOCS = {
    "billing_code": "The billing code's code, e.g. \"90834\".",
    "remaining_units": "Defaults to allotted_units on creation (rule 2).",
    "auth_number": "The payer's number; leave it out and Authdesk generates one (A-000123).",
    "default": "Preselected on a note when the provider chooses no code (rule 7).",
    "sliding_scale_pct": "0–100, at most two decimals; charge = rate × units × % / 100.",
    "unmanaged": "Unmanaged auths are never decremented (rule 4).",
}


def _doc(name: str):
    return Field(description=_AUTH_DOCS[name]) if name in _AUTH_DOCS else Field()


class AuthorizationFields(Request):
    """The writable fields of an authorization (every one optional here)."""

    read_only: ClassVar[frozenset[str]] = frozenset({
        "id", "pending_units", "active", "last_edited_at", "last_edited_by", "available_units"})

    billing_code: Annotated[str, Field(min_length=1, max_length=20,
                                       description=_AUTH_DOCS["billing_code"])] = None
    start_date: dt.date = None
    end_date: dt.date = None
    allotted_units: Units = None
    remaining_units: Annotated[Units | None, _doc("remaining_units")] = None
    unit_alert_level: Units | None = None
    exp_alert_days: Annotated[int, Field(ge=0, le=MAX_ALERT_DAYS)] | None = None
    auth_number: Annotated[str | None, Field(max_length=40,
                                             description=_AUTH_DOCS["auth_number"])] = None
    specific_provider_id: Id | None = None
    insurance_company_id: Id | None = None
    exclude_from_notes: bool = None
    auth_group_id: Id | None = None
    unmanaged: Annotated[bool, _doc("unmanaged")] = None
    default: Annotated[bool, _doc("default")] = None
    suspend_alerts: bool = None
    sliding_scale_pct: Annotated[float | None, Field(
        ge=0, le=100, description=_AUTH_DOCS["sliding_scale_pct"])] = None
    inpatient: bool = None


class AuthorizationCreate(AuthorizationFields):
    """A new authorization: client_id, billing_code, dates and allotted units are required."""

    client_id: Id
    billing_code: Annotated[str, Field(min_length=1, max_length=20,
                                       description=_AUTH_DOCS["billing_code"])]
    start_date: dt.date
    end_date: dt.date
    allotted_units: Units


class AuthorizationUpdate(AuthorizationFields):
    """Only the fields sent change; ``null`` clears an optional field."""

    read_only: ClassVar[frozenset[str]] = AuthorizationFields.read_only | {"client_id"}


class Authorization(Response):
    id: int
    client_id: int
    billing_code: str
    start_date: dt.date
    end_date: dt.date
    allotted_units: int
    remaining_units: int
    pending_units: int = Field(description="Read-only: units held by draft notes.")
    available_units: int | None = Field(description="Read-only: remaining − pending; null for "
                                        "an unmanaged auth (unlimited).")
    unit_alert_level: int | None
    exp_alert_days: int | None
    auth_number: str
    specific_provider_id: int | None
    insurance_company_id: int | None
    exclude_from_notes: bool
    auth_group_id: int | None
    unmanaged: bool
    active: bool = Field(description="Read-only, computed (rule 5).")
    default: bool
    suspend_alerts: bool
    sliding_scale_pct: float | None
    inpatient: bool
    last_edited_at: dt.datetime = Field(description="Read-only.")
    last_edited_by: str = Field(description="Read-only.")


class AuthorizationQuery(Query):
    client_id: Id = None
    billing_code: Annotated[str, Field(min_length=1, max_length=20)] = None
    active: Annotated[bool, Field(description="Active now (rule 5) or not.")] = None
    auth_group_id: Id = None
    insurance_company_id: Id = None
    expiring_within_days: Annotated[int, Field(ge=0, le=MAX_ALERT_DAYS, description=(
        "Only auths whose end date is between today and today + N days."))] = None
    limit: Limit = 50
    cursor: Cursor = None


class AuthorizationPage(Response):
    items: list[Authorization]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on "
                                    "the last page.")


class UsableQuery(Query):
    service_date: dt.date
    provider_id: Annotated[Id, Field(description="Defaults to the token user's provider.")] = None


class UsableAuthorization(Response):
    authorization_id: int
    auth_number: str
    billing_code: str
    billing_code_description: str
    start_date: dt.date
    end_date: dt.date
    unmanaged: bool
    default: bool
    available_units: int | None = Field(description="Units a note may claim now (the least "
                                        "over its auth group); null = unlimited.")


class UsableList(Response):
    client_id: int
    service_date: dt.date
    provider_id: int | None
    items: list[UsableAuthorization]
    default_authorization_id: int | None = Field(description="The usable auth marked default, "
                                                 "preselected when no code is chosen (rule 7).")
    reasons: list[str] = Field(description="When nothing is usable: why, per authorization.")


# ---------------------------------------------------------------- notes

class NoteCreate(Request):
    client_id: Id
    provider_id: Annotated[Id, Field(description="Defaults to the token user's provider.")] = None
    service_date: dt.date
    billing_code: Annotated[str, Field(min_length=1, max_length=20, description=(
        "Omit to use the usable auth marked default (rule 7)."))] = None
    units: Annotated[int, Field(ge=1, le=MAX_UNITS, description=(
        "Defaults to the billing code's default units."))] = None
    authorization_id: Id = None
    comment: Annotated[str, Field(max_length=4000)] | None = None
    override_reason: Annotated[str, Field(min_length=1, max_length=1000, description=(
        "Exceed the authorized units (needs “Exceed authorized units”); recorded."))] = None


class NoteVoid(Request):
    reason: Annotated[str, Field(min_length=1, max_length=1000)]


class Payer(Response):
    id: int
    name: str


class Note(Response):
    id: int
    client_id: int
    provider_id: int
    service_date: dt.date
    billing_code: str
    units: int
    status: Literal["draft", "released", "voided"]
    authorization_id: int
    payer: Payer | None = Field(description="The auth's insurance company, else the client's "
                                "primary payer (rule 8); null for self-pay.")
    charge: str = Field(pattern=r"^[0-9]+\.[0-9]{2}$",
                        description="rate × units (× sliding scale %), e.g. \"110.00\".")
    inpatient: bool
    comment: str | None
    override_reason: str | None
    created_at: dt.datetime
    created_by: str
    released_at: dt.datetime | None
    voided_at: dt.datetime | None
    void_reason: str | None


# ---------------------------------------------------------------- alerts

class Alert(Response):
    id: int
    kind: Literal["units", "expiring", "exhausted", "expired"]
    label: str
    authorization_id: int
    auth_number: str
    billing_code: str
    client_id: int
    opened_at: dt.datetime
    acknowledged: bool


class AlertList(Response):
    items: list[Alert]
