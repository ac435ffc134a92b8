"""The client chart's Authorizations grid: one line per auth (every DOMAIN.md field), new lines
added in place, all saved through rules.authorizations in one transaction — if any line is
refused nothing is saved, and each error names its line (auth # or "new line N") and field.

Extension points for other screens (register them from your module's ``register(admin)``):
- ``CHART_TABS``: more tabs (e.g. History) — ``ChartTab(key, label, template, permission)``;
- ``CHART_TOOLBAR``: templates shown above the grid (e.g. Bulk Add / Update buttons);
- ``AUTH_LINE_EXTRAS``: templates shown under each auth's line (e.g. its draft and released
  notes); they get ``line``, ``auth``, ``client`` and ``extras``;
- ``CHART_CONTEXT``: ``f(client, auths) -> dict`` merged into ``extras``, called once per page,
  so that an extra loads what it shows for all auths in one query (never a query per line).
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from models import AuthGroup, Authorization, BillingCode, InsuranceCompany, Provider
from rules import DomainError, NotFound
from rules.authorizations import (EDITABLE_FIELDS, GENERATED_NUMBER, create_authorization,
                                  delete_authorization, update_authorization)
from rules.errors import FIELD_LABELS
from rules.permissions import VIEW_AUTHORIZATIONS
from rules.picklists import choices

from .forms import changed_fields, offered, shown

FLAGS = ("unmanaged", "exclude_from_notes", "is_default", "suspend_alerts", "inpatient")
NEW_LINES = 3  # blank lines offered under the client's auths


@dataclass(frozen=True)
class ChartTab:
    key: str
    label: str
    template: str
    permission: str | None = None


CHART_TABS: list[ChartTab] = [
    ChartTab("details", "Details", "console/chart_details.html"),
    ChartTab("authorizations", "Authorizations", "console/chart_authorizations.html",
             VIEW_AUTHORIZATIONS),
]
CHART_TOOLBAR: list[str] = []
AUTH_LINE_EXTRAS: list[str] = []
CHART_CONTEXT: list = []


@dataclass
class Line:
    """One line of the grid: what it shows (``values``, text as typed) and what went wrong."""

    key: str                       # "a12" (auth 12) or "n1" (new line 1)
    auth: Authorization | None
    values: dict
    original: str = ""             # the values shown, as JSON (existing lines)
    delete: bool = False
    errors: dict = field(default_factory=dict)
    message: str = ""
    locked: tuple = ()

    @property
    def is_new(self) -> bool:
        return self.key.startswith("n")

    @property
    def label(self) -> str:
        if self.is_new:
            return f"new line {self.key[1:]}"
        return self.auth.auth_number if self.auth is not None else f"authorization #{self.key[1:]}"

    @property
    def number_is_generated(self) -> bool:
        return not self.is_new and bool(GENERATED_NUMBER.fullmatch(self.values.get(
            "auth_number", "")))

    def blank(self) -> bool:
        return not any(self.values.values())


def values_of(auth: Authorization) -> dict:
    return {f: shown(getattr(auth, f)) for f in EDITABLE_FIELDS}


def client_auths(session, client_id: int) -> list[Authorization]:
    """The client's auths with what the grid shows, in one query."""
    return list(session.scalars(
        select(Authorization).where(Authorization.client_id == client_id)
        .options(joinedload(Authorization.auth_group), joinedload(Authorization.insurance_company),
                 joinedload(Authorization.specific_provider))
        .order_by(Authorization.end_date.desc(), Authorization.id)
        .execution_options(populate_existing=True)).unique())


def lines_for(auths, locked_for, *, new_lines: int = NEW_LINES) -> list[Line]:
    lines = [Line(f"a{a.id}", a, values_of(a), json.dumps(values_of(a)), locked=locked_for(a))
             for a in auths]
    return lines + [Line(f"n{n}", None, {f: "" for f in EDITABLE_FIELDS})
                    for n in range(1, new_lines + 1)]


_KEY = re.compile(r"^(a[0-9]{1,10}|n[0-9]{1,4})-(.+)$")  # ASCII digits (not "١")


def lines_from_post(form, auths_by_id: dict, locked_for) -> list[Line]:
    """The lines of a posted grid. An existing line carries only the fields it posted (a field
    it did not post is unchanged); an unticked box posts nothing, so a box is off unless sent."""
    keys: dict[str, None] = {}
    for name in form:
        match = _KEY.match(name)
        if match:
            keys.setdefault(match.group(1), None)
    lines = []
    for key in sorted(keys, key=lambda k: (k[0] == "n", int(k[1:]))):
        values = {f: form.get(f"{key}-{f}") for f in EDITABLE_FIELDS
                  if f not in FLAGS and f"{key}-{f}" in form}
        values.update({f: "y" if form.get(f"{key}-{f}") else "" for f in FLAGS})
        auth = auths_by_id.get(int(key[1:])) if key[0] == "a" else None
        if auth is not None and "auth_number" not in values:
            # A generated number is shown as text, not posted: keep showing it (a grid that
            # comes back with errors would otherwise offer an empty Auth # box on that line).
            values["auth_number"] = auth.auth_number
        lines.append(Line(key, auth, {k: (v or "").strip() for k, v in values.items()},
                          form.get(f"{key}-original", ""), bool(form.get(f"{key}-delete")),
                          locked=locked_for(auth) if auth is not None else ()))
    return lines


def _original(line: Line) -> dict | None:
    try:
        data = json.loads(line.original) if line.original else None
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def save_lines(session, actor, client, lines: list[Line]) -> int:
    """Apply every line through the rules; returns how many lines changed. Errors are put on
    the lines (the caller rolls back when any line has one)."""
    changed = 0
    for line in lines:
        try:
            if not line.is_new:
                if line.auth is None:
                    raise NotFound(f"Authorization #{line.key[1:]} is not on {client}'s chart "
                                   "(it may have been deleted).")
                if line.delete:
                    delete_authorization(session, actor, line.auth.id)
                    changed += 1
                    continue
                changes = changed_fields(line.values, _original(line), values_of(line.auth))
                if changes:
                    update_authorization(session, actor, line.auth.id, changes)
                    changed += 1
            elif not line.blank():
                create_authorization(session, actor, client.id,
                                     {k: v for k, v in line.values.items() if v != ""})
                changed += 1
        except DomainError as exc:
            line.message = exc.message
            line.errors = dict(exc.fields)
    return changed


def error_summary(lines: list[Line]) -> list[str]:
    """One message per problem, naming the line and the field."""
    out = []
    for line in lines:
        if line.errors:
            out += [f"{line.label} — {FIELD_LABELS.get(f, f)}: {m}" for f, m in line.errors.items()]
        elif line.message:
            out.append(f"{line.label} — {line.message}")
    return out


def options_for(session, client, auths) -> dict:
    """The choices of the grid's selects: active rows plus those the client's auths use."""
    used = {f: {getattr(a, f) for a in auths} for f in
            ("billing_code_id", "auth_group_id", "insurance_company_id", "specific_provider_id")}
    on_file = [p.insurance_company for p in client.payers]
    payers = {p.id: p for p in on_file if p.active}
    payers.update({p.id: p for p in session.scalars(select(InsuranceCompany).where(
        InsuranceCompany.id.in_(sorted(used["insurance_company_id"] - {None}))))})
    return {
        "billing_code_id": offered(BillingCode, BillingCode.code, keep=used["billing_code_id"]),
        "auth_group_id": choices(session, AuthGroup, keep_id=used["auth_group_id"]),
        "insurance_company_id": sorted(payers.values(), key=lambda p: p.name),
        "specific_provider_id": offered(Provider, Provider.last_name, Provider.first_name,
                                        keep=used["specific_provider_id"]),
    }


def line_options(options: dict, line: Line) -> dict:
    """Per line: an inactive row is offered only where it is this line's current value."""
    return {f: [(str(r.id), str(r)) for r in rows
                if r.active or str(r.id) == line.values.get(f, "")]
            for f, rows in options.items()}
