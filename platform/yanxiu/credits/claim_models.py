"""Tables for hours that rest on evidence a person brings: hour claims (学时申报) with their
evidence files, and the 学时证明 certificates issued from the ledger.

A claim is a working document (its state moves submitted → changes requested → submitted →
approved / rejected), so it is not append-only; every step is in the audit log, and what an
approval credits is an append-only ledger record (``credit_record_id``, unique: one credit per
claim). A certificate row keeps exactly what was certified, so a code can be checked later.
"""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Integer, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from yanxiu.db.base import Base, str_enum, utcnow


class ClaimKind(enum.StrEnum):
    SCHOOL_BASED = "school_based"  # 校本研修
    RESEARCH = "research"  # 教研活动
    EXTERNAL = "external"  # 外出培训（在其他机构参加的培训）


class ClaimState(enum.StrEnum):
    SUBMITTED = "submitted"  # waiting for a reviewer
    CHANGES_REQUESTED = "changes_requested"  # back with the teacher, who edits and resubmits
    APPROVED = "approved"  # credited to the ledger
    REJECTED = "rejected"


class HourClaim(Base):
    __tablename__ = "hour_claims"

    id: Mapped[int] = mapped_column(primary_key=True)
    teacher_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    kind: Mapped[ClaimKind] = mapped_column(str_enum(ClaimKind))
    category: Mapped[str] = mapped_column(String(32))
    hours: Mapped[float] = mapped_column(Numeric(7, 2, asdecimal=False))
    started_on: Mapped[date] = mapped_column(Date)
    ended_on: Mapped[date] = mapped_column(Date)
    organiser: Mapped[str] = mapped_column(String(120))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    state: Mapped[ClaimState] = mapped_column(str_enum(ClaimState, length=20), index=True)
    # bumped on each resubmission: a decision applies to the version the reviewer read
    revision: Mapped[int] = mapped_column(Integer, default=1)
    reviewer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decision_reason: Mapped[str] = mapped_column(Text, default="")
    decided_at: Mapped[datetime | None] = mapped_column(default=None)
    credit_record_id: Mapped[int | None] = mapped_column(
        ForeignKey("credit_records.id"), unique=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class ClaimEvidence(Base):
    __tablename__ = "claim_evidence"

    id: Mapped[int] = mapped_column(primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("hour_claims.id"), index=True)
    original_name: Mapped[str] = mapped_column(String(200))
    # a random name under <data_dir>/evidence, outside anything the web server serves
    stored_name: Mapped[str] = mapped_column(String(64), unique=True)
    media_type: Mapped[str] = mapped_column(String(40))  # from the file's bytes, not its name
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Certificate(Base):
    __tablename__ = "certificates"

    id: Mapped[int] = mapped_column(primary_key=True)
    # HMAC of the canonical content with the server's secret: unforgeable without the secret
    code: Mapped[str] = mapped_column(String(32), unique=True)
    teacher_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    period_kind: Mapped[str] = mapped_column(String(8))  # cycle | year
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)  # exclusive
    content: Mapped[dict] = mapped_column(default=dict)  # exactly what the PDF shows
    content_hash: Mapped[str] = mapped_column(String(64))  # sha256 of the canonical content
    total_hours: Mapped[float] = mapped_column(Numeric(8, 2, asdecimal=False))
    issued_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    issued_at: Mapped[datetime] = mapped_column(default=utcnow)
