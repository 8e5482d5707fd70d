"""Tables for practice records, AI diagnoses and trainer reviews.

The diagnosis columns hold the typed draft of :mod:`yanxiu.practice.draft`: :class:`DraftJSON`
turns it into JSON on the way to the database and back into models on the way out, and an
assignment of plain JSON (a fixture, a test) is validated into the models at once.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Generic, TypeVar

from sqlalchemy import JSON, Dialect, Float, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates
from sqlalchemy.types import TypeDecorator

from yanxiu.db.base import Base, str_enum, utcnow
from yanxiu.practice.draft import (
    JSONObject,
    LessonAnalytics,
    Report,
    Scores,
    dump_part,
    dump_review_scores,
    dump_scores,
    load_analytics,
    load_report,
    load_review_report,
    load_review_scores,
    load_scores,
)

T = TypeVar("T")


def _empty() -> dict[str, object]:
    """What an insert stores for a diagnosis column left unset: an empty part (no report)."""
    return {}


class DraftJSON(TypeDecorator[T], Generic[T]):
    """A JSON column holding a part of the typed diagnosis (``load``: stored JSON, of any
    version, to the model; ``dump``: the model to JSON tagged with the current version)."""

    impl = JSON
    cache_ok = True
    should_evaluate_none = True  # None is a value (a review without a report), stored as {}

    def __init__(self, load: Callable[[object], T], dump: Callable[[T], JSONObject]) -> None:
        super().__init__()
        self.load, self.dump = load, dump

    def process_bind_param(self, value: object, dialect: Dialect) -> JSONObject:
        return self.dump(self.load(value))

    def process_result_value(self, value: object, dialect: Dialect) -> T:
        return self.load(value)


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
    # the AI draft; an insert without one stores an empty part
    analytics: Mapped[LessonAnalytics] = mapped_column(
        DraftJSON(load_analytics, dump_part), insert_default=_empty
    )
    scores: Mapped[Scores] = mapped_column(
        DraftJSON(load_scores, dump_scores), insert_default=_empty
    )
    report: Mapped[Report] = mapped_column(DraftJSON(load_report, dump_part), insert_default=_empty)
    confidence: Mapped[float] = mapped_column(Float, default=0.0)
    status: Mapped[DiagnosisStatus] = mapped_column(str_enum(DiagnosisStatus), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    record: Mapped[PracticeRecord] = relationship()

    @validates("analytics", "scores", "report")
    def _typed(self, key: str, value: object) -> object:
        return _load_assigned(DIAGNOSIS_COLUMNS[key], value)


class DiagnosisReview(Base):
    """Append-only: each trainer decision or teacher contest is a new row."""

    __tablename__ = "diagnosis_reviews"

    id: Mapped[int] = mapped_column(primary_key=True)
    diagnosis_id: Mapped[int] = mapped_column(ForeignKey("diagnoses.id"), index=True)
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    decision: Mapped[ReviewDecision] = mapped_column(str_enum(ReviewDecision))
    # the reviewed scores (a rejection keeps the AI's; a contest has none)
    scores: Mapped[dict[str, int]] = mapped_column(
        DraftJSON(load_review_scores, dump_review_scores), insert_default=_empty
    )
    # the report as decided (None for a rejection or a contest)
    report: Mapped[Report | None] = mapped_column(
        DraftJSON(load_review_report, dump_part), insert_default=_empty, nullable=False
    )
    comment: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    @validates("scores", "report")
    def _typed(self, key: str, value: object) -> object:
        return _load_assigned(REVIEW_COLUMNS[key], value)


# Assigning plain JSON to a diagnosis column (fixtures, tests) validates it into the models
# right away, so what the session holds is typed before it is ever stored.
DIAGNOSIS_COLUMNS: dict[str, Callable[[object], object]] = {
    "analytics": load_analytics, "scores": load_scores, "report": load_report,
}  # fmt: skip
REVIEW_COLUMNS: dict[str, Callable[[object], object]] = {
    "scores": load_review_scores, "report": load_review_report,
}  # fmt: skip


def _load_assigned(load: Callable[[object], object], value: object) -> object:
    return load(value) if isinstance(value, Mapping) else value
