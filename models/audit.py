"""The audit trail: who changed what, when, before → after, from which request and which bulk
operation. Records are append-only; the database refuses UPDATE and DELETE on them (triggers
created by the migrations)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import db, utcnow


class AuditBatch(db.Model):
    """One bulk operation (Bulk Add, Update Codes Listed, bulk release, import, a job run)."""

    __tablename__ = "audit_batches"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    kind: Mapped[str] = mapped_column(String(40), nullable=False, index=True)
    description: Mapped[str] = mapped_column(Text, nullable=False, default="")
    actor_id: Mapped[int | None] = mapped_column(Integer)
    actor_name: Mapped[str] = mapped_column(String(120), nullable=False)
    request_id: Mapped[str | None] = mapped_column(String(36))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False, default=utcnow,
                                                    index=True)
    row_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    # The batch that undid this one, if any.
    undone_by_batch_id: Mapped[str | None] = mapped_column(String(36))
    undoes_batch_id: Mapped[str | None] = mapped_column(String(36))

    def __str__(self) -> str:
        return f"{self.kind} {self.id[:8]} by {self.actor_name}"


class AuditRecord(db.Model):
    __tablename__ = "audit_records"
    __table_args__ = (Index("ix_audit_records_object", "object_type", "object_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False, default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(Integer, index=True)
    actor_name: Mapped[str] = mapped_column(String(120), nullable=False)
    object_type: Mapped[str] = mapped_column(String(40), nullable=False)
    object_id: Mapped[int | None] = mapped_column(Integer)
    object_label: Mapped[str] = mapped_column(String(255), nullable=False, default="")
    # The client the object belongs to (its chart's History tab lists these).
    client_id: Mapped[int | None] = mapped_column(Integer, index=True)
    action: Mapped[str] = mapped_column(String(20), nullable=False)  # create / update / delete / …
    # {"field": [before, after], ...}; a create has before = None, a delete after = None.
    changes: Mapped[dict] = mapped_column(JSON, nullable=False, default=dict)
    request_id: Mapped[str | None] = mapped_column(String(36), index=True)
    batch_id: Mapped[str | None] = mapped_column(ForeignKey("audit_batches.id"), index=True)
    # The object's version after this change (authorizations), used by bulk undo.
    version: Mapped[int | None] = mapped_column(Integer)
    comment: Mapped[str | None] = mapped_column(Text)

    batch = relationship("AuditBatch")
