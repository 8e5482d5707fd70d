"""Tables for the course catalog, competencies and enrolments."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    Boolean,
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
    # Raised each time a published course is revised; credits keep the version they were
    # earned under (course_versions holds what each version was).
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
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


class UnitKind(enum.StrEnum):
    TEXT = "text"  # Markdown, read in the page
    DOCUMENT = "document"  # a PDF, read in the browser's viewer
    VIDEO = "video"
    AUDIO = "audio"

    @property
    def is_media(self) -> bool:
        return self in (UnitKind.VIDEO, UnitKind.AUDIO)


class CourseUnit(Base):
    """One study unit of an online course; media live under var/media, never in the web root."""

    __tablename__ = "course_units"
    __table_args__ = (UniqueConstraint("course_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id"), index=True)
    key: Mapped[str] = mapped_column(String(40))  # stable within the course ("u1"), for imports
    position: Mapped[int] = mapped_column(Integer, default=0)
    kind: Mapped[UnitKind] = mapped_column(str_enum(UnitKind))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")  # Markdown (text) or a description
    media_file: Mapped[str] = mapped_column(String(200), default="")  # relative to var/media
    media_type: Mapped[str] = mapped_column(String(64), default="")
    media_sha256: Mapped[str] = mapped_column(String(64), default="")
    duration_seconds: Mapped[float] = mapped_column(Float, default=0.0)  # video and audio
    retired: Mapped[bool] = mapped_column(Boolean, default=False)  # kept for history
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class QuestionKind(enum.StrEnum):
    SINGLE = "single"  # 单选
    MULTIPLE = "multiple"  # 多选
    TRUE_FALSE = "true_false"  # 判断


class QuizQuestion(Base):
    """A question of a course's bank; ``answer`` never leaves the server before submission."""

    __tablename__ = "quiz_questions"
    __table_args__ = (UniqueConstraint("course_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id"), index=True)
    key: Mapped[str] = mapped_column(String(40))
    kind: Mapped[QuestionKind] = mapped_column(str_enum(QuestionKind))
    stem: Mapped[str] = mapped_column(Text)
    options: Mapped[list] = mapped_column(default=list)  # texts, as authored
    answer: Mapped[list] = mapped_column(default=list)  # indices into options
    explanation: Mapped[str] = mapped_column(Text, default="")
    retired: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CourseVersion(Base):
    """What a course was at one version: hours, units and questions, as published."""

    __tablename__ = "course_versions"
    __table_args__ = (UniqueConstraint("course_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    snapshot: Mapped[dict] = mapped_column(default=dict)
    note: Mapped[str] = mapped_column(String(200), default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
