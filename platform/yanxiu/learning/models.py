"""Study recorded by the server: unit progress and quiz attempts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Float, ForeignKey, Integer, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from yanxiu.db.base import Base, utcnow


class UnitProgress(Base):
    """A teacher's progress in one unit.

    Text and documents: ``opened_at`` then ``completed_at`` when the end was reached.
    Video and audio: ``frontier`` is how far (seconds) the teacher has played without gaps,
    advanced by position reports at most as fast as the server's clock runs.
    """

    __tablename__ = "unit_progress"
    __table_args__ = (UniqueConstraint("teacher_id", "unit_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    teacher_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("course_units.id"), index=True)
    opened_at: Mapped[datetime | None] = mapped_column()
    frontier: Mapped[float] = mapped_column(Float, default=0.0)
    last_position: Mapped[float] = mapped_column(Float, default=0.0)
    last_report_at: Mapped[datetime | None] = mapped_column()
    reports: Mapped[int] = mapped_column(Integer, default=0)
    refused_jumps: Mapped[int] = mapped_column(Integer, default=0)
    completed_at: Mapped[datetime | None] = mapped_column()


class QuizAttempt(Base):
    """One attempt at a course quiz: the questions drawn, their option order, the result."""

    __tablename__ = "quiz_attempts"
    __table_args__ = (UniqueConstraint("teacher_id", "course_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    teacher_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)  # 1, 2, … up to the policy's limit
    course_version: Mapped[int] = mapped_column(Integer, default=1)
    # [{"q": question id, "order": [option indices in the order shown]}]
    paper: Mapped[list] = mapped_column(default=list)
    answers: Mapped[dict] = mapped_column(default=dict)  # question id -> chosen option indices
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    submitted_at: Mapped[datetime | None] = mapped_column()
    score: Mapped[int | None] = mapped_column(Integer)
    passed: Mapped[bool | None] = mapped_column(Boolean)
