"""The console served for the browser tests: a fresh SQLite database migrated and seeded with the
demo practice (as ``scripts/run`` does), served by gunicorn on 127.0.0.1 on a free port, and
stopped by the tests that started it (by its process id, never by name).

``LiveServer(workdir, log_path=…).start()`` → ``.url``, ``.database_url``, ``.query(sql)``;
``.stop()``. The server's log (gunicorn's, with the access log) goes to ``log_path`` (the
browser tests write it to test-artifacts/), so a failure can be read there."""
from __future__ import annotations

import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SECRET_KEY = "browser-tests-secret-key"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def build_database(path: Path) -> str:
    """Migrate a new SQLite file and add the reference data and the demo practice, as
    ``scripts/run`` does (``flask db upgrade``, ``flask seed --demo``, ``refresh-status``)."""
    from flask_migrate import upgrade

    from app import create_app
    from extensions import db
    from rules import Actor
    from rules.audit import acting_as
    from rules.status import refresh_status
    from seeds import seed_demo, seed_reference

    url = f"sqlite:///{path}"
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": SECRET_KEY,
                      "AUTHDESK_DEMO": True, "AUTHDESK_INSTANCE": str(path.parent)})
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
        with acting_as(db.session, Actor.system()):
            seed_reference(db.session)
            seed_demo(db.session)
            db.session.commit()
        refresh_status(db.session)
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    return url


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    """Linux: the server gets SIGTERM if the test process dies without stopping it."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


class LiveServer:
    def __init__(self, workdir: Path, *, log_path: Path | None = None, workers: int = 2):
        self.workdir = Path(workdir)
        self.workers = workers
        self.process: subprocess.Popen | None = None
        self.url = ""
        self.database_url = ""
        self.log_path = Path(log_path or self.workdir / "server.log")

    def start(self, timeout: float = 30.0) -> "LiveServer":
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.log_path.write_text("")
        self.database_url = build_database(self.workdir / "authdesk.sqlite")
        for _ in range(3):  # another process may take the free port first: try another
            port = free_port()
            if self._spawn(port, self.database_url, timeout):
                self.url = f"http://127.0.0.1:{port}"
                return self
        raise RuntimeError(f"The console did not start; see {self.log_path}:\n"
                           + self.log_path.read_text()[-3000:])

    def _spawn(self, port: int, database: str, timeout: float) -> bool:
        env = dict(os.environ, DATABASE_URL=database, SECRET_KEY=SECRET_KEY, AUTHDESK_DEMO="1",
                   AUTHDESK_INSTANCE=str(self.workdir), PYTHONDONTWRITEBYTECODE="1")
        env.pop("FLASK_DEBUG", None)
        log = open(self.log_path, "ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--workers", str(self.workers),
             "--bind", f"127.0.0.1:{port}", "--access-logfile", "-", "--graceful-timeout", "5",
             "app:create_app()"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent)
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:  # exited: port taken, or a broken app
                self.process = None
                return False
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=2) as r:
                    if r.status == 200:
                        return True
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.1)  # polling for the server to come up, not waiting in a test
        self.stop()
        return False

    def query(self, sql: str, **params) -> list:
        """Rows from the server's database (what the screens should show)."""
        import sqlalchemy as sa

        engine = sa.create_engine(self.database_url)
        try:
            with engine.connect() as conn:
                return list(conn.execute(sa.text(sql), params))
        finally:
            engine.dispose()

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()  # gunicorn's arbiter stops its workers on SIGTERM
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
