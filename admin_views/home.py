"""The console's home page: the dashboard. What it shows, and for whose clients, is decided in
rules.dashboard (a recipient's alerts, a provider's caseload, or the whole practice)."""
from __future__ import annotations

from flask import url_for
from flask_admin import AdminIndexView, expose
from flask_login import current_user

from extensions import db
from models import ALERT_KIND_LABELS
from rules.alerts import KIND_ORDER
from rules.clock import clinic_today
from rules.dashboard import dashboard_for
from rules.permissions import RECEIVE_ALERTS

from .base import AccessMixin, can
from .links import client_chart_link


class HomeView(AccessMixin, AdminIndexView):
    def is_visible(self) -> bool:
        return False  # the brand link leads home

    @expose("/")
    def index(self):
        today = clinic_today()
        board = dashboard_for(db.session, current_user._get_current_object(), today)
        alerts_url = url_for("alerts.index") if can(RECEIVE_ALERTS) and \
            "alerts.index" in self.admin.app.view_functions else None
        return self.render("admin_views/home.html", board=board, today=today,
                           kinds=[(k, ALERT_KIND_LABELS[k]) for k in KIND_ORDER],
                           alerts_url=alerts_url, client_link=client_chart_link(self.admin))
