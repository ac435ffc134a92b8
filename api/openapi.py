"""The OpenAPI 3.1 document, built from the declared operations and the very pydantic models
that validate requests and responses, and the reference page rendered from that document (by
the app's own template: no CDN, no script). Both are public: they describe, they show no data."""
from __future__ import annotations

import copy
import re

from flask import current_app, jsonify, render_template
from markupsafe import Markup, escape
from pydantic.json_schema import models_json_schema

from . import bp, schemas as s
from .errors import HTTP_CODES
from .operations import OPERATIONS, Operation

REF = "#/components/schemas/{model}"
VERSION = "1.0.0"

ERROR_DESCRIPTIONS = {
    400: "Malformed: the body is not a JSON object, or a query parameter is invalid.",
    401: "No token, or an unknown or revoked token, or its user is disabled.",
    403: "The token's profile does not allow this.",
    404: "No such resource (or not visible to this user).",
    409: "Not enough units, or the resource's state does not allow this.",
    422: "Invalid fields: `error.fields` names each with what is wrong.",
}

INTRO = """\
Authdesk's JSON API: clients, authorizations, notes and alerts, with the same rules and
permissions as the console.

**Authentication.** Every operation needs `Authorization: Bearer TOKEN`. Each user creates and
revokes personal tokens in the console (*API tokens*); an administrator may issue one with
`flask users token USERNAME`. A request acts with the token's user's profile, exactly as in the
console; the console's session cookie does not authenticate API requests.

**Conventions.** JSON in and out, dates as `YYYY-MM-DD`, timestamps in UTC (RFC 3339). Lists are
`{"items": [...]}`; authorizations and clients are paged with `limit` and `cursor`
(`next_cursor` of the previous page). Every change is recorded in the audit trail as the token's
user.

**Errors** are `{"error": {"code", "message", "fields"?, "details"?}}` with 400 (malformed), 401,
403, 404, 409 (not enough units, state conflict) or 422 (invalid fields, named in `fields`).
"""


def _models() -> list[tuple[type, str]]:
    seen: dict[type, str] = {s.Error: "serialization"}
    for op in OPERATIONS:
        for model, mode in ((op.body, "validation"), (op.query, "validation"),
                            (op.response, "serialization")):
            if model is not None:
                seen.setdefault(model, mode)
    return list(seen.items())


def _clean(schema: dict) -> dict:
    """Drop pydantic's generated titles of properties (the name says it)."""
    schema = copy.deepcopy(schema)
    for prop in schema.get("properties", {}).values():
        prop.pop("title", None)
    return schema


def _not_null(schema: dict) -> dict:
    """A query parameter is absent or has a value: never null."""
    options = [o for o in schema.get("anyOf", []) if o.get("type") != "null"]
    if len(options) == 1:
        merged = {k: v for k, v in schema.items() if k not in ("anyOf", "default")}
        merged.update(options[0])
        return merged
    return schema


def _parameters(op: Operation, components: dict) -> list[dict]:
    params = [{"name": name, "in": "path", "required": True,
               "schema": {"type": "integer", "minimum": 1, "maximum": s.MAX_ID}}
              for name in op.path_params]
    if op.query is not None:
        schema = components[op.query.__name__]
        required = set(schema.get("required", []))
        for name, prop in schema["properties"].items():
            prop = _not_null(prop)
            prop.pop("title", None)
            if prop.get("default", 0) is None:
                prop.pop("default")
            param = {"name": name, "in": "query", "required": name in required,
                     "schema": prop}
            if "description" in prop:
                param["description"] = prop.pop("description")
            params.append(param)
    return params


def _responses(op: Operation) -> dict:
    ok = {"description": op.summary + (": no content" if op.response is None else "")}
    if op.response is not None:
        ok["content"] = {"application/json": {
            "schema": {"$ref": REF.format(model=op.response.__name__)}}}
    statuses = {400, 401, 403, *op.errors}
    if op.path_params:
        statuses.add(404)
    if op.body is not None:
        statuses.add(422)
    if op.method != "GET":
        statuses.add(409)
    responses = {str(op.status): ok}
    error = {"application/json": {"schema": {"$ref": REF.format(model="Error")}}}
    for status in sorted(statuses):
        responses[str(status)] = {"description": ERROR_DESCRIPTIONS[status], "content": error}
    return responses


def build_document() -> dict:
    _, top = models_json_schema(_models(), ref_template=REF)
    components = {name: _clean(schema) for name, schema in top.get("$defs", {}).items()}
    paths: dict[str, dict] = {}
    for op in OPERATIONS:
        entry = {
            "operationId": op.operation_id, "summary": op.summary, "tags": [op.tag],
            "description": "\n\n".join(part for part in (op.description, op.access) if part),
            "parameters": _parameters(op, components),
            "responses": _responses(op),
        }
        if op.body is not None:
            entry["requestBody"] = {"required": True, "content": {"application/json": {
                "schema": {"$ref": REF.format(model=op.body.__name__)}}}}
        if not entry["parameters"]:
            del entry["parameters"]
        paths.setdefault(op.path, {})[op.method.lower()] = entry
    return {
        "openapi": "3.1.0",
        "info": {"title": "Authdesk API", "version": VERSION, "description": INTRO},
        "servers": [{"url": bp.url_prefix}],
        "security": [{"bearerAuth": []}],
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {"bearerAuth": {
                "type": "http", "scheme": "bearer",
                "description": "A personal API token (console → API tokens)."}},
        },
    }


def document() -> dict:
    """Built once per app (the operations do not change while it runs)."""
    cached = current_app.extensions.get("authdesk_openapi")
    if cached is None:
        cached = current_app.extensions["authdesk_openapi"] = build_document()
    return cached


@bp.route("/openapi.json")
def openapi_document():
    return jsonify(document())


# ---------------------------------------------------------------- the reference page

def type_label(schema: dict) -> str:
    """A person's reading of a JSON schema: "integer 1–100", "date", "array of Client"…"""
    if "$ref" in schema:
        return schema["$ref"].rsplit("/", 1)[-1]
    if "anyOf" in schema:
        labels = [type_label(o) for o in schema["anyOf"]]
        return " or ".join(labels)
    kind = schema.get("type", "any")
    if kind == "array":
        return f"array of {type_label(schema.get('items', {}))}"
    if kind == "object" and "additionalProperties" in schema and isinstance(
            schema["additionalProperties"], dict):
        return f"object of {type_label(schema['additionalProperties'])}"
    if "enum" in schema:
        return " | ".join(f"“{v}”" for v in schema["enum"])
    if "const" in schema:
        return f"“{schema['const']}”"
    label = schema.get("format", kind) if kind == "string" else kind
    low, high = schema.get("minimum"), schema.get("maximum")
    if low is not None or high is not None:
        label += f" {'' if low is None else low}–{'' if high is None else high}"
    if schema.get("maxLength"):
        label += f", ≤ {schema['maxLength']} characters"
    if schema.get("pattern") and kind == "string":
        label += f" matching {schema['pattern']}"
    return label


def _fields(schema: dict) -> list[dict]:
    required = set(schema.get("required", []))
    return [{"name": name, "type": type_label(prop), "required": name in required,
             "description": prop.get("description", "")}
            for name, prop in schema.get("properties", {}).items()]


def inline_markdown(text: str) -> Markup:
    """The little Markdown the descriptions use: `code`, **strong**, *emphasis*."""
    html = str(escape(text))
    html = re.sub(r"`([^`]+)`", r"<code>\1</code>", html)
    html = re.sub(r"\*\*([^*]+)\*\*", r"<strong>\1</strong>", html)
    html = re.sub(r"\*([^*]+)\*", r"<em>\1</em>", html)
    return Markup(html)


@bp.route("/docs")
def reference_page():
    doc = document()
    components = doc["components"]["schemas"]
    operations = []
    for path, methods in doc["paths"].items():
        for method, op in methods.items():
            body_ref = (op.get("requestBody", {}).get("content", {})
                        .get("application/json", {}).get("schema", {}).get("$ref"))
            operations.append({
                "method": method.upper(), "path": doc["servers"][0]["url"] + path,
                "anchor": op["operationId"], "summary": op["summary"], "tag": op["tags"][0],
                "description": op.get("description", ""),
                "parameters": [{"name": p["name"], "in": p["in"], "required": p["required"],
                                "type": type_label(p["schema"]),
                                "description": p.get("description", "")}
                               for p in op.get("parameters", [])],
                "body": body_ref.rsplit("/", 1)[-1] if body_ref else None,
                "responses": [{"status": status, "description": r["description"],
                               "schema": type_label(r["content"]["application/json"]["schema"])
                               if "content" in r else ""}
                              for status, r in op["responses"].items()],
            })
    models = [{"name": name, "description": schema.get("description", ""),
               "fields": _fields(schema)} for name, schema in sorted(components.items())]
    return render_template("api/reference.html", doc=doc, operations=operations,
                           models=models, codes=HTTP_CODES, md=inline_markdown)
