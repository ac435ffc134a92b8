"""Benchmark of the Bulk Add or Update screens (admin_views/bulk.py) on a large practice.

    python bench/bulk_screens.py [--db sqlite|postgresql] [--clients 5000] [--per-client 2]
                                 [--runs 3]

Builds a database (SQLite file under /tmp, or a scratch PostgreSQL database on AUTHDESK_TEST_PG)
with ``clients`` × ``per-client`` auths of one payer, logs in as a bulk profile, then times whole
requests, medians of ``runs``:
- Update Codes Listed over every auth of the payer (master list filter): the confirmation page
  (plan of every row, preview of 20) and the apply step (write, audit, commit, redirect), beside
  rules.bulk.apply_update alone (the floor the screen adds to);
- Add New Codes of a 4-code group to every client (the confirmation's dry run, then the apply).
Absolute times drift on shared machines; compare the ratios."""
from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import statistics
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import urlencode

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from app import create_app  # noqa: E402
from extensions import db  # noqa: E402
from rules import Actor, clinic_today  # noqa: E402
from rules.audit import acting_as  # noqa: E402
from seeds import seed_reference  # noqa: E402

PASSWORD = "bench-password-123"


def database(kind: str):
    if kind == "sqlite":
        path = Path(f"/tmp/authdesk-bulk-bench-{uuid.uuid4().hex[:6]}.sqlite")
        return f"sqlite:///{path}", lambda: path.unlink(missing_ok=True)
    admin_url = os.environ.get("AUTHDESK_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
    admin_url = "postgresql+psycopg://" + admin_url.split("://", 1)[1]
    name = f"authdesk_bulk_bench_{uuid.uuid4().hex[:6]}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))

    def drop():
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    return admin_url.rsplit("/", 1)[0] + "/" + name, drop


def fill(n_clients: int, per_client: int) -> dict:
    """One payer, ``n_clients`` clients with it on file, ``per_client`` auths each; a 4-code
    group; a Support Staff login. Set-based inserts (deterministic)."""
    from flask_migrate import upgrade
    from werkzeug.security import generate_password_hash

    from models import (Authorization, BillingCode, BillingCodeGroup, Client, ClientPayer,
                        InsuranceCompany, Profile, User)

    upgrade(directory=str(ROOT / "migrations"))
    session = db.session
    with acting_as(session, Actor.system()):
        seed_reference(session)
        payer = InsuranceCompany(name="Bench Payer")
        codes = list(session.scalars(sa.select(BillingCode).where(
            BillingCode.code.in_(("90832", "90834", "90837", "90853")))))
        group = BillingCodeGroup(name="Outpatient therapy", codes=codes)
        profile = session.scalar(sa.select(Profile).where(Profile.name == "Support Staff"))
        session.add_all([payer, group, User(username="bench", full_name="Bench Support",
                                            password_hash=generate_password_hash(PASSWORD),
                                            profile=profile)])
        session.commit()
        today, now = clinic_today(), dt.datetime.now(dt.UTC).replace(tzinfo=None)
        session.execute(sa.insert(Client.__table__), [
            {"first_name": "Alex", "last_name": f"Client{i:06}", "name_key": f"client{i:06} alex",
             "dob": dt.date(1990, 1, 1), "active": True, "created_at": now}
            for i in range(n_clients)])
        client_ids = list(session.scalars(sa.select(Client.id).order_by(Client.id)))
        session.execute(sa.insert(ClientPayer.__table__), [
            {"client_id": c, "insurance_company_id": payer.id, "is_primary": True}
            for c in client_ids])
        rows, n = [], 0
        for c in client_ids:
            for k in range(per_client):
                n += 1
                rows.append({"client_id": c, "billing_code_id": codes[k % len(codes)].id,
                             "auth_number": f"B-{n:07}", "start_date": today - dt.timedelta(30),
                             "end_date": today + dt.timedelta(60 + k), "allotted_units": 20,
                             "remaining_units": 20, "pending_units": 0, "active": True,
                             "unmanaged": False, "overdrawn": False, "exclude_from_notes": False,
                             "is_default": False, "suspend_alerts": False, "inpatient": False,
                             "insurance_company_id": payer.id, "version": 1,
                             "last_edited_at": now, "last_edited_by": "system",
                             "created_at": now})
        for i in range(0, len(rows), 5000):
            session.execute(sa.insert(Authorization.__table__), rows[i:i + 5000])
        session.commit()
        return {"payer": payer.id, "group": group.id, "auths": n, "clients": len(client_ids)}


def median_ms(samples) -> float:
    return statistics.median(samples) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--clients", type=int, default=5000)
    parser.add_argument("--per-client", type=int, default=2)
    parser.add_argument("--runs", type=int, default=3)
    opts = parser.parse_args()
    url, drop = database(opts.db)
    try:
        app = create_app({"SECRET_KEY": "bench", "SQLALCHEMY_DATABASE_URI": url,
                          "RATELIMIT_ENABLED": False, "TESTING": True})
        with app.app_context():
            data = fill(opts.clients, opts.per_client)
        from conftest import WebClient

        web = WebClient(app)
        assert web.login("bench", PASSWORD).status_code == 302
        list_args = urlencode({"payer": data["payer"]})
        url_list = "/console/bulk/list/authorizations/"
        blank = {"billing_code_group_id": "", "allotted_units": "", "remaining_units": "",
                 "unit_alert_level": "", "exp_alert_days": "", "start_date": "",
                 "end_date": "", "unmanaged": "n.a.", "auth_group_id": "",
                 "insurance_company_id": "", "list_args": list_args}
        confirm_t, apply_t, rules_t = [], [], []
        for run in range(opts.runs):
            form = {**blank, "exp_alert_days": str(10 + run)}
            t = time.perf_counter()
            page = web.post(url_list, {**form, "op": "update"})
            confirm_t.append(time.perf_counter() - t)
            count = int(re.search(r'class="bulk-count">([\d,]+)<', page.get_data(as_text=True))
                        .group(1).replace(",", ""))
            t = time.perf_counter()
            done = web.post(url_list, {**form, "op": "apply_update", "expected_count": count})
            apply_t.append(time.perf_counter() - t)
            assert done.status_code == 302, done.status_code
            with app.app_context():  # the rules alone, same size, as the floor of the screen
                from models import Authorization
                from rules.bulk import apply_update

                actor = Actor.system()
                with acting_as(db.session, actor):
                    scope = sa.select(Authorization.id).where(
                        Authorization.insurance_company_id == data["payer"])
                    t = time.perf_counter()
                    apply_update(db.session, actor, scope, {"exp_alert_days": str(50 + run)})
                    db.session.commit()
                    rules_t.append(time.perf_counter() - t)
        print(f"{opts.db}: {data['clients']:,} clients, {data['auths']:,} auths "
              f"(medians of {opts.runs})")
        print(f"  Update Codes Listed of {count:,} auths: confirmation page "
              f"{median_ms(confirm_t):.0f} ms; apply {median_ms(apply_t):.0f} ms; "
              f"rules.bulk.apply_update alone {median_ms(rules_t):.0f} ms "
              f"(apply = {median_ms(apply_t) / median_ms(rules_t):.2f}× the rules)")
        form = {**blank, "billing_code_group_id": str(data["group"]), "allotted_units": "20",
                "start_date": clinic_today().isoformat(),
                "end_date": (clinic_today() + dt.timedelta(days=180)).isoformat(),
                "clients": "all", "list_args": ""}
        t = time.perf_counter()
        page = web.post(url_list, {**form, "op": "add"})
        add_confirm = time.perf_counter() - t
        body = page.get_data(as_text=True)
        hidden = dict(re.findall(r'name="(expected_clients|clients_digest)" value="([^"]*)"', body))
        t = time.perf_counter()
        done = web.post(url_list, {**form, **hidden, "op": "apply_add"})
        add_apply = time.perf_counter() - t
        assert done.status_code == 302, done.status_code
        print(f"  Add New Codes (4 codes) to {data['clients']:,} clients: confirmation "
              f"(dry run) {add_confirm * 1000:.0f} ms; apply {add_apply * 1000:.0f} ms")
    finally:
        with app.app_context():
            db.engine.dispose()
        drop()


if __name__ == "__main__":
    main()
