"""Ledger tables. All three are append-only: the database refuses UPDATE and DELETE on them
(triggers created by the migration), so a wrong record is voided and replaced, never edited."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from yanxiu.db.base import Base, str_enum, utcnow


class CreditSource(enum.StrEnum):
    ONLINE = "online"  # 网络研修：在线课程完成
    OFFLINE = "offline"  # 集中面授：线下签到
    SCHOOL_BASED = "school_based"  # 校本研修
    RESEARCH = "research"  # 教研活动
    IMPORT = "import"  # 其他平台导入（学分银行）


class ReviewState(enum.StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class CreditRecord(Base):
    __tablename__ = "credit_records"

    id: Mapped[int] = mapped_column(primary_key=True)
    teacher_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    source: Mapped[CreditSource] = mapped_column(str_enum(CreditSource))
    category: Mapped[str] = mapped_column(String(32))
    hours: Mapped[float] = mapped_column(Numeric(7, 2, asdecimal=False))
    earned_on: Mapped[date] = mapped_column(Date)
    title: Mapped[str] = mapped_column(String(200))
    evidence: Mapped[dict] = mapped_column(default=dict)  # e.g. course code, session id, file
    # Identifies the fact being credited ("course:SD-001", "session:12"); unique per teacher,
    # which is what makes crediting idempotent.
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    initial_review_state: Mapped[ReviewState] = mapped_column(str_enum(ReviewState))
    # The policy (code-version) under which the record was credited; a later policy edit
    # never rewrites it.
    policy_version: Mapped[str] = mapped_column(String(40), default="", server_default="")
    replaces_id: Mapped[int | None] = mapped_column(ForeignKey("credit_records.id"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CreditVoid(Base):
    __tablename__ = "credit_voids"

    id: Mapped[int] = mapped_column(primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("credit_records.id"), unique=True)
    reason: Mapped[str] = mapped_column(Text)
    voided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CreditReview(Base):
    __tablename__ = "credit_reviews"

    id: Mapped[int] = mapped_column(primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("credit_records.id"), index=True)
    state: Mapped[ReviewState] = mapped_column(str_enum(ReviewState))
    comment: Mapped[str] = mapped_column(Text, default="")
    reviewer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
