"""Benchmark of the Authorizations master list on a large, deterministic practice.

    python bench/console_master_list.py [--db sqlite|postgresql] [--auths 200000]

Builds a database (SQLite file under /tmp, or a scratch PostgreSQL database on AUTHDESK_TEST_PG),
fills it with clients and auths in bulk, then times whole requests of the list (logged in,
warm) and, beside each, the time of its queries alone (the capped count, the page's ids, the rows) as a
ratio. Medians of several runs; absolute times drift on shared machines."""
from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import statistics
import sys
import time
import uuid
from pathlib import Path

import flask
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app import create_app  # noqa: E402
from extensions import db  # noqa: E402
from rules import Actor, clinic_today  # noqa: E402
from rules.audit import acting_as  # noqa: E402
from seeds import seed_reference  # noqa: E402

PASSWORD = "bench-password-123"


def database(kind: str) -> tuple[str, callable]:
    if kind == "sqlite":
        path = Path(f"/tmp/authdesk-bench-{uuid.uuid4().hex[:6]}.sqlite")
        return f"sqlite:///{path}", lambda: path.unlink(missing_ok=True)
    admin_url = os.environ.get("AUTHDESK_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
    admin_url = "postgresql+psycopg://" + admin_url.split("://", 1)[1]
    name = f"authdesk_bench_{uuid.uuid4().hex[:6]}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))

    def drop():
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    return admin_url.rsplit("/", 1)[0] + "/" + name, drop


def fill(auths: int) -> None:
    """Clients, providers, payers and auths in bulk (deterministic)."""
    from flask_migrate import upgrade
    from werkzeug.security import generate_password_hash

    upgrade(directory=str(ROOT / "migrations"))
    with acting_as(db.session, Actor.system()):
        seed_reference(db.session)
        db.session.commit()
    rng, today = random.Random(2026), clinic_today()
    conn = db.session.connection()
    ins = lambda table, rows: conn.execute(sa.table(table, *[sa.column(k) for k in rows[0]])  # noqa
                                           .insert(), rows)
    ins("divisions", [{"id": i, "name": f"Division {i}", "active": True, "sort_order": i}
                      for i in range(1, 4)])
    ins("client_groups", [{"id": i, "name": f"Group {i}", "active": True, "sort_order": i}
                          for i in range(1, 5)])
    ins("user_groups", [{"id": i, "name": f"Team {i}", "active": True, "sort_order": i}
                        for i in range(1, 4)])
    ins("providers", [{"id": i, "first_name": "P", "last_name": f"Provider{i:03d}",
                       "user_group_id": 1 + i % 3, "active": True} for i in range(1, 41)])
    ins("insurance_companies", [{"id": i, "name": f"Payer {i}", "active": True}
                                for i in range(1, 11)])
    clients = auths // 4
    first = ("Olivia", "Liam", "Emma", "Noah", "Ava", "Mia", "Lucas", "Grace", "Henry", "Ella")
    last = [f"{a}{b}" for a in ("Gar", "Smi", "John", "Bro", "Dav", "Mil", "Wil", "Moo", "Tay",
                                "And") for b in ("cia", "th", "son", "wn", "is", "ler", "ton",
                                                 "re", "lor", "ers")]
    rows, payers, groups = [], [], []
    for i in range(1, clients + 1):
        f, ln = rng.choice(first), rng.choice(last) + str(i % 97)
        rows.append({"id": i, "first_name": f, "last_name": ln,
                     "name_key": f"{ln} {f}".casefold(), "dob": dt.date(1950, 1, 1)
                     + dt.timedelta(days=rng.randrange(20000)), "division_id": 1 + i % 3,
                     "primary_therapist_id": 1 + i % 40, "active": True,
                     "created_at": dt.datetime(2026, 1, 1)})
        payers.append({"client_id": i, "insurance_company_id": 1 + i % 10, "is_primary": True})
        groups.append({"client_id": i, "client_group_id": 1 + i % 4})
    ins("clients", rows)
    ins("client_payers", payers)
    ins("client_client_groups", groups)
    codes = list(conn.execute(sa.text("SELECT id FROM billing_codes")).scalars())
    batch = []
    for i in range(1, auths + 1):
        start = today - dt.timedelta(days=rng.randrange(400))
        end = start + dt.timedelta(days=rng.randrange(30, 365))
        allotted = rng.choice((8, 12, 20, 24))
        remaining = rng.randrange(allotted + 1)
        batch.append({
            "id": i, "client_id": 1 + (i - 1) % clients, "billing_code_id": rng.choice(codes),
            "start_date": start, "end_date": end, "allotted_units": allotted,
            "remaining_units": remaining, "pending_units": 0,
            "unit_alert_level": rng.choice((None, 2, 4)), "exp_alert_days": 30,
            "auth_number": f"A-{i:06d}", "specific_provider_id": None if i % 5 else 1 + i % 40,
            "insurance_company_id": None if i % 3 else 1 + i % 10, "exclude_from_notes": False,
            "auth_group_id": None if i % 2 else 1 + i % 2, "unmanaged": i % 50 == 0,
            "active": start <= today <= end and remaining > 0, "is_default": False,
            "suspend_alerts": False, "sliding_scale_pct": None, "inpatient": False,
            "overdrawn": False, "last_edited_at": dt.datetime(2026, 1, 1),
            "last_edited_by": "bench", "created_at": dt.datetime(2026, 1, 1), "version": 1})
        if len(batch) == 10000:
            ins("authorizations", batch)
            batch = []
    if batch:
        ins("authorizations", batch)
    profile = conn.execute(sa.text("SELECT id FROM profiles WHERE name = 'Billing'")).scalar()
    conn.execute(sa.text(
        "INSERT INTO users (username, full_name, password_hash, profile_id, active, "
        "session_token, failed_logins, is_demo, created_at) VALUES ('bench', 'Bench', :h, :p, "
        ":t, 'x', 0, :f, :c)"), {"h": generate_password_hash(PASSWORD), "p": profile, "t": True,
                                 "f": False, "c": dt.datetime(2026, 1, 1)})
    if conn.dialect.name == "postgresql":
        for table in ("clients", "authorizations"):
            conn.execute(sa.text(f"SELECT setval('{table}_id_seq', (SELECT max(id) FROM {table}))"))
    db.session.commit()
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
        c.execute(sa.text("VACUUM ANALYZE" if c.dialect.name == "postgresql" else "ANALYZE"))


def median_ms(fn, runs: int) -> float:
    fn()
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--auths", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    url, drop = database(args.db)
    try:
        app = create_app({"TESTING": True, "SECRET_KEY": "bench", "SQLALCHEMY_DATABASE_URI": url,
                          "RATELIMIT_ENABLED": False, "WTF_CSRF_ENABLED": False})
        t = time.perf_counter()
        with app.app_context():
            fill(args.auths)
        print(f"{args.db}: {args.auths:,} auths built in {time.perf_counter() - t:.0f} s")
        http = app.test_client()
        assert http.post("/login", data={"username": "bench", "password": PASSWORD}
                         ).status_code == 302
        today = clinic_today()
        cases = {
            "page 1": "",
            "division + code": "division=2&code=4",
            "expiring 30 days": "expiring=30",
            "at or below alert level": "low=1",
            "payer (of the claim)": "payer=3",
            "provider": "provider=7",
            "client name search": "search=smith",
            "auth # search": "search=A-0123",
            "sorted by client": "sort=0",
            "page 50": "page=49",
        }
        with app.app_context():
            view = next(v for v in app.extensions["admin"][0]._views
                        if getattr(v, "endpoint", "") == "authorizations")
        for label, query in cases.items():
            url_ = "/console/authorizations/?" + query

            def page():
                response = http.get(url_)
                assert response.status_code == 200, response.status_code

            def floor():
                # The same statements without the page around them: count, ids, rows.
                with app.test_request_context(url_), app.app_context():
                    args = flask.request.args
                    sort = view._get_column_by_idx(args.get("sort", type=int))
                    view.get_list(args.get("page", 0, type=int), sort and sort[0], False,
                                  args.get("search"), None, page_size=20)
                    db.session.remove()
            request_ms, floor_ms = median_ms(page, args.runs), median_ms(floor, args.runs)
            print(f"  {label:<26} {request_ms:7.1f} ms   (its queries alone {floor_ms:6.1f} ms, "
                  f"page / queries {request_ms / floor_ms:4.1f})")
        print(f"  (today {today.isoformat()})")
    finally:
        drop()


if __name__ == "__main__":
    main()
