"""Clients: name, date of birth, division, client groups, primary therapist and the payers on
file — exactly one of them primary whenever there are any (rule 8 takes the primary payer when
an auth names none). Inactive pick-list items, payers and providers stay where they are already
used but cannot be newly chosen (rule 14)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import Select, and_, select
from sqlalchemy.orm import Session

from models import (Client, ClientGroup, ClientPayer, Division, InsuranceCompany, Provider,
                    name_key)

from . import values as v
from .actor import Actor
from .clock import clinic_today
from .errors import NotFound, ValidationError
from .permissions import EDIT_CLIENTS

#: Fields of the client itself a user may set.
CLIENT_FIELDS = ("first_name", "last_name", "dob", "division_id", "primary_therapist_id",
                 "active")

_PARSERS = {
    "first_name": lambda x: v.text(x, max_length=80, required=True),
    "last_name": lambda x: v.text(x, max_length=80, required=True),
    "dob": v.date_value,
    "division_id": v.optional_id,
    "primary_therapist_id": v.optional_id,
    "active": v.flag,
}
_REFERENCES = {
    "division_id": (Division, "Division"),
    "primary_therapist_id": (Provider, "Primary therapist"),
}


def _clean(fields: dict, errors: dict) -> dict:
    clean = {}
    for key, value in fields.items():
        if key not in _PARSERS:
            errors[key] = "cannot be set here"
            continue
        try:
            clean[key] = _PARSERS[key](value)
        except ValueError as exc:
            errors[key] = str(exc)
    return clean


def _chosen(session, model, ref_id, was_id, noun: str):
    """The row, or a message: it must exist, and be active unless it was already chosen."""
    row = session.get(model, ref_id)
    if row is None:
        return None, f"{noun} #{ref_id} does not exist"
    if not row.active and ref_id != was_id:
        return None, f"{noun} “{row}” is inactive and cannot be chosen"
    return row, None


def _check(session: Session, client: Client | None, clean: dict, group_ids, payers,
           errors: dict, today: dt.date):
    """Validate everything; returns (groups, payer rows as (company id, member id, primary))."""
    dob = clean.get("dob")
    if dob is not None and dob > today:
        errors["dob"] = "cannot be in the future"
    for field, (model, noun) in _REFERENCES.items():
        ref_id = clean.get(field)
        if ref_id is not None and field not in errors:
            _, problem = _chosen(session, model, ref_id, getattr(client, field, None), noun)
            if problem:
                errors[field] = problem
    groups = None
    if group_ids is not None:
        had = {g.id for g in client.client_groups} if client else set()
        groups = []
        for raw in group_ids:
            try:
                gid = v.optional_id(raw)
            except ValueError as exc:
                errors["client_groups"] = str(exc)
                continue
            if gid is None or gid in {g.id for g in groups}:
                continue
            group, problem = _chosen(session, ClientGroup, gid, gid if gid in had else None,
                                     "Client group")
            if problem:
                errors["client_groups"] = problem
            else:
                groups.append(group)
    rows = None
    if payers is not None:
        on_file = {p.insurance_company_id for p in client.payers} if client else set()
        rows, seen = [], set()
        for n, payer in enumerate(payers, start=1):
            try:
                company_id = v.optional_id(payer.get("insurance_company_id"))
                member_id = v.text(payer.get("member_id"), max_length=40)
                primary = v.flag(payer.get("is_primary", False))
            except ValueError as exc:
                errors["payers"] = f"payer {n}: {exc}"
                continue
            if company_id is None:
                if member_id:
                    errors["payers"] = f"payer {n}: choose the insurance company"
                continue
            company, problem = _chosen(session, InsuranceCompany, company_id,
                                       company_id if company_id in on_file else None,
                                       "Insurance company")
            if problem:
                errors["payers"] = f"payer {n}: {problem}"
            elif company_id in seen:
                errors["payers"] = f"“{company}” is listed twice"
            else:
                seen.add(company_id)
                rows.append((company_id, member_id, primary))
        if len(rows) == 1:
            rows[0] = (rows[0][0], rows[0][1], True)  # a lone payer is the primary payer
        if rows and "payers" not in errors and sum(1 for r in rows if r[2]) != 1:
            errors["payers"] = "mark exactly one payer as the primary payer"
    return groups, rows


def _apply_payers(session: Session, client: Client, rows) -> None:
    """Replace the payers on file. The old primary is cleared in a flush of its own first, so
    the one-primary index never sees two."""
    wanted = {company_id: (member_id, primary) for company_id, member_id, primary in rows}
    for payer in list(client.payers):
        if payer.is_primary and not wanted.get(payer.insurance_company_id, (None, False))[1]:
            payer.is_primary = False
    session.flush()
    for payer in list(client.payers):
        if payer.insurance_company_id not in wanted:
            client.payers.remove(payer)
    session.flush()
    existing = {p.insurance_company_id: p for p in client.payers}
    for company_id, (member_id, primary) in wanted.items():
        payer = existing.get(company_id)
        if payer is None:
            client.payers.append(ClientPayer(insurance_company_id=company_id,
                                             member_id=member_id, is_primary=primary))
        else:
            payer.member_id, payer.is_primary = member_id, primary
    session.flush()


def create_client(session: Session, actor: Actor, fields: dict, *, client_group_ids=(),
                  payers=(), today: dt.date | None = None) -> Client:
    """A new client. ``payers``: dicts of insurance_company_id, member_id, is_primary."""
    actor.require(EDIT_CLIENTS, "add clients")
    errors: dict[str, str] = {}
    clean = _clean(fields, errors)
    for required in ("first_name", "last_name", "dob"):
        if clean.get(required) is None and required not in errors:
            errors[required] = "is required"
    groups, rows = _check(session, None, clean, list(client_group_ids), list(payers), errors,
                          today or clinic_today())
    if errors:
        raise ValidationError(errors)
    client = Client(**{k: val for k, val in clean.items()})
    client.client_groups = groups
    session.add(client)
    session.flush()
    _apply_payers(session, client, rows)
    return client


def update_client(session: Session, actor: Actor, client_id: int, fields: dict, *,
                  client_group_ids=None, payers=None, today: dt.date | None = None) -> Client:
    """Change the given fields; ``client_group_ids`` / ``payers`` replace those lists when given."""
    actor.require(EDIT_CLIENTS, "edit clients")
    client = session.get(Client, client_id) if isinstance(client_id, int) else None
    if client is None:
        raise NotFound(f"Client #{client_id} does not exist (it may have been deleted).")
    errors: dict[str, str] = {}
    clean = _clean(fields, errors)
    for required in ("first_name", "last_name", "dob"):
        if required in clean and clean[required] is None and required not in errors:
            errors[required] = "is required"
    groups, rows = _check(session, client, clean, None if client_group_ids is None
                          else list(client_group_ids), None if payers is None else list(payers),
                          errors, today or clinic_today())
    if errors:
        raise ValidationError(errors)
    for key, val in clean.items():
        if getattr(client, key) != val:
            setattr(client, key, val)
    if groups is not None and [g.id for g in groups] != [g.id for g in client.client_groups]:
        client.client_groups = groups
    session.flush()
    if rows is not None:
        _apply_payers(session, client, rows)
    return client


def client_by_id(session: Session, client_id) -> Client:
    try:
        cid = v.optional_id(client_id)
    except ValueError:
        cid = None
    client = session.get(Client, cid) if cid else None
    if client is None:
        raise NotFound(f"Client #{client_id} does not exist (it may have been deleted).")
    return client


def name_search_key(term: str) -> str:
    """What a user types ("Hanson, Mark", "hanson m") as a prefix of Client.name_key."""
    return " ".join((term or "").replace(",", " ").split()).casefold()


def starts_with(column, text: str):
    """``column`` starts with ``text``, as a range the column's B-tree index answers (byte order:
    SQLite, and PostgreSQL with a C / C.UTF-8 collation), with LIKE as the exact check. None
    when there is nothing to match."""
    if not text:
        return None
    upper = text[:-1] + chr(ord(text[-1]) + 1)
    return and_(column >= text, column < upper, column.startswith(text, autoescape=True))


def clients_named(stmt: Select, query: str | None) -> Select:
    """Restrict a select of clients to those whose "last first" name starts with ``query``."""
    cond = starts_with(Client.name_key, name_search_key(query or ""))
    return stmt if cond is None else stmt.where(cond)


def find_clients(session: Session, *, last_name: str, first_name: str, dob) -> list[Client]:
    """Clients with exactly this name (any case, spacing trimmed) and date of birth."""
    return list(session.scalars(select(Client).where(
        Client.name_key == name_key(last_name, first_name), Client.dob == dob)
        .order_by(Client.id)))
