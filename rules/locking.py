"""Locks for check-then-change of units.

PostgreSQL: ``SELECT … FOR NO KEY UPDATE OF authorizations`` in id order, so that two writers
never deadlock. SQLite ignores FOR UPDATE: a writer takes the database's write lock up front with
``BEGIN IMMEDIATE`` (pysqlite opens no transaction for plain SELECTs, so nothing was read inside
a snapshot that could go stale) and holds it until commit."""
from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session, lazyload

from models import Authorization, Note


def is_sqlite(session: Session) -> bool:
    return session.get_bind().dialect.name == "sqlite"


def take_write_lock(session: Session) -> None:
    """On SQLite, make sure this transaction holds the write lock (no-op on PostgreSQL)."""
    if not is_sqlite(session):
        return
    conn = session.connection()
    dbapi = conn.connection.dbapi_connection
    if not dbapi.in_transaction:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def lock_authorizations(session: Session, ids: Iterable[int]) -> dict[int, Authorization]:
    """Lock the given auths and return them freshly read, keyed by id."""
    ids = sorted(set(ids))
    if not ids:
        return {}
    take_write_lock(session)
    stmt = (select(Authorization).where(Authorization.id.in_(ids)).order_by(Authorization.id)
            .options(lazyload("*")).execution_options(populate_existing=True))
    if not is_sqlite(session):
        # NO KEY UPDATE: a row lock that does not conflict with the KEY SHARE lock a foreign
        # key takes (a new note or claim referring to this auth); plain FOR UPDATE would let two
        # writers, each having inserted a note, deadlock on the same auth.
        stmt = stmt.with_for_update(of=Authorization, key_share=True)
    return {a.id: a for a in session.scalars(stmt)}


def lock_notes(session: Session, ids: Iterable[int]) -> dict[int, Note]:
    """Lock notes (before any authorization: notes first, then auths, always)."""
    ids = sorted(set(ids))
    if not ids:
        return {}
    take_write_lock(session)
    stmt = (select(Note).where(Note.id.in_(ids)).order_by(Note.id)
            .options(lazyload("*")).execution_options(populate_existing=True))
    if not is_sqlite(session):
        stmt = stmt.with_for_update(of=Note, key_share=True)
    return {n.id: n for n in session.scalars(stmt)}
