"""Tables for practice records, AI diagnoses and trainer reviews."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Float, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from yanxiu.db.base import Base, str_enum, utcnow


class RecordKind(enum.StrEnum):
    TRANSCRIPT = "transcript"
    LESSON_PLAN = "lesson_plan"


class DiagnosisStatus(enum.StrEnum):
    PENDING_REVIEW = "pending_review"
    ACCEPTED = "accepted"
    EDITED = "edited"
    REJECTED = "rejected"
    CONTESTED = "contested"  # the teacher disputes the reviewed diagnosis; back to a trainer


class ReviewDecision(enum.StrEnum):
    ACCEPT = "accept"
    EDIT = "edit"
    REJECT = "reject"
    CONTEST = "contest"  # the teacher disputes a reviewed diagnosis


class PracticeRecord(Base):
    __tablename__ = "practice_records"

    id: Mapped[int] = mapped_column(primary_key=True)
    teacher_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    kind: Mapped[RecordKind] = mapped_column(str_enum(RecordKind))
    title: Mapped[str] = mapped_column(String(200))
    stage: Mapped[str] = mapped_column(String(16), default="")
    subject: Mapped[str] = mapped_column(String(16), default="")
    filename: Mapped[str] = mapped_column(String(255), default="")
    source_format: Mapped[str] = mapped_column(String(16), default="text")
    text: Mapped[str] = mapped_column(Text)  # normalised text as parsed
    parsed: Mapped[dict] = mapped_column(default=dict)  # utterances or sections
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Diagnosis(Base):
    __tablename__ = "diagnoses"

    id: Mapped[int] = mapped_column(primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("practice_records.id"), index=True)
    model_version: Mapped[str] = mapped_column(String(64))
    analytics: Mapped[dict] = mapped_column(default=dict)
    scores: Mapped[dict] = mapped_column(default=dict)  # dimension -> {score, evidence, …}
    report: Mapped[dict] = mapped_column(default=dict)  # strengths, weaknesses, suggestions
    confidence: Mapped[float] = mapped_column(Float, default=0.0)
    status: Mapped[DiagnosisStatus] = mapped_column(str_enum(DiagnosisStatus), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    record: Mapped[PracticeRecord] = relationship()


class DiagnosisReview(Base):
    """Append-only: each trainer decision or teacher contest is a new row."""

    __tablename__ = "diagnosis_reviews"

    id: Mapped[int] = mapped_column(primary_key=True)
    diagnosis_id: Mapped[int] = mapped_column(ForeignKey("diagnoses.id"), index=True)
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    decision: Mapped[ReviewDecision] = mapped_column(str_enum(ReviewDecision))
    scores: Mapped[dict] = mapped_column(default=dict)
    report: Mapped[dict] = mapped_column(default=dict)
    comment: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
