"""The raw-SQL floor of a request: the statements it sent (captured by ``bench/server.py`` or
by :func:`capturing`) replayed with the database driver alone — sqlite3 or psycopg, no
SQLAlchemy, no Flask, no templates — so that ``request time / floor`` says how much the app
adds on top of the database work it cannot avoid.

A replay of a write runs inside a transaction that is rolled back, so the database is the same
after it (and the floor leaves out the COMMIT, which the request pays)."""
from __future__ import annotations

import contextlib
import re
import statistics
import time
import uuid
from pathlib import Path

from sqlalchemy import event

_TRANSACTION_WORDS = ("BEGIN", "COMMIT", "ROLLBACK")
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def fresh_uuids(statements):
    """The statements with every UUID parameter (a bulk batch id, a request id) replaced by a
    new one, the same wherever it repeats: a replayed write can insert its batch again."""
    new: dict[str, str] = {}

    def swap(value):
        if isinstance(value, str) and len(value) == 36 and _UUID.fullmatch(value):
            return new.setdefault(value, str(uuid.uuid4()))
        return value

    def params_of(params, many):
        if many:
            return [params_of(p, False) for p in params]
        if isinstance(params, dict):
            return {k: swap(v) for k, v in params.items()}
        if isinstance(params, (tuple, list)):
            return type(params)(swap(v) for v in params)
        return params
    return [(sql, params_of(params, many), many) for sql, params, many in statements]


class Replayer:
    """A driver connection to the bench database that replays captured statements."""

    def __init__(self, kind: str, target: str):
        self.kind = kind
        if kind == "sqlite":
            import sqlite3

            self.conn = sqlite3.connect(target, isolation_level=None, timeout=30)
            self.conn.execute("PRAGMA foreign_keys = ON")
        else:
            import psycopg

            self.conn = psycopg.connect(target)

    def close(self) -> None:
        self.conn.close()

    def run(self, statements, *, write: bool, prelude=()) -> float:
        """Seconds to execute ``statements`` and fetch every row; a write is rolled back.
        ``prelude`` (statements, not timed) runs first in the same transaction, e.g. to take
        back what the captured request did so that its inserts can be replayed."""
        conn = self.conn
        if write:
            statements = fresh_uuids(statements)
        if self.kind == "sqlite":
            cur = conn.cursor()
            if write:
                cur.execute("BEGIN")
            for sql, params in prelude:
                cur.execute(sql, params)
            started = time.perf_counter()
            for sql, params, many in statements:
                if sql.lstrip().upper().startswith(_TRANSACTION_WORDS):
                    continue  # BEGIN IMMEDIATE of the app: the replay holds its own transaction
                if many:
                    cur.executemany(sql, params)
                else:
                    cur.execute(sql, params or ())
                    cur.fetchall()
            elapsed = time.perf_counter() - started
            if write:
                cur.execute("ROLLBACK")
            return elapsed
        with conn.cursor() as cur:
            for sql, params in prelude:
                cur.execute(sql, params)
            started = time.perf_counter()
            for sql, params, many in statements:
                if many:
                    cur.executemany(sql, params)
                else:
                    cur.execute(sql, params or None)
                    if cur.description is not None:
                        cur.fetchall()
            elapsed = time.perf_counter() - started
        conn.rollback()
        return elapsed

    def median_ms(self, statements, *, write: bool, runs: int, prelude=()) -> float:
        self.run(statements, write=write, prelude=prelude)  # warm
        return statistics.median(self.run(statements, write=write, prelude=prelude)
                                 for _ in range(runs)) * 1000

    def plans(self, statements) -> list[dict]:
        """The query plan of every SELECT (EXPLAIN QUERY PLAN / EXPLAIN)."""
        found = []
        for sql, params, many in statements:
            if many or not sql.lstrip().upper().startswith(("SELECT", "WITH")):
                continue
            if self.kind == "sqlite":
                rows = self.conn.execute("EXPLAIN QUERY PLAN " + sql, params or ()).fetchall()
                plan = [row[-1] for row in rows]
            else:
                with self.conn.cursor() as cur:
                    cur.execute("EXPLAIN " + sql, params or None)
                    plan = [row[0] for row in cur.fetchall()]
                self.conn.rollback()
            found.append({"sql": " ".join(sql.split())[:300], "plan": plan})
        return found


def load(capture_dir: Path) -> list:
    import pickle

    with open(capture_dir / "last.pickle", "rb") as handle:
        return pickle.load(handle)


@contextlib.contextmanager
def capturing(engine):
    """Record the statements sent through ``engine`` inside the block (in-process work such
    as the daily refresh-status job)."""
    statements: list = []

    def record(conn, cursor, statement, parameters, context, executemany):
        statements.append((statement, parameters, executemany))
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)
