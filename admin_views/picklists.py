"""Administration → Pick List Management: the lists grouped as staff know them (Billing → Auth
Groups; Clients → Divisions, Client Groups; Users → User Groups). Add, rename, reorder, activate
and deactivate; an item in use cannot be deleted (rules.picklists). Every form reads the lists
per request, so a change shows everywhere at once."""
from __future__ import annotations

from flask import abort, flash, redirect, request, url_for
from sqlalchemy import select

from extensions import db
from models import PICK_LISTS
from rules import DomainError
from rules.permissions import MANAGE_PICK_LISTS
from rules.picklists import add_item, delete_item, update_item

from .base import AccessMixin, BaseView, expose, show_domain_error

LISTS = {model.__tablename__: model for model in PICK_LISTS}
GROUPS = ("Billing", "Clients", "Users")


def _model(list_key: str):
    model = LISTS.get(list_key)
    if model is None:
        abort(404)
    return model


class PickListView(AccessMixin, BaseView):
    permission = MANAGE_PICK_LISTS

    def _page(self, submitted=None, errors=None, status=200):
        groups = [(group, [(key, model, db.session.scalars(
                    select(model).order_by(model.sort_order, model.name)).all())
                   for key, model in LISTS.items() if model.pick_list_group == group])
                  for group in GROUPS]
        return self.render("console/picklists.html", groups=groups, submitted=submitted or {},
                           errors=errors or {}), status

    @expose("/")
    def index(self):
        return self._page()

    @expose("/<list_key>/add", methods=("POST",))
    def add(self, list_key):
        model = _model(list_key)
        try:
            item = add_item(db.session, self.actor, model, request.form.get("name"),
                            request.form.get("sort_order"))
            db.session.commit()
        except DomainError as exc:
            db.session.rollback()
            show_domain_error(exc)
            return self._page(submitted={(list_key, "new"): request.form}, status=422)
        flash(f"Added “{item.name}” to {model.pick_list_label}.", "success")
        return redirect(url_for(".index") + f"#{list_key}")

    @expose("/<list_key>/save", methods=("POST",))
    def save(self, list_key):
        """Every item of one list at once: all saved, or none."""
        model = _model(list_key)
        form, errors = request.form, {}
        for item in db.session.scalars(select(model).order_by(model.id)).all():
            if f"name-{item.id}" not in form:
                continue
            try:
                update_item(db.session, self.actor, model, item.id,
                            name=form.get(f"name-{item.id}"),
                            sort_order=form.get(f"order-{item.id}"),
                            active=f"active-{item.id}" in form)
            except DomainError as exc:
                errors[item.id] = exc
        if errors:
            db.session.rollback()
            for item_id, exc in errors.items():
                flash(f"{model.pick_list_label}, item #{item_id}: {exc.message}", "error")
            return self._page(submitted={(list_key, "save"): form},
                              errors={(list_key, i): e for i, e in errors.items()}, status=422)
        db.session.commit()
        flash(f"{model.pick_list_label} saved.", "success")
        return redirect(url_for(".index") + f"#{list_key}")

    @expose("/<list_key>/<id:item_id>/delete", methods=("POST",))
    def delete(self, list_key, item_id):
        model = _model(list_key)
        try:
            delete_item(db.session, self.actor, model, item_id)
            db.session.commit()
        except DomainError as exc:
            db.session.rollback()
            show_domain_error(exc)
        else:
            flash(f"Deleted from {model.pick_list_label}.", "success")
        return redirect(url_for(".index") + f"#{list_key}")


def register(admin) -> None:
    admin.add_view(PickListView(name="Pick List Management", category="Administration",
                                endpoint="picklists", url="/console/picklists"))
