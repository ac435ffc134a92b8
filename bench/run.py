"""Every benchmark of issue 8, against a running server, on SQLite and on PostgreSQL:

    .venv/bin/python -m bench.run                 # both databases, 200,000 auths (≈ 15 min)
    .venv/bin/python -m bench.run --db sqlite --scale 0.1 --runs 5     # a quick look

For each database: a scratch database (a file under /tmp; a database created on AUTHDESK_TEST_PG
and dropped afterwards), migrated, filled by ``bench.generate`` (timed), the daily job run once
(alerts open), then gunicorn (one sync worker: one request at a time, so a figure is the latency
of one request) serving ``bench.server`` on a free port of 127.0.0.1. The bench logs in through
the login form like a user and sends the CSRF token with every post.

Each scenario is repeated ``--runs`` times (the writes that move thousands of rows fewer times)
after a warm-up, and reported as the median wall time of the HTTP request(s) seen by the client,
beside the raw-SQL floor (``bench/floor.py``: the statements one such request sent, replayed with
the driver) and their ratio, and the number of SQL statements the request sent. Results go to a
table on stdout and to ``--json`` (default ``bench/results.json``). ``--concurrency`` adds the
8-client run of ``bench.concurrency`` (gunicorn with 4 workers on PostgreSQL, 30 s, then every
rule-1 invariant checked over the whole database)."""
from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import platform
import re
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from urllib.parse import urlencode

import requests
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.common import (driver_url, flashes, gunicorn, login,  # noqa: E402
                          scratch_postgresql)
from bench.floor import Replayer, capturing, load  # noqa: E402
from bench.generate import analyze, build  # noqa: E402

PASSWORD = "bench-password-2026"

#: Targets of issue 8 (SQLite, 200,000 auths), in ms.
TARGETS = {"list_page1": 12, "list_filtered": 25, "list_filtered_search": 20, "list_page200": 15,
           "note_create_release": 20, "update_codes_listed": 200}


@dataclass
class Figure:
    key: str
    label: str
    median_ms: float
    floor_ms: float | None
    statements: int | None
    runs: int
    detail: str = ""
    target_ms: float | None = None
    samples_ms: list[float] = field(default_factory=list)

    @property
    def ratio(self) -> float | None:
        return self.median_ms / self.floor_ms if self.floor_ms else None


# -- the database and the server ---------------------------------------------------------------

@contextlib.contextmanager
def scratch_database(kind: str, workdir: Path):
    """(SQLAlchemy URL, driver target) of an empty database, removed afterwards."""
    if kind == "sqlite":
        path = workdir / "practice.sqlite"
        yield f"sqlite:///{path}", str(path)
        return
    with scratch_postgresql("authdesk_bench_") as url:
        yield url, driver_url(url)


class User:
    """A logged-in browser: cookies, the CSRF token, timing of its requests."""

    def __init__(self, base: str, username: str):
        self.base, self.http = base, requests.Session()
        self.token = login(self.http, base, username, PASSWORD)

    def get(self, path: str, *, capture: bool = False, expect: int = 200):
        response = self.http.get(self.base + path, allow_redirects=False,
                                 headers={"X-Bench-Capture": "1"} if capture else None)
        if response.status_code != expect:
            raise RuntimeError(f"GET {path}: {response.status_code}, expected {expect}")
        return response

    def post(self, path: str, data: dict, *, capture: bool = False, expect: int = 302):
        response = self.http.post(self.base + path, data={**data, "csrf_token": self.token},
                                  allow_redirects=False,
                                  headers={"X-Bench-Capture": "1"} if capture else None)
        if response.status_code != expect:
            raise RuntimeError(f"POST {path}: {response.status_code}, expected {expect}\n"
                               + flashes(response.text))
        return response


def timed(fn) -> float:
    started = time.perf_counter()
    fn()
    return (time.perf_counter() - started) * 1000


# -- the scenarios --------------------------------------------------------------------------------

class Bench:
    def __init__(self, kind, base, workdir, replayer, engine, practice, opts):
        self.kind, self.base, self.workdir = kind, base, workdir
        self.replayer, self.engine, self.p, self.opts = replayer, engine, practice, opts
        self.figures: list[Figure] = []
        self.plans: dict[str, list] = {}
        self.support = User(base, "bench-support")
        self.admin = User(base, "bench-admin")

    def sql(self, query: str, **params):
        with self.engine.connect() as conn:
            return conn.execute(sa.text(query), params).all()

    def add(self, key, label, samples, statements, floor_ms, detail=""):
        figure = Figure(key, label, round(statistics.median(samples), 2),
                        round(floor_ms, 2) if floor_ms is not None else None,
                        statements, len(samples), detail, TARGETS.get(key),
                        [round(s, 2) for s in samples])
        self.figures.append(figure)
        ratio = f"{figure.ratio:5.1f}×" if figure.ratio else "    –"
        print(f"  {label:<52} {figure.median_ms:9.1f} ms  floor {figure.floor_ms or 0:8.1f} ms "
              f"{ratio}  {statements if statements is not None else '–':>5} stmts  {detail}",
              flush=True)

    def read(self, key, label, user, path, *, plans=False, detail=""):
        user.get(path)  # warm
        samples = [timed(lambda: user.get(path)) for _ in range(self.opts.runs)]
        response = user.get(path, capture=True)
        statements = load(self.workdir)
        if plans:
            self.plans[key] = self.replayer.plans(statements)
        if not detail and "/authorizations/" in path:
            match = re.search(r"List \(([\d,+]+)\)", response.text)
            detail = f"{match.group(1)} matches" if match else ""
        self.add(key, label, samples, int(response.headers["X-Bench-Statements"]),
                 self.replayer.median_ms(statements, write=False, runs=self.opts.runs), detail)

    # Reads ---------------------------------------------------------------------------------
    def lists(self):
        division, code = self.p.divisions[0], self.p.codes["90834"]
        filtered = urlencode({"division": division, "code": code})
        lst = "/console/authorizations/"
        self.read("list_page1", "Master list, page 1", self.support, lst, plans=True)
        self.read("list_page1_100", "Master list, page 1 of 100 rows", self.support,
                  lst + "?page_size=100")
        self.read("list_filtered", "Filtered: division + billing code", self.support,
                  f"{lst}?{filtered}", plans=True)
        self.read("list_filtered_search", "Filtered + client last-name search", self.support,
                  f"{lst}?{filtered}&search=smith", plans=True)
        self.read("list_page200", "Master list, page 200", self.support, f"{lst}?page=199",
                  plans=True)

    def chart(self):
        client = self.sql("SELECT client_id FROM notes GROUP BY client_id "
                          "ORDER BY count(*) DESC, client_id LIMIT 1")[0][0]
        auths, notes = self.sql(
            "SELECT (SELECT count(*) FROM authorizations WHERE client_id = :c), "
            "(SELECT count(*) FROM notes WHERE client_id = :c)", c=client)[0]
        self.read("client_chart", "Client chart", self.support, f"/console/clients/chart/{client}/",
                  detail=f"{auths} auths, {notes} notes")

    def dashboard(self):
        self.read("dashboard", "Dashboard (support login, alerts)", self.support, "/console/")

    # Writes --------------------------------------------------------------------------------
    def notes(self):
        today = self.p.today
        candidates = self.sql(
            "SELECT a.id, a.client_id FROM authorizations a "
            "WHERE a.auth_group_id IS NOT NULL AND NOT a.unmanaged AND a.is_default "
            "AND a.start_date <= :d AND a.end_date >= :d AND a.specific_provider_id IS NULL "
            "AND a.remaining_units - a.pending_units >= 2 ORDER BY a.id LIMIT :n",
            d=today, n=self.opts.runs + 4)
        if len(candidates) < self.opts.runs + 4:
            raise RuntimeError("not enough usable auths for the note benchmark")
        provider = self.p.providers[0]

        def create(auth, client, capture=False):
            response = self.admin.post("/console/notes/new/", {
                "client_id": client, "provider_id": provider, "authorization_id": auth,
                "units": 1, "service_date": today.isoformat()}, capture=capture)
            return int(re.search(r"[?&]id=(\d+)", response.headers["Location"]).group(1))

        def release(note, capture=False):
            self.admin.post("/console/notes/release/", {"id": note}, capture=capture)

        def read_messages(note):
            # The pages the two posts redirect to (untimed): they show, and so clear, the
            # flash messages the session cookie would otherwise accumulate.
            self.admin.get(f"/console/notes/details/?id={note}")

        note = create(*candidates[0])  # warm
        release(note)
        read_messages(note)
        samples = []
        for auth, client in candidates[1:self.opts.runs + 1]:
            started = time.perf_counter()
            note = create(auth, client)
            release(note)
            samples.append((time.perf_counter() - started) * 1000)
            read_messages(note)
        auth, client = candidates[-1]
        note = create(auth, client, capture=True)
        created = load(self.workdir)
        release(note, capture=True)
        released = load(self.workdir)
        read_messages(note)
        # The replay inserts the same note again: take the captured one back first (its units
        # to remaining, its row and claims away; on PostgreSQL the id sequence one step back).
        q = "?" if self.kind == "sqlite" else "%s"
        prelude = [(f"UPDATE authorizations SET remaining_units = remaining_units + c.units "
                    f"FROM note_claims c WHERE c.note_id = {q} "
                    f"AND c.authorization_id = authorizations.id", (note,)),
                   (f"DELETE FROM note_claims WHERE note_id = {q}", (note,)),
                   (f"DELETE FROM notes WHERE id = {q}", (note,))]
        if self.kind == "postgresql":
            prelude.append(("SELECT setval(pg_get_serial_sequence('notes', 'id'), %s)",
                            (note - 1,)))
        floor = self.replayer.median_ms(created + released, write=True, runs=self.opts.runs,
                                        prelude=prelude)
        self.add("note_create_release", "Note create + release (2 requests)", samples,
                 len(created) + len(released), floor,
                 f"{len(created)} + {len(released)} statements; auth group of 4 siblings")

    def _bulk_form(self, **fields):
        blank = {"billing_code_group_id": "", "allotted_units": "", "remaining_units": "",
                 "unit_alert_level": "", "exp_alert_days": "", "start_date": "", "end_date": "",
                 "unmanaged": "n.a.", "auth_group_id": "", "insurance_company_id": ""}
        return {**blank, **fields}

    def update_codes_listed(self):
        list_args = urlencode({"division": self.p.divisions[0], "code": self.p.codes["90834"]})
        url = "/console/bulk/list/authorizations/"
        runs = max(3, self.opts.heavy_runs)
        samples, confirm_samples, count = [], [], 0
        for run in range(runs + 2):  # the first run warms up; the last is captured
            form = self._bulk_form(exp_alert_days=str(10 + run % 5 + 5 * (run % 2)),
                                   list_args=list_args)
            started = time.perf_counter()
            page = self.support.post(url, {**form, "op": "update"}, expect=200)
            confirm_ms = (time.perf_counter() - started) * 1000
            count = int(re.search(r'class="bulk-count">([\d,]+)<', page.text)
                        .group(1).replace(",", ""))
            last = run == runs + 1
            started = time.perf_counter()
            done = self.support.post(url, {**form, "op": "apply_update",
                                           "expected_count": count}, capture=last)
            if 0 < run <= runs:
                samples.append((time.perf_counter() - started) * 1000)
                confirm_samples.append(confirm_ms)
            self.support.get(done.headers["Location"].replace(self.base, ""))  # its result
        statements = load(self.workdir)
        floor = self.replayer.median_ms(statements, write=True, runs=runs)
        self.add("update_codes_listed", "Update Codes Listed (apply, audit included)", samples,
                 len(statements), floor, f"{count:,} auths changed per run")
        self.figures[-1].detail += f"; its confirmation page {statistics.median(confirm_samples):.0f} ms"

    def bulk_add(self):
        group = self.p.client_groups[0]
        clients = self.sql("SELECT count(DISTINCT a.client_id) FROM authorizations a JOIN "
                           "client_client_groups g ON g.client_id = a.client_id "
                           "WHERE g.client_group_id = :g AND a.end_date >= :d",
                           g=group, d=self.p.today)[0][0]
        url = "/console/bulk/list/authorizations/"
        form = self._bulk_form(
            billing_code_group_id=str(self.p.code_group), allotted_units="20",
            start_date=self.p.today.isoformat(),
            end_date=(self.p.today + dt.timedelta(days=180)).isoformat(),
            list_args=urlencode({"client_group": group}), clients="all")
        runs = self.opts.heavy_runs
        samples = []
        for run in range(runs + 1):  # the last run is captured (and not timed)
            page = self.support.post(url, {**form, "op": "add"}, expect=200)
            hidden = dict(re.findall(
                r'name="(expected_clients|clients_digest)" value="([^"]*)"', page.text))
            last = run == runs
            started = time.perf_counter()
            done = self.support.post(url, {**form, **hidden, "op": "apply_add"}, capture=last)
            elapsed = (time.perf_counter() - started) * 1000
            if last:
                statements = load(self.workdir)
            else:
                samples.append(elapsed)
            batch = re.search(r"/console/bulk/batch/([0-9a-f-]{36})/", done.headers["Location"])
            added = self.sql("SELECT count(*) FROM audit_records WHERE batch_id = :b "
                             "AND object_type = 'authorization'", b=batch.group(1))[0][0]
            undone = self.support.post(f"/console/bulk/batch/{batch.group(1)}/undo", {})
            self.support.get(undone.headers["Location"].replace(self.base, ""))
        floor = self.replayer.median_ms(statements, write=True, runs=max(1, runs))
        self.add("bulk_add", "Bulk Add: 4 codes to the clients of a client group", samples,
                 len(statements), floor,
                 f"{hidden.get('expected_clients', clients)} clients, {added:,} auths added "
                 "per run (undone after each)")

    def refresh_status(self, app):
        from extensions import db
        from rules.status import refresh_status

        runs = max(3, self.opts.heavy_runs)
        samples, statements = [], []
        with app.app_context():
            for run in range(runs + 1):
                # The next day's job: auths ending today turn inactive, alerts open and close.
                # Rolled back, so every repetition does the same day's work.
                with capturing(db.engine) as captured:
                    started = time.perf_counter()
                    result = refresh_status(db.session, today=self.p.today + dt.timedelta(days=1))
                    db.session.flush()
                    elapsed = (time.perf_counter() - started) * 1000
                db.session.rollback()
                if run:
                    samples.append(elapsed)
                statements = captured
            db.session.remove()
        floor = self.replayer.median_ms(statements, write=True, runs=runs)
        self.add("refresh_status", "refresh-status (the daily job), in process", samples,
                 len(statements), floor,
                 f"{self.p.auths:,} auths: {result.activated} activated, {result.deactivated} "
                 f"deactivated, alerts {result.alerts_opened} opened / {result.alerts_closed} "
                 "closed (rolled back: without its COMMIT)")


# -- one database ---------------------------------------------------------------------------------

def run_database(kind: str, opts) -> dict:
    from flask_migrate import upgrade
    from werkzeug.security import generate_password_hash

    from app import create_app
    from extensions import db
    from rules.status import refresh_status

    print(f"\n== {kind} ==", flush=True)
    workdir = Path(tempfile.mkdtemp(prefix=f"authdesk-bench-{kind}-"))
    with scratch_database(kind, workdir) as (url, target):
        app = create_app({"TESTING": True, "SECRET_KEY": "bench", "SQLALCHEMY_DATABASE_URI": url,
                          "AUTHDESK_INSTANCE": str(workdir)})
        with app.app_context():
            upgrade(directory=str(ROOT / "migrations"))
            engine = db.engine
            with engine.begin() as conn:
                practice = build(conn, scale=opts.scale,
                                 password_hash=generate_password_hash(PASSWORD))
            analyze(engine)
            print(f"  generated {practice.clients:,} clients, {practice.auths:,} auths, "
                  f"{practice.notes:,} released notes in {practice.seconds:.1f} s", flush=True)
            started = time.perf_counter()
            first = refresh_status(db.session)
            db.session.commit()
            db.session.remove()
            print(f"  first refresh-status: {first.alerts_opened:,} alerts opened in "
                  f"{time.perf_counter() - started:.1f} s", flush=True)
            analyze(engine)
        replayer = Replayer(kind, target)
        try:
            with gunicorn(url, workdir / "gunicorn.log", app="bench.server:build()",
                          env={"BENCH_CAPTURE_DIR": str(workdir),
                               "AUTHDESK_INSTANCE": str(workdir)}) as (base, _pid):
                bench = Bench(kind, base, workdir, replayer, engine, practice, opts)
                bench.lists()
                bench.chart()
                bench.dashboard()
                bench.notes()
                bench.update_codes_listed()
                bench.bulk_add()
                bench.refresh_status(app)
        finally:
            replayer.close()
            with app.app_context():
                db.engine.dispose()
        version = sqlite3.sqlite_version
        if kind == "postgresql":
            probe = sa.create_engine(url)
            with probe.connect() as conn:
                version = conn.execute(sa.text("SHOW server_version")).scalar()
            probe.dispose()
        return {"version": version, "practice": practice.as_dict(),
                "figures": [{**asdict(f), "ratio": round(f.ratio, 2) if f.ratio else None}
                            for f in bench.figures],
                "plans": bench.plans}


def machine() -> dict:
    cpu = ""
    with contextlib.suppress(OSError):
        cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo")
                    if line.startswith("model name")), "")
    return {"cores": os.cpu_count(), "cpu": cpu, "python": platform.python_version(),
            "platform": platform.platform(), "load_average_at_start": os.getloadavg()}


def markdown(results: dict) -> str:
    lines = ["| scenario | " + " | ".join(
        f"{k} median | {k} floor | {k} ratio | {k} stmts" for k in results["databases"]) + " |",
        "|---|" + "---:|" * 4 * len(results["databases"])]
    keys = [f["key"] for f in next(iter(results["databases"].values()))["figures"]]
    for key in keys:
        cells, label = [], key
        for data in results["databases"].values():
            f = next((f for f in data["figures"] if f["key"] == key), None)
            if f is None:
                cells += ["–"] * 4
                continue
            label = f["label"]
            cells += [f"{f['median_ms']:.1f} ms", f"{f['floor_ms']:.1f} ms" if f["floor_ms"]
                      else "–", f"{f['ratio']:.1f}×" if f["ratio"] else "–",
                      str(f["statements"])]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Authdesk's benchmarks (issue 8).")
    parser.add_argument("--db", default="sqlite,postgresql",
                        help="comma-separated: sqlite, postgresql")
    parser.add_argument("--scale", type=float, default=1.0, help="1 = 200,000 auths")
    parser.add_argument("--runs", type=int, default=15, help="repetitions of a quick scenario")
    parser.add_argument("--heavy-runs", type=int, default=3,
                        help="repetitions of Bulk Add, Update Codes Listed and refresh-status")
    parser.add_argument("--json", default=str(ROOT / "bench" / "results.json"))
    parser.add_argument("--concurrency", action="store_true",
                        help="also run bench.concurrency (8 clients, PostgreSQL)")
    opts = parser.parse_args(argv)
    kinds = [k.strip() for k in opts.db.split(",") if k.strip()]
    if not kinds or set(kinds) - {"sqlite", "postgresql"} or opts.scale <= 0 or opts.runs < 1:
        print("Error: --db takes sqlite and/or postgresql; --scale and --runs must be positive.",
              file=sys.stderr)
        return 2
    results = {"date": dt.datetime.now().isoformat(timespec="seconds"), "machine": machine(),
               "scale": opts.scale, "runs": opts.runs, "heavy_runs": opts.heavy_runs,
               "databases": {}}
    for kind in kinds:
        results["databases"][kind] = run_database(kind, opts)
    if opts.concurrency:
        print("\n== concurrency: 8 clients, gunicorn with 4 workers, PostgreSQL, 30 s ==",
              flush=True)
        out = Path(tempfile.mkdtemp(prefix="authdesk-conc-")) / "concurrency.json"
        done = subprocess.run([sys.executable, "-m", "bench.concurrency", "--seconds", "30",
                               "--json", str(out)], cwd=ROOT)
        results["concurrency"] = {"exit_status": done.returncode,
                                  **(json.loads(out.read_text()) if out.exists() else {})}
    results["machine"]["load_average_at_end"] = os.getloadavg()
    Path(opts.json).write_text(json.dumps(results, indent=1, default=str))
    print("\n" + markdown(results))
    print(f"\nJSON: {opts.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
