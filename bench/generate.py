"""Deterministic practice of the benchmark suite (issue 8): at scale 1, 20,000 clients × 10
authorizations = 200,000 auths, the reference billing codes (22; 90834 is about a quarter of all
auths), 5 divisions, 6 client groups, the 2 auth groups, 8 payers, 50 providers, and a history of
released notes that accounts for every used unit.

    python -m bench.generate --url sqlite:////tmp/practice.sqlite [--scale 1] [--seed 2026]

The database must be migrated (``flask db upgrade``) and empty but for the reference seed, which
``build`` adds. Every row is written with multi-row inserts, no ORM objects and no audit records
(this is an import of history, not users' edits). The same seed and scale give the same rows.

Shape of each client's ten auths: four in Auth Group 1 (90832, 90834, 90837, 90853 sharing one
allotment, like the source's "20 sessions across four codes"), six single auths (90834 with
probability ¼ each, else another code); every third client has two of those in Auth Group 2. A
third of the auth sets have ended, half cover today and the rest start later. Used units of a
set are the units of its released notes; siblings of a group carry the same allotted and
remaining units and every note on a group claims on each of them (rule 3). One auth in 50 is
unmanaged. The auth # is generated (``A-000001`` …) and the counter is moved past the last one.
"""
from __future__ import annotations

import argparse
import datetime as dt
import random
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

CLIENTS_AT_SCALE_1 = 20_000
AUTHS_PER_CLIENT = 10
DIVISIONS, CLIENT_GROUPS, USER_GROUPS, PAYERS, PROVIDERS = 5, 6, 4, 8, 50
GROUP_CODES = ("90832", "90834", "90837", "90853")
CHUNK = 5_000

FIRST = ("Olivia", "Liam", "Emma", "Noah", "Ava", "Mia", "Lucas", "Grace", "Henry", "Ella",
         "Amelia", "James", "Sofia", "Mateo", "Chloe", "Elijah", "Nora", "Levi", "Zoe", "Owen",
         "Aria", "Ethan", "Luna", "Caleb", "Maya", "Isaac", "Ruby", "Hugo", "Iris", "Jonah")
LAST_STEMS = ("Garcia", "Smith", "Johnson", "Brown", "Davis", "Miller", "Wilson", "Moore",
              "Taylor", "Anderson", "Thomas", "Jackson", "White", "Harris", "Martin", "Thompson",
              "Martinez", "Robinson", "Clark", "Lewis", "Lee", "Walker", "Hall", "Allen",
              "Young", "King", "Wright", "Scott", "Green", "Baker", "Adams", "Nelson", "Hill",
              "Campbell", "Mitchell", "Roberts", "Carter", "Phillips", "Evans", "Turner")
LAST_SUFFIXES = ("", "son", "ley", "man", "field", "ton", "well", "ford", "wood", "er")


@dataclass
class Practice:
    """What ``build`` wrote, for the benchmarks to aim at."""
    clients: int = 0
    auths: int = 0
    notes: int = 0
    claims: int = 0
    divisions: list[int] = field(default_factory=list)
    codes: dict[str, int] = field(default_factory=dict)
    payers: list[int] = field(default_factory=list)
    providers: list[int] = field(default_factory=list)
    client_groups: list[int] = field(default_factory=list)
    auth_groups: list[int] = field(default_factory=list)
    code_group: int | None = None
    today: dt.date | None = None
    seconds: float = 0.0

    def as_dict(self) -> dict:
        return {"clients": self.clients, "auths": self.auths, "notes": self.notes,
                "claims": self.claims, "seconds": round(self.seconds, 1)}


_SQLITE_TEXT: dict = {}


def _sqlite_value(value):
    """Dates as SQLAlchemy's SQLite types store them (memoized: the load repeats few dates)."""
    if not isinstance(value, dt.date):
        return value
    text = _SQLITE_TEXT.get(value)
    if text is None:
        text = _SQLITE_TEXT[value] = (value.strftime("%Y-%m-%d %H:%M:%S.%f")
                                      if isinstance(value, dt.datetime) else value.isoformat())
    return text


def _insert(conn, table: str, rows: list[dict]) -> None:
    """Multi-row insert through the driver: ``executemany`` of tuples on SQLite, ``COPY`` on
    PostgreSQL (SQLAlchemy's per-row work would be most of the load time)."""
    if not rows:
        return
    columns = list(rows[0])
    if conn.dialect.name == "postgresql":
        cursor = conn.connection.driver_connection.cursor()
        with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row([row[c] for c in columns])
        return
    sql = (f"INSERT INTO {table} ({', '.join(columns)}) "
           f"VALUES ({', '.join('?' * len(columns))})")
    conn.exec_driver_sql(sql, [tuple(_sqlite_value(row[c]) for c in columns) for row in rows])


def build(conn, *, scale: float = 1.0, seed: int = 2026, today: dt.date | None = None,
          password_hash: str | None = None) -> Practice:
    """Fill a migrated database through ``conn`` (a SQLAlchemy connection in a transaction the
    caller commits). ``password_hash`` adds the bench logins ``bench-admin`` (Administrator) and
    ``bench-support`` (Support Staff), and a provider login ``bench-provider``."""
    from rules import clinic_today

    started = time.perf_counter()
    if conn.dialect.name == "sqlite":
        # A bulk import: a large page cache for the index inserts (this connection only).
        conn.exec_driver_sql("PRAGMA cache_size = -262144")
    rng = random.Random(seed)
    today = today or clinic_today()
    now = dt.datetime.combine(today, dt.time(8, 0))
    p = Practice(today=today)
    n_clients = max(1, round(CLIENTS_AT_SCALE_1 * scale))

    # Reference data (auth groups, billing codes, profiles): the product's own seed.
    from sqlalchemy.orm import Session

    from rules import Actor
    from rules.audit import acting_as
    from seeds import seed_reference

    with Session(bind=conn) as session, acting_as(session, Actor.system()):
        seed_reference(session)
        session.flush()
    p.codes = dict(conn.execute(sa.text("SELECT code, id FROM billing_codes")).all())
    p.auth_groups = list(conn.execute(sa.text(
        "SELECT id FROM auth_groups ORDER BY sort_order, id")).scalars())[:2]
    rates = dict(conn.execute(sa.text("SELECT id, rate FROM billing_codes")).all())

    def pick_list(table, label, count):
        _insert(conn, table, [{"name": f"{label} {i}", "active": True, "sort_order": i}
                              for i in range(1, count + 1)])
        return list(conn.execute(sa.text(
            f"SELECT id FROM {table} WHERE name LIKE :p ORDER BY sort_order"),
            {"p": f"{label} %"}).scalars())

    p.divisions = pick_list("divisions", "Division", DIVISIONS)
    p.client_groups = pick_list("client_groups", "Client Group", CLIENT_GROUPS)
    user_groups = pick_list("user_groups", "Team", USER_GROUPS)
    _insert(conn, "insurance_companies", [{"name": f"Payer {i}", "active": True}
                                          for i in range(1, PAYERS + 1)])
    p.payers = list(conn.execute(sa.text(
        "SELECT id FROM insurance_companies WHERE name LIKE 'Payer %' ORDER BY id")).scalars())
    _insert(conn, "providers", [
        {"first_name": rng.choice(FIRST), "last_name": f"Provider{i:03d}",
         "user_group_id": user_groups[i % USER_GROUPS], "active": True}
        for i in range(1, PROVIDERS + 1)])
    p.providers = list(conn.execute(sa.text(
        "SELECT id FROM providers WHERE last_name LIKE 'Provider%' ORDER BY id")).scalars())

    # Clients, their payers and groups.
    first_client = (conn.execute(sa.text("SELECT max(id) FROM clients")).scalar() or 0) + 1
    clients, payers_on_file, groups = [], [], []
    client_payers: dict[int, list[int]] = {}
    for k in range(n_clients):
        cid = first_client + k
        first = rng.choice(FIRST)
        last = rng.choice(LAST_STEMS) + rng.choice(LAST_SUFFIXES)
        clients.append({
            "id": cid, "first_name": first, "last_name": last,
            "name_key": f"{last} {first}".casefold(),
            "dob": dt.date(1950, 1, 1) + dt.timedelta(days=rng.randrange(25_000)),
            # Division 1 holds 30 % of the clients (its 90834 auths: ~10,000 at scale 1).
            "division_id": p.divisions[0] if rng.random() < 0.3 else rng.choice(p.divisions[1:]),
            "primary_therapist_id": rng.choice(p.providers), "active": True,
            "created_at": now})
        on_file = rng.sample(p.payers, rng.choice((1, 1, 2)))
        client_payers[cid] = on_file
        payers_on_file += [{"client_id": cid, "insurance_company_id": pid,
                            "is_primary": j == 0} for j, pid in enumerate(on_file)]
        # Client Group 1 holds every fourth client (5,000 at scale 1: the Bulk Add target).
        chosen = rng.sample(p.client_groups[1:], rng.choice((0, 1, 1, 2)))
        groups += [{"client_id": cid, "client_group_id": g}
                   for g in ([p.client_groups[0]] if k % 4 == 0 else []) + chosen]
    _insert(conn, "clients", clients)
    _insert(conn, "client_payers", payers_on_file)
    _insert(conn, "client_client_groups", groups)
    p.clients = n_clients

    # Authorizations in sets (a group's siblings, or one auth) and the notes that used them.
    # Sorted: the same seed picks the same codes whatever ids the database gave them.
    single_codes = sorted(c for c in p.codes if c not in GROUP_CODES) + ["90832", "90837"]
    first_auth = (conn.execute(sa.text("SELECT max(id) FROM authorizations")).scalar() or 0) + 1
    first_note = (conn.execute(sa.text("SELECT max(id) FROM notes")).scalar() or 0) + 1
    auth_id, note_id = first_auth, first_note
    auths, notes, claims = [], [], []

    def flush():
        _insert(conn, "authorizations", auths)
        _insert(conn, "notes", notes)
        _insert(conn, "note_claims", claims)
        p.auths += len(auths)
        p.notes += len(notes)
        p.claims += len(claims)
        auths.clear(), notes.clear(), claims.clear()

    for client in clients:
        cid, therapist = client["id"], client["primary_therapist_id"]
        singles = [("90834" if rng.random() < 0.25 else rng.choice(single_codes))
                   for _ in range(AUTHS_PER_CLIENT - len(GROUP_CODES))]
        sets = [(list(GROUP_CODES), p.auth_groups[0])]
        if cid % 3 == 0:
            sets.append((singles[:2], p.auth_groups[1]))
            singles = singles[2:]
        sets += [([code], None) for code in singles]
        for codes, group in sets:
            phase = rng.random()
            if phase < 1 / 3:      # ended
                end = today - dt.timedelta(days=rng.randrange(1, 300))
                start = end - dt.timedelta(days=rng.randrange(60, 365))
            elif phase < 5 / 6:    # covers today
                start = today - dt.timedelta(days=rng.randrange(0, 300))
                end = today + dt.timedelta(days=rng.randrange(0, 240))
            else:                  # starts later
                start = today + dt.timedelta(days=rng.randrange(1, 90))
                end = start + dt.timedelta(days=rng.randrange(60, 365))
            unmanaged = group is None and rng.random() < 0.02
            allotted = rng.choice((8, 12, 20, 24, 30))
            used = 0 if unmanaged or start > today else rng.choice((0, 0, 1, 2, 3, 4, 6))
            remaining = allotted - used
            # Payer of the claim: usually the client's primary, sometimes set on the auth.
            payer = rng.choice(client_payers[cid]) if rng.random() < 0.4 else None
            provider = therapist if rng.random() < 0.1 else None
            ids = list(range(auth_id, auth_id + len(codes)))
            auth_id += len(codes)
            for aid, code in zip(ids, codes):
                auths.append({
                    "id": aid, "client_id": cid, "billing_code_id": p.codes[code],
                    "start_date": start, "end_date": end, "allotted_units": allotted,
                    "remaining_units": remaining, "pending_units": 0,
                    "unit_alert_level": rng.choice((None, 2, 4)),
                    "exp_alert_days": rng.choice((None, 14, 30)),
                    "auth_number": f"A-{aid:06d}", "specific_provider_id": provider,
                    "insurance_company_id": payer, "exclude_from_notes": False,
                    "auth_group_id": group, "unmanaged": unmanaged,
                    "active": start <= today <= end and (unmanaged or remaining > 0),
                    "is_default": code == "90834" and group is not None,
                    "suspend_alerts": False, "sliding_scale_pct": None, "inpatient": False,
                    "overdrawn": False, "last_edited_at": now, "last_edited_by": "system",
                    "created_at": now, "version": 1})
            last_day = min(end, today)
            for _ in range(used):
                j = rng.randrange(len(codes))
                day = start + dt.timedelta(days=rng.randrange((last_day - start).days + 1))
                code_id = p.codes[codes[j]]
                at = dt.datetime.combine(day, dt.time(17, 0))
                notes.append({
                    "id": note_id, "client_id": cid, "provider_id": provider or therapist,
                    "service_date": day, "billing_code_id": code_id,
                    "authorization_id": ids[j], "units": 1, "status": "released",
                    "payer_id": payer or client_payers[cid][0], "charge": rates[code_id],
                    "inpatient": False, "created_at": at, "created_by": "system",
                    "last_edited_at": at, "last_edited_by": "system", "released_at": at,
                    "released_by": "system"})
                claims += [{"note_id": note_id, "authorization_id": aid, "units": 1}
                           for aid in ids]
                note_id += 1
        if len(auths) >= 20_000:
            flush()
    flush()

    last = auth_id - 1
    if conn.execute(sa.text("SELECT count(*) FROM counters WHERE name = 'auth_number'")).scalar():
        conn.execute(sa.text("UPDATE counters SET value = :v WHERE name = 'auth_number' "
                             "AND value < :v"), {"v": last})
    else:
        conn.execute(sa.text("INSERT INTO counters (name, value) VALUES ('auth_number', :v)"),
                     {"v": last})
    # The billing code group a Bulk Add uses (the source's four psychotherapy codes).
    _insert(conn, "billing_code_groups", [{"name": "Outpatient psychotherapy"}])
    p.code_group = conn.execute(sa.text(
        "SELECT id FROM billing_code_groups WHERE name = 'Outpatient psychotherapy'")).scalar()
    _insert(conn, "billing_code_group_members", [
        {"group_id": p.code_group, "billing_code_id": p.codes[c]} for c in GROUP_CODES])
    if password_hash:
        _add_logins(conn, password_hash, p, now)
    if conn.dialect.name == "postgresql":
        for table in ("clients", "authorizations", "notes"):
            conn.execute(sa.text(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT max(id) FROM {table}))"))
    p.seconds = time.perf_counter() - started
    return p


def _add_logins(conn, password_hash: str, p: Practice, now: dt.datetime) -> None:
    profiles = dict(conn.execute(sa.text("SELECT name, id FROM profiles")).all())
    rows = [("bench-admin", "Bench Admin", "Administrator", None),
            ("bench-support", "Bench Support", "Support Staff", None),
            ("bench-provider", "Bench Provider", "Provider", p.providers[0])]
    _insert(conn, "users", [
        {"username": u, "full_name": n, "password_hash": password_hash,
         "profile_id": profiles[prof], "provider_id": prov, "active": True,
         "session_token": f"bench-{u}", "failed_logins": 0, "is_demo": False,
         "created_at": now} for u, n, prof, prov in rows])


def analyze(engine) -> None:
    """Fresh planner statistics after the load (what a DBA runs after an import)."""
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text("VACUUM ANALYZE" if conn.dialect.name == "postgresql"
                             else "ANALYZE"))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Fill a migrated Authdesk database with the "
                                     "benchmark practice.")
    parser.add_argument("--url", required=True, help="SQLAlchemy URL of a migrated database")
    parser.add_argument("--scale", type=float, default=1.0,
                        help="1 = 20,000 clients and 200,000 auths")
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args(argv)
    if args.scale <= 0:
        print("Error: --scale must be positive.", file=sys.stderr)
        return 2
    engine = sa.create_engine(args.url)
    from app import create_app
    app = create_app({"TESTING": True, "SECRET_KEY": "bench", "SQLALCHEMY_DATABASE_URI": args.url})
    with app.app_context(), engine.begin() as conn:
        practice = build(conn, scale=args.scale, seed=args.seed)
    analyze(engine)
    print(f"{practice.clients:,} clients, {practice.auths:,} auths, {practice.notes:,} notes "
          f"in {practice.seconds:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
