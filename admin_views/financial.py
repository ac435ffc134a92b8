"""Financial: Billing Codes (code, description, standard fee per unit, default units per note),
Billing Code Groups (named sets of codes, used by Bulk Add) and Insurance Companies. Retired
codes and payers are deactivated, not deleted: authorizations and notes keep referring to them."""
from __future__ import annotations

from flask_admin.helpers import is_form_submitted
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from wtforms import BooleanField, StringField
from wtforms.validators import DataRequired, Length

from extensions import db
from models import BillingCode, BillingCodeGroup, InsuranceCompany
from rules import values
from rules.permissions import MANAGE_BILLING_CODES

from .forms import ConsoleForm, ConsoleModelView, MultiChoiceOf, Parsed, Unique, offered


def _money(view, context, model, name):
    return f"{getattr(model, name):,.2f}"


class BillingCodeForm(ConsoleForm):
    code = StringField("Code", [DataRequired(), Length(max=20), Unique(BillingCode.code, "code")],
                       filters=[lambda x: x.strip().upper() if x else x])
    description = StringField("Description", [Length(max=255)])
    rate = Parsed("Rate (standard fee per unit)", values.money, render_kw={"class": "num"})
    default_units = Parsed("Default Units (per note)", lambda x: values.whole_number(x, minimum=1),
                           render_kw={"class": "num"})
    active = BooleanField("Active", default=True)


class BillingCodeView(ConsoleModelView):
    permission = MANAGE_BILLING_CODES
    allow_delete = False
    form = BillingCodeForm
    column_list = ("code", "description", "rate", "default_units", "active")
    column_labels = {"rate": "Rate", "default_units": "Default Units"}
    column_formatters = {"rate": _money}
    column_searchable_list = ("code", "description")
    column_filters = ("active",)
    column_default_sort = "code"
    column_sortable_list = ("code", "rate", "default_units", "active")


class BillingCodeGroupForm(ConsoleForm):
    name = StringField("Name", [DataRequired(), Length(max=120),
                                Unique(BillingCodeGroup.name, "billing code group")])
    code_ids = MultiChoiceOf("Billing Codes", render_kw={"size": 12})
    active = BooleanField("Active", default=True)

    def populate_obj(self, group):
        group.name = self.name.data.strip()
        group.active = self.active.data
        ids = [int(i) for i in self.code_ids.data or ()]
        group.codes = list(db.session.scalars(select(BillingCode).where(BillingCode.id.in_(ids))))


class BillingCodeGroupView(ConsoleModelView):
    permission = MANAGE_BILLING_CODES
    form = BillingCodeGroupForm
    column_list = ("name", "codes", "active")
    column_labels = {"codes": "Billing Codes"}
    column_formatters = {"codes": lambda v, c, m, n: ", ".join(code.code for code in m.codes)}
    column_default_sort = "name"
    column_sortable_list = ("name", "active")
    column_auto_select_related = False

    def offer_choices(self, form, obj=None):
        current = [c.id for c in obj.codes] if obj is not None else []
        form.code_ids.offer(offered(BillingCode, BillingCode.code, keep=current))
        if obj is not None and not is_form_submitted():
            form.code_ids.data = [str(i) for i in current]

    def get_query(self):
        return super().get_query().options(selectinload(BillingCodeGroup.codes))


class InsuranceCompanyForm(ConsoleForm):
    name = StringField("Name", [DataRequired(), Length(max=120),
                                Unique(InsuranceCompany.name, "insurance company")])
    payer_id = StringField("Payer ID", [Length(max=40)])
    active = BooleanField("Active", default=True)


class InsuranceCompanyView(ConsoleModelView):
    permission = MANAGE_BILLING_CODES
    allow_delete = False
    form = InsuranceCompanyForm
    column_list = ("name", "payer_id", "active")
    column_labels = {"payer_id": "Payer ID"}
    column_searchable_list = ("name", "payer_id")
    column_filters = ("active",)
    column_default_sort = "name"


def register(admin) -> None:
    admin.add_view(BillingCodeView(BillingCode, name="Billing Codes",
                                   category="Financial", endpoint="billing_codes",
                                   url="/console/billing-codes"))
    admin.add_view(BillingCodeGroupView(BillingCodeGroup, name="Billing Code Groups",
                                        category="Financial", endpoint="billing_code_groups",
                                        url="/console/billing-code-groups"))
    admin.add_view(InsuranceCompanyView(InsuranceCompany, name="Insurance Companies",
                                        category="Financial", endpoint="insurance_companies",
                                        url="/console/insurance-companies"))
