"""The app as the benchmark serves it under gunicorn.

Run as ``gunicorn 'bench.server:build()'``. It is the production app (``create_app()`` from the
environment: CSRF on, real password hashes, no TESTING) with two differences for a run on 127.0.0.1 without TLS: the session cookie is not
marked Secure (the bench's HTTP client would not send it back over plain HTTP), and a request
carrying ``X-Bench-Capture: 1`` has every SQL statement it sent to the database (text,
parameters, executemany) recorded with pickle in ``$BENCH_CAPTURE_DIR/last.pickle`` and counted in
the ``X-Bench-Statements`` response header. The bench sends that header only on an extra,
untimed request, so the timed requests pay nothing for it; it replays the file with the
database driver to measure the raw-SQL floor (``bench/floor.py``).
"""
from __future__ import annotations

import os
import pickle
import threading
from pathlib import Path

from sqlalchemy import event

from app import create_app
from extensions import db

_local = threading.local()


def _record(conn, cursor, statement, parameters, context, executemany):
    statements = getattr(_local, "statements", None)
    if statements is not None:
        statements.append((statement, parameters, executemany))


def build(config: dict | None = None):
    app = create_app({"SESSION_COOKIE_SECURE": False, "REMEMBER_COOKIE_SECURE": False,
                      **(config or {})})
    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", _record)
    capture_dir = Path(os.environ.get("BENCH_CAPTURE_DIR", "/tmp"))
    inner = app.wsgi_app

    def wsgi(environ, start_response):
        if environ.get("HTTP_X_BENCH_CAPTURE") != "1":
            return inner(environ, start_response)
        _local.statements = []

        def starting(status, headers, exc_info=None):
            headers.append(("X-Bench-Statements", str(len(_local.statements))))
            return start_response(status, headers, exc_info)
        try:
            body = list(inner(environ, starting))
            with open(capture_dir / "last.pickle", "wb") as out:
                pickle.dump(_local.statements, out)
        finally:
            _local.statements = None
        return body

    app.wsgi_app = wsgi
    return app

