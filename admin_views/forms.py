"""Form pieces the console screens share.

- Dates and numbers are text fields with HTML ``type=date`` / ``type=number`` inputs: the raw text
  goes to rules/, so a bad value gets the rules' own message ("must be a whole number").
- Choice fields are filled per request with :meth:`ChoiceOf.offer` — the active rows plus the
  value already in use (rule 14), so a pick list change shows in every form at once.
- :func:`run_rule` calls rules/, commits, or rolls back and shows the refusal on the form.
"""
from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

from flask_admin.form import BaseForm
from sqlalchemy import func, or_, select
from wtforms import (BooleanField, HiddenField, SelectField, SelectMultipleField, StringField,
                     ValidationError, widgets)

from extensions import db
from rules import DomainError

from .base import SecureModelView, row_id, show_domain_error

NOT_OFFERED = "is not one of the choices offered (it may have been deactivated or deleted)"


def _text(value) -> str:
    return "" if value is None else str(value)


def DateText(label: str, **kw) -> StringField:  # noqa: N802 (a field factory, like a class)
    return StringField(label, widget=widgets.DateInput(), **kw)


def NumberText(label: str, *, step: str = "1", **kw) -> StringField:  # noqa: N802
    render_kw = {"min": 0, "step": step, "class": "num"}
    render_kw.update(kw.pop("render_kw", {}))
    return StringField(label, widget=widgets.NumberInput(), render_kw=render_kw, **kw)


class Parsed(StringField):
    """Text turned into a value by one of rules.values' parsers; its message is the field's error
    (e.g. ``Parsed("Rate", values.money)``)."""

    def __init__(self, label=None, parser=None, validators=None, **kw):
        super().__init__(label, validators, **kw)
        self.parser = parser
        self.raw = None

    def process_formdata(self, valuelist):
        if valuelist:
            self.raw = valuelist[0]
            self.data = self.parser(self.raw)

    def _value(self):
        if self.raw is not None:
            return self.raw
        return f"{self.data:.2f}" if isinstance(self.data, Decimal) else shown(self.data)


class Unique:
    """No other row has this value (case-insensitive); the view sets ``form.editing_id``."""

    def __init__(self, column, noun: str):
        self.column, self.noun = column, noun

    def __call__(self, form, field):
        value = (field.data or "").strip()
        if not value:
            return
        model = self.column.class_
        same = select(model.id).where(func.lower(self.column) == value.lower())
        if getattr(form, "editing_id", None) is not None:
            same = same.where(model.id != form.editing_id)
        if db.session.scalar(same) is not None:
            raise ValidationError(f"another {self.noun} is already “{value}”")


class ChoiceOf(SelectField):
    """One row by id (a string, "" for none). ``blank``: the label of "none", or None when a
    value is required. Choices come from :meth:`offer`, called per request."""

    def __init__(self, label=None, validators=None, *, blank: str | None = "—", **kw):
        super().__init__(label, validators, choices=[], coerce=_text, **kw)
        self.blank = blank

    def process_data(self, value):
        self.data = _text(value)

    def offer(self, rows, label=str) -> None:
        blank = [] if self.blank is None else [("", self.blank)]
        self.choices = blank + [(str(r.id), label(r)) for r in rows]

    def pre_validate(self, form) -> None:
        if self.data == "" and self.blank is None:
            raise ValidationError("is required")
        if self.data not in {value for value, _ in self.choices}:
            raise ValidationError(NOT_OFFERED)

    @property
    def chosen_id(self) -> int | None:
        return row_id(self.data)


class MultiChoiceOf(SelectMultipleField):
    """Several rows by id; choices from :meth:`offer`."""

    def __init__(self, label=None, validators=None, **kw):
        super().__init__(label, validators, choices=[], coerce=_text, **kw)

    def offer(self, rows, label=str) -> None:
        self.choices = [(str(r.id), label(r)) for r in rows]

    def pre_validate(self, form) -> None:
        offered = {value for value, _ in self.choices}
        if any(value not in offered for value in self.data or ()):
            raise ValidationError(NOT_OFFERED)


class Checkboxes(SelectMultipleField):
    """A fixed set of codes as a column of checkboxes (a profile's permission rules)."""

    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


class Flag(BooleanField):
    """A yes/no box whose raw value ("y" or "") goes to rules.values.flag."""

    false_values = (False, "false", "", "0", "n", "no", "off")


class Original(HiddenField):
    """The values a form showed, as JSON: a save changes only what the user changed, so that a
    note released meanwhile (remaining units) is not overwritten with what the form showed."""

    def values(self) -> dict | None:
        try:
            data = json.loads(self.data or "")
        except ValueError:
            return None
        return data if isinstance(data, dict) else None


def offered(model, *order_by, keep=()) -> list:
    """Rows offered for a new choice of a reference that is not a pick list (billing codes,
    payers, providers): the active ones, plus those already chosen (``keep``: ids)."""
    keep = sorted({k for k in keep if k is not None})
    cond = model.active.is_(True)
    if keep:
        cond = or_(cond, model.id.in_(keep))
    return list(db.session.scalars(select(model).where(cond).order_by(*order_by)))


class ConsoleForm(BaseForm):
    """Base of the console's hand-written forms (CSRF: the app-wide CSRFProtect; the templates
    render its token)."""


def shown(value) -> str:
    """A stored value as a form shows it (and as :func:`changed_fields` compares it)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "y" if value else ""
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value.normalize(), "f") if value == value.to_integral() else str(value)
    return str(value)


def changed_fields(submitted: dict, original: dict | None, current: dict) -> dict:
    """The fields the user changed: submitted ≠ what the form showed (``original``), or, when the
    form did not say what it showed, submitted ≠ the stored value."""
    base = original if original is not None else current
    return {k: val for k, val in submitted.items() if val != base.get(k, current.get(k, ""))}


def run_rule(call, form=None):
    """``call()`` calls rules/; then commit. A refusal rolls back, shows the message (and each
    field's complaint on ``form``) and returns None."""
    try:
        result = call()
        db.session.commit()
    except DomainError as exc:
        db.session.rollback()
        show_domain_error(exc, form)
        return None
    return result if result is not None else True


class ConsoleModelView(SecureModelView):
    """A model screen with a hand-written form: choices offered per request
    (:meth:`offer_choices`), ``form.editing_id`` set for :class:`Unique`, and no row-by-row
    "delete" action (Flask-Admin's commits each row on its own)."""

    action_disallowed_list = ["delete"]

    def is_action_allowed(self, name: str) -> bool:
        return name not in self.action_disallowed_list and super().is_action_allowed(name)

    def offer_choices(self, form, obj=None) -> None:
        """Fill the form's choice fields (per request: pick lists change at any time)."""

    def create_form(self, obj=None):
        form = super().create_form(obj)
        form.editing_id = None
        self.offer_choices(form, None)
        return form

    def edit_form(self, obj=None):
        form = super().edit_form(obj)
        form.editing_id = getattr(obj, "id", None)
        self.offer_choices(form, obj)
        return form
