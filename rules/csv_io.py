"""CSV of authorizations: one column set for the master list's export and for import, so that
export → import round-trips. Column names are the snake_case names of the clinic's labels (the
same names the JSON API uses)."""
from __future__ import annotations

import csv
import io
from collections.abc import Iterable

from models import Authorization

from .audit import jsonable

#: (column, how to read it from an Authorization). Client and references by readable values, so
#: a spreadsheet from another system can be imported: client by id or by name + DOB, the code by
#: its code, payer and auth group by name, the specific provider by "Last, First".
EXPORT_COLUMNS: tuple[tuple[str, object], ...] = (
    ("auth_number", lambda a: a.auth_number),
    ("client_id", lambda a: a.client_id),
    ("client_last_name", lambda a: a.client.last_name),
    ("client_first_name", lambda a: a.client.first_name),
    ("client_dob", lambda a: a.client.dob),
    ("billing_code", lambda a: a.billing_code.code),
    ("start_date", lambda a: a.start_date),
    ("end_date", lambda a: a.end_date),
    ("allotted_units", lambda a: a.allotted_units),
    ("remaining_units", lambda a: a.remaining_units),
    ("pending_units", lambda a: a.pending_units),
    ("unit_alert_level", lambda a: a.unit_alert_level),
    ("exp_alert_days", lambda a: a.exp_alert_days),
    ("specific_provider", lambda a: f"{a.specific_provider.last_name}, "
                                    f"{a.specific_provider.first_name}"
     if a.specific_provider else None),
    ("insurance_company", lambda a: a.insurance_company.name if a.insurance_company else None),
    ("exclude_from_notes", lambda a: a.exclude_from_notes),
    ("auth_group", lambda a: a.auth_group.name if a.auth_group else None),
    ("unmanaged", lambda a: a.unmanaged),
    ("active", lambda a: a.active),
    ("default", lambda a: a.is_default),
    ("suspend_alerts", lambda a: a.suspend_alerts),
    ("sliding_scale_pct", lambda a: a.sliding_scale_pct),
    ("inpatient", lambda a: a.inpatient),
    ("last_edited_at", lambda a: a.last_edited_at),
    ("last_edited_by", lambda a: a.last_edited_by),
)
COLUMN_NAMES = tuple(name for name, _ in EXPORT_COLUMNS)
#: Columns an import ignores: computed by Authdesk, never typed.
READ_ONLY_COLUMNS = frozenset({"pending_units", "active", "last_edited_at", "last_edited_by"})


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    text = str(jsonable(value))
    # Cells a spreadsheet would run as a formula are prefixed (CSV injection).
    return "'" + text if text[:1] in ("=", "+", "-", "@") and not _is_number(text) else text


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def export_rows(auths: Iterable[Authorization]) -> Iterable[list[str]]:
    yield list(COLUMN_NAMES)
    for auth in auths:
        yield [_cell(read(auth)) for _, read in EXPORT_COLUMNS]


def export_csv(auths: Iterable[Authorization]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    for row in export_rows(auths):
        writer.writerow(row)
    return out.getvalue()
