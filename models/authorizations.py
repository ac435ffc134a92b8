"""Authorizations: permission to bill one billing code for one client within dates, for a number
of units. The unit invariants are CHECK constraints as well as rules (rules.units)."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import (Boolean, CheckConstraint, Date, DateTime, ForeignKey, Index, Integer,
                        String, false, text)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Percent, db, utcnow

#: "At or below alert level" (the master list's filter): managed, a level set, remaining ≤ it.
#: Written once so that the partial index below and the filter are the same expression.
AT_OR_BELOW_ALERT_LEVEL = ("NOT unmanaged AND unit_alert_level IS NOT NULL "
                           "AND remaining_units <= unit_alert_level")


class Authorization(db.Model):
    __tablename__ = "authorizations"
    __table_args__ = (
        CheckConstraint("end_date >= start_date", name="end_not_before_start"),
        CheckConstraint("allotted_units >= 0", name="allotted_not_negative"),
        CheckConstraint("remaining_units <= allotted_units", name="remaining_within_allotted"),
        CheckConstraint("pending_units >= 0", name="pending_not_negative"),
        # Only a recorded override (rules.units) may take a managed auth past its units.
        CheckConstraint(
            "overdrawn OR (remaining_units >= 0 AND pending_units <= remaining_units)",
            name="units_not_overspent"),
        CheckConstraint("NOT unmanaged OR pending_units = 0", name="unmanaged_holds_nothing"),
        CheckConstraint("unit_alert_level IS NULL OR unit_alert_level >= 0",
                        name="alert_level_not_negative"),
        CheckConstraint("exp_alert_days IS NULL OR exp_alert_days >= 0",
                        name="alert_days_not_negative"),
        CheckConstraint("sliding_scale_pct IS NULL OR "
                        "(sliding_scale_pct >= 0 AND sliding_scale_pct <= 10000)",
                        name="sliding_scale_0_to_100"),
        CheckConstraint("version >= 1", name="version_positive"),
        # Siblings of a note: same client, same auth group, dates covering the service date.
        Index("ix_authorizations_client_group", "client_id", "auth_group_id"),
        Index("ix_authorizations_client_dates", "client_id", "start_date", "end_date"),
        # The dashboard's "closest to running out": active auths by units left, read in order.
        Index("ix_authorizations_active_remaining", "active", "remaining_units"),
        # The master list: each filter's column, then end_date (the default order, and the
        # "expired hidden" range), so a filtered page and its count are index range scans;
        # client_id last makes them covering for the join to the client's filters (division,
        # groups, therapist): a count of 10,000 rows reads no table row (bench: 75 → 12 ms).
        Index("ix_authorizations_code_end", "billing_code_id", "end_date", "client_id"),
        Index("ix_authorizations_group_end", "auth_group_id", "end_date", "client_id"),
        Index("ix_authorizations_payer_end", "insurance_company_id", "end_date", "client_id"),
        Index("ix_authorizations_provider_end", "specific_provider_id", "end_date",
              "client_id"),
        Index("ix_authorizations_active_end", "active", "end_date"),
        # Counting a filtered list reads only this index (no table rows): the range of end
        # dates, then the columns the filters test.
        Index("ix_authorizations_list_cover", "end_date", "client_id", "insurance_company_id",
              "specific_provider_id", "billing_code_id", "auth_group_id"),
        Index("ix_authorizations_low_units", "end_date",
              sqlite_where=text(AT_OR_BELOW_ALERT_LEVEL),
              postgresql_where=text(AT_OR_BELOW_ALERT_LEVEL)),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), nullable=False)
    # Columns the master list filters on are indexed by the (column, end_date, client_id)
    # indexes above, which also serve lookups by the column alone (foreign keys): no
    # single-column index besides them (every index is written on every insert; bench).
    billing_code_id: Mapped[int] = mapped_column(ForeignKey("billing_codes.id"), nullable=False)
    start_date: Mapped[dt.date] = mapped_column(Date, nullable=False, index=True)
    end_date: Mapped[dt.date] = mapped_column(Date, nullable=False, index=True)
    allotted_units: Mapped[int] = mapped_column(Integer, nullable=False)
    remaining_units: Mapped[int] = mapped_column(Integer, nullable=False)
    pending_units: Mapped[int] = mapped_column(Integer, nullable=False, default=0,
                                               server_default="0")
    unit_alert_level: Mapped[int | None] = mapped_column(Integer)
    exp_alert_days: Mapped[int | None] = mapped_column(Integer)
    # Generated ("A-000042", unique) unless the payer's number was typed in.
    auth_number: Mapped[str] = mapped_column(String(40), nullable=False, index=True)
    specific_provider_id: Mapped[int | None] = mapped_column(ForeignKey("providers.id"))
    insurance_company_id: Mapped[int | None] = mapped_column(
        ForeignKey("insurance_companies.id"))
    exclude_from_notes: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False,
                                                     server_default=false())
    auth_group_id: Mapped[int | None] = mapped_column(ForeignKey("auth_groups.id"))
    unmanaged: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False,
                                            server_default=false())
    # Computed by rules.status, never typed.
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False,
                                         server_default=false())
    is_default: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False,
                                             server_default=false())
    suspend_alerts: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False,
                                                 server_default=false())
    sliding_scale_pct: Mapped[Decimal | None] = mapped_column(Percent)
    inpatient: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False,
                                            server_default=false())
    # Set only while a recorded override holds the auth past its units.
    overdrawn: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False,
                                            server_default=false())
    last_edited_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False,
                                                        default=utcnow)
    last_edited_by: Mapped[str] = mapped_column(String(120), nullable=False, default="system")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False, default=utcnow)
    # Bumped by every change: bulk undo refuses rows changed since.
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1, server_default="1")

    client = relationship("Client", lazy="joined", innerjoin=True)
    billing_code = relationship("BillingCode", lazy="joined", innerjoin=True)
    specific_provider = relationship("Provider")
    insurance_company = relationship("InsuranceCompany")
    auth_group = relationship("AuthGroup")

    @property
    def available_units(self) -> int | None:
        """Units a new note may still claim; None means unlimited (unmanaged)."""
        if self.unmanaged:
            return None
        return self.remaining_units - self.pending_units

    @property
    def used_units(self) -> int:
        """Units used, counting those used before the auth was entered (rule 18)."""
        return self.allotted_units - self.remaining_units

    @property
    def percent_used(self) -> int:
        if not self.allotted_units:
            return 0
        return round(100 * self.used_units / self.allotted_units)

    @property
    def label(self) -> str:
        return f"{self.auth_number} ({self.billing_code.code})"

    def __str__(self) -> str:
        return self.label


class Counter(db.Model):
    """Named counters handed out in blocks inside the caller's transaction (auth numbers)."""

    __tablename__ = "counters"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
