"""Notes: documented services that draw units from authorizations. A note's claims record the
units it holds on each auth (its own and its auth-group siblings), so that release, void and
delete move exactly what was claimed."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import (Boolean, CheckConstraint, Date, DateTime, ForeignKey, Index, Integer,
                        String, Text, false)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Money, db, utcnow

DRAFT, RELEASED, VOIDED = "draft", "released", "voided"
NOTE_STATUSES = (DRAFT, RELEASED, VOIDED)


class Note(db.Model):
    __tablename__ = "notes"
    __table_args__ = (
        CheckConstraint("units >= 1", name="units_positive"),
        CheckConstraint("status IN ('draft', 'released', 'voided')", name="status_known"),
        Index("ix_notes_client_date", "client_id", "service_date"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), nullable=False)
    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id"), nullable=False,
                                             index=True)
    service_date: Mapped[dt.date] = mapped_column(Date, nullable=False, index=True)
    billing_code_id: Mapped[int] = mapped_column(ForeignKey("billing_codes.id"), nullable=False,
                                                 index=True)
    authorization_id: Mapped[int] = mapped_column(ForeignKey("authorizations.id"),
                                                  nullable=False, index=True)
    units: Mapped[int] = mapped_column(Integer, nullable=False)
    status: Mapped[str] = mapped_column(String(10), nullable=False, default=DRAFT, index=True)
    payer_id: Mapped[int | None] = mapped_column(ForeignKey("insurance_companies.id"),
                                                 index=True)
    charge: Mapped[Decimal] = mapped_column(Money, nullable=False, default=Decimal("0.00"))
    inpatient: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False,
                                            server_default=false())
    comment: Mapped[str | None] = mapped_column(Text)
    # A recorded override of the authorized units (rule 1).
    override_by: Mapped[str | None] = mapped_column(String(120))
    override_reason: Mapped[str | None] = mapped_column(Text)
    override_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    released_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    released_by: Mapped[str | None] = mapped_column(String(120))
    voided_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    voided_by: Mapped[str | None] = mapped_column(String(120))
    void_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(120), nullable=False, default="system")
    last_edited_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False, default=utcnow)
    last_edited_by: Mapped[str] = mapped_column(String(120), nullable=False, default="system")

    client = relationship("Client")
    provider = relationship("Provider")
    billing_code = relationship("BillingCode")
    authorization = relationship("Authorization")
    payer = relationship("InsuranceCompany")
    claims: Mapped[list["NoteClaim"]] = relationship(
        back_populates="note", cascade="all, delete-orphan", order_by="NoteClaim.authorization_id")

    @property
    def label(self) -> str:
        return f"Note N-{self.id}"

    def __str__(self) -> str:
        return self.label


class NoteClaim(db.Model):
    """Units a note holds on one managed authorization (pending while draft, used once released)."""

    __tablename__ = "note_claims"
    __table_args__ = (CheckConstraint("units >= 1", name="units_positive"),)

    note_id: Mapped[int] = mapped_column(ForeignKey("notes.id", ondelete="CASCADE"),
                                         primary_key=True)
    authorization_id: Mapped[int] = mapped_column(ForeignKey("authorizations.id"),
                                                  primary_key=True, index=True)
    units: Mapped[int] = mapped_column(Integer, nullable=False)

    note: Mapped[Note] = relationship(back_populates="claims")
    authorization = relationship("Authorization")
