"""Billing: payers (insurance companies), billing codes with their standard fee, and the billing
code groups that Bulk Add uses."""
from __future__ import annotations

from decimal import Decimal

from sqlalchemy import (Boolean, CheckConstraint, Column, ForeignKey, Integer, String, Table,
                        true)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Money, db


class InsuranceCompany(db.Model):
    """A payer."""

    __tablename__ = "insurance_companies"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True, nullable=False)
    payer_id: Mapped[str | None] = mapped_column(String(40))
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True,
                                         server_default=true())

    def __str__(self) -> str:
        return self.name if self.active else f"{self.name} (inactive)"


class BillingCode(db.Model):
    """A CPT / HCPCS / E/M / add-on code with its standard fee per unit."""

    __tablename__ = "billing_codes"
    __table_args__ = (
        CheckConstraint("rate >= 0", name="rate_not_negative"),
        CheckConstraint("default_units >= 1", name="default_units_positive"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True, nullable=False)
    description: Mapped[str] = mapped_column(String(255), nullable=False, default="")
    rate: Mapped[Decimal] = mapped_column(Money, nullable=False, default=Decimal("0.00"))
    default_units: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True,
                                         server_default=true())

    def __str__(self) -> str:
        label = f"{self.code} – {self.description}" if self.description else self.code
        return label if self.active else f"{label} (inactive)"


billing_code_group_members = Table(
    "billing_code_group_members",
    db.Model.metadata,
    Column("group_id", ForeignKey("billing_code_groups.id", ondelete="CASCADE"),
           primary_key=True),
    Column("billing_code_id", ForeignKey("billing_codes.id"), primary_key=True, index=True),
)


class BillingCodeGroup(db.Model):
    """A named set of billing codes (e.g. "Outpatient therapy"), used by Bulk Add."""

    __tablename__ = "billing_code_groups"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True, nullable=False)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True,
                                         server_default=true())

    codes: Mapped[list[BillingCode]] = relationship(
        secondary=billing_code_group_members, order_by=BillingCode.code)

    def __str__(self) -> str:
        return self.name if self.active else f"{self.name} (inactive)"
