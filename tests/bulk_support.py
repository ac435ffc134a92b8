"""Helpers for the Bulk Add or Update screen tests (admin_views/bulk.py): the 20-session code
group, the form a user fills, and replaying a confirmation page the way a browser submits it
(its hidden fields plus the button pressed)."""
from __future__ import annotations

import datetime as dt
import html
import re

import sqlalchemy as sa

from models import AuditBatch, AuditRecord, Authorization, BillingCodeGroup
from rules.clock import clinic_today

THERAPY_CODES = ("90832", "90834", "90837", "90853")
TABLES = ("authorizations", "audit_records", "audit_batches", "alerts")


def day(n: int) -> dt.date:
    return clinic_today() + dt.timedelta(days=n)


def iso(n: int) -> str:
    return day(n).isoformat()


def therapy_group(session, make) -> BillingCodeGroup:
    group = BillingCodeGroup(name="Outpatient therapy",
                             codes=[make.code(c) for c in THERAPY_CODES])
    session.add(group)
    session.flush()
    return group


def add_form(group_id, **kw) -> dict:
    """The form as a user fills it for Add New Codes (20 sessions, this month on)."""
    form = {"billing_code_group_id": str(group_id), "allotted_units": "20",
            "remaining_units": "", "unit_alert_level": "4", "exp_alert_days": "30",
            "start_date": iso(-1), "end_date": iso(180), "unmanaged": "n.a.",
            "auth_group_id": "", "insurance_company_id": ""}
    form.update(kw)
    return form


def update_form(**filled) -> dict:
    """Update Codes Listed: every field blank (left as is) but those given."""
    form = {name: "" for name in ("billing_code_group_id", "allotted_units", "remaining_units",
                                  "unit_alert_level", "exp_alert_days", "start_date",
                                  "end_date", "auth_group_id", "insurance_company_id")}
    form["unmanaged"] = "n.a."
    form.update(filled)
    return form


_HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')


def hidden_fields(response) -> dict:
    """The hidden fields of the page's bulk form (not the CSRF token: the client adds it)."""
    body = response.get_data(as_text=True)
    return {html.unescape(k): html.unescape(v) for k, v in _HIDDEN.findall(body)
            if k != "csrf_token"}


def press(web_client, url: str, page, op: str, **extra):
    """Submit the confirmation ``page`` with the button ``op`` (as a browser would)."""
    data = {**hidden_fields(page), "op": op, **extra}
    return web_client.post(url, data)


def text(response) -> str:
    """The page as a person reads it: tags dropped, spaces collapsed."""
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ",
                                                   response.get_data(as_text=True))))


def count_of(page, css_class: str) -> int:
    match = re.search(rf'class="{css_class}">([\d,]+)<', page.get_data(as_text=True))
    assert match, f"no {css_class} on the page"
    return int(match.group(1).replace(",", ""))


def auths_of(session, *clients) -> list[Authorization]:
    session.rollback()  # see what the requests committed
    stmt = sa.select(Authorization).order_by(Authorization.id)
    if clients:
        stmt = stmt.where(Authorization.client_id.in_([c.id for c in clients]))
    return list(session.scalars(stmt))


def batches(session, kind: str | None = None) -> list[AuditBatch]:
    session.rollback()
    stmt = sa.select(AuditBatch).order_by(AuditBatch.created_at)
    if kind:
        stmt = stmt.where(AuditBatch.kind == kind)
    return list(session.scalars(stmt))


def records_of(session, batch_id: str) -> list[AuditRecord]:
    return list(session.scalars(sa.select(AuditRecord).where(AuditRecord.batch_id == batch_id)
                                .order_by(AuditRecord.object_id)))


def batch_id_of(response) -> str:
    """The batch of a result page a post redirected to."""
    match = re.search(r"/console/bulk/batch/([0-9a-f-]{36})/", response.headers["Location"])
    assert match, response.headers.get("Location")
    return match.group(1)
