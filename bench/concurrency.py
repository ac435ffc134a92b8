"""Concurrency benchmark of notes (issue 8 point 4): many staff creating and releasing notes at
once on a shared pool of authorizations, through the real web forms, on PostgreSQL, then every
unit invariant of DOMAIN.md rule 1 (and rules 3, 4) checked across the whole database with SQL.

    .venv/bin/python -m bench.concurrency [--seconds 30] [--clients 8] [--workers 4]
                                           [--json PATH]

What it does:
 1. creates a scratch PostgreSQL database ``authdesk_conc_<random>`` on AUTHDESK_TEST_PG
    (default postgresql://postgres@127.0.0.1:5432/test), migrates it, seeds the reference data,
    and builds a shared pool: 40 clients, each with three auths in "Auth Group 1" (siblings:
    same dates, they decrement together), one auth of its own and one unmanaged auth; a quarter
    of the clients have only a few units left, so notes on them run short and are refused
    during the run. One provider, and ``--clients`` users of the seeded Administrator profile
    (the seeded profile that may both write and release notes), with a cheap pbkdf2 password
    hash (bench only, like the tests' logins; production hashes are scrypt);
 2. starts ``gunicorn --workers 4 'app:create_app()'`` on a free port of 127.0.0.1, in production
    mode (no TESTING/DEBUG: secure cookies, CSRF, login limits), with the login limit raised
    through its existing setting AUTHDESK_LOGIN_RATE_LIMIT;
 3. runs ``--clients`` client processes for ``--seconds``: each logs in through the login form
    with its CSRF token, then repeatedly posts the note form (/console/notes/new/, with CSRF) on
    a random client and auth of the pool, and releases the note (/console/notes/release/) and
    reads the page it is sent to, which must say the note was released. A 409 with the
    "… left; this note needs …" message is a refusal; any 5xx, or any other answer, an error;
 4. prints notes per second (created and released), refusals, errors, latencies, and checks the
    invariants (``check_invariants``); prints "overspent auths: N";
 5. prints a table and, with --json, writes the figures and the machine.
Exit status 1 if any invariant fails, any error (5xx) happened, or no note was refused.

The clients talk plain HTTP to 127.0.0.1 while the app sets Secure cookies (production); they
send those cookies anyway, as a TLS-terminating proxy in front of the app would make possible.
"""
from __future__ import annotations

import argparse
import datetime as dt
import http.cookiejar
import json
import multiprocessing as mp
import os
import platform
import random
import re
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import sqlalchemy as sa

from bench.common import ROOT, flashes, gunicorn, login, scratch_postgresql

PASSWORD = "bench-password-123"
NOTES = "/console/notes"
GROUPED_CODES = ("90832", "90834", "90837")   # one auth group: siblings
SINGLE_CODE = "90853"                          # an auth of its own
UNMANAGED_CODE = "H0031"                       # never decremented (rule 4)
CLIENTS = 40
REFUSAL = re.compile(r"has (?:no units|\d+ units?) left; this note needs \d+")


# --- the invariant checker (rule 1, with rules 3 and 4) --------------------------------------

@dataclass
class Violation:
    invariant: str
    detail: str


#: What each check proves, in the order they run (printed in the report).
INVARIANTS = {
    "pending_not_negative": "0 <= pending on every auth",
    "remaining_within_allotted": "remaining <= allotted on every auth",
    "not_overspent": "managed: 0 <= remaining and pending <= remaining, unless a recorded "
                     "override took the auth past it",
    "overdrawn_only_by_override": "an auth marked overdrawn holds units of a note whose "
                                  "override is recorded",
    "unmanaged_never_decremented": "unmanaged auths hold no pending units and no claims "
                                   "(and keep their remaining units)",
    "pending_is_drafts": "pending = units claimed by the draft notes",
    "used_is_released": "units used since the baseline (remaining went down by) = units "
                        "claimed by the released notes (without a baseline: used >= released)",
    "claims_on_every_sibling": "every draft or released note claims its units on each managed "
                               "auth-group sibling covering its service date",
    "claims_only_on_siblings": "no claim on another auth, and each claim is the note's units",
    "siblings_agree": "siblings that started equal (same client, group, dates, allotted, "
                      "remaining) still have the same remaining and pending",
    "released_notes_stamped": "a released note says when and by whom",
}

# A managed auth is past its units unless an override recorded on a note that claims it
# explains it.
_OVERRIDE_ON = """EXISTS (SELECT 1 FROM note_claims c JOIN notes n ON n.id = c.note_id
                          WHERE c.authorization_id = a.id AND n.override_by IS NOT NULL
                            AND n.status IN ('draft', 'released'))"""
_PAST_UNITS = "(a.remaining_units < 0 OR a.pending_units > a.remaining_units)"
# Claims per auth, by status of the note.
_CLAIMED = """(SELECT COALESCE(SUM(c.units), 0) FROM note_claims c JOIN notes n ON n.id = c.note_id
               WHERE c.authorization_id = a.id AND n.status = '{status}')"""
# The managed siblings a note on auth ``a`` draws on, on date ``n.service_date`` (rule 3).
_SIBLING_OF_NOTE = """(a.auth_group_id IS NOT NULL AND s.client_id = a.client_id
        AND s.auth_group_id = a.auth_group_id AND NOT s.unmanaged
        AND s.start_date <= n.service_date AND s.end_date >= n.service_date)
    OR (s.id = a.id AND NOT s.unmanaged)"""

QUERIES = {
    "pending_not_negative":
        "SELECT a.id, a.pending_units FROM authorizations a WHERE a.pending_units < 0",
    "remaining_within_allotted":
        "SELECT a.id, a.remaining_units, a.allotted_units FROM authorizations a "
        "WHERE a.remaining_units > a.allotted_units",
    "not_overspent":
        f"SELECT a.id, a.remaining_units, a.pending_units FROM authorizations a "
        f"WHERE NOT a.unmanaged AND {_PAST_UNITS} AND NOT (a.overdrawn AND {_OVERRIDE_ON})",
    "overdrawn_only_by_override":
        f"SELECT a.id, a.remaining_units, a.pending_units FROM authorizations a "
        f"WHERE a.overdrawn AND NOT {_OVERRIDE_ON}",
    "unmanaged_never_decremented":
        "SELECT a.id, a.pending_units, (SELECT COUNT(*) FROM note_claims c "
        "WHERE c.authorization_id = a.id) FROM authorizations a WHERE a.unmanaged AND "
        "(a.pending_units <> 0 OR EXISTS (SELECT 1 FROM note_claims c "
        "WHERE c.authorization_id = a.id))",
    "pending_is_drafts":
        f"SELECT a.id, a.pending_units, {_CLAIMED.format(status='draft')} FROM authorizations a "
        f"WHERE NOT a.unmanaged AND a.pending_units <> {_CLAIMED.format(status='draft')}",
    "claims_on_every_sibling":
        f"SELECT n.id, s.id FROM notes n JOIN authorizations a ON a.id = n.authorization_id "
        f"JOIN authorizations s ON ({_SIBLING_OF_NOTE}) "
        f"WHERE n.status IN ('draft', 'released') AND NOT EXISTS (SELECT 1 FROM note_claims c "
        f"WHERE c.note_id = n.id AND c.authorization_id = s.id)",
    "claims_only_on_siblings":
        f"SELECT n.id, c.authorization_id, c.units, n.units FROM note_claims c "
        f"JOIN notes n ON n.id = c.note_id JOIN authorizations a ON a.id = n.authorization_id "
        f"WHERE c.units <> n.units OR NOT EXISTS (SELECT 1 FROM authorizations s "
        f"WHERE s.id = c.authorization_id AND ({_SIBLING_OF_NOTE}))",
    "released_notes_stamped":
        "SELECT n.id, n.released_at, n.released_by FROM notes n WHERE n.status = 'released' "
        "AND (n.released_at IS NULL OR n.released_by IS NULL)",
}


def take_baseline(conn) -> dict[int, dict]:
    """Every auth's units before the run: what ``used_is_released`` and ``siblings_agree``
    compare against. Take it while no note exists yet."""
    rows = conn.execute(sa.text(
        "SELECT id, client_id, auth_group_id, start_date, end_date, unmanaged, allotted_units, "
        "remaining_units, pending_units FROM authorizations ORDER BY id")).mappings().all()
    return {r["id"]: {k: (str(v) if isinstance(v, dt.date) else v) for k, v in r.items()}
            for r in rows}


def check_invariants(conn, baseline: dict[int, dict] | None = None) -> list[Violation]:
    """Every unit invariant of DOMAIN.md rule 1 (with rules 3 and 4) over the whole database,
    in SQL, on PostgreSQL or SQLite. ``conn``: a SQLAlchemy Connection or Session.
    ``baseline``: take_baseline() from before the notes were written (it makes
    ``used_is_released`` exact and enables ``siblings_agree``). Returns the violations; [] is
    a consistent database. The notes' claims (note_claims) are the record of what each note
    took: the checks of siblings assume no auth changed group or dates since."""
    out: list[Violation] = []

    def add(name: str, rows, fmt) -> None:
        out.extend(Violation(name, fmt(r)) for r in rows)

    def run(name: str):
        return conn.execute(sa.text(QUERIES[name])).all()

    add("pending_not_negative", run("pending_not_negative"),
        lambda r: f"auth {r[0]}: pending {r[1]}")
    add("remaining_within_allotted", run("remaining_within_allotted"),
        lambda r: f"auth {r[0]}: remaining {r[1]} > allotted {r[2]}")
    add("not_overspent", run("not_overspent"),
        lambda r: f"auth {r[0]}: remaining {r[1]}, pending {r[2]}, no recorded override")
    add("overdrawn_only_by_override", run("overdrawn_only_by_override"),
        lambda r: f"auth {r[0]}: overdrawn (remaining {r[1]}, pending {r[2]}) without an "
                  "override on any note")
    add("unmanaged_never_decremented", run("unmanaged_never_decremented"),
        lambda r: f"auth {r[0]}: unmanaged, pending {r[1]}, {r[2]} claims")
    add("pending_is_drafts", run("pending_is_drafts"),
        lambda r: f"auth {r[0]}: pending {r[1]}, draft notes claim {r[2]}")

    now = {r[0]: r[1:] for r in conn.execute(sa.text(
        f"SELECT a.id, a.unmanaged, a.remaining_units, a.pending_units, a.allotted_units, "
        f"{_CLAIMED.format(status='released')} FROM authorizations a ORDER BY a.id")).all()}
    for auth_id, (unmanaged, remaining, pending, allotted, released) in now.items():
        before = (baseline or {}).get(auth_id)
        if unmanaged:
            if before is not None and remaining != before["remaining_units"]:
                out.append(Violation("unmanaged_never_decremented",
                                     f"auth {auth_id}: remaining {before['remaining_units']} → "
                                     f"{remaining}"))
            continue
        if before is not None:
            used = before["remaining_units"] - remaining
            if used != released:
                out.append(Violation("used_is_released",
                                     f"auth {auth_id}: remaining went down by {used}, released "
                                     f"notes claim {released}"))
        elif allotted - remaining < released:
            out.append(Violation("used_is_released",
                                 f"auth {auth_id}: used {allotted - remaining} < released "
                                 f"notes' {released}"))

    add("claims_on_every_sibling", run("claims_on_every_sibling"),
        lambda r: f"note {r[0]}: no claim on its sibling auth {r[1]}")
    add("claims_only_on_siblings", run("claims_only_on_siblings"),
        lambda r: f"note {r[0]} ({r[3]} units): claim of {r[2]} on auth {r[1]}")

    if baseline:
        cohorts: dict[tuple, list[int]] = {}
        for auth_id, b in baseline.items():
            if b["auth_group_id"] is None or b["unmanaged"] or auth_id not in now:
                continue
            key = (b["client_id"], b["auth_group_id"], b["start_date"], b["end_date"],
                   b["allotted_units"], b["remaining_units"], b["pending_units"])
            cohorts.setdefault(key, []).append(auth_id)
        for ids in cohorts.values():
            states = {(now[i][1], now[i][2]) for i in ids}
            if len(states) > 1:
                shown = ", ".join(f"auth {i}: remaining {now[i][1]} pending {now[i][2]}"
                                  for i in ids)
                out.append(Violation("siblings_agree", shown))

    add("released_notes_stamped", run("released_notes_stamped"),
        lambda r: f"note {r[0]}: released_at {r[1]}, released_by {r[2]}")
    return out


def overspent_count(conn) -> int:
    """Managed auths past their units with no recorded override (the headline figure)."""
    return len({int(r[0]) for r in conn.execute(sa.text(QUERIES["not_overspent"])).all()})


# --- the scratch database and its pool --------------------------------------------------------

def build_pool(url: str, users: int, seed: int = 8) -> dict:
    """Migrate, seed the reference data and write the shared pool through the rules (auth
    numbers, audit). Returns what the clients need (ids) and the baseline."""
    from flask_migrate import upgrade
    from werkzeug.security import generate_password_hash

    from app import create_app
    from extensions import db
    from models import (AuthGroup, BillingCode, Client, ClientPayer, InsuranceCompany, Profile,
                        Provider, User)
    from rules import Actor
    from rules.audit import acting_as
    from rules.authorizations import create_authorization
    from rules.clock import clinic_today
    from seeds import seed_reference

    rng = random.Random(seed)
    app = create_app({"TESTING": True, "SECRET_KEY": "bench", "SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
        system = Actor.system()
        with acting_as(db.session, system):
            seed_reference(db.session)
            s = db.session
            today = clinic_today()
            codes = {c.code: c.id for c in s.scalars(sa.select(BillingCode))}
            group = s.scalar(sa.select(AuthGroup).where(AuthGroup.name == "Auth Group 1"))
            payer = InsuranceCompany(name="Bench Health Plan")
            provider = Provider(first_name="Dana", last_name="Bench")
            s.add_all([payer, provider])
            s.flush()
            start, end = today - dt.timedelta(days=30), today + dt.timedelta(days=60)
            pool = []
            for i in range(CLIENTS):
                client = Client(first_name="Alex", last_name=f"Client{i:02d}",
                                dob=dt.date(1980, 1, 1) + dt.timedelta(days=97 * i))
                client.payers = [ClientPayer(insurance_company_id=payer.id, is_primary=True)]
                s.add(client)
                s.flush()
                # A quarter of the clients are nearly used up: notes on them get refused.
                scarce = i % 4 == 0
                allotted = 24 if scarce else 2000
                left = rng.randint(3, 8) if scarce else allotted
                base = {"start_date": start, "end_date": end, "allotted_units": allotted,
                        "remaining_units": left}
                auths = [create_authorization(s, system, client.id, {
                    **base, "billing_code_id": codes[c], "auth_group_id": group.id},
                    today=today) for c in GROUPED_CODES]
                auths.append(create_authorization(s, system, client.id, {
                    **base, "billing_code_id": codes[SINGLE_CODE],
                    "allotted_units": allotted // 2, "remaining_units": max(left // 2, 1)},
                    today=today))
                auths.append(create_authorization(s, system, client.id, {
                    **base, "billing_code_id": codes[UNMANAGED_CODE], "allotted_units": 0,
                    "remaining_units": 0, "unmanaged": True}, today=today))
                pool.append({"client_id": client.id, "scarce": scarce,
                             "auth_ids": [a.id for a in auths]})
            profile = s.scalar(sa.select(Profile).where(Profile.name == "Administrator"))
            cheap = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")
            names = [f"bench{k + 1}" for k in range(users)]
            s.add_all([User(username=n, full_name=f"Bench User {n[5:]}", password_hash=cheap,
                            profile_id=profile.id) for n in names])
            s.commit()
            baseline = take_baseline(db.session.connection())
            provider_id = provider.id
        db.session.remove()
        db.engine.dispose()
    return {"pool": pool, "users": names, "provider_id": provider_id, "baseline": baseline,
            "service_dates": [(today - dt.timedelta(days=d)).isoformat() for d in range(0, 14)]}


# --- gunicorn ------------------------------------------------------------------------------------

# --- the clients ------------------------------------------------------------------------------

def _send_secure_cookies_over_http() -> None:
    """In a client process only: send the app's Secure cookies over plain HTTP to 127.0.0.1,
    as a TLS proxy in front of the app would. (requests copies the session's cookies into a
    fresh jar for every request, so the policy is changed on the class, in this process.)"""
    http.cookiejar.DefaultCookiePolicy.return_ok_secure = lambda self, cookie, request: True


def client_run(args) -> dict:
    """One member of staff: log in, then create and release notes until the deadline."""
    import requests

    (index, base, username, pool, provider_id, dates, start_at, seconds) = args
    rng = random.Random(1000 + index)
    _send_secure_cookies_over_http()
    web = requests.Session()
    out = {"released": 0, "refused": 0, "errors": [], "cycle_ms": [], "create_ms": [],
           "release_ms": [], "refused_ms": [], "requests": 0, "created_unreleased": 0,
           "status_5xx": 0}
    try:
        token = login(web, base, username, PASSWORD)
    except Exception as exc:  # reported as an error
        out["errors"].append(f"login: {exc!r}")
        return out
    time.sleep(max(0.0, start_at - time.time()))
    end_at = start_at + seconds

    def error(what: str, response=None, exc=None):
        if response is not None and response.status_code >= 500:
            out["status_5xx"] += 1
        detail = (f"{response.status_code} {flashes(response.text)[:200]}"
                  if response is not None else repr(exc))
        out["errors"].append(f"{what}: {detail}")

    while time.time() < end_at:
        entry = rng.choice(pool)
        auth_id = rng.choice(entry["auth_ids"])
        units = rng.choice((1, 1, 1, 2, 3))
        data = {"csrf_token": token, "client_id": entry["client_id"],
                "provider_id": provider_id, "service_date": rng.choice(dates),
                "authorization_id": auth_id, "units": units, "comment": f"bench {index}"}
        t0 = time.perf_counter()
        try:
            created = web.post(base + NOTES + "/new/", data=data, allow_redirects=False,
                                timeout=60)
        except requests.RequestException as exc:
            error("create", exc=exc)
            continue
        out["requests"] += 1
        t1 = time.perf_counter()
        if created.status_code == 409 and REFUSAL.search(flashes(created.text)):
            out["refused"] += 1
            out["refused_ms"].append((t1 - t0) * 1000)
            continue
        match = re.search(r"/console/notes/details/\?id=(\d+)", created.headers.get("Location",
                                                                                     ""))
        if created.status_code != 302 or not match:
            error("create", created)
            continue
        out["create_ms"].append((t1 - t0) * 1000)
        note_id = match.group(1)
        try:
            # The release redirects to the note's page, which shows both messages.
            released = web.post(base + NOTES + "/release/",
                                 data={"csrf_token": token, "id": note_id}, timeout=60)
        except requests.RequestException as exc:
            out["created_unreleased"] += 1
            error("release", exc=exc)
            continue
        out["requests"] += 1 + len(released.history)
        t2 = time.perf_counter()
        if released.status_code != 200 or f"Note N-{note_id} released" not in \
                flashes(released.text):
            out["created_unreleased"] += 1
            error("release", released)
            continue
        out["released"] += 1
        out["release_ms"].append((t2 - t1) * 1000)
        out["cycle_ms"].append((t2 - t0) * 1000)
    return out


# --- the report ---------------------------------------------------------------------------------

def _pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def machine(conn) -> dict:
    return {"cores": os.cpu_count(), "python": platform.python_version(),
            "platform": platform.platform(),
            "postgresql": conn.execute(sa.text("SHOW server_version")).scalar()}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers")
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    os.chdir(ROOT)

    with scratch_postgresql("authdesk_conc_") as url:
        t = time.perf_counter()
        built = build_pool(url, args.clients)
        print(f"pool: {CLIENTS} clients, {len(built['baseline'])} auths, "
              f"{sum(e['scarce'] for e in built['pool'])} clients nearly used up; "
              f"built in {time.perf_counter() - t:.1f} s")
        log_path = Path(tempfile.gettempdir()) / f"authdesk-conc-gunicorn-{os.getpid()}.log"
        with gunicorn(url, log_path, workers=args.workers,
                      env={"AUTHDESK_INSTANCE": tempfile.mkdtemp(prefix="authdesk-conc-")}
                      ) as (base, pid):
            print(f"gunicorn pid {pid}, {args.workers} workers, {base}; {args.clients} clients "
                  f"for {args.seconds:g} s …")
            start_at = time.time() + 2.0 + 0.3 * args.clients
            jobs = [(i, base, built["users"][i], built["pool"], built["provider_id"],
                     built["service_dates"], start_at, args.seconds)
                    for i in range(args.clients)]
            with mp.get_context("fork").Pool(args.clients) as workers:
                results = workers.map(client_run, jobs)
            wall = time.time() - start_at
        gunicorn_log = log_path.read_text(errors="replace")
        log_path.unlink(missing_ok=True)

        engine = sa.create_engine(url)
        try:
            with engine.connect() as conn:
                violations = check_invariants(conn, built["baseline"])
                overspent = overspent_count(conn)
                counts = dict(conn.execute(sa.text(
                    "SELECT status, COUNT(*) FROM notes GROUP BY status")).all())
                box = machine(conn)
        finally:
            engine.dispose()

    released = sum(r["released"] for r in results)
    refused = sum(r["refused"] for r in results)
    errors = [e for r in results for e in r["errors"]]
    status_5xx = sum(r["status_5xx"] for r in results)
    unreleased = sum(r["created_unreleased"] for r in results)
    cycle = [x for r in results for x in r["cycle_ms"]]
    create = [x for r in results for x in r["create_ms"]]
    release = [x for r in results for x in r["release_ms"]]
    refused_ms = [x for r in results for x in r["refused_ms"]]
    requests_total = sum(r["requests"] for r in results)
    # What the clients saw must be what the database holds.
    if counts.get("released", 0) != released:
        violations.append(Violation("clients_agree_with_database",
                                    f"clients released {released} notes, the database holds "
                                    f"{counts.get('released', 0)}"))
    if counts.get("draft", 0) != unreleased:
        violations.append(Violation("clients_agree_with_database",
                                    f"{unreleased} notes created and not released, the "
                                    f"database holds {counts.get('draft', 0)} drafts"))

    def ms(values):
        return {"median": _pct(values, 0.5), "p95": _pct(values, 0.95), "n": len(values)}

    figures = {
        "seconds": round(wall, 2), "clients": args.clients, "gunicorn_workers": args.workers,
        "notes_per_second": round(released / wall, 1) if wall > 0 else 0.0,
        "notes_released": released, "refusals": refused, "errors": len(errors),
        "status_5xx": status_5xx, "requests": requests_total,
        "requests_per_second": round(requests_total / wall, 1) if wall > 0 else 0.0,
        "latency_ms": {"create_and_release": ms(cycle), "create": ms(create),
                       "release_and_page": ms(release), "refusal": ms(refused_ms)},
        "database_notes": counts,
        "overspent_auths": overspent,
        "invariants": {name: sum(v.invariant == name for v in violations) for name in
                       [*INVARIANTS, "clients_agree_with_database"]},
        "violations": [asdict(v) for v in violations[:200]],
        "machine": box,
    }
    fmt = lambda v: "—" if v is None else f"{v:.1f}"  # noqa: E731
    print()
    print(f"{'notes/s (created + released)':<34} {figures['notes_per_second']:>10}")
    print(f"{'notes released':<34} {released:>10}")
    print(f"{'refusals (not enough units)':<34} {refused:>10}")
    print(f"{'errors':<34} {len(errors):>10}   (5xx: {status_5xx})")
    print(f"{'requests/s':<34} {figures['requests_per_second']:>10}")
    print(f"{'latency (ms)':<34} {'median':>10} {'p95':>8} {'n':>7}")
    for label, values in (("  create + release (3 requests)", cycle), ("  create", create),
                          ("  release + its page", release), ("  refusal", refused_ms)):
        m = ms(values)
        print(f"{label:<34} {fmt(m['median']):>10} {fmt(m['p95']):>8} {m['n']:>7}")
    print(f"{'notes in the database':<34} "
          + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    print("invariants:")
    for name, n in figures["invariants"].items():
        what = INVARIANTS.get(name, "what the clients counted = what the database holds")
        print(f"  {'ok  ' if n == 0 else 'FAIL'} {name:<30} {n:>4}  {what}")
    print(f"overspent auths: {overspent}")
    print(f"machine: {box['cores']} cores, Python {box['python']}, PostgreSQL "
          f"{box['postgresql']}")
    for v in violations[:20]:
        print(f"  violation {v.invariant}: {v.detail}")
    for e in errors[:20]:
        print(f"  error {e}")
    if status_5xx:
        print("gunicorn log (tail):\n" + "\n".join(gunicorn_log.splitlines()[-40:]))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2, default=str) + "\n")
        print(f"figures written to {args.json}")
    failed = bool(violations) or bool(errors) or overspent > 0
    if refused == 0:
        print("FAIL: no note was refused; the pool never ran short, so the check proved little")
        failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
