"""Alerts: the logged-in recipient's open alerts (rule 13), filtered by kind and division, each
acknowledged for oneself. Who receives which alerts, and when they open and close, is decided
in rules.alerts; this screen only shows them."""
from __future__ import annotations

from flask import abort, flash, redirect, request, url_for
from flask_login import current_user

from extensions import db
from models import ALERT_KIND_LABELS, Division
from rules import DomainError
from rules.alerts import KIND_ORDER, acknowledge_alert, alert_counts_for, open_alerts_for
from rules.clock import clinic_today
from rules.permissions import RECEIVE_ALERTS
from rules.picklists import choices

from .base import AccessMixin, BaseView, expose
from .links import client_chart_link, record_link

PAGE_SIZE = 50


def _filters(source) -> dict:
    """The list's filters from query or form values, keeping only valid ones."""
    out = {}
    kind = source.get("kind", "")
    if kind in KIND_ORDER:
        out["kind"] = kind
    division = source.get("division", type=int)
    if division:
        out["division"] = division
    if source.get("acknowledged") == "1":
        out["acknowledged"] = "1"
    page = source.get("page", type=int)
    if page and page > 1:
        out["page"] = page
    return out


class AlertsView(AccessMixin, BaseView):
    permission = RECEIVE_ALERTS

    @expose("/")
    def index(self):
        f = _filters(request.args)
        page = f.get("page", 1)
        user = current_user._get_current_object()
        found = open_alerts_for(db.session, user, today=clinic_today(), kind=f.get("kind"),
                                division_id=f.get("division"),
                                include_acknowledged="acknowledged" in f,
                                limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
        if not found.rows and page > 1:  # the page emptied (acknowledged, closed): go back
            return redirect(url_for(".index", **{k: v for k, v in f.items() if k != "page"}))
        pages = max(1, -(-found.total // PAGE_SIZE))
        return self.render(
            "admin_views/alerts.html", alerts=found.rows, total=found.total, page=page,
            pages=pages, filters=f, kinds=[(k, ALERT_KIND_LABELS[k]) for k in KIND_ORDER],
            counts=alert_counts_for(db.session, user),
            divisions=choices(db.session, Division, f.get("division")),
            client_link=client_chart_link(self.admin),
            auth_link=record_link(self.admin, "authorizations"))

    @expose("/acknowledge", methods=("POST",))
    def acknowledge(self):
        alert_id = request.form.get("alert_id", type=int)
        if alert_id is None:
            abort(400)
        try:
            row = acknowledge_alert(db.session, self.actor, alert_id, today=clinic_today())
            db.session.commit()
            flash(f"Acknowledged: {row.kind_label} – {row.client_name}, {row.code} "
                  f"({row.auth_number}). It stays open for the other recipients.", "success")
        except DomainError as exc:
            db.session.rollback()
            flash(exc.message, "error")
        return redirect(url_for(".index", **_filters(request.form)))


def register(admin) -> None:
    admin.add_view(AlertsView(name="Alerts", endpoint="alerts", url="alerts"))
