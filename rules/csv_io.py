"""CSV of authorizations: one column set for the master list's export and for import, so that
export → import round-trips. Column names are the snake_case names of the clinic's labels (the
same names the JSON API uses)."""
from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import (AuthGroup, Authorization, BillingCode, Client, InsuranceCompany, Provider,
                    name_key)

from . import values as v
from .actor import Actor
from .audit import audit_batch, jsonable
from .authorizations import (EDITABLE_FIELDS, GENERATED_NUMBER, check_values, clean_fields,
                             create_authorization, update_authorization)
from .clients import find_clients
from .clock import clinic_today
from .errors import DomainError, ValidationError
from .permissions import BULK_UPDATE

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


# ---------------------------------------------------------------- import

#: The columns an import needs besides the client's (client_id, or last + first name + DOB).
REQUIRED_COLUMNS = ("billing_code", "start_date", "end_date", "allotted_units")
CLIENT_NAME_COLUMNS = ("client_last_name", "client_first_name", "client_dob")
#: Columns holding a plain field of the auth: column → rules field.
_PLAIN_COLUMNS = {
    "start_date": "start_date", "end_date": "end_date", "allotted_units": "allotted_units",
    "remaining_units": "remaining_units", "unit_alert_level": "unit_alert_level",
    "exp_alert_days": "exp_alert_days", "exclude_from_notes": "exclude_from_notes",
    "unmanaged": "unmanaged", "default": "is_default", "suspend_alerts": "suspend_alerts",
    "sliding_scale_pct": "sliding_scale_pct", "inpatient": "inpatient",
}
#: rules field → the column a problem is reported under.
_COLUMN_OF = {**{f: c for c, f in _PLAIN_COLUMNS.items()},
              "billing_code_id": "billing_code", "specific_provider_id": "specific_provider",
              "insurance_company_id": "insurance_company", "auth_group_id": "auth_group",
              "auth_number": "auth_number", "client_id": "client_id"}


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a file: the row (the header is row 1, as in a spreadsheet), the
    column ("" for the whole row) and what to fix."""

    row: int
    column: str
    message: str

    def __str__(self) -> str:
        where = f"row {self.row}, {self.column}" if self.column else f"row {self.row}"
        return f"{where}: {self.message}"


@dataclass
class ImportReport:
    rows: int = 0
    created: list[int] = field(default_factory=list)
    updated: list[int] = field(default_factory=list)
    unchanged: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated)

    def summary(self, *, dry_run: bool = False) -> str:
        verbs = ("would be created", "would be updated") if dry_run else ("created", "updated")
        return (f"{self.rows} rows: {len(self.created)} {verbs[0]}, {len(self.updated)} "
                f"{verbs[1]}, {self.unchanged} unchanged.")


def _uncell(text: str) -> str:
    """Undo the export's guard against spreadsheet formulas ("'=…" → "=…")."""
    text = text.strip()
    if len(text) > 1 and text[0] == "'" and text[1] in "=+-@":
        return text[1:]
    return text


def read_rows(text: str, report: ImportReport) -> list[tuple[int, dict[str, str]]]:
    """The file's data rows as (row number, column → cell); problems of the file as a whole
    (header, CSV syntax) go to the report."""
    text = text.lstrip("\ufeff")
    if "\x00" in text:  # no field takes one, and PostgreSQL cannot even compare with one
        line = text[:text.index("\x00")].count("\n") + 1
        report.problems.append(Problem(line, "", "the file contains a NUL character (a binary "
                                                 "file?): save it as “CSV UTF-8” and try again"))
        return []
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
    except csv.Error as exc:
        report.problems.append(Problem(1, "", f"the file is not a valid CSV ({exc})"))
        return []
    if not header or not any(h.strip() for h in header):
        report.problems.append(Problem(1, "", "the file is empty: it needs a header row with "
                                              "the export's column names"))
        return []
    names = [h.strip().lower() for h in header]
    seen = set()
    for name in names:
        if name not in COLUMN_NAMES:
            report.problems.append(Problem(1, name or "(blank)", "unknown column; the columns "
                                           "are those of the export: " + ", ".join(COLUMN_NAMES)))
        elif name in seen:
            report.problems.append(Problem(1, name, "appears twice"))
        seen.add(name)
    for name in REQUIRED_COLUMNS:
        if name not in seen:
            report.problems.append(Problem(1, name, "column is missing"))
    if "client_id" not in seen and not all(c in seen for c in CLIENT_NAME_COLUMNS):
        report.problems.append(Problem(1, "client_id", "column is missing: give client_id, or "
                                       "client_last_name, client_first_name and client_dob"))
    if report.problems:
        return []
    rows = []
    line = 1
    try:
        for cells in reader:
            line += 1
            if not any(c.strip() for c in cells):
                continue
            if len(cells) > len(names) and any(c.strip() for c in cells[len(names):]):
                report.problems.append(Problem(line, "", f"has {len(cells)} cells but the "
                                               f"header has {len(names)} columns"))
                continue
            cells = cells + [""] * (len(names) - len(cells))
            rows.append((line, {n: _uncell(c) for n, c in zip(names, cells)}))
    except csv.Error as exc:
        report.problems.append(Problem(line + 1, "", f"is not valid CSV ({exc})"))
    return rows


class _Lookups:
    """Names in the file → ids, each looked up once per import."""

    def __init__(self, session: Session):
        self.session = session
        self._cache: dict[tuple[str, str], list[int]] = {}

    def _ids(self, kind: str, key: str, stmt) -> list[int]:
        if (kind, key) not in self._cache:
            self._cache[kind, key] = list(self.session.scalars(stmt))
        return self._cache[kind, key]

    def code(self, code: str) -> list[int]:
        return self._ids("code", code.upper(), select(BillingCode.id).where(
            func.upper(BillingCode.code) == code.upper()))

    def payer(self, name: str) -> list[int]:
        return self._ids("payer", name.lower(), select(InsuranceCompany.id).where(
            func.lower(InsuranceCompany.name) == name.lower()))

    def auth_group(self, name: str) -> list[int]:
        return self._ids("group", name.lower(), select(AuthGroup.id).where(
            func.lower(AuthGroup.name) == name.lower()))

    def provider(self, name: str) -> list[int]:
        last, _, first = name.partition(",")
        first = first.split(",")[0]  # "Last, First, LCSW": credentials are not compared
        return self._ids("provider", name.lower(), select(Provider.id).where(
            func.lower(Provider.last_name) == last.strip().lower(),
            func.lower(Provider.first_name) == first.strip().lower()))


def _resolve_client(session: Session, cells: dict, bad) -> Client | None:
    raw_id = cells.get("client_id", "")
    last, first = cells.get("client_last_name", ""), cells.get("client_first_name", "")
    dob_text = cells.get("client_dob", "")
    dob = None
    if dob_text:
        try:
            dob = v.date_value(dob_text)
        except ValueError as exc:
            bad("client_dob", str(exc))
            return None
    if raw_id:
        try:
            client_id = v.whole_number(raw_id, minimum=1, maximum=2**31 - 1)
        except ValueError as exc:
            bad("client_id", str(exc))
            return None
        client = session.get(Client, client_id)
        if client is None:
            bad("client_id", f"there is no client #{client_id}")
            return None
        if (last and first and name_key(last, first) != client.name_key) or (
                dob is not None and dob != client.dob):
            bad("client_id", f"client #{client_id} is {client}, born {client.dob.isoformat()}; "
                             "the name or date of birth in this row differs")
            return None
        return client
    missing = [c for c, val in zip(CLIENT_NAME_COLUMNS, (last, first, dob_text)) if not val]
    for column in missing:
        bad(column, "is required when client_id is blank")
    if missing:
        return None
    matches = find_clients(session, last_name=last, first_name=first, dob=dob)
    if not matches:
        bad("client_last_name", f"there is no client {last}, {first} born {dob.isoformat()}")
        return None
    if len(matches) > 1:
        bad("client_last_name", f"{len(matches)} clients are named {last}, {first} and born "
                                f"{dob.isoformat()}; give client_id")
        return None
    return matches[0]


def _reference(cells: dict, column: str, find, noun: str, bad) -> tuple[bool, int | None]:
    """(present, id) for a column naming a row of another table; a blank cell is None."""
    if column not in cells:
        return False, None
    name = cells[column]
    if not name:
        return True, None
    ids = find(name)
    if not ids:
        bad(column, f"there is no {noun} “{name}”")
    elif len(ids) > 1:
        bad(column, f"{len(ids)} {noun}s are named “{name}”")
    return True, ids[0] if len(ids) == 1 else None


def _report_domain_error(exc: DomainError, bad) -> None:
    if exc.fields:
        for name, message in exc.fields.items():
            bad(_COLUMN_OF.get(name, name), message)
    else:
        bad("", exc.message)


def _import_row(session: Session, actor: Actor, row: int, cells: dict, lookups: _Lookups,
                claimed: dict[int, int], report: ImportReport, today) -> None:
    problems_before = len(report.problems)

    def bad(column: str, message: str) -> None:
        report.problems.append(Problem(row, column, message))

    client = _resolve_client(session, cells, bad)
    fields: dict = {}
    code = cells.get("billing_code", "")
    if not code:
        bad("billing_code", "is required")
    else:
        ids = lookups.code(code)
        if not ids:
            bad("billing_code", f"there is no billing code “{code}”")
        else:
            fields["billing_code_id"] = ids[0]
    for column, field_name, find, noun in (
            ("insurance_company", "insurance_company_id", lookups.payer, "insurance company"),
            ("auth_group", "auth_group_id", lookups.auth_group, "auth group"),
            ("specific_provider", "specific_provider_id", lookups.provider, "provider")):
        present, ref_id = _reference(cells, column, find, noun, bad)
        if present:
            fields[field_name] = ref_id
    for column, field_name in _PLAIN_COLUMNS.items():
        if column in cells:
            fields[field_name] = cells[column]
    number = cells.get("auth_number", "")
    typed_number = number if number and not GENERATED_NUMBER.fullmatch(number) else None
    try:
        clean = clean_fields({k: val for k, val in fields.items()
                              if k not in ("billing_code_id",) and not k.endswith("_id")})
    except ValidationError as exc:
        _report_domain_error(exc, bad)
        return
    if len(report.problems) > problems_before or client is None:
        # The row cannot be applied; still report what the rules would say about its values.
        after = {f: clean.get(f) for f in EDITABLE_FIELDS} | {"billing_code_id": 0}
        if after["remaining_units"] is None:
            after["remaining_units"] = after["allotted_units"]
        for name, message in check_values(after).items():
            bad(_COLUMN_OF.get(name, name), message)
        return
    a = Authorization
    existing = None
    if number:
        matches = list(session.scalars(select(a).where(a.client_id == client.id,
                                                       a.auth_number == number)))
        if len(matches) > 1:
            bad("auth_number", f"{len(matches)} authorizations of {client} have this number")
            return
        existing = matches[0] if matches else None
    if existing is None:
        matches = list(session.scalars(select(a).where(
            a.client_id == client.id, a.billing_code_id == fields["billing_code_id"],
            a.start_date == clean["start_date"], a.end_date == clean["end_date"])))
        if typed_number is not None:
            # Another payer number on the same code and dates is another authorization.
            matches = [m for m in matches if GENERATED_NUMBER.fullmatch(m.auth_number)]
        if len(matches) > 1:
            bad("", f"{len(matches)} authorizations of {client} have this code and these "
                    "dates; give auth_number to say which one")
            return
        existing = matches[0] if matches else None
    if existing is not None and existing.id in claimed:
        bad("", f"describes the same authorization ({existing.auth_number}) as row "
                f"{claimed[existing.id]}")
        return
    if typed_number is not None:
        fields["auth_number"] = typed_number
    try:
        if existing is None:
            auth = create_authorization(session, actor, client.id, fields, today=today)
            report.created.append(auth.id)
        else:
            version = existing.version
            if "remaining_units" in fields and not str(fields["remaining_units"] or "").strip():
                # A blank remaining on an existing auth leaves it as it is: "= allotted" would
                # give back the units already used (re-importing an export never does that).
                del fields["remaining_units"]
            auth = update_authorization(session, actor, existing.id, fields, today=today)
            if auth.version != version:
                report.updated.append(auth.id)
            else:
                report.unchanged += 1
    except DomainError as exc:
        _report_domain_error(exc, bad)
        return
    claimed[auth.id] = row


def import_authorizations(session: Session, actor: Actor, text: str, *, source: str = "a CSV "
                          "file", today: dt.date | None = None) -> ImportReport:
    """Import authorizations from CSV text in the export's columns, in one audit batch.

    Every row is checked and every problem reported (row, column, message). Nothing is
    committed here: the caller commits only when the report has no problem and something
    changed, and rolls back otherwise — a dry run is this function followed by a rollback.

    A row updates an existing authorization of its client when one matches — first by
    auth_number, else by billing code + start date + end date (when the row has a payer's number,
    only an auth still carrying a generated number matches so) — and creates one otherwise.
    Cells equal to what is stored change nothing, so re-importing a file changes nothing.
    Blank cells clear optional fields (a blank remaining_units means "= allotted" on a new
    auth and "leave as it is" on an existing one, whose used units it would give back); absent
    columns leave fields as they are. Read-only columns (pending_units, active, last_edited_*)
    are ignored. An auth number of Authdesk's own form (A-000123) that does not exist here is
    ignored: the new auth gets a number of this installation."""
    actor.require(BULK_UPDATE, "import authorizations")
    report = ImportReport()
    rows = read_rows(text, report)
    report.rows = len(rows)
    if report.problems:
        return report
    today = today or clinic_today()
    lookups = _Lookups(session)
    claimed: dict[int, int] = {}
    with audit_batch(session, actor, "import", f"Import of authorizations from {source}"[:500]
                     ) as batch:
        for row, cells in rows:
            _import_row(session, actor, row, cells, lookups, claimed, report, today)
        batch.row_count = len(report.created) + len(report.updated)
        session.flush()
    return report
