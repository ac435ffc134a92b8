"""Adding and editing one authorization from the master list: the form (every field a user may
set, in sections, as raw text for rules.authorizations), the client look-up by name, and the view
methods that save through the rules. Restricted fields are shown read-only to profiles that may
not change them; the rules refuse them by any path."""
from __future__ import annotations

import json

from flask_admin.helpers import is_form_submitted
from flask_admin.model.ajax import AjaxModelLoader
from flask_admin.model.fields import AjaxSelectField
from sqlalchemy import select
from wtforms import StringField, ValidationError

from extensions import db
from models import AuthGroup, BillingCode, Client, InsuranceCompany, Provider
from rules.authorizations import (EDITABLE_FIELDS, RESTRICTED_ON_MANAGED, create_authorization,
                                  delete_authorization, update_authorization)
from rules.permissions import MODIFY_MANAGED_UNITS
from rules.picklists import choices

from .base import can, row_id
from .forms import (ChoiceOf, ConsoleForm, DateText, Flag, NumberText, Original, changed_fields,
                    offered, run_rule, shown)
from rules.clients import name_search_key
from rules.clients import starts_with as prefix


class ClientLoader(AjaxModelLoader):
    """The client look-up of the create form: a prefix of "last first" (the name_key index)."""

    def format(self, model):
        return (model.id, f"{model} ({model.dob.isoformat()})") if model else None

    def get_one(self, pk):
        pk = row_id(pk)
        return db.session.get(Client, pk) if pk is not None else None

    def get_list(self, query, offset=0, limit=10):
        stmt = select(Client).order_by(Client.name_key, Client.id).offset(offset or 0)
        cond = prefix(Client.name_key, name_search_key(query or ""))
        if cond is not None:
            stmt = stmt.where(cond)
        return db.session.scalars(stmt.limit(min(limit or 10, 50))).all()


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


class AuthorizationFormMixin:
    """Create, edit and delete of a ModelView over Authorization, through the rules."""

    def get_create_form(self):
        return AuthorizationCreateForm

    def get_edit_form(self):
        return AuthorizationForm

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
