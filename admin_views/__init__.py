"""The console: Flask-Admin screens, declared one module per area and registered here in the
order of the menu."""
from __future__ import annotations

from flask import Flask
from flask_admin import Admin
from flask_admin.theme import Bootstrap4Theme

from . import account, alerts, audit, imports, notes, tokens
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
_REGISTRARS: list = []
_REGISTRARS += [notes.register, alerts.register, imports.register, tokens.register,
                audit.register, account.register]  # audit and My account last
