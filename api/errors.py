"""Every API failure as JSON: ``{"error": {"code", "message", "fields"?, "details"?}}``.

400 malformed JSON or query parameters, 401 no or bad token, 403 the profile does not allow it,
404 no such thing (or not visible to this user), 405 wrong method, 409 not enough units or a state
conflict, 422 invalid fields (``fields`` names each). A domain error of rules/ keeps its own
status and code. Nothing a client sends may produce a 500: the database's own refusals are
mapped too, and anything else is logged and answered as JSON."""
from __future__ import annotations

import logging

from flask import current_app, g, jsonify, request
from sqlalchemy.exc import DataError, IntegrityError, OperationalError
from werkzeug.exceptions import HTTPException
from werkzeug.routing import PathConverter

from extensions import db
from rules import DomainError

log = logging.getLogger("authdesk.api")

#: Model field → API field, for messages of rules/ (the API speaks the clinic's names).
API_FIELD_NAMES = {
    "billing_code_id": "billing_code",
    "is_default": "default",
}

HTTP_CODES = {
    400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
    405: "method_not_allowed", 409: "conflict", 413: "too_large", 415: "unsupported_media_type",
    422: "validation_error", 429: "too_many_requests",
}


class ApiError(Exception):
    """A refusal decided by the API layer itself (malformed input, authentication)."""

    def __init__(self, status: int, message: str, *, code: str | None = None,
                 fields: dict[str, str] | None = None, details: list[str] | None = None,
                 headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.code = code or HTTP_CODES.get(status, "error")
        self.message = message
        self.fields = fields or {}
        self.details = details or []
        self.headers = headers or {}


def error_response(status: int, code: str, message: str, *, fields=None, details=None,
                   headers=None):
    body = {"code": code, "message": message}
    if fields:
        body["fields"] = {API_FIELD_NAMES.get(k, k): str(val) for k, val in fields.items()}
    if details:
        body["details"] = [str(d) for d in details]
    response = jsonify({"error": body})
    response.status_code = status
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def _rollback() -> None:
    try:
        db.session.rollback()
    except Exception:  # the session may be unusable; teardown removes it anyway
        log.exception("rollback after an API error failed")


_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def unknown_path(rest: str = ""):
    """Whatever no operation matches: 405 when the path exists with other methods, else 404."""
    adapter = current_app.url_map.bind_to_environ(request.environ)
    allowed = []
    for method in _METHODS:
        try:
            endpoint, _ = adapter.match(method=method)
        except HTTPException:
            continue
        if endpoint != "api.unknown_path":
            allowed.append(method)
    if allowed:
        raise ApiError(405, f"{request.method} is not allowed here; use "
                       f"{' or '.join(allowed)}.", headers={"Allow": ", ".join(allowed)})
    raise ApiError(404, f"There is no API operation at {request.path}; see /api/v1/docs.")


class AnyPathConverter(PathConverter):
    """Like ``path``, but also across newlines (werkzeug's stops there), so that no path under
    /api/v1 falls through to the app's HTML 404 page."""

    regex = r"[\s\S]*?"
    part_isolating = False  # it spans slashes (werkzeug guesses from a "/" in the regex)


def register_error_handlers(bp) -> None:
    bp.add_url_rule("/", "unknown_path", unknown_path, methods=_METHODS)
    bp.add_url_rule("/<api_any_path:rest>", "unknown_path", unknown_path, methods=_METHODS)

    @bp.errorhandler(ApiError)
    def _api_error(exc: ApiError):
        _rollback()
        return error_response(exc.status, exc.code, exc.message, fields=exc.fields,
                              details=exc.details, headers=exc.headers)

    @bp.errorhandler(DomainError)
    def _domain_error(exc: DomainError):
        _rollback()
        return error_response(exc.http_status, exc.code, exc.message, fields=exc.fields,
                              details=exc.details)

    @bp.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        _rollback()
        status = exc.code or 500
        headers = {}
        if status == 405 and getattr(exc, "valid_methods", None):
            headers["Allow"] = ", ".join(exc.valid_methods)
        return error_response(status, HTTP_CODES.get(status, "error"),
                              exc.description or exc.name, headers=headers)

    @bp.errorhandler(IntegrityError)
    def _integrity(exc: IntegrityError):
        # A rule should have refused this first; the database's constraint is the last guard.
        _rollback()
        log.warning("API request refused by a database constraint: %s", exc.orig)
        return error_response(409, "conflict", "The change conflicts with the data as it is "
                              "now (refused by the database); reload and try again.")

    @bp.errorhandler(DataError)
    def _data_error(exc: DataError):
        _rollback()
        log.warning("API request refused by the database as malformed: %s", exc.orig)
        return error_response(400, "bad_request", "A value is out of range or malformed.")

    @bp.errorhandler(OperationalError)
    def _operational(exc: OperationalError):
        _rollback()
        log.exception("database unavailable or busy during an API request")
        return error_response(503, "unavailable", "The database is busy; try again shortly.",
                              headers={"Retry-After": "1"})

    @bp.errorhandler(Exception)
    def _unexpected(exc: Exception):
        _rollback()
        log.exception("unexpected error in API request %s", g.get("request_id"))
        return error_response(500, "internal_error", "Something went wrong on our side; the "
                              f"request id is {g.get('request_id', '?')}.")

