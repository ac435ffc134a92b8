"""The console: Flask-Admin screens, declared one module per area and registered here in the
order of the menu."""
from __future__ import annotations

from flask import Flask
from flask_admin import Admin
from flask_admin.theme import Bootstrap4Theme

from rules.permissions import VIEW_AUDIT

from . import (account, alerts, audit, authorizations, bulk, chart, clients, financial,
               imports, notes, people, picklists, tokens)
from .home import HomeView


def init_admin(app: Flask) -> Admin:
    admin = Admin(
        app,
        name="Authdesk",
        url="/console",
        index_view=HomeView(name="Home", url="/console", endpoint="admin"),
        theme=Bootstrap4Theme(base_template="authdesk/master.html", fluid=True),
    )
    for register in _REGISTRARS:
        register(admin)
    return admin


#: Each area adds its screens: ``register(admin)``, in menu order.
#: Menu order: Clients, Notes, Alerts, Financial, Administration, then the audit trail and My account.
_REGISTRARS: list = [clients.register, authorizations.register, imports.register, notes.register,
                     alerts.register, financial.register, picklists.register, people.register,
                     audit.register, account.register, tokens.register, bulk.register]


# The client chart gathers what other areas show on it (see admin_views/chart.py). Done here,
# once per process, so every area stays unaware of the others.
chart.CHART_TABS.append(chart.ChartTab("history", "History", "console/chart_history.html",
                                       VIEW_AUDIT))
chart.AUTH_LINE_EXTRAS += [notes.CHART_AUTH_LINE_TEMPLATE, "audit/_chart_auth_line.html"]
chart.CHART_CONTEXT += [notes.chart_context, audit.chart_history_context]

# Bulk Add or Update (admin_views/bulk.py): buttons on the chart, the lists ("With selected" and
# the toolbar) and the audit trail's page of a bulk operation.
chart.CHART_TOOLBAR.append("console/bulk/_chart_toolbar.html")
audit.BATCH_ACTIONS.append("console/bulk/_batch_undo.html")
bulk.add_list_action(authorizations.AuthorizationListView, "authorizations",
                     "Bulk Add or Update…")
bulk.add_list_action(clients.ClientView, "clients", "Bulk Add…")
