"""The console's home page (the dashboard grows here)."""
from __future__ import annotations

from flask_admin import AdminIndexView, expose

from .base import AccessMixin


class HomeView(AccessMixin, AdminIndexView):
    def is_visible(self) -> bool:
        return False  # the brand link leads home

    @expose("/")
    def index(self):
        return self.render("admin_views/home.html")
