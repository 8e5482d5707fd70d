"""Tables for the course catalog, competencies and enrolments."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    Column,
    Float,
    ForeignKey,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from yanxiu.db.base import Base, str_enum, utcnow


class CourseFormat(enum.StrEnum):
    ONLINE = "online"
    OFFLINE = "offline"
    HYBRID = "hybrid"


class CourseStatus(enum.StrEnum):
    PUBLISHED = "published"
    DRAFT = "draft"
    RETIRED = "retired"


class EnrolmentStatus(enum.StrEnum):
    ENROLLED = "enrolled"
    COMPLETED = "completed"
    DROPPED = "dropped"


course_prerequisites = Table(
    "course_prerequisites",
    Base.metadata,
    Column("course_id", ForeignKey("courses.id", ondelete="CASCADE"), primary_key=True),
    Column("prerequisite_id", ForeignKey("courses.id", ondelete="CASCADE"), primary_key=True),
)


class Competency(Base):
    __tablename__ = "competencies"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    group: Mapped[str] = mapped_column(String(32))
    description: Mapped[str] = mapped_column(Text, default="")


class Course(Base):
    """A course resource (课程资源): an online module, an offline workshop or a hybrid program."""

    __tablename__ = "courses"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(Text)
    outline: Mapped[list] = mapped_column(default=list)
    problems: Mapped[list] = mapped_column(default=list)  # 典型困惑, indexed by search
    body: Mapped[str] = mapped_column(Text, default="")
    category: Mapped[str] = mapped_column(String(32), index=True)
    stages: Mapped[list] = mapped_column(default=list)
    subjects: Mapped[list] = mapped_column(default=list)
    levels: Mapped[list] = mapped_column(default=list)
    posts: Mapped[list] = mapped_column(default=list)
    competencies: Mapped[list] = mapped_column(default=list)
    hours: Mapped[float] = mapped_column(Float)
    format: Mapped[CourseFormat] = mapped_column(str_enum(CourseFormat))
    provider: Mapped[str] = mapped_column(String(128))
    status: Mapped[CourseStatus] = mapped_column(str_enum(CourseStatus), index=True)
    # Where the row came from (content file or an import) and the hash of what was loaded,
    # so a re-run of `yanxiu init` updates only what the content changed.
    origin: Mapped[str] = mapped_column(String(200), default="")
    content_hash: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    prerequisites: Mapped[list[Course]] = relationship(
        secondary=course_prerequisites,
        primaryjoin=lambda: Course.id == course_prerequisites.c.course_id,
        secondaryjoin=lambda: Course.id == course_prerequisites.c.prerequisite_id,
    )


class Enrolment(Base):
    __tablename__ = "enrolments"
    __table_args__ = (UniqueConstraint("teacher_id", "course_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    teacher_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id"), index=True)
    status: Mapped[EnrolmentStatus] = mapped_column(str_enum(EnrolmentStatus))
    progress: Mapped[float] = mapped_column(Float, default=0.0)  # 0..1
    rating: Mapped[int | None] = mapped_column(Integer)  # 1..5 after completion
    enrolled_at: Mapped[datetime] = mapped_column(default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column()
    dropped_at: Mapped[datetime | None] = mapped_column()

    course: Mapped[Course] = relationship()
