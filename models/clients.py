"""Clients (the patients): demographics, division, client groups, primary therapist and the
payers on file, exactly one of them primary."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import (Boolean, Column, Date, DateTime, ForeignKey, Index, Integer, String,
                        Table, event, text, true)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import db, utcnow

client_client_groups = Table(
    "client_client_groups",
    db.Model.metadata,
    Column("client_id", ForeignKey("clients.id", ondelete="CASCADE"), primary_key=True),
    Column("client_group_id", ForeignKey("client_groups.id"), primary_key=True, index=True),
)


def name_key(last_name: str | None, first_name: str | None) -> str:
    """The case-folded "last first" key that the index-backed name search uses."""
    return f"{(last_name or '').strip()} {(first_name or '').strip()}".strip().casefold()


class Client(db.Model):
    __tablename__ = "clients"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    first_name: Mapped[str] = mapped_column(String(80), nullable=False)
    last_name: Mapped[str] = mapped_column(String(80), nullable=False)
    # "last first", case-folded: a prefix search on it is a range scan of an index.
    name_key: Mapped[str] = mapped_column(String(170), nullable=False, index=True)
    dob: Mapped[dt.date] = mapped_column(Date, nullable=False)
    division_id: Mapped[int | None] = mapped_column(ForeignKey("divisions.id"), index=True)
    primary_therapist_id: Mapped[int | None] = mapped_column(ForeignKey("providers.id"),
                                                             index=True)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True,
                                         server_default=true())
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False, default=utcnow)

    division = relationship("Division")
    primary_therapist = relationship("Provider")
    client_groups = relationship("ClientGroup", secondary=client_client_groups,
                                 order_by="ClientGroup.sort_order")
    payers: Mapped[list["ClientPayer"]] = relationship(
        back_populates="client", cascade="all, delete-orphan", order_by="ClientPayer.id")

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}"

    @property
    def primary_payer(self):
        for p in self.payers:
            if p.is_primary:
                return p.insurance_company
        return None

    def __str__(self) -> str:
        return f"{self.last_name}, {self.first_name}"


@event.listens_for(Client, "before_insert")
@event.listens_for(Client, "before_update")
def _keep_name_key(mapper, connection, target: Client) -> None:
    target.name_key = name_key(target.last_name, target.first_name)


class ClientPayer(db.Model):
    """A payer on file for a client. At most one is primary (a partial unique index)."""

    __tablename__ = "client_payers"
    __table_args__ = (
        Index("uq_client_payers_one_primary", "client_id", unique=True,
              sqlite_where=text("is_primary"), postgresql_where=text("is_primary")),
        Index("uq_client_payers_client_payer", "client_id", "insurance_company_id", unique=True),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"),
                                           nullable=False)
    insurance_company_id: Mapped[int] = mapped_column(ForeignKey("insurance_companies.id"),
                                                      nullable=False, index=True)
    member_id: Mapped[str | None] = mapped_column(String(40))
    is_primary: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)

    client: Mapped[Client] = relationship(back_populates="payers")
    insurance_company = relationship("InsuranceCompany")

    def __str__(self) -> str:
        return f"{self.insurance_company}{' (primary)' if self.is_primary else ''}"
