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
import json

from flask import Response, abort, stream_with_context
from flask_admin.model.ajax import AjaxModelLoader
from flask_admin.model.fields import AjaxSelectField
from sqlalchemy import and_, or_, select, text
from sqlalchemy.orm import contains_eager, joinedload, selectinload
from wtforms import StringField, ValidationError

from flask_admin.helpers import is_form_submitted

from extensions import db
from models import (AuthGroup, Authorization, BillingCode, Client, ClientGroup, ClientPayer,
                    Division, InsuranceCompany, Provider, UserGroup, client_client_groups)
from models.authorizations import AT_OR_BELOW_ALERT_LEVEL
from rules import clinic_today
from rules.authorizations import (EDITABLE_FIELDS, RESTRICTED_ON_MANAGED, create_authorization,
                                  delete_authorization, update_authorization)
from rules.csv_io import export_rows
from rules.permissions import (EDIT_AUTHORIZATIONS, EXPORT, MODIFY_MANAGED_UNITS,
                               VIEW_AUTHORIZATIONS)
from rules.picklists import choices

from .base import can, expose
from .forms import (ChoiceOf, ConsoleForm, DateText, Flag, NumberText, Original, changed_fields,
                    offered, run_rule, shown)
from .listing import (FilteredListView, ListFilter, choices_of, date_arg, days_arg, flag_arg,
                      prefix)

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


class ClientLoader(AjaxModelLoader):
    """The client look-up of the create form: a prefix of "last first" (the name_key index)."""

    def format(self, model):
        return (model.id, f"{model} ({model.dob.isoformat()})") if model else None

    def get_one(self, pk):
        return db.session.get(Client, int(pk)) if str(pk).isdigit() else None

    def get_list(self, query, offset=0, limit=10):
        stmt = select(Client).order_by(Client.name_key, Client.id).offset(offset or 0)
        cond = prefix(Client.name_key, name_search_key(query or ""))
        if cond is not None:
            stmt = stmt.where(cond)
        return db.session.scalars(stmt.limit(min(limit or 10, 50))).all()


def name_search_key(term: str) -> str:
    """What a user types ("Hanson, Mark", "hanson m") as a prefix of Client.name_key."""
    return " ".join(term.replace(",", " ").split()).casefold()


class AuthorizationForm(ConsoleForm):
    """Every field a user may set (EDITABLE_FIELDS), as raw text for rules.authorizations."""

    billing_code_id = ChoiceOf("Billing Code", blank=None)
    auth_number = StringField("Auth #", description="blank: Authdesk generates one",
                              render_kw={"maxlength": 40})
    start_date = DateText("Start Date")
    end_date = DateText("End Date")
    allotted_units = NumberText("Allotted Units")
    remaining_units = NumberText("Remaining Units", description="blank: the allotted units")
    unit_alert_level = NumberText("Unit Alert Level")
    exp_alert_days = NumberText("Exp. Alert Days")
    auth_group_id = ChoiceOf("Auth Group")
    insurance_company_id = ChoiceOf("Insurance Company",
                                    blank="— the client's primary payer —")
    specific_provider_id = ChoiceOf("Specific Provider", blank="— any provider —")
    sliding_scale_pct = NumberText("Sliding Scale %", step="0.01")
    unmanaged = Flag("Unmanaged (unlimited units within the dates)")
    exclude_from_notes = Flag("Exclude from Notes")
    is_default = Flag("Default")
    suspend_alerts = Flag("Suspend Alerts")
    inpatient = Flag("Inpatient")
    original = Original()

    SECTIONS = (
        ("Authorization", ("billing_code_id", "auth_number", "start_date", "end_date",
                           "auth_group_id", "insurance_company_id", "specific_provider_id")),
        ("Units", ("allotted_units", "remaining_units", "unit_alert_level", "exp_alert_days",
                   "sliding_scale_pct")),
        ("Options", ("unmanaged", "exclude_from_notes", "is_default", "suspend_alerts",
                     "inpatient")),
    )

    def submitted(self) -> dict:
        return {f: ("y" if self[f].data else "") if isinstance(self[f], Flag)
                else (self[f].data or "") for f in EDITABLE_FIELDS}


class ClientField(AjaxSelectField):
    """The client, looked up by name as the user types; a crafted or stale id gets a message."""

    def pre_validate(self, form):
        if self.data is None:
            raise ValidationError(f"Client #{self._formdata} does not exist (it may have been "
                                  "deleted)" if self._formdata else "choose a client")


class AuthorizationCreateForm(AuthorizationForm):
    client = ClientField(ClientLoader("client", {}), "Client")


class AuthorizationListView(FilteredListView):
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
            return or_(*{prefix(A.auth_number, t) for t in (term, term.upper())})
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

    # -- create and edit through rules.authorizations ------------------------------------------
    def get_create_form(self):
        return AuthorizationCreateForm

    def get_edit_form(self):
        return AuthorizationForm

    def get_one(self, id):
        return db.session.get(A, int(id)) if str(id).isdigit() else None

    def create_form(self, obj=None):
        form = super().create_form(obj)
        self._offer(form, None)
        return form

    def edit_form(self, obj=None):
        form = super().edit_form(obj)
        self._offer(form, obj)
        if not is_form_submitted():
            for name in EDITABLE_FIELDS:
                form[name].data = (bool(getattr(obj, name)) if isinstance(form[name], Flag)
                                   else shown(getattr(obj, name)))
            form.original.data = _original_json(obj)
        return form

    def _offer(self, form, auth):
        keep = (lambda f: [getattr(auth, f)]) if auth else (lambda f: [])
        form.billing_code_id.offer(offered(BillingCode, BillingCode.code,
                                           keep=keep("billing_code_id")))
        form.auth_group_id.offer(choices(db.session, AuthGroup, keep_id=keep("auth_group_id")))
        form.insurance_company_id.offer(offered(InsuranceCompany, InsuranceCompany.name,
                                                keep=keep("insurance_company_id")))
        form.specific_provider_id.offer(offered(Provider, Provider.last_name, Provider.first_name,
                                                keep=keep("specific_provider_id")))
        form.locked = restricted_fields(auth)

    def create_model(self, form):
        fields = {k: v for k, v in form.submitted().items() if v != ""}
        return run_rule(lambda: create_authorization(db.session, self.actor,
                                                     form.client.data.id, fields), form) or False

    def update_model(self, form, model):
        current = {f: shown(getattr(model, f)) for f in EDITABLE_FIELDS}
        changes = changed_fields(form.submitted(), form.original.values(), current)
        if not changes:
            return True
        return bool(run_rule(lambda: update_authorization(db.session, self.actor, model.id,
                                                          changes), form))

    def delete_model(self, model):
        return bool(run_rule(lambda: delete_authorization(db.session, self.actor, model.id)))


def restricted_fields(auth) -> tuple[str, ...]:
    """Fields this user may not change on this auth (shown read-only; the rules refuse them)."""
    if auth is None or auth.unmanaged or can(MODIFY_MANAGED_UNITS):
        return ()
    return RESTRICTED_ON_MANAGED


def _original_json(auth) -> str:
    return json.dumps({f: shown(getattr(auth, f)) for f in EDITABLE_FIELDS})


def register(admin) -> None:
    admin.add_view(AuthorizationListView(A, name="Authorizations", category="Clients",
                                         endpoint="authorizations",
                                         url="/console/authorizations"))

