"""Authorization alerts: open while their condition holds (rules.alerts), closed by the rules or
the daily job when it stops; each recipient may acknowledge an alert for themself."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import db, utcnow

UNITS, EXPIRING, EXHAUSTED, EXPIRED = "units", "expiring", "exhausted", "expired"
ALERT_KINDS = (UNITS, EXPIRING, EXHAUSTED, EXPIRED)
ALERT_KIND_LABELS = {
    UNITS: "Low units",
    EXPIRING: "Expiring soon",
    EXHAUSTED: "No units left",
    EXPIRED: "Expired",
}


class Alert(db.Model):
    __tablename__ = "alerts"
    __table_args__ = (
        # At most one open alert of a kind per authorization.
        Index("uq_alerts_open", "authorization_id", "kind", unique=True,
              sqlite_where=text("closed_at IS NULL"), postgresql_where=text("closed_at IS NULL")),
        Index("ix_alerts_kind_closed", "kind", "closed_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    authorization_id: Mapped[int] = mapped_column(
        ForeignKey("authorizations.id", ondelete="CASCADE"), nullable=False)
    kind: Mapped[str] = mapped_column(String(12), nullable=False)
    opened_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False, default=utcnow,
                                                   index=True)
    closed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)

    authorization = relationship("Authorization")


class AlertAcknowledgement(db.Model):
    __tablename__ = "alert_acknowledgements"
    __table_args__ = (UniqueConstraint("alert_id", "user_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"),
                                          nullable=False)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False, index=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False, default=utcnow)
