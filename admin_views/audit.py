"""The audit trail (rule 19), read-only: a list filtered by user, object type, object, dates and
bulk batch, and a History page per object (a client's history includes its authorizations,
notes and payers). Nothing here can change or delete a record: no create, edit, delete, inline
edit or action exists, and the database refuses UPDATE and DELETE on audit records anyway.

Links for other screens: ``url_for("audit.history", object_type="client", object_id=…)`` →
``/console/audit/history/client/<id>``; ``url_for("audit.batch", batch_id=…)``."""
from __future__ import annotations

from flask import abort, g, request, url_for
from flask_admin.contrib.sqla.filters import (DateTimeBetweenFilter, FilterEqual, FilterLike,
                                              IntEqualFilter)
from markupsafe import Markup, escape
from sqlalchemy import func, select

from extensions import db
from models import AuditBatch, AuditRecord, User
from rules.audit import AUDITED, OBJECT_TYPES
from rules.errors import FIELD_LABELS
from rules.permissions import PERMISSIONS, VIEW_AUDIT

from .base import SecureModelView, can, expose

#: The largest id either database stores (INTEGER); anything above is simply not found.
MAX_ID = 2**31 - 1
HISTORY_PAGE_SIZE = 100
#: Templates shown on the page of one bulk operation, under its title (e.g. "Undo this bulk
#: update"); they get ``batch``. Other areas add theirs (admin_views/__init__.py).
BATCH_ACTIONS: list[str] = []

#: Names of fields that rules.errors.FIELD_LABELS does not cover.
LABELS = {"dob": "Date of birth", "password_hash": "Password", "sort_order": "Order",
          "is_demo": "Demo login", "rules": "Permissions", "codes": "Billing codes",
          "id": "Id"}
_MODEL_OF_TYPE = {object_type: model for model, (object_type, _, _) in AUDITED.items()}
TYPE_LABELS = {t: t.replace("_", " ").capitalize() for t in OBJECT_TYPES}


def _references(object_type: str) -> dict[str, type]:
    """column → model referred to, for the foreign keys of an audited object type."""
    model = _MODEL_OF_TYPE.get(object_type)
    if model is None:
        return {}
    by_table = {m.local_table.name: m.class_ for m in db.Model.registry.mappers}
    refs = {}
    for column in model.__table__.columns:
        for fk in column.foreign_keys:
            target = by_table.get(fk.column.table.name)
            if target is not None:
                refs[column.key] = target
    return refs


class ChangeFormatter:
    """Turns records' ``changes`` into rows (field, before, after) a person reads: field
    labels, yes/no, and foreign-key ids shown as names — one query per referenced model for a
    whole page of records."""

    def __init__(self, records):
        self._names: dict[type, dict[int, str]] = {}
        wanted: dict[type, set[int]] = {}
        for record in records:
            refs = _references(record.object_type)
            for field, pair in (record.changes or {}).items():
                model = refs.get(field)
                if model is None or not isinstance(pair, list):
                    continue
                wanted.setdefault(model, set()).update(
                    v for v in pair if isinstance(v, int) and not isinstance(v, bool))
        for model, ids in wanted.items():
            rows = db.session.scalars(select(model).where(model.id.in_(sorted(ids))))
            self._names[model] = {row.id: str(row) for row in rows}

    def _value(self, model, value, field: str = "") -> str:
        if value is None:
            return "—"
        if isinstance(value, bool):
            return "yes" if value else "no"
        if isinstance(value, list):
            if field == "rules":  # a profile's permission codes, as the profile form names them
                value = [PERMISSIONS.get(v, v) for v in value]
            return ", ".join(str(v) for v in value) or "(none)"
        if model is not None and isinstance(value, int):
            name = self._names.get(model, {}).get(value)
            return f"{name} (#{value})" if name else f"#{value} (deleted)"
        return str(value)

    def rows(self, record) -> list[tuple[str, str, str]]:
        refs = _references(record.object_type)
        out = []
        for field, pair in (record.changes or {}).items():
            before, after = pair if isinstance(pair, list) and len(pair) == 2 else (None, pair)
            label = (FIELD_LABELS.get(field) or LABELS.get(field)
                     or field.removesuffix("_id").replace("_", " "))
            model = refs.get(field)
            out.append((label[:1].upper() + label[1:], self._value(model, before, field),
                        self._value(model, after, field)))
        return out

    def html(self, record) -> Markup:
        rows = self.rows(record)
        if not rows:
            return Markup("")
        body = "".join(
            f"<tr><th scope=\"row\">{escape(f)}</th><td>{escape(b)}</td>"
            f"<td aria-label=\"becomes\">→</td><td>{escape(a)}</td></tr>" for f, b, a in rows)
        return Markup(f'<table class="table table-sm table-borderless mb-0 audit-changes">'
                      f"<tbody>{body}</tbody></table>")


def history_url(object_type: str, object_id: int | None) -> str | None:
    if object_id is None:
        return None
    return url_for("audit.history", object_type=object_type, object_id=object_id)


class _UserOptions:
    """The users to filter by, read when the list is shown (Flask-Admin caches filter options
    when the app starts, before any database may exist)."""

    def __bool__(self) -> bool:
        return True

    def __iter__(self):
        names = db.session.scalars(select(User.full_name).order_by(User.full_name)).all()
        return iter([("system", "system")] + [(n, n) for n in dict.fromkeys(names)])


class IdEqualFilter(IntEqualFilter):
    """An id: a whole number the database can hold (a longer one is refused, not sent)."""

    def validate(self, value) -> bool:
        return super().validate(value) and abs(int(value)) <= MAX_ID


def _type_options():
    return [(t, TYPE_LABELS[t]) for t in OBJECT_TYPES]


class AuditView(SecureModelView):
    """Audit → Audit trail."""

    permission = VIEW_AUDIT
    allow_create = allow_edit = allow_delete = False
    can_view_details = False
    can_export = False
    action_disallowed_list = ["delete"]
    named_filter_urls = True

    column_list = ("at", "actor_name", "action", "object_type", "object_label", "changes",
                   "comment", "batch_id", "request_id")
    column_labels = {"at": "When (UTC)", "actor_name": "Who", "object_type": "Type",
                     "object_label": "What", "changes": "Before → after",
                     "batch_id": "Bulk operation", "request_id": "Request"}
    column_default_sort = [("at", True), ("id", True)]
    column_sortable_list = ("at", "actor_name", "action", "object_type")
    column_searchable_list = ("object_label", "actor_name", "comment")
    column_filters = (
        FilterEqual(AuditRecord.actor_name, "User", options=_UserOptions()),
        FilterLike(AuditRecord.actor_name, "User name"),
        FilterEqual(AuditRecord.object_type, "Object type", options=_type_options),
        IdEqualFilter(AuditRecord.object_id, "Object id"),
        FilterLike(AuditRecord.object_label, "Object"),
        IdEqualFilter(AuditRecord.client_id, "Client id"),
        DateTimeBetweenFilter(AuditRecord.at, "Date"),
        FilterEqual(AuditRecord.batch_id, "Bulk operation"),
        FilterEqual(AuditRecord.request_id, "Request"),
        FilterEqual(AuditRecord.action, "Action"),
    )

    # Refused outright, whoever asks: there is nothing to create, edit or delete here.
    _WRITE_VIEWS = frozenset({"create_view", "edit_view", "delete_view", "action_view",
                              "ajax_update", "ajax_lookup", "details_view", "export"})

    def _handle_view(self, name, **kwargs):
        refused = super()._handle_view(name, **kwargs)  # not logged in / no permission
        if refused is not None:
            return refused
        if name in self._WRITE_VIEWS:
            abort(403)
        return None

    def is_action_allowed(self, name: str) -> bool:
        return False

    def get_list(self, *args, **kwargs):
        count, records = super().get_list(*args, **kwargs)
        records = list(records)
        g.audit_formatter = ChangeFormatter(records)  # names for the whole page at once
        return count, records

    def _format_changes(self, context, record, name):
        formatter = g.get("audit_formatter") or ChangeFormatter([record])
        return formatter.html(record)

    def _format_label(self, context, record, name):
        url = history_url(record.object_type, record.object_id)
        label = escape(record.object_label or f"#{record.object_id}")
        return Markup(f'<a href="{url}" title="History">{label}</a>') if url else label

    def _format_batch(self, context, record, name):
        if not record.batch_id:
            return ""
        url = url_for("audit.batch", batch_id=record.batch_id)
        return Markup(f'<a href="{url}">{escape(record.batch_id[:8])}</a>')

    column_formatters = {
        "changes": _format_changes,
        "object_label": _format_label,
        "object_type": lambda v, c, r, n: TYPE_LABELS.get(r.object_type, r.object_type),
        "batch_id": _format_batch,
        "request_id": lambda v, c, r, n: (r.request_id or "")[:8],
        "at": lambda v, c, r, n: r.at.strftime("%Y-%m-%d %H:%M:%S"),
    }

    # -- History: one object's changes in order ------------------------------------------

    def _page(self) -> int:
        raw = request.args.get("page", "1")
        page = int(raw) if raw.isdigit() and len(raw) < 7 else 1
        return max(page, 1)

    def _render_records(self, title: str, condition, *, subtitle: str = "", back=None,
                        **extra):
        page = self._page()
        total = db.session.scalar(select(func.count()).select_from(AuditRecord)
                                  .where(condition))
        records = list(db.session.scalars(
            select(AuditRecord).where(condition).order_by(AuditRecord.at, AuditRecord.id)
            .offset((page - 1) * HISTORY_PAGE_SIZE).limit(HISTORY_PAGE_SIZE)))
        pages = max(1, -(-total // HISTORY_PAGE_SIZE))
        return self.render("audit/history.html", title=title, subtitle=subtitle,
                           records=records, formatter=ChangeFormatter(records), total=total,
                           page=page, pages=pages, type_labels=TYPE_LABELS,
                           history_url=history_url, back=back, **extra)

    @expose("/history/<object_type>/<id:object_id>")
    def history(self, object_type: str, object_id: int):
        """Every change of one object, oldest first. A client's history also holds its
        authorizations, notes and payers (records whose client is this client)."""
        if object_type not in TYPE_LABELS or object_id > MAX_ID:
            abort(404)
        if object_type == "client":
            condition = AuditRecord.client_id == object_id
        else:
            condition = (AuditRecord.object_type == object_type) & (
                AuditRecord.object_id == object_id)
        label = db.session.scalar(
            select(AuditRecord.object_label)
            .where(AuditRecord.object_type == object_type, AuditRecord.object_id == object_id)
            .order_by(AuditRecord.id.desc()).limit(1))
        noun = TYPE_LABELS[object_type]
        title = f"History of {noun.lower()} {label or f'#{object_id}'}"
        subtitle = ("Changes to the client and to its authorizations, notes and payers, "
                    "oldest first." if object_type == "client" else "Changes, oldest first.")
        return self._render_records(title, condition, subtitle=subtitle)

    @expose("/batch/<batch_id>")
    def batch(self, batch_id: str):
        """Every record of one bulk operation."""
        batch = db.session.get(AuditBatch, batch_id[:36])
        if batch is None:
            abort(404)
        subtitle = (f"{batch.kind.replace('_', ' ')} by {batch.actor_name} at "
                    f"{batch.created_at:%Y-%m-%d %H:%M:%S} UTC. {batch.description}")
        return self._render_records(f"Bulk operation {batch.id[:8]}",
                                    AuditRecord.batch_id == batch.id, subtitle=subtitle,
                                    batch=batch, batch_actions=BATCH_ACTIONS)


#: How many recent changes the client chart's History tab shows before "Full history".
CHART_HISTORY_SIZE = 15


def chart_history_context(client, auths) -> dict:
    """For the client chart's History tab (admin_views.chart.CHART_CONTEXT): the client's most
    recent changes — its own, its authorizations', notes' and payers' — newest first."""
    if not can(VIEW_AUDIT):
        return {}
    records = list(db.session.scalars(
        select(AuditRecord).where(AuditRecord.client_id == client.id)
        .order_by(AuditRecord.at.desc(), AuditRecord.id.desc()).limit(CHART_HISTORY_SIZE)))
    return {"history": records, "history_formatter": ChangeFormatter(records),
            "history_url": history_url, "history_types": TYPE_LABELS}


def register(admin) -> None:
    admin.add_view(AuditView(AuditRecord, name="Audit trail", endpoint="audit", url="audit",
                             category="Audit"))
