"""Clients: find by name, add, read."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from extensions import db
from models import Client
from rules import NotFound
from rules.clients import clients_named, create_client
from rules.permissions import EDIT_CLIENTS, VIEW_CLIENTS

from . import schemas as s
from .auth import current_actor
from .operations import body_fields, operation


def client_out(c: Client) -> dict:
    return {"id": c.id, "first_name": c.first_name, "last_name": c.last_name, "dob": c.dob,
            "division_id": c.division_id, "primary_therapist_id": c.primary_therapist_id,
            "active": c.active, "client_group_ids": sorted(g.id for g in c.client_groups),
            "payers": [{"insurance_company_id": p.insurance_company_id,
                        "name": p.insurance_company.name, "member_id": p.member_id,
                        "primary": p.is_primary} for p in c.payers]}


def get_client_or_404(client_id: int) -> Client:
    client = db.session.get(Client, client_id)
    if client is None:
        raise NotFound(f"Client #{client_id} does not exist.")
    return client


@operation("GET", "/clients", summary="List clients", tag="Clients", query=s.ClientQuery,
           response=s.ClientPage, permission=VIEW_CLIENTS,
           description="Ordered by id; filter by the start of the name.")
def list_clients(query: s.ClientQuery):
    stmt = (select(Client).options(selectinload(Client.client_groups),
                                   selectinload(Client.payers))
            .order_by(Client.id).limit(query.limit + 1))
    stmt = clients_named(stmt, query.name)
    if query.cursor is not None:
        stmt = stmt.where(Client.id > int(query.cursor))
    rows = list(db.session.scalars(stmt))
    more = len(rows) > query.limit
    rows = rows[:query.limit]
    return {"items": [client_out(c) for c in rows],
            "next_cursor": str(rows[-1].id) if more else None}


@operation("POST", "/clients", summary="Add a client", tag="Clients", body=s.ClientCreate,
           response=s.Client, status=201, permission=EDIT_CLIENTS)
def add_client(body: s.ClientCreate):
    fields = body_fields(body)
    group_ids = fields.pop("client_group_ids", ())
    fields.pop("payers", None)
    payers = [{"insurance_company_id": p.insurance_company_id, "member_id": p.member_id,
               "is_primary": p.primary} for p in body.payers]
    client = create_client(db.session, current_actor(), fields, client_group_ids=group_ids,
                           payers=payers)
    return client_out(client)


@operation("GET", "/clients/{client_id}", summary="Read a client", tag="Clients",
           response=s.Client, permission=VIEW_CLIENTS)
def get_client(client_id: int):
    return client_out(get_client_or_404(client_id))
