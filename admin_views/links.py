"""Links to screens that other areas of the console build (the client chart, an auth's page).
Such a screen may be missing from a build or closed to the user: then there is no link and the
name shows as plain text, never a 500."""
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
    """The client chart: the Flask-Admin clients screen (endpoint ``clients``)."""
    return record_link(admin, "clients")
