"""Clients: adding a client (name, DOB, division, client groups, primary therapist, payers on
file with at most one primary), and finding clients by name."""
from __future__ import annotations

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from models import Client, ClientGroup, ClientPayer, Division, InsuranceCompany, Provider, name_key

from . import values as v
from .actor import Actor
from .errors import ValidationError
from .permissions import EDIT_CLIENTS

CLIENT_FIELDS = ("first_name", "last_name", "dob", "division_id", "primary_therapist_id",
                 "client_group_ids", "payers")


def _active_ref(session: Session, model, ref_id, noun: str) -> str | None:
    row = session.get(model, ref_id)
    if row is None:
        return f"{noun} #{ref_id} does not exist"
    if not row.active:
        return f"{noun} “{row}” is inactive and cannot be chosen"
    return None


def create_client(session: Session, actor: Actor, fields: dict) -> Client:
    """Add a client. ``payers``: [{"insurance_company_id", "member_id", "primary"}], at most one
    primary (the first is primary when none is marked)."""
    actor.require(EDIT_CLIENTS, "add clients")
    errors: dict[str, str] = {}
    clean: dict = {}
    for key in fields:
        if key not in CLIENT_FIELDS:
            errors[key] = "cannot be set here"
    parsers = {
        "first_name": lambda x: v.text(x, max_length=80, required=True),
        "last_name": lambda x: v.text(x, max_length=80, required=True),
        "dob": v.date_value,
        "division_id": v.optional_id,
        "primary_therapist_id": v.optional_id,
    }
    for key, parse in parsers.items():
        try:
            if key == "dob" and fields.get(key) is None:
                raise ValueError("is required")
            clean[key] = parse(fields.get(key))
        except ValueError as exc:
            errors[key] = str(exc)
    if clean.get("division_id") is not None:
        problem = _active_ref(session, Division, clean["division_id"], "Division")
        if problem:
            errors["division_id"] = problem
    if clean.get("primary_therapist_id") is not None:
        problem = _active_ref(session, Provider, clean["primary_therapist_id"], "Provider")
        if problem:
            errors["primary_therapist_id"] = problem
    groups = []
    for group_id in fields.get("client_group_ids") or []:
        try:
            group_id = v.optional_id(group_id)
        except ValueError as exc:
            errors["client_group_ids"] = str(exc)
            break
        problem = _active_ref(session, ClientGroup, group_id, "Client group")
        if problem:
            errors["client_group_ids"] = problem
            break
        groups.append(session.get(ClientGroup, group_id))
    payers, seen = [], set()
    raw_payers = fields.get("payers") or []
    for entry in raw_payers:
        try:
            payer_id = v.optional_id(entry.get("insurance_company_id"))
            member_id = v.text(entry.get("member_id"), max_length=40)
            primary = v.flag(entry.get("primary", False))
        except (ValueError, AttributeError) as exc:
            errors["payers"] = str(exc) if isinstance(exc, ValueError) else "must be objects"
            break
        problem = ("insurance company is required" if payer_id is None else
                   _active_ref(session, InsuranceCompany, payer_id, "Insurance company"))
        if problem is None and payer_id in seen:
            problem = "lists the same insurance company twice"
        if problem:
            errors["payers"] = problem
            break
        seen.add(payer_id)
        payers.append((payer_id, member_id, primary))
    if sum(1 for *_, primary in payers if primary) > 1:
        errors["payers"] = "at most one payer can be primary"
    if errors:
        raise ValidationError(errors)
    if payers and not any(primary for *_, primary in payers):
        payers[0] = (payers[0][0], payers[0][1], True)
    client = Client(first_name=clean["first_name"], last_name=clean["last_name"],
                    dob=clean["dob"], division_id=clean["division_id"],
                    primary_therapist_id=clean["primary_therapist_id"], active=True)
    client.client_groups = groups
    client.payers = [ClientPayer(insurance_company_id=p, member_id=m, is_primary=primary)
                     for p, m, primary in payers]
    session.add(client)
    session.flush()
    return client


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def name_search(query: str) -> str:
    """A search as typed ("Doe, Ja", "doe ja") as the name-key prefix it stands for."""
    parts = query.replace(",", " ").split()
    return name_key(parts[0] if parts else "", " ".join(parts[1:]))


def clients_named(stmt: Select, query: str | None) -> Select:
    """Restrict a select of clients to those whose "last first" name starts with ``query``."""
    key = name_search(query or "")
    if not key:
        return stmt
    return stmt.where(Client.name_key.like(_like_escape(key) + "%", escape="\\"))


def find_clients(session: Session, *, last_name: str, first_name: str, dob) -> list[Client]:
    """Clients with exactly this name (any case, spacing trimmed) and date of birth."""
    return list(session.scalars(select(Client).where(
        Client.name_key == name_key(last_name, first_name), Client.dob == dob)
        .order_by(Client.id)))
