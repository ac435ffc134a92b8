"""Declaring an API operation once: its route, permission, query, body and response schemas.

``@operation(...)`` registers the Flask route and records the operation for the OpenAPI
document, and the view it registers does, in this order: the permission (403), the query
parameters (400), the body (400 malformed, 422 invalid fields), the handler, a check of the
result against the response schema, and — for writes — the commit."""
from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from flask import Response, jsonify, request
from pydantic import BaseModel
from pydantic import ValidationError as PydanticError

from extensions import db
from rules.permissions import PERMISSIONS

from . import bp
from .auth import current_actor
from .errors import ApiError
from .schemas import MAX_ID, Request

MAX_BODY_BYTES = 1_000_000
WRITE_METHODS = {"POST", "PATCH", "PUT", "DELETE"}


@dataclass
class Operation:
    method: str
    path: str  # OpenAPI form, relative to /api/v1: "/clients/{client_id}"
    operation_id: str
    summary: str
    tag: str
    description: str = ""
    permission: str | None = None
    #: Shown in the reference when the rule is more than one permission.
    access: str = ""
    query: type[BaseModel] | None = None
    body: type[BaseModel] | None = None
    response: type[BaseModel] | None = None
    status: int = 200
    errors: tuple[int, ...] = field(default_factory=tuple)

    @property
    def path_params(self) -> list[str]:
        return re.findall(r"{(\w+)}", self.path)


#: Every operation, in the order the reference lists them.
OPERATIONS: list[Operation] = []

_FRIENDLY = {
    "missing": "is required",
    "extra_forbidden": "is not a field of this resource",
    "int_type": "must be a whole number",
    "int_parsing": "must be a whole number",
    "int_from_float": "must be a whole number",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
    "date_type": "must be a date (YYYY-MM-DD)",
    "date_from_datetime_parsing": "must be a date (YYYY-MM-DD)",
    "date_parsing": "must be a date (YYYY-MM-DD)",
    "string_type": "must be text",
    "float_type": "must be a number",
    "float_parsing": "must be a number",
    "list_type": "must be a list",
    "model_type": "must be an object",
    "dict_type": "must be an object",
}


def _field_errors(exc: PydanticError, model: type[BaseModel]) -> dict[str, str]:
    read_only = getattr(model, "read_only", frozenset())
    fields: dict[str, str] = {}
    for err in exc.errors(include_url=False):
        loc = [str(part) for part in err["loc"]]
        name = loc[0] if loc else "body"
        if err["type"] == "extra_forbidden" and len(loc) == 1 and name in read_only:
            message = "is read-only (computed by Authdesk); leave it out"
        else:
            message = _FRIENDLY.get(err["type"]) or err["msg"][:1].lower() + err["msg"][1:]
            if len(loc) > 1:
                message = f"{'.'.join(loc[1:])}: {message}"
        fields.setdefault(name, message)
    return fields


def parse_query(model: type[BaseModel]) -> BaseModel:
    raw = {}
    for key in request.args.keys():
        values = request.args.getlist(key)
        if len(values) > 1:
            raise ApiError(400, f"Give the query parameter {key} once.", fields={key: "repeated"})
        if "\x00" in values[0] or "\x00" in key:
            raise ApiError(400, "A query parameter contains a character that is not allowed.")
        raw[key] = values[0]
    try:
        return model.model_validate(raw)
    except PydanticError as exc:
        fields = _field_errors(exc, model)
        raise ApiError(400, "Some query parameters are not valid: " + "; ".join(
            f"{k} {v}" for k, v in fields.items()) + ".", fields=fields) from None


def _reject_constant(name: str):
    raise ValueError(f"{name} is not a number")


def _has_nul(value) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


def parse_body(model: type[BaseModel]) -> BaseModel:
    if request.mimetype != "application/json":
        raise ApiError(400, "Send the body as JSON with “Content-Type: application/json”.")
    if (request.content_length or 0) > MAX_BODY_BYTES:
        raise ApiError(400, "The body is too large.")
    raw = request.get_data(cache=False)
    if len(raw) > MAX_BODY_BYTES:
        raise ApiError(400, "The body is too large.")
    try:
        text = raw.decode("utf-8")
        data = json.loads(text, parse_constant=_reject_constant)
        # Lone surrogates decode in JSON but cannot be stored as text.
        json.dumps(data, ensure_ascii=False).encode("utf-8")
    except (ValueError, RecursionError, UnicodeError):
        raise ApiError(400, "The body is not valid JSON.") from None
    if not isinstance(data, dict):
        raise ApiError(400, "The body must be a JSON object.")
    try:
        nul = _has_nul(data)
    except RecursionError:
        raise ApiError(400, "The body is nested too deeply.") from None
    if nul:
        raise ApiError(400, "The body contains a character that is not allowed (NUL).")
    try:
        return model.model_validate_json(text, strict=True)
    except PydanticError as exc:
        fields = _field_errors(exc, model)
        message = "; ".join(f"{k}: {v}" for k, v in fields.items())
        raise ApiError(422, f"Some fields are not valid — {message}.", fields=fields) from None


def _flask_rule(path: str) -> str:
    # Every path parameter is an id. (A converter with min/max would answer a plain 404 page
    # for "0"; the range is checked in the view instead, for a JSON 404.)
    return re.sub(r"{(\w+)}", r"<int:\1>", path)


def operation(method: str, path: str, *, summary: str, tag: str, response=None,
              status: int = 200, query=None, body=None, permission: str | None = None,
              access: str = "", description: str = "", errors: tuple[int, ...] = ()):
    """Declare and register one operation; see the module docstring."""

    def decorate(handler: Callable) -> Callable:
        op = Operation(method=method, path=path, operation_id=handler.__name__, summary=summary,
                       tag=tag, description=description, permission=permission,
                       access=access or (f"Needs “{PERMISSIONS[permission]}”." if permission
                                         else "Any valid token."),
                       query=query, body=body, response=response, status=status,
                       errors=tuple(errors))
        OPERATIONS.append(op)

        @functools.wraps(handler)
        def view(**path_args):
            if permission:
                current_actor().require(permission, summary[:1].lower() + summary[1:])
            for name, value in path_args.items():
                if not 1 <= value <= MAX_ID:
                    raise ApiError(404, f"There is no {name.removesuffix('_id')} #{value}.")
            kwargs = dict(path_args)
            if query is not None:
                kwargs["query"] = parse_query(query)
            elif request.args:
                raise ApiError(400, "This operation takes no query parameters.",
                               fields={k: "unknown parameter" for k in request.args})
            if body is not None:
                kwargs["body"] = parse_body(body)
            result = handler(**kwargs)
            payload = None
            if response is not None:
                payload = response.model_validate(result).model_dump(mode="json")
            if method in WRITE_METHODS:
                db.session.commit()
            if payload is None:
                return Response(status=status)
            out = jsonify(payload)
            out.status_code = status
            return out

        bp.add_url_rule(_flask_rule(path), endpoint=handler.__name__, view_func=view,
                        methods=[method])
        return handler

    return decorate


def body_fields(model: Request) -> dict:
    """The fields a client actually sent (PATCH: only these change)."""
    return {name: getattr(model, name) for name in model.model_fields_set}
