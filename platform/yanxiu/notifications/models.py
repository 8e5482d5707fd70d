"""The notifications table: one row per person and event, read or not."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from yanxiu.db.base import Base, str_enum, utcnow


class NotificationKind(enum.StrEnum):
    DIAGNOSIS_REVIEWED = "diagnosis_reviewed"  # a trainer decided on the teacher's draft
    CONTEST_ANSWERED = "contest_answered"  # … on a diagnosis the teacher had contested
    CONTEST_RECEIVED = "contest_received"  # a teacher in the trainer's scope contested one
    PROGRAM_ASSIGNED = "program_assigned"  # a trainer enrolled the teacher in a programme
    SESSION_TOMORROW = "session_tomorrow"  # an offline session the teacher attends is tomorrow
    CASE_PUSHED = "case_pushed"  # a famous-teacher studio pushed a case to the teacher
    CLAIM_SUBMITTED = "claim_submitted"  # a teacher in the reviewer's scope claimed hours
    CLAIM_DECIDED = "claim_decided"  # a reviewer decided on the teacher's hour claim


class Notification(Base):
    __tablename__ = "notifications"
    # The same event never notifies the same person twice (retries, concurrent requests).
    __table_args__ = (UniqueConstraint("user_id", "event_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    kind: Mapped[NotificationKind] = mapped_column(str_enum(NotificationKind, length=24))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")
    link: Mapped[str] = mapped_column(String(300), default="")  # a path inside the app
    event_key: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    read_at: Mapped[datetime | None] = mapped_column(default=None)
