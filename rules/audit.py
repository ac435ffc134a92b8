"""The audit trail (rule 19): every create, change and delete of an audited object is recorded
with who, when, before → after, the request id and the bulk batch.

Two paths write records, so that nothing escapes:
- ORM changes are recorded by an ``after_flush`` hook from the session's attribute history;
- set-based statements (bulk updates, unit claims, the daily job) call :func:`record_rows`.

A session that changes an audited object must say who is acting (:func:`acting_as`); a change
without an actor is refused rather than recorded anonymously.
"""
from __future__ import annotations

import datetime as dt
import json
import uuid
from contextlib import contextmanager
from decimal import Decimal

from sqlalchemy import event, inspect, select
from sqlalchemy.orm import Session, attributes

from models import (AuditBatch, AuthGroup, Authorization, BillingCode,
                    BillingCodeGroup, Client, ClientGroup, ClientPayer, Division, InsuranceCompany,
                    Note, Profile, Provider, User, UserGroup, utcnow)
from models.people import ApiToken

from .actor import Actor

ACTOR_KEY = "authdesk.actor"
BATCH_KEY = "authdesk.audit_batch"
ANNOTATION_KEY = "authdesk.audit_annotation"
REFS_KEY = "authdesk.audit_refs"

#: model → (object type, fields never recorded, fields recorded only as "changed").
AUDITED: dict[type, tuple[str, frozenset[str], frozenset[str]]] = {
    Authorization: ("authorization", frozenset({"version", "created_at"}), frozenset()),
    Note: ("note", frozenset({"created_at"}), frozenset()),
    Client: ("client", frozenset({"name_key", "created_at"}), frozenset()),
    ClientPayer: ("client_payer", frozenset(), frozenset()),
    AuthGroup: ("auth_group", frozenset(), frozenset()),
    Division: ("division", frozenset(), frozenset()),
    ClientGroup: ("client_group", frozenset(), frozenset()),
    UserGroup: ("user_group", frozenset(), frozenset()),
    BillingCode: ("billing_code", frozenset(), frozenset()),
    BillingCodeGroup: ("billing_code_group", frozenset(), frozenset()),
    InsuranceCompany: ("insurance_company", frozenset(), frozenset()),
    Provider: ("provider", frozenset(), frozenset()),
    Profile: ("profile", frozenset(), frozenset()),
    # Login bookkeeping is not an edit of the user; logins are logged separately.
    # The session token only says which logins are still valid: a logout renews it, which is
    # not an edit of the user (a password change or a disabled user shows in its own field).
    User: ("user", frozenset({"failed_logins", "locked_until", "last_login_at", "last_digest_at",
                              "created_at", "session_token"}),
           frozenset({"password_hash"})),
    ApiToken: ("api_token", frozenset({"last_used_at", "created_at"}),
               frozenset({"token_hash"})),
}

#: One-to-many collections recorded as a field of their parent.
OWNED_COLLECTIONS = frozenset({"rules"})

OBJECT_TYPES = sorted(t for t, _, _ in AUDITED.values())


def _keep_old_value(target, value, oldvalue, initiator):
    return value


def _track_old_values() -> None:
    """Make the ORM load an attribute's old value before it is replaced, even when the object
    was expired (after a commit): otherwise an edit of an expired object would be recorded as
    "(nothing) → new value". Costs one SELECT per expired object on its first change."""
    for model, (_, exclude, _) in AUDITED.items():
        for prop in inspect(model).column_attrs:
            if prop.key not in exclude:
                event.listen(getattr(model, prop.key), "set", _keep_old_value,
                             active_history=True, retval=True)


_track_old_values()


def set_actor(session: Session, actor: Actor | None) -> None:
    if actor is None:
        session.info.pop(ACTOR_KEY, None)
    else:
        session.info[ACTOR_KEY] = actor


def current_actor(session: Session) -> Actor | None:
    return session.info.get(ACTOR_KEY)


@contextmanager
def acting_as(session: Session, actor: Actor):
    """Attribute every audited change made in the block to ``actor``."""
    previous = session.info.get(ACTOR_KEY)
    session.info[ACTOR_KEY] = actor
    try:
        yield actor
    finally:
        if previous is None:
            session.info.pop(ACTOR_KEY, None)
        else:
            session.info[ACTOR_KEY] = previous


def begin_batch(session: Session, actor: Actor, kind: str, description: str = "",
                *, undoes: str | None = None) -> AuditBatch:
    """Open a bulk operation: every record written until :func:`end_batch` carries its id."""
    batch = AuditBatch(id=str(uuid.uuid4()), kind=kind, description=description,
                       actor_id=actor.user_id, actor_name=actor.name,
                       request_id=actor.request_id, undoes_batch_id=undoes)
    session.add(batch)
    session.flush([batch])
    session.info[BATCH_KEY] = batch.id
    return batch


def end_batch(session: Session) -> None:
    session.info.pop(BATCH_KEY, None)


@contextmanager
def audit_batch(session: Session, actor: Actor, kind: str, description: str = "", **kw):
    """One bulk operation: its records carry the batch id and name the batch's actor."""
    batch = begin_batch(session, actor, kind, description, **kw)
    try:
        with acting_as(session, actor):
            yield batch
            session.flush()  # what the block changed is recorded inside the batch
    finally:
        end_batch(session)


@contextmanager
def annotate(session: Session, object_type: str, *, action: str, comment: str):
    """Within the block, records of ``object_type`` flushed by the ORM carry this action name and
    comment (e.g. action "units", comment "Note N-12 released")."""
    notes = session.info.setdefault(ANNOTATION_KEY, {})
    notes[object_type] = (action, comment)
    try:
        yield
    finally:
        notes.pop(object_type, None)


def jsonable(value):
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


_RECORD_COLUMNS = ("at", "actor_id", "actor_name", "object_type", "object_id", "object_label",
                   "action", "changes", "request_id", "batch_id", "client_id", "version",
                   "comment")


def record_rows(session: Session, actor: Actor, rows: list[dict]) -> int:
    """Write audit records for set-based changes in one multi-row INSERT.

    Each row: object_type, object_id, object_label, action, changes, and optionally client_id,
    version, comment. Who, when, request and batch are filled in here. The rows go to the
    driver as plain tuples (changes as JSON text): a bulk operation writes thousands of them and
    the ORM's per-row type processing would cost more than the change itself."""
    if not rows:
        return 0
    now = utcnow()
    conn = session.connection()
    sqlite = conn.dialect.name == "sqlite"
    at = now.isoformat(sep=" ") if sqlite else now
    batch_id = session.info.get(BATCH_KEY)
    fixed = {"at": at, "actor_id": actor.user_id, "actor_name": actor.name,
             "request_id": actor.request_id, "batch_id": batch_id}
    marker = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    sql = (f"INSERT INTO audit_records ({', '.join(_RECORD_COLUMNS)}) "
           f"VALUES ({', '.join([marker] * len(_RECORD_COLUMNS))})")
    params = [
        (fixed["at"], fixed["actor_id"], fixed["actor_name"], r["object_type"],
         r.get("object_id"), (r.get("object_label") or "")[:255], r["action"],
         json.dumps(r.get("changes") or {}, default=jsonable), fixed["request_id"],
         fixed["batch_id"], r.get("client_id"), r.get("version"), r.get("comment"))
        for r in rows]
    conn.exec_driver_sql(sql, params)
    return len(rows)


def _ref(session: Session, model, ref_id):
    """The referenced row (from the identity map when loaded): a new object's relationships are
    not loaded yet when the flush is recorded, its foreign keys are.

    Kept until the transaction ends: the identity map holds objects weakly, and the auths
    locked by rules.locking do not hold their client and billing code, so without it every
    flush of a note's units loaded them again for the labels (a SELECT per auth and flush)."""
    if ref_id is None:
        return None
    refs = session.info.setdefault(REFS_KEY, {})
    obj = refs.get((model, ref_id))
    if obj is None:
        # An object of this very flush is not in the identity map until the flush ends:
        # loading it again would make a second copy.
        obj = next((o for o in session.new if type(o) is model and o.id == ref_id), None) \
            or session.get(model, ref_id)
        if obj is not None:
            refs[(model, ref_id)] = obj
    return obj


@event.listens_for(Session, "after_transaction_end")
def _forget_refs(session: Session, transaction) -> None:
    if transaction.parent is None:  # the session's transaction, not a flush's or a savepoint
        session.info.pop(REFS_KEY, None)


def _label(session: Session, obj) -> str:
    """How a person names the object, e.g. "A-000012 (90834) – Smith, Alex"."""
    try:
        if isinstance(obj, Authorization):
            code = _ref(session, BillingCode, obj.billing_code_id)
            client = _ref(session, Client, obj.client_id)
            label = f"{obj.auth_number} ({code.code if code else '?'}) – {client}"
        elif isinstance(obj, Note):
            code = _ref(session, BillingCode, obj.billing_code_id)
            client = _ref(session, Client, obj.client_id)
            when = obj.service_date.isoformat() if obj.service_date else "?"
            label = (f"Note N-{obj.id} ({code.code if code else '?'}, {when}) – {client}")
        elif isinstance(obj, ClientPayer):
            payer = _ref(session, InsuranceCompany, obj.insurance_company_id)
            client = _ref(session, Client, obj.client_id)
            label = f"{payer}{' (primary)' if obj.is_primary else ''} for {client}"
        elif isinstance(obj, User):
            label = f"{obj.full_name} ({obj.username})"
        elif isinstance(obj, ApiToken):
            user = _ref(session, User, obj.user_id)
            label = f"API token “{obj.name}” ({obj.prefix}…) of {user}"
        else:
            label = str(obj)
        return label[:255]
    except Exception:  # a label must never break a save
        return f"{type(obj).__name__} #{getattr(obj, 'id', '?')}"


def _client_of(obj) -> int | None:
    if isinstance(obj, Client):
        return obj.id
    return getattr(obj, "client_id", None)


def _collection_label(item) -> str:
    return getattr(item, "permission", None) or str(item)


def _changes(obj, action: str, exclude: frozenset[str], secret: frozenset[str]) -> dict:
    state = inspect(obj)
    mapper = state.mapper
    changes: dict[str, list] = {}
    for prop in mapper.column_attrs:
        key = prop.key
        if key in exclude:
            continue
        hist = attributes.get_history(obj, key)
        if action == "create":
            value = getattr(obj, key)
            if value is None:
                continue
            changes[key] = [None, "(set)" if key in secret else jsonable(value)]
        elif action == "delete":
            value = hist.unchanged[0] if hist.unchanged else (hist.deleted[0] if hist.deleted
                                                             else None)
            if value is None:
                continue
            changes[key] = ["(set)" if key in secret else jsonable(value), None]
        elif hist.has_changes():
            before = hist.deleted[0] if hist.deleted else None
            after = hist.added[0] if hist.added else None
            if before == after:
                continue
            if key in secret:
                changes[key] = ["(changed)", "(changed)"]
            else:
                changes[key] = [jsonable(before), jsonable(after)]
    for rel in mapper.relationships:
        # Collections that are part of the object: many-to-many sets (client groups, codes of a
        # group) and a profile's rules. Never loaded here: only what the change touched.
        if not rel.uselist or rel.key in exclude or (
                rel.secondary is None and rel.key not in OWNED_COLLECTIONS):
            continue
        hist = attributes.get_history(obj, rel.key, passive=attributes.PASSIVE_NO_INITIALIZE)
        if action == "update" and not hist.has_changes():
            continue
        if action == "update":
            before = [*hist.unchanged, *hist.deleted]
            after = [*hist.unchanged, *hist.added]
        elif action == "create":
            before, after = None, [*hist.unchanged, *hist.added]
        else:
            before, after = [*hist.unchanged, *hist.deleted], None
        if before is not None:
            before = sorted(_collection_label(i) for i in before)
        if after is not None:
            after = sorted(_collection_label(i) for i in after)
        if before != after and (before or after):
            changes[rel.key] = [before, after]
    return changes


def _prefetch_refs(session: Session, objects) -> None:
    """Load the billing codes and clients the labels of ``objects`` name, one SELECT per kind
    for all of them (a note's flush labels every sibling auth: one query, not one per auth)."""
    refs = session.info.setdefault(REFS_KEY, {})
    wanted: dict[type, set[int]] = {BillingCode: set(), Client: set()}
    for obj in objects:
        if isinstance(obj, (Authorization, Note)):
            for model, ref_id in ((BillingCode, obj.billing_code_id), (Client, obj.client_id)):
                if ref_id is not None and (model, ref_id) not in refs:
                    wanted[model].add(ref_id)
    for model, ids in wanted.items():
        new = {o.id: o for o in session.new if type(o) is model}
        for ref_id in [i for i in ids if i in new]:
            refs[(model, ref_id)] = new[ref_id]
            ids.discard(ref_id)
        if len(ids) > 1:
            for obj in session.scalars(select(model).where(model.id.in_(sorted(ids)))):
                refs[(model, obj.id)] = obj


@event.listens_for(Session, "after_flush")
def _audit_after_flush(session: Session, flush_context) -> None:
    pending = []
    _prefetch_refs(session, [o for o in (*session.new, *session.dirty, *session.deleted)
                             if type(o) in AUDITED])
    for action, objects in (("create", session.new), ("update", session.dirty),
                            ("delete", session.deleted)):
        for obj in objects:
            spec = AUDITED.get(type(obj))
            if spec is None:
                continue
            if action == "update" and not session.is_modified(obj):
                continue
            object_type, exclude, secret = spec
            changes = _changes(obj, action, exclude, secret)
            if action == "update" and not changes:
                continue
            annotation = session.info.get(ANNOTATION_KEY, {}).get(object_type)
            pending.append({
                "object_type": object_type,
                "object_id": getattr(obj, "id", None),
                "object_label": _label(session, obj),
                "action": annotation[0] if annotation and action == "update" else action,
                "comment": annotation[1] if annotation else None,
                "changes": changes,
                "client_id": _client_of(obj),
                "version": getattr(obj, "version", None) if object_type == "authorization"
                else None,
            })
    if not pending:
        return
    actor = session.info.get(ACTOR_KEY)
    if actor is None:
        raise RuntimeError(
            "An audited change was flushed without an actor; wrap it in rules.audit.acting_as().")
    record_rows(session, actor, pending)
