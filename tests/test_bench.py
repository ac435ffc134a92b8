"""The benchmark suite's own parts (issue 8): the generator builds a practice that keeps every
rule-1 invariant and the shape the benchmarks aim at, the same rows for the same seed; the
floor's replay of a write leaves the database as it was; the capturing server counts and records
exactly the statements a request sent."""
import datetime as dt
import pickle
import re

import pytest
import sqlalchemy as sa

from bench.floor import Replayer, capturing, fresh_uuids
from bench.generate import AUTHS_PER_CLIENT, GROUP_CODES, build
from extensions import db

SCALE = 0.004  # 80 clients, 800 auths
TODAY = dt.date(2026, 6, 15)


def practice_rows(conn):
    """The practice by natural keys (codes, names), comparable across databases."""
    return {
        "auths": conn.execute(sa.text(
            "SELECT a.client_id, b.code, a.start_date, a.end_date, a.allotted_units, "
            "a.remaining_units, g.name, a.unmanaged, p.name, a.active FROM authorizations a "
            "JOIN billing_codes b ON b.id = a.billing_code_id "
            "LEFT JOIN auth_groups g ON g.id = a.auth_group_id "
            "LEFT JOIN insurance_companies p ON p.id = a.insurance_company_id "
            "ORDER BY a.id")).all(),
        "notes": conn.execute(sa.text(
            "SELECT client_id, authorization_id, service_date, units FROM notes "
            "ORDER BY id")).all(),
        "clients": conn.execute(sa.text(
            "SELECT c.first_name, c.last_name, c.dob, d.name FROM clients c "
            "LEFT JOIN divisions d ON d.id = c.division_id ORDER BY c.id")).all(),
    }


@pytest.fixture
def built(app):
    with app.app_context():
        with db.engine.begin() as conn:
            practice = build(conn, scale=SCALE, seed=7, today=TODAY, password_hash="x")
        yield practice


def test_the_practice_has_the_promised_shape(app, built):
    assert (built.clients, built.auths) == (80, 80 * AUTHS_PER_CLIENT)
    with app.app_context(), db.engine.connect() as conn:
        one = lambda q, **p: conn.execute(sa.text(q), p).scalar()  # noqa: E731
        assert one("SELECT count(*) FROM authorizations") == built.auths
        assert one("SELECT count(DISTINCT client_id) FROM authorizations") == 80
        share = one("SELECT count(*) FROM authorizations a JOIN billing_codes b "
                    "ON b.id = a.billing_code_id WHERE b.code = '90834'") / built.auths
        assert 0.15 < share < 0.35
        assert len(built.divisions) == 5 and len(built.client_groups) == 6
        assert len(built.payers) == 8 and len(built.providers) == 50
        assert one("SELECT count(*) FROM users WHERE username LIKE 'bench-%'") == 3
        # Every client's four group codes share one allotment in Auth Group 1.
        groups = conn.execute(sa.text(
            "SELECT a.client_id, count(*), count(DISTINCT a.allotted_units), "
            "count(DISTINCT a.remaining_units) FROM authorizations a "
            "WHERE a.auth_group_id = :g GROUP BY a.client_id, a.start_date"),
            {"g": built.auth_groups[0]}).all()
        assert len(groups) == 80 and {g[1:] for g in groups} == {(len(GROUP_CODES), 1, 1)}
        # Generated auth numbers: the counter is past the last one.
        last = one("SELECT max(id) FROM authorizations")
        assert one("SELECT value FROM counters WHERE name = 'auth_number'") >= last


def test_the_practice_keeps_every_unit_invariant(app, built):
    with app.app_context(), db.engine.connect() as conn:
        rows = conn.execute(sa.text(
            "SELECT a.id, a.allotted_units, a.remaining_units, a.pending_units, a.unmanaged, "
            "a.active, a.start_date, a.end_date, "
            "(SELECT coalesce(sum(c.units), 0) FROM note_claims c JOIN notes n "
            " ON n.id = c.note_id WHERE c.authorization_id = a.id AND n.status = 'released') "
            "FROM authorizations a")).all()
    assert rows
    used_somewhere = 0
    for _id, allotted, remaining, pending, unmanaged, active, start, end, used in rows:
        assert 0 <= pending <= remaining <= allotted
        if unmanaged:
            assert used == 0
        else:
            assert used == allotted - remaining      # every used unit has its released note
        used_somewhere += used
        start = start if isinstance(start, dt.date) else dt.date.fromisoformat(start)
        end = end if isinstance(end, dt.date) else dt.date.fromisoformat(end)
        assert bool(active) == (start <= TODAY <= end and (bool(unmanaged) or remaining > 0))
    assert used_somewhere > 0


def test_the_same_seed_gives_the_same_practice(tmp_path, app, built):
    """A second database built with the same seed holds the same rows."""
    from flask_migrate import upgrade

    from app import create_app

    other = create_app({"TESTING": True, "SECRET_KEY": "t", "AUTHDESK_INSTANCE": str(tmp_path),
                        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'other.sqlite'}"})
    with other.app_context():
        upgrade(directory="migrations")
        with db.engine.begin() as conn:
            build(conn, scale=SCALE, seed=7, today=TODAY)
        with db.engine.connect() as conn:
            theirs = practice_rows(conn)
        db.engine.dispose()
    with app.app_context(), db.engine.connect() as conn:
        ours = practice_rows(conn)
    normalize = lambda rows: [tuple(str(int(v) if isinstance(v, bool) else v) for v in r)  # noqa: E731
                              for r in rows]
    for table in ours:
        assert normalize(ours[table]) == normalize(theirs[table]), table


def _driver_target(app) -> tuple[str, str]:
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    if url.startswith("sqlite:///"):
        return "sqlite", url[len("sqlite:///"):]
    return "postgresql", "postgresql://" + url.split("://", 1)[1]


def test_a_replayed_write_is_timed_and_leaves_the_database_as_it_was(app, built):
    kind, target = _driver_target(app)
    with app.app_context():
        with db.engine.connect() as conn:
            client = conn.execute(sa.text("SELECT min(client_id) FROM authorizations")).scalar()
        with capturing(db.engine) as statements:
            with db.engine.begin() as conn:
                conn.execute(sa.text("UPDATE authorizations SET exp_alert_days = 99 "
                                     "WHERE client_id = :c"), {"c": client})
                conn.execute(sa.text("SELECT count(*) FROM authorizations"))
            with db.engine.begin() as conn:  # undo it, so the replay finds the original rows
                conn.execute(sa.text("UPDATE authorizations SET exp_alert_days = 1 "
                                     "WHERE exp_alert_days = 99"))
        assert "exp_alert_days = 99" in statements[0][0]
        with db.engine.connect() as conn:
            before = practice_rows(conn)
    replayer = Replayer(kind, target)
    try:
        seconds = replayer.run(statements[:2], write=True)
        assert seconds > 0
        assert replayer.median_ms(statements[:2], write=True, runs=3) > 0
        assert [p["plan"] for p in replayer.plans(statements)]
    finally:
        replayer.close()
    with app.app_context(), db.engine.connect() as conn:
        assert practice_rows(conn) == before
        assert conn.execute(sa.text("SELECT count(*) FROM authorizations "
                                    "WHERE exp_alert_days = 99")).scalar() == 0


def test_fresh_uuids_replace_each_uuid_consistently():
    batch = "0b5e2a4c-1111-4222-8333-944445555666"
    statements = [("INSERT b", (batch, 1), False),
                  ("INSERT r", [{"batch_id": batch, "n": 2}, {"batch_id": batch, "n": 3}], True)]
    first, second = fresh_uuids(statements), fresh_uuids(statements)
    new = first[0][1][0]
    assert new != batch and re.fullmatch(r"[0-9a-f-]{36}", new)
    assert [p["batch_id"] for p in first[1][1]] == [new, new]
    assert first[0][1][1] == 1 and first[1][1][1]["n"] == 3
    assert second[0][1][0] not in (new, batch)


def test_the_bench_server_counts_and_records_a_requests_statements(app_config, tmp_path,
                                                                   monkeypatch):
    monkeypatch.setenv("BENCH_CAPTURE_DIR", str(tmp_path))
    from bench import server

    app = server.build(app_config)
    http = app.test_client()
    plain = http.get("/login")
    assert plain.status_code == 200 and "X-Bench-Statements" not in plain.headers
    assert not (tmp_path / "last.pickle").exists()
    with app.app_context():
        from werkzeug.security import generate_password_hash

        from models import Profile, User
        from rules import Actor
        from rules.audit import acting_as

        with acting_as(db.session, Actor.system()):
            profile = db.session.scalar(sa.select(Profile).where(Profile.name == "Billing"))
            db.session.add(User(username="counted", full_name="C", profile=profile,
                                password_hash=generate_password_hash("a-long-password-1",
                                                                     method="pbkdf2:sha256:1")))
            db.session.commit()
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', plain.get_data(as_text=True))
    http.post("/login", data={"username": "counted", "password": "a-long-password-1",
                              "csrf_token": token.group(1) if token else ""})
    page = http.get("/console/authorizations/", headers={"X-Bench-Capture": "1"})
    assert page.status_code == 200
    recorded = pickle.loads((tmp_path / "last.pickle").read_bytes())
    assert int(page.headers["X-Bench-Statements"]) == len(recorded) >= 3
    assert any("FROM authorizations" in sql for sql, _params, _many in recorded)
