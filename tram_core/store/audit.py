"""The audit trail: one ``audit_events`` row per change that is not a label change (labels keep their own history
in ``label_events``): who, when, what kind, on what, and the before/after where it matters."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Integer, String, select
from sqlalchemy.orm import Mapped, mapped_column

from tram_core.store.base import StoreBase
from tram_core.store.schema import Base, utcnow


class AuditEventRow(Base):
    __tablename__ = "audit_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    user: Mapped[str] = mapped_column(String(200), default="", index=True)
    kind: Mapped[str] = mapped_column(String(40), index=True)
    target: Mapped[str] = mapped_column(String(300), default="")
    before: Mapped[Any] = mapped_column(JSON, nullable=True)
    after: Mapped[Any] = mapped_column(JSON, nullable=True)


@dataclass(frozen=True)
class AuditEvent:
    id: int
    at: datetime
    user: str
    kind: str
    target: str
    before: Any
    after: Any


class AuditMixin(StoreBase):
    def record_audit(self, user: str, kind: str, target: str = "", before: Any = None, after: Any = None) -> None:
        """Append one audit event (its own transaction)."""
        with self.session() as s:
            s.add(AuditEventRow(at=utcnow(), user=str(user), kind=kind, target=str(target)[:300], before=before,
                                after=after))

    def audit_events(self, user: str | None = None, kinds: tuple[str, ...] = (), since: datetime | None = None,
                     until: datetime | None = None, limit: int = 1000) -> list[AuditEvent]:
        """Audit events, newest first, filtered by person, kinds and a time range."""
        query = select(AuditEventRow).order_by(AuditEventRow.id.desc()).limit(limit)
        if user:
            query = query.where(AuditEventRow.user == user)
        if kinds:
            query = query.where(AuditEventRow.kind.in_(kinds))
        if since is not None:
            query = query.where(AuditEventRow.at >= since)
        if until is not None:
            query = query.where(AuditEventRow.at < until)
        with self.session() as s:
            return [AuditEvent(r.id, r.at, r.user, r.kind, r.target, r.before, r.after) for r in s.scalars(query)]
