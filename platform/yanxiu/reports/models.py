"""Summary tables the dashboards read at province scale (derived data, rebuilt at will).

A snapshot row holds one teacher's compliance as computed on ``as_of`` under a policy; the
watermark says which ledger rows the snapshot has seen. Anything credited, voided or reviewed
after it makes that teacher "dirty", and readers compute dirty teachers fresh, so a dashboard
built from snapshots shows the same figures as one computed from the ledger.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, Float, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from yanxiu.db.base import Base, utcnow


class ComplianceSnapshot(Base):
    __tablename__ = "compliance_snapshots"

    teacher_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    policy_code: Mapped[str] = mapped_column(String(64))
    as_of: Mapped[date] = mapped_column(Date)
    # What the report was computed from, besides the ledger: a change makes the row dirty.
    cycle_start: Mapped[date] = mapped_column(Date)
    tier: Mapped[str | None] = mapped_column(String(16))
    cycle_end: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(8))
    compliant: Mapped[bool] = mapped_column(Boolean)
    on_track: Mapped[bool] = mapped_column(Boolean)
    ethics_ok: Mapped[bool] = mapped_column(Boolean)
    current_year_met: Mapped[bool] = mapped_column(Boolean)
    past_years_ok: Mapped[bool] = mapped_column(Boolean)
    counted_total: Mapped[float] = mapped_column(Float)
    required_total: Mapped[float] = mapped_column(Float)
    progress: Mapped[float] = mapped_column(Float)
    ethics_hours: Mapped[float] = mapped_column(Float)
    pending_hours: Mapped[float] = mapped_column(Float)
    current_year_hours: Mapped[float] = mapped_column(Float)
    yearly_minimum: Mapped[float] = mapped_column(Float)
    projected_completion: Mapped[date | None] = mapped_column(Date)
    category_gaps: Mapped[str] = mapped_column(String(400), default="")


class ComplianceWatermark(Base):
    """One row per policy: the day and the newest ledger ids the snapshots were built from."""

    __tablename__ = "compliance_watermarks"

    policy_code: Mapped[str] = mapped_column(String(64), primary_key=True)
    as_of: Mapped[date] = mapped_column(Date)
    max_record_id: Mapped[int] = mapped_column(Integer)
    max_void_id: Mapped[int] = mapped_column(Integer)
    max_review_id: Mapped[int] = mapped_column(Integer)
    refreshed_at: Mapped[datetime] = mapped_column(default=utcnow)
