"""Locks for check-then-change of units.

PostgreSQL: ``SELECT … FOR NO KEY UPDATE OF authorizations`` in id order, so that two writers
never deadlock. Not plain FOR UPDATE: inserting a note, a note claim or an alert checks its
foreign key with FOR KEY SHARE on the authorization, which FOR UPDATE conflicts with — two notes
on one auth each inserted (key share), then each waited for the other's key share (a deadlock).
FOR NO KEY UPDATE (what PostgreSQL's own UPDATE of non-key columns takes) does not conflict with
key share and still excludes every other writer; deleting an auth asks for the exclusive lock.
A rule takes all the auth locks it needs in one call (one sorted statement), never several
calls in an order of its own.

SQLite ignores FOR UPDATE: a writer takes the database's write lock up front with
``BEGIN IMMEDIATE`` (pysqlite opens no transaction for plain SELECTs, so nothing was read inside
a snapshot that could go stale) and holds it until commit."""
from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session, lazyload

from models import Authorization, Note, NoteClaim


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


def lock_authorizations(session: Session, ids: Iterable[int], *,
                        exclusive: bool = False) -> dict[int, Authorization]:
    """Lock the given auths and return them freshly read, keyed by id. ``exclusive`` (to delete)
    also waits for transactions that are inserting rows referring to them."""
    ids = sorted(set(ids))
    if not ids:
        return {}
    take_write_lock(session)
    stmt = (select(Authorization).where(Authorization.id.in_(ids)).order_by(Authorization.id)
            .options(lazyload("*")).execution_options(populate_existing=True))
    if not is_sqlite(session):
        stmt = stmt.with_for_update(of=Authorization, key_share=not exclusive)
    return {a.id: a for a in session.scalars(stmt)}


def lock_claimed_authorizations(session: Session,
                                note_ids: Iterable[int]) -> dict[int, Authorization]:
    """Lock every auth these notes hold units on, all at once in id order. A rule that moves
    the units of several notes takes these first: locking note by note would take the auths in
    note order, and two such runs in opposite orders would deadlock on PostgreSQL."""
    ids = session.scalars(select(NoteClaim.authorization_id)
                          .where(NoteClaim.note_id.in_(sorted(set(note_ids))))).all()
    return lock_authorizations(session, ids)


def lock_client_authorizations(session: Session, client_id: int) -> dict[int, Authorization]:
    """Lock every auth of one client in id order: editing a draft gives units back on some of
    them and claims on others, and must take all its locks at once, in order, to never
    deadlock with another edit going the other way."""
    ids = session.scalars(select(Authorization.id)
                          .where(Authorization.client_id == client_id)).all()
    return lock_authorizations(session, ids)


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
