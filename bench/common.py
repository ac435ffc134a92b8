"""What the benchmarks share: a scratch PostgreSQL database, gunicorn on a free port of
127.0.0.1, and logging in through the login form like a user."""
from __future__ import annotations

import contextlib
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
FLASH_RE = re.compile(r'<div class="alert[^"]*"[^>]*>(.*?)</div>', re.S)


def pg_admin_url() -> str:
    """SQLAlchemy URL of the PostgreSQL the tests use (AUTHDESK_TEST_PG)."""
    url = os.environ.get("AUTHDESK_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
    return "postgresql+psycopg://" + url.split("://", 1)[1]


def driver_url(url: str) -> str:
    """The libpq form of a SQLAlchemy PostgreSQL URL (for psycopg itself)."""
    return "postgresql://" + url.split("://", 1)[1]


@contextlib.contextmanager
def scratch_postgresql(prefix: str):
    """A new, empty PostgreSQL database (its SQLAlchemy URL), dropped at the end whatever
    happens."""
    admin_url = pg_admin_url()
    name = f"{prefix}{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin_url.rsplit("/", 1)[0] + "/" + name
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def gunicorn(url: str, log_path: Path, *, app: str = "app:create_app()", workers: int = 1,
             env: dict | None = None):
    """gunicorn serving ``app`` on ``url``'s database with production settings (a random
    SECRET_KEY; no TESTING, debug or demo mode; the login limit raised so a bench never
    waits): yields (base URL, master pid) once it answers, stops it (by its pid) afterwards."""
    import requests

    port = free_port()
    environment = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": secrets.token_hex(32),
                   "AUTHDESK_LOGIN_RATE_LIMIT": "100000 per minute", "PYTHONPATH": str(ROOT),
                   **(env or {})}
    for name in ("TESTING", "FLASK_DEBUG", "AUTHDESK_DEMO"):
        environment.pop(name, None)
    log = open(log_path, "wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--workers", str(workers), "--bind",
         f"127.0.0.1:{port}", "--timeout", "300", app], cwd=ROOT, env=environment, stdout=log,
        stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited ({proc.returncode}); see {log_path}")
            with contextlib.suppress(requests.RequestException):
                if requests.get(base + "/login", timeout=10).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError(f"gunicorn did not answer in 60 s; see {log_path}")
            time.sleep(0.2)
        yield base, proc.pid
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        log.close()


def flashes(html: str) -> str:
    """The flash messages of a page, as text."""
    return " ".join(" ".join(re.sub(r"<[^>]+>", " ", m).split()) for m in FLASH_RE.findall(html))


def login(http, base: str, username: str, password: str) -> str:
    """Log ``http`` (a requests.Session) in through the form; returns the CSRF token of the new
    session."""
    page = http.get(base + "/login", timeout=30)
    token = CSRF_RE.search(page.text).group(1)
    done = http.post(base + "/login", data={"username": username, "password": password,
                                             "csrf_token": token},
                     allow_redirects=False, timeout=30)
    if done.status_code != 302:
        raise RuntimeError(f"login of {username} failed: {done.status_code} "
                           f"{flashes(done.text)}")
    return CSRF_RE.search(http.get(base + "/console/", timeout=30).text).group(1)
