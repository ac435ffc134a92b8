"""The console: Flask-Admin screens, declared one module per area and registered here in the
order of the menu."""
from __future__ import annotations

from flask import Flask
from flask_admin import Admin
from flask_admin.theme import Bootstrap4Theme

from . import (account, alerts, audit, authorizations, clients, financial, imports, notes,
               people, picklists, tokens)
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
_REGISTRARS: list = [clients.register, authorizations.register, notes.register, alerts.register,
                     financial.register, picklists.register, people.register, imports.register,
                     tokens.register, audit.register, account.register]
