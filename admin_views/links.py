"""Links from one area of the console to another (the client chart, an auth's page). A screen
closed to the user gives no link: the name shows as plain text, never a 500."""
from __future__ import annotations

from collections.abc import Callable

from flask import current_app, url_for
from werkzeug.routing import BuildError


def _view(admin, endpoint: str):
    for view in getattr(admin, "_views", ()):
        if getattr(view, "endpoint", None) == endpoint:
            return view
    return None


def record_link(admin, endpoint: str) -> Callable[[int], str | None]:
    """``link(id)`` → the URL of that record on the ``endpoint`` screen (its details page if
    the screen shows details, else its edit form), or None. Decided once per page."""
    view = _view(admin, endpoint)
    if view is not None:
        if getattr(view, "can_view_details", False):
            target = f"{endpoint}.details_view"
        elif getattr(view, "can_edit", False):
            target = f"{endpoint}.edit_view"
        else:
            target = None
    else:
        target = next((e for e in (f"{endpoint}.details_view", f"{endpoint}.edit_view")
                       if e in current_app.view_functions), None)

    def link(record_id: int) -> str | None:
        if target is None:
            return None
        try:
            return url_for(target, id=record_id)
        except BuildError:
            return None

    return link


def client_chart_link(admin) -> Callable[[int], str | None]:
    """``link(client_id)`` → the client chart, or None for a user who may not open it."""
    view = _view(admin, "clients")
    if view is None or not view.is_accessible():
        return lambda client_id: None
    return lambda client_id: url_for("clients.chart", client_id=client_id)
