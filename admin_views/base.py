"""What every console screen shares: access checked on the server for every view, action,
export, ajax look-up and inline edit (403, not a hidden menu); the acting user for rules/; and
turning a domain error into messages on the form. Screens subclass these and stay declarative."""
from __future__ import annotations

import re

import sqlalchemy as sa
from flask import abort, flash, g, redirect, request, url_for
from flask_admin import BaseView, expose  # noqa: F401  (re-exported for screens)
from flask_admin.contrib.sqla import ModelView
from flask_login import current_user

from extensions import db
from rules import Actor, DomainError


def current_actor() -> Actor:
    """The logged-in user as a rules actor (one per request)."""
    actor = g.get("actor")
    if actor is None:
        actor = g.actor = Actor.for_user(current_user, g.get("request_id"))
    return actor


def can(permission: str | None) -> bool:
    return current_user.is_authenticated and (permission is None or current_user.can(permission))


class AccessMixin:
    """``permission``: needed to open the screen at all (None: any logged-in user)."""

    permission: str | None = None

    def is_accessible(self) -> bool:
        return can(self.permission)

    def is_visible(self) -> bool:
        return self.is_accessible()

    def inaccessible_callback(self, name, **kwargs):
        if not current_user.is_authenticated:
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        abort(403)

    @property
    def actor(self) -> Actor:
        return current_actor()


_ROW_ID = re.compile(r"[0-9]{1,10}")
#: The largest id a table holds (ids are 32-bit integers on PostgreSQL).
MAX_ROW_ID = 2**31 - 1


def row_id(value) -> int | None:
    """An id taken from a URL or a form: plain ASCII digits within the ids' range, else None.
    (Python's int() would take "١٢٣", choke on "²", and hand the database a number too large
    for its integer type: SQLite raises OverflowError, PostgreSQL a range error.)"""
    text = "" if value is None else str(value)
    if not _ROW_ID.fullmatch(text):
        return None
    number = int(text)
    return number if 1 <= number <= MAX_ROW_ID else None


def show_domain_error(exc: DomainError, form=None) -> None:
    """Flash the message and put each field's complaint under that field of the form."""
    if form is not None:
        for field, message in exc.fields.items():
            target = getattr(form, field, None) or getattr(form, field.removesuffix("_id"), None)
            if target is not None and hasattr(target, "errors"):
                errors = list(target.errors) if isinstance(target.errors, (list, tuple)) else []
                target.errors = [*errors, message]
    flash(exc.message, "error")
    for detail in exc.details:
        flash(detail, "error")


class SecureModelView(AccessMixin, ModelView):
    """A model screen with a read permission and an edit permission.

    ``edit_permission`` governs create, edit, inline edit and delete; ``export_permission``
    the CSV export. Disallowed actions answer 403."""

    edit_permission: str | None = None
    export_permission: str | None = None
    #: action name → permission needed to run it.
    action_permissions: dict[str, str] = {}
    # Screens opt in to these explicitly.
    can_view_details = False
    page_size = 25
    can_set_page_size = True
    page_size_options = (20, 25, 50, 100)

    def __init__(self, model, session=None, **kw):
        super().__init__(model, session or db, **kw)

    def get_one(self, id):
        """The row of an id from the URL; a malformed, forged or out-of-range id is no row
        (Flask-Admin then says "Record does not exist") rather than a database error."""
        [pk] = sa.inspect(self.model).primary_key
        if isinstance(pk.type, sa.Integer):
            if row_id(id) is None:
                return None
        return super().get_one(id)

    def _may_edit(self) -> bool:
        return can(self.edit_permission or self.permission)

    @property
    def can_create(self):
        return self._may_edit() and self.allow_create

    @property
    def can_edit(self):
        return self._may_edit() and self.allow_edit

    @property
    def can_delete(self):
        return self._may_edit() and self.allow_delete

    @property
    def can_export(self):
        return self.export_permission is not None and can(self.export_permission)

    allow_create = True
    allow_edit = True
    allow_delete = True

    def _populate_without_autoflush(self, form) -> None:
        """Fill the model from the form with autoflush off: loading a collection (client
        groups, codes) would otherwise flush half of the edit first, and one save would leave
        two audit records."""
        populate = form.populate_obj

        def populate_obj(obj):
            with db.session.no_autoflush:
                populate(obj)

        form.populate_obj = populate_obj

    def create_model(self, form):
        self._populate_without_autoflush(form)
        return super().create_model(form)

    def update_model(self, form, model):
        self._populate_without_autoflush(form)
        return super().update_model(form, model)

    #: The last page a list offers; a larger or negative ?page= (typed or forged) shows the
    #: first page instead of overflowing the database's OFFSET.
    MAX_PAGE = 100_000

    def _get_list_extra_args(self):
        args = super()._get_list_extra_args()
        if not 0 <= (args.page or 0) <= self.MAX_PAGE:
            args.page = 0
        return args

    def is_action_allowed(self, name: str) -> bool:
        if name == "delete":
            return self.can_delete
        needed = self.action_permissions.get(name)
        return needed is not None and can(needed)

    def handle_action(self, return_view=None):
        name = request.form.get("action", "")
        if name and not self.is_action_allowed(name):
            abort(403)
        return super().handle_action(return_view)

    # A screen the profile may open but not change answers 403 (not Flask-Admin's redirect).
    @expose("/new/", methods=("GET", "POST"))
    def create_view(self):
        if not self.can_create:
            abort(403)
        return super().create_view()

    @expose("/edit/", methods=("GET", "POST"))
    def edit_view(self):
        if not self.can_edit:
            abort(403)
        return super().edit_view()

    @expose("/delete/", methods=("POST",))
    def delete_view(self):
        if not self.can_delete:
            abort(403)
        return super().delete_view()

    @expose("/export/<export_type>/")
    def export(self, export_type):
        if not self.can_export:
            abort(403)
        return super().export(export_type)

    @expose("/ajax/lookup/")
    def ajax_lookup(self):
        # Look-ups feed the choices of create and edit forms.
        if not (self.can_create or self.can_edit):
            abort(403)
        return super().ajax_lookup()

    @expose("/ajax/update/", methods=("POST",))
    def ajax_update(self):
        if not self.can_edit:
            abort(403)
        pk = request.form.get("list_form_pk")
        if pk is None or self.get_one(pk) is None:
            return "That record does not exist (it may have been deleted).", 404
        response = super().ajax_update()
        if isinstance(response, tuple) and response[1] == 500:
            return response[0], 400
        return response

    def handle_view_exception(self, exc: Exception) -> bool:
        if isinstance(exc, DomainError):
            db.session.rollback()
            show_domain_error(exc)
            return True
        return super().handle_view_exception(exc)
