"""Clients → Authorizations: the master list of every auth across clients (rule 17), with a
utilization bar (rule 18), expired auths hidden unless asked for, and a CSV export of exactly the
filtered rows (rules.csv_io). Create and edit go through rules.authorizations.

The filtered query, rebuilt from request arguments over all pages, is
:meth:`AuthorizationListView.filtered_query` (rows) / ``filtered_ids`` (ids): "Update Codes
Listed" and the export use it. Filter semantics (docs/console.md):
- Insurance Company: the payer of the claim (rule 8) — the auth's own, else the client's primary.
- Provider: the auth's Specific Provider, or, when it names none, the client's primary therapist.
- User Group: that of the client's primary therapist.
- At or below alert level: managed, a Unit Alert Level set, Remaining Units ≤ it.
"""
from __future__ import annotations

import csv
import datetime as dt

from flask import Response, abort, stream_with_context
from sqlalchemy import and_, or_, select, text
from sqlalchemy.orm import contains_eager, selectinload

from extensions import db
from models import (AuthGroup, Authorization, BillingCode, Client, ClientGroup, ClientPayer,
                    Division, InsuranceCompany, Provider, UserGroup, client_client_groups)
from models.authorizations import AT_OR_BELOW_ALERT_LEVEL
from rules import clinic_today
from rules.csv_io import export_rows
from rules.clients import name_search_key
from rules.clients import starts_with as prefix
from rules.permissions import EDIT_AUTHORIZATIONS, EXPORT, VIEW_AUTHORIZATIONS

from .authorization_form import AuthorizationFormMixin, ClientLoader
from .base import expose
from .listing import FilteredListView, ListFilter, choices_of, date_arg, days_arg, flag_arg

A = Authorization


def today() -> dt.date:
    return clinic_today()


def _clients_where(*conds):
    return A.client_id.in_(select(Client.id).where(*conds))


def _payer_is(payer_id):
    primary = select(ClientPayer.client_id).where(ClientPayer.insurance_company_id == payer_id,
                                                  ClientPayer.is_primary)
    return or_(A.insurance_company_id == payer_id,
               and_(A.insurance_company_id.is_(None), A.client_id.in_(primary)))


def _provider_is(provider_id):
    return or_(A.specific_provider_id == provider_id,
               and_(A.specific_provider_id.is_(None),
                    _clients_where(Client.primary_therapist_id == provider_id)))


def _status(value):
    return A.active == (value == "active")  # "= true": the (active, end_date) index answers


FILTERS = (
    ListFilter("division", "Division", lambda v: Client.division_id == v,
               choices=choices_of(Division, ordered=True)),
    ListFilter("payer", "Insurance Company", _payer_is,
               choices=choices_of(InsuranceCompany)),
    ListFilter("client_group", "Client Group", lambda v: A.client_id.in_(
        select(client_client_groups.c.client_id)
        .where(client_client_groups.c.client_group_id == v)),
               choices=choices_of(ClientGroup, ordered=True)),
    ListFilter("user_group", "User Group", lambda v: Client.primary_therapist_id.in_(
        select(Provider.id).where(Provider.user_group_id == v)),
               choices=choices_of(UserGroup, ordered=True),
               hint="of the client's primary therapist"),
    ListFilter("code", "Billing Code", lambda v: A.billing_code_id == v,
               choices=choices_of(BillingCode, BillingCode.code)),
    ListFilter("auth_group", "Auth Group", lambda v: A.auth_group_id == v,
               choices=choices_of(AuthGroup, ordered=True)),
    ListFilter("provider", "Provider", _provider_is,
               choices=choices_of(Provider, Provider.last_name + ", " + Provider.first_name),
               hint="the Specific Provider, else the client's primary therapist"),
    ListFilter("status", "Status", _status,
               options=lambda: [("active", "Active"), ("inactive", "Inactive")],
               parse=lambda raw: raw if raw in ("active", "inactive") else None),
    ListFilter("start_from", "Start on or after", lambda d: A.start_date >= d, kind="date",
               parse=date_arg),
    ListFilter("start_to", "Start on or before", lambda d: A.start_date <= d, kind="date",
               parse=date_arg),
    ListFilter("end_from", "End on or after", lambda d: A.end_date >= d, kind="date",
               parse=date_arg),
    ListFilter("end_to", "End on or before", lambda d: A.end_date <= d, kind="date",
               parse=date_arg),
    ListFilter("expiring", "Expiring within (days)", lambda n: and_(
        A.end_date >= today(), A.end_date <= today() + dt.timedelta(days=n)), kind="number",
               parse=days_arg),
    ListFilter("low", "At or below alert level", lambda _: text(AT_OR_BELOW_ALERT_LEVEL),
               kind="check", parse=flag_arg),
    ListFilter("expired", "Show expired", lambda _: None, kind="check", parse=flag_arg),
)


class _Echo:
    """A file whose write returns the line (csv.writer → a streamed response)."""

    def write(self, value):
        return value


class AuthorizationListView(AuthorizationFormMixin, FilteredListView):
    permission = VIEW_AUTHORIZATIONS
    edit_permission = EDIT_AUTHORIZATIONS
    export_permission = EXPORT
    list_template = "console/authorization_list.html"
    create_template = "console/authorization_form.html"
    edit_template = "console/authorization_form.html"
    page_size = 20
    page_size_options = (20, 50, 100)
    search_hint = "Client name or auth #"
    list_filters = FILTERS
    column_list = ("client", "dob", "primary_therapist", "billing_code", "auth_number",
                   "start_date", "end_date", "allotted_units", "remaining_units",
                   "pending_units", "used", "auth_group", "insurance_company",
                   "specific_provider", "active")
    column_labels = {"dob": "DOB", "primary_therapist": "Primary Therapist", "auth_number": "Auth #",
                     "billing_code": "Code", "allotted_units": "Allotted Units",
                     "remaining_units": "Remaining Units", "pending_units": "Pending",
                     "used": "Used", "auth_group": "Auth Group",
                     "insurance_company": "Insurance Company",
                     "specific_provider": "Specific Provider", "start_date": "Start",
                     "end_date": "End"}
    sort_columns = {"client": (Client.name_key, Client.id), "billing_code": BillingCode.code,
                    "auth_number": A.auth_number, "start_date": A.start_date,
                    "end_date": A.end_date, "allotted_units": A.allotted_units,
                    "remaining_units": A.remaining_units, "active": A.active}
    default_sort = (A.end_date.asc(),)
    form_ajax_refs = {"client": ClientLoader("client", {})}
    condition_joins = {Client.__table__: A.client, BillingCode.__table__: A.billing_code}
    action_disallowed_list = ["delete"]

    def is_action_allowed(self, name):
        return name not in self.action_disallowed_list and super().is_action_allowed(name)

    # -- the list ----------------------------------------------------------------------------
    def filtered_query(self, args=None):
        """Every auth the list's filters and search select (all pages), rebuilt from ``args``
        (default: this request's query string), with its client loaded."""
        return (select(A).join(A.client).options(contains_eager(A.client))
                .where(*self.conditions(args)))

    def standing_conditions(self, chosen):
        return [] if chosen.get("expired") else [A.end_date >= today()]

    def search_condition(self, term):
        """A term with a digit is an auth number (prefix, as typed or upper case); otherwise a
        client name prefix ("Hanson, M")."""
        if any(ch.isdigit() for ch in term):
            return or_(*[prefix(A.auth_number, t) for t in sorted({term, term.upper()})])
        return _clients_where(prefix(Client.name_key, name_search_key(term)))

    def page_query(self, stmt):
        """The client and the code joined (sorting may use them); the smaller references in
        one IN query each, which keeps the join (and its planning) small."""
        client = contains_eager(A.client)
        return (stmt.join(A.client).join(A.billing_code)
                .options(client.selectinload(Client.primary_therapist),
                         client.selectinload(Client.payers)
                         .joinedload(ClientPayer.insurance_company),
                         contains_eager(A.billing_code), selectinload(A.auth_group),
                         selectinload(A.insurance_company), selectinload(A.specific_provider)))

    # -- export: exactly the filtered rows, every page, the csv_io columns ----------------------
    @expose("/export/<export_type>/")
    def export(self, export_type):
        if not self.can_export:
            abort(403)
        if export_type != "csv":
            abort(404)
        stmt = self.page_query(select(A).where(*self.conditions())).order_by(
            *self.order_by(None, False)).execution_options(yield_per=500)

        def generate():
            # Runs as the response streams: the query belongs to the session of that moment.
            writer = csv.writer(_Echo())
            for row in export_rows(db.session.scalars(stmt)):
                yield writer.writerow(row)

        name = f"authorizations-{today().isoformat()}.csv"
        return Response(stream_with_context(generate()), mimetype="text/csv",
                        headers={"Content-Disposition": f"attachment; filename={name}"})

def register(admin) -> None:
    admin.add_view(AuthorizationListView(A, name="Authorizations", category="Clients",
                                         endpoint="authorizations",
                                         url="/console/authorizations"))

