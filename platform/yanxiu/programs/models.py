"""Tables for hybrid training programs."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from yanxiu.db.base import Base, str_enum, utcnow


class ProgramStatus(enum.StrEnum):
    DRAFT = "draft"  # being planned: only staff see it
    PUBLISHED = "published"  # teachers of its audience see it and may register
    CLOSED = "closed"  # registration closed; attendance and the report go on


class JoinedBy(enum.StrEnum):
    SELF = "self"  # the teacher registered
    ASSIGNED = "assigned"  # a trainer assigned the teacher (cohort by filter)


class AttendanceStatus(enum.StrEnum):
    PRESENT = "present"
    LATE = "late"
    ABSENT = "absent"


program_modules = Table(
    "program_modules",
    Base.metadata,
    Column("program_id", ForeignKey("programs.id", ondelete="CASCADE"), primary_key=True),
    Column("course_id", ForeignKey("courses.id"), primary_key=True),
)

program_participants = Table(
    "program_participants",
    Base.metadata,
    Column("program_id", ForeignKey("programs.id", ondelete="CASCADE"), primary_key=True),
    Column("teacher_id", ForeignKey("users.id"), primary_key=True),
    # how and when the teacher joined (rows from before these columns: "assigned")
    Column(
        "joined_by",
        str_enum(JoinedBy),
        nullable=False,
        default=JoinedBy.ASSIGNED,
        server_default=JoinedBy.ASSIGNED.value,
    ),
    Column("joined_at", DateTime(timezone=True), nullable=True, default=utcnow),
    Column("assigned_by_id", ForeignKey("users.id"), nullable=True),
)


class Program(Base):
    __tablename__ = "programs"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    category: Mapped[str] = mapped_column(String(32))
    trainer_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    region_id: Mapped[int | None] = mapped_column(ForeignKey("regions.id"))
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    status: Mapped[ProgramStatus] = mapped_column(
        str_enum(ProgramStatus), default=ProgramStatus.PUBLISHED, server_default="published"
    )
    # The audience: an empty list means "any" (region_id above is the audience's region).
    audience_stages: Mapped[list] = mapped_column(default=list, server_default="[]")
    audience_subjects: Mapped[list] = mapped_column(default=list, server_default="[]")
    audience_school_ids: Mapped[list] = mapped_column(default=list, server_default="[]")
    # Bumped by every registration and edit: the UPDATE is the lock that serialises them.
    version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    sessions: Mapped[list[OfflineSession]] = relationship(
        back_populates="program", order_by="OfflineSession.starts_at"
    )


class OfflineSession(Base):
    __tablename__ = "offline_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    location: Mapped[str] = mapped_column(String(200))
    starts_at: Mapped[datetime] = mapped_column()
    ends_at: Mapped[datetime] = mapped_column()
    hours: Mapped[float] = mapped_column(Float)
    category: Mapped[str] = mapped_column(String(32))
    capacity: Mapped[int | None] = mapped_column(Integer)  # seats; None: no limit
    # Regenerating the check-in code bumps this; codes are derived from (id, code_version).
    code_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    program: Mapped[Program] = relationship(back_populates="sessions")


class Attendance(Base):
    __tablename__ = "attendance"
    __table_args__ = (UniqueConstraint("session_id", "teacher_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("offline_sessions.id"), index=True)
    teacher_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    status: Mapped[AttendanceStatus] = mapped_column(str_enum(AttendanceStatus))
    method: Mapped[str] = mapped_column(String(16), default="manual")  # manual | code
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)


class CheckinAttempt(Base):
    """One check-in code tried by a teacher against a session open for check-in.

    Written (and committed) before the code is compared, so concurrent guesses count too;
    ``succeeded`` is set when the code was right. Wrong ones in the last minutes limit further
    tries per teacher and per session (:mod:`yanxiu.programs.attempts`)."""

    __tablename__ = "checkin_attempts"
    __table_args__ = (
        Index("ix_checkin_attempts_session_teacher_at", "session_id", "teacher_id", "at"),
        Index("ix_checkin_attempts_session_at", "session_id", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("offline_sessions.id", ondelete="CASCADE"))
    teacher_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    succeeded: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
