"""The JSON API (``/api/v1``): integrations (scheduling systems, EHRs, billing tools) read and
write what the console does, with a personal bearer token, the same permissions and the same
rules. ``/api/v1/openapi.json`` describes it; ``/api/v1/docs`` is its reference page.

Modules: auth (tokens), errors (JSON errors), schemas (pydantic models), operations (declaring an
operation), lookups / clients / authorizations / notes / alerts (the resources), openapi (the
document and the reference page)."""
from __future__ import annotations

from flask import Blueprint, Flask

bp = Blueprint("api", __name__, url_prefix="/api/v1")


def init_api(app: Flask) -> None:
    from extensions import csrf

    from .errors import AnyPathConverter

    app.url_map.converters["api_any_path"] = AnyPathConverter
    app.register_blueprint(bp)
    # Bearer tokens, not cookies: a cross-site form cannot forge a request, so no CSRF token.
    csrf.exempt(bp)


# The blueprint is set up once, at import; every app registers the same one.
from . import auth, errors  # noqa: E402

bp.before_request(auth.authenticate_request)


@bp.after_request
def _no_store(response):
    # Answers carry clients' health data: no shared or browser cache keeps them.
    response.headers.setdefault("Cache-Control", "no-store")
    return response


errors.register_error_handlers(bp)

from . import alerts, authorizations, clients, lookups, notes, openapi  # noqa: E402,F401
