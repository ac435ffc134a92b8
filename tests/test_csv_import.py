"""Importing authorizations from a CSV in the export's columns: a dry run that reports every
row's problems, an all-or-nothing import in one audit batch, re-importing that changes nothing,
export → import round trips; from the command line and from the console."""
import base64
import csv
import datetime as dt
import io
import re
import zlib

import pytest
import sqlalchemy as sa

from admin_views.imports import pack
from conftest import Factory, snapshot_tables
from extensions import db
from models import AuditBatch, AuditRecord, Authorization, AuthGroup
from rules import Actor
from rules.audit import acting_as
from rules.authorizations import delete_authorization
from rules.csv_io import COLUMN_NAMES, export_csv, import_authorizations

TODAY = dt.date(2026, 6, 15)
TABLES = (Authorization, AuditRecord, AuditBatch)


def export_all(session) -> str:
    return export_csv(session.scalars(sa.select(Authorization).order_by(Authorization.id)))


def rows_of(text: str, *, without=("last_edited_at", "last_edited_by")) -> list[dict]:
    return [{k: v for k, v in row.items() if k not in without}
            for row in csv.DictReader(io.StringIO(text))]


@pytest.fixture
def practice(app, password_hash):
    """Two clients with auths that use every column: a typed payer number that a spreadsheet
    would take for a formula, a payer, a group, a specific provider, a sliding scale. Built in
    an app context of its own, so that console requests do not share the test's session."""
    with app.app_context(), acting_as(db.session, Actor.system()):
        make = Factory(db.session, password_hash)
        acme = make.payer("Acme Health")
        doe = make.client("Doe", first_name="Jane", payers=[acme], dob=dt.date(1990, 1, 1))
        roe = make.client("Roe", first_name="Rick", dob=dt.date(1985, 3, 4))
        reyes = make.provider("Reyes", first_name="Dana")
        group = db.session.scalar(sa.select(AuthGroup).where(AuthGroup.name == "Auth Group 1"))
        make.auth(doe, "90834", auth_number="=PAY-1", insurance_company_id=acme.id,
                  specific_provider_id=reyes.id, auth_group_id=group.id,
                  sliding_scale_pct="50", unit_alert_level=2, exp_alert_days=14,
                  allotted_units=12, remaining_units=9)
        make.auth(doe, "90837", auth_group_id=group.id, is_default=True, inpatient=True)
        make.auth(roe, "H2019", unmanaged=True, suspend_alerts=True, exclude_from_notes=True)
        db.session.commit()
        return {"doe": doe.id, "roe": roe.id, "acme": acme.id, "reyes": reyes.id}


def count_auths(app) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(Authorization))


def edited(text: str, index: int, **changes) -> str:
    """The CSV with some cells of one data row changed."""
    rows = list(csv.DictReader(io.StringIO(text)))
    rows[index].update(changes)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMN_NAMES, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def new_rows(*rows: str) -> str:
    header = ("client_last_name,client_first_name,client_dob,billing_code,start_date,end_date,"
              "allotted_units,remaining_units,insurance_company,auth_group,specific_provider,"
              "default")
    return "\n".join([header, *rows]) + "\n"


def test_dry_run_reports_what_would_change_and_writes_nothing(session, make, practice):
    before = snapshot_tables(session, *TABLES)
    report = import_authorizations(session, make.actor("Support Staff"), new_rows(
        "Doe,Jane,1990-01-01,90853,2026-06-01,2026-12-31,20,,Acme Health,Auth Group 1,,no",
        "roe,rick,1985-03-04,90832,2026-06-01,2026-12-31,8,8,,,\"Reyes, Dana\",yes"),
        today=TODAY)
    session.rollback()
    assert report.ok and (len(report.created), len(report.updated), report.unchanged) == (2, 0, 0)
    assert report.summary(dry_run=True) == "2 rows: 2 would be created, 0 would be updated, " \
                                           "0 unchanged."
    assert snapshot_tables(session, *TABLES) == before


def test_import_creates_and_updates_in_one_audit_batch(session, make, practice):
    actor = make.actor("Support Staff")
    text = edited(export_all(session), 1, end_date="2026-09-30")  # the 90837 auth
    report = import_authorizations(session, actor, text, today=TODAY, source="edited.csv")
    assert report.ok, [str(p) for p in report.problems]
    assert (len(report.created), len(report.updated), report.unchanged) == (0, 1, 2)
    added = import_authorizations(session, actor, new_rows(
        "Doe,Jane,1990-01-01,90853,2026-06-01,2026-12-31,20,,,,,no"), today=TODAY)
    assert added.ok and len(added.created) == 1
    session.commit()
    changed = session.get(Authorization, report.updated[0])
    assert changed.end_date == dt.date(2026, 9, 30) and changed.last_edited_by == actor.name
    batch = session.scalar(sa.select(AuditBatch).where(AuditBatch.description.like(
        "%edited.csv")))
    assert (batch.kind, batch.row_count, batch.actor_name) == ("import", 1, actor.name)
    records = session.scalars(sa.select(AuditRecord).where(AuditRecord.batch_id == batch.id))
    assert [(r.object_id, r.changes["end_date"]) for r in records] == [
        (changed.id, ["2026-08-14", "2026-09-30"])]
    created = session.get(Authorization, added.created[0])
    assert (created.remaining_units, created.is_default, created.auth_number) == (
        20, False, "A-000003")


def test_reimporting_the_same_file_changes_nothing(session, make, practice):
    text = new_rows("Doe,Jane,1990-01-01,90853,2026-06-01,2026-12-31,20,,Acme Health,,,no")
    actor = make.actor("Support Staff")
    assert len(import_authorizations(session, actor, text, today=TODAY).created) == 1
    session.commit()
    for again in (text, export_all(session)):
        before = snapshot_tables(session, *TABLES)
        report = import_authorizations(session, actor, again, today=TODAY)
        assert report.ok and not report.changed and report.unchanged == report.rows
        session.rollback()  # what every caller does when nothing changed
        assert snapshot_tables(session, *TABLES) == before


def test_every_bad_row_is_reported_and_nothing_is_written(session, make, practice):
    before = snapshot_tables(session, *TABLES)
    text = new_rows(
        "Doe,Jane,1990-01-01,90853,2026-06-01,2026-12-31,20,,,,,no",           # 2: fine
        "Nobody,Here,1990-01-01,90853,2026-06-01,2026-12-31,20,,,,,no",        # 3
        "Doe,Jane,1990-01-01,99999,2026-31-01,2026-12-31,-2,,,,,maybe",        # 4
        "Doe,Jane,1990-01-01,90846,2026-06-01,2026-05-01,5,9,Nope Inc,,,no",   # 5
        "Roe,Rick,1985-03-04,90846,2026-06-01,2026-07-01,5,,Acme Health,Group X,\"Who, Else\",no",
        "Doe,Jane,1990-01-01,90853,2026-06-01,2026-12-31,20,,,,,no",           # 7: dup of 2
        "Doe,Jane,,90853,2026-06-01,2026-12-31,20,,,,,no",                     # 8
    )
    report = import_authorizations(session, make.actor("Support Staff"), text, today=TODAY)
    session.rollback()
    assert [str(p) for p in report.problems] == [
        "row 3, client_last_name: there is no client Nobody, Here born 1990-01-01",
        "row 4, billing_code: there is no billing code “99999”",
        "row 4, start_date: must be a date (YYYY-MM-DD)",
        "row 4, allotted_units: must be 0 or more",
        "row 4, default: must be yes or no",
        "row 5, insurance_company: there is no insurance company “Nope Inc”",
        "row 5, end_date: must be on or after the start date (2026-06-01)",
        "row 5, remaining_units: cannot be more than the allotted units (5)",
        "row 6, auth_group: there is no auth group “Group X”",
        "row 6, specific_provider: there is no provider “Who, Else”",
        "row 7: describes the same authorization (A-000003) as row 2",
        "row 8, client_dob: is required when client_id is blank",
    ]
    assert snapshot_tables(session, *TABLES) == before


def test_rows_match_by_auth_number_then_by_code_and_dates(session, make, practice):
    actor = make.actor("Support Staff")
    by_number = edited(export_all(session), 0, allotted_units="15")  # =PAY-1, found
    report = import_authorizations(session, actor, by_number, today=TODAY)
    assert (len(report.updated), report.unchanged) == (1, 2)
    # A-000001 is not in this file: code + dates find it, and it takes the payer's number.
    typed = edited(export_all(session), 1, auth_number="PAY-2", remaining_units="7")
    report = import_authorizations(session, actor, typed, today=TODAY)
    assert (len(report.updated), report.unchanged, report.created) == (1, 2, [])
    session.commit()
    numbers = dict(session.execute(sa.select(Authorization.auth_number,
                                             Authorization.remaining_units)).all())
    assert numbers == {"=PAY-1": 9, "PAY-2": 7, "A-000002": 10}
    assert session.scalar(sa.select(Authorization.allotted_units).where(
        Authorization.auth_number == "=PAY-1")) == 15
    # Same code and dates but another payer number: another authorization.
    other = import_authorizations(session, actor, edited(typed, 1, auth_number="PAY-3"),
                                  today=TODAY)
    assert len(other.created) == 1 and other.ok


def test_a_payer_not_on_file_and_mismatched_client_are_problems(session, make, practice):
    text = edited(export_all(session), 2, insurance_company="Acme Health")  # not Roe's payer
    text = edited(text, 0, client_first_name="Janet")  # client_id says Jane
    report = import_authorizations(session, make.actor(), text, today=TODAY)
    session.rollback()
    assert [(p.row, p.column) for p in report.problems] == [(2, "client_id"),
                                                            (4, "insurance_company")]
    assert report.problems[0].message == ("client #1 is Doe, Jane, born 1990-01-01; the name "
                                          "or date of birth in this row differs")
    assert report.problems[1].message == "is not one of the client's payers on file"


def test_header_problems_stop_the_file(session, make):
    report = import_authorizations(session, make.actor(), "client_id,billing_code,colour\n1,"
                                   "90834,red\n", today=TODAY)
    assert [str(p) for p in report.problems] == [
        "row 1, colour: unknown column; the columns are those of the export: "
        + ", ".join(COLUMN_NAMES),
        "row 1, start_date: column is missing", "row 1, end_date: column is missing",
        "row 1, allotted_units: column is missing"]
    assert [str(p) for p in import_authorizations(session, make.actor(), "", today=TODAY)
            .problems] == ["row 1: the file is empty: it needs a header row with the export's "
                           "column names"]


def test_importing_needs_bulk_update(session, make, practice):
    from rules import PermissionDenied

    with pytest.raises(PermissionDenied, match="import authorizations"):
        import_authorizations(session, make.actor("Billing"), export_all(session), today=TODAY)


def test_export_then_import_round_trips(session, make, practice):
    original = export_all(session)
    actor = make.actor()
    kept = session.scalar(sa.select(Authorization).where(Authorization.is_default.is_(True)))
    for auth in session.scalars(sa.select(Authorization).where(Authorization.id != kept.id)):
        delete_authorization(session, actor, auth.id)
    session.commit()
    report = import_authorizations(session, make.actor("Support Staff"), original, today=TODAY)
    assert report.ok, [str(p) for p in report.problems]
    assert (len(report.created), len(report.updated), report.unchanged) == (2, 0, 1)
    session.commit()
    again = export_all(session)
    by_code = lambda rows: sorted(rows, key=lambda r: r["billing_code"])  # noqa: E731
    before, after = by_code(rows_of(original)), by_code(rows_of(again))
    for row in before + after:
        if row["auth_number"].startswith("A-"):
            row["auth_number"] = "(generated)"  # a new installation numbers its own auths
    assert after == before
    assert "'=PAY-1" in again  # the typed payer number survived, still guarded


# ---------------------------------------------------------------- the command line

def test_cli_dry_run_import_and_problems(app, practice, tmp_path):
    good = tmp_path / "auths.csv"
    good.write_text("\ufeff" + new_rows(
        "Doe,Jane,1990-01-01,90853,2026-06-01,2026-12-31,20,,,,,no"), encoding="utf-8")
    runner = app.test_cli_runner()
    dry = runner.invoke(args=["authorizations", "import", str(good), "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert dry.output == ("Dry run: 1 rows: 1 would be created, 0 would be updated, 0 "
                          "unchanged. Nothing was written.\n")
    assert count_auths(app) == 3
    done = runner.invoke(args=["authorizations", "import", str(good)])
    assert done.exit_code == 0 and "1 created" in done.output
    assert count_auths(app) == 4
    bad = tmp_path / "bad.csv"
    bad.write_text(new_rows("Doe,Jane,1990-01-01,99999,2026-06-01,2026-12-31,x,,,,,no",
                            "Doe,Jane,1990-01-01,90832,2026-06-01,2026-12-31,3,,,,,no"))
    refused = runner.invoke(args=["authorizations", "import", str(bad)])
    assert refused.exit_code == 1
    assert refused.output.splitlines() == [
        "row 2, billing_code: there is no billing code “99999”",
        "row 2, allotted_units: must be a whole number",
        "Error: 2 problems; nothing was imported."]
    assert count_auths(app) == 4


# ---------------------------------------------------------------- the console

def test_console_upload_check_confirm_import(app, web, practice):
    support = web("support")
    assert support.get("/console/imports/").status_code == 200
    text = new_rows("Doe,Jane,1990-01-01,90853,2026-06-01,2026-12-31,20,,,,,no")
    checked = support.post("/console/imports/", {
        "step": "check", "file": (io.BytesIO(text.encode()), "auths.csv")},
        content_type="multipart/form-data")
    html = checked.get_data(as_text=True)
    assert checked.status_code == 200 and "1 would be created" in html
    assert "Nothing has been written yet" in html
    assert count_auths(app) == 3
    packed = re.search(r'name="csv_file" value="([^"]+)"', html).group(1)
    confirmed = support.post("/console/imports/", {"step": "import", "csv_file": packed,
                                                   "filename": "auths.csv"})
    assert confirmed.status_code == 200 and "Imported auths.csv: 1 rows: 1 created" in \
        confirmed.get_data(as_text=True)
    assert count_auths(app) == 4
    again = support.post("/console/imports/", {
        "step": "check", "file": (io.BytesIO(text.encode()), "auths.csv")},
        content_type="multipart/form-data")
    assert "there is nothing to import" in again.get_data(as_text=True)


def test_console_shows_every_problem_and_needs_bulk_update_and_csrf(app, web, practice):
    support = web("support")
    support.get("/console/imports/")
    text = new_rows("Doe,Jane,1990-01-01,99999,2026-06-01,2026-12-31,x,,,,,no")
    shown = support.post("/console/imports/", {
        "step": "check", "file": (io.BytesIO(text.encode()), "bad.csv")},
        content_type="multipart/form-data")
    html = shown.get_data(as_text=True)
    assert shown.status_code == 422 and "2 problems" in html and "Nothing was imported" in html
    assert "there is no billing code “99999”" in html and "must be a whole number" in html
    forced = support.post("/console/imports/", {"step": "import", "csv_file": pack(text)})
    assert forced.status_code == 422 and count_auths(app) == 3
    garbled = support.post("/console/imports/", {"step": "import", "csv_file": "x" * 40})
    assert garbled.status_code == 400 and "check the file again" in garbled.get_data(
        as_text=True)
    bomb = support.post("/console/imports/", {"step": "import", "csv_file": base64.b64encode(
        zlib.compress(b"a" * 6_000_000)).decode()})
    assert bomb.status_code == 400
    no_token = support.post("/console/imports/", {"step": "import", "csv_file": pack(text)},
                            csrf=False)
    assert no_token.status_code == 400
    billing = web("billing")
    billing.get("/console/tokens/")  # a page with a CSRF token: the refusal is not about CSRF
    assert billing.get("/console/imports/").status_code == 403
    assert billing.post("/console/imports/", {"step": "import", "csv_file": pack(text)}
                        ).status_code == 403
