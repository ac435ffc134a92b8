"""Bulk Add (rule 15), Update Codes Listed (rule 16) and undoing either.

Set-based: a bulk operation loads the few columns it must validate, runs the same per-row
checks as a single edit (rules.authorizations.check_values), then writes with one statement per
kind of change and one multi-row INSERT of audit records — all inside the caller's transaction
and one audit batch. If any row fails, nothing is written and the error names the rows.

A *scope* is a SELECT of authorization ids: the master list's or the chart's current filter,
over all pages, rebuilt on the server."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import Select, bindparam, delete, insert, select, update
from sqlalchemy.orm import Session

from models import (Alert, AuditBatch, AuditRecord, Authorization, BillingCode, BillingCodeGroup,
                    Client, ClientPayer, InsuranceCompany, Note, NoteClaim, utcnow)

from .actor import Actor
from .values import optional_id
from .alerts import kinds_affected, sync_alerts
from .audit import audit_batch, jsonable, record_rows
from .authorizations import (EDITABLE_FIELDS, RESTRICTED_ON_MANAGED, _check_references,
                             active_condition, check_values, clean_fields, is_active,
                             reserve_auth_numbers)
from .clock import clinic_today
from .errors import Conflict, FIELD_LABELS, NotFound, PermissionDenied, ValidationError
from .locking import is_sqlite, take_write_lock
from .permissions import BULK_UPDATE, EDIT_AUTHORIZATIONS, MODIFY_MANAGED_UNITS

#: Fields "Update Codes Listed" may write (the code and the auth # stay per auth).
UPDATE_FIELDS = tuple(f for f in EDITABLE_FIELDS if f not in ("billing_code_id", "auth_number"))
#: Fields whose change can break a cross-field rule of a row (dates, units, unmanaged); a change
#: of any other field only needs its value checked, once.
_CROSS_FIELDS = frozenset({"start_date", "end_date", "allotted_units", "remaining_units",
                           "unmanaged", "insurance_company_id"})
#: How many failing rows an error lists by name before "and N more".
MAX_NAMED = 25
#: Columns loaded to validate a row (beside the fields being changed).
_STATE = ("id", "client_id", "auth_number", "billing_code_id", "start_date", "end_date",
          "allotted_units", "remaining_units", "pending_units", "unmanaged", "overdrawn",
          "auth_group_id", "insurance_company_id", "version", "last_edited_by")


@dataclass
class RowChange:
    auth_id: int
    label: str
    client_id: int
    before: dict
    after: dict
    #: The auth's version once the change is written (undo compares against it).
    version: int


@dataclass
class BulkPlan:
    """What an Update Codes Listed would do: shown on the confirmation page, then applied."""

    matched: int
    changes: list[RowChange] = field(default_factory=list)
    #: Allotted units changed and remaining left blank: remaining moves by the same difference,
    #: so the units already used stay used (30 sessions instead of 20 → 10 more available).
    shift_remaining: bool = False
    errors: list[str] = field(default_factory=list)
    error_count: int = 0

    @property
    def count(self) -> int:
        return len(self.changes)


@dataclass
class BulkResult:
    batch_id: str
    count: int
    ids: list[int]
    refused: list[str] = field(default_factory=list)


def _require_bulk(actor: Actor) -> None:
    actor.require(BULK_UPDATE, "bulk add or update authorizations")
    actor.require(EDIT_AUTHORIZATIONS, "edit authorizations")


def _named(errors: list[str], total: int) -> list[str]:
    shown = errors[:MAX_NAMED]
    if total > len(shown):
        shown.append(f"… and {total - len(shown)} more.")
    return shown


def _label(row) -> str:
    return f"{row.auth_number} ({row.code}) – {row.last_name}, {row.first_name}"


def _load(session: Session, scope: Select, fields=()) -> list:
    a = Authorization
    cols = [getattr(a, c) for c in dict.fromkeys((*_STATE, *fields))]
    stmt = (select(*cols, BillingCode.code, Client.last_name, Client.first_name)
            .join(BillingCode, BillingCode.id == a.billing_code_id)
            .join(Client, Client.id == a.client_id)
            .where(a.id.in_(scope)).order_by(a.id))
    return session.execute(stmt).all()


def _lock(session: Session, scope: Select) -> None:
    """Lock every auth in scope before reading it (id order: no deadlock between writers)."""
    if is_sqlite(session):
        take_write_lock(session)
    else:
        # NO KEY UPDATE, like rules.locking: no conflict with the key-share lock of a note
        # being inserted on one of these auths.
        session.execute(select(Authorization.id).where(Authorization.id.in_(scope))
                        .order_by(Authorization.id)
                        .with_for_update(of=Authorization, key_share=True))


# ----------------------------------------------------------------------------- Update Codes Listed

def clean_update(raw: dict) -> dict:
    """The filled fields of the Update Codes Listed form; blank ones are left out (they stay as
    they are). ``unmanaged`` takes "yes" / "no" / "n.a." (n.a. = leave as is)."""
    filled = {}
    for key, value in raw.items():
        if value is None or (isinstance(value, str) and not value.strip()):
            continue
        if key == "unmanaged" and isinstance(value, str) and value.strip().lower() in (
                "n.a.", "na", "n/a"):
            continue
        filled[key] = value
    if not filled:
        raise ValidationError("Fill in at least one field to change; blank fields stay as they are.")
    return clean_fields(filled, allowed=UPDATE_FIELDS)


def plan_update(session: Session, actor: Actor, scope: Select, raw_changes: dict, *,
                lock: bool = False) -> BulkPlan:
    """Validate every auth in ``scope`` against the filled fields; nothing is written."""
    _require_bulk(actor)
    changes = clean_update(raw_changes)
    if lock:
        _lock(session, scope)
    rows = _load(session, scope, changes)
    plan = BulkPlan(matched=len(rows), shift_remaining="allotted_units" in changes
                    and "remaining_units" not in changes)
    restricted = [f for f in RESTRICTED_ON_MANAGED
                  if f in changes or (f == "remaining_units" and plan.shift_remaining)]
    errors: list[str] = []
    if restricted and not actor.can(MODIFY_MANAGED_UNITS):
        managed = [r for r in rows if not r.unmanaged and (
            any(getattr(r, f) != changes.get(f, getattr(r, f)) for f in restricted)
            or (plan.shift_remaining and r.allotted_units != changes["allotted_units"]))]
        if managed:
            names = ", ".join(FIELD_LABELS[f] for f in restricted)
            raise PermissionDenied(
                f"Your profile may not change {names} on managed authorizations; "
                f"{len(managed)} of the listed auths are managed.",
                details=_named([_label(r) for r in managed], len(managed)))
    on_file = _clients_with_payer(session, scope, changes.get("insurance_company_id"))
    ref_errors: dict[str, str] = {}
    _check_references(session, {**{f: None for f in EDITABLE_FIELDS}, **changes}, None, 0,
                      ref_errors)
    ref_errors.pop("insurance_company_id", None)  # checked per client below
    if ref_errors:
        raise ValidationError(ref_errors)
    for r in rows:
        before = {f: getattr(r, f) for f in changes}
        diff = {f: v for f, v in changes.items() if before[f] != v}
        if plan.shift_remaining and "allotted_units" in diff:
            before["remaining_units"] = r.remaining_units
            diff["remaining_units"] = r.remaining_units + diff["allotted_units"] - r.allotted_units
        if not diff:
            continue
        if _CROSS_FIELDS.isdisjoint(diff):
            plan.changes.append(RowChange(r.id, _label(r), r.client_id,
                                          {f: before[f] for f in diff}, diff, r.version + 1))
            continue
        state = {f: getattr(r, f) for f in _STATE if f in EDITABLE_FIELDS}
        after_state = {**{f: None for f in EDITABLE_FIELDS}, **state, **diff}
        problems = check_values(after_state, pending=r.pending_units, overdrawn=r.overdrawn)
        if "insurance_company_id" in diff and diff["insurance_company_id"] is not None \
                and r.client_id not in on_file:
            problems["insurance_company_id"] = "is not one of the client's payers on file"
        if plan.shift_remaining and diff.get("remaining_units", 0) < 0:
            problems["allotted_units"] = (f"cannot go below the {r.allotted_units - r.remaining_units}"
                                          " units already used")
            problems.pop("remaining_units", None)
        if problems:
            text = "; ".join(f"{FIELD_LABELS.get(k, k)} {m}" for k, m in problems.items())
            errors.append(f"{_label(r)}: {text}")
            continue
        plan.changes.append(RowChange(r.id, _label(r), r.client_id,
                                      {f: before[f] for f in diff}, diff, r.version + 1))
    plan.error_count = len(errors)
    plan.errors = _named(errors, len(errors))
    return plan


def _clients_with_payer(session: Session, scope: Select, payer_id: int | None) -> set[int]:
    if payer_id is None:
        return set()
    return set(session.scalars(
        select(ClientPayer.client_id).where(
            ClientPayer.insurance_company_id == payer_id,
            ClientPayer.client_id.in_(select(Authorization.client_id)
                                      .where(Authorization.id.in_(scope))))))


def apply_update(session: Session, actor: Actor, scope: Select, raw_changes: dict, *,
                 description: str = "", expected_count: int | None = None,
                 today: dt.date | None = None) -> BulkResult:
    """Update Codes Listed: every auth in ``scope`` gets the filled fields, or none does.

    ``expected_count`` is the count the user confirmed: if the listed auths changed meanwhile
    (another user's edit), the update is refused rather than applied to a different set."""
    today = today or clinic_today()
    plan = plan_update(session, actor, scope, raw_changes, lock=True)
    if plan.errors:
        raise ValidationError(
            f"Nothing was changed: {plan.error_count} of the {plan.matched} listed "
            "authorizations would be invalid.", details=plan.errors)
    if expected_count is not None and plan.count != expected_count:
        raise Conflict(f"Nothing was changed: the listed authorizations changed since you "
                       f"confirmed ({plan.count} would change now, not {expected_count}). "
                       "Review the confirmation again.")
    if not plan.changes:
        raise ValidationError("Nothing to change: every listed authorization already has "
                              "these values.")
    now = utcnow()
    a = Authorization.__table__
    with audit_batch(session, actor, "update_codes_listed",
                     description or f"Update Codes Listed: {plan.count} authorizations") as batch:
        # Rows sharing the same new values are written by one statement (usually all of them).
        # When remaining shifts with allotted, the shift is one SQL expression (SET sees the
        # row's old values on both databases).
        groups: dict[tuple, list[int]] = {}
        for change in plan.changes:
            fixed = {f: v for f, v in change.after.items()
                     if not (plan.shift_remaining and f == "remaining_units")}
            groups.setdefault(tuple(sorted(fixed.items())), []).append(change.auth_id)
        changed = {f for c in plan.changes for f in c.after}
        if plan.shift_remaining and "allotted_units" in changed:
            changed.add("remaining_units")
        # Active (rule 5) is recomputed with the change. When none of its inputs change, the
        # same UPDATE sets it (SET reads the row's values, which are then also the new ones);
        # otherwise a second pass reads the new values.
        active_inputs_change = bool(changed & ACTIVE_INPUTS)
        for values, ids in groups.items():
            values = dict(values)
            if plan.shift_remaining and "allotted_units" in values:
                values["remaining_units"] = (a.c.remaining_units + values["allotted_units"]
                                             - a.c.allotted_units)
            if not active_inputs_change:
                values["active"] = active_condition(today)
            for chunk in _chunks(ids):
                session.execute(update(a).where(a.c.id.in_(chunk)).values(
                    **values, last_edited_at=now, last_edited_by=actor.name,
                    version=a.c.version + 1))
        ids = [c.auth_id for c in plan.changes]
        if active_inputs_change:
            _recompute_active(session, ids, today)
        batch.row_count = record_rows(session, actor, [
            {"object_type": "authorization", "object_id": c.auth_id, "object_label": c.label,
             "action": "update", "client_id": c.client_id, "version": c.version,
             "changes": {f: [jsonable(c.before[f]), jsonable(c.after[f])] for f in c.after}}
            for c in plan.changes])
        # The changed auths' alerts, for the kinds whose condition reads a changed field (the
        # others cannot change). By id, not through the list's filter: the update may move
        # auths out of it (new dates, payer…) and their alerts must follow them.
        sync_alerts(session, today, ids, kinds=kinds_affected(changed))
    session.expire_all()
    return BulkResult(batch.id, plan.count, ids)


def _chunks(ids: list[int], size: int = 5000):
    for i in range(0, len(ids), size):
        yield ids[i:i + size]


#: The fields rule 5's active status reads (besides today).
ACTIVE_INPUTS = frozenset({"start_date", "end_date", "unmanaged", "remaining_units"})


def _recompute_active(session: Session, ids: list[int], today: dt.date) -> None:
    a = Authorization.__table__
    cond = active_condition(today)
    for chunk in _chunks(ids):
        session.execute(update(a).where(a.c.id.in_(chunk), a.c.active.is_distinct_from(cond))
                        .values(active=cond))


def _versions(session: Session, ids: list[int]) -> dict[int, int]:
    out = {}
    for chunk in _chunks(ids):
        out.update(session.execute(select(Authorization.id, Authorization.version)
                                   .where(Authorization.id.in_(chunk))).all())
    return out


# ----------------------------------------------------------------------------------- Bulk Add

@dataclass
class AddPlan:
    """What a Bulk Add would create, every client and value checked; nothing written."""

    group: BillingCodeGroup
    codes: list[BillingCode]
    client_ids: list[int]
    client_names: dict[int, str]
    values: dict  # the fields every new auth gets (billing code and client aside)

    @property
    def count(self) -> int:
        return len(self.client_ids) * len(self.codes)


def plan_add(session: Session, actor: Actor, client_ids, raw: dict) -> AddPlan:
    """Validate a Bulk Add: one auth per code of the billing code group per client.

    ``raw``: billing_code_group_id, allotted_units, remaining_units (default: allotted),
    unit_alert_level, exp_alert_days, start_date, end_date, unmanaged (yes / no / n.a.), and
    optionally auth_group_id and insurance_company_id. Raises ValidationError naming the fields
    or the clients that cannot take these auths."""
    _require_bulk(actor)
    raw = dict(raw)
    group_id = raw.pop("billing_code_group_id", None)
    unmanaged = raw.pop("unmanaged", None)
    raw["unmanaged"] = isinstance(unmanaged, str) and unmanaged.strip().lower() in (
        "yes", "y", "true", "1") or unmanaged is True
    raw = {k: v for k, v in raw.items()
           if not (v is None or (isinstance(v, str) and not v.strip()))}
    errors: dict[str, str] = {}
    try:
        fields = clean_fields(raw, allowed=UPDATE_FIELDS)
    except ValidationError as exc:
        errors.update(exc.fields)
        fields = {}
    try:
        group_id = optional_id(group_id)
    except ValueError:
        group_id = None
    group = session.get(BillingCodeGroup, group_id) if group_id else None
    if group is None:
        errors["billing_code_group_id"] = "choose a billing code group"
    elif not group.active:
        errors["billing_code_group_id"] = f"“{group.name}” is inactive"
    elif not group.codes:
        errors["billing_code_group_id"] = f"“{group.name}” has no billing codes"
    if errors:
        raise ValidationError(errors)
    if fields.get("remaining_units") is None and fields.get("allotted_units") is not None:
        fields["remaining_units"] = fields["allotted_units"]
    template = {f: fields.get(f) for f in EDITABLE_FIELDS}
    template["billing_code_id"] = group.codes[0].id
    errors.update(check_values(template))
    _check_references(session, template, None, 0, errors)
    errors.pop("insurance_company_id", None)  # checked per client below
    if errors:
        raise ValidationError(errors)
    ids = sorted({int(c) for c in client_ids})
    if not ids:
        raise ValidationError("Choose at least one client.")
    inactive_codes = [c.code for c in group.codes if not c.active]
    if inactive_codes:
        raise ValidationError(f"The group “{group.name}” holds inactive codes: "
                              f"{', '.join(inactive_codes)}; fix the group first.")
    clients = {}
    for chunk in _chunks(ids):
        clients.update(session.execute(
            select(Client.id, Client.last_name + ", " + Client.first_name)
            .where(Client.id.in_(chunk))).all())
    problems = [f"Client #{i} does not exist" for i in ids if i not in clients]
    payer_id = fields.get("insurance_company_id")
    if payer_id is not None:
        payer = session.get(InsuranceCompany, payer_id)
        if payer is None or not payer.active:
            raise ValidationError({"insurance_company_id": "does not exist or is inactive"})
        on_file = set()
        for chunk in _chunks(ids):
            on_file.update(session.scalars(select(ClientPayer.client_id).where(
                ClientPayer.insurance_company_id == payer_id, ClientPayer.client_id.in_(chunk))))
        problems += [f"{clients[i]}: {payer.name} is not one of the client's payers on file"
                     for i in ids if i in clients and i not in on_file]
    if problems:
        raise ValidationError(f"Nothing was added: {len(problems)} of the {len(ids)} clients "
                              "cannot take these authorizations.",
                              details=_named(problems, len(problems)))
    values = {f: v for f, v in template.items() if f != "billing_code_id"}
    for flag_field in ("exclude_from_notes", "unmanaged", "is_default", "suspend_alerts",
                       "inpatient"):
        values[flag_field] = bool(values[flag_field])
    return AddPlan(group, list(group.codes), ids, clients, values)


def bulk_add(session: Session, actor: Actor, client_ids, raw: dict, *,
             today: dt.date | None = None, description: str = "") -> BulkResult:
    """Bulk Add (rule 15): the auths of :func:`plan_add`, all in one transaction and one audit
    batch. Rows go in by executemany (no RETURNING: a huge INSERT … RETURNING costs the
    PostgreSQL driver more than the insert); their ids are read back by their new, unique
    auth numbers."""
    today = today or clinic_today()
    take_write_lock(session)
    plan = plan_add(session, actor, client_ids, raw)
    numbers = reserve_auth_numbers(session, plan.count)
    now = utcnow()
    base = dict(plan.values)
    probe = Authorization(**{**base, "billing_code_id": plan.codes[0].id})
    base.update(active=is_active(probe, today), pending_units=0, overdrawn=False, version=1,
                last_edited_at=now, last_edited_by=actor.name, created_at=now)
    pairs = [(cid, code) for cid in plan.client_ids for code in plan.codes]
    rows = [{**base, "client_id": cid, "billing_code_id": code.id, "auth_number": number}
            for (cid, code), number in zip(pairs, numbers)]
    a = Authorization.__table__
    with audit_batch(session, actor, "bulk_add", description or
                     f"Bulk Add of “{plan.group.name}” to {len(plan.client_ids)} clients") as batch:
        session.connection().execute(insert(a), rows)
        id_of = {}
        for chunk in _chunks(numbers):
            id_of.update(session.execute(select(a.c.auth_number, a.c.id)
                                         .where(a.c.auth_number.in_(chunk))).all())
        shown = {k: jsonable(v) for k, v in base.items()
                 if k not in ("last_edited_at", "created_at", "version", "overdrawn")
                 and v is not None}
        batch.row_count = record_rows(session, actor, [
            {"object_type": "authorization", "object_id": id_of[number], "client_id": cid,
             "object_label": f"{number} ({code.code}) – {plan.client_names[cid]}",
             "action": "create", "version": 1,
             "changes": {**{k: [None, v] for k, v in shown.items()},
                         "billing_code": [None, code.code], "auth_number": [None, number]}}
            for (cid, code), number in zip(pairs, numbers)])
        created = [id_of[number] for number in numbers]
        # The new auths' alerts, through their id range (one statement, whatever their number;
        # other auths in that range are synced too, which is harmless).
        sync_alerts(session, today, scope=select(a.c.id).where(
            a.c.id.between(min(created), max(created))))
    return BulkResult(batch.id, len(created), created)


# ------------------------------------------------------------------------------------- Undo

def undo_batch(session: Session, actor: Actor, batch_id: str, *, skip_changed: bool = False,
               today: dt.date | None = None) -> BulkResult:
    """Restore the before-values of a bulk operation (Update Codes Listed) or remove the auths
    it added (Bulk Add). Auths changed again since — any edit after the batch, or notes written
    on an added auth — are refused with a list; with ``skip_changed`` the others are undone."""
    _require_bulk(actor)
    today = today or clinic_today()
    take_write_lock(session)
    batch = session.get(AuditBatch, batch_id)
    if batch is None or batch.kind not in ("update_codes_listed", "bulk_add"):
        raise NotFound("That bulk operation does not exist or cannot be undone.")
    if batch.undone_by_batch_id:
        raise Conflict("That bulk operation was already undone.")
    records = session.scalars(select(AuditRecord).where(
        AuditRecord.batch_id == batch_id, AuditRecord.object_type == "authorization")
        .order_by(AuditRecord.object_id)).all()
    ids = [r.object_id for r in records]
    if not is_sqlite(session):
        for chunk in _chunks(ids):
            session.execute(select(Authorization.id).where(Authorization.id.in_(chunk))
                            .order_by(Authorization.id)
                            .with_for_update(of=Authorization, key_share=True))
    current = {}
    for chunk in _chunks(ids):
        current.update({r.id: r for r in _load(session, select(Authorization.id).where(
            Authorization.id.in_(chunk)), UPDATE_FIELDS)})
    with_notes = set()
    if batch.kind == "bulk_add":
        for chunk in _chunks(ids):
            with_notes.update(session.scalars(select(Note.authorization_id).where(
                Note.authorization_id.in_(chunk))))
            with_notes.update(session.scalars(select(NoteClaim.authorization_id).where(
                NoteClaim.authorization_id.in_(chunk))))
    refused, todo = [], []
    for rec in records:
        row = current.get(rec.object_id)
        if row is None:
            refused.append(f"{rec.object_label}: deleted since")
        elif row.version != rec.version or (batch.kind == "update_codes_listed" and any(
                jsonable(getattr(row, f)) != v[1] for f, v in rec.changes.items())):
            refused.append(f"{_label(row)}: changed since (last edited by "
                           f"{row.last_edited_by})")
        elif rec.object_id in with_notes:
            refused.append(f"{_label(row)}: notes were written on it since")
        else:
            todo.append((rec, row))
    if refused and not skip_changed:
        raise Conflict(f"Nothing was undone: {len(refused)} of the {len(records)} "
                       "authorizations were changed since.", details=_named(refused,
                                                                             len(refused)))
    if not todo:
        raise Conflict("Nothing left to undo: every authorization of that operation was "
                       "changed since.", details=_named(refused, len(refused)))
    now = utcnow()
    a = Authorization.__table__
    with audit_batch(session, actor, "undo", f"Undo of {batch.kind} {batch.id[:8]}",
                     undoes=batch.id) as undo:
        if batch.kind == "bulk_add":
            done = [rec.object_id for rec, _ in todo]
            record_rows(session, actor, [
                {"object_type": "authorization", "object_id": rec.object_id,
                 "object_label": rec.object_label, "client_id": rec.client_id,
                 "action": "delete", "changes": {k: [v[1], None]
                                                 for k, v in rec.changes.items()}}
                for rec, _ in todo])
            for chunk in _chunks(done):
                session.execute(delete(Alert.__table__).where(
                    Alert.__table__.c.authorization_id.in_(chunk)))
                session.execute(delete(a).where(a.c.id.in_(chunk)))
        else:
            done = []
            restore_rows = []
            errors = []
            for rec, row in todo:
                before = {f: _parse(f, v[0]) for f, v in rec.changes.items()}
                state = {**{f: None for f in EDITABLE_FIELDS},
                         **{f: getattr(row, f) for f in _STATE if f in EDITABLE_FIELDS},
                         **{f: getattr(row, f) for f in UPDATE_FIELDS}, **before}
                problems = check_values(state, pending=row.pending_units, overdrawn=row.overdrawn)
                if problems:
                    errors.append(f"{_label(row)}: " + "; ".join(
                        f"{FIELD_LABELS.get(k, k)} {m}" for k, m in problems.items()))
                    continue
                restore_rows.append((rec, row, before))
            if errors:
                raise ValidationError("Nothing was undone: restoring would make some "
                                      "authorizations invalid.", details=_named(errors,
                                                                                len(errors)))
            by_fields: dict[tuple, list] = {}
            for rec, row, before in restore_rows:
                by_fields.setdefault(tuple(sorted(before)), []).append((rec, row, before))
            for fields, items in by_fields.items():
                stmt = (update(a).where(a.c.id == bindparam("b_id"))
                        .values(**{f: bindparam(f"b_{f}") for f in fields},
                                last_edited_at=now, last_edited_by=actor.name,
                                version=a.c.version + 1))
                session.execute(stmt, [{"b_id": rec.object_id,
                                        **{f"b_{f}": before[f] for f in fields}}
                                       for rec, _, before in items])
            done = [rec.object_id for rec, _, _ in restore_rows]
            _recompute_active(session, done, today)
            versions = _versions(session, done)
            record_rows(session, actor, [
                {"object_type": "authorization", "object_id": rec.object_id,
                 "object_label": rec.object_label, "client_id": rec.client_id,
                 "action": "update", "version": versions[rec.object_id],
                 "changes": {f: [v[1], v[0]] for f, v in rec.changes.items()}}
                for rec, _, _ in restore_rows])
        undo.row_count = len(done)
        batch.undone_by_batch_id = undo.id
        if batch.kind == "update_codes_listed":
            sync_alerts(session, today, done)
    session.expire_all()
    return BulkResult(undo.id, len(done), done, refused)


def _parse(field_name: str, value):
    """An audit record's JSON value back to the column's Python type."""
    if value is None:
        return None
    if field_name in ("start_date", "end_date"):
        return dt.date.fromisoformat(value)
    if field_name == "sliding_scale_pct":
        from decimal import Decimal
        return Decimal(value)
    return value
