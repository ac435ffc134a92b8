"""Clients → Clients: the list (filters: division, client group, primary therapist, payer;
search: a prefix of the name, answered by the clients.name_key index), the client form (payers
on file with exactly one primary, through rules.clients) and the client chart — details and the
Authorizations grid (admin_views.chart), saved all-or-nothing through rules.authorizations."""
from __future__ import annotations

from flask import abort, flash, redirect, request, url_for
from flask_admin.helpers import is_form_submitted
from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload
from wtforms import StringField

from extensions import db
from models import (Client, ClientGroup, ClientPayer, Division, InsuranceCompany, Provider,
                    client_client_groups)
from rules import DomainError
from rules.clients import client_by_id, create_client, name_search_key, update_client
from rules.clients import starts_with as prefix
from rules.permissions import (EDIT_AUTHORIZATIONS, EDIT_CLIENTS, MODIFY_MANAGED_UNITS,
                               VIEW_CLIENTS)
from rules.picklists import choices

from . import chart
from .authorization_form import restricted_fields
from .base import can, expose
from .forms import ChoiceOf, ConsoleForm, DateText, Flag, MultiChoiceOf, offered, run_rule
from .listing import FilteredListView, ListFilter, choices_of

PAYER_ROWS_EXTRA = 2  # blank payer rows under those on file


FILTERS = (
    ListFilter("division", "Division", lambda v: Client.division_id == v,
               choices=choices_of(Division, ordered=True)),
    ListFilter("client_group", "Client Group", lambda v: Client.id.in_(
        select(client_client_groups.c.client_id)
        .where(client_client_groups.c.client_group_id == v)),
               choices=choices_of(ClientGroup, ordered=True)),
    ListFilter("therapist", "Primary Therapist", lambda v: Client.primary_therapist_id == v,
               choices=choices_of(Provider, Provider.last_name + ", " + Provider.first_name)),
    ListFilter("payer", "Payer", lambda v: Client.id.in_(
        select(ClientPayer.client_id).where(ClientPayer.insurance_company_id == v)),
               choices=choices_of(InsuranceCompany), hint="any payer on file"),
    ListFilter("status", "Status", lambda v: Client.active.is_(v == "active"),
               options=lambda: [("active", "Active"), ("inactive", "Inactive")],
               parse=lambda raw: raw if raw in ("active", "inactive") else None),
)


class ClientForm(ConsoleForm):
    last_name = StringField("Last Name", render_kw={"maxlength": 80})
    first_name = StringField("First Name", render_kw={"maxlength": 80})
    dob = DateText("Date of Birth")
    active = Flag("Active client", default=True)
    division_id = ChoiceOf("Division")
    client_group_ids = MultiChoiceOf("Client Groups", render_kw={"size": 4})
    primary_therapist_id = ChoiceOf("Primary Therapist")

    def fields(self) -> dict:
        return {"first_name": self.first_name.data, "last_name": self.last_name.data,
                "dob": self.dob.data, "active": self.active.data,
                "division_id": self.division_id.data,
                "primary_therapist_id": self.primary_therapist_id.data}


def payer_rows_posted(form) -> list[dict]:
    """The payer rows of a posted client form (``payer-<n>-company``, ``payer-<n>-member``,
    ``primary_payer`` = n)."""
    rows, n = [], 0
    while f"payer-{n}-company" in form:
        rows.append({"insurance_company_id": form.get(f"payer-{n}-company", ""),
                     "member_id": form.get(f"payer-{n}-member", ""),
                     "is_primary": form.get("primary_payer") == str(n)})
        n += 1
    return rows


class ClientView(FilteredListView):
    permission = VIEW_CLIENTS
    edit_permission = EDIT_CLIENTS
    allow_delete = False
    list_template = "console/client_list.html"
    create_template = "console/client_form.html"
    edit_template = "console/client_form.html"
    form = ClientForm
    page_size = 25
    search_hint = "Last name, first name"
    list_filters = FILTERS
    column_list = ("name", "dob", "division", "client_groups", "primary_therapist", "payers",
                   "active")
    sort_columns = {"name": Client.name_key, "dob": Client.dob}
    default_sort = (Client.name_key.asc(),)

    def search_condition(self, term):
        return prefix(Client.name_key, name_search_key(term))

    def page_query(self, stmt):
        return stmt.options(joinedload(Client.division), joinedload(Client.primary_therapist),
                            selectinload(Client.client_groups),
                            selectinload(Client.payers).joinedload(ClientPayer.insurance_company))

    # -- the client form ---------------------------------------------------------------------
    def create_form(self, obj=None):
        form = super().create_form(obj)
        self._offer(form, None)
        return form

    def edit_form(self, obj=None):
        form = super().edit_form(obj)
        self._offer(form, obj)
        if not is_form_submitted():
            form.dob.data = obj.dob.isoformat()
            form.client_group_ids.data = [str(g.id) for g in obj.client_groups]
        return form

    def _offer(self, form, client):
        form.division_id.offer(choices(db.session, Division,
                                       keep_id=getattr(client, "division_id", None)))
        form.client_group_ids.offer(choices(db.session, ClientGroup, keep_id=[
            g.id for g in getattr(client, "client_groups", [])]))
        form.primary_therapist_id.offer(offered(
            Provider, Provider.last_name, Provider.first_name,
            keep=[getattr(client, "primary_therapist_id", None)]))
        on_file = list(getattr(client, "payers", []))
        form.payer_choices = [(str(p.id), str(p)) for p in offered(
            InsuranceCompany, InsuranceCompany.name,
            keep=[p.insurance_company_id for p in on_file])]
        if is_form_submitted():
            form.payer_rows = payer_rows_posted(request.form)
        else:
            form.payer_rows = [{"insurance_company_id": str(p.insurance_company_id),
                                "member_id": p.member_id or "", "is_primary": p.is_primary}
                               for p in on_file]
        form.payer_rows += [{"insurance_company_id": "", "member_id": "", "is_primary": False}
                            for _ in range(PAYER_ROWS_EXTRA)]

    def create_model(self, form):
        return run_rule(lambda: create_client(
            db.session, self.actor, form.fields(), client_group_ids=form.client_group_ids.data,
            payers=payer_rows_posted(request.form)), form) or False

    def update_model(self, form, model):
        return bool(run_rule(lambda: update_client(
            db.session, self.actor, model.id, form.fields(),
            client_group_ids=form.client_group_ids.data,
            payers=payer_rows_posted(request.form)), form))

    def get_save_return_url(self, model, is_created=False):
        return url_for(".chart", client_id=model.id)

    # -- the client chart --------------------------------------------------------------------
    def _chart(self, client, lines=None, status=200):
        auths = chart.client_auths(db.session, client.id)
        editable = can(EDIT_AUTHORIZATIONS)
        if lines is None:
            lines = chart.lines_for(auths, restricted_fields,
                                    new_lines=chart.NEW_LINES if editable else 0)
        else:
            by_id = {a.id: a for a in auths}
            for line in lines:
                if not line.is_new:
                    line.auth = by_id.get(int(line.key[1:]))
        options = chart.options_for(db.session, client, auths)
        extras = {}
        for provide in chart.CHART_CONTEXT:
            extras.update(provide(client, auths) or {})
        tabs = [t for t in chart.CHART_TABS if can(t.permission)]
        tab = request.args.get("tab", "authorizations")
        if tab not in {t.key for t in tabs}:
            tab = tabs[0].key if tabs else ""
        return self.render("console/client_chart.html", client=client, lines=lines, tabs=tabs,
                           tab=tab, editable=editable,
                           options=options, line_options=chart.line_options, extras=extras,
                           toolbar=chart.CHART_TOOLBAR, line_extras=chart.AUTH_LINE_EXTRAS,
                           may_modify_managed=can(MODIFY_MANAGED_UNITS)), status

    def _client(self, client_id):
        try:
            return client_by_id(db.session, client_id)
        except DomainError:
            abort(404)

    @expose("/chart/<id:client_id>/")
    def chart(self, client_id):
        return self._chart(self._client(client_id))

    @expose("/chart/<id:client_id>/authorizations", methods=("POST",))
    def save_authorizations(self, client_id):
        if not can(EDIT_AUTHORIZATIONS):
            abort(403)
        client = self._client(client_id)
        owned = {a.id: a for a in chart.client_auths(db.session, client.id)}
        lines = chart.lines_from_post(request.form, owned, restricted_fields)
        changed = chart.save_lines(db.session, self.actor, client, lines)
        problems = chart.error_summary(lines)
        if problems:
            db.session.rollback()
            flash("Nothing was saved: correct the lines marked below.", "error")
            for problem in problems:
                flash(problem, "error")
            return self._chart(client, lines, status=422)
        db.session.commit()
        flash(f"Saved {changed} authorization line{'s' if changed != 1 else ''}."
              if changed else "No changes to save.", "success" if changed else "info")
        return redirect(url_for(".chart", client_id=client.id, tab="authorizations"))


def register(admin) -> None:
    admin.add_view(ClientView(Client, name="Clients", category="Clients", endpoint="clients",
                              url="/console/clients"))
